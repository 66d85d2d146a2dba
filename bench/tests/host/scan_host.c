// SPDX-License-Identifier: GPL-2.0
/*
 * scan_host: the plugin's console scanner (bench/tlbmodel/layout.c) on a
 * recorded console log, for test_tlbmodel.py. Feeds the log in chunks of
 * CHUNK bytes (lines cut anywhere), takes the layout after each chunk as
 * the plugin does at a marker, and prints one JSON object: every layout
 * taken (ranges), blocks seen and refused, the last error and label.
 *
 *   scan_host CHUNK LOG
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

int main(int argc, char **argv)
{
	struct layout_scanner sc;
	char buf[4096];
	size_t chunk, n, i;
	int first = 1;
	FILE *f;

	if (argc != 3 || !(chunk = strtoul(argv[1], NULL, 0)) || chunk > sizeof(buf)) {
		fprintf(stderr, "usage: %s CHUNK LOG\n", argv[0]);
		return 2;
	}
	f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 2;
	}
	memset(&sc, 0, sizeof(sc));
	printf("{\"layouts\":[");
	while ((n = fread(buf, 1, chunk, f)) > 0) {
		struct layout *l;

		scanner_feed(&sc, buf, n);
		l = scanner_take(&sc);
		if (!l)
			continue;
		printf("%s{\"seq\":%lu,\"page_shift\":%u,\"ranges\":[", first ? "" : ",",
		       l->seq, l->page_shift);
		for (i = 0; i < l->nr; i++)
			printf("%s[\"%llx\",\"%llx\",%u,\"%s\"]", i ? "," : "",
			       (unsigned long long)l->r[i].start,
			       (unsigned long long)l->r[i].end, l->r[i].shift,
			       region_names[l->r[i].region]);
		printf("]}");
		first = 0;
		layout_free(l);
	}
	fclose(f);
	printf("],\"blocks\":%lu,\"refused\":%lu,\"last_error\":\"", sc.blocks, sc.rejected);
	for (i = 0; sc.last_err[i]; i++)
		if (sc.last_err[i] != '"' && sc.last_err[i] != '\\')
			putchar(sc.last_err[i]);
	printf("\",\"label\":\"%s\"}\n", sc.label);
	scanner_free(&sc);
	return 0;
}
