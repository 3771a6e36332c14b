/* SPDX-License-Identifier: MIT */
/* bench/wsconn.c: a load client for bench/run (not part of the product). Opens N websocket
 * connections to one livechat-wsd with raw non-blocking sockets and epoll (the HTTP upgrade is
 * written by hand), optionally sends each a widget hello and waits for its welcome, then keeps
 * them all open and idle, answering the server's pings, until SIGTERM/SIGINT or --hold runs out.
 *
 *   wsconn -p PORT -n N [-a DSTADDR] [-s SRC1,SRC2,...] [-u PATH] [-H "Header: value"]
 *          [--hello] [-c INFLIGHT] [-t OPEN_TIMEOUT_S] [-k HOLD_S]
 *
 * When the open phase ends (all N answered, or OPEN_TIMEOUT_S passed) it prints one line on
 * stdout:  established=E failed=F seconds=S first_error=...  and later, on exit, a line on
 * stderr with the connections the server dropped while idle. Source addresses are used round
 * robin (127.0.0.2, 127.0.0.3, ...: each gives its own ~28k ephemeral ports towards one
 * destination). Everything stays on loopback unless told otherwise; counts and times are bounded. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define BUFSZ 1024              /* per connection: enough for a fresh widget's welcome */
#define MAX_SRC 64
#define MAX_N 2000000

enum { CS_CONNECTING = 1, CS_WAIT101, CS_WAIT_WELCOME, CS_IDLE, CS_DEAD };

typedef struct conn {
	int fd;
	uint8_t state;
	uint16_t len;           /* bytes in buf */
	uint32_t skip;          /* payload bytes of an oversized frame still to discard */
	char buf[BUFSZ];
} conn_t;

static volatile sig_atomic_t stop_flag;
static conn_t **conns;
static int epfd;
static int n_target, n_started, n_inflight, n_established, n_failed, n_dropped;
static long n_pings;
static int opt_hello;
static char request[2048];
static size_t request_len;
static char first_error[160];

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void note_error(const char *what, int err)
{
	if (first_error[0] == '\0')
		snprintf(first_error, sizeof first_error, "%s:%s", what, err ? strerror(err) : "-");
}

static void conn_dead(conn_t *c, const char *why, int err)
{
	if (c->state == CS_DEAD)
		return;
	if (c->state == CS_IDLE) {
		n_dropped++;
		n_established--;
	} else {
		n_failed++;
		n_inflight--;
		note_error(why, err);
	}
	c->state = CS_DEAD;
	close(c->fd);
	c->fd = -1;
}

/* A client frame: FIN + opcode, masked (RFC 6455 requires it of clients), payload <= 125. */
static int send_frame(conn_t *c, int opcode, const char *payload, size_t len)
{
	unsigned char f[2 + 4 + 125];
	uint32_t key = (uint32_t)rand();
	if (len > 125)
		len = 125;
	f[0] = (unsigned char)(0x80 | opcode);
	f[1] = (unsigned char)(0x80 | len);
	memcpy(f + 2, &key, 4);
	for (size_t i = 0; i < len; i++)
		f[6 + i] = (unsigned char)payload[i] ^ f[2 + (i & 3)];
	ssize_t w = send(c->fd, f, 6 + len, MSG_NOSIGNAL);
	return w == (ssize_t)(6 + len) ? 0 : -1;
}

static void became_established(conn_t *c)
{
	c->state = CS_IDLE;
	n_inflight--;
	n_established++;
}

static void handle_frame(conn_t *c, int opcode, const char *p, size_t len)
{
	switch (opcode) {
	case 0x9:   /* ping: answer with the same payload */
		n_pings++;
		if (send_frame(c, 0xA, p, len) != 0)
			conn_dead(c, "pong", errno);
		break;
	case 0x8:   /* close */
		conn_dead(c, "server-close", 0);
		break;
	case 0x1:
		if (c->state == CS_WAIT_WELCOME) {
			if (memmem(p, len, "\"welcome\"", 9))
				became_established(c);
			else if (memmem(p, len, "\"error\"", 7))
				conn_dead(c, "error-frame", 0);
		}
		break;
	default:
		break;
	}
}

/* Consume whole frames from c->buf; keep a partial one for the next read. */
static void parse_frames(conn_t *c)
{
	size_t off = 0;
	while (c->state != CS_DEAD) {
		size_t avail = c->len - off;
		if (c->skip > 0) {
			size_t k = avail < c->skip ? avail : c->skip;
			off += k;
			c->skip -= (uint32_t)k;
			if (c->skip > 0)
				break;
			continue;
		}
		if (avail < 2)
			break;
		const unsigned char *b = (const unsigned char *)c->buf + off;
		int opcode = b[0] & 0x0f;
		uint64_t plen = b[1] & 0x7f;
		size_t hdr = 2;
		if (plen == 126) {
			if (avail < 4)
				break;
			plen = ((uint64_t)b[2] << 8) | b[3];
			hdr = 4;
		} else if (plen == 127) {
			if (avail < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = (plen << 8) | b[2 + i];
			hdr = 10;
		}
		if (b[1] & 0x80)
			hdr += 4;   /* servers do not mask; tolerate it anyway (payload not unmasked) */
		if (avail >= hdr + plen) {
			handle_frame(c, opcode, (const char *)b + hdr, (size_t)plen);
			off += hdr + plen;
			continue;
		}
		if (hdr + plen > BUFSZ) {
			/* Larger than the buffer: judge it by what is here, discard the rest. */
			if (avail > hdr)
				handle_frame(c, opcode, (const char *)b + hdr, avail - hdr);
			c->skip = (uint32_t)(hdr + plen - avail);
			off = c->len;
			continue;
		}
		break;
	}
	if (c->state == CS_DEAD)
		return;
	if (off > 0) {
		memmove(c->buf, c->buf + off, c->len - off);
		c->len = (uint16_t)(c->len - off);
	}
}

static void on_readable(conn_t *c)
{
	for (;;) {
		if (c->len >= BUFSZ) {
			conn_dead(c, "buffer-full", 0);
			return;
		}
		ssize_t r = recv(c->fd, c->buf + c->len, BUFSZ - c->len, 0);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0) {
			conn_dead(c, "recv", errno);
			return;
		}
		if (r == 0) {
			conn_dead(c, "eof", 0);
			return;
		}
		c->len = (uint16_t)(c->len + r);
		if (c->state == CS_WAIT101) {
			char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
			if (end == NULL)
				continue;
			if (strncmp(c->buf, "HTTP/1.1 101", 12) != 0) {
				char status[40];
				snprintf(status, sizeof status, "http:%.12s", c->buf + 9);
				conn_dead(c, status, 0);
				return;
			}
			size_t hl = (size_t)(end + 4 - c->buf);
			memmove(c->buf, c->buf + hl, c->len - hl);
			c->len = (uint16_t)(c->len - hl);
			if (opt_hello) {
				static const char hello[] = "{\"type\":\"hello\"}";
				c->state = CS_WAIT_WELCOME;
				if (send_frame(c, 0x1, hello, sizeof hello - 1) != 0) {
					conn_dead(c, "send-hello", errno);
					return;
				}
			} else {
				became_established(c);
			}
		}
		parse_frames(c);
		if (c->state == CS_DEAD)
			return;
	}
}

static void on_writable(conn_t *c)
{
	int err = 0;
	socklen_t el = sizeof err;
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err != 0) {
		conn_dead(c, "connect", err);
		return;
	}
	ssize_t w = send(c->fd, request, request_len, MSG_NOSIGNAL);
	if (w != (ssize_t)request_len) {
		conn_dead(c, "send-upgrade", errno);
		return;
	}
	c->state = CS_WAIT101;
}

static int start_one(int idx, const struct sockaddr_in *dst, const struct sockaddr_in *src)
{
	conn_t *c = calloc(1, sizeof *c);
	if (c == NULL) {
		n_failed++;
		note_error("calloc", ENOMEM);
		return -1;
	}
	conns[idx] = c;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		c->state = CS_DEAD;
		n_failed++;
		note_error("socket", errno);
		return -1;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (bind(c->fd, (const struct sockaddr *)src, sizeof *src) != 0 ||
	    (connect(c->fd, (const struct sockaddr *)dst, sizeof *dst) != 0 && errno != EINPROGRESS)) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		c->state = CS_DEAD;
		n_failed++;
		note_error("connect", e);
		return -1;
	}
	c->state = CS_CONNECTING;
	n_inflight++;
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)idx };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		conn_dead(c, "epoll_ctl", errno);
		return -1;
	}
	return 0;
}

static void dispatch(const struct epoll_event *ev)
{
	conn_t *c = conns[ev->data.u32];
	if (c == NULL || c->state == CS_DEAD)
		return;
	if (c->state == CS_CONNECTING) {
		if (!(ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		on_writable(c);
		if (c->state == CS_DEAD)
			return;
		/* From now on only readability matters. */
		struct epoll_event in = { .events = EPOLLIN, .data.u32 = ev->data.u32 };
		epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &in);
		return;
	}
	if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		on_readable(c);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: wsconn -p PORT -n N [-a DSTADDR] [-s SRC,SRC...] [-u PATH] [-H HEADER]\n"
		"              [--hello] [-c INFLIGHT] [-t OPEN_TIMEOUT_S] [-k HOLD_S]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hello", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dst_addr = "127.0.0.1", *srcs = "127.0.0.1", *path = "/ws/widget";
	const char *header = NULL;
	int port = 0, inflight_max = 256;
	double open_timeout = 120, hold = 600;
	int opt;
	while ((opt = getopt_long(argc, argv, "p:n:a:s:u:H:c:t:k:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'n': n_target = atoi(optarg); break;
		case 'a': dst_addr = optarg; break;
		case 's': srcs = optarg; break;
		case 'u': path = optarg; break;
		case 'H': header = optarg; break;
		case 'c': inflight_max = atoi(optarg); break;
		case 't': open_timeout = atof(optarg); break;
		case 'k': hold = atof(optarg); break;
		case 'W': opt_hello = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (port < 1 || port > 65535 || n_target < 1 || n_target > MAX_N || inflight_max < 1 ||
	    open_timeout <= 0 || open_timeout > 3600 || hold < 0 || hold > 86400) {
		fprintf(stderr, "wsconn: need -p 1..65535, -n 1..%d, -c >= 1, -t 0..3600, -k 0..86400\n",
			MAX_N);
		return 2;
	}
	if (strchr(path, '\r') || strchr(path, '\n') || (header && (strchr(header, '\r') ||
							       strchr(header, '\n')))) {
		fprintf(stderr, "wsconn: no line breaks in -u or -H\n");
		return 2;
	}
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, dst_addr, &dst.sin_addr) != 1) {
		fprintf(stderr, "wsconn: bad -a %s\n", dst_addr);
		return 2;
	}
	struct sockaddr_in src[MAX_SRC];
	int nsrc = 0;
	char *list = strdup(srcs);
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (nsrc == MAX_SRC) {
			fprintf(stderr, "wsconn: at most %d source addresses\n", MAX_SRC);
			return 2;
		}
		memset(&src[nsrc], 0, sizeof src[nsrc]);
		src[nsrc].sin_family = AF_INET;
		if (inet_pton(AF_INET, t, &src[nsrc].sin_addr) != 1) {
			fprintf(stderr, "wsconn: bad source address %s\n", t);
			return 2;
		}
		nsrc++;
	}
	free(list);
	if (nsrc == 0) {
		fprintf(stderr, "wsconn: no source address\n");
		return 2;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
		if ((rlim_t)n_target + 16 > rl.rlim_cur)
			fprintf(stderr, "wsconn: warning: fd limit %llu < %d connections\n",
				(unsigned long long)rl.rlim_cur, n_target);
	}
	request_len = (size_t)snprintf(request, sizeof request,
		"GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
		"%s%s\r\n", path, dst_addr, port, header ? header : "", header ? "\r\n" : "");
	if (request_len >= sizeof request) {
		fprintf(stderr, "wsconn: request too long\n");
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	srand((unsigned)getpid());
	conns = calloc((size_t)n_target, sizeof *conns);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (conns == NULL || epfd < 0) {
		perror("wsconn");
		return 1;
	}

	enum { EVN = 1024 };
	struct epoll_event evs[EVN];
	double t0 = now_s(), deadline = t0 + open_timeout, last_report = t0;
	while (!stop_flag && (n_started < n_target || n_inflight > 0) && now_s() < deadline) {
		while (n_started < n_target && n_inflight < inflight_max) {
			int i = n_started++;
			start_one(i, &dst, &src[i % nsrc]);
		}
		int k = epoll_wait(epfd, evs, EVN, 100);
		for (int i = 0; i < k; i++)
			dispatch(&evs[i]);
		if (now_s() - last_report >= 5) {
			last_report = now_s();
			fprintf(stderr, "wsconn: %d established, %d failed, %d in flight\n", n_established,
				n_failed, n_inflight);
		}
	}
	/* What has not finished its handshake by now counts as failed. */
	for (int i = 0; i < n_started; i++)
		if (conns[i] && conns[i]->state != CS_DEAD && conns[i]->state != CS_IDLE)
			conn_dead(conns[i], "open-timeout", 0);
	n_failed += n_target - n_started;
	printf("established=%d failed=%d seconds=%.2f first_error=%s\n", n_established, n_failed,
	       now_s() - t0, first_error[0] ? first_error : "none");
	fflush(stdout);

	double hold_end = now_s() + hold;
	while (!stop_flag && now_s() < hold_end) {
		int k = epoll_wait(epfd, evs, EVN, 500);
		for (int i = 0; i < k; i++)
			dispatch(&evs[i]);
	}
	fprintf(stderr, "wsconn: exit: %d still open, %d dropped by the server while idle, %ld pings\n",
		n_established, n_dropped, n_pings);
	return 0;
}
