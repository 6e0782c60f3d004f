#!/usr/bin/env bash
# Starts easegress-server as the proxy-bench candidate, in the foreground:
#   HTTPServer (127.0.0.1:$CANDIDATE_PORT, keepAlive) -> Pipeline -> Proxy -> 127.0.0.1:$UPSTREAM_PORT
#
# Environment:
#   UPSTREAM_PORT       upstream port (exported by proxy-bench.sh)            required
#   CANDIDATE_PORT      port the HTTPServer listens on                         required
#   EG_WORKER_THREADS   --worker-threads; 0 or "default" = one per CPU         1
#   EG_BIN              the server binary                     <repo>/bin/easegress-server
#   EG_BENCH_TMP        parent of the per-start temp dir (home, data, specs)   $TMPDIR or /tmp
#   EG_ACCESS_LOG       1 = keep the access log on (written to the temp dir)   0
#   EG_SERVER_MAX_BODY  the Proxy's serverMaxBodySize                          (its default, 4 MiB)
#   EG_CLIENT_MAX_BODY  the HTTPServer's clientMaxBodySize                     (its default, 4 MiB)
#   EG_EXTRA_ARGS       more easegress-server flags
#   EG_REQUEST_ADAPTOR  1 = put a RequestAdaptor (one header set) before the Proxy   0
#   EG_TRACING          1 = HTTPServer tracing, sampleRate 1, OTLP/HTTP to the upstream
#                       (whose 200 to any request serves as the collector)          0
#   EG_FILTERS_FILE     a file of filter specs (YAML list items indented as under
#                       `filters:`) run in their order before the Proxy; the flow is
#                       taken from their `  - name:` lines                          none
#   EG_RULES_FILE       a file holding the HTTPServer's `rules:` list, routing to
#                       `bench-pipeline` (replaces the one catch-all path)          none
#   EG_SERVER_YAML      more top-level HTTPServer lines (`routerKind: RadixTree`)   none
#   EG_TLS_CERT         a PEM certificate (chain) file: the HTTPServer serves HTTPS,
#                       HTTP/2 offered by ALPN; EG_TLS_KEY names its key's file     none
#
# Everything lives in a fresh temp dir below EG_BENCH_TMP (the caller removes it); the
# script execs the server, so the caller's process group and PID are the server's.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${UPSTREAM_PORT:?UPSTREAM_PORT is required}"
: "${CANDIDATE_PORT:?CANDIDATE_PORT is required}"
bin=${EG_BIN:-$here/../bin/easegress-server}
[[ -x $bin ]] || { echo "candidate.sh: $bin not found (run make first)" >&2; exit 1; }
threads=${EG_WORKER_THREADS:-1}

dir=$(mktemp -d "${EG_BENCH_TMP:-${TMPDIR:-/tmp}}/eg-candidate.XXXXXX")
mkdir -p "$dir/home" "$dir/data" "$dir/logs"

# A free loopback port for the admin API.
api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

server_body=""
[[ -n ${EG_SERVER_MAX_BODY:-} ]] && server_body="    serverMaxBodySize: $EG_SERVER_MAX_BODY"
client_body=""
[[ -n ${EG_CLIENT_MAX_BODY:-} ]] && client_body="clientMaxBodySize: $EG_CLIENT_MAX_BODY"

adaptor_flow=""
adaptor_filter=""
if [[ ${EG_REQUEST_ADAPTOR:-0} == 1 ]]; then
  adaptor_flow="  - filter: adaptor"
  adaptor_filter="  - name: adaptor
    kind: RequestAdaptor
    header:
      set:
        X-Bench: easegress-rs"
fi

extra_flow=""
extra_filters=""
if [[ -n ${EG_FILTERS_FILE:-} ]]; then
  extra_filters=$(cat "$EG_FILTERS_FILE")
  extra_flow=$(sed -n 's/^  - name: *\([^ ]*\).*$/  - filter: \1/p' "$EG_FILTERS_FILE")
fi

cat >"$dir/pipeline.yaml" <<YAML
name: bench-pipeline
kind: Pipeline
flow:
$adaptor_flow
$extra_flow
  - filter: proxy
filters:
$adaptor_filter
$extra_filters
  - name: proxy
    kind: Proxy
$server_body
    pools:
      - servers:
          - url: http://127.0.0.1:$UPSTREAM_PORT
        loadBalance:
          policy: roundRobin
YAML

https=false
tls=""
if [[ -n ${EG_TLS_CERT:-} ]]; then
  : "${EG_TLS_KEY:?EG_TLS_KEY is required with EG_TLS_CERT}"
  https=true
  tls="certs:
  bench: |
$(sed 's/^/    /' "$EG_TLS_CERT")
keys:
  bench: |
$(sed 's/^/    /' "$EG_TLS_KEY")"
fi

tracing=""
if [[ ${EG_TRACING:-0} == 1 ]]; then
  tracing="tracing:
  serviceName: bench
  sampleRate: 1
  exporter:
    otlp: {protocol: http, endpoint: 127.0.0.1:$UPSTREAM_PORT, insecure: true}"
fi

rules="rules:
  - paths:
      - pathPrefix: /
        backend: bench-pipeline"
[[ -n ${EG_RULES_FILE:-} ]] && rules=$(cat "$EG_RULES_FILE")

cat >"$dir/httpserver.yaml" <<YAML
name: bench-server
kind: HTTPServer
address: 127.0.0.1
port: $CANDIDATE_PORT
keepAlive: true
https: $https
$tls
$client_body
$tracing
${EG_SERVER_YAML:-}
$rules
YAML

args=(
  --name bench-member
  --home-dir "$dir/home"
  --data-dir "$dir/data"
  --log-dir "$dir/logs"
  --api-addr "127.0.0.1:$api_port"
  --initial-object-config-files "$dir/pipeline.yaml,$dir/httpserver.yaml"
)
case $threads in
  0 | default | "") ;;
  *) args+=(--worker-threads "$threads") ;;
esac
[[ ${EG_ACCESS_LOG:-0} == 1 ]] || args+=(--disable-access)
# shellcheck disable=SC2206
[[ -n ${EG_EXTRA_ARGS:-} ]] && args+=($EG_EXTRA_ARGS)

exec "$bin" "${args[@]}"
