/*
 * dd.c: error strings and cause formatting shared by all of core/.
 */
#define _GNU_SOURCE /* vasprintf */
#include "dd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const messages[DD_ERR__COUNT] = {
    [DD_OK] = "ok",
    [DD_ENOMEM] = "out of memory",
    [DD_EINVAL] = "invalid argument",
    [DD_EPARSE] = "syntax error",
    [DD_ELIMIT] = "limit exceeded",
    [DD_ETYPE] = "wrong type",
    [DD_ENONFINITE] = "non-finite value",
    [DD_EIO] = "input/output error",
    [DD_EDB] = "database error",
    [DD_ENOTFOUND] = "not found",
    [DD_ESTATE] = "not allowed in this state",
    [DD_ECORRUPT] = "corrupt data",
    [DD_EVERSION] = "unsupported format version",
    [DD_EFULL] = "full",
    [DD_EBUSY] = "busy",
};

const char *dd_strerror(dd_err err)
{
    if ((unsigned)err >= DD_ERR__COUNT)
        return "unknown error";
    return messages[err];
}

void dd_set_cause(char **cause, const char *fmt, ...)
{
    if (!cause)
        return;
    va_list ap;
    va_start(ap, fmt);
    dd_vset_cause(cause, fmt, ap);
    va_end(ap);
}

void dd_vset_cause(char **cause, const char *fmt, va_list ap)
{
    if (!cause)
        return;
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    free(*cause);
    *cause = msg;
}
