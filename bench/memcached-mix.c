// SPDX-License-Identifier: GPL-2.0
/*
 * B5 memcached-mix: a memcached server (Debian's, in the guest) under a
 * closed-loop load over TCP loopback: 90 % get, 10 % set of random 1 KiB
 * values through random connections of many, one request in flight. The kernel work
 * per request is a memcached-like mix (socket, skb, epoll, the server's
 * and client's scheduling, page-cache-free slab traffic), which is what
 * the published AmpereOne figure measured (memcached, kernel TLB MPKI
 * -28.5 % with the block-mapped linear map): the workload to set a
 * modelled relative MPKI change beside it.
 *
 * The server runs on the other CPUs, the client on the benchmark's CPU;
 * both are in the TLB model's window (it counts every vCPU).
 *
 * Metrics: "mix" (the load above), "same" (get of one key on one
 * connection: the hot control).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "common.h"

#define PORT		11311
#define VALUE_LEN	1024
#define MC_ROOT		"/lab/memcached"
#define MC_LOADER	MC_ROOT "/lib/ld-linux-aarch64.so.1"
#define MC_LIBS		MC_ROOT "/lib/aarch64-linux-gnu:" MC_ROOT "/usr/lib/aarch64-linux-gnu"
#define MC_BIN		MC_ROOT "/usr/bin/memcached"
#define MC_LOG		"/tmp/memcached.log"

static const struct bench_desc desc = {
	.name = "memcached-mix",
	.id = "B5",
	.summary = "memcached over TCP loopback: 90% get / 10% set of random keys, random connections",
	.size_help = "number of keys (default 1000000; TCG 65536)",
};

struct ctx {
	int nconn;
	int *fd;
	uint32_t nkeys;
	uint64_t rng;
	char value[VALUE_LEN];
	char buf[VALUE_LEN + 256];
};

static pid_t server;

static void stop_server(void)
{
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
		server = 0;
	}
}

/* Bring up the loopback interface (the guest's init does not). */
static int lo_up(char *why, size_t len)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0) {
		snprintf(why, len, "socket(AF_INET): %s (kernel without CONFIG_INET?)",
			 strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) == 0) {
			close(s);
			return 0;
		}
	}
	snprintf(why, len, "bringing up lo: %s", strerror(errno));
	close(s);
	return -1;
}

static void start_server(int bench_cpu, long ncpus)
{
	char port[16];
	cpu_set_t set;
	long c;
	int fd;

	snprintf(port, sizeof(port), "%d", PORT);
	server = fork();
	if (server < 0)
		bench_bail(&desc, "fail", "fork: %s", strerror(errno));
	if (server)
		return;
	/* The server on the other CPUs, when there are any. */
	CPU_ZERO(&set);
	for (c = 0; c < ncpus; c++)
		if (c != bench_cpu || ncpus == 1)
			CPU_SET(c, &set);
	sched_setaffinity(0, sizeof(set), &set);
	/* Its messages in a file the failure reason can quote. */
	fd = open(MC_LOG, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	/* As root memcached wants -u; the tree brings /etc/passwd for it. */
	execl(MC_LOADER, MC_LOADER, "--library-path", MC_LIBS, MC_BIN,
	      "-u", "root", "-l", "127.0.0.1", "-p", port, "-U", "0", "-t", "2",
	      "-m", "1024", "-c", "4096", (char *)NULL);
	dprintf(STDERR_FILENO, "exec %s: %s\n", MC_LOADER, strerror(errno));
	_exit(127);
}

static int connect_one(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	int fd, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Read until the reply ends with @end; 0 or -1. */
static int read_reply(int fd, char *buf, size_t len, const char *end)
{
	size_t got = 0, elen = strlen(end);
	ssize_t n;

	for (;;) {
		n = read(fd, buf + got, len - got - 1);
		if (n <= 0)
			return -1;
		got += n;
		buf[got] = '\0';
		if (got >= elen && !memcmp(buf + got - elen, end, elen))
			return 0;
		if (got + 1 >= len)
			return -1;
	}
}

static int do_set(struct ctx *c, int fd, uint32_t key)
{
	char hdr[64];
	int n = snprintf(hdr, sizeof(hdr), "set k%08u 0 0 %d\r\n", key, VALUE_LEN);

	memcpy(c->buf, hdr, n);
	memcpy(c->buf + n, c->value, VALUE_LEN);
	memcpy(c->buf + n + VALUE_LEN, "\r\n", 2);
	if (write(fd, c->buf, n + VALUE_LEN + 2) != n + VALUE_LEN + 2)
		return -1;
	if (read_reply(fd, c->buf, sizeof(c->buf), "\r\n") ||
	    strcmp(c->buf, "STORED\r\n"))
		return -1;
	return 0;
}

static int do_get(struct ctx *c, int fd, uint32_t key)
{
	char req[32];
	int n = snprintf(req, sizeof(req), "get k%08u\r\n", key);

	if (write(fd, req, n) != n)
		return -1;
	if (read_reply(fd, c->buf, sizeof(c->buf), "END\r\n"))
		return -1;
	/* "VALUE k... 0 256\r\n" + data + "\r\nEND\r\n": a hit */
	return strncmp(c->buf, "VALUE ", 6) ? -1 : 0;
}

static int op_mix(void *arg, long count)
{
	struct ctx *c = arg;
	long i;

	for (i = 0; i < count; i++) {
		uint64_t r = xorshift64s(&c->rng);
		uint32_t key = (r >> 8) % c->nkeys;
		int fd = c->fd[(r >> 40) % c->nconn];

		if ((r & 0xff) < 26 ? do_set(c, fd, key) : do_get(c, fd, key)) {
			printf("# memcached request failed: %s\n", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int op_same(void *arg, long count)
{
	struct ctx *c = arg;
	long i;

	for (i = 0; i < count; i++) {
		if (do_get(c, c->fd[0], 0)) {
			printf("# memcached request failed: %s\n", strerror(errno));
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_run r;
	struct ctx c;
	char why[256];
	long ops, tries;
	uint32_t k;
	double t0;
	int i;

	bench_parse_opts(&desc, argc, argv, &o);
	if (access(MC_BIN, X_OK) || access(MC_LOADER, X_OK))
		bench_bail(&desc, "skip", "%s (Debian's arm64 memcached) is not in this initramfs",
			   MC_BIN);
	if (lo_up(why, sizeof(why)))
		bench_bail(&desc, "skip", "%s", why);
	bench_init(&r, &desc, &o);
	t0 = now_ns();
	memset(&c, 0, sizeof(c));
	/*
	 * Many connections and a key space larger than any TLB's reach: the
	 * kernel side (a socket, its skbs, file and epoll entry per
	 * connection; copies to and from the server's buffers) is then spread
	 * over many pages, as on a loaded server.
	 */
	c.nkeys = o.size ? o.size : r.plat.emulated ? 65536 : 1000000;
	c.nconn = r.plat.emulated ? 256 : 1024;
	c.rng = o.seed;
	memset(c.value, 'v', sizeof(c.value));
	c.fd = calloc(c.nconn, sizeof(*c.fd));
	if (!c.fd)
		bench_bail(&desc, "fail", "out of memory");
	atexit(stop_server);
	start_server(r.cpu, r.plat.cpus_online);
	/* The server needs a moment to listen: bounded retries, not a sleep. */
	for (tries = 0; (c.fd[0] = connect_one()) < 0 && tries < 2000; tries++) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		int st;

		if (waitpid(server, &st, WNOHANG) == server) {
			char msg[160] = "";
			int fd = open(MC_LOG, O_RDONLY);

			if (fd >= 0) {
				ssize_t n = read(fd, msg, sizeof(msg) - 1);

				msg[n > 0 ? n : 0] = '\0';
				msg[strcspn(msg, "\n")] = '\0';
				close(fd);
			}
			server = 0;
			snprintf(why, sizeof(why), "memcached exited (status 0x%x) before listening: %s",
				 st, msg[0] ? msg : "(no message)");
			bench_finish(&r, "fail", why);
		}
		nanosleep(&ts, NULL);
	}
	if (c.fd[0] < 0)
		bench_finish(&r, "fail", "memcached did not listen on 127.0.0.1 within 10 s");
	for (i = 1; i < c.nconn; i++) {
		c.fd[i] = connect_one();
		if (c.fd[i] < 0) {
			snprintf(why, sizeof(why), "connection %d: %s", i, strerror(errno));
			bench_finish(&r, "fail", why);
		}
	}
	for (k = 0; k < c.nkeys; k++)
		if (do_set(&c, c.fd[k % c.nconn], k)) {
			snprintf(why, sizeof(why), "preloading key %u failed", k);
			bench_finish(&r, "fail", why);
		}
	ops = o.ops ? o.ops : r.plat.emulated ? 16384 : 200000;
	bench_param(&r, "\"keys\":%u,\"connections\":%d,\"value_bytes\":%d,\"get_share\":0.9,"
		    "\"server\":\"Debian memcached, -t 2, other CPUs\"",
		    c.nkeys, c.nconn, VALUE_LEN);
	r.setup_s = (now_ns() - t0) / 1e9;
	if (bench_measure(&r, "mix", "90% get / 10% set of random keys over random connections",
			  "request", ops, ops, op_mix, &c))
		bench_finish(&r, "fail", "mix loop failed");
	if (bench_measure(&r, "same", "get of one key on one connection: hot control",
			  "request", ops, ops, op_same, &c))
		bench_finish(&r, "fail", "same loop failed");
	stop_server();
	bench_finish(&r, "ok", NULL);
}
