/* wsd_agent: frames of /ws/agent (docs/websocket.md). Each action is checked on the loop
 * (permissions, room membership), runs its MongoDB part on a worker (a job below), and finishes
 * on the loop: frames to the agent, publishes to the gateway and to other nodes. */
#include "config.h"
#include "agent.h"
#include "gateway.h"
#include "room.h"
#include "worker.h"
#include "lc_alloc.h"
#include "lc_auth.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_perm.h"
#include "lc_settings.h"
#include "lc_validate.h"

#include <stdlib.h>
#include <string.h>

#define ROOM_ID_RULE { "room_id", LC_V_STRING, true, 1, 64, "^[A-Za-z0-9_-]+$", NULL }
#define CLIENT_ID_PATTERN "^[A-Za-z0-9_-]{1,64}$"
#define RESUME_MAX 5000

/* One struct for every agent job: the request, then the results. */
typedef struct ajob {
	uint64_t handle;
	json_object *ref;
	char *op;
	char *token, *user_id, *display_name, *room_id, *client_id, *text, *canned_id;
	char *channel, *customer_id, *customer_name;
	unsigned perms;
	int64_t n1, n2;
	lc_rc rc;
	lc_err_t err;
	json_object *user, *perm_list, *room, *items, *msg;
	char *text2;
	bool dup;
} ajob_t;

static ajob_t *ajob_new(wsd_conn_t *c, const char *op, json_object *ref)
{
	ajob_t *j = lc_calloc(1, sizeof *j);
	j->handle = c->handle;
	j->ref = ref ? json_object_get(ref) : NULL;
	j->op = lc_strdup(op);
	j->user_id = lc_strdup(c->user_id);
	j->display_name = lc_strdup(c->display_name);
	j->perms = c->perms;
	j->rc = LC_ERR_UNAVAILABLE;
	return j;
}

static void ajob_free(ajob_t *j)
{
	json_object_put(j->ref);
	free(j->op);
	free(j->token);
	free(j->user_id);
	free(j->display_name);
	free(j->room_id);
	free(j->client_id);
	free(j->text);
	free(j->canned_id);
	free(j->channel);
	free(j->customer_id);
	free(j->customer_name);
	json_object_put(j->user);
	json_object_put(j->perm_list);
	json_object_put(j->room);
	json_object_put(j->items);
	json_object_put(j->msg);
	free(j->text2);
	free(j);
}

static json_object *frame_new(const char *type, json_object *ref)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(type));
	wsd_conn_add_ref(o, ref);
	return o;
}

/* The worker key for a room: the customer's when known, so the room's jobs stay in order. */
static void submit(wsd_t *w, ajob_t *j, wsd_fn run, wsd_fn done)
{
	char *key = (j->channel && j->customer_id) ? wsd_gateway_key(j->channel, j->customer_id)
						   : lc_strdup(j->room_id ? j->room_id : j->user_id);
	wsd_workers_submit(w->workers, key, run, done, j);
	free(key);
}

static unsigned perm_bits(json_object *perms)
{
	unsigned b = 0;
	if (lc_perm_has(perms, "chats.accept")) b |= WSD_P_ACCEPT;
	if (lc_perm_has(perms, "chats.monitor")) b |= WSD_P_MONITOR;
	if (lc_perm_has(perms, "chats.history")) b |= WSD_P_HISTORY;
	if (lc_perm_has(perms, "chats.end_any")) b |= WSD_P_END_ANY;
	if (lc_perm_has(perms, "canned.all")) b |= WSD_P_CANNED_ALL;
	return b;
}

/* ---- authentication and the periodic session check */

static void auth_run(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	char hash[LC_AUTH_TOKEN_HASH_LEN + 1];
	json_object *sess = NULL, *group = NULL;
	lc_auth_token_hash(j->token, hash);
	j->rc = lc_store_session_get(w->store, hash, &sess, &j->err);
	if (j->rc == LC_ERR_NOT_FOUND)
		j->rc = LC_ERR_UNAUTHORIZED;
	if (j->rc != LC_OK)
		goto out;
	const char *uid = lc_json_get_str(sess, "user_id", "");
	j->rc = lc_store_user_get(w->store, uid, &j->user, &j->err);
	if (j->rc == LC_ERR_NOT_FOUND || (j->rc == LC_OK && !lc_json_get_bool(j->user, "active", false)))
		j->rc = LC_ERR_UNAUTHORIZED;
	if (j->rc != LC_OK)
		goto out;
	json_object_object_del(j->user, "password_hash");
	j->rc = lc_store_group_get(w->store, lc_json_get_str(j->user, "group", ""), &group, &j->err);
	if (j->rc == LC_ERR_NOT_FOUND)
		j->rc = LC_ERR_FORBIDDEN;
	if (j->rc != LC_OK)
		goto out;
	json_object *perms = NULL;
	json_object_object_get_ex(group, "permissions", &perms);
	j->perm_list = perms ? json_object_get(perms) : json_object_new_array();
	j->perms = perm_bits(j->perm_list);
	if (!(j->perms & (WSD_P_ACCEPT | WSD_P_MONITOR))) {
		j->rc = LC_ERR_FORBIDDEN;
		goto out;
	}
	if (strcmp(j->op, "auth") == 0)
		j->rc = lc_store_room_list_agent(w->store, uid, &j->items, &j->err);
out:
	json_object_put(sess);
	json_object_put(group);
}

static void auth_refused(wsd_conn_t *c, lc_rc rc, const char *why)
{
	if (rc == LC_ERR_FORBIDDEN) {
		wsd_conn_error(c, "forbidden", "the user may neither accept nor monitor chats", NULL);
		wsd_conn_close(c, 4403, "forbidden");
	} else if (rc == LC_ERR_UNAUTHORIZED) {
		wsd_conn_error(c, "unauthorized", why, NULL);
		wsd_conn_close(c, 4401, "unauthorized");
	} else {
		wsd_conn_error(c, "unavailable", "the session cannot be checked now: reconnect later", NULL);
		wsd_conn_close(c, 1011, "unavailable");
	}
}

static void auth_done(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	wsd_conn_t *c = w->stop ? NULL : wsd_conn_find(w, j->handle);
	if (c == NULL)
		goto out;
	if (j->rc != LC_OK) {
		LC_INFO("agent connection refused: %s", lc_rc_name(j->rc));
		auth_refused(c, j->rc, "invalid or expired session");
		goto out;
	}
	c->user_id = lc_strdup(lc_json_get_str(j->user, "id", ""));
	c->username = lc_strdup(lc_json_get_str(j->user, "username", ""));
	c->display_name = lc_strdup(lc_json_get_str(j->user, "display_name", c->username));
	if (*c->display_name == '\0') {
		free(c->display_name);
		c->display_name = lc_strdup(c->username);
	}
	c->permissions = json_object_get(j->perm_list);
	c->perms = j->perms;

	json_object *h = frame_new("hello", NULL);
	json_object_object_add(h, "node", json_object_new_string(w->node_id));
	json_object *u = json_object_new_object();
	json_object_object_add(u, "id", json_object_new_string(c->user_id));
	json_object_object_add(u, "username", json_object_new_string(c->username));
	json_object_object_add(u, "display_name", json_object_new_string(c->display_name));
	json_object_object_add(u, "permissions", json_object_get(c->permissions));
	json_object_object_add(h, "user", u);
	json_object *s = json_object_new_object();
	json_object_object_add(s, "history_limit", json_object_new_int(atomic_load(&w->history_limit)));
	json_object_object_add(s, "reconnect_grace", json_object_new_int(atomic_load(&w->reconnect_grace)));
	json_object_object_add(s, "request_timeout", json_object_new_int(atomic_load(&w->request_timeout)));
	json_object_object_add(h, "settings", s);
	json_object_object_add(h, "rooms", j->items ? json_object_get(j->items) : json_object_new_array());
	c->hello = h;
	LC_INFO("agent %s connected", c->username);
	wsd_room_agent_online(w, c);
out:
	ajob_free(j);
}

void wsd_agent_open(wsd_conn_t *c)
{
	ajob_t *j = ajob_new(c, "auth", NULL);
	j->token = lc_strdup(c->token);
	wsd_workers_submit(c->w->workers, NULL, auth_run, auth_done, j);
}

static void check_done(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	wsd_conn_t *c = w->stop ? NULL : wsd_conn_find(w, j->handle);
	if (c != NULL && (j->rc == LC_ERR_UNAUTHORIZED || j->rc == LC_ERR_FORBIDDEN)) {
		LC_INFO("agent %s: session revoked", c->username ? c->username : "?");
		wsd_conn_error(c, "unauthorized", "session revoked", NULL);
		wsd_conn_close(c, 4401, "revoked");
	} else if (c != NULL && j->rc == LC_OK) {
		c->perms = j->perms;
	}
	ajob_free(j);
}

void wsd_agent_check_session(wsd_t *w, wsd_conn_t *c)
{
	if (c->kind != WSD_AGENT || c->token == NULL || c->state == WSD_CS_CLOSING)
		return;
	ajob_t *j = ajob_new(c, "check", NULL);
	j->token = lc_strdup(c->token);
	wsd_workers_submit(w->workers, NULL, auth_run, check_done, j);
}

/* ---- accept */

static int64_t max_seq_of_room(json_object *items, const char *room_id)
{
	int64_t m = 0;
	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		json_object *it = json_object_array_get_idx(items, i);
		const char *rid = lc_json_get_str(it, "room_id", NULL);
		int64_t s = lc_json_get_int(it, "seq", 0);
		if ((room_id == NULL || (rid && strcmp(rid, room_id) == 0)) && s > m)
			m = s;
	}
	return m;
}

static void accept_run(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	j->rc = lc_store_room_claim(w->store, j->room_id, j->user_id, j->display_name, &j->room,
				    &j->err);
	if (j->rc != LC_OK)
		return;
	json_object *set = wsd_settings_get(w);
	const char *cname = lc_json_get_str(j->room, "customer_name", "");
	char *text = wsd_settings_render(set, "join_message", j->display_name, cname);
	char *mid = lc_asprintf("%s-join", j->room_id);
	lc_err_t err;
	if (lc_store_message_append(w->store, mid, j->room_id, "system", "", text, wsd_now_ms(),
				    &j->msg, &j->dup, &err) != LC_OK)
		LC_WARN("room %s: storing the join message: %s", j->room_id, err.reason);
	free(mid);
	free(text);
	int64_t limit = lc_json_get_int(set, "history_limit", 50);
	json_object_put(set);
	if (lc_store_message_history(w->store, lc_json_get_str(j->room, "channel", ""),
				     lc_json_get_str(j->room, "customer_id", ""), limit,
				     &j->items, &err) != LC_OK) {
		LC_WARN("room %s: reading history: %s", j->room_id, err.reason);
		j->items = json_object_new_array();
	}
}

static void accept_done(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	if (w->stop)
		goto out;
	wsd_conn_t *c = wsd_conn_find(w, j->handle);
	if (j->rc == LC_OK) {
		LC_INFO("room %s taken by %s", j->room_id, j->user_id);
		/* The claim happened: tell everyone even if the agent is gone already. */
		json_object *b = frame_new("taken", NULL);
		json_object_object_add(b, "room_id", json_object_new_string(j->room_id));
		json_object_object_add(b, "agent_id", json_object_new_string(j->user_id));
		wsd_room_broadcast(w, "taken", b);
		json_object_put(b);
		if (j->msg) {
			json_object *o = wsd_gateway_out_new("agent_joined",
							     lc_json_get_str(j->msg, "id", ""), j->room);
			json_object_object_add(o, "seq", json_object_new_int64(lc_json_get_int(j->msg, "seq", 0)));
			json_object *a = json_object_new_object();
			json_object_object_add(a, "id", json_object_new_string(j->user_id));
			json_object_object_add(a, "name", json_object_new_string(j->display_name));
			json_object_object_add(o, "agent", a);
			json_object_object_add(o, "text", json_object_new_string(lc_json_get_str(j->msg, "text", "")));
			wsd_room_publish_outbound(w, o, NULL, NULL);
			json_object_put(o);
		}
		if (c == NULL) {
			wsd_room_grace_start(w, j->user_id, j->room_id,
					     lc_json_get_str(j->room, "channel", ""),
					     lc_json_get_str(j->room, "customer_id", ""));
			goto out;
		}
		wsd_croom_t *r = wsd_croom_add(c, j->room_id, lc_json_get_str(j->room, "channel", NULL),
					       lc_json_get_str(j->room, "customer_id", NULL),
					       lc_json_get_str(j->room, "customer_name", NULL),
					       WSD_CR_JOINING, false);
		json_object *f = frame_new("accepted", j->ref);
		json_object *room = json_object_get(j->room);
		json_object_object_del(room, "declined_by");
		json_object_object_add(f, "room", room);
		json_object_object_add(f, "history", json_object_get(j->items));
		wsd_conn_send(c, f);
		json_object_put(f);
		wsd_croom_live(c, r, max_seq_of_room(j->items, j->room_id));
		goto out;
	}
	if (c == NULL)
		goto out;
	wsd_croom_t *mine = wsd_croom_find(c, j->room_id);
	if (mine && !mine->watch && mine->state == WSD_CR_JOINING)
		wsd_croom_remove(c, j->room_id);
	if (j->rc == LC_ERR_CONFLICT) {
		json_object *f = frame_new("already_taken", j->ref);
		json_object_object_add(f, "room_id", json_object_new_string(j->room_id));
		wsd_conn_send(c, f);
		json_object_put(f);
	} else {
		wsd_conn_error_rc(c, j->rc, j->err.reason, j->ref);
	}
out:
	ajob_free(j);
}

/* ---- decline */

static void decline_run(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	j->rc = lc_store_room_decline(w->store, j->room_id, j->user_id, &j->err);
	if (j->rc == LC_OK)
		j->rc = lc_store_room_get(w->store, j->room_id, &j->room, &j->err);
}

static void decline_done(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	if (w->stop)
		goto out;
	wsd_conn_t *c = wsd_conn_find(w, j->handle);
	if (j->rc == LC_OK) {
		json_object *b = frame_new("declined", NULL);
		json_object_object_add(b, "room_id", json_object_new_string(j->room_id));
		json_object_object_add(b, "user_id", json_object_new_string(j->user_id));
		wsd_room_broadcast(w, "declined", b);
		json_object_put(b);
		if (c) {
			json_object *f = frame_new("request_withdrawn", j->ref);
			json_object_object_add(f, "room_id", json_object_new_string(j->room_id));
			json_object_object_add(f, "reason", json_object_new_string("declined"));
			wsd_conn_send(c, f);
			json_object_put(f);
		}
		wsd_room_check_declined(w, j->room);
	} else if (c) {
		wsd_conn_error_rc(c, j->rc, j->err.reason, j->ref);
	}
out:
	ajob_free(j);
}

/* ---- message */

static void message_run(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	if (j->canned_id) {
		json_object *canned = NULL;
		j->rc = lc_store_canned_get(w->store, j->canned_id, &canned, &j->err);
		if (j->rc != LC_OK)
			return;
		if (strcmp(lc_json_get_str(canned, "owner_id", ""), j->user_id) != 0 &&
		    !(j->perms & WSD_P_CANNED_ALL)) {
			json_object_put(canned);
			j->rc = lc_err_set(&j->err, LC_ERR_FORBIDDEN, "not your canned response");
			return;
		}
		j->text = lc_settings_render(lc_json_get_str(canned, "text", ""),
						    j->display_name, j->customer_name);
		json_object_put(canned);
	}
	char *mid = lc_asprintf("a-%s-%s", j->user_id, j->client_id);
	j->rc = lc_store_message_append(w->store, mid, j->room_id, "agent", j->display_name, j->text,
					wsd_now_ms(), &j->msg, &j->dup, &j->err);
	free(mid);
}

static void message_done(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	if (w->stop)
		goto out;
	wsd_conn_t *c = wsd_conn_find(w, j->handle);
	if (j->rc != LC_OK) {
		if (c)
			wsd_conn_error_rc(c, j->rc, j->err.reason, j->ref);
		goto out;
	}
	json_object *room = json_object_new_object();
	json_object_object_add(room, "id", json_object_new_string(j->room_id));
	json_object_object_add(room, "channel", json_object_new_string(j->channel));
	json_object_object_add(room, "customer_id", json_object_new_string(j->customer_id));
	json_object *o = wsd_gateway_out_new("agent_message", lc_json_get_str(j->msg, "id", ""), room);
	json_object_put(room);
	json_object_object_add(o, "seq", json_object_new_int64(lc_json_get_int(j->msg, "seq", 0)));
	json_object *a = json_object_new_object();
	json_object_object_add(a, "id", json_object_new_string(j->user_id));
	json_object_object_add(a, "name", json_object_new_string(j->display_name));
	json_object_object_add(o, "agent", a);
	json_object_object_add(o, "text", json_object_new_string(lc_json_get_str(j->msg, "text", "")));
	wsd_room_publish_outbound(w, o, NULL, NULL);
	json_object_put(o);

	/* For watchers (key room.<id>.-: never back to the agent's own connections). */
	json_object *ev = frame_new("message", NULL);
	json_object_object_add(ev, "room_id", json_object_new_string(j->room_id));
	json_object_object_add(ev, "message", json_object_get(j->msg));
	wsd_room_publish_event(w, j->room_id, NULL, ev, NULL, NULL);
	json_object_put(ev);

	if (c) {
		json_object *f = frame_new("ack", j->ref);
		json_object_object_add(f, "id", json_object_new_string(j->client_id));
		json_object_object_add(f, "room_id", json_object_new_string(j->room_id));
		json_object_object_add(f, "message", json_object_get(j->msg));
		wsd_conn_send(c, f);
		json_object_put(f);
	}
out:
	ajob_free(j);
}

/* ---- end */

static void end_run(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	json_object *room = NULL;
	j->rc = lc_store_room_get(w->store, j->room_id, &room, &j->err);
	if (j->rc != LC_OK)
		return;
	if (strcmp(lc_json_get_str(room, "agent_id", ""), j->user_id) != 0 &&
	    !(j->perms & WSD_P_END_ANY)) {
		json_object_put(room);
		j->rc = lc_err_set(&j->err, LC_ERR_FORBIDDEN, "not your room");
		return;
	}
	json_object_put(room);
	j->rc = lc_store_room_close(w->store, j->room_id, "agent_ended", &j->room, &j->err);
	if (j->rc == LC_ERR_CONFLICT)
		lc_err_set(&j->err, LC_ERR_CONFLICT, "the room is already closed");
	if (j->rc != LC_OK)
		return;
	json_object *set = wsd_settings_get(w);
	const char *agent = lc_json_get_str(j->room, "agent_name", j->display_name);
	const char *cust = lc_json_get_str(j->room, "customer_name", "");
	char *text = wsd_settings_render(set, "end_message_customer", agent, cust);
	j->text2 = wsd_settings_render(set, "end_message_agent", agent, cust);
	json_object_put(set);
	char *mid = lc_asprintf("%s-end", j->room_id);
	lc_err_t err;
	if (lc_store_message_append(w->store, mid, j->room_id, "system", "", text, wsd_now_ms(),
				    &j->msg, &j->dup, &err) != LC_OK)
		LC_WARN("room %s: storing the end message: %s", j->room_id, err.reason);
	free(mid);
	free(text);
}

static void end_done(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	if (w->stop)
		goto out;
	wsd_conn_t *c = wsd_conn_find(w, j->handle);
	if (j->rc != LC_OK) {
		if (c)
			wsd_conn_error_rc(c, j->rc, j->err.reason, j->ref);
		goto out;
	}
	LC_INFO("room %s ended by %s", j->room_id, j->user_id);
	json_object *o = wsd_gateway_out_new("session_ended",
					     j->msg ? lc_json_get_str(j->msg, "id", "") : j->room_id,
					     j->room);
	if (j->msg)
		json_object_object_add(o, "seq", json_object_new_int64(lc_json_get_int(j->msg, "seq", 0)));
	json_object_object_add(o, "reason", json_object_new_string("agent_ended"));
	json_object_object_add(o, "text", json_object_new_string(j->msg ? lc_json_get_str(j->msg, "text", "") : ""));
	wsd_room_publish_outbound(w, o, NULL, NULL);
	json_object_put(o);

	if (c)
		wsd_croom_remove(c, j->room_id);
	json_object *ev = frame_new("ended", NULL);
	json_object_object_add(ev, "room_id", json_object_new_string(j->room_id));
	json_object_object_add(ev, "reason", json_object_new_string("agent_ended"));
	json_object_object_add(ev, "text", json_object_new_string(j->text2 ? j->text2 : ""));
	const char *agent = lc_json_get_str(j->room, "agent_id", NULL);
	if (agent)
		json_object_object_add(ev, "agent_id", json_object_new_string(agent));
	wsd_room_publish_event(w, j->room_id, agent, ev, NULL, NULL);
	json_object_object_del(ev, "agent_id");
	if (c) {
		wsd_conn_add_ref(ev, j->ref);
		wsd_conn_send(c, ev);
	}
	json_object_put(ev);
out:
	ajob_free(j);
}

/* ---- history, resume, watch */

static void history_run(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	json_object *items = NULL;
	j->rc = lc_store_message_list_before(w->store, j->room_id, j->n1, j->n2 + 1, &items, &j->err);
	if (j->rc != LC_OK)
		return;
	/* Newest first from the store, one extra to learn whether more exist. */
	size_t n = json_object_array_length(items);
	bool more = n > (size_t)j->n2;
	if (more)
		n = (size_t)j->n2;
	j->items = json_object_new_array();
	for (size_t i = n; i-- > 0;)
		json_object_array_add(j->items, json_object_get(json_object_array_get_idx(items, i)));
	json_object_put(items);
	j->dup = more;
}

static void history_done(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	wsd_conn_t *c = w->stop ? NULL : wsd_conn_find(w, j->handle);
	if (c == NULL)
		goto out;
	if (j->rc != LC_OK) {
		wsd_conn_error_rc(c, j->rc, j->err.reason, j->ref);
		goto out;
	}
	json_object *f = frame_new("history", j->ref);
	json_object_object_add(f, "room_id", json_object_new_string(j->room_id));
	json_object_object_add(f, "has_more", json_object_new_boolean(j->dup));
	json_object_object_add(f, "messages", json_object_get(j->items));
	wsd_conn_send(c, f);
	json_object_put(f);
out:
	ajob_free(j);
}

static void resume_run(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	j->rc = lc_store_room_get(w->store, j->room_id, &j->room, &j->err);
	if (j->rc != LC_OK)
		return;
	bool watch = strcmp(j->op, "watch") == 0;
	if (!watch && strcmp(lc_json_get_str(j->room, "status", ""), "engaged") != 0) {
		j->rc = lc_err_set(&j->err, LC_ERR_CONFLICT, "the room is not open");
		return;
	}
	if (!watch && strcmp(lc_json_get_str(j->room, "agent_id", ""), j->user_id) != 0) {
		j->rc = lc_err_set(&j->err, LC_ERR_FORBIDDEN, "not your room");
		return;
	}
	if (watch) {
		json_object *items = NULL;
		int64_t limit = atomic_load(&w->history_limit);
		j->rc = lc_store_message_list_before(w->store, j->room_id, 0, limit, &items, &j->err);
		if (j->rc != LC_OK)
			return;
		j->items = json_object_new_array();
		for (size_t i = json_object_array_length(items); i-- > 0;)
			json_object_array_add(j->items, json_object_get(json_object_array_get_idx(items, i)));
		json_object_put(items);
		return;
	}
	j->items = json_object_new_array();
	int64_t after = j->n1;
	for (;;) {
		json_object *page = NULL;
		j->rc = lc_store_message_list_after(w->store, j->room_id, after, 500, &page, &j->err);
		if (j->rc != LC_OK)
			return;
		size_t n = json_object_array_length(page);
		for (size_t i = 0; i < n; i++) {
			json_object *m = json_object_array_get_idx(page, i);
			json_object_array_add(j->items, json_object_get(m));
			after = lc_json_get_int(m, "seq", after);
		}
		json_object_put(page);
		if (n < 500 || json_object_array_length(j->items) >= RESUME_MAX)
			break;
	}
}

static void resume_done(wsd_t *w, void *arg)
{
	ajob_t *j = arg;
	wsd_conn_t *c = w->stop ? NULL : wsd_conn_find(w, j->handle);
	if (c == NULL)
		goto out;
	bool watch = strcmp(j->op, "watch") == 0;
	wsd_croom_t *r = wsd_croom_find(c, j->room_id);
	if (r == NULL)
		goto out;   /* unwatched or ended meanwhile */
	if (j->rc != LC_OK) {
		if (watch)
			wsd_room_unwatch(w, c, j->room_id);
		else
			wsd_croom_remove(c, j->room_id);
		wsd_conn_error_rc(c, j->rc, j->err.reason, j->ref);
		goto out;
	}
	if (r->channel == NULL)
		r->channel = lc_strdup(lc_json_get_str(j->room, "channel", ""));
	if (r->customer_id == NULL)
		r->customer_id = lc_strdup(lc_json_get_str(j->room, "customer_id", ""));
	if (r->customer_name == NULL)
		r->customer_name = lc_strdup(lc_json_get_str(j->room, "customer_name", ""));
	json_object *f = frame_new(watch ? "watching" : "resumed", j->ref);
	json_object_object_add(f, "room_id", json_object_new_string(j->room_id));
	if (watch) {
		json_object *room = json_object_get(j->room);
		json_object_object_del(room, "declined_by");
		json_object_object_add(f, "room", room);
	}
	json_object_object_add(f, "messages", json_object_get(j->items));
	wsd_conn_send(c, f);
	json_object_put(f);
	int64_t floor = max_seq_of_room(j->items, NULL);
	if (floor < j->n1)
		floor = j->n1;
	wsd_croom_live(c, r, floor);
out:
	ajob_free(j);
}

void wsd_agent_watch_fetch(wsd_conn_t *c, const char *room_id)
{
	ajob_t *j = ajob_new(c, "watch", NULL);
	j->room_id = lc_strdup(room_id);
	submit(c->w, j, resume_run, resume_done);
}

/* ---- frames */

static const lc_vrule_t room_rules[] = { ROOM_ID_RULE, LC_VRULE_END };
static const lc_vrule_t message_rules[] = {
	ROOM_ID_RULE,
	{ "id", LC_V_STRING, true, 1, 64, CLIENT_ID_PATTERN, NULL },
	{ "text", LC_V_STRING, false, 1, 4000, NULL, NULL },
	{ "canned_id", LC_V_STRING, false, 1, 64, "^[A-Za-z0-9_-]+$", NULL },
	LC_VRULE_END
};
static const lc_vrule_t typing_rules[] = {
	ROOM_ID_RULE, { "state", LC_V_BOOL, false, 0, 0, NULL, NULL }, LC_VRULE_END
};
static const lc_vrule_t history_rules[] = {
	ROOM_ID_RULE,
	{ "before_seq", LC_V_INT, false, 0, 0, NULL, NULL },
	{ "limit", LC_V_INT, false, 1, 200, NULL, NULL },
	LC_VRULE_END
};

/* Validate; on failure send validation_failed naming the first bad field. */
static bool check(wsd_conn_t *c, json_object *frame, const lc_vrule_t *rules, json_object *ref)
{
	json_object *fails = NULL;
	if (lc_validate(frame, rules, false, &fails)) {
		json_object_put(fails);
		return true;
	}
	json_object *f0 = json_object_array_get_idx(fails, 0);
	char *msg = lc_asprintf("%s: %s", lc_json_get_str(f0, "field", ""),
				lc_json_get_str(f0, "reason", "invalid"));
	wsd_conn_error(c, "validation_failed", msg, ref);
	free(msg);
	json_object_put(fails);
	return false;
}

static bool need(wsd_conn_t *c, unsigned perm, const char *name, json_object *ref)
{
	if (c->perms & perm)
		return true;
	char *msg = lc_asprintf("permission %s required", name);
	wsd_conn_error(c, "forbidden", msg, ref);
	free(msg);
	return false;
}

/* The engaged (not watched) room of this connection, or an error frame. */
static wsd_croom_t *own_room(wsd_conn_t *c, const char *room_id, json_object *ref)
{
	wsd_croom_t *r = wsd_croom_find(c, room_id);
	if (r == NULL || r->watch) {
		wsd_conn_error(c, "forbidden", "not your room (accept or resume it first)", ref);
		return NULL;
	}
	return r;
}

static ajob_t *room_job(wsd_conn_t *c, const char *op, json_object *frame, json_object *ref,
			wsd_croom_t *r)
{
	ajob_t *j = ajob_new(c, op, ref);
	j->room_id = lc_strdup(lc_json_get_str(frame, "room_id", ""));
	if (r) {
		j->channel = lc_strdup(r->channel);
		j->customer_id = lc_strdup(r->customer_id);
		j->customer_name = lc_strdup(r->customer_name);
	}
	return j;
}

static void on_resume(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	json_object *rooms = NULL;
	if (!json_object_object_get_ex(frame, "rooms", &rooms) ||
	    !json_object_is_type(rooms, json_type_array) || json_object_array_length(rooms) > 100) {
		wsd_conn_error(c, "validation_failed", "rooms: must be an array of at most 100 items", ref);
		return;
	}
	static const lc_vrule_t item_rules[] = {
		ROOM_ID_RULE, { "last_seq", LC_V_INT, false, 0, 0, NULL, NULL }, LC_VRULE_END
	};
	for (size_t i = 0; i < json_object_array_length(rooms); i++) {
		json_object *it = json_object_array_get_idx(rooms, i);
		if (!check(c, it, item_rules, ref))
			continue;
		const char *rid = lc_json_get_str(it, "room_id", "");
		wsd_croom_t *r = wsd_croom_add(c, rid, NULL, NULL, NULL, WSD_CR_RESUMING, false);
		ajob_t *j = room_job(c, "resume", it, ref, r);
		j->n1 = lc_json_get_int(it, "last_seq", 0);
		submit(c->w, j, resume_run, resume_done);
	}
}

void wsd_agent_frame(wsd_conn_t *c, const char *type, json_object *frame, json_object *ref)
{
	wsd_t *w = c->w;
	if (c->state != WSD_CS_READY) {
		wsd_conn_error(c, "not_ready", "wait for hello", ref);
		return;
	}
	if (strcmp(type, "accept") == 0) {
		if (!need(c, WSD_P_ACCEPT, "chats.accept", ref) || !check(c, frame, room_rules, ref))
			return;
		const char *rid = lc_json_get_str(frame, "room_id", "");
		wsd_croom_t *r = wsd_croom_find(c, rid);
		if (r != NULL) {
			/* Already this connection's (a second click) or watched by it. */
			json_object *f = frame_new("already_taken", ref);
			json_object_object_add(f, "room_id", json_object_new_string(rid));
			wsd_conn_send(c, f);
			json_object_put(f);
			return;
		}
		/* Follow the room from now on: events that arrive before the claim's answer wait
		 * in the room's pending list instead of being lost. */
		wsd_croom_add(c, rid, NULL, NULL, NULL, WSD_CR_JOINING, false);
		ajob_t *j = room_job(c, "accept", frame, ref, NULL);
		wsd_workers_submit(w->workers, j->room_id, accept_run, accept_done, j);
	} else if (strcmp(type, "decline") == 0) {
		if (!need(c, WSD_P_ACCEPT, "chats.accept", ref) || !check(c, frame, room_rules, ref))
			return;
		ajob_t *j = room_job(c, "decline", frame, ref, NULL);
		wsd_workers_submit(w->workers, j->room_id, decline_run, decline_done, j);
	} else if (strcmp(type, "message") == 0) {
		if (!check(c, frame, message_rules, ref))
			return;
		const char *text = lc_json_get_str(frame, "text", NULL);
		const char *canned = lc_json_get_str(frame, "canned_id", NULL);
		if ((text == NULL) == (canned == NULL)) {
			wsd_conn_error(c, "validation_failed", "text: exactly one of text and canned_id", ref);
			return;
		}
		wsd_croom_t *r = own_room(c, lc_json_get_str(frame, "room_id", ""), ref);
		if (r == NULL)
			return;
		ajob_t *j = room_job(c, "message", frame, ref, r);
		j->client_id = lc_strdup(lc_json_get_str(frame, "id", ""));
		j->text = lc_strdup(text);
		j->canned_id = lc_strdup(canned);
		submit(w, j, message_run, message_done);
	} else if (strcmp(type, "typing") == 0) {
		if (!check(c, frame, typing_rules, ref))
			return;
		wsd_croom_t *r = own_room(c, lc_json_get_str(frame, "room_id", ""), ref);
		if (r == NULL)
			return;
		json_object *room = json_object_new_object();
		json_object_object_add(room, "id", json_object_new_string(r->room_id));
		json_object_object_add(room, "channel", json_object_new_string(r->channel ? r->channel : ""));
		json_object_object_add(room, "customer_id", json_object_new_string(r->customer_id ? r->customer_id : ""));
		char *id = lc_asprintf("typing-%s-%lld", c->user_id, (long long)wsd_now_ms());
		json_object *o = wsd_gateway_out_new("agent_typing", id, room);
		free(id);
		json_object_put(room);
		json_object_object_add(o, "state", json_object_new_boolean(lc_json_get_bool(frame, "state", true)));
		wsd_room_publish_outbound(w, o, NULL, NULL);
		json_object_put(o);
	} else if (strcmp(type, "end") == 0) {
		if (!check(c, frame, room_rules, ref))
			return;
		wsd_croom_t *r = wsd_croom_find(c, lc_json_get_str(frame, "room_id", ""));
		if (r && r->watch)
			r = NULL;
		if (r == NULL && !need(c, WSD_P_END_ANY, "chats.end_any (or the room must be yours)", ref))
			return;
		ajob_t *j = room_job(c, "end", frame, ref, r);
		submit(w, j, end_run, end_done);
	} else if (strcmp(type, "history") == 0) {
		if (!check(c, frame, history_rules, ref))
			return;
		wsd_croom_t *r = wsd_croom_find(c, lc_json_get_str(frame, "room_id", ""));
		if (r == NULL && !(c->perms & (WSD_P_MONITOR | WSD_P_HISTORY))) {
			wsd_conn_error(c, "forbidden", "not your room", ref);
			return;
		}
		ajob_t *j = room_job(c, "history", frame, ref, r);
		j->n1 = lc_json_get_int(frame, "before_seq", 0);
		j->n2 = lc_json_get_int(frame, "limit", atomic_load(&w->history_limit));
		if (j->n2 > 200)
			j->n2 = 200;
		submit(w, j, history_run, history_done);
	} else if (strcmp(type, "resume") == 0) {
		on_resume(c, frame, ref);
	} else if (strcmp(type, "watch") == 0) {
		if (!need(c, WSD_P_MONITOR, "chats.monitor", ref) || !check(c, frame, room_rules, ref))
			return;
		const char *rid = lc_json_get_str(frame, "room_id", "");
		wsd_croom_t *r = wsd_croom_find(c, rid);
		if (r && !r->watch) {
			wsd_conn_error(c, "validation_failed", "room_id: this room is already yours", ref);
			return;
		}
		wsd_room_watch(w, c, rid, ref);
	} else if (strcmp(type, "unwatch") == 0) {
		if (!check(c, frame, room_rules, ref))
			return;
		wsd_room_unwatch(w, c, lc_json_get_str(frame, "room_id", ""));
	} else {
		wsd_conn_error(c, "unknown_type", "unknown frame type", ref);
	}
}

void wsd_agent_closed(wsd_conn_t *c)
{
	if (c->state == WSD_CS_READY || c->user_id != NULL || c->closed_by_server)
		LC_INFO("agent %s disconnected", c->username ? c->username : "?");
	wsd_room_agent_offline(c->w, c);
}
