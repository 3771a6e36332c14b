/* SPDX-License-Identifier: MIT */
/* client.c: demo-client, a terminal client of the "demo-chat" websocket. Each line read from
 * stdin is sent as one text message ("/ping" sends a PING instead); each message received is
 * printed on a line of its own. At the end of stdin it closes with 1000 and waits for the
 * server's close frame. Usage: demo-client [-h HOST] [-p PORT] */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

struct line {
	STAILQ_ENTRY(line) next;
	enum lws_write_protocol kind;  /* LWS_WRITE_TEXT, or LWS_WRITE_PING for "/ping" */
	size_t len;
	unsigned char buf[];           /* LWS_PRE bytes for lws, then the text */
};

/* The client's whole state, reached from callbacks through the context's user pointer. */
struct client {
	struct lws *ws;                /* the websocket, once connected */
	STAILQ_HEAD(, line) outbox;    /* lines waiting for the socket to be writable */
	char partial[CHAT_MAX_MESSAGE]; /* stdin bytes after the last newline */
	size_t plen;
	int want_close, done, status;
};

static struct client *client_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

static void client_queue(struct client *cl, const char *text, size_t len)
{
	int ping = len == 5 && memcmp(text, "/ping", 5) == 0;
	struct line *l = malloc(sizeof *l + LWS_PRE + len);
	if (l == NULL) {
		fprintf(stderr, "out of memory: a line was not sent\n");
		return;
	}
	l->kind = ping ? LWS_WRITE_PING : LWS_WRITE_TEXT;
	l->len = ping ? 0 : len;
	memcpy(l->buf + LWS_PRE, text, l->len);
	STAILQ_INSERT_TAIL(&cl->outbox, l, next);
	lws_callback_on_writable(cl->ws);
}

static void client_eof(struct client *cl)
{
	cl->want_close = 1;
	if (cl->ws != NULL)      /* NULL once the websocket is gone (context teardown) */
		lws_callback_on_writable(cl->ws);
}

/* stdin, adopted into the event loop as a raw file: lines in, the close at its end. */
static int stdin_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			  void *in, size_t len)
{
	struct client *cl = client_of(wsi);
	if (reason == LWS_CALLBACK_RAW_CLOSE_FILE)   /* a pipe's end can arrive as a hangup */
		client_eof(cl);
	if (reason != LWS_CALLBACK_RAW_RX_FILE)
		return 0;
	ssize_t n = read(STDIN_FILENO, cl->partial + cl->plen, sizeof cl->partial - cl->plen);
	if (n <= 0)
		return -1;     /* stops watching stdin; RAW_CLOSE_FILE follows */
	cl->plen += (size_t)n;
	char *nl, *start = cl->partial;
	while ((nl = memchr(start, '\n', cl->plen - (size_t)(start - cl->partial))) != NULL) {
		client_queue(cl, start, (size_t)(nl - start));
		start = nl + 1;
	}
	cl->plen -= (size_t)(start - cl->partial);
	memmove(cl->partial, start, cl->plen);
	if (cl->plen == sizeof cl->partial) {   /* a line longer than a message: send what we have */
		client_queue(cl, cl->partial, cl->plen);
		cl->plen = 0;
	}
	return 0;
}

/* One lws_write() per WRITEABLE: the lines in order, then the close. */
static int client_write(struct client *cl)
{
	struct line *l = STAILQ_FIRST(&cl->outbox);
	if (l == NULL && cl->want_close) {
		lws_close_reason(cl->ws, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
		return -1;     /* lws sends the close frame and waits for the server's */
	}
	if (l == NULL)
		return 0;
	if (lws_write(cl->ws, l->buf + LWS_PRE, l->len, l->kind) < (int)l->len)
		return -1;
	STAILQ_REMOVE_HEAD(&cl->outbox, next);
	free(l);
	if (!STAILQ_EMPTY(&cl->outbox) || cl->want_close)
		lws_callback_on_writable(cl->ws);
	return 0;
}

static int chat_client_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
				void *in, size_t len)
{
	struct client *cl = client_of(wsi);
	lws_sock_file_fd_type fd = { .filefd = STDIN_FILENO };

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		cl->ws = wsi;
		if (lws_adopt_descriptor_vhost(lws_get_vhost(wsi), LWS_ADOPT_RAW_FILE_DESC, fd,
					       "stdin", NULL) == NULL)
			return -1;
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		fwrite(in, 1, len, stdout);
		if (lws_is_final_fragment(wsi))
			putchar('\n');
		fflush(stdout);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		puts("pong");
		fflush(stdout);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return client_write(cl);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		fprintf(stderr, "server closed: %u\n", len >= 2 ?
			(unsigned)(((unsigned char *)in)[0] << 8 | ((unsigned char *)in)[1]) : 1005);
		cl->status = 1;
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "cannot connect: %s\n", in ? (const char *)in : "");
		cl->status = 1;
		cl->done = 1;
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		cl->ws = NULL;
		cl->done = 1;
		return 0;
	default:
		return 0;
	}
}

int main(int argc, char **argv)
{
	struct client cl = { .outbox = STAILQ_HEAD_INITIALIZER(cl.outbox) };
	struct line *l;
	const char *host = "127.0.0.1";
	long port = 7681;
	int opt;

	while ((opt = getopt(argc, argv, "h:p:")) != -1) {
		if (opt == 'h') host = optarg;
		else if (opt == 'p') port = chat_number(optarg, 1, 65535);
		if (opt == '?' || port < 0) {
			fprintf(stderr, "usage: %s [-h HOST] [-p PORT 1-65535]\n", argv[0]);
			return 2;
		}
	}
	const struct lws_protocols protocols[] = {
		{ .name = CHAT_PROTOCOL, .callback = chat_client_callback },
		{ .name = "stdin", .callback = stdin_callback },
		{ 0 }
	};
	struct lws_context_creation_info info = {
		.port = CONTEXT_PORT_NO_LISTEN, .protocols = protocols, .user = &cl,
	};
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	struct lws_context *ctx = lws_create_context(&info);
	if (ctx == NULL)
		return 1;

	/* The opening handshake: GET / with Upgrade: websocket, asking for "demo-chat". */
	struct lws_client_connect_info cc = {
		.context = ctx, .address = host, .port = (int)port, .path = "/", .host = host,
		.origin = host, .protocol = CHAT_PROTOCOL,
	};
	if (lws_client_connect_via_info(&cc) == NULL)
		cl.status = 1, cl.done = 1;
	while (!cl.done && lws_service(ctx, 0) >= 0)
		;
	lws_context_destroy(ctx);
	while ((l = STAILQ_FIRST(&cl.outbox)) != NULL) {
		STAILQ_REMOVE_HEAD(&cl.outbox, next);
		free(l);
	}
	return cl.status;
}
