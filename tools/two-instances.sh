#!/usr/bin/env bash
# docs/ops.md's two-instance procedure, done for real without containers: two `aomi serve` on one
# PostgreSQL (a fresh schema of the test database) behind nginx from Debian's packages, with the
# repository's proxy configuration (deploy/nginx/aomi.conf.template). A turn is started through
# the proxy; its parts must arrive through the proxy while it still runs (SSE buffering off), and
# the turn is resumed, from its first part to its end, directly on the instance that does NOT run
# it. Both streams and the stored answer must be the whole answer.
#
#   AOMI_BIN=… AOMI_STUB_BIN=… tools/two-instances.sh
#
# Installs nginx-light when no nginx is found (apt, bounded). Every wait is bounded; `make
# test-ops` also runs the whole script under a time limit. Ports are free ones of 127.0.0.1.
set -euo pipefail

: "${AOMI_BIN:?the aomi binary}" "${AOMI_STUB_BIN:?the aomi-stub-model binary}"
here="$(cd "$(dirname "$0")/.." && pwd)"
template="$here/deploy/nginx/aomi.conf.template"
owner="0xa11ce00000000000000000000000000000000001"

nginx_bin="$(command -v nginx || true)"
[ -n "$nginx_bin" ] || { [ -x /usr/sbin/nginx ] && nginx_bin=/usr/sbin/nginx; } || true
if [ -z "$nginx_bin" ]; then
  echo "two-instances: installing nginx-light (Debian)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  timeout 300 $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 300 $sudo apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
  nginx_bin=/usr/sbin/nginx
fi

work="$(mktemp -d)"
chmod 755 "$work"
pids=()
schema=""
admin=""
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$schema" ]; then psql "$admin" -qc "drop schema if exists $schema cascade" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "two-instances: FAILED: $*" >&2
  for log in "$work"/*.log; do
    echo "--- $(basename "$log") (last 20 lines)" >&2
    tail -n 20 "$log" >&2 || true
  done
  exit 1
}

# Waits for the first `listening on <url>` line of a process's output and prints the URL.
listening() {
  local log="$1" url=""
  for _ in $(seq 1 300); do
    url="$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$log" | head -n 1)"
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.1
  done
  fail "no 'listening on' line in $log"
}

# A fresh schema in the PostgreSQL test database (as the Rust tests use it).
for candidate in ${AOMI_TEST_DATABASE_URL:-} postgres://postgres@127.0.0.1:5432/test postgres://root@127.0.0.1:5432/test; do
  if timeout 10 psql "$candidate" -qAtc "select 1" >/dev/null 2>&1; then admin="$candidate"; break; fi
done
[ -n "$admin" ] || fail "no PostgreSQL test database answers (AOMI_TEST_DATABASE_URL, 127.0.0.1:5432/test)"
schema="aomi_ops_$(date +%s)_$$"
psql "$admin" -qc "create schema $schema" >/dev/null
separator="?"
case "$admin" in *\?*) separator="&" ;; esac
database_url="${admin}${separator}options=-c%20search_path%3D${schema}"

# The stub model: about 6 seconds of text, so the turn still runs while it is resumed elsewhere.
answer="$(for i in $(seq 1 30); do printf 'word%02d ' "$i"; done)"
answer="${answer% }"
cat > "$work/script.json" <<EOF
{"rules": [], "fallback": {"text": "$answer"}, "timing": {"ttft_ms": 0, "tokens_per_second": 10, "chars_per_token": 4}}
EOF
"$AOMI_STUB_BIN" --script "$work/script.json" > "$work/stub.log" 2>&1 &
pids+=($!)
stub="$(listening "$work/stub.log")"

# The proxy's port first: it is the public address both instances name in sign-in messages.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
proxy="http://127.0.0.1:$port"
web_dir="${AOMI_TEST_WEB_DIR:-$here/web/dist}"
[ -f "$web_dir/index.html" ] || fail "no built page in $web_dir (make web)"

# Both instances sign sessions with one key: a challenge answered by one is verified by the other.
secret="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
closed="http://127.0.0.1:9"
start_aomi() {
  local name="$1"
  AOMI_MODEL="openai:stub-model" OPENAI_BASE_URL="$stub/v1" OPENAI_API_KEY="stub" \
    AOMI_DATABASE_URL="$database_url" AOMI_BIND="127.0.0.1:0" AOMI_TITLES="first-message" \
    AOMI_TRUSTED_PROXIES="127.0.0.1" AOMI_LOG_FORMAT=json AOMI_DATA_DIR="$work/data-$name" \
    AOMI_RPC_ETHEREUM="$closed" AOMI_RPC_OPTIMISM="$closed" AOMI_RPC_POLYGON="$closed" \
    AOMI_RPC_SEPOLIA="$closed" AOMI_RPC_BASE_SEPOLIA="$closed" AOMI_WEB_DIR="$web_dir" AOMI_PUBLIC_URL="$proxy" AOMI_AUTH_SECRET="$secret" \
    "$AOMI_BIN" serve > "$work/aomi-$name.out" 2> "$work/aomi-$name.log" &
  pids+=($!)
}
start_aomi a
start_aomi b
url_a="$(listening "$work/aomi-a.out")"
url_b="$(listening "$work/aomi-b.out")"

# nginx with the repository's server block, filled in for these ports.
sed -e "s|\${AOMI_UPSTREAM_1}|${url_a#http://}|" -e "s|\${AOMI_UPSTREAM_2}|${url_b#http://}|" \
  -e "s|\${NGINX_PORT}|127.0.0.1:$port|" "$template" > "$work/aomi.conf"
grep -q '\${' "$work/aomi.conf" && fail "a placeholder of the template was left unfilled"
mkdir -p "$work/tmp"
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"
cat > "$work/nginx.conf" <<EOF
$user_line
daemon off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 128; }
http {
  log_format upstream '\$request_id \$request \$status upstream=\$upstream_addr';
  access_log $work/nginx-access.log upstream;
  client_body_temp_path $work/tmp/body;
  proxy_temp_path $work/tmp/proxy;
  fastcgi_temp_path $work/tmp/fastcgi;
  uwsgi_temp_path $work/tmp/uwsgi;
  scgi_temp_path $work/tmp/scgi;
  include $work/aomi.conf;
}
EOF
"$nginx_bin" -t -q -p "$work" -c "$work/nginx.conf" 2> "$work/nginx-check.log" || fail "nginx refuses the configuration"
"$nginx_bin" -p "$work" -c "$work/nginx.conf" 2> "$work/nginx-stderr.log" &
pids+=($!)
ready=""
for _ in $(seq 1 100); do
  if curl -fsS "$proxy/readyz" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || fail "nginx does not answer on $proxy"

# The turn, through the proxy.
chat_id="chat-ops-$(date +%s)-$$"
body="{\"id\": \"$chat_id\", \"message\": {\"id\": \"u-1\", \"role\": \"user\", \"parts\": [{\"type\": \"text\", \"text\": \"talk to me\"}]}, \"wallet\": {\"chainId\": 31337, \"address\": \"$owner\"}}"
curl -sS -N --max-time 60 -H 'content-type: application/json' -d "$body" "$proxy/api/chat" > "$work/through-proxy.sse" &
turn=$!

# Counts the text parts of an SSE capture; `whole` also checks it ends with finish and [DONE],
# and prints the text.
sse() {
  python3 - "$@" <<'PY'
import json, sys
mode, path = sys.argv[1], sys.argv[2]
events = [line[6:] for line in open(path, encoding="utf-8").read().splitlines() if line.startswith("data: ")]
parts = [json.loads(e) for e in events if e != "[DONE]"]
deltas = [p["delta"] for p in parts if p.get("type") == "text-delta"]
if mode == "count":
    print(len(deltas))
else:
    if not events or events[-1] != "[DONE]" or parts[-1].get("type") != "finish":
        sys.exit(f"{path}: the stream does not end with finish and [DONE]: {events[-3:]}")
    if parts[0].get("type") != "start":
        sys.exit(f"{path}: the stream does not begin with start: {events[:2]}")
    print("".join(deltas))
PY
}

# Parts arrive through the proxy while the turn runs: nginx does not buffer the stream.
seen=0
for _ in $(seq 1 200); do
  seen="$(sse count "$work/through-proxy.sse" 2>/dev/null || echo 0)"
  [ "$seen" -ge 3 ] && break
  sleep 0.05
done
[ "$seen" -ge 3 ] || fail "no text part came through the proxy while the turn ran"
running="$(curl -fsS "$proxy/api/chats/$chat_id?owner=$owner" | python3 -c 'import json,sys; print(json.load(sys.stdin)["running"])')"
[ "$running" = "True" ] || fail "the turn had ended before its parts came through the proxy: buffered?"

# Which instance runs it: the one whose log has the turn's request. Resume on the other one.
started() { grep 'chat turn requested' "$work/aomi-$1.log" | grep -q "\"chat_id\":\"$chat_id\""; }
if started a; then runs=a other="$url_b"; else runs=b other="$url_a"; fi
started "$runs" || fail "neither instance logged the turn"
echo "two-instances: the turn runs on instance $runs; resuming it on the other ($other)"
status="$(curl -sS -N --max-time 60 -o "$work/resumed.sse" -w '%{http_code}' "$other/api/chat/$chat_id/stream?owner=$owner")"
[ "$status" = "200" ] || fail "resuming on the other instance answered $status"
wait "$turn" || fail "the stream through the proxy failed"

proxied="$(sse whole "$work/through-proxy.sse")" || fail "the stream through the proxy is not whole"
resumed="$(sse whole "$work/resumed.sse")" || fail "the resumed stream is not whole"
[ "$proxied" = "$answer" ] || fail "the stream through the proxy said: $proxied"
[ "$resumed" = "$answer" ] || fail "the stream resumed on the other instance said: $resumed"

# The answer is stored whole, and either instance (through the proxy) reads it.
curl -fsS "$proxy/api/chats/$chat_id?owner=$owner" > "$work/chat.json"
python3 - "$work/chat.json" "$answer" <<'PY' || fail "the stored chat is not the whole turn"
import json, sys
chat = json.load(open(sys.argv[1]))
messages = chat["messages"]
assert not chat["running"], chat
assert [m["role"] for m in messages] == ["user", "assistant"], messages
text = "".join(p.get("text", "") for p in messages[1]["parts"] if p["type"] == "text")
assert text == sys.argv[2], text
assert not (messages[1].get("metadata") or {}).get("incomplete"), messages[1]
PY
# nginx gave each request an id, and the instance that ran the turn logged it.
request_id="$(grep ' /api/chat HTTP' "$work/nginx-access.log" | head -n 1 | cut -d' ' -f1)"
[ -n "$request_id" ] && grep -q "\"request_id\":\"$request_id\"" "$work/aomi-$runs.log" \
  || fail "the turn's log lines do not carry nginx's request id ($request_id)"
# deploy.yml's smoke test, against this deployment.
bash "$here/deploy/smoke.sh" "$proxy" || fail "the smoke test"
echo "two-instances: ok: a turn started through nginx was resumed whole on the other instance and stored whole"
