/* SPDX-License-Identifier: MIT */
/* lc_bus: RabbitMQ over rabbitmq-c 0.11, one connection and one channel per lc_bus_t: the public
 * calls. Declarations go through the replay record (lc_bus_record.c), connecting and reconnecting
 * through lc_bus_conn.c, publishing with publisher confirms in lc_bus_publish.c; consuming uses
 * manual acks (docs/bus-client.md tells the story). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "lc_alloc.h"
#include "lc_bus_priv.h"
#include "lc_log.h"

lc_rc lc_bus_check_name(const char *name, const char *field, bool allow_empty, lc_err_t *err)
{
	if (name == NULL || (!allow_empty && *name == '\0'))
		return lc_err_set_field(err, LC_ERR_INVALID, field, "bus: %s must not be empty", field);
	if (strlen(name) > LC_BUS_NAME_MAX)
		return lc_err_set_field(err, LC_ERR_INVALID, field, "bus: %s longer than %d bytes",
					field, LC_BUS_NAME_MAX);
	return LC_OK;
}

/* A binding's three names (queue, exchange, key). */
static lc_rc check_binding(const char *queue, const char *exchange, const char *key,
			   lc_err_t *err)
{
	lc_rc rc;

	if ((rc = lc_bus_check_name(queue, "queue", false, err)) != LC_OK ||
	    (rc = lc_bus_check_name(exchange, "exchange", false, err)) != LC_OK ||
	    (rc = lc_bus_check_name(key, "routing_key", true, err)) != LC_OK)
		return rc;
	return LC_OK;
}

static lc_bus_decl_t *decl_new(lc_bus_t *bus, lc_bus_decl_kind kind, const char *a,
			       const char *b, const char *c)
{
	size_t clen = c != NULL ? strlen(c) + 1 : 0;
	lc_bus_decl_t *rec = lc_calloc(1, sizeof(*rec) + clen);

	rec->kind = kind;
	rec->a = lc_bus_decl_name(bus, a);
	rec->b = lc_bus_decl_name(bus, b);
	if (c != NULL) {
		memcpy(rec->key, c, clen);
		rec->c = rec->key;
	}
	return rec;
}

/* Perform a declaration now and record it; while the broker is unreachable, record it for the
 * connect that will come (the caller still learns UNAVAILABLE). Takes ownership of rec. */
static lc_rc declare(lc_bus_t *bus, lc_bus_decl_t *rec, lc_err_t *err)
{
	lc_bus_decl_t *old = lc_bus_decl_find(bus, rec->kind, rec->a, rec->b, rec->c);
	lc_rc rc;

	if (old != NULL && rec->kind == LC_BUS_DECL_CONSUME) {
		lc_bus_decl_free(rec);  /* one consumer per queue and bus */
		return lc_bus_prepare(bus, 0, err);
	}
	if (old != NULL)
		lc_bus_decl_remove(bus, rec->kind, 0, rec->a,
				   rec->kind == LC_BUS_DECL_BIND ? rec->b : NULL, rec->c);
	rc = lc_bus_prepare(bus, 0, err);
	if (rc == LC_OK)
		rc = lc_bus_decl_apply(bus, rec, err);
	/* Not connected (now or any more): the declaration was not refused, it waits for the
	 * connect that replays it. */
	if (rc == LC_OK || bus->conn == NULL)
		lc_bus_decl_append(bus, rec);
	else
		lc_bus_decl_free(rec);
	return rc;
}

lc_rc lc_bus_declare_exchange(lc_bus_t *bus, const char *name, const char *type, bool durable,
			      lc_err_t *err)
{
	lc_bus_decl_t *rec;
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = lc_bus_check_name(name, "exchange", false, err)) != LC_OK)
		return rc;
	if (type == NULL || (strcmp(type, "direct") != 0 && strcmp(type, "topic") != 0 &&
			     strcmp(type, "fanout") != 0 && strcmp(type, "headers") != 0))
		return lc_err_set_field(err, LC_ERR_INVALID, "type",
					"bus: exchange type must be direct, topic, fanout or headers");
	rec = decl_new(bus, LC_BUS_DECL_EXCHANGE, name, type, NULL);
	rec->durable = durable;
	return declare(bus, rec, err);
}

lc_rc lc_bus_declare_queue_args(lc_bus_t *bus, const char *name, bool durable, bool exclusive,
				bool auto_delete, const lc_bus_arg_t *args, size_t n, lc_err_t *err)
{
	lc_bus_decl_t *rec;
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = lc_bus_check_name(name, "queue", false, err)) != LC_OK)
		return rc;
	rec = decl_new(bus, LC_BUS_DECL_QUEUE, name, NULL, NULL);
	rec->durable = durable;
	rec->exclusive = exclusive;
	rec->auto_delete = auto_delete;
	if ((rc = lc_bus_decl_set_args(rec, args, n, err)) != LC_OK) {
		lc_bus_decl_free(rec);
		return rc;
	}
	return declare(bus, rec, err);
}

lc_rc lc_bus_declare_queue(lc_bus_t *bus, const char *name, bool durable, bool exclusive,
			   bool auto_delete, lc_err_t *err)
{
	return lc_bus_declare_queue_args(bus, name, durable, exclusive, auto_delete, NULL, 0, err);
}

/* Before an operation on one queue: a valid name and a usable connection. */
static lc_rc ready_for_queue(lc_bus_t *bus, const char *queue, lc_err_t *err)
{
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = lc_bus_check_name(queue, "queue", false, err)) != LC_OK)
		return rc;
	return lc_bus_prepare(bus, 0, err);
}

lc_rc lc_bus_queue_counts(lc_bus_t *bus, const char *queue, uint32_t *messages,
			  uint32_t *consumers, lc_err_t *err)
{
	amqp_queue_declare_ok_t *ok;
	lc_rc rc;

	if ((rc = ready_for_queue(bus, queue, err)) != LC_OK)
		return rc;
	/* Passive: only asks. No such queue: the broker closes the channel with 404. */
	ok = amqp_queue_declare(bus->conn, LC_BUS_CHANNEL, amqp_cstring_bytes(queue), 1, 0, 0, 0,
				amqp_empty_table);
	if ((rc = lc_bus_last_rpc(bus, "queue.declare", err)) != LC_OK)
		return rc;
	*messages = ok->message_count;
	*consumers = ok->consumer_count;
	return LC_OK;
}

lc_rc lc_bus_bind(lc_bus_t *bus, const char *queue, const char *exchange, const char *key,
		  lc_err_t *err)
{
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = check_binding(queue, exchange, key, err)) != LC_OK)
		return rc;
	return declare(bus, decl_new(bus, LC_BUS_DECL_BIND, queue, exchange, key), err);
}

lc_rc lc_bus_unbind(lc_bus_t *bus, const char *queue, const char *exchange, const char *key,
		    lc_err_t *err)
{
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = check_binding(queue, exchange, key, err)) != LC_OK)
		return rc;
	lc_bus_decl_remove(bus, LC_BUS_DECL_BIND, 0, queue, exchange, key);
	if ((rc = lc_bus_prepare(bus, 0, err)) != LC_OK)
		return rc;
	amqp_queue_unbind(bus->conn, LC_BUS_CHANNEL, amqp_cstring_bytes(queue),
				     amqp_cstring_bytes(exchange), amqp_cstring_bytes(key),
				     amqp_empty_table);
	return lc_bus_last_rpc(bus, "queue.unbind", err);
}

lc_rc lc_bus_purge(lc_bus_t *bus, const char *queue, lc_err_t *err)
{
	lc_rc rc;

	if ((rc = ready_for_queue(bus, queue, err)) != LC_OK)
		return rc;
	amqp_queue_purge(bus->conn, LC_BUS_CHANNEL, amqp_cstring_bytes(queue));
	return lc_bus_last_rpc(bus, "queue.purge", err);
}

lc_rc lc_bus_delete_queue(lc_bus_t *bus, const char *queue, lc_err_t *err)
{
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = lc_bus_check_name(queue, "queue", false, err)) != LC_OK)
		return rc;
	lc_bus_decl_remove(bus, LC_BUS_DECL_CONSUME, 0, queue, NULL, NULL);
	lc_bus_decl_remove(bus, LC_BUS_DECL_BIND, 0, queue, NULL, NULL);
	lc_bus_decl_remove(bus, LC_BUS_DECL_QUEUE, 0, queue, NULL, NULL);
	if ((rc = lc_bus_prepare(bus, 0, err)) != LC_OK)
		return rc;
	amqp_queue_delete(bus->conn, LC_BUS_CHANNEL, amqp_cstring_bytes(queue), 0, 0);
	return lc_bus_last_rpc(bus, "queue.delete", err);
}

/* The lease channel, opened on the current connection when it is not yet. */
static lc_rc lease_channel(lc_bus_t *bus, const char *queue, lc_err_t *err)
{
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = lc_bus_check_name(queue, "queue", false, err)) != LC_OK)
		return rc;
	if ((rc = lc_bus_prepare(bus, 0, err)) != LC_OK)
		return rc;
	if (bus->lease_open)
		return LC_OK;
	amqp_channel_open(bus->conn, LC_BUS_LEASE_CHANNEL);
	if ((rc = lc_bus_lease_rpc(bus, "channel.open", err)) != LC_OK)
		return rc;
	bus->lease_open = true;
	return LC_OK;
}

lc_rc lc_bus_claim_queue(lc_bus_t *bus, const char *queue, lc_err_t *err)
{
	lc_rc rc;

	if ((rc = lease_channel(bus, queue, err)) != LC_OK)
		return rc;
	/* Exclusive: another connection's claim is refused with 405 RESOURCE_LOCKED (CONFLICT).
	 * Not recorded: a new connection does not claim it again by itself. */
	amqp_queue_declare(bus->conn, LC_BUS_LEASE_CHANNEL, amqp_cstring_bytes(queue), 0, 0, 1, 1,
			   amqp_empty_table);
	return lc_bus_lease_rpc(bus, "queue.declare", err);
}

lc_rc lc_bus_release_queue(lc_bus_t *bus, const char *queue, lc_err_t *err)
{
	lc_rc rc;

	if ((rc = lease_channel(bus, queue, err)) != LC_OK)
		return rc;
	amqp_queue_delete(bus->conn, LC_BUS_LEASE_CHANNEL, amqp_cstring_bytes(queue), 0, 0);
	return lc_bus_lease_rpc(bus, "queue.delete", err);
}

lc_rc lc_bus_delete_exchange(lc_bus_t *bus, const char *name, lc_err_t *err)
{
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = lc_bus_check_name(name, "exchange", false, err)) != LC_OK)
		return rc;
	lc_bus_decl_remove(bus, LC_BUS_DECL_BIND, 1, name, NULL, NULL);
	lc_bus_decl_remove(bus, LC_BUS_DECL_EXCHANGE, 0, name, NULL, NULL);
	if ((rc = lc_bus_prepare(bus, 0, err)) != LC_OK)
		return rc;
	amqp_exchange_delete(bus->conn, LC_BUS_CHANNEL, amqp_cstring_bytes(name), 0);
	return lc_bus_last_rpc(bus, "exchange.delete", err);
}

/* ---- consuming ---- */

lc_rc lc_bus_consume(lc_bus_t *bus, const char *queue, uint16_t prefetch, lc_err_t *err)
{
	lc_bus_decl_t *rec;
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if ((rc = lc_bus_check_name(queue, "queue", false, err)) != LC_OK)
		return rc;
	rec = decl_new(bus, LC_BUS_DECL_CONSUME, queue, NULL, NULL);
	rec->prefetch = prefetch;
	return declare(bus, rec, err);
}

lc_rc lc_bus_poll(lc_bus_t *bus, int timeout_ms, lc_bus_delivery_t **out, lc_err_t *err)
{
	int64_t deadline = lc_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	LC_ASSERT(out != NULL);
	*out = NULL;
	if ((*out = lc_bus_pending_pop(bus)) != NULL)
		return LC_OK;
	if ((rc = lc_bus_ensure_ready(bus, timeout_ms, err)) != LC_OK)
		return rc;
	for (;;) {
		amqp_envelope_t env;
		amqp_rpc_reply_t r;
		struct timeval tv = lc_bus_ms_tv(deadline - lc_mono_ms()), zero = { 0, 0 };

		if ((*out = lc_bus_pending_pop(bus)) != NULL)
			return LC_OK;
		amqp_maybe_release_buffers(bus->conn);
		r = amqp_consume_message(bus->conn, &env, &tv, 0);
		if (r.reply_type == AMQP_RESPONSE_NORMAL) {
			*out = lc_bus_delivery_new(bus, env.delivery_tag, env.redelivered,
						   env.exchange, env.routing_key, &env.message);
			amqp_destroy_envelope(&env);
			return LC_OK;
		}
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_TIMEOUT)
			return lc_err_set(err, LC_ERR_TIMEOUT, "bus: no delivery in %d ms", timeout_ms);
		if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION ||
		    r.library_error != AMQP_STATUS_UNEXPECTED_STATE)
			return lc_bus_rpc_check(bus, r, "bus: poll", err);
		/* Something other than a delivery (channel.close, connection.close, cancel...):
		 * the library put it back, so it is read at once. */
		rc = lc_bus_read_frame(bus, &zero, "bus: poll", err);
		if (rc != LC_OK && rc != LC_ERR_TIMEOUT) {
			/* Whatever closed, our consumer went with it: the reason stays, the code
			 * says "reconnecting". */
			if (err != NULL)
				err->code = LC_ERR_UNAVAILABLE;
			return LC_ERR_UNAVAILABLE;
		}
		if (lc_mono_ms() >= deadline && bus->pend_head == NULL)
			return lc_err_set(err, LC_ERR_TIMEOUT, "bus: no delivery in %d ms", timeout_ms);
	}
}

/* Whether bus has something lc_bus_poll can take without waiting (a delivery read already, a
 * frame in rabbitmq-c's buffers, a channel to reopen, a reconnection due); else its socket to
 * watch in *fd (-1: none) and, while disconnected, when the next attempt is due in *due_ms. */
static bool bus_ready(const lc_bus_t *bus, int64_t now, int *fd, int64_t *due_ms)
{
	*fd = -1;
	*due_ms = INT64_MAX;
	if (bus->pend_head != NULL)
		return true;
	if (bus->conn == NULL) {
		*due_ms = bus->next_attempt_ms;
		return bus->next_attempt_ms <= now;
	}
	if (!bus->chan_open || amqp_data_in_buffer(bus->conn) || amqp_frames_enqueued(bus->conn))
		return true;
	*fd = amqp_get_sockfd(bus->conn);
	return *fd < 0;
}

bool lc_bus_wait(lc_bus_t *const *buses, size_t n, int wake_fd, int timeout_ms)
{
	struct pollfd p[LC_BUS_WAIT_MAX + 1];
	size_t np = 0;
	int64_t now = lc_mono_ms(), until = now + (timeout_ms > 0 ? timeout_ms : 0);
	int r;

	LC_ASSERT(n <= LC_BUS_WAIT_MAX);
	for (size_t i = 0; i < n; i++) {
		int fd;
		int64_t due;

		if (buses[i] == NULL)
			continue;
		LC_CHECK_OBJ(buses[i], LC_BUS_MAGIC);
		if (bus_ready(buses[i], now, &fd, &due))
			return true;
		if (due < until)
			until = due;
		if (fd >= 0)
			p[np++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	if (wake_fd >= 0)
		p[np++] = (struct pollfd){ .fd = wake_fd, .events = POLLIN };
	do
		r = poll(p, np, (int)(until > now ? until - now : 0));
	while (r < 0 && errno == EINTR);
	return r != 0;   /* readable, hung up or failed: the poll that follows tells which */
}

/* ---- settling ---- */

void lc_bus_unsettled_add(lc_bus_t *bus, uint64_t tag)
{
	size_t i;

	if (bus->nunsettled == bus->capunsettled) {
		bus->capunsettled = bus->capunsettled ? bus->capunsettled * 2 : 64;
		bus->unsettled = lc_realloc(bus->unsettled, bus->capunsettled * sizeof(uint64_t));
	}
	/* Tags grow on a channel: the insert is at the end. */
	for (i = bus->nunsettled; i > 0 && bus->unsettled[i - 1] > tag; i--)
		bus->unsettled[i] = bus->unsettled[i - 1];
	bus->unsettled[i] = tag;
	bus->nunsettled++;
}

/* Index of tag among the unsettled ones, or -1. */
static long unsettled_find(const lc_bus_t *bus, uint64_t tag)
{
	size_t lo = 0, hi = bus->nunsettled;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bus->unsettled[mid] < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < bus->nunsettled && bus->unsettled[lo] == tag ? (long)lo : -1;
}

static void unsettled_remove(lc_bus_t *bus, uint64_t tag)
{
	long i = unsettled_find(bus, tag);

	if (i < 0)
		return;
	memmove(bus->unsettled + i, bus->unsettled + i + 1,
		(bus->nunsettled - (size_t)i - 1) * sizeof(uint64_t));
	bus->nunsettled--;
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
	unsettled_remove(bus, d->tag);
	st = ack ? amqp_basic_ack(bus->conn, LC_BUS_CHANNEL, d->tag, 0)
		 : amqp_basic_nack(bus->conn, LC_BUS_CHANNEL, d->tag, 0, requeue);
	if (st != AMQP_STATUS_OK) {
		lc_bus_teardown(bus, amqp_error_string2(st));
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

static int tag_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static lc_rc ack_frame(lc_bus_t *bus, uint64_t tag, bool multiple, lc_err_t *err)
{
	int st = amqp_basic_ack(bus->conn, LC_BUS_CHANNEL, tag, multiple);

	if (st != AMQP_STATUS_OK) {
		lc_bus_teardown(bus, amqp_error_string2(st));
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: ack: %s", amqp_error_string2(st));
	}
	return LC_OK;
}

lc_rc lc_bus_ack_batch(lc_bus_t *bus, const lc_bus_delivery_t *const *ds, size_t n,
		       lc_err_t *err)
{
	uint64_t *tags;
	size_t nt = 0, i, j;
	lc_rc rc = LC_OK;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if (n == 0 || bus->conn == NULL || !bus->chan_open)
		return LC_OK;   /* that channel is gone; the broker put its messages back */
	tags = lc_calloc(n, sizeof(uint64_t));
	for (i = 0; i < n; i++)
		/* Only what this channel delivered and nobody settled (a tag acked twice would
		 * make the broker close the channel). */
		if (ds[i] != NULL && ds[i]->gen == bus->gen && unsettled_find(bus, ds[i]->tag) >= 0)
			tags[nt++] = ds[i]->tag;
	qsort(tags, nt, sizeof(uint64_t), tag_cmp);
	/* The longest run of the lowest unsettled tags that are all in the batch: one frame with
	 * multiple=true acks exactly them. */
	for (j = 0; j < nt && j < bus->nunsettled && bus->unsettled[j] == tags[j]; j++)
		;
	if (j > 0)
		rc = ack_frame(bus, tags[j - 1], j > 1, err);
	for (i = j; i < nt && rc == LC_OK; i++)
		rc = ack_frame(bus, tags[i], false, err);
	for (i = 0; i < nt && bus->conn != NULL; i++)
		unsettled_remove(bus, tags[i]);
	free(tags);
	return rc;
}
