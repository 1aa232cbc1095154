/*
 * model_impl.h: the inside of a model, shared by model.c, linear.c, mlp.c and
 * model_io.c. Not for other modules: they use model.h.
 *
 * Parameters live in blocks (pblock): a matrix of `rows` input rows by
 * `width` outputs, row-major, so the weights one input coordinate feeds are
 * contiguous and an update touches only the rows of the event's non-zero
 * coordinates. The last row of a block is its bias row.
 *
 * Lazy regularisation. Every parameter is, at every step, pulled by L2 toward
 * 0, by the EWC penalty toward its anchor, and shrunk by L1. For a row that
 * the input does not touch these pulls have a closed form over k steps
 * (w_k = w* + (w - w*) c^k with c = 1 - lr (l2 + 2 lambda F) and the fixed
 * point w* = 2 lambda F a / (l2 + 2 lambda F)), so each row keeps the step it
 * was last brought up to date (`last`) and is caught up when it is read
 * (at the current learning rate: exact for a constant rate, a close
 * approximation while a schedule decays).
 * Predicting reads caught-up values without storing them; learning stores
 * them. Adam's moments decay lazily the same way (m *= beta1^k). The cost of
 * one event follows its non-zeros, never the 2^18 rows of a hashed input.
 *
 * Transactions. A learning step computes every new value into scratch
 * first, checks they are all finite, and only then writes them back.
 */
#ifndef DD_MODEL_IMPL_H
#define DD_MODEL_IMPL_H

#include "model.h"
#include "model_params.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct pblock {
    uint32_t rows;   /* input rows, the last one being the bias row */
    uint32_t width;  /* outputs per row in use */
    uint32_t stride; /* outputs per row allocated (>= width) */
    bool is_output;  /* grows with the number of classes */
    bool frozen;     /* a frozen progressive column never changes */
    double *w;
    double *s1, *s2;              /* optimizer state (NULL when unused) */
    double *fisher, *anchor, *g2; /* EWC (NULL when ewc_lambda == 0) */
    uint64_t *last;               /* per row: step it was last brought up to date */
} pblock;

#define MODEL_MAX_BLOCKS (MODEL_MAX_COLUMNS * (MODEL_MAX_HIDDEN_LAYERS + 1))

typedef struct model_ops {
    const char *name;
    /* Allocate and initialise the blocks for m->p and m->dim. */
    dd_err (*init)(model *m, char **cause);
    /* The output scores (logits or the regression value) of x: nclass values. */
    void (*scores)(const model *m, const dd_sparse *x, double *z);
    /* One transactional learning step (target already validated, classes grown). */
    dd_err (*learn)(model *m, const dd_sparse *x, double target, double weight, double *loss);
    uint32_t (*embed_dim)(const model *m);
    void (*embed)(const model *m, const dd_sparse *x, double *out);
    dd_err (*add_column)(model *m);
} model_ops;

struct model {
    const model_ops *ops;
    model_params p;
    uint32_t dim;
    uint32_t nclass;   /* outputs in use: binary 1 logit is kept as nclass = 2 */
    uint64_t t;        /* steps taken: the clock of lazy updates */
    uint64_t sched_t0; /* step at which the learning-rate schedule restarted */
    uint64_t refused;
    uint64_t ewc_n; /* steps whose squared gradients are summed in g2 */
    uint64_t consolidations;
    uint32_t nblocks;
    pblock b[MODEL_MAX_BLOCKS];
    /* progressive MLP */
    uint32_t ncols;                     /* columns; the last one learns, the others are frozen */
    uint32_t active;                    /* the column predictions come from */
    double col_loss[MODEL_MAX_COLUMNS]; /* rolling loss per column */
    uint64_t col_seen[MODEL_MAX_COLUMNS];
    /* learning scratch, grown on demand (no allocation in steady state) */
    double *scr;
    size_t scr_cap;
};

extern const model_ops model_linear_ops;
extern const model_ops model_mlp_ops;

/* The constants of one step (or of the catch-up to the current step). */
typedef struct step_ctx {
    model_optim optim;
    double lr, l1, l2, lam;
    double b1, b2, eps, bc1, bc2; /* Adam; bc = 1 - beta^t */
    double ftrl_beta;
    bool decay; /* any L1, L2 or EWC pull at all */
} step_ctx;

/* Output width of the output blocks: 1 for binary and regression. */
static inline uint32_t model_out_width(const model *m)
{
    return m->p.task == TASK_MULTICLASS ? m->nclass : 1;
}

/* Fill c for the step numbered `step` (1-based; step m->t + 1 is the next). */
void model_step_ctx(const model *m, uint64_t step, step_ctx *c);

/* The value of parameter i (row r) of b after k steps of pulls with no gradient. */
static inline double pull_k(const step_ctx *c, const pblock *b, size_t i, double w, uint64_t k,
                            bool reg)
{
    if (!c->decay || k == 0 || c->optim == OPTIM_FTRL)
        return w;
    double l2 = reg ? c->l2 : 0.0;
    double f = b->fisher ? 2.0 * c->lam * b->fisher[i] : 0.0;
    double s = l2 + f;
    if (s > 0.0) {
        double cc = 1.0 - c->lr * s;
        if (k == 1 && cc >= 0.0) {
            /* one step: w (1 - lr s) + lr f a, the fixed-point form without a division */
            w = w * cc + (f > 0.0 ? c->lr * f * b->anchor[i] : 0.0);
        } else {
            if (cc < 0.0)
                cc = 0.0;
            double fix = f > 0.0 ? f * b->anchor[i] / s : 0.0;
            w = fix + (w - fix) * pow(cc, (double)k);
        }
    }
    if (reg && c->l1 > 0.0) {
        double shrink = c->lr * c->l1 * (double)k;
        w = w > shrink ? w - shrink : (w < -shrink ? w + shrink : 0.0);
    }
    return w;
}

/* The caught-up value of parameter (r, j) at step m->t, for reading. */
static inline double pblock_value(const step_ctx *c, const pblock *b, uint64_t now, uint32_t r,
                                  uint32_t j)
{
    size_t i = (size_t)r * b->stride + j;
    if (b->frozen)
        return b->w[i];
    uint64_t k = now - b->last[r];
    return k ? pull_k(c, b, i, b->w[i], k, r + 1 < b->rows) : b->w[i];
}

/* A parameter's new value and state, computed before being committed. */
typedef struct pnew {
    double w, s1, s2, g2;
} pnew;

/* One optimizer step on parameter i (row r) of b. w: its caught-up value; g:
 * the weighted loss gradient; ug: unweighted (for the Fisher estimate);
 * skip: steps since the row was last touched, not counting this one. */
static inline void opt_step(const step_ctx *c, const pblock *b, size_t i, bool reg, double w,
                            double g, double ug, uint64_t skip, pnew *o)
{
    o->s1 = b->s1 ? b->s1[i] : 0.0;
    o->s2 = b->s2 ? b->s2[i] : 0.0;
    o->g2 = b->g2 ? b->g2[i] + ug * ug : 0.0;
    switch (c->optim) {
    case OPTIM_SGD:
        o->w = pull_k(c, b, i, w, 1, reg) - c->lr * g;
        break;
    case OPTIM_ADAGRAD:
        o->s1 += g * g;
        o->w = pull_k(c, b, i, w, 1, reg) - c->lr * g / (sqrt(o->s1) + c->eps);
        break;
    case OPTIM_ADAM:
        if (skip) {
            o->s1 *= skip == 1 ? c->b1 : pow(c->b1, (double)skip);
            o->s2 *= skip == 1 ? c->b2 : pow(c->b2, (double)skip);
        }
        o->s1 = c->b1 * o->s1 + (1.0 - c->b1) * g;
        o->s2 = c->b2 * o->s2 + (1.0 - c->b2) * g * g;
        o->w =
            pull_k(c, b, i, w, 1, reg) - c->lr * (o->s1 / c->bc1) / (sqrt(o->s2 / c->bc2) + c->eps);
        break;
    case OPTIM_FTRL: {
        /* FTRL-Proximal per coordinate (McMahan et al. 2013, Algorithm 1);
         * the EWC pull enters as a gradient term. z in s1, n in s2. */
        if (b->fisher && c->lam > 0.0)
            g += 2.0 * c->lam * b->fisher[i] * (w - b->anchor[i]);
        double n = o->s2, sigma = (sqrt(n + g * g) - sqrt(n)) / c->lr;
        o->s1 += g - sigma * w;
        o->s2 = n + g * g;
        double l1 = reg ? c->l1 : 0.0, l2 = reg ? c->l2 : 0.0, z = o->s1;
        if (fabs(z) <= l1)
            o->w = 0.0;
        else
            o->w = -(z - (z > 0 ? l1 : -l1)) / ((c->ftrl_beta + sqrt(o->s2)) / c->lr + l2);
        break;
    }
    }
}

static inline bool pnew_finite(const pnew *o)
{
    return isfinite(o->w) && isfinite(o->s1) && isfinite(o->s2) && isfinite(o->g2);
}

static inline void pnew_commit(pblock *b, size_t i, const pnew *o)
{
    b->w[i] = o->w;
    if (b->s1)
        b->s1[i] = o->s1;
    if (b->s2)
        b->s2[i] = o->s2;
    if (b->g2)
        b->g2[i] = o->g2;
}

/* Block storage (model.c). pblock_alloc zero-fills; frees b on failure. */
dd_err pblock_alloc(pblock *b, const model_params *p, uint32_t rows, uint32_t width,
                    bool is_output);
void pblock_free(pblock *b);
dd_err pblock_copy(pblock *dst, const pblock *src);
/* Widen an output block to `width` columns (new ones zero). */
dd_err pblock_widen(pblock *b, uint32_t width);
/* Bring every row of b up to step `now` (O(rows * width)). */
void pblock_catch_up(const model *m, pblock *b, uint64_t now);

/* Make the learning scratch hold at least n doubles. DD_ENOMEM: unchanged. */
dd_err model_scratch(model *m, size_t n);

/* The task's head: loss of scores z for target and, if dz is not NULL, the
 * unweighted gradient dloss/dz (clipped to grad_clip). Multiclass assumes
 * target < nclass. */
double model_head(const model *m, const double *z, double target, double *dz);
/* Turn scores into an output (class and score). */
void model_head_output(const model *m, const double *z, model_output *out);

/* Allocate a model shell (no blocks) with validated params: model.c. */
model *model_alloc(const model_params *p, uint32_t dim, char **cause);

#endif
