#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: a figure that does not move with
# the load of a shared machine, to compare two builds or two settings.
#
#   bash bench/instructions.sh                         # bin/easegress-server, access log off
#   EG_ACCESS_LOG=1 bash bench/instructions.sh         # with the access log on
#   EG_BIN=/tmp/old/easegress-server bash bench/instructions.sh
#   TARGET=nginx bash bench/instructions.sh            # NGINX proxying the same way
#   TARGET=nginx EG_ACCESS_LOG=1 bash bench/instructions.sh   # ... with its default access log
#   EG_TRACING=1 bash bench/instructions.sh            # HTTPServer tracing on (see candidate.sh)
#   EG_FILTERS_FILE=f.yaml REQ_HEADERS="Authorization: Bearer ..." bash bench/instructions.sh
#   LOCKED=1 bash bench/instructions.sh                # also count locked instructions
#   CACHE_SIM=1 bash bench/instructions.sh             # also simulated cache misses
#   CONNS=50 bash bench/instructions.sh                # 50 connections waiting at once
#   TLS=1 CONNS=50 bash bench/instructions.sh          # HTTPS: TLS 1.3 on the listener
#   FLOOR=epoll CONNS=50 bash bench/instructions.sh    # bench/floor-proxy (bench/floor.sh)
#
# Environment: TARGET (easegress or nginx), FLOOR (epoll or io_uring: bench/floor-proxy on
# that runtime instead of easegress-server), EG_BIN (bin/easegress-server), EG_ACCESS_LOG (0), REQUESTS (2000),
# WARMUP (200), BODY (bytes of the upstream's answer, 64), EG_WORKER_THREADS (1), TLS (1:
# the listener speaks TLS 1.3 with an ECDSA P-256 certificate, as bench/tls.sh's does, and
# the client's connections are made and resumed before counting starts, so the count is
# the records' encryption and framing, not handshakes; NGINX too with TARGET=nginx),
# REQ_PATH (the request's path and query, /), REQ_HEADERS (more request headers, one
# "Name: value" a line), MEASURES (measurements of REQUESTS each in the same process, 1: with
# more, each is printed and the spread is (max - min) / min), CONNS (keep-alive connections
# the measured requests are spread over, all waiting at once: 1; with more, the costs a
# request shares with the others woken with it are divided as under load), LOCKED (1: also the locked
# read-modify-writes per request of the last measurement and where they are, by
# bench/locked-ops.py; needs objdump; LOCKED_LINES=1: the busiest ones each with its source
# line and inline chain, by addr2line), CACHE_SIM (1: also data reads, writes and
# simulated first-level and last-level cache misses per request, callgrind's cache model of
# this machine: how much memory a request touches, which instruction counts do not show), and candidate.sh's variables (EG_FILTERS_FILE,
# EG_RULES_FILE, EG_SERVER_YAML, ...).
# The server runs bench/candidate.sh's setup (HTTPServer -> Pipeline -> Proxy -> an NGINX
# upstream) under valgrind; NGINX runs the proxy configuration of the shared yardstick
# (upstream keep-alive, one worker, no master process); counters are zeroed after the warm-up and dumped after
# REQUESTS keep-alive requests on one connection, so start-up is not counted. Every thread
# of the server is counted (the access log's too). Needs valgrind and nginx.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
real_bin=$(realpath -m "${EG_BIN:-$here/../bin/easegress-server}")
requests=${REQUESTS:-2000}
warmup=${WARMUP:-200}
body=${BODY:-64}
for tool in valgrind callgrind_control nginx python3; do
  command -v "$tool" >/dev/null || { echo "instructions.sh: $tool is needed" >&2; exit 1; }
done

[[ -n ${FLOOR:-} ]] && real_bin=$(bash "$here/floor-proxy/build.sh")

callgrind_args=(--tool=callgrind)
[[ ${LOCKED:-0} == 1 ]] && callgrind_args+=(--dump-instr=yes)
[[ ${CACHE_SIM:-0} == 1 ]] && callgrind_args+=(--cache-sim=yes)

# shellcheck source=scratch.sh
source "$here/scratch.sh"
scratch_dir eg-instr
upstream_port=$(free_port)
candidate_port=$(free_port)

# The upstream answers as the shared yardstick's does: a file of BODY bytes (seven headers:
# Server, Date, Content-Type, Content-Length, Last-Modified, Connection, Accept-Ranges),
# on a connection it never closes.
# shellcheck source=nginx.sh
source "$here/nginx.sh"
write_body_upstream "$tmp" "$upstream_port" "$body"
nginx -c "$tmp/upstream.conf" -p "$tmp"

target=${TARGET:-easegress}
tls=${TLS:-0}
tls_env=()
nginx_tls=("" "")
if [[ $tls == 1 ]]; then
  [[ -z ${FLOOR:-} ]] || { echo "instructions.sh: the floor proxy speaks plain HTTP only" >&2; exit 1; }
  write_test_cert "$tmp"
  tls_env=(EG_TLS_CERT="$tmp/cert.pem" EG_TLS_KEY="$tmp/key.pem")
  nginx_tls=(ssl "ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem; ssl_protocols TLSv1.3;")
fi
export TLS=$tls
if [[ $target == nginx ]]; then
  real_bin=$(command -v nginx)
  alog=off
  [[ ${EG_ACCESS_LOG:-0} == 1 ]] && alog=$tmp/nginx-access.log
  chmod 755 "$tmp"
  write_proxy_conf "$tmp" "$candidate_port" "$upstream_port" "$alog" "${nginx_tls[@]}"
  valgrind "${callgrind_args[@]}" --callgrind-out-file="$tmp/callgrind.out" \
    "$real_bin" -c "$tmp/proxy.conf" -p "$tmp" >"$tmp/server.out" 2>&1 &
  pids+=($!)
  server_pid=$!
else
  cat >"$tmp/valgrind-server" <<SH
#!/bin/sh
exec valgrind ${callgrind_args[*]} --callgrind-out-file=$tmp/callgrind.out "$real_bin" "\$@"
SH
  chmod +x "$tmp/valgrind-server"
  if [[ -n ${FLOOR:-} ]]; then
    "$tmp/valgrind-server" "$FLOOR" "127.0.0.1:$candidate_port" "127.0.0.1:$upstream_port" \
      >"$tmp/server.out" 2>&1 &
  else
    env "${tls_env[@]}" UPSTREAM_PORT=$upstream_port CANDIDATE_PORT=$candidate_port \
      EG_BIN=$tmp/valgrind-server EG_BENCH_TMP=$tmp EG_WORKER_THREADS=${EG_WORKER_THREADS:-1} \
      bash "$here/candidate.sh" >"$tmp/server.out" 2>&1 &
  fi
  pids+=($!)
  server_pid=$!
fi

export REQ_PATH=${REQ_PATH:-/} REQ_HEADERS=${REQ_HEADERS:-}
# Sends N keep-alive requests with REQ_PATH and REQ_HEADERS on one connection; with
# "wait" first retries until the server answers 200 (it starts slowly under valgrind).
send() {
  python3 - "$candidate_port" "$@" <<'PY'
import http.client, os, ssl, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
wait = len(sys.argv) > 3
tls = None
if os.environ["TLS"] == "1":
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE

def connect():
    if tls:
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=tls)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=30)
path = os.environ["REQ_PATH"]
headers = dict(
    (k.strip(), v.strip())
    for k, _, v in (l.partition(":") for l in os.environ["REQ_HEADERS"].splitlines() if l.strip())
)
deadline = time.time() + 180
c = None
while wait:
    try:
        c = connect()
        c.request("GET", path, headers=headers)
        r = c.getresponse(); r.read()
        if r.status == 200:
            break
        last = r.status
    except OSError as e:
        last = e
    if time.time() > deadline:
        sys.exit(f"the server under valgrind did not answer 200 within 180 s (last: {last})")
    time.sleep(0.5)
if c is None:
    c = connect()
for _ in range(n):
    c.request("GET", path, headers=headers)
    r = c.getresponse(); r.read()
    if r.status != 200:
        sys.exit(f"answer {r.status}")
PY
}
send "$warmup" wait
conns=${CONNS:-1}
# The client of CONNS keep-alive connections that all wait at once, so the server finds
# several of them ready at every wake-up, as under load. `once`: opens them, sends N
# requests spread over them and closes them (plain HTTP: accepting a connection costs
# little beside 2,000 requests). `hold` (TLS, where a new connection costs a handshake,
# hundreds of times a request's work): opens them and has one request answered on each,
# says "ready", then sends N requests over the same connections for every "go" on its
# input, answering "done", so that only requests on open connections are counted.
cat >"$tmp/client.py" <<'PY'
import asyncio, os, ssl, sys
port, n, conns, mode = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
path = os.environ["REQ_PATH"]
extra = "".join(l.strip() + "\r\n" for l in os.environ["REQ_HEADERS"].splitlines() if l.strip())
request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()
tls = None
if os.environ["TLS"] == "1":
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE

async def ask(r, w, count):
    for _ in range(count):
        w.write(request)
        status = await r.readline()
        if b" 200 " not in status:
            sys.exit(f"answer {status!r}")
        length = 0
        while (line := await r.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await r.readexactly(length)

async def spread(opened):
    per, rest = divmod(n, conns)
    await asyncio.gather(*(ask(r, w, per + (i < rest)) for i, (r, w) in enumerate(opened)))

async def main():
    opened = [await asyncio.open_connection("127.0.0.1", port, ssl=tls) for _ in range(conns)]
    if mode == "once":
        await spread(opened)
        return
    await asyncio.gather(*(ask(r, w, 1) for r, w in opened))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "go":
        await spread(opened)
        print("done", flush=True)

asyncio.run(main())
PY
if [[ $tls == 1 ]]; then
  coproc CLIENT { python3 "$tmp/client.py" "$candidate_port" "$requests" "$conns" hold; }
  pids+=("$CLIENT_PID")
  client_in=${CLIENT[1]}
  client_out=${CLIENT[0]}
  read -r line <&"$client_out" && [[ $line == ready ]] ||
    { echo "instructions.sh: the client did not connect" >&2; exit 1; }
  send() {
    echo go >&"$client_in"
    read -r line <&"$client_out" && [[ $line == done ]] ||
      { echo "instructions.sh: the client failed" >&2; exit 1; }
  }
elif ((conns > 1)); then
  send() { python3 "$tmp/client.py" "$candidate_port" "$1" "$conns" once; }
fi

measures=${MEASURES:-1}
per=()
for m in $(seq 1 "$measures"); do
  callgrind_control --zero "$server_pid" >/dev/null 2>&1
  send "$requests"
  callgrind_control --dump="measured-$m" "$server_pid" >/dev/null 2>&1
  # The dump is written asynchronously: wait for its totals.
  dump=""
  for _ in $(seq 1 100); do
    dump=$(cd "$tmp" && ls callgrind.out.* 2>/dev/null | sort -t. -k3 -n | sed -n "${m}p" || true)
    [[ -n $dump ]] && dump=$tmp/$dump
    [[ -n $dump ]] && grep -q '^totals:' "$dump" && break
    sleep 0.2
  done
  [[ -n $dump ]] || { echo "instructions.sh: no callgrind dump" >&2; exit 1; }
  total=$(awk '/^totals:/ {print $2}' "$dump")
  per+=($((total / requests)))
done
kill -TERM "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
echo "target:        $target ($real_bin)"
echo "access log:    $([[ ${EG_ACCESS_LOG:-0} == 1 ]] && echo on || echo off)"
echo "listener:      $([[ $tls == 1 ]] && echo "TLS 1.3" || echo "plain HTTP")"
echo "requests:      $requests x $measures (GET $REQ_PATH, body $body B, $conns keep-alive connection(s))"
echo "instructions:  $total (the last measurement)"
echo "each measure:  ${per[*]}"
if ((measures > 1)); then
  printf '%s\n' "${per[@]}" | sort -n | awk '{a[NR]=$1} END {
    printf "spread:        %.2f %% (min %d, max %d)\n", (a[NR]-a[1])*100/a[1], a[1], a[NR] }'
fi
echo "per request:   $(printf '%s\n' "${per[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
if [[ ${LOCKED:-0} == 1 ]]; then
  python3 "$here/locked-ops.py" "$dump" "$requests"
fi
if [[ ${CACHE_SIM:-0} == 1 ]]; then
  # events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw (the last measurement)
  awk -v n="$requests" '/^events:/ {for (i = 2; i <= NF; i++) name[i] = $i}
    /^totals:/ {for (i = 2; i <= NF; i++) v[name[i]] = $i}
    END {
      printf "data reads:    %.0f, writes %.0f per request\n", v["Dr"] / n, v["Dw"] / n
      printf "L1 misses:     %.1f instruction, %.1f data read, %.1f data write per request\n", v["I1mr"] / n, v["D1mr"] / n, v["D1mw"] / n
      printf "LL misses:     %.1f instruction, %.1f data read, %.1f data write per request\n", v["ILmr"] / n, v["DLmr"] / n, v["DLmw"] / n
    }' "$dump"
fi
