/* SPDX-License-Identifier: MIT */
/* lc_store retention: what an administrator does with stored chats as a whole: purge closed
 * rooms past a retention date (with their messages, counters and recent copies) and export one
 * customer's rooms and messages (an access request). Closed rooms are in rooms until wsd's
 * writer sweeps them, in rooms_closed after: both are read. Used by livechatctl; never by a
 * request path. */
#include "config.h"
#include "lc_store_priv.h"
#include "lc_json.h"
#include "lc_time.h"

/* A gate this old is no write's in progress (a write holds one for milliseconds; one older
 * than 10 s is taken for a dead writer's, lc_store_rooms.c). */
#define GATE_PURGE_MS 60000

#define PURGE_BATCH 200

/* The ids of up to PURGE_BATCH closed rooms of coll closed before before_ms. */
static lc_rc closed_before(lc_store_t *s, const char *coll, int64_t before_ms,
			   json_object **items, lc_err_t *err)
{
	bson_t *filter = BCON_NEW("status", "closed", "closed_at", "{", "$lt",
				  BCON_DATE_TIME(before_ms), "}");
	bson_t *opts = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}",
				"limit", BCON_INT64(PURGE_BATCH));
	lc_rc rc = lc_store_find_many(s, coll, filter, opts, NULL, items, err);
	bson_destroy(filter);
	bson_destroy(opts);
	return rc;
}

/* Delete the messages and counters of the rooms in ids, then the rooms (still closed): a purge
 * cut short leaves rooms whose messages are gone, which the next run finishes. */
static lc_rc purge_rooms(lc_store_t *s, json_object *ids, int64_t *rooms, int64_t *messages,
			 lc_err_t *err)
{
	bson_t hexes = BSON_INITIALIZER, oids = BSON_INITIALIZER;
	int64_t n = 0;
	lc_rc rc;

	for (size_t i = 0; i < json_object_array_length(ids); i++) {
		const char *hex = lc_json_get_str(json_object_array_get_idx(ids, i), "id", "");
		bson_oid_t oid;
		char key[24];
		snprintf(key, sizeof key, "%zu", i);
		BSON_APPEND_UTF8(&hexes, key, hex);
		if (lc_store_oid_parse(hex, &oid))
			BSON_APPEND_OID(&oids, key, &oid);
	}
	bson_t *msgs = BCON_NEW("room_id", "{", "$in", BCON_ARRAY(&hexes), "}");
	bson_t *counters = BCON_NEW("_id", "{", "$in", BCON_ARRAY(&hexes), "}");
	bson_t *closed = BCON_NEW("_id", "{", "$in", BCON_ARRAY(&oids), "}", "status", "closed");
	if ((rc = lc_store_delete(s, LC_COLL_MESSAGES, msgs, true, &n, err)) != LC_OK)
		goto fail;
	*messages += n;
	if ((rc = lc_store_delete(s, LC_COLL_COUNTERS, counters, true, NULL, err)) != LC_OK ||
	    (rc = lc_store_delete(s, LC_COLL_COUNTERS_CLOSED, counters, true, NULL, err)) != LC_OK)
		goto fail;
	if ((rc = lc_store_delete(s, LC_COLL_ROOMS, closed, true, &n, err)) != LC_OK)
		goto fail;
	*rooms += n;
	if ((rc = lc_store_delete(s, LC_COLL_ROOMS_CLOSED, closed, true, &n, err)) != LC_OK)
		goto fail;
	*rooms += n;
fail:
	bson_destroy(msgs);
	bson_destroy(counters);
	bson_destroy(closed);
	bson_destroy(&hexes);
	bson_destroy(&oids);
	return rc;
}

lc_rc lc_store_purge_closed(lc_store_t *s, int64_t before_ms, int64_t *rooms, int64_t *messages,
			    lc_err_t *err)
{
	lc_rc rc;

	*rooms = *messages = 0;
	static const char *const colls[] = { LC_COLL_ROOMS_CLOSED, LC_COLL_ROOMS };
	for (size_t c = 0; c < sizeof colls / sizeof *colls; c++) {
		for (;;) {
			json_object *ids = NULL;
			if ((rc = closed_before(s, colls[c], before_ms, &ids, err)) != LC_OK)
				return rc;
			size_t n = json_object_array_length(ids);
			rc = n > 0 ? purge_rooms(s, ids, rooms, messages, err) : LC_OK;
			json_object_put(ids);
			if (rc != LC_OK)
				return rc;
			if (n < PURGE_BATCH)
				break;
		}
	}
	/* The copies in the customers' recent (lc_store_recent.c) whose newest message is older:
	 * accept then shows less of those customers' past. */
	bson_t *old = BCON_NEW("ts", "{", "$lt", BCON_DATE_TIME(before_ms), "}");
	rc = lc_store_delete(s, LC_COLL_RECENT, old, true, NULL, err);
	bson_destroy(old);
	/* The room gates past any write in progress (docs/store.md "room_gates"): those of rooms
	 * that never retire stay until here. */
	bson_t *gates = BCON_NEW("at", "{", "$lt", BCON_DATE_TIME(lc_real_ms() - GATE_PURGE_MS), "}");
	if (rc == LC_OK)
		rc = lc_store_delete(s, LC_COLL_ROOM_GATES, gates, true, NULL, err);
	bson_destroy(gates);
	return rc;
}

static int by_created(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
	int64_t tx = lc_json_get_int(x, "created_at", 0), ty = lc_json_get_int(y, "created_at", 0);
	return tx < ty ? -1 : tx > ty;
}

lc_rc lc_store_customer_export(lc_store_t *s, const char *channel, const char *customer_id,
			       json_object **out, lc_err_t *err)
{
	json_object *rooms = NULL, *open = NULL;
	bson_t *filter = BCON_NEW("channel", BCON_UTF8(channel), "customer_id", BCON_UTF8(customer_id));
	bson_t *opts = BCON_NEW("sort", "{", "created_at", BCON_INT32(1), "}");
	bson_t *by_seq = BCON_NEW("sort", "{", "seq", BCON_INT32(1), "}");
	static const char *const internal[] = { "open_key", "rev", NULL };
	lc_rc rc;

	*out = NULL;
	if ((rc = lc_store_find_many(s, LC_COLL_ROOMS_CLOSED, filter, opts, internal, &rooms,
				     err)) != LC_OK ||
	    (rc = lc_store_find_many(s, LC_COLL_ROOMS, filter, opts, internal, &open, err)) != LC_OK)
		goto fail;
	/* The customer's rooms of both collections, oldest first. */
	for (size_t i = 0; i < json_object_array_length(open); i++)
		json_object_array_add(rooms, json_object_get(json_object_array_get_idx(open, i)));
	json_object_array_sort(rooms, by_created);
	for (size_t i = 0; i < json_object_array_length(rooms); i++) {
		json_object *room = json_object_array_get_idx(rooms, i), *msgs = NULL;
		bson_t *in_room = BCON_NEW("room_id", BCON_UTF8(lc_json_get_str(room, "id", "")));
		rc = lc_store_find_many(s, LC_COLL_MESSAGES, in_room, by_seq, NULL, &msgs, err);
		bson_destroy(in_room);
		if (rc != LC_OK)
			goto fail;
		json_object_object_add(room, "messages", msgs);
	}
	*out = json_object_new_object();
	json_object_object_add(*out, "channel", json_object_new_string(channel));
	json_object_object_add(*out, "customer_id", json_object_new_string(customer_id));
	json_object_object_add(*out, "rooms", rooms);
	rooms = NULL;
fail:
	json_object_put(rooms);
	json_object_put(open);
	bson_destroy(filter);
	bson_destroy(opts);
	bson_destroy(by_seq);
	return rc;
}
