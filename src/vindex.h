/*
 * vindex.h: a C interface over hnswlib 0.6.2 (Malkov & Yashunin 2018, HNSW),
 * the project's only C++ code (src/vindex.cpp).
 *
 * One index holds float vectors of a fixed dimension under 64-bit labels, in
 * one of three spaces: cosine (vectors normalized on the way in, inner-product
 * distance), inner product, or squared L2. Distances are hnswlib's: smaller is
 * closer (1 - dot for cosine/ip, squared Euclidean for l2).
 *
 * Threads: hnswlib 0.6.2's search takes no locks and is not safe beside
 * addPoint/markDelete, so every index carries a pthread read-write lock:
 * search takes it for reading; upsert, delete, resize, set_ef and swap for
 * writing. Any number of searches run together; one writer at a time.
 *
 * Slots: markDelete hides a label, but in 0.6.2 its slot is reused only when
 * the same label comes back, so deleted slots pile up under churn; the owner
 * watches vindex_deleted() and rebuilds (see kstore.c's compaction).
 *
 * Files: vindex_save() writes hnswlib's graph to PATH and a small text header
 * to PATH.meta holding the space, dimension, counts, the caller's 64-bit tag
 * and the SHA-256 of the graph file; vindex_load() refuses (DD_ECORRUPT,
 * DD_EVERSION, DD_EINVAL) anything that does not match before hnswlib reads
 * a byte of it. Both files are written to temporaries and renamed.
 */
#ifndef DD_VINDEX_H
#define DD_VINDEX_H

#include "dd.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vindex_space {
    VINDEX_COSINE = 0,
    VINDEX_IP,
    VINDEX_L2,
    VINDEX_SPACE__COUNT
} vindex_space;

typedef struct vindex vindex;

typedef struct vindex_params {
    vindex_space space;
    uint32_t dim;
    size_t capacity;          /* initial slots; the index grows by doubling */
    uint32_t m;               /* graph degree M, default 16 */
    uint32_t ef_construction; /* default 100 */
    uint32_t ef_search;       /* default 100 */
    uint64_t seed;            /* level generator seed, default 100 */
} vindex_params;

typedef struct vindex_hit {
    uint64_t label;
    float dist; /* smaller is closer */
} vindex_hit;

/* Defaults: cosine, dim 64, capacity 1024, M 16, ef_construction 100, ef 100
 * (recall@10 >= 0.95 on issue #9's Gaussian mixture; see doc/PERFORMANCE.md). */
vindex_params vindex_params_default(void);

/* "cosine", "ip", "l2"; and back. Parse returns DD_EINVAL for other names. */
const char *vindex_space_name(vindex_space s);
dd_err vindex_space_parse(const char *name, vindex_space *out);

/* Returns a new empty index, or NULL with *cause set. Free with vindex_free(). */
vindex *vindex_new(const vindex_params *p, char **cause);
void vindex_free(vindex *v);

/* Insert vec (dim floats, all finite) under label, or replace the vector a
 * label already has (a deleted label comes back in its own slot). Grows the
 * index when it is full. Copies vec. DD_ENONFINITE, DD_ENOMEM on failure, the
 * index unchanged. */
dd_err vindex_upsert(vindex *v, uint64_t label, const float *vec, char **cause);

/* Hide label from searches. DD_ENOTFOUND if absent or already deleted. */
dd_err vindex_delete(vindex *v, uint64_t label);

/* 1 if label is present and not deleted, else 0. */
int vindex_contains(vindex *v, uint64_t label);

/* The k nearest live labels to q, closest first, into out[0..*n). ef 0 keeps
 * the index's current ef (a different ef is set for the whole index first). */
dd_err vindex_search(vindex *v, const float *q, uint32_t k, uint32_t ef, vindex_hit *out,
                     uint32_t *n, char **cause);

/* Make room for capacity slots (never below the slots in use). */
dd_err vindex_resize(vindex *v, size_t capacity, char **cause);

/* Exchange the contents of a and b (same space and dimension) under both
 * write locks: readers of a see the old graph or the new one, never a mix. */
dd_err vindex_swap(vindex *a, vindex *b, char **cause);

/* Save to path and path.meta with tag (the owner's fingerprint of what the
 * index holds). Takes the read lock: searches continue during a save. */
dd_err vindex_save(vindex *v, const char *path, uint64_t tag, char **cause);

/* Load an index saved by vindex_save(), checking it against p's space and
 * dimension and the SHA-256 in path.meta. On success *tag is the saved tag.
 * Returns a new index, or NULL with *err (if not NULL) and *cause set:
 * DD_ENOTFOUND (no file), DD_ECORRUPT (checksum or header mismatch),
 * DD_EINVAL (other space or dimension), DD_EVERSION (other format). */
vindex *vindex_load(const vindex_params *p, const char *path, uint64_t *tag, dd_err *err,
                    char **cause);

uint32_t vindex_dim(const vindex *v);
vindex_space vindex_get_space(const vindex *v);
size_t vindex_count(vindex *v);    /* live labels */
size_t vindex_deleted(vindex *v);  /* slots held by deleted labels */
size_t vindex_capacity(vindex *v); /* slots allocated */
size_t vindex_memory(vindex *v);   /* bytes held, estimated from hnswlib's layout */

#ifdef __cplusplus
}
#endif

#endif
