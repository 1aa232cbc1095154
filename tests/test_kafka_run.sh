#!/bin/sh
# test_kafka_run.sh: driftdeck --headless with a Kafka source, end to end
# against librdkafka's mock cluster (tests/kafka_mock, loopback only): the
# run learns from every event; stopped with SIGINT it commits what it
# processed, so a second run in the same group finds nothing new; a run in
# another group reads everything again.
set -u
T=$(mktemp -d)
MOCK=$DD_BUILDDIR/tests/kafka_mock
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
mkfifo "$T/in"
"$MOCK" events 3 5000 < "$T/in" > "$T/boot" 2> "$T/mock.err" &
mock=$!
exec 3> "$T/in" # the mock lives while this is open
cleanup() { exec 3>&-; wait "$mock" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

poll() { # poll CMD... until it succeeds, up to 60 s
    i=0
    while ! "$@"; do
        i=$((i + 1))
        [ $i -gt 600 ] && return 1
        sleep 0.1
    done
}
poll test -s "$T/boot" || { echo "Bail out! mock cluster: $(cat "$T/mock.err")"; exit 1; }
boot=$(cat "$T/boot")

# run GROUP OUT WANT: run headless until a status line shows WANT events, or
# (WANT = 0) until three status lines went by; then SIGINT.
run() {
    "$DD_BIN" --headless --set "run.workspace=$T" --set run.status_interval=0.2 \
        --source "kafka://$boot/events?group=$1&session.timeout.ms=6000&heartbeat.interval.ms=300" \
        > "$2" 2> "$2.err" &
    pid=$!
    if [ "$3" -gt 0 ]; then
        poll grep -q "\"type\":\"status\",\"events\":$3," "$2"
    else
        poll sh -c "[ \$(grep -c '\"type\":\"status\"' '$2') -ge 3 ]"
    fi
    got=$?
    kill -INT $pid
    wait $pid
    return $got
}
summary_events() { sed -n 's/.*"type":"summary","events":\([0-9]*\),.*/\1/p' "$1"; }

run g1 "$T/r1" 5000 && ok "first run reached 5000 events" || bad "first run: $(tail -2 "$T/r1" "$T/r1.err")"
[ "$(summary_events "$T/r1")" = 5000 ] && ok "summary: 5000 events" || bad "summary: $(tail -1 "$T/r1")"
acc=$(sed -n 's/.*"type":"summary".*"rolling_accuracy":\([0-9.]*\),.*/\1/p' "$T/r1")
awk "BEGIN { exit !($acc > 0.9) }" && ok "it learned (rolling accuracy $acc)" || bad "accuracy $acc"

run g1 "$T/r2" 0
[ "$(summary_events "$T/r2")" = 0 ] && ok "same group after SIGINT: nothing new (offsets committed)" ||
    bad "same group re-read: $(tail -1 "$T/r2")"

run g2 "$T/r3" 5000 && ok "another group reads everything again" || bad "group g2: $(tail -1 "$T/r3")"

echo "1..$n"
exit $fail
