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
 *   mlp       the last hidden layer (model_embed()) of a frozen model version:
 *             a cloned MLP and the cloned feature pipeline state that turns an
 *             event into its sparse input exactly as the learning pipeline
 *             does. The transform owns both copies (embed_set_model()); until
 *             it has them it embeds nothing (embed_can_embed() false). Its
 *             version names the registry version and a hash of the model's
 *             and the features' serialized state, so two copies of one
 *             version taken at different times never share a version.
 * No threads, no I/O.
 */
#ifndef DD_EMBED_H
#define DD_EMBED_H

#include "dd.h"
#include "event.h"
#include "featpipe.h"
#include "model.h"

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
    uint32_t dim;        /* output dimension, default 64 (1..65536) */
    char text_field[64]; /* ngram: "text" means the event's text, else a string feature */
    uint32_t ngram_min;  /* default 3 */
    uint32_t ngram_max;  /* default 4 */
    uint64_t seed;       /* hash seed, default 0 */
} embed_params;

typedef struct embed embed;

/* Defaults: ngram over "text", dim 64, n-grams 3..4, seed 0. */
embed_params embed_params_default(void);

/* "features", "ngram", "carried", "mlp"; parse returns DD_EINVAL otherwise. */
const char *embed_kind_name(embed_kind k);
dd_err embed_kind_parse(const char *name, embed_kind *out);

/* Returns a new transform, or NULL with *cause set. Borrows p. A features
 * transform starts unfrozen (embed_is_frozen() false); an mlp transform
 * starts without a model (embed_can_embed() false). Free with embed_free(). */
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

/* True when embed_raw() can embed events (always, except an mlp transform
 * that has no model yet). */
bool embed_can_embed(const embed *e);

/* DD_OK when m fits this transform as its frozen model: the transform is
 * mlp, m is an MLP ([model] kind = mlp) and its last hidden layer has
 * embed_dim() units; DD_EINVAL with *cause saying which otherwise. */
dd_err embed_check_model(const embed *e, const model *m, char **cause);

/* Give an mlp transform its frozen model version: m (see embed_check_model())
 * and fp, the feature pipeline state that turns an event into m's input.
 * Takes m and fp in every case (freed on failure). model_id names the
 * version (the registry's id); the version string becomes
 * "mlp/1 d=16 seed=0 model=3 state=<16 hex digits>", the hash over both
 * serialized states. O(parameters) (serialization for the hash).
 * DD_EINVAL (embed_check_model()), DD_ENOMEM; on failure the transform is
 * unchanged. */
dd_err embed_set_model(embed *e, model *m, featpipe *fp, uint64_t model_id, char **cause);

/* An mlp transform without a model takes a saved version string (the one
 * its stored vectors carry), so those vectors are used as they are; it still
 * embeds no event until embed_set_model(). DD_EINVAL when e is not mlp, has a
 * model, or version is not an mlp version of this dimension and seed. */
dd_err embed_restore_version(embed *e, const char *version, char **cause);

/* The raw (pre-statistics) vector of ev into raw[dim]. Borrows ev.
 * DD_ENOTFOUND: the event has nothing this kind embeds (no text, no emb, no
 * features); DD_EINVAL: a carried vector of the wrong dimension;
 * DD_ENONFINITE: a non-finite coordinate; DD_ESTATE: an mlp transform
 * without a model; DD_ENOMEM. raw is undefined on error. */
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
