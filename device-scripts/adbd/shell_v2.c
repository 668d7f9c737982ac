/*
 * The shell protocol (shell,v2,...:CMD), run in its own child process.
 *
 * Both directions carry packets [id u8][length u32 LE][data]; a packet may
 * straddle WRTEs, so the socket is parsed as a byte stream. Ids: 0 stdin,
 * 1 stdout, 2 stderr, 3 exit (one byte), 4 close stdin, 5 window size
 * ("ROWSxCOLS,XPIXxYPIX"). The exit packet is sent once the command's output
 * has ended and the command has been reaped; then the stream closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "adbd.h"

enum { ID_STDIN = 0, ID_STDOUT = 1, ID_STDERR = 2, ID_EXIT = 3, ID_CLOSE_STDIN = 4, ID_WINDOW_SIZE = 5 };

#define PACKET_HEADER 5
#define READ_CHUNK (64 * 1024)
#define IN_CAP (256 * 1024)

struct v2 {
	int sock;
	int stdin_fd;   /* -1 once closed */
	int stdout_fd;  /* -1 at EOF */
	int stderr_fd;  /* -1 at EOF, or always for a pty (merged into stdout) */
	int pty_master; /* -1 for pipes */
	pid_t child;
	/* socket -> command */
	uint8_t in[IN_CAP];
	size_t in_off, in_len;
	int in_blocked;    /* stdin write would block: stop reading the socket */
	int in_id;         /* id of the packet whose payload is being consumed, -1 between packets */
	uint32_t in_left;  /* payload bytes still to consume */
	char winsize[64];
	size_t winsize_len;
	/* command -> socket */
	uint8_t out[PACKET_HEADER + READ_CHUNK];
	size_t out_off, out_len;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The host went away (stream closed): hang the command up, then kill it. */
static void __attribute__((noreturn)) abandon(struct v2 *v)
{
	kill(-v->child, SIGHUP);
	close_fd(&v->pty_master);
	for (int i = 0; i < 20; i++) {
		if (waitpid(v->child, NULL, WNOHANG) == v->child)
			_exit(0);
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	kill(-v->child, SIGKILL);
	waitpid(v->child, NULL, 0);
	_exit(0);
}

static void apply_window_size(struct v2 *v)
{
	unsigned rows, cols, xpix = 0, ypix = 0;
	v->winsize[v->winsize_len] = '\0';
	if (v->pty_master < 0 || sscanf(v->winsize, "%ux%u,%ux%u", &rows, &cols, &xpix, &ypix) < 2)
		return;
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols,
			     .ws_xpixel = (unsigned short)xpix, .ws_ypixel = (unsigned short)ypix};
	ioctl(v->pty_master, TIOCSWINSZ, &ws);
}

static void close_stdin(struct v2 *v)
{
	/* a pty's input is the master itself, which also carries the output */
	if (v->pty_master < 0)
		close_fd(&v->stdin_fd);
}

/* Consume buffered socket bytes; stops early when the command's stdin is full. */
static void parse_input(struct v2 *v)
{
	while (v->in_off < v->in_len) {
		size_t avail = v->in_len - v->in_off;
		if (v->in_id < 0) {
			if (avail < PACKET_HEADER)
				break;
			v->in_id = v->in[v->in_off];
			v->in_left = get_le32(v->in + v->in_off + 1);
			v->in_off += PACKET_HEADER;
			v->winsize_len = 0;
			if (v->in_id == ID_CLOSE_STDIN)
				close_stdin(v);
		} else {
			size_t take = avail < v->in_left ? avail : v->in_left;
			if (v->in_id == ID_STDIN && v->stdin_fd >= 0 && take > 0) {
				ssize_t n = write(v->stdin_fd, v->in + v->in_off, take);
				if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
					v->in_blocked = 1;
					break;
				}
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0) /* the command no longer reads stdin: drop what it would have got */
					close_stdin(v);
				else
					take = (size_t)n;
			} else if (v->in_id == ID_WINDOW_SIZE) {
				size_t room = sizeof v->winsize - 1 - v->winsize_len;
				size_t copy = take < room ? take : room;
				memcpy(v->winsize + v->winsize_len, v->in + v->in_off, copy);
				v->winsize_len += copy;
			}
			v->in_off += take;
			v->in_left -= (uint32_t)take;
		}
		if (v->in_id >= 0 && v->in_left == 0) {
			if (v->in_id == ID_WINDOW_SIZE)
				apply_window_size(v);
			v->in_id = -1;
		}
	}
	if (v->in_off == v->in_len)
		v->in_off = v->in_len = 0;
	else if (v->in_off > 0 && !v->in_blocked) {
		memmove(v->in, v->in + v->in_off, v->in_len - v->in_off);
		v->in_len -= v->in_off;
		v->in_off = 0;
	}
}

static void read_output(struct v2 *v, int *fd, uint8_t id)
{
	ssize_t n = read(*fd, v->out + PACKET_HEADER, READ_CHUNK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) { /* EOF, or EIO from a pty master once the slave is gone */
		if (*fd == v->pty_master) {
			v->stdin_fd = -1; /* same fd */
			v->pty_master = -1;
		}
		close_fd(fd);
		return;
	}
	v->out[0] = id;
	put_le32(v->out + 1, (uint32_t)n);
	v->out_off = 0;
	v->out_len = PACKET_HEADER + (size_t)n;
}

/* Blocking: returns once the socket has taken everything queued, or abandons. */
static void flush_out(struct v2 *v, int wait)
{
	while (v->out_off < v->out_len) {
		ssize_t n = write(v->sock, v->out + v->out_off, v->out_len - v->out_off);
		if (n > 0) {
			v->out_off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!wait)
				return;
			struct pollfd p = {.fd = v->sock, .events = POLLOUT};
			poll(&p, 1, -1);
		} else {
			abandon(v);
		}
	}
	v->out_off = v->out_len = 0;
}

static void start_command(struct v2 *v, const char *cmd, int use_pty, const char *term)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, opened[2] = {-1, -1};
	char slave[128];
	if (use_pty) {
		v->pty_master = open_pty_master(slave, sizeof slave);
		if (v->pty_master < 0 || pipe2(opened, O_CLOEXEC) != 0)
			goto fail;
	} else if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
		goto fail;
	}
	v->child = fork();
	if (v->child < 0)
		goto fail;
	if (v->child == 0) {
		child_reset();
		if (use_pty) {
			attach_pty_slave(slave); /* its own session: the pty is its terminal */
		} else {
			dup2(in[0], 0);
			dup2(out[1], 1);
			dup2(err[1], 2);
		}
		close_fds_from(3);
		exec_shell(cmd, term);
	}
	if (use_pty) {
		wait_for_slave(opened);
		v->stdin_fd = v->stdout_fd = v->pty_master;
		v->stderr_fd = -1;
	} else {
		close(in[0]);
		close(out[1]);
		close(err[1]);
		v->stdin_fd = in[1];
		v->stdout_fd = out[0];
		v->stderr_fd = err[0];
	}
	set_nonblock(v->stdin_fd);
	set_nonblock(v->stdout_fd);
	if (v->stderr_fd >= 0)
		set_nonblock(v->stderr_fd);
	return;
fail:;
	/* report like a shell that could not start: a message and exit status 126 */
	char msg[160];
	int len = snprintf(msg, sizeof msg, "adbd: cannot start the command: %s\n", strerror(errno));
	v->out[0] = ID_STDERR;
	put_le32(v->out + 1, (uint32_t)len);
	memcpy(v->out + PACKET_HEADER, msg, (size_t)len);
	v->out_len = PACKET_HEADER + (size_t)len;
	v->out_off = 0;
	flush_out(v, 1);
	uint8_t exit_packet[PACKET_HEADER + 1] = {ID_EXIT, 1, 0, 0, 0, 126};
	memcpy(v->out, exit_packet, sizeof exit_packet);
	v->out_len = sizeof exit_packet;
	flush_out(v, 1);
	_exit(0);
}

void shell_v2_serve(int sock, const char *cmd, int use_pty, const char *term)
{
	static struct v2 v;
	memset(&v, 0, sizeof v);
	v.sock = sock;
	v.stdin_fd = v.stdout_fd = v.stderr_fd = v.pty_master = -1;
	v.in_id = -1;
	/* adbd hangs our process group up when the host closes; we clean up ourselves */
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	start_command(&v, cmd, use_pty, term);
	set_nonblock(sock);

	for (;;) {
		if (v.stdout_fd < 0 && v.stderr_fd < 0 && v.out_len == 0) {
			int status = 0;
			while (waitpid(v.child, &status, 0) < 0 && errno == EINTR) {
			}
			int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
			uint8_t exit_packet[PACKET_HEADER + 1] = {ID_EXIT, 1, 0, 0, 0, (uint8_t)code};
			memcpy(v.out, exit_packet, sizeof exit_packet);
			v.out_off = 0;
			v.out_len = sizeof exit_packet;
			flush_out(&v, 1);
			_exit(0);
		}

		struct pollfd p[4];
		int np = 0, i_sock = -1, i_out = -1, i_err = -1, i_in = -1;
		short sev = 0;
		if (!v.in_blocked && v.in_len < IN_CAP)
			sev |= POLLIN;
		if (v.out_len > v.out_off)
			sev |= POLLOUT;
		if (sev) {
			i_sock = np;
			p[np++] = (struct pollfd){.fd = v.sock, .events = sev};
		}
		if (v.out_len == 0 && v.stdout_fd >= 0) {
			i_out = np;
			p[np++] = (struct pollfd){.fd = v.stdout_fd, .events = POLLIN};
		}
		if (v.out_len == 0 && v.stderr_fd >= 0) {
			i_err = np;
			p[np++] = (struct pollfd){.fd = v.stderr_fd, .events = POLLIN};
		}
		if (v.in_blocked && v.stdin_fd >= 0) {
			i_in = np;
			p[np++] = (struct pollfd){.fd = v.stdin_fd, .events = POLLOUT};
		}
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			abandon(&v);
		}

		if (i_in >= 0 && p[i_in].revents) {
			v.in_blocked = 0;
			parse_input(&v);
		}
		if (i_sock >= 0 && p[i_sock].revents & POLLOUT)
			flush_out(&v, 0);
		if (i_sock >= 0 && p[i_sock].revents & (POLLIN | POLLHUP | POLLERR) && (p[i_sock].events & POLLIN)) {
			ssize_t n = read(v.sock, v.in + v.in_len, IN_CAP - v.in_len);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				abandon(&v);
			if (n > 0) {
				v.in_len += (size_t)n;
				parse_input(&v);
			}
		}
		/* the stdin fd may have closed while parsing: a blocked write has nowhere to go */
		if (v.in_blocked && v.stdin_fd < 0) {
			v.in_blocked = 0;
			parse_input(&v);
		}
		if (i_out >= 0 && p[i_out].revents && v.out_len == 0)
			read_output(&v, &v.stdout_fd, ID_STDOUT);
		if (i_err >= 0 && p[i_err].revents && v.out_len == 0 && v.stderr_fd >= 0)
			read_output(&v, &v.stderr_fd, ID_STDERR);
		if (v.out_len > 0)
			flush_out(&v, 0);
	}
}
