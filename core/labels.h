/*
 * labels.h: an event's label -> the model's target, and back to a name.
 *
 * Binary: 0/1 numbers and booleans; string labels take 0 and 1 in order of
 * first arrival. Multiclass: strings and integral numbers are class names,
 * numbered in order of arrival up to max_classes (then DD_ELIMIT).
 * Regression: finite numbers only. Any other label is DD_ETYPE with a cause;
 * the caller counts it. Names are kept in a small open-addressing table:
 * O(1) expected per label, memory bounded by max_classes.
 */
#ifndef DD_LABELS_H
#define DD_LABELS_H

#include "dd.h"
#include "event.h"
#include "model.h"
#include "serial.h"

typedef struct labels labels;

/* Returns a new encoder or NULL on no memory / max_classes < 2. */
labels *labels_new(model_task task, uint32_t max_classes);
void labels_free(labels *l);
labels *labels_clone(const labels *l);

/* Map y to a target: a class index or the regression value. Classes seen for
 * the first time are added (learning); see labels_lookup() for read-only. */
dd_err labels_encode(labels *l, const dd_label *y, double *target, char **cause);

/* Read-only: like labels_encode() but unknown class names give DD_ENOTFOUND. */
dd_err labels_lookup(const labels *l, const dd_label *y, double *target, char **cause);

uint32_t labels_count(const labels *l);
/* The name of class i, valid while l lives; NULL if out of range. */
const char *labels_name(const labels *l, uint32_t i);
model_task labels_task(const labels *l);

dd_err labels_serialize(const labels *l, ser_writer *w);
dd_err labels_deserialize(ser_reader *r, labels **out, char **cause);

#endif
