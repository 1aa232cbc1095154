/*
 * govern_run.h: governance for one run of the pipeline: the workspace lock,
 * the registry, the governor over the worker's pipeline, and the writer.
 *
 * Two steps around the source: gov_run_open() locks the workspace and reads
 * the last checkpoint (so the source can be opened at the resume offset);
 * gov_run_attach() builds the governor over the worker's pipeline, resumes
 * or starts, and starts the writer. gov_run_close() (after the worker has
 * stopped) writes the rest and releases everything.
 */
#ifndef DD_GOVERN_RUN_H
#define DD_GOVERN_RUN_H

#include "config.h"
#include "worker.h"

#include <stdint.h>
#include <stdio.h>

typedef struct gov_run gov_run;

/* Lock cfg->workspace and open its database. NULL with *cause set (another
 * process holds the workspace: DD_EBUSY with its PID in the cause). source
 * is the spec the run reads. Free with gov_run_close(). */
gov_run *gov_run_open(const dd_config *cfg, const char *source, char **cause);

/* Where the source must start: the byte offset of the last checkpoint when
 * resuming the same source, else 0. */
uint64_t gov_run_resume_offset(const gov_run *g);
/* A line for the log: "resuming from checkpoint 7 at event 12000 (version 3 active)"
 * or "new workspace". */
const char *gov_run_describe(const gov_run *g);

struct source;
/* The source whose events the checkpoints cover (borrowed): its ack() is
 * called, in the writer thread, when a checkpoint commits. Before attach. */
void gov_run_set_source(gov_run *g, struct source *src);

struct governor;
struct writer;
/* After gov_run_attach(): the run's governor and writer (for the console's
 * approve, reject and rollback commands), valid until gov_run_close(). */
struct governor *gov_run_governor(gov_run *g);
struct writer *gov_run_writer(gov_run *g);

struct wview_decider;
/* The console's decider (worker_view.h): approve, reject, rollback, export
 * and the audit of operator actions, through this run's governance. After
 * gov_run_attach(); valid until gov_run_close(). */
void gov_run_decider(gov_run *g, struct wview_decider *d);

/* Print the describe line as JSON: {"type":"workspace","message":...,"resume":...}. */
void gov_run_print_describe(const gov_run *g, FILE *out);

/* Build the governor over w's pipeline and start the writer. */
dd_err gov_run_attach(gov_run *g, worker *w, char **cause);

/* After worker_join(): write what is queued, commit, release the lock.
 * Returns the writer's error if the last records could not be written. */
dd_err gov_run_close(gov_run *g, char **cause);

#endif
