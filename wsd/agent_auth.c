/* SPDX-License-Identifier: MIT */
/* wsd_agent_auth: the session of an agent connection: checked at the handshake (then hello is
 * prepared), and again periodically or on a revoke event; a revoked one is closed with 4401. */
#include "config.h"
#include "agent_priv.h"
#include "gateway.h"
#include "room.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "worker.h"
#include "lc_auth.h"
#include "lc_auth_session.h"
#include "frames.h"

#include <stdlib.h>
#include <string.h>

/* ---- authentication and the periodic session check */

/* A session check: at the handshake (then also the agent's engaged rooms) or periodic. The
 * user's permissions come back in h.perms. */
typedef struct auth_job {
	uint32_t magic;
#define AUTH_JOB_MAGIC 0x61757468u
	wsd_ajob_t h;
	bool handshake;
	char *token;
	json_object *user, *perm_list, *items;
} auth_job_t;

static auth_job_t *auth_job_new(wsd_conn_t *c, bool handshake)
{
	auth_job_t *j = lc_calloc(1, sizeof *j);
	j->magic = AUTH_JOB_MAGIC;
	wsd_ajob_init(&j->h, c, NULL, NULL, NULL);
	j->handshake = handshake;
	j->token = lc_strdup(c->token);
	return j;
}

static void auth_job_free(auth_job_t *j)
{
	LC_CHECK_OBJ(j, AUTH_JOB_MAGIC);
	wsd_ajob_clear(&j->h);
	free(j->token);
	json_object_put(j->user);
	json_object_put(j->perm_list);
	json_object_put(j->items);
	j->magic = 0;
	free(j);
}

/* The one session check of shared/ (lc_auth_session.h), then what an agent connection needs
 * beyond it: accept or monitor, and at the handshake the agent's engaged rooms. */
static void auth_run(wsd_t *w, void *arg)
{
	auth_job_t *j;
	LC_CAST_OBJ(j, arg, AUTH_JOB_MAGIC);
	char hash[LC_AUTH_TOKEN_HASH_LEN + 1];
	lc_principal_t who = { 0 };
	lc_auth_token_hash(j->token, hash);
	if ((j->h.rc = lc_auth_session_check(w->store, hash, &who, &j->h.err)) != LC_OK)
		return;
	j->user = json_object_get(who.user);
	j->perm_list = json_object_get(who.permissions);
	j->h.perms = wsd_frames_perm_bits(j->perm_list);
	lc_auth_principal_clear(&who);
	if (!(j->h.perms & (WSD_P_ACCEPT | WSD_P_MONITOR))) {
		j->h.rc = LC_ERR_FORBIDDEN;
		return;
	}
	if (j->handshake)
		j->h.rc = lc_store_room_list_agent(w->store, lc_json_get_str(j->user, "id", ""),
						   &j->items, &j->h.err);
	/* The same room shape as accepted.room: who declined a request is not the agent's to see. */
	for (size_t i = 0; j->h.rc == LC_OK && j->items && i < json_object_array_length(j->items); i++)
		json_object_object_del(json_object_array_get_idx(j->items, i), "declined_by");
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
	auth_job_t *j;
	LC_CAST_OBJ(j, arg, AUTH_JOB_MAGIC);
	wsd_conn_t *c = w->stop ? NULL : wsd_conn_find(w, j->h.handle);
	if (c == NULL)
		goto out;
	if (j->h.rc != LC_OK) {
		LC_INFO("agent connection refused: %s", lc_rc_name(j->h.rc));
		auth_refused(c, j->h.rc, "invalid or expired session");
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
	c->perms = j->h.perms;

	json_object *h = wsd_conn_frame("hello", NULL);
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
	auth_job_free(j);
}

void wsd_agent_open(wsd_conn_t *c)
{
	auth_job_t *j = auth_job_new(c, true);
	wsd_ajob_submit(&j->h, auth_run, auth_done, j);
}

static void check_done(wsd_t *w, void *arg)
{
	auth_job_t *j;
	LC_CAST_OBJ(j, arg, AUTH_JOB_MAGIC);
	wsd_conn_t *c = w->stop ? NULL : wsd_conn_find(w, j->h.handle);
	if (c != NULL)
		c->checking = false;
	if (c != NULL && (j->h.rc == LC_ERR_UNAUTHORIZED || j->h.rc == LC_ERR_FORBIDDEN)) {
		LC_INFO("agent %s: session revoked", c->username ? c->username : "?");
		wsd_conn_error(c, "unauthorized", "session revoked", NULL);
		wsd_conn_close(c, 4401, "revoked");
	} else if (c != NULL && j->h.rc == LC_OK) {
		c->perms = j->h.perms;
	}
	auth_job_free(j);
}

void wsd_agent_check_session(wsd_conn_t *c)
{
	/* One check at a time: while MongoDB is down each takes seconds to fail, and checks
	 * piling up would keep the workers from everything else. */
	if (c->token == NULL || c->state == WSD_CS_CLOSING || c->checking)
		return;
	c->checking = true;
	auth_job_t *j = auth_job_new(c, false);
	wsd_ajob_submit(&j->h, auth_run, check_done, j);
}
