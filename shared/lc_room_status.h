/* SPDX-License-Identifier: MIT */
/* lc_room_status: the states a room is stored in (rooms.status) and their names, in one place
 * for the store, fcgi and wsd. A room goes waiting -> engaged -> closed, or waiting -> closed. */
#ifndef LC_ROOM_STATUS_H
#define LC_ROOM_STATUS_H

typedef enum lc_room_status {
	LC_ROOM_UNKNOWN = 0,   /* absent or not one of the names below */
	LC_ROOM_WAITING,
	LC_ROOM_ENGAGED,
	LC_ROOM_CLOSED
} lc_room_status_t;

/* Every name, in enum order from LC_ROOM_WAITING, NULL-terminated (a lc_validate enum). */
extern const char *const lc_room_status_names[];
/* The stored name ("waiting", "engaged", "closed"); NULL for LC_ROOM_UNKNOWN. */
const char *lc_room_status_name(lc_room_status_t s);
/* The status a stored name means; LC_ROOM_UNKNOWN for NULL or any other string. */
lc_room_status_t lc_room_status_parse(const char *name);

/* agent_id of a room nobody took (stored by the no_agent ending so that no accept can win after
 * it; docs/websocket.md). Never an agent's id: user ids are ObjectIds. */
#define LC_ROOM_NO_AGENT "-"

#endif
