/*
 * test_adwin.c: ADWIN through the drift.h interface and its own API: detects
 * an abrupt change soon after it and not before, stays quiet on stationary
 * streams, resets, keeps O(log W) memory, and checks its parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "adwin.h"
#include "drift.h"
#include "rng.h"

/* The cut search's fast bound is file-local: the test compiles adwin.c in to
 * check it against the exact test (the library's copy is then not linked). */
#include "adwin.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void assert_near(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
}

static drift_detector *new_adwin(void)
{
    char *cause = NULL;
    drift_detector *d = drift_new("adwin", &cause);
    assert_non_null(d);
    assert_null(cause);
    return d;
}

/* Feeds a Bernoulli stream whose rate jumps from p0 to p1 at `change`; returns
 * the first drift index, or -1. Counts drifts before the change in *early. */
static long bernoulli_first_drift(drift_detector *d, uint64_t seed, double p0, double p1,
                                  long change, long n, int *early)
{
    rng_t r;
    rng_seed(&r, seed);
    *early = 0;
    for (long i = 0; i < n; i++) {
        double x = rng_uniform(&r) < (i < change ? p0 : p1) ? 1.0 : 0.0;
        if (drift_update(d, x) == DRIFT_DRIFT) {
            if (i < change)
                (*early)++;
            else
                return i;
        }
    }
    return -1;
}

static void test_detects_bernoulli_change_within_200(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        drift_detector *d = new_adwin();
        int early = 0;
        long at = bernoulli_first_drift(d, seed, 0.2, 0.8, 1000, 3000, &early);
        if (early != 0 || at < 1000 || at >= 1200)
            fail_msg("seed %llu: %d early alarms, first drift at %ld (want [1000, 1200))",
                     (unsigned long long)seed, early, at);
        drift_free(d);
    }
}

static void test_detects_gaussian_mean_shift(void **state)
{
    (void)state;
    drift_detector *d = new_adwin();
    rng_t r;
    rng_seed(&r, 99);
    long at = -1;
    for (long i = 0; i < 4000 && at < 0; i++) {
        double x = (i < 2000 ? 0.0 : 1.0) + rng_normal(&r);
        if (drift_update(d, x) == DRIFT_DRIFT) {
            assert_true(i >= 2000);
            at = i;
        }
    }
    assert_true(at >= 2000 && at < 2300);
    drift_free(d);
}

/* ADWIN's delta bounds the chance of a false cut at each check; over
 * n / clock checks the expected number is at most delta * n / clock. */
static void test_stationary_false_alarms_within_bound(void **state)
{
    (void)state;
    const long n = 100000;
    const double bound = 0.002 * (double)n / 32.0; /* 6.25 */
    for (int kind = 0; kind < 2; kind++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            drift_detector *d = new_adwin();
            rng_t r;
            rng_seed(&r, 1000 + seed);
            int alarms = 0;
            for (long i = 0; i < n; i++) {
                double x = kind == 0 ? (rng_uniform(&r) < 0.3) : rng_normal(&r);
                alarms += drift_update(d, x) == DRIFT_DRIFT;
            }
            if (alarms > bound)
                fail_msg("%s seed %llu: %d false alarms in %ld values (bound %.2f)",
                         kind == 0 ? "bernoulli" : "gauss", (unsigned long long)seed, alarms, n,
                         bound);
            drift_free(d);
        }
    }
}

static void test_window_width_and_mean(void **state)
{
    (void)state;
    drift_detector *d = new_adwin();
    assert_near(drift_window_width(d), 0.0, 0.0);
    assert_near(drift_window_mean(d), 0.0, 0.0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(drift_update(d, i % 2 ? 1.0 : 0.0), DRIFT_NONE);
    assert_near(drift_window_width(d), 100.0, 0.0);
    assert_near(drift_window_mean(d), 0.5, 1e-12);
    assert_near(drift_statistic(d), 100.0, 0.0);
    char buf[160];
    int len = drift_explain(d, buf, sizeof buf);
    assert_true(len > 0 && (size_t)len < sizeof buf);
    assert_non_null(strstr(buf, "window 100"));
    assert_string_equal(drift_kind(d), "adwin");
    drift_free(d);
}

static void test_window_shrinks_at_drift_then_restarts(void **state)
{
    (void)state;
    drift_detector *d = new_adwin();
    for (int i = 0; i < 1000; i++)
        drift_update(d, 0.0);
    long at = -1;
    for (int i = 1000; i < 2000 && at < 0; i++)
        if (drift_update(d, 1.0) == DRIFT_DRIFT)
            at = i;
    assert_true(at >= 1000);
    /* The cut dropped most of the old values: the 24 new ones seen at the
     * first check (index 1023) are about half of the window kept. */
    assert_int_equal(at, 1023);
    assert_true(drift_window_width(d) < 100.0);
    assert_true(drift_window_mean(d) > 0.25);
    /* River's rule: the update after a drift starts from an empty window. */
    assert_int_equal(drift_update(d, 1.0), DRIFT_NONE);
    assert_near(drift_window_width(d), 1.0, 0.0);
    drift_free(d);
}

static void test_reset_replays_identically(void **state)
{
    (void)state;
    drift_detector *d = new_adwin();
    int early = 0;
    long first = bernoulli_first_drift(d, 7, 0.2, 0.8, 1000, 3000, &early);
    assert_true(first >= 1000);
    drift_reset(d);
    assert_near(drift_window_width(d), 0.0, 0.0);
    assert_near(drift_window_mean(d), 0.0, 0.0);
    long again = bernoulli_first_drift(d, 7, 0.2, 0.8, 1000, 3000, &early);
    assert_int_equal(again, first);
    drift_free(d);
}

/* The histogram has O(log W) rows of at most M+1 buckets each. */
static void test_memory_logarithmic_after_10m_values(void **state)
{
    (void)state;
    drift_detector *d = new_adwin();
    size_t mem_small = 0;
    rng_t r;
    rng_seed(&r, 5);
    for (long i = 0; i < 10000000; i++) {
        drift_update(d, (double)(rng_u64(&r) & 1));
        if (i == 999)
            mem_small = drift_memory(d);
    }
    double w = drift_window_width(d);
    assert_true(w > 1000.0);
    /* Each row costs 2 (M+1) doubles and a counter; rows grow by doubling. */
    const double row_bytes = 2.0 * 6 * sizeof(double) + sizeof(unsigned);
    double rows_needed = log2(w / 5.0 + 1.0) + 1.0;
    size_t mem = drift_memory(d);
    printf("# adwin after 1e7 values: width %.0f, memory %zu bytes (%zu at 1e3)\n", w, mem,
           mem_small);
    assert_true((double)mem <= 512.0 + 2.0 * rows_needed * row_bytes);
    assert_true(mem < 8192);
    drift_free(d);

    /* The typed API reports the rows themselves. */
    adwin_params p;
    adwin_params_default(&p);
    adwin *a = adwin_new(&p, NULL);
    assert_non_null(a);
    for (long i = 0; i < 1000000; i++)
        adwin_update(a, 0.25);
    assert_near(adwin_width(a), 1e6, 0.0);
    assert_near(adwin_mean(a), 0.25, 1e-12);
    assert_true(adwin_rows(a) <= (size_t)ceil(log2(1e6 / 5.0 + 1.0)) + 1);
    assert_true(adwin_buckets(a) <= 5 * adwin_rows(a));
    assert_int_equal(adwin_dropped(a), 0);
    adwin_free(a);
}

/* The division-free bound must never rule out a cut River's exact test would
 * make: random candidates of every size, many close to the boundary. */
static void test_fast_bound_never_hides_a_cut(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 11);
    long ruled_out = 0, cuts = 0, checked = 0;
    for (long t = 0; t < 2000000; t++) {
        double n0 = 1.0 + (double)rng_below(&r, 1ull << (1 + rng_below(&r, 24)));
        double n1 = 1.0 + (double)rng_below(&r, 1ull << (1 + rng_below(&r, 24)));
        if (n0 < 5 || n1 < 5)
            continue;
        double p0 = rng_uniform(&r);
        double p1 = p0 + (rng_uniform(&r) - 0.5) * pow(10.0, -(double)rng_below(&r, 6));
        double var = rng_below(&r, 10) ? 0.3 * rng_uniform(&r) : 0.0;
        double dp = log(2.0 * log(n0 + n1) / 0.002);
        bool fast =
            surely_no_cut(n0, n0 * p0, n1, n1 * p1, 4.0, 2.0 * var * dp, 4.0 / 9.0 * dp * dp);
        bool exact = significant(n0, n0 * p0, n1, n1 * p1, 4.0, var, dp);
        if (fast && exact)
            fail_msg("bound ruled out a cut: n0 %.0f n1 %.0f p0 %.17g p1 %.17g var %.17g", n0, n1,
                     p0, p1, var);
        ruled_out += fast;
        cuts += exact;
        checked++;
    }
    printf("# %ld candidates: %ld ruled out by the bound, %ld cuts\n", checked, ruled_out, cuts);
    assert_true(ruled_out > checked / 2 && cuts > 1000);
}

static void test_params_checked_and_unchanged_on_error(void **state)
{
    (void)state;
    drift_detector *d = new_adwin();
    char *cause = NULL;
    assert_int_equal(drift_set_param(d, "nope", 1.0, &cause), DD_ENOTFOUND);
    assert_non_null(cause);
    assert_non_null(strstr(cause, "nope"));
    free(cause);
    cause = NULL;
    assert_int_equal(drift_set_param(d, "delta", 0.0, &cause), DD_EINVAL);
    free(cause);
    cause = NULL;
    assert_int_equal(drift_set_param(d, "delta", 1.5, NULL), DD_EINVAL);
    assert_int_equal(drift_set_param(d, "clock", 1.5, &cause), DD_EINVAL);
    assert_non_null(strstr(cause, "integer"));
    free(cause);
    assert_int_equal(drift_set_param(d, "max_buckets", 1, NULL), DD_EINVAL);
    assert_int_equal(drift_set_param(d, "delta", NAN, NULL), DD_EINVAL);

    /* Still the default detector: the reference change is found at 1055... */
    for (int i = 0; i < 10; i++)
        drift_update(d, 0.0);
    assert_near(drift_window_width(d), 10.0, 0.0);
    /* ...and a valid change applies and restarts the detector. */
    assert_int_equal(drift_set_param(d, "clock", 1, NULL), DD_OK);
    assert_near(drift_window_width(d), 0.0, 0.0);

    const drift_param_info *info = drift_params_of("adwin");
    assert_non_null(info);
    int n = 0;
    for (; info[n].name; n++)
        ;
    assert_int_equal(n, 5);
    assert_string_equal(info[0].name, "delta");
    assert_null(drift_params_of("nope"));
    cause = NULL;
    assert_null(drift_new("nope", &cause));
    assert_non_null(cause);
    free(cause);
    drift_free(d);
    drift_free(NULL);
    adwin_free(NULL);
}

static void test_nonfinite_values_ignored(void **state)
{
    (void)state;
    drift_detector *d = new_adwin();
    drift_update(d, 1.0);
    assert_int_equal(drift_update(d, NAN), DRIFT_NONE);
    assert_int_equal(drift_update(d, INFINITY), DRIFT_NONE);
    assert_near(drift_window_width(d), 1.0, 0.0);
    assert_near(drift_window_mean(d), 1.0, 0.0);
    drift_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detects_bernoulli_change_within_200),
        cmocka_unit_test(test_detects_gaussian_mean_shift),
        cmocka_unit_test(test_stationary_false_alarms_within_bound),
        cmocka_unit_test(test_window_width_and_mean),
        cmocka_unit_test(test_window_shrinks_at_drift_then_restarts),
        cmocka_unit_test(test_reset_replays_identically),
        cmocka_unit_test(test_memory_logarithmic_after_10m_values),
        cmocka_unit_test(test_fast_bound_never_hides_a_cut),
        cmocka_unit_test(test_params_checked_and_unchanged_on_error),
        cmocka_unit_test(test_nonfinite_values_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
