/*
 * command.c: command names, heap copies and the wire encoding (see
 * command.h). The encoding is the fields in order through wire.h.
 */
#include "command.h"
#include "wire.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CMD_FORMAT 1u

const char *cmd_kind_name(cmd_kind k)
{
    static const char *const names[CMD__END] = {
        [CMD_PAUSE] = "pause",       [CMD_RESUME] = "resume",   [CMD_STEP] = "step",
        [CMD_SPEED] = "speed",       [CMD_APPROVE] = "approve", [CMD_REJECT] = "reject",
        [CMD_ROLLBACK] = "rollback", [CMD_EXPORT] = "export",   [CMD_VIEW] = "view",
    };
    return (unsigned)k < CMD__END && names[k] ? names[k] : "?";
}

dd_command *cmd_dup(const dd_command *c)
{
    dd_command *d = malloc(sizeof *d);
    if (d)
        memcpy(d, c, sizeof *d);
    return d;
}

dd_err cmd_encode(const dd_command *c, uint8_t *buf, size_t cap, size_t *len, char **cause)
{
    wire_w w = {.buf = buf, .cap = cap};
    wire_put_u8(&w, CMD_FORMAT);
    wire_put_u8(&w, c->kind);
    wire_put_u64(&w, c->id);
    wire_put_u64(&w, c->version);
    wire_put_f64(&w, c->speed);
    wire_put_str(&w, c->format, sizeof c->format);
    wire_put_str(&w, c->user, sizeof c->user);
    wire_put_u32(&w, c->view.replay_offset);
    wire_put_u64(&w, c->view.detail_version);
    wire_put_str(&w, c->view.log_filter, sizeof c->view.log_filter);
    if (w.overflow)
        return dd_fail(cause, DD_EFULL, "command does not fit in %zu bytes", cap);
    *len = w.len;
    return DD_OK;
}

dd_err cmd_decode(dd_command *c, const uint8_t *buf, size_t len, char **cause)
{
    wire_r r = {.buf = buf, .len = len};
    memset(c, 0, sizeof *c);
    unsigned format = wire_get_u8(&r);
    c->kind = wire_get_u8(&r);
    c->id = wire_get_u64(&r);
    c->version = wire_get_u64(&r);
    c->speed = wire_get_f64(&r);
    wire_get_str(&r, c->format, sizeof c->format);
    wire_get_str(&r, c->user, sizeof c->user);
    c->view.replay_offset = wire_get_u32(&r);
    c->view.detail_version = wire_get_u64(&r);
    wire_get_str(&r, c->view.log_filter, sizeof c->view.log_filter);
    if (r.bad)
        return dd_fail(cause, DD_EPARSE, "truncated or malformed command (%zu bytes)", len);
    if (format != CMD_FORMAT)
        return dd_fail(cause, DD_EPARSE, "command format %u, expected %u", format, CMD_FORMAT);
    if (c->kind < CMD_PAUSE || c->kind >= CMD__END)
        return dd_fail(cause, DD_EPARSE, "unknown command kind %u", c->kind);
    if (!isfinite(c->speed))
        return dd_fail(cause, DD_EPARSE, "non-finite speed in a command");
    if (r.off != len)
        return dd_fail(cause, DD_EPARSE, "%zu trailing bytes after the command", len - r.off);
    return DD_OK;
}
