# Sourced by the bench scripts that start servers of their own (instructions.sh,
# profile.sh, syscalls.sh, tls.sh):
#
#   scratch_dir PREFIX
#
# Makes the run's temp dir, $tmp (below $TMPDIR or /tmp, mode 755: NGINX workers may run as
# another user), and an EXIT trap that stops every PID in the array $pids (its process
# group first, for a PID that leads one) and every server with a PID file directly in $tmp
# (NGINX's), then removes $tmp, or keeps it and says so with KEEP_TMP=1.
#
#   free_port
#
# Prints a loopback port free now.
#
#   wait_answering URL WHO LOG
#
# Waits (30 s at most) until GET URL answers 200 (certificates not checked); else says so,
# naming WHO, shows the end of LOG, and exits.
scratch_dir() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  chmod 755 "$tmp"
  pids=()
  trap scratch_cleanup EXIT
}

scratch_cleanup() {
  local p f
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  for f in "$tmp"/*.pid; do [[ -f $f ]] && kill "$(cat "$f" 2>/dev/null)" 2>/dev/null || true; done
  if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_answering() {
  local i
  for ((i = 0; i < 300; i++)); do
    [[ $(curl -sk -o /dev/null -w '%{http_code}' "$1" 2>/dev/null) == 200 ]] && return 0
    sleep 0.1
  done
  echo "$2: nothing answers 200 on $1 within 30 s" >&2
  tail -n 20 "$3" >&2
  exit 1
}
