#!/bin/bash
# test_ws_record.sh: `driftdeck record` against real WebSocket servers on
# loopback (websocketd; python3-websockets misbehaving on purpose): every
# message is recorded once, in order, whatever its shape, and every failure
# (reconnect, refused certificate, silent or closing server, oversized
# message) ends in a clear status and no crash.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@" # run by $(SHELL), which may be dash
. "${DD_SRCDIR:?}/tests/ws_lib.sh" || exit 1
echo "1..21"
REC="$DD_BIN record --quiet"

# 1-2. websocketd serving cat of a file: each line a message, arrays and
# malformed text kept, in order
printf '%s\n' '{"id":"a","x":{"v":1},"y":0}' '[{"x":{"v":2}},{"x":{"v":3}}]' 'not json {' \
    '{"x":{"v":4}}' >"$T/in.jsonl"
WSD_PORT=$("$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
websocketd --address=127.0.0.1 --port="$WSD_PORT" cat "$T/in.jsonl" >"$T/wsd.log" 2>&1 &
WSD=$!; PIDS="$PIDS $WSD"
poll "curl -s -o /dev/null http://127.0.0.1:$WSD_PORT/" 20
timeout 30 $REC "ws://127.0.0.1:$WSD_PORT/" -o "$T/r1.jsonl" --no-reconnect 2>"$T/r1.err"
check "websocketd: record exits 0 when the stream ends" [ $? -eq 0 ]
sed -n '2,$p' "$T/r1.jsonl" | sed 's/^{"recv_ts":[0-9.]*,//' >"$T/r1.body"
cat >"$T/r1.want" <<'W'
"msg":{"id":"a","x":{"v":1},"y":0}}
"msg":[{"x":{"v":2}},{"x":{"v":3}}]}
"raw":"not json {"}
"msg":{"x":{"v":4}}}
W
check "websocketd: 4 messages recorded verbatim, array and malformed included" \
    cmp -s "$T/r1.body" "$T/r1.want"
stop_pid $WSD

# 3-4. the server drops the connection mid-stream: record reconnects and
# gets every event of the second connection
start_server rc reconnect --count 20 --cut 8
timeout 60 $DD_BIN record "ws://127.0.0.1:$PORT/" -o "$T/r2.jsonl" --max-messages 20 \
    --backoff-min 0.1 --backoff-max 0.5 2>"$T/r2.err"
check "reconnect: all 20 events recorded across the drop" \
    [ "$(grep -c '"msg":{"id":"e-' "$T/r2.jsonl")" = 20 ]
check "reconnect: the reconnect is reported" grep -q "reconnecting (attempt 1" "$T/r2.err"
check "reconnect: the summary counts 1 reconnect" grep -q ", 1 reconnects)" "$T/r2.err"

# 5. fragmented messages (python3-websockets ends them with an empty frame)
start_server fr fragments
timeout 30 $REC "ws://127.0.0.1:$PORT/" -o "$T/r3.jsonl" --no-reconnect 2>"$T/r3.err"
check "fragments: reassembled into 2 whole messages" \
    [ "$(grep -c '"msg":{"id":"f-1","x":{"a":1.5}}}$' "$T/r3.jsonl")" = 1 -a \
      "$(grep -c '"msg":\[{"id":"f-2","x":{"a":2}},{"id":"f-3","x":{"a":3}}\]}$' "$T/r3.jsonl")" = 1 ]

# 6-7. an oversized message is refused and counted; the stream goes on
start_server ov oversize
timeout 30 $DD_BIN record "ws://127.0.0.1:$PORT/" -o "$T/r4.jsonl" --no-reconnect 2>"$T/r4.err"
check "oversize: refused with its size" grep -q "message of 20971[0-9]* bytes exceeds the maximum of 1048576" "$T/r4.err"
check "oversize: the next message still recorded" \
    [ "$(lines "$T/r4.jsonl")" = 2 -a "$(grep -c '"id":"e-7"' "$T/r4.jsonl")" = 1 ]

# 8. binary garbage and invalid UTF-8 are kept as base64, exactly
start_server bi binary
timeout 30 $REC "ws://127.0.0.1:$PORT/" -o "$T/r5.jsonl" --no-reconnect 2>"$T/r5.err"
check "binary: base64 envelopes and the valid event" \
    [ "$(grep -c '"raw_b64":"AP/+AQIDe30=","binary":true' "$T/r5.jsonl")" = 1 -a \
      "$(grep -c '"binary":false' "$T/r5.jsonl")" = 1 -a "$(grep -c '"id":"e-9"' "$T/r5.jsonl")" = 1 ]

# 9-10. a server that never answers: the connect timeout fires, attempts are
# counted, and record gives up with the reason
start_server si silent
timeout 60 $DD_BIN record "ws://127.0.0.1:$PORT/" -o "$T/r6.jsonl" --connect-timeout 1 \
    --max-attempts 2 --backoff-min 0.1 2>"$T/r6.err"
check "silent server: record gives up with status 1" [ $? -eq 1 ]
check "silent server: the reason is said" grep -q "gave up: connection to 127.0.0.1:$PORT failed" "$T/r6.err"

# 11-12. a server that closes at once: reconnecting with a growing delay, then giving up
start_server ca closeat
timeout 60 $DD_BIN record "ws://127.0.0.1:$PORT/" -o "$T/r7.jsonl" --max-attempts 3 \
    --backoff-min 0.1 2>"$T/r7.err"
check "closing server: gives up after 3 attempts" [ $? -eq 1 ]
check "closing server: the peer's close reason is said" \
    grep -q "closed by the peer (code 1011: closing at once)" "$T/r7.err"

# 13. a peer that stalls (no data, no pong) is dropped by the keep-alive
start_server st stall
timeout 60 $DD_BIN record "ws://127.0.0.1:$PORT/" -o "$T/r8.jsonl" --ping-interval 0.3 \
    --ping-timeout 0.5 --max-attempts 1 2>"$T/r8.err"
check "stalled peer: dropped after the ping timeout" grep -q "no data and no pong" "$T/r8.err"

# 14-16. TLS with a self-signed certificate made now: refused by default,
# accepted with the CA given, accepted with --insecure (said loudly)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
    -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1
start_server tls stream --count 3 --tls "$T/cert.pem" "$T/key.pem"
timeout 30 $DD_BIN record "wss://127.0.0.1:$PORT/" -o "$T/r9.jsonl" --max-attempts 1 2>"$T/r9.err"
check "tls: an unknown certificate is refused by default" [ $? -eq 1 -a "$(lines "$T/r9.jsonl")" = 1 ]
timeout 30 $REC "wss://127.0.0.1:$PORT/" -o "$T/r10.jsonl" --ca-file "$T/cert.pem" \
    --no-reconnect 2>"$T/r10.err"
check "tls: accepted with --ca-file, 3 events" [ "$(grep -c '"msg":' "$T/r10.jsonl")" = 3 ]
timeout 30 $DD_BIN record "wss://127.0.0.1:$PORT/" -o "$T/r11.jsonl" --insecure --no-reconnect \
    2>"$T/r11.err"
check "tls: --insecure connects and warns" \
    [ "$(grep -c '"msg":' "$T/r11.jsonl")" = 3 -a "$(grep -c 'WARNING: --insecure' "$T/r11.err")" = 1 ]

# 17. handshake headers from the environment reach the server (websocketd
# passes them to the program as HTTP_* variables)
cat >"$T/hdr.sh" <<'S'
#!/bin/sh
echo "{\"x\":{\"auth\":\"$HTTP_AUTHORIZATION\"}}"
S
chmod +x "$T/hdr.sh"
WSD_PORT=$("$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
websocketd --address=127.0.0.1 --port="$WSD_PORT" "$T/hdr.sh" >"$T/wsd2.log" 2>&1 &
PIDS="$PIDS $!"
poll "curl -s -o /dev/null http://127.0.0.1:$WSD_PORT/" 20
DRIFTDECK_WS_HEADERS='Authorization: Bearer t0k3n' timeout 30 $REC "ws://127.0.0.1:$WSD_PORT/" \
    -o "$T/r12.jsonl" --no-reconnect 2>"$T/r12.err"
check "headers: Authorization from DRIFTDECK_WS_HEADERS sent" \
    grep -q '"auth":"Bearer t0k3n"' "$T/r12.jsonl"

# 19. keep-alive: a quiet peer that answers pings is kept (no reconnect)
start_server qu quiet
# (3 s of silence > interval + timeout: only pongs keep it; a generous timeout for loaded CI)
timeout 30 $DD_BIN record "ws://127.0.0.1:$PORT/" -o "$T/r13.jsonl" --ping-interval 0.3 \
    --ping-timeout 1.5 --no-reconnect 2>"$T/r13.err"
check "keep-alive: a quiet peer answering pings is not dropped" \
    [ "$(grep -c '"id":"e-1"' "$T/r13.jsonl")" = 1 -a "$(grep -c 'no pong' "$T/r13.err")" = 0 ]

# 20-21. subprotocol: asked for and agreed; a server that agrees to none is refused clearly
start_server sp subproto
timeout 30 $REC "ws://127.0.0.1:$PORT/" -o "$T/r14.jsonl" --subprotocol dd.v1 --no-reconnect \
    2>"$T/r14.err"
check "subprotocol: dd.v1 agreed" grep -q '"proto":"dd.v1"' "$T/r14.jsonl"
timeout 30 $DD_BIN record "ws://127.0.0.1:$PORT/" -o "$T/r15.jsonl" --subprotocol other.v9 \
    --max-attempts 1 2>"$T/r15.err"
check "subprotocol: refused, with the reason, when the server agrees to none" \
    [ $? -eq 1 -a "$(lines "$T/r15.jsonl")" = 1 -a "$(grep -c "did not agree to the subprotocol .other.v9." "$T/r15.err")" -ge 1 ]

[ $FAILS -eq 0 ]
