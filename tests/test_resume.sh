#!/bin/sh
# test_resume.sh: kill -9 mid-stream, restart on the same workspace.
#  - while it runs, a second process on the workspace is refused, naming the PID;
#  - after kill -9 the database holds complete checkpoints only (integrity ok,
#    every transition's version exists) and the audit chain verifies;
#  - the restart resumes from the last checkpoint with the same active
#    version, skips nothing and learns nothing twice: the events of the
#    checkpoint plus the events the restart learned equal the stream's length;
#  - a clean end leaves one session per run and a verifiable chain; a run after
#    the stream was read to the end replays it fresh.
set -u
: "${DD_BIN:?}"
if ! command -v sqlite3 >/dev/null 2>&1; then
    echo "SKIP: the sqlite3 command line is not installed (apt-get install sqlite3)"
    exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_resume.XXXXXX") || exit 99
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 99
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
q() { sqlite3 ws/driftdeck.db "$1" 2>/dev/null; }
N=6000

"$DD_BIN" gen sea -n $N --seed 7 --drift 3000 --variants 0,3 -o sea.jsonl || exit 99
# 100 events per second of event time, replayed 10x: about 6 s in all.
"$DD_BIN" --headless --workspace ws --source file:sea.jsonl --speed 10x \
    --set govern.checkpoint_every=500 > run1.jsonl 2> run1.err &
pid=$!

# Poll (up to 60 s) until three checkpoints are committed.
i=0
while [ "$(q 'SELECT count(*) FROM checkpoints')" != 3 ] && [ $i -lt 600 ]; do
    sleep 0.1; i=$((i + 1))
done
[ $i -lt 600 ] || fail "no third checkpoint within 60 s"

# A second process on the same workspace is refused and told who holds it.
"$DD_BIN" --headless --workspace ws --source file:sea.jsonl > /dev/null 2> second.err
rc=$?
[ $rc = 2 ] || fail "second process exit $rc, want 2"
grep -q "in use by process $pid" second.err || fail "second process message: $(cat second.err)"

kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=
grep -q '"type":"summary"' run1.jsonl && fail "the first run finished before the kill"

[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "integrity check after kill -9"
[ "$(q 'SELECT count(*) FROM transitions t LEFT JOIN versions v ON v.id = t.version_id
        WHERE v.id IS NULL')" = 0 ] || fail "a transition names a missing version"
"$DD_BIN" audit verify --workspace ws || fail "audit verify after kill -9"
cp_event=$(q 'SELECT event_index FROM checkpoints ORDER BY id DESC LIMIT 1')
active=$(q "SELECT id FROM versions WHERE status = 'active'")
[ "$(q 'SELECT active_id FROM checkpoints ORDER BY id DESC LIMIT 1')" = "$active" ] ||
    fail "the last checkpoint's active version is not the registry's"
echo "killed after checkpoint at event $cp_event, version $active active"

# The same command line (a resume needs the same source and configuration).
"$DD_BIN" --headless --workspace ws --source file:sea.jsonl --set govern.checkpoint_every=500 \
    > run2.jsonl 2> run2.err || fail "restart exited $?"
head -n 1 run2.jsonl
grep -q "resuming from checkpoint .* at event $cp_event (version $active active)" run2.jsonl ||
    fail "restart did not resume from event $cp_event with version $active"
[ "$(q "SELECT json_extract(payload, '$.active') FROM audit WHERE kind = 'resume'")" = "$active" ] ||
    fail "the resume entry names another active version"
summary=$(grep '"type":"summary"' run2.jsonl)
gov=$(grep '"type":"governance"' run2.jsonl)
events=$(echo "$summary" | sed -n 's/.*"events":\([0-9]*\).*/\1/p')
total=$(echo "$gov" | sed -n 's/.*"workspace_events":\([0-9]*\).*/\1/p')
echo "restart learned $events events; the workspace has seen $total"
[ "$((cp_event + events))" = $N ] || fail "checkpoint $cp_event + restart $events != $N"
[ "$total" = $N ] || fail "workspace events $total != $N"
echo "$gov" | grep -q '"skipped":1' || fail "the checkpointed event was not skipped once"
[ "$(q 'SELECT count(*) FROM sessions')" = 2 ] || fail "sessions: $(q 'SELECT count(*) FROM sessions')"
[ "$(q 'SELECT end_reason FROM sessions WHERE id = 2')" = "end of stream" ] || fail "session 2 not ended"
head=$(echo "$gov" | sed -n 's/.*"audit_head":"\([0-9a-f]*\)".*/\1/p')
[ "$head" = "$(q 'SELECT hash FROM audit ORDER BY seq DESC LIMIT 1')" ] ||
    fail "the published head is not the committed head"
"$DD_BIN" audit verify --workspace ws --expect-head "$head" || fail "audit verify after the restart"

# A third run on the finished stream replays it from the start, fresh: a new
# start version serves and the previous active version is retired.
"$DD_BIN" --headless --workspace ws --source file:sea.jsonl --set govern.checkpoint_every=500 \
    > run3.jsonl 2> run3.err
grep -q "read this stream to the end, so this run starts fresh" run3.jsonl ||
    fail "run 3: $(head -n 1 run3.jsonl)"
grep '"type":"summary"' run3.jsonl | grep -q "\"events\":$N," || fail "the replay did not learn all $N events"
[ "$(q "SELECT trigger FROM versions WHERE status = 'active'")" = start ] || fail "no fresh start version"
[ "$(q "SELECT status FROM versions WHERE id = $active")" = retired ] || fail "version $active not retired"
"$DD_BIN" audit verify --workspace ws > /dev/null || fail "audit verify after the replay"

[ $fails = 0 ] || { echo "test_resume: $fails failure(s)"; exit 1; }
echo "test_resume: all checks passed"
