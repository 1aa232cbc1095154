/*
 * gen.h: seeded generators of the standard drifting streams.
 *
 * Four published generators, as defined in their papers and coded in MOA and
 * River (doc/GENERATORS.md gives the details and the references):
 *   SEA         Street & Kim 2001: f1, f2, f3 uniform in [0, 10]; class 0 iff
 *               f1 + f2 <= theta, theta per variant {8, 9, 7, 9.5}.
 *   hyperplane  Hulten, Spencer & Domingos 2001 (MOA HyperplaneGenerator,
 *               River synth.Hyperplane): a rotating hyperplane in [0, 1]^d.
 *   agrawal     Agrawal, Imielinski & Swami 1993: nine loan-applicant
 *               attributes and ten classification functions (class 0 = group A).
 *   stagger     Schlimmer & Granger 1986: size, color, shape; three concepts.
 *
 * A stream is a chain of concepts (one variant each) joined as River's
 * ConceptDriftStream joins two streams: at drift k (position p, width w) the
 * event t comes from the new concept with probability 1/(1+exp(-4(t-p)/w)),
 * or, when w = 0, from the new concept exactly when t >= p. Drifts nest: the
 * latest drift is decided first, as ConceptDriftStream(ConceptDriftStream(c0,
 * c1), c2) does. Event indices t start at 0. A concept's own state (the
 * hyperplane weights) advances only on the events it generates, as in River.
 *
 * Numbers are rounded to the precision the JSON line prints *before* the
 * label is computed, so a consumer that parses the line sees exactly the
 * values the label was computed from. Categorical attributes are strings.
 * All randomness comes from core/rng.h: the same parameters and seed give the
 * same stream, byte for byte. Pure computation: no I/O, no clock.
 */
#ifndef DD_GEN_H
#define DD_GEN_H

#include "dd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum gen_kind {
    GEN_SEA = 0,
    GEN_HYPERPLANE,
    GEN_AGRAWAL,
    GEN_STAGGER,
    GEN_KIND__COUNT
} gen_kind;

#define GEN_MAX_DRIFTS 32u
#define GEN_MAX_FEATURES 1000u /* hyperplane dimensions */

/* One drift between two consecutive concepts. width 0: abrupt at pos. */
typedef struct gen_drift {
    uint64_t pos;
    uint64_t width;
} gen_drift;

typedef struct gen_params {
    gen_kind kind;
    uint64_t seed;
    double noise;     /* probability of flipping a label, [0, 1] */
    uint32_t ndrifts; /* concepts = ndrifts + 1 */
    gen_drift drift[GEN_MAX_DRIFTS];
    uint32_t nvariants; /* 0: concept k uses the default variant (see below) */
    uint32_t variant[GEN_MAX_DRIFTS + 1];
    /* hyperplane */
    uint32_t features;       /* dimensions d, [1, GEN_MAX_FEATURES], default 10 */
    uint32_t drift_features; /* the first k weights drift, [0, d], default 2 */
    double mag_change;       /* weight change per event, [0, 1], default 0 */
    double sigma;            /* probability a direction reverses, [0, 1], default 0.1 */
    /* agrawal */
    double perturbation; /* fraction of each numeric range added as noise, [0, 1] */
    /* event time: ts = ts_start + t / rate */
    double ts_start; /* default 1700000000 */
    double rate;     /* events per second of event time, default 100 */
} gen_params;

/* Fill p with the published defaults of kind (noise 0, or 0.05 for the
 * hyperplane as in River; seed 1; no drift). This function can't fail. */
void gen_params_default(gen_params *p, gen_kind kind);

/* The kind named "sea", "hyperplane", "agrawal" or "stagger"; DD_ENOTFOUND otherwise. */
dd_err gen_kind_parse(const char *name, gen_kind *out);
const char *gen_kind_name(gen_kind kind);

/* Variants a kind has: SEA 4 (thresholds 8, 9, 7, 9.5), agrawal 10 (the
 * paper's functions 1..10 as variants 0..9), stagger 3; the hyperplane has no
 * fixed set: its variant seeds the concept's initial weights, and this returns
 * 0 (any value up to 2^31 allowed). Without --variants, concept k uses variant
 * k modulo this count (k for the hyperplane). */
uint32_t gen_variant_count(gen_kind kind);

typedef struct gen gen;

/* Returns a new generator, or NULL with *cause set when a parameter is out of
 * range (DD_EINVAL) or memory runs out. Borrows p; copies it. Free with gen_free(). */
gen *gen_new(const gen_params *p, char **cause);
void gen_free(gen *g);

/* One feature value. str != NULL: categorical; else num. */
typedef struct gen_value {
    const char *name;
    const char *str;
    double num;
} gen_value;

typedef struct gen_event {
    uint64_t index; /* t, from 0 */
    double ts;
    uint32_t concept; /* position in the chain, 0..ndrifts */
    uint32_t variant; /* the concept's variant */
    int y;            /* the label emitted (after noise), 0 or 1 */
    int y_clean;      /* the concept's label before noise */
    uint32_t nx;
    const gen_value *x; /* valid until the next gen_next() or gen_free() */
} gen_event;

/* Generate the next event into *ev. Can't fail. */
void gen_next(gen *g, gen_event *ev);

/* An upper bound on the length of one JSON line of g, newline and NUL included. */
size_t gen_line_max(const gen *g);

/* Format ev as one JSON Lines line, {"id":"e-N","ts":T,"x":{...},"y":L} and a
 * newline, into buf. Returns the line's length without the NUL; as snprintf,
 * a result >= size means the line was truncated. */
size_t gen_format(const gen_event *ev, char *buf, size_t size);

/* gen_next() then gen_format(). DD_EINVAL (and no event consumed) when size
 * is below gen_line_max(g). On success *len is the line's length. */
dd_err gen_next_line(gen *g, char *buf, size_t size, size_t *len);

/* ---- the definitions, exported for tests and documentation ---- */

/* P(event t comes from the concept after drift d): the ConceptDriftStream sigmoid. */
double gen_drift_probability(const gen_drift *d, uint64_t t);

/* SEA threshold theta of a variant (0..3), and the label: 0 iff f1 + f2 <= theta. */
double gen_sea_threshold(uint32_t variant);
int gen_sea_label(uint32_t variant, double f1, double f2);

/* One Agrawal record, attributes as in the paper (elevel 0..4, car 1..20, zipcode 0..8). */
typedef struct gen_agrawal_rec {
    double salary, commission;
    int age, elevel, car, zipcode;
    double hvalue;
    int hyears;
    double loan;
} gen_agrawal_rec;

/* Agrawal classification function (0..9 = the paper's Function 1..10):
 * 0 for group A, 1 for group B, as MOA codes it. */
int gen_agrawal_label(uint32_t function, const gen_agrawal_rec *r);

/* STAGGER concept (0..2) on size (0 small, 1 medium, 2 large), color (0 red,
 * 1 blue, 2 green), shape (0 circle, 1 square, 2 triangle): 1 when the concept
 * holds. 0: small and red; 1: green or circle; 2: medium or large. */
int gen_stagger_label(uint32_t concept, int size, int color, int shape);

/* The hyperplane weights of concept k now (d values), or NULL when g is not a
 * hyperplane or k is out of range. Valid until the next gen_next(). */
const double *gen_hyperplane_weights(const gen *g, uint32_t concept);

#endif
