/*
 * fuzz_control.c: libFuzzer harness for what crosses the control socket: the
 * snapshot an attached console decodes (snap_decode), the command the
 * instance decodes from a console (cmd_decode), and the knowledge-store
 * search request and reply (kswire_request_decode, kswire_reply_decode):
 * src/snapshot.c, src/command.c, src/kswire.c and src/wire.c. The first
 * input byte picks the decoder (odd: command; else bits 1-2: 1 search
 * request, 2 search reply, 0 or 3 snapshot); the rest is the payload.
 *
 * Contract: a refusal has a cause; an accepted payload re-encodes, and the
 * re-encoded bytes decode and encode again to the same bytes (what a peer
 * sends is what the other side reads).
 *
 * FUZZ_SOURCES: src/snapshot.c src/command.c src/kswire.c src/wire.c
 */
#include "command.h"
#include "kswire.h"
#include "snapshot.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t enc1[SNAP_WIRE_MAX], enc2[SNAP_WIRE_MAX];

static void fuzz_snapshot(const uint8_t *data, size_t size)
{
    static dd_snapshot s, t; /* large: not on the stack */
    char *cause = NULL;
    if (snap_decode(&s, data, size, &cause) != DD_OK) {
        if (!cause)
            abort();
        free(cause);
        return;
    }
    size_t n1, n2;
    if (snap_encode(&s, enc1, sizeof enc1, &n1, NULL) != DD_OK)
        abort(); /* a snapshot that decoded must fit the wire again */
    if (snap_decode(&t, enc1, n1, NULL) != DD_OK)
        abort();
    if (snap_encode(&t, enc2, sizeof enc2, &n2, NULL) != DD_OK || n1 != n2 ||
        memcmp(enc1, enc2, n1))
        abort();
}

static void fuzz_command(const uint8_t *data, size_t size)
{
    dd_command c, d;
    char *cause = NULL;
    if (cmd_decode(&c, data, size, &cause) != DD_OK) {
        if (!cause)
            abort();
        free(cause);
        return;
    }
    size_t n1, n2;
    if (cmd_encode(&c, enc1, sizeof enc1, &n1, NULL) != DD_OK)
        abort();
    if (cmd_decode(&d, enc1, n1, NULL) != DD_OK)
        abort();
    if (cmd_encode(&d, enc2, sizeof enc2, &n2, NULL) != DD_OK || n1 != n2 || memcmp(enc1, enc2, n1))
        abort();
}

static void fuzz_search_request(const uint8_t *data, size_t size)
{
    static kswire_request r, t;
    char *cause = NULL;
    if (kswire_request_decode(&r, data, size, &cause) != DD_OK) {
        if (!cause)
            abort();
        free(cause);
        return;
    }
    size_t n1, n2;
    if (kswire_request_encode(&r, enc1, sizeof enc1, &n1, NULL) != DD_OK || n1 > KSWIRE_REQUEST_MAX)
        abort(); /* what decoded keeps the limits the encoder checks */
    if (kswire_request_decode(&t, enc1, n1, NULL) != DD_OK)
        abort();
    if (kswire_request_encode(&t, enc2, sizeof enc2, &n2, NULL) != DD_OK || n1 != n2 ||
        memcmp(enc1, enc2, n1))
        abort();
}

static void fuzz_search_reply(const uint8_t *data, size_t size)
{
    kswire_reply r, t;
    char *cause = NULL;
    if (kswire_reply_decode(&r, data, size, &cause) != DD_OK) {
        if (!cause)
            abort();
        free(cause);
        return;
    }
    size_t n1, n2;
    if (kswire_reply_encode(&r, enc1, sizeof enc1, &n1, NULL) != DD_OK || n1 != size ||
        memcmp(enc1, data, size))
        abort(); /* a reply that decoded re-encodes to the same bytes, nothing left out */
    if (kswire_reply_decode(&t, enc1, n1, NULL) != DD_OK)
        abort();
    if (kswire_reply_encode(&t, enc2, sizeof enc2, &n2, NULL) != DD_OK || n1 != n2 ||
        memcmp(enc1, enc2, n1))
        abort();
    kswire_reply_clear(&r);
    kswire_reply_clear(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_command(data + 1, size - 1);
    else if ((data[0] & 6) == 2)
        fuzz_search_request(data + 1, size - 1);
    else if ((data[0] & 6) == 4)
        fuzz_search_reply(data + 1, size - 1);
    else
        fuzz_snapshot(data + 1, size - 1);
    return 0;
}
