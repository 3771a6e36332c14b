/* fcgi probe: is the RabbitMQ broker of an amqp:// URL accepting TCP connections, within a
 * short timeout? Used by GET /api/health and before the revoke publisher (re)connects, so that
 * neither waits the bus's own 5 s connect timeout for a broker that does not answer. */
#ifndef FCGI_PROBE_H
#define FCGI_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/* Host and port of amqp[s]://[user[:pass]@]host[:port][/vhost] (port 5672, or 5671 for amqps,
 * when absent; host "localhost" when empty). False when the URL is malformed. */
bool fcgi_probe_amqp_host_port(const char *url, char *host, size_t hlen, char *port,
			       size_t plen);

/* True when a TCP connection to the broker of url is accepted within timeout_ms (the
 * connection is closed at once). False when refused, unreachable, timed out or malformed. */
bool fcgi_probe_amqp(const char *url, int timeout_ms);

#endif
