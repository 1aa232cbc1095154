/*
 * test_audit.c: the hash chain finds the first altered, deleted or reordered
 * entry; the database refuses UPDATE and DELETE; the HMAC and the published
 * head catch a tail rewritten with recomputed hashes; key files must be 0600.
 */
#include "audit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static const char key[] = "test-key-0123456789";

static sqlite3 *fresh_log(int n, const void *k, size_t klen, char head[AUDIT_HASH_HEX])
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(audit_ensure_schema(db, NULL), DD_OK);
    audit_log *a = audit_new(db, k, klen, NULL);
    assert_non_null(a);
    for (int i = 1; i <= n; i++) {
        char payload[64];
        snprintf(payload, sizeof payload, "{\"i\": %d}", i);
        int64_t seq = 0;
        assert_int_equal(
            audit_append(a, 1700000000.0 + i, "policy", "test", payload, head, &seq, NULL), DD_OK);
        assert_int_equal(seq, i);
    }
    audit_free(a);
    return db;
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

static void drop_triggers(sqlite3 *db)
{
    exec(db, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;");
}

static void intact_chain_verifies(void **state)
{
    (void)state;
    char head[AUDIT_HASH_HEX];
    sqlite3 *db = fresh_log(10, NULL, 0, head);
    audit_report r;
    assert_int_equal(audit_verify(db, NULL, 0, NULL, &r, NULL), DD_OK);
    assert_int_equal(r.entries, 10);
    assert_string_equal(r.head, head);
    assert_int_equal(r.bad_seq, 0);
    int64_t seq;
    char h2[AUDIT_HASH_HEX];
    assert_int_equal(audit_head(db, &seq, h2, NULL), DD_OK);
    assert_int_equal(seq, 10);
    assert_string_equal(h2, head);
    sqlite3_close(db);
}

static void empty_log_verifies(void **state)
{
    (void)state;
    char head[AUDIT_HASH_HEX];
    sqlite3 *db = fresh_log(0, NULL, 0, head);
    audit_report r;
    assert_int_equal(audit_verify(db, NULL, 0, NULL, &r, NULL), DD_OK);
    assert_int_equal(r.entries, 0);
    sqlite3_close(db);
}

static void database_refuses_update_and_delete(void **state)
{
    (void)state;
    char head[AUDIT_HASH_HEX];
    sqlite3 *db = fresh_log(3, NULL, 0, head);
    assert_int_not_equal(
        sqlite3_exec(db, "UPDATE audit SET payload='{}' WHERE seq=2", NULL, NULL, NULL), SQLITE_OK);
    assert_non_null(strstr(sqlite3_errmsg(db), "append-only"));
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit WHERE seq=3", NULL, NULL, NULL),
                         SQLITE_OK);
    audit_report r;
    assert_int_equal(audit_verify(db, NULL, 0, NULL, &r, NULL), DD_OK);
    assert_int_equal(r.entries, 3);
    sqlite3_close(db);
}

static void altered_payload_is_named(void **state)
{
    (void)state;
    char head[AUDIT_HASH_HEX];
    sqlite3 *db = fresh_log(8, NULL, 0, head);
    drop_triggers(db);
    exec(db, "UPDATE audit SET payload='{\"i\": 99}' WHERE seq=5");
    audit_report r;
    assert_int_equal(audit_verify(db, NULL, 0, NULL, &r, NULL), DD_ECORRUPT);
    assert_int_equal(r.bad_seq, 5);
    assert_int_equal(r.entries, 4);
    assert_non_null(strstr(r.problem, "altered"));
    sqlite3_close(db);
}

static void altered_actor_is_named(void **state)
{
    (void)state;
    char head[AUDIT_HASH_HEX];
    sqlite3 *db = fresh_log(4, NULL, 0, head);
    drop_triggers(db);
    exec(db, "UPDATE audit SET actor='mallory' WHERE seq=1");
    audit_report r;
    assert_int_equal(audit_verify(db, NULL, 0, NULL, &r, NULL), DD_ECORRUPT);
    assert_int_equal(r.bad_seq, 1);
    sqlite3_close(db);
}

static void deleted_entry_is_named(void **state)
{
    (void)state;
    char head[AUDIT_HASH_HEX];
    sqlite3 *db = fresh_log(8, NULL, 0, head);
    drop_triggers(db);
    exec(db, "DELETE FROM audit WHERE seq=3");
    audit_report r;
    assert_int_equal(audit_verify(db, NULL, 0, NULL, &r, NULL), DD_ECORRUPT);
    assert_int_equal(r.bad_seq, 3);
    assert_non_null(strstr(r.problem, "missing"));
    sqlite3_close(db);
}

static void deleted_and_renumbered_is_named(void **state)
{
    (void)state;
    char head[AUDIT_HASH_HEX];
    sqlite3 *db = fresh_log(8, NULL, 0, head);
    drop_triggers(db);
    exec(db, "DELETE FROM audit WHERE seq=3; UPDATE audit SET seq = seq - 1 WHERE seq > 3");
    audit_report r;
    assert_int_equal(audit_verify(db, NULL, 0, NULL, &r, NULL), DD_ECORRUPT);
    assert_int_equal(r.bad_seq, 3);
    sqlite3_close(db);
}

static void swapped_entries_are_named(void **state)
{
    (void)state;
    char head[AUDIT_HASH_HEX];
    sqlite3 *db = fresh_log(8, NULL, 0, head);
    drop_triggers(db);
    exec(db, "UPDATE audit SET seq = -1 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 6;"
             "UPDATE audit SET seq = 6 WHERE seq = -1");
    audit_report r;
    assert_int_equal(audit_verify(db, NULL, 0, NULL, &r, NULL), DD_ECORRUPT);
    assert_int_equal(r.bad_seq, 4);
    assert_non_null(strstr(r.problem, "out of order"));
    sqlite3_close(db);
}

static void swapped_payloads_are_named(void **state)
{
    (void)state;
    char head[AUDIT_HASH_HEX];
    sqlite3 *db = fresh_log(8, NULL, 0, head);
    drop_triggers(db);
    exec(db, "UPDATE audit SET payload = (SELECT payload FROM audit WHERE seq = 7) WHERE seq = 2;"
             "UPDATE audit SET payload = '{\"i\": 2}' WHERE seq = 7");
    audit_report r;
    assert_int_equal(audit_verify(db, NULL, 0, NULL, &r, NULL), DD_ECORRUPT);
    assert_int_equal(r.bad_seq, 2);
    sqlite3_close(db);
}

/* Rewrite the tail from entry 4 on with correctly recomputed hashes (as an
 * attacker without the key would): the chain alone passes, the published head
 * and the HMAC do not. */
static void rewritten_tail_needs_head_or_key(void **state)
{
    (void)state;
    char head[AUDIT_HASH_HEX], published[AUDIT_HASH_HEX];
    sqlite3 *db = fresh_log(6, key, strlen(key), published);
    drop_triggers(db);
    exec(db, "DELETE FROM audit WHERE seq >= 4");
    audit_log *a = audit_new(db, NULL, 0, NULL);
    assert_int_equal(audit_append(a, 1.0, "mallory", "test", "{\"i\": 4}", head, NULL, NULL),
                     DD_OK);
    audit_free(a);
    audit_report r;
    assert_int_equal(audit_verify(db, NULL, 0, NULL, &r, NULL), DD_OK);
    assert_true(r.hmac_present);
    assert_false(r.hmac_checked);
    assert_int_equal(audit_verify(db, NULL, 0, published, &r, NULL), DD_ECORRUPT);
    assert_non_null(strstr(r.problem, "published head"));
    assert_int_equal(audit_verify(db, key, strlen(key), NULL, &r, NULL), DD_ECORRUPT);
    assert_int_equal(r.bad_seq, 4);
    sqlite3_close(db);
}

static void hmac_with_key_verifies_and_wrong_key_fails(void **state)
{
    (void)state;
    char head[AUDIT_HASH_HEX];
    sqlite3 *db = fresh_log(5, key, strlen(key), head);
    audit_report r;
    assert_int_equal(audit_verify(db, key, strlen(key), head, &r, NULL), DD_OK);
    assert_true(r.hmac_checked);
    assert_int_equal(r.expect_seq, 5);
    assert_int_equal(audit_verify(db, "other", 5, NULL, &r, NULL), DD_ECORRUPT);
    assert_int_equal(r.bad_seq, 1);
    sqlite3_close(db);
}

static void published_head_may_be_followed_by_entries(void **state)
{
    (void)state;
    char head[AUDIT_HASH_HEX], later[AUDIT_HASH_HEX];
    sqlite3 *db = fresh_log(3, NULL, 0, head);
    audit_log *a = audit_new(db, NULL, 0, NULL);
    assert_int_equal(audit_append(a, 2.0, "ann", "approve", "{}", later, NULL, NULL), DD_OK);
    audit_free(a);
    audit_report r;
    assert_int_equal(audit_verify(db, NULL, 0, head, &r, NULL), DD_OK);
    assert_int_equal(r.expect_seq, 3);
    assert_string_equal(r.head, later);
    sqlite3_close(db);
}

static void bad_payload_is_refused_and_writes_nothing(void **state)
{
    (void)state;
    char head[AUDIT_HASH_HEX];
    sqlite3 *db = fresh_log(1, NULL, 0, head);
    audit_log *a = audit_new(db, NULL, 0, NULL);
    char *cause = NULL;
    assert_int_equal(audit_append(a, 1.0, "policy", "x", "[1,2", NULL, NULL, &cause), DD_EPARSE);
    assert_non_null(cause);
    free(cause);
    assert_int_equal(audit_append(a, 1.0, "", "x", "{}", NULL, NULL, NULL), DD_EINVAL);
    audit_free(a);
    int64_t seq;
    assert_int_equal(audit_head(db, &seq, head, NULL), DD_OK);
    assert_int_equal(seq, 1);
    sqlite3_close(db);
}

static void key_file_must_be_private(void **state)
{
    (void)state;
    char path[] = "/tmp/dd-audit-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "secret\n", 7), 7);
    close(fd);
    uint8_t k[AUDIT_KEY_MAX];
    size_t n = 0;
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(audit_key_load(path, k, &n, NULL), DD_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(k, "secret", 6);
    assert_int_equal(chmod(path, 0644), 0);
    char *cause = NULL;
    assert_int_equal(audit_key_load(path, k, &n, &cause), DD_EINVAL);
    assert_non_null(strstr(cause, "chmod 600"));
    free(cause);
    unlink(path);
    assert_int_equal(audit_key_load(path, k, &n, NULL), DD_EIO);
}

static void sha256_matches_reference(void **state)
{
    (void)state;
    char out[AUDIT_HASH_HEX];
    /* FIPS 180-2 appendix B.1: SHA-256("abc"). */
    assert_int_equal(audit_sha256_hex("abc", 3, out), DD_OK);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    audit_hasher *h = audit_hasher_new();
    audit_hasher_update(h, "a", 1);
    audit_hasher_update(h, "bc", 2);
    uint64_t bytes = 0;
    char out2[AUDIT_HASH_HEX];
    audit_hasher_final(h, out2, &bytes);
    assert_string_equal(out, out2);
    assert_int_equal(bytes, 3);
    audit_hasher_free(h);
    audit_hasher_free(NULL);
    audit_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(intact_chain_verifies),
        cmocka_unit_test(empty_log_verifies),
        cmocka_unit_test(database_refuses_update_and_delete),
        cmocka_unit_test(altered_payload_is_named),
        cmocka_unit_test(altered_actor_is_named),
        cmocka_unit_test(deleted_entry_is_named),
        cmocka_unit_test(deleted_and_renumbered_is_named),
        cmocka_unit_test(swapped_entries_are_named),
        cmocka_unit_test(swapped_payloads_are_named),
        cmocka_unit_test(rewritten_tail_needs_head_or_key),
        cmocka_unit_test(hmac_with_key_verifies_and_wrong_key_fails),
        cmocka_unit_test(published_head_may_be_followed_by_entries),
        cmocka_unit_test(bad_payload_is_refused_and_writes_nothing),
        cmocka_unit_test(key_file_must_be_private),
        cmocka_unit_test(sha256_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
