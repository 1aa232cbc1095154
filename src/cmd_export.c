/*
 * cmd_export.c: `driftdeck export [--workspace DIR] [--session ID|all]
 * --format jsonl|csv|html -o PATH`: a session's metrics over time, drift
 * alarms, versions and decisions, read from the workspace (read-only).
 */
#include "commands.h"
#include "export.h"
#include "workspace.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fputs("usage: driftdeck export [--workspace DIR] [--session ID|all] --format jsonl|csv|html\n"
          "                        -o PATH\n"
          "  Write a session (default: the latest) as JSON Lines, CSV, or one self-contained\n"
          "  HTML report with charts (opens in a browser with no network). -o - is stdout.\n",
          out);
}

static int fail(const char *what, char *cause)
{
    fprintf(stderr, "driftdeck export: %s%s%s\n", what, cause ? ": " : "", cause ? cause : "");
    free(cause);
    return 2;
}

static int export_to(const char *dir, int64_t session, const char *format, const char *path)
{
    dd_err (*write)(const export_data *, FILE *) = !strcmp(format, "jsonl")  ? export_jsonl
                                                   : !strcmp(format, "csv")  ? export_csv
                                                   : !strcmp(format, "html") ? export_html
                                                                             : NULL;
    if (!write)
        return fail("unknown format (jsonl, csv or html)", NULL);
    char *cause = NULL;
    sqlite3 *db = NULL;
    if (workspace_open_readonly(dir, &db, &cause))
        return fail("workspace", cause);
    dd_err e;
    export_data *d = export_load(db, session, &e, &cause);
    sqlite3_close(db);
    if (!d)
        return fail("cannot read the session", cause);
    FILE *out = strcmp(path, "-") ? fopen(path, "w") : stdout;
    int rc = 0;
    if (!out) {
        rc = fail("cannot write", NULL);
    } else {
        e = write(d, out);
        if ((out != stdout && fclose(out) != 0) || e)
            rc = fail("write failed", NULL);
    }
    export_free(d);
    return rc;
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"workspace", required_argument, NULL, 'w'},
        {"session", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = ".", *format = NULL, *path = NULL;
    int64_t session = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "w:s:f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            dir = optarg;
            break;
        case 's':
            session = !strcmp(optarg, "all") ? -1 : strtoll(optarg, NULL, 10);
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!format || !path || optind != argc) {
        usage(stderr);
        return 2;
    }
    return export_to(dir, session, format, path);
}
