/*
 * test_model_io.c: model serialization. A round trip is bit-for-bit (the
 * blob re-serializes to the same bytes, predictions are identical, and the
 * restored model goes on learning exactly like the original), for every
 * model kind, task and optimizer with EWC and progressive state; any flipped
 * byte or truncation is refused, a newer version is DD_EVERSION, and a blob
 * that claims a huge dimension is refused before anything is allocated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "learn_util.h"

static uint64_t fnv(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void reseal(unsigned char *b, size_t n)
{
    uint64_t h = fnv(b, n - 8);
    for (int i = 0; i < 8; i++)
        b[n - 8 + i] = (unsigned char)(h >> (8 * i));
}

static double sample(rng_t *r, dd_sparse *x, model_task task)
{
    sparse_clear(x);
    double a = rng_normal(r), b = rng_normal(r);
    sparse_push(x, (uint32_t)rng_below(r, 3), a);
    sparse_push(x, 3 + (uint32_t)rng_below(r, 3), b);
    if (task == TASK_REGRESSION)
        return 2 * a - b;
    if (task == TASK_MULTICLASS)
        return a > 1 ? 2 : (a > 0 ? 1 : 0);
    return a + b > 0;
}

static model *trained(model_params *p, int n)
{
    model *m = model_new(p, 6, NULL);
    assert_non_null(m);
    rng_t r;
    rng_seed(&r, 11);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 4), DD_OK);
    for (int i = 0; i < n; i++) {
        if (i == n / 2) {
            model_consolidate(m);
            if (p->max_columns > 1)
                assert_int_equal(model_add_column(m), DD_OK);
        }
        double y = sample(&r, &x, p->task);
        assert_int_equal(model_learn(m, &x, y, 1.0, NULL), DD_OK);
    }
    sparse_free(&x);
    return m;
}

static void check_round_trip(model_params *p)
{
    model *m = trained(p, 300);
    unsigned char *blob = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    assert_int_equal(model_serialize(m, &blob, &len), DD_OK);
    model *c = NULL;
    char *cause = NULL;
    assert_int_equal(model_deserialize(blob, len, &c, &cause), DD_OK);
    assert_null(cause);
    assert_int_equal(model_serialize(c, &again, &len2), DD_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(blob, again, len);
    rng_t r;
    rng_seed(&r, 12);
    dd_sparse x = {0};
    assert_int_equal(sparse_reserve(&x, 4), DD_OK);
    for (int i = 0; i < 200; i++) { /* predictions and learning stay identical */
        double y = sample(&r, &x, p->task);
        double pm[8], pc[8];
        model_predict_proba(m, &x, pm, 8);
        model_predict_proba(c, &x, pc, 8);
        assert_memory_equal(pm, pc, model_num_classes(m) * sizeof(double));
        double lm, lc;
        assert_int_equal(model_learn(m, &x, y, 0.5, &lm), DD_OK);
        assert_int_equal(model_learn(c, &x, y, 0.5, &lc), DD_OK);
        assert_memory_equal(&lm, &lc, sizeof lm);
    }
    assert_int_equal(model_ewc_penalty(m) == model_ewc_penalty(c), 1);
    sparse_free(&x);
    free(blob);
    free(again);
    model_free(c);
    model_free(m);
}

static void test_round_trip_every_kind(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    check_round_trip(&p);
    p.task = TASK_MULTICLASS;
    p.optim = OPTIM_ADAM;
    p.ewc_lambda = 2;
    p.l2 = 1e-3;
    check_round_trip(&p);
    model_params_default(&p);
    p.task = TASK_REGRESSION;
    p.loss = LOSS_HUBER;
    p.optim = OPTIM_FTRL;
    p.l1 = 0.1;
    check_round_trip(&p);
    model_params_default(&p);
    p.kind = MODEL_MLP;
    p.n_hidden = 2;
    p.optim = OPTIM_ADAGRAD;
    p.max_columns = 3;
    p.ewc_lambda = 1;
    check_round_trip(&p);
    p.task = TASK_MULTICLASS;
    p.optim = OPTIM_ADAM;
    check_round_trip(&p);
}

static void test_damage_is_refused(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    p.kind = MODEL_MLP;
    p.hidden[0] = 3;
    p.optim = OPTIM_ADAM;
    p.ewc_lambda = 1;
    p.max_columns = 2;
    model *m = trained(&p, 50);
    unsigned char *blob;
    size_t len;
    assert_int_equal(model_serialize(m, &blob, &len), DD_OK);
    for (size_t i = 0; i < len; i++) {
        model *c = NULL;
        blob[i] ^= 0x10;
        dd_err e = model_deserialize(blob, len, &c, NULL);
        blob[i] ^= 0x10;
        assert_true(e == DD_ECORRUPT);
        assert_null(c);
    }
    for (size_t n = 0; n < len; n++) {
        model *c = NULL;
        char *cause = NULL;
        assert_int_equal(model_deserialize(blob, n, &c, &cause), DD_ECORRUPT);
        assert_non_null(cause);
        free(cause);
        assert_null(c);
    }
    /* a correctly sealed blob from a newer format */
    blob[8] = 2;
    reseal(blob, len);
    model *c = NULL;
    assert_int_equal(model_deserialize(blob, len, &c, NULL), DD_EVERSION);
    blob[8] = 1;
    /* a correctly sealed blob claiming 2^31 inputs: refused before allocating */
    size_t dim_at = 24 + 11 * 4 + 15 * 8 + 8;
    assert_int_equal(blob[dim_at], 6);
    blob[dim_at + 3] = 0x80;
    reseal(blob, len);
    assert_int_equal(model_deserialize(blob, len, &c, NULL), DD_ECORRUPT);
    assert_null(c);
    free(blob);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_kind),
        cmocka_unit_test(test_damage_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
