#!/bin/sh
# test_limits.sh: every hard limit of issue 10 and every defined case of odd
# input, through the real binary (doc/RELIABILITY.md, "Limits"):
#  - each limit has a configuration key with a default (--help-config);
#  - hitting one (message size, nesting depth, features, string length,
#    distinct classes) drops that one message or label, counts it and logs
#    its reason in the dead-letter file; the stream goes on;
#  - pending delayed labels: a full table evicts its oldest event, counted;
#  - the dead-letter file rotates to FILE.1 at [limits] deadletter_max_bytes;
#  - duplicate ids, timestamps out of order and in the future (ahead of the
#    event clock by more than [limits] max_future_seconds) behave as
#    doc/FORMATS.md says, and are counted.
set -u
DD=${DD_BIN:?DD_BIN is not set}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_limits.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 99
fails=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); echo "not ok $n - $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...
    d=$1
    shift
    if "$@"; then ok "$d"; else fail "$d"; fi
}
field() { # field NAME < json line: the number after "NAME":
    sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p"
}
summary() { grep '"type":"summary"' "$1"; }
dl=driftdeck.deadletter.jsonl

# 1. Every limit has a key and a documented default.
"$DD" --help-config > help.txt
for key in max_message_bytes max_depth max_features max_string deadletter_max_bytes \
    max_future_seconds max_classes pending_capacity pending_max_age; do
    check "--help-config documents $key with its default" grep -q "^  $key .*default" help.txt
done

# 2. Message limits: one message each, dropped with its reason; the stream goes on.
good() { i=$1; echo "{\"id\":\"g$i\",\"ts\":$((1700000000 + i)),\"x\":{\"a\":$i,\"b\":1},\"y\":$((i % 2))}"; }
{
    good 1
    printf '{"x":{"a":1,"pad":"%0300d"},"y":1}\n' 0           # 300+ bytes > 256
    good 2
    echo '{"x":{"a":{"b":{"c":{"d":{"e":1}}}}},"y":0}'          # depth 6 > 4
    good 3
    echo '{"x":{"a":1,"b":2,"c":3,"d":4,"e":5},"y":1}'          # 5 features > 4
    good 4
    echo '{"x":{"a":1,"s":"abcdefghijklmnopq"},"y":1}'          # 17 bytes > 16
    good 5
    echo '{"x":{"a":1e400},"y":1}'                              # overflows to inf
    echo '{"x":{"a":NaN},"y":1}'                                # not JSON
    echo '{"x":{"a":1e16},"y":1}'                               # beyond 1e15
    echo '{"x":{"a":1},"y":[1]}'                                # label of the wrong type
    good 6
} > limits.jsonl
"$DD" --headless --source file:limits.jsonl --set limits.max_message_bytes=256 \
    --set limits.max_depth=4 --set limits.max_features=4 --set limits.max_string=16 \
    > out1.jsonl 2> err1.txt
check "limits run exits 0" test $? = 0
s=$(summary out1.jsonl)
check "8 messages dropped as malformed ($s)" test "$(echo "$s" | field malformed)" = 8
check "the 6 good events are processed" test "$(echo "$s" | field events)" = 6
for reason in 'exceeds the limit of 256' 'nesting deeper than 4' 'more than 4 features' \
    'string of 17 bytes exceeds the limit of 16' 'is not a finite number' 'invalid JSON' \
    'out of range' 'y must be'; do
    check "dead letter gives the reason '$reason'" grep -q "\"reason\":\"[^\"]*$reason" $dl
done
check "8 dead letters" test "$(wc -l < $dl)" = 8

# 3. Distinct classes: a class beyond [model] max_classes is refused, counted, logged.
{
    for c in red green blue red violet green; do
        echo "{\"id\":\"c-$c\",\"x\":{\"a\":1},\"y\":\"$c\"}"
    done
} > classes.jsonl
rm -f $dl
"$DD" --headless --source file:classes.jsonl --set model.task=multiclass \
    --set model.max_classes=3 > out2.jsonl 2> err2.txt
check "classes run exits 0" test $? = 0
s=$(summary out2.jsonl)
check "all 6 events predicted ($s)" test "$(echo "$s" | field events)" = 6
check "the 4th class is a bad label, once" test "$(echo "$s" | field bad_labels)" = 1
check "the refused label is logged with its id and reason" \
    grep -q '"reason":"label not learned: limit exceeded".*c-violet' $dl

# 3b. A label of the wrong type for a binary task (2, "maybe" as a third name): predicted,
#     label refused, counted and logged; the good labels around them are learned.
printf '%s\n' '{"id":"b1","x":{"a":1},"y":1}' '{"id":"b2","x":{"a":1},"y":2}' \
    '{"id":"b3","x":{"a":1},"y":0}' '{"id":"b4","x":{"a":1},"y":true}' > binary.jsonl
rm -f $dl
"$DD" --headless --source file:binary.jsonl > out2b.jsonl
s=$(summary out2b.jsonl)
check "binary: y=2 is a bad label ($s)" test "$(echo "$s" | field bad_labels)" = 1
check "binary: the other three are learned (true is 1)" test "$(echo "$s" | field labelled)" = 3
check "binary: the refused label is logged as the wrong type" \
    grep -q '"reason":"label not learned: wrong type".*b2' $dl

# 4. Pending delayed labels: capacity 2, three waiting events: the oldest is evicted.
printf '%s\n' '{"id":"p1","x":{"a":1}}' '{"id":"p2","x":{"a":2}}' '{"id":"p3","x":{"a":3}}' \
    '{"id":"p1","y":1}' '{"id":"p3","y":0}' > pending.jsonl
"$DD" --headless --source file:pending.jsonl --set eval.pending_capacity=2 > out3.jsonl
s=$(summary out3.jsonl)
check "a full pending table evicts one ($s)" test "$(echo "$s" | field pending_evicted)" = 1
check "the evicted event's label is unmatched" test "$(echo "$s" | field unmatched_labels)" = 1
check "the others join" test "$(echo "$s" | field joined_labels)" = 1

# 5. Dead-letter rotation at a small size: two files at most, each under the limit.
rm -f $dl $dl.1
i=0
while [ $i -lt 60 ]; do echo "bad line number $i, which is not JSON at all"; i=$((i + 1)); done \
    > bad.jsonl
good 7 >> bad.jsonl
"$DD" --headless --source file:bad.jsonl --set limits.deadletter_max_bytes=2048 > out4.jsonl
s=$(summary out4.jsonl)
check "60 bad lines counted ($s)" test "$(echo "$s" | field malformed)" = 60
check "the dead-letter file was rotated" test -f $dl.1
check "FILE stays within 2048 bytes" test "$(wc -c < $dl)" -le 2048
check "FILE.1 stays within 2048 bytes" test "$(wc -c < $dl.1)" -le 2048
check "the newest dead letter is in FILE" grep -q 'bad line number 59' $dl
check "the rotated file is 0600" test "$(stat -c %a $dl.1)" = 600
check "deadletter_max_bytes below 1024 is refused" \
    sh -c "'$DD' --headless --set limits.deadletter_max_bytes=10 2>&1 | grep -q 'deadletter_max_bytes'"

# 6. Duplicate ids: a waiting event replaced by a newer one with its id (counted); the
#    label joins the newer one; a second label for the id is unmatched.
printf '%s\n' '{"id":"d","x":{"a":1}}' '{"id":"d","x":{"a":2}}' '{"id":"d","y":1}' \
    '{"id":"d","y":0}' '{"id":"e","x":{"a":1},"y":1}' '{"id":"e","x":{"a":2},"y":0}' > dup.jsonl
"$DD" --headless --source file:dup.jsonl > out5.jsonl
s=$(summary out5.jsonl)
check "duplicate waiting id replaced, counted ($s)" test "$(echo "$s" | field pending_replaced)" = 1
check "its label joins once" test "$(echo "$s" | field joined_labels)" = 1
check "the second label is unmatched" test "$(echo "$s" | field unmatched_labels)" = 1
check "labelled events with the same id are both learned" test "$(echo "$s" | field labelled)" = 3

# 7. Timestamps: out of order (counted, processed in arrival order), in the future
#    (counted, clamped), and one absurd future time does not expire waiting events.
printf '%s\n' '{"id":"t1","ts":1700000100,"x":{"a":1}}' \
    '{"id":"t2","ts":1700000000,"x":{"a":2},"y":1}' \
    '{"id":"t3","ts":99999999999,"x":{"a":3},"y":0}' \
    '{"id":"t1","ts":1700003800,"y":1}' > ts.jsonl
"$DD" --headless --source file:ts.jsonl > out6.jsonl
s=$(summary out6.jsonl)
check "one event out of order ($s)" test "$(echo "$s" | field ts_out_of_order)" = 1
check "one event in the future" test "$(echo "$s" | field ts_future)" = 1
check "every event processed" test "$(echo "$s" | field events)" = 3
check "the far-future time did not expire the waiting event" \
    test "$(echo "$s" | field joined_labels)" = 1
"$DD" --headless --source file:ts.jsonl --set limits.max_future_seconds=0 > out7.jsonl
s=$(summary out7.jsonl)
check "with the check off, the future time expires it ($s)" \
    test "$(echo "$s" | field pending_expired)" = 1

echo "1..$n"
[ $fails = 0 ]
