/* Strict number parsing for the device programs' options: the whole text
 * must be a number in range, or the program exits 2 naming the option. */
#ifndef ZLAB_ARGS_H
#define ZLAB_ARGS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline uint64_t arg_u64(const char *opt, const char *text, uint64_t min, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v < min || v > max) {
		fprintf(stderr, "%s: \"%s\" is not a whole number in %llu..%llu\n", opt, text,
			(unsigned long long)min, (unsigned long long)max);
		exit(2);
	}
	return v;
}

static inline int64_t arg_i64(const char *opt, const char *text, int64_t min, int64_t max)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max) {
		fprintf(stderr, "%s: \"%s\" is not a whole number in %lld..%lld\n", opt, text, (long long)min,
			(long long)max);
		exit(2);
	}
	return v;
}

static inline double arg_double(const char *opt, const char *text, double min, double max)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || *end || !(v >= min && v <= max)) {
		fprintf(stderr, "%s: \"%s\" is not a number in %g..%g\n", opt, text, min, max);
		exit(2);
	}
	return v;
}

#endif
