/* SPDX-License-Identifier: MIT */
/* wsd_solo: a node alone in its installation delivers its room events in process instead of
 * through RabbitMQ (docs/topology.md, "A node alone"). It is alone while it holds the lease, the
 * exclusive queue <prefix>.solo claimed on its node queue's connection; every node that gets
 * ready (at start, on a new connection) or hears that another was alone announces itself, waits
 * until nobody holds the lease and only then catches up (catchup.c). The node alone gives the
 * lease back, and publishes again, as soon as it hears another node. Loop thread only, except
 * the lease probe (a worker). */
#include "config.h"
#include "room_priv.h"

#include "busio.h"
#include "worker.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
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

typedef struct probe_job {
	lc_rc rc;
	lc_err_t err;
} probe_job_t;

bool wsd_solo_on(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	return w->rooms != NULL && w->rooms->solo.state == WSD_SOLO_ON && wsd_busio_linked(w->bus);
}

/* Publish through RabbitMQ again. give_back: the lease is still on this connection. */
static void leave(wsd_t *w, const char *why, bool give_back)
{
	wsd_solo_t *s = &w->rooms->solo;
	if (s->state == WSD_SOLO_OFF)
		return;
	if (s->state == WSD_SOLO_ON)
		LC_INFO("node %s: not alone any more (%s): room events through RabbitMQ again",
			w->node_id, why);
	/* A claim still on its way is given back by its answer (claimed). */
	if (give_back && (s->state == WSD_SOLO_PROBING || s->state == WSD_SOLO_ON))
		wsd_busio_lease(w->bus, w->q_solo, false, NULL, NULL, NULL);
	s->state = WSD_SOLO_OFF;
}

static void claimed(wsd_t *w, void *arg)
{
	(void)arg;
	if (w->stop)
		return;
	wsd_solo_t *s = &w->rooms->solo;
	if (s->state != WSD_SOLO_CLAIMING) {
		if (s->held)   /* not wanted any more: another node was heard meanwhile */
			wsd_busio_lease(w->bus, w->q_solo, false, NULL, NULL, NULL);
		return;
	}
	if (!s->held) {
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
	const wsd_solo_t *s = &w->rooms->solo;
	if (s->state == WSD_SOLO_ON)
		json_object_object_add(o, "solo", json_object_new_boolean(true));
	else if (s->state == WSD_SOLO_PROBING)
		json_object_object_add(o, "solo_probe", json_object_new_int64((int64_t)s->probe));
}

static void probe_run(wsd_t *w, void *arg)
{
	probe_job_t *j = arg;
	j->rc = wsd_busio_lease_probe(w->bus, w->q_solo, &j->err);
}

static void probe_done(wsd_t *w, void *arg)
{
	probe_job_t *j = arg;
	if (w->stop)
		goto out;
	wsd_solo_t *s = &w->rooms->solo;
	int64_t now = lc_mono_ms();
	s->probing = false;
	if (j->rc == LC_OK) {
		s->joining = false;
		/* Whatever a node alone stored before it heard this one is in MongoDB now. */
		wsd_room_catchup(w);
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

/* Publisher thread: this node's presence, published before, is in every node's queue. */
static void announced(wsd_t *w, void *arg, bool ok)
{
	(void)arg;
	if (ok)
		wsd_post(w, wsd_solo_announced, NULL);
}

static void probe_submit(wsd_t *w)
{
	w->rooms->solo.probing = true;
	wsd_workers_submit(w->workers, NULL, probe_run, probe_done,
			   lc_calloc(1, sizeof(probe_job_t)));
}

void wsd_solo_announced(wsd_t *w, void *arg)
{
	(void)arg;
	if (w->stop)
		return;
	wsd_solo_t *s = &w->rooms->solo;
	if (s->joining && s->join_at == 0) {
		s->join_at = lc_mono_ms();
		if (!s->probing)
			probe_submit(w);
	}
}

void wsd_solo_join(wsd_t *w, const char *why)
{
	WSD_ASSERT_LOOP(w);
	wsd_solo_t *s = &w->rooms->solo;
	LC_DEBUG("node %s: joining (%s)", w->node_id, why);
	/* Live messages wait from now on behind the read that follows the lease (catchup.c), so
	 * what a node alone did not publish comes before what came after it in seq order. */
	wsd_room_catchup_hold(w);
	s->joining = true;
	s->join_at = 0;   /* set once the presence below is confirmed */
	wsd_room_presence_publish(w, false);
	/* Confirmed in order (one publisher lane): the presence before it is routed too. */
	wsd_busio_publish(w->bus, w->ex_nodes, "ack.marker", lc_strdup("{}"), NULL, announced,
			  NULL);
}

void wsd_solo_ready(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	wsd_solo_t *s = &w->rooms->solo;
	leave(w, "a new RabbitMQ connection", false);   /* the lease went with the old one */
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
		}
		return;
	}
	s->others_heard = lc_mono_ms();
	const char *node = lc_json_get_str(ev, "node", "?");
	if (s->state != WSD_SOLO_OFF) {
		char why[160];
		snprintf(why, sizeof why, "node %s", node);
		leave(w, why, true);
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
		leave(w, "RabbitMQ connection lost", false);
	if (s->joining && !s->probing && s->join_at != 0 && now >= s->join_at)
		probe_submit(w);
	if (s->state == WSD_SOLO_OFF && !s->joining && R->ready &&
	    wsd_busio_linked(w->bus) && wsd_room_presence_heard(w, now) && R->presence == NULL &&
	    now - s->others_heard >= SOLO_QUIET_MS) {
		s->state = WSD_SOLO_CLAIMING;
		s->held = false;
		wsd_busio_lease(w->bus, w->q_solo, true, &s->held, claimed, NULL);
	}
}

uint64_t wsd_solo_events(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	return w->rooms ? w->rooms->solo.events : 0;
}
