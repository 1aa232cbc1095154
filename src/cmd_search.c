/*
 * cmd_search.c: `driftdeck search --workspace DIR [-k N] "query text"` or
 * `--vector v1,v2,...`: query the knowledge store of a workspace and print
 * one JSON object per hit (JSON Lines). Opens the store read-only: it never
 * writes, and runs beside a driftdeck that is indexing the same workspace
 * (the saved index is used when it matches the database, else the index is
 * rebuilt in memory from it).
 */
#include "commands.h"
#include "kfilter.h"
#include "kstore.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *out)
{
    fputs("usage: driftdeck search [--workspace DIR] [-k N] [FILTERS] \"query text\"\n"
          "       driftdeck search [--workspace DIR] [-k N] [FILTERS] --vector v1,v2,...\n"
          "  Prints the k nearest entries of the knowledge store as JSON Lines:\n"
          "  id, score, age (seconds), ts, index (vector, fts or both), version, payload.\n"
          "  FILTERS: --where NAME=VALUE (a feature or top-level field of the event;\n"
          "  repeat to AND), --index vector|fts|both, --min-ts T, --max-ts T, --max-age S.\n",
          out);
}

/* Parse "v1,v2,..." into a new array; NULL with *cause on bad input. */
static float *parse_vector(const char *s, uint32_t *dim, char **cause)
{
    uint32_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    float *v = malloc(n * sizeof *v);
    if (!v) {
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    const char *p = s;
    for (uint32_t i = 0; i < n; i++) {
        char *end;
        errno = 0;
        double x = strtod(p, &end);
        if (end == p || errno || !isfinite((float)x) || (*end != ',' && *end != '\0')) {
            dd_fail(cause, DD_EPARSE, "--vector: coordinate %u is not a finite number", i + 1);
            free(v);
            return NULL;
        }
        v[i] = (float)x;
        p = end + 1;
    }
    *dim = n;
    return v;
}

struct search_args {
    const char *workspace, *query, *vector;
    long k;
    kfilter filter;
};

/* A filter option at argv[*i] (its value after it); 1 when it was not one,
 * 2 (with a message) when it is bad. */
static int filter_arg(int argc, char **argv, int *i, kfilter *f)
{
    const char *opt = argv[*i];
    static const char *const opts[] = {"--where", "--index", "--min-ts", "--max-ts", "--max-age"};
    size_t which = 0;
    while (which < DD_ARRAY_LEN(opts) && strcmp(opt, opts[which]) != 0)
        which++;
    if (which == DD_ARRAY_LEN(opts))
        return 1;
    if (*i + 1 >= argc) {
        fprintf(stderr, "driftdeck search: %s needs a value\n", opt);
        return 2;
    }
    const char *val = argv[++*i];
    char *cause = NULL, *end;
    dd_err err = DD_OK;
    if (which == 0) {
        err = kfilter_add_where(f, val, &cause);
    } else if (which == 1) {
        err = kfilter_set_index(f, val, &cause);
    } else {
        double x = strtod(val, &end);
        if (end == val || *end || !isfinite(x) || (which == 4 && x < 0))
            err = dd_fail(&cause, DD_EINVAL, "%s wants a finite number%s, got '%s'", opt,
                          which == 4 ? " >= 0" : "", val);
        *(which == 2 ? &f->min_ts : which == 3 ? &f->max_ts : &f->max_age) = x;
    }
    if (!err && f->min_ts > f->max_ts)
        err = dd_fail(&cause, DD_EINVAL, "--min-ts is after --max-ts");
    if (err)
        fprintf(stderr, "driftdeck search: %s\n", cause ? cause : "bad filter");
    free(cause);
    return err ? 2 : 0;
}

static int parse_args(int argc, char **argv, struct search_args *a)
{
    int rc;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(arg, "--workspace") && i + 1 < argc) {
            a->workspace = argv[++i];
        } else if (!strncmp(arg, "--workspace=", 12)) {
            a->workspace = arg + 12;
        } else if (!strcmp(arg, "-k") && i + 1 < argc) {
            char *end;
            a->k = strtol(argv[++i], &end, 10);
            if (*end || a->k < 1 || a->k > (long)KSTORE_MAX_K) {
                fprintf(stderr, "driftdeck search: -k must be in 1..%u\n", KSTORE_MAX_K);
                return 2;
            }
        } else if ((rc = filter_arg(argc, argv, &i, &a->filter)) != 1) {
            if (rc)
                return rc;
        } else if (!strcmp(arg, "--vector") && i + 1 < argc) {
            a->vector = argv[++i];
        } else if (arg[0] != '-' && !a->query) {
            a->query = arg;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!a->query == !a->vector) {
        usage(stderr);
        return 2;
    }
    return 0;
}

static int run_query(kstore *s, const struct search_args *a, kstore_results *r, char **cause)
{
    kstore_query q = {.text = a->query, .k = (uint32_t)a->k};
    kfilter_apply(&a->filter, &q);
    float *v = NULL;
    if (a->vector && !(v = parse_vector(a->vector, &q.dim, cause)))
        return 2;
    q.vector = v;
    int rc = kstore_search(s, &q, r, cause) ? 2 : 0;
    free(v);
    return rc;
}

int cmd_search(int argc, char **argv)
{
    struct search_args a = {.workspace = ".", .k = 10};
    kfilter_init(&a.filter);
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    char *cause = NULL;
    kstore *s = kstore_open(a.workspace, NULL, true, &cause);
    if (!s) {
        fprintf(stderr, "driftdeck search: %s\n", cause ? cause : "cannot open the store");
        free(cause);
        return 2;
    }
    kstore_results r = {0};
    rc = run_query(s, &a, &r, &cause);
    if (rc) {
        fprintf(stderr, "driftdeck search: %s\n", cause ? cause : "search failed");
    } else {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        for (uint32_t i = 0; i < r.n; i++) {
            char *line = kstore_hit_json(&r.hits[i], (double)now.tv_sec + now.tv_nsec * 1e-9);
            if (line)
                puts(line);
            free(line);
        }
    }
    kstore_results_free(&r);
    kstore_close(s);
    free(cause);
    return rc;
}
