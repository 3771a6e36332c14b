/* SPDX-License-Identifier: MIT */
/* wsd_batch: a growable array of messages and their slots (see batch.h). */
#include "config.h"
#include "batch.h"
#include "map.h"
#include "lc_alloc.h"

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

struct wsd_batch {
	uint32_t magic;
	lc_store_t *store;
	entry_t *v;
	size_t n, cap;
	wsd_map_t *marks;       /* room id -> int64_t *: highest seq stored, last_seq not written */
};

wsd_batch_t *wsd_batch_new(lc_store_t *store)
{
	wsd_batch_t *b = lc_calloc(1, sizeof *b);
	b->magic = BATCH_MAGIC;
	b->store = store;
	b->marks = wsd_map_new();
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

static void mark_free(const char *key, void *value, void *ctx)
{
	(void)key;
	(void)ctx;
	free(value);
}

static void mark_raise(wsd_batch_t *b, const char *room_id, int64_t seq)
{
	int64_t *m = wsd_map_get(b->marks, room_id);
	if (m == NULL) {
		m = lc_calloc(1, sizeof *m);
		wsd_map_put(b->marks, room_id, m);
	}
	if (seq > *m)
		*m = seq;
}

size_t wsd_batch_marks_pending(const wsd_batch_t *b)
{
	return wsd_map_count(b->marks);
}

typedef struct marks_out {
	const char **ids;
	int64_t *seqs;
	size_t n;
} marks_out_t;

static void mark_collect(const char *key, void *value, void *ctx)
{
	marks_out_t *o = ctx;
	o->ids[o->n] = key;
	o->seqs[o->n++] = *(int64_t *)value;
}

lc_rc wsd_batch_flush_marks(wsd_batch_t *b, lc_err_t *err)
{
	LC_CHECK_OBJ(b, BATCH_MAGIC);
	size_t n = wsd_map_count(b->marks);
	if (n == 0)
		return LC_OK;
	marks_out_t o = { lc_calloc(n, sizeof *o.ids), lc_calloc(n, sizeof *o.seqs), 0 };
	wsd_map_each(b->marks, mark_collect, &o);
	lc_rc rc = lc_store_seq_marks_raise(b->store, o.ids, o.seqs, o.n, err);
	free(o.ids);
	free(o.seqs);
	if (rc == LC_OK) {
		wsd_map_each(b->marks, mark_free, NULL);
		wsd_map_free(&b->marks);
		b->marks = wsd_map_new();
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
	wsd_map_each(b->marks, mark_free, NULL);
	wsd_map_free(&b->marks);
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
				mark_raise(b, b->v[i].room_id, b->v[i].seq);
			entry_free(&b->v[i]);
		}
		b->n = 0;
	}
	free(m);
	return rc;
}
