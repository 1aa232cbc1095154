#!/bin/sh
# test_console.sh: the real driftdeck console in a real terminal (tmux).
#  - at 80x24 and at 200x50 every panel shows (side by side when wide);
#  - a drift of the demo stream reaches the event log and the chart;
#  - space shows PAUSED and the event counter stops; space again resumes;
#  - e then j writes an export file, and the console says where;
#  - ? shows the help; Enter on a version shows its details;
#  - resizing several times (down to too small and back) keeps the screen whole;
#  - q exits with code 0 and the terminal restored; so does SIGTERM;
#  - with the events on stdin, the keys come from the terminal;
#  - a live source that cannot connect shows "reconnecting" in the header and
#    the log, and space freezes learning instead of pausing;
#  - a console attached to a headless instance pauses it (the log names the
#    user), detaches with d, and the instance keeps running.
# Not here: approve (a) and roll back (r) on the real binary need the
# governance module (registry); tests/test_console_ui.sh covers those keys
# against a simulated worker.
set -u
DD=${DD_BIN:?DD_BIN is not set}
SRC=${DD_SRCDIR:?DD_SRCDIR is not set}
. "$SRC/tests/tmux_lib.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_console.XXXXXX") || exit 99
INST=
trap 'cleanup_tmux; [ -n "$INST" ] && kill "$INST" 2>/dev/null; rm -rf "$TMP"' EXIT
export DRIFTDECK_DATA="$SRC/data"
ME=$(id -un)

# ---- 80x24: panels, a drift, pause, export, resize, quit ----
start a 80 24 "cd $TMP && $DD --speed 10 --workspace $TMP"
wait_whole a && ok "panels at 80x24"
wait_for a 'drift +adwin drift on error' 60 && ok "a demo drift reaches the event log"
# the marker row under the chart (only spaces and marker letters): the
# marker shows once a chart sample at or past the drift has come
wait_for a '^ {8,}[wDPR ]*D[wDPR ]*$' 30 && ok "a drift marker under the chart" ||
    fail "no drift marker under the chart"

keys a Space
wait_for a 'PAUSED' || fail "space did not show PAUSED"
wait_for a ' 0/s ' 20 || fail "events/s never reached 0 while paused"
n1=$(events_of a)
keys a c # any redraw from a newer snapshot
wait_for a 'chart 2/6' || fail "c did not cycle the chart"
keys a c
wait_for a 'chart 3/6'
n2=$(events_of a)
[ -n "$n1" ] && [ "$n1" = "$n2" ] && ok "counter stopped at $n1" ||
    fail "the counter moved while paused: $n1 -> $n2"
keys a Space
wait_for a 'RUNNING' && ok "space resumes"

keys a e
wait_for a 'j: JSON Lines' || fail "e did not ask for the format"
keys a j
wait_for a 'wrote /' || fail "the export did not say where it wrote"
path=$(screen a | sed -n 's/.*wrote \(\/[^ ]*\).*/\1/p' | head -n 1)
[ -s "$path" ] && grep -q '"kind":"sample"' "$path" && ok "export written to $path" ||
    fail "export file '$path' missing or empty"

before=$fails
for size in "200 50" "100 30" "60 16" "50 12" "132 43" "80 24"; do
    T resize-window -t a -x "${size% *}" -y "${size#* }"
    if [ "$size" = "50 12" ]; then
        wait_for a 'needs 60x16' || fail "too small a terminal: no message"
    else
        wait_whole a || fail "screen not whole at $size"
    fi
done
[ "$(screen a | wc -l)" -eq 24 ] || fail "the pane does not have 24 lines after resizing"
[ "$fails" -eq "$before" ] && ok "resizing keeps the screen whole"

keys a q
wait_for a 'EXIT=0' 20 || fail "q did not exit with 0"
restored a && ok "terminal restored after q" || fail "terminal not restored after q"

# ---- events on stdin, keys from the terminal (/dev/tty) ----
start p 80 24 "cd $TMP && cat $SRC/data/demo.jsonl | $DD --source - --speed 20 --workspace $TMP"
wait_whole p && ok "console on stdin events" || fail "console on stdin events"
keys p q
wait_for p 'EXIT=0' 20 && restored p && ok "q with events on stdin" || fail "q with events on stdin"

# ---- a live source that cannot connect: reconnecting, and pause freezes learning ----
start w 80 24 "cd $TMP && $DD --source ws://127.0.0.1:9/none --workspace $TMP"
wait_for w '\[reconnecting' 30 && wait_for w 'reconnect +ws://127.0.0.1:9/none: reconnecting \(' &&
    ok "reconnecting shows in the header and the log" || fail "reconnecting"
keys w Space
wait_for w 'LEARNING FROZEN' && ok "space on a live source freezes learning" || fail "live pause"
keys w q
wait_for w 'EXIT=0' 20 || fail "q on a live source"

# ---- 200x50: side by side ----
start b 200 50 "mkdir -p $TMP/b && cd $TMP && $DD --speed 10 --workspace $TMP/b" # its own workspace: a fresh v1
wait_whole b && ok "panels at 200x50"
screen b | grep -q 'Rolling accuracy.*Model versions' && ok "wide: chart and versions side by side" ||
    { fail "wide layout not side by side"; dump b; }
keys b '?'
wait_for b 'Keys \(any key closes\)' || fail "? did not show the help"
keys b Escape
wait_gone b 'Keys \(any key closes\)' || fail "the help did not close"
keys b Tab Tab # chart -> replay -> versions
wait_for b 'Enter: details' || fail "Tab did not reach the versions panel"
keys b Enter
wait_for b 'v[0-9]+: [a-z_]+, created by [a-z]+' && ok "Enter shows the version's details" ||
    fail "no version details"
keys b Escape
# SIGTERM: the console leaves the normal way and restores the terminal
pid=$(T display-message -p -t b '#{pane_pid}')
pkill -TERM -P "$pid" -x driftdeck 2>/dev/null || pkill -TERM -P "$pid" 2>/dev/null
wait_for b 'EXIT=' 20 || fail "SIGTERM did not end the console"
restored b && ok "terminal restored after SIGTERM" || fail "terminal not restored after SIGTERM"

# ---- attach to a headless instance ----
mkdir -p "$TMP/ws"
"$DD" --headless --speed 1 --workspace "$TMP/ws" > "$TMP/ws/out.jsonl" 2> "$TMP/ws/err" &
INST=$!
end=$(($(now) + 30))
until [ -S "$TMP/ws/driftdeck.sock" ] || [ "$(now)" -ge "$end" ]; do sleep 0.1; done
[ -S "$TMP/ws/driftdeck.sock" ] || fail "the headless instance has no control socket"
[ "$(stat -c %a "$TMP/ws/driftdeck.sock")" = 600 ] || fail "control socket is not 0600"
start c 80 24 "$DD attach --workspace $TMP/ws"
wait_for c '\[attached\]' && wait_whole c && ok "attached console shows the instance"
keys c Space
wait_for c 'PAUSED' && wait_for c "paused by $ME" && ok "attached pause, audited with the user" ||
    fail "attached pause"
keys c d
wait_for c 'EXIT=0' 20 && ok "d detaches with 0" || fail "d did not detach cleanly"
restored c || fail "terminal not restored after detach"
kill -0 "$INST" 2>/dev/null && ok "the instance keeps running" || fail "the instance died"
start d 80 24 "$DD attach --workspace $TMP/ws"
wait_for d 'PAUSED' && ok "a second console sees the paused instance"
keys d Space
wait_for d 'RUNNING' || fail "attached resume"
keys d q
wait_for d 'EXIT=0' 20 || fail "q in an attached console did not detach"
kill -0 "$INST" 2>/dev/null || fail "the instance died after the second detach"
kill -TERM "$INST"
wait "$INST"
INST=
[ -e "$TMP/ws/driftdeck.sock" ] && fail "the control socket was left behind"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
