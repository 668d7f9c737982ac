/*
 * adbd: a small adb daemon for the virtual device.
 *
 * One process runs a poll() loop over the host connections (adb transport
 * over TCP, no AUTH) and multiplexes each adb stream onto one local fd: a
 * socket to a forked service child, or a pty master. Shared declarations.
 */
#ifndef ZLAB_ADBD_H
#define ZLAB_ADBD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Transport commands: four ASCII bytes read as a little-endian u32. */
#define A_SYNC 0x434e5953u
#define A_CNXN 0x4e584e43u
#define A_AUTH 0x48545541u
#define A_OPEN 0x4e45504fu
#define A_OKAY 0x59414b4fu
#define A_CLSE 0x45534c43u
#define A_WRTE 0x45545257u

/* 0x01000001 tells the host that payload checksums are skipped. */
#define A_VERSION 0x01000001u

/*
 * Largest payload we accept and advertise (Android's value); the host uses
 * min(ours, its own). Every WRTE costs a round trip for its OKAY, which is
 * slow through QEMU's user network, so fewer and larger messages pay.
 */
#define ADBD_MAX_PAYLOAD (1024u * 1024u)

#define ADBD_FEATURES "shell_v2,stat_v2"

struct adbd_config {
	const char *listen;      /* ADDR:PORT */
	const char *props;       /* key=value file for the banner */
	const char *reboot_hook; /* run as HOOK TARGET after reboot:TARGET */
	const char *shell;       /* SHELL -c CMD */
	char **env;              /* environment every child process gets */
	int debug;               /* ADBD_DEBUG set: log every stream */
};

extern struct adbd_config adbd_cfg;

void adbd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* props.c: the CNXN banner built from the props file. */
char *banner_build(const char *props_path);

/* child.c: what every forked child does before it runs a service. */
void child_reset(void);
void close_fds_from(int first);
void exec_shell(const char *cmd, const char *term) __attribute__((noreturn));
int oom_score_set(const char *value);
char **child_env_build(const char *term);
int set_nonblock(int fd);
int open_pty_master(char *slave_name, size_t len);
void attach_pty_slave(const char *slave_name);
void wait_for_slave(int opened[2]);

/* services.c: start the service a host OPEN names. */
enum service_kind {
	SERVICE_REFUSED, /* answer CLSE */
	SERVICE_STREAM,  /* fd and pid are set: a local side to multiplex */
	SERVICE_REBOOT,  /* answer, close, then run the reboot hook */
};

struct service {
	enum service_kind kind;
	int fd;          /* adbd's end: socket or pty master (non-blocking) */
	pid_t pid;       /* child process, leader of its own process group */
	int is_pty;      /* reads of a pty master end with EIO instead of EOF */
	char *target;    /* reboot target (malloc'd), for SERVICE_REBOOT */
};

void service_open(const char *name, struct service *out);
void run_reboot_hook(const char *target);

/* shell_v2.c and sync.c: service children speaking over a byte stream. */
void shell_v2_serve(int sock, const char *cmd, int use_pty, const char *term) __attribute__((noreturn));
void sync_serve(int sock) __attribute__((noreturn));

/* transport.c: the daemon's event loop. */
int transport_run(int listen_fd, const char *banner);

static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
