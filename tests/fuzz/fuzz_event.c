/*
 * fuzz_event.c: libFuzzer harness for the JSON event parser (core/event.c).
 *
 * Each input is one raw message, as a source would receive it (not
 * NUL-terminated, so ASan sees any read past its end). It is parsed twice:
 * with the default limits and with tight ones, so the limit paths are hit
 * too. Besides "no crash, no leak, no undefined behaviour", the harness
 * checks the parser's contract: an error always comes with a cause, and an
 * accepted event holds only finite numbers within EVENT_MAX_ABS_VALUE, no
 * more features than the limit, and strings within the string limit.
 *
 * FUZZ_SOURCES:
 */
#include "event.h"

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

static void parse_once(const uint8_t *data, size_t size, const event_limits *lim)
{
    dd_event *ev = NULL;
    char *cause = NULL;
    dd_err err = event_parse_json((const char *)data, size, lim, &ev, &cause);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    event_limits defaults = {0, 0, 0, 0};
    parse_once(data, size, &defaults);
    event_limits tight = {256, 4, 8, 16};
    parse_once(data, size, &tight);
    return 0;
}
