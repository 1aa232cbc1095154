/*
 * sink_kafka.c: predictions to a Kafka topic (see kafka.h).
 *
 * A plain librdkafka producer: rd_kafka_producev() copies the record into
 * librdkafka's queue, bounded by queue.buffering.max.messages, and returns at
 * once; a full queue is a counted drop (or, when opened with block, the call
 * serves delivery reports and retries until there is room). Delivery reports
 * are served by rd_kafka_poll(rk, 0) on every send, in the caller's thread,
 * and counted as delivered or failed. Counters are atomics: a status reader
 * may read them from another thread.
 */
#include "kafka.h"

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink_kafka {
    rd_kafka_t *rk;
    rd_kafka_topic_t *topic;
    bool block;
    _Atomic uint64_t sent, delivered, failed, dropped;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    sink_kafka *k = opaque;
    if (m->err)
        atomic_fetch_add(&k->failed, 1);
    else
        atomic_fetch_add(&k->delivered, 1);
}

sink_kafka *sink_kafka_open(const char *spec, uint32_t queue_capacity, bool block, char **cause)
{
    kafka_spec sp;
    if (kafka_spec_parse(spec, &sp, cause))
        return NULL;
    sink_kafka *k = calloc(1, sizeof *k);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!k || !conf) {
        free(k);
        if (conf)
            rd_kafka_conf_destroy(conf);
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    k->block = block;
    char why[256], cap[16];
    snprintf(cap, sizeof cap, "%u", queue_capacity ? queue_capacity : 100000);
    const char *kv[][2] = {
        {"bootstrap.servers", sp.brokers},
        {"client.id", "driftdeck"},
        {"queue.buffering.max.messages", cap},
        {"linger.ms", "5"},
    };
    bool ok = true;
    for (size_t i = 0; i < DD_ARRAY_LEN(kv) && ok; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], why, sizeof why) != RD_KAFKA_CONF_OK) {
            dd_fail(cause, DD_EINVAL, "kafka sink: %s=%s: %s", kv[i][0], kv[i][1], why);
            ok = false;
        }
    for (uint32_t i = 0; i < sp.nprops && ok; i++)
        if (rd_kafka_conf_set(conf, sp.prop_key[i], sp.prop_val[i], why, sizeof why) !=
            RD_KAFKA_CONF_OK) {
            dd_fail(cause, DD_EINVAL, "kafka sink: %s=%s: %s", sp.prop_key[i], sp.prop_val[i], why);
            ok = false;
        }
    if (ok) {
        rd_kafka_conf_set_opaque(conf, k);
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        if (!(k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why))) {
            dd_fail(cause, DD_EINVAL, "kafka sink: %s", why);
            ok = false;
        }
    }
    if (!ok) {
        if (!k->rk)
            rd_kafka_conf_destroy(conf);
        free(k);
        return NULL;
    }
    if (!(k->topic = rd_kafka_topic_new(k->rk, sp.topic, NULL))) {
        dd_fail(cause, DD_EINVAL, "kafka sink: topic %s: %s", sp.topic,
                rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_destroy(k->rk);
        free(k);
        return NULL;
    }
    return k;
}

dd_err sink_kafka_send(sink_kafka *k, const char *key, const char *value, size_t len)
{
    for (;;) {
        rd_kafka_poll(k->rk, 0);
        int r = rd_kafka_produce(k->topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                 (void *)value, len, key, key ? strlen(key) : 0, NULL);
        if (r == 0) {
            atomic_fetch_add(&k->sent, 1);
            return DD_OK;
        }
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return DD_EIO;
        if (!k->block) {
            atomic_fetch_add(&k->dropped, 1);
            return DD_EFULL;
        }
        rd_kafka_poll(k->rk, 10); /* wait for deliveries to make room */
    }
}

void sink_kafka_poll(sink_kafka *k)
{
    rd_kafka_poll(k->rk, 0);
}

void sink_kafka_get_stats(sink_kafka *k, sink_kafka_stats *st)
{
    st->sent = atomic_load(&k->sent);
    st->delivered = atomic_load(&k->delivered);
    st->failed = atomic_load(&k->failed);
    st->dropped = atomic_load(&k->dropped);
}

uint64_t sink_kafka_flush(sink_kafka *k, int timeout_ms)
{
    rd_kafka_flush(k->rk, timeout_ms);
    return (uint64_t)rd_kafka_outq_len(k->rk);
}

void sink_kafka_close(sink_kafka *k)
{
    if (!k)
        return;
    uint64_t left = sink_kafka_flush(k, 5000);
    atomic_fetch_add(&k->failed, left);
    rd_kafka_topic_destroy(k->topic);
    rd_kafka_destroy(k->rk);
    free(k);
}
