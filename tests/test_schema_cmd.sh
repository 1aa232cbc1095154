#!/bin/sh
# test_schema_cmd.sh: `driftdeck schema FILE` infers a mapping for streams
# not in driftdeck's own shape, prints it as INI that the configuration
# reads back, and with it the pipeline learns from every event (without it,
# the same stream has no labels driftdeck can see).
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
has() { grep -qx -- "$2" "$1" && ok "$3" || bad "$3: no line '$2' in $(cat "$1")"; }

# A flat stream with its own names: uuid, @timestamp in ms, class names,
# free text, an embedding, and a session string different on every line.
awk 'BEGIN { srand(5);
    for (i = 0; i < 400; i++) {
        a = rand() * 2 - 1; c = (a > 0) ? "spam" : "ham";
        printf "{\"uuid\":\"u%d\",\"@timestamp\":%.0f,\"amount\":%.3f,\"shop\":\"s%d\",", i, 1700000000000 + i * 10, a, i % 4;
        printf "\"session\":\"k-%d-%d\",\"review\":\"this is the long free text of review %d\",", i, i * 7, i;
        printf "\"embedding\":[1,2,3,4,5,6,7,8],\"class\":\"%s\"}\n", c;
    }
}' > "$T/flat.jsonl"
"$DD_BIN" schema "$T/flat.jsonl" > "$T/flat.ini"
rc=$?
[ $rc -eq 0 ] && ok "schema exits 0" || bad "schema exit $rc"
has "$T/flat.ini" "features = ." "flat shape"
has "$T/flat.ini" "id = uuid" "id found by name"
has "$T/flat.ini" "ts = @timestamp" "timestamp found by name"
has "$T/flat.ini" "ts_unit = ms" "milliseconds recognized"
has "$T/flat.ini" "label = class" "label found by name"
has "$T/flat.ini" "label_type = class" "class names recognized"
has "$T/flat.ini" "text = review" "free text found by content"
has "$T/flat.ini" "embedding = embedding" "embedding found"
has "$T/flat.ini" "exclude = session" "a per-line identifier is excluded"
has "$T/flat.ini" "task = binary" "the model task suggested from the labels"
awk 'length($0) >= 200 { exit 1 }' "$T/flat.ini" && ok "no line reaches inih's limit" ||
    bad "a line of 200+ bytes"

# The configuration reads it back, and the run learns from every event.
"$DD_BIN" --config "$T/flat.ini" --print-config > "$T/eff.ini" 2>&1 &&
    grep -qx "id = uuid" "$T/eff.ini" && ok "the configuration reads the output" ||
    bad "--config refused it: $(cat "$T/eff.ini")"
labelled() { sed -n 's/.*"type":"summary".*"labelled":\([0-9]*\),.*/\1/p'; }
got=$("$DD_BIN" --headless --config "$T/flat.ini" --source "file:$T/flat.jsonl" \
    --set "run.workspace=$T" | labelled)
[ "$got" = 400 ] && ok "with the mapping: 400 labelled" || bad "with the mapping: '$got'"
got=$("$DD_BIN" --headless --source "file:$T/flat.jsonl" --set "run.workspace=$T" | labelled)
[ "$got" = 0 ] && ok "without it: 0 labelled (class is no conventional name)" ||
    bad "without the mapping: '$got'"
# 1200 events whose label no default name reaches: the run says so, once,
# on stderr; mapped, it learns and says nothing.
awk 'BEGIN { print "a,class"; for (i = 0; i < 1200; i++) print i % 7 "," (i % 2 ? "UP" : "DOWN") }' \
    > "$T/nolabel.csv"
"$DD_BIN" --headless --source "file:$T/nolabel.csv" --set "run.workspace=$T/w1" > /dev/null \
    2> "$T/nolabel.err"
[ "$(grep -c 'no label in the first 1000 events' "$T/nolabel.err")" = 1 ] &&
    ok "an unlabelled stream is told once" || bad "no hint: $(cat "$T/nolabel.err")"
"$DD_BIN" --headless --source "file:$T/nolabel.csv" --set schema.label=class \
    --set "run.workspace=$T/w2" > /dev/null 2> "$T/label.err"
grep -q 'no label' "$T/label.err" && bad "a hint with the label mapped" ||
    ok "no hint once the label is mapped"

# CSV (gzip) and a recording's envelopes; bad lines named, not fatal.
printf 'when,temp,y\n2023-11-14T22:13:20Z,1.5,0\n2023-11-14T22:13:21Z,2.5,1\n' | gzip > "$T/c.csv.gz"
"$DD_BIN" schema "$T/c.csv.gz" > "$T/c.ini" && ok "CSV gzip read" || bad "CSV gzip"
has "$T/c.ini" "ts = when" "ISO 8601 column as ts"
printf '{"recv_ts":1.5,"msg":{"x":{"a":1},"y":0}}\nnot json\n{"recv_ts":2,"msg":"{\\"x\\":{\\"a\\":2},\\"y\\":1}"}\n' > "$T/rec.jsonl"
"$DD_BIN" schema "$T/rec.jsonl" > "$T/rec.ini" && ok "recording read" || bad "recording"
has "$T/rec.ini" "features = x" "envelopes opened"
grep -q "1 lines did not parse (the first: line 2)" "$T/rec.ini" && ok "bad line named" ||
    bad "bad line not named: $(head -3 "$T/rec.ini")"

# Errors: no file, nothing to infer from, usage.
"$DD_BIN" schema "$T/missing.jsonl" 2>/dev/null; rc=$?
[ $rc -eq 2 ] && ok "missing file: exit 2" || bad "missing file: exit $rc"
printf 'junk\n' > "$T/junk.jsonl"
"$DD_BIN" schema "$T/junk.jsonl" > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "nothing usable: exit 2" || bad "nothing usable: exit $rc"
"$DD_BIN" schema > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "no argument: exit 2" || bad "no argument: exit $rc"

echo "1..$n"
exit $fail
