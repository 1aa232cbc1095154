/*
 * test_govern.c: the version state machine, table-driven. Every (from, to,
 * trigger) is tried: the allowed ones (listed here independently of
 * govern.c's table) pass, every other one is refused with DD_ESTATE and a
 * cause that names both states.
 */
#include "govern.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* "from to triggers": triggers "*" = any, else a comma list. */
static const char *const allowed[] = {
    "candidate shadow checkpoint,drift,manual",
    "candidate active start,rollback",
    "candidate rejected *",
    "shadow awaiting_approval *",
    "shadow rejected *",
    "awaiting_approval canary *",
    "awaiting_approval rejected *",
    "canary active *",
    "canary rolled_back *",
    "active retired *",
    "active rolled_back *",
};

static bool expect_allowed(gov_status from, gov_status to, gov_trigger trig)
{
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        char f[32], t[32], trigs[64];
        assert_int_equal(sscanf(allowed[i], "%31s %31s %63s", f, t, trigs), 3);
        if (strcmp(f, gov_status_name(from)) || strcmp(t, gov_status_name(to)))
            continue;
        if (!strcmp(trigs, "*"))
            return true;
        char *save = NULL;
        for (char *tok = strtok_r(trigs, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            if (!strcmp(tok, gov_trigger_name(trig)))
                return true;
        return false;
    }
    return false;
}

static void every_transition_is_checked(void **state)
{
    (void)state;
    int ok = 0, refused = 0;
    for (int f = 0; f < GOV_STATUS__COUNT; f++)
        for (int t = 0; t < GOV_STATUS__COUNT; t++)
            for (int g = 0; g < GOV_TRIGGER__COUNT; g++) {
                char *cause = NULL;
                dd_err e = govern_check((gov_status)f, (gov_status)t, (gov_trigger)g, &cause);
                if (expect_allowed((gov_status)f, (gov_status)t, (gov_trigger)g)) {
                    if (e != DD_OK)
                        fail_msg("%s -> %s (%s) refused: %s", gov_status_name(f),
                                 gov_status_name(t), gov_trigger_name(g), cause);
                    assert_null(cause);
                    ok++;
                } else {
                    if (e != DD_ESTATE)
                        fail_msg("%s -> %s (%s) was not refused", gov_status_name(f),
                                 gov_status_name(t), gov_trigger_name(g));
                    assert_non_null(cause);
                    if (f != t) {
                        assert_non_null(strstr(cause, gov_status_name(f)));
                        assert_non_null(strstr(cause, gov_status_name(t)));
                    }
                    free(cause);
                    refused++;
                }
            }
    /* 9 moves allowed for all 5 triggers, shadow for 3, straight to active for 2. */
    assert_int_equal(ok, 9 * 5 + 3 + 2);
    assert_int_equal(refused, 8 * 8 * 5 - ok);
}

static void final_states_say_so(void **state)
{
    (void)state;
    char *cause = NULL;
    assert_int_equal(govern_check(GOV_RETIRED, GOV_ACTIVE, GOV_TRIG_DRIFT, &cause), DD_ESTATE);
    assert_non_null(strstr(cause, "final"));
    free(cause);
    cause = NULL;
    assert_int_equal(govern_check(GOV_CANDIDATE, GOV_ACTIVE, GOV_TRIG_DRIFT, &cause), DD_ESTATE);
    assert_non_null(strstr(cause, "shadow"));
    free(cause);
    assert_true(gov_status_is_final(GOV_ROLLED_BACK));
    assert_false(gov_status_is_final(GOV_CANARY));
    assert_true(gov_status_is_live(GOV_CANARY));
    assert_false(gov_status_is_live(GOV_CANDIDATE));
}

static void out_of_range_is_invalid(void **state)
{
    (void)state;
    assert_int_equal(govern_check(GOV_STATUS__COUNT, GOV_ACTIVE, GOV_TRIG_DRIFT, NULL), DD_EINVAL);
    assert_int_equal(govern_check(GOV_SHADOW, GOV_ACTIVE, GOV_TRIGGER__COUNT, NULL), DD_EINVAL);
}

static void names_round_trip(void **state)
{
    (void)state;
    for (int s = 0; s < GOV_STATUS__COUNT; s++) {
        gov_status out;
        assert_int_equal(gov_status_parse(gov_status_name(s), &out), DD_OK);
        assert_int_equal(out, s);
    }
    for (int t = 0; t < GOV_TRIGGER__COUNT; t++) {
        gov_trigger out;
        assert_int_equal(gov_trigger_parse(gov_trigger_name(t), &out), DD_OK);
        assert_int_equal(out, t);
    }
    gov_status s;
    assert_int_equal(gov_status_parse("promoted", &s), DD_ENOTFOUND);
    assert_string_equal(gov_status_name(GOV_STATUS__COUNT), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_transition_is_checked),
        cmocka_unit_test(final_states_say_so),
        cmocka_unit_test(out_of_range_is_invalid),
        cmocka_unit_test(names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
