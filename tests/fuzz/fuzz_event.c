/*
 * fuzz_event.c: libFuzzer harness for the JSON event parser and the schema
 * mapping (core/event.c, core/schema.c).
 *
 * Each input is one raw message, as a source would receive it (not
 * NUL-terminated, so ASan sees any read past its end). It is parsed with the
 * default limits under several schemas (the default shape, flat, nested
 * role paths with ms timestamps and class labels, include/exclude lists with
 * regression labels, and every role moved or switched off), and once more
 * with tight limits, so the limit paths are hit too. Besides "no crash, no leak, no undefined
 * behaviour", the harness checks the parser's contract: an error always comes with a cause, and an
 * accepted event holds only finite numbers within EVENT_MAX_ABS_VALUE, no
 * more features than the limit, and strings within the string limit.
 *
 * FUZZ_SOURCES:
 */
#include "event.h"
#include "schema.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_event(const dd_event *ev, const event_limits *lim)
{
    uint32_t max_features = lim->max_features ? lim->max_features : EVENT_DEFAULT_MAX_FEATURES;
    uint32_t max_string = lim->max_string ? lim->max_string : EVENT_DEFAULT_MAX_STRING;
    if (ev->nfeat > max_features)
        abort();
    for (uint32_t i = 0; i < ev->nfeat; i++) {
        const dd_feature *f = &ev->feat[i];
        if (!f->name)
            abort();
        if (f->kind == DD_VAL_NUM && !(isfinite(f->num) && fabs(f->num) <= EVENT_MAX_ABS_VALUE))
            abort();
        if (f->kind == DD_VAL_STR && (!f->str || strlen(f->str) > max_string))
            abort();
        if (event_find(ev, f->name) == NULL)
            abort();
    }
    if (ev->y.kind == DD_LABEL_NUM && !isfinite(ev->y.num))
        abort();
    if (ev->y.kind == DD_LABEL_STR && !ev->y.str)
        abort();
    if (ev->has_ts && !isfinite(ev->ts))
        abort();
    for (uint32_t i = 0; i < ev->nemb; i++)
        if (!isfinite(ev->emb[i]))
            abort();
}

static void parse_once(const uint8_t *data, size_t size, const event_limits *lim, const schema *sch)
{
    dd_event *ev = NULL;
    char *cause = NULL;
    dd_err err = event_parse_json((const char *)data, size, lim, sch, &ev, &cause);
    if (err == DD_OK) {
        if (!ev)
            abort();
        check_event(ev, lim);
        event_free(ev);
    } else if (ev || !cause) {
        abort(); /* an error leaves no event and always says why */
    }
    free(cause);
}

/* [schema] settings, one schema per row: key, value pairs, NULL-ended. */
static const char *const schema_rows[][13] = {
    {"features", ".", NULL},
    {"features", "payload.features", "id", "meta.id", "ts", "meta.time", "ts_unit", "ms", "label",
     "meta.label", "label_type", "class", NULL},
    {"include", "a,b*,temp", "exclude", "b2", "label_type", "regression", "ts_unit", "ns", NULL},
    {"label_type", "number", "group", "g", "text", "t", "embedding", "e", "op", "-", NULL},
};
#define NSCHEMAS (sizeof schema_rows / sizeof schema_rows[0])
static schema *schemas[NSCHEMAS];

static void make_schemas(void)
{
    for (size_t i = 0; i < NSCHEMAS; i++) {
        schema_params p;
        schema_params_default(&p);
        for (size_t k = 0; schema_rows[i][k]; k += 2)
            if (schema_params_set(&p, schema_rows[i][k], schema_rows[i][k + 1], NULL))
                abort(); /* the harness's own table is wrong */
        if (!(schemas[i] = schema_new(&p, NULL)))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schemas[0])
        make_schemas();
    event_limits defaults = {0, 0, 0, 0};
    parse_once(data, size, &defaults, NULL);
    for (size_t i = 0; i < NSCHEMAS; i++)
        parse_once(data, size, &defaults, schemas[i]);
    event_limits tight = {256, 4, 8, 16};
    parse_once(data, size, &tight, NULL);
    return 0;
}
