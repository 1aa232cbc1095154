/*
 * worker_view.h: the worker's side of the console protocol.
 *
 * The worker owns one wview. It feeds it every processed event (cheap: a
 * few additions, and every `sample_every` events one chart sample) and every
 * alarm (a marker and a log row), and calls wview_publish() about 20 times
 * a second, which fills the header fields from the worker's status and the
 * source's counters and copies the working snapshot onto the board. Other
 * parts of the worker (governance: the version table, the approval in wait)
 * write into the working snapshot through wview_snapshot() before a publish.
 * Runs in the worker thread only; nothing here locks.
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

typedef struct wview wview;

/* Returns a new view publishing on board (borrowed), or NULL on no memory.
 * sample_every: events per chart sample (0: 25). Free with wview_free(). */
wview *wview_new(snap_board *board, const source *src, uint32_t sample_every);
void wview_free(wview *v);

/* The working snapshot, for the worker's other parts to fill. Valid until
 * wview_free(). */
dd_snapshot *wview_snapshot(wview *v);

/* One processed data event (res from pipeline_process) with the pipeline
 * after it. */
void wview_event(wview *v, const pipeline_result *res, const pipeline *p);

/* One alarm: a chart marker, a log row and, for feature alarms, the feature's
 * drift score. */
void wview_alarm(wview *v, const pipeline_alarm *a, const dd_event *ev);

/* A log row from elsewhere in the worker (reconnects, errors, decisions). */
void wview_log(wview *v, snap_log_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The answer to a command, shown by the console that sent it. */
void wview_answer(wview *v, const dd_command *c, dd_err err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Keep the rows a console asked for (replay offset, version details, log filter). */
void wview_set_view(wview *v, const cmd_view *view);
const cmd_view *wview_get_view(const wview *v);

/* Fill the header from st and the source, then publish a copy. */
void wview_publish(wview *v, const worker_status *st, snap_run_state run_state, double speed);

/* Write what the view holds (chart samples, markers, log) as "jsonl" or
 * "csv" into dir; *path gets the file's name. DD_EINVAL for another format,
 * DD_EIO when the file cannot be written. */
dd_err wview_export(wview *v, const char *dir, const char *format, char *path, size_t n,
                    char **cause);

#endif
