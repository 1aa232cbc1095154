/*
 * pagehinkley.c: the Page-Hinkley test (Page 1954, "Continuous inspection
 * schemes"; Hinkley 1971) for a rise and/or a fall of a stream's mean.
 *
 * O(1) time and memory per value. With the running mean m_t (including
 * x_t), the cumulative deviations
 *     U_t = alpha U_{t-1} + (x_t - m_t) - delta    (watches increases)
 *     L_t = alpha L_{t-1} + (x_t - m_t) + delta    (watches decreases)
 * signal a drift once t >= min_instances and U_t - min U > threshold (up)
 * or max L - L_t > threshold (down). alpha < 1 forgets old deviations.
 * The details follow River 0.21.0 (so that detections replay exactly): the
 * minimum of U starts at +inf, the maximum of L at -1, and the mean is
 * River's stats.Mean (m += (1/n)(x - m)).
 */
#include "drift_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { PH_BOTH = 0, PH_UP = 1, PH_DOWN = 2 };

typedef struct pagehinkley {
    double min_instances, delta, threshold, alpha;
    int mode;
    double n, mean;
    double sum_inc, sum_dec; /* U_t and L_t */
    double min_inc, max_dec;
} pagehinkley;

static const drift_param_info ph_params[] = {
    {"min_instances", 30, 1, 1e12, "values seen before a drift can be signalled"},
    {"delta", 0.005, 0, 1e300, "tolerated change of the mean (magnitude allowance)"},
    {"threshold", 50, 1e-300, 1e300, "cumulative deviation that signals a drift (lambda)"},
    {"alpha", 0.9999, 0, 1, "forgetting factor of the cumulative deviations"},
    {"mode", 0, 0, 2, "direction watched: 0 (or both), 1 (or up), 2 (or down)"},
    {NULL, 0, 0, 0, NULL},
};

static void ph_reset(void *s)
{
    pagehinkley *ph = s;
    ph->n = 0.0;
    ph->mean = 0.0;
    ph->sum_inc = 0.0;
    ph->sum_dec = 0.0;
    ph->min_inc = INFINITY;
    ph->max_dec = -1.0;
}

static dd_err ph_create(const double *v, void **out, char **cause)
{
    pagehinkley *ph = calloc(1, sizeof *ph);
    if (!ph)
        return dd_fail(cause, DD_ENOMEM, "pagehinkley: out of memory");
    ph->min_instances = v[0];
    ph->delta = v[1];
    ph->threshold = v[2];
    ph->alpha = v[3];
    ph->mode = (int)v[4];
    ph_reset(ph);
    *out = ph;
    return DD_OK;
}

static void ph_destroy(void *s)
{
    free(s);
}

static drift_state ph_update(void *s, double x)
{
    pagehinkley *ph = s;
    ph->n += 1.0;
    ph->mean += (1.0 / ph->n) * (x - ph->mean);
    double dev = x - ph->mean;
    ph->sum_inc = ph->alpha * ph->sum_inc + dev - ph->delta;
    ph->sum_dec = ph->alpha * ph->sum_dec + dev + ph->delta;
    if (ph->sum_inc < ph->min_inc)
        ph->min_inc = ph->sum_inc;
    if (ph->sum_dec > ph->max_dec)
        ph->max_dec = ph->sum_dec;
    if (ph->n < ph->min_instances)
        return DRIFT_NONE;
    if (ph->mode != PH_DOWN && ph->sum_inc - ph->min_inc > ph->threshold)
        return DRIFT_DRIFT;
    if (ph->mode != PH_UP && ph->max_dec - ph->sum_dec > ph->threshold)
        return DRIFT_DRIFT;
    return DRIFT_NONE;
}

static size_t ph_memory(const void *s)
{
    (void)s;
    return sizeof(pagehinkley);
}

static double ph_up(const pagehinkley *ph)
{
    return ph->n > 0.0 ? ph->sum_inc - ph->min_inc : 0.0;
}

static double ph_down(const pagehinkley *ph)
{
    return ph->n > 0.0 ? ph->max_dec - ph->sum_dec : 0.0;
}

/* The statistic compared with the threshold (the larger of the watched ones). */
static double ph_statistic(const void *s)
{
    const pagehinkley *ph = s;
    double up = ph->mode != PH_DOWN ? ph_up(ph) : -INFINITY;
    double down = ph->mode != PH_UP ? ph_down(ph) : -INFINITY;
    return up > down ? up : down;
}

static int ph_explain(const void *s, char *buf, size_t n)
{
    const pagehinkley *ph = s;
    return snprintf(buf, n, "pagehinkley: %.0f values, mean %.4g, rise %.4g, fall %.4g of %g",
                    ph->n, ph->mean, ph_up(ph), ph_down(ph), ph->threshold);
}

static size_t ph_values(const void *s, drift_value *out, size_t max)
{
    const pagehinkley *ph = s;
    const drift_value v[] = {
        {"n", ph->n},          {"mean", ph->mean},           {"rise", ph_up(ph)},
        {"fall", ph_down(ph)}, {"threshold", ph->threshold},
    };
    return drift_copy_values(v, DD_ARRAY_LEN(v), out, max);
}

static void ph_save(const void *s, ser_writer *w)
{
    const pagehinkley *ph = s;
    const double v[] = {ph->n, ph->mean, ph->sum_inc, ph->sum_dec, ph->min_inc, ph->max_dec};
    for (size_t i = 0; i < DD_ARRAY_LEN(v); i++)
        ser_put_f64(w, v[i]);
}

static bool ph_load(void *s, ser_reader *r)
{
    pagehinkley *ph = s;
    ph->n = ser_get_f64(r);
    ph->mean = ser_get_f64(r);
    ph->sum_inc = ser_get_f64(r);
    ph->sum_dec = ser_get_f64(r);
    ph->min_inc = ser_get_f64(r);
    ph->max_dec = ser_get_f64(r);
    return ph->n >= 0.0 && isfinite(ph->n) && isfinite(ph->mean) && !isnan(ph->min_inc);
}

const drift_ops drift_ops_pagehinkley = {
    .kind = "pagehinkley",
    .params = ph_params,
    .int_params = 0x11u, /* min_instances, mode */
    .create = ph_create,
    .destroy = ph_destroy,
    .update = ph_update,
    .reset = ph_reset,
    .memory = ph_memory,
    .statistic = ph_statistic,
    .explain = ph_explain,
    .values = ph_values,
    .save = ph_save,
    .load = ph_load,
};
