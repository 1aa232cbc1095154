/*
 * worker_view.c: the console's output of the worker: the working snapshot,
 * the commands, the publication (see worker_view.h).
 *
 * Per event: an exponential moving average of the error and of the
 * prediction (alpha 1/100: about the last 100 labelled events), a
 * Page-Hinkley detector on the 0/1 error kept only for its chart statistic
 * (alarms come from the pipeline's own detectors), and every sample_every
 * events one chart sample. O(1) per event; publishing is one memcpy of the
 * snapshot (about 23 KB) and happens at the worker's pace of ~20 Hz.
 */
#include "worker_view.h"

#include "drift.h"
#include "governor.h"
#include "learner.h"
#include "queue.h"
#include "replay.h"
#include "writer.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EMA_ALPHA 0.01
#define REPLAY_TOP_MAX 1024     /* the table reaches the 1024 highest priorities */
#define REPLAY_HIST_SAMPLE 1024 /* entries read for the histogram */
#define REPLAY_EVERY_TICKS 10   /* refresh the replay panel twice a second */

struct wview {
    snap_board *board;
    queue *cmdq;
    source **sources;
    size_t nsources;
    const pipeline *pipe; /* learned at the first tick: the worker's, for its lifetime */
    snap_run_state run_state;
    bool told_unlabelled; /* the no-label hint went to the log */
    double speed;
    char workspace[1024];
    dd_snapshot s;
    uint32_t sample_every;
    double ema_error, ema_pred;
    bool have_error, have_pred;
    drift_detector *ph; /* chart only; NULL when the build has no Page-Hinkley */
    cmd_view view;
    double last_ts; /* event time of the last event */
    uint64_t ticks;
    bool replay_stale;               /* the view asked for other rows */
    replay_info *top;                /* REPLAY_TOP_MAX rows, allocated on first use */
    double prio[REPLAY_HIST_SAMPLE]; /* the histogram's sample */
    wview_decider decider;
    governor *gov; /* governance for the snapshot (borrowed), or NULL */
    writer *wr;
    int seen_state[8]; /* the sources' last states seen (source_state) */
};

static bool sources_live(const wview *v)
{
    for (size_t i = 0; i < v->nsources; i++)
        if (!v->sources[i]->ops->control)
            return true;
    return false;
}

wview *wview_new(snap_board *board, queue *cmdq, source **sources, size_t nsources,
                 const wview_params *p)
{
    wview *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->board = board;
    v->cmdq = cmdq;
    v->sources = sources;
    v->nsources = nsources;
    v->sample_every = p && p->sample_every ? p->sample_every : 25;
    v->speed = p ? p->speed : 1;
    snprintf(v->workspace, sizeof v->workspace, "%s", p && p->workspace ? p->workspace : ".");
    snap_init(&v->s);
    if (nsources)
        snprintf(v->s.source, sizeof v->s.source, "%s%s", sources[0]->spec,
                 nsources > 1 ? " (+more)" : "");
    v->s.source_live = sources_live(v);
    v->ph = drift_new("pagehinkley", NULL);
    /* until governance fills the table: the one version that serves */
    v->s.active_version = 1;
    v->s.nversions = 1;
    v->s.versions[0] = (snap_version){
        .id = 1, .trigger = "start", .status = "active", .accuracy = NAN, .created = NAN};
    return v;
}

void wview_free(wview *v)
{
    if (!v)
        return;
    drift_free(v->ph);
    free(v->top);
    free(v);
}

void wview_set_governance(wview *v, governor *g, writer *wr)
{
    v->gov = g;
    v->wr = wr;
}

void wview_set_decider(wview *v, const wview_decider *d)
{
    v->decider = *d;
}

dd_snapshot *wview_snapshot(wview *v)
{
    return &v->s;
}

static void ema(double *acc, bool *have, double x)
{
    *acc = *have ? *acc + EMA_ALPHA * (x - *acc) : x;
    *have = true;
}

static void sample(wview *v, const pipeline *p)
{
    const drift_detector *d = pipeline_error_detector(p);
    float vals[SNAP_S__COUNT];
    vals[SNAP_S_ACC_ACTIVE] = (float)pipeline_rolling_score(p);
    vals[SNAP_S_ACC_CHALLENGER] = NAN; /* governance writes the challenger's */
    vals[SNAP_S_ERROR] = v->have_error ? (float)v->ema_error : NAN;
    vals[SNAP_S_ADWIN] = d && !strcmp(drift_kind(d), "adwin") ? (float)drift_window_width(d) : NAN;
    vals[SNAP_S_PH] = v->ph ? (float)drift_statistic(v->ph) : NAN;
    vals[SNAP_S_PRED_MEAN] = v->have_pred ? (float)v->ema_pred : NAN;
    snap_chart_push(&v->s.chart, pipeline_get_stats(p)->events, vals);
}

static void on_event(void *ctx, const dd_event *ev, const pipeline_result *res)
{
    wview *v = ctx;
    const pipeline *p = v->pipe;
    v->last_ts = ev->ts;
    if (!p)
        return; /* before the first tick: nothing to sample against yet */
    if (res->predicted)
        ema(&v->ema_pred, &v->have_pred, res->out.score);
    if (res->labelled) {
        double err =
            model_get_task(pipeline_model(p)) == TASK_REGRESSION ? fabs(res->loss) : !res->correct;
        ema(&v->ema_error, &v->have_error, err);
        if (v->ph)
            drift_update(v->ph, err);
    }
    uint64_t n = pipeline_get_stats(p)->events;
    if (res->predicted && n % v->sample_every == 0)
        sample(v, p);
}

static void feature_score(wview *v, const char *name, double statistic)
{
    dd_snapshot *s = &v->s;
    uint32_t i = 0;
    while (i < s->nfeatures && strcmp(s->features[i].name, name) != 0)
        i++;
    if (i == s->nfeatures) {
        if (s->nfeatures < SNAP_FEATURE_CAP)
            s->nfeatures++;
        else
            i = SNAP_FEATURE_CAP - 1; /* replace the least drifted */
        snprintf(s->features[i].name, sizeof s->features[i].name, "%s", name);
        s->features[i].score = 0;
    }
    /* score: alarms so far, plus the last statistic squashed into [0, 1) */
    double st = isfinite(statistic) ? fabs(statistic) : 0;
    s->features[i].score = floorf(s->features[i].score) + 1.0f + (float)(st / (1.0 + st));
    while (i > 0 && s->features[i].score > s->features[i - 1].score) { /* keep sorted */
        snap_feature t = s->features[i];
        s->features[i] = s->features[i - 1];
        s->features[--i] = t;
    }
}

static void on_alarm(void *ctx, const pipeline_alarm *a, const dd_event *ev)
{
    wview *v = ctx;
    bool drift = a->level == DRIFT_DRIFT;
    double ts = ev ? ev->ts : v->last_ts;
    if (!strcmp(a->watch, "error"))
        snap_marker_add(&v->s, drift ? SNAP_MK_DRIFT : SNAP_MK_WARNING, a->event);
    if (a->feature)
        feature_score(v, a->feature, a->statistic);
    snap_log_add(&v->s, drift ? SNAP_LOG_DRIFT : SNAP_LOG_WARNING, ts,
                 "%s %s on %s%s%s at event %llu (stat %.3g)", a->detector,
                 drift ? "drift" : "warning", a->watch, a->feature ? " " : "",
                 a->feature ? a->feature : "", (unsigned long long)a->event, a->statistic);
    v->last_ts = ts;
}

void wview_log(wview *v, snap_log_kind kind, const char *fmt, ...)
{
    char text[SNAP_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    snap_log_add(&v->s, kind, v->last_ts, "%s", text);
}

static void answer(wview *v, const dd_command *c, dd_err err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void answer(wview *v, const dd_command *c, dd_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->s.result_text, sizeof v->s.result_text, fmt, ap);
    va_end(ap);
    v->s.result_id = c->id;
    v->s.result_err = (int32_t)err;
}

/* Details of a version from the table, until governance (which knows the
 * lineage and every transition) writes its own. */
static void table_details(wview *v, uint64_t id)
{
    dd_snapshot *s = &v->s;
    memset(s->detail_lines, 0, sizeof s->detail_lines);
    for (uint32_t i = 0; i < s->nversions; i++) {
        const snap_version *ver = &s->versions[i];
        if (ver->id != id)
            continue;
        snprintf(s->detail_lines[0], SNAP_TEXT, "v%llu: %s, created by %s", (unsigned long long)id,
                 ver->status, ver->trigger);
        snprintf(s->detail_lines[1], SNAP_TEXT, "accuracy %.4f over %llu labelled events",
                 s->active_metrics.accuracy, (unsigned long long)s->active_metrics.n);
        snprintf(s->detail_lines[3], SNAP_TEXT,
                 "lineage and transitions: kept by the model registry (not in this build)");
        return;
    }
    snprintf(s->detail_lines[0], SNAP_TEXT, "v%llu is not in the table", (unsigned long long)id);
}

static void set_view(wview *v, const cmd_view *view)
{
    v->replay_stale |= view->replay_offset != v->view.replay_offset;
    v->view = *view;
    v->s.replay.offset = view->replay_offset;
    v->s.detail_version = view->detail_version;
}

/* A source's state changes go to the event log: reconnects, failures, the
 * end. The source writes last_error before it stores the state, so the
 * reason is complete once the state is seen. */
static void log_source_change(wview *v, const source *src, int from, int to)
{
    switch (to) {
    case SOURCE_RECONNECTING:
        wview_log(v, SNAP_LOG_RECONNECT, "%s: reconnecting (%.60s)", src->spec, src->last_error);
        break;
    case SOURCE_CONNECTED:
        if (from == SOURCE_RECONNECTING)
            wview_log(v, SNAP_LOG_RECONNECT, "%s: connected again", src->spec);
        break;
    case SOURCE_FAILED:
        wview_log(v, SNAP_LOG_ERROR, "%s failed: %.70s", src->spec, src->last_error);
        break;
    case SOURCE_ENDED:
        wview_log(v, SNAP_LOG_INFO, "%s: end of stream", src->spec);
        break;
    default:
        break;
    }
}

static void fill_source(wview *v)
{
    dd_snapshot *s = &v->s;
    if (!v->nsources)
        return;
    for (size_t i = 0; i < v->nsources && i < DD_ARRAY_LEN(v->seen_state); i++) {
        int st = atomic_load(&v->sources[i]->stats.state);
        if (st != v->seen_state[i])
            log_source_change(v, v->sources[i], v->seen_state[i], st);
        v->seen_state[i] = st;
    }
    const source_stats *ss = &v->sources[0]->stats;
    s->source_state = (uint8_t)atomic_load(&ss->state);
    uint64_t size = atomic_load(&ss->size);
    s->source_progress = size ? (float)((double)atomic_load(&ss->position) / (double)size) : -1;
    int64_t retry = atomic_load(&ss->next_retry_ms);
    s->retry_in_ms = retry > INT32_MAX ? INT32_MAX : (int32_t)retry;
}

static void add_version(dd_snapshot *s, int64_t id, const char *status, gov_trigger trig,
                        double acc)
{
    if (!id || s->nversions == SNAP_VERSION_CAP)
        return;
    snap_version *r = &s->versions[s->nversions++];
    *r = (snap_version){.id = (uint64_t)id, .accuracy = acc, .created = NAN};
    snprintf(r->status, sizeof r->status, "%s", status);
    snprintf(r->trigger, sizeof r->trigger, "%s", gov_trigger_name(trig));
}

/* The live versions from the governor (newest first); the registry has the
 * whole history for a console that reads it. */
static void fill_governance(wview *v, dd_snapshot *s)
{
    governor_stats g;
    governor_get_stats(v->gov, &g);
    const policy_view *pv = &g.view;
    s->active_version = (uint64_t)pv->active_id;
    s->challenger_version = (uint64_t)pv->challenger_id;
    s->challenger_mode = !pv->challenger_id                    ? SNAP_CH_NONE
                         : pv->challenger_status == GOV_CANARY ? SNAP_CH_CANARY
                                                               : SNAP_CH_SHADOW;
    s->pending = pv->awaiting_approval;
    s->pending_version = pv->awaiting_approval ? (uint64_t)pv->challenger_id : 0;
    s->pending_metrics.accuracy = pv->challenger_rolling;
    s->learning_blocked = !writer_accepting(v->wr);
    s->nversions = 0;
    add_version(s, pv->challenger_id,
                pv->awaiting_approval ? "awaiting" : gov_status_name(pv->challenger_status),
                pv->challenger_trigger, pv->challenger_rolling);
    add_version(s, pv->active_id, "active", pv->active_trigger, pv->active_rolling);
    add_version(s, pv->previous_id, "retired", pv->previous_trigger, pv->previous_rolling);
}

static void publish(wview *v, const worker_status *st)
{
    dd_snapshot *s = &v->s;
    s->events = st->events;
    s->events_per_s = (float)st->events_per_s;
    s->queue_len = (uint32_t)st->queue_len;
    s->queue_cap = (uint32_t)st->queue_cap;
    s->drops = st->dropped;
    s->malformed = st->malformed;
    s->run_state = (uint8_t)(st->ended && st->queue_len == 0 ? SNAP_ENDED : v->run_state);
    s->learning_blocked = false;
    s->speed = v->speed;
    fill_source(v);
    if (v->gov)
        fill_governance(v, s);
    else if (s->nversions > 0 && s->versions[0].id == 1 && !strcmp(s->versions[0].trigger, "start"))
        s->versions[0].accuracy = st->accuracy; /* the placeholder row */
    s->active_metrics.accuracy = st->accuracy;
    s->active_metrics.n = st->labelled;
    if (s->detail_version && (v->gov || !v->decider.approve))
        table_details(v, s->detail_version); /* kept fresh while shown */
    snap_board_publish(v->board, s);
}

/* The replay panel: a histogram of priorities from an even sample of the
 * entries (O(REPLAY_HIST_SAMPLE)), and the rows the view asks for among the
 * REPLAY_TOP_MAX highest priorities (replay_top: O(size * rows) at worst).
 * Twice a second, or at once when the view moves: never per event. */
static void fill_replay(wview *v, const pipeline *p)
{
    snap_replay *out = &v->s.replay;
    const learner *l = pipeline_learner(p);
    const replay *r = l ? learner_replay(l) : NULL;
    if (!r)
        return;
    if (!v->top && !(v->top = malloc(REPLAY_TOP_MAX * sizeof *v->top)))
        return; /* no memory: the panel keeps its last rows */
    out->capacity = replay_capacity(r);
    out->fill = replay_size(r);
    out->reachable = out->fill < REPLAY_TOP_MAX ? out->fill : REPLAY_TOP_MAX;
    memset(out->hist, 0, sizeof out->hist);
    uint32_t n = out->fill, step = n > REPLAY_HIST_SAMPLE ? n / REPLAY_HIST_SAMPLE : 1;
    double lo = INFINITY, hi = -INFINITY;
    double *pr = v->prio;
    uint32_t k = 0;
    replay_info info;
    for (uint32_t pos = 0; pos < n && k < REPLAY_HIST_SAMPLE; pos += step)
        if (replay_entry(r, pos, &info) == DD_OK) {
            pr[k++] = info.priority;
            lo = info.priority < lo ? info.priority : lo;
            hi = info.priority > hi ? info.priority : hi;
        }
    for (uint32_t i = 0; i < k; i++) {
        int bin = hi > lo ? (int)((pr[i] - lo) / (hi - lo) * SNAP_HIST_BINS) : 0;
        out->hist[bin < SNAP_HIST_BINS ? bin : SNAP_HIST_BINS - 1]++;
    }
    out->pmin = k ? (float)lo : 0;
    out->pmax = k ? (float)hi : 0;
    uint32_t off = v->view.replay_offset;
    if (off > REPLAY_TOP_MAX - SNAP_REPLAY_ROWS)
        off = REPLAY_TOP_MAX - SNAP_REPLAY_ROWS;
    uint32_t want = off + SNAP_REPLAY_ROWS, got = replay_top(r, v->top, want);
    out->offset = off;
    out->nrows = got > off ? got - off : 0;
    for (uint32_t i = 0; i < out->nrows; i++) {
        const replay_info *in = &v->top[off + i];
        snap_replay_row *row = &out->rows[i];
        row->priority = (float)in->priority;
        row->loss = (float)in->loss;
        row->label = in->target;
        row->age = in->age;
        snprintf(row->summary, sizeof row->summary, "%s", in->summary);
    }
}

/* ---- commands ---- */

static void control_sources(wview *v, source_ctl_kind kind, double arg)
{
    for (size_t i = 0; i < v->nsources; i++)
        if (v->sources[i]->ops->control)
            v->sources[i]->ops->control(v->sources[i], kind, arg);
}

/* Pause: a replay stops reading; a live stream keeps flowing (it cannot be
 * paused without losing it), so learning freezes instead. */
static void command_pause(wview *v, pipeline *p, const dd_command *c, bool pause)
{
    bool live = sources_live(v);
    if (live)
        pipeline_set_learning(p, !pause);
    else
        control_sources(v, pause ? SOURCE_CTL_PAUSE : SOURCE_CTL_RESUME, 0);
    v->run_state = !pause ? SNAP_RUNNING : live ? SNAP_LEARNING_FROZEN : SNAP_PAUSED;
    wview_log(v, SNAP_LOG_INFO, "%s by %s",
              pause ? (live ? "learning frozen" : "paused") : "resumed", c->user);
    answer(v, c, DD_OK, "%s", snap_run_state_name(v->run_state));
}

static void command_export(wview *v, const dd_command *c)
{
    char path[1200], *cause = NULL;
    dd_err err = v->decider.export_session
                     ? v->decider.export_session(v->decider.ctx, c->format, v->workspace, c->user,
                                                 path, sizeof path, &cause)
                     : wview_export(v, v->workspace, c->format, path, sizeof path, &cause);
    if (err) {
        answer(v, c, err, "%s", cause ? cause : dd_strerror(err));
    } else {
        answer(v, c, DD_OK, "wrote %s", path);
        wview_log(v, SNAP_LOG_INFO, "exported by %s to %s", c->user, path);
    }
    free(cause);
}

static void command_speed(wview *v, const dd_command *c)
{
    v->speed = c->speed;
    control_sources(v, SOURCE_CTL_SPEED, c->speed);
    if (c->speed > 0)
        answer(v, c, DD_OK, "speed x%g", c->speed);
    else
        answer(v, c, DD_OK, "speed: as fast as possible");
}

static void audit(wview *v, const dd_command *c, const char *detail)
{
    if (v->decider.audit)
        v->decider.audit(v->decider.ctx, c->user, cmd_kind_name((cmd_kind)c->kind), detail);
}

/* The version decisions belong to governance (registry, audit). */
static void command_decide(wview *v, pipeline *p, const dd_command *c)
{
    const wview_decider *d = &v->decider;
    dd_err (*fn)(void *, pipeline *, uint64_t, const char *, char *, size_t, char **) =
        c->kind == CMD_APPROVE  ? d->approve
        : c->kind == CMD_REJECT ? d->reject
                                : d->rollback;
    const char *what = cmd_kind_name((cmd_kind)c->kind);
    if (!fn) {
        answer(v, c, DD_ESTATE, "%s: no model registry in this build", what);
        return;
    }
    char text[160], *cause = NULL;
    text[0] = '\0';
    dd_err err = fn(d->ctx, p, c->version, c->user, text, sizeof text, &cause);
    if (err) {
        answer(v, c, err, "%s: %s", what, cause ? cause : dd_strerror(err));
    } else {
        answer(v, c, DD_OK, "%s", text[0] ? text : what);
        wview_log(v, c->kind == CMD_ROLLBACK ? SNAP_LOG_ROLLBACK : SNAP_LOG_APPROVAL,
                  "%s by %s: %s", what, c->user, text[0] ? text : "done");
    }
    free(cause);
}

static void handle_command(wview *v, pipeline *p, const dd_command *c)
{
    switch ((cmd_kind)c->kind) {
    case CMD_PAUSE:
        command_pause(v, p, c, true);
        break;
    case CMD_RESUME:
        command_pause(v, p, c, false);
        break;
    case CMD_STEP:
        control_sources(v, SOURCE_CTL_STEP, 0);
        answer(v, c, DD_OK, "one event forward");
        break;
    case CMD_SPEED:
        command_speed(v, c);
        break;
    case CMD_APPROVE:
    case CMD_REJECT:
    case CMD_ROLLBACK:
        command_decide(v, p, c);
        break;
    case CMD_EXPORT:
        command_export(v, c);
        break;
    case CMD_VIEW:
        set_view(v, &c->view);
        break;
    case CMD__END:
        break;
    }
    bool changes_run = c->kind != CMD_VIEW && c->kind != CMD_APPROVE && c->kind != CMD_REJECT &&
                       c->kind != CMD_ROLLBACK;
    if (changes_run && v->s.result_id == c->id && v->s.result_err == DD_OK)
        audit(v, c, v->s.result_text);
}

/* Every worker tick: the commands, then a snapshot (at most every 50 ms). */
static void on_tick(void *ctx, pipeline *p, const worker_status *st)
{
    wview *v = ctx;
    v->pipe = p;
    void *item;
    while (v->cmdq && queue_pop(v->cmdq, &item, 0) == QUEUE_OK) {
        handle_command(v, p, item);
        free(item);
    }
    if (v->replay_stale || v->ticks++ % REPLAY_EVERY_TICKS == 0) {
        fill_replay(v, p);
        v->replay_stale = false;
    }
    if (!v->told_unlabelled && worker_status_unlabelled(st)) {
        v->told_unlabelled = true;
        wview_log(v, SNAP_LOG_WARNING, "%s", WORKER_UNLABELLED_HINT);
    }
    publish(v, st);
}

worker_output wview_output(wview *v)
{
    return (worker_output){.ctx = v, .alarm = on_alarm, .event = on_event, .tick = on_tick};
}

static void export_rows(const dd_snapshot *s, FILE *f, bool csv)
{
    const snap_chart *c = &s->chart;
    if (csv)
        fputs("kind,event,accuracy,error,adwin_width,page_hinkley,prediction_mean,text\n", f);
    for (uint32_t i = 0; i < c->count; i++) {
        uint32_t k = snap_chart_slot(c, i);
        double a = c->val[SNAP_S_ACC_ACTIVE][k], e = c->val[SNAP_S_ERROR][k];
        double w = c->val[SNAP_S_ADWIN][k], ph = c->val[SNAP_S_PH][k];
        double m = c->val[SNAP_S_PRED_MEAN][k];
        /* JSON has no NaN: print null (CSV: empty) */
        double vals[5] = {a, e, w, ph, m};
        fprintf(f, csv ? "sample,%llu" : "{\"kind\":\"sample\",\"event\":%llu",
                (unsigned long long)c->pos[k]);
        static const char *const names[5] = {"accuracy", "error", "adwin_width", "page_hinkley",
                                             "prediction_mean"};
        for (int j = 0; j < 5; j++) {
            if (csv)
                isfinite(vals[j]) ? fprintf(f, ",%.6g", vals[j]) : fputs(",", f);
            else if (isfinite(vals[j]))
                fprintf(f, ",\"%s\":%.6g", names[j], vals[j]);
            else
                fprintf(f, ",\"%s\":null", names[j]);
        }
        fputs(csv ? ",\n" : "}\n", f);
    }
    for (uint32_t i = s->log_count; i-- > 0;) {
        const snap_log_row *r = snap_log_newest(s, i);
        /* a feature name in the text may hold quotes: escape them */
        const char *kind = snap_log_kind_name((snap_log_kind)r->kind);
        if (csv)
            fprintf(f, "%s,,,,,,,\"", kind);
        else
            fprintf(f, "{\"kind\":\"%s\",\"ts\":%.3f,\"text\":\"", kind, r->ts);
        for (const char *p = r->text; *p; p++) {
            if (*p == '"')
                fputs(csv ? "\"\"" : "\\\"", f);
            else if (*p == '\\' && !csv)
                fputs("\\\\", f);
            else if ((unsigned char)*p >= 0x20)
                fputc(*p, f);
        }
        fputs(csv ? "\"\n" : "\"}\n", f);
    }
}

dd_err wview_export(wview *v, const char *dir, const char *format, char *path, size_t n,
                    char **cause)
{
    bool csv = !strcmp(format, "csv");
    if (!csv && strcmp(format, "jsonl") != 0)
        return dd_fail(cause, DD_EINVAL, "export as '%s' needs the governance module's export",
                       format);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    char abs[4096];
    if (!realpath(dir, abs)) /* say where it wrote in full */
        snprintf(abs, sizeof abs, "%s", dir);
    snprintf(path, n, "%s/driftdeck-session-%s.%s", abs, stamp, format);
    FILE *f = fopen(path, "w");
    if (!f)
        return dd_fail(cause, DD_EIO, "cannot write %s: %s", path, strerror(errno));
    export_rows(&v->s, f, csv);
    if (fclose(f) != 0)
        return dd_fail(cause, DD_EIO, "cannot write %s: %s", path, strerror(errno));
    return DD_OK;
}
