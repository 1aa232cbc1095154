/*
 * test_embed.c: the embedding transforms: determinism, the hashed n-gram
 * layout computed by hand, normalization, similarity ordering, carried
 * vectors checked, frozen statistics and versions; the mlp kind is the
 * frozen copy's last hidden layer, refuses a model that does not fit, and
 * names each frozen state in its version.
 */
#include "embed.h"
#include "hash.h"
#include "model_params.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dd_event *ev(const char *json)
{
    dd_event *e = NULL;
    char *cause = NULL;
    dd_err err = event_parse_json(json, strlen(json), NULL, NULL, &e, &cause);
    if (err != DD_OK)
        fail_msg("parse %s: %s", json, cause ? cause : "?");
    return e;
}

static embed *ngram(uint32_t dim, uint32_t nmin, uint32_t nmax)
{
    embed_params p = embed_params_default();
    p.dim = dim;
    p.ngram_min = nmin;
    p.ngram_max = nmax;
    embed *e = embed_new(&p, NULL);
    assert_non_null(e);
    return e;
}

static float dot(const float *a, const float *b, uint32_t d)
{
    float s = 0;
    for (uint32_t i = 0; i < d; i++)
        s += a[i] * b[i];
    return s;
}

/* "Ab" normalizes to " ab "; its 3-grams are " ab" and "ab ", each +-1 at
 * hash mod dim (seed ^ n), then L2-normalized. */
static void test_ngram_layout_by_hand(void **state)
{
    (void)state;
    embed *e = ngram(1024, 3, 3);
    dd_event *x = ev("{\"x\": {\"k\": 1}, \"text\": \"Ab\"}");
    float v[1024], want[1024] = {0};
    assert_int_equal(embed_raw(e, x, v, NULL), DD_OK);
    uint64_t h1 = hash_bytes(" ab", 3, 0 ^ 3), h2 = hash_bytes("ab ", 3, 0 ^ 3);
    want[h1 % 1024] += (h1 >> 63) ? -1.0f : 1.0f;
    want[h2 % 1024] += (h2 >> 63) ? -1.0f : 1.0f;
    float n = sqrtf(dot(want, want, 1024));
    for (int i = 0; i < 1024; i++)
        assert_close(v[i], want[i] / n, 1e-6);
    event_free(x);
    embed_free(e);
}

static void test_ngram_similarity_and_determinism(void **state)
{
    (void)state;
    embed *e = ngram(256, 3, 4);
    dd_event *a = ev("{\"x\": {\"k\": 1}, \"text\": \"pump pressure dropped in sector seven\"}");
    dd_event *b = ev("{\"x\": {\"k\": 1}, \"text\": \"PUMP   pressure dropped in sector 7\"}");
    dd_event *c = ev("{\"x\": {\"k\": 1}, \"text\": \"quarterly revenue of the bakery chain\"}");
    float va[256], vb[256], vc[256], va2[256];
    assert_int_equal(embed_raw(e, a, va, NULL), DD_OK);
    assert_int_equal(embed_raw(e, a, va2, NULL), DD_OK);
    assert_memory_equal(va, va2, sizeof va);
    assert_int_equal(embed_raw(e, b, vb, NULL), DD_OK);
    assert_int_equal(embed_raw(e, c, vc, NULL), DD_OK);
    assert_close(dot(va, va, 256), 1.0, 1e-5);
    printf("# cos(a,b) = %.3f, cos(a,c) = %.3f\n", dot(va, vb, 256), dot(va, vc, 256));
    assert_true(dot(va, vb, 256) > 0.6f);
    assert_true(dot(va, vb, 256) > dot(va, vc, 256) + 0.3f);
    float out[256];
    assert_int_equal(embed_finish(e, va, out), DD_OK);
    assert_memory_equal(out, va, sizeof va);
    /* non-ASCII text: n counts characters, and nothing crashes */
    dd_event *u = ev("{\"x\": {\"k\": 1}, \"text\": \"\xc3\xa9t\xc3\xa9 \xe2\x82\xac\"}");
    assert_int_equal(embed_raw(e, u, va, NULL), DD_OK);
    /* no text: a clear error, not a zero vector */
    dd_event *none = ev("{\"x\": {\"a\": 1}}");
    char *cause = NULL;
    assert_int_equal(embed_raw(e, none, va, &cause), DD_ENOTFOUND);
    assert_non_null(cause);
    free(cause);
    assert_non_null(strstr(embed_version(e), "ngram/1 d=256"));
    event_free(a);
    event_free(b);
    event_free(c);
    event_free(u);
    event_free(none);
    embed_free(e);
}

static void test_ngram_from_a_string_feature(void **state)
{
    (void)state;
    embed_params p = embed_params_default();
    snprintf(p.text_field, sizeof p.text_field, "title");
    embed *e = embed_new(&p, NULL);
    dd_event *a = ev("{\"x\": {\"title\": \"hello world\"}}");
    float v[64];
    assert_int_equal(embed_raw(e, a, v, NULL), DD_OK);
    assert_close(dot(v, v, 64), 1.0, 1e-5);
    event_free(a);
    embed_free(e);
}

static void test_carried_checked(void **state)
{
    (void)state;
    embed_params p = embed_params_default();
    p.kind = EMBED_CARRIED;
    p.dim = 3;
    embed *e = embed_new(&p, NULL);
    dd_event *a = ev("{\"x\": {\"k\": 1}, \"emb\": [0.5, -1, 2]}");
    dd_event *b = ev("{\"x\": {\"k\": 1}, \"emb\": [0.5, -1]}");
    dd_event *c = ev("{\"x\": {\"k\": 1}, \"emb\": [1, 0, 0]}");
    c->emb[1] = NAN; /* the parser refuses these; the embedder checks again */
    float v[3];
    assert_int_equal(embed_raw(e, a, v, NULL), DD_OK);
    assert_close(v[0], 0.5, 0);
    assert_close(v[2], 2.0, 0);
    assert_int_equal(embed_raw(e, b, v, NULL), DD_EINVAL);
    assert_int_equal(embed_raw(e, c, v, NULL), DD_ENONFINITE);
    event_free(a);
    event_free(b);
    event_free(c);
    embed_free(e);
}

static void test_features_frozen_statistics(void **state)
{
    (void)state;
    embed_params p = embed_params_default();
    p.kind = EMBED_FEATURES;
    p.dim = 16;
    embed *e = embed_new(&p, NULL);
    assert_false(embed_is_frozen(e));
    assert_non_null(strstr(embed_version(e), "unfrozen"));
    float raws[100 * 16], out[16];
    for (int i = 0; i < 100; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"x\": {\"t\": %d, \"dev\": \"%s\"}}", 10 + i % 7,
                 i % 2 ? "a7" : "b2");
        dd_event *x = ev(json);
        assert_int_equal(embed_raw(e, x, raws + i * 16, NULL), DD_OK);
        event_free(x);
    }
    assert_int_equal(embed_finish(e, raws, out), DD_ESTATE);
    assert_int_equal(embed_freeze(e, raws, 1, NULL), DD_EINVAL);
    assert_int_equal(embed_freeze(e, raws, 100, NULL), DD_OK);
    assert_true(embed_is_frozen(e));
    char v1[192];
    snprintf(v1, sizeof v1, "%s", embed_version(e));
    assert_non_null(strstr(v1, "stats="));
    /* standardized: every coordinate's mean over the sample is ~0 */
    double mean[16] = {0};
    for (int i = 0; i < 100; i++) {
        assert_int_equal(embed_finish(e, raws + i * 16, out), DD_OK);
        for (int j = 0; j < 16; j++)
            mean[j] += out[j] / 100.0;
    }
    for (int j = 0; j < 16; j++)
        assert_close(mean[j], 0.0, 1e-4);
    /* restoring the same statistics gives the same version; others change it */
    embed *f = embed_new(&p, NULL);
    assert_int_equal(embed_set_stats(f, embed_stats(e), NULL), DD_OK);
    assert_string_equal(embed_version(f), v1);
    assert_int_equal(embed_freeze(f, raws, 50, NULL), DD_OK);
    assert_string_not_equal(embed_version(f), v1);
    float bad[32] = {0}; /* std 0 */
    assert_int_equal(embed_set_stats(f, bad, NULL), DD_ENONFINITE);
    dd_event *empty = ev("{\"x\": {\"a\": null}}");
    assert_int_equal(embed_raw(e, empty, out, NULL), DD_ENOTFOUND);
    event_free(empty);
    embed_free(e);
    embed_free(f);
}

static void test_kinds_and_params(void **state)
{
    (void)state;
    embed_kind k;
    assert_int_equal(embed_kind_parse("carried", &k), DD_OK);
    assert_int_equal(k, EMBED_CARRIED);
    assert_int_equal(embed_kind_parse("bert", &k), DD_EINVAL);
    embed_params p = embed_params_default();
    p.kind = EMBED_MLP;
    embed *m = embed_new(&p, NULL); /* no model yet: embeds nothing */
    assert_non_null(m);
    assert_false(embed_can_embed(m));
    embed_free(m);
    p = embed_params_default();
    p.ngram_min = 5;
    p.ngram_max = 4;
    assert_null(embed_new(&p, NULL));
    p = embed_params_default();
    p.dim = 0;
    assert_null(embed_new(&p, NULL));
    embed_free(NULL);
}

/* A small MLP over a small feature pipeline that has seen a few events. */
static model *small_mlp(const featpipe *fp, model_kind kind, uint32_t hidden, uint64_t seed)
{
    model_params mp;
    model_params_default(&mp);
    mp.kind = kind;
    mp.n_hidden = 1;
    mp.hidden[0] = hidden;
    mp.activation = ACT_TANH;
    mp.seed = seed;
    char *cause = NULL;
    model *m = model_new(&mp, featpipe_dim(fp), &cause);
    if (!m)
        fail_msg("model_new: %s", cause);
    return m;
}

static featpipe *small_features(void)
{
    featpipe_params fpp;
    featpipe_params_default(&fpp);
    fpp.hash_bits = 4;
    fpp.max_numeric = 4;
    featpipe *fp = featpipe_new(&fpp, NULL);
    assert_non_null(fp);
    dd_sparse x = {0};
    char json[128];
    for (int i = 0; i < 20; i++) {
        snprintf(json, sizeof json, "{\"x\": {\"a\": %d, \"b\": %d, \"c\": \"k%d\"}}", i,
                 (i * 7) % 11, i % 3);
        dd_event *e = ev(json);
        assert_int_equal(featpipe_learn_transform(fp, e, &x), DD_OK);
        event_free(e);
    }
    sparse_free(&x);
    return fp;
}

static embed *mlp_embed_new(uint32_t dim)
{
    embed_params p = embed_params_default();
    p.kind = EMBED_MLP;
    p.dim = dim;
    embed *e = embed_new(&p, NULL);
    assert_non_null(e);
    return e;
}

/* What the pipeline's model computes for the event: the reference. */
static void reference_hidden(const model *m, const featpipe *fp, const dd_event *e, float *out,
                             uint32_t dim)
{
    dd_sparse x = {0};
    double h[64];
    assert_int_equal(featpipe_transform(fp, e, &x), DD_OK);
    assert_int_equal(model_embed(m, &x, h, 64), dim);
    for (uint32_t j = 0; j < dim; j++)
        out[j] = (float)h[j];
    sparse_free(&x);
}

static void test_mlp_is_the_frozen_copys_last_hidden_layer(void **state)
{
    (void)state;
    featpipe *fp = small_features();
    model *m = small_mlp(fp, MODEL_MLP, 8, 7);
    embed *e = mlp_embed_new(8), *same = mlp_embed_new(8), *later = mlp_embed_new(8);
    dd_event *q = ev("{\"x\": {\"a\": 3, \"b\": 9, \"c\": \"k1\"}}");
    float out[8], want[8], before[8];
    assert_int_equal(embed_raw(e, q, out, NULL), DD_ESTATE);
    assert_non_null(strstr(embed_version(e), "model=none"));

    assert_int_equal(embed_set_model(e, model_clone(m), featpipe_clone(fp), 3, NULL), DD_OK);
    assert_int_equal(embed_set_model(same, model_clone(m), featpipe_clone(fp), 3, NULL), DD_OK);
    assert_true(embed_can_embed(e));
    assert_non_null(strstr(embed_version(e), "mlp/1 d=8 seed=0 model=3 state="));
    assert_string_equal(embed_version(e), embed_version(same)); /* same state, same version */
    assert_int_equal(embed_raw(e, q, out, NULL), DD_OK);
    reference_hidden(m, fp, q, want, 8);
    double norm = 0;
    for (int j = 0; j < 8; j++) {
        assert_true(out[j] == want[j]); /* exactly the pipeline's forward pass */
        norm += (double)out[j] * out[j];
    }
    assert_true(norm > 1e-6); /* a real vector, not a dead layer */
    memcpy(before, out, sizeof out);

    /* The live model and features go on learning; the frozen copy does not. */
    dd_sparse x = {0};
    for (int i = 0; i < 50; i++) {
        assert_int_equal(featpipe_learn_transform(fp, q, &x), DD_OK);
        assert_int_equal(model_learn(m, &x, i % 2, 1.0, NULL), DD_OK);
    }
    sparse_free(&x);
    assert_int_equal(embed_raw(e, q, out, NULL), DD_OK);
    assert_memory_equal(out, before, sizeof out);
    /* A copy of the same registry version taken later has another version. */
    assert_int_equal(embed_set_model(later, model_clone(m), featpipe_clone(fp), 3, NULL), DD_OK);
    assert_string_not_equal(embed_version(later), embed_version(e));
    assert_int_equal(embed_raw(later, q, out, NULL), DD_OK);
    reference_hidden(m, fp, q, want, 8);
    assert_memory_equal(out, want, sizeof out);

    dd_event *none = ev("{\"x\": {\"zz\": null}}"); /* nothing the model reads */
    assert_int_equal(embed_raw(e, none, out, NULL), DD_ENOTFOUND);
    event_free(none);
    event_free(q);
    embed_free(e);
    embed_free(same);
    embed_free(later);
    model_free(m);
    featpipe_free(fp);
}

static void test_mlp_refuses_a_model_that_does_not_fit(void **state)
{
    (void)state;
    featpipe *fp = small_features();
    embed *e = mlp_embed_new(8);
    char *cause = NULL;
    /* a linear model has no hidden layer: a clear error naming the setting */
    assert_int_equal(
        embed_set_model(e, small_mlp(fp, MODEL_LINEAR, 8, 1), featpipe_clone(fp), 1, &cause),
        DD_EINVAL);
    assert_non_null(strstr(cause, "[kstore] embedding = mlp needs [model] kind = mlp"));
    assert_non_null(strstr(cause, "linear"));
    free(cause);
    cause = NULL;
    assert_int_equal(
        embed_set_model(e, small_mlp(fp, MODEL_MLP, 4, 1), featpipe_clone(fp), 1, &cause),
        DD_EINVAL); /* 4 hidden units for 8-dimensional vectors */
    assert_non_null(strstr(cause, "4 units"));
    free(cause);
    assert_int_equal(embed_set_model(e, small_mlp(fp, MODEL_MLP, 8, 1), NULL, 1, NULL), DD_EINVAL);
    assert_false(embed_can_embed(e)); /* unchanged */
    assert_non_null(strstr(embed_version(e), "model=none"));
    embed_params p = embed_params_default();
    p.kind = EMBED_FEATURES;
    p.dim = 8;
    embed *f = embed_new(&p, NULL);
    assert_int_equal(
        embed_set_model(f, small_mlp(fp, MODEL_MLP, 8, 1), featpipe_clone(fp), 1, NULL), DD_EINVAL);
    /* a saved version is taken only when it is this transform's kind, dim and seed */
    assert_int_equal(embed_restore_version(e, "ngram/1 d=8 seed=0 n=3-4 field=text", NULL),
                     DD_EINVAL);
    assert_int_equal(embed_restore_version(e, "mlp/1 d=16 seed=0 model=2 state=00", NULL),
                     DD_EINVAL);
    assert_int_equal(embed_restore_version(e, "mlp/1 d=8 seed=0 model=2 state=00ff", NULL), DD_OK);
    assert_string_equal(embed_version(e), "mlp/1 d=8 seed=0 model=2 state=00ff");
    assert_false(embed_can_embed(e));
    assert_int_equal(embed_restore_version(f, "mlp/1 d=8 seed=0 model=2 state=00ff", NULL),
                     DD_EINVAL);
    embed_free(f);
    embed_free(e);
    featpipe_free(fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ngram_layout_by_hand),
        cmocka_unit_test(test_ngram_similarity_and_determinism),
        cmocka_unit_test(test_ngram_from_a_string_feature),
        cmocka_unit_test(test_carried_checked),
        cmocka_unit_test(test_features_frozen_statistics),
        cmocka_unit_test(test_kinds_and_params),
        cmocka_unit_test(test_mlp_is_the_frozen_copys_last_hidden_layer),
        cmocka_unit_test(test_mlp_refuses_a_model_that_does_not_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
