/*
 * ewc.h: online Elastic Weight Consolidation (Kirkpatrick et al. 2017, the
 * online variant of Schwarz et al. 2018, "Progress & Compress").
 *
 * Between consolidations a model sums each parameter's squared loss gradient
 * (the diagonal empirical Fisher, only for coordinates an event touches: the
 * others have gradient 0). At a consolidation point the running Fisher decays
 * and takes the new estimate, F <- gamma F + sum(g^2) / steps, and the anchor
 * moves to the current parameters. The penalty lambda * sum F_i (w_i - a_i)^2
 * pulls each parameter back toward its anchor; the model applies it lazily
 * per touched row (model_impl.h), so it costs nothing for untouched rows.
 * These are the plain formulas, for the model and for tests.
 */
#ifndef DD_EWC_H
#define DD_EWC_H

#include <stddef.h>
#include <stdint.h>

/* lambda * F * (w - a)^2. Can't fail. */
double ewc_term(double lambda, double fisher, double w, double anchor);

/* Its derivative in w: 2 lambda F (w - a). Can't fail. */
double ewc_term_grad(double lambda, double fisher, double w, double anchor);

/* The penalty over n parameters. */
double ewc_penalty(const double *fisher, const double *anchor, const double *w, size_t n,
                   double lambda);

/* Consolidate n parameters: fisher = gamma fisher + g2 / steps (steps 0: no
 * new information), anchor = w, g2 = 0. O(n). */
void ewc_fold(double *fisher, double *anchor, double *g2, const double *w, size_t n, uint64_t steps,
              double gamma);

#endif
