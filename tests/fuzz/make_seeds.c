/*
 * make_seeds.c: writes the seed corpus of fuzz_snapshot (valid snapshots of a
 * model of each kind and optimizer, a feature pipeline, a label encoder and
 * metrics, after a few learning steps), so the fuzzer starts from blobs that
 * pass the version and integrity checks. Run it again when a format changes:
 *   cc -std=c11 -D_DEFAULT_SOURCE -Icore tests/fuzz/make_seeds.c BUILD/libddcore.a \
 *      $(pkg-config --libs libcjson sqlite3 libcrypto) -lm -o /tmp/make_seeds
 *   /tmp/make_seeds tests/fuzz/corpus
 */
#include "drift.h"
#include "event.h"
#include "featpipe.h"
#include "labels.h"
#include "metrics.h"
#include "model.h"
#include "model_params.h"
#include "pending.h"
#include "serial.h"
#include "watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;

/* Write DIR/sub/name: the selector byte (if sel >= 0), then the blob. */
static void put(const char *sub, const char *name, int sel, const unsigned char *buf, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    unsigned char b = (unsigned char)sel;
    FILE *f = fopen(path, "wb");
    if (!f || (sel >= 0 && fwrite(&b, 1, 1, f) != 1) || fwrite(buf, 1, len, f) != len ||
        fclose(f)) {
        perror(path);
        exit(1);
    }
}

static void model_seed(const char *name, model_params *p, uint32_t dim)
{
    char *cause = NULL;
    model *m = model_new(p, dim, &cause);
    if (!m) {
        fprintf(stderr, "%s: %s\n", name, cause);
        exit(1);
    }
    uint32_t idx[3] = {0, 1, dim - 1};
    double val[3] = {0.5, -1.0, 1.0};
    dd_sparse x = {3, 3, idx, val};
    for (int i = 0; i < 20; i++)
        model_learn(m, &x, p->task == TASK_REGRESSION ? 0.3 * i : i % 2, 1.0, NULL);
    unsigned char *buf;
    size_t len;
    if (model_serialize(m, &buf, &len)) {
        fprintf(stderr, "%s: serialize failed\n", name);
        exit(1);
    }
    put("model", name, 1, buf, len); /* 1: fuzz_model repairs the checksum */
    free(buf);
    model_free(m);
}

static void state_seeds(void)
{
    featpipe_params fp;
    featpipe_params_default(&fp);
    fp.hash_bits = 4;
    fp.max_numeric = 4;
    featpipe *f = featpipe_new(&fp, NULL);
    dd_event *ev = NULL;
    const char *line = "{\"x\":{\"a\":1.5,\"b\":\"red\",\"c\":null},\"y\":\"cat\"}";
    if (!f || event_parse_json(line, strlen(line), NULL, NULL, &ev, NULL)) {
        fputs("featpipe or event failed\n", stderr);
        exit(1);
    }
    dd_sparse out = {0};
    featpipe_learn_transform(f, ev, &out);
    ser_writer w = {0};
    featpipe_serialize(f, &w);
    put("state", "featpipe", 0, w.buf, w.len);
    free(w.buf);

    labels *l = labels_new(TASK_MULTICLASS, 16);
    double target;
    labels_encode(l, &ev->y, &target, NULL);
    memset(&w, 0, sizeof w);
    labels_serialize(l, &w);
    put("state", "labels", 1, w.buf, w.len);
    free(w.buf);

    metrics *m = metrics_new(TASK_BINARY, 8);
    model_output o = {1, 0.8};
    for (int i = 0; i < 12; i++)
        metrics_add(m, &o, i % 2, 0.3);
    memset(&w, 0, sizeof w);
    metrics_serialize(m, &w);
    put("state", "metrics", 2, w.buf, w.len);
    free(w.buf);

    static const char *const kinds[] = {"adwin", "pagehinkley", "ddm", "eddm", "kswin"};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        drift_detector *d = drift_new(kinds[k], NULL);
        if (!d) {
            fprintf(stderr, "drift_new(%s) failed\n", kinds[k]);
            exit(1);
        }
        for (int i = 0; i < 300; i++)
            drift_update(d, i < 200 ? (i % 5 == 0) : (i % 2 == 0));
        memset(&w, 0, sizeof w);
        drift_serialize(d, &w);
        char name[32];
        snprintf(name, sizeof name, "drift-%s", kinds[k]);
        put("state", name, 3, w.buf, w.len);
        free(w.buf);
        drift_free(d);
    }
    watch_params wp;
    watch_params_default(&wp);
    watch *wt = watch_new(&wp, NULL);
    if (!wt) {
        fputs("watch_new failed\n", stderr);
        exit(1);
    }
    for (uint64_t i = 0; i < 200; i++) {
        watch_begin(wt, i);
        watch_error(wt, (double)(i % 3 == 0));
        watch_prediction(wt, 0.1 * (double)(i % 10));
        watch_feature(wt, 0, "temp", 20.0 + (double)(i % 7));
    }
    memset(&w, 0, sizeof w);
    watch_serialize(wt, &w);
    put("state", "watch", 4, w.buf, w.len);
    free(w.buf);
    watch_free(wt);

    pending_params pp;
    pending_params_default(&pp);
    pp.capacity = 8;
    pending *pt = pending_new(&pp, NULL);
    uint32_t pidx[2] = {3, 100};
    double pval[2] = {0.5, -1.0};
    dd_sparse px = {2, 2, pidx, pval};
    pending_pred pred[2] = {{1, {1, 0.75}}, {2, {0, 0.4}}};
    if (!pt || pending_add(pt, "a", "g1", 10.0, 1, &px, pred, 2) ||
        pending_add(pt, "b", NULL, 11.0, 2, &px, pred, 1)) {
        fputs("pending seed failed\n", stderr);
        exit(1);
    }
    memset(&w, 0, sizeof w);
    pending_serialize(pt, &w);
    put("state", "pending", 5, w.buf, w.len);
    free(w.buf);
    pending_free(pt);

    metrics_free(m);
    labels_free(l);
    sparse_free(&out);
    event_free(ev);
    featpipe_free(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: make_seeds CORPUS_DIR (writes CORPUS_DIR/state and CORPUS_DIR/model)\n",
              stderr);
        return 2;
    }
    dir = argv[1];
    state_seeds();
    model_params p;
    model_params_default(&p);
    model_seed("model-logistic-sgd", &p, 8);
    p.optim = OPTIM_ADAM;
    model_seed("model-logistic-adam", &p, 8);
    p.optim = OPTIM_FTRL;
    model_seed("model-logistic-ftrl", &p, 8);
    model_params_default(&p);
    p.optim = OPTIM_ADAGRAD;
    p.task = TASK_REGRESSION;
    model_seed("model-regression-adagrad", &p, 6);
    model_params_default(&p);
    p.task = TASK_MULTICLASS;
    p.kind = MODEL_MLP;
    p.n_hidden = 1;
    p.hidden[0] = 3;
    p.ewc_lambda = 0.5;
    model_seed("model-mlp-multiclass-ewc", &p, 5);
    model_params_default(&p);
    p.kind = MODEL_MLP;
    p.n_hidden = 2;
    p.hidden[0] = 3;
    p.hidden[1] = 2;
    p.max_columns = 2;
    model_seed("model-mlp-progressive", &p, 4);
    return 0;
}
