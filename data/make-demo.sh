#!/bin/sh
# make-demo.sh: regenerate data/demo.jsonl, the bundled demo stream (see data/README.md).
# usage: data/make-demo.sh [DRIFTDECK] [OUTPUT]   (defaults: ./driftdeck, data/demo.jsonl)
# tests/test_gen.sh runs this and checks the output is byte-identical to the committed file.
set -eu
DD=${1:-./driftdeck}
OUT=${2:-$(dirname "$0")/demo.jsonl}
exec "$DD" gen agrawal -n 20000 --seed 2026 --perturbation 0.05 \
    --drift 5000 --drift 10000:2000 --drift 15000 --variants 6,7,8,9 -o "$OUT"
