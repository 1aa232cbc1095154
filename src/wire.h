/*
 * wire.h: the byte format shared by snapshots and commands on the control
 * socket.
 *
 * Every number is written little-endian with a fixed width (doubles and
 * floats by their IEEE-754 bits), every string as a u16 length and its bytes,
 * so the format does not depend on the compiler's struct layout. A writer
 * that runs out of room and a reader that runs past the end set a sticky
 * flag instead of failing each call: the caller checks once at the end.
 *
 * A message on the socket is a frame: magic "DDK1", a u8 type, a u32 payload
 * length, then the payload (WIRE_HEADER bytes of header in all).
 */
#ifndef DD_WIRE_H
#define DD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC 0x314b4444u /* "DDK1" read as a little-endian u32 */
#define WIRE_HEADER 9u
#define WIRE_MAX_PAYLOAD (1u << 20)

typedef enum wire_type {
    WIRE_SNAPSHOT = 1,     /* instance -> console */
    WIRE_COMMAND = 2,      /* console -> instance */
    WIRE_SEARCH = 3,       /* console -> instance: a knowledge-store query (kswire.h) */
    WIRE_SEARCH_REPLY = 4, /* instance -> console: its hits or an error */
} wire_type;

typedef struct wire_w {
    uint8_t *buf;
    size_t cap, len;
    bool overflow; /* a put did not fit: the output is incomplete */
} wire_w;

typedef struct wire_r {
    const uint8_t *buf;
    size_t len, off;
    bool bad; /* a get ran past the end, or a string did not fit */
} wire_r;

void wire_put_u8(wire_w *w, uint8_t v);
void wire_put_u16(wire_w *w, uint16_t v);
void wire_put_u32(wire_w *w, uint32_t v);
void wire_put_u64(wire_w *w, uint64_t v);
void wire_put_f32(wire_w *w, float v);
void wire_put_f64(wire_w *w, double v);
/* A NUL-terminated string of at most cap - 1 bytes (cap: its buffer). */
void wire_put_str(wire_w *w, const char *s, size_t cap);

/* Getters return 0 (or leave an empty string) once the reader is bad. */
uint8_t wire_get_u8(wire_r *r);
uint16_t wire_get_u16(wire_r *r);
uint32_t wire_get_u32(wire_r *r);
uint64_t wire_get_u64(wire_r *r);
float wire_get_f32(wire_r *r);
double wire_get_f64(wire_r *r);
/* Reads a string into dst (cap bytes, always NUL-terminated); a string longer
 * than cap - 1 or holding a NUL byte marks the reader bad. */
void wire_get_str(wire_r *r, char *dst, size_t cap);

/* Writes a frame header into hdr. */
void wire_frame_header(uint8_t hdr[WIRE_HEADER], wire_type type, uint32_t payload_len);
/* Parses a frame header: false if the magic, the type or the length is wrong. */
bool wire_frame_parse(const uint8_t hdr[WIRE_HEADER], wire_type *type, uint32_t *payload_len);

#endif
