#!/usr/bin/env bash
# Refreshes pgo/easegress-server.profdata, the profile `make` optimises the server with:
#
#   1. builds an instrumented easegress-server (its own target dir, target/pgo-generate);
#   2. runs it through the proxy workloads below, each in a server process of its own, with
#      wrk and an NGINX upstream on loopback (bench/candidate.sh's setup), then WebSocket and
#      gRPC traffic with eg-testkit's load tools (built in target/pgo-tools);
#   3. merges the counts (llvm-profdata of rustc's LLVM version, `--sparse`: code the
#      workloads never ran keeps the compiler's ordinary optimisation rather than being
#      treated as cold) and records that LLVM version beside the profile.
#
#   bash pgo/train.sh          # or: make pgo-profile
#
# Environment: SECONDS_EACH (wrk seconds per workload, 4), PGO_BIN (an instrumented server
# already built: skips step 1), KEEP_TMP (1: keep the temp dir).
# Needs wrk, h2load, nginx, openssl, curl, python3 and llvm-profdata-<rustc's LLVM major>;
# installs them with apt-get when missing (Debian packages wrk, nghttp2-client, nginx,
# openssl, llvm-<N>). Run it after changing code on the request path: functions whose
# code changed since the profile was taken are optimised without it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${SECONDS_EACH:-4}
llvm=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
[[ -n $llvm ]] || { echo "pgo: cannot read rustc's LLVM version" >&2; exit 1; }
profdata=llvm-profdata-$llvm

missing=()
for b in wrk:wrk nginx:nginx curl:curl openssl:openssl h2load:nghttp2-client "$profdata:llvm-$llvm"; do
  command -v "${b%%:*}" >/dev/null || missing+=("${b#*:}")
done
if ((${#missing[@]})); then
  echo "pgo: installing ${missing[*]} with apt-get"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/eg-pgo.XXXXXX")
chmod 755 "$tmp" # NGINX workers may run as another user
server_pid=""
helper_pids=()
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  [[ -f $tmp/upstream.pid ]] && kill "$(cat "$tmp/upstream.pid")" 2>/dev/null || true
  for p in "${helper_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ ${KEEP_TMP:-0} == 1 ]] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

# 1. The instrumented build (unless PGO_BIN names one already built), invoked as `make`'s
# release build is, so that every symbol is named alike in both: the same packages (their
# features unify), and no `--target` (cargo hashes it into `-C metadata`). Build scripts and
# proc macros are instrumented too and leave their counts in $gen/profiles, which is not
# merged. The flags stay the same from run to run, so a rebuild is incremental;
# LLVM_PROFILE_FILE below says where each run's counts go.
raw=$tmp/raw
mkdir -p "$raw"
bin=${PGO_BIN:-}
if [[ -z $bin ]]; then
  gen=$root/target/pgo-generate
  echo "pgo: building the instrumented server (release profile, $gen)"
  (cd "$root" && RUSTFLAGS="-Cprofile-generate=$gen/profiles" CARGO_TARGET_DIR="$gen" \
    cargo build --release -p easegress-server -p egctl -p egbuilder)
  bin=$gen/release/easegress-server
fi

# 2. The workloads. The upstream serves a small and a large answer.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
up_port=$(free_port)
mkdir -p "$tmp/www"
chmod 755 "$tmp/www"
head -c 64 /dev/zero | tr '\0' 'x' >"$tmp/www/small"
head -c 16384 /dev/zero | tr '\0' 'x' >"$tmp/www/large"
# shellcheck source=../bench/nginx.sh
source "$root/bench/nginx.sh"
# POSTs get the small answer too (NGINX answers 405 to a POST for a file).
write_upstream_conf "$tmp" "$up_port" on \
  "location = /large { } location / { try_files /small =404; } error_page 405 =200 /small;"
nginx -c "$tmp/upstream.conf" -p "$tmp"

cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = string.rep("p", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
LUA

# The certificate of the TLS workloads (ECDSA P-256, what bench/tls.sh serves by default).
write_test_cert "$tmp"

# One server process per workload: its profile is written when it exits on SIGTERM.
# Arguments: a name, then the environment for candidate.sh (with EG_TLS_CERT the listener
# speaks TLS and the runs use https); the runs follow on stdin as "connections path [how]"
# lines, where `how` is a wrk script in $tmp, `close` (wrk with `Connection: close`: a TLS
# handshake per request) or `h2` (h2load, HTTP/2 with 10 streams on each connection). The
# server is ready when the first run's path answers 200.
workload() {
  local name=$1
  shift
  local port runs first scheme=http
  [[ " $* " == *" EG_TLS_CERT="* ]] && scheme=https
  port=$(free_port)
  runs=$(cat)
  first=$(awk 'NR == 1 {print $2}' <<<"$runs")
  env "$@" UPSTREAM_PORT="$up_port" CANDIDATE_PORT="$port" EG_BIN="$bin" EG_BENCH_TMP="$tmp" \
    LLVM_PROFILE_FILE="$raw/$name-%p.profraw" bash "$root/bench/candidate.sh" >"$tmp/$name.out" 2>&1 &
  server_pid=$!
  local i ready=0
  for ((i = 0; i < 300; i++)); do
    [[ $(curl -sk -o /dev/null -w '%{http_code}' "$scheme://127.0.0.1:$port$first" 2>/dev/null) == 200 ]] && { ready=1; break; }
    sleep 0.1
  done
  if ((!ready)); then
    echo "pgo: $name: the server did not answer 200 to $first on port $port within 30 s:" >&2
    tail -n 20 "$tmp/$name.out" >&2
    # The server's own log, in the newest of candidate.sh's directories.
    local log
    log=$(ls -td "$tmp"/eg-candidate.*/logs 2>/dev/null | head -1)
    [[ -n $log ]] && grep -h -E "ERROR|WARN" "$log"/* 2>/dev/null | tail -n 5 >&2
    exit 1
  fi
  local conns path how url
  while read -r conns path how; do
    echo "pgo: $name: $conns connections, $scheme $path${how:+ ($how)}"
    url=$scheme://127.0.0.1:$port$path
    case $how in
      h2)
        h2load -t1 -c"$conns" -m10 -D"$secs" "$url" >"$tmp/load.out" 2>&1
        # h2load counts answers by class: every one must be a 2xx, over HTTP/2.
        if ! grep -qi "application protocol: h2" "$tmp/load.out" ||
          ! grep -Eq "status codes: [1-9][0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx" "$tmp/load.out"; then
          echo "pgo: $name: not all answers were 2xx over HTTP/2; the workload is not the one intended" >&2
          cat "$tmp/load.out" >&2
          exit 1
        fi
        continue
        ;;
      close) wrk -t1 -c"$conns" -d"${secs}s" -H "Connection: close" "$url" >"$tmp/load.out" 2>&1 ;;
      "") wrk -t1 -c"$conns" -d"${secs}s" "$url" >"$tmp/load.out" 2>&1 ;;
      *) wrk -t1 -c"$conns" -d"${secs}s" -s "$tmp/$how" "$url" >"$tmp/load.out" 2>&1 ;;
    esac
    if grep -q "Non-2xx" "$tmp/load.out"; then
      echo "pgo: $name: answers other than 2xx; the workload is not the one intended" >&2
      cat "$tmp/load.out" >&2
      exit 1
    fi
  done <<<"$runs"
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
}

workload plain EG_WORKER_THREADS=1 <<RUNS
50 /
200 /
50 /large
50 / post.lua
RUNS
workload as-users EG_WORKER_THREADS=0 EG_ACCESS_LOG=1 <<RUNS
50 /
200 /large
RUNS
workload adaptor EG_WORKER_THREADS=1 EG_REQUEST_ADAPTOR=1 <<RUNS
50 /
RUNS
# bench/pipeline-overhead.sh's pipeline: RequestAdaptor, Validator, RateLimiter and
# HeaderCounter before the Proxy.
workload pipeline EG_WORKER_THREADS=1 EG_FILTERS_FILE="$root/bench/pipeline-filters.yaml" <<RUNS
50 /
RUNS
# Both routers over 1,000 exact paths (bench/route-scale.sh's shape), the last one asked for.
bash "$root/bench/path-rules.sh" 1000 >"$tmp/routes.yaml"
workload routes-ordered EG_WORKER_THREADS=1 EG_RULES_FILE="$tmp/routes.yaml" <<RUNS
50 /svc/999/items
RUNS
workload routes-radix-tree EG_WORKER_THREADS=1 EG_RULES_FILE="$tmp/routes.yaml" \
  EG_SERVER_YAML="routerKind: RadixTree" <<RUNS
50 /svc/999/items
RUNS

# TLS 1.3 on the listener: HTTP/1.1 on open connections, a handshake per request, and
# HTTP/2 (bench/tls.sh's modes).
workload tls EG_WORKER_THREADS=1 EG_TLS_CERT="$tmp/cert.pem" EG_TLS_KEY="$tmp/key.pem" <<RUNS
50 /
50 /large
50 / close
50 / h2
RUNS

# Protocols the proxy workloads above do not carry, each through its own kind of object:
# WebSocket (HTTPServer -> WebSocketProxy, relaying to eg-testkit's echo upstream, driven by
# its wsload) and unary gRPC (GRPCServer -> GRPCProxy, calling grpc-load's test service),
# the setups of bench/websocket.sh and bench/grpc.sh. The tools are built without
# instrumentation in a target dir of their own.
tools=$root/target/pgo-tools
echo "pgo: building the WebSocket and gRPC load tools ($tools)"
(cd "$root" && env -u RUSTFLAGS CARGO_TARGET_DIR="$tools" cargo build --release -q -p eg-testkit --bins)
tools=$tools/release

# serve_objects NAME PORT FILES: the instrumented server with these objects (FILES: their
# files, comma-separated), one worker thread, access log off, until PORT accepts
# connections.
serve_objects() {
  local name=$1 port=$2 files=$3
  mkdir -p "$tmp/$name/home" "$tmp/$name/data" "$tmp/$name/logs"
  LLVM_PROFILE_FILE="$raw/$name-%p.profraw" "$bin" --name "pgo-$name" \
    --home-dir "$tmp/$name/home" --data-dir "$tmp/$name/data" --log-dir "$tmp/$name/logs" \
    --api-addr "127.0.0.1:$(free_port)" --disable-access --worker-threads 1 \
    --initial-object-config-files "$files" >"$tmp/$name.out" 2>&1 &
  server_pid=$!
  wait_listening "$port" "$name" "$tmp/$name.out"
}

# wait_listening PORT NAME LOG: until PORT accepts a connection (30 s at most).
wait_listening() {
  local i
  for ((i = 0; i < 300; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "pgo: $2 did not listen on port $1 within 30 s:" >&2
  tail -n 20 "$3" >&2
  exit 1
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
}

ws_up=$(free_port)
"$tools/wsecho" "$ws_up" >"$tmp/wsecho.out" 2>&1 &
helper_pids+=($!)
wait_listening "$ws_up" wsecho "$tmp/wsecho.out"
ws_port=$(free_port)
# shellcheck source=../bench/objects.sh
source "$root/bench/objects.sh"
serve_objects websocket "$ws_port" "$(write_ws_objects "$tmp" "$ws_up" "$ws_port")"
for size in 64 16384; do
  echo "pgo: websocket: 50 sockets, echoes of $size B"
  out=$("$tools/wsload" echo "ws://127.0.0.1:$ws_port/echo" 50 "$size" "$secs" 0)
  # Every echo must come back, and some must have.
  if [[ $out != *" errors=0"* || $out == "msgs_per_sec=0 "* ]]; then
    echo "pgo: websocket: not every message was echoed: $out" >&2
    exit 1
  fi
done
stop_server

grpc_up=$(free_port)
"$tools/grpc-load" upstream "$grpc_up" >"$tmp/grpc-upstream.out" 2>&1 &
helper_pids+=($!)
wait_listening "$grpc_up" grpc-upstream "$tmp/grpc-upstream.out"
grpc_port=$(free_port)
serve_objects grpc "$grpc_port" "$(write_grpc_objects "$tmp" "$grpc_up" "$grpc_port")"
for callers in 16 64; do
  echo "pgo: grpc: $callers callers, unary calls"
  # Prints "calls/s p50_us p99_us errors".
  read -r calls _ _ errors < <("$tools/grpc-load" run "127.0.0.1:$grpc_port" "$callers" "$secs")
  if [[ ${errors:-x} != 0 || ${calls%%.*} == 0 ]]; then
    echo "pgo: grpc: calls failed (calls/s ${calls:-none}, errors ${errors:-none})" >&2
    exit 1
  fi
done
stop_server

# 3. Merge.
shopt -s nullglob
profiles=("$raw"/*.profraw)
((${#profiles[@]})) || { echo "pgo: no profile was written (did the server exit cleanly?)" >&2; exit 1; }
"$profdata" merge --sparse -o "$here/easegress-server.profdata" "${profiles[@]}"
echo "$llvm" >"$here/llvm-version"
echo "pgo: wrote pgo/easegress-server.profdata ($(du -k "$here/easegress-server.profdata" | cut -f1) KiB, LLVM $llvm) from ${#profiles[@]} runs"
