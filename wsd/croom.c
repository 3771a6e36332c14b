/* wsd_croom: the rooms one connection follows (engaged, watched, or a widget's own), and the
 * delivery of message frames to it in seq order with no duplicate across the replay/live seam
 * (conn.h). Loop thread only. */
#include "config.h"
#include "room_priv.h"

#include "lc_alloc.h"
#include "lc_json.h"

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

void wsd_croom_remove(wsd_conn_t *c, const char *room_id)
{
	wsd_croom_t *r = wsd_croom_find(c, room_id);
	if (r == NULL)
		return;
	free(r->room_id);
	free(r->channel);
	free(r->customer_id);
	free(r->customer_name);
	json_object_put(r->pending);
	*r = c->rooms[--c->nrooms];
}

static int64_t frame_seq(json_object *frame)
{
	json_object *m;
	if (!json_object_object_get_ex(frame, "message", &m))
		return lc_json_get_int(frame, "seq", -1);   /* widget: waiting, joined, ended */
	return lc_json_get_int(m, "seq", -1);
}

void wsd_croom_deliver(wsd_conn_t *c, wsd_croom_t *r, json_object *frame)
{
	if (r->state != WSD_CR_LIVE) {
		if (r->pending == NULL)
			r->pending = json_object_new_array();
		/* Past the cap the client reads it from MongoDB anyway (resume). */
		if (json_object_array_length(r->pending) < PENDING_MAX)
			json_object_array_add(r->pending, json_object_get(frame));
		return;
	}
	if (frame_seq(frame) >= 0 && frame_seq(frame) <= r->floor)
		return;
	wsd_conn_send(c, frame);
}

static int cmp_seq(const void *a, const void *b)
{
	int64_t x = frame_seq(*(json_object *const *)a), y = frame_seq(*(json_object *const *)b);
	return x < y ? -1 : x > y;
}

void wsd_croom_live(wsd_conn_t *c, wsd_croom_t *r, int64_t floor)
{
	r->state = WSD_CR_LIVE;
	r->floor = floor;
	if (r->pending == NULL)
		return;
	json_object *p = r->pending;
	r->pending = NULL;
	json_object_array_sort(p, cmp_seq);
	int64_t last = floor;
	for (size_t i = 0; i < json_object_array_length(p); i++) {
		json_object *f = json_object_array_get_idx(p, i);
		int64_t s = frame_seq(f);
		if (s >= 0 && s <= last)
			continue;
		if (s >= 0)
			last = s;
		wsd_conn_send(c, f);
	}
	json_object_put(p);
}
