/* SPDX-License-Identifier: MIT */
/* lc_bus_frames: frames that arrive while the bus waits for something else (confirms, an RPC
 * reply, a delivery): publisher confirms, deliveries (kept in order for the next poll), consumer
 * cancels, and closes of the channel or the connection. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lc_alloc.h"
#include "lc_bus_priv.h"
#include "lc_log.h"

/* ---- deliveries buffered while waiting for something else ---- */

static void pending_push(lc_bus_t *bus, lc_bus_delivery_t *d)
{
	lc_bus_pending_t *p = lc_calloc(1, sizeof(*p));

	p->d = d;
	if (bus->pend_tail != NULL)
		bus->pend_tail->next = p;
	else
		bus->pend_head = p;
	bus->pend_tail = p;
}

lc_bus_delivery_t *lc_bus_pending_pop(lc_bus_t *bus)
{
	lc_bus_pending_t *p = bus->pend_head;
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

void lc_bus_pending_clear(lc_bus_t *bus)
{
	lc_bus_delivery_t *d;

	while ((d = lc_bus_pending_pop(bus)) != NULL)
		lc_bus_delivery_free(&d);
}

lc_bus_delivery_t *lc_bus_delivery_new(lc_bus_t *bus, uint64_t tag, bool redelivered,
				       amqp_bytes_t exchange, amqp_bytes_t routing_key,
				       const amqp_message_t *msg)
{
	lc_bus_delivery_t *d = lc_calloc(1, sizeof(*d));

	d->magic = LC_BUS_DELIVERY_MAGIC;
	d->tag = tag;
	d->gen = bus->gen;
	lc_bus_unsettled_add(bus, tag);
	d->redelivered = redelivered;
	d->exchange = lc_bus_bytes_dup(exchange);
	d->routing_key = lc_bus_bytes_dup(routing_key);
	d->len = msg->body.len;
	d->body = lc_malloc(d->len + 1);
	if (d->len > 0)
		memcpy(d->body, msg->body.bytes, d->len);
	d->body[d->len] = '\0';
	if (msg->properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
		d->message_id = lc_bus_bytes_dup(msg->properties.message_id);
	return d;
}

void lc_bus_delivery_free(lc_bus_delivery_t **dp)
{
	lc_bus_delivery_t *d;

	if (dp == NULL || *dp == NULL)
		return;
	d = *dp;
	LC_CHECK_OBJ(d, LC_BUS_DELIVERY_MAGIC);
	d->magic = 0;
	free(d->exchange);
	free(d->routing_key);
	free(d->body);
	free(d->message_id);
	free(d);
	*dp = NULL;
}

/* The content frames that follow a basic.deliver we met while waiting for something else. */
static lc_rc read_delivery(lc_bus_t *bus, const amqp_basic_deliver_t *m, lc_err_t *err)
{
	uint64_t tag = m->delivery_tag;
	bool redelivered = m->redelivered;
	char *exchange = lc_bus_bytes_dup(m->exchange), *key = lc_bus_bytes_dup(m->routing_key);
	amqp_message_t msg;
	amqp_rpc_reply_t r;
	lc_rc rc;

	r = amqp_read_message(bus->conn, LC_BUS_CHANNEL, &msg, 0);
	if ((rc = lc_bus_rpc_check(bus, r, "reading a delivery", err)) == LC_OK) {
		pending_push(bus, lc_bus_delivery_new(bus, tag, redelivered,
						      amqp_cstring_bytes(exchange),
						      amqp_cstring_bytes(key), &msg));
		amqp_destroy_message(&msg);
	}
	free(exchange);
	free(key);
	return rc;
}

/* ---- frames ---- */

lc_rc lc_bus_handle_frame(lc_bus_t *bus, const amqp_frame_t *f, lc_err_t *err)
{
	if (f->frame_type != AMQP_FRAME_METHOD)
		return LC_OK;   /* stray content frame: nothing we can attribute it to */
	switch (f->payload.method.id) {
	case AMQP_BASIC_ACK_METHOD: {
		const amqp_basic_ack_t *m = f->payload.method.decoded;

		lc_bus_confirm(bus, m->delivery_tag, m->multiple, false);
		return LC_OK;
	}
	case AMQP_BASIC_NACK_METHOD: {
		const amqp_basic_nack_t *m = f->payload.method.decoded;

		lc_bus_confirm(bus, m->delivery_tag, m->multiple, true);
		return LC_OK;
	}
	case AMQP_BASIC_DELIVER_METHOD:
		return read_delivery(bus, f->payload.method.decoded, err);
	case AMQP_BASIC_CANCEL_METHOD: {
		/* The broker cancelled a consumer (its queue was deleted): forget it. */
		const amqp_basic_cancel_t *m = f->payload.method.decoded;

		lc_bus_decl_remove_consumer(bus, m->consumer_tag);
		return LC_OK;
	}
	case AMQP_CHANNEL_CLOSE_METHOD:
		return lc_bus_on_channel_close(bus, f->payload.method.decoded, "bus", err);
	case AMQP_CONNECTION_CLOSE_METHOD:
		return lc_bus_on_connection_close(bus, f->payload.method.decoded, "bus", err);
	case AMQP_CONNECTION_BLOCKED_METHOD:
		LC_WARN("bus: broker blocked publishing (resource alarm)");
		return LC_OK;
	default:
		LC_DEBUG("bus: ignoring method 0x%08x", (unsigned)f->payload.method.id);
		return LC_OK;
	}
}

lc_rc lc_bus_read_frame(lc_bus_t *bus, struct timeval *tv, const char *what, lc_err_t *err)
{
	amqp_frame_t f;
	int st = amqp_simple_wait_frame_noblock(bus->conn, &f, tv);

	if (st == AMQP_STATUS_TIMEOUT)
		return LC_ERR_TIMEOUT;
	if (st != AMQP_STATUS_OK) {
		lc_bus_teardown(bus, amqp_error_string2(st));
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "%s: %s", what, amqp_error_string2(st));
	}
	return lc_bus_handle_frame(bus, &f, err);
}

/* Finds out early that the broker closed the connection (a publisher may sit idle for a long
 * time), answers heartbeats, reads confirms during a long batch. */
lc_rc lc_bus_drain_input(lc_bus_t *bus, const char *what, lc_err_t *err)
{
	while (bus->conn != NULL) {
		struct timeval zero = { 0, 0 };
		lc_rc rc = lc_bus_read_frame(bus, &zero, what, err);

		if (rc == LC_ERR_TIMEOUT)
			break;
		if (rc != LC_OK)
			return rc;
	}
	if (bus->conn != NULL && amqp_release_buffers_ok(bus->conn))
		amqp_release_buffers(bus->conn);
	return LC_OK;
}
