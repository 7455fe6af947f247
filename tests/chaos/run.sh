#!/usr/bin/env bash
# The chaos soak (issue 10): >= 500k CloudTrail records streamed into a daemon that is killed
# with SIGKILL at 100 seeded moments, while a Slack stand-in refuses 30% of requests and a TCP
# syslog collector restarts now and then. Passes when every alert `trailwatch replay` computes
# for the same data reached each sink exactly once (and `trailwatch state check` is happy).
# Not part of `cargo test` (a 50k-record, 10-kill version is: tests/integration/chaos.rs).
#
#   tests/chaos/run.sh [--binary PATH] [--records N] [--kills N] [--seed N] [--work DIR]
#                      [--exact-ids] [--allow-duplicates-at-kill] [--allow-renotified] [--quiet]
#
# Without --binary, builds and uses target/release/trailwatch. The report is printed and kept
# in WORK/report.txt with the daemon's log (WORK/daemon/daemon.log). Exit 0 passed, 1 failed,
# 2 could not run. docs/TESTING.md explains every line of the report.
set -euo pipefail
cd "$(dirname "$0")/../.."

args=("$@")
have_binary=0
for a in "${args[@]}"; do [[ "$a" == --binary ]] && have_binary=1; done
if [[ $have_binary == 0 ]]; then
  cargo build --release --locked --bin trailwatch
  args=(--binary target/release/trailwatch "${args[@]}")
fi
# The driver itself is light (it writes files and answers sockets); a debug build is enough.
cargo build --locked --example chaos
exec nice -n 10 target/debug/examples/chaos "${args[@]}"
