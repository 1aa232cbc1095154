/*
 * sink.h: where predictions go: back over the WebSocket connection, to a
 * JSON Lines file, to stdout (headless), or to Kafka (src/sink_kafka.c).
 *
 * The worker formats each prediction once as a JSON line,
 *   {"type":"prediction","id":"e-1042","seq":17,"model_version":1,"pred":1,
 *    "prob":0.83,"latency_ms":0.41}
 * (regression: "pred" is the value and there is no "prob"; multiclass:
 * "pred" is the class index and "prob" its probability; "id" is null for an
 * event without one), and hands a copy to every sink of the run. Each sink
 * has its own bounded queue and its own consumer (a writer thread for files
 * and stdout; the connection's network thread for ws), so a slow consumer
 * never stalls the worker: with policy drop, a full queue drops the new
 * prediction and counts it; with policy block, the worker waits (the user
 * asked for it). latency_ms is wall time from the message's receive time to
 * the prediction (for a replayed recording: from the recorded receive time).
 */
#ifndef DD_SINK_H
#define DD_SINK_H

#include "dd.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dd_event;
struct pipeline_result;
struct source;
struct queue;

typedef enum sink_policy { SINK_DROP = 0, SINK_BLOCK } sink_policy;

typedef struct sink_stats {
    _Atomic uint64_t queued;  /* accepted into the queue */
    _Atomic uint64_t written; /* handed to the consumer's output */
    _Atomic uint64_t dropped; /* refused: the queue was full (policy drop) */
    _Atomic uint64_t failed;  /* lost by the output (write error, no memory) */
} sink_stats;

typedef struct sink sink;

/* A sink writing lines to path ("-": stdout), one writer thread. Returns a
 * new sink or NULL with *cause (the file cannot be opened). */
sink *sink_file_new(const char *path, size_t capacity, sink_policy policy, char **cause);

/* A sink sending each line as a text message over the WebSocket source src
 * (borrowed; it must outlive the sink and be a ws source). */
sink *sink_ws_new(struct source *src, size_t capacity, sink_policy policy, char **cause);

/* A sink whose lines are taken by someone else with sink_pop() (Kafka);
 * wake (may be NULL) is called after each push. */
sink *sink_queue_new(const char *kind, size_t capacity, sink_policy policy, void (*wake)(void *ctx),
                     void *ctx, char **cause);

/* A sink whose output is a call made in the worker's thread that itself
 * never blocks (Kafka: librdkafka's bounded queue is the sink's queue).
 * send gets the event id as the key (NULL when absent) and returns DD_OK
 * (written), DD_EFULL (dropped) or another error (failed). close (may be
 * NULL) flushes and frees ctx at sink_close(), returning the lines it
 * could not deliver (counted as failed). */
sink *sink_direct_new(const char *kind,
                      dd_err (*send)(void *ctx, const char *key, const char *line, size_t len),
                      uint64_t (*close)(void *ctx), void *ctx, char **cause);

/* Start the sink's consumer. */
dd_err sink_start(sink *s, char **cause);

/* Push one line (a NUL-terminated JSON text without newline). Takes
 * ownership of line in every case. Never blocks with policy drop. */
void sink_push(sink *s, char *line);

/* The next line for an external consumer, or NULL if none waits (never
 * blocks). The caller frees it and counts it written (sink_written). */
char *sink_pop(sink *s, size_t *len);
void sink_written(sink *s, uint64_t n, bool ok);

/* Close the queue, let the consumer write what is queued, and join it.
 * Idempotent. */
void sink_close(sink *s);
void sink_free(sink *s);

const char *sink_kind(const sink *s);
const sink_stats *sink_get_stats(const sink *s);

/* The prediction line of an event, or NULL on no memory. Caller frees.
 * latency_ms < 0 or non-finite leaves it out. */
char *sink_format(const struct dd_event *ev, const struct pipeline_result *res,
                  uint64_t model_version, double latency_ms);

/* A run's set of sinks: built from the configuration's comma list ("ws",
 * "file", "stdout", "kafka"); the worker calls sinkset_emit() per prediction. */
typedef struct sinkset sinkset;

typedef struct sinkset_params {
    const char *list;  /* "ws,file,stdout,kafka" (any subset, any order); NULL or "" none */
    const char *file;  /* the file sink's path */
    const char *kafka; /* the kafka sink's kafka://BROKERS/TOPIC */
    size_t capacity;   /* queue per sink */
    sink_policy policy;
} sinkset_params;

/* Returns a new set (an empty list gives a set that does nothing), or NULL
 * with *cause (an unknown kind, "ws" without a ws source, a file that
 * cannot be opened, kafka without --with-kafka or a bad spec). src is
 * borrowed. */
sinkset *sinkset_new(const sinkset_params *p, struct source *src, char **cause);
dd_err sinkset_start(sinkset *ss, char **cause);
/* Add a sink made elsewhere (Kafka); the set takes ownership. */
dd_err sinkset_add(sinkset *ss, sink *s);
size_t sinkset_count(const sinkset *ss);
/* True if the set has a sink of that kind ("ws", "file", "stdout", "kafka"). */
bool sinkset_has(const sinkset *ss, const char *kind);
sink *sinkset_get(sinkset *ss, size_t i);

/* Format the prediction once and push it to every sink. Worker thread. */
void sinkset_emit(sinkset *ss, const struct dd_event *ev, const struct pipeline_result *res,
                  uint64_t model_version);

/* The same as a worker_output event hook (worker.h): ctx is the sinkset.
 * Model version 1 until governance versions the active model. */
void sinkset_on_event(void *ctx, const struct dd_event *ev, const struct pipeline_result *res);

void sinkset_close(sinkset *ss);
void sinkset_free(sinkset *ss);

#endif
