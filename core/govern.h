/*
 * govern.h: the one state machine of model versions.
 *
 *   candidate -> shadow -> awaiting_approval -> canary -> active -> retired
 *
 * plus rejected (a challenger that lost, or that an operator refused) and
 * rolled_back (a canary that did not hold up, or an active version undone).
 * A version enters as a candidate; the start version and a rollback clone go
 * from candidate straight to active (nothing to compare them with: the first
 * has no rival, the clone is a copy of a version that already served).
 * retired, rejected and rolled_back are final. Every transition carries a
 * reason and an actor (a user's name or "policy").
 *
 * The allowed moves are one const table in govern.c; everything that changes
 * a status (the policy, the registry, the rollback command) asks
 * govern_check() first, and the registry checks again against the stored
 * status before it writes.
 */
#ifndef DD_GOVERN_H
#define DD_GOVERN_H

#include "dd.h"

#include <stdbool.h>

typedef enum gov_status {
    GOV_CANDIDATE = 0,
    GOV_SHADOW,
    GOV_AWAITING_APPROVAL,
    GOV_CANARY,
    GOV_ACTIVE,
    GOV_RETIRED,
    GOV_REJECTED,
    GOV_ROLLED_BACK,
    GOV_STATUS__COUNT
} gov_status;

/* Why a version was created. */
typedef enum gov_trigger {
    GOV_TRIG_START = 0,  /* the first version of a workspace */
    GOV_TRIG_CHECKPOINT, /* gated mode: the learning challenger */
    GOV_TRIG_DRIFT,      /* a confirmed drift created it */
    GOV_TRIG_MANUAL,     /* an operator asked for it */
    GOV_TRIG_ROLLBACK,   /* a clone of an earlier version */
    GOV_TRIGGER__COUNT
} gov_trigger;

/* Names as stored in the database ("awaiting_approval"); "?" if out of range. */
const char *gov_status_name(gov_status s);
const char *gov_trigger_name(gov_trigger t);

/* Parse a stored name. DD_ENOTFOUND for an unknown one. */
dd_err gov_status_parse(const char *name, gov_status *out);
dd_err gov_trigger_parse(const char *name, gov_trigger *out);

/* Is from -> to allowed for a version created by trigger? DD_OK, or DD_ESTATE
 * with a cause that says why not ("retired is final", "a drift candidate must
 * be shadowed before it serves"). This function has no side effects. */
dd_err govern_check(gov_status from, gov_status to, gov_trigger trigger, char **cause);

/* Final states never change again. */
bool gov_status_is_final(gov_status s);

/* Live states: the version predicts on the stream (shadow, awaiting_approval,
 * canary, active). */
bool gov_status_is_live(gov_status s);

#endif
