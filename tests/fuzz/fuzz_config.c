/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the livechat.conf parser (lc_config_load) on arbitrary file contents, read
 * through a memory file. Invariant (abort when broken): a load either fails with a reason or
 * gives a config whose every declared key reads back within its bounds. */
#include "config.h"
#include "lc_config.h"
#include "lc_log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	lc_log_init("fuzz_config", "stderr", LC_LOG_ERROR);
	/* Environment overrides would mask what the file says. */
	clearenv();
	fd = memfd_create("livechat.conf", 0);
	if (fd < 0)
		abort();
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lc_err_t err;
	lc_err_clear(&err);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	lc_config_t *cfg = lc_config_load(path, &err);
	if (cfg == NULL) {
		if (err.reason[0] == '\0')
			abort();
		return 0;
	}
	if (lc_config_int(cfg, "http_max_body") < 1024 || lc_config_int(cfg, "wsd_port") < 1 ||
	    lc_config_int(cfg, "wsd_port") > 65535 || lc_config_str(cfg, "mongo_uri")[0] == '\0')
		abort();
	lc_config_free(&cfg);
	return 0;
}
