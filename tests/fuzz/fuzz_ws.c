/*
 * fuzz_ws.c: libFuzzer harness for WebSocket message reassembly
 * (src/wsmsg.c), the path every ws:// message takes before it is parsed.
 *
 * The input is a script: two bytes choose the size cap (1..4096), then each
 * step is an op byte (bit 0: final, bit 1: binary, bits 2-4 all set: the
 * connection drops mid-message, bits 5-7: a length multiplier), a length
 * byte, and that many data bytes. A reference model (plain concatenation)
 * predicts every result: MORE until the final chunk; then COMPLETE with
 * exactly the bytes fed, NUL-terminated, the first chunk's type and the total;
 * or OVERSIZED with the message's first WSMSG_HEAD_BYTES bytes and its full
 * size; wsmsg_abort() returns the bytes dropped. The buffer never holds more
 * than max(4096, cap + 1) bytes.
 *
 * FUZZ_SOURCES: src/wsmsg.c
 */
#include "wsmsg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ref {
    uint8_t *buf; /* every byte of the message so far (inputs are small) */
    size_t len;
    bool open, binary;
};

static void check_complete(const wsmsg *m, const struct ref *r)
{
    size_t n;
    const char *got = wsmsg_data(m, &n);
    if (n != r->len || wsmsg_total(m) != r->len || (n && memcmp(got, r->buf, n)) || got[n])
        abort();
    if (wsmsg_binary(m) != r->binary)
        abort();
}

static void check_oversized(const wsmsg *m, const struct ref *r, size_t cap)
{
    size_t n, head = r->len < WSMSG_HEAD_BYTES ? r->len : WSMSG_HEAD_BYTES;
    const char *got = wsmsg_data(m, &n);
    if (r->len <= cap || wsmsg_total(m) != r->len || n != head || memcmp(got, r->buf, n))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cap = 1 + ((size_t)data[0] | (size_t)data[1] << 8) % 4096;
    wsmsg *m = wsmsg_new(cap);
    struct ref r = {malloc(size * 8 + 1), 0, false, false};
    if (!m || !r.buf)
        abort();
    size_t at = 2;
    while (at + 2 <= size) {
        uint8_t op = data[at];
        size_t want = (size_t)data[at + 1] * (1 + (op >> 5));
        at += 2;
        if ((op & 0x1c) == 0x1c) { /* the connection drops */
            if (wsmsg_abort(m) != (r.open ? r.len : 0))
                abort();
            r.open = false;
            r.len = 0;
            continue;
        }
        size_t n = want < size - at ? want : size - at;
        bool final = op & 1, binary = op & 2;
        if (!r.open) {
            r.open = true;
            r.binary = binary;
            r.len = 0;
        }
        memcpy(r.buf + r.len, data + at, n);
        r.len += n;
        wsmsg_result res = wsmsg_feed(m, data + at, n, binary, final);
        at += n;
        if (!final) {
            if (res != WSMSG_MORE)
                abort();
        } else {
            if (res == WSMSG_COMPLETE && r.len <= cap)
                check_complete(m, &r);
            else if (res == WSMSG_OVERSIZED)
                check_oversized(m, &r, cap);
            else
                abort(); /* NOMEM cannot happen at these sizes; COMPLETE must fit */
            r.open = false;
        }
        size_t bound = cap + 1 > 4096 ? cap + 1 : 4096;
        if (wsmsg_capacity(m) > bound)
            abort();
    }
    wsmsg_free(m);
    free(r.buf);
    return 0;
}
