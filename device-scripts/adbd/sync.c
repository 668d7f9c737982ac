/*
 * The file sync service (sync:), run in its own child with blocking I/O.
 *
 * Requests are [id 4][length u32 LE][path]; all integers little-endian.
 * STAT (lstat, v1), STA2 (stat) and LST2 (lstat) answer fixed records, LIST
 * answers DENT records then DONE, SEND takes "path,mode" then DATA chunks and
 * DONE mtime, RECV answers DATA chunks then DONE, QUIT ends the stream.
 * Errors are FAIL + length + message.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adbd.h"

#define SYNC_MAX_PATH 1024
#define SYNC_DATA_MAX (64 * 1024)

#define ID(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define ID_STAT ID('S', 'T', 'A', 'T')
#define ID_STA2 ID('S', 'T', 'A', '2')
#define ID_LST2 ID('L', 'S', 'T', '2')
#define ID_LIST ID('L', 'I', 'S', 'T')
#define ID_DENT ID('D', 'E', 'N', 'T')
#define ID_SEND ID('S', 'E', 'N', 'D')
#define ID_RECV ID('R', 'E', 'C', 'V')
#define ID_DATA ID('D', 'A', 'T', 'A')
#define ID_DONE ID('D', 'O', 'N', 'E')
#define ID_OKAY ID('O', 'K', 'A', 'Y')
#define ID_FAIL ID('F', 'A', 'I', 'L')
#define ID_QUIT ID('Q', 'U', 'I', 'T')

static int sock;
static uint8_t buf[8 + SYNC_DATA_MAX];

/* Any short read or write means the host is gone: nothing left to do. */
static void read_exact(void *p, size_t len)
{
	uint8_t *b = p;
	while (len > 0) {
		ssize_t n = read(sock, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		b += n;
		len -= (size_t)n;
	}
}

static void write_exact(const void *p, size_t len)
{
	const uint8_t *b = p;
	while (len > 0) {
		ssize_t n = write(sock, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		b += n;
		len -= (size_t)n;
	}
}

static void send_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void send_fail(const char *fmt, ...)
{
	char msg[SYNC_MAX_PATH + 128];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (len < 0)
		len = 0;
	if ((size_t)len >= sizeof msg)
		len = sizeof msg - 1;
	uint8_t h[8];
	put_le32(h, ID_FAIL);
	put_le32(h + 4, (uint32_t)len);
	write_exact(h, 8);
	write_exact(msg, (size_t)len);
}

static void send_id_value(uint32_t id, uint32_t value)
{
	uint8_t h[8];
	put_le32(h, id);
	put_le32(h + 4, value);
	write_exact(h, 8);
}

static void do_stat_v1(const char *path)
{
	struct stat st;
	uint8_t r[16] = {0};
	put_le32(r, ID_STAT);
	if (lstat(path, &st) == 0) {
		put_le32(r + 4, (uint32_t)st.st_mode);
		put_le32(r + 8, (uint32_t)st.st_size);
		put_le32(r + 12, (uint32_t)st.st_mtime);
	}
	write_exact(r, sizeof r);
}

/* id, errno, dev u64, ino u64, mode, nlink, uid, gid, size u64, atime, mtime, ctime (i64): 72 bytes */
static void do_stat_v2(uint32_t id, const char *path)
{
	struct stat st;
	uint8_t r[72] = {0};
	put_le32(r, id);
	int rc = id == ID_STA2 ? stat(path, &st) : lstat(path, &st);
	if (rc != 0) {
		put_le32(r + 4, (uint32_t)errno);
	} else {
		put_le64(r + 8, (uint64_t)st.st_dev);
		put_le64(r + 16, (uint64_t)st.st_ino);
		put_le32(r + 24, (uint32_t)st.st_mode);
		put_le32(r + 28, (uint32_t)st.st_nlink);
		put_le32(r + 32, (uint32_t)st.st_uid);
		put_le32(r + 36, (uint32_t)st.st_gid);
		put_le64(r + 40, (uint64_t)st.st_size);
		put_le64(r + 48, (uint64_t)(int64_t)st.st_atime);
		put_le64(r + 56, (uint64_t)(int64_t)st.st_mtime);
		put_le64(r + 64, (uint64_t)(int64_t)st.st_ctime);
	}
	write_exact(r, sizeof r);
}

static void do_list(const char *path)
{
	DIR *dir = opendir(path);
	if (dir) {
		struct dirent *de;
		while ((de = readdir(dir))) {
			char full[SYNC_MAX_PATH + 258];
			struct stat st;
			size_t namelen = strlen(de->d_name);
			snprintf(full, sizeof full, "%s/%s", path, de->d_name);
			if (lstat(full, &st) != 0)
				continue;
			uint8_t r[20];
			put_le32(r, ID_DENT);
			put_le32(r + 4, (uint32_t)st.st_mode);
			put_le32(r + 8, (uint32_t)st.st_size);
			put_le32(r + 12, (uint32_t)st.st_mtime);
			put_le32(r + 16, (uint32_t)namelen);
			write_exact(r, sizeof r);
			write_exact(de->d_name, namelen);
		}
		closedir(dir);
	}
	/* a missing directory lists as empty, as on Android */
	uint8_t done[20] = {0};
	put_le32(done, ID_DONE);
	write_exact(done, sizeof done);
}

static void mkdirs_for(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
}

/*
 * Read the DATA chunks that follow SEND up to DONE, handing each to `sink`
 * (fd >= 0: write; fd < 0: discard; link != NULL: collect a symlink target).
 * Returns the DONE mtime; *werr receives the first write error.
 */
static uint32_t receive_data(int fd, char *link, size_t *link_len, int *werr)
{
	for (;;) {
		uint8_t h[8];
		read_exact(h, 8);
		uint32_t id = get_le32(h), len = get_le32(h + 4);
		if (id == ID_DONE)
			return len;
		if (id != ID_DATA || len > SYNC_DATA_MAX) {
			send_fail("%s", id != ID_DATA ? "expected DATA or DONE" : "DATA chunk larger than 64 KiB");
			_exit(0);
		}
		read_exact(buf, len);
		if (link) {
			if (*link_len + len >= PATH_MAX) {
				if (!*werr)
					*werr = ENAMETOOLONG;
			} else {
				memcpy(link + *link_len, buf, len);
				*link_len += len;
			}
		} else if (fd >= 0 && !*werr) {
			size_t done = 0;
			while (done < len) {
				ssize_t n = write(fd, buf + done, len - done);
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0) {
					*werr = errno;
					break;
				}
				done += (size_t)n;
			}
		}
	}
}

static void do_send(char *spec)
{
	/* "path,mode": the path itself may hold commas, so split at the last one */
	char *comma = strrchr(spec, ',');
	mode_t mode = 0644;
	if (comma) {
		*comma = '\0';
		mode = (mode_t)strtoul(comma + 1, NULL, 10);
	}
	const char *path = spec;
	int werr = 0;

	if (S_ISLNK(mode)) {
		static char target[PATH_MAX];
		size_t target_len = 0;
		receive_data(-1, target, &target_len, &werr);
		target[target_len] = '\0';
		if (!werr) {
			mkdirs_for(spec);
			unlink(path);
			if (symlink(target, path) != 0)
				werr = errno;
		}
		if (werr)
			send_fail("symlink %s: %s", path, strerror(werr));
		else
			send_id_value(ID_OKAY, 0);
		return;
	}

	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 07777);
	if (fd < 0 && errno == ENOENT) {
		mkdirs_for(spec);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 07777);
	}
	int open_err = fd < 0 ? errno : 0;
	if (fd >= 0)
		fchmod(fd, mode & 07777); /* the umask must not change what the host asked for */
	uint32_t mtime = receive_data(fd, NULL, NULL, &werr);
	if (fd >= 0) {
		if (!werr) {
			struct timespec times[2] = {{.tv_sec = mtime}, {.tv_sec = mtime}};
			futimens(fd, times);
		}
		if (close(fd) != 0 && !werr)
			werr = errno;
	}
	if (open_err)
		send_fail("cannot open %s: %s", path, strerror(open_err));
	else if (werr)
		send_fail("write %s: %s", path, strerror(werr));
	else
		send_id_value(ID_OKAY, 0);
}

static void do_recv(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		send_fail("open failed: %s", strerror(errno));
		return;
	}
	for (;;) {
		ssize_t n = read(fd, buf + 8, SYNC_DATA_MAX);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			send_fail("read failed: %s", strerror(err));
			return;
		}
		if (n == 0)
			break;
		put_le32(buf, ID_DATA);
		put_le32(buf + 4, (uint32_t)n);
		write_exact(buf, 8 + (size_t)n);
	}
	close(fd);
	send_id_value(ID_DONE, 0);
}

void sync_serve(int fd)
{
	sock = fd;
	for (;;) {
		uint8_t h[8];
		static char path[SYNC_MAX_PATH + 1];
		read_exact(h, 8);
		uint32_t id = get_le32(h), len = get_le32(h + 4);
		if (id == ID_QUIT)
			_exit(0); /* closing the socket closes the stream, which adb waits for */
		if (len > SYNC_MAX_PATH) {
			send_fail("path too long (%d bytes at most)", SYNC_MAX_PATH);
			_exit(0);
		}
		read_exact(path, len);
		path[len] = '\0';
		switch (id) {
		case ID_STAT:
			do_stat_v1(path);
			break;
		case ID_STA2:
		case ID_LST2:
			do_stat_v2(id, path);
			break;
		case ID_LIST:
			do_list(path);
			break;
		case ID_SEND:
			do_send(path);
			break;
		case ID_RECV:
			do_recv(path);
			break;
		default: {
			char name[5];
			memcpy(name, h, 4);
			name[4] = '\0';
			for (int i = 0; i < 4; i++)
				if (name[i] < 32 || name[i] > 126)
					name[i] = '?';
			send_fail("unknown sync request \"%s\"", name);
			_exit(0);
		}
		}
	}
}
