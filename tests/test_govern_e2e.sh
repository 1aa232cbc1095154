#!/bin/sh
# test_govern_e2e.sh: governance end to end, headless, through the real binary.
# A STAGGER stream changes concept at 4000 (A -> B) and back at 5600 (B -> A).
# Gated mode: the active version is frozen, so a candidate that learns the new
# concept clearly beats it (in continuous mode the active learner adapts by
# itself, and a candidate rarely wins by the margin).
# Asserted from the registry and the audit log:
#  - after the drift a candidate is created, shadowed, approved by policy,
#    canaried and promoted, in that order;
#  - over the same events after the promotion, the promoted version is more
#    accurate than the version it replaced;
#  - when the stream returns to A the new version is worse: an automatic
#    rollback makes a clone of the replaced version active, and says why;
#  - the audit chain verifies, and against the head the run published.
set -u
: "${DD_BIN:?}"
if ! command -v sqlite3 >/dev/null 2>&1; then
    echo "SKIP: the sqlite3 command line is not installed (apt-get install sqlite3)"
    exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_govern_e2e.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 99
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
q() { sqlite3 ws/driftdeck.db "$1"; }

"$DD_BIN" gen stagger -n 9000 --seed 5 --drift 4000 --drift 5600 --variants 0,1,0 -o st.jsonl ||
    exit 99
"$DD_BIN" --headless --workspace ws --source file:st.jsonl --auto-approve \
    --set govern.mode=gated --set govern.checkpoint_every=500 > out.jsonl 2> err.txt || fail "run exited $?"
q "SELECT id, parent_id, trigger, status, created_event FROM versions" | sed 's/^/version /'
q "SELECT version_id, from_status, to_status, actor, event_index, reason FROM transitions
   WHERE from_status IS NOT NULL" | sed 's/^/move /'

# The promoted version: went canary -> active after the drift at 4000.
P=$(q "SELECT version_id FROM transitions WHERE from_status = 'canary' AND to_status = 'active'
       AND event_index > 4000 ORDER BY id LIMIT 1")
[ -n "$P" ] || { fail "no version was promoted after the drift"; P=0; }
[ "$(q "SELECT trigger FROM versions WHERE id = $P")" = drift ] || fail "version $P: not a drift candidate"
path=$(q "SELECT group_concat(to_status, '>') FROM (SELECT to_status FROM transitions
          WHERE version_id = $P ORDER BY id)")
case "$path" in
candidate\>shadow\>awaiting_approval\>canary\>active*) ;;
*) fail "version $P went $path" ;;
esac
[ "$(q "SELECT count(*) FROM audit WHERE kind = 'approval' AND actor = 'policy'
        AND json_extract(payload, '$.version') = $P
        AND json_extract(payload, '$.decision') = 'approve'")" = 1 ] || fail "no policy approval of $P"
[ "$(q "SELECT created_event > 4000 FROM versions WHERE id = $P")" = 1 ] || fail "candidate before the drift"
OLD=$(q "SELECT version_id FROM transitions WHERE to_status = 'retired'
         AND reason = 'replaced by version $P'")
[ -n "$OLD" ] || { fail "nothing was retired for $P"; OLD=0; }
promoted_at=$(q "SELECT event_index FROM transitions WHERE version_id = $P AND to_status = 'active'")

# The same window after the promotion, before the stream returns to A.
better=$(q "SELECT count(*) FROM metrics a JOIN metrics b ON a.event_index = b.event_index
            WHERE a.version_id = $P AND a.role = 'active' AND b.version_id = $OLD
            AND b.role = 'previous' AND a.event_index BETWEEN $promoted_at + 200 AND 5600
            AND a.rolling > b.rolling")
rows=$(q "SELECT count(*) FROM metrics WHERE version_id = $OLD AND role = 'previous'
          AND event_index BETWEEN $promoted_at + 200 AND 5600")
echo "after promotion at $promoted_at: $better of $rows paired metric rows favour version $P"
[ "$rows" -ge 2 ] && [ "$better" = "$rows" ] || fail "version $P did not beat $OLD on the same window"

# Back to concept A: automatic rollback to a clone of OLD.
rb=$(q "SELECT event_index FROM transitions WHERE version_id = $P AND to_status = 'rolled_back'")
[ -n "$rb" ] && [ "$rb" -gt 5600 ] || fail "version $P was not rolled back after 5600 ($rb)"
C=$(q "SELECT id FROM versions WHERE trigger = 'rollback' AND parent_id = $OLD")
[ -n "$C" ] || { fail "no rollback clone of $OLD"; C=0; }
[ "$(q "SELECT to_status FROM transitions WHERE version_id = $C ORDER BY id LIMIT 1 OFFSET 1")" = active ] ||
    fail "clone $C did not become active"
[ "$(q "SELECT count(*) FROM audit WHERE kind = 'rollback' AND json_extract(payload, '$.from') = $P
        AND json_extract(payload, '$.to') = $OLD AND json_extract(payload, '$.reason') <> ''")" = 1 ] ||
    fail "no audit entry for the rollback"
[ "$(q "SELECT count(*) FROM versions WHERE status = 'active'")" = 1 ] || fail "not exactly one active"

# The published head and the chain.
head=$(sed -n 's/.*"type":"governance".*"audit_head":"\([0-9a-f]*\)".*/\1/p' out.jsonl)
[ -n "$head" ] || fail "the run published no audit head"
"$DD_BIN" audit verify --workspace ws --expect-head "$head" || fail "audit verify failed"

[ $fails = 0 ] || { echo "test_govern_e2e: $fails failure(s)"; exit 1; }
echo "test_govern_e2e: all checks passed"
