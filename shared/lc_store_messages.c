/* SPDX-License-Identifier: MIT */
/* lc_store_messages: chat messages. _id is "<room id>:<msg_id>", so a redelivered message is
 * stored once in its room, and the same msg_id in another room is another message. seq comes
 * from a per-room counter document ($inc in the counters collection, _id = room id), by one
 * (append) or by a block the caller reserves (lc_store_seq_reserve, for a writer that allocates
 * seqs itself and stores batches with insertMany). (room_id, seq) is unique: where the counter
 * is not atomic (FerretDB 1.24 rewrites documents, so two concurrent $inc can return the same
 * value) the unique index turns the collision into a duplicate-key error and the append takes
 * the next number. */
#include "config.h"
#include "lc_store_priv.h"
#include "lc_json.h"
#include "lc_alloc.h"
#include "lc_log.h"
#include "lc_message.h"

#include <stdlib.h>
#include <string.h>

/* Rounds of "take a seq, insert" before giving up; each lost round means another writer got
 * the number, so this bounds the number of simultaneous writers to one room we tolerate. */
#define SEQ_ATTEMPTS 100

static const char *const omit_internal[] = { "msg_id", NULL };

static bool sender_ok(const char *sender)
{
	return lc_sender_parse(sender) != LC_SENDER_UNKNOWN;
}

/* The stored _id is room-scoped; clients know a message by its msg_id. Messages stored before
 * ids were room-scoped have no msg_id field: their _id is the msg_id. */
static json_object *message_json(const bson_t *doc)
{
	bson_iter_t it;
	json_object *o = lc_store_to_json(doc, omit_internal);
	if (bson_iter_init_find(&it, doc, "msg_id") && BSON_ITER_HOLDS_UTF8(&it))
		json_object_object_add(o, "id", json_object_new_string(bson_iter_utf8(&it, NULL)));
	return o;
}

/* In place, for lists read with lc_store_find_* (which cannot know about msg_id). */
static void message_ids_fix(json_object *items)
{
	for (size_t i = 0; items != NULL && i < json_object_array_length(items); i++) {
		json_object *m = json_object_array_get_idx(items, i), *mid;
		if (json_object_object_get_ex(m, "msg_id", &mid)) {
			json_object_object_add(m, "id", json_object_get(mid));
			json_object_object_del(m, "msg_id");
		}
	}
}

static char *stored_id(const char *room_hex, const char *msg_id)
{
	return lc_asprintf("%s:%s", room_hex, msg_id);
}

/* The message document as stored. */
static bson_t *message_doc(const char *room_hex, const char *msg_id, const char *channel,
			   const char *customer_id, int64_t seq, const char *sender,
			   const char *author, const char *text, int64_t ts_ms)
{
	char *id = stored_id(room_hex, msg_id);
	bson_t *doc = BCON_NEW("_id", BCON_UTF8(id), "msg_id", BCON_UTF8(msg_id),
			       "room_id", BCON_UTF8(room_hex), "channel", BCON_UTF8(channel),
			       "customer_id", BCON_UTF8(customer_id), "seq", BCON_INT64(seq),
			       "sender", BCON_UTF8(sender));
	free(id);
	if (author != NULL)
		BSON_APPEND_UTF8(doc, "author", author);
	else
		BSON_APPEND_NULL(doc, "author");
	BCON_APPEND(doc, "text", BCON_UTF8(text), "ts", BCON_DATE_TIME(ts_ms));
	return doc;
}

static lc_rc get_by_stored_id(lc_store_t *s, const char *room_hex, const char *msg_id,
			      json_object **out, lc_err_t *err)
{
	char *id = stored_id(room_hex, msg_id);
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
	bson_t raw;
	lc_rc rc = lc_store_find_one(s, LC_COLL_MESSAGES, filter, NULL, NULL, "message", NULL,
				     &raw, err);
	if (rc == LC_OK) {
		if (out != NULL)
			*out = message_json(&raw);
		bson_destroy(&raw);
	}
	bson_destroy(filter);
	free(id);
	return rc;
}

lc_rc lc_store_message_get(lc_store_t *s, const char *room_id, const char *msg_id,
			   json_object **out, lc_err_t *err)
{
	bson_oid_t oid;
	char hex[25];
	if (!lc_store_oid_parse(room_id, &oid) || msg_id == NULL)
		return lc_err_set(err, LC_ERR_NOT_FOUND, "message not found");
	bson_oid_to_string(&oid, hex);
	return get_by_stored_id(s, hex, msg_id, out, err);
}

/* $inc the room's counter by count; *seq: the counter after. */
static lc_rc counter_add(lc_store_t *s, const char *room_hex, int64_t count, int64_t *seq,
			 lc_err_t *err)
{
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(room_hex));
	bson_t *update = BCON_NEW("$inc", "{", "seq", BCON_INT64(count), "}");
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

static int64_t doc_int(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it)
		       ? bson_iter_as_int64(&it) : 0;
}

/* room_id (24 hex digits) as the hex _id of its counter; NOT_FOUND when it is no room id. */
static lc_rc room_hex(const char *room_id, char hex[25], lc_err_t *err)
{
	bson_oid_t oid;
	if (!lc_store_oid_parse(room_id, &oid))
		return lc_err_set(err, LC_ERR_NOT_FOUND, "room not found");
	bson_oid_to_string(&oid, hex);
	return LC_OK;
}

lc_rc lc_store_counter_get(lc_store_t *s, const char *hex, bson_t *cur, bool *live, lc_err_t *err)
{
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(hex));
	lc_rc rc = lc_store_find_one(s, LC_COLL_COUNTERS, filter, NULL, NULL, "counter", NULL, cur,
				     err);
	*live = rc == LC_OK;
	if (rc == LC_ERR_NOT_FOUND) {
		lc_err_clear(err);
		rc = lc_store_find_one(s, LC_COLL_COUNTERS_CLOSED, filter, NULL, NULL, "counter", NULL,
				       cur, err);
	}
	bson_destroy(filter);
	return rc;
}

/* The room's counter document: last_seq, the highest seq reserved, and its recent count (-1
 * when it keeps none: lc_store_recent.c). A room without one has 0, 0 and -1. */
static lc_rc counter_marks(lc_store_t *s, const char *room_id, int64_t *last, int64_t *reserved,
			   int64_t *recent, lc_err_t *err)
{
	char hex[25];
	bson_t cur;
	bson_iter_t it;
	bool live;
	*last = *reserved = 0;
	*recent = -1;
	if (room_hex(room_id, hex, err) != LC_OK)
		return LC_ERR_NOT_FOUND;
	lc_rc rc = lc_store_counter_get(s, hex, &cur, &live, err);
	if (rc == LC_OK) {
		*last = doc_int(&cur, "seq");
		*reserved = doc_int(&cur, "reserved");
		if (bson_iter_init_find(&it, &cur, "recent") && BSON_ITER_HOLDS_NUMBER(&it))
			*recent = bson_iter_as_int64(&it);
		bson_destroy(&cur);
	} else if (rc == LC_ERR_NOT_FOUND) {
		rc = LC_OK;
		lc_err_clear(err);
	}
	return rc;
}

lc_rc lc_store_seq_marks(lc_store_t *s, const char *room_id, int64_t *last, int64_t *reserved,
			 lc_err_t *err)
{
	int64_t recent;
	return counter_marks(s, room_id, last, reserved, &recent, err);
}

lc_rc lc_store_recent_count(lc_store_t *s, const char *room_id, int64_t *count, lc_err_t *err)
{
	int64_t last, reserved;
	return counter_marks(s, room_id, &last, &reserved, count, err);
}

/* The counter document keeps two marks: seq, the highest seq stored (the room's last_seq), and
 * reserved, the highest seq handed to a writer in a block. A block starts above both. */
lc_rc lc_store_seq_reserve(lc_store_t *s, const char *room_id, int64_t count, int64_t *first,
			   int64_t *last_before, lc_err_t *err)
{
	return lc_store_seq_reserve_above(s, room_id, count, 0, first, last_before, err);
}

lc_rc lc_store_seq_reserve_above(lc_store_t *s, const char *room_id, int64_t count, int64_t above,
				 int64_t *first, int64_t *last_before, lc_err_t *err)
{
	char hex[25];
	lc_rc rc;
	if (count < 1)
		return lc_err_set(err, LC_ERR_INVALID, "reserve at least one seq");
	if (room_hex(room_id, hex, err) != LC_OK)
		return LC_ERR_NOT_FOUND;
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(hex));
	bson_t cur;
	bool live = false;
	rc = lc_store_counter_get(s, hex, &cur, &live, err);
	int64_t seq = 0, reserved = 0;
	if (rc == LC_OK) {
		seq = doc_int(&cur, "seq");
		reserved = doc_int(&cur, "reserved");
		bson_destroy(&cur);
	} else if (rc == LC_ERR_NOT_FOUND) {
		rc = LC_OK;
		lc_err_clear(err);
	}
	int64_t base = seq > reserved ? seq : reserved;
	if (above > base)
		base = above;
	if (rc == LC_OK) {
		/* A retired counter (a late message for a room closed and swept) starts a live one
		 * again, above it: the $inc then starts from 0. */
		int64_t from = live ? reserved : 0;
		bson_t *update = BCON_NEW("$inc", "{", "reserved", BCON_INT64(base - from + count),
					  "}");
		bson_t after;
		rc = lc_store_find_modify(s, LC_COLL_COUNTERS, filter, update, true, NULL, "counter",
					  NULL, &after, NULL, NULL, err);
		if (rc == LC_OK) {
			*first = doc_int(&after, "reserved") - count + 1;
			bson_destroy(&after);
		}
		bson_destroy(update);
	}
	bson_destroy(filter);
	if (rc == LC_OK && last_before != NULL)
		*last_before = seq;
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
		ts_ms = lc_real_ms();

	/* A redelivered message is found first (an _id lookup), so it takes no seq: last_seq
	 * stays the seq of the last stored message. */
	rc = get_by_stored_id(s, hex, msg_id, out, err);
	if (rc == LC_OK) {
		*duplicate = true;
		lc_err_clear(err);
		return rc;
	}
	if (rc != LC_ERR_NOT_FOUND)
		return rc;
	bool live;
	rc = lc_store_room_raw(s, &oid, &room, &live, err);
	if (rc != LC_OK)
		return rc;

	bson_iter_t it;
	const char *channel = bson_iter_init_find(&it, &room, "channel") &&
			      BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
	const char *customer_id = bson_iter_init_find(&it, &room, "customer_id") &&
				  BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
	rc = lc_err_set(err, LC_ERR_INTERNAL, "could not allocate a message sequence number");
	for (int attempt = 0; attempt < SEQ_ATTEMPTS; attempt++) {
		int64_t seq;
		rc = counter_add(s, hex, 1, &seq, err);
		if (rc != LC_OK)
			break;
		bson_t *doc = message_doc(hex, msg_id, channel, customer_id, seq, sender, author,
					  text, ts_ms);
		rc = lc_store_insert(s, LC_COLL_MESSAGES, doc, "message already exists", NULL, err);
		if (rc == LC_OK) {
			atomic_fetch_add_explicit(&s->messages_stored, 1, memory_order_relaxed);
			if (out != NULL)
				*out = message_json(doc);
		}
		bson_destroy(doc);
		if (rc != LC_ERR_CONFLICT)
			break;
		/* Either the same msg_id is stored already (return it), or another writer got
		 * this seq: take the next. */
		rc = get_by_stored_id(s, hex, msg_id, out, err);
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
	if (rc == LC_OK)
		lc_err_clear(err);
	return rc;
}

/* A message of a batch that cannot be stored as given: FAILED with a reason, before sending. */
static bool batch_msg_valid(lc_store_msg_t *m, char *hex)
{
	bson_oid_t oid;
	lc_err_clear(&m->err);
	if (m->msg_id == NULL || *m->msg_id == '\0')
		lc_err_set_field(&m->err, LC_ERR_INVALID, "id", "message id missing");
	else if (!sender_ok(m->sender))
		lc_err_set_field(&m->err, LC_ERR_INVALID, "sender", "invalid sender");
	else if (m->text == NULL)
		lc_err_set_field(&m->err, LC_ERR_INVALID, "text", "text missing");
	else if (m->seq < 1)
		lc_err_set_field(&m->err, LC_ERR_INVALID, "seq", "seq must be positive");
	else if (!lc_store_oid_parse(m->room_id, &oid))
		lc_err_set(&m->err, LC_ERR_NOT_FOUND, "room not found");
	else
		bson_oid_to_string(&oid, hex);
	return m->err.code == LC_OK;
}

/* After a batch stored without a room writer (lc_store_message_insert_batch: a node without
 * RabbitMQ, tests): each room's last_seq raised to its highest stored seq, and its stored
 * messages added to its customer's recent after the count the room recorded (its counter and
 * the head of its block read by _id), in one insertMany and one bulk write. A room writer going
 * on meanwhile from a count of its own writes pieces of the same numbers: the first one stays. */
static void raise_marks(lc_store_t *s, const lc_store_msg_t *msgs, size_t n, char (*hex)[25])
{
	lc_store_mark_t *marks = lc_calloc(n ? n : 1, sizeof *marks);
	lc_store_recent_chain_t *chains = lc_calloc(n ? n : 1, sizeof *chains);
	lc_store_recent_piece_t *pieces = lc_calloc(2 * n + 1, sizeof *pieces);
	size_t *who = lc_calloc(n ? n : 1, sizeof *who);   /* a stored message of room r */
	size_t nr = 0, np = 0;
	lc_err_t err;
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].result != LC_STORE_MSG_STORED)
			continue;
		const char *channel = msgs[i].channel ? msgs[i].channel : "";
		const char *customer = msgs[i].customer_id ? msgs[i].customer_id : "";
		size_t r = 0;
		while (r < nr && strcmp(marks[r].room_id, hex[i]) != 0)
			r++;
		if (r == nr) {
			marks[nr] = (lc_store_mark_t){ .room_id = hex[i], .recent = -1 };
			if (lc_store_recent_count(s, hex[i], &marks[nr].recent, &err) != LC_OK)
				LC_WARN("room %s: its recent count: %s", hex[i], err.reason);
			chains[nr].count = marks[nr].recent;
			if (marks[nr].recent >= 0 &&
			    lc_store_recent_head(s, channel, customer, marks[nr].recent,
						 &chains[nr].block, &chains[nr].from, &err) != LC_OK) {
				LC_WARN("room %s: its recent: %s", hex[i], err.reason);
				marks[nr].recent = -1;
			}
			nr++;
		}
		if (msgs[i].seq > marks[r].seq)
			marks[r].seq = msgs[i].seq;
		if (marks[r].recent < 0)
			continue;   /* a room from before recent */
		bool full = lc_store_recent_chain_add(&chains[r], msgs[i].stored);
		marks[r].recent = chains[r].count;
		/* A full block's piece now; the open block's once, after the loop. */
		if (full)
			pieces[np++] = lc_store_recent_chain_piece(&chains[r], channel, customer);
		who[r] = i;
	}
	for (size_t r = 0; r < nr; r++)
		if (marks[r].recent > 0 && marks[r].recent % LC_STORE_RECENT_BLOCK != 0)
			pieces[np++] = lc_store_recent_chain_piece(
				&chains[r], msgs[who[r]].channel ? msgs[who[r]].channel : "",
				msgs[who[r]].customer_id ? msgs[who[r]].customer_id : "");
	/* A failure leaves last_seq behind until the room's next batch: the messages are stored
	 * all the same. */
	if (lc_store_marks_write(s, marks, nr, pieces, np, &err) != LC_OK)
		LC_WARN("raising the seq marks of %zu rooms: %s", nr, err.reason);
	for (size_t p = 0; p < np; p++)
		json_object_put(pieces[p].items);
	for (size_t r = 0; r < nr; r++)
		lc_store_recent_chain_clear(&chains[r]);
	free(marks);
	free(chains);
	free(pieces);
	free(who);
}

/* A message the database refused: a redelivery (its id stored: answered with the stored one,
 * one _id lookup) or a seq someone else stored. LC_OK, or the lookup's failure (then it is not
 * known which: the call fails, and the batch is tried again whole). */
static lc_rc batch_refused(lc_store_t *s, lc_store_msg_t *m, const char *hex, bool dupkey,
			   lc_err_t *err)
{
	if (!dupkey) {
		lc_err_set(&m->err, LC_ERR_INTERNAL, "the database refused the message");
		return LC_OK;
	}
	lc_rc grc = get_by_stored_id(s, hex, m->msg_id, &m->stored, err);
	if (grc == LC_OK) {
		m->result = LC_STORE_MSG_DUPLICATE;
		lc_err_clear(err);
	} else if (grc == LC_ERR_NOT_FOUND) {
		lc_err_clear(err);
		lc_err_set_field(&m->err, LC_ERR_CONFLICT, "seq", "seq %lld of room %s is taken",
				 (long long)m->seq, m->room_id);
		grc = LC_OK;
	}
	return grc;
}

/* A room's messages are stored in their order: the ones after a message refused for its seq
 * are not sent (they come back as CONFLICT on "seq", to be given new seqs after it). Out of
 * pend[from .. *np), in place. */
static void hold_room_after(lc_store_msg_t *msgs, size_t *pend, size_t from, size_t *np,
			    const char *hex_of_room, char (*hex)[25])
{
	size_t keep = from;
	for (size_t i = from; i < *np; i++) {
		lc_store_msg_t *m = &msgs[pend[i]];
		if (strcmp(hex[pend[i]], hex_of_room) != 0) {
			pend[keep++] = pend[i];
			continue;
		}
		lc_err_set_field(&m->err, LC_ERR_CONFLICT, "seq",
				 "held behind a message of room %s whose seq was taken", m->room_id);
	}
	*np = keep;
}

/* The valid messages (indexes pend[0 .. np)) in ordered insertMany calls: one when none is
 * refused, one more after each refused message for those behind it. LC_OK when the server
 * answered each call. */
static lc_rc insert_in_order(lc_store_t *s, lc_store_msg_t *msgs, const bson_t **docs,
			     char (*hex)[25], size_t *pend, size_t np, lc_err_t *err)
{
	const bson_t **send = lc_calloc(np ? np : 1, sizeof *send);
	lc_rc rc = LC_OK;
	while (np > 0) {
		size_t stored = 0;
		bool dupkey = false;
		for (size_t i = 0; i < np; i++)
			send[i] = docs[pend[i]];
		rc = lc_store_insert_ordered(s, LC_COLL_MESSAGES, send, np, &stored, &dupkey, err);
		if (rc != LC_OK)
			break;
		for (size_t i = 0; i < stored; i++) {
			lc_store_msg_t *m = &msgs[pend[i]];
			m->result = LC_STORE_MSG_STORED;
			m->stored = message_json(docs[pend[i]]);
			atomic_fetch_add_explicit(&s->messages_stored, 1, memory_order_relaxed);
		}
		if (stored == np)
			break;
		size_t k = pend[stored];
		rc = batch_refused(s, &msgs[k], hex[k], dupkey, err);
		if (rc != LC_OK)
			break;
		if (msgs[k].result == LC_STORE_MSG_FAILED && msgs[k].err.code == LC_ERR_CONFLICT &&
		    strcmp(msgs[k].err.field, "seq") == 0)
			hold_room_after(msgs, pend, stored + 1, &np, hex[k], hex);
		memmove(pend, pend + stored + 1, (np - stored - 1) * sizeof *pend);
		np -= stored + 1;
	}
	free(send);
	return rc;
}

static lc_rc insert_batch(lc_store_t *s, lc_store_msg_t *msgs, size_t n, bool marks,
			  lc_err_t *err)
{
	const bson_t **docs = lc_calloc(n ? n : 1, sizeof *docs);
	size_t *pend = lc_calloc(n ? n : 1, sizeof *pend);
	char (*hex)[25] = lc_calloc(n ? n : 1, sizeof *hex);
	size_t np = 0;
	lc_rc rc = LC_OK;
	lc_err_t batch_err;

	LC_CHECK_OBJ(s, LC_STORE_MAGIC);
	lc_err_clear(&batch_err);
	for (size_t i = 0; i < n; i++) {
		lc_store_msg_t *m = &msgs[i];
		m->result = LC_STORE_MSG_FAILED;
		m->stored = NULL;
		if (!batch_msg_valid(m, hex[i]))
			continue;
		docs[i] = message_doc(hex[i], m->msg_id, m->channel ? m->channel : "",
				      m->customer_id ? m->customer_id : "", m->seq, m->sender,
				      m->author, m->text, m->ts_ms > 0 ? m->ts_ms : lc_real_ms());
		pend[np++] = i;
	}
	if (np > 0)
		rc = insert_in_order(s, msgs, docs, hex, pend, np, &batch_err);
	for (size_t i = 0; i < n; i++) {
		if (docs[i] == NULL)
			continue;   /* invalid: its own reason */
		bson_destroy((bson_t *)docs[i]);
		if (rc == LC_OK)
			continue;
		/* A call after the first failed: what the first ones stored, a retry reports as
		 * DUPLICATE. */
		json_object_put(msgs[i].stored);
		msgs[i].stored = NULL;
		msgs[i].result = LC_STORE_MSG_FAILED;
		lc_err_set(&msgs[i].err, rc, "%s", batch_err.reason);
	}
	if (rc == LC_OK && marks)
		raise_marks(s, msgs, n, hex);
	free(docs);
	free(pend);
	free(hex);
	if (rc == LC_OK)
		lc_err_clear(err);
	else
		lc_err_set(err, rc, "%s", batch_err.reason);
	return rc;
}

lc_rc lc_store_message_insert_batch(lc_store_t *s, lc_store_msg_t *msgs, size_t n, lc_err_t *err)
{
	return insert_batch(s, msgs, n, true, err);
}

lc_rc lc_store_message_insert_many(lc_store_t *s, lc_store_msg_t *msgs, size_t n, lc_err_t *err)
{
	return insert_batch(s, msgs, n, false, err);
}

static lc_rc room_filter(const char *room_id, bson_t *filter, lc_err_t *err)
{
	char hex[25];
	if (room_hex(room_id, hex, err) != LC_OK)
		return LC_ERR_NOT_FOUND;
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
	if (rc == LC_OK)
		message_ids_fix(*items);
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
	if (rc == LC_OK)
		message_ids_fix(*items);
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
		message_ids_fix(newest_first);
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

lc_rc lc_store_message_first_customer(lc_store_t *s, const char *room_id, json_object **msg,
				      lc_err_t *err)
{
	json_object *page = NULL;
	*msg = NULL;
	lc_rc rc = lc_store_message_list_after(s, room_id, 0, 50, &page, err);
	for (size_t i = 0; rc == LC_OK && i < json_object_array_length(page) && *msg == NULL; i++) {
		json_object *stored = json_object_array_get_idx(page, i);
		lc_message_t m;
		lc_message_view(&m, stored);
		if (m.sender == LC_SENDER_CUSTOMER)
			*msg = json_object_get(stored);
	}
	json_object_put(page);
	return rc;
}

lc_rc lc_store_counter_retire(lc_store_t *s, const char *room_id, lc_err_t *err)
{
	char hex[25];
	bson_t cur;
	bool live;
	if (room_hex(room_id, hex, err) != LC_OK)
		return LC_ERR_NOT_FOUND;
	lc_rc rc = lc_store_counter_get(s, hex, &cur, &live, err);
	if (rc == LC_ERR_NOT_FOUND || (rc == LC_OK && !live)) {
		if (rc == LC_OK)
			bson_destroy(&cur);
		lc_err_clear(err);
		return LC_OK;   /* nothing live to move */
	}
	if (rc != LC_OK)
		return rc;
	/* The copy first (a copy already there, from an earlier retirement, stays), then the live
	 * one goes: a reader in between finds the live one. */
	rc = lc_store_insert(s, LC_COLL_COUNTERS_CLOSED, &cur, NULL, NULL, err);
	bson_destroy(&cur);
	if (rc == LC_ERR_CONFLICT) {
		lc_err_clear(err);
		rc = LC_OK;
	}
	if (rc == LC_OK) {
		bson_t *filter = BCON_NEW("_id", BCON_UTF8(hex));
		rc = lc_store_delete(s, LC_COLL_COUNTERS, filter, false, NULL, err);
		bson_destroy(filter);
	}
	return rc;
}
