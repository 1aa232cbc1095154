#!/bin/sh
# test_faults.sh: faults outside the database and the network, through the real
# binary (doc/RELIABILITY.md, "Fault tests"):
#  - SIGTERM (and SIGINT) during a run: the run ends with its summary and exit
#    code 0, also while stdin is open and idle (the reader must not block the
#    exit) and during a paced replay;
#  - the dead-letter file cannot be written (a full disk: the file is /dev/full;
#    a directory in its place): each failure is counted in deadletter_failures,
#    reported in the summary, and the stream goes on with every good event.
set -u
DD=${DD_BIN:?DD_BIN is not set}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_faults.XXXXXX") || exit 99
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 99
fails=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); echo "not ok $n - $*"; fails=$((fails + 1)); }
check() {
    d=$1
    shift
    if "$@"; then ok "$d"; else fail "$d"; fi
}
field() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p"; }
# wait_for SECONDS COMMAND...: poll until COMMAND succeeds; false after the deadline.
wait_for() {
    t=$(($1 * 10))
    shift
    while [ $t -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        t=$((t - 1))
    done
    return 1
}
alive() { kill -0 "$pid" 2>/dev/null; }
ended() { ! alive; }
saw_events() { grep -q "\"type\":\"status\",\"events\":$2," "$1"; }

"$DD" gen sea -n 2000 --seed 5 -o sea.jsonl || exit 99

# 1. SIGTERM while stdin is open and idle, after 500 events.
mkfifo in.fifo
"$DD" --headless --source - --set run.status_interval=0.05 < in.fifo > out1.jsonl 2> err1.txt &
pid=$!
exec 3> in.fifo
head -n 500 sea.jsonl >&3
check "500 events processed while stdin stays open" wait_for 60 saw_events out1.jsonl 500
kill -TERM "$pid"
check "SIGTERM with an idle stdin: the program exits" wait_for 30 ended
wait "$pid"
rc=$?
pid=
exec 3>&-
check "... with exit code 0 (got $rc)" test $rc = 0
s=$(grep '"type":"summary"' out1.jsonl)
check "... after its summary, 500 events ($s)" test "$(echo "$s" | field events)" = 500
check "... and nothing on stderr" test ! -s err1.txt

# 2. SIGTERM and SIGINT during a paced replay (1x: 2000 events take 20 s of event time).
for sig in TERM INT; do
    "$DD" --headless --source file:sea.jsonl --speed 1x --set run.status_interval=0.05 \
        > out2.jsonl 2> err2.txt &
    pid=$!
    check "SIG$sig replay: some events processed first" \
        wait_for 60 grep -q '"type":"status","events":[1-9]' out2.jsonl
    kill -$sig "$pid"
    check "SIG$sig during a paced replay: the program exits" wait_for 30 ended
    wait "$pid"
    rc=$?
    pid=
    check "... with exit code 0 (got $rc)" test $rc = 0
    s=$(grep '"type":"summary"' out2.jsonl)
    ev=$(echo "$s" | field events)
    check "... after a summary with part of the stream ($ev events)" \
        test -n "$ev" -a "${ev:-0}" -gt 0 -a "${ev:-2000}" -lt 2000
done

# 3. The dead-letter file cannot be written: full disk (/dev/full), or not a file.
{ head -n 100 sea.jsonl; echo 'bad 1'; echo '{"x":'; sed -n '101,200p' sea.jsonl;
  echo 'bad 3'; } > bad.jsonl
for kind in full dir; do
    mkdir ws-$kind
    if [ $kind = full ]; then
        ln -s /dev/full ws-$kind/driftdeck.deadletter.jsonl
    else
        mkdir ws-$kind/driftdeck.deadletter.jsonl
    fi
    "$DD" --headless --source file:bad.jsonl --workspace ws-$kind > out3.jsonl 2> err3.txt
    rc=$?
    check "dead-letter file unwritable ($kind): exit code 0 (got $rc)" test $rc = 0
    s=$(grep '"type":"summary"' out3.jsonl)
    check "... every good event processed ($s)" test "$(echo "$s" | field events)" = 200
    check "... 3 malformed lines counted" test "$(echo "$s" | field malformed)" = 3
    check "... 3 dead letters that failed, reported" \
        test "$(echo "$s" | field deadletter_failures)" = 3
done

echo "1..$n"
[ $fails = 0 ]
