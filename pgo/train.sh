#!/usr/bin/env bash
# Refreshes pgo/easegress-server.profdata, the profile `make` optimises the server with:
#
#   1. builds an instrumented easegress-server (its own target dir, target/pgo-generate);
#   2. runs it through the proxy workloads below, each in a server process of its own, with
#      wrk and an NGINX upstream on loopback (bench/candidate.sh's setup);
#   3. merges the counts (llvm-profdata of rustc's LLVM version, `--sparse`: code the
#      workloads never ran keeps the compiler's ordinary optimisation rather than being
#      treated as cold) and records that LLVM version beside the profile.
#
#   bash pgo/train.sh          # or: make pgo-profile
#
# Environment: SECONDS_EACH (wrk seconds per workload, 4), PGO_BIN (an instrumented server
# already built: skips step 1), KEEP_TMP (1: keep the temp dir).
# Needs wrk, nginx, curl, python3 and llvm-profdata-<rustc's LLVM major>; installs them with
# apt-get when missing (Debian packages wrk, nginx, llvm-<N>). Run it after changing code
# on the request path: functions whose code changed since the profile was taken are
# optimised without it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${SECONDS_EACH:-4}
llvm=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
[[ -n $llvm ]] || { echo "pgo: cannot read rustc's LLVM version" >&2; exit 1; }
profdata=llvm-profdata-$llvm

missing=()
for b in wrk:wrk nginx:nginx curl:curl "$profdata:llvm-$llvm"; do
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
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  [[ -f $tmp/upstream.pid ]] && kill "$(cat "$tmp/upstream.pid")" 2>/dev/null || true
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

# One server process per workload: its profile is written when it exits on SIGTERM.
# Arguments: a name, then the environment for candidate.sh; the wrk runs follow on stdin
# as "connections path [script]" lines. The server is ready when the first run's path
# answers 200.
workload() {
  local name=$1
  shift
  local port runs first
  port=$(free_port)
  runs=$(cat)
  first=$(awk 'NR == 1 {print $2}' <<<"$runs")
  env "$@" UPSTREAM_PORT="$up_port" CANDIDATE_PORT="$port" EG_BIN="$bin" EG_BENCH_TMP="$tmp" \
    LLVM_PROFILE_FILE="$raw/$name-%p.profraw" bash "$root/bench/candidate.sh" >"$tmp/$name.out" 2>&1 &
  server_pid=$!
  local i ready=0
  for ((i = 0; i < 300; i++)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$first" 2>/dev/null) == 200 ]] && { ready=1; break; }
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
  local conns path script
  while read -r conns path script; do
    echo "pgo: $name: $conns connections, $path${script:+ ($script)}"
    wrk -t1 -c"$conns" -d"${secs}s" ${script:+-s "$tmp/$script"} "http://127.0.0.1:$port$path" >"$tmp/wrk.out" 2>&1
    if grep -q "Non-2xx" "$tmp/wrk.out"; then
      echo "pgo: $name: answers other than 2xx; the workload is not the one intended" >&2
      cat "$tmp/wrk.out" >&2
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

# 3. Merge.
shopt -s nullglob
profiles=("$raw"/*.profraw)
((${#profiles[@]})) || { echo "pgo: no profile was written (did the server exit cleanly?)" >&2; exit 1; }
"$profdata" merge --sparse -o "$here/easegress-server.profdata" "${profiles[@]}"
echo "$llvm" >"$here/llvm-version"
echo "pgo: wrote pgo/easegress-server.profdata ($(du -k "$here/easegress-server.profdata" | cut -f1) KiB, LLVM $llvm) from ${#profiles[@]} runs"
