/*
 * test_kswin.c: KSWIN with its own seeded sampler: quiet on stationary
 * streams within what alpha implies, detects a change of mean and of spread,
 * replays identically after a reset, and keeps bounded memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "drift.h"
#include "kswin.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Each test is exact, so under no change P(p <= alpha) <= alpha: the
 * expected number of false alarms is at most alpha times the tests run. */
static void test_stationary_false_alarms_within_alpha(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        kswin_params p;
        kswin_params_default(&p);
        kswin *k = kswin_new(&p, NULL);
        assert_non_null(k);
        rng_t r;
        rng_seed(&r, 2024 + kind);
        int alarms = 0, tests = 0;
        for (long i = 0; i < 100000; i++) {
            double x = kind == 0 ? rng_normal(&r) : rng_uniform(&r);
            bool drift = kswin_update(k, x);
            tests += kswin_tested(k);
            if (drift) {
                alarms++;
                kswin_reset(k);
            }
        }
        printf("# kswin stationary %s: %d false alarms in %d tests (alpha bound %.0f)\n",
               kind == 0 ? "gauss" : "uniform", alarms, tests, p.alpha * tests);
        assert_true(alarms <= p.alpha * tests);
        kswin_free(k);
    }
}

static long first_drift(drift_detector *d, uint64_t seed, double mu1, double sd1)
{
    rng_t r;
    rng_seed(&r, seed);
    for (long i = 0; i < 3000; i++) {
        double x = i < 1500 ? rng_normal(&r) : mu1 + sd1 * rng_normal(&r);
        if (drift_update(d, x) == DRIFT_DRIFT && i >= 1500)
            return i;
    }
    return -1;
}

static void test_detects_change_of_mean_and_spread(void **state)
{
    (void)state;
    drift_detector *d = drift_new("kswin", NULL);
    long at = first_drift(d, 1, 1.5, 1.0);
    assert_true(at >= 1500 && at < 1600);
    drift_reset(d);
    at = first_drift(d, 2, 0.0, 4.0);
    assert_true(at >= 1500 && at < 1600);
    assert_true(drift_statistic(d) > 0.1);
    drift_value v[2];
    assert_int_equal(drift_values(d, v, 2), 2);
    assert_true(v[1].value <= 0.005);
    drift_free(d);
}

static void test_reset_reseeds_and_replays(void **state)
{
    (void)state;
    kswin_params p;
    kswin_params_default(&p);
    p.seed = 7;
    kswin *k = kswin_new(&p, NULL);
    double first[300];
    rng_t r;
    rng_seed(&r, 9);
    double xs[300];
    for (int i = 0; i < 300; i++)
        xs[i] = rng_normal(&r);
    for (int i = 0; i < 300; i++) {
        kswin_update(k, xs[i]);
        first[i] = kswin_p_value(k);
    }
    assert_int_equal(kswin_count(k), 100);
    kswin_reset(k);
    assert_int_equal(kswin_count(k), 0);
    assert_false(kswin_tested(k));
    for (int i = 0; i < 300; i++) {
        kswin_update(k, xs[i]);
        if (kswin_p_value(k) != first[i])
            fail_msg("p-value at %d differs after reset", i);
    }
    /* Memory is the window and scratch, whatever the stream length. */
    size_t mem = kswin_memory(k);
    for (int i = 0; i < 10000; i++)
        kswin_update(k, rng_normal(&r));
    assert_int_equal(kswin_memory(k), mem);
    assert_true(mem < 2048);
    kswin_free(k);
    kswin_free(NULL);
}

static void test_params_checked(void **state)
{
    (void)state;
    kswin_params p;
    kswin_params_default(&p);
    p.stat_size = 60;
    assert_null(kswin_new(&p, NULL));
    kswin_params_default(&p);
    p.alpha = 0.0;
    char *cause = NULL;
    assert_null(kswin_new(&p, &cause));
    assert_non_null(cause);
    free(cause);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stationary_false_alarms_within_alpha),
        cmocka_unit_test(test_detects_change_of_mean_and_spread),
        cmocka_unit_test(test_reset_reseeds_and_replays),
        cmocka_unit_test(test_params_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
