/*
 * soak_stream.h: the generated message stream of the long-stream runs
 * (tests/test_bounded.c, bench/bench_soak.c), as raw JSON lines.
 *
 * Agrawal's generator (core/gen.h) with GEN_MAX_DRIFTS drifts spaced evenly
 * over the run. One data event in four comes without its label, which
 * follows SOAK_LABEL_DELAY events later as {"id","ts","y"}; one in 32 never
 * gets it (it expires or is evicted from the pending table). With bad_every
 * > 0, every bad_every-th message is a malformed line (dead-lettered). Ids
 * have a fixed width so entry sizes stay constant over the run. Header-only:
 * static functions, included by one file each.
 */
#ifndef DD_SOAK_STREAM_H
#define DD_SOAK_STREAM_H

#include "gen.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SOAK_LABEL_DELAY 64

typedef struct soak_stream {
    gen *g;
    uint64_t index;    /* data events generated */
    uint64_t messages; /* messages produced (data, labels, bad lines) */
    uint64_t bad;      /* malformed lines produced */
    uint64_t bad_every;
    struct {
        uint64_t index;
        int y;
        bool due;
    } wait[SOAK_LABEL_DELAY];
    char line[4096];
} soak_stream;

/* A stream of about `events` data events. Returns DD_OK, or an error with
 * *cause set by gen_new(). */
static dd_err soak_stream_init(soak_stream *s, uint64_t events, uint64_t seed, uint64_t bad_every,
                               char **cause)
{
    gen_params gp;
    gen_params_default(&gp, GEN_AGRAWAL);
    gp.seed = seed;
    gp.noise = 0.05;
    gp.ndrifts = GEN_MAX_DRIFTS;
    uint64_t step = events / (GEN_MAX_DRIFTS + 1);
    if (step < 2000)
        step = 2000;
    for (uint32_t k = 0; k < gp.ndrifts; k++)
        gp.drift[k] = (gen_drift){.pos = step * (k + 1), .width = 1000};
    memset(s, 0, sizeof *s);
    s->bad_every = bad_every;
    s->g = gen_new(&gp, cause);
    return s->g ? DD_OK : DD_EINVAL;
}

static void soak_stream_free(soak_stream *s)
{
    gen_free(s->g);
    s->g = NULL;
}

/* The next message into s->line; returns its length. */
static size_t soak_stream_next(soak_stream *s)
{
    s->messages++;
    if (s->bad_every && s->messages % s->bad_every == 0) {
        s->bad++;
        return (size_t)snprintf(s->line, sizeof s->line, "{\"x\": not json %llu",
                                (unsigned long long)s->messages);
    }
    size_t slot = s->index % SOAK_LABEL_DELAY;
    double ts = 1700000000.0 + (double)s->index / 100.0;
    if (s->wait[slot].due) {
        s->wait[slot].due = false;
        return (size_t)snprintf(s->line, sizeof s->line,
                                "{\"id\":\"e-%010llu\",\"ts\":%.2f,\"y\":%d}",
                                (unsigned long long)s->wait[slot].index, ts, s->wait[slot].y);
    }
    gen_event ev;
    gen_next(s->g, &ev);
    size_t n = (size_t)snprintf(s->line, sizeof s->line,
                                "{\"id\":\"e-%010llu\",\"ts\":%.2f,\"x\":{",
                                (unsigned long long)ev.index, ts);
    for (uint32_t i = 0; i < ev.nx && n < sizeof s->line; i++) {
        const gen_value *v = &ev.x[i];
        if (v->str)
            n += (size_t)snprintf(s->line + n, sizeof s->line - n, "%s\"%s\":\"%s\"",
                                  i ? "," : "", v->name, v->str);
        else
            n += (size_t)snprintf(s->line + n, sizeof s->line - n, "%s\"%s\":%.10g",
                                  i ? "," : "", v->name, v->num);
    }
    if (n >= sizeof s->line)
        n = sizeof s->line - 1;
    if (ev.index % 4 == 1) {
        s->wait[slot].index = ev.index;
        s->wait[slot].y = ev.y;
        s->wait[slot].due = ev.index % 32 != 1;
        n += (size_t)snprintf(s->line + n, sizeof s->line - n, "}}");
    } else {
        n += (size_t)snprintf(s->line + n, sizeof s->line - n, "},\"y\":%d}", ev.y);
    }
    s->index++;
    return n < sizeof s->line ? n : sizeof s->line - 1;
}

#endif
