/*
 * test_watch.c: the watch points: the error stream reports every alarm with
 * its statistics, prediction and feature alerts are rate-limited per point
 * (escalation from warning to drift passes), feature detectors are capped,
 * parameters are checked per point, and the error detector resets on demand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rng.h"
#include "watch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static watch *make(const watch_params *p)
{
    char *cause = NULL;
    watch *w = watch_new(p, &cause);
    if (!w)
        fail_msg("watch_new: %s", cause);
    return w;
}

static void test_defaults(void **state)
{
    (void)state;
    watch_params p;
    watch_params_default(&p);
    assert_string_equal(p.error.detector, "adwin");
    assert_string_equal(p.prediction.detector, "pagehinkley");
    assert_string_equal(p.feature.detector, "pagehinkley");
    assert_int_equal(watch_params_check(&p, NULL), DD_OK);
    watch *w = make(&p);
    assert_string_equal(drift_kind(watch_error_detector(w)), "adwin");
    assert_string_equal(drift_kind(watch_prediction_detector(w)), "pagehinkley");
    assert_null(watch_feature_detector(w, 0));
    assert_null(watch_feature_detector(w, 1000));
    assert_true(watch_memory(w) > 0);
    watch_free(w);
    watch_free(NULL);
}

static void test_error_stream_reports_every_alarm(void **state)
{
    (void)state;
    watch_params p;
    watch_params_default(&p);
    watch *w = make(&p);
    rng_t r;
    rng_seed(&r, 1);
    long first = -1;
    for (uint64_t i = 0; i < 6000; i++) {
        watch_begin(w, 100000 + i);
        double err = rng_uniform(&r) < (i < 3000 ? 0.1 : 0.6);
        drift_state s = watch_error(w, err);
        uint32_t n;
        const watch_alarm *a = watch_alarms(w, &n);
        assert_int_equal(n, s != DRIFT_NONE);
        if (n && first < 0) {
            first = (long)i;
            assert_int_equal(a[0].point, WATCH_ERROR);
            assert_string_equal(a[0].watch, "error");
            assert_null(a[0].feature);
            assert_string_equal(a[0].detector, "adwin");
            assert_int_equal(a[0].level, DRIFT_DRIFT);
            assert_int_equal(a[0].event, 100000 + i);
            assert_true(a[0].width > 0 && a[0].width < i);
            assert_true(a[0].nvalues == 3 && !strcmp(a[0].values[0].name, "width"));
        }
    }
    assert_true(first >= 3000 && first < 3200);
    const watch_stats *st = watch_get_stats(w);
    assert_true(st->error_drifts >= 1);
    assert_int_equal(st->alerts, 0);

    /* A new active version: the error detector forgets the old one's errors. */
    assert_true(drift_window_width(watch_error_detector(w)) > 0);
    watch_reset_error(w);
    assert_true(drift_window_width(watch_error_detector(w)) == 0);
    watch_free(w);
}

static void test_error_detector_params(void **state)
{
    (void)state;
    watch_params p;
    watch_params_default(&p);
    snprintf(p.error.detector, sizeof p.error.detector, "ddm");
    snprintf(p.error.params, sizeof p.error.params, "warm_start=50,  drift_threshold=4");
    watch *w = make(&p);
    assert_string_equal(drift_kind(watch_error_detector(w)), "ddm");
    watch_free(w);
}

/* A feature whose mean jumps back and forth drifts again and again; only one
 * alert per quiet period gets through, the rest are counted. */
static void test_feature_alerts_rate_limited(void **state)
{
    (void)state;
    watch_params p;
    watch_params_default(&p);
    snprintf(p.feature.params, sizeof p.feature.params, "threshold=5, min_instances=5");
    p.feature.quiet = 1000;
    p.feature.standardize = false;
    watch *w = make(&p);
    rng_t r;
    rng_seed(&r, 2);
    uint64_t reported = 0, drifts = 0, held = 0, last = 0;
    for (uint64_t i = 0; i < 10000; i++) {
        watch_begin(w, i);
        double x = ((i / 50) % 2 ? 3.0 : 0.0) + 0.1 * rng_normal(&r);
        drifts += watch_feature(w, 3, "temp", x) == DRIFT_DRIFT;
        uint32_t n;
        const watch_alarm *a = watch_alarms(w, &n);
        for (uint32_t k = 0; k < n; k++) {
            assert_string_equal(a[k].watch, "feature");
            assert_string_equal(a[k].feature, "temp");
            assert_string_equal(a[k].detector, "pagehinkley");
            if (reported)
                assert_true(a[k].event - last >= 1000);
            held += a[k].suppressed;
            last = a[k].event;
            reported++;
        }
    }
    const watch_stats *st = watch_get_stats(w);
    printf("# noisy feature: %llu drifts, %llu alerts reported, %llu suppressed\n",
           (unsigned long long)drifts, (unsigned long long)reported,
           (unsigned long long)st->suppressed);
    assert_true(drifts > 50);
    assert_true(reported <= 10);
    assert_int_equal(st->alerts, reported);
    assert_int_equal(st->alerts + st->suppressed, drifts);
    assert_true(held <= st->suppressed);
    assert_string_equal(watch_feature_name(w, 3), "temp");
    assert_int_equal(st->features, 1);
    watch_free(w);
}

/* DDM on the prediction stream warns, then drifts within the quiet period:
 * the drift is an escalation and is reported; a second warning is not. */
static void test_escalation_passes_quiet(void **state)
{
    (void)state;
    watch_params p;
    watch_params_default(&p);
    snprintf(p.prediction.detector, sizeof p.prediction.detector, "ddm");
    p.prediction.params[0] = '\0';
    p.prediction.quiet = 100000;
    p.prediction.standardize = false; /* DDM wants the 0/1 values */
    watch *w = make(&p);
    rng_t r;
    rng_seed(&r, 3);
    int warnings = 0, drifts = 0;
    for (uint64_t i = 0; i < 4000; i++) {
        watch_begin(w, i);
        watch_prediction(w, rng_uniform(&r) < (i < 2000 ? 0.1 : 0.5));
        uint32_t n;
        const watch_alarm *a = watch_alarms(w, &n);
        for (uint32_t k = 0; k < n; k++) {
            assert_string_equal(a[k].watch, "prediction");
            if (a[k].level == DRIFT_WARNING)
                warnings++;
            else
                drifts++;
        }
    }
    assert_int_equal(warnings, 1);
    assert_int_equal(drifts, 1);
    assert_true(watch_get_stats(w)->suppressed > 0);
    watch_free(w);
}

/* Standardized, the default detector fits any scale: a stationary feature
 * in the thousands stays quiet, and a shift of one deviation is found soon. */
static void test_standardized_features_any_scale(void **state)
{
    (void)state;
    watch_params p;
    watch_params_default(&p);
    watch *w = make(&p);
    rng_t r;
    rng_seed(&r, 8);
    uint64_t quiet_alarms = 0;
    long first = -1;
    for (uint64_t i = 0; i < 40000; i++) {
        watch_begin(w, i);
        double big = 5000.0 + 1000.0 * rng_normal(&r);
        double tiny = 1e-3 * rng_normal(&r) + (i >= 20000 ? 1e-3 : 0.0);
        quiet_alarms += watch_feature(w, 0, "big", big) != DRIFT_NONE;
        if (watch_feature(w, 1, "tiny", tiny) == DRIFT_DRIFT && i >= 20000 && first < 0)
            first = (long)i;
    }
    printf("# standardized: %llu alarms on a stationary feature in 40000 values; "
           "a one-deviation shift found after %ld values\n",
           (unsigned long long)quiet_alarms, first - 20000);
    assert_true(quiet_alarms <= 4);
    assert_true(first >= 20000 && first < 20200);
    watch_free(w);
}

static void test_feature_detectors_capped(void **state)
{
    (void)state;
    watch_params p;
    watch_params_default(&p);
    p.max_features = 8;
    watch *w = make(&p);
    size_t before = watch_memory(w);
    for (uint64_t i = 0; i < 200; i++) {
        watch_begin(w, i);
        for (uint32_t slot = 0; slot < 100; slot++) {
            char name[16];
            snprintf(name, sizeof name, "f%u", slot);
            watch_feature(w, slot, name, (double)(slot % 3));
        }
    }
    const watch_stats *st = watch_get_stats(w);
    assert_int_equal(st->features, 8);
    assert_int_equal(st->unwatched, 200 * 92);
    assert_string_equal(watch_feature_name(w, 7), "f7");
    assert_null(watch_feature_name(w, 8));
    assert_true(watch_memory(w) < before + 8 * 256);
    watch_free(w);

    /* No feature watch at all. */
    p.max_features = 0;
    w = make(&p);
    assert_int_equal(watch_feature(w, 0, "x", 1.0), DRIFT_NONE);
    assert_int_equal(watch_get_stats(w)->unwatched, 1);
    watch_free(w);
    watch_params_default(&p);
    snprintf(p.feature.detector, sizeof p.feature.detector, "none");
    snprintf(p.prediction.detector, sizeof p.prediction.detector, "none");
    w = make(&p);
    assert_int_equal(watch_feature(w, 0, "x", 1.0), DRIFT_NONE);
    assert_int_equal(watch_prediction(w, 1.0), DRIFT_NONE);
    assert_null(watch_prediction_detector(w));
    assert_int_equal(watch_get_stats(w)->features, 0);
    watch_free(w);
}

static void test_kswin_on_features(void **state)
{
    (void)state;
    watch_params p;
    watch_params_default(&p);
    snprintf(p.feature.detector, sizeof p.feature.detector, "kswin");
    snprintf(p.feature.params, sizeof p.feature.params,
             "window_size=200 stat_size=50 alpha=0.0001 seed=9");
    watch *w = make(&p);
    rng_t r;
    rng_seed(&r, 4);
    long first = -1;
    for (uint64_t i = 0; i < 3000 && first < 0; i++) {
        watch_begin(w, i);
        double x = (i < 2000 ? 0.0 : 1.5) + rng_normal(&r);
        if (watch_feature(w, 0, "level", x) == DRIFT_DRIFT && i >= 2000)
            first = (long)i;
    }
    assert_true(first >= 2000 && first < 2200);
    watch_free(w);
}

/* More alarms in one event than the array holds: the rest are counted. */
static void test_alarms_beyond_capacity_counted(void **state)
{
    (void)state;
    watch_params p;
    watch_params_default(&p);
    snprintf(p.feature.params, sizeof p.feature.params, "threshold=1, min_instances=1");
    p.feature.quiet = 0;
    p.feature.standardize = false;
    watch *w = make(&p);
    for (uint64_t i = 0; i < 3; i++) {
        watch_begin(w, i);
        for (uint32_t slot = 0; slot < 20; slot++)
            watch_feature(w, slot, "f", i == 2 ? 100.0 : 0.0);
    }
    uint32_t n;
    watch_alarms(w, &n);
    assert_int_equal(n, WATCH_MAX_ALARMS);
    assert_int_equal(watch_get_stats(w)->dropped, 20 - WATCH_MAX_ALARMS);
    assert_int_equal(watch_get_stats(w)->alerts, 20);
    watch_begin(w, 3);
    watch_alarms(w, &n);
    assert_int_equal(n, 0);
    watch_free(w);
}

static void expect_bad(watch_params *p, dd_err want, const char *needle)
{
    char *cause = NULL;
    assert_int_equal(watch_params_check(p, &cause), want);
    if (!cause || !strstr(cause, needle))
        fail_msg("cause '%s' lacks '%s'", cause ? cause : "(null)", needle);
    free(cause);
    assert_null(watch_new(p, NULL));
    watch_params_default(p);
}

static void test_bad_params_name_the_watch_point(void **state)
{
    (void)state;
    watch_params p;
    watch_params_default(&p);
    snprintf(p.error.detector, sizeof p.error.detector, "nope");
    expect_bad(&p, DD_ENOTFOUND, "error watch: unknown detector 'nope'");
    snprintf(p.prediction.params, sizeof p.prediction.params, "threshold");
    expect_bad(&p, DD_EPARSE, "prediction watch: 'threshold' is not name=value");
    snprintf(p.feature.params, sizeof p.feature.params, "delta=-1");
    expect_bad(&p, DD_EINVAL, "feature watch");
    snprintf(p.feature.params, sizeof p.feature.params, "clock=3");
    expect_bad(&p, DD_ENOTFOUND, "no parameter 'clock'");
    snprintf(p.feature.detector, sizeof p.feature.detector, "eddm");
    snprintf(p.feature.params, sizeof p.feature.params, "alpha=0.5");
    expect_bad(&p, DD_EINVAL, "beta");
    snprintf(p.error.params, sizeof p.error.params, "delta=2");
    expect_bad(&p, DD_EINVAL, "delta must be in");
}

/* Feeds event i of a stream with an error rate rise, a feature jump and a
 * noisy feature; returns the alarms as a compact string for comparison. */
static void feed_event(watch *w, rng_t *r, uint64_t i, char *log, size_t n)
{
    watch_begin(w, i);
    watch_error(w, rng_uniform(r) < (i < 3000 ? 0.1 : 0.5));
    watch_prediction(w, 0.3 + 0.1 * rng_normal(r));
    watch_feature(w, 0, "level", (i < 3500 ? 10.0 : 14.0) + rng_normal(r));
    watch_feature(w, 2, "noisy", ((i / 40) % 2 ? 5.0 : 0.0) + rng_normal(r));
    uint32_t na;
    const watch_alarm *a = watch_alarms(w, &na);
    size_t len = strlen(log);
    for (uint32_t k = 0; k < na && len + 80 < n; k++)
        len += (size_t)snprintf(log + len, n - len, "%s/%s/%d/%llu/%.17g/%llu;", a[k].watch,
                                a[k].feature ? a[k].feature : "-", (int)a[k].level,
                                (unsigned long long)a[k].event, a[k].statistic,
                                (unsigned long long)a[k].suppressed);
}

static void test_snapshot_round_trip(void **state)
{
    (void)state;
    watch_params p;
    watch_params_default(&p);
    p.feature.quiet = 300;
    watch *a = make(&p);
    rng_t r;
    rng_seed(&r, 31);
    static char log_a[20000], log_b[20000];
    log_a[0] = log_b[0] = '\0';
    for (uint64_t i = 0; i < 2000; i++)
        feed_event(a, &r, i, log_a, sizeof log_a);
    ser_writer out = {0};
    watch_serialize(a, &out);
    assert_false(out.failed);
    ser_reader rd;
    ser_reader_init(&rd, out.buf, out.len);
    watch *b = NULL;
    char *cause = NULL;
    if (watch_deserialize(&rd, &b, &cause) != DD_OK)
        fail_msg("watch_deserialize: %s", cause);
    assert_int_equal(rd.at, out.len);
    assert_string_equal(watch_feature_name(b, 2), "noisy");
    assert_null(watch_feature_name(b, 1));
    log_a[0] = '\0';
    rng_t r2 = r;
    for (uint64_t i = 2000; i < 6000; i++) {
        feed_event(a, &r, i, log_a, sizeof log_a);
        feed_event(b, &r2, i, log_b, sizeof log_b);
    }
    assert_true(strstr(log_a, "error/-/2/") && strstr(log_a, "feature/level/2/"));
    assert_string_equal(log_a, log_b);
    assert_memory_equal(watch_get_stats(a), watch_get_stats(b), sizeof(watch_stats));

    /* Every truncation is refused cleanly. */
    for (size_t len = 0; len < out.len; len += 7) {
        watch *c = NULL;
        ser_reader_init(&rd, out.buf, len);
        assert_int_not_equal(watch_deserialize(&rd, &c, NULL), DD_OK);
        assert_null(c);
    }
    free(out.buf);
    watch_free(a);
    watch_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_error_stream_reports_every_alarm),
        cmocka_unit_test(test_error_detector_params),
        cmocka_unit_test(test_feature_alerts_rate_limited),
        cmocka_unit_test(test_escalation_passes_quiet),
        cmocka_unit_test(test_standardized_features_any_scale),
        cmocka_unit_test(test_feature_detectors_capped),
        cmocka_unit_test(test_kswin_on_features),
        cmocka_unit_test(test_alarms_beyond_capacity_counted),
        cmocka_unit_test(test_bad_params_name_the_watch_point),
        cmocka_unit_test(test_snapshot_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
