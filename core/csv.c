/*
 * csv.c: the streaming CSV reader and row mapping (see csv.h).
 *
 * One buffer holds the record under way: field bytes, each followed by a NUL,
 * and a parallel array of field starts. Both grow geometrically up to the
 * limits and are reused from record to record, so steady-state reading does
 * not allocate. Each input byte is looked at once: O(bytes); runs of plain
 * field content are copied in one piece.
 */
#include "csv.h"

#include "event.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum cstate {
    ST_FIELD_START = 0, /* at the start of a field */
    ST_UNQUOTED,
    ST_QUOTED,
    ST_QUOTE, /* a quote seen inside a quoted field: end or doubled */
    ST_SKIP,  /* after an error: discard up to the next line break */
} cstate;

struct csv {
    char delim;
    size_t max_record;
    uint32_t max_fields;
    cstate st;
    char *buf; /* field bytes, NUL after each field */
    size_t len, cap;
    size_t *start;     /* start of each field in buf */
    csv_field *fields; /* handed to the callback */
    uint32_t nfield, fcap;
    bool in_record;    /* something of a record has been seen */
    bool quoted_any;   /* some field of the record was quoted */
    int bom;           /* bytes of a byte order mark matched so far */
    bool bom_done;     /* past the place where a byte order mark can be */
    uint64_t line;     /* newlines consumed */
    uint64_t fed;      /* bytes consumed, the current one included */
    uint64_t rec_line; /* line where the record began (1-based) */
    const char *error;
};

csv *csv_new(char delim, size_t max_record, uint32_t max_fields)
{
    csv *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->delim = delim ? delim : ',';
    c->max_record = max_record ? max_record : CSV_DEFAULT_MAX_RECORD;
    c->max_fields = max_fields ? max_fields : CSV_DEFAULT_MAX_FIELDS;
    return c;
}

void csv_free(csv *c)
{
    if (!c)
        return;
    free(c->buf);
    free(c->start);
    free(c->fields);
    free(c);
}

uint64_t csv_lines(const csv *c)
{
    return c->line;
}

static void reset_record(csv *c)
{
    c->len = 0;
    c->nfield = 0;
    c->in_record = false;
    c->quoted_any = false;
    c->error = NULL;
    c->st = ST_FIELD_START;
}

/* Fail the record: report it at once, then skip to the line's end. */
static void set_error(csv *c, const char *why)
{
    c->error = why;
}

static dd_err put_byte(csv *c, char ch)
{
    if (c->len + 2 > c->max_record) {
        set_error(c, "record longer than the limit");
        return DD_OK;
    }
    if (c->len + 2 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        if (cap > c->max_record)
            cap = c->max_record;
        char *b = realloc(c->buf, cap);
        if (!b)
            return DD_ENOMEM;
        c->buf = b;
        c->cap = cap;
    }
    c->buf[c->len++] = ch;
    return DD_OK;
}

static dd_err begin_field(csv *c)
{
    if (c->nfield == c->max_fields) {
        set_error(c, "more fields than the limit");
        return DD_OK;
    }
    if (c->nfield == c->fcap) {
        uint32_t cap = c->fcap ? c->fcap * 2 : 16;
        size_t *s = realloc(c->start, cap * sizeof *s);
        if (!s)
            return DD_ENOMEM;
        c->start = s;
        csv_field *f = realloc(c->fields, cap * sizeof *f);
        if (!f)
            return DD_ENOMEM;
        c->fields = f;
        c->fcap = cap;
    }
    c->start[c->nfield++] = c->len;
    c->in_record = true;
    return DD_OK;
}

static dd_err end_field(csv *c)
{
    dd_err err = put_byte(c, '\0');
    if (!err && c->error == NULL)
        c->st = ST_FIELD_START;
    return err;
}

/* Hand the record over (skipping blank lines) and start the next one. */
static int emit(csv *c, csv_record_fn fn, void *ctx)
{
    bool blank = c->nfield == 1 && c->len == 1 && !c->quoted_any && !c->error;
    int stop = 0;
    if (c->nfield > 0 && !blank) {
        for (uint32_t i = 0; i < c->nfield; i++) {
            size_t end = i + 1 < c->nfield ? c->start[i + 1] - 1 : c->len - 1;
            c->fields[i].s = c->buf + c->start[i];
            c->fields[i].len = end >= c->start[i] ? end - c->start[i] : 0;
        }
        csv_record rec = {c->rec_line, c->nfield, c->fields, c->error, c->fed};
        stop = fn(ctx, &rec);
    }
    reset_record(c);
    return stop;
}

/* Report the malformed record (line and reason, no fields) and skip the
 * rest of its line. */
static int emit_error(csv *c, csv_record_fn fn, void *ctx)
{
    csv_record rec = {c->rec_line, 0, NULL, c->error, c->fed};
    int stop = fn(ctx, &rec);
    reset_record(c);
    c->st = ST_SKIP;
    return stop;
}

/* One byte of input. Returns <0 on no memory, >0 when the callback said stop. */
static int step(csv *c, char ch, csv_record_fn fn, void *ctx)
{
    bool eol = ch == '\n' || ch == '\r';
    if (c->st == ST_SKIP) {
        if (eol)
            reset_record(c);
        return 0;
    }
    if (c->st == ST_FIELD_START && !c->in_record) {
        if (eol)
            return 0; /* a blank line */
        c->rec_line = c->line + 1;
    }
    dd_err err = DD_OK;
    bool end = false; /* the record is complete */
    switch (c->st) {
    case ST_SKIP:
        break;
    case ST_FIELD_START:
        if ((err = begin_field(c)) || c->error)
            break;
        if (ch == '"') {
            c->st = ST_QUOTED;
            c->quoted_any = true;
        } else if (ch == c->delim || eol) {
            err = end_field(c);
            end = eol;
        } else {
            c->st = ST_UNQUOTED;
            err = put_byte(c, ch);
        }
        break;
    case ST_UNQUOTED:
        if (ch == c->delim || eol) {
            err = end_field(c);
            end = eol;
        } else if (ch == '"') {
            set_error(c, "quote inside an unquoted field");
        } else {
            err = put_byte(c, ch);
        }
        break;
    case ST_QUOTED:
        if (ch == '"')
            c->st = ST_QUOTE;
        else
            err = put_byte(c, ch);
        break;
    case ST_QUOTE:
        if (ch == '"') {
            c->st = ST_QUOTED;
            err = put_byte(c, '"');
        } else if (ch == c->delim || eol) {
            err = end_field(c);
            end = eol;
        } else {
            set_error(c, "text after a closing quote");
        }
        break;
    }
    if (err)
        return -1;
    if (c->error) {
        int stop = emit_error(c, fn, ctx);
        if (eol) /* the error came with the line break: nothing left to skip */
            reset_record(c);
        return stop;
    }
    return end ? emit(c, fn, ctx) : 0;
}

static const char bom_bytes[3] = {'\xef', '\xbb', '\xbf'};

static dd_err feed_byte(csv *c, char ch, csv_record_fn fn, void *ctx)
{
    int r = step(c, ch, fn, ctx);
    if (ch == '\n') /* a line break inside quotes is data; it still counts as a line */
        c->line++;
    if (r < 0) {
        reset_record(c);
        c->st = ST_SKIP;
        return DD_ENOMEM;
    }
    return r > 0 ? DD_ESTATE : DD_OK;
}

/* A UTF-8 byte order mark at the very start is dropped, whatever the chunks;
 * a partial match that fails is fed as data. */
static dd_err feed_bom(csv *c, char ch, csv_record_fn fn, void *ctx)
{
    if (ch == bom_bytes[c->bom]) {
        if (++c->bom == 3)
            c->bom_done = true;
        return DD_OK;
    }
    c->bom_done = true;
    for (int i = 0; i < c->bom && i < 3; i++) {
        dd_err err = feed_byte(c, bom_bytes[i], fn, ctx);
        if (err)
            return err;
    }
    return feed_byte(c, ch, fn, ctx);
}

/* Bytes from buf that are plain field content in the current state: no
 * delimiter, quote or line break. Only inside a field (the state machine
 * decides everything else byte by byte). */
static size_t plain_run(const csv *c, const char *buf, size_t len)
{
    size_t i = 0;
    if (c->st == ST_UNQUOTED) {
        while (i < len && buf[i] != c->delim && buf[i] != '\n' && buf[i] != '\r' && buf[i] != '"')
            i++;
    } else if (c->st == ST_QUOTED) {
        while (i < len && buf[i] != '"' && buf[i] != '\n')
            i++;
    }
    return i;
}

/* Append a run in one copy when it fits the record limit; returns false to
 * let the byte-by-byte path handle it (and report the limit exactly there). */
static bool append_run(csv *c, const char *p, size_t n, dd_err *err)
{
    if (c->len + n + 2 > c->max_record)
        return false;
    if (c->len + n + 2 > c->cap) {
        size_t cap = c->cap ? c->cap : 256;
        while (cap < c->len + n + 2)
            cap *= 2;
        if (cap > c->max_record)
            cap = c->max_record;
        char *b = realloc(c->buf, cap);
        if (!b) {
            *err = DD_ENOMEM;
            return true;
        }
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    return true;
}

dd_err csv_feed(csv *c, const char *buf, size_t len, csv_record_fn fn, void *ctx)
{
    for (size_t i = 0; i < len;) {
        size_t run = c->bom_done && !c->error ? plain_run(c, buf + i, len - i) : 0;
        dd_err err = DD_OK;
        if (run > 1 && append_run(c, buf + i, run, &err)) {
            if (err) {
                reset_record(c);
                c->st = ST_SKIP;
                return err;
            }
            c->fed += run;
            i += run;
            continue;
        }
        c->fed++;
        err = c->bom_done ? feed_byte(c, buf[i], fn, ctx) : feed_bom(c, buf[i], fn, ctx);
        if (err)
            return err;
        i++;
    }
    return DD_OK;
}

dd_err csv_finish(csv *c, csv_record_fn fn, void *ctx)
{
    dd_err err = DD_OK;
    if (!c->bom_done) { /* input shorter than a byte order mark: it was data */
        c->bom_done = true;
        for (int i = 0; i < c->bom && i < 3 && !err; i++)
            err = feed_byte(c, bom_bytes[i], fn, ctx);
    }
    int r = 0;
    if (!err && c->st == ST_QUOTED) {
        set_error(c, "unterminated quote at the end of input");
        r = emit_error(c, fn, ctx);
    } else if (!err && c->st != ST_SKIP && c->in_record) {
        r = step(c, '\n', fn, ctx);
    }
    reset_record(c);
    if (err)
        return err;
    if (r < 0)
        return DD_ENOMEM;
    return r > 0 ? DD_ESTATE : DD_OK;
}

/* ---- rows as JSON ------------------------------------------------------------------ */

struct csv_header {
    uint32_t n;
    char **name;
};

void csv_header_free(csv_header *h)
{
    if (!h)
        return;
    for (uint32_t i = 0; i < h->n; i++)
        free(h->name[i]);
    free(h->name);
    free(h);
}

uint32_t csv_header_columns(const csv_header *h)
{
    return h->n;
}

dd_err csv_header_new(const csv_record *rec, csv_header **out, char **cause)
{
    *out = NULL;
    if (rec->error)
        return dd_fail(cause, DD_EPARSE, "header, line %llu: %s", (unsigned long long)rec->line,
                       rec->error);
    csv_header *h = calloc(1, sizeof *h);
    if (!h || !(h->name = calloc(rec->nfield ? rec->nfield : 1, sizeof *h->name))) {
        free(h);
        return dd_fail(cause, DD_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < rec->nfield; i++, h->n++) {
        char gen[32];
        const char *s = rec->field[i].s;
        size_t len = rec->field[i].len;
        if (len == 0) {
            snprintf(gen, sizeof gen, "column%u", i + 1);
            s = gen;
            len = strlen(gen);
        }
        if (memchr(s, '\0', len) || !event_utf8_valid(s, len)) {
            csv_header_free(h);
            return dd_fail(cause, DD_EPARSE, "header: column %u is not valid UTF-8 text", i + 1);
        }
        if (!(h->name[i] = strndup(s, len))) {
            csv_header_free(h);
            return dd_fail(cause, DD_ENOMEM, "out of memory");
        }
        for (uint32_t j = 0; j < i; j++) {
            if (!strcmp(h->name[j], h->name[i])) {
                dd_err err =
                    dd_fail(cause, DD_EPARSE, "header: column '%s' appears twice", h->name[i]);
                h->n++;
                csv_header_free(h);
                return err;
            }
        }
    }
    *out = h;
    return DD_OK;
}

bool csv_number(const char *s, size_t len, double *v)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i == len || !isdigit((unsigned char)s[i]))
        return false;
    if (s[i] == '0')
        i++;
    else
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
    if (i < len && s[i] == '.') {
        i++;
        if (i == len || !isdigit((unsigned char)s[i]))
            return false;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i == len || !isdigit((unsigned char)s[i]))
            return false;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
    }
    if (i != len || len > 64)
        return false;
    char tmp[65];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    *v = strtod(tmp, NULL);
    return true;
}

dd_err csv_row_json(const csv_header *h, const csv_record *rec, cJSON **out, char **cause)
{
    *out = NULL;
    unsigned long long line = (unsigned long long)rec->line;
    if (rec->error)
        return dd_fail(cause, DD_EPARSE, "line %llu: %s", line, rec->error);
    if (rec->nfield != h->n)
        return dd_fail(cause, DD_EPARSE, "line %llu: %u fields, the header has %u", line,
                       rec->nfield, h->n);
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return dd_fail(cause, DD_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < h->n; i++) {
        const csv_field *f = &rec->field[i];
        double v;
        cJSON *cell;
        if (f->len == 0)
            cell = cJSON_CreateNull();
        else if (memchr(f->s, '\0', f->len) || !event_utf8_valid(f->s, f->len)) {
            cJSON_Delete(obj);
            return dd_fail(cause, DD_EPARSE, "line %llu: column '%s' is not valid UTF-8 text", line,
                           h->name[i]);
        } else if (csv_number(f->s, f->len, &v))
            cell = cJSON_CreateNumber(v);
        else
            cell = cJSON_CreateString(f->s);
        if (!cell || !cJSON_AddItemToObject(obj, h->name[i], cell)) {
            cJSON_Delete(cell);
            cJSON_Delete(obj);
            return dd_fail(cause, DD_ENOMEM, "out of memory");
        }
    }
    *out = obj;
    return DD_OK;
}
