#!/bin/sh
# test_audit_verify.sh: `driftdeck audit verify` on a real workspace file names
# the first bad entry after a payload is altered, an entry deleted, or two
# entries swapped with the sqlite3 command line (triggers dropped first).
set -eu
: "${DD_BIN:?}" "${DD_BUILDDIR:?}"
if ! command -v sqlite3 >/dev/null 2>&1; then
    echo "SKIP: the sqlite3 command line is not installed (apt-get install sqlite3)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fill="$DD_BUILDDIR/tests/audit_fill"

fail() { echo "FAIL: $*"; exit 1; }

# expect_bad DIR N: verify exits 1 and names entry N as the first bad one.
expect_bad() {
    set +e
    out=$("$DD_BIN" audit verify --workspace "$1" 2>&1)
    rc=$?
    set -e
    echo "$out"
    [ "$rc" -eq 1 ] || fail "verify exit code $rc, want 1"
    echo "$out" | grep -q "^first bad entry: $2 " || fail "first bad entry is not $2"
}

fresh() {
    rm -rf "$tmp/ws"; mkdir "$tmp/ws"
    head=$("$fill" "$tmp/ws" 10)
    sqlite3 "$tmp/ws/driftdeck.db" "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;"
}

# An intact log: OK, 10 entries, the head that was written.
rm -rf "$tmp/ws"; mkdir "$tmp/ws"
head=$("$fill" "$tmp/ws" 10)
out=$("$DD_BIN" audit verify --workspace "$tmp/ws")
echo "$out"
[ "$out" = "$(printf 'OK: 10 entries, head %s' "$head")" ] || fail "intact log not OK"
"$DD_BIN" audit verify --workspace "$tmp/ws" --expect-head "$head" >/dev/null

# The triggers refuse changes.
if sqlite3 "$tmp/ws/driftdeck.db" "UPDATE audit SET payload='{}' WHERE seq=2" 2>/dev/null; then
    fail "UPDATE on audit was allowed"
fi
if sqlite3 "$tmp/ws/driftdeck.db" "DELETE FROM audit WHERE seq=2" 2>/dev/null; then
    fail "DELETE on audit was allowed"
fi

# 1. One entry's payload altered.
fresh
sqlite3 "$tmp/ws/driftdeck.db" "UPDATE audit SET payload='{\"batch\": 6, \"events\": [0, 1]}' WHERE seq=6"
expect_bad "$tmp/ws" 6

# 2. One entry deleted.
fresh
sqlite3 "$tmp/ws/driftdeck.db" "DELETE FROM audit WHERE seq=4"
expect_bad "$tmp/ws" 4

# 2b. Deleted, and the later entries renumbered to hide the gap.
fresh
sqlite3 "$tmp/ws/driftdeck.db" "DELETE FROM audit WHERE seq=4; UPDATE audit SET seq=seq-1 WHERE seq>4"
expect_bad "$tmp/ws" 4

# 3. Two entries swapped.
fresh
sqlite3 "$tmp/ws/driftdeck.db" "UPDATE audit SET seq=-1 WHERE seq=7; UPDATE audit SET seq=7 WHERE seq=8; UPDATE audit SET seq=8 WHERE seq=-1"
expect_bad "$tmp/ws" 7

# 4. The tail cut off: the chain is still consistent, the published head is gone.
fresh
sqlite3 "$tmp/ws/driftdeck.db" "DELETE FROM audit WHERE seq>8"
"$DD_BIN" audit verify --workspace "$tmp/ws" >/dev/null || fail "a truncated chain is still a chain"
set +e
"$DD_BIN" audit verify --workspace "$tmp/ws" --expect-head "$head"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "truncation not caught by --expect-head"

# 5. With a key: a tail rewritten without the key fails at its first entry.
rm -rf "$tmp/ws"; mkdir "$tmp/ws"
printf 'k3y-for-tests' >"$tmp/key"; chmod 600 "$tmp/key"
"$fill" "$tmp/ws" 5 "$tmp/key" >/dev/null
"$DD_BIN" audit verify --workspace "$tmp/ws" --key-file "$tmp/key" | grep -q "HMAC: every entry"
sqlite3 "$tmp/ws/driftdeck.db" "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq>=3"
"$fill" "$tmp/ws" 3 >/dev/null
set +e
out=$("$DD_BIN" audit verify --workspace "$tmp/ws" --key-file "$tmp/key")
rc=$?
set -e
echo "$out"
[ "$rc" -eq 1 ] && echo "$out" | grep -q "^first bad entry: 3 " || fail "rewritten tail not caught by HMAC"

# A key file others can read is refused.
chmod 644 "$tmp/key"
if "$DD_BIN" audit verify --workspace "$tmp/ws" --key-file "$tmp/key" 2>"$tmp/err"; then
    fail "a 0644 key file was accepted"
fi
grep -q "chmod 600" "$tmp/err" || fail "no clear message for a 0644 key"

# A real run with a key: every entry carries an HMAC that verifies.
printf 'k3y-for-tests' >"$tmp/key"; chmod 600 "$tmp/key"
"$DD_BIN" gen sea -n 2000 --seed 2 -o "$tmp/sea.jsonl"
"$DD_BIN" --headless --workspace "$tmp/run" --source "file:$tmp/sea.jsonl" \
    --set "govern.audit_key_file=$tmp/key" >/dev/null 2>&1 || fail "keyed run"
"$DD_BIN" audit verify --workspace "$tmp/run" --key-file "$tmp/key" | grep -q "HMAC: every entry" ||
    fail "keyed run does not verify with its key"
printf 'other' >"$tmp/key2"; chmod 600 "$tmp/key2"
if "$DD_BIN" audit verify --workspace "$tmp/run" --key-file "$tmp/key2" >/dev/null; then
    fail "verified with the wrong key"
fi

# No workspace: a usage error (2), not a crash.
set +e
"$DD_BIN" audit verify --workspace "$tmp/none" 2>/dev/null
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "missing workspace gave exit $rc"
echo "PASS"
