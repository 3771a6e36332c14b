/* SPDX-License-Identifier: MIT */
/* lc_room_status: room status names <-> lc_room_status_t. */
#include "config.h"
#include "lc_room_status.h"

#include <string.h>

static const char *const names[] = {
	[LC_ROOM_WAITING] = "waiting",
	[LC_ROOM_ENGAGED] = "engaged",
	[LC_ROOM_CLOSED] = "closed",
};

const char *lc_room_status_name(lc_room_status_t s)
{
	if ((unsigned)s >= sizeof names / sizeof names[0])
		return NULL;
	return names[s];
}

lc_room_status_t lc_room_status_parse(const char *name)
{
	for (unsigned i = 0; name != NULL && i < sizeof names / sizeof names[0]; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return (lc_room_status_t)i;
	return LC_ROOM_UNKNOWN;
}
