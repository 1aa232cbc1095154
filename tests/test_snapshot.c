/*
 * test_snapshot.c: the snapshot's rings, its wire round trip, its refusal of
 * bad bytes, and the board's fresh/latest semantics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "snapshot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dd_snapshot *filled(void)
{
    dd_snapshot *s = calloc(1, sizeof *s);
    snap_init(s);
    snprintf(s->source, sizeof s->source, "file:data/demo.jsonl");
    s->source_state = 1;
    s->source_progress = 0.45f;
    s->events = 123456;
    s->events_per_s = 2500.5f;
    s->queue_len = 17;
    s->queue_cap = 4096;
    s->drops = 3;
    s->malformed = 2;
    s->active_version = 4;
    s->challenger_version = 5;
    s->challenger_mode = SNAP_CH_SHADOW;
    s->run_state = SNAP_PAUSED;
    s->speed = 8.0;
    for (int i = 0; i < 300; i++) { /* wraps the ring */
        float v[SNAP_S__COUNT];
        for (int k = 0; k < SNAP_S__COUNT; k++)
            v[k] = (float)(i * 10 + k);
        v[SNAP_S_ACC_CHALLENGER] = i < 250 ? NAN : 0.5f;
        snap_chart_push(&s->chart, (uint64_t)i * 100, v);
    }
    for (int i = 0; i < 40; i++)
        snap_marker_add(s, (snap_marker_kind)(i % SNAP_MK__COUNT), (uint64_t)i * 7);
    s->nfeatures = 2;
    snprintf(s->features[0].name, sizeof s->features[0].name, "temp");
    s->features[0].score = 3.5f;
    snprintf(s->features[1].name, sizeof s->features[1].name, "device");
    s->replay.capacity = 1000;
    s->replay.fill = 640;
    s->replay.hist[3] = 12;
    s->replay.nrows = 2;
    s->replay.rows[1].priority = 0.75f;
    s->replay.rows[1].age = 99;
    snprintf(s->replay.rows[1].summary, sizeof s->replay.rows[1].summary, "temp=21.4");
    for (int i = 0; i < 70; i++)
        snap_log_add(s, SNAP_LOG_DRIFT, 1700000000.0 + i, "drift #%d on error", i);
    s->nversions = 1;
    s->versions[0].id = 5;
    snprintf(s->versions[0].status, sizeof s->versions[0].status, "awaiting");
    s->pending = true;
    s->pending_version = 5;
    s->pending_metrics.accuracy = 0.91;
    s->active_metrics.accuracy = 0.72;
    s->result_id = 9;
    s->result_err = DD_ESTATE;
    snprintf(s->result_text, sizeof s->result_text, "nothing awaits approval");
    return s;
}

/* Compare two snapshots field by field where NaN must equal NaN. */
static void assert_same(const dd_snapshot *a, const dd_snapshot *b)
{
    assert_string_equal(a->source, b->source);
    assert_int_equal(a->events, b->events);
    assert_true(a->events_per_s == b->events_per_s);
    assert_int_equal(a->run_state, b->run_state);
    assert_true(a->speed == b->speed);
    assert_int_equal(a->chart.head, b->chart.head);
    assert_int_equal(a->chart.count, b->chart.count);
    for (int k = 0; k < SNAP_S__COUNT; k++)
        for (int i = 0; i < SNAP_SERIES_CAP; i++) {
            float x = a->chart.val[k][i], y = b->chart.val[k][i];
            assert_true((isnan(x) && isnan(y)) || x == y);
        }
    assert_memory_equal(a->chart.pos, b->chart.pos, sizeof a->chart.pos);
    assert_int_equal(a->marker_count, b->marker_count);
    assert_int_equal(snap_marker_at(a, 0)->pos, snap_marker_at(b, 0)->pos);
    assert_string_equal(a->features[1].name, b->features[1].name);
    assert_int_equal(a->replay.hist[3], b->replay.hist[3]);
    assert_string_equal(a->replay.rows[1].summary, b->replay.rows[1].summary);
    assert_int_equal(a->log_count, b->log_count);
    assert_string_equal(snap_log_newest(a, 0)->text, snap_log_newest(b, 0)->text);
    assert_string_equal(a->versions[0].status, b->versions[0].status);
    assert_true(a->pending == b->pending);
    assert_true(a->pending_metrics.accuracy == b->pending_metrics.accuracy);
    assert_int_equal(a->result_err, b->result_err);
    assert_string_equal(a->result_text, b->result_text);
}

static void round_trip_keeps_every_field(void **state)
{
    (void)state;
    dd_snapshot *s = filled(), *d = calloc(1, sizeof *d);
    uint8_t *buf = malloc(SNAP_WIRE_MAX);
    size_t len = 0;
    assert_int_equal(snap_encode(s, buf, SNAP_WIRE_MAX, &len, NULL), DD_OK);
    assert_true(len > 0 && len <= SNAP_WIRE_MAX);
    assert_int_equal(snap_decode(d, buf, len, NULL), DD_OK);
    assert_same(s, d);
    free(buf);
    free(s);
    free(d);
}

static void empty_snapshot_round_trips_and_fits(void **state)
{
    (void)state;
    dd_snapshot *s = calloc(1, sizeof *s), *d = calloc(1, sizeof *d);
    snap_init(s);
    /* the largest snapshot: every ring full, every string at its longest */
    s->nversions = SNAP_VERSION_CAP;
    s->replay.nrows = SNAP_REPLAY_ROWS;
    s->nfeatures = SNAP_FEATURE_CAP;
    memset(s->source, 'x', sizeof s->source - 1);
    for (int i = 0; i < SNAP_LOG_CAP; i++)
        memset(s->log[i].text, 'y', sizeof s->log[i].text - 1);
    for (int i = 0; i < SNAP_DETAIL_LINES; i++)
        memset(s->detail_lines[i], 'z', sizeof s->detail_lines[i] - 1);
    for (int i = 0; i < SNAP_REPLAY_ROWS; i++)
        memset(s->replay.rows[i].summary, 's', sizeof s->replay.rows[i].summary - 1);
    uint8_t *buf = malloc(SNAP_WIRE_MAX);
    size_t len = 0;
    assert_int_equal(snap_encode(s, buf, SNAP_WIRE_MAX, &len, NULL), DD_OK);
    assert_int_equal(snap_decode(d, buf, len, NULL), DD_OK);
    assert_string_equal(d->source, s->source);
    assert_string_equal(d->detail_lines[9], s->detail_lines[9]);
    free(buf);
    free(s);
    free(d);
}

static void every_truncation_is_refused(void **state)
{
    (void)state;
    dd_snapshot *s = filled(), *d = calloc(1, sizeof *d);
    uint8_t *buf = malloc(SNAP_WIRE_MAX);
    size_t len = 0;
    assert_int_equal(snap_encode(s, buf, SNAP_WIRE_MAX, &len, NULL), DD_OK);
    for (size_t cut = 0; cut < len; cut += (cut < 256 ? 1 : 97)) {
        char *cause = NULL;
        assert_int_equal(snap_decode(d, buf, cut, &cause), DD_EPARSE);
        assert_non_null(cause);
        free(cause);
    }
    /* and a trailing byte too */
    buf[len] = 0;
    assert_int_equal(snap_decode(d, buf, len + 1, NULL), DD_EPARSE);
    free(buf);
    free(s);
    free(d);
}

static void encode_into_a_small_buffer_says_full(void **state)
{
    (void)state;
    dd_snapshot *s = filled();
    uint8_t buf[512];
    size_t len = 0;
    char *cause = NULL;
    assert_int_equal(snap_encode(s, buf, sizeof buf, &len, &cause), DD_EFULL);
    assert_non_null(cause);
    free(cause);
    free(s);
}

static void counts_over_capacity_are_refused(void **state)
{
    (void)state;
    dd_snapshot *s = filled(), *d = calloc(1, sizeof *d);
    s->run_state = 77; /* an unknown enum */
    uint8_t *buf = malloc(SNAP_WIRE_MAX);
    size_t len = 0;
    assert_int_equal(snap_encode(s, buf, SNAP_WIRE_MAX, &len, NULL), DD_OK);
    assert_int_equal(snap_decode(d, buf, len, NULL), DD_EPARSE);
    s->run_state = SNAP_RUNNING;
    s->chart.count = SNAP_SERIES_CAP + 1;
    assert_int_equal(snap_encode(s, buf, SNAP_WIRE_MAX, &len, NULL), DD_OK);
    assert_int_equal(snap_decode(d, buf, len, NULL), DD_EPARSE);
    free(buf);
    free(s);
    free(d);
}

static void rings_keep_the_newest(void **state)
{
    (void)state;
    dd_snapshot *s = filled();
    assert_int_equal(s->chart.count, SNAP_SERIES_CAP);
    /* oldest kept sample is #60 of 300 */
    assert_int_equal(s->chart.pos[snap_chart_slot(&s->chart, 0)], 60 * 100);
    assert_int_equal(s->chart.pos[snap_chart_slot(&s->chart, SNAP_SERIES_CAP - 1)], 299 * 100);
    assert_int_equal(s->log_count, SNAP_LOG_CAP);
    assert_string_equal(snap_log_newest(s, 0)->text, "drift #69 on error");
    assert_string_equal(snap_log_newest(s, SNAP_LOG_CAP - 1)->text, "drift #6 on error");
    assert_int_equal(snap_log_newest(s, 0)->id, 70);
    assert_int_equal(snap_marker_at(s, 0)->pos, 8 * 7);
    free(s);
}

static void board_hands_over_the_latest_once(void **state)
{
    (void)state;
    snap_board *b = snap_board_new();
    dd_snapshot *s = calloc(1, sizeof *s);
    snap_init(s);
    bool fresh = true;
    const dd_snapshot *r = snap_board_latest(b, &fresh);
    assert_false(fresh);
    assert_int_equal(r->seq, 0);
    for (int i = 1; i <= 3; i++) {
        s->events = (uint64_t)i;
        snap_board_publish(b, s);
    }
    r = snap_board_latest(b, &fresh);
    assert_true(fresh);
    assert_int_equal(r->events, 3);
    assert_int_equal(r->seq, 3);
    r = snap_board_latest(b, &fresh);
    assert_false(fresh);
    assert_int_equal(r->events, 3);
    s->events = 4;
    snap_board_publish(b, s);
    r = snap_board_latest(b, &fresh);
    assert_true(fresh);
    assert_int_equal(r->events, 4);
    snap_board_free(b);
    snap_board_free(NULL);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_keeps_every_field),
        cmocka_unit_test(empty_snapshot_round_trips_and_fits),
        cmocka_unit_test(every_truncation_is_refused),
        cmocka_unit_test(encode_into_a_small_buffer_says_full),
        cmocka_unit_test(counts_over_capacity_are_refused),
        cmocka_unit_test(rings_keep_the_newest),
        cmocka_unit_test(board_hands_over_the_latest_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
