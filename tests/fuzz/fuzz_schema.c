/*
 * fuzz_schema.c: libFuzzer harness for the schema mapping (core/schema.c)
 * through the event parser. The input's first line is a schema
 * (key=value;key=value with the keys of [schema]), the rest one JSON
 * message, parsed and mapped with that schema and with the defaults, under
 * small limits. Contract: a refused message says why (a cause), an accepted
 * one has only finite numbers and no feature named like a configured role.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    if (!nl)
        return 0;
    size_t head = (size_t)(nl - (const char *)data);
    char *spec = malloc(head + 1);
    memcpy(spec, data, head);
    spec[head] = '\0';
    schema_params p;
    schema_params_default(&p);
    for (char *kv = spec; kv && *kv;) {
        char *semi = strchr(kv, ';');
        if (semi)
            *semi = '\0';
        char *eq = strchr(kv, '=');
        if (eq) {
            *eq = '\0';
            schema_params_set(&p, kv, eq + 1, NULL);
        }
        kv = semi ? semi + 1 : NULL;
    }
    free(spec);
    schema *s = schema_new(&p, NULL);
    const char *msg = nl + 1;
    size_t len = size - head - 1;
    event_limits lim = {.max_depth = 8, .max_features = 64, .max_string = 256};
    for (int pass = 0; pass < 2; pass++) {
        const schema *use = pass ? NULL : s;
        dd_event *ev = NULL;
        char *cause = NULL;
        if (event_parse_json(msg, len, &lim, use, &ev, &cause) != DD_OK) {
            if (!cause || ev)
                abort(); /* a refusal always says why and leaves nothing */
            free(cause);
            continue;
        }
        for (uint32_t i = 0; i < ev->nfeat; i++)
            if (ev->feat[i].kind == DD_VAL_NUM && !isfinite(ev->feat[i].num))
                abort();
        if (ev->has_ts && !isfinite(ev->ts))
            abort();
        event_free(ev);
    }
    schema_free(s);
    return 0;
}
