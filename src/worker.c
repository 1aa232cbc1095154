/*
 * worker.c: the worker thread (see worker.h).
 *
 * The loop pops with a short timeout so that periodic work (status, the end
 * check, a stop request) happens even when the stream is idle. The end check
 * reads each source's state before looking at the queue: a source marks
 * itself ended only after its last push, so "all ended, then queue empty"
 * cannot miss an event.
 */
#include "worker.h"

#include "governor.h"
#include "ingest.h"
#include "queue.h"
#include "writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define WORKER_POP_TIMEOUT_MS 50

struct worker {
    pipeline *pipe;
    struct queue *q;
    source **sources;
    size_t nsources;
    struct ingest *ing;
    worker_output out[WORKER_MAX_OUTPUTS];
    size_t nout;
    double status_interval;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    bool linger; /* stay up at the end of the stream (a console shows it) */
    struct timespec t_start;
    pipeline_stats base; /* counters restored from a checkpoint: status reports this session */
    governor *gov;       /* NULL: no workspace */
    writer *wr;
    char gov_error[256]; /* the last governance error, reported in status */
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

worker *worker_new(const dd_config *cfg, struct queue *q, source **sources, size_t nsources,
                   struct ingest *ing, const worker_output *out, char **cause)
{
    worker *w = calloc(1, sizeof *w);
    if (!w) {
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    w->pipe = pipeline_new(&cfg->pipe, cause);
    if (!w->pipe) {
        free(w);
        return NULL;
    }
    w->q = q;
    w->sources = sources;
    w->nsources = nsources;
    w->ing = ing;
    w->out[w->nout++] = *out;
    w->status_interval = cfg->status_interval;
    return w;
}

bool worker_status_unlabelled(const worker_status *st)
{
    return st->events >= WORKER_UNLABELLED_AFTER && st->labelled == 0 && st->pending_held == 0 &&
           st->pending_expired == 0 && st->pending_evicted == 0;
}

void worker_free(worker *w)
{
    if (!w)
        return;
    pipeline_free(w->pipe);
    free(w);
}

static bool sources_ended(const worker *w)
{
    for (size_t i = 0; i < w->nsources; i++) {
        int st = atomic_load(&w->sources[i]->stats.state);
        if (st != SOURCE_ENDED && st != SOURCE_FAILED)
            return false;
    }
    return true;
}

static void fill_governance(worker *w, worker_status *st)
{
    governor_stats gs;
    writer_stats ws;
    governor_get_stats(w->gov, &gs);
    writer_get_stats(w->wr, &ws);
    st->active_version = gs.view.active_id;
    st->challenger_version = gs.view.challenger_id;
    st->previous_version = gs.view.previous_id;
    st->challenger_status =
        gs.view.challenger_id ? gov_status_name(gs.view.challenger_status) : NULL;
    st->awaiting_approval = gs.view.awaiting_approval;
    st->promotions = gs.view.promotions;
    st->rollbacks = gs.view.rollbacks;
    st->candidates = gs.view.candidates;
    st->checkpoints = gs.checkpoints;
    st->unlearned = gs.unlearned;
    st->skipped = gs.skipped;
    st->writer_accepting = ws.accepting;
    st->writer_failures = ws.failures;
    st->records_refused = ws.refused;
    snprintf(st->audit_head, sizeof st->audit_head, "%s", ws.audit_head);
    snprintf(st->writer_error, sizeof st->writer_error, "%s",
             ws.last_error[0] ? ws.last_error : w->gov_error);
}

/* Counters since this run started (a resumed pipeline carries the workspace's). */
static pipeline_stats session_stats(const worker *w)
{
    pipeline_stats d = *pipeline_get_stats(w->pipe);
    const pipeline_stats *b = &w->base;
    d.events -= b->events;
    d.labelled -= b->labelled;
    d.bad_labels -= b->bad_labels;
    d.refused -= b->refused;
    d.unmatched -= b->unmatched;
    d.joined -= b->joined;
    d.warnings -= b->warnings;
    d.drifts -= b->drifts;
    return d;
}

static void fill_status(worker *w, worker_status *st, double rate, double t0)
{
    pipeline_stats d = session_stats(w);
    const pipeline_stats *ps = &d;
    *st = (worker_status){0};
    st->events = ps->events;
    st->workspace_events = pipeline_get_stats(w->pipe)->events;
    st->labelled = ps->labelled;
    st->accuracy = pipeline_score(w->pipe);
    st->rolling_accuracy = pipeline_rolling_score(w->pipe);
    st->events_per_s = rate;
    st->seconds = now_s() - t0;
    st->bad_labels = ps->bad_labels;
    st->refused_steps = ps->refused;
    st->unmatched_labels = ps->unmatched;
    st->joined_labels = ps->joined;
    pending_stats pend;
    pending_get_stats(pipeline_pending(w->pipe), &pend);
    st->pending_held = pend.held;
    st->pending_expired = pend.expired;
    st->pending_evicted = pend.evicted;
    st->pending_replaced = pend.replaced;
    st->ts_out_of_order = ps->ts_out_of_order;
    st->ts_future = ps->ts_future;
    st->warnings = ps->warnings;
    st->drifts = ps->drifts;
    const watch_stats *ws = watch_get_stats(pipeline_watch(w->pipe));
    st->alerts = ws->alerts;
    st->alerts_suppressed = ws->suppressed;
    st->alarms_dropped = ws->dropped;
    st->unwatched_features = ws->unwatched;
    for (size_t i = 0; i < w->nsources; i++) {
        st->malformed += atomic_load(&w->sources[i]->stats.malformed);
        st->dropped += atomic_load(&w->sources[i]->stats.dropped);
    }
    st->deadletter_failures = w->ing ? ingest_deadletter_failures(w->ing) : 0;
    st->queue_len = queue_length(w->q);
    st->queue_cap = queue_capacity(w->q);
    st->learning = pipeline_learning(w->pipe);
    st->ended = sources_ended(w);
    if (w->nsources) {
        source_stats *ss = &w->sources[0]->stats;
        st->source_state = atomic_load(&ss->state);
        st->source_attempt = atomic_load(&ss->attempt);
        st->source_next_retry_ms = atomic_load(&ss->next_retry_ms);
        st->source_reconnects = atomic_load(&ss->reconnects);
        st->source_messages = atomic_load(&ss->messages);
        st->source_bytes = atomic_load(&ss->bytes);
    }
    if (w->gov)
        fill_governance(w, st);
}

/* With a workspace: the governor runs the event and its records go to the
 * writer. Returns DD_ENOMEM when the event could not be processed; *skipped
 * for an event the checkpoint already covered (replayed after a resume). */
static dd_err governed(worker *w, dd_event *ev, pipeline_result *res, bool *skipped)
{
    governor_result gr;
    rec_list recs = {0};
    char *cause = NULL;
    dd_err e = governor_process(w->gov, ev, writer_accepting(w->wr), res, &gr, &recs, &cause);
    writer_push(w->wr, &recs);
    if (e && e != DD_ENOMEM) /* the event itself was processed; say what went wrong */
        snprintf(w->gov_error, sizeof w->gov_error, "governance: %s",
                 cause ? cause : dd_strerror(e));
    free(cause);
    *skipped = gr.skipped;
    return e == DD_ENOMEM ? e : DD_OK;
}

dd_err worker_add_output(worker *w, const worker_output *out)
{
    if (w->nout == WORKER_MAX_OUTPUTS)
        return DD_EFULL;
    w->out[w->nout++] = *out;
    return DD_OK;
}

static void process(worker *w, dd_event *ev)
{
    pipeline_result res;
    bool skipped = false;
    dd_err err = w->gov ? governed(w, ev, &res, &skipped) : pipeline_process(w->pipe, ev, &res);
    if (err == DD_OK && !skipped && res.label_err && w->ing) {
        char why[96];
        snprintf(why, sizeof why, "label not learned: %s", dd_strerror(res.label_err));
        ingest_refused_label(w->ing, ev, why);
    }
    if (err == DD_OK && !skipped) {
        for (size_t k = 0; k < w->nout; k++) {
            const worker_output *o = &w->out[k];
            for (uint32_t i = 0; o->alarm && i < res.nalarms; i++)
                o->alarm(o->ctx, &res.alarms[i], ev);
            if (o->event)
                o->event(o->ctx, ev, &res);
        }
    }
    /* Processed: a source that commits (Kafka) may now count it done. With
     * several sources an event does not say which one it came from, so acks
     * go out only for a single source. With a workspace the writer acks
     * instead, when a checkpoint covering the event has committed. */
    if (!err && !w->gov && w->nsources == 1 && w->sources[0]->ops->ack)
        w->sources[0]->ops->ack(w->sources[0], ev->src_pos);
    event_free(ev);
}

static void *worker_thread(void *arg)
{
    worker *w = arg;
    w->base = *pipeline_get_stats(w->pipe); /* after a resume: the checkpoint's counters */
    double t0 = now_s(), t_status = t0, t_tick = t0, rate = 0;
    uint64_t events_at_status = 0;
    worker_status st;
    while (!atomic_load(&w->stop)) {
        bool ended = sources_ended(w); /* read before popping: see the header comment */
        void *item;
        bool finish = ended && !w->linger;
        queue_result r = queue_pop(w->q, &item, finish ? 0 : WORKER_POP_TIMEOUT_MS);
        if (r == QUEUE_OK)
            process(w, item);
        else if (finish || r == QUEUE_CLOSED)
            break;
        double t = now_s();
        if (t - t_tick >= WORKER_POP_TIMEOUT_MS * 1e-3 || t - t_status >= w->status_interval) {
            uint64_t n = session_stats(w).events;
            fill_status(w, &st, rate, t0);
            for (size_t k = 0; k < w->nout; k++)
                if (w->out[k].tick)
                    w->out[k].tick(w->out[k].ctx, w->pipe, &st);
            t_tick = t;
            if (t - t_status >= w->status_interval) {
                rate = (double)(n - events_at_status) / (t - t_status);
                st.events_per_s = rate;
                for (size_t k = 0; k < w->nout; k++)
                    if (w->out[k].status)
                        w->out[k].status(w->out[k].ctx, &st);
                t_status = t;
                events_at_status = n;
            }
        }
    }
    if (w->gov) {
        rec_list recs = {0};
        char *cause = NULL;
        if (governor_finish(w->gov, atomic_load(&w->stop) ? "stopped" : "end of stream", &recs,
                            &cause))
            snprintf(w->gov_error, sizeof w->gov_error, "final checkpoint: %s",
                     cause ? cause : "?");
        free(cause);
        writer_push(w->wr, &recs);
        if (!writer_sync(w->wr, 10000)) /* the summary then reports the committed head */
            snprintf(w->gov_error, sizeof w->gov_error, "%s",
                     "the final checkpoint is not committed after 10 s: the database "
                     "is failing or the writer is far behind");
    }
    double secs = now_s() - t0;
    fill_status(w, &st, secs > 0 ? (double)session_stats(w).events / secs : 0, t0);
    for (size_t k = 0; k < w->nout; k++)
        if (w->out[k].summary)
            w->out[k].summary(w->out[k].ctx, &st);
    return NULL;
}

void worker_set_linger(worker *w, bool linger)
{
    w->linger = linger;
}

dd_err worker_start(worker *w, char **cause)
{
    if (pthread_create(&w->thread, NULL, worker_thread, w))
        return dd_fail(cause, DD_ENOMEM, "cannot start the worker thread");
    w->started = true;
    return DD_OK;
}

void worker_join(worker *w)
{
    if (w->started) {
        pthread_join(w->thread, NULL);
        w->started = false;
    }
}

pipeline *worker_pipeline(worker *w)
{
    return w->pipe;
}

void worker_set_governance(worker *w, governor *g, writer *wr)
{
    w->gov = g;
    w->wr = wr;
}

void worker_stop(worker *w)
{
    atomic_store(&w->stop, true);
}
