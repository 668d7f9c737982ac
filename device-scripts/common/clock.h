/* Clocks shared by the device programs: CLOCK_BOOTTIME keeps counting in
 * suspend, so it lines up with the kernel's own view of time. */
#ifndef ZLAB_CLOCK_H
#define ZLAB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline uint64_t boottime_ns(void) { return clock_ns(CLOCK_BOOTTIME); }
static inline uint64_t realtime_ns(void) { return clock_ns(CLOCK_REALTIME); }

static inline void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL), .tv_nsec = (long)(ns % 1000000000ULL) };
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) != 0)
		; /* EINTR: sleep the rest */
}

#endif
