/*
 * fuzz_csv.c: libFuzzer harness for the CSV reader and the row mapping.
 * The first byte picks the delimiter and where the input is cut in two
 * chunks (chunk boundaries must not matter); every record goes through the
 * header, csv_row_json() and the event parser, as the file source does.
 * Build: make fuzz_csv (clang-14, libclang-rt-14-dev); run: ./fuzz_csv -max_total_time=60
 */
#include "csv.h"
#include "event.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ctx {
    csv_header *h;
} ctx;

static int on_record(void *p, const csv_record *rec)
{
    ctx *c = p;
    if (!c->h) {
        csv_header_new(rec, &c->h, NULL);
        return 0;
    }
    cJSON *obj = NULL;
    if (csv_row_json(c->h, rec, &obj, NULL) == DD_OK) {
        dd_event *ev = NULL;
        if (event_from_json(obj, NULL, NULL, &ev, NULL) == DD_OK)
            event_free(ev);
        cJSON_Delete(obj);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char delim = (data[0] & 1) ? '\t' : ',';
    size_t cut = size > 1 ? (data[0] >> 1) % size : 0;
    const char *buf = (const char *)data + 1;
    size -= 1;
    if (cut > size)
        cut = size;
    ctx c = {0};
    csv *r = csv_new(delim, 256, 16);
    if (csv_feed(r, buf, cut, on_record, &c) == DD_OK &&
        csv_feed(r, buf + cut, size - cut, on_record, &c) == DD_OK)
        csv_finish(r, on_record, &c);
    csv_free(r);
    csv_header_free(c.h);
    return 0;
}
