#!/usr/bin/env bash
# Import and export at size: a release grantd on a fresh store, a tenant's NDJSON of GRANTS
# grants with their users, groups, memberships, roles and resources, imported with
# `grantd import` and, once the node's index has applied the import (timed too), exported
# again with `grantd export`, each timed, with the server's peak resident memory. The
# export must hold what the file did.
#
#   benches/transfer.sh [sqlite|postgres]...        (default: sqlite)
#
# Environment: GRANTS (100000), POSTGRES (postgres://postgres@127.0.0.1:5432: a fresh
# database is created in it and dropped after), TIMEOUT_SECS (600: the server's request
# timeout, which an import must finish within), BIN_DIR (run the grantd found there
# instead of building it: to measure another build).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/grantd-target}"
GRANTS="${GRANTS:-100000}"
POSTGRES="${POSTGRES:-postgres://postgres@127.0.0.1:5432}"
TIMEOUT_SECS="${TIMEOUT_SECS:-600}"
stores=("$@")
[ ${#stores[@]} -gt 0 ] || stores=(sqlite)

if [ -n "${BIN_DIR:-}" ]; then
  bin="$BIN_DIR/grantd"
else
  cargo build --release --locked -q -p grantd
  bin="$CARGO_TARGET_DIR/release/grantd"
fi
work="$(mktemp -d /var/tmp/grantd-transfer.XXXXXX)"
trap 'rm -rf "$work"' EXIT
file="$work/tenant.ndjson"

# The file: users u0.., groups of 100 users, roles, resources, and grants of a role on a
# resource to a user or a group, in an order that puts references after what they name.
python3 - "$GRANTS" > "$file" <<'PY'
import json, sys
grants = int(sys.argv[1])
users, groups, docs = max(10, grants // 10), max(1, grants // 1000), max(1, grants // 3)
def line(kind, body): print(json.dumps({"kind": kind, "body": body}, separators=(",", ":")))
for r in ("viewer", "editor"):
    line("role", {"id": r, "actions": ["read"] if r == "viewer" else ["read", "write"]})
for u in range(users):
    line("user", {"id": f"u{u}", "email": f"u{u}@example.com"})
for g in range(groups):
    line("group", {"id": f"g{g}"})
for u in range(users):
    line("member", {"group": f"g{u % groups}", "member": {"type": "user", "id": f"u{u}"}})
for d in range(docs):
    line("resource", {"type": "doc", "id": f"d{d}"})
for i in range(grants):
    subject = {"type": "group", "id": f"g{i % groups}"} if i % 5 == 0 else {"type": "user", "id": f"u{i % users}"}
    line("grant", {"id": f"grt{i:08d}", "subject": subject,
                   "privilege": {"type": "role", "id": "viewer" if i % 2 else "editor"},
                   "target": {"type": "resource", "resource": {"type": "doc", "id": f"d{i % docs}"}},
                   "effect": "ALLOW"})
PY
objects=$(wc -l < "$file")
echo "# $objects objects ($GRANTS grants), $(du -h "$file" | cut -f1)"

for store in "${stores[@]}"; do
  data="$work/data-$store"
  args=(--data-dir "$data")
  db=""
  if [ "$store" = postgres ]; then
    db="grantd_transfer_$$"
    psql "$POSTGRES/postgres" -qc "CREATE DATABASE $db" >/dev/null
    args=(--database-url "$POSTGRES/$db")
  fi
  op="bench-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  GRANTD_LOG=warn GRANTD_REQUEST_TIMEOUT_SECS="$TIMEOUT_SECS" GRANTD_MAX_IMPORT_BYTES=1073741824 \
    "$bin" serve "${args[@]}" --listen 127.0.0.1:9310 --admin-token "$op" & pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:9310/healthz && break; sleep 0.1; done
  curl -sf -X POST http://127.0.0.1:9310/v1/tenants -H "Authorization: Bearer $op" \
    -H 'content-type: application/json' -d '{"id": "bench"}' >/dev/null
  remote=(--url http://127.0.0.1:9310 --token "$op" --tenant bench)
  start=$(date +%s.%N)
  "$bin" import "$file" "${remote[@]}" >/dev/null 2>"$work/import.log"
  imported=$(date +%s.%N)
  # The node's index has applied the import once a check may be answered at its revision:
  # timed apart, and waited for, so that the export is measured on its own.
  revision=$(sed -n 's/.* at revision \([0-9]*\) .*/\1/p' "$work/import.log")
  fresh="{\"subject\": {\"type\": \"user\", \"id\": \"u0\"}, \"action\": \"read\", \"resource\": {\"type\": \"doc\", \"id\": \"d0\"}, \"consistency\": {\"mode\": \"at_least_as_fresh\", \"revision\": $revision}}"
  until curl -sf -X POST http://127.0.0.1:9310/v1/tenants/bench/check -H "Authorization: Bearer $op" \
    -H 'content-type: application/json' -d "$fresh" >/dev/null; do sleep 0.1; done
  indexed=$(date +%s.%N)
  "$bin" export -o "$work/again.ndjson" "${remote[@]}" 2>"$work/export.log"
  exported=$(date +%s.%N)
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ -n "$db" ] && psql "$POSTGRES/postgres" -qc "DROP DATABASE $db" >/dev/null
  # The same objects: as many of each kind, and the same grants.
  python3 - "$file" "$work/again.ndjson" <<'PY' || { echo "$store: the export differs from the file imported" >&2; exit 1; }
import collections, json, sys
def read(path):
    kinds, grants = collections.Counter(), set()
    for raw in open(path):
        line = json.loads(raw)
        kinds[line["kind"]] += 1
        if line["kind"] == "grant":
            grants.add(json.dumps(line["body"], sort_keys=True))
    return kinds, grants
sys.exit(0 if read(sys.argv[1]) == read(sys.argv[2]) else 1)
PY
  python3 - "$store" "$objects" "$start" "$imported" "$indexed" "$exported" "$peak" <<'PY'
import sys
store, n, start, imported, indexed, exported, peak = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:7]), int(sys.argv[7])
i, x, e = imported - start, indexed - imported, exported - indexed
print(f"{store}: import {i:.1f} s ({n / i:,.0f} objects/s), indexed {x:.1f} s later, export {e:.1f} s ({n / e:,.0f} objects/s), server peak RSS {peak / 1024:.0f} MiB")
PY
done
