/*
 * zone_diff: the difference between two versions of a zone as an IXFR-shaped
 * delta (RFC 1995): the records removed and the records added, and applying a
 * delta to a version to make the next one.
 *
 * A delta (zone_delta_t) is a value the caller owns: zone_delta_init() ->
 * zone_delta_add()... (or zone_diff(), zone_load_records(),
 * zone_journal_read() filling it) -> read removed[] and added[] ->
 * zone_delta_deinit(). It copies every owner and RDATA it is given into
 * chunks of its own, which never move: the pointers in removed[] and added[]
 * stay valid until zone_delta_deinit(), even as more records are added (the
 * arrays of zone_rr_t themselves may move). Not thread-safe while it is
 * being filled; read by any number of threads after.
 *
 * zone_diff() and zone_delta_apply() read their versions (immutable) and may
 * run in any thread; the report callback of zone_delta_apply() runs on the
 * calling thread, during the call.
 */
#ifndef SIGNER_ZONE_ZONE_DIFF_H
#define SIGNER_ZONE_ZONE_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signer/zone/zone.h"
#include "signer/zone/zone_diag.h"

/* One resource record: owner (wire form), type, TTL (seconds, relative),
 * RDATA (wire form, uncompressed). Class IN. */
typedef struct {
	const uint8_t *owner;
	uint16_t type;
	uint32_t ttl;
	const uint8_t *rdata;
	uint16_t rdlen;
} zone_rr_t;

struct zone_delta_chunk;

/* A delta: from_serial -> to_serial; removed first, then added. */
typedef struct {
	uint32_t from_serial, to_serial;
	zone_rr_t *removed;
	size_t nremoved;
	zone_rr_t *added;
	size_t nadded;
	/* Private: capacities of the arrays, the storage chunks (newest
	 * first), the owner last stored (reused when the next is the same). */
	size_t removed_cap, added_cap;
	struct zone_delta_chunk *chunks;
	const uint8_t *last_owner;
} zone_delta_t;

/* Flags of zone_delta_apply(). */
enum {
	/* A change to unsigned data (from a front-end): DNSKEY, RRSIG, NSEC,
	 * NSEC3, NSEC3PARAM, CDS, CDNSKEY and DS at the apex are skipped with a
	 * warning; an RRset whose content or TTL changes loses its RRSIGs. */
	ZONE_APPLY_UNSIGNED = 0x1,
	/* A signed delta (zone_diff of two signed versions, a journal): RRSIGs
	 * go to the slot of the type they cover, NSEC3 records (and RRSIGs over
	 * NSEC3) to the NSEC3 nodes, the rest is data. */
	ZONE_APPLY_SIGNED = 0x2,
	/* With ZONE_APPLY_UNSIGNED: the apex CDS and CDNSKEY are applied, not
	 * skipped (the key manager sets them; a changed RRset loses its
	 * RRSIGs as any other). */
	ZONE_APPLY_CDS = 0x4,
};

/* Makes d an empty delta (serials 0). Allocates nothing. */
void zone_delta_init(zone_delta_t *d);

/* Frees what d holds and leaves it empty (as zone_delta_init). */
void zone_delta_deinit(zone_delta_t *d);

/* Appends one RR to d's removed list (added false) or added list, copying
 * owner (a valid wire name) and rdata. Returns ZONE_OK, ZONE_ERR_INVAL
 * (owner NULL, or rdata NULL with rdlen > 0) or ZONE_ERR_NOMEM (d is then
 * unchanged). */
int zone_delta_add(zone_delta_t *d, bool added, const uint8_t *owner, uint16_t type, uint32_t ttl,
                   const uint8_t *rdata, uint16_t rdlen);

/* Moves every RR of src to the end of the same list of d (no copying of
 * owners or RDATA) and leaves src empty; serials of d unchanged. Returns
 * ZONE_OK or ZONE_ERR_NOMEM (both unchanged then). */
int zone_delta_move(zone_delta_t *d, zone_delta_t *src);

/* Octets the delta's RRs take in DNS wire form, uncompressed (owner, type,
 * class, TTL, RDLENGTH, RDATA), both lists; the SOAs included. */
size_t zone_delta_wire_size(const zone_delta_t *d);

/* The delta from old to new: every RR that differs (data, RRSIGs as type 46
 * records, NSEC3 nodes). When the SOA changed, removed starts with the old
 * SOA and added with the new one; serials from the SOAs (0 without one).
 * Nodes and RRsets that both versions share (same pointers) are skipped
 * unread. Writes *out (overwritten, not deinit'ed: pass an empty or
 * uninitialised delta) on ZONE_OK only; ZONE_ERR_NOMEM, ZONE_ERR_INVAL
 * (different apexes). */
int zone_diff(const zone_t *old, const zone_t *new, zone_delta_t *out);

/* Applies d to z: removed, then added, as flags say (ZONE_APPLY_UNSIGNED or
 * ZONE_APPLY_SIGNED), into a new version *out (zone_free) made with
 * zone_replace(): touched nodes rebuilt, the rest shared; z's NSEC3 nodes
 * are carried over (and changed, for a signed delta). Owners and RDATA are
 * made canonical as the builder does. Adding a present RR is a no-op (its
 * TTL still counts); an added RR's TTL becomes its RRset's (the last wins).
 * Each problem goes to report (may be NULL) with file "removed" or "added"
 * and line = the RR's 1-based index in that list. Returns ZONE_OK, or the
 * status of the first error: ZONE_ERR_OUT_OF_ZONE, ZONE_ERR_NO_SUCH_RR,
 * ZONE_ERR_RDATA, ZONE_ERR_UNKNOWN_TYPE (meta type), ZONE_ERR_TTL,
 * ZONE_ERR_SOA_NOT_APEX, ZONE_ERR_CNAME, ZONE_ERR_SINGLETON,
 * ZONE_ERR_NO_SOA, ZONE_ERR_DUPLICATE_SOA, ZONE_ERR_NO_APEX_NS (the apex's
 * NS all removed), ZONE_ERR_ORPHAN_RRSIG (signed: RRSIGs left over a type
 * the name lacks), ZONE_ERR_RRSET_TOO_BIG, ZONE_ERR_INVAL (bad flags),
 * ZONE_ERR_NOMEM. *out is written on ZONE_OK only; z is never changed. */
int zone_delta_apply(const zone_t *z, const zone_delta_t *d, unsigned flags, zone_diag_fn report,
                     void *ctx, zone_t **out);

/* The serial of an SOA RRset (its first RR), or 0 for NULL or a malformed
 * SOA. */
uint32_t zone_diff_soa_serial(const zone_rrset_t *soa);

#endif
