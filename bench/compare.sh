#!/usr/bin/env bash
# Compares easegress-server setups ("variants", see bench/variants.sh for the file format):
# first callgrind instructions per request of each (bench/instructions.sh, MEASURES
# measurements in one process), then interleaved wrk runs of all of them in one run
# (bench/variants.sh). The first variant is the reference of the ratios. The scripts that
# generate variants (route-scale.sh, pipeline-overhead.sh, security-filters.sh) end here.
#
#   bash bench/compare.sh OUT_DIR REFERENCE.env OTHER.env...
#
# Environment: PHASES ("instructions wrk"), REQUESTS (1000), WARMUP_REQUESTS (200),
# MEASURES (3), and those of variants.sh (ROUNDS, DURATION, CONNS, EG_BIN, ...).
# Writes OUT_DIR/instructions.txt, OUT_DIR/wrk.txt and prints both tables.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$1
shift
mkdir -p "$out"
phases=${PHASES:-instructions wrk}

if [[ $phases == *instructions* ]]; then
  : >"$out/instructions.raw"
  for f in "$@"; do
    name=$(basename "$f" .env)
    echo "== instructions: $name" >&2
    res=$(
      set -a
      # shellcheck disable=SC1090
      source "$f"
      REQUESTS=${REQUESTS:-1000} WARMUP=${WARMUP_REQUESTS:-200} MEASURES=${MEASURES:-3} \
        bash "$here/instructions.sh" 2>"$out/instructions-$name.err"
    )
    echo "$res" >"$out/instructions-$name.txt"
    per=$(awk -F': *' '/^per request:/ {print $2}' <<<"$res")
    each=$(awk -F': *' '/^each measure:/ {print $2}' <<<"$res")
    printf '%s\t%s\t%s\n' "$name" "$per" "$each" >>"$out/instructions.raw"
  done
  awk -F'\t' '
    NR == 1 { ref = $2 }
    { n = split($3, e, " "); lo = e[1]; hi = e[1]
      for (i = 2; i <= n; i++) { if (e[i] < lo) lo = e[i]; if (e[i] > hi) hi = e[i] }
      printf "RESULT %-22s %10d instructions/request  spread %.2f%%  x ref %.3f  (+%d)\n",
        $1, $2, (hi - lo) * 100 / lo, $2 / ref, $2 - ref }' "$out/instructions.raw" \
    | tee "$out/instructions.txt"
fi

if [[ $phases == *wrk* ]]; then
  echo "== wrk, interleaved: $*" >&2
  bash "$here/variants.sh" "$@" 2>"$out/wrk-rounds.txt" | tee "$out/wrk.txt"
fi
