#!/usr/bin/env bash
# Isolation: one tenant hammering changes to chains of roles and groups DEPTH deep (the
# server started with --max-nesting-depth DEPTH so that they can be built), while another
# tenant revokes a grant every 100 ms and times how long until its checks stop allowing,
# and /healthz is timed every 50 ms. Prints both, p50/p99/max (grantd-load --scenario
# isolation). Goals: the revocation within 100 ms at p99, /healthz within 50 ms.
#
#   benches/isolation.sh
#
# Environment: DEPTH (1000), USERS (100), WRITERS (4), SECS (20). The server runs on core 0
# and the load on core 1 when taskset is there, on a fresh SQLite store.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/grantd-target}"
DEPTH="${DEPTH:-1000}"
USERS="${USERS:-100}"
WRITERS="${WRITERS:-4}"
SECS="${SECS:-20}"
TOKEN="isolation-bench-operator-token-0123456789abcdef"

cargo build --release --locked -q -p grantd -p grantd-load
bin="$CARGO_TARGET_DIR/release"
core0=() core1=()
if command -v taskset >/dev/null 2>&1; then core0=(taskset -c 0) core1=(taskset -c 1); fi

work="$(mktemp -d)"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
"${core0[@]}" "$bin/grantd" serve --listen "127.0.0.1:$port" --data-dir "$work/data" \
  --admin-token "$TOKEN" --max-nesting-depth "$DEPTH" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
"${core1[@]}" "$bin/grantd-load" --scenario isolation --url "http://127.0.0.1:$port" \
  --admin-token "$TOKEN" --depth "$DEPTH" --users "$USERS" --writers "$WRITERS" --secs "$SECS"
