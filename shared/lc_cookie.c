/* SPDX-License-Identifier: MIT */
/* lc_cookie: Cookie request header parsing (RFC 6265 section 4.2 and 5.4), one implementation
 * for the REST API and the websocket daemon. */
#include "config.h"
#include "lc_cookie.h"
#include "lc_alloc.h"

#include <string.h>

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

bool lc_cookie_next(const char *header, size_t *pos, lc_cookie_t *c)
{
	if (header == NULL)
		return false;
	const char *h = header + *pos;
	while (*h != '\0') {
		while (blank(*h) || *h == ';')
			h++;
		if (*h == '\0')
			break;
		const char *semi = strchr(h, ';');
		size_t len = semi ? (size_t)(semi - h) : strlen(h);
		const char *eq = memchr(h, '=', len);
		const char *next = semi ? semi + 1 : h + len;
		if (eq == NULL || eq == h) {
			h = next;
			continue;
		}
		size_t nlen = (size_t)(eq - h);
		while (nlen > 0 && blank(h[nlen - 1]))
			nlen--;
		const char *v = eq + 1;
		size_t vlen = len - (size_t)(v - h);
		while (vlen > 0 && blank(*v)) {
			v++;
			vlen--;
		}
		while (vlen > 0 && blank(v[vlen - 1]))
			vlen--;
		if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
			v++;
			vlen -= 2;
		}
		if (nlen == 0) {
			h = next;
			continue;
		}
		*c = (lc_cookie_t){ h, nlen, v, vlen };
		*pos = (size_t)(next - header);
		return true;
	}
	*pos = (size_t)(h - header);
	return false;
}

bool lc_cookie_header_ok(const char *header)
{
	return header == NULL || strnlen(header, LC_COOKIE_HEADER_MAX + 1) <= LC_COOKIE_HEADER_MAX;
}

/* RFC 6265 cookie-octet: printable ASCII but space, '"', ',', ';' and '\'. */
bool lc_cookie_value_valid(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == ',' || ch == ';' || ch == '\\')
			return false;
	}
	return true;
}

lc_rc lc_cookie_find(const char *header, const char *name, char **value, lc_err_t *err)
{
	size_t pos = 0, want = strlen(name);
	lc_cookie_t c;

	*value = NULL;
	if (!lc_cookie_header_ok(header))
		return lc_err_set(err, LC_ERR_TOO_LARGE, "Cookie header larger than %d bytes",
				  LC_COOKIE_HEADER_MAX);
	while (lc_cookie_next(header, &pos, &c)) {
		if (c.name_len != want || memcmp(c.name, name, want) != 0)
			continue;
		if (!lc_cookie_value_valid(c.value, c.value_len))
			return lc_err_set(err, LC_ERR_INVALID, "cookie %s has a malformed value", name);
		*value = lc_strndup(c.value, c.value_len);
		return LC_OK;
	}
	return lc_err_set(err, LC_ERR_NOT_FOUND, "no cookie %s", name);
}
