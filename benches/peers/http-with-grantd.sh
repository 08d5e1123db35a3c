#!/usr/bin/env bash
# HTTP check throughput and server CPU per request: grantd beside the axum ceiling, Cerbos and
# SpiceDB, in the peer harness's interleaved wrk rounds (../shared/bench/peers/http-bench.sh,
# or its copy with SpiceDB, spicedb/http-bench-spicedb.sh, when the harness has it).
# Usage: benches/peers/http-with-grantd.sh [ROUNDS]   (env as the harness: MODES, DUR, CONNS,
#        TARGETS; SPICEDB=0 leaves SpiceDB out)
# Prepares, in $WORK (default /tmp/peerbench): the axum ceiling and Cerbos (via the harness's
# setup), SpiceDB v1.54 embedded behind its shim (via the kit's setup: npm's libspicedb.so and
# a Rust shim, see ../shared/bench/peers/spicedb/README.md for what that is and is not), a
# release grantd with a seeded tenant, and a copy of the harness whose wrk script also sends
# `Authorization` (the others ignore it). Then runs the harness with grantd as EXTRA.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
HARNESS="${HARNESS:-$ROOT/../shared/bench/peers}"
WORK="${WORK:-/tmp/peerbench}"
PORT="${GRANTD_PORT:-9000}"
if [ ! -f "$HARNESS/http-bench.sh" ]; then
  echo "the peer harness is not at $HARNESS (it lives in ../shared/bench/peers): nothing to run" >&2
  exit 2
fi
mkdir -p "$WORK"

# The peers: Cerbos and wrk from the harness's setup; the axum ceiling built here, since the
# harness's crates carry no lock file for its --locked builds.
[ -x "$WORK/cerbos/package/cerbos-linux-x64" ] && command -v wrk >/dev/null || "$HARNESS/setup.sh" || true
if [ ! -x "$WORK/target/release/axum-ceiling" ]; then
  rm -rf "$WORK/axum-ceiling" && cp -r "$HARNESS/axum-ceiling" "$WORK/axum-ceiling"
  printf '\n[workspace]\n' >> "$WORK/axum-ceiling/Cargo.toml"
  (cd "$WORK/axum-ceiling" && CARGO_TARGET_DIR="$WORK/target" cargo build --release 2>&1 | tail -1)
fi

# grantd, release, with a tenant: user:1 holds role viewer (read) granted on doc/doc:1,
# among 1,000 other grants.
(cd "$ROOT" && cargo build --release 2>&1 | tail -1)
GRANTD="${CARGO_TARGET_DIR:-$ROOT/target}/release/grantd"
DATA="$WORK/grantd-data"
OP="bench-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
rm -rf "$DATA"
GRANTD_LOG=warn "$GRANTD" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" --admin-token "$OP" & SEED=$!
trap 'kill $SEED 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
post() { curl -sf -X POST "http://127.0.0.1:$PORT/v1/tenants$1" -H "Authorization: Bearer $OP" -H 'content-type: application/json' -d "$2"; }
post "" '{"id": "bench"}' >/dev/null
TOKEN=$(post /bench/tokens '{"scopes": ["check"]}' | sed 's/.*"token":"\([^"]*\)".*/\1/')
post /bench/roles '{"id": "viewer", "actions": ["read"]}' >/dev/null
post /bench/users '{"id": "user:1"}' >/dev/null
post /bench/role-assignments '{"subject": {"type": "user", "id": "user:1"}, "role": "viewer"}' >/dev/null
for i in $(seq 1 1000); do
  post /bench/resources "{\"type\": \"doc\", \"id\": \"doc:$i\"}" >/dev/null
  post /bench/grants "{\"subject\": {\"type\": \"role\", \"id\": \"viewer\"}, \"privilege\": {\"type\": \"actions\", \"actions\": [\"read\"]}, \"target\": {\"type\": \"resource\", \"resource\": {\"type\": \"doc\", \"id\": \"doc:$i\"}}, \"effect\": \"ALLOW\"}" >/dev/null
done
BODY="$WORK/grantd-check.json"
echo '{"subject":{"type":"user","id":"user:1"},"action":"read","resource":{"type":"doc","id":"doc:1"}}' > "$BODY"
ANSWER=$(curl -s -X POST "http://127.0.0.1:$PORT/v1/tenants/bench/check" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d @"$BODY")
echo "grantd answers: $ANSWER" >&2
case "$ANSWER" in *'"allowed":true'*) ;; *) echo "the seeded check is not allowed" >&2; exit 1;; esac
kill $SEED; wait $SEED 2>/dev/null || true

# The harness, copied so that its wrk script sends the token.
COPY="$WORK/http-grantd"
rm -rf "$COPY" && mkdir -p "$COPY"
cp -r "$HARNESS/http-bench.sh" "$HARNESS/post.lua" "$HARNESS/summarize-http.py" "$HARNESS/cerbos" "$COPY/"
mkdir -p "$COPY/axum-ceiling" && cp "$HARNESS/axum-ceiling/req.json" "$COPY/axum-ceiling/"
echo 'if os.getenv("AUTH_HEADER") then wrk.headers["Authorization"] = os.getenv("AUTH_HEADER") end' >> "$COPY/post.lua"
export AUTH_HEADER="Bearer $TOKEN"
BENCH="$COPY/http-bench.sh"
if [ "${SPICEDB:-1}" = 1 ] && [ -x "$HARNESS/spicedb/http-bench-spicedb.sh" ]; then
  "$HARNESS/spicedb/setup.sh" >&2
  mkdir -p "$COPY/spicedb"
  cp "$HARNESS/spicedb/http-bench-spicedb.sh" "$HARNESS/spicedb/schema.zed" "$HARNESS"/spicedb/check-*.json "$COPY/spicedb/"
  BENCH="$COPY/spicedb/http-bench-spicedb.sh"
fi
EXTRA_NAME=grantd EXTRA_URL="http://127.0.0.1:$PORT/v1/tenants/bench/check" EXTRA_BODY="$BODY" \
EXTRA_CMD="env GRANTD_LOG=warn $GRANTD serve --data-dir $DATA --listen 127.0.0.1:$PORT --admin-token $OP" \
  "$BENCH" "${1:-5}"
