#!/bin/sh
# Prints the rustc flags that optimise a release build with the committed profile
# (pgo/easegress-server.profdata), or nothing when it cannot be used: PGO=0, no profile,
# a checkout path with spaces (RUSTFLAGS is split on them), or a rustc whose LLVM is not the
# one that wrote the profile (another LLVM may not read its format). Used by `make` and the
# Dockerfile; a note on standard error says why the profile was left out.
dir=$(cd "$(dirname "$0")" && pwd)
profile=$dir/easegress-server.profdata
[ "${PGO:-1}" = 0 ] && exit 0
{ [ -f "$profile" ] && [ -f "$dir/llvm-version" ]; } || exit 0
case $profile in
  *" "*) echo "pgo: the checkout's path has a space; building without the profile" >&2; exit 0 ;;
esac
have=$(rustc -vV 2>/dev/null | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
want=$(cat "$dir/llvm-version")
if [ "$have" != "$want" ]; then
  echo "pgo: the profile was written by LLVM $want, rustc has LLVM ${have:-unknown}: building without it" >&2
  exit 0
fi
printf '%s\n' "-Cprofile-use=$profile"
