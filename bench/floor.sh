#!/usr/bin/env bash
# How far the request path is from the floor: the shared yardstick run with easegress-server
# (one worker thread, access log off) and with bench/floor-proxy, a program that only
# forwards HTTP/1.1 bytes (no routing, filters, metrics or header rewriting), once on epoll
# (tokio) and once on io_uring (monoio). Each candidate gets its own yardstick run with
# NGINX in it, so every figure is a ratio to NGINX measured beside it.
#
#   bash bench/floor.sh
#   CANDIDATES="floor-epoll floor-io_uring" BODY=64 CONNS=50 ROUNDS=5 bash bench/floor.sh
#
# Environment: CANDIDATES ("eg-1t floor-epoll floor-io_uring"), BODY ("64 16k"), CONNS
# ("50 200"), ROUNDS (3), DURATION (5), WARMUP (2), SHARED (<repo>/../shared), OUT
# (bench/out/floor-<UTC time>), and any other proxy-bench.sh variable. Needs cargo (the
# floor proxy is built on first use into target/bench-floor), wrk and nginx.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
SHARED=${SHARED:-$repo/../shared}
harness=$SHARED/bench/proxy-bench.sh
[[ -f $harness ]] || { echo "floor: $harness not found (set SHARED=...)" >&2; exit 1; }
CANDIDATES=${CANDIDATES:-eg-1t floor-epoll floor-io_uring}
OUT=${OUT:-$here/out/floor-$(date -u +%Y%m%dT%H%M%SZ)}
export BODY=${BODY:-64 16k} CONNS=${CONNS:-50 200} ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-5} WARMUP=${WARMUP:-2}
export CANDIDATE_PORT=${CANDIDATE_PORT:-18090}
mkdir -p "$OUT"

floor_bin=""
if [[ " $CANDIDATES " == *" floor-"* ]]; then
  echo "== building bench/floor-proxy"
  floor_bin=$(bash "$here/floor-proxy/build.sh")
fi

export EG_BENCH_TMP=$OUT/tmp
mkdir -p "$EG_BENCH_TMP"
trap 'rm -rf "$EG_BENCH_TMP"' EXIT

for name in $CANDIDATES; do
  case $name in
    eg-1t)
      [[ -x $repo/bin/easegress-server ]] || { echo "floor: bin/easegress-server missing (run make)" >&2; exit 1; }
      cmd="$here/candidate.sh" ;;
    floor-epoll | floor-io_uring)
      # UPSTREAM_PORT is exported by the yardstick when it starts the candidate.
      cmd="$floor_bin ${name#floor-} 127.0.0.1:$CANDIDATE_PORT 127.0.0.1:\$UPSTREAM_PORT" ;;
    *) echo "floor: unknown candidate $name (eg-1t, floor-epoll, floor-io_uring)" >&2; exit 1 ;;
  esac
  echo "== $name: body $BODY; conns $CONNS; $ROUNDS rounds x ${DURATION}s"
  EG_WORKER_THREADS=1 EG_ACCESS_LOG=0 CANDIDATE_NAME=$name CANDIDATE_CMD=$cmd \
    TARGETS="nginx $name" bash "$harness" -o "$OUT/$name" >"$OUT/$name.log" 2>&1 ||
    { tail -20 "$OUT/$name.log" >&2; exit 1; }
done

# One line per candidate and setting, from the yardstick's RESULT lines (the NGINX line of
# the same run and setting comes just before the candidate's).
python3 - "$OUT" $CANDIDATES <<'PY' | tee "$OUT/summary.txt"
import re, sys
out, names = sys.argv[1], sys.argv[2:]
print(f"{'candidate':<15} {'body':>6} {'conns':>5} | {'req/s':>7} {'x nginx':>7} | {'cpu us':>6} {'nginx':>6} {'x':>5}")
for name in names:
    ref = None
    for line in open(f"{out}/{name}.log"):
        if not line.startswith("RESULT "):
            continue
        f = dict(kv.split("=", 1) for kv in line.split()[1:])
        if f["target"] == "nginx":
            ref = f
            continue
        cpu, ref_cpu = float(f["cpu_us_per_req"]), float(ref["cpu_us_per_req"])
        print(f"{name:<15} {f['body']:>6} {f['conns']:>5} | {int(f['rps']):>7} "
              f"{float(f['ratio_vs_nginx']):>7.2f} | {cpu:>6.2f} {ref_cpu:>6.2f} {cpu / ref_cpu:>5.2f}")
print("   x nginx = median req/s over rounds / NGINX's in the same run; cpu us = CPU time of")
print("   the proxy's processes per request (NGINX's beside it).")
PY
echo "== results in $OUT"
