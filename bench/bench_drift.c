/*
 * bench_drift.c: detection quality and speed of every drift detector.
 *
 * Quality: for each detector (River's defaults), streams with one change at
 * CHANGE, abrupt or gradual (a linear ramp over RAMP values), of several
 * magnitudes: Bernoulli error rates (0.2 -> 0.3, 0.5, 0.8) and Gaussian means
 * (N(0,1) -> N(mu,1), mu = 0.5, 1, 2), 30 seeds each. Reported: the mean
 * delay of the first detection at or after the change start (over the runs
 * that found it within HORIZON values), the runs that missed it, and the
 * detections before the change (all runs together). False alarms are measured
 * apart, on stationary streams of STATIONARY values (30 seeds), because some
 * detectors (Page-Hinkley with forgetting, ADWIN's growing window) raise them
 * mostly after a long quiet run. DDM and EDDM watch 0/1 streams only.
 * Speed: updates per CPU second through drift_update() on a stationary stream
 * held in memory (the generator's cost excluded), amortized over the whole
 * run (for ADWIN: the window grows to 20M values and is checked every 32),
 * plus ADWIN through its own API; the median, lowest and highest of REPS runs,
 * as the machine may be shared. Prints Markdown tables for doc/DRIFT.md.
 */
#include "adwin.h"
#include "drift.h"
#include "rng.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEEDS 30
#define CHANGE 5000
#define RAMP 1000
#define HORIZON 2000
#define LENGTH (CHANGE + HORIZON)
#define REPS 3
#define STATIONARY 100000

typedef struct scenario {
    bool bernoulli;
    double before, after; /* rate or mean */
    bool gradual;
} scenario;

static const scenario scenarios[] = {
    {true, 0.2, 0.3, false},  {true, 0.2, 0.5, false},  {true, 0.2, 0.8, false},
    {true, 0.2, 0.3, true},   {true, 0.2, 0.5, true},   {true, 0.2, 0.8, true},
    {false, 0.0, 0.5, false}, {false, 0.0, 1.0, false}, {false, 0.0, 2.0, false},
    {false, 0.0, 0.5, true},  {false, 0.0, 1.0, true},  {false, 0.0, 2.0, true},
};

static const char *const kinds[] = {"adwin", "pagehinkley", "ddm", "eddm", "kswin"};

/* Configurations measured for quality: River's defaults, plus the parameters
 * the feature and prediction watch points use on standardized values. */
static const struct config {
    const char *label, *kind;
    const char *names[3];
    double values[3];
    size_t n;
} configs[] = {
    {"adwin", "adwin", {NULL}, {0}, 0},
    {"pagehinkley", "pagehinkley", {NULL}, {0}, 0},
    {"pagehinkley watch defaults", "pagehinkley", {"delta", "threshold", "alpha"}, {0.1, 50, 1}, 3},
    {"ddm", "ddm", {NULL}, {0}, 0},
    {"eddm", "eddm", {NULL}, {0}, 0},
    {"kswin", "kswin", {NULL}, {0}, 0},
};

/* CPU time of this thread: on a shared machine, wall time would count the
 * time other processes held the core. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The level (rate or mean) at index i. */
static double level_at(const scenario *s, long i)
{
    if (i < CHANGE)
        return s->before;
    if (!s->gradual || i >= CHANGE + RAMP)
        return s->after;
    return s->before + (s->after - s->before) * (double)(i - CHANGE) / RAMP;
}

static void fill(double *xs, const scenario *s, uint64_t seed)
{
    rng_t r;
    rng_seed(&r, seed);
    for (long i = 0; i < LENGTH; i++) {
        double lv = level_at(s, i);
        xs[i] = s->bernoulli ? (rng_uniform(&r) < lv ? 1.0 : 0.0) : lv + rng_normal(&r);
    }
}

static void quality(void)
{
    static double xs[LENGTH];
    printf("| detector | stream | change | shape | mean delay | missed (of %d) | "
           "alarms before the change |\n",
           SEEDS);
    printf("| --- | --- | --- | --- | ---: | ---: | ---: |\n");
    for (size_t k = 0; k < sizeof configs / sizeof *configs; k++) {
        const struct config *cf = &configs[k];
        for (size_t c = 0; c < sizeof scenarios / sizeof *scenarios; c++) {
            const scenario *s = &scenarios[c];
            /* DDM and EDDM take 0/1 values; the watch parameters, z-scores. */
            bool binary_only = !strcmp(cf->kind, "ddm") || !strcmp(cf->kind, "eddm");
            bool gauss_only = cf->n > 0;
            if ((binary_only && !s->bernoulli) || (gauss_only && s->bernoulli))
                continue;
            double delay_sum = 0.0;
            int found = 0, missed = 0;
            long false_alarms = 0;
            for (uint64_t seed = 1; seed <= SEEDS; seed++) {
                fill(xs, s, 1000 * c + seed);
                drift_detector *d = drift_new(cf->kind, NULL);
                if (cf->n)
                    drift_set_params(d, cf->names, cf->values, cf->n, NULL);
                long first = -1;
                for (long i = 0; i < LENGTH; i++) {
                    if (drift_update(d, xs[i]) != DRIFT_DRIFT)
                        continue;
                    if (i < CHANGE)
                        false_alarms++;
                    else if (first < 0)
                        first = i;
                }
                drift_free(d);
                if (first >= 0) {
                    delay_sum += (double)(first - CHANGE);
                    found++;
                } else {
                    missed++;
                }
            }
            char delay[32];
            if (found)
                snprintf(delay, sizeof delay, "%.0f", delay_sum / found);
            else
                snprintf(delay, sizeof delay, "-");
            printf("| %s | %s | %g -> %g | %s | %s | %d | %ld |\n", cf->label,
                   s->bernoulli ? "Bernoulli" : "Gaussian", s->before, s->after,
                   s->gradual ? "gradual" : "abrupt", delay, missed, false_alarms);
        }
    }
}

/* Drifts per 100k values on stationary streams (the detector restarts after
 * each, as in the pipeline). */
static void false_alarms(void)
{
    double *xs = malloc(STATIONARY * sizeof *xs);
    if (!xs)
        exit(1);
    printf("\n| detector | stationary stream | false alarms / 100k values (%d x %d values) |\n"
           "| --- | --- | ---: |\n",
           SEEDS, STATIONARY);
    for (size_t k = 0; k < sizeof configs / sizeof *configs; k++) {
        const struct config *cf = &configs[k];
        for (int bern = 1; bern >= 0; bern--) {
            bool binary_only = !strcmp(cf->kind, "ddm") || !strcmp(cf->kind, "eddm");
            if ((binary_only && !bern) || (cf->n && bern))
                continue;
            long alarms = 0;
            for (uint64_t seed = 1; seed <= SEEDS; seed++) {
                rng_t r;
                rng_seed(&r, 50000 + seed);
                for (long i = 0; i < STATIONARY; i++)
                    xs[i] = bern ? (rng_uniform(&r) < 0.2 ? 1.0 : 0.0) : rng_normal(&r);
                drift_detector *d = drift_new(cf->kind, NULL);
                if (cf->n)
                    drift_set_params(d, cf->names, cf->values, cf->n, NULL);
                for (long i = 0; i < STATIONARY; i++)
                    alarms += drift_update(d, xs[i]) == DRIFT_DRIFT;
                drift_free(d);
            }
            printf("| %s | %s | %.1f |\n", cf->label, bern ? "Bernoulli(0.2)" : "N(0,1)",
                   (double)alarms * 100000.0 / (SEEDS * (double)STATIONARY));
        }
    }
    free(xs);
}

/* Updates per second of kind over n values of a stationary stream. */
static double speed_once(const char *kind, const double *xs, long n)
{
    drift_detector *d = drift_new(kind, NULL);
    volatile int sink = 0;
    double t0 = now();
    for (long i = 0; i < n; i++)
        sink += drift_update(d, xs[i]);
    double t = now() - t0;
    drift_free(d);
    (void)sink;
    return (double)n / t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Prints "median (low-high) M" of REPS runs of run(kind, xs, n). */
static void print_speed(double (*run)(const char *, const double *, long), const char *kind,
                        const double *xs, long n)
{
    double r[REPS];
    for (int i = 0; i < REPS; i++)
        r[i] = run(kind, xs, n) / 1e6;
    qsort(r, REPS, sizeof *r, cmp_double);
    printf("%.1f M (%.1f-%.1f) |\n", r[REPS / 2], r[0], r[REPS - 1]);
}

static double speed_adwin_api(const char *kind, const double *xs, long n)
{
    (void)kind;
    adwin_params p;
    adwin_params_default(&p);
    adwin *a = adwin_new(&p, NULL);
    volatile int sink = 0;
    double t0 = now();
    for (long i = 0; i < n; i++)
        sink += adwin_update(a, xs[i]);
    double t = now() - t0;
    if (adwin_width(a) != (double)n || adwin_memory(a) > 4096)
        fprintf(stderr, "bench_drift: unexpected adwin window %.0f, %zu bytes\n", adwin_width(a),
                adwin_memory(a));
    adwin_free(a);
    (void)sink;
    return (double)n / t;
}

static void speeds(void)
{
    const long n = 20000000;
    double *bits = malloc((size_t)n * sizeof *bits);
    double *gauss = malloc((size_t)n * sizeof *gauss);
    if (!bits || !gauss) {
        fputs("bench_drift: out of memory\n", stderr);
        exit(1);
    }
    rng_t r;
    rng_seed(&r, 77);
    for (long i = 0; i < n; i++) {
        bits[i] = rng_uniform(&r) < 0.2 ? 1.0 : 0.0;
        gauss[i] = rng_normal(&r);
    }
    printf("\n| detector | stream | values | updates per CPU second, median of %d (range) |\n"
           "| --- | --- | ---: | ---: |\n",
           REPS);
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        long m = !strcmp(kinds[k], "kswin") ? n / 100 : n;
        printf("| %s | Bernoulli(0.2) | %ld | ", kinds[k], m);
        print_speed(speed_once, kinds[k], bits, m);
        if (strcmp(kinds[k], "ddm") && strcmp(kinds[k], "eddm")) {
            printf("| %s | N(0,1) | %ld | ", kinds[k], m);
            print_speed(speed_once, kinds[k], gauss, m);
        }
    }
    printf("| adwin (adwin.h, no dispatch) | Bernoulli(0.2) | %ld | ", n);
    print_speed(speed_adwin_api, "adwin", bits, n);
    free(bits);
    free(gauss);
}

int main(int argc, char **argv)
{
    bool only_speed = argc > 1 && !strcmp(argv[1], "--speed");
    printf("bench_drift: %d seeds, change at %d, ramp %d, horizon %d\n\n", SEEDS, CHANGE, RAMP,
           HORIZON);
    if (!only_speed) {
        quality();
        false_alarms();
    }
    speeds();
    return 0;
}
