/*
 * Host-side calibration of the eater's data pages: generates pages with the
 * same generator the eater uses and compresses each page on its own (as zram
 * does) with liblz4, liblzo2 (lzo1x-1, the base of the kernel's lzo-rle) and
 * libzstd at zram's default level. Prints one JSON object.
 *
 * Build: cc -O2 -I../../common calibrate.c -llz4 -llzo2 -lzstd
 * Usage: calibrate [--pages N] [--seed S] RATIO...      achieved ratios
 *        calibrate [--pages N] [--seed S] --solve RATIO... literal bytes per 4 KiB
 *                                                       that make lz4 hit each ratio
 */
#include <errno.h>
#include <lz4.h>
#include <lzo/lzo1x.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "pagegen.h"

#define PAGE 4096
#define ZSTD_ZRAM_LEVEL 3 /* zram's default zstd level (ZSTD_CLEVEL_DEFAULT) */

static size_t capped(size_t n)
{
	/* zram keeps a page that does not shrink as an uncompressed huge page */
	return n >= PAGE ? PAGE : n;
}

static uint8_t page[PAGE], out[PAGE * 2];

/* lz4 ratio over `pages` data pages with `literals` random bytes each. */
static double lz4_ratio(unsigned long pages, unsigned long long seed, size_t literals)
{
	unsigned long long total = 0;
	for (unsigned long p = 0; p < pages; p++) {
		pagegen_data_literals(page, PAGE, pagegen_page_hash(seed, p), literals);
		int n = LZ4_compress_default((const char *)page, (char *)out, PAGE, (int)sizeof(out));
		total += n > 0 ? capped((size_t)n) : PAGE;
	}
	return (double)pages * PAGE / (double)total;
}

/* Fewest literals whose lz4 ratio is still at least the target (ratio falls
 * as literals grow). */
static size_t solve(unsigned long pages, unsigned long long seed, double target)
{
	size_t lo = PAGEGEN_MIN_LITERALS_PER_4K, hi = PAGE;
	while (lo < hi) {
		size_t mid = (lo + hi + 1) / 2;
		if (lz4_ratio(pages, seed, mid) >= target)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

int main(int argc, char **argv)
{
	unsigned long pages = 2000;
	unsigned long long seed = 1;
	int i = 1, solving = 0;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--solve"))
			solving = 1;
		else if (!strcmp(argv[i], "--pages") && i + 1 < argc)
			pages = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else
			break;
	}
	if (i >= argc || pages == 0) {
		fprintf(stderr, "usage: calibrate [--pages N] [--seed S] RATIO...\n");
		return 2;
	}
	if (lzo_init() != LZO_E_OK) {
		fprintf(stderr, "calibrate: lzo_init failed\n");
		return 1;
	}
	static uint8_t lzo_work[LZO1X_1_MEM_COMPRESS];
	if (solving) {
		for (; i < argc; i++) {
			double target = strtod(argv[i], NULL);
			if (target < 1.0) {
				fprintf(stderr, "calibrate: %s is not a ratio >= 1\n", argv[i]);
				return 2;
			}
			printf("\t{ %s, %zu },\n", argv[i], target == 1.0 ? (size_t)PAGE : solve(pages, seed, target));
		}
		return 0;
	}
	printf("{");
	for (int first = i; i < argc; i++) {
		char *end;
		errno = 0;
		double ratio = strtod(argv[i], &end);
		if (errno || *end || ratio < 1.0) {
			fprintf(stderr, "calibrate: %s is not a ratio >= 1\n", argv[i]);
			return 2;
		}
		struct pagegen_mix mix = { .zero_ppm = 0, .same_ppm = 0, .ratio = ratio };
		unsigned long long lz4 = 0, lzo = 0, zstd = 0;
		for (unsigned long p = 0; p < pages; p++) {
			pagegen_page(page, PAGE, seed, p, &mix);
			int n = LZ4_compress_default((const char *)page, (char *)out, PAGE, (int)sizeof(out));
			if (n <= 0) {
				fprintf(stderr, "calibrate: lz4 failed\n");
				return 1;
			}
			lz4 += capped((size_t)n);
			lzo_uint lzo_len = sizeof(out);
			if (lzo1x_1_compress(page, PAGE, out, &lzo_len, lzo_work) != LZO_E_OK) {
				fprintf(stderr, "calibrate: lzo failed\n");
				return 1;
			}
			lzo += capped(lzo_len);
			size_t z = ZSTD_compress(out, sizeof(out), page, PAGE, ZSTD_ZRAM_LEVEL);
			if (ZSTD_isError(z)) {
				fprintf(stderr, "calibrate: zstd failed: %s\n", ZSTD_getErrorName(z));
				return 1;
			}
			zstd += capped(z);
		}
		double orig = (double)pages * PAGE;
		printf("%s\"%s\":{\"lz4\":%.4f,\"lzo\":%.4f,\"zstd\":%.4f}", i == first ? "" : ",", argv[i],
		       orig / (double)lz4, orig / (double)lzo, orig / (double)zstd);
	}
	printf("}\n");
	return 0;
}
