/*
 * testutil.h: small helpers shared by the cmocka tests.
 */
#ifndef DD_TESTUTIL_H
#define DD_TESTUTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

/* cmocka has no double comparison: fail unless |a - b| <= tol. */
#define assert_close(a, b, tol)                                                                   \
    do {                                                                                          \
        double a_ = (a), b_ = (b), t_ = (tol);                                                    \
        if (!(fabs(a_ - b_) <= t_))                                                               \
            fail_msg("%s = %.17g, expected %.17g (tolerance %g)", #a, a_, b_, t_);               \
    } while (0)

/* A test group's scratch directory: /tmp/dd-NAME-XXXXXX into dir (at least
 * 32 bytes), for a cmocka group setup; 0 or -1 as cmocka wants. */
static inline int test_dir_make(char *dir, size_t n, const char *name)
{
    snprintf(dir, n, "/tmp/dd-%s-XXXXXX", name);
    return mkdtemp(dir) ? 0 : -1;
}

/* Remove it and everything below it, for the group teardown. */
static inline int test_dir_remove(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
