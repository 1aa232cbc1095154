/*
 * kstore.c: the knowledge store (see kstore.h for the design).
 *
 * Layout of this file: parameters; the SQLite schema and its small key/value
 * meta table; items (what crosses from the worker to the indexer); one batch
 * applied as one transaction, then to the index; rebuild (open, compaction,
 * freezing statistics, a changed transform); renewal (a model version handed
 * over, statistics refrozen after a drift); search; open and close.
 *
 * Two threads write: the indexer (embedding, the SQLite transaction of a
 * batch, rebuilds) and the inserter, which applies each committed batch to
 * the index while the indexer writes the next one (one batch in hand, in
 * commit order; a rebuild first waits for it to finish).
 *
 * Costs: an upsert is an indexed SQLite lookup and write plus one hnswlib
 * insert, O(M log n); a rebuild is O(n) inserts; search is one hnswlib query
 * plus k primary-key lookups.
 */
#include "kstore.h"

#include "hash.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"

#define FRESH_RING 4096
#define KSTORE_MAX_BATCH 1024

enum item_op { ITEM_UPSERT = 0, ITEM_DELETE };

typedef struct kitem {
    enum item_op op;
    char *id;
    double ts;
    char *payload; /* ITEM_UPSERT: the event as JSON in the default shape */
    double t_submit;
} kitem;

/* One change to apply to the index after the batch commits, in order. */
typedef struct change {
    enum item_op op;
    int64_t label;
    float *vec; /* ITEM_UPSERT with a vector; NULL: the row is stored but not indexed */
} change;

typedef struct batch {
    change *ch;
    size_t n, cap;
    bool failed;
} batch;

typedef struct wstmts {
    sqlite3_stmt *find, *insert, *update, *del, *fts_del, *fts_ins, *expire_age, *expire_cap, *gen;
} wstmts;

struct kstore {
    kstore_params p;
    char *dir, *db_path, *index_path;
    bool read_only;
    sqlite3 *wdb; /* writer: the indexer thread (or open/close) */
    sqlite3 *rdb; /* reader: searches, behind rlock */
    pthread_mutex_t rlock;
    embed *emb;               /* the indexer's transform */
    pthread_mutex_t emb_lock; /* embed for text queries from other threads */
    vindex *index;
    uint64_t gen;                /* committed changes, mirrored in kstore_meta */
    double stream_ts;            /* newest event time seen */
    uint64_t unfrozen_rows;      /* features kind: rows stored before the freeze */
    uint64_t nrows;              /* rows in kstore_entries */
    wstmts w;                    /* the writer's statements */
    sqlite3_stmt *r_get, *r_fts; /* the reader's statements, behind rlock */
    queue *q;
    pthread_t thread;
    /* the inserter: one committed batch in hand (ins_full), applied to the
     * index while the indexer writes the next transaction; behind ins_lock */
    pthread_t ins_thread;
    pthread_mutex_t ins_lock;
    pthread_cond_t ins_cv;
    batch ins_b;
    kitem *ins_items[KSTORE_MAX_BATCH];
    size_t ins_n;
    bool thread_started, ins_started;
    bool ins_full, ins_stop;
    int closing;
    int compact_req;
    uint64_t every_k_count;
    /* mlp: the hand-over slot (worker -> indexer), behind model_lock */
    pthread_mutex_t model_lock;
    model *next_model;
    featpipe *next_fp;
    uint64_t next_id, model_id;
    uint64_t handed, adopted; /* hand-overs made / taken, behind stat_lock (flush) */
    /* features: renewal after a drift */
    int renew_req;       /* atomic: a drift asked for it */
    int renew_pending;   /* atomic: waiting for warmup events (status) */
    uint64_t renew_rows; /* indexer: events embedded since the drift */
    bool reembed_due;    /* indexer: the transform changed, its rebuild failed: retried */
    /* counters: atomics (written by one thread, read by any) */
    uint64_t submitted, filtered, dropped, skipped, indexed, deletes, expired, compactions, errors,
        renewals, done;
    double newest_submit;      /* monotonic time of the newest searchable item */
    pthread_mutex_t stat_lock; /* fresh ring, flush condition */
    pthread_cond_t done_cv;
    double fresh[FRESH_RING];
    uint64_t nfresh;
    char version[192];
};

/* ---- parameters ---------------------------------------------------------- */

kstore_params kstore_params_default(void)
{
    kstore_params p;
    memset(&p, 0, sizeof p);
    p.embed = embed_params_default();
    p.space = VINDEX_COSINE;
    p.m = 16;
    p.ef_construction = 100;
    p.ef_search = 100;
    p.filter = KSTORE_FILTER_ALL;
    p.policy = KSTORE_QUEUE_DROP_OLDEST;
    p.every_k = 10;
    p.queue_capacity = 4096;
    p.batch = 256;
    p.max_entries = 100000; /* bounded memory by default: ~46 MiB of index at d = 64 */
    p.compact_ratio = 0.25;
    p.compact_min = 1024;
    p.warmup = 1000;
    p.renew_on_drift = true;
    return p;
}

static dd_err name_parse(const char *const *names, int n, const char *name, int *out)
{
    for (int i = 0; i < n; i++)
        if (name && !strcmp(name, names[i])) {
            *out = i;
            return DD_OK;
        }
    return DD_EINVAL;
}

dd_err kstore_filter_parse(const char *name, kstore_filter *out)
{
    static const char *const names[] = {"all", "field", "labelled"};
    int i;
    dd_err err = name_parse(names, 3, name, &i);
    if (!err)
        *out = (kstore_filter)i;
    return err;
}

dd_err kstore_policy_parse(const char *name, kstore_policy *out)
{
    static const char *const names[] = {"block", "drop-oldest", "every-k"};
    int i;
    dd_err err = name_parse(names, 3, name, &i);
    if (!err)
        *out = (kstore_policy)i;
    return err;
}

static double mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

#define ATOMIC_ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)
#define ATOMIC_GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* ---- SQLite ---------------------------------------------------------------- */

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS kstore_meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE IF NOT EXISTS kstore_entries("
    " label INTEGER PRIMARY KEY," /* the index label */
    " id TEXT NOT NULL UNIQUE,"
    " ts REAL NOT NULL,"       /* event time, seconds */
    " ver TEXT NOT NULL,"      /* embedding version of vec */
    " vec BLOB,"               /* raw vector, float32 in host order; NULL: not embeddable */
    " payload TEXT NOT NULL);" /* the event as JSON */
    "CREATE INDEX IF NOT EXISTS kstore_entries_ts ON kstore_entries(ts, label);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS kstore_fts USING fts5(body);"
    "INSERT OR IGNORE INTO kstore_meta(key, value) VALUES('gen', 0);";

static dd_err db_fail(sqlite3 *db, char **cause, const char *what)
{
    return dd_fail(cause, DD_EDB, "kstore: %s: %s", what, db ? sqlite3_errmsg(db) : "no database");
}

static dd_err db_exec(sqlite3 *db, const char *sql, char **cause)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        dd_err err = dd_fail(cause, DD_EDB, "kstore: %s", msg ? msg : "exec failed");
        sqlite3_free(msg);
        return err;
    }
    return DD_OK;
}

static dd_err db_open(const char *path, bool read_only, sqlite3 **out, char **cause)
{
    int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        dd_err err =
            dd_fail(cause, DD_EDB, "kstore: %s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return err;
    }
    sqlite3_busy_timeout(db, 5000);
    /* WAL with synchronous=NORMAL: a commit survives a killed process (only
     * a power loss can take the last commits). */
    dd_err err = read_only
                     ? DD_OK
                     : db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", cause);
    if (!err && !read_only)
        err = db_exec(db, schema_sql, cause);
    if (err) {
        sqlite3_close(db);
        return err;
    }
    *out = db;
    return DD_OK;
}

/* kstore_meta as text; NULL when absent. Returns a new string. */
static char *meta_get(sqlite3 *db, const char *key)
{
    sqlite3_stmt *st;
    char *v = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM kstore_meta WHERE key=?1", -1, &st, NULL))
        return NULL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        const void *b = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0);
        if ((v = malloc((size_t)n + 1))) {
            if (n)
                memcpy(v, b, (size_t)n);
            v[n] = '\0';
        }
    }
    sqlite3_finalize(st);
    return v;
}

static dd_err meta_put(sqlite3 *db, const char *key, const void *val, int len, bool blob,
                       char **cause)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kstore_meta(key, value) VALUES(?1, ?2)", -1,
                           &st, NULL))
        return db_fail(db, cause, "meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (blob)
        sqlite3_bind_blob(st, 2, val, len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_text(st, 2, val, len, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? DD_OK : db_fail(db, cause, "meta");
}

static uint64_t meta_get_u64(sqlite3 *db, const char *key, uint64_t dflt)
{
    char *v = meta_get(db, key);
    uint64_t x = v ? strtoull(v, NULL, 10) : dflt;
    free(v);
    return x;
}

/* The parameters that fix the stored vectors' coordinates, saved so that a
 * read-only opener (driftdeck search) embeds queries the same way: one
 * kstore_meta row each. */
static dd_err save_params(kstore *s, char **cause)
{
    const embed_params *e = &s->p.embed;
    const char *kind = embed_kind_name(e->kind), *space = vindex_space_name(s->p.space);
    dd_err err = meta_put(s->wdb, "kind", kind, -1, false, cause);
    if (!err)
        err = meta_put(s->wdb, "space", space, -1, false, cause);
    if (!err)
        err = meta_put(s->wdb, "text_field", e->text_field, -1, false, cause);
    uint64_t nums[4] = {e->dim, e->ngram_min, e->ngram_max, e->seed};
    static const char *const keys[4] = {"dim", "ngram_min", "ngram_max", "seed"};
    for (int i = 0; !err && i < 4; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)nums[i]);
        err = meta_put(s->wdb, keys[i], buf, n, false, cause);
    }
    return err;
}

static dd_err load_params(sqlite3 *db, kstore_params *p, char **cause)
{
    char *kind = meta_get(db, "kind"), *space = meta_get(db, "space");
    char *field = meta_get(db, "text_field");
    uint64_t dim = meta_get_u64(db, "dim", 0);
    dd_err err = DD_OK;
    if (!kind || !space || !field)
        err = dd_fail(cause, DD_ENOTFOUND, "kstore: the store has no saved parameters yet");
    else if (embed_kind_parse(kind, &p->embed.kind) || vindex_space_parse(space, &p->space) ||
             dim == 0 || dim > 65536)
        err = dd_fail(cause, DD_ECORRUPT, "kstore: saved parameters are malformed");
    if (!err) {
        p->embed.dim = (uint32_t)dim;
        p->embed.ngram_min = (uint32_t)meta_get_u64(db, "ngram_min", 3);
        p->embed.ngram_max = (uint32_t)meta_get_u64(db, "ngram_max", 4);
        p->embed.seed = meta_get_u64(db, "seed", 0);
        snprintf(p->embed.text_field, sizeof p->embed.text_field, "%s", field);
    }
    free(kind);
    free(space);
    free(field);
    return err;
}

/* Restore frozen statistics saved for this very transform (features kind). */
static void restore_stats(kstore *s, sqlite3 *db)
{
    if (embed_is_frozen(s->emb))
        return;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT value FROM kstore_meta WHERE key='stats'", -1, &st, NULL))
        return;
    if (sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_bytes(st, 0) == (int)(2 * embed_dim(s->emb) * sizeof(float)))
        embed_set_stats(s->emb, sqlite3_column_blob(st, 0), NULL);
    sqlite3_finalize(st);
}

/* mlp kind: the version the stored vectors carry, until a model is handed
 * over (a read-only opener never gets one): rows of it stay searchable. */
static void restore_model_version(kstore *s, sqlite3 *db)
{
    if (embed_get_kind(s->emb) != EMBED_MLP)
        return;
    char *v = meta_get(db, "version");
    if (v)
        embed_restore_version(s->emb, v, NULL); /* another transform's: ignored */
    free(v);
}

/* ---- items: from the worker to the indexer ------------------------------- */

static void item_free(void *p)
{
    kitem *it = p;
    if (!it)
        return;
    free(it->id);
    free(it->payload);
    free(it);
}

/* The event as JSON in the default shape, so event_parse_json() reads it back
 * (re-embedding after a transform changes) and RAG clients read it as is. */
static char *event_to_json(const dd_event *ev, const char *id)
{
    cJSON *o = cJSON_CreateObject(), *x = cJSON_AddObjectToObject(o, "x");
    if (!o || !x)
        goto fail;
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddNumberToObject(o, "ts", ev->ts);
    for (uint32_t i = 0; i < ev->nfeat; i++) {
        const dd_feature *f = &ev->feat[i];
        if (f->kind == DD_VAL_NUM)
            cJSON_AddNumberToObject(x, f->name, f->num);
        else if (f->kind == DD_VAL_STR)
            cJSON_AddStringToObject(x, f->name, f->str);
        else
            cJSON_AddNullToObject(x, f->name);
    }
    if (ev->y.kind == DD_LABEL_NUM)
        cJSON_AddNumberToObject(o, "y", ev->y.num);
    else if (ev->y.kind == DD_LABEL_STR)
        cJSON_AddStringToObject(o, "y", ev->y.str);
    if (ev->group)
        cJSON_AddStringToObject(o, "group", ev->group);
    if (ev->text)
        cJSON_AddStringToObject(o, "text", ev->text);
    if (ev->emb && ev->nemb) {
        cJSON *a = cJSON_AddArrayToObject(o, "emb");
        for (uint32_t i = 0; a && i < ev->nemb; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(ev->emb[i]));
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
fail:
    cJSON_Delete(o);
    return NULL;
}

static bool passes_filter(const kstore *s, const dd_event *ev)
{
    switch (s->p.filter) {
    case KSTORE_FILTER_LABELLED:
        return ev->y.kind != DD_LABEL_NONE;
    case KSTORE_FILTER_FIELD: {
        const dd_feature *f = event_find(ev, s->p.filter_field);
        if (!f || f->kind == DD_VAL_MISSING)
            return false;
        if (f->kind == DD_VAL_STR)
            return !strcmp(f->str, s->p.filter_value);
        char *end;
        double want = strtod(s->p.filter_value, &end);
        return end != s->p.filter_value && *end == '\0' && want == f->num;
    }
    default:
        return true;
    }
}

static kitem *item_new(const dd_event *ev)
{
    kitem *it = calloc(1, sizeof *it);
    char seqid[32];
    if (!it)
        return NULL;
    const char *id = ev->id;
    if (!id) { /* an event without id is keyed by its arrival number */
        snprintf(seqid, sizeof seqid, "#%llu", (unsigned long long)ev->seq);
        id = seqid;
    }
    it->op = ev->kind == DD_EV_DELETE ? ITEM_DELETE : ITEM_UPSERT;
    it->id = strdup(id);
    it->ts = ev->ts;
    it->t_submit = mono_now();
    if (it->op == ITEM_UPSERT)
        it->payload = event_to_json(ev, id);
    if (!it->id || (it->op == ITEM_UPSERT && !it->payload)) {
        item_free(it);
        return NULL;
    }
    return it;
}

static void mark_done(kstore *s, uint64_t n)
{
    pthread_mutex_lock(&s->stat_lock);
    s->done += n;
    pthread_cond_broadcast(&s->done_cv);
    pthread_mutex_unlock(&s->stat_lock);
}

/* Push by policy. A delete is never dropped: it waits for room, and one
 * evicted by drop-oldest is pushed again (it may then land after a later
 * upsert of the same id: documented in doc/KSTORE.md). */
static dd_err push_item(kstore *s, kitem *it)
{
    if (it->op == ITEM_DELETE || s->p.policy == KSTORE_QUEUE_BLOCK)
        return queue_push(s->q, it, -1) == QUEUE_OK ? DD_OK : DD_ESTATE;
    void *evicted = NULL;
    if (queue_push_drop_oldest(s->q, it, &evicted) != QUEUE_OK)
        return DD_ESTATE;
    kitem *ev = evicted;
    if (ev && ev->op == ITEM_DELETE) {
        if (queue_push(s->q, ev, -1) != QUEUE_OK) {
            item_free(ev);
            mark_done(s, 1);
        }
    } else if (ev) {
        item_free(ev);
        ATOMIC_ADD(s->dropped, 1);
        mark_done(s, 1);
    }
    return DD_OK;
}

dd_err kstore_submit(kstore *s, const dd_event *ev)
{
    if (s->read_only || ATOMIC_GET(s->closing))
        return DD_ESTATE;
    if (ev->kind == DD_EV_LABEL || (ev->kind == DD_EV_DATA && !passes_filter(s, ev))) {
        ATOMIC_ADD(s->filtered, 1);
        return DD_OK;
    }
    if (ev->kind == DD_EV_DATA && s->p.policy == KSTORE_QUEUE_EVERY_K &&
        s->every_k_count++ % (s->p.every_k ? s->p.every_k : 1) != 0) {
        ATOMIC_ADD(s->dropped, 1);
        return DD_OK;
    }
    kitem *it = item_new(ev);
    if (!it)
        return DD_ENOMEM;
    pthread_mutex_lock(&s->stat_lock);
    s->submitted++;
    pthread_mutex_unlock(&s->stat_lock);
    dd_err err = push_item(s, it);
    if (err) {
        item_free(it);
        mark_done(s, 1);
    }
    return err;
}

dd_err kstore_flush(kstore *s, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    dd_err err = DD_OK;
    pthread_mutex_lock(&s->stat_lock);
    uint64_t target = s->submitted, handed = s->handed;
    while ((s->done < target || s->adopted < handed) && err == DD_OK)
        if (pthread_cond_timedwait(&s->done_cv, &s->stat_lock, &dl) == ETIMEDOUT)
            err = s->done < target || s->adopted < handed ? DD_EBUSY : DD_OK;
    pthread_mutex_unlock(&s->stat_lock);
    return err;
}

/* ---- one batch: one transaction, then the index ---------------------------- */

static const char *const wstmt_sql[] = {
    "SELECT label FROM kstore_entries WHERE id=?1",
    "INSERT INTO kstore_entries(id, ts, ver, vec, payload) VALUES(?1, ?2, ?3, ?4, ?5)",
    "UPDATE kstore_entries SET ts=?2, ver=?3, vec=?4, payload=?5 WHERE label=?1",
    "DELETE FROM kstore_entries WHERE label=?1",
    "DELETE FROM kstore_fts WHERE rowid=?1",
    "INSERT INTO kstore_fts(rowid, body) VALUES(?1, ?2)",
    "DELETE FROM kstore_entries WHERE ts < ?1 RETURNING label",
    "DELETE FROM kstore_entries WHERE label IN (SELECT label FROM kstore_entries" /* NOLINT */
    " ORDER BY ts, label LIMIT ?1) RETURNING label",
    "UPDATE kstore_meta SET value=?1 WHERE key='gen'",
};

static void wstmts_free(wstmts *w)
{
    sqlite3_stmt **a = (sqlite3_stmt **)w;
    for (size_t i = 0; i < DD_ARRAY_LEN(wstmt_sql); i++)
        sqlite3_finalize(a[i]);
    memset(w, 0, sizeof *w);
}

static dd_err wstmts_prepare(sqlite3 *db, wstmts *w, char **cause)
{
    sqlite3_stmt **a = (sqlite3_stmt **)w;
    for (size_t i = 0; i < DD_ARRAY_LEN(wstmt_sql); i++)
        if (sqlite3_prepare_v3(db, wstmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &a[i], NULL)) {
            dd_err err = db_fail(db, cause, "prepare");
            wstmts_free(w);
            return err;
        }
    return DD_OK;
}

/* Run a statement that returns nothing; true on success. */
static bool step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
}

static void batch_push(batch *b, enum item_op op, int64_t label, float *vec)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        change *ch = realloc(b->ch, cap * sizeof *ch);
        if (!ch) {
            free(vec);
            b->failed = true;
            return;
        }
        b->ch = ch;
        b->cap = cap;
    }
    b->ch[b->n++] = (change){op, label, vec};
}

static void batch_clear(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->ch[i].vec);
    b->n = 0;
    b->failed = false;
}

/* The text FTS5 indexes for an event: its text, else its string features. */
static char *fts_body(const dd_event *ev)
{
    if (ev->text)
        return strdup(ev->text);
    size_t len = 1;
    for (uint32_t i = 0; i < ev->nfeat; i++)
        if (ev->feat[i].kind == DD_VAL_STR)
            len += strlen(ev->feat[i].name) + strlen(ev->feat[i].str) + 2;
    char *b = malloc(len), *p = b;
    if (!b)
        return NULL;
    *p = '\0';
    for (uint32_t i = 0; i < ev->nfeat; i++)
        if (ev->feat[i].kind == DD_VAL_STR)
            p += snprintf(p, len - (size_t)(p - b), "%s %s ", ev->feat[i].name, ev->feat[i].str);
    return b;
}

struct kctx {
    kstore *s;
    wstmts *w;
    batch *b;
    int64_t nrows_delta;
};

static bool delete_label(struct kctx *c, int64_t label)
{
    sqlite3_bind_int64(c->w->del, 1, label);
    sqlite3_bind_int64(c->w->fts_del, 1, label);
    if (!step_done(c->w->del) || !step_done(c->w->fts_del))
        return false;
    c->nrows_delta--;
    batch_push(c->b, ITEM_DELETE, label, NULL);
    return true;
}

static int64_t find_label(struct kctx *c, const char *id)
{
    int64_t label = -1;
    sqlite3_bind_text(c->w->find, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(c->w->find) == SQLITE_ROW)
        label = sqlite3_column_int64(c->w->find, 0);
    sqlite3_reset(c->w->find);
    sqlite3_clear_bindings(c->w->find);
    return label;
}

static bool apply_delete(struct kctx *c, const kitem *it)
{
    int64_t label = find_label(c, it->id);
    if (label < 0)
        return true; /* deleting an unknown id is not an error */
    ATOMIC_ADD(c->s->deletes, 1);
    return delete_label(c, label);
}

/* Embed the item's event: raw into *raw (new) or NULL when not embeddable. */
static dd_event *embed_item(kstore *s, const kitem *it, float **raw)
{
    dd_event *ev = NULL;
    *raw = NULL;
    if (event_parse_json(it->payload, strlen(it->payload), NULL, NULL, &ev, NULL))
        return NULL;
    float *v = malloc(embed_dim(s->emb) * sizeof *v);
    if (v && embed_raw(s->emb, ev, v, NULL) == DD_OK)
        *raw = v;
    else
        free(v);
    return ev;
}

static bool write_row(struct kctx *c, const kitem *it, int64_t label, const float *raw)
{
    sqlite3_stmt *st = label >= 0 ? c->w->update : c->w->insert;
    if (label >= 0)
        sqlite3_bind_int64(st, 1, label);
    else
        sqlite3_bind_text(st, 1, it->id, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, it->ts);
    /* An mlp store without its model yet: a version no transform has, so the
     * row is embedded when the model comes (rebuild_row()). */
    sqlite3_bind_text(st, 3, embed_can_embed(c->s->emb) ? embed_version(c->s->emb) : "unembedded",
                      -1, SQLITE_STATIC);
    if (raw)
        sqlite3_bind_blob(st, 4, raw, (int)(embed_dim(c->s->emb) * sizeof *raw), SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    sqlite3_bind_text(st, 5, it->payload, -1, SQLITE_STATIC);
    return step_done(st);
}

static bool apply_upsert(struct kctx *c, const kitem *it)
{
    kstore *s = c->s;
    float *raw;
    dd_event *ev = embed_item(s, it, &raw);
    if (!ev) {
        ATOMIC_ADD(s->skipped, 1);
        return true; /* cannot happen for payloads we wrote; counted */
    }
    if (!raw)
        ATOMIC_ADD(s->skipped, 1);
    int64_t label = find_label(c, it->id);
    bool isnew = label < 0, ok = write_row(c, it, label, raw);
    if (ok && isnew) {
        label = sqlite3_last_insert_rowid(s->wdb);
        c->nrows_delta++;
    }
    char *body = ok ? fts_body(ev) : NULL;
    if (ok && !isnew) { /* a new label has no FTS row yet */
        sqlite3_bind_int64(c->w->fts_del, 1, label);
        ok = step_done(c->w->fts_del);
    }
    if (ok && body && body[0]) {
        sqlite3_bind_int64(c->w->fts_ins, 1, label);
        sqlite3_bind_text(c->w->fts_ins, 2, body, -1, SQLITE_STATIC);
        ok = step_done(c->w->fts_ins);
    }
    free(body);
    event_free(ev);
    if (ok && raw)
        s->renew_rows++; /* counts toward a pending renewal */
    if (ok && raw && !embed_is_frozen(s->emb)) {
        s->unfrozen_rows += isnew;
        free(raw);
        raw = NULL; /* stored, indexed after the statistics freeze */
    } else if (ok && raw) {
        embed_finish(s->emb, raw, raw);
    }
    if (ok)
        batch_push(c->b, raw ? ITEM_UPSERT : ITEM_DELETE, label, raw);
    else
        free(raw);
    if (it->ts > s->stream_ts)
        s->stream_ts = it->ts;
    return ok;
}

/* Delete the rows a RETURNING statement yields (expiry). */
static bool expire_with(struct kctx *c, sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t label = sqlite3_column_int64(st, 0);
        sqlite3_bind_int64(c->w->fts_del, 1, label);
        if (!step_done(c->w->fts_del))
            break;
        c->nrows_delta--;
        ATOMIC_ADD(c->s->expired, 1);
        batch_push(c->b, ITEM_DELETE, label, NULL);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
}

static bool apply_expiry(struct kctx *c, uint64_t nrows)
{
    kstore *s = c->s;
    bool ok = true;
    if (s->p.max_age > 0 && s->stream_ts > 0) {
        sqlite3_bind_double(c->w->expire_age, 1, s->stream_ts - s->p.max_age);
        ok = expire_with(c, c->w->expire_age);
    }
    int64_t now_rows = (int64_t)nrows + c->nrows_delta;
    if (ok && s->p.max_entries && now_rows > (int64_t)s->p.max_entries) {
        sqlite3_bind_int64(c->w->expire_cap, 1, now_rows - (int64_t)s->p.max_entries);
        ok = expire_with(c, c->w->expire_cap);
    }
    return ok;
}

static uint64_t index_tag(const kstore *s)
{
    char buf[320];
    int n = snprintf(buf, sizeof buf, "gen=%llu space=%s ver=%s", (unsigned long long)s->gen,
                     vindex_space_name(s->p.space), embed_version(s->emb));
    return hash_bytes(buf, (size_t)n, 0);
}

static bool bump_gen(kstore *s)
{
    sqlite3_int64 next = (sqlite3_int64)s->gen + 1;
    sqlite3_bind_int64(s->w.gen, 1, next);
    if (!step_done(s->w.gen))
        return false;
    s->gen++;
    return true;
}

/* Apply the committed changes to the index, in order. While a renewed
 * transform waits for its rebuild (reembed_due) the index still holds the
 * old version's vectors: an upsert only takes the entry's old vector out
 * (the rebuild indexes the new one), so two versions never meet. */
static void apply_changes(kstore *s, const batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const change *c = &b->ch[i];
        if (c->op == ITEM_UPSERT && !s->reembed_due) {
            if (vindex_upsert(s->index, (uint64_t)c->label, c->vec, NULL) == DD_OK)
                ATOMIC_ADD(s->indexed, 1);
            else
                ATOMIC_ADD(s->errors, 1);
        } else {
            vindex_delete(s->index, (uint64_t)c->label); /* absent is fine */
        }
    }
}

static void record_freshness(kstore *s, kitem **items, size_t n)
{
    double now = mono_now(), newest = 0;
    pthread_mutex_lock(&s->stat_lock);
    for (size_t i = 0; i < n; i++) {
        s->fresh[s->nfresh++ % FRESH_RING] = now - items[i]->t_submit;
        if (items[i]->t_submit > newest)
            newest = items[i]->t_submit;
    }
    if (newest > s->newest_submit)
        s->newest_submit = newest;
    pthread_mutex_unlock(&s->stat_lock);
}

/* ---- the inserter: the index side of a committed batch ---------------------- */

/* Apply a committed batch to the index, then it is searchable (freshness).
 * Frees b's vectors and the items; the indexer counts them done once its
 * upkeep after them has run (indexer_main()). */
static void finish_batch(kstore *s, batch *b, kitem **items, size_t n)
{
    apply_changes(s, b);
    record_freshness(s, items, n);
    batch_clear(b);
    free(b->ch);
    for (size_t i = 0; i < n; i++)
        item_free(items[i]);
}

static void *inserter_main(void *arg)
{
    kstore *s = arg;
    pthread_mutex_lock(&s->ins_lock);
    for (;;) {
        while (!s->ins_full && !s->ins_stop)
            pthread_cond_wait(&s->ins_cv, &s->ins_lock);
        if (!s->ins_full)
            break; /* stopped with nothing in hand */
        pthread_mutex_unlock(&s->ins_lock);
        finish_batch(s, &s->ins_b, s->ins_items, s->ins_n); /* the slot is ours while full */
        pthread_mutex_lock(&s->ins_lock);
        s->ins_full = false;
        pthread_cond_broadcast(&s->ins_cv);
    }
    pthread_mutex_unlock(&s->ins_lock);
    return NULL;
}

/* The two below run in the indexer thread, which start_thread() starts only
 * once the inserter runs. */

/* Wait until the inserter holds nothing: the index is the indexer's. */
static void inserter_drain(kstore *s)
{
    pthread_mutex_lock(&s->ins_lock);
    while (s->ins_full)
        pthread_cond_wait(&s->ins_cv, &s->ins_lock);
    pthread_mutex_unlock(&s->ins_lock);
}

/* Give a committed batch to the inserter (waiting while it holds the
 * previous one); takes b's changes and the items. */
static void inserter_give(kstore *s, batch *b, kitem **items, size_t n)
{
    pthread_mutex_lock(&s->ins_lock);
    while (s->ins_full)
        pthread_cond_wait(&s->ins_cv, &s->ins_lock);
    s->ins_b = *b;
    memcpy(s->ins_items, items, n * sizeof(kitem *));
    s->ins_n = n;
    s->ins_full = true;
    pthread_cond_broadcast(&s->ins_cv);
    pthread_mutex_unlock(&s->ins_lock);
    *b = (batch){0};
}

/* One transaction for n items; once it commits, the inserter applies it to
 * the index and frees the items: returns n, to be counted done later. On a
 * database error the transaction rolls back, the index is untouched, and
 * the items are counted as errors (the database is the truth: they were
 * never stored), freed and done: returns 0. */
static size_t run_batch(kstore *s, kitem **items, size_t n)
{
    batch b = {0};
    struct kctx c = {s, &s->w, &b, 0};
    double stream_ts = s->stream_ts;
    uint64_t unfrozen = s->unfrozen_rows;
    bool ok = db_exec(s->wdb, "BEGIN IMMEDIATE", NULL) == DD_OK;
    for (size_t i = 0; ok && i < n; i++)
        ok = items[i]->op == ITEM_DELETE ? apply_delete(&c, items[i]) : apply_upsert(&c, items[i]);
    ok = ok && apply_expiry(&c, s->nrows) && !b.failed && bump_gen(s);
    ok = ok && db_exec(s->wdb, "COMMIT", NULL) == DD_OK;
    if (ok) {
        s->nrows = (uint64_t)((int64_t)s->nrows + c.nrows_delta);
        inserter_give(s, &b, items, n);
        return n;
    } else {
        db_exec(s->wdb, "ROLLBACK", NULL);
        s->stream_ts = stream_ts;
        s->unfrozen_rows = unfrozen;
        s->gen = meta_get_u64(s->wdb, "gen", s->gen);
        ATOMIC_ADD(s->errors, n);
    }
    batch_clear(&b);
    free(b.ch);
    for (size_t i = 0; i < n; i++)
        item_free(items[i]);
    mark_done(s, n);
    return 0;
}

/* ---- rebuild: open, compaction, frozen statistics, a changed transform ---- */

typedef struct reembed {
    int64_t label;
    float *raw; /* NULL: not embeddable by the current transform */
} reembed;

static vindex *index_new(const kstore *s, size_t cap, char **cause)
{
    vindex_params vp = vindex_params_default();
    vp.space = s->p.space;
    vp.dim = embed_dim(s->emb);
    vp.capacity = cap < 1024 ? 1024 : cap;
    vp.m = s->p.m;
    vp.ef_construction = s->p.ef_construction;
    vp.ef_search = s->p.ef_search;
    return vindex_new(&vp, cause);
}

/* Index one stored row into v; rows of another version are re-embedded from
 * their payload and remembered in *re (to write back). */
static dd_err rebuild_row(kstore *s, vindex *v, sqlite3_stmt *st, reembed **re, size_t *nre)
{
    int64_t label = sqlite3_column_int64(st, 0);
    const char *ver = (const char *)sqlite3_column_text(st, 1);
    uint32_t dim = embed_dim(s->emb);
    float *raw = NULL;
    if (ver && !strcmp(ver, embed_version(s->emb))) {
        if (sqlite3_column_bytes(st, 2) != (int)(dim * sizeof(float)) || !embed_is_frozen(s->emb))
            return DD_OK; /* stored as not embeddable, or waiting for the freeze */
        if (!(raw = malloc(dim * sizeof *raw)))
            return DD_ENOMEM;
        memcpy(raw, sqlite3_column_blob(st, 2), dim * sizeof *raw);
    } else {
        if (!embed_can_embed(s->emb))
            return DD_OK; /* mlp without its model: left as stored until it comes */
        kitem it = {ITEM_UPSERT, NULL, 0, (char *)sqlite3_column_text(st, 3), 0};
        event_free(embed_item(s, &it, &raw));
        reembed *r = realloc(*re, (*nre + 1) * sizeof *r);
        if (!r) {
            free(raw);
            return DD_ENOMEM;
        }
        *re = r;
        r[*nre].label = label;
        r[*nre].raw = NULL;
        if (raw && !(r[*nre].raw = malloc(dim * sizeof *raw))) {
            free(raw);
            return DD_ENOMEM;
        }
        if (raw)
            memcpy(r[*nre].raw, raw, dim * sizeof *raw);
        (*nre)++;
        if (raw && !embed_is_frozen(s->emb)) {
            free(raw);
            return DD_OK;
        }
    }
    dd_err err = DD_OK;
    if (raw) {
        embed_finish(s->emb, raw, raw);
        err = vindex_upsert(v, (uint64_t)label, raw, NULL);
    }
    free(raw);
    return err;
}

/* Store re-embedded rows under the current version. Writer only. */
static dd_err write_reembedded(kstore *s, reembed *re, size_t n, char **cause)
{
    if (!n || s->read_only)
        return DD_OK;
    sqlite3_stmt *st;
    if (db_exec(s->wdb, "BEGIN IMMEDIATE", cause))
        return DD_EDB;
    if (sqlite3_prepare_v2(s->wdb, "UPDATE kstore_entries SET vec=?2, ver=?3 WHERE label=?1", -1,
                           &st, NULL)) {
        db_exec(s->wdb, "ROLLBACK", NULL);
        return db_fail(s->wdb, cause, "prepare");
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        sqlite3_bind_int64(st, 1, re[i].label);
        if (re[i].raw)
            sqlite3_bind_blob(st, 2, re[i].raw, (int)(embed_dim(s->emb) * sizeof(float)),
                              SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 2);
        sqlite3_bind_text(st, 3, embed_version(s->emb), -1, SQLITE_STATIC);
        ok = step_done(st);
    }
    sqlite3_finalize(st);
    ok = ok && bump_gen(s) && db_exec(s->wdb, "COMMIT", NULL) == DD_OK;
    if (!ok) {
        db_exec(s->wdb, "ROLLBACK", NULL);
        return db_fail(s->wdb, cause, "re-embedding");
    }
    return DD_OK;
}

/* A new index holding every embeddable row of db. O(n) inserts. */
static vindex *rebuild(kstore *s, sqlite3 *db, char **cause)
{
    vindex *v = index_new(s, s->nrows + s->nrows / 4, cause);
    sqlite3_stmt *st = NULL;
    reembed *re = NULL;
    size_t nre = 0;
    dd_err err = v ? DD_OK : DD_ENOMEM;
    if (!err && sqlite3_prepare_v2(db,
                                   "SELECT label, ver, vec, payload FROM kstore_entries"
                                   " ORDER BY label",
                                   -1, &st, NULL))
        err = db_fail(db, cause, "rebuild");
    int rc = SQLITE_DONE;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((err = rebuild_row(s, v, st, &re, &nre)))
            dd_fail(cause, err, "kstore: rebuild: %s", dd_strerror(err));
    if (!err && rc != SQLITE_DONE)
        err = db_fail(db, cause, "rebuild");
    sqlite3_finalize(st);
    if (!err)
        err = write_reembedded(s, re, nre, cause);
    for (size_t i = 0; i < nre; i++)
        free(re[i].raw);
    free(re);
    if (err) {
        vindex_free(v);
        return NULL;
    }
    return v;
}

/* Rebuild and swap it in: searches see the old index until the swap. */
static dd_err compact(kstore *s, char **cause)
{
    inserter_drain(s); /* every committed change is in the old index first */
    vindex *v = rebuild(s, s->wdb, cause);
    if (!v)
        return DD_EDB;
    dd_err err = vindex_swap(s->index, v, cause);
    vindex_free(v);
    if (!err)
        ATOMIC_ADD(s->compactions, 1);
    return err;
}

/* The renewed transform is in force: publish its version (status readers
 * copy it; the saved one lets an mlp store's rows stay searchable before
 * the next hand-over and in read-only openers). */
static void publish_version(kstore *s)
{
    if (embed_get_kind(s->emb) == EMBED_MLP &&
        meta_put(s->wdb, "version", embed_version(s->emb), -1, false, NULL) != DD_OK)
        ATOMIC_ADD(s->errors, 1);
    pthread_mutex_lock(&s->stat_lock);
    snprintf(s->version, sizeof s->version, "%s", embed_version(s->emb));
    pthread_mutex_unlock(&s->stat_lock);
}

/* The transform changed: re-embed every row of another version and swap
 * the rebuilt index in. On failure (a failing database, no memory; counted
 * in errors) the old index keeps serving and the rebuild is retried before
 * each batch until it succeeds (apply_changes() keeps the versions apart
 * meanwhile). */
static void reembed_all(kstore *s)
{
    if (compact(s, NULL) != DD_OK) {
        s->reembed_due = true;
        ATOMIC_ADD(s->errors, 1);
        return;
    }
    s->reembed_due = false;
    publish_version(s);
}

/* Features kind: freeze the statistics from stored raw vectors of the
 * current version (at the first freeze the unfrozen rows, at most 100 000;
 * when renewing, the newest `warmup`), persist them, and re-embed
 * everything. */
static dd_err freeze_stats(kstore *s, bool newest, char **cause)
{
    uint32_t dim = embed_dim(s->emb);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->wdb,
                           newest ? "SELECT vec FROM kstore_entries WHERE ver=?1 AND length(vec)=?2"
                                    " ORDER BY ts DESC, label DESC LIMIT ?3"
                                  : "SELECT vec FROM kstore_entries WHERE ver=?1 AND length(vec)=?2"
                                    " LIMIT ?3",
                           -1, &st, NULL))
        return db_fail(s->wdb, cause, "freeze");
    sqlite3_bind_text(st, 1, embed_version(s->emb), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, (int)(dim * sizeof(float)));
    sqlite3_bind_int64(st, 3, newest ? (sqlite3_int64)s->p.warmup : 100000);
    float *raws = NULL;
    size_t n = 0;
    dd_err err = DD_OK;
    while (!err && sqlite3_step(st) == SQLITE_ROW) {
        float *r = realloc(raws, (n + 1) * dim * sizeof *r);
        if (!r) {
            err = DD_ENOMEM;
            break;
        }
        raws = r;
        memcpy(raws + n++ * dim, sqlite3_column_blob(st, 0), dim * sizeof *raws);
    }
    sqlite3_finalize(st);
    if (!err)
        err = embed_freeze(s->emb, raws, n, cause);
    free(raws);
    if (!err)
        err = meta_put(s->wdb, "stats", embed_stats(s->emb), (int)(2 * dim * sizeof(float)), true,
                       cause);
    if (!err) {
        s->unfrozen_rows = 0;
        reembed_all(s);
    }
    return err;
}

/* mlp kind: adopt the model handed over last, if any, and re-embed. */
static void adopt_model(kstore *s)
{
    pthread_mutex_lock(&s->model_lock);
    model *m = s->next_model;
    featpipe *fp = s->next_fp;
    uint64_t id = s->next_id;
    s->next_model = NULL;
    s->next_fp = NULL;
    pthread_mutex_unlock(&s->model_lock);
    if (!m)
        return;
    pthread_mutex_lock(&s->emb_lock);
    dd_err err = embed_set_model(s->emb, m, fp, id, NULL);
    pthread_mutex_unlock(&s->emb_lock);
    if (err) {
        ATOMIC_ADD(s->errors, 1);
    } else {
        ATOMIC_ADD(s->renewals, 1);
        reembed_all(s);
    }
    pthread_mutex_lock(&s->stat_lock);
    s->adopted++;
    pthread_cond_broadcast(&s->done_cv);
    pthread_mutex_unlock(&s->stat_lock);
}

/* features kind: a drift asked for new statistics (kstore_renew()): count
 * the events embedded from now on (before the batch: its events came after
 * the drift). Before the first freeze there is nothing to renew. */
static void take_renew_request(kstore *s)
{
    if (__atomic_exchange_n(&s->renew_req, 0, __ATOMIC_ACQ_REL) && embed_is_frozen(s->emb)) {
        s->renew_rows = 0;
        __atomic_store_n(&s->renew_pending, 1, __ATOMIC_RELEASE);
    }
}

/* Once warmup events have been embedded since the drift, refreeze from the
 * newest of them. */
static void renew_stats(kstore *s)
{
    if (!ATOMIC_GET(s->renew_pending) || s->renew_rows < s->p.warmup)
        return;
    __atomic_store_n(&s->renew_pending, 0, __ATOMIC_RELEASE);
    if (freeze_stats(s, true, NULL) != DD_OK)
        ATOMIC_ADD(s->errors, 1);
    else
        ATOMIC_ADD(s->renewals, 1);
}

static bool wants_compaction(kstore *s)
{
    size_t del = vindex_deleted(s->index), live = vindex_count(s->index);
    return del >= s->p.compact_min && (double)del > s->p.compact_ratio * (double)(del + live);
}

/* ---- the indexer thread ------------------------------------------------------ */

/* After a batch: the first freeze of a features transform, a renewal due,
 * a compaction due or asked for. */
static void upkeep(kstore *s)
{
    if (!embed_is_frozen(s->emb) && s->unfrozen_rows >= s->p.warmup &&
        freeze_stats(s, false, NULL) != DD_OK)
        ATOMIC_ADD(s->errors, 1);
    renew_stats(s);
    if (ATOMIC_GET(s->compact_req) || wants_compaction(s)) {
        if (compact(s, NULL) != DD_OK)
            ATOMIC_ADD(s->errors, 1);
        __atomic_store_n(&s->compact_req, 0, __ATOMIC_RELEASE);
    }
}

/* Items count as done (kstore_flush()) once the inserter has applied them
 * and the upkeep after them has run: while events flow that is one batch
 * behind (handing batch k over waits for batch k-1), when idle the inserter
 * is drained first. */
static void *indexer_main(void *arg)
{
    kstore *s = arg;
    kitem *items[KSTORE_MAX_BATCH];
    size_t cap = s->p.batch, owed = 0;
    for (;;) {
        void *p;
        queue_result r = queue_pop(s->q, &p, 100);
        if (r == QUEUE_CLOSED)
            break;
        if (s->reembed_due)
            reembed_all(s);
        adopt_model(s); /* before the batch: a hand-over made before these events covers them */
        take_renew_request(s);
        size_t n = 0, handed = 0;
        if (r == QUEUE_OK) {
            items[n++] = p;
            while (n < cap && queue_pop(s->q, &p, 0) == QUEUE_OK)
                items[n++] = p;
            handed = run_batch(s, items, n);
        }
        if (!handed)
            inserter_drain(s);
        upkeep(s);
        if (owed)
            mark_done(s, owed);
        owed = handed;
    }
    inserter_drain(s);
    if (owed)
        mark_done(s, owed);
    return NULL;
}

dd_err kstore_set_model(kstore *s, model *m, featpipe *fp, uint64_t model_id, char **cause)
{
    dd_err err = DD_OK;
    if (s->read_only || ATOMIC_GET(s->closing))
        err = dd_fail(cause, DD_ESTATE, "kstore: the store is read-only or closing");
    else if ((err = embed_check_model(s->emb, m, cause)) == DD_OK && !fp)
        err = dd_fail(cause, DD_EINVAL, "kstore: the model comes with its feature state");
    if (err) {
        if (err == DD_EINVAL)
            ATOMIC_ADD(s->errors, 1);
        model_free(m);
        featpipe_free(fp);
        return err;
    }
    pthread_mutex_lock(&s->model_lock);
    model *old = s->next_model;
    featpipe *old_fp = s->next_fp;
    s->next_model = m;
    s->next_fp = fp;
    s->next_id = s->model_id = model_id;
    pthread_mutex_unlock(&s->model_lock);
    pthread_mutex_lock(&s->stat_lock);
    if (old)
        s->adopted++; /* replaced before the indexer took it: it counts as done */
    s->handed++;
    pthread_mutex_unlock(&s->stat_lock);
    model_free(old);
    featpipe_free(old_fp);
    return DD_OK;
}

uint64_t kstore_model_id(kstore *s)
{
    pthread_mutex_lock(&s->model_lock);
    uint64_t id = s->model_id;
    pthread_mutex_unlock(&s->model_lock);
    return id;
}

dd_err kstore_renew(kstore *s)
{
    if (s->read_only)
        return DD_ESTATE;
    if (embed_get_kind(s->emb) != EMBED_FEATURES)
        return DD_EINVAL;
    __atomic_store_n(&s->renew_req, 1, __ATOMIC_RELEASE);
    return DD_OK;
}

dd_err kstore_compact(kstore *s, char **cause)
{
    if (s->read_only)
        return dd_fail(cause, DD_ESTATE, "kstore: read-only");
    uint64_t before = ATOMIC_GET(s->compactions);
    __atomic_store_n(&s->compact_req, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 60000 && ATOMIC_GET(s->compact_req); i++) {
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
    }
    return ATOMIC_GET(s->compactions) > before ? DD_OK
                                               : dd_fail(cause, DD_EBUSY, "kstore: no compaction");
}

/* ---- search ------------------------------------------------------------------- */

static double score_of(const kstore *s, float dist)
{
    return s->p.space == VINDEX_L2 ? -sqrt(dist > 0 ? dist : 0) : 1.0 - dist;
}

/* What add_hit() did with a candidate. */
typedef enum hit_outcome {
    HIT_SKIPPED = 0, /* gone from SQLite, refused by the caller's filter, or already found here */
    HIT_ADDED,       /* a new hit */
    HIT_MERGED,      /* found by the other index too: now "both" */
} hit_outcome;

/* Append the stored row for label when it passes q's filter; a row gone
 * since the index answered (deleted, expired) is skipped: search never
 * returns what SQLite lost. Caller holds rlock. */
static dd_err add_hit(kstore *s, const kstore_query *q, kstore_results *r, int64_t label,
                      double score, kstore_found found, hit_outcome *what)
{
    sqlite3_stmt *st = s->r_get;
    sqlite3_bind_int64(st, 1, label);
    dd_err err = DD_OK;
    *what = HIT_SKIPPED;
    if (sqlite3_step(st) != SQLITE_ROW)
        goto out;
    const char *id = (const char *)sqlite3_column_text(st, 0);
    for (uint32_t i = 0; id && i < r->n; i++)
        if (!strcmp(r->hits[i].id, id)) { /* passed the filter already */
            if (!(r->hits[i].found & found))
                *what = HIT_MERGED;
            r->hits[i].found |= found;
            goto out;
        }
    const char *payload = (const char *)sqlite3_column_text(st, 3);
    const char *version = (const char *)sqlite3_column_text(st, 2);
    kstore_hit view = {.id = (char *)(id ? id : ""),
                       .payload = (char *)(payload ? payload : ""),
                       .version = (char *)(version ? version : ""),
                       .ts = sqlite3_column_double(st, 1),
                       .score = score,
                       .found = found};
    if (q->keep && !q->keep(q->keep_ctx, &view))
        goto out;
    kstore_hit *h = &r->hits[r->n];
    *h = view;
    h->id = strdup(view.id);
    h->version = strdup(view.version);
    h->payload = strdup(view.payload);
    if (!h->id || !h->version || !h->payload) {
        free(h->id);
        free(h->version);
        free(h->payload);
        err = DD_ENOMEM;
    } else {
        r->n++;
        *what = HIT_ADDED;
    }
out:
    sqlite3_reset(st);
    return err;
}

static dd_err results_alloc(kstore_results *out, uint32_t k, char **cause)
{
    out->n = 0;
    out->hits = calloc(2u * k, sizeof *out->hits);
    if (!out->hits)
        return dd_fail(cause, DD_ENOMEM, "kstore: out of memory");
    return DD_OK;
}

/* Candidates asked of an index first: k without a filter; with one, 4k (at
 * least 32), then four times more each round while fewer than k passed and
 * the index had more, up to KSTORE_MAX_FETCH. */
static uint32_t first_fetch(const kstore_query *q)
{
    if (!q->keep)
        return q->k;
    uint32_t f = q->k * 4 < 32 ? 32 : q->k * 4;
    return f > KSTORE_MAX_FETCH ? KSTORE_MAX_FETCH : f;
}

static uint32_t next_fetch(const kstore_query *q, uint32_t fetch, uint32_t got, uint32_t kept)
{
    if (!q->keep || kept >= q->k || got < fetch || fetch >= KSTORE_MAX_FETCH)
        return 0;
    return fetch * 4 > KSTORE_MAX_FETCH ? KSTORE_MAX_FETCH : fetch * 4;
}

/* Candidates [from, m) of one index, best first, until k are kept. */
static dd_err take_candidates(kstore *s, const kstore_query *q, kstore_results *out,
                              const int64_t *labels, const double *scores, uint32_t from,
                              uint32_t m, kstore_found found, uint32_t *kept)
{
    dd_err err = DD_OK;
    pthread_mutex_lock(&s->rlock);
    for (uint32_t i = from; !err && i < m && *kept < q->k; i++) {
        hit_outcome what;
        err = add_hit(s, q, out, labels[i], scores[i], found, &what);
        *kept += what != HIT_SKIPPED;
    }
    pthread_mutex_unlock(&s->rlock);
    return err;
}

static dd_err vector_part(kstore *s, const kstore_query *q, const float *vec, kstore_results *out,
                          char **cause)
{
    uint32_t fetch = first_fetch(q), seen = 0, kept = 0, m = 0;
    dd_err err = DD_OK;
    while (fetch && !err) {
        vindex_hit *hits = malloc(fetch * sizeof *hits);
        int64_t *labels = malloc(fetch * sizeof *labels);
        double *scores = malloc(fetch * sizeof *scores);
        if (!hits || !labels || !scores)
            err = DD_ENOMEM;
        else
            err = vindex_search(s->index, vec, fetch, 0, hits, &m, cause);
        for (uint32_t i = 0; !err && i < m; i++) {
            labels[i] = (int64_t)hits[i].label;
            scores[i] = score_of(s, hits[i].dist);
        }
        /* a bigger search repeats the smaller one's best: go on after them */
        if (!err)
            err = take_candidates(s, q, out, labels, scores, seen, m, KSTORE_FOUND_VECTOR, &kept);
        free(hits);
        free(labels);
        free(scores);
        seen = m;
        fetch = next_fetch(q, fetch, m, kept);
    }
    return err == DD_ENOMEM && cause && !*cause ? dd_fail(cause, err, "kstore: out of memory")
                                                : err;
}

static bool word_byte(unsigned char c)
{
    return c >= 128 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* An FTS5 query matching any word of text: each word quoted, so no user
 * input is read as FTS5 syntax. NULL when text has no word. */
static char *fts_query(const char *text)
{
    size_t n = strlen(text);
    char *q = malloc(6 * n + 8), *p = q;
    if (!q)
        return NULL;
    const unsigned char *t = (const unsigned char *)text;
    for (size_t i = 0; i < n;) {
        while (i < n && !word_byte(t[i]))
            i++;
        if (i >= n)
            break;
        if (p != q) {
            memcpy(p, " OR ", 4);
            p += 4;
        }
        *p++ = '"';
        while (i < n && word_byte(t[i]))
            *p++ = (char)t[i++];
        *p++ = '"';
    }
    *p = '\0';
    if (p == q) {
        free(q);
        return NULL;
    }
    return q;
}

static dd_err fts_part(kstore *s, const kstore_query *q, kstore_results *out, char **cause)
{
    char *fq = fts_query(q->text);
    if (!fq)
        return DD_OK;
    uint32_t fetch = first_fetch(q), seen = 0, kept = 0;
    dd_err err = DD_OK;
    while (fetch && !err) {
        int64_t *labels = malloc(fetch * sizeof *labels);
        double *scores = malloc(fetch * sizeof *scores);
        uint32_t m = 0;
        if (!labels || !scores) {
            err = DD_ENOMEM;
        } else {
            pthread_mutex_lock(&s->rlock);
            sqlite3_stmt *st = s->r_fts;
            sqlite3_bind_text(st, 1, fq, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 2, (int)fetch);
            while (m < fetch && sqlite3_step(st) == SQLITE_ROW) {
                labels[m] = sqlite3_column_int64(st, 0);
                scores[m++] = -sqlite3_column_double(st, 1);
            }
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            pthread_mutex_unlock(&s->rlock);
            err = take_candidates(s, q, out, labels, scores, seen, m, KSTORE_FOUND_FTS, &kept);
        }
        free(labels);
        free(scores);
        seen = m;
        fetch = next_fetch(q, fetch, m, kept);
    }
    free(fq);
    return err ? dd_fail(cause, err, "kstore: out of memory") : DD_OK;
}

/* The query text as the store's transform sees it; false when the
 * transform does not embed text (features, carried): FTS5 only. */
static bool embed_query(kstore *s, const char *text, float *out)
{
    if (embed_get_kind(s->emb) != EMBED_NGRAM)
        return false;
    dd_event ev;
    memset(&ev, 0, sizeof ev);
    dd_feature f = {0};
    if (strcmp(s->p.embed.text_field, "text") != 0) {
        f.name = s->p.embed.text_field;
        f.kind = DD_VAL_STR;
        f.str = text;
        ev.feat = &f;
        ev.nfeat = 1;
    } else {
        ev.text = text;
    }
    pthread_mutex_lock(&s->emb_lock);
    bool ok = embed_raw(s->emb, &ev, out, NULL) == DD_OK && embed_finish(s->emb, out, out) == DD_OK;
    pthread_mutex_unlock(&s->emb_lock);
    return ok;
}

static dd_err check_query(const kstore *s, const kstore_query *q, char **cause)
{
    if (q->k == 0 || q->k > KSTORE_MAX_K)
        return dd_fail(cause, DD_EINVAL, "k must be in 1..%u, got %u", KSTORE_MAX_K, q->k);
    if (!q->text == !q->vector)
        return dd_fail(cause, DD_EINVAL, "give a query text or a vector");
    if (q->indexes & ~(unsigned)KSTORE_FOUND_BOTH)
        return dd_fail(cause, DD_EINVAL, "unknown index selection %u", q->indexes);
    if (q->vector && q->dim != embed_dim(s->emb))
        return dd_fail(cause, DD_EINVAL, "the store's vectors have dimension %u, got %u",
                       embed_dim(s->emb), q->dim);
    if (q->vector && q->indexes == KSTORE_FOUND_FTS)
        return dd_fail(cause, DD_EINVAL, "a vector query has no full-text part");
    return DD_OK;
}

dd_err kstore_search(kstore *s, const kstore_query *q, kstore_results *out, char **cause)
{
    dd_err err = check_query(s, q, cause);
    if (err || (err = results_alloc(out, q->k, cause)))
        return err;
    unsigned which = q->indexes ? q->indexes : KSTORE_FOUND_BOTH;
    if (q->vector) {
        err = vector_part(s, q, q->vector, out, cause);
    } else if (which & KSTORE_FOUND_VECTOR) {
        float *v = malloc(embed_dim(s->emb) * sizeof *v);
        if (!v)
            err = dd_fail(cause, DD_ENOMEM, "kstore: out of memory");
        else if (embed_query(s, q->text, v))
            err = vector_part(s, q, v, out, cause);
        free(v);
    }
    if (!err && q->text && (which & KSTORE_FOUND_FTS))
        err = fts_part(s, q, out, cause);
    if (err)
        kstore_results_free(out);
    return err;
}

dd_err kstore_search_text(kstore *s, const char *query, uint32_t k, kstore_results *out,
                          char **cause)
{
    kstore_query q = {.text = query, .k = k};
    return kstore_search(s, &q, out, cause);
}

dd_err kstore_search_vector(kstore *s, const float *q, uint32_t dim, uint32_t k,
                            kstore_results *out, char **cause)
{
    kstore_query kq = {.vector = q, .dim = dim, .k = k};
    return kstore_search(s, &kq, out, cause);
}

void kstore_results_free(kstore_results *r)
{
    if (!r)
        return;
    for (uint32_t i = 0; r->hits && i < r->n; i++) {
        free(r->hits[i].id);
        free(r->hits[i].payload);
        free(r->hits[i].version);
    }
    free(r->hits);
    r->hits = NULL;
    r->n = 0;
}

/* ---- status ------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void kstore_get_stats(kstore *s, kstore_stats *o)
{
    memset(o, 0, sizeof *o);
    o->filtered = ATOMIC_GET(s->filtered);
    o->dropped = ATOMIC_GET(s->dropped);
    o->skipped = ATOMIC_GET(s->skipped);
    o->indexed = ATOMIC_GET(s->indexed);
    o->deletes = ATOMIC_GET(s->deletes);
    o->expired = ATOMIC_GET(s->expired);
    o->compactions = ATOMIC_GET(s->compactions);
    o->errors = ATOMIC_GET(s->errors);
    o->renewals = ATOMIC_GET(s->renewals);
    o->renew_pending = ATOMIC_GET(s->renew_pending) || ATOMIC_GET(s->renew_req);
    o->queued = s->q ? queue_length(s->q) : 0;
    o->entries = vindex_count(s->index);
    o->deleted_slots = vindex_deleted(s->index);
    o->slots = vindex_capacity(s->index);
    o->memory = vindex_memory(s->index);
    pthread_mutex_lock(&s->stat_lock);
    o->submitted = s->submitted;
    o->newest_age = s->newest_submit > 0 ? mono_now() - s->newest_submit : -1;
    snprintf(o->version, sizeof o->version, "%s", s->version);
    pthread_mutex_unlock(&s->stat_lock);
}

dd_err kstore_freshness(kstore *s, double *p50, double *p99)
{
    double *v = malloc(FRESH_RING * sizeof *v);
    if (!v)
        return DD_ENOMEM;
    pthread_mutex_lock(&s->stat_lock);
    size_t n = s->nfresh < FRESH_RING ? s->nfresh : FRESH_RING;
    memcpy(v, s->fresh, n * sizeof *v);
    pthread_mutex_unlock(&s->stat_lock);
    if (!n) {
        free(v);
        return DD_ENOTFOUND;
    }
    qsort(v, n, sizeof *v, cmp_double);
    *p50 = v[(n - 1) / 2];
    *p99 = v[(size_t)((double)(n - 1) * 0.99)];
    free(v);
    return DD_OK;
}

uint32_t kstore_dim(const kstore *s)
{
    return embed_dim(s->emb);
}

/* ---- open and close ------------------------------------------------------------ */

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static uint64_t count_rows(sqlite3 *db, const char *sql, const char *arg)
{
    sqlite3_stmt *st;
    uint64_t n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL))
        return 0;
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* The parameters: the caller's, or for a read-only opener the saved ones.
 * A writer whose transform differs from the saved one drops the saved
 * statistics; the rows are re-embedded by the rebuild (their version differs). */
static dd_err settle_params(kstore *s, sqlite3 *db, const kstore_params *p, char **cause)
{
    s->p = p ? *p : kstore_params_default();
    if (s->read_only)
        return load_params(db, &s->p, cause);
    kstore_params saved = s->p;
    if (load_params(db, &saved, NULL) == DD_OK &&
        (saved.embed.kind != s->p.embed.kind || saved.embed.dim != s->p.embed.dim ||
         saved.embed.seed != s->p.embed.seed) &&
        db_exec(db, "DELETE FROM kstore_meta WHERE key='stats'", cause))
        return DD_EDB;
    return save_params(s, cause);
}

static dd_err open_databases(kstore *s, char **cause)
{
    dd_err err = DD_OK;
    if (!s->read_only) {
        if (mkdir(s->dir, 0700) != 0 && errno != EEXIST)
            return dd_fail(cause, DD_EIO, "kstore: %s: %s", s->dir, strerror(errno));
        if ((err = db_open(s->db_path, false, &s->wdb, cause)))
            return err;
    }
    if ((err = db_open(s->db_path, true, &s->rdb, cause)))
        return err;
    if (sqlite3_prepare_v3(s->rdb, "SELECT id, ts, ver, payload FROM kstore_entries WHERE label=?1",
                           -1, SQLITE_PREPARE_PERSISTENT, &s->r_get, NULL) ||
        sqlite3_prepare_v3(s->rdb,
                           "SELECT rowid, bm25(kstore_fts) FROM kstore_fts WHERE"
                           " kstore_fts MATCH ?1 ORDER BY bm25(kstore_fts) LIMIT ?2",
                           -1, SQLITE_PREPARE_PERSISTENT, &s->r_fts, NULL))
        return db_fail(s->rdb, cause, "prepare (is this a knowledge store?)");
    return DD_OK;
}

/* Load the saved index if it holds exactly what SQLite holds, else rebuild. */
static dd_err load_index(kstore *s, char **cause)
{
    vindex_params vp = vindex_params_default();
    vp.space = s->p.space;
    vp.dim = embed_dim(s->emb);
    vp.capacity = s->nrows + s->nrows / 4 + 1;
    vp.m = s->p.m;
    vp.ef_construction = s->p.ef_construction;
    vp.ef_search = s->p.ef_search;
    uint64_t tag = 0;
    s->index = vindex_load(&vp, s->index_path, &tag, NULL, NULL);
    if (s->index && tag == index_tag(s))
        return DD_OK;
    vindex_free(s->index); /* missing, stale, or corrupt: never trusted */
    s->index = rebuild(s, s->wdb ? s->wdb : s->rdb, cause);
    return s->index ? DD_OK : DD_EDB;
}

static dd_err open_store(kstore *s, const kstore_params *p, char **cause)
{
    dd_err err = open_databases(s, cause);
    sqlite3 *db = s->wdb ? s->wdb : s->rdb;
    if (!err)
        err = settle_params(s, db, p, cause);
    if (!err && !(s->emb = embed_new(&s->p.embed, cause)))
        err = DD_EINVAL;
    if (err)
        return err;
    if (!s->read_only && (err = wstmts_prepare(s->wdb, &s->w, cause)))
        return err;
    restore_stats(s, db);
    restore_model_version(s, db);
    snprintf(s->version, sizeof s->version, "%s", embed_version(s->emb));
    s->gen = meta_get_u64(db, "gen", 0);
    s->nrows = count_rows(db, "SELECT count(*) FROM kstore_entries", NULL);
    s->stream_ts = 0;
    sqlite3_stmt *st;
    if (!sqlite3_prepare_v2(db, "SELECT max(ts) FROM kstore_entries", -1, &st, NULL)) {
        if (sqlite3_step(st) == SQLITE_ROW)
            s->stream_ts = sqlite3_column_double(st, 0);
        sqlite3_finalize(st);
    }
    if (!embed_is_frozen(s->emb))
        s->unfrozen_rows = count_rows(db,
                                      "SELECT count(*) FROM kstore_entries WHERE ver=?1"
                                      " AND vec IS NOT NULL",
                                      embed_version(s->emb));
    if ((err = load_index(s, cause)))
        return err;
    snprintf(s->version, sizeof s->version, "%s", embed_version(s->emb));
    return DD_OK;
}

static dd_err start_thread(kstore *s, char **cause)
{
    if (s->p.batch == 0 || s->p.batch > KSTORE_MAX_BATCH || s->p.queue_capacity == 0)
        return dd_fail(cause, DD_EINVAL, "kstore: batch must be in 1..%d and the queue > 0",
                       KSTORE_MAX_BATCH);
    if (!(s->q = queue_new(s->p.queue_capacity)))
        return dd_fail(cause, DD_ENOMEM, "kstore: out of memory");
    if (pthread_create(&s->ins_thread, NULL, inserter_main, s) != 0)
        return dd_fail(cause, DD_ENOMEM, "kstore: cannot start the inserter thread");
    s->ins_started = true;
    if (pthread_create(&s->thread, NULL, indexer_main, s) != 0)
        return dd_fail(cause, DD_ENOMEM, "kstore: cannot start the indexer thread");
    s->thread_started = true;
    return DD_OK;
}

kstore *kstore_open(const char *dir, const kstore_params *p, bool read_only, char **cause)
{
    kstore *s = calloc(1, sizeof *s);
    if (!s) {
        dd_fail(cause, DD_ENOMEM, "kstore: out of memory");
        return NULL;
    }
    s->read_only = read_only;
    pthread_mutex_init(&s->rlock, NULL);
    pthread_mutex_init(&s->emb_lock, NULL);
    pthread_mutex_init(&s->model_lock, NULL);
    pthread_mutex_init(&s->stat_lock, NULL);
    pthread_cond_init(&s->done_cv, NULL);
    pthread_mutex_init(&s->ins_lock, NULL);
    pthread_cond_init(&s->ins_cv, NULL);
    dd_err err = DD_OK;
    if (!(s->dir = strdup(dir)) || !(s->db_path = path_join(dir, "kstore.db")) ||
        !(s->index_path = path_join(dir, "kstore.hnsw")))
        err = dd_fail(cause, DD_ENOMEM, "kstore: out of memory");
    if (!err && read_only && access(s->db_path, R_OK) != 0)
        err = dd_fail(cause, DD_ENOTFOUND, "kstore: no knowledge store in %s", dir);
    if (!err)
        err = open_store(s, p, cause);
    if (!err && !read_only)
        err = start_thread(s, cause);
    if (err) {
        kstore_close(s);
        return NULL;
    }
    return s;
}

void kstore_close(kstore *s)
{
    if (!s)
        return;
    __atomic_store_n(&s->closing, 1, __ATOMIC_RELEASE);
    if (s->q)
        queue_close(s->q);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    if (s->ins_started) { /* after the indexer: it applies the last batch first */
        pthread_mutex_lock(&s->ins_lock);
        s->ins_stop = true;
        pthread_cond_broadcast(&s->ins_cv);
        pthread_mutex_unlock(&s->ins_lock);
        pthread_join(s->ins_thread, NULL);
    }
    if (s->index && !s->read_only && s->wdb && s->thread_started)
        vindex_save(s->index, s->index_path, index_tag(s), NULL);
    queue_free(s->q, item_free);
    wstmts_free(&s->w);
    sqlite3_finalize(s->r_get);
    sqlite3_finalize(s->r_fts);
    sqlite3_close(s->rdb);
    sqlite3_close(s->wdb); /* last: it checkpoints the WAL */
    vindex_free(s->index);
    embed_free(s->emb);
    model_free(s->next_model);
    featpipe_free(s->next_fp);
    pthread_mutex_destroy(&s->model_lock);
    pthread_mutex_destroy(&s->rlock);
    pthread_mutex_destroy(&s->emb_lock);
    pthread_mutex_destroy(&s->stat_lock);
    pthread_cond_destroy(&s->done_cv);
    pthread_mutex_destroy(&s->ins_lock);
    pthread_cond_destroy(&s->ins_cv);
    free(s->dir);
    free(s->db_path);
    free(s->index_path);
    free(s);
}

/* ---- JSON for clients ---------------------------------------------------------- */

static const char *found_name(kstore_found f)
{
    return f == KSTORE_FOUND_BOTH ? "both" : f == KSTORE_FOUND_FTS ? "fts" : "vector";
}

struct cJSON *kstore_hit_cjson(const kstore_hit *h, double now)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", h->id);
    cJSON_AddNumberToObject(o, "score", h->score);
    cJSON_AddNumberToObject(o, "age", now - h->ts);
    cJSON_AddNumberToObject(o, "ts", h->ts);
    cJSON_AddStringToObject(o, "index", found_name(h->found));
    cJSON_AddStringToObject(o, "version", h->version);
    cJSON *payload = cJSON_Parse(h->payload);
    if (payload)
        cJSON_AddItemToObject(o, "payload", payload);
    else
        cJSON_AddStringToObject(o, "payload", h->payload);
    return o;
}

char *kstore_hit_json(const kstore_hit *h, double now)
{
    cJSON *o = kstore_hit_cjson(h, now);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}
