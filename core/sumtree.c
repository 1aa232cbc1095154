/*
 * sumtree.c: see sumtree.h. Node 1 is the root, node k has children 2k and
 * 2k + 1, leaves are nodes size .. 2 size - 1.
 */
#include "sumtree.h"

#include <math.h>
#include <stdlib.h>

struct sumtree {
    uint32_t capacity, size; /* size: leaves allocated, a power of two */
    double *sum;             /* 2 size nodes */
    double *mn;              /* min of positive leaves; INFINITY for none */
};

sumtree *sumtree_new(uint32_t capacity)
{
    if (capacity == 0 || capacity > (1u << 30))
        return NULL;
    sumtree *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->capacity = capacity;
    t->size = 1;
    while (t->size < capacity)
        t->size *= 2;
    t->sum = calloc(2 * (size_t)t->size, sizeof *t->sum);
    t->mn = malloc(2 * (size_t)t->size * sizeof *t->mn);
    if (!t->sum || !t->mn) {
        sumtree_free(t);
        return NULL;
    }
    sumtree_clear(t);
    return t;
}

void sumtree_free(sumtree *t)
{
    if (!t)
        return;
    free(t->sum);
    free(t->mn);
    free(t);
}

uint32_t sumtree_capacity(const sumtree *t)
{
    return t->capacity;
}

void sumtree_clear(sumtree *t)
{
    for (size_t k = 0; k < 2 * (size_t)t->size; k++) {
        t->sum[k] = 0.0;
        t->mn[k] = INFINITY;
    }
}

void sumtree_set(sumtree *t, uint32_t i, double p)
{
    if (i >= t->capacity)
        return;
    if (!(p > 0.0) || !isfinite(p))
        p = 0.0;
    size_t k = (size_t)t->size + i;
    t->sum[k] = p;
    t->mn[k] = p > 0.0 ? p : INFINITY;
    for (k /= 2; k >= 1; k /= 2) {
        t->sum[k] = t->sum[2 * k] + t->sum[2 * k + 1];
        double a = t->mn[2 * k], b = t->mn[2 * k + 1];
        t->mn[k] = a < b ? a : b;
    }
}

double sumtree_get(const sumtree *t, uint32_t i)
{
    return i < t->capacity ? t->sum[(size_t)t->size + i] : 0.0;
}

double sumtree_total(const sumtree *t)
{
    return t->sum[1];
}

double sumtree_min(const sumtree *t)
{
    return isfinite(t->mn[1]) ? t->mn[1] : 0.0;
}

uint32_t sumtree_find(const sumtree *t, double u)
{
    if (!(u > 0.0))
        u = 0.0;
    size_t k = 1;
    while (k < t->size) {
        double left = t->sum[2 * k];
        /* go right only when the right subtree has mass: rounding in u
         * never lands on an empty leaf */
        if (u >= left && t->sum[2 * k + 1] > 0.0) {
            u -= left;
            k = 2 * k + 1;
        } else {
            k = 2 * k;
        }
    }
    return (uint32_t)(k - t->size);
}

size_t sumtree_memory(const sumtree *t)
{
    return sizeof *t + 4 * (size_t)t->size * sizeof(double);
}
