/* SPDX-License-Identifier: MIT */
/* wsd_stats: the node's store counters in its log (issue 8: database operations per stored
 * message), on SIGUSR1 and once at shutdown, so a benchmark can read them from the log. */
#ifndef WSD_STATS_H
#define WSD_STATS_H

#include "wsd.h"

/* Signal handler: ask for a stats line (async-signal-safe: sets a flag, wakes the loop). */
void wsd_stats_request(wsd_t *w);
/* Loop (tick): log the line if one was asked for. */
void wsd_stats_tick(wsd_t *w);
/* Any thread: log one line "store stats: ops=N messages_stored=M ops_per_message=X find=..". */
void wsd_stats_log(wsd_t *w);

#endif
