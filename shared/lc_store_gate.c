/* SPDX-License-Identifier: MIT */
/* lc_store_gate: mutual exclusion across processes through the one atomic primitive both
 * FerretDB 1.24 and MongoDB give, the unique-_id insert (FerretDB's conditional updates are not
 * atomic: docs/store.md). A gate is a document {_id: name, at}; whoever inserts it holds it,
 * deleting it releases it, and one older than stale_ms is broken (its holder died). */
#include "config.h"
#include "lc_store_priv.h"

#include <time.h>

#define GATE_RETRY_SLEEP_US 2000

static void gate_sleep(void)
{
	struct timespec ts = { 0, GATE_RETRY_SLEEP_US * 1000L };
	nanosleep(&ts, NULL);
}

lc_rc lc_store_gate_try(lc_store_t *s, const char *coll, const char *id, int64_t stale_ms,
			lc_err_t *err)
{
	int64_t now = lc_real_ms();
	bson_t *doc = BCON_NEW("_id", BCON_UTF8(id), "at", BCON_DATE_TIME(now));
	lc_rc rc = lc_store_insert(s, coll, doc, "held", NULL, err);
	bson_destroy(doc);
	if (rc != LC_ERR_CONFLICT)
		return rc;
	/* The {_id, at} filter cannot remove a fresh gate someone else took meanwhile. */
	bson_t *stale = BCON_NEW("_id", BCON_UTF8(id),
				 "at", "{", "$lt", BCON_DATE_TIME(now - stale_ms), "}");
	lc_store_delete(s, coll, stale, false, NULL, NULL);
	bson_destroy(stale);
	return rc;
}

lc_rc lc_store_gate_take(lc_store_t *s, const char *coll, const char *id, int64_t wait_ms,
			 int64_t stale_ms, lc_err_t *err)
{
	int64_t start = lc_mono_ms();
	for (;;) {
		lc_rc rc = lc_store_gate_try(s, coll, id, stale_ms, err);
		if (rc != LC_ERR_CONFLICT)
			return rc;
		if (lc_mono_ms() - start >= wait_ms)
			return lc_err_set(err, LC_ERR_UNAVAILABLE, "%s is being changed; try again",
					  id);
		lc_err_clear(err);
		gate_sleep();
	}
}

void lc_store_gate_release(lc_store_t *s, const char *coll, const char *id)
{
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
	lc_store_delete(s, coll, filter, false, NULL, NULL);
	bson_destroy(filter);
}
