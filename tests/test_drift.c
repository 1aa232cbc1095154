/*
 * test_drift.c: the drift.h dispatch and the small detectors (Page-Hinkley,
 * DDM, EDDM): each detects an abrupt change, reports its statistics, resets,
 * and checks its parameters (atomically for the ones that constrain each
 * other). Their agreement with River is in test_drift_reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "drift.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void assert_near(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
}

static drift_detector *make(const char *kind)
{
    char *cause = NULL;
    drift_detector *d = drift_new(kind, &cause);
    if (!d)
        fail_msg("%s: %s", kind, cause);
    return d;
}

/* Feeds n values from gen; returns the first index in state `want` at or
 * after `from`, or -1; counts `want` states before `from` in *early. */
static long first_state(drift_detector *d, double (*gen)(rng_t *, long), uint64_t seed, long n,
                        long from, drift_state want, int *early)
{
    rng_t r;
    rng_seed(&r, seed);
    *early = 0;
    long at = -1;
    for (long i = 0; i < n; i++) {
        drift_state s = drift_update(d, gen(&r, i));
        if (s == want && i < from)
            (*early)++;
        if (s == want && i >= from && at < 0)
            at = i;
    }
    return at;
}

static double gauss_shift_up(rng_t *r, long i)
{
    return (i < 2000 ? 0.0 : 2.0) + rng_normal(r);
}

static double gauss_shift_down(rng_t *r, long i)
{
    return (i < 2000 ? 0.0 : -2.0) + rng_normal(r);
}

static double errors_rise(rng_t *r, long i)
{
    return rng_uniform(r) < (i < 2000 ? 0.1 : 0.5) ? 1.0 : 0.0;
}

static void test_pagehinkley_detects_rise_and_fall(void **state)
{
    (void)state;
    int early;
    drift_detector *d = make("pagehinkley");
    long at = first_state(d, gauss_shift_up, 3, 3000, 2000, DRIFT_DRIFT, &early);
    assert_true(at >= 2000 && at < 2100);

    /* mode=up ignores a fall; mode=down (the string form) sees it. */
    double up = 0, down = 0;
    assert_int_equal(drift_param_parse("pagehinkley", "mode", "up", &up, NULL), DD_OK);
    assert_int_equal(drift_param_parse("pagehinkley", "mode", "down", &down, NULL), DD_OK);
    assert_int_equal(drift_set_param(d, "mode", up, NULL), DD_OK);
    at = first_state(d, gauss_shift_down, 3, 3000, 2000, DRIFT_DRIFT, &early);
    assert_int_equal(at, -1);
    assert_int_equal(drift_set_param(d, "mode", down, NULL), DD_OK);
    at = first_state(d, gauss_shift_down, 3, 3000, 2000, DRIFT_DRIFT, &early);
    assert_true(at >= 2000 && at < 2100);

    drift_value v[8];
    size_t n = drift_values(d, v, 8);
    assert_int_equal(n, 5);
    assert_string_equal(v[0].name, "n");
    assert_string_equal(v[4].name, "threshold");
    assert_near(v[4].value, 50.0, 0.0);
    drift_free(d);
}

static void test_pagehinkley_statistic_and_reset(void **state)
{
    (void)state;
    drift_detector *d = make("pagehinkley");
    assert_int_equal(drift_set_param(d, "threshold", 5, NULL), DD_OK);
    assert_int_equal(drift_set_param(d, "min_instances", 10, NULL), DD_OK);
    for (int i = 0; i < 50; i++)
        assert_int_equal(drift_update(d, 1.0), DRIFT_NONE);
    /* A constant stream: U falls by delta each step, so the rise is 0. */
    assert_near(drift_statistic(d), 0.0, 1e-12);
    long at = -1;
    for (int i = 50; i < 200 && at < 0; i++)
        if (drift_update(d, 3.0) == DRIFT_DRIFT)
            at = i;
    assert_true(at > 50 && at < 60);
    assert_true(drift_statistic(d) > 5.0);
    char buf[200];
    assert_true(drift_explain(d, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "pagehinkley"));
    drift_reset(d);
    assert_near(drift_statistic(d), 0.0, 0.0);
    drift_value v[5];
    drift_values(d, v, 5);
    assert_near(v[0].value, 0.0, 0.0); /* n */
    drift_free(d);
}

static void test_ddm_warns_then_drifts_on_error_rise(void **state)
{
    (void)state;
    int early;
    drift_detector *d = make("ddm");
    long warn = first_state(d, errors_rise, 11, 4000, 2000, DRIFT_WARNING, &early);
    drift_reset(d);
    long at = first_state(d, errors_rise, 11, 4000, 2000, DRIFT_DRIFT, &early);
    assert_int_equal(early, 0);
    assert_true(warn >= 2000 && warn <= at);
    assert_true(at >= 2000 && at < 2200);
    drift_free(d);

    /* River's test: an all-error stream never drifts. */
    d = make("ddm");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(drift_update(d, 1.0), DRIFT_NONE);
    drift_free(d);
}

static void test_eddm_detects_errors_coming_closer(void **state)
{
    (void)state;
    int early;
    drift_detector *d = make("eddm");
    long at = first_state(d, errors_rise, 5, 4000, 2000, DRIFT_DRIFT, &early);
    assert_true(at >= 2000 && at < 2300);
    /* At the drift the distance ratio is under beta. */
    drift_reset(d);
    rng_t r;
    rng_seed(&r, 5);
    for (long i = 0; i <= at; i++)
        drift_update(d, errors_rise(&r, i));
    assert_true(drift_statistic(d) < 0.9);
    drift_value v[4];
    assert_int_equal(drift_values(d, v, 4), 3);
    assert_string_equal(v[2].name, "ratio");
    drift_free(d);
}

static void test_set_params_atomic_for_linked_parameters(void **state)
{
    (void)state;
    drift_detector *d = make("eddm");
    char *cause = NULL;
    /* One by one, alpha = 0.8 would fall below the default beta 0.9... */
    assert_int_equal(drift_set_param(d, "alpha", 0.8, &cause), DD_EINVAL);
    assert_non_null(strstr(cause, "beta"));
    free(cause);
    /* ...together they are fine. */
    const char *names[] = {"alpha", "beta"};
    const double values[] = {0.8, 0.75};
    assert_int_equal(drift_set_params(d, names, values, 2, NULL), DD_OK);
    /* A bad name anywhere leaves everything unchanged. */
    const char *bad[] = {"beta", "nope"};
    const double bad_values[] = {0.5, 1};
    assert_int_equal(drift_set_params(d, bad, bad_values, 2, NULL), DD_ENOTFOUND);
    drift_free(d);

    d = make("kswin");
    const char *kn[] = {"stat_size", "window_size"};
    const double kv[] = {100, 200};
    assert_int_equal(drift_set_param(d, "stat_size", 100, NULL), DD_EINVAL);
    assert_int_equal(drift_set_params(d, kn, kv, 2, NULL), DD_OK);
    drift_free(d);
}

static void test_param_parse(void **state)
{
    (void)state;
    double v = -1;
    char *cause = NULL;
    assert_int_equal(drift_param_parse("adwin", "delta", "0.01", &v, NULL), DD_OK);
    assert_near(v, 0.01, 0.0);
    assert_int_equal(drift_param_parse("adwin", "delta", "abc", &v, &cause), DD_EPARSE);
    assert_non_null(strstr(cause, "abc"));
    assert_near(v, 0.01, 0.0);
    assert_int_equal(drift_param_parse("adwin", "delta", "", &v, NULL), DD_EPARSE);
    assert_int_equal(drift_param_parse("adwin", "delta", "2", &v, NULL), DD_EINVAL);
    assert_int_equal(drift_param_parse("adwin", "delta", "nan", &v, NULL), DD_EINVAL);
    assert_int_equal(drift_param_parse("adwin", "clock", "3.5", &v, NULL), DD_EINVAL);
    assert_int_equal(drift_param_parse("adwin", "mode", "up", &v, NULL), DD_ENOTFOUND);
    assert_int_equal(drift_param_parse("nope", "delta", "1", &v, NULL), DD_ENOTFOUND);
    assert_int_equal(drift_param_parse("pagehinkley", "mode", "sideways", &v, NULL), DD_EPARSE);
    assert_int_equal(drift_param_parse("pagehinkley", "mode", "both", &v, NULL), DD_OK);
    assert_near(v, 0.0, 0.0);
    free(cause);
}

static void test_every_kind_has_a_table_and_explains(void **state)
{
    (void)state;
    const char *kinds[] = {"adwin", "pagehinkley", "ddm", "eddm", "kswin"};
    for (size_t k = 0; k < DD_ARRAY_LEN(kinds); k++) {
        const drift_param_info *p = drift_params_of(kinds[k]);
        assert_non_null(p);
        drift_detector *d = make(kinds[k]);
        assert_string_equal(drift_kind(d), kinds[k]);
        for (; p->name; p++) {
            assert_true(p->min <= p->def && p->def <= p->max);
            assert_non_null(p->help);
            /* Setting each default again is accepted. */
            assert_int_equal(drift_set_param(d, p->name, p->def, NULL), DD_OK);
        }
        char buf[8];
        int len = drift_explain(d, buf, sizeof buf); /* truncated, still terminated */
        assert_true(len > 0);
        assert_int_equal(strlen(buf), 7);
        assert_true(drift_memory(d) > 0);
        for (int i = 0; i < 10; i++)
            drift_update(d, i % 2);
        assert_int_equal(drift_update(d, NAN), DRIFT_NONE);
        assert_int_equal(drift_nonfinite(d), 1);
        drift_free(d);
    }
}

static double mixed_stream(rng_t *r, long i)
{
    /* 0/1 values (for DDM and EDDM too) whose rate rises twice. */
    double p = i < 1000 ? 0.2 : i < 2500 ? 0.5 : 0.95;
    return rng_uniform(r) < p ? 1.0 : 0.0;
}

/* A restored detector continues exactly as the original. */
static void test_snapshot_round_trip_continues_identically(void **state)
{
    (void)state;
    const char *kinds[] = {"adwin", "pagehinkley", "ddm", "eddm", "kswin"};
    for (size_t k = 0; k < DD_ARRAY_LEN(kinds); k++) {
        drift_detector *a = make(kinds[k]);
        if (!strcmp(kinds[k], "kswin"))
            assert_int_equal(drift_set_param(a, "seed", 5, NULL), DD_OK);
        rng_t r;
        rng_seed(&r, 21);
        for (long i = 0; i < 1700; i++)
            drift_update(a, mixed_stream(&r, i));
        drift_update(a, NAN);
        ser_writer w = {0};
        drift_serialize(a, &w);
        assert_false(w.failed);
        ser_reader rd;
        ser_reader_init(&rd, w.buf, w.len);
        drift_detector *b = NULL;
        char *cause = NULL;
        if (drift_deserialize(&rd, &b, &cause) != DD_OK)
            fail_msg("%s: %s", kinds[k], cause);
        assert_int_equal(rd.at, w.len);
        assert_int_equal(drift_nonfinite(b), 1);
        int alarms = 0;
        for (long i = 1700; i < 4000; i++) {
            double x = mixed_stream(&r, i);
            drift_state sa = drift_update(a, x), sb = drift_update(b, x);
            if (sa != sb || drift_statistic(a) != drift_statistic(b))
                fail_msg("%s: restored detector differs at %ld", kinds[k], i);
            alarms += sa != DRIFT_NONE;
        }
        drift_value va[8], vb[8];
        size_t n = drift_values(a, va, 8);
        assert_int_equal(drift_values(b, vb, 8), n);
        for (size_t i = 0; i < n; i++)
            assert_memory_equal(&va[i].value, &vb[i].value, sizeof(double));
        if (alarms == 0)
            fail_msg("%s: no alarm after the snapshot", kinds[k]);
        free(w.buf);
        drift_free(a);
        drift_free(b);
    }
}

/* Every truncation and a few forgeries are refused, never read past. */
static void test_snapshot_bad_input_refused(void **state)
{
    (void)state;
    drift_detector *a = make("adwin");
    for (int i = 0; i < 500; i++)
        drift_update(a, i % 3 ? 0.0 : 1.0);
    ser_writer w = {0};
    drift_serialize(a, &w);
    drift_detector *b = NULL;
    for (size_t len = 0; len < w.len; len++) {
        ser_reader rd;
        ser_reader_init(&rd, w.buf, len);
        assert_int_equal(drift_deserialize(&rd, &b, NULL), DD_ECORRUPT);
        assert_null(b);
    }
    /* The format version is the second word. */
    unsigned char *buf = malloc(w.len);
    memcpy(buf, w.buf, w.len);
    buf[4] = 99;
    ser_reader rd;
    ser_reader_init(&rd, buf, w.len);
    assert_int_equal(drift_deserialize(&rd, &b, NULL), DD_EVERSION);
    /* A window width that does not match the buckets. */
    memcpy(buf, w.buf, w.len);
    size_t width_at = w.len - 5 * 8; /* width, total, variance, until_check, dropped */
    buf[width_at + 7] ^= 0x10;
    ser_reader_init(&rd, buf, w.len);
    char *cause = NULL;
    assert_int_equal(drift_deserialize(&rd, &b, &cause), DD_ECORRUPT);
    assert_non_null(strstr(cause, "adwin"));
    free(cause);
    /* An unknown kind. */
    memcpy(buf, w.buf, w.len);
    buf[12] = 'X'; /* the first letter of "adwin" */
    ser_reader_init(&rd, buf, w.len);
    assert_int_equal(drift_deserialize(&rd, &b, NULL), DD_ECORRUPT);
    free(buf);
    free(w.buf);
    drift_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pagehinkley_detects_rise_and_fall),
        cmocka_unit_test(test_pagehinkley_statistic_and_reset),
        cmocka_unit_test(test_ddm_warns_then_drifts_on_error_rise),
        cmocka_unit_test(test_eddm_detects_errors_coming_closer),
        cmocka_unit_test(test_set_params_atomic_for_linked_parameters),
        cmocka_unit_test(test_param_parse),
        cmocka_unit_test(test_every_kind_has_a_table_and_explains),
        cmocka_unit_test(test_snapshot_round_trip_continues_identically),
        cmocka_unit_test(test_snapshot_bad_input_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
