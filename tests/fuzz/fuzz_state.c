/*
 * fuzz_state.c: libFuzzer harness for the loaders of the pipeline state a
 * snapshot holds beside the model: the feature pipeline, the label encoder,
 * the metrics, a drift detector, the watch points and the pending-label table
 * (featpipe_, labels_, metrics_, drift_, watch_ and pending_deserialize).
 * fuzz_model.c covers the model.
 *
 * The first byte picks the loader, the rest is the blob. A corrupted blob
 * must be refused with DD_ECORRUPT or DD_EVERSION and a cause, never trusted;
 * an accepted one must round-trip (serializing what was loaded and loading
 * that again gives the same bytes) and go on working (a detector or a watch
 * is fed a few values).
 *
 * FUZZ_SOURCES:
 */
#include "drift.h"
#include "featpipe.h"
#include "labels.h"
#include "metrics.h"
#include "pending.h"
#include "serial.h"
#include "watch.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(dd_err err, const void *out, char *cause)
{
    if (out || !cause)
        abort();
    if (err != DD_ECORRUPT && err != DD_EVERSION && err != DD_ENOMEM && err != DD_EINVAL)
        abort();
    free(cause);
}

#define FUZZ_STATE(NAME, TYPE)                                                                     \
    static void fuzz_##NAME(const uint8_t *data, size_t size)                                      \
    {                                                                                              \
        ser_reader r;                                                                              \
        ser_reader_init(&r, data, size);                                                           \
        TYPE *s = NULL;                                                                            \
        char *cause = NULL;                                                                        \
        dd_err err = NAME##_deserialize(&r, &s, &cause);                                           \
        if (err) {                                                                                 \
            check_refusal(err, s, cause);                                                          \
            return;                                                                                \
        }                                                                                          \
        free(cause);                                                                               \
        check_##NAME(s);                                                                           \
        ser_writer w1 = {0}, w2 = {0};                                                             \
        TYPE *s2 = NULL;                                                                           \
        if (NAME##_serialize(s, &w1) == DD_OK && !w1.failed) {                                     \
            ser_reader_init(&r, w1.buf, w1.len);                                                   \
            if (NAME##_deserialize(&r, &s2, NULL) != DD_OK)                                        \
                abort();                                                                           \
            if (NAME##_serialize(s2, &w2) == DD_OK && !w2.failed &&                                \
                (w1.len != w2.len || memcmp(w1.buf, w2.buf, w1.len)))                              \
                abort();                                                                           \
        }                                                                                          \
        free(w1.buf);                                                                              \
        free(w2.buf);                                                                              \
        NAME##_free(s2);                                                                           \
        NAME##_free(s);                                                                            \
    }

/* Contracts a loaded state must meet before it is used. */
static void check_featpipe(const featpipe *f)
{
    if (featpipe_dim(f) == 0)
        abort();
}

static void check_labels(const labels *l)
{
    if (labels_task(l) == TASK_BINARY && labels_count(l) > 2)
        abort(); /* a binary encoder holds two classes */
    for (uint32_t i = 0; i < labels_count(l); i++)
        if (!labels_name(l, i))
            abort();
}

static void check_metrics(const metrics *m)
{
    (void)metrics_count(m);
    (void)metrics_score(m);
    (void)metrics_rolling_score(m);
}

/* A loaded detector or watch must go on working: feed it a few values. */
static void check_drift(drift_detector *d)
{
    for (int i = 0; i < 64; i++)
        (void)drift_update(d, (i * 7) % 3 == 0 ? 1.0 : 0.0);
}

static void check_watch(watch *w)
{
    for (uint64_t i = 0; i < 32; i++) {
        watch_begin(w, i);
        (void)watch_error(w, (double)(i % 2));
        (void)watch_prediction(w, 0.25 * (double)(i % 4));
        (void)watch_feature(w, (uint32_t)(i % 3), "f", (double)i);
        uint32_t n;
        (void)watch_alarms(w, &n);
    }
}

/* The same for loaders whose serializer returns nothing (failure: w->failed). */
#define FUZZ_STATE_VOID(NAME, TYPE)                                                                \
    static void fuzz_##NAME(const uint8_t *data, size_t size)                                      \
    {                                                                                              \
        ser_reader r;                                                                              \
        ser_reader_init(&r, data, size);                                                           \
        TYPE *s = NULL;                                                                            \
        char *cause = NULL;                                                                        \
        dd_err err = NAME##_deserialize(&r, &s, &cause);                                           \
        if (err) {                                                                                 \
            check_refusal(err, s, cause);                                                          \
            return;                                                                                \
        }                                                                                          \
        free(cause);                                                                               \
        ser_writer w1 = {0}, w2 = {0};                                                             \
        TYPE *s2 = NULL;                                                                           \
        NAME##_serialize(s, &w1);                                                                  \
        if (!w1.failed) {                                                                          \
            ser_reader_init(&r, w1.buf, w1.len);                                                   \
            if (NAME##_deserialize(&r, &s2, NULL) != DD_OK)                                        \
                abort();                                                                           \
            NAME##_serialize(s2, &w2);                                                             \
            if (!w2.failed && (w1.len != w2.len || memcmp(w1.buf, w2.buf, w1.len)))                \
                abort();                                                                           \
        }                                                                                          \
        check_##NAME(s);                                                                           \
        free(w1.buf);                                                                              \
        free(w2.buf);                                                                              \
        NAME##_free(s2);                                                                           \
        NAME##_free(s);                                                                            \
    }

FUZZ_STATE(featpipe, featpipe)
FUZZ_STATE(labels, labels)
FUZZ_STATE(metrics, metrics)
FUZZ_STATE_VOID(drift, drift_detector)
FUZZ_STATE_VOID(watch, watch)

/* The pending table loads into a table of the run's own capacity, with the
 * model's input dimension as the bound of every index. An accepted table
 * holds no more than its capacity, round-trips, and goes on working (an add,
 * a take, an expiry). */
#define FUZZ_PENDING_DIM 4096u

static pending *pending_empty(void)
{
    pending_params pp;
    pending_params_default(&pp);
    pp.capacity = 64;
    pending *t = pending_new(&pp, NULL);
    if (!t)
        abort();
    return t;
}

static void fuzz_pending(const uint8_t *data, size_t size)
{
    ser_reader r;
    ser_reader_init(&r, data, size);
    pending *t = pending_empty(), *t2 = pending_empty();
    char *cause = NULL;
    dd_err err = pending_deserialize(t, &r, FUZZ_PENDING_DIM, &cause);
    if (err) {
        check_refusal(err, NULL, cause);
        pending_free(t);
        pending_free(t2);
        return;
    }
    pending_stats st;
    pending_get_stats(t, &st);
    if (st.held > st.capacity)
        abort();
    ser_writer w1 = {0}, w2 = {0};
    if (pending_serialize(t, &w1) == DD_OK) {
        ser_reader_init(&r, w1.buf, w1.len);
        if (pending_deserialize(t2, &r, FUZZ_PENDING_DIM, NULL) != DD_OK)
            abort();
        if (pending_serialize(t2, &w2) == DD_OK &&
            (w1.len != w2.len || memcmp(w1.buf, w2.buf, w1.len)))
            abort();
    }
    uint32_t idx = FUZZ_PENDING_DIM - 1;
    double val = 1.0;
    dd_sparse x = {1, 1, &idx, &val};
    pending_entry e;
    if (pending_add(t, "fuzz", NULL, 0.0, 1, &x, NULL, 0) == DD_OK &&
        pending_take(t, "fuzz", &e) == DD_OK)
        pending_entry_clear(&e);
    (void)pending_expire(t, 1e18, UINT64_MAX);
    free(w1.buf);
    free(w2.buf);
    free(cause);
    pending_free(t);
    pending_free(t2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* selectors 0..4 as before the pending table came (the corpus keeps them) */
    switch (data[0] % 6) {
    case 0:
        fuzz_featpipe(data + 1, size - 1);
        break;
    case 1:
        fuzz_labels(data + 1, size - 1);
        break;
    case 2:
        fuzz_metrics(data + 1, size - 1);
        break;
    case 3:
        fuzz_drift(data + 1, size - 1);
        break;
    case 4:
        fuzz_watch(data + 1, size - 1);
        break;
    default:
        fuzz_pending(data + 1, size - 1);
        break;
    }
    return 0;
}
