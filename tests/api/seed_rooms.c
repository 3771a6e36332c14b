/* seed_rooms: puts a room with messages into a stack's database through the real lc_store, so
 * the read-only /api/rooms routes have something to show (rooms are made by wsd, not REST).
 *   seed_rooms CONFIG CUSTOMER_ID MESSAGES [close]
 * Prints the room as JSON. */
#include "config.h"
#include "lc_config.h"
#include "lc_json.h"
#include "lc_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	lc_err_t err;
	json_object *room = NULL, *msg = NULL;
	bool created = false, dup = false;
	int status = 1;

	if (argc < 4) {
		fprintf(stderr, "usage: seed_rooms CONFIG CUSTOMER_ID MESSAGES [close]\n");
		return 2;
	}
	lc_config_t *cfg = lc_config_load(argv[1], &err);
	lc_store_t *store = cfg ? lc_store_new(lc_config_str(cfg, "mongo_uri"),
					       lc_config_str(cfg, "mongo_db"), &err) : NULL;
	if (store == NULL || lc_store_init(store, &err) != LC_OK)
		goto fail;
	char name[128];
	snprintf(name, sizeof name, "Customer %s", argv[2]);
	if (lc_store_room_open(store, "widget", argv[2], name, &room, &created, &err) != LC_OK)
		goto fail;
	const char *room_id = lc_json_get_str(room, "id", "");
	int n = atoi(argv[3]);
	for (int i = 1; i <= n; i++) {
		char id[160], text[64];
		snprintf(id, sizeof id, "%s-m%d", room_id, i);
		snprintf(text, sizeof text, "message %d", i);
		if (lc_store_message_append(store, id, room_id, i % 2 ? "customer" : "agent", name, text,
					    lc_store_now_ms(), &msg, &dup, &err) != LC_OK)
			goto fail;
		json_object_put(msg);
		msg = NULL;
	}
	if (argc > 4 && strcmp(argv[4], "close") == 0) {
		json_object_put(room);
		room = NULL;
		if (lc_store_room_close(store, room_id, "customer_left", &room, &err) != LC_OK)
			goto fail;
	}
	printf("%s\n", lc_json_str(room));
	status = 0;
fail:
	if (status != 0)
		fprintf(stderr, "seed_rooms: %s\n", err.reason);
	json_object_put(room);
	lc_store_free(&store);
	lc_config_free(&cfg);
	return status;
}
