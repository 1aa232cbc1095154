/*
 * kafka.h: the Kafka source and sink (librdkafka), built when configure
 * finds librdkafka (DD_HAVE_KAFKA).
 *
 * Spec: kafka://BROKER[,BROKER...]/TOPIC[?key=value&...]. Keys: group (the
 * consumer group, default "driftdeck"), reset (earliest|latest: where a new
 * group starts, default earliest), commit_ms (auto-commit interval of the
 * stored offsets, default 1000); any other key with a dot or an underscore
 * is a librdkafka property passed through (session.timeout.ms=6000,
 * security.protocol=ssl, log_level=3, ...), which librdkafka checks.
 *
 * The source is at-least-once: enable.auto.offset.store=false; a message's
 * offset is stored only when the worker has acknowledged every event it
 * became (the source's ack op, tracked by offtrack.h), and auto-commit (plus
 * a final synchronous commit on stop, and on revocation) commits only stored
 * offsets. A restart, or another member taking the partition, resumes after
 * the last fully processed message: events can repeat, none is lost.
 *
 * A message's receive time is its Kafka timestamp (producer or broker
 * time) when it has one, so events without a ts of their own get the same
 * event time in every replay of the topic; latency then includes the time
 * spent in Kafka.
 *
 * The sink produces one record per prediction to a topic, keyed by event id.
 * librdkafka's own bounded queue is the sink's queue: when it is full the
 * record is dropped and counted (or, with block, the call waits for room),
 * so a slow cluster never stalls the worker unless asked to.
 */
#ifndef DD_KAFKA_H
#define DD_KAFKA_H

#include "dd.h"
#include "source.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KAFKA_MAX_PROPS 32

typedef struct kafka_spec {
    char brokers[512];
    char topic[256];
    char group[256];
    bool reset_latest;
    uint32_t commit_ms;
    uint32_t nprops;
    char prop_key[KAFKA_MAX_PROPS][128];
    char prop_val[KAFKA_MAX_PROPS][256];
} kafka_spec;

/* Parse a kafka:// spec. DD_EINVAL with a cause naming the bad part. */
dd_err kafka_spec_parse(const char *spec, kafka_spec *out, char **cause);

/* The Kafka source (for source_open()). Returns a new source, or NULL with
 * *cause set (a bad spec or a property librdkafka refuses). */
source *source_kafka_open(const char *spec, const source_options *opt, char **cause);

/* Tests only: make the next stop behave like a crash (no final commit, no
 * group leave): what was not committed yet is consumed again on restart. */
void source_kafka_crash_on_stop(source *s);

typedef struct sink_kafka sink_kafka;

typedef struct sink_kafka_stats {
    uint64_t sent;      /* records handed to librdkafka */
    uint64_t delivered; /* acknowledged by the cluster */
    uint64_t failed;    /* delivery failed after librdkafka's retries */
    uint64_t dropped;   /* refused because the queue was full */
} sink_kafka_stats;

/* Returns a new producer for the spec's topic, queueing at most
 * queue_capacity records (0: librdkafka's default of 100000); block: wait for
 * room instead of dropping. NULL with *cause set on error. Free with
 * sink_kafka_close(). */
sink_kafka *sink_kafka_open(const char *spec, uint32_t queue_capacity, bool block, char **cause);

/* Queue one record (copied): key may be NULL. Never blocks unless opened
 * with block. Returns DD_OK, DD_EFULL (dropped, counted) or DD_EIO. */
dd_err sink_kafka_send(sink_kafka *k, const char *key, const char *value, size_t len);

/* Serve delivery reports (cheap; sink_kafka_send() does it too). */
void sink_kafka_poll(sink_kafka *k);

void sink_kafka_get_stats(sink_kafka *k, sink_kafka_stats *st);

/* Wait up to timeout_ms for queued records to be delivered; returns how many
 * are still queued. */
uint64_t sink_kafka_flush(sink_kafka *k, int timeout_ms);

/* Flush (up to 5 s), then free. Records still queued are counted as failed. */
void sink_kafka_close(sink_kafka *k);

#endif
