#!/bin/sh
# test_report_screenshot.sh: a headless Chromium screenshot of the HTML report
# shows the charts. Skips (77) only when Chromium is not installed.
# The screenshot is kept as $DD_BUILDDIR/tests/report.png for a person to look at.
set -u
: "${DD_BIN:?}" "${DD_BUILDDIR:?}"
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
    echo "SKIP: chromium is not installed (apt-get install chromium)"
    exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_shot.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 99
"$DD_BIN" gen stagger -n 9000 --seed 5 --drift 4000 --drift 5600 --variants 0,1,0 -o st.jsonl ||
    exit 99
"$DD_BIN" --headless --workspace ws --source file:st.jsonl --auto-approve \
    --set govern.mode=gated --set govern.checkpoint_every=500 > /dev/null 2>&1 || { echo "FAIL: run"; exit 1; }
"$DD_BIN" export --workspace ws --format html -o report.html || { echo "FAIL: export"; exit 1; }
# The same page with empty charts (same layout), to tell drawn charts from blank ones.
sed -e '/^<polyline/d' -e '/^<line/d' -e '/^<rect/d' -e '/^<text/d' report.html > bare.html
shot() {
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --window-size=1200,900 \
        --screenshot="$TMP/$2" "file://$TMP/$1" > /dev/null 2>&1
}
shot report.html report.png
shot bare.html bare.png
for f in report.png bare.png; do
    [ -s "$f" ] || { echo "FAIL: chromium wrote no $f"; exit 1; }
    [ "$(head -c 8 "$f" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] ||
        { echo "FAIL: $f is not a PNG"; exit 1; }
done
a=$(wc -c < report.png)
b=$(wc -c < bare.png)
echo "screenshot with charts: $a bytes; without: $b bytes"
cp report.png "$DD_BUILDDIR/tests/report.png" 2>/dev/null || true
# Lines, markers and bars add detail that a PNG encoder cannot compress away.
[ "$a" -gt $((b + 10000)) ] || { echo "FAIL: the charts add too little to the page"; exit 1; }
echo "test_report_screenshot: passed"
