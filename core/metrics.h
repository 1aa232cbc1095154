/*
 * metrics.h: prequential (test-then-train) evaluation of one model version.
 *
 * Every labelled event is scored before the model learns from it. Kept: the
 * totals over the whole stream (accuracy and log-loss for classification,
 * MAE and RMSE for regression) and the same over a rolling window of the last
 * W events (a ring of per-event values with a running sum, recomputed from the
 * ring every W additions so floating-point error cannot build up). O(1) per
 * event, O(W) memory.
 */
#ifndef DD_METRICS_H
#define DD_METRICS_H

#include "dd.h"
#include "model.h"
#include "serial.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct metrics metrics;

/* Returns new metrics with a rolling window of W >= 1 events, or NULL on no
 * memory. Free with metrics_free(). */
metrics *metrics_new(model_task task, uint32_t window);
void metrics_free(metrics *m);
metrics *metrics_clone(const metrics *m);
void metrics_reset(metrics *m);

/* Score one prediction against its target (a class index or a value). */
void metrics_add(metrics *m, const model_output *out, double target, double loss);

uint64_t metrics_count(const metrics *m);
/* Classification: accuracy; regression: MAE. Over all events / the window.
 * 0 before any event. */
double metrics_score(const metrics *m);
double metrics_rolling_score(const metrics *m);
/* The per-event error: 0/1 for classification, |error| for regression. */
double metrics_rolling_error(const metrics *m);
double metrics_mean_loss(const metrics *m); /* log-loss or squared-error loss */
double metrics_rmse(const metrics *m);      /* regression only, else 0 */
uint32_t metrics_window_fill(const metrics *m);
/* The rolling window's size W, and the bytes held (struct and ring: O(W), fixed). */
uint32_t metrics_window(const metrics *m);
size_t metrics_memory(const metrics *m);

dd_err metrics_serialize(const metrics *m, ser_writer *w);
dd_err metrics_deserialize(ser_reader *r, metrics **out, char **cause);

#endif
