#!/bin/sh
# test_drift_headless.sh: the drift watch points through the real binary.
#  - on a SEA stream with a concept drift at 5000, the error watch point
#    (ADWIN) reports a drift line with its watch point, level, detector and
#    statistics after the true point; standardized feature watch points stay
#    almost quiet (SEA's features do not drift);
#  - on a stream whose feature "t" jumps at 3000, the feature watch point
#    reports it by name, and a noisy feature is rate-limited by its quiet period;
#  - [drift] settings pick detectors and parameters per watch point; bad
#    ones get a clear error and exit 2.
set -u
DD=${DD_BIN:?DD_BIN is not set}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_drift_headless.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 99
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
field() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p"; }

"$DD" gen sea -n 10000 --seed 3 --drift 5000 --variants 0,3 -o sea.jsonl || fail "gen exited $?"
"$DD" --headless --source file:sea.jsonl > out.jsonl 2> err.txt || fail "run exited $?"
line=$(grep '"watch":"error"' out.jsonl | awk -F'"event":' '{ split($2, a, ","); if (a[1] >= 5000) print }' | head -n 1)
[ -n "$line" ] || fail "no error-stream drift after 5000: $(grep '"type":"drift"' out.jsonl)"
echo "$line" | grep -q '^{"type":"drift","level":"drift","watch":"error","detector":"adwin","event":[0-9]*,' ||
    fail "drift line shape: $line"
echo "$line" | grep -q '"values":{"width":[0-9.e+]*,"mean":[-0-9.e+]*,"variance":' ||
    fail "drift line lacks ADWIN's statistics: $line"
nfeat=$(grep -c '"watch":"feature"' out.jsonl)
[ "$nfeat" -le 3 ] || fail "$nfeat feature alerts on SEA's stationary features"

# A feature that jumps at 3000 and a noisy one that jumps every 100 events.
awk 'BEGIN { srand(5); for (i = 0; i < 6000; i++) {
        t = (i < 3000 ? 20 : 26) + 2 * (rand() + rand() + rand() - 1.5);
        n = (int(i / 100) % 2 ? 50 : 0) + rand();
        printf "{\"id\":\"e-%d\",\"x\":{\"t\":%.4f,\"noisy\":%.4f},\"y\":%d}\n", i, t, n, rand() < 0.5 } }' > f.jsonl
"$DD" --headless --source file:f.jsonl --set drift.feature_quiet=2000 > f.out 2> f.err ||
    fail "feature run exited $?: $(cat f.err)"
t=$(grep '"watch":"feature","feature":"t"' f.out | field event | awk '$1 >= 3000' | head -n 1)
[ -n "$t" ] && [ "$t" -lt 3200 ] || fail "feature t's jump at 3000 found at '$t'"
noisy=$(grep -c '"feature":"noisy"' f.out)
[ "$noisy" -ge 1 ] && [ "$noisy" -le 3 ] || fail "noisy feature: $noisy alerts, quiet 2000 allows 3"
grep '"feature":"noisy"' f.out | tail -n 1 | grep -q '"suppressed":[1-9]' ||
    fail "noisy feature's alerts do not count what was held back"
summary=$(grep '"type":"summary"' f.out)
alerts=$(grep -c '"watch":"feature"\|"watch":"prediction"' f.out)
[ "$(echo "$summary" | field alerts)" = "$alerts" ] || fail "summary alerts != $alerts: $summary"
[ "$(echo "$summary" | field alerts_suppressed)" -ge 1 ] || fail "summary lacks suppressed: $summary"
"$DD" --headless --source file:f.jsonl --set drift.max_features=1 > m.out 2>&1 || fail "max_features=1"
grep '"type":"summary"' m.out | grep -q '"unwatched_features":6000' ||
    fail "one feature of two should be unwatched: $(grep summary m.out)"

# KSWIN on features, by configuration; detectors off.
"$DD" --headless --source file:f.jsonl --set drift.feature_detector=kswin \
    --set 'drift.feature_params=alpha=0.0001, window_size=200, stat_size=50' \
    --set drift.feature_standardize=false > k.out 2> k.err || fail "kswin run exited $?: $(cat k.err)"
grep -q '"watch":"feature","feature":"t","detector":"kswin"' k.out || fail "no kswin alert on t"
"$DD" --headless --source file:f.jsonl --set drift.feature_detector=none \
    --set drift.prediction_detector=none > n.out 2> n.err || fail "none run exited $?"
grep -q '"watch":"feature"\|"watch":"prediction"' n.out && fail "alerts from watch points set to none"

# Bad settings: exit 2 and a message naming the setting.
expect_error() {
    pattern=$1
    shift
    "$DD" --headless --source file:f.jsonl "$@" > /dev/null 2> e.txt
    rc=$?
    [ $rc = 2 ] || fail "$*: exit $rc, expected 2"
    grep -q -- "$pattern" e.txt || fail "$*: message lacks '$pattern': $(cat e.txt)"
}
expect_error "error watch: unknown detector 'nope'" --set drift.error_detector=nope
expect_error "delta must be in" --set drift.error_params=delta=2
expect_error "pagehinkley has no parameter 'clock'" --set drift.feature_params=clock=3
expect_error "max_features" --set drift.max_features=-1

[ $fails = 0 ] || { echo "test_drift_headless: $fails failure(s)"; exit 1; }
echo "test_drift_headless: all checks passed"
