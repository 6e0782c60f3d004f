#!/usr/bin/env bash
# Builds bench/floor-proxy (release, into <repo>/target/bench-floor) and prints the path of
# its binary; used by bench/floor.sh, bench/instructions.sh and bench/profile.sh.
set -euo pipefail
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
target=$(cd "$dir/../.." && pwd)/target/bench-floor
cargo build --release --quiet --manifest-path "$dir/Cargo.toml" --target-dir "$target" >&2
echo "$target/release/floor-proxy"
