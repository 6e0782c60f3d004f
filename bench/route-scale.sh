#!/usr/bin/env bash
# Route scale: the cost of finding the route among 10,000 paths against among one, for
# both router kinds. One HTTPServer rule holds the paths (`path: /svc/<i>/items`, exact,
# all to the same Proxy pipeline); requests hit the middle path (i = 4999) or the last one
# (i = 9999); the reference has the one path /svc/0/items. `cacheSize` stays 0 (the
# default: no route cache) except in the `ordered-10k-last-cache` variant.
#
# Instructions per request first, then interleaved wrk runs (bench/compare.sh).
#   bash bench/route-scale.sh
#   PATHS=1000 PHASES=instructions bash bench/route-scale.sh
# Environment: PATHS (10000), OUT (bench/out/routes-<UTC time>), and bench/compare.sh's.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${OUT:-$here/out/routes-$(date -u +%Y%m%dT%H%M%SZ)}
paths=${PATHS:-10000}
mkdir -p "$out/variants"
v=$out/variants

bash "$here/path-rules.sh" 1 >"$v/rules-1.yaml"
bash "$here/path-rules.sh" "$paths" >"$v/rules-many.yaml"
mid=$((paths / 2 - 1))
last=$((paths - 1))
k=$((paths / 1000))k

variant() { # NAME RULES PATH SERVER_YAML
  {
    echo "EG_RULES_FILE=$v/$2"
    echo "REQ_PATH=$3"
    printf 'EG_SERVER_YAML=%q\n' "$4"
  } >"$v/$1.env"
}
variant ordered-1 rules-1.yaml /svc/0/items "routerKind: Ordered"
variant "ordered-$k-mid" rules-many.yaml "/svc/$mid/items" "routerKind: Ordered"
variant "ordered-$k-last" rules-many.yaml "/svc/$last/items" "routerKind: Ordered"
variant "ordered-$k-last-cache" rules-many.yaml "/svc/$last/items" "routerKind: Ordered
cacheSize: 10240"
variant radix-1 rules-1.yaml /svc/0/items "routerKind: RadixTree"
variant "radix-$k-mid" rules-many.yaml "/svc/$mid/items" "routerKind: RadixTree"
variant "radix-$k-last" rules-many.yaml "/svc/$last/items" "routerKind: RadixTree"

bash "$here/compare.sh" "$out" "$v/ordered-1.env" "$v/ordered-$k-mid.env" "$v/ordered-$k-last.env" \
  "$v/ordered-$k-last-cache.env" "$v/radix-1.env" "$v/radix-$k-mid.env" "$v/radix-$k-last.env"
echo "== results in $out"
