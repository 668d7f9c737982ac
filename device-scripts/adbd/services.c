/*
 * Starting the service a host OPEN names. Every service runs in a forked
 * child that leads its own process group, so that closing the stream can
 * hang up the whole command; adbd keeps only the local fd and the pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adbd.h"

enum shell_mode { MODE_DEFAULT, MODE_RAW, MODE_PTY };

struct shell_request {
	int v2;
	enum shell_mode mode;
	char term[64];
	const char *cmd;
};

/*
 * "shell[,arg,...]:CMD". Args: v2 (shell protocol), raw or pty, TERM=name;
 * others are ignored as Android's adbd does.
 */
static int parse_shell(const char *name, struct shell_request *req)
{
	memset(req, 0, sizeof *req);
	const char *colon = strchr(name, ':');
	if (!colon)
		return -1;
	req->cmd = colon + 1;
	const char *p = name + strlen("shell");
	while (p < colon) {
		if (*p == ',')
			p++;
		const char *end = p;
		while (end < colon && *end != ',')
			end++;
		size_t len = (size_t)(end - p);
		if (len == 2 && memcmp(p, "v2", 2) == 0)
			req->v2 = 1;
		else if (len == 3 && memcmp(p, "raw", 3) == 0)
			req->mode = MODE_RAW;
		else if (len == 3 && memcmp(p, "pty", 3) == 0)
			req->mode = MODE_PTY;
		else if (len > 5 && memcmp(p, "TERM=", 5) == 0 && len - 5 < sizeof req->term)
			memcpy(req->term, p + 5, len - 5);
		p = end;
	}
	/* Android's default: a pty for an interactive shell, pipes for a command. */
	if (req->mode == MODE_DEFAULT)
		req->mode = *req->cmd ? MODE_RAW : MODE_PTY;
	return 0;
}

typedef void (*socket_service_fn)(int sock, const void *arg);

/* Room for a whole WRTE in the socket, so each read can fill one (root may exceed wmem_max). */
static void widen_socket(int fd)
{
	int size = (int)ADBD_MAX_PAYLOAD;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

/*
 * Fork a child connected by a socketpair. adbd's end is non-blocking; the
 * child's end is blocking and, after fds are cleaned up, is fd 3.
 */
static int spawn_socket_child(socket_service_fn fn, const void *arg, struct service *out)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	widen_socket(sv[0]);
	widen_socket(sv[1]);
	pid_t pid = fork();
	if (pid < 0) {
		int saved = errno;
		close(sv[0]);
		close(sv[1]);
		errno = saved;
		return -1;
	}
	if (pid == 0) {
		setsid();
		child_reset();
		if (dup2(sv[1], 3) < 0)
			_exit(126);
		close_fds_from(4);
		fn(3, arg);
		_exit(0);
	}
	close(sv[1]);
	set_nonblock(sv[0]);
	out->kind = SERVICE_STREAM;
	out->fd = sv[0];
	out->pid = pid;
	out->is_pty = 0;
	return 0;
}

/* exec: and raw shell: the command's stdin, stdout and stderr are the socket. */
static void run_raw_command(int sock, const void *arg)
{
	dup2(sock, 0);
	dup2(sock, 1);
	dup2(sock, 2);
	close(sock);
	exec_shell(arg, NULL);
}

static void run_shell_v2(int sock, const void *arg)
{
	const struct shell_request *req = arg;
	shell_v2_serve(sock, req->cmd, req->mode == MODE_PTY, req->term);
}

static void run_sync(int sock, const void *arg)
{
	(void)arg;
	sync_serve(sock);
}

static void run_message(int sock, const void *arg)
{
	const char *text = arg;
	size_t len = strlen(text), done = 0;
	while (done < len) {
		ssize_t n = write(sock, text + done, len - done);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
}

/* shell: with a pty and no protocol: adbd reads the pty master itself. */
static int spawn_pty_shell(const struct shell_request *req, struct service *out)
{
	char slave[128];
	int opened[2];
	int master = open_pty_master(slave, sizeof slave);
	if (master < 0)
		return -1;
	if (pipe2(opened, O_CLOEXEC) != 0) {
		int saved = errno;
		close(master);
		errno = saved;
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int saved = errno;
		close(master);
		close(opened[0]);
		close(opened[1]);
		errno = saved;
		return -1;
	}
	if (pid == 0) {
		child_reset();
		attach_pty_slave(slave);
		close_fds_from(3);
		exec_shell(req->cmd, req->term);
	}
	wait_for_slave(opened);
	set_nonblock(master);
	out->kind = SERVICE_STREAM;
	out->fd = master;
	out->pid = pid;
	out->is_pty = 1;
	return 0;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void service_open(const char *name, struct service *out)
{
	memset(out, 0, sizeof *out);
	out->kind = SERVICE_REFUSED;
	out->fd = -1;
	int rc = 0;
	struct shell_request req;

	if (starts_with(name, "shell:") || starts_with(name, "shell,")) {
		if (parse_shell(name, &req) != 0)
			return;
		if (req.v2)
			rc = spawn_socket_child(run_shell_v2, &req, out);
		else if (req.mode == MODE_PTY)
			rc = spawn_pty_shell(&req, out);
		else
			rc = spawn_socket_child(run_raw_command, req.cmd, out);
	} else if (starts_with(name, "exec:")) {
		rc = spawn_socket_child(run_raw_command, name + strlen("exec:"), out);
	} else if (strcmp(name, "sync:") == 0) {
		rc = spawn_socket_child(run_sync, NULL, out);
	} else if (strcmp(name, "root:") == 0) {
		rc = spawn_socket_child(run_message, "adbd is already running as root\n", out);
	} else if (starts_with(name, "reboot:") || strcmp(name, "reboot") == 0) {
		const char *target = name[6] == ':' ? name + 7 : "";
		out->target = strdup(target);
		if (out->target)
			out->kind = SERVICE_REBOOT;
		return;
	} else {
		return;
	}
	if (rc != 0) {
		adbd_log("cannot start %s: %s", name, strerror(errno));
		out->kind = SERVICE_REFUSED;
	}
}

/* HOOK TARGET, detached from adbd; reaped by the main loop like any child. */
void run_reboot_hook(const char *target)
{
	adbd_log("reboot requested (target \"%s\"): running %s", target, adbd_cfg.reboot_hook);
	pid_t pid = fork();
	if (pid < 0) {
		adbd_log("cannot run reboot hook: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		setsid();
		child_reset();
		close_fds_from(3);
		oom_score_set("0");
		char *argv[] = {(char *)adbd_cfg.reboot_hook, (char *)target, NULL};
		execve(adbd_cfg.reboot_hook, argv, adbd_cfg.env);
		dprintf(2, "adbd: cannot run reboot hook %s: %s\n", adbd_cfg.reboot_hook, strerror(errno));
		_exit(127);
	}
}
