// SPDX-License-Identifier: GPL-2.0
/*
 * ptdump_host: host-side driver of ptdump_parse.c for its unit tests
 * (test_ptdump_parse.py). Parses a recorded kernel_page_tables dump, runs
 * the self-checks and the shape count, optionally the models (boot layout,
 * repaint, on-demand splits), compares with a wanted dump and prints one
 * JSON object.
 *
 *   ptdump_host [--page N] [--alias S E] [--kfence S E]
 *               [--boot blocks|pages] [--cut ADDR]... [--alias-same-flags]
 *               [--repaint] [--keep S E] [--split ADDR]...
 *               [--baseline FILE] [--want FILE] DUMP
 *
 * The model map starts as the dump itself, or as lm_boot_model_ex() of it
 * with --boot (--cut, --alias-same-flags: 7.3's map_mem()); --repaint
 * (keeping [S, E) with --keep: 7.3's) then --split apply in that order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ptdump_parse.h"

#define MAX_SPLITS	16

static char *slurp(const char *path)
{
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap), *nb;
	FILE *f = fopen(path, "r");

	if (!f || !buf) {
		fprintf(stderr, "ptdump_host: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 >= cap) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				exit(2);
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* A JSON string: the characters the messages can hold, escaped. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_shape(const struct lm_shape *s)
{
	int k;

	printf("{\"bytes\":{");
	for (k = 0; k < LMK_NR; k++)
		printf("%s\"%s\":%lu", k ? "," : "", lm_kind_name(k), s->bytes[k]);
	printf("},\"alias\":{");
	for (k = 0; k < LMK_NR; k++)
		printf("%s\"%s\":%lu", k ? "," : "", lm_kind_name(k), s->alias[k]);
	printf("},\"mapped\":%lu,\"invalid\":%lu,\"pte_tables\":%lu,\"pmd_tables\":%lu,\"mapped_windows\":%lu,\"alias_blocks\":%lu}",
	       s->mapped, s->invalid, s->pte_tables, s->pmd_tables,
	       s->mapped_windows, s->alias_blocks);
}

static void print_counts(const struct lm_counts *c)
{
	printf("{\"pud\":%lu,\"cont_pmd\":%lu,\"pmd\":%lu,\"cont_pte\":%lu,\"tables_pmd\":%lu,\"tables_pte\":%lu}",
	       c->pud, c->cont_pmd, c->pmd, c->cont_pte, c->tables_pmd,
	       c->tables_pte);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ptdump_host [--page N] [--alias S E] [--kfence S E] [--boot blocks|pages] [--cut ADDR]... [--alias-same-flags] [--repaint] [--keep S E] [--split ADDR]... [--baseline FILE] [--want FILE] DUMP\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long alias_s = 0, alias_e = 0, kf_s = 0, kf_e = 0;
	unsigned long cuts[4], keep_s = 0, keep_e = 0;
	bool same_flags = false, keep = false;
	int ncut = 0;
	unsigned long splits[MAX_SPLITS];
	const char *boot = NULL, *want_path = NULL, *base_path = NULL;
	const char *dump = NULL;
	struct pt_map now, model, want, base;
	struct lm_counts c = { 0 };
	struct lm_shape s;
	struct lm_geom g;
	bool repaint = false;
	long page = 4096;
	int nsplit = 0, i, ret, bad;
	char err[512], diff[2048];
	char *text;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--page") && i + 1 < argc) {
			page = strtol(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--alias") && i + 2 < argc) {
			alias_s = strtoul(argv[++i], NULL, 0);
			alias_e = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--kfence") && i + 2 < argc) {
			kf_s = strtoul(argv[++i], NULL, 0);
			kf_e = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--boot") && i + 1 < argc) {
			boot = argv[++i];
		} else if (!strcmp(argv[i], "--cut") && i + 1 < argc && ncut < 4) {
			cuts[ncut++] = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--alias-same-flags")) {
			same_flags = true;
		} else if (!strcmp(argv[i], "--keep") && i + 2 < argc) {
			keep_s = strtoul(argv[++i], NULL, 0);
			keep_e = strtoul(argv[++i], NULL, 0);
			keep = true;
		} else if (!strcmp(argv[i], "--repaint")) {
			repaint = true;
		} else if (!strcmp(argv[i], "--split") && i + 1 < argc &&
			   nsplit < MAX_SPLITS) {
			splits[nsplit++] = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--want") && i + 1 < argc) {
			want_path = argv[++i];
		} else if (!strcmp(argv[i], "--baseline") && i + 1 < argc) {
			base_path = argv[++i];
		} else if (argv[i][0] != '-' && !dump) {
			dump = argv[i];
		} else {
			usage();
		}
	}
	if (!dump || lm_geom_init(&g, page))
		usage();

	text = slurp(dump);
	err[0] = '\0';
	ret = ptdump_parse(&now, text, err, sizeof(err));
	free(text);
	printf("{\"parse\":{\"rc\":%d,\"error\":", ret);
	json_str(ret ? err : "");
	printf("}");
	if (ret) {
		printf("}\n");
		return 0;
	}
	printf(",\"nr\":%zu,\"start\":%lu,\"end\":%lu", now.nr, now.start, now.end);

	err[0] = '\0';
	if (base_path) {
		text = slurp(base_path);
		if (ptdump_parse(&base, text, err, sizeof(err))) {
			fprintf(stderr, "ptdump_host: baseline: %s\n", err);
			return 2;
		}
		free(text);
	}
	bad = pt_map_selfcheck(&now, &g, base_path ? &base : NULL, err,
			       sizeof(err));
	printf(",\"selfcheck\":{\"bad\":%d,\"error\":", bad);
	json_str(bad ? err : "");
	printf("}");
	if (base_path)
		pt_map_free(&base);

	pt_map_shape(&now, &g, alias_s, alias_e, &s);
	printf(",\"shape\":");
	print_shape(&s);

	if (boot) {
		if (lm_boot_model_ex(&now, &g, alias_s, alias_e, kf_s, kf_e,
				     !strcmp(boot, "blocks"), cuts, ncut, same_flags,
				     &model)) {
			fprintf(stderr, "ptdump_host: lm_boot_model failed\n");
			return 2;
		}
	} else if (pt_map_copy(&model, &now)) {
		return 2;
	}
	if (repaint && keep)
		lm_model_repaint_keep(&model, &g, keep_s, keep_e, &c);
	else if (repaint)
		lm_model_repaint(&model, &g, alias_s, alias_e, &c);
	for (i = 0; i < nsplit; i++) {
		if (model_split_at(&model, &g, splits[i], &c)) {
			fprintf(stderr, "ptdump_host: model_split_at failed\n");
			return 2;
		}
	}
	pt_map_normalize(&model);
	pt_map_shape(&model, &g, alias_s, alias_e, &s);
	printf(",\"model\":{\"counts\":");
	print_counts(&c);
	printf(",\"nr\":%zu,\"shape\":", model.nr);
	print_shape(&s);
	err[0] = '\0';
	printf(",\"selfcheck\":%d}",
	       pt_map_selfcheck(&model, &g, NULL, err, sizeof(err)));

	if (want_path) {
		text = slurp(want_path);
		if (ptdump_parse(&want, text, err, sizeof(err))) {
			fprintf(stderr, "ptdump_host: want: %s\n", err);
			return 2;
		}
		free(text);
		ret = pt_map_compare(&want, &model, NULL, 0, diff, sizeof(diff));
		printf(",\"compare\":{\"ndiff\":%d,\"diff\":", ret);
		json_str(diff);
		printf("}");
		pt_map_free(&want);
	}
	printf("}\n");
	pt_map_free(&model);
	pt_map_free(&now);
	return 0;
}
