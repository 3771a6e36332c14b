/* lc_store_messages: chat messages. _id is the caller's msg_id, so a redelivered message is
 * stored once. seq comes from a per-room counter document ($inc in the counters collection,
 * _id = room id) and (room_id, seq) is unique: where the counter is not atomic (FerretDB 1.24
 * rewrites documents, so two concurrent $inc can return the same value) the unique index turns
 * the collision into a duplicate-key error and the append takes the next number. */
#include "config.h"
#include "lc_store_priv.h"

#include <string.h>

/* Rounds of "take a seq, insert" before giving up; each lost round means another writer got
 * the number, so this bounds the number of simultaneous writers to one room we tolerate. */
#define SEQ_ATTEMPTS 100

static const char *const omit_none[] = { NULL };

static bool sender_ok(const char *sender)
{
	return sender != NULL && (strcmp(sender, "customer") == 0 || strcmp(sender, "agent") == 0 ||
				  strcmp(sender, "system") == 0);
}

static lc_rc next_seq(lc_store_t *s, const char *room_hex, int64_t *seq, lc_err_t *err)
{
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(room_hex));
	bson_t *update = BCON_NEW("$inc", "{", "seq", BCON_INT64(1), "}");
	lc_rc rc = LC_ERR_CONFLICT;
	/* Two first appends to a room may both upsert the counter: one gets a duplicate key and
	 * simply increments the document the other created. */
	for (int i = 0; i < 5 && rc == LC_ERR_CONFLICT; i++) {
		bson_t raw;
		rc = lc_store_find_modify(s, LC_COLL_COUNTERS, filter, update, true, NULL, "counter",
					  NULL, &raw, NULL, NULL, err);
		if (rc == LC_OK) {
			bson_iter_t it;
			*seq = bson_iter_init_find(&it, &raw, "seq") && BSON_ITER_HOLDS_NUMBER(&it)
				       ? bson_iter_as_int64(&it) : 0;
			bson_destroy(&raw);
		}
	}
	bson_destroy(update);
	bson_destroy(filter);
	return rc;
}

lc_rc lc_store_message_append(lc_store_t *s, const char *msg_id, const char *room_id,
			      const char *sender, const char *author, const char *text,
			      int64_t ts_ms, json_object **out, bool *duplicate, lc_err_t *err)
{
	bson_oid_t oid;
	char hex[25];
	bson_t room;
	lc_rc rc;

	*duplicate = false;
	if (msg_id == NULL || *msg_id == '\0')
		return lc_err_set_field(err, LC_ERR_INVALID, "id", "message id missing");
	if (!sender_ok(sender))
		return lc_err_set_field(err, LC_ERR_INVALID, "sender", "invalid sender");
	if (text == NULL)
		return lc_err_set_field(err, LC_ERR_INVALID, "text", "text missing");
	if (!lc_store_oid_parse(room_id, &oid))
		return lc_err_set(err, LC_ERR_NOT_FOUND, "room not found");
	bson_oid_to_string(&oid, hex);
	if (ts_ms <= 0)
		ts_ms = lc_store_now_ms();

	bson_t *by_id = BCON_NEW("_id", BCON_UTF8(msg_id));
	rc = lc_store_find_one(s, LC_COLL_MESSAGES, by_id, NULL, NULL, "message", out, NULL, err);
	if (rc == LC_OK) {
		*duplicate = true;
		goto done;
	}
	if (rc != LC_ERR_NOT_FOUND)
		goto done;
	bson_t *room_filter = BCON_NEW("_id", BCON_OID(&oid));
	rc = lc_store_find_one(s, LC_COLL_ROOMS, room_filter, NULL, NULL, "room", NULL, &room, err);
	bson_destroy(room_filter);
	if (rc != LC_OK)
		goto done;

	bson_iter_t it;
	const char *channel = bson_iter_init_find(&it, &room, "channel") &&
			      BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
	const char *customer_id = bson_iter_init_find(&it, &room, "customer_id") &&
				  BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
	rc = lc_err_set(err, LC_ERR_INTERNAL, "could not allocate a message sequence number");
	for (int attempt = 0; attempt < SEQ_ATTEMPTS; attempt++) {
		int64_t seq;
		rc = next_seq(s, hex, &seq, err);
		if (rc != LC_OK)
			break;
		bson_t *doc = BCON_NEW("_id", BCON_UTF8(msg_id), "room_id", BCON_UTF8(hex),
				       "channel", BCON_UTF8(channel),
				       "customer_id", BCON_UTF8(customer_id), "seq", BCON_INT64(seq),
				       "sender", BCON_UTF8(sender));
		if (author != NULL)
			BSON_APPEND_UTF8(doc, "author", author);
		else
			BSON_APPEND_NULL(doc, "author");
		BCON_APPEND(doc, "text", BCON_UTF8(text), "ts", BCON_DATE_TIME(ts_ms));
		rc = lc_store_insert(s, LC_COLL_MESSAGES, doc, "message already exists", NULL, err);
		if (rc == LC_OK && out != NULL)
			*out = lc_store_to_json(doc, omit_none);
		bson_destroy(doc);
		if (rc != LC_ERR_CONFLICT)
			break;
		/* Either the same msg_id arrived concurrently (stored once: return it), or another
		 * writer got this seq: take the next. */
		rc = lc_store_find_one(s, LC_COLL_MESSAGES, by_id, NULL, NULL, "message", out, NULL,
				       err);
		if (rc == LC_OK) {
			*duplicate = true;
			break;
		}
		if (rc != LC_ERR_NOT_FOUND)
			break;
		rc = lc_err_set(err, LC_ERR_INTERNAL,
				"could not allocate a message sequence number");
	}
	bson_destroy(&room);
done:
	if (rc == LC_OK)
		lc_err_clear(err);
	bson_destroy(by_id);
	return rc;
}

static lc_rc room_filter(const char *room_id, bson_t *filter, lc_err_t *err)
{
	bson_oid_t oid;
	char hex[25];
	if (!lc_store_oid_parse(room_id, &oid))
		return lc_err_set(err, LC_ERR_NOT_FOUND, "room not found");
	bson_oid_to_string(&oid, hex);
	BSON_APPEND_UTF8(filter, "room_id", hex);
	return LC_OK;
}

lc_rc lc_store_message_list_after(lc_store_t *s, const char *room_id, int64_t after_seq,
				  int64_t limit, json_object **items, lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	bson_t *sort = BCON_NEW("seq", BCON_INT32(1));
	lc_rc rc = room_filter(room_id, &filter, err);

	if (rc == LC_OK) {
		if (after_seq >= 0)
			BCON_APPEND(&filter, "seq", "{", "$gt", BCON_INT64(after_seq), "}");
		rc = lc_store_find_page(s, LC_COLL_MESSAGES, &filter, sort, 0, limit, NULL, items,
					NULL, err);
	}
	bson_destroy(sort);
	bson_destroy(&filter);
	return rc;
}

lc_rc lc_store_message_list_before(lc_store_t *s, const char *room_id, int64_t before_seq,
				   int64_t limit, json_object **items, lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	bson_t *sort = BCON_NEW("seq", BCON_INT32(-1));
	lc_rc rc = room_filter(room_id, &filter, err);

	if (rc == LC_OK) {
		if (before_seq > 0)
			BCON_APPEND(&filter, "seq", "{", "$lt", BCON_INT64(before_seq), "}");
		rc = lc_store_find_page(s, LC_COLL_MESSAGES, &filter, sort, 0, limit, NULL, items,
					NULL, err);
	}
	bson_destroy(sort);
	bson_destroy(&filter);
	return rc;
}

lc_rc lc_store_message_history(lc_store_t *s, const char *channel, const char *customer_id,
			       int64_t limit, json_object **items, lc_err_t *err)
{
	bson_t opts = BSON_INITIALIZER;
	json_object *newest_first = NULL;

	if (channel == NULL || customer_id == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "channel and customer id required");
	bson_t *filter = BCON_NEW("channel", BCON_UTF8(channel), "customer_id", BCON_UTF8(customer_id));
	/* Newest N by time (seq breaks ties inside a room), then turned around: oldest first. */
	bson_t *sort = BCON_NEW("ts", BCON_INT32(-1), "seq", BCON_INT32(-1));
	lc_store_page_opts(&opts, sort, 0, limit);
	lc_rc rc = lc_store_find_many(s, LC_COLL_MESSAGES, filter, &opts, NULL, &newest_first, err);
	if (rc == LC_OK) {
		size_t n = json_object_array_length(newest_first);
		*items = json_object_new_array_ext((int)n);
		for (size_t i = n; i > 0; i--)
			json_object_array_add(*items,
					      json_object_get(json_object_array_get_idx(newest_first,
											 i - 1)));
		json_object_put(newest_first);
	}
	bson_destroy(sort);
	bson_destroy(filter);
	bson_destroy(&opts);
	return rc;
}
