/*
 * offtrack.h: which consumed Kafka messages are fully processed, so their
 * offsets may be committed (at-least-once).
 *
 * The source numbers the messages it reads (seq, strictly increasing) and
 * records each one's partition and offset before handing it to ingest; once
 * ingest says how many events it became, it records that too. The worker
 * acknowledges each event it has processed by its message's seq. Events of
 * one source reach the worker in order, so an ack for seq s also means every
 * message before s is done (including messages that became no event:
 * malformed ones, dead-lettered). A message is done when all its events are
 * acknowledged; done messages leave the front of a FIFO and advance their
 * partition's committable offset (offset + 1). Nothing after the first
 * unfinished message advances, whatever its partition: one FIFO keeps the
 * rule simple and the cost O(1) amortized per message and per ack.
 *
 * Thread-safe (one mutex): the source thread pushes and drains, the worker
 * thread acknowledges.
 */
#ifndef DD_OFFTRACK_H
#define DD_OFFTRACK_H

#include "dd.h"

#include <stddef.h>
#include <stdint.h>

typedef struct offtrack offtrack;

/* Returns a new, empty tracker, or NULL on no memory. Free with
 * offtrack_free(). */
offtrack *offtrack_new(void);
void offtrack_free(offtrack *t);

/* A message was read (before ingest sees it). seq must exceed every seq
 * pushed before. DD_ENOMEM: not recorded (the caller stops reading). */
dd_err offtrack_push(offtrack *t, uint64_t seq, int32_t partition, int64_t offset);

/* Message seq (the last pushed) became nevents events (0: none will be acked). */
void offtrack_set_events(offtrack *t, uint64_t seq, uint32_t nevents);

/* The worker processed one event of message seq. */
void offtrack_ack(offtrack *t, uint64_t seq);

/* Report, for every partition that advanced since the last call, the next
 * offset to consume (the committable position). Returns how many. */
size_t offtrack_drain(offtrack *t, void (*fn)(void *ctx, int32_t partition, int64_t next),
                      void *ctx);

/* Report every partition again at the next drain (its last committable
 * offset): after partitions are assigned again, so progress whose store
 * failed while they were unassigned (a rebalance) is not lost. */
void offtrack_redirty(offtrack *t);

/* Messages read and not yet done. */
size_t offtrack_inflight(offtrack *t);

#endif
