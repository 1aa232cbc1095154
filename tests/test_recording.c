/* test_recording.c: the recording envelope round-trips every kind of
 * message byte for byte (valid JSON verbatim, arrays, malformed text,
 * binary, invalid UTF-8), and plain event lines are not envelopes. */
#include "recording.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void roundtrip(const char *buf, size_t len, bool binary, const char *want_key)
{
    size_t n;
    char *line = recording_line(buf, len, binary, 1700000000.25, &n);
    assert_non_null(line);
    assert_int_equal(line[n - 1], '\n');
    assert_null(memchr(line, '\n', n - 1)); /* one line, whatever the message */
    assert_non_null(strstr(line, want_key));
    recording_msg m;
    char *cause = NULL;
    assert_int_equal(recording_parse(line, n - 1, &m, &cause), DD_OK);
    assert_int_equal(m.len, len);
    assert_memory_equal(m.data, buf, len);
    assert_int_equal(m.binary, binary);
    assert_true(m.recv_ts > 1700000000.24 && m.recv_ts < 1700000000.26);
    recording_msg_clear(&m);
    free(line);
}

static void valid_json_is_kept_verbatim(void **state)
{
    (void)state;
    const char *ev = "{\"id\":\"e-1\", \"x\":{\"t\":1.0000000000000002e-3},\"y\":1}";
    roundtrip(ev, strlen(ev), false, "\"msg\":{\"id\":\"e-1\", \"x\"");
    const char *arr = "[{\"x\":{\"a\":1}},{\"x\":{\"a\":2}}]";
    roundtrip(arr, strlen(arr), false, "\"msg\":[");
}

static void malformed_text_is_kept_raw(void **state)
{
    (void)state;
    const char *bad = "{\"x\": {\"a\": 1,,}} \"quoted\" \\ tab\t";
    roundtrip(bad, strlen(bad), false, "\"raw\":");
    const char *multi = "{\"x\":\n{\"a\":1}}"; /* valid JSON on two lines: raw keeps one line */
    roundtrip(multi, strlen(multi), false, "\"raw\":");
    roundtrip("", 0, false, "\"raw\":");
}

static void binary_and_invalid_utf8_are_base64(void **state)
{
    (void)state;
    const char bin[] = {0, 1, 2, (char)0xff, (char)0xfe, '{', '}'};
    roundtrip(bin, sizeof bin, true, "\"raw_b64\":");
    const char *latin1 = "{\"x\":{\"caf\xe9\":1}}";
    roundtrip(latin1, strlen(latin1), false, "\"raw_b64\":");
    const char nul[] = {'{', '}', 0, 'a'};
    roundtrip(nul, sizeof nul, false, "\"raw_b64\":");
}

static void hand_edited_envelope_still_parses(void **state)
{
    (void)state;
    const char *line = "{ \"msg\": {\"x\": {\"a\": 2}}, \"recv_ts\": 5 }";
    recording_msg m;
    assert_int_equal(recording_parse(line, strlen(line), &m, NULL), DD_OK);
    assert_string_equal(m.data, "{\"x\":{\"a\":2}}");
    assert_true(m.recv_ts == 5.0);
    recording_msg_clear(&m);
}

static void plain_events_and_junk_are_not_envelopes(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"id\":\"e\",\"x\":{\"a\":1}}",
        "{\"recv_ts\":1,\"msg\":{},\"x\":{}}",
        "{\"recv_ts\":\"1\",\"msg\":{}}",
        "{\"recv_ts\":1,\"msg\":{},\"raw\":\"a\"}",
        "{\"recv_ts\":1,\"raw_b64\":\"abc\"}",
        "{\"recv_ts\":1,\"raw\":5}",
        "[1,2]",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        recording_msg m;
        char *cause = NULL;
        assert_int_equal(recording_parse(bad[i], strlen(bad[i]), &m, &cause), DD_EPARSE);
        assert_non_null(cause);
        assert_null(m.data);
        free(cause);
    }
}

static void header_line_is_recognised(void **state)
{
    (void)state;
    size_t n;
    char *h = recording_header("ws://127.0.0.1:1/\"q\"", 12.5, &n);
    assert_true(recording_is_header(h, n));
    assert_false(recording_is_header("{\"x\":{}}", 8));
    recording_msg m;
    assert_int_equal(recording_parse(h, n, &m, NULL), DD_EPARSE);
    free(h);
}

static void base64_matches_rfc4648_vectors(void **state)
{
    (void)state;
    /* RFC 4648 section 10 test vectors */
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *e = recording_b64_encode(in[i], strlen(in[i]));
        assert_string_equal(e, out[i]);
        unsigned char d[16];
        assert_int_equal(recording_b64_decode(e, strlen(e), d), (long)strlen(in[i]));
        assert_memory_equal(d, in[i], strlen(in[i]));
        free(e);
    }
    unsigned char d[16];
    assert_int_equal(recording_b64_decode("Zg=", 3, d), -1);
    assert_int_equal(recording_b64_decode("Z===", 4, d), -1);
    assert_int_equal(recording_b64_decode("Zg==Zg==", 8, d), -1);
    assert_int_equal(recording_b64_decode("Z!==", 4, d), -1);
}

static void utf8_validation(void **state)
{
    (void)state;
    assert_true(recording_utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
    assert_false(recording_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(recording_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(recording_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(recording_utf8_valid("\xe2\x82", 2));         /* truncated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_json_is_kept_verbatim),
        cmocka_unit_test(malformed_text_is_kept_raw),
        cmocka_unit_test(binary_and_invalid_utf8_are_base64),
        cmocka_unit_test(hand_edited_envelope_still_parses),
        cmocka_unit_test(plain_events_and_junk_are_not_envelopes),
        cmocka_unit_test(header_line_is_recognised),
        cmocka_unit_test(base64_matches_rfc4648_vectors),
        cmocka_unit_test(utf8_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
