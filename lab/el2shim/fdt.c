// SPDX-License-Identifier: GPL-2.0
/*
 * A flattened device tree reader, just enough for QEMU's virt DTB: it walks
 * the structure block once and picks out /cpus, /memory, /chosen and /psci.
 * All accesses are byte-wise: el2shim runs with the MMU off, where memory
 * is Device memory and unaligned accesses fault.
 */
#include "fdt.h"

#define NULL ((void *)0)

#define FDT_MAGIC	0xd00dfeed
#define FDT_BEGIN_NODE	1
#define FDT_END_NODE	2
#define FDT_PROP	3
#define FDT_NOP		4
#define FDT_END		9
#define MAX_DEPTH	8

static u32 be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static u64 be_cells(const u8 *p, u32 len)
{
	return len == 8 ? (u64)be32(p) << 32 | be32(p + 4) : be32(p);
}

static void put_be32(u8 *p, u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* node name without unit address equals base */
static int node_is(const char *name, const char *base)
{
	while (*base && *name == *base) {
		name++;
		base++;
	}
	return !*base && (*name == '\0' || *name == '@');
}

static u32 align4(u32 v)
{
	return (v + 3) & ~3u;
}

static int prop(struct fdt_info *info, const char **path, int depth,
		const char *name, const u8 *val, u32 len, const char **err)
{
	if (depth == 0) {
		if ((streq(name, "#address-cells") || streq(name, "#size-cells")) &&
		    (len != 4 || be32(val) != 2)) {
			*err = "root #address-cells and #size-cells must be 2";
			return -1;
		}
		return 0;
	}
	if (depth == 1 && node_is(path[1], "memory") && streq(name, "reg")) {
		if (info->nmem++)
			return 0;
		if (len != 16) {
			*err = "/memory reg is not one range of 2+2 cells";
			return -1;
		}
		info->mem_base = be_cells(val, 8);
		info->mem_size = be_cells(val + 8, 8);
		return 0;
	}
	if (depth == 1 && node_is(path[1], "chosen")) {
		if (streq(name, "bootargs"))
			info->bootargs = (const char *)val;
		else if (streq(name, "linux,initrd-start") && (len == 4 || len == 8))
			info->initrd_start = be_cells(val, len);
		else if (streq(name, "linux,initrd-end") && (len == 4 || len == 8))
			info->initrd_end = be_cells(val, len);
		return 0;
	}
	if (depth == 1 && node_is(path[1], "psci") && streq(name, "method")) {
		info->psci_method = (const char *)val;
		return 0;
	}
	if (depth == 2 && node_is(path[1], "cpus") && node_is(path[2], "cpu") &&
	    streq(name, "reg")) {
		if (len != 4 && len != 8) {
			*err = "/cpus/cpu reg is neither 1 nor 2 cells";
			return -1;
		}
		if (info->ncpus == FDT_MAX_CPUS) {
			*err = "more CPUs than el2shim supports (16)";
			return -1;
		}
		info->mpidr[info->ncpus++] = be_cells(val, len);
	}
	return 0;
}

int fdt_scan(const void *fdt, struct fdt_info *info, const char **err)
{
	const u8 *base = fdt, *p;
	const char *path[MAX_DEPTH];
	const char *strings;
	u32 off_struct, size_struct, tok, len, off = 0;
	int depth = -1;

	info->ncpus = 0;
	info->nmem = 0;
	info->bootargs = NULL;
	info->psci_method = NULL;
	info->initrd_start = 0;
	info->initrd_end = 0;

	if (be32(base) != FDT_MAGIC) {
		*err = "no device tree in x0 (bad magic)";
		return -1;
	}
	if (be32(base + 20) < 17) {
		*err = "device tree older than version 17";
		return -1;
	}
	info->totalsize = be32(base + 4);
	off_struct = be32(base + 8);
	strings = (const char *)base + be32(base + 12);
	size_struct = be32(base + 36);
	p = base + off_struct;

	while (off + 4 <= size_struct) {
		tok = be32(p + off);
		off += 4;
		switch (tok) {
		case FDT_BEGIN_NODE:
			if (++depth >= MAX_DEPTH) {
				*err = "device tree nested too deep";
				return -1;
			}
			path[depth] = (const char *)p + off;
			while (p[off])
				off++;
			off = align4(off + 1);
			break;
		case FDT_END_NODE:
			if (depth-- < 0) {
				*err = "device tree: unbalanced END_NODE";
				return -1;
			}
			break;
		case FDT_PROP:
			if (depth < 0) {
				*err = "device tree: property outside the root";
				return -1;
			}
			len = be32(p + off);
			if (prop(info, path, depth, strings + be32(p + off + 4),
				 p + off + 8, len, err))
				return -1;
			off = align4(off + 8 + len);
			break;
		case FDT_NOP:
			break;
		case FDT_END:
			if (depth != -1) {
				*err = "device tree: END inside a node";
				return -1;
			}
			return 0;
		default:
			*err = "device tree: bad token in the structure block";
			return -1;
		}
	}
	*err = "device tree: structure block has no END";
	return -1;
}

int fdt_get_memreserve(const void *fdt, int i, u64 *base, u64 *size)
{
	const u8 *p = (const u8 *)fdt + be32(fdt + 16);
	int n;

	for (n = 0;; n++, p += 16) {
		*base = be_cells(p, 8);
		*size = be_cells(p + 8, 8);
		if (!*base && !*size)
			return -1;
		if (n == i)
			return 0;
	}
}

static void put_be64(u8 *p, u64 v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, v);
}

int fdt_add_memreserve(void *fdt, u64 base, u64 size, const char **err)
{
	u8 *b = fdt, *term;
	u32 off_rsv = be32(b + 16), off_struct = be32(b + 8);
	u32 off_strings = be32(b + 12), total = be32(b + 4);
	u32 end_struct = off_struct + be32(b + 36);
	u32 end_strings = off_strings + be32(b + 32);
	u32 end = end_struct > end_strings ? end_struct : end_strings;
	u32 from, i;
	u64 rb, rs;

	if (off_struct < off_rsv || off_strings < off_rsv) {
		*err = "device tree: memory reservation block is not first";
		return -1;
	}
	if (end + 16 > total) {
		*err = "device tree: no free space for a /memreserve/ entry";
		return -1;
	}
	for (i = 0; !fdt_get_memreserve(fdt, i, &rb, &rs); i++)
		;
	term = b + off_rsv + 16 * i;
	from = term - b;
	if (off_struct < from + 16 || off_strings < from + 16) {
		*err = "device tree: blocks overlap the reservation map";
		return -1;
	}
	for (i = end; i > from; i--)
		b[i - 1 + 16] = b[i - 1];
	put_be64(term, base);
	put_be64(term + 8, size);
	put_be32(b + 8, off_struct + 16);
	put_be32(b + 12, off_strings + 16);
	return 0;
}
