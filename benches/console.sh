#!/usr/bin/env bash
# The console's pages on a tenant of 100,000 grants beside one of 10: a release grantd on
# SQLite, both tenants imported (one user, its grants on the whole tenant), the operator
# signed in to each; each page fetched 21 times, the median time printed in ms.
#
#   benches/console.sh
#
# Environment: GRANTS (100000).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/grantd-target}"
GRANTS="${GRANTS:-100000}"
cargo build --release --locked -q -p grantd
bin="$CARGO_TARGET_DIR/release/grantd"
work="$(mktemp -d /var/tmp/grantd-console.XXXXXX)"
port=$((20000 + RANDOM % 20000))
token="console-bench-operator-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
B="http://127.0.0.1:$port"
GRANTD_ADMIN_TOKEN="$token" GRANTD_LOG=warn GRANTD_REQUEST_TIMEOUT_SECS=600 \
  "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "$B/healthz" >/dev/null && break; sleep 0.1; done

tenant_of() { # name, grants
  python3 - "$2" >"$work/$1.ndjson" <<'PY'
import json, sys
def line(kind, body): print(json.dumps({"kind": kind, "body": body}, separators=(",", ":")))
line("user", {"id": "u1"})
for i in range(int(sys.argv[1])):
    line("grant", {"id": f"g{i:06d}", "subject": {"type": "user", "id": "u1"}, "effect": "allow",
                   "privilege": {"type": "actions", "actions": ["read"]}, "target": {"type": "tenant"}})
PY
  curl -sf -X POST "$B/v1/tenants" -H "Authorization: Bearer $token" \
    -H 'content-type: application/json' -d "{\"id\": \"$1\"}" >/dev/null
  curl -sf -X POST "$B/v1/tenants/$1/import" -H "Authorization: Bearer $token" \
    -H 'content-type: application/x-ndjson' --data-binary "@$work/$1.ndjson" >/dev/null
  # The index holds the import before the pages are timed.
  curl -sf -X POST "$B/v1/tenants/$1/check" -H "Authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"subject": {"type": "user", "id": "u1"},
    "action": "read", "resource": {"type": "doc", "id": "1"},
    "consistency": {"mode": "fully_consistent"}}' >/dev/null
  curl -sf -c "$work/$1.jar" -X POST "$B/console/sign-in" --data-urlencode "token=$token" \
    --data-urlencode "tenant=$1" -o /dev/null
}
tenant_of big "$GRANTS"
tenant_of small 10

median() { # tenant, path
  for _ in $(seq 1 21); do
    curl -sf -b "$work/$1.jar" -o /dev/null -w '%{time_total}\n' "$B$2"
  done | sort -n | sed -n 11p | awk '{printf "%.2f", $1 * 1000}'
}
echo "| page | $GRANTS grants (ms) | 10 grants (ms) |"
echo "|---|---:|---:|"
for page in "/console/grants" "/console/grants?q=g0500" "/console/grants?after=g090000" \
  "/console/explorer?user=u1&action=read&resource=doc%2F1" "/console/user?id=u1" "/console/audit"; do
  echo "| \`$page\` | $(median big "$page") | $(median small "$page") |"
done
