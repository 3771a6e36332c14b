/* SPDX-License-Identifier: MIT */
/* chat.h: the demo's one websocket protocol, "demo-chat". Every text message a client sends is
 * relayed to every connected client, the sender included: echo and broadcast in one rule. */
#ifndef DEMO_CHAT_H
#define DEMO_CHAT_H

#include <libwebsockets.h>
#include <stdlib.h>

#define CHAT_PROTOCOL "demo-chat"
#define CHAT_MAX_MESSAGE 4096   /* a longer message closes the connection with 1009 */
#define CHAT_MAX_QUEUED 64      /* a client that falls further behind is closed with 1008 */

/* The protocol's entry for the server's protocol list: its name, its callback (called by lws on
 * the loop thread, the only thread) and the size of the per-connection state lws allocates. */
extern const struct lws_protocols chat_protocol;

/* A command-line number in [lo, hi], or -1 when s is not one. */
static inline long chat_number(const char *s, long lo, long hi)
{
	char *end;
	long n = strtol(s, &end, 10);
	return (*s != '\0' && *end == '\0' && n >= lo && n <= hi) ? n : -1;
}

#endif
