/*
 * wsclient.h: a reconnecting WebSocket client on libwebsockets 4.x, shared by
 * the ws source (src/source_ws.c) and `driftdeck record` (src/cmd_record.c).
 *
 * One lws context and one service loop, in the client's own thread. Every
 * callback into the user (a complete message, a refused message, the next
 * outgoing text) runs in that thread. Other threads make exactly two kinds
 * of request, wsclient_resume_rx() and wsclient_wake_writer(), which set a
 * flag and call lws_cancel_service(), the only lws call made off the loop.
 *
 * What it does for the user: ws:// and wss:// (verification on unless
 * insecure), a subprotocol, extra handshake headers, its own ping/pong
 * keep-alive (a peer silent for ping_interval + ping_timeout is dropped),
 * reconnection with exponential backoff and jitter after any failure or
 * close, reassembly of fragmented messages with a size cap (wsmsg.h), and
 * flow control: when on_message answers false, reading stops
 * (lws_rx_flow_control) until wsclient_resume_rx(). Status goes to a
 * source_stats (state, attempt, next_retry_ms, reconnects, bytes) and a
 * short last-error text.
 */
#ifndef DD_WSCLIENT_H
#define DD_WSCLIENT_H

#include "dd.h"
#include "source.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wsclient_params {
    uint32_t max_message;    /* bytes; larger messages are refused (default 1 MiB) */
    double ping_interval;    /* s of silence before a ping (default 20) */
    double ping_timeout;     /* s more without a pong before reconnecting (default 10) */
    double connect_timeout;  /* s for connect + TLS + handshake (default 10) */
    double backoff_min;      /* s before the first retry (default 0.5) */
    double backoff_max;      /* s cap of the backoff (default 30) */
    double backoff_jitter;   /* 0..1: each delay is scaled by 1 - jitter * U(0,1) (default 0.3) */
    uint32_t max_attempts;   /* failed attempts in a row before giving up; 0: never give up */
    bool reconnect;          /* false: the first close ends the client (default true) */
    bool insecure;           /* wss: no certificate verification (default false) */
    const char *ca_file;     /* wss: CA bundle (PEM); NULL: the system's */
    const char *subprotocol; /* Sec-WebSocket-Protocol, NULL for none */
    const char *headers;     /* extra handshake headers, "Name: value" lines; NULL none */
    bool defer_end;          /* ENDED/FAILED go to on_state only, not to stats->state: the
                                owner sets them after its last push (source.h) */
} wsclient_params;

void wsclient_params_default(wsclient_params *p);

/* A parsed ws:// or wss:// URL. */
typedef struct wsclient_url {
    bool tls;
    char host[256]; /* without brackets for IPv6 */
    int port;
    char path[1024]; /* starts with '/', query included */
} wsclient_url;

/* Parse url into *u. DD_EINVAL with *cause for anything but ws:// or wss://
 * with a host, a port in 1..65535, and parts that fit. */
dd_err wsclient_parse_url(const char *url, wsclient_url *u, char **cause);

/* Parse header text ("Name: value" lines, blank lines and lines starting
 * with '#' ignored) and check it: names are HTTP tokens, values have no
 * control characters. Returns the number of headers, or -1 with *cause. */
int wsclient_check_headers(const char *text, char **cause);

typedef struct wsclient_handler {
    void *ud;
    /* A complete message received at recv_ts (wall seconds). Return false to
     * stop reading: calls may still come for data already received, and the
     * handler must keep them; reading resumes after wsclient_resume_rx() once
     * drain() returns true. buf is valid during the call only. */
    bool (*on_message)(void *ud, const char *buf, size_t len, bool binary, double recv_ts);
    /* A message refused by the client (too large, no memory): head is its
     * first bytes, total its full size, reason a short text. */
    void (*on_reject)(void *ud, const char *head, size_t len, size_t total, const char *reason);
    /* Called on the loop after wsclient_resume_rx(): true to read again. */
    bool (*drain)(void *ud);
    /* The next text message to send, as a new malloc'd buffer of *len bytes,
     * or NULL when there is none. May be NULL. */
    char *(*next_outgoing)(void *ud, size_t *len);
    /* The connection state changed (stats already updated). May be NULL. */
    void (*on_state)(void *ud, source_state st, const char *detail);
} wsclient_handler;

typedef struct wsclient wsclient;

/* Returns a new client for url (copied) with p (copied, strings included),
 * writing status to stats (borrowed, must outlive the client) and calling h,
 * or NULL with *cause (a bad URL, CA file or header text; no memory). Free
 * with wsclient_free(), which stops the client first. */
wsclient *wsclient_new(const char *url, const wsclient_params *p, const wsclient_handler *h,
                       source_stats *stats, char **cause);
void wsclient_free(wsclient *c);

/* Create the lws context and start the loop thread. */
dd_err wsclient_start(wsclient *c, char **cause);

/* Ask the loop to end and join it. Idempotent. */
void wsclient_stop(wsclient *c);

/* True once the loop has ended by itself (no reconnect after a close, or
 * max_attempts reached). */
bool wsclient_finished(wsclient *c);

/* Thread-safe requests to the loop. */
void wsclient_resume_rx(wsclient *c);
void wsclient_wake_writer(wsclient *c);

/* The command-line options of a connection, shared by run and record:
 *   --insecure  --ca-file FILE  --subprotocol NAME  --header-file FILE
 *   --max-message-bytes N  --ping-interval S  --ping-timeout S
 *   --connect-timeout S  --backoff-min S  --backoff-max S  --max-attempts N
 *   --no-reconnect
 * If argv[*i] is one of them, applies it to p (strings borrowed from argv;
 * the header file's name goes to *header_file), moves *i to its last
 * argument and returns 1; returns 0 if it is not one; -1 with *cause for a
 * bad or missing value. */
int wsclient_option(int argc, char **argv, int *i, wsclient_params *p, const char **header_file,
                    char **cause);
extern const char wsclient_options_help[];

/* The extra handshake headers, kept off argv (which `ps` shows): the
 * content of file if it is not NULL, else the environment variable
 * DRIFTDECK_WS_HEADERS, else none (*out = NULL). *out is new; free it. */
dd_err wsclient_load_headers(const char *file, char **out, char **cause);

/* The last error text (connect failure, close reason); copied into buf. */
void wsclient_last_error(wsclient *c, char *buf, size_t size);

#endif
