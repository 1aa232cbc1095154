#!/bin/sh
# test_kstore_attach.sh: the `s` search in an *attached* console (in tmux).
# A headless instance indexes a stream into its knowledge store and serves
# its control socket; `driftdeck attach` opens the console on it; s opens
# the prompt, Enter sends the query over the socket, the instance searches
# its store and the hits come back with where they were found, their age
# and the embedding version. An instance without a store answers so, and
# the console stays up. The stream comes through a FIFO so the instance
# runs until the test closes it.
set -u
SRC=${DD_SRCDIR:?DD_SRCDIR is not set}
BIN=${DD_BIN:?DD_BIN is not set}
. "$SRC/tests/tmux_lib.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_kstore_attach.XXXXXX") || exit 99
INST=
INST2=
cleanup() {
    exec 3>&- 4>&- 2>/dev/null
    [ -n "$INST" ] && kill "$INST" 2>/dev/null
    [ -n "$INST2" ] && kill "$INST2" 2>/dev/null
    cleanup_tmux
    rm -rf "$TMP"
}
trap cleanup EXIT

i=0
while [ $i -lt 200 ]; do
    printf '{"id":"k%d","ts":%d,"x":{"t":%d},"y":%d,"text":"turbine %d alarm"}\n' \
        $i $((1700000000 + i)) $((i % 7)) $((i % 2)) $i
    i=$((i + 1))
done > "$TMP/events.jsonl"
printf '{"id":"needle","ts":1700000300,"x":{"t":1},"y":1,"text":"zebra quokka narwhal"}\n' \
    >> "$TMP/events.jsonl"

# wait_file PATH PATTERN: poll a file until it matches (30 s)
wait_file() {
    _end=$(($(now) + 30))
    until grep -Eq -- "$2" "$1" 2>/dev/null; do
        [ "$(now)" -ge "$_end" ] && { echo "timeout: '$2' never appeared in $1"; return 1; }
        sleep 0.1
    done
}

mkfifo "$TMP/fifo"
"$BIN" --headless --source - --workspace "$TMP/ws" --set kstore.enabled=true \
    --set run.status_interval=0.2 < "$TMP/fifo" > "$TMP/out.jsonl" 2> "$TMP/err.txt" &
INST=$!
exec 3> "$TMP/fifo"
cat "$TMP/events.jsonl" >&3
wait_file "$TMP/out.jsonl" '"entries":201' && ok "the instance indexed the stream" ||
    { fail "indexing"; cat "$TMP/err.txt"; tail -n 2 "$TMP/out.jsonl"; }
[ -S "$TMP/ws/driftdeck.sock" ] || fail "no control socket"

# the tmux server must not inherit the FIFOs' write ends (the stream would never end)
start a 140 40 "$BIN attach --workspace $TMP/ws" 3>&- 4>&-
wait_for a '\[attached\]' && wait_whole a || fail "attached console"
wait_for a 's search' && ok "the attached console offers s" || fail "the footer does not offer s"
keys a s
wait_for a 'search knowledge store: _' && ok "s opens the prompt" || fail "s: no prompt"
keys a "zebra quokka"
keys a Enter
wait_for a 'Knowledge store: "zebra quokka"' && ok "the instance answered over the socket" ||
    fail "Enter: no answer"
screen a | grep -Eq '(vector|both|fts) +[0-9]+[smhd] +ngram/1 d=64.* needle +\{"x"' &&
    ok "the hit shows where it was found, its age, version, id and payload" ||
    { fail "the hit line"; dump a; }
keys a x
wait_gone a 'Knowledge store:' && ok "any key closes" || fail "the hits did not close"
# a second search on the same link: the answer matches the new query
keys a s
wait_for a 'search knowledge store: zebra quokka_' || fail "the prompt keeps the last query"
keys a BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace
keys a "turbine 17 alarm"
keys a Enter
wait_for a 'Knowledge store: "turbine 17 alarm"' &&
    screen a | grep -Eq '(vector|both|fts) +[0-9]+[smhd] +ngram/1 d=64.* k17 ' &&
    ok "a second search finds its own hits" || { fail "the second search"; dump a; }
keys a x
wait_gone a 'Knowledge store:' || fail "the second answer did not close"
keys a d
wait_for a 'EXIT=0' 20 && ok "d detaches with 0" || fail "d did not detach"
kill -0 "$INST" 2>/dev/null && ok "the instance keeps running" || fail "the instance died"

# an instance without a store says so; the console stays attached
mkfifo "$TMP/fifo2"
"$BIN" --headless --source - --workspace "$TMP/ws2" < "$TMP/fifo2" > "$TMP/out2.jsonl" \
    2> "$TMP/err2.txt" &
INST2=$!
exec 4> "$TMP/fifo2"
head -n 20 "$TMP/events.jsonl" >&4
end=$(($(now) + 30))
until [ -S "$TMP/ws2/driftdeck.sock" ] || [ "$(now)" -ge "$end" ]; do sleep 0.1; done
start b 140 40 "$BIN attach --workspace $TMP/ws2" 3>&- 4>&-
wait_for b '\[attached\]' || fail "attached to the instance without a store"
keys b s
wait_for b 'search knowledge store: _' || fail "s: no prompt (no store)"
keys b "zebra"
keys b Enter
wait_for b 'search: this instance has no knowledge store' && ok "no store: the answer says so" ||
    fail "no store: no clear answer"
screen b | grep -q '\[attached\]' && ok "the console stays attached" || fail "detached on an error"
keys b d
wait_for b 'EXIT=0' 20 || fail "d (no store)"

exec 3>&- 4>&-
wait "$INST" && ok "the instance ends with 0 when its stream ends" || fail "instance exit"
INST=
wait "$INST2"
INST2=
[ -e "$TMP/ws/driftdeck.sock" ] && fail "the control socket was left behind"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
