#!/usr/bin/env bash
# Write throughput beside the database's own commit rate: a release grantd on a fresh store,
# one tenant, native grant writes (a POST creating a grant, then a DELETE of it, per
# connection, over keep-alive) from CLIENTS concurrent connections; and, in the same run
# and interleaved with it, pgbench's single-row INSERT commits on the same PostgreSQL at
# the same client counts. ROUNDS rounds; the medians are printed as a table.
#
#   benches/writes.sh [sqlite|postgres]...          (default: sqlite postgres)
#
# Environment: SECS (10 per measurement), ROUNDS (3), CLIENTS ("1 8"), POSTGRES
# (postgres://postgres@127.0.0.1:5432: fresh databases are created in it and dropped after),
# BIN_DIR (run the grantd and grantd-load found there instead of building them),
# BASELINE_DIR (also measure the grantd found there, in the same rounds: to compare two
# builds).
# The server runs on core 0 and the load on core 1 when taskset is there.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/grantd-target}"
SECS="${SECS:-10}"
ROUNDS="${ROUNDS:-3}"
CLIENTS="${CLIENTS:-1 8}"
POSTGRES="${POSTGRES:-postgres://postgres@127.0.0.1:5432}"
stores=("$@")
[ ${#stores[@]} -gt 0 ] || stores=(sqlite postgres)

if [ -n "${BIN_DIR:-}" ]; then
  bin="$BIN_DIR"
else
  cargo build --release --locked -q -p grantd -p grantd-load
  bin="$CARGO_TARGET_DIR/release"
fi
core0=() core1=()
if command -v taskset >/dev/null 2>&1; then core0=(taskset -c 0) core1=(taskset -c 1); fi

work="$(mktemp -d)"
servers=()
databases=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  for db in "${databases[@]}"; do
    psql -q "$POSTGRES/postgres" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# pgbench's table and script: one row inserted per transaction.
pgbench_db="grantd_pgbench_$$"
databases+=("$pgbench_db")
psql -q "$POSTGRES/postgres" -c "CREATE DATABASE $pgbench_db" >/dev/null
psql -q "$POSTGRES/$pgbench_db" -c "CREATE TABLE rows (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)"
echo "INSERT INTO rows (body) VALUES ('a row of about the size of a grant''s body, give or take');" \
  > "$work/insert.sql"

# One server per store (and per build, with BASELINE_DIR), started once: every round
# writes to the same tenant.
builds=("$bin")
[ -n "${BASELINE_DIR:-}" ] && builds+=("$BASELINE_DIR")
declare -A urls
targets=()
token="writes-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
for build in "${builds[@]}"; do
for store in "${stores[@]}"; do
  target="$store"
  [ "$build" = "$bin" ] || target="$store (baseline)"
  case "$store" in
    sqlite) store_args=(--data-dir "$work/data-sqlite") ;;
    postgres)
      db="grantd_writes_$$_${#databases[@]}"
      databases+=("$db")
      psql -q "$POSTGRES/postgres" -c "CREATE DATABASE $db" >/dev/null
      # The load's fixture makes an access key, which needs a secret key to seal it.
      head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/secret.key"
      store_args=(--database-url "$POSTGRES/$db" --secret-key-file "$work/secret.key") ;;
    *) echo "unknown store $store: sqlite or postgres" >&2; exit 2 ;;
  esac
  log="$work/grantd-${#targets[@]}.log"
  GRANTD_LOG=warn "${core0[@]}" "$build/grantd" serve --listen 127.0.0.1:0 "${store_args[@]}" \
    --admin-token "$token" 2>"$log" &
  servers+=($!)
  addr="$(listening_address "$log")"
  urls[$target]="$addr"
  targets+=("$target")
done
done

results="$work/results.tsv"
: > "$results"
for round in $(seq 1 "$ROUNDS"); do
  for clients in $CLIENTS; do
    pgbench -n -M prepared -c "$clients" -j "$clients" -T "$SECS" -f "$work/insert.sql" \
      "$POSTGRES/$pgbench_db" > "$work/pgbench.out" 2>&1
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/pgbench.out")
    [ -n "$tps" ] || { echo "pgbench failed:"; cat "$work/pgbench.out"; exit 1; }
    printf 'pgbench\t%s\t%s\t%s\t\n' "$clients" "$round" "$tps" >> "$results"
    for target in "${targets[@]}"; do
      "${core1[@]}" "$bin/grantd-load" --url "${urls[$target]}" --admin-token "$token" \
        --only native-write --connections "$clients" --warmup-secs 1 --secs "$SECS" \
        --users 20 --docs 100 --json "$work/load.json" >/dev/null 2>"$work/load.log" \
        || { echo "grantd-load failed on $target:"; cat "$work/load.log"; exit 1; }
      python3 - "$work/load.json" "$target" "$clients" "$round" >> "$results" <<'PY'
import json, sys
report, store, clients, round = json.load(open(sys.argv[1])), *sys.argv[2:]
print(f"{store}\t{clients}\t{round}\t{report['requests_per_second']:.0f}\t{report['p99_ms']}")
PY
    done
  done
done

python3 - "$results" "$ROUNDS" "$SECS" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, clients, _, rate, extra = line.rstrip("\n").split("\t")
    rows[(name, int(clients))].append((float(rate), float(extra or "nan")))
print(f"medians of {sys.argv[2]} rounds of {sys.argv[3]} s, interleaved\n")
print("| store | clients | grantd writes/s | p99 | pgbench commits/s | grantd / pgbench |")
print("|---|---:|---:|---:|---:|---:|")
for (name, clients), values in sorted(rows.items()):
    if name == "pgbench":
        continue
    rate = statistics.median(v[0] for v in values)
    p99 = statistics.median(v[1] for v in values)
    base = statistics.median(v[0] for v in rows.get(("pgbench", clients), [(float("nan"), 0)]))
    print(f"| {name} | {clients} | {rate:,.0f} | {p99:.1f} ms | {base:,.0f} | {rate / base:.2f} |")
PY
