/* SPDX-License-Identifier: MIT */
/* wsd_listener: libwebsockets callbacks for /ws/agent and /ws/widget (see listener.h). Frames
 * are at most wsd_max_frame bytes, reassembled from fragments in a buffer that exists only while
 * a frame is incomplete, so an idle connection costs a small struct. */
#include "config.h"
#include "listener.h"
#include "conn.h"
#include "frames.h"
#include "addrcap.h"
#include "handshake.h"
#include "health.h"
#include "idle.h"
#include "maskcheck.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PSS_MAGIC 0x70737321u

typedef struct pss {
	uint32_t magic;
	wsd_conn_t *c;
} pss_t;

static void close_one(wsd_conn_t *c, void *ctx)
{
	wsd_conn_close(c, 1001, "server shutting down");
}

void wsd_listener_close_all(wsd_t *w)
{
	wsd_conn_each(w, close_one, NULL);
}

/* The endpoint serving the upgrade's path, or NULL. */
static const wsd_endpoint_t *path_endpoint(struct lws *wsi)
{
	char uri[256];
	int n = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
	if (n <= 0)
		return NULL;
	char *q = strchr(uri, '?');
	if (q)
		*q = '\0';
	size_t len = strlen(uri);
	while (len > 1 && uri[len - 1] == '/')
		uri[--len] = '\0';
	for (const wsd_endpoint_t *const *ep = wsd_endpoints; *ep; ep++)
		if (strcmp(uri, (*ep)->path) == 0 || strcmp(uri, (*ep)->alias) == 0)
			return *ep;
	return NULL;
}

/* ---- receiving */

static void handle_frame(wsd_conn_t *c, const char *buf, size_t len)
{
	lc_err_t err;
	lc_err_clear(&err);
	c->w->frames_in++;
	json_object *o = lc_json_parse(buf, len, &err);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		wsd_conn_error(c, "bad_json", o ? "a frame must be a JSON object" : err.reason, NULL);
		json_object_put(o);
		return;
	}
	json_object *ref = NULL;
	if (json_object_object_get_ex(o, "ref", &ref)) {
		bool ok = json_object_is_type(ref, json_type_int) ||
			  (json_object_is_type(ref, json_type_string) &&
			   json_object_get_string_len(ref) <= 64);
		if (!ok) {
			wsd_conn_error(c, "validation_failed",
				       "ref: must be an integer or a string of at most 64 characters", NULL);
			json_object_put(o);
			return;
		}
	} else {
		ref = NULL;
	}
	const char *type = lc_json_get_str(o, "type", NULL);
	if (type == NULL) {
		wsd_conn_error(c, "unknown_type", "type: missing", ref);
	} else if (strcmp(type, "ping") == 0) {
		json_object *r = wsd_conn_frame("pong", ref);
		wsd_conn_send(c, r);
		json_object_put(r);
	} else {
		c->ep->on_frame(c, type, o, ref);
	}
	json_object_put(o);
}

static void receive(wsd_conn_t *c, struct lws *wsi, const char *in, size_t len)
{
	bool first = lws_is_first_fragment(wsi), final = lws_is_final_fragment(wsi);
	if (first) {
		free(c->rx);
		c->rx = NULL;
		c->rx_len = 0;
		c->rx_binary = lws_frame_is_binary(wsi) ? true : false;
		c->rx_discard = c->rx_binary;
	}
	if (!c->rx_discard) {
		if (c->rx_len + len > c->w->max_frame) {
			c->rx_discard = true;
			c->rx_len = 0;
			free(c->rx);
			c->rx = NULL;
		} else if (first && final) {
			handle_frame(c, in, len);
			return;
		} else {
			c->rx = lc_realloc(c->rx, c->rx_len + len + 1);
			memcpy(c->rx + c->rx_len, in, len);
			c->rx_len += len;
		}
	}
	if (!final)
		return;
	if (c->rx_discard) {
		if (c->rx_binary)
			wsd_conn_error(c, "bad_json", "binary frames are not accepted", NULL);
		else
			wsd_conn_error(c, "too_large", "frame larger than wsd_max_frame", NULL);
	} else {
		handle_frame(c, c->rx ? c->rx : "", c->rx_len);
	}
	free(c->rx);
	c->rx = NULL;
	c->rx_len = 0;
	c->rx_discard = false;
	c->rx_binary = false;
}

static void conn_free(wsd_conn_t *c)
{
	wsd_conn_free_queue(c);
	for (size_t i = 0; i < c->nrooms; i++)
		wsd_croom_clear(&c->rooms[i]);
	free(c->rooms);
	free(c->rx);
	free(c->token);
	free(c->user_id);
	free(c->username);
	free(c->display_name);
	json_object_put(c->permissions);
	json_object_put(c->hello);
	free(c->customer_id);
	free(c->customer_name);
	c->magic = 0;
	free(c);
}

/* Whether the client address of wsi holds ws_max_conns_per_address websockets already (one
 * address must not take every socket of the node: issue 11, item 5). */
static bool address_full(wsd_t *w, struct lws *wsi)
{
	int64_t max = lc_config_int(wsd_live(w), "ws_max_conns_per_address");
	if (max <= 0)
		return false;
	char *addr = wsd_addrcap_client(w->addrcap, wsi);
	bool full = wsd_addrcap_count(w->addrcap, addr, WSD_CAP_CONNS) >= max;
	if (full)
		LC_DEBUG("client %s holds %lld websockets already: refused", addr, (long long)max);
	free(addr);
	return full;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	wsd_t *w = ctx ? lws_context_user(ctx) : NULL;
	pss_t *pss = user;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (w) {
			wsd_drain_posts(w);
			if (w->turn && w->loop_break) {
				w->turn = 0;
				w->loop_break(w);
			}
		}
		return 0;

	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		/* A new client socket, before lws reads from it: follow its frame headers. */
		wsd_mask_watch((int)(lws_intptr_t)in);
		return 0;

	case LWS_CALLBACK_HTTP:
		/* Plain HTTP: /health and /metrics only (the web server serves htdocs/ and /api/). */
		LC_CHECK_OBJ(w, WSD_MAGIC);
		return wsd_health_http(w, wsi, in);

	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
		const wsd_endpoint_t *ep = path_endpoint(wsi);
		if (ep == NULL || w->stop || w->draining) {   /* draining: stop accepting */
			lws_return_http_status(wsi, ep == NULL ? HTTP_STATUS_NOT_FOUND :
					       HTTP_STATUS_SERVICE_UNAVAILABLE, NULL);
			return 1;
		}
		int refused = wsd_handshake_refusal(wsi, wsd_live(w), ep->session);
		if (!refused && address_full(w, wsi))
			refused = 429;   /* Too Many Requests (no name in lws 4.1) */
		if (refused) {
			lws_return_http_status(wsi, (unsigned int)refused, NULL);
			return 1;
		}
		return 0;
	}

	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		/* lws would also switch to "h2c" (HTTP/2 in clear) on request: only websocket
		 * upgrades are served here, so nothing reaches lws's HTTP/2 parser. */
		if (in == NULL || strcasecmp(in, "websocket") != 0) {
			lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, NULL);
			return -1;
		}
		return 0;

	case LWS_CALLBACK_ESTABLISHED: {
		LC_CHECK_OBJ(w, WSD_MAGIC);
		const wsd_endpoint_t *ep = path_endpoint(wsi);
		if (ep == NULL)
			return -1;
		if (wsd_mask_established(lws_get_socket_fd(wsi), wsi)) {
			/* An unmasked frame came with the upgrade: never served (RFC 6455 5.1). */
			static const char why[] = "unmasked frame";
			lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, (unsigned char *)why,
					 sizeof why - 1);
			return -1;
		}
		/* One connection struct per websocket, created here and freed at CLOSED. */
		wsd_conn_t *c = lc_calloc(1, sizeof *c);
		c->magic = WSD_CONN_MAGIC;
		c->w = w;
		c->wsi = wsi;
		c->ep = ep;
		c->connected_at = lc_real_ms();
		/* Counted from here to CLOSED; checked against the limit at the filter above, with
		 * nothing in between that lets another upgrade of the loop through. */
		char *addr = wsd_addrcap_client(w->addrcap, wsi);
		c->addr = wsd_addrcap_hold(w->addrcap, addr);
		free(addr);
		wsd_idle_heard(c);
		c->handle = wsd_conn_register(w, c);
		pss->magic = PSS_MAGIC;
		pss->c = c;
		return ep->on_open(c) ? 0 : -1;
	}

	case LWS_CALLBACK_RECEIVE:
		if (pss == NULL || pss->magic != PSS_MAGIC)
			return -1;
		LC_CHECK_OBJ(pss->c, WSD_CONN_MAGIC);
		wsd_idle_heard(pss->c);
		if (pss->c->state == WSD_CS_CLOSING)
			return 0;
		receive(pss->c, wsi, in, len);
		return 0;

	case LWS_CALLBACK_RECEIVE_PONG:
		if (pss == NULL || pss->magic != PSS_MAGIC)
			return 0;
		LC_CHECK_OBJ(pss->c, WSD_CONN_MAGIC);
		wsd_idle_heard(pss->c);
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (pss == NULL || pss->magic != PSS_MAGIC)
			return 0;
		LC_CHECK_OBJ(pss->c, WSD_CONN_MAGIC);
		return wsd_conn_write(pss->c);

	case LWS_CALLBACK_CLOSED: {
		wsd_mask_forget(lws_get_socket_fd(wsi));
		if (pss == NULL || pss->magic != PSS_MAGIC)
			return 0;
		wsd_conn_t *c = pss->c;
		LC_CHECK_OBJ(c, WSD_CONN_MAGIC);
		c->ep->on_close(c);
		wsd_conn_unregister(w, c->handle);
		/* Last: c->addr is the table's string, gone with the address's last count. */
		wsd_addrcap_give(w->addrcap, c->addr, WSD_CAP_CONNS);
		pss->magic = 0;
		pss->c = NULL;
		conn_free(c);
		return 0;
	}

	default:
		return 0;
	}
}

const struct lws_protocols wsd_protocols[] = {
	/* rx_buffer_size is per connection (lws allocates it and keeps it: every connected
	 * customer's widget has sent its hello): keep it small; larger frames arrive in pieces
	 * (receive). 64, not 128: 0.06 KB less per widget customer (2.06 -> 2.00 KB at 19,963
	 * in a build on libuv, docs/performance.md "eleventh session"), and no change in the
	 * round trips' rate or wsd's CPU (bench/run section 4, three quick runs, 2026-12-01). */
	{ "livechat", callback, sizeof(pss_t), 64, 0, NULL, 65536 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};
