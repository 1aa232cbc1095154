/*
 * http_search.h: the knowledge store's HTTP endpoint, so a RAG application
 * asks driftdeck for fresh context (issue #9).
 *
 *   GET  /search?q=TEXT&k=N     short queries (the request line must fit
 *                               the 4 KiB header buffer; longer lines are
 *                               closed by libwebsockets 4.1 without a status)
 *   POST /search                JSON body {"q": TEXT | "vector": [...],
 *                               "k": N, "max_age": SECONDS}, at most 1 MiB
 *                               (413 beyond: the body is read and discarded)
 *   GET  /health                store status and the server's own counters
 * Answers are JSON: {"hits": [...]} with the objects of kstore_hit_json(), or
 * {"error": "..."} with 400, 401, 404, 405, 413 or 500.
 *
 * One libwebsockets 4.1 context in its own thread; searches run in that
 * thread (kstore_search*() is thread-safe). Bound to loopback by default; a
 * bearer token (Authorization: Bearer TOKEN) is required when one is
 * configured, and one must be configured to bind anywhere else.
 */
#ifndef DD_HTTP_SEARCH_H
#define DD_HTTP_SEARCH_H

#include "dd.h"
#include "kstore.h"

#include <stdint.h>

#define HTTP_SEARCH_MAX_BODY (1u << 20)

typedef struct http_search http_search;

typedef struct http_search_stats {
    uint64_t requests; /* answered, any status */
    uint64_t open;     /* connections bound to the endpoint now */
    uint64_t buffers;  /* request and response buffers held now */
    uint64_t rejected; /* 4xx answers */
} http_search_stats;

/* The token for a server: $DRIFTDECK_TOKEN if set, else the first line of
 * token_file (which must be a regular file of mode 0600 or stricter) when
 * token_file is not NULL/empty. *token is NULL when neither is given.
 * Returns a new string in *token (free()). */
dd_err http_search_token(const char *token_file, char **token, char **cause);

/* Start serving store (borrowed; it must outlive the server) on "HOST:PORT"
 * (PORT 0: any free port, see http_search_port()). token (copied) may be
 * NULL only when HOST is a loopback address. Returns NULL with *cause set.
 * Stop with http_search_stop(). */
http_search *http_search_start(kstore *store, const char *host_port, const char *token,
                               char **cause);
void http_search_stop(http_search *h);

int http_search_port(const http_search *h);
void http_search_get_stats(http_search *h, http_search_stats *out);

#endif
