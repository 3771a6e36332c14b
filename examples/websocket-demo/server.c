/* SPDX-License-Identifier: MIT */
/* server.c: demo-server, the websocket chat of chat.c on one loopback port, which also serves
 * the browser page (page/index.html) over plain HTTP. Usage:
 *   demo-server [-p PORT] [-d PAGE_DIR] [-i IDLE_SECS]
 * -p 0 takes any free port; the port is printed on stdout. -i: ping a client idle that long. */
#include "chat.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	stopping = 1;
}

/* protocols[0] serves the page, and would also get any websocket that asked for no subprotocol:
 * refuse those at the handshake rather than accept a socket nobody listens to. */
static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			 void *in, size_t len)
{
	if (reason == LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION)
		return -1;
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

int main(int argc, char **argv)
{
	long port = 7681, idle = 30;
	int opt;
	char page[PATH_MAX];
	const char *dir = "page";

	while ((opt = getopt(argc, argv, "p:d:i:")) != -1) {
		if (opt == 'p') port = chat_number(optarg, 0, 65535);
		else if (opt == 'd') dir = optarg;
		else if (opt == 'i') idle = chat_number(optarg, 1, 3600);
		if (opt == '?' || port < 0 || idle < 0) {
			fprintf(stderr, "usage: %s [-p PORT 0-65535] [-d PAGE_DIR] [-i IDLE_SECS 1-3600]\n",
				argv[0]);
			return 2;
		}
	}
	if (realpath(dir, page) == NULL) {
		perror(dir);
		return 1;
	}
	/* The list ends with a zeroed entry: libwebsockets 4.1 has no LWS_PROTOCOL_LIST_TERM. */
	const struct lws_protocols protocols[] = {
		{ .name = "http", .callback = http_callback }, chat_protocol, { 0 }
	};
	/* Idle clients get a PING after `idle` seconds without traffic, and are hung up on when
	 * nothing (not even a PONG) comes back within 10 more. */
	lws_retry_bo_t idle_policy = { .secs_since_valid_ping = (uint16_t)idle,
				       .secs_since_valid_hangup = (uint16_t)(idle + 10) };
	struct lws_http_mount mount = { .mountpoint = "/", .mountpoint_len = 1, .origin = page,
					.def = "index.html", .origin_protocol = LWSMPRO_FILE };
	struct lws_context_creation_info info = {
		.port = (int)port, .iface = "127.0.0.1", .protocols = protocols, .mounts = &mount,
		.retry_and_idle_policy = &idle_policy,
		.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6,
	};

	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	struct lws_context *ctx = lws_create_context(&info);
	if (ctx == NULL) {
		fprintf(stderr, "cannot listen on 127.0.0.1:%ld\n", port);
		return 1;
	}
	/* With -p 0 the kernel chose the port: ask the vhost which. */
	printf("listening on http://127.0.0.1:%d/\n",
	       lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx, "default")));
	fflush(stdout);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stopping && lws_service(ctx, 0) >= 0)
		;
	lws_context_destroy(ctx);
	return 0;
}
