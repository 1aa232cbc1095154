/*
 * test_kstore.c: the knowledge store end to end: upsert-replace, delete and
 * expiry never return stale ids; restart loads the saved index, a corrupted
 * one is rebuilt; kill -9 while indexing loses nothing SQLite committed;
 * compaction bounds deleted slots; queue policies count what they drop;
 * filters; the features transform freezes its statistics; searches run
 * beside the indexer (a ThreadSanitizer build checks the races).
 */
#include "kstore.h"
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
    snprintf(root, sizeof root, "/tmp/dd-kstore-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
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
    };
    if (getenv("DD_TEST_FILTER")) /* e.g. '*beside*' for a ThreadSanitizer run */
        cmocka_set_test_filter(getenv("DD_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, NULL);
}
