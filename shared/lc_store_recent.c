/* SPDX-License-Identifier: MIT */
/* lc_store_recent: each customer's last messages, across their rooms, kept for accept so that it
 * reads a few documents by _id instead of a query over messages (a full scan on FerretDB 1.24).
 * They live in chunk documents of at most LC_STORE_RECENT_CHUNK messages in the counters
 * collection, appended ($push $each) in the same bulk write that raises the rooms' last_seq.
 * Each room's counter document carries rn, how many messages its customer's recent has had in
 * all: message number i (from 1) is in chunk (i - 1) / LC_STORE_RECENT_CHUNK, so a writer that
 * takes over knows where to go on, and a reader which chunks to read.
 * Small chunks because FerretDB rewrites the whole document on every update: a $push onto one
 * array of 500 messages took 60 ms here, onto a chunk of 50 about 6 (docs/store.md "recent"). */
#include "config.h"
#include "lc_store_priv.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"

#include <stdlib.h>
#include <string.h>

/* Chunks read past those the limit needs: a chunk holds fewer messages when two writers of a
 * room overlapped in a failover (both numbered from the same rn). Bounds a read. */
#define RECENT_SLACK_CHUNKS 2

static char *chunk_id(const char *channel, const char *customer_id, int64_t k)
{
	return lc_asprintf("recent:%s:%s:%lld", channel, customer_id, (long long)k);
}

lc_rc lc_store_marks_write(lc_store_t *s, const lc_store_mark_t *marks, size_t n,
			   const lc_store_recent_add_t *adds, size_t na, lc_err_t *err)
{
	bson_error_t e;
	lc_rc rc = LC_OK;
	if (n == 0 && na == 0)
		return LC_OK;
	bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
	bson_t *upsert = BCON_NEW("upsert", BCON_BOOL(true));
	mongoc_client_t *c = mongoc_client_pool_pop(s->pool);
	mongoc_collection_t *coll = mongoc_client_get_collection(c, s->db, LC_COLL_COUNTERS);
	mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(coll, opts);
	for (size_t i = 0; i < n; i++) {
		bson_t *filter = BCON_NEW("_id", BCON_UTF8(marks[i].room_id));
		bson_t *update = BCON_NEW("$max", "{", "seq", BCON_INT64(marks[i].seq), "}");
		if (marks[i].recent >= 0) {
			bson_destroy(update);
			update = BCON_NEW("$max", "{", "seq", BCON_INT64(marks[i].seq),
					  "rn", BCON_INT64(marks[i].recent), "}");
		}
		mongoc_bulk_operation_update_one_with_opts(bulk, filter, update, upsert, &e);
		bson_destroy(update);
		bson_destroy(filter);
	}
	for (size_t i = 0; i < na; i++) {
		char *id = chunk_id(adds[i].channel, adds[i].customer_id, adds[i].chunk);
		bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
		bson_t update = BSON_INITIALIZER, push, m;
		/* $push $each only: FerretDB 1.24 accepts $slice and ignores it; a chunk's size is
		 * bounded by its writer instead. */
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$push", &push);
		BSON_APPEND_DOCUMENT_BEGIN(&push, "m", &m);
		lc_store_append_json(&m, "$each", adds[i].items);
		bson_append_document_end(&push, &m);
		bson_append_document_end(&update, &push);
		mongoc_bulk_operation_update_one_with_opts(bulk, filter, &update, upsert, &e);
		bson_destroy(&update);
		bson_destroy(filter);
		free(id);
	}
	lc_store_count_op(s, LC_STORE_OP_UPDATE);
	if (!mongoc_bulk_operation_execute(bulk, NULL, &e))
		rc = lc_store_map_error(&e, err, NULL, NULL);
	mongoc_bulk_operation_destroy(bulk);
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(s->pool, c);
	bson_destroy(upsert);
	bson_destroy(opts);
	return rc;
}

lc_rc lc_store_seq_marks_raise(lc_store_t *s, const char *const *room_ids, const int64_t *seqs,
			       size_t n, lc_err_t *err)
{
	lc_store_mark_t *m = lc_calloc(n ? n : 1, sizeof *m);
	for (size_t i = 0; i < n; i++)
		m[i] = (lc_store_mark_t){ .room_id = room_ids[i], .seq = seqs[i], .recent = -1 };
	lc_rc rc = lc_store_marks_write(s, m, n, NULL, 0, err);
	free(m);
	return rc;
}

/* Append the messages of chunk k (oldest first) to all; a missing chunk adds nothing. */
static lc_rc chunk_read(lc_store_t *s, const char *channel, const char *customer_id, int64_t k,
			json_object *all, lc_err_t *err)
{
	json_object *doc = NULL, *m;
	char *id = chunk_id(channel, customer_id, k);
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
	lc_rc rc = lc_store_find_one(s, LC_COLL_COUNTERS, filter, NULL, NULL, "chunk", &doc, NULL,
				     err);
	bson_destroy(filter);
	free(id);
	if (rc == LC_ERR_NOT_FOUND) {
		lc_err_clear(err);
		return LC_OK;
	}
	if (rc == LC_OK && json_object_object_get_ex(doc, "m", &m) &&
	    json_object_is_type(m, json_type_array))
		for (size_t i = 0; i < json_object_array_length(m); i++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(m, i)));
	json_object_put(doc);
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

/* all: the chunks' messages, oldest chunk first. Sorted, each message once (a writer that
 * stored a chunk's $push twice after a lost answer), the newest limit. */
static json_object *recent_pick(json_object *all, int64_t limit)
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
	/* Newest chunk first, until the limit is covered; then oldest first for the sort. */
	json_object *chunks = json_object_new_array();
	int64_t got = 0, reads = 0;
	int64_t max_reads = limit / LC_STORE_RECENT_CHUNK + 2 + RECENT_SLACK_CHUNKS;
	for (int64_t k = (count - 1) / LC_STORE_RECENT_CHUNK;
	     rc == LC_OK && count > 0 && k >= 0 && got < limit && reads < max_reads; k--, reads++) {
		json_object *one = json_object_new_array();
		rc = chunk_read(s, channel, customer_id, k, one, err);
		got += (int64_t)json_object_array_length(one);
		json_object_array_add(chunks, one);
	}
	json_object *all = json_object_new_array();
	for (size_t i = json_object_array_length(chunks); rc == LC_OK && i-- > 0;) {
		json_object *one = json_object_array_get_idx(chunks, i);
		for (size_t j = 0; j < json_object_array_length(one); j++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(one, j)));
	}
	json_object_put(chunks);
	if (rc == LC_OK)
		*items = recent_pick(all, limit);
	json_object_put(all);
	return rc;
}
