/*
 * labels.c: the label encoder (see labels.h).
 */
#include "labels.h"

#include "hash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABELS_MAGIC 0x4c424444u /* "DDBL" */
#define LABELS_VERSION 1u
#define LABELS_MAX_NAME 65536u

struct labels {
    model_task task;
    uint32_t max, n;
    uint32_t tmask;
    uint32_t *table; /* 0 empty, else class + 1 */
    char **names;
    uint64_t *hashes;
};

labels *labels_new(model_task task, uint32_t max_classes)
{
    if (max_classes < 2)
        return NULL;
    labels *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->task = task;
    l->max = task == TASK_BINARY ? 2 : max_classes;
    uint32_t t = 8;
    while (t < 2 * l->max)
        t *= 2;
    l->tmask = t - 1;
    l->table = calloc(t, sizeof *l->table);
    l->names = calloc(l->max, sizeof *l->names);
    l->hashes = calloc(l->max, sizeof *l->hashes);
    if (!l->table || !l->names || !l->hashes) {
        labels_free(l);
        return NULL;
    }
    return l;
}

void labels_free(labels *l)
{
    if (!l)
        return;
    if (l->names)
        for (uint32_t i = 0; i < l->n; i++)
            free(l->names[i]);
    free(l->names);
    free(l->hashes);
    free(l->table);
    free(l);
}

static int32_t find(const labels *l, const char *name, uint64_t h, uint32_t *pos)
{
    uint32_t i = (uint32_t)h & l->tmask;
    while (l->table[i]) {
        uint32_t c = l->table[i] - 1;
        if (l->hashes[c] == h && !strcmp(l->names[c], name))
            return (int32_t)c;
        i = (i + 1) & l->tmask;
    }
    *pos = i;
    return -1;
}

static dd_err add(labels *l, const char *name, uint64_t h, uint32_t pos, int32_t *cls)
{
    char *copy = name ? strdup(name) : NULL;
    if (!copy)
        return DD_ENOMEM;
    *cls = (int32_t)l->n++;
    l->names[*cls] = copy;
    l->hashes[*cls] = h;
    l->table[pos] = (uint32_t)*cls + 1;
    return DD_OK;
}

labels *labels_clone(const labels *l)
{
    labels *c = labels_new(l->task, l->max);
    if (!c)
        return NULL;
    for (uint32_t i = 0; i < l->n; i++) {
        uint32_t pos;
        int32_t cls;
        find(c, l->names[i], l->hashes[i], &pos);
        if (add(c, l->names[i], l->hashes[i], pos, &cls)) {
            labels_free(c);
            return NULL;
        }
    }
    return c;
}

/* The class name of a label: the string, or an integral number printed. */
static dd_err class_name(const dd_label *y, char *buf, size_t n, const char **name, char **cause)
{
    if (y->kind == DD_LABEL_STR) {
        *name = y->str;
        return DD_OK;
    }
    if (y->kind != DD_LABEL_NUM || y->num != floor(y->num))
        return dd_fail(cause, DD_ETYPE, "a class label must be a string or an integer");
    snprintf(buf, n, "%.0f", y->num);
    *name = buf;
    return DD_OK;
}

static dd_err encode(labels *l, const dd_label *y, double *target, bool learn, char **cause)
{
    if (y->kind == DD_LABEL_NONE)
        return dd_fail(cause, DD_ETYPE, "no label");
    if (l->task == TASK_REGRESSION) {
        if (y->kind != DD_LABEL_NUM)
            return dd_fail(cause, DD_ETYPE, "a regression target must be a number");
        *target = y->num;
        return DD_OK;
    }
    if (l->task == TASK_BINARY && y->kind == DD_LABEL_NUM) {
        if (y->num != 0.0 && y->num != 1.0)
            return dd_fail(cause, DD_ETYPE, "a binary label must be 0 or 1, got %g", y->num);
        *target = y->num;
        return DD_OK;
    }
    char buf[32];
    const char *name = NULL;
    dd_err err = class_name(y, buf, sizeof buf, &name, cause);
    if (err)
        return err;
    uint64_t h = hash_str(name);
    uint32_t pos;
    int32_t cls = find(l, name, h, &pos);
    if (cls < 0) {
        if (!learn)
            return dd_fail(cause, DD_ENOTFOUND, "unknown class '%s'", name);
        if (l->n == l->max)
            return dd_fail(cause, DD_ELIMIT, "class '%s' beyond the limit of %u classes", name,
                           l->max);
        if (add(l, name, h, pos, &cls))
            return dd_fail(cause, DD_ENOMEM, "out of memory");
    }
    *target = cls;
    return DD_OK;
}

dd_err labels_encode(labels *l, const dd_label *y, double *target, char **cause)
{
    return encode(l, y, target, true, cause);
}

dd_err labels_lookup(const labels *l, const dd_label *y, double *target, char **cause)
{
    return encode((labels *)l, y, target, false, cause);
}

uint32_t labels_count(const labels *l)
{
    return l->task == TASK_BINARY ? 2 : l->n;
}

const char *labels_name(const labels *l, uint32_t i)
{
    static const char *const binary[] = {"0", "1"};
    if (i < l->n)
        return l->names[i];
    if (l->task == TASK_BINARY && i < 2)
        return binary[i];
    return NULL;
}

model_task labels_task(const labels *l)
{
    return l->task;
}

dd_err labels_serialize(const labels *l, ser_writer *w)
{
    ser_put_u32(w, LABELS_MAGIC);
    ser_put_u32(w, LABELS_VERSION);
    ser_put_u32(w, (uint32_t)l->task);
    ser_put_u32(w, l->max);
    ser_put_u32(w, l->n);
    for (uint32_t i = 0; i < l->n; i++)
        ser_put_str(w, l->names[i]);
    return w->failed ? DD_ENOMEM : DD_OK;
}

dd_err labels_deserialize(ser_reader *r, labels **out, char **cause)
{
    *out = NULL;
    if (ser_get_u32(r) != LABELS_MAGIC)
        return dd_fail(cause, DD_ECORRUPT, "not a label encoder snapshot");
    if (ser_get_u32(r) != LABELS_VERSION)
        return dd_fail(cause, DD_EVERSION, "unsupported label encoder snapshot version");
    uint32_t task = ser_get_u32(r), max = ser_get_u32(r), n = ser_get_u32(r);
    if (r->failed || task > TASK_REGRESSION || max < 2 || max > (1u << 20) || n > max)
        return dd_fail(cause, DD_ECORRUPT, "label encoder snapshot header is invalid");
    labels *l = labels_new((model_task)task, max);
    if (!l)
        return dd_fail(cause, DD_ENOMEM, "out of memory");
    if (n > l->max) { /* a binary encoder holds 2 classes whatever max says */
        uint32_t cap = l->max;
        labels_free(l);
        return dd_fail(cause, DD_ECORRUPT, "label encoder snapshot has %u classes, at most %u", n,
                       cap);
    }
    for (uint32_t i = 0; i < n; i++) {
        char *name = ser_get_str(r, LABELS_MAX_NAME);
        uint32_t pos;
        int32_t cls;
        uint64_t h = name ? hash_str(name) : 0;
        if (!name || find(l, name, h, &pos) >= 0 || add(l, name, h, pos, &cls)) {
            free(name);
            labels_free(l);
            return dd_fail(cause, DD_ECORRUPT, "label encoder snapshot class %u is invalid", i);
        }
        free(name);
    }
    *out = l;
    return DD_OK;
}
