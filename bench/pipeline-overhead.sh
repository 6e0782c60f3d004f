#!/usr/bin/env bash
# Pipeline overhead: a bare `Proxy` against five filters in front of the same Proxy:
#
#   RequestAdaptor (sets X-Bench) -> Validator (X-Bench must be "easegress-rs")
#   -> RateLimiter (one policy, 10,000,000 permits per second, every path)
#   -> HeaderCounter (counts X-Bench) -> Proxy
#
# The four filters are in bench/pipeline-filters.yaml (the release build's profile is trained on
# them too: pgo/train.sh).
#
# Instructions per request first, then interleaved wrk runs (bench/compare.sh).
#   bash bench/pipeline-overhead.sh
#   PHASES=instructions bash bench/pipeline-overhead.sh
# Environment: OUT (bench/out/pipeline-<UTC time>), and bench/compare.sh's.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${OUT:-$here/out/pipeline-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out/variants"
v=$out/variants

echo "# Proxy only" >"$v/proxy.env"
echo "EG_FILTERS_FILE=$here/pipeline-filters.yaml" >"$v/five-filters.env"
bash "$here/compare.sh" "$out" "$v/proxy.env" "$v/five-filters.env"
echo "== results in $out"
