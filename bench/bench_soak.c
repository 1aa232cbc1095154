/*
 * bench_soak.c: `make soak`, the long-stream benchmark of issue 10.
 *
 * SOAK_EVENTS (default 50 million) generated events go through the whole
 * program pipeline in one process, headless, as in a real run: a source
 * thread formats each message as a JSON line (tests/soak_stream.h: Agrawal's
 * generator with 32 drifts, delayed labels, one malformed line in 10 000) and
 * hands it to ingest (parse, limits, dead letters) -> the bounded queue ->
 * the worker thread (features, predict, evaluate, every drift watch point,
 * the learner with prioritized replay and EWC, the pending delayed-label
 * table) -> the headless JSON printer, whose lines (status, every alarm,
 * the summary) go to bench-soak.jsonl in the current directory. Nothing else
 * is written but the dead-letter file (rotated at 1 MiB) in a temporary
 * workspace, removed at the end. Every bounded structure is full before the
 * first figure (the pending table's capacity is set to 20 000 for that).
 *
 * Printed: resident memory (VmRSS of /proc/self/status) after 1 million data
 * events and at the end, the growth in percent (goal: under 5 %), the peak
 * (VmHWM), what each bounded structure holds at the end against its
 * capacity, and the headless summary. Exit status 0 when the growth is under
 * 5 % and the run ends clean (every event processed, every malformed line
 * counted, no dead letter lost, nothing refused for lack of memory).
 * Events per second are printed too but depend on the machine's load.
 */
#include "config.h"
#include "headless.h"
#include "ingest.h"
#include "learner.h"
#include "metrics.h"
#include "queue.h"
#include "replay.h"
#include "source.h"
#include "worker.h"

#include "soak_stream.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SOAK_DEFAULT_EVENTS 50000000ull
#define SOAK_FIRST 1000000ull   /* the first RSS figure, after this many data events */
#define SOAK_BAD_EVERY 10000ull /* one malformed line per this many messages */
#define SOAK_GOAL_PERCENT 5.0

/* The settings of the run: everything on (issue 10). */
static const char *const soak_settings[][3] = {
    {"learn", "replay", "true"},
    {"learn", "replay_k", "2"},
    {"learn", "replay_capacity", "10000"},
    {"learn", "replay_mode", "prioritized"},
    {"learn", "consolidate_every", "1000"},
    {"model", "ewc_lambda", "0.1"},
    {"drift", "error_detector", "adwin"},
    {"drift", "prediction_detector", "pagehinkley"},
    {"drift", "feature_detector", "pagehinkley"},
    /* Full after 640 000 events (one event in 32 is never labelled), before
     * the first figure; the default 100 000 would fill at 3.2 million. */
    {"eval", "pending_capacity", "20000"},
    {"limits", "deadletter_max_bytes", "1048576"},
    {"run", "status_interval", "30"},
};

/* Resident and peak resident memory in kB from /proc/self/status. */
static void read_rss(long *rss, long *hwm)
{
    *rss = *hwm = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6))
            *rss = strtol(line + 6, NULL, 10);
        else if (!strncmp(line, "VmHWM:", 6))
            *hwm = strtol(line + 6, NULL, 10);
    }
    fclose(f);
}

/* Bytes the program holds in malloc'ed blocks (in use, not free memory that
 * malloc keeps for reuse): glibc's mallinfo2(), main arena and thread arenas. */
static long heap_in_use_kb(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long)((mi.uordblks + mi.hblkhd) / 1024);
}

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* ---- the generating source ---- */

typedef struct gen_source {
    soak_stream stream;
    uint64_t events;
    pthread_t thread;
    bool started;
    atomic_bool stop;
} gen_source;

static void *gen_thread(void *arg)
{
    source *s = arg;
    gen_source *g = s->impl;
    atomic_store(&s->stats.state, SOURCE_CONNECTED);
    while (g->stream.index < g->events && !atomic_load(&g->stop)) {
        size_t len = soak_stream_next(&g->stream);
        s->line = g->stream.messages;
        if (ingest_message(s->ing, s, g->stream.line, len, false, 0, g->stream.messages,
                           INGEST_BLOCK) < 0)
            break;
    }
    atomic_store(&s->stats.state, SOURCE_ENDED);
    return NULL;
}

static dd_err gen_start(source *s, char **cause)
{
    gen_source *g = s->impl;
    if (pthread_create(&g->thread, NULL, gen_thread, s))
        return dd_fail(cause, DD_ENOMEM, "cannot start the generator thread");
    g->started = true;
    return DD_OK;
}

static void gen_stop(source *s)
{
    gen_source *g = s->impl;
    atomic_store(&g->stop, true);
    if (g->started) {
        pthread_join(g->thread, NULL);
        g->started = false;
    }
}

static void gen_destroy(source *s)
{
    gen_source *g = s->impl;
    if (g)
        soak_stream_free(&g->stream);
    free(g);
}

static const struct source_ops gen_ops = {
    .kind = "gen", .start = gen_start, .stop = gen_stop, .destroy = gen_destroy};

static source *gen_source_new(uint64_t events, ingest *ing, char **cause)
{
    source *s = calloc(1, sizeof *s);
    gen_source *g = calloc(1, sizeof *g);
    if (!s || !g || !(s->spec = strdup("gen:agrawal"))) {
        free(s);
        free(g);
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    s->ops = &gen_ops;
    s->impl = g;
    s->ing = ing;
    g->events = events;
    if (soak_stream_init(&g->stream, events, 1, SOAK_BAD_EVERY, cause)) {
        source_free(s);
        return NULL;
    }
    return s;
}

/* ---- the measuring output (worker thread) ---- */

typedef struct probe {
    uint64_t data_events;
    long rss_first, rss_mid_max, rss_mid_min;
    long heap_first, heap_mid_max;
    const pipeline *pipe; /* seen by tick; read after the worker has joined */
} probe;

static void probe_event(void *ctx, const dd_event *ev, const pipeline_result *res)
{
    (void)ev;
    probe *p = ctx;
    if (!res->predicted || res->joined)
        return;
    if (++p->data_events % SOAK_FIRST)
        return;
    long rss, hwm;
    read_rss(&rss, &hwm);
    long heap = heap_in_use_kb();
    if (p->data_events == SOAK_FIRST) {
        p->rss_first = p->rss_mid_min = rss;
        p->heap_first = heap;
    }
    if (rss > p->rss_mid_max)
        p->rss_mid_max = rss;
    if (rss < p->rss_mid_min)
        p->rss_mid_min = rss;
    if (heap > p->heap_mid_max)
        p->heap_mid_max = heap;
    fprintf(stderr, "soak: %llu events, VmRSS %ld kB, malloc in use %ld kB\n",
            (unsigned long long)p->data_events, rss, heap);
}

static void probe_tick(void *ctx, pipeline *pipe, const worker_status *st)
{
    (void)st;
    ((probe *)ctx)->pipe = pipe;
}

static void report_structures(const pipeline *p)
{
    const learner *l = pipeline_learner(p);
    const replay *r = learner_replay(l);
    pending_stats ps;
    pending_get_stats(pipeline_pending(p), &ps);
    const watch_stats *ws = watch_get_stats(pipeline_watch(p));
    const featpipe *fp = pipeline_features(p);
    printf("soak: replay      %u of %u entries, %zu bytes\n", r ? replay_size(r) : 0,
           r ? replay_capacity(r) : 0, r ? replay_memory(r) : 0);
    printf("soak: pending     %llu of %llu entries, %llu bytes (%llu joined, %llu expired, "
           "%llu evicted)\n",
           (unsigned long long)ps.held, (unsigned long long)ps.capacity,
           (unsigned long long)ps.bytes, (unsigned long long)ps.joined,
           (unsigned long long)ps.expired, (unsigned long long)ps.evicted);
    printf("soak: features    %u numeric slots, %zu bytes\n", featpipe_numeric_count(fp),
           featpipe_memory(fp));
    printf("soak: watch       %u feature detectors, %zu bytes\n", ws->features,
           watch_memory(pipeline_watch(p)));
    printf("soak: metrics     %u of %u window, %zu bytes\n",
           metrics_window_fill(pipeline_metrics(p)), metrics_window(pipeline_metrics(p)),
           metrics_memory(pipeline_metrics(p)));
    printf("soak: learner     %llu replayed steps, %llu EWC consolidations, %llu drifts\n",
           (unsigned long long)learner_get_stats(l)->replayed,
           (unsigned long long)learner_get_stats(l)->consolidations,
           (unsigned long long)learner_get_stats(l)->drifts);
}

typedef struct summary_copy {
    worker_status st;
    bool seen;
} summary_copy;

static void keep_summary(void *ctx, const worker_status *st)
{
    summary_copy *c = ctx;
    c->st = *st;
    c->seen = true;
}

static int configure(dd_config *cfg)
{
    config_defaults(cfg);
    for (size_t i = 0; i < DD_ARRAY_LEN(soak_settings); i++) {
        char *cause = NULL;
        if (config_set_value(cfg, soak_settings[i][0], soak_settings[i][1], soak_settings[i][2],
                             &cause)) {
            fprintf(stderr, "soak: %s\n", cause ? cause : "bad setting");
            free(cause);
            return -1;
        }
    }
    char *cause = NULL;
    if (config_check(cfg, &cause)) {
        fprintf(stderr, "soak: configuration: %s\n", cause ? cause : "invalid");
        free(cause);
        return -1;
    }
    return 0;
}

int main(void)
{
    const char *env = getenv("SOAK_EVENTS");
    uint64_t n = env && *env ? strtoull(env, NULL, 10) : SOAK_DEFAULT_EVENTS;
    if (n < SOAK_FIRST) {
        fprintf(stderr, "soak: SOAK_EVENTS must be at least %llu\n",
                (unsigned long long)SOAK_FIRST);
        return 2;
    }
    static dd_config cfg;
    if (configure(&cfg))
        return 2;
    char ws[] = "/tmp/driftdeck-soak.XXXXXX", dl[sizeof ws + 32];
    if (!mkdtemp(ws)) {
        perror("soak: mkdtemp");
        return 2;
    }
    snprintf(dl, sizeof dl, "%s/driftdeck.deadletter.jsonl", ws);

    char *cause = NULL;
    probe pr = {0};
    summary_copy sc = {0};
    queue *q = queue_new(cfg.queue_capacity);
    ingest *ing = q ? ingest_new(q, &cfg.limits, NULL, dl, &cause) : NULL;
    if (ing)
        ingest_set_deadletter_max(ing, cfg.deadletter_max_bytes);
    source *src = ing ? gen_source_new(n, ing, &cause) : NULL;
    FILE *jsonl = src ? fopen("bench-soak.jsonl", "w") : NULL;
    headless *h = jsonl ? headless_new(jsonl) : NULL;
    worker_output out = headless_output(h);
    worker_output meas = {.ctx = &pr, .event = probe_event, .tick = probe_tick};
    worker_output keep = {.ctx = &sc, .summary = keep_summary};
    worker *w = h ? worker_new(&cfg, q, &src, 1, ing, &out, &cause) : NULL;
    int rc = 2;
    if (src && !jsonl)
        perror("soak: bench-soak.jsonl");
    if (!w || worker_add_output(w, &meas) || worker_add_output(w, &keep) ||
        worker_start(w, &cause)) {
        fprintf(stderr, "soak: %s\n", cause ? cause : "cannot start");
        goto done;
    }
    if (src->ops->start(src, &cause)) {
        fprintf(stderr, "soak: %s\n", cause ? cause : "cannot start");
        worker_stop(w);
        worker_join(w);
        goto done;
    }
    printf("soak: %llu events, Agrawal with 32 drifts, delayed labels, 1 bad line in %llu\n",
           (unsigned long long)n, (unsigned long long)SOAK_BAD_EVERY);
    fflush(stdout);
    double t0 = now_s(), cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    worker_join(w);
    double secs = now_s() - t0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    long rss_end, hwm;
    read_rss(&rss_end, &hwm);
    long heap_end = heap_in_use_kb();

    const soak_stream *gs = &((gen_source *)src->impl)->stream;
    double growth = 100.0 * (double)(rss_end - pr.rss_first) / (double)pr.rss_first;
    printf("soak: VmRSS after %llu events: %ld kB\n", (unsigned long long)SOAK_FIRST,
           pr.rss_first);
    printf("soak: VmRSS after %llu events: %ld kB (samples every million: %ld..%ld kB, "
           "peak VmHWM %ld kB)\n",
           (unsigned long long)pr.data_events, rss_end, pr.rss_mid_min, pr.rss_mid_max, hwm);
    printf("soak: growth %+.2f %% (goal: under %.0f %%)\n", growth, SOAK_GOAL_PERCENT);
    printf("soak: malloc in use after %llu events: %ld kB; at the end: %ld kB (%+.2f %%); "
           "largest sample %ld kB\n",
           (unsigned long long)SOAK_FIRST, pr.heap_first, heap_end,
           100.0 * (double)(heap_end - pr.heap_first) / (double)pr.heap_first, pr.heap_mid_max);
    printf("soak: %.1f s wall, %.0f events/s (depends on the machine's load); %.1f s of CPU "
           "(source and worker threads), %.0f events per CPU-second\n",
           secs, (double)pr.data_events / secs, cpu, (double)pr.data_events / cpu);
    if (pr.pipe)
        report_structures(pr.pipe);
    bool clean = sc.seen && sc.st.events == n && pr.data_events == n &&
                 sc.st.malformed == gs->bad && sc.st.deadletter_failures == 0 &&
                 sc.st.dropped == 0 && sc.st.refused_steps == 0;
    printf("soak: summary %s: %llu events, %llu malformed of %llu bad lines, %llu dead letters "
           "lost, %llu refused steps, %llu drifts\n",
           clean ? "clean" : "NOT CLEAN", (unsigned long long)sc.st.events,
           (unsigned long long)sc.st.malformed, (unsigned long long)gs->bad,
           (unsigned long long)sc.st.deadletter_failures,
           (unsigned long long)sc.st.refused_steps, (unsigned long long)sc.st.drifts);
    printf("soak: the headless output (status, alarms, summary) is in bench-soak.jsonl\n");
    rc = clean && growth < SOAK_GOAL_PERCENT ? 0 : 1;
    printf("soak: %s\n", rc ? "FAIL" : "PASS");
done:
    if (q)
        queue_close(q);
    source_free(src);
    worker_free(w);
    headless_free(h);
    if (jsonl)
        fclose(jsonl);
    ingest_free(ing);
    queue_free(q, (void (*)(void *))event_free);
    free(cause);
    char old[sizeof dl + 4];
    snprintf(old, sizeof old, "%s.1", dl);
    unlink(dl);
    unlink(old);
    rmdir(ws);
    return rc;
}
