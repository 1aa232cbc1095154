/*
 * cmd_detect.c: `driftdeck detect DETECTOR [--param NAME=VALUE ...] [FILE]`.
 *
 * Runs one drift detector over a series of numbers, one per line, from FILE
 * or stdin, and prints `warning N` when the detector enters its warning zone
 * and `drift N` at each drift (N is the 0-based index of the value), so a user
 * can tune a detector on a recorded series with the names the configuration
 * uses. --every-warning prints every value seen in the warning zone (River's
 * convention). Exit 0 on success, 2 on a usage error, an unknown or
 * out-of-range parameter, an unreadable file, or a line that is not one
 * finite number (reported with its line number: nothing is skipped silently).
 */
#include "commands.h"
#include "drift.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const detector_names[] = {"adwin", "pagehinkley", "ddm", "eddm", "kswin"};

static void usage(FILE *out)
{
    fputs("usage: driftdeck detect DETECTOR [--param NAME=VALUE ...] [--every-warning] [FILE]\n"
          "Reads one number per line from FILE (or stdin) and prints `warning N` / `drift N`\n"
          "(0-based value indices).\n\ndetectors and parameters (default, allowed range):\n",
          out);
    for (size_t k = 0; k < sizeof detector_names / sizeof *detector_names; k++) {
        fprintf(out, "  %s\n", detector_names[k]);
        for (const drift_param_info *p = drift_params_of(detector_names[k]); p && p->name; p++)
            fprintf(out, "    %-18s %-8g [%g, %g]  %s\n", p->name, p->def, p->min, p->max, p->help);
    }
}

#define MAX_PARAMS 16

/* The --param options, parsed and checked one by one, applied together. */
struct params {
    char names[MAX_PARAMS][64];
    const char *name_ptrs[MAX_PARAMS];
    double values[MAX_PARAMS];
    size_t n;
};

/* Parses "NAME=VALUE" for the kind into ps. Returns false after printing an error. */
static bool add_param(struct params *ps, const char *kind, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        fprintf(stderr, "driftdeck detect: --param wants NAME=VALUE, got '%s'\n", arg);
        return false;
    }
    size_t len = (size_t)(eq - arg);
    if (len >= sizeof ps->names[0] || ps->n == MAX_PARAMS) {
        fprintf(stderr, "driftdeck detect: too many parameters or name too long at '%s'\n", arg);
        return false;
    }
    char *name = ps->names[ps->n];
    memcpy(name, arg, len);
    name[len] = '\0';
    char *cause = NULL;
    dd_err err = drift_param_parse(kind, name, eq + 1, &ps->values[ps->n], &cause);
    if (err != DD_OK) {
        fprintf(stderr, "driftdeck detect: %s\n", cause ? cause : dd_strerror(err));
        if (err == DD_ENOTFOUND)
            fputs("(`driftdeck detect --help` lists the parameters)\n", stderr);
        free(cause);
        return false;
    }
    ps->name_ptrs[ps->n] = name;
    ps->n++;
    return true;
}

/* Parses one line as a single finite number (surrounding blanks allowed). */
static bool parse_value(char *line, double *out)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                     line[n - 1] == '\t'))
        line[--n] = '\0';
    char *end = NULL;
    errno = 0;
    double x = strtod(line, &end);
    if (end == line || *end != '\0' || !isfinite(x))
        return false;
    *out = x;
    return true;
}

/* Feeds every line of in to d, printing alarms. Returns the exit code. */
static int run(drift_detector *d, FILE *in, const char *name, bool every_warning)
{
    char *line = NULL;
    size_t cap = 0;
    unsigned long lineno = 0, index = 0;
    drift_state prev = DRIFT_NONE;
    int rc = 0;
    ssize_t len;
    errno = 0;
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        double x;
        /* A NUL inside the line or a line of a megabyte is not one number. */
        if ((size_t)len != strlen(line) || len > 1024 || !parse_value(line, &x)) {
            fprintf(stderr, "driftdeck detect: %s:%lu: not a finite number: '%.40s'\n", name,
                    lineno, line);
            rc = 2;
            break;
        }
        drift_state s = drift_update(d, x);
        if (s == DRIFT_DRIFT)
            printf("drift %lu\n", index);
        else if (s == DRIFT_WARNING && (every_warning || prev != DRIFT_WARNING))
            printf("warning %lu\n", index);
        prev = s;
        index++;
    }
    if (rc == 0 && (ferror(in) || !feof(in))) { /* a read error, or no memory for a line */
        fprintf(stderr, "driftdeck detect: %s: read error: %s\n", name, strerror(errno));
        rc = 2;
    }
    free(line);
    if (fflush(stdout) != 0 && rc == 0)
        rc = 2;
    return rc;
}

int cmd_detect(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-') {
        usage(stderr);
        return 2;
    }
    const char *kind = argv[1];
    char *cause = NULL;
    drift_detector *d = drift_new(kind, &cause);
    if (!d) {
        fprintf(stderr, "driftdeck detect: %s\n", cause ? cause : "cannot make the detector");
        free(cause);
        return 2;
    }
    struct params ps = {.n = 0};
    const char *path = NULL;
    bool every_warning = false;
    int rc = 0;
    for (int i = 2; i < argc && rc == 0; i++) {
        if (!strcmp(argv[i], "--param") || !strcmp(argv[i], "-p")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "driftdeck detect: %s needs NAME=VALUE\n", argv[i]);
                rc = 2;
            } else if (!add_param(&ps, kind, argv[++i])) {
                rc = 2;
            }
        } else if (!strncmp(argv[i], "--param=", 8)) {
            if (!add_param(&ps, kind, argv[i] + 8))
                rc = 2;
        } else if (!strcmp(argv[i], "--every-warning")) {
            every_warning = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "driftdeck detect: unknown option '%s'\n", argv[i]);
            rc = 2;
        } else if (path) {
            fprintf(stderr, "driftdeck detect: one input file at most ('%s', '%s')\n", path,
                    argv[i]);
            rc = 2;
        } else {
            path = argv[i];
        }
    }
    if (rc == 0 && ps.n > 0 &&
        drift_set_params(d, ps.name_ptrs, ps.values, ps.n, &cause) != DD_OK) {
        fprintf(stderr, "driftdeck detect: %s\n", cause ? cause : "bad parameters");
        free(cause);
        rc = 2;
    }
    if (rc == 0) {
        FILE *in = stdin;
        if (path && strcmp(path, "-") != 0 && !(in = fopen(path, "r"))) {
            fprintf(stderr, "driftdeck detect: %s: %s\n", path, strerror(errno));
            rc = 2;
        } else {
            rc = run(d, in, path ? path : "stdin", every_warning);
            if (in != stdin)
                fclose(in);
        }
    }
    drift_free(d);
    return rc;
}
