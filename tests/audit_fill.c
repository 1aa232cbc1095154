/*
 * audit_fill.c: test helper. `audit_fill DIR N [KEYFILE]` appends N entries to
 * the audit log of DIR/driftdeck.db (creating the table), so shell tests can
 * tamper with a real workspace file. Prints the head hash.
 */
#include "audit.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: audit_fill DIR N [KEYFILE]\n", stderr);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/driftdeck.db", argv[1]);
    uint8_t key[AUDIT_KEY_MAX];
    size_t keylen = 0;
    char *cause = NULL;
    if (argc > 3 && audit_key_load(argv[3], key, &keylen, &cause) != DD_OK) {
        fprintf(stderr, "audit_fill: %s\n", cause);
        return 1;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK || audit_ensure_schema(db, &cause) != DD_OK) {
        fprintf(stderr, "audit_fill: %s\n", cause ? cause : sqlite3_errmsg(db));
        return 1;
    }
    audit_log *a = audit_new(db, keylen ? key : NULL, keylen, &cause);
    char head[AUDIT_HASH_HEX] = "";
    int n = atoi(argv[2]);
    for (int i = 1; a && i <= n; i++) {
        char payload[96];
        snprintf(payload, sizeof payload, "{\"batch\": %d, \"events\": [%d, %d]}", i, (i - 1) * 100,
                 i * 100);
        if (audit_append(a, 1700000000.0 + i, i % 3 ? "policy" : "ann", "batch", payload, head,
                         NULL, &cause) != DD_OK) {
            fprintf(stderr, "audit_fill: %s\n", cause);
            return 1;
        }
    }
    audit_free(a);
    sqlite3_close(db);
    puts(head);
    return 0;
}
