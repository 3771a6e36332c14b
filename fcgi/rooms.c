/* SPDX-License-Identifier: MIT */
/* fcgi rooms: the chat rooms and their messages, read-only (live changes happen in wsd).
 * chats.monitor lists and reads every room; chats.history lists and reads the rooms the caller
 * took (and reads a waiting room offered to them). */
#include "config.h"
#include "middleware.h"
#include "lc_json.h"
#include "lc_room_status.h"

#include <string.h>

/* Fields the store keeps for its own bookkeeping, not part of the room resource. */
static void room_public(json_object *room)
{
	if (json_object_is_type(room, json_type_object)) {
		json_object_object_del(room, "declined_by");
		json_object_object_del(room, "last_seq");
	}
}

static bool declined_by(json_object *room, const char *user_id)
{
	json_object *list = NULL;
	if (!json_object_object_get_ex(room, "declined_by", &list) ||
	    !json_object_is_type(list, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(list, i));
		if (id != NULL && strcmp(id, user_id) == 0)
			return true;
	}
	return false;
}

/* An agent who did not take a room may not read it (issue 4, section 8); a supervisor with
 * chats.monitor watches every room. A waiting room is offered to everyone allowed to accept,
 * so its messages (what the customer wrote while waiting) are theirs to read until they decline
 * it or someone takes it: the dashboard shows the first one in the offer. */
static bool room_visible(const fcgi_ctx_t *ctx, json_object *room)
{
	if (fcgi_ctx_can(ctx, "chats.monitor"))
		return true;
	const char *agent_id = lc_json_get_str(room, "agent_id", NULL);
	if (agent_id != NULL && ctx->user_id != NULL && strcmp(agent_id, ctx->user_id) == 0)
		return true;
	return lc_room_status_parse(lc_json_get_str(room, "status", NULL)) == LC_ROOM_WAITING &&
	       fcgi_ctx_can(ctx, "chats.accept") && ctx->user_id != NULL &&
	       !declined_by(room, ctx->user_id);
}

/* A room the caller may not read is answered like an absent one (404), as canned responses
 * are: its id reveals nothing. */
static lc_rc load_room(fcgi_ctx_t *ctx, json_object **room, lc_err_t *err)
{
	lc_rc rc = fcgi_not_found(lc_store_room_get(ctx->store, fcgi_ctx_param(ctx, "id"), room,
						    err), err, "room");
	if (rc == LC_OK && !room_visible(ctx, *room)) {
		json_object_put(*room);
		*room = NULL;
		rc = lc_err_set(err, LC_ERR_NOT_FOUND, "no such room");
	}
	return rc;
}

static lc_rc list_rooms(fcgi_ctx_t *ctx, lc_err_t *err)
{
	int64_t skip, limit, total = 0;
	json_object *items = NULL;
	const char *status = fcgi_ctx_query_str(ctx, "status");
	fcgi_ctx_paging(ctx, &skip, &limit);
	/* Monitoring lists every room; chats.history alone lists the rooms the caller took. */
	lc_rc rc = fcgi_ctx_can(ctx, "chats.monitor")
		? lc_store_room_list(ctx->store, status, skip, limit, &items, &total, err)
		: lc_store_room_list_taken(ctx->store, ctx->user_id, status, skip, limit, &items,
					   &total, err);
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

static const lc_vrule_t list_query[] = {
	FCGI_PAGING_RULES,
	{ "status", LC_V_STRING, false, 0, 0, NULL, lc_room_status_names },
	LC_VRULE_END
};

static const lc_vrule_t messages_query[] = {
	{ "before_seq", LC_V_INT, false, 1, 0, NULL, NULL },
	{ "limit", LC_V_INT, false, 1, 200, NULL, NULL },
	LC_VRULE_END
};

const fcgi_route_t fcgi_rooms_routes[] = {
	{ "GET", "/api/rooms", 0, { "chats.monitor", "chats.history" }, NULL, list_query, list_rooms },
	{ "GET", "/api/rooms/{id}", 0, { "chats.monitor", "chats.history" }, NULL, NULL, get_room },
	{ "GET", "/api/rooms/{id}/messages", 0, { "chats.history", "chats.monitor" }, NULL,
	  messages_query, list_messages },
	FCGI_ROUTE_END
};
