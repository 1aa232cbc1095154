/*
 * ddm.c: DDM (Gama, Medas, Castillo & Rodrigues 2004, "Learning with drift
 * detection") and EDDM (Baena-Garcia et al. 2006, "Early drift detection
 * method") on a 0/1 error stream (1 = the model erred).
 *
 * DDM tracks the error rate p_i and its binomial deviation
 * s_i = sqrt(p_i (1 - p_i) / i); once i > warm_start it remembers the point
 * where p + s was lowest and warns when p_i + s_i > p_min + w s_min, drifts
 * when p_i + s_i > p_min + d s_min.
 * EDDM tracks the distance between consecutive errors (mean p' and standard
 * deviation s'); the ratio (p' + 2 s') / max(p' + 2 s') falls below alpha
 * (warning) and beta (drift) when errors come closer together.
 * Both O(1) time and memory. Arithmetic follows River 0.21.0 (its stats.Mean
 * and stats.Var update order) so that detections and warnings replay exactly.
 * Values other than 0 and 1 are taken as "error" when >= 0.5 (DDM uses the
 * value itself as River does; EDDM counts x == 1 only, like River).
 */
#include "drift_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* River's stats.Mean: m += (w / n) (x - m). */
static inline void mean_update(double *n, double *m, double x)
{
    *n += 1.0;
    *m += (1.0 / *n) * (x - *m);
}

/* ---- DDM ---- */

typedef struct ddm {
    double warm_start, warning_threshold, drift_threshold;
    double n, p, s;
    double p_min, s_min, ps_min;
    drift_state state;
} ddm;

static const drift_param_info ddm_params[] = {
    {"warm_start", 30, 0, 1e12, "values seen before a warning or drift can be signalled"},
    {"warning_threshold", 2, 0, 1e6, "standard deviations above the best error rate: warning"},
    {"drift_threshold", 3, 0, 1e6, "standard deviations above the best error rate: drift"},
    {NULL, 0, 0, 0, NULL},
};

static void ddm_reset(void *st)
{
    ddm *d = st;
    d->n = 0.0;
    d->p = 0.0;
    d->s = 0.0;
    d->p_min = INFINITY;
    d->s_min = INFINITY;
    d->ps_min = INFINITY;
    d->state = DRIFT_NONE;
}

static dd_err ddm_create(const double *v, void **out, char **cause)
{
    ddm *d = calloc(1, sizeof *d);
    if (!d)
        return dd_fail(cause, DD_ENOMEM, "ddm: out of memory");
    d->warm_start = v[0];
    d->warning_threshold = v[1];
    d->drift_threshold = v[2];
    ddm_reset(d);
    *out = d;
    return DD_OK;
}

static drift_state ddm_update(void *st, double x)
{
    ddm *d = st;
    mean_update(&d->n, &d->p, x);
    d->s = sqrt(d->p * (1.0 - d->p) / d->n);
    if (!(d->n > d->warm_start))
        return d->state; /* River keeps the previous flags here: none after a reset */
    double ps = d->p + d->s;
    if (ps <= d->ps_min) {
        d->p_min = d->p;
        d->s_min = d->s;
        d->ps_min = d->p_min + d->s_min;
    }
    if (ps > d->p_min + d->drift_threshold * d->s_min)
        d->state = DRIFT_DRIFT;
    else if (ps > d->p_min + d->warning_threshold * d->s_min)
        d->state = DRIFT_WARNING;
    else
        d->state = DRIFT_NONE;
    return d->state;
}

static size_t ddm_memory(const void *st)
{
    (void)st;
    return sizeof(ddm);
}

static double ddm_statistic(const void *st)
{
    const ddm *d = st;
    return d->p + d->s;
}

static int ddm_explain(const void *st, char *buf, size_t n)
{
    const ddm *d = st;
    if (!(d->n > d->warm_start))
        return snprintf(buf, n, "ddm: warming up, %.0f of %.0f values", d->n, d->warm_start);
    return snprintf(buf, n, "ddm: error rate %.4g +- %.3g; best %.4g +- %.3g; drift above %.4g",
                    d->p, d->s, d->p_min, d->s_min, d->p_min + d->drift_threshold * d->s_min);
}

static size_t ddm_values(const void *st, drift_value *out, size_t max)
{
    const ddm *d = st;
    const drift_value v[] = {
        {"p", d->p},
        {"s", d->s},
        {"p_min", isfinite(d->p_min) ? d->p_min : 0.0},
        {"s_min", isfinite(d->s_min) ? d->s_min : 0.0},
    };
    return drift_copy_values(v, DD_ARRAY_LEN(v), out, max);
}

static void put_all(ser_writer *w, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ser_put_f64(w, v[i]);
}

static void get_all(ser_reader *r, double *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        *v[i] = ser_get_f64(r);
}

static void ddm_save(const void *st, ser_writer *w)
{
    const ddm *d = st;
    const double v[] = {d->n, d->p, d->s, d->p_min, d->s_min, d->ps_min};
    put_all(w, v, DD_ARRAY_LEN(v));
    ser_put_u32(w, (uint32_t)d->state);
}

static bool ddm_load(void *st, ser_reader *r)
{
    ddm *d = st;
    double *const v[] = {&d->n, &d->p, &d->s, &d->p_min, &d->s_min, &d->ps_min};
    get_all(r, v, DD_ARRAY_LEN(v));
    uint32_t state = ser_get_u32(r);
    d->state = (drift_state)state;
    return state <= DRIFT_DRIFT && d->n >= 0.0 && isfinite(d->n) && !isnan(d->p);
}

static void plain_destroy(void *st)
{
    free(st);
}

const drift_ops drift_ops_ddm = {
    .kind = "ddm",
    .params = ddm_params,
    .int_params = 0x1u, /* warm_start */
    .create = ddm_create,
    .destroy = plain_destroy,
    .update = ddm_update,
    .reset = ddm_reset,
    .memory = ddm_memory,
    .statistic = ddm_statistic,
    .explain = ddm_explain,
    .values = ddm_values,
    .save = ddm_save,
    .load = ddm_load,
};

/* ---- EDDM ---- */

typedef struct eddm {
    double warm_start, alpha, beta;
    double n, last_error, errors;
    double dist_n, dist_mean, dist_var; /* River's stats.Var (ddof 1) of the distances */
    double p2s_max, ratio;
    drift_state state;
} eddm;

static const drift_param_info eddm_params[] = {
    {"warm_start", 30, 0, 1e12, "errors (and values) seen before a warning or drift"},
    {"alpha", 0.95, 0, 1, "warning when the distance ratio falls below this"},
    {"beta", 0.9, 0, 1, "drift when the distance ratio falls below this (beta <= alpha)"},
    {NULL, 0, 0, 0, NULL},
};

static void eddm_reset(void *st)
{
    eddm *e = st;
    e->n = 0.0;
    e->last_error = 0.0;
    e->errors = 0.0;
    e->dist_n = 0.0;
    e->dist_mean = 0.0;
    e->dist_var = 0.0;
    e->p2s_max = -1.0;
    e->ratio = 1.0;
    e->state = DRIFT_NONE;
}

static dd_err eddm_create(const double *v, void **out, char **cause)
{
    if (v[1] < v[2])
        return dd_fail(cause, DD_EINVAL, "eddm: alpha (%g) must be >= beta (%g)", v[1], v[2]);
    eddm *e = calloc(1, sizeof *e);
    if (!e)
        return dd_fail(cause, DD_ENOMEM, "eddm: out of memory");
    e->warm_start = v[0];
    e->alpha = v[1];
    e->beta = v[2];
    eddm_reset(e);
    *out = e;
    return DD_OK;
}

/* River's stats.Var with ddof = 1: the variance itself is updated in place. */
static void distance_update(eddm *e, double d)
{
    double old_mean = e->dist_mean;
    mean_update(&e->dist_n, &e->dist_mean, d);
    if (e->dist_n > 1.0)
        e->dist_var += ((d - old_mean) * (d - e->dist_mean) - e->dist_var) / (e->dist_n - 1.0);
}

static drift_state eddm_update(void *st, double x)
{
    eddm *e = st;
    e->n += 1.0;
    if (x != 1.0)
        return e->state;
    e->errors += 1.0;
    distance_update(e, e->n - e->last_error);
    if (e->n > e->warm_start) {
        double p2s = e->dist_mean + 2.0 * pow(e->dist_var, 0.5);
        if (p2s > e->p2s_max) {
            e->p2s_max = p2s;
        } else if (e->errors > e->warm_start) {
            e->ratio = p2s / e->p2s_max;
            if (e->ratio < e->beta)
                e->state = DRIFT_DRIFT;
            else if (e->ratio < e->alpha)
                e->state = DRIFT_WARNING;
            else
                e->state = DRIFT_NONE;
        }
    }
    e->last_error = e->n;
    return e->state;
}

static size_t eddm_memory(const void *st)
{
    (void)st;
    return sizeof(eddm);
}

static double eddm_statistic(const void *st)
{
    const eddm *e = st;
    return e->ratio;
}

static int eddm_explain(const void *st, char *buf, size_t n)
{
    const eddm *e = st;
    return snprintf(buf, n,
                    "eddm: %.0f errors in %.0f values, mean distance %.4g, ratio %.4g "
                    "(warning < %g, drift < %g)",
                    e->errors, e->n, e->dist_mean, e->ratio, e->alpha, e->beta);
}

static size_t eddm_values(const void *st, drift_value *out, size_t max)
{
    const eddm *e = st;
    const drift_value v[] = {
        {"errors", e->errors},
        {"mean_distance", e->dist_mean},
        {"ratio", e->ratio},
    };
    return drift_copy_values(v, DD_ARRAY_LEN(v), out, max);
}

static void eddm_save(const void *st, ser_writer *w)
{
    const eddm *e = st;
    const double v[] = {e->n,         e->last_error, e->errors,  e->dist_n,
                        e->dist_mean, e->dist_var,   e->p2s_max, e->ratio};
    put_all(w, v, DD_ARRAY_LEN(v));
    ser_put_u32(w, (uint32_t)e->state);
}

static bool eddm_load(void *st, ser_reader *r)
{
    eddm *e = st;
    double *const v[] = {&e->n,         &e->last_error, &e->errors,  &e->dist_n,
                         &e->dist_mean, &e->dist_var,   &e->p2s_max, &e->ratio};
    get_all(r, v, DD_ARRAY_LEN(v));
    uint32_t state = ser_get_u32(r);
    e->state = (drift_state)state;
    return state <= DRIFT_DRIFT && e->n >= 0.0 && isfinite(e->n) && e->errors <= e->n;
}

const drift_ops drift_ops_eddm = {
    .kind = "eddm",
    .params = eddm_params,
    .int_params = 0x1u, /* warm_start */
    .create = eddm_create,
    .destroy = plain_destroy,
    .update = eddm_update,
    .reset = eddm_reset,
    .memory = eddm_memory,
    .statistic = eddm_statistic,
    .explain = eddm_explain,
    .values = eddm_values,
    .save = eddm_save,
    .load = eddm_load,
};
