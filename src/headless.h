/*
 * headless.h: the worker's output as JSON Lines on a stream (stdout in
 * --headless mode): status lines, each alarm, and a final summary.
 */
#ifndef DD_HEADLESS_H
#define DD_HEADLESS_H

#include "kstore.h"
#include "worker.h"

#include <stdio.h>

typedef struct headless headless;

/* Returns a new printer writing to out (borrowed), or NULL on no memory.
 * Free with headless_free() after the worker has stopped. */
headless *headless_new(FILE *out);
void headless_free(headless *h);

/* Show the knowledge store's lag (borrowed, may be NULL) in status lines. */
void headless_set_kstore(headless *h, kstore *ks);

/* The worker_output that prints through h. */
worker_output headless_output(headless *h);

#endif
