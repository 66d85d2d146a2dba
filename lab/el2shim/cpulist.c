// SPDX-License-Identifier: GPL-2.0
/*
 * The CPU list: one entry per CPU, in /cpus order, separated by commas.
 *
 *   entry := [count "*"] cpu
 *   cpu   := model ["r" variant "p" revision] | "0x" hex MIDR | "host"
 *
 * model is a short name from the table below; without a revision it means
 * r0p0. "host" keeps QEMU's own MIDR for that CPU.
 */
#include "cpulist.h"

#define NULL ((void *)0)

struct model {
	const char *name;
	const char *desc;
	u32 implementer;
	u32 part;
};

/* Part numbers: arch/arm64/include/asm/cputype.h */
static const struct model models[] = {
	{ "a53",	"Cortex-A53",	0x41, 0xd03 },
	{ "a57",	"Cortex-A57",	0x41, 0xd07 },
	{ "a72",	"Cortex-A72",	0x41, 0xd08 },
	{ "a76",	"Cortex-A76",	0x41, 0xd0b },
	{ "a710",	"Cortex-A710",	0x41, 0xd47 },
	{ "a520",	"Cortex-A520",	0x41, 0xd80 },
	{ "a720",	"Cortex-A720",	0x41, 0xd81 },
	{ "x3",		"Cortex-X3",	0x41, 0xd4e },
	{ "x4",		"Cortex-X4",	0x41, 0xd82 },
	{ "n1",		"Neoverse-N1",	0x41, 0xd0c },
	{ "n2",		"Neoverse-N2",	0x41, 0xd49 },
	{ "v1",		"Neoverse-V1",	0x41, 0xd40 },
	{ "v2",		"Neoverse-V2",	0x41, 0xd4f },
	{ "v3ae",	"Neoverse-V3AE", 0x41, 0xd83 },
	{ "v3",		"Neoverse-V3",	0x41, 0xd84 },
	{ "ampere1",	"AmpereOne",	0xc0, 0xac3 },
	{ "ampere1a",	"AmpereOne-AC04", 0xc0, 0xac4 },
	{ "olympus",	"NVIDIA-Olympus", 0x4e, 0x010 },
};

#define NMODELS (sizeof(models) / sizeof((models)[0]))

static int is_end(char c)
{
	return c == ',' || c == ' ' || c == '\0';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* decimal number at *p (all its digits); -1 if none or above max */
static int number(const char **p, int max)
{
	int v = 0, big = 0;

	if (!is_digit(**p))
		return -1;
	while (is_digit(**p)) {
		v = v * 10 + (**p - '0');
		if (v > max) {
			big = 1;
			v = 0;
		}
		(*p)++;
	}
	return big ? -1 : v;
}

static int name_len(const char *name)
{
	int n = 0;

	while (name[n])
		n++;
	return n;
}

/* the longest model name that s starts with, followed by 'r' or the end */
static const struct model *find_model(const char *s, int *len)
{
	const struct model *best = NULL;
	unsigned int i;
	int n, k;

	for (i = 0; i < NMODELS; i++) {
		n = name_len(models[i].name);
		for (k = 0; k < n && s[k] == models[i].name[k]; k++)
			;
		if (k < n || !(is_end(s[n]) || s[n] == 'r'))
			continue;
		if (!best || n > *len) {
			best = &models[i];
			*len = n;
		}
	}
	return best;
}

static int parse_cpu(const char **p, u32 *midr, const char **err)
{
	const char *s = *p;
	const struct model *m;
	int len = 0, var = 0, rev = 0, i, h;
	u32 v = 0;

	if (s[0] == '0' && s[1] == 'x') {
		for (i = 2; !is_end(s[i]); i++) {
			h = hexval(s[i]);
			if (h < 0 || i > 9) {
				*err = "bad hex MIDR (0x and up to 8 hex digits)";
				return -1;
			}
			v = v << 4 | h;
		}
		if (i == 2 || !v) {
			*err = "bad hex MIDR (0x and up to 8 hex digits)";
			return -1;
		}
		*midr = v;
		*p = s + i;
		return 0;
	}
	if (s[0] == 'h' && s[1] == 'o' && s[2] == 's' && s[3] == 't' &&
	    is_end(s[4])) {
		*midr = CPULIST_HOST;
		*p = s + 4;
		return 0;
	}
	m = find_model(s, &len);
	if (!m) {
		*err = "unknown CPU model (see lab/el2shim/README.md)";
		return -1;
	}
	s += len;
	if (*s == 'r') {
		s++;
		var = number(&s, 15);
		if (var < 0 || *s != 'p') {
			*err = "bad revision (rNpM, N and M 0-15)";
			return -1;
		}
		s++;
		rev = number(&s, 15);
		if (rev < 0 || !is_end(*s)) {
			*err = "bad revision (rNpM, N and M 0-15)";
			return -1;
		}
	}
	*midr = m->implementer << 24 | (u32)var << 20 | 0xfu << 16 |
		m->part << 4 | (u32)rev;
	*p = s;
	return 0;
}

int cpulist_parse(const char *s, u32 *midr, int max, const char **err,
		  const char **at)
{
	const char *p = s;
	int n = 0, count, i;
	u32 v;

	for (;;) {
		*at = p;
		count = 1;
		if (is_digit(*p)) {
			const char *q = p;
			int c = number(&q, max);

			/* a count, unless it is the start of a hex MIDR */
			if (*q == '*') {
				if (c < 1) {
					*err = "bad count (1 to the number of CPUs)";
					return -1;
				}
				count = c;
				p = q + 1;
			}
		}
		if (parse_cpu(&p, &v, err))
			return -1;
		if (n + count > max) {
			*err = "more CPUs than el2shim supports";
			return -1;
		}
		for (i = 0; i < count; i++)
			midr[n++] = v;
		if (*p != ',')
			break;
		p++;
	}
	if (!is_end(*p)) {
		*at = p;
		*err = "junk after the list";
		return -1;
	}
	return n;
}

const char *cpulist_model(u32 midr)
{
	unsigned int i;

	for (i = 0; i < NMODELS; i++)
		if (models[i].implementer == midr >> 24 &&
		    models[i].part == ((midr >> 4) & 0xfff))
			return models[i].desc;
	return NULL;
}

int cpuset_parse(const char *s, u32 *mask, int ncpus, const char **err)
{
	const char *p = s;
	int cpu;

	*mask = 0;
	if (p[0] == 'a' && p[1] == 'l' && p[2] == 'l' && is_end(p[3]) && p[3] != ',') {
		*mask = ncpus >= 32 ? ~0u : (1u << ncpus) - 1;
		return 0;
	}
	for (;;) {
		cpu = number(&p, 31);
		if (cpu < 0 || cpu >= ncpus) {
			*err = "bad CPU index (all, or indices below the number of CPUs)";
			return -1;
		}
		*mask |= 1u << cpu;
		if (*p != ',')
			break;
		p++;
	}
	if (!is_end(*p)) {
		*err = "junk after the CPU indices";
		return -1;
	}
	return 0;
}

int hold_parse(const char *s, int *cpu, u32 *ms, int ncpus, const char **err)
{
	const char *p = s;
	int v;

	*cpu = number(&p, 31);
	if (*cpu < 0 || *cpu >= ncpus || *p != ':') {
		*err = "bad CPU (CPU:MS, the CPU an index below the number of CPUs)";
		return -1;
	}
	p++;
	v = number(&p, 600000);
	if (v < 1 || !is_end(*p) || *p == ',') {
		*err = "bad time (CPU:MS, MS 1-600000)";
		return -1;
	}
	*ms = v;
	return 0;
}
