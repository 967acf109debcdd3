#!/usr/bin/env bash
# The smoke test of a deployed aomi (deploy.yml runs it against staging and production; `make
# test-ops` runs it against two local instances behind nginx): health, readiness, the page, and
# one direct-command turn (`/time`, no model needed) by a wallet that signs in with a throwaway
# key, as sign-in is required on any server others reach.
#
#   deploy/smoke.sh https://staging.aomi.example
#
# Needs curl, python3 and Foundry's cast (CAST, default tools/node_modules/.bin/cast: `npm install
# --prefix tools`). Every request has a time limit.
set -euo pipefail

url="${1:?the base URL of the deployment}"
url="${url%/}"
here="$(cd "$(dirname "$0")/.." && pwd)"
cast="${CAST:-$here/tools/node_modules/.bin/cast}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
jar="$work/cookies"

fail() {
  echo "smoke: FAILED: $*" >&2
  exit 1
}
get() { curl -sS --max-time 10 "$@"; }

# 1. Health and readiness.
[ "$(get -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ] || fail "/healthz"
ready="$(get "$url/readyz")"
echo "$ready" | grep -q '"status":"ready"' || fail "/readyz answered $ready"
echo "smoke: healthy and ready"

# 2. The page, and the script it loads.
get -o "$work/index.html" -D "$work/index.headers" "$url/" || fail "the page"
grep -q '<div id="root">' "$work/index.html" || fail "the page has no root element"
script="$(sed -n 's/.*<script[^>]* src="\([^"]*\)".*/\1/p' "$work/index.html" | head -n 1)"
[ -n "$script" ] || fail "the page loads no script"
[ "$(get -o /dev/null -w '%{http_code}' "$url$script")" = 200 ] || fail "the page's script $script"
echo "smoke: the page and its script load"

# 3. Sign in with a throwaway key.
wallet="$("$cast" wallet new --json)"
address="$(echo "$wallet" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')"
key="$(echo "$wallet" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["private_key"])')"
get -f -c "$jar" -H 'content-type: application/json' -H "origin: $url" \
  -d "{\"address\": \"$address\", \"chainId\": 1}" "$url/api/auth/challenge" > "$work/challenge.json" \
  || fail "the sign-in challenge"
message="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["message"], end="")' "$work/challenge.json")"
challenge="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["challenge"])' "$work/challenge.json")"
signature="$("$cast" wallet sign --private-key "$key" "$message")"
python3 - "$message" "$signature" "$challenge" > "$work/verify.json" <<'PY'
import json, sys
print(json.dumps({"message": sys.argv[1], "signature": sys.argv[2], "challenge": sys.argv[3]}))
PY
get -f -b "$jar" -c "$jar" -H 'content-type: application/json' -H "origin: $url" \
  --data-binary "@$work/verify.json" "$url/api/auth/verify" >/dev/null || fail "sign-in"
echo "smoke: signed in as $address"

# 4. One direct-command turn.
chat_id="smoke-$(date +%s)-$$"
body="{\"id\": \"$chat_id\", \"message\": {\"id\": \"u-1\", \"role\": \"user\", \"parts\": [{\"type\": \"text\", \"text\": \"/time\"}]}, \"wallet\": {\"chainId\": 1, \"address\": \"$address\"}}"
get -f -N --max-time 30 -b "$jar" -H 'content-type: application/json' -H "origin: $url" -d "$body" \
  "$url/api/chat" > "$work/turn.sse" || fail "the turn"
python3 - "$work/turn.sse" <<'PY' || fail "the turn's stream"
import json, sys
events = [l[6:] for l in open(sys.argv[1]).read().splitlines() if l.startswith("data: ")]
parts = [json.loads(e) for e in events if e != "[DONE]"]
types = [p.get("type") for p in parts]
assert events and events[-1] == "[DONE]", events[-3:]
assert "tool-output-available" in types, types
assert types[-1] == "finish", types
assert "error" not in types, parts
PY
echo "smoke: a direct-command turn ran: ok"
