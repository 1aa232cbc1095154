/*
 * adwin.h: ADWIN, adaptive windowing (Bifet & Gavalda, "Learning from
 * time-changing data with adaptive windowing", SDM 2007).
 *
 * Keeps a window of the most recent values as an exponential histogram: row r
 * holds up to max_buckets buckets of 2^r values each (their sum and the sum of
 * squared deviations), so a window of W values costs O(M log W) memory. Every
 * `clock` updates it tries each bucket boundary as a cut into an older and a
 * newer sub-window; when their means differ by more than the Hoeffding-type
 * bound eps_cut(delta), the oldest buckets are dropped: a drift.
 *
 * The cut search and the bound follow current River / MOA (River after PR
 * #1613, which visits every bucket of each row); see doc/DRIFT.md.
 * Pure computation: no I/O, no clock. An update allocates only when the window
 * needs a new histogram row (at most once per doubling of the width).
 */
#ifndef DD_ADWIN_H
#define DD_ADWIN_H

#include "dd.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct adwin_params {
    double delta;               /* confidence of a cut, in (0, 1) */
    unsigned clock;             /* look for cuts every `clock` updates, >= 1 */
    unsigned max_buckets;       /* M: buckets per row before the two oldest merge, >= 2 */
    unsigned min_window_length; /* both sub-windows of a cut hold at least this many values */
    unsigned grace_period;      /* no cut until the window holds more than this many values */
} adwin_params;

typedef struct adwin adwin;

/* River's defaults: delta 0.002, clock 32, max_buckets 5, min_window_length 5,
 * grace_period 10. This function can't fail. */
void adwin_params_default(adwin_params *p);

/* DD_EINVAL (with *cause) if a parameter is out of range. */
dd_err adwin_params_check(const adwin_params *p, char **cause);

/* Returns a new, empty ADWIN (copies p), or NULL with *cause set (bad
 * parameters, no memory). Free with adwin_free(). */
adwin *adwin_new(const adwin_params *p, char **cause);
void adwin_free(adwin *a);

/* Adds x to the window, then (every clock updates) drops old buckets while a
 * cut is significant. Returns true when the window shrank (a drift). O(1)
 * amortized plus O(M log W) per check. x must be finite (the caller filters). */
bool adwin_update(adwin *a, double x);

/* Empties the window and the check clock; parameters stay. Keeps its memory. */
void adwin_reset(adwin *a);

/* The window's width (number of values), mean and variance (the sum of squared
 * deviations divided by the width); 0 for an empty window. */
double adwin_width(const adwin *a);
double adwin_mean(const adwin *a);
double adwin_variance(const adwin *a);

/* The sum of the values in the window and the internal sum of squared
 * deviations (River's `total` and `variance`), for checks against traces. */
double adwin_total(const adwin *a);
double adwin_sum_sq_dev(const adwin *a);

/* Number of buckets and of histogram rows in use. */
size_t adwin_buckets(const adwin *a);
size_t adwin_rows(const adwin *a);

/* Bytes held: the struct and its histogram arrays. */
size_t adwin_memory(const adwin *a);

/* Updates that could not grow the histogram (no memory) and dropped the oldest
 * bucket instead; 0 in normal operation. */
unsigned long adwin_dropped(const adwin *a);

#endif
