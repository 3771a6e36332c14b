/* SPDX-License-Identifier: MIT */
/* seed: puts what the REST API only reads into a stack's database through the real lc_store:
 * rooms with messages (made by wsd in production), and sessions with a chosen expiry (so a test
 * can watch a token expire without waiting token_ttl).
 *   seed CONFIG room CUSTOMER_ID MESSAGES [agent=USER_ID] [close]
 *        prints the room as JSON; agent= has that user take it (waiting -> engaged) first
 *   seed CONFIG session USER_ID TOKEN EXPIRES_IN_MS  stores SHA-256(TOKEN) as a session
 * and, to show what a request reads, changes no REST call can make:
 *   seed CONFIG delete-group NAME   deletes a group even while users are in it (lc_store)
 *   seed CONFIG drop COLLECTION     drops a collection (straight through the driver) */
#include "config.h"
#include "lc_alloc.h"
#include "lc_auth.h"
#include "lc_config.h"
#include "lc_json.h"
#include "lc_store.h"
#include "lc_time.h"

#include <mongoc/mongoc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lc_rc seed_room(lc_store_t *store, int argc, char **argv, lc_err_t *err)
{
	json_object *room = NULL, *msg = NULL;
	char *room_id = NULL;
	bool created = false, dup = false;
	char name[128];
	lc_rc rc;

	snprintf(name, sizeof name, "Customer %s", argv[0]);
	if ((rc = lc_store_room_open(store, "widget", argv[0], name, &room, &created, err)) != LC_OK)
		goto fail;
	/* A copy: room is replaced by the closed one below. */
	room_id = lc_strdup(lc_json_get_str(room, "id", ""));
	int n = atoi(argv[1]);
	for (int i = 1; i <= n; i++) {
		char id[160], text[64];
		snprintf(id, sizeof id, "%s-m%d", room_id, i);
		snprintf(text, sizeof text, "message %d", i);
		rc = lc_store_message_append(store, id, room_id, i % 2 ? "customer" : "agent", name,
					     text, lc_real_ms(), &msg, &dup, err);
		json_object_put(msg);
		msg = NULL;
		if (rc != LC_OK)
			goto fail;
	}
	bool close = false;
	for (int i = 2; i < argc; i++) {
		if (strncmp(argv[i], "agent=", 6) == 0) {
			json_object_put(room);
			room = NULL;
			rc = lc_store_room_claim(store, room_id, argv[i] + 6, "Seeded Agent", &room, err);
			if (rc != LC_OK)
				goto fail;
		} else if (strcmp(argv[i], "close") == 0) {
			close = true;
		} else {
			rc = lc_err_set(err, LC_ERR_INVALID, "unknown room option %s", argv[i]);
			goto fail;
		}
	}
	if (close) {
		json_object_put(room);
		room = NULL;
		if ((rc = lc_store_room_close(store, room_id, "customer_left", &room, err)) != LC_OK)
			goto fail;
	}
	printf("%s\n", lc_json_str(room));
fail:
	free(room_id);
	json_object_put(room);
	return rc;
}

static lc_rc seed_session(lc_store_t *store, char **argv, lc_err_t *err)
{
	char hash[LC_AUTH_TOKEN_HASH_LEN + 1];
	lc_auth_token_hash(argv[1], hash);
	return lc_store_session_create(store, hash, argv[0],
				       lc_real_ms() + strtoll(argv[2], NULL, 10), err);
}

static lc_rc seed_delete_group(lc_store_t *store, char **argv, lc_err_t *err)
{
	return lc_store_group_delete(store, argv[0], err);
}

static lc_rc drop_collection(const lc_config_t *cfg, const char *name, lc_err_t *err)
{
	bson_error_t e;
	lc_rc rc = LC_OK;
	mongoc_client_t *client = mongoc_client_new(lc_config_str(cfg, "mongo_uri"));
	if (client == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "bad mongo_uri");
	mongoc_collection_t *coll = mongoc_client_get_collection(
		client, lc_config_str(cfg, "mongo_db"), name);
	if (!mongoc_collection_drop(coll, &e) && strstr(e.message, "not found") == NULL)
		rc = lc_err_set(err, LC_ERR_UNAVAILABLE, "drop %s: %s", name, e.message);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(client);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: seed CONFIG room CUSTOMER_ID MESSAGES [agent=USER_ID] [close]\n"
			"       seed CONFIG session USER_ID TOKEN EXPIRES_IN_MS\n"
			"       seed CONFIG delete-group NAME\n"
			"       seed CONFIG drop COLLECTION\n");
}

int main(int argc, char **argv)
{
	lc_err_t err;
	lc_store_t *store = NULL;
	lc_rc rc = LC_ERR_INVALID;

	lc_err_clear(&err);
	const char *cmd = argc >= 3 ? argv[2] : "";
	bool room = argc >= 5 && strcmp(cmd, "room") == 0;
	bool session = argc == 6 && strcmp(cmd, "session") == 0;
	bool del_group = argc == 4 && strcmp(cmd, "delete-group") == 0;
	bool drop = argc == 4 && strcmp(cmd, "drop") == 0;
	if (!room && !session && !del_group && !drop) {
		usage();
		return 2;
	}
	mongoc_init();
	lc_config_t *cfg = lc_config_load(argv[1], &err);
	if (cfg != NULL)
		store = lc_store_new(lc_config_str(cfg, "mongo_uri"), lc_config_str(cfg, "mongo_db"),
				     &err);
	if (store != NULL && (rc = lc_store_init(store, &err)) == LC_OK) {
		if (room)
			rc = seed_room(store, argc - 3, argv + 3, &err);
		else if (session)
			rc = seed_session(store, argv + 3, &err);
		else if (del_group)
			rc = seed_delete_group(store, argv + 3, &err);
		else
			rc = drop_collection(cfg, argv[3], &err);
	}
	if (rc != LC_OK)
		fprintf(stderr, "seed: %s\n", err.reason);
	lc_store_free(&store);
	lc_config_free(&cfg);
	return rc == LC_OK ? 0 : 1;
}
