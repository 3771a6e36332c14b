/* SPDX-License-Identifier: MIT */
/* lc_names: the names of livechat's AMQP objects and routing keys (docs/topology.md), built in
 * this one place for livechat-wsd, livechat-fcgi and livechatctl. Every function returns a new
 * string the caller frees; prefix is amqp_prefix. */
#ifndef LC_NAMES_H
#define LC_NAMES_H

/* Routing keys known when compiling: broadcast.<kind> of a literal kind, and those that take no
 * argument. */
#define LC_NAMES_BROADCAST_KEY(kind) "broadcast." kind
#define LC_NAMES_BROADCAST_ALL LC_NAMES_BROADCAST_KEY("*")   /* a node's binding for every broadcast */
#define LC_NAMES_INBOUND_ALL "#"               /* the inbound queue's binding */
#define LC_NAMES_ROOM_COMMAND "wsd.room"       /* a room command to the room writer (inbound) */
#define LC_NAMES_ROOM_PREFIX "room."           /* what every room event's key starts with */

/* <prefix>.inbound: the exchange gateways publish to, and the queue bound to it. */
char *lc_names_inbound(const char *prefix);
/* <prefix>.outbound: the exchange livechat publishes answers to customers on. */
char *lc_names_outbound(const char *prefix);
/* <prefix>.nodes: the exchange of node-to-node events. */
char *lc_names_nodes(const char *prefix);
/* <prefix>.node.<node_id>: one node's own queue. */
char *lc_names_node_queue(const char *prefix, const char *node_id);
/* <prefix>.solo: the lease a node alone holds (an exclusive queue, docs/topology.md). */
char *lc_names_solo(const char *prefix);

/* room.<room_id>.<agent_id>: a room event; agent_id NULL or empty (nobody engaged) is "-". */
char *lc_names_room_key(const char *room_id, const char *agent_id);
/* room.*.<user_id>: binding for the events of every room that agent engaged. */
char *lc_names_agent_binding(const char *user_id);
/* room.<room_id>.*: binding for one room's events (watchers). */
char *lc_names_room_binding(const char *room_id);
/* broadcast.<kind>: an event for every node (offer, taken, presence, revoke, settings ...). */
char *lc_names_broadcast_key(const char *kind);
/* node.<node_id>: an answer to one node (room writer answers). */
char *lc_names_node_key(const char *node_id);
/* <channel>.<customer_id>: an outbound message to one customer of a channel. */
char *lc_names_outbound_key(const char *channel, const char *customer_id);
/* widget.<customer_id>: a node's binding for one widget customer connected to it. */
char *lc_names_widget_key(const char *customer_id);

#endif
