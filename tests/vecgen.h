/*
 * vecgen.h: seeded test vectors for the knowledge-store tests and benchmark.
 *
 * vecgen_mixture(): unit vectors drawn from a Gaussian mixture, issue #9's
 * recipe: centres drawn N(0, 1) per dimension, a point is a centre plus
 * N(0, sigma^2) per dimension, then normalized. (Centres are not normalized
 * first: with unit centres and sigma 0.3 in 64 dimensions the noise, of norm
 * 2.4, swamps the centre and the "mixture" is nearly uniform, which the
 * uniform set already covers; see doc/PERFORMANCE.md.)
 * vecgen_uniform(): uniform directions, the known worst case for graph
 * indexes. vecgen_exact(): brute-force k nearest by cosine, for recall.
 */
#ifndef DD_VECGEN_H
#define DD_VECGEN_H

#include "rng.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static inline void vecgen_normalize(float *v, uint32_t dim)
{
    double s = 0;
    for (uint32_t j = 0; j < dim; j++)
        s += (double)v[j] * v[j];
    double inv = s > 0 ? 1.0 / sqrt(s) : 0;
    for (uint32_t j = 0; j < dim; j++)
        v[j] = (float)(v[j] * inv);
}

/* n vectors of dim into out (n*dim floats), from ncentres centres;
 * vecgen_mixture_unit() normalizes the centres first (the hard variant). */
static inline int vecgen_mixture_c(float *out, size_t n, uint32_t dim, uint32_t ncentres,
                                   double sigma, uint64_t seed, int unit_centres)
{
    rng_t r;
    rng_seed(&r, seed);
    float *c = malloc((size_t)ncentres * dim * sizeof *c);
    if (!c)
        return -1;
    for (size_t i = 0; i < (size_t)ncentres * dim; i++)
        c[i] = (float)rng_normal(&r);
    for (uint32_t i = 0; unit_centres && i < ncentres; i++)
        vecgen_normalize(c + (size_t)i * dim, dim);
    for (size_t i = 0; i < n; i++) {
        const float *ci = c + (size_t)rng_below(&r, ncentres) * dim;
        for (uint32_t j = 0; j < dim; j++)
            out[i * dim + j] = (float)(ci[j] + sigma * rng_normal(&r));
        vecgen_normalize(out + i * dim, dim);
    }
    free(c);
    return 0;
}

static inline int vecgen_mixture(float *out, size_t n, uint32_t dim, uint32_t ncentres,
                                 double sigma, uint64_t seed)
{
    return vecgen_mixture_c(out, n, dim, ncentres, sigma, seed, 0);
}

static inline int vecgen_mixture_unit(float *out, size_t n, uint32_t dim, uint32_t ncentres,
                                      double sigma, uint64_t seed)
{
    return vecgen_mixture_c(out, n, dim, ncentres, sigma, seed, 1);
}

static inline void vecgen_uniform(float *out, size_t n, uint32_t dim, uint64_t seed)
{
    rng_t r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < dim; j++)
            out[i * dim + j] = (float)rng_normal(&r);
        vecgen_normalize(out + i * dim, dim);
    }
}

static inline float vecgen_dot(const float *a, const float *b, uint32_t dim)
{
    float s = 0;
    for (uint32_t j = 0; j < dim; j++)
        s += a[j] * b[j];
    return s;
}

/* The k labels (row numbers) of base with the largest dot product with q,
 * best first, into top[k]. O(n k). Rows with alive[i] == 0 are skipped when
 * alive is not NULL. */
static inline void vecgen_exact(const float *base, size_t n, uint32_t dim, const float *q,
                                uint32_t k, const unsigned char *alive, uint64_t *top,
                                float *score)
{
    uint32_t have = 0;
    for (size_t i = 0; i < n; i++) {
        if (alive && !alive[i])
            continue;
        float s = vecgen_dot(base + i * dim, q, dim);
        if (have == k && s <= score[k - 1])
            continue;
        uint32_t p = have < k ? have++ : k - 1;
        while (p > 0 && score[p - 1] < s) {
            score[p] = score[p - 1];
            top[p] = top[p - 1];
            p--;
        }
        score[p] = s;
        top[p] = i;
    }
    for (uint32_t i = have; i < k; i++)
        top[i] = UINT64_MAX;
}

#endif
