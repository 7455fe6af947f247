#!/usr/bin/env bash
# Alert latency of `trailwatch run`: from a file landing in the inbox to its alert in the file
# sink. This is where the figure lives that the daemon integration tests used to assert
# (tests assert only that alerts arrive, under generous deadlines).
#
#   benches/daemon_latency.sh [ROUNDS]        (default 20)
#   BIN=target/debug/trailwatch benches/daemon_latency.sh   (skip the release build)
#
# Each round drops one gzipped delivery file (written aside, renamed into place) and then
# appends one NDJSON line, each holding one match of the seed rule, and measures the time until
# the alert is written, polling every 5 ms. Prints the median and the worst of each kind.
# Figures depend on the machine's load; compare runs made one after the other.
set -euo pipefail

cd "$(dirname "$0")/.."
rounds=${1:-20}
if [[ -z "${BIN:-}" ]]; then
    cargo build --release --bin trailwatch
    BIN=target/release/trailwatch
fi
bin=$(realpath "$BIN")

work=$(mktemp -d "${TMPDIR:-/tmp}/trailwatch-latency.XXXXXX")
daemon=""
cleanup() {
    [[ -n "$daemon" ]] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/rules.d" "$work/sinks.d" "$work/inbox/AWSLogs"
cp rules.d/aws_rds_security_group_ingress_authorized.yml "$work/rules.d/seed.yml"
printf 'type: file\npath: %s/alerts.jsonl\n' "$work" >"$work/sinks.d/file.yaml"
printf 'rules_dir: rules.d\nsinks_dir: sinks.d\nstate_dir: state\nsources:\n  - path: inbox\nmetrics:\n  listen: ""\n' \
    >"$work/trailwatch.yaml"
(cd "$work" && exec "$bin" run --config trailwatch.yaml 2>"$work/daemon.log") &
daemon=$!
for _ in $(seq 1 400); do
    grep -q "trailwatch running" "$work/daemon.log" 2>/dev/null && break
    sleep 0.05
done
grep -q "trailwatch running" "$work/daemon.log" || { cat "$work/daemon.log"; exit 1; }

# One matching record whose alert is told apart by its security group.
record() {
    printf '{"eventVersion":"1.08","eventTime":"2024-05-01T10:%02d:00Z","eventSource":"rds.amazonaws.com","eventName":"AuthorizeDBSecurityGroupIngress","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","accountId":"123456789012","arn":"arn:aws:iam::123456789012:user/ops"},"requestParameters":{"dBSecurityGroupName":"sg-%s","cIDRIP":"10.0.0.0/8"},"responseElements":{"dBSecurityGroupName":"sg-%s"},"eventID":"ev-%s","eventType":"AwsApiCall","recipientAccountId":"123456789012"}' \
        "$(($2 % 60))" "$1" "$1" "$1"
}
alerts() { [[ -f "$work/alerts.jsonl" ]] && wc -l <"$work/alerts.jsonl" || echo 0; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Milliseconds until the sink holds $1 alerts (gives up after 30 s).
wait_alerts() {
    local start=$2
    while (($(alerts) < $1)); do
        (($(now_ms) - start > 30000)) && { echo "timeout" >&2; exit 1; }
        sleep 0.005
    done
    echo $(($(now_ms) - start))
}

delivery=() ndjson=()
n=0
for round in $(seq 1 "$rounds"); do
    n=$((n + 1))
    printf '{"Records":[%s]}' "$(record "d$round" "$round")" | gzip -c >"$work/.part"
    start=$(now_ms)
    mv "$work/.part" "$work/inbox/AWSLogs/d$round.json.gz"
    delivery+=("$(wait_alerts "$n" "$start")")
    n=$((n + 1))
    start=$(now_ms)
    printf '%s\n' "$(record "n$round" "$round")" >>"$work/inbox/stream.ndjson"
    ndjson+=("$(wait_alerts "$n" "$start")")
done

summary() {
    local name=$1; shift
    local sorted
    sorted=$(printf '%s\n' "$@" | sort -n)
    printf '%-16s median %4d ms   worst %4d ms   (%d rounds)\n' "$name" \
        "$(sed -n "$((($# + 1) / 2))p" <<<"$sorted")" "$(tail -1 <<<"$sorted")" "$#"
}
summary "delivery file" "${delivery[@]}"
summary "ndjson append" "${ndjson[@]}"
