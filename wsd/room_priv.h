/* SPDX-License-Identifier: MIT */
/* wsd_room_priv: what the room files share (room.c, croom.c, requests.c, presence.c, grace.c,
 * follow.c, catchup.c) and nobody else sees: the node's room state and the helpers between
 * them. Loop thread only, except the *_run job functions (workers). */
#ifndef WSD_ROOM_PRIV_H
#define WSD_ROOM_PRIV_H

#include "room.h"
#include "map.h"

#define PRESENCE_TTL_MS 15000

/* The connections under one key: most keys have one (a customer's widget, an agent's one tab),
 * held in `one` without an allocation; v points to it or to the heap (wsd_cvec_free). */
typedef struct cvec {
	wsd_conn_t **v;
	size_t n, cap;
	wsd_conn_t *one;
} cvec_t;

/* Local connections under one key (an agent's user id, a widget customer id, a watched room),
 * and whether that key is bound to this node's queue yet. */
typedef struct group {
	cvec_t conns;
	bool bound, binding;
} group_t;

typedef struct req {
	json_object *room;       /* summary offered to agents */
	json_object *declined;   /* array of user ids */
	int64_t created_at, closing_at, seen_at;
} req_t;

/* The grace timer of one agent (grace.c): running (deadline) or deferred (deadline 0: the agent
 * left this node while online on another; it runs once they are online nowhere). */
typedef struct grace {
	struct grace *next;
	char *user_id;
	int64_t deadline;
} grace_t;

typedef struct presence {
	struct presence *next;
	char *node;
	json_object *accept, *all;
	int64_t expires;
} presence_t;

/* Whether this node is alone and delivers its room events in process (solo.c). */
typedef enum wsd_solo_state {
	WSD_SOLO_OFF,           /* room events through RabbitMQ */
	WSD_SOLO_CLAIMING,      /* the lease asked for */
	WSD_SOLO_PROBING,       /* held; alone once its own presence (probe) comes back first;
				 * room events meanwhile wait in held */
	WSD_SOLO_ON,            /* alone: in process */
} wsd_solo_state;

/* A room event that came while probing: delivered in process or published once it is known
 * which (wsd_room_publish_event's arguments). */
typedef struct wsd_solo_held {
	struct wsd_solo_held *next;
	char *room_id, *agent_id;
	json_object *obj;
	wsd_pub_done_fn done;
	void *arg;
} wsd_solo_held_t;

typedef struct wsd_solo {
	wsd_solo_state state;
	bool claim_out;          /* a claim is on its way to the consumer (one at a time) */
	bool held_ok;            /* the claim's answer (busio sets it before posting) */
	bool was_alone;          /* left being alone: the next presence still says solo */
	uint64_t probe;          /* the presence that must come back before WSD_SOLO_ON */
	wsd_solo_held_t *held, **held_tail;
	int64_t others_heard;    /* another node's presence last came, or the node got ready */
	bool joining;            /* waiting until nobody holds the lease, then catching up */
	bool probing;            /* a worker is asking the broker */
	uint64_t join_gen;       /* counts joins: a probe's answer for an older one is ignored */
	int64_t join_at;         /* ask then (0: this node's presence is not confirmed yet) */
	int64_t join_started, join_warned;
	uint64_t events;         /* room events delivered in process */
} wsd_solo_t;

struct wsd_rooms {
	const wsd_endpoint_t *const *endpoints;   /* wsd_rooms_init: ended by NULL */
	wsd_map_t *users, *widgets, *watchers, *reqs;
	wsd_map_t *jobs;         /* agent jobs in flight per connection handle (value: count) */
	wsd_map_t *buckets;      /* widget frame rate per connection handle (value: wsd_rate_t *) */
	grace_t *grace;
	presence_t *presence;
	int64_t presence_heard;  /* this node's own presence last came back through the broker */
	bool ready;
	int64_t catchup_at;      /* a catch-up read failed: try again at this time (0: no) */
	/* one settings refresh and one resync at a time (each may take seconds to fail) */
	bool settings_busy, resync_busy, resync_again;
	size_t catchup_jobs;     /* catch-up reads under way */
	wsd_solo_t solo;
	int64_t started_at, last_presence, last_resync, last_session_check, last_settings;
};

/* ---- helpers (room.c) */
void wsd_cvec_add(cvec_t *cv, wsd_conn_t *c);
void wsd_cvec_del(cvec_t *cv, wsd_conn_t *c);
void wsd_cvec_free(cvec_t *cv);
/* The group of key in m (created when asked); dropping frees it. */
group_t *wsd_group_get(wsd_map_t *m, const char *key, bool create);
void wsd_group_drop(wsd_map_t *m, const char *key);
/* Whether the JSON array of strings arr (may be NULL) holds s. */
bool wsd_str_in(json_object *arr, const char *s);
/* {"type": type} */
json_object *wsd_room_frame(const char *type);
/* dst[key] = src[key] when src has it. */
void wsd_copy_key(json_object *dst, json_object *src, const char *key);

/* ---- waiting requests (requests.c) */
/* Know a waiting room (offer or MongoDB): offer it to local agents. Returns NULL without an id. */
req_t *wsd_room_req_add(wsd_t *w, json_object *room);
/* Forget it and withdraw it from local agents with reason. */
void wsd_room_req_remove(wsd_t *w, const char *room_id, const char *reason);
/* Its first customer message became known (text may be NULL: nothing to do). */
void wsd_room_req_set_first(wsd_t *w, const char *room_id, const char *text);
void wsd_room_req_free(req_t *q);
/* Re-read the waiting (and engaged) rooms from MongoDB. */
void wsd_room_resync(wsd_t *w);
/* Close the requests whose request_timeout passed. */
void wsd_room_req_timeouts(wsd_t *w, int64_t now);

/* ---- presence (presence.c) */
/* Whether one of the group's connections is ready and has every bit of perm. */
bool wsd_room_user_ready(group_t *g, unsigned perm);
/* Whether the agent has a ready connection here or, per the presence events, on another node. */
bool wsd_room_user_online(wsd_t *w, const char *user_id);
/* Announce this node's agents; first: ask every other node to announce theirs at once (this
 * node has just (re)joined and knows nobody). */
void wsd_room_presence_publish(wsd_t *w, bool first);
void wsd_room_presence_update(wsd_t *w, json_object *ev);
void wsd_room_presence_free(presence_t *p);
/* Forget the presence of nodes not heard for PRESENCE_TTL_MS (dead): their agents' grace
 * periods begin. */
void wsd_room_presence_expire(wsd_t *w, int64_t now);
/* Whether this node's own presence came back through the broker lately: it hears the others. */
bool wsd_room_presence_heard(wsd_t *w, int64_t now);
/* Every agent allowed to accept who is online on any node (new array). */
json_object *wsd_room_eligible_online(wsd_t *w);
/* Engaged rooms (from MongoDB) whose agent is online nowhere: run those agents' timers. */
void wsd_room_adopt_orphans(wsd_t *w, json_object *engaged);

/* ---- grace timers and room endings (grace.c) */
/* The agent has a ready connection here: no timer. */
void wsd_room_grace_forget(wsd_t *w, const char *user_id);
/* The agent is online on another node: a running timer waits again (deferred). */
void wsd_room_grace_defer(wsd_t *w, const char *user_id);
/* Presence changed: the deferred timers of agents now online nowhere run. */
void wsd_room_grace_recheck(wsd_t *w);
/* The agent may have engaged rooms and is online nowhere (an orphan, a dead node's agent):
 * run their timer (nothing when online or already running). */
void wsd_room_grace_start(wsd_t *w, const char *user_id);
/* End the rooms of the agents whose timer ran out (a job per agent). */
void wsd_room_grace_expire(wsd_t *w, int64_t now);
void wsd_room_grace_free(grace_t *g);
/* Try to close the waiting room as no_agent (a worker job; room: its channel and customer). */
void wsd_room_submit_no_agent(wsd_t *w, const char *room_id, json_object *room);

/* ---- catch-up after this node's queue came back (catchup.c) */
/* Re-read every room a local connection follows; deliver what each lacks and the endings. */
void wsd_room_catchup(wsd_t *w);
/* Hold the live messages of every room a local connection follows until wsd_room_catchup's
 * read of it is sent (the read comes later: solo.c waits for the lease first). */
void wsd_room_catchup_hold(wsd_t *w);

/* ---- a node alone (solo.c) */
/* The loop's tick: leave on a lost connection, ask about the lease, try to be alone. */
void wsd_solo_tick(wsd_t *w, int64_t now);
/* The node queue is (again) declared: not alone; announce, wait for the lease, catch up. */
void wsd_solo_ready(wsd_t *w);
/* Announce this node, wait until no node holds the lease, then catch up (why: for the log). */
void wsd_solo_join(wsd_t *w, const char *why);
/* Posted once the announcement is confirmed. */
void wsd_solo_announced(wsd_t *w, void *arg);
/* A presence event, this node's own (self) or another's. */
void wsd_solo_heard(wsd_t *w, json_object *ev, bool self);
/* What this node's presence says about it: "solo" (alone, or left it since the last
 * presence) and "solo_probe". */
void wsd_solo_presence(wsd_t *w, json_object *o);
/* wsd_room_publish_event while alone (on the loop): true when solo.c took the event (delivered
 * here, or held while probing; obj is not taken, done runs as for a publish). */
bool wsd_solo_take(wsd_t *w, const char *room_id, const char *agent_id, json_object *obj,
		   wsd_pub_done_fn done, void *arg);
void wsd_solo_init(wsd_t *w);
/* At shutdown: what is still held is given up (done(false): not acked, delivered again). */
void wsd_solo_free(wsd_t *w);

/* ---- local followers (follow.c) */
/* A room event (message, typing, ended) for the local connections that follow the room. */
void wsd_room_event_local(wsd_t *w, json_object *ev, const char *type);

#endif
