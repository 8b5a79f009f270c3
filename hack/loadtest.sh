#!/usr/bin/env bash
# Load test of webhookserver on the sample bots, on this machine only (loopback).
#
# Builds webhookserver as the image does (static, stripped) and the load generator (hack/loadtest), starts the
# server on the samples on free loopback ports, waits for /readyz, then sends the bank-bot sample's Dialogflow
# ES GetAccountBalance request (account demo, basic auth), each request with a new responseId (the sample
# deduplicates by it, as Dialogflow expects; a repeated id would measure the replay of a stored answer):
#   1. closed loop: CONNECTIONS connections as fast as answers come, for DURATION: the peak rate;
#   2. open loop at RATE_PERCENT (50) % of that peak, for DURATION: the latency at that rate.
# Then prints both results, the server's memory (VmRSS and VmHWM from /proc/<pid>/status) and stops the server.
# Nothing is left running, whatever happens (trap).
#
# Settings (environment): DURATION (10s), WARMUP (2s), CONNECTIONS (32), RATE_PERCENT (50), LOG_LEVEL (info:
# every request is logged, as in production), KEEP_LOGS (1 keeps the temporary folder with the server log and
# the JSON results), GOMAXPROCS (passed to the server when set), EXTRA_ROUTES (0: that many more IntentRoutes on
# the bank-bot endpoint from hack/bench/routegen, each with its own intent, CEL guard and template, as
# hack/bench/compare.sh loads them, to measure the server's memory with many routes loaded; the measured request
# still matches the demo route),
# SERVER_FLAGS (more `serve` flags, e.g. "--idempotency-memory-mib 2"), PIN (1: the server on CPU 0 and the load
# generator on CPU 1, each with GOMAXPROCS=1, so that neither waits for the other's time slices).
#
# The load generator runs on the same cores as the server, so the throughput is a lower bound of the server's.
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
RATE_PERCENT=${RATE_PERCENT:-50}
LOG_LEVEL=${LOG_LEVEL:-info}
EXTRA_ROUTES=${EXTRA_ROUTES:-0}
KEEP_LOGS=${KEEP_LOGS:-0}
SERVER_FLAGS=${SERVER_FLAGS:-}
PIN=${PIN:-0}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=hack/lib/bench.sh
source hack/lib/bench.sh
pin_cores
command -v curl >/dev/null || { echo "loadtest.sh needs curl" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/webhookserver-loadtest.XXXXXX")
server_pid=""
cleanup() {
  local status=$?
  [[ -z "$server_pid" ]] || stop_process "$server_pid" 10
  remove_tmp "$tmp"
  exit "$status"
}
cleanup_on_exit cleanup

echo "== building webhookserver (as the image does) and the load generator"
build_webhookserver "$tmp/webhookserver"
go build -trimpath -o "$tmp/loadtest" ./hack/loadtest

free_ports 2
listen=127.0.0.1:${ports[0]}
metrics=127.0.0.1:${ports[1]}

manifests=(--manifests config/samples)
if ((EXTRA_ROUTES > 0)); then
  go run ./hack/bench/routegen -n "$EXTRA_ROUTES" -endpoint bank-bot >"$tmp/extra-routes.yaml"
  manifests+=(--manifests "$tmp/extra-routes.yaml")
fi

echo "== starting webhookserver on the samples, $EXTRA_ROUTES extra routes (loopback, free ports)"
# shellcheck disable=SC2086 # SERVER_FLAGS is a list of flags
"${on_target[@]}" "$tmp/webhookserver" serve "${manifests[@]}" --endpoint bank-bot,order-bot,rasa-actions \
  --listen "$listen" --metrics-listen "$metrics" --admin-listen "" --log-format json --log-level "$LOG_LEVEL" $SERVER_FLAGS \
  >"$tmp/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 150); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "webhookserver exited:" >&2; cat "$tmp/server.log" >&2; exit 1
  fi
  curl -fsS "http://$metrics/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://$metrics/readyz" >/dev/null || { echo "webhookserver not ready:" >&2; cat "$tmp/server.log" >&2; exit 1; }
echo "webhookserver pid $server_pid on http://$listen (metrics http://$metrics)"
rss_start=$(awk '/^VmRSS:/ {print $2, $3}' "/proc/$server_pid/status")

# The Dialogflow ES WebhookRequest of the server benchmarks; the load generator puts a new id in place of {{id}}.
write_es_balance "$tmp/es-balance.json"
url="http://$listen/bank-bot"
auth=dialogflow:change-me-bank-bot

# One request first: the load test must measure the route's answer, not an error.
sed 's/{{id}}/check-0/' "$tmp/es-balance.json" >"$tmp/check.json"
answer=$(curl -fsS -u "$auth" -H 'Content-Type: application/json' --data-binary "@$tmp/check.json" "$url")
if [[ "$answer" != *"Your demo account balance is 1234.56 EUR."* ]]; then
  echo "unexpected answer: $answer" >&2; exit 1
fi

# The server's CPU time (user + system, clock ticks) and its count of answered requests, to tell what the
# server itself spends per request: the load generator's share of the cores is not in it.
hz=$(getconf CLK_TCK)
server_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
served() { curl -fsS "http://$metrics/metrics" | awk '/^fulfillment_requests_total\{/ { n += $2 } END { printf "%d", n }'; }
# cpu_note TICKS0 SERVED0 SECONDS0: the server's CPU per request and cores busy since then.
cpu_note() {
  awk -v t="$(( $(server_ticks) - $1 ))" -v n="$(( $(served) - $2 ))" -v s="$(( SECONDS - $3 ))" -v hz="$hz" \
    'BEGIN { printf "%.1f µs of server CPU per request, %.2f cores busy in the server", (n > 0 ? t / hz * 1e6 / n : 0), t / hz / (s > 0 ? s : 1) }'
}


echo
t0=$(server_ticks) n0=$(served) s0=$SECONDS
echo "== peak: closed loop, $CONNECTIONS connections, $DURATION (after $WARMUP warmup)"
"${on_loadgen[@]}" "$tmp/loadtest" -url "$url" -body-file "$tmp/es-balance.json" -basic "$auth" \
  -id-token '{{id}}' -c "$CONNECTIONS" -d "$DURATION" -warmup "$WARMUP" -json-file "$tmp/peak.json"
peak_cpu=$(cpu_note "$t0" "$n0" "$s0")
peak=$(json_number throughput "$tmp/peak.json")
rate=$(awk -v p="$peak" -v pct="$RATE_PERCENT" 'BEGIN { r = int(p * pct / 100); print (r < 1 ? 1 : r) }')

t0=$(server_ticks) n0=$(served) s0=$SECONDS
echo
echo "== open loop at $RATE_PERCENT% of the peak: $rate req/s, at most $CONNECTIONS connections, $DURATION"
"${on_loadgen[@]}" "$tmp/loadtest" -url "$url" -body-file "$tmp/es-balance.json" -basic "$auth" \
  -id-token '{{id}}' -c "$CONNECTIONS" -d "$DURATION" -warmup "$WARMUP" -rate "$rate" -json-file "$tmp/rate.json"

rate_cpu=$(cpu_note "$t0" "$n0" "$s0")
rss=$(awk '/^VmRSS:/ {print $2, $3}' "/proc/$server_pid/status")
hwm=$(awk '/^VmHWM:/ {print $2, $3}' "/proc/$server_pid/status")
# RSS is the heap and stacks (anonymous) plus the pages of the binary the process touched (file-backed).
rss_parts=$(awk '/^RssAnon:/ {a = $2} /^RssFile:/ {f = $2} END {print "anonymous " a " kB, file " f " kB"}' "/proc/$server_pid/status")
# The server's own counts: every answer must come from the demo route, none replayed or a fallback.
curl -fsS "http://$metrics/metrics" >"$tmp/metrics.txt"
mapfile -t server_counts < <(grep -E '^fulfillment_(requests|idempotency|fallbacks)_total\{[^}]*endpoint="default/bank-bot"' "$tmp/metrics.txt" || true)

row() { # name file
  printf '%-30s %10.0f %8s %9s %9s %9s\n' "$1" "$(json_number throughput "$2")" "$(json_number errors "$2")" \
    "$(lat latencyMs p50 "$2")" "$(lat latencyMs p99 "$2")" "$(lat latencyMs max "$2")"
}

echo
if [[ "$PIN" == 1 ]]; then
  echo "== summary (the server on CPU 0, the load generator on CPU 1, GOMAXPROCS=1 each)"
else
  echo "== summary ($(nproc) cores, shared by the load generator and the server: throughput is a lower bound)"
fi
printf '%-30s %10s %8s %9s %9s %9s\n' run "req/s" errors "p50 ms" "p99 ms" "max ms"
row "peak: closed loop, c=$CONNECTIONS" "$tmp/peak.json"
row "open loop at $rate req/s" "$tmp/rate.json"
printf '%-30s %10s %8s %9s %9s %9s\n' "  same, from scheduled start" "" "" "$(lat scheduledLatencyMs p50 "$tmp/rate.json")" \
  "$(lat scheduledLatencyMs p99 "$tmp/rate.json")" "$(lat scheduledLatencyMs max "$tmp/rate.json")"
echo "server CPU: peak: $peak_cpu; open loop: $rate_cpu"
echo "server memory ($EXTRA_ROUTES extra routes): VmRSS $rss_start after start; after the runs VmRSS $rss ($rss_parts), VmHWM (peak RSS) $hwm"
echo "server's counts:"
printf '  %s\n' "${server_counts[@]}"
