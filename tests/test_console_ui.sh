#!/bin/sh
# test_console_ui.sh: the console's keys against a simulated worker
# (tests/console_sim: known answers to every command), in tmux. This checks
# the console and the protocol where the real worker cannot yet (approval
# and rollback need the governance module):
#  - a opens a confirmation with both versions' metrics; y promotes;
#  - r (with the versions panel focused) confirms and rolls back; n cancels;
#  - x rejects; n steps one event while paused; +/- change the speed;
#  - / filters the event log; Enter on a version opens its details;
#  - q asks when a version awaits approval; n stays, y quits with 0;
#  - NO_COLOR gives no colour, and a non-UTF-8 locale gives ASCII charts and
#    lines (no braille), while the default gives colours and braille.
set -u
SRC=${DD_SRCDIR:?DD_SRCDIR is not set}
BUILD=${DD_BUILDDIR:?DD_BUILDDIR is not set}
SIM="$BUILD/tests/console_sim"
. "$SRC/tests/tmux_lib.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_console_ui.XXXXXX") || exit 99
trap 'cleanup_tmux; rm -rf "$TMP"' EXIT

start s 80 24 "DD_SIM_EXPORT_DIR=$TMP $SIM"
wait_whole s || fail "panels"
wait_for s 'v2 AWAITS APPROVAL' 60 || fail "no version awaits approval"

keys s a
wait_for s 'Approve promotion\?' || fail "a: no confirmation"
screen s | grep -Eq 'candidate v2 +active v1' && screen s | grep -Eq 'accuracy +0\.9100 +0\.7100' &&
    ok "a shows both versions' metrics side by side" || { fail "a: metrics not side by side"; dump s; }
keys s n
wait_gone s 'Approve promotion\?' || fail "n did not cancel"
screen s | grep -q 'AWAITS APPROVAL' || fail "cancel still changed something"
keys s a
wait_for s 'Approve promotion\?'
keys s y
wait_for s 'promoted' && wait_for s 'v2 approved by' && ok "y promotes" || fail "y did not promote"
wait_for s 'active v2' || fail "header does not show v2 active"

keys s Tab Tab # the versions panel
wait_for s 'Enter: details' || fail "Tab did not focus the versions panel"
keys s Down
keys s r
wait_for s 'Roll back to v1 \(selected\)\?' || fail "r on a selected version: no confirmation"
keys s y
wait_for s 'active is now v1' && wait_for s 'rolled back v2 -> v1' && ok "r rolls back to the selection" ||
    fail "rollback"
keys s Enter
wait_for s 'Version v1' && wait_for s 'lineage: simulated' && ok "Enter shows a version's details" ||
    fail "details"
keys s Escape

wait_for s 'v3 AWAITS APPROVAL' 60 || fail "no second candidate"
keys s x
wait_for s 'v3 rejected by' && ok "x rejects" || fail "x"

keys s Space
wait_for s 'PAUSED' || fail "pause"
n1=$(events_of s)
keys s n
wait_for s 'stepped' || fail "n: no step"
n2=$(events_of s)
[ "$n2" -gt "$n1" ] 2> /dev/null && ok "n steps while paused ($n1 -> $n2)" || fail "n: $n1 -> $n2"
keys s +
wait_for s 'speed x2 ' && ok "+ doubles the speed" || fail "+"
keys s - -
wait_for s 'speed x0.5 ' || fail "-"

keys s Tab # the event log
keys s /
wait_for s 'filter log:' || fail "/ did not open the filter"
keys s r o l l e d Enter
wait_for s 'filter: rolled' || fail "the filter was not applied"
log=$(screen s | sed -n '/Event log/,$p' | sed -n '2,5p')
printf '%s\n' "$log" | grep -q 'rolled back' && ! printf '%s\n' "$log" | grep -q 'approved by' &&
    ok "/ filters the event log" || { fail "filter"; dump s; }

keys s e
wait_for s 'j: JSON Lines'
keys s c
wait_for s "wrote $TMP/session.csv" && [ -s "$TMP/session.csv" ] && ok "e c exports" || fail "export"

keys s Space
wait_for s 'RUNNING'
wait_for s 'AWAITS APPROVAL' 60
keys s q
wait_for s 'Quit\?' && ok "q asks while a version awaits approval" || fail "q did not ask"
keys s n
wait_gone s 'Quit\?'
keys s q
wait_for s 'Quit\?'
keys s y
wait_for s 'EXIT=0' && restored s && ok "q y quits with 0, terminal restored" || fail "quit"

# colours and braille by default; monochrome with NO_COLOR, ASCII with LANG=C
start m 80 24 "LANG=C NO_COLOR=1 $SIM"
start u 80 24 "$SIM"
wait_whole m && wait_whole u || fail "panels (mono / utf-8)"
wait_for m '^ +[0-9.]+ +.*[.:'"'"']' 20 || fail "no ASCII chart line under LANG=C"
esc=$(printf '\033')
T capture-pane -e -p -t u | grep -q "${esc}\[3[1-7]m" && ok "colours by default" || fail "no colours by default"
T capture-pane -e -p -t m | grep -q "${esc}\[3[1-7]m" && fail "colours despite NO_COLOR" || ok "NO_COLOR: no colours"
braille=$(printf '\342\240') # U+28xx starts with these bytes
wait_for u "$braille" 20 && ok "braille under a UTF-8 locale" || fail "no braille under C.UTF-8"
screen m | grep -q "$braille" && fail "braille under LANG=C" || ok "LANG=C: ASCII only"
screen m | grep -q '^- Rolling accuracy' && ok "LANG=C: ASCII lines" || { fail "LANG=C lines"; dump m; }

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
