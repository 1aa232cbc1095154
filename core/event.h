/*
 * event.h: one stream event, parsed, and the JSON parser that makes it.
 *
 * An event is what a source hands to the worker: features (numbers, strings,
 * or missing), an optional label, id, event time, group, text, embedding and
 * operation. Parsing happens in the source threads (cJSON), so the worker gets
 * ready events. Each event is one allocation-owned unit: strings live in the
 * event's own arena and die with event_free().
 *
 * Default shape (see doc/FORMATS.md): {"id", "ts", "x": {...}, "y"}; only x is
 * required; {"id", "y"} alone is a delayed label. Bad input gets DD_EPARSE,
 * DD_ETYPE, DD_ELIMIT or DD_ENONFINITE with a cause, never a crash.
 */
#ifndef DD_EVENT_H
#define DD_EVENT_H

#include "dd.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum dd_val_kind { DD_VAL_NUM = 0, DD_VAL_STR, DD_VAL_MISSING } dd_val_kind;

typedef struct dd_feature {
    const char *name;   /* in the event's arena */
    uint64_t name_hash; /* hash64 of name, computed once by the parser */
    dd_val_kind kind;
    double num;      /* DD_VAL_NUM: finite */
    const char *str; /* DD_VAL_STR: in the event's arena */
} dd_feature;

typedef enum dd_label_kind { DD_LABEL_NONE = 0, DD_LABEL_NUM, DD_LABEL_STR } dd_label_kind;

typedef struct dd_label {
    dd_label_kind kind;
    double num;      /* DD_LABEL_NUM (booleans become 0/1) */
    const char *str; /* DD_LABEL_STR: a class name */
} dd_label;

typedef enum dd_event_kind {
    DD_EV_DATA = 0, /* features, maybe a label */
    DD_EV_LABEL,    /* a delayed label for an earlier id: no features */
    DD_EV_DELETE,   /* op = delete: remove the id from the knowledge store */
} dd_event_kind;

typedef struct dd_event {
    dd_event_kind kind;
    uint64_t seq;   /* arrival number, set by the source (0-based) */
    const char *id; /* NULL when absent */
    double ts;      /* event time in seconds; recv_ts when the message had none */
    bool has_ts;
    double recv_ts; /* receive time, set by the source */
    dd_label y;
    const char *group; /* NULL when absent */
    const char *text;  /* NULL when absent */
    uint32_t nfeat;
    dd_feature *feat;
    uint32_t nemb;
    double *emb;      /* a carried embedding, NULL when absent */
    uint64_t src_pos; /* source position (file offset, Kafka offset) for resume */
    uint32_t raw_len; /* bytes of the raw message */
    /* private: the arena holding feat, emb and every string */
    char *arena_;
} dd_event;

/* Hard limits on one message; 0 means the built-in default. */
typedef struct event_limits {
    uint32_t max_bytes;    /* default 1 MiB */
    uint32_t max_depth;    /* JSON nesting, default 32 */
    uint32_t max_features; /* default 4096 */
    uint32_t max_string;   /* bytes of one string, default 65536 */
} event_limits;

#define EVENT_DEFAULT_MAX_BYTES (1u << 20)
#define EVENT_DEFAULT_MAX_DEPTH 32u
#define EVENT_DEFAULT_MAX_FEATURES 4096u
#define EVENT_DEFAULT_MAX_STRING 65536u
/* Feature values beyond this magnitude are refused: their squares would
 * overflow the running statistics. */
#define EVENT_MAX_ABS_VALUE 1e15

struct cJSON;
struct schema;

/* Check one raw message (size, nesting depth, UTF-8) and parse it with cJSON.
 * On success *root is a new cJSON tree (free with cJSON_Delete()). On error
 * nothing is allocated and *cause (if not NULL) says what and where. */
dd_err event_json_parse(const char *buf, size_t len, const event_limits *lim, struct cJSON **root,
                        char **cause);

/* Build an event from one parsed JSON object, mapped by sch (schema.h; NULL:
 * the default shape). Borrows obj and sch; copies what it keeps. On success *out is a new event
 * (free with event_free()); seq, recv_ts, src_pos and raw_len are left 0 for the source to set. */
dd_err event_from_json(const struct cJSON *obj, const event_limits *lim, const struct schema *sch,
                       dd_event **out, char **cause);

/* event_json_parse() + event_from_json() for a message holding one object. */
dd_err event_parse_json(const char *buf, size_t len, const event_limits *lim,
                        const struct schema *sch, dd_event **out, char **cause);

/* True when buf holds valid UTF-8 with no NUL byte (the parser's own check). */
bool event_utf8_valid(const char *buf, size_t len);

/* Set the event time to t when the message carried none. */
void event_default_ts(dd_event *ev, double t);

/* The feature named name, or NULL. O(nfeat). */
const dd_feature *event_find(const dd_event *ev, const char *name);

void event_free(dd_event *ev);

#endif
