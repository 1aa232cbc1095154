/*
 * test_replay.c: the replay buffer. Reservoir insertion keeps every event of
 * the stream with the same probability (chi-square over many seeded runs);
 * prioritized draws follow p^alpha (chi-square) with the importance weights
 * of Schaul et al. and beta annealed to 1; the class-balanced reservoir keeps
 * a rare class; the drift policies (drop, decay, keep tagged); entries are
 * copies of the input; the console's listing; no allocation in steady state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "replay.h"
#include "rng.h"

#include <math.h>
#include <string.h>

static void one_input(dd_sparse *x, uint32_t i, double v)
{
    sparse_clear(x);
    sparse_push(x, i, v);
}

static void test_reservoir_is_uniform(void **state)
{
    (void)state;
    enum { STREAM = 500, CAP = 50, RUNS = 2000 };
    static unsigned kept[STREAM];
    memset(kept, 0, sizeof kept);
    replay_params p;
    replay_params_default(&p);
    p.capacity = CAP;
    p.mode = REPLAY_RESERVOIR;
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 2), DD_OK);
    for (int run = 0; run < RUNS; run++) {
        p.seed = 1000 + (uint64_t)run;
        replay *r = replay_new(&p, NULL);
        assert_non_null(r);
        for (uint32_t i = 0; i < STREAM; i++) {
            one_input(&x, i, 1.0);
            assert_int_equal(replay_push(r, &x, 0, -1, 0.5, i), DD_OK);
        }
        assert_int_equal(replay_size(r), CAP);
        for (uint32_t k = 0; k < CAP; k++) {
            replay_info info;
            assert_int_equal(replay_entry(r, k, &info), DD_OK);
            kept[STREAM - 1 - info.age]++;
        }
        replay_free(r);
    }
    double e = (double)RUNS * CAP / STREAM, chi = 0;
    for (int i = 0; i < STREAM; i++)
        chi += (kept[i] - e) * (kept[i] - e) / e;
    /* inclusions are near-binomial: chi-square with 499 dof, 0.999 quantile 606.5 */
    if (!(chi < 606.5))
        fail_msg("reservoir chi-square %g", chi);
    sparse_free(&x);
}

static void test_prioritized_follows_priorities(void **state)
{
    (void)state;
    enum { N = 20, DRAWS = 100000 };
    replay_params p;
    replay_params_default(&p);
    p.capacity = N;
    p.alpha = 0.6;
    p.eps = 0.01;
    p.beta = 0.4;
    p.beta_steps = DRAWS;
    replay *r = replay_new(&p, NULL);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 2), DD_OK);
    double loss[N], pa[N], total = 0;
    for (uint32_t i = 0; i < N; i++) {
        loss[i] = 0.05 * (i + 1) * ((i & 1) ? -1 : 1); /* |loss| is used */
        one_input(&x, i, 1.0);
        assert_int_equal(replay_push(r, &x, 1, -1, loss[i], i), DD_OK);
        pa[i] = pow(fabs(loss[i]) + 0.01, 0.6);
        total += pa[i];
    }
    unsigned count[N] = {0};
    replay_draw d[4]; /* the last check draws 4 */
    assert_true(fabs(replay_beta(r) - 0.4) < 1e-12);
    for (int k = 0; k < DRAWS; k++) {
        assert_int_equal(replay_sample(r, 1, d), 1);
        count[d[0].slot]++;
        assert_int_equal(d[0].x->idx[0], d[0].slot);
        if (k == 0) { /* w = (p_i / p_min)^-beta */
            double w = pow(pa[d[0].slot] / pa[0], -0.4);
            assert_true(fabs(d[0].is_weight - w) < 1e-9);
        }
    }
    double chi = 0;
    for (int i = 0; i < N; i++) {
        double e = DRAWS * pa[i] / total;
        chi += (count[i] - e) * (count[i] - e) / e;
    }
    /* 19 degrees of freedom: 0.999 quantile 43.82 */
    if (!(chi < 43.82))
        fail_msg("prioritized chi-square %g", chi);
    assert_true(replay_beta(r) == 1.0); /* annealed */
    assert_int_equal(replay_sample(r, 4, d), 4 > 1 ? 4 : 1);
    replay_free(r);
    sparse_free(&x);
}

static void test_update_changes_priority(void **state)
{
    (void)state;
    replay_params p;
    replay_params_default(&p);
    p.capacity = 4;
    p.alpha = 1.0;
    replay *r = replay_new(&p, NULL);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 2), DD_OK);
    for (uint32_t i = 0; i < 4; i++) {
        one_input(&x, i, 1.0);
        assert_int_equal(replay_push(r, &x, 0, -1, 1.0, i), DD_OK);
    }
    replay_update(r, 2, 1000.0);
    replay_info top[2];
    assert_int_equal(replay_top(r, top, 2), 2);
    assert_int_equal(top[0].slot, 2);
    assert_true(fabs(top[0].priority - 1000.01) < 1e-9);
    replay_draw d[8];
    unsigned hits = 0;
    for (int k = 0; k < 100; k++) {
        uint32_t n = replay_sample(r, 1, d);
        hits += n == 1 && d[0].slot == 2;
    }
    assert_true(hits > 95);
    replay_free(r);
    sparse_free(&x);
}

static void test_stratified_keeps_rare_class(void **state)
{
    (void)state;
    replay_params p;
    replay_params_default(&p);
    p.capacity = 100;
    p.stratify = true;
    replay *r = replay_new(&p, NULL);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 2), DD_OK);
    rng_t g;
    rng_seed(&g, 3);
    for (uint32_t i = 0; i < 20000; i++) {
        int32_t cls = rng_uniform(&g) < 0.02 ? 1 : 0; /* 2 % positives */
        one_input(&x, i, 1.0);
        assert_int_equal(replay_push(r, &x, cls, cls, 0.5, i), DD_OK);
    }
    unsigned rare = 0;
    for (uint32_t k = 0; k < replay_size(r); k++) {
        replay_info info;
        replay_entry(r, k, &info);
        rare += info.target == 1;
    }
    assert_true(rare >= 45 && rare <= 50); /* balanced, not 2 % */
    replay_free(r);
    sparse_free(&x);
}

static replay *filled(replay_drift_policy pol, uint32_t n)
{
    replay_params p;
    replay_params_default(&p);
    p.capacity = 10;
    p.on_drift = pol;
    p.drift_decay = 0.5;
    p.alpha = 1;
    replay *r = replay_new(&p, NULL);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 2), DD_OK);
    for (uint32_t i = 0; i < n; i++) {
        one_input(&x, i, 2.0);
        assert_int_equal(replay_push(r, &x, 1, -1, 1.0, i), DD_OK);
    }
    sparse_free(&x);
    return r;
}

static void test_drift_policies(void **state)
{
    (void)state;
    replay *r = filled(REPLAY_DRIFT_DROP, 30);
    replay_on_drift(r);
    assert_int_equal(replay_size(r), 0);
    replay_draw d[2];
    assert_int_equal(replay_sample(r, 2, d), 0);
    assert_int_equal(replay_concept(r), 1);
    replay_free(r);

    r = filled(REPLAY_DRIFT_DECAY, 30);
    replay_on_drift(r);
    assert_int_equal(replay_size(r), 10);
    replay_info info;
    replay_entry(r, 0, &info);
    assert_true(fabs(info.priority - 0.505) < 1e-12); /* (1 + 0.01) * 0.5 */
    assert_int_equal(info.concept, 0);
    /* the reservoir restarted: the next events enter at once */
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 2), DD_OK);
    unsigned fresh = 0;
    for (uint32_t i = 30; i < 40; i++) {
        one_input(&x, i, 2.0);
        replay_push(r, &x, 0, -1, 1.0, i);
    }
    for (uint32_t k = 0; k < 10; k++) {
        replay_entry(r, k, &info);
        fresh += info.concept == 1;
    }
    assert_true(fresh >= 3);
    replay_free(r);

    r = filled(REPLAY_DRIFT_KEEP_TAGGED, 10);
    replay_on_drift(r);
    replay_entry(r, 3, &info);
    assert_int_equal(info.concept, 0);
    assert_true(fabs(info.priority - 1.01) < 1e-12);
    replay_free(r);
    sparse_free(&x);
}

static void test_entries_are_copies_and_listed(void **state)
{
    (void)state;
    replay_params p;
    replay_params_default(&p);
    p.capacity = 8;
    p.max_nnz = 3;
    replay *r = replay_new(&p, NULL);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 8), DD_OK);
    sparse_push(&x, 12, 0.5);
    sparse_push(&x, 7, -1.25);
    assert_int_equal(replay_push(r, &x, 1, -1, -2.0, 41), DD_OK);
    x.val[0] = 99; /* the caller reuses its vector */
    sparse_push(&x, 1, 1);
    sparse_push(&x, 2, 1);
    assert_int_equal(replay_push(r, &x, 0, -1, 0, 42), DD_ELIMIT);
    assert_int_equal(replay_too_large(r), 1);
    replay_info info;
    assert_int_equal(replay_entry(r, 0, &info), DD_OK);
    assert_string_equal(info.summary, "12:0.5 7:-1.25");
    assert_int_equal(info.age, 1);
    assert_true(info.loss == -2.0 && info.target == 1);
    assert_true(fabs(info.priority - 2.01) < 1e-12);
    assert_int_equal(replay_entry(r, 1, &info), DD_ENOTFOUND);
    replay_draw d[1];
    assert_int_equal(replay_sample(r, 1, d), 1);
    assert_true(d[0].x->val[0] == 0.5);
    replay_free(r);
    replay_free(NULL);
    sparse_free(&x);
    char *cause = NULL;
    p.alpha = 2;
    assert_null(replay_new(&p, &cause));
    assert_non_null(strstr(cause, "alpha"));
    free(cause);
}

static void test_no_allocation_in_steady_state(void **state)
{
    (void)state;
    replay_params p;
    replay_params_default(&p);
    p.capacity = 64;
    replay *r = replay_new(&p, NULL);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 4), DD_OK);
    for (uint32_t i = 0; i < 3; i++)
        sparse_push(&x, i, 1);
    for (uint32_t i = 0; i < 64; i++)
        replay_push(r, &x, 0, -1, 1, i);
    size_t held = replay_memory(r);
    for (uint32_t i = 64; i < 10000; i++)
        replay_push(r, &x, 0, -1, 1, i);
    assert_int_equal(replay_memory(r), held);
    replay_free(r);
    sparse_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reservoir_is_uniform),
        cmocka_unit_test(test_prioritized_follows_priorities),
        cmocka_unit_test(test_update_changes_priority),
        cmocka_unit_test(test_stratified_keeps_rare_class),
        cmocka_unit_test(test_drift_policies),
        cmocka_unit_test(test_entries_are_copies_and_listed),
        cmocka_unit_test(test_no_allocation_in_steady_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
