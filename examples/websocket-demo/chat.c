/* SPDX-License-Identifier: MIT */
/* chat.c: the "demo-chat" protocol (see chat.h). Each client has an outbox of messages waiting
 * for the socket to be writable: lws allows one lws_write() per WRITEABLE callback, so a
 * broadcast only queues and asks lws to call back when each socket can take more. */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

/* One queued outgoing message; each recipient gets its own copy. */
struct chat_msg {
	STAILQ_ENTRY(chat_msg) next;
	size_t len;
	unsigned char buf[];          /* LWS_PRE bytes lws fills with the frame header, then text */
};

/* One of these is created by lws (zeroed) for each client connecting to us. */
struct chat_client {
	LIST_ENTRY(chat_client) link;  /* in struct chat's list of everyone connected */
	struct lws *wsi;
	STAILQ_HEAD(, chat_msg) outbox;
	unsigned queued;
	int too_slow;                  /* the outbox overflowed: close at the next WRITEABLE */
	size_t rx_len;                 /* bytes of the message being assembled from fragments */
	unsigned char rx[CHAT_MAX_MESSAGE];
};

/* One per vhost, made at PROTOCOL_INIT: the connected clients. */
struct chat {
	LIST_HEAD(, chat_client) clients;
};

/* Closes with a status code and reason the peer sees in its close frame. */
static int chat_refuse(struct lws *wsi, enum lws_close_status code, const char *why)
{
	lws_close_reason(wsi, code, (unsigned char *)why, strlen(why));
	return -1;
}

static void chat_broadcast(struct chat *chat, const unsigned char *text, size_t len)
{
	struct chat_client *c;
	LIST_FOREACH(c, &chat->clients, link) {
		struct chat_msg *m = NULL;
		if (c->queued < CHAT_MAX_QUEUED)
			m = malloc(sizeof *m + LWS_PRE + len);
		if (m == NULL) {
			c->too_slow = 1;
		} else {
			memcpy(m->buf + LWS_PRE, text, len);
			m->len = len;
			STAILQ_INSERT_TAIL(&c->outbox, m, next);
			c->queued++;
		}
		lws_callback_on_writable(c->wsi);
	}
}

/* A message may arrive in pieces (fragments, or a frame larger than lws's receive buffer). */
static int chat_receive(struct chat *chat, struct chat_client *c, const void *in, size_t len)
{
	if (lws_frame_is_binary(c->wsi))
		return chat_refuse(c->wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text frames only");
	if (len > sizeof c->rx - c->rx_len)
		return chat_refuse(c->wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (lws_is_final_fragment(c->wsi)) {   /* the last frame, and nothing of it left */
		chat_broadcast(chat, c->rx, c->rx_len);
		c->rx_len = 0;
	}
	return 0;
}

static int chat_write(struct chat_client *c)
{
	struct chat_msg *m = STAILQ_FIRST(&c->outbox);
	if (c->too_slow)
		return chat_refuse(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too far behind");
	if (m == NULL)
		return 0;
	if (lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len)
		return -1;
	STAILQ_REMOVE_HEAD(&c->outbox, next);
	c->queued--;
	free(m);
	if (!STAILQ_EMPTY(&c->outbox))
		lws_callback_on_writable(c->wsi);
	return 0;
}

static void chat_forget(struct chat_client *c)
{
	struct chat_msg *m;
	LIST_REMOVE(c, link);
	while ((m = STAILQ_FIRST(&c->outbox)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->outbox, next);
		free(m);
	}
}

/* The close frame's payload: a 2-byte status code (network order), then a UTF-8 reason. */
static void chat_log_close(const unsigned char *in, size_t len)
{
	unsigned code = len >= 2 ? (unsigned)(in[0] << 8 | in[1]) : 1005;
	int rlen = len > 2 ? (int)(len - 2) : 0;
	fprintf(stderr, "client closed: %u %.*s\n", code, rlen, len > 2 ? (const char *)in + 2 : "");
}

static int chat_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			 void *in, size_t len)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);
	struct chat *chat = lws_protocol_vh_priv_get(vh, lws_get_protocol(wsi));
	struct chat_client *c = user;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		chat = lws_protocol_vh_priv_zalloc(vh, lws_get_protocol(wsi), sizeof *chat);
		return chat == NULL ? -1 : 0;
	case LWS_CALLBACK_ESTABLISHED:   /* the handshake is done: c is ours until CLOSED */
		c->wsi = wsi;
		STAILQ_INIT(&c->outbox);
		LIST_INSERT_HEAD(&chat->clients, c, link);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return chat_receive(chat, c, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return chat_write(c);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		chat_log_close(in, len);
		return 0;                /* 0: lws answers with the same close frame */
	case LWS_CALLBACK_CLOSED:
		chat_forget(c);
		return 0;
	default:
		return 0;
	}
}

/* rx_buffer_size: lws hands over a message in pieces of at most this many bytes. */
const struct lws_protocols chat_protocol = {
	.name = CHAT_PROTOCOL, .callback = chat_callback,
	.per_session_data_size = sizeof(struct chat_client), .rx_buffer_size = CHAT_MAX_MESSAGE,
};
