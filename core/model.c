/*
 * model.c: the model interface. Checks arguments, dispatches through a small
 * const table of operations per kind (linear.c, mlp.c), and holds what every
 * kind shares: parameter blocks, the task heads (sigmoid, softmax, squared
 * and Huber losses), the learning-rate schedule and EWC consolidation.
 * See model_impl.h for the lazy-update and transaction design.
 */
#include "model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const optim_names[] = {"sgd", "adagrad", "adam", "ftrl"};
static const char *const kind_names[] = {"linear", "mlp"};
static const char *const task_names[] = {"binary", "multiclass", "regression"};

void model_params_default(model_params *p)
{
    memset(p, 0, sizeof *p);
    p->task = TASK_BINARY;
    p->kind = MODEL_LINEAR;
    p->optim = OPTIM_SGD;
    p->lr = 0.05;
    p->schedule = SCHEDULE_INVTIME;
    p->lr_power = 0.25;
    p->lr_decay = 1e-3;
    p->lr_min = 0.01;
    p->l1 = 0.0;
    p->l2 = 0.0;
    p->adam_beta1 = 0.9;
    p->adam_beta2 = 0.999;
    p->eps = 1e-8;
    p->ftrl_beta = 1.0;
    p->loss = LOSS_SQUARED;
    p->huber_delta = 1.0;
    p->grad_clip = 0.0;
    p->n_hidden = 1;
    p->hidden[0] = 16;
    p->hidden[1] = 16;
    p->activation = ACT_RELU;
    p->max_classes = 64;
    p->max_columns = 1;
    p->column_decay = 0.99;
    p->ewc_lambda = 0.1;
    p->ewc_gamma = 0.9;
    p->seed = 42;
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return dd_fail(cause, DD_EINVAL, __VA_ARGS__);                                         \
    } while (0)

static dd_err check_optim(const model_params *p, char **cause)
{
    CHECK((unsigned)p->optim <= OPTIM_FTRL, "model optimizer out of range");
    CHECK(isfinite(p->lr) && p->lr > 0 && p->lr <= 100, "lr must be in (0, 100], got %g", p->lr);
    CHECK((unsigned)p->schedule <= SCHEDULE_INVTIME, "model schedule out of range");
    CHECK(isfinite(p->lr_power) && p->lr_power >= 0 && p->lr_power <= 1,
          "lr_power must be in [0, 1], got %g", p->lr_power);
    CHECK(isfinite(p->lr_decay) && p->lr_decay >= 0 && p->lr_decay <= 1,
          "lr_decay must be in [0, 1], got %g", p->lr_decay);
    CHECK(isfinite(p->lr_min) && p->lr_min >= 0 && p->lr_min <= 100,
          "lr_min must be in [0, 100], got %g", p->lr_min);
    CHECK(isfinite(p->l1) && p->l1 >= 0 && p->l1 <= 100, "l1 must be in [0, 100], got %g", p->l1);
    CHECK(isfinite(p->l2) && p->l2 >= 0 && p->l2 <= 100, "l2 must be in [0, 100], got %g", p->l2);
    CHECK(p->adam_beta1 >= 0 && p->adam_beta1 < 1, "adam_beta1 must be in [0, 1), got %g",
          p->adam_beta1);
    CHECK(p->adam_beta2 >= 0 && p->adam_beta2 < 1, "adam_beta2 must be in [0, 1), got %g",
          p->adam_beta2);
    CHECK(p->eps > 0 && p->eps <= 1, "eps must be in (0, 1], got %g", p->eps);
    CHECK(p->ftrl_beta >= 0 && p->ftrl_beta <= 100, "ftrl_beta must be in [0, 100], got %g",
          p->ftrl_beta);
    CHECK(!(p->optim == OPTIM_FTRL && p->kind != MODEL_LINEAR),
          "optimizer ftrl is for linear models only");
    return DD_OK;
}

dd_err model_params_check(const model_params *p, char **cause)
{
    CHECK((unsigned)p->task <= TASK_REGRESSION, "model task out of range");
    CHECK((unsigned)p->kind <= MODEL_MLP, "model kind out of range");
    dd_err e = check_optim(p, cause);
    if (e)
        return e;
    CHECK((unsigned)p->loss <= LOSS_HUBER, "regression loss out of range");
    CHECK(isfinite(p->huber_delta) && p->huber_delta > 0 && p->huber_delta <= 1e6,
          "huber_delta must be in (0, 1e6], got %g", p->huber_delta);
    CHECK(isfinite(p->grad_clip) && p->grad_clip >= 0, "grad_clip must be >= 0, got %g",
          p->grad_clip);
    CHECK(p->n_hidden >= 1 && p->n_hidden <= MODEL_MAX_HIDDEN_LAYERS,
          "hidden_layers must be in [1, %d], got %u", MODEL_MAX_HIDDEN_LAYERS, p->n_hidden);
    for (uint32_t l = 0; l < p->n_hidden; l++)
        CHECK(p->hidden[l] >= 1 && p->hidden[l] <= MODEL_MAX_HIDDEN,
              "hidden size %u must be in [1, %d], got %u", l + 1, MODEL_MAX_HIDDEN, p->hidden[l]);
    CHECK((unsigned)p->activation <= ACT_TANH, "activation out of range");
    CHECK(p->max_classes >= 2 && p->max_classes <= MODEL_MAX_CLASSES,
          "max_classes must be in [2, %d], got %u", MODEL_MAX_CLASSES, p->max_classes);
    CHECK(p->max_columns >= 1 && p->max_columns <= MODEL_MAX_COLUMNS,
          "max_columns must be in [1, %d], got %u", MODEL_MAX_COLUMNS, p->max_columns);
    CHECK(p->column_decay > 0 && p->column_decay < 1, "column_decay must be in (0, 1), got %g",
          p->column_decay);
    CHECK(isfinite(p->ewc_lambda) && p->ewc_lambda >= 0 && p->ewc_lambda <= 1e6,
          "ewc_lambda must be in [0, 1e6], got %g", p->ewc_lambda);
    CHECK(p->ewc_gamma >= 0 && p->ewc_gamma <= 1, "ewc_gamma must be in [0, 1], got %g",
          p->ewc_gamma);
    return DD_OK;
}

const char *model_optim_name(model_optim o)
{
    return (unsigned)o < DD_ARRAY_LEN(optim_names) ? optim_names[o] : NULL;
}

const char *model_kind_name(model_kind k)
{
    return (unsigned)k < DD_ARRAY_LEN(kind_names) ? kind_names[k] : NULL;
}

const char *model_task_name(model_task t)
{
    return (unsigned)t < DD_ARRAY_LEN(task_names) ? task_names[t] : NULL;
}

static dd_err parse_name(const char *s, const char *const *names, size_t n, int *out,
                         const char *what, char **cause)
{
    for (size_t i = 0; s && i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = (int)i;
            return DD_OK;
        }
    char list[128] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
    return dd_fail(cause, DD_EINVAL, "unknown %s '%s' (allowed: %s)", what, s ? s : "", list);
}

dd_err model_optim_parse(const char *s, model_optim *out, char **cause)
{
    int v;
    dd_err e = parse_name(s, optim_names, DD_ARRAY_LEN(optim_names), &v, "optimizer", cause);
    if (!e)
        *out = (model_optim)v;
    return e;
}

dd_err model_kind_parse(const char *s, model_kind *out, char **cause)
{
    int v;
    dd_err e = parse_name(s, kind_names, DD_ARRAY_LEN(kind_names), &v, "model kind", cause);
    if (!e)
        *out = (model_kind)v;
    return e;
}

dd_err model_task_parse(const char *s, model_task *out, char **cause)
{
    int v;
    dd_err e = parse_name(s, task_names, DD_ARRAY_LEN(task_names), &v, "task", cause);
    if (!e)
        *out = (model_task)v;
    return e;
}

/* ---- blocks ---- */

dd_err pblock_alloc(pblock *b, const model_params *p, uint32_t rows, uint32_t width, bool is_output)
{
    memset(b, 0, sizeof *b);
    b->rows = rows;
    b->width = width;
    b->stride = width;
    b->is_output = is_output;
    size_t n = (size_t)rows * width;
    bool fail = false;
    b->w = calloc(n, sizeof *b->w);
    b->last = calloc(rows, sizeof *b->last);
    fail = !b->w || !b->last;
    if (p->optim != OPTIM_SGD)
        fail |= !(b->s1 = calloc(n, sizeof *b->s1));
    if (p->optim == OPTIM_ADAM || p->optim == OPTIM_FTRL)
        fail |= !(b->s2 = calloc(n, sizeof *b->s2));
    if (p->ewc_lambda > 0) {
        fail |= !(b->fisher = calloc(n, sizeof *b->fisher));
        fail |= !(b->anchor = calloc(n, sizeof *b->anchor));
        fail |= !(b->g2 = calloc(n, sizeof *b->g2));
    }
    if (fail) {
        pblock_free(b);
        return DD_ENOMEM;
    }
    return DD_OK;
}

void pblock_free(pblock *b)
{
    free(b->w);
    free(b->s1);
    free(b->s2);
    free(b->fisher);
    free(b->anchor);
    free(b->g2);
    free(b->last);
    memset(b, 0, sizeof *b);
}

static dd_err dup_array(double **dst, const double *src, size_t n)
{
    *dst = NULL;
    if (!src)
        return DD_OK;
    *dst = malloc(n * sizeof **dst);
    if (!*dst)
        return DD_ENOMEM;
    memcpy(*dst, src, n * sizeof **dst);
    return DD_OK;
}

dd_err pblock_copy(pblock *dst, const pblock *src)
{
    *dst = *src;
    size_t n = (size_t)src->rows * src->stride;
    bool fail = false;
    fail |= dup_array(&dst->w, src->w, n) != DD_OK;
    fail |= dup_array(&dst->s1, src->s1, n) != DD_OK;
    fail |= dup_array(&dst->s2, src->s2, n) != DD_OK;
    fail |= dup_array(&dst->fisher, src->fisher, n) != DD_OK;
    fail |= dup_array(&dst->anchor, src->anchor, n) != DD_OK;
    fail |= dup_array(&dst->g2, src->g2, n) != DD_OK;
    dst->last = malloc((size_t)src->rows * sizeof *dst->last);
    if (dst->last)
        memcpy(dst->last, src->last, (size_t)src->rows * sizeof *dst->last);
    if (fail || !dst->last) {
        pblock_free(dst);
        return DD_ENOMEM;
    }
    return DD_OK;
}

/* Re-lay one array from stride `from` to stride `to` (to > from), zero-filling. */
static double *relayout(const double *a, uint32_t rows, uint32_t from, uint32_t to)
{
    if (!a)
        return NULL;
    double *n = calloc((size_t)rows * to, sizeof *n);
    if (!n)
        return NULL;
    for (uint32_t r = 0; r < rows; r++)
        memcpy(n + (size_t)r * to, a + (size_t)r * from, from * sizeof *n);
    return n;
}

dd_err pblock_widen(pblock *b, uint32_t width)
{
    if (width <= b->stride) {
        b->width = width > b->width ? width : b->width;
        return DD_OK;
    }
    uint32_t to = b->stride * 2 > width ? b->stride * 2 : width;
    double **arrays[] = {&b->w, &b->s1, &b->s2, &b->fisher, &b->anchor, &b->g2};
    double *fresh[DD_ARRAY_LEN(arrays)];
    for (size_t i = 0; i < DD_ARRAY_LEN(arrays); i++) {
        fresh[i] = relayout(*arrays[i], b->rows, b->stride, to);
        if (*arrays[i] && !fresh[i]) {
            for (size_t j = 0; j < i; j++)
                free(fresh[j]);
            return DD_ENOMEM;
        }
    }
    for (size_t i = 0; i < DD_ARRAY_LEN(arrays); i++) {
        free(*arrays[i]);
        *arrays[i] = fresh[i];
    }
    b->stride = to;
    b->width = width;
    return DD_OK;
}

void pblock_catch_up(const model *m, pblock *b, uint64_t now)
{
    if (b->frozen)
        return;
    step_ctx c;
    model_step_ctx(m, now, &c);
    for (uint32_t r = 0; r < b->rows; r++) {
        uint64_t k = now - b->last[r];
        if (!k)
            continue;
        bool reg = r + 1 < b->rows;
        for (uint32_t j = 0; j < b->width; j++) {
            size_t i = (size_t)r * b->stride + j;
            b->w[i] = pull_k(&c, b, i, b->w[i], k, reg);
            if (c.optim == OPTIM_ADAM) {
                b->s1[i] *= pow(c.b1, (double)k);
                b->s2[i] *= pow(c.b2, (double)k);
            }
        }
        b->last[r] = now;
    }
}

dd_err model_scratch(model *m, size_t n)
{
    if (n <= m->scr_cap)
        return DD_OK;
    size_t cap = m->scr_cap ? m->scr_cap : 256;
    while (cap < n)
        cap *= 2;
    double *s = realloc(m->scr, cap * sizeof *s);
    if (!s)
        return DD_ENOMEM;
    m->scr = s;
    m->scr_cap = cap;
    return DD_OK;
}

/* ---- steps, heads ---- */

void model_step_ctx(const model *m, uint64_t step, step_ctx *c)
{
    const model_params *p = &m->p;
    c->optim = p->optim;
    c->lr = p->lr;
    double t = step > m->sched_t0 ? (double)(step - m->sched_t0) : 1.0;
    if (p->optim == OPTIM_SGD && p->schedule == SCHEDULE_INVSCALING)
        c->lr = p->lr / pow(t, p->lr_power);
    else if (p->optim == OPTIM_SGD && p->schedule == SCHEDULE_INVTIME)
        c->lr = p->lr / (1.0 + p->lr_decay * t);
    double floor_lr = p->lr_min < p->lr ? p->lr_min : p->lr;
    if (c->lr < floor_lr)
        c->lr = floor_lr;
    c->l1 = p->l1;
    c->l2 = p->l2;
    c->lam = m->consolidations ? p->ewc_lambda : 0.0;
    c->b1 = p->adam_beta1;
    c->b2 = p->adam_beta2;
    c->eps = p->eps;
    c->bc1 = c->bc2 = 1.0;
    if (p->optim == OPTIM_ADAM) { /* bias corrections: only Adam pays for the pow() */
        double st = step ? (double)step : 1.0;
        c->bc1 = 1.0 - pow(p->adam_beta1, st);
        c->bc2 = 1.0 - pow(p->adam_beta2, st);
    }
    c->ftrl_beta = p->ftrl_beta;
    c->decay = c->l1 > 0 || c->l2 > 0 || c->lam > 0;
}

static double clip(double g, double lim)
{
    if (lim <= 0)
        return g;
    return g > lim ? lim : (g < -lim ? -lim : g);
}

/* log(1 + e^z) without overflow. */
static double softplus(double z)
{
    return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static double head_softmax(const model *m, const double *z, uint32_t y, double *dz)
{
    uint32_t k = m->nclass;
    double mx = z[0];
    for (uint32_t c = 1; c < k; c++)
        mx = z[c] > mx ? z[c] : mx;
    double sum = 0;
    for (uint32_t c = 0; c < k; c++)
        sum += exp(z[c] - mx);
    /* cppcheck-suppress invalidFunctionArg ; k >= 1: the max term alone adds exp(0) = 1 */
    double lse = mx + log(sum);
    if (dz)
        for (uint32_t c = 0; c < k; c++)
            dz[c] = clip(exp(z[c] - lse) - (c == y ? 1.0 : 0.0), m->p.grad_clip);
    return lse - z[y];
}

double model_head(const model *m, const double *z, double target, double *dz)
{
    switch (m->p.task) {
    case TASK_BINARY: {
        double y = target > 0.5 ? 1.0 : 0.0;
        if (dz)
            dz[0] = clip(1.0 / (1.0 + exp(-z[0])) - y, m->p.grad_clip);
        return softplus(z[0]) - y * z[0];
    }
    case TASK_MULTICLASS:
        return head_softmax(m, z, (uint32_t)target, dz);
    case TASK_REGRESSION:
    default: {
        double r = z[0] - target, d = m->p.huber_delta;
        if (m->p.loss == LOSS_HUBER && fabs(r) > d) {
            if (dz)
                dz[0] = clip(r > 0 ? d : -d, m->p.grad_clip);
            return d * (fabs(r) - 0.5 * d);
        }
        if (dz)
            dz[0] = clip(r, m->p.grad_clip);
        return 0.5 * r * r;
    }
    }
}

void model_head_output(const model *m, const double *z, model_output *out)
{
    switch (m->p.task) {
    case TASK_BINARY: {
        double p = 1.0 / (1.0 + exp(-z[0]));
        out->cls = p >= 0.5 ? 1 : 0;
        out->score = p;
        return;
    }
    case TASK_MULTICLASS: {
        uint32_t best = 0;
        for (uint32_t c = 1; c < m->nclass; c++)
            best = z[c] > z[best] ? c : best;
        double sum = 0;
        for (uint32_t c = 0; c < m->nclass; c++)
            sum += exp(z[c] - z[best]);
        out->cls = (int32_t)best;
        out->score = 1.0 / sum;
        return;
    }
    case TASK_REGRESSION:
    default:
        out->cls = -1;
        out->score = z[0];
        return;
    }
}

/* ---- the interface ---- */

model *model_alloc(const model_params *p, uint32_t dim, char **cause)
{
    if (model_params_check(p, cause))
        return NULL;
    if (dim == 0 || dim >= UINT32_MAX - 1) {
        dd_fail(cause, DD_EINVAL, "model input dimension must be in [1, 2^32 - 2], got %u", dim);
        return NULL;
    }
    model *m = calloc(1, sizeof *m);
    if (!m) {
        dd_fail(cause, DD_ENOMEM, "no memory for a model");
        return NULL;
    }
    m->p = *p;
    m->dim = dim;
    m->nclass = p->task == TASK_REGRESSION ? 1 : 2;
    m->ops = p->kind == MODEL_MLP ? &model_mlp_ops : &model_linear_ops;
    return m;
}

model *model_new(const model_params *p, uint32_t dim, char **cause)
{
    model *m = model_alloc(p, dim, cause);
    if (!m)
        return NULL;
    if (m->ops->init(m, cause)) {
        model_free(m);
        return NULL;
    }
    return m;
}

void model_free(model *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->nblocks; i++)
        pblock_free(&m->b[i]);
    free(m->scr);
    free(m);
}

model *model_clone(const model *m)
{
    model *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *m;
    c->scr = NULL;
    c->scr_cap = 0;
    for (uint32_t i = 0; i < m->nblocks; i++) {
        if (pblock_copy(&c->b[i], &m->b[i])) {
            c->nblocks = i;
            model_free(c);
            return NULL;
        }
    }
    return c;
}

void model_predict(const model *m, const dd_sparse *x, model_output *out)
{
    double z[MODEL_MAX_CLASSES];
    m->ops->scores(m, x, z);
    model_head_output(m, z, out);
}

uint32_t model_predict_proba(const model *m, const dd_sparse *x, double *probs, uint32_t n)
{
    double z[MODEL_MAX_CLASSES];
    m->ops->scores(m, x, z);
    uint32_t k = m->p.task == TASK_REGRESSION ? 1 : m->nclass;
    if (m->p.task == TASK_BINARY) {
        double p = 1.0 / (1.0 + exp(-z[0]));
        z[0] = 1.0 - p;
        z[1] = p;
    } else if (m->p.task == TASK_MULTICLASS) {
        double lse = model_head(m, z, 0, NULL) + z[0];
        for (uint32_t c = 0; c < k; c++)
            z[c] = exp(z[c] - lse);
    }
    for (uint32_t c = 0; c < k && c < n; c++)
        probs[c] = z[c];
    return k;
}

static dd_err check_target(const model *m, double target, double weight)
{
    if (!isfinite(weight) || weight <= 0)
        return DD_EINVAL;
    if (!isfinite(target))
        return DD_ENONFINITE;
    if (m->p.task == TASK_BINARY && target != 0.0 && target != 1.0)
        return DD_EINVAL;
    if (m->p.task == TASK_MULTICLASS &&
        (target < 0 || target >= m->p.max_classes || target != floor(target)))
        return DD_EINVAL;
    return DD_OK;
}

static bool input_ok(const model *m, const dd_sparse *x)
{
    for (uint32_t i = 0; i < x->n; i++)
        if (x->idx[i] >= m->dim)
            return false;
    return true;
}

dd_err model_learn(model *m, const dd_sparse *x, double target, double weight, double *loss)
{
    dd_err e = check_target(m, target, weight);
    if (e)
        return e;
    if (!input_ok(m, x))
        return DD_EINVAL;
    uint32_t old = m->nclass;
    if (m->p.task == TASK_MULTICLASS && (uint32_t)target >= m->nclass) {
        e = model_grow(m, (uint32_t)target + 1);
        if (e)
            return e;
    }
    e = m->ops->learn(m, x, target, weight, loss);
    if (e == DD_ENONFINITE) {
        m->refused++;
        m->nclass = old; /* new classes' parameters are still zero: invisible */
        for (uint32_t i = 0; i < m->nblocks; i++)
            if (m->b[i].is_output && m->p.task == TASK_MULTICLASS)
                m->b[i].width = old;
    }
    return e;
}

double model_loss(const model *m, const dd_sparse *x, double target)
{
    double z[MODEL_MAX_CLASSES];
    m->ops->scores(m, x, z);
    if (m->p.task == TASK_MULTICLASS && (target < 0 || target >= m->nclass))
        return log((double)m->nclass + 1.0); /* an unseen class: no better than uniform */
    return model_head(m, z, target, NULL);
}

dd_err model_grow(model *m, uint32_t n)
{
    if (m->p.task != TASK_MULTICLASS || n <= m->nclass)
        return DD_OK;
    if (n > m->p.max_classes)
        return DD_EINVAL;
    for (uint32_t i = 0; i < m->nblocks; i++)
        if (m->b[i].is_output && pblock_widen(&m->b[i], n))
            return DD_ENOMEM; /* widened blocks keep zero columns: invisible */
    m->nclass = n;
    return DD_OK;
}

model_task model_get_task(const model *m)
{
    return m->p.task;
}

uint64_t model_param_count(const model *m)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < m->nblocks; i++)
        n += (uint64_t)m->b[i].rows * m->b[i].width;
    return n;
}

uint64_t model_refused_steps(const model *m)
{
    return m->refused;
}

uint32_t model_num_classes(const model *m)
{
    return m->nclass;
}

const model_params *model_get_params(const model *m)
{
    return &m->p;
}

uint32_t model_dim(const model *m)
{
    return m->dim;
}

uint64_t model_steps(const model *m)
{
    return m->t;
}

void model_reset_schedule(model *m)
{
    m->sched_t0 = m->t;
}

uint64_t model_consolidations(const model *m)
{
    return m->consolidations;
}

uint32_t model_embedding_dim(const model *m)
{
    return m->ops->embed_dim(m);
}

uint32_t model_embed(const model *m, const dd_sparse *x, double *out, uint32_t n)
{
    uint32_t d = m->ops->embed_dim(m);
    /* Room for either kind of embedding (hidden units or class scores). */
    double tmp[MODEL_MAX_HIDDEN + MODEL_MAX_CLASSES];
    m->ops->embed(m, x, tmp);
    for (uint32_t i = 0; i < d && i < n; i++)
        out[i] = tmp[i];
    return d;
}

dd_err model_add_column(model *m)
{
    return m->ops->add_column ? m->ops->add_column(m) : DD_ESTATE;
}

uint32_t model_num_columns(const model *m)
{
    return m->ncols;
}

uint32_t model_active_column(const model *m)
{
    return m->active;
}
