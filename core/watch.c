/*
 * watch.c: the drift watch points (see watch.h).
 *
 * Each point is a detector plus its rate-limit state (the event and level of
 * its last reported alert, alerts held back since). Each point's parameter
 * string is parsed once into a spec (names and values checked by
 * drift_param_parse); feature detectors are built from their spec when a
 * feature slot is first seen, into a fixed array of max_features points, so
 * memory is bounded and an event allocates only the first time a feature
 * appears. Alarms of the current event go to a fixed array. A point's
 * standardizer is Welford's running mean and variance.
 */
#include "watch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_MAX 8

/* A point's detector kind and parsed parameters. */
typedef struct spec {
    const char *kind; /* NULL: not watched */
    size_t n;
    char names[SPEC_MAX][32];
    const char *name_ptrs[SPEC_MAX];
    double values[SPEC_MAX];
} spec;

typedef struct point {
    drift_detector *det; /* NULL: not watched (or feature not seen yet) */
    char *name;          /* feature name (owned), else NULL */
    uint64_t last_event; /* event of the last reported alert */
    drift_state last_level;
    uint64_t suppressed;
    double n, mean, m2; /* the standardizer */
} point;

struct watch {
    watch_params p;
    spec specs[3];
    point error, prediction;
    point *features; /* max_features */
    uint64_t event;
    watch_alarm alarms[WATCH_MAX_ALARMS];
    uint32_t nalarms;
    watch_stats st;
};

static const char *const point_names[] = {"error", "prediction", "feature"};

static void point_default(watch_point_params *pp, const char *kind, const char *params,
                          uint32_t quiet, bool standardize)
{
    snprintf(pp->detector, sizeof pp->detector, "%s", kind);
    snprintf(pp->params, sizeof pp->params, "%s", params);
    pp->quiet = quiet;
    pp->standardize = standardize;
}

void watch_params_default(watch_params *p)
{
    memset(p, 0, sizeof *p);
    point_default(&p->error, "adwin", "delta=0.002", 0, false);
    point_default(&p->prediction, "pagehinkley", "delta=0.1, threshold=50, alpha=1", 1000, true);
    point_default(&p->feature, "pagehinkley", "delta=0.1, threshold=50, alpha=1", 1000, true);
    p->max_features = 64;
}

/* Parses "name=value, name=value" for pp's kind into s. */
static dd_err parse_spec(const watch_point_params *pp, const char *where, spec *s, char **cause)
{
    memset(s, 0, sizeof *s);
    if (!pp->detector[0] || !strcmp(pp->detector, "none"))
        return DD_OK;
    if (!drift_params_of(pp->detector))
        return dd_fail(cause, DD_ENOTFOUND,
                       "%s watch: unknown detector '%s' (adwin, pagehinkley, ddm, eddm, kswin, "
                       "none)",
                       where, pp->detector);
    s->kind = pp->detector;
    const char *c = pp->params;
    for (;;) {
        while (*c == ' ' || *c == '\t' || *c == ',')
            c++;
        if (!*c)
            break;
        size_t len = strcspn(c, " \t,");
        char token[WATCH_PARAMS_LEN];
        snprintf(token, sizeof token, "%.*s", (int)len, c);
        c += len;
        char *eq = strchr(token, '=');
        if (!eq || eq == token || (size_t)(eq - token) >= sizeof s->names[0])
            return dd_fail(cause, DD_EPARSE, "%s watch: '%s' is not name=value", where, token);
        if (s->n == SPEC_MAX)
            return dd_fail(cause, DD_ELIMIT, "%s watch: more than %d parameters", where, SPEC_MAX);
        *eq = '\0';
        char *why = NULL;
        dd_err err = drift_param_parse(s->kind, token, eq + 1, &s->values[s->n], &why);
        if (err != DD_OK) {
            dd_fail(cause, err, "%s watch: %s", where, why ? why : dd_strerror(err));
            free(why);
            return err;
        }
        memcpy(s->names[s->n], token, (size_t)(eq - token) + 1); /* length checked above */
        s->name_ptrs[s->n] = s->names[s->n];
        s->n++;
    }
    return DD_OK;
}

/* A new detector from a spec, or NULL with *cause set. */
static drift_detector *build(const spec *s, const char *where, char **cause)
{
    char *why = NULL;
    drift_detector *d = drift_new(s->kind, &why);
    if (d && s->n && drift_set_params(d, s->name_ptrs, s->values, s->n, &why) != DD_OK) {
        drift_free(d);
        d = NULL;
    }
    if (!d) {
        dd_fail(cause, DD_EINVAL, "%s watch: %s", where, why ? why : "cannot make the detector");
        free(why);
    }
    return d;
}

dd_err watch_params_check(const watch_params *p, char **cause)
{
    const watch_point_params *pps[3] = {&p->error, &p->prediction, &p->feature};
    for (int i = 0; i < 3; i++) {
        spec s;
        dd_err err = parse_spec(pps[i], point_names[i], &s, cause);
        if (err != DD_OK)
            return err;
        if (!s.kind)
            continue;
        drift_detector *d = build(&s, point_names[i], cause);
        if (!d)
            return DD_EINVAL;
        drift_free(d);
    }
    if (p->max_features > 65536)
        return dd_fail(cause, DD_EINVAL, "feature watch: max_features must be <= 65536, got %u",
                       p->max_features);
    return DD_OK;
}

watch *watch_new(const watch_params *p, char **cause)
{
    if (watch_params_check(p, cause) != DD_OK)
        return NULL;
    watch *w = calloc(1, sizeof *w);
    if (!w)
        goto nomem;
    w->p = *p;
    const watch_point_params *pps[3] = {&w->p.error, &w->p.prediction, &w->p.feature};
    for (int i = 0; i < 3; i++)
        parse_spec(pps[i], point_names[i], &w->specs[i], NULL); /* checked above */
    if (w->specs[WATCH_ERROR].kind &&
        !(w->error.det = build(&w->specs[WATCH_ERROR], "error", cause)))
        goto fail;
    if (w->specs[WATCH_PREDICTION].kind &&
        !(w->prediction.det = build(&w->specs[WATCH_PREDICTION], "prediction", cause)))
        goto fail;
    if (p->max_features && !(w->features = calloc(p->max_features, sizeof *w->features)))
        goto nomem;
    return w;
nomem:
    dd_fail(cause, DD_ENOMEM, "watch: out of memory");
fail:
    watch_free(w);
    return NULL;
}

void watch_free(watch *w)
{
    if (!w)
        return;
    drift_free(w->error.det);
    drift_free(w->prediction.det);
    for (uint32_t i = 0; w->features && i < w->p.max_features; i++) {
        drift_free(w->features[i].det);
        free(w->features[i].name);
    }
    free(w->features);
    free(w);
}

void watch_begin(watch *w, uint64_t event)
{
    w->event = event;
    w->nalarms = 0;
}

/* Records an alarm of point pt (detector d) for the current event. */
static void report(watch *w, watch_point kind, point *pt, drift_state level)
{
    if (kind == WATCH_ERROR) {
        if (level == DRIFT_DRIFT)
            w->st.error_drifts++;
        else
            w->st.error_warnings++;
    } else {
        w->st.alerts++;
    }
    if (w->nalarms == WATCH_MAX_ALARMS) {
        w->st.dropped++;
        return;
    }
    watch_alarm *a = &w->alarms[w->nalarms++];
    const drift_detector *d = pt->det;
    a->point = kind;
    a->watch = point_names[kind];
    a->feature = pt->name;
    a->detector = drift_kind(d);
    a->level = level;
    a->event = w->event;
    a->statistic = drift_statistic(d);
    a->width = drift_window_width(d);
    a->mean = drift_window_mean(d);
    a->suppressed = pt->suppressed;
    a->nvalues = (uint32_t)drift_values(d, a->values, WATCH_MAX_VALUES);
    pt->suppressed = 0;
}

/* An alert of a rate-limited point: reported unless a report of the same or
 * a higher level happened less than `quiet` events ago. */
static void alert(watch *w, watch_point kind, point *pt, drift_state level, uint32_t quiet)
{
    bool quiet_now = pt->last_level != DRIFT_NONE && w->event - pt->last_event < quiet &&
                     level <= pt->last_level;
    if (quiet_now) {
        pt->suppressed++;
        w->st.suppressed++;
        return;
    }
    report(w, kind, pt, level);
    pt->last_event = w->event;
    pt->last_level = level;
}

drift_state watch_error(watch *w, double err)
{
    if (!w->error.det)
        return DRIFT_NONE;
    drift_state s = drift_update(w->error.det, err);
    if (s != DRIFT_NONE)
        report(w, WATCH_ERROR, &w->error, s);
    return s;
}

/* Feeds x (standardized if asked) to a rate-limited point. */
static drift_state feed(watch *w, watch_point kind, point *pt, const watch_point_params *pp,
                        double x)
{
    if (!isfinite(x))
        return drift_update(pt->det, x); /* ignored and counted by the detector */
    if (pp->standardize) {
        pt->n += 1.0;
        double d = x - pt->mean;
        pt->mean += d / pt->n;
        pt->m2 += d * (x - pt->mean);
        if (pt->n <= WATCH_WARMUP)
            return DRIFT_NONE;
        double sd = sqrt(pt->m2 / (pt->n - 1.0));
        if (!(sd > 0.0))
            return DRIFT_NONE; /* constant so far: nothing to compare */
        x = (x - pt->mean) / sd;
    }
    drift_state s = drift_update(pt->det, x);
    if (s != DRIFT_NONE)
        alert(w, kind, pt, s, pp->quiet);
    if (s == DRIFT_DRIFT)
        pt->n = pt->mean = pt->m2 = 0.0; /* restarts with its detector */
    return s;
}

drift_state watch_prediction(watch *w, double value)
{
    if (!w->prediction.det)
        return DRIFT_NONE;
    return feed(w, WATCH_PREDICTION, &w->prediction, &w->p.prediction, value);
}

drift_state watch_feature(watch *w, uint32_t slot, const char *name, double value)
{
    if (!w->specs[WATCH_FEATURE].kind)
        return DRIFT_NONE;
    if (slot >= w->p.max_features) {
        w->st.unwatched++;
        return DRIFT_NONE;
    }
    point *pt = &w->features[slot];
    if (!pt->det) {
        /* First sight of this feature: the spec was checked at watch_new(), so
         * only memory can fail; the value is then counted as unwatched. */
        char *copy = strdup(name ? name : "");
        drift_detector *d = copy ? build(&w->specs[WATCH_FEATURE], "feature", NULL) : NULL;
        if (!d) {
            free(copy);
            w->st.unwatched++;
            return DRIFT_NONE;
        }
        pt->det = d;
        pt->name = copy;
        w->st.features++;
    }
    return feed(w, WATCH_FEATURE, pt, &w->p.feature, value);
}

const watch_alarm *watch_alarms(const watch *w, uint32_t *n)
{
    *n = w->nalarms;
    return w->alarms;
}

void watch_reset_error(watch *w)
{
    if (w->error.det)
        drift_reset(w->error.det);
}

const watch_stats *watch_get_stats(const watch *w)
{
    return &w->st;
}

const drift_detector *watch_error_detector(const watch *w)
{
    return w->error.det;
}

const drift_detector *watch_prediction_detector(const watch *w)
{
    return w->prediction.det;
}

const drift_detector *watch_feature_detector(const watch *w, uint32_t slot)
{
    return slot < w->p.max_features ? w->features[slot].det : NULL;
}

const char *watch_feature_name(const watch *w, uint32_t slot)
{
    return slot < w->p.max_features ? w->features[slot].name : NULL;
}

size_t watch_memory(const watch *w)
{
    size_t m = sizeof *w + w->p.max_features * sizeof *w->features;
    if (w->error.det)
        m += drift_memory(w->error.det);
    if (w->prediction.det)
        m += drift_memory(w->prediction.det);
    for (uint32_t i = 0; i < w->p.max_features; i++)
        if (w->features[i].det)
            m += drift_memory(w->features[i].det) + strlen(w->features[i].name) + 1;
    return m;
}

#define WATCH_SNAPSHOT_MAGIC 0x57544348u /* "WTCH" */
#define WATCH_SNAPSHOT_VERSION 1u

static void put_point_params(ser_writer *out, const watch_point_params *pp)
{
    ser_put_str(out, pp->detector);
    ser_put_str(out, pp->params);
    ser_put_u32(out, pp->quiet);
    ser_put_u32(out, pp->standardize);
}

static bool get_point_params(ser_reader *r, watch_point_params *pp)
{
    char *kind = ser_get_str(r, sizeof pp->detector - 1);
    char *params = ser_get_str(r, sizeof pp->params - 1);
    bool ok = kind && params;
    if (ok) {
        memcpy(pp->detector, kind, strlen(kind) + 1);
        memcpy(pp->params, params, strlen(params) + 1);
    }
    free(kind);
    free(params);
    pp->quiet = ser_get_u32(r);
    uint32_t standardize = ser_get_u32(r);
    pp->standardize = standardize != 0;
    return ok && !r->failed && standardize <= 1;
}

/* A point's rate-limit and standardizer state, then its detector. */
static void put_point(ser_writer *out, const point *pt)
{
    ser_put_u64(out, pt->last_event);
    ser_put_u32(out, (uint32_t)pt->last_level);
    ser_put_u64(out, pt->suppressed);
    ser_put_f64(out, pt->n);
    ser_put_f64(out, pt->mean);
    ser_put_f64(out, pt->m2);
    drift_serialize(pt->det, out);
}

/* Reads into pt (whose detector, if any, is replaced); the detector must be of
 * the kind the parameters name. */
static dd_err get_point(ser_reader *r, point *pt, const char *kind, char **cause)
{
    pt->last_event = ser_get_u64(r);
    uint32_t level = ser_get_u32(r);
    pt->suppressed = ser_get_u64(r);
    pt->n = ser_get_f64(r);
    pt->mean = ser_get_f64(r);
    pt->m2 = ser_get_f64(r);
    if (r->failed || level > DRIFT_DRIFT || !(pt->n >= 0.0))
        return dd_fail(cause, DD_ECORRUPT, "watch snapshot: truncated or bad point");
    pt->last_level = (drift_state)level;
    drift_detector *d = NULL;
    dd_err err = drift_deserialize(r, &d, cause);
    if (err != DD_OK)
        return err;
    if (strcmp(drift_kind(d), kind) != 0) {
        dd_fail(cause, DD_ECORRUPT, "watch snapshot: a %s detector where %s was set", drift_kind(d),
                kind);
        drift_free(d);
        return DD_ECORRUPT;
    }
    drift_free(pt->det);
    pt->det = d;
    return DD_OK;
}

void watch_serialize(const watch *w, ser_writer *out)
{
    ser_put_u32(out, WATCH_SNAPSHOT_MAGIC);
    ser_put_u32(out, WATCH_SNAPSHOT_VERSION);
    put_point_params(out, &w->p.error);
    put_point_params(out, &w->p.prediction);
    put_point_params(out, &w->p.feature);
    ser_put_u32(out, w->p.max_features);
    const uint64_t counters[] = {w->st.error_warnings, w->st.error_drifts, w->st.alerts,
                                 w->st.suppressed,     w->st.dropped,      w->st.unwatched};
    for (size_t i = 0; i < DD_ARRAY_LEN(counters); i++)
        ser_put_u64(out, counters[i]);
    ser_put_u64(out, w->event);
    ser_put_u32(out, w->error.det != NULL);
    if (w->error.det)
        put_point(out, &w->error);
    ser_put_u32(out, w->prediction.det != NULL);
    if (w->prediction.det)
        put_point(out, &w->prediction);
    ser_put_u32(out, w->st.features);
    for (uint32_t i = 0; i < w->p.max_features; i++) {
        if (!w->features[i].det)
            continue;
        ser_put_u32(out, i);
        ser_put_str(out, w->features[i].name);
        put_point(out, &w->features[i]);
    }
}

/* Reads the point states and detectors into w (made from the saved params). */
static dd_err get_points(ser_reader *r, watch *w, char **cause)
{
    if ((ser_get_u32(r) != 0) != (w->error.det != NULL))
        return dd_fail(cause, DD_ECORRUPT, "watch snapshot: error point does not match");
    dd_err err = w->error.det ? get_point(r, &w->error, w->p.error.detector, cause) : DD_OK;
    if (err)
        return err;
    if ((ser_get_u32(r) != 0) != (w->prediction.det != NULL))
        return dd_fail(cause, DD_ECORRUPT, "watch snapshot: prediction point does not match");
    if (w->prediction.det &&
        (err = get_point(r, &w->prediction, w->p.prediction.detector, cause)) != DD_OK)
        return err;
    uint32_t nfeat = ser_get_u32(r);
    if (r->failed || nfeat > w->p.max_features || (nfeat && !w->specs[WATCH_FEATURE].kind))
        return dd_fail(cause, DD_ECORRUPT, "watch snapshot: bad feature count");
    for (uint32_t k = 0; k < nfeat; k++) {
        uint32_t slot = ser_get_u32(r);
        if (r->failed || slot >= w->p.max_features || w->features[slot].det)
            return dd_fail(cause, DD_ECORRUPT, "watch snapshot: bad feature slot");
        point *pt = &w->features[slot];
        pt->name = ser_get_str(r, 1u << 20);
        if (!pt->name)
            return dd_fail(cause, DD_ECORRUPT, "watch snapshot: bad feature name");
        if ((err = get_point(r, pt, w->p.feature.detector, cause)) != DD_OK)
            return err;
        w->st.features++;
    }
    return DD_OK;
}

dd_err watch_deserialize(ser_reader *r, watch **out, char **cause)
{
    *out = NULL;
    uint32_t magic = ser_get_u32(r), version = ser_get_u32(r);
    if (r->failed || magic != WATCH_SNAPSHOT_MAGIC)
        return dd_fail(cause, DD_ECORRUPT, "watch snapshot: bad header");
    if (version != WATCH_SNAPSHOT_VERSION)
        return dd_fail(cause, DD_EVERSION, "watch snapshot: format %u, this build reads %u",
                       version, WATCH_SNAPSHOT_VERSION);
    watch_params p;
    memset(&p, 0, sizeof p);
    bool ok = get_point_params(r, &p.error) && get_point_params(r, &p.prediction) &&
              get_point_params(r, &p.feature);
    p.max_features = ser_get_u32(r);
    uint64_t counters[6];
    for (size_t i = 0; i < DD_ARRAY_LEN(counters); i++)
        counters[i] = ser_get_u64(r);
    uint64_t event = ser_get_u64(r);
    if (!ok || r->failed)
        return dd_fail(cause, DD_ECORRUPT, "watch snapshot: truncated parameters");
    char *why = NULL;
    watch *w = watch_new(&p, &why);
    if (!w) {
        dd_err err = dd_fail(cause, DD_ECORRUPT, "watch snapshot: %s", why ? why : "no memory");
        free(why);
        return err;
    }
    w->st.error_warnings = counters[0];
    w->st.error_drifts = counters[1];
    w->st.alerts = counters[2];
    w->st.suppressed = counters[3];
    w->st.dropped = counters[4];
    w->st.unwatched = counters[5];
    w->event = event;
    dd_err err = get_points(r, w, cause);
    if (err != DD_OK) {
        watch_free(w);
        return err;
    }
    *out = w;
    return DD_OK;
}
