/*
 * test_registry.c: the workspace database: migrations and the version check,
 * versions and transitions written with their audit entries, at most one
 * active version, checkpoints with retention, manual rollback, and a rolled
 * back transaction that leaves nothing behind.
 */
#include "registry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dd-registry-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/driftdeck.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static registry *open_reg(void)
{
    dd_err e;
    char *cause = NULL;
    registry *r = registry_open(path, NULL, 0, &e, &cause);
    if (!r)
        fail_msg("registry_open: %s", cause);
    return r;
}

static void apply(registry *r, gov_record *rec)
{
    char *cause = NULL;
    assert_non_null(rec);
    dd_err e = registry_apply(r, rec, 1700000000.0, &cause);
    if (e)
        fail_msg("apply kind %d: %s", rec->kind, cause);
    rec_free(rec);
}

static gov_record *version(int64_t id, int64_t parent, gov_trigger trig, const char *model)
{
    gov_record *v = rec_new(REC_VERSION, (uint64_t)id * 100, "policy");
    v->u.version.id = id;
    v->u.version.parent_id = parent;
    v->u.version.trigger = trig;
    v->u.version.config_hash = rec_strdup("cfg");
    assert_int_equal(rec_blob_set(&v->u.version.model, model, strlen(model)), DD_OK);
    return v;
}

static void move(registry *r, int64_t id, gov_status from, gov_status to, gov_trigger trig)
{
    apply(r, rec_transition(0, "policy", id, from, to, trig, "test"));
}

static int64_t count(registry *r, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(registry_db(r), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void start_session(registry *r)
{
    gov_record *s = rec_new(REC_SESSION_START, 0, "policy");
    s->u.session.source = rec_strdup("file:test");
    s->u.session.mode = rec_strdup("continuous");
    apply(r, s);
}

static void assert_audit_ok(registry *r)
{
    audit_report rep;
    assert_int_equal(audit_verify(registry_db(r), NULL, 0, NULL, &rep, NULL), DD_OK);
    assert_true(rep.entries > 0);
}

static void migrates_and_refuses_newer_schema(void **state)
{
    (void)state;
    registry *r = open_reg();
    assert_int_equal(count(r, "PRAGMA user_version"), REGISTRY_SCHEMA_VERSION);
    assert_int_equal(count(r, "SELECT count(*) FROM sqlite_master WHERE name IN ('versions', "
                              "'transitions', 'audit', 'sessions', 'metrics', 'checkpoints')"),
                     6);
    assert_int_equal(count(r, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = "
                              "'wal'"),
                     1);
    registry_free(r);
    r = open_reg(); /* a second open is a no-op migration */
    assert_int_equal(sqlite3_exec(registry_db(r), "PRAGMA user_version = 99", NULL, NULL, NULL),
                     SQLITE_OK);
    registry_free(r);
    dd_err e;
    char *cause = NULL;
    assert_null(registry_open(path, NULL, 0, &e, &cause));
    assert_int_equal(e, DD_EVERSION);
    assert_non_null(strstr(cause, "99"));
    free(cause);
    registry_free(NULL);
    /* put it back for the tests that follow */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void full_lifecycle_is_recorded(void **state)
{
    (void)state;
    registry *r = open_reg();
    assert_int_equal(registry_begin(r, NULL), DD_OK);
    start_session(r);
    apply(r, version(1, 0, GOV_TRIG_START, "m1"));
    move(r, 1, GOV_CANDIDATE, GOV_ACTIVE, GOV_TRIG_START);
    apply(r, version(2, 1, GOV_TRIG_DRIFT, "m2"));
    move(r, 2, GOV_CANDIDATE, GOV_SHADOW, GOV_TRIG_DRIFT);
    move(r, 2, GOV_SHADOW, GOV_AWAITING_APPROVAL, GOV_TRIG_DRIFT);
    move(r, 2, GOV_AWAITING_APPROVAL, GOV_CANARY, GOV_TRIG_DRIFT);
    move(r, 1, GOV_ACTIVE, GOV_RETIRED, GOV_TRIG_START);
    move(r, 2, GOV_CANARY, GOV_ACTIVE, GOV_TRIG_DRIFT);
    assert_int_equal(registry_commit(r, NULL), DD_OK);
    int64_t active;
    assert_int_equal(registry_active_id(r, &active, NULL), DD_OK);
    assert_int_equal(active, 2);
    registry_version v;
    assert_int_equal(registry_version_get(r, 2, true, &v, NULL), DD_OK);
    assert_int_equal(v.parent_id, 1);
    assert_int_equal(v.status, GOV_ACTIVE);
    assert_int_equal(v.trigger, GOV_TRIG_DRIFT);
    assert_true(v.served);
    assert_int_equal(v.model.len, 2);
    assert_memory_equal(v.model.data, "m2", 2);
    registry_version_clear(&v);
    /* 2 creations + 6 moves are transitions; each has an audit entry, and so do
     * the 2 version rows and the session start */
    assert_int_equal(count(r, "SELECT count(*) FROM transitions"), 8);
    assert_int_equal(count(r, "SELECT count(*) FROM audit"), 8 + 2 + 1);
    assert_int_equal(count(r, "SELECT count(*) FROM audit WHERE kind = 'version' AND "
                              "json_extract(payload, '$.params_sha256') IS NOT NULL"),
                     2);
    assert_audit_ok(r);
    registry_free(r);
}

static void forbidden_moves_are_refused_by_the_registry(void **state)
{
    (void)state;
    registry *r = open_reg();
    char *cause = NULL;
    assert_int_equal(registry_begin(r, NULL), DD_OK);
    gov_record *t = rec_transition(0, "ann", 2, GOV_SHADOW, GOV_ACTIVE, GOV_TRIG_DRIFT, "x");
    /* version 2 is active: its stored status is not "shadow" */
    assert_int_equal(registry_apply(r, t, 1.0, &cause), DD_ESTATE);
    assert_non_null(strstr(cause, "is active"));
    rec_free(t);
    apply(r, version(3, 2, GOV_TRIG_DRIFT, "m3"));
    t = rec_transition(0, "ann", 3, GOV_CANDIDATE, GOV_ACTIVE, GOV_TRIG_DRIFT, "x");
    assert_int_equal(registry_apply(r, t, 1.0, &cause), DD_ESTATE);
    rec_free(t);
    free(cause);
    cause = NULL;
    /* A second active version is refused by the database itself. */
    apply(r, version(4, 2, GOV_TRIG_ROLLBACK, "m4"));
    t = rec_transition(0, "ann", 4, GOV_CANDIDATE, GOV_ACTIVE, GOV_TRIG_ROLLBACK, "x");
    assert_int_equal(registry_apply(r, t, 1.0, &cause), DD_EDB);
    assert_non_null(strstr(cause, "UNIQUE"));
    free(cause);
    rec_free(t);
    registry_rollback(r);
    assert_int_equal(count(r, "SELECT count(*) FROM versions WHERE id >= 3"), 0);
    assert_audit_ok(r);
    registry_free(r);
}

static gov_record *checkpoint(uint64_t ev, int64_t active, int64_t challenger)
{
    gov_record *c = rec_new(REC_CHECKPOINT, ev, "policy");
    c->u.checkpoint.source = rec_strdup("file:test");
    c->u.checkpoint.src_pos = ev * 10;
    c->u.checkpoint.active_id = active;
    c->u.checkpoint.challenger_id = challenger;
    char buf[32];
    snprintf(buf, sizeof buf, "state@%llu", (unsigned long long)ev);
    rec_blob_set(&c->u.checkpoint.pipeline, buf, strlen(buf));
    rec_blob_set(&c->u.checkpoint.policy, "pol", 3);
    snprintf(buf, sizeof buf, "active@%llu", (unsigned long long)ev);
    rec_blob_set(&c->u.checkpoint.active_model, buf, strlen(buf));
    return c;
}

static void checkpoints_round_trip_and_are_retained(void **state)
{
    (void)state;
    registry *r = open_reg();
    registry_set_keep(r, 3);
    for (uint64_t ev = 1000; ev <= 6000; ev += 1000) {
        assert_int_equal(registry_begin(r, NULL), DD_OK);
        apply(r, checkpoint(ev, 2, 0));
        assert_int_equal(registry_commit(r, NULL), DD_OK);
    }
    assert_int_equal(count(r, "SELECT count(*) FROM checkpoints"), 3);
    registry_checkpoint c;
    assert_int_equal(registry_last_checkpoint(r, &c, NULL), DD_OK);
    assert_int_equal(c.event_index, 6000);
    assert_int_equal(c.src_pos, 60000);
    assert_int_equal(c.active_id, 2);
    assert_int_equal(c.challenger_id, 0);
    assert_string_equal(c.source, "file:test");
    assert_int_equal(c.pipeline.len, strlen("state@6000"));
    assert_memory_equal(c.pipeline.data, "state@6000", c.pipeline.len);
    assert_int_equal(strlen(c.audit_head), 64);
    int64_t seq;
    char head[AUDIT_HASH_HEX];
    assert_int_equal(registry_audit_head(r, &seq, head, NULL), DD_OK);
    assert_string_equal(c.audit_head, head);
    registry_checkpoint_clear(&c);
    /* the active version's latest saved state is the checkpoint's */
    registry_version v;
    assert_int_equal(registry_version_get(r, 2, true, &v, NULL), DD_OK);
    assert_memory_equal(v.model.data, "active@6000", v.model.len);
    registry_version_clear(&v);
    assert_audit_ok(r);
    registry_free(r);
}

static void manual_rollback_clones_the_target(void **state)
{
    (void)state;
    registry *r = open_reg();
    assert_int_equal(registry_begin(r, NULL), DD_OK);
    apply(r, version(3, 2, GOV_TRIG_DRIFT, "m3"));
    move(r, 3, GOV_CANDIDATE, GOV_SHADOW, GOV_TRIG_DRIFT);
    assert_int_equal(registry_commit(r, NULL), DD_OK);
    char *cause = NULL;
    int64_t id = 0;
    assert_int_equal(registry_manual_rollback(r, 3, "ann", "manual", 2.0, &id, &cause),
                     DD_ESTATE); /* 3 never served */
    free(cause);
    assert_int_equal(registry_manual_rollback(r, 2, "ann", "manual", 2.0, &id, NULL),
                     DD_ESTATE); /* already active */
    assert_int_equal(registry_manual_rollback(r, 1, "ann", "bad model", 2.0, &id, NULL), DD_OK);
    assert_int_equal(id, 4);
    registry_version v;
    assert_int_equal(registry_version_get(r, 4, true, &v, NULL), DD_OK);
    assert_int_equal(v.parent_id, 1);
    assert_int_equal(v.trigger, GOV_TRIG_ROLLBACK);
    rec_blob b;
    sqlite3 *ro = NULL; /* what a console's read-only connection sees */
    assert_int_equal(sqlite3_open_v2(path, &ro, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(registry_read_version_blob(ro, 4, &b, NULL), DD_OK);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "m1", 2);
    free(b.data);
    assert_int_equal(registry_read_version_blob(ro, 99, &b, NULL), DD_ENOTFOUND);
    sqlite3_close(ro);
    assert_int_equal(v.status, GOV_ACTIVE);
    assert_memory_equal(v.model.data, "m1", 2);
    registry_version_clear(&v);
    assert_int_equal(registry_version_get(r, 2, false, &v, NULL), DD_OK);
    assert_int_equal(v.status, GOV_ROLLED_BACK);
    assert_int_equal(registry_version_get(r, 3, false, &v, NULL), DD_OK);
    assert_int_equal(v.status, GOV_REJECTED);
    assert_int_equal(count(r, "SELECT count(*) FROM transitions WHERE actor = 'ann' AND "
                              "reason = 'bad model'"),
                     2);
    /* retention prunes the never-served rejected version's state at the next checkpoint */
    assert_int_equal(registry_begin(r, NULL), DD_OK);
    apply(r, checkpoint(7000, 4, 0));
    assert_int_equal(registry_commit(r, NULL), DD_OK);
    assert_int_equal(count(r, "SELECT pruned FROM versions WHERE id = 3"), 1);
    assert_int_equal(count(r, "SELECT count(*) FROM versions WHERE model IS NULL AND served"), 0);
    assert_audit_ok(r);
    registry_free(r);
}

int main(void)
{
    /* The tests share one workspace and run in order. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(migrates_and_refuses_newer_schema),
        cmocka_unit_test(full_lifecycle_is_recorded),
        cmocka_unit_test(forbidden_moves_are_refused_by_the_registry),
        cmocka_unit_test(checkpoints_round_trip_and_are_retained),
        cmocka_unit_test(manual_rollback_clones_the_target),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
