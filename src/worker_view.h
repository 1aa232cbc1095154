/*
 * worker_view.h: the console's output of the worker (a worker_output).
 *
 * In the worker thread, the view keeps one working snapshot: every processed
 * event updates a few running figures (and every `sample_every` events adds
 * a chart sample), every alarm adds a marker and a log row. Every worker
 * tick (at least every 50 ms) it drains the console's command queue, acts
 * on each command (pause and speed on the sources, freezing learning on a
 * live stream, export, view requests) and answers through the snapshot,
 * then publishes a copy on the board. Other parts of the worker
 * (governance: the version table, the approval in wait) write into the
 * working snapshot through wview_snapshot(). Worker thread only; no locks.
 */
#ifndef DD_WORKER_VIEW_H
#define DD_WORKER_VIEW_H

#include "command.h"
#include "pipeline.h"
#include "snapshot.h"
#include "source.h"
#include "worker.h"

#include <stdbool.h>
#include <stddef.h>

struct queue;

typedef struct wview wview;

typedef struct wview_params {
    uint32_t sample_every; /* events per chart sample (0: 25) */
    double speed;          /* the replay speed the sources started with */
    const char *workspace; /* exports go here (NULL: ".") */
} wview_params;

/* Returns a new view publishing on board, taking commands from cmdq (NULL:
 * none; items are dd_command pointers the view frees), controlling sources
 * (all borrowed), or NULL on no memory. Free with wview_free() after the
 * worker has stopped. */
wview *wview_new(snap_board *board, struct queue *cmdq, source **sources, size_t nsources,
                 const wview_params *p);
void wview_free(wview *v);

/* The worker_output to add to the worker (worker_add_output). */
worker_output wview_output(wview *v);

/* Who decides about model versions: governance plugs in here. Called in
 * the worker thread from the console's commands, with the user who gave the
 * command (for the audit log). version: approve/reject the awaiting one (0:
 * whichever awaits); rollback target (0: the previous version). Each returns
 * DD_OK with a line for the console in text (n bytes), or an error with
 * *cause. export: NULL lets the view write its own JSON Lines or CSV. */
typedef struct wview_decider {
    void *ctx;
    dd_err (*approve)(void *ctx, pipeline *p, uint64_t version, const char *user, char *text,
                      size_t n, char **cause);
    dd_err (*reject)(void *ctx, pipeline *p, uint64_t version, const char *user, char *text,
                     size_t n, char **cause);
    dd_err (*rollback)(void *ctx, pipeline *p, uint64_t version, const char *user, char *text,
                       size_t n, char **cause);
    dd_err (*export_session)(void *ctx, const char *format, const char *dir, const char *user,
                             char *path, size_t n, char **cause);
    /* Record an operator's action that changes the run (pause, resume,
     * step, speed, export) in the audit log; decisions above audit
     * themselves. NULL: not recorded beyond the event log. */
    void (*audit)(void *ctx, const char *user, const char *action, const char *detail);
} wview_decider;

/* Install the decider (copied); before the worker starts. Without one,
 * approve, reject and rollback answer DD_ESTATE "no model registry". */
void wview_set_decider(wview *v, const wview_decider *d);

/* The working snapshot, for the worker's other parts to fill. Valid until
 * wview_free(). */
dd_snapshot *wview_snapshot(wview *v);

/* A log row from elsewhere in the worker (reconnects, errors, decisions). */
void wview_log(wview *v, snap_log_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Write what the view holds (chart samples, markers, log) as "jsonl" or
 * "csv" into dir; *path gets the file's name. DD_EINVAL for another format,
 * DD_EIO when the file cannot be written. */
dd_err wview_export(wview *v, const char *dir, const char *format, char *path, size_t n,
                    char **cause);

#endif
