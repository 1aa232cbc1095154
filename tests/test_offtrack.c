/*
 * test_offtrack.c: the Kafka commit tracker. An offset becomes committable
 * only when every event of its message (and of every message read before
 * it) is processed; malformed messages (no events) never hold the stream
 * back; acks that overtake the source's bookkeeping are not lost; and a
 * producer and an acknowledging thread running at once end at the last
 * offsets.
 */
#include "offtrack.h"

#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct seen {
    int64_t next[8];
    int calls;
} seen;

static void note(void *ctx, int32_t p, int64_t next)
{
    seen *s = ctx;
    s->next[p] = next;
    s->calls++;
}

static seen drain(offtrack *t)
{
    seen s;
    memset(&s, 0xff, sizeof s.next);
    s.calls = 0;
    offtrack_drain(t, note, &s);
    return s;
}

static void offsets_commit_only_after_every_event(void **state)
{
    offtrack *t = offtrack_new();
    assert_int_equal(offtrack_push(t, 1, 0, 100), DD_OK);
    offtrack_set_events(t, 1, 2); /* a JSON array of two events */
    assert_int_equal(offtrack_push(t, 2, 0, 101), DD_OK);
    offtrack_set_events(t, 2, 1);
    offtrack_ack(t, 1);
    assert_int_equal(drain(t).calls, 0); /* one event of two: nothing yet */
    offtrack_ack(t, 1);
    seen s = drain(t);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.next[0], 101); /* resume after offset 100 */
    assert_int_equal(drain(t).calls, 0); /* reported once */
    offtrack_ack(t, 2);
    assert_int_equal(drain(t).next[0], 102);
    assert_int_equal(offtrack_inflight(t), 0);
    offtrack_free(t);
    offtrack_free(NULL);
}

static void ack_before_the_event_count_is_known(void **state)
{
    offtrack *t = offtrack_new();
    offtrack_push(t, 1, 3, 7);
    offtrack_ack(t, 1); /* the worker was faster than the source's bookkeeping */
    assert_int_equal(drain(t).calls, 0);
    offtrack_set_events(t, 1, 1);
    assert_int_equal(drain(t).next[3], 8);
    offtrack_free(t);
}

static void malformed_messages_never_hold_back(void **state)
{
    offtrack *t = offtrack_new();
    offtrack_push(t, 1, 0, 10);
    offtrack_set_events(t, 1, 0); /* dead-lettered: done at once */
    assert_int_equal(drain(t).next[0], 11);
    offtrack_push(t, 2, 0, 11);
    offtrack_set_events(t, 2, 1);
    offtrack_push(t, 3, 0, 12);
    offtrack_set_events(t, 3, 0); /* behind an unfinished message: waits */
    assert_int_equal(drain(t).calls, 0);
    offtrack_ack(t, 2);
    assert_int_equal(drain(t).next[0], 13);
    offtrack_free(t);
}

static void an_unfinished_message_holds_later_partitions(void **state)
{
    offtrack *t = offtrack_new();
    offtrack_push(t, 1, 0, 5);
    offtrack_set_events(t, 1, 1);
    offtrack_push(t, 2, 1, 50);
    offtrack_set_events(t, 2, 1);
    offtrack_push(t, 3, 0, 6);
    offtrack_set_events(t, 3, 1);
    offtrack_ack(t, 1);
    offtrack_ack(t, 2);
    seen s = drain(t);
    assert_int_equal(s.next[0], 6);
    assert_int_equal(s.next[1], 51);
    /* An ack for a later message covers the earlier ones. */
    offtrack_push(t, 4, 1, 51);
    offtrack_set_events(t, 4, 1);
    offtrack_ack(t, 4);
    s = drain(t);
    assert_int_equal(s.next[0], 7);
    assert_int_equal(s.next[1], 52);
    offtrack_free(t);
}

static void redirty_reports_every_partition_again(void **state)
{
    offtrack *t = offtrack_new();
    offtrack_push(t, 1, 0, 5);
    offtrack_set_events(t, 1, 0);
    offtrack_push(t, 2, 2, 9);
    offtrack_set_events(t, 2, 0);
    assert_int_equal(drain(t).calls, 2);
    assert_int_equal(drain(t).calls, 0);
    offtrack_redirty(t); /* partitions assigned again after a rebalance */
    seen s = drain(t);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.next[0], 6);
    assert_int_equal(s.next[2], 10);
    offtrack_free(t);
}

typedef struct shared {
    offtrack *t;
    _Atomic uint64_t pushed; /* the newest seq pushed (its event count may not be set yet) */
    uint64_t total;
} shared;

static void *acker(void *arg)
{
    shared *sh = arg;
    for (uint64_t seq = 1; seq <= sh->total; seq++) {
        /* a message's events reach the worker after its push, possibly
         * before its event count is set; never before the push */
        while (atomic_load(&sh->pushed) < seq)
            ;
        offtrack_ack(sh->t, seq);
    }
    return NULL;
}

static void concurrent_producer_and_acker_end_at_the_last_offsets(void **state)
{
    enum { N = 200000, PARTS = 4 };
    shared sh = {offtrack_new(), 0, N};
    pthread_t th;
    pthread_create(&th, NULL, acker, &sh);
    seen s;
    memset(&s, 0xff, sizeof s.next);
    s.calls = 0;
    for (uint64_t seq = 1; seq <= N; seq++) {
        assert_int_equal(offtrack_push(sh.t, seq, (int32_t)(seq % PARTS), (int64_t)(seq / PARTS)),
                         DD_OK);
        atomic_store(&sh.pushed, seq);
        offtrack_set_events(sh.t, seq, 1);
        if (seq % 1000 == 0)
            offtrack_drain(sh.t, note, &s);
    }
    pthread_join(th, NULL);
    offtrack_drain(sh.t, note, &s);
    assert_int_equal(offtrack_inflight(sh.t), 0);
    for (int p = 0; p < PARTS; p++) { /* after the last message of each partition */
        uint64_t last = N;
        while (last % PARTS != (uint64_t)p)
            last--;
        assert_int_equal(s.next[p], (int64_t)(last / PARTS) + 1);
    }
    offtrack_free(sh.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(offsets_commit_only_after_every_event),
        cmocka_unit_test(ack_before_the_event_count_is_known),
        cmocka_unit_test(malformed_messages_never_hold_back),
        cmocka_unit_test(an_unfinished_message_holds_later_partitions),
        cmocka_unit_test(redirty_reports_every_partition_again),
        cmocka_unit_test(concurrent_producer_and_acker_end_at_the_last_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
