/*
 * adwin.c: ADWIN over an exponential histogram (see adwin.h).
 *
 * Layout: row r of the histogram holds count[r] <= M+1 buckets of 2^r values,
 * oldest first; row 0 is the newest. Bucket k of row r lives at index
 * r * (M + 1) + k of `sum` (the bucket's total) and `ssd` (its sum of squared
 * deviations from its own mean). A new value is a bucket of row 0; when a row
 * reaches M+1 buckets its two oldest merge into one bucket of the next row
 * (Chan et al.'s pairwise variance update). The whole window's total and sum
 * of squared deviations are kept incrementally (Welford), so width, mean and
 * variance cost O(1) to read.
 *
 * The cut search (every `clock` updates, once the width exceeds the grace
 * period) walks the buckets from the oldest, moving each from the newer
 * sub-window W1 to the older W0, and cuts when
 *     |mean(W0) - mean(W1)| > sqrt(2 m V d') + 2/3 d' m,
 *     m = 1/(n0 - L + 1) + 1/(n1 - L + 1), d' = ln(2 ln(W) / delta),
 * with V the window's variance and L the minimum window length: this is the
 * bound of Bifet & Gavalda's ADWIN2 as River and MOA implement it. A cut drops
 * the oldest bucket and searches again. The floating-point operations are in
 * the same order as River's so that detections replay exactly.
 */
#include "adwin.h"
#include "drift_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#define ADWIN_MAX_ROWS 62 /* 2^62 values: never reached, bounds the arrays */
#define ADWIN_INITIAL_ROWS 8

struct adwin {
    adwin_params p;
    unsigned stride;      /* M + 1 slots per row */
    unsigned rows;        /* rows in use */
    unsigned rows_cap;    /* rows allocated */
    unsigned *count;      /* buckets in each row */
    double *sum;          /* bucket totals, rows_cap * stride */
    double *ssd;          /* bucket sums of squared deviations, rows_cap * stride */
    size_t buckets;       /* buckets in use, all rows */
    double width;         /* values in the window */
    double total;         /* their sum */
    double variance;      /* their sum of squared deviations (River's `variance`) */
    uint64_t until_check; /* updates left before the next cut search (the clock) */
    unsigned long dropped;
};

void adwin_params_default(adwin_params *p)
{
    p->delta = 0.002;
    p->clock = 32;
    p->max_buckets = 5;
    p->min_window_length = 5;
    p->grace_period = 10;
}

dd_err adwin_params_check(const adwin_params *p, char **cause)
{
    if (!(p->delta > 0.0 && p->delta < 1.0))
        return dd_fail(cause, DD_EINVAL, "adwin: delta must be in (0, 1), got %g", p->delta);
    if (p->clock < 1)
        return dd_fail(cause, DD_EINVAL, "adwin: clock must be >= 1, got %u", p->clock);
    if (p->max_buckets < 2 || p->max_buckets > 1000)
        return dd_fail(cause, DD_EINVAL, "adwin: max_buckets must be in [2, 1000], got %u",
                       p->max_buckets);
    if (p->min_window_length < 1)
        return dd_fail(cause, DD_EINVAL, "adwin: min_window_length must be >= 1, got %u",
                       p->min_window_length);
    return DD_OK;
}

static inline double bucket_size(unsigned row)
{
    return (double)((uint64_t)1 << row);
}

/* 1 / 2^row. Multiplying by it equals dividing by 2^row bit for bit (both are
 * the correctly rounded exact quotient), and costs far less. */
static inline double bucket_inverse(unsigned row)
{
    return ldexp(1.0, -(int)row);
}

/* Moves the first c slots of a row down by `by` (rows are at most M+1 long:
 * a loop beats a call to memmove). */
static inline void shift_down(double *v, unsigned c, unsigned by)
{
    for (unsigned i = 0; i < c; i++)
        v[i] = v[i + by];
}

/* Grows the arrays to hold `want` rows. Returns false (nothing changed) if
 * memory runs out. */
static bool grow_rows(adwin *a, unsigned want)
{
    if (want <= a->rows_cap)
        return true;
    if (want > ADWIN_MAX_ROWS)
        return false;
    unsigned cap = a->rows_cap ? a->rows_cap : ADWIN_INITIAL_ROWS;
    while (cap < want)
        cap *= 2;
    if (cap > ADWIN_MAX_ROWS)
        cap = ADWIN_MAX_ROWS;
    size_t slots = (size_t)cap * a->stride;
    unsigned *count = realloc(a->count, cap * sizeof *count);
    if (!count)
        return false;
    a->count = count;
    double *sum = realloc(a->sum, slots * sizeof *sum);
    if (!sum)
        return false;
    a->sum = sum;
    double *ssd = realloc(a->ssd, slots * sizeof *ssd);
    if (!ssd)
        return false;
    a->ssd = ssd;
    for (unsigned r = a->rows_cap; r < cap; r++)
        count[r] = 0;
    a->rows_cap = cap;
    return true;
}

adwin *adwin_new(const adwin_params *p, char **cause)
{
    if (adwin_params_check(p, cause) != DD_OK)
        return NULL;
    adwin *a = calloc(1, sizeof *a);
    if (!a)
        goto fail;
    a->p = *p;
    a->until_check = p->clock;
    a->stride = p->max_buckets + 1;
    if (!grow_rows(a, ADWIN_INITIAL_ROWS))
        goto fail;
    return a;
fail:
    adwin_free(a);
    dd_fail(cause, DD_ENOMEM, "adwin: out of memory");
    return NULL;
}

void adwin_free(adwin *a)
{
    if (!a)
        return;
    free(a->count);
    free(a->sum);
    free(a->ssd);
    free(a);
}

void adwin_reset(adwin *a)
{
    for (unsigned r = 0; r < a->rows; r++)
        a->count[r] = 0;
    a->rows = 0;
    a->buckets = 0;
    a->width = 0.0;
    a->total = 0.0;
    a->variance = 0.0;
    a->until_check = a->p.clock;
}

/* Removes the oldest bucket (the first of the last row) from the window. */
static void drop_oldest(adwin *a)
{
    unsigned r = a->rows - 1;
    double *sum = a->sum + (size_t)r * a->stride;
    double *ssd = a->ssd + (size_t)r * a->stride;
    double n = bucket_size(r);
    double u = sum[0];
    double mu = u * bucket_inverse(r); /* u / n */
    double v = ssd[0];

    a->width -= n;
    a->total -= u;
    double mu_window = a->total / a->width;
    a->variance -= v + n * a->width * (mu - mu_window) * (mu - mu_window) / (n + a->width);

    unsigned c = --a->count[r];
    shift_down(sum, c, 1);
    shift_down(ssd, c, 1);
    a->buckets--;
    if (c == 0)
        a->rows--;
}

/* Merges the two oldest buckets of every full row into the next row. */
static void compress(adwin *a)
{
    for (unsigned r = 0; r < a->rows && a->count[r] > a->p.max_buckets; r++) {
        if (r + 1 == a->rows && !grow_rows(a, a->rows + 1)) {
            /* No memory for a new row: forget the two oldest buckets instead. */
            drop_oldest(a);
            drop_oldest(a);
            a->dropped++;
            return;
        }
        double *sum = a->sum + (size_t)r * a->stride;
        double *ssd = a->ssd + (size_t)r * a->stride;
        /* River: n1 n2 (mu1 - mu2)^2 / (n1 + n2), n1 = n2 = 2^r; the divisions
         * by powers of two are multiplications by their exact inverses. */
        double n1 = bucket_size(r), n2 = n1, inv = bucket_inverse(r);
        double mu1 = sum[0] * inv, mu2 = sum[1] * inv;
        double between = n1 * n2 * (mu1 - mu2) * (mu1 - mu2) * (0.5 * inv);
        double merged_ssd = ssd[0] + ssd[1] + between;
        double merged_sum = sum[0] + sum[1];

        if (r + 1 == a->rows)
            a->rows++;
        unsigned k = a->count[r + 1]++;
        a->sum[(size_t)(r + 1) * a->stride + k] = merged_sum;
        a->ssd[(size_t)(r + 1) * a->stride + k] = merged_ssd;
        a->buckets++;

        unsigned c = a->count[r] -= 2;
        shift_down(sum, c, 2);
        shift_down(ssd, c, 2);
        a->buckets -= 2;
    }
}

static void insert(adwin *a, double x)
{
    a->width += 1.0;
    if (a->width > 1.0) {
        double d = x - a->total / (a->width - 1.0);
        a->variance += (a->width - 1.0) * d * d / a->width;
    }
    a->total += x;

    if (a->rows == 0)
        a->rows = 1;
    unsigned k = a->count[0]++;
    a->sum[k] = x;
    a->ssd[k] = 0.0;
    a->buckets++;
    if (a->count[0] > a->p.max_buckets)
        compress(a);
}

/* True when the cut (n0, u0 | n1, u1) certainly fails the test in
 * significant(): it uses eps >= sqrt(a^2 + b^2) for eps = a + b, multiplied
 * out so that it needs no division or square root, with a margin of 1e-6 far
 * above its rounding error. Anything it cannot rule out (including overflow
 * to inf or NaN) goes to the exact test, so results do not change. */
static inline bool surely_no_cut(double n0, double u0, double n1, double u1, double offset,
                                 double two_v_dp, double dp2_4_9)
{
    double num = u0 * n1 - u1 * n0; /* dm = num / (n0 n1) */
    double den = (n0 - offset) * (n1 - offset);
    double s = n0 + n1 - 2.0 * offset; /* m = s / den */
    double n01 = n0 * n1;
    double lhs = num * num * den * den;
    double rhs = n01 * n01 * (two_v_dp * s * den + dp2_4_9 * s * s);
    return lhs < rhs * (1.0 - 1e-6);
}

/* The exact test, in River's order of operations. */
static inline bool significant(double n0, double u0, double n1, double u1, double offset,
                               double var_w, double d_prime)
{
    double dm = u0 / n0 - u1 / n1;
    double m = 1.0 / (n0 - offset) + 1.0 / (n1 - offset);
    double eps = sqrt(2.0 * m * var_w * d_prime) + 2.0 / 3.0 * d_prime * m;
    return fabs(dm) > eps;
}

/* One pass of the cut search. Returns true if it found a cut (and dropped the
 * oldest bucket). O(buckets); most candidates cost a few multiplications. */
static bool find_cut(adwin *a)
{
    const double min_len = a->p.min_window_length;
    const double offset = min_len - 1.0;
    const double d_prime = log(2.0 * log(a->width) / a->p.delta);
    const double var_w = a->variance / a->width;
    const double two_v_dp = 2.0 * var_w * d_prime;
    const double dp2_4_9 = 4.0 / 9.0 * d_prime * d_prime;
    double n0 = 0.0, n1 = a->width, u0 = 0.0, u1 = a->total;

    for (unsigned r = a->rows; r-- > 0;) {
        const double n2 = bucket_size(r);
        const double *sum = a->sum + (size_t)r * a->stride;
        const unsigned c = a->count[r];
        for (unsigned k = 0; k < c; k++) {
            n0 += n2;
            n1 -= n2;
            u0 += sum[k];
            u1 -= sum[k];
            if (r == 0 && k == c - 1)
                return false; /* W1 is empty: every cut was tried */
            if (n1 < min_len || n0 < min_len)
                continue;
            if (surely_no_cut(n0, u0, n1, u1, offset, two_v_dp, dp2_4_9))
                continue;
            if (significant(n0, u0, n1, u1, offset, var_w, d_prime)) {
                drop_oldest(a);
                return true;
            }
        }
    }
    return false;
}

bool adwin_update(adwin *a, double x)
{
    insert(a, x);
    if (--a->until_check != 0)
        return false;
    a->until_check = a->p.clock; /* a search at every clock-th update since the reset */
    if (!(a->width > a->p.grace_period))
        return false;
    bool cut = false;
    while (a->width > 0.0 && find_cut(a))
        cut = true;
    return cut;
}

double adwin_width(const adwin *a)
{
    return a->width;
}

double adwin_mean(const adwin *a)
{
    return a->width > 0.0 ? a->total / a->width : 0.0;
}

double adwin_variance(const adwin *a)
{
    return a->width > 0.0 ? a->variance / a->width : 0.0;
}

double adwin_total(const adwin *a)
{
    return a->total;
}

double adwin_sum_sq_dev(const adwin *a)
{
    return a->variance;
}

size_t adwin_buckets(const adwin *a)
{
    return a->buckets;
}

size_t adwin_rows(const adwin *a)
{
    return a->rows;
}

size_t adwin_memory(const adwin *a)
{
    return sizeof *a + a->rows_cap * (sizeof *a->count + 2 * a->stride * sizeof(double));
}

unsigned long adwin_dropped(const adwin *a)
{
    return a->dropped;
}

/* ---- the drift.h kind "adwin" ---- */

static const drift_param_info adwin_param_table[] = {
    {"delta", 0.002, 1e-300, 0.999999,
     "confidence of a cut: smaller means fewer, later detections"},
    {"clock", 32, 1, 1e6, "look for a cut every this many values"},
    {"max_buckets", 5, 2, 1000, "buckets per histogram row (M): more is finer cuts, more memory"},
    {"min_window_length", 5, 1, 1e9, "least values on each side of a cut"},
    /* at most UINT_MAX: adwin_params holds it in an unsigned (fuzz_state found 1e12 cast) */
    {"grace_period", 10, 0, 4294967295.0,
     "no cut until the window holds more than this many values"},
    {NULL, 0, 0, 0, NULL},
};

static dd_err ops_create(const double *v, void **out, char **cause)
{
    adwin_params p = {
        .delta = v[0],
        .clock = (unsigned)v[1],
        .max_buckets = (unsigned)v[2],
        .min_window_length = (unsigned)v[3],
        .grace_period = (unsigned)v[4],
    };
    dd_err err = adwin_params_check(&p, cause);
    if (err != DD_OK)
        return err;
    adwin *a = adwin_new(&p, cause);
    if (!a)
        return DD_ENOMEM;
    *out = a;
    return DD_OK;
}

static void ops_destroy(void *s)
{
    adwin_free(s);
}

static drift_state ops_update(void *s, double x)
{
    return adwin_update(s, x) ? DRIFT_DRIFT : DRIFT_NONE;
}

static void ops_reset(void *s)
{
    adwin_reset(s);
}

static size_t ops_memory(const void *s)
{
    return adwin_memory(s);
}

static double ops_width(const void *s)
{
    return adwin_width(s);
}

static double ops_mean(const void *s)
{
    return adwin_mean(s);
}

static int ops_explain(const void *s, char *buf, size_t n)
{
    const adwin *a = s;
    return snprintf(buf, n, "adwin: window %.0f values, mean %.4g, variance %.4g (%zu buckets)",
                    a->width, adwin_mean(a), adwin_variance(a), a->buckets);
}

static size_t ops_values(const void *s, drift_value *out, size_t max)
{
    const adwin *a = s;
    const drift_value v[] = {
        {"width", a->width},
        {"mean", adwin_mean(a)},
        {"variance", adwin_variance(a)},
    };
    return drift_copy_values(v, DD_ARRAY_LEN(v), out, max);
}

static void ops_save(const void *s, ser_writer *w)
{
    const adwin *a = s;
    ser_put_u32(w, a->rows);
    for (unsigned r = 0; r < a->rows; r++) {
        ser_put_u32(w, a->count[r]);
        for (unsigned k = 0; k < a->count[r]; k++) {
            ser_put_f64(w, a->sum[(size_t)r * a->stride + k]);
            ser_put_f64(w, a->ssd[(size_t)r * a->stride + k]);
        }
    }
    ser_put_f64(w, a->width);
    ser_put_f64(w, a->total);
    ser_put_f64(w, a->variance);
    ser_put_u64(w, a->until_check);
    ser_put_u64(w, a->dropped);
}

/* Reads a histogram; checks that its shape is one ADWIN can reach (rows of
 * at most M buckets, the last one not empty, the width their total size). */
static bool ops_load(void *s, ser_reader *r)
{
    adwin *a = s;
    uint32_t rows = ser_get_u32(r);
    if (r->failed || rows > ADWIN_MAX_ROWS || !grow_rows(a, rows))
        return false;
    double width = 0.0;
    size_t buckets = 0;
    for (unsigned row = 0; row < rows; row++) {
        uint32_t c = ser_get_u32(r);
        if (r->failed || c > a->p.max_buckets || (row + 1 == rows && c == 0))
            return false;
        a->count[row] = c;
        for (unsigned k = 0; k < c; k++) {
            a->sum[(size_t)row * a->stride + k] = ser_get_f64(r);
            a->ssd[(size_t)row * a->stride + k] = ser_get_f64(r);
        }
        width += c * bucket_size(row);
        buckets += c;
    }
    a->rows = rows;
    a->buckets = buckets;
    a->width = ser_get_f64(r);
    a->total = ser_get_f64(r);
    a->variance = ser_get_f64(r);
    a->until_check = ser_get_u64(r);
    a->dropped = (unsigned long)ser_get_u64(r);
    return !r->failed && a->width == width && isfinite(a->total) && isfinite(a->variance) &&
           a->until_check >= 1 && a->until_check <= a->p.clock;
}

const drift_ops drift_ops_adwin = {
    .kind = "adwin",
    .params = adwin_param_table,
    .int_params = 0x1eu, /* clock, max_buckets, min_window_length, grace_period */
    .create = ops_create,
    .destroy = ops_destroy,
    .update = ops_update,
    .reset = ops_reset,
    .memory = ops_memory,
    .statistic = ops_width,
    .explain = ops_explain,
    .values = ops_values,
    .save = ops_save,
    .load = ops_load,
    .width = ops_width,
    .mean = ops_mean,
};
