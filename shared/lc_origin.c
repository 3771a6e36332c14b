/* SPDX-License-Identifier: MIT */
/* lc_origin: Origin against Host (see lc_origin.h). The shipped web servers preserve Host when
 * they proxy (lighttpd mod_proxy, Apache ProxyPreserveHost), so it names the site. */
#include "config.h"
#include "lc_origin.h"

#include <string.h>
#include <strings.h>

bool lc_origin_is_host(const char *origin, const char *host)
{
	const char *sep = origin != NULL ? strstr(origin, "://") : NULL;
	if (sep == NULL || host == NULL || *host == '\0')
		return false;
	const char *authority = sep + 3;
	/* An origin is scheme://host[:port], nothing after. */
	if (strpbrk(authority, "/?#@") != NULL)
		return false;
	return strcasecmp(authority, host) == 0;
}
