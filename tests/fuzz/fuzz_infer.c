/*
 * fuzz_infer.c: libFuzzer harness for `driftdeck schema FILE`: schema
 * inference from sample messages (schema_infer, core/schema_infer.c), the
 * [schema] section it writes (schema_params_write) and the ISO 8601 parser
 * behind string timestamps.
 *
 * Input: up to 32 lines, each one sample message; each line is also tried as
 * an ISO 8601 date. Contract: an inferred mapping compiles (schema_new()
 * accepts it), and the [schema] section written for it reads back, through
 * inih and schema_params_set() as the configuration does, to the same
 * parameters: what `driftdeck schema` prints is what a run will use. A parsed
 * date is finite.
 *
 * FUZZ_SOURCES:
 */
#include "schema.h"

#include <cJSON.h>
#include <ini.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SAMPLES 32
static char text[1 << 20];

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
    schema_params *p = user;
    if (strcmp(section, "schema") || schema_params_set(p, key, value, NULL) != DD_OK) {
        fprintf(stderr, "written [schema] does not read back: [%s] %s = %s\n", section, key, value);
        abort();
    }
    return 1;
}

static bool same_params(const schema_params *a, const schema_params *b)
{
    for (int r = 0; r < SCHEMA_ROLE__COUNT; r++)
        if (strcmp(a->field[r], b->field[r]))
            return false;
    return !strcmp(a->features, b->features) && a->label_type == b->label_type &&
           a->ts_unit == b->ts_unit && !strcmp(a->include, b->include) &&
           !strcmp(a->exclude, b->exclude);
}

static void check_written(const schema_params *p)
{
    FILE *f = fmemopen(text, sizeof text, "w");
    if (!f)
        abort();
    dd_err err = schema_params_write(p, NULL, f);
    long n = ftell(f);
    fclose(f);
    if (err != DD_OK || n < 0 || (size_t)n >= sizeof text)
        return; /* a section over 1 MiB: not this harness's concern */
    text[n] = '\0';
    schema_params back;
    schema_params_default(&back);
    int line = ini_parse_string(text, on_entry, &back);
    if (line != 0 || !same_params(p, &back)) {
        fprintf(stderr, "written [schema] reads back differently (inih line %d):\n%s", line, text);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *samples[MAX_SAMPLES];
    size_t n = 0;
    for (size_t at = 0; at < size && n < MAX_SAMPLES;) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - data) - at : size - at;
        char *line = malloc(len + 1);
        if (!line)
            abort();
        memcpy(line, data + at, len);
        line[len] = '\0';
        double t;
        if (schema_parse_iso8601(line, &t) && !isfinite(t))
            abort();
        cJSON *j = cJSON_ParseWithLength(line, len);
        if (j)
            samples[n++] = j;
        free(line);
        at += len + 1;
    }
    schema_params p;
    schema_params_default(&p);
    char *notes = NULL, *cause = NULL;
    if (schema_infer((const cJSON *const *)samples, n, &p, &notes, &cause) == DD_OK) {
        schema *s = schema_new(&p, &cause);
        if (!s) {
            fprintf(stderr, "inferred schema does not compile: %s\n", cause ? cause : "?");
            abort();
        }
        schema_free(s);
        check_written(&p);
    } else if (!cause) {
        abort();
    }
    free(notes);
    free(cause);
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(samples[i]);
    return 0;
}
