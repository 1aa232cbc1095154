/*
 * bench_schema.c: throughput of the parsing side this area owns, in one
 * thread: the CSV reader alone, CSV rows mapped to events, JSON lines mapped
 * by the default shape and by a configured schema, and the pending table
 * (hold + join) at its default capacity. Prints figures; asserts nothing.
 */
#include "csv.h"
#include "event.h"
#include "pending.h"
#include "schema.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROWS 200000

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static char *make_csv(size_t *len)
{
    size_t cap = (size_t)ROWS * 96 + 128, n = 0;
    char *b = malloc(cap);
    n += (size_t)snprintf(b, cap, "id,ts,temp,device,note,y\n");
    for (int i = 0; i < ROWS; i++)
        n += (size_t)snprintf(b + n, cap - n, "e%d,%d,%.2f,d%d,\"a, \"\"b\"\"\",%d\n", i,
                              1700000000 + i, (i % 400) / 10.0, i % 7, i % 2);
    *len = n;
    return b;
}

typedef struct ctx {
    csv_header *h;
    uint64_t records, events;
    bool map;
} ctx;

static int on_record(void *p, const csv_record *rec)
{
    ctx *c = p;
    c->records++;
    if (!c->h) {
        csv_header_new(rec, &c->h, NULL);
        return 0;
    }
    if (!c->map)
        return 0;
    cJSON *obj = NULL;
    if (csv_row_json(c->h, rec, &obj, NULL) == DD_OK) {
        dd_event *ev = NULL;
        if (event_from_json(obj, NULL, NULL, &ev, NULL) == DD_OK) {
            c->events++;
            event_free(ev);
        }
        cJSON_Delete(obj);
    }
    return 0;
}

static void bench_csv(const char *buf, size_t len, bool map)
{
    ctx c = {.map = map};
    csv *r = csv_new(0, 0, 0);
    double t0 = now_s();
    for (size_t off = 0; off < len; off += 65536)
        csv_feed(r, buf + off, len - off < 65536 ? len - off : 65536, on_record, &c);
    csv_finish(r, on_record, &c);
    double dt = now_s() - t0;
    if (map)
        printf("csv rows -> events:      %9.0f rows/s (%llu events)\n", (double)c.events / dt,
               (unsigned long long)c.events);
    else
        printf("csv reader alone:        %9.1f MB/s, %9.0f records/s\n", (double)len / dt / 1e6,
               (double)c.records / dt);
    csv_free(r);
    csv_header_free(c.h);
}

/* One message in the default shape, or in the configured one of main(). */
static int format_line(char *line, size_t cap, bool nested, int i)
{
    if (!nested)
        return snprintf(line, cap,
                        "{\"id\":\"e%d\",\"ts\":%d,\"x\":{\"temp\":%.1f,\"device\":\"d%d\"},"
                        "\"y\":%d}",
                        i, 1700000000 + i, (i % 400) / 10.0, i % 7, i % 2);
    return snprintf(line, cap,
                    "{\"meta\":{\"key\":\"e%d\",\"when\":%d},\"rec\":{\"temp\":%.1f,"
                    "\"device\":\"d%d\",\"y\":%d,\"skip_me\":1}}",
                    i, 1700000000 + i, (i % 400) / 10.0, i % 7, i % 2);
}

static void bench_json(const schema *s, const char *label)
{
    char line[256];
    double t0 = now_s();
    uint64_t ok = 0;
    for (int i = 0; i < ROWS; i++) {
        int n = format_line(line, sizeof line, s != NULL, i);
        dd_event *ev = NULL;
        if (event_parse_json(line, (size_t)n, NULL, s, &ev, NULL) == DD_OK) {
            ok++;
            event_free(ev);
        }
    }
    double dt = now_s() - t0;
    printf("json -> event (%-8s): %9.0f events/s (%llu ok)\n", label, (double)ok / dt,
           (unsigned long long)ok);
}

static void bench_pending(void)
{
    pending_params pp;
    pending_params_default(&pp);
    pp.max_age = 0;
    pending *t = pending_new(&pp, NULL);
    uint32_t idx[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    double val[8] = {0};
    dd_sparse x = {8, 8, idx, val};
    pending_pred pr = {0, {1, 0.7}};
    char id[32];
    enum { LAG = 50000, N = 1000000 };
    double t0 = now_s();
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "e-%d", i);
        pending_add(t, id, NULL, i, (uint64_t)i, &x, &pr, 1);
        if (i >= LAG) {
            pending_entry e;
            snprintf(id, sizeof id, "e-%d", i - LAG);
            if (pending_take(t, id, &e) == DD_OK)
                pending_entry_clear(&e);
        }
    }
    double dt = now_s() - t0;
    pending_stats st;
    pending_get_stats(t, &st);
    printf("pending hold + join:     %9.0f pairs/s (%llu joined, %llu held, %.1f MB held)\n",
           (double)N / dt, (unsigned long long)st.joined, (unsigned long long)st.held,
           (double)st.bytes / 1e6);
    pending_free(t);
}

int main(void)
{
    size_t len;
    char *buf = make_csv(&len);
    bench_csv(buf, len, false);
    bench_csv(buf, len, true);
    free(buf);
    bench_json(NULL, "default");
    schema_params p;
    schema_params_default(&p);
    schema_params_set(&p, "id", "meta.key", NULL);
    schema_params_set(&p, "ts", "meta.when", NULL);
    schema_params_set(&p, "features", "rec", NULL);
    schema_params_set(&p, "label", "rec.y", NULL);
    schema_params_set(&p, "exclude", "skip*", NULL);
    schema *s = schema_new(&p, NULL);
    bench_json(s, "schema");
    schema_free(s);
    bench_pending();
    return 0;
}
