#!/bin/sh
# test_export.sh: `driftdeck export` of a governed session.
#  - html: one self-contained file (no scripts, no external resources) with an
#    SVG accuracy chart carrying drift, promotion and rollback markers, the
#    version timeline and the decision table; Debian's tidy reports no error;
#  - jsonl: one JSON object per line, with the decisions and the audit head;
#  - csv: a header and one row per metric, drift and decision;
#  - an unknown session or format is a usage error (exit 2).
# A second part: `driftdeck rollback` refuses a version that never served,
# makes a clone of one that did; a next run of the finished stream starts fresh.
set -u
: "${DD_BIN:?}"
if ! command -v tidy >/dev/null 2>&1; then
    echo "SKIP: tidy is not installed (apt-get install tidy)"
    exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_export.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 99
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$DD_BIN" gen stagger -n 9000 --seed 5 --drift 4000 --drift 5600 --variants 0,1,0 -o st.jsonl ||
    exit 99
"$DD_BIN" --headless --workspace ws --source file:st.jsonl --auto-approve \
    --set govern.mode=gated --set govern.checkpoint_every=500 > run.jsonl 2>/dev/null || fail "run exited $?"

"$DD_BIN" export --workspace ws --format html -o report.html || fail "html export exited $?"
tidy -e -q report.html > tidy.txt 2>&1
rc=$?
cat tidy.txt
[ $rc -lt 2 ] || fail "tidy found errors"
grep -qi "error" tidy.txt && fail "tidy reported an error"
[ "$(grep -c '<svg' report.html)" = 2 ] || fail "want 2 SVG charts"
grep -q '<polyline class="series"' report.html || fail "no accuracy series"
grep -q 'class="m-drift"' report.html || fail "no drift marker"
grep -q 'class="m-promo"' report.html || fail "no promotion marker"
grep -q 'class="m-rollback"' report.html || fail "no rollback marker"
grep -q '<table class="decisions">' report.html || fail "no decision table"
grep -q 'verified: [0-9]* entries' report.html || fail "no verified audit head"
grep -qi '<script\|<link\|src="http\|href="http' report.html && fail "the report is not self-contained"

"$DD_BIN" export --workspace ws --format jsonl -o s.jsonl || fail "jsonl export exited $?"
lines=$(wc -l < s.jsonl)
good=$(grep -c '^{"type":"[a-z]*",.*}$' s.jsonl)
[ "$lines" -gt 10 ] && [ "$lines" = "$good" ] || fail "jsonl: $good of $lines lines are objects"
grep -q '"type":"decision".*"to":"rolled_back"' s.jsonl || fail "jsonl lacks the rollback"
grep -q '"type":"audit".*"verified":true' s.jsonl || fail "jsonl lacks the audit head"

"$DD_BIN" export --workspace ws --format csv -o s.csv || fail "csv export exited $?"
head -n 1 s.csv | grep -q '^type,event,version,role' || fail "csv header"
grep -q '^metric,' s.csv && grep -q '^drift,' s.csv && grep -q '^decision,' s.csv ||
    fail "csv lacks a kind of row"

"$DD_BIN" export --workspace ws --session 99 --format csv -o x.csv 2>/dev/null
[ $? = 2 ] || fail "unknown session is not a usage error"
"$DD_BIN" export --workspace ws --format pdf -o x.pdf 2>/dev/null
[ $? = 2 ] || fail "unknown format is not a usage error"

# Manual rollback from the command line.
q() { sqlite3 ws/driftdeck.db "$1"; }
if command -v sqlite3 >/dev/null 2>&1; then
    never=$(q "SELECT id FROM versions WHERE served = 0 LIMIT 1")
    if [ -n "$never" ]; then
        "$DD_BIN" rollback "$never" --workspace ws 2>/dev/null && fail "rolled back to $never"
    fi
    target=$(q "SELECT id FROM versions WHERE served = 1 AND status <> 'active' ORDER BY id LIMIT 1")
    before=$(q "SELECT id FROM versions WHERE status = 'active'")
    "$DD_BIN" rollback "$target" --workspace ws --actor ann --reason "test" || fail "rollback exited $?"
    clone=$(q "SELECT id FROM versions WHERE status = 'active'")
    [ "$(q "SELECT parent_id || ' ' || trigger FROM versions WHERE id = $clone")" = "$target rollback" ] ||
        fail "the active version is not a clone of $target"
    [ "$(q "SELECT status FROM versions WHERE id = $before")" = rolled_back ] || fail "$before not rolled back"
    [ "$(q "SELECT count(*) FROM transitions WHERE actor = 'ann'")" -ge 2 ] || fail "actor not recorded"
    # The last run read the stream to the end: the next one starts fresh and
    # closes the clone (an interrupted run would resume with it: test_governor).
    "$DD_BIN" --headless --workspace ws --source file:st.jsonl > run2.jsonl 2> run2.err
    grep -q "starts fresh" run2.jsonl || fail "run 2: $(head -n 1 run2.jsonl)"
    [ "$(q "SELECT status FROM versions WHERE id = $clone")" = retired ] || fail "clone $clone not closed"
    "$DD_BIN" audit verify --workspace ws > /dev/null || fail "audit verify after the rollback"
fi

[ $fails = 0 ] || { echo "test_export: $fails failure(s)"; exit 1; }
echo "test_export: all checks passed"
