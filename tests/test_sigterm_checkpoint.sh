#!/bin/sh
# test_sigterm_checkpoint.sh: SIGTERM while checkpoints are being written, many
# times over, and the workspace's permissions.
#  - a run with a checkpoint every 50 events is sent SIGTERM at a different
#    moment each round (so some land inside a checkpoint's transaction); every
#    time it exits 0 with a summary, and afterwards the database passes
#    SQLite's integrity check, its audit chain verifies, and the next run on
#    the same workspace opens it and goes on;
#  - the workspace directory driftdeck creates is 0700 and its database 0600,
#    whatever the caller's umask.
set -u
: "${DD_BIN:?}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_sigterm.XXXXXX") || exit 99
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 99
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$DD_BIN" gen agrawal -n 40000 --seed 3 --drift 20000 -o s.jsonl || exit 99
umask 022
for round in 1 2 3 4 5 6; do
    "$DD_BIN" --headless --workspace ws --source file:s.jsonl --speed 200x \
        --set govern.checkpoint_every=50 > run$round.jsonl 2> run$round.err &
    pid=$!
    # Wait until this round has committed a checkpoint (the database exists
    # and counts one more), then a little longer each round, then SIGTERM.
    i=0
    while ! grep -q '"type":"status"' run$round.jsonl 2>/dev/null && [ $i -lt 300 ]; do
        sleep 0.1; i=$((i + 1))
    done
    j=0
    while [ $j -lt $round ]; do sleep 0.05; j=$((j + 1)); done
    kill -TERM $pid
    wait $pid; rc=$?
    pid=
    [ $rc = 0 ] || fail "round $round: exit $rc after SIGTERM: $(tail -n 3 run$round.err)"
    grep -q '"type":"summary"' run$round.jsonl || fail "round $round: no summary after SIGTERM"
    ok=$(sqlite3 ws/driftdeck.db 'PRAGMA integrity_check' 2>&1)
    [ "$ok" = ok ] || fail "round $round: integrity_check says $ok"
    "$DD_BIN" audit verify --workspace ws > verify$round.txt 2>&1 ||
        fail "round $round: audit verify: $(cat verify$round.txt)"
done
n=$(sqlite3 ws/driftdeck.db 'SELECT count(*) FROM checkpoints' 2>&1)
[ "${n:-0}" -ge 1 ] 2>/dev/null || fail "no checkpoint was ever committed ($n)"

[ "$(stat -c %a ws)" = 700 ] || fail "workspace directory is $(stat -c %a ws), expected 700"
[ "$(stat -c %a ws/driftdeck.db)" = 600 ] || fail "database is $(stat -c %a ws/driftdeck.db)"
for f in ws/*; do
    [ -d "$f" ] && continue
    m=$(stat -c %a "$f")
    [ "$m" = 600 ] || fail "$f is $m, expected 600"
done

[ $fails = 0 ] || { echo "test_sigterm_checkpoint: $fails failure(s)"; exit 1; }
echo "test_sigterm_checkpoint: all checks passed"
