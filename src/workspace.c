/*
 * workspace.c: workspace paths, the read-only open, and the lock (see
 * workspace.h).
 */
#include "workspace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct workspace_lock {
    int fd;
    int held; /* the flock is ours: only then may we clear the PID */
    char *path;
};

char *workspace_path(const char *dir, const char *name)
{
    if (!dir || !*dir)
        dir = ".";
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

dd_err workspace_open_readonly(const char *dir, sqlite3 **db, char **cause)
{
    char *path = workspace_path(dir, WORKSPACE_DB_NAME);
    if (!path)
        return dd_fail(cause, DD_ENOMEM, "no memory");
    struct stat sb;
    dd_err e = DD_OK;
    *db = NULL;
    if (stat(path, &sb) != 0) {
        e = dd_fail(cause, DD_ENOTFOUND, "no workspace database at %s", path);
    } else if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        e = dd_fail(cause, DD_EDB, "cannot open %s: %s", path, sqlite3_errmsg(*db));
        sqlite3_close(*db);
        *db = NULL;
    } else {
        sqlite3_busy_timeout(*db, 5000);
    }
    free(path);
    return e;
}

/* Read the PID recorded in the lock file, or 0. */
static long holder_pid(int fd)
{
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    return strtol(buf, NULL, 10);
}

workspace_lock *workspace_lock_new(const char *dir, dd_err *err, char **cause)
{
    *err = DD_OK;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        *err = dd_fail(cause, DD_EIO, "cannot create workspace %s: %s", dir, strerror(errno));
        return NULL;
    }
    workspace_lock *l = calloc(1, sizeof *l);
    if (!l || !(l->path = workspace_path(dir, WORKSPACE_LOCK_NAME))) {
        free(l);
        *err = dd_fail(cause, DD_ENOMEM, "no memory");
        return NULL;
    }
    l->fd = -1;
    l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (l->fd < 0) {
        *err = dd_fail(cause, DD_EIO, "cannot open %s: %s", l->path, strerror(errno));
        goto fail;
    }
    if (flock(l->fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            *err = dd_fail(cause, DD_EBUSY,
                           "workspace %s is in use by process %ld (lock %s): stop it, or use "
                           "another --workspace",
                           dir, holder_pid(l->fd), l->path);
        else
            *err = dd_fail(cause, DD_EIO, "cannot lock %s: %s", l->path, strerror(errno));
        goto fail;
    }
    l->held = 1;
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(l->fd, 0) != 0 || pwrite(l->fd, pid, (size_t)n, 0) != n) {
        *err = dd_fail(cause, DD_EIO, "cannot write %s: %s", l->path, strerror(errno));
        goto fail;
    }
    return l;
fail:
    workspace_lock_free(l);
    return NULL;
}

void workspace_lock_free(workspace_lock *l)
{
    if (!l)
        return;
    if (l->fd >= 0) {
        /* Leave the file: unlinking it would race with a process that has just
         * opened it and is about to lock it. An empty PID means "not held". */
        if (l->held && ftruncate(l->fd, 0) != 0) {
            /* nothing to do: the lock itself is released by close() */
        }
        close(l->fd);
    }
    free(l->path);
    free(l);
}
