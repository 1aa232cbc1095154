/*
 * embed.h: frozen, versioned transforms from an event to a dense vector, for
 * the knowledge store.
 *
 * Vectors from different coordinate systems must never share an index, so
 * every transform has a version string naming everything that fixes its
 * coordinates (kind, dimension, seed, n-gram range, frozen statistics); the
 * store records it beside each vector and rebuilds when it changes.
 *
 * An event becomes a vector in two steps. embed_raw() is the pure, stateless
 * part (hashing); embed_finish() applies the frozen statistics (identity for
 * kinds without any). The store keeps the raw vector, so new statistics
 * re-embed stored entries without re-reading the stream.
 *
 * Kinds (one function each in a const table; a new kind is one function):
 *   features  signed feature hashing (Weinberger et al. 2009) of numeric
 *             values and of name=value categoricals, then standardized per
 *             coordinate with mean/std frozen by embed_freeze();
 *   ngram     signed hashed character n-grams of a text field, counts, then
 *             L2-normalized (the hashing trick of Weinberger et al. 2009);
 *   carried   the event's own "emb" vector, checked for dimension and
 *             finiteness;
 *   mlp       an MLP's last hidden layer: not available until model.h
 *             exposes an embedding function (embed_new() refuses it).
 * No threads, no I/O.
 */
#ifndef DD_EMBED_H
#define DD_EMBED_H

#include "dd.h"
#include "event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum embed_kind {
    EMBED_FEATURES = 0,
    EMBED_NGRAM,
    EMBED_CARRIED,
    EMBED_MLP,
    EMBED_KIND__COUNT
} embed_kind;

typedef struct embed_params {
    embed_kind kind;
    uint32_t dim;         /* output dimension, default 64 (1..65536) */
    char text_field[64];  /* ngram: "text" means the event's text, else a string feature */
    uint32_t ngram_min;   /* default 3 */
    uint32_t ngram_max;   /* default 4 */
    uint64_t seed;        /* hash seed, default 0 */
} embed_params;

typedef struct embed embed;

/* Defaults: ngram over "text", dim 64, n-grams 3..4, seed 0. */
embed_params embed_params_default(void);

/* "features", "ngram", "carried", "mlp"; parse returns DD_EINVAL otherwise. */
const char *embed_kind_name(embed_kind k);
dd_err embed_kind_parse(const char *name, embed_kind *out);

/* Returns a new transform, or NULL with *cause set. Borrows p. A features
 * transform starts unfrozen (embed_is_frozen() false). Free with embed_free(). */
embed *embed_new(const embed_params *p, char **cause);
void embed_free(embed *e);

uint32_t embed_dim(const embed *e);
embed_kind embed_get_kind(const embed *e);

/* The version string, e.g. "ngram/1 d=64 n=3-4 seed=0" or
 * "features/1 d=64 seed=0 stats=9f3c..."; valid until the next embed_freeze()
 * or embed_free(). */
const char *embed_version(const embed *e);

/* True when embed_finish() can run (always, except an unfrozen features
 * transform). */
bool embed_is_frozen(const embed *e);

/* The raw (pre-statistics) vector of ev into raw[dim]. Borrows ev.
 * DD_ENOTFOUND: the event has nothing this kind embeds (no text, no emb, no
 * features); DD_EINVAL: a carried vector of the wrong dimension;
 * DD_ENONFINITE: a non-finite coordinate. raw is undefined on error. */
dd_err embed_raw(const embed *e, const dd_event *ev, float *raw, char **cause);

/* out[dim] = the frozen statistics applied to raw[dim] (out may be raw).
 * DD_ESTATE when not frozen. */
dd_err embed_finish(const embed *e, const float *raw, float *out);

/* Freeze per-coordinate mean and standard deviation from n raw vectors
 * (n >= 2) and renew the version. Only for features; DD_EINVAL otherwise.
 * On failure the transform is unchanged. O(n dim). */
dd_err embed_freeze(embed *e, const float *raws, size_t n, char **cause);

/* The frozen statistics as 2*dim floats (means, then standard deviations),
 * for the store to persist; NULL when none. embed_set_stats() restores them
 * (DD_EINVAL for another kind, DD_ENONFINITE for non-finite or std <= 0). */
const float *embed_stats(const embed *e);
dd_err embed_set_stats(embed *e, const float *stats, char **cause);

#endif
