/*
 * ewc.c: online EWC formulas and the model's consolidation (see ewc.h).
 * model_consolidate() first brings every row up to date (the lazy pulls use
 * the old Fisher and anchor), then folds: O(parameters), at consolidation
 * points only, never per event.
 */
#include "ewc.h"

#include "model_impl.h"

#include <string.h>

double ewc_term(double lambda, double fisher, double w, double anchor)
{
    double d = w - anchor;
    return lambda * fisher * d * d;
}

double ewc_term_grad(double lambda, double fisher, double w, double anchor)
{
    return 2.0 * lambda * fisher * (w - anchor);
}

double ewc_penalty(const double *fisher, const double *anchor, const double *w, size_t n,
                   double lambda)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += ewc_term(lambda, fisher[i], w[i], anchor[i]);
    return s;
}

void ewc_fold(double *fisher, double *anchor, double *g2, const double *w, size_t n, uint64_t steps,
              double gamma)
{
    double inv = steps ? 1.0 / (double)steps : 0.0;
    for (size_t i = 0; i < n; i++) {
        fisher[i] = gamma * fisher[i] + g2[i] * inv;
        anchor[i] = w[i];
        g2[i] = 0.0;
    }
}

void model_consolidate(model *m)
{
    if (m->p.ewc_lambda <= 0)
        return;
    for (uint32_t i = 0; i < m->nblocks; i++) {
        pblock *b = &m->b[i];
        pblock_catch_up(m, b, m->t);
        ewc_fold(b->fisher, b->anchor, b->g2, b->w, (size_t)b->rows * b->stride, m->ewc_n,
                 m->consolidations ? m->p.ewc_gamma : 0.0);
    }
    m->ewc_n = 0;
    m->consolidations++;
}

double model_ewc_penalty(const model *m)
{
    if (m->p.ewc_lambda <= 0 || !m->consolidations)
        return 0.0;
    step_ctx c;
    model_step_ctx(m, m->t, &c);
    double s = 0;
    for (uint32_t i = 0; i < m->nblocks; i++) {
        const pblock *b = &m->b[i];
        for (uint32_t r = 0; r < b->rows; r++)
            for (uint32_t j = 0; j < b->width; j++) {
                size_t k = (size_t)r * b->stride + j;
                s += ewc_term(m->p.ewc_lambda, b->fisher[k], pblock_value(&c, b, m->t, r, j),
                              b->anchor[k]);
            }
    }
    return s;
}

void model_ewc_forget(model *m)
{
    if (m->p.ewc_lambda <= 0)
        return;
    for (uint32_t i = 0; i < m->nblocks; i++) {
        pblock *b = &m->b[i];
        pblock_catch_up(m, b, m->t); /* the pulls so far happened under the old Fisher */
        size_t n = (size_t)b->rows * b->stride;
        memset(b->fisher, 0, n * sizeof *b->fisher);
        memset(b->anchor, 0, n * sizeof *b->anchor);
        memset(b->g2, 0, n * sizeof *b->g2);
    }
    m->ewc_n = 0;
}
