/* SPDX-License-Identifier: MIT */
/* fcgi proxy: what a proxy in front of the web server (TLS ended there) says about a request,
 * believed only when the request comes from an address of trusted_proxies: the scheme the
 * client used (Forwarded: proto=, else X-Forwarded-Proto), the client's address
 * (X-Forwarded-For) and the request id (X-Request-Id). From anyone else these headers are
 * ignored: a client could otherwise claim https or another address. */
#ifndef FCGI_PROXY_H
#define FCGI_PROXY_H

#include "request.h"
#include "lc_netlist.h"

/* Apply the proxy headers of req (fcgi_request_set_forwarded) when its REMOTE_ADDR is in
 * trusted (NULL or empty: nobody is trusted, nothing changes). Once per request, before it is
 * handled. */
void fcgi_proxy_apply(fcgi_request_t *req, const lc_netlist_t *trusted);

#endif
