/*
 * test_pipeline.c: the per-event pipeline on generated streams: it learns
 * (prequential accuracy), it reports concept drift after the true point, a
 * frozen pipeline predicts and scores but never learns, bad labels are
 * counted without stopping the stream, and the same stream gives the same
 * results (no clock, no hidden randomness).
 */
#include "gen.h"
#include "pipeline.h"

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct run_result {
    double accuracy;
    uint64_t first_drift_after; /* first error-stream drift at or after `after`, or 0 */
    uint64_t drifts;
    double score_sum;           /* sum of predicted scores: a fingerprint of the run */
} run_result;

static run_result run(gen_kind kind, const uint32_t *variants, uint32_t nv, uint64_t drift_at,
                      uint64_t n, pipeline_params *pp, uint64_t after)
{
    gen_params gp;
    gen_params_default(&gp, kind);
    gp.seed = 5;
    if (nv > 1) {
        gp.ndrifts = 1;
        gp.drift[0].pos = drift_at;
        gp.nvariants = nv;
        memcpy(gp.variant, variants, nv * sizeof *variants);
    }
    gen *g = gen_new(&gp, NULL);
    assert_non_null(g);
    pipeline *p = pipeline_new(pp, NULL);
    assert_non_null(p);
    size_t cap = gen_line_max(g);
    char *line = malloc(cap);
    run_result r = {0};
    for (uint64_t i = 0; i < n; i++) {
        size_t len;
        assert_int_equal(gen_next_line(g, line, cap, &len), DD_OK);
        dd_event *ev = NULL;
        assert_int_equal(event_parse_json(line, len, NULL, NULL, &ev, NULL), DD_OK);
        pipeline_result res;
        assert_int_equal(pipeline_process(p, ev, &res), DD_OK);
        r.score_sum += res.out.score;
        for (uint32_t k = 0; k < res.nalarms; k++)
            if (res.alarms[k].point == WATCH_ERROR && res.alarms[k].level == DRIFT_DRIFT &&
                res.alarms[k].event >= after && !r.first_drift_after)
                r.first_drift_after = res.alarms[k].event;
        event_free(ev);
    }
    r.accuracy = pipeline_score(p);
    r.drifts = pipeline_get_stats(p)->drifts;
    free(line);
    pipeline_free(p);
    gen_free(g);
    return r;
}

static void learns_sea_and_detects_drift(void **state)
{
    pipeline_params pp;
    pipeline_params_default(&pp);
    uint32_t v[] = {0, 3};
    run_result r = run(GEN_SEA, v, 2, 5000, 10000, &pp, 5000);
    assert_true(r.accuracy > 0.95);
    assert_true(r.first_drift_after >= 5000);
    assert_true(r.first_drift_after < 5600);
}

static void learns_stagger_concepts(void **state)
{
    pipeline_params pp;
    pipeline_params_default(&pp);
    uint32_t v[] = {0, 1};
    run_result r = run(GEN_STAGGER, v, 2, 3000, 6000, &pp, 3000);
    assert_true(r.accuracy > 0.90);
    assert_true(r.first_drift_after >= 3000 && r.first_drift_after < 3300);
}

static void stationary_stream_raises_no_drift(void **state)
{
    pipeline_params pp;
    pipeline_params_default(&pp);
    run_result r = run(GEN_SEA, NULL, 1, 0, 20000, &pp, 0);
    assert_true(r.accuracy > 0.95);
    /* After the warm-up, the error stream of a converged model is stationary. */
    assert_true(r.drifts <= 2);
}

static void same_stream_same_results(void **state)
{
    pipeline_params pp;
    pipeline_params_default(&pp);
    uint32_t v[] = {1, 2};
    run_result a = run(GEN_SEA, v, 2, 2000, 4000, &pp, 0);
    run_result b = run(GEN_SEA, v, 2, 2000, 4000, &pp, 0);
    assert_memory_equal(&a, &b, sizeof a);
}

static dd_event *ev_of(const char *json)
{
    dd_event *ev = NULL;
    assert_int_equal(event_parse_json(json, strlen(json), NULL, NULL, &ev, NULL), DD_OK);
    return ev;
}

static void frozen_pipeline_scores_but_does_not_learn(void **state)
{
    pipeline_params pp;
    pipeline_params_default(&pp);
    pipeline *p = pipeline_new(&pp, NULL);
    pipeline_set_learning(p, false);
    pipeline_result res;
    for (int i = 0; i < 200; i++) {
        dd_event *ev = ev_of(i % 2 ? "{\"x\":{\"a\":1},\"y\":1}" : "{\"x\":{\"a\":-1},\"y\":0}");
        pipeline_process(p, ev, &res);
        assert_false(res.learned);
        event_free(ev);
    }
    assert_int_equal(pipeline_get_stats(p)->labelled, 200);
    assert_int_equal(model_steps(pipeline_model(p)), 0);
    pipeline_set_learning(p, true);
    dd_event *ev = ev_of("{\"x\":{\"a\":1},\"y\":1}");
    pipeline_process(p, ev, &res);
    assert_true(res.learned);
    event_free(ev);
    pipeline_free(p);
}

static void bad_labels_are_counted_not_learned(void **state)
{
    pipeline_params pp;
    pipeline_params_default(&pp);
    pipeline *p = pipeline_new(&pp, NULL);
    pipeline_result res;
    const char *evs[] = {"{\"x\":{\"a\":1},\"y\":\"yes\"}", "{\"x\":{\"a\":1},\"y\":\"no\"}",
                         "{\"x\":{\"a\":1},\"y\":\"maybe\"}", "{\"x\":{\"a\":1},\"y\":7}",
                         "{\"x\":{\"a\":1}}", "{\"id\":\"q\",\"y\":1}"};
    dd_err expect[] = {DD_OK, DD_OK, DD_ELIMIT, DD_ETYPE, DD_OK, DD_OK};
    for (size_t i = 0; i < DD_ARRAY_LEN(evs); i++) {
        dd_event *ev = ev_of(evs[i]);
        assert_int_equal(pipeline_process(p, ev, &res), DD_OK);
        assert_int_equal(res.label_err, expect[i]);
        event_free(ev);
    }
    const pipeline_stats *st = pipeline_get_stats(p);
    assert_int_equal(st->events, 5);
    assert_int_equal(st->labelled, 2);
    assert_int_equal(st->bad_labels, 2);
    assert_int_equal(st->unmatched, 1);
    pipeline_free(p);
}

static void regression_task_reports_mae(void **state)
{
    pipeline_params pp;
    pipeline_params_default(&pp);
    pp.model.task = TASK_REGRESSION;
    pp.model.lr = 0.01;
    pipeline *p = pipeline_new(&pp, NULL);
    assert_non_null(p);
    pipeline_result res;
    char buf[128];
    for (int i = 0; i < 5000; i++) {
        double a = (i * 37 % 100) / 10.0;
        snprintf(buf, sizeof buf, "{\"x\":{\"a\":%g},\"y\":%g}", a, 3 * a + 1);
        dd_event *ev = ev_of(buf);
        pipeline_process(p, ev, &res);
        event_free(ev);
    }
    assert_true(pipeline_rolling_score(p) < 0.2); /* rolling MAE of y = 3a + 1 */
    pipeline_free(p);
}

/* hash_bits = auto: 2^18 buckets for a linear model, 2^12 for an MLP, whose
 * dense first layer would otherwise hold 2^18 x hidden weights. */
static void auto_hash_bits_follow_the_model(void **state)
{
    (void)state;
    pipeline_params pp;
    pipeline_params_default(&pp);
    pp.feat.hash_bits = FEATPIPE_HASH_BITS_AUTO;
    const uint32_t numeric = 2 * pp.feat.max_numeric;
    pipeline *p = pipeline_new(&pp, NULL);
    assert_non_null(p);
    assert_int_equal(model_dim(pipeline_model(p)), numeric + (1u << 18));
    pipeline_free(p);
    pp.model.kind = MODEL_MLP;
    p = pipeline_new(&pp, NULL);
    assert_non_null(p);
    assert_int_equal(model_dim(pipeline_model(p)), numeric + (1u << 12));
    pipeline_free(p);
    pp.feat.hash_bits = 10; /* an explicit value wins */
    p = pipeline_new(&pp, NULL);
    assert_non_null(p);
    assert_int_equal(model_dim(pipeline_model(p)), numeric + (1u << 10));
    pipeline_free(p);
}

/* A saved state carries the events still waiting for their label: after a
 * restart from it, the label joins and is learned (no orphan). */
static void saved_state_keeps_pending_labels(void **state)
{
    (void)state;
    pipeline_params pp;
    pipeline_params_default(&pp);
    pipeline *p = pipeline_new(&pp, NULL);
    assert_non_null(p);
    pipeline_result res;
    dd_event *ev = ev_of("{\"id\":\"k1\",\"x\":{\"a\":1.5,\"c\":\"red\"}}");
    assert_int_equal(pipeline_process(p, ev, &res), DD_OK);
    event_free(ev);
    ser_writer w = {0};
    assert_int_equal(pipeline_save_state(p, &w), DD_OK);
    pipeline *q = pipeline_new(&pp, NULL);
    ser_reader r;
    ser_reader_init(&r, w.buf, w.len);
    assert_int_equal(pipeline_load_state(q, &r, NULL), DD_OK);
    ev = ev_of("{\"id\":\"k1\",\"y\":1}");
    assert_int_equal(pipeline_process(q, ev, &res), DD_OK);
    event_free(ev);
    assert_true(res.joined);
    const pipeline_stats *st = pipeline_get_stats(q);
    assert_int_equal(st->joined, 1);
    assert_int_equal(st->unmatched, 0);
    free(w.buf);
    pipeline_free(p);
    pipeline_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(learns_sea_and_detects_drift),
        cmocka_unit_test(learns_stagger_concepts),
        cmocka_unit_test(stationary_stream_raises_no_drift),
        cmocka_unit_test(same_stream_same_results),
        cmocka_unit_test(frozen_pipeline_scores_but_does_not_learn),
        cmocka_unit_test(bad_labels_are_counted_not_learned),
        cmocka_unit_test(regression_task_reports_mae),
        cmocka_unit_test(auto_hash_bits_follow_the_model),
        cmocka_unit_test(saved_state_keeps_pending_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
