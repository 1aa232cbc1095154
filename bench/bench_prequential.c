/*
 * bench_prequential.c: prequential (test-then-train) accuracy of driftdeck's
 * whole pipeline (feature pipeline, learner, ADWIN on the error stream and
 * its drift policies) on the standard drifting streams of core/gen.h, for
 * each model and optimizer. Each stream is generated as JSON Lines and
 * parsed like a file source would, so the figures are what `driftdeck gen
 * ... | driftdeck --headless` gets. A configuration is the built-in defaults
 * plus the overrides listed (configuration-file keys). Prints a Markdown
 * table: final accuracy and accuracy over each segment after a drift, mean
 * and standard deviation over the seeds.
 *
 * Usage: bench_prequential [SEEDS [CONFIG-SUBSTRING [STREAM-SUBSTRING]]]
 * (default 5 seeds, every configuration and stream). DD_BENCH_SET="k=v;k=v"
 * adds overrides to every configuration, for exploring.
 */
#include "../src/config.h" /* not the build's autoconf config.h */
#include "event.h"
#include "gen.h"
#include "pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEG 4

typedef struct stream_def {
    const char *name;
    gen_kind kind;
    uint64_t events;
    uint32_t ndrifts;
    uint64_t pos[MAX_SEG - 1], width[MAX_SEG - 1];
    uint32_t variants[MAX_SEG];
    double noise;
    double mag;            /* hyperplane */
    const char *reference; /* River's figure, where published in issue 4 */
} stream_def;

static const stream_def streams[] = {
    {"SEA 0->2 @5000 w50",
     GEN_SEA,
     10000,
     1,
     {5000},
     {50},
     {0, 2},
     0.0,
     0,
     "River LR 0.986, ARF 0.980"},
    {"hyperplane d10 k2 m0.001 5% noise",
     GEN_HYPERPLANE,
     10000,
     0,
     {0},
     {0},
     {0},
     0.05,
     0.001,
     "exactly 5%: River's generator flips 4%, see the next table"},
    {"hyperplane as River draws it: 4% noise, sigma 9%",
     GEN_HYPERPLANE,
     10000,
     0,
     {0},
     {0},
     {0},
     0.04,
     0.001,
     "River LR 0.928, ARF 0.825: River's noise test is 0.01 + U <= p"},
    {"Agrawal 0->2 @5000 w1000",
     GEN_AGRAWAL,
     10000,
     1,
     {5000},
     {1000},
     {0, 2},
     0.0,
     0,
     "ARF 0.850"},
    {"STAGGER 0->1->2 @3333,6666",
     GEN_STAGGER,
     10000,
     2,
     {3333, 6666},
     {0, 0},
     {0, 1, 2},
     0.0,
     0,
     ""},
    {"SEA 0->1->2->3 @2500,5000,7500 w50",
     GEN_SEA,
     10000,
     3,
     {2500, 5000, 7500},
     {50, 50, 50},
     {0, 1, 2, 3},
     0.1,
     0,
     "10% noise (Street & Kim)"},
};

typedef struct config_def {
    const char *name;
    const char *set[8];
} config_def;

static const config_def configs[] = {
    {"defaults", {NULL}},
    {"linear SGD, no replay, no EWC", {"learn.replay=false", "model.ewc_lambda=0", NULL}},
    {"linear SGD + replay", {"model.optimizer=sgd", "model.ewc_lambda=0", NULL}},
    {"linear SGD + replay + EWC", {"model.optimizer=sgd", "model.ewc_lambda=1", NULL}},
    {"linear Adam", {"model.optimizer=adam", "model.lr=0.01", NULL}},
    {"linear AdaGrad", {"model.optimizer=adagrad", "model.lr=0.1", NULL}},
    {"linear FTRL", {"model.optimizer=ftrl", "model.lr=0.1", "model.ewc_lambda=0", NULL}},
    {"MLP 16 tanh Adam",
     {"model.kind=mlp", "model.optimizer=adam", "model.lr=0.005", "model.activation=tanh", NULL}},
    {"progressive MLP (4 columns)",
     {"model.kind=mlp", "model.optimizer=adam", "model.lr=0.005", "model.activation=tanh",
      "model.max_columns=4", NULL}},
};

typedef struct result {
    double final;
    double seg[MAX_SEG];
    uint64_t drifts;
} result;

static void die(const char *what, char *cause)
{
    fprintf(stderr, "bench_prequential: %s: %s\n", what, cause ? cause : "?");
    exit(1);
}

static gen *make_gen(const stream_def *s, uint64_t seed)
{
    gen_params gp;
    gen_params_default(&gp, s->kind);
    gp.seed = seed;
    gp.noise = s->noise;
    gp.ndrifts = s->ndrifts;
    for (uint32_t d = 0; d < s->ndrifts; d++) {
        gp.drift[d].pos = s->pos[d];
        gp.drift[d].width = s->width[d];
    }
    if (s->kind != GEN_HYPERPLANE) {
        gp.nvariants = s->ndrifts + 1;
        for (uint32_t v = 0; v <= s->ndrifts; v++)
            gp.variant[v] = s->variants[v];
    } else {
        gp.features = 10;
        gp.drift_features = 2;
        gp.mag_change = s->mag;
        gp.sigma = s->noise == 0.04 ? 0.09 : 0.1;
    }
    char *cause = NULL;
    gen *g = gen_new(&gp, &cause);
    if (!g)
        die("gen_new", cause);
    return g;
}

static void run_one(const stream_def *s, const config_def *c, uint64_t seed, result *out)
{
    dd_config cfg;
    config_defaults(&cfg);
    char *cause = NULL;
    for (int i = 0; c->set[i]; i++)
        if (config_set(&cfg, c->set[i], &cause))
            die(c->set[i], cause);
    const char *extra = getenv("DD_BENCH_SET"); /* "k=v;k=v": for exploring, not the tables */
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
    gen *g = make_gen(s, seed);
    size_t cap = gen_line_max(g);
    char *line = malloc(cap);
    uint64_t right = 0, seg_right[MAX_SEG] = {0}, seg_n[MAX_SEG] = {0};
    for (uint64_t t = 0; t < s->events; t++) {
        size_t len;
        if (!line || gen_next_line(g, line, cap, &len))
            die("gen_next_line", NULL);
        dd_event *ev = NULL;
        if (event_parse_json(line, len, NULL, NULL, &ev, &cause))
            die("event_parse_json", cause);
        pipeline_result res;
        if (pipeline_process(p, ev, &res))
            die("pipeline_process", NULL);
        event_free(ev);
        uint32_t sg = 0;
        while (sg < s->ndrifts && t >= s->pos[sg])
            sg++;
        right += res.correct;
        seg_right[sg] += res.correct;
        seg_n[sg]++;
    }
    out->final = (double)right / (double)s->events;
    for (uint32_t k = 0; k <= s->ndrifts; k++)
        out->seg[k] = seg_n[k] ? (double)seg_right[k] / (double)seg_n[k] : 0;
    out->drifts = pipeline_get_stats(p)->drifts;
    free(line);
    gen_free(g);
    pipeline_free(p);
}

static void mean_sd(const double *v, int n, double *mean, double *sd)
{
    double m = 0, q = 0;
    for (int i = 0; i < n; i++)
        m += v[i];
    m /= n;
    for (int i = 0; i < n; i++)
        q += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

static void print_row(const stream_def *s, const config_def *c, const result *r, int seeds)
{
    double v[64], m, sd;
    for (int i = 0; i < seeds; i++)
        v[i] = r[i].final;
    mean_sd(v, seeds, &m, &sd);
    printf("| %s | %.3f ± %.3f |", c->name, m, sd);
    for (uint32_t k = 0; k <= s->ndrifts; k++) {
        for (int i = 0; i < seeds; i++)
            v[i] = r[i].seg[k];
        mean_sd(v, seeds, &m, &sd);
        printf(" %.3f ± %.3f |", m, sd);
    }
    for (int i = 0; i < seeds; i++)
        v[i] = (double)r[i].drifts;
    mean_sd(v, seeds, &m, &sd);
    printf(" %.1f |\n", m);
}

int main(int argc, char **argv)
{
    int seeds = argc > 1 ? atoi(argv[1]) : 5;
    if (seeds < 1 || seeds > 64)
        seeds = 5;
    const char *only = argc > 2 ? argv[2] : NULL, *only_stream = argc > 3 ? argv[3] : NULL;
    printf("Prequential accuracy, 10 000 events per stream, mean ± sd over %d seeds (1..%d).\n",
           seeds, seeds);
    for (size_t si = 0; si < DD_ARRAY_LEN(streams); si++) {
        const stream_def *s = &streams[si];
        if (only_stream && !strstr(s->name, only_stream))
            continue;
        printf("\n### %s%s%s%s\n\n| configuration | final |", s->name, *s->reference ? " (" : "",
               s->reference, *s->reference ? ")" : "");
        for (uint32_t k = 0; k <= s->ndrifts; k++)
            printf(k ? " after drift %u |" : " concept 0 |", k);
        printf(" drifts detected |\n|---|---|");
        for (uint32_t k = 0; k <= s->ndrifts; k++)
            printf("---|");
        printf("---|\n");
        for (size_t ci = 0; ci < DD_ARRAY_LEN(configs); ci++) {
            if (only && !strstr(configs[ci].name, only))
                continue;
            result r[64];
            for (int i = 0; i < seeds; i++)
                run_one(s, &configs[ci], (uint64_t)i + 1, &r[i]);
            print_row(s, &configs[ci], r, seeds);
            fflush(stdout);
        }
    }
    return 0;
}
