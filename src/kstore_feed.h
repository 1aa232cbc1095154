/*
 * kstore_feed.h: the worker's output that feeds the knowledge store.
 *
 * Three callbacks, all in the worker thread (which owns the model state):
 * every processed event is submitted; on a tick, when the active model
 * version has changed (a promotion, a rollback) and the store embeds with
 * the mlp kind, a frozen copy of the active model and of the feature
 * pipeline state is handed to the store (kstore_set_model()); a confirmed
 * concept drift (a drift of the error watch point) asks a features store to
 * renew its statistics (kstore_renew()) when [kstore] renew_on_drift is on.
 * The first hand-over is made by kstore_feed_start() before the worker
 * starts, so the first events are embedded by the model that served them.
 */
#ifndef DD_KSTORE_FEED_H
#define DD_KSTORE_FEED_H

#include "kstore.h"
#include "pipeline.h"
#include "worker.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct kstore_feed kstore_feed;

/* Returns a new feed into ks (borrowed; it must outlive the feed), or NULL
 * on no memory. p: the store's parameters (embedding kind, renew_on_drift),
 * copied. Free with kstore_feed_free(). */
kstore_feed *kstore_feed_new(kstore *ks, const kstore_params *p);
void kstore_feed_free(kstore_feed *f);

/* The worker output (event, alarm, tick); ctx is f. */
worker_output kstore_feed_output(kstore_feed *f);

/* Before the worker starts (the caller's thread owns pipe then): for an mlp
 * store, hand it a frozen copy of pipe's active model, version active_id.
 * DD_OK for other kinds (nothing to do); DD_EINVAL with *cause naming
 * [kstore] embedding when the model is not an MLP or does not fit;
 * DD_ENOMEM. */
dd_err kstore_feed_start(kstore_feed *f, const pipeline *pipe, int64_t active_id, char **cause);

/* Hand-overs made and drifts passed on, for tests and status. */
uint64_t kstore_feed_handovers(const kstore_feed *f);
uint64_t kstore_feed_renewals(const kstore_feed *f);

#endif
