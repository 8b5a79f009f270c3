#!/usr/bin/env bash
# Shared mode: one webhookserver process serving BOTS bots, as one pod of a WebhookGateway does, against the same
# server serving 1 bot, on this machine only (loopback).
#
# Each bot is the bank-bot sample (config/samples/dialogflow-es-bank: Dialogflow ES, basic auth, idempotency on
# with the Memory store, the sample's routes, info-level request logs) with its own name, path (/bots/bot-0001,
# ...) and Secrets, and ROUTES_PER_BOT more routes of its own whose CEL expressions appear in no other route of
# any bot (hack/bench/gatewaygen). The server loads them as a gateway pod does: serve --config with the file in
# the form the operator renders (admitted: true), the bots' Secrets as the gateway's one Secret of copies mounts
# them beside it (gateway-secrets/<secret>_<key>).
#
# Load: the Dialogflow ES GetAccountBalance request with a new responseId in every request. Against the BOTS
# server each request goes to a bot taken at random, with that bot's credentials; against the 1-bot server, to
# its one bot, through the same code in the load generators. Pinned: the servers on CPU 0 with GOMAXPROCS=1,
# the load generator on CPU 1 (wrk with one thread). Peak throughput is wrk's (hack/bench/wrk/responseid.lua),
# CONNECTIONS connections for DURATION after WARMUP, the two servers alternately, ROUNDS times, median; the p99
# is hack/loadtest's in open loop at half each server's own median peak, from each request's scheduled start.
# Memory is VmRSS once ready (idempotency stores empty), then VmRSS and VmHWM after the load (stores filled);
# startup is from the process's start to its /readyz answering 200. While one server is measured the other is
# stopped (SIGSTOP), so that its background work (the reload check of its configuration and Secrets, its GC)
# does not share CPU 0.
#
# The script fails when any request fails or is answered other than 200 with the demo balance: wrk's and
# hack/loadtest's errors, the servers' fulfillment_requests_total by code, the fallbacks in their request logs
# (but those of requests the load generator cancelled by closing its connections at the end of a run) and
# their idempotency replays. Nothing is left running, whatever happens (trap).
#
# Settings (environment): BOTS (1000), ROUTES_PER_BOT (10), ROUNDS (3), DURATION (8s), WARMUP (2s), CONNECTIONS
# (32), KEEP_LOGS (1 keeps the temporary folder), PROFILE_DIR (when set, each server serves Go's profiles on
# loopback and the script saves into that folder its heap once ready, heap-SYSTEM.pprof, and a CPU profile of
# its first closed-loop round, cpu-SYSTEM.pprof, SYSTEM being many or one; `go tool pprof` reads them).
set -euo pipefail

BOTS=${BOTS:-1000}
ROUTES_PER_BOT=${ROUTES_PER_BOT:-10}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
KEEP_LOGS=${KEEP_LOGS:-0}
PROFILE_DIR=${PROFILE_DIR:-}
if [[ -n "$PROFILE_DIR" ]]; then
  mkdir -p "$PROFILE_DIR"
  PROFILE_DIR=$(cd "$PROFILE_DIR" && pwd)
fi
((BOTS >= 1 && ROUNDS >= 1 && ROUTES_PER_BOT >= 0)) || { echo "want BOTS >= 1, ROUNDS >= 1, ROUTES_PER_BOT >= 0" >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# shellcheck source=hack/lib/bench.sh
source hack/lib/bench.sh
command -v curl >/dev/null || { echo "gateway.sh needs curl" >&2; exit 1; }
need_wrk
PIN=1 pin_cores
began=$SECONDS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/webhookserver-gateway.XXXXXX")
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill -CONT "$pid" 2>/dev/null || true # a stopped process acts on TERM only once continued
    stop_process "$pid" 5
  done
  remove_tmp "$tmp"
  exit "$status"
}
cleanup_on_exit cleanup

echo "== building webhookserver (as the image does) and hack/loadtest; writing the configurations of $BOTS bots and of 1"
build_webhookserver "$tmp/webhookserver"
go build -trimpath -o "$tmp/loadtest" ./hack/loadtest
go build -trimpath -o "$tmp/gatewaygen" ./hack/bench/gatewaygen
"$tmp/gatewaygen" -bots "$BOTS" -routes-per-bot "$ROUTES_PER_BOT" -out "$tmp/many"
"$tmp/gatewaygen" -bots 1 -routes-per-bot "$ROUTES_PER_BOT" -out "$tmp/one"
config_kib=$(($(wc -c <"$tmp/many/config/config.yaml") / 1024))
write_es_balance "$tmp/es-balance.json"
sed 's/{{id}}/check-0/' "$tmp/es-balance.json" >"$tmp/check.json"
want="Your demo account balance is 1234.56 EUR."
routes_per_bot=$((ROUTES_PER_BOT + $(grep -c '^kind: IntentRoute' config/samples/dialogflow-es-bank/routes.yaml)))

free_ports 6
declare -A addr=([many]=127.0.0.1:${ports[0]} [one]=127.0.0.1:${ports[2]})
declare -A metrics=([many]=127.0.0.1:${ports[1]} [one]=127.0.0.1:${ports[3]})
declare -A pprof=([many]=127.0.0.1:${ports[4]} [one]=127.0.0.1:${ports[5]})
declare -A bots=([many]=$BOTS [one]=1)
declare -A server_pid startup_s rss_start rss_load hwm

# start SYSTEM: starts the server of SYSTEM (many or one) on CPU 0 and waits for it to be ready (2 minutes at
# most); records its startup time and memory.
start() {
  local system=$1 started ready="" profiling=()
  [[ -z "$PROFILE_DIR" ]] || profiling=(--pprof-listen "${pprof[$system]}")
  started=$(date +%s%N)
  "${on_target[@]}" "$tmp/webhookserver" serve --config "$tmp/$system/config/config.yaml" --admin-listen "" \
    --log-format json --log-level info --listen "${addr[$system]}" --metrics-listen "${metrics[$system]}" \
    "${profiling[@]}" >"$tmp/$system.log" 2>&1 &
  server_pid[$system]=$!
  pids+=("${server_pid[$system]}")
  for _ in $(seq 1200); do
    if curl -fsS -o /dev/null "http://${metrics[$system]}/readyz" 2>/dev/null; then ready=1; break; fi
    kill -0 "${server_pid[$system]}" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n "$ready" ]] || { echo "the server of $system did not get ready:" >&2; tail -c 2000 "$tmp/$system.log" >&2; exit 1; }
  startup_s[$system]=$(awk -v ns=$(($(date +%s%N) - started)) 'BEGIN { printf "%.1f", ns / 1e9 }')
  rss_start[$system]=$(kib "${server_pid[$system]}" VmRSS)
  [[ -z "$PROFILE_DIR" ]] || curl -fsS -o "$PROFILE_DIR/heap-$system.pprof" "http://${pprof[$system]}/debug/pprof/heap"
  echo "-- $system: ${bots[$system]} bot(s) ready after ${startup_s[$system]} s, VmRSS $((rss_start[$system] / 1024)) MiB"
}

# only SYSTEM: continues the server of SYSTEM and stops the other one (SIGSTOP), whose timers and GC would
# otherwise take CPU 0's time from the one measured.
only() {
  local system
  for system in "${!server_pid[@]}"; do
    if [[ "$system" == "$1" ]]; then kill -CONT "${server_pid[$system]}"; else kill -STOP "${server_pid[$system]}"; fi
  done
}

# check SYSTEM: the server serves every bot's routes, answers a bot with its own credentials and refuses it
# without them and with another bot's.
check() {
  local system=$1 served first last answer
  served=$(metric "${metrics[$system]}" fulfillment_routes endpoint=)
  ((served == bots[$system] * routes_per_bot)) ||
    { echo "$system serves $served routes, want ${bots[$system]} x $routes_per_bot" >&2; exit 1; }
  first=$(head -n 1 "$tmp/$system/targets.txt") last=$(tail -n 1 "$tmp/$system/targets.txt")
  answer=$(curl -fsS -H 'Content-Type: application/json' -H "Authorization: ${last#* }" --data-binary "@$tmp/check.json" \
    "http://${addr[$system]}${last%% *}") || { echo "$system: the request to ${last%% *} failed" >&2; exit 1; }
  [[ "$answer" == *"$want"* ]] || { echo "$system: unexpected answer: $answer" >&2; exit 1; }
  refused "$system" "${last%% *}" -H 'X-No-Auth: 1'
  [[ "$first" == "$last" ]] || refused "$system" "${last%% *}" -H "Authorization: ${first#* }"
}

# refused SYSTEM PATH [curl args]: the request must be answered 401.
refused() {
  local system=$1 path=$2 code
  shift 2
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "@$tmp/check.json" "$@" \
    "http://${addr[$system]}$path")
  [[ "$code" == 401 ]] || { echo "$system: $path answered $code without its own credentials, want 401" >&2; exit 1; }
}

# closed_loop SYSTEM NAME: a warmup, then one measured run of wrk, every request to a bot of SYSTEM at random.
closed_loop() {
  local system=$1 name=$2
  local wrk=("${on_loadgen[@]}" wrk -t 1 -c "$CONNECTIONS" --latency -s hack/bench/wrk/responseid.lua) profiler=""
  only "$system"
  echo "-- $name: wrk, $CONNECTIONS connections, $DURATION after $WARMUP warmup"
  WRK_BODY=$tmp/es-balance.json WRK_TARGETS=$tmp/$system/targets.txt WRK_RESULT=$tmp/$name-warmup.json WRK_TAG=$name-warmup \
    "${wrk[@]}" -d "$WARMUP" "http://${addr[$system]}/" >/dev/null
  if [[ -n "$PROFILE_DIR" && "$name" == "$system-1" ]]; then
    curl -fsS -o "$PROFILE_DIR/cpu-$system.pprof" "http://${pprof[$system]}/debug/pprof/profile?seconds=$(whole_seconds "$DURATION")" &
    profiler=$!
  fi
  WRK_BODY=$tmp/es-balance.json WRK_TARGETS=$tmp/$system/targets.txt WRK_RESULT=$tmp/$name.json WRK_TAG=$name \
    "${wrk[@]}" -d "$DURATION" "http://${addr[$system]}/" >"$tmp/$name.wrk.txt"
  [[ -z "$profiler" ]] || wait "$profiler" || { echo "the CPU profile of $system failed" >&2; exit 1; }
  no_errors "$tmp/$name-warmup.json" "$tmp/$name.json"
}

# open_loop SYSTEM RATE: hack/loadtest at RATE req/s, every request to a bot of SYSTEM at random.
open_loop() {
  local system=$1 rate=$2
  only "$system"
  echo "-- $system-half: hack/loadtest, open loop at $rate req/s"
  "${on_loadgen[@]}" "$tmp/loadtest" -url "http://${addr[$system]}/" -targets "$tmp/$system/targets.txt" \
    -body-file "$tmp/es-balance.json" -id-token "{{id}}" -c "$CONNECTIONS" -d "$DURATION" -warmup "$WARMUP" \
    -rate "$rate" -json-file "$tmp/$system-half.json" >/dev/null
  no_errors "$tmp/$system-half.json"
}

# no_errors FILE...: the load generator counted no failed request (transport errors, statuses >= 400 for wrk,
# outside 2xx for hack/loadtest).
no_errors() {
  local file e
  for file in "$@"; do
    e=$(json_number errors "$file")
    ((e == 0)) || { echo "$e requests failed in $(basename "$file" .json)" >&2; exit 1; }
  done
}

# non_200 SYSTEM: how many requests the server answered with a status other than 200.
non_200() {
  curl -fsS "http://${metrics[$1]}/metrics" |
    awk 'index($0, "fulfillment_requests_total{") == 1 && !index($0, "code=\"200\"") { n += $NF } END { printf "%d", n }'
}

# answered_200 SYSTEM: every request of the load got 200 with the route's answer: no other status than check's
# refusals, no fallback (its request log), no answer replayed from the idempotency store (every responseId was
# new).
answered_200() {
  local system=$1 n
  n=$(($(non_200 "$system") - refusals[$system]))
  ((n == 0)) || { echo "$system answered $n requests of the load with a status other than 200" >&2; exit 1; }
  # A load generator closes its connections when its run ends: the requests then in flight are cancelled and
  # answered with the fallback to no one (reason canceled); any other fallback is a failure.
  n=$(grep '"outcome":"fallback"' "$tmp/$system.log" | grep -vc '"fallback":"canceled"' || true)
  ((n == 0)) || { echo "$system answered $n requests with the fallback:" >&2; grep '"outcome":"fallback"' "$tmp/$system.log" | grep -v -m3 '"fallback":"canceled"' >&2; exit 1; }
  n=$(metric "${metrics[$system]}" fulfillment_idempotency_total 'result="replayed"')
  ((n == 0)) || { echo "$system replayed $n answers: the load repeated responseIds" >&2; exit 1; }
}

# median_peak SYSTEM: the median of the rounds' throughputs.
median_peak() {
  local system=$1 round peaks=()
  for ((round = 1; round <= ROUNDS; round++)); do peaks+=("$(json_number throughput "$tmp/$system-$round.json")"); done
  median "${peaks[@]}"
}

echo
echo "== starting the servers pinned on CPU 0 (GOMAXPROCS=1): $BOTS bots x $routes_per_bot routes ($config_kib KiB of configuration), then 1 bot"
declare -A refusals
for system in many one; do
  only none
  start "$system"
  check "$system"
  refusals[$system]=$(non_200 "$system")
done

echo "== closed loop, pinned (wrk on CPU 1, one thread), alternately, $ROUNDS rounds"
for ((round = 1; round <= ROUNDS; round++)); do
  closed_loop many "many-$round"
  closed_loop one "one-$round"
done
declare -A peak half
for system in many one; do
  peak[$system]=$(median_peak "$system")
  half[$system]=$(awk -v p="${peak[$system]}" 'BEGIN { r = int(p / 2); print (r < 1 ? 1 : r) }')
done
echo "== open loop at half each server's median peak (hack/loadtest on CPU 1)"
for system in many one; do
  open_loop "$system" "${half[$system]}"
  rss_load[$system]=$(kib "${server_pid[$system]}" VmRSS) hwm[$system]=$(kib "${server_pid[$system]}" VmHWM)
  answered_200 "$system"
done
for system in many one; do
  grep -q '"level":"ERROR"' "$tmp/$system.log" && { echo "$system logged errors:" >&2; grep -m5 '"level":"ERROR"' "$tmp/$system.log" >&2; exit 1; }
done

mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
rounds() {
  local system=$1 round out=()
  for ((round = 1; round <= ROUNDS; round++)); do out+=("$(awk -v t="$(json_number throughput "$tmp/$system-$round.json")" 'BEGIN { printf "%.0f", t }')"); done
  local IFS=,
  echo "${out[*]}"
}
declare -A label=([many]="$BOTS bots x $routes_per_bot routes" [one]="1 bot x $routes_per_bot routes")
table=(
  "| one webhookserver, pinned | startup to ready | VmRSS ready | VmRSS after load | VmHWM | peak req/s (rounds) | p99 ms at half the peak |"
  "|---|---:|---:|---:|---:|---:|---:|"
)
for system in many one; do
  table+=("$(printf '| %s | %s s | %s MiB | %s MiB | %s MiB | %.0f (%s) | %s at %s req/s |' "${label[$system]}" \
    "${startup_s[$system]}" "$(mib "${rss_start[$system]}")" "$(mib "${rss_load[$system]}")" "$(mib "${hwm[$system]}")" \
    "${peak[$system]}" "$(rounds "$system")" "$(lat scheduledLatencyMs p99 "$tmp/$system-half.json")" "${half[$system]}")")
done
echo
echo "== results (medians of $ROUNDS rounds; p99 from each request's scheduled start)"
printf '%s\n' "${table[@]}"
awk -v a="${peak[many]}" -v b="${peak[one]}" -v ra="${rss_start[many]}" -v rb="${rss_start[one]}" -v n="$BOTS" 'BEGIN {
  printf "%d bots vs 1: throughput %.2fx; VmRSS ready +%.0f MiB (%.0f KiB per added bot)\n", n, a / b, (ra - rb) / 1024, (n > 1 ? (ra - rb) / (n - 1) : 0)
}'
echo "the $BOTS bots' configuration is $config_kib KiB; a gateway's ConfigMap holds at most 1024 KiB"
[[ -z "$PROFILE_DIR" ]] || echo "profiles of both servers: $PROFILE_DIR (go tool pprof -top FILE)"
echo "done in $((SECONDS - began)) s"
