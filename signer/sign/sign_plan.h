/*
 * sign_plan: the sign planner. For one RRset it decides, for each old RRSIG
 * and each key of the key set, whether to REUSE an RRSIG, CREATE one (a job
 * for the HSM) or DROP one (DESIGN.md "Sign planner"), and it computes the
 * validity window of new signatures.
 *
 * sign_plan_rrset() is a pure function of its inputs (timing, key set, the
 * RRset now and then, the old RRSIGs): no clock, no randomness, no I/O. Its
 * result goes into a sign_plan_t, a reusable workspace owned by one thread
 * (each pipeline thread keeps one): once it has grown to the largest RRSIG
 * RRset and key set, planning allocates nothing. The key set and the RRsets
 * are borrowed; the plan's items point into them and stay valid as long as
 * they do.
 *
 * Life cycle: sign_plan_init() -> sign_plan_rrset() per RRset ->
 * sign_plan_deinit().
 */
#ifndef SIGNER_SIGN_SIGN_PLAN_H
#define SIGNER_SIGN_SIGN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signer/sign/sign_keyset.h"
#include "signer/sign/sign_rrsig.h"
#include "signer/zone/zone_rrset.h"

/* Signature timing, as the signconf gives it. */
typedef struct {
	int64_t now;               /* absolute, UNIX seconds */
	uint32_t inception_offset; /* seconds: inception = now - inception_offset */
	uint32_t validity;         /* seconds from inception to expiration, before jitter */
	uint32_t refresh;          /* seconds: an RRSIG is replaced once it expires within this */
	uint32_t jitter;           /* seconds: at most this much added to an expiration */
} sign_plan_timing_t;

typedef enum {
	SIGN_PLAN_REUSE,  /* keep the old RRSIG */
	SIGN_PLAN_CREATE, /* make a new RRSIG with the key */
	SIGN_PLAN_DROP,   /* leave the old RRSIG out */
} sign_plan_action_t;

/* Why an item got its action; the first reason that applies, in this order
 * for old RRSIGs. */
typedef enum {
	SIGN_PLAN_WHY_VALID,     /* REUSE: every condition holds */
	SIGN_PLAN_WHY_NEEDED,    /* CREATE: an active key without a reusable RRSIG */
	SIGN_PLAN_WHY_MALFORMED, /* DROP: the RRSIG RDATA cannot be parsed */
	SIGN_PLAN_WHY_FIELDS,    /* DROP: type covered, labels, original TTL or signer differ */
	SIGN_PLAN_WHY_CHANGED,   /* DROP: the RRset changed (RDATA or TTL) or its old data is
				  * unknown */
	SIGN_PLAN_WHY_NO_KEY,    /* DROP: no key of the key set with its algorithm and tag (of
				  * several such keys, none whose signature it is) */
	SIGN_PLAN_WHY_ROLE,      /* DROP: the key does not sign this type (a revoked key signs
				  * only DNSKEY) */
	SIGN_PLAN_WHY_INACTIVE,  /* DROP: the key is neither active nor retained */
	SIGN_PLAN_WHY_NOT_YET,   /* DROP: inception after now */
	SIGN_PLAN_WHY_EXPIRING,  /* DROP: expiration - refresh <= now */
	SIGN_PLAN_WHY_DUPLICATE, /* DROP: another reusable RRSIG of the same key lasts longer */
} sign_plan_why_t;

typedef struct {
	sign_plan_action_t action;
	sign_plan_why_t why;
	const sign_key_t *key; /* REUSE, CREATE: the key; DROP for ROLE, INACTIVE, NOT_YET,
	                        * EXPIRING, DUPLICATE: the key that made it; else NULL */
	zone_rdata_t old;      /* REUSE, DROP: the old RRSIG RDATA (inside old_sigs);
				* CREATE: {NULL, 0} */
} sign_plan_item_t;

/* What to plan for: one RRset of a zone. All borrowed for the call. */
typedef struct {
	const uint8_t *owner;         /* wire form */
	const uint8_t *signer;        /* the zone apex, wire form */
	const zone_rrset_t *data;     /* the RRset now */
	const zone_rrset_t *old_data; /* the RRset when old_sigs were made; NULL if none */
	const zone_rrset_t *old_sigs; /* the old RRSIG RRset over it; NULL if none */
} sign_plan_input_t;

/* A plan: items[0..count) (old RRSIGs in their order, REUSE or DROP, then
 * CREATE in key set order), with totals per action. The other fields are
 * the workspace. */
typedef struct {
	sign_plan_item_t *items;
	size_t count;
	size_t reuse, create, drop;
	size_t cap;
	struct sign_plan_kept *kept; /* per key: its reused item so far */
	size_t kept_cap;
	sign_rrsig_buf_t buf; /* signed data, when tags collide */
} sign_plan_t;

/* Makes an empty plan (allocates nothing yet). */
void sign_plan_init(sign_plan_t *plan);

/* Frees the plan's storage. */
void sign_plan_deinit(sign_plan_t *plan);

/* Checks timing: SIGN_OK, or SIGN_ERR_TIMING when validity is not above
 * inception_offset + refresh (a new RRSIG would need replacing at once) or
 * inception_offset + validity + jitter reach 2^31 seconds (beyond RRSIG
 * serial arithmetic). */
int sign_plan_timing_check(const sign_plan_timing_t *t);

/* The validity window of a new signature: *inception = now -
 * inception_offset, *expiration = *inception + validity + (random modulo
 * (jitter + 1)). random comes from the caller (one value per signature), so
 * that this stays pure; with jitter 0 the expiration is exact. */
void sign_plan_window(const sign_plan_timing_t *t, uint64_t random, int64_t *inception,
                      int64_t *expiration);

/* Plans in: each old RRSIG is REUSEd only if its key (a key of the key
 * set, published or not, found by algorithm and tag; when several keys
 * share both, the one whose signature it is, checked with its verification
 * key) is active or retained and signs the type, the RRset is unchanged
 * including its TTL, its type covered, labels, original TTL and signer
 * match, inception <= now and expiration - refresh > now; at most one per
 * key (the latest to expire). Every other old RRSIG is DROPped. Each active
 * key that signs the type and has no reused RRSIG gets a CREATE, published
 * or not (RFC 6781 4.1.4: a new algorithm's signatures come before its
 * DNSKEY, an old one's stay after it). Returns SIGN_OK, SIGN_ERR_NOMEM, or
 * SIGN_ERR_ALGORITHM_GAP: an algorithm of a published key (not revoked)
 * would have no RRSIG by a published key over this RRset (an algorithm
 * with only unpublished keys needs none); then *gap_alg (if non-NULL) is
 * set to it and plan->count to 0. Thread-safe with one plan per thread (the
 * key set is only read). */
int sign_plan_rrset(sign_plan_t *plan, const sign_plan_timing_t *t, const sign_keyset_t *ks,
                    const sign_plan_input_t *in, uint8_t *gap_alg);

/* Static text for an action ("reuse") or a reason ("expiring"). */
const char *sign_plan_action_str(sign_plan_action_t action);
const char *sign_plan_why_str(sign_plan_why_t why);

#endif
