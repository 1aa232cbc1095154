/*
 * fuzz_schema.c: libFuzzer harness for the schema mapping. The input's first
 * line is a schema (key=value;key=value, keys of [schema]), the rest one
 * JSON message; the message is parsed and mapped with that schema, and with
 * the defaults. Build: make fuzz_schema; run: ./fuzz_schema -max_total_time=60
 */
#include "event.h"
#include "schema.h"

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
    dd_event *ev = NULL;
    if (event_parse_json(msg, len, &lim, s, &ev, NULL) == DD_OK)
        event_free(ev);
    if (event_parse_json(msg, len, &lim, NULL, &ev, NULL) == DD_OK)
        event_free(ev);
    schema_free(s);
    return 0;
}
