/*
 * test_learner.c: the per-event learner. It learns with replay (k replayed
 * steps per event); EWC consolidates after a stable stretch, never at an
 * alarm (warnings and drifts restart the count); a drift applies the replay
 * policy, restarts the schedule, resets EWC if asked, and grows a
 * progressive MLP; class weights follow inverse class frequency; a model can
 * be replaced (rollback); memory stays flat in steady state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "learn_util.h"
#include "learner.h"

static learner *make(model_params *mp, learner_params *lp)
{
    char *cause = NULL;
    learner *l = learner_new(mp, lp, 4, &cause);
    if (!l)
        fail_msg("learner_new: %s", cause ? cause : "?");
    return l;
}

static void test_learns_with_replay(void **state)
{
    (void)state;
    model_params mp;
    model_params_default(&mp);
    learner_params lp;
    learner_params_default(&lp);
    lp.replay_k = 3;
    learner *l = make(&mp, &lp);
    rng_t r;
    rng_seed(&r, 1);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 4), DD_OK);
    learner_step s;
    for (uint64_t i = 0; i < 3000; i++) {
        double y = separable(&r, &x);
        assert_int_equal(learner_learn(l, &x, y, i, &s), DD_OK);
        assert_true(s.learned);
        assert_int_equal(s.replayed, i == 0 ? 0 : 3);
    }
    const learner_stats *st = learner_get_stats(l);
    assert_int_equal(st->learned, 3000);
    assert_int_equal(st->replayed, 3 * 2999);
    assert_int_equal(replay_size(learner_replay(l)), 3000);
    int right = 0;
    for (int i = 0; i < 1000; i++) {
        double y = separable(&r, &x);
        model_output o;
        learner_predict(l, &x, &o);
        right += o.cls == (int)y;
    }
    assert_true(right > 970);
    /* a bad target changes nothing */
    uint64_t steps = model_steps(learner_model(l));
    assert_int_equal(learner_learn(l, &x, 7, 3000, NULL), DD_EINVAL);
    assert_int_equal(model_steps(learner_model(l)), steps);
    /* a refused step is counted, and the event is not kept for replay */
    x.val[0] = NAN;
    assert_int_equal(learner_learn(l, &x, 1, 3000, NULL), DD_ENONFINITE);
    assert_int_equal(learner_get_stats(l)->refused, 1);
    assert_int_equal(replay_size(learner_replay(l)), 3000);
    learner_free(l);
    learner_free(NULL);
    sparse_free(&x);
}

static void test_consolidates_after_stable_stretch(void **state)
{
    (void)state;
    model_params mp;
    model_params_default(&mp);
    mp.ewc_lambda = 1.0;
    learner_params lp;
    learner_params_default(&lp);
    lp.consolidate_every = 100;
    learner *l = make(&mp, &lp);
    rng_t r;
    rng_seed(&r, 2);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 4), DD_OK);
    uint64_t at[8];
    unsigned n = 0;
    for (uint64_t i = 0; i < 600; i++) {
        if (i == 150)
            learner_on_alarm(l, false, i); /* a warning */
        if (i == 300)
            learner_on_drift(l, i);
        learner_step s;
        assert_int_equal(learner_learn(l, &x, separable(&r, &x), i, &s), DD_OK);
        if (s.consolidated)
            at[n++] = i;
    }
    /* 99; the warning at 150 restarts the count: 250; the drift at 300: 400, 500 */
    assert_int_equal(n, 4);
    assert_int_equal(at[0], 99);
    assert_int_equal(at[1], 250);
    assert_int_equal(at[2], 400);
    assert_int_equal(at[3], 500);
    assert_int_equal(model_consolidations(learner_model(l)), 4);
    assert_int_equal(learner_get_stats(l)->last_consolidation, 500);
    learner_free(l);
    sparse_free(&x);
}

static void test_drift_policies(void **state)
{
    (void)state;
    model_params mp;
    model_params_default(&mp);
    mp.ewc_lambda = 1.0;
    mp.schedule = SCHEDULE_INVSCALING;
    learner_params lp;
    learner_params_default(&lp);
    lp.consolidate_every = 50;
    lp.ewc_on_drift = LEARNER_EWC_RESET;
    learner *l = make(&mp, &lp);
    rng_t r;
    rng_seed(&r, 3);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 4), DD_OK);
    for (uint64_t i = 0; i < 200; i++)
        assert_int_equal(learner_learn(l, &x, separable(&r, &x), i, NULL), DD_OK);
    for (uint64_t i = 200; i < 220; i++) /* the other concept: away from the anchor */
        assert_int_equal(learner_learn(l, &x, 1 - separable(&r, &x), i, NULL), DD_OK);
    assert_true(model_ewc_penalty(learner_model(l)) > 0);
    learner_on_drift(l, 220);
    assert_int_equal(replay_size(learner_replay(l)), 0);     /* dropped */
    assert_true(model_ewc_penalty(learner_model(l)) == 0.0); /* reset */
    assert_int_equal(learner_get_stats(l)->drifts, 1);
    learner_free(l);

    /* a progressive MLP gets a new column per drift, up to its cap */
    model_params_default(&mp);
    mp.kind = MODEL_MLP;
    mp.max_columns = 2;
    learner_params_default(&lp);
    l = make(&mp, &lp);
    learner_on_drift(l, 0);
    learner_on_drift(l, 1);
    assert_int_equal(model_num_columns(learner_model(l)), 2);
    assert_int_equal(learner_get_stats(l)->columns_added, 1);
    learner_free(l);
    sparse_free(&x);
}

static void test_class_weights(void **state)
{
    (void)state;
    model_params mp;
    model_params_default(&mp);
    learner_params lp;
    learner_params_default(&lp);
    lp.class_weights = true;
    lp.replay_on = false;
    learner *l = make(&mp, &lp);
    assert_null(learner_replay(l));
    uint32_t idx[] = {0};
    double val[] = {1.0};
    dd_sparse x;
    make_input(&x, idx, val, 1);
    for (uint64_t i = 0; i < 1000; i++)
        assert_int_equal(learner_learn(l, &x, i % 10 == 0, i, NULL), DD_OK);
    /* 100 positives, 900 negatives: w = 1000 / (2 n_c) */
    assert_close(learner_class_weight(l, 1), 5.0, 1e-12);
    assert_close(learner_class_weight(l, 0), 1000.0 / 1800.0, 1e-12);
    learner_free(l);
    sparse_free(&x);
}

static void test_replace_model(void **state)
{
    (void)state;
    model_params mp;
    model_params_default(&mp);
    learner_params lp;
    learner_params_default(&lp);
    learner *l = make(&mp, &lp);
    model *other = model_new(&mp, 4, NULL), *wrong = model_new(&mp, 5, NULL);
    assert_null(learner_replace_model(l, wrong));
    model *old = learner_replace_model(l, other);
    assert_non_null(old);
    assert_ptr_equal(learner_model(l), other);
    model_free(old);
    model_free(wrong);
    learner_free(l);
}

static void test_memory_flat_in_steady_state(void **state)
{
    (void)state;
    model_params mp;
    model_params_default(&mp);
    mp.ewc_lambda = 1;
    learner_params lp;
    learner_params_default(&lp);
    lp.replay.capacity = 500;
    learner *l = make(&mp, &lp);
    rng_t r;
    rng_seed(&r, 4);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 4), DD_OK);
    for (uint64_t i = 0; i < 1000; i++)
        assert_int_equal(learner_learn(l, &x, separable(&r, &x), i, NULL), DD_OK);
    size_t held = replay_memory(learner_replay(l));
    const double *scratch = learner_model(l)->scr;
    for (uint64_t i = 1000; i < 20000; i++)
        assert_int_equal(learner_learn(l, &x, separable(&r, &x), i, NULL), DD_OK);
    assert_int_equal(replay_memory(learner_replay(l)), held);
    assert_ptr_equal(learner_model(l)->scr, scratch);
    learner_free(l);
    sparse_free(&x);
}

static void feed(learner *l, rng_t *r, dd_sparse *x, uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i < to; i++) {
        if (i % 700 == 0)
            learner_on_drift(l, i);
        double y = separable(r, x);
        assert_int_equal(learner_learn(l, x, i % 1000 < 500 ? y : 1 - y, i, NULL), DD_OK);
    }
}

static void test_snapshot_round_trip(void **state)
{
    (void)state;
    model_params mp;
    model_params_default(&mp);
    learner_params lp;
    learner_params_default(&lp);
    lp.replay.capacity = 300;
    lp.replay.stratify = true;
    lp.class_weights = true;
    lp.consolidate_every = 200;
    learner *l = make(&mp, &lp);
    rng_t r;
    rng_seed(&r, 9);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 4), DD_OK);
    feed(l, &r, &x, 0, 2500);
    ser_writer w = {0};
    assert_int_equal(learner_serialize(l, &w), DD_OK);
    ser_reader rd;
    ser_reader_init(&rd, w.buf, w.len);
    learner *c = NULL;
    char *cause = NULL;
    assert_int_equal(learner_deserialize(&rd, &c, &cause), DD_OK);
    assert_null(cause);
    /* both go on identically: same draws, same steps, same predictions */
    rng_t r2 = r;
    feed(l, &r, &x, 2500, 4000);
    dd_sparse x2 = {0};
    assert_int_equal(sparse_reserve(&x2, 4), DD_OK);
    feed(c, &r2, &x2, 2500, 4000);
    assert_memory_equal(learner_get_stats(l), learner_get_stats(c), sizeof(learner_stats));
    ser_writer w1 = {0}, w2 = {0};
    assert_int_equal(learner_serialize(l, &w1), DD_OK);
    assert_int_equal(learner_serialize(c, &w2), DD_OK);
    assert_int_equal(w1.len, w2.len);
    assert_memory_equal(w1.buf, w2.buf, w1.len);
    /* damage anywhere is refused, never trusted */
    for (size_t i = 0; i < w.len; i += 7) {
        w.buf[i] ^= 0x04;
        ser_reader_init(&rd, w.buf, w.len);
        learner *bad = NULL;
        dd_err e = learner_deserialize(&rd, &bad, NULL);
        w.buf[i] ^= 0x04;
        assert_true(e == DD_ECORRUPT);
        assert_null(bad);
    }
    for (size_t n = 0; n < w.len; n += 13) {
        ser_reader_init(&rd, w.buf, n);
        learner *bad = NULL;
        assert_int_equal(learner_deserialize(&rd, &bad, NULL), DD_ECORRUPT);
        assert_null(bad);
    }
    free(w.buf);
    free(w1.buf);
    free(w2.buf);
    learner_free(c);
    learner_free(l);
    sparse_free(&x);
    sparse_free(&x2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_with_replay),
        cmocka_unit_test(test_consolidates_after_stable_stretch),
        cmocka_unit_test(test_drift_policies),
        cmocka_unit_test(test_class_weights),
        cmocka_unit_test(test_replace_model),
        cmocka_unit_test(test_memory_flat_in_steady_state),
        cmocka_unit_test(test_snapshot_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
