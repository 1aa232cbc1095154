/* test_wsmsg.c: WebSocket message reassembly: fragments, chunked frames,
 * empty final frames, the size cap and its dead-letter head. */
#include "wsmsg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void single_frame_is_complete(void **state)
{
    (void)state;
    wsmsg *m = wsmsg_new(64);
    assert_int_equal(wsmsg_feed(m, "{\"x\":1}", 7, false, true), WSMSG_COMPLETE);
    size_t n;
    assert_string_equal(wsmsg_data(m, &n), "{\"x\":1}");
    assert_int_equal(n, 7);
    assert_false(wsmsg_binary(m));
    wsmsg_free(m);
}

static void fragments_join_and_empty_final_frame_ends(void **state)
{
    (void)state;
    wsmsg *m = wsmsg_new(64);
    assert_int_equal(wsmsg_feed(m, "{\"x\":", 5, true, false), WSMSG_MORE);
    /* binary flag of later chunks is ignored: the first frame decides */
    assert_int_equal(wsmsg_feed(m, "{\"y\"", 0, false, false), WSMSG_MORE);
    assert_int_equal(wsmsg_feed(m, "42}", 3, false, false), WSMSG_MORE);
    assert_int_equal(wsmsg_feed(m, NULL, 0, false, true), WSMSG_COMPLETE);
    size_t n;
    assert_string_equal(wsmsg_data(m, &n), "{\"x\":42}");
    assert_true(wsmsg_binary(m));
    /* the next feed starts a new message */
    assert_int_equal(wsmsg_feed(m, "[]", 2, false, true), WSMSG_COMPLETE);
    assert_string_equal(wsmsg_data(m, &n), "[]");
    assert_false(wsmsg_binary(m));
    wsmsg_free(m);
}

static void empty_message_is_complete_and_empty(void **state)
{
    (void)state;
    wsmsg *m = wsmsg_new(8);
    assert_int_equal(wsmsg_feed(m, NULL, 0, false, true), WSMSG_COMPLETE);
    size_t n;
    assert_string_equal(wsmsg_data(m, &n), "");
    assert_int_equal(n, 0);
    wsmsg_free(m);
}

static void message_at_cap_passes_one_over_is_refused_with_head(void **state)
{
    (void)state;
    size_t cap = 1000;
    char *big = malloc(cap + 1);
    for (size_t i = 0; i < cap + 1; i++)
        big[i] = (char)('a' + i % 26);
    wsmsg *m = wsmsg_new(cap);
    assert_int_equal(wsmsg_feed(m, big, cap, false, true), WSMSG_COMPLETE);
    assert_true(wsmsg_capacity(m) <= cap + 1);
    /* over the cap across chunks: refused at the final chunk, head kept */
    assert_int_equal(wsmsg_feed(m, big, 600, false, false), WSMSG_MORE);
    assert_int_equal(wsmsg_feed(m, big + 600, 401, false, false), WSMSG_MORE);
    assert_int_equal(wsmsg_feed(m, NULL, 0, false, true), WSMSG_OVERSIZED);
    size_t n;
    const char *head = wsmsg_data(m, &n);
    assert_int_equal(n, WSMSG_HEAD_BYTES);
    assert_memory_equal(head, big, WSMSG_HEAD_BYTES);
    assert_int_equal(wsmsg_total(m), cap + 1);
    /* the stream goes on */
    assert_int_equal(wsmsg_feed(m, "{}", 2, false, true), WSMSG_COMPLETE);
    assert_string_equal(wsmsg_data(m, &n), "{}");
    assert_true(wsmsg_capacity(m) <= cap + 1);
    wsmsg_free(m);
    free(big);
}

static void oversized_first_chunk_keeps_head(void **state)
{
    (void)state;
    char buf[40];
    memset(buf, 'z', sizeof buf);
    wsmsg *m = wsmsg_new(16);
    assert_int_equal(wsmsg_feed(m, buf, sizeof buf, true, true), WSMSG_OVERSIZED);
    size_t n;
    wsmsg_data(m, &n);
    assert_int_equal(n, sizeof buf); /* under WSMSG_HEAD_BYTES: all of it is the head */
    assert_int_equal(wsmsg_total(m), sizeof buf);
    wsmsg_free(m);
}

static void abort_drops_a_message_in_progress(void **state)
{
    (void)state;
    wsmsg *m = wsmsg_new(64);
    assert_int_equal(wsmsg_abort(m), 0);
    wsmsg_feed(m, "{\"a\"", 4, false, false);
    assert_int_equal(wsmsg_abort(m), 4);
    assert_int_equal(wsmsg_feed(m, "1", 1, false, true), WSMSG_COMPLETE);
    size_t n;
    assert_string_equal(wsmsg_data(m, &n), "1");
    wsmsg_free(m);
}

static void bad_arguments(void **state)
{
    (void)state;
    assert_null(wsmsg_new(0));
    wsmsg_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_frame_is_complete),
        cmocka_unit_test(fragments_join_and_empty_final_frame_ends),
        cmocka_unit_test(empty_message_is_complete_and_empty),
        cmocka_unit_test(message_at_cap_passes_one_over_is_refused_with_head),
        cmocka_unit_test(oversized_first_chunk_keeps_head),
        cmocka_unit_test(abort_drops_a_message_in_progress),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
