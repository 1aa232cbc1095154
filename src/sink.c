/*
 * sink.c: prediction sinks (see sink.h): a bounded queue of lines per sink
 * and its consumer. Files and stdout have a writer thread that flushes
 * whenever its queue runs empty (so a reader of stdout sees predictions at
 * once, and a busy stream still writes in large blocks). The ws sink's
 * consumer is the WebSocket source's network thread, woken after each push.
 */
#include "sink.h"

#include "event.h"
#include "pipeline.h"
#include "queue.h"
#include "source.h"
#include "source_ws.h"
#ifdef DD_HAVE_KAFKA
#include "kafka.h"
#endif

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SINKSET_MAX 8
#define WS_CLOSE_GRACE_MS 1000 /* time a closing ws sink gives its queue to leave */

struct sink {
    char kind[16];
    queue *q;
    sink_policy policy;
    sink_stats stats;
    FILE *f; /* file, stdout */
    bool own_file;
    pthread_t thread;
    bool started, closed;
    void (*wake)(void *ctx);
    void *wake_ctx;
    /* ws */
    struct source *src;
    /* direct (Kafka): send is the output; close returns what it could not deliver */
    dd_err (*send)(void *ctx, const char *key, const char *line, size_t len);
    uint64_t (*close_direct)(void *ctx);
    void *direct_ctx;
};

static sink *sink_alloc(const char *kind, size_t capacity, sink_policy policy, char **cause)
{
    sink *s = calloc(1, sizeof *s);
    if (s)
        s->q = queue_new(capacity ? capacity : 1);
    if (!s || !s->q) {
        free(s);
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(s->kind, sizeof s->kind, "%s", kind);
    s->policy = policy;
    return s;
}

sink *sink_file_new(const char *path, size_t capacity, sink_policy policy, char **cause)
{
    bool is_stdout = !strcmp(path, "-");
    sink *s = sink_alloc(is_stdout ? "stdout" : "file", capacity, policy, cause);
    if (!s)
        return NULL;
    s->f = is_stdout ? stdout : fopen(path, "w");
    s->own_file = !is_stdout;
    if (!s->f) {
        dd_fail(cause, DD_EIO, "prediction file %s: %s", path, strerror(errno));
        sink_free(s);
        return NULL;
    }
    return s;
}

sink *sink_queue_new(const char *kind, size_t capacity, sink_policy policy, void (*wake)(void *ctx),
                     void *ctx, char **cause)
{
    sink *s = sink_alloc(kind, capacity, policy, cause);
    if (s) {
        s->wake = wake;
        s->wake_ctx = ctx;
    }
    return s;
}

sink *sink_direct_new(const char *kind,
                      dd_err (*send)(void *ctx, const char *key, const char *line, size_t len),
                      uint64_t (*close)(void *ctx), void *ctx, char **cause)
{
    sink *s = sink_alloc(kind, 1, SINK_DROP, cause);
    if (s) {
        s->send = send;
        s->close_direct = close;
        s->direct_ctx = ctx;
    }
    return s;
}

/* A direct sink: the call is the output. */
static void send_direct(sink *s, const char *key, char *line)
{
    dd_err err = s->closed ? DD_EFULL : s->send(s->direct_ctx, key, line, strlen(line));
    free(line);
    atomic_fetch_add(err == DD_OK      ? &s->stats.written
                     : err == DD_EFULL ? &s->stats.dropped
                                       : &s->stats.failed,
                     1);
    if (err == DD_OK)
        atomic_fetch_add(&s->stats.queued, 1);
}

static char *ws_pop(void *ctx, size_t *len)
{
    sink *s = ctx;
    char *line = sink_pop(s, len);
    if (line)
        sink_written(s, 1, true);
    return line;
}

static void ws_wake(void *ctx)
{
    source_ws_wake_writer(ctx);
}

sink *sink_ws_new(struct source *src, size_t capacity, sink_policy policy, char **cause)
{
    if (!source_is_ws(src)) {
        dd_fail(cause, DD_EINVAL, "predictions to 'ws' need a ws:// or wss:// source");
        return NULL;
    }
    sink *s = sink_queue_new("ws", capacity, policy, ws_wake, src, cause);
    if (s) {
        s->src = src;
        source_ws_set_outgoing(src, ws_pop, s);
    }
    return s;
}

static void *writer_main(void *arg)
{
    sink *s = arg;
    void *item;
    while (queue_pop(s->q, &item, -1) == QUEUE_OK) {
        char *line = item;
        flockfile(s->f); /* stdout is shared with headless status lines */
        bool ok = fputs(line, s->f) >= 0 && fputc('\n', s->f) != EOF;
        if (ok && queue_length(s->q) == 0)
            ok = fflush(s->f) == 0;
        funlockfile(s->f);
        free(line);
        sink_written(s, 1, ok);
    }
    fflush(s->f);
    return NULL;
}

dd_err sink_start(sink *s, char **cause)
{
    if (!s->f || s->started)
        return DD_OK;
    if (pthread_create(&s->thread, NULL, writer_main, s))
        return dd_fail(cause, DD_ENOMEM, "cannot start the %s sink thread", s->kind);
    s->started = true;
    return DD_OK;
}

void sink_push(sink *s, char *line)
{
    if (!line) {
        atomic_fetch_add(&s->stats.failed, 1);
        return;
    }
    if (s->send) {
        send_direct(s, NULL, line);
        return;
    }
    queue_result r = queue_push(s->q, line, s->policy == SINK_BLOCK ? -1 : 0);
    if (r != QUEUE_OK) {
        free(line);
        atomic_fetch_add(&s->stats.dropped, 1);
        return;
    }
    atomic_fetch_add(&s->stats.queued, 1);
    if (s->wake)
        s->wake(s->wake_ctx);
}

char *sink_pop(sink *s, size_t *len)
{
    void *item;
    if (queue_pop(s->q, &item, 0) != QUEUE_OK)
        return NULL;
    *len = strlen(item);
    return item;
}

void sink_written(sink *s, uint64_t n, bool ok)
{
    atomic_fetch_add(ok ? &s->stats.written : &s->stats.failed, n);
}

static void wait_drained(sink *s, int ms)
{
    struct timespec tick = {0, 10 * 1000000L};
    for (int waited = 0; waited < ms && queue_length(s->q) > 0; waited += 10)
        nanosleep(&tick, NULL);
}

void sink_close(sink *s)
{
    if (!s || s->closed)
        return;
    s->closed = true;
    if (s->close_direct) {
        atomic_fetch_add(&s->stats.failed, s->close_direct(s->direct_ctx));
        s->close_direct = NULL;
    }
    if (s->src) {
        if (atomic_load(&s->src->stats.state) == SOURCE_CONNECTED)
            wait_drained(s, WS_CLOSE_GRACE_MS);
        source_ws_set_outgoing(s->src, NULL, NULL);
    }
    queue_close(s->q);
    if (s->started) {
        pthread_join(s->thread, NULL);
        s->started = false;
    }
    void *item; /* what no consumer took: counted, not silently lost */
    while (queue_pop(s->q, &item, 0) == QUEUE_OK) {
        free(item);
        atomic_fetch_add(&s->stats.dropped, 1);
    }
}

void sink_free(sink *s)
{
    if (!s)
        return;
    sink_close(s);
    if (s->own_file && s->f)
        fclose(s->f);
    queue_free(s->q, free);
    free(s);
}

const char *sink_kind(const sink *s)
{
    return s->kind;
}

const sink_stats *sink_get_stats(const sink *s)
{
    return &s->stats;
}

/* ---- formatting ----------------------------------------------------------------- */

/* Append a JSON string (quoted, escaped) or null. */
static size_t put_json_string(char *o, size_t cap, const char *s)
{
    if (!s)
        return (size_t)snprintf(o, cap, "null");
    size_t n = 0;
    if (n < cap)
        o[n] = '"';
    n++;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        int k = (*p == '"' || *p == '\\') ? snprintf(esc, sizeof esc, "\\%c", *p)
                : *p < 0x20               ? snprintf(esc, sizeof esc, "\\u%04x", *p)
                                          : snprintf(esc, sizeof esc, "%c", *p);
        for (int i = 0; i < k; i++, n++)
            if (n < cap)
                o[n] = esc[i];
    }
    if (n < cap)
        o[n] = '"';
    n++;
    if (n < cap)
        o[n] = '\0';
    return n;
}

static int put_num(char *o, size_t cap, const char *key, double v)
{
    return isfinite(v) ? snprintf(o, cap, ",\"%s\":%.17g", key, v)
                       : snprintf(o, cap, ",\"%s\":null", key);
}

char *sink_format(const struct dd_event *ev, const struct pipeline_result *res,
                  uint64_t model_version, double latency_ms)
{
    size_t idlen = ev->id ? strlen(ev->id) : 0;
    size_t cap = 6 * idlen + 256;
    char *line = malloc(cap);
    if (!line)
        return NULL;
    size_t n = (size_t)snprintf(line, cap, "{\"type\":\"prediction\",\"id\":");
    n += put_json_string(line + n, cap - n, ev->id);
    n += (size_t)snprintf(line + n, cap - n, ",\"seq\":%llu,\"model_version\":%llu",
                          (unsigned long long)ev->seq, (unsigned long long)model_version);
    if (res->out.cls < 0) {
        n += (size_t)put_num(line + n, cap - n, "pred", res->out.score);
    } else {
        n += (size_t)snprintf(line + n, cap - n, ",\"pred\":%d", (int)res->out.cls);
        n += (size_t)put_num(line + n, cap - n, "prob", res->out.score);
    }
    if (latency_ms >= 0 && isfinite(latency_ms))
        n += (size_t)snprintf(line + n, cap - n, ",\"latency_ms\":%.3f", latency_ms);
    snprintf(line + n, cap - n, "}");
    return line;
}

/* ---- the set -------------------------------------------------------------------- */

struct sinkset {
    sink *s[SINKSET_MAX];
    size_t n;
};

dd_err sinkset_add(sinkset *ss, sink *s)
{
    if (ss->n == SINKSET_MAX) {
        sink_free(s);
        return DD_EFULL;
    }
    ss->s[ss->n++] = s;
    return DD_OK;
}

#ifdef DD_HAVE_KAFKA
static dd_err kafka_send(void *ctx, const char *key, const char *line, size_t len)
{
    return sink_kafka_send(ctx, key, line, len);
}

static uint64_t kafka_close(void *ctx)
{
    sink_kafka_stats st;
    uint64_t left = sink_kafka_flush(ctx, 5000);
    sink_kafka_get_stats(ctx, &st);
    sink_kafka_close(ctx);
    return left + st.failed; /* never delivered: the cluster refused, or we gave up */
}

static sink *make_kafka(const sinkset_params *p, char **cause)
{
    if (!p->kafka || !*p->kafka) {
        dd_fail(cause, DD_EINVAL, "predictions to kafka need [sink] kafka = kafka://BROKERS/TOPIC");
        return NULL;
    }
    sink_kafka *k =
        sink_kafka_open(p->kafka, (uint32_t)p->capacity, p->policy == SINK_BLOCK, cause);
    sink *s = k ? sink_direct_new("kafka", kafka_send, kafka_close, k, cause) : NULL;
    if (k && !s)
        sink_kafka_close(k);
    return s;
}
#endif

static sink *make_sink(const char *kind, size_t klen, const sinkset_params *p, struct source *src,
                       char **cause)
{
    if (klen == 2 && !strncmp(kind, "ws", 2))
        return sink_ws_new(src, p->capacity, p->policy, cause);
    if (klen == 4 && !strncmp(kind, "file", 4))
        return sink_file_new(p->file ? p->file : "predictions.jsonl", p->capacity, p->policy,
                             cause);
    if (klen == 6 && !strncmp(kind, "stdout", 6))
        return sink_file_new("-", p->capacity, p->policy, cause);
#ifdef DD_HAVE_KAFKA
    if (klen == 5 && !strncmp(kind, "kafka", 5))
        return make_kafka(p, cause);
#endif
#ifdef DD_HAVE_KAFKA
    const char *more = ", kafka";
#else
    const char *more =
        klen == 5 && !strncmp(kind, "kafka", 5) ? "; kafka needs a build with librdkafka" : "";
#endif
    dd_fail(cause, DD_EINVAL, "unknown prediction sink '%.*s' (expected ws, file, stdout%s)",
            (int)klen, kind, more);
    return NULL;
}

sinkset *sinkset_new(const sinkset_params *p, struct source *src, char **cause)
{
    const char *list = p->list;
    sinkset *ss = calloc(1, sizeof *ss);
    if (!ss) {
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    for (const char *q = list ? list : ""; *q;) {
        size_t k = strcspn(q, ", ");
        if (k > 0) {
            sink *s = make_sink(q, k, p, src, cause);
            if (!s || sinkset_add(ss, s)) {
                if (s)
                    dd_fail(cause, DD_EFULL, "too many prediction sinks");
                sinkset_free(ss);
                return NULL;
            }
        }
        q += k;
        while (*q == ',' || *q == ' ')
            q++;
    }
    return ss;
}

dd_err sinkset_start(sinkset *ss, char **cause)
{
    for (size_t i = 0; i < ss->n; i++) {
        dd_err err = sink_start(ss->s[i], cause);
        if (err)
            return err;
    }
    return DD_OK;
}

size_t sinkset_count(const sinkset *ss)
{
    return ss ? ss->n : 0;
}

bool sinkset_has(const sinkset *ss, const char *kind)
{
    for (size_t i = 0; ss && i < ss->n; i++)
        if (!strcmp(ss->s[i]->kind, kind))
            return true;
    return false;
}

sink *sinkset_get(sinkset *ss, size_t i)
{
    return i < ss->n ? ss->s[i] : NULL;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void sinkset_emit(sinkset *ss, const struct dd_event *ev, const struct pipeline_result *res,
                  uint64_t model_version)
{
    if (!ss || ss->n == 0 || !res->predicted)
        return;
    double latency = ev->recv_ts > 0 ? (wall_s() - ev->recv_ts) * 1000.0 : -1;
    char *line = sink_format(ev, res, model_version, latency);
    for (size_t i = 0; i < ss->n; i++) {
        char *mine = i + 1 < ss->n ? (line ? strdup(line) : NULL) : line;
        if (ss->s[i]->send && mine)
            send_direct(ss->s[i], ev->id, mine);
        else
            sink_push(ss->s[i], mine);
    }
}

void sinkset_on_event(void *ctx, const struct dd_event *ev, const struct pipeline_result *res)
{
    sinkset_emit(ctx, ev, res, 1);
}

void sinkset_close(sinkset *ss)
{
    for (size_t i = 0; ss && i < ss->n; i++)
        sink_close(ss->s[i]);
}

void sinkset_free(sinkset *ss)
{
    if (!ss)
        return;
    for (size_t i = 0; i < ss->n; i++)
        sink_free(ss->s[i]);
    free(ss);
}
