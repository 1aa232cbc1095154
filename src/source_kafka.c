/*
 * source_kafka.c: the Kafka consumer-group source (see kafka.h).
 *
 * One thread polls the consumer. Each message gets the next arrival number
 * of this source (its "position"), is recorded in the offset tracker with
 * its partition and offset, and goes to ingest (which parses it and blocks
 * while the worker's queue is full). The worker acknowledges every event by
 * position (ack op). Between polls the thread stores the offsets the tracker
 * reports as fully processed; librdkafka's auto-commit commits them. On a
 * revocation (a rebalance) and on stop it stores and commits synchronously
 * first, so the next owner resumes right after what this one finished.
 */
#include "kafka.h"

#include "ingest.h"
#include "offtrack.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS 100

typedef struct kafka_impl {
    rd_kafka_t *rk;
    char topic[256];
    offtrack *track;
    pthread_t thread;
    bool started;
    _Atomic bool stop;
    bool crash;   /* tests: stop without committing or leaving */
    uint64_t seq; /* positions handed out (the last one) */
    source *s;
} kafka_impl;

/* ---- the spec ------------------------------------------------------------------ */

static dd_err copy_part(char *dst, size_t cap, const char *src, size_t len, const char *what,
                        char **cause)
{
    if (len == 0)
        return dd_fail(cause, DD_EINVAL, "kafka: the %s is empty", what);
    if (len >= cap)
        return dd_fail(cause, DD_EINVAL, "kafka: the %s is longer than %zu bytes", what, cap - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
    return DD_OK;
}

static dd_err parse_query(const char *q, kafka_spec *out, char **cause)
{
    while (*q) {
        const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
        const char *eq = memchr(q, '=', (size_t)(end - q));
        if (!eq)
            return dd_fail(cause, DD_EINVAL, "kafka: '%.*s' is not key=value", (int)(end - q), q);
        char key[128], val[256];
        dd_err err = copy_part(key, sizeof key, q, (size_t)(eq - q), "option name", cause);
        if (!err)
            err = copy_part(val, sizeof val, eq + 1, (size_t)(end - eq - 1), "option value", cause);
        if (err)
            return err;
        if (!strcmp(key, "group")) {
            snprintf(out->group, sizeof out->group, "%s", val);
        } else if (!strcmp(key, "reset")) {
            if (strcmp(val, "earliest") != 0 && strcmp(val, "latest") != 0)
                return dd_fail(cause, DD_EINVAL, "kafka: reset=%s: earliest or latest", val);
            out->reset_latest = !strcmp(val, "latest");
        } else if (!strcmp(key, "commit_ms")) {
            char *e;
            long v = strtol(val, &e, 10);
            if (*e || v < 10 || v > 3600000)
                return dd_fail(cause, DD_EINVAL, "kafka: commit_ms=%s: 10..3600000", val);
            out->commit_ms = (uint32_t)v;
        } else if (strchr(key, '.') || strchr(key, '_')) { /* librdkafka checks it */
            if (out->nprops == KAFKA_MAX_PROPS)
                return dd_fail(cause, DD_EINVAL, "kafka: more than %d properties", KAFKA_MAX_PROPS);
            memcpy(out->prop_key[out->nprops], key, sizeof key);
            memcpy(out->prop_val[out->nprops], val, sizeof val);
            out->nprops++;
        } else {
            return dd_fail(cause, DD_EINVAL,
                           "kafka: unknown option '%s' (group, reset, commit_ms, or a "
                           "librdkafka property such as session.timeout.ms or log_level)",
                           key);
        }
        q = amp ? amp + 1 : end;
    }
    return DD_OK;
}

dd_err kafka_spec_parse(const char *spec, kafka_spec *out, char **cause)
{
    memset(out, 0, sizeof *out);
    snprintf(out->group, sizeof out->group, "driftdeck");
    out->commit_ms = 1000;
    if (strncmp(spec, "kafka://", 8) != 0)
        return dd_fail(cause, DD_EINVAL, "kafka: '%s' does not start with kafka://", spec);
    const char *p = spec + 8, *slash = strchr(p, '/');
    if (!slash)
        return dd_fail(cause, DD_EINVAL, "kafka: '%s' has no /TOPIC", spec);
    dd_err err =
        copy_part(out->brokers, sizeof out->brokers, p, (size_t)(slash - p), "broker list", cause);
    if (err)
        return err;
    const char *q = strchr(slash + 1, '?');
    size_t tlen = q ? (size_t)(q - slash - 1) : strlen(slash + 1);
    if ((err = copy_part(out->topic, sizeof out->topic, slash + 1, tlen, "topic", cause)))
        return err;
    return q ? parse_query(q + 1, out, cause) : DD_OK;
}

/* ---- callbacks (run inside rd_kafka_consumer_poll, in the source thread) ------------ */

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    source *s = opaque;
    snprintf(s->last_error, sizeof s->last_error, "%s: %s",
             rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[200];
        rd_kafka_fatal_error(rk, why, sizeof why);
        snprintf(s->last_error, sizeof s->last_error, "fatal: %s", why);
        atomic_store(&s->stats.state, SOURCE_FAILED);
    } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        /* librdkafka reconnects by itself; each report is one more attempt.
         * One broker's disconnection (_TRANSPORT, also on idle connections)
         * only updates last_error: the others may still serve. */
        atomic_store(&s->stats.state, SOURCE_RECONNECTING);
        atomic_fetch_add(&s->stats.attempt, 1);
    }
}

static void store_one(void *ctx, int32_t partition, int64_t next)
{
    kafka_impl *k = ctx;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    if (!l)
        return;
    rd_kafka_topic_partition_list_add(l, k->topic, partition)->offset = next;
    /* A partition no longer assigned refuses the store: its next owner
     * consumes those messages again (at-least-once). */
    rd_kafka_offsets_store(k->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

static void store_done(kafka_impl *k)
{
    offtrack_drain(k->track, store_one, k);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    source *s = opaque;
    kafka_impl *k = s->impl;
    bool cooperative = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (cooperative)
            rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
        else
            rd_kafka_assign(rk, parts);
        if (atomic_load(&s->stats.state) == SOURCE_RECONNECTING)
            atomic_fetch_add(&s->stats.reconnects, 1);
        atomic_store(&s->stats.state, SOURCE_CONNECTED);
        atomic_store(&s->stats.attempt, 0);
        /* Stores refused while the partitions were away: try them again. */
        offtrack_redirty(k->track);
        return;
    }
    /* Revoked: hand over what is finished before letting go. */
    if (!k->crash && !rd_kafka_assignment_lost(rk)) {
        store_done(k);
        rd_kafka_commit(rk, NULL, 0);
    }
    if (cooperative)
        rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
    else
        rd_kafka_assign(rk, NULL);
}

/* ---- the thread ------------------------------------------------------------------ */

static double wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One message. Returns false when the run is ending (the queue closed). */
static bool consume(kafka_impl *k, rd_kafka_message_t *m)
{
    source *s = k->s;
    uint64_t pos = ++k->seq;
    if (offtrack_push(k->track, pos, m->partition, m->offset)) {
        snprintf(s->last_error, sizeof s->last_error, "out of memory for the offset tracker");
        atomic_store(&s->stats.state, SOURCE_FAILED);
        return false;
    }
    s->line = 0;
    /* The message's own timestamp (producer or broker time) is its receive
     * time: an event without ts of its own then has the same event time in
     * every replay of the topic, as Kafka Streams does. Wall time otherwise. */
    rd_kafka_timestamp_type_t tstype;
    int64_t ms = rd_kafka_message_timestamp(m, &tstype);
    double recv =
        ms > 0 && tstype != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? (double)ms / 1000.0 : wall_now();
    int n = ingest_message(s->ing, s, m->payload ? m->payload : "", m->len, false, recv, pos,
                           INGEST_BLOCK);
    if (n < 0) /* not processed: never marked done, so never committed */
        return false;
    offtrack_set_events(k->track, pos, (uint32_t)n);
    atomic_store(&s->stats.position, pos);
    return true;
}

static void *kafka_thread(void *arg)
{
    source *s = arg;
    kafka_impl *k = s->impl;
    while (!atomic_load(&k->stop) && atomic_load(&s->stats.state) != SOURCE_FAILED) {
        store_done(k);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, POLL_MS);
        if (!m)
            continue;
        bool go_on = true;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* nothing: the partition is caught up */
        } else if (m->err) {
            snprintf(s->last_error, sizeof s->last_error, "%s", rd_kafka_message_errstr(m));
        } else {
            if (atomic_load(&s->stats.state) == SOURCE_RECONNECTING) {
                atomic_fetch_add(&s->stats.reconnects, 1);
                atomic_store(&s->stats.attempt, 0);
            }
            if (atomic_load(&s->stats.state) != SOURCE_CONNECTED)
                atomic_store(&s->stats.state, SOURCE_CONNECTED);
            go_on = consume(k, m);
        }
        rd_kafka_message_destroy(m);
        if (!go_on)
            break;
    }
    if (!k->crash) {
        store_done(k);
        rd_kafka_commit(k->rk, NULL, 0); /* synchronous; "no offset" is harmless */
        rd_kafka_consumer_close(k->rk);
    }
    if (atomic_load(&s->stats.state) != SOURCE_FAILED)
        atomic_store(&s->stats.state, SOURCE_ENDED);
    return NULL;
}

static dd_err kafka_start(source *s, char **cause)
{
    kafka_impl *k = s->impl;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, k->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(k->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err)
        return dd_fail(cause, DD_EIO, "kafka: cannot subscribe to %s: %s", k->topic,
                       rd_kafka_err2str(err));
    if (pthread_create(&k->thread, NULL, kafka_thread, s))
        return dd_fail(cause, DD_ENOMEM, "cannot start the Kafka source thread");
    k->started = true;
    return DD_OK;
}

static void kafka_stop(source *s)
{
    kafka_impl *k = s->impl;
    atomic_store(&k->stop, true);
    if (k->started) {
        pthread_join(k->thread, NULL);
        k->started = false;
    }
}

static void kafka_destroy(source *s)
{
    kafka_impl *k = s->impl;
    if (!k)
        return;
    if (k->rk)
        rd_kafka_destroy_flags(k->rk, k->crash ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0);
    offtrack_free(k->track);
    free(k);
    s->impl = NULL;
}

static void kafka_ack(source *s, uint64_t pos)
{
    kafka_impl *k = s->impl;
    offtrack_ack(k->track, pos);
}

static const struct source_ops kafka_ops = {
    .kind = "kafka",
    .start = kafka_start,
    .stop = kafka_stop,
    .destroy = kafka_destroy,
    .control = NULL,
    .ack = kafka_ack,
};

void source_kafka_crash_on_stop(source *s)
{
    ((kafka_impl *)s->impl)->crash = true;
}

static dd_err conf_set(rd_kafka_conf_t *conf, const char *key, const char *val, char **cause)
{
    char why[256];
    if (rd_kafka_conf_set(conf, key, val, why, sizeof why) != RD_KAFKA_CONF_OK)
        return dd_fail(cause, DD_EINVAL, "kafka: %s=%s: %s", key, val, why);
    return DD_OK;
}

static rd_kafka_conf_t *consumer_conf(const kafka_spec *sp, source *s, char **cause)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char commit[16];
    snprintf(commit, sizeof commit, "%u", sp->commit_ms);
    const char *kv[][2] = {
        {"bootstrap.servers", sp->brokers},
        {"group.id", sp->group},
        {"client.id", "driftdeck"},
        {"enable.auto.offset.store", "false"},
        {"enable.auto.commit", "true"},
        {"auto.commit.interval.ms", commit},
        {"auto.offset.reset", sp->reset_latest ? "latest" : "earliest"},
        {"enable.partition.eof", "false"},
    };
    dd_err err = DD_OK;
    for (size_t i = 0; i < DD_ARRAY_LEN(kv) && !err; i++)
        err = conf_set(conf, kv[i][0], kv[i][1], cause);
    for (uint32_t i = 0; i < sp->nprops && !err; i++)
        err = conf_set(conf, sp->prop_key[i], sp->prop_val[i], cause);
    if (!err && (!strcmp(sp->group, "")))
        err = dd_fail(cause, DD_EINVAL, "kafka: group is empty");
    if (err) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    return conf;
}

source *source_kafka_open(const char *spec, const source_options *opt, char **cause)
{
    (void)opt;
    kafka_spec sp;
    if (kafka_spec_parse(spec, &sp, cause))
        return NULL;
    source *s = calloc(1, sizeof *s);
    kafka_impl *k = calloc(1, sizeof *k);
    if (k)
        k->track = offtrack_new();
    if (!s || !k || !k->track) {
        free(s);
        if (k)
            offtrack_free(k->track);
        free(k);
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    k->s = s;
    snprintf(k->topic, sizeof k->topic, "%s", sp.topic);
    s->ops = &kafka_ops;
    s->impl = k;
    rd_kafka_conf_t *conf = consumer_conf(&sp, s, cause);
    char why[256];
    if (conf && !(k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why))) {
        rd_kafka_conf_destroy(conf);
        dd_fail(cause, DD_EINVAL, "kafka: %s", why);
    }
    if (!k->rk) {
        kafka_destroy(s);
        free(s);
        return NULL;
    }
    rd_kafka_poll_set_consumer(k->rk);
    return s;
}
