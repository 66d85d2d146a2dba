// SPDX-License-Identifier: GPL-2.0
/*
 * splat_host: host-side driver of splat_match.c for test_splat_match.py.
 * Reads one log record text per line on stdin, prints one JSON array per
 * line: the names of the splat classes the record is in.
 */
#include <stdio.h>
#include <string.h>

#include "../splat_match.h"

int main(void)
{
	char line[4096];

	while (fgets(line, sizeof(line), stdin)) {
		bool first = true;
		int c;

		line[strcspn(line, "\n")] = '\0';
		putchar('[');
		for (c = 0; c < SPLAT_NR; c++) {
			if (!splat_match(c, line))
				continue;
			printf("%s\"%s\"", first ? "" : ",", splat_class_name(c));
			first = false;
		}
		printf("]\n");
	}
	return 0;
}
