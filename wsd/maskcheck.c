/* SPDX-License-Identifier: MIT */
/* wsd_mask (see maskcheck.h): the frame headers of the bytes libwebsockets reads from its
 * clients. lws 4.1 reads a plain socket with recv(2) on the loop thread; livechat-wsd defines
 * recv here, so the dynamic linker binds libwebsockets' calls to it (a definition in the program
 * comes before libc's): it reads with recvfrom(2), the same call, and on the loop thread follows
 * the sockets the listener watches. Every other caller (other threads, other sockets) gets
 * recvfrom's answer untouched. An unmasked frame on an established websocket: the bytes before
 * its header go to lws, a close frame 1002 to the client, then lws reads the end of the stream
 * and closes the connection, so the frame is never served. */
#include "config.h"
#include "maskcheck.h"
#include "wsd.h"
#include "lc_alloc.h"
#include "lc_err.h"

#include <errno.h>
#include <libwebsockets.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

enum { WSD_MS_OFF, WSD_MS_HTTP, WSD_MS_HEAD, WSD_MS_BODY, WSD_MS_UNMASKED };

static const uint8_t http_end[4] = { '\r', '\n', '\r', '\n' };

/* The bytes up to the request's blank line; *i moves past them. */
static void scan_http(wsd_mask_stream_t *s, const uint8_t *buf, size_t len, size_t *i)
{
	for (; *i < len && s->got < sizeof http_end; (*i)++)
		s->got = buf[*i] == http_end[s->got] ? s->got + 1 : buf[*i] == '\r' ? 1 : 0;
	if (s->got == sizeof http_end) {
		s->state = WSD_MS_HEAD;
		s->got = 0;
	}
}

/* One header byte; false when it is the second of an unmasked frame. */
static bool head_byte(wsd_mask_stream_t *s, uint8_t b)
{
	if (s->got == 1) {
		if (!(b & 0x80))
			return false;
		uint8_t len7 = b & 0x7f;
		s->need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4);
		s->n = len7 < 126 ? len7 : 0;
	} else if (s->got >= 2 && s->got < s->need - 4) {
		s->n = s->n << 8 | b;   /* the extended length, network order */
	}
	if (++s->got == s->need) {
		s->state = s->n > 0 ? WSD_MS_BODY : WSD_MS_HEAD;
		s->got = 0;
	}
	return true;
}

size_t wsd_mask_scan(wsd_mask_stream_t *s, const uint8_t *buf, size_t len)
{
	size_t i = 0, head_at = 0;
	if (s->state == WSD_MS_UNMASKED)
		return 0;
	while (i < len) {
		switch (s->state) {
		case WSD_MS_HTTP:
			scan_http(s, buf, len, &i);
			break;
		case WSD_MS_HEAD:
			if (s->got == 0) {
				head_at = i;
				s->need = 2;   /* at least: the second byte tells the rest */
			}
			if (!head_byte(s, buf[i])) {
				s->state = WSD_MS_UNMASKED;
				return head_at;   /* 0 when the header began in an earlier read */
			}
			i++;
			break;
		case WSD_MS_BODY: {
			uint64_t left = len - i;
			uint64_t skip = s->n < left ? s->n : left;
			i += (size_t)skip;
			s->n -= skip;
			if (s->n == 0)
				s->state = WSD_MS_HEAD;
			break;
		}
		default:
			return len;   /* not followed */
		}
	}
	return len;
}

void wsd_mask_start(wsd_mask_stream_t *s)
{
	*s = (wsd_mask_stream_t){ .state = WSD_MS_HTTP };
}

bool wsd_mask_unmasked(const wsd_mask_stream_t *s)
{
	return s->state == WSD_MS_UNMASKED;
}

/* ---- the sockets of the loop, by descriptor */

/* One per descriptor number the listener watched (the table grows to the highest). Only the
 * loop thread touches it: recv below looks only when it runs there. */
typedef struct watched {
	wsd_mask_stream_t s;
	struct lws *wsi;        /* set at ESTABLISHED */
} watched_t;

static watched_t *tab;
static size_t ntab;

static watched_t *slot(int fd, bool grow)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= ntab) {
		if (!grow)
			return NULL;
		size_t n = ntab ? ntab : 1024;
		while (n <= (size_t)fd)
			n *= 2;
		tab = lc_realloc(tab, n * sizeof *tab);
		memset(tab + ntab, 0, (n - ntab) * sizeof *tab);
		ntab = n;
	}
	return &tab[fd];
}

void wsd_mask_watch(int fd)
{
	LC_ASSERT(wsd_thread() == WSD_THREAD_LOOP);
	watched_t *e = slot(fd, true);
	if (e != NULL) {
		*e = (watched_t){ 0 };
		wsd_mask_start(&e->s);
	}
}

bool wsd_mask_established(int fd, struct lws *wsi)
{
	LC_ASSERT(wsd_thread() == WSD_THREAD_LOOP);
	watched_t *e = slot(fd, false);
	if (e == NULL || e->s.state == WSD_MS_OFF)
		return false;
	e->s.established = 1;
	e->wsi = wsi;
	return wsd_mask_unmasked(&e->s);
}

void wsd_mask_forget(int fd)
{
	LC_ASSERT(wsd_thread() == WSD_THREAD_LOOP);
	watched_t *e = slot(fd, false);
	if (e != NULL)
		*e = (watched_t){ 0 };
}

/* RFC 6455 7.4.1: 1002, protocol error; unmasked, as every server frame. Sent only when lws has
 * nothing of its own half-written on the socket, so it starts at a frame boundary. */
static void send_close(int fd, struct lws *wsi)
{
	static const uint8_t close_1002[] = { 0x88, 0x02, 0x03, 0xea };
	if (wsi != NULL && lws_partial_buffered(wsi))
		return;
	while (send(fd, close_1002, sizeof close_1002, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
	       errno == EINTR)
		;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	watched_t *e = NULL;
	if (wsd_thread() == WSD_THREAD_LOOP && !(flags & MSG_PEEK))
		e = slot(fd, false);
	if (e != NULL && e->s.established && wsd_mask_unmasked(&e->s))
		return 0;   /* the end of the stream: lws closes the connection */
	ssize_t r = recvfrom(fd, buf, len, flags, NULL, NULL);
	if (e == NULL || e->s.state == WSD_MS_OFF || r <= 0)
		return r;
	size_t ok = wsd_mask_scan(&e->s, buf, (size_t)r);
	if (ok == (size_t)r || !e->s.established)
		return r;   /* before ESTABLISHED the listener refuses the upgrade instead */
	send_close(fd, e->wsi);
	return (ssize_t)ok;   /* 0: the end of the stream at once */
}
