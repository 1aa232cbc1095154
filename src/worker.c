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

#include "ingest.h"
#include "queue.h"

#include <pthread.h>
#include <stdatomic.h>
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
    kstore *ks;               /* the knowledge store, or NULL */
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

static void fill_status(worker *w, worker_status *st, double rate, double t0)
{
    const pipeline_stats *ps = pipeline_get_stats(w->pipe);
    *st = (worker_status){0};
    st->events = ps->events;
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
    if ((st->has_kstore = w->ks != NULL))
        kstore_get_stats(w->ks, &st->kstore);
}

void worker_set_kstore(worker *w, kstore *ks)
{
    w->ks = ks;
}

static void process(worker *w, dd_event *ev)
{
    pipeline_result res;
    dd_err err = pipeline_process(w->pipe, ev, &res);
    if (err == DD_OK && w->out.alarm)
        for (uint32_t i = 0; i < res.nalarms; i++)
            w->out.alarm(w->out.ctx, &res.alarms[i], ev);
    if (w->ks && (err == DD_OK || ev->kind == DD_EV_DELETE))
        kstore_submit(w->ks, ev); /* copies what it keeps; drops are counted there */
    event_free(ev);
}

static void *worker_thread(void *arg)
{
    worker *w = arg;
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
            uint64_t n = pipeline_get_stats(w->pipe)->events;
            fill_status(w, &st, (double)(n - events_at_status) / (t - t_status), t0);
            w->out.status(w->out.ctx, &st);
            t_status = t;
            events_at_status = n;
        }
    }
    double secs = now_s() - t0;
    fill_status(w, &st, secs > 0 ? (double)pipeline_get_stats(w->pipe)->events / secs : 0, t0);
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

void worker_stop(worker *w)
{
    atomic_store(&w->stop, true);
}
