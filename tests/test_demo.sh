#!/bin/sh
# test_demo.sh: the bundled demo stream shows what data/README.md promises: the
# headless pipeline learns it (prequential accuracy above 0.9) and reports a drift
# after each of the three true drifts (abrupt at 5000 and 15000, gradual across
# 9000..11000), and none before the first one.
set -u
DD=${DD_BIN:?DD_BIN is not set}
SRC=${DD_SRCDIR:?DD_SRCDIR is not set}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_demo.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 99

"$DD" --headless --source "file:$SRC/data/demo.jsonl" > out.jsonl 2> err.txt
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: headless run exited $rc: $(cat err.txt)"; exit 1; }
summary=$(grep '"type":"summary"' out.jsonl)
[ -n "$summary" ] || { echo "FAIL: no summary line"; exit 1; }
echo "$summary"
drifts=$(echo "$summary" | sed -n 's/.*"drifts":\[\([0-9,]*\)\].*/\1/p' | tr ',' ' ')
accuracy=$(echo "$summary" | sed -n 's/.*"accuracy":\([0-9.]*\).*/\1/p')

fails=0
awk -v a="$accuracy" 'BEGIN { exit !(a > 0.9) }' || { echo "FAIL: accuracy $accuracy <= 0.9"; fails=1; }
found() { # LO HI: some drift reported in [LO, HI]
    for d in $drifts; do [ "$d" -ge "$1" ] && [ "$d" -le "$2" ] && return 0; done
    return 1
}
found 5000 5600 || { echo "FAIL: no drift reported in 5000..5600 (drifts: $drifts)"; fails=1; }
found 9000 11600 || { echo "FAIL: no drift reported in 9000..11600 (drifts: $drifts)"; fails=1; }
found 15000 15600 || { echo "FAIL: no drift reported in 15000..15600 (drifts: $drifts)"; fails=1; }
for d in $drifts; do
    [ "$d" -lt 5000 ] && { echo "FAIL: drift at $d, before the first true drift"; fails=1; }
done
exit $fails
