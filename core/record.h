/*
 * record.h: what the worker hands to the writer: registry rows, transitions,
 * audit entries, metrics and checkpoints.
 *
 * The policy and the pipeline (worker side) make records; the writer thread
 * applies them, in order, with registry_apply(). A record owns every string
 * and blob in it; ownership passes with the record. Records chain through
 * `next` so a step can hand over several at once (rec_list). Wall time is
 * stamped by the writer when it writes: core reads no clock.
 */
#ifndef DD_RECORD_H
#define DD_RECORD_H

#include "dd.h"
#include "govern.h"

#include <stddef.h>
#include <stdint.h>

typedef enum rec_kind {
    REC_SESSION_START = 0,
    REC_VERSION,    /* a new version row (status candidate) */
    REC_TRANSITION, /* a status change */
    REC_AUDIT,      /* a free-form audit entry (drift alarm, data batch, pause, config) */
    REC_METRICS,    /* one version's metrics at an event index */
    REC_CHECKPOINT, /* learned state and source position: ends a transaction */
    REC_SESSION_END,
} rec_kind;

typedef struct rec_blob {
    uint8_t *data; /* malloc'd, owned */
    size_t len;
} rec_blob;

typedef struct gov_record {
    rec_kind kind;
    struct gov_record *next;
    uint64_t event_index; /* events processed when the record was made */
    char *actor;          /* "policy" or a user's name */
    union {
        struct {
            char *source, *config_hash, *mode;
        } session;
        struct rec_version_ {
            int64_t id, parent_id; /* parent 0: none */
            gov_trigger trigger;
            char *config_hash;
            char *metrics_json; /* metrics at creation, a JSON object */
            rec_blob model;     /* the serialized model with its feature state */
        } version;
        struct rec_transition_ {
            int64_t version_id;
            gov_status from, to;
            gov_trigger trigger; /* the version's trigger (for the check) */
            char *reason;
        } transition;
        struct {
            char *kind, *payload_json;
        } audit;
        struct rec_metrics_ {
            int64_t version_id;
            char *role; /* "active", "shadow", "canary" */
            uint64_t labelled;
            double accuracy, rolling; /* prequential since creation, rolling window */
            char *groups_json;        /* per-group rolling accuracy, or NULL */
        } metrics;
        struct rec_checkpoint_ {
            char *source;     /* e.g. "file:data/demo.jsonl" */
            uint64_t src_pos; /* byte offset, or the next event index */
            char *src_state;  /* JSON (Kafka offsets per partition), or NULL */
            int64_t active_id, challenger_id, previous_id;
            rec_blob pipeline, policy, active_model, challenger_model, previous_model;
        } checkpoint;
        struct {
            char *reason;
        } session_end;
    } u;
} gov_record;

/* A FIFO of records (head/tail). */
typedef struct rec_list {
    gov_record *head, *tail;
    size_t n;
} rec_list;

/* Returns a zeroed record of kind with actor copied, or NULL on no memory.
 * Free with rec_free(). */
gov_record *rec_new(rec_kind kind, uint64_t event_index, const char *actor);
/* Frees r and everything it owns (not r->next). */
void rec_free(gov_record *r);

/* Convenience constructors: copy their strings; NULL on no memory. */
gov_record *rec_audit(uint64_t event_index, const char *actor, const char *kind,
                      const char *payload_json);
gov_record *rec_transition(uint64_t event_index, const char *actor, int64_t version_id,
                           gov_status from, gov_status to, gov_trigger trigger, const char *reason);

/* Copy len bytes into a new blob. DD_ENOMEM leaves b empty. */
dd_err rec_blob_set(rec_blob *b, const void *data, size_t len);

void rec_list_push(rec_list *l, gov_record *r);
gov_record *rec_list_pop(rec_list *l);
/* Move every record of from to the end of to. */
void rec_list_splice(rec_list *to, rec_list *from);
void rec_list_clear(rec_list *l);

/* A copy of s, or NULL if s is NULL or on no memory. */
char *rec_strdup(const char *s);

#endif
