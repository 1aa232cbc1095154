/*
 * pending.h: events waiting for their delayed label, keyed by id.
 *
 * An event that arrives without a label is predicted at once; what
 * evaluation and learning need later is held here: its feature vector as the
 * models saw it (a copy of the sparse input: standardization moves on, so it
 * cannot be rebuilt later), its group, its event time, and the prediction of
 * every live model version (active and challenger), so versions are compared
 * on the same events. A later {"id":..., "y":...} takes the entry out and the
 * pipeline scores and learns then.
 *
 * Bounded: a fixed number of entries (the oldest is evicted, counted, when a
 * new one comes to a full table), and entries expire after an event-time span
 * or a number of newer events (counted). Event time, never the wall clock, so
 * a replay expires the same entries as the live run. Entries sit in a slab
 * with an intrusive list in arrival order (expiry and eviction from its head,
 * O(1) each) and an open-addressing index on the id hash (linear probing,
 * backward-shift deletion: O(1) expected lookup, no tombstones). Expiry by
 * time looks at the head only: with out-of-order event times an entry can
 * outlive its span until the ones before it go.
 */
#ifndef DD_PENDING_H
#define DD_PENDING_H

#include "dd.h"
#include "model.h"
#include "serial.h"
#include "sparse.h"

#include <stdint.h>

#define PENDING_MAX_PREDS 2 /* the active version and at most one challenger */

typedef struct pending_params {
    uint32_t capacity;   /* entries held at most (> 0) */
    double max_age;      /* seconds of event time an entry waits; 0 = no limit */
    uint32_t max_events; /* events that may arrive after it before it expires; 0 = no limit */
} pending_params;

/* capacity 100000, max_age 86400 s (one day), max_events 0. */
void pending_params_default(pending_params *p);

typedef struct pending_pred {
    uint64_t version; /* the model version that predicted */
    model_output out;
} pending_pred;

typedef struct pending_entry {
    char *id;     /* owned */
    char *group;  /* owned, NULL when none */
    double ts;    /* event time */
    uint64_t seq; /* arrival number */
    dd_sparse x;  /* owned copy of the model input */
    uint32_t npred;
    pending_pred pred[PENDING_MAX_PREDS];
} pending_entry;

typedef struct pending_stats {
    uint64_t held, capacity;
    uint64_t added;    /* entries put in */
    uint64_t joined;   /* labels that found their entry */
    uint64_t orphans;  /* labels for an id not held (never seen, expired or evicted) */
    uint64_t expired;  /* entries that waited too long (age or count) */
    uint64_t evicted;  /* entries pushed out by a full table */
    uint64_t replaced; /* entries replaced by a newer event with the same id */
    uint64_t bytes;    /* bytes held by entries' copies (ids, groups, vectors) */
} pending_stats;

typedef struct pending pending;

/* Returns a new, empty table (borrows p), or NULL with *cause set
 * (DD_EINVAL: capacity 0 or above 2^26, a negative age). Free with
 * pending_free(), which frees every entry held. */
pending *pending_new(const pending_params *p, char **cause);
void pending_free(pending *t);

/* Hold an event: copies id, group, x and the npred (<= PENDING_MAX_PREDS)
 * predictions. An entry with the same id is replaced (counted); a full table
 * evicts its oldest entry (counted). On DD_ENOMEM / DD_EINVAL nothing
 * changed. */
dd_err pending_add(pending *t, const char *id, const char *group, double ts, uint64_t seq,
                   const dd_sparse *x, const pending_pred *pred, uint32_t npred);

/* Add the prediction of another live version (a challenger) to the entry
 * held for id, so versions are compared on the same events when the label
 * comes. DD_ENOTFOUND: id not held; DD_EFULL: PENDING_MAX_PREDS already. */
dd_err pending_add_pred(pending *t, const char *id, const pending_pred *pred);

/* Take the entry for id out of the table: *out owns its buffers afterwards
 * (release with pending_entry_clear()). DD_ENOTFOUND (counted as an orphan)
 * when id is not held; *out is then zeroed. */
dd_err pending_take(pending *t, const char *id, pending_entry *out);

/* Free what an entry owns and zero it. NULL or a zeroed entry: no-op. */
void pending_entry_clear(pending_entry *e);

/* Expire, oldest first, the entries older than now_ts - max_age or with more
 * than max_events arrivals after them (now_seq is the newest arrival).
 * Returns how many expired. O(expired). */
uint64_t pending_expire(pending *t, double now_ts, uint64_t now_seq);

/* Whether id is held (no side effect, no counting). */
int pending_contains(const pending *t, const char *id);

void pending_get_stats(const pending *t, pending_stats *st);

/* The held entries, oldest first, and the counters, for a checkpoint (so a
 * resumed run still joins the labels of events held before it stopped).
 * O(held). DD_ENOMEM when w failed. */
dd_err pending_serialize(const pending *t, ser_writer *w);

/* Entries written by pending_serialize() into t, which must be empty
 * (DD_ESTATE otherwise; a smaller capacity evicts the oldest, counted), then
 * the saved counters. Every input index must be below max_index (the model
 * input dimension) and every value finite. DD_ECORRUPT / DD_EVERSION with
 * *cause; on error t may hold some of the entries: free it. */
dd_err pending_deserialize(pending *t, ser_reader *r, uint32_t max_index, char **cause);

#endif
