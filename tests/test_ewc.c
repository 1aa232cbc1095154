/*
 * test_ewc.c: online EWC. The penalty and its gradient against values
 * computed by hand; consolidation folds the Fisher as Schwarz et al. 2018
 * (F <- gamma F + mean g^2) and moves the anchor; the penalty's pull in a
 * learning step equals w - lr 2 lambda F (w - a) for a touched coordinate
 * with no loss gradient; and EWC keeps weights near the anchor while a new
 * task is learned.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "ewc.h"
#include "learn_util.h"

static void test_formulas_by_hand(void **state)
{
    (void)state;
    /* lambda 0.5, F 4, w 1.5, a 0.5: 0.5 * 4 * 1^2 = 2; gradient 2 * 0.5 * 4 * 1 = 4 */
    assert_close(ewc_term(0.5, 4, 1.5, 0.5), 2.0, 1e-15);
    assert_close(ewc_term_grad(0.5, 4, 1.5, 0.5), 4.0, 1e-15);
    double f[] = {4, 1, 0}, a[] = {0.5, -1, 3}, w[] = {1.5, 1, 100};
    assert_close(ewc_penalty(f, a, w, 3, 0.5), 2.0 + 0.5 * 1 * 4, 1e-15);
    /* the gradient is the derivative of the term */
    double h = 1e-6;
    double fd = (ewc_term(0.7, 2.5, 0.3 + h, -0.2) - ewc_term(0.7, 2.5, 0.3 - h, -0.2)) / (2 * h);
    assert_close(ewc_term_grad(0.7, 2.5, 0.3, -0.2), fd, 1e-8);
    /* online folding: F = gamma F + g2 / steps; anchor = w; g2 = 0 */
    double g2[] = {8, 2, 0};
    ewc_fold(f, a, g2, w, 3, 4, 0.5);
    assert_close(f[0], 0.5 * 4 + 2, 1e-15);
    assert_close(f[1], 0.5 * 1 + 0.5, 1e-15);
    assert_close(f[2], 0, 1e-15);
    assert_true(a[0] == 1.5 && a[1] == 1 && a[2] == 100);
    assert_true(g2[0] == 0 && g2[1] == 0);
}

static void test_model_penalty_and_pull(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    p.lr = 0.1;
    p.schedule = SCHEDULE_CONSTANT;
    p.ewc_lambda = 0.5;
    p.ewc_gamma = 0.9;
    model *m = model_new(&p, 2, NULL);
    assert_non_null(m);
    pblock *b = &m->b[0];
    /* hand-set state: weights, and squared gradients summed over 4 steps */
    b->w[0] = 1.0;
    b->w[1] = -2.0;
    b->w[2] = 0.25; /* bias */
    b->g2[0] = 8.0;
    b->g2[1] = 4.0;
    b->g2[2] = 0.0;
    m->ewc_n = 4;
    assert_true(model_ewc_penalty(m) == 0.0); /* nothing consolidated yet */
    model_consolidate(m);
    assert_int_equal(model_consolidations(m), 1);
    assert_close(b->fisher[0], 2.0, 1e-15);
    assert_close(b->fisher[1], 1.0, 1e-15);
    assert_true(b->anchor[0] == 1.0 && b->anchor[1] == -2.0);
    /* move away from the anchor: penalty 0.5 * (2 * 0.5^2 + 1 * 1^2) = 0.75 */
    b->w[0] = 1.5;
    b->w[1] = -1.0;
    assert_close(model_ewc_penalty(m), 0.75, 1e-15);
    /* a step touching coordinate 0 with value 0 has no loss gradient on it:
     * only the pull, w - lr * 2 lambda F (w - a) = 1.5 - 0.1 * 2 * 0.5 * 2 * 0.5 */
    uint32_t idx[] = {0};
    double val[] = {0.0};
    dd_sparse x;
    make_input(&x, idx, val, 1);
    assert_int_equal(model_learn(m, &x, 1.0, 1.0, NULL), DD_OK);
    assert_close(b->w[0], 1.5 - 0.1 * 2 * 0.5 * 2 * 0.5, 1e-15);
    /* coordinate 1 was not touched: read lazily, the same pull once */
    model_consolidate(m); /* catches every row up first, then folds */
    assert_close(b->w[1], -1.0 - 0.1 * 2 * 0.5 * 1 * 1.0, 1e-15);
    /* online: F = 0.9 F + new mean (g2 of coordinate 1 was 0 in that one step) */
    assert_close(b->fisher[1], 0.9, 1e-15);
    model_free(m);
    sparse_free(&x);
}

/* Task A: y = [x0 > 0]; task B: y = [x1 > 0]. With EWC the weight of x0
 * learned on A survives training on B far better. */
static double task(rng_t *r, dd_sparse *x, int which)
{
    sparse_clear(x);
    double a = rng_normal(r), b = rng_normal(r);
    sparse_push(x, 0, a);
    sparse_push(x, 1, b);
    return (which ? b : a) > 0;
}

static double w0_after_b(double lambda)
{
    model_params p;
    model_params_default(&p);
    p.lr = 0.1;
    p.ewc_lambda = lambda;
    model *m = model_new(&p, 2, NULL);
    rng_t r;
    rng_seed(&r, 6);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 2), DD_OK);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(model_learn(m, &x, task(&r, &x, 0), 1, NULL), DD_OK);
    model_consolidate(m);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(model_learn(m, &x, task(&r, &x, 1), 1, NULL), DD_OK);
    double w0 = m->b[0].w[0];
    model_free(m);
    sparse_free(&x);
    return w0;
}

static void test_ewc_keeps_old_weights(void **state)
{
    (void)state;
    double plain = w0_after_b(0.0), ewc = w0_after_b(50.0);
    assert_true(ewc > 2 * plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formulas_by_hand),
        cmocka_unit_test(test_model_penalty_and_pull),
        cmocka_unit_test(test_ewc_keeps_old_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
