/*
 * sign_zone: one signing pass over a zone version: the apex DNSKEY RRset and
 * SOA serial, the NSEC or NSEC3 chain, the planner over every RRset the zone
 * signs (reusing what a previously signed version holds), the HSM pipeline
 * for the signatures to create, then the verifier. Nothing comes out unless
 * every signature was made and the verifier accepts the result.
 *
 * sign_zone() is called by one thread; it runs the pipeline's workers.
 * Everything passed in is borrowed for the call; the new version is the
 * caller's (zone_free). The previous version, when given, shares with the
 * result the RRsets and RRSIGs that did not change.
 */
#ifndef SIGNER_SIGN_SIGN_ZONE_H
#define SIGNER_SIGN_SIGN_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signer/nsec/nsec3.h"
#include "signer/sign/sign_keyset.h"
#include "signer/sign/sign_pipeline.h"
#include "signer/sign/sign_plan.h"
#include "signer/zone/zone.h"
#include "signer/zone/zone_serial.h"

typedef enum {
	SIGN_ZONE_INFO,
	SIGN_ZONE_WARNING,
	SIGN_ZONE_ERROR,
} sign_zone_level_t;

typedef struct {
	sign_plan_timing_t timing;
	uint32_t dnskey_ttl; /* seconds; 0: the SOA RRset's TTL */
	bool nsec3;          /* NSEC3 (with nsec3_params) rather than NSEC */
	nsec3_params_t nsec3_params;
	zone_serial_policy_t serial;
	bool have_previous_serial; /* a serial was published before: the new one is greater */
	uint32_t previous_serial;
	unsigned threads;   /* pipeline workers; 0: from the token's measured latency */
	bool verify_crypto; /* check every new signature with OpenSSL (off: benchmarks only) */
	/* sign_zone_update: sign_keyset_digest() of the key set prev was signed
	 * with (its pass's sign_zone_stats_t.keyset_digest); 0: unknown, then
	 * inferred from prev's apex (see sign_zone_update). */
	uint64_t prev_keyset_digest;
	/* Called from the signing thread about every 200 ms (may be NULL). */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	/* Warnings and errors, one line each (may be NULL). */
	void (*report)(void *ctx, sign_zone_level_t level, const char *msg);
	void *ctx;
} sign_zone_params_t;

typedef struct {
	size_t rrsets;   /* RRsets signed */
	size_t created;  /* signatures made by the HSM */
	size_t reused;   /* signatures kept from the previous version */
	size_t dropped;  /* old signatures left out */
	size_t verified; /* new signatures checked with OpenSSL */
	unsigned workers;
	double latency_us;      /* the token's measured latency, when workers were chosen from it */
	uint32_t serial;        /* the SOA serial of the result */
	bool incremental;       /* made by sign_zone_update */
	uint64_t keyset_digest; /* sign_keyset_digest(ks): the next pass's prev_keyset_digest */
	double t_chain, t_sign, t_verify; /* seconds per phase */
} sign_zone_stats_t;

/* Signs in (an unsigned version, or one carrying old RRSIGs to consider)
 * with ks, reusing RRSIGs from prev (NULL: none). The DNSKEY RRset holds the
 * DNSKEY of every published key in ks; every active key signs, published or
 * not, and the verifier accepts the RRSIGs of ks's unpublished keys (RFC
 * 6781 4.1.4; sign_plan.h, sign_verify.h). A ks that publishes no key (a
 * zone that went insecure) gives the zone without any DNSSEC record (no
 * DNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM, CDS, CDNSKEY), its SOA serial set
 * as always; sign_zone_update() leaves that to this function. On success *out gets the signed
 * version and stats the counts. Returns SIGN_OK, SIGN_ERR_TIMING, a status of
 * the chain (nsec_status_t), SIGN_ERR_ALGORITHM_GAP, the first failed
 * signature's hsm status (every failure is reported with its RRset and key),
 * SIGN_ERR_VERIFY (every verifier failure reported), SIGN_ERR_NOMEM. */
int sign_zone(const zone_t *in, const zone_t *prev, const sign_keyset_t *ks,
              const sign_zone_params_t *params, zone_t **out, sign_zone_stats_t *stats);

/* The incremental pass: the same result as sign_zone(in, prev, ...) in time
 * about the size of the change, not of the zone. prev is the last version
 * sign_zone() or sign_zone_update() made (and verified) with the same ks and
 * params; in is prev with changes at some names (zone_delta_apply,
 * zone_update), or prev itself (a refresh). Planned, signed and verified
 * (coverage, the chain around them, crypto of every new signature): the
 * names whose entries differ, the NSEC/NSEC3 records around them, the apex
 * (SOA serial), and the names and NSEC3 nodes holding an RRSIG that expires
 * within refresh (chunks whose cached earliest expiration is later are not
 * read). Coverage of the whole zone follows: every other name was covered
 * in prev under the same DNSKEY RRset and none of its RRSIGs is due.
 * Returns as sign_zone, or SIGN_ERR_WHOLE, unreported, when a whole pass is
 * needed instead: another DNSKEY RRset, NSEC/NSEC3 TTL or chain parameters,
 * an NSEC3 hash collision, changed or due names beyond a sixteenth of the
 * names (plus 64), or a key set that may sign otherwise than prev's did
 * (the names left alone would keep RRSIGs of the old key set):
 * - params->prev_keyset_digest given (not 0): whole unless it equals
 *   sign_keyset_digest(ks) (any key's algorithm, tag, role, flags, DNSKEY,
 *   or the key list, changed);
 * - else, prev's key set is not recorded and is inferred from prev's apex
 *   (always re-planned, its SOA re-signed each pass): whole when ks has an
 *   unpublished key that signs (active, active_keyset or retained: the
 *   steps of an algorithm rollover before and after its DNSKEY RRset
 *   changes are all whole passes), when an RRSIG at prev's apex is not by a
 *   published key of ks that makes or keeps RRSIGs (over the SOA: makes
 *   them), or when the SOA RRSIGs of prev are not one per key of ks that
 *   makes SOA RRSIGs. Published keys' flags that matter show in the DNSKEY
 *   RRset or these SOA RRSIGs. Blind spot: a key that was only retained
 *   and unpublished in prev, left the key set since, and has no RRSIG left
 *   at prev's apex: its RRSIGs elsewhere stay until due (validators ignore
 *   them: its DNSKEY is gone). Give prev_keyset_digest to close it. */
int sign_zone_update(const zone_t *in, const zone_t *prev, const sign_keyset_t *ks,
                     const sign_zone_params_t *params, zone_t **out, sign_zone_stats_t *stats);

#endif
