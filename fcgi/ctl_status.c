/* SPDX-License-Identifier: MIT */
/* livechatctl status and config check. status: is MongoDB answering, is RabbitMQ, and what the
 * broker shows of the wsd nodes: the depth of <amqp_prefix>.inbound and its consumers (every
 * wsd node consumes it, one at a time active), read with a passive queue.declare on a
 * connection of its own (a passive declare that fails closes its channel). Nodes keep no
 * presence record in MongoDB, so the consumer count is what can be seen of them. */
#include "config.h"
#include "ctl.h"
#include "lc_alloc.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_TIMEOUT_MS 3000

typedef struct queue_info {
	bool found;
	uint32_t messages, consumers;
} queue_info_t;

static const char *reply_text(amqp_rpc_reply_t r, char *buf, size_t len)
{
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
		return amqp_error_string2(r.library_error);
	if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
	    r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
		amqp_connection_close_t *c = r.reply.decoded;
		snprintf(buf, len, "%.*s", (int)c->reply_text.len, (const char *)c->reply_text.bytes);
		return buf;
	}
	return "unexpected reply";
}

/* Connect to url and passively declare queue. false with why filled when the broker cannot be
 * reached or refuses the login; true otherwise (q->found: the queue exists). */
static bool probe_queue(const char *url, const char *queue, queue_info_t *q, char *why,
			size_t whylen)
{
	struct amqp_connection_info info;
	struct timeval tv = { STATUS_TIMEOUT_MS / 1000, 0 };
	char *copy = lc_strdup(url), buf[256];
	amqp_connection_state_t conn = amqp_new_connection();
	amqp_socket_t *sock = conn != NULL ? amqp_tcp_socket_new(conn) : NULL;
	bool ok = false;
	int st;

	memset(q, 0, sizeof *q);
	if (sock == NULL) {
		snprintf(why, whylen, "cannot create a socket");
		goto fail;
	}
	amqp_default_connection_info(&info);
	if ((st = amqp_parse_url(copy, &info)) != AMQP_STATUS_OK) {
		snprintf(why, whylen, "amqp_url: %s", amqp_error_string2(st));
		goto fail;
	}
	if ((st = amqp_socket_open_noblock(sock, info.host, info.port, &tv)) != AMQP_STATUS_OK) {
		snprintf(why, whylen, "cannot connect to %s:%d: %s", info.host, info.port,
			 amqp_error_string2(st));
		goto fail;
	}
	amqp_set_rpc_timeout(conn, &tv);
	amqp_rpc_reply_t r = amqp_login(conn, info.vhost && *info.vhost ? info.vhost : "/", 0,
					131072, 0, AMQP_SASL_METHOD_PLAIN, info.user, info.password);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		snprintf(why, whylen, "login to %s:%d: %s", info.host, info.port,
			 reply_text(r, buf, sizeof buf));
		goto fail;
	}
	ok = true;
	amqp_channel_open(conn, 1);
	if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL)
		goto fail;
	amqp_queue_declare_ok_t *d = amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 1, 0, 0,
							0, amqp_empty_table);
	if (d != NULL) {
		q->found = true;
		q->messages = d->message_count;
		q->consumers = d->consumer_count;
		amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
	}
	amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
fail:
	if (conn != NULL)
		amqp_destroy_connection(conn);
	free(copy);
	return ok;
}

int ctl_status(ctl_env_t *env, int argc, char **argv)
{
	(void)argv;
	const char *prefix = lc_config_str(env->cfg, "amqp_prefix");
	char queue[256], why[512];
	queue_info_t q;
	lc_err_t err;
	int status = 0;

	if (argc != 1)
		return 2;
	lc_err_clear(&err);
	printf("config    %s\n", env->cfg_path != NULL ? env->cfg_path : "(none: defaults and environment)");
	if (lc_store_ping(env->store, &err) == LC_OK) {
		printf("mongodb   up (database %s)\n", lc_config_str(env->cfg, "mongo_db"));
	} else {
		printf("mongodb   down: %s\n", err.reason);
		status = 1;
	}
	snprintf(queue, sizeof queue, "%s.inbound", prefix);
	if (!probe_queue(lc_config_str(env->cfg, "amqp_url"), queue, &q, why, sizeof why)) {
		printf("rabbitmq  down: %s\n", why);
		return 1;
	}
	printf("rabbitmq  up\n");
	if (!q.found) {
		printf("queue     %s: not declared (no wsd node has started with amqp_prefix %s)\n",
		       queue, prefix);
		printf("wsd nodes 0 seen\n");
		return status;
	}
	printf("queue     %s: %u messages waiting, %u consumers\n", queue, q.messages, q.consumers);
	printf("wsd nodes %u seen (consumers of %s; MongoDB keeps no node list)\n", q.consumers, queue);
	return status;
}

int ctl_config(ctl_env_t *env, int argc, char **argv)
{
	lc_err_t err;

	if (argc != 2 || strcmp(argv[1], "check") != 0)
		return 2;
	lc_err_clear(&err);
	lc_config_t *cfg = lc_config_load(env->cfg_path, &err);
	if (cfg == NULL) {
		fprintf(stderr, "livechatctl: %s\n", err.reason);
		if (err.field[0] != '\0')
			fprintf(stderr, "livechatctl: key: %s\n", err.field);
		return 1;
	}
	printf("%s: ok\n", env->cfg_path != NULL ? env->cfg_path : "defaults and environment");
	lc_config_free(&cfg);
	return 0;
}
