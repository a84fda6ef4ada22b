/*
 * zone_builder: collects the records of a zone, one at a time, checks them and
 * turns them into a zone version (zone_t) or, for a file of foreign DNSKEYs,
 * into one DNSKEY RRset.
 *
 * Records come in with the file and line they were read from. The builder
 * copies each (owner lowercased, RDATA made canonical with
 * zone_rdata_canonicalize), groups them by owner and type into RRsets
 * (duplicates dropped), and checks the zone: data outside the zone, missing,
 * duplicate or misplaced SOA, apex without NS, CNAME beside other data, more
 * than one CNAME or DNAME at a name, classes other than IN, TTLs above 2^31-1
 * (RFC 2181 section 8), meta types. Each problem goes to the caller's report
 * callback (zone_diag.h) with file, line and reason; up to
 * ZONE_BUILDER_MAX_ERRORS errors are reported, then the builder stops (see
 * zone_builder_stopped) and reports no more. DNSKEY, RRSIG, NSEC, NSEC3,
 * NSEC3PARAM, CDS and CDNSKEY records, and a DS at the apex, are dropped with
 * a warning: the signer makes its own. RRsets whose members' TTLs differ get
 * the lowest with a warning naming the first differing record.
 *
 * Life cycle: zone_builder_new() -> zone_builder_add()... ->
 * zone_builder_finish() (or zone_builder_finish_dnskeys()) ->
 * zone_builder_free(). Finishing fails with the status of the first error
 * reported, and returns nothing half-built. Records are kept in growing
 * arrays (no allocation per record); finishing sorts the names once.
 *
 * Not thread-safe: one builder belongs to one thread at a time. The report
 * callback runs on the calling thread, inside add/error/warning/finish.
 */
#ifndef SIGNER_ZONE_ZONE_BUILDER_H
#define SIGNER_ZONE_ZONE_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signer/zone/zone.h"
#include "signer/zone/zone_diag.h"
#include "signer/zone/zone_rrset.h"

/* Errors reported before the builder stops; warnings reported (the rest are
 * counted and summed up in one warning when finishing). */
#define ZONE_BUILDER_MAX_ERRORS   100
#define ZONE_BUILDER_MAX_WARNINGS 100

typedef enum {
	ZONE_BUILDER_ZONE,    /* a whole zone: zone_builder_finish() */
	ZONE_BUILDER_DNSKEYS, /* DNSKEY records at the apex only, published as given
			       * (--publish-dnskey): zone_builder_finish_dnskeys() */
} zone_builder_mode_t;

typedef struct zone_builder zone_builder_t;

/* Makes a builder for the zone at apex (wire form, copied). name (copied)
 * names the input in reports that belong to no record (a missing SOA in an
 * empty file). report (may be NULL: reports are dropped) gets every error and
 * warning with ctx. Returns ZONE_OK or ZONE_ERR_NOMEM. */
int zone_builder_new(const uint8_t *apex, zone_builder_mode_t mode, const char *name,
                     zone_diag_fn report, void *ctx, zone_builder_t **out);

/* Adds one record: owner (wire form), type, class, TTL (seconds, relative)
 * and RDATA (wire form, uncompressed), all copied; file (copied when new) and
 * line say where it comes from. Returns ZONE_OK when the record is kept or
 * dropped with a warning, else the status of the error reported for it
 * (ZONE_ERR_OUT_OF_ZONE, ZONE_ERR_CLASS, ZONE_ERR_TTL, ZONE_ERR_SOA_NOT_APEX,
 * ZONE_ERR_DUPLICATE_SOA, ZONE_ERR_UNKNOWN_TYPE for meta types,
 * ZONE_ERR_RDATA, ZONE_ERR_NOT_DNSKEY in DNSKEY mode, ZONE_ERR_NOMEM). */
int zone_builder_add(zone_builder_t *b, const uint8_t *owner, uint16_t type, uint16_t rclass,
                     uint32_t ttl, const uint8_t *rdata, size_t rdlen, const char *file,
                     unsigned long line);

/* Reports an error the caller found in the input (a syntax error...) through
 * the builder, which counts it like its own: finishing will fail with status
 * (negative) if it is the first error. printf-style message. */
void zone_builder_error(zone_builder_t *b, int status, const char *file, unsigned long line,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Reports a warning the caller found in the input. */
void zone_builder_warning(zone_builder_t *b, const char *file, unsigned long line, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));

/* Whether the builder gave up (error limit reached, or out of memory): the
 * caller should stop reading; finishing will fail. */
bool zone_builder_stopped(const zone_builder_t *b);

/* Status of the first error reported so far, ZONE_OK if none. */
int zone_builder_status(const zone_builder_t *b);

/* Records kept so far (for progress reports). */
size_t zone_builder_count(const zone_builder_t *b);

/* Checks the zone and makes the version: *out (zone_free) on ZONE_OK. Fails
 * with the status of the first error reported (by add, error or these final
 * checks: ZONE_ERR_NO_SOA, ZONE_ERR_NO_APEX_NS, ZONE_ERR_CNAME,
 * ZONE_ERR_SINGLETON, ZONE_ERR_RRSET_TOO_BIG), or ZONE_ERR_NOMEM, or
 * ZONE_ERR_INVAL in DNSKEY mode. Call once; then only zone_builder_free(). */
int zone_builder_finish(zone_builder_t *b, zone_t **out);

/* DNSKEY mode: the one DNSKEY RRset of the records (lowest TTL, with a
 * warning if they differ): *out (one reference, the caller's) on ZONE_OK.
 * ZONE_ERR_NOT_DNSKEY if there was none; errors otherwise as
 * zone_builder_finish. */
int zone_builder_finish_dnskeys(zone_builder_t *b, zone_rrset_t **out);

/* Frees the builder and what it holds; NULL is a no-op. */
void zone_builder_free(zone_builder_t *b);

#endif
