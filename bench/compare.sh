#!/usr/bin/env bash
# Runs the same `bayan loadtest` against Bayan and LiveKit v1.13.5, one
# server after the other in a network namespace, and prints each server's
# CPU over the steady part of the run, peak RSS, loss and p99 delay side by
# side, then the spread of LiveKit's CPU over Bayan's per scenario.
#
# Usage (root, from the repository): bench/compare.sh
# Environment (defaults in brackets):
#   NS [bayan-compare]  namespace, made with .ci/netns if missing
#   REPS [3]            comparisons per scenario; the order alternates
#   DURATION [36] RAMP [10]  seconds per run, ramp included / ramp
#   STUDENTS [100] PARTICIPANTS [30]  the class and the conference
#   LOADTEST_FLAGS []   more flags for every run, e.g. --red
#   WORK [/tmp/bayan-compare]  binaries, configs, reports, logs
#   LIVEKIT_BIN [$WORK/lkbin/server]  installed there if missing
set -euo pipefail

NS=${NS:-bayan-compare}
REPS=${REPS:-3}
DURATION=${DURATION:-36}
RAMP=${RAMP:-10}
STUDENTS=${STUDENTS:-100}
PARTICIPANTS=${PARTICIPANTS:-30}
LOADTEST_FLAGS=${LOADTEST_FLAGS:-}
WORK=${WORK:-/tmp/bayan-compare}
LIVEKIT_VERSION=v1.13.5
LIVEKIT_BIN=${LIVEKIT_BIN:-$WORK/lkbin/server}
IP=10.77.0.1 # the namespace's address (.ci/netns)
KEY=devkey
SECRET=compare-secret-compare-secret-compare-secret # LiveKit wants 32 characters or more
HZ=$(getconf CLK_TCK)

repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"

if (( DURATION - RAMP < 10 )); then
  echo "compare: DURATION must exceed RAMP by at least 10 s (steady part)" >&2
  exit 2
fi

# Build and install outside the namespace: it has no route to the module proxy.
echo "building bayan ($(git -C "$repo" rev-parse --short HEAD))" >&2
(cd "$repo" && go build -o "$WORK/bayan" ./cmd/bayan)
if [[ ! -x $LIVEKIT_BIN ]]; then
  echo "installing livekit-server $LIVEKIT_VERSION (a few minutes on 2 cores)" >&2
  GOBIN=$(dirname "$LIVEKIT_BIN") go install "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION"
fi
"$repo/.ci/netns" "$NS"

cat > "$WORK/livekit.yaml" <<YAML
port: 7880
bind_addresses: ["$IP"]
rtc:
  tcp_port: 7881
  udp_port: 7882
  use_external_ip: false
  node_ip: $IP
keys:
  $KEY: $SECRET
logging:
  level: warn
YAML

server_pid= tester_pid=
stop_all() {
  [[ -z $tester_pid ]] || kill "$tester_pid" 2>/dev/null || true
  stop_server
}
stop_server() {
  [[ -n $server_pid ]] || return 0
  kill "$server_pid" 2>/dev/null || true
  for _ in $(seq 50); do # up to 5 s, then SIGKILL
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# start_server name: starts it in the namespace, sets server_pid (ip netns
# exec execs the server, so the PID is the server's) and waits for its port.
start_server() {
  local log=$WORK/$1-$run.log
  case $1 in
    bayan)
      rm -rf "$WORK/bayan-data"
      ip netns exec "$NS" env BAYAN_KEYS="$KEY: $SECRET" "$WORK/bayan" serve \
        --bind "$IP" --node-ip "$IP" --log-level warn --data "$WORK/bayan-data" >"$log" 2>&1 &
      ;;
    livekit)
      ip netns exec "$NS" "$LIVEKIT_BIN" --config "$WORK/livekit.yaml" >"$log" 2>&1 &
      ;;
  esac
  server_pid=$!
  for _ in $(seq 100); do # up to 10 s
    if ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/$IP/7880" 2>/dev/null; then
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "compare: $1 did not start; see $log" >&2
  tail -5 "$log" >&2
  exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime
now() { date +%s.%N; }

# measure name scenario: one run; appends a line to $results.
measure() {
  local name=$1 scenario=$2 args
  case $scenario in
    class) args=(--students "$STUDENTS") ;;
    conference) args=(--participants "$PARTICIPANTS") ;;
  esac
  start_server "$name"
  local out=$WORK/$name-$run.json load0
  load0=$(cut -d' ' -f1 /proc/loadavg)
  # shellcheck disable=SC2086 # LOADTEST_FLAGS is a list of flags
  ip netns exec "$NS" "$WORK/bayan" loadtest "$scenario" --url "ws://$IP:7880" \
    --api-key "$KEY" --api-secret "$SECRET" --room "cmp-$run" --metrics-url "" \
    --duration "${DURATION}s" --ramp "${RAMP}s" --out "$out" "${args[@]}" $LOADTEST_FLAGS \
    >"$WORK/$name-$run.txt" 2>/dev/null &
  tester_pid=$!
  # The steady part: from 2 s after the ramp to 2 s before the end.
  sleep $((RAMP + 2))
  local c0 t0 c1 t1
  c0=$(cpu_ticks "$server_pid"); t0=$(now)
  sleep $((DURATION - RAMP - 4))
  c1=$(cpu_ticks "$server_pid"); t1=$(now)
  local hwm
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status")
  wait "$tester_pid" || echo "compare: $name $scenario: the load tester reported a failure (see $WORK/$name-$run.txt)" >&2
  tester_pid=
  stop_server
  # Delivered media, Mbit/s received by all subscribers over the same
  # steady part: a server that forwards less (lower layers, paused video)
  # has less to do.
  local joined failed loss p99 mbps
  read -r joined failed loss p99 < <(jq -r '"\(.participants) \(.failed) \(.loss_percent) \(.delay_ms.p99)"' "$out")
  mbps=$(jq -r --argjson a $((RAMP + 2)) --argjson b $((DURATION - 2)) \
    '[.timeline[] | select(.t >= $a and .t <= $b) | .mbps_in] | if length > 0 then add / length else 0 end' "$out")
  awk -v n="$name" -v s="$scenario" -v r="$rep" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$HZ" \
    -v hwm="$hwm" -v j="$joined" -v f="$failed" -v loss="$loss" -v p99="$p99" -v l0="$load0" \
    -v l1="$(cut -d' ' -f1 /proc/loadavg)" -v mbps="$mbps" \
    'BEGIN { printf "%s %s %s %.3f %.1f %s/%s %.3f %.1f %s/%s %.1f\n", s, r, n, (c1-c0)/hz/(t1-t0), hwm/1024, j, j+f, loss, p99, l0, l1, mbps }' \
    | tee -a "$results"
}

results=$WORK/results.txt
: >"$results"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "scenario rep server cpu_cores peak_rss_MiB joined loss_% p99_ms load_before/after received_Mbps"
run=0
for rep in $(seq "$REPS"); do
  for scenario in class conference; do
    if (( rep % 2 )); then order=(bayan livekit); else order=(livekit bayan); fi
    for name in "${order[@]}"; do
      run=$((run + 1))
      measure "$name" "$scenario"
    done
  done
done

echo
echo "side by side (Bayan | LiveKit), LiveKit CPU / Bayan CPU, and the same per Mbit/s delivered:"
awk '{ print $1, $2 }' "$results" | sort -u -k1,1 -k2,2n | while read -r scenario rep; do
  b=$(awk -v s="$scenario" -v r="$rep" '$1 == s && $2 == r && $3 == "bayan"' "$results")
  l=$(awk -v s="$scenario" -v r="$rep" '$1 == s && $2 == r && $3 == "livekit"' "$results")
  awk -v b="$b" -v l="$l" 'BEGIN {
    split(b, x); split(l, y)
    per = (x[4] > 0 && y[10] > 0) ? (y[4] / y[10]) / (x[4] / x[10]) : 0
    printf "%-10s #%s  cpu %.3f | %.3f  rss %.0f | %.0f MiB  loss %s | %s %%  p99 %s | %s ms  Mbit/s %s | %s  per_Mbps %.2f  ratio %.2f\n",
      x[1], x[2], x[4], y[4], x[5], y[5], x[7], y[7], x[8], y[8], x[10], y[10], per, (x[4] > 0 ? y[4] / x[4] : 0)
  }'
done | tee "$WORK/side-by-side.txt"

echo
# spread scenario field label: min, median and max of a side-by-side column.
spread() {
  awk -v s="$1" -v f="$2" '$1 == s { print $(NF - f) }' "$WORK/side-by-side.txt" | sort -n | awk -v s="$1" -v l="$3" '
    { r[NR] = $1 }
    END {
      if (NR == 0) exit
      med = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
      printf "%s: %s over %d runs: min %.2f  median %.2f  max %.2f\n", s, l, NR, r[1], med, r[NR]
    }'
}
for scenario in class conference; do
  spread "$scenario" 0 "LiveKit CPU / Bayan CPU"
  spread "$scenario" 2 "the same per Mbit/s delivered"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
