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

#endif
