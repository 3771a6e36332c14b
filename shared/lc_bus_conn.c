/* SPDX-License-Identifier: MIT */
/* lc_bus_conn: the URL, connecting (TCP, handshake, login, channel, confirms, replay), the
 * backoff between failed attempts, and what a close from the broker or a broken socket does to
 * the connection (docs/bus-client.md, "URL and connecting" and "Losing the connection"). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lc_alloc.h"
#include "lc_bus_priv.h"
#include "lc_log.h"

struct timeval lc_bus_ms_tv(int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	return tv;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms % 1000) * 1000000);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

char *lc_bus_bytes_dup(amqp_bytes_t b)
{
	return lc_strndup(b.bytes ? (const char *)b.bytes : "", b.len);
}

/* ---- connection state ---- */

/* The connection is gone or unusable: drop it without a goodbye. The broker requeues what was
 * not acked; buffered deliveries belong to the dead channel and are dropped with it. The next
 * attempt may come at once (backoff only grows with failed attempts). */
void lc_bus_teardown(lc_bus_t *bus, const char *why)
{
	if (bus->conn != NULL) {
		LC_WARN("bus: connection to %s:%d lost: %s", bus->info.host, bus->info.port, why);
		amqp_destroy_connection(bus->conn);
		bus->conn = NULL;
	}
	bus->chan_open = false;
	bus->lease_open = false;
	lc_bus_decl_forget_tags(bus);
	lc_bus_pending_clear(bus);
}

static void attempt_failed(lc_bus_t *bus)
{
	if (bus->backoff_cur == 0)
		bus->backoff_cur = bus->backoff_min;
	else if (bus->backoff_cur < bus->backoff_max / 2)
		bus->backoff_cur *= 2;
	else
		bus->backoff_cur = bus->backoff_max;
	bus->next_attempt_ms = lc_mono_ms() + bus->backoff_cur;
}

static lc_rc code_to_rc(int code)
{
	switch (code) {
	case AMQP_NOT_FOUND:            return LC_ERR_NOT_FOUND;
	case AMQP_PRECONDITION_FAILED:  /* fall through: redeclared with other properties */
	case AMQP_RESOURCE_LOCKED:      return LC_ERR_CONFLICT;
	case AMQP_ACCESS_REFUSED:       return LC_ERR_FORBIDDEN;
	case AMQP_CONNECTION_FORCED:    return LC_ERR_UNAVAILABLE;
	default:                        return LC_ERR_INTERNAL;
	}
}

/* The broker closed our channel: say close-ok so the channel number can be opened again. */
lc_rc lc_bus_on_channel_close(lc_bus_t *bus, const amqp_channel_close_t *m, const char *what,
			      lc_err_t *err)
{
	amqp_channel_close_ok_t ok = { 0 };
	int code = m->reply_code;

	amqp_send_method(bus->conn, LC_BUS_CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
	bus->chan_open = false;
	lc_bus_decl_forget_tags(bus);
	return lc_err_set(err, code_to_rc(code), "%s: broker closed the channel: %d %.*s", what,
			  code, (int)m->reply_text.len, (const char *)m->reply_text.bytes);
}

lc_rc lc_bus_lease_rpc(lc_bus_t *bus, const char *what, lc_err_t *err)
{
	amqp_rpc_reply_t r = amqp_get_rpc_reply(bus->conn);

	if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
		const amqp_channel_close_t *m = r.reply.decoded;
		amqp_channel_close_ok_t ok = { 0 };
		int code = m->reply_code;

		amqp_send_method(bus->conn, LC_BUS_LEASE_CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
		bus->lease_open = false;
		return lc_err_set(err, code_to_rc(code), "%s: broker closed the lease channel: %d %.*s",
				  what, code, (int)m->reply_text.len, (const char *)m->reply_text.bytes);
	}
	return lc_bus_rpc_check(bus, r, what, err);
}

lc_rc lc_bus_on_connection_close(lc_bus_t *bus, const amqp_connection_close_t *m,
				 const char *what, lc_err_t *err)
{
	amqp_connection_close_ok_t ok = { 0 };
	int code = m->reply_code;
	char text[128];

	snprintf(text, sizeof(text), "broker closed the connection: %d %.*s", code,
		 (int)m->reply_text.len, (const char *)m->reply_text.bytes);
	amqp_send_method(bus->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
	lc_bus_teardown(bus, text);
	return lc_err_set(err, code == AMQP_ACCESS_REFUSED ? LC_ERR_UNAUTHORIZED : LC_ERR_UNAVAILABLE,
			  "%s: %s", what, text);
}

lc_rc lc_bus_rpc_check(lc_bus_t *bus, amqp_rpc_reply_t r, const char *what, lc_err_t *err)
{
	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return LC_OK;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD)
			return lc_bus_on_channel_close(bus, r.reply.decoded, what, err);
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD)
			return lc_bus_on_connection_close(bus, r.reply.decoded, what, err);
		lc_bus_teardown(bus, "unexpected server method");
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "%s: unexpected method 0x%08x", what,
				  (unsigned)r.reply.id);
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		lc_bus_teardown(bus, amqp_error_string2(r.library_error));
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "%s: %s", what,
				  amqp_error_string2(r.library_error));
	default:
		lc_bus_teardown(bus, "no reply");
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "%s: no reply", what);
	}
}

lc_rc lc_bus_last_rpc(lc_bus_t *bus, const char *what, lc_err_t *err)
{
	return lc_bus_rpc_check(bus, amqp_get_rpc_reply(bus->conn), what, err);
}

static lc_rc open_channel(lc_bus_t *bus, lc_err_t *err)
{
	lc_rc rc;

	amqp_channel_open(bus->conn, LC_BUS_CHANNEL);
	if ((rc = lc_bus_last_rpc(bus, "channel.open", err)) != LC_OK)
		return rc;
	amqp_confirm_select(bus->conn, LC_BUS_CHANNEL);
	if ((rc = lc_bus_last_rpc(bus, "confirm.select", err)) != LC_OK)
		return rc;
	bus->chan_open = true;
	bus->next_seq = 1;
	/* Delivery tags of the previous channel mean nothing on this one. */
	bus->gen++;
	bus->nunsettled = 0;
	return LC_OK;
}

static lc_rc do_connect(lc_bus_t *bus, lc_err_t *err)
{
	struct timeval tv = lc_bus_ms_tv(LC_BUS_CONNECT_TIMEOUT_MS);
	struct timeval rpc_tv = lc_bus_ms_tv(LC_BUS_RPC_TIMEOUT_MS);
	amqp_rpc_reply_t r;
	lc_rc rc;

	bus->lease_open = false;
	bus->conn = amqp_new_connection();
	if (bus->conn == NULL) {
		rc = lc_err_set(err, LC_ERR_INTERNAL, "bus: out of memory");
		goto fail;
	}
	if ((rc = lc_bus_socket_open(bus, &tv, err)) != LC_OK)
		goto fail;
	amqp_set_handshake_timeout(bus->conn, &tv);
	amqp_set_rpc_timeout(bus->conn, &rpc_tv);
	r = amqp_login(bus->conn, bus->info.vhost, 0, LC_BUS_FRAME_MAX, LC_BUS_HEARTBEAT_S,
		       AMQP_SASL_METHOD_PLAIN, bus->info.user, bus->info.password);
	/* Bad credentials: the broker answers connection.close 403 (rpc_check: UNAUTHORIZED). */
	if ((rc = lc_bus_rpc_check(bus, r, "bus: login", err)) != LC_OK) {
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
			lc_bus_tls_explain(bus, r.library_error, "login to", err);
		goto fail;
	}
	if ((rc = open_channel(bus, err)) != LC_OK)
		goto fail;
	if ((rc = lc_bus_replay(bus, false, err)) != LC_OK)
		goto fail;
	LC_INFO("bus: connected to %s:%d%s%s (generation %llu)", bus->info.host, bus->info.port,
		bus->info.vhost, bus->info.ssl ? " over TLS" : "", (unsigned long long)bus->gen);
	bus->backoff_cur = 0;
	bus->next_attempt_ms = 0;
	return LC_OK;
fail:
	if (bus->conn != NULL) {
		amqp_destroy_connection(bus->conn);
		bus->conn = NULL;
	}
	bus->chan_open = false;
	lc_bus_decl_forget_tags(bus);
	attempt_failed(bus);
	return rc;
}

lc_rc lc_bus_ensure_ready(lc_bus_t *bus, int64_t max_wait_ms, lc_err_t *err)
{
	lc_rc rc;

	if (bus->conn != NULL && !bus->chan_open) {
		if ((rc = open_channel(bus, err)) != LC_OK)
			return rc;
		if ((rc = lc_bus_replay(bus, true, err)) != LC_OK)
			return rc;
	}
	if (bus->conn != NULL)
		return LC_OK;
	if (bus->next_attempt_ms > lc_mono_ms()) {
		int64_t wait = bus->next_attempt_ms - lc_mono_ms();

		if (wait > max_wait_ms)
			return lc_err_set(err, LC_ERR_UNAVAILABLE,
					  "bus: %s:%d unreachable, next attempt in %lld ms",
					  bus->info.host, bus->info.port, (long long)wait);
		sleep_ms(wait);
	}
	return do_connect(bus, err);
}

lc_rc lc_bus_prepare(lc_bus_t *bus, int64_t max_wait_ms, lc_err_t *err)
{
	/* A failed drain left the connection or channel closed; ensure_ready reopens it. */
	(void)lc_bus_drain_input(bus, "bus", err);
	return lc_bus_ensure_ready(bus, max_wait_ms, err);
}

/* ---- lifecycle ---- */

lc_bus_t *lc_bus_new(const char *url, lc_err_t *err)
{
	return lc_bus_new_tls(url, NULL, err);
}

lc_bus_t *lc_bus_new_tls(const char *url, const lc_bus_tls_t *tls, lc_err_t *err)
{
	lc_bus_t *bus;
	int st;

	if (url == NULL || *url == '\0') {
		lc_err_set_field(err, LC_ERR_INVALID, "amqp_url", "bus: no AMQP URL given");
		return NULL;
	}
	if (strncmp(url, "amqp://", 7) != 0 && strncmp(url, "amqps://", 8) != 0) {
		lc_err_set_field(err, LC_ERR_INVALID, "amqp_url",
				 "bus: the URL must start with amqp:// or amqps://");
		return NULL;
	}
	bus = lc_calloc(1, sizeof(*bus));
	bus->magic = LC_BUS_MAGIC;
	lc_bus_decl_init(bus);
	TAILQ_INIT(&bus->sent);
	bus->url = lc_strdup(url);
	amqp_default_connection_info(&bus->info);
	st = amqp_parse_url(bus->url, &bus->info);
	if (st != AMQP_STATUS_OK || bus->info.host == NULL || *bus->info.host == '\0' ||
	    bus->info.port <= 0 || bus->info.port > 65535) {
		lc_err_set_field(err, LC_ERR_INVALID, "amqp_url", "bus: malformed AMQP URL: %s",
				 st != AMQP_STATUS_OK ? amqp_error_string2(st) : "no host or bad port");
		free(bus->url);
		free(bus);
		return NULL;
	}
	/* By the AMQP URI spec "amqp://host/" names the vhost "", which RabbitMQ does not have;
	 * everyone writing it means the default vhost "/". */
	if (bus->info.vhost == NULL || *bus->info.vhost == '\0')
		bus->info.vhost = "/";
	if (lc_bus_tls_copy(bus, tls, err) != LC_OK) {
		lc_bus_tls_clear(bus);
		free(bus->url);
		free(bus);
		return NULL;
	}
	bus->backoff_min = LC_BUS_BACKOFF_MIN_MS;
	bus->backoff_max = LC_BUS_BACKOFF_MAX_MS;
	return bus;
}

void lc_bus_free(lc_bus_t **busp)
{
	lc_bus_t *bus;

	if (busp == NULL || *busp == NULL)
		return;
	bus = *busp;
	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if (bus->conn != NULL) {
		/* Polite close (bounded by the RPC timeout); unacked deliveries go back to the queue. */
		if (bus->chan_open)
			amqp_channel_close(bus->conn, LC_BUS_CHANNEL, AMQP_REPLY_SUCCESS);
		amqp_connection_close(bus->conn, AMQP_REPLY_SUCCESS);
		amqp_destroy_connection(bus->conn);
	}
	lc_bus_pending_clear(bus);
	lc_bus_sent_detach_all(bus);
	lc_bus_decl_clear(bus);
	free(bus->url);
	lc_bus_tls_clear(bus);
	free(bus->unsettled);
	bus->magic = 0;
	free(bus);
	*busp = NULL;
}

lc_rc lc_bus_connect(lc_bus_t *bus, lc_err_t *err)
{
	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	return lc_bus_prepare(bus, 0, err);
}

bool lc_bus_is_connected(const lc_bus_t *bus)
{
	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	return bus->conn != NULL;
}

uint64_t lc_bus_generation(const lc_bus_t *bus)
{
	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	return bus->gen;
}

void lc_bus_set_backoff(lc_bus_t *bus, int min_ms, int max_ms)
{
	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	bus->backoff_min = min_ms > 0 ? min_ms : 1;
	bus->backoff_max = max_ms >= bus->backoff_min ? max_ms : bus->backoff_min;
	if (bus->backoff_cur > bus->backoff_max)
		bus->backoff_cur = bus->backoff_max;
}
