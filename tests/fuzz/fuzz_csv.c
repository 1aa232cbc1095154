/*
 * fuzz_csv.c: libFuzzer harness for the streaming CSV reader (core/csv.c)
 * and the row -> JSON -> event mapping behind CSV replay.
 *
 * Input: byte 0 picks the delimiter and the limits (a small record limit and
 * field limit one time in two, so the resynchronization paths run), byte 1
 * seeds the chunking, the rest is the file. The file is read twice: in one
 * piece and in chunks of pseudo-random sizes (1..64 bytes). Contract: the
 * two readings report exactly the same records (line, end offset, error or
 * fields, byte for byte), as a stream may split anywhere; a malformed record
 * has an error and no fields; line numbers never go down; a record's end
 * offset never passes the bytes fed. The first good record is taken as the
 * header and every later one goes through csv_row_json() and the event
 * builder, which must either accept it or say why.
 *
 * FUZZ_SOURCES:
 */
#include "csv.h"
#include "event.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every record appended as bytes, to compare two readings. */
struct log {
    uint8_t *buf;
    size_t len, cap;
    uint64_t last_line, fed;
    csv_header *header;
    bool map; /* map rows to events (one reading is enough) */
};

static void put(struct log *l, const void *p, size_t n)
{
    if (l->cap - l->len < n) {
        size_t cap = l->cap ? l->cap : 1024;
        while (cap - l->len < n)
            cap *= 2;
        uint8_t *b = realloc(l->buf, cap);
        if (!b)
            abort();
        l->buf = b;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, p, n);
    l->len += n;
}

static void map_row(struct log *l, const csv_record *rec)
{
    char *cause = NULL;
    if (!l->header) {
        if (csv_header_new(rec, &l->header, &cause) != DD_OK && !cause)
            abort();
        free(cause);
        return;
    }
    cJSON *obj = NULL;
    if (csv_row_json(l->header, rec, &obj, &cause) != DD_OK) {
        if (!cause || obj)
            abort();
        free(cause);
        return;
    }
    dd_event *ev = NULL;
    if (event_from_json(obj, NULL, NULL, &ev, &cause) != DD_OK) {
        if (!cause || ev)
            abort();
    }
    free(cause);
    event_free(ev);
    cJSON_Delete(obj);
}

static int on_record(void *ctx, const csv_record *rec)
{
    struct log *l = ctx;
    if (rec->line < l->last_line || rec->end > l->fed)
        abort();
    if (rec->error && rec->nfield)
        abort();
    l->last_line = rec->line;
    put(l, &rec->line, sizeof rec->line);
    put(l, &rec->end, sizeof rec->end);
    put(l, &rec->nfield, sizeof rec->nfield);
    put(l, rec->error ? "!" : ":", 1);
    for (uint32_t i = 0; i < rec->nfield; i++) {
        if (rec->field[i].s[rec->field[i].len] != '\0')
            abort(); /* fields are NUL-terminated */
        put(l, &rec->field[i].len, sizeof rec->field[i].len);
        put(l, rec->field[i].s, rec->field[i].len);
    }
    if (l->map && !rec->error)
        map_row(l, rec);
    return 0;
}

static void read_all(const char *text, size_t n, char delim, size_t max_record, uint32_t max_fields,
                     uint8_t seed, struct log *l)
{
    csv *c = csv_new(delim, max_record, max_fields);
    if (!c)
        abort();
    uint32_t x = seed * 2654435761u + 1;
    for (size_t at = 0; at < n;) {
        size_t chunk = n - at;
        if (seed) {
            x = x * 1103515245u + 12345u;
            size_t k = 1 + (x >> 16) % 64;
            chunk = k < chunk ? k : chunk;
        }
        l->fed += chunk;
        if (csv_feed(c, text + at, chunk, on_record, l) != DD_OK)
            abort();
        at += chunk;
    }
    if (csv_finish(c, on_record, l) != DD_OK)
        abort();
    csv_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const char delims[4] = {',', ';', '\t', '|'};
    char delim = delims[data[0] & 3];
    bool tight = data[0] & 4;
    size_t max_record = tight ? 64 : 0;
    uint32_t max_fields = tight ? 4 : 0;
    uint8_t seed = data[1] ? data[1] : 1;
    const char *text = (const char *)data + 2;
    size_t n = size - 2;
    struct log whole = {0}, chunked = {0};
    whole.map = true;
    read_all(text, n, delim, max_record, max_fields, 0, &whole);
    read_all(text, n, delim, max_record, max_fields, seed, &chunked);
    if (whole.len != chunked.len || (whole.len && memcmp(whole.buf, chunked.buf, whole.len)))
        abort(); /* a chunk boundary changed what was read */
    csv_header_free(whole.header);
    csv_header_free(chunked.header);
    free(whole.buf);
    free(chunked.buf);
    return 0;
}
