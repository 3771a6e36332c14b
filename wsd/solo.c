/* SPDX-License-Identifier: MIT */
/* wsd_solo: a node alone in its installation delivers its room events in process instead of
 * through RabbitMQ (docs/topology.md, "A node alone"). It is alone while it holds the lease, the
 * exclusive queue <prefix>.solo claimed on its node queue's connection (on a channel of its own);
 * every node that gets ready (at start, on a new connection) or hears that another was alone
 * announces itself, holds its rooms' live messages, waits until nobody holds the lease and only
 * then catches up (catchup.c). The node alone gives the lease back, and publishes again, as soon
 * as it hears another node. Loop thread only, except the lease probe (a worker). */
#include "config.h"
#include "room_priv.h"

#include "busio.h"
#include "worker.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_names.h"
#include "lc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No other node heard for this long (presence comes every 5 s): try to be alone. */
#define SOLO_QUIET_MS 6000
/* While another node holds the lease the loop's tick (each second) asks again; after an ask
 * that failed, not before this. */
#define JOIN_RETRY_MS 2000
#define JOIN_WARN_MS 5000
/* A lease held this long after this node announced itself: its holder does not hear it (stuck,
 * or cut off without its connection closed yet). Catch up anyway; its presence, which says
 * "solo" for as long as it is alone, brings another catch-up once it hears this node. */
#define JOIN_MAX_MS 20000

typedef struct probe_job {
	uint64_t join_gen;
	lc_rc rc;
	lc_err_t err;
} probe_job_t;

bool wsd_solo_on(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	return w->rooms != NULL && w->rooms->solo.state == WSD_SOLO_ON && wsd_busio_linked(w->bus);
}

/* A room event of a node alone: to its followers here; an ack waits for whatever was
 * published before it (an offer, a request_waiting of the same delivery) to be confirmed. */
static void deliver(wsd_t *w, json_object *obj, wsd_pub_done_fn done, void *arg)
{
	w->rooms->solo.events++;
	wsd_room_event_local(w, obj, lc_json_get_str(obj, "type", ""));
	if (done == NULL)
		return;
	if (wsd_busio_queued(w->bus) == 0)
		done(w, arg, true);
	else   /* once everything queued before it is confirmed (one publisher lane, in order) */
		wsd_busio_after_queued(w->bus, done, arg);
}

bool wsd_solo_take(wsd_t *w, const char *room_id, const char *agent_id, json_object *obj,
		   wsd_pub_done_fn done, void *arg)
{
	if (!wsd_on_loop(w) || w->rooms == NULL)
		return false;
	wsd_solo_t *s = &w->rooms->solo;
	if (s->state == WSD_SOLO_ON && wsd_busio_linked(w->bus)) {
		deliver(w, obj, done, arg);
		return true;
	}
	if (s->state != WSD_SOLO_PROBING)
		return false;
	/* Neither published (it would come back behind the probe and be overtaken once alone)
	 * nor delivered (another node may be there): held until the probe says which. */
	wsd_solo_held_t *h = lc_calloc(1, sizeof *h);
	h->room_id = lc_strdup(room_id);
	h->agent_id = agent_id ? lc_strdup(agent_id) : NULL;
	h->obj = json_object_get(obj);
	h->done = done;
	h->arg = arg;
	*s->held_tail = h;
	s->held_tail = &h->next;
	return true;
}

/* What waited while probing, in order: delivered here (alone) or published. */
static void release_held(wsd_t *w, bool alone)
{
	wsd_solo_t *s = &w->rooms->solo;
	wsd_solo_held_t *h = s->held;
	s->held = NULL;
	s->held_tail = &s->held;
	while (h != NULL) {
		wsd_solo_held_t *next = h->next;
		if (alone) {
			deliver(w, h->obj, h->done, h->arg);
		} else {
			char *key = lc_names_room_key(h->room_id, h->agent_id);
			wsd_busio_publish_json(w->bus, w->ex_nodes, key, h->obj, h->done, h->arg);
			free(key);
		}
		json_object_put(h->obj);
		free(h->room_id);
		free(h->agent_id);
		free(h);
		h = next;
	}
}

/* Publish through RabbitMQ again, and give the lease back: on this connection it frees it; one
 * that went with an old connection is gone already, and another node's stays its (refused on
 * the lease channel, nothing else touched). A claim still on its way is given back by its
 * answer (claimed). */
static void leave(wsd_t *w, const char *why)
{
	wsd_solo_t *s = &w->rooms->solo;
	if (s->state == WSD_SOLO_OFF)
		return;
	if (s->state == WSD_SOLO_ON) {
		LC_INFO("node %s: not alone any more (%s): room events through RabbitMQ again",
			w->node_id, why);
		s->was_alone = true;
	}
	if (s->state != WSD_SOLO_CLAIMING)
		wsd_busio_lease(w->bus, w->q_solo, false, NULL, NULL, NULL);
	s->state = WSD_SOLO_OFF;
	release_held(w, false);
}

static void claimed(wsd_t *w, void *arg)
{
	(void)arg;
	if (w->stop)
		return;
	wsd_solo_t *s = &w->rooms->solo;
	s->claim_out = false;
	if (s->state != WSD_SOLO_CLAIMING) {
		if (s->held_ok)   /* not wanted any more: another node, or a new connection */
			wsd_busio_lease(w->bus, w->q_solo, false, NULL, NULL, NULL);
		return;
	}
	if (!s->held_ok) {
		s->state = WSD_SOLO_OFF;
		s->others_heard = lc_mono_ms();   /* someone holds it: wait again */
		return;
	}
	/* Held. Alone once this node's own presence, published now, comes back with nothing from
	 * another node before it: a node that started before the claim announced itself before
	 * looking at the lease, so its presence is in this node's queue ahead of this one. */
	s->state = WSD_SOLO_PROBING;
	s->probe++;
	wsd_room_presence_publish(w, false);
}

void wsd_solo_presence(wsd_t *w, json_object *o)
{
	wsd_solo_t *s = &w->rooms->solo;
	if (s->state == WSD_SOLO_ON || s->was_alone)
		json_object_object_add(o, "solo", json_object_new_boolean(true));
	if (s->state == WSD_SOLO_PROBING)
		json_object_object_add(o, "solo_probe", json_object_new_int64((int64_t)s->probe));
	/* Once said after leaving, the others that hear it catch up. */
	if (s->state != WSD_SOLO_ON)
		s->was_alone = false;
}

static void probe_run(wsd_t *w, void *arg)
{
	probe_job_t *j = arg;
	j->rc = wsd_busio_lease_probe(w->bus, w->q_solo, &j->err);
}

static void join_end(wsd_t *w, const char *why)
{
	wsd_solo_t *s = &w->rooms->solo;
	s->joining = false;
	LC_DEBUG("node %s: joined (%s)", w->node_id, why);
	/* Whatever a node alone stored before it heard this one is in MongoDB now. */
	wsd_room_catchup(w);
}

static void probe_done(wsd_t *w, void *arg)
{
	probe_job_t *j = arg;
	if (w->stop)
		goto out;
	wsd_solo_t *s = &w->rooms->solo;
	int64_t now = lc_mono_ms();
	s->probing = false;
	if (!s->joining || j->join_gen != s->join_gen)
		goto out;   /* the answer of an earlier join: this one asks for itself */
	if (j->rc == LC_OK) {
		join_end(w, "the lease is free");
		goto out;
	}
	if (now - s->join_started >= JOIN_MAX_MS) {
		LC_WARN("node %s: %s still held after %d s: catching up without waiting more",
			w->node_id, w->q_solo, JOIN_MAX_MS / 1000);
		join_end(w, "waited long enough");
		goto out;
	}
	if (j->rc == LC_ERR_CONFLICT) {
		s->join_at = now;   /* the next tick */
		if (now - s->join_warned >= JOIN_WARN_MS) {
			s->join_warned = now;
			LC_INFO("node %s: another node is alone (it holds %s): waiting for it to "
				"hear this one", w->node_id, w->q_solo);
		}
	} else {
		s->join_at = now + JOIN_RETRY_MS;
		LC_WARN("node %s: cannot ask RabbitMQ about %s: %s", w->node_id, w->q_solo,
			j->err.reason);
	}
out:
	free(j);
}

static void probe_submit(wsd_t *w)
{
	wsd_solo_t *s = &w->rooms->solo;
	probe_job_t *j = lc_calloc(1, sizeof *j);
	j->join_gen = s->join_gen;
	s->probing = true;
	wsd_workers_submit(w->workers, NULL, probe_run, probe_done, j);
}

typedef struct announce {
	uint64_t join_gen;
} announce_t;

static void announced(wsd_t *w, void *arg)
{
	announce_t *a = arg;
	if (!w->stop) {
		wsd_solo_t *s = &w->rooms->solo;
		if (s->joining && a->join_gen == s->join_gen && s->join_at == 0) {
			s->join_at = lc_mono_ms();
			if (!s->probing)
				probe_submit(w);
		}
	}
	free(a);
}

/* Publisher thread: this node's presence, published before, is in every node's queue. */
static void confirmed(wsd_t *w, void *arg, bool ok)
{
	if (ok)
		wsd_post(w, announced, arg);
	else
		free(arg);
}

void wsd_solo_join(wsd_t *w, const char *why)
{
	WSD_ASSERT_LOOP(w);
	wsd_solo_t *s = &w->rooms->solo;
	LC_DEBUG("node %s: joining (%s)", w->node_id, why);
	/* Live messages wait from now on behind the read that follows the lease (catchup.c; the
	 * rooms accepted or resumed meanwhile too: croom.c), so what a node alone did not publish
	 * goes out before what came after it, in seq order. */
	wsd_room_catchup_hold(w);
	s->joining = true;
	s->join_gen++;
	s->join_started = lc_mono_ms();
	s->join_at = 0;   /* set once the presence below is confirmed */
	wsd_room_presence_publish(w, false);
	/* Once the presence before it is confirmed (one publisher lane, in order): routed. */
	announce_t *a = lc_calloc(1, sizeof *a);
	a->join_gen = s->join_gen;
	wsd_busio_after_queued(w->bus, confirmed, a);
}

void wsd_solo_ready(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	wsd_solo_t *s = &w->rooms->solo;
	leave(w, "a new RabbitMQ connection");
	s->others_heard = lc_mono_ms();
	wsd_solo_join(w, "ready");
}

void wsd_solo_heard(wsd_t *w, json_object *ev, bool self)
{
	WSD_ASSERT_LOOP(w);
	wsd_solo_t *s = &w->rooms->solo;
	if (self) {
		if (s->state == WSD_SOLO_PROBING &&
		    lc_json_get_int(ev, "solo_probe", 0) == (int64_t)s->probe) {
			s->state = WSD_SOLO_ON;
			LC_INFO("node %s: alone: room events delivered in process", w->node_id);
			release_held(w, true);
		}
		return;
	}
	s->others_heard = lc_mono_ms();
	const char *node = lc_json_get_str(ev, "node", "?");
	if (s->state != WSD_SOLO_OFF) {
		char why[160];
		snprintf(why, sizeof why, "node %s", node);
		leave(w, why);
	}
	/* It did not publish its room events while this node was here: read what it stored. */
	if (lc_json_get_bool(ev, "solo", false) && !s->joining) {
		LC_INFO("node %s: node %s was alone: catching up once it has heard this one",
			w->node_id, node);
		wsd_solo_join(w, "another node was alone");
	}
}

void wsd_solo_tick(wsd_t *w, int64_t now)
{
	WSD_ASSERT_LOOP(w);
	wsd_rooms_t *R = w->rooms;
	wsd_solo_t *s = &R->solo;
	if (s->state != WSD_SOLO_OFF && !wsd_busio_linked(w->bus))
		leave(w, "RabbitMQ connection lost");
	if (s->joining && !s->probing && s->join_at != 0 && now >= s->join_at)
		probe_submit(w);
	if (s->state == WSD_SOLO_OFF && !s->claim_out && !s->joining && R->ready &&
	    wsd_busio_linked(w->bus) && wsd_room_presence_heard(w, now) && R->presence == NULL &&
	    now - s->others_heard >= SOLO_QUIET_MS) {
		s->state = WSD_SOLO_CLAIMING;
		s->claim_out = true;
		s->held_ok = false;
		wsd_busio_lease(w->bus, w->q_solo, true, &s->held_ok, claimed, NULL);
	}
}

void wsd_solo_init(wsd_t *w)
{
	wsd_solo_t *s = &w->rooms->solo;
	s->held = NULL;
	s->held_tail = &s->held;
}

void wsd_solo_free(wsd_t *w)
{
	wsd_solo_t *s = &w->rooms->solo;
	for (wsd_solo_held_t *h = s->held, *next; h != NULL; h = next) {
		next = h->next;
		if (h->done)
			h->done(w, h->arg, false);   /* not acked: the broker delivers it again */
		json_object_put(h->obj);
		free(h->room_id);
		free(h->agent_id);
		free(h);
	}
	s->held = NULL;
	s->held_tail = &s->held;
}

uint64_t wsd_solo_events(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	return w->rooms ? w->rooms->solo.events : 0;
}
