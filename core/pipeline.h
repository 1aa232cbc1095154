/*
 * pipeline.h: one event's path through the learning pipeline, without
 * threads or I/O: features -> predict -> evaluate (prequential: test, then
 * train) -> detect drift -> learn.
 *
 * The worker thread owns a pipeline and calls pipeline_process() per event;
 * tests call it directly. Everything it reports about an event comes back in
 * a pipeline_result, whose alarm array belongs to the pipeline and is valid
 * until the next call. Time is event time: the pipeline never reads a clock,
 * so a recorded stream replays to the same predictions and drifts.
 */
#ifndef DD_PIPELINE_H
#define DD_PIPELINE_H

#include "dd.h"
#include "drift.h"
#include "event.h"
#include "featpipe.h"
#include "learner.h"
#include "model.h"
#include "model_params.h"
#include "serial.h"
#include "pending.h"
#include "watch.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct pipeline_params {
    featpipe_params feat;
    model_params model;
    learner_params learn;    /* replay, EWC consolidation, drift policies, class weights */
    uint32_t rolling_window; /* events in the rolling metrics, default 1000 */
    watch_params watch;      /* drift watch points: error, prediction, features */
    pending_params pending;  /* events waiting for a delayed label */
    double max_future;       /* seconds an event's ts may lead the event clock, 0 = any;
                                default 3600 (see the header of pipeline.c) */
} pipeline_params;

void pipeline_params_default(pipeline_params *p);

/* A warning or drift of a watch point (watch.h): the watch point and feature
 * name, the detector, the level, the event index and the detector's
 * statistics at the alarm. */
typedef watch_alarm pipeline_alarm;

typedef struct pipeline_result {
    bool predicted; /* a data event: out holds the active model's prediction */
    model_output out;
    bool labelled;    /* it had a usable label: it was scored (and learned) */
    double target;    /* the encoded label */
    double loss;      /* its loss before learning */
    bool correct;     /* classification: the prediction was right */
    dd_err label_err; /* DD_OK, or why its label was refused (counted) */
    bool learned;     /* the model took a learning step */
    bool joined;      /* a delayed label found its event: out is the prediction
                         made then, and it was scored (and learned) now */
    bool held;        /* an unlabelled event with an id: held for its label */
    uint32_t nalarms;
    const pipeline_alarm *alarms; /* valid until the next pipeline_process() */
} pipeline_result;

typedef struct pipeline_stats {
    uint64_t events;           /* data events processed */
    uint64_t labelled;         /* ... with a usable label, scored */
    uint64_t bad_labels;       /* labels refused (wrong type, too many classes) */
    uint64_t refused;          /* learning steps refused as non-finite */
    uint64_t unmatched;        /* delayed labels that matched no pending event */
    uint64_t joined;           /* delayed labels that joined their pending event */
    uint64_t warnings, drifts; /* error-stream alarms */
    uint64_t ts_out_of_order;  /* events older than the latest event time seen */
    uint64_t ts_future;        /* events more than max_future ahead of the event clock */
} pipeline_stats;

typedef struct pipeline pipeline;

/* Returns a new pipeline, or NULL with *cause set. Borrows p. Free with
 * pipeline_free(). */
pipeline *pipeline_new(const pipeline_params *p, char **cause);
void pipeline_free(pipeline *p);

/* Process one event (borrowed). Returns DD_OK; DD_ENOMEM when memory ran
 * out (the event was not processed). Bad labels are not errors: they are
 * counted and reported in res->label_err. */
dd_err pipeline_process(pipeline *p, const dd_event *ev, pipeline_result *res);

/* While frozen, events are predicted and scored but nothing learns. */
void pipeline_set_learning(pipeline *p, bool on);
bool pipeline_learning(const pipeline *p);

const pipeline_stats *pipeline_get_stats(const pipeline *p);
/* Prequential accuracy (MAE for regression) over all labelled events / the
 * rolling window. */
double pipeline_score(const pipeline *p);
double pipeline_rolling_score(const pipeline *p);
const model *pipeline_model(const pipeline *p);
const learner *pipeline_learner(const pipeline *p);
const featpipe *pipeline_features(const pipeline *p);
const drift_detector *pipeline_error_detector(const pipeline *p);
/* The watch points (detectors for the charts, alert counters). */
const watch *pipeline_watch(const pipeline *p);
/* The table of events waiting for their label (for its counters). */
const pending *pipeline_pending(const pipeline *p);
/* The prequential metrics of the active model (for their counters and memory). */
const struct metrics *pipeline_metrics(const pipeline *p);
/* The pipeline's event clock: the latest event time seen (0 before any). */
double pipeline_clock(const pipeline *p);

/* ---- governance hooks (core/governor.c) ----
 * The governor keeps the challenger and previous models beside the
 * pipeline's active one, on the same input vector. */

/* The last data event's input vector; valid until the next pipeline_process(). */
const dd_sparse *pipeline_input(const pipeline *p);
/* Make m (taken) the active model; returns the old one (the caller owns it).
 * NULL when m has another input dimension: then nothing changed and m is
 * still the caller's. */
model *pipeline_swap_model(pipeline *p, model *m);
/* Restart the error-stream watch point (when the active version changes). */
void pipeline_reset_detectors(pipeline *p);
/* What a model version is made with: the feature statistics and the label
 * encoding (its frozen copy, stored with the version). */
dd_err pipeline_save_features(const pipeline *p, ser_writer *w);
/* The pipeline's whole learned state: features, labels, metrics, the drift
 * watch points, the learner (model, replay buffer, EWC), counters. */
dd_err pipeline_save_state(const pipeline *p, ser_writer *w);
/* Replace that state from a snapshot. DD_ECORRUPT (pipeline unchanged) on a bad one. */
dd_err pipeline_load_state(pipeline *p, ser_reader *r, char **cause);

/* After a pipeline_process() that held an event (res->held): add the
 * prediction of another live version on the same input, so it is scored on
 * the same label later. DD_ENOTFOUND / DD_EFULL as pending_add_pred(). */
dd_err pipeline_hold_prediction(pipeline *p, const char *id, uint64_t version,
                                const model_output *out);

/* After a pipeline_process() that joined a delayed label (res->joined): the
 * held entry (its input vector as the models saw it, its group and every
 * version's prediction), valid until the next pipeline_process(); NULL
 * otherwise. Lets governance score and train a challenger on it. */
const pending_entry *pipeline_joined(const pipeline *p);

#endif
