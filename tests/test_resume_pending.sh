#!/bin/sh
# test_resume_pending.sh: delayed labels across a kill -9 and a resume.
# Every event has an id and its label comes 300 events later. The run is
# killed after three checkpoints; the restart resumes from the last one, and
# the labels it reads for events held before that checkpoint still join
# (the pending table is part of the checkpoint): no label is unmatched and
# none waits at the end.
set -u
: "${DD_BIN:?}"
if ! command -v sqlite3 > /dev/null 2>&1; then
    echo "SKIP: the sqlite3 command line is not installed (apt-get install sqlite3)"
    exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_resume_pending.XXXXXX") || exit 99
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
cd "$TMP" || exit 99
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
q() { sqlite3 ws/driftdeck.db "$1" 2>/dev/null; }
N=6000
LAG=300

# event i at time i/100, and after it the label of event i-LAG (y = a > 0.5)
awk -v n=$N -v lag=$LAG 'BEGIN {
    srand(11)
    for (i = 0; i < n + lag; i++) {
        ts = i / 100
        if (i < n) {
            a[i] = rand()
            printf "{\"id\":\"e%d\",\"ts\":%.2f,\"x\":{\"a\":%.6f,\"b\":%.6f}}\n", i, ts, a[i], rand()
        }
        j = i - lag
        if (j >= 0)
            printf "{\"id\":\"e%d\",\"ts\":%.2f,\"y\":%d}\n", j, ts, (a[j] > 0.5 ? 1 : 0)
    }
}' > delayed.jsonl

# (the program itself in the background, so $! is its PID)
"$DD_BIN" --headless --workspace ws --source file:delayed.jsonl --speed 10x \
    --set govern.checkpoint_every=500 > run1.jsonl 2> run1.err &
pid=$!
i=0
while [ "$(q 'SELECT count(*) FROM checkpoints')" != 3 ] && [ $i -lt 600 ]; do
    sleep 0.1
    i=$((i + 1))
done
[ $i -lt 600 ] || fail "no third checkpoint within 60 s"
kill -9 "$pid"
wait "$pid" 2> /dev/null
pid=
grep -q '"type":"summary"' run1.jsonl && fail "the first run finished before the kill"
cp_event=$(q 'SELECT event_index FROM checkpoints ORDER BY id DESC LIMIT 1')

"$DD_BIN" --headless --workspace ws --source file:delayed.jsonl --speed max \
    --set govern.checkpoint_every=500 > run2.jsonl 2> run2.err || fail "restart exited $?"
grep -q "resuming from checkpoint" run2.jsonl || fail "no resume: $(head -n 1 run2.jsonl)"
summary=$(grep '"type":"summary"' run2.jsonl)
field() { echo "$summary" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
unmatched=$(field unmatched_labels)
joined=$(field joined_labels)
pending=$(field pending)
echo "killed after checkpoint at event $cp_event; the restart joined $joined labels," \
    "$unmatched unmatched, $pending still held"
[ "$unmatched" = 0 ] || fail "$unmatched labels found no event after the resume"
[ "$pending" = 0 ] || fail "$pending events still wait for a label at the end"
# The checkpoint follows a data event, so the restart reads the labels of
# events cp_event-LAG-1 .. N-1 again: LAG+1 of them for events it does not
# read again, whose inputs only the checkpoint held.
want=$((N - cp_event + LAG + 1))
[ "$joined" = $want ] || fail "the restart joined $joined labels, want $want"

[ $fails = 0 ] || { echo "test_resume_pending: $fails failure(s)"; exit 1; }
echo "test_resume_pending: all checks passed"
