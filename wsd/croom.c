/* SPDX-License-Identifier: MIT */
/* wsd_croom: the rooms one connection follows (engaged, watched, or a widget's own), and the
 * delivery of message frames to it in seq order with no duplicate across the replay/live seam
 * (conn.h). Loop thread only. */
#include "config.h"
#include "room_priv.h"

#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_message.h"

#include <stdlib.h>
#include <string.h>

#define PENDING_MAX 1000

/* ---- per-connection rooms */

wsd_croom_t *wsd_croom_find(wsd_conn_t *c, const char *room_id)
{
	for (size_t i = 0; i < c->nrooms; i++)
		if (strcmp(c->rooms[i].room_id, room_id) == 0)
			return &c->rooms[i];
	return NULL;
}

wsd_croom_t *wsd_croom_add(wsd_conn_t *c, const char *room_id, const char *channel,
			   const char *customer_id, const char *customer_name, uint8_t state,
			   bool watch)
{
	wsd_croom_t *r = wsd_croom_find(c, room_id);
	if (r == NULL) {
		c->rooms = lc_realloc(c->rooms, (c->nrooms + 1) * sizeof *c->rooms);
		r = &c->rooms[c->nrooms++];
		memset(r, 0, sizeof *r);
		r->room_id = lc_strdup(room_id);
	}
	if (channel && !r->channel)
		r->channel = lc_strdup(channel);
	if (customer_id && !r->customer_id)
		r->customer_id = lc_strdup(customer_id);
	if (customer_name && !r->customer_name)
		r->customer_name = lc_strdup(customer_name);
	r->state = state;
	r->watch = watch;
	return r;
}

void wsd_croom_clear(wsd_croom_t *r)
{
	free(r->room_id);
	free(r->channel);
	free(r->customer_id);
	free(r->customer_name);
	free(r->sent);
	json_object_put(r->pending);
	json_object_put(r->end);
	json_object_put(r->declines);
	memset(r, 0, sizeof *r);
}

void wsd_croom_remove(wsd_conn_t *c, const char *room_id)
{
	WSD_ASSERT_LOOP(c->w);
	wsd_croom_t *r = wsd_croom_find(c, room_id);
	if (r == NULL)
		return;
	json_object *declines = r->declines;
	r->declines = NULL;
	char *rid = declines ? lc_strdup(r->room_id) : NULL;   /* room_id may be r's own */
	wsd_croom_clear(r);
	*r = c->rooms[--c->nrooms];
	if (declines != NULL) {
		/* The room went (ended) before the accept they wait for was answered: they go on
		 * now, through the endpoint that held them. */
		if (c->ep != NULL && c->ep->on_held_declines != NULL)
			c->ep->on_held_declines(c, rid, declines);
		json_object_put(declines);
		free(rid);
	}
}

static int64_t frame_seq(json_object *frame)
{
	json_object *m;
	if (!json_object_object_get_ex(frame, "message", &m))
		return lc_json_get_int(frame, "seq", -1);   /* widget: waiting, joined, ended */
	return lc_json_get_int(m, "seq", -1);
}

/* ---- the seqs a connection has: floor, then the sorted set sent */

static bool seq_have(const wsd_croom_t *r, int64_t seq)
{
	if (seq <= r->floor)
		return true;
	size_t lo = 0, hi = r->nsent;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->sent[mid] == seq)
			return true;
		if (r->sent[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Drop the sent seqs at or below floor, and fold the ones that continue it into it. */
static void seq_compact(wsd_croom_t *r)
{
	size_t k = 0;
	while (k < r->nsent && r->sent[k] <= r->floor + 1) {
		if (r->sent[k] > r->floor)
			r->floor = r->sent[k];
		k++;
	}
	if (k > 0) {
		memmove(r->sent, r->sent + k, (r->nsent - k) * sizeof *r->sent);
		r->nsent -= k;
	}
}

void wsd_croom_mark(wsd_croom_t *r, int64_t seq)
{
	if (seq < 0 || seq_have(r, seq))
		return;
	if (r->nsent == WSD_CROOM_SENT_MAX) {
		/* A gap this old is a seq that was never stored (a failed write): give up on it. */
		r->floor = r->sent[0];
		memmove(r->sent, r->sent + 1, (r->nsent - 1) * sizeof *r->sent);
		r->nsent--;
		if (seq <= r->floor)
			return;
	}
	if (r->sent == NULL)
		r->sent = lc_malloc(WSD_CROOM_SENT_MAX * sizeof *r->sent);
	size_t i = r->nsent;
	while (i > 0 && r->sent[i - 1] > seq) {
		r->sent[i] = r->sent[i - 1];
		i--;
	}
	r->sent[i] = seq;
	r->nsent++;
	seq_compact(r);
}

int64_t wsd_croom_floor(const wsd_croom_t *r)
{
	return r->floor;
}

void wsd_croom_deliver(wsd_conn_t *c, wsd_croom_t *r, json_object *frame)
{
	WSD_ASSERT_LOOP(c->w);
	if (r->state != WSD_CR_LIVE) {
		if (r->pending == NULL)
			r->pending = json_object_new_array();
		/* Past the cap the client reads it from MongoDB anyway (resume). */
		if (json_object_array_length(r->pending) < PENDING_MAX)
			json_object_array_add(r->pending, json_object_get(frame));
		return;
	}
	int64_t s = frame_seq(frame);
	if (s >= 0 && seq_have(r, s))
		return;
	wsd_croom_mark(r, s);
	wsd_conn_send(c, frame);
}

static int cmp_seq(const void *a, const void *b)
{
	int64_t x = frame_seq(*(json_object *const *)a), y = frame_seq(*(json_object *const *)b);
	return x < y ? -1 : x > y;
}

void wsd_croom_live(wsd_conn_t *c, wsd_croom_t *r, int64_t floor, json_object *items)
{
	WSD_ASSERT_LOOP(c->w);
	/* While the node waits for the lease (solo.c), its live messages wait behind the
	 * catch-up read that follows (catchup.c), which reads this room too. */
	bool hold = c->w->rooms != NULL && c->w->rooms->solo.joining && c->state == WSD_CS_READY;
	r->state = hold ? WSD_CR_CATCHUP : WSD_CR_LIVE;
	if (floor > r->floor)
		r->floor = floor;
	/* Each seq the read gave, not everything up to the newest: a lower seq may still have been
	 * being stored by another node when it was read, and goes out when it comes live. */
	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		lc_message_t m;
		lc_message_view(&m, json_object_array_get_idx(items, i));
		if (*m.room_id == '\0' || strcmp(m.room_id, r->room_id) == 0)
			wsd_croom_mark(r, m.seq);   /* 0 (none): at or below any floor, not marked */
	}
	seq_compact(r);
	if (r->pending == NULL)
		return;
	json_object *p = r->pending;
	r->pending = NULL;
	json_object_array_sort(p, cmp_seq);
	for (size_t i = 0; i < json_object_array_length(p); i++)
		wsd_croom_deliver(c, r, json_object_array_get_idx(p, i));
	json_object_put(p);
}

void wsd_croom_catchup(wsd_conn_t *c, wsd_croom_t *r, json_object *frames)
{
	WSD_ASSERT_LOOP(c->w);
	size_t n = frames ? json_object_array_length(frames) : 0;
	if (r->state != WSD_CR_CATCHUP) {
		for (size_t i = 0; i < n; i++)
			wsd_croom_deliver(c, r, json_object_array_get_idx(frames, i));
		return;
	}
	/* What was read first (older), then what arrived live meanwhile, each sent once. */
	json_object *p = r->pending;
	r->pending = NULL;
	r->state = WSD_CR_LIVE;
	for (size_t i = 0; i < n; i++)
		wsd_croom_deliver(c, r, json_object_array_get_idx(frames, i));
	r->pending = p;
	wsd_croom_live(c, r, r->floor, NULL);
}
