#!/usr/bin/env bash
# From a grant's write to its data permission's SYNC_SUCCESS: a release grantd syncing a
# fresh PostgreSQL database (a scratch one on this machine's server), as DataArts clients
# would see it. Each round writes a grant (alternately ALLOW SELECT and its removal), then
# polls the source's status until the database holds that write's revision; the time from
# the write's answer to that status, median and p90 over ROUNDS rounds. The role's actual
# privilege is checked after each round, as bob.
#
#   benches/sync-latency.sh
#
# Environment: ROUNDS (30), POSTGRES (postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/grantd-target}"
ROUNDS="${ROUNDS:-30}"
POSTGRES="${POSTGRES:-postgres://postgres@127.0.0.1:5432}"

cargo build --release --locked -q -p grantd
bin="$CARGO_TARGET_DIR/release/grantd"
work="$(mktemp -d /var/tmp/grantd-sync.XXXXXX)"
db="grantd_sync_bench_$$"
role="sync_bench_bob_$$"
port=$((20000 + RANDOM % 20000))
token="sync-bench-operator-token-$(date +%s)-0123456789"
psql -q "$POSTGRES/postgres" -c "CREATE DATABASE $db"
psql -q "$POSTGRES/$db" -c "CREATE TABLE public.orders (id int); INSERT INTO public.orders VALUES (1)"
GRANTD_ADMIN_TOKEN="$token" "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" \
  > "$work/serve.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  psql -q "$POSTGRES/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  psql -q "$POSTGRES/postgres" -c "DROP ROLE IF EXISTS \"$role\"" || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

python3 - "$port" "$token" "$POSTGRES/$db" "$db" "$role" "$ROUNDS" <<'PY'
import json, subprocess, sys, time, urllib.request
port, token, url, db, role, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
base = f"http://127.0.0.1:{port}"
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return r.headers, (json.loads(text) if text else None)
call("POST", "/v1/tenants", {"id": "bench"})
call("POST", "/v1/tenants/bench/data-sources", {"id": "dws1", "kind": "postgresql", "url": url})
call("POST", "/v1/tenants/bench/users", {"id": "bob", "attributes": {"db_role": role}})
grant = {"id": "g", "subject": {"type": "user", "id": "bob"}, "effect": "ALLOW",
         "privilege": {"type": "actions", "actions": ["SELECT"]},
         "target": {"type": "data_path", "pattern": f"dws1/{db}/public/orders"}}
def may_select():
    out = subprocess.run(["psql", "-q", "-At", f"postgresql://{role}@127.0.0.1:5432/{db}", "-c", "SELECT count(*) FROM public.orders"],
                         capture_output=True, text=True)
    return out.returncode == 0
times = []
for i in range(rounds + 1):
    granting = i % 2 == 0
    started = time.monotonic()
    if granting:
        headers, _ = call("POST", "/v1/tenants/bench/grants", grant)
    else:
        headers, _ = call("DELETE", "/v1/tenants/bench/grants/g")
    revision = int(headers["grantd-revision"])
    while True:
        _, status = call("GET", "/v1/tenants/bench/data-sources/dws1/status")
        s = status["status"]
        if s["state"] == "ok" and s["revision"] >= revision:
            break
        if time.monotonic() - started > 30:
            sys.exit(f"round {i}: not synced within 30 s: {status}")
        time.sleep(0.005)
    elapsed = time.monotonic() - started
    if may_select() != granting:
        sys.exit(f"round {i}: the database does not hold what was written")
    if i > 0:  # the first round makes the role
        times.append(elapsed)
times.sort()
median, p90 = times[len(times) // 2], times[int(len(times) * 0.9) - 1]
print(f"write -> synced (the database holding it): median {median * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms over {len(times)} rounds")
PY
