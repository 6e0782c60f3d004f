#!/usr/bin/env bash
# The proxy benchmark of easegress-rs against NGINX and HAProxy (`make bench`).
#
# Runs the common yardstick ../shared/bench/proxy-bench.sh with bin/easegress-server as the
# candidate (through bench/candidate.sh) three times: with one worker thread (like for like:
# nginx and haproxy run one worker), with the runtime's default thread count, and as users
# run it (default threads, the HTTPServer's default access log on, against `nginx-log`:
# NGINX with its default access log), then prints every candidate number as a ratio to NGINX
# measured in the same run.
#
# Environment (all optional):
#   SHARED          the shared material                       <repo>/../shared
#   OUT             where results go (not committed)           bench/out/<UTC time>
#   BODY            body sizes                                 "64 16k"
#   CONNS           wrk connections                            "50 200"
#   ROUNDS          interleaved rounds per setting             3
#   DURATION        seconds per wrk run                        5
#   WARMUP          unmeasured seconds per target and setting  2
#   TARGETS_EXTRA   targets besides nginx and the candidate    "direct haproxy"
#   MODES           which runs: "1t" (one worker thread), "mt" (default count), "users"
#                   (default count, access log on, against nginx-log)   "1t mt users"
#   CANDIDATE_PORT  port of the candidate                      18090
#   (any other proxy-bench.sh variable, e.g. QUIET_WAIT, NOISY_PCT, PROXY_CPU, passes through)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
SHARED=${SHARED:-$repo/../shared}
harness=$SHARED/bench/proxy-bench.sh
[[ -f $harness ]] || { echo "bench: $harness not found (set SHARED=...)" >&2; exit 1; }
[[ -x $repo/bin/easegress-server ]] || { echo "bench: bin/easegress-server missing (run make)" >&2; exit 1; }

export BODY=${BODY:-64 16k}
export CONNS=${CONNS:-50 200}
export ROUNDS=${ROUNDS:-3}
export DURATION=${DURATION:-5}
export WARMUP=${WARMUP:-2}
TARGETS_EXTRA=${TARGETS_EXTRA-direct haproxy}
MODES=${MODES:-1t mt users}
export CANDIDATE_PORT=${CANDIDATE_PORT:-18090}
OUT=${OUT:-$here/out/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"

# wrk, nginx and haproxy from Debian when missing (no service is started).
missing=()
for b in wrk nginx haproxy curl python3; do
  command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
if (( ${#missing[@]} )); then
  echo "bench: installing ${missing[*]} with apt-get"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Per-start temp dirs of the candidate, removed at exit.
export EG_BENCH_TMP=$OUT/tmp
mkdir -p "$EG_BENCH_TMP"
trap 'rm -rf "$EG_BENCH_TMP"' EXIT

for mode in $MODES; do
  access_log=${EG_ACCESS_LOG:-0}
  targets="$TARGETS_EXTRA nginx"
  case $mode in
    1t) threads=1; name=eg-1t ;;
    mt) threads=default; name=eg-mt ;;
    users) threads=default; name=eg-users; access_log=1; targets="$TARGETS_EXTRA nginx nginx-log" ;;
    *) echo "bench: unknown mode $mode (1t, mt or users)" >&2; exit 1 ;;
  esac
  echo "== $name: easegress-server --worker-threads ${threads}, access log $([[ $access_log == 1 ]] && echo on || echo off); body ${BODY}; conns ${CONNS}; ${ROUNDS} rounds x ${DURATION}s"
  EG_WORKER_THREADS=$threads \
  EG_ACCESS_LOG=$access_log \
  CANDIDATE_NAME=$name \
  CANDIDATE_CMD="$here/candidate.sh" \
  TARGETS="$targets $name" \
    bash "$harness" -o "$OUT/$name" | tee "$OUT/$name.log"
done

python3 "$here/summary.py" "$OUT" | tee "$OUT/summary.txt"
echo "== results in $OUT"
