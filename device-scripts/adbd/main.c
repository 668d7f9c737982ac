/* adbd entry point: command line, listening socket, then the transport loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "adbd.h"

struct adbd_config adbd_cfg = {
	.listen = "0.0.0.0:5555",
	.props = "/etc/zlab/props",
	.reboot_hook = "/sbin/zlab-reboot",
	.shell = "/bin/sh",
};

static const char usage_text[] =
	"usage: adbd [--listen ADDR:PORT] [--props FILE] [--reboot-hook PATH] [--shell PATH]\n"
	"  --listen       address to serve the adb transport on (default 0.0.0.0:5555)\n"
	"  --props        key=value file; ro.product.name/model/device go into the banner\n"
	"                 (default /etc/zlab/props)\n"
	"  --reboot-hook  run as `HOOK TARGET` after a reboot:TARGET request is answered\n"
	"                 (default /sbin/zlab-reboot)\n"
	"  --shell        shell for commands, run as `SHELL -c CMD` (default /bin/sh)\n"
	"environment: ADBD_PATH_PREPEND=DIR[:DIR] goes before the default PATH of commands;\n"
	"             ADBD_DEBUG=1 logs every stream.\n";

void adbd_log(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dprintf(2, "adbd: %s\n", msg);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dprintf(2, "adbd: %s\n%s", msg, usage_text);
	exit(2);
}

/* ADDR:PORT with a numeric IPv4 address, or [IPv6]:PORT. */
static int open_listener(const char *spec)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	if (!colon || (size_t)(colon - spec) >= sizeof host)
		usage_error("--listen: \"%s\" is not ADDR:PORT (e.g. 0.0.0.0:5555)", spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end || port < 0 || port > 65535)
		usage_error("--listen: \"%s\" has no valid port (0-65535)", spec);

	struct sockaddr_storage ss;
	socklen_t sslen;
	memset(&ss, 0, sizeof ss);
	size_t hlen = strlen(host);
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			usage_error("--listen: \"%s\" is not an IPv6 address", host + 1);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		sslen = sizeof *a6;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			usage_error("--listen: \"%s\" is not a numeric IPv4 address", host);
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		sslen = sizeof *a4;
	}

	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		adbd_log("socket: %s", strerror(errno));
		exit(1);
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, 8) != 0) {
		adbd_log("cannot listen on %s: %s", spec, strerror(errno));
		exit(1);
	}
	/* Report the real port, which matters when 0 asked the kernel to pick one. */
	struct sockaddr_storage bound;
	socklen_t blen = sizeof bound;
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0) {
		uint16_t real = bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
							     : ((struct sockaddr_in *)&bound)->sin_port;
		adbd_log("listening on %s:%u", host[0] == '[' ? host + 1 : host, ntohs(real));
	}
	return fd;
}

int main(int argc, char **argv)
{
	/* fds 0-2 must exist, or a pipe or socket could land there and be clobbered by dup2 */
	for (;;) {
		int fd = open("/dev/null", O_RDWR);
		if (fd > 2)
			close(fd);
		if (fd < 0 || fd > 2)
			break;
	}
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		const char **slot = NULL;
		if (strcmp(arg, "--listen") == 0)
			slot = &adbd_cfg.listen;
		else if (strcmp(arg, "--props") == 0)
			slot = &adbd_cfg.props;
		else if (strcmp(arg, "--reboot-hook") == 0)
			slot = &adbd_cfg.reboot_hook;
		else if (strcmp(arg, "--shell") == 0)
			slot = &adbd_cfg.shell;
		else
			usage_error("unknown argument \"%s\"", arg);
		if (i + 1 >= argc || argv[i + 1][0] == '\0')
			usage_error("%s needs a value", arg);
		*slot = argv[++i];
	}
	if (adbd_cfg.shell[0] != '/')
		usage_error("--shell: \"%s\" is not an absolute path", adbd_cfg.shell);
	if (access(adbd_cfg.shell, X_OK) != 0)
		usage_error("--shell: \"%s\" is not an executable file", adbd_cfg.shell);
	if (adbd_cfg.reboot_hook[0] != '/')
		usage_error("--reboot-hook: \"%s\" is not an absolute path", adbd_cfg.reboot_hook);
	const char *debug = getenv("ADBD_DEBUG");
	adbd_cfg.debug = debug && *debug && strcmp(debug, "0") != 0;

	adbd_cfg.env = child_env_build(NULL);
	char *banner = banner_build(adbd_cfg.props);
	if (!adbd_cfg.env || !banner) {
		adbd_log("out of memory");
		return 1;
	}
	int listen_fd = open_listener(adbd_cfg.listen);
	/* a device that the OOM killer can take away is no device for reclaim tests */
	if (oom_score_set("-1000") != 0)
		adbd_log("cannot shield adbd from the OOM killer (needs CAP_SYS_RESOURCE): %s", strerror(errno));
	/* Orphaned grandchildren (`cmd &`) come back to us and are reaped too. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	return transport_run(listen_fd, banner);
}
