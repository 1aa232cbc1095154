/*
 * source_ws.h: what the WebSocket source offers beyond the source interface:
 * a back-channel for the prediction sink (src/sink.h), which sends text
 * messages over the same connection. source_ws_open() is in source.h.
 */
#ifndef DD_SOURCE_WS_H
#define DD_SOURCE_WS_H

#include "source.h"

#include <stdbool.h>
#include <stddef.h>

/* True if s is a WebSocket source. */
bool source_is_ws(const source *s);

/* Messages to send: pop is called on the source's network thread whenever
 * the connection can write; it returns a new malloc'd text of *len bytes,
 * or NULL when nothing waits. Set before start (or with NULL to detach). */
void source_ws_set_outgoing(source *s, char *(*pop)(void *ctx, size_t *len), void *ctx);

/* Something waits to be sent: wake the network thread. Any thread. */
void source_ws_wake_writer(source *s);

#endif
