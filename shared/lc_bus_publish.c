/* SPDX-License-Identifier: MIT */
/* lc_bus, publishing: messages go out on the bus's channel in confirm mode. lc_bus_send puts a
 * batch on the wire and returns; its lc_bus_sent_t learns the broker's confirms as this
 * connection's frames are read (lc_bus_confirm, from lc_bus_frames.c), so a publisher can have
 * several batches in flight and need not wait for one batch's confirms (the broker's disk, for
 * persistent messages) before sending the next. lc_bus_publish_batch sends and waits. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "lc_alloc.h"
#include "lc_bus_priv.h"
#include "lc_log.h"

#define LC_BUS_SENT_MAGIC 0x6c736e74u   /* "lsnt" */

/* One batch on the wire: the confirms of tags first .. first+n-1 on channel generation gen.
 * Linked in its bus while it waits, so that a confirm read by any call reaches it. */
struct lc_bus_sent {
	unsigned magic;
	lc_bus_t *bus;                  /* NULL once the bus was freed */
	uint64_t gen, first;
	size_t n, ndone, nacked;
	bool *done;
	int64_t deadline;               /* lc_mono_ms by which every confirm is due */
	TAILQ_ENTRY(lc_bus_sent) link;
};

void lc_bus_confirm(lc_bus_t *bus, uint64_t tag, bool multiple, bool nack)
{
	lc_bus_sent_t *s;

	TAILQ_FOREACH(s, &bus->sent, link) {
		uint64_t last = s->first + s->n - 1;
		uint64_t lo = multiple ? s->first : tag, hi = tag < last ? tag : last, t;

		if (s->gen != bus->gen || tag < s->first || (!multiple && tag > last))
			continue;
		for (t = lo < s->first ? s->first : lo; t <= hi; t++) {
			if (s->done[t - s->first])
				continue;
			s->done[t - s->first] = true;
			s->ndone++;
			if (nack)
				s->nacked++;
		}
	}
}

void lc_bus_sent_detach_all(lc_bus_t *bus)
{
	lc_bus_sent_t *s;

	while ((s = TAILQ_FIRST(&bus->sent)) != NULL) {
		TAILQ_REMOVE(&bus->sent, s, link);
		s->bus = NULL;
	}
}

void lc_bus_sent_free(lc_bus_sent_t **sp)
{
	lc_bus_sent_t *s;

	if (sp == NULL || *sp == NULL)
		return;
	s = *sp;
	LC_CHECK_OBJ(s, LC_BUS_SENT_MAGIC);
	if (s->bus != NULL)
		TAILQ_REMOVE(&s->bus->sent, s, link);
	free(s->done);
	s->magic = 0;
	free(s);
	*sp = NULL;
}

/* rabbitmq-c sends with no deadline: a broker that stopped reading (frozen, or blocking
 * publishers on a resource alarm) would hold amqp_basic_publish forever once the socket buffer
 * is full. Waiting for room ourselves, with a deadline, keeps that bounded. */
static bool wait_writable(lc_bus_t *bus, int64_t deadline)
{
	struct pollfd p = { .fd = amqp_get_sockfd(bus->conn), .events = POLLOUT };
	int64_t left = deadline - lc_mono_ms();
	int n;

	do
		n = poll(&p, 1, left > 0 ? (int)left : 0);
	while (n < 0 && errno == EINTR);
	return n > 0;   /* POLLERR/POLLHUP count too: the send reports them */
}

static lc_rc check_msgs(const lc_bus_msg_t *msgs, size_t n, lc_err_t *err)
{
	size_t i;
	lc_rc rc;

	if (msgs == NULL || n == 0)
		return lc_err_set_field(err, LC_ERR_INVALID, "msgs", "bus: no messages");
	for (i = 0; i < n; i++) {
		if ((rc = lc_bus_check_name(msgs[i].exchange, "exchange", true, err)) != LC_OK ||
		    (rc = lc_bus_check_name(msgs[i].routing_key, "routing_key", true, err)) != LC_OK)
			return rc;
		if (msgs[i].body == NULL && msgs[i].len > 0)
			return lc_err_set_field(err, LC_ERR_INVALID, "body", "bus: body is NULL");
		if (msgs[i].message_id != NULL &&
		    (rc = lc_bus_check_name(msgs[i].message_id, "message_id", false, err)) != LC_OK)
			return rc;
	}
	return LC_OK;
}

/* Send one message (persistent unless transient, JSON, with its id) once the socket has room. */
static lc_rc send_one(lc_bus_t *bus, const lc_bus_msg_t *m, int64_t deadline, lc_err_t *err)
{
	amqp_basic_properties_t props;
	amqp_bytes_t body = { m->len, (void *)m->body };
	int st;

	memset(&props, 0, sizeof(props));
	props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
	props.content_type = amqp_cstring_bytes("application/json");
	props.delivery_mode = m->transient ? AMQP_DELIVERY_NONPERSISTENT : AMQP_DELIVERY_PERSISTENT;
	if (m->message_id != NULL) {
		props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
		props.message_id = amqp_cstring_bytes(m->message_id);
	}
	if (!wait_writable(bus, deadline)) {
		lc_bus_teardown(bus, "broker stopped reading");
		return lc_err_set(err, LC_ERR_UNAVAILABLE,
				  "bus: publish: broker stopped reading for %d ms",
				  LC_BUS_CONFIRM_TIMEOUT_MS);
	}
	st = amqp_basic_publish(bus->conn, LC_BUS_CHANNEL, amqp_cstring_bytes(m->exchange),
				amqp_cstring_bytes(m->routing_key), 0, 0, &props, body);
	if (st != AMQP_STATUS_OK) {
		lc_bus_teardown(bus, amqp_error_string2(st));
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: publish: %s",
				  amqp_error_string2(st));
	}
	bus->next_seq++;
	return LC_OK;
}

lc_rc lc_bus_send(lc_bus_t *bus, const lc_bus_msg_t *msgs, size_t n, lc_bus_sent_t **out,
		  lc_err_t *err)
{
	lc_bus_sent_t *s = NULL;
	int64_t deadline;
	size_t i;
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	LC_ASSERT(out != NULL);
	*out = NULL;
	if ((rc = check_msgs(msgs, n, err)) != LC_OK)
		return rc;
	if ((rc = lc_bus_prepare(bus, 0, err)) != LC_OK)
		return rc;
	s = lc_calloc(1, sizeof(*s));
	s->magic = LC_BUS_SENT_MAGIC;
	s->bus = bus;
	s->gen = bus->gen;
	s->first = bus->next_seq;
	s->n = n;
	s->done = lc_calloc(n, sizeof(bool));
	TAILQ_INSERT_TAIL(&bus->sent, s, link);
	deadline = lc_mono_ms() + LC_BUS_CONFIRM_TIMEOUT_MS;
	for (i = 0; i < n; i++) {
		if ((rc = send_one(bus, &msgs[i], deadline, err)) != LC_OK)
			goto fail;
		/* Read confirms now and then so neither side's socket buffer fills up. */
		if ((i + 1) % LC_BUS_DRAIN_EVERY == 0 &&
		    (rc = lc_bus_drain_input(bus, "bus: publish", err)) != LC_OK)
			goto fail;
		if (bus->conn == NULL || s->gen != bus->gen) {
			rc = lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: publish: connection lost");
			goto fail;
		}
	}
	s->deadline = lc_mono_ms() + LC_BUS_CONFIRM_TIMEOUT_MS;
	*out = s;
	return LC_OK;
fail:
	lc_bus_sent_free(&s);
	return rc;
}

lc_rc lc_bus_sent_check(lc_bus_t *bus, lc_bus_sent_t *s, int wait_ms, int wake_fd,
			lc_err_t *err)
{
	int64_t until = lc_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
	bool waited = false;
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	LC_CHECK_OBJ(s, LC_BUS_SENT_MAGIC);
	LC_ASSERT(s->bus == bus);
	for (;;) {
		int64_t now;

		rc = LC_OK;
		if (s->ndone < s->n && bus->conn != NULL && bus->chan_open && s->gen == bus->gen)
			rc = lc_bus_drain_input(bus, "bus: publish", err);
		/* Confirms read count, whatever happened to the channel after them. */
		if (s->ndone == s->n) {
			if (s->nacked > 0)
				return lc_err_set(err, LC_ERR_UNAVAILABLE,
						  "bus: broker rejected %zu of %zu messages",
						  s->nacked, s->n);
			return LC_OK;
		}
		if (rc != LC_OK)
			return rc;
		if (bus->conn == NULL || !bus->chan_open || s->gen != bus->gen)
			return lc_err_set(err, LC_ERR_UNAVAILABLE,
					  "bus: publish: the channel closed before the broker confirmed "
					  "%zu of %zu messages", s->n - s->ndone, s->n);
		now = lc_mono_ms();
		if (now >= s->deadline) {
			/* Confirms could still come later, on a connection whose sequence numbers
			 * we no longer track: start afresh. */
			lc_bus_teardown(bus, "publisher confirm timed out");
			return lc_err_set(err, LC_ERR_UNAVAILABLE,
					  "bus: broker did not confirm %zu of %zu messages in %d ms",
					  s->n - s->ndone, s->n, LC_BUS_CONFIRM_TIMEOUT_MS);
		}
		if (waited || now >= until)
			return LC_ERR_TIMEOUT;
		lc_bus_wait(&bus, 1, wake_fd, (int)((until < s->deadline ? until : s->deadline) - now));
		waited = true;
	}
}

lc_rc lc_bus_publish_batch(lc_bus_t *bus, const lc_bus_msg_t *msgs, size_t n, lc_err_t *err)
{
	lc_bus_sent_t *s;
	lc_rc rc;

	LC_CHECK_OBJ(bus, LC_BUS_MAGIC);
	if (n == 0)
		return LC_OK;
	if ((rc = lc_bus_send(bus, msgs, n, &s, err)) != LC_OK)
		return rc;
	while ((rc = lc_bus_sent_check(bus, s, LC_BUS_CONFIRM_TIMEOUT_MS, -1, err)) ==
	       LC_ERR_TIMEOUT)
		;
	lc_bus_sent_free(&s);
	return rc;
}

lc_rc lc_bus_publish(lc_bus_t *bus, const char *exchange, const char *routing_key,
		     const char *body, size_t len, const char *message_id, lc_err_t *err)
{
	lc_bus_msg_t m = { exchange, routing_key, body, len, message_id, false };

	return lc_bus_publish_batch(bus, &m, 1, err);
}
