/* SPDX-License-Identifier: MIT */
/* fcgi probe: is the RabbitMQ broker of an amqp:// URL accepting TCP connections, within a
 * short timeout? Used by GET /api/health (through a cache of the last result) and before the
 * revoke publisher (re)connects, so that neither waits the bus's own 5 s connect timeout for a
 * broker that does not answer. */
#ifndef FCGI_PROBE_H
#define FCGI_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lc_store.h"

/* Host and port of amqp[s]://[user[:pass]@]host[:port][/vhost] (port 5672, or 5671 for amqps,
 * when absent; host "localhost" when empty). False when the URL is malformed. */
bool fcgi_probe_amqp_host_port(const char *url, char *host, size_t hlen, char *port,
			       size_t plen);

/* True when a TCP connection to the broker of url is accepted within timeout_ms (the
 * connection is closed at once). False when refused, unreachable, timed out or malformed. */
bool fcgi_probe_amqp(const char *url, int timeout_ms);

/* The last probe of MongoDB (a ping through the store) and of the broker, shared by every
 * thread of a process: a caller that finds it older than max_age_ms probes again while the
 * others wait for that result (one probe at a time, at most one per max_age_ms while both
 * answer). Thread-safe. */
typedef struct fcgi_probe_cache fcgi_probe_cache_t;
fcgi_probe_cache_t *fcgi_probe_cache_new(int64_t max_age_ms);
void fcgi_probe_cache_free(fcgi_probe_cache_t **c);
/* *mongo, *rabbit: up or not, as probed at most max_age_ms ago (timeout_ms per probe). */
void fcgi_probe_cache_get(fcgi_probe_cache_t *c, lc_store_t *store, const char *amqp_url,
			  int timeout_ms, bool *mongo, bool *rabbit);

#endif
