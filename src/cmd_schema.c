/*
 * cmd_schema.c: `driftdeck schema FILE` prints the [schema] section that
 * schema_infer() guesses from the file's first messages, as INI the user can
 * edit and put in the configuration.
 *
 * The file is read through zlib (plain or gzip alike). CSV (by the .csv /
 * .tsv name, or a first line that is not JSON) goes through the CSV reader and
 * its rows become objects; JSON Lines are parsed with the event limits, a line
 * holding an array gives its elements, and a recording's envelope
 * ({"recv_ts", "msg"}) gives its message. Lines that do not parse are
 * counted and named in the output, never fatal.
 */
#include "commands.h"
#include "csv.h"
#include "event.h"
#include "schema.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define SCHEMA_DEFAULT_LINES 100
#define SCHEMA_MAX_LINES 100000

typedef struct samples {
    cJSON **v; /* what schema_infer reads */
    size_t n, cap, max;
    cJSON **owned; /* roots to free */
    size_t nowned, owned_cap;
    uint64_t bad; /* lines that did not parse */
    uint64_t first_bad_line;
    csv_header *h; /* CSV */
    char *error;   /* a fatal problem (bad CSV header) */
} samples;

static bool push_ptr(cJSON ***arr, size_t *n, size_t *cap, cJSON *v)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        cJSON **p = realloc(*arr, ncap * sizeof(cJSON *));
        if (!p)
            return false;
        *arr = p;
        *cap = ncap;
    }
    (*arr)[(*n)++] = v;
    return true;
}

static void add_root(samples *s, cJSON *root)
{
    if (!push_ptr(&s->owned, &s->nowned, &s->owned_cap, root)) {
        cJSON_Delete(root);
        return;
    }
    cJSON *msg = root;
    /* A recording's envelope: the message is inside. */
    cJSON *inner = cJSON_GetObjectItemCaseSensitive(root, "msg");
    if (cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "recv_ts") && inner) {
        msg = inner;
        if (cJSON_IsString(inner)) {
            cJSON *parsed = NULL;
            if (event_json_parse(inner->valuestring, strlen(inner->valuestring), NULL, &parsed,
                                 NULL) == DD_OK &&
                push_ptr(&s->owned, &s->nowned, &s->owned_cap, parsed))
                msg = parsed;
            else
                cJSON_Delete(parsed);
        }
    }
    if (cJSON_IsArray(msg)) {
        for (cJSON *c = msg->child; c && s->n < s->max; c = c->next)
            push_ptr(&s->v, &s->n, &s->cap, c);
    } else if (s->n < s->max) {
        push_ptr(&s->v, &s->n, &s->cap, msg);
    }
}

static void note_bad(samples *s, uint64_t line)
{
    if (!s->bad++)
        s->first_bad_line = line;
}

static int csv_sample(void *ctx, const csv_record *rec)
{
    samples *s = ctx;
    char *cause = NULL;
    if (!s->h) {
        if (csv_header_new(rec, &s->h, &cause)) {
            s->error = cause;
            return 1;
        }
        return 0;
    }
    cJSON *obj = NULL;
    if (csv_row_json(s->h, rec, &obj, NULL))
        note_bad(s, rec->line);
    else
        add_root(s, obj);
    free(cause);
    return s->n >= s->max;
}

static void read_csv(gzFile f, char delim, samples *s)
{
    csv *c = csv_new(delim, 0, 0);
    char buf[1 << 14];
    int n;
    dd_err err = DD_OK;
    while (c && !err && (n = gzread(f, buf, sizeof buf)) > 0)
        err = csv_feed(c, buf, (size_t)n, csv_sample, s);
    if (c && !err)
        csv_finish(c, csv_sample, s);
    csv_free(c);
}

static void read_jsonl(gzFile f, samples *s)
{
    char *line = NULL;
    size_t cap = 0, len = 0;
    uint64_t lineno = 0;
    int ch = 0;
    while (s->n < s->max && ch != EOF) {
        len = 0;
        while ((ch = gzgetc(f)) != EOF && ch != '\n') {
            if (len + 2 > cap) {
                size_t ncap = cap ? cap * 2 : 4096;
                char *p = ncap <= EVENT_DEFAULT_MAX_BYTES + 2 ? realloc(line, ncap) : NULL;
                if (!p)
                    break;
                line = p;
                cap = ncap;
            }
            line[len++] = (char)ch;
        }
        while (ch != EOF && ch != '\n') /* a line over the limit: skip its end */
            ch = gzgetc(f);
        lineno++;
        if (len == 0 && ch == EOF)
            break;
        cJSON *root = NULL;
        if (len == 0 || event_json_parse(line, len, NULL, &root, NULL))
            note_bad(s, lineno);
        else
            add_root(s, root);
    }
    free(line);
}

/* ',' / '\t' for CSV by name, else CSV when the first byte is not JSON's. */
static char sniff_csv(const char *path, gzFile f)
{
    size_t n = strlen(path);
    if (n > 3 && !strcasecmp(path + n - 3, ".gz"))
        n -= 3;
    if (n > 4 && !strncasecmp(path + n - 4, ".csv", 4))
        return ',';
    if (n > 4 && !strncasecmp(path + n - 4, ".tsv", 4))
        return '\t';
    int c;
    while ((c = gzgetc(f)) == ' ' || c == '\t' || c == '\r' || c == '\n')
        ;
    gzrewind(f);
    return (c == '{' || c == '[' || c == EOF) ? 0 : ',';
}

static int usage(FILE *out, int code)
{
    fputs("usage: driftdeck schema [-n LINES] FILE\n"
          "Print the [schema] configuration inferred from the first LINES (default 100)\n"
          "messages of FILE (JSON Lines, a recording, or CSV/TSV with a header; gzip or not).\n",
          out);
    return code;
}

static void free_samples(samples *s)
{
    for (size_t i = 0; i < s->nowned; i++)
        cJSON_Delete(s->owned[i]);
    free(s->owned);
    free(s->v);
    csv_header_free(s->h);
    free(s->error);
}

int cmd_schema(int argc, char **argv)
{
    long lines = SCHEMA_DEFAULT_LINES;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage(stdout, 0);
        if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            char *end;
            lines = strtol(argv[++i], &end, 10);
            if (*end || lines < 1 || lines > SCHEMA_MAX_LINES) {
                fprintf(stderr, "driftdeck schema: -n wants 1..%d\n", SCHEMA_MAX_LINES);
                return 2;
            }
        } else if ((argv[i][0] == '-' && argv[i][1]) || path) {
            return usage(stderr, 2); /* an unknown option, or a second file */
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return usage(stderr, 2);
    if (!strncmp(path, "file:", 5))
        path += 5;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "driftdeck schema: cannot open %s: %s\n", path,
                errno ? strerror(errno) : "out of memory");
        return 2;
    }
    samples s = {.max = (size_t)lines};
    char delim = sniff_csv(path, f);
    if (delim)
        read_csv(f, delim, &s);
    else
        read_jsonl(f, &s);
    gzclose(f);

    int code = 0;
    schema_params p;
    char *notes = NULL, *cause = NULL;
    if (s.error) {
        fprintf(stderr, "driftdeck schema: %s: %s\n", path, s.error);
        code = 2;
    } else if (schema_infer((const cJSON *const *)s.v, s.n, &p, &notes, &cause)) {
        fprintf(stderr, "driftdeck schema: %s: %s (%llu unreadable lines)\n", path,
                cause ? cause : "nothing to infer from", (unsigned long long)s.bad);
        code = 2;
    } else {
        printf("# driftdeck schema inferred from %zu messages of %s (%s)\n", s.n, path,
               delim ? "CSV" : "JSON Lines");
        if (s.bad)
            printf("# %llu lines did not parse (the first: line %llu); they were skipped\n",
                   (unsigned long long)s.bad, (unsigned long long)s.first_bad_line);
        printf("# Edit it and put it in driftdeck.ini (or the file given to --config).\n");
        uint32_t classes = 0;
        const char *task = schema_infer_task((const cJSON *const *)s.v, s.n, &p, &classes);
        dd_err werr = schema_params_write(&p, notes, stdout);
        if (!werr && task)
            printf("\n[model]\n# %u distinct labels in the sample: %s\ntask = %s\n", classes,
                   strcmp(task, "regression") ? "classification" : "a regression target", task);
        if (werr == DD_EINVAL) {
            fprintf(stderr,
                    "driftdeck schema: a field name has characters an INI file cannot "
                    "hold (control bytes, ';', '#', edge blanks): write [schema] by hand\n");
            code = 2;
        } else if (werr || fflush(stdout) || ferror(stdout)) {
            fprintf(stderr, "driftdeck schema: cannot write the output\n");
            code = 2;
        }
    }
    free(notes);
    free(cause);
    free_samples(&s);
    return code;
}
