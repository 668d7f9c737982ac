/*
 * Seeded page generator shared by the memory eater and its host-side
 * calibration. Every page is a pure function of (seed, page index, mix), so a
 * verify pass can regenerate it and compare byte for byte.
 *
 * A page is one of three kinds:
 *   zero        all bytes 0
 *   same-filled one non-zero 64-bit value repeated (zram stores only the value)
 *   data        literal runs of random bytes interleaved with copies of earlier
 *               bytes of the same page, sized so that a per-page LZ compressor
 *               reaches the target ratio (see docs/workloads.md, calibration)
 */
#ifndef ZLAB_PAGEGEN_H
#define ZLAB_PAGEGEN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum pagegen_kind { PAGEGEN_ZERO = 0, PAGEGEN_SAME = 1, PAGEGEN_DATA = 2 };

struct pagegen_mix {
	uint32_t zero_ppm;  /* share of zero pages, parts per million */
	uint32_t same_ppm;  /* share of same-filled pages, parts per million */
	double ratio;       /* target compression ratio of data pages, >= 1 */
};

/* Segments per 4 KiB of data page: each is a literal run then a copy. */
#define PAGEGEN_SEGMENTS_PER_4K 16
#define PAGEGEN_MIN_LITERALS_PER_4K 64
#define PAGEGEN_MAX_RATIO 12.0

/*
 * Calibration: literal bytes per 4 KiB that make lz4 (per page, as zram
 * compresses) reach each ratio. Solved by `calibrate --solve` on the host;
 * lzo and zstd land within the band documented in docs/workloads.md.
 * Between points the literal count is interpolated linearly in 1/ratio;
 * PAGEGEN_MAX_RATIO is the last point (16 segments cannot go much further).
 */
static const struct { double ratio; double literals; } pagegen_calibration[] = {
	{ 1.0, 4096 },
	{ 1.25, 3179 },
	{ 1.5, 2602 },
	{ 2.0, 1862 },
	{ 2.5, 1481 },
	{ 3.0, 1221 },
	{ 4.0, 874 },
	{ 5.0, 658 },
	{ 6.0, 512 },
	{ 8.0, 323 },
	{ 10.0, 222 },
	{ 12.0, 140 },
};

static inline uint64_t pagegen_mix64(uint64_t z)
{
	/* splitmix64 finaliser: a bijective, well-spread mixing of 64 bits. */
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t pagegen_next(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ULL;
	return pagegen_mix64(*state);
}

static inline uint64_t pagegen_page_hash(uint64_t seed, uint64_t index)
{
	return pagegen_mix64(seed ^ pagegen_mix64(index ^ 0x5a17c0de5a17c0deULL));
}

static inline enum pagegen_kind pagegen_kind_of(uint64_t seed, uint64_t index, const struct pagegen_mix *mix)
{
	uint32_t u = (uint32_t)(pagegen_page_hash(seed, index) % 1000000u);
	if (u < mix->zero_ppm)
		return PAGEGEN_ZERO;
	if (u < mix->zero_ppm + mix->same_ppm)
		return PAGEGEN_SAME;
	return PAGEGEN_DATA;
}

/* Literal bytes per 4 KiB of a data page for the target ratio. */
static inline double pagegen_literals_per_4k(double ratio)
{
	const size_t n = sizeof(pagegen_calibration) / sizeof(pagegen_calibration[0]);
	double lit;
	if (ratio <= pagegen_calibration[0].ratio)
		return 4096.0;
	if (ratio >= pagegen_calibration[n - 1].ratio) {
		/* past the table: literals shrink in proportion to 1/ratio */
		lit = pagegen_calibration[n - 1].literals * pagegen_calibration[n - 1].ratio / ratio;
	} else {
		size_t i = 1;
		while (pagegen_calibration[i].ratio < ratio)
			i++;
		double x0 = 1.0 / pagegen_calibration[i - 1].ratio, x1 = 1.0 / pagegen_calibration[i].ratio;
		double y0 = pagegen_calibration[i - 1].literals, y1 = pagegen_calibration[i].literals;
		lit = y0 + (y1 - y0) * (1.0 / ratio - x0) / (x1 - x0);
	}
	return lit < PAGEGEN_MIN_LITERALS_PER_4K ? PAGEGEN_MIN_LITERALS_PER_4K : lit;
}

static inline void pagegen_random_fill(uint8_t *p, size_t n, uint64_t *state)
{
	while (n >= 8) {
		uint64_t v = pagegen_next(state);
		memcpy(p, &v, 8);
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t v = pagegen_next(state);
		memcpy(p, &v, n);
	}
}

/* A data page with `literals` random bytes; the rest are copies. */
static inline void pagegen_data_literals(uint8_t *page, size_t len, uint64_t hash, size_t literals)
{
	uint64_t state = hash;
	size_t segments = PAGEGEN_SEGMENTS_PER_4K * (len / 4096 ? len / 4096 : 1);
	size_t copies = literals >= len ? 0 : len - literals;
	size_t pos = 0;

	if (copies == 0) {
		pagegen_random_fill(page, len, &state);
		return;
	}
	for (size_t i = 0; i < segments; i++) {
		/* Even split with exact totals: segment i gets [i*T/n, (i+1)*T/n). */
		size_t lit = literals * (i + 1) / segments - literals * i / segments;
		size_t cpy = copies * (i + 1) / segments - copies * i / segments;
		pagegen_random_fill(page + pos, lit, &state);
		pos += lit;
		/* Copy from a random earlier distance; a distance shorter than the
		 * copy repeats bytes the way an LZ match may overlap itself. */
		size_t dist = 1 + (size_t)(pagegen_next(&state) % pos);
		for (size_t k = 0; k < cpy; k++, pos++)
			page[pos] = page[pos - dist];
	}
}

static inline void pagegen_data(uint8_t *page, size_t len, uint64_t hash, double ratio)
{
	double lit = pagegen_literals_per_4k(ratio) * (double)len / 4096.0;
	pagegen_data_literals(page, len, hash, lit >= (double)len ? len : (size_t)(lit + 0.5));
}

/* Write page `index` of the stream (seed, mix) into `page` (len % 8 == 0). */
static inline enum pagegen_kind pagegen_page(uint8_t *page, size_t len, uint64_t seed, uint64_t index,
					      const struct pagegen_mix *mix)
{
	uint64_t hash = pagegen_page_hash(seed, index);
	enum pagegen_kind kind = pagegen_kind_of(seed, index, mix);
	if (kind == PAGEGEN_ZERO) {
		memset(page, 0, len);
	} else if (kind == PAGEGEN_SAME) {
		uint64_t v = pagegen_mix64(hash + 1) | 1; /* never 0: that is a zero page */
		for (size_t off = 0; off < len; off += 8)
			memcpy(page + off, &v, 8);
	} else {
		pagegen_data(page, len, hash, mix->ratio);
	}
	return kind;
}

#endif
