/*
 * bench_ws.c: the WebSocket source into the worker, end to end, on loopback.
 *
 * An in-process libwebsockets server (its own thread and context) streams
 * generated events to driftdeck's real path: wsclient -> raw queue -> parser
 * thread (ingest) -> event queue -> worker (features, predict, learn, drift)
 * -> a prediction sink, whose lines carry the receive -> prediction latency.
 *   1. throughput: N events as fast as the server can write them; messages/s
 *      from the first byte to the worker's last prediction.
 *   2. latency: events paced at RATE/s (a batch every millisecond); p50, p99
 *      and max of receive -> prediction latency over every event.
 * Figures go to stdout; nothing is asserted (timings belong here, not in
 * tests). Usage: bench_ws [N_THROUGHPUT] [N_LATENCY] [RATE].
 */
#include "config.h"
#include "ingest.h"
#include "queue.h"
#include "sink.h"
#include "source.h"
#include "worker.h"
#include "wsclient.h"

#include <libwebsockets.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the server ---------------------------------------------------------------- */

typedef struct server {
    struct lws_context *ctx;
    int port;
    uint64_t total; /* events to send on the connection */
    double rate;    /* events/s, <= 0: as fast as possible */
    uint64_t sent, budget;
    struct timespec t0;
    lws_sorted_usec_list_t sul;
    struct lws *wsi;
    atomic_bool stop;
    pthread_t thread;
    char buf[LWS_PRE + 512];
} server;

static server srv;

static void pace_cb(lws_sorted_usec_list_t *sul)
{
    (void)sul;
    if (!srv.wsi)
        return;
    /* the budget follows the wall clock, so timer slack does not lower the rate */
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double el = (double)(t.tv_sec - srv.t0.tv_sec) + (double)(t.tv_nsec - srv.t0.tv_nsec) * 1e-9;
    srv.budget = (uint64_t)(srv.rate * el);
    lws_callback_on_writable(srv.wsi);
    lws_sul_schedule(srv.ctx, 0, &srv.sul, pace_cb, 1000);
}

static int send_one(struct lws *wsi)
{
    uint64_t i = srv.sent;
    unsigned r = (unsigned)(i * 2654435761u);
    double a = (double)(r % 1000) / 100.0, b = (double)((r >> 10) % 1000) / 100.0;
    int n = snprintf(srv.buf + LWS_PRE, sizeof srv.buf - LWS_PRE,
                     "{\"id\":\"e-%llu\",\"x\":{\"a\":%.2f,\"b\":%.2f,\"c\":\"k%u\"},\"y\":%d}",
                     (unsigned long long)i, a, b, r % 7, a + b > 9.0);
    if (lws_write(wsi, (unsigned char *)srv.buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
        return -1;
    srv.sent++;
    return 0;
}

static int server_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        srv.wsi = wsi;
        srv.sent = srv.budget = 0;
        clock_gettime(CLOCK_MONOTONIC, &srv.t0);
        if (srv.rate > 0)
            lws_sul_schedule(srv.ctx, 0, &srv.sul, pace_cb, 1000);
        else
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (srv.sent >= srv.total)
            return -1; /* all sent: close */
        if (srv.rate > 0 && srv.sent >= srv.budget)
            break;
        if (send_one(wsi))
            return -1;
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLOSED:
        srv.wsi = NULL;
        lws_sul_cancel(&srv.sul);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols server_protocols[] = {
    {"bench", server_cb, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void no_log(int level, const char *line)
{
    (void)level;
    (void)line;
}

static void *server_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&srv.stop))
        lws_service(srv.ctx, 0);
    return NULL;
}

static int server_start(uint64_t total, double rate)
{
    struct lws_context_creation_info info;
    memset(&srv, 0, sizeof srv);
    memset(&info, 0, sizeof info);
    srv.total = total;
    srv.rate = rate;
    info.port = 0; /* a free port */
    info.iface = "127.0.0.1";
    info.protocols = server_protocols;
    lws_set_log_level(0, no_log);
    srv.ctx = lws_create_context(&info);
    if (!srv.ctx)
        return -1;
    srv.port = lws_get_vhost_listen_port(lws_get_vhost_by_name(srv.ctx, "default"));
    return pthread_create(&srv.thread, NULL, server_main, NULL) ? -1 : 0;
}

static void server_stop(void)
{
    atomic_store(&srv.stop, true);
    lws_cancel_service(srv.ctx);
    pthread_join(srv.thread, NULL);
    lws_context_destroy(srv.ctx);
}

/* ---- the client side: driftdeck's path ----------------------------------------- */

typedef struct lat_collector {
    sink *snk;
    double *lat;
    size_t n, cap;
    atomic_bool stop;
} lat_collector;

static void *collect_main(void *arg)
{
    lat_collector *c = arg;
    struct timespec tick = {0, 1000000};
    for (;;) {
        size_t len;
        char *line = sink_pop(c->snk, &len);
        if (!line) {
            if (atomic_load(&c->stop))
                break;
            nanosleep(&tick, NULL);
            continue;
        }
        const char *p = strstr(line, "\"latency_ms\":");
        if (p && c->n < c->cap)
            c->lat[c->n++] = strtod(p + 13, NULL);
        sink_written(c->snk, 1, true);
        free(line);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static worker_status last;
static void on_summary(void *ctx, const worker_status *st)
{
    (void)ctx;
    last = *st;
}

/* Run N events through the pipeline from the server; returns seconds, fills lat. */
static double run(uint64_t n, double rate, lat_collector *col)
{
    if (server_start(n, rate)) {
        fprintf(stderr, "bench_ws: cannot start the server\n");
        exit(1);
    }
    dd_config cfg;
    config_defaults(&cfg);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", srv.port);
    wsclient_params wp;
    wsclient_params_default(&wp);
    wp.reconnect = false;
    source_options so = {0};
    so.ws = &wp;
    queue *q = queue_new(cfg.queue_capacity);
    ingest *ing = ingest_new(q, &cfg.limits, NULL, NULL, NULL);
    char *cause = NULL;
    source *src = source_open(url, &so, ing, &cause);
    sinkset_params sp = {0};
    sinkset *ss = sinkset_new(&sp, src, NULL);
    col->snk = sink_queue_new("bench", 1u << 20, SINK_BLOCK, NULL, NULL, NULL);
    sinkset_add(ss, col->snk);
    worker_output out = {.summary = on_summary};
    worker *w = src ? worker_new(&cfg, q, &src, 1, ing, &out, &cause) : NULL;
    if (!w) {
        fprintf(stderr, "bench_ws: %s\n", cause ? cause : "setup failed");
        exit(1);
    }
    worker_output so_out = {.ctx = ss, .event = sinkset_on_event};
    worker_add_output(w, &so_out);
    pthread_t ct;
    atomic_store(&col->stop, false);
    pthread_create(&ct, NULL, collect_main, col);
    double t0 = now_s();
    worker_start(w, NULL);
    src->ops->start(src, NULL);
    worker_join(w);
    double secs = now_s() - t0;
    atomic_store(&col->stop, true);
    pthread_join(ct, NULL);
    queue_close(q);
    sinkset_free(ss);
    source_free(src);
    worker_free(w);
    ingest_free(ing);
    queue_free(q, (void (*)(void *))event_free);
    server_stop();
    return secs;
}

int main(int argc, char **argv)
{
    uint64_t n_tp = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
    uint64_t n_lat = argc > 2 ? strtoull(argv[2], NULL, 10) : 50000;
    double rate = argc > 3 ? strtod(argv[3], NULL) : 10000;
    lat_collector col = {0};
    col.cap = (size_t)(n_tp > n_lat ? n_tp : n_lat);
    col.lat = malloc(col.cap * sizeof *col.lat);

    double secs = run(n_tp, 0, &col);
    printf("throughput: %llu events in %.3f s = %.0f events/s (processed %llu, dropped %llu)\n",
           (unsigned long long)n_tp, secs, (double)last.events / secs,
           (unsigned long long)last.events, (unsigned long long)last.dropped);

    col.n = 0;
    secs = run(n_lat, rate, &col);
    qsort(col.lat, col.n, sizeof *col.lat, cmp_double);
    if (col.n) {
        printf("latency at %.0f events/s (%zu events, %.1f s): receive->prediction p50 %.3f ms, "
               "p99 %.3f ms, max %.3f ms\n",
               rate, col.n, secs, col.lat[col.n / 2], col.lat[(size_t)((double)col.n * 0.99)],
               col.lat[col.n - 1]);
    }
    free(col.lat);
    return 0;
}
