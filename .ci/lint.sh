#!/bin/sh
# lint.sh SRCDIR: cppcheck and clang-tidy (bug-prone checks and the static
# analyzer, see .clang-tidy) over every C source of driftdeck; exits non-zero
# on any finding. Called by `make lint` and by CI.
set -u
SRC=${1:-.}
cd "$SRC" || exit 2
CFLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DDD_PKGDATADIR=\"\" -DDD_SRCDATADIR=\"\"
 -Icore -Isrc -Iui $(pkg-config --cflags libcjson sqlite3 libcrypto inih libwebsockets ncursesw cmocka rdkafka 2>/dev/null)"
files=$(ls core/*.c src/*.c ui/*.c 2>/dev/null)
rc=0
echo "lint: cppcheck"
# shellcheck disable=SC2086
cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr --std=c11 \
    -Icore -Isrc -Iui --suppress=missingIncludeSystem -D__GNUC__ $files || rc=1
echo "lint: clang-tidy"
# Two files at a time (the machines have two cores); each prints only on a finding.
export CFLAGS
# shellcheck disable=SC2016,SC2086
echo $files | tr ' ' '\n' | xargs -P 2 -I{} sh -c \
    'out=$(clang-tidy --quiet "{}" -- $CFLAGS -DDD_HAVE_KAFKA=1 2>/dev/null) || { echo "$out"; exit 1; }' ||
    rc=1
[ $rc = 0 ] && echo "lint: clean"
exit $rc
