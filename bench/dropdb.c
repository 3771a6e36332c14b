/* SPDX-License-Identifier: MIT */
/* bench/dropdb.c: drops one MongoDB database (the benchmark's own, made by tests/stack.sh) so a
 * benchmark run leaves nothing behind in the shared FerretDB. Not part of the product.
 *   dropdb MONGO_URI DBNAME      (DBNAME must start with "lc_")  */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 3 || strncmp(argv[2], "lc_", 3) != 0) {
		fprintf(stderr, "usage: dropdb MONGO_URI DBNAME   (DBNAME starting with lc_)\n");
		return 2;
	}
	int status = 1;
	bson_error_t err;
	mongoc_init();
	mongoc_log_set_handler(NULL, NULL);   /* FerretDB lacks endSessions: mongoc warns at exit */
	mongoc_client_t *cl = mongoc_client_new(argv[1]);
	if (cl == NULL) {
		fprintf(stderr, "dropdb: bad URI\n");
		goto out;
	}
	mongoc_database_t *db = mongoc_client_get_database(cl, argv[2]);
	if (mongoc_database_drop(db, &err))
		status = 0;
	else
		fprintf(stderr, "dropdb: %s: %s\n", argv[2], err.message);
	mongoc_database_destroy(db);
	mongoc_client_destroy(cl);
out:
	mongoc_cleanup();
	return status;
}
