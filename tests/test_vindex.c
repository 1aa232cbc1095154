/*
 * test_vindex.c: the hnswlib wrapper: recall against brute force on a seeded
 * Gaussian mixture, replace and delete never return stale labels, growth,
 * save/load with the integrity check, and searches beside inserts from
 * another thread (run under ThreadSanitizer: see doc/KSTORE.md).
 */
#include "vecgen.h"
#include "vindex.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>

#include <cmocka.h>

#define DIM 64

static vindex *new_index(vindex_space s, size_t cap)
{
    vindex_params p = vindex_params_default();
    p.space = s;
    p.dim = DIM;
    p.capacity = cap;
    char *cause = NULL;
    vindex *v = vindex_new(&p, &cause);
    assert_non_null(v);
    return v;
}

static double recall_at_10(vindex *v, const float *base, size_t n, const float *q, size_t nq)
{
    uint64_t top[10];
    float sc[10];
    vindex_hit hits[10];
    size_t found = 0;
    for (size_t i = 0; i < nq; i++) {
        vecgen_exact(base, n, DIM, q + i * DIM, 10, NULL, top, sc);
        uint32_t m = 0;
        assert_int_equal(vindex_search(v, q + i * DIM, 10, 0, hits, &m, NULL), DD_OK);
        for (uint32_t a = 0; a < m; a++)
            for (uint32_t b = 0; b < 10; b++)
                found += hits[a].label == top[b];
    }
    return (double)found / (10.0 * nq);
}

/* Issue #9: recall@10 >= 0.95 with the default parameters on a Gaussian mixture
 * (scaled down for make check: 10 000 vectors, 100 centres, noise 0.3). */
static void test_recall_gaussian_mixture(void **state)
{
    (void)state;
    size_t n = 10000, nq = 200;
    /* the queries are the last nq draws of the same mixture, not in the index */
    float *base = malloc((n + nq) * DIM * sizeof *base), *qq = base + n * DIM;
    assert_int_equal(vecgen_mixture(base, n + nq, DIM, 100, 0.3, 7), 0);
    vindex *v = new_index(VINDEX_COSINE, 1000); /* grows by doubling */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vindex_upsert(v, i, base + i * DIM, NULL), DD_OK);
    assert_int_equal(vindex_count(v), n);
    assert_true(vindex_capacity(v) >= n);
    double r = recall_at_10(v, base, n, qq, nq);
    printf("# recall@10 = %.4f\n", r);
    assert_true(r >= 0.95);
    vindex_free(v);
    free(base);
}

static void test_replace_and_delete_never_stale(void **state)
{
    (void)state;
    size_t n = 500;
    float *base = malloc(n * DIM * sizeof *base);
    vecgen_uniform(base, n, DIM, 3);
    vindex *v = new_index(VINDEX_COSINE, 64);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vindex_upsert(v, i, base + i * DIM, NULL), DD_OK);
    /* label 5 takes label 9's vector: a query for the old vector 5 must not
     * find label 5 first any more; a query for vector 9 finds 5 and 9. */
    float old5[DIM];
    memcpy(old5, base + 5 * DIM, sizeof old5);
    assert_int_equal(vindex_upsert(v, 5, base + 9 * DIM, NULL), DD_OK);
    vindex_hit h[10];
    uint32_t m;
    assert_int_equal(vindex_search(v, old5, 10, 200, h, &m, NULL), DD_OK);
    for (uint32_t i = 0; i < m; i++)
        assert_true(h[i].label != 5 || h[i].dist > 0.01f);
    assert_int_equal(vindex_count(v), n);
    assert_int_equal(vindex_delete(v, 9), DD_OK);
    assert_int_equal(vindex_delete(v, 9), DD_ENOTFOUND);
    assert_int_equal(vindex_delete(v, 100000), DD_ENOTFOUND);
    assert_int_equal(vindex_search(v, base + 9 * DIM, 10, 200, h, &m, NULL), DD_OK);
    assert_int_equal(h[0].label, 5);
    for (uint32_t i = 0; i < m; i++)
        assert_true(h[i].label != 9);
    assert_false(vindex_contains(v, 9));
    assert_int_equal(vindex_deleted(v), 1);
    /* a deleted label comes back in its own slot */
    assert_int_equal(vindex_upsert(v, 9, base + 9 * DIM, NULL), DD_OK);
    assert_int_equal(vindex_deleted(v), 0);
    assert_true(vindex_contains(v, 9));
    /* delete everything: search finds nothing */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vindex_delete(v, i), DD_OK);
    assert_int_equal(vindex_search(v, base, 10, 0, h, &m, NULL), DD_OK);
    assert_int_equal(m, 0);
    vindex_free(v);
    free(base);
}

static void test_rejects_nonfinite_and_bad_params(void **state)
{
    (void)state;
    vindex *v = new_index(VINDEX_L2, 8);
    float x[DIM] = {0};
    x[3] = 1.0f / 0.0f;
    char *cause = NULL;
    assert_int_equal(vindex_upsert(v, 1, x, &cause), DD_ENONFINITE);
    assert_non_null(cause);
    free(cause);
    assert_int_equal(vindex_count(v), 0);
    vindex_free(v);
    vindex_params p = vindex_params_default();
    p.dim = 0;
    cause = NULL;
    assert_null(vindex_new(&p, &cause));
    free(cause);
    vindex_free(NULL);
    vindex_space s;
    assert_int_equal(vindex_space_parse("ip", &s), DD_OK);
    assert_int_equal(s, VINDEX_IP);
    assert_int_equal(vindex_space_parse("manhattan", &s), DD_EINVAL);
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dd-vindex-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static void corrupt_byte(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, off, SEEK_SET);
    int c = fgetc(f);
    fseek(f, off, SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
}

static void test_save_load_and_corruption(void **state)
{
    (void)state;
    size_t n = 300;
    float *base = malloc(n * DIM * sizeof *base);
    vecgen_uniform(base, n, DIM, 11);
    vindex *v = new_index(VINDEX_COSINE, 16);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vindex_upsert(v, 1000 + i, base + i * DIM, NULL), DD_OK);
    assert_int_equal(vindex_delete(v, 1007), DD_OK);
    char path[128], meta[140];
    snprintf(path, sizeof path, "%s/index.hnsw", tmpdir);
    snprintf(meta, sizeof meta, "%s.meta", path);
    char *cause = NULL;
    assert_int_equal(vindex_save(v, path, 42, &cause), DD_OK);

    vindex_params p = vindex_params_default();
    p.dim = DIM;
    uint64_t tag = 0;
    dd_err err;
    vindex *w = vindex_load(&p, path, &tag, &err, &cause);
    assert_non_null(w);
    assert_int_equal(tag, 42);
    assert_int_equal(vindex_count(w), n - 1);
    assert_int_equal(vindex_deleted(w), 1);
    vindex_hit h[1];
    uint32_t m;
    assert_int_equal(vindex_search(w, base + 20 * DIM, 1, 0, h, &m, NULL), DD_OK);
    assert_int_equal(h[0].label, 1020);
    /* the loaded index keeps working: inserts and deletes */
    assert_int_equal(vindex_upsert(w, 5, base, NULL), DD_OK);
    assert_int_equal(vindex_delete(w, 1008), DD_OK);
    vindex_free(w);

    /* other dimension or space: refused before hnswlib reads the graph */
    p.dim = 32;
    assert_null(vindex_load(&p, path, &tag, &err, NULL));
    assert_int_equal(err, DD_EINVAL);
    p.dim = DIM;
    p.space = VINDEX_L2;
    assert_null(vindex_load(&p, path, &tag, &err, NULL));
    assert_int_equal(err, DD_EINVAL);
    p.space = VINDEX_COSINE;

    /* one flipped byte in the graph: detected */
    corrupt_byte(path, 5000);
    assert_null(vindex_load(&p, path, &tag, &err, &cause));
    assert_int_equal(err, DD_ECORRUPT);
    corrupt_byte(path, 5000);
    assert_non_null(w = vindex_load(&p, path, &tag, &err, NULL));
    vindex_free(w);
    /* truncated graph */
    assert_int_equal(truncate(path, 4000), 0);
    assert_null(vindex_load(&p, path, &tag, &err, NULL));
    assert_int_equal(err, DD_ECORRUPT);
    /* no header, no file */
    assert_int_equal(unlink(meta), 0);
    assert_null(vindex_load(&p, path, &tag, &err, NULL));
    assert_int_equal(err, DD_ENOTFOUND);
    unlink(path);
    free(cause);
    vindex_free(v);
    free(base);
}

static void test_swap(void **state)
{
    (void)state;
    float x[DIM] = {1}, y[DIM] = {0, 1};
    vindex *a = new_index(VINDEX_COSINE, 4), *b = new_index(VINDEX_COSINE, 4);
    assert_int_equal(vindex_upsert(a, 1, x, NULL), DD_OK);
    assert_int_equal(vindex_upsert(b, 2, y, NULL), DD_OK);
    assert_int_equal(vindex_upsert(b, 3, x, NULL), DD_OK);
    assert_int_equal(vindex_swap(a, b, NULL), DD_OK);
    assert_int_equal(vindex_count(a), 2);
    assert_int_equal(vindex_count(b), 1);
    vindex *c = new_index(VINDEX_L2, 4);
    assert_int_equal(vindex_swap(a, c, NULL), DD_EINVAL);
    vindex_free(a);
    vindex_free(b);
    vindex_free(c);
}

struct writer_arg {
    vindex *v;
    const float *base;
    size_t n;
    int done;
};

static void *writer(void *p)
{
    struct writer_arg *w = p;
    for (size_t i = 0; i < w->n; i++) {
        vindex_upsert(w->v, i, w->base + i * DIM, NULL);
        if (i % 7 == 3)
            vindex_delete(w->v, i - 3);
    }
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Searches on this thread while another inserts and deletes; every hit is a
 * label the writer has inserted. Races show under ThreadSanitizer. */
static void test_search_beside_inserts(void **state)
{
    (void)state;
    size_t n = 3000;
    float *base = malloc(n * DIM * sizeof *base);
    vecgen_mixture(base, n, DIM, 30, 0.3, 5);
    vindex *v = new_index(VINDEX_COSINE, 64);
    struct writer_arg w = {v, base, n, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, &w), 0);
    vindex_hit h[10];
    uint32_t m;
    size_t searches = 0;
    while (!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE) || searches < 100) {
        assert_int_equal(vindex_search(v, base + (searches % n) * DIM, 10, 0, h, &m, NULL), DD_OK);
        for (uint32_t i = 0; i < m; i++)
            assert_true(h[i].label < n);
        searches++;
    }
    pthread_join(t, NULL);
    assert_int_equal(vindex_count(v), n - vindex_deleted(v));
    vindex_free(v);
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recall_gaussian_mixture),
        cmocka_unit_test(test_replace_and_delete_never_stale),
        cmocka_unit_test(test_rejects_nonfinite_and_bad_params),
        cmocka_unit_test(test_save_load_and_corruption),
        cmocka_unit_test(test_swap),
        cmocka_unit_test(test_search_beside_inserts),
    };
    if (getenv("DD_TEST_FILTER")) /* e.g. '*beside*' for a ThreadSanitizer run */
        cmocka_set_test_filter(getenv("DD_TEST_FILTER"));
    return cmocka_run_group_tests(tests, make_tmpdir, NULL);
}
