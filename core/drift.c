/*
 * drift.c: the dispatch behind drift.h.
 *
 * A detector is its kind's function table (drift_impl.h), the kind's opaque
 * state and the parameter values it was made with. drift.c checks parameter
 * names, ranges and integrality against the kind's table, rebuilds the state
 * when a parameter changes (so a failed change leaves the detector as it
 * was), filters non-finite values, and applies River's rule that a detector
 * starts afresh on the update after it reported a drift.
 */
#include "drift.h"
#include "drift_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct drift_detector {
    const drift_ops *ops;
    void *state;
    double values[DRIFT_MAX_PARAMS];
    drift_state last;
    unsigned long nonfinite;
};

static const drift_ops *const kinds[] = {
    &drift_ops_adwin, &drift_ops_pagehinkley, &drift_ops_ddm, &drift_ops_eddm, &drift_ops_kswin,
};

static const drift_ops *find_kind(const char *kind)
{
    if (!kind)
        return NULL;
    for (size_t i = 0; i < DD_ARRAY_LEN(kinds); i++)
        if (!strcmp(kinds[i]->kind, kind))
            return kinds[i];
    return NULL;
}

static size_t param_count(const drift_ops *ops)
{
    size_t n = 0;
    while (ops->params[n].name)
        n++;
    return n;
}

drift_detector *drift_new(const char *kind, char **cause)
{
    const drift_ops *ops = find_kind(kind);
    if (!ops) {
        dd_fail(cause, DD_ENOTFOUND,
                "unknown drift detector '%s' (known: adwin, pagehinkley, ddm, eddm, kswin)",
                kind ? kind : "(null)");
        return NULL;
    }
    drift_detector *d = calloc(1, sizeof *d);
    if (!d) {
        dd_fail(cause, DD_ENOMEM, "drift: out of memory");
        return NULL;
    }
    d->ops = ops;
    for (size_t i = 0; i < param_count(ops); i++)
        d->values[i] = ops->params[i].def;
    if (ops->create(d->values, &d->state, cause) != DD_OK) {
        free(d);
        return NULL;
    }
    return d;
}

void drift_free(drift_detector *d)
{
    if (!d)
        return;
    d->ops->destroy(d->state);
    free(d);
}

/* Finds the named parameter of ops and checks value against its range and
 * integrality. Returns its index, or -1 with *err and *cause set. */
static int check_param(const drift_ops *ops, const char *name, double value, dd_err *err,
                       char **cause)
{
    size_t n = param_count(ops), i;
    for (i = 0; i < n; i++)
        if (!strcmp(ops->params[i].name, name))
            break;
    if (i == n) {
        *err = dd_fail(cause, DD_ENOTFOUND, "%s has no parameter '%s'", ops->kind, name);
        return -1;
    }
    const drift_param_info *info = &ops->params[i];
    if (!isfinite(value) || value < info->min || value > info->max) {
        *err = dd_fail(cause, DD_EINVAL, "%s: %s must be in [%g, %g], got %g", ops->kind, name,
                       info->min, info->max, value);
        return -1;
    }
    if ((ops->int_params >> i & 1u) && value != floor(value)) {
        *err =
            dd_fail(cause, DD_EINVAL, "%s: %s must be an integer, got %g", ops->kind, name, value);
        return -1;
    }
    return (int)i;
}

dd_err drift_set_params(drift_detector *d, const char *const *names, const double *values, size_t n,
                        char **cause)
{
    const drift_ops *ops = d->ops;
    double next[DRIFT_MAX_PARAMS];
    memcpy(next, d->values, sizeof next);
    dd_err err = DD_OK;
    for (size_t k = 0; k < n; k++) {
        int i = check_param(ops, names[k], values[k], &err, cause);
        if (i < 0)
            return err;
        next[i] = values[k];
    }
    void *state = NULL;
    err = ops->create(next, &state, cause);
    if (err != DD_OK)
        return err;
    ops->destroy(d->state);
    d->state = state;
    memcpy(d->values, next, sizeof next);
    d->last = DRIFT_NONE;
    return DD_OK;
}

dd_err drift_set_param(drift_detector *d, const char *name, double value, char **cause)
{
    return drift_set_params(d, &name, &value, 1, cause);
}

const drift_param_info *drift_params_of(const char *kind)
{
    const drift_ops *ops = find_kind(kind);
    return ops ? ops->params : NULL;
}

drift_state drift_update(drift_detector *d, double x)
{
    if (!isfinite(x)) {
        d->nonfinite++;
        return DRIFT_NONE;
    }
    if (d->last == DRIFT_DRIFT)
        d->ops->reset(d->state);
    d->last = d->ops->update(d->state, x);
    return d->last;
}

void drift_reset(drift_detector *d)
{
    d->ops->reset(d->state);
    d->last = DRIFT_NONE;
}

size_t drift_memory(const drift_detector *d)
{
    return sizeof *d + d->ops->memory(d->state);
}

const char *drift_kind(const drift_detector *d)
{
    return d->ops->kind;
}

double drift_statistic(const drift_detector *d)
{
    return d->ops->statistic(d->state);
}

int drift_explain(const drift_detector *d, char *buf, size_t n)
{
    return d->ops->explain(d->state, buf, n);
}

double drift_window_width(const drift_detector *d)
{
    return d->ops->width ? d->ops->width(d->state) : 0.0;
}

double drift_window_mean(const drift_detector *d)
{
    return d->ops->mean ? d->ops->mean(d->state) : 0.0;
}

size_t drift_copy_values(const drift_value *v, size_t n, drift_value *out, size_t max)
{
    size_t k = n < max ? n : max;
    for (size_t i = 0; i < k; i++)
        out[i] = v[i];
    return k;
}

size_t drift_values(const drift_detector *d, drift_value *out, size_t max)
{
    return d->ops->values ? d->ops->values(d->state, out, max) : 0;
}

unsigned long drift_nonfinite(const drift_detector *d)
{
    return d->nonfinite;
}

/* Symbolic values of parameters, where River's are strings. */
static const struct {
    const char *kind, *name, *text;
    double value;
} symbols[] = {
    {"pagehinkley", "mode", "both", 0},
    {"pagehinkley", "mode", "up", 1},
    {"pagehinkley", "mode", "down", 2},
};

dd_err drift_param_parse(const char *kind, const char *name, const char *text, double *out,
                         char **cause)
{
    const drift_ops *ops = find_kind(kind);
    if (!ops)
        return dd_fail(cause, DD_ENOTFOUND, "unknown drift detector '%s'", kind ? kind : "(null)");
    size_t n = param_count(ops), i;
    for (i = 0; i < n && strcmp(ops->params[i].name, name) != 0; i++)
        ;
    if (i == n)
        return dd_fail(cause, DD_ENOTFOUND, "%s has no parameter '%s'", kind, name);
    double value = NAN;
    for (size_t k = 0; k < DD_ARRAY_LEN(symbols); k++)
        if (!strcmp(symbols[k].kind, kind) && !strcmp(symbols[k].name, name) &&
            !strcmp(symbols[k].text, text))
            value = symbols[k].value;
    if (isnan(value)) {
        char *end = NULL;
        value = strtod(text, &end);
        while (end && (*end == ' ' || *end == '\t'))
            end++;
        if (end == text || !end || *end != '\0')
            return dd_fail(cause, DD_EPARSE, "%s: %s: '%s' is not a number", kind, name, text);
    }
    dd_err err = DD_OK;
    if (check_param(ops, name, value, &err, cause) < 0)
        return err;
    *out = value;
    return DD_OK;
}

#define DRIFT_SNAPSHOT_MAGIC 0x44524654u /* "DRFT" */
#define DRIFT_SNAPSHOT_VERSION 1u

void drift_serialize(const drift_detector *d, ser_writer *w)
{
    size_t n = param_count(d->ops);
    ser_put_u32(w, DRIFT_SNAPSHOT_MAGIC);
    ser_put_u32(w, DRIFT_SNAPSHOT_VERSION);
    ser_put_str(w, d->ops->kind);
    ser_put_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        ser_put_f64(w, d->values[i]);
    ser_put_u32(w, (uint32_t)d->last);
    ser_put_u64(w, d->nonfinite);
    d->ops->save(d->state, w);
}

dd_err drift_deserialize(ser_reader *r, drift_detector **out, char **cause)
{
    *out = NULL;
    uint32_t magic = ser_get_u32(r), version = ser_get_u32(r);
    if (r->failed || magic != DRIFT_SNAPSHOT_MAGIC)
        return dd_fail(cause, DD_ECORRUPT, "drift snapshot: bad header");
    if (version != DRIFT_SNAPSHOT_VERSION)
        return dd_fail(cause, DD_EVERSION, "drift snapshot: format %u, this build reads %u",
                       version, DRIFT_SNAPSHOT_VERSION);
    char *kind = ser_get_str(r, 32);
    const drift_ops *ops = find_kind(kind);
    free(kind);
    if (!ops)
        return dd_fail(cause, DD_ECORRUPT, "drift snapshot: unknown or missing detector kind");
    size_t n = param_count(ops);
    if (ser_get_u32(r) != n)
        return dd_fail(cause, DD_ECORRUPT, "drift snapshot: wrong parameter count for %s",
                       ops->kind);
    const char *names[DRIFT_MAX_PARAMS];
    double values[DRIFT_MAX_PARAMS];
    for (size_t i = 0; i < n; i++) {
        names[i] = ops->params[i].name;
        values[i] = ser_get_f64(r);
    }
    uint32_t last = ser_get_u32(r);
    uint64_t nonfinite = ser_get_u64(r);
    if (r->failed || last > DRIFT_DRIFT)
        return dd_fail(cause, DD_ECORRUPT, "drift snapshot: truncated or bad state");
    drift_detector *d = drift_new(ops->kind, cause);
    if (!d)
        return DD_ENOMEM;
    char *why = NULL;
    if (drift_set_params(d, names, values, n, &why) != DD_OK) {
        drift_free(d);
        dd_fail(cause, DD_ECORRUPT, "drift snapshot: %s", why ? why : "bad parameters");
        free(why);
        return DD_ECORRUPT;
    }
    if (!ops->load(d->state, r) || r->failed) {
        drift_free(d);
        return dd_fail(cause, DD_ECORRUPT, "drift snapshot: truncated or inconsistent %s state",
                       ops->kind);
    }
    d->last = (drift_state)last;
    d->nonfinite = (unsigned long)nonfinite;
    *out = d;
    return DD_OK;
}
