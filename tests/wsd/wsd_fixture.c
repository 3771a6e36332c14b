/* SPDX-License-Identifier: MIT */
/* wsd_fixture: sets up and inspects the MongoDB state of the wsd integration tests through the
 * real store (liblivechat), so the tests need no MongoDB driver of their own. One command per
 * call; JSON on stdout; exit status 1 with a reason on stderr on any failure.
 *   wsd_fixture init
 *   wsd_fixture users PREFIX N GROUP          -> [{"id","username","token"}...]
 *   wsd_fixture group NAME PERM...            -> creates a permission group
 *   wsd_fixture canned OWNER_ID SHORTCUT TEXT -> {"id":...}
 *   wsd_fixture settings JSON                 -> the settings after the update
 *   wsd_fixture revoke TOKEN                  -> deletes that session
 *   wsd_fixture deactivate USER_ID
 *   wsd_fixture room ROOM_ID                  -> the room
 *   wsd_fixture messages ROOM_ID              -> the room's messages, oldest first
 *   wsd_fixture append ROOM_ID MSG_ID SENDER AUTHOR TEXT -> the message stored (and published
 *                                                nowhere: as a node leaves it that dies right
 *                                                after storing)
 *   wsd_fixture takeseq ROOM_ID               -> {"seq": N}: the room's next seq taken, nothing
 *                                                stored (a writer between its seq and its insert)
 *   wsd_fixture collide ROOM_ID AHEAD MSG_ID TEXT -> the agent message stored at the room's
 *                                                next block's seq number AHEAD, the counter
 *                                                left as it was (a reservation that met the
 *                                                next writer's)
 *   wsd_fixture fill ROOM_ID N LEN            -> {"first","last"}: N agent messages of LEN
 *                                                characters stored in the room (a long
 *                                                conversation, as the writer stores it)
 *   wsd_fixture drop                          -> drops the database
 * The database is $LIVECHAT_MONGO_URI / $LIVECHAT_MONGO_DB. */
#include "config.h"
#include "lc_auth.h"
#include "lc_json.h"
#include "lc_store.h"
#include "lc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const lc_err_t *err)
{
	fprintf(stderr, "wsd_fixture: %s: %s\n", what, err ? err->reason : "bad arguments");
	return 1;
}

static void print(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

static int cmd_users(lc_store_t *s, int argc, char **argv)
{
	lc_err_t err;
	if (argc < 5)
		return fail("users", NULL);
	int n = atoi(argv[3]);
	char *hash = NULL;
	if (lc_auth_hash_password("password-not-used-1", LC_AUTH_MIN_ITERATIONS, &hash, &err) != LC_OK)
		return fail("hash", &err);
	json_object *out = json_object_new_array();
	for (int i = 0; i < n; i++) {
		char name[128], disp[160], token[LC_AUTH_TOKEN_LEN + 1];
		char th[LC_AUTH_TOKEN_HASH_LEN + 1];
		snprintf(name, sizeof name, "%s%d", argv[2], i);
		snprintf(disp, sizeof disp, "Agent %s%d", argv[2], i);
		json_object *u = NULL;
		if (lc_store_user_create(s, name, disp, argv[4], true, hash, &u, &err) != LC_OK)
			return fail("user_create", &err);
		if (lc_auth_new_token(token, &err) != LC_OK)
			return fail("token", &err);
		lc_auth_token_hash(token, th);
		const char *id = lc_json_get_str(u, "id", "");
		if (lc_store_session_create(s, th, id, lc_real_ms() + 3600 * 1000, &err) != LC_OK)
			return fail("session_create", &err);
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(id));
		json_object_object_add(o, "username", json_object_new_string(name));
		json_object_object_add(o, "display_name", json_object_new_string(disp));
		json_object_object_add(o, "token", json_object_new_string(token));
		json_object_array_add(out, o);
		json_object_put(u);
	}
	print(out);
	json_object_put(out);
	free(hash);
	return 0;
}

/* A seq taken by a writer that held the room before (docs/topology.md: a block reserved above
 * every seq handed out), nothing stored with it yet. */
static int cmd_takeseq(lc_store_t *s, const char *room_id)
{
	lc_err_t err;
	int64_t seq = 0;
	if (lc_store_seq_reserve(s, room_id, 1, &seq, NULL, &err) != LC_OK)
		return fail("takeseq", &err);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "seq", json_object_new_int64(seq));
	print(o);
	json_object_put(o);
	return 0;
}

/* A message stored at seq ahead of the room's next block (its first seq + ahead - 1) with the
 * counter left as it was: a node whose reservation met the next writer's on a database without
 * an atomic $inc, the counter keeping the other's write (docs/topology.md). */
static int cmd_collide(lc_store_t *s, const char *room_id, int64_t ahead, const char *msg_id,
		       const char *text)
{
	lc_err_t err;
	json_object *room = NULL;
	int64_t last = 0, reserved = 0;
	if (ahead < 1 || lc_store_room_get(s, room_id, &room, &err) != LC_OK ||
	    lc_store_seq_marks(s, room_id, &last, &reserved, &err) != LC_OK) {
		json_object_put(room);
		return fail("collide", ahead < 1 ? NULL : &err);
	}
	lc_store_msg_t m = { .msg_id = msg_id, .room_id = room_id,
			     .channel = lc_json_get_str(room, "channel", ""),
			     .customer_id = lc_json_get_str(room, "customer_id", ""),
			     .sender = "agent", .author = "Elsewhere", .text = text,
			     .seq = (last > reserved ? last : reserved) + ahead };
	int rc = lc_store_message_insert_many(s, &m, 1, &err) == LC_OK &&
			 m.result == LC_STORE_MSG_STORED ? 0 : fail("collide: insert", &m.err);
	if (rc == 0)
		print(m.stored);
	json_object_put(m.stored);
	json_object_put(room);
	return rc;
}

/* N messages of len characters in room_id, in batches with seqs reserved as a writer does. */
static int cmd_fill(lc_store_t *s, const char *room_id, int64_t n, size_t len)
{
	enum { BATCH = 200 };
	lc_err_t err;
	json_object *room = NULL;
	if (n < 1 || len < 1 || lc_store_room_get(s, room_id, &room, &err) != LC_OK)
		return fail("fill", n < 1 || len < 1 ? NULL : &err);
	char *text = malloc(len + 1);
	memset(text, 'x', len);
	text[len] = '\0';
	static lc_store_msg_t msgs[BATCH];
	static char ids[BATCH][32];
	int64_t first = 0, seq = 0;
	int rc = 0;
	for (int64_t done = 0; done < n && rc == 0; done += BATCH) {
		size_t k = (size_t)(n - done < BATCH ? n - done : BATCH);
		if (lc_store_seq_reserve(s, room_id, (int64_t)k, &seq, NULL, &err) != LC_OK) {
			rc = fail("fill: seq", &err);
			break;
		}
		if (first == 0)
			first = seq;
		for (size_t i = 0; i < k; i++) {
			snprintf(ids[i], sizeof ids[i], "fill-%lld", (long long)(seq + (int64_t)i));
			msgs[i] = (lc_store_msg_t){ .msg_id = ids[i], .room_id = room_id,
				.channel = lc_json_get_str(room, "channel", ""),
				.customer_id = lc_json_get_str(room, "customer_id", ""),
				.sender = "agent", .author = "Filler", .text = text,
				.seq = seq + (int64_t)i };
		}
		if (lc_store_message_insert_batch(s, msgs, k, &err) != LC_OK)
			rc = fail("fill: insert", &err);
		for (size_t i = 0; i < k; i++) {
			if (rc == 0 && msgs[i].result != LC_STORE_MSG_STORED)
				rc = fail("fill: a message", &msgs[i].err);
			json_object_put(msgs[i].stored);
		}
		seq += (int64_t)k - 1;
	}
	if (rc == 0) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "first", json_object_new_int64(first));
		json_object_object_add(o, "last", json_object_new_int64(seq));
		print(o);
		json_object_put(o);
	}
	free(text);
	json_object_put(room);
	return rc;
}

int main(int argc, char **argv)
{
	lc_err_t err;
	const char *uri = getenv("LIVECHAT_MONGO_URI"), *db = getenv("LIVECHAT_MONGO_DB");
	if (argc < 2 || uri == NULL || db == NULL)
		return fail("usage (needs LIVECHAT_MONGO_URI and LIVECHAT_MONGO_DB)", NULL);
	lc_store_t *s = lc_store_new(uri, db, &err);
	if (s == NULL)
		return fail("store", &err);
	const char *cmd = argv[1];
	json_object *o = NULL;
	int rc = 0;
	if (strcmp(cmd, "init") == 0) {
		rc = lc_store_init(s, &err) == LC_OK ? 0 : fail("init", &err);
	} else if (strcmp(cmd, "users") == 0) {
		rc = cmd_users(s, argc, argv);
	} else if (strcmp(cmd, "group") == 0 && argc >= 3) {
		json_object *perms = json_object_new_array();
		for (int i = 3; i < argc; i++)
			json_object_array_add(perms, json_object_new_string(argv[i]));
		rc = lc_store_group_create(s, argv[2], perms, &o, &err) == LC_OK ? 0 : fail("group", &err);
		json_object_put(perms);
	} else if (strcmp(cmd, "canned") == 0 && argc >= 5) {
		rc = lc_store_canned_create(s, argv[2], argv[3], argv[3], argv[4], &o, &err) == LC_OK
			     ? 0 : fail("canned", &err);
	} else if (strcmp(cmd, "settings") == 0 && argc >= 3) {
		json_object *patch = lc_json_parse(argv[2], strlen(argv[2]), &err);
		if (patch == NULL)
			rc = fail("settings json", &err);
		else
			rc = lc_store_settings_update(s, patch, &o, &err) == LC_OK ? 0 : fail("settings", &err);
		json_object_put(patch);
	} else if (strcmp(cmd, "revoke") == 0 && argc >= 3) {
		char th[LC_AUTH_TOKEN_HASH_LEN + 1];
		lc_auth_token_hash(argv[2], th);
		rc = lc_store_session_delete(s, th, &err) == LC_OK ? 0 : fail("revoke", &err);
	} else if (strcmp(cmd, "deactivate") == 0 && argc >= 3) {
		rc = lc_store_user_update(s, argv[2], NULL, NULL, 0, &o, &err) == LC_OK ? 0 : fail("deactivate", &err);
	} else if (strcmp(cmd, "room") == 0 && argc >= 3) {
		rc = lc_store_room_get(s, argv[2], &o, &err) == LC_OK ? 0 : fail("room", &err);
	} else if (strcmp(cmd, "messages") == 0 && argc >= 3) {
		rc = lc_store_message_list_after(s, argv[2], -1, 10000, &o, &err) == LC_OK ? 0 : fail("messages", &err);
	} else if (strcmp(cmd, "append") == 0 && argc >= 7) {
		/* The room's counter + 1, as a node that stores without the room's writer: the
		 * writer finds that seq taken and goes on above it (docs/topology.md). */
		bool dup;
		rc = lc_store_message_append(s, argv[3], argv[2], argv[4], argv[5], argv[6], 0, &o, &dup,
					     &err) == LC_OK ? 0 : fail("append", &err);
	} else if (strcmp(cmd, "takeseq") == 0 && argc >= 3) {
		rc = cmd_takeseq(s, argv[2]);
	} else if (strcmp(cmd, "collide") == 0 && argc >= 6) {
		rc = cmd_collide(s, argv[2], atoll(argv[3]), argv[4], argv[5]);
	} else if (strcmp(cmd, "fill") == 0 && argc >= 5) {
		rc = cmd_fill(s, argv[2], atoll(argv[3]), (size_t)atoll(argv[4]));
	} else if (strcmp(cmd, "drop") == 0) {
		rc = lc_store_drop_database(s, &err) == LC_OK ? 0 : fail("drop", &err);
	} else {
		rc = fail(cmd, NULL);
	}
	if (rc == 0 && o != NULL)
		print(o);
	json_object_put(o);
	lc_store_free(&s);
	return rc;
}
