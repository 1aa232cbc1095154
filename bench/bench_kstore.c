/*
 * bench_kstore.c: the knowledge store against the bare index, in one run.
 *
 * Data, each with 1000 queries drawn the same way: "mixture", issue #9's
 * recipe, N unit vectors of dimension 64 from a seeded Gaussian mixture
 * (1000 centres N(0,1), noise 0.3 per dimension, then normalized; see
 * tests/vecgen.h); "mix-unit", the same with unit-norm centres, where the
 * noise swamps the centres (nearly uniform); "uniform", random directions
 * (the known worst case for graph indexes). Parameters: M=16,
 * ef_construction=100 for both; searches with ef=100 (the default) unless
 * stated.
 *
 * "bare" is hnswlib 0.6.2 through vindex (src/vindex.cpp: a read-write lock
 * and a copy around addPoint/searchKnn; the project keeps C++ to that one
 * file). "store" is kstore: payload JSON, SQLite (WAL) and FTS5 writes in
 * batches, then the same index insert, all in the indexer thread; its time
 * runs from the first kstore_submit() until everything is searchable.
 *
 * Prints figures only; no thresholds. BENCH_N overrides N (default 100000).
 */
#include "kstore.h"
#include "vindex.h"

#include "../tests/vecgen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DIM 64
#define NQ 1000
#define K 10

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_d);
    return v[(size_t)((double)(n - 1) * p)];
}

static vindex *bare_new(size_t cap)
{
    vindex_params p = vindex_params_default();
    p.dim = DIM;
    p.capacity = cap;
    return vindex_new(&p, NULL);
}

/* exact top-K of every query, and the time of one exact search (p50). */
static uint64_t *exact_all(const float *base, size_t n, const float *q, double *p50_us)
{
    uint64_t *top = malloc((size_t)NQ * K * sizeof *top);
    double *t = malloc(NQ * sizeof *t);
    float sc[K];
    for (size_t i = 0; i < NQ; i++) {
        double t0 = now();
        vecgen_exact(base, n, DIM, q + i * DIM, K, NULL, top + i * K, sc);
        t[i] = (now() - t0) * 1e6;
    }
    *p50_us = pct(t, NQ, 0.5);
    free(t);
    return top;
}

static double recall_of(const uint64_t *got, const uint32_t *ngot, const uint64_t *top)
{
    size_t found = 0;
    for (size_t i = 0; i < NQ; i++)
        for (uint32_t a = 0; a < ngot[i]; a++)
            for (int b = 0; b < K; b++)
                found += got[i * K + a] == top[i * K + b];
    return (double)found / (double)(NQ * K);
}

/* Search every query on the bare index with ef; print recall and latency. */
static void bare_search(vindex *v, const float *q, const uint64_t *top, uint32_t ef,
                        const char *what)
{
    uint64_t *got = malloc((size_t)NQ * K * sizeof *got);
    uint32_t *ngot = malloc(NQ * sizeof *ngot);
    double *t = malloc(NQ * sizeof *t);
    vindex_hit h[K];
    vindex_search(v, q, K, ef, h, &ngot[0], NULL); /* sets ef */
    for (size_t i = 0; i < NQ; i++) {
        double t0 = now();
        vindex_search(v, q + i * DIM, K, 0, h, &ngot[i], NULL);
        t[i] = (now() - t0) * 1e6;
        for (uint32_t j = 0; j < ngot[i]; j++)
            got[i * K + j] = h[j].label;
    }
    double r = recall_of(got, ngot, top);
    printf("%-8s bare   ef=%-4u recall@10 %.4f  search p50 %6.1f us  p99 %6.1f us\n", what, ef,
           r, pct(t, NQ, 0.5), pct(t, NQ, 0.99));
    free(got);
    free(ngot);
    free(t);
}

static dd_event **make_events(const float *base, size_t n)
{
    dd_event **ev = malloc(n * sizeof *ev);
    char *buf = malloc(64 * DIM + 256);
    for (size_t i = 0; i < n; i++) {
        int at = snprintf(buf, 256, "{\"id\": \"b%zu\", \"ts\": %zu, \"x\": {\"v\": 1}, \"emb\": [",
                          i, i);
        for (int j = 0; j < DIM; j++)
            at += snprintf(buf + at, 64, "%s%.9g", j ? "," : "", base[i * DIM + j]);
        snprintf(buf + at, 8, "]}");
        if (event_parse_json(buf, strlen(buf), NULL, NULL, &ev[i], NULL) != DD_OK) {
            fprintf(stderr, "bench: event %zu does not parse\n", i);
            exit(1);
        }
        ev[i]->seq = i;
    }
    free(buf);
    return ev;
}

static kstore *store_open(const char *dir)
{
    kstore_params p = kstore_params_default();
    p.embed.kind = EMBED_CARRIED;
    p.embed.dim = DIM;
    p.policy = KSTORE_QUEUE_BLOCK;
    p.max_entries = 0; /* no expiry work in the figures */
    char *cause = NULL;
    kstore *s = kstore_open(dir, &p, false, &cause);
    if (!s) {
        fprintf(stderr, "bench: %s\n", cause);
        exit(1);
    }
    return s;
}

/* Store search latency (SQLite rows included) and recall. */
static void store_search(kstore *s, const float *q, const uint64_t *top, const char *what)
{
    uint64_t *got = malloc((size_t)NQ * K * sizeof *got);
    uint32_t *ngot = malloc(NQ * sizeof *ngot);
    double *t = malloc(NQ * sizeof *t);
    for (size_t i = 0; i < NQ; i++) {
        kstore_results r;
        double t0 = now();
        kstore_search_vector(s, q + i * DIM, DIM, K, &r, NULL);
        t[i] = (now() - t0) * 1e6;
        ngot[i] = r.n;
        for (uint32_t j = 0; j < r.n; j++)
            got[i * K + j] = strtoull(r.hits[j].id + 1, NULL, 10);
        kstore_results_free(&r);
    }
    printf("%-8s store  ef=100  recall@10 %.4f  search p50 %6.1f us  p99 %6.1f us"
           " (with SQLite rows)\n", what, recall_of(got, ngot, top), pct(t, NQ, 0.5),
           pct(t, NQ, 0.99));
    free(got);
    free(ngot);
    free(t);
}

#define FRESH_N 5000

/* Freshness at a paced rate: submit at rate/s for secs, then read p50/p99. */
static void freshness(kstore *s, const float *extra, size_t n, double rate)
{
    dd_event **ev = make_events(extra, n);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "f%zu", i); /* new ids: inserts into the full graph */
        ev[i]->id = strdup(id); /* leaked with the event's arena: bench only */
    }
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    long step = (long)(1e9 / rate);
    for (size_t i = 0; i < n; i++) {
        next.tv_nsec += step;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000L;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        kstore_submit(s, ev[i]);
    }
    kstore_flush(s, 600000);
    double p50, p99;
    if (kstore_freshness(s, &p50, &p99) == DD_OK)
        printf("freshness at %.0f events/s (%zu new events into the store above): "
               "submit->searchable p50 %.2f ms  p99 %.2f ms\n", rate, n, p50 * 1e3, p99 * 1e3);
    for (size_t i = 0; i < n; i++) {
        free((char *)ev[i]->id);
        event_free(ev[i]);
    }
    free(ev);
}

static void run(const char *what, const float *base, size_t n, const float *q, bool full)
{
    double exact_us;
    uint64_t *top = exact_all(base, n, q, &exact_us);
    printf("%-8s exact  (brute force over %zu)        search p50 %8.1f us\n", what, n, exact_us);

    vindex *v = bare_new(n);
    double t0 = now();
    for (size_t i = 0; i < n; i++)
        vindex_upsert(v, i, base + i * DIM, NULL);
    double bare_s = now() - t0;
    printf("%-8s bare   inserts %zu in %.2f s: %.0f /s  (index %.1f MiB)\n", what, n, bare_s,
           n / bare_s, vindex_memory(v) / 1048576.0);
    uint32_t efs[] = {50, 100, 200, 400};
    for (size_t i = 0; i < DD_ARRAY_LEN(efs); i++)
        bare_search(v, q, top, efs[i], what);
    vindex_free(v);
    if (!full) {
        free(top);
        return;
    }

    char dir[] = "/tmp/dd-bench-kstore-XXXXXX";
    if (!mkdtemp(dir))
        exit(1);
    dd_event **ev = make_events(base, n);
    kstore *s = store_open(dir);
    t0 = now();
    for (size_t i = 0; i < n; i++)
        kstore_submit(s, ev[i]);
    kstore_flush(s, 3600000);
    double store_s = now() - t0;
    printf("%-8s store  upserts %zu in %.2f s: %.0f /s (SQLite+FTS5+index) = %.2fx bare\n", what,
           n, store_s, n / store_s, bare_s / store_s);
    store_search(s, q, top, what);
    /* more than kstore_freshness()'s ring of 4096, so no bulk-load item (which
     * waited in the queue behind the others) is counted */
    float *extra = malloc(FRESH_N * DIM * sizeof *extra);
    vecgen_mixture(extra, FRESH_N, DIM, 1000, 0.3, 99);
    freshness(s, extra, FRESH_N, 1000.0);
    free(extra);
    kstore_close(s);
    for (size_t i = 0; i < n; i++)
        event_free(ev[i]);
    free(ev);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: could not remove %s\n", dir);
    free(top);
}

int main(void)
{
    const char *env = getenv("BENCH_N");
    size_t n = env ? strtoull(env, NULL, 10) : 100000;
    if (n < 1000)
        n = 1000;
    printf("bench_kstore: N=%zu d=%d, %d queries, k=%d, M=16 ef_construction=100\n", n, DIM, NQ,
           K);
    float *base = malloc((n + NQ) * DIM * sizeof *base);
    vecgen_mixture(base, n + NQ, DIM, 1000, 0.3, 2024); /* queries: the last NQ draws */
    run("mixture", base, n, base + n * DIM, true);
    vecgen_mixture_unit(base, n + NQ, DIM, 1000, 0.3, 2024);
    run("mix-unit", base, n, base + n * DIM, false);
    vecgen_uniform(base, n + NQ, DIM, 2025);
    run("uniform", base, n, base + n * DIM, false);
    free(base);
    return 0;
}
