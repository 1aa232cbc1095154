/*
 * registry.c: the workspace database (see registry.h and doc/REGISTRY.md).
 *
 * Every record becomes a few prepared-statement executions plus an audit
 * entry; statements are prepared per call (SQLite caches the parse cheaply
 * enough at our rate of a few records per thousand events).
 */
#include "registry.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct registry {
    sqlite3 *db;
    audit_log *audit;
    int64_t session_id;
    unsigned keep;
};

static const char migration_1[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
    "CREATE TABLE sessions (\n"
    "  id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, ended_at TEXT,\n"
    "  source TEXT, config_hash TEXT, mode TEXT, end_reason TEXT,\n"
    "  first_event INTEGER, last_event INTEGER);\n"
    "CREATE TABLE versions (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  parent_id INTEGER REFERENCES versions(id),\n"
    "  session_id INTEGER REFERENCES sessions(id),\n"
    "  created_event INTEGER NOT NULL, created_at TEXT NOT NULL,\n"
    "  trigger TEXT NOT NULL CHECK (trigger IN ('start','checkpoint','drift','manual',"
    "'rollback')),\n"
    "  config_hash TEXT, params_hash TEXT, metrics TEXT,\n"
    "  model BLOB, last_model BLOB, last_event INTEGER,\n"
    "  status TEXT NOT NULL CHECK (status IN ('candidate','shadow','awaiting_approval',"
    "'canary','active','retired','rejected','rolled_back')),\n"
    "  served INTEGER NOT NULL DEFAULT 0, pruned INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE UNIQUE INDEX versions_one_active ON versions(status) WHERE status = 'active';\n"
    "CREATE TABLE transitions (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  version_id INTEGER NOT NULL REFERENCES versions(id),\n"
    "  from_status TEXT, to_status TEXT NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL,\n"
    "  event_index INTEGER, time TEXT NOT NULL, session_id INTEGER);\n"
    "CREATE INDEX transitions_version ON transitions(version_id);\n"
    "CREATE TABLE metrics (\n"
    "  id INTEGER PRIMARY KEY, session_id INTEGER, event_index INTEGER NOT NULL,\n"
    "  time TEXT NOT NULL, version_id INTEGER, role TEXT, labelled INTEGER,\n"
    "  accuracy REAL, rolling REAL, groups TEXT);\n"
    "CREATE INDEX metrics_session ON metrics(session_id, event_index);\n"
    "CREATE TABLE checkpoints (\n"
    "  id INTEGER PRIMARY KEY, session_id INTEGER, event_index INTEGER NOT NULL,\n"
    "  time TEXT NOT NULL, source TEXT, src_pos INTEGER, src_state TEXT,\n"
    "  active_id INTEGER, challenger_id INTEGER, previous_id INTEGER,\n"
    "  pipeline BLOB, policy BLOB, active_model BLOB, challenger_model BLOB,\n"
    "  previous_model BLOB, audit_head TEXT);\n";

/* Migration n (1-based) brings user_version from n-1 to n. */
static const char *const migrations[] = {migration_1};

static dd_err exec_sql(sqlite3 *db, const char *sql, char **cause)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        dd_err e = dd_fail(cause, DD_EDB, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return e;
    }
    return DD_OK;
}

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static dd_err migrate(sqlite3 *db, char **cause)
{
    int have = user_version(db);
    if (have < 0)
        return dd_fail(cause, DD_EDB, "cannot read the schema version: %s", sqlite3_errmsg(db));
    if (have > (int)DD_ARRAY_LEN(migrations))
        return dd_fail(cause, DD_EVERSION,
                       "the workspace database has schema version %d; this driftdeck reads up "
                       "to %d",
                       have, (int)DD_ARRAY_LEN(migrations));
    for (int v = have; v < (int)DD_ARRAY_LEN(migrations); v++) {
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d;", v + 1);
        dd_err e = exec_sql(db, "BEGIN IMMEDIATE", cause);
        if (!e)
            e = exec_sql(db, migrations[v], cause);
        if (!e && v == 0)
            e = exec_sql(db, audit_schema_sql, cause);
        if (!e)
            e = exec_sql(db, pragma, cause);
        if (!e)
            e = exec_sql(db, "COMMIT", cause);
        if (e) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return e;
        }
    }
    return DD_OK;
}

registry *registry_open(const char *path, const void *key, size_t keylen, dd_err *err, char **cause)
{
    registry *r = calloc(1, sizeof *r);
    if (!r) {
        *err = dd_fail(cause, DD_ENOMEM, "no memory for the registry");
        return NULL;
    }
    r->keep = REGISTRY_DEFAULT_KEEP;
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        *err = dd_fail(cause, DD_EDB, "cannot open %s: %s", path,
                       r->db ? sqlite3_errmsg(r->db) : "no memory");
        goto fail;
    }
    sqlite3_busy_timeout(r->db, 5000);
    /* synchronous=FULL: a commit (a checkpoint) survives power loss, not only
     * a crash of the process. */
    if ((*err = exec_sql(r->db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                         "PRAGMA foreign_keys=ON;",
                         cause)) != DD_OK ||
        (*err = migrate(r->db, cause)) != DD_OK)
        goto fail;
    if (!(r->audit = audit_new(r->db, key, keylen, cause))) {
        *err = DD_EDB;
        goto fail;
    }
    *err = DD_OK;
    return r;
fail:
    registry_free(r);
    return NULL;
}

void registry_free(registry *r)
{
    if (!r)
        return;
    audit_free(r->audit);
    sqlite3_close(r->db);
    free(r);
}

sqlite3 *registry_db(const registry *r)
{
    return r->db;
}

void registry_set_keep(registry *r, unsigned keep_checkpoints)
{
    r->keep = keep_checkpoints ? keep_checkpoints : 1;
}

int64_t registry_session_id(const registry *r)
{
    return r->session_id;
}

dd_err registry_begin(registry *r, char **cause)
{
    return exec_sql(r->db, "BEGIN IMMEDIATE", cause);
}

dd_err registry_commit(registry *r, char **cause)
{
    return exec_sql(r->db, "COMMIT", cause);
}

void registry_rollback(registry *r)
{
    if (!sqlite3_get_autocommit(r->db))
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
}

dd_err registry_audit_head(registry *r, int64_t *seq, char head[AUDIT_HASH_HEX], char **cause)
{
    return audit_head(r->db, seq, head, cause);
}

/* Stored blobs are deflated (zlib, fast level): a model's dense weights are
 * mostly zeros where hashed features never landed. Format: "DDZ1", the raw
 * length as 8 little-endian bytes, the deflate stream. A blob without the tag
 * is read as it is. */
#define BLOB_TAG "DDZ1"
#define BLOB_HDR 12

static dd_err blob_pack(const rec_blob *in, rec_blob *out)
{
    uLongf n = compressBound((uLong)in->len);
    out->data = malloc(BLOB_HDR + n);
    if (!out->data)
        return DD_ENOMEM;
    memcpy(out->data, BLOB_TAG, 4);
    for (int i = 0; i < 8; i++)
        out->data[4 + i] = (uint8_t)((uint64_t)in->len >> (8 * i));
    if (compress2(out->data + BLOB_HDR, &n, in->data, (uLong)in->len, 1) != Z_OK) {
        free(out->data);
        out->data = NULL;
        return DD_ENOMEM;
    }
    out->len = BLOB_HDR + n;
    return DD_OK;
}

static dd_err blob_unpack(const uint8_t *p, size_t n, rec_blob *out)
{
    out->data = NULL;
    out->len = 0;
    if (n < BLOB_HDR || memcmp(p, BLOB_TAG, 4) != 0)
        return rec_blob_set(out, p, n);
    uint64_t raw = 0;
    for (int i = 0; i < 8; i++)
        raw |= (uint64_t)p[4 + i] << (8 * i);
    if (raw > (1ull << 34))
        return DD_ECORRUPT;
    if (!raw)
        return DD_OK;
    out->data = malloc((size_t)raw);
    if (!out->data)
        return DD_ENOMEM;
    uLongf got = (uLongf)raw;
    if (uncompress(out->data, &got, p + BLOB_HDR, (uLong)(n - BLOB_HDR)) != Z_OK || got != raw) {
        free(out->data);
        out->data = NULL;
        return DD_ECORRUPT;
    }
    out->len = (size_t)raw;
    return DD_OK;
}

/* Prepare sql and bind args by a tiny format: 'i' int64, 't' text (NULL ok),
 * 'b' rec_blob *, 'd' double. */
static sqlite3_stmt *prep(registry *r, char **cause, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
        dd_fail(cause, DD_EDB, "%s", sqlite3_errmsg(r->db));
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt[i]; i++) {
        int n = i + 1;
        if (fmt[i] == 'i') {
            sqlite3_bind_int64(st, n, va_arg(ap, int64_t));
        } else if (fmt[i] == 't') {
            const char *s = va_arg(ap, const char *);
            if (s)
                sqlite3_bind_text(st, n, s, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(st, n);
        } else if (fmt[i] == 'd') {
            sqlite3_bind_double(st, n, va_arg(ap, double));
        } else {
            const rec_blob *b = va_arg(ap, const rec_blob *);
            rec_blob z = {0};
            if (b && b->len && blob_pack(b, &z) == DD_OK)
                sqlite3_bind_blob64(st, n, z.data, z.len, SQLITE_TRANSIENT);
            else if (b && b->len) /* no memory to compress: store it as it is */
                sqlite3_bind_blob64(st, n, b->data, b->len, SQLITE_STATIC);
            else
                sqlite3_bind_null(st, n);
            free(z.data);
        }
    }
    va_end(ap);
    return st;
}

/* Run a prepared statement that returns no rows, then finalize it. */
static dd_err run(registry *r, sqlite3_stmt *st, char **cause)
{
    if (!st)
        return DD_EDB;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return dd_fail(cause, DD_EDB, "%s", sqlite3_errmsg(r->db));
    return DD_OK;
}

/* Append an audit entry whose payload is j (consumed). */
static dd_err audit_json(registry *r, double wall, const char *actor, const char *kind, cJSON *j,
                         char **cause)
{
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        return dd_fail(cause, DD_ENOMEM, "no memory for an audit payload");
    dd_err e = audit_append(r->audit, wall, actor, kind, text, NULL, NULL, cause);
    free(text);
    return e;
}

static dd_err apply_session_start(registry *r, const gov_record *rec, double wall, char **cause)
{
    char when[32];
    audit_format_time(wall, when);
    dd_err e = run(r,
                   prep(r, cause,
                        "INSERT INTO sessions (started_at, source, config_hash, mode, "
                        "first_event) VALUES (?, ?, ?, ?, ?)",
                        "tttti", when, rec->u.session.source, rec->u.session.config_hash,
                        rec->u.session.mode, (int64_t)rec->event_index),
                   cause);
    if (e)
        return e;
    r->session_id = sqlite3_last_insert_rowid(r->db);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "session", (double)r->session_id);
    cJSON_AddStringToObject(j, "source", rec->u.session.source ? rec->u.session.source : "");
    cJSON_AddStringToObject(j, "config_hash",
                            rec->u.session.config_hash ? rec->u.session.config_hash : "");
    cJSON_AddStringToObject(j, "mode", rec->u.session.mode ? rec->u.session.mode : "");
    cJSON_AddNumberToObject(j, "event", (double)rec->event_index);
    return audit_json(r, wall, rec->actor, "session_start", j, cause);
}

static dd_err apply_session_end(registry *r, const gov_record *rec, double wall, char **cause)
{
    char when[32];
    audit_format_time(wall, when);
    dd_err e =
        run(r,
            prep(r, cause,
                 "UPDATE sessions SET ended_at = ?, end_reason = ?, last_event = ? "
                 "WHERE id = ?",
                 "ttii", when, rec->u.session_end.reason, (int64_t)rec->event_index, r->session_id),
            cause);
    if (e)
        return e;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "session", (double)r->session_id);
    cJSON_AddStringToObject(j, "reason",
                            rec->u.session_end.reason ? rec->u.session_end.reason : "");
    cJSON_AddNumberToObject(j, "event", (double)rec->event_index);
    return audit_json(r, wall, rec->actor, "session_end", j, cause);
}

static dd_err insert_transition(registry *r, const gov_record *rec, const char *from,
                                const char *to, int64_t version_id, const char *reason, double wall,
                                char **cause)
{
    char when[32];
    audit_format_time(wall, when);
    dd_err e = run(r,
                   prep(r, cause,
                        "INSERT INTO transitions (version_id, from_status, to_status, reason, "
                        "actor, event_index, time, session_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        "itttti"
                        "ti",
                        version_id, from, to, reason, rec->actor, (int64_t)rec->event_index, when,
                        r->session_id),
                   cause);
    if (e)
        return e;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "version", (double)version_id);
    if (from)
        cJSON_AddStringToObject(j, "from", from);
    else
        cJSON_AddNullToObject(j, "from");
    cJSON_AddStringToObject(j, "to", to);
    cJSON_AddStringToObject(j, "reason", reason);
    cJSON_AddNumberToObject(j, "event", (double)rec->event_index);
    return audit_json(r, wall, rec->actor, "transition", j, cause);
}

static dd_err apply_version(registry *r, const gov_record *rec, double wall, char **cause)
{
    const struct rec_version_ *v = &rec->u.version;
    char when[32], params[AUDIT_HASH_HEX];
    audit_format_time(wall, when);
    if (audit_sha256_hex(v->model.data ? (const void *)v->model.data : "", v->model.len, params))
        return dd_fail(cause, DD_ENOMEM, "cannot hash a model");
    if (v->parent_id) {
        registry_version p;
        if (registry_version_get(r, v->parent_id, false, &p, NULL) != DD_OK)
            return dd_fail(cause, DD_ENOTFOUND, "version %lld: parent %lld does not exist",
                           (long long)v->id, (long long)v->parent_id);
    }
    dd_err e =
        run(r,
            prep(r, cause,
                 "INSERT INTO versions (id, parent_id, session_id, created_event, "
                 "created_at, trigger, config_hash, params_hash, metrics, model, status) "
                 "VALUES (?, NULLIF(?, 0), NULLIF(?, 0), ?, ?, ?, ?, ?, ?, ?, "
                 "'candidate')",
                 "iiiitttttb", v->id, v->parent_id, r->session_id, (int64_t)rec->event_index, when,
                 gov_trigger_name(v->trigger), v->config_hash, params, v->metrics_json, &v->model),
            cause);
    if (e)
        return dd_fail(cause, e, "cannot create version %lld: %s", (long long)v->id,
                       cause && *cause ? *cause : "");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "version", (double)v->id);
    if (v->parent_id)
        cJSON_AddNumberToObject(j, "parent", (double)v->parent_id);
    else
        cJSON_AddNullToObject(j, "parent");
    cJSON_AddStringToObject(j, "trigger", gov_trigger_name(v->trigger));
    cJSON_AddStringToObject(j, "params_sha256", params);
    cJSON_AddNumberToObject(j, "params_bytes", (double)v->model.len);
    cJSON_AddStringToObject(j, "config_hash", v->config_hash ? v->config_hash : "");
    cJSON_AddNumberToObject(j, "event", (double)rec->event_index);
    if ((e = audit_json(r, wall, rec->actor, "version", j, cause)) != DD_OK)
        return e;
    char reason[64];
    snprintf(reason, sizeof reason, "created (trigger %s)", gov_trigger_name(v->trigger));
    return insert_transition(r, rec, NULL, "candidate", v->id, reason, wall, cause);
}

static dd_err apply_transition(registry *r, const gov_record *rec, double wall, char **cause)
{
    const struct rec_transition_ *t = &rec->u.transition;
    registry_version v;
    dd_err e = registry_version_get(r, t->version_id, false, &v, cause);
    if (e)
        return e;
    if (v.status != t->from)
        return dd_fail(cause, DD_ESTATE, "version %lld is %s, not %s: refusing %s -> %s",
                       (long long)t->version_id, gov_status_name(v.status),
                       gov_status_name(t->from), gov_status_name(t->from), gov_status_name(t->to));
    char *why = NULL;
    if ((e = govern_check(t->from, t->to, v.trigger, &why)) != DD_OK) {
        dd_fail(cause, e, "version %lld: %s", (long long)t->version_id, why);
        free(why);
        return e;
    }
    bool serves = t->to == GOV_CANARY || t->to == GOV_ACTIVE;
    e = run(r,
            prep(r, cause, "UPDATE versions SET status = ?, served = served OR ? WHERE id = ?",
                 "tii", gov_status_name(t->to), (int64_t)serves, t->version_id),
            cause);
    if (e)
        return e;
    return insert_transition(r, rec, gov_status_name(t->from), gov_status_name(t->to),
                             t->version_id, t->reason, wall, cause);
}

static dd_err apply_metrics(registry *r, const gov_record *rec, double wall, char **cause)
{
    const struct rec_metrics_ *m = &rec->u.metrics;
    char when[32];
    audit_format_time(wall, when);
    return run(r,
               prep(r, cause,
                    "INSERT INTO metrics (session_id, event_index, time, version_id, role, "
                    "labelled, accuracy, rolling, groups) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    "iititiddt", r->session_id, (int64_t)rec->event_index, when, m->version_id,
                    m->role, (int64_t)m->labelled, m->accuracy, m->rolling, m->groups_json),
               cause);
}

/* Keep the newest r->keep checkpoints; drop the saved states of versions
 * that never served, are final, and are not referenced by a kept checkpoint. */
static dd_err retain(registry *r, char **cause)
{
    dd_err e = run(r,
                   prep(r, cause,
                        "DELETE FROM checkpoints WHERE id NOT IN (SELECT id FROM checkpoints "
                        "ORDER BY id DESC LIMIT ?)",
                        "i", (int64_t)r->keep),
                   cause);
    if (e)
        return e;
    return run(r,
               prep(r, cause,
                    "UPDATE versions SET model = NULL, last_model = NULL, pruned = 1 "
                    "WHERE served = 0 AND pruned = 0 AND status IN ('rejected', 'rolled_back') "
                    "AND id NOT IN (SELECT challenger_id FROM checkpoints WHERE challenger_id "
                    "IS NOT NULL)",
                    ""),
               cause);
}

static dd_err save_last_model(registry *r, int64_t id, const rec_blob *b, uint64_t event,
                              char **cause)
{
    if (!id || !b->len)
        return DD_OK;
    return run(r,
               prep(r, cause, "UPDATE versions SET last_model = ?, last_event = ? WHERE id = ?",
                    "bii", b, (int64_t)event, id),
               cause);
}

static dd_err apply_checkpoint(registry *r, const gov_record *rec, double wall, char **cause)
{
    const struct rec_checkpoint_ *c = &rec->u.checkpoint;
    char when[32], head[AUDIT_HASH_HEX];
    audit_format_time(wall, when);
    dd_err e = run(r,
                   prep(r, cause,
                        "INSERT INTO checkpoints (session_id, event_index, time, source, "
                        "src_pos, src_state, active_id, challenger_id, previous_id, pipeline, "
                        "policy, active_model, challenger_model, previous_model) VALUES "
                        "(?, ?, ?, ?, ?, ?, NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0), ?, ?, ?, ?, "
                        "?)",
                        "iittitiiibbbbb", r->session_id, (int64_t)rec->event_index, when, c->source,
                        (int64_t)c->src_pos, c->src_state, c->active_id, c->challenger_id,
                        c->previous_id, &c->pipeline, &c->policy, &c->active_model,
                        &c->challenger_model, &c->previous_model),
                   cause);
    int64_t cid = sqlite3_last_insert_rowid(r->db);
    if (!e)
        e = save_last_model(r, c->active_id, &c->active_model, rec->event_index, cause);
    if (!e)
        e = save_last_model(r, c->challenger_id, &c->challenger_model, rec->event_index, cause);
    if (!e)
        e = run(r,
                prep(r, cause, "UPDATE sessions SET last_event = ? WHERE id = ?", "ii",
                     (int64_t)rec->event_index, r->session_id),
                cause);
    if (e)
        return e;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "checkpoint", (double)cid);
    cJSON_AddNumberToObject(j, "event", (double)rec->event_index);
    cJSON_AddStringToObject(j, "source", c->source ? c->source : "");
    cJSON_AddNumberToObject(j, "src_pos", (double)c->src_pos);
    cJSON_AddNumberToObject(j, "active", (double)c->active_id);
    cJSON_AddNumberToObject(j, "challenger", (double)c->challenger_id);
    cJSON_AddNumberToObject(j, "state_bytes",
                            (double)(c->pipeline.len + c->policy.len + c->active_model.len +
                                     c->challenger_model.len + c->previous_model.len));
    if ((e = audit_json(r, wall, rec->actor, "checkpoint", j, cause)) != DD_OK)
        return e;
    int64_t seq;
    if ((e = audit_head(r->db, &seq, head, cause)) != DD_OK)
        return e;
    e = run(r,
            prep(r, cause, "UPDATE checkpoints SET audit_head = ? WHERE id = ?", "ti", head, cid),
            cause);
    return e ? e : retain(r, cause);
}

dd_err registry_apply(registry *r, const gov_record *rec, double wall, char **cause)
{
    switch (rec->kind) {
    case REC_SESSION_START:
        return apply_session_start(r, rec, wall, cause);
    case REC_SESSION_END:
        return apply_session_end(r, rec, wall, cause);
    case REC_VERSION:
        return apply_version(r, rec, wall, cause);
    case REC_TRANSITION:
        return apply_transition(r, rec, wall, cause);
    case REC_AUDIT:
        return audit_append(r->audit, wall, rec->actor, rec->u.audit.kind,
                            rec->u.audit.payload_json, NULL, NULL, cause);
    case REC_METRICS:
        return apply_metrics(r, rec, wall, cause);
    case REC_CHECKPOINT:
        return apply_checkpoint(r, rec, wall, cause);
    }
    return dd_fail(cause, DD_EINVAL, "unknown record kind %d", (int)rec->kind);
}

static dd_err blob_from(sqlite3_stmt *st, int col, rec_blob *b)
{
    const void *p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);
    b->data = NULL;
    b->len = 0;
    return p && n > 0 ? blob_unpack(p, (size_t)n, b) : DD_OK;
}

dd_err registry_version_get(registry *r, int64_t id, bool with_model, registry_version *v,
                            char **cause)
{
    memset(v, 0, sizeof *v);
    sqlite3_stmt *st = prep(r, cause,
                            "SELECT id, IFNULL(parent_id, 0), IFNULL(session_id, 0), "
                            "created_event, created_at, trigger, status, served, "
                            "IFNULL(params_hash, ''), COALESCE(last_model, model) "
                            "FROM versions WHERE id = ?",
                            "i", id);
    if (!st)
        return DD_EDB;
    int rc = sqlite3_step(st);
    dd_err e = DD_OK;
    if (rc == SQLITE_ROW) {
        v->id = sqlite3_column_int64(st, 0);
        v->parent_id = sqlite3_column_int64(st, 1);
        v->session_id = sqlite3_column_int64(st, 2);
        v->created_event = (uint64_t)sqlite3_column_int64(st, 3);
        snprintf(v->created_at, sizeof v->created_at, "%s", sqlite3_column_text(st, 4));
        if (gov_trigger_parse((const char *)sqlite3_column_text(st, 5), &v->trigger) ||
            gov_status_parse((const char *)sqlite3_column_text(st, 6), &v->status))
            e = dd_fail(cause, DD_ECORRUPT, "version %lld has an unknown status or trigger",
                        (long long)id);
        v->served = sqlite3_column_int(st, 7) != 0;
        snprintf(v->params_hash, sizeof v->params_hash, "%s", sqlite3_column_text(st, 8));
        if (!e && with_model && blob_from(st, 9, &v->model))
            e = dd_fail(cause, DD_ECORRUPT,
                        "cannot read the saved state of version %lld (no memory, "
                        "or it is damaged)",
                        (long long)id);
    } else if (rc == SQLITE_DONE) {
        e = dd_fail(cause, DD_ENOTFOUND, "there is no version %lld", (long long)id);
    } else {
        e = dd_fail(cause, DD_EDB, "%s", sqlite3_errmsg(r->db));
    }
    sqlite3_finalize(st);
    return e;
}

dd_err registry_read_version_blob(sqlite3 *db, int64_t id, rec_blob *out, char **cause)
{
    sqlite3_stmt *st = NULL;
    out->data = NULL;
    out->len = 0;
    if (sqlite3_prepare_v2(db, "SELECT COALESCE(last_model, model) FROM versions WHERE id = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return dd_fail(cause, DD_EDB, "%s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, id);
    dd_err e = DD_OK;
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL)
        e = dd_fail(cause, DD_ENOTFOUND, "version %lld has no saved state", (long long)id);
    else if (blob_from(st, 0, out) != DD_OK)
        e = dd_fail(cause, DD_ECORRUPT, "the saved state of version %lld is damaged",
                    (long long)id);
    sqlite3_finalize(st);
    return e;
}

void registry_version_clear(registry_version *v)
{
    free(v->model.data);
    v->model.data = NULL;
    v->model.len = 0;
}

static dd_err one_int(registry *r, const char *sql, int64_t *out, char **cause)
{
    sqlite3_stmt *st = prep(r, cause, sql, "");
    if (!st)
        return DD_EDB;
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return dd_fail(cause, DD_EDB, "%s", sqlite3_errmsg(r->db));
    return DD_OK;
}

dd_err registry_active_id(registry *r, int64_t *id, char **cause)
{
    return one_int(r, "SELECT id FROM versions WHERE status = 'active'", id, cause);
}

dd_err registry_max_version_id(registry *r, int64_t *id, char **cause)
{
    return one_int(r, "SELECT IFNULL(MAX(id), 0) FROM versions", id, cause);
}

static char *text_from(sqlite3_stmt *st, int col)
{
    return rec_strdup((const char *)sqlite3_column_text(st, col));
}

dd_err registry_last_checkpoint(registry *r, registry_checkpoint *c, char **cause)
{
    memset(c, 0, sizeof *c);
    sqlite3_stmt *st = prep(r, cause,
                            "SELECT id, IFNULL(session_id, 0), event_index, IFNULL(src_pos, 0), "
                            "source, src_state, IFNULL(active_id, 0), IFNULL(challenger_id, 0), "
                            "IFNULL(previous_id, 0), pipeline, policy, active_model, "
                            "challenger_model, previous_model, IFNULL(audit_head, '') "
                            "FROM checkpoints ORDER BY id DESC LIMIT 1",
                            "");
    if (!st)
        return DD_EDB;
    int rc = sqlite3_step(st);
    dd_err e = DD_OK;
    if (rc == SQLITE_ROW) {
        c->id = sqlite3_column_int64(st, 0);
        c->session_id = sqlite3_column_int64(st, 1);
        c->event_index = (uint64_t)sqlite3_column_int64(st, 2);
        c->src_pos = (uint64_t)sqlite3_column_int64(st, 3);
        c->source = text_from(st, 4);
        c->src_state = text_from(st, 5);
        c->active_id = sqlite3_column_int64(st, 6);
        c->challenger_id = sqlite3_column_int64(st, 7);
        c->previous_id = sqlite3_column_int64(st, 8);
        snprintf(c->audit_head, sizeof c->audit_head, "%s", sqlite3_column_text(st, 14));
        if (blob_from(st, 9, &c->pipeline) || blob_from(st, 10, &c->policy) ||
            blob_from(st, 11, &c->active_model) || blob_from(st, 12, &c->challenger_model) ||
            blob_from(st, 13, &c->previous_model))
            e = dd_fail(cause, DD_ECORRUPT,
                        "cannot read checkpoint %lld (no memory, or it is damaged)",
                        (long long)c->id);
    } else if (rc == SQLITE_DONE) {
        e = dd_fail(cause, DD_ENOTFOUND, "the workspace has no checkpoint yet");
    } else {
        e = dd_fail(cause, DD_EDB, "%s", sqlite3_errmsg(r->db));
    }
    sqlite3_finalize(st);
    if (e)
        registry_checkpoint_clear(c);
    return e;
}

void registry_checkpoint_clear(registry_checkpoint *c)
{
    free(c->source);
    free(c->src_state);
    free(c->pipeline.data);
    free(c->policy.data);
    free(c->active_model.data);
    free(c->challenger_model.data);
    free(c->previous_model.data);
    memset(c, 0, sizeof *c);
}

/* The ids of live challengers (shadow, awaiting_approval, canary), at most 8. */
static int live_challengers(registry *r, int64_t ids[8], gov_status st_out[8])
{
    sqlite3_stmt *st = prep(r, NULL,
                            "SELECT id, status FROM versions WHERE status IN ('candidate', "
                            "'shadow', 'awaiting_approval', 'canary') ORDER BY id",
                            "");
    int n = 0;
    while (st && n < 8 && sqlite3_step(st) == SQLITE_ROW) {
        ids[n] = sqlite3_column_int64(st, 0);
        if (gov_status_parse((const char *)sqlite3_column_text(st, 1), &st_out[n]) == DD_OK)
            n++;
    }
    sqlite3_finalize(st);
    return n;
}

static dd_err apply_owned(registry *r, gov_record *rec, double wall, char **cause)
{
    if (!rec)
        return dd_fail(cause, DD_ENOMEM, "no memory");
    dd_err e = registry_apply(r, rec, wall, cause);
    rec_free(rec);
    return e;
}

static dd_err rollback_steps(registry *r, int64_t target, const char *actor, const char *reason,
                             double wall, int64_t *new_id, char **cause)
{
    registry_version t;
    int64_t active = 0, max_id = 0;
    dd_err e = registry_version_get(r, target, true, &t, cause);
    if (e)
        return e;
    if (!t.served || !t.model.len) {
        registry_version_clear(&t);
        return dd_fail(cause, DD_ESTATE,
                       "version %lld never served (or its state was pruned): only versions "
                       "that served can be rolled back to",
                       (long long)target);
    }
    uint64_t event = 0;
    registry_checkpoint c;
    if (registry_last_checkpoint(r, &c, NULL) == DD_OK) {
        event = c.event_index;
        registry_checkpoint_clear(&c);
    }
    if ((e = registry_active_id(r, &active, cause)) ||
        (e = registry_max_version_id(r, &max_id, cause)))
        goto out;
    if (active == target) {
        e = dd_fail(cause, DD_ESTATE, "version %lld is already active", (long long)target);
        goto out;
    }
    int64_t ids[8];
    gov_status sts[8];
    int n = live_challengers(r, ids, sts);
    for (int i = 0; i < n && !e; i++) {
        registry_version cv;
        if ((e = registry_version_get(r, ids[i], false, &cv, cause)) == DD_OK)
            e = apply_owned(r,
                            rec_transition(event, actor, ids[i], sts[i],
                                           sts[i] == GOV_CANARY ? GOV_ROLLED_BACK : GOV_REJECTED,
                                           cv.trigger, "dropped by a manual rollback"),
                            wall, cause);
    }
    registry_version av;
    if (!e && active && (e = registry_version_get(r, active, false, &av, cause)) == DD_OK)
        e = apply_owned(
            r,
            rec_transition(event, actor, active, GOV_ACTIVE, GOV_ROLLED_BACK, av.trigger, reason),
            wall, cause);
    if (e)
        goto out;
    gov_record *v = rec_new(REC_VERSION, event, actor);
    if (v) {
        v->u.version.id = max_id + 1;
        v->u.version.parent_id = target;
        v->u.version.trigger = GOV_TRIG_ROLLBACK;
        v->u.version.model = t.model; /* ownership moves to the record */
        t.model.data = NULL;
        t.model.len = 0;
    }
    if ((e = apply_owned(r, v, wall, cause)) == DD_OK)
        e = apply_owned(r,
                        rec_transition(event, actor, max_id + 1, GOV_CANDIDATE, GOV_ACTIVE,
                                       GOV_TRIG_ROLLBACK, reason),
                        wall, cause);
    if (!e)
        *new_id = max_id + 1;
out:
    registry_version_clear(&t);
    return e;
}

dd_err registry_manual_rollback(registry *r, int64_t target, const char *actor, const char *reason,
                                double wall, int64_t *new_id, char **cause)
{
    dd_err e = registry_begin(r, cause);
    if (e)
        return e;
    if ((e = rollback_steps(r, target, actor, reason, wall, new_id, cause)) == DD_OK &&
        (e = registry_commit(r, cause)) == DD_OK)
        return DD_OK;
    registry_rollback(r);
    return e;
}
