/*
 * export.h: a session read back from the workspace database, written as
 * JSON Lines, CSV, or one self-contained HTML report (inline CSS and SVG
 * charts, no scripts, no network): accuracy over time with drift, promotion
 * and rollback markers, the version timeline, and the decision table.
 *
 * Everything is read through a read-only connection, so an export can run
 * beside a live process. The audit chain is verified as part of the export
 * and its head printed in every format (a published head).
 */
#ifndef DD_EXPORT_H
#define DD_EXPORT_H

#include "dd.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

typedef struct export_data export_data;

/* Load session (0: the latest; -1: every session) from db (borrowed). NULL
 * with *cause set (DD_ENOTFOUND: no such session). Free with export_free(). */
export_data *export_load(sqlite3 *db, int64_t session, dd_err *err, char **cause);
void export_free(export_data *d);

/* The session d holds (-1: all). */
int64_t export_session_id(const export_data *d);

/* Write d to out. DD_EIO when a write fails. */
dd_err export_jsonl(const export_data *d, FILE *out);
dd_err export_csv(const export_data *d, FILE *out);
dd_err export_html(const export_data *d, FILE *out);

#endif
