/*
 * dd.h: what every core module shares: the error codes and the cause string.
 *
 * Every fallible function in core/ returns a dd_err. Detail for a human goes
 * to an optional `char **cause` that the caller frees with free(); passing NULL
 * means "I don't want the detail". A failed call leaves its inputs as they were.
 */
#ifndef DD_H
#define DD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef enum dd_err {
    DD_OK = 0,
    DD_ENOMEM,     /* an allocation failed */
    DD_EINVAL,     /* an argument or parameter is out of its allowed range */
    DD_EPARSE,     /* input text is not in the expected syntax */
    DD_ELIMIT,     /* input exceeds a configured hard limit */
    DD_ETYPE,      /* a value has the wrong type (label, feature) */
    DD_ENONFINITE, /* a value or a result is NaN or infinite */
    DD_EIO,        /* a read or write failed */
    DD_EDB,        /* the SQLite database reported an error */
    DD_ENOTFOUND,  /* a named thing does not exist */
    DD_ESTATE,     /* the operation is not allowed in the current state */
    DD_ECORRUPT,   /* stored data failed an integrity check */
    DD_EVERSION,   /* stored data has a format version this build cannot read */
    DD_EFULL,      /* a bounded structure is full */
    DD_EBUSY,      /* a resource is held by someone else */
    DD_ERR__COUNT
} dd_err;

/* A short, static, lower-case description of err. This function can't fail. */
const char *dd_strerror(dd_err err);

/* If cause is not NULL, set *cause to a newly allocated formatted message
 * (replacing and freeing a previous one). */
void dd_set_cause(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dd_vset_cause(char **cause, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* dd_set_cause(), then evaluate to err, so a caller can write
 * `return dd_fail(cause, DD_EINVAL, "x must be > 0, got %g", x);`. A macro so
 * that static analyzers (which do not follow variadic calls) see the result. */
#define dd_fail(cause, err, ...)                                                                   \
    __extension__({                                                                                \
        dd_set_cause((cause), __VA_ARGS__);                                                        \
        (dd_err)(err);                                                                             \
    })

#define DD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
