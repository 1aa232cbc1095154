/*
 * watch.h: the pipeline's drift watch points.
 *
 * Three kinds of watch point, each one drift detector (drift.h) configured by
 * kind and parameters:
 *   - error:      the active model's 0/1 error or absolute error (concept
 *                 drift; default adwin delta=0.002). Every alarm is reported:
 *                 governance acts on its drifts.
 *   - prediction: the mean predicted probability or value (output drift;
 *                 default pagehinkley);
 *   - feature:    one detector per numeric feature, made when the feature is
 *                 first seen, up to max_features (data drift; default
 *                 pagehinkley, kswin optional).
 * Prediction and feature values are standardized by default (by the point's
 * own running mean and deviation, restarted with its detector, after a
 * warm-up of WATCH_WARMUP values) so that one set of parameters fits features
 * of any scale; the defaults are tuned for that (pagehinkley delta=0.1
 * threshold=50 alpha=1, the classic test without forgetting: about one false
 * alarm in a million values of N(0, 1), a shift of one deviation found in
 * about 55 values; see doc/DRIFT.md).
 * Prediction and feature alarms are alerts, rate-limited per watch point: after
 * a reported alert, alerts of the same or a lower level are suppressed (and
 * counted) for `quiet` events; a drift after a warning still gets through.
 * Detectors keep running while quiet and restart after a drift as their
 * algorithm says. Alarms of an event come back as a small record array: no I/O.
 * Memory is bounded: three kinds of point, max_features feature detectors.
 */
#ifndef DD_WATCH_H
#define DD_WATCH_H

#include "dd.h"
#include "drift.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WATCH_PARAMS_LEN 160
#define WATCH_MAX_VALUES 5  /* statistics copied into an alarm */
#define WATCH_MAX_ALARMS 16 /* alarms kept per event; more are counted as dropped */
#define WATCH_WARMUP 30     /* values that only train a standardizer */

typedef enum watch_point {
    WATCH_ERROR = 0,
    WATCH_PREDICTION = 1,
    WATCH_FEATURE = 2,
} watch_point;

typedef struct watch_point_params {
    char detector[16];             /* a drift.h kind, or "none" (not watched) */
    char params[WATCH_PARAMS_LEN]; /* "name=value, name=value" by the configuration's names */
    uint32_t quiet;                /* events of quiet after a reported alert (not for error) */
    bool standardize;              /* feed z-scores (not for error) */
} watch_point_params;

typedef struct watch_params {
    watch_point_params error;      /* default adwin, delta=0.002 */
    watch_point_params prediction; /* default pagehinkley delta=0.1 threshold=50 alpha=1,
                                      standardized, quiet 1000 */
    watch_point_params feature;    /* the same defaults */
    uint32_t max_features;         /* feature detectors at most, default 64 (0: none) */
} watch_params;

/* Fills p with the defaults above. This function can't fail. */
void watch_params_default(watch_params *p);

/* Checks every detector kind and parameter string (DD_ENOTFOUND, DD_EINVAL,
 * DD_EPARSE with *cause naming the watch point). */
dd_err watch_params_check(const watch_params *p, char **cause);

typedef struct watch_alarm {
    watch_point point;
    const char *watch;    /* "error", "prediction" or "feature" (static) */
    const char *feature;  /* the feature's name, else NULL; valid while the watch lives */
    const char *detector; /* the detector's kind (static) */
    drift_state level;    /* DRIFT_WARNING or DRIFT_DRIFT */
    uint64_t event;       /* the event index given to watch_begin() */
    double statistic;     /* drift_statistic() at the alarm */
    double width, mean;   /* ADWIN's window at the alarm (0 for other kinds) */
    uint64_t suppressed;  /* alerts of this point held back since its last report */
    uint32_t nvalues;
    drift_value values[WATCH_MAX_VALUES]; /* drift_values() at the alarm */
} watch_alarm;

typedef struct watch_stats {
    uint64_t error_warnings, error_drifts; /* reported on the error stream */
    uint64_t alerts;                       /* prediction and feature alarms reported */
    uint64_t suppressed;                   /* ... held back by the quiet periods */
    uint64_t dropped;                      /* alarms beyond WATCH_MAX_ALARMS in one event */
    uint64_t unwatched;                    /* feature values beyond max_features */
    uint32_t features;                     /* feature detectors made */
} watch_stats;

typedef struct watch watch;

/* Returns a new watch (copies p) or NULL with *cause set. Free with
 * watch_free(). */
watch *watch_new(const watch_params *p, char **cause);
void watch_free(watch *w);

/* Starts an event: forgets the previous event's alarms. */
void watch_begin(watch *w, uint64_t event);

/* Feed the watch points for the current event. Return the detector's state
 * (DRIFT_NONE when the point is not watched). A feature is given by a stable
 * slot (featpipe's numeric slot) and its name (copied the first time); slots
 * >= max_features are counted as unwatched. */
drift_state watch_error(watch *w, double err);
drift_state watch_prediction(watch *w, double value);
drift_state watch_feature(watch *w, uint32_t slot, const char *name, double value);

/* The current event's reported alarms; valid until the next watch_begin(). */
const watch_alarm *watch_alarms(const watch *w, uint32_t *n);

/* The active model changed: the error detector starts afresh. */
void watch_reset_error(watch *w);

const watch_stats *watch_get_stats(const watch *w);

/* The detectors, for charts and the console; NULL when not watched / not made. */
const drift_detector *watch_error_detector(const watch *w);
const drift_detector *watch_prediction_detector(const watch *w);
const drift_detector *watch_feature_detector(const watch *w, uint32_t slot);
const char *watch_feature_name(const watch *w, uint32_t slot);

/* Bytes held by the watch and all its detectors. */
size_t watch_memory(const watch *w);

/* Appends the watch's parameters and full state (every detector, standardizer,
 * quiet-period state, feature names, counters) to a snapshot (w->failed on
 * no memory). */
void watch_serialize(const watch *w, ser_writer *out);

/* Reads a watch written by watch_serialize() into *out (free with
 * watch_free()); it continues exactly as the saved one. DD_ECORRUPT,
 * DD_EVERSION or DD_ENOMEM with *cause; *out is NULL on error. */
dd_err watch_deserialize(ser_reader *r, watch **out, char **cause);

#endif
