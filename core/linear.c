/*
 * linear.c: linear models over sparse inputs: logistic regression (binary),
 * softmax regression (multiclass, one output column per class discovered)
 * and linear regression (squared or Huber loss, through model_head()).
 *
 * One block of dim + 1 rows (the last is the bias) by one column per output.
 * An event costs O((nnz + 1) * outputs): scores read the caught-up weights of
 * the event's rows; a step computes every touched parameter's new value into
 * scratch, checks them, and commits (model_impl.h).
 */
#include "model_impl.h"

#include <string.h>

static dd_err linear_init(model *m, char **cause)
{
    if (pblock_alloc(&m->b[0], &m->p, m->dim + 1, model_out_width(m), true))
        return dd_fail(cause, DD_ENOMEM, "no memory for a linear model of dimension %u", m->dim);
    m->nblocks = 1;
    m->ncols = 1;
    return DD_OK;
}

static void linear_scores(const model *m, const dd_sparse *x, double *z)
{
    const pblock *b = &m->b[0];
    uint32_t k = b->width, bias = m->dim;
    step_ctx c;
    model_step_ctx(m, m->t, &c);
    for (uint32_t j = 0; j < k; j++)
        z[j] = pblock_value(&c, b, m->t, bias, j);
    for (uint32_t i = 0; i < x->n; i++) {
        uint32_t r = x->idx[i];
        if (r >= m->dim)
            continue; /* out of contract: ignored rather than read out of bounds */
        double v = x->val[i];
        if (b->last[r] == m->t) { /* the common case: the row is up to date */
            const double *w = b->w + (size_t)r * b->stride;
            for (uint32_t j = 0; j < k; j++)
                z[j] += w[j] * v;
        } else {
            for (uint32_t j = 0; j < k; j++)
                z[j] += pblock_value(&c, b, m->t, r, j) * v;
        }
    }
}

/* Scratch layout per touched parameter: caught-up value, then its pnew. */
#define SLOT 5

/* The common case (SGD, no penalties, no EWC pull yet): w -= lr g, checked,
 * committed; the Fisher sums (if any) gather g^2. Scratch holds the caught-up
 * values in slot 0 of each SLOT, the new Fisher sums in slot 1. */
static dd_err plain_sgd(model *m, const dd_sparse *x, const double *dz, double weight, double lr,
                        double l, double *loss)
{
    pblock *b = &m->b[0];
    uint32_t k = b->width, nrows = x->n + 1;
    double *s = m->scr;
    bool ok = true;
    for (uint32_t i = 0; i < nrows; i++) {
        double v = i < x->n ? x->val[i] : 1.0;
        for (uint32_t j = 0; j < k; j++) {
            double *slot = s + ((size_t)i * k + j) * SLOT, ug = dz[j] * v;
            slot[0] -= lr * ug * weight;
            ok &= isfinite(slot[0]);
            if (b->g2) {
                uint32_t r = i < x->n ? x->idx[i] : m->dim;
                slot[1] = b->g2[(size_t)r * b->stride + j] + ug * ug;
                ok &= isfinite(slot[1]);
            }
        }
    }
    if (!ok)
        return DD_ENONFINITE;
    for (uint32_t i = 0; i < nrows; i++) {
        uint32_t r = i < x->n ? x->idx[i] : m->dim;
        double *w = b->w + (size_t)r * b->stride;
        for (uint32_t j = 0; j < k; j++) {
            w[j] = s[((size_t)i * k + j) * SLOT];
            if (b->g2)
                b->g2[(size_t)r * b->stride + j] = s[((size_t)i * k + j) * SLOT + 1];
        }
        b->last[r] = m->t + 1;
    }
    m->t++;
    m->ewc_n++;
    if (loss)
        *loss = l;
    return DD_OK;
}

static dd_err linear_learn(model *m, const dd_sparse *x, double target, double weight, double *loss)
{
    pblock *b = &m->b[0];
    uint32_t k = b->width, nrows = x->n + 1;
    if (model_scratch(m, (size_t)nrows * k * SLOT))
        return DD_ENOMEM;
    double *s = m->scr;
    step_ctx now, next;
    model_step_ctx(m, m->t, &now);
    model_step_ctx(m, m->t + 1, &next);

    /* 1. caught-up values of the touched rows, and the scores */
    double z[MODEL_MAX_CLASSES], dz[MODEL_MAX_CLASSES];
    for (uint32_t j = 0; j < k; j++)
        z[j] = 0;
    for (uint32_t i = 0; i < nrows; i++) {
        uint32_t r = i < x->n ? x->idx[i] : m->dim;
        double v = i < x->n ? x->val[i] : 1.0;
        bool fresh = b->last[r] == m->t;
        for (uint32_t j = 0; j < k; j++) {
            double w = fresh ? b->w[(size_t)r * b->stride + j] : pblock_value(&now, b, m->t, r, j);
            s[((size_t)i * k + j) * SLOT] = w;
            z[j] += w * v;
        }
    }
    double l = model_head(m, z, target, dz);
    if (!isfinite(l))
        return DD_ENONFINITE;
    if (next.optim == OPTIM_SGD && !next.decay)
        return plain_sgd(m, x, dz, weight, next.lr, l, loss);

    /* 2. new values into scratch, all checked before anything is written */
    bool ok = isfinite(l);
    for (uint32_t i = 0; i < nrows && ok; i++) {
        uint32_t r = i < x->n ? x->idx[i] : m->dim;
        double v = i < x->n ? x->val[i] : 1.0;
        uint64_t skip = m->t - b->last[r];
        for (uint32_t j = 0; j < k; j++) {
            double *slot = s + ((size_t)i * k + j) * SLOT;
            double ug = dz[j] * v;
            pnew *o = (pnew *)(slot + 1);
            opt_step(&next, b, (size_t)r * b->stride + j, r != m->dim, slot[0], ug * weight, ug,
                     skip, o);
            ok &= pnew_finite(o);
        }
    }
    if (!ok)
        return DD_ENONFINITE;

    /* 3. commit */
    for (uint32_t i = 0; i < nrows; i++) {
        uint32_t r = i < x->n ? x->idx[i] : m->dim;
        for (uint32_t j = 0; j < k; j++)
            pnew_commit(b, (size_t)r * b->stride + j,
                        (const pnew *)(s + ((size_t)i * k + j) * SLOT + 1));
        b->last[r] = m->t + 1;
    }
    m->t++;
    m->ewc_n++;
    if (loss)
        *loss = l;
    return DD_OK;
}

static uint32_t linear_embed_dim(const model *m)
{
    return model_out_width(m);
}

static void linear_embed(const model *m, const dd_sparse *x, double *out)
{
    linear_scores(m, x, out);
}

const model_ops model_linear_ops = {
    .name = "linear",
    .init = linear_init,
    .scores = linear_scores,
    .learn = linear_learn,
    .embed_dim = linear_embed_dim,
    .embed = linear_embed,
    .add_column = NULL,
};
