/*
 * ingest.c: parse, count, dead-letter and push raw messages (see ingest.h).
 *
 * Dead letters are JSON Lines: {"recv_ts", "source", "pos", "line", "reason",
 * and "raw" (the text) or "raw_base64" (when the bytes are not valid UTF-8)}.
 * The file is rotated to PATH.1 when it passes its size limit, so a flood of
 * bad input cannot fill the disk. A dead letter that cannot be written is
 * counted (ingest_deadletter_failures) and the stream goes on.
 */
#include "ingest.h"

#include "queue.h"
#include "source.h"

#include <cJSON.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#define INGEST_DEADLETTER_MAX (64ull << 20)
#define INGEST_RAW_KEEP (64u << 10) /* bytes of a raw message kept in a dead letter */

struct ingest {
    struct queue *q;
    event_limits lim;
    const struct schema *sch;
    char *dl_path;
    FILE *dl;
    uint64_t dl_bytes;
    uint64_t dl_max;
    uint64_t dl_failures;
    _Atomic uint64_t seq;
    pthread_mutex_t lock; /* the dead-letter file */
};

ingest *ingest_new(struct queue *q, const event_limits *lim, const struct schema *sch,
                   const char *deadletter_path, char **cause)
{
    ingest *ing = calloc(1, sizeof *ing);
    if (!ing) {
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    ing->q = q;
    if (lim)
        ing->lim = *lim;
    ing->sch = sch;
    ing->dl_max = INGEST_DEADLETTER_MAX;
    pthread_mutex_init(&ing->lock, NULL);
    if (deadletter_path) {
        ing->dl_path = strdup(deadletter_path);
        if (!ing->dl_path) {
            ingest_free(ing);
            dd_fail(cause, DD_ENOMEM, "out of memory");
            return NULL;
        }
    }
    return ing;
}

void ingest_free(ingest *ing)
{
    if (!ing)
        return;
    if (ing->dl)
        fclose(ing->dl);
    pthread_mutex_destroy(&ing->lock);
    free(ing->dl_path);
    free(ing);
}

/* Open (or rotate) the dead-letter file; called with the lock held. */
static FILE *deadletter_file(ingest *ing, size_t incoming)
{
    if (ing->dl && ing->dl_bytes + incoming > ing->dl_max) {
        fclose(ing->dl);
        ing->dl = NULL;
        size_t n = strlen(ing->dl_path) + 3;
        char *old = malloc(n);
        if (old) {
            snprintf(old, n, "%s.1", ing->dl_path);
            rename(ing->dl_path, old);
            free(old);
        }
    }
    if (!ing->dl) {
        /* 0600: dead letters hold raw stream data, which may be private. */
        int fd = open(ing->dl_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        ing->dl = fd >= 0 ? fdopen(fd, "a") : NULL;
        if (!ing->dl) {
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        struct stat st;
        ing->dl_bytes = fstat(fileno(ing->dl), &st) == 0 ? (uint64_t)st.st_size : 0;
    }
    return ing->dl;
}

static void deadletter(ingest *ing, struct source *src, const char *buf, size_t len,
                       const char *reason, uint64_t pos)
{
    if (!ing->dl_path)
        return;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        goto failed;
    char spec[512] = "";
    if (src && src->spec)
        source_spec_redacted(src->spec, spec, sizeof spec); /* no credentials in files */
    cJSON_AddStringToObject(o, "source", spec);
    cJSON_AddNumberToObject(o, "pos", (double)pos);
    if (src && src->line)
        cJSON_AddNumberToObject(o, "line", (double)src->line);
    cJSON_AddStringToObject(o, "reason", reason);
    size_t keep = len > INGEST_RAW_KEEP ? INGEST_RAW_KEEP : len;
    if (keep < len)
        cJSON_AddNumberToObject(o, "raw_bytes", (double)len);
    if (buf && event_utf8_valid(buf, keep)) {
        char *t = malloc(keep + 1);
        if (t) {
            memcpy(t, buf, keep);
            t[keep] = '\0';
            cJSON_AddStringToObject(o, "raw", t);
            free(t);
        }
    } else if (buf) {
        unsigned char *b64 = malloc(4 * ((keep + 2) / 3) + 1);
        if (b64) {
            EVP_EncodeBlock(b64, (const unsigned char *)buf, (int)keep);
            cJSON_AddStringToObject(o, "raw_base64", (const char *)b64);
            free(b64);
        }
    }
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!line)
        goto failed;
    size_t n = strlen(line);
    pthread_mutex_lock(&ing->lock);
    FILE *f = deadletter_file(ing, n + 1);
    bool ok = f && fwrite(line, 1, n, f) == n && fputc('\n', f) != EOF && fflush(f) == 0;
    if (ok)
        ing->dl_bytes += n + 1;
    else
        ing->dl_failures++;
    pthread_mutex_unlock(&ing->lock);
    free(line);
    return;
failed:
    pthread_mutex_lock(&ing->lock);
    ing->dl_failures++;
    pthread_mutex_unlock(&ing->lock);
}

void ingest_reject(ingest *ing, struct source *src, const char *buf, size_t len, const char *reason,
                   uint64_t pos)
{
    atomic_fetch_add(&src->stats.malformed, 1);
    deadletter(ing, src, buf, len, reason, pos);
}

void ingest_refused_label(ingest *ing, const dd_event *ev, const char *reason)
{
    cJSON *o = cJSON_CreateObject();
    if (o && ev->id)
        cJSON_AddStringToObject(o, "id", ev->id);
    if (o && ev->y.kind == DD_LABEL_STR)
        cJSON_AddStringToObject(o, "y", ev->y.str);
    else if (o && ev->y.kind == DD_LABEL_NUM)
        cJSON_AddNumberToObject(o, "y", ev->y.num);
    char *raw = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    deadletter(ing, NULL, raw, raw ? strlen(raw) : 0, reason, ev->src_pos);
    free(raw);
}

void ingest_drop(ingest *ing, struct source *src, const char *buf, size_t len, const char *reason,
                 uint64_t pos)
{
    atomic_fetch_add(&src->stats.dropped, 1);
    deadletter(ing, src, buf, len, reason, pos);
}

/* Push one event by the flow policy. Returns 1 pushed, -1 queue closed. */
static int push(ingest *ing, struct source *src, dd_event *ev, ingest_flow flow)
{
    if (src->pace)
        src->pace(src, ev);
    ev->seq = atomic_fetch_add(&ing->seq, 1);
    if (flow == INGEST_DROP_OLDEST) {
        void *evicted = NULL;
        if (queue_push_drop_oldest(ing->q, ev, &evicted) != QUEUE_OK) {
            event_free(ev);
            return -1;
        }
        if (evicted) {
            dd_event *old = evicted;
            char why[96];
            snprintf(why, sizeof why, "dropped: queue full (event seq %llu)",
                     (unsigned long long)old->seq);
            atomic_fetch_add(&src->stats.dropped, 1);
            deadletter(ing, src, old->id, old->id ? strlen(old->id) : 0, why, old->src_pos);
            event_free(old);
        }
    } else if (queue_push(ing->q, ev, -1) != QUEUE_OK) {
        event_free(ev);
        return -1;
    }
    atomic_fetch_add(&src->stats.events, 1);
    return 1;
}

static dd_event *build(ingest *ing, const cJSON *obj, double recv_ts, uint64_t pos, size_t len,
                       char **cause)
{
    dd_event *ev = NULL;
    if (event_from_json(obj, &ing->lim, ing->sch, &ev, cause))
        return NULL;
    event_default_ts(ev, recv_ts);
    ev->src_pos = pos;
    ev->raw_len = (uint32_t)len;
    return ev;
}

int ingest_object(ingest *ing, struct source *src, const cJSON *obj, size_t raw_len, double recv_ts,
                  uint64_t pos, ingest_flow flow)
{
    atomic_fetch_add(&src->stats.messages, 1);
    atomic_fetch_add(&src->stats.bytes, raw_len);
    char *cause = NULL;
    dd_event *ev = build(ing, obj, recv_ts, pos, raw_len, &cause);
    if (ev) {
        free(cause);
        return push(ing, src, ev, flow);
    }
    char *text = cJSON_PrintUnformatted(obj);
    ingest_reject(ing, src, text, text ? strlen(text) : 0, cause ? cause : "out of memory", pos);
    free(text);
    free(cause);
    return 0;
}

int ingest_message(ingest *ing, struct source *src, const char *buf, size_t len, bool binary,
                   double recv_ts, uint64_t pos, ingest_flow flow)
{
    (void)binary; /* a binary frame is parsed like text; bad bytes fail the UTF-8 check */
    atomic_fetch_add(&src->stats.messages, 1);
    atomic_fetch_add(&src->stats.bytes, len);
    char *cause = NULL;
    cJSON *root = NULL;
    if (event_json_parse(buf, len, &ing->lim, &root, &cause)) {
        ingest_reject(ing, src, buf, len, cause ? cause : "parse error", pos);
        free(cause);
        return 0;
    }
    int pushed = 0;
    if (cJSON_IsArray(root)) {
        /* Build every event first: a bad element rejects the whole message,
         * so a message is either learned whole or dead-lettered whole. */
        int n = cJSON_GetArraySize(root), i = 0;
        dd_event **evs = calloc(n ? (size_t)n : 1, sizeof(dd_event *));
        for (const cJSON *c = root->child; evs && c && i < n && !cause; c = c->next, i++)
            if (!(evs[i] = build(ing, c, recv_ts, pos, len, &cause)) && !cause)
                cause = strdup("out of memory");
        n = i; /* the elements built (the same as the array's size) */
        if (!evs || cause) {
            char why[300];
            snprintf(why, sizeof why, "array element %d: %s", i - 1, cause ? cause : "no memory");
            ingest_reject(ing, src, buf, len, why, pos);
            for (int k = 0; evs && k < n; k++)
                event_free(evs[k]);
        } else {
            for (int k = 0; k < n; k++)
                if (pushed >= 0 && evs[k])
                    pushed = push(ing, src, evs[k], flow) < 0 ? -1 : pushed + 1;
                else
                    event_free(evs[k]);
        }
        free(evs);
    } else {
        dd_event *ev = build(ing, root, recv_ts, pos, len, &cause);
        if (!ev)
            ingest_reject(ing, src, buf, len, cause ? cause : "out of memory", pos);
        else
            pushed = push(ing, src, ev, flow);
    }
    free(cause);
    cJSON_Delete(root);
    return pushed;
}

void ingest_set_deadletter_max(ingest *ing, uint64_t bytes)
{
    ing->dl_max = bytes;
}

uint64_t ingest_deadletter_failures(ingest *ing)
{
    pthread_mutex_lock(&ing->lock);
    uint64_t n = ing->dl_failures;
    pthread_mutex_unlock(&ing->lock);
    return n;
}
