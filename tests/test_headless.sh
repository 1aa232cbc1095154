#!/bin/sh
# test_headless.sh: the headless pipeline end to end, from a file to learning
# to drift, through the real binary:
#  - on a generated SEA stream with one abrupt drift at 5000 (theta 8 -> 9.5), prequential
#    accuracy is above 0.80 and ADWIN reports a drift after the true point
#    (and not long after it);
#  - malformed lines are counted in status and the summary, dead-lettered with
#    their line number and reason, and the stream goes on;
#  - a missing file, an unknown option and a bad configuration value get a
#    one-line error on stderr and exit code 2;
#  - --print-config shows every default and round-trips through --config.
set -u
DD=${DD_BIN:?DD_BIN is not set}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_headless.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 99
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
field() { # field NAME < json line: the number after "NAME":
    sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p"
}

"$DD" gen sea -n 10000 --seed 3 --drift 5000 --variants 0,3 -o sea.jsonl || fail "gen exited $?"
"$DD" --headless --source file:sea.jsonl > out.jsonl 2> err.txt || fail "run exited $?"
summary=$(grep '"type":"summary"' out.jsonl)
[ -n "$summary" ] || fail "no summary line"
acc=$(echo "$summary" | field accuracy)
events=$(echo "$summary" | field events)
[ "$events" = 10000 ] || fail "summary events = $events, expected 10000"
awk -v a="$acc" 'BEGIN { exit !(a > 0.80) }' || fail "accuracy $acc is not above 0.80"
first=$(grep '"type":"drift"' out.jsonl | grep '"watch":"error"' | field event | awk '$1 >= 5000' | head -n 1)
[ -n "$first" ] || fail "no drift reported after the true drift at 5000"
[ -n "$first" ] && { [ "$first" -le 6000 ] || fail "first drift after 5000 is late: $first"; }
grep -q '"drifts":\[[0-9,]*'"$first" out.jsonl || fail "summary drifts do not list $first"
grep -q '"type":"status"' out.jsonl || true # status lines appear on slow runs only

# Bad input: counted, dead-lettered with line number and reason, stream goes on.
{ head -n 100 sea.jsonl; echo 'not json'; echo; echo '{"x":{"a":1e400}}';
  printf '{"x":{"a":"\377"}}\n'; sed -n '101,200p' sea.jsonl; } > bad.jsonl
"$DD" --headless --source file:bad.jsonl > bad.out 2>&1 || fail "bad input run exited $?"
s=$(grep '"type":"summary"' bad.out)
[ "$(echo "$s" | field malformed)" = 4 ] || fail "malformed count: $s"
[ "$(echo "$s" | field events)" = 200 ] || fail "events after bad lines: $s"
dl=driftdeck.deadletter.jsonl
[ "$(wc -l < $dl)" = 4 ] || fail "dead-letter lines: $(cat $dl)"
grep -q '"line":101,"reason":"invalid JSON' $dl || fail "dead letter lacks line/reason: $(cat $dl)"
grep -q '"line":104,.*"raw_base64"' $dl || fail "binary garbage not kept as base64: $(cat $dl)"
[ "$(stat -c %a $dl)" = 600 ] || fail "dead-letter file mode is $(stat -c %a $dl), expected 600"

# Usage errors: one line on stderr, exit code 2.
"$DD" --headless --source file:nope.jsonl > /dev/null 2> e1.txt; rc=$?
[ $rc = 2 ] || fail "missing file: exit $rc"
[ "$(wc -l < e1.txt)" = 1 ] && grep -q 'nope.jsonl' e1.txt || fail "missing file message: $(cat e1.txt)"
"$DD" --headless --bogus > /dev/null 2> e2.txt; rc=$?
[ $rc = 2 ] || fail "unknown option: exit $rc"
grep -q "unknown option '--bogus'" e2.txt || fail "unknown option message: $(cat e2.txt)"
printf '[model]\nlr = 0.01\n\n[model]\noptimizer = nesterov\n' > bad.ini
"$DD" --headless --config bad.ini > /dev/null 2> e3.txt; rc=$?
[ $rc = 2 ] || fail "bad config: exit $rc"
grep -q 'bad.ini:5: \[model\] optimizer = nesterov: must be one of sgd, adagrad, adam, ftrl' e3.txt ||
    fail "bad config message: $(cat e3.txt)"

# --print-config: every key, and what it prints reads back the same.
"$DD" --print-config --set model.lr=0.125 --speed 10x > eff.ini || fail "print-config exited $?"
grep -q '^lr = 0.125$' eff.ini || fail "override not shown: $(grep lr eff.ini)"
grep -q '^speed = 10x$' eff.ini || fail "speed not shown"
grep -q '^hash_bits = 0$' eff.ini || fail "default not shown (hash_bits = 0: auto)"
"$DD" --print-config --config eff.ini | sed 1d > again.ini
sed 1d eff.ini | cmp -s - again.ini || fail "print-config does not round-trip"

[ $fails = 0 ] || { echo "test_headless: $fails failure(s)"; exit 1; }
echo "test_headless: all checks passed"
