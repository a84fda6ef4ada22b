#include "signer/zone/zone_serial.h"

#include <strings.h>

#define HALF 0x80000000u

bool zone_serial_gt(uint32_t a, uint32_t b)
{
	/* RFC 1982 3.2: i1 > i2 if (i1 < i2 and i2 - i1 > 2^31) or
	 * (i1 > i2 and i1 - i2 < 2^31). */
	return (a < b && b - a > HALF) || (a > b && a - b < HALF);
}

uint32_t zone_serial_add(uint32_t a, uint32_t n)
{
	return a + n; /* unsigned arithmetic wraps modulo 2^32 */
}

/* YYYYMMDD00 for now (UTC); years past 4293 are clamped. */
static uint32_t date_base(time_t now)
{
	struct tm tm;
	if (gmtime_r(&now, &tm) == NULL) {
		return 0;
	}
	long year = (long)tm.tm_year + 1900;
	if (year < 0) {
		year = 0;
	}
	if (year > 4293) {
		year = 4293;
	}
	uint32_t date =
	        (uint32_t)year * 10000u + (uint32_t)(tm.tm_mon + 1) * 100u + (uint32_t)tm.tm_mday;
	return date * 100u;
}

uint32_t zone_serial_next(zone_serial_policy_t policy, uint32_t current, bool have_previous,
                          uint32_t previous, time_t now, bool *overridden)
{
	uint32_t v;
	switch (policy) {
	case ZONE_SERIAL_INCREMENT:
		if (!have_previous) {
			v = zone_serial_add(current, 1);
		} else if (zone_serial_gt(current, previous)) {
			v = current;
		} else {
			v = zone_serial_add(previous, 1);
		}
		break;
	case ZONE_SERIAL_UNIXTIME:
		v = (uint32_t)now;
		break;
	case ZONE_SERIAL_DATECOUNTER: {
		uint32_t base = date_base(now);
		v = base;
		/* Later changes of the same day count up to nn = 99. */
		if (have_previous && previous >= base && previous < base + 99u) {
			v = previous + 1u;
		}
		break;
	}
	case ZONE_SERIAL_KEEP:
	default:
		v = current;
		break;
	}
	bool bumped = have_previous && !zone_serial_gt(v, previous);
	if (bumped) {
		v = zone_serial_add(previous, 1);
	}
	if (overridden != NULL) {
		*overridden = bumped;
	}
	return v;
}

bool zone_serial_policy_from_str(const char *text, zone_serial_policy_t *out)
{
	static const struct {
		const char *name;
		zone_serial_policy_t policy;
	} names[] = {
	        {"keep", ZONE_SERIAL_KEEP},
	        {"increment", ZONE_SERIAL_INCREMENT},
	        {"counter", ZONE_SERIAL_INCREMENT},
	        {"unixtime", ZONE_SERIAL_UNIXTIME},
	        {"datecounter", ZONE_SERIAL_DATECOUNTER},
	};
	if (text == NULL) {
		return false;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(text, names[i].name) == 0) {
			*out = names[i].policy;
			return true;
		}
	}
	return false;
}

const char *zone_serial_policy_str(zone_serial_policy_t policy)
{
	switch (policy) {
	case ZONE_SERIAL_KEEP:
		return "keep";
	case ZONE_SERIAL_INCREMENT:
		return "increment";
	case ZONE_SERIAL_UNIXTIME:
		return "unixtime";
	case ZONE_SERIAL_DATECOUNTER:
		return "datecounter";
	default:
		return "unknown";
	}
}
