/*
 * serial.h: an endian-safe byte writer and reader for snapshots.
 *
 * Integers and doubles are written little-endian (doubles by their IEEE-754
 * bit pattern), so a snapshot made on one machine restores bit for bit on
 * another. The writer grows a heap buffer and remembers the first failure;
 * the reader checks every read against the end and remembers a short read,
 * so a caller checks once at the end (truncated or corrupted input gives
 * DD_ECORRUPT, never a read past the buffer).
 */
#ifndef DD_SERIAL_H
#define DD_SERIAL_H

#include "dd.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct ser_writer {
    unsigned char *buf; /* owned until taken by the caller */
    size_t len, cap;
    bool failed;
} ser_writer;

typedef struct ser_reader {
    const unsigned char *p;
    size_t len, at;
    bool failed;
} ser_reader;

static inline void ser_put_bytes(ser_writer *w, const void *data, size_t n)
{
    if (w->failed)
        return;
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n)
            cap *= 2;
        unsigned char *b = realloc(w->buf, cap);
        if (!b) {
            w->failed = true;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, data, n);
    w->len += n;
}

static inline void ser_put_u64(ser_writer *w, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    ser_put_bytes(w, b, 8);
}

static inline void ser_put_u32(ser_writer *w, uint32_t v)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    ser_put_bytes(w, b, 4);
}

static inline void ser_put_f64(ser_writer *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    ser_put_u64(w, v);
}

/* A string as its u32 length then its bytes (no NUL). NULL writes length 0xffffffff. */
static inline void ser_put_str(ser_writer *w, const char *s)
{
    if (!s) {
        ser_put_u32(w, UINT32_MAX);
        return;
    }
    size_t n = strlen(s);
    ser_put_u32(w, (uint32_t)n);
    ser_put_bytes(w, s, n);
}

static inline void ser_reader_init(ser_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->at = 0;
    r->failed = false;
}

static inline bool ser_get_bytes(ser_reader *r, void *out, size_t n)
{
    if (r->failed || r->len - r->at < n) {
        r->failed = true;
        memset(out, 0, n);
        return false;
    }
    memcpy(out, r->p + r->at, n);
    r->at += n;
    return true;
}

static inline uint64_t ser_get_u64(ser_reader *r)
{
    unsigned char b[8];
    ser_get_bytes(r, b, 8);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static inline uint32_t ser_get_u32(ser_reader *r)
{
    unsigned char b[4];
    ser_get_bytes(r, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline double ser_get_f64(ser_reader *r)
{
    uint64_t v = ser_get_u64(r);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

/* A newly allocated string (free()), NULL for a NULL string or on failure
 * (r->failed tells which). Strings longer than max are a failure. */
static inline char *ser_get_str(ser_reader *r, uint32_t max)
{
    uint32_t n = ser_get_u32(r);
    if (r->failed || n == UINT32_MAX)
        return NULL;
    if (n > max || r->len - r->at < n) {
        r->failed = true;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->failed = true;
        return NULL;
    }
    memcpy(s, r->p + r->at, n);
    s[n] = '\0';
    r->at += n;
    return s;
}

#endif
