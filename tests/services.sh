#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test harness's servers: FerretDB (MongoDB wire protocol, SQLite handler, a temporary data
# directory, its own loopback port) and RabbitMQ (Debian's rabbitmq-server). `start` starts only
# what does not answer yet and waits until it does; `stop` stops only what `start` started.
#   tests/services.sh start|stop|env|status
# State (pid files, data, logs) lives in $LC_TEST_STATE (default /tmp/livechat-test-services);
# LC_TEST_MONGO_PORT picks FerretDB's port (default 27117); LC_KEEP_DATA=1 keeps its data.
set -uo pipefail
STATE=${LC_TEST_STATE:-/tmp/livechat-test-services}
MONGO_PORT=${LC_TEST_MONGO_PORT:-27117}
FERRETDB_BIN=${FERRETDB_BIN:-$(command -v ferretdb || echo /usr/local/bin/ferretdb)}
mkdir -p "$STATE"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

mongo_up() {
  port_open "$MONGO_PORT" && return 0
  [ -x "$FERRETDB_BIN" ] || { echo "services: FerretDB not found at $FERRETDB_BIN: run scripts/deps.sh" >&2; return 1; }
  # Tests start from an empty database; a local run (LC_KEEP_DATA=1) keeps its data.
  [ "${LC_KEEP_DATA:-0}" = 1 ] || rm -rf "$STATE/ferretdb-data"
  mkdir -p "$STATE/ferretdb-data"
  "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$STATE/ferretdb-data/" \
    --state-dir="$STATE/ferretdb-data" --listen-addr="127.0.0.1:$MONGO_PORT" \
    --debug-addr=- --telemetry=disable --log-level=warn >"$STATE/ferretdb.log" 2>&1 &
  echo $! > "$STATE/ferretdb.pid"
  for _ in $(seq 1 100); do port_open "$MONGO_PORT" && { echo "services: FerretDB on 127.0.0.1:$MONGO_PORT"; return 0; }; sleep 0.1; done
  echo "services: FerretDB did not answer; log:" >&2; tail -20 "$STATE/ferretdb.log" >&2; return 1
}

rabbit_ping() { rabbitmq-diagnostics -q ping >/dev/null 2>&1; }

rabbit_up() {
  port_open 5672 && rabbit_ping && return 0
  command -v rabbitmq-server >/dev/null || { echo "services: rabbitmq-server not installed: run scripts/deps.sh" >&2; return 1; }
  if ! rabbit_ping; then
    rabbitmq-server -detached >"$STATE/rabbitmq.log" 2>&1
    touch "$STATE/rabbitmq.started"
  fi
  for _ in $(seq 1 120); do
    rabbit_ping && port_open 5672 && { echo "services: RabbitMQ on 127.0.0.1:5672"; return 0; }
    sleep 1
  done
  echo "services: RabbitMQ did not answer" >&2; return 1
}

case "${1:-}" in
  start) mongo_up && rabbit_up ;;
  stop)
    if [ -f "$STATE/ferretdb.pid" ]; then kill "$(cat "$STATE/ferretdb.pid")" 2>/dev/null; rm -f "$STATE/ferretdb.pid"; fi
    if [ -f "$STATE/rabbitmq.started" ]; then rabbitmqctl -q stop >/dev/null 2>&1; rm -f "$STATE/rabbitmq.started"; fi
    ;;
  env)
    echo "export LIVECHAT_MONGO_URI=mongodb://127.0.0.1:$MONGO_PORT/"
    echo "export LIVECHAT_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/"
    ;;
  status) port_open "$MONGO_PORT" && echo "mongo: up" || echo "mongo: down"; rabbit_ping && echo "rabbitmq: up" || echo "rabbitmq: down" ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
