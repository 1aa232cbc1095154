/*
 * kstore.h: the knowledge store, a vector index of the stream kept fresh in
 * real time for retrieval-augmented generation (issue #9).
 *
 * Source of truth: SQLite in the workspace (DIR/kstore.db, WAL): one row per
 * entry (label, id, ts, embedding version, raw vector, payload JSON) and an
 * FTS5 table over the same entries' text. The hnswlib index (src/vindex.h)
 * is a cache of it: saved to DIR/kstore.hnsw on close with a tag naming the
 * database generation and the embedding version it holds, loaded at open
 * only if both still match, else rebuilt from SQLite. SQLite commits before
 * the index changes, so a kill -9 loses nothing SQLite committed.
 *
 * Flow: the worker calls kstore_submit() with each processed event; the
 * event is filtered, turned into a small item (payload JSON) and pushed into
 * a bounded queue by the configured policy (block, drop oldest, or every
 * k-th). The indexer thread pops batches, embeds (core/embed.h) and writes
 * one SQLite transaction per batch (upsert-replace by id, delete, expiry by
 * age and capacity); the inserter thread then applies the committed batch to
 * the index while the indexer writes the next (SQLite beside hnswlib). When deleted slots pile up
 * (hnswlib 0.6.2 reuses a slot only for the same label) it rebuilds the index
 * from SQLite in the same thread and swaps it in; searches go on meanwhile.
 *
 * Renewing the transform takes the same path: a new frozen model version
 * (mlp kind, kstore_set_model(): a mutex-guarded slot the indexer empties
 * between batches) or statistics refrozen after a drift (features kind,
 * kstore_renew()) change the version, so the rebuild re-embeds every row
 * from its stored payload and the new index is swapped in whole: the index
 * never holds two versions.
 *
 * Threads: the worker submits; the indexer owns the writer connection;
 * kstore_search*() may run on any thread at once (the index behind its
 * read-write lock, one reader connection behind a mutex).
 */
#ifndef DD_KSTORE_H
#define DD_KSTORE_H

#include "dd.h"
#include "embed.h"
#include "event.h"
#include "featpipe.h"
#include "model.h"
#include "vindex.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum kstore_filter {
    KSTORE_FILTER_ALL = 0,  /* every data event */
    KSTORE_FILTER_FIELD,    /* events whose feature filter_field equals filter_value */
    KSTORE_FILTER_LABELLED, /* events that carry a label */
} kstore_filter;

typedef enum kstore_policy {
    KSTORE_QUEUE_BLOCK = 0,   /* the worker waits while the queue is full */
    KSTORE_QUEUE_DROP_OLDEST, /* evict the oldest queued data event, counted */
    KSTORE_QUEUE_EVERY_K,     /* submit every k-th data event, then drop oldest when full */
} kstore_policy;

typedef struct kstore_params {
    embed_params embed;       /* the transform (kind, dim, field, ...) */
    vindex_space space;       /* default cosine */
    uint32_t m;               /* hnswlib M, default 16 */
    uint32_t ef_construction; /* default 100 */
    uint32_t ef_search;       /* default 100 */
    kstore_filter filter;
    char filter_field[64];
    char filter_value[128];
    kstore_policy policy;
    uint32_t every_k;        /* KSTORE_QUEUE_EVERY_K: default 10 */
    uint32_t queue_capacity; /* default 4096 */
    uint32_t batch;          /* events per SQLite transaction, default 256 */
    double max_age;          /* seconds of event time an entry lives; 0: forever */
    uint32_t max_entries; /* capacity, oldest (by ts) expire first; 0: unbounded; default 100000 */
    double compact_ratio; /* rebuild when deleted slots exceed this share, default 0.25 */
    uint32_t compact_min; /* ... and at least this many, default 1024 */
    uint32_t warmup;      /* features kind: events that freeze the statistics, default 1000 */
    bool renew_on_drift;  /* features kind: refreeze after a confirmed drift, default true
                             (read by the worker's feed, src/kstore_feed.h) */
} kstore_params;

typedef enum kstore_found {
    KSTORE_FOUND_VECTOR = 1,
    KSTORE_FOUND_FTS = 2,
    KSTORE_FOUND_BOTH = 3
} kstore_found;

typedef struct kstore_hit {
    char *id;
    char *payload; /* JSON object text */
    char *version; /* the embedding version that embedded it */
    double ts;     /* event time */
    double score;  /* vector: similarity (cosine, ip) or -distance (l2); fts: -bm25 */
    kstore_found found;
} kstore_hit;

typedef struct kstore_results {
    uint32_t n;
    kstore_hit *hits;
} kstore_results;

typedef struct kstore_stats {
    uint64_t submitted;   /* events accepted into the queue */
    uint64_t filtered;    /* events the filter left out (and delayed labels) */
    uint64_t dropped;     /* data events the queue policy dropped */
    uint64_t skipped;     /* events that could not be embedded (no text, bad emb) */
    uint64_t indexed;     /* upserts applied to the index */
    uint64_t deletes;     /* ids removed by op: delete */
    uint64_t expired;     /* entries removed by age or capacity */
    uint64_t compactions; /* index rebuilds after open */
    uint64_t errors;      /* batches that failed (database errors), refused hand-overs */
    uint64_t renewals;    /* transform renewals since open: model versions adopted,
                             statistics refrozen after a drift */
    bool renew_pending;   /* a drift asked for new statistics: waiting for warmup events */
    size_t queued;        /* events waiting for the indexer */
    size_t entries;       /* live entries in the index */
    size_t deleted_slots; /* index slots held by deleted entries */
    size_t slots;         /* index slots allocated */
    size_t memory;        /* index bytes (estimated) */
    double newest_age;    /* seconds since the newest searchable event was submitted; -1: none */
    char version[192];    /* the embedding version in use */
} kstore_stats;

/* Defaults: ngram over "text", d=64, cosine, M 16, ef_construction 100,
 * ef 100, all events, drop oldest, queue 4096, batch 256, no age limit,
 * at most 100 000 entries. */
kstore_params kstore_params_default(void);

typedef struct kstore kstore;

/* Open (creating if needed) the store in workspace directory dir, load or
 * rebuild its index, and start the indexer thread. Borrows p. With
 * read_only, the store's own saved parameters are used (p may be NULL), the
 * index is rebuilt in memory when the saved one is stale, and no thread
 * starts: only kstore_search*() and kstore_get_stats() may be called.
 * Returns NULL with *cause set on failure. Free with kstore_close(). */
kstore *kstore_open(const char *dir, const kstore_params *p, bool read_only, char **cause);

/* Drain the queue, stop the indexer, save the index, close. NULL is a no-op. */
void kstore_close(kstore *s);

/* Hand one processed event to the store (one thread: the worker). Borrows ev; copies
 * what it keeps. Returns DD_OK when queued, filtered or dropped by policy
 * (counted), DD_ENOMEM, or DD_ESTATE after kstore_close() began. */
dd_err kstore_submit(kstore *s, const dd_event *ev);

/* Wait until every event submitted so far is searchable and every model
 * handed over so far is adopted (or timeout_ms passes: DD_EBUSY). For tests,
 * benchmarks and clean shutdown. */
dd_err kstore_flush(kstore *s, int timeout_ms);

/* A caller's test on each candidate hit (the stored row, borrowed for the
 * call), run under the store's reader mutex: keep it cheap and never call the
 * store from it. True keeps the hit. */
typedef bool (*kstore_keep_fn)(void *ctx, const kstore_hit *h);

/* Candidates one index yields at most for a filtered search (see kstore_search). */
#define KSTORE_MAX_FETCH 10000u

typedef struct kstore_query {
    const char *text;    /* a text query: vector search (when the transform embeds text) and FTS5 */
    const float *vector; /* or a vector of dim floats: vector search only */
    uint32_t dim;
    uint32_t k;          /* 1..KSTORE_MAX_K: hits kept from each index */
    unsigned indexes;    /* KSTORE_FOUND_VECTOR, _FTS or _BOTH (0: both) */
    kstore_keep_fn keep; /* NULL: every hit */
    void *keep_ctx;
} kstore_query;

/* Search as q says. Each index answers its k best hits that pass q->keep,
 * merged by id (so at most 2k hits, each saying which index found it). With
 * a filter, an index is asked for 4k candidates (at least 32), then four
 * times more while fewer than k passed and it had more, up to
 * KSTORE_MAX_FETCH candidates: a filter rarer than that may return fewer
 * than k. DD_EINVAL (with a cause) for k out of range, both or neither of
 * text and vector, a vector of the wrong dimension, or a vector with FTS
 * only. Results are new: free with kstore_results_free(). Thread-safe. */
dd_err kstore_search(kstore *s, const kstore_query *q, kstore_results *out, char **cause);

/* Search by text (vector search when the transform embeds text, plus FTS5)
 * or by vector (dim floats), with no filter: kstore_search() shorthands. */
dd_err kstore_search_text(kstore *s, const char *query, uint32_t k, kstore_results *out,
                          char **cause);
dd_err kstore_search_vector(kstore *s, const float *q, uint32_t dim, uint32_t k,
                            kstore_results *out, char **cause);
void kstore_results_free(kstore_results *r);

/* One hit as a JSON object (id, score, age = now - ts, ts, index:
 * "vector" | "fts" | "both", version, payload as an object). Returns a new
 * string (free()), or NULL on no memory. */
char *kstore_hit_json(const kstore_hit *h, double now);
struct cJSON;
struct cJSON *kstore_hit_cjson(const kstore_hit *h, double now); /* cJSON_Delete() it */

/* A consistent-enough copy of the counters (each read atomically). */
void kstore_get_stats(kstore *s, kstore_stats *out);

/* Freshness: seconds from kstore_submit() to searchable, median and 99th
 * percentile over the last 4096 indexed events. DD_ENOTFOUND before any. */
dd_err kstore_freshness(kstore *s, double *p50, double *p99);

/* mlp kind: hand the store a frozen model version: m (an MLP whose last
 * hidden layer has kstore_dim() units) and fp (the feature pipeline state
 * that makes its input), both copies the caller made (model_clone(),
 * featpipe_clone()). Takes m and fp in every case. Any one thread at a time
 * (the worker; the main thread before the worker starts). The indexer adopts
 * it before its next batch: the version changes, every stored row is
 * re-embedded from its payload, the rebuilt index is swapped in. A newer
 * hand-over replaces one not yet adopted. DD_EINVAL (cause set; counted in
 * errors): the store is not mlp, or m does not fit (embed_check_model());
 * DD_ESTATE: read-only or closing. */
dd_err kstore_set_model(kstore *s, model *m, featpipe *fp, uint64_t model_id, char **cause);

/* The model version id last handed over (adopted or not), 0 before any. */
uint64_t kstore_model_id(kstore *s);

/* features kind: a confirmed drift happened. Once `warmup` more events have
 * been embedded, the indexer refreezes the statistics from the newest
 * `warmup` stored raw vectors, re-embeds every row and swaps (counted in
 * renewals). A drift while one is pending restarts the count; before the
 * first freeze it changes nothing. Any thread. DD_EINVAL for other kinds,
 * DD_ESTATE read-only. */
dd_err kstore_renew(kstore *s);

/* Rebuild the index from SQLite now (indexer thread; tests). */
dd_err kstore_compact(kstore *s, char **cause);

/* The index dimension and space (for --vector parsing). */
uint32_t kstore_dim(const kstore *s);

/* Parse names used by the configuration: "all", "field", "labelled";
 * "block", "drop-oldest", "every-k". DD_EINVAL otherwise. */
dd_err kstore_filter_parse(const char *name, kstore_filter *out);
dd_err kstore_policy_parse(const char *name, kstore_policy *out);

#define KSTORE_MAX_K 1000u

#endif
