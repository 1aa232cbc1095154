/*
 * queue.h: a bounded, blocking queue of pointers between threads.
 *
 * A ring buffer of fixed capacity behind one mutex and two condition
 * variables. Producers either block when it is full or, with drop-oldest,
 * evict the oldest item (handed back to them to free and count). The consumer
 * pops with a timeout so it can do periodic work. Ownership of an item passes
 * with it: whoever pops (or is handed an evicted item) frees it.
 * queue_close() wakes everyone: pushes then fail, pops drain what is left and
 * then return QUEUE_CLOSED.
 */
#ifndef DD_QUEUE_H
#define DD_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct queue queue;

typedef enum queue_result {
    QUEUE_OK = 0,
    QUEUE_TIMEOUT, /* pop: nothing arrived in time; push: still full after the wait */
    QUEUE_CLOSED,  /* closed (push) or closed and drained (pop) */
} queue_result;

/* Returns a new queue of the given capacity (> 0), or NULL on no memory.
 * Free with queue_free(), after every thread has stopped using it; items
 * still inside are passed to free_item (if not NULL). */
queue *queue_new(size_t capacity);
void queue_free(queue *q, void (*free_item)(void *));

/* Push, waiting while full. timeout_ms < 0 waits forever. */
queue_result queue_push(queue *q, void *item, int timeout_ms);

/* Push without waiting; when full, evict the oldest item into *evicted (the
 * caller frees it) and push. *evicted is NULL when nothing was evicted. */
queue_result queue_push_drop_oldest(queue *q, void *item, void **evicted);

/* Pop the oldest item into *item, waiting up to timeout_ms (< 0: forever). */
queue_result queue_pop(queue *q, void **item, int timeout_ms);

/* Items now queued, and the capacity. */
size_t queue_length(queue *q);
size_t queue_capacity(const queue *q);

/* Total items evicted by queue_push_drop_oldest since creation. */
uint64_t queue_dropped(queue *q);

void queue_close(queue *q);

#endif
