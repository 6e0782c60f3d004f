#!/usr/bin/env bash
# HTTPS and HTTP/2 through easegress-rs and NGINX, side by side (the shared yardstick speaks
# plain HTTP/1.1 only). Both proxies terminate TLS 1.3 with one certificate (ECDSA P-256, or
# RSA-2048 with KEY=rsa) and
# forward plain HTTP/1.1 to one NGINX upstream over keep-alive connections; each runs one
# worker (easegress-rs `--worker-threads 1`, NGINX one worker without a master process).
#
#   bash bench/tls.sh
#   MODES=h2 ROUNDS=5 bash bench/tls.sh
#   MODES=full KEY=rsa bash bench/tls.sh
#
# Modes (MODES, "h1 h2 handshake"):
#   h1         wrk: HTTP/1.1 over TLS on CONNS keep-alive connections
#   h2         h2load: HTTP/2 on CONNS connections, STREAMS requests in flight on each
#   handshake  wrk with `Connection: close`: a TLS 1.3 handshake for every request; wrk
#              resumes its last session (a pre-shared key with a new X25519 exchange, no
#              certificate), with either proxy, as a returning browser does
#   full       openssl s_time -new: one connection at a time, each a full TLS 1.3
#              handshake (no resumption: key exchange and a certificate signature) and
#              one HTTP/1.0 GET; not run by default
#
# Environment: ROUNDS (3; the targets take turns within each round), DURATION (5 s
# measured per run), WARMUP (1 s unmeasured before each run), CONNS (50), STREAMS (10),
# BODY (64: bytes of the upstream's answer), KEY (ec: ECDSA P-256, or rsa: RSA-2048), EG_BIN (bin/easegress-server),
# EG_WORKER_THREADS (1), PROXY_CPU and UPSTREAM_CPU (0), LOAD_CPU (1), KEEP_TMP (1: keep
# the temp dir). As in the yardstick, the proxy under test and the upstream share one
# CPU and the load tool has the other.
#
# Prints every run (req/s and the proxy process's CPU time per request, from
# /proc/PID/stat) and, per mode, the median over the rounds of easegress-rs / NGINX.
# Needs wrk, h2load (Debian package nghttp2-client), nginx, openssl, curl, python3.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=nginx.sh
source "$here/nginx.sh"
modes=${MODES:-"h1 h2 handshake"}
rounds=${ROUNDS:-3}
duration=${DURATION:-5}
warmup=${WARMUP:-1}
conns=${CONNS:-50}
streams=${STREAMS:-10}
body=${BODY:-64}
proxy_cpu=${PROXY_CPU:-0}
upstream_cpu=${UPSTREAM_CPU:-0}
load_cpu=${LOAD_CPU:-1}
for tool in wrk h2load nginx openssl curl python3 taskset; do
  command -v "$tool" >/dev/null || { echo "tls.sh: $tool is needed" >&2; exit 1; }
done
eg_bin=$(realpath -m "${EG_BIN:-$here/../bin/easegress-server}")
[[ -x $eg_bin ]] || { echo "tls.sh: $eg_bin not found (run make first)" >&2; exit 1; }
clk_tck=$(getconf CLK_TCK)

# shellcheck source=scratch.sh
source "$here/scratch.sh"
scratch_dir eg-tls
up_port=$(free_port)
nginx_port=$(free_port)
eg_port=$(free_port)

# The upstream.
write_body_upstream "$tmp" "$up_port" "$body"
taskset -c "$upstream_cpu" nginx -p "$tmp" -c "$tmp/upstream.conf"

# The certificate both proxies serve.
write_test_cert "$tmp" "${KEY:-ec}"

# NGINX: the yardstick's proxy (bench/nginx.sh) with TLS and HTTP/2 on its listener. NGINX
# 1.22's default is TLS 1.2 and older (1.23.4 added 1.3): both proxies speak 1.3.
write_proxy_conf "$tmp" "$nginx_port" "$up_port" off "ssl http2" \
  "ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem; ssl_protocols TLSv1.2 TLSv1.3;"
taskset -c "$proxy_cpu" nginx -p "$tmp" -c "$tmp/proxy.conf" &
nginx_pid=$!
pids+=("$nginx_pid")

# easegress-rs: bench/candidate.sh's HTTPServer with the same certificate (it execs the
# server, so the PID is the server's).
EG_TLS_CERT=$tmp/cert.pem EG_TLS_KEY=$tmp/key.pem UPSTREAM_PORT=$up_port \
  CANDIDATE_PORT=$eg_port EG_BIN=$eg_bin EG_BENCH_TMP=$tmp \
  taskset -c "$proxy_cpu" bash "$here/candidate.sh" >"$tmp/eg.out" 2>&1 &
eg_pid=$!
pids+=("$eg_pid")

for port in "$nginx_port" "$eg_port"; do
  wait_answering "https://127.0.0.1:$port/" tls.sh "$tmp/eg.out"
done
# Both negotiate TLS 1.3 and HTTP/2 by ALPN: a proxy answering otherwise would measure
# something else.
for port in "$nginx_port" "$eg_port"; do
  v=$(curl -sk --http2 -o /dev/null -w '%{http_version}' "https://127.0.0.1:$port/")
  [[ $v == 2 ]] || { echo "tls.sh: port $port does not speak HTTP/2 over TLS (got $v)" >&2; exit 1; }
  curl -skv -o /dev/null "https://127.0.0.1:$port/" 2>&1 | grep -q "SSL connection using TLSv1.3" ||
    { echo "tls.sh: port $port does not speak TLS 1.3" >&2; exit 1; }
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# load MODE PORT SECONDS: runs the load tool, leaves its output in $tmp/load.out and prints
# the number of successful answers; fails on any other.
load() {
  local mode=$1 port=$2 secs=$3 url="https://127.0.0.1:$2/"
  case $mode in
    h1) taskset -c "$load_cpu" wrk -t1 -c"$conns" -d"${secs}s" "$url" >"$tmp/load.out" 2>&1 ;;
    handshake) taskset -c "$load_cpu" wrk -t1 -c"$conns" -d"${secs}s" -H "Connection: close" "$url" >"$tmp/load.out" 2>&1 ;;
    h2) taskset -c "$load_cpu" h2load -t1 -c"$conns" -m"$streams" -D"$secs" "$url" >"$tmp/load.out" 2>&1 ;;
    full) taskset -c "$load_cpu" openssl s_time -connect "127.0.0.1:$port" -new -tls1_3 -time "$secs" -www / >"$tmp/load.out" 2>&1 ;;
    *) echo "tls.sh: unknown mode $mode" >&2; exit 1 ;;
  esac
  python3 - "$mode" "$tmp/load.out" <<'PY'
import re, sys
mode, text = sys.argv[1], open(sys.argv[2]).read()
if mode == "h2":
    ok = int(re.search(r"requests: .* (\d+) succeeded", text).group(1))
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    bad = sum(int(codes.group(i)) for i in (2, 3, 4))
elif mode == "full":
    # s_time counts connections; it reads each answer but does not check its status
    # (the readiness check above saw 200 from both).
    ok = int(re.search(r"(\d+) connections in [\d.]+s", text).group(1))
    bad = 0
else:
    ok = int(re.search(r"(\d+) requests in", text).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    bad = int(bad.group(1)) if bad else 0
    ok -= bad
if bad or ok == 0:
    sys.exit(f"tls.sh: {mode}: {bad} answers other than 2xx, {ok} good:\n{text}")
print(ok)
PY
}

results=$tmp/results.tsv
: >"$results"
printf '%-10s %-6s %-12s %12s %14s\n' mode round target req/s "CPU µs/req"
for mode in $modes; do
  for ((round = 1; round <= rounds; round++)); do
    for target in nginx easegress-rs; do
      if [[ $target == nginx ]]; then port=$nginx_port pid=$nginx_pid; else port=$eg_port pid=$eg_pid; fi
      load "$mode" "$port" "$warmup" >/dev/null
      before=$(cpu_ticks "$pid")
      ok=$(load "$mode" "$port" "$duration")
      after=$(cpu_ticks "$pid")
      read -r rps cpu < <(python3 -c "print(f'{$ok / $duration:.0f}', f'{($after - $before) * 1e6 / $clk_tck / $ok:.1f}')")
      printf '%-10s %-6s %-12s %12s %14s\n' "$mode" "$round" "$target" "$rps" "$cpu"
      printf '%s\t%s\t%s\t%s\t%s\n' "$mode" "$round" "$target" "$rps" "$cpu" >>"$results"
    done
  done
done

echo
python3 - "$results" <<'PY'
import statistics, sys
from collections import defaultdict
runs = defaultdict(dict)
for line in open(sys.argv[1]):
    mode, rnd, target, rps, cpu = line.split("\t")
    runs[(mode, rnd)][target] = (float(rps), float(cpu))
by_mode = defaultdict(lambda: ([], []))
for (mode, _), t in runs.items():
    eg, ng = t["easegress-rs"], t["nginx"]
    by_mode[mode][0].append(eg[0] / ng[0])
    by_mode[mode][1].append(eg[1] / ng[1])
print(f"{'mode':<10} {'req/s x NGINX (median; rounds)':<40} {'CPU/req x NGINX (median; rounds)'}")
for mode, (rps, cpu) in by_mode.items():
    fmt = lambda xs: f"{statistics.median(xs):.2f}; " + " ".join(f"{x:.2f}" for x in xs)
    print(f"{mode:<10} {fmt(rps):<40} {fmt(cpu)}")
PY
