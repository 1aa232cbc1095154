/*
 * control.h: the control socket, so a console can attach to a running
 * instance (`driftdeck --headless` on a server, `driftdeck attach` on it).
 *
 * The instance listens on a Unix domain socket in its workspace
 * (driftdeck.sock, mode 0600: the owner only). One thread serves every
 * client with poll(): it sends each client the latest snapshot as it is
 * published (frames of wire.h; a client still busy with the previous frame
 * skips one, so a slow console never slows anyone), and pushes the commands
 * clients send onto the worker's command queue, stamped with the peer's
 * user name from the kernel (SO_PEERCRED), never the name the client
 * claims. It also answers knowledge-store searches (kswire.h) from the
 * store it was given. The attached side is a console_link (console.h), so
 * the console runs the same code on either side of the socket, the `s`
 * search included.
 */
#ifndef DD_CONTROL_H
#define DD_CONTROL_H

#include "console.h"
#include "dd.h"
#include "snapshot.h"

#include <stddef.h>

struct queue;
struct kstore;

#define CONTROL_SOCKET_NAME "driftdeck.sock"

/* The socket's path for a workspace into buf. DD_ELIMIT when it is longer
 * than a Unix socket path may be. */
dd_err control_path(const char *workspace, char *buf, size_t n, char **cause);

typedef struct control control;

/* Listen on path and start serving: snapshots read from board (this makes
 * the control thread the board's one reader), commands pushed on cmdq (both
 * borrowed). A stale socket file left by a dead instance is replaced;
 * DD_EBUSY when a live instance answers on it. Free with control_free(),
 * which stops the thread and removes the socket file. */
control *control_new(const char *path, snap_board *board, struct queue *cmdq, char **cause);
void control_free(control *c);

/* Answer attached consoles' searches from ks (borrowed), or (NULL) say
 * there is no store. Any thread; waits for a search in progress, so after
 * control_set_kstore(c, NULL) returns, ks may be closed. NULL c: no-op. */
void control_set_kstore(control *c, struct kstore *ks);

/* Clients connected now, and commands received in all. */
size_t control_clients(control *c);

/* Connect to the instance listening on path. Returns a console_link (free
 * with console_link_free(), which disconnects), or NULL with *cause set. */
console_link *control_attach(const char *path, char **cause);

#endif
