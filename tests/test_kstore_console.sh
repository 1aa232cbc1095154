#!/bin/sh
# test_kstore_console.sh: the console's `s` key searches the knowledge store
# (in tmux): s opens a prompt, Enter shows the hits with where they were
# found, their age and the embedding version; any key closes; with no store
# the key is not offered.
set -u
SRC=${DD_SRCDIR:?DD_SRCDIR is not set}
BIN=${DD_BIN:?DD_BIN is not set}
. "$SRC/tests/tmux_lib.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_kstore_console.XXXXXX") || exit 99
trap 'cleanup_tmux; rm -rf "$TMP"' EXIT

i=0
while [ $i -lt 200 ]; do
    printf '{"id":"k%d","ts":%d,"x":{"t":%d},"y":%d,"text":"turbine %d alarm"}\n' \
        $i $((1700000000 + i)) $((i % 7)) $((i % 2)) $i
    i=$((i + 1))
done > "$TMP/events.jsonl"
printf '{"id":"needle","ts":1700000300,"x":{"t":1},"y":1,"text":"zebra quokka narwhal"}\n' \
    >> "$TMP/events.jsonl"

start s 140 40 "$BIN --source file:$TMP/events.jsonl --speed max --workspace $TMP/ws --set kstore.enabled=true"
wait_whole s || fail "panels"
wait_for s 's search' || fail "the footer does not offer s"
keys s s
wait_for s 'search knowledge store: _' && ok "s opens the prompt" || fail "s: no prompt"
keys s "zebra quokka"
keys s Enter
wait_for s 'Knowledge store: "zebra quokka"' || fail "Enter: no answer"
screen s | grep -Eq '(vector|both|fts) +[0-9]+[smhd] +ngram/1 d=64.* needle' &&
    ok "the hit shows where it was found, its age, version and id" ||
    { fail "the hit line"; dump s; }
keys s x
wait_gone s 'Knowledge store:' && ok "any key closes" || fail "the hits did not close"
keys s q
if wait_for s 'Quit\?|EXIT=' 10 > /dev/null; then
    screen s | grep -q 'Quit?' && keys s y
fi
wait_for s 'EXIT=0' && ok "q quits with 0" || fail "quit"

start n 140 40 "$BIN --source file:$TMP/events.jsonl --speed max --workspace $TMP/ws2"
wait_whole n || fail "panels without a store"
screen n | grep -q 's search' && fail "s is offered without a store" || ok "no store, no s"
keys n s
keys n q
if wait_for n 'Quit\?|EXIT=' 10 > /dev/null; then
    screen n | grep -q 'Quit?' && keys n y
fi
wait_for n 'EXIT=0' || fail "quit without a store"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
