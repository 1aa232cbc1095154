/*
 * record.c: construction and destruction of writer records (see record.h).
 */
#include "record.h"

#include <stdlib.h>
#include <string.h>

char *rec_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

gov_record *rec_new(rec_kind kind, uint64_t event_index, const char *actor)
{
    gov_record *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->kind = kind;
    r->event_index = event_index;
    r->actor = rec_strdup(actor ? actor : "policy");
    if (!r->actor) {
        free(r);
        return NULL;
    }
    return r;
}

static void blob_free(rec_blob *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

dd_err rec_blob_set(rec_blob *b, const void *data, size_t len)
{
    blob_free(b);
    if (!len)
        return DD_OK;
    b->data = malloc(len);
    if (!b->data)
        return DD_ENOMEM;
    memcpy(b->data, data, len);
    b->len = len;
    return DD_OK;
}

void rec_free(gov_record *r)
{
    if (!r)
        return;
    free(r->actor);
    switch (r->kind) {
    case REC_SESSION_START:
        free(r->u.session.source);
        free(r->u.session.config_hash);
        free(r->u.session.mode);
        break;
    case REC_VERSION:
        free(r->u.version.config_hash);
        free(r->u.version.metrics_json);
        blob_free(&r->u.version.model);
        break;
    case REC_TRANSITION:
        free(r->u.transition.reason);
        break;
    case REC_AUDIT:
        free(r->u.audit.kind);
        free(r->u.audit.payload_json);
        break;
    case REC_METRICS:
        free(r->u.metrics.role);
        free(r->u.metrics.groups_json);
        break;
    case REC_CHECKPOINT:
        free(r->u.checkpoint.source);
        free(r->u.checkpoint.src_state);
        blob_free(&r->u.checkpoint.pipeline);
        blob_free(&r->u.checkpoint.policy);
        blob_free(&r->u.checkpoint.active_model);
        blob_free(&r->u.checkpoint.challenger_model);
        blob_free(&r->u.checkpoint.previous_model);
        break;
    case REC_SESSION_END:
        free(r->u.session_end.reason);
        break;
    }
    free(r);
}

gov_record *rec_audit(uint64_t event_index, const char *actor, const char *kind,
                      const char *payload_json)
{
    gov_record *r = rec_new(REC_AUDIT, event_index, actor);
    if (!r)
        return NULL;
    r->u.audit.kind = rec_strdup(kind);
    r->u.audit.payload_json = rec_strdup(payload_json);
    if (!r->u.audit.kind || !r->u.audit.payload_json) {
        rec_free(r);
        return NULL;
    }
    return r;
}

gov_record *rec_transition(uint64_t event_index, const char *actor, int64_t version_id,
                           gov_status from, gov_status to, gov_trigger trigger, const char *reason)
{
    gov_record *r = rec_new(REC_TRANSITION, event_index, actor);
    if (!r)
        return NULL;
    r->u.transition.version_id = version_id;
    r->u.transition.from = from;
    r->u.transition.to = to;
    r->u.transition.trigger = trigger;
    r->u.transition.reason = rec_strdup(reason ? reason : "");
    if (!r->u.transition.reason) {
        rec_free(r);
        return NULL;
    }
    return r;
}

void rec_list_push(rec_list *l, gov_record *r)
{
    r->next = NULL;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

gov_record *rec_list_pop(rec_list *l)
{
    gov_record *r = l->head;
    if (!r)
        return NULL;
    l->head = r->next;
    if (!l->head)
        l->tail = NULL;
    l->n--;
    r->next = NULL;
    return r;
}

void rec_list_splice(rec_list *to, rec_list *from)
{
    if (!from->head)
        return;
    if (to->tail)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    to->n += from->n;
    from->head = from->tail = NULL;
    from->n = 0;
}

void rec_list_clear(rec_list *l)
{
    gov_record *r;
    while ((r = rec_list_pop(l)))
        rec_free(r);
}
