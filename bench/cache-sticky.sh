#!/usr/bin/env bash
# cache-sticky.sh - short interleaved wrk runs of two Proxy features on loopback:
#
#   nginx-cache  NGINX proxy_cache, every request a hit (64-byte body)
#   eg-cache     easegress-rs Proxy memoryCache, every request a hit
#   eg-rr        easegress-rs Proxy, roundRobin over 3 servers (no sticky session)
#   eg-duration  the same with stickySession DurationBased (cookie checked and re-issued)
#   eg-hash      the same with stickySession CookieConsistentHash
#
# The upstream is an NGINX serving a fixed body on three ports. wrk runs on CPU
# $LOAD_CPU, the proxies and the upstream on CPU $PROXY_CPU; both proxies have one
# worker. Every process is started here and stopped by its PID on exit.
#
# Environment: ROUNDS (3), DURATION (5 s), CONNS (50), EG_BIN (<repo>/bin/easegress-server),
# BASE_PORT (19080), LOAD_CPU (1), PROXY_CPU (0).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
EG_BIN=${EG_BIN:-$here/../bin/easegress-server}
BASE=${BASE_PORT:-19080}
LOAD_CPU=${LOAD_CPU:-1}
PROXY_CPU=${PROXY_CPU:-0}
UP1=$BASE UP2=$((BASE + 1)) UP3=$((BASE + 2)) NGX=$((BASE + 3)) EG=$((BASE + 4))
API=$((BASE + 5))

tmp=$(mktemp -d /tmp/cache-sticky.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

mkdir -p "$tmp/www" "$tmp/cache" "$tmp/eg/home" "$tmp/eg/data" "$tmp/eg/logs"
head -c 64 /dev/zero | tr '\0' 'x' >"$tmp/www/body.bin"

temps="client_body_temp_path $tmp/t1; proxy_temp_path $tmp/t2; fastcgi_temp_path $tmp/t3;
  uwsgi_temp_path $tmp/t4; scgi_temp_path $tmp/t5;"
cat >"$tmp/upstream.conf" <<CONF
worker_processes 1; daemon off; pid $tmp/up.pid; error_log $tmp/up.err warn;
events { worker_connections 8192; }
http {
  access_log off; $temps
  keepalive_requests 10000000; etag off;
  server {
    listen 127.0.0.1:$UP1; listen 127.0.0.1:$UP2; listen 127.0.0.1:$UP3;
    root $tmp/www;
    location / { try_files /body.bin =404; }
  }
}
CONF
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $tmp/ngx.pid; error_log $tmp/ngx.err warn;
events { worker_connections 8192; }
http {
  access_log off; $temps
  keepalive_requests 10000000; tcp_nodelay on;
  proxy_cache_path $tmp/cache keys_zone=c:10m max_size=64m inactive=1h;
  upstream backend { server 127.0.0.1:$UP1; keepalive 512; }
  server {
    listen 127.0.0.1:$NGX backlog=4096;
    location / {
      proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_cache c; proxy_cache_valid 200 1h; proxy_cache_key \$scheme\$host\$uri\$request_method;
    }
  }
}
CONF

servers="          - url: http://127.0.0.1:$UP1
          - url: http://127.0.0.1:$UP2
          - url: http://127.0.0.1:$UP3"
pipeline() { # NAME POOL-EXTRA
  cat >"$tmp/eg/$1.yaml" <<YAML
name: $1
kind: Pipeline
flow:
  - filter: proxy
filters:
  - name: proxy
    kind: Proxy
    pools:
      - servers:
$servers
$2
YAML
}
pipeline p-cache "        memoryCache: {expiration: 1h, maxEntryBytes: 4096, codes: [200], methods: [GET]}"
pipeline p-rr "        loadBalance: {policy: roundRobin}"
pipeline p-duration "        loadBalance: {policy: roundRobin, stickySession: {mode: DurationBased}}"
pipeline p-hash "        loadBalance: {policy: roundRobin, stickySession: {mode: CookieConsistentHash, appCookieName: sid}}"
cat >"$tmp/eg/server.yaml" <<YAML
name: bench-server
kind: HTTPServer
address: 127.0.0.1
port: $EG
keepAlive: true
rules:
  - paths:
      - {pathPrefix: /cache, backend: p-cache}
      - {pathPrefix: /rr, backend: p-rr}
      - {pathPrefix: /duration, backend: p-duration}
      - {pathPrefix: /hash, backend: p-hash}
YAML
objects=$tmp/eg/p-cache.yaml,$tmp/eg/p-rr.yaml,$tmp/eg/p-duration.yaml,$tmp/eg/p-hash.yaml
objects+=,$tmp/eg/server.yaml

taskset -c "$PROXY_CPU" nginx -p "$tmp" -e "$tmp/up.err" -c "$tmp/upstream.conf" & pids+=($!)
taskset -c "$PROXY_CPU" nginx -p "$tmp" -e "$tmp/ngx.err" -c "$tmp/nginx.conf" & pids+=($!)
taskset -c "$PROXY_CPU" "$EG_BIN" --name bench --home-dir "$tmp/eg/home" --data-dir "$tmp/eg/data" \
  --log-dir "$tmp/eg/logs" --api-addr "127.0.0.1:$API" --worker-threads 1 --disable-access \
  --initial-object-config-files "$objects" >"$tmp/eg/out.log" 2>&1 & pids+=($!)

ready() { curl -s -o /dev/null -m 1 -w '%{http_code}' "$1" | grep -q 200; }
for _ in $(seq 1 200); do
  ready "http://127.0.0.1:$NGX/x" && ready "http://127.0.0.1:$EG/cache" \
    && ready "http://127.0.0.1:$EG/duration" && break
  sleep 0.1
done
ready "http://127.0.0.1:$EG/hash" || { cat "$tmp/eg/out.log" "$tmp"/eg/logs/* >&2; exit 1; }

curl -s -D - -o /dev/null "http://127.0.0.1:$EG/cache" >"$tmp/hit1"; sleep 1.1
curl -s -D - -o /dev/null "http://127.0.0.1:$EG/cache" >"$tmp/hit2"
cmp -s <(grep -i "^date" "$tmp/hit1") <(grep -i "^date" "$tmp/hit2") || { echo "memoryCache did not answer the second request" >&2; exit 1; }
cookie=$(curl -s -D - -o /dev/null "http://127.0.0.1:$EG/duration" \
  | awk -F': ' 'tolower($1)=="set-cookie"{split($2,a,";"); print a[1]}')
[[ $cookie == EG_SESSION=* ]] || { echo "no LB cookie: $cookie" >&2; exit 1; }

declare -A url hdr
url[nginx-cache]=http://127.0.0.1:$NGX/c
url[eg-cache]=http://127.0.0.1:$EG/cache
url[eg-rr]=http://127.0.0.1:$EG/rr
url[eg-duration]=http://127.0.0.1:$EG/duration
url[eg-hash]=http://127.0.0.1:$EG/hash
hdr[nginx-cache]="X-B: 1" hdr[eg-cache]="X-B: 1" hdr[eg-rr]="X-B: 1"
hdr[eg-duration]="Cookie: $cookie" hdr[eg-hash]="Cookie: sid=user-42"
targets="nginx-cache eg-cache eg-rr eg-duration eg-hash"

# CPU ticks (user + system) used so far by the proxy serving TARGET: the easegress-rs
# process (all threads), or NGINX's worker (the child of its master).
ngx_worker=$(pgrep -P "${pids[1]}" | head -1)
ticks() {
  local pid=${pids[2]}
  [[ $1 == nginx-cache ]] && pid=$ngx_worker
  awk '{print $14 + $15}' "/proc/$pid/stat"
}
hz=$(getconf CLK_TCK)
wrk1() { # TARGET SECONDS -> "rps cpu_us_per_request"
  local before after out
  before=$(ticks "$1")
  out=$(timeout -k 5 $(($2 + 20)) taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$2s" \
    -H "${hdr[$1]}" "${url[$1]}")
  after=$(ticks "$1")
  grep -q Non-2xx <<<"$out" && echo "$1: non-2xx answers" >&2
  awk -v b="$before" -v a="$after" -v hz="$hz" '
    / requests in /{n=$1} /Requests\/sec/{r=$2}
    END{printf "%s %.1f\n", r, (a-b)/hz*1e6/n}' <<<"$out"
}
for t in $targets; do wrk1 "$t" 1 >/dev/null; done
declare -A rps cpu
for r in $(seq 1 "$ROUNDS"); do
  for t in $targets; do
    read -r v c < <(wrk1 "$t" "$DURATION")
    rps[$t]="${rps[$t]:-} $v" cpu[$t]="${cpu[$t]:-} $c"
    echo "round $r $t rps=$v cpu_us_per_req=$c" >&2
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
ngx=$(echo "${cpu[nginx-cache]}" | median)
rr=$(echo "${cpu[eg-rr]}" | median)
for t in $targets; do
  m=$(echo "${rps[$t]}" | median) c=$(echo "${cpu[$t]}" | median)
  awk -v t="$t" -v m="$m" -v c="$c" -v n="$ngx" -v r="$rr" \
    'BEGIN{printf "RESULT target=%s rps=%.0f cpu_us_per_req=%.1f cpu_vs_nginx_cache=%.2f cpu_vs_eg_rr=%.2f\n", t, m, c, c/n, c/r}'
done
