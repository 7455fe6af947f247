#!/usr/bin/env bash
# Measures the daemon's memory with 1,000,000 distinct dedup keys.
#
# Generates N (default 1,000,000) CloudTrail records that each match the seed rule with a
# different security group (so a different dedup string), runs `trailwatch run` over them with
# dedup.max_keys = 1,000,000 and then 100,000, and reports the resident set size: VmRSS when the
# daemon is up and idle, VmHWM (the peak) and VmRSS once every record is processed, and the peak
# above idle per held key. Then it stops the daemon (SIGTERM) and starts it again on the same
# state, and reports how long the restart took until /healthz answered and the log said
# "trailwatch running". No sinks are configured: the alerts are counted, not delivered, so only
# the engine, the pipeline and the dedup state are measured.
#
#   bash benches/dedup_memory.sh [N]
#
# TRAILWATCH_BIN=path/to/trailwatch skips the release build and measures that binary.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
if [ -z "${TRAILWATCH_BIN:-}" ]; then
  cargo build --release --quiet
fi
BIN=${TRAILWATCH_BIN:-$PWD/target/release/trailwatch}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/rules.d" "$WORK/inbox"
cp rules.d/aws_rds_security_group_ingress_authorized.yml "$WORK/rules.d/"
python3 - "$N" "$WORK/events.ndjson" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(n):
        f.write(json.dumps({
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "accountId": "123456789012", "userName": "ops"},
            "eventTime": "2024-05-01T%02d:%02d:%02dZ" % (i // 3600 % 24, i // 60 % 60, i % 60),
            "eventSource": "rds.amazonaws.com", "eventName": "AuthorizeDBSecurityGroupIngress",
            "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
            "requestParameters": {"dBSecurityGroupName": "sg-%07d" % i, "cIDRIP": "10.0.0.0/8"},
            "eventID": "ev-%07d" % i, "recipientAccountId": "123456789012"}, separators=(",", ":")) + "\n")
PY
echo "events: $N, $(du -h "$WORK/events.ndjson" | cut -f1)"
for KEYS in 1000000 100000; do
  rm -rf "$WORK/state" "$WORK/inbox"/*
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$WORK/tw.yaml" <<YAML
rules_dir: rules.d
sinks_dir: sinks.d
state_dir: state
sources: [{path: inbox}]
dedup: {max_keys: $KEYS}
metrics: {listen: "127.0.0.1:$PORT"}
YAML
  cd "$WORK"
  RUST_LOG=warn "$BIN" run --config tw.yaml 2>"$WORK/log" &
  PID=$!
  cd - >/dev/null
  until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do sleep 0.2; done
  IDLE=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
  START=$(date +%s.%N)
  cp "$WORK/events.ndjson" "$WORK/inbox/events.ndjson"
  # Done when every event has gone through the alert stage (each one opens its own alert).
  until [ "$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^trailwatch_alerts_opened_total/ {print $2+0}')" -ge "$N" ]; do sleep 0.5; done
  END=$(date +%s.%N)
  HWM=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
  RSS=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
  OPENED=$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^trailwatch_alerts_opened_total/ {print $2}')
  HELD=$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^trailwatch_dedup_keys / {print $2}')
  kill -TERM $PID; wait $PID || true
  printf 'max_keys=%-8s alerts=%-8s keys_held=%-8s seconds=%-6.1f idle_rss=%s MiB peak_rss=%s MiB rss_after=%s MiB peak_above_idle_per_key=%s bytes\n' \
    "$KEYS" "$OPENED" "$HELD" "$(echo "$END - $START" | bc)" "$((IDLE / 1024))" "$((HWM / 1024))" "$((RSS / 1024))" \
    "$(( (HWM - IDLE) * 1024 / HELD ))"
  # Restart on the same state: how long until it serves again.
  cd "$WORK"
  : > "$WORK/log"
  RESTART=$(date +%s.%N)
  RUST_LOG=info "$BIN" run --config tw.yaml 2>"$WORK/log" &
  PID=$!
  cd - >/dev/null
  until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && grep -q "trailwatch running" "$WORK/log"; do sleep 0.05; done
  UP=$(date +%s.%N)
  kill -TERM $PID; wait $PID || true
  printf 'max_keys=%-8s restart_seconds=%.2f state_db=%s\n' "$KEYS" "$(echo "$UP - $RESTART" | bc)" "$(du -h "$WORK/state/state.db" | cut -f1)"
done
