/*
 * kswin.h: KSWIN, Kolmogorov-Smirnov windowing (Raab, Heusinger & Schleif
 * 2020, "Reactive soft prototype computing for concept drift streams").
 *
 * Keeps the last window_size values in a ring. Once the window is full, every
 * update compares the newest stat_size values with stat_size values drawn
 * without replacement from the older window_size - stat_size, by a two-sample
 * Kolmogorov-Smirnov test with the exact two-sided p-value (the formula scipy's
 * ks_2samp uses for equal sample sizes). Drift when p <= alpha and the
 * statistic exceeds 0.1 (as River does). O(window_size) memory;
 * O(stat_size log stat_size) per update. Draws come from a seeded rng
 * (re-seeded on reset), or from offsets the caller gives, which lets a test
 * replay the draws River recorded.
 */
#ifndef DD_KSWIN_H
#define DD_KSWIN_H

#include "dd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kswin_params {
    double alpha;         /* p-value at or below which a drift is signalled, (0, 1) */
    unsigned window_size; /* values kept, > stat_size */
    unsigned stat_size;   /* values in each sample of the test, >= 1, <= window_size / 2 */
    uint64_t seed;        /* of the sampler */
} kswin_params;

typedef struct kswin kswin;

/* River's defaults: alpha 0.005, window_size 100, stat_size 30, seed 42. */
void kswin_params_default(kswin_params *p);
dd_err kswin_params_check(const kswin_params *p, char **cause);

/* Returns a new, empty KSWIN (copies p) or NULL with *cause set. Free with
 * kswin_free(). */
kswin *kswin_new(const kswin_params *p, char **cause);
void kswin_free(kswin *k);

/* Adds x; once the window is full, tests it with the seeded sampler.
 * Returns true on a drift. */
bool kswin_update(kswin *k, double x);

/* As kswin_update(), but the older sample is the stat_size values at the
 * given offsets into the window (0 = oldest; each < window_size - stat_size;
 * distinct), and the rng is not used. offsets may be NULL while the window is
 * not yet full. */
bool kswin_update_offsets(kswin *k, double x, const unsigned *offsets);

/* Empties the window and re-seeds the sampler. */
void kswin_reset(kswin *k);

/* True if the last update ran a test; its statistic (D) and p-value. Before the
 * first test: false, 0 and 1. */
bool kswin_tested(const kswin *k);
double kswin_statistic(const kswin *k);
double kswin_p_value(const kswin *k);

/* Values in the window (<= window_size). */
size_t kswin_count(const kswin *k);

/* Bytes held: the struct, the window and the scratch arrays. */
size_t kswin_memory(const kswin *k);

/* The exact probability that two samples of n values each from one
 * distribution differ by D >= h / n (Kolmogorov-Smirnov, two-sided), by the
 * alternating binomial series scipy uses. 1 for h == 0. This function can't
 * fail. */
double kswin_ks_p_value(unsigned n, unsigned h);

#endif
