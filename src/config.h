/*
 * config.h: every setting of driftdeck, in one table.
 *
 * A setting is a row: section, key, type, where it lives in dd_config, its
 * allowed range (or names), its built-in default and a line of help. The
 * INI file (read with inih), the command line (--set section.key=value and
 * the named options) and --print-config / --help-config all go through the
 * table, so a new setting is one row and one field. Defaults are applied by
 * the same setter as the file, so they are checked too.
 */
#ifndef DD_CONFIG_H
#define DD_CONFIG_H

#include "dd.h"
#include "event.h"
#include "kstore.h"
#include "pipeline.h"
#include "policy.h"
#include "schema.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_PATH_MAX 1024

typedef struct dd_config {
    pipeline_params pipe;          /* [features] [model] [drift] [eval] */
    event_limits limits;           /* [limits] */
    uint32_t deadletter_max_bytes; /* [limits]: the dead-letter file rotates past this */
    schema_params schema;          /* [schema] */
    /* [run] */
    char source[CONFIG_PATH_MAX]; /* "" = the bundled demo stream */
    double speed;                 /* replay pace factor; 0 = max; < 0 = by mode */
    char workspace[CONFIG_PATH_MAX];
    uint32_t queue_capacity;
    double status_interval;            /* seconds between headless status lines */
    char config_path[CONFIG_PATH_MAX]; /* the file that was read, "" if none */
    /* [govern] */
    policy_params govern;
    int candidate; /* governor_candidate */
    uint32_t keep_checkpoints;
    char audit_key_file[CONFIG_PATH_MAX]; /* "" = no HMAC on audit entries */
    /* [kstore] the knowledge store (issue 9) */
    bool kstore_enabled;
    kstore_params kstore;
    /* [serve] the knowledge store's HTTP endpoint */
    char serve[128]; /* HOST:PORT, "" = off */
    char token_file[CONFIG_PATH_MAX];
    /* [ws] the WebSocket source (src/source_ws.c, src/wsclient.h) */
    int ws_flow; /* ingest_flow: block, drop-oldest */
    double ws_ping_interval, ws_ping_timeout, ws_connect_timeout;
    double ws_backoff_min, ws_backoff_max;
    uint32_t ws_max_attempts;
    bool ws_reconnect, ws_insecure;
    char ws_ca_file[CONFIG_PATH_MAX];
    char ws_subprotocol[128];
    char ws_header_file[CONFIG_PATH_MAX];
    char ws_record[CONFIG_PATH_MAX]; /* "" none: the live session as a recording */
    /* [sink] where predictions go (src/sink.h) */
    char sink_predictions[64]; /* "" none, or a comma list of ws, file, stdout, kafka */
    char sink_file[CONFIG_PATH_MAX];
    char sink_kafka[CONFIG_PATH_MAX]; /* kafka://BROKERS/TOPIC of the kafka sink */
    uint32_t sink_queue_capacity;
    int sink_policy; /* sink_policy: drop, block */
} dd_config;

/* Fill cfg with every built-in default. Can't fail. */
void config_defaults(dd_config *cfg);

/* Read an INI file into cfg. DD_EIO if it cannot be read; DD_EINVAL or
 * DD_EPARSE with a cause "FILE:LINE: [section] key: what is allowed". */
dd_err config_load(dd_config *cfg, const char *path, char **cause);

/* Set one setting from "section.key=value" (the command line). */
dd_err config_set(dd_config *cfg, const char *assignment, char **cause);

/* Set one setting by section, key and value text. */
dd_err config_set_value(dd_config *cfg, const char *section, const char *key, const char *value,
                        char **cause);

/* Cross-field checks after everything is set (the modules' own checks). */
dd_err config_check(const dd_config *cfg, char **cause);

/* The file to read when --config is not given: ./driftdeck.ini if it exists,
 * else $XDG_CONFIG_HOME/driftdeck/driftdeck.ini (~/.config/...) if it exists.
 * Writes it to buf and returns true, or returns false for none. */
bool config_default_path(char *buf, size_t n);

/* The effective configuration as an INI file (every key, defaults included). */
void config_print(const dd_config *cfg, FILE *out);

/* Every key with its type, range, default and help. */
void config_print_help(FILE *out);

#endif
