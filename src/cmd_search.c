/*
 * cmd_search.c: `driftdeck search --workspace DIR [-k N] "query text"` or
 * `--vector v1,v2,...`: query the knowledge store of a workspace and print
 * one JSON object per hit (JSON Lines). Opens the store read-only: it never
 * writes, and runs beside a driftdeck that is indexing the same workspace
 * (the saved index is used when it matches the database, else the index is
 * rebuilt in memory from it).
 */
#include "commands.h"
#include "kstore.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *out)
{
    fputs("usage: driftdeck search [--workspace DIR] [-k N] \"query text\"\n"
          "       driftdeck search [--workspace DIR] [-k N] --vector v1,v2,...\n"
          "  Prints the k nearest entries of the knowledge store as JSON Lines:\n"
          "  id, score, age (seconds), ts, index (vector, fts or both), version, payload.\n",
          out);
}

/* Parse "v1,v2,..." into a new array; NULL with *cause on bad input. */
static float *parse_vector(const char *s, uint32_t *dim, char **cause)
{
    uint32_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    float *v = malloc(n * sizeof *v);
    if (!v) {
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    const char *p = s;
    for (uint32_t i = 0; i < n; i++) {
        char *end;
        errno = 0;
        double x = strtod(p, &end);
        if (end == p || errno || !isfinite((float)x) || (*end != ',' && *end != '\0')) {
            dd_fail(cause, DD_EPARSE, "--vector: coordinate %u is not a finite number", i + 1);
            free(v);
            return NULL;
        }
        v[i] = (float)x;
        p = end + 1;
    }
    *dim = n;
    return v;
}

struct search_args {
    const char *workspace, *query, *vector;
    long k;
};

static int parse_args(int argc, char **argv, struct search_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(arg, "--workspace") && i + 1 < argc) {
            a->workspace = argv[++i];
        } else if (!strncmp(arg, "--workspace=", 12)) {
            a->workspace = arg + 12;
        } else if (!strcmp(arg, "-k") && i + 1 < argc) {
            char *end;
            a->k = strtol(argv[++i], &end, 10);
            if (*end || a->k < 1 || a->k > (long)KSTORE_MAX_K) {
                fprintf(stderr, "driftdeck search: -k must be in 1..%u\n", KSTORE_MAX_K);
                return 2;
            }
        } else if (!strcmp(arg, "--vector") && i + 1 < argc) {
            a->vector = argv[++i];
        } else if (arg[0] != '-' && !a->query) {
            a->query = arg;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!a->query == !a->vector) {
        usage(stderr);
        return 2;
    }
    return 0;
}

static int run_query(kstore *s, const struct search_args *a, kstore_results *r, char **cause)
{
    if (a->query)
        return kstore_search_text(s, a->query, (uint32_t)a->k, r, cause) ? 2 : 0;
    uint32_t dim;
    float *v = parse_vector(a->vector, &dim, cause);
    if (!v)
        return 2;
    int rc = kstore_search_vector(s, v, dim, (uint32_t)a->k, r, cause) ? 2 : 0;
    free(v);
    return rc;
}

int cmd_search(int argc, char **argv)
{
    struct search_args a = {".", NULL, NULL, 10};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    char *cause = NULL;
    kstore *s = kstore_open(a.workspace, NULL, true, &cause);
    if (!s) {
        fprintf(stderr, "driftdeck search: %s\n", cause ? cause : "cannot open the store");
        free(cause);
        return 2;
    }
    kstore_results r = {0};
    rc = run_query(s, &a, &r, &cause);
    if (rc) {
        fprintf(stderr, "driftdeck search: %s\n", cause ? cause : "search failed");
    } else {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        for (uint32_t i = 0; i < r.n; i++) {
            char *line = kstore_hit_json(&r.hits[i], (double)now.tv_sec + now.tv_nsec * 1e-9);
            if (line)
                puts(line);
            free(line);
        }
    }
    kstore_results_free(&r);
    kstore_close(s);
    free(cause);
    return rc;
}
