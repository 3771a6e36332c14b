/* fcgi probe: a TCP connect with a deadline to the broker an amqp:// URL names. A TCP probe,
 * not an AMQP handshake: a handshake per probe would cost the broker a connection each time. */
#include "config.h"
#include "probe.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
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
