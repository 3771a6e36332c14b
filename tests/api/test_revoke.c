/* SPDX-License-Identifier: MIT */
/* CUnit tests of fcgi/probe.c and fcgi/revoke.c: parsing the broker's host and port out of an
 * amqp:// URL, the TCP probe against real loopback sockets (one listening, one closed), and the
 * revoke publisher against the real RabbitMQ ($LIVECHAT_AMQP_URL, exchange lc-test-revoke-<pid>
 * deleted at the end): events (revoke, settings) arrive in the documented shape, batches larger
 * than one publish arrive whole, and a broker that is down is a false, never an error for the
 * caller.
 * Runner: api/test_fcgi_revoke. */
#include "config.h"
#include "probe.h"
#include "revoke.h"
#include "lc_alloc.h"
#include "lc_bus.h"
#include "lc_config.h"
#include "lc_json.h"
#include "lc_log.h"
#include "cunit_run.h"

#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int init_probe_tests(void);
int init_revoke_tests(void);

static char prefix[64];
static char exchange[96];

/* A config from defaults + environment, with amqp_url replaced when url is not NULL. */
static lc_config_t *config_with(const char *url)
{
	lc_err_t err;
	char *saved = lc_strdup(getenv("LIVECHAT_AMQP_URL"));
	if (url != NULL)
		setenv("LIVECHAT_AMQP_URL", url, 1);
	setenv("LIVECHAT_AMQP_PREFIX", prefix, 1);
	lc_config_t *cfg = lc_config_new_defaults(&err);
	if (saved != NULL)
		setenv("LIVECHAT_AMQP_URL", saved, 1);
	free(saved);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	return cfg;
}

/* A loopback TCP port nothing listens on (bound, then closed) or, with listening, one that
 * accepts (fd returned in *fd). */
static int loopback_port(bool listening, int *fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
	CU_ASSERT_FATAL(getsockname(s, (struct sockaddr *)&a, &len) == 0);
	if (listening) {
		CU_ASSERT_FATAL(listen(s, 4) == 0);
		*fd = s;
	} else {
		close(s);
	}
	return ntohs(a.sin_port);
}

/* ---- probe */

static void test_host_port_parsed_from_amqp_urls(void)
{
	char h[64], p[16];
	CU_ASSERT_TRUE(fcgi_probe_amqp_host_port("amqp://guest:guest@127.0.0.1:5673/vh", h, sizeof h, p, sizeof p));
	CU_ASSERT_STRING_EQUAL(h, "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(p, "5673");
	CU_ASSERT_TRUE(fcgi_probe_amqp_host_port("amqp://rabbit.example", h, sizeof h, p, sizeof p));
	CU_ASSERT_STRING_EQUAL(h, "rabbit.example");
	CU_ASSERT_STRING_EQUAL(p, "5672");
	CU_ASSERT_TRUE(fcgi_probe_amqp_host_port("amqps://u:p@[::1]/", h, sizeof h, p, sizeof p));
	CU_ASSERT_STRING_EQUAL(h, "::1");
	CU_ASSERT_STRING_EQUAL(p, "5671");
	/* An '@' in the password: the host follows the last one. */
	CU_ASSERT_TRUE(fcgi_probe_amqp_host_port("amqp://u:p@ss@host:1/", h, sizeof h, p, sizeof p));
	CU_ASSERT_STRING_EQUAL(h, "host");
	CU_ASSERT_TRUE(fcgi_probe_amqp_host_port("amqp://", h, sizeof h, p, sizeof p));
	CU_ASSERT_STRING_EQUAL(h, "localhost");
}

static void test_host_port_rejects_malformed_urls(void)
{
	char h[64], p[16];
	CU_ASSERT_FALSE(fcgi_probe_amqp_host_port("127.0.0.1:5672", h, sizeof h, p, sizeof p));
	CU_ASSERT_FALSE(fcgi_probe_amqp_host_port("amqp://[::1:5672/", h, sizeof h, p, sizeof p));
}

static void test_probe_true_for_a_listener_false_for_a_closed_port(void)
{
	int fd = -1;
	char url[128];
	snprintf(url, sizeof url, "amqp://guest:guest@127.0.0.1:%d/", loopback_port(true, &fd));
	CU_ASSERT_TRUE(fcgi_probe_amqp(url, 500));
	close(fd);
	snprintf(url, sizeof url, "amqp://guest:guest@127.0.0.1:%d/", loopback_port(false, NULL));
	CU_ASSERT_FALSE(fcgi_probe_amqp(url, 500));
	CU_ASSERT_FALSE(fcgi_probe_amqp("not a url", 500));
}

/* ---- revoke */

/* A queue bound to broadcast.* on the test exchange, declared through lc_bus. */
static lc_bus_t *listener(const char *queue)
{
	lc_err_t err;
	lc_bus_t *bus = lc_bus_new(getenv("LIVECHAT_AMQP_URL"), &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bus);
	CU_ASSERT_EQUAL_FATAL(lc_bus_declare_exchange(bus, exchange, "topic", true, &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_bus_declare_queue(bus, queue, false, true, true, &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_bus_bind(bus, queue, exchange, "broadcast.*", &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_bus_consume(bus, queue, 0, &err), LC_OK);
	return bus;
}

/* The next event on bus (within 5 s), acked; it came with routing key key on the exchange. */
static json_object *next_event(lc_bus_t *bus, const char *key)
{
	lc_bus_delivery_t *d = NULL;
	lc_err_t err;
	CU_ASSERT_EQUAL_FATAL(lc_bus_poll(bus, 5000, &d, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(d->routing_key, key);
	CU_ASSERT_STRING_EQUAL(d->exchange, exchange);
	json_object *ev = lc_json_parse(d->body, d->len, &err);
	lc_bus_ack(bus, d, &err);
	lc_bus_delivery_free(&d);
	return ev;
}

static void test_revoke_events_have_the_documented_shape_and_key(void)
{
	lc_config_t *cfg = config_with(NULL);
	char queue[128];
	snprintf(queue, sizeof queue, "%s.shape", prefix);
	lc_bus_t *bus = listener(queue);
	fcgi_revoke_t *r = fcgi_revoke_new(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_TRUE(fcgi_revoke_user(r, "6565f0c2a1b2c3d4e5f60718"));

	json_object *ev = next_event(bus, "broadcast.revoke");
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(ev, "type", ""), "revoke");
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(ev, "user_id", ""), "6565f0c2a1b2c3d4e5f60718");
	CU_ASSERT_EQUAL(json_object_object_length(ev), 2);
	json_object_put(ev);
	fcgi_revoke_free(&r);
	CU_ASSERT_PTR_NULL(r);
	lc_bus_free(&bus);
	lc_config_free(&cfg);
}

static void test_revoke_of_many_users_arrives_whole_and_in_order(void)
{
	enum { N = 600 };   /* more than two publishes' worth */
	lc_config_t *cfg = config_with(NULL);
	char queue[128];
	snprintf(queue, sizeof queue, "%s.many", prefix);
	lc_bus_t *bus = listener(queue);
	fcgi_revoke_t *r = fcgi_revoke_new(cfg);
	char *ids[N];
	for (int i = 0; i < N; i++)
		ids[i] = lc_asprintf("user-%04d", i);
	CU_ASSERT_TRUE(fcgi_revoke_users(r, (const char *const *)ids, N));
	int got = 0;
	lc_bus_delivery_t *d = NULL;
	lc_err_t err;
	while (got < N && lc_bus_poll(bus, 5000, &d, &err) == LC_OK) {
		json_object *ev = lc_json_parse(d->body, d->len, &err);
		CU_ASSERT_STRING_EQUAL(lc_json_get_str(ev, "user_id", ""), ids[got]);
		json_object_put(ev);
		lc_bus_ack(bus, d, &err);
		lc_bus_delivery_free(&d);
		got++;
	}
	CU_ASSERT_EQUAL(got, N);
	CU_ASSERT_EQUAL(lc_bus_poll(bus, 200, &d, &err), LC_ERR_TIMEOUT);
	for (int i = 0; i < N; i++)
		free(ids[i]);
	fcgi_revoke_free(&r);
	lc_bus_free(&bus);
	lc_config_free(&cfg);
}

/* PATCH /api/settings tells the nodes with this event (docs/topology.md, Settings). */
static void test_settings_event_has_the_documented_shape_and_key(void)
{
	lc_config_t *cfg = config_with(NULL);
	char queue[128];
	snprintf(queue, sizeof queue, "%s.settings", prefix);
	lc_bus_t *bus = listener(queue);
	fcgi_revoke_t *r = fcgi_revoke_new(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_TRUE(fcgi_revoke_settings(r));

	json_object *ev = next_event(bus, "broadcast.settings");
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(ev, "type", ""), "settings");
	CU_ASSERT_EQUAL(json_object_object_length(ev), 1);
	json_object_put(ev);
	fcgi_revoke_free(&r);
	lc_bus_free(&bus);
	lc_config_free(&cfg);
}

static void test_revoke_with_the_broker_down_is_false(void)
{
	char url[128];
	snprintf(url, sizeof url, "amqp://guest:guest@127.0.0.1:%d/", loopback_port(false, NULL));
	lc_config_t *cfg = config_with(url);
	fcgi_revoke_t *r = fcgi_revoke_new(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_FALSE(fcgi_revoke_user(r, "someone"));
	/* Again: still false, nothing kept in a bad state. */
	CU_ASSERT_FALSE(fcgi_revoke_user(r, "someone"));
	CU_ASSERT_FALSE(fcgi_revoke_settings(r));
	fcgi_revoke_free(&r);
	lc_config_free(&cfg);
}

static void test_revoke_without_publisher_or_users_does_nothing(void)
{
	lc_config_t *cfg = config_with("amqp://guest:guest@127.0.0.1:1/");
	fcgi_revoke_t *r = fcgi_revoke_new(cfg);
	CU_ASSERT_TRUE(fcgi_revoke_user(NULL, "someone"));
	CU_ASSERT_TRUE(fcgi_revoke_users(r, NULL, 0));
	fcgi_revoke_free(&r);
	fcgi_revoke_free(&r);   /* NULL is fine */
	lc_config_free(&cfg);
}

static void test_revoke_new_refuses_a_malformed_url(void)
{
	lc_config_t *cfg = config_with("http://127.0.0.1:5672/");
	CU_ASSERT_PTR_NULL(fcgi_revoke_new(cfg));
	lc_config_free(&cfg);
}

int init_probe_tests(void)
{
	CU_pSuite s = CU_add_suite("probe", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_host_port_parsed_from_amqp_urls);
	CU_ADD_TEST(s, test_host_port_rejects_malformed_urls);
	CU_ADD_TEST(s, test_probe_true_for_a_listener_false_for_a_closed_port);
	return 0;
}

/* The exchange the tests made is deleted however they ended. */
static int revoke_cleanup(void)
{
	lc_err_t err;
	lc_bus_t *bus = lc_bus_new(getenv("LIVECHAT_AMQP_URL"), &err);
	if (bus != NULL)
		lc_bus_delete_exchange(bus, exchange, &err);
	lc_bus_free(&bus);
	return 0;
}

int init_revoke_tests(void)
{
	CU_pSuite s = CU_add_suite("revoke", NULL, revoke_cleanup);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_revoke_events_have_the_documented_shape_and_key);
	CU_ADD_TEST(s, test_revoke_of_many_users_arrives_whole_and_in_order);
	CU_ADD_TEST(s, test_settings_event_has_the_documented_shape_and_key);
	CU_ADD_TEST(s, test_revoke_with_the_broker_down_is_false);
	CU_ADD_TEST(s, test_revoke_without_publisher_or_users_does_nothing);
	CU_ADD_TEST(s, test_revoke_new_refuses_a_malformed_url);
	return 0;
}

int main(void)
{
	if (getenv("LIVECHAT_AMQP_URL") == NULL) {
		fprintf(stderr, "LIVECHAT_AMQP_URL is not set: run through make check\n");
		return 1;
	}
	snprintf(prefix, sizeof prefix, "lc-test-revoke-%ld", (long)getpid());
	snprintf(exchange, sizeof exchange, "%s.nodes", prefix);
	const lc_cunit_init_fn inits[] = { init_probe_tests, init_revoke_tests };

	lc_log_init("test_fcgi_revoke", "stderr", LC_LOG_ERROR);
	return lc_cunit_run("test_fcgi_revoke", inits, 2);
}
