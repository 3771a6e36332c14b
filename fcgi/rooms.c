/* fcgi rooms: the chat rooms and their messages, read-only (live changes happen in wsd).
 * Listing rooms is monitoring (chats.monitor); reading a room's messages is history
 * (chats.history, or chats.monitor). */
#include "config.h"
#include "middleware.h"
#include "lc_json.h"

/* Fields the store keeps for its own bookkeeping, not part of the room resource. */
static void room_public(json_object *room)
{
	if (json_object_is_type(room, json_type_object)) {
		json_object_object_del(room, "declined_by");
		json_object_object_del(room, "last_seq");
	}
}

static lc_rc load_room(fcgi_ctx_t *ctx, json_object **room, lc_err_t *err)
{
	return fcgi_not_found(lc_store_room_get(ctx->store, fcgi_ctx_param(ctx, "id"), room, err),
			      err, "room");
}

static lc_rc list_rooms(fcgi_ctx_t *ctx, lc_err_t *err)
{
	int64_t skip, limit, total = 0;
	json_object *items = NULL;
	fcgi_ctx_paging(ctx, &skip, &limit);
	lc_rc rc = lc_store_room_list(ctx->store, fcgi_ctx_query_str(ctx, "status"), skip, limit,
				      &items, &total, err);
	return fcgi_ctx_reply_list(ctx, rc, items, total, skip, limit, room_public);
}

static lc_rc get_room(fcgi_ctx_t *ctx, lc_err_t *err)
{
	json_object *room = NULL;
	lc_rc rc = load_room(ctx, &room, err);
	room_public(room);
	return fcgi_ctx_reply_rc(ctx, rc, 200, room);
}

static lc_rc list_messages(fcgi_ctx_t *ctx, lc_err_t *err)
{
	json_object *room = NULL, *items = NULL;
	int64_t limit = fcgi_ctx_query_int(ctx, "limit", FCGI_DEFAULT_PAGE_SIZE);
	lc_rc rc = load_room(ctx, &room, err);
	json_object_put(room);
	if (rc != LC_OK)
		return rc;
	rc = lc_store_message_list_before(ctx->store, fcgi_ctx_param(ctx, "id"),
					  fcgi_ctx_query_int(ctx, "before_seq", 0), limit, &items, err);
	if (rc != LC_OK)
		return rc;
	size_t n = json_object_array_length(items);
	json_object *out = json_object_new_object();
	json_object_object_add(out, "items", items);
	/* A full page may have older messages behind it; a short one is the beginning. */
	if (n > 0 && (int64_t)n == limit)
		json_object_object_add(out, "next_before_seq", json_object_new_int64(
			lc_json_get_int(json_object_array_get_idx(items, n - 1), "seq", 0)));
	else
		json_object_object_add(out, "next_before_seq", NULL);
	return fcgi_ctx_reply(ctx, 200, out);
}

static const char *const room_statuses[] = { "waiting", "engaged", "closed", NULL };

static const lc_vrule_t list_query[] = {
	FCGI_PAGING_RULES,
	{ "status", LC_V_STRING, false, 0, 0, NULL, room_statuses },
	LC_VRULE_END
};

static const lc_vrule_t messages_query[] = {
	{ "before_seq", LC_V_INT, false, 1, 0, NULL, NULL },
	{ "limit", LC_V_INT, false, 1, 200, NULL, NULL },
	LC_VRULE_END
};

const fcgi_route_t fcgi_rooms_routes[] = {
	{ "GET", "/api/rooms", 0, { "chats.monitor" }, NULL, list_query, list_rooms },
	{ "GET", "/api/rooms/{id}", 0, { "chats.monitor", "chats.history" }, NULL, NULL, get_room },
	{ "GET", "/api/rooms/{id}/messages", 0, { "chats.history", "chats.monitor" }, NULL,
	  messages_query, list_messages },
	FCGI_ROUTE_END
};
