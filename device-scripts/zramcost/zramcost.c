/*
 * zramcost: the CPU cost of storing one 4 KiB page in zram, per compressor
 * and data class, measured on the device itself.
 *
 * It hot-adds a scratch zram device (/sys/class/zram-control/hot_add), and for
 * every algorithm × class (× ratio) × repeat: resets it, sets the compressor
 * and a disksize, generates the pages with the memory eater's own generator
 * (common/pagegen.h) into memory, then writes them with O_DIRECT. zram is a
 * bio-based driver, so each write compresses its pages in the writing thread:
 * that thread's CPU time (CLOCK_THREAD_CPUTIME_ID) around the writes is the
 * cost. Page generation happens before the clock starts. mm_stat after the
 * writes gives orig/compr (the achieved ratio) and same_pages. The scratch
 * device is removed at the end (hot_remove), also after an error.
 *
 * Output: one JSON document on stdout. Exit 0 when every cell was measured,
 * 1 when one failed (its error is in "errors"), 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "args.h"
#include "clock.h"
#include "json-out.h"
#include "pagegen.h"

#define PAGE 4096u
#define MAX_LIST 16
#define MAX_ERRORS 16

enum cls { CLS_ZERO, CLS_SAME, CLS_DATA };
static const char *const cls_name[] = { "zero", "sameFilled", "compressible" };

struct options {
	const char *algorithms[MAX_LIST];
	unsigned nalgorithms;
	int classes[3];
	unsigned nclasses;
	double ratios[MAX_LIST];
	unsigned nratios;
	uint64_t pages;
	uint64_t chunk_pages;
	uint64_t repeat;
	uint64_t seed;
};

static int scratch_id = -1;
static char errors[MAX_ERRORS][200];
static unsigned nerrors;

static void add_error(const char *fmt, const char *a, const char *b)
{
	if (nerrors < MAX_ERRORS)
		snprintf(errors[nerrors++], sizeof(errors[0]), fmt, a, b);
}

static void usage(void)
{
	fputs("usage: zramcost --algorithms A[,B…] [--classes zero,sameFilled,compressible] [--ratios R[,R…]]\n"
	      "                [--pages N] [--chunk-pages N] [--repeat N] [--seed S]\n"
	      "  writes N generated pages per cell to a hot-added scratch zram device with O_DIRECT\n"
	      "  and reports the writing thread's CPU time and zram's mm_stat as JSON\n",
	      stderr);
}

/* Split a comma list in place; returns the count or exits 2 when too long. */
static unsigned split_list(const char *opt, char *text, char **out, unsigned max)
{
	unsigned n = 0;
	for (char *tok = strtok(text, ","); tok; tok = strtok(NULL, ",")) {
		if (n == max) {
			fprintf(stderr, "%s: at most %u entries\n", opt, max);
			exit(2);
		}
		out[n++] = tok;
	}
	if (n == 0) {
		fprintf(stderr, "%s: empty list\n", opt);
		exit(2);
	}
	return n;
}

static void parse(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "algorithms", required_argument, 0, 'a' }, { "classes", required_argument, 0, 'c' },
		{ "ratios", required_argument, 0, 'r' },     { "pages", required_argument, 0, 'n' },
		{ "chunk-pages", required_argument, 0, 'k' }, { "repeat", required_argument, 0, 'R' },
		{ "seed", required_argument, 0, 's' },       { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	char *items[MAX_LIST];
	int c;
	memset(o, 0, sizeof(*o));
	o->pages = 2048;
	o->chunk_pages = 64;
	o->repeat = 3;
	o->seed = 1;
	o->classes[0] = CLS_ZERO, o->classes[1] = CLS_SAME, o->classes[2] = CLS_DATA;
	o->nclasses = 3;
	o->ratios[0] = 3.0;
	o->nratios = 1;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->nalgorithms = split_list("--algorithms", optarg, items, MAX_LIST);
			for (unsigned i = 0; i < o->nalgorithms; i++) {
				/* names go into sysfs: keep them to plain compressor names */
				if (strlen(items[i]) > 32 || strspn(items[i], "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(items[i])) {
					fprintf(stderr, "--algorithms: \"%s\" is not a compressor name\n", items[i]);
					exit(2);
				}
				o->algorithms[i] = items[i];
			}
			break;
		case 'c':
			o->nclasses = split_list("--classes", optarg, items, 3);
			for (unsigned i = 0; i < o->nclasses; i++) {
				int k = -1;
				for (int j = 0; j < 3; j++)
					if (strcmp(items[i], cls_name[j]) == 0)
						k = j;
				if (k < 0) {
					fprintf(stderr, "--classes: \"%s\" is not zero, sameFilled or compressible\n", items[i]);
					exit(2);
				}
				o->classes[i] = k;
			}
			break;
		case 'r':
			o->nratios = split_list("--ratios", optarg, items, MAX_LIST);
			for (unsigned i = 0; i < o->nratios; i++)
				o->ratios[i] = arg_double("--ratios", items[i], 1.0, PAGEGEN_MAX_RATIO);
			break;
		case 'n': o->pages = arg_u64("--pages", optarg, 1, 1u << 20); break;
		case 'k': o->chunk_pages = arg_u64("--chunk-pages", optarg, 1, 256); break;
		case 'R': o->repeat = arg_u64("--repeat", optarg, 1, 100); break;
		case 's': o->seed = arg_u64("--seed", optarg, 0, UINT64_MAX); break;
		case 'h': usage(); exit(0);
		default: usage(); exit(2);
		}
	}
	if (optind != argc || o->nalgorithms == 0) {
		usage();
		exit(2);
	}
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static void sysfs_path(char *out, size_t len, const char *attr)
{
	snprintf(out, len, "/sys/block/zram%d/%s", scratch_id, attr);
}

static void remove_scratch(void)
{
	char path[64], id[16];
	if (scratch_id < 0)
		return;
	sysfs_path(path, sizeof(path), "reset");
	write_text(path, "1");
	snprintf(id, sizeof(id), "%d", scratch_id);
	if (write_text("/sys/class/zram-control/hot_remove", id) != 0)
		fprintf(stderr, "zramcost: zram%d not removed: %s\n", scratch_id, strerror(errno));
	scratch_id = -1;
}

static void on_signal(int sig)
{
	remove_scratch();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Open the scratch device's node: devtmpfs (/dev/zramN), Android (/dev/block/zramN), or one we make. */
static int open_scratch(char *node, size_t len)
{
	char path[64], dev[32];
	unsigned maj, min;
	snprintf(node, len, "/dev/zram%d", scratch_id);
	for (int tries = 0; tries < 50; tries++) {
		int fd = open(node, O_WRONLY | O_DIRECT | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		snprintf(path, sizeof(path), "/dev/block/zram%d", scratch_id);
		fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
		if (fd >= 0) {
			snprintf(node, len, "%s", path);
			return fd;
		}
		sleep_ns(20000000); /* the node may appear a moment after hot_add */
	}
	sysfs_path(path, sizeof(path), "dev");
	if (read_text(path, dev, sizeof(dev)) != 0 || sscanf(dev, "%u:%u", &maj, &min) != 2)
		return -1;
	snprintf(node, len, "/dev/zramcost%d", scratch_id);
	unlink(node);
	if (mknod(node, S_IFBLK | 0600, makedev(maj, min)) != 0)
		return -1;
	return open(node, O_WRONLY | O_DIRECT | O_CLOEXEC);
}

struct result {
	uint64_t cpu_ns, wall_ns;
	uint64_t orig, compr, same, huge;
};

static void fill_pages(uint8_t *buf, const struct options *o, int cls, double ratio, uint64_t first)
{
	struct pagegen_mix mix = { 0, 0, ratio };
	if (cls == CLS_ZERO)
		mix.zero_ppm = 1000000;
	else if (cls == CLS_SAME)
		mix.same_ppm = 1000000;
	for (uint64_t i = 0; i < o->pages; i++)
		pagegen_page(buf + i * PAGE, PAGE, o->seed, first + i, &mix);
}

/* One cell: fresh device, compressor, size, timed writes, mm_stat. */
static int measure(const struct options *o, const char *alg, uint8_t *buf, struct result *r)
{
	char path[64], text[256], node[64];
	uint64_t mm[9] = { 0 };
	sysfs_path(path, sizeof(path), "reset");
	if (write_text(path, "1") != 0) {
		add_error("reset: %s%s", strerror(errno), "");
		return -1;
	}
	sysfs_path(path, sizeof(path), "comp_algorithm");
	if (write_text(path, alg) != 0) {
		add_error("algorithm %s is not available on this kernel (%s)", alg, strerror(errno));
		return -1;
	}
	sysfs_path(path, sizeof(path), "disksize");
	snprintf(text, sizeof(text), "%llu", (unsigned long long)((o->pages + 256) * PAGE));
	if (write_text(path, text) != 0) {
		add_error("disksize: %s%s", strerror(errno), "");
		return -1;
	}
	int fd = open_scratch(node, sizeof(node));
	if (fd < 0) {
		add_error("cannot open the scratch zram device: %s%s", strerror(errno), "");
		return -1;
	}
	size_t chunk = (size_t)o->chunk_pages * PAGE;
	uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), w0 = clock_ns(CLOCK_MONOTONIC);
	for (uint64_t off = 0; off < o->pages * PAGE; off += chunk) {
		size_t n = o->pages * PAGE - off < chunk ? (size_t)(o->pages * PAGE - off) : chunk;
		if (pwrite(fd, buf + off, n, (off_t)off) != (ssize_t)n) {
			add_error("write to %s: %s", node, strerror(errno));
			close(fd);
			return -1;
		}
	}
	uint64_t c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID), w1 = clock_ns(CLOCK_MONOTONIC);
	close(fd);
	if (strncmp(node, "/dev/zramcost", 13) == 0)
		unlink(node);
	sysfs_path(path, sizeof(path), "mm_stat");
	if (read_text(path, text, sizeof(text)) != 0 ||
	    sscanf(text, "%llu %llu %llu %llu %llu %llu %llu %llu", (unsigned long long *)&mm[0], (unsigned long long *)&mm[1],
		   (unsigned long long *)&mm[2], (unsigned long long *)&mm[3], (unsigned long long *)&mm[4],
		   (unsigned long long *)&mm[5], (unsigned long long *)&mm[6], (unsigned long long *)&mm[7]) < 6) {
		add_error("mm_stat: unreadable%s%s", "", "");
		return -1;
	}
	r->cpu_ns = c1 - c0;
	r->wall_ns = w1 - w0;
	r->orig = mm[0];
	r->compr = mm[1];
	r->same = mm[5];
	r->huge = mm[7];
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	char text[32];
	uint8_t *buf;
	int failed = 0, first = 1;

	parse(argc, argv, &o);
	if (posix_memalign((void **)&buf, PAGE, o.pages * PAGE) != 0) {
		fprintf(stderr, "zramcost: cannot allocate %llu pages\n", (unsigned long long)o.pages);
		return 1;
	}
	if (read_text("/sys/class/zram-control/hot_add", text, sizeof(text)) != 0 || sscanf(text, "%d", &scratch_id) != 1) {
		add_error("cannot hot-add a scratch zram device (/sys/class/zram-control/hot_add): %s%s", strerror(errno), "");
		scratch_id = -1;
		failed = 1;
	}
	atexit(remove_scratch);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	printf("{\"tool\":\"zramcost\",\"version\":1,\"pageSize\":%u,\"scratchDevice\":", PAGE);
	if (scratch_id >= 0)
		printf("\"zram%d\"", scratch_id);
	else
		printf("null");
	printf(",\"pages\":%llu,\"chunkPages\":%llu,\"samples\":[", (unsigned long long)o.pages,
	       (unsigned long long)o.chunk_pages);
	for (unsigned a = 0; scratch_id >= 0 && a < o.nalgorithms; a++) {
		int alg_ok = 1;
		for (unsigned c = 0; alg_ok && c < o.nclasses; c++) {
			int cls = o.classes[c];
			unsigned nr = cls == CLS_DATA ? o.nratios : 1;
			for (unsigned ri = 0; alg_ok && ri < nr; ri++) {
				double ratio = cls == CLS_DATA ? o.ratios[ri] : 1.0;
				for (uint64_t rep = 0; alg_ok && rep < o.repeat; rep++) {
					struct result r;
					/* each repeat writes other pages of the same stream */
					fill_pages(buf, &o, cls, ratio, rep * o.pages);
					if (measure(&o, o.algorithms[a], buf, &r) != 0) {
						failed = 1;
						alg_ok = 0;
						break;
					}
					printf("%s{\"algorithm\":", first ? "" : ",");
					json_string(stdout, o.algorithms[a]);
					printf(",\"dataClass\":\"%s\"", cls_name[cls]);
					if (cls == CLS_DATA)
						printf(",\"ratio\":%g", ratio);
					printf(",\"pages\":%llu,\"bytes\":%llu,\"cpuNs\":%llu,\"wallNs\":%llu,\"origBytes\":%llu,"
					       "\"comprBytes\":%llu,\"samePages\":%llu,\"hugePages\":%llu}",
					       (unsigned long long)o.pages, (unsigned long long)(o.pages * PAGE),
					       (unsigned long long)r.cpu_ns, (unsigned long long)r.wall_ns,
					       (unsigned long long)r.orig, (unsigned long long)r.compr,
					       (unsigned long long)r.same, (unsigned long long)r.huge);
					first = 0;
				}
			}
		}
	}
	remove_scratch();
	printf("],\"errors\":[");
	for (unsigned i = 0; i < nerrors; i++) {
		if (i)
			putchar(',');
		json_string(stdout, errors[i]);
	}
	printf("]}\n");
	free(buf);
	return failed;
}
