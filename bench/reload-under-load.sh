#!/usr/bin/env bash
# Applies 100 HTTPServer rule updates while wrk drives traffic through the server, and
# fails unless every request succeeded (no non-2xx answers, no socket errors).
# With RESTART_EVERY=N every Nth update also changes keepAliveTimeout, which restarts the
# listener on the same port (the old one hands its socket over and drains its connections).
#
#   bash bench/reload-under-load.sh            # uses bin/easegress-server and bin/egctl
#   UPDATES=1000 CONNS=50 RESTART_EVERY=10 bash bench/reload-under-load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/bin}
UPDATES=${UPDATES:-100}
CONNS=${CONNS:-50}
RESTART_EVERY=${RESTART_EVERY:-0}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }

work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up_port=$(free_port); gw_port=$(free_port); api_port=$(free_port)
cleanup() { kill "${srv_pid:-}" "${ngx_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $work/nginx/nginx.pid; error_log $work/nginx/error.log;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$up_port; location / { return 200 "ok\n"; } } }
NGX
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & ngx_pid=$!

"$BIN/easegress-server" --name reload --api-addr 127.0.0.1:$api_port --home-dir "$work/home" \
  --data-dir "$work/data" --log-dir "$work/log" --disable-access >/dev/null 2>&1 & srv_pid=$!
egctl() { "$BIN/egctl" --server 127.0.0.1:$api_port "$@"; }
for _ in $(seq 100); do egctl health >/dev/null 2>&1 && break; sleep 0.1; done

server_yaml() { # $1: a per-update path so that every update really changes the rules
  local ka=60
  if [ "$RESTART_EVERY" -gt 0 ]; then ka=$(( 60 + $1 / RESTART_EVERY )); fi
  cat <<Y
name: reload-server
kind: HTTPServer
port: $gw_port
keepAlive: true
keepAliveTimeout: ${ka}s
rules:
  - paths:
      - path: /update-$1
        backend: reload-pipeline
      - pathPrefix: /
        backend: reload-pipeline
Y
}
cat <<Y | egctl create -f - >/dev/null
name: reload-pipeline
kind: Pipeline
filters:
  - name: proxy
    kind: Proxy
    pools:
      - servers:
          - url: http://127.0.0.1:$up_port
Y
server_yaml 0 | egctl create -f - >/dev/null
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$gw_port/" >/dev/null && break; sleep 0.1; done

duration=$(( UPDATES / 10 + 5 ))
wrk -t1 -c"$CONNS" -d"${duration}s" "http://127.0.0.1:$gw_port/" > "$work/wrk.txt" & wrk_pid=$!
sleep 1
start=$(date +%s.%N)
for i in $(seq 1 "$UPDATES"); do server_yaml "$i" | egctl apply -f - >/dev/null; done
end=$(date +%s.%N)
wait $wrk_pid
cat "$work/wrk.txt"
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt"); non2xx=${non2xx:-0}
errors=$(awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}' "$work/wrk.txt"); errors=${errors:-0}
final=$(egctl get httpserver reload-server -o yaml | grep -c "update-$UPDATES" || true)
restarts=0; [ "$RESTART_EVERY" -gt 0 ] && restarts=$(( UPDATES / RESTART_EVERY ))
echo "RESULT updates=$UPDATES listener_restarts=$restarts apply_seconds=$(echo "$end - $start" | bc) requests=$requests non2xx=$non2xx socket_errors=$errors last_update_stored=$final"
[ "$non2xx" = 0 ] && [ "$errors" = 0 ] && [ "$final" -ge 1 ]
