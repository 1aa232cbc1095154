/*
 * pipeline.c: the per-event learning pipeline (see pipeline.h).
 *
 * One pass per event: the feature pipeline updates its statistics and
 * writes the sparse input once; the active model predicts; a labelled event
 * is scored before learning (prequential), its 0/1 error (or absolute error)
 * feeds the error watch point (whose alarms go to the learner's drift
 * policies), then the learner learns it with replay and EWC. The prediction and each
 * numeric feature (raw value) feed their watch points too (watch.c). No
 * allocation per event in steady state: the input vector and the alarm array
 * are reused.
 *
 * Delayed labels: an unlabelled event with an id is held in the pending
 * table with its input vector and prediction; when {"id","y"} comes, the held
 * input goes back into p->x and the same scoring and learning path runs, so
 * a delayed label counts exactly as an immediate one would have (except the
 * loss, which is the current model's on the held input). Pending entries
 * expire by the event clock, checked on every data event.
 *
 * The event clock (doc/FORMATS.md, "Event time"): the latest event time seen.
 * An event older than it is out of order: counted, processed in arrival
 * order, and the clock does not go back. An event more than max_future
 * seconds ahead of the clock (the first event: of its receipt) is taken as
 * clock + max_future (counted): one absurd timestamp cannot expire every
 * held event, and after a real gap in the stream the clock catches up by
 * max_future per event. No wall clock: a replay behaves the same. Events
 * without a ts of their own (stamped with the receive time) move the clock
 * only in streams that never carried a ts: a wall-clock stamp on a delayed
 * label must not expire events stamped with recorded times.
 */
#include "pipeline.h"

#include "labels.h"
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pipeline {
    pipeline_params p;
    featpipe *fp;
    labels *lab;
    learner *learn;
    metrics *met;
    watch *watch;
    pending *pend;
    pending_entry joined; /* the last joined entry, until the next event */
    bool has_joined;
    dd_sparse x;
    bool learning;
    double clock; /* the latest event time seen */
    bool clock_set;
    bool saw_ts; /* an event carried its own ts */
    pipeline_stats st;
};

void pipeline_params_default(pipeline_params *p)
{
    memset(p, 0, sizeof *p);
    featpipe_params_default(&p->feat);
    model_params_default(&p->model);
    learner_params_default(&p->learn);
    p->rolling_window = 1000;
    p->max_future = 3600.0;
    watch_params_default(&p->watch);
    pending_params_default(&p->pending);
}

pipeline *pipeline_new(const pipeline_params *pp, char **cause)
{
    if (!(pp->max_future >= 0)) {
        dd_fail(cause, DD_EINVAL, "max_future must be >= 0");
        return NULL;
    }
    if (pp->rolling_window < 1) {
        dd_fail(cause, DD_EINVAL, "rolling_window must be >= 1");
        return NULL;
    }
    pipeline *p = calloc(1, sizeof *p);
    if (!p) {
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    p->p = *pp;
    p->learning = true;
    /* An MLP's first layer is dense over every input, so 2^18 buckets would
     * make it 4 million weights (and checkpoints of hundreds of MiB). */
    if (p->p.feat.hash_bits == FEATPIPE_HASH_BITS_AUTO)
        p->p.feat.hash_bits = pp->model.kind == MODEL_MLP ? 12 : 18;
    if (!(p->fp = featpipe_new(&p->p.feat, cause)))
        goto fail;
    if (!(p->learn = learner_new(&pp->model, &pp->learn, featpipe_dim(p->fp), cause)))
        goto fail;
    if (!(p->watch = watch_new(&pp->watch, cause)))
        goto fail;
    if (!(p->pend = pending_new(&pp->pending, cause)))
        goto fail;
    p->lab = labels_new(pp->model.task, pp->model.max_classes);
    p->met = metrics_new(pp->model.task, pp->rolling_window);
    if (!p->lab || !p->met) {
        dd_fail(cause, DD_ENOMEM, "out of memory");
        goto fail;
    }
    return p;
fail:
    pipeline_free(p);
    return NULL;
}

void pipeline_free(pipeline *p)
{
    if (!p)
        return;
    featpipe_free(p->fp);
    labels_free(p->lab);
    learner_free(p->learn);
    metrics_free(p->met);
    watch_free(p->watch);
    pending_free(p->pend);
    pending_entry_clear(&p->joined);
    sparse_free(&p->x);
    free(p);
}

/* Feeds the event's numeric features to their watch points (raw values:
 * drift of the data, not of the standardized inputs). */
static void watch_features(pipeline *p, const dd_event *ev)
{
    for (uint32_t i = 0; i < ev->nfeat; i++) {
        const dd_feature *f = &ev->feat[i];
        if (f->kind != DD_VAL_NUM)
            continue;
        int32_t slot = featpipe_slot(p->fp, f);
        if (slot >= 0)
            watch_feature(p->watch, (uint32_t)slot, f->name, f->num);
    }
}

/* Score, detect and learn one labelled event whose input is in p->x. The
 * loss before learning comes from the learning step itself (one forward pass
 * fewer per event); it is computed apart only when nothing learns, or when an
 * alarm may change the model before the step (a new column, a reset). */
static void evaluate_and_learn(pipeline *p, double target, pipeline_result *res)
{
    res->labelled = true;
    res->target = target;
    p->st.labelled++;
    double err;
    if (p->p.model.task == TASK_REGRESSION) {
        err = fabs(res->out.score - target);
    } else {
        res->correct = (double)res->out.cls == target;
        err = res->correct ? 0.0 : 1.0;
    }
    drift_state s = watch_error(p->watch, err);
    if (s == DRIFT_DRIFT)
        p->st.drifts++;
    else if (s == DRIFT_WARNING)
        p->st.warnings++;
    bool loss_known = !p->learning || s != DRIFT_NONE;
    if (loss_known)
        res->loss = model_loss(learner_model(p->learn), &p->x, target);
    if (s != DRIFT_NONE)
        learner_on_alarm(p->learn, s == DRIFT_DRIFT, p->st.events - 1);
    if (p->learning) {
        learner_step step;
        dd_err e = learner_learn(p->learn, &p->x, target, p->st.events - 1, &step);
        if (e == DD_OK)
            res->learned = true;
        else
            p->st.refused++;
        if (!loss_known) /* the step's loss is the one before it (also when refused) */
            res->loss = e == DD_OK || e == DD_ENONFINITE
                            ? step.loss
                            : model_loss(learner_model(p->learn), &p->x, target);
    }
    metrics_add(p->met, &res->out, target, res->loss);
}

/* Encode a label and score (and learn from) the input in p->x, whose
 * prediction is in res->out. */
static dd_err score_label(pipeline *p, const dd_label *y, pipeline_result *res)
{
    double target;
    res->label_err = labels_encode(p->lab, y, &target, NULL);
    if (res->label_err) {
        p->st.bad_labels++;
        return DD_OK;
    }
    if (learner_grow(p->learn, labels_count(p->lab)))
        return DD_ENOMEM;
    evaluate_and_learn(p, target, res);
    return DD_OK;
}

/* A delayed label: score the held event with the prediction made then. */
static dd_err join_label(pipeline *p, const dd_event *ev, pipeline_result *res)
{
    pending_entry e;
    if (!ev->id || pending_take(p->pend, ev->id, &e)) {
        p->st.unmatched++;
        return DD_OK;
    }
    p->st.joined++;
    res->joined = true;
    res->predicted = true;
    res->out = e.npred ? e.pred[0].out : (model_output){0};
    dd_sparse now = p->x; /* lend the held input to the scoring path */
    p->x = e.x;
    e.x = now;
    dd_err err = score_label(p, &ev->y, res);
    now = p->x;
    p->x = e.x;
    e.x = now;
    p->joined = e; /* kept for pipeline_joined() until the next event */
    p->has_joined = true;
    return err;
}

/* The event's time as the pipeline goes by it, advancing the event clock
 * (see the header comment). */
static double event_time(pipeline *p, const dd_event *ev)
{
    double t = ev->ts;
    if (ev->has_ts)
        p->saw_ts = true;
    else if (p->saw_ts && p->clock_set)
        return p->clock; /* a receive-time stamp among event times */
    /* Ahead of the clock (or, first, of the receipt) by more than max_future. */
    double limit = p->clock_set ? p->clock : ev->recv_ts > 0 ? ev->recv_ts : t;
    if (p->p.max_future > 0 && t > limit + p->p.max_future) {
        t = limit + p->p.max_future;
        p->st.ts_future++;
    }
    if (p->clock_set && t < p->clock) {
        p->st.ts_out_of_order++;
    } else {
        p->clock = t;
        p->clock_set = true;
    }
    return t;
}

/* A data event: features, prediction, the watch points, then scoring (or
 * holding the event for its delayed label). */
static dd_err process_data(pipeline *p, const dd_event *ev, double ts, pipeline_result *res)
{
    if (featpipe_learn_transform(p->fp, ev, &p->x))
        return DD_ENOMEM;
    watch_begin(p->watch, p->st.events); /* this event's 0-based index */
    p->st.events++;
    learner_predict(p->learn, &p->x, &res->out);
    res->predicted = true;
    watch_features(p, ev);
    watch_prediction(p->watch, res->out.score);
    if (ev->y.kind != DD_LABEL_NONE)
        return score_label(p, &ev->y, res);
    if (ev->id) {
        pending_pred pred = {0, res->out}; /* version 0: the active model */
        if (pending_add(p->pend, ev->id, ev->group, ts, ev->seq, &p->x, &pred, 1))
            return DD_ENOMEM;
        res->held = true;
    }
    return DD_OK;
}

dd_err pipeline_process(pipeline *p, const dd_event *ev, pipeline_result *res)
{
    memset(res, 0, sizeof *res);
    pending_entry_clear(&p->joined);
    p->has_joined = false;
    /* Alarms raised by a delayed label carry the index of the last data event. */
    watch_begin(p->watch, p->st.events ? p->st.events - 1 : 0);
    /* Only data events expire held ones: a label without a time of its own
     * has its receive time, which must not expire events of a replayed past
     * (event_time() keeps it off the clock too). */
    double ts = event_time(p, ev);
    if (ev->kind == DD_EV_DATA)
        pending_expire(p->pend, p->clock_set ? p->clock : ts, ev->seq);
    dd_err err = DD_OK;
    if (ev->kind == DD_EV_LABEL)
        err = join_label(p, ev, res);
    else if (ev->kind == DD_EV_DATA)
        err = process_data(p, ev, ts, res);
    res->alarms = watch_alarms(p->watch, &res->nalarms);
    return err;
}

void pipeline_set_learning(pipeline *p, bool on)
{
    p->learning = on;
}

bool pipeline_learning(const pipeline *p)
{
    return p->learning;
}

const pipeline_stats *pipeline_get_stats(const pipeline *p)
{
    return &p->st;
}

double pipeline_score(const pipeline *p)
{
    return metrics_score(p->met);
}

double pipeline_rolling_score(const pipeline *p)
{
    return metrics_rolling_score(p->met);
}

const model *pipeline_model(const pipeline *p)
{
    return learner_model(p->learn);
}

const learner *pipeline_learner(const pipeline *p)
{
    return p->learn;
}

const featpipe *pipeline_features(const pipeline *p)
{
    return p->fp;
}

const drift_detector *pipeline_error_detector(const pipeline *p)
{
    return watch_error_detector(p->watch);
}

const watch *pipeline_watch(const pipeline *p)
{
    return p->watch;
}

const pending *pipeline_pending(const pipeline *p)
{
    return p->pend;
}

const metrics *pipeline_metrics(const pipeline *p)
{
    return p->met;
}

double pipeline_clock(const pipeline *p)
{
    return p->clock;
}

/* ---- governance hooks ---------------------------------------------------- */

#define PIPELINE_STATE_MAGIC 0x54535050u /* "PPST" */
#define PIPELINE_STATE_VERSION 4u        /* 4: the pending-label table */

const dd_sparse *pipeline_input(const pipeline *p)
{
    return &p->x;
}

model *pipeline_swap_model(pipeline *p, model *m)
{
    return learner_replace_model(p->learn, m);
}

void pipeline_reset_detectors(pipeline *p)
{
    watch_reset_error(p->watch);
}

dd_err pipeline_save_features(const pipeline *p, ser_writer *w)
{
    dd_err e = featpipe_serialize(p->fp, w);
    if (!e)
        e = labels_serialize(p->lab, w);
    return e ? e : w->failed ? DD_ENOMEM : DD_OK;
}

dd_err pipeline_save_state(const pipeline *p, ser_writer *w)
{
    ser_put_u32(w, PIPELINE_STATE_MAGIC);
    ser_put_u32(w, PIPELINE_STATE_VERSION);
    dd_err e = pipeline_save_features(p, w);
    if (!e)
        e = metrics_serialize(p->met, w);
    if (!e)
        watch_serialize(p->watch, w);
    if (!e)
        e = learner_serialize(p->learn, w);
    const pipeline_stats *s = &p->st;
    const uint64_t counters[] = {s->events,    s->labelled, s->bad_labels, s->refused,
                                 s->unmatched, s->joined,   s->warnings,   s->drifts};
    for (size_t i = 0; i < DD_ARRAY_LEN(counters); i++)
        ser_put_u64(w, counters[i]);
    if (!e)
        e = pending_serialize(p->pend, w);
    return e ? e : w->failed ? DD_ENOMEM : DD_OK;
}

/* The parts of a snapshot, read before any replaces the pipeline's. */
typedef struct state_parts {
    featpipe *fp;
    labels *lab;
    metrics *met;
    watch *wa;
    learner *learn;
    pending *pend;
} state_parts;

static void parts_free(state_parts *s)
{
    featpipe_free(s->fp);
    labels_free(s->lab);
    metrics_free(s->met);
    watch_free(s->wa);
    learner_free(s->learn);
    pending_free(s->pend);
}

dd_err pipeline_load_state(pipeline *p, ser_reader *r, char **cause)
{
    if (ser_get_u32(r) != PIPELINE_STATE_MAGIC)
        return dd_fail(cause, DD_ECORRUPT, "not a pipeline state snapshot");
    if (ser_get_u32(r) != PIPELINE_STATE_VERSION)
        return dd_fail(cause, DD_EVERSION, "a pipeline state snapshot of another version");
    state_parts n = {0};
    dd_err e = featpipe_deserialize(r, &n.fp, cause);
    if (!e)
        e = labels_deserialize(r, &n.lab, cause);
    if (!e)
        e = metrics_deserialize(r, &n.met, cause);
    if (!e)
        e = watch_deserialize(r, &n.wa, cause);
    if (!e)
        e = learner_deserialize(r, &n.learn, cause);
    pipeline_stats st = {0};
    uint64_t *c[] = {&st.events,    &st.labelled, &st.bad_labels, &st.refused,
                     &st.unmatched, &st.joined,   &st.warnings,   &st.drifts};
    for (size_t i = 0; i < DD_ARRAY_LEN(c); i++)
        *c[i] = ser_get_u64(r);
    if (!e && r->failed)
        e = dd_fail(cause, DD_ECORRUPT, "the pipeline state snapshot is truncated");
    if (!e && !(n.pend = pending_new(&p->p.pending, cause)))
        e = DD_ENOMEM;
    if (!e) /* held inputs index the model: below the restored pipeline's dimension */
        e = pending_deserialize(n.pend, r, featpipe_dim(n.fp), cause);
    if (e) {
        parts_free(&n);
        return e;
    }
    state_parts old = {p->fp, p->lab, p->met, p->watch, p->learn, p->pend};
    parts_free(&old);
    p->fp = n.fp;
    p->lab = n.lab;
    p->met = n.met;
    p->watch = n.wa;
    p->learn = n.learn;
    p->pend = n.pend;
    p->st = st;
    return DD_OK;
}

dd_err pipeline_hold_prediction(pipeline *p, const char *id, uint64_t version,
                                const model_output *out)
{
    pending_pred pred = {version, *out};
    return pending_add_pred(p->pend, id, &pred);
}

const pending_entry *pipeline_joined(const pipeline *p)
{
    return p->has_joined ? &p->joined : NULL;
}
