/*
 * model.h: one interface over every online model.
 *
 * A model maps a sparse input (from the feature pipeline) to an output, and
 * learns from one (input, target, weight) at a time. Predicting never changes
 * the model. A learning step is a transaction: if it would make any touched
 * parameter non-finite it is refused with DD_ENONFINITE and the model stays
 * exactly as it was. The governance layer clones, serializes and compares
 * models only through this interface.
 */
#ifndef DD_MODEL_H
#define DD_MODEL_H

#include "dd.h"
#include "sparse.h"

#include <stdint.h>

typedef enum model_task { TASK_BINARY = 0, TASK_MULTICLASS, TASK_REGRESSION } model_task;

typedef struct model_output {
    int32_t cls;  /* predicted class index (binary: 0 or 1); -1 for regression */
    double score; /* binary: P(y = 1); multiclass: P(cls); regression: the predicted value */
} model_output;

typedef struct model model;
typedef struct model_params model_params; /* defined in model_params.h */

/* Returns a new model for inputs of dimension dim, or NULL with *cause set.
 * Borrows p; copies what it keeps. Free with model_free(). */
model *model_new(const model_params *p, uint32_t dim, char **cause);
void model_free(model *m);

/* Returns a deep copy (parameters, optimizer and EWC state), or NULL on no memory. */
model *model_clone(const model *m);

/* Read-only prediction. Can't fail for a valid input. */
void model_predict(const model *m, const dd_sparse *x, model_output *out);

/* Learn from one example. target: the class index (binary 0/1, multiclass
 * 0..k-1, growing the model if needed) or the regression value. weight > 0
 * scales the loss (class weights, importance sampling). On success *loss (if
 * not NULL) is the example's loss before the step. DD_ENONFINITE: refused,
 * model unchanged. */
dd_err model_learn(model *m, const dd_sparse *x, double target, double weight, double *loss);

/* The example's loss without learning (for replay priorities and metrics). */
double model_loss(const model *m, const dd_sparse *x, double target);

model_task model_get_task(const model *m);
uint64_t model_param_count(const model *m);
uint64_t model_refused_steps(const model *m);

/* --- additions of the learning layer (issue 4) --- */

/* Class probabilities into probs[0..n-1] (binary: P(0), P(1); regression: the
 * value in probs[0]). Returns the number of outputs the model has now (which
 * may exceed n: only n are written). Read-only. */
uint32_t model_predict_proba(const model *m, const dd_sparse *x, double *probs, uint32_t n);

/* Classes known (multiclass grows as labels appear; binary 2; regression 1). */
uint32_t model_num_classes(const model *m);

/* Make room for class indices below n (multiclass). DD_EINVAL beyond
 * max_classes, DD_ENOMEM: model unchanged. */
dd_err model_grow(model *m, uint32_t n);

/* The settings the model was made with. Valid while m lives. */
const model_params *model_get_params(const model *m);
uint32_t model_dim(const model *m);

/* Learning steps taken (successful model_learn calls). */
uint64_t model_steps(const model *m);

/* Restart the learning-rate schedule's clock (SGD schedules), e.g. after a drift. */
void model_reset_schedule(model *m);

/* Online EWC (Schwarz et al. 2018): fold the Fisher information gathered since
 * the last consolidation into the running Fisher and anchor the penalty at the
 * current parameters. O(parameters): call it at consolidation points only.
 * No-op when ewc_lambda is 0. */
void model_consolidate(model *m);
uint64_t model_consolidations(const model *m);

/* The EWC penalty lambda * sum F_i (theta_i - anchor_i)^2 at the current
 * parameters. O(parameters): for tests and the console. */
double model_ewc_penalty(const model *m);

/* Forget the EWC state (Fisher, anchor, the gradients gathered so far):
 * nothing is pulled until the next consolidation. O(parameters). */
void model_ewc_forget(model *m);

/* An embedding of x (MLP: the last hidden layer of the column in use; linear:
 * the per-class scores). Writes min(n, model_embedding_dim(m)) values and
 * returns model_embedding_dim(m). Read-only. */
uint32_t model_embed(const model *m, const dd_sparse *x, double *out, uint32_t n);
uint32_t model_embedding_dim(const model *m);

/* Progressive networks (MLP with max_columns > 1; Rusu et al. 2016): freeze
 * the learning column and start a new one with lateral connections.
 * DD_ESTATE when the model has no columns (linear) or the cap is reached
 * (the learning column then keeps learning); DD_ENOMEM: unchanged. */
dd_err model_add_column(model *m);
uint32_t model_num_columns(const model *m);
/* The column predictions come from now (best rolling loss). */
uint32_t model_active_column(const model *m);

/* Serialization: a versioned, endian-safe binary blob holding settings,
 * parameters, optimizer and EWC state; restoring it gives bit-identical
 * predictions. *buf is new, free with free(). DD_ENOMEM on failure. */
dd_err model_serialize(const model *m, unsigned char **buf, size_t *len);

/* Rebuild a model from a blob. DD_ECORRUPT for a damaged or truncated blob,
 * DD_EVERSION for an unknown format version; *out is set only on success
 * (free with model_free()). Borrows buf. */
dd_err model_deserialize(const unsigned char *buf, size_t len, model **out, char **cause);

#endif
