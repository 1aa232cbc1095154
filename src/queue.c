/*
 * queue.c: the bounded blocking queue (see queue.h). A ring of capacity
 * slots; head is the oldest item. Every operation is O(1) under the lock.
 */
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    size_t cap, head, len;
    size_t pop_waiters, push_waiters; /* signal only when someone waits */
    uint64_t dropped;
    bool closed;
    void **slots;
};

queue *queue_new(size_t capacity)
{
    if (capacity == 0)
        return NULL;
    queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->slots = calloc(capacity, sizeof *q->slots);
    if (!q->slots) {
        free(q);
        return NULL;
    }
    q->cap = capacity;
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->not_empty, &ca);
    pthread_cond_init(&q->not_full, &ca);
    pthread_condattr_destroy(&ca);
    return q;
}

void queue_free(queue *q, void (*free_item)(void *))
{
    if (!q)
        return;
    if (free_item)
        for (size_t i = 0; i < q->len; i++)
            free_item(q->slots[(q->head + i) % q->cap]);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    pthread_mutex_destroy(&q->lock);
    free(q->slots);
    free(q);
}

static struct timespec deadline_after(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Wait on cond until pred-change or deadline; returns false on timeout. */
static bool wait_until(pthread_cond_t *c, pthread_mutex_t *m, int timeout_ms,
                       const struct timespec *dl)
{
    if (timeout_ms < 0) {
        pthread_cond_wait(c, m);
        return true;
    }
    return pthread_cond_timedwait(c, m, dl) != ETIMEDOUT;
}

queue_result queue_push(queue *q, void *item, int timeout_ms)
{
    struct timespec dl = deadline_after(timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock(&q->lock);
    while (q->len == q->cap && !q->closed) {
        q->push_waiters++;
        bool woke = wait_until(&q->not_full, &q->lock, timeout_ms, &dl);
        q->push_waiters--;
        if (!woke && q->len == q->cap && !q->closed) {
            pthread_mutex_unlock(&q->lock);
            return QUEUE_TIMEOUT;
        }
    }
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        return QUEUE_CLOSED;
    }
    q->slots[(q->head + q->len) % q->cap] = item;
    q->len++;
    if (q->pop_waiters)
        pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
    return QUEUE_OK;
}

queue_result queue_push_drop_oldest(queue *q, void *item, void **evicted)
{
    *evicted = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        return QUEUE_CLOSED;
    }
    if (q->len == q->cap) {
        *evicted = q->slots[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        q->dropped++;
    }
    q->slots[(q->head + q->len) % q->cap] = item;
    q->len++;
    if (q->pop_waiters)
        pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
    return QUEUE_OK;
}

queue_result queue_pop(queue *q, void **item, int timeout_ms)
{
    struct timespec dl = deadline_after(timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock(&q->lock);
    while (q->len == 0 && !q->closed) {
        q->pop_waiters++;
        bool woke = wait_until(&q->not_empty, &q->lock, timeout_ms, &dl);
        q->pop_waiters--;
        if (!woke && q->len == 0 && !q->closed) {
            pthread_mutex_unlock(&q->lock);
            return QUEUE_TIMEOUT;
        }
    }
    if (q->len == 0) {
        pthread_mutex_unlock(&q->lock);
        return QUEUE_CLOSED;
    }
    *item = q->slots[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    if (q->push_waiters)
        pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->lock);
    return QUEUE_OK;
}

size_t queue_length(queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->len;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t queue_capacity(const queue *q)
{
    return q->cap;
}

uint64_t queue_dropped(queue *q)
{
    pthread_mutex_lock(&q->lock);
    uint64_t n = q->dropped;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void queue_close(queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}
