// SPDX-License-Identifier: GPL-2.0
/*
 * tlblayout_host: the guest's layout conversion (bench/tlblayout.c) run on
 * the host for test_tlbmodel.py: a recorded ptdump in, the layout block
 * the guest would print out; exit 1 and one line on stderr if refused.
 *
 *   tlblayout_host PAGE_SIZE KIMG_START KIMG_END DUMP
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlblayout.h"

int main(int argc, char **argv)
{
	static char text[1 << 22];
	char err[256], *out;
	size_t n, nlines;
	FILE *f;

	if (argc != 5) {
		fprintf(stderr, "usage: %s PAGE_SIZE KIMG_START KIMG_END DUMP\n", argv[0]);
		return 2;
	}
	f = fopen(argv[4], "r");
	if (!f) {
		perror(argv[4]);
		return 2;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (tlblayout_from_ptdump(text, strtol(argv[1], NULL, 0),
				  strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0),
				  &out, &nlines, err, sizeof(err))) {
		fprintf(stderr, "tlblayout: %s\n", err);
		return 1;
	}
	printf("TLBMODEL-LAYOUT-BEGIN v1 page=%s\n%sTLBMODEL-LAYOUT-END lines=%zu\n",
	       argv[1], out, nlines);
	free(out);
	return 0;
}
