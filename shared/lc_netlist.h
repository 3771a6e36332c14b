/* SPDX-License-Identifier: MIT */
/* lc_netlist: a list of IP addresses and CIDR ranges (IPv4 and IPv6), as the config key
 * trusted_proxies holds them, and the test "is this client address in it". */
#ifndef LC_NETLIST_H
#define LC_NETLIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct lc_netlist lc_netlist_t;

/* Parse text: entries "ADDR" or "ADDR/BITS" separated by blanks or commas ("" is the empty
 * list). NULL with why filled ("'10.0.0.0/33' is not an address or range") on a bad entry. */
lc_netlist_t *lc_netlist_parse(const char *text, char *why, size_t whylen);
void lc_netlist_free(lc_netlist_t **list);
/* True when addr (a textual IPv4 or IPv6 address; IPv4-mapped IPv6 counts as IPv4) is in list.
 * False for NULL list or addr, or an addr that is no address. Thread-safe (read only). */
bool lc_netlist_contains(const lc_netlist_t *list, const char *addr);
/* The client named by an X-Forwarded-For header xff sent by a trusted proxy: walking from the
 * right (the hop nearest us), the first address that is not itself in trusted (the leftmost when
 * all are), copied into buf (size bytes). NULL when xff is NULL or the entry reached is not an
 * address. The caller checks that the peer itself is in trusted. */
const char *lc_netlist_forwarded_for(const lc_netlist_t *trusted, const char *xff, char *buf,
				     size_t size);
/* Number of entries. */
size_t lc_netlist_count(const lc_netlist_t *list);

#endif
