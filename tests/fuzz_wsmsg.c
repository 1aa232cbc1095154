/*
 * fuzz_wsmsg.c: libFuzzer harness for WebSocket message reassembly and the
 * recording envelope. Build: make fuzz_wsmsg (clang-14, libclang-rt-14-dev);
 * run: ./fuzz_wsmsg -max_total_time=60.
 *
 * The input is a script of chunks: a flag byte (bit 0: final, bit 1:
 * binary, bit 2: abort the message first), a length byte, then that many
 * bytes (fewer at the end of input). A shadow copy of the message checks:
 * a COMPLETE message is exactly the bytes fed since the last end; OVERSIZED
 * exactly when that is over the cap, with the head kept; and every complete
 * message survives a recording envelope round trip byte for byte.
 *
 * tests/fuzz/run.sh builds it with the sources named here:
 * FUZZ_SOURCES: src/wsmsg.c src/recording.c
 */
#include "recording.h"
#include "wsmsg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CAP 300

static void check_envelope(const char *data, size_t len, bool binary)
{
    size_t n;
    char *line = recording_line(data, len, binary, 1.5, &n);
    if (!line)
        return;
    if (n == 0 || line[n - 1] != '\n' || memchr(line, '\n', n - 1))
        abort();
    recording_msg m;
    if (recording_parse(line, n - 1, &m, NULL) != DD_OK || m.len != len ||
        (len && memcmp(m.data, data, len)) || m.binary != binary)
        abort();
    recording_msg_clear(&m);
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    wsmsg *m = wsmsg_new(CAP);
    static char shadow[1 << 17];
    size_t slen = 0;
    bool sbin = false, started = false;
    size_t i = 0;
    while (m && i + 2 <= size) {
        uint8_t flags = in[i], len = in[i + 1];
        i += 2;
        size_t n = len <= size - i ? len : size - i;
        if (flags & 4) {
            if (wsmsg_abort(m) != (started ? slen : 0))
                abort();
            slen = 0;
            started = false;
        }
        if (!started)
            sbin = flags & 2;
        started = true;
        memcpy(shadow + slen, in + i, n);
        slen += n;
        wsmsg_result r = wsmsg_feed(m, in + i, n, flags & 2, flags & 1);
        i += n;
        size_t got;
        const char *data = wsmsg_data(m, &got);
        if (r == WSMSG_MORE) {
            if (flags & 1)
                abort();
            continue;
        }
        if (!(flags & 1) || wsmsg_total(m) != slen || wsmsg_binary(m) != sbin)
            abort();
        if (r == WSMSG_COMPLETE && (slen > CAP || got != slen || memcmp(data, shadow, slen)))
            abort();
        if (r == WSMSG_OVERSIZED &&
            (slen <= CAP || got != (slen < WSMSG_HEAD_BYTES ? slen : WSMSG_HEAD_BYTES) ||
             memcmp(data, shadow, got)))
            abort();
        if (r == WSMSG_COMPLETE)
            check_envelope(data, got, sbin);
        if (wsmsg_capacity(m) > CAP + 1 && wsmsg_capacity(m) > WSMSG_HEAD_BYTES + 1)
            abort();
        slen = 0;
        started = false;
    }
    wsmsg_free(m);
    return 0;
}
