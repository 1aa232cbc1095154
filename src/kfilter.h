/*
 * kfilter.h: what a client may ask of the knowledge store's hits beyond the
 * query (POST /search, `driftdeck search`): fields of the stored payload
 * equal to given values (ANDed), bounds on event time, and which index
 * answers (vector, FTS5 or both).
 *
 * A field name is looked up among the event's features (the payload's "x"
 * object) first, then among its top-level keys (id, y, group, text). A
 * string value matches a string, a number matches a number (exactly); a
 * value from the command line (`--where name=value`) matches the text and,
 * when it reads as a number, the number too. Checking a hit parses its
 * payload once (O(payload bytes)), and only when fields are asked for.
 * kfilter_keep() is a kstore_keep_fn; kstore_search() over-fetches so k hits
 * still come back when enough match (see kstore.h for the bound).
 */
#ifndef DD_KFILTER_H
#define DD_KFILTER_H

#include "dd.h"
#include "kstore.h"

#include <stdbool.h>
#include <stdint.h>

#define KFILTER_MAX_FIELDS 16
#define KFILTER_NAME_MAX 64   /* bytes of a field name, with its NUL */
#define KFILTER_VALUE_MAX 256 /* bytes of a string value, with its NUL */

typedef struct kfilter_field {
    char name[KFILTER_NAME_MAX];
    bool has_str, has_num;
    char str[KFILTER_VALUE_MAX];
    double num;
} kfilter_field;

typedef struct kfilter {
    kfilter_field where[KFILTER_MAX_FIELDS];
    uint32_t nwhere;
    double min_ts, max_ts; /* event time bounds, inclusive (NAN: none) */
    double max_age;        /* seconds before now (wall clock); 0: none */
    double now;            /* the wall clock max_age counts from (set by kfilter_init) */
    unsigned indexes;      /* KSTORE_FOUND_VECTOR, _FTS or _BOTH; 0: both */
} kfilter;

/* No filter; now = the wall clock. This function can't fail. */
void kfilter_init(kfilter *f);

/* Read the filter members of a JSON request object: "where" (an object of
 * field: string or number, at most KFILTER_MAX_FIELDS), "index" ("vector",
 * "fts" or "both"), "min_ts", "max_ts" (finite numbers, min <= max),
 * "max_age" (seconds >= 0); absent members leave f as it was. DD_EINVAL with
 * a cause saying what is wrong; f is then partly set. Borrows body. */
struct cJSON;
dd_err kfilter_from_json(kfilter *f, const struct cJSON *body, char **cause);

/* Add a "name=value" condition (the command line's --where). DD_EINVAL with
 * a cause for a missing '=', an empty or long name, a long value, or too
 * many fields. */
dd_err kfilter_add_where(kfilter *f, const char *name_value, char **cause);

/* "vector", "fts" or "both" into f->indexes; DD_EINVAL otherwise. */
dd_err kfilter_set_index(kfilter *f, const char *name, char **cause);

/* Point q at f (q->keep, q->keep_ctx, q->indexes); no keep function when f
 * asks nothing of the hits. f must outlive the search. */
void kfilter_apply(const kfilter *f, kstore_query *q);

/* kstore_keep_fn: true when hit h passes filter ctx (a const kfilter *). */
bool kfilter_keep(void *ctx, const kstore_hit *h);

#endif
