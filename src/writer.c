/*
 * writer.c: the writer thread (see writer.h).
 *
 * Three lists: `queue` (handed over, guarded by the mutex), `todo` (taken by
 * the thread, not yet applied) and `pending` (applied in the open
 * transaction, kept until it commits). A database failure rolls the
 * transaction back and puts pending in front of todo again, so a replay
 * applies exactly the same records in exactly the same order.
 */
#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STOP_RETRIES 5

struct writer {
    registry *reg;
    writer_params p;
    writer_commit_fn on_commit;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_space;
    rec_list queue; /* guarded by mu */
    char *sql;      /* guarded by mu: to run on the writer's connection */
    bool stopping, started;
    pthread_t thread;
    atomic_bool accepting;
    writer_stats st;          /* guarded by mu */
    size_t todo_n, pending_n; /* guarded by mu: copies of todo.n and pending.n */
    /* thread-owned */
    rec_list todo, pending;
    bool in_txn;
    dd_err stop_err;
};

void writer_params_default(writer_params *p)
{
    p->capacity = 4096;
    p->reserve = 256;
    p->retry_ms = 200;
    p->max_bytes = (size_t)256 << 20;
}

/* The bytes a record holds in blobs (what makes a backlog heavy). */
static size_t rec_bytes(const gov_record *r)
{
    if (r->kind == REC_VERSION)
        return r->u.version.model.len;
    if (r->kind != REC_CHECKPOINT)
        return 0;
    const struct rec_checkpoint_ *c = &r->u.checkpoint;
    return c->pipeline.len + c->policy.len + c->active_model.len + c->challenger_model.len +
           c->previous_model.len;
}

static size_t list_bytes(const rec_list *l)
{
    size_t n = 0;
    for (const gov_record *r = l->head; r; r = r->next)
        n += rec_bytes(r);
    return n;
}

writer *writer_new(registry *reg, const writer_params *p, writer_commit_fn on_commit, void *ctx,
                   char **cause)
{
    if (!p->capacity || p->reserve >= p->capacity) {
        dd_fail(cause, DD_EINVAL, "writer capacity must exceed its reserve");
        return NULL;
    }
    writer *w = calloc(1, sizeof *w);
    if (!w) {
        dd_fail(cause, DD_ENOMEM, "no memory for the writer");
        return NULL;
    }
    w->reg = reg;
    w->p = *p;
    w->on_commit = on_commit;
    w->ctx = ctx;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv_work, NULL);
    pthread_cond_init(&w->cv_space, NULL);
    atomic_store(&w->accepting, true);
    w->st.accepting = true;
    return w;
}

void writer_free(writer *w)
{
    if (!w)
        return;
    if (w->started)
        writer_stop(w, NULL);
    rec_list_clear(&w->queue);
    rec_list_clear(&w->todo);
    rec_list_clear(&w->pending);
    free(w->sql);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv_work);
    pthread_cond_destroy(&w->cv_space);
    registry_free(w->reg);
    free(w);
}

/* Copy the thread-owned list lengths where other threads may read them, and
 * recompute the flag. Called with mu held, from the writer thread (or before
 * it starts). */
static void publish_counts(writer *w)
{
    w->todo_n = w->todo.n;
    w->pending_n = w->pending.n;
}

/* Recompute the flag the worker polls. Called with mu held. */
static void update_accepting(writer *w)
{
    size_t backlog = w->queue.n + w->todo_n;
    bool ok = !w->st.failing && backlog + w->p.reserve < w->p.capacity &&
              w->st.held_bytes < w->p.max_bytes;
    w->st.backlog = backlog;
    w->st.uncommitted = w->pending_n;
    w->st.accepting = ok;
    atomic_store(&w->accepting, ok);
}

bool writer_accepting(const writer *w)
{
    return atomic_load(&((writer *)w)->accepting);
}

void writer_push(writer *w, rec_list *l)
{
    if (!l->n)
        return;
    pthread_mutex_lock(&w->mu);
    while (w->queue.n + w->todo_n >= w->p.capacity && !w->stopping)
        pthread_cond_wait(&w->cv_space, &w->mu);
    w->st.held_bytes += list_bytes(l);
    rec_list_splice(&w->queue, l);
    update_accepting(w);
    pthread_cond_signal(&w->cv_work);
    pthread_mutex_unlock(&w->mu);
}

bool writer_sync(writer *w, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    bool done;
    while (!(done = !w->queue.n && !w->todo_n && !w->pending_n))
        if (pthread_cond_timedwait(&w->cv_space, &w->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&w->mu);
    return done;
}

void writer_run_sql(writer *w, const char *sql)
{
    pthread_mutex_lock(&w->mu);
    free(w->sql);
    w->sql = rec_strdup(sql);
    pthread_cond_signal(&w->cv_work);
    pthread_mutex_unlock(&w->mu);
}

void writer_get_stats(writer *w, writer_stats *st)
{
    pthread_mutex_lock(&w->mu);
    *st = w->st;
    pthread_mutex_unlock(&w->mu);
}

static void set_error(writer *w, const char *what, const char *cause)
{
    pthread_mutex_lock(&w->mu);
    snprintf(w->st.last_error, sizeof w->st.last_error, "%s: %s", what, cause ? cause : "?");
    pthread_mutex_unlock(&w->mu);
}

/* The database failed: undo the transaction and queue its records again. */
static void on_failure(writer *w, const char *cause)
{
    registry_rollback(w->reg);
    w->in_txn = false;
    rec_list_splice(&w->pending, &w->todo);
    w->todo = w->pending;
    w->pending = (rec_list){0};
    pthread_mutex_lock(&w->mu);
    w->st.failures++;
    w->st.failing = true;
    snprintf(w->st.last_error, sizeof w->st.last_error, "database: %s", cause ? cause : "?");
    publish_counts(w);
    update_accepting(w);
    pthread_mutex_unlock(&w->mu);
}

static void committed(writer *w, const gov_record *cp)
{
    int64_t seq;
    char head[AUDIT_HASH_HEX] = "";
    registry_audit_head(w->reg, &seq, head, NULL);
    uint64_t ev = cp ? cp->event_index : 0, pos = cp ? cp->u.checkpoint.src_pos : 0;
    size_t freed = list_bytes(&w->pending);
    rec_list_clear(&w->pending);
    pthread_mutex_lock(&w->mu);
    w->st.held_bytes -= freed;
    w->st.commits++;
    w->st.failing = false;
    memcpy(w->st.audit_head, head, sizeof head);
    if (cp)
        w->st.committed_event = ev;
    publish_counts(w);
    update_accepting(w);
    pthread_mutex_unlock(&w->mu);
    if (cp && w->on_commit)
        w->on_commit(w->ctx, ev, pos, head);
}

/* Commit the open transaction; cp is the checkpoint that ends it, or NULL. */
static bool commit(writer *w, const gov_record *cp)
{
    char *cause = NULL;
    if (registry_commit(w->reg, &cause) != DD_OK) {
        on_failure(w, cause);
        free(cause);
        return false;
    }
    w->in_txn = false;
    committed(w, cp);
    return true;
}

/* Apply todo in order. Returns false when the database failed (todo then
 * holds everything not committed, in order). */
static bool drain(writer *w)
{
    gov_record *r;
    while ((r = w->todo.head)) {
        char *cause = NULL;
        if (!w->in_txn) {
            if (registry_begin(w->reg, &cause) != DD_OK) {
                on_failure(w, cause);
                free(cause);
                return false;
            }
            w->in_txn = true;
        }
        double wall = (double)time(NULL);
        struct timespec ts;
        if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
            wall = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
        dd_err e = registry_apply(w->reg, r, wall, &cause);
        rec_list_pop(&w->todo);
        if (e == DD_EDB || e == DD_ENOMEM || e == DD_EIO) {
            rec_list_push(&w->pending, r); /* it goes back with the others */
            on_failure(w, cause);
            free(cause);
            return false;
        }
        if (e) { /* the registry refused it (a bug upstream): count, say, skip */
            set_error(w, "record refused", cause);
            size_t freed = rec_bytes(r);
            pthread_mutex_lock(&w->mu);
            w->st.held_bytes -= freed;
            w->st.refused++;
            publish_counts(w);
            pthread_mutex_unlock(&w->mu);
            rec_free(r);
            free(cause);
            continue;
        }
        rec_list_push(&w->pending, r);
        pthread_mutex_lock(&w->mu);
        w->st.applied++;
        publish_counts(w);
        pthread_mutex_unlock(&w->mu);
        if (r->kind == REC_CHECKPOINT && !commit(w, r))
            return false;
    }
    return true;
}

static void run_sql(writer *w, char *sql)
{
    if (sql) {
        sqlite3_exec(registry_db(w->reg), sql, NULL, NULL, NULL);
        free(sql);
    }
}

/* Wait up to ms for a stop or an injected statement. Called with mu held. */
static void pause_locked(writer *w, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!w->sql && !w->stopping)
        if (pthread_cond_timedwait(&w->cv_work, &w->mu, &until) == ETIMEDOUT)
            break;
}

static void *writer_thread(void *arg)
{
    writer *w = arg;
    int stop_tries = 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->queue.n && !w->todo_n && !w->stopping && !w->sql)
            pthread_cond_wait(&w->cv_work, &w->mu);
        char *sql = w->sql;
        w->sql = NULL;
        rec_list_splice(&w->todo, &w->queue);
        publish_counts(w);
        bool stopping = w->stopping;
        pthread_cond_broadcast(&w->cv_space);
        pthread_mutex_unlock(&w->mu);
        run_sql(w, sql);
        bool ok = drain(w);
        if (ok && stopping && w->in_txn)
            ok = commit(w, NULL);
        pthread_mutex_lock(&w->mu);
        publish_counts(w);
        update_accepting(w);
        pthread_cond_broadcast(&w->cv_space);
        if (ok && stopping && !w->queue.n)
            break;
        if (!ok) {
            if (stopping && ++stop_tries >= STOP_RETRIES) {
                w->stop_err = DD_EDB;
                break;
            }
            pause_locked(w, w->p.retry_ms);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

dd_err writer_start(writer *w, char **cause)
{
    if (pthread_create(&w->thread, NULL, writer_thread, w))
        return dd_fail(cause, DD_ENOMEM, "cannot start the writer thread");
    w->started = true;
    return DD_OK;
}

dd_err writer_stop(writer *w, char **cause)
{
    if (!w->started)
        return DD_OK;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv_work);
    pthread_cond_broadcast(&w->cv_space);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    w->started = false;
    if (w->stop_err) {
        registry_rollback(w->reg);
        return dd_fail(cause, w->stop_err, "the last records could not be written: %s",
                       w->st.last_error);
    }
    return DD_OK;
}
