/* SPDX-License-Identifier: MIT */
/* fcgi router: matches "METHOD /path" against the registered tables, segment by segment, with
 * {name} segments capturing (percent-decoded) parameters. Linear scan: there are a few dozen
 * routes, and the order of the tables is the order of precedence. */
#include "config.h"
#include "router.h"
#include "request.h"
#include "lc_alloc.h"
#include "lc_validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FCGI_ROUTER_MAGIC 0x524f5554u   /* "ROUT" */
#define MAX_TABLES 32

struct fcgi_router {
	unsigned magic;
	const fcgi_route_t *tables[MAX_TABLES];
	size_t ntables;
};

fcgi_router_t *fcgi_router_new(void)
{
	fcgi_router_t *r = lc_calloc(1, sizeof *r);
	r->magic = FCGI_ROUTER_MAGIC;
	return r;
}

void fcgi_router_free(fcgi_router_t **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	LC_CHECK_OBJ(*rp, FCGI_ROUTER_MAGIC);
	(*rp)->magic = 0;
	free(*rp);
	*rp = NULL;
}

void fcgi_router_add(fcgi_router_t *r, const fcgi_route_t *table)
{
	LC_CHECK_OBJ(r, FCGI_ROUTER_MAGIC);
	LC_ASSERT(r->ntables < MAX_TABLES);
	for (const fcgi_route_t *rt = table; rt->method != NULL; rt++) {
		LC_ASSERT(rt->pattern != NULL && rt->pattern[0] == '/' && rt->handler != NULL);
		size_t nparams = 0;
		for (const char *p = rt->pattern; (p = strchr(p, '{')) != NULL; p++)
			nparams++;
		LC_ASSERT(nparams <= FCGI_MAX_PARAMS);
	}
	r->tables[r->ntables++] = table;
}

/* Next segment of s (after any '/'): sets *seg and *len, returns the rest, or NULL at the end. */
static const char *next_segment(const char *s, const char **seg, size_t *len)
{
	while (*s == '/')
		s++;
	if (*s == '\0')
		return NULL;
	*seg = s;
	*len = strcspn(s, "/");
	return s + *len;
}

void fcgi_params_clear(fcgi_params_t *params)
{
	if (params == NULL)
		return;
	for (size_t i = 0; i < params->n; i++)
		free(params->value[i]);
	memset(params, 0, sizeof *params);
}

/* True when path matches pattern; captures into params (cleared on failure). */
static bool match_pattern(const char *pattern, const char *path, fcgi_params_t *params)
{
	const char *ps = NULL, *ss = NULL;
	size_t plen = 0, slen = 0;
	const char *p = pattern, *s = path;

	memset(params, 0, sizeof *params);
	for (;;) {
		p = next_segment(p, &ps, &plen);
		s = next_segment(s, &ss, &slen);
		if (p == NULL || s == NULL) {
			if (p == NULL && s == NULL)
				return true;
			goto fail;
		}
		if (plen >= 2 && ps[0] == '{' && ps[plen - 1] == '}') {
			char *v = fcgi_url_decode(ss, slen, false);
			/* Ids and names are text: bytes that are not UTF-8 name nothing (and would
			 * reach the store as strings BSON requires to be UTF-8). */
			if (v != NULL && !lc_utf8_valid(v, strlen(v))) {
				free(v);
				v = NULL;
			}
			if (v == NULL)
				goto fail;
			params->name[params->n] = ps + 1;
			params->value[params->n] = v;
			params->n++;
		} else if (plen != slen || memcmp(ps, ss, plen) != 0) {
			goto fail;
		}
	}
fail:
	fcgi_params_clear(params);
	return false;
}

fcgi_match_t fcgi_router_match(const fcgi_router_t *r, const char *method, const char *path,
			       const fcgi_route_t **route, fcgi_params_t *params, char *allow,
			       size_t allow_len)
{
	LC_CHECK_OBJ(r, FCGI_ROUTER_MAGIC);
	fcgi_params_t tmp;
	bool path_seen = false;
	size_t aw = 0;

	if (allow != NULL && allow_len > 0)
		allow[0] = '\0';
	memset(params, 0, sizeof *params);
	*route = NULL;
	for (size_t t = 0; t < r->ntables; t++) {
		for (const fcgi_route_t *rt = r->tables[t]; rt->method != NULL; rt++) {
			if (!match_pattern(rt->pattern, path, &tmp))
				continue;
			if (strcmp(rt->method, method) == 0) {
				*route = rt;
				*params = tmp;
				return FCGI_MATCH_OK;
			}
			fcgi_params_clear(&tmp);
			if (allow != NULL && aw < allow_len && strstr(allow, rt->method) == NULL) {
				int n = snprintf(allow + aw, allow_len - aw, "%s%s", path_seen ? ", " : "",
						 rt->method);
				if (n > 0)
					aw += (size_t)n;
			}
			path_seen = true;
		}
	}
	return path_seen ? FCGI_MATCH_NO_METHOD : FCGI_MATCH_NO_PATH;
}

const char *fcgi_params_get(const fcgi_params_t *params, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < params->n; i++)
		if (strncmp(params->name[i], name, n) == 0 && params->name[i][n] == '}')
			return params->value[i];
	return NULL;
}
