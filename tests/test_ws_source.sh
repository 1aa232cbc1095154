#!/bin/bash
# test_ws_source.sh: the pipeline on live WebSocket streams (loopback):
# websocketd serving a file, a python3-websockets server that drops the
# connection mid-stream, predictions sent back over the connection, both
# flow policies, stdin, and the round trip record -> replay giving the same
# predictions and drift events as the live run.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@" # run by $(SHELL), which may be dash
. "${DD_SRCDIR:?}/tests/ws_lib.sh" || exit 1
echo "1..17"
export DRIFTDECK_DATA="$DD_SRCDIR/data"
cd "$T" || exit 1

free_port() { "$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
# serve_file FILE: websocketd serving cat FILE on a free port; sets WPORT
serve_file() {
    WPORT=$(free_port)
    websocketd --address=127.0.0.1 --port="$WPORT" cat "$1" >>"$T/wsd.log" 2>&1 &
    PIDS="$PIDS $!"
    poll "curl -s -o /dev/null http://127.0.0.1:$WPORT/" 20 || { echo "# websocketd did not start"; exit 1; }
}
# field FILE KEY: the numeric KEY of the summary line of a headless run
field() { grep '"type":"summary"' "$1" | "$PY" -c "import json,sys; d=json.loads(sys.stdin.read()); k='$2'.split('.'); v=d[k[0]] if len(k)==1 else d[k[0]][k[1]]; print(v)"; }

"$DD_BIN" gen stagger -n 2000 -d 1000 -V 0,1 -o stream.jsonl 2>/dev/null
{ head -n 700 stream.jsonl
  echo 'this is not json'
  printf '[%s,%s]\n' "$(sed -n 701p stream.jsonl)" "$(sed -n 702p stream.jsonl)"
  tail -n +703 stream.jsonl; } >mixed.jsonl
RUN="$DD_BIN --headless --set run.status_interval=0.2 --set ws.backoff_min=0.05 --set ws.backoff_max=0.2"

# 1-2. websocketd: every event learned, the malformed message counted, every prediction written
serve_file mixed.jsonl
timeout 60 $RUN --source "ws://127.0.0.1:$WPORT/" --set ws.reconnect=false \
    --predictions file --predictions-file live.pred --record live.rec >live.out 2>live.err
check "websocketd: 2000 events, 1 malformed, source ended" \
    [ "$(field live.out events)" = 2000 -a "$(field live.out malformed)" = 1 -a \
      "$(field live.out source.state)" = ended ]
check "websocketd: 2000 predictions with ids in order" \
    [ "$(grep -c '"type":"prediction"' live.pred)" = 2000 -a \
      "$(sed -n '2000s/.*"id":"\([^"]*\)".*/\1/p' live.pred)" = e-1999 ]

# 3-5. round trip: record the same stream, replay the recording at max speed:
# same predictions (latency aside) and the same drift events as live
timeout 60 $DD_BIN record --quiet "ws://127.0.0.1:$WPORT/" -o rec.jsonl --no-reconnect
check "round trip: the recording holds the header and 2000 messages" [ "$(lines rec.jsonl)" = 2001 ]
timeout 60 $RUN --source file:rec.jsonl --speed max --predictions file \
    --predictions-file replay.pred >replay.out 2>replay.err
strip() { sed 's/,"latency_ms":[0-9.e+-]*//' "$1"; }
check "round trip: replayed predictions equal the live ones" \
    cmp -s <(strip live.pred) <(strip replay.pred)
alarms() { grep -E '"type":"(drift|warning)"' "$1"; }
same_alarms() { [ -n "$(alarms live.out)" ] && cmp -s <(alarms live.out) <(alarms replay.out); }
check "round trip: the same drift events (at least one) as live" same_alarms

# the live run's own recording (--record) replays to the same predictions and alarms
timeout 60 $RUN --source file:live.rec --predictions file --predictions-file self.pred \
    >self.out 2>self.err
check "run --record: its recording replays to the live predictions" \
    cmp -s <(strip live.pred) <(strip self.pred)
same_self() { cmp -s <(alarms live.out) <(alarms self.out); }
check "run --record: and to the live drift events" same_self

# 6. stdin (JSON Lines, blocking, ends at EOF)
timeout 60 $RUN --source - <mixed.jsonl >stdin.out 2>stdin.err
check "stdin: 2000 events and 1 malformed" \
    [ "$(field stdin.out events)" = 2000 -a "$(field stdin.out malformed)" = 1 ]

# 7. an empty first line (regression: it crashed the line reader) is a counted bad message
printf '\n{"x":{"a":1}}\n' | timeout 30 $RUN --source - >empty.out 2>empty.err
check "stdin: an empty first line is counted as malformed, the next event learned" \
    [ "$(field empty.out events)" = 1 -a "$(field empty.out malformed)" = 1 ]

# 8-9. flow: block with a 1-slot queue loses nothing; drop-oldest counts what it drops
# (20,000 events through a 1-slot queue: reading pauses and resumes hundreds of
# times, the path where a use-after-free once hid; run it under ASan in CI)
"$DD_BIN" gen sea -n 20000 -o sea20k.jsonl 2>/dev/null
serve_file sea20k.jsonl
timeout 120 $RUN --source "ws://127.0.0.1:$WPORT/" --set ws.reconnect=false \
    --set run.queue_capacity=1 >block.out 2>block.err
check "flow block: all 20000 events, none dropped" \
    [ "$(field block.out events)" = 20000 -a "$(field block.out dropped)" = 0 ]
serve_file stream.jsonl # one event per message: drops and events add up exactly
timeout 60 $RUN --source "ws://127.0.0.1:$WPORT/" --set ws.reconnect=false \
    --set run.queue_capacity=1 --flow drop-oldest >drop.out 2>drop.err
echo "# drop-oldest: $(field drop.out events) processed, $(field drop.out dropped) dropped"
check "flow drop-oldest: processed + dropped = 2000" \
    [ $(( $(field drop.out events) + $(field drop.out dropped) )) = 2000 ]

# 9-10. the server drops the connection after 80 of 200 events: driftdeck
# reconnects, learns from all 200, and reports the reconnect
start_server rc reconnect --count 200 --cut 80
$RUN --source "ws://127.0.0.1:$PORT/" --predictions file --predictions-file rc.pred \
    >rc.out 2>rc.err &
RUNPID=$!; PIDS="$PIDS $RUNPID"
poll "[ -f rc.pred ] && [ \$(lines rc.pred) -ge 200 ]" 60
poll "grep -q '\"reconnects\":1' rc.out" 20
kill -INT $RUNPID; wait $RUNPID
check "reconnect: all 200 events learned (labelled) across the drop" \
    [ "$(field rc.out events)" = 200 -a "$(field rc.out labelled)" = 200 ]
check "reconnect: the reconnect is in the status" [ "$(field rc.out source.reconnects)" = 1 ]

# 11-12. predictions go back over the same connection
start_server sk sink --count 50
$RUN --source "ws://127.0.0.1:$PORT/" --predictions ws >skrun.out 2>skrun.err &
RUNPID=$!; PIDS="$PIDS $RUNPID"
poll "[ \$(count '\"type\":\"prediction\"' '$T/sk.out') -ge 50 ]" 60
kill -INT $RUNPID; wait $RUNPID
check "ws sink: the server received 50 predictions" \
    [ "$(grep -c '"type":"prediction"' "$T/sk.out")" = 50 ]
check "ws sink: one per event id, in order" \
    [ "$(grep -o '"id":"e-[0-9]*"' "$T/sk.out" | tr '\n' ' ')" = \
      "$(for i in $(seq 0 49); do printf '"id":"e-%d" ' $i; done)" ]

# 14-15. bad input on a live stream: counted, dead-lettered with the reason, the stream goes on
start_server ov oversize
mkdir -p "$T/wsov" "$T/wsbi"
timeout 60 $RUN --source "ws://127.0.0.1:$PORT/" --set ws.reconnect=false --workspace "$T/wsov" \
    >ov.out 2>ov.err
check "oversize: 1 malformed (dead-lettered with its size), the next event learned" \
    [ "$(field ov.out malformed)" = 1 -a "$(field ov.out events)" = 1 -a \
      "$(grep -c 'exceeds the maximum of 1048576' "$T/wsov/driftdeck.deadletter.jsonl")" = 1 ]
start_server bi binary
timeout 60 $RUN --source "ws://127.0.0.1:$PORT/" --set ws.reconnect=false --workspace "$T/wsbi" \
    >bi.out 2>bi.err
check "binary garbage and invalid UTF-8: 2 malformed, dead-lettered; the valid event learned" \
    [ "$(field bi.out malformed)" = 2 -a "$(field bi.out events)" = 1 -a \
      "$(lines "$T/wsbi/driftdeck.deadletter.jsonl")" = 2 ]

[ $FAILS -eq 0 ]
