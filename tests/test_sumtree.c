/*
 * test_sumtree.c: the sum-tree's invariants (root = sum of leaves and min of
 * the positive leaves, after any sequence of updates) and its sampling:
 * drawing u uniform in [0, total) picks each leaf with a frequency
 * proportional to its priority, within a chi-square bound over 100k draws
 * (fixed seed), and never a leaf of priority 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "rng.h"
#include "sumtree.h"

#include <math.h>

static void test_root_is_sum_after_any_updates(void **state)
{
    (void)state;
    enum { N = 37 };
    sumtree *t = sumtree_new(N);
    assert_non_null(t);
    double ref[N] = {0};
    rng_t r;
    rng_seed(&r, 5);
    for (int step = 0; step < 20000; step++) {
        uint32_t i = (uint32_t)rng_below(&r, N);
        double p = rng_uniform(&r) < 0.2 ? 0.0 : 100 * rng_uniform(&r);
        sumtree_set(t, i, p);
        ref[i] = p;
        if (step % 97 == 0 || step == 19999) {
            double sum = 0, mn = INFINITY;
            for (int k = 0; k < N; k++) {
                sum += ref[k];
                if (ref[k] > 0 && ref[k] < mn)
                    mn = ref[k];
                assert_true(sumtree_get(t, (uint32_t)k) == ref[k]);
            }
            assert_true(fabs(sumtree_total(t) - sum) <= 1e-9 * sum);
            assert_true(sumtree_min(t) == (isfinite(mn) ? mn : 0.0));
        }
    }
    sumtree_set(t, 3, NAN); /* bad priorities count as 0 */
    assert_true(sumtree_get(t, 3) == 0.0);
    sumtree_set(t, N, 5.0); /* out of range: ignored */
    sumtree_clear(t);
    assert_true(sumtree_total(t) == 0.0);
    assert_true(sumtree_min(t) == 0.0);
    sumtree_free(t);
    sumtree_free(NULL);
    assert_null(sumtree_new(0));
}

static void test_sampling_is_proportional(void **state)
{
    (void)state;
    enum { N = 50, DRAWS = 100000 };
    sumtree *t = sumtree_new(N);
    rng_t r;
    rng_seed(&r, 2015);
    double p[N];
    for (int i = 0; i < N; i++) {
        p[i] = i % 10 == 3 ? 0.0 : 0.1 + rng_uniform(&r) * 10;
        sumtree_set(t, (uint32_t)i, p[i]);
    }
    unsigned count[N] = {0};
    for (int d = 0; d < DRAWS; d++)
        count[sumtree_find(t, rng_uniform(&r) * sumtree_total(t))]++;
    double chi = 0, total = sumtree_total(t);
    int bins = 0;
    for (int i = 0; i < N; i++) {
        if (p[i] == 0) {
            assert_int_equal(count[i], 0);
            continue;
        }
        double e = DRAWS * p[i] / total;
        chi += (count[i] - e) * (count[i] - e) / e;
        bins++;
    }
    /* 44 degrees of freedom: the 0.999 quantile of chi-square is 78.75 */
    assert_int_equal(bins, 45);
    if (!(chi < 78.75))
        fail_msg("chi-square %g over %d bins", chi, bins);
    /* the ends and out-of-range u */
    assert_int_equal(sumtree_find(t, -1.0), 0);
    assert_true(p[sumtree_find(t, total * 2)] > 0);
    sumtree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_is_sum_after_any_updates),
        cmocka_unit_test(test_sampling_is_proportional),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
