/* SPDX-License-Identifier: MIT */
/* wsd_health: GET /health and GET /metrics on wsd's port (see health.h). The health answer
 * reads flags only (the loop answering proves it runs; the bus keeps its link state): a load
 * balancer polling every second costs no MongoDB or RabbitMQ round trip. */
#include "config.h"
#include "health.h"
#include "busio.h"
#include "metrics.h"
#include "lc_alloc.h"
#include "lc_err.h"
#include "lc_log.h"
#include "lc_netlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Send one whole response; body is copied. */
static int reply(struct lws *wsi, unsigned int status, const char *type, const char *body,
		 size_t len)
{
	unsigned char hdr[LWS_PRE + 512];
	unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
	static const char no_store[] = "no-store";
	if (lws_add_http_common_headers(wsi, status, type, (lws_filepos_t)len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (const unsigned char *)no_store, sizeof no_store - 1, &p,
					 end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	unsigned char *buf = lc_malloc(LWS_PRE + len + 1);
	memcpy(buf + LWS_PRE, body, len);
	int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
	free(buf);
	if (n < 0)
		return -1;
	/* lws keeps what the socket did not take and completes the transaction after it. */
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int health(wsd_t *w, struct lws *wsi)
{
	bool bus_up = wsd_busio_linked(w->bus) && wsd_busio_ready(w->bus);
	const char *status = w->draining ? "draining" : bus_up ? "ok" : "unavailable";
	char body[320];
	int n = snprintf(body, sizeof body,
			 "{\"status\":\"%s\",\"rabbitmq\":\"%s\",\"connections\":%zu}\n", status,
			 bus_up ? "up" : "down", w->nconns);
	LC_ASSERT(n > 0 && (size_t)n < sizeof body);
	return reply(wsi, strcmp(status, "ok") == 0 ? HTTP_STATUS_OK :
		     HTTP_STATUS_SERVICE_UNAVAILABLE, "application/json", body, (size_t)n);
}

/* Whether the peer may read /metrics (metrics_allow, parsed per scrape: a scrape is rare and
 * the list short, and the config key stays the one place it lives). */
static bool metrics_allowed(wsd_t *w, struct lws *wsi)
{
	char addr[64] = "", why[LC_ERR_REASON_MAX];
	lws_get_peer_simple(wsi, addr, sizeof addr);
	lc_netlist_t *allow = lc_netlist_parse(lc_config_str(w->cfg, "metrics_allow"), why,
					       sizeof why);
	bool ok = lc_netlist_contains(allow, addr);
	lc_netlist_free(&allow);
	return ok;
}

static int not_found(struct lws *wsi)
{
	static const char body[] = "{\"error\":\"not_found\"}\n";
	return reply(wsi, HTTP_STATUS_NOT_FOUND, "application/json", body, sizeof body - 1);
}

int wsd_health_http(wsd_t *w, struct lws *wsi, const char *uri)
{
	WSD_ASSERT_LOOP(w);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0 || uri == NULL)
		return not_found(wsi);   /* only GET is served */
	if (strcmp(uri, "/health") == 0)
		return health(w, wsi);
	if (strcmp(uri, "/metrics") == 0 && metrics_allowed(w, wsi)) {
		size_t len;
		char *text = wsd_metrics_render(w, &len);
		int rc = reply(wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8", text,
			       len);
		free(text);
		return rc;
	}
	return not_found(wsi);
}
