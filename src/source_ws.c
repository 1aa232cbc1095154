/*
 * source_ws.c: the WebSocket source: a wsclient (the network loop) and a
 * parser thread, joined by a small bounded queue of raw messages.
 *
 * The loop thread never blocks: it copies each complete message into the
 * raw queue and goes back to the network, so pings, reconnects and the
 * prediction back-channel keep running. The parser thread hands each raw
 * message to ingest_message(), which parses it and pushes its events to the
 * worker's queue by the flow policy:
 *   block (default): when the raw queue is full the loop keeps the message
 *     in a short "held" list and stops reading (lws_rx_flow_control); TCP
 *     then pushes back on the server. The parser, after each pop while
 *     reading is paused, asks the loop (wsclient_resume_rx) to move the held
 *     messages in and read again. Nothing is lost.
 *   drop-oldest: the raw queue evicts its oldest message when full, and
 *     ingest evicts the oldest event from the worker's queue when that is
 *     full: both counted as dropped and dead-lettered.
 * The paused flag is set before the push that may fail, so a pop that makes
 * room always sees it: the loop cannot stay paused with an empty queue.
 *
 * The end: the client's ENDED/FAILED state travels through the raw queue as
 * a last item, so the source reports it only after its last push
 * (source.h's rule for "ended and queue empty").
 */
#include "source.h"
#include "source_ws.h"

#include "ingest.h"
#include "queue.h"
#include "recording.h"
#include "wsclient.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RAW_QUEUE_CAP 256

typedef struct raw_msg {
    struct raw_msg *next; /* in the held list */
    size_t len;
    bool binary;
    bool end; /* not a message: the client ended in state end_state */
    int end_state;
    double recv_ts;
    uint64_t pos; /* message number on this source */
    char data[];
} raw_msg;

typedef struct ws_impl {
    wsclient *client;
    wsclient_params params;
    char *headers;
    queue *raw;
    ingest_flow flow;
    pthread_t parser;
    bool parser_started;
    /* loop thread only */
    raw_msg *held, *held_tail;
    uint64_t next_pos;
    atomic_bool paused;
    FILE *rec; /* --record: the session as a recording, written by the loop */
    bool rec_failed;
    /* predictions going back over the connection (sink_ws) */
    pthread_mutex_t out_lock;
    char *(*out_pop)(void *ctx, size_t *len);
    void *out_ctx;
} ws_impl;

static double wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static raw_msg *raw_new(const char *buf, size_t len, bool binary, double recv_ts, uint64_t pos)
{
    raw_msg *m = malloc(sizeof *m + len + 1);
    if (!m)
        return NULL;
    m->next = NULL;
    m->len = len;
    m->binary = binary;
    m->end = false;
    m->end_state = 0;
    m->recv_ts = recv_ts;
    m->pos = pos;
    memcpy(m->data, buf, len);
    m->data[len] = '\0';
    return m;
}

static void hold(ws_impl *wi, raw_msg *m)
{
    if (wi->held_tail)
        wi->held_tail->next = m;
    else
        wi->held = m;
    wi->held_tail = m;
}

/* Move held messages into the raw queue; true when none is left. Loop thread.
 * A message is unlinked before the push: once pushed, the parser may free it. */
static bool push_held(ws_impl *wi)
{
    while (wi->held) {
        raw_msg *m = wi->held, *next = m->next;
        m->next = NULL;
        queue_result r = queue_push(wi->raw, m, 0);
        if (r == QUEUE_TIMEOUT) {
            m->next = next;
            return false;
        }
        wi->held = next;
        if (!next)
            wi->held_tail = NULL;
        if (r == QUEUE_CLOSED)
            free(m);
    }
    return true;
}

static void enqueue_drop_oldest(source *s, ws_impl *wi, raw_msg *m)
{
    void *evicted = NULL;
    if (queue_push_drop_oldest(wi->raw, m, &evicted) != QUEUE_OK) {
        free(m);
        return;
    }
    raw_msg *old = evicted;
    if (old && old->end) { /* never drop the end marker: put it back */
        queue_push_drop_oldest(wi->raw, old, &evicted);
        old = evicted;
    }
    if (old) {
        ingest_drop(s->ing, s, old->data, old->len, "dropped: receive buffer full (drop-oldest)",
                    old->pos);
        free(old);
    }
}

/* Tee one message into the recording; a write error stops recording (said once). */
static void record_message(source *s, ws_impl *wi, const char *buf, size_t len, bool binary,
                           double recv_ts)
{
    size_t n;
    char *line = recording_line(buf, len, binary, recv_ts, &n);
    if (!line || fwrite(line, 1, n, wi->rec) != n) {
        wi->rec_failed = true;
        snprintf(s->last_error, sizeof s->last_error, "recording stopped: %s",
                 line ? strerror(errno) : "out of memory");
    }
    free(line);
}

static bool ws_on_message(void *ud, const char *buf, size_t len, bool binary, double recv_ts)
{
    source *s = ud;
    ws_impl *wi = s->impl;
    if (wi->rec && !wi->rec_failed)
        record_message(s, wi, buf, len, binary, recv_ts);
    raw_msg *m = raw_new(buf, len, binary, recv_ts, wi->next_pos++);
    if (!m) {
        ingest_reject(s->ing, s, buf, len > 256 ? 256 : len, "no memory for a message", 0);
        return true;
    }
    if (wi->flow == INGEST_DROP_OLDEST) {
        enqueue_drop_oldest(s, wi, m);
        return true;
    }
    if (wi->held) { /* reading is pausing: keep order */
        hold(wi, m);
        return false;
    }
    atomic_store(&wi->paused, true); /* before the push: see the header comment */
    queue_result r = queue_push(wi->raw, m, 0);
    if (r == QUEUE_OK || r == QUEUE_CLOSED) {
        if (r == QUEUE_CLOSED)
            free(m);
        atomic_store(&wi->paused, false);
        return true;
    }
    hold(wi, m);
    return false;
}

static bool ws_drain(void *ud)
{
    source *s = ud;
    ws_impl *wi = s->impl;
    if (!push_held(wi))
        return false;
    atomic_store(&wi->paused, false);
    return true;
}

static void ws_on_reject(void *ud, const char *head, size_t len, size_t total, const char *reason)
{
    source *s = ud;
    ws_impl *wi = s->impl;
    (void)total;
    ingest_reject(s->ing, s, head, len, reason, wi->next_pos++);
}

static void ws_on_state(void *ud, source_state st, const char *detail)
{
    source *s = ud;
    ws_impl *wi = s->impl;
    if (detail && *detail)
        snprintf(s->last_error, sizeof s->last_error, "%s", detail);
    if (st != SOURCE_ENDED && st != SOURCE_FAILED)
        return;
    raw_msg *m = raw_new("", 0, false, 0, 0);
    if (!m) {
        atomic_store(&s->stats.state, (int)st);
        return;
    }
    m->end = true;
    m->end_state = (int)st;
    /* after every held message, and never dropped: the client is done, so
     * the loop may wait here for the parser to make room */
    hold(wi, m);
    while (wi->held) {
        raw_msg *h = wi->held;
        wi->held = h->next;
        if (!wi->held)
            wi->held_tail = NULL;
        h->next = NULL;
        if (queue_push(wi->raw, h, -1) != QUEUE_OK)
            free(h);
    }
}

static char *ws_next_outgoing(void *ud, size_t *len)
{
    source *s = ud;
    ws_impl *wi = s->impl;
    pthread_mutex_lock(&wi->out_lock);
    char *line = wi->out_pop ? wi->out_pop(wi->out_ctx, len) : NULL;
    pthread_mutex_unlock(&wi->out_lock);
    return line;
}

static void *parser_main(void *arg)
{
    source *s = arg;
    ws_impl *wi = s->impl;
    void *item;
    while (queue_pop(wi->raw, &item, -1) == QUEUE_OK) {
        raw_msg *m = item;
        if (atomic_load(&wi->paused))
            wsclient_resume_rx(wi->client);
        if (m->end) {
            atomic_store(&s->stats.state, m->end_state);
            free(m);
            break;
        }
        int r = ingest_message(s->ing, s, m->data, m->len, m->binary, m->recv_ts, m->pos, wi->flow);
        free(m);
        if (r < 0)
            break; /* the worker's queue closed: the run is ending */
    }
    return NULL;
}

static dd_err ws_start(source *s, char **cause)
{
    ws_impl *wi = s->impl;
    if (pthread_create(&wi->parser, NULL, parser_main, s))
        return dd_fail(cause, DD_ENOMEM, "cannot start the WebSocket parser thread");
    wi->parser_started = true;
    dd_err err = wsclient_start(wi->client, cause);
    if (err) {
        queue_close(wi->raw);
        pthread_join(wi->parser, NULL);
        wi->parser_started = false;
    }
    return err;
}

static void ws_stop(source *s)
{
    ws_impl *wi = s->impl;
    /* Close the buffer first: a loop thread waiting to push the end marker
     * (the parser gone because the run is ending) is released, then joined. */
    queue_close(wi->raw);
    wsclient_stop(wi->client);
    if (wi->parser_started) {
        pthread_join(wi->parser, NULL);
        wi->parser_started = false;
    }
    int st = atomic_load(&s->stats.state);
    if (st != SOURCE_FAILED)
        atomic_store(&s->stats.state, SOURCE_ENDED);
}

static void free_raw(void *p)
{
    free(p);
}

static void ws_destroy(source *s)
{
    ws_impl *wi = s->impl;
    if (!wi)
        return;
    wsclient_free(wi->client);
    if (wi->rec)
        fclose(wi->rec);
    for (raw_msg *m = wi->held, *n; m; m = n) {
        n = m->next;
        free(m);
    }
    queue_free(wi->raw, free_raw);
    pthread_mutex_destroy(&wi->out_lock);
    free(wi->headers);
    free(wi);
    s->impl = NULL;
}

static const struct source_ops ws_ops = {
    .kind = "ws",
    .start = ws_start,
    .stop = ws_stop,
    .destroy = ws_destroy,
    .control = NULL,
    .ack = NULL,
};

void source_ws_set_outgoing(source *s, char *(*pop)(void *ctx, size_t *len), void *ctx)
{
    ws_impl *wi = s->impl;
    pthread_mutex_lock(&wi->out_lock);
    wi->out_pop = pop;
    wi->out_ctx = ctx;
    pthread_mutex_unlock(&wi->out_lock);
}

void source_ws_wake_writer(source *s)
{
    ws_impl *wi = s->impl;
    wsclient_wake_writer(wi->client);
}

bool source_is_ws(const source *s)
{
    return s && s->ops == &ws_ops;
}

static dd_err open_recording(ws_impl *wi, const char *path, const char *url, char **cause)
{
    size_t n;
    char *hdr = recording_header(url, wall_now(), &n);
    wi->rec = fopen(path, "w");
    dd_err err = DD_OK;
    if (!wi->rec || !hdr || fwrite(hdr, 1, n, wi->rec) != n)
        err = dd_fail(cause, DD_EIO, "recording %s: %s", path, strerror(errno));
    free(hdr);
    return err;
}

source *source_ws_open(const char *url, const source_options *opt, char **cause)
{
    source *s = calloc(1, sizeof *s);
    ws_impl *wi = calloc(1, sizeof *wi);
    if (!s || !wi) {
        free(s);
        free(wi);
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    s->ops = &ws_ops;
    s->impl = wi;
    pthread_mutex_init(&wi->out_lock, NULL);
    wi->flow = opt && opt->flow == INGEST_DROP_OLDEST ? INGEST_DROP_OLDEST : INGEST_BLOCK;
    if (opt && opt->ws)
        wi->params = *opt->ws;
    else
        wsclient_params_default(&wi->params);
    wi->params.defer_end = true;
    wi->raw = queue_new(RAW_QUEUE_CAP);
    if (!wi->raw) {
        dd_fail(cause, DD_ENOMEM, "out of memory");
        goto fail;
    }
    if (opt && opt->record && open_recording(wi, opt->record, url, cause))
        goto fail;
    wsclient_handler h = {s, ws_on_message, ws_on_reject, ws_drain, ws_next_outgoing, ws_on_state};
    wi->client = wsclient_new(url, &wi->params, &h, &s->stats, cause);
    if (!wi->client)
        goto fail;
    return s;
fail:
    ws_destroy(s);
    free(s);
    return NULL;
}
