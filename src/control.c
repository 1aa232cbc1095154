/*
 * control.c: the control socket's server thread and the attached console's
 * link (see control.h).
 *
 * Server: one thread, poll() over the listening socket and every client
 * with a 50 ms timeout. Each client has an input buffer (frames may arrive
 * in pieces) and an output slot holding at most one encoded snapshot. A
 * snapshot is encoded once per publish, whatever the number of clients.
 * Knowledge-store searches (kswire.h) are answered by this thread, in
 * order, one at a time per client: it searches the store (thread-safe,
 * milliseconds) and queues the reply frame to go out before the next
 * snapshot; a request that comes while a client's reply still waits stays
 * in its input buffer until the reply is on its way. A malformed or
 * oversized request is answered with an error, its bytes skipped.
 * Link: a reader thread decodes frames: snapshots onto a private
 * snap_board, search replies into a mailbox the UI thread waits on (with a
 * deadline). The UI thread reads the board and writes commands and search
 * requests (it is the only writer).
 */
#define _GNU_SOURCE /* struct ucred, SO_PEERCRED */
#include "control.h"

#include "command.h"
#include "kswire.h"
#include "queue.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 16
#define POLL_MS 50
#define IN_CAP 4096
#define SEARCH_WAIT_MS 10000 /* the attached console gives up on an answer after this */

_Static_assert(KSWIRE_REPLY_MAX <= SNAP_WIRE_MAX, "a search reply fits a client's output slot");
_Static_assert(WIRE_HEADER + KSWIRE_REQUEST_MAX <= IN_CAP, "a search request fits the input");

typedef struct client {
    int fd;
    char user[32];
    uint8_t in[IN_CAP];
    size_t in_len;
    uint8_t *out; /* one frame */
    size_t out_len, out_off;
    uint8_t *reply; /* a search reply frame waiting for out, or NULL */
    size_t reply_len;
    uint32_t skip; /* bytes of an oversized request still to discard */
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
    pthread_mutex_t ks_lock; /* held while searching, so the store is not taken away mid-search */
    kstore *ks;
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
    free(cl->reply);
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

/* Queue reply frame f (taken) for cl: into out when it is free, else it waits. */
static void queue_reply(client *cl, uint8_t *f, size_t len)
{
    if (cl->out_len == 0) {
        memcpy(cl->out, f, len);
        cl->out_len = len;
        cl->out_off = 0;
        free(f);
        return;
    }
    cl->reply = f;
    cl->reply_len = len;
}

/* Answer request id of cl: with err and why, or with the hits of a search
 * for query (k hits from each index). Out of memory: no answer (the console
 * times out). */
static void answer_search(control *c, client *cl, uint64_t id, dd_err err, const char *why,
                          const char *query, uint32_t k)
{
    kswire_reply rep = {.id = id};
    char *cause = NULL;
    if (!err) {
        pthread_mutex_lock(&c->ks_lock);
        err = c->ks ? kstore_search_text(c->ks, query, k, &rep.results, &cause)
                    : dd_fail(&cause, DD_ENOTFOUND,
                              "this instance has no knowledge store "
                              "(start it with [kstore] enabled = true or --serve)");
        pthread_mutex_unlock(&c->ks_lock);
        why = cause;
    }
    rep.err = (uint8_t)err;
    snprintf(rep.cause, sizeof rep.cause, "%s", err ? (why ? why : dd_strerror(err)) : "");
    uint8_t *f = malloc(WIRE_HEADER + KSWIRE_REPLY_MAX);
    size_t len;
    if (f && kswire_reply_encode(&rep, f + WIRE_HEADER, KSWIRE_REPLY_MAX, &len, NULL) == DD_OK) {
        wire_frame_header(f, WIRE_SEARCH_REPLY, (uint32_t)len);
        queue_reply(cl, f, WIRE_HEADER + len);
        f = NULL;
    }
    free(f);
    kstore_results_free(&rep.results);
    free(cause);
}

/* The search request of len bytes at p (its frame complete, or oversized
 * with at least its id there). Returns the bytes of it consumed from avail. */
static size_t take_search(control *c, client *cl, const uint8_t *p, uint32_t len, size_t avail)
{
    kswire_request req;
    char *cause = NULL;
    if (len > KSWIRE_REQUEST_MAX) {
        wire_r r = {.buf = p, .len = 8};
        char why[96];
        snprintf(why, sizeof why, "search: the request has %u bytes, more than the %u allowed", len,
                 KSWIRE_REQUEST_MAX);
        answer_search(c, cl, wire_get_u64(&r), DD_ELIMIT, why, NULL, 0);
        size_t have = avail < len ? avail : len;
        cl->skip = len - (uint32_t)have;
        return have;
    }
    if (kswire_request_decode(&req, p, len, &cause) != DD_OK) {
        wire_r r = {.buf = p, .len = len};
        uint64_t id = wire_get_u64(&r); /* 0 when even that is missing */
        answer_search(c, cl, id, DD_EPARSE, cause, NULL, 0);
    } else {
        answer_search(c, cl, req.id, DD_OK, NULL, req.query, req.k);
    }
    free(cause);
    return len;
}

/* A console's command: stamped with the peer's name and queued for the worker. */
static bool take_command(control *c, client *cl, const uint8_t *p, uint32_t len)
{
    dd_command cmd;
    if (cmd_decode(&cmd, p, len, NULL) != DD_OK)
        return false;
    snprintf(cmd.user, sizeof cmd.user, "%s", cl->user); /* the kernel's word, not theirs */
    dd_command *copy = cmd_dup(&cmd);
    if (copy && queue_push(c->cmdq, copy, 0) != QUEUE_OK)
        free(copy); /* the worker is swamped: the console sees no answer and may retry */
    return true;
}

/* Parse every complete frame in cl->in. False when the client sent garbage. */
static bool take_commands(control *c, client *cl)
{
    size_t off = 0;
    for (;;) {
        if (cl->skip) { /* the rest of an oversized request, already answered */
            size_t d = cl->in_len - off < cl->skip ? cl->in_len - off : cl->skip;
            off += d;
            cl->skip -= (uint32_t)d;
            if (cl->skip)
                break;
        }
        size_t avail = cl->in_len - off;
        wire_type type;
        uint32_t len;
        if (avail < WIRE_HEADER)
            break;
        if (!wire_frame_parse(cl->in + off, &type, &len))
            return false;
        const uint8_t *p = cl->in + off + WIRE_HEADER;
        avail -= WIRE_HEADER;
        if (type == WIRE_COMMAND) {
            if (len > CMD_WIRE_MAX)
                return false;
            if (avail < len)
                break;
            if (!take_command(c, cl, p, len))
                return false;
            off += WIRE_HEADER + len;
        } else if (type == WIRE_SEARCH) {
            /* one reply waits at most; an oversized request needs its id only */
            if (cl->reply || avail < (len > KSWIRE_REQUEST_MAX ? 8u : len))
                break;
            off += WIRE_HEADER + take_search(c, cl, p, len, avail);
        } else {
            return false; /* a snapshot or a reply from a console: not our protocol */
        }
    }
    memmove(cl->in, cl->in + off, cl->in_len - off);
    cl->in_len -= off;
    return true;
}

/* Once out is free: the waiting reply goes out, and requests held back
 * behind it are read. False when the client sent garbage. */
static bool pump_reply(control *c, client *cl)
{
    if (!cl->reply || cl->out_len)
        return true;
    uint8_t *f = cl->reply;
    cl->reply = NULL;
    queue_reply(cl, f, cl->reply_len);
    return take_commands(c, cl);
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
            if (ok)
                ok = pump_reply(c, cl);
            if (!ok)
                drop_client(c, cl);
        }
        share_snapshot(c);
        for (int i = 0; i < MAX_CLIENTS; i++) {
            client *cl = &c->clients[i];
            if (cl->fd < 0)
                continue;
            bool ok = !cl->out_len || write_client(cl);
            if (ok && cl->reply && !cl->out_len) /* the snapshot went at once: the reply too */
                ok = pump_reply(c, cl) && write_client(cl);
            if (!ok)
                drop_client(c, cl);
        }
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
    pthread_mutex_init(&c->ks_lock, NULL);
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
    pthread_mutex_destroy(&c->ks_lock);
    free(c->frame);
    free(c);
    return NULL;
}

void control_set_kstore(control *c, kstore *ks)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->ks_lock); /* waits for a search in progress */
    c->ks = ks;
    pthread_mutex_unlock(&c->ks_lock);
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
    pthread_mutex_destroy(&c->ks_lock);
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
    uint8_t *buf;     /* SNAP_WIRE_MAX bytes: a snapshot or a search reply */
    pthread_t reader;
    atomic_bool closed;
    pthread_mutex_t lock; /* guards answer; cond signals a new one (or the end) */
    pthread_cond_t cond;
    kswire_reply *answer; /* the latest search reply, or NULL */
    uint64_t last_search; /* the UI thread's request ids */
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

/* A search reply of len bytes in sl->buf into the mailbox (the newest
 * replaces an unread one). False when it does not decode. */
static bool post_answer(sock_link *sl, uint32_t len)
{
    kswire_reply *rep = calloc(1, sizeof *rep);
    if (!rep)
        return true; /* no memory: the console times out, the link lives */
    if (kswire_reply_decode(rep, sl->buf, len, NULL) != DD_OK) {
        free(rep);
        return false;
    }
    pthread_mutex_lock(&sl->lock);
    if (sl->answer) {
        kswire_reply_clear(sl->answer);
        free(sl->answer);
    }
    sl->answer = rep;
    pthread_cond_broadcast(&sl->cond);
    pthread_mutex_unlock(&sl->lock);
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
            (type != WIRE_SNAPSHOT && type != WIRE_SEARCH_REPLY) ||
            /* two limits, equal today (NOLINT: not a copy-paste slip) */
            len > (type == WIRE_SNAPSHOT ? SNAP_WIRE_MAX : KSWIRE_REPLY_MAX) || // NOLINT
            !read_full(sl->fd, sl->buf, len))
            break;
        if (type == WIRE_SEARCH_REPLY) {
            if (!post_answer(sl, len))
                break;
            continue;
        }
        if (snap_decode(sl->tmp, sl->buf, len, NULL) != DD_OK)
            break; /* a peer that speaks another protocol: stop listening to it */
        snap_board_publish(sl->board, sl->tmp);
    }
    pthread_mutex_lock(&sl->lock);
    atomic_store(&sl->closed, true);
    pthread_cond_broadcast(&sl->cond);
    pthread_mutex_unlock(&sl->lock);
    return NULL;
}

static const dd_snapshot *sock_latest(console_link *l, bool *fresh)
{
    sock_link *sl = l->impl;
    return snap_board_latest(sl->board, fresh);
}

static dd_err send_frame(sock_link *sl, uint8_t *frame, wire_type type, size_t len, char **cause)
{
    wire_frame_header(frame, type, (uint32_t)len);
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

static dd_err sock_send(console_link *l, const dd_command *cmd, char **cause)
{
    sock_link *sl = l->impl;
    uint8_t frame[WIRE_HEADER + CMD_WIRE_MAX];
    size_t len;
    dd_err err = cmd_encode(cmd, frame + WIRE_HEADER, CMD_WIRE_MAX, &len, cause);
    return err ? err : send_frame(sl, frame, WIRE_COMMAND, len, cause);
}

/* Wait (lock held) for the reply to request id until deadline; returns it
 * (taken from the mailbox) or NULL when the link closed or time ran out. */
static kswire_reply *await_answer(sock_link *sl, uint64_t id, const struct timespec *deadline)
{
    for (;;) {
        kswire_reply *a = sl->answer;
        if (a && a->id == id) {
            sl->answer = NULL;
            return a;
        }
        if (a) { /* the late answer to a search given up on */
            kswire_reply_clear(a);
            free(a);
            sl->answer = NULL;
        }
        if (atomic_load(&sl->closed) ||
            pthread_cond_timedwait(&sl->cond, &sl->lock, deadline) == ETIMEDOUT)
            return NULL;
    }
}

/* The `s` key on an attached console: the instance searches its store. */
static dd_err sock_search(console_link *l, const char *query, uint32_t k, kstore_results *out,
                          char **cause)
{
    sock_link *sl = l->impl;
    kswire_request req = {.id = ++sl->last_search, .k = k};
    if (strlen(query) > KSWIRE_QUERY_MAX)
        return dd_fail(cause, DD_EINVAL, "the query is longer than %u bytes", KSWIRE_QUERY_MAX);
    snprintf(req.query, sizeof req.query, "%s", query);
    uint8_t frame[WIRE_HEADER + KSWIRE_REQUEST_MAX];
    size_t len;
    dd_err err = kswire_request_encode(&req, frame + WIRE_HEADER, KSWIRE_REQUEST_MAX, &len, cause);
    if (err || (err = send_frame(sl, frame, WIRE_SEARCH, len, cause)))
        return err;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += SEARCH_WAIT_MS / 1000;
    pthread_mutex_lock(&sl->lock);
    kswire_reply *a = await_answer(sl, req.id, &deadline);
    pthread_mutex_unlock(&sl->lock);
    if (!a)
        return atomic_load(&sl->closed)
                   ? dd_fail(cause, DD_EIO, "the instance is gone")
                   : dd_fail(cause, DD_EBUSY, "no answer from the instance within %d s",
                             SEARCH_WAIT_MS / 1000);
    err = (dd_err)a->err;
    if (err)
        dd_fail(cause, err, "%s", a->cause);
    else
        *out = a->results, a->results = (kstore_results){0};
    kswire_reply_clear(a);
    free(a);
    return err;
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
    if (sl->answer) {
        kswire_reply_clear(sl->answer);
        free(sl->answer);
    }
    pthread_cond_destroy(&sl->cond);
    pthread_mutex_destroy(&sl->lock);
    free(sl);
}

/* Sets up the mailbox's lock and condition (on the monotonic clock). */
static bool mailbox_init(sock_link *sl)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a))
        return false;
    bool ok = !pthread_condattr_setclock(&a, CLOCK_MONOTONIC) && !pthread_cond_init(&sl->cond, &a);
    pthread_condattr_destroy(&a);
    if (ok && pthread_mutex_init(&sl->lock, NULL)) {
        pthread_cond_destroy(&sl->cond);
        ok = false;
    }
    return ok;
}

static const struct console_link_ops sock_ops = {sock_latest, sock_send, sock_closed, sock_destroy,
                                                 sock_search};

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
    bool mailbox = false;
    if (l && sl) {
        sl->fd = fd;
        sl->board = snap_board_new();
        sl->tmp = malloc(sizeof *sl->tmp);
        _Static_assert(KSWIRE_REPLY_MAX <= SNAP_WIRE_MAX, "sl->buf holds either frame");
        sl->buf = malloc(SNAP_WIRE_MAX);
        mailbox = mailbox_init(sl);
    }
    if (!l || !sl || !sl->board || !sl->tmp || !sl->buf || !mailbox ||
        pthread_create(&sl->reader, NULL, sock_reader, sl)) {
        if (sl) {
            snap_board_free(sl->board);
            free(sl->tmp);
            free(sl->buf);
        }
        if (mailbox) {
            pthread_cond_destroy(&sl->cond);
            pthread_mutex_destroy(&sl->lock);
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
