#!/bin/sh
# test_secrets.sh: a planted secret never reaches an output (issue 10, "Security").
# Secrets are planted where a user puts credentials: a librdkafka property
# (sasl.password) in the source URL of a 0600 configuration file, the same on the
# command line, a token in a WebSocket URL's query, the WebSocket Authorization
# header from DRIFTDECK_WS_HEADERS and from a 0600 header file, DRIFTDECK_TOKEN.
# The Kafka runs read a topic of librdkafka's mock cluster (loopback) whose every
# message is refused by a limit, so each one is dead-lettered with its source; the
# WebSocket runs read websocketd (loopback), which checks the header arrived.
# The knowledge store's HTTP endpoint (--serve, loopback) takes DRIFTDECK_TOKEN.
# Then every output is searched: stdout, stderr, the dead-letter files, every
# other file in the workspaces, and each SQLite database through `sqlite3 .dump`.
# Also: the dead-letter file is created 0600.
set -u
DD=${DD_BIN:?DD_BIN is not set}
MOCK=$DD_BUILDDIR/tests/kafka_mock
T=$(mktemp -d "${TMPDIR:-/tmp}/test_secrets.XXXXXX") || exit 99
SECRET=s3cr3t-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
pid=
mkfifo "$T/in"
"$MOCK" events 1 300 < "$T/in" > "$T/boot" 2> "$T/mock.err" &
mock=$!
exec 3> "$T/in" # the mock cluster lives while this is open
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    exec 3>&-
    wait "$mock" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); echo "not ok $n - $*"; fails=$((fails + 1)); }
poll() { # poll CMD...: until it succeeds, up to 60 s
    i=0
    while ! "$@"; do
        i=$((i + 1))
        [ $i -gt 600 ] && return 1
        sleep 0.1
    done
}
poll test -s "$T/boot" || { echo "Bail out! mock cluster: $(cat "$T/mock.err")"; exit 1; }
boot=$(cat "$T/boot")
export DRIFTDECK_WS_HEADERS="Authorization: Bearer $SECRET-ws"
export DRIFTDECK_TOKEN="$SECRET-token"

# run NAME ARGS...: a headless run in workspace $T/NAME until every message was
# handled (300 malformed), then SIGINT.
run() {
    name=$1
    shift
    mkdir -p "$T/$name"
    "$DD" --headless --set "run.workspace=$T/$name" --set run.status_interval=0.1 \
        --set limits.max_features=1 "$@" > "$T/$name.out" 2> "$T/$name.err" &
    pid=$!
    if poll grep -q '"malformed":300,' "$T/$name.out"; then
        ok "$name: all 300 messages dead-lettered"
    else
        fail "$name: $(tail -n 2 "$T/$name.out" "$T/$name.err")"
    fi
    kill -INT "$pid"
    wait "$pid"
    rc=$?
    pid=
    [ $rc = 0 ] && ok "$name: exit 0" || fail "$name: exit $rc"
}
url() { echo "kafka://$boot/events?group=$1&sasl.username=u&sasl.password=$SECRET-url"; }

umask 022 # the program must not rely on the caller's umask
printf '[run]\nsource = %s\n' "$(url g1)" > "$T/secret.ini"
chmod 600 "$T/secret.ini"
run config --config "$T/secret.ini"
run cmdline --source "$(url g2)"

# WebSocket: the token in the URL's query, the Authorization header from the
# environment, then from a 0600 header file named in the configuration; websocketd
# (loopback) runs a script that records the header it got (proof the secret was
# used) and sends two events around a malformed message, then closes.
cat > "$T/feed.sh" <<EOF2
#!/bin/sh
printf '%s\n' "\$HTTP_AUTHORIZATION" >> "$T/auth.seen"
echo '{"x":{"a":1},"y":1}'
echo 'not json at all'
echo '{"x":{"a":2},"y":0}'
EOF2
chmod 700 "$T/feed.sh"
port=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
websocketd --address=127.0.0.1 --port="$port" "$T/feed.sh" > "$T/wsd.log" 2>&1 &
wsd=$!
poll curl -s -o /dev/null "http://127.0.0.1:$port/"
wsrun() { # wsrun NAME ARGS...: a run that ends when the server closes
    name=$1
    shift
    mkdir -p "$T/$name"
    timeout 60 "$DD" --headless --set "run.workspace=$T/$name" --set ws.reconnect=false \
        --source "ws://127.0.0.1:$port/feed?token=$SECRET-query" "$@" \
        > "$T/$name.out" 2> "$T/$name.err"
    rc=$?
    [ $rc = 0 ] && ok "$name: exit 0" || fail "$name: exit $rc: $(cat "$T/$name.err")"
    s=$(grep '"type":"summary"' "$T/$name.out")
    echo "$s" | grep -q '"events":2,.*"malformed":1,' && ok "$name: 2 events, 1 malformed" ||
        fail "$name: summary $s"
}
wsrun wsenv
printf 'Authorization: Bearer %s-file\n' "$SECRET" > "$T/headers"
chmod 600 "$T/headers"
printf '[ws]\nheader_file = %s\n' "$T/headers" > "$T/ws.ini"
DRIFTDECK_WS_HEADERS= wsrun wsfile --config "$T/ws.ini"
kill "$wsd" 2>/dev/null
wait "$wsd" 2>/dev/null
grep -q -- "Bearer $SECRET-ws" "$T/auth.seen" && ok "the header from the environment was sent" ||
    fail "header from the environment not seen: $(cat "$T/auth.seen")"
grep -q -- "Bearer $SECRET-file" "$T/auth.seen" && ok "the header from the 0600 file was sent" ||
    fail "header from the file not seen: $(cat "$T/auth.seen")"
grep -q '"source":"ws://127.0.0.1:[0-9]*/feed?<redacted>"' "$T/wsenv/driftdeck.deadletter.jsonl" &&
    ok "ws dead letters name the source without its query" ||
    fail "ws dead letter: $(cat "$T/wsenv/driftdeck.deadletter.jsonl")"

# Knowledge store: DRIFTDECK_TOKEN guards --serve; a request with it is answered
# (the secret is used), one with another token is refused; the store's SQLite
# database in the workspace is searched through `sqlite3 .dump` below.
mkfifo "$T/kfifo"
mkdir -p "$T/kserve"
"$DD" --headless --source - --workspace "$T/kserve" --serve 127.0.0.1:0 \
    --set run.status_interval=0.2 < "$T/kfifo" > "$T/kserve.out" 2> "$T/kserve.err" &
pid=$!
exec 4> "$T/kfifo"
printf '{"id":"k1","x":{"a":1},"y":1,"text":"motor alarm"}\nnot json\n' >&4
poll grep -q "served on" "$T/kserve.err"
kport=$(sed -n 's/.*served on .*:\([0-9][0-9]*\)$/\1/p' "$T/kserve.err")
poll sh -c "curl -s -H 'Authorization: Bearer $SECRET-token' \
    http://127.0.0.1:$kport/health | grep -q '\"entries\":1'" &&
    ok "kstore: the token from the environment opens /health" ||
    fail "kstore: /health with the token: $(cat "$T/kserve.err")"
c=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' \
    "http://127.0.0.1:$kport/health")
[ "$c" = 401 ] && ok "kstore: another token is refused" || fail "kstore: wrong token got $c"
exec 4>&-
wait "$pid"
rc=$?
pid=
[ $rc = 0 ] && ok "kserve: exit 0" || fail "kserve: exit $rc"

dl=driftdeck.deadletter.jsonl
for name in config cmdline; do
    [ "$(stat -c %a "$T/$name/$dl")" = 600 ] && ok "$name: dead-letter file is 0600" ||
        fail "$name: dead-letter file mode $(stat -c %a "$T/$name/$dl")"
    grep -q '"source":"kafka://[^"]*/events?<redacted>"' "$T/$name/$dl" &&
        ok "$name: dead letters name the source without its query" ||
        fail "$name: dead letter source: $(head -n 1 "$T/$name/$dl")"
done
# Every output: stdout, stderr and every file each run left in its workspace.
leaks=$(for name in config cmdline wsenv wsfile kserve; do
    grep -rl -- "$SECRET" "$T/$name" "$T/$name.out" "$T/$name.err"
done 2>/dev/null)
dbs=0
for f in $(find "$T/config" "$T/cmdline" "$T/wsenv" "$T/wsfile" "$T/kserve" -type f); do
    [ "$(head -c 15 "$f")" = "SQLite format 3" ] || continue
    dbs=$((dbs + 1))
    sqlite3 "$f" .dump | grep -q -- "$SECRET" && leaks="$leaks $f(dump)"
done
# Everything the runs created in their workspaces is owner-only (umask 077 in main).
loose=$(find "$T/config" "$T/cmdline" "$T/wsenv" "$T/wsfile" "$T/kserve" -type f ! -perm 600)
[ -z "$loose" ] && ok "every file created in the workspaces is 0600" ||
    fail "not 0600: $(ls -l $loose)"
[ $dbs -gt 0 ] && ok "$dbs SQLite databases dumped and searched" || fail "no database found to dump"
[ -z "$leaks" ] && ok "the secret appears in no output" || fail "the secret leaked into: $leaks"
# The search itself works: the secret is where it was planted.
grep -q -- "$SECRET-url" "$T/secret.ini" && ok "the planted secret is findable" ||
    fail "grep cannot find the planted secret"

echo "1..$n"
[ $fails = 0 ]
