/* SPDX-License-Identifier: MIT */
/* wsd_stats: one log line with the store's operation counters (lc_store_stats). */
#include "config.h"
#include "stats.h"
#include "roomcmd.h"
#include "lc_log.h"

#include <stdio.h>

void wsd_stats_request(wsd_t *w)
{
	w->stats_wanted = 1;
	if (w->lws)
		lws_cancel_service(w->lws);
}

void wsd_stats_tick(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	if (!w->stats_wanted)
		return;
	w->stats_wanted = 0;
	wsd_stats_log(w);
}

void wsd_stats_log(wsd_t *w)
{
	lc_store_stats_t st;
	char kinds[256];
	size_t off = 0;

	lc_store_stats(w->store, &st);
	for (int k = 0; k < LC_STORE_OP_KINDS && off < sizeof kinds; k++)
		off += (size_t)snprintf(kinds + off, sizeof kinds - off, " %s=%llu",
					lc_store_op_name((lc_store_op_t)k),
					(unsigned long long)st.ops[k]);
	double per = st.messages_stored ? (double)st.ops_total / (double)st.messages_stored : 0.0;
	LC_INFO("store stats: ops=%llu messages_stored=%llu ops_per_message=%.3f%s",
		(unsigned long long)st.ops_total, (unsigned long long)st.messages_stored, per, kinds);
	wsd_roomcmd_stats_log(w);
}
