/* SPDX-License-Identifier: MIT */
/* fcgi request/response objects: parse the CGI environment a FastCGI request carries (path,
 * query, headers, cookies), read the body under a size limit, and build and render the response. */
#include "config.h"
#include "request.h"
#include "lc_alloc.h"
#include "lc_auth.h"
#include "lc_cookie.h"
#include "lc_json.h"
#include "lc_origin.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#define FCGI_REQUEST_MAGIC 0x52455131u   /* "REQ1" */
#define FCGI_RESPONSE_MAGIC 0x52455331u  /* "RES1" */

/* Name/value pairs: query parameters, cookies, response headers. Grown as needed: dropping a
 * pair past a fixed count would silently ignore what the client sent (the web server already
 * bounds the request line and headers). */
typedef struct kv {
	char *name;
	char *value;
} kv_t;

typedef struct kv_list {
	kv_t *items;
	size_t n, cap;
} kv_list_t;

struct fcgi_request {
	unsigned magic;
	char *const *envp;
	fcgi_read_fn read;
	void *rctx;
	const char *method;
	char *path;
	kv_list_t query;
	bool query_malformed;      /* a pair had a bad escape or an encoded NUL */
	kv_list_t cookies;         /* the cookies asked for so far (fcgi_request_cookie) */
	char *body;
	size_t body_len;
	char id[FCGI_REQUEST_ID_MAX + 1];   /* random, or a trusted proxy's X-Request-Id */
	bool forwarded_https;      /* a trusted proxy said the client used https */
	char *client;              /* the client a trusted proxy named, or NULL: REMOTE_ADDR */
};

struct fcgi_response {
	unsigned magic;
	int status;
	json_object *body;
	char *text;                /* a body that is not JSON (fcgi_response_text), or NULL */
	const char *text_type;     /* its Content-Type (static) */
	kv_list_t headers;
};

/* ---- name/value lists */

/* Takes over name and value. */
static void kv_add(kv_list_t *l, char *name, char *value)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->items = lc_realloc(l->items, l->cap * sizeof *l->items);
	}
	l->items[l->n].name = name;
	l->items[l->n].value = value;
	l->n++;
}

/* The first value called name (case-insensitive when nocase), NULL when absent. */
static const char *kv_find(const kv_list_t *l, const char *name, bool nocase)
{
	for (size_t i = 0; i < l->n; i++)
		if ((nocase ? strcasecmp : strcmp)(l->items[i].name, name) == 0)
			return l->items[i].value;
	return NULL;
}

static void kv_clear(kv_list_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].name);
		free(l->items[i].value);
	}
	free(l->items);
	memset(l, 0, sizeof *l);
}

/* ---- decoding */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *fcgi_url_decode(const char *src, size_t n, bool plus_space)
{
	char *out = lc_malloc(n + 1);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		char c = src[i];
		if (c == '%') {
			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			int h = hexval((unsigned char)src[i + 1]), l = hexval((unsigned char)src[i + 2]);
			/* An encoded NUL would cut the string short behind the caller's back. */
			if (h < 0 || l < 0 || (h == 0 && l == 0)) {
				free(out);
				return NULL;
			}
			out[w++] = (char)(h * 16 + l);
			i += 2;
		} else if (c == '+' && plus_space) {
			out[w++] = ' ';
		} else {
			out[w++] = c;
		}
	}
	out[w] = '\0';
	return out;
}

/* ---- request */

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
			return envp[i] + n + 1;
	return NULL;
}

/* Split "a=1&b=x%20y" into decoded pairs; malformed escapes drop that pair only. */
static void parse_query(fcgi_request_t *req, const char *q)
{
	while (q != NULL && *q != '\0') {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);
		size_t nlen = eq ? (size_t)(eq - q) : len;
		if (nlen > 0) {
			char *name = fcgi_url_decode(q, nlen, true);
			char *value = eq ? fcgi_url_decode(eq + 1, len - nlen - 1, true) : lc_strdup("");
			if (name != NULL && value != NULL) {
				kv_add(&req->query, name, value);
			} else {
				req->query_malformed = true;
				free(name);
				free(value);
			}
		}
		q = amp ? amp + 1 : NULL;
	}
}

static char *compute_path(char *const *envp)
{
	const char *uri = env_get(envp, "REQUEST_URI");
	if (uri != NULL && uri[0] == '/') {
		size_t len = strcspn(uri, "?#");
		return lc_strndup(uri, len);
	}
	const char *script = env_get(envp, "SCRIPT_NAME");
	const char *info = env_get(envp, "PATH_INFO");
	return lc_asprintf("%s%s", script ? script : "", info ? info : "");
}

fcgi_request_t *fcgi_request_new(char *const *envp, fcgi_read_fn read, void *rctx)
{
	fcgi_request_t *req = lc_calloc(1, sizeof *req);
	req->magic = FCGI_REQUEST_MAGIC;
	req->envp = envp;
	req->read = read;
	req->rctx = rctx;
	req->method = env_get(envp, "REQUEST_METHOD");
	if (req->method == NULL)
		req->method = "GET";
	req->path = compute_path(envp);
	const char *qs = env_get(envp, "QUERY_STRING");
	if (qs == NULL) {
		const char *uri = env_get(envp, "REQUEST_URI");
		const char *mark = uri ? strchr(uri, '?') : NULL;
		qs = mark ? mark + 1 : NULL;
	}
	parse_query(req, qs);
	req->body = lc_strdup("");
	if (lc_auth_random_hex(8, req->id, NULL) != LC_OK) {   /* 16 hex digits */
		/* No randomness is no reason to refuse a request; the id only correlates logs. */
		static atomic_ulong counter;   /* the serving threads */
		snprintf(req->id, sizeof req->id, "%016lx", atomic_fetch_add(&counter, 1) + 1);
	}
	return req;
}

void fcgi_request_free(fcgi_request_t **reqp)
{
	if (reqp == NULL || *reqp == NULL)
		return;
	fcgi_request_t *req = *reqp;
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	kv_clear(&req->query);
	kv_clear(&req->cookies);
	free(req->path);
	free(req->body);
	free(req->client);
	req->magic = 0;
	free(req);
	*reqp = NULL;
}

lc_rc fcgi_request_read_body(fcgi_request_t *req, size_t max, lc_err_t *err)
{
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	const char *cl = env_get(req->envp, "CONTENT_LENGTH");
	long long announced = -1;
	if (cl != NULL && *cl != '\0') {
		char *end = NULL;
		announced = strtoll(cl, &end, 10);
		if (*end != '\0' || announced < 0)
			return lc_err_set(err, LC_ERR_INVALID, "bad Content-Length");
		if ((unsigned long long)announced > max)
			return lc_err_set(err, LC_ERR_TOO_LARGE,
					  "request body larger than %zu bytes", max);
	}
	if (announced == 0 || req->read == NULL)
		return LC_OK;
	/* Without a length read to the end, but never more than max + 1 bytes. */
	size_t want = announced > 0 ? (size_t)announced : max + 1;
	char *buf = lc_malloc(want + 1);
	size_t got = 0;
	while (got < want) {
		ssize_t n = req->read(req->rctx, buf + got, want - got);
		if (n < 0) {
			free(buf);
			return lc_err_set(err, LC_ERR_INVALID, "cannot read request body");
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > max) {
		free(buf);
		return lc_err_set(err, LC_ERR_TOO_LARGE, "request body larger than %zu bytes", max);
	}
	if (announced > 0 && got < (size_t)announced) {
		free(buf);
		return lc_err_set(err, LC_ERR_INVALID, "request body shorter than Content-Length");
	}
	buf[got] = '\0';
	free(req->body);
	req->body = buf;
	req->body_len = got;
	return LC_OK;
}

const char *fcgi_request_body(const fcgi_request_t *req, size_t *len)
{
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	if (len != NULL)
		*len = req->body_len;
	return req->body;
}

const char *fcgi_request_method(const fcgi_request_t *req)
{
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	return req->method;
}

const char *fcgi_request_path(const fcgi_request_t *req)
{
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	return req->path;
}

const char *fcgi_request_env(const fcgi_request_t *req, const char *name)
{
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	return env_get(req->envp, name);
}

const char *fcgi_request_header(const fcgi_request_t *req, const char *name)
{
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	char var[128];
	size_t n = strlen(name);
	if (n + 6 >= sizeof var)
		return NULL;
	memcpy(var, "HTTP_", 5);
	for (size_t i = 0; i < n; i++)
		var[5 + i] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	var[5 + n] = '\0';
	const char *v = env_get(req->envp, var);
	/* CGI passes these two without the HTTP_ prefix. */
	if (v == NULL && strcasecmp(name, "Content-Type") == 0)
		v = env_get(req->envp, "CONTENT_TYPE");
	if (v == NULL && strcasecmp(name, "Content-Length") == 0)
		v = env_get(req->envp, "CONTENT_LENGTH");
	return v;
}

const char *fcgi_request_query(const fcgi_request_t *req, const char *name)
{
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	return kv_find(&req->query, name, false);
}

bool fcgi_request_query_malformed(const fcgi_request_t *req)
{
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	return req->query_malformed;
}

bool fcgi_request_query_at(const fcgi_request_t *req, size_t i, const char **name,
			   const char **value)
{
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	if (i >= req->query.n)
		return false;
	*name = req->query.items[i].name;
	*value = req->query.items[i].value;
	return true;
}

const char *fcgi_request_cookie(fcgi_request_t *req, const char *name)
{
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	const char *seen = kv_find(&req->cookies, name, false);
	char *value = NULL;
	if (seen != NULL)
		return seen;
	/* The shared parser (wsd reads the same header with it); the answer is kept with the
	 * request, so the pointer lives as long as it. */
	if (lc_cookie_find(fcgi_request_header(req, "Cookie"), name, &value, NULL) != LC_OK)
		return NULL;
	kv_add(&req->cookies, lc_strdup(name), value);
	return value;
}

bool fcgi_request_is_safe(const fcgi_request_t *req)
{
	const char *m = fcgi_request_method(req);
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

bool fcgi_request_same_origin(const fcgi_request_t *req)
{
	return lc_origin_is_host(fcgi_request_header(req, "Origin"), fcgi_request_header(req, "Host"));
}

const char *fcgi_request_bearer(const fcgi_request_t *req)
{
	const char *h = fcgi_request_header(req, "Authorization");
	if (h == NULL)
		return NULL;
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h != '\0' ? h : NULL;
}

const char *fcgi_request_id(const fcgi_request_t *req)
{
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	return req->id;
}

bool fcgi_request_is_https(const fcgi_request_t *req)
{
	const char *https = fcgi_request_env(req, "HTTPS");
	const char *scheme = fcgi_request_env(req, "REQUEST_SCHEME");
	return req->forwarded_https || (https != NULL && strcasecmp(https, "on") == 0) ||
	       (scheme != NULL && strcasecmp(scheme, "https") == 0);
}

const char *fcgi_request_client_addr(const fcgi_request_t *req)
{
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	if (req->client != NULL)
		return req->client;
	const char *addr = fcgi_request_env(req, "REMOTE_ADDR");
	return addr != NULL && *addr != '\0' ? addr : "-";
}

void fcgi_request_set_forwarded(fcgi_request_t *req, bool https, const char *client,
				const char *id)
{
	LC_CHECK_OBJ(req, FCGI_REQUEST_MAGIC);
	req->forwarded_https = https;
	if (client != NULL) {
		free(req->client);
		req->client = lc_strdup(client);
	}
	if (id != NULL) {
		LC_ASSERT(strlen(id) <= FCGI_REQUEST_ID_MAX);
		strcpy(req->id, id);
	}
}

/* ---- response */

fcgi_response_t *fcgi_response_new(void)
{
	fcgi_response_t *resp = lc_calloc(1, sizeof *resp);
	resp->magic = FCGI_RESPONSE_MAGIC;
	resp->status = 200;
	return resp;
}

void fcgi_response_reset(fcgi_response_t *resp)
{
	LC_CHECK_OBJ(resp, FCGI_RESPONSE_MAGIC);
	kv_clear(&resp->headers);
	json_object_put(resp->body);
	resp->body = NULL;
	free(resp->text);
	resp->text = NULL;
	resp->status = 200;
}

void fcgi_response_free(fcgi_response_t **respp)
{
	if (respp == NULL || *respp == NULL)
		return;
	fcgi_response_reset(*respp);
	(*respp)->magic = 0;
	free(*respp);
	*respp = NULL;
}

void fcgi_response_json(fcgi_response_t *resp, int status, json_object *body)
{
	LC_CHECK_OBJ(resp, FCGI_RESPONSE_MAGIC);
	json_object_put(resp->body);
	free(resp->text);
	resp->text = NULL;
	resp->body = body;
	resp->status = status;
}

void fcgi_response_text(fcgi_response_t *resp, int status, const char *content_type, char *text)
{
	fcgi_response_json(resp, status, NULL);
	resp->text = text;
	resp->text_type = content_type;
}

void fcgi_response_header(fcgi_response_t *resp, const char *name, const char *value)
{
	LC_CHECK_OBJ(resp, FCGI_RESPONSE_MAGIC);
	/* A CR or LF in a header value would let data forge headers: never emit one. */
	LC_ASSERT(strpbrk(name, "\r\n:") == NULL && strpbrk(value, "\r\n") == NULL);
	kv_add(&resp->headers, lc_strdup(name), lc_strdup(value));
}

bool fcgi_cookie_value_valid(const char *value)
{
	return lc_cookie_value_valid(value, strlen(value));
}

void fcgi_response_set_cookie(fcgi_response_t *resp, const char *name, const char *value,
			      int64_t max_age, bool secure)
{
	/* Only our own tokens become cookies: anything else here is a bug, and would let a value
	 * add attributes ("; Domain=...") or break the header. */
	LC_ASSERT(*name != '\0' && strchr(name, '=') == NULL && fcgi_cookie_value_valid(name));
	LC_ASSERT(fcgi_cookie_value_valid(value));
	char *v = lc_asprintf("%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s", name, value,
			      (long long)max_age, secure ? "; Secure" : "");
	fcgi_response_header(resp, "Set-Cookie", v);
	free(v);
}

int fcgi_response_status(const fcgi_response_t *resp)
{
	LC_CHECK_OBJ(resp, FCGI_RESPONSE_MAGIC);
	return resp->status;
}

json_object *fcgi_response_body(const fcgi_response_t *resp)
{
	LC_CHECK_OBJ(resp, FCGI_RESPONSE_MAGIC);
	return resp->body;
}

const char *fcgi_response_get_header(const fcgi_response_t *resp, const char *name)
{
	LC_CHECK_OBJ(resp, FCGI_RESPONSE_MAGIC);
	return kv_find(&resp->headers, name, true);
}

const char *fcgi_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

char *fcgi_response_render(const fcgi_response_t *resp, size_t *len)
{
	LC_CHECK_OBJ(resp, FCGI_RESPONSE_MAGIC);
	const char *body = resp->text != NULL ? resp->text :
			   resp->body != NULL ? lc_json_str(resp->body) : "";
	size_t blen = strlen(body);
	size_t cap = 256 + blen + 1;
	for (size_t i = 0; i < resp->headers.n; i++)
		cap += strlen(resp->headers.items[i].name) + strlen(resp->headers.items[i].value) + 4;
	char *out = lc_malloc(cap);
	int w = snprintf(out, cap, "Status: %d %s\r\nCache-Control: no-store\r\n", resp->status,
			 fcgi_status_text(resp->status));
	if (resp->text != NULL)
		w += snprintf(out + w, cap - (size_t)w, "Content-Type: %s\r\nContent-Length: %zu\r\n",
			      resp->text_type, blen);
	else if (resp->body != NULL)
		w += snprintf(out + w, cap - (size_t)w,
			      "Content-Type: application/json; charset=utf-8\r\nContent-Length: %zu\r\n",
			      blen + 1);
	for (size_t i = 0; i < resp->headers.n; i++)
		w += snprintf(out + w, cap - (size_t)w, "%s: %s\r\n", resp->headers.items[i].name,
			      resp->headers.items[i].value);
	w += snprintf(out + w, cap - (size_t)w, "\r\n");
	if (resp->text != NULL) {
		memcpy(out + w, body, blen);
		w += (int)blen;
	} else if (resp->body != NULL) {
		memcpy(out + w, body, blen);
		w += (int)blen;
		out[w++] = '\n';
	}
	out[w] = '\0';
	if (len != NULL)
		*len = (size_t)w;
	return out;
}
