/*
 * test_bounded.c: a 2-million-event stream through the whole per-event
 * pipeline (parse, features, predict, evaluate, drift watch points, learner
 * with replay and EWC, delayed labels), asserting on the project's own
 * counters that every bounded structure stays within its capacity, in entries
 * and in bytes, during and after the run (issue 10, "Long streams").
 *
 * Resident memory means nothing under sanitizers and valgrind; these counters
 * do. Capacities are set small so that every structure fills early and then
 * has to hold its bound for the rest of the run: the feature slots (4 of 6
 * numeric features), the drift watch (3 feature detectors), the pending
 * delayed-label table (256 entries, 200 s of event time), the metrics window
 * (500), the replay buffer (2000 slots). The stream (tests/soak_stream.h) is
 * Agrawal's generator with 32 drifts; one event in four waits 64 events for
 * its label, one in 32 never gets it (they expire or are evicted).
 *
 * Bytes are checked two ways: against a bound computed from the capacity
 * (entries times the most one entry can hold), and against the structure's
 * own figure once it was full (a plateau: no growth after warm-up). The one
 * structure that may grow after warm-up is ADWIN's bucket histogram, by one
 * row per doubling of its window, up to ADWIN_MAX_ROWS (core/adwin.c).
 * DD_BOUNDED_EVENTS=N runs a shorter stream; under valgrind it is 200 000.
 */
#include "learner.h"
#include "metrics.h"
#include "pending.h"
#include "pipeline.h"
#include "replay.h"
#include "watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soak_stream.h"
#include "testutil.h"

enum {
    DEFAULT_EVENTS = 2000000,
    VALGRIND_EVENTS = 200000,
    CHECK_EVERY = 50000,
    WARMUP = 100000,      /* every structure is full by then */
    NNZ_MAX = 32,         /* non-zeros of one input, at most (9 features + indicators) */
    ID_BYTES = 13,        /* "e-" + 10 digits + NUL */
    MAX_NUMERIC = 4,
    WATCH_FEATURES = 3,
    PENDING_CAP = 256,
    WINDOW = 500,
    REPLAY_CAP = 2000,
};

/* ADWIN at its largest: ADWIN_MAX_ROWS rows of (count + 2 * (M + 1) doubles),
 * M = 5 buckets per row by default, plus its struct (under 1 KiB). */
#define ADWIN_MAX_BYTES (62u * (4u + 2u * 6u * 8u) + 1024u)

/* What the structures held at the end of warm-up. */
typedef struct plateau {
    size_t featpipe, metrics, watch_fixed, replay;
    uint64_t pending, params;
} plateau;

static void check_bounds(const pipeline *p, const pipeline_params *pp, size_t replay_empty,
                         bool warm, plateau *pl, uint64_t at)
{
    const featpipe *fp = pipeline_features(p);
    const struct metrics *met = pipeline_metrics(p);
    const watch *w = pipeline_watch(p);
    const replay *r = learner_replay(pipeline_learner(p));
    pending_stats ps;
    pending_get_stats(pipeline_pending(p), &ps);
    size_t adwin = drift_memory(watch_error_detector(w));
    size_t watch_fixed = watch_memory(w) - adwin;

    /* entries */
    if (featpipe_numeric_count(fp) > pp->feat.max_numeric)
        fail_msg("at %llu: %u feature slots > %u", (unsigned long long)at,
                 featpipe_numeric_count(fp), pp->feat.max_numeric);
    if (watch_get_stats(w)->features > pp->watch.max_features)
        fail_msg("at %llu: %u feature detectors > %u", (unsigned long long)at,
                 watch_get_stats(w)->features, pp->watch.max_features);
    if (ps.held > PENDING_CAP)
        fail_msg("at %llu: %llu pending > %u", (unsigned long long)at,
                 (unsigned long long)ps.held, (unsigned)PENDING_CAP);
    if (metrics_window_fill(met) > WINDOW)
        fail_msg("at %llu: window fill %u > %u", (unsigned long long)at,
                 metrics_window_fill(met), (unsigned)WINDOW);
    if (replay_size(r) > replay_capacity(r) || replay_capacity(r) != REPLAY_CAP)
        fail_msg("at %llu: replay %u of %u", (unsigned long long)at, replay_size(r),
                 replay_capacity(r));

    /* bytes against capacities */
    uint64_t pending_max = (uint64_t)PENDING_CAP * (ID_BYTES + NNZ_MAX * 12u);
    if (ps.bytes > pending_max)
        fail_msg("at %llu: pending holds %llu bytes > %llu", (unsigned long long)at,
                 (unsigned long long)ps.bytes, (unsigned long long)pending_max);
    size_t replay_max = replay_empty + (size_t)REPLAY_CAP * NNZ_MAX * 12u;
    if (replay_memory(r) > replay_max)
        fail_msg("at %llu: replay holds %zu bytes > %zu", (unsigned long long)at,
                 replay_memory(r), replay_max);
    if (adwin > ADWIN_MAX_BYTES)
        fail_msg("at %llu: ADWIN holds %zu bytes > %u", (unsigned long long)at, adwin,
                 ADWIN_MAX_BYTES);

    /* bytes against the plateau reached at warm-up */
    if (!warm) {
        *pl = (plateau){featpipe_memory(fp), metrics_memory(met), watch_fixed, replay_memory(r),
                        ps.bytes, model_param_count(pipeline_model(p))};
        return;
    }
    if (featpipe_memory(fp) > pl->featpipe || metrics_memory(met) > pl->metrics ||
        watch_fixed > pl->watch_fixed || replay_memory(r) > pl->replay || ps.bytes > pl->pending ||
        model_param_count(pipeline_model(p)) > pl->params)
        fail_msg("at %llu: growth after warm-up: featpipe %zu/%zu metrics %zu/%zu watch %zu/%zu "
                 "replay %zu/%zu pending %llu/%llu params %llu/%llu",
                 (unsigned long long)at, featpipe_memory(fp), pl->featpipe,
                 metrics_memory(met), pl->metrics, watch_fixed, pl->watch_fixed,
                 replay_memory(r), pl->replay, (unsigned long long)ps.bytes,
                 (unsigned long long)pl->pending,
                 (unsigned long long)model_param_count(pipeline_model(p)),
                 (unsigned long long)pl->params);
}

static void set_params(pipeline_params *pp)
{
    pipeline_params_default(pp);
    pp->feat.max_numeric = MAX_NUMERIC;
    pp->feat.hash_bits = 12;
    pp->watch.max_features = WATCH_FEATURES;
    pp->pending.capacity = PENDING_CAP;
    pp->pending.max_age = 200.0; /* 20 000 events at 100 events per second of event time */
    pp->rolling_window = WINDOW;
    pp->learn.replay_on = true;
    pp->learn.replay_k = 2;
    pp->learn.replay.capacity = REPLAY_CAP;
    pp->learn.consolidate_every = 5000;
    pp->model.ewc_lambda = 0.1;
}

static void long_stream_stays_bounded(void **state)
{
    (void)state;
    const char *env = getenv("DD_BOUNDED_EVENTS");
    uint64_t n = env ? strtoull(env, NULL, 10) : DEFAULT_EVENTS;
    /* Under valgrind (make check-valgrind) the stream would take half an
     * hour: the short run still fills every structure and checks it. */
    const char *preload = getenv("LD_PRELOAD");
    if (!env && preload && strstr(preload, "vgpreload"))
        n = VALGRIND_EVENTS;
    if (n < 2 * WARMUP)
        n = 2 * WARMUP;
    pipeline_params pp;
    set_params(&pp);
    char *cause = NULL;
    pipeline *p = pipeline_new(&pp, &cause);
    if (!p)
        fail_msg("pipeline_new: %s", cause);
    size_t replay_empty = replay_memory(learner_replay(pipeline_learner(p)));
    soak_stream *s = malloc(sizeof *s);
    assert_non_null(s);
    if (soak_stream_init(s, n, 10, 0, &cause))
        fail_msg("soak_stream_init: %s", cause);
    plateau pl;
    uint64_t messages = 0, bad = 0;
    while (s->index < n) {
        size_t len = soak_stream_next(s);
        dd_event *ev = NULL;
        if (event_parse_json(s->line, len, NULL, NULL, &ev, &cause) != DD_OK) {
            bad++;
            continue;
        }
        ev->seq = messages++;
        pipeline_result res;
        assert_int_equal(pipeline_process(p, ev, &res), DD_OK);
        event_free(ev);
        if (res.predicted && !res.joined && s->index % CHECK_EVERY == 0 && s->index >= WARMUP)
            check_bounds(p, &pp, replay_empty, s->index > WARMUP, &pl, s->index);
    }
    check_bounds(p, &pp, replay_empty, true, &pl, s->index);
    assert_int_equal(bad, 0);

    /* The run reached every bound, so the checks above meant something. */
    const pipeline_stats *st = pipeline_get_stats(p);
    pending_stats ps;
    pending_get_stats(pipeline_pending(p), &ps);
    const watch_stats *ws = watch_get_stats(pipeline_watch(p));
    assert_int_equal(st->events, n);
    assert_true(st->labelled > n / 2);
    assert_true(ps.expired + ps.evicted > 0);
    assert_true(ps.joined > n / 8);
    assert_true(featpipe_overflow(pipeline_features(p)) > 0);
    assert_int_equal(featpipe_numeric_count(pipeline_features(p)), MAX_NUMERIC);
    assert_int_equal(ws->features, WATCH_FEATURES);
    assert_true(ws->unwatched > 0);
    assert_int_equal(metrics_window_fill(pipeline_metrics(p)), WINDOW);
    assert_int_equal(replay_size(learner_replay(pipeline_learner(p))), REPLAY_CAP);
    assert_true(learner_get_stats(pipeline_learner(p))->replayed > n);
    assert_true(learner_get_stats(pipeline_learner(p))->consolidations > 0);
    assert_true(st->drifts > 0);
    print_message("bounded: %llu events, %llu labelled, %llu joined, pending %llu held "
                  "(%llu bytes, %llu expired, %llu evicted), replay %u (%zu bytes), "
                  "featpipe %zu bytes, watch %zu bytes, metrics %zu bytes, %llu drifts\n",
                  (unsigned long long)st->events, (unsigned long long)st->labelled,
                  (unsigned long long)ps.joined, (unsigned long long)ps.held,
                  (unsigned long long)ps.bytes, (unsigned long long)ps.expired,
                  (unsigned long long)ps.evicted,
                  replay_size(learner_replay(pipeline_learner(p))),
                  replay_memory(learner_replay(pipeline_learner(p))),
                  featpipe_memory(pipeline_features(p)), watch_memory(pipeline_watch(p)),
                  metrics_memory(pipeline_metrics(p)), (unsigned long long)st->drifts);
    soak_stream_free(s);
    free(s);
    free(cause);
    pipeline_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_stream_stays_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
