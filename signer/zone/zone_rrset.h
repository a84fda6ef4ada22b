/*
 * zone_rrset: an RRset as the signer keeps it: type, TTL and the RDATA of
 * its RRs in wire form, canonical (names inside RDATA lowercased per RFC 4034
 * section 6.2 and RFC 6840 section 5.1), sorted in canonical RR order (RFC
 * 4034 section 6.3) with duplicates removed. The owner lives in the node.
 *
 * RRsets are immutable once made and reference-counted, so that zone versions
 * share the RRsets they did not change: zone_rrset_ref() takes a reference,
 * zone_rrset_unref() drops one and frees at zero. Both are thread-safe
 * (atomic counter); reading an RRset is thread-safe.
 */
#ifndef SIGNER_ZONE_ZONE_RRSET_H
#define SIGNER_ZONE_ZONE_RRSET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RR types the signer itself cares about. */
enum {
	ZONE_TYPE_A = 1,
	ZONE_TYPE_NS = 2,
	ZONE_TYPE_CNAME = 5,
	ZONE_TYPE_SOA = 6,
	ZONE_TYPE_MX = 15,
	ZONE_TYPE_AAAA = 28,
	ZONE_TYPE_DNAME = 39,
	ZONE_TYPE_DS = 43,
	ZONE_TYPE_RRSIG = 46,
	ZONE_TYPE_NSEC = 47,
	ZONE_TYPE_DNSKEY = 48,
	ZONE_TYPE_NSEC3 = 50,
	ZONE_TYPE_NSEC3PARAM = 51,
	ZONE_TYPE_CDS = 59,
	ZONE_TYPE_CDNSKEY = 60,
};

typedef struct zone_rrset {
	atomic_uint refs;
	uint16_t type;
	uint16_t count; /* RRs */
	uint32_t ttl;
	uint32_t len; /* bytes in data */
	/* count times: RDATA length (2 bytes, big-endian), RDATA. Canonical
	 * order, no duplicates. */
	uint8_t data[];
} zone_rrset_t;

/* One RDATA, for building RRsets and walking them. */
typedef struct {
	const uint8_t *data;
	uint16_t len;
} zone_rdata_t;

/* Makes an RRset from count RDATAs (copied; sorted canonically here and
 * duplicates dropped: *out->count may be smaller than count). The RDATA must
 * already be canonical (zone_rdata_canonicalize). Returns ZONE_OK,
 * ZONE_ERR_NOMEM, or ZONE_ERR_RRSET_TOO_BIG (more than 65535 RRs or bytes
 * than fit a message). The new RRset has one reference, the caller's. */
int zone_rrset_new(uint16_t type, uint32_t ttl, const zone_rdata_t *rdatas, size_t count,
                   zone_rrset_t **out);

/* Takes a reference; returns rrset. NULL is passed through. */
zone_rrset_t *zone_rrset_ref(zone_rrset_t *rrset);

/* Drops a reference; frees at zero. NULL is a no-op. */
void zone_rrset_unref(zone_rrset_t *rrset);

/* Walks the RDATAs: start with *pos = 0; returns false after the last one. */
bool zone_rrset_next(const zone_rrset_t *rrset, size_t *pos, zone_rdata_t *out);

/* True for the types the signer makes itself (DNSKEY, NSEC, NSEC3,
 * NSEC3PARAM, CDS, CDNSKEY; RRSIGs ride with their RRset). Pure. */
bool zone_type_signer_made(uint16_t type);

/* True if both have the same type, TTL and RDATA. */
bool zone_rrset_equal(const zone_rrset_t *a, const zone_rrset_t *b);

/* Compares two RDATAs in canonical order (RFC 4034 section 6.3): as
 * left-justified unsigned octet sequences, a shorter prefix first. */
int zone_rdata_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Lowercases, in place, the domain names embedded in RDATA of the types RFC
 * 4034 section 6.2 lists, as RFC 6840 section 5.1 amends it (NSEC's next
 * name and HINFO are left alone; RRSIG's signer name is lowercased).
 * Returns false if the RDATA is malformed for its type (a name running past
 * the end). */
bool zone_rdata_canonicalize(uint16_t type, uint8_t *rdata, size_t len);

#endif
