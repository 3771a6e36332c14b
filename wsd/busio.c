/* SPDX-License-Identifier: MIT */
/* wsd_busio, the consumer side and the bus's life (see busio.h): wsd_busio_new/start/free; the
 * consumer thread, which declares the topology, consumes the shared inbound queue and this
 * node's queue on two connections of its own and hands deliveries up through wsd_busio_ops_t;
 * and the binds, unbinds, acks and rejects other threads queue for it (cmdq). The publisher
 * thread is in busio_pub.c. */
#include "config.h"
#include "busio_priv.h"
#include "lc_alloc.h"
#include "lc_log.h"
#include "lc_names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define INBOUND_PREFETCH 256
#define NODE_PREFETCH 1000
#define ACK_BATCH_MAX 256       /* acks settled with one lc_bus_ack_batch */
#define IDLE_WAIT_MS 20         /* the idle consumer looks at its declarations this often */

enum cmd_kind { CMD_BIND, CMD_UNBIND, CMD_ACK, CMD_REJECT, CMD_REQUEUE, CMD_CLAIM, CMD_GIVE_BACK };

/* One per bind, unbind, ack, reject: from any thread to the consumer (cmdq). */
typedef struct cmd {
	lc_mq_item_t item;
	enum cmd_kind kind;
	char *exchange, *key;
	lc_bus_delivery_t *d;
	wsd_fn done;
	void *arg;
	bool *held;                     /* CMD_CLAIM: set before done is posted */
} cmd_t;

/* ---- commands from other threads to the consumer */

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0) {
		LC_ERROR("eventfd: %s", strerror(errno));
		abort();
	}
	return fd;
}

/* lc_mq's wake-up of cmdq, on the pushing thread: the consumer may be in idle_wait. */
static void cmd_wake(void *arg)
{
	wsd_busio_t *b = arg;
	uint64_t one = 1;
	while (write(b->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

static void cmd_push(wsd_busio_t *b, cmd_t *c)
{
	lc_mq_push(b->cmdq, &c->item);
}

void wsd_busio_bind(wsd_busio_t *b, const char *exchange, const char *key, wsd_fn done,
		    void *arg)
{
	cmd_t *c = lc_calloc(1, sizeof *c);
	c->kind = CMD_BIND;
	c->exchange = lc_strdup(exchange);
	c->key = lc_strdup(key);
	c->done = done;
	c->arg = arg;
	cmd_push(b, c);
}

void wsd_busio_unbind(wsd_busio_t *b, const char *exchange, const char *key)
{
	cmd_t *c = lc_calloc(1, sizeof *c);
	c->kind = CMD_UNBIND;
	c->exchange = lc_strdup(exchange);
	c->key = lc_strdup(key);
	cmd_push(b, c);
}

void wsd_busio_ack(wsd_busio_t *b, lc_bus_delivery_t *d)
{
	cmd_t *c = lc_calloc(1, sizeof *c);
	c->kind = CMD_ACK;
	c->d = d;
	cmd_push(b, c);
}

void wsd_busio_reject(wsd_busio_t *b, lc_bus_delivery_t *d, bool requeue)
{
	cmd_t *c = lc_calloc(1, sizeof *c);
	c->kind = requeue ? CMD_REQUEUE : CMD_REJECT;
	c->d = d;
	cmd_push(b, c);
}

void wsd_busio_lease(wsd_busio_t *b, const char *queue, bool claim, bool *held, wsd_fn done,
		     void *arg)
{
	cmd_t *c = lc_calloc(1, sizeof *c);
	c->kind = claim ? CMD_CLAIM : CMD_GIVE_BACK;
	c->key = lc_strdup(queue);
	c->held = held;
	c->done = done;
	c->arg = arg;
	cmd_push(b, c);
}

lc_rc wsd_busio_lease_probe(wsd_busio_t *b, const char *queue, lc_err_t *err)
{
	lc_bus_t *bus = lc_bus_new_tls(b->url, &b->tls, err);
	if (bus == NULL)
		return LC_ERR_UNAVAILABLE;
	uint32_t msgs, cons;
	lc_rc rc = lc_bus_queue_counts(bus, queue, &msgs, &cons, err);
	lc_bus_free(&bus);
	if (rc == LC_ERR_NOT_FOUND)
		return LC_OK;
	if (rc == LC_OK) {
		/* Not exclusive: somebody declared it by hand; it holds nobody's lease. */
		LC_WARN("%s exists but is not exclusive: taken as free", queue);
		return LC_OK;
	}
	return rc;
}

void wsd_busio_ack_when_confirmed(wsd_t *w, void *arg, bool ok)
{
	lc_bus_delivery_t *d;
	LC_CAST_OBJ(d, arg, LC_BUS_DELIVERY_MAGIC);
	if (ok)
		wsd_busio_ack(w->bus, d);
	else
		lc_bus_delivery_free(&d);   /* not acked: the broker redelivers it */
}

bool wsd_busio_linked(wsd_busio_t *b)
{
	return atomic_load(&b->linked);
}

bool wsd_busio_ready(wsd_busio_t *b)
{
	return atomic_load(&b->ready);
}

static void cmd_free(cmd_t *c)
{
	free(c->exchange);
	free(c->key);
	lc_bus_delivery_free(&c->d);
	free(c);
}

/* ---- the consumer thread */

static lc_rc declare_all(wsd_busio_t *b, lc_bus_t *bus, lc_err_t *err)
{
	wsd_t *w = b->w;
	lc_rc rc;
	if ((rc = lc_bus_declare_exchange(bus, w->ex_inbound, "topic", true, err)) != LC_OK ||
	    (rc = lc_bus_declare_exchange(bus, w->ex_outbound, "topic", true, err)) != LC_OK ||
	    (rc = lc_bus_declare_exchange(bus, w->ex_nodes, "topic", true, err)) != LC_OK ||
	    (rc = lc_bus_declare_queue(bus, w->q_node, false, true, true, err)) != LC_OK ||
	    (rc = lc_bus_bind(bus, w->q_node, w->ex_nodes, LC_NAMES_BROADCAST_ALL, err)) != LC_OK ||
	    (rc = lc_bus_bind(bus, w->q_node, w->ex_nodes, b->answer_key, err)) != LC_OK ||
	    (rc = lc_bus_consume(bus, w->q_node, NODE_PREFETCH, err)) != LC_OK)
		return rc;
	return LC_OK;
}

/* The inbound queue has one active consumer in the whole cluster at a time, so the messages of
 * a customer are stored in the order the gateway published them (competing consumers would
 * store two quick messages in either order). Every node consumes it, on a connection of its
 * own; RabbitMQ's x-single-active-consumer delivers to one of them, and when that one's channel
 * closes (the node died, or lost its connection) its unacked messages go back to the queue in
 * order and the broker picks the next consumer. The bus re-declares and re-consumes by itself
 * after a reconnect. A queue left by an older version without the argument is refused (406):
 * see docs/gateway.md, "Upgrading". */
static lc_rc inbound_declare(wsd_busio_t *b, lc_err_t *err)
{
	static const lc_bus_arg_t sac[] = {
		{ .key = "x-single-active-consumer", .type = LC_BUS_ARG_BOOL, .b = true }
	};
	wsd_t *w = b->w;
	lc_rc rc;
	if ((rc = lc_bus_declare_exchange(b->inbound, w->ex_inbound, "topic", true, err)) != LC_OK ||
	    (rc = lc_bus_declare_queue_args(b->inbound, w->q_inbound, true, false, false, sac, 1,
					    err)) != LC_OK ||
	    (rc = lc_bus_bind(b->inbound, w->q_inbound, w->ex_inbound, LC_NAMES_INBOUND_ALL,
			      err)) != LC_OK ||
	    (rc = lc_bus_consume(b->inbound, w->q_inbound, INBOUND_PREFETCH, err)) != LC_OK)
		return rc;
	return LC_OK;
}

static void inbound_try_declare(wsd_busio_t *b)
{
	lc_err_t err;
	lc_err_clear(&err);
	if (lc_mono_ms() < b->inbound_next)
		return;
	lc_rc rc = inbound_declare(b, &err);
	if (rc == LC_OK) {
		b->inbound_declared = true;
		LC_INFO("node %s consumes the inbound queue %s (single active consumer)",
			b->w->node_id, b->w->q_inbound);
		return;
	}
	if (rc == LC_ERR_CONFLICT) {
		LC_ERROR("the inbound queue %s exists with other arguments (an older livechat?): "
			 "it must be drained and deleted, see docs/gateway.md \"Upgrading\": %s",
			 b->w->q_inbound, err.reason);
		b->inbound_next = lc_mono_ms() + 10000;
	} else {
		b->inbound_next = lc_mono_ms() + 500;
	}
}

/* The acks gathered by one run_cmds: one lc_bus_ack_batch (a single frame with multiple=true
 * where they are the oldest unacked deliveries, as they mostly are: the publisher confirms in
 * order). */
static void acks_flush(wsd_busio_t *b, cmd_t **acks, size_t *n)
{
	const lc_bus_delivery_t *ds[ACK_BATCH_MAX];
	lc_err_t err;
	for (size_t i = 0; i < *n; i++)
		ds[i] = acks[i]->d;
	lc_err_clear(&err);
	/* A broken connection is noticed by the next poll; the broker requeues what it held. */
	if (*n > 0 && lc_bus_ack_batch(b->inbound, ds, *n, &err) != LC_OK)
		LC_DEBUG("consumer: acks: %s", err.reason);
	for (size_t i = 0; i < *n; i++)
		cmd_free(acks[i]);
	*n = 0;
}

/* Run queued commands; a bind/unbind that fails stays at the head and is retried later. */
static void run_cmds(wsd_busio_t *b, lc_bus_t *bus)
{
	lc_err_t err;
	cmd_t *acks[ACK_BATCH_MAX];
	size_t nacks = 0;
	for (;;) {
		struct lc_mq_list one = STAILQ_HEAD_INITIALIZER(one);
		if (lc_mq_take(b->cmdq, &one, 1, false) == 0)
			break;
		cmd_t *c = LC_MQ_ENTRY(STAILQ_FIRST(&one), cmd_t, item);
		if (c->kind == CMD_ACK) {
			acks[nacks++] = c;
			if (nacks == ACK_BATCH_MAX)
				acks_flush(b, acks, &nacks);
			continue;
		}
		lc_rc rc = LC_OK;
		lc_err_clear(&err);
		switch (c->kind) {
		case CMD_BIND:
			rc = lc_bus_bind(bus, b->w->q_node, c->exchange, c->key, &err);
			break;
		case CMD_UNBIND:
			rc = lc_bus_unbind(bus, b->w->q_node, c->exchange, c->key, &err);
			break;
		case CMD_CLAIM:
			/* Not retried: the loop asks again when it still wants it. */
			*c->held = lc_bus_claim_queue(bus, c->key, &err) == LC_OK;
			if (!*c->held)
				LC_INFO("consumer: lease %s not taken: %s", c->key, err.reason);
			wsd_post(b->w, c->done, c->arg);
			cmd_free(c);
			continue;
		case CMD_GIVE_BACK:
			/* Not retried either: a lost connection gave it back; another node's
			 * lease is refused on the lease channel and stays its. */
			if (lc_bus_release_queue(bus, c->key, &err) != LC_OK)
				LC_DEBUG("consumer: lease %s: %s", c->key, err.reason);
			cmd_free(c);
			continue;
		case CMD_ACK:   /* gathered above */
		case CMD_REJECT:
		case CMD_REQUEUE:
			/* One from an earlier channel is ignored by lc_bus: the broker requeued it. */
			lc_bus_nack(b->inbound, c->d, c->kind == CMD_REQUEUE, &err);
			break;
		}
		if (rc == LC_ERR_UNAVAILABLE && !atomic_load(&b->stop)) {
			/* Put it back first and try again after the next poll. */
			lc_mq_push_front(b->cmdq, &c->item);
			LC_WARN("consumer: %s (retrying)", err.reason);
			break;
		}
		if (rc != LC_OK)
			LC_WARN("consumer: bind/unbind %s: %s", c->key, err.reason);
		if (c->kind == CMD_BIND && c->done)
			wsd_post(b->w, c->done, c->arg);
		cmd_free(c);
	}
	acks_flush(b, acks, &nacks);
}

/* Log a lost connection once, and its return once, instead of on every poll. */
static void note_link(const char *what, bool *down, lc_rc rc, const lc_err_t *err)
{
	if (rc != LC_OK && rc != LC_ERR_TIMEOUT && !*down) {
		*down = true;
		LC_WARN("consumer: %s: %s", what, err->reason);
	} else if (rc == LC_OK && *down) {
		*down = false;
		LC_INFO("consumer: %s: connected again", what);
	}
}

/* A new connection for the node queue (the broker restarted, or the link broke): the queue and
 * its bindings are back (lc_bus replayed them), but what was published while they were gone is
 * lost. The loop re-reads it from MongoDB (wsd_room_bus_ready). */
static void node_queue_back(wsd_busio_t *b, uint64_t gen)
{
	b->node_gen = gen;
	LC_INFO("node %s: node queue re-declared (generation %llu)", b->w->node_id,
		(unsigned long long)gen);
	wsd_post(b->w, b->ops->ready, NULL);
}

/* Nothing came on either connection: sleep until something does on either (or a command is
 * queued), not on one after the other: a delivery on one connection does not wait for the other's
 * poll to time out. While the publisher is full the inbound connection is not watched: its
 * deliveries stay in the broker (see con_main). After a failed poll (a connection being
 * reopened) only a command ends the wait early, so a failing reconnection is not retried in a
 * busy loop. */
static void idle_wait(wsd_busio_t *b, lc_bus_t *bus, bool with_inbound, bool failed)
{
	lc_bus_t *const buses[] = { bus, with_inbound ? b->inbound : NULL };
	if (lc_mq_length(b->cmdq) == 0)
		lc_bus_wait(buses, failed ? 0 : 2, b->wake_fd, IDLE_WAIT_MS);
	uint64_t n;
	while (read(b->wake_fd, &n, sizeof n) < 0 && errno == EINTR)
		;
}

static void *con_main(void *arg)
{
	wsd_busio_t *b = arg;
	wsd_t *w = b->w;
	wsd_thread_set(WSD_THREAD_CONSUMER, "wsd-consumer");
	lc_err_t err;
	lc_bus_t *bus = lc_bus_new_tls(b->url, &b->tls, &err);
	b->inbound = bus ? lc_bus_new_tls(b->url, &b->tls, &err) : NULL;
	if (bus == NULL || b->inbound == NULL) {
		LC_ERROR("consumer: %s", err.reason);
		lc_bus_free(&bus);
		return NULL;
	}
	lc_bus_set_backoff(bus, 100, 2000);
	lc_bus_set_backoff(b->inbound, 100, 2000);
	bool node_down = false, inbound_down = false;
	while (!atomic_load(&b->stop)) {
		atomic_store(&b->linked, lc_bus_is_connected(bus) && atomic_load(&b->ready));
		if (!atomic_load(&b->ready)) {
			lc_err_clear(&err);
			if (declare_all(b, bus, &err) != LC_OK) {
				note_link("cannot declare the topology", &node_down, LC_ERR_UNAVAILABLE, &err);
				wsd_busio_sleep_ms(200);
				continue;
			}
			b->node_gen = lc_bus_generation(bus);
			atomic_store(&b->ready, true);
			wsd_post(w, b->ops->ready, NULL);
		}
		if (!b->inbound_declared)
			inbound_try_declare(b);
		run_cmds(b, bus);
		lc_bus_delivery_t *d = NULL, seen[ACK_BATCH_MAX];
		const lc_bus_delivery_t *seenp[ACK_BATCH_MAX];
		size_t nseen = 0, ninbound = 0;
		lc_rc rc = LC_OK;
		for (int i = 0; i < ACK_BATCH_MAX; i++) {
			d = NULL;
			lc_err_clear(&err);
			rc = lc_bus_poll(bus, 0, &d, &err);
			if (rc != LC_OK)
				break;
			/* The first event of a new connection goes after the news of it, so the loop
			 * starts its catch-up (catchup.c) before it delivers anything live. */
			if (d->gen != b->node_gen)
				node_queue_back(b, d->gen);
			/* Node events are not kept: losing one when this node dies is harmless, the
			 * state they describe is in MongoDB. Acked together after the loop (d goes
			 * away with its receiver: its tag is kept). */
			seen[nseen] = (lc_bus_delivery_t){ .magic = LC_BUS_DELIVERY_MAGIC,
							   .tag = d->tag, .gen = d->gen };
			seenp[nseen] = &seen[nseen];
			nseen++;
			/* A room writer's answer wakes its sender here, not through the loop: a
			 * worker may be waiting for it. */
			if (d->routing_key && strcmp(d->routing_key, b->answer_key) == 0)
				b->ops->answer(w, d);
			else
				wsd_post(w, b->ops->node_event, d);
		}
		if (nseen > 0) {
			lc_err_t aerr;
			if (lc_bus_ack_batch(bus, seenp, nseen, &aerr) != LC_OK)
				LC_DEBUG("consumer: node queue acks: %s", aerr.reason);
		}
		note_link("node queue", &node_down, rc == LC_ERR_TIMEOUT ? LC_OK : rc, &err);
		if (rc != LC_OK && rc != LC_ERR_TIMEOUT)
			wsd_busio_sleep_ms(50);
		if (lc_bus_is_connected(bus) && lc_bus_generation(bus) != b->node_gen)
			node_queue_back(b, lc_bus_generation(bus));
		/* While the publisher is full, inbound deliveries stay in the broker (unacked ones
		 * already here wait in this bus): each would need publishes. */
		bool failed = rc != LC_OK && rc != LC_ERR_TIMEOUT;
		bool take_inbound = b->inbound_declared && !wsd_busio_full(b);
		for (; take_inbound && ninbound < 64; ninbound++) {
			d = NULL;
			lc_err_clear(&err);
			rc = lc_bus_poll(b->inbound, 0, &d, &err);
			if (rc != LC_OK)
				break;
			b->ops->inbound(w, d);
		}
		if (take_inbound) {
			/* A lost or new inbound connection ends this node's turn as the active
			 * consumer. */
			b->ops->inbound_gen(w, lc_bus_is_connected(b->inbound)
						   ? lc_bus_generation(b->inbound) : 0);
			note_link("inbound queue", &inbound_down,
				  rc == LC_ERR_TIMEOUT ? LC_OK : rc, &err);
			failed = failed || (rc != LC_OK && rc != LC_ERR_TIMEOUT);
		}
		if (nseen == 0 && ninbound == 0)
			idle_wait(b, bus, take_inbound, failed);
	}
	run_cmds(b, bus);
	lc_bus_free(&b->inbound);
	lc_bus_free(&bus);
	return NULL;
}

/* ---- the bus's life (main.c) */

wsd_busio_t *wsd_busio_new(wsd_t *w, const char *url, const wsd_busio_ops_t *ops, lc_err_t *err)
{
	LC_ASSERT(ops && ops->ready && ops->node_event && ops->answer && ops->inbound);
	lc_bus_tls_t tls;
	lc_bus_tls_from_config(w->cfg, &tls);
	/* Validate the URL and TLS files now so a typo stops start-up. */
	lc_bus_t *probe = lc_bus_new_tls(url, &tls, err);
	if (probe == NULL)
		return NULL;
	lc_bus_free(&probe);
	wsd_busio_t *b = lc_calloc(1, sizeof *b);
	b->w = w;
	b->tls = tls;
	b->pub_max = (size_t)lc_config_int(w->cfg, "wsd_publish_queue_max");
	b->ops = ops;
	b->url = lc_strdup(url);
	b->answer_key = lc_names_node_key(w->node_id);
	for (int l = 0; l < WSD_LANES; l++) {
		wsd_pub_lane_t *lane = &b->lanes[l];
		lane->b = b;
		lane->q = lc_mq_new(wsd_busio_lane_wake, lane);
		lane->publish_lat = l == WSD_LANE_STORED ? &b->publish_lat : &b->ephemeral_lat;
		lane->confirm_lat = l == WSD_LANE_STORED ? &b->confirm_lat : NULL;
		lane->transient = l == WSD_LANE_EPHEMERAL;
		lane->wake_fd = new_eventfd();
	}
	b->wake_fd = new_eventfd();
	b->cmdq = lc_mq_new(cmd_wake, b);
	return b;
}

void wsd_busio_start(wsd_busio_t *b)
{
	if (pthread_create(&b->lanes[WSD_LANE_STORED].tid, NULL, wsd_busio_pub_main,
			   &b->lanes[WSD_LANE_STORED]) != 0 ||
	    pthread_create(&b->lanes[WSD_LANE_EPHEMERAL].tid, NULL, wsd_busio_pub_main,
			   &b->lanes[WSD_LANE_EPHEMERAL]) != 0 ||
	    pthread_create(&b->con_tid, NULL, con_main, b) != 0) {
		LC_ERROR("cannot start the RabbitMQ threads");
		abort();
	}
	b->started = true;
}

void wsd_busio_free(wsd_busio_t **pb)
{
	if (pb == NULL || *pb == NULL)
		return;
	wsd_busio_t *b = *pb;
	atomic_store(&b->stop, true);
	for (int l = 0; l < WSD_LANES; l++)
		lc_mq_stop(b->lanes[l].q);
	if (b->started) {
		for (int l = 0; l < WSD_LANES; l++)
			pthread_join(b->lanes[l].tid, NULL);
		pthread_join(b->con_tid, NULL);
	}
	wsd_busio_pub_drain(b);
	struct lc_mq_list left = STAILQ_HEAD_INITIALIZER(left);
	lc_mq_take(b->cmdq, &left, SIZE_MAX, false);
	while (!STAILQ_EMPTY(&left)) {
		cmd_t *c = LC_MQ_ENTRY(STAILQ_FIRST(&left), cmd_t, item);
		STAILQ_REMOVE_HEAD(&left, link);
		cmd_free(c);
	}
	for (int l = 0; l < WSD_LANES; l++) {
		lc_mq_free(&b->lanes[l].q);
		close(b->lanes[l].wake_fd);
	}
	lc_mq_free(&b->cmdq);
	close(b->wake_fd);
	free(b->url);
	free(b->answer_key);
	free(b);
	*pb = NULL;
}
