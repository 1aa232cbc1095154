/*
 * writer.h: the writer thread: the only code that writes the workspace
 * database while a run is going.
 *
 * The worker hands over records (core/record.h) in order through a bounded
 * queue; the writer applies them with registry_apply() inside one
 * transaction per checkpoint interval and commits when it has applied a
 * checkpoint record, so the database only ever holds complete checkpoints.
 * Records applied but not yet committed are kept until the commit succeeds:
 * if SQLite fails (disk full, read-only, locked) the transaction is rolled
 * back and replayed, in order, after a pause. The worker never waits on the
 * disk: it polls writer_accepting(), which turns false while the database
 * fails or the backlog passes the high-water mark; then the worker keeps
 * predicting but stops learning and stops making governance records (a
 * system that must audit its changes makes none it cannot record).
 */
#ifndef DD_WRITER_H
#define DD_WRITER_H

#include "audit.h"
#include "record.h"
#include "registry.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct writer_params {
    size_t capacity;  /* records queued at most before writer_accepting() is false (4096) */
    size_t reserve;   /* room kept for the records of the current event (256) */
    int retry_ms;     /* pause before replaying after a database failure (200) */
    size_t max_bytes; /* blob bytes held (queued or uncommitted) before not accepting (256 MiB) */
} writer_params;

void writer_params_default(writer_params *p);

/* Called in the writer thread after each successful commit of a checkpoint. */
typedef void (*writer_commit_fn)(void *ctx, uint64_t event_index, uint64_t src_pos,
                                 const char *audit_head);

typedef struct writer writer;

/* Returns a new writer that owns reg (freed by writer_free()), or NULL with
 * *cause set. on_commit may be NULL. */
writer *writer_new(registry *reg, const writer_params *p, writer_commit_fn on_commit, void *ctx,
                   char **cause);
/* Stops the thread (writer_stop()) if running, then frees everything. */
void writer_free(writer *w);

dd_err writer_start(writer *w, char **cause);

/* Hand over every record of l (l is left empty). Never drops: if the queue
 * is past its capacity the caller waits, which only happens to a caller that
 * ignored writer_accepting(). */
void writer_push(writer *w, rec_list *l);

/* May the worker learn and make governance records now? Lock-free. */
bool writer_accepting(const writer *w);

/* Wait (up to timeout_ms) until everything queued is written and committed.
 * Returns false on timeout (the database is failing). For the end of a run,
 * so that the head reported last is the committed one. */
bool writer_sync(writer *w, int timeout_ms);

/* Write everything queued, commit, and end the thread. Returns DD_OK, or the
 * error that kept the last records from being committed (they are lost with
 * the process, and the database holds the last good checkpoint). */
dd_err writer_stop(writer *w, char **cause);

typedef struct writer_stats {
    uint64_t applied, commits, failures, refused; /* refused: records the registry refused */
    size_t backlog;                               /* queued, not yet applied */
    size_t uncommitted;                           /* applied, waiting for the next commit */
    size_t held_bytes;                            /* blob bytes queued or uncommitted */
    bool failing;
    bool accepting;
    char last_error[256];
    char audit_head[AUDIT_HASH_HEX]; /* the head at the last commit */
    uint64_t committed_event;        /* event index of the last committed checkpoint */
} writer_stats;

void writer_get_stats(writer *w, writer_stats *st);

/* Tests and fault injection: run sql on the writer's connection, in its
 * thread, before it applies anything else. */
void writer_run_sql(writer *w, const char *sql);

#endif
