// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_test: linear map attribute changes for the arm64/bbml2 kselftests.
 *
 * Needs a kernel with CONFIG_ARM64_LINEAR_MAP_TEST (bbml2 series), whose
 * test-only exports live in the ARM64_LINEAR_MAP_TEST namespace.
 *
 * Interface: /sys/kernel/debug/bbml2_test/ctl (root only). Every open file
 * is a session. write() runs one command and fails with its error; pread()
 * at offset 0 returns the text result of the last successful command.
 * Addresses are linear map addresses in hex (0x...), counts are decimal.
 *
 *   alloc ORDER COUNT       allocate COUNT blocks of 2^ORDER pages, one
 *                           "0xADDR" line each (stops at the first failure)
 *   alloc_at ADDR ORDER MAX allocate the free block of 2^ORDER pages that
 *                           starts at ADDR: allocate up to MAX blocks from
 *                           ADDR's zone until that one comes, then give the
 *                           others back; -EBUSY if it did not come
 *   free ADDR               restore and free the block starting at ADDR
 *   free_all                same for every block of this session
 *   change OP ADDR NPAGES   OP on pages of blocks of this module:
 *                           ro rw x nx (arm64_linear_map_change_for_test
 *                           with the masks of set_memory_ro/rw/x/nx),
 *                           invalid valid (set_memory_valid),
 *                           dmap_invalid dmap_default (set_direct_map_*,
 *                           page by page, then one TLB flush)
 *   present ADDR NPAGES     kernel_page_present() of each page, any linear
 *                           map address: a string of 0/1
 *   probe ADDR NPAGES       per page "rw", "r-" or "--": whether a byte can
 *                           be read and written back through the linear
 *                           map without faulting; module blocks only
 *   fill ADDR NPAGES SEED   write a pattern (module blocks, valid RW pages)
 *   check ADDR NPAGES SEED  verify it; -EIO and "mismatch ..." if not
 *   sync                    wait until the init memory of modules loaded so
 *                           far is freed (a work item: it resets the linear
 *                           alias of those pages, splitting blocks)
 *   vmalloc NPAGES          vmalloc an area; result: its address, then the
 *                           linear address of each page
 *   vmalloc_huge NPAGES     same with vmalloc_huge() (VM_ALLOW_HUGE_VMAP:
 *                           PMD mapped where the kernel allows it)
 *   vset OP [FIRST NPAGES]  set_memory_OP (ro rw x nx) on the whole area,
 *                           or on NPAGES of it from page FIRST
 *   vover OP NPAGES         set_memory_OP (ro rw) of NPAGES from the start
 *                           of the area, up to one page past its end: the
 *                           kernel's own bound is what is tested
 *   vprobe                  per page of the area "rw", "r-" or "--": its
 *                           linear alias, as "probe" does
 *   vfree                   set_memory_rw/nx, then vfree it (a huge area:
 *                           make any read-only alias page writable, vfree)
 *   leaf ADDR               the leaf entry mapping any kernel address:
 *                           "size=N desc=0x... valid=0|1"; -ENOENT if none
 *   hotmem PHYS             "early=0|1 online=0|1 virt=0x...": the memory
 *                           section of PHYS (early: boot memory)
 *   hotchange OP PHYS       OP (ro rw) on the linear map page of PHYS, in
 *                           hot-added memory whose section is offline
 *                           (-EBUSY if online)
 *   remove PHYS SIZE        offline_and_remove_memory(PHYS, SIZE)
 *   pread PHYS SIZE         read a byte of every page of [PHYS, +SIZE)
 *                           through the linear map, without faulting:
 *                           "unreadable=N first=0x..." (first: physical)
 *   info                    key=value: page_size, kfence_pool,
 *                           kfence_pool_size, then "mem TYPE RO NPAGES"
 *                           and one linear address per page of each memory
 *                           area of this module (init areas as they were
 *                           while loading: they are freed since)
 *
 * A range may span several blocks as long as every page is in one.
 * Blocks are owned by the session that allocated them, but every session
 * may change or check them, so that several threads can work on disjoint
 * pages of the same block at once. Closing a session restores whatever its
 * blocks still have changed (so that nothing invalid or read-only goes back
 * to the page allocator) and frees them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/gfp.h>
#include <linux/kasan.h>
#include <linux/kfence.h>
#include <linux/list.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/set_memory.h>
#include <asm/tlbflush.h>

MODULE_IMPORT_NS(ARM64_LINEAR_MAP_TEST);

#define RESULT_MAX	(64 * 1024)
#define CMD_MAX		256

/* What has been done to a page and not undone yet. */
#define ST_RO		BIT(0)
#define ST_X		BIT(1)
#define ST_INVALID	BIT(2)
#define ST_DMAP		BIT(3)

struct bbml2_block {
	struct list_head node;
	struct page *page;
	unsigned long addr;
	unsigned long npages;
	unsigned int order;
	void *owner;
	u8 *state;
};

struct bbml2_session {
	struct mutex lock;	/* serialises commands, protects the result */
	char *result;
	size_t len;
	void *vm_addr;
	unsigned long vm_npages;
	bool vm_huge;
};

static struct dentry *bbml2_dir;
static LIST_HEAD(bbml2_blocks);
static DEFINE_MUTEX(bbml2_blocks_lock);

static __printf(2, 3) void res_add(struct bbml2_session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->len >= RESULT_MAX - 1)
		return;
	va_start(ap, fmt);
	s->len += vscnprintf(s->result + s->len, RESULT_MAX - s->len, fmt, ap);
	va_end(ap);
}

/* The block of this module that holds @addr; blocks lock held. */
static struct bbml2_block *block_of(unsigned long addr)
{
	struct bbml2_block *b;

	list_for_each_entry(b, &bbml2_blocks, node)
		if (addr >= b->addr && addr - b->addr < (b->npages << PAGE_SHIFT))
			return b;
	return NULL;
}

/* Whether every page of [addr, addr + npages pages) is in some block. */
static bool owned(unsigned long addr, unsigned long npages)
{
	unsigned long end = addr + (npages << PAGE_SHIFT);
	struct bbml2_block *b;
	bool ok = npages && PAGE_ALIGNED(addr) && end > addr;

	mutex_lock(&bbml2_blocks_lock);
	while (ok && addr < end) {
		b = block_of(addr);
		if (!b)
			ok = false;
		else
			addr = b->addr + (b->npages << PAGE_SHIFT);
	}
	mutex_unlock(&bbml2_blocks_lock);
	return ok;
}

/*
 * The state byte of an owned page. Blocks are only freed by their session,
 * never while another session works on them, so no lock is needed after
 * the lookup.
 */
static u8 *page_state(unsigned long addr)
{
	struct bbml2_block *b;

	mutex_lock(&bbml2_blocks_lock);
	b = block_of(addr);
	mutex_unlock(&bbml2_blocks_lock);
	return &b->state[(addr - b->addr) >> PAGE_SHIFT];
}

enum bbml2_op {
	OP_RO, OP_RW, OP_X, OP_NX, OP_INVALID, OP_VALID,
	OP_DMAP_INVALID, OP_DMAP_DEFAULT, OP_DMAP_DEFAULT_IRQSOFF, OP_NR,
};

static const char * const op_names[OP_NR] = {
	"ro", "rw", "x", "nx", "invalid", "valid", "dmap_invalid",
	"dmap_default", "dmap_irqsoff",
};

static int parse_op(const char *name)
{
	int i;

	for (i = 0; i < OP_NR; i++)
		if (!strcmp(name, op_names[i]))
			return i;
	return -EINVAL;
}

static int do_op(int op, unsigned long addr, unsigned long npages)
{
	unsigned long i;
	int ret = 0;

	switch (op) {
	case OP_RO:
		return arm64_linear_map_change_for_test(addr, npages,
							__pgprot(PTE_RDONLY),
							__pgprot(PTE_WRITE));
	case OP_RW:
		return arm64_linear_map_change_for_test(addr, npages,
							__pgprot(PTE_WRITE),
							__pgprot(PTE_RDONLY));
	case OP_X:
		return arm64_linear_map_change_for_test(addr, npages,
							__pgprot(0),
							__pgprot(PTE_PXN));
	case OP_NX:
		return arm64_linear_map_change_for_test(addr, npages,
							__pgprot(PTE_PXN),
							__pgprot(0));
	case OP_INVALID:
		return set_memory_valid(addr, npages, 0);
	case OP_VALID:
		return set_memory_valid(addr, npages, 1);
	case OP_DMAP_INVALID:
	case OP_DMAP_DEFAULT:
		for (i = 0; i < npages && !ret; i++) {
			struct page *page = virt_to_page(addr + i * PAGE_SIZE);

			if (op == OP_DMAP_INVALID)
				ret = set_direct_map_invalid_noflush(page);
			else
				ret = set_direct_map_default_noflush(page);
		}
		flush_tlb_kernel_range(addr, addr + npages * PAGE_SIZE);
		return ret;
	case OP_DMAP_DEFAULT_IRQSOFF: {
		/*
		 * As hibernation's snapshot maps a page back
		 * (hibernate_map_page()): one page, interrupts off.
		 */
		unsigned long flags;

		if (npages != 1)
			return -EINVAL;
		local_irq_save(flags);
		ret = set_direct_map_default_noflush(virt_to_page(addr));
		local_irq_restore(flags);
		flush_tlb_kernel_range(addr, addr + PAGE_SIZE);
		return ret;
	}
	}
	return -EINVAL;
}

static void update_state(int op, unsigned long addr, unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++) {
		u8 *st = page_state(addr + i * PAGE_SIZE);

		switch (op) {
		case OP_RO:
			*st |= ST_RO;
			break;
		case OP_RW:
			*st &= ~ST_RO;
			break;
		case OP_X:
			*st |= ST_X;
			break;
		case OP_NX:
			*st &= ~ST_X;
			break;
		case OP_INVALID:
			*st |= ST_INVALID;
			break;
		case OP_VALID:
			*st &= ~ST_INVALID;
			break;
		case OP_DMAP_INVALID:
			*st |= ST_DMAP;
			break;
		case OP_DMAP_DEFAULT:
		case OP_DMAP_DEFAULT_IRQSOFF:
			*st &= ~(ST_DMAP | ST_RO);
			break;
		}
	}
}

/*
 * Undo what is still changed in a block, one call per run of changed
 * pages: a run starts and ends where some change started or ended, so
 * nothing new is split here.
 */
static int restore_block(struct bbml2_block *b)
{
	unsigned long i = 0, j;
	int ret = 0, err;

	while (i < b->npages) {
		u8 st = 0;
		unsigned long addr;

		if (!b->state[i]) {
			i++;
			continue;
		}
		for (j = i; j < b->npages && b->state[j]; j++)
			st |= b->state[j];
		addr = b->addr + i * PAGE_SIZE;
		err = 0;
		if (st & ST_DMAP)
			err = do_op(OP_DMAP_DEFAULT, addr, j - i);
		if (!err && (st & ST_INVALID))
			err = do_op(OP_VALID, addr, j - i);
		if (!err && (st & ST_X))
			err = do_op(OP_NX, addr, j - i);
		if (!err && (st & ST_RO))
			err = do_op(OP_RW, addr, j - i);
		if (err) {
			pr_err("cannot restore %lu pages at %p: %d\n",
			       j - i, (void *)addr, err);
			ret = err;
		} else {
			memset(&b->state[i], 0, j - i);
		}
		i = j;
	}
	return ret;
}

/* Unlinked already. A block that cannot be restored is leaked on purpose. */
static void release_block(struct bbml2_block *b)
{
	if (restore_block(b)) {
		pr_err("leaking %lu pages at %p\n", b->npages, (void *)b->addr);
		kvfree(b->state);
		kfree(b);
		return;
	}
	__free_pages(b->page, b->order);
	kvfree(b->state);
	kfree(b);
}

/*
 * The linear map address of @page as ptdump and the kselftests see it:
 * without the KASAN tag that page_address() carries on tag-based KASAN
 * (SW_TAGS, HW_TAGS), so that addresses compare with ptdump's. The
 * 0xff tag is the match-all one: accesses through it are never reported.
 */
static void *lm_address(struct page *page)
{
	return kasan_reset_tag(page_address(page));
}

static struct bbml2_block *new_block(struct page *page, unsigned int order,
				     void *owner)
{
	struct bbml2_block *b = kzalloc(sizeof(*b), GFP_KERNEL);

	if (!b)
		return NULL;
	b->npages = 1UL << order;
	b->state = kvzalloc(b->npages, GFP_KERNEL);
	if (!b->state) {
		kfree(b);
		return NULL;
	}
	b->page = page;
	b->order = order;
	b->addr = (unsigned long)lm_address(page);
	b->owner = owner;
	mutex_lock(&bbml2_blocks_lock);
	list_add_tail(&b->node, &bbml2_blocks);
	mutex_unlock(&bbml2_blocks_lock);
	return b;
}

#define ALLOC_GFP	(GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY)

static int cmd_alloc(struct bbml2_session *s, unsigned int order,
		     unsigned long count)
{
	unsigned long i;

	if (order > MAX_PAGE_ORDER || !count)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		struct page *page = alloc_pages(ALLOC_GFP, order);
		struct bbml2_block *b;

		if (!page)
			break;
		b = new_block(page, order, s);
		if (!b) {
			__free_pages(page, order);
			break;
		}
		res_add(s, "0x%lx\n", b->addr);
	}
	return i ? 0 : -ENOMEM;
}

/* The zone modifier that makes the allocator look in the zone of @page. */
static gfp_t zone_gfp(struct page *page)
{
	switch (zone_idx(page_zone(page))) {
#ifdef CONFIG_ZONE_DMA
	case ZONE_DMA:
		return GFP_DMA;
#endif
#ifdef CONFIG_ZONE_DMA32
	case ZONE_DMA32:
		return GFP_DMA32;
#endif
	default:
		return 0;
	}
}

struct spare {
	struct list_head node;
	struct page *page;
};

static int cmd_alloc_at(struct bbml2_session *s, unsigned long addr,
			unsigned int order, unsigned long max)
{
	struct spare *sp, *tmp;
	LIST_HEAD(spares);
	struct page *want, *page = NULL;
	unsigned long i;
	gfp_t gfp;
	int ret = -EBUSY;

	if (order > MAX_PAGE_ORDER || !virt_addr_valid((void *)addr) ||
	    !IS_ALIGNED(addr, PAGE_SIZE << order))
		return -EINVAL;
	want = virt_to_page((void *)addr);
	gfp = ALLOC_GFP | zone_gfp(want);

	for (i = 0; i < max; i++) {
		page = alloc_pages(gfp, order);
		if (!page) {
			ret = -ENOMEM;
			break;
		}
		if (page == want)
			break;
		sp = kmalloc(sizeof(*sp), GFP_KERNEL);
		if (!sp) {
			__free_pages(page, order);
			page = NULL;
			ret = -ENOMEM;
			break;
		}
		sp->page = page;
		list_add(&sp->node, &spares);
		page = NULL;
		cond_resched();
	}
	list_for_each_entry_safe(sp, tmp, &spares, node) {
		__free_pages(sp->page, order);
		kfree(sp);
	}
	if (page != want) {
		if (page)
			__free_pages(page, order);
		return ret;
	}
	if (!new_block(page, order, s)) {
		__free_pages(page, order);
		return -ENOMEM;
	}
	res_add(s, "0x%lx\n", addr);
	return 0;
}

static int cmd_free(struct bbml2_session *s, unsigned long addr, bool all)
{
	struct bbml2_block *b, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&bbml2_blocks_lock);
	list_for_each_entry_safe(b, tmp, &bbml2_blocks, node) {
		if (b->owner == s && (all || b->addr == addr))
			list_move(&b->node, &gone);
	}
	mutex_unlock(&bbml2_blocks_lock);
	if (!all && list_empty(&gone))
		return -ENOENT;
	list_for_each_entry_safe(b, tmp, &gone, node) {
		list_del(&b->node);
		release_block(b);
	}
	return 0;
}

static int cmd_change(struct bbml2_session *s, const char *opname,
		      unsigned long addr, unsigned long npages)
{
	int op = parse_op(opname);
	int ret;

	if (op < 0 || npages > INT_MAX)
		return -EINVAL;
	if (!owned(addr, npages))
		return -EFAULT;
	ret = do_op(op, addr, npages);
	/*
	 * On failure the walk may have changed part of the range: record
	 * the change anyway so that closing the session undoes it.
	 */
	update_state(op, addr, npages);
	if (!ret)
		res_add(s, "ok\n");
	return ret;
}

static int cmd_present(struct bbml2_session *s, unsigned long addr,
		       unsigned long npages)
{
	unsigned long i;

	if (!PAGE_ALIGNED(addr) || !npages || npages > RESULT_MAX - 2)
		return -EINVAL;
	for (i = 0; i < npages; i++) {
		void *p = (void *)(addr + i * PAGE_SIZE);

		if (!virt_addr_valid(p))
			return -EINVAL;
	}
	for (i = 0; i < npages; i++) {
		void *p = (void *)(addr + i * PAGE_SIZE);

		res_add(s, "%d", kernel_page_present(virt_to_page(p)));
	}
	res_add(s, "\n");
	return 0;
}

/*
 * Write @v back to @p unless that faults. copy_to_kernel_nofault() is not
 * exported; this is what it does for one byte.
 */
static bool write_nofault(u8 *p, u8 v)
{
	pagefault_disable();
	__put_kernel_nofault(p, &v, u8, fault);
	pagefault_enable();
	return true;
fault:
	pagefault_enable();
	return false;
}

static int cmd_probe(struct bbml2_session *s, unsigned long addr,
		     unsigned long npages)
{
	unsigned long i;

	if (npages > RESULT_MAX / 4 || !owned(addr, npages))
		return -EFAULT;
	for (i = 0; i < npages; i++) {
		/* The middle of the page: away from any neighbour's data. */
		void *p = (void *)(addr + i * PAGE_SIZE + PAGE_SIZE / 2);
		bool r, w = false;
		u8 v;

		r = !copy_from_kernel_nofault(&v, p, 1);
		if (r)
			w = write_nofault(p, v);
		res_add(s, "%s%s", i ? " " : "", r ? (w ? "rw" : "r-") : "--");
	}
	res_add(s, "\n");
	return 0;
}

static u64 pattern(u64 seed, unsigned long addr)
{
	u64 x = seed ^ (addr * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 29);
}

static int cmd_fill_check(struct bbml2_session *s, unsigned long addr,
			  unsigned long npages, u64 seed, bool fill)
{
	unsigned long i, off;

	if (!owned(addr, npages))
		return -EFAULT;
	for (i = 0; i < npages; i++) {
		u8 st = *page_state(addr + i * PAGE_SIZE);

		if ((st & (ST_INVALID | ST_DMAP)) || (fill && (st & ST_RO)))
			return -EPERM;
	}
	for (off = 0; off < npages * PAGE_SIZE; off += sizeof(u64)) {
		u64 *p = (u64 *)(addr + off);
		u64 want = pattern(seed, addr + off);

		if (fill) {
			*p = want;
		} else if (READ_ONCE(*p) != want) {
			res_add(s, "mismatch 0x%lx want 0x%llx got 0x%llx\n",
				addr + off, want, READ_ONCE(*p));
			return -EIO;
		}
		if (!(off & (PAGE_SIZE - 1)))
			cond_resched();
	}
	res_add(s, "ok\n");
	return 0;
}

static int cmd_vmalloc(struct bbml2_session *s, unsigned long npages,
		       bool huge)
{
	unsigned long i;

	if (s->vm_addr || !npages || npages > 4096)
		return -EINVAL;
	if (huge)
		s->vm_addr = vmalloc_huge(npages * PAGE_SIZE, GFP_KERNEL);
	else
		s->vm_addr = vmalloc(npages * PAGE_SIZE);
	if (!s->vm_addr)
		return -ENOMEM;
	s->vm_npages = npages;
	s->vm_huge = huge;
	res_add(s, "0x%lx\n", (unsigned long)s->vm_addr);
	for (i = 0; i < npages; i++) {
		struct page *page = vmalloc_to_page(s->vm_addr + i * PAGE_SIZE);

		res_add(s, "0x%lx\n", (unsigned long)lm_address(page));
	}
	return 0;
}

static int cmd_vset(struct bbml2_session *s, const char *opname,
		    unsigned long first, unsigned long npages)
{
	unsigned long addr = (unsigned long)s->vm_addr + first * PAGE_SIZE;
	int n = npages;
	int ret;

	if (!s->vm_addr)
		return -ENOENT;
	if (!npages || first >= s->vm_npages || npages > s->vm_npages - first)
		return -EINVAL;
	if (!strcmp(opname, "ro"))
		ret = set_memory_ro(addr, n);
	else if (!strcmp(opname, "rw"))
		ret = set_memory_rw(addr, n);
	else if (!strcmp(opname, "x"))
		ret = set_memory_x(addr, n);
	else if (!strcmp(opname, "nx"))
		ret = set_memory_nx(addr, n);
	else
		return -EINVAL;
	if (!ret)
		res_add(s, "ok\n");
	return ret;
}

/*
 * set_memory_*() of @npages from the start of the session's area with no
 * bound of our own: the kernel must refuse a range that runs into the
 * area's guard page (review 2026-12b, N5) before it changes anything.
 */
static int cmd_vover(struct bbml2_session *s, const char *opname,
		     unsigned long npages)
{
	unsigned long addr = (unsigned long)s->vm_addr;
	int ret;

	if (!s->vm_addr)
		return -ENOENT;
	if (!npages || npages > s->vm_npages + 1)
		return -EINVAL;
	if (!strcmp(opname, "ro"))
		ret = set_memory_ro(addr, npages);
	else if (!strcmp(opname, "rw"))
		ret = set_memory_rw(addr, npages);
	else
		return -EINVAL;
	if (!ret)
		res_add(s, "ok\n");
	return ret;
}

/* Whether a byte in the middle of the page at @p can be read, written. */
static const char *probe_page(void *p)
{
	bool r, w = false;
	u8 v;

	p += PAGE_SIZE / 2;
	r = !copy_from_kernel_nofault(&v, p, 1);
	if (r)
		w = write_nofault(p, v);
	return r ? (w ? "rw" : "r-") : "--";
}

static void *vm_alias(struct bbml2_session *s, unsigned long i)
{
	return lm_address(vmalloc_to_page(s->vm_addr + i * PAGE_SIZE));
}

static int cmd_vprobe(struct bbml2_session *s)
{
	unsigned long i;

	if (!s->vm_addr)
		return -ENOENT;
	for (i = 0; i < s->vm_npages; i++)
		res_add(s, "%s%s", i ? " " : "", probe_page(vm_alias(s, i)));
	res_add(s, "\n");
	return 0;
}

static void vm_release(struct bbml2_session *s)
{
	unsigned long addr = (unsigned long)s->vm_addr;
	unsigned long i;

	if (!s->vm_addr)
		return;
	if (s->vm_huge) {
		/*
		 * set_memory_*() refuse huge areas; a kernel that did not
		 * may have left read-only alias pages behind: fix them up
		 * before the pages go back to the allocator.
		 */
		for (i = 0; i < s->vm_npages; i++) {
			void *p = vm_alias(s, i);

			if (strcmp(probe_page(p), "rw") &&
			    arm64_linear_map_change_for_test((unsigned long)p, 1,
							     __pgprot(PTE_WRITE),
							     __pgprot(PTE_RDONLY)))
				pr_err("cannot make the alias %p writable\n", p);
		}
		vfree(s->vm_addr);
	} else if (set_memory_nx(addr, s->vm_npages) ||
	    set_memory_rw(addr, s->vm_npages)) {
		pr_err("cannot restore the vmalloc area %p: leaking it\n",
		       s->vm_addr);
	} else {
		vfree(s->vm_addr);
	}
	s->vm_addr = NULL;
	s->vm_npages = 0;
	s->vm_huge = false;
}

static int cmd_leaf(struct bbml2_session *s, unsigned long addr)
{
	unsigned long size;
	u64 desc;
	int ret;

	ret = arm64_kernel_leaf_for_test(addr, &size, &desc);
	if (ret)
		return ret;
	res_add(s, "size=%lu desc=0x%llx valid=%d\n", size, desc,
		!!(desc & PTE_VALID));
	return 0;
}

/*
 * "tcopy ADDR LEN": the leaf that maps ADDR in a copy of [ADDR, ADDR + LEN)
 * made as hibernation's resume makes it (trans_pgd_create_copy()).
 */
static int cmd_tcopy(struct bbml2_session *s, unsigned long addr,
		     unsigned long len)
{
	unsigned long size;
	u64 desc;
	int ret;

	ret = arm64_trans_pgd_leaf_for_test(addr, len, &size, &desc);
	if (ret)
		return ret;
	res_add(s, "size=%lu desc=0x%llx valid=%d\n", size, desc,
		!!(desc & PTE_VALID));
	return 0;
}

static int cmd_hotmem(struct bbml2_session *s, unsigned long phys)
{
	unsigned long pfn = PHYS_PFN(phys);
	struct mem_section *ms;

	if (pfn_to_section_nr(pfn) >= NR_MEM_SECTIONS)
		return -EINVAL;
	ms = __pfn_to_section(pfn);
	if (!valid_section(ms))
		return -ENOENT;
	res_add(s, "early=%d online=%d virt=0x%lx\n", early_section(ms),
		online_section(ms), (unsigned long)phys_to_virt(phys));
	return 0;
}

/*
 * Change the linear map attributes of one page of hot-added memory whose
 * section is offline: its pages belong to nobody (offline_pages() took
 * them out of the allocator), so making one read-only cannot fault
 * anyone. The split this takes allocates page tables that a later
 * removal of the memory frees (review 2026-12b, N1).
 */
static int cmd_hotchange(struct bbml2_session *s, const char *opname,
			 unsigned long phys)
{
	unsigned long pfn = PHYS_PFN(phys);
	struct mem_section *ms;
	int op = parse_op(opname);

	if (op != OP_RO && op != OP_RW)
		return -EINVAL;
	if (!PAGE_ALIGNED(phys) || pfn_to_section_nr(pfn) >= NR_MEM_SECTIONS)
		return -EINVAL;
	ms = __pfn_to_section(pfn);
	if (!valid_section(ms) || early_section(ms))
		return -ENOENT;
	if (online_section(ms))
		return -EBUSY;
	return do_op(op, (unsigned long)phys_to_virt(phys), 1);
}

static int cmd_remove(unsigned long phys, unsigned long size)
{
#ifdef CONFIG_MEMORY_HOTREMOVE
	/* offline_and_remove_memory() WARNs on these. */
	if (!size || !IS_ALIGNED(phys | size, memory_block_size_bytes()))
		return -EINVAL;
	return offline_and_remove_memory(phys, size);
#else
	return -EOPNOTSUPP;
#endif
}

static int cmd_pread(struct bbml2_session *s, unsigned long phys,
		     unsigned long size)
{
	unsigned long off, bad = 0, first = 0;
	u8 v;

	if (!PAGE_ALIGNED(phys) || !PAGE_ALIGNED(size) || !size)
		return -EINVAL;
	for (off = 0; off < size; off += PAGE_SIZE) {
		void *p = phys_to_virt(phys + off) + PAGE_SIZE / 2;

		if (copy_from_kernel_nofault(&v, p, 1)) {
			if (!bad++)
				first = phys + off;
		}
		if (!(off & (SZ_2M - 1)))
			cond_resched();
	}
	res_add(s, "unreadable=%lu first=0x%lx\n", bad, first);
	return 0;
}

/* The init areas are freed after loading: remember where they were. */
#define INIT_PAGES_MAX	64
static unsigned long init_pages[MOD_MEM_NUM_TYPES][INIT_PAGES_MAX];
static unsigned int init_npages[MOD_MEM_NUM_TYPES];

static void record_init_pages(void)
{
	for_each_mod_mem_type(t) {
		struct module_memory *mem = &THIS_MODULE->mem[t];
		unsigned long i, n = DIV_ROUND_UP(mem->size, PAGE_SIZE);

		if (!mod_mem_type_is_init(t) || !mem->base)
			continue;
		for (i = 0; i < n && i < INIT_PAGES_MAX; i++) {
			struct page *page = vmalloc_to_page(mem->base + i * PAGE_SIZE);

			init_pages[t][i] = page ? (unsigned long)lm_address(page) : 0;
		}
		init_npages[t] = i;
	}
}

/*
 * Module init memory is freed by a work item on the system per-CPU
 * workqueue (kernel/module/main.c: do_free_init()), queued before
 * finit_module() returns. flush_module_init_free_work() is not exported;
 * flushing that workqueue waits for it as well.
 */
static int cmd_sync(void)
{
	__flush_workqueue(system_percpu_wq);
	return 0;
}

static const char * const mem_names[MOD_MEM_NUM_TYPES] = {
	[MOD_TEXT] = "text",
	[MOD_DATA] = "data",
	[MOD_RODATA] = "rodata",
	[MOD_RO_AFTER_INIT] = "ro_after_init",
	[MOD_INIT_TEXT] = "init_text",
	[MOD_INIT_DATA] = "init_data",
	[MOD_INIT_RODATA] = "init_rodata",
};

static int cmd_info(struct bbml2_session *s)
{
	res_add(s, "page_size=%lu\n", PAGE_SIZE);
#ifdef CONFIG_KFENCE
	res_add(s, "kfence_pool=0x%lx\n", (unsigned long)__kfence_pool);
	res_add(s, "kfence_pool_size=%lu\n",
		__kfence_pool ? (unsigned long)KFENCE_POOL_SIZE : 0UL);
#else
	res_add(s, "kfence_pool=0x0\nkfence_pool_size=0\n");
#endif
	for_each_mod_mem_type(t) {
		struct module_memory *mem = &THIS_MODULE->mem[t];
		unsigned long i, n = DIV_ROUND_UP(mem->size, PAGE_SIZE);
		bool ro = t == MOD_TEXT || t == MOD_RODATA ||
			  t == MOD_RO_AFTER_INIT || t == MOD_INIT_TEXT ||
			  t == MOD_INIT_RODATA;

		if (mod_mem_type_is_init(t)) {
			res_add(s, "mem %s %d %u\n", mem_names[t], ro,
				init_npages[t]);
			for (i = 0; i < init_npages[t]; i++)
				res_add(s, "0x%lx\n", init_pages[t][i]);
			continue;
		}
		if (!mem->base)
			n = 0;
		res_add(s, "mem %s %d %lu\n", mem_names[t], ro, n);
		for (i = 0; i < n; i++) {
			struct page *page = vmalloc_to_page(mem->base + i * PAGE_SIZE);

			res_add(s, "0x%lx\n",
				page ? (unsigned long)lm_address(page) : 0UL);
		}
	}
	return 0;
}

static int run_cmd(struct bbml2_session *s, char *cmd)
{
	char word[16], arg[16];
	unsigned long a, b, c;
	unsigned long long seed;
	unsigned int order;

	if (sscanf(cmd, "alloc_at %lx %u %lu", &a, &order, &b) == 3)
		return cmd_alloc_at(s, a, order, b);
	if (sscanf(cmd, "alloc %u %lu", &order, &b) == 2)
		return cmd_alloc(s, order, b);
	if (!strcmp(cmd, "free_all"))
		return cmd_free(s, 0, true);
	if (sscanf(cmd, "free %lx", &a) == 1)
		return cmd_free(s, a, false);
	if (sscanf(cmd, "change %15s %lx %lu", arg, &a, &b) == 3)
		return cmd_change(s, arg, a, b);
	if (sscanf(cmd, "present %lx %lu", &a, &b) == 2)
		return cmd_present(s, a, b);
	if (sscanf(cmd, "probe %lx %lu", &a, &b) == 2)
		return cmd_probe(s, a, b);
	if (sscanf(cmd, "%15s %lx %lu %llx", word, &a, &b, &seed) == 4) {
		if (!strcmp(word, "fill"))
			return cmd_fill_check(s, a, b, seed, true);
		if (!strcmp(word, "check"))
			return cmd_fill_check(s, a, b, seed, false);
	}
	if (sscanf(cmd, "vmalloc_huge %lu", &c) == 1)
		return cmd_vmalloc(s, c, true);
	if (sscanf(cmd, "vmalloc %lu", &c) == 1)
		return cmd_vmalloc(s, c, false);
	if (sscanf(cmd, "vset %15s %lu %lu", arg, &a, &b) == 3)
		return cmd_vset(s, arg, a, b);
	if (sscanf(cmd, "vset %15s", arg) == 1)
		return cmd_vset(s, arg, 0, s->vm_npages);
	if (!strcmp(cmd, "vprobe"))
		return cmd_vprobe(s);
	if (sscanf(cmd, "tcopy %lx %lx", &a, &b) == 2)
		return cmd_tcopy(s, a, b);
	if (sscanf(cmd, "leaf %lx", &a) == 1)
		return cmd_leaf(s, a);
	if (sscanf(cmd, "hotmem %lx", &a) == 1)
		return cmd_hotmem(s, a);
	if (sscanf(cmd, "hotchange %15s %lx", arg, &a) == 2)
		return cmd_hotchange(s, arg, a);
	if (sscanf(cmd, "vover %15s %lu", arg, &a) == 2)
		return cmd_vover(s, arg, a);
	if (sscanf(cmd, "remove %lx %lx", &a, &b) == 2)
		return cmd_remove(a, b);
	if (sscanf(cmd, "pread %lx %lx", &a, &b) == 2)
		return cmd_pread(s, a, b);
	if (!strcmp(cmd, "vfree")) {
		vm_release(s);
		return 0;
	}
	if (!strcmp(cmd, "info"))
		return cmd_info(s);
	if (!strcmp(cmd, "sync"))
		return cmd_sync();
	return -EINVAL;
}

static ssize_t ctl_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	struct bbml2_session *s = file->private_data;
	char cmd[CMD_MAX];
	int ret;

	if (!count || count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	cmd[count] = '\0';

	mutex_lock(&s->lock);
	s->len = 0;
	s->result[0] = '\0';
	ret = run_cmd(s, strim(cmd));
	if (ret)
		s->len = 0;
	mutex_unlock(&s->lock);
	return ret ? ret : count;
}

static ssize_t ctl_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	struct bbml2_session *s = file->private_data;
	ssize_t ret;

	mutex_lock(&s->lock);
	ret = simple_read_from_buffer(ubuf, count, ppos, s->result, s->len);
	mutex_unlock(&s->lock);
	return ret;
}

static int ctl_open(struct inode *inode, struct file *file)
{
	struct bbml2_session *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return -ENOMEM;
	s->result = kvzalloc(RESULT_MAX, GFP_KERNEL);
	if (!s->result) {
		kfree(s);
		return -ENOMEM;
	}
	mutex_init(&s->lock);
	file->private_data = s;
	return 0;
}

static int ctl_release(struct inode *inode, struct file *file)
{
	struct bbml2_session *s = file->private_data;

	cmd_free(s, 0, true);
	vm_release(s);
	kvfree(s->result);
	kfree(s);
	return 0;
}

static const struct file_operations ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= ctl_open,
	.release	= ctl_release,
	.read		= ctl_read,
	.write		= ctl_write,
	.llseek		= default_llseek,
};

/*
 * Module init memory (there is always some: .init.plt, .init.data...) is
 * freed asynchronously after loading; see "sync". No __init here, so that
 * the areas stay small.
 */
static int bbml2_test_init(void)
{
	record_init_pages();
	bbml2_dir = debugfs_create_dir("bbml2_test", NULL);
	if (IS_ERR(bbml2_dir))
		return PTR_ERR(bbml2_dir);
	debugfs_create_file("ctl", 0600, bbml2_dir, NULL, &ctl_fops);
	return 0;
}

static void bbml2_test_exit(void)
{
	debugfs_remove_recursive(bbml2_dir);
}

module_init(bbml2_test_init);
module_exit(bbml2_test_exit);

MODULE_DESCRIPTION("Linear map attribute changes for the arm64/bbml2 kselftests");
MODULE_LICENSE("GPL");
MODULE_INFO(test, "Y");
