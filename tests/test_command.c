/*
 * test_command.c: commands survive the wire, and bad bytes are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "command.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dd_command sample(void)
{
    dd_command c;
    memset(&c, 0, sizeof c);
    c.kind = CMD_ROLLBACK;
    c.id = 42;
    c.version = 7;
    c.speed = -1.5;
    snprintf(c.format, sizeof c.format, "html");
    snprintf(c.user, sizeof c.user, "alice");
    c.view.replay_offset = 96;
    c.view.detail_version = 3;
    snprintf(c.view.log_filter, sizeof c.view.log_filter, "drift");
    return c;
}

static void round_trip_keeps_every_field(void **state)
{
    (void)state;
    dd_command c = sample(), d;
    uint8_t buf[CMD_WIRE_MAX];
    size_t len = 0;
    for (int k = CMD_PAUSE; k < CMD__END; k++) {
        c.kind = (uint8_t)k;
        assert_int_equal(cmd_encode(&c, buf, sizeof buf, &len, NULL), DD_OK);
        assert_int_equal(cmd_decode(&d, buf, len, NULL), DD_OK);
        assert_int_equal(d.kind, k);
        assert_int_equal(d.id, 42);
        assert_int_equal(d.version, 7);
        assert_true(d.speed == -1.5);
        assert_string_equal(d.format, "html");
        assert_string_equal(d.user, "alice");
        assert_int_equal(d.view.replay_offset, 96);
        assert_int_equal(d.view.detail_version, 3);
        assert_string_equal(d.view.log_filter, "drift");
        assert_string_not_equal(cmd_kind_name((cmd_kind)k), "?");
    }
}

static void longest_strings_fit_the_bound(void **state)
{
    (void)state;
    dd_command c = sample(), d;
    memset(c.format, 'f', sizeof c.format - 1);
    memset(c.user, 'u', sizeof c.user - 1);
    memset(c.view.log_filter, 'l', sizeof c.view.log_filter - 1);
    uint8_t buf[CMD_WIRE_MAX];
    size_t len = 0;
    assert_int_equal(cmd_encode(&c, buf, sizeof buf, &len, NULL), DD_OK);
    assert_int_equal(cmd_decode(&d, buf, len, NULL), DD_OK);
    assert_string_equal(d.view.log_filter, c.view.log_filter);
    assert_int_equal(cmd_encode(&c, buf, 20, &len, NULL), DD_EFULL);
}

static void bad_bytes_are_refused(void **state)
{
    (void)state;
    dd_command c = sample(), d;
    uint8_t buf[CMD_WIRE_MAX];
    size_t len = 0;
    assert_int_equal(cmd_encode(&c, buf, sizeof buf, &len, NULL), DD_OK);
    for (size_t cut = 0; cut < len; cut++) {
        char *cause = NULL;
        assert_int_equal(cmd_decode(&d, buf, cut, &cause), DD_EPARSE);
        assert_non_null(cause);
        free(cause);
    }
    buf[1] = 200; /* unknown kind */
    assert_int_equal(cmd_decode(&d, buf, len, NULL), DD_EPARSE);
    buf[1] = 0;
    assert_int_equal(cmd_decode(&d, buf, len, NULL), DD_EPARSE);
    c.speed = NAN;
    assert_int_equal(cmd_encode(&c, buf, sizeof buf, &len, NULL), DD_OK);
    assert_int_equal(cmd_decode(&d, buf, len, NULL), DD_EPARSE);
    c.speed = 1.0;
    assert_int_equal(cmd_encode(&c, buf, sizeof buf, &len, NULL), DD_OK);
    assert_int_equal(cmd_decode(&d, buf, len + 0, NULL), DD_OK);
    buf[len] = 1;
    assert_int_equal(cmd_decode(&d, buf, len + 1, NULL), DD_EPARSE);
}

static void dup_copies(void **state)
{
    (void)state;
    dd_command c = sample();
    dd_command *d = cmd_dup(&c);
    assert_non_null(d);
    assert_memory_equal(d, &c, sizeof c);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_keeps_every_field),
        cmocka_unit_test(longest_strings_fit_the_bound),
        cmocka_unit_test(bad_bytes_are_refused),
        cmocka_unit_test(dup_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
