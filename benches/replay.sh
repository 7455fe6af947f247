#!/usr/bin/env bash
# End-to-end throughput of `trailwatch replay` against the parse-only floor.
#
#   benches/replay.sh [EVENTS] [RULES]        (defaults: 1000000 events, 50 rules)
#   benches/replay.sh 500000 pack             (the shipped rules.d pack instead of synthetic rules)
#   RUNS=5 benches/replay.sh                  (runs per program; the best one counts)
#
# Builds the release binary and the `synth` and `parse_floor` examples, writes EVENTS
# synthetic CloudTrail records (NDJSON) and RULES synthetic rules into a temporary directory
# (or, with RULES=pack, uses the shipped rules.d), then times, alternately and RUNS times each:
#   trailwatch replay --rules DIR --output alerts FILE > /dev/null
#   parse_floor FILE              (serde_json::from_slice::<IgnoredAny> per line)
# pinned to one core with `taskset -c 0` when available. Prints MB/s and events/s of the best
# run of each and the ratio replay/floor (target: >= 0.50). The machine is rarely quiet, so
# only the ratio within one invocation means much.
set -euo pipefail

cd "$(dirname "$0")/.."
events=${1:-1000000}
rules=${2:-50}
runs=${RUNS:-3}

cargo build --release --bin trailwatch --example synth --example parse_floor
target=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="${target:-target}/release"

work=$(mktemp -d "${TMPDIR:-/tmp}/trailwatch-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
input="$work/events.ndjson"
"$bin/examples/synth" events "$events" >"$input"
if [ "$rules" = pack ]; then
    rules_dir="$PWD/rules.d"
else
    rules_dir="$work/rules"
    "$bin/examples/synth" rules "$rules" "$rules_dir"
fi
bytes=$(wc -c <"$input")

pin=()
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
    pin=(taskset -c 0)
fi

# Seconds (wall clock) one command takes, its stdout discarded.
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }

cat "$input" >/dev/null # warm the page cache so that neither program pays for the disk
best_replay=""
best_floor=""
for run in $(seq "$runs"); do
    r=$(seconds ${pin[@]+"${pin[@]}"} "$bin/trailwatch" replay --rules "$rules_dir" --output alerts "$input" 2>"$work/replay.err")
    f=$(seconds ${pin[@]+"${pin[@]}"} "$bin/examples/parse_floor" "$input")
    echo "run $run: replay ${r}s, floor ${f}s"
    best_replay=$(min "$r" "$best_replay")
    best_floor=$(min "$f" "$best_floor")
done

echo
echo "input: $events events, $rules rules, $bytes bytes ($(awk -v b="$bytes" -v n="$events" 'BEGIN { printf "%.0f", b / n }') bytes/event)"
echo "pinned: ${pin[*]:-no (taskset unavailable)}; best of $runs runs each"
tail -n 1 "$work/replay.err"
awk -v b="$bytes" -v n="$events" -v r="$best_replay" -v f="$best_floor" 'BEGIN {
    printf "%-8s %8.3f s %12.0f events/s %9.1f MB/s\n", "replay", r, n / r, b / r / 1e6
    printf "%-8s %8.3f s %12.0f events/s %9.1f MB/s\n", "floor", f, n / f, b / f / 1e6
    ratio = f / r
    verdict = (ratio >= 0.5) ? "met" : "not met"
    printf "ratio replay/floor: %.2f (target >= 0.50: %s)\n", ratio, verdict
}'
