/*
 * kswire.c: search request and reply on the control socket (see kswire.h).
 *
 * Request: u64 id, u32 k, str query.
 * Reply: u64 id, u8 err, str cause, u32 total (hits the search found),
 * u32 m (hits that follow), then m times: str id, f64 score, f64 ts,
 * u8 found (1 vector, 2 fts, 3 both), u8 cut flags, str version, str payload.
 * The number of hits left out is total - m.
 */
#include "kswire.h"

#include "wire.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The length of s cut to at most max bytes, backing off to the start of a
 * UTF-8 character so a cut never splits one. */
static size_t cut_len(const char *s, size_t max, bool *cut)
{
    size_t n = strnlen(s, max + 1);
    *cut = n > max;
    if (!*cut)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static void put_cut(wire_w *w, const char *s, size_t max, bool *cut)
{
    size_t n = cut_len(s, max, cut);
    wire_put_str(w, s, n + 1);
}

static dd_err check_request(const kswire_request *r, size_t qlen, char **cause)
{
    if (r->k < 1 || r->k > KSTORE_MAX_K)
        return dd_fail(cause, DD_EINVAL, "search: k must be in 1..%u, got %u", KSTORE_MAX_K, r->k);
    if (qlen == 0)
        return dd_fail(cause, DD_EINVAL, "search: the query is empty");
    if (qlen > KSWIRE_QUERY_MAX)
        return dd_fail(cause, DD_EINVAL, "search: the query is longer than %u bytes",
                       KSWIRE_QUERY_MAX);
    return DD_OK;
}

dd_err kswire_request_encode(const kswire_request *r, uint8_t *buf, size_t cap, size_t *len,
                             char **cause)
{
    dd_err err = check_request(r, strnlen(r->query, sizeof r->query), cause);
    if (err)
        return err;
    wire_w w = {.buf = buf, .cap = cap};
    wire_put_u64(&w, r->id);
    wire_put_u32(&w, r->k);
    wire_put_str(&w, r->query, sizeof r->query);
    if (w.overflow)
        return dd_fail(cause, DD_EFULL, "search: the request does not fit %zu bytes", cap);
    *len = w.len;
    return DD_OK;
}

dd_err kswire_request_decode(kswire_request *r, const uint8_t *buf, size_t len, char **cause)
{
    wire_r rd = {.buf = buf, .len = len};
    memset(r, 0, sizeof *r);
    r->id = wire_get_u64(&rd);
    r->k = wire_get_u32(&rd);
    wire_get_str(&rd, r->query, sizeof r->query);
    if (rd.bad)
        return dd_fail(cause, DD_EPARSE,
                       "search request: truncated, or a query over %u bytes "
                       "or holding a NUL",
                       KSWIRE_QUERY_MAX);
    if (rd.off != len)
        return dd_fail(cause, DD_EPARSE, "search request: %zu trailing bytes", len - rd.off);
    return check_request(r, strlen(r->query), cause);
}

/* One hit; false when it did not fit (w is then as it was). */
static bool put_hit(wire_w *w, const kstore_hit *h, uint8_t cut_in)
{
    size_t mark = w->len;
    bool id_cut, payload_cut, version_cut; /* the store's versions are < 192 bytes: never cut */
    size_t flags_at;
    put_cut(w, h->id ? h->id : "", KSWIRE_ID_MAX - 1, &id_cut);
    wire_put_f64(w, h->score);
    wire_put_f64(w, h->ts);
    wire_put_u8(w, (uint8_t)h->found);
    flags_at = w->len;
    wire_put_u8(w, 0);
    put_cut(w, h->version ? h->version : "", KSWIRE_VERSION_MAX - 1, &version_cut);
    put_cut(w, h->payload ? h->payload : "", KSWIRE_PAYLOAD_MAX, &payload_cut);
    if (w->overflow) {
        w->len = mark;
        w->overflow = false;
        return false;
    }
    w->buf[flags_at] =
        (uint8_t)(cut_in | (id_cut ? KSWIRE_CUT_ID : 0) | (payload_cut ? KSWIRE_CUT_PAYLOAD : 0));
    return true;
}

static void put_u32_at(uint8_t *p, uint32_t v)
{
    wire_w w = {.buf = p, .cap = 4};
    wire_put_u32(&w, v);
}

dd_err kswire_reply_encode(const kswire_reply *r, uint8_t *buf, size_t cap, size_t *len,
                           char **cause)
{
    uint32_t n = r->err ? 0 : r->results.n;
    if (r->err >= DD_ERR__COUNT || n > KSWIRE_MAX_HITS)
        return dd_fail(cause, DD_EINVAL, "search reply: bad error code %u or %u hits", r->err, n);
    wire_w w = {.buf = buf, .cap = cap < KSWIRE_REPLY_MAX ? cap : KSWIRE_REPLY_MAX};
    bool cut;
    wire_put_u64(&w, r->id);
    wire_put_u8(&w, r->err);
    const char *why = r->cause[0] ? r->cause : dd_strerror((dd_err)r->err);
    put_cut(&w, r->err ? why : "", KSWIRE_CAUSE_MAX - 1, &cut);
    size_t counts = w.len;
    wire_put_u32(&w, 0);
    wire_put_u32(&w, 0);
    if (w.overflow)
        return dd_fail(cause, DD_EFULL, "search reply: %zu bytes are too few", cap);
    uint32_t m = 0;
    while (m < n && put_hit(&w, &r->results.hits[m], r->cut ? r->cut[m] : 0))
        m++;
    uint64_t total = (uint64_t)n + (r->err ? 0 : r->omitted);
    put_u32_at(buf + counts, total > UINT32_MAX ? UINT32_MAX : (uint32_t)total);
    put_u32_at(buf + counts + 4, m);
    *len = w.len;
    return DD_OK;
}

/* kstore_results_free() without linking the store (the fuzz harness links
 * this file alone). */
static void free_hits(kstore_results *res)
{
    for (uint32_t i = 0; res->hits && i < res->n; i++) {
        free(res->hits[i].id);
        free(res->hits[i].payload);
        free(res->hits[i].version);
    }
    free(res->hits);
    res->hits = NULL;
    res->n = 0;
}

void kswire_reply_clear(kswire_reply *r)
{
    if (!r)
        return;
    free_hits(&r->results);
    free(r->cut);
    memset(r, 0, sizeof *r);
}

/* Hit i of a reply being decoded; false (rd bad, or a bad value) on failure. */
static bool get_hit(wire_r *rd, kswire_reply *r, uint32_t i, char *tmp)
{
    kstore_hit *h = &r->results.hits[i];
    wire_get_str(rd, tmp, KSWIRE_ID_MAX);
    h->id = strdup(tmp);
    h->score = wire_get_f64(rd);
    h->ts = wire_get_f64(rd);
    uint8_t found = wire_get_u8(rd);
    r->cut[i] = wire_get_u8(rd);
    h->found = (kstore_found)found;
    wire_get_str(rd, tmp, KSWIRE_VERSION_MAX);
    h->version = strdup(tmp);
    wire_get_str(rd, tmp, KSWIRE_PAYLOAD_MAX + 1);
    h->payload = strdup(tmp);
    r->results.n = i + 1; /* owns what it holds, for kswire_reply_clear() */
    return !rd->bad && h->id && h->version && h->payload && found >= KSTORE_FOUND_VECTOR &&
           found <= KSTORE_FOUND_BOTH && r->cut[i] <= (KSWIRE_CUT_ID | KSWIRE_CUT_PAYLOAD) &&
           isfinite(h->score) && isfinite(h->ts);
}

dd_err kswire_reply_decode(kswire_reply *r, const uint8_t *buf, size_t len, char **cause)
{
    wire_r rd = {.buf = buf, .len = len};
    memset(r, 0, sizeof *r);
    r->id = wire_get_u64(&rd);
    r->err = wire_get_u8(&rd);
    wire_get_str(&rd, r->cause, sizeof r->cause);
    uint32_t total = wire_get_u32(&rd), m = wire_get_u32(&rd);
    if (rd.bad || len > KSWIRE_REPLY_MAX)
        return dd_fail(cause, DD_EPARSE, "search reply: truncated header or too long");
    if (r->err >= DD_ERR__COUNT || (r->err && (total || m || !r->cause[0])) ||
        (!r->err && r->cause[0]) || m > total || m > KSWIRE_MAX_HITS)
        return dd_fail(cause, DD_EINVAL,
                       "search reply: inconsistent header (err %u, %u of %u "
                       "hits)",
                       r->err, m, total);
    /* each hit takes at least 24 bytes: a count beyond what the bytes hold is a lie */
    if ((size_t)m * 24 > len - rd.off)
        return dd_fail(cause, DD_EPARSE, "search reply: %u hits cannot fit %zu bytes", m,
                       len - rd.off);
    r->results.hits = calloc(m ? m : 1, sizeof *r->results.hits);
    r->cut = calloc(m ? m : 1, 1);
    char *tmp = malloc(KSWIRE_PAYLOAD_MAX + 1);
    if (!r->results.hits || !r->cut || !tmp) {
        free(tmp);
        kswire_reply_clear(r);
        return dd_fail(cause, DD_ENOMEM, "search reply: out of memory");
    }
    uint32_t i = 0;
    while (i < m && get_hit(&rd, r, i, tmp))
        i++;
    free(tmp);
    if (i < m || rd.off != len) {
        kswire_reply_clear(r);
        return i < m ? dd_fail(cause, DD_EINVAL, "search reply: hit %u is truncated or bad", i)
                     : dd_fail(cause, DD_EPARSE, "search reply: trailing bytes");
    }
    r->omitted = total - m;
    return DD_OK;
}
