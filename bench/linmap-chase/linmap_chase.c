// SPDX-License-Identifier: GPL-2.0
/*
 * linmap_chase: a dependent-load chase through the kernel linear map, for
 * the TLB reach of a linear-map mode (bench/linmap-chase.c drives it).
 *
 * /sys/kernel/debug/linmap_chase/
 *   setup  write "<KiB> <seed>": allocate KiB/4 pages from the page
 *          allocator (so they lie wherever the allocator puts them in the
 *          linear map) and link one cache line of each page into a single
 *          random cycle (xorshift64* with @seed, Sattolo's algorithm), so
 *          every load lands on another page; "0 0" frees everything
 *   run    write "<loads>": follow the cycle that many loads, in the
 *          writer's task context (per-task kernel-only PMU counters see it)
 *   info   read: pages, KiB, seed, and how many distinct 2M and 1G regions
 *          of physical memory the pages fall in
 */
#include <linux/debugfs.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#define CHASE_MAX_KIB	(4UL << 20)	/* 4 GiB */
#define LINES_PER_PAGE	(PAGE_SIZE / L1_CACHE_BYTES)

static DEFINE_MUTEX(chase_lock);
static struct page **chase_pages;
static unsigned long chase_nr;
static u64 chase_seed;
static void **chase_cur;
static unsigned long chase_sink;
static struct dentry *chase_dir;

static u64 xorshift64s(u64 *s)
{
	u64 x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static void **node_of(unsigned long i)
{
	/* A different line in each page, so the loads spread over sets. */
	return page_address(chase_pages[i]) +
	       (i * 37 % LINES_PER_PAGE) * L1_CACHE_BYTES;
}

static void chase_free(void)
{
	unsigned long i;

	for (i = 0; i < chase_nr; i++)
		__free_page(chase_pages[i]);
	kvfree(chase_pages);
	chase_pages = NULL;
	chase_nr = 0;
	chase_cur = NULL;
}

static int chase_setup(unsigned long kib, u64 seed)
{
	unsigned long nr = kib / (PAGE_SIZE / 1024), i;
	unsigned long *perm;
	u64 s = seed ? seed : 1;

	chase_free();
	if (!kib)
		return 0;
	if (kib > CHASE_MAX_KIB || nr < 2)
		return -EINVAL;
	chase_pages = kvmalloc_array(nr, sizeof(*chase_pages), GFP_KERNEL);
	perm = kvmalloc_array(nr, sizeof(*perm), GFP_KERNEL);
	if (!chase_pages || !perm)
		goto nomem;
	for (i = 0; i < nr; i++) {
		chase_pages[i] = alloc_page(GFP_KERNEL | __GFP_NOWARN);
		if (!chase_pages[i])
			goto nomem;
		chase_nr = i + 1;
		cond_resched();
	}
	/* Sattolo: a uniformly random single cycle through all pages. */
	for (i = 0; i < nr; i++)
		perm[i] = i;
	for (i = nr - 1; i > 0; i--) {
		unsigned long j = xorshift64s(&s) % i;

		swap(perm[i], perm[j]);
	}
	for (i = 0; i < nr; i++)
		*node_of(i) = node_of(perm[i]);
	chase_seed = seed;
	chase_cur = node_of(0);
	kvfree(perm);
	return 0;
nomem:
	kvfree(perm);
	chase_free();
	return -ENOMEM;
}

static ssize_t setup_write(struct file *f, const char __user *ubuf, size_t len,
			   loff_t *ppos)
{
	unsigned long kib;
	char buf[64];
	u64 seed;
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%lu %llu", &kib, &seed) != 2)
		return -EINVAL;
	mutex_lock(&chase_lock);
	ret = chase_setup(kib, seed);
	mutex_unlock(&chase_lock);
	return ret ? ret : len;
}

static ssize_t run_write(struct file *f, const char __user *ubuf, size_t len,
			 loff_t *ppos)
{
	unsigned long loads, i;
	void **p;
	int ret;

	ret = kstrtoul_from_user(ubuf, len, 10, &loads);
	if (ret)
		return ret;
	mutex_lock(&chase_lock);
	if (!chase_cur) {
		mutex_unlock(&chase_lock);
		return -ENODATA;
	}
	p = chase_cur;
	for (i = 0; i < loads; i++)
		p = READ_ONCE(*p);
	chase_cur = p;
	WRITE_ONCE(chase_sink, (unsigned long)p);
	mutex_unlock(&chase_lock);
	return len;
}

static int info_show(struct seq_file *m, void *v)
{
	unsigned long i, r2m = 0, r1g = 0, last2m = ULONG_MAX, last1g = ULONG_MAX;
	unsigned long *pfns;

	mutex_lock(&chase_lock);
	pfns = chase_nr ? kvmalloc_array(chase_nr, sizeof(*pfns), GFP_KERNEL) : NULL;
	for (i = 0; pfns && i < chase_nr; i++)
		pfns[i] = page_to_pfn(chase_pages[i]);
	if (pfns) {
		/* The allocator hands pages out roughly in order; count runs. */
		for (i = 0; i < chase_nr; i++) {
			unsigned long b2 = pfns[i] >> (21 - PAGE_SHIFT);
			unsigned long b1 = pfns[i] >> (30 - PAGE_SHIFT);

			if (b2 != last2m)
				r2m++;
			if (b1 != last1g)
				r1g++;
			last2m = b2;
			last1g = b1;
		}
		kvfree(pfns);
	}
	seq_printf(m, "pages=%lu\nkib=%lu\nseed=%llu\nline_bytes=%u\n",
		   chase_nr, chase_nr * (PAGE_SIZE / 1024), chase_seed,
		   L1_CACHE_BYTES);
	seq_printf(m, "runs_2m=%lu\nruns_1g=%lu\n", r2m, r1g);
	mutex_unlock(&chase_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(info);

static const struct file_operations setup_fops = {
	.owner = THIS_MODULE,
	.write = setup_write,
};

static const struct file_operations run_fops = {
	.owner = THIS_MODULE,
	.write = run_write,
};

static int __init chase_init(void)
{
	chase_dir = debugfs_create_dir("linmap_chase", NULL);
	debugfs_create_file("setup", 0200, chase_dir, NULL, &setup_fops);
	debugfs_create_file("run", 0200, chase_dir, NULL, &run_fops);
	debugfs_create_file("info", 0400, chase_dir, NULL, &info_fops);
	return 0;
}

static void __exit chase_exit(void)
{
	debugfs_remove(chase_dir);
	mutex_lock(&chase_lock);
	chase_free();
	mutex_unlock(&chase_lock);
}

module_init(chase_init);
module_exit(chase_exit);
MODULE_DESCRIPTION("bbml2-lab: dependent-load chase through the linear map");
MODULE_LICENSE("GPL");
