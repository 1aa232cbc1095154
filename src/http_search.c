/*
 * http_search.c: the knowledge store's HTTP endpoint (see http_search.h).
 *
 * libwebsockets 4.1, one context and one service thread, following lws'
 * minimal dynamic-HTTP pattern: the answer is computed when the request (and
 * its body, for POST) is complete, headers are written at once, the body in
 * the WRITEABLE callback, then the transaction completes (keep-alive). Every
 * buffer a connection holds is counted in http_search_stats.buffers and freed
 * when its transaction ends or the connection drops, so a test can check
 * that thousands of requests leave the counters at zero.
 */
#include "http_search.h"

#include "kfilter.h"

#include <cJSON.h>
#include <libwebsockets.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define WRITE_CHUNK 16384
#define MAX_QUERY 4200

struct http_search {
    kstore *store;
    char *token; /* NULL: none required */
    struct lws_context *ctx;
    struct lws_vhost *vh;
    pthread_t thread;
    bool thread_started;
    int stop;
    int port;
    uint64_t requests, open, buffers, rejected; /* atomics */
};

enum route { ROUTE_NONE = 0, ROUTE_SEARCH, ROUTE_HEALTH };

typedef struct conn {
    bool bound;    /* counted in open */
    bool has_body; /* the answer waits for the body */
    bool too_big;  /* the body passed the limit: read and discarded */
    int status;    /* decided before the body, when not 200 */
    char *err;     /* the reason for status, static text */
    char *body;
    size_t body_len;
    char *resp; /* LWS_PRE bytes, then the JSON */
    size_t resp_len, sent;
} conn;

#define ATOMIC_ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)
#define ATOMIC_SUB(x, n) __atomic_sub_fetch(&(x), (n), __ATOMIC_RELAXED)
#define ATOMIC_GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static double wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static void conn_release(http_search *h, conn *c)
{
    if (c->body) {
        free(c->body);
        c->body = NULL;
        ATOMIC_SUB(h->buffers, 1);
    }
    if (c->resp) {
        free(c->resp);
        c->resp = NULL;
        ATOMIC_SUB(h->buffers, 1);
    }
    c->body_len = c->resp_len = c->sent = 0;
}

/* ---- answers ---------------------------------------------------------------- */

static char *error_json(const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;
    if (o && cJSON_AddStringToObject(o, "error", msg))
        s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Send status with json (taken; NULL means "out of memory": 500). Returns
 * nonzero when the connection must close. */
static int answer(http_search *h, struct lws *wsi, conn *c, int status, char *json)
{
    if (!json) {
        status = HTTP_STATUS_INTERNAL_SERVER_ERROR;
        json = strdup("{\"error\":\"out of memory\"}");
        if (!json)
            return -1;
    }
    size_t n = strlen(json);
    c->resp = malloc(LWS_PRE + n + 1);
    if (!c->resp) {
        free(json);
        return -1;
    }
    ATOMIC_ADD(h->buffers, 1);
    memcpy(c->resp + LWS_PRE, json, n + 1);
    free(json);
    c->resp_len = n;
    c->sent = 0;
    ATOMIC_ADD(h->requests, 1);
    if (status >= 400)
        ATOMIC_ADD(h->rejected, 1);
    unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr;
    if (lws_add_http_common_headers(wsi, (unsigned)status, "application/json", (lws_filepos_t)n, &p,
                                    end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int answer_error(http_search *h, struct lws *wsi, conn *c, int status, const char *msg)
{
    return answer(h, wsi, c, status, error_json(msg));
}

static char *hits_json(kstore_results *r)
{
    cJSON *o = cJSON_CreateObject(), *a = o ? cJSON_AddArrayToObject(o, "hits") : NULL;
    char *s = NULL;
    double now = wall_now();
    for (uint32_t i = 0; a && i < r->n; i++) {
        cJSON *hit = kstore_hit_cjson(&r->hits[i], now);
        if (!hit)
            goto out;
        cJSON_AddItemToArray(a, hit);
    }
    if (a)
        s = cJSON_PrintUnformatted(o);
out:
    cJSON_Delete(o);
    return s;
}

static char *health_json(http_search *h)
{
    kstore_stats st;
    kstore_get_stats(h->store, &st);
    cJSON *o = cJSON_CreateObject(), *x;
    char *s = NULL;
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddNumberToObject(o, "entries", (double)st.entries);
    cJSON_AddNumberToObject(o, "queued", (double)st.queued);
    cJSON_AddNumberToObject(o, "dropped", (double)st.dropped);
    cJSON_AddNumberToObject(o, "newest_age", st.newest_age);
    cJSON_AddNumberToObject(o, "skipped", (double)st.skipped);
    cJSON_AddNumberToObject(o, "errors", (double)st.errors);
    cJSON_AddStringToObject(o, "version", st.version);
    cJSON_AddNumberToObject(o, "renewals", (double)st.renewals);
    cJSON_AddBoolToObject(o, "renew_pending", st.renew_pending);
    if ((x = cJSON_AddObjectToObject(o, "http"))) {
        /* this request is open and holds no buffer yet */
        cJSON_AddNumberToObject(x, "open", (double)ATOMIC_GET(h->open));
        cJSON_AddNumberToObject(x, "buffers", (double)ATOMIC_GET(h->buffers));
        cJSON_AddNumberToObject(x, "requests", (double)ATOMIC_GET(h->requests));
    }
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Run a search and answer it; text or vector, k and the filter already checked. */
static int answer_search(http_search *h, struct lws *wsi, conn *c, const char *text,
                         const float *vec, uint32_t dim, uint32_t k, const kfilter *f)
{
    kstore_results r = {0};
    char *cause = NULL;
    kstore_query q = {.text = text, .vector = text ? NULL : vec, .dim = dim, .k = k};
    kfilter_apply(f, &q);
    dd_err err = kstore_search(h->store, &q, &r, &cause);
    int rc;
    if (err == DD_EINVAL)
        rc = answer_error(h, wsi, c, HTTP_STATUS_BAD_REQUEST, cause ? cause : "bad request");
    else if (err)
        rc = answer_error(h, wsi, c, HTTP_STATUS_INTERNAL_SERVER_ERROR,
                          cause ? cause : dd_strerror(err));
    else
        rc = answer(h, wsi, c, HTTP_STATUS_OK, hits_json(&r));
    kstore_results_free(&r);
    free(cause);
    return rc;
}

/* k from text: 1..KSTORE_MAX_K, else 0. */
static uint32_t parse_k(const char *s)
{
    char *end;
    long k = strtol(s, &end, 10);
    return end != s && *end == '\0' && k >= 1 && k <= (long)KSTORE_MAX_K ? (uint32_t)k : 0;
}

static int answer_get_search(http_search *h, struct lws *wsi, conn *c)
{
    char q[MAX_QUERY], kbuf[32];
    const char *text = lws_get_urlarg_by_name(wsi, "q=", q, sizeof q);
    const char *ks = lws_get_urlarg_by_name(wsi, "k=", kbuf, sizeof kbuf);
    uint32_t k = ks ? parse_k(ks) : 10;
    if (!text || !text[0])
        return answer_error(h, wsi, c, HTTP_STATUS_BAD_REQUEST, "missing q (the query text)");
    if (!k)
        return answer_error(h, wsi, c, HTTP_STATUS_BAD_REQUEST, "k must be an integer in 1..1000");
    kfilter f;
    kfilter_init(&f);
    return answer_search(h, wsi, c, text, NULL, 0, k, &f);
}

/* The members a POST body may have: a typo in a filter is refused, not ignored. */
static const char *unknown_member(const cJSON *o)
{
    static const char *const known[] = {"q",     "query",  "vector", "k",      "where",
                                        "index", "min_ts", "max_ts", "max_age"};
    for (const cJSON *m = o->child; m; m = m->next) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof *known && !ok; i++)
            ok = !strcmp(m->string, known[i]);
        if (!ok)
            return m->string;
    }
    return NULL;
}

/* The query and k of a POST body; a reason (static text) when they are bad. */
static const char *query_of(const cJSON *o, const cJSON **q, const cJSON **vec, uint32_t *k)
{
    const cJSON *kj = cJSON_GetObjectItemCaseSensitive(o, "k");
    *q = cJSON_GetObjectItemCaseSensitive(o, "q");
    *vec = cJSON_GetObjectItemCaseSensitive(o, "vector");
    if (!*q)
        *q = cJSON_GetObjectItemCaseSensitive(o, "query");
    if (!(cJSON_IsString(*q) && (*q)->valuestring[0]) == !cJSON_IsArray(*vec))
        return "give exactly one of q (text) or vector (numbers)";
    if (kj && (!cJSON_IsNumber(kj) || kj->valuedouble != floor(kj->valuedouble) ||
               kj->valuedouble < 1 || kj->valuedouble > KSTORE_MAX_K))
        return "k must be an integer in 1..1000";
    *k = kj ? (uint32_t)kj->valuedouble : 10;
    return NULL;
}

/* Read {"q"|"query": text, "vector": [...], "k": n} and the filters of
 * kfilter_from_json() (where, index, min_ts, max_ts, max_age). */
static int answer_post_search(http_search *h, struct lws *wsi, conn *c)
{
    cJSON *o = c->body ? cJSON_ParseWithLength(c->body, c->body_len) : NULL;
    const cJSON *q = NULL, *vec = NULL;
    const char *bad = NULL, *unknown = NULL;
    char *why = NULL, msg[160];
    uint32_t k = 10;
    kfilter f;
    kfilter_init(&f);
    if (!o || !cJSON_IsObject(o))
        bad = "the body must be a JSON object";
    else if ((unknown = unknown_member(o))) {
        snprintf(msg, sizeof msg,
                 "unknown member \"%.64s\" (known: q, query, vector, k, where, "
                 "index, min_ts, max_ts, max_age)",
                 unknown);
        bad = msg;
    } else if (!(bad = query_of(o, &q, &vec, &k)) && kfilter_from_json(&f, o, &why))
        bad = why ? why : "bad filter";
    int n = !bad && cJSON_IsArray(vec) ? cJSON_GetArraySize(vec) : 0;
    float *v = n > 0 ? malloc((size_t)n * sizeof *v) : NULL;
    for (int i = 0; !bad && v && i < n; i++) {
        const cJSON *x = cJSON_GetArrayItem(vec, i);
        if (!cJSON_IsNumber(x) || !isfinite((float)x->valuedouble))
            bad = "vector must hold finite numbers";
        else
            v[i] = (float)x->valuedouble;
    }
    if (!bad && cJSON_IsArray(vec) && !v)
        bad = "vector must not be empty";
    int rc = bad ? answer_error(h, wsi, c, HTTP_STATUS_BAD_REQUEST, bad)
                 : answer_search(h, wsi, c, cJSON_IsString(q) ? q->valuestring : NULL, v,
                                 (uint32_t)n, k, &f);
    free(why);
    free(v);
    cJSON_Delete(o);
    return rc;
}

/* Constant-time comparison of the Authorization header with the token. */
static bool authorized(http_search *h, struct lws *wsi)
{
    if (!h->token)
        return true;
    char got[512];
    int n = lws_hdr_copy(wsi, got, sizeof got, WSI_TOKEN_HTTP_AUTHORIZATION);
    char want[512];
    int m = snprintf(want, sizeof want, "Bearer %s", h->token);
    if (n <= 0 || n != m)
        return false;
    unsigned char diff = 0;
    for (int i = 0; i < n; i++)
        diff |= (unsigned char)(got[i] ^ want[i]);
    return diff == 0;
}

static enum route route_of(const char *uri)
{
    if (!strcmp(uri, "/search"))
        return ROUTE_SEARCH;
    if (!strcmp(uri, "/health"))
        return ROUTE_HEALTH;
    return ROUTE_NONE;
}

/* A new request: decide what it gets. A request with a body (POST, PUT...)
 * is answered once the body has been read. */
static int on_request(http_search *h, struct lws *wsi, conn *c, const char *uri)
{
    conn_release(h, c);
    c->status = 0;
    c->err = NULL;
    c->too_big = false;
    bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    char len[32] = "";
    lws_hdr_copy(wsi, len, sizeof len, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    /* a body comes with a length or chunked; a POST without either has none */
    c->has_body = (len[0] && strtoull(len, NULL, 10) > 0) ||
                  lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
    enum route r = route_of(uri);
    if (!authorized(h, wsi))
        c->status = HTTP_STATUS_UNAUTHORIZED, c->err = "missing or wrong bearer token";
    else if (r == ROUTE_NONE)
        c->status = HTTP_STATUS_NOT_FOUND, c->err = "unknown path (try /search or /health)";
    else if (!(get || (post && r == ROUTE_SEARCH)))
        c->status = HTTP_STATUS_METHOD_NOT_ALLOWED, c->err = "method not allowed";
    else if (strtoull(len, NULL, 10) > HTTP_SEARCH_MAX_BODY)
        c->too_big = true; /* read and discard, then 413 */
    if (c->has_body)
        return 0;
    if (c->status)
        return answer_error(h, wsi, c, c->status, c->err);
    if (r == ROUTE_HEALTH)
        return answer(h, wsi, c, HTTP_STATUS_OK, health_json(h));
    if (post)
        return answer_error(h, wsi, c, HTTP_STATUS_BAD_REQUEST, "empty body");
    return answer_get_search(h, wsi, c);
}

static int on_body(http_search *h, conn *c, const void *in, size_t len)
{
    if (c->status || c->too_big)
        return 0;
    if (c->body_len + len > HTTP_SEARCH_MAX_BODY) {
        c->too_big = true;
        conn_release(h, c);
        return 0;
    }
    if (!c->body) {
        if (!(c->body = malloc(HTTP_SEARCH_MAX_BODY + 1)))
            return -1;
        ATOMIC_ADD(h->buffers, 1);
    }
    memcpy(c->body + c->body_len, in, len);
    c->body_len += len;
    return 0;
}

static int on_body_done(http_search *h, struct lws *wsi, conn *c)
{
    if (c->status)
        return answer_error(h, wsi, c, c->status, c->err);
    if (c->too_big)
        return answer_error(h, wsi, c, HTTP_STATUS_REQ_ENTITY_TOO_LARGE,
                            "the body is larger than 1 MiB");
    return answer_post_search(h, wsi, c);
}

static int on_writeable(http_search *h, struct lws *wsi, conn *c)
{
    if (!c->resp)
        return 0;
    size_t left = c->resp_len - c->sent, n = left < WRITE_CHUNK ? left : WRITE_CHUNK;
    bool last = n == left;
    /* lws_write may use the LWS_PRE bytes before p: ours (header room, or
     * what was already sent) */
    unsigned char *p = (unsigned char *)c->resp + LWS_PRE + c->sent;
    if (lws_write(wsi, p, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    c->sent += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    conn_release(h, c);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct lws_vhost *vh = lws_get_vhost(wsi);
    http_search *h = vh ? lws_vhost_user(vh) : NULL;
    conn *c = user;
    if (!h)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
        if (c && !c->bound) {
            memset(c, 0, sizeof *c);
            c->bound = true;
            ATOMIC_ADD(h->open, 1);
        }
        return 0;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c && c->bound) {
            conn_release(h, c);
            c->bound = false;
            ATOMIC_SUB(h->open, 1);
        }
        return 0;
    case LWS_CALLBACK_HTTP:
        return on_request(h, wsi, c, in ? (const char *)in : "");
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(h, c, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return on_body_done(h, wsi, c);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_writeable(h, wsi, c);
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"dd-search", callback, sizeof(conn), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *serve_main(void *arg)
{
    http_search *h = arg;
    while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE))
        if (lws_service(h->ctx, 0) < 0)
            break;
    return NULL;
}

static bool is_loopback(const char *host)
{
    return !strncmp(host, "127.", 4) || !strcmp(host, "localhost") || !strcmp(host, "::1");
}

/* Split "HOST:PORT". */
static dd_err parse_host_port(const char *s, char *host, size_t hn, int *port, char **cause)
{
    const char *colon = strrchr(s, ':');
    char *end;
    long p = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == s || (size_t)(colon - s) >= hn || *end || p < 0 || p > 65535)
        return dd_fail(cause, DD_EINVAL, "--serve wants HOST:PORT (say 127.0.0.1:8765), got '%s'",
                       s);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (int)p;
    return DD_OK;
}

http_search *http_search_start(kstore *store, const char *host_port, const char *token,
                               char **cause)
{
    char host[128];
    int port = 0;
    if (parse_host_port(host_port, host, sizeof host, &port, cause))
        return NULL;
    if (!is_loopback(host) && (!token || !token[0])) {
        dd_fail(cause, DD_EINVAL,
                "serving on %s (not loopback) needs a token: set "
                "DRIFTDECK_TOKEN or a 0600 token file",
                host);
        return NULL;
    }
    http_search *h = calloc(1, sizeof *h);
    if (!h || (token && token[0] && !(h->token = strdup(token)))) {
        free(h);
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    h->store = store;
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = strcmp(host, "0.0.0.0") ? host : NULL;
    info.protocols = protocols;
    info.vhost_name = "dd-search";
    info.user = h;
    info.max_http_header_data = 4096;
    info.timeout_secs = 10;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    if (!(h->ctx = lws_create_context(&info)) ||
        !(h->vh = lws_get_vhost_by_name(h->ctx, "dd-search"))) {
        dd_fail(cause, DD_EIO, "cannot listen on %s", host_port);
        http_search_stop(h);
        return NULL;
    }
    h->port = lws_get_vhost_listen_port(h->vh);
    if (pthread_create(&h->thread, NULL, serve_main, h) != 0) {
        dd_fail(cause, DD_ENOMEM, "cannot start the HTTP thread");
        http_search_stop(h);
        return NULL;
    }
    h->thread_started = true;
    return h;
}

void http_search_stop(http_search *h)
{
    if (!h)
        return;
    if (h->thread_started && !__atomic_exchange_n(&h->stop, 1, __ATOMIC_ACQ_REL)) {
        lws_cancel_service(h->ctx);
        pthread_join(h->thread, NULL);
    }
    if (h->ctx)
        lws_context_destroy(h->ctx);
    free(h->token);
    free(h);
}

int http_search_port(const http_search *h)
{
    return h->port;
}

void http_search_get_stats(http_search *h, http_search_stats *out)
{
    out->requests = ATOMIC_GET(h->requests);
    out->open = ATOMIC_GET(h->open);
    out->buffers = ATOMIC_GET(h->buffers);
    out->rejected = ATOMIC_GET(h->rejected);
}

dd_err http_search_token(const char *token_file, char **token, char **cause)
{
    *token = NULL;
    const char *env = getenv("DRIFTDECK_TOKEN");
    if (env && env[0])
        return (*token = strdup(env)) ? DD_OK : DD_ENOMEM;
    if (!token_file || !token_file[0])
        return DD_OK;
    FILE *f = fopen(token_file, "r");
    struct stat st;
    if (!f)
        return dd_fail(cause, DD_EIO, "token file %s cannot be read", token_file);
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        fclose(f);
        return dd_fail(cause, DD_EINVAL, "token file %s must be a regular file of mode 0600",
                       token_file);
    }
    char line[256] = "";
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    if (!got || !line[0])
        return dd_fail(cause, DD_EINVAL, "token file %s is empty", token_file);
    return (*token = strdup(line)) ? DD_OK : DD_ENOMEM;
}
