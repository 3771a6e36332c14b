/* SPDX-License-Identifier: MIT */
/* lc_store_recent: each customer's last messages, across their rooms, kept for accept so that it
 * reads a few documents by _id instead of a query over messages (a full scan on FerretDB 1.24).
 *
 * Message number i (from 1) of a customer belongs to block (i - 1) / LC_STORE_RECENT_BLOCK. The
 * `recent` collection holds pieces, never updated: piece "<channel>:<customer>:<n>" holds the
 * messages of n's block from its first through n, as one JSON text (`j`; pieces written before
 * that carry them as an array of documents, `m`, and read the same). A writer inserts one piece per customer per
 * flush (a block that fills within the flush gets its full piece too), so the piece of the
 * last message of each full block, n = k * LC_STORE_RECENT_BLOCK, holds the whole block. Each
 * room's counter document carries `recent`, how many messages its customer has had; a reader
 * reads the piece of that number, then one full piece per older block: by _id only.
 *
 * A writer that goes on with a customer from the middle of a block (a returning customer) needs
 * the block's head, piece `count`, to write whole pieces; wsd's room writer does not wait for
 * that read (on FerretDB 1.24 a scan of `recent`): it goes on headless, and the pieces it writes
 * before the head comes hold its messages only and say from which number (`f`); a reader reads
 * piece f - 1 next, in the same block. Once the head is joined, the pieces are whole again.
 *
 * Inserts only, because FerretDB 1.24 uses no index, not even _id's (a find by _id reads the
 * collection up to the first match, a miss reads all of it) and runs an update by _id as a scan
 * of the whole collection: measured here, updateOne by _id took 0.9 ms in an empty collection,
 * 3.7 ms beside 3 MB of documents, 10.6 ms beside 10 MB, while inserts stayed at 1 ms
 * (docs/store.md "recent"). Chunks appended with $push in the counters collection made every
 * flush of every room scan all the chunks. A read of pieces at accept still reads the
 * collection on FerretDB (an index lookup on MongoDB); no hot path reads it. */
#include "config.h"
#include "lc_store_priv.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"

#include <stdlib.h>
#include <string.h>

/* Pieces read past those the limit needs: missing pieces (a writer killed before writing them)
 * are skipped, up to this many. Bounds a read. */
#define RECENT_SLACK_READS 2

static char *piece_id(const char *channel, const char *customer_id, int64_t last)
{
	return lc_asprintf("%s:%s:%lld", channel, customer_id, (long long)last);
}

/* The newest ts of items (ms), for a purge by date. */
static int64_t items_ts(json_object *items)
{
	int64_t ts = 0;
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		int64_t t = lc_json_get_int(json_object_array_get_idx(items, i), "ts", 0);
		if (t > ts)
			ts = t;
	}
	return ts;
}

/* Insert the pieces (unordered insertMany); a piece already there (a write retried after a lost
 * answer: the same messages) counts as written. */
static lc_rc pieces_insert(lc_store_t *s, const lc_store_recent_piece_t *p, size_t np,
			   lc_err_t *err)
{
	const bson_t **docs = lc_calloc(np, sizeof *docs);
	bool *ok = lc_calloc(np, sizeof *ok), *dup = lc_calloc(np, sizeof *dup);
	for (size_t i = 0; i < np; i++) {
		char *id = piece_id(p[i].channel, p[i].customer_id, p[i].last);
		bson_t *d = BCON_NEW("_id", BCON_UTF8(id));
		/* The messages as one JSON text, not an array of documents: FerretDB 1.24 finds a
		 * piece by reading every row before it, and parsing one string per row costs a
		 * seventh of parsing ten documents (5,000 pieces: 22 ms against 165 ms). */
		BSON_APPEND_UTF8(d, "j", json_object_to_json_string_ext(p[i].items,
									  JSON_C_TO_STRING_PLAIN));
		LC_APPEND_MS(d, "ts", items_ts(p[i].items));
		if (p[i].from > 0)
			BSON_APPEND_INT64(d, "f", p[i].from);
		docs[i] = d;
		free(id);
	}
	lc_rc rc = lc_store_insert_many(s, LC_COLL_RECENT, docs, np, ok, dup, err);
	for (size_t i = 0; i < np && rc == LC_OK; i++)
		if (!ok[i] && !dup[i])
			rc = lc_err_set(err, LC_ERR_INTERNAL, "a recent piece was refused");
	for (size_t i = 0; i < np; i++)
		bson_destroy((bson_t *)docs[i]);
	free(docs);
	free(ok);
	free(dup);
	return rc;
}

lc_rc lc_store_marks_write(lc_store_t *s, const lc_store_mark_t *marks, size_t n,
			   const lc_store_recent_piece_t *pieces, size_t np, lc_err_t *err)
{
	lc_rc rc = LC_OK;
	/* The pieces first: a reader that sees a room's new count finds its piece. */
	if (np > 0 && (rc = pieces_insert(s, pieces, np, err)) != LC_OK)
		return rc;
	if (n == 0)
		return LC_OK;
	bson_t **filters = lc_calloc(n, sizeof *filters);
	bson_t **updates = lc_calloc(n, sizeof *updates);
	for (size_t i = 0; i < n; i++) {
		filters[i] = BCON_NEW("_id", BCON_UTF8(marks[i].room_id));
		updates[i] = marks[i].recent >= 0
			? BCON_NEW("$max", "{", "seq", BCON_INT64(marks[i].seq),
				   "recent", BCON_INT64(marks[i].recent), "}")
			: BCON_NEW("$max", "{", "seq", BCON_INT64(marks[i].seq), "}");
	}
	rc = lc_store_update_each(s, LC_COLL_COUNTERS, (const bson_t *const *)filters,
				  (const bson_t *const *)updates, n, true, NULL, err);
	for (size_t i = 0; i < n; i++) {
		bson_destroy(filters[i]);
		bson_destroy(updates[i]);
	}
	free(filters);
	free(updates);
	return rc;
}

bool lc_store_recent_chain_add(lc_store_recent_chain_t *c, json_object *stored)
{
	if (c->block == NULL || c->count % LC_STORE_RECENT_BLOCK == 0) {
		json_object_put(c->block);   /* the next message starts a block */
		c->block = json_object_new_array();
		if (c->count % LC_STORE_RECENT_BLOCK == 0)
			c->from = 0;
	}
	json_object_array_add(c->block, lc_json_copy(stored));
	return ++c->count % LC_STORE_RECENT_BLOCK == 0;
}

json_object *lc_store_recent_chain_last(const lc_store_recent_chain_t *c)
{
	size_t n = c->block ? json_object_array_length(c->block) : 0;
	return n ? json_object_array_get_idx(c->block, n - 1) : NULL;
}

lc_store_recent_piece_t lc_store_recent_chain_piece(const lc_store_recent_chain_t *c,
						    const char *channel, const char *customer_id)
{
	size_t n = c->block ? json_object_array_length(c->block) : 0;
	json_object *copy = json_object_new_array_ext((int)(n ? n : 1));
	for (size_t i = 0; i < n; i++)
		json_object_array_add(copy, json_object_get(json_object_array_get_idx(c->block, i)));
	return (lc_store_recent_piece_t){ channel, customer_id, c->count, copy, c->from };
}

lc_store_recent_chain_t lc_store_recent_chain_headless(int64_t count)
{
	bool mid = count > 0 && count % LC_STORE_RECENT_BLOCK != 0;
	return (lc_store_recent_chain_t){ count, json_object_new_array(), mid ? count + 1 : 0 };
}

bool lc_store_recent_chain_join_head(lc_store_recent_chain_t *c, int64_t count, json_object *head,
				     int64_t from)
{
	size_t n = head ? json_object_array_length(head) : 0;
	/* Still in that block and still without its head (a new block sets from to 0). */
	if (n == 0 || count <= 0 || c->from != count + 1 || c->block == NULL) {
		json_object_put(head);
		return false;
	}
	for (size_t i = 0; i < json_object_array_length(c->block); i++)
		json_object_array_add(head, json_object_get(json_object_array_get_idx(c->block, i)));
	json_object_put(c->block);
	c->block = head;
	c->from = from;
	return true;
}

void lc_store_recent_chain_clear(lc_store_recent_chain_t *c)
{
	json_object_put(c->block);
	c->block = NULL;
}

/* The messages of piece `last` (oldest first) and its from (0: from its block's first), or an
 * empty array when there is none. */
static lc_rc piece_read(lc_store_t *s, const char *channel, const char *customer_id,
			int64_t last, json_object **items, int64_t *from, lc_err_t *err)
{
	json_object *doc = NULL, *m;
	char *id = piece_id(channel, customer_id, last);
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
	lc_rc rc = lc_store_find_one(s, LC_COLL_RECENT, filter, NULL, NULL, "piece", &doc, NULL,
				     err);
	bson_destroy(filter);
	free(id);
	*items = NULL;
	if (rc == LC_ERR_NOT_FOUND) {
		lc_err_clear(err);
		rc = LC_OK;
	}
	const char *text = rc == LC_OK && doc != NULL ? lc_json_get_str(doc, "j", NULL) : NULL;
	if (text != NULL) {
		lc_err_t perr;
		json_object *parsed = lc_json_parse(text, strlen(text), &perr);
		if (parsed != NULL && json_object_is_type(parsed, json_type_array))
			*items = parsed;
		else
			json_object_put(parsed);   /* not ours: read as a missing piece */
	} else if (rc == LC_OK && doc != NULL && json_object_object_get_ex(doc, "m", &m) &&
		   json_object_is_type(m, json_type_array)) {
		*items = json_object_get(m);   /* written before the JSON text (`m`: documents) */
	}
	/* A from outside the piece's block is not ours: read as the whole block. */
	int64_t f = *items != NULL ? lc_json_get_int(doc, "f", 0) : 0;
	*from = f > (last - 1) / LC_STORE_RECENT_BLOCK * LC_STORE_RECENT_BLOCK + 1 && f <= last ? f : 0;
	json_object_put(doc);
	if (rc == LC_OK && *items == NULL)
		*items = json_object_new_array();
	return rc;
}

lc_rc lc_store_recent_head(lc_store_t *s, const char *channel, const char *customer_id,
			   int64_t count, json_object **items, int64_t *from, lc_err_t *err)
{
	*from = 0;
	if (count <= 0 || count % LC_STORE_RECENT_BLOCK == 0) {
		*items = json_object_new_array();   /* the next message starts a block */
		return LC_OK;
	}
	lc_rc rc = piece_read(s, channel, customer_id, count, items, from, err);
	if (rc == LC_OK && json_object_array_length(*items) == 0)
		*from = count + 1;   /* missing (a writer killed before writing it) */
	return rc;
}

typedef struct ranked {
	json_object *m;
	int64_t ts, seq;
	size_t pos;
} ranked_t;

/* The order the query over messages gave: by time, seq within a room; stable otherwise. */
static int ranked_cmp(const void *a, const void *b)
{
	const ranked_t *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (strcmp(lc_json_get_str(x->m, "room_id", ""), lc_json_get_str(y->m, "room_id", "")) == 0 &&
	    x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static bool same_message(json_object *a, json_object *b)
{
	return strcmp(lc_json_get_str(a, "id", ""), lc_json_get_str(b, "id", "")) == 0 &&
	       strcmp(lc_json_get_str(a, "room_id", ""), lc_json_get_str(b, "room_id", "")) == 0;
}

/* Sorted, each message once (a message can be in two pieces when two writers of a room
 * overlapped in a failover), the newest limit. */
json_object *lc_store_recent_pick(json_object *all, int64_t limit)
{
	size_t n = json_object_array_length(all), k = 0;
	ranked_t *v = lc_calloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(all, i);
		v[i] = (ranked_t){ m, lc_json_get_int(m, "ts", 0), lc_json_get_int(m, "seq", 0), i };
	}
	qsort(v, n, sizeof *v, ranked_cmp);
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++)   /* at most a few hundred: no index needed */
			dup = same_message(v[j].m, v[i].m);
		if (!dup)
			v[k++] = v[i];
	}
	size_t from = limit > 0 && (size_t)limit < k ? k - (size_t)limit : 0;
	json_object *out = json_object_new_array_ext((int)(k - from));
	for (size_t i = from; i < k; i++)
		json_object_array_add(out, json_object_get(v[i].m));
	free(v);
	return out;
}

lc_rc lc_store_message_recent(lc_store_t *s, const char *room_id, const char *channel,
			      const char *customer_id, int64_t limit, json_object **items,
			      lc_err_t *err)
{
	int64_t count = -1;
	if (channel == NULL || customer_id == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "channel and customer id required");
	lc_rc rc = lc_store_recent_count(s, room_id, &count, err);
	if (rc != LC_OK)
		return rc;
	if (count < 0)
		return lc_err_set(err, LC_ERR_NOT_FOUND, "this room keeps no recent messages");
	if (limit <= 0 || limit > LC_STORE_RECENT_MAX)
		limit = LC_STORE_RECENT_MAX;
	/* The piece of the last message, then the full piece of each older block, until the limit
	 * is covered (a missing piece, a writer killed before writing it, is skipped); a piece that
	 * holds its block from message `from` on is followed by piece from - 1 (a read more, paid
	 * for by the messages it gave); then oldest first for the sort. */
	json_object *pieces = json_object_new_array();
	int64_t got = 0, reads = 0, from = 0;
	int64_t max_reads = limit / LC_STORE_RECENT_BLOCK + 2 + RECENT_SLACK_READS;
	for (int64_t last = count; rc == LC_OK && last > 0 && got < limit && reads++ < max_reads;
	     last = from > 0 ? from - 1 : (last - 1) / LC_STORE_RECENT_BLOCK * LC_STORE_RECENT_BLOCK) {
		json_object *one = NULL;
		rc = piece_read(s, channel, customer_id, last, &one, &from, err);
		if (rc != LC_OK)
			break;
		got += (int64_t)json_object_array_length(one);
		if (from > 0 && json_object_array_length(one) > 0)
			max_reads++;
		json_object_array_add(pieces, one);
	}
	json_object *all = json_object_new_array();
	for (size_t i = json_object_array_length(pieces); rc == LC_OK && i-- > 0;) {
		json_object *one = json_object_array_get_idx(pieces, i);
		for (size_t j = 0; j < json_object_array_length(one); j++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(one, j)));
	}
	json_object_put(pieces);
	if (rc == LC_OK)
		*items = lc_store_recent_pick(all, limit);
	json_object_put(all);
	return rc;
}
