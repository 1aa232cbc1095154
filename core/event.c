/*
 * event.c: raw message -> dd_event.
 *
 * Checking comes before parsing: the size limit, then one linear pre-scan for
 * NUL bytes, invalid UTF-8 (cJSON accepts it) and the nesting depth (cJSON's
 * own limit is fixed at 1000), so hostile input costs O(len) and never
 * reaches cJSON's recursion. Then cJSON parses and event_from_json() walks
 * the tree once, copying names and strings into the event's arena (a chain of
 * blocks, so pointers into it stay valid as it grows).
 *
 * Rules (see doc/FORMATS.md): numbers must be finite and |x| <= 1e15; true /
 * false are 1 / 0; null is a missing value; nested objects in x flatten to
 * dotted names, arrays to name.index; a feature name that appears twice is an
 * error (cJSON keeps duplicates, which would count a feature twice). Where
 * each part is found (id, ts, label, ..., the features) is the schema's
 * business (schema.h); a NULL schema is the default shape.
 */
#include "event.h"

#include "hash.h"
#include "schema.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the arena ---------------------------------------------------------- */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
};

static void *arena_alloc(char **arena, size_t n)
{
    struct arena_block *b = (struct arena_block *)*arena;
    n = (n + 7) & ~(size_t)7;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 4000 ? n : 4000;
        struct arena_block *nb = malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->next = b;
        nb->used = 0;
        nb->cap = cap;
        *arena = (char *)nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static char *arena_strdup(char **arena, const char *s, size_t len)
{
    char *p = arena_alloc(arena, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

static void arena_free(char *arena)
{
    struct arena_block *b = (struct arena_block *)arena;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
}

/* ---- checks before parsing ------------------------------------------------ */

static void limits_or_default(const event_limits *in, event_limits *out)
{
    event_limits d = {EVENT_DEFAULT_MAX_BYTES, EVENT_DEFAULT_MAX_DEPTH, EVENT_DEFAULT_MAX_FEATURES,
                      EVENT_DEFAULT_MAX_STRING};
    if (in) {
        if (in->max_bytes)
            d.max_bytes = in->max_bytes;
        if (in->max_depth)
            d.max_depth = in->max_depth;
        if (in->max_features)
            d.max_features = in->max_features;
        if (in->max_string)
            d.max_string = in->max_string;
    }
    *out = d;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static dd_err prescan(const char *buf, size_t len, uint32_t max_depth, char **cause)
{
    const unsigned char *p = (const unsigned char *)buf;
    uint32_t depth = 0;
    int in_str = 0, esc = 0;
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        if (c == 0)
            return dd_fail(cause, DD_EPARSE, "NUL byte at offset %zu", i);
        if (c >= 0x80) {
            size_t n = utf8_seq(p + i, len - i);
            if (!n)
                return dd_fail(cause, DD_EPARSE, "invalid UTF-8 at offset %zu", i);
            i += n;
            esc = 0;
            continue;
        }
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return dd_fail(cause, DD_ELIMIT, "nesting deeper than %u at offset %zu", max_depth,
                               i);
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
        i++;
    }
    return DD_OK;
}

bool event_utf8_valid(const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;
    for (size_t i = 0; i < len;) {
        size_t n = p[i] ? utf8_seq(p + i, len - i) : 0;
        if (!n)
            return false;
        i += n;
    }
    return true;
}

dd_err event_json_parse(const char *buf, size_t len, const event_limits *lim_in,
                        struct cJSON **root, char **cause)
{
    event_limits lim;
    limits_or_default(lim_in, &lim);
    *root = NULL;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t'))
        len--;
    if (len == 0)
        return dd_fail(cause, DD_EPARSE, "empty message");
    if (len > lim.max_bytes)
        return dd_fail(cause, DD_ELIMIT, "message of %zu bytes exceeds the limit of %u", len,
                       lim.max_bytes);
    dd_err err = prescan(buf, len, lim.max_depth, cause);
    if (err)
        return err;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!j) {
        size_t at = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : 0;
        return dd_fail(cause, DD_EPARSE, "invalid JSON near offset %zu", at);
    }
    for (const char *q = end; q && q < buf + len; q++) {
        if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n') {
            cJSON_Delete(j);
            return dd_fail(cause, DD_EPARSE, "trailing data after JSON at offset %zu",
                           (size_t)(q - buf));
        }
    }
    *root = j;
    return DD_OK;
}

/* ---- JSON object -> event ------------------------------------------------- */

typedef struct builder {
    dd_event *ev;
    uint32_t cap;
    event_limits lim;
    char *path; /* the dotted name being built (heap, grows) */
    size_t path_cap;
    const schema *sch; /* which flattened names are features */
    bool flat;
} builder;

static dd_err check_number(double v, const char *what, char **cause)
{
    if (!isfinite(v))
        return dd_fail(cause, DD_ENONFINITE, "%s is not a finite number", what);
    if (fabs(v) > EVENT_MAX_ABS_VALUE)
        return dd_fail(cause, DD_ELIMIT, "%s = %g is out of range (|x| <= 1e15)", what, v);
    return DD_OK;
}

static dd_err copy_string(builder *b, const char *s, const char *what, const char **out,
                          char **cause)
{
    size_t n = strlen(s);
    if (n > b->lim.max_string)
        return dd_fail(cause, DD_ELIMIT, "%s: string of %zu bytes exceeds the limit of %u", what, n,
                       b->lim.max_string);
    *out = arena_strdup(&b->ev->arena_, s, n);
    return *out ? DD_OK : dd_fail(cause, DD_ENOMEM, "out of memory");
}

static dd_err add_feature(builder *b, const cJSON *v, char **cause)
{
    dd_event *ev = b->ev;
    if (ev->nfeat == b->lim.max_features)
        return dd_fail(cause, DD_ELIMIT, "more than %u features", b->lim.max_features);
    if (ev->nfeat == b->cap) {
        uint32_t cap = b->cap ? 2 * b->cap : 16;
        dd_feature *f = realloc(ev->feat, cap * sizeof *f);
        if (!f)
            return dd_fail(cause, DD_ENOMEM, "out of memory");
        ev->feat = f;
        b->cap = cap;
    }
    dd_feature f = {0};
    /* The analyzer loses track of b->path (owned by the builder, freed by its caller):
     * NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
    dd_err err = copy_string(b, b->path, "feature name", &f.name, cause);
    if (err)
        return err;
    f.name_hash = hash_str(f.name);
    if (cJSON_IsNumber(v)) {
        if ((err = check_number(v->valuedouble, f.name, cause)))
            return err;
        f.kind = DD_VAL_NUM;
        f.num = v->valuedouble;
    } else if (cJSON_IsBool(v)) {
        f.kind = DD_VAL_NUM;
        f.num = cJSON_IsTrue(v) ? 1.0 : 0.0;
    } else if (cJSON_IsString(v)) {
        f.kind = DD_VAL_STR;
        if ((err = copy_string(b, v->valuestring, f.name, &f.str, cause)))
            return err;
    } else {
        f.kind = DD_VAL_MISSING;
    }
    ev->feat[ev->nfeat++] = f;
    return DD_OK;
}

/* Append ".key" (or "key" at the top). *old is the length to cut back to,
 * set even on failure (then the path is unchanged). */
static dd_err path_push(builder *b, const char *key, size_t *old, char **cause)
{
    size_t have = strlen(b->path), klen = strlen(key);
    size_t need = have + klen + 2;
    *old = have; /* set before any failure: callers restore path[*old] either way */
    if (need > b->lim.max_string)
        return dd_fail(cause, DD_ELIMIT, "feature name longer than %u bytes", b->lim.max_string);
    if (need > b->path_cap) {
        char *p = realloc(b->path, need * 2);
        if (!p)
            return dd_fail(cause, DD_ENOMEM, "out of memory");
        b->path = p;
        b->path_cap = need * 2;
    }
    if (have)
        b->path[have++] = '.';
    memcpy(b->path + have, key, klen + 1);
    return DD_OK;
}

static dd_err add_tree(builder *b, const cJSON *v, char **cause)
{
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return schema_keeps(b->sch, b->path, b->flat) ? add_feature(b, v, cause) : DD_OK;
    int i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        char idx[16];
        const char *key = c->string;
        if (cJSON_IsArray(v)) {
            snprintf(idx, sizeof idx, "%d", i);
            key = idx;
        }
        size_t old;
        dd_err err = path_push(b, key ? key : "", &old, cause);
        if (err)
            return err;
        err = add_tree(b, c, cause);
        b->path[old] = '\0';
        if (err)
            return err;
    }
    return DD_OK;
}

static int cmp_feature(const void *pa, const void *pb)
{
    const dd_feature *a = pa, *b = pb;
    if (a->name_hash != b->name_hash)
        return a->name_hash < b->name_hash ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Duplicate names: O(n^2) for the usual handful, sort a copy beyond that. */
static dd_err check_duplicates(const dd_event *ev, char **cause)
{
    uint32_t n = ev->nfeat;
    if (n <= 32) {
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t j = i + 1; j < n; j++)
                if (ev->feat[i].name_hash == ev->feat[j].name_hash &&
                    !strcmp(ev->feat[i].name, ev->feat[j].name))
                    return dd_fail(cause, DD_EPARSE, "duplicate feature '%s'", ev->feat[i].name);
        return DD_OK;
    }
    dd_feature *copy = malloc(n * sizeof *copy);
    if (!copy)
        return dd_fail(cause, DD_ENOMEM, "out of memory");
    memcpy(copy, ev->feat, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, cmp_feature);
    dd_err err = DD_OK;
    for (uint32_t i = 1; i < n && !err; i++)
        if (!cmp_feature(&copy[i - 1], &copy[i]))
            err = dd_fail(cause, DD_EPARSE, "duplicate feature '%s'", copy[i].name);
    free(copy);
    return err;
}

/* An id or group: a string, or a number printed as an integer when it is one. */
static dd_err scalar_string(builder *b, const cJSON *v, const char *what, const char **out,
                            char **cause)
{
    if (cJSON_IsString(v))
        return copy_string(b, v->valuestring, what, out, cause);
    if (cJSON_IsNumber(v)) {
        dd_err err = check_number(v->valuedouble, what, cause);
        if (err)
            return err;
        char num[32];
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            snprintf(num, sizeof num, "%lld", (long long)d);
        else
            snprintf(num, sizeof num, "%.17g", d);
        return copy_string(b, num, what, out, cause);
    }
    return dd_fail(cause, DD_ETYPE, "%s must be a string or a number", what);
}

static dd_err read_label(builder *b, const schema *sch, const cJSON *v, char **cause)
{
    dd_label *y = &b->ev->y;
    if (!v) {
        y->kind = DD_LABEL_NONE;
        return DD_OK;
    }
    char num[40];
    dd_label l = {0};
    dd_err err = schema_label(sch, v, &l, num, sizeof num, cause);
    if (err)
        return err;
    if (l.kind == DD_LABEL_NUM)
        err = check_number(l.num, "label y", cause);
    else
        err = copy_string(b, l.str, "label y", &l.str, cause);
    if (!err)
        *y = l;
    return err;
}

static dd_err read_emb(builder *b, const cJSON *v, char **cause)
{
    if (!cJSON_IsArray(v))
        return dd_fail(cause, DD_ETYPE, "emb must be an array of numbers");
    int n = cJSON_GetArraySize(v);
    if ((uint32_t)n > b->lim.max_features)
        return dd_fail(cause, DD_ELIMIT, "emb has more than %u values", b->lim.max_features);
    double *e = arena_alloc(&b->ev->arena_, (size_t)(n ? n : 1) * sizeof *e);
    if (!e)
        return dd_fail(cause, DD_ENOMEM, "out of memory");
    int i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        if (!cJSON_IsNumber(c))
            return dd_fail(cause, DD_ETYPE, "emb[%d] is not a number", i);
        dd_err err = check_number(c->valuedouble, "emb value", cause);
        if (err)
            return err;
        e[i] = c->valuedouble;
    }
    b->ev->emb = e;
    b->ev->nemb = (uint32_t)n;
    return DD_OK;
}

static dd_err read_meta(builder *b, const schema *sch, const cJSON *obj, char **cause)
{
    dd_event *ev = b->ev;
    const cJSON *v[SCHEMA_ROLE__COUNT];
    for (int r = 0; r < SCHEMA_ROLE__COUNT; r++) {
        dd_err err = schema_find(sch, obj, (schema_role)r, &v[r], cause);
        if (err)
            return err;
    }
    dd_err err = DD_OK;
    if (v[SCHEMA_ID] && (err = scalar_string(b, v[SCHEMA_ID], "id", &ev->id, cause)))
        return err;
    if (v[SCHEMA_TS]) {
        if ((err = schema_ts(sch, v[SCHEMA_TS], &ev->ts, cause)))
            return err;
        if ((err = check_number(ev->ts, "ts", cause)))
            return err;
        ev->has_ts = true;
    }
    if ((err = read_label(b, sch, v[SCHEMA_LABEL], cause)))
        return err;
    if (v[SCHEMA_GROUP] && (err = scalar_string(b, v[SCHEMA_GROUP], "group", &ev->group, cause)))
        return err;
    if ((v[SCHEMA_TEXT])) {
        if (!cJSON_IsString(v[SCHEMA_TEXT]))
            return dd_fail(cause, DD_ETYPE, "text must be a string");
        if ((err = copy_string(b, v[SCHEMA_TEXT]->valuestring, "text", &ev->text, cause)))
            return err;
    }
    if (v[SCHEMA_EMB] && (err = read_emb(b, v[SCHEMA_EMB], cause)))
        return err;
    const cJSON *op = v[SCHEMA_OP];
    if (op) {
        if (!cJSON_IsString(op) ||
            (strcmp(op->valuestring, "upsert") != 0 && strcmp(op->valuestring, "delete") != 0))
            return dd_fail(cause, DD_ETYPE, "op must be \"upsert\" or \"delete\"");
        if (strcmp(op->valuestring, "delete") == 0)
            ev->kind = DD_EV_DELETE;
    }
    return DD_OK;
}

/* The features: the members of the container the schema names, flattened,
 * minus role keys (flat shape) and names the schema's lists leave out. */
static dd_err read_features(builder *b, const schema *sch, const cJSON *obj, char **cause)
{
    const cJSON *box;
    bool flat;
    dd_err err = schema_features(sch, obj, &box, &flat, cause);
    if (err || !box)
        return err;
    b->sch = sch;
    b->flat = flat;
    for (const cJSON *c = box->child; c; c = c->next) {
        if (!c->string || (flat && schema_is_role_key(sch, c->string)))
            continue;
        size_t old;
        err = path_push(b, c->string, &old, cause);
        if (err)
            return err;
        err = add_tree(b, c, cause);
        b->path[old] = '\0';
        if (err)
            return err;
    }
    return DD_OK;
}

dd_err event_from_json(const cJSON *obj, const event_limits *lim, const schema *sch, dd_event **out,
                       char **cause)
{
    *out = NULL;
    if (!cJSON_IsObject(obj))
        return dd_fail(cause, DD_ETYPE, "an event must be a JSON object");
    builder b = {0};
    limits_or_default(lim, &b.lim);
    b.ev = calloc(1, sizeof *b.ev);
    b.path = calloc(1, 64);
    b.path_cap = 64;
    dd_err err = DD_OK;
    if (!b.ev || !b.path) {
        dd_fail(cause, DD_ENOMEM, "out of memory");
        err = DD_ENOMEM;
    }
    if (!err)
        err = read_meta(&b, sch, obj, cause);
    if (!err && b.ev->kind != DD_EV_DELETE)
        err = read_features(&b, sch, obj, cause);
    if (!err && b.ev->kind == DD_EV_DATA && b.ev->nfeat == 0) {
        /* No features: a delayed label when it has an id and a label. */
        if (b.ev->id && b.ev->y.kind != DD_LABEL_NONE)
            b.ev->kind = DD_EV_LABEL;
        else
            err = dd_fail(cause, DD_EPARSE, "no features (x is missing or empty)");
    }
    if (!err && b.ev->kind == DD_EV_DELETE && !b.ev->id)
        err = dd_fail(cause, DD_EPARSE, "op delete needs an id");
    if (!err)
        err = check_duplicates(b.ev, cause);
    free(b.path);
    if (err) {
        event_free(b.ev);
        return err;
    }
    *out = b.ev;
    return DD_OK;
}

dd_err event_parse_json(const char *buf, size_t len, const event_limits *lim, const schema *sch,
                        dd_event **out, char **cause)
{
    cJSON *root;
    *out = NULL;
    dd_err err = event_json_parse(buf, len, lim, &root, cause);
    if (err)
        return err;
    err = event_from_json(root, lim, sch, out, cause);
    cJSON_Delete(root);
    if (!err && *out)
        (*out)->raw_len = (uint32_t)len;
    return err;
}

void event_default_ts(dd_event *ev, double t)
{
    ev->recv_ts = t;
    if (!ev->has_ts)
        ev->ts = t;
}

const dd_feature *event_find(const dd_event *ev, const char *name)
{
    for (uint32_t i = 0; i < ev->nfeat; i++)
        if (!strcmp(ev->feat[i].name, name))
            return &ev->feat[i];
    return NULL;
}

void event_free(dd_event *ev)
{
    if (!ev)
        return;
    free(ev->feat);
    arena_free(ev->arena_);
    free(ev);
}
