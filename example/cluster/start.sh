#!/usr/bin/env bash
# Starts the three primaries of the example cluster on loopback, waits until each answers
# /healthz and lists every member, and prints how to use it (see README.md).
#
#   bash example/cluster/start.sh                     # binaries from bin/ (make)
#   EG_BIN=target/debug bash example/cluster/start.sh
#   WITH_SECONDARY=1 bash example/cluster/start.sh    # and a secondary member
#   ETCD_BIN=/opt/etcd/etcd bash example/cluster/start.sh
#
# Members run in the background from example/cluster, with their homes in run/<member>
# (pidfile run/<member>/easegress.pid); stop them with stop.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${EG_BIN:-$root/bin}
[[ $bin = /* ]] || bin=$PWD/$bin
server=$bin/easegress-server
egctl=$bin/egctl
timeout=${START_TIMEOUT:-60}

[[ -x $server ]] || { echo "start.sh: $server not found: run make, or set EG_BIN=<dir>" >&2; exit 1; }
etcd=${ETCD_BIN:-$(command -v etcd || true)}
[[ -n $etcd && -x $etcd ]] || {
  echo "start.sh: no etcd on PATH: apt-get install etcd-server (or set ETCD_BIN)" >&2
  exit 1
}

declare -A api=([m1]=12381 [m2]=12382 [m3]=12383 [secondary]=12384)
members=(m1 m2 m3)
[[ ${WITH_SECONDARY:-0} == 1 ]] && members+=(secondary)

cd "$here"
for m in "${members[@]}"; do
  home=run/$m
  if [[ -f $home/easegress.pid ]] && kill -0 "$(cat "$home/easegress.pid")" 2>/dev/null; then
    echo "$m is already running (pid $(cat "$home/easegress.pid"))"
    continue
  fi
  mkdir -p "$home"
  args=(--config-file "$m.yaml")
  [[ $m == secondary ]] || args+=(--etcd-binary "$etcd")
  # In the background of a script the members ignore the terminal's Ctrl-C; the
  # primaries are started together because each one's etcd waits for the others.
  nohup "$server" "${args[@]}" >"$home/server.out" 2>&1 </dev/null &
  echo "started $m (pid $!), output in example/cluster/$home/server.out"
done

# /healthz is 503 while a member waits for etcd, 200 when it is ready.
get() { curl -fsS --max-time 2 "http://127.0.0.1:$1/apis/v2$2" 2>/dev/null; }
deadline=$((SECONDS + timeout))
for m in "${members[@]}"; do
  until get "${api[$m]}" /healthz >/dev/null; do
    if ((SECONDS > deadline)); then
      echo "start.sh: $m not healthy after ${timeout}s; its output:" >&2
      tail -n 30 "run/$m/server.out" "run/$m/log/stdout.log" 2>/dev/null >&2 || true
      exit 1
    fi
    sleep 0.2
  done
done
want=${#members[@]}
for m in "${members[@]}"; do
  until [[ $(get "${api[$m]}" /status/members | grep -o '"Name":' | wc -l) -ge $want ]]; do
    if ((SECONDS > deadline)); then
      echo "start.sh: $m does not list $want members after ${timeout}s:" >&2
      get "${api[$m]}" /status/members >&2 || true
      exit 1
    fi
    sleep 0.2
  done
done

cat <<EOF

The cluster is up: ${members[*]} (admin APIs 127.0.0.1:12381-1238${#members[@]}).

  $egctl --server 127.0.0.1:12381 get member
  $egctl --server 127.0.0.1:12381 create -f $here/demo.yaml
  $egctl --server 127.0.0.1:12383 get pipeline      # the same objects on every member
  curl http://127.0.0.1:12080/hello

Stop it with: bash $here/stop.sh
EOF
