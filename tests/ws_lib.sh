# ws_lib.sh: helpers for driftdeck's WebSocket shell tests (sourced).
# TAP output, servers on loopback with their pids tracked, and polling with
# deadlines instead of fixed sleeps.

: "${DD_BIN:?DD_BIN must point at the driftdeck program}"
: "${DD_SRCDIR:?}"
PY=/usr/bin/python3
WS_SERVER="$DD_SRCDIR/tests/ws_server.py"
T=$(mktemp -d /tmp/dd-wstest.XXXXXX)
PIDS=""
TAPN=0
FAILS=0

cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

ok() { TAPN=$((TAPN + 1)); echo "ok $TAPN - $1"; }
not_ok() {
    TAPN=$((TAPN + 1)); FAILS=$((FAILS + 1)); echo "not ok $TAPN - $1"
    shift
    for f in "$@"; do [ -f "$f" ] && sed 's/^/#   /' "$f" | head -40; done
}
# check NAME COMMAND... : one TAP line from a command's status
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

# poll COND-COMMAND [SECONDS]: true once the command succeeds, false at the deadline
poll() {
    _deadline=$(( $(date +%s) + ${2:-20} ))
    while ! eval "$1"; do
        [ "$(date +%s)" -ge "$_deadline" ] && return 1
        sleep 0.05
    done
    return 0
}

# start_server NAME MODE [ARGS...]: run ws_server.py; sets PORT; log in $T/NAME.log
start_server() {
    _name=$1; shift
    rm -f "$T/$_name.port"
    "$PY" "$WS_SERVER" "$1" "$T/$_name.port" "${@:2}" >"$T/$_name.out" 2>"$T/$_name.log" &
    PIDS="$PIDS $!"
    if ! poll "[ -s '$T/$_name.port' ]" 20; then
        echo "# server $_name did not start"; cat "$T/$_name.log"; exit 1
    fi
    PORT=$(cat "$T/$_name.port")
}

# stop_pid PID: end one process we started
stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; true; }

# lines FILE: the number of lines
lines() { wc -l <"$1" | tr -d ' '; }

# count PATTERN FILE: lines matching (0 when none or no file)
count() { _n=$(grep -c "$1" "$2" 2>/dev/null); echo "${_n:-0}"; }
