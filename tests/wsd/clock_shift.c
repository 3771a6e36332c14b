/* SPDX-License-Identifier: MIT */
/* clock_shift.so: an LD_PRELOAD library for tests/wsd/clock.test.mjs. It sets the wall clock of
 * one process the way an operator (or NTP stepping it) sets the system clock, without touching the
 * machine's: CLOCK_REALTIME readings through clock_gettime are shifted by the signed 64-bit
 * millisecond count in the first 8 bytes of the file named by $LC_TEST_CLOCK_SHIFT, mapped shared so
 * the test changes it while the program runs. The monotonic clocks are left alone. Not linked into
 * any program; no servers are stood in for. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime;
static const volatile int64_t *shift_ms;

__attribute__((constructor)) static void shift_init(void)
{
	real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
	const char *path = getenv("LC_TEST_CLOCK_SHIFT");
	if (path == NULL)
		return;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	void *m = mmap(NULL, sizeof(int64_t), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m != MAP_FAILED)
		shift_ms = m;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	if (real_clock_gettime == NULL)
		real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
	int rc = real_clock_gettime(id, ts);
	if (rc != 0 || shift_ms == NULL || (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE))
		return rc;
	int64_t ns = (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec + *shift_ms * 1000000LL;
	ts->tv_sec = (time_t)(ns / 1000000000LL);
	ts->tv_nsec = (long)(ns % 1000000000LL);
	return rc;
}
