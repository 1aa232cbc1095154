/*
 * source.h: one interface over every stream source (file, stdin, WebSocket,
 * Kafka).
 *
 * A source runs in its own thread: it reads raw messages, hands each to
 * ingest_message() (ingest.h), which parses it into events in that thread
 * (so the worker gets parsed events), counts and dead-letters bad ones, and
 * pushes events into the worker's bounded queue by the flow policy. A source
 * is opened from a spec ("file:PATH", "-", "ws://...", "wss://...",
 * "kafka://...") by source_open(), which picks the implementation by scheme.
 *
 * Counters and state live in source_stats as atomics: the source thread
 * writes them, the worker reads them for status. A source sets its state to
 * SOURCE_ENDED only after its last push, so "ended and queue empty" means
 * the stream is done.
 */
#ifndef DD_SOURCE_H
#define DD_SOURCE_H

#include "dd.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct queue;
struct ingest;
struct dd_event;
struct wsclient_params;

typedef enum source_state {
    SOURCE_STARTING = 0,
    SOURCE_CONNECTED,    /* live and reading (a file: reading) */
    SOURCE_RECONNECTING, /* waiting for the next attempt */
    SOURCE_PAUSED,       /* replay paused by a command */
    SOURCE_ENDED,        /* end of stream: nothing more will be pushed */
    SOURCE_FAILED,       /* gave up; last_error says why */
} source_state;

const char *source_state_name(source_state s);

typedef struct source_stats {
    _Atomic int state;             /* source_state */
    _Atomic uint64_t messages;     /* raw messages received */
    _Atomic uint64_t bytes;        /* raw bytes received */
    _Atomic uint64_t events;       /* events pushed to the worker */
    _Atomic uint64_t malformed;    /* messages that failed to parse (dead-lettered) */
    _Atomic uint64_t dropped;      /* events dropped by the flow policy or a limit */
    _Atomic uint64_t reconnects;   /* successful reconnections */
    _Atomic uint32_t attempt;      /* current reconnection attempt (0 when connected) */
    _Atomic int64_t next_retry_ms; /* wall ms until the next attempt, when reconnecting */
    _Atomic uint64_t position;     /* bytes consumed (files: offset) */
    _Atomic uint64_t size;         /* total bytes when known (files), else 0 */
} source_stats;

/* Replay control, sent by the worker (from console commands). */
typedef enum source_ctl_kind {
    SOURCE_CTL_PAUSE,
    SOURCE_CTL_RESUME,
    SOURCE_CTL_STEP,  /* one event forward while paused */
    SOURCE_CTL_SPEED, /* arg: speed factor, <= 0 means as fast as possible */
} source_ctl_kind;

typedef struct source source;

struct source_ops {
    const char *kind; /* "file", "stdin", "ws", "kafka" */
    /* Start the source's thread. */
    dd_err (*start)(source *s, char **cause);
    /* Ask the thread to end, wake it, and join it. Idempotent. */
    void (*stop)(source *s);
    /* Free the implementation (after stop). */
    void (*destroy)(source *s);
    /* Replay control; NULL for live sources (they ignore it). */
    void (*control)(source *s, source_ctl_kind kind, double arg);
    /* The worker has processed (and checkpointed) everything up to and
     * including position pos: Kafka commits offsets. NULL if not needed. */
    void (*ack)(source *s, uint64_t pos);
};

/* What a source is opened with (from the configuration and command line). */
typedef struct source_options {
    double speed;          /* replay pace: factor of recorded time; <= 0 as fast as possible */
    uint64_t start_offset; /* files: byte offset to start reading at (resume) */
    uint64_t start_seq;    /* the arrival number of the first event read (resume) */
    int flow;              /* ingest_flow for live sources */
    bool start_paused;     /* replay: open paused */
    const struct wsclient_params *ws; /* ws://, wss://: connection settings; NULL defaults */
    const char *record;               /* ws: also write every message received to this recording */
} source_options;

struct source {
    const struct source_ops *ops;
    char *spec; /* owned: what the user gave, for status */
    source_stats stats;
    struct ingest *ing;   /* borrowed: parsing, dead letters, the queue */
    char last_error[256]; /* written by the source thread before FAILED/RECONNECTING */
    uint64_t line;        /* source thread only: line number of the current message, or 0 */
    /* Called by ingest in the source's thread before each event is pushed
     * (replay pacing); NULL for none. */
    void (*pace)(source *s, const struct dd_event *ev);
    void *impl;
};

/* Open a source from its spec: "file:PATH", "-" (stdin), "ws://", "wss://",
 * "kafka://". Borrows opt and ing. Returns a new, not yet started source, or
 * NULL with *cause set (unknown scheme, unreadable file). Start it with
 * s->ops->start(); free with source_free() (which stops it first). */
source *source_open(const char *spec, const source_options *opt, struct ingest *ing, char **cause);
void source_free(source *s);

/* spec as it may appear in outputs (dead letters, logs, status): a URL loses
 * its user:password@ and its query (where tokens and librdkafka properties
 * such as sasl.password travel), shown as "?<redacted>". Always writes a
 * NUL-terminated string to buf (n > 0). */
void source_spec_redacted(const char *spec, char *buf, size_t n);

/* The WebSocket source (src/source_ws.c); url is "ws://..." or "wss://...". */
source *source_ws_open(const char *url, const source_options *opt, char **cause);

/* The file source (src/source_file.c). */
source *source_file_open(const char *path, const source_options *opt, char **cause);

#endif
