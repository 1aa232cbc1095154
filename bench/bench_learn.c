/*
 * bench_learn.c: the speed of the learning step, the hottest path in the
 * product. Events of 20 dense features (a fixed pool, so generation costs
 * nothing in the loop); each event is predicted, then learned. Prints
 * events per second per configuration: the bare logistic SGD model, other
 * optimizers, and the learner with k = 4 prioritized replay and EWC.
 * Rates are per CPU-second of this (single-threaded) process, so a busy
 * machine does not distort them. Figures, not assertions: timings never gate
 * a test.
 */
#include "learner.h"
#include "model.h"
#include "model_params.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DIM 20
#define POOL 4096

static dd_sparse pool[POOL];
static double labels[POOL];

static double now(void)
{
    struct timespec ts;
    /* CPU time of this process: the machine is shared, wall time would
     * measure the neighbours too */
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void make_pool(void)
{
    rng_t r;
    rng_seed(&r, 7);
    double w[DIM];
    for (int j = 0; j < DIM; j++)
        w[j] = rng_normal(&r);
    for (int i = 0; i < POOL; i++) {
        dd_sparse *x = &pool[i];
        if (sparse_reserve(x, DIM)) {
            fputs("bench_learn: out of memory\n", stderr);
            exit(1);
        }
        double s = 0;
        for (uint32_t j = 0; j < DIM; j++) {
            double v = rng_normal(&r);
            sparse_push(x, j, v);
            s += w[j] * v;
        }
        labels[i] = s + 0.3 * rng_normal(&r) > 0;
    }
}

static volatile double sink;

static void bench_model(const char *name, const model_params *mp, uint64_t n)
{
    model *m = model_new(mp, DIM, NULL);
    double t0 = now(), acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        const dd_sparse *x = &pool[i % POOL];
        model_output o;
        model_predict(m, x, &o);
        acc += o.score;
        model_learn(m, x, labels[i % POOL], 1.0, NULL);
    }
    double dt = now() - t0;
    sink = acc;
    printf("%-44s %10.0f events/s  (%llu events, %.2f CPU s)\n", name, n / dt,
           (unsigned long long)n, dt);
    model_free(m);
}

static void bench_learner(const char *name, const model_params *mp, const learner_params *lp,
                          uint64_t n)
{
    learner *l = learner_new(mp, lp, DIM, NULL);
    double t0 = now(), acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        const dd_sparse *x = &pool[i % POOL];
        model_output o;
        learner_predict(l, x, &o);
        acc += o.score;
        learner_learn(l, x, labels[i % POOL], i, NULL);
    }
    double dt = now() - t0;
    sink = acc;
    const learner_stats *st = learner_get_stats(l);
    printf("%-44s %10.0f events/s  (%llu events, %.2f CPU s; %llu replayed, %llu consolidations)\n",
           name, n / dt, (unsigned long long)n, dt, (unsigned long long)st->replayed,
           (unsigned long long)st->consolidations);
    learner_free(l);
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    make_pool();
    printf("learning step: predict + learn, %d dense features, one core\n", DIM);
    model_params mp;
    model_params_default(&mp);
    mp.ewc_lambda = 0; /* the bare model step */
    mp.optim = OPTIM_SGD;
    bench_model("logistic, SGD (model only)", &mp, n);
    mp.optim = OPTIM_ADAGRAD;
    bench_model("logistic, AdaGrad (model only)", &mp, n);
    mp.optim = OPTIM_ADAM;
    bench_model("logistic, Adam (model only)", &mp, n);
    mp.optim = OPTIM_FTRL;
    bench_model("logistic, FTRL-Proximal (model only)", &mp, n);
    model_params_default(&mp);
    mp.ewc_lambda = 0;
    mp.kind = MODEL_MLP;
    mp.optim = OPTIM_ADAM;
    bench_model("MLP 20-16-1, Adam (model only)", &mp, n / 10);

    learner_params lp;
    learner_params_default(&lp);
    model_params_default(&mp);
    mp.ewc_lambda = 0;
    lp.replay_on = false;
    bench_learner("learner, SGD, no replay, no EWC", &mp, &lp, n);
    model_params_default(&mp);
    learner_params_default(&lp);
    bench_learner("learner, defaults (k=2 prioritized, EWC 0.1)", &mp, &lp, n / 2);
    lp.replay_k = 4;
    mp.ewc_lambda = 1.0;
    bench_learner("learner, SGD, k=4 prioritized replay + EWC 1", &mp, &lp, n / 2);
    mp.optim = OPTIM_ADAM;
    mp.lr = 0.01;
    bench_learner("learner, Adam, k=4 prioritized replay + EWC 1", &mp, &lp, n / 2);
    for (int i = 0; i < POOL; i++)
        sparse_free(&pool[i]);
    return 0;
}
