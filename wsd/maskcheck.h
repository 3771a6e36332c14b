/* SPDX-License-Identifier: MIT */
/* wsd_mask: RFC 6455 (5.1) has a server close the connection on a client frame that is not
 * masked. libwebsockets 4.1 serves such a frame like a masked one and tells no callback, so wsd
 * follows the frame headers in the bytes lws reads from its clients' sockets (this module's recv,
 * see maskcheck.c) and ends the websocket that sends an unmasked one with close code 1002. */
#ifndef WSD_MASKCHECK_H
#define WSD_MASKCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws;

/* One byte stream's place among the frame headers: the HTTP request first (up to its blank
 * line), then header, payload, header... Plain data, 16 bytes; zeroed: not followed. */
typedef struct wsd_mask_stream {
	uint8_t state;          /* WSD_MS_* (maskcheck.c) */
	uint8_t got;            /* header bytes seen, or how much of "\r\n\r\n" the last ones matched */
	uint8_t need;           /* header bytes in all (known after the second) */
	uint8_t established;    /* the listener's ESTABLISHED came: an unmasked frame closes it */
	uint32_t unused;
	uint64_t n;             /* the extended length being read, then the payload bytes left */
} wsd_mask_stream_t;

/* s follows a stream from its first byte (the HTTP request). */
void wsd_mask_start(wsd_mask_stream_t *s);
/* Follow len bytes of s's stream: the offset of the first byte of the first unmasked frame
 * header among them, or len when there is none. After one, s stays "unmasked" (every later call
 * answers 0). Pure: the unit tests drive it. */
size_t wsd_mask_scan(wsd_mask_stream_t *s, const uint8_t *buf, size_t len);
/* Whether s's stream has sent an unmasked frame. */
bool wsd_mask_unmasked(const wsd_mask_stream_t *s);

/* Loop: follow the socket fd from its first byte (the listener's FILTER_NETWORK_CONNECTION,
 * before lws reads anything). */
void wsd_mask_watch(int fd);
/* Loop: the websocket on fd is established (ESTABLISHED): from now on an unmasked frame in what
 * lws reads ends it (1002 sent when wsi has no output pending, then the end of the stream);
 * true when one came already, with the upgrade (the caller closes it). */
bool wsd_mask_established(int fd, struct lws *wsi);
/* Loop: fd's connection is gone (CLOSED): stop following it. */
void wsd_mask_forget(int fd);

#endif
