#!/usr/bin/env bash
# Whether applying a large spec stalls traffic: wrk drives an HTTPServer → Mock pipeline
# while a Pipeline whose `data` holds KEYS keys is created and updated every second, and
# prints wrk's latency percentiles next to a run without the large specs.
#
#   bash bench/large-spec-under-load.sh                 # KEYS=124000 CONNS=50 SECONDS_=10
#   THREADS=1 bash bench/large-spec-under-load.sh       # --worker-threads 1
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/bin}
KEYS=${KEYS:-124000}
CONNS=${CONNS:-50}
SECONDS_=${SECONDS_:-10}
THREADS=${THREADS:-0}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
gw_port=$(free_port); api_port=$(free_port)
cleanup() { kill "${srv_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$BIN/easegress-server" --name bigspec --api-addr 127.0.0.1:$api_port --home-dir "$work/home" \
  --data-dir "$work/data" --log-dir "$work/log" --disable-access --worker-threads "$THREADS" >/dev/null 2>&1 & srv_pid=$!
api="http://127.0.0.1:$api_port/apis/v2"
for _ in $(seq 100); do curl -sf "$api/healthz" >/dev/null && break; sleep 0.1; done

curl -sf -X POST "$api/objects" -H 'Content-Type: application/yaml' --data-binary @- >/dev/null <<Y
name: mock-pipeline
kind: Pipeline
filters:
- name: mock
  kind: Mock
  rules:
  - code: 200
    body: ok
Y
curl -sf -X POST "$api/objects" -H 'Content-Type: application/yaml' --data-binary @- >/dev/null <<Y
name: bigspec-server
kind: HTTPServer
port: $gw_port
address: 127.0.0.1
rules:
- paths:
  - pathPrefix: /
    backend: mock-pipeline
Y
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$gw_port/" >/dev/null && break; sleep 0.1; done

# YAML, as egctl sends it (the slower parser of the two).
python3 - "$KEYS" > "$work/big.yaml" <<'PY'
import sys
n = int(sys.argv[1])
print("name: big-pipeline\nkind: Pipeline\nfilters:\n- name: mock\n  kind: Mock\n  rules:\n  - code: 200\n    body: big\ndata:")
for i in range(n):
    print(f"  key-{i}: {i}")
PY
echo "spec: $(wc -c < "$work/big.yaml") bytes of YAML, $KEYS keys"

run_wrk() { wrk -t1 -c"$CONNS" -d"${SECONDS_}s" --latency "http://127.0.0.1:$gw_port/" > "$1"; }
pcts() { awk '/^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Requests\/sec/ {rps=$2} END {print "p50=" p50, "p99=" p99, "req/s=" rps}' "$1"; }

run_wrk "$work/quiet.txt"
echo "RESULT without large specs: $(pcts "$work/quiet.txt")"

run_wrk "$work/busy.txt" & wrk_pid=$!
applied=0; refused=0
end=$(( $(date +%s) + SECONDS_ - 1 ))
while [ "$(date +%s)" -lt "$end" ]; do
  method=POST; path=objects
  [ "$applied" -gt 0 ] && { method=PUT; path=objects/big-pipeline; }
  code=$(curl -s -o /dev/null -w '%{http_code}' -X "$method" "$api/$path" -H 'Content-Type: application/yaml' --data-binary @"$work/big.yaml")
  case $code in 2*) applied=$((applied + 1));; *) refused=$((refused + 1));; esac
  sleep 1
done
wait $wrk_pid
echo "RESULT with a $KEYS-key spec applied $applied times (refused $refused): $(pcts "$work/busy.txt")"
