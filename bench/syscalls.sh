#!/usr/bin/env bash
# System calls a proxied request costs, easegress-server against NGINX: each proxy in turn
# forwards REQUESTS requests over one kept-alive client connection (h2load, HTTP/1.1) to an
# NGINX upstream, under `strace -f -c` attached to every thread of the proxy; prints each
# system call's count a request and how many of those failed (EAGAIN, mostly), the proxy's
# system calls only (not the upstream's or the load tool's).
#
# Environment: TLS (1: the client speaks HTTPS, TLS 1.3, to both proxies; 0), REQUESTS
# (3000), BODY (64: bytes of the upstream's answer), EG_BIN (bin/easegress-server),
# EG_WORKER_THREADS (1), KEEP_TMP (1: keep the temp dir), CONNS (1: see below).
#
# strace slows every call down, so this counts calls and says nothing of time; a request
# is counted once the connection is open (the handshake's calls are spread over the run,
# one connection's worth).
#
# CONNS above 1 counts under load instead: h2load sends REQUESTS requests over CONNS
# connections at once, and `perf stat` counts the proxy's system calls through the kernel's
# tracepoints (perf, Debian package linux-perf), which do not slow them. One connection
# at a time, every request pays for its own `epoll_wait`s; under load one `epoll_wait`
# returns the readiness of many connections, so the counts here are what a busy proxy pays.
# The table then has no failed column (tracepoints count entries, not results).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
requests=${REQUESTS:-3000}
body=${BODY:-64}
tls=${TLS:-0}
conns=${CONNS:-1}
# One connection: strace (count); under load: perf's tracepoints (count_load).
tracer_tool=strace counter=count
[[ $conns -gt 1 ]] && { tracer_tool=perf; counter=count_load; }
for tool in "$tracer_tool" taskset h2load nginx openssl curl python3; do
  command -v "$tool" >/dev/null || { echo "syscalls.sh: $tool is needed" >&2; exit 1; }
done
eg_bin=$(realpath -m "${EG_BIN:-$here/../bin/easegress-server}")
[[ -x $eg_bin ]] || { echo "syscalls.sh: $eg_bin not found (run make first)" >&2; exit 1; }

# shellcheck source=scratch.sh
source "$here/scratch.sh"
# shellcheck source=nginx.sh
source "$here/nginx.sh"
scratch_dir eg-syscalls
up_port=$(free_port)
nginx_port=$(free_port)
eg_port=$(free_port)

write_body_upstream "$tmp" "$up_port" "$body"
nginx -p "$tmp" -c "$tmp/upstream.conf"

scheme=http
eg_tls=()
listen_flags=""
server_lines=""
if [[ $tls == 1 ]]; then
  scheme=https
  write_test_cert "$tmp"
  eg_tls=(EG_TLS_CERT="$tmp/cert.pem" EG_TLS_KEY="$tmp/key.pem")
  listen_flags="ssl"
  server_lines="ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem; ssl_protocols TLSv1.3;"
fi
write_proxy_conf "$tmp" "$nginx_port" "$up_port" off "$listen_flags" "$server_lines"
nginx -p "$tmp" -c "$tmp/proxy.conf" &
nginx_pid=$!
pids+=("$nginx_pid")
env "${eg_tls[@]}" UPSTREAM_PORT="$up_port" CANDIDATE_PORT="$eg_port" EG_BIN="$eg_bin" \
  EG_BENCH_TMP="$tmp" bash "$here/candidate.sh" >"$tmp/eg.out" 2>&1 &
eg_pid=$!
pids+=("$eg_pid")

for port in "$nginx_port" "$eg_port"; do
  wait_answering "$scheme://127.0.0.1:$port/" syscalls.sh "$tmp/eg.out"
done

# all_succeeded NAME: stops the script unless h2load's run for NAME had every request succeed.
all_succeeded() {
  grep -q "succeeded, 0 failed" <(grep '^requests:' "$tmp/$1.load") ||
    { echo "syscalls.sh: $1: not every request succeeded:" >&2; grep '^requests:' "$tmp/$1.load" >&2; exit 1; }
}

# count NAME PID PORT: the system calls of PID's threads while h2load sends the requests.
count() {
  local name=$1 pid=$2 port=$3 attach=() t
  for t in /proc/"$pid"/task/*; do attach+=(-p "${t##*/}"); done
  strace -f -c -o "$tmp/$name.strace" "${attach[@]}" 2>/dev/null &
  local tracer=$!
  # strace says nothing once attached: give it a moment, then check that it still runs.
  sleep 1
  kill -0 "$tracer" 2>/dev/null || { echo "syscalls.sh: strace could not attach to $name" >&2; exit 1; }
  h2load --h1 -n "$requests" -c 1 "$scheme://127.0.0.1:$port/" >"$tmp/$name.load" 2>&1
  all_succeeded "$name"
  kill -INT "$tracer"
  wait "$tracer" || true
  echo "== $name: system calls a request ($requests requests, one connection, $scheme, $body B)"
  # strace -c's table: % time, seconds, usecs/call, calls, errors (may be empty), syscall.
  awk -v n="$requests" '
    /^-+/ || /^% time/ || /total$/ { next }
    NF >= 5 {
      name = $NF; calls = $4; errors = (NF == 6) ? $5 : 0
      if (calls / n >= 0.01) printf "  %-16s %6.2f   (failed %.2f)\n", name, calls / n, errors / n
      total += calls; failed += errors
    }
    END { printf "  %-16s %6.2f   (failed %.2f)\n", "all", total / n, failed / n }
  ' "$tmp/$name.strace"
}

# The system calls a proxy makes on the request path, and those it could make around it,
# for the count under load.
LOAD_CALLS="epoll_wait epoll_ctl recvfrom sendto read write readv writev getsockopt
  setsockopt ioctl futex accept4 close"

# count_load NAME PID PORT: the system calls of PID (every thread) while h2load sends the
# requests over CONNS connections. Pinned as the yardstick pins them: the proxy and the
# upstream on CPU 0, h2load on CPU 1. How many `epoll_wait`s a request costs depends on how
# busy the proxy is: the busier, the more connections each call returns.
count_load() {
  local name=$1 pid=$2 port=$3 events=(-e raw_syscalls:sys_enter) c up
  for c in $LOAD_CALLS; do events+=(-e "syscalls:sys_enter_$c"); done
  taskset -a -p -c 0 "$pid" >/dev/null
  for up in $(cat "$tmp/upstream.pid") $(pgrep -P "$(cat "$tmp/upstream.pid")"); do
    taskset -a -p -c 0 "$up" >/dev/null
  done
  # A warm-up, so that both proxies have their upstream connections open when counted.
  taskset -c 1 h2load --h1 -n "$requests" -c "$conns" "$scheme://127.0.0.1:$port/" >/dev/null 2>&1
  perf stat -x, -o "$tmp/$name.perf" "${events[@]}" -p "$pid" -- \
    taskset -c 1 h2load --h1 -n "$requests" -c "$conns" "$scheme://127.0.0.1:$port/" >"$tmp/$name.load" 2>&1
  all_succeeded "$name"
  echo "== $name: system calls a request ($requests requests, $conns connections at once, $scheme, $body B)"
  # perf stat -x,: count, unit, event, ...
  awk -F, -v n="$requests" '
    $1 ~ /^[0-9]+$/ {
      name = $3; sub(/^(raw_)?syscalls:sys_enter_?/, "", name)
      if (name == "") { total = $1; next }
      if ($1 / n >= 0.01) printf "  %-16s %6.2f\n", name, $1 / n
    }
    END { printf "  %-16s %6.2f\n", "all", total / n }
  ' "$tmp/$name.perf"
}

# NGINX runs as one process (the yardstick's `master_process off`).
"$counter" nginx "$nginx_pid" "$nginx_port"
"$counter" easegress-server "$eg_pid" "$eg_port"
