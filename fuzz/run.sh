#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) one after the other, each for SECONDS (default
# 600), one libFuzzer process at a time (-jobs=1 -workers=1), under nice (FUZZ_NICE, default
# 10; 0 gives the fuzzer a full core next to other work). New inputs go to
# fuzz/work/TARGET (not committed); the committed seeds in fuzz/corpus/TARGET are read, never
# written. libFuzzer's log of each run is kept as fuzz/work/TARGET.log; crashes, hangs and
# memory blow-ups land in fuzz/artifacts/TARGET/.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
if [[ ${#targets[@]} == 0 ]]; then
  targets=(decode_eval panther_rule sigma_rule config sink json_gz)
fi
# cargo-fuzz needs nightly-only rustc flags; the one stable toolchain accepts them this way.
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
  mkdir -p "work/$t"
  echo "== $t: ${seconds}s, started $(date -u +%H:%M:%S)"
  # With -jobs=1 libFuzzer runs the fuzzing in one child process whose output is fuzz-0.log.
  nice -n "${FUZZ_NICE:-10}" cargo fuzz run -O "$t" "work/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -jobs=1 -workers=1 \
    -print_final_stats=1 >"work/$t.cargo.log" 2>&1 || echo "!! $t ended with $?"
  mv fuzz-0.log "work/$t.log" 2>/dev/null || true
  grep -E "^stat::|^Done|ERROR|SUMMARY|crash-|timeout-|oom-|leak-" "work/$t.log" || true
  echo "corpus: $(ls "work/$t" | wc -l) files in work/$t; seeds: $(ls "corpus/$t" | wc -l)"
done
