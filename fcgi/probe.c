/* SPDX-License-Identifier: MIT */
/* fcgi probe: a TCP connect with a deadline to the broker an amqp:// URL names. A TCP probe,
 * not an AMQP handshake: a handshake per probe would cost the broker a connection each time. */
#include "config.h"
#include "probe.h"
#include "lc_alloc.h"
#include "lc_log.h"
#include "lc_time.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

bool fcgi_probe_amqp_host_port(const char *url, char *host, size_t hlen, char *port,
			       size_t plen)
{
	const char *p = strstr(url, "://");
	bool tls = strncmp(url, "amqps://", 8) == 0;
	if (p == NULL)
		return false;
	p += 3;
	const char *end = p + strcspn(p, "/?");
	const char *at = NULL;
	for (const char *q = p; q < end; q++)
		if (*q == '@')
			at = q;
	if (at != NULL)
		p = at + 1;
	const char *colon = NULL;
	if (*p == '[') {   /* [ipv6]:port */
		const char *close = memchr(p, ']', (size_t)(end - p));
		if (close == NULL)
			return false;
		snprintf(host, hlen, "%.*s", (int)(close - p - 1), p + 1);
		colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		const char *hend = colon ? colon : end;
		snprintf(host, hlen, "%.*s", (int)(hend - p), p);
	}
	if (colon != NULL && colon + 1 < end)
		snprintf(port, plen, "%.*s", (int)(end - colon - 1), colon + 1);
	else
		snprintf(port, plen, "%s", tls ? "5671" : "5672");
	if (host[0] == '\0')
		snprintf(host, hlen, "localhost");
	return true;
}

static bool tcp_reachable(const char *host, const char *port, int timeout_ms)
{
	struct addrinfo hints, *res = NULL;
	bool up = false;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return false;
	for (struct addrinfo *ai = res; ai != NULL && !up; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			up = true;
		} else if (errno == EINPROGRESS) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			if (poll(&pfd, 1, timeout_ms) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
				up = true;
		}
		close(fd);
	}
	freeaddrinfo(res);
	return up;
}

bool fcgi_probe_amqp(const char *url, int timeout_ms)
{
	char host[256], port[16];
	return fcgi_probe_amqp_host_port(url, host, sizeof host, port, sizeof port) &&
	       tcp_reachable(host, port, timeout_ms);
}

#define PROBE_CACHE_MAGIC 0x50524231u   /* "PRB1" */

struct fcgi_probe_cache {
	unsigned magic;
	pthread_mutex_t lock;   /* held during a probe: the others wait for its result */
	int64_t max_age_ms;
	int64_t at_ms;          /* monotonic time of the last probe; 0: never */
	bool mongo, rabbit;
};

fcgi_probe_cache_t *fcgi_probe_cache_new(int64_t max_age_ms)
{
	fcgi_probe_cache_t *c = lc_calloc(1, sizeof *c);
	c->magic = PROBE_CACHE_MAGIC;
	c->max_age_ms = max_age_ms;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void fcgi_probe_cache_free(fcgi_probe_cache_t **c)
{
	if (c == NULL || *c == NULL)
		return;
	LC_CHECK_OBJ(*c, PROBE_CACHE_MAGIC);
	pthread_mutex_destroy(&(*c)->lock);
	(*c)->magic = 0;
	free(*c);
	*c = NULL;
}

void fcgi_probe_cache_get(fcgi_probe_cache_t *c, lc_store_t *store, const char *amqp_url,
			  int timeout_ms, bool *mongo, bool *rabbit)
{
	LC_CHECK_OBJ(c, PROBE_CACHE_MAGIC);
	pthread_mutex_lock(&c->lock);
	int64_t now = lc_mono_ms();
	if (c->at_ms == 0 || now - c->at_ms >= c->max_age_ms) {
		lc_err_t err;
		lc_err_clear(&err);
		c->mongo = lc_store_ping(store, &err) == LC_OK;
		if (!c->mongo)
			LC_WARN("health: MongoDB unreachable: %s", err.reason);
		c->rabbit = fcgi_probe_amqp(amqp_url, timeout_ms);
		if (!c->rabbit)
			LC_WARN("health: RabbitMQ unreachable");
		/* Aged from when the probe ended: a slow probe is not taken as stale at once. */
		c->at_ms = lc_mono_ms();
	}
	*mongo = c->mongo;
	*rabbit = c->rabbit;
	pthread_mutex_unlock(&c->lock);
}
