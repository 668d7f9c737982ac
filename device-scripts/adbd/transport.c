/*
 * The adb transport: host connections, their streams, and the poll() loop.
 *
 * Flow control follows adb's rule of one WRTE in flight per stream, in both
 * directions:
 *  - device to host: a stream's local fd is read only when the host has
 *    OKAYed our previous WRTE (and the connection's send queue is short);
 *  - host to device: a host WRTE is OKAYed only once all of its bytes have
 *    been written to the local fd, so a slow local reader holds the host back
 *    instead of adbd buffering without bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adbd.h"

#define HEADER_SIZE 24
#define MAX_CONNS 16
#define MAX_STREAMS_PER_CONN 256
/* Stop reading local fds while this much is still queued for the host. */
#define SEND_QUEUE_LIMIT(c) (2u * (c)->maxdata + 4096u)
/* Grace between SIGHUP and SIGKILL for a command whose stream the host closed. */
#define KILL_GRACE_MS 2000

struct stream {
	struct stream *next;
	uint32_t id;        /* ours */
	uint32_t remote;    /* the host's */
	int fd;             /* local side: socket to the service child, or pty master */
	pid_t pid;          /* service child; leads process group `pid` */
	int exited;         /* the child has been reaped */
	int is_pty;
	int in_flight;      /* our WRTE awaits the host's OKAY */
	int write_closed;   /* local side takes no more input: host data is dropped */
	uint8_t *pend;      /* host bytes not yet written to fd; OKAY owed when drained */
	size_t pend_len, pend_off;
};

struct conn {
	struct conn *next;
	int fd;
	int online;         /* CNXN exchanged */
	int dead;
	uint32_t maxdata;   /* negotiated payload limit */
	uint8_t *in;        /* received bytes not yet parsed */
	size_t in_len;
	uint8_t *out;       /* queued for the host */
	size_t out_off, out_len, out_cap;
	struct stream *streams;
	size_t nstreams;
	char *reboot_target; /* run the hook once `out` has drained */
	char peer[64];
};

/* A process group hung up on behalf of the host; SIGKILLed if its leader outlives the grace. */
struct victim {
	struct victim *next;
	pid_t pid;
	struct timespec deadline;
};

static struct conn *conns;
static struct victim *victims;
static const char *banner;
static uint32_t next_stream_id = 1;
static int signal_pipe[2] = {-1, -1};
static volatile sig_atomic_t got_child, got_term;

static void on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGCHLD)
		got_child = 1;
	else
		got_term = 1;
	char byte = 0;
	if (write(signal_pipe[1], &byte, 1) < 0) {
		/* the pipe is full: a wake-up is already pending */
	}
	errno = saved;
}

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static long ms_until(const struct timespec *t)
{
	struct timespec n;
	now(&n);
	return (t->tv_sec - n.tv_sec) * 1000 + (t->tv_nsec - n.tv_nsec) / 1000000;
}

/* ---- sending ---- */

static uint8_t *out_reserve(struct conn *c, size_t n)
{
	if (c->out_off > 0 && (c->out_off == c->out_len || c->out_cap - c->out_len < n)) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_cap - c->out_len < n) {
		size_t cap = c->out_cap ? c->out_cap : 65536;
		while (cap - c->out_len < n)
			cap *= 2;
		uint8_t *grown = realloc(c->out, cap);
		if (!grown)
			return NULL;
		c->out = grown;
		c->out_cap = cap;
	}
	return c->out + c->out_len;
}

static void fill_header(uint8_t *h, uint32_t cmd, uint32_t arg0, uint32_t arg1, const uint8_t *data, uint32_t len)
{
	uint32_t sum = 0;
	/* adb >= 0x01000001 ignores data_check; only CNXN is sent before that is agreed */
	if (cmd == A_CNXN)
		for (uint32_t i = 0; i < len; i++)
			sum += data[i];
	put_le32(h, cmd);
	put_le32(h + 4, arg0);
	put_le32(h + 8, arg1);
	put_le32(h + 12, len);
	put_le32(h + 16, sum);
	put_le32(h + 20, cmd ^ 0xffffffffu);
}

static void send_msg(struct conn *c, uint32_t cmd, uint32_t arg0, uint32_t arg1, const void *data, uint32_t len)
{
	if (c->dead)
		return;
	uint8_t *p = out_reserve(c, HEADER_SIZE + (size_t)len);
	if (!p) {
		adbd_log("%s: out of memory; dropping the connection", c->peer);
		c->dead = 1;
		return;
	}
	if (len)
		memcpy(p + HEADER_SIZE, data, len);
	fill_header(p, cmd, arg0, arg1, p + HEADER_SIZE, len);
	c->out_len += HEADER_SIZE + (size_t)len;
}

static void conn_flush(struct conn *c)
{
	while (!c->dead && c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n > 0) {
			c->out_off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		} else {
			adbd_log("%s: write: %s", c->peer, n < 0 ? strerror(errno) : "closed");
			c->dead = 1;
		}
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
}

/* ---- streams ---- */

static struct stream *find_stream(struct conn *c, uint32_t id)
{
	for (struct stream *s = c->streams; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static uint32_t new_stream_id(void)
{
	uint32_t id = next_stream_id++;
	if (next_stream_id == 0)
		next_stream_id = 1;
	return id;
}

static void hang_up(pid_t pid, int exited)
{
	/* the whole group: `sh -c` may have started a pipeline or a background job */
	kill(-pid, SIGHUP);
	if (exited)
		return;
	kill(pid, SIGHUP); /* in case the child had not yet made its own group */
	struct victim *v = calloc(1, sizeof *v);
	if (!v)
		return;
	v->pid = pid;
	now(&v->deadline);
	v->deadline.tv_sec += KILL_GRACE_MS / 1000;
	v->deadline.tv_nsec += (KILL_GRACE_MS % 1000) * 1000000L;
	if (v->deadline.tv_nsec >= 1000000000L) {
		v->deadline.tv_sec++;
		v->deadline.tv_nsec -= 1000000000L;
	}
	v->next = victims;
	victims = v;
}

/*
 * Forget a stream. `hangup` is set when the host (or the loss of the host)
 * ended it: the command is then hung up instead of being left to finish.
 */
static void stream_free(struct conn *c, struct stream *s, int hangup)
{
	for (struct stream **pp = &c->streams; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	c->nstreams--;
	if (s->fd >= 0)
		close(s->fd);
	if (hangup && s->pid > 0)
		hang_up(s->pid, s->exited);
	free(s->pend);
	if (adbd_cfg.debug)
		adbd_log("%s: stream %u closed by %s", c->peer, s->id, hangup ? "host" : "device");
	free(s);
}

/* The local side ended: tell the host. Nothing is in flight (we only read when idle). */
static void stream_local_end(struct conn *c, struct stream *s)
{
	send_msg(c, A_CLSE, s->id, s->remote, NULL, 0);
	stream_free(c, s, 0);
}

/* Hand pending host bytes to the local side; OKAY the host once they are all taken. */
static void stream_drain(struct conn *c, struct stream *s)
{
	while (s->pend_off < s->pend_len) {
		ssize_t n = write(s->fd, s->pend + s->pend_off, s->pend_len - s->pend_off);
		if (n > 0) {
			s->pend_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* EPIPE or EIO: the command stopped reading; its output may still come */
		s->write_closed = 1;
		break;
	}
	free(s->pend);
	s->pend = NULL;
	s->pend_len = s->pend_off = 0;
	send_msg(c, A_OKAY, s->id, s->remote, NULL, 0);
}

static void stream_host_data(struct conn *c, struct stream *s, const uint8_t *data, uint32_t len)
{
	if (s->write_closed) {
		send_msg(c, A_OKAY, s->id, s->remote, NULL, 0);
		return;
	}
	size_t keep = s->pend_len - s->pend_off;
	if (keep + len > 2u * ADBD_MAX_PAYLOAD) {
		adbd_log("%s: stream %u: host ignores flow control; dropping the connection", c->peer, s->id);
		c->dead = 1;
		return;
	}
	uint8_t *buf = malloc(keep + len + 1);
	if (!buf) {
		c->dead = 1;
		return;
	}
	if (keep)
		memcpy(buf, s->pend + s->pend_off, keep);
	memcpy(buf + keep, data, len);
	free(s->pend);
	s->pend = buf;
	s->pend_off = 0;
	s->pend_len = keep + len;
	stream_drain(c, s);
}

/* Read what the local side has and send it as one WRTE. */
static void stream_read_local(struct conn *c, struct stream *s)
{
	uint8_t *p = out_reserve(c, HEADER_SIZE + (size_t)c->maxdata);
	if (!p) {
		c->dead = 1;
		return;
	}
	ssize_t n;
	do
		n = read(s->fd, p + HEADER_SIZE, c->maxdata);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		/* EOF; a pty master reports EIO once every slave fd is closed */
		stream_local_end(c, s);
		return;
	}
	fill_header(p, A_WRTE, s->id, s->remote, p + HEADER_SIZE, (uint32_t)n);
	c->out_len += HEADER_SIZE + (size_t)n;
	s->in_flight = 1;
}

/* ---- host messages ---- */

static void close_all_streams(struct conn *c)
{
	while (c->streams)
		stream_free(c, c->streams, 1);
}

static void handle_open(struct conn *c, uint32_t remote, const uint8_t *data, uint32_t len)
{
	if (remote == 0)
		return;
	while (len > 0 && data[len - 1] == '\0')
		len--;
	/* a long `adb shell` command line arrives whole in the service name */
	char *name = NULL;
	if (!memchr(data, '\0', len) && c->nstreams < MAX_STREAMS_PER_CONN)
		name = malloc((size_t)len + 1);
	if (!name) {
		send_msg(c, A_CLSE, 0, remote, NULL, 0);
		return;
	}
	memcpy(name, data, len);
	name[len] = '\0';

	struct service svc;
	service_open(name, &svc);
	if (adbd_cfg.debug)
		adbd_log("%s: open \"%.200s\" -> %s", c->peer, name,
			 svc.kind == SERVICE_REFUSED ? "refused" : "ok");
	free(name);
	switch (svc.kind) {
	case SERVICE_REFUSED:
		send_msg(c, A_CLSE, 0, remote, NULL, 0);
		return;
	case SERVICE_REBOOT: {
		/* answer and close first; the hook runs once both have reached the host */
		uint32_t id = new_stream_id();
		send_msg(c, A_OKAY, id, remote, NULL, 0);
		send_msg(c, A_CLSE, id, remote, NULL, 0);
		free(c->reboot_target);
		c->reboot_target = svc.target;
		return;
	}
	case SERVICE_STREAM:
		break;
	}
	struct stream *s = calloc(1, sizeof *s);
	if (!s) {
		close(svc.fd);
		hang_up(svc.pid, 0);
		send_msg(c, A_CLSE, 0, remote, NULL, 0);
		return;
	}
	s->id = new_stream_id();
	s->remote = remote;
	s->fd = svc.fd;
	s->pid = svc.pid;
	s->is_pty = svc.is_pty;
	s->next = c->streams;
	c->streams = s;
	c->nstreams++;
	send_msg(c, A_OKAY, s->id, remote, NULL, 0);
}

static void handle_cnxn(struct conn *c, uint32_t version, uint32_t maxdata, const uint8_t *data, uint32_t len)
{
	(void)version; /* the host takes min(its, ours); we never checksum either way */
	if (c->online) /* a new CNXN on a live link restarts the session */
		close_all_streams(c);
	c->maxdata = maxdata < ADBD_MAX_PAYLOAD ? maxdata : ADBD_MAX_PAYLOAD;
	if (c->maxdata < 4096)
		c->maxdata = 4096;
	c->online = 1;
	adbd_log("%s: host connected (%.*s)", c->peer, (int)(len > 60 ? 60 : len), (const char *)data);
	send_msg(c, A_CNXN, A_VERSION, ADBD_MAX_PAYLOAD, banner, (uint32_t)strlen(banner));
}

static void handle_message(struct conn *c, const uint8_t *h, const uint8_t *data)
{
	uint32_t cmd = get_le32(h), arg0 = get_le32(h + 4), arg1 = get_le32(h + 8), len = get_le32(h + 12);
	if (cmd == A_CNXN) {
		handle_cnxn(c, arg0, arg1, data, len);
		return;
	}
	if (!c->online)
		return; /* nothing but CNXN counts before CNXN; AUTH is never used */
	struct stream *s;
	switch (cmd) {
	case A_OPEN:
		handle_open(c, arg0, data, len);
		break;
	case A_OKAY: /* OKAY(host id, our id) */
		if ((s = find_stream(c, arg1)) != NULL)
			s->in_flight = 0;
		break;
	case A_WRTE: /* WRTE(host id, our id); unknown ids were closed already */
		if ((s = find_stream(c, arg1)) != NULL)
			stream_host_data(c, s, data, len);
		break;
	case A_CLSE: /* CLSE(host id, our id): no answer, adb does not expect one */
		if ((s = find_stream(c, arg1)) != NULL && (arg0 == 0 || arg0 == s->remote))
			stream_free(c, s, 1);
		break;
	default:
		break;
	}
}

static void conn_read(struct conn *c)
{
	size_t cap = HEADER_SIZE + ADBD_MAX_PAYLOAD;
	ssize_t n;
	do
		n = read(c->fd, c->in + c->in_len, cap - c->in_len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		/* QEMU's user network opens and drops links while the host probes: only sessions count */
		if (c->online || adbd_cfg.debug)
			adbd_log("%s: host disconnected%s%s", c->peer, n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		c->dead = 1;
		return;
	}
	c->in_len += (size_t)n;

	size_t off = 0;
	while (!c->dead && c->in_len - off >= HEADER_SIZE) {
		const uint8_t *h = c->in + off;
		uint32_t cmd = get_le32(h), len = get_le32(h + 12), magic = get_le32(h + 20);
		if (magic != (cmd ^ 0xffffffffu) || len > ADBD_MAX_PAYLOAD) {
			adbd_log("%s: malformed message (command %08x, length %u); dropping the connection",
				 c->peer, cmd, len);
			c->dead = 1;
			return;
		}
		if (c->in_len - off < HEADER_SIZE + (size_t)len)
			break;
		handle_message(c, h, h + HEADER_SIZE);
		off += HEADER_SIZE + (size_t)len;
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
}

/* ---- connections ---- */

static void conn_accept(int listen_fd)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		size_t count = 0;
		for (struct conn *c = conns; c; c = c->next)
			count++;
		struct conn *c = count < MAX_CONNS ? calloc(1, sizeof *c) : NULL;
		if (c)
			c->in = malloc(HEADER_SIZE + ADBD_MAX_PAYLOAD);
		if (!c || !c->in) {
			adbd_log("refusing a connection: too many hosts or out of memory");
			if (c)
				free(c);
			close(fd);
			continue;
		}
		int one = 1;
		/* OKAYs are tiny and latency-bound: do not let Nagle hold them back */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		c->fd = fd;
		c->maxdata = 4096;
		if (ss.ss_family == AF_INET) {
			const uint8_t *a = (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr;
			snprintf(c->peer, sizeof c->peer, "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3],
				 ntohs(((struct sockaddr_in *)&ss)->sin_port));
		} else {
			snprintf(c->peer, sizeof c->peer, "host fd %d", fd);
		}
		c->next = conns;
		conns = c;
	}
}

static void conn_free(struct conn *c)
{
	close_all_streams(c);
	if (c->reboot_target) {
		run_reboot_hook(c->reboot_target);
		free(c->reboot_target);
	}
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* ---- children ---- */

static void reap_children(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (struct victim **pp = &victims; *pp;) {
			if ((*pp)->pid == pid) {
				struct victim *v = *pp;
				*pp = v->next;
				free(v);
			} else {
				pp = &(*pp)->next;
			}
		}
		for (struct conn *c = conns; c; c = c->next)
			for (struct stream *s = c->streams; s; s = s->next)
				if (s->pid == pid)
					s->exited = 1;
	}
}

/* SIGKILL the groups whose leader outlived its grace; return ms to the next deadline or -1. */
static int kill_overdue(void)
{
	long next = -1;
	for (struct victim **pp = &victims; *pp;) {
		struct victim *v = *pp;
		long ms = ms_until(&v->deadline);
		if (ms <= 0) {
			kill(-v->pid, SIGKILL);
			kill(v->pid, SIGKILL);
			*pp = v->next;
			free(v);
			continue;
		}
		if (next < 0 || ms < next)
			next = ms;
		pp = &v->next;
	}
	return (int)next;
}

/* ---- the loop ---- */

enum slot_kind { SLOT_SIGNAL, SLOT_LISTEN, SLOT_CONN, SLOT_STREAM };

struct slot {
	enum slot_kind kind;
	struct conn *conn;
	struct stream *stream;
};

static int install_signals(void)
{
	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	return 0;
}

int transport_run(int listen_fd, const char *the_banner)
{
	banner = the_banner;
	if (install_signals() != 0) {
		adbd_log("pipe: %s", strerror(errno));
		return 1;
	}
	struct pollfd *pfds = NULL;
	struct slot *slots = NULL;
	size_t cap = 0;

	while (!got_term) {
		if (got_child) {
			got_child = 0;
			reap_children();
		}
		for (struct conn **pp = &conns; *pp;) {
			struct conn *c = *pp;
			conn_flush(c);
			if (!c->dead && c->reboot_target && c->out_len == 0) {
				run_reboot_hook(c->reboot_target);
				free(c->reboot_target);
				c->reboot_target = NULL;
			}
			if (c->dead) {
				*pp = c->next;
				conn_free(c);
				continue;
			}
			pp = &c->next;
		}
		int timeout = kill_overdue();

		size_t want = 2;
		for (struct conn *c = conns; c; c = c->next)
			want += 1 + c->nstreams;
		if (want > cap) {
			cap = want * 2;
			pfds = realloc(pfds, cap * sizeof *pfds);
			slots = realloc(slots, cap * sizeof *slots);
			if (!pfds || !slots) {
				adbd_log("out of memory");
				return 1;
			}
		}
		size_t n = 0;
		pfds[n] = (struct pollfd){.fd = signal_pipe[0], .events = POLLIN};
		slots[n++] = (struct slot){.kind = SLOT_SIGNAL};
		pfds[n] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
		slots[n++] = (struct slot){.kind = SLOT_LISTEN};
		for (struct conn *c = conns; c; c = c->next) {
			short ev = POLLIN;
			if (c->out_len > c->out_off)
				ev |= POLLOUT;
			pfds[n] = (struct pollfd){.fd = c->fd, .events = ev};
			slots[n++] = (struct slot){.kind = SLOT_CONN, .conn = c};
			int room = c->online && c->out_len - c->out_off < SEND_QUEUE_LIMIT(c);
			for (struct stream *s = c->streams; s; s = s->next) {
				short sev = 0;
				if (room && !s->in_flight)
					sev |= POLLIN;
				if (s->pend_len > s->pend_off)
					sev |= POLLOUT;
				/* an fd polled for nothing would still report HUP and spin the loop */
				if (!sev)
					continue;
				pfds[n] = (struct pollfd){.fd = s->fd, .events = sev};
				slots[n++] = (struct slot){.kind = SLOT_STREAM, .conn = c, .stream = s};
			}
		}

		int ready = poll(pfds, n, timeout);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			adbd_log("poll: %s", strerror(errno));
			return 1;
		}
		int accept_ready = 0;
		/* Streams first: conn input below may free streams that later slots point at. */
		for (size_t i = 0; i < n; i++) {
			short re = pfds[i].revents;
			if (!re)
				continue;
			if (slots[i].kind == SLOT_SIGNAL) {
				char drain[64];
				while (read(signal_pipe[0], drain, sizeof drain) > 0) {
				}
			} else if (slots[i].kind == SLOT_LISTEN) {
				accept_ready = 1;
			} else if (slots[i].kind == SLOT_STREAM) {
				struct conn *c = slots[i].conn;
				struct stream *s = slots[i].stream;
				if (c->dead)
					continue;
				if (re & (POLLOUT | POLLERR | POLLHUP) && s->pend_len > s->pend_off)
					stream_drain(c, s);
				if (re & (POLLIN | POLLERR | POLLHUP) && (pfds[i].events & POLLIN))
					stream_read_local(c, s);
			}
		}
		for (size_t i = 0; i < n; i++) {
			if (slots[i].kind != SLOT_CONN || !pfds[i].revents)
				continue;
			struct conn *c = slots[i].conn;
			if (pfds[i].revents & POLLOUT)
				conn_flush(c);
			if (!c->dead && pfds[i].revents & (POLLIN | POLLERR | POLLHUP))
				conn_read(c);
		}
		if (accept_ready)
			conn_accept(listen_fd);
	}

	adbd_log("terminating");
	while (conns) {
		struct conn *c = conns;
		conns = c->next;
		conn_flush(c);
		conn_free(c);
	}
	free(pfds);
	free(slots);
	return 0;
}
