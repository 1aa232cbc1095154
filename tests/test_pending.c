/*
 * test_pending.c: the delayed-label table. Join by id with everything kept,
 * orphans, replacement, eviction of the oldest at capacity, expiry by event
 * time and by count, byte accounting, and a long random run checked against
 * a plain array (the index's backward-shift deletion must never lose an id).
 */
#include "pending.h"
#include "rng.h"

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pending *make(uint32_t cap, double age, uint64_t count)
{
    pending_params p = {cap, age, count};
    char *cause = NULL;
    pending *t = pending_new(&p, &cause);
    if (!t)
        fail_msg("pending_new: %s", cause);
    return t;
}

static dd_err add(pending *t, const char *id, double ts, uint64_t seq)
{
    uint32_t idx[2] = {3, 7};
    double val[2] = {0.5, -1.25};
    dd_sparse x = {2, 2, idx, val};
    pending_pred pr[2] = {{4, {1, 0.9}}, {5, {0, 0.4}}};
    return pending_add(t, id, "eu", ts, seq, &x, pr, 2);
}

static void label_joins_with_everything_kept(void **state)
{
    pending *t = make(8, 0, 0);
    assert_int_equal(add(t, "e-1", 10.0, 0), DD_OK);
    pending_entry e;
    assert_int_equal(pending_take(t, "e-1", &e), DD_OK);
    assert_string_equal(e.id, "e-1");
    assert_string_equal(e.group, "eu");
    assert_close(e.ts, 10.0, 0);
    assert_int_equal(e.x.n, 2);
    assert_int_equal(e.x.idx[1], 7);
    assert_close(e.x.val[1], -1.25, 0);
    assert_int_equal(e.npred, 2);
    assert_int_equal(e.pred[1].version, 5);
    assert_close(e.pred[0].out.score, 0.9, 0);
    pending_entry_clear(&e);
    pending_entry_clear(&e); /* zeroed: a no-op */
    /* The label came once: a second one is an orphan. */
    assert_int_equal(pending_take(t, "e-1", &e), DD_ENOTFOUND);
    assert_null(e.id);
    pending_stats st;
    pending_get_stats(t, &st);
    assert_int_equal(st.added, 1);
    assert_int_equal(st.joined, 1);
    assert_int_equal(st.orphans, 1);
    assert_int_equal(st.held, 0);
    assert_int_equal(st.bytes, 0);
    /* No group, no features, no predictions: still held. */
    assert_int_equal(pending_add(t, "bare", NULL, 1, 1, NULL, NULL, 0), DD_OK);
    assert_true(pending_contains(t, "bare"));
    assert_int_equal(pending_add(t, "bad", NULL, 1, 1, NULL, NULL, 3), DD_EINVAL);
    pending_free(t);
    pending_free(NULL);
}

static void same_id_replaces_and_counts(void **state)
{
    pending *t = make(4, 0, 0);
    add(t, "a", 1, 0);
    add(t, "a", 2, 1);
    pending_stats st;
    pending_get_stats(t, &st);
    assert_int_equal(st.held, 1);
    assert_int_equal(st.replaced, 1);
    pending_entry e;
    pending_take(t, "a", &e);
    assert_close(e.ts, 2, 0); /* the newer event */
    pending_entry_clear(&e);
    pending_free(t);
}

static void full_table_evicts_the_oldest(void **state)
{
    pending *t = make(3, 0, 0);
    char id[16];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "e%d", i);
        assert_int_equal(add(t, id, i, (uint64_t)i), DD_OK);
    }
    pending_stats st;
    pending_get_stats(t, &st);
    assert_int_equal(st.held, 3);
    assert_int_equal(st.evicted, 2);
    assert_false(pending_contains(t, "e0"));
    assert_false(pending_contains(t, "e1"));
    assert_true(pending_contains(t, "e2"));
    assert_true(pending_contains(t, "e4"));
    pending_free(t);
}

static void expiry_by_event_time_and_by_count(void **state)
{
    pending *t = make(100, 60.0, 0);
    add(t, "a", 100, 0);
    add(t, "b", 130, 1);
    add(t, "c", 170, 2);
    assert_int_equal(pending_expire(t, 160.0, 3), 0); /* a is exactly 60 s old: stays */
    assert_int_equal(pending_expire(t, 170.5, 3), 1);
    assert_false(pending_contains(t, "a"));
    assert_int_equal(pending_expire(t, 1000.0, 3), 2);
    pending_stats st;
    pending_get_stats(t, &st);
    assert_int_equal(st.expired, 3);
    assert_int_equal(st.held, 0);
    pending_free(t);

    t = make(100, 0, 10);
    char id[16];
    for (uint64_t i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "e%llu", (unsigned long long)i);
        add(t, id, 0, i);
    }
    /* Newest arrival 19: entries 0..8 have more than 10 after them. */
    assert_int_equal(pending_expire(t, 0, 19), 9);
    assert_false(pending_contains(t, "e8"));
    assert_true(pending_contains(t, "e9"));
    pending_free(t);
}

static void bad_parameters(void **state)
{
    pending_params p;
    pending_params_default(&p);
    assert_int_equal(p.capacity, 100000);
    p.capacity = 0;
    char *cause = NULL;
    assert_null(pending_new(&p, &cause));
    assert_non_null(cause);
    free(cause);
    p.capacity = 10;
    p.max_age = -1;
    assert_null(pending_new(&p, NULL));
}

/* Random add / take / expire against a plain array of what must be held. */
static void random_run_matches_a_plain_model(void **state)
{
    enum { CAP = 64, IDS = 200, STEPS = 200000 };
    pending *t = make(CAP, 0, 0);
    int held[IDS] = {0};  /* 1 if the model says id i is held */
    uint64_t order[IDS];  /* arrival number of i's entry */
    uint64_t clock = 0;
    rng_t r;
    rng_seed(&r, 7);
    char id[16];
    for (int step = 0; step < STEPS; step++) {
        int i = (int)rng_below(&r, IDS);
        snprintf(id, sizeof id, "id-%d", i);
        if (rng_below(&r, 2)) {
            int n = 0, oldest = -1;
            for (int k = 0; k < IDS; k++) {
                n += held[k];
                if (held[k] && k != i && (oldest < 0 || order[k] < order[oldest]))
                    oldest = k;
            }
            if (!held[i] && n == CAP)
                held[oldest] = 0; /* the table evicts its oldest */
            assert_int_equal(add(t, id, 0, clock), DD_OK);
            held[i] = 1;
            order[i] = clock++;
        } else {
            pending_entry e;
            dd_err err = pending_take(t, id, &e);
            assert_int_equal(err, held[i] ? DD_OK : DD_ENOTFOUND);
            if (!err)
                assert_string_equal(e.id, id);
            pending_entry_clear(&e);
            held[i] = 0;
        }
        if (step % 1000 == 0)
            for (int k = 0; k < IDS; k++) {
                snprintf(id, sizeof id, "id-%d", k);
                assert_int_equal(pending_contains(t, id), held[k]);
            }
    }
    pending_stats st;
    pending_get_stats(t, &st);
    int n = 0;
    for (int k = 0; k < IDS; k++)
        n += held[k];
    assert_int_equal(st.held, (uint64_t)n);
    assert_true(st.held <= CAP);
    pending_free(t);
}

/* A checkpoint of the table: the held entries come back in arrival order
 * with their inputs and predictions, the counters with them; a label after
 * the restart joins. */
static void checkpoint_round_trip(void **state)
{
    (void)state;
    pending *t = make(8, 0, 0);
    assert_int_equal(add(t, "a", 1.0, 1), DD_OK);
    assert_int_equal(add(t, "b", 2.0, 2), DD_OK);
    assert_int_equal(add(t, "c", 3.0, 3), DD_OK);
    pending_entry e;
    assert_int_equal(pending_take(t, "b", &e), DD_OK);
    pending_entry_clear(&e);
    assert_int_equal(pending_take(t, "zz", &e), DD_ENOTFOUND); /* an orphan, counted */
    ser_writer w = {0};
    assert_int_equal(pending_serialize(t, &w), DD_OK);

    pending *u = make(8, 0, 0);
    ser_reader r;
    ser_reader_init(&r, w.buf, w.len);
    assert_int_equal(pending_deserialize(u, &r, 8, NULL), DD_OK);
    pending_stats a, b;
    pending_get_stats(t, &a);
    pending_get_stats(u, &b);
    assert_int_equal(b.held, 2);
    assert_int_equal(b.added, a.added);
    assert_int_equal(b.joined, a.joined);
    assert_int_equal(b.orphans, 1);
    assert_int_equal(pending_expire(u, 0, 4), 0);
    assert_int_equal(pending_take(u, "c", &e), DD_OK);
    assert_string_equal(e.group, "eu");
    assert_true(e.ts == 3.0 && e.seq == 3 && e.x.n == 2 && e.x.idx[1] == 7);
    assert_true(e.x.val[1] == -1.25 && e.npred == 2 && e.pred[1].version == 5);
    assert_true(e.pred[0].out.cls == 1 && e.pred[0].out.score == 0.9);
    pending_entry_clear(&e);
    pending_params one = {1, 0, 0}; /* a smaller table keeps the newest, counted */
    pending *v = pending_new(&one, NULL);
    ser_reader_init(&r, w.buf, w.len);
    assert_int_equal(pending_deserialize(v, &r, 8, NULL), DD_OK);
    assert_int_equal(pending_contains(v, "c"), 1);
    pending_get_stats(v, &b);
    assert_int_equal(b.evicted, a.evicted + 1);
    pending_free(t);
    pending_free(u);
    pending_free(v);
    free(w.buf);
}

/* A corrupted checkpoint is refused, never trusted: an index at or beyond
 * the model's dimension, a truncation, a table that is not empty. */
static void checkpoint_refusals(void **state)
{
    (void)state;
    pending *t = make(8, 0, 0);
    assert_int_equal(add(t, "a", 1.0, 1), DD_OK);
    ser_writer w = {0};
    assert_int_equal(pending_serialize(t, &w), DD_OK);
    ser_reader r;
    char *cause = NULL;
    pending *u = make(8, 0, 0);
    ser_reader_init(&r, w.buf, w.len);
    assert_int_equal(pending_deserialize(u, &r, 7, &cause), DD_ECORRUPT); /* index 7 */
    assert_non_null(cause);
    free(cause);
    cause = NULL;
    pending_free(u);
    u = make(8, 0, 0);
    ser_reader_init(&r, w.buf, w.len - 3);
    assert_int_equal(pending_deserialize(u, &r, 8, &cause), DD_ECORRUPT);
    free(cause);
    cause = NULL;
    ser_reader_init(&r, w.buf, w.len);
    assert_int_equal(pending_deserialize(t, &r, 8, &cause), DD_ESTATE); /* t holds "a" */
    free(cause);
    pending_free(t);
    pending_free(u);
    free(w.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(label_joins_with_everything_kept),
        cmocka_unit_test(same_id_replaces_and_counts),
        cmocka_unit_test(full_table_evicts_the_oldest),
        cmocka_unit_test(expiry_by_event_time_and_by_count),
        cmocka_unit_test(bad_parameters),
        cmocka_unit_test(random_run_matches_a_plain_model),
        cmocka_unit_test(checkpoint_round_trip),
        cmocka_unit_test(checkpoint_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
