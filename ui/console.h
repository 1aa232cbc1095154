/*
 * console.h: the console, run by the UI thread, on a link to a worker.
 *
 * The console never touches model state. It reads the latest snapshot and
 * sends commands through a console_link, which has two implementations with
 * one protocol: the local link (this process's worker: a snap_board and the
 * command queue) and the socket link (`driftdeck attach`: the same structs,
 * encoded, over the instance's control socket; see control.h).
 */
#ifndef DD_CONSOLE_H
#define DD_CONSOLE_H

#include "command.h"
#include "dd.h"
#include "snapshot.h"

#include <stdbool.h>
#include <stdio.h>

struct queue;
struct kstore;
struct kstore_results;

typedef struct console_link console_link;

struct console_link_ops {
    /* The latest snapshot (valid until the next call); *fresh: newer than the last call's. */
    const dd_snapshot *(*latest)(console_link *l, bool *fresh);
    /* Hand a command over without blocking; DD_EFULL when the queue is full,
     * DD_EIO when the link is down. */
    dd_err (*send)(console_link *l, const dd_command *c, char **cause);
    /* True once the other side is gone (the instance stopped, the socket closed). */
    bool (*closed)(console_link *l);
    void (*destroy)(console_link *l);
    /* Search the knowledge store (the `s` key); NULL when the link cannot
     * (a local run without a store). The socket link asks the instance and
     * waits for its answer (10 s at most). Results are new:
     * kstore_results_free(). */
    dd_err (*search)(console_link *l, const char *query, uint32_t k, struct kstore_results *out,
                     char **cause);
};

struct console_link {
    const struct console_link_ops *ops;
    bool attached; /* a remote instance: `d` detaches, quitting leaves it running */
    void *impl;
};

/* Returns a link to this process's worker: snapshots from board, commands
 * pushed (as cmd_dup() copies) on cmdq. Borrows both. NULL on no memory.
 * Free with console_link_free(). */
console_link *console_link_local_new(snap_board *board, struct queue *cmdq);
/* Let the local link search ks (borrowed; it must outlive the console), or
 * not (NULL: the `s` key says there is no store). */
void console_link_local_set_kstore(console_link *l, struct kstore *ks);
void console_link_free(console_link *l);

typedef struct console_opts {
    int fps;          /* redraws per second at most (default 10) */
    const char *user; /* stamped on commands (NULL: the login name) */
    FILE *in, *out;   /* the terminal (NULL: stdin and stdout) */
} console_opts;

void console_opts_default(console_opts *o);

/* How a console session ended. */
typedef enum console_end {
    CONSOLE_QUIT = 0,   /* the user quit (or detached) */
    CONSOLE_INTERRUPT,  /* SIGINT, SIGTERM or SIGHUP */
    CONSOLE_LINK_CLOSED /* the instance went away */
} console_end;

/* Run the console on link until the user quits. Sets the terminal up and
 * restores it on every path. Returns DD_OK with *end set, or DD_EIO with
 * *cause when there is no usable terminal. */
dd_err console_run(console_link *link, const console_opts *o, console_end *end, char **cause);

#endif
