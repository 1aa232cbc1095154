/*
 * fuzz_state.c: libFuzzer harness for the loaders of the pipeline state a
 * snapshot holds beside the model: the feature pipeline, the label encoder
 * and the metrics (featpipe_deserialize, labels_deserialize,
 * metrics_deserialize). fuzz_model.c covers the model itself.
 *
 * The first byte picks the loader, the rest is the blob. A corrupted blob
 * must be refused with DD_ECORRUPT or DD_EVERSION and a cause, never trusted;
 * an accepted one must round-trip: serializing what was loaded and loading
 * that again gives the same bytes.
 *
 * FUZZ_SOURCES:
 */
#include "featpipe.h"
#include "labels.h"
#include "metrics.h"
#include "serial.h"

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

FUZZ_STATE(featpipe, featpipe)
FUZZ_STATE(labels, labels)
FUZZ_STATE(metrics, metrics)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_featpipe(data + 1, size - 1);
        break;
    case 1:
        fuzz_labels(data + 1, size - 1);
        break;
    default:
        fuzz_metrics(data + 1, size - 1);
        break;
    }
    return 0;
}
