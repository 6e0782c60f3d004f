#!/usr/bin/env bash
# Unary gRPC calls per second and p99 latency through GRPCServer -> Pipeline -> GRPCProxy,
# against calling the same test service directly, in the same run, at several concurrency
# levels. The ratio gateway/direct is the overhead; the gateway's CPU time per call (user +
# system from /proc/PID/stat, median of the rounds) is its cost without the noise of the
# other processes sharing the CPUs.
#
# Environment:
#   CONCURRENCY   concurrent callers, one run each          "1 16 64"
#   DURATION      seconds per measurement                    5
#   ROUNDS        interleaved direct/gateway rounds          2
#   EG_WORKER_THREADS  the server's --worker-threads         default (one per CPU)
#   EG_BIN        the server binary           $CARGO_TARGET_DIR/release/easegress-server
#
# Builds bin/easegress-server and the load tool (grpc-load, release) first unless
# NO_BUILD=1. Results: bench/out/grpc-<time>.txt and stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
concurrency=${CONCURRENCY:-"1 16 64"}
duration=${DURATION:-5}
rounds=${ROUNDS:-2}

if [[ ${NO_BUILD:-0} != 1 ]]; then
  (cd "$repo" && cargo build --release -p easegress-server -p eg-testkit --bins)
fi
server_bin=${EG_BIN:-$target/release/easegress-server}
load=$target/release/grpc-load

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/eg-grpc-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
mkdir -p "$dir/home" "$dir/data" "$dir/logs" "$here/out"

up_port=$(free_port)
gw_port=$(free_port)
api_port=$(free_port)

"$load" upstream "$up_port" &
pids+=($!)

# shellcheck source=objects.sh
source "$here/objects.sh"
objects=$(write_grpc_objects "$dir" "$up_port" "$gw_port")

args=(--name grpc-bench --home-dir "$dir/home" --data-dir "$dir/data" --log-dir "$dir/logs"
      --api-addr "127.0.0.1:$api_port" --disable-access
      --initial-object-config-files "$objects")
case ${EG_WORKER_THREADS:-default} in
  0 | default | "") ;;
  *) args+=(--worker-threads "$EG_WORKER_THREADS") ;;
esac
"$server_bin" "${args[@]}" >"$dir/server.out" 2>&1 &
server_pid=$!
pids+=("$server_pid")
# The server's CPU time so far (user + system), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
hz=$(getconf CLK_TCK)

# Ready when a call through the gateway succeeds.
for _ in $(seq 1 100); do
  if out=$("$load" run "127.0.0.1:$gw_port" 1 1 2>/dev/null) && [[ $(awk '{print $4}' <<<"$out") == 0 ]]; then
    break
  fi
  sleep 0.2
done

result=$here/out/grpc-$(date +%Y%m%d-%H%M%S).txt
{
  echo "# unary calls: target concurrency round calls/s p50_us p99_us errors gateway_cpu_us_per_call"
  for c in $concurrency; do
    for r in $(seq 1 "$rounds"); do
      for t in direct gateway; do
        port=$up_port
        [[ $t == gateway ]] && port=$gw_port
        before=$(cpu_ticks)
        out=$("$load" run "127.0.0.1:$port" "$c" "$duration")
        after=$(cpu_ticks)
        cpu=-
        if [[ $t == gateway ]]; then
          cpu=$(awk -v a="$after" -v b="$before" -v hz="$hz" -v r="${out%% *}" -v d="$duration" \
            'BEGIN {if (r > 0) printf "%.1f", (a - b) * 1e6 / hz / (r * d); else print "-"}')
        fi
        echo "$t $c $r $out $cpu"
      done
    done
  done
} | tee "$result"

python3 - "$result" <<'PY'
import sys, collections
rows = [l.split() for l in open(sys.argv[1]) if not l.startswith("#")]
agg = collections.defaultdict(list)
cpu = collections.defaultdict(list)
for t, c, _r, rps, p50, p99, err, us in rows:
    agg[(t, int(c))].append((float(rps), int(p99)))
    if us != "-":
        cpu[int(c)].append(float(us))
print("\nconcurrency  direct calls/s  gateway calls/s  ratio  direct p99 us  gateway p99 us  gateway CPU us/call")
for c in sorted({c for _, c in agg}):
    d = agg[("direct", c)]; g = agg[("gateway", c)]
    drps = max(x for x, _ in d); grps = max(x for x, _ in g)
    dp99 = min(y for _, y in d); gp99 = min(y for _, y in g)
    us = sorted(cpu[c])
    med = f"{us[len(us) // 2]:.1f}" if us else "-"
    print(f"{c:>11}  {drps:>14.0f}  {grps:>15.0f}  {grps/drps:>5.2f}  {dp99:>13}  {gp99:>14}  {med:>19}")
PY
