/*
 * learner.h: what the pipeline calls per labelled event. It owns one model
 * and its anti-forgetting machinery and decides, per event:
 *
 *   1. learn the event, weighted by its class's inverse frequency (optional);
 *   2. learn k events drawn from the replay buffer, each weighted by its
 *      importance-sampling weight (prioritized replay) and its class weight,
 *      and give each its new priority;
 *   3. offer the event to the replay buffer;
 *   4. consolidate EWC after a stable stretch: `consolidate_every` events
 *      with no alarm since the last alarm and since the last consolidation,
 *      never at an alarm (an anchor set in the middle of a drift would pin a
 *      concept that is going away).
 *
 * On a confirmed drift (learner_on_alarm(..., true)): the replay buffer
 * applies its drift policy (drop, decay or keep tagged); EWC keeps or forgets
 * its Fisher (ewc_on_drift); SGD's schedule restarts; a progressive MLP
 * freezes its column and starts a new one. Predicting never changes anything.
 * No allocation per event in steady state.
 */
#ifndef DD_LEARNER_H
#define DD_LEARNER_H

#include "dd.h"
#include "model.h"
#include "model_params.h"
#include "replay.h"
#include "serial.h"
#include "sparse.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum learner_ewc_drift {
    LEARNER_EWC_KEEP = 0, /* Fisher and anchor stay: old knowledge stays protected */
    LEARNER_EWC_RESET     /* forget the Fisher: adapt freely until the next consolidation */
} learner_ewc_drift;

typedef struct learner_params {
    bool replay_on;             /* default true */
    uint32_t replay_k;          /* replayed events per new event, default 2, at most 16 */
    replay_params replay;       /* default replay_params_default() */
    uint32_t consolidate_every; /* EWC: events of no alarm before a consolidation (N) */
    learner_ewc_drift ewc_on_drift;
    bool class_weights;           /* inverse-frequency sample weights, default false */
    double class_weight_max;      /* weights are clipped to [1 / max, max] */
    bool reset_schedule_on_drift; /* default true */
    bool column_on_drift;         /* progressive MLP: a new column per drift, default true */
} learner_params;

/* Defaults (issue 4): prioritized replay on (10000 slots, k = 2), EWC
 * consolidation every 1000 stable events (EWC acts when model_params'
 * ewc_lambda > 0), Fisher forgotten on a confirmed drift, no class weights
 * (doc/LEARNING.md has the measurements behind them). Can't fail. */
void learner_params_default(learner_params *p);

dd_err learner_params_check(const learner_params *p, char **cause);

typedef struct learner learner;

/* Returns a new learner with a new model of input dimension dim, or NULL
 * with *cause set. Borrows both parameter structs. Free with learner_free(). */
learner *learner_new(const model_params *mp, const learner_params *lp, uint32_t dim, char **cause);
void learner_free(learner *l);

/* Read-only prediction with the learner's model. */
void learner_predict(const learner *l, const dd_sparse *x, model_output *out);

/* What one learning call did. */
typedef struct learner_step {
    double loss;       /* the new event's loss before its step */
    double weight;     /* its sample weight */
    bool learned;      /* the new event's step was taken (not refused) */
    uint32_t replayed; /* replayed steps taken */
    bool consolidated; /* EWC consolidated after this event */
} learner_step;

/* Learn one labelled event (the pipeline's event_index: arrival order, for
 * ages and stability). Borrows x (the replay buffer keeps a copy).
 * DD_ENONFINITE: the new event's step was refused (counted; the model is
 * unchanged by it, replay still ran). DD_EINVAL: a bad target or input.
 * DD_ENOMEM: nothing changed. step may be NULL. */
dd_err learner_learn(learner *l, const dd_sparse *x, double target, uint64_t event_index,
                     learner_step *step);

/* A drift detector alarm at event_index: a warning only restarts the
 * stability count; a confirmed drift (drift = true) applies the drift
 * policies above. */
void learner_on_alarm(learner *l, bool drift, uint64_t event_index);

/* Shorthand for learner_on_alarm(l, true, event_index). */
void learner_on_drift(learner *l, uint64_t event_index);

/* Make room for class indices below n (multiclass; a no-op otherwise).
 * DD_ENOMEM: unchanged. Classes beyond max_classes are left to
 * learner_learn() to refuse. */
dd_err learner_grow(learner *l, uint32_t n);

/* Consolidate EWC now (on demand). */
void learner_consolidate(learner *l, uint64_t event_index);

/* The model, valid until learner_free() or learner_replace_model(). */
const model *learner_model(const learner *l);
/* The replay buffer (NULL when replay is off). */
const replay *learner_replay(const learner *l);

/* Put m in place of the learner's model (rollback, promotion): takes
 * ownership of m, returns the old model (the caller frees it). m must have
 * the same input dimension: otherwise NULL is returned and nothing changes. */
model *learner_replace_model(learner *l, model *m);

typedef struct learner_stats { /* every field a uint64_t (serialized as such) */
    uint64_t learned;          /* new events learned */
    uint64_t refused;          /* new events whose step was refused */
    uint64_t replayed;         /* replayed steps taken */
    uint64_t replay_refused;   /* replayed steps refused */
    uint64_t consolidations;
    uint64_t last_consolidation; /* event index, UINT64_MAX for never */
    uint64_t drifts, warnings;
    uint64_t columns_added;
} learner_stats;

const learner_stats *learner_get_stats(const learner *l);

/* The class weight a target gets now (1 when class weights are off). */
double learner_class_weight(const learner *l, double target);

/* Append the learner's whole state to w: its settings, counters, class
 * counts, the model (model_serialize()) and the replay buffer, as one
 * checksummed section, so a restored learner goes on exactly as this one.
 * DD_ENOMEM: w is marked failed. */
dd_err learner_serialize(const learner *l, ser_writer *w);

/* Rebuild a learner from rd. DD_ECORRUPT (checksum, structure, settings) or
 * DD_EVERSION; *out is set only on success. */
dd_err learner_deserialize(ser_reader *rd, learner **out, char **cause);

#endif
