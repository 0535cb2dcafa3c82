#!/bin/bash
# Instructions (valgrind cachegrind) of one scale-bench replay at 1/5 scale: a deterministic measure of the scheduler's
# work, where CPU time on a shared machine varies by ±15 %. One replay = a run with two replays minus a run with one
# (the simulation and setup cancel out); V8 single-threaded so compilation and GC happen in the counted thread, the
# same way every run. Identical runs agree within ~1 %. Needs valgrind and a build (npm run build). ~1.5 min on 2 cores.
# With the scheduler's node flags: at this scale its young generation holds most of a replay, so few scavenges count.
# Usage: scripts/replay-instructions.sh [label]   (prints "label: N M instructions per replay")
set -euo pipefail
cd "$(dirname "$0")/.."
label=${1:-$(git rev-parse --short HEAD)}
out=$(mktemp -d)
for r in 1 2; do
  SCALE_ONLY=1 SCALE_REPLAYS=$r SCALE_WORKERS=200 SCALE_BUILDS=10 \
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out/cg.$r" node --single-threaded --max-semi-space-size=128 dist/bench/scheduler-scale.js >"$out/log.$r" 2>&1 &
done
wait
refs() { grep "I   refs" "$out/log.$1" | grep -oE "[0-9,]+$" | tr -d ,; }
one=$(refs 1)
two=$(refs 2)
echo "$label: $(((two - one) / 1000000)) M instructions per replay (where: cg_diff $out/cg.1 $out/cg.2 > d; cg_annotate d)"
