/* SPDX-License-Identifier: MIT */
/* wsd_batch: a growable array of messages and their slots, the rooms' marks and the customers'
 * recent those batches raised (see batch.h). */
#include "config.h"
#include "batch.h"
#include "map.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MAGIC 0xba7c4001U

typedef struct entry {
	char *room_id, *channel, *customer_id, *msg_id, *sender, *author, *text;
	int64_t seq, ts_ms;
	wsd_wslot_t *slot;
	void *owner;
} entry_t;

/* What the writer knows of a customer's recent (lc_store_recent.c): how many messages it has
 * had, counting those stored and not yet written, and its open block. */
typedef struct chain {
	lc_store_recent_chain_t r;   /* r.count < 0: the customer's room keeps none */
	uint64_t dirty_gen;          /* == the batch's gen: it has messages not written yet */
	/* The customer's newest messages as this writer knows them (the chain's copies, oldest
	 * first, at most the batch's tail_keep), tail_first the number of the first: what accept
	 * would read from the pieces, kept while the customer's room waits for an agent (NULL:
	 * not kept). */
	json_object *tail;
	int64_t tail_first;
} chain_t;

typedef struct mark {
	int64_t seq, recent;
} mark_t;

/* A piece not written yet (a full block's). */
typedef struct add {
	char *channel, *customer_id;
	int64_t last, from;
	json_object *items;
} add_t;

struct wsd_batch {
	uint32_t magic;
	lc_store_t *store;
	entry_t *v;
	size_t n, cap;
	wsd_map_t *marks;       /* room id -> mark_t: raised by stored batches, not written */
	wsd_map_t *chains;      /* "<channel>:<customer>" -> chain_t */
	add_t *adds;
	size_t nadds, adds_cap;
	char **dirty;           /* keys of the chains with messages not written yet */
	size_t ndirty, dirty_cap;
	uint64_t gen;           /* + 1 at each write of the marks: the adds start again */
	bool urgent;            /* a system message not relaxed is among them, or hurried
				 * (see wsd_batch_marks_urgent) */
	int64_t tail_keep;      /* messages a chain's tail keeps at most */
};

wsd_batch_t *wsd_batch_new(lc_store_t *store)
{
	wsd_batch_t *b = lc_calloc(1, sizeof *b);
	b->magic = BATCH_MAGIC;
	b->store = store;
	b->marks = wsd_map_new();
	b->chains = wsd_map_new();
	b->gen = 1;
	b->tail_keep = LC_STORE_RECENT_MAX;
	return b;
}

static void entry_free(entry_t *e)
{
	free(e->room_id);
	free(e->channel);
	free(e->customer_id);
	free(e->msg_id);
	free(e->sender);
	free(e->author);
	free(e->text);
}

static void value_free(const char *key, void *value, void *ctx)
{
	(void)key;
	(void)ctx;
	free(value);
}

static void chain_free(const char *key, void *value, void *ctx)
{
	(void)key;
	(void)ctx;
	chain_t *c = value;
	lc_store_recent_chain_clear(&c->r);
	json_object_put(c->tail);
	free(c);
}

static void adds_clear(wsd_batch_t *b)
{
	for (size_t i = 0; i < b->nadds; i++) {
		free(b->adds[i].channel);
		free(b->adds[i].customer_id);
		json_object_put(b->adds[i].items);
	}
	b->nadds = 0;
	for (size_t i = 0; i < b->ndirty; i++)
		free(b->dirty[i]);
	b->ndirty = 0;
	b->gen++;
}

/* Grow *v (of *cap elements of size sz) to hold one more than n. */
static void *grow(void *v, size_t n, size_t *cap, size_t sz)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 16;
	LC_ASSERT(*cap < SIZE_MAX / sz);
	return lc_realloc(v, *cap * sz);
}

static char *chain_key(const char *channel, const char *customer_id)
{
	return lc_asprintf("%s:%s", channel, customer_id);   /* a channel has no ':' */
}

static chain_t *chain_get(const wsd_batch_t *b, const char *channel, const char *customer_id)
{
	char *key = chain_key(channel, customer_id);
	chain_t *c = wsd_map_get(b->chains, key);
	free(key);
	return c;
}

bool wsd_batch_recent_known(const wsd_batch_t *b, const char *channel, const char *customer_id)
{
	return chain_get(b, channel, customer_id) != NULL;
}

bool wsd_batch_recent_start(wsd_batch_t *b, const char *channel, const char *customer_id,
			    int64_t count, bool tail)
{
	LC_CHECK_OBJ(b, BATCH_MAGIC);
	char *key = chain_key(channel, customer_id);
	chain_t *c = wsd_map_get(b->chains, key);
	if (c == NULL) {
		c = lc_calloc(1, sizeof *c);
		wsd_map_put(b->chains, key, c);
	}
	lc_store_recent_chain_clear(&c->r);
	json_object_put(c->tail);
	c->tail = NULL;
	c->r = count >= 0 ? lc_store_recent_chain_headless(count)
			  : (lc_store_recent_chain_t){ count, NULL, 0 };
	c->dirty_gen = 0;
	if (tail && count >= 0) {
		c->tail = json_object_new_array();
		c->tail_first = count + 1;
	}
	free(key);
	return c->r.from > 0;
}

void wsd_batch_recent_join_head(wsd_batch_t *b, const char *channel, const char *customer_id,
				int64_t count, json_object *head, int64_t from)
{
	LC_CHECK_OBJ(b, BATCH_MAGIC);
	chain_t *c = chain_get(b, channel, customer_id);
	size_t n = head ? json_object_array_length(head) : 0;
	if (c == NULL || c->r.count < 0) {
		json_object_put(head);
		return;
	}
	if (!lc_store_recent_chain_join_head(&c->r, count, head, from))
		return;
	if (c->tail == NULL || c->tail_first != count + 1)
		return;
	/* The head's messages are older than the tail's: before them, as many as it keeps. */
	json_object *tail = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(tail, json_object_get(json_object_array_get_idx(c->r.block, i)));
	for (size_t i = 0; i < json_object_array_length(c->tail); i++)
		json_object_array_add(tail, json_object_get(json_object_array_get_idx(c->tail, i)));
	json_object_put(c->tail);
	c->tail = tail;
	c->tail_first = count - (int64_t)n + 1;
	int64_t over = (int64_t)json_object_array_length(c->tail) - b->tail_keep;
	if (over > 0) {
		json_object_array_del_idx(c->tail, 0, (size_t)over);
		c->tail_first += over;
	}
}

void wsd_batch_recent_tail_keep(wsd_batch_t *b, int64_t n)
{
	LC_CHECK_OBJ(b, BATCH_MAGIC);
	b->tail_keep = n < 1 ? 1 : n > LC_STORE_RECENT_MAX ? LC_STORE_RECENT_MAX : n;
}

void wsd_batch_recent_tail_drop(wsd_batch_t *b, const char *channel, const char *customer_id)
{
	LC_CHECK_OBJ(b, BATCH_MAGIC);
	chain_t *c = chain_get(b, channel, customer_id);
	if (c != NULL) {
		json_object_put(c->tail);
		c->tail = NULL;
	}
}

json_object *wsd_batch_recent_history(const wsd_batch_t *b, const char *channel,
				      const char *customer_id, int64_t limit)
{
	LC_CHECK_OBJ(b, BATCH_MAGIC);
	chain_t *c = chain_get(b, channel, customer_id);
	if (limit <= 0 || limit > LC_STORE_RECENT_MAX)
		limit = LC_STORE_RECENT_MAX;
	if (c == NULL || c->tail == NULL || c->r.count < 0)
		return NULL;
	int64_t from = c->r.count - limit + 1;
	if (c->tail_first > (from < 1 ? 1 : from))
		return NULL;   /* older messages it needs are only in the pieces */
	json_object *picked = lc_store_recent_pick(c->tail, limit);
	/* A copy of its own for the receiver: the tail's messages stay on this thread. */
	json_object *out = lc_json_copy(picked);
	json_object_put(picked);
	return out;
}

void wsd_batch_recent_forget(wsd_batch_t *b, const char *channel, const char *customer_id)
{
	LC_CHECK_OBJ(b, BATCH_MAGIC);
	char *key = chain_key(channel, customer_id);
	chain_t *c = wsd_map_get(b->chains, key);
	/* With messages not written yet, its count is ahead of every room's: keep it. */
	if (c != NULL && (c->r.count < 0 || c->dirty_gen != b->gen)) {
		wsd_map_del(b->chains, key);
		chain_free(key, c, NULL);
	}
	free(key);
}

typedef struct chains_keep {
	wsd_batch_t *b;
	wsd_map_t *kept;
} chains_keep_t;

static void chain_keep_cb(const char *key, void *value, void *ctx)
{
	chains_keep_t *k = ctx;
	chain_t *c = value;
	if (c->r.count >= 0 && c->dirty_gen == k->b->gen)
		wsd_map_put(k->kept, key, c);
	else
		chain_free(key, c, NULL);
}

void wsd_batch_recent_forget_all(wsd_batch_t *b)
{
	LC_CHECK_OBJ(b, BATCH_MAGIC);
	chains_keep_t k = { b, wsd_map_new() };
	wsd_map_each(b->chains, chain_keep_cb, &k);
	wsd_map_free(&b->chains);
	b->chains = k.kept;
}

/* A stored message: its room's marks, and its place in its customer's recent. */
static void mark_raise(wsd_batch_t *b, const entry_t *e, json_object *stored)
{
	mark_t *m = wsd_map_get(b->marks, e->room_id);
	if (m == NULL) {
		m = lc_calloc(1, sizeof *m);
		m->recent = -1;
		wsd_map_put(b->marks, e->room_id, m);
	}
	if (e->seq > m->seq)
		m->seq = e->seq;
	if (strcmp(e->sender, "system") == 0 && !e->slot->relaxed)
		b->urgent = true;
	char *key = chain_key(e->channel, e->customer_id);
	chain_t *c = wsd_map_get(b->chains, key);
	if (c == NULL || c->r.count < 0) {
		free(key);   /* not known (cannot happen: staging loads it) or none kept */
		return;
	}
	bool full = lc_store_recent_chain_add(&c->r, stored);
	m->recent = c->r.count;
	if (c->tail != NULL) {
		json_object_array_add(c->tail, json_object_get(lc_store_recent_chain_last(&c->r)));
		int64_t over = (int64_t)json_object_array_length(c->tail) - b->tail_keep;
		if (over > 0) {
			json_object_array_del_idx(c->tail, 0, (size_t)over);
			c->tail_first += over;
		}
	}
	if (full) {   /* its full piece now; the open block's at the write */
		lc_store_recent_piece_t p = lc_store_recent_chain_piece(&c->r, NULL, NULL);
		b->adds = grow(b->adds, b->nadds, &b->adds_cap, sizeof *b->adds);
		b->adds[b->nadds++] = (add_t){ lc_strdup(e->channel), lc_strdup(e->customer_id),
					       p.last, p.from, p.items };
	}
	if (c->dirty_gen != b->gen) {   /* messages not written yet: kept by the forgets */
		c->dirty_gen = b->gen;
		b->dirty = grow(b->dirty, b->ndirty, &b->dirty_cap, sizeof *b->dirty);
		b->dirty[b->ndirty++] = key;
	} else {
		free(key);
	}
}

size_t wsd_batch_marks_pending(const wsd_batch_t *b)
{
	return wsd_map_count(b->marks);
}

bool wsd_batch_marks_has(const wsd_batch_t *b, const char *room_id)
{
	return wsd_map_get(b->marks, room_id) != NULL;
}

bool wsd_batch_marks_urgent(const wsd_batch_t *b)
{
	return b->urgent;
}

void wsd_batch_marks_hurry(wsd_batch_t *b)
{
	LC_CHECK_OBJ(b, BATCH_MAGIC);
	if (wsd_batch_marks_pending(b) > 0)
		b->urgent = true;
}

typedef struct marks_out {
	lc_store_mark_t *v;
	size_t n;
} marks_out_t;

static void mark_collect(const char *key, void *value, void *ctx)
{
	marks_out_t *o = ctx;
	const mark_t *m = value;
	o->v[o->n++] = (lc_store_mark_t){ .room_id = key, .seq = m->seq, .recent = m->recent };
}

lc_rc wsd_batch_flush_marks(wsd_batch_t *b, lc_err_t *err)
{
	LC_CHECK_OBJ(b, BATCH_MAGIC);
	size_t n = wsd_map_count(b->marks);
	if (n == 0 && b->nadds == 0)
		return LC_OK;
	marks_out_t o = { lc_calloc(n ? n : 1, sizeof *o.v), 0 };
	size_t np = 0, cap = b->nadds + b->ndirty;
	lc_store_recent_piece_t *pieces = lc_calloc(cap ? cap : 1, sizeof *pieces);
	wsd_map_each(b->marks, mark_collect, &o);
	for (size_t i = 0; i < b->nadds; i++)
		pieces[np++] = (lc_store_recent_piece_t){ b->adds[i].channel, b->adds[i].customer_id,
							  b->adds[i].last, json_object_get(b->adds[i].items),
							  b->adds[i].from };
	/* Each open block written to: its piece through its last message (a block that filled
	 * since has its full piece above). */
	for (size_t i = 0; i < b->ndirty; i++) {
		chain_t *c = wsd_map_get(b->chains, b->dirty[i]);
		if (c == NULL || c->r.count <= 0 || c->r.count % LC_STORE_RECENT_BLOCK == 0)
			continue;
		const char *colon = strchr(b->dirty[i], ':');   /* "<channel>:<customer>" */
		LC_ASSERT(colon != NULL);
		pieces[np++] = lc_store_recent_chain_piece(
			&c->r, lc_strndup(b->dirty[i], (size_t)(colon - b->dirty[i])), colon + 1);
	}
	lc_rc rc = lc_store_marks_write(b->store, o.v, o.n, pieces, np, err);
	for (size_t i = 0; i < np; i++) {
		json_object_put(pieces[i].items);
		if (i >= b->nadds)
			free((char *)pieces[i].channel);
	}
	free(o.v);
	free(pieces);
	if (rc == LC_OK) {
		wsd_map_each(b->marks, value_free, NULL);
		wsd_map_free(&b->marks);
		b->marks = wsd_map_new();
		adds_clear(b);
		b->urgent = false;
	}
	return rc;
}

void wsd_batch_free(wsd_batch_t **pb)
{
	if (pb == NULL || *pb == NULL)
		return;
	wsd_batch_t *b = *pb;
	LC_CHECK_OBJ(b, BATCH_MAGIC);
	for (size_t i = 0; i < b->n; i++)
		entry_free(&b->v[i]);
	free(b->v);
	wsd_map_each(b->marks, value_free, NULL);
	wsd_map_free(&b->marks);
	wsd_map_each(b->chains, chain_free, NULL);
	wsd_map_free(&b->chains);
	adds_clear(b);
	free(b->adds);
	free(b->dirty);
	b->magic = 0;
	free(b);
	*pb = NULL;
}

void wsd_batch_add(wsd_batch_t *b, const char *room_id, const char *channel,
		   const char *customer_id, const char *msg_id, const char *sender,
		   const char *author, const char *text, int64_t seq, int64_t ts_ms,
		   wsd_wslot_t *slot, void *owner)
{
	LC_CHECK_OBJ(b, BATCH_MAGIC);
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		LC_ASSERT(b->cap < SIZE_MAX / sizeof *b->v);
		b->v = lc_realloc(b->v, b->cap * sizeof *b->v);
	}
	b->v[b->n++] = (entry_t){
		.room_id = lc_strdup(room_id), .channel = lc_strdup(channel),
		.customer_id = lc_strdup(customer_id), .msg_id = lc_strdup(msg_id),
		.sender = lc_strdup(sender), .author = lc_strdup(author), .text = lc_strdup(text),
		.seq = seq, .ts_ms = ts_ms, .slot = slot, .owner = owner,
	};
	slot->staged = true;
	slot->done = false;
	snprintf(slot->room_id, sizeof slot->room_id, "%s", room_id);
}

size_t wsd_batch_count(const wsd_batch_t *b)
{
	return b->n;
}

void wsd_batch_drop_if(wsd_batch_t *b, bool (*drop)(void *owner, void *ctx), void *ctx)
{
	size_t k = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (drop(b->v[i].owner, ctx)) {
			b->v[i].slot->staged = false;
			entry_free(&b->v[i]);
		} else {
			b->v[k++] = b->v[i];
		}
	}
	b->n = k;
}

lc_rc wsd_batch_store(wsd_batch_t *b, lc_err_t *err)
{
	LC_CHECK_OBJ(b, BATCH_MAGIC);
	if (b->n == 0)
		return LC_OK;
	lc_store_msg_t *m = lc_calloc(b->n, sizeof *m);
	for (size_t i = 0; i < b->n; i++) {
		entry_t *e = &b->v[i];
		m[i] = (lc_store_msg_t){ .msg_id = e->msg_id, .room_id = e->room_id,
					 .channel = e->channel, .customer_id = e->customer_id,
					 .sender = e->sender, .author = e->author, .text = e->text,
					 .seq = e->seq, .ts_ms = e->ts_ms };
	}
	lc_rc rc = lc_store_message_insert_many(b->store, m, b->n, err);
	if (rc == LC_OK) {
		for (size_t i = 0; i < b->n; i++) {
			wsd_wslot_t *s = b->v[i].slot;
			s->done = true;
			s->dup = m[i].result == LC_STORE_MSG_DUPLICATE;
			s->rc = m[i].result == LC_STORE_MSG_FAILED ? m[i].err.code : LC_OK;
			s->err = m[i].err;
			s->stored = m[i].stored;
			if (m[i].result == LC_STORE_MSG_STORED)
				mark_raise(b, &b->v[i], m[i].stored);
			entry_free(&b->v[i]);
		}
		b->n = 0;
	}
	free(m);
	return rc;
}
