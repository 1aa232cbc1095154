/*
 * worker.h: the worker thread, which owns the learning pipeline.
 *
 * It pops parsed events from the bounded queue, runs each through the
 * pipeline, and reports through a worker_output: every alarm as it happens,
 * a status at a fixed wall-clock interval, and a summary at the end. The
 * stream ends when every source has ended and the queue is drained, or when
 * worker_stop() is called (a signal); either way the summary is reported.
 * Only the worker touches the pipeline; other threads read what it reports.
 */
#ifndef DD_WORKER_H
#define DD_WORKER_H

#include "config.h"
#include "pipeline.h"
#include "source.h"

#include <stdbool.h>
#include <stddef.h>

struct queue;

/* Counters the worker reports (a copy: the receiver may keep it). */
typedef struct worker_status {
    uint64_t events;           /* data events processed by this run */
    uint64_t workspace_events; /* ... since the workspace began (with resumed runs) */
    uint64_t labelled;
    double accuracy;         /* prequential, over all labelled events (MAE for regression) */
    double rolling_accuracy; /* over the rolling window */
    double events_per_s;     /* over the last status interval */
    double seconds;          /* wall time since the worker started */
    uint64_t malformed;      /* messages refused by the sources, all sources */
    uint64_t dropped;        /* events dropped by flow policies */
    uint64_t bad_labels;
    uint64_t refused_steps;
    uint64_t unmatched_labels;
    uint64_t joined_labels; /* delayed labels that found their event */
    uint64_t pending_held, pending_expired, pending_evicted; /* events waiting for a label */
    uint64_t pending_replaced;           /* held events replaced by a newer one with the same id */
    uint64_t ts_out_of_order, ts_future; /* event times (pipeline.h) */
    uint64_t deadletter_failures;
    uint64_t warnings, drifts;
    uint64_t alerts;             /* prediction and feature drift alerts reported */
    uint64_t alerts_suppressed;  /* ... held back by the quiet periods (watch.h) */
    uint64_t alarms_dropped;     /* alarms beyond the per-event record array */
    uint64_t unwatched_features; /* feature values beyond [drift] max_features */
    size_t queue_len, queue_cap;
    bool learning;
    bool ended; /* every source has ended */
    /* governance (0 / empty when the worker runs without a workspace) */
    int64_t active_version, challenger_version, previous_version;
    const char *challenger_status; /* static string, or NULL */
    bool awaiting_approval;
    bool writer_accepting; /* false: predicting only, until the backlog is written */
    uint64_t promotions, rollbacks, candidates, checkpoints, unlearned, skipped;
    uint64_t writer_failures, records_refused;
    char audit_head[65]; /* audit head at the last committed checkpoint */
    char writer_error[256];
    /* the first source's connection (live sources) */
    int source_state;        /* source_state */
    uint32_t source_attempt; /* reconnection attempt, 0 when connected */
    int64_t source_next_retry_ms;
    uint64_t source_reconnects;
    uint64_t source_messages, source_bytes;
} worker_status;

/* True when a stream has run WORKER_UNLABELLED_AFTER data events without a
 * label and without an id waiting for one: most likely the label is under a
 * name the schema does not map, and nothing is learned. The outputs say so
 * once, with WORKER_UNLABELLED_HINT. */
#define WORKER_UNLABELLED_AFTER 1000
#define WORKER_UNLABELLED_HINT                                                                     \
    "no label in the first 1000 events, so nothing is learned: labels are read from y, "           \
    "label or target unless [schema] label names the field (driftdeck schema FILE infers it)"
bool worker_status_unlabelled(const worker_status *st);

/* Where the worker reports, all called in the worker thread; any member may
 * be NULL. A worker has up to WORKER_MAX_OUTPUTS (headless printer, sinks,
 * the console's snapshot publisher, the knowledge store's indexer...). */
typedef struct worker_output {
    void *ctx;
    void (*status)(void *ctx, const worker_status *st);
    void (*alarm)(void *ctx, const pipeline_alarm *a, const dd_event *ev);
    /* Every processed event with what the pipeline did with it. */
    void (*event)(void *ctx, const dd_event *ev, const pipeline_result *res);
    /* Called every loop turn (at least every 50 ms) with the pipeline, for
     * periodic work of the worker's thread such as publishing snapshots. */
    void (*tick)(void *ctx, pipeline *p, const worker_status *st);
    void (*summary)(void *ctx, const worker_status *st);
} worker_output;

#define WORKER_MAX_OUTPUTS 8

typedef struct worker worker;

/* Returns a new worker for the sources (borrowed, already started or not),
 * reading q (borrowed), or NULL with *cause set. Free with worker_free()
 * after worker_join(). */
worker *worker_new(const dd_config *cfg, struct queue *q, source **sources, size_t nsources,
                   struct ingest *ing, const worker_output *out, char **cause);
void worker_free(worker *w);

/* Add another output (copied); before worker_start(). DD_EFULL past
 * WORKER_MAX_OUTPUTS. */
dd_err worker_add_output(worker *w, const worker_output *out);

/* Keep the worker up at the end of the stream, ticking, until worker_stop():
 * a console still shows the run and takes commands (export). Before
 * worker_start(). */
void worker_set_linger(worker *w, bool linger);

dd_err worker_start(worker *w, char **cause);
/* Wait for the worker to finish (end of stream, or after worker_stop()). */
void worker_join(worker *w);
/* Ask the worker to finish now; safe from any thread, idempotent. */
void worker_stop(worker *w);

struct governor;
struct writer;

/* The pipeline the worker owns (for the governor to wrap, before worker_start()). */
pipeline *worker_pipeline(worker *w);

/* Run every event through the governor (borrowed) and hand its records to
 * the writer (borrowed). Call before worker_start(). At the end of the
 * stream the worker makes a final checkpoint and closes the session. */
void worker_set_governance(worker *w, struct governor *g, struct writer *wr);

#endif
