/* SPDX-License-Identifier: MIT */
/* wsd_wroom: what the room writer knows of the rooms it touched (writer_priv.h): read once by
 * _id (or through the customer's open-room pointer), kept while this node holds the inbound
 * queue, read again when a check needs a status older than a second; the seq blocks; and how
 * far each customer's recent goes (batch.h), read once per customer with the room's counter. */
#include "config.h"
#include "writer_priv.h"
#include "worker.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_room_status.h"

#include <stdlib.h>
#include <string.h>


/* A status the writer does not know is not an open room: closed (no message goes in). */
static lc_room_status_t status_of(json_object *doc)
{
	lc_room_status_t s = lc_room_status_parse(lc_json_get_str(doc, "status", NULL));
	return s == LC_ROOM_UNKNOWN ? LC_ROOM_CLOSED : s;
}

void wsd_wslot_clear(wsd_wslot_t *slot)
{
	json_object_put(slot->stored);
	memset(slot, 0, sizeof *slot);
}

/* ---- rooms */

static void room_free_cb(const char *key, void *value, void *ctx)
{
	wroom_t *r = value;
	(void)key;
	(void)ctx;
	json_object_put(r->doc);
	json_object_put(r->first);
	free(r->first_id);
	free(r);
}

/* Another node may have written the rooms while this one did not hold the queue: forget them
 * (their next seqs come from a new block, above anything the other writer reserved). */
void wsd_wrooms_forget(wsd_writer_t *wr)
{
	wsd_map_each(wr->rooms, room_free_cb, NULL);
	wsd_map_free(&wr->rooms);
	wsd_map_free(&wr->open);
	wr->rooms = wsd_map_new();
	wr->open = wsd_map_new();
	wsd_batch_recent_forget_all(wr->batch);
}

typedef struct sweep {
	wsd_batch_t *batch;
	int64_t now, keep_ms;
	const char **ids;
	size_t n, cap;
} sweep_t;

static void sweep_cb(const char *key, void *value, void *ctx)
{
	wroom_t *r = value;
	sweep_t *sw = ctx;
	if (r->status == LC_ROOM_CLOSED && sw->now - r->read_ms > sw->keep_ms && sw->n < sw->cap &&
	    !wsd_batch_marks_has(sw->batch, key))
		sw->ids[sw->n++] = key;
}

/* The rooms a writer touched would pile up: closed ones are forgotten closed_keep_ms on (what
 * comes for them later reads them again), once their marks are written, and moved out with their
 * counters (lc_store_counter_retire, lc_store_room_retire), so that rooms and counters, which
 * the message path reads and updates, hold the rooms in use only. */
static char *open_key(json_object *doc)
{
	return wsd_workers_customer_key(lc_json_get_str(doc, "channel", ""),
			       lc_json_get_str(doc, "customer_id", ""));
}

void wsd_wrooms_sweep(wsd_writer_t *wr)
{
	sweep_t sw = { .batch = wr->batch, .now = lc_mono_ms(), .keep_ms = wr->closed_keep_ms,
		       .cap = 1024 };
	if (sw.now - wr->swept_ms < (wr->closed_keep_ms < SWEEP_EVERY_MS ? wr->closed_keep_ms
									  : SWEEP_EVERY_MS))
		return;
	wr->swept_ms = sw.now;
	sw.ids = lc_calloc(sw.cap, sizeof *sw.ids);
	wsd_map_each(wr->rooms, sweep_cb, &sw);
	for (size_t i = 0; i < sw.n; i++) {
		char *id = lc_strdup(sw.ids[i]);   /* the key goes with the entry */
		wroom_t *r = wsd_map_del(wr->rooms, id);
		lc_err_t err;
		if (lc_store_counter_retire(wr->w->store, id, &err) != LC_OK ||
		    lc_store_room_retire(wr->w->store, id, &err) != LC_OK)
			LC_WARN("room %s: moving it to the closed rooms: %s", id, err.reason);
		wsd_batch_recent_forget(wr->batch, lc_json_get_str(r->doc, "channel", ""),
					lc_json_get_str(r->doc, "customer_id", ""));
		char *key = open_key(r->doc);
		if (wsd_map_get(wr->open, key) == r)
			wsd_map_del(wr->open, key);
		free(key);
		room_free_cb(id, r, NULL);
		free(id);
	}
	free(sw.ids);
}

/* Keep the status the writer now knows of r, and index it as its customer's open room. A room
 * so indexed that closes stays indexed, closed, until it is swept: the customer's last room as
 * this writer knows it (wsd_writer_find_open: none open, without a read). */
void wsd_wroom_set_status(wsd_writer_t *wr, wroom_t *r, lc_room_status_t st)
{
	LC_ASSERT(st != LC_ROOM_UNKNOWN);
	char *key = open_key(r->doc);
	r->status = st;
	if (st != LC_ROOM_CLOSED)
		wsd_map_put(wr->open, key, r);
	free(key);
}

/* doc: a room just read from MongoDB (taken). */
static wroom_t *room_update(wsd_writer_t *wr, json_object *doc)
{
	const char *id = lc_json_get_str(doc, "id", "");
	wroom_t *r = wsd_map_get(wr->rooms, id);
	if (r == NULL) {
		r = lc_calloc(1, sizeof *r);
		wsd_map_put(wr->rooms, id, r);
	}
	json_object_put(r->doc);
	r->doc = doc;
	r->read_ms = lc_mono_ms();
	wsd_wroom_set_status(wr, r, status_of(doc));
	/* Claimed or closed behind the writer's back: nobody will accept it now. */
	if (r->status != LC_ROOM_WAITING)
		wsd_batch_recent_tail_drop(wr->batch, lc_json_get_str(doc, "channel", ""),
					   lc_json_get_str(doc, "customer_id", ""));
	return r;
}

/* The room, read again when its status is older than ROOM_FRESH_MS (fresh) or unknown. */
lc_rc wsd_wroom_get(wsd_writer_t *wr, const char *room_id, bool fresh, wroom_t **out,
		      lc_err_t *err)
{
	wroom_t *r = wsd_map_get(wr->rooms, room_id);
	if (r != NULL && (!fresh || lc_mono_ms() - r->read_ms <= ROOM_FRESH_MS)) {
		*out = r;
		return LC_OK;
	}
	json_object *doc = NULL;
	lc_rc rc = lc_store_room_get(wr->w->store, room_id, &doc, err);
	if (rc != LC_OK)
		return rc;
	r = room_update(wr, doc);
	*out = r;
	/* Reading it again, also see whether someone else reserved seqs above our block (a node
	 * that stored an agent's message itself while RabbitMQ was away from it, or a writer that
	 * held the room meanwhile): then ours would come out below theirs; take a new block. */
	int64_t last = 0, reserved = 0;
	if (r->next_seq != 0 &&
	    lc_store_seq_marks(wr->w->store, room_id, &last, &reserved, NULL) == LC_OK &&
	    (reserved > r->block_end || last > r->block_end))
		wsd_wroom_block_drop(r, 0);
	return LC_OK;
}

/* The open room of a customer as the writer knows it: an engaged one read recently as it is (an
 * engaged room keeps its agent until it closes, and every close goes through the writer:
 * customer_left here, the others as the command that stores their text); a waiting one, or an
 * engaged one read more than ROOM_FRESH_MS ago, read again by its _id (an agent may have
 * claimed it; something may have closed it). By _id in rooms, which holds the rooms in use, not
 * through the customer's pointer: open_rooms keeps one per customer ever, and FerretDB reads it
 * whole for a pointer near its end (docs/store.md). NULL: none, or no longer open (the caller
 * goes through the pointer: a room to open, or one the writer does not know). */
static wroom_t *open_cached(wsd_writer_t *wr, const char *channel, const char *customer_id)
{
	char *key = wsd_workers_customer_key(channel, customer_id);
	wroom_t *r = wsd_map_get(wr->open, key);
	free(key);
	if (r == NULL || r->status == LC_ROOM_CLOSED)
		return NULL;
	if (r->status == LC_ROOM_ENGAGED && lc_mono_ms() - r->read_ms <= ROOM_FRESH_MS)
		return r;
	json_object *doc = NULL;
	lc_err_t err;
	if (lc_store_room_get(wr->w->store, lc_json_get_str(r->doc, "id", ""), &doc, &err) != LC_OK)
		return NULL;
	r = room_update(wr, doc);
	return r->status == LC_ROOM_CLOSED ? NULL : r;
}

/* ---- returning customers' opens, on a worker */

typedef struct open_job {
	wsd_writer_t *wr;
	char *channel, *customer_id, *customer_name;
	bool find;                 /* only find the open room (none: NOT_FOUND) */
	wopened_t *o;
} open_job_t;

static void wopened_free(wopened_t *o)
{
	free(o->key);
	json_object_put(o->room);
	free(o);
}

static void open_run(wsd_t *w, void *arg)
{
	open_job_t *j = arg;
	wopened_t *o = j->o;
	lc_err_t err;
	o->rc = j->find ? lc_store_room_find_open(w->store, j->channel, j->customer_id, &o->room,
						  &err)
			: lc_store_room_open(w->store, j->channel, j->customer_id, j->customer_name,
					     &o->room, &o->created, &err);
	if (o->rc != LC_OK && o->rc != LC_ERR_NOT_FOUND)
		LC_INFO("writer: %s a customer's room: %s (the writer tries again)",
			j->find ? "finding" : "opening", err.reason);
	pthread_mutex_lock(&j->wr->lock);
	o->next = j->wr->opened;
	j->wr->opened = o;
	pthread_cond_signal(&j->wr->cond);   /* an idle writer takes the items that waited */
	pthread_mutex_unlock(&j->wr->lock);
	j->o = NULL;
}

static void open_done(wsd_t *w, void *arg)
{
	open_job_t *j = arg;
	(void)w;
	if (j->o != NULL)   /* not run: stopped */
		wopened_free(j->o);
	free(j->channel);
	free(j->customer_id);
	free(j->customer_name);
	free(j);
}

/* key (taken) waits for a worker to open (customer_name) or find (NULL) the customer's room. */
static void open_on_worker(wsd_writer_t *wr, const char *channel, const char *customer_id,
			   const char *customer_name, bool find, char *key)
{
	open_job_t *j = lc_calloc(1, sizeof *j);
	j->wr = wr;
	j->find = find;
	j->channel = lc_strdup(channel);
	j->customer_id = lc_strdup(customer_id);
	j->customer_name = customer_name ? lc_strdup(customer_name) : NULL;
	j->o = lc_calloc(1, sizeof *j->o);
	j->o->key = lc_strdup(key);
	wr->parking = key;
	atomic_fetch_add(&wr->worker_reads[find ? 1 : 0], 1);
	wsd_workers_submit_customer(wr->w, channel, customer_id, open_run, open_done, j);
}

bool wsd_writer_parking(const wsd_writer_t *wr)
{
	return wr->parking != NULL;
}

static void park_free(wsd_writer_t *wr, wpark_t *p,
		      void (*item_free)(wsd_writer_t *, witem_t *, bool))
{
	witem_t *it;
	while ((it = TAILQ_FIRST(&p->items)) != NULL) {
		TAILQ_REMOVE(&p->items, it, link);
		item_free(wr, it, false);
	}
	free(p);
}

void wsd_wroom_park(wsd_writer_t *wr, witem_t *it)
{
	ASSERT_WRITER(wr);
	wpark_t *p = lc_calloc(1, sizeof *p);
	TAILQ_INIT(&p->items);
	TAILQ_INSERT_TAIL(&p->items, it, link);
	wsd_map_put(wr->parked, wr->parking, p);
	free(wr->parking);
	wr->parking = NULL;
}

bool wsd_wroom_park_behind(wsd_writer_t *wr, witem_t *it, const char *key, struct witems *from)
{
	wpark_t *p = key ? wsd_map_get(wr->parked, key) : NULL;
	if (p == NULL)
		return false;
	TAILQ_REMOVE(from, it, link);
	TAILQ_INSERT_TAIL(&p->items, it, link);
	return true;
}

void wsd_wroom_unpark(wsd_writer_t *wr, struct witems *items)
{
	pthread_mutex_lock(&wr->lock);
	wopened_t *o = wr->opened;
	wr->opened = NULL;
	pthread_mutex_unlock(&wr->lock);
	while (o != NULL) {
		wopened_t *next = o->next;
		wpark_t *p = wsd_map_get(wr->parked, o->key);
		if (o->rc == LC_OK) {
			wroom_t *r = room_update(wr, lc_json_copy(o->room));
			r->opened_here |= o->created;
			if (o->created)
				wsd_batch_recent_forget(wr->batch, lc_json_get_str(r->doc, "channel", ""),
							lc_json_get_str(r->doc, "customer_id", ""));
			witem_t *first = p ? TAILQ_FIRST(&p->items) : NULL;
			if (first != NULL) {   /* the one that asked: it goes on with this room */
				wr->ops->opened(first->in, o->room, o->created);
				o->room = NULL;
			}
		} else if (o->rc == LC_ERR_NOT_FOUND) {   /* found none */
			witem_t *first = p ? TAILQ_FIRST(&p->items) : NULL;
			if (first != NULL)
				wr->ops->opened(first->in, NULL, false);
		} else {
			wsd_map_put(wr->open_here, o->key, wr);   /* tried on this thread next */
		}
		if (p != NULL) {   /* first, in their order: they came before what items holds */
			TAILQ_CONCAT(&p->items, items, link);
			TAILQ_CONCAT(items, &p->items, link);
			wsd_map_del(wr->parked, o->key);
			free(p);
		}
		wopened_free(o);
		o = next;
	}
}

static void parked_free_cb(const char *key, void *value, void *ctx)
{
	void **a = ctx;
	(void)key;
	park_free(a[0], value, (void (*)(wsd_writer_t *, witem_t *, bool))a[1]);
}

void wsd_wroom_parked_free(wsd_writer_t *wr, void (*item_free)(wsd_writer_t *, witem_t *, bool))
{
	void *a[2] = { wr, (void *)item_free };
	wsd_map_each(wr->parked, parked_free_cb, a);
	wsd_map_free(&wr->parked);
	wr->parked = wsd_map_new();
}

lc_rc wsd_writer_open_room(wsd_writer_t *wr, const char *channel, const char *customer_id,
			   const char *customer_name, json_object **room, bool *created,
			   lc_err_t *err)
{
	ASSERT_WRITER(wr);
	*created = false;
	char *key = wsd_workers_customer_key(channel, customer_id);
	wroom_t *r = open_cached(wr, channel, customer_id);
	if (r != NULL) {
		*room = lc_json_copy(r->doc);
		free(key);
		return LC_OK;
	}
	json_object *doc = NULL;
	int64_t reserved = 0;
	lc_rc rc;
	if (wsd_map_get(wr->open_here, key) != NULL) {
		wsd_map_del(wr->open_here, key);
		rc = lc_store_room_open(wr->w->store, channel, customer_id, customer_name, &doc,
					created, err);
	} else {
		rc = lc_store_room_open_new(wr->w->store, channel, customer_id, customer_name,
					    WSD_SEQ_BLOCK, &reserved, &doc, created, err);
		if (rc == LC_ERR_NOT_FOUND) {
			open_on_worker(wr, channel, customer_id, customer_name, false, key);
			return lc_err_set(err, LC_ERR_UNAVAILABLE, "opened on a worker");
		}
	}
	free(key);
	if (rc == LC_OK) {
		*room = lc_json_copy(doc);
		wroom_t *nr = room_update(wr, doc);
		nr->opened_here |= *created;
		if (reserved > 0 && nr->next_seq == 0) {
			/* Its first block came with its counter (wsd_writer_stage reserves none). */
			nr->next_seq = 1;
			nr->block_end = reserved;
		}
	}
	/* A new room starts from what its counter says (the customer's previous room's count),
	 * unless messages of theirs still wait to be written (then the batch is ahead). */
	if (rc == LC_OK && *created)
		wsd_batch_recent_forget(wr->batch, channel, customer_id);
	return rc;
}

json_object *wsd_writer_first_message(wsd_writer_t *wr, const char *room_id, json_object *stored)
{
	ASSERT_WRITER(wr);
	wroom_t *r = wsd_map_get(wr->rooms, room_id);
	/* Copies both ways: the caller's goes to the loop, the writer keeps its own (json-c's
	 * reference counts are not atomic). */
	if (r != NULL && r->first != NULL)
		return lc_json_copy(r->first);
	json_object *first = NULL;
	lc_err_t err;
	if (r != NULL && r->opened_here) {
		if (r->first_id != NULL && stored != NULL &&
		    strcmp(lc_json_get_str(stored, "id", ""), r->first_id) == 0)
			first = lc_json_copy(stored);
		else if (r->first_id != NULL)   /* it came another way (a room command): read it */
			r->opened_here = false;
	}
	if (first == NULL && (r == NULL || !r->opened_here) &&
	    lc_store_message_first_customer(wr->w->store, room_id, &first, &err) != LC_OK)
		LC_WARN("room %s: its first message: %s", room_id, err.reason);
	if (r != NULL && first != NULL)
		r->first = lc_json_copy(first);
	return first;
}

lc_rc wsd_writer_find_open(wsd_writer_t *wr, const char *channel, const char *customer_id,
			   json_object **room, lc_err_t *err)
{
	ASSERT_WRITER(wr);
	wroom_t *r = open_cached(wr, channel, customer_id);
	if (r != NULL) {
		*room = lc_json_copy(r->doc);
		return LC_OK;
	}
	/* Its last room closed, as this writer knows: every open goes through it while it holds
	 * the inbound queue (a new generation forgets them all), so there is none. */
	char *key = wsd_workers_customer_key(channel, customer_id);
	r = wsd_map_get(wr->open, key);
	if (r != NULL && r->status == LC_ROOM_CLOSED) {
		free(key);
		return lc_err_set(err, LC_ERR_NOT_FOUND, "open room not found");
	}
	if (wsd_map_get(wr->open_here, key) == NULL) {
		/* A customer this writer does not know: their pointer is read on a worker. */
		open_on_worker(wr, channel, customer_id, NULL, true, key);
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "looked for on a worker");
	}
	wsd_map_del(wr->open_here, key);
	free(key);
	json_object *doc = NULL;
	lc_rc rc = lc_store_room_find_open(wr->w->store, channel, customer_id, &doc, err);
	if (rc == LC_OK) {
		*room = lc_json_copy(doc);
		room_update(wr, doc);
	}
	return rc;
}

lc_rc wsd_writer_close_room(wsd_writer_t *wr, const char *room_id, const char *reason,
			    json_object **room, lc_err_t *err)
{
	ASSERT_WRITER(wr);
	json_object *doc = NULL;
	lc_rc rc = lc_store_room_close(wr->w->store, room_id, reason, &doc, err);
	if (rc == LC_OK) {
		*room = lc_json_copy(doc);
		room_update(wr, doc);
	} else if (rc == LC_ERR_CONFLICT) {
		wroom_t *r = wsd_map_get(wr->rooms, room_id);
		if (r != NULL)
			wsd_wroom_set_status(wr, r, LC_ROOM_CLOSED);
	}
	return rc;
}

/* ---- the heads of returning customers' blocks */

typedef struct head_job {
	wsd_writer_t *wr;
	whead_t *h;
} head_job_t;

static void whead_free(whead_t *h)
{
	free(h->channel);
	free(h->customer_id);
	json_object_put(h->items);
	free(h);
}

/* On a worker: read the head, hand it to the writer (its next round joins it). */
static void head_run(wsd_t *w, void *arg)
{
	head_job_t *j = arg;
	lc_err_t err;
	whead_t *h = j->h;
	if (lc_store_recent_head(w->store, h->channel, h->customer_id, h->count, &h->items,
				 &h->from, &err) != LC_OK) {
		/* Its pieces stay headless until the customer's next chat: readers read one
		 * piece more. */
		LC_INFO("writer: the head of a customer's recent: %s", err.reason);
		h->items = NULL;
	}
	pthread_mutex_lock(&j->wr->lock);
	h->next = j->wr->heads;
	j->wr->heads = h;
	pthread_mutex_unlock(&j->wr->lock);
	j->h = NULL;
}

static void head_done(wsd_t *w, void *arg)
{
	head_job_t *j = arg;
	(void)w;
	if (j->h != NULL)   /* not run: stopped */
		whead_free(j->h);
	free(j);
}

/* A customer going on from the middle of a block (a returning one): the head of that block is
 * read on a worker, not here. On FerretDB 1.24 that read scans `recent` (at 1,000,000 stored
 * about half a second), and everything else the writer holds would wait for it. */
static void head_fetch(wsd_writer_t *wr, const char *channel, const char *customer_id,
		       int64_t count)
{
	head_job_t *j = lc_calloc(1, sizeof *j);
	j->wr = wr;
	j->h = lc_calloc(1, sizeof *j->h);
	j->h->channel = lc_strdup(channel);
	j->h->customer_id = lc_strdup(customer_id);
	j->h->count = count;
	atomic_fetch_add(&wr->worker_reads[2], 1);
	wsd_workers_submit(wr->w->workers, NULL, head_run, head_done, j);
}

void wsd_wroom_heads_join(wsd_writer_t *wr)
{
	pthread_mutex_lock(&wr->lock);
	whead_t *h = wr->heads;
	wr->heads = NULL;
	pthread_mutex_unlock(&wr->lock);
	while (h != NULL) {
		whead_t *next = h->next;
		if (h->items != NULL)
			wsd_batch_recent_join_head(wr->batch, h->channel, h->customer_id, h->count,
						   h->items, h->from);
		h->items = NULL;
		whead_free(h);
		h = next;
	}
}

lc_rc wsd_writer_stage(wsd_writer_t *wr, const char *room_id, const char *msg_id,
		       const char *sender, const char *author, const char *text, int64_t ts_ms,
		       wsd_wslot_t *slot, lc_err_t *err)
{
	wroom_t *r = NULL;
	ASSERT_WRITER(wr);
	if (slot->staged)
		return LC_OK;
	lc_rc rc = wsd_wroom_get(wr, room_id, false, &r, err);
	if (rc != LC_OK)
		return rc;
	if (r->next_seq == 0 || r->next_seq > r->block_end) {
		int64_t first = 0;
		rc = lc_store_seq_reserve_above(wr->w->store, room_id, WSD_SEQ_BLOCK, r->floor,
						&first, NULL, err);
		if (rc != LC_OK)
			return rc;
		r->next_seq = first;
		r->block_end = first + WSD_SEQ_BLOCK - 1;
	}
	if (r->opened_here && r->first_id == NULL && strcmp(sender, "customer") == 0)
		r->first_id = lc_strdup(msg_id);   /* wsd_writer_first_message */
	const char *channel = lc_json_get_str(r->doc, "channel", "");
	const char *customer_id = lc_json_get_str(r->doc, "customer_id", "");
	if (!wsd_batch_recent_known(wr->batch, channel, customer_id)) {
		int64_t count = -1;
		rc = lc_store_recent_count(wr->w->store, room_id, &count, err);
		if (rc != LC_OK)
			return rc;
		/* A waiting room's customer: keep their newest messages for the accept. */
		wsd_batch_recent_tail_keep(wr->batch, atomic_load(&wr->w->history_limit));
		if (wsd_batch_recent_start(wr->batch, channel, customer_id, count,
					   r->status == LC_ROOM_WAITING))
			head_fetch(wr, channel, customer_id, count);
	}
	wsd_batch_add(wr->batch, room_id, channel, customer_id, msg_id, sender, author, text,
		      r->next_seq++, ts_ms, slot, wr->owner);
	return LC_OK;
}

/* ---- room commands (roomcmd.h) */

void wsd_wrooms_free(wsd_writer_t *wr)
{
	while (wr->opened != NULL) {   /* done after the writer stopped */
		wopened_t *o = wr->opened;
		wr->opened = o->next;
		wopened_free(o);
	}
	wsd_map_free(&wr->parked);     /* emptied when the thread ended */
	wsd_map_free(&wr->open_here);
	while (wr->heads != NULL) {   /* read after the writer stopped: no one joins them */
		whead_t *h = wr->heads;
		wr->heads = h->next;
		whead_free(h);
	}
	wsd_map_each(wr->rooms, room_free_cb, NULL);
	wsd_map_free(&wr->rooms);
	wsd_map_free(&wr->open);
}

void wsd_wroom_block_drop(wroom_t *r, int64_t above)
{
	/* The counter may not show every seq of the block given up: two reservations that met on
	 * a database without an atomic $inc leave one of them (docs/store.md). */
	if (r->next_seq > 0 && r->next_seq - 1 > r->floor)
		r->floor = r->next_seq - 1;
	if (above > r->floor)
		r->floor = above;
	r->next_seq = 0;
}

void wsd_wroom_block_lost(wsd_writer_t *wr, const char *room_id)
{
	wroom_t *r = wsd_map_get(wr->rooms, room_id);
	if (r != NULL)
		wsd_wroom_block_drop(r, 0);
}
