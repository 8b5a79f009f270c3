#!/usr/bin/env bash
# What the info-level request line costs over HTTP: webhookserver as bench-compare's (a) (the bank-bot sample and
# ROUTES distinct routes, idempotency on), once at --log-level info (a line per request) and once at warn (none),
# both pinned on CPU 0 with GOMAXPROCS=1, measured alternately by wrk on CPU 1 (ROUNDS rounds of DURATION, 32
# connections, a new responseId per request); the server not being measured is stopped (SIGSTOP). Prints each
# round's req/s and the median of the rounds' info/warn ratios. Loopback only; nothing is left running.
set -euo pipefail
ROUTES=${ROUTES:-1000}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8s}
cd "$(dirname "$0")/../.."
source hack/lib/bench.sh
need_wrk
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -CONT "$pid" 2>/dev/null || true # a stopped process acts on TERM only once continued
    stop_process "$pid" 5
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
build_webhookserver "$tmp/webhookserver"
go run ./hack/bench/routegen -n "$ROUTES" -endpoint bank-bot >"$tmp/routes.yaml"
write_es_balance "$tmp/es-balance.json"
free_ports 4
declare -A port=([info]=${ports[0]} [warn]=${ports[1]}) metrics=([info]=${ports[2]} [warn]=${ports[3]})
for level in info warn; do
  GOMAXPROCS=1 taskset -c 0 "$tmp/webhookserver" serve --admin-listen "" --log-format json --log-level "$level" \
    --manifests config/samples/dialogflow-es-bank --manifests "$tmp/routes.yaml" \
    --listen "127.0.0.1:${port[$level]}" --metrics-listen "127.0.0.1:${metrics[$level]}" >"$tmp/$level.log" 2>&1 &
  pids+=($!)
  wait_up "webhookserver at $level" "http://127.0.0.1:${metrics[$level]}/readyz" "$tmp/$level.log"
done
auth="Authorization: Basic $(printf '%s' dialogflow:change-me-bank-bot | base64)"
ratios=()
for ((round = 0; round <= ROUNDS; round++)); do # round 0 warms both servers up and is not counted
  declare -A rate
  for i in 0 1; do
    level=$([[ $i == 0 ]] && echo info || echo warn)
    kill -CONT "${pids[$i]}"
    kill -STOP "${pids[$((1 - i))]}"
    rate[$level]=$(WRK_BODY=$tmp/es-balance.json WRK_RESULT=$tmp/$level-$round.json WRK_TAG=$level-$round \
      taskset -c 1 wrk -t 1 -c 32 -d "$([[ $round == 0 ]] && echo 2s || echo "$DURATION")" -s hack/bench/wrk/responseid.lua -H "$auth" \
      "http://127.0.0.1:${port[$level]}/bank-bot" | awk '/Requests\/sec/ {print $2}')
  done
  ((round > 0)) || continue
  echo "round $round: info ${rate[info]} req/s, warn ${rate[warn]} req/s"
  ratios+=("$(awk -v a="${rate[info]}" -v b="${rate[warn]}" 'BEGIN { printf "%.3f", a / b }')")
done
echo "info/warn throughput, median of the rounds' ratios: $(median "${ratios[@]}") (rounds: ${ratios[*]})"
