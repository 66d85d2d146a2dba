// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_hotplug: CPU hotplug leaves the linear map mode alone.
 *
 * Every secondary CPU is taken offline and back online repeatedly (sysfs),
 * also while other threads fault memfd_secret pages in and out (splits in
 * a block-mapped linear map). Afterwards the mode the kernel reports is
 * unchanged, no CPU was refused or lost the capability again, memfd_secret
 * still works and the kernel log has no splat.
 *
 * On a kernel without the series' report (mainline 6.18+) the mode is what
 * ptdump shows (lm_info_derive()): it must be what the MIDRs and the
 * kernel tree's allow-list imply before, and the same after.
 *
 * BBML2_HOTPLUG_ROUNDS sets the offline/online rounds (default 5).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "bbml2_util.h"

#ifndef __NR_memfd_secret
#define __NR_memfd_secret 447
#endif

#define MAX_CPUS	1024

static const char * const bad_lines[] = {
	"capability cleared", "missing feature", "failed to come online",
	"will not boot", "SANITY CHECK", "Unsupported CPU feature variation",
	"CPU stuck", "failed to die",
};

FIXTURE(hotplug) {
	int cpus[MAX_CPUS];
	int ncpus;
	int rounds;
	struct lm_info before;
	unsigned long long kmark;
};

static bool hotpluggable(int cpu)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	return cpu != 0 && !access(path, W_OK);
}

FIXTURE_SETUP(hotplug)
{
	int online[MAX_CPUS], n, i;
	const char *env = getenv("BBML2_HOTPLUG_ROUNDS");
	char err[512];

	n = online_cpus(online, MAX_CPUS);
	ASSERT_LT(0, n);
	for (i = 0; i < n; i++)
		if (hotpluggable(online[i]))
			self->cpus[self->ncpus++] = online[i];
	self->rounds = env ? atoi(env) : 5;
	ASSERT_EQ(0, lm_info_get(&self->before, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, bbml2_mode_check(&self->before, err, sizeof(err)))
		TH_LOG("%s", err);
	self->kmark = kmsg_mark();
	if (!self->ncpus)
		SKIP(return, "no secondary CPU can be taken offline (%d online)", n);
}

FIXTURE_TEARDOWN(hotplug)
{
	char path[128];
	int i;

	/* Never leave a CPU offline. */
	for (i = 0; i < self->ncpus; i++) {
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online",
			 self->cpus[i]);
		write_file(path, "1");
	}
}

static int set_online(int cpu, int on)
{
	char path[128], buf[8];
	int ret;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	ret = write_file(path, on ? "1" : "0");
	if (ret)
		return ret;
	if (read_file(path, buf, sizeof(buf)) <= 0 || atoi(buf) != on)
		return -EIO;
	return 0;
}

static int cycle_all(int *cpus, int n, int rounds, char *err, size_t len)
{
	int r, i, ret;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < n; i++) {
			ret = set_online(cpus[i], 0);
			if (!ret)
				ret = set_online(cpus[i], 1);
			if (ret) {
				snprintf(err, len, "round %d: cpu%d: %s", r, cpus[i],
					 strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

/* One memfd_secret page round trip; 0 or a description in @err. */
static int secret_round(int pages, int tag, char *err, size_t len)
{
	long p = getpagesize();
	char *mem;
	int fd, i, ret = 0;

	fd = syscall(__NR_memfd_secret, 0);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, pages * p)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	mem = mmap(NULL, pages * p, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		ret = -errno;
		close(fd);
		return ret;
	}
	for (i = 0; i < pages; i++)
		memset(mem + i * p, tag ^ i, p);
	for (i = 0; i < pages; i++) {
		if (mem[i * p] != (char)(tag ^ i) ||
		    mem[i * p + p - 1] != (char)(tag ^ i)) {
			snprintf(err, len, "memfd_secret data of page %d", i);
			ret = -EIO;
			break;
		}
	}
	munmap(mem, pages * p);
	close(fd);
	return ret;
}

static void check_after(struct __test_metadata *_metadata,
			FIXTURE_DATA(hotplug) *self)
{
	struct lm_info after;
	struct kmsg k;
	char err[512];
	size_t i, j;
	int online[MAX_CPUS], n, splats;

	ASSERT_EQ(0, lm_info_get(&after, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(0, bbml2_mode_check(&after, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_STREQ(self->before.options, after.options);
	EXPECT_STREQ(self->before.linear_map, after.linear_map);
	EXPECT_EQ(self->before.boot_cpu_bbml2, after.boot_cpu_bbml2);
	EXPECT_EQ(self->before.system_bbml2, after.system_bbml2);
	EXPECT_EQ(self->before.blocks_at_boot, after.blocks_at_boot);
	EXPECT_EQ(self->before.requires_bbml2, after.requires_bbml2);
	EXPECT_EQ(self->before.repainted, after.repainted);
	EXPECT_EQ(self->before.repaint_ns, after.repaint_ns);
	EXPECT_TRUE(lm_counts_equal(&self->before.repaint, &after.repaint));
	EXPECT_EQ(self->before.split_failures, after.split_failures);
	n = online_cpus(online, MAX_CPUS);
	for (i = 0; i < (size_t)self->ncpus; i++) {
		bool on = false;

		for (j = 0; j < (size_t)n; j++)
			on |= online[j] == self->cpus[i];
		EXPECT_TRUE(on) TH_LOG("cpu%d is not online", self->cpus[i]);
	}

	splats = kmsg_splats(self->kmark, err, sizeof(err));
	EXPECT_EQ(0, splats) TH_LOG("kernel log: %s", err);
	ASSERT_EQ(0, kmsg_read(&k, self->kmark));
	for (i = 0; i < k.nr; i++)
		for (j = 0; j < ARRAY_SIZE(bad_lines); j++)
			EXPECT_TRUE(!strstr(k.r[i].msg, bad_lines[j]))
				TH_LOG("kernel log: %s", k.r[i].msg);
	kmsg_free(&k);
}

TEST_F_TIMEOUT(hotplug, offline_online_secondaries, 900)
{
	char err[256];
	int ret;

	TH_LOG("%d secondary CPUs, %d rounds, linear_map=%s", self->ncpus,
	       self->rounds, self->before.linear_map);
	ret = cycle_all(self->cpus, self->ncpus, self->rounds, err, sizeof(err));
	EXPECT_EQ(0, ret) TH_LOG("%s", err);
	check_after(_metadata, self);
	/* Splitting (block mode) or not, the direct map still works. */
	ret = secret_round(4, 0x33, err, sizeof(err));
	if (ret == -ENOSYS) {
		/* A failure above stays a failure: SKIP only a clean run. */
		if (_metadata->exit_code == KSFT_PASS)
			SKIP(return,
			     "hotplug checks passed, but memfd_secret() is not available (-ENOSYS: CONFIG_SECRETMEM=n or secretmem.enable=0): the direct map check after hotplug did not run");
		TH_LOG("memfd_secret() not available (-ENOSYS): direct map check not run");
		return;
	}
	EXPECT_EQ(0, ret) TH_LOG("memfd_secret after hotplug: %s %s",
				 strerror(-ret), err);
}

struct faulter {
	pthread_t tid;
	bool *stop;
	int tag, rounds, ret;
	char err[256];
};

static void *faulter_fn(void *arg)
{
	struct faulter *f = arg;

	while (!__atomic_load_n(f->stop, __ATOMIC_ACQUIRE) && !f->ret) {
		f->ret = secret_round(1 + f->rounds % 8, f->tag, f->err,
				      sizeof(f->err));
		f->rounds++;
	}
	return NULL;
}

TEST_F_TIMEOUT(hotplug, hotplug_while_splitting, 900)
{
	struct rlimit rl = { 64 << 20, 64 << 20 };
	struct faulter f[4];
	bool stop = false;
	char err[256];
	int i, ret, probe;

	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	probe = secret_round(1, 1, err, sizeof(err));
	if (probe == -ENOSYS || probe == -EINVAL)
		SKIP(return, "memfd_secret() not available: %s", strerror(-probe));
	for (i = 0; i < 4; i++) {
		f[i] = (struct faulter){ .stop = &stop, .tag = 0x40 + i };
		ASSERT_EQ(0, pthread_create(&f[i].tid, NULL, faulter_fn, &f[i]));
	}
	ret = cycle_all(self->cpus, self->ncpus, self->rounds, err, sizeof(err));
	__atomic_store_n(&stop, true, __ATOMIC_RELEASE);
	for (i = 0; i < 4; i++) {
		pthread_join(f[i].tid, NULL);
		TH_LOG("thread %d: %d memfd_secret rounds", i, f[i].rounds);
		EXPECT_EQ(0, f[i].ret) TH_LOG("%s %s", strerror(-f[i].ret), f[i].err);
	}
	EXPECT_EQ(0, ret) TH_LOG("%s", err);
	check_after(_metadata, self);
}

int main(int argc, char **argv)
{
	bbml2_prereq(NO_SERIES_OK);
	return test_harness_run(argc, argv);
}
