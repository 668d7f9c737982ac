/*
 * memeater: creates memory pressure with data whose content is known.
 *
 * Anonymous memory is filled page by page from a seeded generator (zero,
 * same-filled and compressible data pages in a chosen mix), held, then faulted
 * back in by re-touch passes that regenerate every page and compare it, so a
 * page that comes back from swap wrong is found and reported. Optional file
 * reads keep page-cache pressure alongside. Prints one JSON summary on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"
#include "clock.h"
#include "json-out.h"
#include "pagegen.h"

#define MAX_WORKERS 64
#define MAX_PASSES 100
#define MAX_REPORTED 8
#define MAX_ERRORS 16
#define FILE_CHUNK (1024 * 1024)
#define FILE_SEED_SALT 0xf11ef11ef11ef11eULL

struct options {
	uint64_t size_mib;
	double ratio;
	double zero_pct, same_pct;
	uint64_t seed;
	unsigned workers;
	double rate_mibps; /* 0: as fast as possible */
	uint64_t hold_ms;
	unsigned retouch;
	uint64_t file_mib;
	const char *file_path;
	int keep_file;
	int set_oom;
	int oom_adj;
	const char *summary_path;
};

/* What a worker reports after the fill and after each re-touch pass. */
struct report {
	uint64_t pages;
	uint64_t kinds[3];
	uint64_t corrupt;
	uint64_t corrupt_page[MAX_REPORTED];
	uint64_t corrupt_byte[MAX_REPORTED];
	uint64_t swapped[3];   /* pages of each kind out in swap when the pass began */
	int census_ok;
	uint64_t start_ns, end_ns;
};

struct worker {
	pid_t pid;
	int cmd_fd, report_fd;
	uint64_t first_page, pages;
	int alive;
};

struct phase {
	char name[24];
	uint64_t start_ns, end_ns;
	uint64_t pages, corrupt;
};

static char errors[MAX_ERRORS][160];
static unsigned nerrors;

static void add_error(const char *fmt, const char *a, long b)
{
	if (nerrors < MAX_ERRORS)
		snprintf(errors[nerrors++], sizeof(errors[0]), fmt, a, b);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: memeater --size-mib N [--ratio R] [--zero-pct P] [--same-pct P] [--seed S]\n"
		"                [--workers N] [--rate-mibps R] [--hold-ms N] [--retouch N]\n"
		"                [--file-mib N --file-path PATH [--keep-file]]\n"
		"                [--oom-score-adj N | --no-oom-adj] [--summary PATH]\n");
}

static void parse(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "size-mib", required_argument, 0, 's' },   { "ratio", required_argument, 0, 'r' },
		{ "zero-pct", required_argument, 0, 'z' },   { "same-pct", required_argument, 0, 'f' },
		{ "seed", required_argument, 0, 'S' },       { "workers", required_argument, 0, 'w' },
		{ "rate-mibps", required_argument, 0, 'R' }, { "hold-ms", required_argument, 0, 'h' },
		{ "retouch", required_argument, 0, 't' },    { "file-mib", required_argument, 0, 'F' },
		{ "file-path", required_argument, 0, 'P' },  { "keep-file", no_argument, 0, 'k' },
		{ "oom-score-adj", required_argument, 0, 'o' }, { "no-oom-adj", no_argument, 0, 'O' },
		{ "summary", required_argument, 0, 'j' },    { "help", no_argument, 0, '?' },
		{ 0, 0, 0, 0 },
	};
	*o = (struct options){ .ratio = 3.0, .seed = 1, .workers = 1, .retouch = 1, .set_oom = 1, .oom_adj = -1000 };
	int have_size = 0, c;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 's': o->size_mib = arg_u64("--size-mib", optarg, 1, 1ULL << 24); have_size = 1; break;
		case 'r': o->ratio = arg_double("--ratio", optarg, 1.0, PAGEGEN_MAX_RATIO); break;
		case 'z': o->zero_pct = arg_double("--zero-pct", optarg, 0, 100); break;
		case 'f': o->same_pct = arg_double("--same-pct", optarg, 0, 100); break;
		case 'S': o->seed = arg_u64("--seed", optarg, 0, UINT64_MAX); break;
		case 'w': o->workers = (unsigned)arg_u64("--workers", optarg, 1, MAX_WORKERS); break;
		case 'R': o->rate_mibps = arg_double("--rate-mibps", optarg, 0, 1e6); break;
		case 'h': o->hold_ms = arg_u64("--hold-ms", optarg, 0, 86400000); break;
		case 't': o->retouch = (unsigned)arg_u64("--retouch", optarg, 0, MAX_PASSES); break;
		case 'F': o->file_mib = arg_u64("--file-mib", optarg, 0, 1ULL << 20); break;
		case 'P': o->file_path = optarg; break;
		case 'k': o->keep_file = 1; break;
		case 'o': o->oom_adj = (int)arg_i64("--oom-score-adj", optarg, -1000, 1000); break;
		case 'O': o->set_oom = 0; break;
		case 'j': o->summary_path = optarg; break;
		default: usage(); exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "memeater: unexpected argument \"%s\"\n", argv[optind]);
		exit(2);
	}
	if (!have_size) {
		fprintf(stderr, "memeater: --size-mib is required\n");
		exit(2);
	}
	if (o->zero_pct + o->same_pct > 100.0) {
		fprintf(stderr, "memeater: --zero-pct + --same-pct is %g, more than 100\n", o->zero_pct + o->same_pct);
		exit(2);
	}
	if (o->file_mib && !o->file_path) {
		fprintf(stderr, "memeater: --file-mib needs --file-path\n");
		exit(2);
	}
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* ---- worker: owns one contiguous range of page indexes ---- */

static void worker_fill(uint8_t *mem, const struct worker *w, const struct options *o, const struct pagegen_mix *mix,
			size_t psize, struct report *r)
{
	double bytes_per_ns = o->rate_mibps > 0 ? o->rate_mibps * 1048576.0 / o->workers / 1e9 : 0;
	r->start_ns = boottime_ns();
	for (uint64_t i = 0; i < w->pages; i++) {
		enum pagegen_kind k = pagegen_page(mem + i * psize, psize, o->seed, w->first_page + i, mix);
		r->kinds[k]++;
		r->pages++;
		if (bytes_per_ns > 0 && (i & 63) == 63) {
			uint64_t due = r->start_ns + (uint64_t)((double)((i + 1) * psize) / bytes_per_ns);
			uint64_t now = boottime_ns();
			if (due > now)
				sleep_ns(due - now);
		}
	}
	r->end_ns = boottime_ns();
}

static void worker_verify(uint8_t *mem, uint8_t *scratch, const struct worker *w, const struct options *o,
			  const struct pagegen_mix *mix, size_t psize, struct report *r)
{
	r->start_ns = boottime_ns();
	for (uint64_t i = 0; i < w->pages; i++) {
		const uint8_t *page = mem + i * psize; /* reading it faults it back in */
		pagegen_page(scratch, psize, o->seed, w->first_page + i, mix);
		r->pages++;
		if (memcmp(page, scratch, psize) != 0) {
			if (r->corrupt < MAX_REPORTED) {
				size_t b = 0;
				while (page[b] == scratch[b])
					b++;
				r->corrupt_page[r->corrupt] = w->first_page + i;
				r->corrupt_byte[r->corrupt] = b;
			}
			r->corrupt++;
		}
	}
	r->end_ns = boottime_ns();
}

/*
 * Count this worker's pages that are out in swap, by kind, from
 * /proc/self/pagemap (bit 62: swapped), without touching them. Predicts
 * zram's same_pages and the kernel's swpout_zero exactly.
 */
#define PM_SWAP (1ULL << 62)
#define CENSUS_BATCH 512

static int swap_census(uint8_t *mem, const struct worker *w, const struct options *o, const struct pagegen_mix *mix,
		       size_t psize, uint64_t swapped[3])
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t entries[CENSUS_BATCH];
	if (fd < 0)
		return 0;
	for (uint64_t i = 0; i < w->pages; i += CENSUS_BATCH) {
		uint64_t n = w->pages - i < CENSUS_BATCH ? w->pages - i : CENSUS_BATCH;
		off_t off = (off_t)(((uintptr_t)mem / psize + i) * sizeof(uint64_t));
		if (pread(fd, entries, n * sizeof(uint64_t), off) != (ssize_t)(n * sizeof(uint64_t))) {
			close(fd);
			return 0;
		}
		for (uint64_t k = 0; k < n; k++)
			if (entries[k] & PM_SWAP)
				swapped[pagegen_kind_of(o->seed, w->first_page + i + k, mix)]++;
	}
	close(fd);
	return 1;
}

static void worker_main(const struct worker *w, const struct options *o, const struct pagegen_mix *mix, size_t psize,
			int cmd_fd, int report_fd)
{
	size_t bytes = (size_t)w->pages * psize;
	uint8_t *mem = bytes ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
			     : NULL;
	uint8_t *scratch = malloc(psize);
	struct report r;
	if ((bytes && mem == MAP_FAILED) || !scratch)
		_exit(3);
#ifdef MADV_NOHUGEPAGE
	/* base pages only: swap and zram see each 4 KiB page as generated */
	if (bytes)
		madvise(mem, bytes, MADV_NOHUGEPAGE);
#endif
	memset(&r, 0, sizeof(r));
	worker_fill(mem, w, o, mix, psize, &r);
	if (write_all(report_fd, &r, sizeof(r)))
		_exit(4);
	for (;;) {
		char cmd;
		if (read_all(cmd_fd, &cmd, 1) || cmd != 'R')
			_exit(0);
		memset(&r, 0, sizeof(r));
		r.census_ok = swap_census(mem, w, o, mix, psize, r.swapped);
		worker_verify(mem, scratch, w, o, mix, psize, &r);
		if (write_all(report_fd, &r, sizeof(r)))
			_exit(4);
	}
}

/* ---- file reader: keeps re-reading a file through the page cache ---- */

static volatile sig_atomic_t reader_stop;

static void on_stop(int sig)
{
	(void)sig;
	reader_stop = 1;
}

static int make_file(const struct options *o, const struct pagegen_mix *mix)
{
	int fd = open(o->file_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	uint8_t *buf = malloc(FILE_CHUNK);
	if (!buf) {
		close(fd);
		return -1;
	}
	for (uint64_t c = 0; c < o->file_mib; c++) {
		for (size_t off = 0; off < FILE_CHUNK; off += 4096)
			pagegen_page(buf + off, 4096, o->seed ^ FILE_SEED_SALT, c * (FILE_CHUNK / 4096) + off / 4096, mix);
		if (write_all(fd, buf, FILE_CHUNK)) {
			free(buf);
			close(fd);
			return -1;
		}
	}
	free(buf);
	fsync(fd); /* clean pages: reclaim can drop them without writeback */
	return close(fd);
}

struct file_report {
	uint64_t passes, bytes;
};

static void reader_main(const struct options *o, int report_fd)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	struct file_report fr = { 0, 0 };
	int fd = open(o->file_path, O_RDONLY | O_CLOEXEC);
	char *buf = malloc(FILE_CHUNK);
	if (fd < 0 || !buf)
		_exit(3);
	while (!reader_stop) {
		off_t off = 0;
		ssize_t n;
		while (!reader_stop && (n = pread(fd, buf, FILE_CHUNK, off)) > 0) {
			off += n;
			fr.bytes += (uint64_t)n;
		}
		if (!reader_stop)
			fr.passes++;
	}
	write_all(report_fd, &fr, sizeof(fr));
	_exit(0);
}

/* ---- parent ---- */

static void apply_oom_adj(const struct options *o, int *applied, char *err, size_t errlen)
{
	*applied = 0;
	err[0] = 0;
	if (!o->set_oom)
		return;
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	char text[16];
	int n = snprintf(text, sizeof(text), "%d\n", o->oom_adj);
	if (fd < 0 || write(fd, text, (size_t)n) != n)
		snprintf(err, errlen, "cannot set oom_score_adj to %d: %s", o->oom_adj, strerror(errno));
	else
		*applied = 1;
	if (fd >= 0)
		close(fd);
}

static void describe_exit(struct worker *w, unsigned idx)
{
	int status = 0;
	char who[32];
	snprintf(who, sizeof(who), "worker %u", idx);
	if (waitpid(w->pid, &status, 0) == w->pid) {
		if (WIFSIGNALED(status))
			add_error("%s was killed by signal %ld", who, WTERMSIG(status));
		else
			add_error("%s exited early with status %ld", who, WEXITSTATUS(status));
	} else {
		add_error("%s vanished (%ld)", who, errno);
	}
	w->alive = 0;
}

static double mib_per_s(uint64_t pages, size_t psize, uint64_t ns)
{
	return ns ? (double)pages * (double)psize / 1048576.0 / ((double)ns / 1e9) : 0;
}

int main(int argc, char **argv)
{
	struct options o;
	parse(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);

	size_t psize = (size_t)sysconf(_SC_PAGESIZE);
	struct pagegen_mix mix = {
		.zero_ppm = (uint32_t)(o.zero_pct * 10000.0 + 0.5),
		.same_ppm = (uint32_t)(o.same_pct * 10000.0 + 0.5),
		.ratio = o.ratio,
	};
	uint64_t total_pages = o.size_mib * 1048576ULL / psize;
	uint64_t t0_boot = boottime_ns(), t0_real = realtime_ns();

	int oom_applied;
	char oom_err[160];
	apply_oom_adj(&o, &oom_applied, oom_err, sizeof(oom_err));

	struct phase phases[3 + MAX_PASSES];
	unsigned nphases = 0;

	/* file component: written first, then read on a loop until the end */
	pid_t reader = -1;
	int reader_fd = -1;
	struct file_report fr = { 0, 0 };
	if (o.file_mib) {
		struct phase *p = &phases[nphases++];
		snprintf(p->name, sizeof(p->name), "file-create");
		p->start_ns = boottime_ns();
		if (make_file(&o, &mix)) {
			add_error("cannot write the file %s (errno %ld)", o.file_path, errno);
		} else {
			int fds[2];
			if (pipe(fds) == 0 && (reader = fork()) == 0) {
				close(fds[0]);
				reader_main(&o, fds[1]);
			}
			close(fds[1]);
			reader_fd = fds[0];
		}
		p->end_ns = boottime_ns();
		p->pages = o.file_mib * 1048576ULL / psize;
		p->corrupt = 0;
	}

	struct worker workers[MAX_WORKERS];
	for (unsigned i = 0; i < o.workers; i++) {
		struct worker *w = &workers[i];
		int cmd[2], rep[2];
		w->first_page = total_pages * i / o.workers;
		w->pages = total_pages * (i + 1) / o.workers - w->first_page;
		if (pipe(cmd) || pipe(rep)) {
			perror("memeater: pipe");
			return 1;
		}
		w->pid = fork();
		if (w->pid < 0) {
			perror("memeater: fork");
			return 1;
		}
		if (w->pid == 0) {
			close(cmd[1]);
			close(rep[0]);
			for (unsigned j = 0; j < i; j++) {
				close(workers[j].cmd_fd);
				close(workers[j].report_fd);
			}
			if (reader_fd >= 0)
				close(reader_fd);
			worker_main(w, &o, &mix, psize, cmd[0], rep[1]);
		}
		close(cmd[0]);
		close(rep[1]);
		w->cmd_fd = cmd[1];
		w->report_fd = rep[0];
		w->alive = 1;
	}

	/* fill */
	struct report totals, r;
	memset(&totals, 0, sizeof(totals));
	struct phase *fill = &phases[nphases++];
	snprintf(fill->name, sizeof(fill->name), "fill");
	fill->start_ns = boottime_ns();
	for (unsigned i = 0; i < o.workers; i++) {
		if (read_all(workers[i].report_fd, &r, sizeof(r))) {
			describe_exit(&workers[i], i);
			continue;
		}
		for (int k = 0; k < 3; k++)
			totals.kinds[k] += r.kinds[k];
		totals.pages += r.pages;
	}
	fill->end_ns = boottime_ns();
	fill->pages = totals.pages;
	fill->corrupt = 0;
	fprintf(stderr, "memeater: fill done, %llu pages\n", (unsigned long long)totals.pages);

	/* hold */
	struct phase *hold = &phases[nphases++];
	snprintf(hold->name, sizeof(hold->name), "hold");
	hold->start_ns = boottime_ns();
	sleep_ns(o.hold_ms * 1000000ULL);
	hold->end_ns = boottime_ns();
	hold->pages = hold->corrupt = 0;

	/* re-touch passes: fault every page back in and verify it */
	uint64_t verified = 0, corrupt = 0, bad_page[MAX_REPORTED], bad_byte[MAX_REPORTED];
	uint64_t swapped[3] = { 0, 0, 0 };
	int census_ok = o.retouch > 0;
	unsigned nbad = 0;
	for (unsigned pass = 1; pass <= o.retouch; pass++) {
		struct phase *p = &phases[nphases++];
		snprintf(p->name, sizeof(p->name), "retouch%u", pass);
		p->start_ns = boottime_ns();
		p->pages = p->corrupt = 0;
		for (unsigned i = 0; i < o.workers; i++)
			if (workers[i].alive && write_all(workers[i].cmd_fd, "R", 1))
				describe_exit(&workers[i], i);
		for (unsigned i = 0; i < o.workers; i++) {
			if (!workers[i].alive)
				continue;
			if (read_all(workers[i].report_fd, &r, sizeof(r))) {
				describe_exit(&workers[i], i);
				continue;
			}
			p->pages += r.pages;
			p->corrupt += r.corrupt;
			if (pass == 1) {
				census_ok = census_ok && r.census_ok;
				for (int k = 0; k < 3; k++)
					swapped[k] += r.swapped[k];
			}
			for (uint64_t k = 0; k < r.corrupt && k < MAX_REPORTED && nbad < MAX_REPORTED; k++) {
				bad_page[nbad] = r.corrupt_page[k];
				bad_byte[nbad] = r.corrupt_byte[k];
				nbad++;
			}
		}
		p->end_ns = boottime_ns();
		fprintf(stderr, "memeater: retouch pass %u done, %llu corrupt\n", pass, (unsigned long long)p->corrupt);
		verified += p->pages;
		corrupt += p->corrupt;
	}

	for (unsigned i = 0; i < o.workers; i++) {
		if (!workers[i].alive)
			continue;
		write_all(workers[i].cmd_fd, "Q", 1);
		close(workers[i].cmd_fd);
		int status;
		waitpid(workers[i].pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			add_error("worker%s ended with wait status %ld", "", (long)status);
	}
	if (reader > 0) {
		kill(reader, SIGTERM);
		if (read_all(reader_fd, &fr, sizeof(fr)))
			add_error("file reader%s stopped without a report (%ld)", "", 0);
		waitpid(reader, NULL, 0);
		if (!o.keep_file)
			unlink(o.file_path);
	}
	uint64_t t_end = boottime_ns();

	FILE *outs[2] = { stdout, o.summary_path ? fopen(o.summary_path, "w") : NULL };
	if (o.summary_path && !outs[1])
		add_error("cannot write the summary to %s (errno %ld)", o.summary_path, errno);
	for (int k = 0; k < 2; k++) {
		FILE *f = outs[k];
		if (!f)
			continue;
		fprintf(f, "{\"tool\":\"memeater\",\"version\":1,\"pageSize\":%zu,", psize);
		fprintf(f, "\"config\":{\"sizeMib\":%llu,\"ratio\":%g,\"zeroPct\":%g,\"sameFilledPct\":%g,\"seed\":%llu,"
			   "\"workers\":%u,\"rateMibps\":%g,\"holdMs\":%llu,\"retouchPasses\":%u,\"fileMib\":%llu},",
			(unsigned long long)o.size_mib, o.ratio, o.zero_pct, o.same_pct, (unsigned long long)o.seed,
			o.workers, o.rate_mibps, (unsigned long long)o.hold_ms, o.retouch,
			(unsigned long long)o.file_mib);
		fprintf(f, "\"clock\":{\"startBoottimeNs\":%llu,\"startRealtimeNs\":%llu,\"endBoottimeNs\":%llu},",
			(unsigned long long)t0_boot, (unsigned long long)t0_real, (unsigned long long)t_end);
		if (o.set_oom)
			fprintf(f, "\"oomScoreAdj\":{\"requested\":%d,", o.oom_adj);
		else
			fprintf(f, "\"oomScoreAdj\":{\"requested\":null,");
		fprintf(f, "\"applied\":%s,\"error\":", oom_applied ? "true" : "false");
		if (oom_err[0])
			json_string(f, oom_err);
		else
			fputs("null", f);
		fprintf(f, "},\"pages\":{\"target\":%llu,\"written\":%llu,\"zero\":%llu,\"sameFilled\":%llu,\"data\":%llu,"
			   "\"verified\":%llu,\"corrupt\":%llu},",
			(unsigned long long)total_pages, (unsigned long long)totals.pages,
			(unsigned long long)totals.kinds[PAGEGEN_ZERO], (unsigned long long)totals.kinds[PAGEGEN_SAME],
			(unsigned long long)totals.kinds[PAGEGEN_DATA], (unsigned long long)verified,
			(unsigned long long)corrupt);
		if (census_ok)
			fprintf(f, "\"swappedBeforeRetouch\":{\"zero\":%llu,\"sameFilled\":%llu,\"data\":%llu},",
				(unsigned long long)swapped[PAGEGEN_ZERO], (unsigned long long)swapped[PAGEGEN_SAME],
				(unsigned long long)swapped[PAGEGEN_DATA]);
		else
			fprintf(f, "\"swappedBeforeRetouch\":null,");
		fprintf(f, "\"corruptPages\":%llu,\"firstCorrupt\":[", (unsigned long long)corrupt);
		for (unsigned i = 0; i < nbad; i++)
			fprintf(f, "%s{\"page\":%llu,\"offset\":%llu,\"firstBadByte\":%llu}", i ? "," : "",
				(unsigned long long)bad_page[i], (unsigned long long)(bad_page[i] * psize),
				(unsigned long long)bad_byte[i]);
		fprintf(f, "],\"phases\":[");
		for (unsigned i = 0; i < nphases; i++)
			fprintf(f, "%s{\"name\":\"%s\",\"startBoottimeNs\":%llu,\"endBoottimeNs\":%llu,\"pages\":%llu,"
				   "\"mibPerSec\":%.3f}",
				i ? "," : "", phases[i].name, (unsigned long long)phases[i].start_ns,
				(unsigned long long)phases[i].end_ns, (unsigned long long)phases[i].pages,
				mib_per_s(phases[i].pages, psize, phases[i].end_ns - phases[i].start_ns));
		fprintf(f, "],\"file\":");
		if (o.file_mib)
			fprintf(f, "{\"mib\":%llu,\"passes\":%llu,\"bytesRead\":%llu}", (unsigned long long)o.file_mib,
				(unsigned long long)fr.passes, (unsigned long long)fr.bytes);
		else
			fputs("null", f);
		fprintf(f, ",\"errors\":[");
		for (unsigned i = 0; i < nerrors; i++) {
			if (i)
				fputc(',', f);
			json_string(f, errors[i]);
		}
		fprintf(f, "]}\n");
		fflush(f);
		if (k == 1)
			fclose(f);
	}
	return nerrors || corrupt ? 1 : 0;
}
