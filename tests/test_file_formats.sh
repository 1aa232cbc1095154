#!/bin/sh
# test_file_formats.sh: the file source reads JSON Lines, gzip (by its magic
# bytes, whatever the name), CSV with a header and TSV, and they all learn
# the same: the same stream in every format gives the same summary. Bad CSV
# rows are counted and dead-lettered with their line numbers; a bad header
# fails the source with a clear message.
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }

# A stream of 300 events; the same rows as CSV (with quoting) and TSV.
awk 'BEGIN {
    srand(3);
    print "id,ts,temp,device,note,y" > "'"$T"'/s.csv";
    print "id\tts\ttemp\tdevice\tnote\ty" > "'"$T"'/s.tsv";
    for (i = 0; i < 300; i++) {
        t = sprintf("%.2f", rand() * 40 - 10); d = "d" int(rand() * 4);
        y = (t > 15) ? 1 : 0;
        printf "{\"id\":\"e%d\",\"ts\":%d,\"x\":{\"temp\":%s,\"device\":\"%s\",\"note\":\"a, \\\"b\\\"\"},\"y\":%d}\n", i, 1700000000 + i, t, d, y > "'"$T"'/s.jsonl";
        printf "e%d,%d,%s,%s,\"a, \"\"b\"\"\",%d\n", i, 1700000000 + i, t, d, y > "'"$T"'/s.csv";
        printf "e%d\t%d\t%s\t%s\ta, \"b\"\t%d\n", i, 1700000000 + i, t, d, y > "'"$T"'/s.tsv";
    }
}'
# The TSV has no quoting rules of its own here: write its note without quotes.
sed -i 's/\ta, "b"\t/\tab\t/' "$T/s.tsv"
gzip -c "$T/s.jsonl" > "$T/s.jsonl.gz"
gzip -c "$T/s.jsonl" > "$T/no-extension"
gzip -c "$T/s.csv" > "$T/s.csv.gz"

summary() { # FILE -> "events labelled accuracy malformed"
    "$DD_BIN" --headless --source "file:$1" --set "run.workspace=$T" 2>/dev/null | tail -n 1 |
        sed 's/.*"events":\([0-9]*\),"labelled":\([0-9]*\),"accuracy":\([0-9.e-]*\),.*"malformed":\([0-9]*\),.*/\1 \2 \3 \4/'
}
ref=$(summary "$T/s.jsonl")
case "$ref" in "300 300 "*" 0") ok "JSON Lines: $ref" ;; *) bad "JSON Lines: '$ref'" ;; esac
for f in s.jsonl.gz no-extension s.csv s.csv.gz; do
    got=$(summary "$T/$f")
    [ "$got" = "$ref" ] && ok "$f learns as the JSON Lines did" || bad "$f: '$got' != '$ref'"
done
# TSV: same numbers, one categorical value text differs (note), same labels.
got=$(summary "$T/s.tsv")
case "$got" in "300 300 "*" 0") ok "TSV read whole: $got" ;; *) bad "TSV: '$got'" ;; esac

# Bad rows: counted, dead-lettered with their line numbers, the rest learned.
printf 'id,a,b,y\n1,0.5,x,1\n2,"bad"q,y,0\n3,1.5\n4,2.5,z,1\n5,"unterminated,0\n' > "$T/bad.csv"
rm -f "$T/driftdeck.deadletter.jsonl"
got=$(summary "$T/bad.csv")
[ "$got" = "2 2 1 3" ] && ok "bad rows counted: $got" || bad "bad rows: '$got'"
for l in 3 4 6; do
    grep -q "\"line\":$l," "$T/driftdeck.deadletter.jsonl" && ok "dead letter for line $l" ||
        bad "no dead letter for line $l"
done

# A duplicated column name: the source fails and says why.
printf 'a,b,a\n1,2,3\n' > "$T/dup.csv"
err=$("$DD_BIN" --headless --source "file:$T/dup.csv" --set "run.workspace=$T" 2>&1 >/dev/null)
rc=$?
[ $rc -ne 0 ] && ok "duplicate header: exit $rc" || bad "duplicate header: exit 0"
echo "$err" | grep -q "column 'a' appears twice" && ok "duplicate header named" || bad "message: $err"

# An empty first line (nothing buffered yet) is one malformed message, no crash.
printf '\n{"x":{"a":1},"y":1}\n' > "$T/empty-first.jsonl"
got=$(summary "$T/empty-first.jsonl")
[ "$got" = "1 1 1 1" ] && ok "empty first line: counted, no crash" || bad "empty first line: '$got'"

# A truncated gzip file: what was readable is learned, the failure is reported.
head -c 2000 "$T/s.jsonl.gz" > "$T/cut.gz"
"$DD_BIN" --headless --source "file:$T/cut.gz" --set "run.workspace=$T" >/dev/null 2>"$T/cut.err"
grep -q "read error" "$T/cut.err" && ok "truncated gzip reported" || bad "truncated gzip: $(cat "$T/cut.err")"

echo "1..$n"
exit $fail
