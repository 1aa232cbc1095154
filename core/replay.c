/*
 * replay.c: see replay.h. Slots 0..size-1 are in use; the sum-tree holds
 * p^alpha per slot in prioritized mode. The class-balanced reservoir keeps,
 * per class, the list of its slots (and each slot's position in it) so a
 * random slot of a class is found and moved in O(1).
 */
#include "replay.h"

#include "rng.h"
#include "sumtree.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STRATA 256
#define MAX_DRAWS 64

typedef struct slot {
    dd_sparse x;
    double target, loss, prio;
    uint64_t index;
    uint32_t concept;
    int32_t cls; /* -1: none or not stratified */
} slot;

typedef struct stratum {
    uint32_t *slots, n, cap;
    uint64_t seen;
} stratum;

struct replay {
    replay_params p;
    slot *s;
    uint32_t size, fifo_next;
    uint64_t seen, offered, too_large, draws, newest;
    uint32_t concept;
    sumtree *tree;
    rng_t rng;
    stratum strata[MAX_STRATA];
    uint32_t *pos; /* slot -> position in its stratum's list */
};

void replay_params_default(replay_params *p)
{
    memset(p, 0, sizeof *p);
    p->capacity = 10000;
    p->mode = REPLAY_PRIORITIZED;
    p->insert = REPLAY_INSERT_RESERVOIR;
    p->stratify = false;
    p->alpha = 0.3;
    p->beta = 0.4;
    p->beta_steps = 2000;
    p->eps = 0.01;
    p->on_drift = REPLAY_DRIFT_DROP;
    p->drift_decay = 0.1;
    p->max_nnz = 4096;
    p->seed = 42;
}

dd_err replay_params_check(const replay_params *p, char **cause)
{
    if (p->capacity < 1 || p->capacity > (1u << 24))
        return dd_fail(cause, DD_EINVAL, "replay capacity must be in [1, 16777216], got %u",
                       p->capacity);
    if ((unsigned)p->mode > REPLAY_PRIORITIZED || (unsigned)p->insert > REPLAY_INSERT_FIFO ||
        (unsigned)p->on_drift > REPLAY_DRIFT_KEEP_TAGGED)
        return dd_fail(cause, DD_EINVAL, "replay mode, insert or on_drift out of range");
    if (!(p->alpha >= 0 && p->alpha <= 1))
        return dd_fail(cause, DD_EINVAL, "replay alpha must be in [0, 1], got %g", p->alpha);
    if (!(p->beta >= 0 && p->beta <= 1))
        return dd_fail(cause, DD_EINVAL, "replay beta must be in [0, 1], got %g", p->beta);
    if (!(p->eps > 0 && p->eps <= 10))
        return dd_fail(cause, DD_EINVAL, "replay eps must be in (0, 10], got %g", p->eps);
    if (!(p->drift_decay >= 0 && p->drift_decay <= 1))
        return dd_fail(cause, DD_EINVAL, "replay drift_decay must be in [0, 1], got %g",
                       p->drift_decay);
    if (p->max_nnz < 1 || p->max_nnz > (1u << 20))
        return dd_fail(cause, DD_EINVAL, "replay max_nnz must be in [1, 1048576], got %u",
                       p->max_nnz);
    return DD_OK;
}

replay *replay_new(const replay_params *p, char **cause)
{
    if (replay_params_check(p, cause))
        return NULL;
    replay *r = calloc(1, sizeof *r);
    if (!r) {
        dd_fail(cause, DD_ENOMEM, "no memory for a replay buffer");
        return NULL;
    }
    r->p = *p;
    /* capacity >= 1, checked above: NOLINTNEXTLINE(clang-analyzer-optin.portability.UnixAPI) */
    r->s = calloc(p->capacity, sizeof *r->s);
    r->pos = calloc(p->capacity, sizeof *r->pos);
    r->tree = sumtree_new(p->capacity);
    if (!r->s || !r->pos || !r->tree) {
        replay_free(r);
        dd_fail(cause, DD_ENOMEM, "no memory for %u replay slots", p->capacity);
        return NULL;
    }
    rng_seed(&r->rng, p->seed);
    return r;
}

void replay_free(replay *r)
{
    if (!r)
        return;
    if (r->s)
        for (uint32_t i = 0; i < r->p.capacity; i++)
            sparse_free(&r->s[i].x);
    for (int c = 0; c < MAX_STRATA; c++)
        free(r->strata[c].slots);
    free(r->s);
    free(r->pos);
    sumtree_free(r->tree);
    free(r);
}

static double leaf(const replay *r, double prio)
{
    return r->p.alpha == 1.0 ? prio : pow(prio, r->p.alpha);
}

/* ---- strata (class-balanced reservoir) ---- */

/* Room for one more slot in cls's list. DD_ENOMEM: unchanged. */
static dd_err stratum_reserve(replay *r, int32_t cls)
{
    stratum *st = &r->strata[cls];
    if (st->n < st->cap)
        return DD_OK;
    uint32_t cap = st->cap ? st->cap * 2 : 64;
    uint32_t *n = realloc(st->slots, cap * sizeof *n);
    if (!n)
        return DD_ENOMEM;
    st->slots = n;
    st->cap = cap;
    return DD_OK;
}

static void stratum_add(replay *r, int32_t cls, uint32_t at)
{
    stratum *st = &r->strata[cls];
    r->pos[at] = st->n;
    st->slots[st->n++] = at;
}

static void stratum_remove(replay *r, int32_t cls, uint32_t at)
{
    stratum *st = &r->strata[cls];
    uint32_t i = r->pos[at], last = st->slots[--st->n];
    st->slots[i] = last;
    r->pos[last] = i;
}

/* The slot a new event of class cls goes to when full, or UINT32_MAX to drop it. */
static uint32_t balanced_target(replay *r, int32_t cls)
{
    uint32_t biggest = 0;
    for (int c = 1; c < MAX_STRATA; c++)
        if (r->strata[c].n > r->strata[biggest].n)
            biggest = (uint32_t)c;
    stratum *own = &r->strata[cls];
    if (own->n < r->strata[biggest].n) {
        stratum *big = &r->strata[biggest];
        return big->slots[rng_below(&r->rng, big->n)];
    }
    /* cls is (one of) the largest: an ordinary reservoir within it */
    if (rng_below(&r->rng, own->seen) < own->n)
        return own->slots[rng_below(&r->rng, own->n)];
    return UINT32_MAX;
}

/* ---- push ---- */

static uint32_t target_slot(replay *r, int32_t cls)
{
    if (r->size < r->p.capacity)
        return r->size;
    if (r->p.insert == REPLAY_INSERT_FIFO) {
        uint32_t at = r->fifo_next;
        r->fifo_next = (r->fifo_next + 1) % r->p.capacity;
        return at;
    }
    if (cls >= 0)
        return balanced_target(r, cls);
    uint64_t j = rng_below(&r->rng, r->seen);
    return j < r->p.capacity ? (uint32_t)j : UINT32_MAX;
}

dd_err replay_push(replay *r, const dd_sparse *x, double target, int32_t cls, double loss,
                   uint64_t index)
{
    r->offered++;
    r->newest = index;
    if (x->n > r->p.max_nnz) {
        r->too_large++;
        return DD_ELIMIT;
    }
    if (!r->p.stratify || cls < 0 || cls >= MAX_STRATA)
        cls = -1;
    if (cls >= 0 && stratum_reserve(r, cls))
        return DD_ENOMEM;
    r->seen++;
    if (cls >= 0)
        r->strata[cls].seen++;
    uint32_t at = target_slot(r, cls);
    if (at == UINT32_MAX)
        return DD_OK;
    slot *s = &r->s[at];
    if (sparse_reserve(&s->x, x->n ? x->n : 1))
        return DD_ENOMEM; /* the slot is unchanged */
    if (at == r->size)
        r->size++;
    else if (s->cls >= 0)
        stratum_remove(r, s->cls, at);
    if (cls >= 0)
        stratum_add(r, cls, at);
    memcpy(s->x.idx, x->idx, x->n * sizeof *x->idx);
    memcpy(s->x.val, x->val, x->n * sizeof *x->val);
    s->x.n = x->n;
    s->target = target;
    s->cls = cls;
    s->loss = loss;
    s->prio = (isfinite(loss) ? fabs(loss) : 0.0) + r->p.eps;
    s->index = index;
    s->concept = r->concept;
    if (r->p.mode == REPLAY_PRIORITIZED)
        sumtree_set(r->tree, at, leaf(r, s->prio));
    return DD_OK;
}

/* ---- sampling ---- */

double replay_beta(const replay *r)
{
    if (r->p.beta_steps == 0 || r->draws >= r->p.beta_steps)
        return 1.0;
    return r->p.beta + (1.0 - r->p.beta) * (double)r->draws / (double)r->p.beta_steps;
}

uint32_t replay_sample(replay *r, uint32_t k, replay_draw *out)
{
    if (r->size == 0 || k == 0)
        return 0;
    if (k > MAX_DRAWS)
        k = MAX_DRAWS;
    double total = sumtree_total(r->tree);
    if (r->p.mode == REPLAY_RESERVOIR || !(total > 0)) {
        for (uint32_t i = 0; i < k; i++) {
            uint32_t at = (uint32_t)rng_below(&r->rng, r->size);
            out[i] = (replay_draw){at, &r->s[at].x, r->s[at].target, 1.0};
        }
        r->draws++;
        return k;
    }
    double beta = replay_beta(r), seg = total / k, pmin = sumtree_min(r->tree);
    for (uint32_t i = 0; i < k; i++) {
        uint32_t at = sumtree_find(r->tree, (i + rng_uniform(&r->rng)) * seg);
        double pl = sumtree_get(r->tree, at);
        /* w = (N P(i))^-beta / max_j (N P(j))^-beta = (p_i / p_min)^-beta */
        double w = pl > 0 && pmin > 0 ? pow(pl / pmin, -beta) : 1.0;
        out[i] = (replay_draw){at, &r->s[at].x, r->s[at].target, w};
    }
    r->draws++;
    return k;
}

void replay_update(replay *r, uint32_t slot_i, double loss)
{
    if (slot_i >= r->size || !isfinite(loss))
        return;
    slot *s = &r->s[slot_i];
    s->loss = loss;
    s->prio = fabs(loss) + r->p.eps;
    if (r->p.mode == REPLAY_PRIORITIZED)
        sumtree_set(r->tree, slot_i, leaf(r, s->prio));
}

/* ---- drift ---- */

void replay_on_drift(replay *r)
{
    switch (r->p.on_drift) {
    case REPLAY_DRIFT_DROP:
        r->size = 0;
        r->fifo_next = 0;
        sumtree_clear(r->tree);
        for (int c = 0; c < MAX_STRATA; c++)
            r->strata[c].n = 0;
        break;
    case REPLAY_DRIFT_DECAY:
        for (uint32_t i = 0; i < r->size; i++) {
            r->s[i].prio *= r->p.drift_decay;
            if (r->p.mode == REPLAY_PRIORITIZED)
                sumtree_set(r->tree, i, leaf(r, r->s[i].prio));
        }
        break;
    case REPLAY_DRIFT_KEEP_TAGGED:
        break;
    }
    /* the reservoir restarts: new events replace old ones at once */
    r->seen = r->size;
    for (int c = 0; c < MAX_STRATA; c++)
        r->strata[c].seen = r->strata[c].n;
    r->concept ++;
}

/* ---- inspection ---- */

uint32_t replay_size(const replay *r)
{
    return r->size;
}

const replay_params *replay_get_params(const replay *r)
{
    return &r->p;
}

uint32_t replay_capacity(const replay *r)
{
    return r->p.capacity;
}

uint64_t replay_seen(const replay *r)
{
    return r->offered;
}

uint64_t replay_too_large(const replay *r)
{
    return r->too_large;
}

uint32_t replay_concept(const replay *r)
{
    return r->concept;
}

size_t replay_memory(const replay *r)
{
    size_t n =
        sizeof *r + sumtree_memory(r->tree) + r->p.capacity * (sizeof *r->s + sizeof *r->pos);
    for (uint32_t i = 0; i < r->p.capacity; i++)
        n += r->s[i].x.cap * (sizeof(uint32_t) + sizeof(double));
    for (int c = 0; c < MAX_STRATA; c++)
        n += r->strata[c].cap * sizeof(uint32_t);
    return n;
}

static void fill_info(const replay *r, uint32_t at, replay_info *o)
{
    const slot *s = &r->s[at];
    o->slot = at;
    o->priority = s->prio;
    o->target = s->target;
    o->age = r->newest >= s->index ? r->newest - s->index : 0;
    o->loss = s->loss;
    o->concept = s->concept;
    size_t used = 0;
    o->summary[0] = '\0';
    for (uint32_t i = 0; i < s->x.n && used + 1 < sizeof o->summary; i++) {
        int w = snprintf(o->summary + used, sizeof o->summary - used, "%s%u:%.3g", i ? " " : "",
                         s->x.idx[i], s->x.val[i]);
        if (w < 0 || used + (size_t)w >= sizeof o->summary) {
            o->summary[used] = '\0'; /* whole pairs only */
            break;
        }
        used += (size_t)w;
    }
}

dd_err replay_entry(const replay *r, uint32_t pos, replay_info *out)
{
    if (pos >= r->size)
        return DD_ENOTFOUND;
    fill_info(r, pos, out);
    return DD_OK;
}

uint32_t replay_top(const replay *r, replay_info *out, uint32_t n)
{
    uint32_t have = 0;
    for (uint32_t i = 0; i < r->size; i++) {
        double p = r->s[i].prio;
        if (have == n && (n == 0 || p <= out[have - 1].priority))
            continue;
        uint32_t j = have < n ? have++ : have - 1;
        while (j > 0 && out[j - 1].priority < p) {
            out[j] = out[j - 1];
            j--;
        }
        fill_info(r, i, &out[j]);
    }
    return have;
}

/* ---- serialization ---- */

#define REPLAY_MAGIC 0x31504c52u /* "RLP1" */

static void put_params(ser_writer *w, const replay_params *p)
{
    ser_put_u32(w, p->capacity);
    ser_put_u32(w, p->mode);
    ser_put_u32(w, p->insert);
    ser_put_u32(w, p->stratify);
    ser_put_f64(w, p->alpha);
    ser_put_f64(w, p->beta);
    ser_put_u32(w, p->beta_steps);
    ser_put_f64(w, p->eps);
    ser_put_u32(w, p->on_drift);
    ser_put_f64(w, p->drift_decay);
    ser_put_u32(w, p->max_nnz);
    ser_put_u64(w, p->seed);
}

static void get_params(ser_reader *rd, replay_params *p)
{
    p->capacity = ser_get_u32(rd);
    p->mode = (replay_mode)ser_get_u32(rd);
    p->insert = (replay_insert)ser_get_u32(rd);
    p->stratify = ser_get_u32(rd) != 0;
    p->alpha = ser_get_f64(rd);
    p->beta = ser_get_f64(rd);
    p->beta_steps = ser_get_u32(rd);
    p->eps = ser_get_f64(rd);
    p->on_drift = (replay_drift_policy)ser_get_u32(rd);
    p->drift_decay = ser_get_f64(rd);
    p->max_nnz = ser_get_u32(rd);
    p->seed = ser_get_u64(rd);
}

void replay_serialize(const replay *r, ser_writer *w)
{
    ser_put_u32(w, REPLAY_MAGIC);
    put_params(w, &r->p);
    uint64_t counters[] = {r->seen, r->offered, r->too_large, r->draws, r->newest};
    for (size_t i = 0; i < DD_ARRAY_LEN(counters); i++)
        ser_put_u64(w, counters[i]);
    ser_put_u32(w, r->size);
    ser_put_u32(w, r->fifo_next);
    ser_put_u32(w, r->concept);
    for (int i = 0; i < 4; i++)
        ser_put_u64(w, r->rng.s[i]);
    for (uint32_t i = 0; i < r->size; i++) {
        const slot *s = &r->s[i];
        ser_put_f64(w, s->target);
        ser_put_f64(w, s->loss);
        ser_put_f64(w, s->prio);
        ser_put_u64(w, s->index);
        ser_put_u32(w, s->concept);
        ser_put_u32(w, (uint32_t)s->cls);
        ser_put_u32(w, s->x.n);
        for (uint32_t k = 0; k < s->x.n; k++) {
            ser_put_u32(w, s->x.idx[k]);
            ser_put_f64(w, s->x.val[k]);
        }
    }
    /* the strata's list order decides future random picks: keep it */
    for (int c = 0; c < MAX_STRATA; c++) {
        const stratum *st = &r->strata[c];
        if (!st->n && !st->seen)
            continue;
        ser_put_u32(w, (uint32_t)c);
        ser_put_u64(w, st->seen);
        ser_put_u32(w, st->n);
        for (uint32_t k = 0; k < st->n; k++)
            ser_put_u32(w, st->slots[k]);
    }
    ser_put_u32(w, UINT32_MAX);
}

static bool get_slot(ser_reader *rd, replay *r, uint32_t i)
{
    slot *s = &r->s[i];
    s->target = ser_get_f64(rd);
    s->loss = ser_get_f64(rd);
    s->prio = ser_get_f64(rd);
    s->index = ser_get_u64(rd);
    s->concept = ser_get_u32(rd);
    s->cls = (int32_t)ser_get_u32(rd);
    uint32_t n = ser_get_u32(rd);
    if (rd->failed || n > r->p.max_nnz || (uint64_t)n * 12 > rd->len - rd->at ||
        !isfinite(s->target) || !(s->prio > 0) || !isfinite(s->prio) || s->cls < -1 ||
        s->cls >= MAX_STRATA || sparse_reserve(&s->x, n ? n : 1))
        return false;
    for (uint32_t k = 0; k < n; k++) {
        s->x.idx[k] = ser_get_u32(rd);
        s->x.val[k] = ser_get_f64(rd);
    }
    s->x.n = n;
    if (r->p.mode == REPLAY_PRIORITIZED)
        sumtree_set(r->tree, i, leaf(r, s->prio));
    return !rd->failed;
}

static bool get_strata(ser_reader *rd, replay *r)
{
    uint32_t total = 0;
    for (;;) {
        uint32_t c = ser_get_u32(rd);
        if (rd->failed)
            return false;
        if (c == UINT32_MAX)
            break;
        if (c >= MAX_STRATA || r->strata[c].cap)
            return false;
        stratum *st = &r->strata[c];
        st->seen = ser_get_u64(rd);
        uint32_t n = ser_get_u32(rd);
        if (rd->failed || n > r->size || (uint64_t)n * 4 > rd->len - rd->at)
            return false;
        st->slots = malloc((n ? n : 1) * sizeof *st->slots);
        if (!st->slots)
            return false;
        st->cap = n ? n : 1;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t at = ser_get_u32(rd);
            if (at >= r->size || r->s[at].cls != (int32_t)c)
                return false;
            st->slots[k] = at;
            r->pos[at] = k;
        }
        st->n = n;
        total += n;
    }
    uint32_t tagged = 0;
    for (uint32_t i = 0; i < r->size; i++)
        tagged += r->s[i].cls >= 0;
    return total == tagged;
}

dd_err replay_deserialize(ser_reader *rd, replay **out, char **cause)
{
    if (ser_get_u32(rd) != REPLAY_MAGIC)
        return dd_fail(cause, DD_ECORRUPT, "replay snapshot: bad magic");
    replay_params p;
    get_params(rd, &p);
    if (rd->failed || replay_params_check(&p, NULL))
        return dd_fail(cause, DD_ECORRUPT, "replay snapshot: settings out of range");
    replay *r = replay_new(&p, NULL);
    if (!r)
        return dd_fail(cause, DD_ENOMEM, "no memory for the replay buffer");
    r->seen = ser_get_u64(rd);
    r->offered = ser_get_u64(rd);
    r->too_large = ser_get_u64(rd);
    r->draws = ser_get_u64(rd);
    r->newest = ser_get_u64(rd);
    r->size = ser_get_u32(rd);
    r->fifo_next = ser_get_u32(rd);
    r->concept = ser_get_u32(rd);
    for (int i = 0; i < 4; i++)
        r->rng.s[i] = ser_get_u64(rd);
    bool ok = !rd->failed && r->size <= p.capacity && r->fifo_next < p.capacity;
    uint32_t size = ok ? r->size : 0;
    r->size = 0; /* slots count as filled only once read */
    for (uint32_t i = 0; ok && i < size; i++) {
        ok = get_slot(rd, r, i);
        r->size = i + 1;
    }
    ok = ok && get_strata(rd, r);
    if (!ok) {
        replay_free(r);
        return dd_fail(cause, DD_ECORRUPT, "replay snapshot: damaged or truncated");
    }
    *out = r;
    return DD_OK;
}
