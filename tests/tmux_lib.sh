# tmux_lib.sh: helpers for tests that drive driftdeck in a real terminal.
# Sourced by tests/test_console*.sh. Each test gets its own tmux server
# (-L), so it never touches the user's sessions or another test's.
# Waiting is always polling for a condition with a generous deadline; on a
# timeout the screen goes into the test log.

command -v tmux > /dev/null 2>&1 || { echo "tmux is not installed: cannot run terminal tests"; exit 77; }
unset TMUX
TSOCK="dd-$$-$(date +%s)"
T() { tmux -L "$TSOCK" "$@"; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# start SESSION COLS ROWS COMMAND: run COMMAND in a new session; when it
# ends, the pane shows "EXIT=<code>" and stays open for inspection.
start() {
    T new-session -d -s "$1" -x "$2" -y "$3" \
        "export LANG=C.UTF-8; $4; echo EXIT=\$?; exec sleep 600"
}

screen() { T capture-pane -p -t "$1"; }

dump() {
    echo "---- screen of $1 ----"
    screen "$1" | sed 's/^/| /'
    echo "----"
}

now() { date +%s; }

# wait_for SESSION PATTERN [SECONDS]: poll until the screen matches (grep -E).
wait_for() {
    _end=$(($(now) + ${3:-30}))
    while :; do
        _scr=$(screen "$1")
        printf '%s\n' "$_scr" | grep -Eq -- "$2" && return 0
        # the program ended: what we wait for will not come
        if [ "$(now)" -ge "$_end" ] || printf '%s\n' "$_scr" | grep -q '^EXIT=[0-9]'; then
            echo "timeout: '$2' never appeared on $1"
            dump "$1"
            return 1
        fi
        sleep 0.1 # the polling interval
    done
}

# wait_gone SESSION PATTERN [SECONDS]: poll until the screen no longer matches.
wait_gone() {
    _end=$(($(now) + ${3:-30}))
    while screen "$1" | grep -Eq -- "$2"; do
        if [ "$(now)" -ge "$_end" ]; then
            echo "timeout: '$2' never went away on $1"
            dump "$1"
            return 1
        fi
        sleep 0.1
    done
}

keys() { _s=$1; shift; T send-keys -t "$_s" "$@"; }

# The events counter in the header ("events 1234" or "events 12.3k").
events_of() { screen "$1" | head -n 1 | sed -n 's/.*events \([0-9.kMG]*\) .*/\1/p'; }

# The four panels, the header and the footer are on the screen.
screen_whole() {
    _s=$(screen "$1")
    for _p in 'events [0-9]' 'RUNNING|PAUSED|ENDED|LEARNING' 'c: chart [0-9]/6' \
        'Replay buffer' 'Model versions' 'Event log' '\? help'; do
        printf '%s\n' "$_s" | grep -Eq -- "$_p" || { echo "missing on screen: $_p"; return 1; }
    done
    return 0
}

# wait_whole SESSION [SECONDS]
wait_whole() {
    _end=$(($(now) + ${2:-30}))
    until screen_whole "$1" > /dev/null; do
        if [ "$(now)" -ge "$_end" ] || screen "$1" | grep -q '^EXIT=[0-9]'; then
            screen_whole "$1"
            dump "$1"
            return 1
        fi
        sleep 0.1
    done
}

# The terminal is back to normal: not on the alternate screen, cursor shown.
restored() {
    [ "$(T display-message -p -t "$1" '#{alternate_on}')" = 0 ] &&
        [ "$(T display-message -p -t "$1" '#{cursor_flag}')" = 1 ]
}

cleanup_tmux() { T kill-server > /dev/null 2>&1; }
