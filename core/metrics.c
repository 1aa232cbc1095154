/*
 * metrics.c: prequential evaluation (see metrics.h).
 */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_MAGIC 0x544d4444u /* "DDMT" */
#define METRICS_VERSION 1u

struct metrics {
    model_task task;
    uint64_t n;
    double hits;    /* correct predictions (classification) */
    double abs_sum; /* sum of |error| (regression) */
    double sq_sum;  /* sum of error^2 (regression) */
    double loss_sum;
    uint32_t w, head, fill, since_resum;
    double *ring; /* per-event score: 1 correct / 0 wrong, or |error| */
    double ring_sum;
};

metrics *metrics_new(model_task task, uint32_t window)
{
    if (window == 0)
        return NULL;
    metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->ring = calloc(window, sizeof *m->ring);
    if (!m->ring) {
        free(m);
        return NULL;
    }
    m->task = task;
    m->w = window;
    return m;
}

void metrics_free(metrics *m)
{
    if (!m)
        return;
    free(m->ring);
    free(m);
}

metrics *metrics_clone(const metrics *m)
{
    metrics *c = metrics_new(m->task, m->w);
    if (!c)
        return NULL;
    double *ring = c->ring;
    *c = *m;
    c->ring = ring;
    memcpy(ring, m->ring, m->w * sizeof *ring);
    return c;
}

void metrics_reset(metrics *m)
{
    double *ring = m->ring;
    model_task task = m->task;
    uint32_t w = m->w;
    memset(m, 0, sizeof *m);
    memset(ring, 0, w * sizeof *ring);
    m->ring = ring;
    m->task = task;
    m->w = w;
}

void metrics_add(metrics *m, const model_output *out, double target, double loss)
{
    double v;
    if (m->task == TASK_REGRESSION) {
        double e = out->score - target;
        v = fabs(e);
        m->abs_sum += v;
        m->sq_sum += e * e;
    } else {
        v = (double)out->cls == target ? 1.0 : 0.0;
        m->hits += v;
    }
    m->n++;
    if (isfinite(loss))
        m->loss_sum += loss;
    if (m->fill == m->w) {
        m->ring_sum -= m->ring[m->head];
    } else {
        m->fill++;
    }
    m->ring[m->head] = v;
    m->ring_sum += v;
    m->head = (m->head + 1) % m->w;
    if (++m->since_resum == m->w) {
        double s = 0;
        for (uint32_t i = 0; i < m->fill; i++)
            s += m->ring[i];
        m->ring_sum = s;
        m->since_resum = 0;
    }
}

uint64_t metrics_count(const metrics *m)
{
    return m->n;
}

double metrics_score(const metrics *m)
{
    if (!m->n)
        return 0;
    return (m->task == TASK_REGRESSION ? m->abs_sum : m->hits) / (double)m->n;
}

double metrics_rolling_score(const metrics *m)
{
    return m->fill ? m->ring_sum / m->fill : 0;
}

double metrics_rolling_error(const metrics *m)
{
    if (!m->fill)
        return 0;
    return m->task == TASK_REGRESSION ? m->ring_sum / m->fill : 1.0 - m->ring_sum / m->fill;
}

double metrics_mean_loss(const metrics *m)
{
    return m->n ? m->loss_sum / (double)m->n : 0;
}

double metrics_rmse(const metrics *m)
{
    return m->n && m->task == TASK_REGRESSION ? sqrt(m->sq_sum / (double)m->n) : 0;
}

uint32_t metrics_window_fill(const metrics *m)
{
    return m->fill;
}

dd_err metrics_serialize(const metrics *m, ser_writer *w)
{
    ser_put_u32(w, METRICS_MAGIC);
    ser_put_u32(w, METRICS_VERSION);
    ser_put_u32(w, (uint32_t)m->task);
    ser_put_u32(w, m->w);
    ser_put_u64(w, m->n);
    ser_put_f64(w, m->hits);
    ser_put_f64(w, m->abs_sum);
    ser_put_f64(w, m->sq_sum);
    ser_put_f64(w, m->loss_sum);
    ser_put_u32(w, m->head);
    ser_put_u32(w, m->fill);
    ser_put_u32(w, m->since_resum);
    ser_put_f64(w, m->ring_sum);
    for (uint32_t i = 0; i < m->w; i++)
        ser_put_f64(w, m->ring[i]);
    return w->failed ? DD_ENOMEM : DD_OK;
}

dd_err metrics_deserialize(ser_reader *r, metrics **out, char **cause)
{
    *out = NULL;
    if (ser_get_u32(r) != METRICS_MAGIC || ser_get_u32(r) != METRICS_VERSION)
        return dd_fail(cause, DD_ECORRUPT, "not a metrics snapshot of this version");
    uint32_t task = ser_get_u32(r), w = ser_get_u32(r);
    if (r->failed || task > TASK_REGRESSION || w == 0 || w > (1u << 24) ||
        (size_t)w * 8 > r->len - r->at)
        return dd_fail(cause, DD_ECORRUPT, "metrics snapshot header is invalid");
    metrics *m = metrics_new((model_task)task, w);
    if (!m)
        return dd_fail(cause, DD_ENOMEM, "out of memory");
    m->n = ser_get_u64(r);
    m->hits = ser_get_f64(r);
    m->abs_sum = ser_get_f64(r);
    m->sq_sum = ser_get_f64(r);
    m->loss_sum = ser_get_f64(r);
    m->head = ser_get_u32(r);
    m->fill = ser_get_u32(r);
    m->since_resum = ser_get_u32(r);
    m->ring_sum = ser_get_f64(r); /* as it was, so a resumed run is bit-identical */
    for (uint32_t i = 0; i < w; i++)
        m->ring[i] = ser_get_f64(r);
    if (r->failed || m->head >= w || m->fill > w || m->since_resum >= w) {
        metrics_free(m);
        return dd_fail(cause, DD_ECORRUPT, "metrics snapshot is invalid");
    }
    *out = m;
    return DD_OK;
}

uint32_t metrics_window(const metrics *m)
{
    return m->w;
}

size_t metrics_memory(const metrics *m)
{
    return sizeof *m + (size_t)m->w * sizeof *m->ring;
}
