#!/usr/bin/env bash
# Checks the Debian package built by `make deb`: what it holds, that its unit passes
# `systemd-analyze verify`, and that the packaged server started with the packaged
# configuration answers /healthz. As root it also installs the package with dpkg (account,
# directories, configuration), runs the server as the service would, and purges it.
set -euo pipefail
cd "$(dirname "$0")/.."

deb=$(ls -t target/debian/easegress-rs_*.deb 2>/dev/null | head -1 || true)
[ -n "$deb" ] || { echo "no package in target/debian: run make deb" >&2; exit 1; }
echo "package: $deb ($(du -h "$deb" | cut -f1))"

fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# What it holds.
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/easegress-server ./usr/bin/egctl ./etc/easegress/config.yaml \
         ./usr/lib/systemd/system/easegress.service ./usr/share/doc/easegress-rs/README.md; do
  grep -q " $f\$" <<<"$contents" || fail "$f missing from the package"
done
info=$(dpkg-deb --info "$deb")
grep -q "^ Package: easegress-rs" <<<"$info" || fail "package name"
grep -q "^ Depends:.*adduser" <<<"$info" || fail "adduser dependency"
grep -q "^ Conffiles:" <<<"$info" || grep -q "/etc/easegress/config.yaml" <(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles) \
  || fail "config.yaml is not a conffile"
echo "contents: ok"

# The unit.
dpkg-deb -x "$deb" "$work/root"
if command -v systemd-analyze >/dev/null; then
  # Without a running systemd, verify cannot load the dependency targets; what matters is
  # that every directive of the unit is known and parses.
  out=$(systemd-analyze verify --root="$work/root" --man=no \
        "$work/root/usr/lib/systemd/system/easegress.service" 2>&1 || true)
  if grep -Ei "unknown (key|section|lvalue)|failed to parse|invalid|bad " <<<"$out"; then
    fail "systemd-analyze verify: the unit has errors"
  fi
  echo "unit: ok"
fi

# Start the packaged server as the unit does, on a free port, and ask it /healthz.
healthz() {
  local url=$1
  for _ in $(seq 1 100); do
    if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

port=$(free_port)
mkdir -p "$work/home"
sed -e "s#/var/lib/easegress#$work/home#g" -e "s#/var/log/easegress#$work/home/log#g" \
    -e "s#^api-addr:.*#api-addr: 127.0.0.1:$port#" \
    "$work/root/etc/easegress/config.yaml" > "$work/config.yaml"
"$work/root/usr/bin/easegress-server" --config-file "$work/config.yaml" &
server_pid=$!
healthz "http://127.0.0.1:$port/apis/v2/healthz" || fail "the packaged server did not answer /healthz"
"$work/root/usr/bin/egctl" --server "127.0.0.1:$port" health >/dev/null || fail "egctl health"
kill "$server_pid"; wait "$server_pid" || true; server_pid=""
echo "packaged server: ok"

# Installed as root: account, directories, configuration, then run as the service user.
if [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null; then
  DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >/dev/null
  getent passwd easegress >/dev/null || fail "no easegress account"
  [ "$(stat -c %U /var/lib/easegress)" = easegress ] || fail "/var/lib/easegress owner"
  [ "$(stat -c %G:%a /etc/easegress/config.yaml)" = easegress:640 ] || fail "config.yaml mode"
  port=$(free_port)
  runuser -u easegress -- /usr/bin/easegress-server --config-file /etc/easegress/config.yaml \
    --api-addr "127.0.0.1:$port" &
  server_pid=$!
  healthz "http://127.0.0.1:$port/apis/v2/healthz" || fail "the installed server did not answer /healthz"
  [ -f /var/lib/easegress/data/easegress.redb ] || fail "no store under /var/lib/easegress/data"
  kill "$server_pid"; wait "$server_pid" || true; server_pid=""
  DEBIAN_FRONTEND=noninteractive dpkg --purge easegress-rs >/dev/null
  ! getent passwd easegress >/dev/null || fail "account left after purge"
  [ ! -e /var/lib/easegress ] || fail "/var/lib/easegress left after purge"
  echo "install, run as easegress, purge: ok"
else
  echo "install: skipped (needs root)"
fi
echo "deb package: all checks passed"
