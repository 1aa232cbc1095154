/*
 * bench_forgetting.c: catastrophic forgetting, A then B then A again.
 *
 * Two tasks on the same inputs, ten numeric features uniform in [0, 1]:
 * task A labels by a hyperplane over f1..f5 (weights uniform in [0, 1),
 * label 1 iff sum w_i x_i >= sum w_i / 2, as the hyperplane generator), task B
 * by another over f6..f10 (the other five are noise for each task): two
 * hyperplanes at right angles. A stream of 5000 events of A, 5000 of B, then
 * 5000 of A again goes through the whole pipeline (feature pipeline,
 * learner, ADWIN on the error stream and the drift policies), as a file
 * source would feed it. Measured on held-out sets of 2000 events per task:
 * R(A|A) after the first A phase, R(A|B) and R(B|B) after B; backward
 * transfer BWT = R(A|B) - R(A|A) (Lopez-Paz & Ranzato 2017, with T = 2); and
 * the prequential accuracy over the first 500 events of A's return.
 * Mean and standard deviation over the seeds.
 *
 * Usage: bench_forgetting [SEEDS [CONFIG-SUBSTRING]]   (default 5)
 * DD_BENCH_SET="k=v;k=v" adds overrides to every configuration.
 */
#include "../src/config.h" /* not the build's autoconf config.h */
#include "event.h"
#include "pipeline.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NF 10
#define PHASE 5000
#define HELD 2000
#define RECOVERY 500

typedef struct config_def {
    const char *name;
    const char *set[8];
} config_def;

static const config_def configs[] = {
    {"defaults", {NULL}},
    {"plain SGD (no replay, no EWC)", {"learn.replay=false", "model.ewc_lambda=0", NULL}},
    {"EWC lambda 1, Fisher kept on drift",
     {"learn.replay=false", "model.ewc_lambda=1", "learn.ewc_on_drift=keep", NULL}},
    {"EWC lambda 10, Fisher kept on drift",
     {"learn.replay=false", "model.ewc_lambda=10", "learn.ewc_on_drift=keep", NULL}},
    {"replay, dropped on drift (default policy)", {"model.ewc_lambda=0", NULL}},
    {"replay, kept on drift", {"model.ewc_lambda=0", "learn.replay_on_drift=keep", NULL}},
    {"EWC 1 + replay, both kept on drift",
     {"model.ewc_lambda=1", "learn.ewc_on_drift=keep", "learn.replay_on_drift=keep", NULL}},
    {"progressive MLP (4 columns)",
     {"model.kind=mlp", "model.optimizer=adam", "model.lr=0.005", "model.activation=tanh",
      "model.max_columns=4", "model.ewc_lambda=0", NULL}},
    {"MLP, one column",
     {"model.kind=mlp", "model.optimizer=adam", "model.lr=0.005", "model.activation=tanh",
      "model.ewc_lambda=0", NULL}},
};

typedef struct task {
    double w[NF], half;
} task;

typedef struct outcome {
    double aa, ab, bb, bwt, recovery, drifts;
} outcome;

static void die(const char *what, char *cause)
{
    fprintf(stderr, "bench_forgetting: %s: %s\n", what, cause ? cause : "?");
    exit(1);
}

static void make_task(task *t, rng_t *r, int first)
{
    t->half = 0;
    for (int i = 0; i < NF; i++) {
        bool mine = first ? i < NF / 2 : i >= NF / 2;
        t->w[i] = mine ? rng_uniform(r) : 0.0;
        t->half += t->w[i] / 2;
    }
}

/* One event of task t as a JSON line; returns the label. */
static int draw(const task *t, rng_t *r, uint64_t id, char *buf, size_t n, size_t *len)
{
    double x[NF], s = 0;
    for (int i = 0; i < NF; i++) {
        x[i] = round(rng_uniform(r) * 1e6) / 1e6;
        s += t->w[i] * x[i];
    }
    int y = s >= t->half;
    size_t at = (size_t)snprintf(buf, n, "{\"id\":\"e-%llu\",\"x\":{", (unsigned long long)id);
    for (int i = 0; i < NF && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s\"f%d\":%.6f", i ? "," : "", i + 1, x[i]);
    if (at < n)
        at += (size_t)snprintf(buf + at, n - at, "},\"y\":%d}", y);
    *len = at;
    return y;
}

static dd_event *parse(const char *line, size_t len)
{
    dd_event *ev = NULL;
    char *cause = NULL;
    if (event_parse_json(line, len, NULL, NULL, &ev, &cause))
        die("event_parse_json", cause);
    return ev;
}

/* Accuracy of the pipeline's model on a held-out set (read-only). */
static double held_out(const pipeline *p, const task *t, uint64_t seed)
{
    rng_t r;
    rng_seed(&r, seed);
    char line[512];
    dd_sparse x = {0};
    int right = 0;
    for (int i = 0; i < HELD; i++) {
        size_t len;
        int y = draw(t, &r, (uint64_t)i, line, sizeof line, &len);
        dd_event *ev = parse(line, len);
        if (featpipe_transform(pipeline_features(p), ev, &x))
            die("featpipe_transform", NULL);
        model_output o;
        model_predict(pipeline_model(p), &x, &o);
        right += o.cls == y;
        event_free(ev);
    }
    sparse_free(&x);
    return (double)right / HELD;
}

static double phase(pipeline *p, const task *t, rng_t *r, uint64_t *id, int count_first)
{
    char line[512];
    int right = 0;
    for (int i = 0; i < PHASE; i++) {
        size_t len;
        draw(t, r, (*id)++, line, sizeof line, &len);
        dd_event *ev = parse(line, len);
        pipeline_result res;
        if (pipeline_process(p, ev, &res))
            die("pipeline_process", NULL);
        if (i < count_first)
            right += res.correct;
        event_free(ev);
    }
    return count_first ? (double)right / count_first : 0;
}

static void run_one(const config_def *c, uint64_t seed, outcome *o)
{
    dd_config cfg;
    config_defaults(&cfg);
    char *cause = NULL;
    for (int i = 0; c->set[i]; i++)
        if (config_set(&cfg, c->set[i], &cause))
            die(c->set[i], cause);
    const char *extra = getenv("DD_BENCH_SET");
    if (extra && *extra) {
        char buf[512], *save = NULL;
        snprintf(buf, sizeof buf, "%s", extra);
        for (char *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
            if (config_set(&cfg, tok, &cause))
                die(tok, cause);
    }
    cfg.pipe.model.seed = seed;
    cfg.pipe.learn.replay.seed = seed;
    pipeline *p = pipeline_new(&cfg.pipe, &cause);
    if (!p)
        die("pipeline_new", cause);
    rng_t r;
    rng_seed(&r, seed * 7919);
    task a, b;
    make_task(&a, &r, 1);
    make_task(&b, &r, 0);
    uint64_t id = 0;
    phase(p, &a, &r, &id, 0);
    o->aa = held_out(p, &a, seed + 1000);
    phase(p, &b, &r, &id, 0);
    o->ab = held_out(p, &a, seed + 1000);
    o->bb = held_out(p, &b, seed + 2000);
    o->recovery = phase(p, &a, &r, &id, RECOVERY);
    o->bwt = o->ab - o->aa;
    o->drifts = (double)pipeline_get_stats(p)->drifts;
    pipeline_free(p);
}

static void stat(const outcome *o, int n, size_t off, double *m, double *sd)
{
    double s = 0, q = 0;
    for (int i = 0; i < n; i++)
        s += *(const double *)((const char *)&o[i] + off);
    s /= n;
    for (int i = 0; i < n; i++) {
        double d = *(const double *)((const char *)&o[i] + off) - s;
        q += d * d;
    }
    *m = s;
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

int main(int argc, char **argv)
{
    int seeds = argc > 1 ? atoi(argv[1]) : 5;
    if (seeds < 1 || seeds > 64)
        seeds = 5;
    const char *only = argc > 2 ? argv[2] : NULL;
    printf("Forgetting: A (%d events), B (%d), A again; held-out sets of %d; mean ± sd over %d "
           "seeds.\n\n",
           PHASE, PHASE, HELD, seeds);
    printf("| configuration | R(A) after A | R(A) after B | R(B) after B | BWT | A's return, "
           "first %d | drifts detected |\n|---|---|---|---|---|---|---|\n",
           RECOVERY);
    static const size_t cols[] = {offsetof(outcome, aa), offsetof(outcome, ab),
                                  offsetof(outcome, bb), offsetof(outcome, bwt),
                                  offsetof(outcome, recovery)};
    for (size_t ci = 0; ci < DD_ARRAY_LEN(configs); ci++) {
        if (only && !strstr(configs[ci].name, only))
            continue;
        outcome o[64];
        for (int s = 0; s < seeds; s++)
            run_one(&configs[ci], (uint64_t)s + 1, &o[s]);
        printf("| %s |", configs[ci].name);
        double m, sd;
        for (size_t k = 0; k < DD_ARRAY_LEN(cols); k++) {
            stat(o, seeds, cols[k], &m, &sd);
            printf(k == 3 ? " %+.3f ± %.3f |" : " %.3f ± %.3f |", m, sd);
        }
        stat(o, seeds, offsetof(outcome, drifts), &m, &sd);
        printf(" %.1f |\n", m);
        fflush(stdout);
    }
    return 0;
}
