# Shared by hack/loadtest.sh, hack/bench/compare.sh and hack/bench/gateway.sh (sourced): core pinning, free
# loopback ports, stopping the processes they start, building the server as shipped, the request they send,
# reading the load generator's JSON results and the server's metrics and memory.

# pin_cores: with PIN=1, on_target and on_loadgen prefix a command to run it on CPU 0 and CPU 1 respectively,
# each with GOMAXPROCS=1 (taskset), so that the target and the load generator never wait for each other's time
# slices, as on two machines; without it both are empty.
pin_cores() {
  on_target=()
  on_loadgen=()
  [[ "${PIN:-0}" == 1 ]] || return 0
  command -v taskset >/dev/null || { echo "PIN=1 needs taskset (util-linux)" >&2; exit 1; }
  (($(nproc) >= 2)) || { echo "PIN=1 needs 2 cores" >&2; exit 1; }
  on_target=(taskset -c 0 env GOMAXPROCS=1)
  on_loadgen=(taskset -c 1 env GOMAXPROCS=1)
}

# free_ports N: sets the array ports to N distinct loopback ports nothing listens on (bash's /dev/tcp: a refused
# connection means free). They are taken below the kernel's ephemeral range, so that no client connection (of a
# load generator, here or elsewhere on the machine) holds one by the time a server binds it.
free_ports() {
  local want=$1 port tries=0 first=10000 ephemeral
  ephemeral=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  ((ephemeral > first + 1000)) || ephemeral=60000
  ports=()
  while ((${#ports[@]} < want)); do
    ((tries++ < 200 * want)) || { echo "no free loopback port found" >&2; return 1; }
    port=$((first + RANDOM % (ephemeral - first)))
    [[ " ${ports[*]} " == *" $port "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      ports+=("$port")
    fi
  done
}

# stop_process PID SECONDS: TERM, then KILL when it has not exited after SECONDS.
stop_process() {
  local pid=$1 seconds=$2
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq $((seconds * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# cleanup_on_exit FUNCTION: runs FUNCTION when the script ends, also on Ctrl-C and SIGTERM (as exit 130 and
# 143), so that no server or temporary folder of a run outlives it.
cleanup_on_exit() {
  trap "$1" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# remove_tmp DIR: removes a run's temporary folder, or keeps it and says where with KEEP_LOGS=1.
remove_tmp() {
  if [[ "${KEEP_LOGS:-0}" == 1 ]]; then
    echo "logs and results kept in $1" >&2
  else
    rm -rf "$1"
  fi
}

# build_webhookserver OUT: builds webhookserver as the image does (Dockerfile: static, no cgo, stripped), so that
# the memory measured is the shipped binary's: a cgo build also maps libc, 1.4 MiB more RSS.
build_webhookserver() {
  CGO_ENABLED=0 go build -trimpath -tags grpcnotrace -ldflags="-s -w" -o "$1" ./webhookserver/cmd/webhookserver
}

# json_number FIELD FILE: a top-level number of hack/loadtest's -json-file output ("throughput", "errors", ...).
json_number() { sed -n "s/^  \"$1\": \([0-9.eE+-]*\),\{0,1\}$/\1/p" "$2"; }

# lat GROUP FIELD FILE: a latency of that output, one level deeper ("latencyMs" or "scheduledLatencyMs", then
# "p50", "p99", "max").
lat() { sed -n "/\"$1\": {/,/}/s/^    \"$2\": \([0-9.eE+-]*\),\{0,1\}$/\1/p" "$3"; }

# need_wrk: installs Debian's wrk (the closed-loop load generator) when it is missing, as .ci/run installs
# redis-server: apt-get as root, else with sudo.
need_wrk() {
  command -v wrk >/dev/null && return 0
  echo "== installing wrk (apt-get)"
  local sudo=""
  [[ "$(id -u)" == 0 ]] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends wrk >/dev/null ||
    { $sudo apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends wrk >/dev/null; } ||
    { echo "could not install wrk (apt-get install wrk)" >&2; exit 1; }
}

# write_es_balance FILE: the Dialogflow ES GetAccountBalance WebhookRequest of the server benchmarks (account
# demo, 904 bytes once an id is in); wrk's script and hack/loadtest put a new id in place of {{id}} in each
# request, as Dialogflow sends a new responseId with every request.
write_es_balance() {
  cat >"$1" <<'JSON'
{"responseId":"8d1d2f6e-1b7a-4c1e-9a55-{{id}}","session":"projects/demo-proj/agent/sessions/sess-123","queryResult":{"queryText":"what is the balance of my demo account","action":"account.balance","parameters":{"account":"demo"},"allRequiredParamsPresent":true,"fulfillmentMessages":[{"text":{"text":[""]}}],"outputContexts":[{"name":"projects/demo-proj/agent/sessions/sess-123/contexts/balance-followup","lifespanCount":2,"parameters":{"account":"demo","account.original":"demo"}},{"name":"projects/demo-proj/agent/sessions/sess-123/contexts/__system_counters__","parameters":{"no-input":0,"no-match":0,"account":"demo","account.original":"demo"}}],"intent":{"name":"projects/demo-proj/agent/intents/0b1e2c3d-0000-0000-0000-000000000002","displayName":"GetAccountBalance"},"intentDetectionConfidence":0.93,"languageCode":"en"},"originalDetectIntentRequest":{"source":"DIALOGFLOW_CONSOLE","payload":{}}}
JSON
}

# wait_up NAME URL LOG: until URL answers (any HTTP status) or 15 s pass; else shows LOG and exits.
wait_up() {
  for _ in $(seq 150); do
    curl -sS -o /dev/null "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$1 did not start:" >&2; cat "$3" >&2; exit 1
}

# metric ADDR NAME LABEL_MATCH: the sum of a Prometheus series of a webhookserver's /metrics, over the lines
# whose labels contain LABEL_MATCH.
metric() {
  curl -fsS "http://$1/metrics" | awk -v name="$2" -v match_="$3" \
    'index($0, name "{") == 1 && index($0, match_) { n += $NF } END { printf "%d", n }'
}

# kib PID FIELD: VmRSS or VmHWM of a process, in KiB.
kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# median NUMBER...: their median (the mean of the middle two for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# whole_seconds DURATION: a duration such as 8s, 500ms or 1m in whole seconds, at least 1 (pprof's seconds=).
whole_seconds() {
  awk -v d="$1" 'BEGIN {
    n = d + 0; unit = substr(d, length(n "") + 1)
    s = (unit == "ms") ? n / 1000 : (unit == "m") ? n * 60 : (unit == "h") ? n * 3600 : n
    printf "%d", (s < 1 ? 1 : s)
  }'
}
