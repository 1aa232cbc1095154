/*
 * headless.c: JSON Lines output of the worker (see headless.h).
 *
 * Lines are built with cJSON (so ids and names are escaped properly) and
 * flushed one by one, so a consumer reading a pipe sees each as it happens.
 * The summary lists the event index of every error-stream drift, up to a
 * bound (HEADLESS_MAX_DRIFTS; the count is always exact).
 */
#include "headless.h"

#include <cJSON.h>
#include <stdlib.h>

#define HEADLESS_MAX_DRIFTS 10000

struct headless {
    FILE *out;
    uint64_t *drifts;
    size_t ndrifts;
    kstore *ks; /* the knowledge store whose lag status lines show, or NULL */
    bool told_unlabelled;
};

void headless_set_kstore(headless *h, kstore *ks)
{
    h->ks = ks;
}

headless *headless_new(FILE *out)
{
    headless *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->drifts = calloc(HEADLESS_MAX_DRIFTS, sizeof *h->drifts);
    if (!h->drifts) {
        free(h);
        return NULL;
    }
    h->out = out;
    return h;
}

void headless_free(headless *h)
{
    if (!h)
        return;
    free(h->drifts);
    free(h);
}

static void emit(headless *h, cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    if (s) {
        flockfile(h->out); /* a prediction sink may share stdout: whole lines only */
        fputs(s, h->out);
        fputc('\n', h->out);
        fflush(h->out);
        funlockfile(h->out);
    }
    free(s);
    cJSON_Delete(o);
}

static void add_counters(cJSON *o, const worker_status *st)
{
    cJSON_AddNumberToObject(o, "events", (double)st->events);
    cJSON_AddNumberToObject(o, "labelled", (double)st->labelled);
    cJSON_AddNumberToObject(o, "accuracy", st->accuracy);
    cJSON_AddNumberToObject(o, "rolling_accuracy", st->rolling_accuracy);
    cJSON_AddNumberToObject(o, "events_per_s", st->events_per_s);
    cJSON_AddNumberToObject(o, "malformed", (double)st->malformed);
    cJSON_AddNumberToObject(o, "dropped", (double)st->dropped);
    cJSON_AddNumberToObject(o, "bad_labels", (double)st->bad_labels);
    cJSON_AddNumberToObject(o, "refused_steps", (double)st->refused_steps);
    cJSON_AddNumberToObject(o, "unmatched_labels", (double)st->unmatched_labels);
    cJSON_AddNumberToObject(o, "joined_labels", (double)st->joined_labels);
    cJSON_AddNumberToObject(o, "pending", (double)st->pending_held);
    cJSON_AddNumberToObject(o, "pending_expired", (double)st->pending_expired);
    cJSON_AddNumberToObject(o, "pending_evicted", (double)st->pending_evicted);
    if (st->pending_replaced)
        cJSON_AddNumberToObject(o, "pending_replaced", (double)st->pending_replaced);
    if (st->ts_out_of_order)
        cJSON_AddNumberToObject(o, "ts_out_of_order", (double)st->ts_out_of_order);
    if (st->ts_future)
        cJSON_AddNumberToObject(o, "ts_future", (double)st->ts_future);
    if (st->deadletter_failures)
        cJSON_AddNumberToObject(o, "deadletter_failures", (double)st->deadletter_failures);
    cJSON_AddNumberToObject(o, "alerts", (double)st->alerts);
    cJSON_AddNumberToObject(o, "alerts_suppressed", (double)st->alerts_suppressed);
    if (st->alarms_dropped)
        cJSON_AddNumberToObject(o, "alarms_dropped", (double)st->alarms_dropped);
    if (st->unwatched_features)
        cJSON_AddNumberToObject(o, "unwatched_features", (double)st->unwatched_features);
    cJSON *src = cJSON_AddObjectToObject(o, "source");
    if (src) {
        cJSON_AddStringToObject(src, "state", source_state_name(st->source_state));
        if (st->source_state == SOURCE_RECONNECTING) {
            cJSON_AddNumberToObject(src, "attempt", st->source_attempt);
            cJSON_AddNumberToObject(src, "next_retry_s", (double)st->source_next_retry_ms / 1e3);
        }
        cJSON_AddNumberToObject(src, "reconnects", (double)st->source_reconnects);
        cJSON_AddNumberToObject(src, "messages", (double)st->source_messages);
        cJSON_AddNumberToObject(src, "bytes", (double)st->source_bytes);
    }
}

/* Governance: versions, writer health and the published audit head. */
static void governance_fields(cJSON *g, const worker_status *st)
{
    cJSON_AddNumberToObject(g, "active", (double)st->active_version);
    if (st->challenger_version) {
        cJSON_AddNumberToObject(g, "challenger", (double)st->challenger_version);
        cJSON_AddStringToObject(g, "challenger_status", st->challenger_status);
    }
    cJSON_AddNumberToObject(g, "promotions", (double)st->promotions);
    cJSON_AddNumberToObject(g, "rollbacks", (double)st->rollbacks);
    cJSON_AddNumberToObject(g, "candidates", (double)st->candidates);
    cJSON_AddNumberToObject(g, "checkpoints", (double)st->checkpoints);
    cJSON_AddNumberToObject(g, "workspace_events", (double)st->workspace_events);
    cJSON_AddBoolToObject(g, "writer_accepting", st->writer_accepting);
    if (st->unlearned)
        cJSON_AddNumberToObject(g, "unlearned", (double)st->unlearned);
    if (st->skipped)
        cJSON_AddNumberToObject(g, "skipped", (double)st->skipped);
    if (st->writer_failures)
        cJSON_AddNumberToObject(g, "writer_failures", (double)st->writer_failures);
    if (st->writer_error[0])
        cJSON_AddStringToObject(g, "error", st->writer_error);
    if (st->audit_head[0])
        cJSON_AddStringToObject(g, "audit_head", st->audit_head);
}

/* Status lines carry it as a "governance" object (with a workspace). */
static void add_governance(cJSON *o, const worker_status *st)
{
    cJSON *g = st->active_version ? cJSON_AddObjectToObject(o, "governance") : NULL;
    if (g)
        governance_fields(g, st);
}

/* Once, on stderr: the stream seems to carry its label under another name. */
static void tell_unlabelled(headless *h, const worker_status *st)
{
    if (!h->told_unlabelled && worker_status_unlabelled(st)) {
        h->told_unlabelled = true;
        fprintf(stderr, "driftdeck: %s\n", WORKER_UNLABELLED_HINT);
    }
}

static void on_status(void *ctx, const worker_status *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "status");
    add_counters(o, st);
    cJSON_AddNumberToObject(o, "queue", (double)st->queue_len);
    cJSON_AddNumberToObject(o, "queue_capacity", (double)st->queue_cap);
    cJSON_AddBoolToObject(o, "learning", st->learning);
    headless *h = ctx;
    tell_unlabelled(h, st);
    if (h->ks) {
        kstore_stats ks;
        kstore_get_stats(h->ks, &ks);
        cJSON *k = cJSON_AddObjectToObject(o, "kstore");
        cJSON_AddNumberToObject(k, "entries", (double)ks.entries);
        cJSON_AddNumberToObject(k, "queued", (double)ks.queued);
        cJSON_AddNumberToObject(k, "newest_age", ks.newest_age);
        cJSON_AddNumberToObject(k, "dropped", (double)ks.dropped);
        cJSON_AddNumberToObject(k, "skipped", (double)ks.skipped);
        cJSON_AddNumberToObject(k, "errors", (double)ks.errors);
        cJSON_AddStringToObject(k, "version", ks.version);
        cJSON_AddNumberToObject(k, "renewals", (double)ks.renewals);
        cJSON_AddBoolToObject(k, "renew_pending", ks.renew_pending);
    }
    add_governance(o, st);
    emit(ctx, o);
}

static void on_alarm(void *ctx, const pipeline_alarm *a, const dd_event *ev)
{
    headless *h = ctx;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", a->level == DRIFT_DRIFT ? "drift" : "warning");
    cJSON_AddStringToObject(o, "level", a->level == DRIFT_DRIFT ? "drift" : "warning");
    cJSON_AddStringToObject(o, "watch", a->watch);
    if (a->feature)
        cJSON_AddStringToObject(o, "feature", a->feature);
    cJSON_AddStringToObject(o, "detector", a->detector);
    cJSON_AddNumberToObject(o, "event", (double)a->event);
    if (ev->id)
        cJSON_AddStringToObject(o, "id", ev->id);
    cJSON_AddNumberToObject(o, "ts", ev->ts);
    cJSON_AddNumberToObject(o, "statistic", a->statistic);
    if (a->width > 0) {
        cJSON_AddNumberToObject(o, "width", a->width);
        cJSON_AddNumberToObject(o, "mean", a->mean);
    }
    cJSON *values = a->nvalues ? cJSON_AddObjectToObject(o, "values") : NULL;
    for (uint32_t i = 0; values && i < a->nvalues; i++)
        cJSON_AddNumberToObject(values, a->values[i].name, a->values[i].value);
    if (a->suppressed)
        cJSON_AddNumberToObject(o, "suppressed", (double)a->suppressed);
    if (a->level == DRIFT_DRIFT && !a->feature && h->ndrifts < HEADLESS_MAX_DRIFTS &&
        a->watch[0] == 'e')
        h->drifts[h->ndrifts++] = a->event;
    emit(h, o);
}

static void on_summary(void *ctx, const worker_status *st)
{
    headless *h = ctx;
    tell_unlabelled(h, st);
    if (st->active_version) { /* the run's governance, with the committed audit head */
        cJSON *g = cJSON_CreateObject();
        cJSON_AddStringToObject(g, "type", "governance");
        governance_fields(g, st);
        emit(h, g);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "summary");
    add_counters(o, st);
    cJSON *d = cJSON_AddArrayToObject(o, "drifts");
    for (size_t i = 0; d && i < h->ndrifts; i++)
        cJSON_AddItemToArray(d, cJSON_CreateNumber((double)h->drifts[i]));
    cJSON_AddNumberToObject(o, "drift_count", (double)st->drifts);
    cJSON_AddNumberToObject(o, "warning_count", (double)st->warnings);
    cJSON_AddNumberToObject(o, "seconds", st->seconds);
    emit(h, o);
}

worker_output headless_output(headless *h)
{
    return (worker_output){.ctx = h, .status = on_status, .alarm = on_alarm, .summary = on_summary};
}
