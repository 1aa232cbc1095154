/*
 * wsmsg.c: WebSocket message reassembly (see wsmsg.h).
 *
 * One buffer, grown by doubling up to max_bytes + 1 (the NUL) and kept for
 * the next message, so steady traffic allocates nothing. Appending is O(len)
 * amortized. An oversized or unallocatable message switches to "discard"
 * mode: only its head is kept and the rest is counted until the final chunk.
 */
#include "wsmsg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum mode { IDLE = 0, FILLING, OVERSIZED, LOST };

struct wsmsg {
    size_t max;
    char *buf;
    size_t cap;   /* bytes allocated in buf */
    size_t len;   /* bytes kept */
    size_t total; /* bytes received for this message (saturating) */
    bool binary;
    enum mode mode;
};

wsmsg *wsmsg_new(size_t max_bytes)
{
    if (max_bytes == 0 || max_bytes == SIZE_MAX)
        return NULL;
    wsmsg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->max = max_bytes;
    return m;
}

void wsmsg_free(wsmsg *m)
{
    if (!m)
        return;
    free(m->buf);
    free(m);
}

/* Make room for need bytes plus the NUL; false on no memory. */
static bool reserve(wsmsg *m, size_t need)
{
    if (need + 1 <= m->cap)
        return true;
    size_t cap = m->cap ? m->cap : 4096;
    while (cap < need + 1)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (need + 1 <= m->max + 1 && cap > m->max + 1)
        cap = m->max + 1; /* never hold more than a whole message needs */
    char *nb = realloc(m->buf, cap);
    if (!nb)
        return false;
    m->buf = nb;
    m->cap = cap;
    return true;
}

/* Keep what fits of the head (WSMSG_HEAD_BYTES) from a chunk. */
static void keep_head(wsmsg *m, const char *data, size_t len)
{
    if (m->len >= WSMSG_HEAD_BYTES || !reserve(m, WSMSG_HEAD_BYTES))
        return;
    size_t n = WSMSG_HEAD_BYTES - m->len;
    if (n > len)
        n = len;
    memcpy(m->buf + m->len, data, n);
    m->len += n;
}

static void append(wsmsg *m, const char *data, size_t len)
{
    if (m->mode == FILLING && m->len + len > m->max) {
        m->mode = OVERSIZED;
        if (m->len > WSMSG_HEAD_BYTES)
            m->len = WSMSG_HEAD_BYTES;
    }
    if (m->mode == OVERSIZED) {
        keep_head(m, data, len);
        return;
    }
    if (m->mode == LOST || len == 0)
        return;
    if (!reserve(m, m->len + len)) {
        m->mode = LOST;
        return;
    }
    memcpy(m->buf + m->len, data, len);
    m->len += len;
}

wsmsg_result wsmsg_feed(wsmsg *m, const void *data, size_t len, bool binary, bool final)
{
    if (m->mode == IDLE) {
        m->mode = FILLING;
        m->len = 0;
        m->total = 0;
        m->binary = binary;
    }
    m->total = len > SIZE_MAX - m->total ? SIZE_MAX : m->total + len;
    if (len > 0)
        append(m, data, len);
    if (!final)
        return WSMSG_MORE;
    enum mode done = m->mode;
    m->mode = IDLE;
    if (m->buf)
        m->buf[m->len] = '\0';
    switch (done) {
    case OVERSIZED:
        return WSMSG_OVERSIZED;
    case LOST:
        m->len = 0;
        return WSMSG_NOMEM;
    default:
        return WSMSG_COMPLETE;
    }
}

const char *wsmsg_data(const wsmsg *m, size_t *len)
{
    *len = m->len;
    return m->buf ? m->buf : "";
}

bool wsmsg_binary(const wsmsg *m)
{
    return m->binary;
}

size_t wsmsg_total(const wsmsg *m)
{
    return m->total;
}

size_t wsmsg_abort(wsmsg *m)
{
    if (m->mode == IDLE)
        return 0;
    m->mode = IDLE;
    size_t n = m->total;
    m->len = 0;
    m->total = 0;
    return n;
}

size_t wsmsg_capacity(const wsmsg *m)
{
    return m->cap;
}
