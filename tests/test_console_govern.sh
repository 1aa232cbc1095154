#!/bin/sh
# test_console_govern.sh: governance from the console, in a real terminal.
# Operator approval mode, gated: a challenger beats the frozen first version
# and waits; the console shows it; `a` and confirming approve it; the
# registry records the transition with the operator's user name as actor and
# the audit chain verifies.
set -u
DD=${DD_BIN:?DD_BIN is not set}
SRC=${DD_SRCDIR:?DD_SRCDIR is not set}
. "$SRC/tests/tmux_lib.sh"
command -v sqlite3 > /dev/null 2>&1 || { echo "SKIP: sqlite3 is not installed"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_console_govern.XXXXXX") || exit 99
trap 'cleanup_tmux; rm -rf "$TMP"' EXIT
ME=$(id -un)

"$DD" gen stagger -n 9000 --seed 5 --drift 4000 --variants 0,1 -o "$TMP/st.jsonl" || exit 99
start g 200 50 "cd $TMP && $DD --workspace $TMP/ws --source file:$TMP/st.jsonl --speed 20 \
    --set govern.mode=gated --set govern.checkpoint_every=500 --set govern.approval=operator"
wait_for g 'AWAITS APPROVAL' 60 && ok "a version awaits approval" || fail "nothing awaits approval"
keys g a
wait_for g 'Approve promotion' 20 && ok "approval dialog" || fail "no approval dialog"
keys g y Enter
wait_for g "approve by $ME" 20 && ok "approved by $ME" || fail "no approval answer"
keys g q
wait_for g 'EXIT=' 30 || fail "the console did not quit"
n=$(sqlite3 "$TMP/ws/driftdeck.db" "SELECT count(*) FROM transitions WHERE actor = '$ME'
    AND from_status = 'awaiting_approval' AND to_status = 'canary'")
[ "$n" = 1 ] && ok "registry: approved by $ME" || fail "registry: $n operator approvals"
"$DD" audit verify --workspace "$TMP/ws" > /dev/null && ok "audit verifies" || fail "audit verify"
[ $fails = 0 ] || { echo "test_console_govern: $fails failure(s)"; exit 1; }
echo "test_console_govern: all checks passed"
