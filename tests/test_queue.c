/*
 * test_queue.c: the bounded queue between threads: order, capacity,
 * timeouts, drop-oldest eviction, close semantics, and no item lost or
 * duplicated when producers and a consumer run in parallel.
 */
#include "queue.h"

#include "testutil.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define P(i) ((void *)(uintptr_t)(i))

static void fifo_order_and_capacity(void **state)
{
    queue *q = queue_new(3);
    for (uintptr_t i = 1; i <= 3; i++)
        assert_int_equal(queue_push(q, P(i), 0), QUEUE_OK);
    assert_int_equal(queue_length(q), 3);
    assert_int_equal(queue_push(q, P(4), 10), QUEUE_TIMEOUT); /* full: waits, then gives up */
    void *it;
    for (uintptr_t i = 1; i <= 3; i++) {
        assert_int_equal(queue_pop(q, &it, 0), QUEUE_OK);
        assert_ptr_equal(it, P(i));
    }
    assert_int_equal(queue_pop(q, &it, 10), QUEUE_TIMEOUT);
    queue_free(q, NULL);
}

static void drop_oldest_evicts_and_counts(void **state)
{
    queue *q = queue_new(2);
    void *ev;
    assert_int_equal(queue_push_drop_oldest(q, P(1), &ev), QUEUE_OK);
    assert_null(ev);
    queue_push_drop_oldest(q, P(2), &ev);
    assert_int_equal(queue_push_drop_oldest(q, P(3), &ev), QUEUE_OK);
    assert_ptr_equal(ev, P(1)); /* handed back to the caller to free and count */
    assert_int_equal(queue_dropped(q), 1);
    void *it;
    queue_pop(q, &it, 0);
    assert_ptr_equal(it, P(2));
    queue_pop(q, &it, 0);
    assert_ptr_equal(it, P(3));
    queue_free(q, NULL);
}

static void close_drains_then_reports_closed(void **state)
{
    queue *q = queue_new(4);
    queue_push(q, P(7), 0);
    queue_close(q);
    assert_int_equal(queue_push(q, P(8), 0), QUEUE_CLOSED);
    void *it;
    assert_int_equal(queue_pop(q, &it, -1), QUEUE_OK);
    assert_ptr_equal(it, P(7));
    assert_int_equal(queue_pop(q, &it, -1), QUEUE_CLOSED); /* does not block */
    queue_free(q, NULL);
}

static int freed;
static void count_free(void *p)
{
    free(p);
    freed++;
}

static void free_releases_items_left(void **state)
{
    queue *q = queue_new(4);
    queue_push(q, malloc(8), 0);
    queue_push(q, malloc(8), 0);
    freed = 0;
    queue_free(q, count_free);
    assert_int_equal(freed, 2);
    queue_free(NULL, NULL);
}

enum { PRODUCERS = 3, PER_PRODUCER = 100000 };

static void *producer(void *arg)
{
    queue *q = arg;
    static _Atomic uintptr_t next = 1;
    for (int i = 0; i < PER_PRODUCER; i++)
        if (queue_push(q, P(next++), -1) != QUEUE_OK)
            return P(1);
    return NULL;
}

static void blocked_producer_is_woken_by_close(void **state)
{
    queue *q = queue_new(1);
    queue_push(q, P(1), 0);
    pthread_t t;
    pthread_create(&t, NULL, producer, q); /* blocks: the queue is full */
    queue_close(q);
    void *ret;
    pthread_join(t, &ret);
    assert_ptr_equal(ret, P(1)); /* its push returned QUEUE_CLOSED */
    queue_free(q, NULL);
}

static void parallel_producers_lose_nothing(void **state)
{
    queue *q = queue_new(64); /* small: producers block often */
    pthread_t t[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&t[i], NULL, producer, q);
    uint64_t n = 0, sum = 0;
    void *it;
    while (n < (uint64_t)PRODUCERS * PER_PRODUCER) {
        assert_int_equal(queue_pop(q, &it, 10000), QUEUE_OK);
        sum += (uintptr_t)it;
        n++;
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(queue_length(q), 0);
    /* Items are distinct integers counted from a shared counter: their sum
     * is the sum of a range only if none was lost or duplicated. The counter
     * started after the other test's single push, so find the range from n. */
    uint64_t lo = sum / n - (n - 1) / 2;
    assert_int_equal(sum, n * lo + n * (n - 1) / 2);
    queue_free(q, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fifo_order_and_capacity),
        cmocka_unit_test(drop_oldest_evicts_and_counts),
        cmocka_unit_test(close_drains_then_reports_closed),
        cmocka_unit_test(free_releases_items_left),
        cmocka_unit_test(blocked_producer_is_woken_by_close),
        cmocka_unit_test(parallel_producers_lose_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
