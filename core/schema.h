/*
 * schema.h: where an event's parts are found in a JSON message.
 *
 * A schema names, for each role (id, ts, label, group, text, embedding, op),
 * the field that holds it, as a dotted path ("meta.id"), and says where the
 * features are: inside one object ("x", "payload.features") or every
 * top-level field that is not a role ("flat"). Include and exclude lists
 * choose features by their flattened names. The event parser (event.c) asks
 * the schema and copies what it finds; CSV rows become JSON objects first, so
 * they map the same way by column name.
 *
 * Defaults (no [schema] section, or sch == NULL): {"id","ts","x","y"} when x
 * is present, else flat, every top-level field except the conventional names
 * (id; ts/time/timestamp; y/label/target; group; text; emb; op).
 *
 * Duplicate keys (cJSON keeps them): a key that appears twice in an object on
 * a role's path, or a feature name that appears twice after flattening, makes
 * the message malformed (DD_EPARSE). A stream with duplicates is broken; no
 * "first wins" or "last wins" guess is made for it.
 *
 * A schema is immutable after schema_new(): sources share it across threads.
 */
#ifndef DD_SCHEMA_H
#define DD_SCHEMA_H

#include "dd.h"
#include "event.h"

#include <stdbool.h>
#include <stdio.h>

struct cJSON;

typedef enum schema_role {
    SCHEMA_ID = 0,
    SCHEMA_TS,
    SCHEMA_LABEL,
    SCHEMA_GROUP,
    SCHEMA_TEXT,
    SCHEMA_EMB,
    SCHEMA_OP,
    SCHEMA_ROLE__COUNT
} schema_role;

typedef enum schema_label_type {
    SCHEMA_LABEL_AUTO = 0,   /* number/boolean -> number, string -> class name */
    SCHEMA_LABEL_NUMBER,     /* a number (class index or 0/1); numeric strings accepted */
    SCHEMA_LABEL_CLASS,      /* a class name; numbers and booleans become their text */
    SCHEMA_LABEL_REGRESSION, /* a real target; numeric strings accepted, booleans refused */
} schema_label_type;

typedef enum schema_ts_unit {
    SCHEMA_TS_S = 0,
    SCHEMA_TS_MS,
    SCHEMA_TS_US,
    SCHEMA_TS_NS
} schema_ts_unit;

#define SCHEMA_NAME_MAX 128u
#define SCHEMA_LIST_MAX 4096u

/* The [schema] section. Field values: "" = the conventional names, "-" = the
 * role is not used, else a dotted path. features: "" = x when present, else
 * flat; "." = flat; else a dotted path to the features object. include and
 * exclude: comma-separated names; "name" also matches "name.*" and "pre*"
 * matches by prefix; empty include = every feature. */
typedef struct schema_params {
    char field[SCHEMA_ROLE__COUNT][SCHEMA_NAME_MAX];
    char features[SCHEMA_NAME_MAX];
    schema_label_type label_type;
    schema_ts_unit ts_unit;
    char include[SCHEMA_LIST_MAX];
    char exclude[SCHEMA_LIST_MAX];
} schema_params;

/* The defaults described above. Can't fail. */
void schema_params_default(schema_params *p);

/* Set one [schema] key from its text: id, ts, label, group, text, embedding,
 * op, features, label_type (auto|number|class|regression), ts_unit
 * (s|ms|us|ns), include, exclude. include and exclude append when set again
 * (a long list can span several lines). DD_ENOTFOUND for an unknown key,
 * DD_EINVAL for a bad value; p is unchanged on error. */
dd_err schema_params_set(schema_params *p, const char *key, const char *value, char **cause);

/* Write p as an INI [schema] section; notes (may be NULL) are comment lines
 * placed before it. Every line stays under 200 bytes (inih's limit): long
 * lists are split over repeated keys. Returns DD_EIO if a write failed. */
dd_err schema_params_write(const schema_params *p, const char *notes, FILE *out);

const char *schema_role_key(schema_role r);
const char *schema_label_type_name(schema_label_type t);
const char *schema_ts_unit_name(schema_ts_unit u);

typedef struct schema schema;

/* Returns a new schema compiled from p (borrowed, copied), or NULL with
 * *cause set (DD_EINVAL: an empty path segment, a list too long). Free with
 * schema_free(). */
schema *schema_new(const schema_params *p, char **cause);
void schema_free(schema *s);

/* The parameters s was built from. */
const schema_params *schema_get_params(const schema *s);

/* The value of role r in obj: *out is NULL when the role is absent, unused,
 * or JSON null. DD_EPARSE when a key on the path is duplicated. s may be NULL
 * (the defaults). */
dd_err schema_find(const schema *s, const struct cJSON *obj, schema_role r,
                   const struct cJSON **out, char **cause);

/* Where obj's features are: *container is the object whose members are
 * features (NULL when there are none), *flat says it is obj itself (then
 * schema_is_role_key() filters the top-level keys). DD_ETYPE when a
 * configured features path holds something other than an object. */
dd_err schema_features(const schema *s, const struct cJSON *obj, const struct cJSON **container,
                       bool *flat, char **cause);

/* In flat mode: whether the top-level key holds a role (so is no feature). */
bool schema_is_role_key(const schema *s, const char *key);

/* Whether the flattened feature name (relative to the container) is a
 * feature: it passes the include and exclude lists and is not a role's
 * configured path (a label inside the features object never leaks into
 * them). flat: as schema_features() said. */
bool schema_keeps(const schema *s, const char *name, bool flat);

/* The event time in seconds from v: a number in the configured unit, a
 * numeric string, or an ISO 8601 date-time ("2023-11-14T22:13:20.5Z",
 * offsets "+02:00", no zone = UTC, or a bare date). DD_ETYPE otherwise,
 * DD_ENONFINITE for an infinite number. */
dd_err schema_ts(const schema *s, const struct cJSON *v, double *ts, char **cause);

/* The label from v (not NULL, not null) by the label type. A class name
 * made from a number is written to buf (of buflen bytes) and y->str points
 * there; otherwise y->str points into v. DD_ETYPE, DD_ENONFINITE on error. */
dd_err schema_label(const schema *s, const struct cJSON *v, dd_label *y, char *buf, size_t buflen,
                    char **cause);

/* Parse an ISO 8601 date-time into seconds since the epoch. Returns false
 * when text is not one. Exposed for tests. */
bool schema_parse_iso8601(const char *text, double *out);

/* Infer a mapping from n sample messages (JSON objects; others are skipped):
 * fills p and, when notes is not NULL, sets *notes to comment lines that
 * describe each field seen (caller frees). DD_EINVAL when no sample is an
 * object. */
dd_err schema_infer(const struct cJSON *const *samples, size_t n, schema_params *p, char **notes,
                    char **cause);

/* The model task the samples' labels (mapped by p) call for: "regression"
 * for a regression label type, else "binary" for at most two distinct
 * labels, else "multiclass"; *classes is the number of distinct labels seen
 * (capped at 256). NULL when no sample has a label. */
const char *schema_infer_task(const struct cJSON *const *samples, size_t n, const schema_params *p,
                              uint32_t *classes);

#endif
