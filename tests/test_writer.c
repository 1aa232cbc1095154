/*
 * test_writer.c: the writer thread writes records in order and commits at
 * checkpoints; when the database fails (disk full, simulated with SQLite's
 * max_page_count) it stops accepting, keeps everything, and catches up in
 * order once the database works again; a backlog past the high-water mark
 * also stops it accepting. The workspace lock refuses a second holder and
 * names the PID.
 */
#include "registry.h"
#include "workspace.h"
#include "writer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct fixture {
    char dir[64];
    registry *reg;
    writer *w;
    uint64_t commit_event;
    char commit_head[AUDIT_HASH_HEX];
    int commits;
} fixture;

static void on_commit(void *ctx, uint64_t ev, uint64_t pos, const char *head)
{
    fixture *f = ctx;
    (void)pos;
    f->commit_event = ev; /* read by the test only after writer_stop() or a stats poll */
    snprintf(f->commit_head, sizeof f->commit_head, "%s", head);
    f->commits++;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/dd-writer-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char path[128];
    snprintf(path, sizeof path, "%s/driftdeck.db", f->dir);
    dd_err e;
    f->reg = registry_open(path, NULL, 0, &e, NULL);
    *state = f;
    return f->reg ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->w)
        writer_free(f->w); /* frees the registry it owns */
    else
        registry_free(f->reg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f);
    return rc;
}

static void make_writer(fixture *f, size_t cap, size_t reserve)
{
    writer_params p;
    writer_params_default(&p);
    p.capacity = cap;
    p.reserve = reserve;
    p.retry_ms = 20;
    f->w = writer_new(f->reg, &p, on_commit, f, NULL);
    assert_non_null(f->w);
}

static gov_record *version(int64_t id, size_t blob)
{
    gov_record *v = rec_new(REC_VERSION, (uint64_t)id, "policy");
    v->u.version.id = id;
    v->u.version.parent_id = id > 1 ? id - 1 : 0;
    v->u.version.trigger = id > 1 ? GOV_TRIG_DRIFT : GOV_TRIG_START;
    uint8_t *b = malloc(blob);
    memset(b, (int)id, blob);
    v->u.version.model.data = b;
    v->u.version.model.len = blob;
    return v;
}

static gov_record *checkpoint(uint64_t ev)
{
    gov_record *c = rec_new(REC_CHECKPOINT, ev, "policy");
    c->u.checkpoint.source = rec_strdup("test");
    c->u.checkpoint.src_pos = ev * 7;
    return c;
}

static void push1(writer *w, gov_record *r)
{
    rec_list l = {0};
    rec_list_push(&l, r);
    writer_push(w, &l);
    assert_int_equal(l.n, 0);
}

static int64_t q(registry *reg, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(registry_db(reg), sql, -1, &st, NULL), SQLITE_OK);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

/* Poll the writer's stats until pred holds or 10 s pass. */
static bool wait_for(writer *w, bool (*pred)(const writer_stats *, const void *), const void *arg)
{
    struct timespec nap = {0, 2000000};
    for (int i = 0; i < 5000; i++) {
        writer_stats st;
        writer_get_stats(w, &st);
        if (pred(&st, arg))
            return true;
        nanosleep(&nap, NULL);
    }
    return false;
}

static bool is_failing(const writer_stats *st, const void *arg)
{
    (void)arg;
    return st->failing;
}

static bool committed_at(const writer_stats *st, const void *arg)
{
    return !st->failing && st->committed_event == *(const uint64_t *)arg;
}

static void writes_in_order_and_commits_at_checkpoints(void **state)
{
    fixture *f = *state;
    make_writer(f, 64, 8);
    assert_int_equal(writer_start(f->w, NULL), DD_OK);
    for (int64_t id = 1; id <= 5; id++)
        push1(f->w, version(id, 100));
    push1(f->w, checkpoint(500));
    push1(f->w, version(6, 100));
    assert_int_equal(writer_stop(f->w, NULL), DD_OK);
    registry *reg = f->reg;
    assert_int_equal(q(reg, "SELECT count(*) FROM versions"), 6);
    assert_int_equal(q(reg, "SELECT count(*) FROM checkpoints"), 1);
    assert_int_equal(f->commit_event, 500);
    assert_int_equal(f->commits, 1);
    writer_stats st;
    writer_get_stats(f->w, &st);
    assert_int_equal(st.applied, 7);
    assert_int_equal(st.commits, 2); /* the checkpoint, and the tail at stop */
    assert_int_equal(st.refused, 0);
    audit_report r;
    assert_int_equal(audit_verify(registry_db(reg), NULL, 0, NULL, &r, NULL), DD_OK);
    assert_int_equal(r.entries, 13); /* a version and a creation transition each, a checkpoint */
}

static void disk_full_stops_accepting_and_catches_up_in_order(void **state)
{
    fixture *f = *state;
    make_writer(f, 64, 8);
    /* No room to grow: the first big write fails with SQLITE_FULL. */
    writer_run_sql(f->w, "PRAGMA max_page_count = 1");
    assert_int_equal(writer_start(f->w, NULL), DD_OK);
    for (int64_t id = 1; id <= 4; id++)
        push1(f->w, version(id, 200000));
    push1(f->w, checkpoint(1000));
    assert_true(wait_for(f->w, is_failing, NULL));
    assert_false(writer_accepting(f->w));
    writer_stats st;
    writer_get_stats(f->w, &st);
    assert_true(st.failures >= 1);
    assert_non_null(strstr(st.last_error, "database"));
    push1(f->w, version(5, 10)); /* still accepted in order, behind the others */
    push1(f->w, checkpoint(2000));
    writer_run_sql(f->w, "PRAGMA max_page_count = 1073741823");
    uint64_t want = 2000;
    assert_true(wait_for(f->w, committed_at, &want));
    assert_true(writer_accepting(f->w));
    assert_int_equal(writer_stop(f->w, NULL), DD_OK);
    assert_int_equal(q(f->reg, "SELECT count(*) FROM versions"), 5);
    assert_int_equal(q(f->reg, "SELECT group_concat(id) = '1,2,3,4,5' FROM (SELECT id FROM "
                               "versions ORDER BY rowid)"),
                     1);
    assert_int_equal(q(f->reg, "SELECT count(*) FROM checkpoints"), 2);
    audit_report r;
    assert_int_equal(audit_verify(registry_db(f->reg), NULL, 0, NULL, &r, NULL), DD_OK);
    assert_int_equal(f->commit_event, 2000);
    assert_string_equal(f->commit_head, r.head);
}

static void backlog_past_high_water_stops_accepting(void **state)
{
    fixture *f = *state;
    make_writer(f, 16, 4);
    /* Not started yet: records pile up. */
    for (int64_t id = 1; id <= 11; id++) {
        push1(f->w, version(id, 10));
        assert_true(writer_accepting(f->w));
    }
    push1(f->w, version(12, 10)); /* 12 + 4 reserved = 16 */
    assert_false(writer_accepting(f->w));
    assert_int_equal(writer_start(f->w, NULL), DD_OK);
    push1(f->w, checkpoint(12));
    uint64_t want = 12;
    assert_true(wait_for(f->w, committed_at, &want));
    assert_true(writer_accepting(f->w));
    assert_int_equal(writer_stop(f->w, NULL), DD_OK);
    assert_int_equal(q(f->reg, "SELECT count(*) FROM versions"), 12);
}

static void refused_record_is_counted_not_fatal(void **state)
{
    fixture *f = *state;
    make_writer(f, 16, 4);
    assert_int_equal(writer_start(f->w, NULL), DD_OK);
    push1(f->w, version(1, 10));
    /* version 1 is a candidate: candidate -> canary is not allowed */
    push1(f->w, rec_transition(1, "policy", 1, GOV_CANDIDATE, GOV_CANARY, GOV_TRIG_START, "x"));
    push1(f->w, version(2, 10));
    assert_int_equal(writer_stop(f->w, NULL), DD_OK);
    writer_stats st;
    writer_get_stats(f->w, &st);
    assert_int_equal(st.refused, 1);
    assert_non_null(strstr(st.last_error, "record refused"));
    assert_int_equal(q(f->reg, "SELECT count(*) FROM versions"), 2);
}

static void second_lock_is_refused_with_the_pid(void **state)
{
    fixture *f = *state;
    dd_err e;
    char *cause = NULL;
    workspace_lock *a = workspace_lock_new(f->dir, &e, &cause);
    assert_non_null(a);
    workspace_lock *b = workspace_lock_new(f->dir, &e, &cause);
    assert_null(b);
    assert_int_equal(e, DD_EBUSY);
    char pid[32];
    snprintf(pid, sizeof pid, "process %ld", (long)getpid());
    assert_non_null(strstr(cause, pid));
    free(cause);
    cause = NULL;
    workspace_lock_free(a);
    b = workspace_lock_new(f->dir, &e, &cause);
    assert_non_null(b);
    workspace_lock_free(b);
    workspace_lock_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(writes_in_order_and_commits_at_checkpoints, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(disk_full_stops_accepting_and_catches_up_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(backlog_past_high_water_stops_accepting, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_record_is_counted_not_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(second_lock_is_refused_with_the_pid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
