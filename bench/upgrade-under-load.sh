#!/usr/bin/env bash
# Binary upgrades under load: wrk drives keep-alive traffic through an HTTPServer → Pipeline
# → Proxy → NGINX while, every few seconds, a fresh copy of the binary is moved over the
# server's program file and `easegress-server --signal-upgrade` replaces the process.
# Fails unless every request succeeded (no non-2xx answers, no socket errors), the pid
# changed at least MIN_UPGRADES times and the objects are still listed.
# Then the negative case: a "binary" that exits 1 is put in place and signalled; the old
# process must keep serving, still with no failed request.
#
#   bash bench/upgrade-under-load.sh            # uses bin/easegress-server and bin/egctl
#   DURATION=40 EVERY=4 CONNS=50 bash bench/upgrade-under-load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/bin}
DURATION=${DURATION:-25}
EVERY=${EVERY:-4}
CONNS=${CONNS:-50}
MIN_UPGRADES=${MIN_UPGRADES:-5}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }

work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up_port=$(free_port); gw_port=$(free_port); api_port=$(free_port)
pid_now() { cat "$work/home/easegress.pid" 2>/dev/null || true; }
cleanup() {
  kill "${ngx_pid:-}" "${wrk_pid:-}" 2>/dev/null || true
  p=$(pid_now); [ -n "$p" ] && kill "$p" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/nginx" "$work/bin"
cat > "$work/nginx/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $work/nginx/nginx.pid; error_log $work/nginx/error.log;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$up_port; location / { return 200 "ok\n"; } } }
NGX
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & ngx_pid=$!

# The server runs from its own copy, so that the file at its path can be replaced.
prog="$work/bin/easegress-server"
cp "$BIN/easegress-server" "$prog"
"$prog" --name upgrade --api-addr 127.0.0.1:$api_port --home-dir "$work/home" \
  --data-dir "$work/data" --log-dir "$work/log" --disable-access >/dev/null 2>&1 &
egctl() { "$BIN/egctl" --server 127.0.0.1:$api_port "$@"; }
for _ in $(seq 100); do egctl health >/dev/null 2>&1 && break; sleep 0.1; done

cat <<Y | egctl create -f - >/dev/null
name: upgrade-pipeline
kind: Pipeline
filters:
  - name: proxy
    kind: Proxy
    pools:
      - servers:
          - url: http://127.0.0.1:$up_port
Y
cat <<Y | egctl create -f - >/dev/null
name: upgrade-server
kind: HTTPServer
port: $gw_port
keepAlive: true
keepAliveTimeout: 60s
rules:
  - paths:
      - pathPrefix: /
        backend: upgrade-pipeline
Y
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$gw_port/" >/dev/null && break; sleep 0.1; done

# Replaces the program file and asks the running process for an upgrade.
upgrade_to() { # $1: the file to put in place
  cp "$1" "$prog.new" && mv -f "$prog.new" "$prog"
  "$BIN/easegress-server" --signal-upgrade --home-dir "$work/home" >/dev/null
}

run_load() { # $1: label, $2: file to upgrade to; sets requests/non2xx/errors/changes
  local label=$1 file=$2 pids=() end
  wrk -t1 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$gw_port/" > "$work/wrk-$label.txt" & wrk_pid=$!
  pids+=("$(pid_now)")
  end=$(( $(date +%s) + DURATION - EVERY ))
  sleep 1
  while [ "$(date +%s)" -lt "$end" ]; do
    upgrade_to "$file"
    sleep "$EVERY"
    pids+=("$(pid_now)")
  done
  wait $wrk_pid; wrk_pid=
  cat "$work/wrk-$label.txt"
  requests=$(awk '/requests in/ {print $1}' "$work/wrk-$label.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk-$label.txt"); non2xx=${non2xx:-0}
  errors=$(awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}' "$work/wrk-$label.txt"); errors=${errors:-0}
  changes=$(printf '%s\n' "${pids[@]}" | uniq | awk 'END {print NR - 1}')
  echo "pids: ${pids[*]}"
}

fresh="$work/fresh"; cp "$BIN/easegress-server" "$fresh"
run_load upgrade "$fresh"
objects=$(egctl get all 2>/dev/null | grep -c "upgrade-" || true)
echo "RESULT case=upgrade requests=$requests non2xx=$non2xx socket_errors=$errors pid_changes=$changes objects_listed=$objects"
ok=1
{ [ "$non2xx" = 0 ] && [ "$errors" = 0 ] && [ "$changes" -ge "$MIN_UPGRADES" ] && [ "$objects" -ge 2 ]; } || ok=0

broken="$work/broken"; printf '#!/bin/sh\nexit 1\n' > "$broken"; chmod +x "$broken"
run_load broken "$broken"
failed=$(grep -c "upgrade failed; this process keeps serving" "$work/log/stdout.log" || true)
objects=$(egctl get all 2>/dev/null | grep -c "upgrade-" || true)
echo "RESULT case=broken-binary requests=$requests non2xx=$non2xx socket_errors=$errors pid_changes=$changes failed_upgrades_logged=$failed objects_listed=$objects"
{ [ "$non2xx" = 0 ] && [ "$errors" = 0 ] && [ "$changes" = 0 ] && [ "$failed" -ge 1 ] && [ "$objects" -ge 2 ]; } || ok=0
[ "$ok" = 1 ]
