/*
 * wsmsg.h: reassembly of one WebSocket message from the chunks a client
 * library delivers (fragments, and large frames split into receive-buffer
 * sized pieces), with a hard cap on the message size.
 *
 * The buffer grows geometrically up to the cap and is reused from message to
 * message. A message that goes over the cap is not kept: the first
 * WSMSG_HEAD_BYTES are (for the dead-letter file), the rest is counted and
 * discarded up to the final chunk, and the message is reported OVERSIZED.
 * Pure code, no network and no threads: the fuzz harness drives it directly.
 */
#ifndef DD_WSMSG_H
#define DD_WSMSG_H

#include <stdbool.h>
#include <stddef.h>

#define WSMSG_HEAD_BYTES 256u

typedef enum wsmsg_result {
    WSMSG_MORE = 0,  /* the message goes on: feed the next chunk */
    WSMSG_COMPLETE,  /* a whole message: wsmsg_data() until the next feed */
    WSMSG_OVERSIZED, /* a whole message over the cap: wsmsg_data() is its head */
    WSMSG_NOMEM,     /* the buffer could not grow: the message is lost (counted by the caller) */
} wsmsg_result;

typedef struct wsmsg wsmsg;

/* Returns a new reassembler for messages of at most max_bytes (> 0), or NULL
 * on no memory. Free with wsmsg_free(). */
wsmsg *wsmsg_new(size_t max_bytes);
void wsmsg_free(wsmsg *m);

/* Feed one chunk. binary is the message's type (read from its first frame;
 * ignored on later chunks). final is true on the chunk that ends the message
 * (the last piece of the final fragment; it may be empty). After COMPLETE,
 * OVERSIZED or NOMEM the next feed starts a new message. */
wsmsg_result wsmsg_feed(wsmsg *m, const void *data, size_t len, bool binary, bool final);

/* The message just completed (NUL-terminated for convenience; len excludes
 * the NUL). Valid until the next wsmsg_feed(). For OVERSIZED: its head. */
const char *wsmsg_data(const wsmsg *m, size_t *len);
bool wsmsg_binary(const wsmsg *m);

/* Total bytes of the message just completed (for OVERSIZED, the full size
 * received, not what was kept). */
size_t wsmsg_total(const wsmsg *m);

/* Drop a message in progress (the connection closed mid-message). Returns
 * the bytes discarded, 0 if none was in progress. */
size_t wsmsg_abort(wsmsg *m);

/* Bytes of buffer held (for memory accounting in tests). */
size_t wsmsg_capacity(const wsmsg *m);

#endif
