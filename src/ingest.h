/*
 * ingest.h: what every source does with a raw message, in the source's own
 * thread: parse it (one event, or a JSON array of events) with the event
 * limits and the schema, give each event its arrival number, and push it to
 * the worker's queue by the flow policy. A message that fails is counted on
 * the source and written, with its reason, to the dead-letter file; the
 * stream goes on. One ingest is shared by every source of a run (the
 * arrival counter and the dead-letter file are behind a lock).
 */
#ifndef DD_INGEST_H
#define DD_INGEST_H

#include "dd.h"
#include "event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct queue;
struct source;
struct schema;

typedef enum ingest_flow {
    INGEST_BLOCK = 0,   /* wait while the queue is full: nothing is lost */
    INGEST_DROP_OLDEST, /* evict the oldest queued event, counted and dead-lettered */
} ingest_flow;

typedef struct ingest ingest;

/* Returns a new ingest pushing to q (borrowed), with limits and schema
 * (borrowed, may be NULL for the default shape), dead letters appended to
 * deadletter_path (NULL: none are written, they are still counted), or NULL
 * with *cause set. Free with ingest_free() after every source has stopped. */
ingest *ingest_new(struct queue *q, const event_limits *lim, const struct schema *sch,
                   const char *deadletter_path, char **cause);
void ingest_free(ingest *ing);

/* Parse and push one raw message received at recv_ts (seconds since the
 * epoch) at source position pos. flow decides what happens when the queue is
 * full. Returns the number of events pushed (0 for a malformed message, which
 * is counted on src and dead-lettered). A message refused because the queue
 * was closed returns -1: the run is ending. */
int ingest_message(ingest *ing, struct source *src, const char *buf, size_t len, bool binary,
                   double recv_ts, uint64_t pos, ingest_flow flow);

/* Parse-free ingest_message() for a message the source already holds as one
 * JSON object (a CSV row): build its event, push it by the flow policy.
 * Borrows obj. raw_len counts as the message's bytes. A refused object is
 * counted and dead-lettered as its JSON text. Same returns as
 * ingest_message(). */
int ingest_object(ingest *ing, struct source *src, const struct cJSON *obj, size_t raw_len,
                  double recv_ts, uint64_t pos, ingest_flow flow);

/* Record a message that the source itself refused (oversized, unreadable)
 * with its reason: counted on src and dead-lettered. */
void ingest_reject(ingest *ing, struct source *src, const char *buf, size_t len, const char *reason,
                   uint64_t pos);

/* Record an event whose label the pipeline refused (wrong type, a class
 * beyond [model] max_classes): the event itself was predicted; its id and
 * label go to the dead-letter file as {"id","y"} with the reason. Called by
 * the worker. Borrows ev. */
void ingest_refused_label(ingest *ing, const dd_event *ev, const char *reason);

/* The size past which the dead-letter file is rotated to PATH.1 (replacing
 * an older PATH.1): at most about twice this on disk. Default 64 MiB; call
 * before any source starts. */
void ingest_set_deadletter_max(ingest *ing, uint64_t bytes);

/* Record a message that the source dropped by its flow policy before
 * parsing (a live source whose own buffer overflowed under drop-oldest):
 * counted as dropped on src and dead-lettered with reason. */
void ingest_drop(ingest *ing, struct source *src, const char *buf, size_t len, const char *reason,
                 uint64_t pos);

/* Dead letters that could not be written (the file failed): counted. */
uint64_t ingest_deadletter_failures(ingest *ing);

#endif
