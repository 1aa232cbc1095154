/*
 * control.c: the control socket's server thread and the attached console's
 * link (see control.h).
 *
 * Server: one thread, poll() over the listening socket and every client
 * with a 50 ms timeout. Each client has an input buffer (frames may arrive
 * in pieces) and an output slot holding at most one encoded snapshot. A
 * snapshot is encoded once per publish, whatever the number of clients.
 * Link: a reader thread decodes frames onto a private snap_board; the UI
 * thread reads that board and writes commands (it is the only writer).
 */
#define _GNU_SOURCE /* struct ucred, SO_PEERCRED */
#include "control.h"

#include "command.h"
#include "queue.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CLIENTS 16
#define POLL_MS 50
#define IN_CAP 4096

typedef struct client {
    int fd;
    char user[32];
    uint8_t in[IN_CAP];
    size_t in_len;
    uint8_t *out; /* one frame */
    size_t out_len, out_off;
} client;

struct control {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int lfd;
    snap_board *board;
    queue *cmdq;
    pthread_t thread;
    atomic_bool stop;
    atomic_size_t nclients;
    client clients[MAX_CLIENTS];
    uint8_t *frame; /* the latest snapshot, encoded */
    size_t frame_len;
    uint64_t frame_seq;
};

dd_err control_path(const char *workspace, char *buf, size_t n, char **cause)
{
    size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
    int len = snprintf(buf, n, "%s/%s", workspace, CONTROL_SOCKET_NAME);
    if (len < 0 || (size_t)len >= n || (size_t)len >= max)
        return dd_fail(cause, DD_ELIMIT, "control socket path too long (max %zu bytes): %s/%s",
                       max - 1, workspace, CONTROL_SOCKET_NAME);
    return DD_OK;
}

static int connect_to(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static dd_err listen_on(control *c, char **cause)
{
    int probe = connect_to(c->path);
    if (probe >= 0) {
        close(probe);
        return dd_fail(cause, DD_EBUSY, "another instance is listening on %s", c->path);
    }
    unlink(c->path); /* a stale socket of a dead instance (or nothing) */
    c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->lfd < 0)
        return dd_fail(cause, DD_EIO, "socket: %s", strerror(errno));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", c->path);
    /* created 0600 from the start: no window where others may connect */
    mode_t old = umask(0177);
    int rc = bind(c->lfd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0 || chmod(c->path, 0600) < 0 || listen(c->lfd, 8) < 0)
        return dd_fail(cause, DD_EIO, "cannot listen on %s: %s", c->path, strerror(errno));
    return DD_OK;
}

static void peer_user(int fd, char *buf, size_t n)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    snprintf(buf, n, "unknown");
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return;
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (getpwuid_r(cred.uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
        snprintf(buf, n, "%s", res->pw_name);
    else
        snprintf(buf, n, "uid%u", (unsigned)cred.uid);
}

static void drop_client(control *c, client *cl)
{
    close(cl->fd);
    free(cl->out);
    memset(cl, 0, sizeof *cl);
    cl->fd = -1;
    atomic_fetch_sub(&c->nclients, 1);
}

static void accept_clients(control *c)
{
    for (;;) {
        int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        client *cl = NULL;
        for (int i = 0; i < MAX_CLIENTS && !cl; i++)
            if (c->clients[i].fd < 0)
                cl = &c->clients[i];
        uint8_t *out = cl ? malloc(WIRE_HEADER + SNAP_WIRE_MAX) : NULL;
        if (!out) { /* full, or no memory: refuse this one */
            close(fd);
            continue;
        }
        memset(cl, 0, sizeof *cl);
        cl->fd = fd;
        cl->out = out;
        peer_user(fd, cl->user, sizeof cl->user);
        atomic_fetch_add(&c->nclients, 1);
    }
}

/* Parse every complete frame in cl->in. False when the client sent garbage. */
static bool take_commands(control *c, client *cl)
{
    size_t off = 0;
    while (cl->in_len - off >= WIRE_HEADER) {
        wire_type type;
        uint32_t len;
        if (!wire_frame_parse(cl->in + off, &type, &len) || type != WIRE_COMMAND ||
            len > CMD_WIRE_MAX)
            return false;
        if (cl->in_len - off < WIRE_HEADER + len)
            break;
        dd_command cmd;
        if (cmd_decode(&cmd, cl->in + off + WIRE_HEADER, len, NULL) != DD_OK)
            return false;
        snprintf(cmd.user, sizeof cmd.user, "%s", cl->user); /* the kernel's word, not theirs */
        dd_command *copy = cmd_dup(&cmd);
        if (copy && queue_push(c->cmdq, copy, 0) != QUEUE_OK)
            free(copy); /* the worker is swamped: the console sees no answer and may retry */
        off += WIRE_HEADER + len;
    }
    memmove(cl->in, cl->in + off, cl->in_len - off);
    cl->in_len -= off;
    return true;
}

static bool read_client(control *c, client *cl)
{
    ssize_t n = read(cl->fd, cl->in + cl->in_len, sizeof cl->in - cl->in_len);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return false;
    if (n > 0)
        cl->in_len += (size_t)n;
    return take_commands(c, cl);
}

static bool write_client(client *cl)
{
    while (cl->out_off < cl->out_len) {
        ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        cl->out_off += (size_t)n;
    }
    cl->out_len = cl->out_off = 0;
    return true;
}

/* Encode the latest snapshot once, and give it to every idle client. */
static void share_snapshot(control *c)
{
    bool fresh;
    const dd_snapshot *s = snap_board_latest(c->board, &fresh);
    if (fresh) {
        size_t len;
        if (snap_encode(s, c->frame + WIRE_HEADER, SNAP_WIRE_MAX, &len, NULL) != DD_OK)
            return;
        wire_frame_header(c->frame, WIRE_SNAPSHOT, (uint32_t)len);
        c->frame_len = WIRE_HEADER + len;
        c->frame_seq++;
    }
    if (!fresh || !c->frame_len)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        client *cl = &c->clients[i];
        if (cl->fd >= 0 && cl->out_len == 0) {
            memcpy(cl->out, c->frame, c->frame_len);
            cl->out_len = c->frame_len;
        }
    }
}

static void *serve(void *arg)
{
    control *c = arg;
    struct pollfd pfd[MAX_CLIENTS + 1];
    while (!atomic_load(&c->stop)) {
        pfd[0] = (struct pollfd){.fd = c->lfd, .events = POLLIN};
        for (int i = 0; i < MAX_CLIENTS; i++) {
            client *cl = &c->clients[i];
            pfd[i + 1] = (struct pollfd){.fd = cl->fd, .events = POLLIN};
            if (cl->out_len)
                pfd[i + 1].events |= POLLOUT;
        }
        if (poll(pfd, MAX_CLIENTS + 1, POLL_MS) < 0 && errno != EINTR)
            break;
        if (pfd[0].revents & POLLIN)
            accept_clients(c);
        for (int i = 0; i < MAX_CLIENTS; i++) {
            client *cl = &c->clients[i];
            if (cl->fd < 0 || pfd[i + 1].fd != cl->fd)
                continue;
            short ev = pfd[i + 1].revents;
            bool ok = true;
            if (ev & (POLLIN | POLLHUP | POLLERR))
                ok = read_client(c, cl);
            if (ok && (ev & POLLOUT))
                ok = write_client(cl);
            if (!ok)
                drop_client(c, cl);
        }
        share_snapshot(c);
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (c->clients[i].fd >= 0 && c->clients[i].out_len && !write_client(&c->clients[i]))
                drop_client(c, &c->clients[i]);
    }
    return NULL;
}

control *control_new(const char *path, snap_board *board, queue *cmdq, char **cause)
{
    control *c = calloc(1, sizeof *c);
    if (!c || !(c->frame = malloc(WIRE_HEADER + SNAP_WIRE_MAX))) {
        free(c);
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    c->lfd = -1;
    for (int i = 0; i < MAX_CLIENTS; i++)
        c->clients[i].fd = -1;
    c->board = board;
    c->cmdq = cmdq;
    if (strlen(path) >= sizeof c->path) {
        dd_fail(cause, DD_ELIMIT, "control socket path too long: %s", path);
        goto fail;
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    if (listen_on(c, cause))
        goto fail;
    if (pthread_create(&c->thread, NULL, serve, c)) {
        dd_fail(cause, DD_ENOMEM, "cannot start the control thread");
        unlink(c->path);
        goto fail;
    }
    return c;
fail:
    if (c->lfd >= 0)
        close(c->lfd);
    free(c->frame);
    free(c);
    return NULL;
}

void control_free(control *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, true);
    pthread_join(c->thread, NULL);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (c->clients[i].fd >= 0)
            drop_client(c, &c->clients[i]);
    close(c->lfd);
    unlink(c->path);
    free(c->frame);
    free(c);
}

size_t control_clients(control *c)
{
    return atomic_load(&c->nclients);
}

/* ---- the attached side ---- */

typedef struct sock_link {
    int fd;
    snap_board *board;
    dd_snapshot *tmp; /* decode target, the reader thread's */
    uint8_t *buf;
    pthread_t reader;
    atomic_bool closed;
} sock_link;

static bool read_full(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static void *sock_reader(void *arg)
{
    sock_link *sl = arg;
    uint8_t hdr[WIRE_HEADER];
    for (;;) {
        wire_type type;
        uint32_t len;
        if (!read_full(sl->fd, hdr, sizeof hdr) || !wire_frame_parse(hdr, &type, &len) ||
            type != WIRE_SNAPSHOT || len > SNAP_WIRE_MAX || !read_full(sl->fd, sl->buf, len))
            break;
        if (snap_decode(sl->tmp, sl->buf, len, NULL) != DD_OK)
            break; /* a peer that speaks another protocol: stop listening to it */
        snap_board_publish(sl->board, sl->tmp);
    }
    atomic_store(&sl->closed, true);
    return NULL;
}

static const dd_snapshot *sock_latest(console_link *l, bool *fresh)
{
    sock_link *sl = l->impl;
    return snap_board_latest(sl->board, fresh);
}

static dd_err sock_send(console_link *l, const dd_command *cmd, char **cause)
{
    sock_link *sl = l->impl;
    uint8_t frame[WIRE_HEADER + CMD_WIRE_MAX];
    size_t len;
    dd_err err = cmd_encode(cmd, frame + WIRE_HEADER, CMD_WIRE_MAX, &len, cause);
    if (err)
        return err;
    wire_frame_header(frame, WIRE_COMMAND, (uint32_t)len);
    len += WIRE_HEADER;
    for (size_t off = 0; off < len;) {
        ssize_t n = send(sl->fd, frame + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return dd_fail(cause, DD_EIO, "the instance is gone: %s", strerror(errno));
        off += (size_t)n;
    }
    return DD_OK;
}

static bool sock_closed(console_link *l)
{
    sock_link *sl = l->impl;
    return atomic_load(&sl->closed);
}

static void sock_destroy(console_link *l)
{
    sock_link *sl = l->impl;
    shutdown(sl->fd, SHUT_RDWR); /* wakes the reader */
    pthread_join(sl->reader, NULL);
    close(sl->fd);
    snap_board_free(sl->board);
    free(sl->tmp);
    free(sl->buf);
    free(sl);
}

static const struct console_link_ops sock_ops = {sock_latest, sock_send, sock_closed, sock_destroy,
                                                 NULL /* search: not yet */};

console_link *control_attach(const char *path, char **cause)
{
    int fd = connect_to(path);
    if (fd < 0) {
        dd_fail(cause, DD_EIO, "cannot connect to %s: %s (is a headless instance running there?)",
                path, strerror(errno));
        return NULL;
    }
    console_link *l = calloc(1, sizeof *l);
    sock_link *sl = calloc(1, sizeof *sl);
    if (l && sl) {
        sl->fd = fd;
        sl->board = snap_board_new();
        sl->tmp = malloc(sizeof *sl->tmp);
        sl->buf = malloc(SNAP_WIRE_MAX);
    }
    if (!l || !sl || !sl->board || !sl->tmp || !sl->buf ||
        pthread_create(&sl->reader, NULL, sock_reader, sl)) {
        if (sl) {
            snap_board_free(sl->board);
            free(sl->tmp);
            free(sl->buf);
        }
        free(sl);
        free(l);
        close(fd);
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    l->ops = &sock_ops;
    l->attached = true;
    l->impl = sl;
    return l;
}
