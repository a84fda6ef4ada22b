/*
 * sign_verify: the verifier run on a signed zone version before it is
 * published (DESIGN.md "Verifier"). Three checks, each its own function:
 *
 * - coverage (no crypto): every RRset the zone signs (zone_is_signed, and the
 *   NSEC3 RRsets) has, for each algorithm of the apex DNSKEY RRset, an RRSIG
 *   by one of its DNSKEYs (algorithm and tag) that is valid from now until
 *   now + refresh, with consistent type covered, labels, original TTL, TTL
 *   and signer; no RRSIG over delegation NS, glue or occluded data;
 * - crypto: RRSIGs verified with OpenSSL over the rebuilt signed data against
 *   the DNSKEY RRset that will be published: a given list (those just made),
 *   or all of them;
 * - chain: the NSEC chain, or the NSEC3 chain and NSEC3PARAM (hashes, order,
 *   next owners, parameters, flags, type bitmaps, TTLs, opt-out).
 *
 * Coverage and chain also come restricted to the names a change touched
 * (sign_verify_coverage_names, sign_verify_chain_names), for an incremental
 * pass: same rules and reports, in time proportional to the names given (and
 * the names between them and their chain neighbours), not to the zone.
 *
 * The keys are those of the zone's own apex DNSKEY RRset (what validators
 * will see): each algorithm of its zone keys (not revoked) needs a valid
 * RRSIG by one of them over every signed RRset. The signer's key set, when
 * given (sign_verify_config_t.keyset), adds its unpublished keys (RFC 6781
 * 4.1.4: an algorithm rollover signs before publishing a DNSKEY and keeps
 * signatures after withdrawing one): their RRSIGs are checked as any other
 * (fields, validity, crypto; a bad one is an error) but cover no algorithm.
 * An RRSIG by a key in neither is an error. Each failure is handed to a
 * report callback naming the RRset (owner and type), the key (algorithm and
 * tag) and the reason; a check returns SIGN_ERR_VERIFY when it reported any.
 *
 * Life cycle: sign_verify_new() (reads the DNSKEY RRset; keeps a pointer to
 * the zone, which must outlive the verifier) -> checks -> sign_verify_free().
 * The verifier is immutable after sign_verify_new(): every check may run in
 * any number of threads at once (the report callback must then be
 * thread-safe; counts go to each caller's own struct).
 */
#ifndef SIGNER_SIGN_SIGN_VERIFY_H
#define SIGNER_SIGN_SIGN_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signer/sign/sign_keyset.h"
#include "signer/zone/zone.h"

typedef enum {
	/* coverage */
	SIGN_VERIFY_NO_DNSKEY,     /* the apex has no usable DNSKEY RRset */
	SIGN_VERIFY_BAD_DNSKEY,    /* a DNSKEY is malformed or of an unsupported algorithm */
	SIGN_VERIFY_MISSING,       /* no valid RRSIG for an algorithm of the DNSKEY RRset */
	SIGN_VERIFY_MALFORMED,     /* RRSIG RDATA cannot be parsed */
	SIGN_VERIFY_UNKNOWN_KEY,   /* no DNSKEY (zone key) with the RRSIG's algorithm and tag,
				    * nor an unpublished key of the key set */
	SIGN_VERIFY_FIELDS,        /* type covered, labels, original TTL, TTL or signer wrong */
	SIGN_VERIFY_NOT_YET_VALID, /* inception after now */
	SIGN_VERIFY_EXPIRES,       /* expiration before now + refresh */
	SIGN_VERIFY_UNEXPECTED,    /* RRSIG over unsigned data: delegation NS, glue, occluded */
	/* crypto */
	SIGN_VERIFY_BAD_SIGNATURE, /* no DNSKEY with the algorithm and tag verifies it */
	/* chain */
	SIGN_VERIFY_NO_SOA,          /* no usable SOA at the apex (for the NSEC/NSEC3 TTL) */
	SIGN_VERIFY_NSEC_MISSING,    /* a name with authoritative data has no NSEC */
	SIGN_VERIFY_NSEC_EXTRA,      /* an NSEC at a name outside the chain, or in an NSEC3 zone */
	SIGN_VERIFY_NSEC_MALFORMED,  /* NSEC RDATA cannot be parsed, or several NSEC records */
	SIGN_VERIFY_NSEC_NEXT,       /* next owner name is not the next name of the chain */
	SIGN_VERIFY_NSEC_BITMAP,     /* type bitmap differs from the types at the name */
	SIGN_VERIFY_NSEC_TTL,        /* TTL is not min(SOA TTL, SOA MINIMUM) (RFC 9077) */
	SIGN_VERIFY_NSEC3PARAM,      /* NSEC3PARAM missing, malformed, not one record, flags not 0,
				     * unsupported hash */
	SIGN_VERIFY_NSEC3_MISSING,   /* a name of the chain has no NSEC3 with its hash */
	SIGN_VERIFY_NSEC3_EXTRA,     /* an NSEC3 whose hash is no name's of the chain */
	SIGN_VERIFY_NSEC3_MALFORMED, /* NSEC3 RDATA or hashed owner unreadable, several records */
	SIGN_VERIFY_NSEC3_PARAMS,    /* hash algorithm, iterations or salt differ from NSEC3PARAM */
	SIGN_VERIFY_NSEC3_FLAGS,     /* unknown flags, or the opt-out flag not the same on all */
	SIGN_VERIFY_NSEC3_NEXT,      /* next hashed owner is not the next hash of the chain */
	SIGN_VERIFY_NSEC3_BITMAP,    /* type bitmap differs from the types at the name */
	SIGN_VERIFY_NSEC3_TTL,       /* TTL is not min(SOA TTL, SOA MINIMUM) */
	SIGN_VERIFY_NSEC3_COLLISION, /* two names of the chain have one hash */
} sign_verify_reason_t;

/* One failure, as handed to the report callback; every pointer is borrowed
 * for the call. */
typedef struct {
	sign_verify_reason_t reason;
	const uint8_t *owner;   /* the RRset's owner, wire form */
	const char *owner_text; /* the same in presentation form */
	uint16_t type;          /* the RRset's type (an RRSIG's type covered); 0: the name */
	bool has_key;           /* algorithm and key_tag name a key (or an RRSIG's key) */
	uint8_t algorithm;      /* also set, alone, for SIGN_VERIFY_MISSING */
	uint16_t key_tag;
	const char *detail; /* more about it, "" if nothing */
} sign_verify_failure_t;

typedef void (*sign_verify_report_t)(void *ctx, const sign_verify_failure_t *failure);

typedef struct {
	int64_t now;                 /* absolute, UNIX seconds */
	uint32_t refresh;            /* seconds: every RRSIG must last until now + refresh */
	size_t max_failures;         /* a check stops after this many reports (0: no limit) */
	sign_verify_report_t report; /* may be NULL */
	void *report_ctx;
	/* The signer's key set (may be NULL; borrowed, kept until
	 * sign_verify_free): its keys that are not published may have made
	 * RRSIGs in the zone. */
	const sign_keyset_t *keyset;
} sign_verify_config_t;

/* What a check looked at; each check adds to the caller's struct (start it
 * zeroed), also when it returns SIGN_ERR_VERIFY. */
typedef struct {
	size_t rrsets;   /* RRsets checked for coverage */
	size_t rrsigs;   /* RRSIGs looked at by coverage */
	size_t verified; /* signatures checked with crypto */
	size_t names;    /* names checked in the NSEC/NSEC3 chain */
	size_t failures; /* failures reported */
} sign_verify_counts_t;

/* An RRSIG to check with crypto: one RRSIG RDATA over the RRset of type
 * (its type covered) at node, a node of the zone (an entry's or an NSEC3
 * node). All borrowed. */
typedef struct {
	const zone_node_t *node;
	uint16_t type;
	const uint8_t *rrsig;
	uint16_t rrsig_len;
} sign_verify_item_t;

typedef struct sign_verify sign_verify_t;

/* Makes a verifier for z (borrowed and kept until sign_verify_free) with
 * cfg (copied): reads the apex DNSKEY RRset and makes a verification key of
 * each zone key, and of each unpublished key of cfg->keyset whose DNSKEY is
 * not in that RRset. Returns SIGN_OK or SIGN_ERR_NOMEM; unusable DNSKEYs are
 * reported by sign_verify_coverage(), not here. */
int sign_verify_new(const zone_t *z, const sign_verify_config_t *cfg, sign_verify_t **out);

/* Frees; NULL is a no-op. */
void sign_verify_free(sign_verify_t *v);

/* The coverage check over every RRset of the zone, without crypto. Returns
 * SIGN_OK or SIGN_ERR_VERIFY. */
int sign_verify_coverage(const sign_verify_t *v, sign_verify_counts_t *counts);

/* The coverage check (DNSKEY RRset problems included) over the RRsets at
 * the names in names that the zone holds (the others are skipped) and at
 * the NSEC3 nodes owned by nsec3_owners; either list may be NULL; both are
 * borrowed for the call. A name given twice may be checked twice. Costs
 * O(names * log zone). Returns SIGN_OK or SIGN_ERR_VERIFY. */
int sign_verify_coverage_names(const sign_verify_t *v, const zone_names_t *names,
                               const zone_names_t *nsec3_owners, sign_verify_counts_t *counts);

/* Verifies the n RRSIGs in items with crypto: each must verify with a DNSKEY
 * (or unpublished key of the key set) of its algorithm and tag over the
 * RRset it names. Callers may split a list
 * among threads. Returns SIGN_OK, SIGN_ERR_VERIFY, SIGN_ERR_NOMEM. */
int sign_verify_rrsigs(const sign_verify_t *v, const sign_verify_item_t *items, size_t n,
                       sign_verify_counts_t *counts);

/* Verifies every RRSIG over every RRset the zone signs (tests, audits).
 * Returns SIGN_OK, SIGN_ERR_VERIFY, SIGN_ERR_NOMEM. */
int sign_verify_all(const sign_verify_t *v, sign_verify_counts_t *counts);

/* The chain check: NSEC3 when the apex has an NSEC3PARAM or the zone has
 * NSEC3 nodes, NSEC otherwise. Returns SIGN_OK, SIGN_ERR_VERIFY,
 * SIGN_ERR_NOMEM, SIGN_ERR_CRYPTO (SHA-1 unavailable). */
int sign_verify_chain(const sign_verify_t *v, sign_verify_counts_t *counts);

/* The chain check around names (borrowed; may be NULL): every name whose
 * entry changed or went away (zone_update's dirty list), present or not.
 * NSEC: each name present gets its NSEC checked (next = the next chain name,
 * wrapping to the apex), or an NSEC where none belongs reported; so does the
 * chain name before each name's position. NSEC3: the NSEC3PARAM; each name's
 * hash has its NSEC3 if the name is required in the chain, none if the name
 * is absent or occluded; that record (parameters, flags, TTL, bitmap) and the
 * next hashed owners of the nodes before and at the hash's position. Each
 * record is checked once, whatever the repeats. Costs O(names * log zone),
 * plus the walks over the names outside the NSEC chain next to those given
 * and, with opt-out, over the subtree of an empty non-terminal given.
 * Returns SIGN_OK, SIGN_ERR_VERIFY, SIGN_ERR_NOMEM, SIGN_ERR_CRYPTO. */
int sign_verify_chain_names(const sign_verify_t *v, const zone_names_t *names,
                            sign_verify_counts_t *counts);

/* What sign_verify_zone() runs. */
enum {
	SIGN_VERIFY_CHECK_COVERAGE = 0x1,
	SIGN_VERIFY_CHECK_ITEMS = 0x2, /* crypto over the items given */
	SIGN_VERIFY_CHECK_ALL = 0x4,   /* crypto over every RRSIG */
	SIGN_VERIFY_CHECK_CHAIN = 0x8,
};

/* Runs the checks in what (SIGN_VERIFY_CHECK_*) over z in one thread, all of
 * them even after a failure (each reports its own): a verifier made and freed
 * for the call. Returns SIGN_OK, SIGN_ERR_VERIFY, or the first other
 * error. */
int sign_verify_zone(const zone_t *z, const sign_verify_config_t *cfg, unsigned what,
                     const sign_verify_item_t *items, size_t n, sign_verify_counts_t *counts);

/* Static text for a reason ("no valid RRSIG for an algorithm"). */
const char *sign_verify_reason_str(sign_verify_reason_t reason);

#endif
