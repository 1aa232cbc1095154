/*
 * kswire.h: knowledge-store search over the control socket. The attached
 * console sends a request (its id, k, the query text) in a WIRE_SEARCH
 * frame; the instance searches its store and answers in a
 * WIRE_SEARCH_REPLY frame with the same id: the hits (id, score, ts, where
 * found, the embedding version, the payload) or an error and its reason.
 *
 * Limits, checked by both encoders and both decoders: a query of
 * 1..KSWIRE_QUERY_MAX bytes with no NUL, k in 1..KSTORE_MAX_K, a reply of
 * at most KSWIRE_REPLY_MAX bytes. To stay in that bound an id is cut at
 * KSWIRE_ID_MAX - 1 bytes and a payload at KSWIRE_PAYLOAD_MAX bytes (on a
 * UTF-8 character boundary, flagged in cut[]), and the hits that still do not
 * fit are left out and counted (omitted). Encoding is O(bytes written).
 */
#ifndef DD_KSWIRE_H
#define DD_KSWIRE_H

#include "dd.h"
#include "kstore.h"

#include <stddef.h>
#include <stdint.h>

#define KSWIRE_QUERY_MAX 1024u
#define KSWIRE_REQUEST_MAX (8u + 4u + 2u + KSWIRE_QUERY_MAX)
#define KSWIRE_REPLY_MAX 65536u
#define KSWIRE_ID_MAX 256u      /* bytes of an id, with its NUL */
#define KSWIRE_VERSION_MAX 192u /* bytes of an embedding version, with its NUL */
#define KSWIRE_PAYLOAD_MAX 1024u
#define KSWIRE_CAUSE_MAX 256u
#define KSWIRE_MAX_HITS (2u * KSTORE_MAX_K)

/* cut[] flags */
#define KSWIRE_CUT_ID 1u
#define KSWIRE_CUT_PAYLOAD 2u

typedef struct kswire_request {
    uint64_t id; /* chosen by the console, echoed in the reply */
    uint32_t k;
    char query[KSWIRE_QUERY_MAX + 1];
} kswire_request;

typedef struct kswire_reply {
    uint64_t id;
    uint8_t err; /* a dd_err: DD_OK, else cause says why */
    char cause[KSWIRE_CAUSE_MAX];
    kstore_results results; /* the hits (err == DD_OK) */
    uint8_t *cut;           /* per hit, KSWIRE_CUT_* (NULL: nothing was cut) */
    uint32_t omitted;       /* hits left out for room */
} kswire_reply;

/* Encode r into buf (cap bytes); *len gets the size. DD_EINVAL (with a
 * cause) for an empty or too long query or k out of range, DD_EFULL when
 * buf is too small. */
dd_err kswire_request_encode(const kswire_request *r, uint8_t *buf, size_t cap, size_t *len,
                             char **cause);
/* Decode len bytes into *r. DD_EPARSE or DD_EINVAL (with a cause) on
 * truncated or trailing bytes, a query too long, empty or holding a NUL, or
 * k out of range. */
dd_err kswire_request_decode(kswire_request *r, const uint8_t *buf, size_t len, char **cause);

/* Encode r (borrowed: id, err, cause, results, cut, omitted) into buf (cap
 * bytes, at most KSWIRE_REPLY_MAX are used); *len gets the size. Hits that
 * do not fit are left out and counted with r->omitted in the reply.
 * DD_EFULL when not even the header fits, DD_EINVAL for an err that is not a
 * dd_err or more than KSWIRE_MAX_HITS hits. */
dd_err kswire_reply_encode(const kswire_reply *r, uint8_t *buf, size_t cap, size_t *len,
                           char **cause);
/* Decode len bytes into *r (its results and cut are new: kswire_reply_clear()).
 * DD_EPARSE or DD_EINVAL with a cause on bad bytes; *r is then empty. */
dd_err kswire_reply_decode(kswire_reply *r, const uint8_t *buf, size_t len, char **cause);
/* Free what a decode allocated and empty *r. NULL is a no-op. */
void kswire_reply_clear(kswire_reply *r);

#endif
