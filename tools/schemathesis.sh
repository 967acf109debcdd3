#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document: starts the stub model and `aomi serve` (SQLite
# in a temporary directory, every network's RPC on a closed local port, so nothing leaves the
# machine; request rates off, so that every example reaches its route — the 429 they would answer
# is documented on every route), then runs schemathesis against /api/openapi.json: no 5xx, every answer in its schema,
# every status documented. Bounded: a fixed number of examples per operation and a time limit.
#
#   tools/schemathesis.sh [optional|required]   (sign-in mode; default: optional)
#
# Needs AOMI_BIN, AOMI_STUB_BIN, and SCHEMATHESIS (the schemathesis command, which `make
# test-api` installs into a virtual environment).
set -euo pipefail

MODE="${1:-optional}"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-30}"
: "${AOMI_BIN:?the aomi binary}" "${AOMI_STUB_BIN:?the aomi-stub-model binary}"
: "${SCHEMATHESIS:?the schemathesis command}"

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Waits for the first `listening on <url>` line of a process's output and prints the URL.
listening() {
  local log="$1" url=""
  for _ in $(seq 1 300); do
    url="$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$log" | head -n 1)"
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.1
  done
  echo "no 'listening on' line in $log:" >&2
  cat "$log" >&2
  return 1
}

# The stub model answers every turn with a short text.
echo '{"rules": [], "fallback": {"text": "Hello from the stub."}}' > "$work/script.json"
"$AOMI_STUB_BIN" --script "$work/script.json" > "$work/stub.log" 2>&1 &
pids+=($!)
stub="$(listening "$work/stub.log")"

closed="http://127.0.0.1:9"
AOMI_MODEL="openai:stub-model" OPENAI_BASE_URL="$stub/v1" OPENAI_API_KEY="stub" \
  AOMI_LIMIT_IP_RATE=0 AOMI_LIMIT_SESSION_RATE=0 \
  AOMI_DATA_DIR="$work/data" AOMI_BIND="127.0.0.1:0" AOMI_TITLES="first-message" AOMI_AUTH="$MODE" \
  AOMI_RPC_ETHEREUM="$closed" AOMI_RPC_OPTIMISM="$closed" AOMI_RPC_POLYGON="$closed" \
  AOMI_RPC_SEPOLIA="$closed" AOMI_RPC_BASE_SEPOLIA="$closed" AOMI_WEB_DIR="$work/no-page" \
  "$AOMI_BIN" serve > "$work/aomi.log" 2>&1 &
pids+=($!)
url="$(listening "$work/aomi.log")"

echo "schemathesis: $url ($MODE sign-in, $EXAMPLES examples per operation)"
status=0
timeout "${SCHEMATHESIS_TIMEOUT:-600}" "$SCHEMATHESIS" --config-file "$(dirname "$0")/schemathesis.toml" run "$url/api/openapi.json" --url "$url" \
  --max-examples "$EXAMPLES" --seed "${SCHEMATHESIS_SEED:-1}" --no-color \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- aomi serve's log (last 40 lines)" >&2
  tail -n 40 "$work/aomi.log" >&2
fi
exit "$status"
