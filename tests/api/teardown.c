/* SPDX-License-Identifier: MIT */
/* teardown: removes what a test stack left in the shared servers, so test runs do not pile up
 * databases in FerretDB nor exchanges and queues in RabbitMQ. tests/stack.sh stop runs it for
 * the names the stack made up itself.
 *   teardown CONFIG DBNAME [PREFIX]    drop the database; with PREFIX also delete the RabbitMQ
 *                                      exchanges PREFIX.inbound, .outbound, .nodes and the
 *                                      queue PREFIX.inbound (docs/topology.md); a broker that
 *                                      cannot be reached is only a warning
 *   teardown --exists CONFIG DBNAME    exit 0 when the server has the database, 1 when not
 * DBNAME (and PREFIX) must be the config's mongo_db (and amqp_prefix): a guard against removing
 * what the caller did not mean (the config file, or a LIVECHAT_* variable left in the
 * environment, naming another). */
#include "config.h"
#include "lc_alloc.h"
#include "lc_bus.h"
#include "lc_config.h"
#include "lc_store.h"

#include <mongoc/mongoc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lc_store has no "list databases" (the product never needs one): ask mongoc directly. */
static int exists(const char *uri, const char *db)
{
	bson_error_t berr;
	int status = 2;
	mongoc_init();
	mongoc_client_t *cl = mongoc_client_new(uri);
	char **names = cl ? mongoc_client_get_database_names_with_opts(cl, NULL, &berr) : NULL;
	if (names == NULL) {
		fprintf(stderr, "teardown: cannot list databases: %s\n", cl ? berr.message : "bad URI");
		goto out;
	}
	status = 1;
	for (size_t i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], db) == 0)
			status = 0;
	bson_strfreev(names);
out:
	mongoc_client_destroy(cl);
	return status;
}

/* The durable names livechat-wsd and livechat-fcgi declare under prefix (the per-node queues are
 * exclusive and went away with their nodes). Deleting what does not exist is fine. */
static lc_rc delete_broker_names(const lc_config_t *cfg, const char *prefix, lc_err_t *err)
{
	static const char *const exchanges[] = { "inbound", "outbound", "nodes", NULL };
	lc_rc rc = LC_OK;
	lc_bus_t *bus = lc_bus_new_config(cfg, err);
	if (bus == NULL)
		return err->code;
	char *name = lc_asprintf("%s.inbound", prefix);
	rc = lc_bus_delete_queue(bus, name, err);
	free(name);
	for (size_t i = 0; rc == LC_OK && exchanges[i] != NULL; i++) {
		name = lc_asprintf("%s.%s", prefix, exchanges[i]);
		rc = lc_bus_delete_exchange(bus, name, err);
		free(name);
	}
	lc_bus_free(&bus);
	return rc;
}

int main(int argc, char **argv)
{
	lc_err_t err;
	lc_config_t *cfg = NULL;
	lc_store_t *store = NULL;
	int status = 1;

	bool check = argc == 4 && strcmp(argv[1], "--exists") == 0;
	if ((argc != 3 && argc != 4) || (argc == 4 && strncmp(argv[1], "--", 2) == 0 && !check)) {
		fprintf(stderr, "usage: teardown CONFIG DBNAME [PREFIX]\n"
				"       teardown --exists CONFIG DBNAME\n");
		return 2;
	}
	const char *prefix = argc == 4 && !check ? argv[3] : NULL;
	if (check) {
		argv++;
		status = 2;
	}
	lc_err_clear(&err);
	if ((cfg = lc_config_load(argv[1], &err)) == NULL)
		goto fail;
	const char *db = lc_config_str(cfg, "mongo_db");
	if (strcmp(db, argv[2]) != 0) {
		fprintf(stderr, "teardown: %s names database %s, not %s: nothing dropped\n", argv[1], db,
			argv[2]);
		goto out;
	}
	if (check) {
		status = exists(lc_config_str(cfg, "mongo_uri"), db);
		goto out;
	}
	if (prefix != NULL && strcmp(prefix, lc_config_str(cfg, "amqp_prefix")) != 0) {
		fprintf(stderr, "teardown: %s names prefix %s, not %s: nothing removed\n", argv[1],
			lc_config_str(cfg, "amqp_prefix"), prefix);
		goto out;
	}
	if ((store = lc_store_new(lc_config_str(cfg, "mongo_uri"), db, &err)) == NULL)
		goto fail;
	if (lc_store_drop_database(store, &err) != LC_OK)
		goto fail;
	status = 0;
	/* A stack may be configured with a broker that is down on purpose: then it declared
	 * nothing there, and there is nothing to remove. */
	if (prefix != NULL && delete_broker_names(cfg, prefix, &err) != LC_OK)
		fprintf(stderr, "teardown: RabbitMQ names %s.* not removed: %s\n", prefix, err.reason);
	goto out;
fail:
	fprintf(stderr, "teardown: %s\n", err.reason);
out:
	lc_store_free(&store);
	lc_config_free(&cfg);
	return status;
}
