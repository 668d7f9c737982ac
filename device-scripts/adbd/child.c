/* Process set-up shared by every child adbd forks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "adbd.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/*
 * Undo what adbd set for itself: ignored or caught signals and the blocked
 * mask survive fork (and SIG_IGN survives exec), so a child would otherwise
 * start with SIGPIPE ignored and `yes | head` would never end.
 */
void child_reset(void)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* fails harmlessly for KILL, STOP, libc-reserved */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (chdir("/") != 0) {
		/* "/" always exists; nothing sensible to do otherwise */
	}
	umask(022);
}

/* Close every descriptor from `first` up: a child must hold no other stream's fds. */
void close_fds_from(int first)
{
	if (syscall(SYS_close_range, (unsigned)first, ~0u, 0u) == 0)
		return;
	DIR *dir = opendir("/proc/self/fd");
	if (dir) {
		int fds[1024];
		size_t n = 0;
		struct dirent *de;
		int self = dirfd(dir);
		while ((de = readdir(dir)) && n < sizeof fds / sizeof fds[0]) {
			int fd = atoi(de->d_name);
			if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && fd >= first && fd != self)
				fds[n++] = fd;
		}
		closedir(dir);
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		return;
	}
	for (int fd = first; fd < 4096; fd++)
		close(fd);
}

/* The environment a command sees: adbd's own environment is not passed on. */
char **child_env_build(const char *term)
{
	const char *prepend = getenv("ADBD_PATH_PREPEND");
	const char *base = "/sbin:/bin:/usr/sbin:/usr/bin:/system/bin";
	size_t count = 0;
	char **env = calloc(8, sizeof *env);
	if (!env)
		return NULL;
	char *path;
	if (prepend && *prepend) {
		size_t len = strlen(prepend) + strlen(base) + 7;
		path = malloc(len);
		if (path)
			snprintf(path, len, "PATH=%s:%s", prepend, base);
	} else {
		path = strdup("PATH=/sbin:/bin:/usr/sbin:/usr/bin:/system/bin");
	}
	if (path)
		env[count++] = path;
	env[count++] = strdup("HOME=/");
	env[count++] = strdup("USER=root");
	env[count++] = strdup("LOGNAME=root");
	size_t shell_len = strlen(adbd_cfg.shell) + 7;
	char *shell = malloc(shell_len);
	if (shell) {
		snprintf(shell, shell_len, "SHELL=%s", adbd_cfg.shell);
		env[count++] = shell;
	}
	if (term && *term) {
		size_t len = strlen(term) + 6;
		char *t = malloc(len);
		if (t) {
			snprintf(t, len, "TERM=%s", term);
			env[count++] = t;
		}
	}
	env[count] = NULL;
	return env;
}

/*
 * adbd and its service children are shielded from the OOM killer so that a
 * memory-pressure test never loses its device; what they run is not: a
 * command starts with the neutral score, as any process would.
 */
int oom_score_set(const char *value)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, value, strlen(value));
	int saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}

/* Runs in the child: SHELL -c CMD, or an interactive SHELL for an empty command. */
void exec_shell(const char *cmd, const char *term)
{
	oom_score_set("0"); /* failure leaves the inherited score: nothing better to do */
	char **env = term && *term ? child_env_build(term) : adbd_cfg.env;
	if (cmd && *cmd) {
		char *argv[] = {(char *)adbd_cfg.shell, (char *)"-c", (char *)cmd, NULL};
		execve(adbd_cfg.shell, argv, env);
	} else {
		char *argv[] = {(char *)adbd_cfg.shell, NULL};
		execve(adbd_cfg.shell, argv, env);
	}
	dprintf(2, "adbd: cannot run %s: %s\n", adbd_cfg.shell, strerror(errno));
	_exit(127);
}

int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* A new pty master (close-on-exec); its slave's path goes to slave_name. */
int open_pty_master(char *slave_name, size_t len)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return -1;
	if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, slave_name, len) != 0) {
		int saved = errno;
		close(master);
		errno = saved;
		return -1;
	}
	return master;
}

/*
 * Runs in a forked child: become a session leader whose controlling terminal
 * is the pty slave, on fds 0-2. Closing the master later hangs the session up.
 */
void attach_pty_slave(const char *slave_name)
{
	setsid();
	int slave = open(slave_name, O_RDWR);
	if (slave < 0) {
		dprintf(2, "adbd: cannot open %s: %s\n", slave_name, strerror(errno));
		_exit(126);
	}
	ioctl(slave, TIOCSCTTY, 0);
	dup2(slave, 0);
	dup2(slave, 1);
	dup2(slave, 2);
	if (slave > 2)
		close(slave);
}

/*
 * Parent side of a pty start: a master reads as hung up until some slave fd
 * is open, so wait until the child has opened its slave (it closes the
 * pipe's write end, at the latest by exec or exit).
 */
void wait_for_slave(int opened[2])
{
	char byte;
	close(opened[1]);
	while (read(opened[0], &byte, 1) < 0 && errno == EINTR) {
	}
	close(opened[0]);
}
