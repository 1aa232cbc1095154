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
#include "command.h"
#include "commands.h"
#include "config.h"
#include "govern_run.h"
#include "console.h"
#include "control.h"
#include "headless.h"
#include "http_search.h"
#include "ingest.h"
#include "governor.h"
#include "kstore.h"
#include "kstore_feed.h"
#include "queue.h"
#include "sink.h"
#include "snapshot.h"
#include "source.h"
#include "worker.h"
#include "worker_view.h"
#include "wsclient.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONSOLE_CMD_QUEUE 64
#define DEMO_CONSOLE_SPEED 4.0 /* the demo's first drift (event 5000) at 12.5 s */

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
    fputs(
        "usage: driftdeck [--headless] [--source SPEC] [--speed max|FACTORx] [--workspace DIR]\n"
        "                 [--serve HOST:PORT] [--auto-approve]\n"
        "                 [--config FILE] [--set SECTION.KEY=VALUE]... [--print-config]\n"
        "                 [--help-config]\n"
        "                 [--insecure] [--ca-file FILE] [--header-file FILE]\n"
        "                 [--subprotocol NAME] [--flow block|drop-oldest] [--record FILE]\n"
        "                 [--predictions ws,file,stdout] [--predictions-file FILE]\n"
        "  SPEC: file:PATH (JSON Lines or a recording), - (stdin), ws://HOST:PORT/PATH, wss://...\n"
        "  Without --source, the bundled demo stream is used.\n"
        "  WebSocket auth headers: --header-file or DRIFTDECK_WS_HEADERS ('Name: value' lines).\n"
        "  --workspace DIR: the database (DIR/driftdeck.db: versions, audit log,\n"
        "    checkpoints); an interrupted run on the same workspace resumes.\n"
        "  --auto-approve: promotions need no operator (govern.approval = auto)\n",
        out);
}

/* The value of an option given as "--opt VALUE" or "--opt=VALUE". */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
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

/* Defaults, then the demo's own settings (demo_path, when not NULL), then
 * the user's file. */
static int load_config(dd_config *cfg, int argc, char **argv, const char *demo_path)
{
    config_defaults(cfg);
    char *cause = NULL;
    if (demo_path && config_load(cfg, demo_path, &cause))
        return fail2("demo configuration", cause);
    const char *path = NULL;
    char found[CONFIG_PATH_MAX];
    for (int i = 1; i < argc; i++) {
        const char *v = opt_value(argc, argv, &i, "--config");
        if (v)
            path = v;
    }
    if (!path && config_default_path(found, sizeof found))
        path = found;
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
        else if (!strcmp(a, "--auto-approve"))
            err = config_set_value(cfg, "govern", "approval", "auto", &cause);
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
        else if ((v = opt_value(argc, argv, &i, "--serve")))
            err = config_set_value(cfg, "serve", "address", v, &cause);
        else if ((v = opt_value(argc, argv, &i, "--set")))
            err = config_set(cfg, v, &cause);
        else if (!strcmp(a, "--insecure"))
            err = config_set_value(cfg, "ws", "insecure", "true", &cause);
        else if ((v = opt_value(argc, argv, &i, "--ca-file")))
            err = config_set_value(cfg, "ws", "ca_file", v, &cause);
        else if ((v = opt_value(argc, argv, &i, "--header-file")))
            err = config_set_value(cfg, "ws", "header_file", v, &cause);
        else if ((v = opt_value(argc, argv, &i, "--subprotocol")))
            err = config_set_value(cfg, "ws", "subprotocol", v, &cause);
        else if ((v = opt_value(argc, argv, &i, "--record")))
            err = config_set_value(cfg, "ws", "record", v, &cause);
        else if ((v = opt_value(argc, argv, &i, "--flow")))
            err = config_set_value(cfg, "ws", "flow", v, &cause);
        else if ((v = opt_value(argc, argv, &i, "--predictions")))
            err = config_set_value(cfg, "sink", "predictions", v, &cause);
        else if ((v = opt_value(argc, argv, &i, "--predictions-file")))
            err = config_set_value(cfg, "sink", "file", v, &cause);
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

/* The knowledge store and its HTTP endpoint, when configured (--serve
 * implies the store). With embedding = mlp the vectors are the worker's
 * model's last hidden layer: their dimension is its width. On failure both
 * are NULL and 2 is returned. */
static int open_kstore(const dd_config *cfg, worker *w, kstore **ks, http_search **hs)
{
    char *cause = NULL, *token = NULL;
    *ks = NULL;
    *hs = NULL;
    if (!cfg->kstore_enabled && !cfg->serve[0])
        return 0;
    kstore_params kp = cfg->kstore;
    if (kp.embed.kind == EMBED_MLP)
        kp.embed.dim = model_embedding_dim(pipeline_model(worker_pipeline(w)));
    if (!(*ks = kstore_open(cfg->workspace, &kp, false, &cause)))
        return fail2("knowledge store", cause);
    if (!cfg->serve[0])
        return 0;
    if (http_search_token(cfg->token_file, &token, &cause) ||
        !(*hs = http_search_start(*ks, cfg->serve, token, &cause))) {
        free(token);
        kstore_close(*ks);
        *ks = NULL;
        return fail2("--serve", cause);
    }
    free(token);
    /* the actual port (PORT 0 picks a free one), for scripts and tests */
    fprintf(stderr, "driftdeck: knowledge store served on %.*s:%d\n",
            (int)(strrchr(cfg->serve, ':') - cfg->serve), cfg->serve, http_search_port(*hs));
    return 0;
}

/* The worker's output into the store (kstore_feed.h); for an mlp store the
 * first frozen model goes over now, before the worker owns the pipeline. */
static int feed_kstore(const dd_config *cfg, gov_run *gr, worker *w, kstore *ks, kstore_feed **feed)
{
    char *cause = NULL;
    *feed = NULL;
    if (!ks)
        return 0;
    if (!(*feed = kstore_feed_new(ks, &cfg->kstore)))
        return fail2("knowledge store", NULL);
    worker_output out = kstore_feed_output(*feed);
    if (worker_add_output(w, &out) != DD_OK)
        return fail2("too many worker outputs", NULL);
    governor_stats gs = {0};
    if (gov_run_governor(gr))
        governor_get_stats(gov_run_governor(gr), &gs);
    if (kstore_feed_start(*feed, worker_pipeline(w), gs.view.active_id, &cause))
        return fail2("knowledge store", cause);
    return 0;
}

/* The bundled demo stream: $DRIFTDECK_DATA, the source tree, or the installed copy. */
static void demo_source(char *buf, size_t n);

/* The settings the console uses on the demo stream (data/demo.ini, beside
 * demo.jsonl): written to buf, or false when there is none. */
static bool demo_ini(char *buf, size_t n)
{
    char spec[CONFIG_PATH_MAX + 16];
    demo_source(spec, sizeof spec);
    size_t len = strlen(spec);
    if (len < 5 + 11 || strcmp(spec + len - 11, "/demo.jsonl") != 0)
        return false;
    snprintf(buf, n, "%.*s/demo.ini", (int)(len - 5 - 11), spec + 5);
    return access(buf, R_OK) == 0;
}

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

/* The WebSocket settings of the configuration; *headers is new (free it). */
static dd_err ws_params(const dd_config *cfg, wsclient_params *p, char **headers, char **cause)
{
    wsclient_params_default(p);
    p->max_message = cfg->limits.max_bytes ? cfg->limits.max_bytes : EVENT_DEFAULT_MAX_BYTES;
    p->ping_interval = cfg->ws_ping_interval;
    p->ping_timeout = cfg->ws_ping_timeout;
    p->connect_timeout = cfg->ws_connect_timeout;
    p->backoff_min = cfg->ws_backoff_min;
    p->backoff_max = cfg->ws_backoff_max;
    p->max_attempts = cfg->ws_max_attempts;
    p->reconnect = cfg->ws_reconnect;
    p->insecure = cfg->ws_insecure;
    p->ca_file = cfg->ws_ca_file[0] ? cfg->ws_ca_file : NULL;
    p->subprotocol = cfg->ws_subprotocol[0] ? cfg->ws_subprotocol : NULL;
    dd_err err =
        wsclient_load_headers(cfg->ws_header_file[0] ? cfg->ws_header_file : NULL, headers, cause);
    p->headers = *headers;
    if (!err && p->insecure)
        fputs("driftdeck: WARNING: ws.insecure: the server's TLS certificate is NOT verified; "
              "anyone on the path can read and alter this stream\n",
              stderr);
    return err;
}

static void sink_report(sinkset *ss)
{
    for (size_t i = 0; i < sinkset_count(ss); i++) {
        const sink_stats *st = sink_get_stats(sinkset_get(ss, i));
        fprintf(stderr, "driftdeck: predictions to %s: %llu sent, %llu dropped, %llu failed\n",
                sink_kind(sinkset_get(ss, i)), (unsigned long long)atomic_load(&st->written),
                (unsigned long long)atomic_load(&st->dropped),
                (unsigned long long)atomic_load(&st->failed));
    }
}

/* The console, or the headless control socket, on the worker's snapshots.
 * Returns with the console closed (console mode) or the socket listening. */
typedef struct run_ui {
    snap_board *board;
    queue *cmdq;
    wview *view;
    control *ctl;
} run_ui;

static dd_err run_ui_open(run_ui *u, const dd_config *cfg, worker *w, source **srcs, size_t nsrcs,
                          double speed, bool headless_mode, char **cause)
{
    u->board = snap_board_new();
    u->cmdq = queue_new(CONSOLE_CMD_QUEUE);
    wview_params vp = {.speed = speed, .workspace = cfg->workspace};
    u->view = u->board && u->cmdq ? wview_new(u->board, u->cmdq, srcs, nsrcs, &vp) : NULL;
    if (!u->view)
        return dd_fail(cause, DD_ENOMEM, "out of memory");
    worker_output out = wview_output(u->view);
    if (worker_add_output(w, &out))
        return dd_fail(cause, DD_EFULL, "too many worker outputs");
    /* a console still shows the run after the stream ends */
    worker_set_linger(w, !headless_mode);
    if (!headless_mode)
        return DD_OK;
    /* headless: serve attached consoles; a run without one still works */
    char path[CONFIG_PATH_MAX + 32], *why = NULL;
    if (control_path(cfg->workspace, path, sizeof path, &why) == DD_OK)
        u->ctl = control_new(path, u->board, u->cmdq, &why);
    if (!u->ctl)
        fprintf(stderr, "driftdeck: no control socket (attach will not work): %s\n",
                why ? why : "?");
    free(why);
    return DD_OK;
}

/* After the worker has stopped. */
static void run_ui_close(run_ui *u)
{
    control_free(u->ctl);
    wview_free(u->view);
    if (u->cmdq)
        queue_close(u->cmdq);
    queue_free(u->cmdq, free);
    snap_board_free(u->board);
}

/* Console mode: the UI thread is this one; the worker runs until the user quits. */
static int run_console(worker *w, run_ui *u, kstore *ks)
{
    console_link *link = console_link_local_new(u->board, u->cmdq);
    if (link)
        console_link_local_set_kstore(link, ks); /* the `s` key */
    char *cause = NULL;
    console_end end = CONSOLE_QUIT;
    dd_err err = link ? console_run(link, NULL, &end, &cause) : DD_ENOMEM;
    worker_stop(w);
    console_link_free(link);
    if (err) {
        fprintf(stderr, "driftdeck: %s\n", cause ? cause : dd_strerror(err));
        free(cause);
        return 2;
    }
    return end == CONSOLE_INTERRUPT ? 130 : 0;
}

static int run_pipeline(const dd_config *cfg, bool headless_mode)
{
    char spec[CONFIG_PATH_MAX + 8], dl[CONFIG_PATH_MAX + 32], *cause = NULL;
    bool demo = !cfg->source[0];
    if (!demo)
        snprintf(spec, sizeof spec, "%s", cfg->source);
    else
        demo_source(spec, sizeof spec);
    snprintf(dl, sizeof dl, "%s/driftdeck.deadletter.jsonl", cfg->workspace);
    double speed = cfg->speed >= 0 ? cfg->speed : headless_mode ? 0 : demo ? DEMO_CONSOLE_SPEED : 1;
    source_options so = {.speed = speed};
    so.flow = cfg->ws_flow;
    wsclient_params wsp;
    char *headers = NULL;
    bool is_ws = !strncmp(spec, "ws://", 5) || !strncmp(spec, "wss://", 6);
    if (is_ws && ws_params(cfg, &wsp, &headers, &cause))
        return fail2("WebSocket settings", cause);
    so.ws = is_ws ? &wsp : NULL;
    so.record = is_ws && cfg->ws_record[0] ? cfg->ws_record : NULL;
    gov_run *gr = gov_run_open(cfg, spec, &cause);
    if (!gr) {
        free(headers);
        return fail2("workspace", cause);
    }
    so.start_offset = gov_run_resume_offset(gr);
    queue *q = queue_new(cfg->queue_capacity);
    schema *sch = q ? schema_new(&cfg->schema, &cause) : NULL;
    ingest *ing = sch ? ingest_new(q, &cfg->limits, sch, dl, &cause) : NULL;
    if (ing)
        ingest_set_deadletter_max(ing, cfg->deadletter_max_bytes);
    source *src = ing ? source_open(spec, &so, ing, &cause) : NULL;
    sinkset_params sp = {cfg->sink_predictions, cfg->sink_file, cfg->sink_kafka,
                         cfg->sink_queue_capacity, (sink_policy)cfg->sink_policy};
    sinkset *sinks = src ? sinkset_new(&sp, src, &cause) : NULL;
    if (sinks && !headless_mode && sinkset_has(sinks, "stdout")) {
        dd_fail(&cause, DD_EINVAL, "predictions to stdout need --headless (the console owns it)");
        sinkset_free(sinks);
        sinks = NULL;
    }
    headless *h = sinks && headless_mode ? headless_new(stdout) : NULL;
    worker_output out = headless_mode ? headless_output(h) : (worker_output){0};
    worker *w =
        sinks && (h || !headless_mode) ? worker_new(cfg, q, &src, 1, ing, &out, &cause) : NULL;
    run_ui ui = {0};
    kstore *ks = NULL;
    kstore_feed *feed = NULL;
    http_search *hs = NULL;
    int rc = 2;
    if (src)
        gov_run_set_source(gr, src);
    if (!w || gov_run_attach(gr, w, &cause) ||
        run_ui_open(&ui, cfg, w, &src, 1, speed, headless_mode, &cause)) {
        fprintf(stderr, "driftdeck: %s\n", cause ? cause : "out of memory");
        goto done;
    }
    if (ui.view) { /* the console's versions, decisions, exports and audited actions */
        wview_decider dec;
        gov_run_decider(gr, &dec);
        wview_set_decider(ui.view, &dec);
        wview_set_governance(ui.view, gov_run_governor(gr), gov_run_writer(gr));
    }
    worker_output sink_out = {.ctx = sinks, .event = sinkset_on_event};
    if (sinkset_count(sinks))
        worker_add_output(w, &sink_out);
    if (open_kstore(cfg, w, &ks, &hs) || feed_kstore(cfg, gr, w, ks, &feed))
        goto done;
    if (h)
        headless_set_kstore(h, ks);
    control_set_kstore(ui.ctl, ks); /* attached consoles' `s` key */
    running_worker = w;
    if (headless_mode) /* a JSON line like the others (the console shows the versions) */
        gov_run_print_describe(gr, stdout);
    if (sinkset_start(sinks, &cause) || worker_start(w, &cause) || src->ops->start(src, &cause)) {
        fprintf(stderr, "driftdeck: %s\n", cause ? cause : "cannot start");
        worker_stop(w);
        worker_join(w);
        goto done;
    }
    if (!headless_mode)
        rc = run_console(w, &ui, ks);
    worker_join(w);
    running_worker = NULL;
    if (headless_mode)
        rc = atomic_load(&src->stats.state) == SOURCE_FAILED ? 1 : 0;
    if (atomic_load(&src->stats.state) == SOURCE_FAILED) {
        char shown[512];
        source_spec_redacted(spec, shown, sizeof shown);
        fprintf(stderr, "driftdeck: source %s failed: %s\n", shown, src->last_error);
    }
done:
    running_worker = NULL;
    http_search_stop(hs);
    control_set_kstore(ui.ctl, NULL); /* waits for a search in progress */
    kstore_close(ks);                 /* drains what the worker handed over, saves the index */
    kstore_feed_free(feed);
    if (q)
        queue_close(q);
    sinkset_close(sinks); /* before the source: the ws sink sends over it */
    if (sinkset_count(sinks))
        sink_report(sinks);
    sinkset_free(sinks);
    free(cause);
    cause = NULL;
    /* The writer writes the rest (acking the source), then the workspace is released. */
    if (gov_run_close(gr, &cause)) {
        fprintf(stderr, "driftdeck: %s\n", cause ? cause : "cannot write the workspace");
        rc = rc ? rc : 1;
    }
    source_free(src);
    free(headers);
    run_ui_close(&ui);
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
    int rc = load_config(&cfg, argc, argv, NULL);
    if (rc)
        return rc;
    if ((rc = apply_args(&cfg, &o, argc, argv)))
        return rc;
    /* The console on the bundled demo takes the demo's settings (gated
     * learning and operator approval, so a candidate awaits the operator
     * within the first minute), under the user's file and options. */
    char ini[CONFIG_PATH_MAX + 16];
    if (!cfg.source[0] && !o.headless && !o.print_config && demo_ini(ini, sizeof ini)) {
        o = (run_opts){0};
        if ((rc = load_config(&cfg, argc, argv, ini)) || (rc = apply_args(&cfg, &o, argc, argv)))
            return rc;
    }
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
    return run_pipeline(&cfg, o.headless);
}
