/* SPDX-License-Identifier: MIT */
/* lc_store: the client pool, error mapping, bson <-> json-c conversion, the one-call operation
 * helpers the resource files (lc_store_*.c) are written with. Collections, fields and indexes
 * are described in docs/store.md. */
#include "config.h"
#include "lc_store_priv.h"
#include "lc_alloc.h"
#include "lc_log.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

/* A lost server must be reported quickly (LC_ERR_UNAVAILABLE), not after the driver's 30 s
 * default: these apply only when the URI does not set them. */
#define DEFAULT_SERVER_SELECTION_MS 2000
#define DEFAULT_CONNECT_MS 2000
#define DEFAULT_SOCKET_MS 10000
#define ORDERED_PIECE 100   /* documents per ordered insertMany: lc_store_insert_ordered */

static pthread_once_t mongoc_once = PTHREAD_ONCE_INIT;

static void driver_log(mongoc_log_level_t level, const char *domain, const char *message,
		       void *data)
{
	(void)data;
	/* FerretDB has no sessions: the driver's goodbye "endSessions" fails on every shutdown. */
	if (strstr(message, "endSessions") != NULL)
		level = MONGOC_LOG_LEVEL_DEBUG;
	if (level <= MONGOC_LOG_LEVEL_WARNING)
		LC_WARN("mongoc %s: %s", domain, message);
	else if (level <= MONGOC_LOG_LEVEL_INFO)
		LC_DEBUG("mongoc %s: %s", domain, message);
}

static void mongoc_init_once(void)
{
	mongoc_init();
	mongoc_log_set_handler(driver_log, NULL);
}

static bool db_name_ok(const char *db)
{
	if (db == NULL || *db == '\0' || strlen(db) > 63)
		return false;
	return strpbrk(db, "/\\. \"$*<>:|?") == NULL;
}

lc_store_t *lc_store_new(const char *uri_str, const char *db, lc_err_t *err)
{
	bson_error_t e;
	lc_store_t *s = NULL;
	mongoc_uri_t *uri = NULL;

	pthread_once(&mongoc_once, mongoc_init_once);
	if (uri_str == NULL) {
		lc_err_set_field(err, LC_ERR_INVALID, "mongo_uri", "MongoDB URI missing");
		goto fail;
	}
	uri = mongoc_uri_new_with_error(uri_str, &e);
	if (uri == NULL) {
		lc_err_set_field(err, LC_ERR_INVALID, "mongo_uri", "invalid MongoDB URI: %s",
				 e.message);
		goto fail;
	}
	if (db == NULL)
		db = mongoc_uri_get_database(uri);
	if (!db_name_ok(db)) {
		lc_err_set_field(err, LC_ERR_INVALID, "mongo_db", "invalid database name");
		goto fail;
	}
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
					       DEFAULT_SERVER_SELECTION_MS);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
		mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, DEFAULT_CONNECT_MS);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS))
		mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, DEFAULT_SOCKET_MS);
	/* Retryable writes need sessions and transaction numbers FerretDB does not have; no write
	 * here depends on them (duplicates are caught by unique keys instead). */
	if (!mongoc_uri_has_option(uri, MONGOC_URI_RETRYWRITES))
		mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYWRITES, false);
	if (mongoc_uri_get_appname(uri) == NULL)
		mongoc_uri_set_appname(uri, "livechat");

	s = lc_calloc(1, sizeof *s);
	s->magic = LC_STORE_MAGIC;
	s->uri = uri;
	uri = NULL;
	s->db = lc_strdup(db);
	s->pool = mongoc_client_pool_new(s->uri);
	if (s->pool == NULL) {
		lc_err_set_field(err, LC_ERR_INVALID, "mongo_uri",
				 "MongoDB URI rejected by the driver (TLS options?)");
		goto fail;
	}
	mongoc_client_pool_set_error_api(s->pool, MONGOC_ERROR_API_VERSION_2);
	return s;
fail:
	mongoc_uri_destroy(uri);
	lc_store_free(&s);
	return NULL;
}

void lc_store_start_monitors(lc_store_t *s)
{
	LC_CHECK_OBJ(s, LC_STORE_MAGIC);
	/* A pool starts monitoring at its first pop; taking a client does not connect. */
	mongoc_client_pool_push(s->pool, mongoc_client_pool_pop(s->pool));
}

void lc_store_free(lc_store_t **store)
{
	if (store == NULL || *store == NULL)
		return;
	lc_store_t *s = *store;
	LC_CHECK_OBJ(s, LC_STORE_MAGIC);
	if (s->pool != NULL)
		mongoc_client_pool_destroy(s->pool);
	mongoc_uri_destroy(s->uri);
	free(s->db);
	s->magic = 0;
	free(s);
	*store = NULL;
}

/* ---- errors */

static bool is_duplicate_key(const bson_error_t *e)
{
	if (e->code == MONGOC_ERROR_DUPLICATE_KEY || e->code == 11001 || e->code == 12582)
		return true;
	/* FerretDB 1.24 reports a unique violation caused by an update (not an insert) as
	 * InternalError (code 1) carrying SQLite's message. */
	return strstr(e->message, "E11000") != NULL ||
	       strstr(e->message, "UNIQUE constraint failed") != NULL;
}

static bool is_unreachable(const bson_error_t *e)
{
	switch (e->domain) {
	case MONGOC_ERROR_SERVER_SELECTION:
	case MONGOC_ERROR_STREAM:
		return true;
	case MONGOC_ERROR_CLIENT:
		return e->code == MONGOC_ERROR_CLIENT_AUTHENTICATE ||
		       e->code == MONGOC_ERROR_CLIENT_NOT_READY;
	default:
		break;
	}
	switch (e->code) {
	case 6: case 7: case 89: case 91: case 189: case 9001: case 10107: case 11600:
	case 11602: case 13435: case 13436:
		/* HostUnreachable, HostNotFound, NetworkTimeout, ShutdownInProgress,
		 * PrimarySteppedDown, SocketException, NotWritablePrimary, Interrupted... */
		return true;
	default:
		return false;
	}
}

lc_rc lc_store_map_error(const bson_error_t *e, lc_err_t *err, const char *conflict,
			 const char *conflict_field)
{
	if (is_duplicate_key(e))
		return lc_err_set_field(err, LC_ERR_CONFLICT, conflict_field, "%s",
					conflict ? conflict : "already exists");
	if (is_unreachable(e)) {
		LC_WARN("database unavailable: %s", e->message);
		return lc_err_set(err, LC_ERR_UNAVAILABLE, "database unavailable: %s", e->message);
	}
	LC_ERROR("database error (domain %u code %u): %s", e->domain, e->code, e->message);
	return lc_err_set(err, LC_ERR_INTERNAL, "database error: %s", e->message);
}

/* ---- conversion */

static json_object *value_to_json(bson_iter_t *it);

static json_object *doc_to_json(bson_iter_t *it, bool top, const char *const *omit)
{
	json_object *o = json_object_new_object();
	while (bson_iter_next(it)) {
		const char *key = bson_iter_key(it);
		bool skip = false;
		for (size_t i = 0; top && omit && omit[i]; i++)
			if (strcmp(omit[i], key) == 0)
				skip = true;
		if (skip)
			continue;
		if (top && strcmp(key, "_id") == 0)
			key = "id";
		json_object_object_add(o, key, value_to_json(it));
	}
	return o;
}

static json_object *value_to_json(bson_iter_t *it)
{
	bson_iter_t child;
	uint32_t len;
	char hex[25];

	switch (bson_iter_type(it)) {
	case BSON_TYPE_UTF8: {
		const char *str = bson_iter_utf8(it, &len);
		return json_object_new_string_len(str, (int)len);
	}
	case BSON_TYPE_INT32:
		return json_object_new_int64(bson_iter_int32(it));
	case BSON_TYPE_INT64:
		return json_object_new_int64(bson_iter_int64(it));
	case BSON_TYPE_DOUBLE:
		return json_object_new_double(bson_iter_double(it));
	case BSON_TYPE_BOOL:
		return json_object_new_boolean(bson_iter_bool(it));
	case BSON_TYPE_DATE_TIME:
		return json_object_new_int64(bson_iter_date_time(it));
	case BSON_TYPE_OID:
		bson_oid_to_string(bson_iter_oid(it), hex);
		return json_object_new_string(hex);
	case BSON_TYPE_DOCUMENT:
		if (!bson_iter_recurse(it, &child))
			return NULL;
		return doc_to_json(&child, false, NULL);
	case BSON_TYPE_ARRAY: {
		if (!bson_iter_recurse(it, &child))
			return NULL;
		json_object *a = json_object_new_array();
		while (bson_iter_next(&child))
			json_object_array_add(a, value_to_json(&child));
		return a;
	}
	default:
		return NULL;   /* null, undefined and types this schema never stores */
	}
}

json_object *lc_store_to_json(const bson_t *doc, const char *const *omit)
{
	bson_iter_t it;
	if (!bson_iter_init(&it, doc))
		return json_object_new_object();
	return doc_to_json(&it, true, omit);
}

void lc_store_append_json(bson_t *b, const char *key, json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		BSON_APPEND_NULL(b, key);
		break;
	case json_type_boolean:
		BSON_APPEND_BOOL(b, key, json_object_get_boolean(v));
		break;
	case json_type_double:
		BSON_APPEND_DOUBLE(b, key, json_object_get_double(v));
		break;
	case json_type_int:
		BSON_APPEND_INT64(b, key, json_object_get_int64(v));
		break;
	case json_type_string:
		bson_append_utf8(b, key, -1, json_object_get_string(v), json_object_get_string_len(v));
		break;
	case json_type_object: {
		bson_t child;
		BSON_APPEND_DOCUMENT_BEGIN(b, key, &child);
		json_object_object_foreach(v, k, val)
			lc_store_append_json(&child, k, val);
		bson_append_document_end(b, &child);
		break;
	}
	case json_type_array: {
		bson_t child;
		char buf[16];
		const char *ikey;
		BSON_APPEND_ARRAY_BEGIN(b, key, &child);
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			bson_uint32_to_string((uint32_t)i, &ikey, buf, sizeof buf);
			lc_store_append_json(&child, ikey, json_object_array_get_idx(v, i));
		}
		bson_append_array_end(b, &child);
		break;
	}
	}
}

bool lc_store_oid_parse(const char *hex, bson_oid_t *oid)
{
	if (hex == NULL || strlen(hex) != 24 || !bson_oid_is_valid(hex, 24))
		return false;
	bson_oid_init_from_string(oid, hex);
	return true;
}

char *lc_store_regex_escape(const char *s)
{
	static const char meta[] = "\\^$.|?*+()[]{}-/#";
	size_t n = strlen(s);
	char *out = lc_malloc(2 * n + 1), *w = out;
	for (; *s; s++) {
		if (strchr(meta, *s) != NULL)
			*w++ = '\\';
		*w++ = *s;
	}
	*w = '\0';
	return out;
}

/* ---- one-call operations */

typedef struct op {
	mongoc_client_t *client;
	mongoc_collection_t *coll;
	lc_store_op_t kind;
	int64_t t0_us;
} op_t;

void lc_store_count_op(lc_store_t *s, lc_store_op_t kind)
{
	LC_ASSERT(kind < LC_STORE_OP_KINDS);
	atomic_fetch_add_explicit(&s->ops[kind], 1, memory_order_relaxed);
}

void lc_store_stats(lc_store_t *s, lc_store_stats_t *out)
{
	LC_CHECK_OBJ(s, LC_STORE_MAGIC);
	memset(out, 0, sizeof *out);
	for (int k = 0; k < LC_STORE_OP_KINDS; k++) {
		out->ops[k] = atomic_load_explicit(&s->ops[k], memory_order_relaxed);
		out->ops_total += out->ops[k];
		out->op_us[k] = atomic_load_explicit(&s->op_us[k], memory_order_relaxed);
	}
	out->messages_stored = atomic_load_explicit(&s->messages_stored, memory_order_relaxed);
	out->batch_docs = atomic_load_explicit(&s->batch_docs, memory_order_relaxed);
}

const char *lc_store_op_name(lc_store_op_t kind)
{
	static const char *const names[LC_STORE_OP_KINDS] = {
		[LC_STORE_OP_FIND] = "find", [LC_STORE_OP_COUNT] = "count",
		[LC_STORE_OP_INSERT] = "insert", [LC_STORE_OP_INSERT_MANY] = "insert_many",
		[LC_STORE_OP_UPDATE] = "update", [LC_STORE_OP_DELETE] = "delete",
		[LC_STORE_OP_FIND_MODIFY] = "find_modify", [LC_STORE_OP_COMMAND] = "command",
	};
	LC_ASSERT(kind < LC_STORE_OP_KINDS);
	return names[kind];
}

static void op_begin(op_t *op, lc_store_t *s, const char *coll, lc_store_op_t kind)
{
	LC_CHECK_OBJ(s, LC_STORE_MAGIC);
	lc_store_count_op(s, kind);
	op->kind = kind;
	op->t0_us = lc_mono_us();
	op->client = mongoc_client_pool_pop(s->pool);
	op->coll = mongoc_client_get_collection(op->client, s->db, coll);
}

static void op_end(op_t *op, lc_store_t *s)
{
	mongoc_collection_destroy(op->coll);
	mongoc_client_pool_push(s->pool, op->client);
	atomic_fetch_add_explicit(&s->op_us[op->kind], (uint64_t)(lc_mono_us() - op->t0_us),
				  memory_order_relaxed);
}

void lc_store_page_opts(bson_t *opts, const bson_t *sort, int64_t skip, int64_t limit)
{
	if (sort != NULL)
		BSON_APPEND_DOCUMENT(opts, "sort", sort);
	if (skip > 0)
		BSON_APPEND_INT64(opts, "skip", skip);
	if (limit > 0)
		BSON_APPEND_INT64(opts, "limit", limit);
}

lc_rc lc_store_find_one(lc_store_t *s, const char *coll, const bson_t *filter, const bson_t *opts,
			const char *const *omit, const char *what, json_object **out, bson_t *raw,
			lc_err_t *err)
{
	op_t op;
	bson_error_t e;
	const bson_t *doc;
	bson_t o = BSON_INITIALIZER;
	lc_rc rc;

	if (opts != NULL)
		bson_copy_to_excluding_noinit(opts, &o, "limit", NULL);
	BSON_APPEND_INT64(&o, "limit", 1);
	op_begin(&op, s, coll, LC_STORE_OP_FIND);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(op.coll, filter, &o, NULL);
	if (mongoc_cursor_next(cur, &doc)) {
		if (out != NULL)
			*out = lc_store_to_json(doc, omit);
		if (raw != NULL)
			bson_copy_to(doc, raw);
		rc = LC_OK;
	} else if (mongoc_cursor_error(cur, &e)) {
		rc = lc_store_map_error(&e, err, NULL, NULL);
	} else {
		rc = lc_err_set(err, LC_ERR_NOT_FOUND, "%s not found", what);
	}
	mongoc_cursor_destroy(cur);
	op_end(&op, s);
	bson_destroy(&o);
	return rc;
}

lc_rc lc_store_find_many(lc_store_t *s, const char *coll, const bson_t *filter, const bson_t *opts,
			 const char *const *omit, json_object **items, lc_err_t *err)
{
	op_t op;
	bson_error_t e;
	const bson_t *doc;
	lc_rc rc = LC_OK;
	json_object *a = json_object_new_array();

	op_begin(&op, s, coll, LC_STORE_OP_FIND);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(op.coll, filter, opts, NULL);
	while (mongoc_cursor_next(cur, &doc))
		json_object_array_add(a, lc_store_to_json(doc, omit));
	if (mongoc_cursor_error(cur, &e)) {
		rc = lc_store_map_error(&e, err, NULL, NULL);
		json_object_put(a);
		a = NULL;
	}
	mongoc_cursor_destroy(cur);
	op_end(&op, s);
	*items = a;
	return rc;
}

lc_rc lc_store_count(lc_store_t *s, const char *coll, const bson_t *filter, int64_t *n,
		     lc_err_t *err)
{
	op_t op;
	bson_error_t e;
	lc_rc rc = LC_OK;

	op_begin(&op, s, coll, LC_STORE_OP_COUNT);
	int64_t c = mongoc_collection_count_documents(op.coll, filter, NULL, NULL, NULL, &e);
	if (c < 0)
		rc = lc_store_map_error(&e, err, NULL, NULL);
	else
		*n = c;
	op_end(&op, s);
	return rc;
}

lc_rc lc_store_find_page(lc_store_t *s, const char *coll, const bson_t *filter,
			 const bson_t *sort, int64_t skip, int64_t limit, const char *const *omit,
			 json_object **items, int64_t *total, lc_err_t *err)
{
	bson_t opts = BSON_INITIALIZER;

	lc_store_page_opts(&opts, sort, skip, limit);
	lc_rc rc = lc_store_find_many(s, coll, filter, &opts, omit, items, err);
	if (rc == LC_OK && total != NULL) {
		rc = lc_store_count(s, coll, filter, total, err);
		if (rc != LC_OK) {
			json_object_put(*items);
			*items = NULL;
		}
	}
	bson_destroy(&opts);
	return rc;
}

lc_rc lc_store_insert(lc_store_t *s, const char *coll, const bson_t *doc, const char *conflict,
		      const char *conflict_field, lc_err_t *err)
{
	op_t op;
	bson_error_t e;
	lc_rc rc = LC_OK;

	op_begin(&op, s, coll, LC_STORE_OP_INSERT);
	if (!mongoc_collection_insert_one(op.coll, doc, NULL, NULL, &e))
		rc = lc_store_map_error(&e, err, conflict, conflict_field);
	op_end(&op, s);
	return rc;
}

static int64_t reply_int(const bson_t *reply, const char *key)
{
	bson_iter_t it;
	if (bson_iter_init_find(&it, reply, key) && BSON_ITER_HOLDS_NUMBER(&it))
		return bson_iter_as_int64(&it);
	return 0;
}

lc_rc lc_store_update_one(lc_store_t *s, const char *coll, const bson_t *filter,
			  const bson_t *update, bool upsert, int64_t *matched, const char *conflict,
			  const char *conflict_field, lc_err_t *err)
{
	op_t op;
	bson_error_t e;
	bson_t reply;
	bson_t opts = BSON_INITIALIZER;
	lc_rc rc = LC_OK;

	if (upsert)
		BSON_APPEND_BOOL(&opts, "upsert", true);
	op_begin(&op, s, coll, LC_STORE_OP_UPDATE);
	if (!mongoc_collection_update_one(op.coll, filter, update, &opts, &reply, &e))
		rc = lc_store_map_error(&e, err, conflict, conflict_field);
	else if (matched != NULL)
		*matched = reply_int(&reply, "matchedCount") + reply_int(&reply, "upsertedCount");
	bson_destroy(&reply);
	op_end(&op, s);
	bson_destroy(&opts);
	return rc;
}

lc_rc lc_store_update_each(lc_store_t *s, const char *coll, const bson_t *const *filters,
			    const bson_t *const *updates, size_t n, bool upsert, int64_t *matched,
			    lc_err_t *err)
{
	op_t op;
	bson_error_t e;
	bson_t reply;
	lc_rc rc = LC_OK;
	/* Unordered: one update that matches nothing does not stop the others. */
	bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
	bson_t *one = BCON_NEW("upsert", BCON_BOOL(upsert));

	op_begin(&op, s, coll, LC_STORE_OP_UPDATE);
	mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(op.coll,
											opts);
	for (size_t i = 0; i < n; i++)
		mongoc_bulk_operation_update_one_with_opts(bulk, filters[i], updates[i], one, &e);
	if (!mongoc_bulk_operation_execute(bulk, &reply, &e))
		rc = lc_store_map_error(&e, err, NULL, NULL);
	else if (matched != NULL)
		*matched = reply_int(&reply, "nMatched") + reply_int(&reply, "nUpserted");
	bson_destroy(&reply);
	mongoc_bulk_operation_destroy(bulk);
	op_end(&op, s);
	bson_destroy(one);
	bson_destroy(opts);
	return rc;
}

lc_rc lc_store_delete(lc_store_t *s, const char *coll, const bson_t *filter, bool many,
		      int64_t *deleted, lc_err_t *err)
{
	op_t op;
	bson_error_t e;
	bson_t reply;
	bool ok;
	lc_rc rc = LC_OK;

	op_begin(&op, s, coll, LC_STORE_OP_DELETE);
	if (many)
		ok = mongoc_collection_delete_many(op.coll, filter, NULL, &reply, &e);
	else
		ok = mongoc_collection_delete_one(op.coll, filter, NULL, &reply, &e);
	if (!ok)
		rc = lc_store_map_error(&e, err, NULL, NULL);
	else if (deleted != NULL)
		*deleted = reply_int(&reply, "deletedCount");
	bson_destroy(&reply);
	op_end(&op, s);
	return rc;
}

lc_rc lc_store_find_modify(lc_store_t *s, const char *coll, const bson_t *filter,
			   const bson_t *update, bool upsert, const char *const *omit,
			   const char *what, json_object **out, bson_t *raw, const char *conflict,
			   const char *conflict_field, lc_err_t *err)
{
	op_t op;
	bson_error_t e;
	bson_t reply;
	bson_iter_t it;
	lc_rc rc;
	mongoc_find_and_modify_opts_t *fm = mongoc_find_and_modify_opts_new();

	mongoc_find_and_modify_opts_set_update(fm, update);
	mongoc_find_and_modify_opts_set_flags(fm, MONGOC_FIND_AND_MODIFY_RETURN_NEW |
					      (upsert ? MONGOC_FIND_AND_MODIFY_UPSERT : 0));
	op_begin(&op, s, coll, LC_STORE_OP_FIND_MODIFY);
	if (!mongoc_collection_find_and_modify_with_opts(op.coll, filter, fm, &reply, &e)) {
		rc = lc_store_map_error(&e, err, conflict, conflict_field);
	} else if (bson_iter_init_find(&it, &reply, "value") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
		uint32_t len;
		const uint8_t *data;
		bson_t doc;
		bson_iter_document(&it, &len, &data);
		if (!bson_init_static(&doc, data, len)) {
			rc = lc_err_set(err, LC_ERR_INTERNAL, "database returned a bad document");
		} else {
			if (out != NULL)
				*out = lc_store_to_json(&doc, omit);
			if (raw != NULL)
				bson_copy_to(&doc, raw);
			rc = LC_OK;
		}
	} else {
		rc = lc_err_set(err, LC_ERR_NOT_FOUND, "%s not found", what);
	}
	bson_destroy(&reply);
	op_end(&op, s);
	mongoc_find_and_modify_opts_destroy(fm);
	return rc;
}

/* One insertMany; ordered or not, a reply with writeErrors (and no transport failure) says
 * which documents were refused: ok[]/dupkey[] as lc_store_insert_many says. Ordered, the
 * server stops at the first refused one and the documents after it are not stored either. */
static lc_rc insert_docs(lc_store_t *s, const char *coll, const bson_t **docs, size_t n,
			 bool ordered, bool *ok, bool *dupkey, lc_err_t *err)
{
	op_t op;
	bson_error_t e;
	bson_t reply;
	bson_iter_t it, errs;
	lc_rc rc = LC_OK;
	bson_t *opts = BCON_NEW("ordered", BCON_BOOL(ordered));

	for (size_t i = 0; i < n; i++) {
		ok[i] = true;
		dupkey[i] = false;
	}
	op_begin(&op, s, coll, LC_STORE_OP_INSERT_MANY);
	atomic_fetch_add_explicit(&s->batch_docs, n, memory_order_relaxed);
	bool sent = mongoc_collection_insert_many(op.coll, docs, n, opts, &reply, &e);
	bool has_write_errors = bson_iter_init_find(&it, &reply, "writeErrors") &&
				BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &errs);
	if (!sent && !has_write_errors) {
		rc = lc_store_map_error(&e, err, NULL, NULL);
		for (size_t i = 0; i < n; i++)
			ok[i] = false;
	} else if (has_write_errors) {
		while (bson_iter_next(&errs)) {
			bson_t one;
			uint32_t len;
			const uint8_t *data;
			if (!BSON_ITER_HOLDS_DOCUMENT(&errs))
				continue;
			bson_iter_document(&errs, &len, &data);
			if (!bson_init_static(&one, data, len))
				continue;
			int64_t idx = reply_int(&one, "index");
			if (idx < 0 || (size_t)idx >= n)
				continue;
			bson_error_t de = { 0 };
			bson_iter_t m;
			de.code = (uint32_t)reply_int(&one, "code");
			if (bson_iter_init_find(&m, &one, "errmsg") && BSON_ITER_HOLDS_UTF8(&m))
				bson_strncpy(de.message, bson_iter_utf8(&m, NULL), sizeof de.message);
			ok[idx] = false;
			dupkey[idx] = is_duplicate_key(&de);
		}
	}
	bson_destroy(&reply);
	op_end(&op, s);
	bson_destroy(opts);
	return rc;
}

lc_rc lc_store_insert_many(lc_store_t *s, const char *coll, const bson_t **docs, size_t n,
			   bool *ok, bool *dupkey, lc_err_t *err)
{
	/* Unordered: one bad document (a redelivered duplicate) does not stop the others. */
	return insert_docs(s, coll, docs, n, false, ok, dupkey, err);
}

lc_rc lc_store_insert_ordered(lc_store_t *s, const char *coll, const bson_t **docs, size_t n,
			      size_t *stored, bool *dupkey, lc_err_t *err)
{
	bool ok[ORDERED_PIECE], dup[ORDERED_PIECE];
	*stored = 0;
	*dupkey = false;
	/* FerretDB 1.24 honours "ordered" only inside each of its insert batches (100 documents,
	 * its --batch-size): it goes on with the next batch after a refusal. In pieces of at most
	 * that many, the first refusal stops the rest on it as on MongoDB. */
	while (*stored < n) {
		size_t k = n - *stored < ORDERED_PIECE ? n - *stored : ORDERED_PIECE;
		lc_rc rc = insert_docs(s, coll, docs + *stored, k, true, ok, dup, err);
		if (rc != LC_OK)
			return rc;
		for (size_t i = 0; i < k; i++, (*stored)++) {
			if (!ok[i]) {
				*dupkey = dup[i];
				return LC_OK;
			}
		}
	}
	return LC_OK;
}
