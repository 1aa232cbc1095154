#!/bin/sh
# test_detect.sh: `driftdeck detect` from the command line.
#  - each detector reproduces River's detections on a reference stream, from a
#    file and from stdin, with parameters by their configuration names;
#  - warnings: one line on entering the zone, every step with --every-warning;
#  - unknown detectors and parameters, out-of-range values, bad lines and
#    missing files: a clear error naming the culprit (and the line) and exit 2.
set -u
DD=${DD_BIN:?DD_BIN is not set}
SRC=${DD_SRCDIR:?DD_SRCDIR is not set}
IN="$SRC/tests/data/drift/inputs"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_detect.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect OUTPUT-LINES ARGS...: runs detect, checks exit 0 and stdout.
expect() {
    want=$1
    shift
    "$DD" detect "$@" > "$TMP/out" 2> "$TMP/err" || fail "detect $* exited $?: $(cat "$TMP/err")"
    got=$(tr '\n' ' ' < "$TMP/out" | sed 's/ $//')
    [ "$got" = "$want" ] || fail "detect $*: got '$got', want '$want'"
}

# River 0.21.0 (post-fix ADWIN) on the reference streams: tests/data/drift.
expect "drift 1055" adwin "$IN/bernoulli_p02_p08_seed42.txt"
expect "drift 1028" adwin --param clock=1 "$IN/bernoulli_p02_p08_seed42.txt"
expect "drift 1023 drift 2015 drift 3007" adwin "$IN/river_adwin_regtest_multi.txt"
expect "drift 1011 drift 1920" pagehinkley "$IN/gauss_mu0_mu3_seed42.txt"
expect "drift 1011" pagehinkley --param mode=up "$IN/gauss_mu0_mu3_seed42.txt"
expect "drift 1172" pagehinkley -p mode=down "$IN/river_test_stream3.txt"
expect "warning 1059 drift 1278" eddm --param alpha=0.8 --param beta=0.75 "$IN/river_doc_streamB.txt"
# DDM's warning zone flickers: one line each time it is entered.
expect "warning 1084 warning 1086 warning 1095 drift 1334 warning 1492 warning 1500 warning 1504 \
warning 1511 warning 1534 warning 1644 warning 1652 warning 1809 warning 1856 warning 1859 \
warning 1863" ddm "$IN/river_doc_streamB.txt"
# KSWIN with driftdeck's sampler (River's Mersenne Twister draws find 1021).
expect "drift 1017" kswin "$IN/bernoulli_p02_p08_seed42.txt"

# From stdin, the same.
"$DD" detect adwin < "$IN/bernoulli_p02_p08_seed42.txt" > "$TMP/out" || fail "stdin exited $?"
[ "$(cat "$TMP/out")" = "drift 1055" ] || fail "stdin: got '$(cat "$TMP/out")'"
"$DD" detect adwin - < "$IN/bernoulli_p02_p08_seed42.txt" > "$TMP/out" || fail "'-' exited $?"
[ "$(cat "$TMP/out")" = "drift 1055" ] || fail "'-': got '$(cat "$TMP/out")'"

# --every-warning lists every step in the zone (River lists 587 for DDM here).
"$DD" detect ddm --every-warning "$IN/river_doc_streamB.txt" > "$TMP/out" || fail "every-warning"
[ "$(grep -c '^warning' "$TMP/out")" -eq 587 ] ||
    fail "ddm --every-warning: $(grep -c '^warning' "$TMP/out") warnings, River has 587"

# Blank-padded numbers and CRLF line ends are numbers too.
printf '0.5\r\n 1 \n2e-1\n' | "$DD" detect adwin > "$TMP/out" || fail "padded numbers rejected"

# expect_error PATTERN ARGS...: exit 2, nothing on stdout, PATTERN on stderr.
expect_error() {
    pattern=$1
    shift
    "$DD" detect "$@" > "$TMP/out" 2> "$TMP/err" < "${STDIN:-/dev/null}"
    rc=$?
    [ "$rc" -eq 2 ] || fail "detect $* exited $rc, expected 2"
    grep -q -- "$pattern" "$TMP/err" || fail "detect $*: stderr lacks '$pattern': $(cat "$TMP/err")"
}
expect_error "unknown drift detector 'nosuch'" nosuch "$IN/river_test_stream1.txt"
expect_error "adwin has no parameter 'deltaa'" adwin --param deltaa=0.1 "$IN/river_test_stream1.txt"
expect_error "delta must be in" adwin --param delta=2 "$IN/river_test_stream1.txt"
expect_error "clock must be an integer" adwin --param clock=2.5 "$IN/river_test_stream1.txt"
expect_error "is not a number" pagehinkley --param threshold=high "$IN/river_test_stream1.txt"
expect_error "is not a number" pagehinkley --param mode=sideways "$IN/river_test_stream1.txt"
expect_error "alpha (0.5) must be >= beta" eddm --param alpha=0.5 "$IN/river_test_stream1.txt"
expect_error "NAME=VALUE" adwin --param delta "$IN/river_test_stream1.txt"
expect_error "needs NAME=VALUE" adwin --param
expect_error "unknown option" adwin --fast "$IN/river_test_stream1.txt"
expect_error "No such file" adwin "$TMP/missing.txt"
expect_error "usage" 
printf '1\n0\nzero\n1\n' > "$TMP/bad.txt"
expect_error "bad.txt:3: not a finite number: 'zero'" adwin "$TMP/bad.txt"
printf '1\n\n1\n' > "$TMP/blank.txt"
expect_error "blank.txt:2: not a finite number" adwin "$TMP/blank.txt"
printf '1\nnan\n' > "$TMP/nan.txt"
expect_error "nan.txt:2: not a finite number" adwin "$TMP/nan.txt"
printf '1\0002\n' > "$TMP/nul.txt"
expect_error "nul.txt:1: not a finite number" adwin "$TMP/nul.txt"
printf '1 2\n' > "$TMP/two.txt"
expect_error "two.txt:1: not a finite number" adwin "$TMP/two.txt"

"$DD" detect --help > "$TMP/out" || fail "--help exited $?"
for k in adwin pagehinkley ddm eddm kswin min_window_length warning_threshold stat_size; do
    grep -q "$k" "$TMP/out" || fail "--help does not mention $k"
done

[ "$fails" -eq 0 ] || exit 1
exit 0
