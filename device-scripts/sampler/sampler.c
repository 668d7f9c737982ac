/*
 * sampler: records the device's memory-reclaim counters at a fixed period.
 *
 * Every source file is opened once and re-read with pread, so a sample costs a
 * handful of syscalls and no fork. Samples are timestamped with CLOCK_BOOTTIME
 * and written with one write(2) per record, so a crash or a lost connection
 * loses at most the period in progress. A source that cannot be read is
 * recorded as missing ("-"), never fatal. The record format is described in
 * docs/workloads.md ("Sampler records").
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "clock.h"

#define FORMAT_VERSION 1
#define MAX_SOURCES 256
#define MAX_COLUMNS 4096
#define MAX_KEYS 512
#define MAX_THREADS 512
#define MAX_COMMS 16
#define MAX_LINES 1024 /* lines of a keyed source that are mapped to columns */
#define SCAN_MAX_MS 4000 /* the longest interval between thread scans */
#define READ_BUF (64 * 1024)
#define OUT_BUF (256 * 1024)

enum source_kind {
	SRC_KEYED,  /* "name value" or "Name:  value kB" lines; selected or all keys */
	SRC_SPACED, /* one line of whitespace-separated values (optionally after a label) */
	SRC_PSI,    /* "some avg10=… avg60=… avg300=… total=…" and the same for full */
	SRC_SELF,   /* the sampler's own utime and stime */
};

/* One line of a keyed source as the first read found it. */
struct key_line {
	const char *key;
	int klen;
	int col; /* the column it fills, or -1 */
};

struct source {
	char name[64];
	char path[200];
	enum source_kind kind;
	int fd;
	int ncols;
	int skip_label;     /* SRC_SPACED: the line starts with a label (/proc/stat "cpu") */
	char **keys;        /* SRC_KEYED: column keys in order */
	struct key_line *lines; /* SRC_KEYED: the file's lines, mapped on the first read */
	int nlines;
	int in_order;       /* SRC_KEYED: the mapped lines fill the columns in column order */
};

struct thread {
	int tid, pid;
	int fd;
};

static struct source sources[MAX_SOURCES];
static int nsources;
static const char *columns[MAX_COLUMNS];
static int ncolumns;
static struct thread threads[MAX_THREADS];
static int nthreads;
static const char *comms[MAX_COMMS];
static int ncomms;
static int out_fd = -1;
static char out[OUT_BUF];
static size_t out_len;
static char rbuf[READ_BUF];
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

/* snprintf that truncates quietly: names and paths here are short by design. */
static void bounded_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("sampler: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/*
 * A daemon's first sample is in the file: tell the waiting parent, then let go
 * of the starting shell's stdio (until now, setup errors reached the host).
 */
static void detach(int *ready_fd)
{
	if (write(*ready_fd, "1", 1) != 1) {
		/* the parent is gone: nobody waits for the byte */
	}
	close(*ready_fd);
	*ready_fd = -1;
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
}

/* One record, one write: what is in the file is always whole lines. */
static void flush_record(void)
{
	size_t off = 0;
	while (off < out_len) {
		ssize_t w = write(out_fd, out + off, out_len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("cannot write the record file: %s", strerror(errno));
		off += (size_t)w;
	}
	out_len = 0;
}

/*
 * Where the next `need` bytes of the record go. Callers ask for the most they
 * may write, then write without checks and set out_len. A record larger than
 * the buffer (never seen: a record is a few KiB) is written in several pieces.
 */
static char *room(size_t need)
{
	if (out_len + need > sizeof(out))
		flush_record();
	return out + out_len;
}

static void put(const char *s, size_t n)
{
	memcpy(room(n), s, n);
	out_len += n;
}

static void puts_(const char *s) { put(s, strlen(s)); }

/* For the header and rare lines; samples use the writers below. */
static void putf(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Decimal digits of v at o; returns the end. Replaces printf in the sample path. */
static char *put_u64(char *o, uint64_t v)
{
	char digits[20];
	int n = 0;
	do
		digits[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*o++ = digits[--n];
	return o;
}

/* The kernel's text is parsed in one pass over bytes, no strspn/strcspn chains. */
static inline int is_blank(char c) { return c == ' ' || c == '\t'; }
static inline int ends_token(char c) { return c == ' ' || c == '\t' || c == '\n' || !c; }
static inline int ends_key(char c) { return c == ':' || ends_token(c); }

static const char *skip_blanks(const char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

static const char *skip_token(const char *p)
{
	while (!ends_token(*p))
		p++;
	return p;
}

/* Copy the token at p to o; returns the end of the copy. */
static char *copy_token(char *o, const char *p)
{
	while (!ends_token(*p))
		*o++ = *p++;
	return o;
}

/* Whether the n bytes at a and b are the same, compared 8 at a time. */
static int same_bytes(const char *a, const char *b, int n)
{
	uint64_t x, y;
	if (n < 8) {
		for (int i = 0; i < n; i++)
			if (a[i] != b[i])
				return 0;
		return 1;
	}
	for (int i = 0; i + 8 < n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return 0;
	}
	/* the last 8 bytes, overlapping the word before */
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

static ssize_t read_fd(int fd)
{
	ssize_t n = pread(fd, rbuf, sizeof(rbuf) - 1, 0);
	if (n >= 0)
		rbuf[n] = 0;
	return n;
}

static int read_path(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

/* Words for names in the header: anything but [A-Za-z0-9_.-] becomes '_'. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			*s = '_';
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		die("out of memory");
	return d;
}

static void add_column(const char *name)
{
	if (ncolumns >= MAX_COLUMNS)
		die("too many columns");
	columns[ncolumns++] = xstrdup(name);
}

static struct source *new_source(const char *name, const char *path, enum source_kind kind)
{
	if (nsources >= MAX_SOURCES)
		die("too many sources");
	struct source *s = &sources[nsources++];
	memset(s, 0, sizeof(*s));
	bounded_format(s->name, sizeof(s->name), "%s", name);
	bounded_format(s->path, sizeof(s->path), "%s", path);
	s->kind = kind;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	return s;
}

/* The column of `key` in a keyed source, or -1. */
static int find_key(const struct source *s, const char *key, int klen)
{
	for (int i = 0; i < s->ncols; i++)
		if ((int)strlen(s->keys[i]) == klen && same_bytes(s->keys[i], key, klen))
			return i;
	return -1;
}

/*
 * The kernel prints a keyed file's keys in the same order on every read (they
 * are fixed when it is built), so the first read maps each line to its column
 * and a sample only confirms each line's key.
 */
static void map_lines(struct source *s)
{
	s->lines = calloc(MAX_LINES, sizeof(*s->lines));
	if (!s->lines)
		die("out of memory");
	if (s->fd < 0 || read_fd(s->fd) < 0)
		return;
	int last_col = -1;
	s->in_order = 1;
	for (const char *p = rbuf; *p && s->nlines < MAX_LINES;) {
		const char *key = p;
		while (!ends_key(*p))
			p++;
		struct key_line *l = &s->lines[s->nlines++];
		l->klen = (int)(p - key);
		l->key = strndup(key, (size_t)l->klen);
		if (!l->key)
			die("out of memory");
		l->col = find_key(s, key, l->klen);
		if (l->col >= 0) {
			s->in_order &= l->col > last_col;
			last_col = l->col;
		}
		while (*p && *p != '\n')
			p++;
		if (*p)
			p++;
	}
}

/* A keyed source whose columns are every key present now (/proc/vmstat). */
static void add_keyed_all(const char *name, const char *path)
{
	struct source *s = new_source(name, path, SRC_KEYED);
	s->keys = calloc(MAX_KEYS, sizeof(char *));
	if (!s->keys)
		die("out of memory");
	if (s->fd >= 0 && read_fd(s->fd) >= 0) {
		for (char *line = rbuf; *line && s->ncols < MAX_KEYS;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			char key[128];
			if (sscanf(line, "%127[^: ]", key) == 1) {
				char col[200];
				s->keys[s->ncols++] = xstrdup(key);
				bounded_format(col, sizeof(col), "%s.%s", name, key);
				add_column(col);
			}
			if (!nl)
				break;
			line = nl + 1;
		}
	}
	map_lines(s);
}

static void add_keyed(const char *name, const char *path, const char *const *keys, int n)
{
	struct source *s = new_source(name, path, SRC_KEYED);
	s->keys = calloc((size_t)n, sizeof(char *));
	if (!s->keys)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		char col[200];
		s->keys[i] = xstrdup(keys[i]);
		bounded_format(col, sizeof(col), "%s.%s", name, keys[i]);
		sanitize(col);
		add_column(col);
	}
	s->ncols = n;
	map_lines(s);
}

static void add_spaced(const char *name, const char *path, const char *const *fields, int n, int skip_label)
{
	struct source *s = new_source(name, path, SRC_SPACED);
	s->skip_label = skip_label;
	for (int i = 0; i < n; i++) {
		char col[200];
		bounded_format(col, sizeof(col), "%s.%s", name, fields[i]);
		add_column(col);
	}
	s->ncols = n;
}

static void add_single(const char *column, const char *path)
{
	struct source *s = new_source(column, path, SRC_SPACED);
	add_column(column);
	s->ncols = 1;
}

/* Every column of a source that could not be read: "-". */
static void sample_missing(int n)
{
	char *o = room(2 * (size_t)n);
	for (int i = 0; i < n; i++) {
		*o++ = ' ';
		*o++ = '-';
	}
	out_len = (size_t)(o - out);
}

/*
 * A keyed source whose lines are all where the first read found them, with
 * the columns in line order (vmstat, meminfo): each value is copied to the
 * record as it is scanned. Returns 0, having written nothing, at a line that
 * differs from the map.
 */
static int sample_keyed_mapped(const struct source *s, const char *p, const char *end, char *o)
{
	int line = 0, col = 0;
	for (; *p; line++) {
		if (line >= s->nlines)
			return 0;
		const struct key_line *l = &s->lines[line];
		if (end - p < l->klen || !same_bytes(p, l->key, l->klen) || !ends_key(p[l->klen]))
			return 0;
		p += l->klen;
		while (*p == ':' || is_blank(*p))
			p++;
		if (l->col >= 0) {
			/* columns before it have no line: their keys were missing from the start */
			for (; col < l->col; col++) {
				*o++ = ' ';
				*o++ = '-';
			}
			*o++ = ' ';
			if (ends_token(*p))
				*o++ = '-';
			while (!ends_token(*p))
				*o++ = *p++;
			col++;
		}
		while (*p && *p != '\n')
			p++;
		if (*p)
			p++;
	}
	if (line != s->nlines)
		return 0;
	for (; col < s->ncols; col++) {
		*o++ = ' ';
		*o++ = '-';
	}
	out_len = (size_t)(o - out);
	return 1;
}

static const char *vals[MAX_KEYS];

/* "name value" or "Name:  value kB" lines: each column's value, wherever its line is. */
static void sample_keyed(struct source *s, const char *p, size_t len)
{
	int n = s->ncols;
	char *o = room(len + 2 * (size_t)n);
	if (s->in_order && sample_keyed_mapped(s, p, p + len, o))
		return;
	/* the lines are not as the first read had them (not seen happen), or not in
	 * column order: look every key up */
	memset(vals, 0, sizeof(vals[0]) * (size_t)n);
	while (*p) {
		const char *key = p;
		while (!ends_key(*p))
			p++;
		int col = find_key(s, key, (int)(p - key));
		while (*p == ':' || is_blank(*p))
			p++;
		if (col >= 0 && !ends_token(*p))
			vals[col] = p;
		while (*p && *p != '\n')
			p++;
		if (*p)
			p++;
	}
	for (int i = 0; i < n; i++) {
		*o++ = ' ';
		if (vals[i])
			o = copy_token(o, vals[i]);
		else
			*o++ = '-';
	}
	out_len = (size_t)(o - out);
}

/* One line of whitespace-separated values, optionally after a label. */
static void sample_spaced(const struct source *s, const char *p, size_t len)
{
	char *o = room(len + 2 * (size_t)s->ncols);
	int i = 0;
	if (s->skip_label)
		p = skip_token(p);
	for (; i < s->ncols; i++) {
		p = skip_blanks(p);
		if (ends_token(*p))
			break;
		*o++ = ' ';
		o = copy_token(o, p);
		p = skip_token(p);
	}
	for (; i < s->ncols; i++) {
		*o++ = ' ';
		*o++ = '-';
	}
	out_len = (size_t)(o - out);
}

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=0", then the same for "full". */
static void sample_psi(const struct source *s, const char *p, size_t len)
{
	char *o = room(len + 2 * (size_t)s->ncols);
	int i = 0;
	for (; i < s->ncols; i++) {
		while (*p && *p != '=')
			p++;
		if (!*p)
			break;
		p++;
		*o++ = ' ';
		char *start = o;
		o = copy_token(o, p);
		if (o == start)
			*o++ = '-';
		p = skip_token(p);
	}
	for (; i < s->ncols; i++) {
		*o++ = ' ';
		*o++ = '-';
	}
	out_len = (size_t)(o - out);
}

static long clk_tck;

static uint64_t ticks(struct timeval tv)
{
	return ((uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec) * (uint64_t)clk_tck / 1000000;
}

/*
 * The sampler's own utime and stime. getrusage gives the figures
 * /proc/self/stat shows (both truncate the same nanoseconds to ticks) with one
 * system call and no text for the kernel to write and us to parse.
 */
static void sample_self(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru)) {
		sample_missing(2);
		return;
	}
	char *o = room(42);
	*o++ = ' ';
	o = put_u64(o, ticks(ru.ru_utime));
	*o++ = ' ';
	o = put_u64(o, ticks(ru.ru_stime));
	out_len = (size_t)(o - out);
}

static void sample_source(struct source *s)
{
	if (s->kind == SRC_SELF) {
		sample_self();
		return;
	}
	ssize_t len = s->fd >= 0 ? read_fd(s->fd) : -1;
	if (len < 0)
		sample_missing(s->ncols);
	else if (s->kind == SRC_KEYED)
		sample_keyed(s, rbuf, (size_t)len);
	else if (s->kind == SRC_PSI)
		sample_psi(s, rbuf, (size_t)len);
	else
		sample_spaced(s, rbuf, (size_t)len);
}

/* ---- sources present on this device ---- */

static const char *const meminfo_keys[] = {
	"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active(anon)", "Inactive(anon)",
	"Active(file)", "Inactive(file)", "SwapTotal", "SwapFree", "Dirty", "AnonPages", "Mapped", "Shmem",
	"Slab", "KernelStack", "PageTables",
};
static const char *const psi_fields[] = { "some.avg10", "some.avg60", "some.avg300", "some.total",
					  "full.avg10", "full.avg60", "full.avg300", "full.total" };
static const char *const mm_stat_fields[] = { "orig_data_size", "compr_data_size", "mem_used_total",
					      "mem_limit", "mem_used_max", "same_pages",
					      "pages_compacted", "huge_pages", "huge_pages_since" };
static const char *const io_stat_fields[] = { "failed_reads", "failed_writes", "invalid_io", "notify_free" };
static const char *const block_stat_fields[] = { "read_ios", "read_merges", "read_sectors", "read_ticks",
						 "write_ios", "write_merges", "write_sectors", "write_ticks",
						 "in_flight", "io_ticks", "time_in_queue", "discard_ios",
						 "discard_merges", "discard_sectors", "discard_ticks", "flush_ios",
						 "flush_ticks" };
static const char *const cpu_fields[] = { "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal" };

static char meta[16384];
static size_t meta_len;

static void add_meta(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(meta + meta_len, sizeof(meta) - meta_len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(meta) - meta_len)
		meta_len += (size_t)n;
}

static int count_tokens(const char *path, int skip_label)
{
	char buf[1024];
	if (read_path(path, buf, sizeof(buf)))
		return -1;
	char *p = buf;
	int n = 0;
	if (skip_label)
		p += strcspn(p, " \t\n");
	for (;;) {
		p += strspn(p, " \t");
		size_t l = strcspn(p, " \t\n");
		if (!l)
			break;
		n++;
		p += l;
	}
	return n;
}

static int numeric_suffix_cmp(const void *a, const void *b)
{
	return strverscmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted names in `dir` that start with `prefix`. */
static int list_dir(const char *dir, const char *prefix, char names[][64], int max)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max)
		if (!strncmp(e->d_name, prefix, strlen(prefix)) && strlen(e->d_name) < 64)
			bounded_format(names[n++], 64, "%s", e->d_name);
	closedir(d);
	const char *ptrs[64];
	for (int i = 0; i < n; i++)
		ptrs[i] = xstrdup(names[i]);
	qsort(ptrs, (size_t)n, sizeof(ptrs[0]), numeric_suffix_cmp);
	for (int i = 0; i < n; i++) {
		bounded_format(names[i], 64, "%s", ptrs[i]);
		free((void *)ptrs[i]);
	}
	return n;
}

static void setup_sources(void)
{
	char names[64][64], path[256], col[200], text[128];
	add_keyed_all("vmstat", "/proc/vmstat");
	add_keyed("meminfo", "/proc/meminfo", meminfo_keys, (int)(sizeof(meminfo_keys) / sizeof(meminfo_keys[0])));
	struct source *psi = new_source("psi", "/proc/pressure/memory", SRC_PSI);
	for (int i = 0; i < 8; i++) {
		bounded_format(col, sizeof(col), "psi.%s", psi_fields[i]);
		add_column(col);
	}
	psi->ncols = 8;
	add_spaced("cpu", "/proc/stat", cpu_fields, 8, 1);
	/* opened only to report it in the header: the figures come from getrusage */
	struct source *self = new_source("self", "/proc/self/stat", SRC_SELF);
	add_column("self.utime");
	add_column("self.stime");
	self->ncols = 2;

	int nz = list_dir("/sys/block", "zram", names, 64);
	for (int i = 0; i < nz; i++) {
		char name[80];
		int n;
		bounded_format(name, sizeof(name), "%s.mm", names[i]);
		bounded_format(path, sizeof(path), "/sys/block/%s/mm_stat", names[i]);
		n = count_tokens(path, 0);
		add_spaced(name, path, mm_stat_fields, n > 0 && n < 9 ? n : 8 + (n >= 9), 0);
		bounded_format(name, sizeof(name), "%s.io", names[i]);
		bounded_format(path, sizeof(path), "/sys/block/%s/io_stat", names[i]);
		add_spaced(name, path, io_stat_fields, 4, 0);
		bounded_format(name, sizeof(name), "%s.stat", names[i]);
		bounded_format(path, sizeof(path), "/sys/block/%s/stat", names[i]);
		n = count_tokens(path, 0);
		add_spaced(name, path, block_stat_fields, n >= 11 && n <= 17 ? n : 11, 0);
		bounded_format(path, sizeof(path), "/sys/block/%s/comp_algorithm", names[i]);
		if (!read_path(path, text, sizeof(text))) {
			/* the active algorithm is the one in brackets */
			char *lb = strchr(text, '['), *rb = lb ? strchr(lb, ']') : NULL;
			if (lb && rb) {
				*rb = 0;
				memmove(text, lb + 1, strlen(lb + 1) + 1);
			}
			sanitize(text);
			add_meta("# meta %s.comp_algorithm %s\n", names[i], text);
		}
	}

	int nt = list_dir("/sys/class/thermal", "thermal_zone", names, 64);
	for (int i = 0; i < nt; i++) {
		bounded_format(path, sizeof(path), "/sys/class/thermal/%s/type", names[i]);
		if (read_path(path, text, sizeof(text)))
			bounded_format(text, sizeof(text), "unknown");
		sanitize(text);
		add_meta("# meta thermal.%s.type %s\n", names[i], text);
		bounded_format(col, sizeof(col), "thermal.%s.temp", names[i]);
		bounded_format(path, sizeof(path), "/sys/class/thermal/%s/temp", names[i]);
		add_single(col, path);
	}

	int np = list_dir("/sys/devices/system/cpu/cpufreq", "policy", names, 64);
	for (int i = 0; i < np; i++) {
		bounded_format(path, sizeof(path), "/sys/devices/system/cpu/cpufreq/%s/related_cpus", names[i]);
		if (!read_path(path, text, sizeof(text))) {
			for (char *c = text; *c; c++)
				if (*c == ' ')
					*c = ',';
			add_meta("# meta cpufreq.%s.cpus %s\n", names[i], text);
		}
		bounded_format(col, sizeof(col), "cpufreq.%s.cur_khz", names[i]);
		bounded_format(path, sizeof(path), "/sys/devices/system/cpu/cpufreq/%s/scaling_cur_freq", names[i]);
		add_single(col, path);
	}

	int nb = list_dir("/sys/class/power_supply", "", names, 64);
	for (int i = 0; i < nb; i++) {
		if (names[i][0] == '.')
			continue;
		bounded_format(path, sizeof(path), "/sys/class/power_supply/%s/type", names[i]);
		if (read_path(path, text, sizeof(text)) || strcmp(text, "Battery"))
			continue;
		char bname[64];
		bounded_format(bname, sizeof(bname), "%s", names[i]);
		sanitize(bname);
		bounded_format(col, sizeof(col), "battery.%s.current_ua", bname);
		bounded_format(path, sizeof(path), "/sys/class/power_supply/%s/current_now", names[i]);
		add_single(col, path);
		bounded_format(col, sizeof(col), "battery.%s.voltage_uv", bname);
		bounded_format(path, sizeof(path), "/sys/class/power_supply/%s/voltage_now", names[i]);
		add_single(col, path);
	}
}

/* ---- threads of kswapd*, kcompressd* and named processes ---- */

static int wanted_comm(const char *comm)
{
	for (int i = 0; i < ncomms; i++)
		if (!strncmp(comm, comms[i], strlen(comms[i])))
			return 1;
	return 0;
}

static int tracked(int tid)
{
	for (int i = 0; i < nthreads; i++)
		if (threads[i].tid == tid)
			return 1;
	return 0;
}

/* The last pid the kernel handed out (/proc/loadavg's last field): while it
 * stays the same no process or thread was created, and a scan is skipped. */
static long last_pid(void)
{
	static int fd = -2;
	if (fd == -2)
		fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read_fd(fd) <= 0)
		return -1;
	char *sp = strrchr(rbuf, ' ');
	return sp ? atol(sp + 1) : -1;
}

/* Start tracking the threads of wanted processes not tracked yet; returns how many. */
static int scan_threads(uint64_t now)
{
	static long scanned_at = -2;
	int found = 0;
	long pid_now = last_pid();
	if (pid_now >= 0 && pid_now == scanned_at)
		return 0;
	scanned_at = pid_now;
	DIR *proc = opendir("/proc");
	if (!proc)
		return 0;
	struct dirent *e;
	char path[128], comm[64];
	while ((e = readdir(proc))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		int pid = atoi(e->d_name);
		if (pid == getpid())
			continue;
		bounded_format(path, sizeof(path), "/proc/%d/comm", pid);
		if (read_path(path, comm, sizeof(comm)) || !wanted_comm(comm))
			continue;
		bounded_format(path, sizeof(path), "/proc/%d/task", pid);
		DIR *tasks = opendir(path);
		if (!tasks)
			continue;
		struct dirent *t;
		while ((t = readdir(tasks)) && nthreads < MAX_THREADS) {
			if (!isdigit((unsigned char)t->d_name[0]))
				continue;
			int tid = atoi(t->d_name);
			if (tracked(tid))
				continue;
			bounded_format(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			bounded_format(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
			char tcomm[64];
			if (read_path(path, tcomm, sizeof(tcomm)))
				bounded_format(tcomm, sizeof(tcomm), "%s", comm);
			sanitize(tcomm);
			char pcomm[64];
			bounded_format(pcomm, sizeof(pcomm), "%s", comm);
			sanitize(pcomm);
			threads[nthreads++] = (struct thread){ .tid = tid, .pid = pid, .fd = fd };
			putf("N %llu %d %d %s %s\n", (unsigned long long)now, tid, pid, pcomm, tcomm);
			found++;
		}
		closedir(tasks);
	}
	closedir(proc);
	return found;
}

/* Length of the whole number at p (1 to 20 digits), or 0 when there is none. */
static int number_len(const char *p)
{
	int n = 0;
	while (n <= 20 && p[n] >= '0' && p[n] <= '9')
		n++;
	return n <= 20 && ends_token(p[n]) ? n : 0;
}

/* utime in a /proc/…/stat text: field 14, counted after the ')' that ends the
 * command name (which may hold spaces); stime follows it. */
static const char *task_utime(const char *text, size_t len)
{
	const char *p = memrchr(text, ')', len);
	if (!p)
		return NULL;
	p++;
	for (int field = 3; field < 14; field++) {
		p = skip_blanks(p);
		if (ends_token(*p))
			return NULL;
		p = skip_token(p);
	}
	return skip_blanks(p);
}

static void sample_threads(uint64_t now)
{
	int gone[MAX_THREADS], ngone = 0;
	if (!nthreads)
		return;
	char *o = room(24);
	*o++ = 'T';
	*o++ = ' ';
	o = put_u64(o, now);
	out_len = (size_t)(o - out);
	for (int i = 0; i < nthreads;) {
		struct thread *t = &threads[i];
		ssize_t len = read_fd(t->fd);
		const char *ut = len > 0 ? task_utime(rbuf, (size_t)len) : NULL;
		int utl = ut ? number_len(ut) : 0;
		const char *st = utl ? skip_blanks(ut + utl) : NULL;
		int stl = st ? number_len(st) : 0;
		if (!stl) {
			/* the thread has exited: its stat file reads as an error */
			close(t->fd);
			gone[ngone++] = t->tid;
			threads[i] = threads[--nthreads];
			continue;
		}
		/* " tid:utime:stime", the times copied as the kernel wrote them */
		o = room(64);
		*o++ = ' ';
		o = put_u64(o, (uint64_t)t->tid);
		*o++ = ':';
		memcpy(o, ut, (size_t)utl);
		o += utl;
		*o++ = ':';
		memcpy(o, st, (size_t)stl);
		o += stl;
		out_len = (size_t)(o - out);
		i++;
	}
	put("\n", 1);
	for (int i = 0; i < ngone; i++)
		putf("G %llu %d\n", (unsigned long long)now, gone[i]);
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr, "usage: sampler --out PATH [--period-ms N] [--duration-ms N] [--count N]\n"
			"               [--comm NAME]... [--scan-ms N] [--daemon] [--pidfile PATH]\n");
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "out", required_argument, 0, 'o' },      { "period-ms", required_argument, 0, 'p' },
		{ "duration-ms", required_argument, 0, 'd' }, { "count", required_argument, 0, 'c' },
		{ "comm", required_argument, 0, 'n' },     { "scan-ms", required_argument, 0, 's' },
		{ "daemon", no_argument, 0, 'D' },         { "pidfile", required_argument, 0, 'P' },
		{ "help", no_argument, 0, '?' },           { 0, 0, 0, 0 },
	};
	const char *out_path = NULL, *pidfile = NULL;
	uint64_t period_ms = 100, duration_ms = 0, count = 0, scan_ms = 250;
	int daemonize = 0, c;
	comms[ncomms++] = "kswapd";
	comms[ncomms++] = "kcompressd";
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'o': out_path = optarg; break;
		case 'p': period_ms = arg_u64("--period-ms", optarg, 1, 3600000); break;
		case 'd': duration_ms = arg_u64("--duration-ms", optarg, 0, 30ULL * 86400000); break;
		case 'c': count = arg_u64("--count", optarg, 0, UINT64_MAX); break;
		case 'n':
			if (ncomms >= MAX_COMMS || !*optarg || strlen(optarg) > 15) {
				fprintf(stderr, "--comm: \"%s\" is not a process name (1..15 characters, at most %d)\n",
					optarg, MAX_COMMS - 2);
				return 2;
			}
			comms[ncomms++] = optarg;
			break;
		case 's': scan_ms = arg_u64("--scan-ms", optarg, 1, 3600000); break;
		case 'D': daemonize = 1; break;
		case 'P': pidfile = optarg; break;
		default: usage(); return 2;
		}
	}
	if (optind != argc || !out_path) {
		usage();
		return 2;
	}
	out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (out_fd < 0)
		die("cannot create %s: %s", out_path, strerror(errno));

	int ready_fd = -1;
	if (daemonize) {
		/*
		 * Detach from the shell that started us (the host ends that shell),
		 * but print the pid only once the first sample is in the file: what
		 * the host starts next (the eater) must not begin before the record.
		 */
		int ready[2];
		if (pipe(ready))
			die("pipe: %s", strerror(errno));
		pid_t pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid > 0) {
			char byte;
			close(ready[1]);
			ssize_t r;
			do
				r = read(ready[0], &byte, 1);
			while (r < 0 && errno == EINTR);
			if (r != 1)
				die("stopped before its first sample");
			printf("%d\n", pid);
			return 0;
		}
		close(ready[0]);
		ready_fd = ready[1];
		setsid();
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (!f)
			die("cannot write %s: %s", pidfile, strerror(errno));
		fprintf(f, "%d\n", getpid());
		fclose(f);
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	setup_sources();

	char boot_id[64];
	if (read_path("/proc/sys/kernel/random/boot_id", boot_id, sizeof(boot_id)))
		bounded_format(boot_id, sizeof(boot_id), "-");
	sanitize(boot_id);
	uint64_t period_ns = period_ms * 1000000ULL;
	clk_tck = sysconf(_SC_CLK_TCK);
	uint64_t anchor_boot = boottime_ns(), anchor_real = realtime_ns();

	putf("# zlab-sampler %d\n", FORMAT_VERSION);
	putf("# boot_id %s\n", boot_id);
	putf("# anchor %llu %llu\n", (unsigned long long)anchor_boot, (unsigned long long)anchor_real);
	putf("# period_ns %llu\n", (unsigned long long)period_ns);
	putf("# clk_tck %ld\n", clk_tck);
	putf("# page_size %ld\n", sysconf(_SC_PAGESIZE));
	putf("# ncpu %ld\n", sysconf(_SC_NPROCESSORS_CONF));
	putf("# pid %d\n", getpid());
	for (int i = 0; i < ncomms; i++)
		putf("# comm %s\n", comms[i]);
	for (int i = 0; i < nsources; i++)
		putf("# source %s %s %s %d\n", sources[i].name, sources[i].path, sources[i].fd >= 0 ? "ok" : "missing",
		     sources[i].ncols);
	put(meta, meta_len);
	putf("# columns %d", ncolumns + 1);
	puts_(" t_ns");
	for (int i = 0; i < ncolumns; i++) {
		put(" ", 1);
		puts_(columns[i]);
	}
	puts_("\n# end\n");
	flush_record();

	/*
	 * Thread discovery backs off: new threads appear mostly at the start (the
	 * eater starts just after the sampler), so scan every --scan-ms at first,
	 * double the interval after each scan that finds nothing new, up to
	 * SCAN_MAX_MS, and go back to --scan-ms when a scan finds a new thread. A
	 * scan lists all of /proc and reads every process's name.
	 */
	uint64_t scan_max_ms = scan_ms > SCAN_MAX_MS ? scan_ms : SCAN_MAX_MS, scan_every_ms = scan_ms, next_scan = 0;
	uint64_t start = boottime_ns(), next = start, samples = 0, overruns = 0, scans = 0;
	const char *reason = "count";
	for (;;) {
		if (stop_signal) {
			reason = stop_signal == SIGTERM ? "SIGTERM" : stop_signal == SIGINT ? "SIGINT" : "SIGHUP";
			break;
		}
		uint64_t now = boottime_ns();
		if (duration_ms && now - start >= duration_ms * 1000000ULL) {
			reason = "duration";
			break;
		}
		if (count && samples >= count)
			break;
		if (now >= next_scan) {
			scans++;
			if (scan_threads(now))
				scan_every_ms = scan_ms;
			else if ((scan_every_ms *= 2) > scan_max_ms)
				scan_every_ms = scan_max_ms;
			next_scan = now + scan_every_ms * 1000000ULL;
		}
		char *o = room(24);
		*o++ = 'S';
		*o++ = ' ';
		out_len = (size_t)(put_u64(o, now) - out);
		for (int i = 0; i < nsources; i++)
			sample_source(&sources[i]);
		put("\n", 1);
		sample_threads(now);
		flush_record();
		samples++;
		if (ready_fd >= 0)
			detach(&ready_fd);

		next += period_ns;
		now = boottime_ns();
		if (next <= now) {
			/* fell behind: skip the slots already past rather than burst */
			uint64_t behind = (now - next) / period_ns + 1;
			overruns += behind;
			next += behind * period_ns;
		}
		struct timespec ts = { .tv_sec = (time_t)(next / 1000000000ULL), .tv_nsec = (long)(next % 1000000000ULL) };
		clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME, &ts, NULL); /* a signal ends the sleep early */
	}
	putf("X %llu %s samples=%llu overruns=%llu scans=%llu\n", (unsigned long long)boottime_ns(), reason,
	     (unsigned long long)samples, (unsigned long long)overruns, (unsigned long long)scans);
	flush_record();
	close(out_fd);
	if (pidfile)
		unlink(pidfile);
	return 0;
}
