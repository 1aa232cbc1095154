/*
 * bench_pipeline.c: throughput of the foundation's per-event stages on one
 * core, printed as figures for doc/PERFORMANCE.md:
 *   parse     raw JSON line -> dd_event (what a source thread does)
 *   pipeline  dd_event -> features, predict, evaluate, drift, learn (the worker)
 *   both      the two in one thread
 * on generated SEA lines (3 numeric features) and Agrawal lines (6 numeric,
 * 3 categorical). Each figure is the best of 3 runs over N events, per CPU
 * second of the process.
 */
#include "gen.h"
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N = 200000, RUNS = 3 };

/* CPU time of this (single-threaded) process: on a shared machine, wall time
 * would measure the neighbours. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct lines {
    char **line;
    size_t *len;
} lines;

static lines make_lines(gen_kind kind)
{
    gen_params gp;
    gen_params_default(&gp, kind);
    gp.seed = 9;
    gen *g = gen_new(&gp, NULL);
    size_t cap = gen_line_max(g);
    lines l = {calloc(N, sizeof(char *)), calloc(N, sizeof(size_t))};
    for (int i = 0; i < N; i++) {
        l.line[i] = malloc(cap);
        gen_next_line(g, l.line[i], cap, &l.len[i]);
    }
    gen_free(g);
    return l;
}

static double bench_parse(const lines *l)
{
    double best = 0;
    for (int r = 0; r < RUNS; r++) {
        double t = now();
        for (int i = 0; i < N; i++) {
            dd_event *ev;
            if (event_parse_json(l->line[i], l->len[i], NULL, NULL, &ev, NULL) == DD_OK)
                event_free(ev);
        }
        double rate = N / (now() - t);
        best = rate > best ? rate : best;
    }
    return best;
}

static double bench_pipeline(const lines *l, bool parse_too)
{
    dd_event **evs = calloc(N, sizeof *evs);
    for (int i = 0; i < N && !parse_too; i++)
        event_parse_json(l->line[i], l->len[i], NULL, NULL, &evs[i], NULL);
    double best = 0;
    for (int r = 0; r < RUNS; r++) {
        pipeline_params pp;
        pipeline_params_default(&pp);
        pipeline *p = pipeline_new(&pp, NULL);
        pipeline_result res;
        double t = now();
        for (int i = 0; i < N; i++) {
            if (parse_too) {
                dd_event *ev;
                if (event_parse_json(l->line[i], l->len[i], NULL, NULL, &ev, NULL) == DD_OK) {
                    pipeline_process(p, ev, &res);
                    event_free(ev);
                }
            } else {
                pipeline_process(p, evs[i], &res);
            }
        }
        double rate = N / (now() - t);
        best = rate > best ? rate : best;
        pipeline_free(p);
    }
    for (int i = 0; i < N; i++)
        event_free(evs[i]);
    free(evs);
    return best;
}

int main(void)
{
    const gen_kind kinds[] = {GEN_SEA, GEN_AGRAWAL};
    printf("bench_pipeline: events per CPU-second, one core, best of %d runs of %d events\n", RUNS,
           N);
    printf("%-10s %14s %14s %14s\n", "stream", "parse", "pipeline", "parse+pipeline");
    for (size_t k = 0; k < 2; k++) {
        lines l = make_lines(kinds[k]);
        double a = bench_parse(&l), b = bench_pipeline(&l, false), c = bench_pipeline(&l, true);
        printf("%-10s %14.0f %14.0f %14.0f\n", gen_kind_name(kinds[k]), a, b, c);
        for (int i = 0; i < N; i++)
            free(l.line[i]);
        free(l.line);
        free(l.len);
    }
    return 0;
}
