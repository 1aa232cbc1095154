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
    worker_output out;
    double status_interval;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    struct timespec t_start;
    pipeline_stats base; /* counters restored from a checkpoint: status reports this session */
    governor *gov;   /* NULL: no workspace */
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
    w->out = *out;
    w->status_interval = cfg->status_interval;
    return w;
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
    st->challenger_status = gs.view.challenger_id ? gov_status_name(gs.view.challenger_status)
                                                  : NULL;
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

static void fill_status(worker *w, worker_status *st, double rate, double t0)
{
    const pipeline_stats *all = pipeline_get_stats(w->pipe), *b = &w->base;
    pipeline_stats d = {.events = all->events - b->events,
                        .labelled = all->labelled - b->labelled,
                        .bad_labels = all->bad_labels - b->bad_labels,
                        .refused = all->refused - b->refused,
                        .unmatched = all->unmatched - b->unmatched,
                        .warnings = all->warnings - b->warnings,
                        .drifts = all->drifts - b->drifts};
    const pipeline_stats *ps = &d;
    *st = (worker_status){0};
    st->events = ps->events;
    st->workspace_events = all->events;
    st->labelled = ps->labelled;
    st->accuracy = pipeline_score(w->pipe);
    st->rolling_accuracy = pipeline_rolling_score(w->pipe);
    st->events_per_s = rate;
    st->seconds = now_s() - t0;
    st->bad_labels = ps->bad_labels;
    st->refused_steps = ps->refused;
    st->unmatched_labels = ps->unmatched;
    st->warnings = ps->warnings;
    st->drifts = ps->drifts;
    for (size_t i = 0; i < w->nsources; i++) {
        st->malformed += atomic_load(&w->sources[i]->stats.malformed);
        st->dropped += atomic_load(&w->sources[i]->stats.dropped);
    }
    st->deadletter_failures = w->ing ? ingest_deadletter_failures(w->ing) : 0;
    st->queue_len = queue_length(w->q);
    st->queue_cap = queue_capacity(w->q);
    st->learning = pipeline_learning(w->pipe);
    st->ended = sources_ended(w);
    if (w->gov)
        fill_governance(w, st);
}

static void governed(worker *w, dd_event *ev, pipeline_result *res, bool *ok)
{
    governor_result gr;
    rec_list recs = {0};
    char *cause = NULL;
    dd_err e = governor_process(w->gov, ev, writer_accepting(w->wr), res, &gr, &recs, &cause);
    writer_push(w->wr, &recs);
    if (e && e != DD_ENOMEM) /* the event itself was processed; say what went wrong */
        snprintf(w->gov_error, sizeof w->gov_error, "governance: %s",
                 cause ? cause : dd_strerror(e));
    *ok = e != DD_ENOMEM && !gr.skipped;
    free(cause);
}

static void process(worker *w, dd_event *ev)
{
    pipeline_result res;
    bool ok;
    if (w->gov)
        governed(w, ev, &res, &ok);
    else
        ok = pipeline_process(w->pipe, ev, &res) == DD_OK;
    if (ok && w->out.alarm)
        for (uint32_t i = 0; i < res.nalarms; i++)
            w->out.alarm(w->out.ctx, &res.alarms[i], ev);
    event_free(ev);
}

static void *worker_thread(void *arg)
{
    worker *w = arg;
    w->base = *pipeline_get_stats(w->pipe); /* after a resume: the checkpoint's counters */
    double t0 = now_s(), t_status = t0;
    uint64_t events_at_status = 0;
    worker_status st;
    while (!atomic_load(&w->stop)) {
        bool ended = sources_ended(w); /* read before popping: see the header comment */
        void *item;
        queue_result r = queue_pop(w->q, &item, ended ? 0 : WORKER_POP_TIMEOUT_MS);
        if (r == QUEUE_OK)
            process(w, item);
        else if (ended || r == QUEUE_CLOSED)
            break;
        double t = now_s();
        if (t - t_status >= w->status_interval && w->out.status) {
            uint64_t n = pipeline_get_stats(w->pipe)->events - w->base.events;
            fill_status(w, &st, (double)(n - events_at_status) / (t - t_status), t0);
            w->out.status(w->out.ctx, &st);
            t_status = t;
            events_at_status = n;
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
    }
    double secs = now_s() - t0;
    fill_status(w, &st,
                secs > 0 ? (double)(pipeline_get_stats(w->pipe)->events - w->base.events) / secs
                         : 0,
                t0);
    if (w->out.summary)
        w->out.summary(w->out.ctx, &st);
    return NULL;
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
