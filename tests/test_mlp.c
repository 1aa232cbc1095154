/*
 * test_mlp.c: the MLP and its progressive columns. Gradients of every layer
 * against central finite differences (read back from one SGD step), for each
 * activation, depth and task; a non-linear problem a linear model cannot
 * learn; progressive columns (frozen columns never change, lateral
 * connections get gradients, the cap, a returning concept finds its column);
 * predictions and embeddings are read-only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "learn_util.h"

static bool same_model_blocks(const model *a, const model *b)
{
    if (a->nblocks != b->nblocks || a->t != b->t)
        return false;
    for (uint32_t i = 0; i < a->nblocks; i++) {
        size_t n = (size_t)a->b[i].rows * a->b[i].stride;
        if (memcmp(a->b[i].w, b->b[i].w, n * sizeof(double)))
            return false;
    }
    return true;
}

/* Compare one SGD step's change of every learning-column parameter with
 * the finite difference of the learning column's loss. */
static void check_mlp_gradient(model *m, const dd_sparse *x, double target)
{
    m->active = m->ncols - 1; /* model_loss reads the active column */
    model *after = model_clone(m);
    assert_non_null(after);
    double loss;
    assert_int_equal(model_learn(after, x, target, 1.0, &loss), DD_OK);
    assert_close(loss, model_loss(m, x, target), 1e-12);
    uint32_t per = m->p.n_hidden + 1, col = m->ncols - 1;
    for (uint32_t bi = 0; bi < m->nblocks; bi++) {
        pblock *b = &m->b[bi], *ba = &after->b[bi];
        for (uint32_t r = 0; r < b->rows; r++) {
            bool touched = bi % per != 0 || r == m->dim;
            for (uint32_t i = 0; i < x->n; i++)
                touched |= x->idx[i] == r;
            if (!touched)
                continue;
            for (uint32_t j = 0; j < b->width; j++) {
                size_t k = (size_t)r * b->stride + j;
                double g = (b->w[k] - ba->w[k]) / m->p.lr;
                if (bi / per != col) {
                    assert_true(g == 0.0); /* frozen column */
                    continue;
                }
                double w0 = b->w[k], h = 1e-6;
                b->w[k] = w0 + h;
                double lp = model_loss(m, x, target);
                b->w[k] = w0 - h;
                double lm = model_loss(m, x, target);
                b->w[k] = w0;
                assert_close(g, (lp - lm) / (2 * h), 1e-4);
            }
        }
    }
    model_free(after);
}

static model *small_mlp(model_task task, uint32_t layers, model_activation a, uint32_t cols)
{
    model_params p;
    model_params_default(&p);
    p.kind = MODEL_MLP;
    p.task = task;
    p.n_hidden = layers;
    p.hidden[0] = 5;
    p.hidden[1] = 4;
    p.activation = a;
    p.lr = 1e-3;
    p.schedule = SCHEDULE_CONSTANT; /* delta w = -lr g exactly */
    p.max_columns = cols;
    model *m = model_new(&p, 10, NULL);
    assert_non_null(m);
    return m;
}

static void test_mlp_gradients(void **state)
{
    (void)state;
    uint32_t idx[] = {2, 5, 9};
    double val[] = {0.8, -1.1, 0.4};
    dd_sparse x;
    make_input(&x, idx, val, 3);
    struct {
        model_task task;
        uint32_t layers;
        model_activation act;
        double target;
    } cases[] = {
        {TASK_BINARY, 1, ACT_TANH, 1},        {TASK_BINARY, 2, ACT_TANH, 0},
        {TASK_BINARY, 2, ACT_RELU, 1},        {TASK_MULTICLASS, 1, ACT_TANH, 2},
        {TASK_MULTICLASS, 2, ACT_TANH, 1},    {TASK_REGRESSION, 2, ACT_TANH, 1.7},
        {TASK_REGRESSION, 1, ACT_RELU, -0.4},
    };
    for (size_t c = 0; c < DD_ARRAY_LEN(cases); c++) {
        model *m = small_mlp(cases[c].task, cases[c].layers, cases[c].act, 1);
        assert_int_equal(model_grow(m, 3), DD_OK);
        for (uint32_t bi = 0; bi < m->nblocks; bi++)
            if (m->b[bi].is_output)
                randomize_block(m, bi, 0.5, 100 + bi);
        check_mlp_gradient(m, &x, cases[c].target);
        model_free(m);
    }
    sparse_free(&x);
}

static void test_progressive_gradients_and_frozen(void **state)
{
    (void)state;
    uint32_t idx[] = {1, 3};
    double val[] = {1.2, -0.7};
    dd_sparse x;
    make_input(&x, idx, val, 2);
    for (uint32_t layers = 1; layers <= 2; layers++) {
        model *m = small_mlp(TASK_BINARY, layers, ACT_TANH, 3);
        assert_int_equal(model_add_column(m), DD_OK);
        assert_int_equal(model_add_column(m), DD_OK);
        assert_int_equal(model_add_column(m), DD_ESTATE); /* the cap */
        assert_int_equal(model_num_columns(m), 3);
        for (uint32_t bi = 0; bi < m->nblocks; bi++)
            if (m->b[bi].is_output)
                randomize_block(m, bi, 0.5, 200 + bi);
        check_mlp_gradient(m, &x, 1.0); /* includes the lateral rows */
        model_free(m);
    }
    sparse_free(&x);
}

/* y = [x0 * x1 > 0]: no linear model gets much above chance. */
static double xor_like(rng_t *r, dd_sparse *x)
{
    sparse_clear(x);
    double a = 2 * rng_uniform(r) - 1, b = 2 * rng_uniform(r) - 1;
    sparse_push(x, 0, a);
    sparse_push(x, 1, b);
    return a * b > 0 ? 1.0 : 0.0;
}

static double accuracy_on(model *m, double (*gen)(rng_t *, dd_sparse *), uint64_t seed)
{
    rng_t r;
    rng_seed(&r, seed);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 4), DD_OK);
    int right = 0;
    for (int i = 0; i < 1000; i++) {
        double y = gen(&r, &x);
        model_output o;
        model_predict(m, &x, &o);
        right += o.cls == (int)y;
    }
    sparse_free(&x);
    return right / 1000.0;
}

static void train(model *m, double (*gen)(rng_t *, dd_sparse *), int n, uint64_t seed)
{
    rng_t r;
    rng_seed(&r, seed);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 4), DD_OK);
    for (int i = 0; i < n; i++) {
        double y = gen(&r, &x);
        assert_int_equal(model_learn(m, &x, y, 1.0, NULL), DD_OK);
    }
    sparse_free(&x);
}

static void test_mlp_learns_nonlinear(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    p.kind = MODEL_MLP;
    p.optim = OPTIM_ADAM;
    p.lr = 0.01;
    p.hidden[0] = 16;
    p.activation = ACT_TANH;
    model *m = model_new(&p, 4, NULL);
    train(m, xor_like, 20000, 3);
    assert_true(accuracy_on(m, xor_like, 99) > 0.9);
    model_free(m);

    model_params_default(&p); /* the linear model cannot */
    model *lin = model_new(&p, 4, NULL);
    train(lin, xor_like, 20000, 3);
    assert_true(accuracy_on(lin, xor_like, 99) < 0.7);
    model_free(lin);
}

static double concept_a(rng_t *r, dd_sparse *x)
{
    return separable(r, x);
}

static double concept_b(rng_t *r, dd_sparse *x)
{
    return 1.0 - separable(r, x);
}

static void test_returning_concept_finds_its_column(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    p.kind = MODEL_MLP;
    p.optim = OPTIM_ADAM;
    p.lr = 0.01;
    p.max_columns = 4;
    p.column_decay = 0.95;
    model *m = model_new(&p, 4, NULL);
    train(m, concept_a, 4000, 1);
    assert_true(accuracy_on(m, concept_a, 50) > 0.95);
    model *frozen = model_clone(m);
    assert_int_equal(model_add_column(m), DD_OK);
    train(m, concept_b, 4000, 2);
    assert_int_equal(model_active_column(m), 1);
    assert_true(accuracy_on(m, concept_b, 51) > 0.95);
    /* the frozen column's blocks are exactly as they were */
    for (uint32_t bi = 0; bi < 2; bi++) {
        size_t n = (size_t)m->b[bi].rows * m->b[bi].stride;
        assert_memory_equal(m->b[bi].w, frozen->b[bi].w, n * sizeof(double));
    }
    train(m, concept_a, 200, 3);
    assert_int_equal(model_active_column(m), 0);
    assert_true(accuracy_on(m, concept_a, 52) > 0.95);
    model_free(frozen);
    model_free(m);
}

static void test_predict_and_embed_are_read_only(void **state)
{
    (void)state;
    model *m = small_mlp(TASK_MULTICLASS, 2, ACT_RELU, 1);
    train(m, concept_a, 100, 4);
    model *copy = model_clone(m);
    uint32_t idx[] = {0, 7};
    double val[] = {0.5, 2.0};
    dd_sparse x;
    make_input(&x, idx, val, 2);
    double e1[8] = {0}, e2[8] = {0};
    assert_int_equal(model_embed(m, &x, e1, 8), 4);
    assert_int_equal(model_embedding_dim(m), 4);
    model_output o;
    model_predict(m, &x, &o);
    double pr[4];
    assert_int_equal(model_predict_proba(m, &x, pr, 4), 2);
    assert_close(pr[0] + pr[1], 1.0, 1e-12);
    assert_int_equal(model_embed(m, &x, e2, 8), 4);
    assert_memory_equal(e1, e2, sizeof e1);
    assert_true(same_model_blocks(m, copy));
    model_free(copy);
    model_free(m);
    sparse_free(&x);
}

static double three_classes(rng_t *r, dd_sparse *x)
{
    sparse_clear(x);
    double a = 2 * rng_uniform(r) - 1;
    sparse_push(x, 0, a);
    sparse_push(x, 1, 1.0);
    return a < -0.33 ? 0 : (a < 0.33 ? 1 : 2);
}

static void test_mlp_multiclass_grows(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    p.kind = MODEL_MLP;
    p.task = TASK_MULTICLASS;
    p.optim = OPTIM_ADAM;
    p.lr = 0.01;
    model *m = model_new(&p, 4, NULL);
    assert_int_equal(model_num_classes(m), 2);
    rng_t r;
    rng_seed(&r, 5);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 4), DD_OK);
    for (int i = 0; i < 20000; i++) {
        double y = three_classes(&r, &x);
        assert_int_equal(model_learn(m, &x, y, 1.0, NULL), DD_OK);
    }
    assert_int_equal(model_num_classes(m), 3);
    int right = 0;
    for (int i = 0; i < 1000; i++) {
        double y = three_classes(&r, &x);
        model_output o;
        model_predict(m, &x, &o);
        right += o.cls == (int)y;
    }
    assert_true(right > 900);
    model_free(m);
    sparse_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_gradients),
        cmocka_unit_test(test_progressive_gradients_and_frozen),
        cmocka_unit_test(test_mlp_learns_nonlinear),
        cmocka_unit_test(test_returning_concept_finds_its_column),
        cmocka_unit_test(test_predict_and_embed_are_read_only),
        cmocka_unit_test(test_mlp_multiclass_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
