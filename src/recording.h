/*
 * recording.h: the envelope format of `driftdeck record` files, written by
 * the recorder and read back by the file source, so that a recorded live
 * session replays exactly as it ran.
 *
 * A recording is JSON Lines. Its first line is a header,
 *   {"driftdeck_recording":1,"source":"ws://...","started":1700000000.5}
 * and every other line holds one received message with its receive time:
 *   {"recv_ts":1700000000.125,"msg":<the message, verbatim>}
 *       when the message is valid JSON on one line (arrays included);
 *   {"recv_ts":...,"raw":"<the text, JSON-escaped>"}
 *       for a text message that is not valid JSON (or spans lines);
 *   {"recv_ts":...,"raw_b64":"<base64>","binary":true|false}
 *       for a binary message or text that is not valid UTF-8.
 * Replaying hands the same bytes, binary flag and receive time to ingest
 * as the live session did: malformed messages fail the same way, arrays
 * fan out the same way, events without ts get the same time.
 */
#ifndef DD_RECORDING_H
#define DD_RECORDING_H

#include "dd.h"

#include <stdbool.h>
#include <stddef.h>

#define RECORDING_VERSION 1

/* Returns a new header line (ending in '\n') for a recording of source
 * (copied into the line), or NULL on no memory. Caller frees. */
char *recording_header(const char *source, double started, size_t *len);

/* Returns a new envelope line (ending in '\n') for one message, or NULL on
 * no memory. Caller frees. */
char *recording_line(const char *buf, size_t len, bool binary, double recv_ts, size_t *out_len);

/* True if line (len bytes, no newline needed) is a recording header. */
bool recording_is_header(const char *line, size_t len);

typedef struct recording_msg {
    double recv_ts;
    char *data; /* owned, NUL-terminated; free with recording_msg_clear() */
    size_t len;
    bool binary;
} recording_msg;

/* Decode one envelope line into *m. DD_EPARSE with *cause if the line is
 * not an envelope (m is left empty). */
dd_err recording_parse(const char *line, size_t len, recording_msg *m, char **cause);
void recording_msg_clear(recording_msg *m);

/* Base64 (RFC 4648, with padding). encode returns a new NUL-terminated
 * string; decode returns the byte count or -1 on bad input (out must hold
 * 3 * (len / 4) bytes). */
char *recording_b64_encode(const void *data, size_t len);
long recording_b64_decode(const char *in, size_t len, unsigned char *out);

/* True if buf is valid UTF-8 (RFC 3629: no overlongs, no surrogates). */
bool recording_utf8_valid(const char *buf, size_t len);

#endif
