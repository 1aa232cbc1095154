/*
 * model_params.h: every setting of a model, with its defaults.
 *
 * One plain struct, filled by model_params_default() and then by the
 * configuration. model_new() validates it (model_params_check()) and keeps a
 * copy, so a model carries its own settings into clones and snapshots.
 * Ranges are checked in one place so the configuration can report the key
 * and the allowed range.
 */
#ifndef DD_MODEL_PARAMS_H
#define DD_MODEL_PARAMS_H

#include "model.h"

#include <stdint.h>

typedef enum model_kind { MODEL_LINEAR = 0, MODEL_MLP } model_kind;

typedef enum model_optim { OPTIM_SGD = 0, OPTIM_ADAGRAD, OPTIM_ADAM, OPTIM_FTRL } model_optim;

/* Learning-rate schedule of SGD (AdaGrad, Adam and FTRL adapt per coordinate):
 * constant lr; invscaling lr / t^power; invtime lr / (1 + decay * t). t counts
 * steps since the model was made or since model_reset_schedule(); neither
 * goes below lr_min, so an unbounded stream keeps tracking slow drift. */
typedef enum model_schedule {
    SCHEDULE_CONSTANT = 0,
    SCHEDULE_INVSCALING,
    SCHEDULE_INVTIME
} model_schedule;

typedef enum model_regloss { LOSS_SQUARED = 0, LOSS_HUBER } model_regloss; /* regression */

typedef enum model_activation { ACT_RELU = 0, ACT_TANH } model_activation;

#define MODEL_MAX_HIDDEN_LAYERS 2
#define MODEL_MAX_HIDDEN 256
#define MODEL_MAX_CLASSES 256
#define MODEL_MAX_COLUMNS 8

struct model_params {
    model_task task;
    model_kind kind;
    model_optim optim;
    double lr; /* step size (FTRL: alpha) */
    model_schedule schedule;
    double lr_power; /* invscaling exponent */
    double lr_decay; /* invtime decay */
    double lr_min;   /* schedules never go below this */
    double l1, l2;   /* penalties on weights (never on biases) */
    double adam_beta1, adam_beta2;
    double eps;         /* AdaGrad and Adam denominator guard */
    double ftrl_beta;   /* FTRL-Proximal beta (McMahan et al. 2013) */
    model_regloss loss; /* regression loss */
    double huber_delta;
    double grad_clip;  /* clip |dloss/doutput| to this; 0 = off */
    uint32_t n_hidden; /* MLP hidden layers, 1 or 2 */
    uint32_t hidden[MODEL_MAX_HIDDEN_LAYERS];
    model_activation activation;
    uint32_t max_classes; /* multiclass: classes beyond this are refused */
    uint32_t max_columns; /* progressive MLP columns; 1 = no progressive growth */
    double column_decay;  /* progressive: rolling-loss EMA factor per event */
    double ewc_lambda;    /* EWC penalty strength; 0 = off */
    double ewc_gamma;     /* online EWC: decay of the old Fisher at consolidation */
    uint64_t seed;        /* weight initialisation */
};

/* Fill p with the defaults: binary logistic regression, SGD with lr 0.05 /
 * (1 + 0.001 t) down to 0.01 (t restarts at each confirmed drift), EWC lambda
 * 0.1 (acting after the first consolidation). doc/LEARNING.md has the
 * measurements behind them. Can't fail. */
void model_params_default(model_params *p);

/* DD_EINVAL with a cause naming the field and its allowed range when p is
 * out of range; DD_OK otherwise. */
dd_err model_params_check(const model_params *p, char **cause);

/* Names for configuration and display ("sgd", "adam", ...); NULL if out of range. */
const char *model_optim_name(model_optim o);
const char *model_kind_name(model_kind k);
const char *model_task_name(model_task t);

/* Parse a name into the enum; DD_EINVAL with a cause listing the allowed names. */
dd_err model_optim_parse(const char *s, model_optim *out, char **cause);
dd_err model_kind_parse(const char *s, model_kind *out, char **cause);
dd_err model_task_parse(const char *s, model_task *out, char **cause);

#endif
