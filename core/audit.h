/*
 * audit.h: the append-only, hash-chained audit log in the workspace database.
 *
 * Each entry is one row of the `audit` table: seq (1, 2, 3, ...), time (UTC,
 * ISO 8601), actor (a user's name or "policy"), kind ("batch", "version",
 * "transition", "drift", "checkpoint", ...), payload (a JSON object), the
 * SHA-256 of its predecessor (64 zeros for the first) and its own SHA-256 over
 * all of these. With a key, every entry also carries HMAC-SHA-256(key, hash),
 * so the chain cannot be rebuilt by someone who lacks the key. Triggers make
 * the database itself refuse UPDATE and DELETE on the table.
 *
 * audit_verify() walks the chain in seq order and names the first entry that
 * was altered, deleted or reordered. A chain alone cannot see a rewritten tail
 * (recomputed hashes): the head hash is published outside the database and
 * checked with expect_head, and the HMAC needs the key.
 *
 * Cost: an append is one indexed lookup of the head and one insert; verify is
 * O(entries) with one SHA-256 per entry. Hashes use OpenSSL's EVP interface.
 */
#ifndef DD_AUDIT_H
#define DD_AUDIT_H

#include "dd.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_HASH_HEX 65 /* 64 hex digits and the NUL */
#define AUDIT_KEY_MAX 1024

/* The SQL that creates the table and its triggers (used by the registry's
 * migrations; audit_ensure_schema() runs it on a bare database). */
extern const char audit_schema_sql[];

/* Create the table and triggers if they are missing. */
dd_err audit_ensure_schema(sqlite3 *db, char **cause);

typedef struct audit_log audit_log;

/* Returns a new appender on db, or NULL with *cause set. Borrows db, which
 * must outlive the log; copies key (may be NULL: no HMAC). Free with
 * audit_free(). */
audit_log *audit_new(sqlite3 *db, const void *key, size_t keylen, char **cause);
void audit_free(audit_log *a);

/* Append one entry inside the caller's transaction (if any). wall_time is
 * seconds since the epoch, supplied by the caller (core reads no clock).
 * payload_json must be a JSON object. On success, if head is not NULL, it
 * receives the new entry's hash and *seq (if not NULL) its number. On error
 * nothing is written. */
dd_err audit_append(audit_log *a, double wall_time, const char *actor, const char *kind,
                    const char *payload_json, char head[AUDIT_HASH_HEX], int64_t *seq,
                    char **cause);

/* The last entry's seq and hash (0 and 64 zeros for an empty log). */
dd_err audit_head(sqlite3 *db, int64_t *seq, char head[AUDIT_HASH_HEX], char **cause);

/* What audit_verify() found. */
typedef struct audit_report {
    int64_t entries;           /* rows walked */
    char head[AUDIT_HASH_HEX]; /* the last entry's stored hash */
    bool hmac_present;         /* some entry carries an HMAC */
    bool hmac_checked;         /* a key was given and every HMAC was checked */
    int64_t bad_seq;           /* 0 when intact; else the first bad entry's position */
    char problem[256];         /* what is wrong with it, for a human */
    int64_t expect_seq;        /* with expect_head: the entry that has that hash */
} audit_report;

/* Walk the whole chain. Returns DD_OK when intact (and, with expect_head, when
 * some entry has that hash), DD_ECORRUPT with r->bad_seq and r->problem set
 * when not, another error (DD_EDB) when the log cannot be read. key may be
 * NULL; with a key every entry must carry a matching HMAC. */
dd_err audit_verify(sqlite3 *db, const void *key, size_t keylen, const char *expect_head,
                    audit_report *r, char **cause);

/* Read a key file: it must be a regular file with no group or other
 * permission bits (0600 or stricter), 1..AUDIT_KEY_MAX bytes after trailing
 * whitespace is dropped. Fills key and *keylen. */
dd_err audit_key_load(const char *path, uint8_t key[AUDIT_KEY_MAX], size_t *keylen, char **cause);

/* Hex SHA-256 of len bytes (for data batches and parameter hashes). Returns
 * DD_ENOMEM only if OpenSSL cannot allocate. */
dd_err audit_sha256_hex(const void *data, size_t len, char out[AUDIT_HASH_HEX]);

/* A running SHA-256 over a data batch (the raw bytes of many events). */
typedef struct audit_hasher audit_hasher;

/* Returns a new hasher, or NULL on no memory. Free with audit_hasher_free(). */
audit_hasher *audit_hasher_new(void);
void audit_hasher_free(audit_hasher *h);
void audit_hasher_update(audit_hasher *h, const void *data, size_t len);
/* Write the digest of everything fed since the last final (or new) and start
 * over. The byte count is returned in *bytes if not NULL. */
void audit_hasher_final(audit_hasher *h, char out[AUDIT_HASH_HEX], uint64_t *bytes);

/* Format wall_time (seconds since the epoch) as 2026-11-28T20:40:01.123Z. */
void audit_format_time(double wall_time, char out[32]);

#endif
