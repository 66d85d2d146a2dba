// SPDX-License-Identifier: GPL-2.0
/*
 * el2shim: a tiny EL2 program that runs Linux at EL1 on QEMU's virt machine
 * and gives every CPU its own MIDR (VPIDR_EL2), so that a boot CPU on the
 * BBML2 allow-list can sit beside secondaries that are not.
 *
 * It traps SMC (HCR_EL2.TSC), forwards PSCI to QEMU's firmware with its own
 * SMC from EL2, and substitutes its own entry point in CPU_ON, so that each
 * CPU, at boot and on every later online, passes through here to have its
 * EL2 state rebuilt before it drops to the kernel's entry point at EL1.
 */
#include "shim.h"
#include "fdt.h"
#include "cpulist.h"

#define MPIDR_HWID_MASK		0xff00ffffffUL

#define HCR_RW			BIT(31)
#define HCR_TWI			BIT(13)
#define HCR_TSC			BIT(19)
#define HCR_TID3		BIT(18)
#define HCR_TVM			BIT(26)
#define HCR_APK			BIT(40)
#define HCR_API			BIT(41)
#define HCR_ATA			BIT(56)
#define SCTLR_EL2_RES1		0x30c50830UL	/* MMU, caches off, LE */
#define CPTR_EL2_RES1		0x22ffUL	/* nVHE layout */
#define CPTR_EL2_TZ		BIT(8)
#define CPTR_EL2_TSM		BIT(12)
#define CNTHCTL_EL1PCTEN	BIT(0)
#define CNTHCTL_EL1PCEN		BIT(1)
#define ICC_SRE_EL2_SRE		BIT(0)
#define ICC_SRE_EL2_ENABLE	BIT(3)

#define EC_HVC64		0x16
#define EC_SMC64		0x17
#define EC_SYS64		0x18

#define PSCI_FN(n)		(0x84000000U + (n))
#define PSCI_CPU_ON		PSCI_FN(3)
#define PSCI_SYSTEM_OFF		PSCI_FN(8)
#define SMC64			BIT(30)
#define NOT_SUPPORTED		((u64)-1)

#define SZ_2M			0x200000UL

#define MMFR2_BBM_SHIFT		52
#define TTBR_BADDR_MASK		0x0000fffffffffffeUL	/* ASID and CnP aside */

struct cpu {
	u64 mpidr;		/* from the DT, equals the CPU's MPIDR_EL1 */
	u32 midr;		/* VPIDR_EL2, CPULIST_HOST: keep QEMU's */
	u64 entry, ctx;		/* the kernel's last CPU_ON for this CPU */
	int bbm3;		/* el2shim.bbm3=: ID_AA64MMFR2_EL1.BBM reads 3 */
	u32 hold_ms;		/* el2shim.hold=: held this long, once */
	int held;
};

u8 shim_stacks[SHIM_MAX_CPUS][1UL << SHIM_STACK_SHIFT] __aligned(16);
static struct cpu cpus[SHIM_MAX_CPUS];
static int ncpus;
static int selftest_twi;	/* el2shim.selftest=twi: trap WFI, to see a fatal trap */
static struct fdt_info dt;
static u32 unsupported[8];

static u64 stack_top(int idx)
{
	return (u64)&shim_stacks[0][0] + ((u64)(idx + 1) << SHIM_STACK_SHIFT);
}

static int cpu_index(u64 mpidr)
{
	int i;

	for (i = 0; i < ncpus; i++)
		if (cpus[i].mpidr == (mpidr & MPIDR_HWID_MASK))
			return i;
	return -1;
}

static int this_cpu(void)
{
	return cpu_index(read_sysreg(mpidr_el1));
}

static void __noreturn stop(void)
{
	puts("el2shim: stopping the machine (PSCI SYSTEM_OFF)\n");
	smc_call(PSCI_SYSTEM_OFF, 0, 0, 0);
	halt();
}

static void fatal_head(void)
{
	int cpu = this_cpu();

	puts("\nel2shim: FATAL on cpu");
	if (cpu < 0)
		puts("?");
	else
		putdec(cpu);
	puts(": ");
}

static void __noreturn fatal(const char *what, const char *more)
{
	fatal_head();
	puts(what);
	if (more)
		puts(more);
	puts("\n");
	stop();
}

static void put_reg(const char *name, u64 v)
{
	puts(name);
	puthex(v);
}

static const char *ec_name(u64 ec)
{
	switch (ec) {
	case 0x01: return "WFI/WFE";
	case 0x07: return "FP/SIMD access";
	case 0x09: return "PAuth";
	case 0x16: return "HVC";
	case 0x17: return "SMC";
	case EC_SYS64: return "MSR/MRS";
	case 0x19: return "SVE";
	case 0x1d: return "SME";
	case 0x20: case 0x21: return "instruction abort";
	case 0x24: case 0x25: return "data abort";
	default: return "see the Arm ARM, ESR_EL2.EC";
	}
}

static void dump_state(const struct regs *r)
{
	u64 esr = read_sysreg(esr_el2);

	put_reg("el2shim:   ESR_EL2=", esr);
	put_reg(" EC=", esr >> 26);
	puts(" (");
	puts(ec_name(esr >> 26));
	puts(")");
	put_reg(" ELR_EL2=", read_sysreg(elr_el2));
	put_reg(" SPSR_EL2=", read_sysreg(spsr_el2));
	put_reg(" FAR_EL2=", read_sysreg(far_el2));
	puts("\n");
	put_reg("el2shim:   x0=", r->x[0]);
	put_reg(" x1=", r->x[1]);
	put_reg(" x2=", r->x[2]);
	put_reg(" x3=", r->x[3]);
	puts("\n");
	if ((esr >> 26) == EC_SYS64) {
		/* ISS: Op0 21:20, Op2 19:17, Op1 16:14, CRn 13:10, CRm 4:1 */
		puts("el2shim:   trapped system register access: ");
		puts(esr & 1 ? "mrs " : "msr ");
		puts("s");
		putdec(FIELD(esr, 20, 2));
		puts("_");
		putdec(FIELD(esr, 14, 3));
		puts("_c");
		putdec(FIELD(esr, 10, 4));
		puts("_c");
		putdec(FIELD(esr, 1, 4));
		puts("_");
		putdec(FIELD(esr, 17, 3));
		puts("\n");
	}
}

/* Every exception but a synchronous one from EL1: a bug, say so and stop. */
void handle_bad(struct regs *r, u64 vector)
{
	static const char *const kind[] = { "sync", "IRQ", "FIQ", "SError" };

	fatal_head();
	puts("unexpected ");
	puts(kind[vector & 3]);
	puts(vector < 8 ? " exception taken at EL2 (el2shim bug)" :
	     vector < 12 ? " from EL1 routed to EL2" : " from AArch32 EL1");
	puts("\n");
	dump_state(r);
	stop();
}

static void __noreturn fatal_trap(struct regs *r, const char *what)
{
	fatal_head();
	puts(what);
	puts("\n");
	dump_state(r);
	stop();
}

/* Say once per function ID which SMCCC calls were refused. */
static void note_unsupported(u32 fid)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(unsupported); i++) {
		if (unsupported[i] == fid)
			return;
		if (!unsupported[i]) {
			unsupported[i] = fid;
			puts("el2shim: SMCCC call ");
			puthex(fid);
			puts(" is not PSCI: NOT_SUPPORTED\n");
			return;
		}
	}
}

static int is_psci(u32 fid)
{
	u32 f = fid & ~(u32)SMC64;

	return f >= PSCI_FN(0) && f <= PSCI_FN(0x1f);
}

/*
 * CPU_ON: remember the kernel's entry point and context for the target and
 * have QEMU start it in secondary_entry instead, with its table index.
 */
static u64 psci_cpu_on(u32 fid, u64 target, u64 entry, u64 ctx)
{
	int idx = cpu_index(target);

	if (idx < 0)	/* QEMU answers INVALID_PARAMETERS */
		return smc_call(fid, target, entry, ctx);
	cpus[idx].entry = entry;
	cpus[idx].ctx = ctx;
	return smc_call(fid, target, (u64)secondary_entry, idx);
}

static void smccc(struct regs *r, u64 imm)
{
	u32 fid = r->x[0];
	u64 a1 = r->x[1], a2 = r->x[2], a3 = r->x[3];

	if (imm || !is_psci(fid)) {
		note_unsupported(fid);
		r->x[0] = NOT_SUPPORTED;
		return;
	}
	if (!(fid & SMC64)) {
		a1 &= 0xffffffffUL;
		a2 &= 0xffffffffUL;
		a3 &= 0xffffffffUL;
	}
	if ((fid & ~(u32)SMC64) == PSCI_CPU_ON)
		r->x[0] = psci_cpu_on(fid, a1, a2, a3);
	else
		r->x[0] = smc_call(fid, a1, a2, a3);
}

/*
 * el2shim.hold=CPU:MS: the CPU's first TTBR1_EL1 write with its MMU on
 * that changes the table base is delayed by MS. On a secondary that is
 * the reserved TTBR1 it installs as it parks for the repaint (or for
 * KPTI), before it counts itself in: the boot CPU's wait for the parked
 * CPUs sees a CPU that does not come. Nothing is trapped afterwards.
 */
static void hold(int idx, struct cpu *c)
{
	u64 frq = read_sysreg(cntfrq_el0);
	u64 end = read_sysreg(cntpct_el0) + frq / 1000 * c->hold_ms;

	c->held = 1;
	puts("el2shim: cpu");
	putdec(idx);
	puts(" held for ");
	putdec(c->hold_ms);
	puts(" ms at its first TTBR1_EL1 change with the MMU on (el2shim.hold=)\n");
	while (read_sysreg(cntpct_el0) < end)
		;
	puts("el2shim: cpu");
	putdec(idx);
	puts(" released\n");
	write_sysreg(read_sysreg(hcr_el2) & ~HCR_TVM, hcr_el2);
}

#define SYSREG(op1, crn, crm, op2)	((op1) << 12 | (crn) << 8 | (crm) << 4 | (op2))

/* HCR_EL2.TVM traps EL1's writes of these: make them (op0 is 3). */
static int tvm_write(struct cpu *c, int idx, u32 reg, u64 v)
{
	switch (reg) {
	case SYSREG(0, 1, 0, 0):
		write_sysreg(v, sctlr_el1);
		break;
	case SYSREG(0, 2, 0, 0):
		write_sysreg(v, ttbr0_el1);
		break;
	case SYSREG(0, 2, 0, 1):
		if (c->hold_ms && !c->held && (read_sysreg(sctlr_el1) & 1) &&
		    ((v ^ read_sysreg(ttbr1_el1)) & TTBR_BADDR_MASK))
			hold(idx, c);
		write_sysreg(v, ttbr1_el1);
		break;
	case SYSREG(0, 2, 0, 2):
		write_sysreg(v, tcr_el1);
		break;
	case SYSREG(0, 5, 1, 0):
		write_sysreg(v, afsr0_el1);
		break;
	case SYSREG(0, 5, 1, 1):
		write_sysreg(v, afsr1_el1);
		break;
	case SYSREG(0, 5, 2, 0):
		write_sysreg(v, esr_el1);
		break;
	case SYSREG(0, 6, 0, 0):
		write_sysreg(v, far_el1);
		break;
	case SYSREG(0, 10, 2, 0):
		write_sysreg(v, mair_el1);
		break;
	case SYSREG(0, 10, 3, 0):
		write_sysreg(v, amair_el1);
		break;
	case SYSREG(0, 13, 0, 1):
		write_sysreg(v, contextidr_el1);
		break;
	default:
		return -1;
	}
	return 0;
}

/*
 * A trapped MRS/MSR: with el2shim.bbm3= (HCR_EL2.TID3) the ID registers,
 * answered from the real ones with ID_AA64MMFR2_EL1.BBM = 3; with
 * el2shim.hold= (HCR_EL2.TVM) the writes of the virtual memory controls.
 */
static void sysreg_trap(struct regs *r, u64 esr)
{
	u32 op0 = FIELD(esr, 20, 2), op2 = FIELD(esr, 17, 3), op1 = FIELD(esr, 14, 3);
	u32 crn = FIELD(esr, 10, 4), rt = FIELD(esr, 5, 5), crm = FIELD(esr, 1, 4);
	int idx = this_cpu(), read = esr & 1;
	u64 v;

	if (idx < 0)
		fatal_trap(r, "system register trap on a CPU not in the table");
	if (read && op0 == 3 && !op1 && !crn && crm >= 1 && crm <= 7) {
		v = read_id_reg((crm - 1) * 8 + op2);
		if (crm == 7 && op2 == 2 && cpus[idx].bbm3)
			v = (v & ~(0xfUL << MMFR2_BBM_SHIFT)) | 3UL << MMFR2_BBM_SHIFT;
		if (rt != 31)
			r->x[rt] = v;
	} else if (read || op0 != 3 ||
		   tvm_write(&cpus[idx], idx, SYSREG(op1, crn, crm, op2),
			     rt == 31 ? 0 : r->x[rt])) {
		fatal_trap(r, "unhandled system register trap from EL1");
	}
	write_sysreg(read_sysreg(elr_el2) + 4, elr_el2);
}

void handle_lower_sync(struct regs *r)
{
	u64 esr = read_sysreg(esr_el2);

	switch (esr >> 26) {
	case EC_SMC64:
		/* a trapped SMC returns to itself: step over it */
		write_sysreg(read_sysreg(elr_el2) + 4, elr_el2);
		smccc(r, esr & 0xffff);
		break;
	case EC_HVC64:
		smccc(r, esr & 0xffff);
		break;
	case EC_SYS64:
		sysreg_trap(r, esr);
		break;
	default:
		fatal_trap(r, "unhandled exception from EL1");
	}
}

/*
 * EL2 state for running Linux at EL1, rebuilt on every entry since QEMU
 * resets a CPU for each CPU_ON. Follows what Linux's own el2_setup.h does
 * for an nVHE host, minus stage 2.
 */
static void el2_setup(const struct cpu *c)
{
	u64 pfr0 = read_sysreg(id_aa64pfr0_el1);
	u64 pfr1 = read_sysreg(id_aa64pfr1_el1);
	u64 dfr0 = read_sysreg(id_aa64dfr0_el1);
	u64 mmfr0 = read_sysreg(id_aa64mmfr0_el1);
	u64 mmfr1 = read_sysreg(id_aa64mmfr1_el1);
	u64 sve = FIELD(pfr0, 32, 4), sme = FIELD(pfr1, 24, 4);
	u64 pmuver = FIELD(dfr0, 8, 4);
	u64 hcr = HCR_RW | HCR_TSC | HCR_API | HCR_APK;
	u64 cptr = CPTR_EL2_RES1, mdcr = 0, v;

	if (FIELD(pfr1, 8, 4) >= 2)	/* MTE2: EL1 owns allocation tags */
		hcr |= HCR_ATA;
	if (selftest_twi)
		hcr |= HCR_TWI;
	if (c->bbm3)
		hcr |= HCR_TID3;
	if (c->hold_ms && !c->held)
		hcr |= HCR_TVM;
	write_sysreg(hcr, hcr_el2);
	write_sysreg(SCTLR_EL2_RES1, sctlr_el2);
	write_sysreg(0, vttbr_el2);
	write_sysreg(0, hstr_el2);

	write_sysreg(CNTHCTL_EL1PCTEN | CNTHCTL_EL1PCEN, cnthctl_el2);
	write_sysreg(0, cntvoff_el2);

	if (!sve)
		cptr |= CPTR_EL2_TZ;
	if (!sme)
		cptr |= CPTR_EL2_TSM;
	write_sysreg(cptr, cptr_el2);
	isb();
	if (sve)
		write_sysreg(0xf, s3_4_c1_c2_0);		/* ZCR_EL2.LEN max */
	if (sme) {
		v = 0xf;					/* SMCR_EL2.LEN max */
		if (read_sysreg(s3_0_c0_c4_5) >> 63)		/* SMFR0.FA64 */
			v |= BIT(31);
		if (sme >= 2)
			v |= BIT(30);				/* EZT0 */
		write_sysreg(v, s3_4_c1_c2_6);
	}

	if (pmuver && pmuver != 0xf)			/* HPMN: all counters */
		mdcr |= FIELD(read_sysreg(pmcr_el0), 11, 5);
	if (FIELD(dfr0, 32, 4))				/* SPE: EL1 owns */
		mdcr |= 3UL << 12;
	if (FIELD(dfr0, 44, 4))				/* TRBE: EL1 owns */
		mdcr |= 3UL << 24;
	write_sysreg(mdcr, mdcr_el2);

	if (!FIELD(pfr0, 24, 4))
		fatal("no GICv3 system registers: boot with -M virt,gic-version=3", 0);
	write_sysreg(ICC_SRE_EL2_SRE | ICC_SRE_EL2_ENABLE | 6, s3_4_c12_c9_5);
	isb();
	if (!(read_sysreg(s3_4_c12_c9_5) & ICC_SRE_EL2_SRE))
		fatal("ICC_SRE_EL2.SRE does not stick: GICv3 system registers unusable", 0);
	write_sysreg(0, s3_4_c12_c11_0);		/* ICH_HCR_EL2 */

	if (FIELD(mmfr1, 40, 4))			/* FEAT_HCX */
		write_sysreg(0, s3_4_c1_c2_2);		/* HCRX_EL2 */
	if (FIELD(mmfr0, 56, 4)) {			/* FEAT_FGT: no traps */
		write_sysreg(0, s3_4_c1_c1_4);		/* HFGRTR_EL2 */
		write_sysreg(0, s3_4_c1_c1_5);		/* HFGWTR_EL2 */
		write_sysreg(0, s3_4_c1_c1_6);		/* HFGITR_EL2 */
		write_sysreg(0, s3_4_c3_c1_4);		/* HDFGRTR_EL2 */
		write_sysreg(0, s3_4_c3_c1_5);		/* HDFGWTR_EL2 */
	}

	v = c->midr == CPULIST_HOST ? read_sysreg(midr_el1) : c->midr;
	write_sysreg(v, vpidr_el2);
	write_sysreg(read_sysreg(mpidr_el1), vmpidr_el2);
	isb();
}

void shim_secondary(u64 idx)
{
	const struct cpu *c = &cpus[idx];

	if ((int)idx >= ncpus || this_cpu() != (int)idx)
		fatal("secondary entry with a context that is not its CPU index", 0);
	if (!c->entry)
		fatal("secondary entry without a CPU_ON from the kernel", 0);
	el2_setup(c);
	enter_el1(c->entry, c->ctx, stack_top(idx));
}

static const char *find_arg(const char *args, const char *key)
{
	size_t n = strlen(key);
	const char *p = args;

	while (p && *p) {
		if ((p == args || p[-1] == ' ') && !strncmp(p, key, n))
			return p + n;
		p++;
	}
	return 0;
}

static void put_word(const char *s)
{
	while (*s && *s != ' ')
		putc(*s++);
}

static void put_cpu(int i)
{
	u32 midr = cpus[i].midr;
	const char *model;

	if (midr == CPULIST_HOST)
		midr = read_sysreg(midr_el1);	/* every CPU's, under -cpu */
	model = cpulist_model(midr);
	puts("el2shim:   cpu");
	putdec(i);
	put_reg(" mpidr ", cpus[i].mpidr);
	put_reg(" midr ", midr);
	puts(" ");
	puts(model ? model : cpus[i].midr == CPULIST_HOST ? "QEMU's own" : "unknown part");
	puts(" r");
	putdec(FIELD(midr, 20, 4));
	puts("p");
	putdec(FIELD(midr, 0, 4));
	puts("\n");
}

static void cpu_table(void)
{
	const char *list = dt.bootargs ? find_arg(dt.bootargs, "el2shim.cpus=") : 0;
	u32 midr[SHIM_MAX_CPUS];
	const char *err, *at;
	int i, n;

	ncpus = dt.ncpus;
	if (!ncpus)
		fatal("no /cpus/cpu nodes in the device tree", 0);
	for (i = 0; i < ncpus; i++) {
		cpus[i].mpidr = dt.mpidr[i] & MPIDR_HWID_MASK;
		cpus[i].midr = CPULIST_HOST;
	}
	if (!list) {
		puts("el2shim: no el2shim.cpus= on the command line: every CPU keeps QEMU's MIDR\n");
		return;
	}
	n = cpulist_parse(list, midr, SHIM_MAX_CPUS, &err, &at);
	if (n < 0) {
		fatal_head();
		puts("el2shim.cpus=");
		put_word(list);
		puts(": ");
		puts(err);
		puts(" at '");
		put_word(at);
		puts("'\n");
		stop();
	}
	if (n != ncpus) {
		fatal_head();
		puts("el2shim.cpus= lists ");
		putdec(n);
		puts(" CPUs but the machine has ");
		putdec(ncpus);
		puts(" (-smp)\n");
		stop();
	}
	for (i = 0; i < ncpus; i++)
		cpus[i].midr = midr[i];
	puts("el2shim: el2shim.cpus=");
	put_word(list);
	puts("\n");
}

static void __noreturn bad_knob(const char *key, const char *val, const char *err)
{
	fatal_head();
	puts(key);
	put_word(val);
	puts(": ");
	puts(err);
	puts("\n");
	stop();
}

/* el2shim.bbm3= and el2shim.hold=, after the CPU table */
static void knobs(void)
{
	const char *v, *err;
	u32 mask, ms;
	int i, cpu;

	v = dt.bootargs ? find_arg(dt.bootargs, "el2shim.bbm3=") : 0;
	if (v) {
		if (cpuset_parse(v, &mask, ncpus, &err))
			bad_knob("el2shim.bbm3=", v, err);
		for (i = 0; i < ncpus; i++)
			cpus[i].bbm3 = !!(mask & (1u << i));
		puts("el2shim: el2shim.bbm3=");
		put_word(v);
		puts(": ID_AA64MMFR2_EL1.BBM reads 3 on those CPUs (HCR_EL2.TID3)\n");
	}
	v = dt.bootargs ? find_arg(dt.bootargs, "el2shim.hold=") : 0;
	if (v) {
		if (hold_parse(v, &cpu, &ms, ncpus, &err))
			bad_knob("el2shim.hold=", v, err);
		if (!cpu)
			bad_knob("el2shim.hold=", v, "the boot CPU cannot be held");
		cpus[cpu].hold_ms = ms;
		puts("el2shim: el2shim.hold=");
		put_word(v);
		puts(": that CPU waits at its first TTBR1_EL1 base change (HCR_EL2.TVM)\n");
	}
}

/* The Image beside us: check it, keep it clear of initrd and DTB. */
static u64 check_kernel(u64 fdt)
{
	const u8 *h = (const u8 *)SHIM_KERNEL_ADDR;
	u64 text_offset = 0, image_size = 0, start = SHIM_KERNEL_ADDR, end;
	int i;

	if (h[0x38] != 'A' || h[0x39] != 'R' || h[0x3a] != 'M' || h[0x3b] != 0x64)
		fatal("no arm64 Image at 0x40400000: add -device loader,file=Image,addr=0x40400000,force-raw=on",
		      0);
	for (i = 7; i >= 0; i--) {
		text_offset = text_offset << 8 | h[8 + i];
		image_size = image_size << 8 | h[16 + i];
	}
	if (!image_size || ((start - text_offset) & (SZ_2M - 1)))
		fatal("the Image at 0x40400000 has no image_size or a text_offset off a 2 MiB boundary",
		      0);
	end = start + image_size;
	if (dt.initrd_end > start && dt.initrd_start < end)
		fatal("the initrd overlaps the kernel's image_size: give the machine more memory",
		      " (QEMU puts the initrd at RAM + min(RAM / 2, 128 MiB))");
	if (fdt + dt.totalsize > start && fdt < end)
		fatal("the DTB overlaps the kernel's image_size", 0);
	put_reg("el2shim: kernel Image ", start);
	put_reg(" image_size ", image_size);
	put_reg(", DTB ", fdt);
	if (dt.initrd_start) {
		put_reg(", initrd ", dt.initrd_start);
		put_reg("-", dt.initrd_end);
	}
	puts("\n");
	return start;
}

/*
 * Linux must never allocate our memory. A /memreserve/ entry keeps it in
 * memblock.memory, so the linear map keeps the shape it has on a plain
 * boot (the first GiB still fits a PUD block) and only the allocator is
 * kept out. The boot stub below us is not needed once Linux runs.
 */
static void reserve_self(u64 fdt, u64 kernel)
{
	u64 base = (u64)_start_image, size = kernel - base;
	const char *err;

	if (dt.nmem != 1)
		fatal("expects exactly one /memory node (no NUMA)", 0);
	if (dt.mem_base != SHIM_RAM_BASE || dt.mem_base + dt.mem_size <= kernel)
		fatal("/memory is not RAM at 0x40000000 larger than 4 MiB", 0);
	if (fdt_add_memreserve((void *)fdt, base, size, &err))
		fatal(err, 0);
	put_reg("el2shim: /memreserve/ ", base);
	put_reg("-", kernel);
	puts(" added to the DTB (el2shim)\n");
}

void shim_main(u64 fdt)
{
	const char *err;
	u64 kernel, v;
	int i;

	puts("\nel2shim: EL2 program for per-CPU MIDRs (bbml2-lab, lab/el2shim)\n");
	if (fdt_scan((const void *)fdt, &dt, &err))
		fatal(err, 0);
	if (!dt.psci_method || strncmp(dt.psci_method, "smc", 4))
		fatal("PSCI is not over SMC: boot with -M virt,virtualization=on", 0);
	cpu_table();
	if (dt.bootargs && find_arg(dt.bootargs, "el2shim.selftest=twi")) {
		selftest_twi = 1;
		puts("el2shim: el2shim.selftest=twi: the kernel's first WFI will be a fatal trap\n");
	}
	if (this_cpu() != 0)
		fatal("the boot CPU is not the first /cpus entry", 0);
	knobs();
	v = read_sysreg(id_aa64mmfr2_el1);
	put_reg("el2shim: ID_AA64MMFR2_EL1 ", v);
	puts(" (BBM ");
	putdec(FIELD(v, MMFR2_BBM_SHIFT, 4));
	puts(", as QEMU reports it)\n");
	kernel = check_kernel(fdt);
	reserve_self(fdt, kernel);
	puts("el2shim: ");
	putdec(ncpus);
	puts(" CPUs (VPIDR_EL2 = midr, VMPIDR_EL2 = mpidr):\n");
	for (i = 0; i < ncpus; i++)
		put_cpu(i);
	el2_setup(&cpus[0]);
	cpus[0].entry = kernel;
	puts("el2shim: entering the kernel at EL1h\n");
	enter_el1(kernel, fdt, stack_top(0));
}
