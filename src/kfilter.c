/*
 * kfilter.c: filters on knowledge-store hits (see kfilter.h). Parsing checks
 * every member and says which one is wrong; matching is O(fields) after one
 * cJSON parse of the hit's payload.
 */
#include "kfilter.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void kfilter_init(kfilter *f)
{
    memset(f, 0, sizeof *f);
    f->min_ts = f->max_ts = NAN;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    f->now = (double)t.tv_sec + t.tv_nsec * 1e-9;
}

dd_err kfilter_set_index(kfilter *f, const char *name, char **cause)
{
    if (!strcmp(name, "vector"))
        f->indexes = KSTORE_FOUND_VECTOR;
    else if (!strcmp(name, "fts"))
        f->indexes = KSTORE_FOUND_FTS;
    else if (!strcmp(name, "both"))
        f->indexes = KSTORE_FOUND_BOTH;
    else
        return dd_fail(cause, DD_EINVAL, "index must be \"vector\", \"fts\" or \"both\"");
    return DD_OK;
}

/* A new condition named name (n bytes), or NULL with *cause. */
static kfilter_field *new_field(kfilter *f, const char *name, size_t n, char **cause)
{
    if (f->nwhere >= KFILTER_MAX_FIELDS) {
        dd_fail(cause, DD_EINVAL, "where: at most %d fields", KFILTER_MAX_FIELDS);
        return NULL;
    }
    if (n == 0 || n >= KFILTER_NAME_MAX || memchr(name, '\0', n)) {
        dd_fail(cause, DD_EINVAL, "where: a field name must have 1..%d bytes",
                KFILTER_NAME_MAX - 1);
        return NULL;
    }
    for (uint32_t i = 0; i < f->nwhere; i++)
        if (strlen(f->where[i].name) == n && !memcmp(f->where[i].name, name, n)) {
            dd_fail(cause, DD_EINVAL, "where: the field '%.*s' is given twice", (int)n, name);
            return NULL;
        }
    kfilter_field *w = &f->where[f->nwhere];
    memset(w, 0, sizeof *w);
    memcpy(w->name, name, n);
    return w;
}

static dd_err set_str(kfilter_field *w, const char *s, char **cause)
{
    size_t n = strlen(s);
    if (n >= KFILTER_VALUE_MAX)
        return dd_fail(cause, DD_EINVAL, "where: the value of '%s' is longer than %d bytes",
                       w->name, KFILTER_VALUE_MAX - 1);
    memcpy(w->str, s, n + 1);
    w->has_str = true;
    return DD_OK;
}

dd_err kfilter_add_where(kfilter *f, const char *name_value, char **cause)
{
    const char *eq = strchr(name_value, '=');
    if (!eq)
        return dd_fail(cause, DD_EINVAL, "--where wants NAME=VALUE, got '%s'", name_value);
    kfilter_field *w = new_field(f, name_value, (size_t)(eq - name_value), cause);
    if (!w || set_str(w, eq + 1, cause))
        return DD_EINVAL;
    char *end;
    errno = 0;
    double x = strtod(eq + 1, &end);
    w->has_num = eq[1] && !*end && !errno && isfinite(x);
    w->num = x;
    f->nwhere++;
    return DD_OK;
}

static dd_err where_from_json(kfilter *f, const cJSON *where, char **cause)
{
    if (!cJSON_IsObject(where) || !where->child)
        return dd_fail(cause, DD_EINVAL, "where must be an object of field: value (not empty)");
    for (const cJSON *m = where->child; m; m = m->next) {
        kfilter_field *w = new_field(f, m->string, strlen(m->string), cause);
        if (!w)
            return DD_EINVAL;
        if (cJSON_IsString(m)) {
            if (set_str(w, m->valuestring, cause))
                return DD_EINVAL;
        } else if (cJSON_IsNumber(m) && isfinite(m->valuedouble)) {
            w->has_num = true;
            w->num = m->valuedouble;
        } else {
            return dd_fail(cause, DD_EINVAL,
                           "where: the value of '%s' must be a string or a "
                           "finite number",
                           w->name);
        }
        f->nwhere++;
    }
    return DD_OK;
}

/* A finite number member into *out (absent: unchanged). */
static dd_err number(const cJSON *o, const char *name, double *out, char **cause)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!x)
        return DD_OK;
    if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble))
        return dd_fail(cause, DD_EINVAL, "%s must be a finite number", name);
    *out = x->valuedouble;
    return DD_OK;
}

dd_err kfilter_from_json(kfilter *f, const cJSON *body, char **cause)
{
    const cJSON *where = cJSON_GetObjectItemCaseSensitive(body, "where");
    const cJSON *index = cJSON_GetObjectItemCaseSensitive(body, "index");
    if (where && where_from_json(f, where, cause))
        return DD_EINVAL;
    if (index && !cJSON_IsString(index))
        return dd_fail(cause, DD_EINVAL, "index must be \"vector\", \"fts\" or \"both\"");
    if (index && kfilter_set_index(f, index->valuestring, cause))
        return DD_EINVAL;
    if (number(body, "min_ts", &f->min_ts, cause) || number(body, "max_ts", &f->max_ts, cause) ||
        number(body, "max_age", &f->max_age, cause))
        return DD_EINVAL;
    if (f->min_ts > f->max_ts) /* false when either is NAN */
        return dd_fail(cause, DD_EINVAL, "min_ts (%.17g) is after max_ts (%.17g)", f->min_ts,
                       f->max_ts);
    if (!(f->max_age >= 0))
        return dd_fail(cause, DD_EINVAL, "max_age must be a number of seconds >= 0");
    return DD_OK;
}

static bool asks_hits(const kfilter *f)
{
    return f->nwhere || !isnan(f->min_ts) || !isnan(f->max_ts) || f->max_age > 0;
}

void kfilter_apply(const kfilter *f, kstore_query *q)
{
    q->indexes = f->indexes;
    q->keep = asks_hits(f) ? kfilter_keep : NULL;
    q->keep_ctx = (void *)f;
}

static bool value_matches(const kfilter_field *w, const cJSON *v)
{
    if (cJSON_IsString(v))
        return w->has_str && !strcmp(v->valuestring, w->str);
    if (cJSON_IsNumber(v))
        return w->has_num && v->valuedouble == w->num;
    return false;
}

static bool fields_match(const kfilter *f, const char *payload)
{
    cJSON *o = cJSON_Parse(payload);
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "x");
    bool ok = o != NULL;
    for (uint32_t i = 0; ok && i < f->nwhere; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(x, f->where[i].name);
        if (!v)
            v = cJSON_GetObjectItemCaseSensitive(o, f->where[i].name);
        ok = v && value_matches(&f->where[i], v);
    }
    cJSON_Delete(o);
    return ok;
}

bool kfilter_keep(void *ctx, const kstore_hit *h)
{
    const kfilter *f = ctx;
    if (!isnan(f->min_ts) && !(h->ts >= f->min_ts))
        return false;
    if (!isnan(f->max_ts) && !(h->ts <= f->max_ts))
        return false;
    if (f->max_age > 0 && f->now - h->ts > f->max_age)
        return false;
    return !f->nwhere || fields_match(f, h->payload);
}
