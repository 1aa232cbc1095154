#!/bin/sh
# test_kstore_http.sh: the knowledge store end to end through the program:
# driftdeck --serve on loopback answered by a real client (curl): good
# queries, missing and absurd k, a 1 MiB POST (413), an over-long GET line
# (closed), wrong method, unknown path, wrong token; 10 000 requests leave the
# server's open-connection and buffer counters at zero; `driftdeck search`
# prints JSON Lines. Needs curl; the stream comes through a FIFO so the
# server stays up until the test closes it.
set -u
: "${DD_BIN:?}"
command -v curl >/dev/null || { echo "1..0 # curl is required"; exit 1; }
T=$(mktemp -d /tmp/dd-kstore-http.XXXXXX)
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

words="pump valve sensor pressure boiler turbine cable motor alarm cooling leak voltage"
i=0
while [ $i -lt 300 ]; do
    set -- $words
    a=$((i % 12 + 1)); b=$((i / 12 % 12 + 1))
    eval wa=\${$a}; eval wb=\${$b}
    printf '{"id":"e%d","ts":%d,"x":{"t":%d},"y":%d,"text":"%s %s unit%d"}\n' \
        $i $((1700000000 + i)) $((i % 7)) $((i % 2)) "$wa" "$wb" $i
    i=$((i + 1))
done > "$T/events.jsonl"

# start: the server with a token (required for every request once configured)
mkfifo "$T/fifo"
DRIFTDECK_TOKEN=s3cret "$DD_BIN" --headless --source - --workspace "$T/ws" \
    --serve 127.0.0.1:0 --set run.status_interval=0.2 <"$T/fifo" >"$T/out.jsonl" 2>"$T/err.txt" &
PID=$!
exec 3>"$T/fifo"
cat "$T/events.jsonl" >&3
printf '{"id":"e7","op":"delete"}\n' >&3
i=0
while [ $i -lt 300 ] && ! grep -q "served on" "$T/err.txt"; do sleep 0.1; i=$((i + 1)); done
PORT=$(sed -n 's/.*served on .*:\([0-9][0-9]*\)$/\1/p' "$T/err.txt")
[ -n "$PORT" ] || { cat "$T/err.txt"; echo "not ok 1 - server started"; exit 1; }
URL="http://127.0.0.1:$PORT"
AUTH="Authorization: Bearer s3cret"
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }

# poll /health until all 300 events are searchable (299 after the delete)
i=0
while [ $i -lt 300 ]; do
    curl -s -H "$AUTH" "$URL/health" | grep -q '"entries":299' && break
    sleep 0.1; i=$((i + 1))
done
check "every event indexed, the deleted one gone" \
    "$(curl -s -H "$AUTH" "$URL/health" | grep -o '"entries":[0-9]*')" '"entries":299'
check "health names the embedding version, renewals and errors" \
    "$(curl -s -H "$AUTH" "$URL/health" |
        grep -c '"errors":0,"version":"ngram/1 d=64[^"]*","renewals":0,"renew_pending":false')" 1

check "GET /search finds an event by its text" \
    "$(code -H "$AUTH" -G --data-urlencode 'q=boiler turbine unit52' "$URL/search")" 200
grep -q '"id":"e52"' "$T/body" && ok "the hit is the event" || not_ok "the hit is the event"
grep -q '"index":"' "$T/body" && grep -q '"age":' "$T/body" && grep -q '"payload":{' "$T/body" \
    && ok "hits carry index, age and payload" || not_ok "hits carry index, age and payload"
code -H "$AUTH" -G --data-urlencode 'q=valve pump unit7' --data-urlencode k=50 "$URL/search" >/dev/null
grep -q '"id":"e7"' "$T/body" && not_ok "a deleted id never comes back" \
    || ok "a deleted id never comes back"
check "k=3 gives at most 3 vector hits" \
    "$(code -H "$AUTH" "$URL/search?q=pump&k=3")" 200
check "missing k defaults (200)" "$(code -H "$AUTH" "$URL/search?q=pump")" 200
check "k=0 is refused" "$(code -H "$AUTH" "$URL/search?q=pump&k=0")" 400
check "absurd k is refused" "$(code -H "$AUTH" "$URL/search?q=pump&k=99999999999")" 400
check "k=abc is refused" "$(code -H "$AUTH" "$URL/search?q=pump&k=abc")" 400
check "missing q is refused" "$(code -H "$AUTH" "$URL/search?k=3")" 400
check "POST /search with JSON" \
    "$(code -H "$AUTH" -d '{"q": "cooling leak", "k": 5}' "$URL/search")" 200
grep -q '"hits":\[{' "$T/body" && ok "POST returns hits" || not_ok "POST returns hits"
vec=$(i=1; v=1; while [ $i -lt 64 ]; do v="$v,0"; i=$((i + 1)); done; echo "$v")
check "POST /search with a vector" \
    "$(code -H "$AUTH" -d "{\"vector\": [$vec], \"k\": 2}" "$URL/search")" 200
check "a vector of the wrong dimension is refused" \
    "$(code -H "$AUTH" -d '{"vector": [1, 2], "k": 2}' "$URL/search")" 400
check "POST with absurd k is refused" "$(code -H "$AUTH" -d '{"q": "x", "k": 1e9}' "$URL/search")" 400
check "POST that is not JSON is refused" "$(code -H "$AUTH" -d 'nope' "$URL/search")" 400

# ---- filters: where (payload fields, ANDed), index, min_ts/max_ts, max_age ----
# pyc EXPR: evaluate EXPR over the last answer's hits (h: the list) with Debian's python3
pyc() { /usr/bin/python3 -c "import json,sys; h=json.load(open(sys.argv[1]))['hits']; print($1)" "$T/body"; }
post() { code -H "$AUTH" -d "$1" "$URL/search"; }
check "where a feature equals a number: 200" "$(post '{"q": "pump valve", "k": 5, "where": {"t": 3}}')" 200
check "where: every hit has it" "$(pyc 'all(x["payload"]["x"]["t"] == 3 for x in h)')" True
check "where: still k hits from the vector index (over-fetch)" \
    "$(pyc 'sum(x["index"] != "fts" for x in h)')" 5
check "where two fields (ANDed, one top-level)" \
    "$(post '{"q": "pump", "k": 4, "where": {"t": 3, "y": 1}}')" 200
check "where two fields: every hit has both" \
    "$(pyc 'len(h) >= 4 and all(x["payload"]["x"]["t"] == 3 and x["payload"]["y"] == 1 for x in h)')" True
check "where a string field" "$(post '{"q": "pump valve", "k": 10, "where": {"id": "e12"}}')" 200
check "where a string: only that entry" "$(pyc '[x["id"] for x in h]')" "['e12']"
check "where a rare value deep in the ranking" \
    "$(post '{"q": "pump valve", "k": 1, "index": "vector", "where": {"id": "e299"}}')" 200
check "where a rare value: found by over-fetching" "$(pyc '[x["id"] for x in h]')" "['e299']"
check "where nothing matches" "$(post '{"q": "pump", "where": {"t": 99}}')" 200
check "where nothing matches: no hits" "$(pyc 'len(h)')" 0
check "where a number does not match a string" "$(post '{"q": "pump", "where": {"id": 12}}')" 200
check "a number is not a string" "$(pyc 'len(h)')" 0
check "index fts" "$(post '{"q": "boiler turbine", "k": 5, "index": "fts"}')" 200
check "index fts: only full-text hits" "$(pyc 'len(h) > 0 and all(x["index"] == "fts" for x in h)')" True
check "index vector" "$(post '{"q": "boiler turbine", "k": 5, "index": "vector"}')" 200
check "index vector: only vector hits" "$(pyc 'len(h) == 5 and all(x["index"] == "vector" for x in h)')" True
check "min_ts and max_ts" \
    "$(post '{"q": "pump", "k": 50, "min_ts": 1700000100, "max_ts": 1700000120}')" 200
check "min_ts and max_ts: every hit in the range" \
    "$(pyc 'len(h) > 0 and all(1700000100 <= x["ts"] <= 1700000120 for x in h)')" True
check "max_age leaves old events out" "$(post '{"q": "pump", "max_age": 60}')" 200
check "max_age: the stream is from 2023, nothing is that fresh" "$(pyc 'len(h)')" 0
check "max_age large enough keeps them" "$(post '{"q": "pump", "max_age": 1e12}')" 200
check "max_age large: hits" "$(pyc 'len(h) > 0')" True
check "filters with a vector query" \
    "$(code -H "$AUTH" -d "{\"vector\": [$vec], \"k\": 3, \"where\": {\"t\": 5}}" "$URL/search")" 200
check "vector query, where: every hit has it" \
    "$(pyc 'len(h) == 3 and all(x["payload"]["x"]["t"] == 5 for x in h)')" True
# bad filters: 400 and the reason
bad() {
    c=$(post "$1")
    if [ "$c" = 400 ] && grep -q "$2" "$T/body"; then ok "refused: $1"
    else not_ok "refused: $1 (got $c: $(cat "$T/body"))"; fi
}
bad '{"q": "pump", "where": 3}' 'where must be an object'
bad '{"q": "pump", "where": {}}' 'where must be an object'
bad '{"q": "pump", "where": {"t": true}}' 'must be a string or a finite number'
bad '{"q": "pump", "where": {"t": null}}' 'must be a string or a finite number'
bad '{"q": "pump", "where": {"t": {"a": 1}}}' 'must be a string or a finite number'
bad '{"q": "pump", "where": {"t": 1, "t": 2}}' 'given twice'
bad '{"q": "pump", "where": {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": 1}}' \
    'field name must have'
many=$(i=0; while [ $i -lt 17 ]; do printf '"f%d": 1,' $i; i=$((i + 1)); done)
bad "{\"q\": \"pump\", \"where\": {${many%,}}}" 'at most 16 fields'
bad '{"q": "pump", "index": "graph"}' 'index must be'
bad '{"q": "pump", "index": 1}' 'index must be'
bad '{"q": "pump", "min_ts": "yesterday"}' 'min_ts must be a finite number'
bad '{"q": "pump", "min_ts": 5, "max_ts": 4}' 'is after max_ts'
bad '{"q": "pump", "max_age": -1}' 'max_age must be'
bad '{"q": "pump", "wehre": {"t": 3}}' 'unknown member'
bad "{\"vector\": [$vec], \"index\": \"fts\"}" 'no full-text part'

head -c 1048577 /dev/zero | tr '\0' 'a' >"$T/big"
check "a body over 1 MiB gets 413" \
    "$(code -H "$AUTH" --data-binary @"$T/big" "$URL/search")" 413
long=$(head -c 5000 /dev/zero | tr '\0' 'q')
check "an over-long GET line is closed without a status" \
    "$(code -H "$AUTH" "$URL/search?q=$long")" 000
check "wrong method" "$(code -H "$AUTH" -X PUT -d 'x' "$URL/search")" 405
check "wrong method without a body" "$(code -H "$AUTH" -X POST "$URL/health")" 405
check "unknown path" "$(code -H "$AUTH" "$URL/admin")" 404
check "wrong token" "$(code -H "Authorization: Bearer nope" "$URL/health")" 401
check "no token" "$(code "$URL/search?q=pump")" 401

# 10 000 requests: kept-alive, closed each time, refused, and some bodies
i=0
while [ $i -lt 6000 ]; do echo "url = \"$URL/search?q=pump+valve&k=$((i % 20 + 1))\""; i=$((i + 1)); done >"$T/keep.cfg"
i=0
while [ $i -lt 2000 ]; do echo "url = \"$URL/health\""; i=$((i + 1)); done >"$T/close.cfg"
i=0
while [ $i -lt 1000 ]; do echo "url = \"$URL/nowhere$i\""; i=$((i + 1)); done >"$T/bad.cfg"
curl -s -H "$AUTH" -K "$T/keep.cfg" >/dev/null
curl -s -H "$AUTH" -H "Connection: close" -K "$T/close.cfg" >/dev/null
curl -s -H "Authorization: Bearer nope" -K "$T/bad.cfg" >/dev/null
i=0
while [ $i -lt 1000 ]; do echo "url = \"$URL/search\""; i=$((i + 1)); done >"$T/post.cfg"
curl -s -H "$AUTH" -d '{"q": "alarm motor", "k": 4}' -K "$T/post.cfg" >/dev/null
h=$(curl -s -H "$AUTH" -H "Connection: close" "$URL/health")
req=$(echo "$h" | sed -n 's/.*"requests":\([0-9]*\).*/\1/p')
[ "${req:-0}" -ge 10000 ] && ok "10 000 requests answered ($req)" || not_ok "10 000 requests answered ($req)"
# the /health request itself is the one open connection; it holds no buffer yet
check "open connections back to zero (besides /health itself)" \
    "$(echo "$h" | grep -o '"open":[0-9]*')" '"open":1'
check "buffers back to zero" "$(echo "$h" | grep -o '"buffers":[0-9]*')" '"buffers":0'

# the end of the stream stops the server and saves the index
exec 3>&-
wait "$PID"; rc=$?; PID=
check "the run ends cleanly" "$rc" 0
grep -q '"kstore":{"entries"' "$T/out.jsonl" && ok "status lines carry the store's lag" \
    || not_ok "status lines carry the store's lag"

# driftdeck search: JSON Lines from the saved store
"$DD_BIN" search --workspace "$T/ws" -k 2 "boiler turbine unit52" >"$T/search.jsonl"
check "search exits 0" "$?" 0
grep -q '"id":"e52"' "$T/search.jsonl" && ok "search finds it" || not_ok "search finds it"
check "every line is a hit" "$(grep -vc '^{"id":' "$T/search.jsonl")" 0
"$DD_BIN" search --workspace "$T/ws" -k 2 --vector "$vec" >"$T/v.jsonl"
check "search --vector" "$(grep -c '"index":"vector"' "$T/v.jsonl")" 2
"$DD_BIN" search --workspace "$T/ws" -k 3 --where t=3 --where y=1 "pump valve" >"$T/f.jsonl"
check "search --where (ANDed)" \
    "$(/usr/bin/python3 -c 'import json,sys; h=[json.loads(l) for l in open(sys.argv[1])]; print(len(h) >= 3 and all(x["payload"]["x"]["t"] == 3 and x["payload"]["y"] == 1 for x in h))' "$T/f.jsonl")" True
"$DD_BIN" search --workspace "$T/ws" --index fts --min-ts 1700000100 --max-ts 1700000150 pump >"$T/f.jsonl"
check "search --index fts --min-ts --max-ts" \
    "$(/usr/bin/python3 -c 'import json,sys; h=[json.loads(l) for l in open(sys.argv[1])]; print(len(h) > 0 and all(x["index"] == "fts" and 1700000100 <= x["ts"] <= 1700000150 for x in h))' "$T/f.jsonl")" True
"$DD_BIN" search --workspace "$T/ws" --where id=e52 "boiler" >"$T/f.jsonl"
check "search --where a string" "$(grep -c . "$T/f.jsonl")/$(grep -c '"id":"e52"' "$T/f.jsonl")" 1/1
"$DD_BIN" search --workspace "$T/ws" --index graph pump >/dev/null 2>&1
check "search --index graph is an input error" "$?" 2
"$DD_BIN" search --workspace "$T/ws" --where t pump >/dev/null 2>"$T/f.err"
check "search --where without = is an input error" "$?" 2
grep -q 'NAME=VALUE' "$T/f.err" && ok "... and says so" || not_ok "... and says so"
"$DD_BIN" search --workspace "$T/ws" --vector 1,2 >/dev/null 2>&1
check "a vector of the wrong dimension is an input error" "$?" 2
"$DD_BIN" search --workspace "$T/nowhere" x >/dev/null 2>&1
check "a workspace without a store is an input error" "$?" 2
"$DD_BIN" search --workspace "$T/ws" -k 0 x >/dev/null 2>&1
check "k=0 is a usage error" "$?" 2

# binding off loopback needs a token; a token file must be 0600
env -u DRIFTDECK_TOKEN "$DD_BIN" --headless --source file:"$T/events.jsonl" --workspace "$T/ws2" \
    --serve 0.0.0.0:0 >/dev/null 2>"$T/err2.txt"
check "no token off loopback: refused" "$?" 2
echo s3cret >"$T/token"; chmod 644 "$T/token"
env -u DRIFTDECK_TOKEN "$DD_BIN" --headless --source file:"$T/events.jsonl" --workspace "$T/ws2" \
    --serve 127.0.0.1:0 --set serve.token_file="$T/token" >/dev/null 2>"$T/err3.txt"
check "a token file readable by others: refused" "$?" 2

echo "1..$n"
exit $failed
