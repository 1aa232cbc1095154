/*
 * govern_run.c: governance for one run (see govern_run.h).
 */
#include "govern_run.h"

#include "audit.h"
#include "governor.h"
#include "registry.h"
#include "source.h"
#include "worker_view.h"
#include "workspace.h"
#include "writer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gov_run {
    const dd_config *cfg;
    char *source;
    workspace_lock *lock;
    registry *reg; /* owned until the writer takes it */
    writer *wr;
    governor *gov;
    bool have_cp, same_source;
    bool restart; /* a checkpoint we do not resume from: start fresh, close its versions */
    char hash[AUDIT_HASH_HEX]; /* of this run's configuration */
    registry_checkpoint cp;
    char describe[640];
    source *src; /* borrowed: told when a checkpoint covering its events commits */
};

/* SHA-256 of the effective configuration as --print-config writes it, less
 * the [run] section (where and how fast to read do not change what is
 * learned). A resume needs the same hash: another configuration may not even
 * fit the saved models (hash_bits). */
static void config_hash(const dd_config *cfg, char out[AUDIT_HASH_HEX])
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    snprintf(out, AUDIT_HASH_HEX, "%s", "");
    if (!f)
        return;
    config_print(cfg, f);
    fclose(f);
    size_t w = 0;
    bool in_run = false;
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);
        if (line[0] == '[')
            in_run = !strncmp(line, "[run]", 5);
        if (!in_run) {
            memmove(buf + w, line, n);
            w += n;
        }
        line += n;
    }
    audit_sha256_hex(buf, w, out);
    free(buf);
}

/* The last session: its configuration hash and whether it read its stream to
 * the end (then a new run replays the stream from the start). */
static void last_session(gov_run *g, char hash[AUDIT_HASH_HEX], bool *finished)
{
    sqlite3_stmt *st = NULL;
    hash[0] = '\0';
    *finished = false;
    if (sqlite3_prepare_v2(registry_db(g->reg),
                           "SELECT IFNULL(config_hash, ''), IFNULL(end_reason, '') FROM sessions "
                           "WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, g->cp.session_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(hash, AUDIT_HASH_HEX, "%s", (const char *)sqlite3_column_text(st, 0));
        *finished = !strcmp((const char *)sqlite3_column_text(st, 1), "end of stream");
    }
    sqlite3_finalize(st);
}

/* Resume an interrupted run of the same source and configuration; anything
 * else starts fresh (the earlier versions stay in the registry, closed). */
static dd_err read_checkpoint(gov_run *g, char **cause)
{
    dd_err e = registry_last_checkpoint(g->reg, &g->cp, cause);
    if (e == DD_ENOTFOUND) {
        snprintf(g->describe, sizeof g->describe, "new workspace %.200s", g->cfg->workspace);
        return DD_OK;
    }
    if (e)
        return e;
    char hash[AUDIT_HASH_HEX];
    bool finished;
    last_session(g, hash, &finished);
    int64_t active = 0;
    if ((e = registry_active_id(g->reg, &active, cause)) != DD_OK)
        return e;
    g->same_source = g->cp.source && !strcmp(g->cp.source, g->source);
    const char *why = !g->same_source         ? "its last run read another source"
                      : strcmp(hash, g->hash) ? "its last run had another configuration"
                      : finished              ? "its last run read this stream to the end"
                                              : NULL;
    if (why) {
        snprintf(g->describe, sizeof g->describe,
                 "workspace %.200s: %s, so this run starts fresh (the earlier versions stay in "
                 "the registry)",
                 g->cfg->workspace, why);
        g->restart = true;
        return DD_OK;
    }
    g->have_cp = true;
    snprintf(g->describe, sizeof g->describe,
             "resuming from checkpoint %lld at event %llu (version %lld active%s)",
             (long long)g->cp.id, (unsigned long long)g->cp.event_index, (long long)active,
             active != g->cp.active_id ? ", set by a rollback since the checkpoint" : "");
    return DD_OK;
}

gov_run *gov_run_open(const dd_config *cfg, const char *spec, char **cause)
{
    gov_run *g = calloc(1, sizeof *g);
    char shown[CONFIG_PATH_MAX + 8];
    source_spec_redacted(spec, shown, sizeof shown); /* tokens never reach the database */
    if (!g || !(g->source = rec_strdup(shown))) {
        free(g);
        dd_fail(cause, DD_ENOMEM, "no memory");
        return NULL;
    }
    g->cfg = cfg;
    config_hash(cfg, g->hash);
    dd_err e;
    uint8_t key[AUDIT_KEY_MAX];
    size_t keylen = 0;
    char *path = NULL;
    if (!(g->lock = workspace_lock_new(cfg->workspace, &e, cause)))
        goto fail;
    if (cfg->audit_key_file[0] &&
        (e = audit_key_load(cfg->audit_key_file, key, &keylen, cause)) != DD_OK)
        goto fail;
    if (!(path = workspace_path(cfg->workspace, WORKSPACE_DB_NAME))) {
        dd_fail(cause, DD_ENOMEM, "no memory");
        goto fail;
    }
    g->reg = registry_open(path, keylen ? key : NULL, keylen, &e, cause);
    free(path);
    if (!g->reg || read_checkpoint(g, cause) != DD_OK)
        goto fail;
    registry_set_keep(g->reg, cfg->keep_checkpoints);
    return g;
fail:
    gov_run_close(g, NULL);
    return NULL;
}

uint64_t gov_run_resume_offset(const gov_run *g)
{
    return g->have_cp ? g->cp.src_pos : 0;
}

void gov_run_print_describe(const gov_run *g, FILE *out)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "type", "workspace");
    cJSON_AddStringToObject(j, "workspace", g->cfg->workspace);
    cJSON_AddBoolToObject(j, "resume", g->have_cp);
    cJSON_AddStringToObject(j, "message", g->describe);
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    if (s) {
        fputs(s, out);
        fputc('\n', out);
        fflush(out);
    }
    free(s);
    cJSON_Delete(j);
}

const char *gov_run_describe(const gov_run *g)
{
    return g->describe;
}

static dd_err resume(gov_run *g, rec_list *out, char **cause)
{
    governor_resume_in in = {.cp = &g->cp};
    registry_version v = {0};
    dd_err e = registry_active_id(g->reg, &in.active_id, cause);
    if (!e)
        e = registry_max_version_id(g->reg, &in.max_id, cause);
    if (!e && in.active_id && in.active_id != g->cp.active_id) {
        e = registry_version_get(g->reg, in.active_id, true, &v, cause);
        in.active_trigger = v.trigger;
        in.active_model = &v.model;
    }
    if (!e)
        e = governor_resume(g->gov, &in, out, cause);
    registry_version_clear(&v);
    return e;
}

/* In the writer thread: a checkpoint is durable, so the source may forget
 * (Kafka: commit) everything up to its position. The head is published by
 * the worker's status lines. */
/* Fresh learning: version 1 of a new workspace, or the next id after closing
 * the live versions of a session on another source. */
static dd_err start(gov_run *g, rec_list *out, char **cause)
{
    policy_live live[2] = {{0}};
    size_t n = 0;
    int64_t max_id = 0, ids[2] = {0, g->cp.challenger_id};
    dd_err e = registry_max_version_id(g->reg, &max_id, cause);
    if (!e && g->restart) /* the registry's active version (a rollback may have set it) */
        e = registry_active_id(g->reg, &ids[0], cause);
    for (size_t i = 0; !e && g->restart && i < 2; i++) {
        registry_version v;
        if (ids[i] && registry_version_get(g->reg, ids[i], false, &v, NULL) == DD_OK)
            live[n++] = (policy_live){v.id, v.status, v.trigger};
    }
    return e ? e : governor_start(g->gov, live, n, max_id + 1, out, cause);
}

static void on_commit(void *ctx, uint64_t ev, uint64_t pos, const char *head)
{
    gov_run *g = ctx;
    (void)ev;
    (void)head;
    if (g->src && g->src->ops->ack)
        g->src->ops->ack(g->src, pos);
}

void gov_run_set_source(gov_run *g, source *src)
{
    g->src = src;
}

dd_err gov_run_attach(gov_run *g, worker *w, char **cause)
{
    governor_params gp = {.policy = g->cfg->govern,
                          .candidate = (governor_candidate)g->cfg->candidate,
                          .source = g->source,
                          .config_hash = g->hash};
    if (!(g->gov = governor_new(worker_pipeline(w), &gp, cause)))
        return DD_EINVAL;
    rec_list recs = {0};
    dd_err e = g->have_cp ? resume(g, &recs, cause) : start(g, &recs, cause);
    writer_params wp;
    writer_params_default(&wp);
    if (!e && !(g->wr = writer_new(g->reg, &wp, on_commit, g, cause)))
        e = DD_ENOMEM;
    if (e) {
        rec_list_clear(&recs);
        return e;
    }
    g->reg = NULL; /* the writer owns it now */
    if ((e = writer_start(g->wr, cause)) != DD_OK) {
        rec_list_clear(&recs);
        return e;
    }
    writer_push(g->wr, &recs);
    worker_set_governance(w, g->gov, g->wr);
    return DD_OK;
}

governor *gov_run_governor(gov_run *g)
{
    return g->gov;
}

writer *gov_run_writer(gov_run *g)
{
    return g->wr;
}

/* ---- the console's decider (called in the worker thread) ---- */

static const char *who(const char *user)
{
    return user && *user ? user : "operator";
}

static dd_err decided(gov_run *g, dd_err e, rec_list *recs, char *text, size_t n, const char *what)
{
    writer_push(g->wr, recs);
    if (!e) {
        governor_stats st;
        governor_get_stats(g->gov, &st);
        snprintf(text, n, "%s: version %lld active%s", what, (long long)st.view.active_id,
                 st.view.challenger_id ? ", a challenger live" : "");
    }
    return e;
}

static dd_err dec_approve(void *ctx, pipeline *p, uint64_t version, const char *user, char *text,
                          size_t n, char **cause)
{
    gov_run *g = ctx;
    rec_list recs = {0};
    (void)p;
    (void)version; /* at most one version awaits */
    dd_err e = governor_approve(g->gov, who(user), &recs, cause);
    return decided(g, e, &recs, text, n, "approved: canary");
}

static dd_err dec_reject(void *ctx, pipeline *p, uint64_t version, const char *user, char *text,
                         size_t n, char **cause)
{
    gov_run *g = ctx;
    rec_list recs = {0};
    (void)p;
    (void)version;
    dd_err e = governor_reject(g->gov, who(user), "rejected by the operator", &recs, cause);
    return decided(g, e, &recs, text, n, "rejected");
}

/* A rollback target's saved state, read through a read-only connection: a
 * rare operator action, the only time the worker thread reads the database. */
static dd_err dec_rollback(void *ctx, pipeline *p, uint64_t version, const char *user, char *text,
                           size_t n, char **cause)
{
    gov_run *g = ctx;
    (void)p;
    governor_stats st;
    governor_get_stats(g->gov, &st);
    int64_t target = version ? (int64_t)version : st.view.previous_id;
    if (!target)
        return dd_fail(cause, DD_ENOTFOUND, "no previous version in memory: name the version");
    sqlite3 *db = NULL;
    rec_blob b = {0};
    rec_list recs = {0};
    dd_err e = workspace_open_readonly(g->cfg->workspace, &db, cause);
    if (!e)
        e = registry_read_version_blob(db, target, &b, cause);
    sqlite3_close(db);
    if (!e)
        e = governor_rollback_to(g->gov, target, &b, who(user), "manual rollback from the console",
                                 &recs, cause);
    free(b.data);
    return decided(g, e, &recs, text, n, "rolled back");
}

static void dec_audit(void *ctx, const char *user, const char *action, const char *detail)
{
    gov_run *g = ctx;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "action", action ? action : "");
    cJSON_AddStringToObject(j, "detail", detail ? detail : "");
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    rec_list recs = {0};
    if (text)
        governor_note(g->gov, who(user), "operator", text, &recs, NULL);
    free(text);
    writer_push(g->wr, &recs);
}

void gov_run_decider(gov_run *g, wview_decider *d)
{
    *d = (wview_decider){.ctx = g,
                         .approve = dec_approve,
                         .reject = dec_reject,
                         .rollback = dec_rollback,
                         /* export: the view writes its own (the registry's report is
                          * `driftdeck export`; before the first checkpoint commits there is
                          * no session in the database to report) */
                         .export_session = NULL,
                         .audit = dec_audit};
}

dd_err gov_run_close(gov_run *g, char **cause)
{
    if (!g)
        return DD_OK;
    dd_err e = g->wr ? writer_stop(g->wr, cause) : DD_OK;
    writer_free(g->wr);
    registry_free(g->reg);
    governor_free(g->gov);
    registry_checkpoint_clear(&g->cp);
    workspace_lock_free(g->lock);
    free(g->source);
    free(g);
    return e;
}
