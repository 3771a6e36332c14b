/* SPDX-License-Identifier: MIT */
/* lc_netlist: IP addresses and CIDR ranges, held as 16-byte addresses (IPv4 as IPv4-mapped
 * IPv6, ::ffff:a.b.c.d) with a prefix length, so one comparison serves both families. */
#include "config.h"
#include "lc_netlist.h"
#include "lc_alloc.h"
#include "lc_err.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NETLIST_MAGIC 0x6e65746cU   /* "netl" */
#define SEPARATORS " \t,"

typedef struct net {
	unsigned char addr[16];
	unsigned bits;              /* prefix length over the 128 bits */
} net_t;

struct lc_netlist {
	unsigned magic;
	size_t n;
	net_t *nets;
};

/* text (NUL-terminated) as a 16-byte address; *v4 says it was IPv4 (or IPv4-mapped). */
static bool parse_addr(const char *text, unsigned char out[16], bool *v4)
{
	struct in_addr a4;
	if (inet_pton(AF_INET, text, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*v4 = true;
		return true;
	}
	if (inet_pton(AF_INET6, text, out) != 1)
		return false;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	*v4 = memcmp(out, mapped, 12) == 0;
	return true;
}

/* One entry "ADDR" or "ADDR/BITS" (len bytes of s). */
static bool parse_net(const char *s, size_t len, net_t *net)
{
	char buf[INET6_ADDRSTRLEN + 8];
	bool v4 = false;
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (!parse_addr(buf, net->addr, &v4))
		return false;
	unsigned max = v4 ? 32 : 128, bits = max;
	if (slash != NULL) {
		char *end = NULL;
		unsigned long b = strtoul(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || b > max)
			return false;
		bits = (unsigned)b;
	}
	net->bits = bits + (128 - max);
	return true;
}

lc_netlist_t *lc_netlist_parse(const char *text, char *why, size_t whylen)
{
	lc_netlist_t *list = lc_calloc(1, sizeof *list);
	const char *p = text;

	list->magic = NETLIST_MAGIC;
	while (*(p += strspn(p, SEPARATORS)) != '\0') {
		size_t len = strcspn(p, SEPARATORS);
		net_t net;
		if (!parse_net(p, len, &net)) {
			snprintf(why, whylen, "'%.*s' is not an IP address or address/bits range",
				 (int)(len > 64 ? 64 : len), p);
			lc_netlist_free(&list);
			return NULL;
		}
		list->nets = lc_realloc(list->nets, (list->n + 1) * sizeof *list->nets);
		list->nets[list->n++] = net;
		p += len;
	}
	return list;
}

void lc_netlist_free(lc_netlist_t **listp)
{
	if (listp == NULL || *listp == NULL)
		return;
	LC_CHECK_OBJ(*listp, NETLIST_MAGIC);
	free((*listp)->nets);
	(*listp)->magic = 0;
	free(*listp);
	*listp = NULL;
}

static bool in_net(const net_t *net, const unsigned char addr[16])
{
	unsigned full = net->bits / 8, rest = net->bits % 8;
	if (memcmp(net->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (net->addr[full] & mask) == (addr[full] & mask);
}

bool lc_netlist_contains(const lc_netlist_t *list, const char *addr)
{
	unsigned char a[16];
	bool v4;
	if (list == NULL || addr == NULL || !parse_addr(addr, a, &v4))
		return false;
	LC_CHECK_OBJ(list, NETLIST_MAGIC);
	for (size_t i = 0; i < list->n; i++)
		if (in_net(&list->nets[i], a))
			return true;
	return false;
}

const char *lc_netlist_forwarded_for(const lc_netlist_t *trusted, const char *xff, char *buf,
				     size_t size)
{
	if (xff == NULL || size == 0)
		return NULL;
	for (size_t end = strlen(xff); end > 0;) {
		size_t start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		size_t from = start, to = end;
		while (from < to && (xff[from] == ' ' || xff[from] == '\t'))
			from++;
		while (to > from && (xff[to - 1] == ' ' || xff[to - 1] == '\t'))
			to--;
		unsigned char a[16];
		bool v4;
		if (to - from >= size)
			return NULL;
		memcpy(buf, xff + from, to - from);
		buf[to - from] = '\0';
		if (!parse_addr(buf, a, &v4))
			return NULL;
		if (start == 0 || !lc_netlist_contains(trusted, buf))
			return buf;
		end = start - 1;
	}
	return NULL;
}

size_t lc_netlist_count(const lc_netlist_t *list)
{
	return list != NULL ? list->n : 0;
}
