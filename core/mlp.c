/*
 * mlp.c: a small multilayer perceptron (1 or 2 hidden layers, ReLU or tanh)
 * over sparse inputs, grown into a progressive network (Rusu et al. 2016)
 * on demand.
 *
 * Column c has one block per layer: layer 1 (dim + 1 rows by H1: only the
 * event's rows are read and updated, caught up lazily like linear.c), layer
 * 2 (H1 * (c + 1) + 1 rows by H2) and the output (H_last * (c + 1) + 1 rows
 * by the outputs). Layers after the first take the concatenated activations
 * of columns 0..c: the lateral connections from the frozen columns (Rusu's
 * adapters are left out: the columns here are small). Only the last column
 * learns; model_add_column() freezes it and starts a new one. Every column
 * keeps a rolling loss (EMA) on the events it is shown and predictions come
 * from the column with the lowest one, so a concept that returns finds its
 * column again. Cost per event: O(columns * (nnz * H1 + H1 * H2 + H * K)).
 */
#include "model_impl.h"
#include "rng.h"

#include <string.h>

#define MAXH (MODEL_MAX_COLUMNS * MODEL_MAX_HIDDEN)

/* Activations of every column computed so far. */
typedef struct fwd {
    double h[MODEL_MAX_HIDDEN_LAYERS][MAXH]; /* column c's layer l at h[l][c * H_l] */
    double z[MODEL_MAX_COLUMNS][MODEL_MAX_CLASSES];
} fwd;

static uint32_t layers(const model *m)
{
    return m->p.n_hidden;
}

static pblock *blk(model *m, uint32_t col, uint32_t layer)
{
    return &m->b[col * (layers(m) + 1) + layer];
}

static const pblock *cblk(const model *m, uint32_t col, uint32_t layer)
{
    return &m->b[col * (layers(m) + 1) + layer];
}

static double act(const model *m, double a)
{
    return m->p.activation == ACT_TANH ? tanh(a) : (a > 0 ? a : 0);
}

/* The activation's derivative, from its output h. */
static double act_grad(const model *m, double h)
{
    return m->p.activation == ACT_TANH ? 1.0 - h * h : (h > 0 ? 1.0 : 0.0);
}

/* A parameter's value for reading: frozen blocks are exact as stored. */
static double value(const step_ctx *c, const pblock *b, uint64_t now, uint32_t r, uint32_t j)
{
    if (b->frozen || b->last[r] == now)
        return b->w[(size_t)r * b->stride + j];
    return pblock_value(c, b, now, r, j);
}

/* out[j] = bias_j + sum_r in[r] W[r][j] over the block's rows but the last. */
static void dense(const step_ctx *c, const pblock *b, uint64_t now, const double *in, double *out)
{
    uint32_t nin = b->rows - 1;
    for (uint32_t j = 0; j < b->width; j++)
        out[j] = value(c, b, now, nin, j);
    for (uint32_t r = 0; r < nin; r++) {
        /* in[] is a layer output, written in full:
         * NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
        if (in[r] == 0.0)
            continue;
        for (uint32_t j = 0; j < b->width; j++)
            out[j] += in[r] * value(c, b, now, r, j);
    }
}

static void sparse_layer(const model *m, const step_ctx *c, const pblock *b, const dd_sparse *x,
                         double *out)
{
    for (uint32_t j = 0; j < b->width; j++)
        out[j] = value(c, b, m->t, m->dim, j);
    for (uint32_t i = 0; i < x->n; i++) {
        if (x->idx[i] >= m->dim)
            continue;
        for (uint32_t j = 0; j < b->width; j++)
            out[j] += x->val[i] * value(c, b, m->t, x->idx[i], j);
    }
}

/* Forward columns 0..upto. */
static void forward(const model *m, const dd_sparse *x, uint32_t upto, fwd *f)
{
    step_ctx c;
    model_step_ctx(m, m->t, &c);
    uint32_t nl = layers(m);
    for (uint32_t col = 0; col <= upto; col++) {
        uint32_t h1 = m->p.hidden[0];
        /* cppcheck-suppress uninitvar ; an array in *f, written here before any read */
        double *a = f->h[0] + (size_t)col * h1;
        sparse_layer(m, &c, cblk(m, col, 0), x, a);
        for (uint32_t j = 0; j < h1; j++)
            /* a is an array in *f that sparse_layer() writes:
             * NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
            a[j] = act(m, a[j]);
        if (nl == 2) {
            uint32_t h2 = m->p.hidden[1];
            double *a2 = f->h[1] + (size_t)col * h2;
            dense(&c, cblk(m, col, 1), m->t, f->h[0], a2);
            for (uint32_t j = 0; j < h2; j++)
                /* f->h[0] was written by sparse_layer() above:
                 * NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
                a2[j] = act(m, a2[j]);
        }
        dense(&c, cblk(m, col, nl), m->t, f->h[nl - 1], f->z[col]);
    }
}

static void mlp_scores(const model *m, const dd_sparse *x, double *z)
{
    fwd f;
    forward(m, x, m->active, &f);
    memcpy(z, f.z[m->active], model_out_width(m) * sizeof *z);
}

static uint32_t mlp_embed_dim(const model *m)
{
    return m->p.hidden[layers(m) - 1];
}

static void mlp_embed(const model *m, const dd_sparse *x, double *out)
{
    fwd f;
    forward(m, x, m->active, &f);
    uint32_t h = mlp_embed_dim(m);
    memcpy(out, f.h[layers(m) - 1] + (size_t)m->active * h, h * sizeof *out);
}

/* Random initial weights (He for ReLU, Glorot-style for tanh); biases 0. The
 * fan-in of the sparse first layer is capped: an event has few non-zeros. */
static void init_block(model *m, pblock *b, uint32_t fan_in, uint64_t seed)
{
    rng_t r;
    rng_seed(&r, seed);
    double fi = fan_in > 100 ? 100.0 : (double)fan_in;
    double sd = sqrt((m->p.activation == ACT_RELU ? 2.0 : 1.0) / (fi > 0 ? fi : 1.0));
    for (uint32_t row = 0; row + 1 < b->rows; row++)
        for (uint32_t j = 0; j < b->width; j++)
            b->w[(size_t)row * b->stride + j] = sd * rng_normal(&r);
    for (uint32_t row = 0; row < b->rows; row++)
        b->last[row] = m->t;
}

/* Allocate and initialise column col's blocks at m->b[col * (L + 1) ...]. */
static dd_err add_blocks(model *m, uint32_t col)
{
    uint32_t nl = layers(m), k = model_out_width(m);
    uint32_t in_rows[MODEL_MAX_HIDDEN_LAYERS + 1], width[MODEL_MAX_HIDDEN_LAYERS + 1];
    in_rows[0] = m->dim;
    for (uint32_t l = 0; l < nl; l++) {
        width[l] = m->p.hidden[l];
        in_rows[l + 1] = m->p.hidden[l] * (col + 1);
    }
    width[nl] = k;
    for (uint32_t l = 0; l <= nl; l++) {
        pblock *b = blk(m, col, l);
        if (pblock_alloc(b, &m->p, in_rows[l] + 1, width[l], l == nl)) {
            while (l--)
                pblock_free(blk(m, col, l));
            return DD_ENOMEM;
        }
        init_block(m, b, in_rows[l], m->p.seed + 7919u * col + l);
    }
    m->nblocks = (col + 1) * (nl + 1);
    return DD_OK;
}

static dd_err mlp_init(model *m, char **cause)
{
    if (add_blocks(m, 0))
        return dd_fail(cause, DD_ENOMEM, "no memory for an MLP of input dimension %u", m->dim);
    m->ncols = 1;
    m->active = 0;
    return DD_OK;
}

static dd_err mlp_add_column(model *m)
{
    if (m->ncols >= m->p.max_columns)
        return DD_ESTATE;
    uint32_t last = m->ncols - 1, nl = layers(m);
    dd_err e = add_blocks(m, m->ncols);
    if (e) {
        m->nblocks = m->ncols * (nl + 1);
        return e;
    }
    for (uint32_t l = 0; l <= nl; l++) {
        pblock *b = blk(m, last, l);
        pblock_catch_up(m, b, m->t);
        b->frozen = true;
    }
    m->col_loss[m->ncols] = m->col_loss[last];
    m->col_seen[m->ncols] = m->col_seen[last] ? 1 : 0;
    m->ncols++;
    return DD_OK;
}

/* Scratch layout of a learning step (doubles). */
typedef struct layout {
    uint32_t nrows1;                      /* touched rows of layer 1: nnz + bias */
    size_t cu1;                           /* caught-up layer-1 values: nrows1 * H1 */
    size_t new1;                          /* their pnew: 4 per value */
    size_t newd[MODEL_MAX_HIDDEN_LAYERS]; /* pnew of dense layers 2..L+1 */
    size_t total;
} layout;

static void plan(const model *m, const dd_sparse *x, uint32_t col, layout *lay)
{
    uint32_t nl = layers(m), h1 = m->p.hidden[0];
    lay->nrows1 = x->n + 1;
    lay->cu1 = 0;
    lay->new1 = (size_t)lay->nrows1 * h1;
    size_t at = lay->new1 + (size_t)lay->nrows1 * h1 * 4;
    for (uint32_t l = 1; l <= nl; l++) {
        const pblock *b = cblk(m, col, l);
        lay->newd[l - 1] = at;
        at += (size_t)b->rows * b->width * 4;
    }
    lay->total = at;
}

/* One optimizer step over a whole dense block of the learning column, given
 * the gradient dout of its outputs and its input vector in. Writes pnew into
 * s, accumulates din (gradient of the inputs of column col only) if not NULL.
 * Returns false on a non-finite value. */
static bool step_dense(const model *m, const step_ctx *next, const pblock *b, const double *in,
                       const double *dout, double weight, uint32_t own_from, double *din, double *s)
{
    step_ctx now;
    model_step_ctx(m, m->t, &now);
    bool ok = true;
    for (uint32_t r = 0; r < b->rows; r++) {
        double v = r + 1 < b->rows ? in[r] : 1.0;
        uint64_t skip = m->t - b->last[r];
        bool own = din && r >= own_from && r + 1 < b->rows;
        if (own)
            din[r - own_from] = 0;
        for (uint32_t j = 0; j < b->width; j++) {
            double w = value(&now, b, m->t, r, j), ug = dout[j] * v;
            if (own)
                din[r - own_from] += w * dout[j];
            pnew *o = (pnew *)(s + ((size_t)r * b->width + j) * 4);
            opt_step(next, b, (size_t)r * b->stride + j, r + 1 < b->rows, w, ug * weight, ug, skip,
                     o);
            ok &= pnew_finite(o);
        }
    }
    return ok;
}

static void commit_dense(model *m, pblock *b, const double *s)
{
    for (uint32_t r = 0; r < b->rows; r++) {
        for (uint32_t j = 0; j < b->width; j++)
            pnew_commit(b, (size_t)r * b->stride + j,
                        (const pnew *)(s + ((size_t)r * b->width + j) * 4));
        b->last[r] = m->t + 1;
    }
}

static bool step_sparse(model *m, const step_ctx *next, const dd_sparse *x, const double *da,
                        double weight, const layout *lay)
{
    step_ctx now;
    model_step_ctx(m, m->t, &now);
    const pblock *b = cblk(m, m->ncols - 1, 0);
    uint32_t h1 = b->width;
    bool ok = true;
    for (uint32_t i = 0; i < lay->nrows1; i++) {
        uint32_t r = i < x->n ? x->idx[i] : m->dim;
        double v = i < x->n ? x->val[i] : 1.0;
        uint64_t skip = m->t - b->last[r];
        for (uint32_t j = 0; j < h1; j++) {
            /* da[] is written by the backward pass:
             * NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
            double w = value(&now, b, m->t, r, j), ug = da[j] * v;
            pnew *o = (pnew *)(m->scr + lay->new1 + ((size_t)i * h1 + j) * 4);
            opt_step(next, b, (size_t)r * b->stride + j, r != m->dim, w, ug * weight, ug, skip, o);
            ok &= pnew_finite(o);
        }
    }
    return ok;
}

static void commit_sparse(model *m, const dd_sparse *x, const layout *lay)
{
    pblock *b = blk(m, m->ncols - 1, 0);
    for (uint32_t i = 0; i < lay->nrows1; i++) {
        uint32_t r = i < x->n ? x->idx[i] : m->dim;
        for (uint32_t j = 0; j < b->width; j++)
            pnew_commit(b, (size_t)r * b->stride + j,
                        (const pnew *)(m->scr + lay->new1 + ((size_t)i * b->width + j) * 4));
        b->last[r] = m->t + 1;
    }
}

/* Rolling losses of every column, and the column to predict with. */
static void update_columns(model *m, const fwd *f, double target, uint32_t *active, double *cl)
{
    double d = m->p.column_decay;
    uint32_t best = 0;
    for (uint32_t c = 0; c < m->ncols; c++) {
        double l = model_head(m, f->z[c], target, NULL);
        cl[c] = m->col_seen[c] ? d * m->col_loss[c] + (1 - d) * l : l;
        if (!isfinite(cl[c]))
            cl[c] = m->col_loss[c];
        if (cl[c] < cl[best])
            best = c;
    }
    *active = best;
}

static dd_err mlp_learn(model *m, const dd_sparse *x, double target, double weight, double *loss)
{
    uint32_t nl = layers(m), col = m->ncols - 1, k = model_out_width(m);
    layout lay;
    plan(m, x, col, &lay);
    if (model_scratch(m, lay.total))
        return DD_ENOMEM;
    fwd f;
    forward(m, x, col, &f);
    double dz[MODEL_MAX_CLASSES], cl[MODEL_MAX_COLUMNS];
    double l = model_head(m, f.z[col], target, dz);
    uint32_t active;
    update_columns(m, &f, target, &active, cl);
    step_ctx next;
    model_step_ctx(m, m->t + 1, &next);

    /* backward through the learning column, new values into scratch */
    double dh[MODEL_MAX_HIDDEN_LAYERS][MODEL_MAX_HIDDEN];
    const double *dout = dz;
    bool ok = isfinite(l);
    for (uint32_t li = nl; li >= 1 && ok; li--) {
        const pblock *b = cblk(m, col, li);
        uint32_t hin = m->p.hidden[li - 1];
        ok &= step_dense(m, &next, b, f.h[li - 1], dout, weight, col * hin, dh[li - 1],
                         m->scr + lay.newd[li - 1]);
        const double *h = f.h[li - 1] + (size_t)col * hin;
        for (uint32_t j = 0; j < hin; j++)
            dh[li - 1][j] *= act_grad(m, h[j]);
        dout = dh[li - 1];
    }
    ok = ok && step_sparse(m, &next, x, dh[0], weight, &lay);
    (void)k;
    if (!ok)
        return DD_ENONFINITE;

    commit_sparse(m, x, &lay);
    for (uint32_t li = 1; li <= nl; li++)
        commit_dense(m, blk(m, col, li), m->scr + lay.newd[li - 1]);
    for (uint32_t c = 0; c < m->ncols; c++) {
        /* cl[] is filled for every column above:
         * NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign) */
        m->col_loss[c] = cl[c];
        m->col_seen[c]++;
    }
    m->active = active;
    m->t++;
    m->ewc_n++;
    if (loss)
        *loss = l;
    return DD_OK;
}

const model_ops model_mlp_ops = {
    .name = "mlp",
    .init = mlp_init,
    .scores = mlp_scores,
    .learn = mlp_learn,
    .embed_dim = mlp_embed_dim,
    .embed = mlp_embed,
    .add_column = mlp_add_column,
};
