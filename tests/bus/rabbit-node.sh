#!/bin/sh
# SPDX-License-Identifier: MIT
# A private, throw-away RabbitMQ node for the bus tests that must stop and restart a broker
# (the shared broker on 5672 is used by everyone and is never touched). Everything the node
# writes (data, logs, config, Erlang cookie) lives in DIR; `stop` removes DIR.
#   rabbit-node.sh start DIR AMQP_PORT DIST_PORT [OWNER_PID]   start, wait until it answers
#                                                               (DIR/extra.conf: more rabbitmq.conf)
#   rabbit-node.sh stop_app DIR | start_app DIR                 restart the broker inside the node
#   rabbit-node.sh kill DIR                                     kill -9 the node (a crash); `start`
#                                                               with the same DIR brings it back
#   rabbit-node.sh freeze DIR | thaw DIR                        SIGSTOP / SIGCONT the node
#   rabbit-node.sh close_all DIR                                close every client connection
#   rabbit-node.sh stop DIR                                     stop the node and remove DIR
# With OWNER_PID, a watcher stops the node once that process is gone (a crashed test leaves no
# node behind). The node runs as the calling user with HOME=DIR, so it has its own cookie and
# does not depend on root's or rabbitmq's ~/.erlang.cookie.
set -u
RMQ_BIN=${RMQ_BIN:-/usr/lib/rabbitmq/bin}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|stop_app|start_app|kill|freeze|thaw|close_all DIR ..." >&2; exit 2; }

node_env() {
	export HOME="$dir"
	export RABBITMQ_NODENAME="$(cat "$dir/nodename" 2>/dev/null)"
	export RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
	export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
	export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
	export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
	export RABBITMQ_MNESIA_BASE="$dir/mnesia"
	export RABBITMQ_LOG_BASE="$dir/log"
	export RABBITMQ_PID_FILE="$dir/node.pid"
}

ctl() { "$RMQ_BIN/rabbitmqctl" -n "$RABBITMQ_NODENAME" -q "$@" >>"$dir/ctl.log" 2>&1; }

wait_ping() {
	i=0
	while [ $i -lt 120 ]; do
		"$RMQ_BIN/rabbitmq-diagnostics" -n "$RABBITMQ_NODENAME" -q check_port_connectivity \
			>/dev/null 2>&1 && return 0
		sleep 0.5
		i=$((i + 1))
	done
	echo "rabbit-node: $RABBITMQ_NODENAME did not answer; log tail:" >&2
	tail -20 "$dir"/log/*.log >&2 2>/dev/null
	return 1
}

case "$cmd" in
start)
	port=${3:?AMQP port}
	dist=${4:?distribution port}
	owner=${5:-}
	mkdir -p "$dir/mnesia" "$dir/log" || exit 1
	[ -s "$dir/nodename" ] || echo "lc-bus-test-$port-$$@localhost" >"$dir/nodename"
	: >"$dir/rabbitmq-env.conf"
	echo "[]." >"$dir/enabled_plugins"
	echo "[]." >"$dir/advanced.config"
	cat >"$dir/rabbitmq.conf" <<-EOF
	listeners.tcp.1 = 127.0.0.1:$port
	loopback_users.guest = true
	log.file.level = warning
	log.console = false
	EOF
	# DIR/extra.conf, written by the caller before start: more lines (a TLS listener ...).
	[ -f "$dir/extra.conf" ] && cat "$dir/extra.conf" >>"$dir/rabbitmq.conf"
	node_env
	export RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT="$dist"
	echo "export RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$dist" >"$dir/rabbitmq-env.conf"
	"$RMQ_BIN/rabbitmq-server" -detached >"$dir/server.out" 2>&1 || {
		echo "rabbit-node: rabbitmq-server failed:" >&2; cat "$dir/server.out" >&2; exit 1; }
	if [ -n "$owner" ] && [ ! -e "$dir/watcher" ]; then
		: >"$dir/watcher"
		# Detached watcher: stop the node when the owner is gone.
		(
			trap '' HUP
			while kill -0 "$owner" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
			[ -d "$dir" ] && sh "$0" stop "$dir"
		) </dev/null >/dev/null 2>&1 &
	fi
	wait_ping
	;;
stop_app)
	node_env
	ctl stop_app
	;;
close_all)
	node_env
	ctl close_all_connections "lc-bus test"
	;;
start_app)
	node_env
	ctl start_app && wait_ping
	;;
kill)
	[ -f "$dir/node.pid" ] && kill -9 "$(cat "$dir/node.pid")"
	;;
freeze | thaw)
	# SIGSTOP: the kernel still accepts connections and data, the broker answers nothing.
	[ -f "$dir/node.pid" ] && kill -"$([ "$cmd" = freeze ] && echo STOP || echo CONT)" "$(cat "$dir/node.pid")"
	;;
stop)
	[ -d "$dir" ] || exit 0
	[ -f "$dir/node.pid" ] && kill -CONT "$(cat "$dir/node.pid")" 2>/dev/null
	node_env
	ctl stop
	# rabbitmqctl stop returns once the node is down; make sure of it before removing its files.
	if [ -f "$dir/node.pid" ]; then
		pid=$(cat "$dir/node.pid")
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start|stop|stop_app|start_app|kill|freeze|thaw|close_all DIR ..." >&2
	exit 2
	;;
esac
