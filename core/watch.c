/*
 * watch.c: the drift watch points (see watch.h).
 *
 * Each point is a detector plus its rate-limit state (the event and level of
 * its last reported alert, alerts held back since). Each point's parameter
 * string is parsed once into a spec (names and values checked by
 * drift_param_parse); feature detectors are built from their spec when a
 * feature slot is first seen, into a fixed array of max_features points, so
 * memory is bounded and an event allocates only the first time a feature
 * appears. Alarms of the current event go to a fixed array.
 */
#include "watch.h"

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
                          uint32_t quiet)
{
    snprintf(pp->detector, sizeof pp->detector, "%s", kind);
    snprintf(pp->params, sizeof pp->params, "%s", params);
    pp->quiet = quiet;
}

void watch_params_default(watch_params *p)
{
    memset(p, 0, sizeof *p);
    point_default(&p->error, "adwin", "delta=0.002", 0);
    point_default(&p->prediction, "pagehinkley", "", 1000);
    point_default(&p->feature, "pagehinkley", "", 1000);
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

drift_state watch_prediction(watch *w, double value)
{
    if (!w->prediction.det)
        return DRIFT_NONE;
    drift_state s = drift_update(w->prediction.det, value);
    if (s != DRIFT_NONE)
        alert(w, WATCH_PREDICTION, &w->prediction, s, w->p.prediction.quiet);
    return s;
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
    drift_state s = drift_update(pt->det, value);
    if (s != DRIFT_NONE)
        alert(w, WATCH_FEATURE, pt, s, w->p.feature.quiet);
    return s;
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
