/*
 * replay.h: the experience-replay buffer.
 *
 * A fixed number of slots, each holding a copy of one labelled event (its
 * sparse input, target, last loss, priority, arrival index and the concept it
 * came from). Which events stay: reservoir sampling (Vitter's algorithm R:
 * a uniform sample of the stream so far), or FIFO; with `stratify`, a
 * class-balanced reservoir (Chrysakis & Moens 2020: when full, a new event
 * replaces one of the largest class), so a rare class keeps its share.
 * Which events are replayed: uniformly, or prioritized (Schaul et al. 2015):
 * P(i) = p_i^alpha / sum p^alpha with p_i = |loss_i| + eps, importance-
 * sampling weights w_i = (N P(i))^-beta / max w, beta annealed linearly to 1,
 * k draws from k equal segments of the sum-tree: O(k log n).
 *
 * After a confirmed drift the old entries' labels may be wrong for the new
 * concept: replay_on_drift() drops them, decays their priorities, or keeps
 * them tagged with their concept; the reservoir's count restarts so new
 * events enter at once. Slot buffers are reused: no allocation per event
 * once every slot has held an input of the current size.
 */
#ifndef DD_REPLAY_H
#define DD_REPLAY_H

#include "dd.h"
#include "serial.h"
#include "sparse.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum replay_mode { REPLAY_RESERVOIR = 0, REPLAY_PRIORITIZED } replay_mode;
typedef enum replay_insert { REPLAY_INSERT_RESERVOIR = 0, REPLAY_INSERT_FIFO } replay_insert;
typedef enum replay_drift_policy {
    REPLAY_DRIFT_DROP = 0,
    REPLAY_DRIFT_DECAY,
    REPLAY_DRIFT_KEEP_TAGGED
} replay_drift_policy;

typedef struct replay_params {
    uint32_t capacity;    /* slots */
    replay_mode mode;     /* how replayed events are drawn */
    replay_insert insert; /* which events stay */
    bool stratify;        /* class-balanced reservoir (classification) */
    double alpha;         /* priority exponent */
    double beta;          /* initial IS exponent, annealed to 1 ... */
    uint32_t beta_steps;  /* ... over this many draws */
    double eps;           /* priority floor: p = |loss| + eps */
    replay_drift_policy on_drift;
    double drift_decay; /* REPLAY_DRIFT_DECAY: priority multiplier */
    uint32_t max_nnz;   /* inputs with more non-zeros are not stored (counted) */
    uint64_t seed;
} replay_params;

/* Defaults: 10000 slots, prioritized, reservoir insertion, alpha 0.3, beta
 * 0.4 annealed over 2000 draws, eps 0.01, drop on drift (measured in
 * doc/LEARNING.md: label noise makes high-loss events noisy ones, so a mild
 * alpha and a quick full correction serve best). Can't fail. */
void replay_params_default(replay_params *p);

/* DD_EINVAL naming the field and its range. */
dd_err replay_params_check(const replay_params *p, char **cause);

typedef struct replay replay;

/* Returns a new, empty buffer or NULL with *cause set. Borrows p. Free with replay_free(). */
replay *replay_new(const replay_params *p, char **cause);
void replay_free(replay *r);

/* Offer one labelled event (index: its arrival number, for ages; cls: its
 * class for stratification, -1 for none). Copies x. DD_OK whether or not it
 * was kept; DD_ELIMIT (counted) above max_nnz; DD_ENOMEM: buffer unchanged. */
dd_err replay_push(replay *r, const dd_sparse *x, double target, int32_t cls, double loss,
                   uint64_t index);

/* One drawn entry. x points into the buffer: valid until the next
 * replay_push(), replay_on_drift() or replay_free(). */
typedef struct replay_draw {
    uint32_t slot;
    const dd_sparse *x;
    double target;
    double is_weight; /* 1 in reservoir mode */
} replay_draw;

/* Draw up to k entries (k <= 64) into out; returns how many (0 when empty). */
uint32_t replay_sample(replay *r, uint32_t k, replay_draw *out);

/* The loss of a replayed entry after its step: its new priority. */
void replay_update(replay *r, uint32_t slot, double loss);

/* A confirmed drift: apply the policy; later entries get the next concept tag. */
void replay_on_drift(replay *r);

uint32_t replay_size(const replay *r);
const replay_params *replay_get_params(const replay *r);
uint32_t replay_capacity(const replay *r);
uint64_t replay_seen(const replay *r);      /* events offered */
uint64_t replay_too_large(const replay *r); /* events refused for max_nnz */
uint32_t replay_concept(const replay *r);   /* the current concept tag */
double replay_beta(const replay *r);        /* the IS exponent now */
size_t replay_memory(const replay *r);      /* bytes held */

/* What the console shows of one entry. */
typedef struct replay_info {
    uint32_t slot;
    double priority; /* |loss| + eps (before the alpha exponent) */
    double target;
    uint64_t age; /* arrival distance from the newest offered event */
    double loss;
    uint32_t concept;
    char summary[48]; /* the first non-zeros: "3:0.52 17:-1.2 ..." */
} replay_info;

/* The n entries of highest priority, highest first, into out; returns how
 * many. O(capacity * n) at worst: for the console's snapshot, not per event. */
uint32_t replay_top(const replay *r, replay_info *out, uint32_t n);

/* Entry by position 0..size-1 (slot order). DD_ENOTFOUND beyond. */
dd_err replay_entry(const replay *r, uint32_t pos, replay_info *out);

/* Append the whole buffer (settings, entries, counters, random state) to w,
 * so a restored buffer draws exactly what this one would. */
void replay_serialize(const replay *r, ser_writer *w);

/* Rebuild a buffer from rd. DD_ECORRUPT for damaged input (nothing is
 * trusted: settings are checked, every index and length is bounded);
 * *out is set only on success. */
dd_err replay_deserialize(ser_reader *rd, replay **out, char **cause);

#endif
