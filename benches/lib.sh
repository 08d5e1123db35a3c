# What the bench scripts share; each sources it.

# The address a grantd started with `--listen 127.0.0.1:0`, logging to the file $1, listens
# on, once it says so (within 30 s); otherwise its log, and failure.
listening_address() {
  local log="$1" addr=""
  for _ in $(seq 1 300); do
    addr="$(sed -n 's/^grantd: listening on //p' "$log" | head -n 1)"
    if [ -n "$addr" ]; then echo "$addr"; return 0; fi
    sleep 0.1
  done
  echo "grantd did not start:" >&2
  cat "$log" >&2
  return 1
}
