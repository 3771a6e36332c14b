/* lc_bus: RabbitMQ over rabbitmq-c 0.11, one connection and one channel per lc_bus_t.
 * Publishing waits for publisher confirms; consuming uses manual acks. Declarations are kept in
 * a replay record and re-applied after every reconnect (docs/bus-client.md tells the story). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include "lc_alloc.h"
#include "lc_bus.h"
#include "lc_log.h"

#define LC_BUS_MAGIC 0x6c627573u      /* "lbus" */
#define LC_BUS_CHANNEL 1
#define LC_BUS_HEARTBEAT_S 10
#define LC_BUS_FRAME_MAX 131072
#define LC_BUS_CONNECT_TIMEOUT_MS 5000  /* TCP connect, and again for the AMQP handshake */
#define LC_BUS_RPC_TIMEOUT_MS 5000      /* every synchronous method (declare, qos, close ...) */
#define LC_BUS_CONFIRM_TIMEOUT_MS 10000 /* all confirms of one publish or batch */
#define LC_BUS_BACKOFF_MIN_MS 100
#define LC_BUS_BACKOFF_MAX_MS 5000
#define LC_BUS_NAME_MAX 255             /* AMQP short string */
#define LC_BUS_DRAIN_EVERY 128          /* batch publishing reads pending confirms this often */

typedef enum decl_kind { DECL_EXCHANGE, DECL_QUEUE, DECL_BIND, DECL_CONSUME, DECL_KIND_COUNT_ } decl_kind;

/* One recorded declaration. exchange: a=name b=type; queue: a=name; bind: a=queue b=exchange
 * c=key; consume: a=queue. */
typedef struct decl {
	decl_kind kind;
	char *a, *b, *c;
	bool durable, exclusive, auto_delete;
	uint16_t prefetch;
	char *consumer_tag;     /* consume only: set while active on the current channel */
	struct decl *next;
} decl_t;

typedef struct pending {
	lc_bus_delivery_t *d;
	struct pending *next;
} pending_t;

/* Confirms awaited by one publish call: tags first .. first+n-1. */
typedef struct confirm_wait {
	uint64_t first;
	size_t n;
	bool *done;
	size_t ndone;
	size_t nacked;
} confirm_wait_t;

struct lc_bus {
	unsigned magic;
	char *url;                      /* the copy amqp_parse_url cut up; info points into it */
	struct amqp_connection_info info;
	amqp_connection_state_t conn;   /* NULL when disconnected */
	bool chan_open;
	uint64_t gen;
	uint64_t next_seq;              /* publish sequence number of the next message */
	int backoff_min, backoff_max, backoff_cur;
	int64_t next_attempt_ms;
	decl_t *decls;                  /* in declaration order */
	pending_t *pend_head, *pend_tail;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval ms_tv(int64_t ms)
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

static char *bytes_dup(amqp_bytes_t b)
{
	return lc_strndup(b.bytes ? (const char *)b.bytes : "", b.len);
}

/* ---- replay record ---- */

static void decl_free(decl_t *d)
{
	if (d == NULL)
		return;
	free(d->a);
	free(d->b);
	free(d->c);
	free(d->consumer_tag);
	free(d);
}

static bool str_eq(const char *x, const char *y)
{
	return (x == NULL && y == NULL) || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

static decl_t *decl_find(lc_bus_t *bus, decl_kind kind, const char *a, const char *b, const char *c)
{
	decl_t *d;

	for (d = bus->decls; d != NULL; d = d->next)
		if (d->kind == kind && str_eq(d->a, a) && (kind == DECL_EXCHANGE || kind == DECL_QUEUE ||
		    kind == DECL_CONSUME || (str_eq(d->b, b) && str_eq(d->c, c))))
			return d;
	return NULL;
}

static void decl_append(lc_bus_t *bus, decl_t *rec)
{
	decl_t **pp = &bus->decls;

	while (*pp != NULL)
		pp = &(*pp)->next;
	rec->next = NULL;
	*pp = rec;
}

/* Remove every record of `kind` whose field (0=a, 1=b) equals name; for DECL_BIND with key
 * given, only that exact binding. */
static void decl_remove(lc_bus_t *bus, decl_kind kind, int field, const char *name, const char *b,
			const char *c)
{
	decl_t **pp = &bus->decls;

	while (*pp != NULL) {
		decl_t *d = *pp;
		const char *v = field == 0 ? d->a : d->b;

		if (d->kind == kind && str_eq(v, name) &&
		    (b == NULL || (str_eq(d->b, b) && str_eq(d->c, c)))) {
			*pp = d->next;
			decl_free(d);
		} else {
			pp = &d->next;
		}
	}
}

static void consumers_forget_tags(lc_bus_t *bus)
{
	decl_t *d;

	for (d = bus->decls; d != NULL; d = d->next) {
		free(d->consumer_tag);
		d->consumer_tag = NULL;
	}
}

/* ---- deliveries buffered while waiting for something else ---- */

static void pending_push(lc_bus_t *bus, lc_bus_delivery_t *d)
{
	pending_t *p = lc_calloc(1, sizeof(*p));

	p->d = d;
	if (bus->pend_tail != NULL)
		bus->pend_tail->next = p;
	else
		bus->pend_head = p;
	bus->pend_tail = p;
}

static lc_bus_delivery_t *pending_pop(lc_bus_t *bus)
{
	pending_t *p = bus->pend_head;
	lc_bus_delivery_t *d;

	if (p == NULL)
		return NULL;
	bus->pend_head = p->next;
	if (bus->pend_head == NULL)
		bus->pend_tail = NULL;
	d = p->d;
	free(p);
	return d;
}

static lc_bus_delivery_t *delivery_new(lc_bus_t *bus, uint64_t tag, bool redelivered,
				       amqp_bytes_t exchange, amqp_bytes_t routing_key,
				       const amqp_message_t *msg)
{
	lc_bus_delivery_t *d = lc_calloc(1, sizeof(*d));

	d->tag = tag;
	d->gen = bus->gen;
	d->redelivered = redelivered;
	d->exchange = bytes_dup(exchange);
	d->routing_key = bytes_dup(routing_key);
	d->len = msg->body.len;
	d->body = lc_malloc(d->len + 1);
	if (d->len > 0)
		memcpy(d->body, msg->body.bytes, d->len);
	d->body[d->len] = '\0';
	if (msg->properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
		d->message_id = bytes_dup(msg->properties.message_id);
	return d;
}

void lc_bus_delivery_free(lc_bus_delivery_t **dp)
{
	lc_bus_delivery_t *d;

	if (dp == NULL || *dp == NULL)
		return;
	d = *dp;
	free(d->exchange);
	free(d->routing_key);
	free(d->body);
	free(d->message_id);
	free(d);
	*dp = NULL;
}

/* ---- connection state ---- */

/* The connection is gone or unusable: drop it without a goodbye. The broker requeues what was
 * not acked; buffered deliveries belong to the dead channel and are dropped with it. The next
 * attempt may come at once (backoff only grows with failed attempts). */
static void teardown(lc_bus_t *bus, const char *why)
{
	lc_bus_delivery_t *d;

	if (bus->conn != NULL) {
		LC_WARN("bus: connection to %s:%d lost: %s", bus->info.host, bus->info.port, why);
		amqp_destroy_connection(bus->conn);
		bus->conn = NULL;
	}
	bus->chan_open = false;
	consumers_forget_tags(bus);
	while ((d = pending_pop(bus)) != NULL)
		lc_bus_delivery_free(&d);
}

static void attempt_failed(lc_bus_t *bus)
{
	if (bus->backoff_cur == 0)
		bus->backoff_cur = bus->backoff_min;
	else if (bus->backoff_cur < bus->backoff_max / 2)
		bus->backoff_cur *= 2;
	else
		bus->backoff_cur = bus->backoff_max;
	bus->next_attempt_ms = now_ms() + bus->backoff_cur;
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
static lc_rc on_channel_close(lc_bus_t *bus, const amqp_channel_close_t *m, const char *what,
			      lc_err_t *err)
{
	amqp_channel_close_ok_t ok = { 0 };
	int code = m->reply_code;

	amqp_send_method(bus->conn, LC_BUS_CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
	bus->chan_open = false;
	consumers_forget_tags(bus);
	return lc_err_set(err, code_to_rc(code), "%s: broker closed the channel: %d %.*s", what,
			  code, (int)m->reply_text.len, (const char *)m->reply_text.bytes);
}

static lc_rc on_connection_close(lc_bus_t *bus, const amqp_connection_close_t *m,
				 const char *what, lc_err_t *err)
{
	amqp_connection_close_ok_t ok = { 0 };
	int code = m->reply_code;
	char text[128];

	snprintf(text, sizeof(text), "broker closed the connection: %d %.*s", code,
		 (int)m->reply_text.len, (const char *)m->reply_text.bytes);
	amqp_send_method(bus->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
	teardown(bus, text);
	return lc_err_set(err, code == AMQP_ACCESS_REFUSED ? LC_ERR_UNAUTHORIZED : LC_ERR_UNAVAILABLE,
			  "%s: %s", what, text);
}

/* Turn an RPC reply into an lc_rc, cleaning up after a closed channel or connection. */
static lc_rc rpc_check(lc_bus_t *bus, amqp_rpc_reply_t r, const char *what, lc_err_t *err)
{
	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return LC_OK;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD)
			return on_channel_close(bus, r.reply.decoded, what, err);
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD)
			return on_connection_close(bus, r.reply.decoded, what, err);
		teardown(bus, "unexpected server method");
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "%s: unexpected method 0x%08x", what,
				  (unsigned)r.reply.id);
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		teardown(bus, amqp_error_string2(r.library_error));
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "%s: %s", what,
				  amqp_error_string2(r.library_error));
	default:
		teardown(bus, "no reply");
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "%s: no reply", what);
	}
}

static lc_rc last_rpc(lc_bus_t *bus, const char *what, lc_err_t *err)
{
	return rpc_check(bus, amqp_get_rpc_reply(bus->conn), what, err);
}

/* The content frames that follow a basic.deliver we met while waiting for something else. */
static lc_rc read_delivery(lc_bus_t *bus, const amqp_basic_deliver_t *m, lc_err_t *err)
{
	uint64_t tag = m->delivery_tag;
	bool redelivered = m->redelivered;
	char *exchange = bytes_dup(m->exchange), *key = bytes_dup(m->routing_key);
	amqp_message_t msg;
	amqp_rpc_reply_t r;
	lc_rc rc;

	r = amqp_read_message(bus->conn, LC_BUS_CHANNEL, &msg, 0);
	if ((rc = rpc_check(bus, r, "reading a delivery", err)) == LC_OK) {
		pending_push(bus, delivery_new(bus, tag, redelivered, amqp_cstring_bytes(exchange),
					       amqp_cstring_bytes(key), &msg));
		amqp_destroy_message(&msg);
	}
	free(exchange);
	free(key);
	return rc;
}

static void confirm_mark(confirm_wait_t *cw, uint64_t tag, bool multiple, bool nack)
{
	uint64_t lo = multiple ? cw->first : tag, t;

	for (t = lo; t <= tag; t++) {
		if (t < cw->first || t >= cw->first + cw->n || cw->done[t - cw->first])
			continue;
		cw->done[t - cw->first] = true;
		cw->ndone++;
		if (nack)
			cw->nacked++;
	}
}

/* One asynchronous frame from the broker. cw: confirms being awaited, or NULL. */
static lc_rc handle_frame(lc_bus_t *bus, const amqp_frame_t *f, confirm_wait_t *cw, lc_err_t *err)
{
	if (f->frame_type != AMQP_FRAME_METHOD)
		return LC_OK;   /* stray content frame: nothing we can attribute it to */
	switch (f->payload.method.id) {
	case AMQP_BASIC_ACK_METHOD: {
		const amqp_basic_ack_t *m = f->payload.method.decoded;

		if (cw != NULL)
			confirm_mark(cw, m->delivery_tag, m->multiple, false);
		return LC_OK;
	}
	case AMQP_BASIC_NACK_METHOD: {
		const amqp_basic_nack_t *m = f->payload.method.decoded;

		if (cw != NULL)
			confirm_mark(cw, m->delivery_tag, m->multiple, true);
		return LC_OK;
	}
	case AMQP_BASIC_DELIVER_METHOD:
		return read_delivery(bus, f->payload.method.decoded, err);
	case AMQP_BASIC_CANCEL_METHOD: {
		/* The broker cancelled a consumer (its queue was deleted): forget it. */
		const amqp_basic_cancel_t *m = f->payload.method.decoded;
		decl_t **pp = &bus->decls;

		while (*pp != NULL) {
			decl_t *d = *pp;

			if (d->kind == DECL_CONSUME && d->consumer_tag != NULL &&
			    strlen(d->consumer_tag) == m->consumer_tag.len &&
			    memcmp(d->consumer_tag, m->consumer_tag.bytes, m->consumer_tag.len) == 0) {
				LC_WARN("bus: broker cancelled the consumer on queue %s", d->a);
				*pp = d->next;
				decl_free(d);
			} else {
				pp = &d->next;
			}
		}
		return LC_OK;
	}
	case AMQP_CHANNEL_CLOSE_METHOD:
		return on_channel_close(bus, f->payload.method.decoded, "bus", err);
	case AMQP_CONNECTION_CLOSE_METHOD:
		return on_connection_close(bus, f->payload.method.decoded, "bus", err);
	case AMQP_CONNECTION_BLOCKED_METHOD:
		LC_WARN("bus: broker blocked publishing (resource alarm)");
		return LC_OK;
	default:
		LC_DEBUG("bus: ignoring method 0x%08x", (unsigned)f->payload.method.id);
		return LC_OK;
	}
}

/* Read and handle every frame that already arrived, without waiting. Finds out early that the
 * broker closed the connection (a publisher may sit idle for a long time), answers heartbeats. */
static lc_rc drain_input(lc_bus_t *bus, lc_err_t *err)
{
	while (bus->conn != NULL) {
		amqp_frame_t f;
		struct timeval zero = { 0, 0 };
		int st = amqp_simple_wait_frame_noblock(bus->conn, &f, &zero);
		lc_rc rc;

		if (st == AMQP_STATUS_TIMEOUT)
			break;
		if (st != AMQP_STATUS_OK) {
			teardown(bus, amqp_error_string2(st));
			return lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: %s", amqp_error_string2(st));
		}
		if ((rc = handle_frame(bus, &f, NULL, err)) != LC_OK)
			return rc;
	}
	if (bus->conn != NULL && amqp_release_buffers_ok(bus->conn))
		amqp_release_buffers(bus->conn);
	return LC_OK;
}

/* ---- declarations on the wire ---- */

static lc_rc apply_decl(lc_bus_t *bus, decl_t *d, lc_err_t *err)
{
	amqp_connection_state_t c = bus->conn;
	amqp_bytes_t a = amqp_cstring_bytes(d->a);

	switch (d->kind) {
	case DECL_EXCHANGE:
		amqp_exchange_declare(c, LC_BUS_CHANNEL, a, amqp_cstring_bytes(d->b), 0, d->durable, 0,
				      0, amqp_empty_table);
		return last_rpc(bus, "exchange.declare", err);
	case DECL_QUEUE:
		amqp_queue_declare(c, LC_BUS_CHANNEL, a, 0, d->durable, d->exclusive, d->auto_delete,
				   amqp_empty_table);
		return last_rpc(bus, "queue.declare", err);
	case DECL_BIND:
		amqp_queue_bind(c, LC_BUS_CHANNEL, a, amqp_cstring_bytes(d->b),
				amqp_cstring_bytes(d->c), amqp_empty_table);
		return last_rpc(bus, "queue.bind", err);
	case DECL_CONSUME: {
		amqp_basic_consume_ok_t *ok;
		lc_rc rc;

		if (d->consumer_tag != NULL)
			return LC_OK;   /* already consuming on this channel */
		amqp_basic_qos(c, LC_BUS_CHANNEL, 0, d->prefetch, 0);
		if ((rc = last_rpc(bus, "basic.qos", err)) != LC_OK)
			return rc;
		ok = amqp_basic_consume(c, LC_BUS_CHANNEL, a, amqp_empty_bytes, 0, 0, 0,
					amqp_empty_table);
		if ((rc = last_rpc(bus, "basic.consume", err)) != LC_OK)
			return rc;
		d->consumer_tag = bytes_dup(ok->consumer_tag);
		return LC_OK;
	}
	default:
		LC_ASSERT(!"unknown declaration kind");
	}
	return LC_ERR_INTERNAL;
}

/* Replay the record, kinds in dependency order. A declaration the broker refuses is dropped
 * from the record (it would fail forever) and fails this attempt. */
static lc_rc replay(lc_bus_t *bus, bool consumers_only, lc_err_t *err)
{
	int k;

	for (k = consumers_only ? DECL_CONSUME : DECL_EXCHANGE; k < DECL_KIND_COUNT_; k++) {
		decl_t *d;

		for (d = bus->decls; d != NULL; d = d->next) {
			lc_rc rc;

			if ((int)d->kind != k)
				continue;
			if ((rc = apply_decl(bus, d, err)) == LC_OK)
				continue;
			if (rc != LC_ERR_UNAVAILABLE) {
				LC_ERROR("bus: replay dropped a declaration of %s: %s", d->a,
					 err ? err->reason : "");
				decl_remove(bus, d->kind, 0, d->a, d->kind == DECL_BIND ? d->b : NULL,
					    d->c);
			}
			return rc;
		}
	}
	return LC_OK;
}

static lc_rc open_channel(lc_bus_t *bus, lc_err_t *err)
{
	lc_rc rc;

	amqp_channel_open(bus->conn, LC_BUS_CHANNEL);
	if ((rc = last_rpc(bus, "channel.open", err)) != LC_OK)
		return rc;
	amqp_confirm_select(bus->conn, LC_BUS_CHANNEL);
	if ((rc = last_rpc(bus, "confirm.select", err)) != LC_OK)
		return rc;
	bus->chan_open = true;
	bus->next_seq = 1;
	/* Delivery tags of the previous channel mean nothing on this one. */
	bus->gen++;
	return LC_OK;
}

static lc_rc do_connect(lc_bus_t *bus, lc_err_t *err)
{
	struct timeval tv = ms_tv(LC_BUS_CONNECT_TIMEOUT_MS), rpc_tv = ms_tv(LC_BUS_RPC_TIMEOUT_MS);
	amqp_socket_t *sock;
	amqp_rpc_reply_t r;
	lc_rc rc;
	int st;

	bus->conn = amqp_new_connection();
	if (bus->conn == NULL) {
		rc = lc_err_set(err, LC_ERR_INTERNAL, "bus: out of memory");
		goto fail;
	}
	if ((sock = amqp_tcp_socket_new(bus->conn)) == NULL) {
		rc = lc_err_set(err, LC_ERR_INTERNAL, "bus: cannot create a socket");
		goto fail;
	}
	st = amqp_socket_open_noblock(sock, bus->info.host, bus->info.port, &tv);
	if (st != AMQP_STATUS_OK) {
		/* rabbitmq-c keeps the socket's own error (refused, unreachable) to itself. */
		rc = lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: cannot connect to %s:%d: %s",
				bus->info.host, bus->info.port, amqp_error_string2(st));
		goto fail;
	}
	amqp_set_handshake_timeout(bus->conn, &tv);
	amqp_set_rpc_timeout(bus->conn, &rpc_tv);
	r = amqp_login(bus->conn, bus->info.vhost, 0, LC_BUS_FRAME_MAX, LC_BUS_HEARTBEAT_S,
		       AMQP_SASL_METHOD_PLAIN, bus->info.user, bus->info.password);
	/* Bad credentials: the broker answers connection.close 403 (rpc_check: UNAUTHORIZED). */
	if ((rc = rpc_check(bus, r, "bus: login", err)) != LC_OK)
		goto fail;
	if ((rc = open_channel(bus, err)) != LC_OK)
		goto fail;
	if ((rc = replay(bus, false, err)) != LC_OK)
		goto fail;
	LC_INFO("bus: connected to %s:%d%s (generation %llu)", bus->info.host, bus->info.port,
		bus->info.vhost, (unsigned long long)bus->gen);
	bus->backoff_cur = 0;
	bus->next_attempt_ms = 0;
	return LC_OK;
fail:
	if (bus->conn != NULL) {
		amqp_destroy_connection(bus->conn);
		bus->conn = NULL;
	}
	bus->chan_open = false;
	consumers_forget_tags(bus);
	attempt_failed(bus);
	return rc;
}

/* Connected with an open channel, or an error. Waits up to max_wait_ms for the backoff window
 * to open; beyond that, UNAVAILABLE at once. */
static lc_rc ensure_ready(lc_bus_t *bus, int64_t max_wait_ms, lc_err_t *err)
{
	lc_rc rc;

	if (bus->conn != NULL && !bus->chan_open) {
		if ((rc = open_channel(bus, err)) != LC_OK)
			return rc;
		if ((rc = replay(bus, true, err)) != LC_OK)
			return rc;
	}
	if (bus->conn != NULL)
		return LC_OK;
	if (bus->next_attempt_ms > now_ms()) {
		int64_t wait = bus->next_attempt_ms - now_ms();

		if (wait > max_wait_ms)
			return lc_err_set(err, LC_ERR_UNAVAILABLE,
					  "bus: %s:%d unreachable, next attempt in %lld ms",
					  bus->info.host, bus->info.port, (long long)wait);
		sleep_ms(wait);
	}
	return do_connect(bus, err);
}

/* Before any operation: notice what the broker said meanwhile, then (re)connect if needed. */
static lc_rc prepare(lc_bus_t *bus, int64_t max_wait_ms, lc_err_t *err)
{
	/* A failed drain left the connection or channel closed; ensure_ready reopens it. */
	(void)drain_input(bus, err);
	return ensure_ready(bus, max_wait_ms, err);
}

/* ---- public API ---- */

lc_bus_t *lc_bus_new(const char *url, lc_err_t *err)
{
	lc_bus_t *bus;
	int st;

	if (url == NULL || *url == '\0') {
		lc_err_set_field(err, LC_ERR_INVALID, "amqp_url", "bus: no AMQP URL given");
		return NULL;
	}
	if (strncmp(url, "amqp://", 7) != 0) {
		lc_err_set_field(err, LC_ERR_INVALID, "amqp_url",
				 "bus: the URL must start with amqp:// (amqps is not supported)");
		return NULL;
	}
	bus = lc_calloc(1, sizeof(*bus));
	bus->magic = LC_BUS_MAGIC;
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
	bus->backoff_min = LC_BUS_BACKOFF_MIN_MS;
	bus->backoff_max = LC_BUS_BACKOFF_MAX_MS;
	return bus;
}

void lc_bus_free(lc_bus_t **busp)
{
	lc_bus_t *bus;
	lc_bus_delivery_t *d;
	decl_t *rec;

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
	while ((d = pending_pop(bus)) != NULL)
		lc_bus_delivery_free(&d);
	while ((rec = bus->decls) != NULL) {
		bus->decls = rec->next;
		decl_free(rec);
	}
	free(bus->url);
	bus->magic = 0;
	free(bus);
	*busp = NULL;
}

lc_rc lc_bus_connect(lc_bus_t *bus, lc_err_t *err)
{
	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	return prepare(bus, 0, err);
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

static lc_rc check_name(const char *name, const char *field, bool allow_empty, lc_err_t *err)
{
	if (name == NULL || (!allow_empty && *name == '\0'))
		return lc_err_set_field(err, LC_ERR_INVALID, field, "bus: %s must not be empty", field);
	if (strlen(name) > LC_BUS_NAME_MAX)
		return lc_err_set_field(err, LC_ERR_INVALID, field, "bus: %s longer than %d bytes",
					field, LC_BUS_NAME_MAX);
	return LC_OK;
}

/* Perform a declaration now and record it; while the broker is unreachable, record it for the
 * connect that will come (the caller still learns UNAVAILABLE). Takes ownership of rec. */
static lc_rc declare(lc_bus_t *bus, decl_t *rec, lc_err_t *err)
{
	decl_t *old = decl_find(bus, rec->kind, rec->a, rec->b, rec->c);
	lc_rc rc;

	if (old != NULL && rec->kind == DECL_CONSUME) {
		decl_free(rec);         /* one consumer per queue and bus */
		return prepare(bus, 0, err);
	}
	if (old != NULL)
		decl_remove(bus, rec->kind, 0, rec->a, rec->kind == DECL_BIND ? rec->b : NULL,
			    rec->c);
	rc = prepare(bus, 0, err);
	if (rc == LC_OK)
		rc = apply_decl(bus, rec, err);
	/* Not connected (now or any more): the declaration was not refused, it waits for the
	 * connect that replays it. */
	if (rc == LC_OK || bus->conn == NULL)
		decl_append(bus, rec);
	else
		decl_free(rec);
	return rc;
}

lc_rc lc_bus_declare_exchange(lc_bus_t *bus, const char *name, const char *type, bool durable,
			      lc_err_t *err)
{
	decl_t *rec;
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = check_name(name, "exchange", false, err)) != LC_OK)
		return rc;
	if (type == NULL || (strcmp(type, "direct") != 0 && strcmp(type, "topic") != 0 &&
			     strcmp(type, "fanout") != 0 && strcmp(type, "headers") != 0))
		return lc_err_set_field(err, LC_ERR_INVALID, "type",
					"bus: exchange type must be direct, topic, fanout or headers");
	rec = lc_calloc(1, sizeof(*rec));
	rec->kind = DECL_EXCHANGE;
	rec->a = lc_strdup(name);
	rec->b = lc_strdup(type);
	rec->durable = durable;
	return declare(bus, rec, err);
}

lc_rc lc_bus_declare_queue(lc_bus_t *bus, const char *name, bool durable, bool exclusive,
			   bool auto_delete, lc_err_t *err)
{
	decl_t *rec;
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = check_name(name, "queue", false, err)) != LC_OK)
		return rc;
	rec = lc_calloc(1, sizeof(*rec));
	rec->kind = DECL_QUEUE;
	rec->a = lc_strdup(name);
	rec->durable = durable;
	rec->exclusive = exclusive;
	rec->auto_delete = auto_delete;
	return declare(bus, rec, err);
}

lc_rc lc_bus_bind(lc_bus_t *bus, const char *queue, const char *exchange, const char *key,
		  lc_err_t *err)
{
	decl_t *rec;
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = check_name(queue, "queue", false, err)) != LC_OK ||
	    (rc = check_name(exchange, "exchange", false, err)) != LC_OK ||
	    (rc = check_name(key, "routing_key", true, err)) != LC_OK)
		return rc;
	rec = lc_calloc(1, sizeof(*rec));
	rec->kind = DECL_BIND;
	rec->a = lc_strdup(queue);
	rec->b = lc_strdup(exchange);
	rec->c = lc_strdup(key);
	return declare(bus, rec, err);
}

lc_rc lc_bus_unbind(lc_bus_t *bus, const char *queue, const char *exchange, const char *key,
		    lc_err_t *err)
{
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = check_name(queue, "queue", false, err)) != LC_OK ||
	    (rc = check_name(exchange, "exchange", false, err)) != LC_OK ||
	    (rc = check_name(key, "routing_key", true, err)) != LC_OK)
		return rc;
	decl_remove(bus, DECL_BIND, 0, queue, exchange, key);
	if ((rc = prepare(bus, 0, err)) != LC_OK)
		return rc;
	amqp_queue_unbind(bus->conn, LC_BUS_CHANNEL, amqp_cstring_bytes(queue),
			  amqp_cstring_bytes(exchange), amqp_cstring_bytes(key), amqp_empty_table);
	return last_rpc(bus, "queue.unbind", err);
}

lc_rc lc_bus_purge(lc_bus_t *bus, const char *queue, lc_err_t *err)
{
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = check_name(queue, "queue", false, err)) != LC_OK)
		return rc;
	if ((rc = prepare(bus, 0, err)) != LC_OK)
		return rc;
	amqp_queue_purge(bus->conn, LC_BUS_CHANNEL, amqp_cstring_bytes(queue));
	return last_rpc(bus, "queue.purge", err);
}

lc_rc lc_bus_delete_queue(lc_bus_t *bus, const char *queue, lc_err_t *err)
{
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = check_name(queue, "queue", false, err)) != LC_OK)
		return rc;
	decl_remove(bus, DECL_CONSUME, 0, queue, NULL, NULL);
	decl_remove(bus, DECL_BIND, 0, queue, NULL, NULL);
	decl_remove(bus, DECL_QUEUE, 0, queue, NULL, NULL);
	if ((rc = prepare(bus, 0, err)) != LC_OK)
		return rc;
	amqp_queue_delete(bus->conn, LC_BUS_CHANNEL, amqp_cstring_bytes(queue), 0, 0);
	return last_rpc(bus, "queue.delete", err);
}

lc_rc lc_bus_delete_exchange(lc_bus_t *bus, const char *name, lc_err_t *err)
{
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = check_name(name, "exchange", false, err)) != LC_OK)
		return rc;
	decl_remove(bus, DECL_BIND, 1, name, NULL, NULL);
	decl_remove(bus, DECL_EXCHANGE, 0, name, NULL, NULL);
	if ((rc = prepare(bus, 0, err)) != LC_OK)
		return rc;
	amqp_exchange_delete(bus->conn, LC_BUS_CHANNEL, amqp_cstring_bytes(name), 0);
	return last_rpc(bus, "exchange.delete", err);
}

/* Wait for every confirm in cw, reading other frames as they come. */
static lc_rc wait_confirms(lc_bus_t *bus, confirm_wait_t *cw, lc_err_t *err)
{
	int64_t deadline = now_ms() + LC_BUS_CONFIRM_TIMEOUT_MS;
	lc_rc rc;

	while (cw->ndone < cw->n) {
		amqp_frame_t f;
		struct timeval tv = ms_tv(deadline - now_ms());
		int st = amqp_simple_wait_frame_noblock(bus->conn, &f, &tv);

		if (st == AMQP_STATUS_TIMEOUT) {
			/* Confirms could still come later, on a connection whose sequence numbers we
			 * no longer track: start afresh. */
			teardown(bus, "publisher confirm timed out");
			return lc_err_set(err, LC_ERR_UNAVAILABLE,
					  "bus: broker did not confirm %zu of %zu messages in %d ms",
					  cw->n - cw->ndone, cw->n, LC_BUS_CONFIRM_TIMEOUT_MS);
		}
		if (st != AMQP_STATUS_OK) {
			teardown(bus, amqp_error_string2(st));
			return lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: publish: %s",
					  amqp_error_string2(st));
		}
		if ((rc = handle_frame(bus, &f, cw, err)) != LC_OK)
			return rc;
	}
	if (amqp_release_buffers_ok(bus->conn))
		amqp_release_buffers(bus->conn);
	if (cw->nacked > 0)
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: broker rejected %zu of %zu messages",
				  cw->nacked, cw->n);
	return LC_OK;
}

/* rabbitmq-c sends with no deadline: a broker that stopped reading (frozen, or blocking
 * publishers on a resource alarm) would hold amqp_basic_publish forever once the socket buffer
 * is full. Waiting for room ourselves, with a deadline, keeps that bounded. */
static bool wait_writable(lc_bus_t *bus, int64_t deadline)
{
	struct pollfd p = { .fd = amqp_get_sockfd(bus->conn), .events = POLLOUT };
	int64_t left = deadline - now_ms();
	int n;

	do
		n = poll(&p, 1, left > 0 ? (int)left : 0);
	while (n < 0 && errno == EINTR);
	return n > 0;   /* POLLERR/POLLHUP count too: the send reports them */
}

lc_rc lc_bus_publish_batch(lc_bus_t *bus, const lc_bus_msg_t *msgs, size_t n, lc_err_t *err)
{
	confirm_wait_t cw = { 0 };
	int64_t deadline;
	size_t i;
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if (n == 0)
		return LC_OK;
	if (msgs == NULL)
		return lc_err_set_field(err, LC_ERR_INVALID, "msgs", "bus: no messages");
	for (i = 0; i < n; i++) {
		if ((rc = check_name(msgs[i].exchange, "exchange", true, err)) != LC_OK ||
		    (rc = check_name(msgs[i].routing_key, "routing_key", true, err)) != LC_OK)
			return rc;
		if (msgs[i].body == NULL && msgs[i].len > 0)
			return lc_err_set_field(err, LC_ERR_INVALID, "body", "bus: body is NULL");
		if (msgs[i].message_id != NULL &&
		    (rc = check_name(msgs[i].message_id, "message_id", false, err)) != LC_OK)
			return rc;
	}
	if ((rc = prepare(bus, 0, err)) != LC_OK)
		return rc;
	deadline = now_ms() + LC_BUS_CONFIRM_TIMEOUT_MS;
	cw.first = bus->next_seq;
	cw.n = n;
	cw.done = lc_calloc(n, sizeof(bool));
	for (i = 0; i < n; i++) {
		amqp_basic_properties_t props;
		amqp_bytes_t body = { msgs[i].len, (void *)msgs[i].body };
		int st;

		memset(&props, 0, sizeof(props));
		props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
		props.content_type = amqp_cstring_bytes("application/json");
		props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
		if (msgs[i].message_id != NULL) {
			props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
			props.message_id = amqp_cstring_bytes(msgs[i].message_id);
		}
		if (!wait_writable(bus, deadline)) {
			teardown(bus, "broker stopped reading");
			rc = lc_err_set(err, LC_ERR_UNAVAILABLE,
					"bus: publish: broker stopped reading for %d ms",
					LC_BUS_CONFIRM_TIMEOUT_MS);
			goto out;
		}
		st = amqp_basic_publish(bus->conn, LC_BUS_CHANNEL, amqp_cstring_bytes(msgs[i].exchange),
					amqp_cstring_bytes(msgs[i].routing_key), 0, 0, &props, body);
		if (st != AMQP_STATUS_OK) {
			teardown(bus, amqp_error_string2(st));
			rc = lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: publish: %s",
					amqp_error_string2(st));
			goto out;
		}
		bus->next_seq++;
		/* Read confirms now and then so neither side's socket buffer fills up. */
		if ((i + 1) % LC_BUS_DRAIN_EVERY == 0) {
			for (;;) {
				amqp_frame_t f;
				struct timeval zero = { 0, 0 };

				st = amqp_simple_wait_frame_noblock(bus->conn, &f, &zero);
				if (st == AMQP_STATUS_TIMEOUT)
					break;
				if (st != AMQP_STATUS_OK) {
					teardown(bus, amqp_error_string2(st));
					rc = lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: publish: %s",
							amqp_error_string2(st));
					goto out;
				}
				if ((rc = handle_frame(bus, &f, &cw, err)) != LC_OK)
					goto out;
			}
		}
	}
	rc = wait_confirms(bus, &cw, err);
out:
	free(cw.done);
	return rc;
}

lc_rc lc_bus_publish(lc_bus_t *bus, const char *exchange, const char *routing_key,
		     const char *body, size_t len, const char *message_id, lc_err_t *err)
{
	lc_bus_msg_t m = { exchange, routing_key, body, len, message_id };

	return lc_bus_publish_batch(bus, &m, 1, err);
}

lc_rc lc_bus_consume(lc_bus_t *bus, const char *queue, uint16_t prefetch, lc_err_t *err)
{
	decl_t *rec;
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = check_name(queue, "queue", false, err)) != LC_OK)
		return rc;
	rec = lc_calloc(1, sizeof(*rec));
	rec->kind = DECL_CONSUME;
	rec->a = lc_strdup(queue);
	rec->prefetch = prefetch;
	return declare(bus, rec, err);
}

lc_rc lc_bus_poll(lc_bus_t *bus, int timeout_ms, lc_bus_delivery_t **out, lc_err_t *err)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	LC_ASSERT(out != NULL);
	*out = NULL;
	if ((*out = pending_pop(bus)) != NULL)
		return LC_OK;
	if ((rc = ensure_ready(bus, timeout_ms, err)) != LC_OK)
		return rc;
	for (;;) {
		amqp_envelope_t env;
		amqp_rpc_reply_t r;
		amqp_frame_t f;
		struct timeval tv = ms_tv(deadline - now_ms()), zero = { 0, 0 };
		int st;

		if ((*out = pending_pop(bus)) != NULL)
			return LC_OK;
		amqp_maybe_release_buffers(bus->conn);
		r = amqp_consume_message(bus->conn, &env, &tv, 0);
		if (r.reply_type == AMQP_RESPONSE_NORMAL) {
			*out = delivery_new(bus, env.delivery_tag, env.redelivered, env.exchange,
					    env.routing_key, &env.message);
			amqp_destroy_envelope(&env);
			return LC_OK;
		}
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_TIMEOUT)
			return lc_err_set(err, LC_ERR_TIMEOUT, "bus: no delivery in %d ms", timeout_ms);
		if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION ||
		    r.library_error != AMQP_STATUS_UNEXPECTED_STATE)
			return rpc_check(bus, r, "bus: poll", err);
		/* Something other than a delivery (channel.close, connection.close, cancel...):
		 * the library put it back, so it is read at once. */
		st = amqp_simple_wait_frame_noblock(bus->conn, &f, &zero);
		if (st != AMQP_STATUS_OK && st != AMQP_STATUS_TIMEOUT) {
			teardown(bus, amqp_error_string2(st));
			return lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: poll: %s",
					  amqp_error_string2(st));
		}
		if (st == AMQP_STATUS_OK && (rc = handle_frame(bus, &f, NULL, err)) != LC_OK) {
			/* Whatever closed, our consumer went with it: the reason stays, the code
			 * says "reconnecting". */
			if (err != NULL)
				err->code = LC_ERR_UNAVAILABLE;
			return LC_ERR_UNAVAILABLE;
		}
		if (now_ms() >= deadline && bus->pend_head == NULL)
			return lc_err_set(err, LC_ERR_TIMEOUT, "bus: no delivery in %d ms", timeout_ms);
	}
}

static lc_rc settle(lc_bus_t *bus, const lc_bus_delivery_t *d, bool ack, bool requeue,
		    lc_err_t *err)
{
	int st;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if (d == NULL)
		return lc_err_set_field(err, LC_ERR_INVALID, "delivery", "bus: no delivery");
	if (d->gen != bus->gen || bus->conn == NULL || !bus->chan_open) {
		/* That channel is gone; the broker already put the message back. */
		LC_DEBUG("bus: %s of a delivery from generation %llu ignored", ack ? "ack" : "nack",
			 (unsigned long long)d->gen);
		return LC_OK;
	}
	st = ack ? amqp_basic_ack(bus->conn, LC_BUS_CHANNEL, d->tag, 0)
		 : amqp_basic_nack(bus->conn, LC_BUS_CHANNEL, d->tag, 0, requeue);
	if (st != AMQP_STATUS_OK) {
		teardown(bus, amqp_error_string2(st));
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: %s: %s", ack ? "ack" : "nack",
				  amqp_error_string2(st));
	}
	return LC_OK;
}

lc_rc lc_bus_ack(lc_bus_t *bus, const lc_bus_delivery_t *d, lc_err_t *err)
{
	return settle(bus, d, true, false, err);
}

lc_rc lc_bus_nack(lc_bus_t *bus, const lc_bus_delivery_t *d, bool requeue, lc_err_t *err)
{
	return settle(bus, d, false, requeue, err);
}
