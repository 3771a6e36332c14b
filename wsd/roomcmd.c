/* SPDX-License-Identifier: MIT */
/* wsd_roomcmd: room commands sent to the writer and their answers (see roomcmd.h): building and
 * sending a command (in process to this node's writer when it is the active one, else published
 * to the inbound queue), the answers (consumer thread, or the writer thread for one in process),
 * a command handed back at a writer switch, the deadlines and resends (the loop's tick), and a
 * worker's blocking call. The pending commands are a list under a mutex: whoever takes an entry
 * out completes it, once. The store without the writer is in roomcmd_direct.c. */
#include "config.h"
#include "roomcmd_priv.h"
#include "busio.h"
#include "writer.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_names.h"

#include <stdlib.h>
#include <string.h>

static void waiter_done(wsd_t *w, void *arg, wsd_roomcmd_result_t *res);

static void pending_free(pending_t *p)
{
	json_object_put(p->body);
	free(p);
}

void wsd_roomcmds_init(wsd_t *w)
{
	wsd_roomcmds_t *r = lc_calloc(1, sizeof *r);
	r->magic = ROOMCMDS_MAGIC;
	pthread_mutex_init(&r->lock, NULL);
	TAILQ_INIT(&r->list);
	r->direct = wsd_map_new();
	w->roomcmds = r;
}

static void unavailable(wsd_roomcmd_result_t *res, const char *why)
{
	memset(res, 0, sizeof *res);
	res->rc = lc_err_set(&res->err, LC_ERR_UNAVAILABLE, "%s", why);
}

void wsd_roomcmds_free(wsd_t *w)
{
	wsd_roomcmds_t *r = w->roomcmds;
	if (r == NULL)
		return;
	LC_CHECK_OBJ(r, ROOMCMDS_MAGIC);
	/* w->stop is set: the done functions only free. */
	pending_t *p;
	while ((p = TAILQ_FIRST(&r->list)) != NULL) {
		TAILQ_REMOVE(&r->list, p, link);
		wsd_roomcmd_result_t res;
		unavailable(&res, "stopping");
		p->done(w, p->arg, &res);
		pending_free(p);
	}
	wsd_roomcmd_marks_free(r);
	pthread_mutex_destroy(&r->lock);
	r->magic = 0;
	free(r);
	w->roomcmds = NULL;
}

void wsd_roomcmds_load_secret(wsd_t *w)
{
	wsd_roomcmds_t *r = w->roomcmds;
	lc_err_t err;
	char s[65];
	if (atomic_load(&r->have_secret))
		return;
	if (lc_store_room_writer_secret(w->store, s, &err) != LC_OK) {
		LC_WARN("reading the room writer secret: %s", err.reason);
		return;
	}
	pthread_mutex_lock(&r->lock);
	memcpy(r->secret, s, sizeof s);
	atomic_store(&r->have_secret, true);
	pthread_mutex_unlock(&r->lock);
}

const char *wsd_roomcmd_secret(wsd_t *w)
{
	/* Written once before have_secret is set, never again. */
	return atomic_load(&w->roomcmds->have_secret) ? w->roomcmds->secret : NULL;
}

static pending_t *take(wsd_roomcmds_t *r, uint64_t id)
{
	pending_t *p;
	pthread_mutex_lock(&r->lock);
	TAILQ_FOREACH(p, &r->list, link)
		if (p->id == id)
			break;
	if (p != NULL)
		TAILQ_REMOVE(&r->list, p, link);
	pthread_mutex_unlock(&r->lock);
	return p;
}


/* A command of room_id published and not answered yet. Under r->lock. */
static bool broker_pending(wsd_roomcmds_t *r, const char *room_id)
{
	pending_t *p;
	TAILQ_FOREACH(p, &r->list, link)
		if (!p->local && strcmp(lc_json_get_str(p->body, "room_id", ""), room_id ? room_id : "") == 0)
			return true;
	return false;
}

static void add_str(json_object *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_object_add(o, key, json_object_new_string(v));
}

static void send_wait(wsd_t *w, const wsd_roomcmd_t *cmd, int64_t wait_ms, wsd_roomcmd_fn done,
		      void *arg)
{
	wsd_roomcmds_t *r = w->roomcmds;
	const char *secret = wsd_roomcmd_secret(w);
	LC_CHECK_OBJ(r, ROOMCMDS_MAGIC);
	if (secret == NULL) {
		wsd_roomcmd_result_t res;
		unavailable(&res, "the database cannot be reached");
		done(w, arg, &res);
		return;
	}
	pending_t *p = lc_calloc(1, sizeof *p);
	p->done = done;
	p->arg = arg;
	p->sent_mono = lc_mono_ms();
	p->deadline_mono = lc_mono_ms() + wait_ms;
	p->resend_mono = lc_mono_ms() + WSD_ROOMCMD_RESEND_MS;
	pthread_mutex_lock(&r->lock);
	p->id = ++r->next_id;
	int64_t above = wsd_roomcmd_mark_of(r, cmd->room_id);
	pthread_mutex_unlock(&r->lock);

	json_object *o = json_object_new_object();
	char id[192];
	snprintf(id, sizeof id, "cmd-%s-%llu", w->node_id, (unsigned long long)p->id);
	add_str(o, "type", WSD_ROOMCMD_TYPE);
	add_str(o, "id", id);
	json_object_object_add(o, "cmd_id", json_object_new_int64((int64_t)p->id));
	add_str(o, "reply_to", w->node_id);
	add_str(o, "secret", secret);
	/* Wall clock: the writer is another process, maybe another machine (clocks in step). */
	json_object_object_add(o, "deadline", json_object_new_int64(lc_real_ms() + wait_ms));
	add_str(o, "room_id", cmd->room_id);
	add_str(o, "msg_id", cmd->msg_id);
	add_str(o, "sender", lc_sender_name(cmd->sender));
	add_str(o, "author", cmd->author);
	add_str(o, "text", cmd->text);
	add_str(o, "check_agent", cmd->check_agent);
	add_str(o, "status", lc_room_status_name(cmd->status));
	add_str(o, "agent_id", cmd->agent_id);
	add_str(o, "agent_name", cmd->agent_name);
	if (above > 0)
		json_object_object_add(o, "above_seq", json_object_new_int64(above));
	if (cmd->history_limit > 0)
		json_object_object_add(o, "history_limit", json_object_new_int64(cmd->history_limit));
	if (!wsd_busio_linked(w->bus) && done != waiter_done) {
		free(p);
		wsd_roomcmd_fallback(w, o, done, arg);
		return;
	}
	p->sync = done == waiter_done;
	p->body = o;
	/* The writer gets a copy of its own: no json_object is shared between threads. */
	json_object *copy = lc_json_copy(o);
	/* Listed before it is handed over or published: the answer may come at once. The writer's
	 * lock is taken inside this one, never the other way round. */
	pthread_mutex_lock(&r->lock);
	/* Behind a command of the room still on its way through the broker (sent before this node
	 * knew it was the active consumer), this one goes the same way, so the writer gets them in
	 * the order they were sent. */
	bool local = !broker_pending(r, cmd->room_id) && wsd_writer_submit_local(w->writer, copy);
	p->local = local;
	TAILQ_INSERT_TAIL(&r->list, p, link);
	if (!local)
		wsd_busio_publish_json(w->bus, w->ex_inbound, LC_NAMES_ROOM_COMMAND, o, NULL, NULL);
	pthread_mutex_unlock(&r->lock);
	/* p is not ours past the unlock: the answer may already have taken and freed it. */
	if (!local)
		json_object_put(copy);
	atomic_fetch_add(local ? &r->n_local : &r->n_broker, 1);
}

void wsd_roomcmd_send(wsd_t *w, const wsd_roomcmd_t *cmd, wsd_roomcmd_fn done, void *arg)
{
	send_wait(w, cmd, WSD_ROOMCMD_WAIT_MS, done, arg);
}

static lc_rc rc_from_name(const char *name)
{
	for (int i = 0; i < LC_RC_COUNT_; i++)
		if (strcmp(lc_rc_name((lc_rc)i), name) == 0)
			return (lc_rc)i;
	return LC_ERR_INTERNAL;
}

void wsd_roomcmd_answer(wsd_t *w, lc_bus_delivery_t *d)
{
	lc_err_t err;
	json_object *a = lc_json_parse(d->body, d->len, &err);
	int64_t id = a ? lc_json_get_int(a, "cmd_id", -1) : -1;
	pending_t *p = id > 0 ? take(w->roomcmds, (uint64_t)id) : NULL;
	if (p != NULL) {
		/* Late answers (their command timed out here) find nothing and are dropped. */
		wsd_roomcmd_result_t res;
		memset(&res, 0, sizeof res);
		res.rc = rc_from_name(lc_json_get_str(a, "rc", "internal"));
		lc_err_set_field(&res.err, res.rc, lc_json_get_str(a, "field", ""), "%s",
				 lc_json_get_str(a, "reason", ""));
		/* Taken out of the answer before done hands them to another thread: json-c's
		 * reference counts are not atomic, and our put of the answer below would otherwise
		 * race with that thread's gets and puts of the message (a use after free found by
		 * ThreadSanitizer). */
		json_object *v;
		if (res.rc == LC_OK && json_object_object_get_ex(a, "message", &v)) {
			res.msg = json_object_get(v);
			json_object_object_del(a, "message");
		}
		if (res.rc == LC_OK && json_object_object_get_ex(a, "room", &v)) {
			res.room = json_object_get(v);
			json_object_object_del(a, "room");
		}
		if (res.rc == LC_OK && json_object_object_get_ex(a, "history", &v) &&
		    json_object_is_type(v, json_type_array)) {
			res.history = json_object_get(v);
			json_object_object_del(a, "history");
		}
		res.dup = lc_json_get_bool(a, "duplicate", false);
		wsd_roomcmd_mark_settled(w->roomcmds, p->body, res.rc);
		p->done(w, p->arg, &res);
		pending_free(p);
	}
	json_object_put(a);
	lc_bus_delivery_free(&d);
}

void wsd_roomcmd_local_answer(wsd_t *w, int64_t cmd_id, wsd_roomcmd_result_t *res)
{
	pending_t *p = cmd_id > 0 ? take(w->roomcmds, (uint64_t)cmd_id) : NULL;
	if (p == NULL) {
		/* Answered unavailable here already (its deadline passed). */
		json_object_put(res->msg);
		json_object_put(res->room);
		json_object_put(res->history);
		return;
	}
	wsd_roomcmd_mark_settled(w->roomcmds, p->body, res->rc);
	p->done(w, p->arg, res);
	pending_free(p);
}

void wsd_roomcmd_reroute(wsd_t *w, json_object *body)
{
	wsd_roomcmds_t *r = w->roomcmds;
	int64_t id = lc_json_get_int(body, "cmd_id", -1);
	pending_t *p;
	pthread_mutex_lock(&r->lock);
	TAILQ_FOREACH(p, &r->list, link)
		if ((int64_t)p->id == id)
			break;
	if (p != NULL) {
		/* From now on like any published command: resent, or stored here without the
		 * writer while RabbitMQ is away (wsd_roomcmd_tick). */
		int64_t now = lc_mono_ms();
		p->local = false;
		p->sent_mono = now;
		p->resend_mono = now + WSD_ROOMCMD_RESEND_MS;
		wsd_busio_publish_json(w->bus, w->ex_inbound, LC_NAMES_ROOM_COMMAND, p->body, NULL, NULL);
		atomic_fetch_add(&r->n_rerouted, 1);
	}
	pthread_mutex_unlock(&r->lock);
}

void wsd_roomcmd_counts(wsd_t *w, wsd_roomcmd_counts_t *out)
{
	wsd_roomcmds_t *r = w->roomcmds;
	*out = (wsd_roomcmd_counts_t){ 0 };
	if (r == NULL)
		return;
	out->local = atomic_load(&r->n_local);
	out->broker = atomic_load(&r->n_broker);
	out->rerouted = atomic_load(&r->n_rerouted);
	out->direct = atomic_load(&r->n_direct);
}

void wsd_roomcmd_stats_log(wsd_t *w)
{
	wsd_roomcmds_t *r = w->roomcmds;
	uint64_t wl = 0, wb = 0;
	if (r == NULL)
		return;
	if (w->writer != NULL)
		wsd_writer_stats(w->writer, &wl, &wb);
	LC_INFO("room commands: sent_local=%llu sent_broker=%llu rerouted=%llu direct=%llu "
		"writer_local=%llu writer_broker=%llu",
		(unsigned long long)atomic_load(&r->n_local),
		(unsigned long long)atomic_load(&r->n_broker),
		(unsigned long long)atomic_load(&r->n_rerouted),
		(unsigned long long)atomic_load(&r->n_direct), (unsigned long long)wl,
		(unsigned long long)wb);
}

void wsd_roomcmd_tick(wsd_t *w)
{
	wsd_roomcmds_t *r = w->roomcmds;
	TAILQ_HEAD(, pending) late = TAILQ_HEAD_INITIALIZER(late);
	int64_t now = lc_mono_ms();
	pending_t *p, *next;
	pthread_mutex_lock(&r->lock);
	for (p = TAILQ_FIRST(&r->list); p != NULL; p = next) {
		next = TAILQ_NEXT(p, link);
		if (p->deadline_mono <= now) {
			TAILQ_REMOVE(&r->list, p, link);
			TAILQ_INSERT_TAIL(&late, p, link);
		} else if (p->local) {
			/* With this node's writer, which answers it or hands it back. */
			continue;
		} else if (!p->sync && now - p->sent_mono > 1000 && !wsd_busio_linked(w->bus)) {
			/* Published while RabbitMQ was going away: store it here instead (if the
			 * command still reaches the writer later, it is a duplicate there). */
			TAILQ_REMOVE(&r->list, p, link);
			wsd_roomcmd_fallback(w, p->body, p->done, p->arg);
			p->body = NULL;
			pending_free(p);
		} else if (p->resend_mono <= now) {
			/* Its answer may have been lost with this node's queue (a broker restart). */
			p->resend_mono = now + WSD_ROOMCMD_RESEND_MS;
			wsd_busio_publish_json(w->bus, w->ex_inbound, LC_NAMES_ROOM_COMMAND, p->body, NULL,
					       NULL);
		}
	}
	pthread_mutex_unlock(&r->lock);
	while ((p = TAILQ_FIRST(&late)) != NULL) {
		TAILQ_REMOVE(&late, p, link);
		wsd_roomcmd_result_t res;
		unavailable(&res, "the room's writer did not answer in time");
		p->done(w, p->arg, &res);
		pending_free(p);
	}
}

/* ---- the blocking call of a worker */

typedef struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	wsd_roomcmd_result_t res;
} waiter_t;

static void waiter_done(wsd_t *w, void *arg, wsd_roomcmd_result_t *res)
{
	waiter_t *wt = arg;
	(void)w;
	pthread_mutex_lock(&wt->lock);
	wt->res = *res;
	wt->done = true;
	pthread_cond_signal(&wt->cond);
	pthread_mutex_unlock(&wt->lock);
}

lc_rc wsd_roomcmd_call(wsd_t *w, const wsd_roomcmd_t *cmd, json_object **msg, bool *dup,
		       json_object **history, lc_err_t *err)
{
	WSD_ASSERT_THREAD(WSD_THREAD_WORKER);   /* it waits for the writer's answer */
	waiter_t wt;
	memset(&wt, 0, sizeof wt);
	if (!wsd_busio_linked(w->bus)) {
		/* RabbitMQ is away: store it here (roomcmd_direct.c). */
		atomic_fetch_add(&w->roomcmds->n_direct, 1);
		json_object *body = json_object_new_object();
		add_str(body, "room_id", cmd->room_id);
		add_str(body, "msg_id", cmd->msg_id);
		add_str(body, "sender", lc_sender_name(cmd->sender));
		add_str(body, "author", cmd->author);
		add_str(body, "text", cmd->text);
		add_str(body, "check_agent", cmd->check_agent);
		wsd_roomcmd_direct_store(w, body, &wt.res);
		json_object_put(body);
		goto answered;
	}
	pthread_mutex_init(&wt.lock, NULL);
	lc_cond_init_mono(&wt.cond);
	send_wait(w, cmd, WSD_ROOMCMD_CALL_MS, waiter_done, &wt);
	pthread_mutex_lock(&wt.lock);
	/* The loop's tick answers a late command; it does not run once the daemon stops. */
	while (!wt.done && !w->stop) {
		struct timespec ts = lc_mono_after(200);
		pthread_cond_timedwait(&wt.cond, &wt.lock, &ts);
	}
	bool done = wt.done;
	pthread_mutex_unlock(&wt.lock);
	if (!done) {
		/* Stopping: take the command back unless its answer is being delivered now. */
		pthread_mutex_lock(&w->roomcmds->lock);
		pending_t *p;
		TAILQ_FOREACH(p, &w->roomcmds->list, link)
			if (p->arg == &wt)
				break;
		if (p != NULL)
			TAILQ_REMOVE(&w->roomcmds->list, p, link);
		pthread_mutex_unlock(&w->roomcmds->lock);
		if (p != NULL) {
			pending_free(p);
			unavailable(&wt.res, "stopping");
		} else {
			pthread_mutex_lock(&wt.lock);
			while (!wt.done)
				pthread_cond_wait(&wt.cond, &wt.lock);
			pthread_mutex_unlock(&wt.lock);
		}
	}
	pthread_mutex_destroy(&wt.lock);
	pthread_cond_destroy(&wt.cond);
answered:
	json_object_put(wt.res.room);
	if (dup != NULL)
		*dup = wt.res.dup;
	if (history != NULL && wt.res.rc == LC_OK)
		*history = wt.res.history;
	else
		json_object_put(wt.res.history);
	if (wt.res.rc == LC_OK) {
		if (msg != NULL)
			*msg = wt.res.msg;
		else
			json_object_put(wt.res.msg);
		lc_err_clear(err);
		return LC_OK;
	}
	json_object_put(wt.res.msg);
	if (err != NULL)
		*err = wt.res.err;
	return wt.res.rc;
}

/* The command storing the system message "<room_id>-<suffix>", its text the setting key rendered
 * with agent and customer; *text and *mid: what cmd points to, to free. */
static void system_cmd(wsd_t *w, const char *room_id, const char *suffix, const char *key,
		       const char *agent, const char *customer, lc_room_status_t status,
		       const char *agent_id, int64_t history_limit, wsd_roomcmd_t *cmd,
		       char **text, char **mid)
{
	json_object *set = wsd_settings_get(w);
	*text = wsd_settings_render(set, key, agent, customer);
	json_object_put(set);
	*mid = lc_asprintf("%s-%s", room_id, suffix);
	*cmd = (wsd_roomcmd_t){ .room_id = room_id, .msg_id = *mid, .sender = LC_SENDER_SYSTEM,
				.author = "", .text = *text, .status = status, .agent_id = agent_id,
				.agent_name = agent, .history_limit = history_limit };
}

static lc_rc system_message(wsd_t *w, const char *room_id, const char *suffix, const char *key,
			    const char *agent, const char *customer, lc_room_status_t status,
			    const char *agent_id, int64_t history_limit, json_object **msg,
			    json_object **history, lc_err_t *err)
{
	char *text, *mid;
	wsd_roomcmd_t cmd;
	system_cmd(w, room_id, suffix, key, agent, customer, status, agent_id, history_limit, &cmd,
		   &text, &mid);
	lc_rc rc = wsd_roomcmd_call(w, &cmd, msg, NULL, history, err);
	if (rc != LC_OK)
		LC_WARN("room %s: storing the %s message: %s", room_id, suffix, err->reason);
	free(mid);
	free(text);
	return rc;
}

void wsd_roomcmd_join_send(wsd_t *w, const char *room_id, const char *agent,
			   const char *customer, const char *agent_id, int64_t history_limit,
			   wsd_roomcmd_fn done, void *arg)
{
	char *text, *mid;
	wsd_roomcmd_t cmd;
	system_cmd(w, room_id, "join", "join_message", agent, customer, LC_ROOM_ENGAGED, agent_id,
		   history_limit, &cmd, &text, &mid);
	/* A worker's call's deadline, not a client's: the accept tries again (accept_run) as
	 * soon as the blocking call did. */
	send_wait(w, &cmd, WSD_ROOMCMD_CALL_MS, done, arg);
	free(mid);
	free(text);
}

lc_rc wsd_roomcmd_system_message(wsd_t *w, const char *room_id, const char *suffix,
				 const char *key, const char *agent, const char *customer,
				 lc_room_status_t status, const char *agent_id, json_object **msg,
				 lc_err_t *err)
{
	return system_message(w, room_id, suffix, key, agent, customer, status, agent_id, 0, msg,
			      NULL, err);
}

lc_rc wsd_roomcmd_join_message(wsd_t *w, const char *room_id, const char *agent,
			       const char *customer, const char *agent_id, int64_t history_limit,
			       json_object **msg, json_object **history, lc_err_t *err)
{
	*history = NULL;
	return system_message(w, room_id, "join", "join_message", agent, customer, LC_ROOM_ENGAGED,
			      agent_id, history_limit, msg, history, err);
}
