/*
 * policy.c: the governance policy (see policy.h).
 *
 * State: three slots (active, challenger, previous), fixed-size rings of
 * scores (each slot's rolling window; paired rings for the shadow comparison
 * and the post-promotion watch, filled only on events both versions saw),
 * canary counters, and up to POLICY_MAX_GROUPS per-group rings for the
 * fairness trigger. Every decision goes through move(), which asks
 * govern_check() and emits the transition record; nothing else changes a
 * status.
 */
#include "policy.h"

#include "audit.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLICY_MAX_GROUPS 8
#define GROUP_NAME_MAX 32
#define RECENT_CAP 100u
#define BLOB_MAGIC 0x4c4f5044u /* "DPOL" */
#define BLOB_VERSION 1u

typedef struct ring {
    float *v;
    uint32_t cap, n, pos;
    double sum;
} ring;

typedef struct slot {
    int64_t id; /* 0: empty */
    gov_status status;
    gov_trigger trigger;
    uint64_t labelled;
    double score_sum;
    ring roll;
} slot;

typedef struct group {
    char name[GROUP_NAME_MAX];
    ring r;
} group;

enum want { WANT_NONE = 0, WANT_CANDIDATE, WANT_RESTORE };

struct policy {
    policy_params p;
    int64_t next_id;
    slot act, chal, prev;
    ring cmp_act, cmp_chal;     /* shadow: paired, since the challenger went live */
    ring watch_act, watch_prev; /* after a promotion: paired */
    ring recent;                /* the active version's last RECENT_CAP scores */
    uint64_t chal_since;        /* labelled events in the challenger's current stage */
    uint64_t can_n, act_n;      /* canary: labelled events served by each side */
    double can_sum, act_sum;
    bool watching;
    uint64_t promoted_at;
    double promoted_acc;
    group groups[POLICY_MAX_GROUPS];
    uint32_t ngroups;
    uint64_t last_checkpoint, last_metrics, batch_first, event;
    unsigned actions;
    enum want want;
    gov_trigger want_trigger;
    int64_t want_parent;
    char want_reason[200];
    audit_hasher *batch;
    uint64_t batch_events;
    rec_list out;
    uint64_t promotions, rollbacks, candidates, lost_records;
    bool closed_live; /* policy_close_live() ran: the start is a fresh start */
};

/* ---- parameters ---------------------------------------------------------- */

void policy_params_default(policy_params *p)
{
    *p = (policy_params){
        .mode = POLICY_CONTINUOUS,
        .checkpoint_every = 10000,
        .metrics_every = 200,
        .rolling_window = 500,
        .shadow_window = 300,
        .shadow_margin = 0.02,
        .shadow_max = 5000,
        .approval = POLICY_APPROVE_THRESHOLD,
        .approve_threshold = 0.05,
        .canary_share = 0.2,
        .canary_window = 100,
        .canary_tolerance = 0.02,
        .rollback_watch = 2000,
        .rollback_min = 200,
        .rollback_margin = 0.05,
        .fairness_max_gap = 1.0,
        .fairness_min = 50,
    };
}

dd_err policy_params_check(const policy_params *p, char **cause)
{
    if (p->checkpoint_every < 1)
        return dd_fail(cause, DD_EINVAL, "checkpoint_every must be >= 1");
    if (p->metrics_every < 1)
        return dd_fail(cause, DD_EINVAL, "metrics_every must be >= 1");
    if (p->rolling_window < 10 || p->rolling_window > 1000000)
        return dd_fail(cause, DD_EINVAL, "rolling_window must be in 10..1000000, got %u",
                       p->rolling_window);
    if (p->shadow_window < 10 || p->shadow_window > 1000000)
        return dd_fail(cause, DD_EINVAL, "shadow_window must be in 10..1000000, got %u",
                       p->shadow_window);
    if (!(p->canary_share > 0 && p->canary_share < 1))
        return dd_fail(cause, DD_EINVAL, "canary_share must be in (0, 1), got %g", p->canary_share);
    if (p->canary_window < 1)
        return dd_fail(cause, DD_EINVAL, "canary_window must be >= 1");
    if (!(p->shadow_margin >= 0 && p->shadow_margin < 1) ||
        !(p->rollback_margin >= 0 && p->rollback_margin < 1) ||
        !(p->canary_tolerance >= 0 && p->canary_tolerance < 1) ||
        !(p->approve_threshold >= 0 && p->approve_threshold <= 1))
        return dd_fail(cause, DD_EINVAL, "margins, tolerances and thresholds must be in [0, 1)");
    if (!(p->fairness_max_gap > 0))
        return dd_fail(cause, DD_EINVAL, "fairness_max_gap must be > 0 (>= 1 disables it)");
    if ((unsigned)p->mode > POLICY_GATED || (unsigned)p->approval > POLICY_APPROVE_OPERATOR)
        return dd_fail(cause, DD_EINVAL, "unknown mode or approval");
    return DD_OK;
}

/* ---- rings --------------------------------------------------------------- */

static bool ring_init(ring *r, uint32_t cap)
{
    r->v = calloc(cap, sizeof *r->v);
    r->cap = cap;
    r->n = r->pos = 0;
    r->sum = 0;
    return r->v != NULL;
}

static void ring_reset(ring *r)
{
    r->n = r->pos = 0;
    r->sum = 0;
}

static void ring_push(ring *r, double x)
{
    if (!r || r->cap == 0)
        return;
    if (r->n == r->cap)
        r->sum -= r->v[r->pos];
    else
        r->n++;
    r->v[r->pos] = (float)x;
    r->sum += (float)x;
    r->pos = (r->pos + 1) % r->cap;
    if (r->pos == 0) { /* re-add once per lap so rounding cannot accumulate */
        r->sum = 0;
        for (uint32_t i = 0; i < r->n; i++)
            r->sum += r->v[i];
    }
}

/* The mean, or -1 when empty. */
static double ring_mean(const ring *r)
{
    return r->n ? r->sum / r->n : -1.0;
}

/* The i-th oldest value. */
static float ring_at(const ring *r, uint32_t i)
{
    uint32_t start = r->n == r->cap ? r->pos : 0;
    return r->v[(start + i) % r->cap];
}

/* ---- records ------------------------------------------------------------- */

static void emit(policy *pol, gov_record *r)
{
    if (r)
        rec_list_push(&pol->out, r);
    else
        pol->lost_records++;
}

/* Emit an audit entry whose payload is j (consumed). */
static void emit_audit(policy *pol, const char *actor, const char *kind, cJSON *j)
{
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    emit(pol, text ? rec_audit(pol->event, actor, kind, text) : NULL);
    free(text);
}

static dd_err move(policy *pol, slot *s, gov_status to, const char *actor, const char *reason)
{
    char *why = NULL;
    dd_err e = govern_check(s->status, to, s->trigger, &why);
    if (e) {
        /* A policy bug, not bad input: keep the state, count it, say why. */
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "version", (double)s->id);
        cJSON_AddStringToObject(j, "refused", why ? why : "?");
        emit_audit(pol, "policy", "policy_error", j);
        free(why);
        return e;
    }
    emit(pol, rec_transition(pol->event, actor, s->id, s->status, to, s->trigger, reason));
    s->status = to;
    return DD_OK;
}

static void emit_version(policy *pol, int64_t id, int64_t parent, gov_trigger trig,
                         const void *model, size_t len, const char *actor)
{
    gov_record *r = rec_new(REC_VERSION, pol->event, actor);
    if (r) {
        r->u.version.id = id;
        r->u.version.parent_id = parent;
        r->u.version.trigger = trig;
        char metrics[160];
        snprintf(metrics, sizeof metrics, "{\"active_rolling\": %.4f, \"active_labelled\": %llu}",
                 pol->act.roll.n ? ring_mean(&pol->act.roll) : 0.0,
                 (unsigned long long)pol->act.labelled);
        r->u.version.metrics_json = rec_strdup(metrics);
        if (rec_blob_set(&r->u.version.model, model, len) != DD_OK) {
            rec_free(r);
            r = NULL;
        }
    }
    emit(pol, r);
}

static void slot_clear(slot *s)
{
    s->id = 0;
    s->labelled = 0;
    s->score_sum = 0;
    ring_reset(&s->roll);
}

/* Make s a fresh slot for version id. */
static void slot_set(slot *s, int64_t id, gov_status st, gov_trigger trig)
{
    slot_clear(s);
    s->id = id;
    s->status = st;
    s->trigger = trig;
}

/* ---- life cycle ---------------------------------------------------------- */

policy *policy_new(const policy_params *p, char **cause)
{
    if (policy_params_check(p, cause) != DD_OK)
        return NULL;
    policy *pol = calloc(1, sizeof *pol);
    if (!pol) {
        dd_fail(cause, DD_ENOMEM, "no memory for the policy");
        return NULL;
    }
    pol->p = *p;
    uint32_t w = p->rolling_window, sw = p->shadow_window;
    bool ok = ring_init(&pol->act.roll, w) && ring_init(&pol->chal.roll, w) &&
              ring_init(&pol->prev.roll, w) && ring_init(&pol->cmp_act, sw) &&
              ring_init(&pol->cmp_chal, sw) && ring_init(&pol->watch_act, w) &&
              ring_init(&pol->watch_prev, w) && ring_init(&pol->recent, RECENT_CAP) &&
              (pol->batch = audit_hasher_new()) != NULL;
    for (int i = 0; ok && i < POLICY_MAX_GROUPS; i++)
        ok = ring_init(&pol->groups[i].r, w);
    if (!ok) {
        policy_free(pol);
        dd_fail(cause, DD_ENOMEM, "no memory for the policy's windows");
        return NULL;
    }
    pol->next_id = 1;
    return pol;
}

void policy_free(policy *pol)
{
    if (!pol)
        return;
    free(pol->act.roll.v);
    free(pol->chal.roll.v);
    free(pol->prev.roll.v);
    free(pol->cmp_act.v);
    free(pol->cmp_chal.v);
    free(pol->watch_act.v);
    free(pol->watch_prev.v);
    free(pol->recent.v);
    for (int i = 0; i < POLICY_MAX_GROUPS; i++)
        free(pol->groups[i].r.v);
    audit_hasher_free(pol->batch);
    rec_list_clear(&pol->out);
    free(pol);
}

static void request_model(policy *pol, enum want w, gov_trigger trig, int64_t parent,
                          const char *reason)
{
    pol->want = w;
    pol->want_trigger = trig;
    pol->want_parent = parent;
    snprintf(pol->want_reason, sizeof pol->want_reason, "%s", reason);
    pol->actions |= w == WANT_CANDIDATE ? POLICY_ACT_MAKE_CANDIDATE : POLICY_ACT_RESTORE_PREVIOUS;
}

dd_err policy_start(policy *pol, uint64_t event_index, int64_t next_id, const void *model,
                    size_t len, const char *config_hash, char **cause)
{
    if (pol->act.id)
        return dd_fail(cause, DD_ESTATE, "the policy already has an active version");
    if (next_id < 1)
        return dd_fail(cause, DD_EINVAL, "version ids start at 1");
    pol->event = pol->last_checkpoint = pol->last_metrics = pol->batch_first = event_index;
    slot_set(&pol->act, next_id, GOV_CANDIDATE, GOV_TRIG_START);
    pol->next_id = next_id + 1;
    emit_version(pol, next_id, 0, GOV_TRIG_START, model, len, "policy");
    if (pol->out.tail && pol->out.tail->kind == REC_VERSION && config_hash)
        pol->out.tail->u.version.config_hash = rec_strdup(config_hash);
    move(pol, &pol->act, GOV_ACTIVE, "policy",
         pol->closed_live ? "a fresh start: this session reads another source"
                          : "first version of the workspace");
    if (pol->p.mode == POLICY_GATED)
        request_model(pol, WANT_CANDIDATE, GOV_TRIG_CHECKPOINT, next_id,
                      "gated mode: the challenger that learns while the active version is "
                      "frozen");
    return DD_OK;
}

void policy_close_live(policy *pol, uint64_t event_index, const policy_live *v, const char *reason)
{
    if (!v->id || gov_status_is_final(v->status))
        return;
    slot *s = &pol->chal; /* a scratch slot: nothing is live before policy_start() */
    s->id = v->id;
    s->status = v->status;
    s->trigger = v->trigger;
    pol->event = event_index;
    gov_status to = v->status == GOV_ACTIVE   ? GOV_RETIRED
                    : v->status == GOV_CANARY ? GOV_ROLLED_BACK
                                              : GOV_REJECTED;
    move(pol, s, to, "policy", reason);
    slot_clear(s);
    pol->closed_live = true;
}

void policy_adopt_active(policy *pol, int64_t id, gov_trigger trig, int64_t next_id)
{
    slot_set(&pol->act, id, GOV_ACTIVE, trig);
    slot_clear(&pol->chal);
    slot_clear(&pol->prev);
    pol->watching = false;
    pol->want = WANT_NONE;
    pol->next_id = next_id;
    pol->actions |=
        POLICY_ACT_DROP_CHALLENGER | POLICY_ACT_DROP_PREVIOUS | POLICY_ACT_RESET_DETECTORS;
}

uint64_t policy_event_hash(const char *id, uint64_t seq)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64, then a splitmix64 finish */
    if (id) {
        for (const unsigned char *c = (const unsigned char *)id; *c; c++)
            h = (h ^ *c) * 0x100000001b3ULL;
    } else {
        h ^= seq;
    }
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

bool policy_challenger_serves(const policy *pol, uint64_t id_hash)
{
    if (!pol->chal.id || pol->chal.status != GOV_CANARY)
        return false;
    return (double)(id_hash % 10000u) < pol->p.canary_share * 10000.0;
}

void policy_data(policy *pol, const void *raw, size_t len)
{
    audit_hasher_update(pol->batch, raw, len);
    pol->batch_events++;
}

unsigned policy_actions(policy *pol)
{
    unsigned a = pol->actions;
    pol->actions = 0;
    return a;
}

void policy_take_records(policy *pol, rec_list *out)
{
    rec_list_splice(out, &pol->out);
}

bool policy_active_learns(const policy *pol)
{
    return pol->p.mode == POLICY_CONTINUOUS;
}

void policy_get_view(const policy *pol, policy_view *v)
{
    v->active_id = pol->act.id;
    v->challenger_id = pol->chal.id;
    v->previous_id = pol->prev.id;
    v->challenger_status = pol->chal.id ? pol->chal.status : GOV_CANDIDATE;
    v->active_trigger = pol->act.trigger;
    v->challenger_trigger = pol->chal.trigger;
    v->previous_trigger = pol->prev.trigger;
    v->active_rolling = ring_mean(&pol->act.roll);
    v->challenger_rolling = pol->chal.id ? ring_mean(&pol->chal.roll) : -1;
    v->previous_rolling = pol->prev.id ? ring_mean(&pol->watch_prev) : -1;
    v->active_labelled = pol->act.labelled;
    v->promotions = pol->promotions;
    v->rollbacks = pol->rollbacks;
    v->candidates = pol->candidates;
    v->awaiting_approval = pol->chal.id && pol->chal.status == GOV_AWAITING_APPROVAL;
}

/* ---- decisions ----------------------------------------------------------- */

/* Drop the live challenger (rejected, or rolled_back from canary). */
static void drop_challenger(policy *pol, const char *actor, const char *reason)
{
    if (!pol->chal.id)
        return;
    move(pol, &pol->chal, pol->chal.status == GOV_CANARY ? GOV_ROLLED_BACK : GOV_REJECTED, actor,
         reason);
    slot_clear(&pol->chal);
    pol->actions |= POLICY_ACT_DROP_CHALLENGER;
}

static void end_watch(policy *pol)
{
    if (pol->prev.id) {
        slot_clear(&pol->prev);
        pol->actions |= POLICY_ACT_DROP_PREVIOUS;
    }
    pol->watching = false;
}

/* Automatic rollback to the watched previous version. */
static void rollback_auto(policy *pol, const char *trigger, const char *reason)
{
    if (!pol->prev.id || pol->want != WANT_NONE)
        return;
    drop_challenger(pol, "policy", "dropped: the active version is being rolled back");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "from", (double)pol->act.id);
    cJSON_AddNumberToObject(j, "to", (double)pol->prev.id);
    cJSON_AddStringToObject(j, "trigger", trigger);
    cJSON_AddStringToObject(j, "reason", reason);
    cJSON_AddNumberToObject(j, "event", (double)pol->event);
    emit_audit(pol, "policy", "rollback", j);
    move(pol, &pol->act, GOV_ROLLED_BACK, "policy", reason);
    pol->rollbacks++;
    request_model(pol, WANT_RESTORE, GOV_TRIG_ROLLBACK, pol->prev.id, reason);
}

static void approve(policy *pol, const char *actor, const char *reason)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "version", (double)pol->chal.id);
    cJSON_AddStringToObject(j, "decision", "approve");
    cJSON_AddStringToObject(j, "reason", reason);
    emit_audit(pol, actor, "approval", j);
    if (move(pol, &pol->chal, GOV_CANARY, actor, reason) == DD_OK) {
        pol->can_n = pol->act_n = 0;
        pol->can_sum = pol->act_sum = 0;
        pol->chal_since = 0;
    }
}

static void reject(policy *pol, const char *actor, const char *reason)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "version", (double)pol->chal.id);
    cJSON_AddStringToObject(j, "decision", "reject");
    cJSON_AddStringToObject(j, "reason", reason);
    emit_audit(pol, actor, "approval", j);
    drop_challenger(pol, actor, reason);
}

static void decide_approval(policy *pol, double adv)
{
    char why[160];
    switch (pol->p.approval) {
    case POLICY_APPROVE_AUTO:
        snprintf(why, sizeof why, "auto-approve (advantage %.3f)", adv);
        approve(pol, "policy", why);
        break;
    case POLICY_APPROVE_THRESHOLD:
        if (adv >= pol->p.approve_threshold) {
            snprintf(why, sizeof why, "policy threshold: advantage %.3f >= %.3f", adv,
                     pol->p.approve_threshold);
            approve(pol, "policy", why);
        } else {
            snprintf(why, sizeof why, "policy threshold: advantage %.3f < %.3f", adv,
                     pol->p.approve_threshold);
            reject(pol, "policy", why);
        }
        break;
    case POLICY_APPROVE_OPERATOR:
        break; /* the console asks; policy_approve()/policy_reject() answer */
    }
}

static void promote(policy *pol, double can_acc, double act_acc)
{
    char why[200];
    snprintf(why, sizeof why, "replaced by version %lld", (long long)pol->chal.id);
    if (move(pol, &pol->act, GOV_RETIRED, "policy", why) != DD_OK)
        return;
    snprintf(why, sizeof why, "canary held up: %.3f vs active %.3f over %llu events", can_acc,
             act_acc, (unsigned long long)pol->can_n);
    move(pol, &pol->chal, GOV_ACTIVE, "policy", why);
    /* rotate: previous <- active <- challenger; the old previous is dropped */
    if (pol->prev.id)
        pol->actions |= POLICY_ACT_DROP_PREVIOUS;
    slot old_prev = pol->prev;
    pol->prev = pol->act;
    pol->act = pol->chal;
    pol->chal = old_prev;
    slot_clear(&pol->chal);
    pol->watching = true;
    pol->promoted_at = pol->event;
    pol->promoted_acc = can_acc;
    ring_reset(&pol->watch_act);
    ring_reset(&pol->watch_prev);
    ring_reset(&pol->recent);
    for (uint32_t i = 0; i < pol->ngroups; i++)
        ring_reset(&pol->groups[i].r);
    pol->promotions++;
    pol->actions |= POLICY_ACT_PROMOTE | POLICY_ACT_RESET_DETECTORS;
}

dd_err policy_give_model(policy *pol, const void *model, size_t len, char **cause)
{
    if (pol->want == WANT_NONE)
        return dd_fail(cause, DD_ESTATE, "the policy did not ask for a model");
    int64_t id = pol->next_id++;
    emit_version(pol, id, pol->want_parent, pol->want_trigger, model, len, "policy");
    if (pol->want == WANT_CANDIDATE) {
        slot_set(&pol->chal, id, GOV_CANDIDATE, pol->want_trigger);
        move(pol, &pol->chal, GOV_SHADOW, "policy", pol->want_reason);
        ring_reset(&pol->cmp_act);
        ring_reset(&pol->cmp_chal);
        pol->chal_since = 0;
        pol->candidates++;
    } else {
        slot_set(&pol->act, id, GOV_CANDIDATE, GOV_TRIG_ROLLBACK);
        move(pol, &pol->act, GOV_ACTIVE, "policy", pol->want_reason);
        end_watch(pol);
        pol->actions |= POLICY_ACT_RESET_DETECTORS;
        pol->actions &= ~(unsigned)POLICY_ACT_DROP_PREVIOUS; /* restoring consumed it */
    }
    pol->want = WANT_NONE;
    return DD_OK;
}

/* ---- per event ----------------------------------------------------------- */

static group *group_of(policy *pol, const char *name)
{
    if (!name)
        return NULL;
    for (uint32_t i = 0; i < pol->ngroups; i++)
        if (!strncmp(pol->groups[i].name, name, GROUP_NAME_MAX - 1))
            return &pol->groups[i];
    if (pol->ngroups == POLICY_MAX_GROUPS)
        return NULL; /* beyond the cap: not part of the fairness check */
    group *g = &pol->groups[pol->ngroups++];
    snprintf(g->name, sizeof g->name, "%s", name);
    ring_reset(&g->r);
    return g;
}

static void slot_score(slot *s, double x)
{
    s->labelled++;
    s->score_sum += x;
    ring_push(&s->roll, x);
}

static void record_scores(policy *pol, const policy_obs *o)
{
    slot_score(&pol->act, o->active_score);
    ring_push(&pol->recent, o->active_score);
    group *g = group_of(pol, o->group);
    if (g)
        ring_push(&g->r, o->active_score);
    if (pol->chal.id) {
        slot_score(&pol->chal, o->challenger_score);
        pol->chal_since++;
        if (pol->chal.status == GOV_CANARY) {
            if (policy_challenger_serves(pol, o->id_hash)) {
                pol->can_n++;
                pol->can_sum += o->challenger_score;
            } else {
                pol->act_n++;
                pol->act_sum += o->active_score;
            }
        } else {
            ring_push(&pol->cmp_act, o->active_score);
            ring_push(&pol->cmp_chal, o->challenger_score);
        }
    }
    if (pol->watching && pol->prev.id) {
        slot_score(&pol->prev, o->previous_score);
        ring_push(&pol->watch_act, o->active_score);
        ring_push(&pol->watch_prev, o->previous_score);
    }
}

static void evaluate_shadow(policy *pol, bool at_checkpoint)
{
    if (pol->chal.status != GOV_SHADOW)
        return;
    bool gated = pol->p.mode == POLICY_GATED;
    if (gated && !at_checkpoint)
        return; /* gated: promoted at checkpoints only */
    if (pol->cmp_chal.n >= pol->p.shadow_window) {
        double c = ring_mean(&pol->cmp_chal), a = ring_mean(&pol->cmp_act), adv = c - a;
        if (adv >= pol->p.shadow_margin) {
            char why[200];
            snprintf(why, sizeof why,
                     "beat the active version by %.3f (%.3f vs %.3f) over %u "
                     "paired events",
                     adv, c, a, pol->cmp_chal.n);
            if (move(pol, &pol->chal, GOV_AWAITING_APPROVAL, "policy", why) == DD_OK)
                decide_approval(pol, adv);
            return;
        }
    }
    if (!gated && pol->chal_since >= pol->p.shadow_max) {
        char why[160];
        snprintf(why, sizeof why, "did not beat the active version by %.3f within %llu events",
                 pol->p.shadow_margin, (unsigned long long)pol->p.shadow_max);
        drop_challenger(pol, "policy", why);
    }
}

static void evaluate_canary(policy *pol)
{
    if (pol->chal.status != GOV_CANARY || pol->can_n < pol->p.canary_window || !pol->act_n)
        return;
    double c = pol->can_sum / (double)pol->can_n, a = pol->act_sum / (double)pol->act_n;
    if (c >= a - pol->p.canary_tolerance) {
        promote(pol, c, a);
    } else {
        char why[200];
        snprintf(why, sizeof why,
                 "canary accuracy %.3f below the active version's %.3f - %.3f "
                 "over %llu events",
                 c, a, pol->p.canary_tolerance, (unsigned long long)pol->can_n);
        drop_challenger(pol, "policy", why);
    }
}

/* The largest accuracy gap between groups with enough events; names the two. */
static double fairness_gap(const policy *pol, const group **lo, const group **hi)
{
    *lo = *hi = NULL;
    for (uint32_t i = 0; i < pol->ngroups; i++) {
        const group *g = &pol->groups[i];
        if (g->r.n < pol->p.fairness_min)
            continue;
        if (!*lo || ring_mean(&g->r) < ring_mean(&(*lo)->r))
            *lo = g;
        if (!*hi || ring_mean(&g->r) > ring_mean(&(*hi)->r))
            *hi = g;
    }
    return *lo && *hi ? ring_mean(&(*hi)->r) - ring_mean(&(*lo)->r) : 0.0;
}

static void evaluate_rollback(policy *pol)
{
    if (!pol->watching || !pol->prev.id)
        return;
    char why[240];
    if (pol->watch_act.n >= pol->p.rollback_min) {
        double a = ring_mean(&pol->watch_act), b = ring_mean(&pol->watch_prev);
        if (a < b - pol->p.rollback_margin) {
            snprintf(why, sizeof why,
                     "rolling accuracy %.3f fell below the previous version's "
                     "%.3f by more than %.3f over %u events",
                     a, b, pol->p.rollback_margin, pol->watch_act.n);
            rollback_auto(pol, "accuracy", why);
            return;
        }
    }
    const group *lo = NULL, *hi = NULL;
    double gap = pol->p.fairness_max_gap < 1 ? fairness_gap(pol, &lo, &hi) : 0;
    if (gap > pol->p.fairness_max_gap && lo && hi) {
        snprintf(why, sizeof why,
                 "fairness gap %.3f between groups '%s' (%.3f) and '%s' (%.3f) "
                 "above %.3f",
                 gap, hi->name, ring_mean(&hi->r), lo->name, ring_mean(&lo->r),
                 pol->p.fairness_max_gap);
        rollback_auto(pol, "fairness", why);
        return;
    }
    if (pol->event - pol->promoted_at >= pol->p.rollback_watch)
        end_watch(pol);
}

static char *groups_json(const policy *pol)
{
    cJSON *j = cJSON_CreateObject();
    for (uint32_t i = 0; j && i < pol->ngroups; i++)
        if (pol->groups[i].r.n)
            cJSON_AddNumberToObject(j, pol->groups[i].name, ring_mean(&pol->groups[i].r));
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

static void emit_metrics(policy *pol, const slot *s, const char *role, const ring *roll)
{
    if (!s->id)
        return;
    gov_record *r = rec_new(REC_METRICS, pol->event, "policy");
    if (r) {
        r->u.metrics.version_id = s->id;
        r->u.metrics.role = rec_strdup(role);
        r->u.metrics.labelled = s->labelled;
        r->u.metrics.accuracy = s->labelled ? s->score_sum / (double)s->labelled : NAN;
        r->u.metrics.rolling = roll->n ? ring_mean(roll) : NAN;
        if (s == &pol->act)
            r->u.metrics.groups_json = groups_json(pol);
    }
    emit(pol, r);
}

void policy_observe(policy *pol, const policy_obs *o)
{
    pol->event = o->event_index;
    if (o->labelled)
        record_scores(pol, o);
    bool at_checkpoint = o->event_index - pol->last_checkpoint >= pol->p.checkpoint_every;
    if (pol->want == WANT_NONE) {
        evaluate_shadow(pol, at_checkpoint);
        evaluate_canary(pol);
        evaluate_rollback(pol);
    }
    if (o->event_index - pol->last_metrics >= pol->p.metrics_every) {
        pol->last_metrics = o->event_index;
        /* during the watch, active and previous are reported on the same events */
        emit_metrics(pol, &pol->act, "active", pol->watching ? &pol->watch_act : &pol->act.roll);
        emit_metrics(pol, &pol->chal, gov_status_name(pol->chal.status), &pol->chal.roll);
        if (pol->watching)
            emit_metrics(pol, &pol->prev, "previous", &pol->watch_prev);
    }
    if (at_checkpoint) {
        if (pol->p.mode == POLICY_GATED && !pol->chal.id && pol->want == WANT_NONE)
            request_model(pol, WANT_CANDIDATE, GOV_TRIG_CHECKPOINT, pol->act.id,
                          "gated mode: a new learning challenger");
        pol->actions |= POLICY_ACT_CHECKPOINT;
    }
}

/* The active version's accuracy over its rolling window without the newest
 * RECENT_CAP scores (-1 if too few): what "before" means for a drift alarm. */
static double older_mean(const policy *pol)
{
    const ring *r = &pol->act.roll, *q = &pol->recent;
    if (r->n <= q->n + 10)
        return -1;
    return (r->sum - q->sum) / (double)(r->n - q->n);
}

void policy_drift(policy *pol, uint64_t event_index, const char *stream, const char *detector,
                  drift_state state)
{
    pol->event = event_index;
    if (state == DRIFT_NONE)
        return;
    bool on_error = stream && !strcmp(stream, "error");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "event", (double)event_index);
    cJSON_AddStringToObject(j, "stream", stream ? stream : "?");
    cJSON_AddStringToObject(j, "detector", detector ? detector : "?");
    cJSON_AddStringToObject(j, "state", state == DRIFT_DRIFT ? "drift" : "warning");
    cJSON_AddNumberToObject(j, "version", (double)pol->act.id);
    emit_audit(pol, "policy", "drift", j);
    if (state != DRIFT_DRIFT || !on_error || pol->want != WANT_NONE)
        return;
    char why[200];
    double recent = ring_mean(&pol->recent), before = older_mean(pol);
    if (pol->watching && pol->prev.id && event_index - pol->promoted_at <= pol->p.rollback_watch &&
        recent >= 0 && before >= 0 && recent < before) {
        snprintf(why, sizeof why,
                 "error-stream drift (%s) %llu events after promotion: recent accuracy %.3f "
                 "below %.3f before it",
                 detector ? detector : "?", (unsigned long long)(event_index - pol->promoted_at),
                 recent, before);
        rollback_auto(pol, "error_drift", why);
        return;
    }
    if (pol->chal.id && pol->chal.status != GOV_SHADOW)
        return;         /* at most one challenger: one already past shadow goes on */
    if (pol->chal.id) { /* a newer drift supersedes a shadow still adapting to an older one */
        snprintf(why, sizeof why, "superseded by a newer drift at event %llu",
                 (unsigned long long)event_index);
        drop_challenger(pol, "policy", why);
    }
    snprintf(why, sizeof why, "confirmed drift on the error stream at event %llu (%s)",
             (unsigned long long)event_index, detector ? detector : "?");
    request_model(pol, WANT_CANDIDATE, GOV_TRIG_DRIFT, pol->act.id, why);
}

/* ---- operator ------------------------------------------------------------ */

dd_err policy_approve(policy *pol, uint64_t event_index, const char *actor, char **cause)
{
    if (!pol->chal.id || pol->chal.status != GOV_AWAITING_APPROVAL)
        return dd_fail(cause, DD_ESTATE, "no version is awaiting approval");
    pol->event = event_index;
    approve(pol, actor, "approved by the operator");
    return DD_OK;
}

dd_err policy_reject(policy *pol, uint64_t event_index, const char *actor, const char *reason,
                     char **cause)
{
    if (!pol->chal.id || pol->chal.status != GOV_AWAITING_APPROVAL)
        return dd_fail(cause, DD_ESTATE, "no version is awaiting approval");
    pol->event = event_index;
    reject(pol, actor, reason && *reason ? reason : "rejected by the operator");
    return DD_OK;
}

dd_err policy_rollback_to(policy *pol, uint64_t event_index, int64_t target, const void *model,
                          size_t len, const char *actor, const char *reason, char **cause)
{
    if (target < 1 || target >= pol->next_id)
        return dd_fail(cause, DD_ENOTFOUND, "there is no version %lld", (long long)target);
    if (target == pol->act.id)
        return dd_fail(cause, DD_ESTATE, "version %lld is already active", (long long)target);
    if (pol->want != WANT_NONE || !len)
        return dd_fail(cause, DD_ESTATE, "a model change is in progress; try again");
    pol->event = event_index;
    const char *why = reason && *reason ? reason : "manual rollback";
    drop_challenger(pol, actor, "dropped by a manual rollback");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "from", (double)pol->act.id);
    cJSON_AddNumberToObject(j, "to", (double)target);
    cJSON_AddStringToObject(j, "trigger", "manual");
    cJSON_AddStringToObject(j, "reason", why);
    cJSON_AddNumberToObject(j, "event", (double)event_index);
    emit_audit(pol, actor, "rollback", j);
    move(pol, &pol->act, GOV_ROLLED_BACK, actor, why);
    int64_t id = pol->next_id++;
    emit_version(pol, id, target, GOV_TRIG_ROLLBACK, model, len, actor);
    slot_set(&pol->act, id, GOV_CANDIDATE, GOV_TRIG_ROLLBACK);
    move(pol, &pol->act, GOV_ACTIVE, actor, why);
    end_watch(pol);
    pol->rollbacks++;
    pol->actions |= POLICY_ACT_LOAD_ACTIVE | POLICY_ACT_RESET_DETECTORS;
    return DD_OK;
}

dd_err policy_note(policy *pol, uint64_t event_index, const char *actor, const char *kind,
                   const char *payload_json, char **cause)
{
    cJSON *j = cJSON_Parse(payload_json ? payload_json : "");
    bool ok = j && cJSON_IsObject(j);
    cJSON_Delete(j);
    if (!ok)
        return dd_fail(cause, DD_EPARSE, "a note's payload must be a JSON object");
    pol->event = event_index;
    gov_record *r = rec_audit(event_index, actor, kind, payload_json);
    if (!r)
        return dd_fail(cause, DD_ENOMEM, "no memory");
    emit(pol, r);
    return DD_OK;
}

/* ---- checkpoints and state ----------------------------------------------- */

typedef struct wbuf {
    uint8_t *d;
    size_t n, cap;
    bool oom;
} wbuf;

static void put(wbuf *b, const void *p, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *d = realloc(b->d, cap);
        if (!d) {
            b->oom = true;
            return;
        }
        b->d = d;
        b->cap = cap;
    }
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

static void put_u64(wbuf *b, uint64_t x)
{
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(x >> (8 * i));
    put(b, le, 8);
}

static void put_f64(wbuf *b, double x)
{
    uint64_t u;
    memcpy(&u, &x, 8);
    put_u64(b, u);
}

/* A ring as its values, oldest first. */
static void put_ring(wbuf *b, const ring *r)
{
    put_u64(b, r->n);
    for (uint32_t i = 0; i < r->n; i++)
        put_f64(b, ring_at(r, i));
}

static void put_slot(wbuf *b, const slot *s)
{
    put_u64(b, (uint64_t)s->id);
    put_u64(b, s->status);
    put_u64(b, s->trigger);
    put_u64(b, s->labelled);
    put_f64(b, s->score_sum);
    put_ring(b, &s->roll);
}

static void serialize(const policy *pol, wbuf *b)
{
    put_u64(b, BLOB_MAGIC);
    put_u64(b, BLOB_VERSION);
    put_u64(b, (uint64_t)pol->next_id);
    put_slot(b, &pol->act);
    put_slot(b, &pol->chal);
    put_slot(b, &pol->prev);
    put_ring(b, &pol->cmp_act);
    put_ring(b, &pol->cmp_chal);
    put_ring(b, &pol->watch_act);
    put_ring(b, &pol->watch_prev);
    put_ring(b, &pol->recent);
    put_u64(b, pol->chal_since);
    put_u64(b, pol->can_n);
    put_u64(b, pol->act_n);
    put_f64(b, pol->can_sum);
    put_f64(b, pol->act_sum);
    put_u64(b, pol->watching);
    put_u64(b, pol->promoted_at);
    put_f64(b, pol->promoted_acc);
    put_u64(b, pol->ngroups);
    for (uint32_t i = 0; i < pol->ngroups; i++) {
        put(b, pol->groups[i].name, GROUP_NAME_MAX);
        put_ring(b, &pol->groups[i].r);
    }
    put_u64(b, pol->last_checkpoint);
    put_u64(b, pol->last_metrics);
    put_u64(b, pol->event);
    put_u64(b, pol->promotions);
    put_u64(b, pol->rollbacks);
    put_u64(b, pol->candidates);
}

typedef struct rbuf {
    const uint8_t *d;
    size_t n, at;
    bool bad;
} rbuf;

static uint64_t get_u64(rbuf *b)
{
    if (b->bad || b->n - b->at < 8) {
        b->bad = true;
        return 0;
    }
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x |= (uint64_t)b->d[b->at + i] << (8 * i);
    b->at += 8;
    return x;
}

static double get_f64(rbuf *b)
{
    uint64_t u = get_u64(b);
    double x;
    memcpy(&x, &u, 8);
    return x;
}

/* Values are pushed into the ring as configured now: a changed window size
 * keeps the newest values that fit. */
static void get_ring(rbuf *b, ring *r)
{
    uint64_t n = get_u64(b);
    ring_reset(r);
    if (n > (b->n - b->at) / 8) {
        b->bad = true;
        return;
    }
    for (uint64_t i = 0; i < n; i++)
        ring_push(r, get_f64(b));
}

static void get_slot(rbuf *b, slot *s)
{
    s->id = (int64_t)get_u64(b);
    uint64_t st = get_u64(b), tr = get_u64(b);
    if (st >= GOV_STATUS__COUNT || tr >= GOV_TRIGGER__COUNT)
        b->bad = true;
    s->status = (gov_status)(st % GOV_STATUS__COUNT);
    s->trigger = (gov_trigger)(tr % GOV_TRIGGER__COUNT);
    s->labelled = get_u64(b);
    s->score_sum = get_f64(b);
    get_ring(b, &s->roll);
}

dd_err policy_restore(policy *pol, const void *blob, size_t len, char **cause)
{
    rbuf b = {.d = blob, .n = len};
    if (get_u64(&b) != BLOB_MAGIC)
        return dd_fail(cause, DD_ECORRUPT, "the checkpoint's policy state is not one");
    if (get_u64(&b) != BLOB_VERSION)
        return dd_fail(cause, DD_EVERSION, "the checkpoint's policy state has another version");
    pol->next_id = (int64_t)get_u64(&b);
    get_slot(&b, &pol->act);
    get_slot(&b, &pol->chal);
    get_slot(&b, &pol->prev);
    get_ring(&b, &pol->cmp_act);
    get_ring(&b, &pol->cmp_chal);
    get_ring(&b, &pol->watch_act);
    get_ring(&b, &pol->watch_prev);
    get_ring(&b, &pol->recent);
    pol->chal_since = get_u64(&b);
    pol->can_n = get_u64(&b);
    pol->act_n = get_u64(&b);
    pol->can_sum = get_f64(&b);
    pol->act_sum = get_f64(&b);
    pol->watching = get_u64(&b) != 0;
    pol->promoted_at = get_u64(&b);
    pol->promoted_acc = get_f64(&b);
    uint64_t ng = get_u64(&b);
    if (ng > POLICY_MAX_GROUPS)
        b.bad = true;
    pol->ngroups = b.bad ? 0 : (uint32_t)ng;
    for (uint32_t i = 0; i < pol->ngroups && !b.bad; i++) {
        if (b.n - b.at < GROUP_NAME_MAX) {
            b.bad = true;
            break;
        }
        memcpy(pol->groups[i].name, b.d + b.at, GROUP_NAME_MAX);
        pol->groups[i].name[GROUP_NAME_MAX - 1] = '\0';
        b.at += GROUP_NAME_MAX;
        get_ring(&b, &pol->groups[i].r);
    }
    pol->last_checkpoint = get_u64(&b);
    pol->last_metrics = get_u64(&b);
    pol->event = get_u64(&b);
    pol->promotions = get_u64(&b);
    pol->rollbacks = get_u64(&b);
    pol->candidates = get_u64(&b);
    if (b.bad || b.at != b.n || !pol->act.id) {
        slot_clear(&pol->act);
        return dd_fail(cause, DD_ECORRUPT, "the checkpoint's policy state is truncated or bad");
    }
    pol->batch_first = pol->last_checkpoint;
    pol->want = WANT_NONE;
    pol->actions = 0;
    return DD_OK;
}

static void emit_batch(policy *pol, const policy_checkpoint_in *in)
{
    char sha[AUDIT_HASH_HEX];
    uint64_t bytes = 0;
    audit_hasher_final(pol->batch, sha, &bytes);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "source", in->source ? in->source : "");
    cJSON_AddNumberToObject(j, "first_event", (double)pol->batch_first);
    cJSON_AddNumberToObject(j, "last_event", (double)in->event_index);
    cJSON_AddNumberToObject(j, "src_pos", (double)in->src_pos);
    cJSON_AddNumberToObject(j, "events", (double)pol->batch_events);
    cJSON_AddNumberToObject(j, "bytes", (double)bytes);
    cJSON_AddStringToObject(j, "sha256", sha);
    emit_audit(pol, "policy", "batch", j);
    pol->batch_first = in->event_index;
    pol->batch_events = 0;
}

static dd_err copy_blob(rec_blob *to, const rec_blob *from)
{
    return rec_blob_set(to, from->data, from->len);
}

dd_err policy_checkpoint(policy *pol, const policy_checkpoint_in *in, char **cause)
{
    if (pol->want != WANT_NONE)
        return dd_fail(cause, DD_ESTATE, "a model change is in progress: give the model first");
    pol->event = in->event_index;
    pol->last_checkpoint = in->event_index;
    emit_batch(pol, in);
    wbuf b = {0};
    serialize(pol, &b);
    gov_record *r = rec_new(REC_CHECKPOINT, in->event_index, "policy");
    dd_err e = b.oom || !r ? DD_ENOMEM : DD_OK;
    if (!e) {
        struct rec_checkpoint_ *c = &r->u.checkpoint;
        c->source = rec_strdup(in->source);
        c->src_pos = in->src_pos;
        c->src_state = rec_strdup(in->src_state);
        c->active_id = pol->act.id;
        c->challenger_id = pol->chal.id;
        c->previous_id = pol->prev.id;
        c->policy.data = b.d;
        c->policy.len = b.n;
        b.d = NULL;
        if (copy_blob(&c->pipeline, &in->pipeline) ||
            copy_blob(&c->active_model, &in->active_model) ||
            copy_blob(&c->challenger_model, &in->challenger_model) ||
            copy_blob(&c->previous_model, &in->previous_model))
            e = DD_ENOMEM;
    }
    free(b.d);
    if (e) {
        rec_free(r);
        return dd_fail(cause, e, "no memory for a checkpoint");
    }
    emit(pol, r);
    return DD_OK;
}
