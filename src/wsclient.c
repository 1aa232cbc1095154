/*
 * wsclient.c: the reconnecting WebSocket client (see wsclient.h).
 *
 * Everything below runs on the loop thread except wsclient_resume_rx(),
 * wsclient_wake_writer() and wsclient_stop(), which only touch atomics and
 * call lws_cancel_service(). Timers are lws "sorted usec lists" (sul) on the
 * loop: one for the next connection attempt, one ticking the keep-alive.
 *
 * Reconnecting is ours (libwebsockets 4.1 applies only the idle parts of a
 * retry policy by itself): on CLIENT_CONNECTION_ERROR and CLIENT_CLOSED we
 * schedule the next attempt after an exponential backoff with jitter
 * ("Exponential Backoff And Jitter", M. Brooker, AWS Architecture Blog,
 * 2015: the delay doubles from backoff_min up to backoff_max and is scaled by
 * 1 - jitter * U(0,1) so that many clients do not retry in lockstep). The
 * attempt count and the backoff exponent reset once a connection has
 * delivered a message (not merely on ESTABLISHED), so a server that accepts
 * and closes at once is retried ever more slowly, not in a tight loop, and
 * max_attempts can give up on it.
 */
#include "wsclient.h"

#include "wsmsg.h"

#include <libwebsockets.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROTO_NAME "driftdeck-ws"
#define TICK_MAX_US 250000 /* status countdown and keep-alive resolution */

struct header {
    char *name; /* with its trailing ':' as lws wants it */
    char *value;
};

struct wsclient {
    wsclient_url url;
    wsclient_params p; /* string members point at the owned copies below */
    char *ca_file, *subprotocol;
    struct header *hdr;
    size_t nhdr;
    char host_hdr[300];
    wsclient_handler h;
    source_stats *stats;
    wsmsg *msg;

    /* loop thread only */
    struct lws_context *ctx;
    struct lws *wsi;
    lws_sorted_usec_list_t sul_retry, sul_tick;
    uint32_t failures;      /* attempts failed in a row (shown as "attempt n") */
    uint32_t backoff_level; /* exponent of the next delay */
    bool retry_pending;
    bool established, ever_connected, got_message;
    bool rx_paused, ping_due, ping_sent;
    bool keep_error;     /* we ended the attempt (deadline, subprotocol): keep our reason */
    int64_t last_rx_us;  /* monotonic */
    int64_t retry_at_us; /* monotonic */
    int64_t connect_deadline_us;
    char *tx;
    size_t txcap;
    uint64_t rng;

    pthread_t thread;
    bool started, joined;
    atomic_bool stop, finished, want_resume, want_write;
    pthread_mutex_t err_lock;
    char last_error[256];
};

void wsclient_params_default(wsclient_params *p)
{
    memset(p, 0, sizeof *p);
    p->max_message = 1u << 20;
    p->ping_interval = 20;
    p->ping_timeout = 10;
    p->connect_timeout = 10;
    p->backoff_min = 0.5;
    p->backoff_max = 30;
    p->backoff_jitter = 0.3;
    p->reconnect = true;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void set_error(wsclient *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(wsclient *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&c->err_lock);
    vsnprintf(c->last_error, sizeof c->last_error, fmt, ap);
    pthread_mutex_unlock(&c->err_lock);
    va_end(ap);
}

void wsclient_last_error(wsclient *c, char *buf, size_t size)
{
    pthread_mutex_lock(&c->err_lock);
    snprintf(buf, size, "%s", c->last_error);
    pthread_mutex_unlock(&c->err_lock);
}

/* ---- URL and headers (pure) ---------------------------------------------- */

static bool copy_part(char *dst, size_t size, const char *s, size_t n)
{
    if (n >= size)
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

dd_err wsclient_parse_url(const char *url, wsclient_url *u, char **cause)
{
    memset(u, 0, sizeof *u);
    const char *s;
    if (!strncmp(url, "ws://", 5)) {
        s = url + 5;
    } else if (!strncmp(url, "wss://", 6)) {
        s = url + 6;
        u->tls = true;
    } else {
        return dd_fail(cause, DD_EINVAL, "'%s' is not a ws:// or wss:// URL", url);
    }
    u->port = u->tls ? 443 : 80;
    const char *hend;
    if (*s == '[') {
        hend = strchr(s, ']');
        if (!hend)
            return dd_fail(cause, DD_EINVAL, "'%s': unclosed '[' in the host", url);
        if (!copy_part(u->host, sizeof u->host, s + 1, (size_t)(hend - s - 1)))
            return dd_fail(cause, DD_EINVAL, "'%s': host too long", url);
        hend++;
    } else {
        hend = s + strcspn(s, ":/?#");
        if (!copy_part(u->host, sizeof u->host, s, (size_t)(hend - s)))
            return dd_fail(cause, DD_EINVAL, "'%s': host too long", url);
    }
    if (!u->host[0])
        return dd_fail(cause, DD_EINVAL, "'%s' has no host", url);
    for (const char *h = u->host; *h; h++)
        if (!isalnum((unsigned char)*h) && !strchr(*s == '[' ? ":.%" : ".-_", *h))
            return dd_fail(cause, DD_EINVAL, "'%s': '%c' is not allowed in a host name%s", url, *h,
                           *h == '@' ? " (credentials go in --header-file, not the URL)" : "");
    const char *rest = hend;
    if (*rest == ':') {
        char *end;
        errno = 0;
        long port = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || errno || port < 1 || port > 65535 || (*end && !strchr("/?#", *end)))
            return dd_fail(cause, DD_EINVAL, "'%s': bad port", url);
        u->port = (int)port;
        rest = end;
    } else if (*rest && !strchr("/?#", *rest)) {
        return dd_fail(cause, DD_EINVAL, "'%s': unexpected '%c' after the host", url, *rest);
    }
    size_t plen = strcspn(rest, "#"); /* a fragment is never sent */
    const char *lead = (*rest == '/') ? "" : "/";
    if (strlen(lead) + plen >= sizeof u->path)
        return dd_fail(cause, DD_EINVAL, "'%s': path too long", url);
    snprintf(u->path, sizeof u->path, "%s%.*s", lead, (int)plen, rest);
    for (const char *p = u->path; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return dd_fail(cause, DD_EINVAL, "'%s': control or space character in the path", url);
    return DD_OK;
}

static bool is_token_char(int ch)
{
    return isalnum(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Split one "Name: value" line; false with *cause if it is malformed. */
static bool split_header(const char *line, size_t n, size_t *name_len, const char **value,
                         size_t *value_len, char **cause)
{
    const char *colon = memchr(line, ':', n);
    if (!colon || colon == line) {
        dd_fail(cause, DD_EINVAL, "header line '%.*s' is not 'Name: value'", (int)n, line);
        return false;
    }
    for (const char *p = line; p < colon; p++)
        if (!is_token_char((unsigned char)*p)) {
            dd_fail(cause, DD_EINVAL, "header name '%.*s' has a character not allowed",
                    (int)(colon - line), line);
            return false;
        }
    const char *v = colon + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    for (const char *p = v; p < end; p++)
        if ((unsigned char)*p < ' ' && *p != '\t') {
            dd_fail(cause, DD_EINVAL, "header '%.*s' has a control character in its value",
                    (int)(colon - line), line);
            return false;
        }
    *name_len = (size_t)(colon - line);
    *value = v;
    *value_len = (size_t)(end - v);
    return true;
}

/* Walk the header lines; add each to c when c is not NULL. Returns the count or -1. */
static int walk_headers(const char *text, wsclient *c, char **cause)
{
    int count = 0;
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        const char *next = nl ? nl + 1 : NULL;
        size_t skip = 0;
        while (skip < n && (line[skip] == ' ' || line[skip] == '\t' || line[skip] == '\r'))
            skip++;
        if (skip == n || line[skip] == '#') {
            line = next;
            continue;
        }
        size_t nl_len, vl;
        const char *v;
        if (!split_header(line, n, &nl_len, &v, &vl, cause))
            return -1;
        if (c) {
            struct header *hd = &c->hdr[c->nhdr];
            hd->name = malloc(nl_len + 2);
            hd->value = strndup(v, vl);
            if (!hd->name || !hd->value) {
                free(hd->name);
                free(hd->value);
                dd_fail(cause, DD_ENOMEM, "no memory for headers");
                return -1;
            }
            memcpy(hd->name, line, nl_len);
            memcpy(hd->name + nl_len, ":", 2);
            c->nhdr++;
        }
        count++;
        line = next;
    }
    return count;
}

int wsclient_check_headers(const char *text, char **cause)
{
    return walk_headers(text, NULL, cause);
}

/* ---- status ---------------------------------------------------------------- */

static void set_state(wsclient *c, source_state st, const char *detail)
{
    if (!c->p.defer_end || (st != SOURCE_ENDED && st != SOURCE_FAILED))
        atomic_store(&c->stats->state, (int)st);
    if (c->h.on_state && !atomic_load(&c->stop))
        c->h.on_state(c->h.ud, st, detail);
}

static double next_u01(wsclient *c)
{
    /* splitmix64 (Steele, Lea, Flood 2014): plenty for jitter */
    uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

static double backoff_delay(wsclient *c)
{
    double d = c->p.backoff_min * pow(2.0, (double)c->backoff_level);
    if (d > c->p.backoff_max)
        d = c->p.backoff_max;
    return d * (1.0 - c->p.backoff_jitter * next_u01(c));
}

static void connect_now(wsclient *c);
static void tick_cb(lws_sorted_usec_list_t *sul);

/* Retry timer: counts down next_retry_ms in steps, then connects. */
static void retry_cb(lws_sorted_usec_list_t *sul)
{
    wsclient *c = (wsclient *)((char *)sul - offsetof(wsclient, sul_retry));
    int64_t left = c->retry_at_us - mono_us();
    if (left > 0) {
        atomic_store(&c->stats->next_retry_ms, (left + 999) / 1000);
        lws_sul_schedule(c->ctx, 0, &c->sul_retry, retry_cb,
                         left < TICK_MAX_US ? left : TICK_MAX_US);
        return;
    }
    atomic_store(&c->stats->next_retry_ms, 0);
    c->retry_pending = false;
    connect_now(c);
}

/* The connection failed or closed: give up, end, or schedule the next try. */
static void connection_lost(wsclient *c, bool was_established)
{
    c->wsi = NULL;
    c->established = false;
    lws_sul_cancel(&c->sul_tick);
    size_t lost = wsmsg_abort(c->msg);
    if (lost && c->h.on_reject)
        c->h.on_reject(c->h.ud, NULL, 0, lost, "connection closed in the middle of a message");
    if (atomic_load(&c->stop) || c->retry_pending)
        return;
    if (!c->p.reconnect) {
        set_state(c, was_established ? SOURCE_ENDED : SOURCE_FAILED, c->last_error);
        atomic_store(&c->finished, true);
        return;
    }
    c->failures++;
    if (c->p.max_attempts && c->failures >= c->p.max_attempts) {
        set_state(c, SOURCE_FAILED, c->last_error);
        atomic_store(&c->finished, true);
        return;
    }
    double d = backoff_delay(c);
    if (c->backoff_level < 30)
        c->backoff_level++;
    c->retry_at_us = mono_us() + (int64_t)(d * 1e6);
    c->retry_pending = true;
    atomic_store(&c->stats->attempt, c->failures);
    atomic_store(&c->stats->next_retry_ms, (int64_t)(d * 1000.0 + 0.5));
    set_state(c, SOURCE_RECONNECTING, c->last_error);
    retry_cb(&c->sul_retry);
}

static void connect_now(wsclient *c)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = c->ctx;
    ci.address = c->url.host;
    ci.port = c->url.port;
    ci.path = c->url.path;
    ci.host = c->host_hdr;
    ci.origin = c->host_hdr;
    ci.protocol = c->subprotocol;
    ci.local_protocol_name = PROTO_NAME;
    if (c->url.tls) {
        ci.ssl_connection = LCCSCF_USE_SSL;
        if (c->p.insecure)
            ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                 LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    }
    ci.pwsi = &c->wsi;
    c->got_message = false;
    c->connect_deadline_us = mono_us() + (int64_t)(c->p.connect_timeout * 1e6);
    lws_sul_schedule(c->ctx, 0, &c->sul_tick, tick_cb, TICK_MAX_US);
    if (!lws_client_connect_via_info(&ci)) {
        set_error(c, "could not start a connection to %s:%d", c->url.host, c->url.port);
        connection_lost(c, false);
    }
}

/* ---- keep-alive -------------------------------------------------------------- */

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    wsclient *c = (wsclient *)((char *)sul - offsetof(wsclient, sul_tick));
    int64_t now = mono_us();
    if (!c->wsi)
        return;
    if (!c->established) {
        /* lws's own handshake timeout does not cover a server that accepts
         * TCP and never answers: this deadline does */
        if (now < c->connect_deadline_us) {
            lws_sul_schedule(c->ctx, 0, &c->sul_tick, tick_cb, TICK_MAX_US);
            return;
        }
        set_error(c, "connection to %s:%d failed: no answer within %.0f s", c->url.host,
                  c->url.port, c->p.connect_timeout);
        c->keep_error = true;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
    if (c->rx_paused)
        c->last_rx_us = now; /* we are not reading: silence is ours, not the peer's */
    double idle = (double)(now - c->last_rx_us) / 1e6;
    if (idle >= c->p.ping_interval + c->p.ping_timeout) {
        set_error(c, "no data and no pong for %.1f s: the peer stalled", idle);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
    if (idle >= c->p.ping_interval && !c->ping_sent) {
        c->ping_due = true;
        lws_callback_on_writable(c->wsi);
    }
    lws_sul_schedule(c->ctx, 0, &c->sul_tick, tick_cb, TICK_MAX_US);
}

/* ---- callbacks ------------------------------------------------------------------- */

static void on_established(wsclient *c, struct lws *wsi)
{
    c->wsi = wsi;
    c->established = true;
    if (c->rx_paused)
        lws_rx_flow_control(wsi, 0);
    c->ping_due = c->ping_sent = false;
    c->last_rx_us = mono_us();
    if (c->ever_connected)
        atomic_fetch_add(&c->stats->reconnects, 1);
    c->ever_connected = true;
    atomic_store(&c->stats->attempt, 0);
    atomic_store(&c->stats->next_retry_ms, 0);
    set_error(c, "%s", "");
    set_state(c, SOURCE_CONNECTED, NULL);
    lws_sul_schedule(c->ctx, 0, &c->sul_tick, tick_cb, TICK_MAX_US);
    lws_callback_on_writable(wsi); /* send what waited for the connection */
}

static void on_receive(wsclient *c, struct lws *wsi, const void *in, size_t len)
{
    c->last_rx_us = mono_us();
    bool final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    wsmsg_result r = wsmsg_feed(c->msg, in, len, lws_frame_is_binary(wsi), final);
    size_t n;
    const char *data = wsmsg_data(c->msg, &n);
    char reason[128];
    switch (r) {
    case WSMSG_MORE:
        return;
    case WSMSG_COMPLETE:
        if (!c->got_message) {
            c->got_message = true;
            c->backoff_level = 0;
            c->failures = 0;
        }
        if (!c->h.on_message(c->h.ud, data, n, wsmsg_binary(c->msg), wall_s()) && !c->rx_paused) {
            c->rx_paused = true;
            lws_rx_flow_control(wsi, 0);
        }
        return;
    case WSMSG_OVERSIZED:
        snprintf(reason, sizeof reason, "message of %zu bytes exceeds the maximum of %u",
                 wsmsg_total(c->msg), c->p.max_message);
        break;
    case WSMSG_NOMEM:
        snprintf(reason, sizeof reason, "no memory for a message of %zu bytes",
                 wsmsg_total(c->msg));
        break;
    }
    if (c->h.on_reject)
        c->h.on_reject(c->h.ud, data, n, wsmsg_total(c->msg), reason);
}

/* RFC 6455 lets a server ignore the subprotocols offered; a feed asked for
 * by its subprotocol (it names the message format) is refused instead. */
static bool subprotocol_agreed(wsclient *c, struct lws *wsi)
{
    if (!c->subprotocol)
        return true;
    char got[128] = "";
    if (lws_hdr_copy(wsi, got, sizeof got, WSI_TOKEN_PROTOCOL) > 0 && !strcmp(got, c->subprotocol))
        return true;
    set_error(c, "the server did not agree to the subprotocol '%s'%s%s%s", c->subprotocol,
              got[0] ? " (it chose '" : "", got, got[0] ? "')" : "");
    return false;
}

static int on_writeable(wsclient *c, struct lws *wsi)
{
    if (c->ping_due) {
        unsigned char buf[LWS_PRE + 1];
        c->ping_due = false;
        c->ping_sent = true;
        if (lws_write(wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0)
            return -1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (!c->h.next_outgoing)
        return 0;
    size_t len;
    char *out = c->h.next_outgoing(c->h.ud, &len);
    if (!out)
        return 0;
    if (LWS_PRE + len > c->txcap) {
        char *nb = realloc(c->tx, LWS_PRE + len);
        if (!nb) {
            free(out);
            return 0; /* counted by nobody: the sink counts what it hands out */
        }
        c->tx = nb;
        c->txcap = LWS_PRE + len;
    }
    memcpy(c->tx + LWS_PRE, out, len);
    free(out);
    if (lws_write(wsi, (unsigned char *)c->tx + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len)
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int append_headers(wsclient *c, struct lws *wsi, void *in, size_t len)
{
    unsigned char **p = (unsigned char **)in, *end = *p + len;
    for (size_t i = 0; i < c->nhdr; i++)
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)c->hdr[i].name,
                                        (const unsigned char *)c->hdr[i].value,
                                        (int)strlen(c->hdr[i].value), p, end)) {
            set_error(c, "handshake headers do not fit the header buffer");
            return -1;
        }
    return 0;
}

static void on_cancelled(wsclient *c)
{
    if (atomic_exchange(&c->want_resume, false) && c->rx_paused &&
        (!c->h.drain || c->h.drain(c->h.ud))) {
        c->rx_paused = false;
        c->last_rx_us = mono_us();
        if (c->wsi && c->established)
            lws_rx_flow_control(c->wsi, 1);
    }
    if (atomic_exchange(&c->want_write, false) && c->wsi && c->established)
        lws_callback_on_writable(c->wsi);
}

static void note_peer_close(wsclient *c, const void *in, size_t len)
{
    const unsigned char *b = in;
    if (len >= 2)
        set_error(c, "closed by the peer (code %u%s%.*s)", (unsigned)(b[0] << 8 | b[1]),
                  len > 2 ? ": " : "", (int)(len > 120 ? 118 : len - 2), (const char *)b + 2);
    else
        set_error(c, "closed by the peer");
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    wsclient *c = lws_context_user(lws_get_context(wsi));
    (void)user;
    if (!c)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return append_headers(c, wsi, in, len);
    case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH: /* the response headers are still here */
        if (!subprotocol_agreed(c, wsi)) {
            c->keep_error = true;
            return 1;
        }
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        on_established(c, wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        on_receive(c, wsi, in, len);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        c->last_rx_us = mono_us();
        c->ping_sent = false;
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(c, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        note_peer_close(c, in, len);
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (!c->keep_error)
            set_error(c, "connection to %s:%d failed: %s", c->url.host, c->url.port,
                      in ? (const char *)in : "unknown error");
        c->keep_error = false;
        if (wsi == c->wsi || !c->established)
            connection_lost(c, false);
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (wsi == c->wsi) {
            char e[sizeof c->last_error];
            wsclient_last_error(c, e, sizeof e);
            if (!e[0])
                set_error(c, "connection closed");
            c->keep_error = false;
            connection_lost(c, c->established);
        }
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        /* lws closes a client that times out in the HTTP handshake with no
         * CONNECTION_ERROR: any loss not seen above ends up here */
        if (wsi == c->wsi) {
            if (!c->established && !c->keep_error)
                set_error(c, "connection to %s:%d failed: no WebSocket handshake", c->url.host,
                          c->url.port);
            c->keep_error = false;
            connection_lost(c, c->established);
        }
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        on_cancelled(c); /* fires on every protocol and at start-up: idempotent */
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {PROTO_NAME, callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- life cycle ------------------------------------------------------------------- */

static dd_err check_params(const wsclient_params *p, char **cause)
{
    if (p->max_message == 0)
        return dd_fail(cause, DD_EINVAL, "max message size must be > 0");
    if (!(p->ping_interval > 0) || !(p->ping_timeout > 0) || !(p->connect_timeout >= 1))
        return dd_fail(cause, DD_EINVAL,
                       "ping interval and timeout must be > 0 s, connect timeout >= 1 s");
    if (!(p->backoff_min > 0) || !(p->backoff_max >= p->backoff_min))
        return dd_fail(cause, DD_EINVAL, "backoff must satisfy 0 < min <= max");
    if (!(p->backoff_jitter >= 0 && p->backoff_jitter <= 1))
        return dd_fail(cause, DD_EINVAL, "backoff jitter must be in [0, 1]");
    if (p->ca_file && access(p->ca_file, R_OK) != 0)
        return dd_fail(cause, DD_EIO, "CA file '%s': %s", p->ca_file, strerror(errno));
    return DD_OK;
}

static dd_err copy_strings(wsclient *c, const wsclient_params *p, char **cause)
{
    if ((p->ca_file && !(c->ca_file = strdup(p->ca_file))) ||
        (p->subprotocol && !(c->subprotocol = strdup(p->subprotocol))))
        return dd_fail(cause, DD_ENOMEM, "no memory");
    c->p.ca_file = c->ca_file;
    c->p.subprotocol = c->subprotocol;
    c->p.headers = NULL;
    if (!p->headers)
        return DD_OK;
    int n = wsclient_check_headers(p->headers, cause);
    if (n < 0)
        return DD_EINVAL;
    if (n == 0)
        return DD_OK;
    c->hdr = calloc((size_t)n, sizeof *c->hdr);
    if (!c->hdr)
        return dd_fail(cause, DD_ENOMEM, "no memory");
    return walk_headers(p->headers, c, cause) < 0 ? DD_ENOMEM : DD_OK;
}

wsclient *wsclient_new(const char *url, const wsclient_params *p, const wsclient_handler *h,
                       source_stats *stats, char **cause)
{
    wsclient *c = calloc(1, sizeof *c);
    if (!c) {
        dd_fail(cause, DD_ENOMEM, "no memory");
        return NULL;
    }
    pthread_mutex_init(&c->err_lock, NULL);
    c->p = *p;
    c->h = *h;
    c->stats = stats;
    if (wsclient_parse_url(url, &c->url, cause) || check_params(p, cause) ||
        copy_strings(c, p, cause))
        goto fail;
    bool v6 = strchr(c->url.host, ':') != NULL;
    snprintf(c->host_hdr, sizeof c->host_hdr, "%s%s%s:%d", v6 ? "[" : "", c->url.host,
             v6 ? "]" : "", c->url.port);
    c->msg = wsmsg_new(p->max_message);
    if (!c->msg) {
        dd_fail(cause, DD_ENOMEM, "no memory");
        goto fail;
    }
    c->rng = (uint64_t)mono_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
    return c;
fail:
    wsclient_free(c);
    return NULL;
}

static void *loop_main(void *arg)
{
    wsclient *c = arg;
    set_state(c, SOURCE_STARTING, NULL);
    connect_now(c);
    while (!atomic_load(&c->stop) && !atomic_load(&c->finished))
        if (lws_service(c->ctx, 0) < 0)
            break;
    return NULL;
}

static void quiet_log(int level, const char *line)
{
    (void)level;
    (void)line;
}

dd_err wsclient_start(wsclient *c, char **cause)
{
    if (c->started)
        return dd_fail(cause, DD_ESTATE, "client already started");
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = c;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.client_ssl_ca_filepath = c->ca_file;
    info.timeout_secs = (unsigned)c->p.connect_timeout + 5; /* ours fires first (tick_cb) */
    info.connect_timeout_secs = (unsigned)c->p.connect_timeout;
    /* lws logs to stderr, which the console owns: errors reach the user
     * through last_error instead. DRIFTDECK_LWS_LOG=1 shows them. */
    const char *dbg = getenv("DRIFTDECK_LWS_LOG");
    lws_set_log_level(dbg && *dbg == '1' ? LLL_ERR | LLL_WARN : 0,
                      dbg && *dbg == '1' ? lwsl_emit_stderr : quiet_log);
    c->ctx = lws_create_context(&info);
    if (!c->ctx)
        return dd_fail(cause, DD_EIO, "libwebsockets could not create its context%s",
                       c->ca_file ? " (is the CA file a PEM certificate?)" : "");
    if (pthread_create(&c->thread, NULL, loop_main, c)) {
        lws_context_destroy(c->ctx);
        c->ctx = NULL;
        return dd_fail(cause, DD_ENOMEM, "could not start the WebSocket thread");
    }
    c->started = true;
    return DD_OK;
}

void wsclient_stop(wsclient *c)
{
    if (!c || !c->started || c->joined)
        return;
    atomic_store(&c->stop, true);
    lws_cancel_service(c->ctx);
    pthread_join(c->thread, NULL);
    c->joined = true;
}

bool wsclient_finished(wsclient *c)
{
    return atomic_load(&c->finished);
}

void wsclient_resume_rx(wsclient *c)
{
    atomic_store(&c->want_resume, true);
    if (c->ctx)
        lws_cancel_service(c->ctx);
}

void wsclient_wake_writer(wsclient *c)
{
    atomic_store(&c->want_write, true);
    if (c->ctx)
        lws_cancel_service(c->ctx);
}

void wsclient_free(wsclient *c)
{
    if (!c)
        return;
    wsclient_stop(c);
    if (c->ctx) {
        atomic_store(&c->stop, true);
        lws_context_destroy(c->ctx);
    }
    for (size_t i = 0; i < c->nhdr; i++) {
        free(c->hdr[i].name);
        free(c->hdr[i].value);
    }
    free(c->hdr);
    free(c->ca_file);
    free(c->subprotocol);
    free(c->tx);
    wsmsg_free(c->msg);
    pthread_mutex_destroy(&c->err_lock);
    free(c);
}

/* ---- options ------------------------------------------------------------------------ */

const char wsclient_options_help[] =
    "  --insecure             wss: do NOT verify the server certificate\n"
    "  --ca-file FILE         wss: verify against this CA bundle (PEM)\n"
    "  --subprotocol NAME     ask for this WebSocket subprotocol\n"
    "  --header-file FILE     extra handshake headers, 'Name: value' lines\n"
    "                         (or DRIFTDECK_WS_HEADERS in the environment)\n"
    "  --max-message-bytes N  refuse larger messages (default 1048576)\n"
    "  --ping-interval S      ping after S seconds of silence (default 20)\n"
    "  --ping-timeout S       reconnect when no pong within S more (default 10)\n"
    "  --connect-timeout S    connect + handshake deadline (default 10)\n"
    "  --backoff-min S, --backoff-max S  reconnect delays (default 0.5, 30)\n"
    "  --max-attempts N       give up after N failed attempts in a row (0: never)\n"
    "  --no-reconnect         end when the connection closes\n";

static int num_arg(int argc, char **argv, int *i, double lo, double hi, double *out, char **cause)
{
    if (*i + 1 >= argc) {
        dd_fail(cause, DD_EINVAL, "%s needs a value", argv[*i]);
        return -1;
    }
    char *end;
    errno = 0;
    double v = strtod(argv[*i + 1], &end);
    if (end == argv[*i + 1] || *end || errno || !(v >= lo && v <= hi)) {
        dd_fail(cause, DD_EINVAL, "%s: '%s' is not a number in [%g, %g]", argv[*i], argv[*i + 1],
                lo, hi);
        return -1;
    }
    *out = v;
    (*i)++;
    return 1;
}

static int str_arg(int argc, char **argv, int *i, const char **out, char **cause)
{
    if (*i + 1 >= argc) {
        dd_fail(cause, DD_EINVAL, "%s needs a value", argv[*i]);
        return -1;
    }
    *out = argv[++(*i)];
    return 1;
}

int wsclient_option(int argc, char **argv, int *i, wsclient_params *p, const char **header_file,
                    char **cause)
{
    const char *o = argv[*i];
    double v;
    int r;
    if (!strcmp(o, "--insecure")) {
        p->insecure = true;
        return 1;
    }
    if (!strcmp(o, "--no-reconnect")) {
        p->reconnect = false;
        return 1;
    }
    if (!strcmp(o, "--ca-file"))
        return str_arg(argc, argv, i, &p->ca_file, cause);
    if (!strcmp(o, "--subprotocol"))
        return str_arg(argc, argv, i, &p->subprotocol, cause);
    if (!strcmp(o, "--header-file"))
        return str_arg(argc, argv, i, header_file, cause);
    struct {
        const char *name;
        double lo, hi;
        double *d;
        uint32_t *u;
    } nums[] = {
        {"--max-message-bytes", 1, 1u << 30, NULL, &p->max_message},
        {"--ping-interval", 0.05, 86400, &p->ping_interval, NULL},
        {"--ping-timeout", 0.05, 86400, &p->ping_timeout, NULL},
        {"--connect-timeout", 1, 3600, &p->connect_timeout, NULL},
        {"--backoff-min", 0.01, 3600, &p->backoff_min, NULL},
        {"--backoff-max", 0.01, 86400, &p->backoff_max, NULL},
        {"--max-attempts", 0, 1e9, NULL, &p->max_attempts},
    };
    for (size_t k = 0; k < DD_ARRAY_LEN(nums); k++) {
        if (strcmp(o, nums[k].name) != 0)
            continue;
        if ((r = num_arg(argc, argv, i, nums[k].lo, nums[k].hi, &v, cause)) < 0)
            return r;
        if (nums[k].d)
            *nums[k].d = v;
        else
            *nums[k].u = (uint32_t)v;
        return 1;
    }
    return 0;
}

dd_err wsclient_load_headers(const char *file, char **out, char **cause)
{
    *out = NULL;
    if (!file) {
        const char *env = getenv("DRIFTDECK_WS_HEADERS");
        if (env && *env && !(*out = strdup(env)))
            return dd_fail(cause, DD_ENOMEM, "no memory");
        return DD_OK;
    }
    FILE *f = fopen(file, "r");
    if (!f)
        return dd_fail(cause, DD_EIO, "header file '%s': %s", file, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            if (cap >= (1u << 20)) {
                free(buf);
                fclose(f);
                return dd_fail(cause, DD_ELIMIT, "header file '%s' is over 1 MiB", file);
            }
            char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);
            if (!nb) {
                free(buf);
                fclose(f);
                return dd_fail(cause, DD_ENOMEM, "no memory");
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return dd_fail(cause, DD_EIO, "header file '%s': read error", file);
    }
    buf[len] = '\0';
    *out = buf;
    return DD_OK;
}
