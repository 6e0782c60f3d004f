# Sourced by the bench and profile scripts: NGINX configurations as the shared yardstick
# writes them (one worker each), and the certificate a TLS listener serves.
#
#   write_upstream_conf DIR PORT DAEMON LOCATIONS
#
# The upstream: serves files from DIR/www, no access log, keep-alive connections it never
# closes. Writes DIR/upstream.conf (pid DIR/upstream.pid, errors to DIR/upstream-error.log,
# temp files below DIR); DAEMON is "on" or "off"; LOCATIONS are the server block's location
# lines. Start it with: nginx -p DIR -c DIR/upstream.conf
#
#   write_body_upstream DIR PORT BODY
#
# The yardstick's upstream: DIR/www/body.bin of BODY bytes, served at every path by a
# daemonised upstream (write_upstream_conf). Start it with: nginx -p DIR -c DIR/upstream.conf
#
#   write_proxy_conf DIR PORT UPSTREAM_PORT ACCESS_LOG [LISTEN_FLAGS [SERVER_LINES]]
#
# The NGINX proxy compared with easegress-rs: keep-alive to the upstream, in the foreground
# without a master process (its PID is its worker's). Writes DIR/proxy.conf (pid
# DIR/proxy.pid); ACCESS_LOG is "off" or a file for NGINX's default (combined) log;
# LISTEN_FLAGS go on the listen line ("ssl http2"), SERVER_LINES into the server block
# (its certificate).
#
#   write_test_cert DIR [KEY]
#
# A self-signed certificate for 127.0.0.1, valid for a day: DIR/cert.pem and DIR/key.pem.
# KEY is "ec" (ECDSA P-256, the default) or "rsa" (RSA-2048).
write_test_cert() {
  local dir=$1 key_args
  case ${2:-ec} in
    ec) key_args=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
    rsa) key_args=(-newkey rsa:2048) ;;
    *) echo "write_test_cert: the key is ec or rsa, not $2" >&2; return 1 ;;
  esac
  openssl req -x509 "${key_args[@]}" -nodes -days 1 \
    -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
}

write_body_upstream() {
  mkdir -p "$1/www"
  chmod 755 "$1" "$1/www" # NGINX workers may run as another user
  head -c "$3" /dev/zero | tr '\0' 'x' >"$1/www/body.bin"
  write_upstream_conf "$1" "$2" on "location / { try_files /body.bin =404; }"
}

write_upstream_conf() {
  local dir=$1 port=$2 daemon=$3 locations=$4
  cat >"$dir/upstream.conf" <<CONF
daemon $daemon;
pid $dir/upstream.pid;
error_log $dir/upstream-error.log warn;
worker_processes 1;
events { worker_connections 8192; }
http {
  access_log off;
  default_type application/octet-stream;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 75s;
  keepalive_requests 10000000;
  open_file_cache max=16 inactive=1h;
  open_file_cache_valid 1h;
  etag off;
  client_body_temp_path $dir/u-body; proxy_temp_path $dir/u-proxy;
  fastcgi_temp_path $dir/u-fcgi; uwsgi_temp_path $dir/u-uwsgi; scgi_temp_path $dir/u-scgi;
  server {
    listen 127.0.0.1:$port backlog=4096;
    root $dir/www;
    $locations
  }
}
CONF
}

write_proxy_conf() {
  local dir=$1 port=$2 upstream_port=$3 access_log=$4 listen_flags=${5:-} server_lines=${6:-}
  cat >"$dir/proxy.conf" <<CONF
daemon off;
master_process off;
pid $dir/proxy.pid;
error_log $dir/proxy-error.log warn;
worker_processes 1;
events { worker_connections 8192; }
http {
  access_log $access_log;
  keepalive_timeout 75s;
  keepalive_requests 10000000;
  tcp_nodelay on;
  client_body_temp_path $dir/p-body; proxy_temp_path $dir/p-proxy;
  fastcgi_temp_path $dir/p-fcgi; uwsgi_temp_path $dir/p-uwsgi; scgi_temp_path $dir/p-scgi;
  upstream backend {
    server 127.0.0.1:$upstream_port;
    keepalive 512;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
  }
  server {
    listen 127.0.0.1:$port${listen_flags:+ $listen_flags} backlog=4096;
    $server_lines
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
}
