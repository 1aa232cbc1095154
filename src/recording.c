/*
 * recording.c: the recording envelope (see recording.h).
 *
 * Writing never re-serializes a message: valid one-line JSON is copied
 * verbatim after "msg":, so the replayed bytes are the received bytes. On
 * reading, a line in the recorder's own layout is sliced back out of the
 * text (one parse, to validate it); a hand-edited line falls back to
 * cJSON's unformatted print, which round-trips numbers exactly.
 */
#include "recording.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *recording_b64_encode(const void *data, size_t len)
{
    const unsigned char *s = data;
    size_t n = 4 * ((len + 2) / 3);
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < len)
            v |= s[i + 2];
        *o++ = b64chars[v >> 18 & 63];
        *o++ = b64chars[v >> 12 & 63];
        *o++ = i + 1 < len ? b64chars[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? b64chars[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static int b64val(char ch)
{
    const char *p = ch ? strchr(b64chars, ch) : NULL;
    return p ? (int)(p - b64chars) : -1;
}

long recording_b64_decode(const char *in, size_t len, unsigned char *out)
{
    if (len % 4)
        return -1;
    long n = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int pad = (in[i + 3] == '=') + (in[i + 2] == '=');
        if (pad && !last)
            return -1;
        if (pad == 1 && in[i + 2] == '=')
            return -1; /* "x=y=" */
        int a = b64val(in[i]), b = b64val(in[i + 1]);
        int c = pad >= 2 ? 0 : b64val(in[i + 2]), d = pad >= 1 ? 0 : b64val(in[i + 3]);
        if (a < 0 || b < 0 || c < 0 || d < 0)
            return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[n++] = (unsigned char)(v >> 16);
        if (pad < 2)
            out[n++] = (unsigned char)(v >> 8);
        if (pad < 1)
            out[n++] = (unsigned char)v;
    }
    return n;
}

bool recording_utf8_valid(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* Valid JSON per cJSON, on one line, valid UTF-8, no NUL: safe to copy verbatim. */
static bool verbatim_ok(const char *buf, size_t len)
{
    if (len == 0 || memchr(buf, '\n', len) || memchr(buf, '\r', len) || memchr(buf, '\0', len) ||
        !recording_utf8_valid(buf, len))
        return false;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!j)
        return false;
    cJSON_Delete(j);
    for (; end && end < buf + len; end++)
        if (*end != ' ' && *end != '\t')
            return false;
    return true;
}

/* Bytes needed to JSON-escape buf (without quotes). */
static size_t escaped_len(const char *buf, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        n += (ch == '"' || ch == '\\') ? 2 : ch < 0x20 ? 6 : 1;
    }
    return n;
}

static char *escape_into(char *o, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch == '"' || ch == '\\') {
            *o++ = '\\';
            *o++ = (char)ch;
        } else if (ch < 0x20) {
            snprintf(o, 7, "\\u%04x", ch);
            o += 6;
        } else {
            *o++ = (char)ch;
        }
    }
    return o;
}

char *recording_line(const char *buf, size_t len, bool binary, double recv_ts, size_t *out_len)
{
    char ts[48];
    int tn = snprintf(ts, sizeof ts, "{\"recv_ts\":%.6f,", isfinite(recv_ts) ? recv_ts : 0.0);
    char *line = NULL, *b64 = NULL;
    size_t n = 0;
    if (!binary && verbatim_ok(buf, len)) {
        n = (size_t)tn + 6 + len + 2;
        if ((line = malloc(n + 1)))
            snprintf(line, n + 1, "%s\"msg\":%.*s}\n", ts, (int)len, buf);
    } else if (!binary && !memchr(buf, '\0', len) && recording_utf8_valid(buf, len)) {
        n = (size_t)tn + 7 + escaped_len(buf, len) + 3;
        if ((line = malloc(n + 1))) {
            char *o = line + snprintf(line, n + 1, "%s\"raw\":\"", ts);
            o = escape_into(o, buf, len);
            memcpy(o, "\"}\n", 4);
        }
    } else if ((b64 = recording_b64_encode(buf, len))) {
        n = (size_t)tn + strlen(b64) + 32;
        if ((line = malloc(n + 1)))
            snprintf(line, n + 1, "%s\"raw_b64\":\"%s\",\"binary\":%s}\n", ts, b64,
                     binary ? "true" : "false");
        free(b64);
    }
    if (line)
        *out_len = strlen(line);
    return line;
}

char *recording_header(const char *source, double started, size_t *len)
{
    size_t n = escaped_len(source, strlen(source)) + 96;
    char *line = malloc(n);
    if (!line)
        return NULL;
    char *o =
        line + snprintf(line, n, "{\"driftdeck_recording\":%d,\"source\":\"", RECORDING_VERSION);
    o = escape_into(o, source, strlen(source));
    snprintf(o, n - (size_t)(o - line), "\",\"started\":%.6f}\n", started);
    *len = strlen(line);
    return line;
}

bool recording_is_header(const char *line, size_t len)
{
    static const char key[] = "{\"driftdeck_recording\":";
    if (len < sizeof key - 1 || memcmp(line, key, sizeof key - 1) != 0)
        return false;
    cJSON *j = cJSON_ParseWithLength(line, len);
    bool ok = j && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "driftdeck_recording"));
    cJSON_Delete(j);
    return ok;
}

void recording_msg_clear(recording_msg *m)
{
    free(m->data);
    memset(m, 0, sizeof *m);
}

/* The verbatim msg text of a line in the recorder's own layout, or NULL. */
static const char *slice_msg(const char *line, size_t len, size_t *n)
{
    static const char pre[] = "{\"recv_ts\":", key[] = ",\"msg\":";
    const char *p = line + sizeof pre - 1, *end = line + len;
    if (len < sizeof pre || memcmp(line, pre, sizeof pre - 1) != 0)
        return NULL;
    while (p < end && *p && strchr("0123456789+-.eE", *p))
        p++;
    if ((size_t)(end - p) < sizeof key || memcmp(p, key, sizeof key - 1) != 0)
        return NULL;
    p += sizeof key - 1;
    while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    if (end <= p || end[-1] != '}')
        return NULL;
    *n = (size_t)(end - 1 - p);
    return p;
}

static dd_err take_msg(const char *line, size_t len, const cJSON *msg, recording_msg *m,
                       char **cause)
{
    size_t n;
    const char *s = slice_msg(line, len, &n);
    m->data = s ? strndup(s, n) : cJSON_PrintUnformatted(msg);
    if (!m->data)
        return dd_fail(cause, DD_ENOMEM, "no memory");
    m->len = strlen(m->data);
    return DD_OK;
}

static dd_err take_raw(const cJSON *raw, recording_msg *m, char **cause)
{
    m->data = strdup(raw->valuestring);
    if (!m->data)
        return dd_fail(cause, DD_ENOMEM, "no memory");
    m->len = strlen(m->data);
    return DD_OK;
}

static dd_err take_b64(const cJSON *raw, const cJSON *bin, recording_msg *m, char **cause)
{
    if (!cJSON_IsString(raw))
        return dd_fail(cause, DD_EPARSE, "recording: raw_b64 is not a string");
    size_t n = strlen(raw->valuestring);
    m->data = malloc(n / 4 * 3 + 1);
    if (!m->data)
        return dd_fail(cause, DD_ENOMEM, "no memory");
    long got = recording_b64_decode(raw->valuestring, n, (unsigned char *)m->data);
    if (got < 0)
        return dd_fail(cause, DD_EPARSE, "recording: raw_b64 is not base64");
    m->data[got] = '\0';
    m->len = (size_t)got;
    m->binary = cJSON_IsTrue(bin);
    return DD_OK;
}

dd_err recording_parse(const char *line, size_t len, recording_msg *m, char **cause)
{
    memset(m, 0, sizeof *m);
    cJSON *j = cJSON_ParseWithLength(line, len);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return dd_fail(cause, DD_EPARSE, "recording: a line is not a JSON object");
    }
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(j, "recv_ts");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "msg");
    const cJSON *raw = cJSON_GetObjectItemCaseSensitive(j, "raw");
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(j, "raw_b64");
    const cJSON *bin = cJSON_GetObjectItemCaseSensitive(j, "binary");
    int members = cJSON_GetArraySize(j);
    int expect = 1 + (msg != NULL) + (raw != NULL) + (b64 != NULL) + (bin != NULL);
    dd_err err;
    if (!cJSON_IsNumber(ts) || !isfinite(ts->valuedouble) || members != expect ||
        (msg != NULL) + (raw != NULL) + (b64 != NULL) != 1)
        err = dd_fail(cause, DD_EPARSE,
                      "recording: a line is not {\"recv_ts\":N, and one of msg, raw, raw_b64}");
    else if (msg)
        err = take_msg(line, len, msg, m, cause);
    else if (raw && !cJSON_IsString(raw))
        err = dd_fail(cause, DD_EPARSE, "recording: raw is not a string");
    else if (raw)
        err = take_raw(raw, m, cause);
    else
        err = take_b64(b64, bin, m, cause);
    if (!err) {
        m->recv_ts = ts->valuedouble;
    } else {
        recording_msg_clear(m);
    }
    cJSON_Delete(j);
    return err;
}
