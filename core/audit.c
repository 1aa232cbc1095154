/*
 * audit.c: the hash-chained audit log (see audit.h).
 *
 * An entry's hash is SHA-256 over a fixed tag and the fields seq, time, actor,
 * kind, payload and prev_hash, each preceded by its length as 8 big-endian
 * bytes, so no two different entries serialize to the same bytes. The HMAC,
 * when a key is configured, is HMAC-SHA-256(key, hex hash): it binds the
 * whole entry and, through prev_hash, the chain before it.
 */
#include "audit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define HASH_TAG "driftdeck-audit-v1"

const char audit_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS audit (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  time TEXT NOT NULL,\n"
    "  actor TEXT NOT NULL,\n"
    "  kind TEXT NOT NULL,\n"
    "  payload TEXT NOT NULL,\n"
    "  prev_hash TEXT NOT NULL,\n"
    "  hash TEXT NOT NULL,\n"
    "  hmac TEXT\n"
    ");\n"
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit\n"
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n"
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit\n"
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n";

struct audit_log {
    sqlite3 *db;
    sqlite3_stmt *head;
    sqlite3_stmt *insert;
    size_t keylen;
    uint8_t key[AUDIT_KEY_MAX];
};

struct audit_hasher {
    EVP_MD_CTX *ctx;
    uint64_t bytes;
};

static void to_hex(const unsigned char *md, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

void audit_format_time(double wall_time, char out[32])
{
    if (!(wall_time >= 0) || wall_time > 253402300799.0)
        wall_time = 0;
    time_t secs = (time_t)wall_time;
    unsigned ms = (unsigned)((wall_time - (double)secs) * 1000.0) % 1000u;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char day[20];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%.19s.%03uZ", day, ms);
}

dd_err audit_sha256_hex(const void *data, size_t len, char out[AUDIT_HASH_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL))
        return DD_ENOMEM;
    to_hex(md, n, out);
    return DD_OK;
}

audit_hasher *audit_hasher_new(void)
{
    audit_hasher *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || !EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL)) {
        audit_hasher_free(h);
        return NULL;
    }
    return h;
}

void audit_hasher_free(audit_hasher *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void audit_hasher_update(audit_hasher *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->ctx, data, len);
    h->bytes += len;
}

void audit_hasher_final(audit_hasher *h, char out[AUDIT_HASH_HEX], uint64_t *bytes)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    to_hex(md, n, out);
    if (bytes)
        *bytes = h->bytes;
    h->bytes = 0;
    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

static void feed_field(EVP_MD_CTX *ctx, const char *s)
{
    size_t len = strlen(s);
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    EVP_DigestUpdate(ctx, be, sizeof be);
    EVP_DigestUpdate(ctx, s, len);
}

/* The entry hash over its fields (see the top of this file). */
static dd_err entry_hash(int64_t seq, const char *time, const char *actor, const char *kind,
                         const char *payload, const char *prev, char out[AUDIT_HASH_HEX])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(ctx);
        return DD_ENOMEM;
    }
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)seq);
    feed_field(ctx, HASH_TAG);
    feed_field(ctx, num);
    feed_field(ctx, time);
    feed_field(ctx, actor);
    feed_field(ctx, kind);
    feed_field(ctx, payload);
    feed_field(ctx, prev);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    to_hex(md, n, out);
    return DD_OK;
}

static dd_err entry_hmac(const uint8_t *key, size_t keylen, const char *hash,
                         char out[AUDIT_HASH_HEX])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t n = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, (const unsigned char *)hash,
                   strlen(hash), mac, sizeof mac, &n))
        return DD_ENOMEM;
    to_hex(mac, n, out);
    return DD_OK;
}

dd_err audit_ensure_schema(sqlite3 *db, char **cause)
{
    char *msg = NULL;
    if (sqlite3_exec(db, audit_schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
        dd_err e = dd_fail(cause, DD_EDB, "cannot create the audit table: %s", msg ? msg : "?");
        sqlite3_free(msg);
        return e;
    }
    return DD_OK;
}

audit_log *audit_new(sqlite3 *db, const void *key, size_t keylen, char **cause)
{
    if (keylen > AUDIT_KEY_MAX) {
        dd_fail(cause, DD_EINVAL, "audit key longer than %d bytes", AUDIT_KEY_MAX);
        return NULL;
    }
    audit_log *a = calloc(1, sizeof *a);
    if (!a) {
        dd_fail(cause, DD_ENOMEM, "no memory for the audit log");
        return NULL;
    }
    a->db = db;
    if (key && keylen) {
        memcpy(a->key, key, keylen);
        a->keylen = keylen;
    }
    if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1,
                           &a->head, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO audit (seq, time, actor, kind, payload, prev_hash, hash, "
                           "hmac) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &a->insert, NULL) != SQLITE_OK) {
        dd_fail(cause, DD_EDB, "cannot prepare audit statements: %s", sqlite3_errmsg(db));
        audit_free(a);
        return NULL;
    }
    return a;
}

void audit_free(audit_log *a)
{
    if (!a)
        return;
    sqlite3_finalize(a->head);
    sqlite3_finalize(a->insert);
    OPENSSL_cleanse(a->key, sizeof a->key);
    free(a);
}

static dd_err read_head(sqlite3 *db, sqlite3_stmt *st, int64_t *seq, char head[AUDIT_HASH_HEX],
                        char **cause)
{
    int rc = sqlite3_step(st);
    dd_err e = DD_OK;
    if (rc == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(st, 1);
        *seq = sqlite3_column_int64(st, 0);
        snprintf(head, AUDIT_HASH_HEX, "%s", h ? h : "");
    } else if (rc == SQLITE_DONE) {
        *seq = 0;
        snprintf(head, AUDIT_HASH_HEX, "%s", ZERO_HASH);
    } else {
        e = dd_fail(cause, DD_EDB, "cannot read the audit head: %s", sqlite3_errmsg(db));
    }
    sqlite3_reset(st);
    return e;
}

dd_err audit_head(sqlite3 *db, int64_t *seq, char head[AUDIT_HASH_HEX], char **cause)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1, &st,
                           NULL) != SQLITE_OK)
        return dd_fail(cause, DD_EDB, "cannot read the audit log: %s", sqlite3_errmsg(db));
    dd_err e = read_head(db, st, seq, head, cause);
    sqlite3_finalize(st);
    return e;
}

static bool is_json_object(const char *s)
{
    cJSON *j = cJSON_Parse(s);
    bool ok = j && cJSON_IsObject(j);
    cJSON_Delete(j);
    return ok;
}

dd_err audit_append(audit_log *a, double wall_time, const char *actor, const char *kind,
                    const char *payload_json, char head[AUDIT_HASH_HEX], int64_t *seq, char **cause)
{
    if (!actor || !*actor || !kind || !*kind || !payload_json)
        return dd_fail(cause, DD_EINVAL, "an audit entry needs an actor, a kind and a payload");
    if (!is_json_object(payload_json))
        return dd_fail(cause, DD_EPARSE, "audit payload of kind '%s' is not a JSON object", kind);
    int64_t last = 0;
    char prev[AUDIT_HASH_HEX], hash[AUDIT_HASH_HEX], mac[AUDIT_HASH_HEX], when[32];
    dd_err e = read_head(a->db, a->head, &last, prev, cause);
    if (e)
        return e;
    audit_format_time(wall_time, when);
    if ((e = entry_hash(last + 1, when, actor, kind, payload_json, prev, hash)) != DD_OK)
        return dd_fail(cause, e, "cannot hash an audit entry");
    if (a->keylen && (e = entry_hmac(a->key, a->keylen, hash, mac)) != DD_OK)
        return dd_fail(cause, e, "cannot compute an audit HMAC");
    sqlite3_stmt *st = a->insert;
    sqlite3_bind_int64(st, 1, last + 1);
    sqlite3_bind_text(st, 2, when, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, payload_json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, prev, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, hash, -1, SQLITE_TRANSIENT);
    if (a->keylen)
        sqlite3_bind_text(st, 8, mac, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 8);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return dd_fail(cause, DD_EDB, "cannot append to the audit log: %s", sqlite3_errmsg(a->db));
    if (head)
        memcpy(head, hash, AUDIT_HASH_HEX);
    if (seq)
        *seq = last + 1;
    return DD_OK;
}

static const char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

/* The seq of the row whose stored hash is h, or 0. Used only to explain a
 * broken link, so a table scan is fine. */
static int64_t seq_of_hash(sqlite3 *db, const char *h)
{
    sqlite3_stmt *st = NULL;
    int64_t seq = 0;
    if (sqlite3_prepare_v2(db, "SELECT seq FROM audit WHERE hash = ? LIMIT 1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, h, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            seq = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return seq;
}

/* Check one row at position pos against the previous hash. Returns true when
 * it is good; else fills r->bad_seq and r->problem. */
static bool check_row(sqlite3 *db, sqlite3_stmt *st, int64_t pos, const char *prev,
                      const uint8_t *key, size_t keylen, audit_report *r)
{
    int64_t seq = sqlite3_column_int64(st, 0);
    const char *prev_hash = col(st, 5), *hash = col(st, 6);
    r->bad_seq = pos;
    if (seq != pos) {
        snprintf(r->problem, sizeof r->problem,
                 "entry %lld is missing (deleted): the next entry has seq %lld", (long long)pos,
                 (long long)seq);
        return false;
    }
    if (strcmp(prev_hash, prev) != 0) {
        int64_t other = seq_of_hash(db, prev_hash);
        if (other > pos)
            snprintf(r->problem, sizeof r->problem,
                     "entry %lld is out of order (reordered): it was written after the entry "
                     "now at seq %lld",
                     (long long)pos, (long long)other);
        else
            snprintf(r->problem, sizeof r->problem,
                     "entry %lld does not follow entry %lld: its predecessor was deleted or "
                     "replaced",
                     (long long)pos, (long long)(pos - 1));
        return false;
    }
    char want[AUDIT_HASH_HEX];
    if (entry_hash(seq, col(st, 1), col(st, 2), col(st, 3), col(st, 4), prev_hash, want) ||
        strcmp(want, hash) != 0) {
        snprintf(r->problem, sizeof r->problem,
                 "entry %lld was altered: its content does not match its hash", (long long)pos);
        return false;
    }
    if (sqlite3_column_type(st, 7) != SQLITE_NULL)
        r->hmac_present = true;
    if (keylen) {
        char mac[AUDIT_HASH_HEX];
        if (sqlite3_column_type(st, 7) == SQLITE_NULL) {
            snprintf(r->problem, sizeof r->problem, "entry %lld has no HMAC", (long long)pos);
            return false;
        }
        if (entry_hmac(key, keylen, hash, mac) || strcmp(mac, col(st, 7)) != 0) {
            snprintf(r->problem, sizeof r->problem,
                     "entry %lld has a wrong HMAC: it was rewritten without the key (or the "
                     "key is not the workspace's)",
                     (long long)pos);
            return false;
        }
    }
    r->bad_seq = 0;
    return true;
}

dd_err audit_verify(sqlite3 *db, const void *key, size_t keylen, const char *expect_head,
                    audit_report *r, char **cause)
{
    memset(r, 0, sizeof *r);
    snprintf(r->head, sizeof r->head, "%s", ZERO_HASH);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT seq, time, actor, kind, payload, prev_hash, hash, hmac FROM "
                           "audit ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return dd_fail(cause, DD_EDB, "cannot read the audit log: %s", sqlite3_errmsg(db));
    char prev[AUDIT_HASH_HEX];
    snprintf(prev, sizeof prev, "%s", ZERO_HASH);
    int rc;
    dd_err e = DD_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t pos = r->entries + 1;
        if (!check_row(db, st, pos, prev, key, keylen, r)) {
            e = DD_ECORRUPT;
            break;
        }
        r->entries = pos;
        snprintf(prev, sizeof prev, "%s", col(st, 6));
        if (expect_head && !strcmp(prev, expect_head))
            r->expect_seq = pos;
    }
    if (!e && rc != SQLITE_DONE)
        e = dd_fail(cause, DD_EDB, "cannot read the audit log: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (e)
        return e;
    snprintf(r->head, sizeof r->head, "%s", prev);
    r->hmac_checked = keylen > 0;
    if (expect_head && !r->expect_seq) {
        r->bad_seq = r->entries + 1;
        snprintf(r->problem, sizeof r->problem,
                 "no entry has the published head hash %.64s: the log was rewritten or "
                 "truncated",
                 expect_head);
        return DD_ECORRUPT;
    }
    return DD_OK;
}

dd_err audit_key_load(const char *path, uint8_t key[AUDIT_KEY_MAX], size_t *keylen, char **cause)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dd_fail(cause, DD_EIO, "cannot open key file %s: %s", path, strerror(errno));
    struct stat sb;
    dd_err e = DD_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        e = dd_fail(cause, DD_EINVAL, "key file %s is not a regular file", path);
    } else if (sb.st_mode & 077) {
        e = dd_fail(cause, DD_EINVAL,
                    "key file %s must not be readable by others (mode %04o; "
                    "chmod 600 it)",
                    path, (unsigned)(sb.st_mode & 07777));
    } else {
        uint8_t buf[AUDIT_KEY_MAX + 1];
        ssize_t n = read(fd, buf, sizeof buf);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
            n--;
        if (n <= 0 || n > AUDIT_KEY_MAX)
            e = dd_fail(cause, DD_EINVAL, "key file %s must hold 1 to %d bytes", path,
                        AUDIT_KEY_MAX);
        else {
            memcpy(key, buf, (size_t)n);
            *keylen = (size_t)n;
        }
        OPENSSL_cleanse(buf, sizeof buf);
    }
    close(fd);
    return e;
}
