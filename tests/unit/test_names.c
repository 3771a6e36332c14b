/* SPDX-License-Identifier: MIT */
/* CUnit tests of shared/lc_names.c: the AMQP names and routing keys as docs/topology.md lists
 * them (gateways and other installations depend on them: they must not drift). */
#include "config.h"
#include "unit_tests.h"
#include "lc_names.h"

#include <CUnit/Basic.h>
#include <stdlib.h>

static void check(char *got, const char *want)
{
	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
}

static void test_exchanges_and_queues_start_with_the_prefix(void)
{
	check(lc_names_inbound("lc"), "lc.inbound");
	check(lc_names_outbound("lc"), "lc.outbound");
	check(lc_names_nodes("lc"), "lc.nodes");
	check(lc_names_node_queue("lc", "host-42"), "lc.node.host-42");
}

static void test_room_events_name_the_room_and_the_agent_or_a_dash(void)
{
	check(lc_names_room_key("r1", "u7"), "room.r1.u7");
	check(lc_names_room_key("r1", NULL), "room.r1.-");
	check(lc_names_room_key("r1", ""), "room.r1.-");
	check(lc_names_agent_binding("u7"), "room.*.u7");
	check(lc_names_room_binding("r1"), "room.r1.*");
	CU_ASSERT_STRING_EQUAL(LC_NAMES_ROOM_PREFIX, "room.");
}

static void test_broadcast_node_and_customer_keys(void)
{
	check(lc_names_broadcast_key("offer"), "broadcast.offer");
	CU_ASSERT_STRING_EQUAL(LC_NAMES_BROADCAST_KEY("revoke"), "broadcast.revoke");
	CU_ASSERT_STRING_EQUAL(LC_NAMES_BROADCAST_ALL, "broadcast.*");
	check(lc_names_node_key("host-42"), "node.host-42");
	check(lc_names_outbound_key("telegram", "c9"), "telegram.c9");
	check(lc_names_widget_key("w1"), "widget.w1");
	CU_ASSERT_STRING_EQUAL(LC_NAMES_ROOM_COMMAND, "wsd.room");
	CU_ASSERT_STRING_EQUAL(LC_NAMES_INBOUND_ALL, "#");
}

int init_names_tests(void)
{
	CU_pSuite s = CU_add_suite("lc_names", NULL, NULL);
	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "exchanges and queues start with the prefix",
			 test_exchanges_and_queues_start_with_the_prefix) ||
	    !CU_add_test(s, "room events name the room and the agent or a dash",
			 test_room_events_name_the_room_and_the_agent_or_a_dash) ||
	    !CU_add_test(s, "broadcast, node and customer keys", test_broadcast_node_and_customer_keys))
		return -1;
	return 0;
}
