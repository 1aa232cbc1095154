/*
 * sumtree.h: a fixed-capacity sum-tree (and min-tree) over non-negative
 * priorities, for prioritized replay (Schaul et al. 2015, appendix B.2.1).
 *
 * Leaves hold priorities; each inner node holds the sum (and the minimum of
 * the positive leaves) of its subtree, in one array laid out as an implicit
 * binary heap over a power-of-two number of leaves. Setting a leaf and
 * finding the leaf where a prefix sum is crossed are O(log n). A parent is
 * always recomputed from its two children, never adjusted by a difference,
 * so rounding error does not accumulate however long the stream.
 */
#ifndef DD_SUMTREE_H
#define DD_SUMTREE_H

#include "dd.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sumtree sumtree;

/* Returns a tree of `capacity` leaves, all 0, or NULL on no memory
 * (capacity 0 or above 2^30 is refused too). Free with sumtree_free(). */
sumtree *sumtree_new(uint32_t capacity);
void sumtree_free(sumtree *t);

uint32_t sumtree_capacity(const sumtree *t);

/* Set leaf i (< capacity) to p (finite, >= 0; anything else counts as 0). O(log n). */
void sumtree_set(sumtree *t, uint32_t i, double p);
double sumtree_get(const sumtree *t, uint32_t i);

/* Sum of all leaves. O(1). */
double sumtree_total(const sumtree *t);

/* Smallest positive leaf, or 0 if every leaf is 0. O(1). */
double sumtree_min(const sumtree *t);

/* The leaf i such that the sum of leaves before i is <= u < that sum plus
 * leaf i, for u in [0, total); u outside is clamped. Never returns a leaf of
 * priority 0 while the total is positive. O(log n). */
uint32_t sumtree_find(const sumtree *t, double u);

/* Set every leaf to 0. O(n). */
void sumtree_clear(sumtree *t);

/* Bytes held. */
size_t sumtree_memory(const sumtree *t);

#endif
