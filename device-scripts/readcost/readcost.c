/*
 * readcost: what waking at a period and reading some files costs, and
 * nothing else — the floor under the sampler's own figure.
 *
 * Every period it preads each named file (opened once, as the sampler does)
 * into a buffer and sleeps until the next period on CLOCK_BOOTTIME; it parses
 * and writes nothing. With no files it measures the wake-up alone. At the end
 * it prints one JSON document with its own CPU time (getrusage, user +
 * system), which the benchmark sets beside the sampler's.
 *
 * Usage: readcost --period-ms N --duration-ms N [FILE]...
 * Exit 0, or 2 on bad usage or a file that cannot be opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "clock.h"

#define MAX_FILES 64

static char buf[64 * 1024];

static uint64_t rusage_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "period-ms", required_argument, 0, 'p' },
		{ "duration-ms", required_argument, 0, 'd' },
		{ 0, 0, 0, 0 },
	};
	uint64_t period_ms = 0, duration_ms = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'p': period_ms = arg_u64("--period-ms", optarg, 1, 3600000); break;
		case 'd': duration_ms = arg_u64("--duration-ms", optarg, 1, 86400000); break;
		default: goto usage;
		}
	}
	if (!period_ms || !duration_ms || argc - optind > MAX_FILES)
		goto usage;

	int fds[MAX_FILES], nfiles = 0;
	for (int i = optind; i < argc; i++) {
		fds[nfiles] = open(argv[i], O_RDONLY | O_CLOEXEC);
		if (fds[nfiles] < 0) {
			fprintf(stderr, "readcost: cannot open %s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		nfiles++;
	}

	uint64_t period_ns = period_ms * 1000000u, count = duration_ms / period_ms, bytes = 0;
	uint64_t cpu0 = rusage_us(), start = boottime_ns(), next = start;
	for (uint64_t k = 0; k < count; k++) {
		for (int i = 0; i < nfiles; i++) {
			ssize_t n = pread(fds[i], buf, sizeof(buf), 0);
			if (n > 0)
				bytes += (uint64_t)n;
		}
		next += period_ns;
		struct timespec ts = { .tv_sec = (time_t)(next / 1000000000u), .tv_nsec = (long)(next % 1000000000u) };
		while (clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	uint64_t cpu = rusage_us() - cpu0, elapsed = boottime_ns() - start;
	printf("{\"tool\":\"readcost\",\"periodMs\":%llu,\"files\":%d,\"samples\":%llu,\"elapsedNs\":%llu,\"cpuUs\":%llu,\"bytesPerSample\":%llu}\n",
	       (unsigned long long)period_ms, nfiles, (unsigned long long)count, (unsigned long long)elapsed,
	       (unsigned long long)cpu, (unsigned long long)(count ? bytes / count : 0));
	return 0;

usage:
	fprintf(stderr, "usage: readcost --period-ms N --duration-ms N [FILE]... (at most %d files)\n", MAX_FILES);
	return 2;
}
