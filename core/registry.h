/*
 * registry.h: the workspace database: model versions, their transitions, the
 * audit log, sessions, metrics over time and checkpoints (doc/REGISTRY.md).
 *
 * SQLite in WAL mode, so readers (audit verify, export, the console's history
 * view) never block the writer. The schema carries its version in
 * PRAGMA user_version and is brought up to date by an ordered list of
 * migrations, each in its own transaction; a database newer than this build
 * is refused with DD_EVERSION. A partial unique index keeps at most one
 * version active; the transition table of govern.c is checked again against
 * the stored status before any status changes.
 *
 * One thread uses a registry (the writer, or a command). Writes happen inside
 * registry_begin()/registry_commit(); the writer commits at every checkpoint,
 * so after a crash the database holds exactly the state of the last
 * checkpoint, with nothing half-written.
 */
#ifndef DD_REGISTRY_H
#define DD_REGISTRY_H

#include "audit.h"
#include "dd.h"
#include "govern.h"
#include "record.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define REGISTRY_SCHEMA_VERSION 1
#define REGISTRY_DEFAULT_KEEP 5

typedef struct registry registry;

/* Open (creating and migrating) the database at path. key may be NULL (no
 * HMAC on audit entries); it is copied. Returns NULL with *err and *cause set
 * on failure. Free with registry_free(). */
registry *registry_open(const char *path, const void *key, size_t keylen, dd_err *err,
                        char **cause);
void registry_free(registry *r);

/* The connection, for read queries (export, tests). Valid until registry_free(). */
sqlite3 *registry_db(const registry *r);

/* How many checkpoints to keep (at least 1). */
void registry_set_keep(registry *r, unsigned keep_checkpoints);

dd_err registry_begin(registry *r, char **cause);
dd_err registry_commit(registry *r, char **cause);
/* Undo everything since registry_begin(). Can't fail (SQLite rolls back on its own
 * if the statement itself fails). */
void registry_rollback(registry *r);

/* Apply one record at wall time wall (seconds since the epoch). Borrows rec.
 * Writes the rows and the audit entries the record implies; refuses a
 * transition the state machine forbids or whose `from` is not the stored
 * status (DD_ESTATE). On error the caller rolls the transaction back. */
dd_err registry_apply(registry *r, const gov_record *rec, double wall, char **cause);

/* The current session (0 before a REC_SESSION_START was applied). */
int64_t registry_session_id(const registry *r);

/* The audit head: last seq and hash. */
dd_err registry_audit_head(registry *r, int64_t *seq, char head[AUDIT_HASH_HEX], char **cause);

typedef struct registry_version {
    int64_t id, parent_id, session_id;
    uint64_t created_event;
    char created_at[32];
    gov_trigger trigger;
    gov_status status;
    bool served;
    char params_hash[AUDIT_HASH_HEX];
    rec_blob model; /* its latest saved state (with_model only) */
} registry_version;

/* Read version id. DD_ENOTFOUND if there is none. With with_model the latest
 * saved state is loaded into v->model (free with registry_version_clear()). */
dd_err registry_version_get(registry *r, int64_t id, bool with_model, registry_version *v,
                            char **cause);
void registry_version_clear(registry_version *v);

/* Read version id's latest saved state (its model blob, decompressed) from
 * any connection to a workspace database, read-only ones included: for a
 * console's rollback command, whose worker has no registry. DD_ENOTFOUND
 * when there is no such version or its state was pruned. */
dd_err registry_read_version_blob(sqlite3 *db, int64_t id, rec_blob *out, char **cause);

/* The active version's id, or 0 when there is none yet. */
dd_err registry_active_id(registry *r, int64_t *id, char **cause);
/* The largest version id, or 0. */
dd_err registry_max_version_id(registry *r, int64_t *id, char **cause);

typedef struct registry_checkpoint {
    int64_t id, session_id;
    uint64_t event_index, src_pos;
    char *source, *src_state;
    int64_t active_id, challenger_id, previous_id;
    rec_blob pipeline, policy, active_model, challenger_model, previous_model;
    char audit_head[AUDIT_HASH_HEX];
} registry_checkpoint;

/* The newest checkpoint, blobs included. DD_ENOTFOUND when there is none.
 * Free its contents with registry_checkpoint_clear(). */
dd_err registry_last_checkpoint(registry *r, registry_checkpoint *c, char **cause);
void registry_checkpoint_clear(registry_checkpoint *c);

/* Roll back to version target (which must have served) while no process
 * runs on the workspace: in one transaction, live challengers are rejected,
 * the active version goes to rolled_back, and a clone of target (trigger
 * rollback, parent target, its latest saved state) is created and made
 * active. *new_id receives the clone's id. */
dd_err registry_manual_rollback(registry *r, int64_t target, const char *actor, const char *reason,
                                double wall, int64_t *new_id, char **cause);

#endif
