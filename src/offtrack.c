/*
 * offtrack.c: the commit tracker (see offtrack.h). A growable ring of
 * in-flight messages and a small array of partitions with their committable
 * offsets and a dirty flag.
 */
#include "offtrack.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define UNKNOWN UINT32_MAX

typedef struct entry {
    uint64_t seq;
    int64_t offset;
    int32_t partition;
    uint32_t nevents; /* UNKNOWN until offtrack_set_events() */
    uint32_t acked;
} entry;

typedef struct part {
    int32_t partition;
    int64_t next;
    bool dirty;
} part;

struct offtrack {
    pthread_mutex_t lock;
    entry *ring;
    size_t cap, head, len;
    part *parts;
    size_t nparts, parts_cap;
};

offtrack *offtrack_new(void)
{
    offtrack *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->lock, NULL);
    return t;
}

void offtrack_free(offtrack *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->ring);
    free(t->parts);
    free(t);
}

static entry *at(offtrack *t, size_t i)
{
    return &t->ring[(t->head + i) % t->cap];
}

static bool grow_ring(offtrack *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    entry *r = malloc(cap * sizeof *r);
    if (!r)
        return false;
    for (size_t i = 0; i < t->len; i++)
        r[i] = *at(t, i);
    free(t->ring);
    t->ring = r;
    t->cap = cap;
    t->head = 0;
    return true;
}

/* Record that partition p may resume at next. Allocation failure loses
 * only progress (the offset is committed later), never data. */
static void advance(offtrack *t, int32_t p, int64_t next)
{
    for (size_t i = 0; i < t->nparts; i++) {
        if (t->parts[i].partition == p) {
            if (next > t->parts[i].next) {
                t->parts[i].next = next;
                t->parts[i].dirty = true;
            }
            return;
        }
    }
    if (t->nparts == t->parts_cap) {
        size_t cap = t->parts_cap ? t->parts_cap * 2 : 16;
        part *np = realloc(t->parts, cap * sizeof *np);
        if (!np)
            return;
        t->parts = np;
        t->parts_cap = cap;
    }
    t->parts[t->nparts++] = (part){p, next, true};
}

/* Pop done messages off the front. */
static void settle(offtrack *t)
{
    while (t->len) {
        entry *e = at(t, 0);
        if (e->nevents == UNKNOWN || e->acked < e->nevents)
            return;
        advance(t, e->partition, e->offset + 1);
        t->head = (t->head + 1) % t->cap;
        t->len--;
    }
}

dd_err offtrack_push(offtrack *t, uint64_t seq, int32_t partition, int64_t offset)
{
    pthread_mutex_lock(&t->lock);
    dd_err err = DD_OK;
    if (t->len == t->cap && !grow_ring(t))
        err = DD_ENOMEM;
    else
        *at(t, t->len++) = (entry){seq, offset, partition, UNKNOWN, 0};
    pthread_mutex_unlock(&t->lock);
    return err;
}

void offtrack_set_events(offtrack *t, uint64_t seq, uint32_t nevents)
{
    pthread_mutex_lock(&t->lock);
    if (t->len) {
        entry *e = at(t, t->len - 1);
        if (e->seq == seq)
            e->nevents = nevents;
        settle(t);
    }
    pthread_mutex_unlock(&t->lock);
}

void offtrack_ack(offtrack *t, uint64_t seq)
{
    pthread_mutex_lock(&t->lock);
    /* Messages before seq are done: the worker has moved past them. */
    while (t->len && at(t, 0)->seq < seq) {
        entry *e = at(t, 0);
        if (e->nevents == UNKNOWN) /* cannot happen: set before the next read */
            break;
        e->acked = e->nevents;
        settle(t);
    }
    if (t->len && at(t, 0)->seq == seq) {
        at(t, 0)->acked++;
        settle(t);
    }
    pthread_mutex_unlock(&t->lock);
}

size_t offtrack_drain(offtrack *t, void (*fn)(void *ctx, int32_t partition, int64_t next),
                      void *ctx)
{
    size_t n = 0;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->nparts; i++) {
        if (t->parts[i].dirty) {
            t->parts[i].dirty = false;
            fn(ctx, t->parts[i].partition, t->parts[i].next);
            n++;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}

void offtrack_redirty(offtrack *t)
{
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->nparts; i++)
        t->parts[i].dirty = true;
    pthread_mutex_unlock(&t->lock);
}

size_t offtrack_inflight(offtrack *t)
{
    pthread_mutex_lock(&t->lock);
    size_t n = t->len;
    pthread_mutex_unlock(&t->lock);
    return n;
}
