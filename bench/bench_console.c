/*
 * bench_console.c: what the console costs while the worker runs flat out.
 *
 * The real worker runs at full speed on the demo stream repeated (no
 * pacing); the real console runs in its own thread on a pseudo-terminal
 * (80x24, then 200x50) at 10 frames/s, and a reader thread drains the
 * terminal's output like a terminal emulator would. Printed:
 *  - CPU of the UI thread, as a share of one core, while the worker runs;
 *  - the worker's events/s with the console on, and without it (baseline);
 *  - key latency: from writing '?' into the terminal to the help overlay's
 *    text coming out of it (so it includes the frame that draws it),
 *    median / 95th percentile / max over the samples.
 * Usage: bench_console [REPEATS]  (demo repeats, default 20: 400k events, 60 MB)
 */
#define _GNU_SOURCE /* memmem */
#include "command.h"
#include "config.h"
#include "console.h"
#include "ingest.h"
#include "queue.h"
#include "snapshot.h"
#include "source.h"
#include "worker.h"
#include "worker_view.h"

#include <pthread.h>
#include <pty.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MARK "any key closes"
#define MAX_SAMPLES 64

typedef struct term_pair {
    int master, slave;
    FILE *in, *out;
    pthread_t drain;
    atomic_bool seen; /* MARK came out since the last reset */
    atomic_bool stop;
    atomic_ullong bytes;
} term_pair;

/* The worker's own count of processed events, from its ticks (every 50 ms). */
static atomic_ullong processed;

static void count_tick(void *ctx, pipeline *p, const worker_status *st)
{
    (void)ctx;
    (void)p;
    atomic_store(&processed, st->events);
}

static const worker_output counter = {.tick = count_tick};

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu_of(pthread_t th)
{
    clockid_t id;
    struct timespec t;
    if (pthread_getcpuclockid(th, &id) || clock_gettime(id, &t))
        return 0;
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *drain(void *arg)
{
    term_pair *tp = arg;
    char buf[8192 + 32];
    size_t keep = 0; /* the tail of the last chunk, for a MARK split across reads */
    while (!atomic_load(&tp->stop)) {
        ssize_t n = read(tp->master, buf + keep, sizeof buf - keep - 1);
        if (n <= 0)
            break;
        atomic_fetch_add(&tp->bytes, (unsigned long long)n);
        size_t len = keep + (size_t)n;
        buf[len] = '\0';
        if (memmem(buf, len, MARK, strlen(MARK)))
            atomic_store(&tp->seen, true);
        keep = len < 31 ? len : 31;
        memmove(buf, buf + len - keep, keep);
    }
    return NULL;
}

typedef struct ui_thread_arg {
    console_link *link;
    console_opts opts;
} ui_thread_arg;

static void *ui_thread(void *arg)
{
    ui_thread_arg *a = arg;
    console_end end;
    char *cause = NULL;
    if (console_run(a->link, &a->opts, &end, &cause))
        fprintf(stderr, "bench_console: %s\n", cause ? cause : "console failed");
    free(cause);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A stream file: the demo repeated `repeats` times. */
static int make_stream(const char *demo, const char *path, int repeats)
{
    FILE *in = fopen(demo, "rb"), *out = fopen(path, "wb");
    if (!in || !out) {
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return -1;
    }
    char buf[65536];
    for (int r = 0; r < repeats; r++) {
        rewind(in);
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
            fwrite(buf, 1, n, out);
    }
    fclose(in);
    return fclose(out);
}

static double key_latency(term_pair *tp)
{
    atomic_store(&tp->seen, false);
    double t0 = mono();
    if (write(tp->master, "?", 1) != 1)
        return -1;
    while (!atomic_load(&tp->seen) && mono() - t0 < 2.0)
        usleep(200);
    double dt = mono() - t0;
    if (write(tp->master, "z", 1) != 1) /* any key closes the help */
        return -1;
    return atomic_load(&tp->seen) ? dt : -1;
}

/* The worker alone (no console output, no UI) over the same window. */
static int baseline(const char *stream)
{
    dd_config cfg;
    config_defaults(&cfg);
    char spec[1100], *cause = NULL;
    snprintf(spec, sizeof spec, "file:%s", stream);
    source_options so = {.speed = 0};
    queue *q = queue_new(cfg.queue_capacity);
    ingest *ing = ingest_new(q, &cfg.limits, NULL, NULL, &cause);
    source *src = ing ? source_open(spec, &so, ing, &cause) : NULL;
    worker *w = src ? worker_new(&cfg, q, &src, 1, ing, &counter, &cause) : NULL;
    if (!w) {
        fprintf(stderr, "bench_console: %s\n", cause ? cause : "setup failed");
        return 1;
    }
    worker_start(w, NULL);
    src->ops->start(src, NULL);
    usleep(300000); /* as with the console: then a 3 s window */
    uint64_t e0 = atomic_load(&processed);
    double t0 = mono();
    usleep(3000000);
    uint64_t e1 = atomic_load(&processed);
    double wall = mono() - t0;
    int ended = atomic_load(&src->stats.state) == SOURCE_ENDED;
    worker_stop(w);
    worker_join(w);
    printf("no console: worker %.0f events/s%s\n", (double)(e1 - e0) / wall,
           ended ? " (the stream ended inside the window: raise REPEATS)" : "");
    queue_close(q);
    source_free(src);
    worker_free(w);
    ingest_free(ing);
    queue_free(q, (void (*)(void *))event_free);
    return 0;
}

static int run(const char *stream, int cols, int rows)
{
    dd_config cfg;
    config_defaults(&cfg);
    char spec[1100], *cause = NULL;
    snprintf(spec, sizeof spec, "file:%s", stream);
    source_options so = {.speed = 0};
    queue *q = queue_new(cfg.queue_capacity);
    ingest *ing = ingest_new(q, &cfg.limits, NULL, NULL, &cause);
    source *src = ing ? source_open(spec, &so, ing, &cause) : NULL;
    worker *w = src ? worker_new(&cfg, q, &src, 1, ing, &counter, &cause) : NULL;
    snap_board *board = snap_board_new();
    queue *cmdq = queue_new(64);
    wview_params vp = {.speed = 0, .workspace = "/tmp"};
    wview *view = w ? wview_new(board, cmdq, &src, 1, &vp) : NULL;
    worker_output vo = view ? wview_output(view) : (worker_output){0};
    if (!view || worker_add_output(w, &vo)) {
        fprintf(stderr, "bench_console: %s\n", cause ? cause : "setup failed");
        return 1;
    }
    worker_set_linger(w, true);
    term_pair tp = {0};
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    if (openpty(&tp.master, &tp.slave, NULL, NULL, &ws) < 0) {
        perror("openpty");
        return 1;
    }
    tp.in = fdopen(tp.slave, "r");
    tp.out = fdopen(dup(tp.slave), "w");
    pthread_create(&tp.drain, NULL, drain, &tp);
    ui_thread_arg ua = {.link = console_link_local_new(board, cmdq)};
    console_opts_default(&ua.opts);
    ua.opts.in = tp.in;
    ua.opts.out = tp.out;
    pthread_t ui;
    worker_start(w, NULL);
    src->ops->start(src, NULL);
    pthread_create(&ui, NULL, ui_thread, &ua);
    usleep(300000); /* the console is up and drawing */

    double lat[MAX_SAMPLES];
    int nlat = 0;
    double t0 = mono(), c0 = cpu_of(ui);
    uint64_t e0 = atomic_load(&processed);
    while (mono() - t0 < 3.0 && nlat < MAX_SAMPLES) {
        double l = key_latency(&tp);
        if (l >= 0)
            lat[nlat++] = l;
        usleep(80000);
    }
    double wall = mono() - t0, cpu = cpu_of(ui) - c0;
    uint64_t events = atomic_load(&processed) - e0;
    int ended = atomic_load(&src->stats.state) == SOURCE_ENDED;
    if (write(tp.master, "q", 1) != 1)
        fprintf(stderr, "bench_console: cannot send q\n");
    pthread_join(ui, NULL);
    worker_stop(w);
    worker_join(w);
    atomic_store(&tp.stop, true);
    fclose(tp.in); /* with every slave closed, the drain's read() returns */
    fclose(tp.out);
    pthread_join(tp.drain, NULL);
    close(tp.master);
    qsort(lat, (size_t)nlat, sizeof lat[0], cmp_double);
    printf("console %dx%d: UI thread %.1f %% of one core at 10 fps over %.1f s; "
           "worker %.0f events/s%s; terminal output %.0f KB/s\n",
           cols, rows, 100.0 * cpu / wall, wall, (double)events / wall,
           ended ? " (the stream ended inside the window: raise REPEATS)" : "",
           (double)atomic_load(&tp.bytes) / 1024.0 / (wall + 0.3));
    if (nlat > 0)
        printf("console %dx%d: key latency ('?' to help drawn), %d samples: median %.1f ms, "
               "p95 %.1f ms, max %.1f ms\n",
               cols, rows, nlat, 1e3 * lat[nlat / 2], 1e3 * lat[(nlat * 95) / 100 - (nlat >= 20)],
               1e3 * lat[nlat - 1]);
    console_link_free(ua.link);
    queue_close(q);
    source_free(src);
    worker_free(w);
    wview_free(view);
    ingest_free(ing);
    queue_free(q, (void (*)(void *))event_free);
    queue_free(cmdq, free);
    snap_board_free(board);
    return 0;
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 20;
    const char *data = getenv("DRIFTDECK_DATA");
    char demo[1024], stream[] = "/tmp/bench_console.XXXXXX";
    snprintf(demo, sizeof demo, "%s/demo.jsonl", data ? data : DD_SRCDATADIR);
    int fd = mkstemp(stream);
    if (fd < 0 || make_stream(demo, stream, repeats < 1 ? 1 : repeats)) {
        fprintf(stderr, "bench_console: cannot make a stream from %s\n", demo);
        return 1;
    }
    close(fd);
    setenv("TERM", "xterm-256color", 1);
    setenv("LANG", "C.UTF-8", 1);
    int rc = baseline(stream);
    if (!rc)
        rc = run(stream, 80, 24);
    if (!rc)
        rc = run(stream, 200, 50);
    if (!rc)
        rc = baseline(stream);
    unlink(stream);
    return rc;
}
