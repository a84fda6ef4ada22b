/*
 * fuzz_zone_load: libFuzzer target for the zone loader. The input bytes are
 * zone file text for the zone "example." (zone_load_text: no $INCLUDE). A
 * zone that loads is written out (zone_write) and loaded again: it must load
 * and be equal, or the target aborts; so the writer is fuzzed too. Inputs
 * whose $GENERATE lines would make more than 20000 records are skipped.
 *
 * Built with clang and -fsanitize=fuzzer,address (tests/fuzz/CMakeLists.txt).
 * With FUZZ_ZONE_LOAD_MAIN defined it has its own main, which runs the files
 * named on the command line through the target once each (any compiler).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signer/zone/zone.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_generate.h"
#include "signer/zone/zone_load.h"
#include "signer/zone/zone_write.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(void *ctx, zone_diag_level_t level, const char *file, unsigned long line,
                   const char *msg)
{
	(void)ctx;
	(void)level;
	(void)file;
	(void)line;
	(void)msg;
}

static int slots_equal(const zone_node_t *a, const zone_node_t *b)
{
	if (a->nslots != b->nslots || a->owner_len != b->owner_len ||
	    memcmp(a->owner, b->owner, a->owner_len) != 0) {
		return 0;
	}
	for (size_t i = 0; i < a->nslots; i++) {
		if (!zone_rrset_equal(a->slots[i].data, b->slots[i].data)) {
			return 0;
		}
	}
	return 1;
}

static int zones_equal(const zone_t *a, const zone_t *b)
{
	if (a->count != b->count) {
		return 0;
	}
	for (size_t i = 0; i < a->count; i++) {
		if (zone_entry(a, i)->flags != zone_entry(b, i)->flags ||
		    !slots_equal(zone_entry(a, i)->node, zone_entry(b, i)->node)) {
			return 0;
		}
	}
	return 1;
}

/* Records the $GENERATE lines of the input would make (they may ask for a
 * million each: fine for the loader, too slow and big for fuzzing). */
static size_t generated(const char *text, size_t size)
{
	size_t total = 0;
	for (const char *p = text, *end = text + size; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		zone_generate_t *g = NULL;
		if (eol - p > 9 && strncasecmp(p, "$GENERATE", 9) == 0 &&
		    zone_generate_parse(p + 9, (size_t)(eol - p - 9), &g, NULL, 0) == ZONE_OK) {
			total += zone_generate_count(g);
			zone_generate_free(g);
		}
		p = eol + 1;
	}
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t origin[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
	zone_t *z = NULL, *again = NULL;
	if (generated((const char *)data, size) > 20000) {
		return 0;
	}
	if (zone_load_text((const char *)data, size, "fuzz", origin, 3600, ignore, NULL, &z) !=
	    ZONE_OK) {
		return 0;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL) {
		abort();
	}
	int ret = zone_write(z, f);
	if (fclose(f) != 0 || ret != ZONE_OK) {
		abort();
	}
	ret = zone_load_text(text, len, "written", origin, 3600, ignore, NULL, &again);
	if (ret != ZONE_OK || !zones_equal(z, again)) {
		fprintf(stderr, "written zone does not load back the same (%s):\n%.*s\n",
		        zone_strerror(ret), (int)len, text);
		abort();
	}
	free(text);
	zone_free(again);
	zone_free(z);
	return 0;
}

#ifdef FUZZ_ZONE_LOAD_MAIN
/* Runs each file named on the command line through the target. */
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (f == NULL) {
			perror(argv[i]);
			return 1;
		}
		char *buf = NULL;
		size_t len = 0, cap = 0;
		for (;;) {
			if (len == cap) {
				cap = cap ? cap * 2 : 65536;
				char *p = realloc(buf, cap);
				if (p == NULL) {
					return 1;
				}
				buf = p;
			}
			size_t n = fread(buf + len, 1, cap - len, f);
			if (n == 0) {
				break;
			}
			len += n;
		}
		fclose(f);
		LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
		free(buf);
	}
	return 0;
}
#endif
