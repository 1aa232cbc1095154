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
    &drift_ops_adwin,
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

dd_err drift_set_param(drift_detector *d, const char *name, double value, char **cause)
{
    const drift_ops *ops = d->ops;
    size_t n = param_count(ops), i;
    for (i = 0; i < n; i++)
        if (!strcmp(ops->params[i].name, name))
            break;
    if (i == n)
        return dd_fail(cause, DD_ENOTFOUND, "%s has no parameter '%s'", ops->kind, name);
    const drift_param_info *info = &ops->params[i];
    if (!isfinite(value) || value < info->min || value > info->max)
        return dd_fail(cause, DD_EINVAL, "%s: %s must be in [%g, %g], got %g", ops->kind, name,
                       info->min, info->max, value);
    if ((ops->int_params >> i & 1u) && value != floor(value))
        return dd_fail(cause, DD_EINVAL, "%s: %s must be an integer, got %g", ops->kind, name,
                       value);

    double values[DRIFT_MAX_PARAMS];
    memcpy(values, d->values, sizeof values);
    values[i] = value;
    void *state = NULL;
    dd_err err = ops->create(values, &state, cause);
    if (err != DD_OK)
        return err;
    ops->destroy(d->state);
    d->state = state;
    memcpy(d->values, values, sizeof values);
    d->last = DRIFT_NONE;
    return DD_OK;
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
