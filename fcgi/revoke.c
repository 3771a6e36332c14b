/* SPDX-License-Identifier: MIT */
/* fcgi revoke: the publisher of broadcast.revoke events on <amqp_prefix>.nodes. Owns one
 * lc_bus_t, created and connected on first use and kept for the process's life; the serving
 * threads take turns with it (a lock: a bus is used from one thread at a time). */
#include "config.h"
#include "revoke.h"
#include "probe.h"
#include "lc_alloc.h"
#include "lc_bus.h"
#include "lc_log.h"
#include "lc_names.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FCGI_REVOKE_MAGIC 0x52564b31u   /* "RVK1" */
#define REVOKE_ROUTING_KEY LC_NAMES_BROADCAST_KEY("revoke")
/* A broker that does not accept a TCP connection in this time is taken as down: the request
 * in hand must not wait the bus's 5 s connect timeout. */
#define REVOKE_PROBE_MS 500
/* Events per publish (one confirm wait each); a group can hold many users. */
#define REVOKE_BATCH 256

struct fcgi_revoke {
	unsigned magic;
	const lc_config_t *cfg;   /* borrowed: amqp_url and the TLS keys */
	char *url;
	char *exchange;     /* <prefix>.nodes */
	pthread_mutex_t lock;   /* guards bus */
	lc_bus_t *bus;      /* NULL until first use */
};

fcgi_revoke_t *fcgi_revoke_new(const lc_config_t *cfg)
{
	lc_err_t err;
	lc_err_clear(&err);
	const char *url = lc_config_str(cfg, "amqp_url");
	/* lc_bus_new only parses the URL: find a malformed one now, not at the first logout. */
	lc_bus_t *probe = lc_bus_new_config(cfg, &err);
	if (probe == NULL) {
		LC_ERROR("revocation events disabled: %s", err.reason);
		return NULL;
	}
	lc_bus_free(&probe);
	fcgi_revoke_t *r = lc_calloc(1, sizeof *r);
	r->magic = FCGI_REVOKE_MAGIC;
	r->cfg = cfg;
	r->url = lc_strdup(url);
	r->exchange = lc_names_nodes(lc_config_str(cfg, "amqp_prefix"));
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void fcgi_revoke_free(fcgi_revoke_t **r)
{
	if (r == NULL || *r == NULL)
		return;
	LC_CHECK_OBJ(*r, FCGI_REVOKE_MAGIC);
	lc_bus_free(&(*r)->bus);
	pthread_mutex_destroy(&(*r)->lock);
	free((*r)->url);
	free((*r)->exchange);
	(*r)->magic = 0;
	free(*r);
	*r = NULL;
}

/* The bus, created on first use with the exchange declaration recorded (lc_bus replays it on
 * every reconnect), so publishing works before any wsd has declared the exchange. */
static lc_rc ready_bus(fcgi_revoke_t *r, lc_err_t *err)
{
	if (r->bus != NULL && lc_bus_is_connected(r->bus))
		return LC_OK;
	if (!fcgi_probe_amqp(r->url, REVOKE_PROBE_MS))
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "RabbitMQ does not accept connections");
	if (r->bus != NULL)
		return LC_OK;   /* the publish reconnects and replays the declaration */
	if ((r->bus = lc_bus_new_config(r->cfg, err)) == NULL)
		return err->code;
	/* Same arguments as wsd's declaration (topic, durable), or the broker refuses one of them. */
	return lc_bus_declare_exchange(r->bus, r->exchange, "topic", true, err);
}

static char *event_body(const char *user_id)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("revoke"));
	json_object_object_add(o, "user_id", json_object_new_string(user_id));
	char *s = lc_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static lc_rc publish_batch(fcgi_revoke_t *r, const char *const *ids, size_t n, lc_err_t *err)
{
	lc_bus_msg_t msgs[REVOKE_BATCH];
	char *bodies[REVOKE_BATCH];
	LC_ASSERT(n <= REVOKE_BATCH);
	for (size_t i = 0; i < n; i++) {
		bodies[i] = event_body(ids[i]);
		msgs[i] = (lc_bus_msg_t){ .exchange = r->exchange, .routing_key = REVOKE_ROUTING_KEY,
					  .body = bodies[i], .len = strlen(bodies[i]),
					  .message_id = NULL };
	}
	lc_rc rc = lc_bus_publish_batch(r->bus, msgs, n, err);
	for (size_t i = 0; i < n; i++)
		free(bodies[i]);
	return rc;
}

bool fcgi_revoke_users(fcgi_revoke_t *r, const char *const *ids, size_t n)
{
	lc_err_t err;
	lc_rc rc = LC_OK;
	size_t done = 0;

	if (r == NULL || n == 0)
		return true;
	LC_CHECK_OBJ(r, FCGI_REVOKE_MAGIC);
	lc_err_clear(&err);
	pthread_mutex_lock(&r->lock);
	/* A declaration the broker refused (CONFLICT: the exchange exists with other arguments)
	 * is logged by the bus; publishing to the existing exchange still works. */
	rc = ready_bus(r, &err);
	if (rc == LC_ERR_CONFLICT)
		rc = LC_OK;
	while (rc == LC_OK && done < n) {
		size_t k = n - done < REVOKE_BATCH ? n - done : REVOKE_BATCH;
		if ((rc = publish_batch(r, ids + done, k, &err)) == LC_OK)
			done += k;
	}
	pthread_mutex_unlock(&r->lock);
	if (rc == LC_OK) {
		LC_DEBUG("revocation of %zu user(s) published to %s", n, r->exchange);
		return true;
	}
	LC_WARN("could not publish the revocation of %zu user(s) (first %s): %s; the websocket "
		"daemons will notice at their periodic session check", n - done, ids[done],
		err.reason);
	return false;
}

bool fcgi_revoke_settings(fcgi_revoke_t *r)
{
	static const char body[] = "{\"type\":\"settings\"}";
	lc_err_t err;
	if (r == NULL)
		return true;
	LC_CHECK_OBJ(r, FCGI_REVOKE_MAGIC);
	lc_err_clear(&err);
	lc_rc rc = ready_bus(r, &err);
	if (rc == LC_ERR_CONFLICT)
		rc = LC_OK;
	lc_bus_msg_t m = { .exchange = r->exchange,
			   .routing_key = LC_NAMES_BROADCAST_KEY("settings"),
			   .body = body, .len = sizeof body - 1, .message_id = NULL };
	if (rc == LC_OK)
		rc = lc_bus_publish_batch(r->bus, &m, 1, &err);
	if (rc != LC_OK)
		LC_WARN("could not publish the settings change: %s; the websocket daemons read it "
			"at their periodic re-read", err.reason);
	return rc == LC_OK;
}

bool fcgi_revoke_user(fcgi_revoke_t *r, const char *user_id)
{
	return fcgi_revoke_users(r, &user_id, 1);
}
