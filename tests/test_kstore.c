/*
 * test_kstore.c: the knowledge store end to end: upsert-replace, delete and
 * expiry never return stale ids; restart loads the saved index, a corrupted
 * one is rebuilt; kill -9 while indexing loses nothing SQLite committed;
 * compaction bounds deleted slots; queue policies count what they drop;
 * filters; the features transform freezes its statistics; searches run
 * beside the indexer (a ThreadSanitizer build checks the races); the mlp
 * transform embeds with a frozen model version and re-embeds every row when
 * the version changes; a features store renews its statistics after a
 * drift; a model that does not fit is a clear error.
 */
#include "config.h"
#include "kstore.h"
#include "kstore_feed.h"
#include "model_params.h"
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char root[64];
static int ndirs;

static const char *fresh_dir(void)
{
    static char dir[128];
    snprintf(dir, sizeof dir, "%s/ws%d", root, ndirs++);
    return dir;
}

static const char *words[] = {"pump",  "valve", "sensor", "pressure", "boiler", "turbine",
                              "cable", "motor", "alarm",  "cooling",  "leak",   "voltage"};

/* A text that differs per n: three words chosen by n's digits, and n. */
static void text_of(unsigned n, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s %s unit%u", words[n % 12], words[(n / 12) % 12],
             words[(n / 144) % 12], n);
}

static void submit_json(kstore *s, const char *json)
{
    dd_event *ev = NULL;
    char *cause = NULL;
    if (event_parse_json(json, strlen(json), NULL, NULL, &ev, &cause) != DD_OK)
        fail_msg("parse %s: %s", json, cause);
    assert_int_equal(kstore_submit(s, ev), DD_OK);
    event_free(ev);
}

static void submit_text(kstore *s, const char *id, double ts, const char *text)
{
    char json[512];
    snprintf(json, sizeof json, "{\"id\": \"%s\", \"ts\": %.3f, \"x\": {\"v\": 1}, \"text\": \"%s\"}",
             id, ts, text);
    submit_json(s, json);
}

static void submit_delete(kstore *s, const char *id)
{
    char json[256];
    snprintf(json, sizeof json, "{\"id\": \"%s\", \"op\": \"delete\"}", id);
    submit_json(s, json);
}

static kstore *open_store(const char *dir, kstore_params *p)
{
    char *cause = NULL;
    kstore *s = kstore_open(dir, p, false, &cause);
    if (!s)
        fail_msg("open: %s", cause);
    return s;
}

/* Does a text search for text return id (by either index)? */
static bool finds(kstore *s, const char *text, const char *id, uint32_t k)
{
    kstore_results r;
    assert_int_equal(kstore_search_text(s, text, k, &r, NULL), DD_OK);
    bool yes = false;
    for (uint32_t i = 0; i < r.n; i++)
        yes |= !strcmp(r.hits[i].id, id);
    kstore_results_free(&r);
    return yes;
}

/* Is id anywhere in a search for text, k large? (stale check) */
static bool appears(kstore *s, const char *text, const char *id)
{
    return finds(s, text, id, 200);
}

static void test_upsert_replace_delete_never_stale(void **state)
{
    (void)state;
    kstore *s = open_store(fresh_dir(), NULL);
    char id[32], text[128];
    for (unsigned i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "e%u", i);
        text_of(i, text, sizeof text);
        submit_text(s, id, 1000 + i, text);
    }
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    text_of(17, text, sizeof text);
    assert_true(finds(s, text, "e17", 1));
    kstore_results r;
    assert_int_equal(kstore_search_text(s, text, 1, &r, NULL), DD_OK);
    assert_true(r.n >= 1);
    assert_string_equal(r.hits[0].id, "e17");
    assert_int_equal(r.hits[0].found, KSTORE_FOUND_BOTH);
    assert_non_null(strstr(r.hits[0].payload, "\"text\""));
    assert_non_null(strstr(r.hits[0].version, "ngram/1"));
    kstore_results_free(&r);

    /* replace e17 with unrelated text: the old text no longer finds e17 */
    submit_text(s, "e17", 2000, "zebra quokka narwhal");
    submit_delete(s, "e18");
    submit_delete(s, "no-such-id");
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    assert_false(appears(s, text, "e17"));
    assert_true(finds(s, "zebra quokka narwhal", "e17", 1));
    text_of(18, text, sizeof text);
    assert_false(appears(s, text, "e18"));
    kstore_stats st;
    kstore_get_stats(s, &st);
    assert_int_equal(st.entries, 299);
    assert_int_equal(st.deletes, 1);
    assert_int_equal(st.queued, 0);
    kstore_close(s);
}

static void test_expiry_by_age_and_capacity(void **state)
{
    (void)state;
    kstore_params p = kstore_params_default();
    p.max_age = 100;      /* seconds of event time */
    p.max_entries = 50;
    kstore *s = open_store(fresh_dir(), &p);
    char id[32], text[128];
    for (unsigned i = 0; i < 120; i++) { /* ts 0..119: the first 19 are too old */
        snprintf(id, sizeof id, "a%u", i);
        text_of(i, text, sizeof text);
        submit_text(s, id, i, text);
    }
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kstore_stats st;
    kstore_get_stats(s, &st);
    assert_int_equal(st.entries, 50); /* capacity: the 50 newest */
    assert_int_equal(st.expired, 70);
    for (unsigned i = 0; i < 120; i++) {
        snprintf(id, sizeof id, "a%u", i);
        text_of(i, text, sizeof text);
        assert_true(appears(s, text, id) == (i >= 70));
    }
    kstore_close(s);
}

static void test_restart_loads_saved_index_and_rebuilds_corrupt(void **state)
{
    (void)state;
    const char *dir = fresh_dir();
    char d[128], id[32], text[128], path[160];
    snprintf(d, sizeof d, "%s", dir);
    kstore *s = open_store(d, NULL);
    for (unsigned i = 0; i < 200; i++) {
        snprintf(id, sizeof id, "r%u", i);
        text_of(i, text, sizeof text);
        submit_text(s, id, 1 + i, text);
    }
    submit_delete(s, "r5");
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kstore_close(s); /* saves the index */

    s = open_store(d, NULL);
    kstore_stats st;
    kstore_get_stats(s, &st);
    assert_int_equal(st.entries, 199);
    assert_int_equal(st.deleted_slots, 1); /* the saved graph, not a rebuild */
    text_of(77, text, sizeof text);
    assert_true(finds(s, text, "r77", 1));
    kstore_close(s);

    /* flip bytes in the saved graph: detected, never trusted, rebuilt */
    snprintf(path, sizeof path, "%s/kstore.hnsw", d);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 3000, SEEK_SET);
    fputs("garbage", f);
    fclose(f);
    s = open_store(d, NULL);
    kstore_get_stats(s, &st);
    assert_int_equal(st.entries, 199);
    assert_int_equal(st.deleted_slots, 0); /* rebuilt from SQLite */
    assert_true(finds(s, text, "r77", 1));
    text_of(5, text, sizeof text);
    assert_false(appears(s, text, "r5"));

    /* a read-only opener (driftdeck search) sees the same */
    kstore *ro = kstore_open(d, NULL, true, NULL);
    assert_non_null(ro);
    text_of(77, text, sizeof text);
    assert_true(finds(ro, text, "r77", 1));
    assert_int_equal(kstore_submit(ro, NULL), DD_ESTATE);
    kstore_close(ro);
    kstore_close(s);
}

static uint64_t db_rows(const char *dir)
{
    char path[160];
    snprintf(path, sizeof path, "%s/kstore.db", dir);
    sqlite3 *db;
    uint64_t n = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM kstore_entries", -1, &st, NULL) ==
            SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                n = (uint64_t)sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(db);
    return n;
}

/* One number from the store's database: sql with ?1 bound to arg (or none). */
static int64_t db_int(const char *dir, const char *sql, const char *arg)
{
    char path[160];
    snprintf(path, sizeof path, "%s/kstore.db", dir);
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t n = -1;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Every row of the store carries version ver (and there are n rows). */
static void assert_all_rows_at(const char *dir, const char *ver, int64_t n)
{
    assert_int_equal(db_int(dir, "SELECT count(*) FROM kstore_entries", NULL), n);
    assert_int_equal(db_int(dir, "SELECT count(*) FROM kstore_entries WHERE ver != ?1", ver), 0);
    assert_int_equal(db_int(dir, "SELECT count(DISTINCT ver) FROM kstore_entries", NULL), 1);
}

static void test_kill9_during_indexing_loses_nothing_committed(void **state)
{
    (void)state;
    char d[128];
    snprintf(d, sizeof d, "%s", fresh_dir());
    kstore_params p = kstore_params_default();
    p.policy = KSTORE_QUEUE_BLOCK;
    p.batch = 16;
    kstore *s = open_store(d, &p);
    kstore_close(s); /* the database exists before the child starts */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        s = kstore_open(d, &p, false, NULL);
        char id[32], text[128];
        for (unsigned i = 0;; i++) {
            snprintf(id, sizeof id, "k%u", i);
            text_of(i, text, sizeof text);
            submit_text(s, id, 1 + i, text);
        }
    }
    /* poll until the child has committed a good number, then kill it */
    for (int i = 0; i < 30000 && db_rows(d) < 3000; i++) {
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    uint64_t rows = db_rows(d);
    assert_true(rows >= 3000);
    s = open_store(d, &p);
    kstore_stats st;
    kstore_get_stats(s, &st);
    assert_int_equal(st.entries, rows); /* every committed event is in the index */
    char id[32], text[128];
    for (unsigned i = 0; i < rows; i += rows / 25) {
        snprintf(id, sizeof id, "k%u", i);
        text_of(i, text, sizeof text);
        assert_true(finds(s, text, id, 5));
    }
    kstore_close(s);
}

static void test_compaction_bounds_deleted_slots(void **state)
{
    (void)state;
    kstore_params p = kstore_params_default();
    p.compact_min = 100;
    p.compact_ratio = 0.25;
    kstore *s = open_store(fresh_dir(), &p);
    char id[32], text[128];
    for (unsigned round = 0; round < 4; round++) {
        for (unsigned i = 0; i < 150; i++) { /* new ids each round, then delete them */
            snprintf(id, sizeof id, "c%u-%u", round, i);
            text_of(i + 1000 * round, text, sizeof text);
            submit_text(s, id, round * 1000 + i, text);
        }
        for (unsigned i = 0; i < 150; i++) {
            snprintf(id, sizeof id, "c%u-%u", round, i);
            submit_delete(s, id);
        }
        assert_int_equal(kstore_flush(s, 30000), DD_OK);
    }
    submit_text(s, "keep", 9999, "the one that stays");
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kstore_stats st;
    kstore_get_stats(s, &st);
    assert_true(st.compactions >= 1);
    assert_true(st.deleted_slots < 150);
    assert_int_equal(st.entries, 1);
    assert_true(finds(s, "the one that stays", "keep", 1));
    assert_int_equal(kstore_compact(s, NULL), DD_OK);
    kstore_get_stats(s, &st);
    assert_int_equal(st.deleted_slots, 0);
    assert_true(finds(s, "the one that stays", "keep", 1));
    kstore_close(s);
}

static void test_every_k_and_filters(void **state)
{
    (void)state;
    kstore_params p = kstore_params_default();
    p.policy = KSTORE_QUEUE_EVERY_K;
    p.every_k = 3;
    kstore *s = open_store(fresh_dir(), &p);
    char id[32], text[128];
    for (unsigned i = 0; i < 30; i++) {
        snprintf(id, sizeof id, "k%u", i);
        text_of(i, text, sizeof text);
        submit_text(s, id, i, text);
    }
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kstore_stats st;
    kstore_get_stats(s, &st);
    assert_int_equal(st.submitted, 10);
    assert_int_equal(st.dropped, 20);
    assert_int_equal(st.entries, 10);
    kstore_close(s);

    p = kstore_params_default();
    p.filter = KSTORE_FILTER_LABELLED;
    s = open_store(fresh_dir(), &p);
    submit_json(s, "{\"id\": \"l1\", \"x\": {\"a\": 1}, \"y\": 1, \"text\": \"labelled one\"}");
    submit_json(s, "{\"id\": \"l2\", \"x\": {\"a\": 1}, \"text\": \"unlabelled two\"}");
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kstore_get_stats(s, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.filtered, 1);
    kstore_close(s);

    p = kstore_params_default();
    p.filter = KSTORE_FILTER_FIELD;
    snprintf(p.filter_field, sizeof p.filter_field, "site");
    snprintf(p.filter_value, sizeof p.filter_value, "north");
    s = open_store(fresh_dir(), &p);
    submit_json(s, "{\"id\": \"f1\", \"x\": {\"site\": \"north\"}, \"text\": \"north one\"}");
    submit_json(s, "{\"id\": \"f2\", \"x\": {\"site\": \"south\"}, \"text\": \"south two\"}");
    submit_json(s, "{\"id\": \"f3\", \"x\": {\"a\": 2}, \"text\": \"no site\"}");
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kstore_get_stats(s, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.filtered, 2);
    kstore_close(s);
}

static void test_events_without_text_are_counted_not_lost(void **state)
{
    (void)state;
    kstore *s = open_store(fresh_dir(), NULL);
    submit_json(s, "{\"id\": \"n1\", \"x\": {\"dev\": \"a7\"}}");
    submit_json(s, "{\"x\": {\"dev\": \"b9\"}, \"text\": \"no id here\"}");
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kstore_stats st;
    kstore_get_stats(s, &st);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(st.entries, 1);
    assert_true(finds(s, "a7", "n1", 5)); /* stored and found by FTS */
    assert_true(finds(s, "no id here", "#0", 1)); /* keyed by arrival number */
    kstore_close(s);
}

static void test_features_kind_freezes_statistics(void **state)
{
    (void)state;
    kstore_params p = kstore_params_default();
    p.embed.kind = EMBED_FEATURES;
    p.embed.dim = 16;
    p.warmup = 40;
    const char *dir = fresh_dir();
    char d[128];
    snprintf(d, sizeof d, "%s", dir);
    kstore *s = open_store(d, &p);
    char json[256];
    for (unsigned i = 0; i < 60; i++) {
        snprintf(json, sizeof json, "{\"id\": \"x%u\", \"ts\": %u, \"x\": {\"t\": %u, \"dev\": \"d%u\"}}",
                 i, i, i % 9, i % 4);
        submit_json(s, json);
    }
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kstore_stats st;
    kstore_get_stats(s, &st);
    assert_int_equal(st.entries, 60);
    kstore_close(s);
    s = open_store(d, &p); /* the frozen statistics come back: same version, no rebuild */
    kstore_stats st2;
    kstore_get_stats(s, &st2);
    assert_int_equal(st2.entries, 60);
    assert_non_null(strstr(st2.version, "stats="));
    kstore_close(s);
}

static void test_carried_vectors_and_vector_search(void **state)
{
    (void)state;
    kstore_params p = kstore_params_default();
    p.embed.kind = EMBED_CARRIED;
    p.embed.dim = 4;
    kstore *s = open_store(fresh_dir(), &p);
    submit_json(s, "{\"id\": \"v1\", \"x\": {\"a\": 1}, \"emb\": [1, 0, 0, 0]}");
    submit_json(s, "{\"id\": \"v2\", \"x\": {\"a\": 1}, \"emb\": [0, 1, 0, 0]}");
    submit_json(s, "{\"id\": \"v3\", \"x\": {\"a\": 1}, \"emb\": [0, 1, 0]}"); /* wrong dim */
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    float q[4] = {0.1f, 0.9f, 0, 0};
    kstore_results r;
    assert_int_equal(kstore_search_vector(s, q, 4, 2, &r, NULL), DD_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.hits[0].id, "v2");
    assert_int_equal(r.hits[0].found, KSTORE_FOUND_VECTOR);
    assert_true(r.hits[0].score > r.hits[1].score);
    kstore_results_free(&r);
    assert_int_equal(kstore_search_vector(s, q, 3, 2, &r, NULL), DD_EINVAL);
    assert_int_equal(kstore_search_vector(s, q, 4, 0, &r, NULL), DD_EINVAL);
    assert_int_equal(kstore_search_vector(s, q, 4, 5000, &r, NULL), DD_EINVAL);
    kstore_stats st;
    kstore_get_stats(s, &st);
    assert_int_equal(st.skipped, 1);
    kstore_close(s);
}

/* ---- the mlp embedding ---------------------------------------------------- */

static featpipe_params small_feature_params(void)
{
    featpipe_params fpp;
    featpipe_params_default(&fpp);
    fpp.hash_bits = 4;
    fpp.max_numeric = 4;
    return fpp;
}

static model_params small_mlp_params(model_kind kind, uint64_t seed)
{
    model_params mp;
    model_params_default(&mp);
    mp.kind = kind;
    mp.n_hidden = 1;
    mp.hidden[0] = 8;
    mp.activation = ACT_TANH;
    mp.seed = seed;
    return mp;
}

static void sensor_json(char *buf, size_t n, const char *id, double a, unsigned i)
{
    snprintf(buf, n,
             "{\"id\": \"%s\", \"ts\": %u, \"x\": {\"a\": %.3f, \"b\": %u, \"c\": \"k%u\"}}", id, i,
             a, (i * 7) % 11, i % 3);
}

/* The store's query vector for an event: what the frozen model makes of it. */
static void hidden_of(const model *m, const featpipe *fp, const char *json, float *out)
{
    dd_event *ev = NULL;
    dd_sparse x = {0};
    double h[8];
    assert_int_equal(event_parse_json(json, strlen(json), NULL, NULL, &ev, NULL), DD_OK);
    assert_int_equal(featpipe_transform(fp, ev, &x), DD_OK);
    assert_int_equal(model_embed(m, &x, h, 8), 8);
    for (int j = 0; j < 8; j++)
        out[j] = (float)h[j];
    sparse_free(&x);
    event_free(ev);
}

/* The nearest stored event to a slightly moved copy of e13 is e13, found by
 * the vector index with the store's current version. */
static void assert_nearest_is_e13(kstore *s, const model *m, const featpipe *fp, const char *ver)
{
    char json[256];
    float q[8];
    sensor_json(json, sizeof json, "q", 13.2, 13);
    hidden_of(m, fp, json, q);
    kstore_results r;
    assert_int_equal(kstore_search_vector(s, q, 8, 5, &r, NULL), DD_OK);
    assert_true(r.n >= 2);
    assert_string_equal(r.hits[0].id, "e13");
    assert_true(r.hits[0].score > r.hits[1].score);
    for (uint32_t i = 0; i < r.n; i++)
        assert_string_equal(r.hits[i].version, ver); /* no hit of another version */
    kstore_results_free(&r);
}

static void test_mlp_store_finds_nearest_and_reembeds_on_a_new_version(void **state)
{
    (void)state;
    featpipe_params fpp = small_feature_params();
    model_params mp = small_mlp_params(MODEL_MLP, 7);
    featpipe *fp = featpipe_new(&fpp, NULL);
    model *m = model_new(&mp, featpipe_dim(fp), NULL);
    assert_non_null(m);
    kstore_params p = kstore_params_default();
    p.embed.kind = EMBED_MLP;
    p.embed.dim = 8;
    const char *dir = fresh_dir();
    char d[128], json[256], v1[192], v2[192];
    snprintf(d, sizeof d, "%s", dir);
    kstore *s = open_store(d, &p);
    /* the features learn as the pipeline's would, then version 1 is frozen */
    dd_sparse x = {0};
    for (unsigned i = 0; i < 30; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%u", i);
        sensor_json(json, sizeof json, id, i, i);
        dd_event *ev = NULL;
        assert_int_equal(event_parse_json(json, strlen(json), NULL, NULL, &ev, NULL), DD_OK);
        assert_int_equal(featpipe_learn_transform(fp, ev, &x), DD_OK);
        event_free(ev);
    }
    assert_int_equal(kstore_set_model(s, model_clone(m), featpipe_clone(fp), 1, NULL), DD_OK);
    assert_int_equal(kstore_model_id(s), 1);
    for (unsigned i = 0; i < 30; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%u", i);
        sensor_json(json, sizeof json, id, i, i);
        submit_json(s, json);
    }
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kstore_stats st;
    kstore_get_stats(s, &st);
    assert_int_equal(st.entries, 30);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(st.renewals, 1);
    assert_non_null(strstr(st.version, "mlp/1 d=8 seed=0 model=1 state="));
    snprintf(v1, sizeof v1, "%s", st.version);
    assert_all_rows_at(d, v1, 30);
    assert_nearest_is_e13(s, m, fp, v1);

    /* The live model learns on; version 2 is handed over (a promotion). */
    for (unsigned i = 0; i < 200; i++) {
        sensor_json(json, sizeof json, "t", i % 30, i % 30);
        dd_event *ev = NULL;
        assert_int_equal(event_parse_json(json, strlen(json), NULL, NULL, &ev, NULL), DD_OK);
        assert_int_equal(featpipe_learn_transform(fp, ev, &x), DD_OK);
        assert_int_equal(model_learn(m, &x, (i % 30) > 15, 1.0, NULL), DD_OK);
        event_free(ev);
    }
    assert_int_equal(kstore_set_model(s, model_clone(m), featpipe_clone(fp), 2, NULL), DD_OK);
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kstore_get_stats(s, &st);
    snprintf(v2, sizeof v2, "%s", st.version);
    assert_non_null(strstr(v2, "model=2 state="));
    assert_string_not_equal(v1, v2);
    assert_int_equal(st.renewals, 2);
    assert_int_equal(st.entries, 30);
    assert_int_equal(st.compactions, 2);
    assert_all_rows_at(d, v2, 30); /* no row keeps version 1 */
    assert_nearest_is_e13(s, m, fp, v2);
    kstore_close(s);

    /* Reopened without a model (and read-only): the saved version keeps the
     * vectors searchable; new events wait for the next hand-over. */
    s = open_store(d, &p);
    kstore_get_stats(s, &st);
    assert_string_equal(st.version, v2);
    assert_int_equal(st.entries, 30);
    assert_nearest_is_e13(s, m, fp, v2);
    kstore_close(s);
    kstore *ro = kstore_open(d, NULL, true, NULL);
    assert_non_null(ro);
    assert_nearest_is_e13(ro, m, fp, v2);
    kstore_close(ro);
    sparse_free(&x);
    model_free(m);
    featpipe_free(fp);
}

/* The worker's side: the feed hands the active model over at start and on
 * a version change seen at a tick, never twice for one version. */
static void test_mlp_store_fed_by_the_worker_output(void **state)
{
    (void)state;
    pipeline_params pp;
    pipeline_params_default(&pp);
    pp.feat = small_feature_params();
    pp.model = small_mlp_params(MODEL_MLP, 3);
    pipeline *pipe = pipeline_new(&pp, NULL);
    assert_non_null(pipe);
    kstore_params p = kstore_params_default();
    p.embed.kind = EMBED_MLP;
    p.embed.dim = model_embedding_dim(pipeline_model(pipe));
    assert_int_equal(p.embed.dim, 8);
    const char *dir = fresh_dir();
    char d[128], json[256];
    snprintf(d, sizeof d, "%s", dir);
    kstore *s = open_store(d, &p);
    kstore_feed *feed = kstore_feed_new(s, &p);
    assert_int_equal(kstore_feed_start(feed, pipe, 1, NULL), DD_OK);
    worker_output out = kstore_feed_output(feed);
    worker_status ws = {0};
    ws.active_version = 1;
    for (unsigned i = 0; i < 40; i++) {
        char id[16];
        snprintf(id, sizeof id, "w%u", i);
        sensor_json(json, sizeof json, id, i % 17, i);
        dd_event *ev = NULL;
        pipeline_result res;
        assert_int_equal(event_parse_json(json, strlen(json), NULL, NULL, &ev, NULL), DD_OK);
        assert_int_equal(pipeline_process(pipe, ev, &res), DD_OK);
        out.event(out.ctx, ev, &res);
        if (i == 10) /* some rows embedded by version 1 before the promotion */
            assert_int_equal(kstore_flush(s, 30000), DD_OK);
        if (i == 20)
            ws.active_version = 2; /* a promotion */
        out.tick(out.ctx, pipe, &ws);
        event_free(ev);
    }
    assert_int_equal(kstore_feed_handovers(feed), 2);
    assert_int_equal(kstore_model_id(s), 2);
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kstore_stats st;
    kstore_get_stats(s, &st);
    assert_non_null(strstr(st.version, "model=2 state="));
    assert_int_equal(st.renewals, 2);
    assert_int_equal(st.entries, 40);
    assert_all_rows_at(d, st.version, 40);
    kstore_close(s);
    kstore_feed_free(feed);
    pipeline_free(pipe);
}

static void test_mlp_with_a_linear_model_is_a_clear_error(void **state)
{
    (void)state;
    dd_config cfg;
    char *cause = NULL;
    config_defaults(&cfg);
    cfg.kstore_enabled = true;
    cfg.kstore.embed.kind = EMBED_MLP;
    assert_int_equal(config_check(&cfg, &cause), DD_EINVAL); /* the model is linear by default */
    assert_non_null(strstr(cause, "[kstore] embedding = mlp needs [model] kind = mlp"));
    free(cause);
    cause = NULL;
    cfg.pipe.model.kind = MODEL_MLP;
    assert_int_equal(config_check(&cfg, &cause), DD_OK);

    pipeline_params pp;
    pipeline_params_default(&pp);
    pp.feat = small_feature_params();
    pp.model = small_mlp_params(MODEL_LINEAR, 3);
    pipeline *pipe = pipeline_new(&pp, NULL);
    kstore_params p = kstore_params_default();
    p.embed.kind = EMBED_MLP;
    p.embed.dim = 8;
    kstore *s = open_store(fresh_dir(), &p);
    kstore_feed *feed = kstore_feed_new(s, &p);
    assert_int_equal(kstore_feed_start(feed, pipe, 1, &cause), DD_EINVAL);
    assert_non_null(strstr(cause, "[kstore] embedding = mlp"));
    free(cause);
    kstore_stats st;
    kstore_get_stats(s, &st);
    assert_int_equal(st.errors, 1);
    assert_int_equal(kstore_model_id(s), 0);
    kstore_close(s);
    kstore_feed_free(feed);

    /* a model handed to a store of another kind is refused too */
    p.embed.kind = EMBED_NGRAM;
    s = open_store(fresh_dir(), &p);
    featpipe *fp = featpipe_clone(pipeline_features(pipe));
    assert_int_equal(kstore_set_model(s, model_clone(pipeline_model(pipe)), fp, 1, NULL),
                     DD_EINVAL);
    assert_int_equal(kstore_renew(s), DD_EINVAL);
    kstore_close(s);
    pipeline_free(pipe);
}

/* ---- renewing the features transform after a drift ------------------------- */

static void submit_reading(kstore *s, unsigned i, double t)
{
    char json[256];
    snprintf(json, sizeof json,
             "{\"id\": \"r%u\", \"ts\": %u, \"x\": {\"t\": %.2f, \"dev\": \"d%u\"}}", i, i, t,
             i % 4);
    submit_json(s, json);
}

static void test_features_store_renews_after_a_drift(void **state)
{
    (void)state;
    kstore_params p = kstore_params_default();
    p.embed.kind = EMBED_FEATURES;
    p.embed.dim = 16;
    p.warmup = 20;
    const char *dir = fresh_dir();
    char d[128], v1[192];
    snprintf(d, sizeof d, "%s", dir);
    kstore *s = open_store(d, &p);
    for (unsigned i = 0; i < 30; i++)
        submit_reading(s, i, i % 9);
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kstore_stats st;
    kstore_get_stats(s, &st);
    snprintf(v1, sizeof v1, "%s", st.version);
    assert_non_null(strstr(v1, "stats="));
    assert_int_equal(st.renewals, 0);

    kstore_feed *feed = kstore_feed_new(s, &p);
    worker_output out = kstore_feed_output(feed);
    dd_event *ev = NULL;
    assert_int_equal(event_parse_json("{\"x\": {\"t\": 1}}", 15, NULL, NULL, &ev, NULL), DD_OK);
    pipeline_alarm warn = {.point = WATCH_ERROR, .level = DRIFT_WARNING};
    pipeline_alarm feat = {.point = WATCH_FEATURE, .level = DRIFT_DRIFT};
    pipeline_alarm drift = {.point = WATCH_ERROR, .level = DRIFT_DRIFT};
    out.alarm(out.ctx, &warn, ev); /* a warning, a feature alert: not a concept drift */
    out.alarm(out.ctx, &feat, ev);
    assert_int_equal(kstore_feed_renewals(feed), 0);
    out.alarm(out.ctx, &drift, ev);
    assert_int_equal(kstore_feed_renewals(feed), 1);
    kstore_get_stats(s, &st);
    assert_true(st.renew_pending);

    /* the new concept: statistics refrozen from the warmup events after it */
    for (unsigned i = 30; i < 50; i++)
        submit_reading(s, i, 100 + 3.0 * (i % 7));
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kstore_get_stats(s, &st);
    assert_int_equal(st.renewals, 1);
    assert_false(st.renew_pending);
    assert_non_null(strstr(st.version, "stats="));
    assert_string_not_equal(st.version, v1);
    assert_int_equal(st.entries, 50);
    assert_all_rows_at(d, st.version, 50); /* every row re-embedded */

    /* the statistics are those of the newest warmup raw vectors */
    char path[160];
    snprintf(path, sizeof path, "%s/kstore.db", d);
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT vec FROM kstore_entries ORDER BY ts DESC"
                                        " LIMIT 20",
                                        -1, &q, NULL),
                     SQLITE_OK);
    float raws[20 * 16];
    int n = 0;
    while (sqlite3_step(q) == SQLITE_ROW && n < 20) {
        assert_int_equal(sqlite3_column_bytes(q, 0), 16 * (int)sizeof(float));
        memcpy(raws + n++ * 16, sqlite3_column_blob(q, 0), 16 * sizeof(float));
    }
    sqlite3_finalize(q);
    assert_int_equal(n, 20);
    embed *ref = embed_new(&p.embed, NULL);
    assert_int_equal(embed_freeze(ref, raws, 20, NULL), DD_OK);
    assert_string_equal(embed_version(ref), st.version);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT value FROM kstore_meta WHERE key='stats'", -1, &q, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(q, 0), 2 * 16 * (int)sizeof(float));
    assert_memory_equal(sqlite3_column_blob(q, 0), embed_stats(ref), 2 * 16 * sizeof(float));
    sqlite3_finalize(q);
    sqlite3_close(db);
    embed_free(ref);
    kstore_feed_free(feed);

    /* renew_on_drift = false: the feed passes no drift on */
    p.renew_on_drift = false;
    feed = kstore_feed_new(s, &p);
    out = kstore_feed_output(feed);
    out.alarm(out.ctx, &drift, ev);
    assert_int_equal(kstore_feed_renewals(feed), 0);
    kstore_get_stats(s, &st);
    assert_false(st.renew_pending);
    kstore_feed_free(feed);
    event_free(ev);
    kstore_close(s);
}

struct searcher {
    kstore *s;
    int stop;
    uint64_t searches;
};

static void *search_loop(void *arg)
{
    struct searcher *a = arg;
    char text[128];
    unsigned i = 0;
    while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
        kstore_results r;
        text_of(i++ % 500, text, sizeof text);
        if (kstore_search_text(a->s, text, 10, &r, NULL) == DD_OK)
            kstore_results_free(&r);
        kstore_stats st;
        kstore_get_stats(a->s, &st);
        a->searches++;
        /* A short pause: a reader that never blocks starves the indexer
         * under valgrind, whose threads take turns on one lock. */
        nanosleep(&(struct timespec){0, 200000}, NULL);
    }
    return NULL;
}

static void test_search_beside_the_indexer(void **state)
{
    (void)state;
    kstore_params p = kstore_params_default();
    p.compact_min = 50;
    kstore *s = open_store(fresh_dir(), &p);
    struct searcher a = {s, 0, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, search_loop, &a), 0);
    char id[32], text[128];
    for (unsigned i = 0; i < 1500; i++) {
        snprintf(id, sizeof id, "s%u", i % 500);
        text_of(i, text, sizeof text);
        submit_text(s, id, i, text);
        if (i % 10 == 9) {
            snprintf(id, sizeof id, "s%u", (i * 7) % 500);
            submit_delete(s, id);
        }
    }
    dd_err flushed = kstore_flush(s, 120000);
    __atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    assert_int_equal(flushed, DD_OK);
    assert_true(a.searches > 0);
    kstore_stats st;
    kstore_get_stats(s, &st);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.queued, 0);
    kstore_close(s);
}

static int setup(void **state)
{
    (void)state;
    return test_dir_make(root, sizeof root, "kstore");
}

static int teardown(void **state)
{
    (void)state;
    return test_dir_remove(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upsert_replace_delete_never_stale),
        cmocka_unit_test(test_expiry_by_age_and_capacity),
        cmocka_unit_test(test_restart_loads_saved_index_and_rebuilds_corrupt),
        cmocka_unit_test(test_kill9_during_indexing_loses_nothing_committed),
        cmocka_unit_test(test_compaction_bounds_deleted_slots),
        cmocka_unit_test(test_every_k_and_filters),
        cmocka_unit_test(test_events_without_text_are_counted_not_lost),
        cmocka_unit_test(test_features_kind_freezes_statistics),
        cmocka_unit_test(test_carried_vectors_and_vector_search),
        cmocka_unit_test(test_search_beside_the_indexer),
        cmocka_unit_test(test_mlp_store_finds_nearest_and_reembeds_on_a_new_version),
        cmocka_unit_test(test_mlp_store_fed_by_the_worker_output),
        cmocka_unit_test(test_mlp_with_a_linear_model_is_a_clear_error),
        cmocka_unit_test(test_features_store_renews_after_a_drift),
    };
    if (getenv("DD_TEST_FILTER")) /* e.g. '*beside*' for a ThreadSanitizer run */
        cmocka_set_test_filter(getenv("DD_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
