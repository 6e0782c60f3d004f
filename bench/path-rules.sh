#!/usr/bin/env bash
# Prints an HTTPServer `rules:` list of one rule with COUNT exact paths `/svc/<i>/items`
# (i = 0 .. COUNT-1), all to the `bench-pipeline` pipeline: bench/candidate.sh's
# EG_RULES_FILE for bench/route-scale.sh and for pgo/train.sh's routing workloads.
#   bash bench/path-rules.sh COUNT > rules.yaml
set -euo pipefail
count=${1:?usage: path-rules.sh COUNT}
echo "rules:"
echo "  - paths:"
for ((i = 0; i < count; i++)); do
  printf '      - path: /svc/%d/items\n        backend: bench-pipeline\n' "$i"
done
