/*
 * nsec: the NSEC chain of a zone version (RFC 4034 section 4, RFC 4035
 * section 2.3), and what the NSEC and NSEC3 chains share: which names hold
 * data, the types a name's bitmap lists, the TTL of the records.
 *
 * nsec_build() reads one version and makes a new one (zone_replace) in which
 * every authoritative name with data, delegation points included, has one
 * NSEC RRset. The input version is borrowed for the call and not changed;
 * the new version shares every node whose NSEC RRset did not change. Apart
 * from the version handed back, nothing is kept.
 *
 * Thread-safety: no state; any number of threads may build from one version
 * at once (versions are immutable).
 */
#ifndef SIGNER_NSEC_NSEC_H
#define SIGNER_NSEC_NSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signer/zone/zone.h"

typedef enum {
	NSEC_KIND_NSEC,
	NSEC_KIND_NSEC3,
} nsec_kind_t;

/* Makes a new version of z with the NSEC chain: one NSEC RRset at each name
 * nsec_in_chain() accepts, next name = the following such name in canonical
 * order (the last one points back to the apex), bitmap = nsec_types(), TTL =
 * nsec_ttl(). NSEC RRsets elsewhere (stale ones), NSEC3 RRsets and the apex
 * NSEC3PARAM are removed; the new version has no NSEC3 nodes. A node whose
 * NSEC RRset is already the right one is shared as it is, RRSIGs included.
 * Call after the apex DNSKEY/CDS/CDNSKEY RRsets are in place: the apex bitmap
 * lists them. Returns NSEC_OK, NSEC_ERR_NO_SOA, NSEC_ERR_NOMEM,
 * NSEC_ERR_TOO_BIG, or a zone status from zone_replace(); *out (to be freed
 * with zone_free) is written only on success. */
int nsec_build(const zone_t *z, zone_t **out);

/* The NSEC chain of z brought up to date around names, without reading the
 * rest of the zone: z is a version made by zone_update() from one whose NSEC
 * chain was whole (nsec_build or nsec_update), with the same SOA TTL and
 * MINIMUM, and names its dirty list (every name whose entry changed or went
 * away). Sets the NSEC of each such name in the chain and of the chain name
 * before each, and strips NSEC/NSEC3 from such names outside the chain;
 * unchanged NSEC RRsets keep their RRSIGs. *out as nsec_build; changed (may
 * be NULL) gets the names whose node changed. Returns as nsec_build. */
int nsec_update(const zone_t *z, const zone_names_t *names, zone_t **out, zone_names_t *changed);

/* The TTL of NSEC and NSEC3 records (RFC 9077): the lower of the SOA RRset's
 * TTL and the SOA MINIMUM field, in seconds. Returns NSEC_OK or
 * NSEC_ERR_NO_SOA (no SOA at the apex, or RDATA shorter than 22 octets). */
int nsec_ttl(const zone_t *z, uint32_t *ttl);

/* Whether the node holds data: a slot of a type other than NSEC and NSEC3. */
bool nsec_has_data(const zone_node_t *node);

/* Whether the name of entry e has an NSEC record: authoritative (not
 * occluded) and holding data (empty non-terminals have none, RFC 4035 2.3);
 * delegation points are in the chain. */
bool nsec_in_chain(const zone_entry_t *e);

/* The types, in ascending order, of the bitmap of e's NSEC (kind
 * NSEC_KIND_NSEC) or NSEC3 (NSEC_KIND_NSEC3) record, as dnssec-signzone
 * writes them:
 *   - the types at the name, except NSEC and NSEC3 (and NSEC3PARAM for NSEC);
 *     at a delegation point only NS and DS (other data there is not
 *     authoritative);
 *   - NSEC: RRSIG and NSEC, always (the NSEC itself is signed);
 *   - NSEC3: RRSIG if one of those types is signed: any at an ordinary name,
 *     DS at a delegation point; an empty non-terminal gets no types at all.
 * Writes at most e->node->nslots + 2 types into types (cap entries) and sets
 * *n. Returns NSEC_OK or NSEC_ERR_BUFFER (nothing written to *n). */
int nsec_types(const zone_entry_t *e, nsec_kind_t kind, uint16_t *types, size_t cap, size_t *n);

#endif
