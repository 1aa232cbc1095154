/*
 * pending.c: the delayed-label table (see pending.h).
 *
 * Slab of `cap` entries; free slots chain through `next`. Held slots form a
 * doubly-linked list in arrival order (head = oldest). The index is a power
 * of two at least twice the capacity (load <= 1/2), each cell a slot number
 * or EMPTY; a cell's home is hash & mask and probing is linear. Deleting
 * shifts later cells of the same cluster back so lookups never need
 * tombstones (Knuth, TAOCP vol. 3, 6.4, Algorithm R).
 */
#include "pending.h"

#include "hash.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY UINT32_MAX
#define NIL UINT32_MAX

typedef struct slot {
    pending_entry e;
    uint64_t hash;
    uint32_t prev, next; /* arrival list when held; next = free chain when free */
} slot;

struct pending {
    pending_params p;
    slot *slots;
    uint32_t cap, held, free_head;
    uint32_t head, tail; /* oldest, newest */
    uint32_t *index;
    uint32_t mask;
    pending_stats st;
};

void pending_params_default(pending_params *p)
{
    p->capacity = 100000;
    p->max_age = 86400.0;
    p->max_events = 0;
}

pending *pending_new(const pending_params *p, char **cause)
{
    if (p->capacity == 0 || p->capacity > (1u << 26)) {
        dd_fail(cause, DD_EINVAL, "pending capacity must be in 1..%u, got %u", 1u << 26,
                p->capacity);
        return NULL;
    }
    if (!(p->max_age >= 0)) {
        dd_fail(cause, DD_EINVAL, "pending max_age must be >= 0, got %g", p->max_age);
        return NULL;
    }
    pending *t = calloc(1, sizeof *t);
    uint32_t size = 2;
    while (size < 2 * p->capacity)
        size *= 2;
    if (t) {
        t->slots = calloc(p->capacity, sizeof *t->slots);
        t->index = malloc((size_t)size * sizeof *t->index);
    }
    if (!t || !t->slots || !t->index) {
        pending_free(t);
        dd_fail(cause, DD_ENOMEM, "out of memory for %u pending entries", p->capacity);
        return NULL;
    }
    t->p = *p;
    t->cap = p->capacity;
    t->mask = size - 1;
    memset(t->index, 0xff, (size_t)size * sizeof *t->index);
    for (uint32_t i = 0; i < t->cap; i++)
        t->slots[i].next = i + 1 < t->cap ? i + 1 : NIL;
    t->free_head = 0;
    t->head = t->tail = NIL;
    t->st.capacity = t->cap;
    return t;
}

static uint64_t entry_bytes(const pending_entry *e)
{
    return strlen(e->id) + 1 + (e->group ? strlen(e->group) + 1 : 0) +
           (uint64_t)e->x.cap * (sizeof *e->x.idx + sizeof *e->x.val);
}

void pending_entry_clear(pending_entry *e)
{
    if (!e)
        return;
    free(e->id);
    free(e->group);
    sparse_free(&e->x);
    memset(e, 0, sizeof *e);
}

void pending_free(pending *t)
{
    if (!t)
        return;
    if (t->slots)
        for (uint32_t i = t->head; i != NIL; i = t->slots[i].next)
            pending_entry_clear(&t->slots[i].e);
    free(t->slots);
    free(t->index);
    free(t);
}

/* Index cell holding slot s's id, or the empty cell where it would go. */
static uint32_t find_cell(const pending *t, const char *id, uint64_t h)
{
    uint32_t c = (uint32_t)h & t->mask;
    for (;;) {
        uint32_t s = t->index[c];
        if (s == EMPTY || (t->slots[s].hash == h && !strcmp(t->slots[s].e.id, id)))
            return c;
        c = (c + 1) & t->mask;
    }
}

/* Empty cell c and shift the rest of its cluster back where they may go. */
static void delete_cell(pending *t, uint32_t c)
{
    uint32_t hole = c;
    for (uint32_t j = (c + 1) & t->mask; t->index[j] != EMPTY; j = (j + 1) & t->mask) {
        uint32_t home = (uint32_t)t->slots[t->index[j]].hash & t->mask;
        /* j's entry may move to the hole unless its home lies in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            t->index[hole] = t->index[j];
            hole = j;
        }
    }
    t->index[hole] = EMPTY;
}

static void list_unlink(pending *t, uint32_t s)
{
    slot *x = &t->slots[s];
    if (x->prev != NIL)
        t->slots[x->prev].next = x->next;
    else
        t->head = x->next;
    if (x->next != NIL)
        t->slots[x->next].prev = x->prev;
    else
        t->tail = x->prev;
}

/* Unhook slot s from the index and the list and free its slot; the entry's
 * buffers move to *out (or are freed when out is NULL). */
static void remove_slot(pending *t, uint32_t s, pending_entry *out)
{
    slot *x = &t->slots[s];
    delete_cell(t, find_cell(t, x->e.id, x->hash));
    list_unlink(t, s);
    t->st.bytes -= entry_bytes(&x->e);
    if (out)
        *out = x->e;
    else
        pending_entry_clear(&x->e);
    memset(&x->e, 0, sizeof x->e);
    x->next = t->free_head;
    t->free_head = s;
    t->held--;
    t->st.held = t->held;
}

static dd_err copy_entry(pending_entry *e, const char *id, const char *group, const dd_sparse *x)
{
    memset(e, 0, sizeof *e);
    e->id = strdup(id);
    e->group = group ? strdup(group) : NULL;
    dd_err err = (!e->id || (group && !e->group)) ? DD_ENOMEM : DD_OK;
    if (!err && x && x->n) {
        err = sparse_reserve(&e->x, x->n);
        if (!err) {
            memcpy(e->x.idx, x->idx, x->n * sizeof *x->idx);
            memcpy(e->x.val, x->val, x->n * sizeof *x->val);
            e->x.n = x->n;
        }
    }
    if (err)
        pending_entry_clear(e);
    return err;
}

dd_err pending_add(pending *t, const char *id, const char *group, double ts, uint64_t seq,
                   const dd_sparse *x, const pending_pred *pred, uint32_t npred)
{
    if (!id || npred > PENDING_MAX_PREDS)
        return DD_EINVAL;
    pending_entry e;
    if (copy_entry(&e, id, group, x))
        return DD_ENOMEM;
    e.ts = ts;
    e.seq = seq;
    e.npred = npred;
    if (npred)
        memcpy(e.pred, pred, npred * sizeof *pred);

    uint64_t h = hash_str(id);
    uint32_t c = find_cell(t, id, h);
    if (t->index[c] != EMPTY) {
        remove_slot(t, t->index[c], NULL);
        t->st.replaced++;
    } else if (t->held == t->cap) {
        remove_slot(t, t->head, NULL);
        t->st.evicted++;
    }
    c = find_cell(t, id, h); /* removals may have shifted cells */
    uint32_t s = t->free_head;
    slot *sl = &t->slots[s];
    t->free_head = sl->next;
    sl->e = e;
    sl->hash = h;
    sl->prev = t->tail;
    sl->next = NIL;
    if (t->tail != NIL)
        t->slots[t->tail].next = s;
    else
        t->head = s;
    t->tail = s;
    t->index[c] = s;
    t->held++;
    t->st.held = t->held;
    t->st.added++;
    t->st.bytes += entry_bytes(&e);
    return DD_OK;
}

dd_err pending_add_pred(pending *t, const char *id, const pending_pred *pred)
{
    uint32_t c = find_cell(t, id, hash_str(id));
    if (t->index[c] == EMPTY)
        return DD_ENOTFOUND;
    pending_entry *e = &t->slots[t->index[c]].e;
    if (e->npred == PENDING_MAX_PREDS)
        return DD_EFULL;
    e->pred[e->npred++] = *pred;
    return DD_OK;
}

dd_err pending_take(pending *t, const char *id, pending_entry *out)
{
    memset(out, 0, sizeof *out);
    uint32_t c = find_cell(t, id, hash_str(id));
    if (t->index[c] == EMPTY) {
        t->st.orphans++;
        return DD_ENOTFOUND;
    }
    remove_slot(t, t->index[c], out);
    t->st.joined++;
    return DD_OK;
}

int pending_contains(const pending *t, const char *id)
{
    return t->index[find_cell(t, id, hash_str(id))] != EMPTY;
}

uint64_t pending_expire(pending *t, double now_ts, uint64_t now_seq)
{
    uint64_t n = 0;
    while (t->head != NIL) {
        const pending_entry *e = &t->slots[t->head].e;
        bool old = t->p.max_age > 0 && e->ts < now_ts - t->p.max_age;
        bool far = t->p.max_events > 0 && now_seq > e->seq && now_seq - e->seq > t->p.max_events;
        if (!old && !far)
            break;
        remove_slot(t, t->head, NULL);
        n++;
    }
    t->st.expired += n;
    return n;
}

void pending_get_stats(const pending *t, pending_stats *st)
{
    *st = t->st;
}

/* ---- checkpoint ------------------------------------------------------------ */

#define PENDING_MAGIC 0x50454e44u /* "PEND" */
#define PENDING_VERSION 1u
#define PENDING_MAX_STRING 65536u /* an id or group: the event limit's maximum */
#define PENDING_MAX_NNZ (1u << 20)

static void put_entry(ser_writer *w, const pending_entry *e)
{
    ser_put_str(w, e->id);
    ser_put_str(w, e->group);
    ser_put_f64(w, e->ts);
    ser_put_u64(w, e->seq);
    ser_put_u32(w, e->x.n);
    for (uint32_t i = 0; i < e->x.n; i++) {
        ser_put_u32(w, e->x.idx[i]);
        ser_put_f64(w, e->x.val[i]);
    }
    ser_put_u32(w, e->npred);
    for (uint32_t i = 0; i < e->npred; i++) {
        ser_put_u64(w, e->pred[i].version);
        ser_put_u32(w, (uint32_t)e->pred[i].out.cls);
        ser_put_f64(w, e->pred[i].out.score);
    }
}

dd_err pending_serialize(const pending *t, ser_writer *w)
{
    ser_put_u32(w, PENDING_MAGIC);
    ser_put_u32(w, PENDING_VERSION);
    const uint64_t counters[] = {t->st.added,   t->st.joined,  t->st.orphans,
                                 t->st.expired, t->st.evicted, t->st.replaced};
    for (size_t i = 0; i < DD_ARRAY_LEN(counters); i++)
        ser_put_u64(w, counters[i]);
    ser_put_u32(w, t->held);
    for (uint32_t s = t->head; s != NIL; s = t->slots[s].next)
        put_entry(w, &t->slots[s].e);
    return w->failed ? DD_ENOMEM : DD_OK;
}

/* One entry into e (owned), checked: DD_ECORRUPT when anything is off. */
static dd_err get_entry(ser_reader *r, uint32_t max_index, pending_entry *e)
{
    memset(e, 0, sizeof *e);
    e->id = ser_get_str(r, PENDING_MAX_STRING);
    e->group = ser_get_str(r, PENDING_MAX_STRING);
    e->ts = ser_get_f64(r);
    e->seq = ser_get_u64(r);
    uint32_t n = ser_get_u32(r);
    if (r->failed || !e->id || !isfinite(e->ts) || n > PENDING_MAX_NNZ ||
        (size_t)n * 12 > r->len - r->at || (n && sparse_reserve(&e->x, n)))
        return DD_ECORRUPT;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t idx = ser_get_u32(r);
        double v = ser_get_f64(r);
        if (r->failed || idx >= max_index || !isfinite(v))
            return DD_ECORRUPT;
        sparse_push(&e->x, idx, v);
    }
    e->npred = ser_get_u32(r);
    if (r->failed || e->npred > PENDING_MAX_PREDS)
        return DD_ECORRUPT;
    for (uint32_t i = 0; i < e->npred; i++) {
        e->pred[i].version = ser_get_u64(r);
        e->pred[i].out.cls = (int32_t)ser_get_u32(r);
        e->pred[i].out.score = ser_get_f64(r);
        if (r->failed || e->pred[i].out.cls < -1 || !isfinite(e->pred[i].out.score))
            return DD_ECORRUPT;
    }
    return DD_OK;
}

dd_err pending_deserialize(pending *t, ser_reader *r, uint32_t max_index, char **cause)
{
    if (ser_get_u32(r) != PENDING_MAGIC)
        return dd_fail(cause, DD_ECORRUPT, "not a pending-label snapshot");
    uint32_t version = ser_get_u32(r);
    if (version != PENDING_VERSION)
        return dd_fail(cause, DD_EVERSION, "pending-label snapshot version %u, expected %u",
                       version, PENDING_VERSION);
    uint64_t c[6];
    for (size_t i = 0; i < DD_ARRAY_LEN(c); i++)
        c[i] = ser_get_u64(r);
    uint32_t held = ser_get_u32(r);
    if (r->failed || held > (1u << 26))
        return dd_fail(cause, DD_ECORRUPT, "pending-label snapshot header is invalid");
    if (t->held)
        return dd_fail(cause, DD_ESTATE, "pending-label snapshot: the table is not empty");
    const uint64_t evicted = t->st.evicted, replaced = t->st.replaced;
    for (uint32_t i = 0; i < held; i++) {
        pending_entry e;
        dd_err err = get_entry(r, max_index, &e);
        if (!err)
            err = pending_add(t, e.id, e.group, e.ts, e.seq, &e.x, e.pred, e.npred);
        pending_entry_clear(&e);
        if (err)
            return dd_fail(cause, err == DD_ENOMEM ? DD_ENOMEM : DD_ECORRUPT,
                           "pending-label snapshot: entry %u of %u is invalid", i + 1, held);
    }
    /* the saved counters, plus what a smaller table evicted while loading */
    t->st.added = c[0];
    t->st.joined = c[1];
    t->st.orphans = c[2];
    t->st.expired = c[3];
    t->st.evicted = c[4] + (t->st.evicted - evicted);
    t->st.replaced = c[5] + (t->st.replaced - replaced);
    return DD_OK;
}
