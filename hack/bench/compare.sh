#!/usr/bin/env bash
# Compares webhookserver, as users run it, with the strongest baselines, on this machine only (loopback), with
# the same Dialogflow ES GetAccountBalance request (account demo), a new responseId in every request as
# Dialogflow sends it:
#   (a)  webhookserver with the samples' defaults: the bank-bot sample as shipped (config/samples/dialogflow-es-bank:
#        basic auth, idempotency on with the Memory store, the CEL-guarded demo route answering from a template),
#        info-level request logs (the default), plus ROUTES distinct routes (hack/bench/routegen: an intent, a
#        guard and a template each, none shared by the program cache);
#   (a0) the same server without the ROUTES routes: (a)'s memory minus (a0)'s is what the routes cost;
#   (b)  webhookserver with a route that `call`s a local upstream (hack/bench/upstream) and maps its JSON answer;
#        the upstream is measured directly too, to tell what (b) adds;
#   (c)  hack/bench/barehttp: decode the JSON request with encoding/json, encode a fixed WebhookResponse;
#   (e)  hack/bench/barehttp: read the body, write a constant answer (the limit of Go's HTTP stack here);
#   (f)  hack/bench/fastify: (c)'s handler on fastify 5, NODE_ENV=production;
#   (d)  hack/bench/express: the classic Express 5 handler, NODE_ENV=production.
# Node's dependencies are installed with npm ci from the committed lock files into a temporary folder.
#
# The closed-loop load generator is wrk (Debian's package, installed when missing) with hack/bench/wrk/responseid.lua,
# which writes a new responseId into every request; CONNECTIONS connections for DURATION after WARMUP (the peak).
# (a), (c), (e) and (f) are measured ROUNDS times, alternately, each round's ratios (a)/(c), (a)/(e), (a)/(f)
# computed, and the median of the rounds reported: runs of the same binary on a shared VM differ by up to 20%.
# Then (a) in open loop at half its median peak, and (b) and the upstream at CALL_RATE, with hack/loadtest (open
# loop: latency from each request's scheduled start).
#
# Each system is measured pinned (the targets on CPU 0, wrk on CPU 1 with one thread, GOMAXPROCS=1: one core
# each, as two machines would; the headline) and unpinned (every process on every core: the Go servers use two
# cores against Node's one, and the load generator takes its share of them). PIN selects: both (the default),
# 1 (pinned only) or 0 (unpinned only). Prints a table per mode (and Markdown ones), the ratios, the memory of
# (a) and (a0), and the issue's targets as PASS or MISS lines. Nothing is left running, whatever happens (trap).
#
# Settings (environment): DURATION (8s), WARMUP (2s), CONNECTIONS (32), ROUTES (1000), CALL_RATE (1000 req/s),
# ROUNDS (5), PIN (both), KEEP_LOGS (1 keeps the temporary folder), PROFILE_DIR (when set, (a) serves Go's profiles
# on loopback and the script saves into that folder, per mode, its heap after start (heap-MODE.pprof: where the
# routes' memory goes) and a CPU profile of its first closed-loop round (cpu-MODE.pprof: what limits its
# throughput); `go tool pprof` reads them).
set -euo pipefail

DURATION=${DURATION:-8s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
ROUTES=${ROUTES:-1000}
CALL_RATE=${CALL_RATE:-1000}
ROUNDS=${ROUNDS:-5}
((ROUNDS >= 1)) || { echo "ROUNDS must be 1 or more" >&2; exit 2; }
KEEP_LOGS=${KEEP_LOGS:-0}
PROFILE_DIR=${PROFILE_DIR:-}
if [[ -n "$PROFILE_DIR" ]]; then
  mkdir -p "$PROFILE_DIR"
  PROFILE_DIR=$(cd "$PROFILE_DIR" && pwd)
fi
PIN=${PIN:-both}
case "$PIN" in
  both) modes=(pinned unpinned) ;;
  1) modes=(pinned) ;;
  0) modes=(unpinned) ;;
  *) echo "PIN must be both, 1 or 0" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# shellcheck source=hack/lib/bench.sh
source hack/lib/bench.sh
for tool in curl node npm; do
  command -v "$tool" >/dev/null || { echo "compare.sh needs $tool" >&2; exit 1; }
done
need_wrk
wrk_version=$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }' || true) # wrk -v exits with 1
# Checks PIN=1's needs (taskset, two cores) before the build when pinned runs are asked for.
[[ "$PIN" == 0 ]] || PIN=1 pin_cores

tmp=$(mktemp -d "${TMPDIR:-/tmp}/webhookserver-compare.XXXXXX")
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do stop_process "$pid" 5; done
  remove_tmp "$tmp"
  exit "$status"
}
cleanup_on_exit cleanup

echo "== building webhookserver, hack/loadtest, the upstream and the Go baselines; npm ci for fastify and Express"
build_webhookserver "$tmp/webhookserver"
go build -trimpath -o "$tmp/loadtest" ./hack/loadtest
go build -trimpath -o "$tmp/upstream" ./hack/bench/upstream
go build -trimpath -o "$tmp/barehttp" ./hack/bench/barehttp
for app in fastify express; do
  mkdir "$tmp/$app"
  cp "hack/bench/$app/package.json" "hack/bench/$app/package-lock.json" "hack/bench/$app/server.js" "$tmp/$app/"
  npm ci --prefix "$tmp/$app" --no-audit --no-fund --loglevel=error --cache "$tmp/npm-cache" >"$tmp/npm-$app.log" 2>&1 ||
    { cat "$tmp/npm-$app.log" >&2; exit 1; }
done
go run ./hack/bench/routegen -n "$ROUTES" -endpoint bank-bot >"$tmp/routes.yaml"

# (b)'s manifests: an endpoint like the sample's (basic auth, idempotency on) whose route calls the upstream.
# written per mode, once the upstream's port is known.
write_call_manifest() { # FILE UPSTREAM
  cat >"$1" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: bank-bot-call-basic-auth}
type: kubernetes.io/basic-auth
stringData: {username: dialogflow, password: change-me-bank-bot}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: bank-bot-call}
spec:
  path: /bank-bot-call
  dialect: DialogflowES
  timeout: 4500ms
  auth: {basic: {secretRef: {name: bank-bot-call-basic-auth}}}
  idempotency: {enabled: true, ttl: 10m}
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
    url: http://$2/accounts/\${params.account}/balance
    method: GET
    timeout: 2s
    respond:
      text: Your \${params.account} account balance is \${response.body.balance} \${response.body.currency}.
      parameters:
        last_balance: response.body.balance
EOF
}

write_es_balance "$tmp/es-balance.json"
sed 's/{{id}}/check-0/' "$tmp/es-balance.json" >"$tmp/check.json"
auth=dialogflow:change-me-bank-bot
auth_header="Authorization: Basic $(printf '%s' "$auth" | base64)"
want="Your demo account balance is 1234.56 EUR."

# check NAME URL [curl args]: one request first: the comparison must measure the answer, not an error.
check() {
  local name=$1 url=$2 answer
  shift 2
  answer=$(curl -fsS -H 'Content-Type: application/json' --data-binary "@$tmp/check.json" "$@" "$url") ||
    { echo "$name: request failed" >&2; exit 1; }
  [[ "$answer" == *"$want"* ]] || { echo "$name: unexpected answer: $answer" >&2; exit 1; }
}

# start_all MODE: starts every system of a mode, pinned or not, and checks each answers.
start_all() {
  local mode=$1 dir=$tmp/$1
  mkdir -p "$dir"
  if [[ "$mode" == pinned ]]; then PIN=1 pin_cores; else PIN=0 pin_cores; fi
  wrk_threads=$([[ "$mode" == pinned ]] && echo 1 || nproc)
  free_ports 11
  ws=127.0.0.1:${ports[0]} ws_metrics=127.0.0.1:${ports[1]} ws0=127.0.0.1:${ports[2]} ws0_metrics=127.0.0.1:${ports[3]}
  wsb=127.0.0.1:${ports[4]} wsb_metrics=127.0.0.1:${ports[5]} upstream=127.0.0.1:${ports[6]} bare=127.0.0.1:${ports[7]}
  fastify=127.0.0.1:${ports[8]} express=127.0.0.1:${ports[9]} pprof=127.0.0.1:${ports[10]}
  write_call_manifest "$dir/call.yaml" "$upstream"
  local serve=(serve --admin-listen "" --log-format json --log-level info) profiling=()
  [[ -z "$PROFILE_DIR" ]] || profiling=(--pprof-listen "$pprof")

  "${on_target[@]}" "$tmp/webhookserver" "${serve[@]}" --manifests config/samples/dialogflow-es-bank --manifests "$tmp/routes.yaml" "${profiling[@]}" \
    --listen "$ws" --metrics-listen "$ws_metrics" >"$dir/webhookserver-a.log" 2>&1 &
  ws_pid=$!
  pids+=("$ws_pid")
  "${on_target[@]}" "$tmp/webhookserver" "${serve[@]}" --manifests config/samples/dialogflow-es-bank \
    --listen "$ws0" --metrics-listen "$ws0_metrics" >"$dir/webhookserver-a0.log" 2>&1 &
  ws0_pid=$!
  pids+=("$ws0_pid")
  "${on_target[@]}" "$tmp/webhookserver" "${serve[@]}" --manifests "$dir/call.yaml" \
    --listen "$wsb" --metrics-listen "$wsb_metrics" >"$dir/webhookserver-b.log" 2>&1 &
  wsb_pid=$!
  pids+=("$wsb_pid")
  "${on_target[@]}" "$tmp/upstream" -listen "$upstream" >"$dir/upstream.log" 2>&1 &
  upstream_pid=$!
  pids+=("$upstream_pid")
  "${on_target[@]}" "$tmp/barehttp" -listen "$bare" >"$dir/barehttp.log" 2>&1 &
  bare_pid=$!
  pids+=("$bare_pid")
  NODE_ENV=production PORT=${ports[8]} "${on_target[@]}" node "$tmp/fastify/server.js" >"$dir/fastify.log" 2>&1 &
  fastify_pid=$!
  pids+=("$fastify_pid")
  NODE_ENV=production PORT=${ports[9]} "${on_target[@]}" node "$tmp/express/server.js" >"$dir/express.log" 2>&1 &
  express_pid=$!
  pids+=("$express_pid")

  wait_up "(a) webhookserver" "http://$ws_metrics/readyz" "$dir/webhookserver-a.log"
  wait_up "(a0) webhookserver" "http://$ws0_metrics/readyz" "$dir/webhookserver-a0.log"
  wait_up "(b) webhookserver" "http://$wsb_metrics/readyz" "$dir/webhookserver-b.log"
  for addr in "$ws_metrics" "$ws0_metrics" "$wsb_metrics"; do
    curl -fsS "http://$addr/readyz" >/dev/null || { echo "webhookserver on $addr not ready:" >&2; cat "$dir"/webhookserver-*.log >&2; exit 1; }
  done
  wait_up upstream "http://$upstream/" "$dir/upstream.log"
  wait_up barehttp "http://$bare/" "$dir/barehttp.log"
  wait_up fastify "http://$fastify/" "$dir/fastify.log"
  wait_up express "http://$express/" "$dir/express.log"
  # The memory with the idempotency store empty, before any request.
  rss_start=$(kib "$ws_pid" VmRSS) rss0_start=$(kib "$ws0_pid" VmRSS)
  [[ -z "$PROFILE_DIR" ]] || curl -fsS -o "$PROFILE_DIR/heap-$mode.pprof" "http://$pprof/debug/pprof/heap"

  local routes routes0
  routes=$(metric "$ws_metrics" fulfillment_routes 'endpoint="default/bank-bot"')
  routes0=$(metric "$ws0_metrics" fulfillment_routes 'endpoint="default/bank-bot"')
  ((routes - routes0 == ROUTES)) || { echo "(a) serves $routes routes, (a0) $routes0: want $ROUTES more in (a)" >&2; exit 1; }

  check "(a) webhookserver" "http://$ws/bank-bot" -u "$auth"
  check "(a0) webhookserver" "http://$ws0/bank-bot" -u "$auth"
  check "(b) webhookserver call" "http://$wsb/bank-bot-call" -u "$auth"
  check "(c) bare net/http" "http://$bare/bank-bot"
  check "(e) bare constant" "http://$bare/constant"
  check "(f) fastify" "http://$fastify/bank-bot"
  check "(d) express" "http://$express/bank-bot"
  local answer
  answer=$(curl -fsS "http://$upstream/accounts/demo/balance")
  [[ "$answer" == *'"balance":1234.56'* ]] || { echo "upstream: unexpected answer: $answer" >&2; exit 1; }
  if curl -fsS -o /dev/null -H 'Content-Type: application/json' --data-binary "@$tmp/check.json" "http://$ws/bank-bot" 2>/dev/null; then
    echo "webhookserver answered without basic auth" >&2; exit 1
  fi
  # The same responseId again is replayed from the store: idempotency is on, and every replay is counted.
  check "(a0) webhookserver, the same responseId again" "http://$ws0/bank-bot" -u "$auth"
  (($(metric "$ws0_metrics" fulfillment_idempotency_total 'result="replayed"') == 1)) ||
    { echo "(a0) did not replay a repeated responseId: is idempotency on?" >&2; exit 1; }
}

# closed_loop NAME URL [wrk args]: a warmup, then one measured run of wrk, results in $dir/NAME.json.
closed_loop() {
  local name=$1 url=$2 dir=$tmp/$mode
  shift 2
  echo "-- $mode $name: $url"
  local wrk=("${on_loadgen[@]}" wrk -t "$wrk_threads" -c "$CONNECTIONS" --latency -s hack/bench/wrk/responseid.lua "$@")
  WRK_BODY=$tmp/es-balance.json WRK_RESULT=$dir/$name-warmup.json WRK_TAG=$mode-$name-warmup \
    "${wrk[@]}" -d "$WARMUP" "$url" >/dev/null
  local profiler=""
  if [[ -n "$PROFILE_DIR" && "$name" == a-1 ]]; then
    curl -fsS -o "$PROFILE_DIR/cpu-$mode.pprof" "http://$pprof/debug/pprof/profile?seconds=$(whole_seconds "$DURATION")" &
    profiler=$!
  fi
  WRK_BODY=$tmp/es-balance.json WRK_RESULT=$dir/$name.json WRK_TAG=$mode-$name \
    "${wrk[@]}" -d "$DURATION" "$url" >"$dir/$name.wrk.txt"
  [[ -z "$profiler" ]] || wait "$profiler" || { echo "the CPU profile of (a) failed" >&2; exit 1; }
}

# open_loop NAME URL RATE [loadtest flags]: one open-loop run of hack/loadtest at RATE req/s, results in $dir/NAME.json.
open_loop() {
  local name=$1 url=$2 rate=$3 dir=$tmp/$mode
  shift 3
  echo "-- $mode $name: $url at $rate req/s (open loop)"
  "${on_loadgen[@]}" "$tmp/loadtest" -url "$url" -c "$CONNECTIONS" -d "$DURATION" -warmup "$WARMUP" -rate "$rate" \
    -json-file "$dir/$name.json" "$@" >/dev/null
}

auth_wrk=(-H "$auth_header")
# measure_mode MODE: every system of the mode, then its open-loop runs; leaves (a)'s memory in rss_*.
measure_mode() {
  mode=$1
  local dir=$tmp/$1 round
  echo
  echo "== $mode: starting every system ($ROUTES distinct routes in (a))"
  start_all "$mode"
  echo "== $mode: closed loop (wrk, $wrk_threads thread(s)), $CONNECTIONS connections, $DURATION each after $WARMUP warmup"
  for ((round = 1; round <= ROUNDS; round++)); do
    closed_loop "a-$round" "http://$ws/bank-bot" "${auth_wrk[@]}"
    closed_loop "c-$round" "http://$bare/bank-bot"
    closed_loop "e-$round" "http://$bare/constant"
    closed_loop "f-$round" "http://$fastify/bank-bot"
    if ((round == 1)); then
      closed_loop a0 "http://$ws0/bank-bot" "${auth_wrk[@]}"
      closed_loop b "http://$wsb/bank-bot-call" "${auth_wrk[@]}"
      closed_loop d "http://$express/bank-bot"
    fi
  done
  rss0_load=$(kib "$ws0_pid" VmRSS) hwm0=$(kib "$ws0_pid" VmHWM)
  # The baselines are done: stopped, so that their idle timers and GC do not share (a)'s core in the open loop.
  for pid in "$bare_pid" "$fastify_pid" "$express_pid" "$ws0_pid"; do stop_process "$pid" 5; done

  local peaks=() n
  for ((round = 1; round <= ROUNDS; round++)); do peaks+=("$(json_number throughput "$dir/a-$round.json")"); done
  half_rate=$(awk -v p="$(median "${peaks[@]}")" 'BEGIN { r = int(p / 2); print (r < 1 ? 1 : r) }')
  open_loop a-half "http://$ws/bank-bot" "$half_rate" -body-file "$tmp/es-balance.json" -id-token "{{id}}" -basic "$auth"
  open_loop b-rate "http://$wsb/bank-bot-call" "$CALL_RATE" -body-file "$tmp/es-balance.json" -id-token "{{id}}" -basic "$auth"
  open_loop upstream-rate "http://$upstream/accounts/demo/balance" "$CALL_RATE" -method GET
  rss_load=$(kib "$ws_pid" VmRSS) hwm=$(kib "$ws_pid" VmHWM)

  # Every responseId was new: neither server replayed a stored answer under load (the one replay of (a0) is
  # start_all's check).
  n=$(metric "$ws_metrics" fulfillment_idempotency_total 'result="replayed"')
  ((n == 0)) || { echo "(a) replayed $n answers: the load repeated responseIds" >&2; exit 1; }
  n=$(metric "$wsb_metrics" fulfillment_idempotency_total 'result="replayed"')
  ((n == 0)) || { echo "(b) replayed $n answers: the load repeated responseIds" >&2; exit 1; }
  grep -q '"level":"ERROR"' "$dir/webhookserver-a.log" && { echo "(a) logged errors:" >&2; grep -m5 '"level":"ERROR"' "$dir/webhookserver-a.log" >&2; }
  for pid in "$ws_pid" "$wsb_pid" "$upstream_pid"; do stop_process "$pid" 5; done
  pids=() # all stopped: their ids may be another process's by the next mode's cleanup
  report_mode
}

# median_file NAME: the result file of NAME's median round (by throughput; the lower middle one of an even count).
median_file() {
  local dir=$tmp/$mode round
  for ((round = 1; round <= ROUNDS; round++)); do
    printf '%s %s\n' "$(json_number throughput "$dir/$1-$round.json")" "$dir/$1-$round.json"
  done | sort -g | awk -v k=$(((ROUNDS + 1) / 2)) 'NR == k { print $2 }'
}

# ratio_median X Y: the median over the rounds of X's throughput over Y's.
ratio_median() {
  local dir=$tmp/$mode round ratios=()
  for ((round = 1; round <= ROUNDS; round++)); do
    ratios+=("$(awk -v x="$(json_number throughput "$dir/$1-$round.json")" -v y="$(json_number throughput "$dir/$2-$round.json")" \
      'BEGIN { printf "%.2f", (y > 0 ? x / y : 0) }')")
  done
  printf '%s (rounds: %s)' "$(median "${ratios[@]}")" "${ratios[*]}"
}

errors=0
markdown=()
# report_mode: the table of a mode, its ratios and memory; keeps the headline figures in head_<mode>_*.
report_mode() {
  local dir=$tmp/$mode n file e
  local names=(a c e f a0 b d a-half b-rate upstream-rate)
  local -A files=([a]=$(median_file a) [c]=$(median_file c) [e]=$(median_file e) [f]=$(median_file f))
  for n in a0 b d a-half b-rate upstream-rate; do files[$n]=$dir/$n.json; done
  local -A labels=(
    [a]="(a) webhookserver, samples' defaults, $ROUTES routes"
    [c]="(c) bare net/http + encoding/json"
    [e]="(e) bare net/http, constant answer"
    [f]="(f) fastify 5, NODE_ENV=production"
    [a0]="(a0) (a) without the $ROUTES routes"
    [b]="(b) webhookserver: route calling the upstream"
    [d]="(d) Express 5, NODE_ENV=production"
    [a-half]="(a) open loop at $half_rate req/s"
    [b-rate]="(b) open loop at $CALL_RATE req/s"
    [upstream-rate]="upstream directly, open loop at $CALL_RATE req/s"
  )
  echo
  if [[ "$mode" == pinned ]]; then
    echo "== results, pinned: the targets on CPU 0, wrk on CPU 1 (one thread), GOMAXPROCS=1 (medians of $ROUNDS rounds for (a) (c) (e) (f))"
  else
    echo "== results, unpinned: $(nproc) cores shared by every process and wrk ($wrk_threads threads) (medians of $ROUNDS rounds for (a) (c) (e) (f))"
  fi
  printf '%-52s %9s %7s %8s %8s %8s\n' system "req/s" errors "p50 ms" "p99 ms" "max ms"
  markdown+=("" "**$mode** (node $(node -v), wrk $wrk_version)" ""
    "| system | req/s | errors | p50 ms | p99 ms | max ms |" "|---|---:|---:|---:|---:|---:|")
  for n in "${names[@]}"; do
    file=${files[$n]}
    e=$(json_number errors "$file")
    errors=$((errors + e))
    printf '%-52s %9.0f %7s %8s %8s %8s\n' "${labels[$n]}" "$(json_number throughput "$file")" "$e" \
      "$(lat latencyMs p50 "$file")" "$(lat latencyMs p99 "$file")" "$(lat latencyMs max "$file")"
    markdown+=("$(printf '| %s | %.0f | %s | %s | %s | %s |' "${labels[$n]}" "$(json_number throughput "$file")" "$e" \
      "$(lat latencyMs p50 "$file")" "$(lat latencyMs p99 "$file")" "$(lat latencyMs max "$file")")")
    if [[ "$n" == a-half ]]; then
      printf '%-52s %9s %7s %8s %8s %8s\n' "    same, from the scheduled start" "" "" "$(lat scheduledLatencyMs p50 "$file")" \
        "$(lat scheduledLatencyMs p99 "$file")" "$(lat scheduledLatencyMs max "$file")"
    fi
  done
  local ac ae af
  ac=$(ratio_median a c) ae=$(ratio_median a e) af=$(ratio_median a f)
  echo "ratios (median of the rounds' ratios): (a)/(c) $ac; (a)/(e) $ae; (a)/(f) $af"
  awk -v a="$(json_number throughput "${files[a]}")" -v d="$(json_number throughput "${files[d]}")" \
    -v a0="$(json_number throughput "${files[a0]}")" -v rb="$(lat latencyMs p50 "${files[b-rate]}")" \
    -v ru="$(lat latencyMs p50 "${files[upstream-rate]}")" -v cr="$CALL_RATE" 'BEGIN {
      printf "(a)/(d) %.2f; (a)/(a0) %.2f (what the routes cost in throughput)\n", a / d, a / a0
      printf "at %d req/s (open loop): (b) p50 %.3f ms vs upstream directly %.3f ms: the call route adds %.3f ms to the median\n", cr, rb, ru, rb - ru
    }'
  echo "memory, VmRSS after start (idempotency store empty): (a) $((rss_start / 1024)) MiB, (a0) $((rss0_start / 1024)) MiB:" \
    "the $ROUTES distinct routes take $(((rss_start - rss0_start) / 1024)) MiB"
  echo "memory after the load (store filled): (a) VmRSS $((rss_load / 1024)) MiB, VmHWM $((hwm / 1024)) MiB;" \
    "(a0) VmRSS $((rss0_load / 1024)) MiB, VmHWM $((hwm0 / 1024)) MiB"
  printf -v "head_${mode}_ac" '%s' "${ac%% *}"
  printf -v "head_${mode}_ae" '%s' "${ae%% *}"
  printf -v "head_${mode}_af" '%s' "${af%% *}"
  printf -v "head_${mode}_p99" '%s' "$(lat scheduledLatencyMs p99 "${files[a-half]}")"
  printf -v "head_${mode}_rss" '%s' "$rss_start"
}

for m in "${modes[@]}"; do measure_mode "$m"; done

echo
echo "== Markdown"
printf '%s\n' "${markdown[@]}"

# target NAME VALUE OP BOUND: a PASS or MISS line.
target() {
  if awk -v v="$2" -v b="$4" -v op="$3" 'BEGIN { exit !((op == ">=") ? v >= b : v < b) }'; then
    echo "PASS  $1: $2 $3 $4"
  else
    echo "MISS  $1: $2, want $3 $4"
  fi
}
echo
head=${modes[0]}
echo "== the targets ($head; medians of $ROUNDS rounds)"
ac=head_${head}_ac ae=head_${head}_ae af=head_${head}_af p99=head_${head}_p99 rss=head_${head}_rss
target "(a)/(c) throughput" "${!ac}" ">=" 1.0
target "(a)/(e) throughput" "${!ae}" ">=" 0.6
target "(a)/(f) throughput" "${!af}" ">=" 1.5
target "(a) p99 at half its peak, from the scheduled start (ms)" "${!p99}" "<" 5
target "(a) VmRSS with $ROUTES distinct routes, store empty (MiB)" "$(awk -v k="${!rss}" 'BEGIN { printf "%.1f", k / 1024 }')" "<" 48
[[ -z "$PROFILE_DIR" ]] || echo "(a)'s profiles, for what limits it: $PROFILE_DIR (go tool pprof -top FILE)"

if ((errors > 0)); then
  echo "some requests failed ($errors)" >&2
  exit 1
fi
