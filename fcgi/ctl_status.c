/* SPDX-License-Identifier: MIT */
/* livechatctl status and config check. status: is MongoDB answering, is RabbitMQ, and what the
 * broker shows of the wsd nodes: the depth of <amqp_prefix>.inbound and its consumers (every
 * wsd node consumes it, one at a time active), read with a passive queue.declare on a
 * connection of its own (a passive declare that fails closes its channel). Nodes keep no
 * presence record in MongoDB, so the consumer count is what can be seen of them. */
#include "config.h"
#include "ctl.h"
#include "lc_bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct queue_info {
	bool found;
	uint32_t messages, consumers;
} queue_info_t;

/* Connect with cfg's amqp_url and TLS keys (the code every program connects with) and
 * passively declare queue. false with why filled when the broker cannot be reached or refuses
 * the login; true otherwise (q->found: the queue exists). */
static bool probe_queue(const lc_config_t *cfg, const char *queue, queue_info_t *q, char *why,
			size_t whylen)
{
	lc_err_t err;
	lc_bus_t *bus;
	bool ok = false;

	memset(q, 0, sizeof *q);
	lc_err_clear(&err);
	if ((bus = lc_bus_new_config(cfg, &err)) == NULL || lc_bus_connect(bus, &err) != LC_OK) {
		/* The reasons start with the module's "bus: ": this line already says rabbitmq. */
		snprintf(why, whylen, "%s", strncmp(err.reason, "bus: ", 5) == 0 ? err.reason + 5
										 : err.reason);
		goto fail;
	}
	ok = true;
	q->found = lc_bus_queue_counts(bus, queue, &q->messages, &q->consumers, &err) == LC_OK;
fail:
	lc_bus_free(&bus);
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
	if (!probe_queue(env->cfg, queue, &q, why, sizeof why)) {
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
