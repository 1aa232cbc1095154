/*
 * test_kafka.c: the Kafka source and sink against librdkafka's mock cluster
 * (rdkafka_mock.h: the real Kafka protocol, in this process, on loopback).
 *
 * The main test produces 100,000 events (and a few malformed messages) to a
 * 4-partition topic, then consumes them in one consumer group through three
 * incarnations of the source: the first is killed mid-stream (no final
 * commit, no group leave, its queued events thrown away unprocessed), the
 * second is stopped cleanly mid-stream, the third runs to the end. Every
 * event must have been processed at least once, and the total must show that
 * committed progress was kept (no restart from the beginning).
 */
#include "event.h"
#include "ingest.h"
#include "kafka.h"
#include "queue.h"
#include "source.h"

#include "testutil.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_EVENTS 100000
#define N_GARBAGE 10

static double mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- the cluster ------------------------------------------------------------------- */

typedef struct cluster {
    rd_kafka_t *host; /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    char bootstraps[256];
} cluster;

static void cluster_up(cluster *c, const char *topic, int partitions)
{
    char why[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", why, sizeof why); /* quiet */
    c->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    assert_non_null(c->host);
    c->mc = rd_kafka_mock_cluster_new(c->host, 3);
    assert_non_null(c->mc);
    snprintf(c->bootstraps, sizeof c->bootstraps, "%s", rd_kafka_mock_cluster_bootstraps(c->mc));
    assert_int_equal(rd_kafka_mock_topic_create(c->mc, topic, partitions, 1), 0);
}

static void cluster_down(cluster *c)
{
    rd_kafka_mock_cluster_destroy(c->mc);
    rd_kafka_destroy(c->host);
}

static rd_kafka_t *plain_producer(const cluster *c)
{
    char why[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", c->bootstraps, why, sizeof why);
    rd_kafka_conf_set(conf, "linger.ms", "5", why, sizeof why);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    assert_non_null(p);
    return p;
}

static void produce_events(const cluster *c, const char *topic)
{
    rd_kafka_t *p = plain_producer(c);
    char buf[128], key[32];
    for (int i = 0; i < N_EVENTS; i++) {
        int n = snprintf(buf, sizeof buf, "{\"id\":\"k%d\",\"x\":{\"a\":%d,\"b\":%d},\"y\":%d}", i,
                         i % 7, i % 3, i % 2);
        snprintf(key, sizeof key, "k%d", i);
        while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(buf, (size_t)n),
                                 RD_KAFKA_V_KEY(key, strlen(key)),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 10);
        if (i % (N_EVENTS / N_GARBAGE) == 0)
            rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE("not json", 8),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        rd_kafka_poll(p, 0);
    }
    assert_int_equal(rd_kafka_flush(p, 30000), 0);
    rd_kafka_destroy(p);
}

/* ---- one incarnation of the consumer: source + ingest + a worker thread ---------- */

typedef struct run {
    queue *q;
    ingest *ing;
    source *src;
    pthread_t worker;
    _Atomic bool stop;
    _Atomic uint32_t *seen;       /* shared across runs: times each id was processed */
    _Atomic uint64_t *processed;  /* shared: events processed */
    _Atomic uint64_t bad_ids;     /* events with an id never produced */
    double min_recv_ts;           /* worker thread only; read after the join */
    uint64_t limit;               /* stop processing at this total (0: no limit) */
    uint8_t *phase_of;            /* worker thread only: the run that last processed an id */
    uint8_t phase;                /* this run's number */
    _Atomic uint64_t repeated;    /* ids this run processed that the previous run had */
} run;

static void *worker_main(void *arg)
{
    run *r = arg;
    while (!atomic_load(&r->stop)) {
        if (r->limit && atomic_load(r->processed) >= r->limit) { /* hold still: stop is due */
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        void *item;
        if (queue_pop(r->q, &item, 50) != QUEUE_OK)
            continue;
        dd_event *ev = item;
        if (atomic_load(&r->stop)) { /* killed: this one is lost with the process */
            event_free(ev);
            break;
        }
        long id = ev->id ? strtol(ev->id + 1, NULL, 10) : -1;
        if (id >= 0 && id < N_EVENTS) { /* no cmocka assert off the main thread */
            atomic_fetch_add(&r->seen[id], 1);
            if (r->phase_of) {
                if (r->phase > 1 && r->phase_of[id] == r->phase - 1)
                    atomic_fetch_add(&r->repeated, 1); /* the previous run did it */
                r->phase_of[id] = r->phase;
            }
        } else
            atomic_fetch_add(&r->bad_ids, 1);
        atomic_fetch_add(r->processed, 1);
        if (ev->recv_ts < r->min_recv_ts || r->min_recv_ts == 0)
            r->min_recv_ts = ev->recv_ts;
        r->src->ops->ack(r->src, ev->src_pos);
        event_free(ev);
    }
    return NULL;
}

static void run_start(run *r, const cluster *c, const char *topic)
{
    char spec[512], *cause = NULL;
    snprintf(spec, sizeof spec,
             "kafka://%s/%s?group=g1&commit_ms=100&session.timeout.ms=6000"
             "&heartbeat.interval.ms=300&log_level=0",
             c->bootstraps, topic);
    r->q = queue_new(1024);
    r->ing = ingest_new(r->q, NULL, NULL, NULL, &cause);
    assert_non_null(r->ing);
    r->src = source_open(spec, NULL, r->ing, &cause);
    if (!r->src)
        fail_msg("source_open: %s", cause);
    atomic_store(&r->stop, false);
    assert_int_equal(r->src->ops->start(r->src, &cause), DD_OK);
    assert_int_equal(pthread_create(&r->worker, NULL, worker_main, r), 0);
}

/* Stop: crash (no commit, events in the queue dropped) or clean. */
static uint64_t run_stop(run *r, bool crash)
{
    if (crash)
        source_kafka_crash_on_stop(r->src);
    atomic_store(&r->stop, true);
    pthread_join(r->worker, NULL);
    queue_close(r->q); /* wakes the source if it waits for room */
    uint64_t malformed = atomic_load(&r->src->stats.malformed);
    source_free(r->src);
    ingest_free(r->ing);
    queue_free(r->q, (void (*)(void *))event_free);
    return malformed;
}

static bool wait_for(_Atomic uint64_t *v, uint64_t at_least, double seconds)
{
    double until = mono_now() + seconds;
    while (atomic_load(v) < at_least && mono_now() < until) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(v) >= at_least;
}

static bool all_seen(_Atomic uint32_t *seen)
{
    for (int i = 0; i < N_EVENTS; i++)
        if (!atomic_load(&seen[i]))
            return false;
    return true;
}

static void kill_and_restart_loses_nothing(void **state)
{
    cluster c;
    cluster_up(&c, "events", 4);
    double t0 = mono_now();
    produce_events(&c, "events");
    double t_produce = mono_now() - t0;

    _Atomic uint32_t *seen = calloc(N_EVENTS, sizeof *seen);
    _Atomic uint64_t processed = 0;
    uint64_t malformed = 0;
    run r = {.seen = seen, .processed = &processed};

    t0 = mono_now();
    r.phase_of = calloc(N_EVENTS, 1);
    r.phase = 1;
    r.limit = 30000;
    run_start(&r, &c, "events");
    assert_true(wait_for(&processed, r.limit, 120));
    malformed += run_stop(&r, true); /* killed mid-stream */
    uint64_t at_kill = atomic_load(&processed);

    r.phase = 2;
    r.limit = at_kill + 30000;
    run_start(&r, &c, "events");
    assert_true(wait_for(&processed, r.limit, 120));
    malformed += run_stop(&r, false); /* stopped cleanly mid-stream */
    r.limit = 0;
    uint64_t at_stop = atomic_load(&processed);
    uint64_t repeated_after_kill = atomic_load(&r.repeated);
    atomic_store(&r.repeated, 0);
    r.phase = 3;

    run_start(&r, &c, "events");
    double until = mono_now() + 180;
    while (!all_seen(seen) && mono_now() < until) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    malformed += run_stop(&r, false);
    double t_consume = mono_now() - t0;

    uint64_t missing = 0, dup = 0;
    for (int i = 0; i < N_EVENTS; i++) {
        if (!seen[i])
            missing++;
        else
            dup += seen[i] - 1;
    }
    uint64_t total = atomic_load(&processed);
    printf("# kafka: produced %d events in %.2f s; consumed in %.2f s (incl. a 6 s session "
           "timeout); processed %llu (kill at %llu, clean stop at %llu), %llu duplicates, "
           "%llu missing, %llu malformed counted\n",
           N_EVENTS, t_produce, t_consume, (unsigned long long)total,
           (unsigned long long)at_kill, (unsigned long long)at_stop, (unsigned long long)dup,
           (unsigned long long)missing, (unsigned long long)malformed);
    assert_int_equal(missing, 0);
    assert_int_equal(atomic_load(&r.bad_ids), 0);
    /* The clean stop committed everything processed: the last run repeats
     * (almost) nothing; what the kill repeats depends on the auto-commit
     * timing and is only reported. Without commits, the runs would process
     * over 160,000. */
    uint64_t repeated_after_stop = atomic_load(&r.repeated);
    printf("# kafka: processed again by the next run: %llu after the kill, %llu after the "
           "clean stop\n",
           (unsigned long long)repeated_after_kill, (unsigned long long)repeated_after_stop);
    assert_int_equal(repeated_after_stop, 0);
    assert_true(total < 2 * N_EVENTS);
    assert_true(malformed >= N_GARBAGE);
    free(seen);
    free(r.phase_of);
    cluster_down(&c);
}

static void produce_range(const cluster *c, const char *topic, int from, int to)
{
    rd_kafka_t *p = plain_producer(c);
    char buf[128];
    for (int i = from; i < to; i++) {
        int n = snprintf(buf, sizeof buf, "{\"id\":\"k%d\",\"x\":{\"a\":%d}}", i, i % 5);
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(buf, (size_t)n),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    }
    assert_int_equal(rd_kafka_flush(p, 30000), 0);
    rd_kafka_destroy(p);
}

static bool wait_state(source *s, source_state want, double seconds)
{
    double until = mono_now() + seconds;
    while (atomic_load(&s->stats.state) != (int)want && mono_now() < until) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&s->stats.state) == (int)want;
}

/* Every broker goes away: the source says it is reconnecting (with the
 * reason); they come back: it consumes again and says it is connected. */
static void brokers_down_then_back(void **state)
{
    cluster c;
    cluster_up(&c, "live", 1);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    produce_range(&c, "live", 0, 100);
    struct timespec produced;
    clock_gettime(CLOCK_REALTIME, &produced);
    _Atomic uint32_t *seen = calloc(N_EVENTS, sizeof *seen);
    _Atomic uint64_t processed = 0;
    run r = {.seen = seen, .processed = &processed};
    run_start(&r, &c, "live");
    assert_true(wait_for(&processed, 100, 60));
    assert_true(wait_state(r.src, SOURCE_CONNECTED, 10));
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_down(c.mc, b);
    assert_true(wait_state(r.src, SOURCE_RECONNECTING, 60));
    assert_true(r.src->last_error[0] != '\0');
    assert_true(atomic_load(&r.src->stats.attempt) >= 1);
    printf("# kafka: while the brokers are down: %s\n", r.src->last_error);
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_up(c.mc, b);
    produce_range(&c, "live", 100, 200);
    assert_true(wait_for(&processed, 200, 60));
    assert_true(wait_state(r.src, SOURCE_CONNECTED, 10));
    assert_true(atomic_load(&r.src->stats.reconnects) >= 1);
    assert_int_equal(atomic_load(&r.src->stats.attempt), 0);
    run_stop(&r, false);
    for (int i = 0; i < 200; i++)
        assert_true(seen[i] >= 1);
    /* Receive time is the message's timestamp, taken when it was produced:
     * before the consumer even started, so not the consume time. */
    double t_produced = (double)produced.tv_sec + (double)produced.tv_nsec * 1e-9;
    assert_true(r.min_recv_ts >= (double)wall.tv_sec - 1.0);
    assert_true(r.min_recv_ts <= t_produced);
    free(seen);
    cluster_down(&c);
}

/* ---- the sink ---------------------------------------------------------------------- */

static int consume_count(const cluster *c, const char *topic, int expect, char *first,
                         size_t first_len)
{
    char why[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", c->bootstraps, why, sizeof why);
    rd_kafka_conf_set(conf, "group.id", "check", why, sizeof why);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", why, sizeof why);
    rd_kafka_t *k = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    rd_kafka_poll_set_consumer(k);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(k, l);
    rd_kafka_topic_partition_list_destroy(l);
    int n = 0;
    double until = mono_now() + 60;
    while (n < expect && mono_now() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k, 100);
        if (!m)
            continue;
        if (!m->err) {
            if (n == 0 && first)
                snprintf(first, first_len, "%.*s", (int)m->len, (const char *)m->payload);
            n++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(k);
    rd_kafka_destroy(k);
    return n;
}

static void sink_delivers_and_counts_drops(void **state)
{
    cluster c;
    cluster_up(&c, "preds", 2);
    char spec[512], *cause = NULL;
    snprintf(spec, sizeof spec, "kafka://%s/preds?log_level=0", c.bootstraps);
    sink_kafka *k = sink_kafka_open(spec, 0, true, &cause);
    if (!k)
        fail_msg("sink_kafka_open: %s", cause);
    char rec[128];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(rec, sizeof rec, "{\"id\":\"p%d\",\"version\":1,\"prediction\":%d}", i,
                         i % 2);
        assert_int_equal(sink_kafka_send(k, rec + 7, rec, (size_t)n), DD_OK);
    }
    assert_int_equal(sink_kafka_flush(k, 30000), 0);
    sink_kafka_stats st;
    sink_kafka_get_stats(k, &st);
    assert_int_equal(st.sent, 1000);
    assert_int_equal(st.delivered, 1000);
    assert_int_equal(st.dropped, 0);
    sink_kafka_close(k);
    char first[128] = "";
    assert_int_equal(consume_count(&c, "preds", 1000, first, sizeof first), 1000);
    assert_non_null(strstr(first, "\"prediction\""));

    /* A queue of 10 that nobody drains: the rest is dropped and counted,
     * and the call never blocks. */
    k = sink_kafka_open(spec, 10, false, &cause);
    assert_non_null(k);
    int full = 0;
    for (int i = 0; i < 100; i++)
        if (sink_kafka_send(k, NULL, "x", 1) == DD_EFULL)
            full++;
    sink_kafka_get_stats(k, &st);
    assert_true(full > 0);
    assert_int_equal(st.dropped, (uint64_t)full);
    assert_int_equal(st.sent + st.dropped, 100);
    sink_kafka_close(k);
    cluster_down(&c);
}

static void specs(void **state)
{
    kafka_spec sp;
    char *cause = NULL;
    assert_int_equal(kafka_spec_parse("kafka://b1:9092,b2:9092/topic?group=g&reset=latest"
                                      "&commit_ms=250&session.timeout.ms=6000",
                                      &sp, &cause),
                     DD_OK);
    assert_string_equal(sp.brokers, "b1:9092,b2:9092");
    assert_string_equal(sp.topic, "topic");
    assert_string_equal(sp.group, "g");
    assert_true(sp.reset_latest);
    assert_int_equal(sp.commit_ms, 250);
    assert_int_equal(sp.nprops, 1);
    assert_string_equal(sp.prop_key[0], "session.timeout.ms");
    assert_int_equal(kafka_spec_parse("kafka://b/t", &sp, NULL), DD_OK);
    assert_string_equal(sp.group, "driftdeck");
    const char *bad[] = {"kafka://b", "kafka:///t", "kafka://b/", "kafka://b/t?x=1",
                         "kafka://b/t?reset=middle", "kafka://b/t?group", "kafka://b/t?commit_ms=0",
                         "http://b/t"};
    for (size_t i = 0; i < DD_ARRAY_LEN(bad); i++) {
        if (kafka_spec_parse(bad[i], &sp, &cause) != DD_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(cause);
    }
    free(cause);
    cause = NULL;
    /* librdkafka refuses an unknown property: a clear error at open. */
    assert_null(source_kafka_open("kafka://127.0.0.1:1/t?no.such.property=1", NULL, &cause));
    assert_non_null(strstr(cause, "no.such.property"));
    free(cause);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(specs),
        cmocka_unit_test(sink_delivers_and_counts_drops),
        cmocka_unit_test(kill_and_restart_loses_nothing),
        cmocka_unit_test(brokers_down_then_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
