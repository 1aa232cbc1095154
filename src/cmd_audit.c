/*
 * cmd_audit.c: `driftdeck audit verify [--workspace DIR] [--expect-head HASH]
 * [--key-file PATH]`. Opens the workspace database read-only (so it can run
 * beside a live process), walks the hash chain with audit_verify() and prints
 * OK with the entry count and head hash, or the first bad entry (exit 1).
 */
#include "audit.h"
#include "commands.h"
#include "workspace.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fputs("usage: driftdeck audit verify [--workspace DIR] [--expect-head HASH] "
          "[--key-file PATH]\n"
          "  Walk the workspace's hash-chained audit log. Prints OK, the entry count and the\n"
          "  head hash, or the first entry that was altered, deleted or reordered (exit 1).\n"
          "  --expect-head HASH  a head hash published earlier (session log, export, status):\n"
          "                      some entry must still have it\n"
          "  --key-file PATH     the HMAC key (mode 0600): every entry's HMAC is checked\n",
          out);
}

static int verify(const char *dir, const char *expect, const char *keyfile)
{
    uint8_t key[AUDIT_KEY_MAX];
    size_t keylen = 0;
    char *cause = NULL;
    if (keyfile && audit_key_load(keyfile, key, &keylen, &cause) != DD_OK) {
        fprintf(stderr, "driftdeck audit: %s\n", cause);
        free(cause);
        return 2;
    }
    sqlite3 *db = NULL;
    if (workspace_open_readonly(dir, &db, &cause) != DD_OK) {
        fprintf(stderr, "driftdeck audit: %s\n", cause);
        free(cause);
        return 2;
    }
    audit_report r;
    dd_err e = audit_verify(db, keylen ? key : NULL, keylen, expect, &r, &cause);
    sqlite3_close(db);
    if (e == DD_ECORRUPT) {
        printf("TAMPERED: %s\n", r.problem);
        printf("first bad entry: %lld (after %lld good entries)\n", (long long)r.bad_seq,
               (long long)r.entries);
        return 1;
    }
    if (e != DD_OK) {
        fprintf(stderr, "driftdeck audit: %s\n", cause ? cause : dd_strerror(e));
        free(cause);
        return 2;
    }
    printf("OK: %lld entries, head %s\n", (long long)r.entries, r.head);
    if (expect)
        printf("published head found at entry %lld\n", (long long)r.expect_seq);
    if (r.hmac_checked)
        puts("HMAC: every entry checked with the key");
    else if (r.hmac_present)
        puts("HMAC: entries carry HMACs; pass --key-file to check them");
    return 0;
}

int cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"workspace", required_argument, NULL, 'w'},
        {"expect-head", required_argument, NULL, 'e'},
        {"key-file", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            usage(stdout);
            return 0;
        }
        usage(stderr);
        return 2;
    }
    const char *dir = ".", *expect = NULL, *keyfile = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, "w:e:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            dir = optarg;
            break;
        case 'e':
            expect = optarg;
            break;
        case 'k':
            keyfile = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    return verify(dir, expect, keyfile);
}
