/* SPDX-License-Identifier: MIT */
/* lc_bus_tls: the socket under a bus: plain TCP for amqp://, TLS for amqps:// with the broker's
 * certificate and host name always verified (docs/install.md, "TLS to RabbitMQ and MongoDB"). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <openssl/ssl.h>

#include "lc_alloc.h"
#include "lc_bus_priv.h"
#include "lc_config.h"

static char *dup_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? lc_strdup(s) : NULL;
}

static lc_rc check_file(const char *path, const char *key, lc_err_t *err)
{
	if (path != NULL && access(path, R_OK) != 0)
		return lc_err_set_field(err, LC_ERR_INVALID, key, "bus: %s: cannot read %s: %s", key,
					path, strerror(errno));
	return LC_OK;
}

lc_rc lc_bus_tls_copy(lc_bus_t *bus, const lc_bus_tls_t *tls, lc_err_t *err)
{
	lc_rc rc;

	if (tls == NULL)
		return LC_OK;
	bus->tls_ca = dup_or_null(tls->ca_file);
	bus->tls_cert = dup_or_null(tls->cert_file);
	bus->tls_key = dup_or_null(tls->key_file);
	if ((bus->tls_cert == NULL) != (bus->tls_key == NULL))
		return lc_err_set_field(err, LC_ERR_INVALID,
					bus->tls_cert != NULL ? "amqp_tls_key" : "amqp_tls_cert",
					"bus: amqp_tls_cert and amqp_tls_key go together");
	if ((rc = check_file(bus->tls_ca, "amqp_tls_ca", err)) != LC_OK ||
	    (rc = check_file(bus->tls_cert, "amqp_tls_cert", err)) != LC_OK ||
	    (rc = check_file(bus->tls_key, "amqp_tls_key", err)) != LC_OK)
		return rc;
	return LC_OK;
}

void lc_bus_tls_clear(lc_bus_t *bus)
{
	free(bus->tls_ca);
	free(bus->tls_cert);
	free(bus->tls_key);
	bus->tls_ca = bus->tls_cert = bus->tls_key = NULL;
}

void lc_bus_tls_from_config(const lc_config_t *cfg, lc_bus_tls_t *tls)
{
	tls->ca_file = lc_config_str(cfg, "amqp_tls_ca");
	tls->cert_file = lc_config_str(cfg, "amqp_tls_cert");
	tls->key_file = lc_config_str(cfg, "amqp_tls_key");
}

lc_bus_t *lc_bus_new_config(const lc_config_t *cfg, lc_err_t *err)
{
	lc_bus_tls_t tls;

	lc_bus_tls_from_config(cfg, &tls);
	return lc_bus_new_tls(lc_config_str(cfg, "amqp_url"), &tls, err);
}

/* rabbitmq-c verifies the peer and its name by default; said again here so that a change of
 * that default cannot turn verification off. Without a CA file, the system's CAs are trusted. */
static lc_rc setup_tls(lc_bus_t *bus, amqp_socket_t *sock, lc_err_t *err)
{
	int st;

	amqp_ssl_socket_set_verify_peer(sock, 1);
	amqp_ssl_socket_set_verify_hostname(sock, 1);
	if (bus->tls_ca != NULL) {
		if ((st = amqp_ssl_socket_set_cacert(sock, bus->tls_ca)) != AMQP_STATUS_OK)
			return lc_err_set_field(err, LC_ERR_INVALID, "amqp_tls_ca",
						"bus: cannot read the CA file %s: %s", bus->tls_ca,
						amqp_error_string2(st));
	} else if (SSL_CTX_set_default_verify_paths(amqp_ssl_socket_get_context(sock)) != 1) {
		return lc_err_set_field(err, LC_ERR_INVALID, "amqp_tls_ca",
					"bus: cannot load the system's CA certificates");
	}
	if (bus->tls_cert != NULL) {
		st = amqp_ssl_socket_set_key(sock, bus->tls_cert, bus->tls_key);
		if (st != AMQP_STATUS_OK)
			return lc_err_set_field(err, LC_ERR_INVALID, "amqp_tls_cert",
						"bus: cannot load the client certificate %s / key %s: %s",
						bus->tls_cert, bus->tls_key, amqp_error_string2(st));
	}
	return LC_OK;
}

lc_rc lc_bus_socket_open(lc_bus_t *bus, const struct timeval *timeout, lc_err_t *err)
{
	struct timeval tv = *timeout;
	amqp_socket_t *sock;
	lc_rc rc;
	int st;

	sock = bus->info.ssl ? amqp_ssl_socket_new(bus->conn) : amqp_tcp_socket_new(bus->conn);
	if (sock == NULL)
		return lc_err_set(err, LC_ERR_INTERNAL, "bus: cannot create a socket");
	if (bus->info.ssl && (rc = setup_tls(bus, sock, err)) != LC_OK)
		return rc;
	st = amqp_socket_open_noblock(sock, bus->info.host, bus->info.port, &tv);
	if (st == AMQP_STATUS_OK)
		return LC_OK;
	/* rabbitmq-c keeps the socket's own error (refused, unreachable) to itself. */
	rc = lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: cannot connect to %s:%d: %s", bus->info.host,
			bus->info.port, amqp_error_string2(st));
	lc_bus_tls_explain(bus, st, "cannot connect to", err);
	return rc;
}

/* Where a TLS failure comes from is rarely in rabbitmq-c's words: a certificate this side does
 * not trust fails the handshake; a broker that wants a client certificate and got none closes
 * the connection at the first read (TLS 1.3), i.e. during the login. */
void lc_bus_tls_explain(lc_bus_t *bus, int status, const char *doing, lc_err_t *err)
{
	if (!bus->info.ssl || status > AMQP_STATUS_SSL_ERROR || status <= _AMQP_STATUS_SSL_NEXT_VALUE)
		return;
	if (status == AMQP_STATUS_SSL_ERROR)
		lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: %s %s:%d: TLS: %s (does the broker ask for "
			   "a client certificate: amqp_tls_cert, amqp_tls_key?)", doing,
			   bus->info.host, bus->info.port, amqp_error_string2(status));
	else
		lc_err_set(err, LC_ERR_UNAVAILABLE, "bus: %s %s:%d: TLS: %s (is the broker's "
			   "certificate for %s and signed by a CA in %s?)", doing, bus->info.host,
			   bus->info.port, amqp_error_string2(status), bus->info.host,
			   bus->tls_ca != NULL ? bus->tls_ca : "the system's CA store (amqp_tls_ca)");
}
