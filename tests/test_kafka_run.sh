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
"$MOCK" events 3 5000 preds < "$T/in" > "$T/boot" 2> "$T/mock.err" &
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

# run GROUP OUT WANT [OPTIONS...]: run headless on the events topic until a
# status line shows WANT events, or (WANT = 0) until three status lines went
# by; then SIGINT. TOPIC (default events) is the topic read.
TOPIC=events
run() {
    group=$1 out=$2 want=$3
    shift 3
    "$DD_BIN" --headless --set "run.workspace=$T" --set run.status_interval=0.2 "$@" \
        --source "kafka://$boot/$TOPIC?group=$group&session.timeout.ms=6000&heartbeat.interval.ms=300" \
        > "$out" 2> "$out.err" &
    pid=$!
    if [ "$want" -gt 0 ]; then
        poll grep -qs "\"type\":\"status\",\"events\":$want," "$out"
    else
        poll sh -c "[ \$(grep -c '\"type\":\"status\"' '$out') -ge 3 ]"
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

# The Kafka prediction sink (when this build has the sink settings): every
# prediction goes to a topic, and driftdeck itself reads them back.
if "$DD_BIN" --help-config 2>/dev/null | grep -q "kafka://BROKERS/TOPIC"; then
    run g3 "$T/r4" 5000 --set sink.predictions=kafka --set "sink.kafka=kafka://$boot/preds"
    grep -q "predictions to kafka: 5000 sent, 0 dropped, 0 failed" "$T/r4.err" &&
        ok "5000 predictions sent to the preds topic" || bad "sink: $(cat "$T/r4.err")"
    TOPIC=preds
    run check "$T/r5" 5000 && ok "5000 prediction records read back from the topic" ||
        bad "read back: $(tail -1 "$T/r5")"
fi

echo "1..$n"
exit $fail
