/*
 * cmd_rollback.c: `driftdeck rollback VERSION [--workspace DIR] [--reason TEXT]
 * [--actor NAME]`: make a clone of an earlier version that served the active
 * one, while no process runs on the workspace (the lock says who does).
 * The next run resumes with the clone (see governor_resume()).
 */
#include "commands.h"
#include "audit.h"
#include "registry.h"
#include "workspace.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("usage: driftdeck rollback VERSION [--workspace DIR] [--reason TEXT] [--actor NAME]\n"
          "                          [--key-file PATH]\n"
          "  Make a clone of VERSION (a version that served) the active version. The\n"
          "  current active version becomes rolled_back; a live challenger is dropped.\n"
          "  Nothing is rewritten: the clone is a new version with parent VERSION.\n"
          "  Refused while a driftdeck process runs on the workspace. With --key-file\n"
          "  (the workspace's audit key) the audit entries carry their HMAC.\n",
          out);
}

static int fail(const char *what, char *cause)
{
    fprintf(stderr, "driftdeck rollback: %s%s%s\n", what, cause ? ": " : "", cause ? cause : "");
    free(cause);
    return 2;
}

static int rollback(const char *dir, long long target, const char *actor, const char *reason,
                    const char *keyfile)
{
    char *cause = NULL;
    dd_err e;
    uint8_t key[AUDIT_KEY_MAX];
    size_t keylen = 0;
    if (keyfile && audit_key_load(keyfile, key, &keylen, &cause))
        return fail("key", cause);
    workspace_lock *lock = workspace_lock_new(dir, &e, &cause);
    if (!lock)
        return fail("workspace", cause);
    char *path = workspace_path(dir, WORKSPACE_DB_NAME);
    registry *reg = path ? registry_open(path, keylen ? key : NULL, keylen, &e, &cause) : NULL;
    free(path);
    int rc = 2;
    int64_t active = 0, id = 0;
    if (!reg) {
        rc = fail("cannot open the workspace", cause);
        cause = NULL;
    } else if (registry_active_id(reg, &active, &cause) || !active) {
        rc = fail("the workspace has no active version yet", cause);
        cause = NULL;
    } else if ((e = registry_manual_rollback(reg, target, actor, reason, (double)time(NULL), &id,
                                             &cause)) != DD_OK) {
        rc = fail("refused", cause);
        cause = NULL;
    } else {
        printf("version %lld is active: a clone of version %lld (version %lld rolled back by "
               "%s)\n",
               (long long)id, target, (long long)active, actor);
        rc = 0;
    }
    registry_free(reg);
    workspace_lock_free(lock);
    free(cause);
    return rc;
}

int cmd_rollback(int argc, char **argv)
{
    static const struct option opts[] = {
        {"workspace", required_argument, NULL, 'w'},
        {"reason", required_argument, NULL, 'r'},
        {"actor", required_argument, NULL, 'a'},
        {"key-file", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = ".", *keyfile = NULL, *reason = "manual rollback", *actor = getenv("USER");
    if (!actor || !*actor)
        actor = "operator";
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "w:r:a:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            dir = optarg;
            break;
        case 'r':
            reason = optarg;
            break;
        case 'a':
            actor = optarg;
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
    char *end = NULL;
    long long target = optind == argc - 1 ? strtoll(argv[optind], &end, 10) : 0;
    if (target < 1 || !end || *end) {
        usage(stderr);
        return 2;
    }
    return rollback(dir, target, actor, reason, keyfile);
}
