/*
 * export.c: session export (see export.h).
 *
 * Loading is a handful of queries into flat arrays; the writers only format.
 * Drift alarms live in the audit log; a session's entries are those between
 * its session_start entry and the next one. Charts are drawn in SVG user
 * units with fixed margins; a series with more points than CHART_MAX_POINTS
 * is thinned evenly so a long stream still makes a small file.
 */
#include "export.h"

#include "audit.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CHART_MAX_POINTS 1500
#define CHART_W 960.0
#define CHART_H 320.0
#define MARGIN_L 48.0
#define MARGIN_R 16.0
#define MARGIN_T 16.0
#define MARGIN_B 36.0

typedef struct exp_metric {
    uint64_t event, labelled;
    int64_t version;
    char role[24];
    double accuracy, rolling; /* NAN when absent */
} exp_metric;

typedef struct exp_drift {
    uint64_t event;
    int64_t version;
    char stream[40], detector[24], state[12];
} exp_drift;

typedef struct exp_version {
    int64_t id, parent;
    char trigger[16], status[24];
    uint64_t created, ended; /* ended: the event it became final, or 0 */
    int served;
} exp_version;

typedef struct exp_move {
    int64_t version;
    uint64_t event;
    char from[24], to[24], time[32];
    char *actor, *reason;
} exp_move;

struct export_data {
    int64_t session; /* -1: all */
    char started[32], ended[32], mode[16];
    char *source;
    uint64_t first_event, last_event;
    exp_metric *metrics;
    size_t nmetrics;
    exp_drift *drifts;
    size_t ndrifts;
    exp_version *versions;
    size_t nversions;
    exp_move *moves;
    size_t nmoves;
    audit_report audit;
    bool audit_ok;
};

/* ---- loading ------------------------------------------------------------- */

static void text(sqlite3_stmt *st, int col, char *out, size_t n)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    snprintf(out, n, "%s", s ? (const char *)s : "");
}

static double real_or_nan(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

/* Grow *arr (of *n elements of size sz) by one zeroed element; NULL on no memory. */
static void *push(void **arr, size_t *n, size_t sz)
{
    void *a = realloc(*arr, (*n + 1) * sz);
    if (!a)
        return NULL;
    *arr = a;
    void *e = (char *)a + *n * sz;
    memset(e, 0, sz);
    (*n)++;
    return e;
}

static dd_err load_session(sqlite3 *db, export_data *d, char **cause)
{
    sqlite3_stmt *st = NULL;
    const char *sql = d->session == 0
                          ? "SELECT id, started_at, ended_at, source, mode, first_event, "
                            "last_event FROM sessions ORDER BY id DESC LIMIT 1"
                          : "SELECT id, started_at, ended_at, source, mode, first_event, "
                            "last_event FROM sessions WHERE id = ?";
    if (d->session < 0) {
        snprintf(d->mode, sizeof d->mode, "all");
        return DD_OK;
    }
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return dd_fail(cause, DD_EDB, "%s", sqlite3_errmsg(db));
    if (d->session)
        sqlite3_bind_int64(st, 1, d->session);
    dd_err e = DD_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        d->session = sqlite3_column_int64(st, 0);
        text(st, 1, d->started, sizeof d->started);
        text(st, 2, d->ended, sizeof d->ended);
        d->source =
            sqlite3_column_text(st, 3) ? strdup((const char *)sqlite3_column_text(st, 3)) : NULL;
        text(st, 4, d->mode, sizeof d->mode);
        d->first_event = (uint64_t)sqlite3_column_int64(st, 5);
        d->last_event = (uint64_t)sqlite3_column_int64(st, 6);
    } else {
        e = dd_fail(cause, DD_ENOTFOUND, "no session %lld in this workspace",
                    (long long)d->session);
    }
    sqlite3_finalize(st);
    return e;
}

/* Prepare sql with the session bound to every '?' (when one is selected). */
static sqlite3_stmt *prep_session(sqlite3 *db, const export_data *d, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++)
        sqlite3_bind_int64(st, i, d->session);
    return st;
}

static dd_err load_metrics(sqlite3 *db, export_data *d)
{
    sqlite3_stmt *st = prep_session(db, d,
                                    "SELECT event_index, version_id, role, labelled, accuracy, "
                                    "rolling FROM metrics WHERE ?1 < 0 OR session_id = ?1 "
                                    "ORDER BY event_index, id");
    if (!st)
        return DD_EDB;
    dd_err e = DD_OK;
    while (!e && sqlite3_step(st) == SQLITE_ROW) {
        exp_metric *m = push((void **)&d->metrics, &d->nmetrics, sizeof *m);
        if (!m) {
            e = DD_ENOMEM;
            break;
        }
        m->event = (uint64_t)sqlite3_column_int64(st, 0);
        m->version = sqlite3_column_int64(st, 1);
        text(st, 2, m->role, sizeof m->role);
        m->labelled = (uint64_t)sqlite3_column_int64(st, 3);
        m->accuracy = real_or_nan(st, 4);
        m->rolling = real_or_nan(st, 5);
    }
    sqlite3_finalize(st);
    return e;
}

static dd_err load_drifts(sqlite3 *db, export_data *d)
{
    /* The session's audit entries: from its session_start to the next one. */
    sqlite3_stmt *st = prep_session(
        db, d,
        "WITH starts AS (SELECT seq, json_extract(payload, '$.session') AS s FROM audit "
        "WHERE kind = 'session_start'), "
        "span AS (SELECT IFNULL((SELECT seq FROM starts WHERE s = ?1), 0) AS lo, "
        "IFNULL((SELECT MIN(seq) FROM starts WHERE s > ?1), 9223372036854775807) AS hi) "
        "SELECT json_extract(payload, '$.event'), json_extract(payload, '$.version'), "
        "json_extract(payload, '$.stream'), json_extract(payload, '$.detector'), "
        "json_extract(payload, '$.state') FROM audit, span WHERE kind = 'drift' AND "
        "(?1 < 0 OR (seq > lo AND seq < hi)) ORDER BY seq");
    if (!st)
        return DD_EDB;
    dd_err e = DD_OK;
    while (!e && sqlite3_step(st) == SQLITE_ROW) {
        exp_drift *x = push((void **)&d->drifts, &d->ndrifts, sizeof *x);
        if (!x) {
            e = DD_ENOMEM;
            break;
        }
        x->event = (uint64_t)sqlite3_column_int64(st, 0);
        x->version = sqlite3_column_int64(st, 1);
        text(st, 2, x->stream, sizeof x->stream);
        text(st, 3, x->detector, sizeof x->detector);
        text(st, 4, x->state, sizeof x->state);
    }
    sqlite3_finalize(st);
    return e;
}

static dd_err load_versions(sqlite3 *db, export_data *d)
{
    sqlite3_stmt *st = prep_session(
        db, d,
        "SELECT v.id, IFNULL(v.parent_id, 0), v.trigger, v.status, v.created_event, v.served, "
        "(SELECT t.event_index FROM transitions t WHERE t.version_id = v.id AND t.to_status IN "
        "('retired', 'rejected', 'rolled_back')) FROM versions v ORDER BY v.id");
    if (!st)
        return DD_EDB;
    dd_err e = DD_OK;
    while (!e && sqlite3_step(st) == SQLITE_ROW) {
        exp_version *v = push((void **)&d->versions, &d->nversions, sizeof *v);
        if (!v) {
            e = DD_ENOMEM;
            break;
        }
        v->id = sqlite3_column_int64(st, 0);
        v->parent = sqlite3_column_int64(st, 1);
        text(st, 2, v->trigger, sizeof v->trigger);
        text(st, 3, v->status, sizeof v->status);
        v->created = (uint64_t)sqlite3_column_int64(st, 4);
        v->served = sqlite3_column_int(st, 5);
        v->ended = (uint64_t)sqlite3_column_int64(st, 6);
    }
    sqlite3_finalize(st);
    return e;
}

static dd_err load_moves(sqlite3 *db, export_data *d)
{
    sqlite3_stmt *st = prep_session(db, d,
                                    "SELECT version_id, IFNULL(from_status, ''), to_status, "
                                    "actor, reason, IFNULL(event_index, 0), time FROM "
                                    "transitions WHERE ?1 < 0 OR session_id = ?1 ORDER BY id");
    if (!st)
        return DD_EDB;
    dd_err e = DD_OK;
    while (!e && sqlite3_step(st) == SQLITE_ROW) {
        exp_move *m = push((void **)&d->moves, &d->nmoves, sizeof *m);
        if (!m) {
            e = DD_ENOMEM;
            break;
        }
        m->version = sqlite3_column_int64(st, 0);
        text(st, 1, m->from, sizeof m->from);
        text(st, 2, m->to, sizeof m->to);
        m->actor =
            strdup(sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "");
        m->reason =
            strdup(sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "");
        m->event = (uint64_t)sqlite3_column_int64(st, 5);
        text(st, 6, m->time, sizeof m->time);
        if (!m->actor || !m->reason)
            e = DD_ENOMEM;
    }
    sqlite3_finalize(st);
    return e;
}

export_data *export_load(sqlite3 *db, int64_t session, dd_err *err, char **cause)
{
    export_data *d = calloc(1, sizeof *d);
    if (!d) {
        *err = dd_fail(cause, DD_ENOMEM, "no memory");
        return NULL;
    }
    d->session = session;
    dd_err e = load_session(db, d, cause);
    if (!e && ((e = load_metrics(db, d)) || (e = load_drifts(db, d)) ||
               (e = load_versions(db, d)) || (e = load_moves(db, d))))
        dd_fail(cause, e, "cannot read the workspace: %s", sqlite3_errmsg(db));
    if (!e) {
        dd_err v = audit_verify(db, NULL, 0, NULL, &d->audit, cause);
        if (v && v != DD_ECORRUPT)
            e = v;
        d->audit_ok = v == DD_OK;
    }
    *err = e;
    if (e) {
        export_free(d);
        return NULL;
    }
    return d;
}

int64_t export_session_id(const export_data *d)
{
    return d->session;
}

void export_free(export_data *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nmoves; i++) {
        free(d->moves[i].actor);
        free(d->moves[i].reason);
    }
    free(d->moves);
    free(d->metrics);
    free(d->drifts);
    free(d->versions);
    free(d->source);
    free(d);
}

/* ---- JSON Lines and CSV -------------------------------------------------- */

static void line(cJSON *o, FILE *out)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    if (s) {
        fputs(s, out);
        fputc('\n', out);
    }
    free(s);
    cJSON_Delete(o);
}

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

dd_err export_jsonl(const export_data *d, FILE *out)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "session");
    cJSON_AddNumberToObject(o, "session", (double)d->session);
    cJSON_AddStringToObject(o, "started", d->started);
    cJSON_AddStringToObject(o, "ended", d->ended);
    cJSON_AddStringToObject(o, "source", d->source ? d->source : "");
    cJSON_AddStringToObject(o, "mode", d->mode);
    line(o, out);
    for (size_t i = 0; i < d->nversions; i++) {
        const exp_version *v = &d->versions[i];
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "version");
        cJSON_AddNumberToObject(o, "version", (double)v->id);
        cJSON_AddNumberToObject(o, "parent", (double)v->parent);
        cJSON_AddStringToObject(o, "trigger", v->trigger);
        cJSON_AddStringToObject(o, "status", v->status);
        cJSON_AddNumberToObject(o, "created_event", (double)v->created);
        cJSON_AddBoolToObject(o, "served", v->served);
        line(o, out);
    }
    for (size_t i = 0; i < d->nmetrics; i++) {
        const exp_metric *m = &d->metrics[i];
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "metric");
        cJSON_AddNumberToObject(o, "event", (double)m->event);
        cJSON_AddNumberToObject(o, "version", (double)m->version);
        cJSON_AddStringToObject(o, "role", m->role);
        cJSON_AddNumberToObject(o, "labelled", (double)m->labelled);
        add_num(o, "accuracy", m->accuracy);
        add_num(o, "rolling", m->rolling);
        line(o, out);
    }
    for (size_t i = 0; i < d->ndrifts; i++) {
        const exp_drift *x = &d->drifts[i];
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "drift");
        cJSON_AddNumberToObject(o, "event", (double)x->event);
        cJSON_AddStringToObject(o, "stream", x->stream);
        cJSON_AddStringToObject(o, "detector", x->detector);
        cJSON_AddStringToObject(o, "state", x->state);
        cJSON_AddNumberToObject(o, "version", (double)x->version);
        line(o, out);
    }
    for (size_t i = 0; i < d->nmoves; i++) {
        const exp_move *m = &d->moves[i];
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "decision");
        cJSON_AddNumberToObject(o, "event", (double)m->event);
        cJSON_AddNumberToObject(o, "version", (double)m->version);
        cJSON_AddStringToObject(o, "from", m->from);
        cJSON_AddStringToObject(o, "to", m->to);
        cJSON_AddStringToObject(o, "actor", m->actor);
        cJSON_AddStringToObject(o, "reason", m->reason);
        cJSON_AddStringToObject(o, "time", m->time);
        line(o, out);
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "audit");
    cJSON_AddNumberToObject(o, "entries", (double)d->audit.entries);
    cJSON_AddStringToObject(o, "head", d->audit.head);
    cJSON_AddBoolToObject(o, "verified", d->audit_ok);
    if (!d->audit_ok)
        cJSON_AddStringToObject(o, "problem", d->audit.problem);
    line(o, out);
    return ferror(out) ? DD_EIO : DD_OK;
}

/* A CSV field: quoted, with quotes doubled (RFC 4180). */
static void csv_field(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void csv_num(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.6g", v);
}

dd_err export_csv(const export_data *d, FILE *out)
{
    fputs("type,event,version,role,labelled,accuracy,rolling,from,to,actor,reason,detail\n", out);
    for (size_t i = 0; i < d->nmetrics; i++) {
        const exp_metric *m = &d->metrics[i];
        fprintf(out, "metric,%llu,%lld,", (unsigned long long)m->event, (long long)m->version);
        csv_field(out, m->role);
        fprintf(out, ",%llu,", (unsigned long long)m->labelled);
        csv_num(out, m->accuracy);
        fputc(',', out);
        csv_num(out, m->rolling);
        fputs(",,,,,\n", out);
    }
    for (size_t i = 0; i < d->ndrifts; i++) {
        const exp_drift *x = &d->drifts[i];
        char detail[96];
        snprintf(detail, sizeof detail, "%s %s on %s", x->detector, x->state, x->stream);
        fprintf(out, "drift,%llu,%lld,,,,,,,,,", (unsigned long long)x->event,
                (long long)x->version);
        csv_field(out, detail);
        fputc('\n', out);
    }
    for (size_t i = 0; i < d->nmoves; i++) {
        const exp_move *m = &d->moves[i];
        fprintf(out, "decision,%llu,%lld,,,,,", (unsigned long long)m->event,
                (long long)m->version);
        csv_field(out, m->from);
        fputc(',', out);
        csv_field(out, m->to);
        fputc(',', out);
        csv_field(out, m->actor);
        fputc(',', out);
        csv_field(out, m->reason);
        fputs(",\n", out);
    }
    fprintf(out, "audit,,,,%lld,,,,,,,", (long long)d->audit.entries);
    csv_field(out, d->audit.head);
    fputc('\n', out);
    return ferror(out) ? DD_EIO : DD_OK;
}

/* ---- HTML ---------------------------------------------------------------- */

static void esc(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#bcbd22"};

static const char *color_of(int64_t version)
{
    return palette[(uint64_t)(version > 0 ? version - 1 : 0) % DD_ARRAY_LEN(palette)];
}

/* The x range of the charts: every event the session mentions. */
static void x_range(const export_data *d, double *x0, double *x1)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < d->nmetrics; i++) {
        lo = fmin(lo, (double)d->metrics[i].event);
        hi = fmax(hi, (double)d->metrics[i].event);
    }
    for (size_t i = 0; i < d->ndrifts; i++) {
        lo = fmin(lo, (double)d->drifts[i].event);
        hi = fmax(hi, (double)d->drifts[i].event);
    }
    for (size_t i = 0; i < d->nmoves; i++) {
        lo = fmin(lo, (double)d->moves[i].event);
        hi = fmax(hi, (double)d->moves[i].event);
    }
    if (!isfinite(lo)) {
        lo = 0;
        hi = 1;
    }
    if (hi <= lo)
        hi = lo + 1;
    *x0 = lo;
    *x1 = hi;
}

typedef struct scale {
    double x0, x1, w, h;
} scale;

static double sx(const scale *s, double ev)
{
    return MARGIN_L + (ev - s->x0) / (s->x1 - s->x0) * (s->w - MARGIN_L - MARGIN_R);
}

static double sy(const scale *s, double acc)
{
    return MARGIN_T + (1.0 - acc) * (s->h - MARGIN_T - MARGIN_B);
}

static void axes(FILE *out, const scale *s)
{
    for (int i = 0; i <= 4; i++) {
        double y = sy(s, i / 4.0);
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"></line>\n"
                "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%.2f</text>\n",
                MARGIN_L, y, s->w - MARGIN_R, y, MARGIN_L - 6, y + 4, i / 4.0);
    }
    for (int i = 0; i <= 5; i++) {
        double ev = s->x0 + (s->x1 - s->x0) * i / 5.0, x = sx(s, ev);
        fprintf(out,
                "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">%.0f</text>\n",
                x, s->h - MARGIN_B + 16, ev);
    }
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">event</text>\n",
            (s->w + MARGIN_L) / 2, s->h - 4);
}

/* One polyline per (version, role), thinned to CHART_MAX_POINTS. */
static void series(FILE *out, const export_data *d, const scale *s, int64_t version,
                   const char *role)
{
    size_t n = 0;
    for (size_t i = 0; i < d->nmetrics; i++)
        n += d->metrics[i].version == version && !strcmp(d->metrics[i].role, role) &&
             isfinite(d->metrics[i].rolling);
    if (!n)
        return;
    size_t step = n / CHART_MAX_POINTS + 1, k = 0;
    const char *dash = !strcmp(role, "active")     ? ""
                       : !strcmp(role, "previous") ? " stroke-dasharray=\"2 3\""
                                                   : " stroke-dasharray=\"6 4\"";
    fprintf(out, "<polyline class=\"series\" stroke=\"%s\"%s points=\"", color_of(version), dash);
    for (size_t i = 0; i < d->nmetrics; i++) {
        const exp_metric *m = &d->metrics[i];
        if (m->version != version || strcmp(m->role, role) != 0 || !isfinite(m->rolling))
            continue;
        if (k++ % step == 0)
            fprintf(out, "%.1f,%.1f ", sx(s, (double)m->event), sy(s, m->rolling));
    }
    fprintf(out, "\"><title>version %lld (%s): rolling accuracy</title></polyline>\n",
            (long long)version, role);
}

static void marker(FILE *out, const scale *s, double ev, const char *cls, const char *title)
{
    double x = sx(s, ev);
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"%s\"><title>", x,
            MARGIN_T, x, s->h - MARGIN_B, cls);
    esc(out, title);
    fputs("</title></line>\n", out);
}

static void markers(FILE *out, const export_data *d, const scale *s)
{
    char t[160];
    for (size_t i = 0; i < d->ndrifts; i++) {
        const exp_drift *x = &d->drifts[i];
        if (strcmp(x->state, "drift") != 0)
            continue;
        snprintf(t, sizeof t, "drift at event %llu (%s on %s)", (unsigned long long)x->event,
                 x->detector, x->stream);
        marker(out, s, (double)x->event, "m-drift", t);
    }
    for (size_t i = 0; i < d->nmoves; i++) {
        const exp_move *m = &d->moves[i];
        bool promo = !strcmp(m->to, "active") && m->from[0] && strcmp(m->from, "candidate") != 0;
        bool back = !strcmp(m->to, "rolled_back") && !strcmp(m->from, "active");
        if (!promo && !back)
            continue;
        snprintf(t, sizeof t, "%s of version %lld at event %llu", promo ? "promotion" : "rollback",
                 (long long)m->version, (unsigned long long)m->event);
        marker(out, s, (double)m->event, promo ? "m-promo" : "m-rollback", t);
    }
}

static void accuracy_chart(FILE *out, const export_data *d)
{
    scale s = {.w = CHART_W, .h = CHART_H};
    x_range(d, &s.x0, &s.x1);
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"rolling accuracy over time\">\n"
            "<title>Rolling accuracy over time</title>\n",
            s.w, s.h, s.w, s.h);
    axes(out, &s);
    static const char *const roles[] = {"active", "shadow", "awaiting_approval", "canary",
                                        "previous"};
    for (size_t v = 0; v < d->nversions; v++)
        for (size_t r = 0; r < DD_ARRAY_LEN(roles); r++)
            series(out, d, &s, d->versions[v].id, roles[r]);
    markers(out, d, &s);
    fputs("</svg>\n", out);
}

static const char *status_color(const char *status)
{
    if (!strcmp(status, "active"))
        return "#2ca02c";
    if (!strcmp(status, "retired"))
        return "#7f7f7f";
    if (!strcmp(status, "rolled_back"))
        return "#ff7f0e";
    if (!strcmp(status, "rejected"))
        return "#d62728";
    return "#1f77b4";
}

static void timeline(FILE *out, const export_data *d)
{
    double row = 22, h = MARGIN_T + row * (double)(d->nversions ? d->nversions : 1) + MARGIN_B;
    scale s = {.w = CHART_W, .h = h};
    x_range(d, &s.x0, &s.x1);
    for (size_t i = 0; i < d->nversions; i++)
        s.x0 = fmin(s.x0, (double)d->versions[i].created);
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"version timeline\">\n"
            "<title>Version timeline</title>\n",
            s.w, h, s.w, h);
    for (size_t i = 0; i < d->nversions; i++) {
        const exp_version *v = &d->versions[i];
        double y = MARGIN_T + row * (double)i, x0 = sx(&s, (double)v->created);
        double x1 = v->ended ? sx(&s, (double)v->ended) : s.w - MARGIN_R;
        if (x1 - x0 < 3)
            x1 = x0 + 3;
        fprintf(out,
                "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">v%lld</text>\n"
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                "<title>version %lld (%s, parent %lld): %s</title></rect>\n",
                MARGIN_L - 6, y + row * 0.65, (long long)v->id, x0, y + 3, x1 - x0, row - 6,
                status_color(v->status), (long long)v->id, v->trigger, (long long)v->parent,
                v->status);
    }
    fputs("</svg>\n", out);
}

static void legend(FILE *out, const export_data *d)
{
    fputs("<p class=\"legend\">", out);
    for (size_t i = 0; i < d->nversions; i++)
        fprintf(out, "<span style=\"color:%s\">&#9632; v%lld</span> ", color_of(d->versions[i].id),
                (long long)d->versions[i].id);
    fputs("&#8212; solid: active; dashed: shadow or canary; dotted: the previous version "
          "watched after a promotion. Markers: <span class=\"k-drift\">drift</span>, "
          "<span class=\"k-promo\">promotion</span>, "
          "<span class=\"k-rollback\">rollback</span>.</p>\n",
          out);
}

static void summary_table(FILE *out, const export_data *d)
{
    size_t promos = 0, backs = 0;
    for (size_t i = 0; i < d->nmoves; i++) {
        promos += !strcmp(d->moves[i].to, "active") && !strcmp(d->moves[i].from, "canary");
        backs += !strcmp(d->moves[i].to, "rolled_back") && !strcmp(d->moves[i].from, "active");
    }
    fputs("<table class=\"summary\"><tbody>\n<tr><th>session</th><td>", out);
    if (d->session < 0)
        fputs("all sessions", out);
    else
        fprintf(out, "%lld (%s to %s)", (long long)d->session, d->started,
                d->ended[0] ? d->ended : "running");
    fputs("</td></tr>\n<tr><th>source</th><td>", out);
    esc(out, d->source ? d->source : "");
    fprintf(out,
            "</td></tr>\n<tr><th>mode</th><td>%s</td></tr>\n"
            "<tr><th>versions</th><td>%zu</td></tr>\n"
            "<tr><th>promotions / rollbacks</th><td>%zu / %zu</td></tr>\n"
            "<tr><th>drift alarms</th><td>%zu</td></tr>\n"
            "<tr><th>audit log</th><td>%s: %lld entries, head <code>%s</code>",
            d->mode, d->nversions, promos, backs, d->ndrifts, d->audit_ok ? "verified" : "TAMPERED",
            (long long)d->audit.entries, d->audit.head);
    if (!d->audit_ok) {
        fputs(" &#8212; ", out);
        esc(out, d->audit.problem);
    }
    fputs("</td></tr>\n</tbody></table>\n", out);
}

static void decision_table(FILE *out, const export_data *d)
{
    fputs("<table class=\"decisions\"><thead><tr><th>event</th><th>time (UTC)</th>"
          "<th>version</th><th>from</th><th>to</th><th>actor</th><th>reason</th></tr></thead>"
          "<tbody>\n",
          out);
    for (size_t i = 0; i < d->nmoves; i++) {
        const exp_move *m = &d->moves[i];
        fprintf(out, "<tr><td>%llu</td><td>%s</td><td>v%lld</td><td>%s</td><td>%s</td><td>",
                (unsigned long long)m->event, m->time, (long long)m->version,
                m->from[0] ? m->from : "&#8212;", m->to);
        esc(out, m->actor);
        fputs("</td><td>", out);
        esc(out, m->reason);
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
}

static const char css[] =
    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1000px}"
    "h1{font-size:22px}h2{font-size:17px;margin-top:28px}"
    "table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;"
    "padding:3px 8px;text-align:left;vertical-align:top}"
    ".grid{stroke:#e3e3e3;stroke-width:1}.tick{font-size:11px;fill:#555}"
    ".series{fill:none;stroke-width:1.6}"
    ".m-drift{stroke:#d62728;stroke-width:1.2;stroke-dasharray:4 3}"
    ".m-promo{stroke:#2ca02c;stroke-width:2}.m-rollback{stroke:#ff7f0e;stroke-width:2}"
    ".k-drift{color:#d62728}.k-promo{color:#2ca02c}.k-rollback{color:#ff7f0e}"
    ".legend{font-size:13px}code{font-size:12px}";

dd_err export_html(const export_data *d, FILE *out)
{
    fprintf(out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>driftdeck session report</title>\n<style>%s</style>\n</head>\n<body>\n"
            "<h1>driftdeck session report</h1>\n",
            css);
    summary_table(out, d);
    fputs("<h2>Accuracy over time</h2>\n", out);
    accuracy_chart(out, d);
    legend(out, d);
    fputs("<h2>Version timeline</h2>\n", out);
    timeline(out, d);
    fputs("<p class=\"legend\">Bars run from a version's creation to its final state: "
          "<span style=\"color:#2ca02c\">active</span>, <span style=\"color:#7f7f7f\">"
          "retired</span>, <span style=\"color:#ff7f0e\">rolled back</span>, "
          "<span style=\"color:#d62728\">rejected</span>, <span style=\"color:#1f77b4\">"
          "live challenger</span>.</p>\n<h2>Decisions</h2>\n",
          out);
    decision_table(out, d);
    fputs("</body>\n</html>\n", out);
    return ferror(out) ? DD_EIO : DD_OK;
}
