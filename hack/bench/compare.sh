#!/usr/bin/env bash
# Compares webhookserver with a bare net/http handler and with the classic Express handler, on this machine only
# (loopback), with the same Dialogflow ES GetAccountBalance request (account demo):
#   (a) webhookserver: basic auth, a CEL-guarded route answering from a template (1,000 extra routes loaded);
#   (b) webhookserver: the same endpoint with a route that `call`s a local upstream (hack/bench/upstream) and
#       maps its JSON answer; the upstream is measured directly too, to tell what (b) adds;
#   (c) hack/bench/barehttp: decode the JSON request, encode a fixed WebhookResponse (the practical limit);
#   (d) hack/bench/express: the classic Express 5 handler (npm ci into a temporary folder, never the tree).
# Each: closed loop, CONNECTIONS connections for DURATION after WARMUP (the peak); then (a) again in open loop at
# half its peak; then (b) and the upstream in open loop at CALL_RATE, where neither is saturated, so that the
# difference of their medians is what the call route adds rather than the two exchanges queueing for the same
# cores. Prints a table (and a Markdown one), the ratios and webhookserver's VmHWM (peak RSS).
#
# The bench manifest (written to a temporary folder) has idempotency off, so the same body is sent each time,
# and log level warn (no line per request). Nothing is left running, whatever happens (trap).
#
# Settings (environment): DURATION (8s), WARMUP (2s), CONNECTIONS (32), EXTRA_ROUTES (1000), CALL_RATE (1000
# req/s), ROUNDS (3: (a) and (c) are measured this many times, alternately, and the ratio is the median of the
# rounds', since runs of the same binary on a shared VM differ by up to 20%; the half-peak rate is half the
# median peak of (a)), KEEP_LOGS (1 keeps the temporary folder), PIN (1: the targets on CPU 0 and the load
# generator on CPU 1, each with GOMAXPROCS=1, with taskset, so that neither waits for the other's time slice;
# as two machines would).
#
# Without PIN the load generator shares the cores with the target: every throughput is a lower bound of the
# target's own, and its time slices show in the target's tail latency.
set -euo pipefail

DURATION=${DURATION:-8s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
EXTRA_ROUTES=${EXTRA_ROUTES:-1000}
CALL_RATE=${CALL_RATE:-1000}
ROUNDS=${ROUNDS:-3}
((ROUNDS >= 1)) || { echo "ROUNDS must be 1 or more" >&2; exit 2; }
KEEP_LOGS=${KEEP_LOGS:-0}
PIN=${PIN:-0}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# shellcheck source=hack/lib/bench.sh
source hack/lib/bench.sh
pin_cores
for tool in curl node npm; do
  command -v "$tool" >/dev/null || { echo "compare.sh needs $tool" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/webhookserver-compare.XXXXXX")
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do stop_process "$pid" 5; done
  if [[ "$KEEP_LOGS" == 1 ]]; then
    echo "logs and results kept in $tmp" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== building webhookserver, the load generator, the upstream and the bare handler; npm ci for Express"
build_webhookserver "$tmp/webhookserver"
go build -trimpath -o "$tmp/loadtest" ./hack/loadtest
go build -trimpath -o "$tmp/upstream" ./hack/bench/upstream
go build -trimpath -o "$tmp/barehttp" ./hack/bench/barehttp
mkdir "$tmp/express"
cp hack/bench/express/package.json hack/bench/express/package-lock.json hack/bench/express/server.js "$tmp/express/"
npm ci --prefix "$tmp/express" --no-audit --no-fund --loglevel=error --cache "$tmp/npm-cache" >"$tmp/npm.log" 2>&1 ||
  { cat "$tmp/npm.log" >&2; exit 1; }

free_ports 5
ws=127.0.0.1:${ports[0]} metrics=127.0.0.1:${ports[1]} upstream=127.0.0.1:${ports[2]}
bare=127.0.0.1:${ports[3]} express=127.0.0.1:${ports[4]}

# The bench manifests: the bank-bot endpoint (basic auth, idempotency off) with the CEL-guarded demo route and
# EXTRA_ROUTES more routes on other intents, and bank-bot-call, whose route calls the local upstream.
man=$tmp/manifests
mkdir "$man"
cat >"$man/bench.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: bank-bot-basic-auth}
type: kubernetes.io/basic-auth
stringData: {username: dialogflow, password: change-me-bank-bot}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bank-bot}
spec:
  path: /bank-bot
  dialect: DialogflowES
  timeout: 4500ms
  auth: {basic: {secretRef: {name: bank-bot-basic-auth}}}
  idempotency: {enabled: false}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: bank-bot-balance-demo}
spec:
  endpointRef: {name: bank-bot}
  priority: 10
  match:
    intents: [GetAccountBalance]
    when: params.account == "demo"
  respond:
    text: Your \${params.account} account balance is 1234.56 EUR.
    parameters:
      last_balance: "1234.56"
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bank-bot-call}
spec:
  path: /bank-bot-call
  dialect: DialogflowES
  timeout: 4500ms
  auth: {basic: {secretRef: {name: bank-bot-basic-auth}}}
  idempotency: {enabled: false}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: bank-bot-call-balance}
spec:
  endpointRef: {name: bank-bot-call}
  match:
    intents: [GetAccountBalance]
    when: params.account == "demo"
  call:
    url: http://$upstream/accounts/\${params.account}/balance
    method: GET
    timeout: 2s
    respond:
      text: Your \${params.account} account balance is \${response.body.balance} \${response.body.currency}.
      parameters:
        last_balance: response.body.balance
EOF
for ((i = 0; i < EXTRA_ROUTES; i++)); do
  # shellcheck disable=SC2016 # ${params.topic} is a template of the route, not a shell expansion.
  printf -- '---\napiVersion: fulfillment.dev/v1alpha1\nkind: IntentRoute\nmetadata: {name: faq-%04d}\nspec:\n  endpointRef: {name: bank-bot}\n  match:\n    intents: [FAQ-%04d]\n    when: '"'"'has(params.topic) && params.topic != ""'"'"'\n  respond:\n    text: Answer %d about ${params.topic}.\n' "$i" "$i" "$i"
done >"$man/extra-routes.yaml"

echo "== starting webhookserver ($EXTRA_ROUTES extra routes), the upstream, the bare handler and Express"
"${on_target[@]}" "$tmp/upstream" -listen "$upstream" >"$tmp/upstream.log" 2>&1 &
pids+=($!)
"${on_target[@]}" "$tmp/barehttp" -listen "$bare" >"$tmp/barehttp.log" 2>&1 &
bare_pid=$!
pids+=("$bare_pid")
PORT=${ports[4]} "${on_target[@]}" node "$tmp/express/server.js" >"$tmp/express.log" 2>&1 &
express_pid=$!
pids+=("$express_pid")
"${on_target[@]}" "$tmp/webhookserver" serve --manifests "$man" --endpoint bank-bot,bank-bot-call --listen "$ws" \
  --metrics-listen "$metrics" --admin-listen "" --log-format json --log-level warn >"$tmp/webhookserver.log" 2>&1 &
ws_pid=$!
pids+=("$ws_pid")

# wait_up NAME URL LOG: until URL answers (any HTTP status) or 15 s pass.
wait_up() {
  for _ in $(seq 150); do
    curl -sS -o /dev/null "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$1 did not start:" >&2; cat "$3" >&2; exit 1
}
wait_up webhookserver "http://$metrics/readyz" "$tmp/webhookserver.log"
curl -fsS "http://$metrics/readyz" >/dev/null || { echo "webhookserver not ready:" >&2; cat "$tmp/webhookserver.log" >&2; exit 1; }
wait_up upstream "http://$upstream/" "$tmp/upstream.log"
wait_up barehttp "http://$bare/" "$tmp/barehttp.log"
wait_up express "http://$express/" "$tmp/express.log"
hwm_idle=$(awk '/^VmHWM:/ {print $2}' "/proc/$ws_pid/status")

# The Dialogflow ES WebhookRequest of hack/loadtest.sh (the server benchmarks' request), one fixed responseId.
cat >"$tmp/es-balance.json" <<'EOF'
{"responseId":"8d1d2f6e-1b7a-4c1e-9a55-000000000001","session":"projects/demo-proj/agent/sessions/sess-123","queryResult":{"queryText":"what is the balance of my demo account","action":"account.balance","parameters":{"account":"demo"},"allRequiredParamsPresent":true,"fulfillmentMessages":[{"text":{"text":[""]}}],"outputContexts":[{"name":"projects/demo-proj/agent/sessions/sess-123/contexts/balance-followup","lifespanCount":2,"parameters":{"account":"demo","account.original":"demo"}},{"name":"projects/demo-proj/agent/sessions/sess-123/contexts/__system_counters__","parameters":{"no-input":0,"no-match":0,"account":"demo","account.original":"demo"}}],"intent":{"name":"projects/demo-proj/agent/intents/0b1e2c3d-0000-0000-0000-000000000002","displayName":"GetAccountBalance"},"intentDetectionConfidence":0.93,"languageCode":"en"},"originalDetectIntentRequest":{"source":"DIALOGFLOW_CONSOLE","payload":{}}}
EOF
auth=dialogflow:change-me-bank-bot
want="Your demo account balance is 1234.56 EUR."

# One request to each first: the comparison must measure the answer, not an error.
check() { # name url [curl args]
  local name=$1 url=$2 answer
  shift 2
  answer=$(curl -fsS -H 'Content-Type: application/json' --data-binary "@$tmp/es-balance.json" "$@" "$url") ||
    { echo "$name: request failed" >&2; exit 1; }
  [[ "$answer" == *"$want"* ]] || { echo "$name: unexpected answer: $answer" >&2; exit 1; }
}
check "(a) webhookserver" "http://$ws/bank-bot" -u "$auth"
check "(b) webhookserver call" "http://$ws/bank-bot-call" -u "$auth"
check "(c) bare net/http" "http://$bare/bank-bot"
check "(d) express" "http://$express/bank-bot"
answer=$(curl -fsS "http://$upstream/accounts/demo/balance")
[[ "$answer" == *'"balance":1234.56'* ]] || { echo "upstream: unexpected answer: $answer" >&2; exit 1; }
if curl -fsS -o /dev/null -H 'Content-Type: application/json' --data-binary "@$tmp/es-balance.json" "http://$ws/bank-bot" 2>/dev/null; then
  echo "webhookserver answered without basic auth" >&2; exit 1
fi

# measure NAME URL [loadtest flags]: one run, results in $tmp/NAME.json.
measure() {
  local name=$1 url=$2
  shift 2
  echo "-- $name: $url $*"
  "${on_loadgen[@]}" "$tmp/loadtest" -url "$url" -c "$CONNECTIONS" -d "$DURATION" -warmup "$WARMUP" -json-file "$tmp/$name.json" "$@" >/dev/null
}
es=(-body-file "$tmp/es-balance.json")
echo
echo "== closed loop, $CONNECTIONS connections, $DURATION each (after $WARMUP warmup)"
measure a "http://$ws/bank-bot" "${es[@]}" -basic "$auth"
measure b "http://$ws/bank-bot-call" "${es[@]}" -basic "$auth"
measure upstream "http://$upstream/accounts/demo/balance" -method GET
measure c "http://$bare/bank-bot" "${es[@]}"
measure d "http://$express/bank-bot" "${es[@]}"
for ((round = 2; round <= ROUNDS; round++)); do
  measure "a-$round" "http://$ws/bank-bot" "${es[@]}" -basic "$auth"
  measure "c-$round" "http://$bare/bank-bot" "${es[@]}"
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
# (a) and (c) of each round, and their ratio.
peaks_a=() peaks_c=() ratios=()
for ((round = 1; round <= ROUNDS; round++)); do
  suffix=$([[ $round == 1 ]] || echo "-$round")
  peaks_a+=("$(json_number throughput "$tmp/a$suffix.json")")
  peaks_c+=("$(json_number throughput "$tmp/c$suffix.json")")
  ratios+=("$(awk -v a="${peaks_a[-1]}" -v c="${peaks_c[-1]}" 'BEGIN { printf "%.2f", a / c }')")
done
peak_a=$(median "${peaks_a[@]}")
# (c) and (d) are done: stopped, so that their idle timers and GC do not share (a)'s core in the open loop
# (with PIN=1 they all run on CPU 0; idle, they added up to 1 ms to (a)'s p99 there).
stop_process "$bare_pid" 5
stop_process "$express_pid" 5
rate=$(awk -v p="$peak_a" 'BEGIN { r = int(p / 2); print (r < 1 ? 1 : r) }')
echo "== open loop, (a) at half its peak: $rate req/s, $DURATION"
measure a-half "http://$ws/bank-bot" "${es[@]}" -basic "$auth" -rate "$rate"
echo "== open loop at $CALL_RATE req/s: (b) and the upstream directly, $DURATION each"
measure b-rate "http://$ws/bank-bot-call" "${es[@]}" -basic "$auth" -rate "$CALL_RATE"
measure upstream-rate "http://$upstream/accounts/demo/balance" -method GET -rate "$CALL_RATE"
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$ws_pid/status")
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$ws_pid/status")
grep -q '"level":"ERROR"' "$tmp/webhookserver.log" && { echo "webhookserver logged errors:" >&2; head -5 "$tmp/webhookserver.log" >&2; }

names=(a b upstream c d a-half b-rate upstream-rate)
declare -A labels=(
  [a]="(a) webhookserver: auth, CEL route, template"
  [b]="(b) webhookserver: route calling the upstream"
  [upstream]="upstream directly (GET), for (b)"
  [c]="(c) bare net/http handler"
  [d]="(d) Express 5 (node $(node -v))"
  [a-half]="(a) open loop at $rate req/s"
  [b-rate]="(b) open loop at $CALL_RATE req/s"
  [upstream-rate]="upstream directly, open loop at $CALL_RATE req/s"
)
errors=0
echo
if [[ "$PIN" == 1 ]]; then
  echo "== results: the targets on CPU 0, the load generator on CPU 1 (taskset, GOMAXPROCS=1 each)"
else
  echo "== results: $(nproc) cores shared by the load generator and the targets (throughputs are lower bounds)"
fi
printf '%-48s %9s %7s %8s %8s %8s\n' target "req/s" errors "p50 ms" "p99 ms" "max ms"
for n in "${names[@]}"; do
  e=$(json_number errors "$tmp/$n.json")
  errors=$((errors + e))
  printf '%-48s %9.0f %7s %8s %8s %8s\n' "${labels[$n]}" "$(json_number throughput "$tmp/$n.json")" "$e" \
    "$(lat latencyMs p50 "$tmp/$n.json")" "$(lat latencyMs p99 "$tmp/$n.json")" "$(lat latencyMs max "$tmp/$n.json")"
  if [[ "$n" == a-half ]]; then
    printf '%-48s %9s %7s %8s %8s %8s\n' "    same, from the scheduled start" "" "" "$(lat scheduledLatencyMs p50 "$tmp/a-half.json")" \
      "$(lat scheduledLatencyMs p99 "$tmp/a-half.json")" "$(lat scheduledLatencyMs max "$tmp/a-half.json")"
  fi
done

summary=$(awk -v ta="$(json_number throughput "$tmp/a.json")" -v tc="$(json_number throughput "$tmp/c.json")" -v td="$(json_number throughput "$tmp/d.json")" \
  -v pa="$(lat latencyMs p50 "$tmp/a.json")" -v pc="$(lat latencyMs p50 "$tmp/c.json")" \
  -v pb="$(lat latencyMs p50 "$tmp/b.json")" -v pu="$(lat latencyMs p50 "$tmp/upstream.json")" \
  -v tb="$(json_number throughput "$tmp/b.json")" \
  -v rb="$(lat latencyMs p50 "$tmp/b-rate.json")" -v ru="$(lat latencyMs p50 "$tmp/upstream-rate.json")" -v cr="$CALL_RATE" 'BEGIN {
    printf "first round: (a)/(c): throughput %.2f, p50 %.2fx; (a)/(d): throughput %.2f\n", ta / tc, pa / pc, ta / td
    printf "(b) p50 %.2f ms vs upstream directly %.2f ms: the call route adds %.2f ms to the median; (b)/(a) throughput %.2f\n", pb, pu, pb - pu, tb / ta
    printf "at %d req/s (open loop): (b) p50 %.3f ms vs upstream directly %.3f ms: the call route adds %.3f ms to the median\n", cr, rb, ru, rb - ru
  }')
echo "$summary"
echo "(a)/(c) throughput by round: ${ratios[*]}; median $(median "${ratios[@]}") ((a) ${peaks_a[*]} req/s; (c) ${peaks_c[*]} req/s)"
echo "webhookserver ($EXTRA_ROUTES extra routes): VmHWM $((hwm_idle / 1024)) MiB after start, $((hwm / 1024)) MiB after the load (VmRSS $((rss / 1024)) MiB)"

echo
echo "== Markdown"
echo "| target | req/s | errors | p50 ms | p99 ms | max ms |"
echo "|---|---:|---:|---:|---:|---:|"
for n in "${names[@]}"; do
  printf '| %s | %s | %s | %s | %s | %s |\n' "${labels[$n]}" \
    "$(printf '%.0f' "$(json_number throughput "$tmp/$n.json")")" "$(json_number errors "$tmp/$n.json")" \
    "$(lat latencyMs p50 "$tmp/$n.json")" "$(lat latencyMs p99 "$tmp/$n.json")" "$(lat latencyMs max "$tmp/$n.json")"
done
if ((errors > 0)); then
  echo "some requests failed ($errors)" >&2
  exit 1
fi
