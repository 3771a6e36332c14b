/* SPDX-License-Identifier: MIT */
/* lc_bus_record: the replay record of a bus. Every exchange, queue (with its arguments), binding
 * and consumer declared is kept here and declared again, in dependency order, on every new
 * connection or channel (docs/bus-client.md, "Losing the connection, reconnecting, replay"). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lc_alloc.h"
#include "lc_bus_priv.h"
#include "lc_log.h"

static bool str_eq(const char *x, const char *y)
{
	return (x == NULL && y == NULL) || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

static void args_free(lc_bus_arg_t *args, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free((char *)args[i].key);
		free((char *)args[i].s);
	}
	free(args);
}

void lc_bus_decl_free(lc_bus_decl_t *d)
{
	if (d == NULL)
		return;
	args_free(d->args, d->nargs);
	free(d->consumer_tag);
	free(d);
}

const char *lc_bus_decl_name(lc_bus_t *bus, const char *name)
{
	if (name == NULL)
		return NULL;
	for (lc_bus_name_t *n = bus->names; n != NULL; n = n->next)
		if (strcmp(n->s, name) == 0)
			return n->s;
	size_t len = strlen(name) + 1;
	lc_bus_name_t *n = lc_malloc(sizeof *n + len);
	memcpy(n->s, name, len);
	n->next = bus->names;
	bus->names = n;
	return n->s;
}

/* ---- the index: records by identity (kind and a; a binding also b and c), chained, doubled
 * when it holds as many records as it has buckets. FNV-1a over the strings; NULL and "" differ. */
#define INDEX_MIN 64

static uint32_t hash_str(uint32_t h, const char *s)
{
	if (s == NULL)
		return (h ^ 0xffu) * 16777619u;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h * 16777619u;   /* the terminator: "ab","c" and "a","bc" differ */
}

static uint32_t decl_hash(lc_bus_decl_kind kind, const char *a, const char *b, const char *c)
{
	uint32_t h = hash_str((2166136261u ^ (uint32_t)kind) * 16777619u, a);

	if (kind == LC_BUS_DECL_BIND)
		h = hash_str(hash_str(h, b), c);
	return h;
}

static bool decl_is(const lc_bus_decl_t *d, lc_bus_decl_kind kind, const char *a, const char *b,
		    const char *c)
{
	return d->kind == kind && str_eq(d->a, a) &&
	       (kind != LC_BUS_DECL_BIND || (str_eq(d->b, b) && str_eq(d->c, c)));
}

static void index_link(lc_bus_decl_t **index, size_t cap, lc_bus_decl_t *d)
{
	lc_bus_decl_t **head = &index[d->hash & (cap - 1)];

	d->hnext = *head;
	*head = d;
}

static void index_grow(lc_bus_t *bus)
{
	size_t cap = bus->index_cap ? bus->index_cap * 2 : INDEX_MIN;
	lc_bus_decl_t **index = lc_calloc(cap, sizeof *index);
	lc_bus_decl_t *d;

	TAILQ_FOREACH(d, &bus->decls, link)
		index_link(index, cap, d);
	free(bus->index);
	bus->index = index;
	bus->index_cap = cap;
}

static void index_unlink(lc_bus_t *bus, lc_bus_decl_t *d)
{
	lc_bus_decl_t **pp = &bus->index[d->hash & (bus->index_cap - 1)];

	while (*pp != d) {
		LC_ASSERT(*pp != NULL);
		pp = &(*pp)->hnext;
	}
	*pp = d->hnext;
}

void lc_bus_decl_init(lc_bus_t *bus)
{
	TAILQ_INIT(&bus->decls);
	bus->index = NULL;
	bus->index_cap = bus->ndecls = 0;
}

/* Unlink d from the record and the index, and free it. */
static void decl_drop(lc_bus_t *bus, lc_bus_decl_t *d)
{
	TAILQ_REMOVE(&bus->decls, d, link);
	index_unlink(bus, d);
	bus->ndecls--;
	lc_bus_decl_free(d);
}

void lc_bus_decl_clear(lc_bus_t *bus)
{
	lc_bus_decl_t *d;

	while ((d = TAILQ_FIRST(&bus->decls)) != NULL) {
		TAILQ_REMOVE(&bus->decls, d, link);
		lc_bus_decl_free(d);
	}
	free(bus->index);
	lc_bus_decl_init(bus);
	for (lc_bus_name_t *n = bus->names, *next; n != NULL; n = next) {
		next = n->next;
		free(n);
	}
	bus->names = NULL;
}

lc_bus_decl_t *lc_bus_decl_find(lc_bus_t *bus, lc_bus_decl_kind kind, const char *a,
				const char *b, const char *c)
{
	lc_bus_decl_t *d;

	if (bus->index_cap == 0)
		return NULL;
	for (d = bus->index[decl_hash(kind, a, b, c) & (bus->index_cap - 1)]; d != NULL;
	     d = d->hnext)
		if (decl_is(d, kind, a, b, c))
			return d;
	return NULL;
}

void lc_bus_decl_append(lc_bus_t *bus, lc_bus_decl_t *rec)
{
	if (bus->ndecls >= bus->index_cap)
		index_grow(bus);
	rec->hash = decl_hash(rec->kind, rec->a, rec->b, rec->c);
	TAILQ_INSERT_TAIL(&bus->decls, rec, link);
	index_link(bus->index, bus->index_cap, rec);
	bus->ndecls++;
}

/* Unlink and free every record for which match() says yes. */
static void remove_if(lc_bus_t *bus, bool (*match)(const lc_bus_decl_t *d, const void *ctx),
		      const void *ctx)
{
	lc_bus_decl_t *d, *next;

	for (d = TAILQ_FIRST(&bus->decls); d != NULL; d = next) {
		next = TAILQ_NEXT(d, link);
		if (match(d, ctx))
			decl_drop(bus, d);
	}
}

typedef struct remove_ctx {
	lc_bus_decl_kind kind;
	int field;
	const char *name, *b, *c;
} remove_ctx_t;

static bool match_name(const lc_bus_decl_t *d, const void *ctx)
{
	const remove_ctx_t *r = ctx;

	return d->kind == r->kind && str_eq(r->field == 0 ? d->a : d->b, r->name) &&
	       (r->b == NULL || (str_eq(d->b, r->b) && str_eq(d->c, r->c)));
}

void lc_bus_decl_remove(lc_bus_t *bus, lc_bus_decl_kind kind, int field, const char *name,
			const char *b, const char *c)
{
	remove_ctx_t r = { kind, field, name, b, c };

	/* One identity: at most one record has it (declare replaces), found through the index. */
	if (field == 0 && (kind == LC_BUS_DECL_BIND) == (b != NULL)) {
		lc_bus_decl_t *d = lc_bus_decl_find(bus, kind, name, b, c);

		if (d != NULL)
			decl_drop(bus, d);
		return;
	}
	remove_if(bus, match_name, &r);
}

static bool match_tag(const lc_bus_decl_t *d, const void *ctx)
{
	const amqp_bytes_t *tag = ctx;

	if (d->kind != LC_BUS_DECL_CONSUME || d->consumer_tag == NULL ||
	    strlen(d->consumer_tag) != tag->len ||
	    memcmp(d->consumer_tag, tag->bytes, tag->len) != 0)
		return false;
	LC_WARN("bus: broker cancelled the consumer on queue %s", d->a);
	return true;
}

void lc_bus_decl_remove_consumer(lc_bus_t *bus, amqp_bytes_t tag)
{
	remove_if(bus, match_tag, &tag);
}

void lc_bus_decl_forget_tags(lc_bus_t *bus)
{
	lc_bus_decl_t *d;

	TAILQ_FOREACH(d, &bus->decls, link) {
		free(d->consumer_tag);
		d->consumer_tag = NULL;
	}
}

lc_rc lc_bus_decl_set_args(lc_bus_decl_t *rec, const lc_bus_arg_t *args, size_t n,
			   lc_err_t *err)
{
	size_t i;

	if (n > LC_BUS_ARG_MAX)
		return lc_err_set_field(err, LC_ERR_INVALID, "args", "bus: at most %d queue arguments",
					LC_BUS_ARG_MAX);
	if (n > 0 && args == NULL)
		return lc_err_set_field(err, LC_ERR_INVALID, "args", "bus: no queue arguments");
	for (i = 0; i < n; i++) {
		const lc_bus_arg_t *a = &args[i];

		if (a->key == NULL || *a->key == '\0' || strlen(a->key) > LC_BUS_NAME_MAX)
			return lc_err_set_field(err, LC_ERR_INVALID, "args",
						"bus: queue argument %zu: key must be 1..%d bytes", i,
						LC_BUS_NAME_MAX);
		if (a->type != LC_BUS_ARG_STRING && a->type != LC_BUS_ARG_INT &&
		    a->type != LC_BUS_ARG_BOOL)
			return lc_err_set_field(err, LC_ERR_INVALID, "args",
						"bus: queue argument %s: unknown type", a->key);
		if (a->type == LC_BUS_ARG_STRING && a->s == NULL)
			return lc_err_set_field(err, LC_ERR_INVALID, "args",
						"bus: queue argument %s: string is NULL", a->key);
	}
	rec->args = n > 0 ? lc_calloc(n, sizeof(*rec->args)) : NULL;
	rec->nargs = n;
	for (i = 0; i < n; i++) {
		rec->args[i] = args[i];
		rec->args[i].key = lc_strdup(args[i].key);
		rec->args[i].s = args[i].type == LC_BUS_ARG_STRING ? lc_strdup(args[i].s) : NULL;
	}
	return LC_OK;
}

/* The AMQP field table of a queue's arguments; entries point into d (valid while d lives). */
static amqp_table_t args_table(const lc_bus_decl_t *d, amqp_table_entry_t *entries)
{
	amqp_table_t t = { (int)d->nargs, entries };
	size_t i;

	for (i = 0; i < d->nargs; i++) {
		const lc_bus_arg_t *a = &d->args[i];

		entries[i].key = amqp_cstring_bytes(a->key);
		switch (a->type) {
		case LC_BUS_ARG_STRING:
			entries[i].value.kind = AMQP_FIELD_KIND_UTF8;
			entries[i].value.value.bytes = amqp_cstring_bytes(a->s);
			break;
		case LC_BUS_ARG_INT:
			entries[i].value.kind = AMQP_FIELD_KIND_I64;
			entries[i].value.value.i64 = a->i;
			break;
		default:
			entries[i].value.kind = AMQP_FIELD_KIND_BOOLEAN;
			entries[i].value.value.boolean = a->b;
			break;
		}
	}
	return t;
}

static lc_rc apply_consume(lc_bus_t *bus, lc_bus_decl_t *d, lc_err_t *err)
{
	amqp_basic_consume_ok_t *ok;
	lc_rc rc;

	if (d->consumer_tag != NULL)
		return LC_OK;   /* already consuming on this channel */
	amqp_basic_qos(bus->conn, LC_BUS_CHANNEL, 0, d->prefetch, 0);
	if ((rc = lc_bus_last_rpc(bus, "basic.qos", err)) != LC_OK)
		return rc;
	ok = amqp_basic_consume(bus->conn, LC_BUS_CHANNEL, amqp_cstring_bytes(d->a),
				amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
	if ((rc = lc_bus_last_rpc(bus, "basic.consume", err)) != LC_OK)
		return rc;
	d->consumer_tag = lc_bus_bytes_dup(ok->consumer_tag);
	return LC_OK;
}

lc_rc lc_bus_decl_apply(lc_bus_t *bus, lc_bus_decl_t *d, lc_err_t *err)
{
	amqp_connection_state_t c = bus->conn;
	amqp_bytes_t a = amqp_cstring_bytes(d->a);

	switch (d->kind) {
	case LC_BUS_DECL_EXCHANGE:
		amqp_exchange_declare(c, LC_BUS_CHANNEL, a, amqp_cstring_bytes(d->b), 0, d->durable, 0,
				      0, amqp_empty_table);
		return lc_bus_last_rpc(bus, "exchange.declare", err);
	case LC_BUS_DECL_QUEUE: {
		amqp_table_entry_t entries[LC_BUS_ARG_MAX];

		amqp_queue_declare(c, LC_BUS_CHANNEL, a, 0, d->durable, d->exclusive, d->auto_delete,
				   args_table(d, entries));
		return lc_bus_last_rpc(bus, "queue.declare", err);
	}
	case LC_BUS_DECL_BIND:
		amqp_queue_bind(c, LC_BUS_CHANNEL, a, amqp_cstring_bytes(d->b),
				amqp_cstring_bytes(d->c), amqp_empty_table);
		return lc_bus_last_rpc(bus, "queue.bind", err);
	case LC_BUS_DECL_CONSUME:
		return apply_consume(bus, d, err);
	default:
		LC_ASSERT(!"unknown declaration kind");
	}
	return LC_ERR_INTERNAL;
}

/* A declaration the broker refuses is dropped from the record (it would fail forever) and fails
 * this attempt; the next attempt goes on without it. */
lc_rc lc_bus_replay(lc_bus_t *bus, bool consumers_only, lc_err_t *err)
{
	int k;

	for (k = consumers_only ? LC_BUS_DECL_CONSUME : LC_BUS_DECL_EXCHANGE;
	     k < LC_BUS_DECL_KIND_COUNT_; k++) {
		lc_bus_decl_t *d;

		TAILQ_FOREACH(d, &bus->decls, link) {
			lc_rc rc;

			if ((int)d->kind != k)
				continue;
			if ((rc = lc_bus_decl_apply(bus, d, err)) == LC_OK)
				continue;
			if (rc != LC_ERR_UNAVAILABLE) {
				LC_ERROR("bus: replay dropped a declaration of %s: %s", d->a,
					 err ? err->reason : "");
				lc_bus_decl_remove(bus, d->kind, 0, d->a,
						   d->kind == LC_BUS_DECL_BIND ? d->b : NULL, d->c);
			}
			return rc;
		}
	}
	return LC_OK;
}
