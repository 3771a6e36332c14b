/* SPDX-License-Identifier: MIT */
/* lc_names: AMQP object names and routing keys (lc_names.h, docs/topology.md). */
#include "config.h"
#include "lc_names.h"
#include "lc_alloc.h"

char *lc_names_inbound(const char *prefix)
{
	return lc_asprintf("%s.inbound", prefix);
}

char *lc_names_outbound(const char *prefix)
{
	return lc_asprintf("%s.outbound", prefix);
}

char *lc_names_nodes(const char *prefix)
{
	return lc_asprintf("%s.nodes", prefix);
}

char *lc_names_node_queue(const char *prefix, const char *node_id)
{
	return lc_asprintf("%s.node.%s", prefix, node_id);
}

char *lc_names_solo(const char *prefix)
{
	return lc_asprintf("%s.solo", prefix);
}

char *lc_names_room_key(const char *room_id, const char *agent_id)
{
	return lc_asprintf(LC_NAMES_ROOM_PREFIX "%s.%s", room_id,
			   agent_id && *agent_id ? agent_id : "-");
}

char *lc_names_agent_binding(const char *user_id)
{
	return lc_asprintf(LC_NAMES_ROOM_PREFIX "*.%s", user_id);
}

char *lc_names_room_binding(const char *room_id)
{
	return lc_asprintf(LC_NAMES_ROOM_PREFIX "%s.*", room_id);
}

char *lc_names_broadcast_key(const char *kind)
{
	return lc_asprintf(LC_NAMES_BROADCAST_KEY("%s"), kind);
}

char *lc_names_node_key(const char *node_id)
{
	return lc_asprintf("node.%s", node_id);
}

char *lc_names_outbound_key(const char *channel, const char *customer_id)
{
	return lc_asprintf("%s.%s", channel, customer_id);
}

char *lc_names_widget_key(const char *customer_id)
{
	/* The widget is a channel like any gateway's: its customers' keys are channel keys. */
	return lc_names_outbound_key("widget", customer_id);
}
