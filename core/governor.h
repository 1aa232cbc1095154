/*
 * governor.h: the governance layer around the pipeline: the challenger and
 * previous models beside the pipeline's active one, the policy, and the
 * records for the writer.
 *
 * Per event the pipeline computes features once and runs the active model;
 * the governor runs the challenger (shadow or canary) and the watched
 * previous version on the same input vector, scores them on the same label,
 * lets the challenger learn, feeds the policy, and carries out its actions
 * (make a candidate, promote, restore, checkpoint). Pure core: no threads,
 * no I/O; records go out through a rec_list the caller hands to the writer.
 *
 * Version blobs ("DDVB"): a format tag, the serialized model, and the
 * pipeline state (feature statistics, label encoding) it was made with, so a
 * version is self-contained in the registry. Checkpoint blobs of models use
 * the same format without the pipeline state (the checkpoint has it once).
 */
#ifndef DD_GOVERNOR_H
#define DD_GOVERNOR_H

#include "dd.h"
#include "event.h"
#include "pipeline.h"
#include "policy.h"
#include "record.h"
#include "registry.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum governor_candidate {
    GOVERNOR_CANDIDATE_CLONE = 0, /* a copy of the active model, schedule restarted, EWC anchored */
    GOVERNOR_CANDIDATE_FRESH,     /* a new model: forgets the old concept at once */
} governor_candidate;

typedef struct governor_params {
    policy_params policy;
    governor_candidate candidate;
    const char *source;      /* for checkpoints and batches ("file:PATH"); copied */
    const char *config_hash; /* of the effective configuration; copied */
    const char *mode_name;   /* "continuous" or "gated", for the session row */
} governor_params;

typedef struct governor governor;

/* Returns a new governor over pipe (borrowed; it must outlive the governor),
 * or NULL with *cause set. Free with governor_free(). */
governor *governor_new(pipeline *pipe, const governor_params *p, char **cause);
void governor_free(governor *g);

/* A fresh start: records a session and version next_id (the pipeline's
 * model, trigger start). On a workspace whose last session read another
 * source, its live versions (close, n of them) are closed first. */
dd_err governor_start(governor *g, const policy_live *close, size_t n, int64_t next_id,
                      rec_list *out, char **cause);

/* What the registry says, for a resume. */
typedef struct governor_resume_in {
    const registry_checkpoint *cp; /* the last checkpoint */
    int64_t active_id;             /* the registry's active version now */
    gov_trigger active_trigger;
    const rec_blob *active_model; /* its saved state (when it differs from cp's) */
    int64_t max_id;               /* the largest version id */
} governor_resume_in;

/* Restore pipeline state, models and policy from a checkpoint, and record a
 * new session. Events at the checkpoint's source position that it already
 * covered are skipped when they arrive again (see governor_process()). */
dd_err governor_resume(governor *g, const governor_resume_in *in, rec_list *out, char **cause);

/* The byte offset to reopen the source at after governor_resume() (0 for a
 * fresh start). */
uint64_t governor_resume_offset(const governor *g);

/* What one event did, for status and sinks. */
typedef struct governor_result {
    bool skipped; /* already covered by the checkpoint we resumed from */
    bool challenger_served;
    model_output served; /* the prediction that serves (active, or the canary) */
} governor_result;

/* Process one event (borrowed). accepting: the writer can take records now;
 * when false the event is predicted and scored but nothing learns and the
 * policy makes no records (counted in the stats). */
dd_err governor_process(governor *g, const dd_event *ev, bool accepting, pipeline_result *res,
                        governor_result *gr, rec_list *out, char **cause);

/* Make a checkpoint now (at a clean stop), then the session's end record. */
dd_err governor_finish(governor *g, const char *reason, rec_list *out, char **cause);

/* Operator commands (from the console). */
dd_err governor_approve(governor *g, const char *actor, rec_list *out, char **cause);
dd_err governor_reject(governor *g, const char *actor, const char *reason, rec_list *out,
                       char **cause);
/* Roll back to version target, whose saved blob (registry_version_get) is given. */
dd_err governor_rollback_to(governor *g, int64_t target, const rec_blob *blob, const char *actor,
                            const char *reason, rec_list *out, char **cause);

/* An audit entry for an operator's action (pause, speed, export...):
 * payload_json is a JSON object. */
dd_err governor_note(governor *g, const char *actor, const char *kind, const char *payload_json,
                     rec_list *out, char **cause);

typedef struct governor_stats {
    policy_view view;
    uint64_t events;    /* data events seen (skipped ones excluded) */
    uint64_t unlearned; /* predicted while the writer could not take records */
    uint64_t skipped;   /* replayed events already covered by the checkpoint */
    uint64_t checkpoints;
    uint64_t challenger_served;
    uint64_t joined; /* delayed labels joined (every live version scored on them) */
} governor_stats;

void governor_get_stats(const governor *g, governor_stats *st);

/* Parse a version or checkpoint blob into a model. */
dd_err governor_blob_model(const void *blob, size_t len, model **out, char **cause);

#endif
