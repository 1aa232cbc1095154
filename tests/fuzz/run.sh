#!/bin/sh
# run.sh: build the libFuzzer harnesses with clang and run each one.
#
# usage: tests/fuzz/run.sh [SECONDS] [HARNESS...]
#   SECONDS   how long to fuzz each harness after replaying its corpus (default 60;
#             0 replays the corpus and the regression inputs only)
#   HARNESS   names such as event, config (default: every tests/fuzz/fuzz_*.c and
#             tests/fuzz_*.c)
# environment:
#   FUZZ_BUILD  where objects, binaries, new corpus entries and crashes go
#               (default ./fuzz-build; never inside the source tree)
#   FUZZ_CC     the compiler (default clang-14, else clang)
#   FUZZ_SEED   libFuzzer's -seed (default: random). CI fixes it, so a CI verdict
#               is repeatable; explore with a random seed (make fuzz).
#
# For each harness: replay tests/fuzz/corpus/NAME (seeds) and tests/fuzz/regress/NAME
# (inputs that once crashed), then fuzz for SECONDS with the corpus as a start. A crash,
# a leak, a timeout or a sanitizer report fails the run (exit 1) and leaves the input in
# $FUZZ_BUILD/crashes/. The normal gcc build is untouched: this script compiles its own
# objects with -fsanitize=fuzzer-no-link,address,undefined.
#
# A harness names the src/ files it needs (core/ is always linked) in a comment line
# " * FUZZ_SOURCES: src/a.c src/b.c".
set -eu

SECS=${1:-60}
[ $# -gt 0 ] && shift
case $SECS in '' | *[!0-9]*) echo "run.sh: SECONDS must be a whole number, got '$SECS'" >&2; exit 2 ;; esac

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=${FUZZ_BUILD:-$PWD/fuzz-build}
mkdir -p "$OUT/obj" "$OUT/work" "$OUT/crashes"
OUT=$(cd "$OUT" && pwd)

CC=${FUZZ_CC:-}
if [ -z "$CC" ]; then
    if command -v clang-14 > /dev/null 2>&1; then CC=clang-14; else CC=clang; fi
fi
command -v "$CC" > /dev/null 2>&1 || {
    echo "run.sh: $CC not found: install the Debian packages clang-14 and libclang-rt-14-dev" >&2
    exit 2
}

PKGS="libcjson sqlite3 libcrypto inih zlib"
PKG_CFLAGS=$(pkg-config --cflags $PKGS)
PKG_LIBS=$(pkg-config --libs $PKGS)
CFLAGS="-std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
 -fno-sanitize-recover=undefined -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DDD_FUZZ=1
 -I$TOP/core -I$TOP/src -I$TOP/ui $PKG_CFLAGS"

# The runtime comes from libclang-rt-14-dev, which clang only recommends.
probe=$OUT/obj/probe
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}\n' > "$probe.c"
if ! $CC -fsanitize=fuzzer "$probe.c" -o "$probe" > "$probe.log" 2>&1; then
    echo "run.sh: $CC cannot link -fsanitize=fuzzer: install libclang-rt-14-dev" >&2
    cat "$probe.log" >&2
    exit 2
fi

# compile SRC into OBJ when OBJ is missing or older than SRC or any header of the tree
newest_header=$(ls -t "$TOP"/core/*.h "$TOP"/src/*.h 2> /dev/null | head -n 1)
# (a C++ source, such as the hnswlib wrapper, goes through the matching clang++)
CXX=$(echo "$CC" | sed 's/clang/clang++/')
compile() {
    if [ ! -f "$2" ] || [ "$1" -nt "$2" ] || [ "$newest_header" -nt "$2" ]; then
        case $1 in
        *.cpp) $CXX $(echo "$CFLAGS" | sed 's/-std=c11/-std=c++11/') -fsanitize=fuzzer-no-link \
            -fno-sanitize=vptr \
            -c "$1" -o "$2" ;;
        *) $CC $CFLAGS -fsanitize=fuzzer-no-link -c "$1" -o "$2" ;;
        esac
    fi
}

echo "== building core/ with $CC ($(date -u +%H:%M:%S))"
core_objs=
for c in "$TOP"/core/*.c; do
    o=$OUT/obj/core_$(basename "$c" .c).o
    compile "$c" "$o"
    core_objs="$core_objs $o"
done
rm -f "$OUT/libddcore-fuzz.a"
ar rcs "$OUT/libddcore-fuzz.a" $core_objs

# A harness NAME is tests/fuzz/fuzz_NAME.c, or tests/fuzz_NAME.c (the first ones written
# beside the unit tests; tests/fuzz_csv.c is superseded by tests/fuzz/fuzz_csv.c).
harness_src() {
    if [ -f "$HERE/fuzz_$1.c" ]; then echo "$HERE/fuzz_$1.c"; else echo "$TOP/tests/fuzz_$1.c"; fi
}
if [ $# -eq 0 ]; then
    set --
    for h in "$HERE"/fuzz_*.c "$TOP"/tests/fuzz_*.c; do
        [ -f "$h" ] || continue
        n=$(basename "$h" .c)
        n=${n#fuzz_}
        case " $* " in *" $n "*) continue ;; esac
        set -- "$@" "$n"
    done
fi

build_harness() {
    name=$1
    src=$(harness_src "$name")
    [ -f "$src" ] || { echo "run.sh: no harness fuzz_$name.c in $HERE or $TOP/tests" >&2; return 1; }
    extra=$(sed -n 's/^ \* FUZZ_SOURCES://p' "$src")
    objs=
    for s in $extra; do
        o=$OUT/obj/src_$(basename "$s" | sed 's/\.[a-z]*$//').o
        compile "$TOP/$s" "$o"
        objs="$objs $o"
    done
    # compiled as C, linked by clang++ so a C++ source gets its sanitizer runtime too
    $CC $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$OUT/obj/harness_$name.o"
    $CXX -g -fsanitize=fuzzer,address,undefined "$OUT/obj/harness_$name.o" $objs \
        "$OUT/libddcore-fuzz.a" $PKG_LIBS -lm -lpthread -o "$OUT/fuzz_$name"
}

failed=
for name in "$@"; do
    echo "== fuzz_$name: build"
    if ! build_harness "$name"; then
        failed="$failed $name(build)"
        continue
    fi
    bin=$OUT/fuzz_$name
    corpus=$HERE/corpus/$name
    regress=$HERE/regress/$name
    work=$OUT/work/$name
    mkdir -p "$work"
    dict=
    [ -f "$HERE/$name.dict" ] && dict="-dict=$HERE/$name.dict"
    seed=
    [ -n "${FUZZ_SEED:-}" ] && seed="-seed=$FUZZ_SEED"
    opts="-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1
          -artifact_prefix=$OUT/crashes/$name- $dict $seed"
    dirs=
    [ -d "$corpus" ] && dirs="$corpus"
    [ -d "$regress" ] && dirs="$dirs $regress"
    log=$OUT/fuzz_$name.log
    echo "== fuzz_$name: replay $( [ -n "$dirs" ] && find $dirs -type f | wc -l || echo 0) inputs"
    if [ -n "$dirs" ] && ! "$bin" $opts -runs=0 $dirs > "$log.replay" 2>&1; then
        echo "FAIL: fuzz_$name crashed replaying its corpus; see $log.replay"
        tail -n 30 "$log.replay"
        failed="$failed $name(replay)"
        continue
    fi
    [ "$SECS" -gt 0 ] || continue
    echo "== fuzz_$name: fuzz for $SECS s"
    if "$bin" $opts -max_total_time="$SECS" "$work" $dirs > "$log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        echo "   clean: ${execs:-?} runs in $SECS s, corpus $(ls "$work" | wc -l) new entries"
    else
        echo "FAIL: fuzz_$name found a crash; see $log and $OUT/crashes/"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5 || true
        failed="$failed $name"
    fi
done

if [ -n "$failed" ]; then
    echo "fuzzing failed:$failed"
    exit 1
fi
echo "fuzzing clean: $*"
