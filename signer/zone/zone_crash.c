#include "signer/zone/zone_crash.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Points counted per process (tests only; see the header). */
#define POINTS_MAX 16

static struct {
	const char *name;
	unsigned long count;
} reached[POINTS_MAX];

/* How many times name has been reached, this call included. */
static unsigned long count_of(const char *name)
{
	for (size_t i = 0; i < POINTS_MAX; i++) {
		if (reached[i].name == NULL) {
			reached[i].name = name;
		}
		if (strcmp(reached[i].name, name) == 0) {
			return ++reached[i].count;
		}
	}
	return 1;
}

void zone_crash_point(const char *name)
{
	const char *at = getenv("SIGNER_CRASH_AT");
	if (at == NULL || *at == '\0') {
		return;
	}
	size_t n = strlen(name);
	unsigned long count = count_of(name);
	if (strncmp(at, name, n) != 0) {
		return;
	}
	if (at[n] == '\0') {
		if (count == 1) {
			_exit(ZONE_CRASH_STATUS);
		}
		return;
	}
	if (at[n] == ':') {
		char *end = NULL;
		unsigned long want = strtoul(at + n + 1, &end, 10);
		if (end != at + n + 1 && *end == '\0' && want == count) {
			_exit(ZONE_CRASH_STATUS);
		}
	}
}
