/*
 * zone_serial: SOA serial numbers: RFC 1982 serial number arithmetic and the
 * serial policies of the signer (keep, increment, unixtime, datecounter).
 *
 * Whatever the policy, a serial that follows an earlier published one is
 * greater than it in RFC 1982 arithmetic: zone_serial_next() takes the
 * policy's value, or the previous published serial plus one when the policy's
 * value is not greater, and says when it had to do so (the caller warns).
 *
 * Pure functions without state: thread-safe.
 */
#ifndef SIGNER_ZONE_ZONE_SERIAL_H
#define SIGNER_ZONE_ZONE_SERIAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef enum {
	ZONE_SERIAL_KEEP,        /* the serial of the input zone */
	ZONE_SERIAL_INCREMENT,   /* one more than the last one published (or than the input's) */
	ZONE_SERIAL_UNIXTIME,    /* now, in seconds since 1970 (UTC) */
	ZONE_SERIAL_DATECOUNTER, /* YYYYMMDDnn: today's date (UTC) and a counter 00..99 */
} zone_serial_policy_t;

/* Whether a is greater than b in RFC 1982 serial number arithmetic (SERIAL_BITS
 * 32). Pairs 2^31 apart are undefined in the RFC: false both ways here. */
bool zone_serial_gt(uint32_t a, uint32_t b);

/* a + n in serial arithmetic (n at most 2^31 - 1: RFC 1982 3.1), i.e. modulo
 * 2^32. */
uint32_t zone_serial_add(uint32_t a, uint32_t n);

/* The serial to publish. current is the serial of the input zone; previous
 * (if have_previous) the serial this signer last published for the zone; now
 * the time, absolute, in seconds since 1970 (UTC). increment: current + 1
 * without previous; with it, previous + 1, or current if that is greater.
 * The result is always greater than previous when have_previous; *overridden
 * (if non-NULL) is set to whether the policy's own value had to be replaced
 * by previous + 1 for that (keep with an unchanged input serial, unixtime
 * with a clock behind the last serial, datecounter past 99 changes a day or
 * behind the last serial), false otherwise. */
uint32_t zone_serial_next(zone_serial_policy_t policy, uint32_t current, bool have_previous,
                          uint32_t previous, time_t now, bool *overridden);

/* Parses "keep", "increment" (or "counter"), "unixtime" or "datecounter"
 * (ASCII case-insensitive) into *out; returns false (and leaves *out alone)
 * for anything else. */
bool zone_serial_policy_from_str(const char *text, zone_serial_policy_t *out);

/* The name of a policy ("keep"...), static text; "unknown" for a bad value. */
const char *zone_serial_policy_str(zone_serial_policy_t policy);

#endif
