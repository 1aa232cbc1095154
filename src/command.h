/*
 * command.h: what a console asks of the worker.
 *
 * A command is a small fixed-size value with no pointers: the console fills
 * one, cmd_dup()s it onto the heap and pushes it on the worker's command
 * queue (queue.h; ownership passes with it), or encodes it for the control
 * socket, where the instance decodes it, stamps the peer's user name on it
 * and pushes it on the same queue. The worker drains the queue between
 * events and answers through the snapshot (result_id, result_err,
 * result_text), so one protocol serves the in-process and the attached
 * console.
 */
#ifndef DD_COMMAND_H
#define DD_COMMAND_H

#include "dd.h"

#include <stddef.h>
#include <stdint.h>

typedef enum cmd_kind {
    CMD_PAUSE = 1,
    CMD_RESUME,
    CMD_STEP,     /* one event forward while a replay is paused */
    CMD_SPEED,    /* speed: new replay speed factor (<= 0: as fast as possible) */
    CMD_APPROVE,  /* version: the awaiting candidate (0: whichever awaits) */
    CMD_REJECT,   /* version: as for approve */
    CMD_ROLLBACK, /* version: target (0: the previous active version) */
    CMD_EXPORT,   /* format: "jsonl", "csv" or "html" */
    CMD_VIEW,     /* view: which rows the snapshots should carry */
    CMD__END
} cmd_kind;

/* The rows a console wants in its snapshots. */
typedef struct cmd_view {
    uint32_t replay_offset;  /* first replay row, by priority, highest first */
    uint64_t detail_version; /* version whose details to include (0: none) */
    char log_filter[64];     /* substring the event log rows must contain ("" all) */
} cmd_view;

typedef struct dd_command {
    uint8_t kind; /* cmd_kind */
    uint64_t id;  /* chosen by the sender, echoed in the snapshot's result_id */
    uint64_t version;
    double speed;
    char format[16];
    char user[32]; /* who gave it; set by the instance for socket clients */
    cmd_view view;
} dd_command;

/* A short lower-case name ("approve"), or "?" for an unknown kind. */
const char *cmd_kind_name(cmd_kind k);

/* Returns a heap copy of c, or NULL on no memory. Free with free(). */
dd_command *cmd_dup(const dd_command *c);

/* Upper bound of an encoded command's size. */
#define CMD_WIRE_MAX 256u

/* Encode c into buf (cap bytes); *len gets the size. DD_EFULL if it does not fit. */
dd_err cmd_encode(const dd_command *c, uint8_t *buf, size_t cap, size_t *len, char **cause);
/* Decode len bytes into *c. DD_EPARSE (with a cause) on truncated bytes,
 * trailing bytes, an unknown kind or a non-finite speed. */
dd_err cmd_decode(dd_command *c, const uint8_t *buf, size_t len, char **cause);

#endif
