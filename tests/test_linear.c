/*
 * test_linear.c: the linear models' learning step. Gradients against central
 * finite differences of model_loss() (the gradient is read back from one SGD
 * step: delta w = -lr g), learning a separable problem, and the transaction:
 * a step that would make a parameter non-finite is refused and the model is
 * left bit-identical.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "learn_util.h"

/* Fill every weight of the model with small random values. */
static void randomize(model *m, uint64_t seed)
{
    for (uint32_t i = 0; i < m->nblocks; i++)
        randomize_block(m, i, 0.5, seed + i);
}

/* The gradient one SGD step applied to parameter k of block 0 equals the
 * finite difference of the loss in that parameter. */
static void check_gradient(model_params *p, double target, uint32_t nclass)
{
    p->optim = OPTIM_SGD;
    p->schedule = SCHEDULE_CONSTANT; /* delta w = -lr g exactly */
    p->lr = 1e-3;
    model *m = model_new(p, 8, NULL);
    assert_non_null(m);
    assert_int_equal(model_grow(m, nclass), DD_OK);
    randomize(m, 7);
    uint32_t idx[] = {1, 4, 6};
    double val[] = {0.7, -1.3, 2.0};
    dd_sparse x;
    make_input(&x, idx, val, 3);

    model *after = model_clone(m);
    assert_non_null(after);
    double loss = 0;
    assert_int_equal(model_learn(after, &x, target, 1.0, &loss), DD_OK);
    assert_close(loss, model_loss(m, &x, target), 1e-12);

    pblock *b = &m->b[0];
    uint32_t rows[] = {1, 4, 6, 8 /* bias */};
    for (size_t ri = 0; ri < DD_ARRAY_LEN(rows); ri++)
        for (uint32_t j = 0; j < b->width; j++) {
            size_t k = (size_t)rows[ri] * b->stride + j;
            double w0 = b->w[k], h = 1e-5;
            b->w[k] = w0 + h;
            double lp = model_loss(m, &x, target);
            b->w[k] = w0 - h;
            double lm = model_loss(m, &x, target);
            b->w[k] = w0;
            double fd = (lp - lm) / (2 * h);
            double g = (w0 - after->b[0].w[k]) / p->lr;
            assert_close(g, fd, 1e-5);
        }
    model_free(after);
    model_free(m);
    sparse_free(&x);
}

static void test_logistic_gradient(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    check_gradient(&p, 1.0, 2);
    check_gradient(&p, 0.0, 2);
}

static void test_softmax_gradient(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    p.task = TASK_MULTICLASS;
    check_gradient(&p, 2.0, 4);
}

static void test_regression_gradients(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    p.task = TASK_REGRESSION;
    check_gradient(&p, 0.8, 1);
    p.loss = LOSS_HUBER;
    p.huber_delta = 0.5;
    check_gradient(&p, 3.0, 1); /* |residual| > delta: linear part */
    p.huber_delta = 50;
    check_gradient(&p, 0.3, 1); /* quadratic part */
}

static void test_learns_separable(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    p.lr = 0.5;
    model *m = model_new(&p, 4, NULL);
    assert_non_null(m);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 4), DD_OK);
    rng_t r;
    rng_seed(&r, 1);
    for (int i = 0; i < 5000; i++) {
        double y = separable(&r, &x);
        assert_int_equal(model_learn(m, &x, y, 1.0, NULL), DD_OK);
    }
    int right = 0;
    for (int i = 0; i < 2000; i++) {
        double y = separable(&r, &x);
        model_output o;
        model_predict(m, &x, &o);
        right += o.cls == (int)y;
    }
    assert_true(right > 1940); /* > 97 % */
    assert_int_equal(model_steps(m), 5000);
    assert_int_equal(model_refused_steps(m), 0);
    model_free(m);
    sparse_free(&x);
}

static bool same_block(const pblock *a, const pblock *b)
{
    size_t n = (size_t)a->rows * a->stride;
    return a->rows == b->rows && a->width == b->width && !memcmp(a->w, b->w, n * sizeof *a->w) &&
           (!a->s1 || !memcmp(a->s1, b->s1, n * sizeof *a->s1)) &&
           (!a->s2 || !memcmp(a->s2, b->s2, n * sizeof *a->s2)) &&
           !memcmp(a->last, b->last, a->rows * sizeof *a->last);
}

static void check_refusal(model_optim optim)
{
    model_params p;
    model_params_default(&p);
    p.optim = optim;
    p.lr = 0.5;
    model *m = model_new(&p, 4, NULL);
    assert_non_null(m);
    uint32_t idx[] = {0, 2};
    double ok[] = {1.0, -0.5};
    dd_sparse x;
    make_input(&x, idx, ok, 2);
    for (int i = 0; i < 10; i++)
        assert_int_equal(model_learn(m, &x, i & 1, 1.0, NULL), DD_OK);
    model *before = model_clone(m);
    assert_non_null(before);

    x.val[1] = NAN;
    assert_int_equal(model_learn(m, &x, 1.0, 1.0, NULL), DD_ENONFINITE);
    x.val[1] = 1e308; /* finite input, but the step would overflow */
    model_output o;
    model_predict(m, &x, &o);
    dd_err e = model_learn(m, &x, 1 - o.cls, 1e308, NULL); /* a wrong prediction: dz != 0 */
    assert_int_equal(e, DD_ENONFINITE);

    assert_int_equal(model_refused_steps(m), 2);
    assert_int_equal(model_steps(m), model_steps(before));
    assert_true(same_block(&m->b[0], &before->b[0]));
    model_free(before);
    model_free(m);
    sparse_free(&x);
}

static void test_refused_step_leaves_model_identical(void **state)
{
    (void)state;
    check_refusal(OPTIM_SGD);
    check_refusal(OPTIM_ADAM);
    check_refusal(OPTIM_ADAGRAD);
    check_refusal(OPTIM_FTRL);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    char *cause = NULL;
    p.lr = -1;
    assert_null(model_new(&p, 4, &cause));
    assert_non_null(cause);
    assert_non_null(strstr(cause, "lr"));
    free(cause);
    model_params_default(&p);
    model *m = model_new(&p, 4, NULL);
    uint32_t idx[] = {9};
    double val[] = {1};
    dd_sparse x;
    make_input(&x, idx, val, 1);
    assert_int_equal(model_learn(m, &x, 1, 1, NULL), DD_EINVAL); /* index out of range */
    x.idx[0] = 1;
    assert_int_equal(model_learn(m, &x, 2, 1, NULL), DD_EINVAL); /* binary label 2 */
    assert_int_equal(model_learn(m, &x, 1, 0, NULL), DD_EINVAL); /* weight 0 */
    assert_int_equal(model_steps(m), 0);
    model_free(m);
    model_free(NULL);
    sparse_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logistic_gradient),
        cmocka_unit_test(test_softmax_gradient),
        cmocka_unit_test(test_regression_gradients),
        cmocka_unit_test(test_learns_separable),
        cmocka_unit_test(test_refused_step_leaves_model_identical),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
