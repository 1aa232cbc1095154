/*
 * schema_infer.c: guess a [schema] section from a few sample messages.
 *
 * Two passes over the samples. The first keeps statistics on the top-level
 * fields (how often present, which JSON types, distinct values up to a small
 * cap, string lengths, array shapes) and picks the shape (x or flat) and the
 * field of each role by name, then by content (a long free-text string is
 * the text, a fixed-length number array the embedding). The second pass
 * compiles that guess into a schema and flattens each sample's features the
 * way the parser will, to describe every feature in the notes and to exclude
 * strings that are unique per line (identifiers, not categories).
 * O(samples x fields x tracked fields); `driftdeck schema` reads ~100 lines.
 */
#include "schema.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define MAX_FIELDS 512
#define MAX_DISTINCT 128
#define MAX_CLASSES 20 /* more distinct integers than this: a regression target */

typedef struct fstat {
    char name[SCHEMA_NAME_MAX];
    uint32_t seen, num, integer, str, boolean, null, obj, arr, iso, numstr;
    uint32_t arr_num, arr_len; /* arrays of numbers only; their length (0: varies) */
    uint64_t distinct[MAX_DISTINCT];
    uint32_t ndistinct; /* MAX_DISTINCT means "at least" */
    double sum_len, max_abs;
    uint32_t spaced; /* strings holding a space */
} fstat;

typedef struct stats {
    uint32_t n;
    fstat f[MAX_FIELDS];
} stats;

static fstat *stat_of(stats *st, const char *name)
{
    for (uint32_t i = 0; i < st->n; i++)
        if (!strcmp(st->f[i].name, name))
            return &st->f[i];
    if (st->n == MAX_FIELDS || strlen(name) >= SCHEMA_NAME_MAX)
        return NULL;
    fstat *f = &st->f[st->n++];
    memset(f, 0, sizeof *f);
    memcpy(f->name, name, strlen(name) + 1);
    return f;
}

static void note_distinct(fstat *f, uint64_t h)
{
    for (uint32_t i = 0; i < f->ndistinct; i++)
        if (f->distinct[i] == h)
            return;
    if (f->ndistinct < MAX_DISTINCT)
        f->distinct[f->ndistinct++] = h;
}

static void observe(fstat *f, const cJSON *v)
{
    double t;
    f->seen++;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        f->num++;
        if (d == floor(d))
            f->integer++;
        if (fabs(d) > f->max_abs)
            f->max_abs = fabs(d);
        note_distinct(f, hash_bytes(&d, sizeof d, 1));
    } else if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        f->str++;
        f->sum_len += (double)strlen(s);
        if (strchr(s, ' '))
            f->spaced++;
        if (schema_parse_iso8601(s, &t))
            f->iso++;
        char *end;
        double d = strtod(s, &end);
        if (*s && !*end && isfinite(d))
            f->numstr++;
        note_distinct(f, hash_str(s));
    } else if (cJSON_IsBool(v)) {
        f->boolean++;
        note_distinct(f, cJSON_IsTrue(v) ? 1 : 2);
    } else if (cJSON_IsNull(v)) {
        f->null++;
    } else if (cJSON_IsObject(v)) {
        f->obj++;
    } else if (cJSON_IsArray(v)) {
        uint32_t n = 0, nums = 0;
        for (const cJSON *c = v->child; c; c = c->next, n++)
            nums += cJSON_IsNumber(c) ? 1 : 0;
        if (n > 0 && nums == n) {
            if (f->arr_num == 0)
                f->arr_len = n;
            else if (f->arr_len != n)
                f->arr_len = 0;
            f->arr_num++;
        }
        f->arr++;
    }
}

/* ---- roles ---------------------------------------------------------------------- */

static const char *const candidates[SCHEMA_ROLE__COUNT][10] = {
    [SCHEMA_ID] = {"id", "_id", "event_id", "uuid", "key", "ID", "Id", NULL},
    [SCHEMA_TS] = {"ts", "time", "timestamp", "@timestamp", "event_time", "datetime", "date",
                   "created_at", NULL},
    [SCHEMA_LABEL] = {"y", "label", "target", "class", "outcome", NULL},
    [SCHEMA_GROUP] = {"group", "segment", "cohort", NULL},
    [SCHEMA_TEXT] = {"text", "body", "content", "message", NULL},
    [SCHEMA_EMB] = {"emb", "embedding", "vector", NULL},
    [SCHEMA_OP] = {"op", "operation", NULL},
};

static bool scalar_like(const fstat *f)
{
    return f->num + f->str + f->boolean + f->null == f->seen;
}

static bool fits_role(const fstat *f, schema_role r)
{
    switch (r) {
    case SCHEMA_TS:
        return f->num + f->iso + f->numstr + f->null == f->seen;
    case SCHEMA_EMB:
        return f->arr_num + f->null == f->seen;
    case SCHEMA_TEXT:
    case SCHEMA_OP:
        return f->str + f->null == f->seen;
    default:
        return scalar_like(f);
    }
}

static const fstat *pick_role(stats *top, schema_role r, const bool *taken)
{
    for (int i = 0; candidates[r][i]; i++)
        for (uint32_t k = 0; k < top->n; k++)
            if (!taken[k] && !strcmp(top->f[k].name, candidates[r][i]) && fits_role(&top->f[k], r))
                return &top->f[k];
    /* By content: ISO 8601 strings are the time, long spaced strings the text,
     * fixed-length number arrays the embedding. */
    for (uint32_t k = 0; k < top->n; k++) {
        const fstat *f = &top->f[k];
        if (taken[k] || !f->seen)
            continue;
        if (r == SCHEMA_TS && f->iso == f->seen)
            return f;
        if (r == SCHEMA_TEXT && f->str == f->seen && f->sum_len / f->str >= 32 &&
            f->spaced * 2 >= f->str)
            return f;
        if (r == SCHEMA_EMB && f->arr_num == f->seen && f->arr_len >= 8)
            return f;
    }
    return NULL;
}

static schema_ts_unit guess_unit(const fstat *f)
{
    if (!f->num)
        return SCHEMA_TS_S;
    if (f->max_abs > 1e17)
        return SCHEMA_TS_NS;
    if (f->max_abs > 1e14)
        return SCHEMA_TS_US;
    if (f->max_abs > 1e11)
        return SCHEMA_TS_MS;
    return SCHEMA_TS_S;
}

static schema_label_type guess_label(const fstat *f)
{
    if (f->str)
        return f->numstr == f->str && !f->boolean ? SCHEMA_LABEL_NUMBER : SCHEMA_LABEL_CLASS;
    if (f->num && f->integer == f->num && f->ndistinct <= MAX_CLASSES)
        return SCHEMA_LABEL_NUMBER;
    if (f->num)
        return SCHEMA_LABEL_REGRESSION;
    return SCHEMA_LABEL_NUMBER;
}

/* ---- features (second pass) ------------------------------------------------------- */

static void flatten(stats *feat, const schema *s, bool flat, const cJSON *v, char *name, size_t len,
                    size_t cap)
{
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) {
        if (schema_keeps(s, name, flat)) {
            fstat *f = stat_of(feat, name);
            if (f)
                observe(f, v);
        }
        return;
    }
    int i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        char idx[16];
        const char *key = c->string;
        if (cJSON_IsArray(v)) {
            snprintf(idx, sizeof idx, "%d", i);
            key = idx;
        }
        size_t klen = strlen(key ? key : "");
        if (len + klen + 2 > cap)
            continue;
        size_t at = len;
        if (at)
            name[at++] = '.';
        memcpy(name + at, key ? key : "", klen + 1);
        flatten(feat, s, flat, c, name, at + klen, cap);
        name[len] = '\0';
    }
}

/* The notes under construction: comment lines, or nothing when not wanted. */
typedef struct notes {
    char *text;
    size_t len, cap;
    bool want;
} notes;

static void describe(notes *nt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void describe(notes *nt, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || !nt->want)
        return;
    size_t add = strlen(line);
    if (nt->len + add + 1 > nt->cap) {
        size_t ncap = (nt->cap ? nt->cap * 2 : 1024) + add;
        char *p = realloc(nt->text, ncap);
        if (!p)
            return;
        nt->text = p;
        nt->cap = ncap;
    }
    memcpy(nt->text + nt->len, line, add + 1);
    nt->len += add;
}

static void feature_note(notes *nt, const fstat *f, uint32_t nobj)
{
    const char *kind = f->num       ? (f->str ? "mixed number/string" : "number")
                       : f->str     ? "string (categorical)"
                       : f->boolean ? "boolean"
                                    : "null";
    char distinct[32] = "";
    if (f->str)
        snprintf(distinct, sizeof distinct, ", %s%u distinct",
                 f->ndistinct >= MAX_DISTINCT ? ">=" : "", f->ndistinct);
    describe(nt, "#   %-24s %s, in %u of %u lines%s%s\n", f->name, kind, f->seen, nobj, distinct,
             f->null ? ", sometimes missing" : "");
}

/* First pass: statistics of the top-level fields. Returns the number of
 * objects among the samples; *with_x counts those with an x object. */
static uint32_t top_stats(const cJSON *const *samples, size_t n, stats *top, uint32_t *with_x)
{
    uint32_t nobj = 0;
    *with_x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!cJSON_IsObject(samples[i]))
            continue;
        nobj++;
        for (const cJSON *c = samples[i]->child; c; c = c->next) {
            fstat *f = c->string ? stat_of(top, c->string) : NULL;
            if (f)
                observe(f, c);
            if (c->string && !strcmp(c->string, "x") && cJSON_IsObject(c))
                (*with_x)++;
        }
    }
    return nobj;
}

/* The field of every role, its time unit and label type, into p. */
static void pick_roles(stats *top, bool xshape, uint32_t nobj, schema_params *p, notes *nt)
{
    bool taken[MAX_FIELDS] = {false};
    for (uint32_t k = 0; k < top->n; k++)
        if (xshape && !strcmp(top->f[k].name, "x"))
            taken[k] = true;
    for (int r = 0; r < SCHEMA_ROLE__COUNT; r++) {
        const fstat *f = pick_role(top, (schema_role)r, taken);
        if (!f) {
            describe(nt, "# %-9s not found (the conventional names still apply)\n",
                     schema_role_key((schema_role)r));
            continue;
        }
        taken[f - top->f] = true;
        memcpy(p->field[r], f->name, strlen(f->name) + 1);
        if (r == SCHEMA_TS)
            p->ts_unit = guess_unit(f);
        if (r == SCHEMA_LABEL)
            p->label_type = guess_label(f);
        describe(nt, "# %-9s '%s', in %u of %u lines\n", schema_role_key((schema_role)r), f->name,
                 f->seen, nobj);
    }
}

/* Second pass: flatten every sample's features as the parser will (with
 * the mapping guessed so far), describe them, exclude identifiers. */
static dd_err feature_stats(const cJSON *const *samples, size_t n, uint32_t nobj, stats *feat,
                            schema_params *p, notes *nt, char **cause)
{
    schema *s = schema_new(p, cause);
    if (!s)
        return DD_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const cJSON *box;
        bool flat;
        if (!cJSON_IsObject(samples[i]) || schema_features(s, samples[i], &box, &flat, NULL) ||
            !box)
            continue;
        for (const cJSON *c = box->child; c; c = c->next) {
            char name[SCHEMA_NAME_MAX];
            size_t klen = c->string ? strlen(c->string) : sizeof name;
            if (klen >= sizeof name || (flat && schema_is_role_key(s, c->string)))
                continue;
            memcpy(name, c->string, klen + 1);
            flatten(feat, s, flat, c, name, klen, sizeof name);
        }
    }
    schema_free(s);
    describe(nt, "# features (%u):\n", feat->n);
    for (uint32_t k = 0; k < feat->n; k++) {
        const fstat *f = &feat->f[k];
        feature_note(nt, f, nobj);
        /* A string different on every line (of enough lines) is an identifier. */
        if (f->str == f->seen && f->seen >= 20 && f->ndistinct == f->seen &&
            f->sum_len / f->str < 64) {
            describe(nt, "#     excluded: a different value on every line\n");
            schema_params_set(p, "exclude", f->name, NULL);
        }
    }
    return DD_OK;
}

dd_err schema_infer(const cJSON *const *samples, size_t n, schema_params *p, char **notes_out,
                    char **cause)
{
    stats *top = calloc(1, sizeof *top), *feat = calloc(1, sizeof *feat);
    notes nt = {.want = notes_out != NULL};
    dd_err err = DD_OK;
    uint32_t with_x = 0, nobj = 0;
    if (!top || !feat)
        err = dd_fail(cause, DD_ENOMEM, "out of memory");
    else if (!(nobj = top_stats(samples, n, top, &with_x)))
        err = dd_fail(cause, DD_EINVAL, "no sample is a JSON object");
    if (!err) {
        schema_params_default(p);
        bool xshape = with_x * 2 >= nobj;
        memcpy(p->features, xshape ? "x" : ".", 2);
        describe(&nt, "# shape: %s (%u of %u sample lines have an x object)\n",
                 xshape ? "features inside x" : "flat, features are top-level fields", with_x,
                 nobj);
        pick_roles(top, xshape, nobj, p, &nt);
        err = feature_stats(samples, n, nobj, feat, p, &nt, cause);
    }
    free(top);
    free(feat);
    if (notes_out && !err)
        *notes_out = nt.text;
    else
        free(nt.text);
    return err;
}

#define MAX_TASK_CLASSES 256

const char *schema_infer_task(const cJSON *const *samples, size_t n, const schema_params *p,
                              uint32_t *classes)
{
    schema *s = schema_new(p, NULL);
    uint64_t seen[MAX_TASK_CLASSES];
    uint32_t nseen = 0, labelled = 0;
    for (size_t i = 0; s && i < n; i++) {
        const cJSON *v;
        if (!cJSON_IsObject(samples[i]) || schema_find(s, samples[i], SCHEMA_LABEL, &v, NULL) || !v)
            continue;
        char buf[40];
        dd_label y;
        if (schema_label(s, v, &y, buf, sizeof buf, NULL))
            continue;
        labelled++;
        uint64_t h = y.kind == DD_LABEL_STR ? hash_str(y.str) : hash_bytes(&y.num, sizeof y.num, 1);
        bool known = false;
        for (uint32_t k = 0; k < nseen && !known; k++)
            known = seen[k] == h;
        if (!known && nseen < MAX_TASK_CLASSES)
            seen[nseen++] = h;
    }
    schema_free(s);
    *classes = nseen;
    if (!labelled)
        return NULL;
    if (p->label_type == SCHEMA_LABEL_REGRESSION)
        return "regression";
    return nseen <= 2 ? "binary" : "multiclass";
}
