/*
 * drift_impl.h: what a detector kind gives drift.c (private to the drift
 * layer: core/drift*.c, core/adwin.c, core/pagehinkley.c, core/ddm.c,
 * core/kswin.c).
 *
 * A kind is a const table of functions over an opaque state, in the style of
 * htop's panel classes. drift.c owns the parameter values (validated against
 * the kind's table, integers checked) and the "reset on the update after a
 * drift" rule that every River detector follows, so a kind only implements
 * its algorithm.
 */
#ifndef DD_DRIFT_IMPL_H
#define DD_DRIFT_IMPL_H

#include "drift.h"

#include <stdbool.h>

#define DRIFT_MAX_PARAMS 8

typedef struct drift_ops {
    const char *kind;
    const drift_param_info *params; /* NULL-name terminated, at most DRIFT_MAX_PARAMS */
    unsigned int_params;            /* bit i set: params[i] must be an integer */
    /* A new state in *out from parameter values in table order (already
     * range-checked); on error *out is unchanged and *cause set. */
    dd_err (*create)(const double *values, void **out, char **cause);
    void (*destroy)(void *state);
    drift_state (*update)(void *state, double x);
    void (*reset)(void *state);
    size_t (*memory)(const void *state);
    double (*statistic)(const void *state);
    int (*explain)(const void *state, char *buf, size_t n);
    size_t (*values)(const void *state, drift_value *out, size_t max);
    /* The algorithm's state (not the parameters); load fills a state just
     * made from the saved parameters and returns false if what it read is
     * inconsistent (the reader's own failure is checked by the caller). */
    void (*save)(const void *state, ser_writer *w);
    bool (*load)(void *state, ser_reader *r);
    /* Optional (NULL: 0): ADWIN's window. */
    double (*width)(const void *state);
    double (*mean)(const void *state);
} drift_ops;

/* Copies min(n, max) values to out; returns the number copied. */
size_t drift_copy_values(const drift_value *v, size_t n, drift_value *out, size_t max);

extern const drift_ops drift_ops_adwin;
extern const drift_ops drift_ops_pagehinkley;
extern const drift_ops drift_ops_ddm;
extern const drift_ops drift_ops_eddm;
extern const drift_ops drift_ops_kswin;

#endif
