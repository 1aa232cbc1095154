/*
 * test_featpipe.c: Welford statistics against a two-pass computation, the
 * standardized and hashed inputs, missing values, bounds, and snapshots.
 */
#include "featpipe.h"
#include "rng.h"

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dd_event *ev_of(const char *json)
{
    dd_event *ev = NULL;
    if (event_parse_json(json, strlen(json), NULL, NULL, &ev, NULL))
        fail_msg("bad test event %s", json);
    return ev;
}

static featpipe *fp_default(void)
{
    featpipe_params p;
    featpipe_params_default(&p);
    featpipe *f = featpipe_new(&p, NULL);
    assert_non_null(f);
    return f;
}

static void welford_matches_two_pass(void **state)
{
    /* Large offset and small spread: the case where the naive sum-of-squares
     * formula loses every digit. */
    rng_t r;
    rng_seed(&r, 7);
    enum { N = 100000 };
    double *x = malloc(N * sizeof *x);
    welford w = {0};
    double sum = 0;
    for (int i = 0; i < N; i++) {
        x[i] = 1e9 + rng_normal(&r) * 0.5;
        welford_add(&w, x[i]);
        sum += x[i] - 1e9; /* exact: x is near 1e9, so the reference keeps its digits */
    }
    double mean = 1e9 + sum / N, ss = 0;
    for (int i = 0; i < N; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    assert_close(w.mean, mean, 1e-6);
    assert_close(welford_var(&w), ss / N, 1e-6 * (ss / N));
    assert_close(welford_sample_var(&w), ss / (N - 1), 1e-6 * (ss / N));
    free(x);
}

static void standardizes_numeric_features(void **state)
{
    featpipe *f = fp_default();
    dd_sparse v = {0};
    const char *evs[] = {"{\"x\":{\"a\":1}}", "{\"x\":{\"a\":2}}", "{\"x\":{\"a\":3}}"};
    for (int i = 0; i < 3; i++) {
        dd_event *ev = ev_of(evs[i]);
        assert_int_equal(featpipe_learn_transform(f, ev, &v), DD_OK);
        event_free(ev);
    }
    /* After 1,2,3: mean 2, population sd sqrt(2/3); x = 3 -> 1.2247... */
    assert_int_equal(v.n, 1);
    assert_int_equal(v.idx[0], 0);
    assert_close(v.val[0], 1.0 / sqrt(2.0 / 3.0), 1e-12);
    assert_int_equal(featpipe_numeric_count(f), 1);
    assert_string_equal(featpipe_slot_name(f, 0), "a");
    sparse_free(&v);
    featpipe_free(f);
}

static void clips_extreme_values(void **state)
{
    featpipe *f = fp_default();
    dd_sparse v = {0};
    char buf[64];
    for (int i = 0; i < 100; i++) {
        snprintf(buf, sizeof buf, "{\"x\":{\"a\":%d}}", i % 2);
        dd_event *ev = ev_of(buf);
        featpipe_learn_transform(f, ev, &v);
        event_free(ev);
    }
    dd_event *ev = ev_of("{\"x\":{\"a\":1e12}}");
    assert_int_equal(featpipe_transform(f, ev, &v), DD_OK);
    assert_close(v.val[0], 5.0, 0);
    event_free(ev);
    sparse_free(&v);
    featpipe_free(f);
}

static void missing_value_gets_indicator(void **state)
{
    featpipe *f = fp_default();
    dd_sparse v = {0};
    dd_event *ev = ev_of("{\"x\":{\"a\":4,\"b\":1}}");
    featpipe_learn_transform(f, ev, &v);
    event_free(ev);
    ev = ev_of("{\"x\":{\"a\":null,\"b\":2}}");
    featpipe_learn_transform(f, ev, &v);
    event_free(ev);
    /* a is imputed by its mean (0 standardized: no value input) and flagged. */
    assert_int_equal(v.n, 2);
    int32_t a = 0;
    assert_int_equal(v.idx[0], 256 + (uint32_t)a);
    assert_close(v.val[0], 1.0, 0);
    assert_int_equal(v.idx[1], 1);
    sparse_free(&v);
    featpipe_free(f);
}

static void categoricals_hash_within_bounds(void **state)
{
    featpipe_params p;
    featpipe_params_default(&p);
    p.hash_bits = 8;
    featpipe *f = featpipe_new(&p, NULL);
    dd_sparse v = {0};
    char buf[96];
    size_t mem0 = featpipe_memory(f);
    for (int i = 0; i < 20000; i++) {
        snprintf(buf, sizeof buf, "{\"x\":{\"user\":\"u%d\",\"city\":\"c%d\"}}", i, i % 7);
        dd_event *ev = ev_of(buf);
        featpipe_learn_transform(f, ev, &v);
        event_free(ev);
        for (uint32_t k = 0; k < v.n; k++) {
            assert_true(v.idx[k] >= 2 * p.max_numeric);
            assert_true(v.idx[k] < featpipe_dim(f));
            assert_true(v.val[k] == 1.0 || v.val[k] == -1.0);
        }
    }
    /* High-cardinality strings never grow the pipeline. */
    assert_int_equal(featpipe_memory(f), mem0);
    /* The same category always lands in the same bucket. */
    dd_event *e1 = ev_of("{\"x\":{\"city\":\"c3\"}}");
    dd_sparse w = {0};
    featpipe_transform(f, e1, &v);
    featpipe_transform(f, e1, &w);
    assert_int_equal(v.idx[0], w.idx[0]);
    event_free(e1);
    sparse_free(&v);
    sparse_free(&w);
    featpipe_free(f);
}

static void numeric_overflow_is_hashed_and_counted(void **state)
{
    featpipe_params p;
    featpipe_params_default(&p);
    p.max_numeric = 2;
    featpipe *f = featpipe_new(&p, NULL);
    dd_sparse v = {0};
    dd_event *ev = ev_of("{\"x\":{\"a\":1,\"b\":2,\"c\":3,\"d\":-3}}");
    featpipe_learn_transform(f, ev, &v);
    assert_int_equal(featpipe_numeric_count(f), 2);
    assert_int_equal(featpipe_overflow(f), 2);
    assert_int_equal(v.n, 4);
    assert_close(v.val[2], log1p(3.0), 1e-15);
    assert_close(v.val[3], -log1p(3.0), 1e-15);
    event_free(ev);
    sparse_free(&v);
    featpipe_free(f);
}

static void transform_is_read_only_and_clone_is_frozen(void **state)
{
    featpipe *f = fp_default();
    dd_sparse v = {0}, w = {0};
    dd_event *e = ev_of("{\"x\":{\"a\":1}}"), *e2 = ev_of("{\"x\":{\"a\":5}}");
    featpipe_learn_transform(f, e, &v);
    featpipe_learn_transform(f, e2, &v);
    featpipe *frozen = featpipe_clone(f);
    featpipe_transform(frozen, e2, &w);
    double before = w.val[0];
    for (int i = 0; i < 50; i++)
        featpipe_learn_transform(f, e2, &v); /* the original moves on */
    featpipe_transform(frozen, e2, &w);
    assert_close(w.val[0], before, 0);
    dd_event *unknown = ev_of("{\"x\":{\"zzz\":1}}");
    featpipe_transform(frozen, unknown, &w);
    assert_int_equal(featpipe_numeric_count(frozen), 1);
    event_free(e);
    event_free(e2);
    event_free(unknown);
    sparse_free(&v);
    sparse_free(&w);
    featpipe_free(frozen);
    featpipe_free(f);
}

static void snapshot_round_trip_and_corruption(void **state)
{
    featpipe *f = fp_default();
    dd_sparse v = {0}, w = {0};
    char buf[96];
    for (int i = 0; i < 500; i++) {
        snprintf(buf, sizeof buf, "{\"x\":{\"a\":%d.25,\"b\":%d,\"s\":\"k%d\"}}", i, i * i, i);
        dd_event *ev = ev_of(buf);
        featpipe_learn_transform(f, ev, &v);
        event_free(ev);
    }
    ser_writer sw = {0};
    assert_int_equal(featpipe_serialize(f, &sw), DD_OK);
    ser_reader sr;
    ser_reader_init(&sr, sw.buf, sw.len);
    featpipe *g = NULL;
    assert_int_equal(featpipe_deserialize(&sr, &g, NULL), DD_OK);
    dd_event *ev = ev_of("{\"x\":{\"a\":17.5,\"b\":3,\"s\":\"k9\"}}");
    featpipe_transform(f, ev, &v);
    featpipe_transform(g, ev, &w);
    assert_int_equal(v.n, w.n);
    assert_memory_equal(v.idx, w.idx, v.n * sizeof *v.idx);
    assert_memory_equal(v.val, w.val, v.n * sizeof *v.val); /* bit for bit */
    featpipe_free(g);
    /* Every truncation is refused, never trusted. */
    for (size_t cut = 0; cut < sw.len; cut += 7) {
        char *cause = NULL;
        ser_reader_init(&sr, sw.buf, cut);
        assert_int_not_equal(featpipe_deserialize(&sr, &g, &cause), DD_OK);
        assert_null(g);
        free(cause);
    }
    sw.buf[4] = 99; /* version */
    ser_reader_init(&sr, sw.buf, sw.len);
    assert_int_equal(featpipe_deserialize(&sr, &g, NULL), DD_EVERSION);
    event_free(ev);
    free(sw.buf);
    sparse_free(&v);
    sparse_free(&w);
    featpipe_free(f);
}

static void bad_params_refused(void **state)
{
    featpipe_params p;
    featpipe_params_default(&p);
    p.hash_bits = 30;
    char *cause = NULL;
    assert_null(featpipe_new(&p, &cause));
    assert_non_null(strstr(cause, "hash_bits"));
    free(cause);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(welford_matches_two_pass),
        cmocka_unit_test(standardizes_numeric_features),
        cmocka_unit_test(clips_extreme_values),
        cmocka_unit_test(missing_value_gets_indicator),
        cmocka_unit_test(categoricals_hash_within_bounds),
        cmocka_unit_test(numeric_overflow_is_hashed_and_counted),
        cmocka_unit_test(transform_is_read_only_and_clone_is_frozen),
        cmocka_unit_test(snapshot_round_trip_and_corruption),
        cmocka_unit_test(bad_params_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
