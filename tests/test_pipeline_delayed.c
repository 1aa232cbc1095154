/*
 * test_pipeline_delayed.c: delayed labels through the pipeline. An event
 * without a label is predicted and held; its later {"id","y"} is scored with
 * the prediction made then and the model learns from the held input; unknown
 * ids are counted; held events expire by event time; the model learns from
 * delayed labels as well as from immediate ones.
 */
#include "event.h"
#include "pipeline.h"

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dd_event *ev_of(const char *json, uint64_t seq)
{
    dd_event *ev = NULL;
    char *cause = NULL;
    if (event_parse_json(json, strlen(json), NULL, NULL, &ev, &cause))
        fail_msg("%s: %s", json, cause);
    ev->seq = seq;
    event_default_ts(ev, (double)seq);
    return ev;
}

static pipeline *make(double max_age)
{
    pipeline_params pp;
    pipeline_params_default(&pp);
    pp.pending.max_age = max_age;
    char *cause = NULL;
    pipeline *p = pipeline_new(&pp, &cause);
    if (!p)
        fail_msg("pipeline_new: %s", cause);
    return p;
}

static void process(pipeline *p, const char *json, uint64_t seq, pipeline_result *res)
{
    dd_event *ev = ev_of(json, seq);
    assert_int_equal(pipeline_process(p, ev, res), DD_OK);
    event_free(ev);
}

static void label_joins_with_the_prediction_made_then(void **state)
{
    pipeline *p = make(0);
    pipeline_result r;
    process(p, "{\"id\":\"q\",\"x\":{\"a\":1,\"b\":-1}}", 0, &r);
    assert_true(r.predicted);
    assert_true(r.held);
    assert_false(r.labelled);
    model_output then = r.out;
    /* The model moves on other events meanwhile. */
    char buf[128];
    for (int i = 1; i <= 50; i++) {
        snprintf(buf, sizeof buf, "{\"x\":{\"a\":%d,\"b\":1},\"y\":1}", i % 3);
        process(p, buf, (uint64_t)i, &r);
    }
    process(p, "{\"id\":\"q\",\"y\":0}", 51, &r);
    assert_true(r.joined);
    assert_true(r.labelled);
    assert_true(r.learned);
    assert_close(r.out.score, then.score, 0);
    assert_int_equal(r.out.cls, then.cls);
    const pipeline_stats *st = pipeline_get_stats(p);
    assert_int_equal(st->joined, 1);
    assert_int_equal(st->labelled, 51);
    /* A second label for the same id, and one for an id never seen. */
    process(p, "{\"id\":\"q\",\"y\":0}", 52, &r);
    assert_false(r.joined);
    process(p, "{\"id\":\"nope\",\"y\":1}", 53, &r);
    assert_int_equal(st->unmatched, 2);
    pending_stats ps;
    pending_get_stats(pipeline_pending(p), &ps);
    assert_int_equal(ps.held, 0);
    assert_int_equal(ps.orphans, 2);
    pipeline_free(p);
}

static void held_events_expire_by_event_time(void **state)
{
    pipeline *p = make(10.0);
    pipeline_result r;
    process(p, "{\"id\":\"old\",\"ts\":100,\"x\":{\"a\":1}}", 0, &r);
    process(p, "{\"id\":\"new\",\"ts\":105,\"x\":{\"a\":1}}", 1, &r);
    process(p, "{\"ts\":111,\"x\":{\"a\":2}}", 2, &r); /* no id: not held */
    assert_false(r.held);
    process(p, "{\"id\":\"old\",\"y\":1,\"ts\":111}", 3, &r);
    assert_false(r.joined); /* 11 s after it: expired */
    process(p, "{\"id\":\"new\",\"y\":1,\"ts\":111}", 4, &r);
    assert_true(r.joined);
    pending_stats ps;
    pending_get_stats(pipeline_pending(p), &ps);
    assert_int_equal(ps.expired, 1);
    pipeline_free(p);
}

/* A separable stream where every label comes 20 events late: the model
 * still learns it (rolling accuracy well above chance). */
static void model_learns_from_delayed_labels(void **state)
{
    pipeline *p = make(0);
    pipeline_result r;
    char buf[160];
    enum { N = 3000, LAG = 20 };
    uint64_t seq = 0;
    int ys[N];
    for (int i = 0; i < N + LAG; i++) {
        if (i < N) {
            double a = ((i * 7919) % 1000) / 500.0 - 1.0;
            ys[i] = a > 0;
            snprintf(buf, sizeof buf, "{\"id\":\"e%d\",\"x\":{\"a\":%.4f,\"n\":%d}}", i, a,
                     i % 5);
            process(p, buf, seq++, &r);
        }
        if (i >= LAG) {
            snprintf(buf, sizeof buf, "{\"id\":\"e%d\",\"y\":%d}", i - LAG, ys[i - LAG]);
            process(p, buf, seq++, &r);
            assert_true(r.joined);
        }
    }
    const pipeline_stats *st = pipeline_get_stats(p);
    assert_int_equal(st->joined, N);
    assert_int_equal(st->labelled, N);
    assert_true(pipeline_rolling_score(p) > 0.9);
    pipeline_free(p);
}

/* A replay of a past stream whose labels carry no time: the labels' receive
 * time (now) must not expire the held events of the past. */
static void labels_without_time_do_not_expire_the_past(void **state)
{
    pipeline *p = make(60.0);
    pipeline_result r;
    process(p, "{\"id\":\"a\",\"ts\":1000,\"x\":{\"f\":1}}", 0, &r);
    dd_event *ev = ev_of("{\"id\":\"a\",\"y\":1}", 1);
    ev->ts = 1.7e9; /* received now, no time of its own */
    assert_int_equal(pipeline_process(p, ev, &r), DD_OK);
    event_free(ev);
    assert_true(r.joined);
    pipeline_free(p);
}

/* Governance adds a challenger's prediction when the event is held, and
 * finds both versions' predictions and the held input when the label joins. */
static void every_version_is_scored_on_the_same_event(void **state)
{
    pipeline *p = make(0);
    pipeline_result r;
    process(p, "{\"id\":\"q\",\"group\":\"eu\",\"x\":{\"a\":1}}", 0, &r);
    assert_true(r.held);
    assert_null(pipeline_joined(p));
    model_output chal = {1, 0.75};
    assert_int_equal(pipeline_hold_prediction(p, "q", 7, &chal), DD_OK);
    assert_int_equal(pipeline_hold_prediction(p, "q", 8, &chal), DD_EFULL);
    assert_int_equal(pipeline_hold_prediction(p, "nope", 7, &chal), DD_ENOTFOUND);
    process(p, "{\"id\":\"q\",\"y\":1}", 1, &r);
    assert_true(r.joined);
    const pending_entry *e = pipeline_joined(p);
    assert_non_null(e);
    assert_string_equal(e->group, "eu");
    assert_int_equal(e->npred, 2);
    assert_int_equal(e->pred[1].version, 7);
    assert_close(e->pred[1].out.score, 0.75, 0);
    assert_true(e->x.n > 0); /* the held input, for the challenger to learn from */
    process(p, "{\"id\":\"z\",\"x\":{\"a\":2}}", 2, &r);
    assert_null(pipeline_joined(p)); /* only until the next event */
    pipeline_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(label_joins_with_the_prediction_made_then),
        cmocka_unit_test(held_events_expire_by_event_time),
        cmocka_unit_test(labels_without_time_do_not_expire_the_past),
        cmocka_unit_test(every_version_is_scored_on_the_same_event),
        cmocka_unit_test(model_learns_from_delayed_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
