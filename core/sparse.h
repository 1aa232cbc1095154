/*
 * sparse.h: the sparse input vector that the feature pipeline hands to models.
 *
 * Index/value pairs, indices below the model's input dimension. An index may
 * repeat (two categorical values hashed into one bucket): a model reads the
 * vector as the sum of its pairs. A vector is filled once per event and read by every live
 * model, so cost follows the event's non-zero coordinates, not the dimension.
 * The caller owns idx/val; sparse_reserve() grows them.
 */
#ifndef DD_SPARSE_H
#define DD_SPARSE_H

#include "dd.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct dd_sparse {
    uint32_t n;   /* pairs in use */
    uint32_t cap; /* pairs allocated */
    uint32_t *idx;
    double *val;
} dd_sparse;

/* Make room for at least cap pairs, keeping the first n. On failure the
 * vector is unchanged and DD_ENOMEM is returned. */
static inline dd_err sparse_reserve(dd_sparse *v, uint32_t cap)
{
    if (cap <= v->cap)
        return DD_OK;
    uint32_t *idx = realloc(v->idx, (size_t)cap * sizeof *idx);
    if (!idx)
        return DD_ENOMEM;
    v->idx = idx;
    double *val = realloc(v->val, (size_t)cap * sizeof *val);
    if (!val)
        return DD_ENOMEM;
    v->val = val;
    v->cap = cap;
    return DD_OK;
}

/* Append one pair; the caller has reserved room. */
static inline void sparse_push(dd_sparse *v, uint32_t i, double x)
{
    v->idx[v->n] = i;
    v->val[v->n] = x;
    v->n++;
}

static inline void sparse_clear(dd_sparse *v)
{
    v->n = 0;
}

static inline void sparse_free(dd_sparse *v)
{
    free(v->idx);
    free(v->val);
    v->idx = NULL;
    v->val = NULL;
    v->n = v->cap = 0;
}

#endif
