#!/usr/bin/env bash
# Runs the peer harness's in-process engine benchmark with grantd beside the hashmap limit,
# casbin-rs and cedar-policy, in the same interleaved rounds. Needs ../shared/bench/peers.
# Usage: benches/peers/engines-with-grantd.sh [N ...]     (env as the harness: ROUNDS, SKIP, ...)
# Copies the harness to $WORK (default /tmp/peerbench), adds grantd_engine.rs as a module and
# registers it after the hashmap engine, builds release, runs pinned to core ${CPU:-1}.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
HARNESS="${HARNESS:-$ROOT/../shared/bench/peers}"
WORK="${WORK:-/tmp/peerbench}"
if [ ! -d "$HARNESS/engines" ]; then
  echo "the peer harness is not at $HARNESS (it lives in ../shared/bench/peers): nothing to run" >&2
  exit 2
fi
COPY="$WORK/engines-grantd"
rm -rf "$COPY" && mkdir -p "$COPY" && cp -r "$HARNESS/engines/." "$COPY/"
cp "$HERE/grantd_engine.rs" "$COPY/src/grantd_engine.rs"
sed -i 's/^name = "peer-engines-bench"/name = "peer-engines-bench-grantd"/' "$COPY/Cargo.toml"
sed -i "/^\[dependencies\]/a grantd-core = { path = \"$ROOT/crates/core\" }" "$COPY/Cargo.toml"
printf '\n[workspace]\n' >> "$COPY/Cargo.toml"
printf '\nmod grantd_engine;\n' >> "$COPY/src/main.rs"
sed -i 's|^\(\s*\)engines.push(Box::new(hm));|&\n\1if !skip.contains("grantd") { let t = Instant::now(); let g = grantd_engine::GrantdEngine::build(\&w); println!("build grantd: {:.2?} ({} grants)", t.elapsed(), g.0.grant_count()); engines.push(Box::new(g)); }|' "$COPY/src/main.rs"
grep -q 'grantd_engine::GrantdEngine::build' "$COPY/src/main.rs" || { echo "could not register the grantd engine in the harness" >&2; exit 1; }
export CARGO_TARGET_DIR="$WORK/target"
(cd "$COPY" && cargo build --release 2>&1 | tail -1)
OUT="$WORK/engines-grantd-$(date +%Y%m%d-%H%M%S).md"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT"
taskset -c "${CPU:-1}" "$WORK/target/release/peer-engines-bench-grantd" "$@" | tee -a "$OUT"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
echo "saved: $OUT" >&2
