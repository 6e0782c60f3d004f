# shellcheck shell=bash
# Object specs that bench/websocket.sh, bench/grpc.sh and pgo/train.sh share, written one
# object a file (the form --initial-object-config-files takes). Source this file, then:
#
#   write_ws_objects DIR UPSTREAM_PORT PORT
#       DIR/ws-pipeline.yaml: Pipeline -> WebSocketProxy to ws://127.0.0.1:UPSTREAM_PORT
#       DIR/ws-server.yaml:   HTTPServer on 127.0.0.1:PORT, every path to it, no body limit
#   write_grpc_objects DIR UPSTREAM_PORT PORT
#       DIR/grpc-pipeline.yaml: Pipeline -> GRPCProxy to http://127.0.0.1:UPSTREAM_PORT
#       DIR/grpc-server.yaml:   GRPCServer on 127.0.0.1:PORT, every method to it
#
# Each prints the two files' paths joined by a comma.

write_ws_objects() {
  local dir=$1 up=$2 port=$3
  cat >"$dir/ws-pipeline.yaml" <<YAML
name: ws-pipeline
kind: Pipeline
flow:
  - filter: wsproxy
filters:
  - name: wsproxy
    kind: WebSocketProxy
    pools:
      - servers:
          - url: ws://127.0.0.1:$up
YAML
  cat >"$dir/ws-server.yaml" <<YAML
name: ws-server
kind: HTTPServer
address: 127.0.0.1
port: $port
keepAlive: true
rules:
  - paths:
      - pathPrefix: /
        clientMaxBodySize: -1
        backend: ws-pipeline
YAML
  echo "$dir/ws-pipeline.yaml,$dir/ws-server.yaml"
}

write_grpc_objects() {
  local dir=$1 up=$2 port=$3
  cat >"$dir/grpc-pipeline.yaml" <<YAML
name: grpc-pipeline
kind: Pipeline
filters:
  - name: proxy
    kind: GRPCProxy
    pools:
      - servers:
          - url: http://127.0.0.1:$up
YAML
  cat >"$dir/grpc-server.yaml" <<YAML
name: grpc-server
kind: GRPCServer
address: 127.0.0.1
port: $port
rules:
  - methods:
      - methodPrefix: /
        backend: grpc-pipeline
YAML
  echo "$dir/grpc-pipeline.yaml,$dir/grpc-server.yaml"
}
