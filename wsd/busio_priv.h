/* SPDX-License-Identifier: MIT */
/* wsd_busio, inside: the state its two threads share, for busio.c (the bus's life and the
 * consumer thread) and busio_pub.c (the publisher thread). Not for other modules: they use
 * busio.h. */
#ifndef WSD_BUSIO_PRIV_H
#define WSD_BUSIO_PRIV_H

#include "busio.h"
#include "lc_mq.h"

#include <stdatomic.h>
#include <time.h>

/* The publisher lanes: what is stored (or must follow what is) goes in order through the
 * first; frames stored nowhere (an agent's typing) through a second, with its own connection
 * and thread, so that they do not wait behind the first's batches and their confirms. The
 * second publishes them transient: their confirms do not wait for the broker's disk either. */
enum { WSD_LANE_STORED, WSD_LANE_EPHEMERAL, WSD_LANES };

typedef struct wsd_pub_lane {
	wsd_busio_t *b;
	lc_mq_t *q;                     /* its thread sleeps on it */
	pthread_t tid;
	wsd_hist_t *publish_lat;        /* queued -> confirmed, per message (the bus's, below) */
	wsd_hist_t *confirm_lat;        /* per batch; NULL: not measured */
	bool transient;                 /* its messages are (lc_bus_msg_t.transient) */
	/* eventfd: a publish was queued while the thread waited for confirms with room for more
	 * batches (it sets sleeping; a push that finds it set clears it and writes the fd). */
	int wake_fd;
	atomic_bool sleeping;
} wsd_pub_lane_t;

/* One bus per daemon, created by wsd_busio_new (main.c) and freed after its threads ended. */
struct wsd_busio {
	wsd_t *w;
	const wsd_busio_ops_t *ops;     /* the layer above: where deliveries go */
	char *url;
	lc_bus_tls_t tls;               /* amqps:// settings, borrowed from w->cfg */
	pthread_t con_tid;
	bool started;
	atomic_bool stop, ready;
	atomic_bool linked;             /* the consumer's node connection is up (wsd_busio_linked) */

	wsd_pub_lane_t lanes[WSD_LANES];
	/* Messages handed to wsd_busio_publish and not yet confirmed or given up (queued, or in
	 * the batch being published). At pub_max the node refuses new work that would publish
	 * (wsd_busio_full) until half of them went out; what is queued is never dropped. */
	atomic_size_t unpublished;
	size_t pub_max;
	atomic_bool full;
	lc_mq_t *cmdq;                  /* taken by the consumer between its polls of the broker */
	int wake_fd;                    /* eventfd: a command was queued (wakes the idle consumer) */
	wsd_hist_t publish_lat;         /* queued -> confirmed, per message (publisher thread) */
	wsd_hist_t confirm_lat;         /* a batch: sent -> all of it confirmed */
	wsd_hist_t ephemeral_lat;       /* the same as publish_lat, on the ephemeral lane */

	/* consumer thread only: the connection that consumes the shared inbound queue (see
	 * inbound_declare), and whether its declarations went through */
	lc_bus_t *inbound;
	bool inbound_declared;
	int64_t inbound_next;
	uint64_t node_gen;              /* generation of the node connection last seen */
	char *answer_key;               /* node.<node_id>: the room writer's answers (roomcmd.h) */
};

static inline void wsd_busio_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* lc_mq's wake-up of a lane's queue (busio_pub.c; arg: the lane), on the pushing thread. */
void wsd_busio_lane_wake(void *lane);
/* A publisher lane's thread body (busio_pub.c; arg: the lane), started by wsd_busio_start. */
void *wsd_busio_pub_main(void *arg);
/* After the threads ended: what the publishers did not take is given up (done(false)). */
void wsd_busio_pub_drain(wsd_busio_t *b);

#endif
