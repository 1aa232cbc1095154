/*
 * config.c: the settings table and its readers (see config.h).
 */
#define INI_HANDLER_LINENO 1
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_MAX_FILE (1u << 20)
#define CONFIG_MAX_LINE 199 /* inih silently splits longer lines (INI_MAX_LINE 200) */

typedef enum ctype { CT_U32, CT_DOUBLE, CT_BOOL, CT_STR, CT_ENUM, CT_SPEED, CT_LIST } ctype;

typedef struct setting {
    const char *section, *key;
    ctype type;
    size_t offset, size;
    double min, max;
    const char *const *names; /* CT_ENUM: NULL-terminated, index = value */
    const char *def;
    const char *help;
} setting;

#define OFF(field) offsetof(dd_config, field)
#define U32(s, k, f, lo, hi, d, h)                                                                 \
    {                                                                                              \
        s, k, CT_U32, OFF(f), 0, lo, hi, NULL, d, h                                                \
    }
#define DBL(s, k, f, lo, hi, d, h)                                                                 \
    {                                                                                              \
        s, k, CT_DOUBLE, OFF(f), 0, lo, hi, NULL, d, h                                             \
    }
#define BOOL(s, k, f, d, h)                                                                        \
    {                                                                                              \
        s, k, CT_BOOL, OFF(f), 0, 0, 1, NULL, d, h                                                 \
    }
#define STR(s, k, f, d, h)                                                                         \
    {                                                                                              \
        s, k, CT_STR, OFF(f), sizeof(((dd_config *)0)->f), 0, 0, NULL, d, h                        \
    }
#define ENUM(s, k, f, n, d, h)                                                                     \
    {                                                                                              \
        s, k, CT_ENUM, OFF(f), 0, 0, 0, n, d, h                                                    \
    }
/* A comma-separated list; setting it again appends (long lists span lines). */
#define LIST(s, k, f, d, h)                                                                        \
    {                                                                                              \
        s, k, CT_LIST, OFF(f), sizeof(((dd_config *)0)->f), 0, 0, NULL, d, h                       \
    }

static const char *const task_names[] = {"binary", "multiclass", "regression", NULL};
static const char *const kind_names[] = {"linear", "mlp", NULL};
static const char *const optim_names[] = {"sgd", "adagrad", "adam", "ftrl", NULL};
static const char *const schedule_names[] = {"constant", "invscaling", "invtime", NULL};
static const char *const loss_names[] = {"squared", "huber", NULL};
static const char *const act_names[] = {"relu", "tanh", NULL};
static const char *const gov_mode_names[] = {"continuous", "gated", NULL};
static const char *const approval_names[] = {"auto", "threshold", "operator", NULL};
static const char *const candidate_names[] = {"clone", "fresh", NULL};
static const char *const flow_names[] = {"block", "drop-oldest", NULL};
static const char *const sink_policy_names[] = {"drop", "block", NULL};
static const char *const replay_mode_names[] = {"reservoir", "prioritized", NULL};
static const char *const replay_insert_names[] = {"reservoir", "fifo", NULL};
static const char *const replay_drift_names[] = {"drop", "decay", "keep", NULL};
static const char *const ewc_drift_names[] = {"keep", "reset", NULL};
static const char *const label_type_names[] = {"auto", "number", "class", "regression", NULL};
static const char *const ts_unit_names[] = {"s", "ms", "us", "ns", NULL};

static const char *const embed_names[] = {"features", "ngram", "carried", "mlp", NULL};
static const char *const space_names[] = {"cosine", "ip", "l2", NULL};
static const char *const kfilter_names[] = {"all", "field", "labelled", NULL};
static const char *const kpolicy_names[] = {"block", "drop-oldest", "every-k", NULL};

static const setting settings[] = {
    /* [run] */
    STR("run", "source", source, "",
        "stream to read: file:PATH, -, ws://HOST:PORT/PATH, wss://..., kafka://...; "
        "empty = the bundled demo stream"),
    {"run", "speed", CT_SPEED, OFF(speed), 0, 0, 1e6, NULL, "auto",
     "replay pace: max, or a factor of recorded time such as 0.5x, 1x, 10x; "
     "auto = max headless, 1x in the console"},
    STR("run", "workspace", workspace, ".", "directory holding the database and logs"),
    U32("run", "queue_capacity", queue_capacity, 1, 1 << 20, "4096",
        "events buffered between the sources and the worker"),
    DBL("run", "status_interval", status_interval, 0.01, 3600, "1",
        "seconds between headless status lines"),

    /* [kstore] */
    BOOL("kstore", "enabled", kstore_enabled, "false",
         "keep a vector index of the stream in WORKSPACE/kstore.db (knowledge store)"),
    ENUM("kstore", "embedding", kstore.embed.kind, embed_names, "ngram",
         "features (hashed, frozen standardization), ngram (hashed character n-grams of "
         "text_field), carried (the event's emb vector), mlp (the last hidden layer of a "
         "frozen copy of the active model; needs [model] kind = mlp)"),
    U32("kstore", "dim", kstore.embed.dim, 1, 4096, "64",
        "embedding dimension (mlp: the model's last hidden width, this is ignored)"),
    STR("kstore", "text_field", kstore.embed.text_field, "text",
        "ngram: the event's text, or the name of a string feature"),
    U32("kstore", "ngram_min", kstore.embed.ngram_min, 1, 8, "3", "ngram: shortest n-gram"),
    U32("kstore", "ngram_max", kstore.embed.ngram_max, 1, 8, "4", "ngram: longest n-gram"),
    ENUM("kstore", "space", kstore.space, space_names, "cosine", "cosine, ip or l2"),
    U32("kstore", "m", kstore.m, 2, 256, "16", "HNSW graph degree M"),
    U32("kstore", "ef_construction", kstore.ef_construction, 1, 4096, "100",
        "HNSW candidate list while inserting"),
    U32("kstore", "ef_search", kstore.ef_search, 1, 4096, "100",
        "HNSW candidate list while searching (recall against latency)"),
    ENUM("kstore", "filter", kstore.filter, kfilter_names, "all",
         "which events go in: all, field (filter_field = filter_value), labelled"),
    STR("kstore", "filter_field", kstore.filter_field, "", "filter = field: the feature"),
    STR("kstore", "filter_value", kstore.filter_value, "", "filter = field: its value"),
    ENUM("kstore", "policy", kstore.policy, kpolicy_names, "drop-oldest",
         "when the indexer falls behind: block the worker, drop-oldest (counted), "
         "every-k (index every k-th event)"),
    U32("kstore", "every_k", kstore.every_k, 1, 1000000, "10", "policy = every-k: k"),
    U32("kstore", "queue_capacity", kstore.queue_capacity, 1, 1 << 20, "4096",
        "events waiting for the indexer"),
    U32("kstore", "batch", kstore.batch, 1, 1024, "256", "events per SQLite transaction"),
    DBL("kstore", "max_age", kstore.max_age, 0, 1e12, "0",
        "seconds of event time an entry lives (0 = forever)"),
    U32("kstore", "max_entries", kstore.max_entries, 0, 4000000000u, "100000",
        "capacity; the oldest entries expire first (0 = unbounded; 100 000 at d=64 is "
        "about 46 MiB of index)"),
    DBL("kstore", "compact_ratio", kstore.compact_ratio, 0.01, 1, "0.25",
        "rebuild the index when deleted slots exceed this share"),
    U32("kstore", "compact_min", kstore.compact_min, 1, 1u << 30, "1024",
        "... and at least this many deleted slots"),
    U32("kstore", "warmup", kstore.warmup, 2, 1000000, "1000",
        "embedding = features: events whose statistics are frozen"),
    BOOL("kstore", "renew_on_drift", kstore.renew_on_drift, "true",
         "embedding = features: after a confirmed concept drift, refreeze the statistics from "
         "the next warmup events and re-embed the store"),

    /* [serve] */
    STR("serve", "address", serve, "",
        "HOST:PORT of the knowledge store's HTTP endpoint (\"\" = off); "
        "off loopback a token is required"),
    STR("serve", "token_file", token_file, "",
        "file (mode 0600) holding the bearer token; $DRIFTDECK_TOKEN wins"),

    /* [features] */
    U32("features", "hash_bits", pipe.feat.hash_bits, 0, 24, "0",
        "categorical values are hashed into 2^hash_bits inputs (4..24); 0 = auto: 18 for a "
        "linear model, 12 for an MLP, whose first layer is dense over all inputs"),
    U32("features", "max_numeric", pipe.feat.max_numeric, 1, 65536, "256",
        "numeric features with their own running statistics; more are hashed"),
    BOOL("features", "standardize", pipe.feat.standardize, "true",
         "standardize numeric features online (Welford)"),
    DBL("features", "clip", pipe.feat.clip, 1e-3, 1e6, "5",
        "standardized values are clipped to +-clip"),
    BOOL("features", "missing_indicators", pipe.feat.missing_indicators, "true",
         "add an indicator input for each missing (null) numeric value"),

    /* [model] */
    ENUM("model", "task", pipe.model.task, task_names, "binary", "what the label is"),
    ENUM("model", "kind", pipe.model.kind, kind_names, "linear", "linear model or small MLP"),
    ENUM("model", "optimizer", pipe.model.optim, optim_names, "sgd", "optimizer"),
    DBL("model", "lr", pipe.model.lr, 1e-9, 100, "0.05", "learning rate (FTRL: alpha)"),
    ENUM("model", "schedule", pipe.model.schedule, schedule_names, "invtime",
         "SGD learning-rate schedule"),
    DBL("model", "l1", pipe.model.l1, 0, 100, "0", "L1 penalty on weights"),
    DBL("model", "l2", pipe.model.l2, 0, 100, "0", "L2 penalty on weights"),
    ENUM("model", "loss", pipe.model.loss, loss_names, "squared", "regression loss"),
    DBL("model", "huber_delta", pipe.model.huber_delta, 1e-6, 1e6, "1", "Huber loss threshold"),
    U32("model", "hidden", pipe.model.hidden[0], 1, 256, "16", "MLP: width of hidden layer 1"),
    U32("model", "hidden_layers", pipe.model.n_hidden, 1, 2, "1", "MLP: hidden layers"),
    ENUM("model", "activation", pipe.model.activation, act_names, "relu", "MLP activation"),
    U32("model", "max_classes", pipe.model.max_classes, 2, 256, "64",
        "multiclass: classes beyond this are refused (counted)"),
    /* [model] (learning layer) */
    DBL("model", "lr_power", pipe.model.lr_power, 0, 1, "0.25", "invscaling: lr / t^power"),
    DBL("model", "lr_decay", pipe.model.lr_decay, 0, 1, "0.001", "invtime: lr / (1 + decay t)"),
    DBL("model", "lr_min", pipe.model.lr_min, 0, 100, "0.01",
        "schedules never take the learning rate below this"),
    DBL("model", "adam_beta1", pipe.model.adam_beta1, 0, 0.999999, "0.9", "Adam: first moment"),
    DBL("model", "adam_beta2", pipe.model.adam_beta2, 0, 0.999999, "0.999", "Adam: second moment"),
    DBL("model", "eps", pipe.model.eps, 1e-12, 1, "1e-08", "AdaGrad/Adam denominator guard"),
    DBL("model", "ftrl_beta", pipe.model.ftrl_beta, 0, 100, "1", "FTRL-Proximal beta"),
    DBL("model", "grad_clip", pipe.model.grad_clip, 0, 1e6, "0",
        "clip the output gradient to +-this; 0 = off"),
    U32("model", "hidden2", pipe.model.hidden[1], 1, 256, "16", "MLP: width of hidden layer 2"),
    U32("model", "max_columns", pipe.model.max_columns, 1, 8, "1",
        "progressive MLP: columns (1 = plain MLP); a new one per confirmed drift"),
    DBL("model", "column_decay", pipe.model.column_decay, 0.5, 0.999999, "0.99",
        "progressive MLP: rolling-loss factor per event for choosing the column"),
    DBL("model", "ewc_lambda", pipe.model.ewc_lambda, 0, 1e6, "0.1",
        "EWC penalty strength (0 = off); acts after the first consolidation"),
    DBL("model", "ewc_gamma", pipe.model.ewc_gamma, 0, 1, "0.9",
        "online EWC: weight of the old Fisher at each consolidation"),

    /* [learn] */
    BOOL("learn", "replay", pipe.learn.replay_on, "true", "experience replay"),
    U32("learn", "replay_k", pipe.learn.replay_k, 0, 16, "2", "replayed events per new event"),
    U32("learn", "replay_capacity", pipe.learn.replay.capacity, 1, 1u << 24, "10000",
        "events the replay buffer holds"),
    ENUM("learn", "replay_mode", pipe.learn.replay.mode, replay_mode_names, "prioritized",
         "how replayed events are drawn"),
    ENUM("learn", "replay_insert", pipe.learn.replay.insert, replay_insert_names, "reservoir",
         "which events the buffer keeps"),
    BOOL("learn", "replay_stratify", pipe.learn.replay.stratify, "false",
         "class-balanced reservoir"),
    DBL("learn", "replay_alpha", pipe.learn.replay.alpha, 0, 1, "0.3", "priority exponent"),
    DBL("learn", "replay_beta", pipe.learn.replay.beta, 0, 1, "0.4",
        "initial importance-sampling exponent, annealed to 1"),
    U32("learn", "replay_beta_steps", pipe.learn.replay.beta_steps, 0, 4000000000u, "2000",
        "replay draws over which beta anneals to 1 (0 = 1 at once)"),
    DBL("learn", "replay_eps", pipe.learn.replay.eps, 1e-9, 10, "0.01", "priority = |loss| + eps"),
    ENUM("learn", "replay_on_drift", pipe.learn.replay.on_drift, replay_drift_names, "drop",
         "entries from before a confirmed drift: drop, decay or keep (tagged)"),
    DBL("learn", "replay_drift_decay", pipe.learn.replay.drift_decay, 0, 1, "0.1",
        "replay_on_drift = decay: priority multiplier"),
    U32("learn", "consolidate_every", pipe.learn.consolidate_every, 1, 1u << 30, "1000",
        "EWC consolidates after this many events with no alarm"),
    ENUM("learn", "ewc_on_drift", pipe.learn.ewc_on_drift, ewc_drift_names, "reset",
         "on a confirmed drift, EWC keeps or forgets what it protects"),
    BOOL("learn", "class_weights", pipe.learn.class_weights, "false",
         "inverse-frequency sample weights from online class counts"),
    DBL("learn", "class_weight_max", pipe.learn.class_weight_max, 1, 1e6, "10",
        "class weights are clipped to [1/max, max]"),
    BOOL("learn", "reset_schedule_on_drift", pipe.learn.reset_schedule_on_drift, "true",
         "restart the SGD learning-rate schedule on a confirmed drift"),

    /* [eval] */
    U32("eval", "rolling_window", pipe.rolling_window, 1, 1000000, "1000",
        "events in the rolling accuracy / error"),
    U32("eval", "pending_capacity", pipe.pending.capacity, 1, 1u << 26, "100000",
        "unlabelled events held for a delayed label; the oldest is evicted (counted)"),
    DBL("eval", "pending_max_age", pipe.pending.max_age, 0, 1e9, "86400",
        "seconds of event time a held event waits for its label; 0 = no limit"),
    U32("eval", "pending_max_events", pipe.pending.max_events, 0, 4000000000u, "0",
        "events after which a held event expires; 0 = no limit"),

    /* [drift] */
    STR("drift", "error_detector", pipe.watch.error.detector, "adwin",
        "detector on the error stream (concept drift): adwin, pagehinkley, ddm, eddm, kswin, "
        "none"),
    STR("drift", "error_params", pipe.watch.error.params, "delta=0.002",
        "its parameters: name=value, ... (`driftdeck detect --help` lists them)"),
    STR("drift", "prediction_detector", pipe.watch.prediction.detector, "pagehinkley",
        "detector on the predicted probability or value (output drift), or none"),
    STR("drift", "prediction_params", pipe.watch.prediction.params,
        "delta=0.1, threshold=50, alpha=1",
        "its parameters: name=value, ... (for standardized values)"),
    BOOL("drift", "prediction_standardize", pipe.watch.prediction.standardize, "true",
         "feed the detector z-scores by the prediction's running mean and deviation"),
    U32("drift", "prediction_quiet", pipe.watch.prediction.quiet, 0, 4000000000.0, "1000",
        "events after a prediction alert during which alerts of that level are held back"),
    STR("drift", "feature_detector", pipe.watch.feature.detector, "pagehinkley",
        "detector on each numeric feature (data drift): pagehinkley, kswin, ..., or none"),
    STR("drift", "feature_params", pipe.watch.feature.params, "delta=0.1, threshold=50, alpha=1",
        "its parameters: name=value, ... (for standardized values)"),
    BOOL("drift", "feature_standardize", pipe.watch.feature.standardize, "true",
         "feed each feature's detector z-scores by its running mean and deviation"),
    U32("drift", "feature_quiet", pipe.watch.feature.quiet, 0, 4000000000.0, "1000",
        "events after a feature's alert during which its alerts of that level are held back"),
    U32("drift", "max_features", pipe.watch.max_features, 0, 65536, "64",
        "numeric features with a drift detector of their own; others are counted, not watched"),

    /* [govern] (doc/REGISTRY.md, core/policy.h) */
    ENUM("govern", "mode", govern.mode, gov_mode_names, "continuous",
         "continuous: the active model learns online; gated: it is frozen and a challenger "
         "learns"),
    U32("govern", "checkpoint_every", govern.checkpoint_every, 1, 1u << 30, "10000",
        "events between checkpoints (resume points)"),
    U32("govern", "keep_checkpoints", keep_checkpoints, 1, 1000000, "5",
        "checkpoints kept in the database"),
    U32("govern", "metrics_every", govern.metrics_every, 1, 1u << 30, "200",
        "events between metrics rows"),
    U32("govern", "rolling_window", govern.rolling_window, 10, 1000000, "500",
        "labelled events in the governance rolling accuracy"),
    U32("govern", "shadow_window", govern.shadow_window, 10, 1000000, "300",
        "paired labelled events a challenger is compared on"),
    DBL("govern", "shadow_margin", govern.shadow_margin, 0, 0.999, "0.02",
        "accuracy a challenger must gain over the active version"),
    U32("govern", "shadow_max", govern.shadow_max, 1, 1u << 30, "5000",
        "labelled events in shadow before a challenger that never won is rejected"),
    ENUM("govern", "approval", govern.approval, approval_names, "threshold",
         "auto (--auto-approve), threshold (approve_threshold), operator (the console)"),
    DBL("govern", "approve_threshold", govern.approve_threshold, 0, 1, "0.05",
        "threshold approval: the advantage needed"),
    DBL("govern", "canary_share", govern.canary_share, 0.001, 0.999, "0.2",
        "share of events a canary serves (by event id hash)"),
    U32("govern", "canary_window", govern.canary_window, 1, 1u << 30, "100",
        "labelled canary-served events before promotion"),
    DBL("govern", "canary_tolerance", govern.canary_tolerance, 0, 0.999, "0.02",
        "a canary may trail the active version by this"),
    U32("govern", "rollback_watch", govern.rollback_watch, 1, 1u << 30, "2000",
        "events after a promotion during which rollback triggers watch"),
    U32("govern", "rollback_min", govern.rollback_min, 1, 1u << 30, "200",
        "labelled events after a promotion before the accuracy trigger"),
    DBL("govern", "rollback_margin", govern.rollback_margin, 0, 0.999, "0.05",
        "roll back when accuracy falls this far below the previous version's"),
    DBL("govern", "fairness_max_gap", govern.fairness_max_gap, 0.001, 1, "1",
        "roll back when group accuracies differ by more (1 = off)"),
    U32("govern", "fairness_min", govern.fairness_min, 1, 1u << 30, "50",
        "labelled events a group needs to count"),
    ENUM("govern", "candidate", candidate, candidate_names, "clone",
         "a drift candidate is a clone of the active model or a fresh one"),
    STR("govern", "audit_key_file", audit_key_file, "",
        "HMAC key for audit entries (mode 0600); empty = hash chain only"),
    /* [schema]: where an event's parts are in a message (core/schema.h) */
    STR("schema", "features", schema.features, "",
        "the features: empty = x when present, else every top-level field but the roles; "
        "\".\" = top level; or a dotted path to an object"),
    STR("schema", "id", schema.field[SCHEMA_ID], "",
        "dotted path of the event id; empty = \"id\"; \"-\" = none"),
    STR("schema", "ts", schema.field[SCHEMA_TS], "",
        "dotted path of the event time (number or ISO 8601); empty = ts, time or timestamp"),
    ENUM("schema", "ts_unit", schema.ts_unit, ts_unit_names, "s", "unit of numeric times"),
    STR("schema", "label", schema.field[SCHEMA_LABEL], "",
        "dotted path of the label; empty = y, label or target"),
    ENUM("schema", "label_type", schema.label_type, label_type_names, "auto",
         "auto: numbers and strings as they come; number; class (names); regression"),
    STR("schema", "group", schema.field[SCHEMA_GROUP], "",
        "dotted path of the group (per-group metrics); empty = \"group\""),
    STR("schema", "text", schema.field[SCHEMA_TEXT], "",
        "dotted path of the text (knowledge store); empty = \"text\""),
    STR("schema", "embedding", schema.field[SCHEMA_EMB], "",
        "dotted path of a carried embedding (array of numbers); empty = \"emb\""),
    STR("schema", "op", schema.field[SCHEMA_OP], "",
        "dotted path of the operation (upsert or delete); empty = \"op\""),
    LIST("schema", "include", schema.include, "",
         "features to keep by flattened name (a name covers a.*, pre* a prefix); empty = all"),
    LIST("schema", "exclude", schema.exclude, "", "features to leave out (same forms)"),

    /* [limits] */
    U32("limits", "max_message_bytes", limits.max_bytes, 64, 1u << 30, "1048576",
        "a larger message is dropped, counted and dead-lettered"),
    U32("limits", "max_depth", limits.max_depth, 2, 1000, "32", "JSON nesting depth"),
    U32("limits", "max_features", limits.max_features, 1, 1u << 20, "4096",
        "features in one event"),
    U32("limits", "max_string", limits.max_string, 1, 1u << 30, "65536",
        "bytes in one string value or name"),
    U32("limits", "deadletter_max_bytes", deadletter_max_bytes, 1024, 4294967295.0, "67108864",
        "the dead-letter file is rotated to FILE.1 past this size (two files at most)"),
    DBL("limits", "max_future_seconds", pipe.max_future, 0, 1e9, "3600",
        "an event time further ahead of the latest one seen is taken as latest + this "
        "(counted); 0 = no check"),

    /* [ws] */
    ENUM("ws", "flow", ws_flow, flow_names, "block",
         "when the worker falls behind: block (stop reading, no loss) or drop-oldest (counted)"),
    DBL("ws", "ping_interval", ws_ping_interval, 0.05, 86400, "20",
        "seconds of silence before a ping"),
    DBL("ws", "ping_timeout", ws_ping_timeout, 0.05, 86400, "10",
        "seconds more without data or pong before reconnecting"),
    DBL("ws", "connect_timeout", ws_connect_timeout, 1, 3600, "10",
        "seconds for connect, TLS and handshake"),
    DBL("ws", "backoff_min", ws_backoff_min, 0.01, 3600, "0.5", "first reconnect delay (s)"),
    DBL("ws", "backoff_max", ws_backoff_max, 0.01, 86400, "30", "longest reconnect delay (s)"),
    U32("ws", "max_attempts", ws_max_attempts, 0, 1000000000, "0",
        "failed attempts in a row before giving up; 0 = never"),
    BOOL("ws", "reconnect", ws_reconnect, "true",
         "reconnect after a close (false: the stream ends)"),
    BOOL("ws", "insecure", ws_insecure, "false",
         "wss: do NOT verify the server certificate (warned on stderr)"),
    STR("ws", "ca_file", ws_ca_file, "", "wss: CA bundle (PEM); empty = the system's"),
    STR("ws", "subprotocol", ws_subprotocol, "", "Sec-WebSocket-Protocol to ask for"),
    STR("ws", "record", ws_record, "",
        "also write every message received to this recording (replay: --source file:PATH)"),
    STR("ws", "header_file", ws_header_file, "",
        "file of extra handshake headers ('Name: value' lines); else $DRIFTDECK_WS_HEADERS"),

    /* [sink] */
    STR("sink", "predictions", sink_predictions, "",
        "where every prediction goes: empty, or a comma list of ws, file, stdout, kafka"),
    STR("sink", "file", sink_file, "predictions.jsonl", "the JSON Lines file of the file sink"),
    STR("sink", "kafka", sink_kafka, "", "the topic of the kafka sink: kafka://BROKERS/TOPIC"),
    U32("sink", "queue_capacity", sink_queue_capacity, 1, 1 << 22, "65536",
        "predictions buffered per sink"),
    ENUM("sink", "policy", sink_policy, sink_policy_names, "drop",
         "a full sink queue: drop (counted) or block the worker"),
};

static const setting *find(const char *section, const char *key)
{
    for (size_t i = 0; i < DD_ARRAY_LEN(settings); i++)
        if (!strcmp(settings[i].section, section) && !strcmp(settings[i].key, key))
            return &settings[i];
    return NULL;
}

static bool known_section(const char *section)
{
    for (size_t i = 0; i < DD_ARRAY_LEN(settings); i++)
        if (!strcmp(settings[i].section, section))
            return true;
    return false;
}

static dd_err parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(d))
        return DD_EINVAL;
    *out = d;
    return DD_OK;
}

static dd_err set_enum(const setting *s, void *at, const char *v, char **cause)
{
    for (int i = 0; s->names[i]; i++) {
        if (!strcmp(v, s->names[i])) {
            *(int *)at = i;
            return DD_OK;
        }
    }
    char allowed[256] = "";
    size_t n = 0;
    for (int i = 0; s->names[i] && n < sizeof allowed; i++)
        n += (size_t)snprintf(allowed + n, sizeof allowed - n, "%s%s", i ? ", " : "", s->names[i]);
    return dd_fail(cause, DD_EINVAL, "[%s] %s = %s: must be one of %s", s->section, s->key, v,
                   allowed);
}

static dd_err set_speed(const setting *s, double *at, const char *v, char **cause)
{
    if (!strcmp(v, "max")) {
        *at = 0;
        return DD_OK;
    }
    if (!strcmp(v, "auto")) {
        *at = -1;
        return DD_OK;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%s", v);
    size_t n = strlen(buf);
    if (n && (buf[n - 1] == 'x' || buf[n - 1] == 'X'))
        buf[n - 1] = '\0';
    double d;
    if (parse_double(buf, &d) || d <= 0 || d > s->max)
        return dd_fail(cause, DD_EINVAL,
                       "[%s] %s = %s: must be max, auto, or a factor in (0, 1e6] such as 1x",
                       s->section, s->key, v);
    *at = d;
    return DD_OK;
}

/* A string --print-config can write so that config_load() reads it back the
 * same: inih strips white space (isspace()) around a value and starts comments at ';' and
 * '#', and CONFIG_MAX_LINE bounds the "key = value" line. */
static bool ini_printable(const char *key, const char *v)
{
    size_t n = strlen(v);
    if (strlen(key) + 3 + n > CONFIG_MAX_LINE)
        return false;
    /* inih trims with isspace(): form feed and vertical tab too */
    if (n && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1])))
        return false;
    return strpbrk(v, ";#\r\n") == NULL;
}

static dd_err set_one(const setting *s, dd_config *cfg, const char *v, char **cause)
{
    void *at = (char *)cfg + s->offset;
    double d;
    switch (s->type) {
    case CT_U32:
        if (parse_double(v, &d) || d != floor(d) || d < s->min || d > s->max)
            return dd_fail(cause, DD_EINVAL, "[%s] %s = %s: must be a whole number in %.0f..%.0f",
                           s->section, s->key, v, s->min, s->max);
        *(uint32_t *)at = (uint32_t)d;
        return DD_OK;
    case CT_DOUBLE:
        if (parse_double(v, &d) || d < s->min || d > s->max)
            return dd_fail(cause, DD_EINVAL, "[%s] %s = %s: must be a number in [%g, %g]",
                           s->section, s->key, v, s->min, s->max);
        *(double *)at = d;
        return DD_OK;
    case CT_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
            *(bool *)at = true;
        else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0"))
            *(bool *)at = false;
        else
            return dd_fail(cause, DD_EINVAL, "[%s] %s = %s: must be true or false", s->section,
                           s->key, v);
        return DD_OK;
    case CT_STR:
        if (strlen(v) >= s->size)
            return dd_fail(cause, DD_EINVAL, "[%s] %s: longer than %zu bytes", s->section, s->key,
                           s->size - 1);
        if (!ini_printable(s->key, v))
            return dd_fail(cause, DD_EINVAL,
                           "[%s] %s: a value must fit on one %d-character 'key = value' line, "
                           "without leading or trailing blanks, ';' or '#'",
                           s->section, s->key, CONFIG_MAX_LINE);
        memcpy(at, v, strlen(v) + 1);
        return DD_OK;
    case CT_ENUM:
        return set_enum(s, at, v, cause);
    case CT_SPEED:
        return set_speed(s, at, v, cause);
    case CT_LIST: {
        size_t have = strlen(at), n = strlen(v);
        if (n == 0)
            return DD_OK;
        if (have + n + 2 > s->size)
            return dd_fail(cause, DD_EINVAL, "[%s] %s: list longer than %zu bytes", s->section,
                           s->key, s->size - 1);
        if (have)
            ((char *)at)[have++] = ',';
        memcpy((char *)at + have, v, n + 1);
        return DD_OK;
    }
    }
    return DD_EINVAL;
}

void config_defaults(dd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    pipeline_params_default(&cfg->pipe); /* fields that have no row keep these */
    cfg->kstore = kstore_params_default();
    for (size_t i = 0; i < DD_ARRAY_LEN(settings); i++) {
        dd_err err = set_one(&settings[i], cfg, settings[i].def, NULL);
        (void)err;
    }
}

dd_err config_set_value(dd_config *cfg, const char *section, const char *key, const char *value,
                        char **cause)
{
    const setting *s = find(section, key);
    if (!s) {
        if (!known_section(section))
            return dd_fail(cause, DD_EINVAL, "unknown section [%s]", section);
        return dd_fail(cause, DD_EINVAL, "unknown key '%s' in [%s] (see --help-config)", key,
                       section);
    }
    return set_one(s, cfg, value, cause);
}

dd_err config_set(dd_config *cfg, const char *assignment, char **cause)
{
    const char *dot = strchr(assignment, '.');
    const char *eq = strchr(assignment, '=');
    if (!dot || !eq || dot > eq)
        return dd_fail(cause, DD_EINVAL, "--set wants section.key=value, got '%s'", assignment);
    char section[64], key[64];
    size_t ls = (size_t)(dot - assignment), lk = (size_t)(eq - dot - 1);
    if (ls >= sizeof section || lk >= sizeof key)
        return dd_fail(cause, DD_EINVAL, "--set: name too long in '%s'", assignment);
    memcpy(section, assignment, ls);
    section[ls] = '\0';
    memcpy(key, dot + 1, lk);
    key[lk] = '\0';
    return config_set_value(cfg, section, key, eq + 1, cause);
}

typedef struct load_ctx {
    dd_config *cfg;
    const char *path;
    char *cause; /* the first error */
    dd_err err;
    char section[64];
} load_ctx;

static int on_entry(void *user, const char *section, const char *key, const char *value, int line)
{
    load_ctx *c = user;
    if (c->err)
        return 1; /* keep the first error; inih goes on parsing regardless */
    char *why = NULL;
    if (!key) { /* a section header alone (INI_CALL_HANDLER_ON_NEW_SECTION) */
        if (!known_section(section)) {
            c->err = DD_EINVAL;
            dd_fail(&c->cause, c->err, "%s:%d: unknown section [%s]", c->path, line, section);
        }
        return 1;
    }
    if (!*section) {
        c->err = DD_EINVAL;
        dd_fail(&c->cause, c->err, "%s:%d: '%s' is outside any [section]", c->path, line, key);
        return 1;
    }
    c->err = config_set_value(c->cfg, section, key, value, &why);
    if (c->err)
        dd_fail(&c->cause, c->err, "%s:%d: %s", c->path, line, why ? why : "invalid");
    free(why);
    return 1;
}

/* Read the whole file (bounded) and refuse lines inih would split. */
static dd_err read_text(const char *path, char **out, char **cause)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dd_fail(cause, DD_EIO, "%s: %s", path, strerror(errno));
    char *buf = malloc(CONFIG_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, CONFIG_MAX_FILE + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad || n > CONFIG_MAX_FILE) {
        free(buf);
        return dd_fail(cause, DD_EIO, "%s: %s", path,
                       !buf  ? "out of memory"
                       : bad ? "read error"
                             : "larger than 1 MiB");
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        free(buf);
        return dd_fail(cause, DD_EPARSE, "%s: contains a NUL byte", path);
    }
    int line = 1;
    size_t len = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || buf[i] == '\n') {
            if (len > CONFIG_MAX_LINE) {
                free(buf);
                return dd_fail(cause, DD_EPARSE, "%s:%d: line longer than %d characters", path,
                               line, CONFIG_MAX_LINE);
            }
            line++;
            len = 0;
        } else {
            len++;
        }
    }
    *out = buf;
    return DD_OK;
}

dd_err config_load(dd_config *cfg, const char *path, char **cause)
{
    char *text = NULL;
    dd_err err = read_text(path, &text, cause);
    if (err)
        return err;
    load_ctx c = {.cfg = cfg, .path = path};
    int line = ini_parse_string(text, on_entry, &c);
    free(text);
    if (c.err) {
        if (cause) {
            free(*cause);
            *cause = c.cause;
        } else {
            free(c.cause);
        }
        return c.err;
    }
    if (line != 0)
        return dd_fail(cause, DD_EPARSE, "%s:%d: not a section, key = value, or comment", path,
                       line);
    snprintf(cfg->config_path, sizeof cfg->config_path, "%s", path);
    return DD_OK;
}

dd_err config_check(const dd_config *cfg, char **cause)
{
    dd_err err = featpipe_params_check(&cfg->pipe.feat, cause);
    if (!err)
        err = model_params_check(&cfg->pipe.model, cause);
    if (!err)
        err = learner_params_check(&cfg->pipe.learn, cause);
    if (!err) { /* the schema's paths and lists compile */
        schema *sch = schema_new(&cfg->schema, cause);
        err = sch ? DD_OK : DD_EINVAL;
        schema_free(sch);
    }
    char *why = NULL;
    if (!err && watch_params_check(&cfg->pipe.watch, &why) != DD_OK) {
        err = dd_fail(cause, DD_EINVAL, "[drift] %s", why ? why : "bad watch point");
        free(why);
    }
    if (!err && policy_params_check(&cfg->govern, cause))
        err = DD_EINVAL;
    if (!err && (cfg->kstore_enabled || cfg->serve[0]) && cfg->kstore.embed.kind == EMBED_MLP &&
        cfg->pipe.model.kind != MODEL_MLP)
        err = dd_fail(cause, DD_EINVAL,
                      "[kstore] embedding = mlp needs [model] kind = mlp (the model is %s): the "
                      "vectors are the MLP's last hidden layer",
                      model_kind_name(cfg->pipe.model.kind));
    return err;
}

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

bool config_default_path(char *buf, size_t n)
{
    if (file_exists("driftdeck.ini")) {
        snprintf(buf, n, "driftdeck.ini");
        return true;
    }
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(buf, n, "%s/driftdeck/driftdeck.ini", xdg);
    else if (home && *home)
        snprintf(buf, n, "%s/.config/driftdeck/driftdeck.ini", home);
    else
        return false;
    return file_exists(buf);
}

static void format_value(const setting *s, const dd_config *cfg, char *buf, size_t n)
{
    const void *at = (const char *)cfg + s->offset;
    switch (s->type) {
    case CT_U32:
        snprintf(buf, n, "%u", *(const uint32_t *)at);
        break;
    case CT_DOUBLE: {
        double d = *(const double *)at;
        snprintf(buf, n, "%.15g", d);
        if (strtod(buf, NULL) != d)
            snprintf(buf, n, "%.17g", d);
        break;
    }
    case CT_BOOL:
        snprintf(buf, n, "%s", *(const bool *)at ? "true" : "false");
        break;
    case CT_STR:
    case CT_LIST:
        snprintf(buf, n, "%s", (const char *)at);
        break;
    case CT_ENUM:
        snprintf(buf, n, "%s", s->names[*(const int *)at]);
        break;
    case CT_SPEED: {
        double d = *(const double *)at;
        if (d < 0)
            snprintf(buf, n, "auto");
        else if (d == 0)
            snprintf(buf, n, "max");
        else
            snprintf(buf, n, "%gx", d);
        break;
    }
    }
}

/* A list as repeated "key = a,b" lines, each under inih's line limit. */
static void print_list(FILE *out, const char *key, const char *v)
{
    if (!*v) {
        fprintf(out, "%s =\n", key);
        return;
    }
    while (*v) {
        size_t take = strlen(v), cut = 0;
        if (take > 150) {
            for (size_t i = 0; i < 150; i++)
                if (v[i] == ',')
                    cut = i;
            take = cut ? cut : take;
        }
        fprintf(out, "%s = %.*s\n", key, (int)take, v);
        v += take;
        if (*v == ',')
            v++;
    }
}

void config_print(const dd_config *cfg, FILE *out)
{
    const char *section = NULL;
    if (cfg->config_path[0])
        fprintf(out, "# driftdeck effective configuration (file: %s)\n", cfg->config_path);
    else
        fprintf(out, "# driftdeck effective configuration (built-in defaults)\n");
    for (size_t i = 0; i < DD_ARRAY_LEN(settings); i++) {
        const setting *s = &settings[i];
        if (!section || strcmp(section, s->section) != 0) {
            section = s->section;
            fprintf(out, "\n[%s]\n", section);
        }
        char v[SCHEMA_LIST_MAX + 8];
        format_value(s, cfg, v, sizeof v);
        if (s->type == CT_LIST)
            print_list(out, s->key, v);
        else
            fprintf(out, "%s = %s\n", s->key, v);
    }
}

static const char *type_name(const setting *s, char *buf, size_t n)
{
    switch (s->type) {
    case CT_U32:
        snprintf(buf, n, "integer %.0f..%.0f", s->min, s->max);
        break;
    case CT_DOUBLE:
        snprintf(buf, n, "number %g..%g", s->min, s->max);
        break;
    case CT_BOOL:
        snprintf(buf, n, "true|false");
        break;
    case CT_STR:
        snprintf(buf, n, "text");
        break;
    case CT_LIST:
        snprintf(buf, n, "list a,b,... (repeat the key to add)");
        break;
    case CT_SPEED:
        snprintf(buf, n, "max|auto|FACTORx");
        break;
    case CT_ENUM: {
        size_t k = 0;
        buf[0] = '\0';
        for (int i = 0; s->names[i] && k < n; i++)
            k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? "|" : "", s->names[i]);
        break;
    }
    }
    return buf;
}

void config_print_help(FILE *out)
{
    fputs("driftdeck settings: [section] key (type, default): help\n"
          "Set them in the INI file, or with --set section.key=value.\n",
          out);
    const char *section = NULL;
    for (size_t i = 0; i < DD_ARRAY_LEN(settings); i++) {
        const setting *s = &settings[i];
        if (!section || strcmp(section, s->section) != 0) {
            section = s->section;
            fprintf(out, "\n[%s]\n", section);
        }
        char t[256];
        fprintf(out, "  %-20s %s, default %s\n  %20s %s\n", s->key, type_name(s, t, sizeof t),
                s->def[0] ? s->def : "\"\"", "", s->help);
    }
}
