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
#include <cmocka.h>

/* cmocka has no double comparison: fail unless |a - b| <= tol. */
#define assert_close(a, b, tol)                                                                   \
    do {                                                                                          \
        double a_ = (a), b_ = (b), t_ = (tol);                                                    \
        if (!(fabs(a_ - b_) <= t_))                                                               \
            fail_msg("%s = %.17g, expected %.17g (tolerance %g)", #a, a_, b_, t_);               \
    } while (0)

#endif
