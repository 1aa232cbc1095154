/*
 * govern.c: the transition table of model versions (see govern.h).
 */
#include "govern.h"

#include <string.h>

static const char *const status_names[GOV_STATUS__COUNT] = {
    [GOV_CANDIDATE] = "candidate",
    [GOV_SHADOW] = "shadow",
    [GOV_AWAITING_APPROVAL] = "awaiting_approval",
    [GOV_CANARY] = "canary",
    [GOV_ACTIVE] = "active",
    [GOV_RETIRED] = "retired",
    [GOV_REJECTED] = "rejected",
    [GOV_ROLLED_BACK] = "rolled_back",
};

static const char *const trigger_names[GOV_TRIGGER__COUNT] = {
    [GOV_TRIG_START] = "start",   [GOV_TRIG_CHECKPOINT] = "checkpoint", [GOV_TRIG_DRIFT] = "drift",
    [GOV_TRIG_MANUAL] = "manual", [GOV_TRIG_ROLLBACK] = "rollback",
};

#define ANY_TRIGGER ((1u << GOV_TRIGGER__COUNT) - 1)
#define TRIG(t) (1u << (t))
#define CHALLENGERS (TRIG(GOV_TRIG_CHECKPOINT) | TRIG(GOV_TRIG_DRIFT) | TRIG(GOV_TRIG_MANUAL))

/* Every allowed move; anything not listed is refused. */
static const struct move {
    gov_status from, to;
    unsigned triggers; /* bit set of the gov_trigger values allowed */
    const char *meaning;
} moves[] = {
    {GOV_CANDIDATE, GOV_SHADOW, CHALLENGERS, "starts predicting beside the active version"},
    {GOV_CANDIDATE, GOV_ACTIVE, TRIG(GOV_TRIG_START) | TRIG(GOV_TRIG_ROLLBACK),
     "serves at once (first version, or a clone of one that served)"},
    {GOV_CANDIDATE, GOV_REJECTED, ANY_TRIGGER, "dropped before it ran"},
    {GOV_SHADOW, GOV_AWAITING_APPROVAL, ANY_TRIGGER, "beat the active version in shadow"},
    {GOV_SHADOW, GOV_REJECTED, ANY_TRIGGER, "did not beat the active version"},
    {GOV_AWAITING_APPROVAL, GOV_CANARY, ANY_TRIGGER, "approved: serves a share of events"},
    {GOV_AWAITING_APPROVAL, GOV_REJECTED, ANY_TRIGGER, "refused"},
    {GOV_CANARY, GOV_ACTIVE, ANY_TRIGGER, "held up in canary: promoted"},
    {GOV_CANARY, GOV_ROLLED_BACK, ANY_TRIGGER, "did not hold up in canary"},
    {GOV_ACTIVE, GOV_RETIRED, ANY_TRIGGER, "replaced by a promoted version"},
    {GOV_ACTIVE, GOV_ROLLED_BACK, ANY_TRIGGER, "undone: an earlier version serves again"},
};

const char *gov_status_name(gov_status s)
{
    return (unsigned)s < GOV_STATUS__COUNT ? status_names[s] : "?";
}

const char *gov_trigger_name(gov_trigger t)
{
    return (unsigned)t < GOV_TRIGGER__COUNT ? trigger_names[t] : "?";
}

dd_err gov_status_parse(const char *name, gov_status *out)
{
    for (int i = 0; name && i < GOV_STATUS__COUNT; i++)
        if (!strcmp(name, status_names[i])) {
            *out = (gov_status)i;
            return DD_OK;
        }
    return DD_ENOTFOUND;
}

dd_err gov_trigger_parse(const char *name, gov_trigger *out)
{
    for (int i = 0; name && i < GOV_TRIGGER__COUNT; i++)
        if (!strcmp(name, trigger_names[i])) {
            *out = (gov_trigger)i;
            return DD_OK;
        }
    return DD_ENOTFOUND;
}

bool gov_status_is_final(gov_status s)
{
    return s == GOV_RETIRED || s == GOV_REJECTED || s == GOV_ROLLED_BACK;
}

bool gov_status_is_live(gov_status s)
{
    return s == GOV_SHADOW || s == GOV_AWAITING_APPROVAL || s == GOV_CANARY || s == GOV_ACTIVE;
}

dd_err govern_check(gov_status from, gov_status to, gov_trigger trigger, char **cause)
{
    if ((unsigned)from >= GOV_STATUS__COUNT || (unsigned)to >= GOV_STATUS__COUNT ||
        (unsigned)trigger >= GOV_TRIGGER__COUNT)
        return dd_fail(cause, DD_EINVAL, "unknown status or trigger (%d -> %d, trigger %d)",
                       (int)from, (int)to, (int)trigger);
    const char *f = status_names[from], *t = status_names[to];
    if (gov_status_is_final(from))
        return dd_fail(cause, DD_ESTATE, "cannot go from %s to %s: %s is final", f, t, f);
    if (from == to)
        return dd_fail(cause, DD_ESTATE, "the version is already %s", f);
    for (size_t i = 0; i < DD_ARRAY_LEN(moves); i++) {
        if (moves[i].from != from || moves[i].to != to)
            continue;
        if (moves[i].triggers & TRIG(trigger))
            return DD_OK;
        return dd_fail(cause, DD_ESTATE,
                       "cannot go from %s to %s for a version created by %s: only start "
                       "versions and rollback clones serve without shadow, approval and canary",
                       f, t, trigger_names[trigger]);
    }
    return dd_fail(cause, DD_ESTATE,
                   "cannot go from %s to %s: the path is candidate -> shadow -> "
                   "awaiting_approval -> canary -> active -> retired",
                   f, t);
}
