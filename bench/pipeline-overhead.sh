#!/usr/bin/env bash
# Pipeline overhead: a bare `Proxy` against five filters in front of the same Proxy:
#
#   RequestAdaptor (sets X-Bench) -> Validator (X-Bench must be "easegress-rs")
#   -> RateLimiter (one policy, 10,000,000 permits per second, every path)
#   -> HeaderCounter (counts X-Bench) -> Proxy
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

cat >"$v/five-filters.yaml" <<'YAML'
  - name: adaptor
    kind: RequestAdaptor
    header:
      set:
        X-Bench: easegress-rs
  - name: validator
    kind: Validator
    headers:
      X-Bench:
        values: [easegress-rs]
  - name: limiter
    kind: RateLimiter
    policies:
      - name: high
        timeoutDuration: 0s
        limitRefreshPeriod: 1s
        limitForPeriod: 10000000
    defaultPolicyRef: high
    urls:
      - url: {prefix: /}
  - name: counter
    kind: HeaderCounter
    headers: [X-Bench]
YAML

echo "# Proxy only" >"$v/proxy.env"
echo "EG_FILTERS_FILE=$v/five-filters.yaml" >"$v/five-filters.env"
bash "$here/compare.sh" "$out" "$v/proxy.env" "$v/five-filters.env"
echo "== results in $out"
