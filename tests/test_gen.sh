#!/bin/sh
# test_gen.sh: `driftdeck gen` from the command line.
#  - the committed demo stream is exactly what data/make-demo.sh makes (so
#    data/README.md's drift positions describe the file that ships);
#  - the same seed gives the same bytes, another seed other bytes;
#  - bad options and unwritable outputs get a one-line error and exit code 2.
set -u
DD=${DD_BIN:?DD_BIN is not set}
SRC=${DD_SRCDIR:?DD_SRCDIR is not set}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_gen.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$SRC/data/make-demo.sh" "$DD" "$TMP/demo.jsonl" || fail "make-demo.sh exited $?"
cmp -s "$TMP/demo.jsonl" "$SRC/data/demo.jsonl" ||
    fail "data/demo.jsonl differs from what data/make-demo.sh makes now"
lines=$(wc -l < "$TMP/demo.jsonl")
[ "$lines" -eq 20000 ] || fail "demo has $lines lines, expected 20000"

for kind in sea hyperplane agrawal stagger; do
    "$DD" gen $kind -n 500 --seed 11 --drift 200:50 > "$TMP/a" || fail "$kind exited $?"
    "$DD" gen $kind -n 500 --seed 11 --drift 200:50 -o "$TMP/b" || fail "$kind -o exited $?"
    "$DD" gen $kind -n 500 --seed 12 --drift 200:50 > "$TMP/c" || fail "$kind seed 12 exited $?"
    cmp -s "$TMP/a" "$TMP/b" || fail "$kind: same seed, different output"
    cmp -s "$TMP/a" "$TMP/c" && fail "$kind: seeds 11 and 12 gave the same output"
    [ "$(wc -l < "$TMP/a")" -eq 500 ] || fail "$kind: expected 500 lines"
done
head -n 1 "$TMP/a" | grep -q '^{"id":"e-0","ts":1700000000,"x":{"size":"[a-z]*","color":"[a-z]*","shape":"[a-z]*"},"y":[01]}$' ||
    fail "unexpected line shape: $(head -n 1 "$TMP/a")"

expect_usage_error() {
    "$DD" gen "$@" > "$TMP/out" 2> "$TMP/err"
    rc=$?
    [ "$rc" -eq 2 ] || fail "gen $* exited $rc, expected 2"
    [ "$(wc -l < "$TMP/err")" -eq 1 ] || fail "gen $*: expected one line on stderr, got: $(cat "$TMP/err")"
    [ -s "$TMP/out" ] && fail "gen $*: wrote to stdout"
}
expect_usage_error nosuchkind
expect_usage_error sea -n many
expect_usage_error sea --drift 10:x
expect_usage_error sea --drift 500 --drift 100
expect_usage_error sea --variants 0,1
expect_usage_error sea --variants 7
expect_usage_error sea --noise 1.5
expect_usage_error sea --features 4
expect_usage_error agrawal --mag-change 0.1
expect_usage_error hyperplane --perturbation 0.1
expect_usage_error sea --no-such-option
expect_usage_error sea stray
expect_usage_error sea -o "$TMP/no/such/dir/out.jsonl"
if [ -w /dev/full ]; then
    "$DD" gen sea -n 100000 -o /dev/full 2> "$TMP/err"
    [ $? -eq 2 ] || fail "writing to /dev/full did not exit 2"
fi
"$DD" gen --help | grep -q 'Street & Kim' || fail "--help does not describe the generators"

[ "$fails" -eq 0 ] || exit 1
echo "test_gen.sh: all passed"
