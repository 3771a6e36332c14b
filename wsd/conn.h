/* SPDX-License-Identifier: MIT */
/* wsd_conn: one websocket connection (an agent or a widget customer) as the loop sees it, its
 * send queue, and the rooms it follows. Loop thread only. The registry, the send queue, the error
 * frames and closing are conn.c (base: every layer sends to the connection it holds); the
 * listener creates and frees connections, the rooms' part (wsd_croom_*) is croom.c. Other threads
 * refer to a connection by its handle and look it up again when their result comes back (it may
 * have gone meanwhile). */
#ifndef WSD_CONN_H
#define WSD_CONN_H

#include "wsd.h"
#include "lc_validate.h"

#define WSD_CONN_MAGIC 0x636f6e6eu

/* Idle check of a connection: nothing asked, a ping waits for SERVER_WRITEABLE, a ping went out
 * and the client has said nothing since. */
enum wsd_conn_ping { WSD_PING_NONE = 0, WSD_PING_PENDING, WSD_PING_SENT };

enum wsd_conn_state {
	WSD_CS_NEW = 0,     /* widget: waiting for hello */
	WSD_CS_AUTH,        /* agent: session being checked; widget: welcome being prepared */
	WSD_CS_READY,       /* hello / welcome sent */
	WSD_CS_CLOSING
};
/* CATCHUP: live until this node's queue was lost; the catch-up read (catchup.c) is under way
 * and live messages wait in pending until it is sent, so they go out in seq order. */
enum wsd_croom_state { WSD_CR_JOINING = 1, WSD_CR_RESUMING, WSD_CR_LIVE, WSD_CR_CATCHUP };

/* Permission bits of an agent (from the group's permissions). */
#define WSD_P_ACCEPT   0x01u
#define WSD_P_MONITOR  0x02u
#define WSD_P_HISTORY  0x04u
#define WSD_P_END_ANY  0x08u
#define WSD_P_CANNED_ALL 0x10u

/* A room this connection follows: engaged (agent), watched (monitor) or its own (widget).
 * Until the client has the room's past (accepted / resumed / welcome), live messages wait in
 * pending; afterwards a message is sent once: not when seq <= floor (the client had everything
 * up to there) nor when its seq is in sent (the seqs above floor already sent; messages may
 * arrive out of seq order, and the same one live and from a catch-up read). */
typedef struct wsd_croom {
	char *room_id, *channel, *customer_id, *customer_name;
	uint8_t state;
	bool watch;
	int64_t floor;
	int64_t *sent;          /* ascending, all > floor, at most WSD_CROOM_SENT_MAX */
	size_t nsent;
	json_object *pending;   /* array of frames (objects with "message".seq), or NULL */
	json_object *end;       /* an "ended" frame that arrived during a catch-up, or NULL */
	/* The declines of the room that came while this connection's accept of it was not
	 * answered yet (JOINING): an array of their refs (null for none), sent on once the accept
	 * is answered (the frames' order), or when the entry goes first; NULL: none. */
	json_object *declines;
} wsd_croom_t;

#define WSD_CROOM_SENT_MAX 256

typedef struct wsd_out wsd_out_t;

/* An endpoint (/ws/agent, /ws/widget): what the listener calls for its connections, as
 * libwebsockets' lws_protocols carry their callbacks. The listener knows endpoints only
 * through this struct (wsd_endpoints, listener.h). Loop thread. */
typedef struct wsd_endpoint {
	const char *path, *alias;      /* "/ws/agent", and the same without /ws behind a proxy */
	bool session;                  /* the upgrade needs credentials (wsd_handshake_refusal) */
	/* The channel whose customers connect here ("widget"): each connection is one customer,
	 * follows that customer's own room and is sent the channel's frames. NULL: agents, who
	 * follow the rooms they took or watch. */
	const char *customer_channel;
	/* The websocket is up (c->wsi set, registered): false closes it. */
	bool (*on_open)(wsd_conn_t *c);
	/* One frame (an object; type read, other than ping); ref may be NULL. Borrowed. */
	void (*on_frame)(wsd_conn_t *c, const char *type, json_object *frame, json_object *ref);
	/* The websocket is gone: forget c (it is freed after this). */
	void (*on_close)(wsd_conn_t *c);
	/* Check again that a ready connection may stay (the periodic session check, a revoke):
	 * closes it when not. NULL: the endpoint has nothing to re-check. */
	void (*on_recheck)(wsd_conn_t *c);
	/* An outbound gateway message this node consumed (obj is not taken): the endpoint sends
	 * its connections what is for them. NULL: the endpoint's clients get none. */
	void (*on_outbound)(wsd_t *w, json_object *obj);
	/* The rooms layer (follow.c) reports upward through these, never by an endpoint's name.
	 * The key of a room c watches is bound on this node's queue (c's croom of it is
	 * RESUMING): its events arrive from now on, what came before is to be read. NULL: the
	 * endpoint's connections watch no room. */
	void (*on_watch_bound)(wsd_conn_t *c, const char *room_id);
	/* The key of c's customer (customer_channel) is bound: c may be sent its conversation.
	 * Set when customer_channel is. */
	void (*on_customer_bound)(wsd_conn_t *c);
	/* c's entry of room_id went (the room ended) while it held declines for an accept not
	 * answered yet (wsd_croom_t.declines, refs: their refs): the endpoint makes them now.
	 * NULL: the endpoint's connections hold none. */
	void (*on_held_declines)(wsd_conn_t *c, const char *room_id, json_object *refs);
} wsd_endpoint_t;

/* One per websocket, held for as long as it is open: its size counts per idle connection
 * (bench/run's connections section), so the small fields share the first 16 bytes. */
struct wsd_conn {
	uint32_t magic;
	uint8_t state;
	bool closed_by_server;
	uint8_t ping;           /* WSD_PING_*: where the idle check (idle.c) stands */
	bool rx_discard, rx_binary;   /* the frame being reassembled: dropped, binary */
	bool checking;          /* agent: a session check is under way (one at a time) */
	bool reading;           /* widget: a welcome or history read is under way */
	bool close_queued;      /* the close frame is sent: close at the next WRITEABLE */
	uint16_t close_code;
	uint32_t last_rx_s;     /* monotonic second the client last sent anything (a pong too) */
	unsigned perms;         /* agent: WSD_P_* */
	uint64_t handle;
	struct lws *wsi;
	wsd_t *w;
	const wsd_endpoint_t *ep;
	wsd_out_t *out_head, *out_tail;
	size_t out_bytes;
	char *rx;               /* fragments of a frame being reassembled */
	size_t rx_len;
	json_object *hello;     /* agent: prepared hello, sent once the agent's binding is up */
	char *token;            /* agent: the session token (hash computed when checking) */
	char *user_id, *username, *display_name;
	json_object *permissions;
	char *customer_id, *customer_name;   /* widget */
	int64_t last_seq;                    /* widget: from hello, until welcome */
	const char *addr;       /* the client address: addrcap's copy (wsd_addrcap_hold), counted
				 * while connected */
	wsd_croom_t *rooms;
	size_t nrooms;
	int64_t connected_at;
};

/* The registry (conn.c): handle = generation << 32 | slot, so a late completion never reaches a
 * different connection that reused the slot. Register a new connection (its handle), forget
 * one (the listener, when it is gone), find one by handle (NULL: gone or closing). */
uint64_t wsd_conn_register(wsd_t *w, wsd_conn_t *c);
void wsd_conn_unregister(wsd_t *w, uint64_t handle);
wsd_conn_t *wsd_conn_find(wsd_t *w, uint64_t handle);
/* Call fn for every live connection. */
void wsd_conn_each(wsd_t *w, void (*fn)(wsd_conn_t *c, void *ctx), void *ctx);
/* SERVER_WRITEABLE: write one queued frame (or the ping, or the close); -1: close the socket. */
int wsd_conn_write(wsd_conn_t *c);
/* Free the frames still queued (the connection is gone). */
void wsd_conn_free_queue(wsd_conn_t *c);
/* Queue a frame; obj is not taken. */
void wsd_conn_send(wsd_conn_t *c, json_object *obj);
void wsd_conn_send_str(wsd_conn_t *c, const char *s, size_t len);
/* {"type":"error","code":code,"message":msg,"ref":ref}; ref (may be NULL) is copied. */
void wsd_conn_error(wsd_conn_t *c, const char *code, const char *msg, json_object *ref);
/* Error from an lc_rc (wsd_conn_rc_code), naming the room it answers ("room_id"; copied). */
void wsd_conn_error_room(wsd_conn_t *c, lc_rc rc, const char *msg, const char *room_id,
			 json_object *ref);
/* The websocket error code of an lc_rc ("not_found", "unavailable", ...). */
const char *wsd_conn_rc_code(lc_rc rc);
/* An error frame naming what it answers, so the client can send that frame again: "room_id"
 * and "id" (a message's client id) are added when not NULL (both copied). */
void wsd_conn_error_about(wsd_conn_t *c, const char *code, const char *msg, const char *room_id,
			  const char *id, json_object *ref);
/* frame's key when it may name the frame in an error: a string of 1..64 [A-Za-z0-9_-] (the
 * rule of ids), else NULL (a malformed value is not echoed back). Borrowed from frame. */
const char *wsd_conn_plain_id(json_object *frame, const char *key);
/* Close after what is queued is sent (close code: 4401, 4403, 1001 ...). */
void wsd_conn_close(wsd_conn_t *c, uint16_t code, const char *why);
/* Add "ref" of req (if any) to reply. */
void wsd_conn_add_ref(json_object *reply, json_object *ref);
/* A new frame {"type": type, "ref": ref} (ref may be NULL). */
json_object *wsd_conn_frame(const char *type, json_object *ref);
/* Per-connection rooms (croom.c). */
wsd_croom_t *wsd_croom_find(wsd_conn_t *c, const char *room_id);
wsd_croom_t *wsd_croom_add(wsd_conn_t *c, const char *room_id, const char *channel,
			   const char *customer_id, const char *customer_name, uint8_t state,
			   bool watch);
void wsd_croom_remove(wsd_conn_t *c, const char *room_id);
/* Deliver a message frame (obj has "message" with "seq") honouring state, floor and pending. */
void wsd_croom_deliver(wsd_conn_t *c, wsd_croom_t *r, json_object *frame);
/* The client now has everything up to floor and the messages of items (an array of stored
 * messages; those of other rooms are ignored; may be NULL): go live and flush what waited. */
void wsd_croom_live(wsd_conn_t *c, wsd_croom_t *r, int64_t floor, json_object *items);
/* A catch-up read came back: frames (message frames, seq order) are sent with what waited in
 * pending, in seq order, once each; a CATCHUP room goes live. A room not live yet (accept or
 * resume under way) just gets them in pending. */
void wsd_croom_catchup(wsd_conn_t *c, wsd_croom_t *r, json_object *frames);
/* The client got the message seq by other means (the ack of its own message): never send it. */
void wsd_croom_mark(wsd_croom_t *r, int64_t seq);
/* The seqs the client has: everything <= floor and the sent ones (for a catch-up read). */
int64_t wsd_croom_floor(const wsd_croom_t *r);
/* Free what r holds (not r itself: it lives in the connection's array). */
void wsd_croom_clear(wsd_croom_t *r);

#endif
