/*
 * policy.h: the governance policy: when versions are made, compared,
 * approved, canaried, promoted and rolled back.
 *
 * Pure core code: no threads, no I/O, no clock. The pipeline calls it once
 * per event with what happened (scores of the live versions, drift alarms,
 * the raw bytes for the audit batch hash) and once per operator command. The
 * policy answers with
 *   - records (registry rows, transitions, audit entries, metrics,
 *     checkpoints) that the pipeline hands, in order, to the writer, and
 *   - actions on the models (make a candidate, promote, drop the challenger,
 *     restore the previous version, checkpoint, reset the error detectors),
 *     which the pipeline carries out before the next event. Two actions need
 *     a serialized model back (policy_give_model()).
 *
 * Versions: one active, at most one challenger (shadow, awaiting_approval
 * or canary). After a promotion the previous active version is kept frozen
 * (not learning, not serving) and watched for rollback_watch events, so the
 * accuracy trigger compares both on the same events; then it is dropped.
 *
 * Scores are per labelled event in [0, 1]: 1 right, 0 wrong (classification);
 * the pipeline maps regression errors into [0, 1] the same way for every
 * version. All windows are fixed-size rings: memory does not grow with the
 * stream.
 */
#ifndef DD_POLICY_H
#define DD_POLICY_H

#include "dd.h"
#include "drift.h"
#include "govern.h"
#include "record.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum policy_mode { POLICY_CONTINUOUS = 0, POLICY_GATED } policy_mode;
typedef enum policy_approval {
    POLICY_APPROVE_AUTO = 0,  /* --auto-approve: every winner is approved */
    POLICY_APPROVE_THRESHOLD, /* headless default: approve if the advantage >= approve_threshold */
    POLICY_APPROVE_OPERATOR,  /* the console: wait for policy_approve()/policy_reject() */
} policy_approval;

typedef struct policy_params {
    policy_mode mode;
    uint32_t checkpoint_every; /* events between checkpoints (default 10000) */
    uint32_t metrics_every;    /* events between metrics records (default 200) */
    uint32_t rolling_window;   /* labelled events in rolling accuracy (default 500) */
    uint32_t shadow_window;    /* paired labelled events compared in shadow (default 300) */
    double shadow_margin;      /* challenger must beat active by this (default 0.02) */
    uint32_t shadow_max;       /* labelled events in shadow before rejection (default 5000) */
    policy_approval approval;
    double approve_threshold; /* threshold mode (default 0.05) */
    double canary_share;      /* share of events the canary serves (default 0.2) */
    uint32_t canary_window;   /* labelled canary-served events to decide (default 100) */
    double canary_tolerance;  /* canary may trail active by this (default 0.02) */
    uint32_t rollback_watch;  /* events after a promotion when rollback triggers watch (2000) */
    uint32_t rollback_min;   /* labelled events after promotion before the accuracy trigger (200) */
    double rollback_margin;  /* active below previous by this -> rollback (default 0.05) */
    double fairness_max_gap; /* group accuracy gap that triggers rollback; >= 1 disables (1) */
    uint32_t fairness_min;   /* labelled events a group needs to count (default 50) */
} policy_params;

/* Fill p with the defaults above. Can't fail. */
void policy_params_default(policy_params *p);
/* DD_EINVAL with a cause naming the parameter when one is out of range. */
dd_err policy_params_check(const policy_params *p, char **cause);

/* Actions, as a bit set. The pipeline carries them out in this order. */
enum {
    POLICY_ACT_DROP_CHALLENGER = 1 << 0,  /* forget the challenger model */
    POLICY_ACT_DROP_PREVIOUS = 1 << 1,    /* forget the watched previous model */
    POLICY_ACT_PROMOTE = 1 << 2,          /* previous := active; active := challenger */
    POLICY_ACT_RESTORE_PREVIOUS = 1 << 3, /* active := previous (a clone); give its model */
    POLICY_ACT_LOAD_ACTIVE = 1 << 4,      /* active := the model given to policy_rollback_to() */
    POLICY_ACT_MAKE_CANDIDATE = 1 << 5,   /* challenger := a new candidate; give its model */
    POLICY_ACT_RESET_DETECTORS = 1 << 6,  /* restart the error-stream detectors */
    POLICY_ACT_CHECKPOINT = 1 << 7,       /* serialize and call policy_checkpoint() */
};

typedef struct policy policy;

/* Returns a new policy, or NULL with *cause set. Copies p. Free with policy_free(). */
policy *policy_new(const policy_params *p, char **cause);
void policy_free(policy *pol);

/* A new workspace: version next_id becomes active (trigger start) with the
 * given serialized model (borrowed, copied into the record). */
dd_err policy_start(policy *pol, uint64_t event_index, int64_t next_id, const void *model,
                    size_t len, const char *config_hash, char **cause);

/* A live version of an earlier session, as the registry has it. */
typedef struct policy_live {
    int64_t id;
    gov_status status;
    gov_trigger trigger;
} policy_live;

/* Before policy_start() on a workspace whose last session read another
 * source: close v (active -> retired; shadow, awaiting_approval, candidate
 * -> rejected; canary -> rolled_back) with reason. */
void policy_close_live(policy *pol, uint64_t event_index, const policy_live *v, const char *reason);

/* Resume from a checkpoint's policy blob. DD_ECORRUPT / DD_EVERSION on a bad blob. */
dd_err policy_restore(policy *pol, const void *blob, size_t len, char **cause);

/* After a restore, when the registry's active version is not the one the
 * checkpoint had (a `driftdeck rollback` ran in between): serve version id
 * (trigger trig), drop challenger and previous, ids continue at next_id. */
void policy_adopt_active(policy *pol, int64_t id, gov_trigger trig, int64_t next_id);

/* A deterministic hash of an event id (or of seq when id is NULL) for canary routing. */
uint64_t policy_event_hash(const char *id, uint64_t seq);

/* Does the challenger serve this event? (Only in canary, for its share.) */
bool policy_challenger_serves(const policy *pol, uint64_t id_hash);

/* Feed the raw bytes of one event into the current data batch hash. */
void policy_data(policy *pol, const void *raw, size_t len);

typedef struct policy_obs {
    uint64_t event_index; /* events processed, this one included */
    uint64_t id_hash;     /* policy_event_hash() of the event */
    bool labelled;        /* scores below are meaningful */
    double active_score;
    double challenger_score; /* when a challenger is live */
    double previous_score;   /* when the previous version is watched */
    const char *group;       /* NULL when the event has none */
} policy_obs;

/* One event. Evaluates comparisons, canary and rollback triggers, and
 * schedules checkpoints and metrics. */
void policy_observe(policy *pol, const policy_obs *o);

/* A drift detector's state change on a stream ("error", "prediction",
 * "feature:NAME"). A confirmed drift on the error stream creates a candidate,
 * or, within rollback_watch events of a promotion with the error risen,
 * rolls back. Every drift and warning is audited. */
void policy_drift(policy *pol, uint64_t event_index, const char *stream, const char *detector,
                  drift_state state);

/* Take the pending actions (a bit set; clears them). */
unsigned policy_actions(policy *pol);

/* Answer POLICY_ACT_MAKE_CANDIDATE or POLICY_ACT_RESTORE_PREVIOUS with the
 * new model, serialized (borrowed). DD_ESTATE when nothing asked for one. */
dd_err policy_give_model(policy *pol, const void *model, size_t len, char **cause);

/* Make the checkpoint record (policy state included) with the data batch
 * since the last one. Blobs are copied. */
typedef struct policy_checkpoint_in {
    uint64_t event_index;
    const char *source;
    uint64_t src_pos;
    const char *src_state;
    rec_blob pipeline, active_model, challenger_model, previous_model; /* borrowed */
} policy_checkpoint_in;
dd_err policy_checkpoint(policy *pol, const policy_checkpoint_in *in, char **cause);

/* Operator decisions (actor: the user's name). approve/reject act on the
 * version awaiting approval (DD_ESTATE if none). */
dd_err policy_approve(policy *pol, uint64_t event_index, const char *actor, char **cause);
dd_err policy_reject(policy *pol, uint64_t event_index, const char *actor, const char *reason,
                     char **cause);
/* Manual rollback to version target (its serialized model given, borrowed):
 * a clone becomes active; POLICY_ACT_LOAD_ACTIVE asks the pipeline to load it. */
dd_err policy_rollback_to(policy *pol, uint64_t event_index, int64_t target, const void *model,
                          size_t len, const char *actor, const char *reason, char **cause);

/* An audit entry for anything else the operator or the program did (pause,
 * configuration change). payload_json must be a JSON object. */
dd_err policy_note(policy *pol, uint64_t event_index, const char *actor, const char *kind,
                   const char *payload_json, char **cause);

/* Move the records made so far to the end of out (in order). */
void policy_take_records(policy *pol, rec_list *out);

/* What the console and status lines show. */
typedef struct policy_view {
    int64_t active_id, challenger_id, previous_id;
    gov_status challenger_status;
    gov_trigger active_trigger, challenger_trigger, previous_trigger;
    double active_rolling, challenger_rolling, previous_rolling; /* -1: no data */
    uint64_t active_labelled;
    uint64_t promotions, rollbacks, candidates;
    bool awaiting_approval;
} policy_view;
void policy_get_view(const policy *pol, policy_view *v);

/* Whether the active model learns now (continuous mode). */
bool policy_active_learns(const policy *pol);

#endif
