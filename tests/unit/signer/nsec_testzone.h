/*
 * nsec_testzone: a small zone reader for the NSEC/NSEC3 tests, on libzscanner,
 * until the real loader (zone_load) is there. It groups records into RRsets
 * and nodes and makes a version with zone_new(); it checks nothing a loader
 * must check (the tests feed it good zones).
 *
 * Test code only; not thread-safe (one reader per call, no shared state).
 */
#ifndef TESTS_UNIT_SIGNER_NSEC_TESTZONE_H
#define TESTS_UNIT_SIGNER_NSEC_TESTZONE_H

#include <stddef.h>
#include <stdint.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone.h"

/* One record as read. */
typedef struct {
	uint8_t owner[DNAME_MAXLEN];
	uint16_t type;
	uint32_t ttl;
	uint16_t len;
	uint8_t data[];
} nsec_testzone_rr_t;

/* Records of one file. */
typedef struct {
	nsec_testzone_rr_t **v;
	size_t n;
} nsec_testzone_rrs_t;

/* Reads the zone file path (or, with path NULL, the zone text) with origin
 * (presentation form). *zone (if non-NULL) gets a version of every record
 * but RRSIG, NSEC, NSEC3 and NSEC3PARAM; *chain (if non-NULL) the NSEC and
 * NSEC3 records in file order (free with nsec_testzone_rrs_free). Returns 0,
 * or -1 after printing the cause. */
int nsec_testzone_load(const char *path, const char *text, const char *origin, zone_t **zone,
                       nsec_testzone_rrs_t *chain);

/* Frees the records; NULL or empty is a no-op. */
void nsec_testzone_rrs_free(nsec_testzone_rrs_t *rrs);

/* A zone (origin t.test.) with what the chains must get right: an insecure
 * delegation with glue, an A at the cut and occluded names below it, a
 * secure delegation with a TXT at the cut, empty non-terminals (one leading
 * only to an insecure delegation, one to a secure one), a wildcard, a DNAME
 * with occluded data, types above 255, a mixed-case owner; SOA TTL 7200,
 * MINIMUM 300. The tests' expected chains are what dnssec-signzone 9.18.49
 * wrote for it (NSEC; NSEC3 1 0 0 -; NSEC3 with -A). */
/* The wire form of a name in presentation form (one of four static buffers,
 * reused in turn); a failed conversion fails the running test. */
const uint8_t *nsec_testzone_wire(const char *text);

/* nsec_testzone_load() of text at origin; a failure fails the running test. */
zone_t *nsec_testzone_text(const char *text, const char *origin);

extern const char nsec_testzone_sample[];

/* The types of a bitmap as BIND writes them ("NS SOA RRSIG NSEC DNSKEY",
 * "TYPE65534"), "" for none, "(bad bitmap)" if malformed (static buffer,
 * overwritten by the next call). */
const char *nsec_testzone_types(const uint8_t *bitmap, size_t len);

/* Name in presentation form (static buffer, overwritten by the next call). */
const char *nsec_testzone_name(const uint8_t *name);

#endif
