/*
 * cmd_run.c: `driftdeck [OPTIONS]`: configure, open the source, run the
 * worker, report. Headless prints JSON Lines on stdout (see headless.h).
 *
 * Order of settings: built-in defaults, then the INI file (--config, else
 * ./driftdeck.ini, else $XDG_CONFIG_HOME/driftdeck/driftdeck.ini), then the
 * command line in the order given. Shutdown order matters: the worker
 * finishes, then the queue closes (waking a source blocked on a full queue),
 * then the sources stop.
 */
#include "commands.h"
#include "config.h"
#include "headless.h"
#include "ingest.h"
#include "queue.h"
#include "source.h"
#include "worker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct run_opts {
    bool headless, print_config, help_config, help;
} run_opts;

static worker *volatile running_worker;

static void on_signal(int sig)
{
    (void)sig;
    worker *w = running_worker;
    if (w)
        worker_stop(w); /* an atomic store: async-signal-safe */
}

static void usage(FILE *out)
{
    fputs("usage: driftdeck [--headless] [--source SPEC] [--speed max|FACTORx] [--workspace DIR]\n"
          "                 [--config FILE] [--set SECTION.KEY=VALUE]... [--print-config]\n"
          "                 [--help-config]\n"
          "  SPEC: file:PATH (JSON Lines), - (stdin)\n"
          "  Without --source, the bundled demo stream is used.\n",
          out);
}

/* The value of an option given as "--opt VALUE" or "--opt=VALUE". */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static int fail2(const char *what, char *cause)
{
    fprintf(stderr, "driftdeck: %s%s%s\n", what, cause ? ": " : "", cause ? cause : "");
    free(cause);
    return 2;
}

static int load_config(dd_config *cfg, int argc, char **argv)
{
    config_defaults(cfg);
    const char *path = NULL;
    char found[CONFIG_PATH_MAX];
    for (int i = 1; i < argc; i++) {
        const char *v = opt_value(argc, argv, &i, "--config");
        if (v)
            path = v;
    }
    if (!path && config_default_path(found, sizeof found))
        path = found;
    char *cause = NULL;
    if (path && config_load(cfg, path, &cause))
        return fail2("configuration", cause);
    return 0;
}

static int apply_args(dd_config *cfg, run_opts *o, int argc, char **argv)
{
    char *cause = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        dd_err err = DD_OK;
        if (!strcmp(a, "--headless"))
            o->headless = true;
        else if (!strcmp(a, "--print-config"))
            o->print_config = true;
        else if (!strcmp(a, "--help-config"))
            o->help_config = true;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            o->help = true;
        else if (opt_value(argc, argv, &i, "--config"))
            continue;
        else if ((v = opt_value(argc, argv, &i, "--source")))
            err = config_set_value(cfg, "run", "source", v, &cause);
        else if ((v = opt_value(argc, argv, &i, "--speed")))
            err = config_set_value(cfg, "run", "speed", v, &cause);
        else if ((v = opt_value(argc, argv, &i, "--workspace")))
            err = config_set_value(cfg, "run", "workspace", v, &cause);
        else if ((v = opt_value(argc, argv, &i, "--set")))
            err = config_set(cfg, v, &cause);
        else {
            fprintf(stderr, "driftdeck: unknown option '%s' (try --help)\n", a);
            return 2;
        }
        if (err)
            return fail2("invalid option", cause);
    }
    if (config_check(cfg, &cause))
        return fail2("configuration", cause);
    return 0;
}

/* The bundled demo stream: $DRIFTDECK_DATA, the source tree, or the installed copy. */
static void demo_source(char *buf, size_t n)
{
    const char *dirs[] = {getenv("DRIFTDECK_DATA"), DD_SRCDATADIR, DD_PKGDATADIR};
    for (size_t i = 0; i < DD_ARRAY_LEN(dirs); i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        snprintf(buf, n, "file:%s/demo.jsonl", dirs[i]);
        if (access(buf + 5, R_OK) == 0)
            return;
    }
    snprintf(buf, n, "file:%s/demo.jsonl", DD_PKGDATADIR);
}

static int run_pipeline(const dd_config *cfg, bool headless_mode)
{
    char spec[CONFIG_PATH_MAX + 8], dl[CONFIG_PATH_MAX + 32], *cause = NULL;
    if (cfg->source[0])
        snprintf(spec, sizeof spec, "%s", cfg->source);
    else
        demo_source(spec, sizeof spec);
    snprintf(dl, sizeof dl, "%s/driftdeck.deadletter.jsonl", cfg->workspace);
    source_options so = {.speed = cfg->speed < 0 ? (headless_mode ? 0 : 1) : cfg->speed};
    queue *q = queue_new(cfg->queue_capacity);
    schema *sch = q ? schema_new(&cfg->schema, &cause) : NULL;
    ingest *ing = sch ? ingest_new(q, &cfg->limits, sch, dl, &cause) : NULL;
    if (ing)
        ingest_set_deadletter_max(ing, cfg->deadletter_max_bytes);
    source *src = ing ? source_open(spec, &so, ing, &cause) : NULL;
    headless *h = src ? headless_new(stdout) : NULL;
    worker_output out = headless_output(h);
    worker *w = h ? worker_new(cfg, q, &src, 1, ing, &out, &cause) : NULL;
    int rc = 2;
    if (!w) {
        fprintf(stderr, "driftdeck: %s\n", cause ? cause : "out of memory");
        goto done;
    }
    running_worker = w;
    if (worker_start(w, &cause) || src->ops->start(src, &cause)) {
        fprintf(stderr, "driftdeck: %s\n", cause ? cause : "cannot start");
        worker_stop(w);
        worker_join(w);
        goto done;
    }
    worker_join(w);
    running_worker = NULL;
    rc = atomic_load(&src->stats.state) == SOURCE_FAILED ? 1 : 0;
    if (rc) {
        char shown[512];
        source_spec_redacted(spec, shown, sizeof shown);
        fprintf(stderr, "driftdeck: source %s failed: %s\n", shown, src->last_error);
    }
done:
    running_worker = NULL;
    if (q)
        queue_close(q);
    source_free(src);
    worker_free(w);
    headless_free(h);
    ingest_free(ing);
    schema_free(sch);
    queue_free(q, (void (*)(void *))event_free);
    free(cause);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    dd_config cfg;
    run_opts o = {0};
    int rc = load_config(&cfg, argc, argv);
    if (rc)
        return rc;
    if ((rc = apply_args(&cfg, &o, argc, argv)))
        return rc;
    if (o.help) {
        usage(stdout);
        return 0;
    }
    if (o.help_config) {
        config_print_help(stdout);
        return 0;
    }
    if (o.print_config) {
        config_print(&cfg, stdout);
        return 0;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Until the console lands, every run is headless. */
    return run_pipeline(&cfg, true);
}
