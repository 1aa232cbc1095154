/*
 * pipeline.c: the per-event learning pipeline (see pipeline.h).
 *
 * One pass per event: the feature pipeline updates its statistics and
 * writes the sparse input once; the active model predicts; a labelled event
 * is scored before learning (prequential), its 0/1 error (or absolute error)
 * feeds the error-stream detector, then the model learns. No allocation per
 * event in steady state: the input vector and the alarm array are reused.
 */
#include "pipeline.h"

#include "labels.h"
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPELINE_MAX_ALARMS 8

struct pipeline {
    pipeline_params p;
    featpipe *fp;
    labels *lab;
    model *active;
    metrics *met;
    drift_detector *err_det;
    dd_sparse x;
    bool learning;
    pipeline_stats st;
    pipeline_alarm alarms[PIPELINE_MAX_ALARMS];
};

void pipeline_params_default(pipeline_params *p)
{
    memset(p, 0, sizeof *p);
    featpipe_params_default(&p->feat);
    model_params_default(&p->model);
    p->rolling_window = 1000;
    snprintf(p->error_detector, sizeof p->error_detector, "%s", "adwin");
}

pipeline *pipeline_new(const pipeline_params *pp, char **cause)
{
    if (pp->rolling_window < 1) {
        dd_fail(cause, DD_EINVAL, "rolling_window must be >= 1");
        return NULL;
    }
    pipeline *p = calloc(1, sizeof *p);
    if (!p) {
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    p->p = *pp;
    p->learning = true;
    if (!(p->fp = featpipe_new(&pp->feat, cause)))
        goto fail;
    if (!(p->active = model_new(&pp->model, featpipe_dim(p->fp), cause)))
        goto fail;
    if (!(p->err_det = drift_new(pp->error_detector, cause)))
        goto fail;
    p->lab = labels_new(pp->model.task, pp->model.max_classes);
    p->met = metrics_new(pp->model.task, pp->rolling_window);
    if (!p->lab || !p->met) {
        dd_fail(cause, DD_ENOMEM, "out of memory");
        goto fail;
    }
    return p;
fail:
    pipeline_free(p);
    return NULL;
}

void pipeline_free(pipeline *p)
{
    if (!p)
        return;
    featpipe_free(p->fp);
    labels_free(p->lab);
    model_free(p->active);
    metrics_free(p->met);
    drift_free(p->err_det);
    sparse_free(&p->x);
    free(p);
}

static void raise_alarm(pipeline *p, pipeline_result *res, const char *watch,
                        const drift_detector *d, drift_state level)
{
    if (res->nalarms == PIPELINE_MAX_ALARMS)
        return;
    pipeline_alarm *a = &p->alarms[res->nalarms++];
    a->watch = watch;
    a->feature = NULL;
    a->detector = drift_kind(d);
    a->level = level;
    a->event = p->st.events - 1;
    a->statistic = drift_statistic(d);
    a->width = drift_window_width(d);
    a->mean = drift_window_mean(d);
}

/* Score, detect and learn one labelled event whose input is in p->x. */
static void evaluate_and_learn(pipeline *p, double target, pipeline_result *res)
{
    res->labelled = true;
    res->target = target;
    res->loss = model_loss(p->active, &p->x, target);
    metrics_add(p->met, &res->out, target, res->loss);
    p->st.labelled++;
    double err;
    if (p->p.model.task == TASK_REGRESSION) {
        err = fabs(res->out.score - target);
    } else {
        res->correct = (double)res->out.cls == target;
        err = res->correct ? 0.0 : 1.0;
    }
    drift_state s = drift_update(p->err_det, err);
    if (s != DRIFT_NONE) {
        raise_alarm(p, res, "error", p->err_det, s);
        if (s == DRIFT_DRIFT)
            p->st.drifts++;
        else
            p->st.warnings++;
    }
    if (!p->learning)
        return;
    dd_err e = model_learn(p->active, &p->x, target, 1.0, NULL);
    if (e == DD_OK)
        res->learned = true;
    else
        p->st.refused++;
}

dd_err pipeline_process(pipeline *p, const dd_event *ev, pipeline_result *res)
{
    memset(res, 0, sizeof *res);
    res->alarms = p->alarms;
    if (ev->kind == DD_EV_LABEL) {
        p->st.unmatched++; /* no pending table yet: nothing to join */
        return DD_OK;
    }
    if (ev->kind != DD_EV_DATA)
        return DD_OK;
    if (featpipe_learn_transform(p->fp, ev, &p->x))
        return DD_ENOMEM;
    p->st.events++;
    model_predict(p->active, &p->x, &res->out);
    res->predicted = true;
    if (ev->y.kind == DD_LABEL_NONE)
        return DD_OK;
    double target;
    res->label_err = labels_encode(p->lab, &ev->y, &target, NULL);
    if (res->label_err) {
        p->st.bad_labels++;
        return DD_OK;
    }
    if (p->p.model.task == TASK_MULTICLASS && labels_count(p->lab) > model_num_classes(p->active))
        if (model_grow(p->active, labels_count(p->lab)))
            return DD_ENOMEM;
    evaluate_and_learn(p, target, res);
    return DD_OK;
}

void pipeline_set_learning(pipeline *p, bool on)
{
    p->learning = on;
}

bool pipeline_learning(const pipeline *p)
{
    return p->learning;
}

const pipeline_stats *pipeline_get_stats(const pipeline *p)
{
    return &p->st;
}

double pipeline_score(const pipeline *p)
{
    return metrics_score(p->met);
}

double pipeline_rolling_score(const pipeline *p)
{
    return metrics_rolling_score(p->met);
}

const model *pipeline_model(const pipeline *p)
{
    return p->active;
}

const featpipe *pipeline_features(const pipeline *p)
{
    return p->fp;
}

const drift_detector *pipeline_error_detector(const pipeline *p)
{
    return p->err_det;
}
