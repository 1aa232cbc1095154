/*
 * kswin.c: KSWIN (see kswin.h).
 *
 * The window is a ring of window_size doubles; `head` is the oldest. A test
 * copies the two samples into scratch arrays, sorts them and walks both to
 * find the largest gap between the empirical distribution functions as a
 * count h (D = h / n, exact for equal sample sizes). The sampler draws
 * offsets without replacement by the pool method (the one Python's
 * random.sample uses for small populations), driven by our own rng, so its
 * draws differ from River's but have the same distribution.
 */
#include "kswin.h"
#include "drift_impl.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct kswin {
    kswin_params p;
    rng_t rng;
    double *ring; /* window_size values */
    size_t head, count;
    double *older;     /* stat_size scratch: the drawn sample */
    double *newer;     /* stat_size scratch: the newest values */
    unsigned *pool;    /* window_size - stat_size scratch for the sampler */
    unsigned *offsets; /* stat_size scratch: the drawn offsets */
    bool tested;
    double statistic, p_value;
};

void kswin_params_default(kswin_params *p)
{
    p->alpha = 0.005;
    p->window_size = 100;
    p->stat_size = 30;
    p->seed = 42;
}

dd_err kswin_params_check(const kswin_params *p, char **cause)
{
    if (!(p->alpha > 0.0 && p->alpha < 1.0))
        return dd_fail(cause, DD_EINVAL, "kswin: alpha must be in (0, 1), got %g", p->alpha);
    if (p->stat_size < 1)
        return dd_fail(cause, DD_EINVAL, "kswin: stat_size must be >= 1");
    if (p->window_size > 100000)
        return dd_fail(cause, DD_EINVAL, "kswin: window_size must be <= 100000, got %u",
                       p->window_size);
    if ((uint64_t)p->stat_size * 2 > p->window_size)
        return dd_fail(cause, DD_EINVAL,
                       "kswin: stat_size (%u) must be at most half of window_size (%u)",
                       p->stat_size, p->window_size);
    return DD_OK;
}

kswin *kswin_new(const kswin_params *p, char **cause)
{
    if (kswin_params_check(p, cause) != DD_OK)
        return NULL;
    kswin *k = calloc(1, sizeof *k);
    if (!k)
        goto fail;
    k->p = *p;
    k->ring = malloc(p->window_size * sizeof *k->ring);
    k->older = malloc(p->stat_size * sizeof *k->older);
    k->newer = malloc(p->stat_size * sizeof *k->newer);
    k->pool = malloc((p->window_size - p->stat_size) * sizeof *k->pool);
    k->offsets = malloc(p->stat_size * sizeof *k->offsets);
    if (!k->ring || !k->older || !k->newer || !k->pool || !k->offsets)
        goto fail;
    kswin_reset(k);
    return k;
fail:
    kswin_free(k);
    dd_fail(cause, DD_ENOMEM, "kswin: out of memory");
    return NULL;
}

void kswin_free(kswin *k)
{
    if (!k)
        return;
    free(k->ring);
    free(k->older);
    free(k->newer);
    free(k->pool);
    free(k->offsets);
    free(k);
}

void kswin_reset(kswin *k)
{
    rng_seed(&k->rng, k->p.seed);
    k->head = 0;
    k->count = 0;
    k->tested = false;
    k->statistic = 0.0;
    k->p_value = 1.0;
}

double kswin_ks_p_value(unsigned n, unsigned h)
{
    if (h == 0 || n == 0)
        return 1.0;
    /* P(D >= h/n) = 2 sum_{k>=1} (-1)^(k-1) C(2n, n - kh) / C(2n, n), evaluated
     * Horner-style from the smallest term: each ratio of consecutive terms
     * is a product of h simple fractions (no cancellation, no overflow). */
    double sum = 0.0;
    for (long k = n / h; k >= 0; k--) {
        double ratio = 1.0;
        for (unsigned j = 0; j < h; j++)
            ratio = (double)((long)n - k * h - j) * ratio / (double)((long)n + k * h + j + 1);
        sum = ratio * (1.0 - sum);
    }
    double p = 2.0 * sum;
    return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts n values: insertion sort for the usual small samples (no call per
 * comparison), qsort beyond. */
static void sort_values(double *v, size_t n)
{
    if (n > 64) {
        qsort(v, n, sizeof *v, cmp_double);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* The largest |F_a - F_b| times n, for two sorted samples of n values. */
static unsigned ks_gap(const double *a, const double *b, size_t n)
{
    size_t i = 0, j = 0;
    unsigned best = 0;
    while (i < n && j < n) {
        double v = a[i] < b[j] ? a[i] : b[j];
        while (i < n && a[i] <= v)
            i++;
        while (j < n && b[j] <= v)
            j++;
        unsigned gap = (unsigned)(i > j ? i - j : j - i);
        if (gap > best)
            best = gap;
    }
    return best;
}

static inline double window_at(const kswin *k, size_t offset)
{
    size_t i = k->head + offset;
    return k->ring[i >= k->p.window_size ? i - k->p.window_size : i];
}

static void draw_offsets(kswin *k)
{
    unsigned population = k->p.window_size - k->p.stat_size;
    for (unsigned i = 0; i < population; i++)
        k->pool[i] = i;
    for (unsigned i = 0; i < k->p.stat_size; i++) {
        unsigned j = (unsigned)rng_below(&k->rng, population - i);
        k->offsets[i] = k->pool[j];
        k->pool[j] = k->pool[population - i - 1];
    }
}

static void push(kswin *k, double x)
{
    size_t w = k->p.window_size;
    if (k->count < w) {
        size_t i = k->head + k->count;
        k->ring[i >= w ? i - w : i] = x;
        k->count++;
    } else {
        k->ring[k->head] = x;
        k->head = k->head + 1 == w ? 0 : k->head + 1;
    }
}

static bool test(kswin *k, const unsigned *offsets)
{
    size_t s = k->p.stat_size, w = k->p.window_size;
    for (size_t i = 0; i < s; i++) {
        k->older[i] = window_at(k, offsets[i]);
        k->newer[i] = window_at(k, w - s + i);
    }
    sort_values(k->older, s);
    sort_values(k->newer, s);
    unsigned h = ks_gap(k->older, k->newer, s);
    k->tested = true;
    k->statistic = h * 1.0 / (double)s;
    k->p_value = kswin_ks_p_value((unsigned)s, h);
    return k->p_value <= k->p.alpha && k->statistic > 0.1;
}

bool kswin_update_offsets(kswin *k, double x, const unsigned *offsets)
{
    push(k, x);
    k->tested = false;
    if (k->count < k->p.window_size)
        return false;
    return test(k, offsets);
}

bool kswin_update(kswin *k, double x)
{
    push(k, x);
    k->tested = false;
    if (k->count < k->p.window_size)
        return false;
    draw_offsets(k);
    return test(k, k->offsets);
}

bool kswin_tested(const kswin *k)
{
    return k->tested;
}

double kswin_statistic(const kswin *k)
{
    return k->statistic;
}

double kswin_p_value(const kswin *k)
{
    return k->p_value;
}

size_t kswin_count(const kswin *k)
{
    return k->count;
}

size_t kswin_memory(const kswin *k)
{
    size_t w = k->p.window_size, s = k->p.stat_size;
    return sizeof *k + w * sizeof(double) + 2 * s * sizeof(double) + (w - s) * sizeof(unsigned) +
           s * sizeof(unsigned);
}

/* ---- the drift.h kind "kswin" ---- */

static const drift_param_info kswin_param_table[] = {
    {"alpha", 0.005, 1e-300, 0.999999, "p-value at or below which the KS test signals drift"},
    {"window_size", 100, 2, 100000, "values kept in the sliding window"},
    {"stat_size", 30, 1, 50000, "values in each of the two samples compared"},
    {"seed", 42, 0, 9007199254740992.0, "seed of the sampler (reproducible draws)"},
    {NULL, 0, 0, 0, NULL},
};

static dd_err ops_create(const double *v, void **out, char **cause)
{
    kswin_params p = {
        .alpha = v[0],
        .window_size = (unsigned)v[1],
        .stat_size = (unsigned)v[2],
        .seed = (uint64_t)v[3],
    };
    dd_err err = kswin_params_check(&p, cause);
    if (err != DD_OK)
        return err;
    kswin *k = kswin_new(&p, cause);
    if (!k)
        return DD_ENOMEM;
    *out = k;
    return DD_OK;
}

static void ops_destroy(void *s)
{
    kswin_free(s);
}

static drift_state ops_update(void *s, double x)
{
    return kswin_update(s, x) ? DRIFT_DRIFT : DRIFT_NONE;
}

static void ops_reset(void *s)
{
    kswin_reset(s);
}

static size_t ops_memory(const void *s)
{
    return kswin_memory(s);
}

static double ops_statistic(const void *s)
{
    return kswin_statistic(s);
}

static int ops_explain(const void *s, char *buf, size_t n)
{
    const kswin *k = s;
    if (k->count < k->p.window_size)
        return snprintf(buf, n, "kswin: filling the window, %zu of %u values", k->count,
                        k->p.window_size);
    return snprintf(buf, n, "kswin: KS statistic %.4g, p-value %.4g (drift at p <= %g)",
                    k->statistic, k->p_value, k->p.alpha);
}

static size_t ops_values(const void *s, drift_value *out, size_t max)
{
    const kswin *k = s;
    const drift_value v[] = {
        {"statistic", k->statistic},
        {"p_value", k->p_value},
    };
    return drift_copy_values(v, DD_ARRAY_LEN(v), out, max);
}

static void ops_save(const void *s, ser_writer *w)
{
    const kswin *k = s;
    for (int i = 0; i < 4; i++)
        ser_put_u64(w, k->rng.s[i]);
    ser_put_u32(w, (uint32_t)k->count);
    for (size_t i = 0; i < k->count; i++)
        ser_put_f64(w, window_at(k, i));
    ser_put_u32(w, k->tested);
    ser_put_f64(w, k->statistic);
    ser_put_f64(w, k->p_value);
}

static bool ops_load(void *s, ser_reader *r)
{
    kswin *k = s;
    for (int i = 0; i < 4; i++)
        k->rng.s[i] = ser_get_u64(r);
    uint32_t count = ser_get_u32(r);
    if (r->failed || count > k->p.window_size)
        return false;
    k->head = 0;
    k->count = count;
    for (size_t i = 0; i < count; i++) {
        double x = ser_get_f64(r);
        /* update() ignores non-finite values, so a saved window never holds
         * one; a NaN would stall ks_gap()'s merge forever (found by fuzz_state) */
        if (!isfinite(x))
            return false;
        k->ring[i] = x;
    }
    uint32_t tested = ser_get_u32(r);
    k->tested = tested != 0;
    k->statistic = ser_get_f64(r);
    k->p_value = ser_get_f64(r);
    return tested <= 1 && (k->rng.s[0] | k->rng.s[1] | k->rng.s[2] | k->rng.s[3]) != 0;
}

const drift_ops drift_ops_kswin = {
    .kind = "kswin",
    .params = kswin_param_table,
    .int_params = 0xeu, /* window_size, stat_size, seed */
    .create = ops_create,
    .destroy = ops_destroy,
    .update = ops_update,
    .reset = ops_reset,
    .memory = ops_memory,
    .statistic = ops_statistic,
    .explain = ops_explain,
    .values = ops_values,
    .save = ops_save,
    .load = ops_load,
};
