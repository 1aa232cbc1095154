/*
 * learn_util.h: small helpers shared by the learning layer's tests
 * (header-only, static: each test program includes it once).
 */
#ifndef DD_LEARN_UTIL_H
#define DD_LEARN_UTIL_H

#include "model_impl.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* |a - b| <= tol * (1 + |b|), else fail with both values. */
static inline void assert_close(double a, double b, double tol)
{
    if (!(fabs(a - b) <= tol * (1.0 + fabs(b))))
        fail_msg("%.12g != %.12g (tolerance %g)", a, b, tol);
}

static inline void make_input(dd_sparse *x, const uint32_t *idx, const double *val, uint32_t n)
{
    memset(x, 0, sizeof *x);
    assert_int_equal(sparse_reserve(x, n > 0 ? n : 1), DD_OK);
    for (uint32_t i = 0; i < n; i++)
        sparse_push(x, idx[i], val[i]);
}

/* Fill every weight of block bi with N(0, scale^2) values. */
static inline void randomize_block(model *m, uint32_t bi, double scale, uint64_t seed)
{
    rng_t r;
    rng_seed(&r, seed);
    pblock *b = &m->b[bi];
    for (size_t k = 0; k < (size_t)b->rows * b->stride; k++)
        b->w[k] = scale * rng_normal(&r);
}

/* A linearly separable stream in 2 dimensions: y = [x0 + 2 x1 > 0.3]. */
static inline double separable(rng_t *r, dd_sparse *x)
{
    sparse_clear(x);
    double a = 2 * rng_uniform(r) - 1, b = 2 * rng_uniform(r) - 1;
    sparse_push(x, 0, a);
    sparse_push(x, 1, b);
    return a + 2 * b > 0.3 ? 1.0 : 0.0;
}

#endif
