/*
 * drift.h: one interface over every drift detector.
 *
 * A detector watches a stream of numbers (0/1 errors, absolute errors,
 * prediction means, a feature's values) and reports, after each value, none,
 * warning or drift. Detectors are made by name ("adwin", "pagehinkley", "ddm",
 * "eddm", "kswin") with their published defaults; parameters are set by the
 * names the configuration uses. After a drift a detector restarts as its
 * algorithm specifies, by itself. Pure computation: no I/O, no clock, no
 * threads; randomness only through a seeded rng.
 */
#ifndef DD_DRIFT_H
#define DD_DRIFT_H

#include "dd.h"
#include "serial.h"

#include <stddef.h>

typedef enum drift_state { DRIFT_NONE = 0, DRIFT_WARNING = 1, DRIFT_DRIFT = 2 } drift_state;

typedef struct drift_detector drift_detector;

/* A detector's tunable parameter, for --help-config, the console and `detect`. */
typedef struct drift_param_info {
    const char *name;
    double def, min, max; /* allowed range, inclusive */
    const char *help;
} drift_param_info;

/* Returns a new detector of the named kind with default parameters, or NULL
 * with *cause set (unknown kind, no memory). Free with drift_free(). */
drift_detector *drift_new(const char *kind, char **cause);
void drift_free(drift_detector *d);

/* Set a parameter by its configuration name. DD_ENOTFOUND for an unknown name,
 * DD_EINVAL out of range; the detector is unchanged on error. Resets the
 * detector's state (parameters are set before the stream starts). */
dd_err drift_set_param(drift_detector *d, const char *name, double value, char **cause);

/* Sets several parameters at once (for parameters that constrain each other,
 * such as eddm's alpha >= beta or kswin's stat_size <= window_size / 2):
 * each is checked as by drift_set_param(), then the detector is rebuilt once.
 * On error the detector is unchanged. */
dd_err drift_set_params(drift_detector *d, const char *const *names, const double *values, size_t n,
                        char **cause);

/* The parameter table of a kind (NULL-name terminated), or NULL if unknown. */
const drift_param_info *drift_params_of(const char *kind);

/* Feed one value; returns the state after it. Non-finite values are ignored
 * (returns DRIFT_NONE and counts them). */
drift_state drift_update(drift_detector *d, double x);

/* Forget everything seen; parameters stay. */
void drift_reset(drift_detector *d);

/* Bytes held by the detector (struct and its buffers). */
size_t drift_memory(const drift_detector *d);

/* The kind's name, as given to drift_new(). */
const char *drift_kind(const drift_detector *d);

/* The detector's headline statistic for charts (ADWIN: window width;
 * Page-Hinkley: the cumulative statistic; DDM/EDDM: p+s or the distance
 * ratio; KSWIN: the last KS statistic). */
double drift_statistic(const drift_detector *d);

/* A one-line human explanation of the current state for the console and the
 * logs, written into buf (always NUL-terminated). Returns the length that
 * would have been written, like snprintf. */
int drift_explain(const drift_detector *d, char *buf, size_t n);

/* ADWIN only (0 for others): the current window width and mean. */
double drift_window_width(const drift_detector *d);
double drift_window_mean(const drift_detector *d);

/* A named statistic of a detector's state, for alarm records and logs. */
typedef struct drift_value {
    const char *name; /* static */
    double value;
} drift_value;

/* Copies up to max of the detector's current statistics into out (ADWIN:
 * width, mean, variance; Page-Hinkley: n, mean, rise, fall, threshold; DDM:
 * p, s, p_min, s_min; EDDM: errors, ratio; KSWIN: statistic, p_value).
 * Returns the number copied. This function can't fail. */
size_t drift_values(const drift_detector *d, drift_value *out, size_t max);

/* Parses the text of a parameter's value for the named kind: a number, or a
 * symbolic value where the kind has one (pagehinkley mode: both, up, down).
 * Checks the name, range and integrality as drift_set_param() does.
 * DD_ENOTFOUND (unknown kind or name), DD_EPARSE, DD_EINVAL; *out is set only
 * on success. */
dd_err drift_param_parse(const char *kind, const char *name, const char *text, double *out,
                         char **cause);

/* Non-finite values the detector ignored since it was made. */
unsigned long drift_nonfinite(const drift_detector *d);

/* Appends the detector's kind, parameters and full state to a snapshot
 * (w->failed on no memory). A restored detector continues exactly as this one
 * would, bit for bit. */
void drift_serialize(const drift_detector *d, ser_writer *w);

/* Reads a detector written by drift_serialize() into *out (free with
 * drift_free()). DD_ECORRUPT for truncated or inconsistent input, DD_EVERSION
 * for a format this build cannot read, DD_ENOMEM; *out is NULL on error. */
dd_err drift_deserialize(ser_reader *r, drift_detector **out, char **cause);

#endif
