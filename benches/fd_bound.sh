#!/usr/bin/env bash
# The descriptor bound at the size the issue names: 10,000 NDJSON files dropped into the inbox
# of a daemon started with RLIMIT_NOFILE 1024, /proc/PID/fd counted while it reads them all.
#
# It is the integration test `bounds_fds::thousands_of_files_stay_under_the_descriptor_cap_and_are_all_read`
# run on its own with its figures shown: `descriptors: idle I, peak P, limit L (N files)`. Give
# it more files than the 10,000 of `cargo test` to see that the peak does not move.
#
#   bash benches/fd_bound.sh [FILES]          (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
TRAILWATCH_FD_TEST_FILES=${1:-10000} nice -n 10 cargo test --locked --test integration \
    bounds_fds::thousands_of_files -- --nocapture 2>&1 \
    | grep -E "descriptors:|test result|panicked|FAILED"
