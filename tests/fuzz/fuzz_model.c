/*
 * fuzz_model.c: libFuzzer harness for the model snapshot loader
 * (model_deserialize, core/model_io.c), which reads checkpoints and registry
 * blobs back from disk.
 *
 * The blob carries a length and an FNV-1a checksum, which random mutations
 * almost never keep right, so when the first input byte is odd the harness
 * repairs both before loading (the rest of the input is the blob): the
 * fuzzer then reaches the body parser, which must still never trust a value.
 * Contract: a refusal is DD_ECORRUPT or DD_EVERSION with a cause and no
 * model; an accepted model predicts a score in [0, 1] (classification) on a
 * small input, and round-trips: serialize, load, serialize gives the same
 * bytes.
 *
 * FUZZ_SOURCES:
 */
#include "model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER 24u /* "DDMODEL1", u32 version, u32 0, u64 payload bytes */
#define TRAILER 8u /* u64 FNV-1a of everything before it */

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void repair(uint8_t *b, size_t n)
{
    if (n < HEADER + TRAILER)
        return;
    put_u64le(b + 16, n - HEADER - TRAILER);
    put_u64le(b + n - TRAILER, fnv1a(b, n - TRAILER));
}

static void use_model(const model *m)
{
    uint32_t dim = model_dim(m);
    uint32_t idx[3] = {0, dim / 2, dim ? dim - 1 : 0};
    double val[3] = {1.0, -0.5, 2.0};
    dd_sparse x = {dim ? (dim > 2 ? 3 : 1) : 0, 3, idx, val};
    model_output out;
    model_predict(m, &x, &out);
    if (model_get_task(m) != TASK_REGRESSION && !(out.score >= 0.0 && out.score <= 1.0))
        abort();
}

static void round_trip(const model *m)
{
    unsigned char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    model *m2 = NULL;
    if (model_serialize(m, &a, &alen) == DD_OK) {
        if (model_deserialize(a, alen, &m2, NULL) != DD_OK)
            abort(); /* what we wrote we must read back */
        if (model_serialize(m2, &b, &blen) == DD_OK && (alen != blen || memcmp(a, b, alen)))
            abort();
    }
    free(a);
    free(b);
    model_free(m2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    uint8_t *blob = malloc(n ? n : 1);
    if (!blob)
        return 0;
    memcpy(blob, data + 1, n);
    if (data[0] & 1)
        repair(blob, n);
    model *m = NULL;
    char *cause = NULL;
    dd_err err = model_deserialize(blob, n, &m, &cause);
    if (err) {
        if (m || !cause || (err != DD_ECORRUPT && err != DD_EVERSION && err != DD_ENOMEM))
            abort();
    } else {
        use_model(m);
        round_trip(m);
        model_free(m);
    }
    free(cause);
    free(blob);
    return 0;
}
