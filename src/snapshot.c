/*
 * snapshot.c: the snapshot's rings, its wire encoding and the triple-buffered
 * board between the worker and a console (see snapshot.h).
 *
 * The encoding writes every field in declaration order through wire.h, rings
 * with their head and count, and checks every count and enum on the way back.
 */
#include "snapshot.h"
#include "wire.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void snap_init(dd_snapshot *s)
{
    memset(s, 0, sizeof *s);
    for (int k = 0; k < SNAP_S__COUNT; k++)
        for (int i = 0; i < SNAP_SERIES_CAP; i++)
            s->chart.val[k][i] = NAN;
    s->source_progress = -1.0f;
    s->speed = 1.0;
    s->pending_metrics.accuracy = s->active_metrics.accuracy = NAN;
    s->pending_metrics.logloss = s->active_metrics.logloss = NAN;
    s->pending_metrics.error = s->active_metrics.error = NAN;
}

void snap_chart_push(snap_chart *c, uint64_t pos, const float vals[SNAP_S__COUNT])
{
    c->pos[c->head] = pos;
    for (int k = 0; k < SNAP_S__COUNT; k++)
        c->val[k][c->head] = vals[k];
    c->head = (c->head + 1) % SNAP_SERIES_CAP;
    if (c->count < SNAP_SERIES_CAP)
        c->count++;
}

uint32_t snap_chart_slot(const snap_chart *c, uint32_t i)
{
    return (c->head + SNAP_SERIES_CAP - c->count + i) % SNAP_SERIES_CAP;
}

void snap_marker_add(dd_snapshot *s, snap_marker_kind kind, uint64_t pos)
{
    s->markers[s->marker_head] = (snap_marker){.kind = (uint8_t)kind, .pos = pos};
    s->marker_head = (s->marker_head + 1) % SNAP_MARKER_CAP;
    if (s->marker_count < SNAP_MARKER_CAP)
        s->marker_count++;
}

const snap_marker *snap_marker_at(const dd_snapshot *s, uint32_t i)
{
    return &s->markers[(s->marker_head + SNAP_MARKER_CAP - s->marker_count + i) % SNAP_MARKER_CAP];
}

void snap_log_add(dd_snapshot *s, snap_log_kind kind, double ts, const char *fmt, ...)
{
    uint64_t prev = s->log_count ? snap_log_newest(s, 0)->id : 0;
    snap_log_row *row = &s->log[s->log_head];
    row->id = prev + 1;
    row->ts = ts;
    row->kind = (uint8_t)kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(row->text, sizeof row->text, fmt, ap);
    va_end(ap);
    s->log_head = (s->log_head + 1) % SNAP_LOG_CAP;
    if (s->log_count < SNAP_LOG_CAP)
        s->log_count++;
}

const snap_log_row *snap_log_newest(const dd_snapshot *s, uint32_t i)
{
    return &s->log[(s->log_head + 2 * SNAP_LOG_CAP - 1 - i) % SNAP_LOG_CAP];
}

const char *snap_run_state_name(snap_run_state st)
{
    static const char *const names[SNAP_RUN__COUNT] = {"RUNNING", "PAUSED", "LEARNING FROZEN",
                                                       "ENDED"};
    return (unsigned)st < SNAP_RUN__COUNT ? names[st] : "?";
}

const char *snap_log_kind_name(snap_log_kind k)
{
    static const char *const names[SNAP_LOG__COUNT] = {
        "info", "warning", "drift", "promotion", "approval", "rollback", "reconnect", "error"};
    return (unsigned)k < SNAP_LOG__COUNT ? names[k] : "?";
}

const char *snap_series_name(snap_series k)
{
    static const char *const names[SNAP_S__COUNT] = {"accuracy",     "challenger accuracy",
                                                     "error rate",   "ADWIN width",
                                                     "Page-Hinkley", "prediction mean"};
    return (unsigned)k < SNAP_S__COUNT ? names[k] : "?";
}

/* ---- encoding ---- */

#define SNAP_FORMAT 1u

static void put_metrics(wire_w *w, const snap_metrics *m)
{
    wire_put_f64(w, m->accuracy);
    wire_put_f64(w, m->logloss);
    wire_put_f64(w, m->error);
    wire_put_u64(w, m->n);
}

static void get_metrics(wire_r *r, snap_metrics *m)
{
    m->accuracy = wire_get_f64(r);
    m->logloss = wire_get_f64(r);
    m->error = wire_get_f64(r);
    m->n = wire_get_u64(r);
}

static void put_header(wire_w *w, const dd_snapshot *s)
{
    wire_put_u32(w, SNAP_FORMAT);
    wire_put_u64(w, s->seq);
    wire_put_str(w, s->source, sizeof s->source);
    wire_put_u8(w, s->source_state);
    wire_put_u8(w, s->source_live);
    wire_put_f32(w, s->source_progress);
    wire_put_u32(w, (uint32_t)s->retry_in_ms);
    wire_put_u64(w, s->events);
    wire_put_f32(w, s->events_per_s);
    wire_put_u32(w, s->queue_len);
    wire_put_u32(w, s->queue_cap);
    wire_put_u64(w, s->drops);
    wire_put_u64(w, s->malformed);
    wire_put_u64(w, s->active_version);
    wire_put_u64(w, s->challenger_version);
    wire_put_u8(w, s->challenger_mode);
    wire_put_u8(w, s->run_state);
    wire_put_u8(w, s->learning_blocked);
    wire_put_f64(w, s->speed);
}

static void get_header(wire_r *r, dd_snapshot *s)
{
    if (wire_get_u32(r) != SNAP_FORMAT)
        r->bad = true;
    s->seq = wire_get_u64(r);
    wire_get_str(r, s->source, sizeof s->source);
    s->source_state = wire_get_u8(r);
    s->source_live = wire_get_u8(r) != 0;
    s->source_progress = wire_get_f32(r);
    s->retry_in_ms = (int32_t)wire_get_u32(r);
    s->events = wire_get_u64(r);
    s->events_per_s = wire_get_f32(r);
    s->queue_len = wire_get_u32(r);
    s->queue_cap = wire_get_u32(r);
    s->drops = wire_get_u64(r);
    s->malformed = wire_get_u64(r);
    s->active_version = wire_get_u64(r);
    s->challenger_version = wire_get_u64(r);
    s->challenger_mode = wire_get_u8(r);
    s->run_state = wire_get_u8(r);
    s->learning_blocked = wire_get_u8(r) != 0;
    s->speed = wire_get_f64(r);
}

static void put_charts(wire_w *w, const dd_snapshot *s)
{
    const snap_chart *c = &s->chart;
    wire_put_u32(w, c->head);
    wire_put_u32(w, c->count);
    for (int i = 0; i < SNAP_SERIES_CAP; i++)
        wire_put_u64(w, c->pos[i]);
    for (int k = 0; k < SNAP_S__COUNT; k++)
        for (int i = 0; i < SNAP_SERIES_CAP; i++)
            wire_put_f32(w, c->val[k][i]);
    wire_put_u32(w, s->marker_head);
    wire_put_u32(w, s->marker_count);
    for (int i = 0; i < SNAP_MARKER_CAP; i++) {
        wire_put_u8(w, s->markers[i].kind);
        wire_put_u64(w, s->markers[i].pos);
    }
    wire_put_u32(w, s->nfeatures);
    for (uint32_t i = 0; i < s->nfeatures && i < SNAP_FEATURE_CAP; i++) {
        wire_put_str(w, s->features[i].name, sizeof s->features[i].name);
        wire_put_f32(w, s->features[i].score);
    }
}

static void get_charts(wire_r *r, dd_snapshot *s)
{
    snap_chart *c = &s->chart;
    c->head = wire_get_u32(r);
    c->count = wire_get_u32(r);
    for (int i = 0; i < SNAP_SERIES_CAP; i++)
        c->pos[i] = wire_get_u64(r);
    for (int k = 0; k < SNAP_S__COUNT; k++)
        for (int i = 0; i < SNAP_SERIES_CAP; i++)
            c->val[k][i] = wire_get_f32(r);
    s->marker_head = wire_get_u32(r);
    s->marker_count = wire_get_u32(r);
    for (int i = 0; i < SNAP_MARKER_CAP; i++) {
        s->markers[i].kind = wire_get_u8(r);
        s->markers[i].pos = wire_get_u64(r);
        if (s->markers[i].kind >= SNAP_MK__COUNT)
            r->bad = true;
    }
    s->nfeatures = wire_get_u32(r);
    if (c->head >= SNAP_SERIES_CAP || c->count > SNAP_SERIES_CAP ||
        s->marker_head >= SNAP_MARKER_CAP || s->marker_count > SNAP_MARKER_CAP ||
        s->nfeatures > SNAP_FEATURE_CAP) {
        r->bad = true;
        return;
    }
    for (uint32_t i = 0; i < s->nfeatures; i++) {
        wire_get_str(r, s->features[i].name, sizeof s->features[i].name);
        s->features[i].score = wire_get_f32(r);
    }
}

static void put_replay(wire_w *w, const snap_replay *p)
{
    wire_put_u32(w, p->capacity);
    wire_put_u32(w, p->fill);
    for (int i = 0; i < SNAP_HIST_BINS; i++)
        wire_put_u32(w, p->hist[i]);
    wire_put_f32(w, p->pmin);
    wire_put_f32(w, p->pmax);
    wire_put_u32(w, p->reachable);
    wire_put_u32(w, p->offset);
    wire_put_u32(w, p->nrows);
    for (uint32_t i = 0; i < p->nrows && i < SNAP_REPLAY_ROWS; i++) {
        const snap_replay_row *row = &p->rows[i];
        wire_put_f32(w, row->priority);
        wire_put_f32(w, row->loss);
        wire_put_f64(w, row->label);
        wire_put_u64(w, row->age);
        wire_put_str(w, row->summary, sizeof row->summary);
    }
}

static void get_replay(wire_r *r, snap_replay *p)
{
    p->capacity = wire_get_u32(r);
    p->fill = wire_get_u32(r);
    for (int i = 0; i < SNAP_HIST_BINS; i++)
        p->hist[i] = wire_get_u32(r);
    p->pmin = wire_get_f32(r);
    p->pmax = wire_get_f32(r);
    p->reachable = wire_get_u32(r);
    p->offset = wire_get_u32(r);
    p->nrows = wire_get_u32(r);
    if (p->nrows > SNAP_REPLAY_ROWS) {
        r->bad = true;
        return;
    }
    for (uint32_t i = 0; i < p->nrows; i++) {
        snap_replay_row *row = &p->rows[i];
        row->priority = wire_get_f32(r);
        row->loss = wire_get_f32(r);
        row->label = wire_get_f64(r);
        row->age = wire_get_u64(r);
        wire_get_str(r, row->summary, sizeof row->summary);
    }
}

static void put_log(wire_w *w, const dd_snapshot *s)
{
    wire_put_u32(w, s->log_head);
    wire_put_u32(w, s->log_count);
    for (int i = 0; i < SNAP_LOG_CAP; i++) {
        wire_put_u64(w, s->log[i].id);
        wire_put_f64(w, s->log[i].ts);
        wire_put_u8(w, s->log[i].kind);
        wire_put_str(w, s->log[i].text, sizeof s->log[i].text);
    }
}

static void get_log(wire_r *r, dd_snapshot *s)
{
    s->log_head = wire_get_u32(r);
    s->log_count = wire_get_u32(r);
    if (s->log_head >= SNAP_LOG_CAP || s->log_count > SNAP_LOG_CAP)
        r->bad = true;
    for (int i = 0; i < SNAP_LOG_CAP; i++) {
        s->log[i].id = wire_get_u64(r);
        s->log[i].ts = wire_get_f64(r);
        s->log[i].kind = wire_get_u8(r);
        wire_get_str(r, s->log[i].text, sizeof s->log[i].text);
        if (s->log[i].kind >= SNAP_LOG__COUNT)
            r->bad = true;
    }
}

static void put_versions(wire_w *w, const dd_snapshot *s)
{
    wire_put_u32(w, s->nversions);
    for (uint32_t i = 0; i < s->nversions && i < SNAP_VERSION_CAP; i++) {
        const snap_version *v = &s->versions[i];
        wire_put_u64(w, v->id);
        wire_put_u64(w, v->parent);
        wire_put_str(w, v->trigger, sizeof v->trigger);
        wire_put_str(w, v->status, sizeof v->status);
        wire_put_f64(w, v->accuracy);
        wire_put_f64(w, v->created);
    }
    wire_put_u64(w, s->detail_version);
    for (int i = 0; i < SNAP_DETAIL_LINES; i++)
        wire_put_str(w, s->detail_lines[i], sizeof s->detail_lines[i]);
    wire_put_u8(w, s->pending);
    wire_put_u64(w, s->pending_version);
    put_metrics(w, &s->pending_metrics);
    put_metrics(w, &s->active_metrics);
    wire_put_u64(w, s->result_id);
    wire_put_u32(w, (uint32_t)s->result_err);
    wire_put_str(w, s->result_text, sizeof s->result_text);
}

static void get_versions(wire_r *r, dd_snapshot *s)
{
    s->nversions = wire_get_u32(r);
    if (s->nversions > SNAP_VERSION_CAP) {
        r->bad = true;
        return;
    }
    for (uint32_t i = 0; i < s->nversions; i++) {
        snap_version *v = &s->versions[i];
        v->id = wire_get_u64(r);
        v->parent = wire_get_u64(r);
        wire_get_str(r, v->trigger, sizeof v->trigger);
        wire_get_str(r, v->status, sizeof v->status);
        v->accuracy = wire_get_f64(r);
        v->created = wire_get_f64(r);
    }
    s->detail_version = wire_get_u64(r);
    for (int i = 0; i < SNAP_DETAIL_LINES; i++)
        wire_get_str(r, s->detail_lines[i], sizeof s->detail_lines[i]);
    s->pending = wire_get_u8(r) != 0;
    s->pending_version = wire_get_u64(r);
    get_metrics(r, &s->pending_metrics);
    get_metrics(r, &s->active_metrics);
    s->result_id = wire_get_u64(r);
    s->result_err = (int32_t)wire_get_u32(r);
    wire_get_str(r, s->result_text, sizeof s->result_text);
}

dd_err snap_encode(const dd_snapshot *s, uint8_t *buf, size_t cap, size_t *len, char **cause)
{
    wire_w w = {.buf = buf, .cap = cap};
    put_header(&w, s);
    put_charts(&w, s);
    put_replay(&w, &s->replay);
    put_log(&w, s);
    put_versions(&w, s);
    if (w.overflow)
        return dd_fail(cause, DD_EFULL, "snapshot does not fit in %zu bytes", cap);
    *len = w.len;
    return DD_OK;
}

dd_err snap_decode(dd_snapshot *s, const uint8_t *buf, size_t len, char **cause)
{
    wire_r r = {.buf = buf, .len = len};
    snap_init(s);
    get_header(&r, s);
    if (!r.bad && (s->run_state >= SNAP_RUN__COUNT || s->challenger_mode >= SNAP_CH__COUNT))
        r.bad = true;
    if (!r.bad)
        get_charts(&r, s);
    if (!r.bad)
        get_replay(&r, &s->replay);
    if (!r.bad)
        get_log(&r, s);
    if (!r.bad)
        get_versions(&r, s);
    if (r.bad)
        return dd_fail(cause, DD_EPARSE, "invalid snapshot near byte %zu of %zu", r.off, len);
    if (r.off != len)
        return dd_fail(cause, DD_EPARSE, "%zu trailing bytes after the snapshot", len - r.off);
    return DD_OK;
}

/* ---- the board: a triple buffer ---- */

#define BOARD_FRESH 4u

struct snap_board {
    dd_snapshot slot[3];
    _Atomic unsigned middle; /* slot index | BOARD_FRESH when unread */
    unsigned back;           /* writer's slot */
    unsigned front;          /* reader's slot */
    uint64_t seq;            /* writer's counter */
};

snap_board *snap_board_new(void)
{
    snap_board *b = malloc(sizeof *b);
    if (!b)
        return NULL;
    for (int i = 0; i < 3; i++)
        snap_init(&b->slot[i]);
    b->front = 0;
    atomic_init(&b->middle, 1u);
    b->back = 2;
    b->seq = 0;
    return b;
}

void snap_board_free(snap_board *b)
{
    free(b);
}

void snap_board_publish(snap_board *b, const dd_snapshot *s)
{
    dd_snapshot *dst = &b->slot[b->back];
    memcpy(dst, s, sizeof *dst);
    dst->seq = ++b->seq;
    unsigned prev = atomic_exchange(&b->middle, b->back | BOARD_FRESH);
    b->back = prev & 3u;
}

const dd_snapshot *snap_board_latest(snap_board *b, bool *fresh)
{
    bool is_fresh = (atomic_load(&b->middle) & BOARD_FRESH) != 0;
    if (is_fresh) {
        unsigned prev = atomic_exchange(&b->middle, b->front);
        b->front = prev & 3u;
    }
    if (fresh)
        *fresh = is_fresh;
    return &b->slot[b->front];
}
