/*
 * workspace.h: the directory a driftdeck process works in: its database
 * (DIR/driftdeck.db) and its lock (DIR/driftdeck.lock).
 *
 * One process writes a workspace. The lock is an flock() on the lock file,
 * which holds the owner's PID so that a second process can say who holds it;
 * the kernel drops the lock when the owner exits, even by kill -9, so a stale
 * file never blocks a restart. Readers (`audit verify`, `export`, the console's
 * history view) open the database read-only and take no lock.
 */
#ifndef DD_WORKSPACE_H
#define DD_WORKSPACE_H

#include "dd.h"

#include <sqlite3.h>

#define WORKSPACE_DB_NAME "driftdeck.db"
#define WORKSPACE_LOCK_NAME "driftdeck.lock"

/* Returns DIR/name as a new string (free()), or NULL on no memory. */
char *workspace_path(const char *dir, const char *name);

/* Open DIR's database read-only. DD_ENOTFOUND when there is none. On success
 * the caller closes *db with sqlite3_close(). */
dd_err workspace_open_readonly(const char *dir, sqlite3 **db, char **cause);

typedef struct workspace_lock workspace_lock;

/* Take DIR's lock (creating DIR if needed). DD_EBUSY, with a cause naming the
 * PID that holds it, when another process has it. Free (and release) with
 * workspace_lock_free(). */
workspace_lock *workspace_lock_new(const char *dir, dd_err *err, char **cause);
void workspace_lock_free(workspace_lock *l);

#endif
