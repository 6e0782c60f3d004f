#!/usr/bin/env bash
# Stops the example cluster's members with SIGTERM, by the pid in run/<member>/easegress.pid;
# each primary stops its own etcd. An etcd left behind (its member was killed) is stopped
# by the pid in run/<member>/data/etcd.pid, after checking that pid is that etcd.
#
#   bash example/cluster/stop.sh           # data stays in run/: start.sh starts it again
#   rm -rf example/cluster/run             # then: a fresh cluster on the next start
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here" || exit 1
timeout=${STOP_TIMEOUT:-30}

# wait_gone PID SECONDS: 0 once PID is gone, 1 if still there after SECONDS.
wait_gone() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# The secondary first, then the primaries (any order works; the last etcd to go sees no
# quorum for a moment, which is fine when everything stops).
for m in secondary m3 m2 m1; do
  pidfile=run/$m/easegress.pid
  [[ -f $pidfile ]] || continue
  pid=$(cat "$pidfile")
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "$m is not running (stale $pidfile)"
    continue
  fi
  kill -TERM "$pid"
  if wait_gone "$pid" "$timeout"; then
    echo "stopped $m (pid $pid)"
  else
    echo "$m (pid $pid) still running after ${timeout}s; kill -KILL $pid to force it" >&2
  fi
done

for m in m1 m2 m3; do
  pidfile=run/$m/data/etcd.pid
  [[ -f $pidfile ]] || continue
  pid=$(cat "$pidfile")
  # only that etcd: a live process whose command line names this member's data dir
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "run/$m/data"; then
    echo "etcd of $m (pid $pid) outlived its member; stopping it"
    kill -TERM "$pid"
    wait_gone "$pid" 10 || kill -KILL "$pid"
  fi
done
