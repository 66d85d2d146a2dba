// SPDX-License-Identifier: GPL-2.0
/*
 * At EL1 under el2shim, touch what Linux uses from EL1 and print one
 * "el1check: <what> ..." line each; any access el2shim failed to open up
 * traps to EL2 instead, where el2shim prints FATAL with the ESR and stops.
 * Ends with PSCI SYSTEM_OFF, through el2shim.
 */
#include "../shim.h"

u64 el1_smc(u64 fid, u64 a1, u64 a2, u64 a3);

static void line(const char *what, u64 v)
{
	puts("el1check: ");
	puts(what);
	puthex(v);
	puts("\n");
}

void el1check_main(void)
{
	u64 pfr0 = read_sysreg(id_aa64pfr0_el1);
	u64 pfr1 = read_sysreg(id_aa64pfr1_el1);
	u64 isar1 = read_sysreg(id_aa64isar1_el1);
	u64 cpacr = 3UL << 20, v, t0, t1;

	line("CurrentEL ", read_sysreg(CurrentEL) >> 2);
	line("midr ", read_sysreg(midr_el1));
	line("mpidr ", read_sysreg(mpidr_el1));

	if (FIELD(pfr0, 32, 4))
		cpacr |= 3UL << 16;		/* ZEN */
	if (FIELD(pfr1, 24, 4))
		cpacr |= 3UL << 24;		/* SMEN */
	write_sysreg(cpacr, cpacr_el1);
	isb();
	asm volatile(".inst 0x9e670020" : : : "memory");	/* fmov d0, x1 */
	line("fpsimd ok, fpcr ", read_sysreg(fpcr));

	if (FIELD(pfr0, 32, 4)) {
		write_sysreg(0xf, s3_0_c1_c2_0);		/* ZCR_EL1 */
		isb();
		asm volatile(".inst 0x04bf5020\n mov %0, x0"	/* rdvl x0, #1 */
			     : "=r" (v) : : "x0");
		line("sve vector length bytes ", v);
	}
	if (FIELD(pfr1, 24, 4)) {
		write_sysreg(0xf, s3_0_c1_c2_6);		/* SMCR_EL1 */
		isb();
		asm volatile(".inst 0x04bf5820\n mov %0, x0"	/* rdsvl x0, #1 */
			     : "=r" (v) : : "x0");
		asm volatile(".inst 0xd503477f\n .inst 0xd503467f");	/* smstart; smstop */
		line("sme streaming vector length bytes ", v);
	}
	if (FIELD(isar1, 4, 4) || FIELD(isar1, 8, 4)) {
		write_sysreg(0x1234, s3_0_c2_c1_0);		/* APIAKeyLo_EL1 */
		write_sysreg(read_sysreg(sctlr_el1) | BIT(31), sctlr_el1); /* EnIA */
		isb();
		v = 0x40401000;
		asm volatile("mov x1, %0\n mov x2, #1\n .inst 0xdac10041\n mov %0, x1"
			     : "+r" (v) : : "x1", "x2");		/* pacia x1, x2 */
		line("pauth key and pacia ok, pac added ", v != 0x40401000);
	}

	write_sysreg(1, pmcr_el0);				/* E */
	write_sysreg(BIT(31), pmcntenset_el0);
	isb();
	t0 = read_sysreg(pmccntr_el0);
	for (v = 0; v < 1000; v++)
		asm volatile("" : : : "memory");
	t1 = read_sysreg(pmccntr_el0);
	line("pmu counters ", FIELD(read_sysreg(pmcr_el0), 11, 5));
	line("pmu cycles advanced ", t1 > t0);

	write_sysreg(0, cntp_ctl_el0);
	write_sysreg(0, cntv_ctl_el0);
	t0 = read_sysreg(cntpct_el0);
	t1 = read_sysreg(cntvct_el0);
	line("timers ok, cntvct >= cntpct ", t1 >= t0);

	line("icc_sre_el1 ", read_sysreg(s3_0_c12_c12_5));
	write_sysreg(0xf0, s3_0_c4_c6_0);			/* ICC_PMR_EL1 */
	isb();
	line("icc_pmr_el1 ", read_sysreg(s3_0_c4_c6_0));

	line("smccc_version ", el1_smc(0x80000000, 0, 0, 0));
	line("psci_version ", el1_smc(0x84000000, 0, 0, 0));
	puts("el1check: done\n");
	el1_smc(0x84000008, 0, 0, 0);				/* SYSTEM_OFF */
}
