/*
 * test_embed.c: the embedding transforms: determinism, the hashed n-gram
 * layout computed by hand, normalization, similarity ordering, carried
 * vectors checked, frozen statistics and versions.
 */
#include "embed.h"
#include "hash.h"
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
    char *cause = NULL;
    assert_null(embed_new(&p, &cause)); /* until model.h exposes a hidden layer */
    free(cause);
    p = embed_params_default();
    p.ngram_min = 5;
    p.ngram_max = 4;
    assert_null(embed_new(&p, NULL));
    p = embed_params_default();
    p.dim = 0;
    assert_null(embed_new(&p, NULL));
    embed_free(NULL);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
