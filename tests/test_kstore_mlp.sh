#!/bin/sh
# test_kstore_mlp.sh: renewing the knowledge store's transform, through the
# program. embedding = mlp with a linear model is refused at start, naming
# the key; an mlp run embeds with the frozen copy of version 1 (status lines
# and hits name it); the next run serves a new version and re-embeds the
# store (no hit keeps the old version); a features store refreezes its
# statistics after the stream's concept drift (renewals in status, one
# version in the store). The stream comes through a FIFO held open until the
# status lines show what is awaited (polled, with a deadline).
set -u
: "${DD_BIN:?}"
T=$(mktemp -d /tmp/dd-kstore-mlp.XXXXXX)
PID=
cleanup() {
    exec 3>&- 2>/dev/null
    [ -n "$PID" ] && kill "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', wanted '$3')"; fi; }

# 3000 events; the concept flips at 1500 (y follows a, then b): an error drift
i=0
while [ $i -lt 3000 ]; do
    a=$((i * 37 % 100)); b=$((i * 53 % 100))
    if [ $i -lt 1500 ]; then y=$((a > 50)); else y=$((b > 50)); fi
    printf '{"id":"e%d","ts":%d,"x":{"a":%d,"b":%d,"c":"k%d"},"y":%d}\n' \
        $i $((1700000000 + i)) $a $b $((i % 5)) $y
    i=$((i + 1))
done >"$T/events.jsonl"
vec=$(i=1; v=1; while [ $i -lt 16 ]; do v="$v,1"; i=$((i + 1)); done; echo "$v")
versions() { grep -o '"version":"[^"]*"' "$1" | sort -u; }

"$DD_BIN" --headless --source file:"$T/events.jsonl" --workspace "$T/lin" \
    --set kstore.enabled=true --set kstore.embedding=mlp >/dev/null 2>"$T/err.txt"
check "embedding = mlp with a linear model: refused at start" "$?" 2
grep -q '\[kstore\] embedding = mlp needs \[model\] kind = mlp' "$T/err.txt" \
    && ok "the error names the setting" || not_ok "the error names the setting: $(cat "$T/err.txt")"

# run_until OUT PATTERN ARGS...: the events through a FIFO, held open until a
# line of OUT matches PATTERN (60 s at most); returns the program's status.
run_until() {
    out=$1; pattern=$2; shift 2
    rm -f "$T/fifo"; mkfifo "$T/fifo"
    "$DD_BIN" --headless --source - --set run.status_interval=0.05 "$@" <"$T/fifo" >"$out" \
        2>>"$T/err.txt" &
    PID=$!
    exec 3>"$T/fifo"
    cat "$T/events.jsonl" >&3
    i=0
    while [ $i -lt 600 ] && ! grep -q "$pattern" "$out"; do sleep 0.1; i=$((i + 1)); done
    exec 3>&-
    wait "$PID"; rc=$?; PID=
    return $rc
}
run_mlp() {
    run_until "$1" "$2" --workspace "$T/mlp" --set model.kind=mlp --set features.hash_bits=8 \
        --set kstore.enabled=true --set kstore.embedding=mlp --set kstore.policy=block
}
run_mlp "$T/out1.jsonl" '"version":"mlp/1 d=16 seed=0 model=1 state='

check "an mlp run ends cleanly" "$?" 0
grep -q '"version":"mlp/1 d=16 seed=0 model=1 state=' "$T/out1.jsonl" \
    && ok "status lines name version 1's frozen copy" || not_ok "status lines name version 1"
"$DD_BIN" search --workspace "$T/mlp" -k 1000 --vector "$vec" >"$T/hits1.jsonl"
check "search by a vector of the hidden width" "$?" 0
check "k hits" "$(grep -c '^{"id":' "$T/hits1.jsonl")" 1000
v1=$(versions "$T/hits1.jsonl")
case "$v1" in
'"version":"mlp/1 d=16 seed=0 model=1 state='*) ok "every hit embedded by version 1" ;;
*) not_ok "every hit embedded by version 1 (got $v1)" ;;
esac

run_mlp "$T/out2.jsonl" '"entries":3000' # read to the end before: fresh start, new version
check "the second run ends cleanly" "$?" 0
"$DD_BIN" search --workspace "$T/mlp" -k 1000 --vector "$vec" >"$T/hits2.jsonl"
v2=$(versions "$T/hits2.jsonl")
check "hits of one version only" "$(echo "$v2" | wc -l)" 1
[ -n "$v2" ] && [ "$v2" != "$v1" ] && ok "the store was re-embedded by the new version ($v2)" \
    || not_ok "the store was re-embedded by the new version (got $v2)"
grep -q '"entries":3000' "$T/out2.jsonl" && ok "every event in the store" \
    || not_ok "every event in the store"

run_until "$T/out3.jsonl" '"renewals":[1-9]' --workspace "$T/feat" --set kstore.enabled=true \
    --set kstore.embedding=features --set kstore.warmup=200 --set kstore.policy=block
check "a features run ends cleanly" "$?" 0
grep -q '"type":"drift","level":"drift","watch":"error"' "$T/out3.jsonl" \
    && ok "the stream drifts" || not_ok "the stream drifts"
r=$(grep -o '"renewals":[0-9]*' "$T/out3.jsonl" | tail -1 | grep -o '[0-9]*$')
[ "${r:-0}" -ge 1 ] && ok "statistics renewed after the drift ($r)" \
    || not_ok "statistics renewed after the drift (${r:-none})"
"$DD_BIN" search --workspace "$T/feat" -k 1000 --vector "$(i=1; v=1; while [ $i -lt 64 ]; do
    v="$v,0"; i=$((i + 1)); done; echo "$v")" >"$T/hits3.jsonl"
v3=$(versions "$T/hits3.jsonl")
check "one features version in the store" "$(echo "$v3" | wc -l)" 1
# the version in force when the renewal showed, and the first frozen one
renewed=$(grep '"renewals":[1-9]' "$T/out3.jsonl" | head -1 | grep -o '"version":"[^"]*"')
first=$(grep -o '"version":"features/1 d=64 seed=0 stats=[^"]*","renewals":0' "$T/out3.jsonl" |
    head -1 | sed 's/,"renewals":0$//')
[ -n "$first" ] && [ "$first" != "$renewed" ] && ok "the renewal changed the version" \
    || not_ok "the renewal changed the version ($first -> $renewed)"
# (a later drift may renew again before the end: the store holds the last)
[ "$v3" != "$first" ] && ok "no entry keeps the first frozen version" \
    || not_ok "no entry keeps the first frozen version ($v3)"

echo "1..$n"
exit $failed
