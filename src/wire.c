/*
 * wire.c: little-endian fixed-width encoding with sticky overflow flags
 * (see wire.h). Each put or get is O(1) except strings, O(length).
 */
#include "wire.h"

#include <string.h>

static void put_bytes(wire_w *w, const void *p, size_t n)
{
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void put_le(wire_w *w, uint64_t v, unsigned nbytes)
{
    uint8_t b[8];
    for (unsigned i = 0; i < nbytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put_bytes(w, b, nbytes);
}

void wire_put_u8(wire_w *w, uint8_t v)
{
    put_le(w, v, 1);
}

void wire_put_u16(wire_w *w, uint16_t v)
{
    put_le(w, v, 2);
}

void wire_put_u32(wire_w *w, uint32_t v)
{
    put_le(w, v, 4);
}

void wire_put_u64(wire_w *w, uint64_t v)
{
    put_le(w, v, 8);
}

void wire_put_f32(wire_w *w, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_le(w, bits, 4);
}

void wire_put_f64(wire_w *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_le(w, bits, 8);
}

void wire_put_str(wire_w *w, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap > 0 ? cap - 1 : 0);
    wire_put_u16(w, (uint16_t)n);
    put_bytes(w, s, n);
}

static uint64_t get_le(wire_r *r, unsigned nbytes)
{
    if (r->bad || r->len - r->off < nbytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < nbytes; i++)
        v |= (uint64_t)r->buf[r->off + i] << (8 * i);
    r->off += nbytes;
    return v;
}

uint8_t wire_get_u8(wire_r *r)
{
    return (uint8_t)get_le(r, 1);
}

uint16_t wire_get_u16(wire_r *r)
{
    return (uint16_t)get_le(r, 2);
}

uint32_t wire_get_u32(wire_r *r)
{
    return (uint32_t)get_le(r, 4);
}

uint64_t wire_get_u64(wire_r *r)
{
    return get_le(r, 8);
}

float wire_get_f32(wire_r *r)
{
    uint32_t bits = (uint32_t)get_le(r, 4);
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

double wire_get_f64(wire_r *r)
{
    uint64_t bits = get_le(r, 8);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

void wire_get_str(wire_r *r, char *dst, size_t cap)
{
    dst[0] = '\0';
    size_t n = wire_get_u16(r);
    if (r->bad || n >= cap || r->len - r->off < n) {
        r->bad = true;
        return;
    }
    if (memchr(r->buf + r->off, '\0', n)) {
        r->bad = true;
        return;
    }
    memcpy(dst, r->buf + r->off, n);
    dst[n] = '\0';
    r->off += n;
}

void wire_frame_header(uint8_t hdr[WIRE_HEADER], wire_type type, uint32_t payload_len)
{
    wire_w w = {.buf = hdr, .cap = WIRE_HEADER};
    wire_put_u32(&w, WIRE_MAGIC);
    wire_put_u8(&w, (uint8_t)type);
    wire_put_u32(&w, payload_len);
}

bool wire_frame_parse(const uint8_t hdr[WIRE_HEADER], wire_type *type, uint32_t *payload_len)
{
    wire_r r = {.buf = hdr, .len = WIRE_HEADER};
    uint32_t magic = wire_get_u32(&r);
    uint8_t t = wire_get_u8(&r);
    uint32_t n = wire_get_u32(&r);
    if (magic != WIRE_MAGIC || t < WIRE_SNAPSHOT || t > WIRE_SEARCH_REPLY || n > WIRE_MAX_PAYLOAD)
        return false;
    *type = (wire_type)t;
    *payload_len = n;
    return true;
}
