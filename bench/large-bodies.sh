#!/usr/bin/env bash
# Memory with large bodies: a 1 GiB upload and a 1 GiB download through easegress-server,
# both streamed (HTTPServer clientMaxBodySize: -1, Proxy serverMaxBodySize: -1), with the
# server's peak RSS (VmHWM) read from /proc after each transfer. Memory must stay flat:
# the peak after the transfers should be close to the peak after a small warm-up.
#
# Environment (all optional):
#   SIZE_MB            transfer size in MiB                  1024
#   EG_WORKER_THREADS  --worker-threads                      1 (0 = one per CPU)
#   UPSTREAM_PORT      the sink/source upstream's port       18180
#   CANDIDATE_PORT     the HTTPServer's port                 18190
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SIZE_MB=${SIZE_MB:-1024}
export UPSTREAM_PORT=${UPSTREAM_PORT:-18180}
export CANDIDATE_PORT=${CANDIDATE_PORT:-18190}
export EG_WORKER_THREADS=${EG_WORKER_THREADS:-1}
export EG_CLIENT_MAX_BODY=-1
export EG_SERVER_MAX_BODY=-1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/eg-large.XXXXXX")
export EG_BENCH_TMP=$tmp
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# The upstream: POST/PUT bodies are read and dropped (Content-Length or chunked), then
# answered with the byte count; GET /download?mb=N sends N MiB of zeros.
cat >"$tmp/upstream.py" <<'PY'
import http.server, socketserver, sys
CHUNK = b"\0" * (1 << 20)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        mb = int(self.path.partition("mb=")[2] or "1")
        self.send_response(200)
        self.send_header("Content-Length", str(mb << 20))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        for _ in range(mb):
            self.wfile.write(CHUNK)
    def do_POST(self):
        n = 0
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    got = len(self.rfile.read(min(left, 1 << 20)))
                    if not got:
                        return
                    left -= got
                n += size
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                got = len(self.rfile.read(min(left, 1 << 20)))
                if not got:
                    return
                left -= got
                n += got
        body = ("%d\n" % n).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_PUT = do_POST
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$tmp/upstream.py" "$UPSTREAM_PORT" &
pids+=($!)

"$here/candidate.sh" >"$tmp/server.log" 2>&1 &
eg=$!
pids+=("$eg")

for _ in $(seq 1 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$CANDIDATE_PORT/download?mb=1" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$CANDIDATE_PORT/download?mb=1" || { cat "$tmp/server.log"; exit 1; }

hwm() { awk '/^VmHWM/ {print $2}' "/proc/$eg/status"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$eg/status"; }

# Warm-up: a few small transfers each way.
truncate -s 4M "$tmp/small.bin"
for _ in 1 2 3; do
  curl -fsS -o /dev/null "http://127.0.0.1:$CANDIDATE_PORT/download?mb=4"
  curl -fsS -o /dev/null -X POST -T "$tmp/small.bin" "http://127.0.0.1:$CANDIDATE_PORT/upload"
done
base=$(hwm)
truncate -s "${SIZE_MB}M" "$tmp/big.bin"

echo "== ${SIZE_MB} MiB through easegress-server (--worker-threads $EG_WORKER_THREADS), clientMaxBodySize -1, serverMaxBodySize -1"
printf '%-34s %8s %12s %8s %10s %10s\n' transfer status bytes seconds MiB/s peak_RSS_kB
printf '%-34s %8s %12s %8s %10s %10s\n' "after warm-up (3 x 4 MiB each way)" - - - - "$base"
run() { # LABEL CURL-ARGS...
  local label=$1; shift
  local out
  out=$(curl -sS -o "$tmp/resp" -w '%{http_code} %{size_upload} %{size_download} %{time_total}' "$@")
  read -r code up down secs <<<"$out"
  local bytes=$(( up > down ? up : down ))
  local rate
  rate=$(awk -v b="$bytes" -v s="$secs" 'BEGIN{printf "%.0f", (s > 0) ? b / 1048576 / s : 0}')
  printf '%-34s %8s %12s %8s %10s %10s\n' "$label" "$code" "$bytes" "$secs" "$rate" "$(hwm)"
}
run "upload (Content-Length)" -X POST -T "$tmp/big.bin" "http://127.0.0.1:$CANDIDATE_PORT/upload"
echo "   upstream counted $(cat "$tmp/resp" | tr -d '\n') bytes"
run "upload (chunked, from a pipe)" -X POST -T - "http://127.0.0.1:$CANDIDATE_PORT/upload" <"$tmp/big.bin"
echo "   upstream counted $(cat "$tmp/resp" | tr -d '\n') bytes"
run "download" "http://127.0.0.1:$CANDIDATE_PORT/download?mb=$SIZE_MB"
echo "== peak RSS grew by $(( $(hwm) - base )) kB over the warm-up peak; RSS now $(rss) kB"
