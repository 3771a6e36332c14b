/* SPDX-License-Identifier: MIT */
/* lc_room_status: room status names <-> lc_room_status_t, from one table. */
#include "config.h"
#include "lc_room_status.h"

#include <string.h>

/* In enum order from LC_ROOM_WAITING (status s is entry s - 1). */
const char *const lc_room_status_names[] = { "waiting", "engaged", "closed", NULL };

#define N_NAMES (sizeof lc_room_status_names / sizeof lc_room_status_names[0] - 1)

const char *lc_room_status_name(lc_room_status_t s)
{
	if (s < LC_ROOM_WAITING || (unsigned)s > N_NAMES)
		return NULL;
	return lc_room_status_names[s - 1];
}

lc_room_status_t lc_room_status_parse(const char *name)
{
	for (unsigned i = 0; name != NULL && i < N_NAMES; i++)
		if (strcmp(lc_room_status_names[i], name) == 0)
			return (lc_room_status_t)(i + 1);
	return LC_ROOM_UNKNOWN;
}
