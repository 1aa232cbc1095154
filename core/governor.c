/*
 * governor.c: the governance layer around the pipeline (see governor.h).
 *
 * The data batch hash covers a canonical form of each parsed event (id,
 * arrival number, event time, features, label): the raw bytes are not kept
 * after parsing, and the canonical form is what the models actually saw.
 */
#include "governor.h"

#include "audit.h"
#include "serial.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VBLOB_MAGIC 0x42564444u /* "DDVB" */
#define VBLOB_VERSION 1u
#define MAX_ACTION_ROUNDS 4

struct governor {
    pipeline *pipe;
    policy *pol;
    governor_params p;
    char *source, *config_hash, *mode_name;
    model *chal, *prev;
    uint64_t resume_pos, resume_skip, skipping_left;
    uint64_t cur_pos, same_pos;
    bool first_event;
    governor_stats st;
    uint64_t unlearned_from;
    bool writer_blocked;
};

/* ---- blobs --------------------------------------------------------------- */

static dd_err version_blob(const governor *g, const model *m, bool with_state, rec_blob *out)
{
    unsigned char *mb = NULL;
    size_t ml = 0;
    dd_err e = model_serialize(m, &mb, &ml);
    if (e)
        return e;
    ser_writer w = {0}, st = {0};
    if (with_state && (e = pipeline_save_features(g->pipe, &st)) != DD_OK) {
        free(mb);
        free(st.buf);
        return e;
    }
    ser_put_u32(&w, VBLOB_MAGIC);
    ser_put_u32(&w, VBLOB_VERSION);
    ser_put_u64(&w, ml);
    ser_put_bytes(&w, mb, ml);
    ser_put_u64(&w, st.len);
    if (st.len)
        ser_put_bytes(&w, st.buf, st.len);
    free(mb);
    free(st.buf);
    if (w.failed) {
        free(w.buf);
        return DD_ENOMEM;
    }
    out->data = w.buf;
    out->len = w.len;
    return DD_OK;
}

dd_err governor_blob_model(const void *blob, size_t len, model **out, char **cause)
{
    ser_reader r;
    ser_reader_init(&r, blob, len);
    if (ser_get_u32(&r) != VBLOB_MAGIC)
        return dd_fail(cause, DD_ECORRUPT, "not a driftdeck model version blob");
    if (ser_get_u32(&r) != VBLOB_VERSION)
        return dd_fail(cause, DD_EVERSION, "model version blob of an unknown format version");
    uint64_t ml = ser_get_u64(&r);
    if (r.failed || ml > len - r.at)
        return dd_fail(cause, DD_ECORRUPT, "model version blob is truncated");
    return model_deserialize((const unsigned char *)blob + r.at, (size_t)ml, out, cause);
}

/* Make m the active model and return the old one in *old. DD_EINVAL (m not
 * taken) when m does not fit the pipeline's input dimension. */
static dd_err swap_active(governor *g, model *m, model **old, char **cause)
{
    model *o = pipeline_swap_model(g->pipe, m);
    if (!o)
        return dd_fail(cause, DD_EINVAL,
                       "a model of input dimension %u does not fit this "
                       "pipeline (another hash_bits?)",
                       model_dim(m));
    *old = o;
    return DD_OK;
}

/* ---- life cycle ---------------------------------------------------------- */

governor *governor_new(pipeline *pipe, const governor_params *p, char **cause)
{
    governor *g = calloc(1, sizeof *g);
    if (!g) {
        dd_fail(cause, DD_ENOMEM, "no memory for the governor");
        return NULL;
    }
    g->pipe = pipe;
    g->p = *p;
    g->source = rec_strdup(p->source ? p->source : "");
    g->config_hash = rec_strdup(p->config_hash ? p->config_hash : "");
    g->mode_name = rec_strdup(p->mode_name                     ? p->mode_name
                              : p->policy.mode == POLICY_GATED ? "gated"
                                                               : "continuous");
    g->pol = policy_new(&p->policy, cause);
    if (!g->pol || !g->source || !g->config_hash || !g->mode_name) {
        if (g->pol)
            dd_fail(cause, DD_ENOMEM, "no memory for the governor");
        governor_free(g);
        return NULL;
    }
    g->p.source = g->source;
    g->p.config_hash = g->config_hash;
    g->p.mode_name = g->mode_name;
    g->first_event = true;
    return g;
}

void governor_free(governor *g)
{
    if (!g)
        return;
    policy_free(g->pol);
    model_free(g->chal);
    model_free(g->prev);
    free(g->source);
    free(g->config_hash);
    free(g->mode_name);
    free(g);
}

static uint64_t events_done(const governor *g)
{
    return pipeline_get_stats(g->pipe)->events;
}

static dd_err session_record(governor *g, rec_list *out)
{
    gov_record *s = rec_new(REC_SESSION_START, events_done(g), "policy");
    if (!s)
        return DD_ENOMEM;
    s->u.session.source = rec_strdup(g->source);
    s->u.session.config_hash = rec_strdup(g->config_hash);
    s->u.session.mode = rec_strdup(g->mode_name);
    rec_list_push(out, s);
    return DD_OK;
}

dd_err governor_start(governor *g, const policy_live *close, size_t n, int64_t next_id,
                      rec_list *out, char **cause)
{
    rec_blob b = {0};
    dd_err e = session_record(g, out);
    for (size_t i = 0; !e && i < n; i++)
        policy_close_live(g->pol, events_done(g), &close[i],
                          "closed: a new session reads another source and starts fresh");
    if (!e)
        e = version_blob(g, pipeline_model(g->pipe), true, &b);
    if (!e)
        e = policy_start(g->pol, events_done(g), next_id, b.data, b.len, g->config_hash, cause);
    free(b.data);
    if (e)
        return dd_fail(cause, e, "cannot start the registry: %s", dd_strerror(e));
    policy_take_records(g->pol, out);
    return DD_OK;
}

/* The source position in a checkpoint: {"offset": X, "skip": n}. */
static void parse_src_state(governor *g, const registry_checkpoint *cp)
{
    g->resume_pos = cp->src_pos;
    g->resume_skip = 0;
    cJSON *j = cp->src_state ? cJSON_Parse(cp->src_state) : NULL;
    const cJSON *skip = cJSON_GetObjectItemCaseSensitive(j, "skip");
    if (cJSON_IsNumber(skip) && skip->valuedouble > 0)
        g->resume_skip = (uint64_t)skip->valuedouble;
    cJSON_Delete(j);
    g->skipping_left = g->resume_skip;
}

static dd_err load_slot(const rec_blob *b, model **out, char **cause)
{
    *out = NULL;
    return b->len ? governor_blob_model(b->data, b->len, out, cause) : DD_OK;
}

dd_err governor_resume(governor *g, const governor_resume_in *in, rec_list *out, char **cause)
{
    const registry_checkpoint *cp = in->cp;
    ser_reader r;
    ser_reader_init(&r, cp->pipeline.data, cp->pipeline.len);
    model *act = NULL, *chal = NULL, *prev = NULL;
    dd_err e = policy_restore(g->pol, cp->policy.data, cp->policy.len, cause);
    if (!e)
        e = pipeline_load_state(g->pipe, &r, cause);
    bool adopted = in->active_id && in->active_id != cp->active_id;
    if (!e)
        e = load_slot(adopted ? in->active_model : &cp->active_model, &act, cause);
    if (!e && !adopted)
        e = load_slot(&cp->challenger_model, &chal, cause);
    if (!e && !adopted)
        e = load_slot(&cp->previous_model, &prev, cause);
    if (!e && !act)
        e = dd_fail(cause, DD_ECORRUPT, "the checkpoint has no active model");
    if (e) {
        model_free(act);
        model_free(chal);
        model_free(prev);
        return e;
    }
    model *old = NULL;
    if ((e = swap_active(g, act, &old, cause)) != DD_OK) {
        model_free(act);
        model_free(chal);
        model_free(prev);
        return e;
    }
    model_free(old);
    g->chal = chal;
    g->prev = prev;
    if (adopted) /* `driftdeck rollback` ran after this checkpoint */
        policy_adopt_active(g->pol, in->active_id, in->active_trigger, in->max_id + 1);
    policy_actions(g->pol);
    parse_src_state(g, cp);
    if ((e = session_record(g, out)) != DD_OK)
        return dd_fail(cause, e, "no memory");
    char note[256];
    snprintf(note, sizeof note,
             "{\"checkpoint\": %lld, \"event\": %llu, \"src_pos\": %llu, \"active\": %lld, "
             "\"adopted\": %s}",
             (long long)cp->id, (unsigned long long)cp->event_index,
             (unsigned long long)cp->src_pos, (long long)(adopted ? in->active_id : cp->active_id),
             adopted ? "true" : "false");
    e = policy_note(g->pol, cp->event_index, "policy", "resume", note, cause);
    policy_take_records(g->pol, out);
    return e;
}

uint64_t governor_resume_offset(const governor *g)
{
    return g->resume_pos;
}

/* ---- per event ----------------------------------------------------------- */

/* Feed a canonical form of the event into the batch hash. */
static void hash_event(governor *g, const dd_event *ev)
{
    char head[96];
    int n = snprintf(head, sizeof head, "%d|%llu|%.17g|", (int)ev->kind,
                     (unsigned long long)ev->seq, ev->ts);
    policy_data(g->pol, head, (size_t)n);
    if (ev->id)
        policy_data(g->pol, ev->id, strlen(ev->id) + 1);
    for (uint32_t i = 0; i < ev->nfeat; i++) {
        const dd_feature *f = &ev->feat[i];
        policy_data(g->pol, f->name, strlen(f->name) + 1);
        if (f->kind == DD_VAL_NUM)
            policy_data(g->pol, &f->num, sizeof f->num);
        else if (f->kind == DD_VAL_STR)
            policy_data(g->pol, f->str, strlen(f->str) + 1);
    }
    if (ev->y.kind == DD_LABEL_NUM)
        policy_data(g->pol, &ev->y.num, sizeof ev->y.num);
    else if (ev->y.kind == DD_LABEL_STR)
        policy_data(g->pol, ev->y.str, strlen(ev->y.str) + 1);
}

/* A labelled event's score in [0, 1]: right or wrong for classes; for
 * regression 1 / (1 + |error|), the same map for every version. */
static double score(const model_output *o, double target, model_task task)
{
    if (task == TASK_REGRESSION) {
        double s = 1.0 / (1.0 + fabs(o->score - target));
        return isfinite(s) ? s : 0.0;
    }
    return (double)o->cls == target ? 1.0 : 0.0;
}

static dd_err make_candidate(governor *g, char **cause)
{
    const model *act = pipeline_model(g->pipe);
    model *m;
    if (g->p.candidate == GOVERNOR_CANDIDATE_FRESH) {
        m = model_new(model_get_params(act), model_dim(act), cause);
        if (m && model_num_classes(act) > model_num_classes(m))
            model_grow(m, model_num_classes(act));
    } else {
        m = model_clone(act);
        if (m) {
            model_reset_schedule(m); /* adapt at the learning rate of a new model */
            model_consolidate(m);    /* anchor EWC at the old concept (no-op if off) */
        }
    }
    if (!m)
        return dd_fail(cause, DD_ENOMEM, "cannot make a candidate model");
    rec_blob b = {0};
    dd_err e = version_blob(g, m, true, &b);
    if (!e)
        e = policy_give_model(g->pol, b.data, b.len, cause);
    free(b.data);
    if (e) {
        model_free(m);
        return e;
    }
    model_free(g->chal);
    g->chal = m;
    return DD_OK;
}

static dd_err restore_previous(governor *g, char **cause)
{
    if (!g->prev)
        return dd_fail(cause, DD_ESTATE, "no previous model to restore");
    model *old = NULL;
    dd_err e = swap_active(g, g->prev, &old, cause);
    if (e)
        return e;
    model_free(old);
    g->prev = NULL;
    rec_blob b = {0};
    e = version_blob(g, pipeline_model(g->pipe), true, &b);
    if (!e)
        e = policy_give_model(g->pol, b.data, b.len, cause);
    free(b.data);
    return e;
}

static dd_err checkpoint(governor *g, char **cause)
{
    policy_checkpoint_in in = {
        .event_index = events_done(g), .source = g->source, .src_pos = g->cur_pos};
    char state[96];
    snprintf(state, sizeof state, "{\"offset\": %llu, \"skip\": %llu}",
             (unsigned long long)g->cur_pos, (unsigned long long)g->same_pos);
    in.src_state = state;
    ser_writer w = {0};
    dd_err e = pipeline_save_state(g->pipe, &w);
    in.pipeline = (rec_blob){w.buf, w.len};
    if (!e)
        e = version_blob(g, pipeline_model(g->pipe), false, &in.active_model);
    if (!e && g->chal)
        e = version_blob(g, g->chal, false, &in.challenger_model);
    if (!e && g->prev)
        e = version_blob(g, g->prev, false, &in.previous_model);
    if (!e)
        e = policy_checkpoint(g->pol, &in, cause);
    else
        dd_fail(cause, e, "cannot serialize the checkpoint");
    free(w.buf);
    free(in.active_model.data);
    free(in.challenger_model.data);
    free(in.previous_model.data);
    if (!e)
        g->st.checkpoints++;
    return e;
}

/* Carry out the policy's actions, in the documented order, until none is left. */
static dd_err do_actions(governor *g, char **cause)
{
    for (int round = 0; round < MAX_ACTION_ROUNDS; round++) {
        unsigned a = policy_actions(g->pol);
        if (!a)
            return DD_OK;
        dd_err e = DD_OK;
        if (a & POLICY_ACT_DROP_CHALLENGER) {
            model_free(g->chal);
            g->chal = NULL;
        }
        if (a & POLICY_ACT_DROP_PREVIOUS) {
            model_free(g->prev);
            g->prev = NULL;
        }
        if ((a & POLICY_ACT_PROMOTE) && g->chal) {
            model *old = NULL;
            e = swap_active(g, g->chal, &old, cause);
            if (!e) {
                model_free(g->prev);
                g->prev = old;
                g->chal = NULL;
            }
        }
        if (!e && (a & POLICY_ACT_RESTORE_PREVIOUS))
            e = restore_previous(g, cause);
        if (!e && (a & POLICY_ACT_MAKE_CANDIDATE))
            e = make_candidate(g, cause);
        if (a & POLICY_ACT_RESET_DETECTORS)
            pipeline_reset_detectors(g->pipe);
        if (!e && (a & POLICY_ACT_CHECKPOINT))
            e = checkpoint(g, cause);
        if (e)
            return e;
    }
    return DD_OK;
}

static bool skip_replayed(governor *g, const dd_event *ev)
{
    if (!g->skipping_left)
        return false;
    if (ev->src_pos != g->resume_pos) {
        g->skipping_left = 0;
        return false;
    }
    g->skipping_left--;
    g->st.skipped++;
    return true;
}

static void track_position(governor *g, const dd_event *ev)
{
    if (g->first_event || ev->src_pos != g->cur_pos) {
        g->cur_pos = ev->src_pos;
        g->same_pos = 0;
        g->first_event = false;
    }
    g->same_pos++;
}

/* The writer could not take records for a while: say so once it can. */
static void note_unlearned(governor *g, bool accepting)
{
    if (!accepting && !g->writer_blocked) {
        g->writer_blocked = true;
        g->unlearned_from = events_done(g);
    } else if (accepting && g->writer_blocked) {
        g->writer_blocked = false;
        char note[160];
        snprintf(note, sizeof note,
                 "{\"reason\": \"writer backlog\", \"first_event\": %llu, \"last_event\": %llu}",
                 (unsigned long long)g->unlearned_from, (unsigned long long)events_done(g));
        policy_note(g->pol, events_done(g), "policy", "learning_paused", note, NULL);
    }
}

/* Every alarm goes to the policy: "error", "prediction" or "feature:NAME". */
static void report_alarms(governor *g, const pipeline_result *res)
{
    for (uint32_t i = 0; i < res->nalarms; i++) {
        const pipeline_alarm *a = &res->alarms[i];
        char stream[80];
        if (a->feature)
            snprintf(stream, sizeof stream, "feature:%.60s", a->feature);
        else
            snprintf(stream, sizeof stream, "%s", a->watch);
        policy_drift(g->pol, events_done(g), stream, a->detector, a->level);
    }
}

/* A version's prediction held with a delayed-label entry, or, for a version
 * that went live after the event was held, its prediction now on the held input. */
static model_output held_prediction(const pending_entry *e, int64_t version, const model *m)
{
    for (uint32_t i = 0; i < e->npred; i++)
        if (e->pred[i].version == (uint64_t)version)
            return e->pred[i].out;
    model_output o = {0};
    model_predict(m, &e->x, &o);
    return o;
}

/* What the governor needs of one scored event, fresh or a joined delayed label. */
typedef struct scored {
    const dd_sparse *x;
    const char *group;
    model_output co, po; /* challenger's and previous version's predictions */
} scored;

static void predict_others(governor *g, const dd_event *ev, const pipeline_result *res, scored *sc)
{
    policy_view v;
    policy_get_view(g->pol, &v);
    const pending_entry *je = res->joined ? pipeline_joined(g->pipe) : NULL;
    sc->x = je ? &je->x : pipeline_input(g->pipe);
    sc->group = je ? je->group : ev->group;
    if (je) {
        if (g->chal)
            sc->co = held_prediction(je, v.challenger_id, g->chal);
        if (g->prev)
            sc->po = held_prediction(je, v.previous_id, g->prev);
        return;
    }
    if (g->chal)
        model_predict(g->chal, sc->x, &sc->co);
    if (g->prev)
        model_predict(g->prev, sc->x, &sc->po);
    if (res->held) { /* scored when the label comes, on the predictions made now */
        if (g->chal)
            pipeline_hold_prediction(g->pipe, ev->id, (uint64_t)v.challenger_id, &sc->co);
        if (g->prev)
            pipeline_hold_prediction(g->pipe, ev->id, (uint64_t)v.previous_id, &sc->po);
    }
}

dd_err governor_process(governor *g, const dd_event *ev, bool accepting, pipeline_result *res,
                        governor_result *gr, rec_list *out, char **cause)
{
    memset(gr, 0, sizeof *gr);
    if (skip_replayed(g, ev)) {
        memset(res, 0, sizeof *res);
        gr->skipped = true;
        return DD_OK;
    }
    track_position(g, ev);
    note_unlearned(g, accepting);
    hash_event(g, ev);
    pipeline_set_learning(g->pipe, accepting && policy_active_learns(g->pol));
    dd_err e = pipeline_process(g->pipe, ev, res);
    if (e || !res->predicted)
        return e;
    if (res->joined)
        g->st.joined++;
    else
        g->st.events++;
    scored sc = {0};
    predict_others(g, ev, res, &sc);
    uint64_t h = policy_event_hash(ev->id, ev->seq);
    gr->challenger_served = !res->joined && g->chal && policy_challenger_serves(g->pol, h);
    gr->served = gr->challenger_served ? sc.co : res->out;
    g->st.challenger_served += gr->challenger_served;
    if (!accepting) {
        g->st.unlearned++;
        return DD_OK;
    }
    model_task task = model_get_task(pipeline_model(g->pipe));
    policy_obs o = {
        .event_index = events_done(g), .id_hash = h, .labelled = res->labelled, .group = sc.group};
    if (res->labelled) {
        o.active_score = score(&res->out, res->target, task);
        o.challenger_score = g->chal ? score(&sc.co, res->target, task) : 0;
        o.previous_score = g->prev ? score(&sc.po, res->target, task) : 0;
        if (g->chal) /* a refused step leaves it as it was */
            model_learn(g->chal, sc.x, res->target, 1.0, NULL);
    }
    policy_observe(g->pol, &o);
    report_alarms(g, res);
    e = do_actions(g, cause);
    policy_take_records(g->pol, out);
    return e;
}

dd_err governor_finish(governor *g, const char *reason, rec_list *out, char **cause)
{
    dd_err e = do_actions(g, cause); /* anything still pending first */
    policy_take_records(g->pol, out);
    gov_record *r = rec_new(REC_SESSION_END, events_done(g), "policy");
    if (!r)
        return dd_fail(cause, DD_ENOMEM, "no memory");
    r->u.session_end.reason = rec_strdup(reason ? reason : "end");
    rec_list_push(out, r);
    /* The final checkpoint comes last: its commit covers the session's end,
     * and its audit head is the one the run publishes. */
    if (!e && !g->first_event)
        e = checkpoint(g, cause);
    policy_take_records(g->pol, out);
    return e;
}

/* ---- operator ------------------------------------------------------------ */

static dd_err after_command(governor *g, dd_err e, rec_list *out, char **cause)
{
    if (!e)
        e = do_actions(g, cause);
    policy_take_records(g->pol, out);
    return e;
}

dd_err governor_note(governor *g, const char *actor, const char *kind, const char *payload_json,
                     rec_list *out, char **cause)
{
    dd_err e = policy_note(g->pol, events_done(g), actor, kind, payload_json, cause);
    policy_take_records(g->pol, out);
    return e;
}

dd_err governor_approve(governor *g, const char *actor, rec_list *out, char **cause)
{
    return after_command(g, policy_approve(g->pol, events_done(g), actor, cause), out, cause);
}

dd_err governor_reject(governor *g, const char *actor, const char *reason, rec_list *out,
                       char **cause)
{
    return after_command(g, policy_reject(g->pol, events_done(g), actor, reason, cause), out,
                         cause);
}

dd_err governor_rollback_to(governor *g, int64_t target, const rec_blob *blob, const char *actor,
                            const char *reason, rec_list *out, char **cause)
{
    model *m = NULL;
    dd_err e = governor_blob_model(blob->data, blob->len, &m, cause);
    if (e)
        return e;
    e = policy_rollback_to(g->pol, events_done(g), target, blob->data, blob->len, actor, reason,
                           cause);
    if (e) {
        model_free(m);
        return e;
    }
    unsigned a = policy_actions(g->pol); /* LOAD_ACTIVE and drops: done here */
    if (a & POLICY_ACT_DROP_CHALLENGER) {
        model_free(g->chal);
        g->chal = NULL;
    }
    model_free(g->prev);
    g->prev = NULL;
    model *old = NULL;
    if ((e = swap_active(g, m, &old, cause)) != DD_OK) {
        model_free(m);
        policy_take_records(g->pol, out);
        return e;
    }
    model_free(old);
    if (a & POLICY_ACT_RESET_DETECTORS)
        pipeline_reset_detectors(g->pipe);
    policy_take_records(g->pol, out);
    return DD_OK;
}

void governor_get_stats(const governor *g, governor_stats *st)
{
    *st = g->st;
    policy_get_view(g->pol, &st->view);
}
