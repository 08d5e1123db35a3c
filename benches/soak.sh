#!/usr/bin/env bash
# Load and soak: a release grantd on a fresh store under grantd-load's mixed workload
# (checks, lookups, and reads and writes through the native, Segment, SlashID and DataArts
# surfaces) for a bounded time, on loopback. Prints throughput, p50/p99 per operation,
# errors and the server's resident memory before and after; fails on any error or on
# memory growth after warm-up past MAX_GROWTH_MIB.
#
#   benches/soak.sh [sqlite|postgres]...          (default: sqlite)
#
# Environment: SECS (60), WARMUP_SECS (15), CONNECTIONS (16), USERS (2000), DOCS (10000),
# MAX_GROWTH_MIB (16), POSTGRES (postgres://postgres@127.0.0.1:5432: a fresh database is
# created in it and dropped after), JSON_DIR (write each report as JSON there).
# The server runs on core 0 and the load on core 1 when taskset is there.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/grantd-target}"
SECS="${SECS:-60}"
WARMUP_SECS="${WARMUP_SECS:-15}"
CONNECTIONS="${CONNECTIONS:-16}"
USERS="${USERS:-2000}"
DOCS="${DOCS:-10000}"
MAX_GROWTH_MIB="${MAX_GROWTH_MIB:-16}"
POSTGRES="${POSTGRES:-postgres://postgres@127.0.0.1:5432}"
stores=("$@")
[ ${#stores[@]} -gt 0 ] || stores=(sqlite)

cargo build --release --locked -q -p grantd -p grantd-load
bin="$CARGO_TARGET_DIR/release"
core0=() core1=()
if command -v taskset >/dev/null 2>&1; then core0=(taskset -c 0) core1=(taskset -c 1); fi

work="$(mktemp -d)"
server=""
database=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ -n "$database" ] && psql -q "$POSTGRES/postgres" -c "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

status=0
for store in "${stores[@]}"; do
  case "$store" in
    sqlite) store_args=(--data-dir "$work/data-$store") ;;
    postgres)
      database="grantd_soak_$$"
      psql -q "$POSTGRES/postgres" -c "CREATE DATABASE $database" >/dev/null
      # Every node of a PostgreSQL cluster shares a secret key: access keys need one.
      head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/secret.key"
      store_args=(--database-url "$POSTGRES/$database" --secret-key-file "$work/secret.key") ;;
    *) echo "unknown store $store: sqlite or postgres" >&2; exit 2 ;;
  esac
  token="soak-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  log="$work/grantd-$store.log"
  "${core0[@]}" "$bin/grantd" serve --listen 127.0.0.1:0 "${store_args[@]}" --admin-token "$token" \
    --segment-write-limit 1000000000 --segment-read-limit 1000000000 2>"$log" &
  server=$!
  addr="$(listening_address "$log")"

  echo "## $store: $SECS s measured after $WARMUP_SECS s warm-up, $CONNECTIONS connections, $USERS users, $DOCS documents"
  json=()
  [ -n "${JSON_DIR:-}" ] && json=(--json "$JSON_DIR/soak-$store.json")
  "${core1[@]}" "$bin/grantd-load" --url "$addr" --admin-token "$token" --pid "$server" \
    --secs "$SECS" --warmup-secs "$WARMUP_SECS" --connections "$CONNECTIONS" \
    --users "$USERS" --docs "$DOCS" --max-growth-mib "$MAX_GROWTH_MIB" "${json[@]}" || status=1

  kill "$server"; wait "$server" 2>/dev/null || true
  server=""
  if [ -n "$database" ]; then
    psql -q "$POSTGRES/postgres" -c "DROP DATABASE IF EXISTS $database" >/dev/null
    database=""
  fi
done
exit "$status"
