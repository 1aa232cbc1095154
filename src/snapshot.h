/*
 * snapshot.h: what the worker shows the world, as one immutable,
 * fixed-size value.
 *
 * The worker owns every piece of model state. About 20 times a second it
 * fills a dd_snapshot (counters, source state, chart series, markers, the
 * replay-buffer and event-log rows a console asked for, the version table,
 * the approval in wait) and publishes it on a snap_board. A console reads the
 * latest one and never touches model state. The snapshot has no pointers, so
 * it copies with memcpy and crosses the control socket with snap_encode() /
 * snap_decode(): the in-process console and `driftdeck attach` read the same
 * struct.
 *
 * Charts, markers and the log are rings inside the struct: the worker keeps
 * one working snapshot, pushes into its rings as things happen
 * (snap_chart_push, snap_marker_add, snap_log_add) and publishes a copy.
 *
 * snap_board is a triple buffer (one writer, one reader): publishing and
 * reading each cost one memcpy and one atomic exchange, and neither side
 * ever waits for the other.
 */
#ifndef DD_SNAPSHOT_H
#define DD_SNAPSHOT_H

#include "dd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_SERIES_CAP 240 /* chart samples kept */
#define SNAP_MARKER_CAP 32
#define SNAP_FEATURE_CAP 8  /* most drifted features */
#define SNAP_HIST_BINS 16   /* replay priority histogram */
#define SNAP_REPLAY_ROWS 48 /* replay-buffer rows in one snapshot */
#define SNAP_LOG_CAP 64     /* event-log rows */
#define SNAP_VERSION_CAP 32 /* newest versions in the table */
#define SNAP_DETAIL_LINES 10
#define SNAP_TEXT 96
#define SNAP_NAME 32

typedef enum snap_series {
    SNAP_S_ACC_ACTIVE = 0, /* rolling accuracy (or 1 - normalised error) of the active model */
    SNAP_S_ACC_CHALLENGER, /* the same for the shadow/canary candidate; NaN when none */
    SNAP_S_ERROR,          /* rolling error rate */
    SNAP_S_ADWIN,          /* ADWIN window width */
    SNAP_S_PH,             /* Page-Hinkley statistic */
    SNAP_S_PRED_MEAN,      /* rolling mean of the predictions */
    SNAP_S__COUNT
} snap_series;

typedef enum snap_run_state {
    SNAP_RUNNING = 0,
    SNAP_PAUSED,          /* replay paused: nothing is read */
    SNAP_LEARNING_FROZEN, /* live source paused: predicting, not learning */
    SNAP_ENDED,           /* the stream ended; the worker is idle */
    SNAP_RUN__COUNT
} snap_run_state;

typedef enum snap_marker_kind {
    SNAP_MK_WARNING = 0,
    SNAP_MK_DRIFT,
    SNAP_MK_PROMOTION,
    SNAP_MK_ROLLBACK,
    SNAP_MK__COUNT
} snap_marker_kind;

typedef enum snap_log_kind {
    SNAP_LOG_INFO = 0,
    SNAP_LOG_WARNING, /* drift warning */
    SNAP_LOG_DRIFT,
    SNAP_LOG_PROMOTION,
    SNAP_LOG_APPROVAL,
    SNAP_LOG_ROLLBACK,
    SNAP_LOG_RECONNECT,
    SNAP_LOG_ERROR,
    SNAP_LOG__COUNT
} snap_log_kind;

typedef enum snap_challenger_mode {
    SNAP_CH_NONE = 0,
    SNAP_CH_SHADOW,
    SNAP_CH_CANARY,
    SNAP_CH__COUNT
} snap_challenger_mode;

typedef struct snap_chart {
    uint32_t head;                             /* next slot written */
    uint32_t count;                            /* valid samples, <= SNAP_SERIES_CAP */
    uint64_t pos[SNAP_SERIES_CAP];             /* event number of each sample */
    float val[SNAP_S__COUNT][SNAP_SERIES_CAP]; /* NaN: no value */
} snap_chart;

typedef struct snap_marker {
    uint8_t kind; /* snap_marker_kind */
    uint64_t pos; /* event number */
} snap_marker;

typedef struct snap_feature {
    char name[SNAP_NAME];
    float score; /* detector statistic, larger = more drifted */
} snap_feature;

typedef struct snap_replay_row {
    float priority;
    float loss;
    double label;
    uint64_t age; /* events since it entered the buffer */
    char summary[48];
} snap_replay_row;

typedef struct snap_replay {
    uint32_t capacity, fill;
    uint32_t hist[SNAP_HIST_BINS]; /* counts of priorities, bins evenly over [pmin, pmax] */
    float pmin, pmax;
    uint32_t reachable; /* rows the table can show (the highest priorities) */
    uint32_t offset;    /* index (by priority, highest first) of rows[0] */
    uint32_t nrows;
    snap_replay_row rows[SNAP_REPLAY_ROWS];
} snap_replay;

typedef struct snap_log_row {
    uint64_t id;  /* increasing */
    double ts;    /* event time */
    uint8_t kind; /* snap_log_kind */
    char text[SNAP_TEXT];
} snap_log_row;

typedef struct snap_metrics {
    double accuracy; /* NaN when not applicable */
    double logloss;
    double error; /* MAE for regression, error rate otherwise */
    uint64_t n;   /* examples evaluated */
} snap_metrics;

typedef struct snap_version {
    uint64_t id, parent;
    char trigger[16]; /* "start", "drift", "schedule", "rollback" ... */
    char status[16];  /* "active", "shadow", "canary", "awaiting", "retired", "rejected" */
    double accuracy;
    double created; /* event time */
} snap_version;

typedef struct dd_snapshot {
    uint64_t seq; /* set by snap_board_publish */
    /* header */
    char source[SNAP_TEXT];
    uint8_t source_state;  /* source_state (source.h) */
    bool source_live;      /* a live source: pause freezes learning instead */
    float source_progress; /* 0..1 for files, < 0 unknown */
    int32_t retry_in_ms;   /* reconnecting: time to the next attempt */
    uint64_t events;
    float events_per_s;
    uint32_t queue_len, queue_cap;
    uint64_t drops, malformed;
    uint64_t active_version;
    uint64_t challenger_version; /* 0: none */
    uint8_t challenger_mode;     /* snap_challenger_mode */
    uint8_t run_state;           /* snap_run_state */
    bool learning_blocked;       /* writer queue full: predicting but not learning */
    double speed;                /* replay speed factor; <= 0: as fast as possible */
    /* charts */
    snap_chart chart;
    uint32_t marker_head, marker_count;
    snap_marker markers[SNAP_MARKER_CAP];
    uint32_t nfeatures;
    snap_feature features[SNAP_FEATURE_CAP];
    /* panels */
    snap_replay replay;
    uint32_t log_head, log_count;
    snap_log_row log[SNAP_LOG_CAP];
    uint32_t nversions; /* newest first */
    snap_version versions[SNAP_VERSION_CAP];
    uint64_t detail_version; /* the version detail_lines describe (0: none) */
    char detail_lines[SNAP_DETAIL_LINES][SNAP_TEXT];
    /* approval */
    bool pending;
    uint64_t pending_version;
    snap_metrics pending_metrics, active_metrics;
    /* the answer to the last command */
    uint64_t result_id; /* the command's id (0: none yet) */
    int32_t result_err; /* dd_err */
    char result_text[160];
} dd_snapshot;

/* Reset s to an empty snapshot (series NaN, no rows). This function can't fail. */
void snap_init(dd_snapshot *s);

/* Append one chart sample at event pos; vals has SNAP_S__COUNT values (NaN: none). */
void snap_chart_push(snap_chart *c, uint64_t pos, const float vals[SNAP_S__COUNT]);
/* The ring slot of the i-th sample, oldest first (i < count). */
uint32_t snap_chart_slot(const snap_chart *c, uint32_t i);

void snap_marker_add(dd_snapshot *s, snap_marker_kind kind, uint64_t pos);
/* The i-th marker, oldest first (i < marker_count). */
const snap_marker *snap_marker_at(const dd_snapshot *s, uint32_t i);

/* Append a log row (text is truncated to fit); ids increase by one. */
void snap_log_add(dd_snapshot *s, snap_log_kind kind, double ts, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The i-th log row, newest first (i < log_count). */
const snap_log_row *snap_log_newest(const dd_snapshot *s, uint32_t i);

const char *snap_run_state_name(snap_run_state st);
const char *snap_log_kind_name(snap_log_kind k);
const char *snap_series_name(snap_series k);

/* Upper bound of an encoded snapshot's size. */
#define SNAP_WIRE_MAX 65536u

/* Encode s into buf (cap bytes); *len gets the size. DD_EFULL if it does not fit. */
dd_err snap_encode(const dd_snapshot *s, uint8_t *buf, size_t cap, size_t *len, char **cause);
/* Decode len bytes into *s. DD_EPARSE (with a cause) when the bytes are not a
 * valid snapshot: truncated, counts over capacity, an unknown enum value.
 * *s is unspecified on error (the caller keeps its previous copy). */
dd_err snap_decode(dd_snapshot *s, const uint8_t *buf, size_t len, char **cause);

typedef struct snap_board snap_board;

/* Returns a new board with an empty snapshot, or NULL on no memory.
 * Free with snap_board_free() once neither thread uses it. */
snap_board *snap_board_new(void);
void snap_board_free(snap_board *b);

/* Writer side (one thread): copies s, numbers it (s's own seq is ignored). */
void snap_board_publish(snap_board *b, const dd_snapshot *s);

/* Reader side (one thread): the latest snapshot; *fresh (if not NULL) says
 * whether it is newer than the previous call's. Valid until the next call. */
const dd_snapshot *snap_board_latest(snap_board *b, bool *fresh);

#endif
