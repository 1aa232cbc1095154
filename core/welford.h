/*
 * welford.h: running mean and variance in one pass (Welford 1962), the
 * numerically stable update: no catastrophic cancellation for large means.
 */
#ifndef DD_WELFORD_H
#define DD_WELFORD_H

#include <math.h>
#include <stdint.h>

typedef struct welford {
    uint64_t n;
    double mean;
    double m2; /* sum of squared deviations from the mean */
} welford;

static inline void welford_add(welford *w, double x)
{
    w->n++;
    double d = x - w->mean;
    w->mean += d / (double)w->n;
    w->m2 += d * (x - w->mean);
}

/* Population variance (divides by n), as River's StandardScaler; 0 when n < 2. */
static inline double welford_var(const welford *w)
{
    return w->n > 1 ? w->m2 / (double)w->n : 0.0;
}

/* Sample variance (divides by n - 1); 0 when n < 2. */
static inline double welford_sample_var(const welford *w)
{
    return w->n > 1 ? w->m2 / (double)(w->n - 1) : 0.0;
}

#endif
