#!/usr/bin/env bash
# Where a proxied request's CPU time goes under load: the kernel's share (TCP, system calls,
# wake-ups) and the program's own, per request, for easegress-rs and NGINX side by side.
# `perf record` samples the proxy's CPU clock (a software event, so no hardware counters are
# needed) while wrk drives it; the upstream's request counter gives the requests served in
# the sampled window exactly.
#
#   bash bench/profile.sh                          # bin/easegress-server vs NGINX, 64 B, 50 conns
#   EG_BIN=/tmp/new/easegress-server ROUNDS=3 bash bench/profile.sh
#   EG_ACCESS_LOG=1 bash bench/profile.sh          # both with their access log on
#   KEEP_TMP=1 bash bench/profile.sh               # keep perf.data files to look further:
#       perf report -i DIR/easegress-1.data --no-children --sort sym
#
#   FLOOR=epoll bash bench/profile.sh              # bench/floor-proxy as the candidate
#
# Environment: EG_BIN (bin/easegress-server), FLOOR (epoll or io_uring: run bench/floor-proxy
# on that runtime instead of easegress-server, still labelled "easegress" in the output;
# built into target/bench-floor), BODY (bytes of the upstream's answer, 64),
# CONNS (wrk's connections, 50), SECONDS_SAMPLED (5), ROUNDS (2, targets interleaved),
# FREQ (samples a second, 2000), TOP (the candidate's busiest symbols listed, 25),
# PROXY_CPU (1) and CLIENT_CPU (0: wrk and the upstream), EG_ACCESS_LOG (0), and
# candidate.sh's variables. Needs perf (Debian package linux-perf), wrk, nginx, taskset,
# curl and python3.
#
# Output: per target and round, requests a second in the window, CPU µs a request, and its
# kernel / program / shared-library parts; then the candidate's busiest symbols (share of
# its samples, last round). The CPU clock counts time on the CPU, so a figure does not
# include waiting; it does include perf's own sampling (the same for both targets).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$(realpath -m "${EG_BIN:-$here/../bin/easegress-server}")
body=${BODY:-64}
conns=${CONNS:-50}
secs=${SECONDS_SAMPLED:-5}
rounds=${ROUNDS:-2}
freq=${FREQ:-2000}
top=${TOP:-25}
proxy_cpu=${PROXY_CPU:-1}
client_cpu=${CLIENT_CPU:-0}
for tool in perf wrk nginx taskset python3 curl; do
  command -v "$tool" >/dev/null || { echo "profile.sh: $tool is needed" >&2; exit 1; }
done
[[ -n ${FLOOR:-} ]] && bin=$(bash "$here/floor-proxy/build.sh")
[[ -x $bin ]] || { echo "profile.sh: $bin not found (run make first)" >&2; exit 1; }

# shellcheck source=scratch.sh
source "$here/scratch.sh"
scratch_dir eg-profile
up_port=$(free_port)
nginx_port=$(free_port)
eg_port=$(free_port)
alog=off
[[ ${EG_ACCESS_LOG:-0} == 1 ]] && alog=$tmp/nginx-access.log

mkdir -p "$tmp/www"
chmod 755 "$tmp/www"
head -c "$body" /dev/zero | tr '\0' 'x' >"$tmp/www/body.bin"
# shellcheck source=nginx.sh
source "$here/nginx.sh"
write_upstream_conf "$tmp" "$up_port" off \
  "location / { try_files /body.bin =404; } location = /__requests { stub_status; }"
write_proxy_conf "$tmp" "$nginx_port" "$up_port" "$alog"

setsid taskset -c "$client_cpu" nginx -p "$tmp" -c "$tmp/upstream.conf" >"$tmp/upstream.out" 2>&1 &
pids+=($!)
setsid taskset -c "$proxy_cpu" nginx -p "$tmp" -c "$tmp/proxy.conf" >"$tmp/nginx.out" 2>&1 &
pids+=($!)
nginx_pid=$!
if [[ -n ${FLOOR:-} ]]; then
  setsid taskset -c "$proxy_cpu" "$bin" "$FLOOR" "127.0.0.1:$eg_port" "127.0.0.1:$up_port" \
    >"$tmp/easegress.out" 2>&1 &
else
  UPSTREAM_PORT=$up_port CANDIDATE_PORT=$eg_port EG_BIN=$bin EG_BENCH_TMP=$tmp \
    setsid taskset -c "$proxy_cpu" bash "$here/candidate.sh" >"$tmp/easegress.out" 2>&1 &
fi
pids+=($!)
eg_pid=$!

wait_answering "http://127.0.0.1:$up_port/" upstream "$tmp/upstream.out"
wait_answering "http://127.0.0.1:$nginx_port/" nginx "$tmp/nginx.out"
wait_answering "http://127.0.0.1:$eg_port/" easegress "$tmp/easegress.out"

# A command printing the upstream's count of requests (its stub_status "requests" figure;
# each read adds one).
count="curl -s http://127.0.0.1:$up_port/__requests | awk 'NR == 3 { print \$3 }'"

printf '%-10s %5s %9s %8s %8s %8s %8s\n' target round "req/s" "cpu_us" kernel program libs
for ((round = 1; round <= rounds; round++)); do
  for target in nginx easegress; do
    port=$nginx_port pid=$nginx_pid exe=$(command -v nginx)
    [[ $target == easegress ]] && port=$eg_port pid=$eg_pid exe=$bin
    data=$tmp/$target-$round.data
    taskset -c "$client_cpu" wrk -t1 -c"$conns" -d"$((secs + 3))s" "http://127.0.0.1:$port/" >"$tmp/wrk.out" 2>&1 &
    wrk_pid=$!
    sleep 1.5
    # The requests are counted by the command perf runs, so the count and the samples cover
    # the same window (perf takes a moment to attach before it starts that command).
    # perf now and then gives up at once on a process whose threads come and go: try again.
    for attempt in 1 2 3; do
      perf record -e cpu-clock -F "$freq" -o "$data" -p "$pid" -- \
        sh -c "$count >'$tmp/before'; sleep $secs; $count >'$tmp/after'" 2>"$tmp/perf.err" && break
      ((attempt < 3)) || { echo "profile.sh: perf record failed for $target:" >&2; cat "$tmp/perf.err" >&2; exit 1; }
    done
    before=$(cat "$tmp/before") after=$(cat "$tmp/after")
    wait "$wrk_pid" || true
    [[ $before =~ ^[0-9]+$ && $after =~ ^[0-9]+$ ]] ||
      { echo "profile.sh: the upstream's request count could not be read ($before, $after)" >&2; exit 1; }
    # Samples by object: [kernel.kallsyms], the program itself, shared libraries.
    perf report -i "$data" --no-children --sort dso --stdio -g none -F overhead,sample,dso 2>/dev/null |
      python3 -c '
import sys
target, rnd, reqs, secs, freq, prog = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
parts = {"kernel": 0, "program": 0, "libs": 0}
for line in sys.stdin:
    f = line.split()
    if len(f) < 3 or line.startswith("#") or not f[1].isdigit():
        continue
    samples, dso = int(f[1]), f[2]
    if dso.startswith("[kernel"):
        parts["kernel"] += samples
    elif dso == prog:
        parts["program"] += samples
    else:
        parts["libs"] += samples
us = lambda s: s / freq * 1e6 / max(reqs, 1)
total = sum(parts.values())
print("%-10s %5s %9.0f %8.2f %8.2f %8.2f %8.2f" % (target, rnd, reqs / secs, us(total),
      us(parts["kernel"]), us(parts["program"]), us(parts["libs"])))
' "$target" "$round" "$((after - before - 1))" "$secs" "$freq" "$(basename "$exe")"
  done
done

echo
echo "easegress-rs, busiest symbols (share of its samples, round $rounds):"
perf report -i "$tmp/easegress-$rounds.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
  grep -v '^#' | grep -v '^$' | head -n "$top"
