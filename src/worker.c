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

#include "command.h"
#include "ingest.h"
#include "queue.h"
#include "snapshot.h"
#include "worker_view.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKER_POP_TIMEOUT_MS 50
#define WORKER_PUBLISH_S 0.05 /* console snapshots: 20 Hz */

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
    /* console mode (worker_attach_console) */
    wview *view;
    struct queue *cmdq;
    snap_run_state run_state;
    double speed;
    char workspace[1024];
    bool stay_at_end;
    double t_rate, rate; /* events/s, measured once a second */
    uint64_t n_rate;
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
    wview_free(w->view);
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
}

static void process(worker *w, dd_event *ev)
{
    pipeline_result res;
    if (pipeline_process(w->pipe, ev, &res) == DD_OK) {
        for (uint32_t i = 0; i < res.nalarms; i++) {
            if (w->out.alarm)
                w->out.alarm(w->out.ctx, &res.alarms[i], ev);
            if (w->view)
                wview_alarm(w->view, &res.alarms[i], ev);
        }
        if (w->view)
            wview_event(w->view, &res, w->pipe);
    }
    event_free(ev);
}

/* ---- console mode ---- */

static void control_sources(worker *w, source_ctl_kind kind, double arg)
{
    for (size_t i = 0; i < w->nsources; i++)
        if (w->sources[i]->ops->control)
            w->sources[i]->ops->control(w->sources[i], kind, arg);
}

static bool sources_live(const worker *w)
{
    for (size_t i = 0; i < w->nsources; i++)
        if (!w->sources[i]->ops->control)
            return true;
    return false;
}

/* Pause: a replay stops reading; a live stream keeps flowing (it cannot be
 * paused without losing it), so learning freezes instead. */
static void command_pause(worker *w, const dd_command *c, bool pause)
{
    bool live = sources_live(w);
    if (live)
        pipeline_set_learning(w->pipe, !pause);
    else
        control_sources(w, pause ? SOURCE_CTL_PAUSE : SOURCE_CTL_RESUME, 0);
    w->run_state = !pause ? SNAP_RUNNING : live ? SNAP_LEARNING_FROZEN : SNAP_PAUSED;
    wview_log(w->view, SNAP_LOG_INFO, "%s by %s", pause ? (live ? "learning frozen" : "paused")
                                                        : "resumed", c->user);
    wview_answer(w->view, c, DD_OK, "%s", snap_run_state_name(w->run_state));
}

static void command_export(worker *w, const dd_command *c)
{
    char path[1200], *cause = NULL;
    dd_err err = wview_export(w->view, w->workspace, c->format, path, sizeof path, &cause);
    if (err)
        wview_answer(w->view, c, err, "%s", cause ? cause : dd_strerror(err));
    else
        wview_answer(w->view, c, DD_OK, "wrote %s", path);
    if (!err)
        wview_log(w->view, SNAP_LOG_INFO, "exported by %s to %s", c->user, path);
    free(cause);
}

static void handle_command(worker *w, const dd_command *c)
{
    switch ((cmd_kind)c->kind) {
    case CMD_PAUSE: command_pause(w, c, true); break;
    case CMD_RESUME: command_pause(w, c, false); break;
    case CMD_STEP:
        control_sources(w, SOURCE_CTL_STEP, 0);
        wview_answer(w->view, c, DD_OK, "one event forward");
        break;
    case CMD_SPEED:
        w->speed = c->speed;
        control_sources(w, SOURCE_CTL_SPEED, c->speed);
        if (c->speed > 0)
            wview_answer(w->view, c, DD_OK, "speed x%g", c->speed);
        else
            wview_answer(w->view, c, DD_OK, "speed: as fast as possible");
        break;
    case CMD_APPROVE:
    case CMD_REJECT:
    case CMD_ROLLBACK:
        /* the version decisions belong to governance (registry, audit) */
        wview_answer(w->view, c, DD_ESTATE, "%s: no model registry in this build",
                     cmd_kind_name((cmd_kind)c->kind));
        break;
    case CMD_EXPORT: command_export(w, c); break;
    case CMD_VIEW: wview_set_view(w->view, &c->view); break;
    case CMD__END: break;
    }
}

/* Drain the commands, then publish a snapshot. */
static void console_tick(worker *w, bool ended, double t0)
{
    void *item;
    while (w->cmdq && queue_pop(w->cmdq, &item, 0) == QUEUE_OK) {
        handle_command(w, item);
        free(item);
    }
    double t = now_s();
    worker_status st;
    uint64_t n = pipeline_get_stats(w->pipe)->events;
    if (t - w->t_rate >= 1.0) { /* the rate over the last whole second */
        w->rate = w->t_rate > 0 ? (double)(n - w->n_rate) / (t - w->t_rate) : 0;
        w->t_rate = t;
        w->n_rate = n;
    }
    fill_status(w, &st, w->rate, t0);
    snap_run_state rs = w->run_state;
    if (ended && queue_length(w->q) == 0)
        rs = SNAP_ENDED;
    wview_publish(w->view, &st, rs, w->speed);
}

dd_err worker_attach_console(worker *w, struct snap_board *board, struct queue *cmdq,
                             double speed, const char *workspace, bool stay_at_end,
                             char **cause)
{
    w->view = wview_new(board, w->nsources ? w->sources[0] : NULL, 25);
    if (!w->view)
        return dd_fail(cause, DD_ENOMEM, "out of memory");
    w->cmdq = cmdq;
    w->speed = speed;
    w->run_state = SNAP_RUNNING;
    w->stay_at_end = stay_at_end;
    snprintf(w->workspace, sizeof w->workspace, "%s", workspace ? workspace : ".");
    return DD_OK;
}

static void *worker_thread(void *arg)
{
    worker *w = arg;
    double t0 = now_s(), t_status = t0;
    uint64_t events_at_status = 0;
    worker_status st;
    double t_publish = 0;
    while (!atomic_load(&w->stop)) {
        bool ended = sources_ended(w); /* read before popping: see the header comment */
        void *item;
        /* a console keeps the worker up after the end: it still shows it */
        int wait = ended && !w->stay_at_end ? 0 : WORKER_POP_TIMEOUT_MS;
        queue_result r = queue_pop(w->q, &item, w->view ? wait / 2 : wait);
        if (r == QUEUE_OK)
            process(w, item);
        else if ((ended && !w->stay_at_end) || r == QUEUE_CLOSED)
            break;
        double t = now_s();
        if (w->view && t - t_publish >= WORKER_PUBLISH_S) {
            console_tick(w, ended, t0);
            t_publish = t;
        }
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
