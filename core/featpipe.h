/*
 * featpipe.h: the feature pipeline: a parsed event -> the model's sparse input.
 *
 * Numeric featpipe get a slot of their own (up to max_numeric, found by name
 * through an open-addressing table of name hashes) with running statistics
 * (Welford) for online standardization, clipped to +-clip. A null value is
 * missing: imputed by the running mean (0 after standardization) and flagged
 * by an indicator input. Strings are categorical: name and value hashed
 * together into 2^hash_bits buckets with a sign bit (the hashing trick,
 * Weinberger et al. 2009), so unseen categories and high-cardinality keys
 * never grow memory. Numeric featpipe beyond max_numeric are hashed too,
 * squashed by sign(x)*log1p(|x|), and counted.
 *
 * Input layout: [0, M) numeric values, [M, 2M) missing indicators,
 * [2M, 2M + 2^b) hashed buckets; M = max_numeric. Cost per event follows its
 * number of featpipe, never the dimension.
 */
#ifndef DD_FEATPIPE_H
#define DD_FEATPIPE_H

#include "dd.h"
#include "event.h"
#include "sparse.h"
#include "serial.h"
#include "welford.h"

#include <stdbool.h>
#include <stdint.h>

#define FEATPIPE_HASH_BITS_AUTO 0u

typedef struct featpipe_params {
    uint32_t hash_bits;      /* categorical buckets: 2^hash_bits, 4..24, default 18;
                              * FEATPIPE_HASH_BITS_AUTO lets pipeline_new() choose by
                              * model (18 linear, 12 MLP); featpipe_new() reads it as 18 */
    uint32_t max_numeric;    /* numeric featpipe with their own statistics, default 256 */
    bool standardize;        /* default true */
    double clip;             /* standardized values are clipped to +-clip, default 5 */
    bool missing_indicators; /* default true */
} featpipe_params;

void featpipe_params_default(featpipe_params *p);
/* DD_EINVAL with *cause naming the field if p is out of range. */
dd_err featpipe_params_check(const featpipe_params *p, char **cause);

typedef struct featpipe featpipe;

/* Returns a new pipeline, or NULL with *cause set. Free with featpipe_free(). */
featpipe *featpipe_new(const featpipe_params *p, char **cause);
void featpipe_free(featpipe *f);

/* A deep copy (a frozen copy for a live version), or NULL on no memory. */
featpipe *featpipe_clone(const featpipe *f);

/* The model input dimension: 2 * max_numeric + 2^hash_bits. */
uint32_t featpipe_dim(const featpipe *f);

/* Update the statistics with ev's numeric values, then write ev's input into
 * out (cleared first). DD_ENOMEM if out cannot grow (out is then empty). */
dd_err featpipe_learn_transform(featpipe *f, const dd_event *ev, dd_sparse *out);

/* Write ev's input into out with the statistics as they are (read-only). */
dd_err featpipe_transform(const featpipe *f, const dd_event *ev, dd_sparse *out);

/* The numeric slot of a feature, or -1 when it has none (not numeric, or new
 * to a read-only lookup, or beyond max_numeric). */
int32_t featpipe_slot(const featpipe *f, const dd_feature *feat);

uint32_t featpipe_numeric_count(const featpipe *f);
/* Name of numeric slot i (< featpipe_numeric_count()); valid while f lives. */
const char *featpipe_slot_name(const featpipe *f, uint32_t i);
const welford *featpipe_slot_stats(const featpipe *f, uint32_t i);
/* Numeric featpipe that found no slot and were hashed instead. */
uint64_t featpipe_overflow(const featpipe *f);
/* Bytes held (struct, tables, names). */
size_t featpipe_memory(const featpipe *f);

/* Append f's full state to a snapshot / restore it. Restore returns
 * DD_ECORRUPT or DD_EVERSION for bad input, leaving *out NULL. */
dd_err featpipe_serialize(const featpipe *f, ser_writer *w);
dd_err featpipe_deserialize(ser_reader *r, featpipe **out, char **cause);

#endif
