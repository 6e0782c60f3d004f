#!/usr/bin/env bash
# Interleaved wrk runs of several easegress-server setups ("variants") in one run, so that
# their requests/s and CPU per request can be compared as ratios measured side by side on
# a machine whose speed changes from minute to minute.
#
#   bash bench/variants.sh bare.env five-filters.env
#
# A variant is a file of shell assignments, read with `set -a` (so every one is exported),
# named by its file name without `.env`: bench/candidate.sh's variables (EG_FILTERS_FILE,
# EG_RULES_FILE, EG_SERVER_YAML, ...) plus REQ_PATH (the path and query wrk asks for, /)
# and REQ_HEADERS (request headers, one "Name: value" a line), and optionally
# REFUSED_WITHOUT_HEADERS (the status a request without REQ_HEADERS must get, checked
# once before the runs: proof that a check is really made). Every variant gets its own
# server (one worker thread) on its own port, all started at once in front of one NGINX
# upstream answering BODY bytes; then ROUNDS rounds run each variant for DURATION seconds,
# in order. The first variant is the reference of the ratios.
#
# Per variant: median requests/s, median CPU µs per request (user + system time of the
# server over the run / requests), median p99, each with its spread over the rounds
# ((max - min) / median), and the median and range of the per-round ratios to the first
# variant. Any non-2xx answer or socket error fails the run.
#
# Environment: ROUNDS (3), DURATION (5), WARMUP (2 s per variant), CONNS (50), BODY (64),
# EG_BIN (<repo>/bin/easegress-server), LOAD_CPU (1, wrk), PROXY_CPU (0, servers and upstream).
# Every process is started here and stopped by its PID at exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-50}
BODY=${BODY:-64}
LOAD_CPU=${LOAD_CPU:-1}
PROXY_CPU=${PROXY_CPU:-0}
export EG_BIN=${EG_BIN:-$here/../bin/easegress-server}
(($# >= 2)) || { echo "usage: variants.sh REFERENCE.env OTHER.env..." >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/eg-variants.XXXXXX")
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
upstream_port=$(free_port)
answer=$(head -c "$BODY" /dev/zero | tr '\0' 'x')
cat >"$tmp/upstream.conf" <<CONF
worker_processes 1; daemon off; pid $tmp/up.pid; error_log $tmp/up.err warn;
events { worker_connections 8192; }
http {
  access_log off; keepalive_requests 10000000;
  client_body_temp_path $tmp/t1; proxy_temp_path $tmp/t2; fastcgi_temp_path $tmp/t3;
  uwsgi_temp_path $tmp/t4; scgi_temp_path $tmp/t5;
  server { listen 127.0.0.1:$upstream_port; location / { return 200 '$answer'; } }
}
CONF
taskset -c "$PROXY_CPU" nginx -p "$tmp" -e "$tmp/up.err" -c "$tmp/upstream.conf" &
pids+=($!)

# The value of one variable of a variant file (empty when unset).
field() { # VAR FILE
  (
    # shellcheck disable=SC1090
    source "$2"
    echo "${!1:-}"
  )
}

names=()
declare -A port pid url hdrs refused
for f in "$@"; do
  name=$(basename "$f" .env)
  names+=("$name")
  port[$name]=$(free_port)
  mkdir -p "$tmp/$name"
  (
    set -a
    # shellcheck disable=SC1090
    source "$f"
    export UPSTREAM_PORT=$upstream_port CANDIDATE_PORT=${port[$name]} EG_BENCH_TMP=$tmp/$name
    export EG_WORKER_THREADS=1
    exec taskset -c "$PROXY_CPU" bash "$here/candidate.sh"
  ) >"$tmp/$name.out" 2>&1 &
  pid[$name]=$!
  pids+=($!)
  req_path=$(field REQ_PATH "$f")
  url[$name]=http://127.0.0.1:${port[$name]}${req_path:-/}
  hdrs[$name]=$(field REQ_HEADERS "$f")
  refused[$name]=$(field REFUSED_WITHOUT_HEADERS "$f")
done

# Header arguments of a variant, for curl and wrk (-H "Name: value" each).
header_args() {
  local line
  while IFS= read -r line; do
    [[ -n $line ]] && printf '%s\0%s\0' -H "$line"
  done <<<"${hdrs[$1]}"
  return 0
}

for name in "${names[@]}"; do
  mapfile -d '' -t h < <(header_args "$name")
  ok=0
  for _ in $(seq 1 300); do
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "${h[@]}" "${url[$name]}" || true)
    [[ $code == 200 ]] && { ok=1; break; }
    kill -0 "${pid[$name]}" 2>/dev/null || break
    sleep 0.2
  done
  ((ok)) || { echo "variants.sh: $name does not answer 200 (last $code)" >&2; cat "$tmp/$name.out" >&2; exit 1; }
  if [[ -n ${refused[$name]} ]]; then
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "${url[$name]}" || true)
    [[ $code == "${refused[$name]}" ]] || {
      echo "variants.sh: $name answered $code, not ${refused[$name]}, without its headers" >&2
      exit 1
    }
  fi
done

hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# One wrk run: "rps cpu_us_per_request p99_ms".
run() { # NAME SECONDS
  local before after out
  mapfile -d '' -t h < <(header_args "$1")
  before=$(ticks "${pid[$1]}")
  out=$(timeout -k 5 $(($2 + 20)) taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$2s" --latency \
    "${h[@]}" "${url[$1]}")
  after=$(ticks "${pid[$1]}")
  if grep -q -e Non-2xx -e 'Socket errors' <<<"$out"; then
    echo "variants.sh: $1 had failed requests:" >&2
    echo "$out" >&2
    exit 1
  fi
  awk -v b="$before" -v a="$after" -v hz="$hz" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; return v * 1000 }
    / requests in / { n = $1 } /Requests\/sec/ { r = $2 } $1 == "99%" { p = ms($2) }
    END { printf "%s %.2f %.3f\n", r, (a - b) / hz * 1e6 / n, p }' <<<"$out"
}

for name in "${names[@]}"; do run "$name" "$WARMUP" >/dev/null; done
results=$tmp/results.tsv
for r in $(seq 1 "$ROUNDS"); do
  for name in "${names[@]}"; do
    read -r rps cpu p99 < <(run "$name" "$DURATION")
    printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$name" "$rps" "$cpu" "$p99" >>"$results"
    echo "round $r $name rps=$rps cpu_us_per_req=$cpu p99_ms=$p99" >&2
  done
done

python3 - "$results" "${names[@]}" <<'PY'
import statistics, sys
path, names = sys.argv[1], sys.argv[2:]
rows = [l.split("\t") for l in open(path).read().splitlines()]
by = {(r, n): (float(a), float(c), float(p)) for r, n, a, c, p in rows}
rounds = sorted({r for r, *_ in rows}, key=int)
ref = names[0]

def spread(v):
    return (max(v) - min(v)) / statistics.median(v) * 100

print(f"{'variant':<22} {'req/s':>8} {'spread':>7} {'cpu us/req':>10} {'spread':>7} "
      f"{'p99 ms':>7} {'rps x ref':>17} {'cpu x ref':>17}")
for n in names:
    rps = [by[(r, n)][0] for r in rounds]
    cpu = [by[(r, n)][1] for r in rounds]
    p99 = [by[(r, n)][2] for r in rounds]
    xr = [by[(r, n)][0] / by[(r, ref)][0] for r in rounds]
    xc = [by[(r, n)][1] / by[(r, ref)][1] for r in rounds]
    print(f"RESULT {n:<15} {statistics.median(rps):8.0f} {spread(rps):6.1f}% "
          f"{statistics.median(cpu):10.2f} {spread(cpu):6.1f}% {statistics.median(p99):7.2f} "
          f"{statistics.median(xr):5.2f} ({min(xr):.2f}-{max(xr):.2f}) "
          f"{statistics.median(xc):5.2f} ({min(xc):.2f}-{max(xc):.2f})")
PY
