#!/usr/bin/env bash
# The WebSocket benchmark: easegress-rs (HTTPServer -> Pipeline -> WebSocketProxy) against
# NGINX (proxy_pass with Upgrade/Connection set), both relaying to the same WebSocket echo
# upstream on loopback.
#
# 1. Echo rounds: SOCKETS sockets each send a binary message of SIZE bytes and wait for its
#    echo, again and again, for DURATION seconds (after WARMUP unmeasured ones); messages per
#    second, the p99 round trip and the proxy's CPU time per message (user + system, from
#    /proc/PID/stat over the measured seconds; NGINX master + worker). Targets are
#    interleaved (nginx, eg, nginx, eg, ...) in ROUNDS rounds per size; the report gives the
#    median of each and eg/nginx.
# 2. Idle sockets: IDLE sockets opened through each proxy and held; the proxy's resident
#    memory (VmRSS; NGINX master + worker) before and while they are open.
#
# Pinning as in ../shared/bench/proxy-bench.sh: the proxy under test and the upstream on
# PROXY_CPU/UPSTREAM_CPU, the load generator on LOAD_CPU. easegress-rs runs one worker
# thread (like NGINX's one worker) unless EG_WORKER_THREADS says otherwise.
#
# Environment (all optional):
#   TARGET_DIR      where the release binaries are   $CARGO_TARGET_DIR or <repo>/target
#   EG_BIN          the server binary                $TARGET_DIR/release/easegress-server
#   SIZES           message sizes in bytes           "64 16384"
#   SOCKETS         sockets of the echo rounds       100
#   ROUNDS          rounds per size                  3
#   DURATION        measured seconds per run         5
#   WARMUP          unmeasured seconds per run       1
#   IDLE            idle sockets for the RSS figure  10000 (0: skip)
#   PROXY_CPU, UPSTREAM_CPU, LOAD_CPU                0, 0, 1
#   EG_WORKER_THREADS                                1
#   OUT             results directory                bench/out/ws-<UTC time>
#
# Build first: cargo build --release -p easegress-server -p eg-testkit --bins
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
TARGET_DIR=${TARGET_DIR:-${CARGO_TARGET_DIR:-$repo/target}}
EG_BIN=${EG_BIN:-$TARGET_DIR/release/easegress-server}
WSLOAD=$TARGET_DIR/release/wsload
WSECHO=$TARGET_DIR/release/wsecho
SIZES=${SIZES:-64 16384}
SOCKETS=${SOCKETS:-100}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
IDLE=${IDLE:-10000}
PROXY_CPU=${PROXY_CPU:-0}
UPSTREAM_CPU=${UPSTREAM_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
EG_WORKER_THREADS=${EG_WORKER_THREADS:-1}
OUT=${OUT:-$here/out/ws-$(date -u +%Y%m%dT%H%M%SZ)}

for b in "$EG_BIN" "$WSLOAD" "$WSECHO"; do
  [[ -x $b ]] || { echo "websocket.sh: $b missing (cargo build --release -p easegress-server -p eg-testkit --bins)" >&2; exit 1; }
done
if ! command -v nginx >/dev/null 2>&1; then
  echo "websocket.sh: installing nginx with apt-get"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx
fi

# 10,000 sockets through a proxy are 20,000 descriptors in it: raise the limit, and hold
# fewer idle sockets when the hard limit does not allow that many.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
max_idle=$(( (NOFILE - 200) / 2 ))
if (( IDLE > max_idle )); then
  echo "websocket.sh: open files limit $NOFILE: holding $max_idle idle sockets instead of $IDLE"
  IDLE=$max_idle
fi
mkdir -p "$OUT"
tmp=$(mktemp -d /tmp/ws-bench.XXXXXX)
chmod 755 "$tmp"
declare -A PIDS=()

stop() {                              # stop one process group this script started
  local pid=${PIDS[$1]:-}
  [[ -n $pid ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 30); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PIDS[$1]"
}
cleanup() {
  trap - EXIT INT TERM
  for n in "${!PIDS[@]}"; do stop "$n"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {                             # start NAME CPU CMD...: own session, pinned
  local name=$1 cpu=$2; shift 2
  setsid taskset -c "$cpu" "$@" >"$tmp/$name.log" 2>&1 </dev/null &
  PIDS[$name]=$!
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_port() {                         # wait_port PORT NAME
  for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "websocket.sh: $2 did not listen on $1" >&2; cat "$tmp/$2.log" >&2; exit 1
}

proc_sum() {                          # proc_sum FILE PROGRAM PID...: PROGRAM's number
  local file=$1 program=$2 sum=0 p v  # from /proc/PID/FILE (awk), summed over the PIDs
  shift 2
  for p in "$@"; do
    v=$(awk "$program" "/proc/$p/$file" 2>/dev/null || echo 0)
    sum=$(( sum + ${v:-0} ))
  done
  echo "$sum"
}
rss_kb() { proc_sum status '/^VmRSS:/ {print $2}' "$@"; }        # summed VmRSS, KiB
cpu_ticks() { proc_sum stat '{print $14 + $15}' "$@"; }          # user + system, ticks

up_port=$(free_port)
start upstream "$UPSTREAM_CPU" "$WSECHO" "$up_port"
wait_port "$up_port" upstream

# NGINX: one worker, no access log, the documented WebSocket settings.
ngx_port=$(free_port)
cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 30000; }
http {
  access_log off;
  upstream echo { server 127.0.0.1:$up_port; keepalive 64; }
  server {
    listen 127.0.0.1:$ngx_port;
    location / {
      proxy_pass http://echo;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host \$host;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }
  }
}
EOF
start nginx "$PROXY_CPU" nginx -p "$tmp" -c "$tmp/nginx.conf" -g 'daemon off;'
wait_port "$ngx_port" nginx

# easegress-rs: HTTPServer -> Pipeline -> WebSocketProxy.
eg_port=$(free_port)
api_port=$(free_port)
mkdir -p "$tmp/eg/home" "$tmp/eg/data" "$tmp/eg/logs"
# shellcheck source=objects.sh
source "$here/objects.sh"
objects=$(write_ws_objects "$tmp/eg" "$up_port" "$eg_port")
eg_args=(--name ws-bench --home-dir "$tmp/eg/home" --data-dir "$tmp/eg/data" --log-dir "$tmp/eg/logs"
  --api-addr "127.0.0.1:$api_port" --disable-access
  --initial-object-config-files "$objects")
[[ $EG_WORKER_THREADS == default ]] || eg_args+=(--worker-threads "$EG_WORKER_THREADS")
start eg "$PROXY_CPU" "$EG_BIN" "${eg_args[@]}"
wait_port "$eg_port" eg

declare -A URL=([nginx]="ws://127.0.0.1:$ngx_port/echo" [eg]="ws://127.0.0.1:$eg_port/echo")
nginx_pids() { pgrep -d ' ' -g "${PIDS[nginx]}" || true; }

hz=$(getconf CLK_TCK)

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

results=$OUT/results.tsv
printf 'size\tround\ttarget\tmsgs_per_sec\tp50_us\tp99_us\terrors\tcpu_us_per_msg\n' >"$results"
for size in $SIZES; do
  for r in $(seq "$ROUNDS"); do
    for t in nginx eg; do
      if [[ $t == nginx ]]; then pids=$(nginx_pids); else pids=${PIDS[eg]}; fi
      # The proxy's CPU time over the measured seconds: read once the warm-up is over
      # (wsload measures from then) and again when it has printed.
      # shellcheck disable=SC2086
      ( sleep "$WARMUP"; cpu_ticks $pids >"$tmp/ticks" ) &
      ticker=$!
      line=$(timeout $(( DURATION + WARMUP + 60 )) taskset -c "$LOAD_CPU" \
        "$WSLOAD" echo "${URL[$t]}" "$SOCKETS" "$size" "$DURATION" "$WARMUP")
      echo "size=$size round=$r $t: $line"
      mps=$(sed -E 's/.*msgs_per_sec=([0-9]+).*/\1/' <<<"$line")
      p50=$(sed -E 's/.*p50_us=([0-9]+).*/\1/' <<<"$line")
      p99=$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$line")
      err=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")
      # shellcheck disable=SC2086
      after=$(cpu_ticks $pids)
      wait "$ticker"
      cpu=$(awk -v a="$after" -v b="$(cat "$tmp/ticks")" -v hz="$hz" -v m="$mps" -v d="$DURATION" \
        'BEGIN {if (m > 0) printf "%.1f", (a - b) * 1e6 / hz / (m * d); else print "-"}')
      echo "  cpu_us_per_msg=$cpu"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$r" "$t" "$mps" "$p50" "$p99" "$err" "$cpu" >>"$results"
      sleep 1
    done
  done
done

{
  echo
  echo "Echo over $SOCKETS sockets, median of $ROUNDS interleaved rounds ($DURATION s each):"
  printf '%-8s %14s %14s %10s %10s %10s %14s %11s\n' size nginx_msg/s eg_msg/s ratio nginx_p99 eg_p99 nginx_cpu_us eg_cpu_us
  for size in $SIZES; do
    n=$(awk -F'\t' -v s="$size" '$1==s && $3=="nginx" {print $4}' "$results" | median)
    e=$(awk -F'\t' -v s="$size" '$1==s && $3=="eg" {print $4}' "$results" | median)
    np=$(awk -F'\t' -v s="$size" '$1==s && $3=="nginx" {print $6}' "$results" | median)
    ep=$(awk -F'\t' -v s="$size" '$1==s && $3=="eg" {print $6}' "$results" | median)
    nc=$(awk -F'\t' -v s="$size" '$1==s && $3=="nginx" {print $8}' "$results" | median)
    ec=$(awk -F'\t' -v s="$size" '$1==s && $3=="eg" {print $8}' "$results" | median)
    ratio=$(awk -v e="$e" -v n="$n" 'BEGIN {if (n>0) printf "%.2f", e/n; else print "-"}')
    printf '%-8s %14s %14s %10s %9sus %9sus %14s %11s\n' "$size" "$n" "$e" "$ratio" "$np" "$ep" "$nc" "$ec"
  done
} | tee "$OUT/summary.txt"

if (( IDLE > 0 )); then
  {
    echo
    echo "Resident memory with $IDLE idle sockets open (KiB):"
    printf '%-8s %12s %12s %14s\n' target before with_idle per_socket_B
  } | tee -a "$OUT/summary.txt"
  for t in nginx eg; do
    if [[ $t == nginx ]]; then pids=$(nginx_pids); else pids=${PIDS[eg]}; fi
    # shellcheck disable=SC2086
    before=$(rss_kb $pids)
    fifo=$tmp/idle-$t
    mkfifo "$fifo"
    hold=$(( 120 + IDLE / 200 ))
    taskset -c "$LOAD_CPU" "$WSLOAD" idle "${URL[$t]}" "$IDLE" "$hold" >"$fifo" &
    load=$!
    read -r opened <"$fifo"
    # shellcheck disable=SC2086
    with=$(rss_kb $pids)
    per=$(( (with - before) * 1024 / IDLE ))
    printf '%-8s %12s %12s %14s   (%s)\n' "$t" "$before" "$with" "$per" "$opened" | tee -a "$OUT/summary.txt"
    kill "$load" 2>/dev/null || true
    wait "$load" 2>/dev/null || true
    rm -f "$fifo"
    sleep 2
  done
fi
echo "results in $OUT"
