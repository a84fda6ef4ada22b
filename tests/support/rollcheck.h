/*
 * rollcheck: an independent checker of rollover safety over time.
 *
 * It records every version of a signed zone the signer published and every
 * DS RRset the parent published, with absolute times (seconds since the
 * epoch), and checks at a given instant that every mix of cached data a
 * resolver could hold validates. Parsing, DS digests and RRSIG verification
 * are libldns's, never our signer's code.
 *
 * Life cycle: rollcheck_new(), then rollcheck_add_zone()/rollcheck_add_ds()
 * in non-decreasing time order (each kind on its own), rollcheck_check() at
 * any instants, rollcheck_free(). The checker owns copies of everything it
 * is given; text arguments are borrowed for the call.
 *
 * Threads: a checker is not thread-safe (rollcheck_check fills caches); use
 * one per thread. Distinct checkers may be used from distinct threads.
 *
 * Semantics.
 * - Versions: zone version i is published at T_i and replaced by version
 *   i+1 at T_{i+1}; a secondary may serve version i until
 *   T_{i+1} + zone_propagation_delay, so version i can be fetched at any
 *   time f in [T_i, T_{i+1} + zone_propagation_delay) (the last version:
 *   forever). DS set versions likewise with parent_propagation_delay.
 * - Cache: at instant t a resolver may hold, for each RRset (owner, type),
 *   any version of it fetched at f with t - TTL < f <= t (f real-valued, TTL
 *   the smallest TTL of that version's RRset; its RRSIGs travel with it).
 *   So version i's RRset is held at t iff T_i <= t and end_i > t - TTL.
 * - Data RRsets: every RRset of the zone at or below the apex, NSEC/NSEC3
 *   and SOA included, except NS at delegations and anything below a
 *   delegation (glue); DS and NSEC at delegations are checked. An RRset
 *   missing from a version is absent from it: negative caching (a resolver
 *   holding an NXDOMAIN/NODATA answer) is not modelled.
 * - Empty DS set ("" or comments only): an insecure delegation; its TTL is
 *   taken as 0 (negative caching of the DS is not modelled). Before the
 *   first DS version there is no DS set at all: nothing is checked.
 * - A mix is one DS content x one DNSKEY RRset content x one data RRset
 *   content (contents deduplicated by wire bytes). It validates at t when,
 *   for each algorithm A of the DS set (downgrade-hardened validator: each
 *   DS algorithm must work by itself):
 *   1. some DS of algorithm A matches (ldns digest) a DNSKEY of the RRset
 *      with the ZONE flag, without REVOKE, of algorithm A, and an RRSIG by
 *      that DNSKEY over the DNSKEY RRset verifies at t;
 *   2. the data RRset has an RRSIG by a DNSKEY of algorithm A of that
 *      RRset (ZONE flag, no REVOKE) that verifies at t.
 *   An empty DS set validates every mix. Each DS x DNSKEY pair is also
 *   counted as a mix (rule 1 only). A DNSKEY RRset missing from every
 *   version held counts as one absent content.
 * - Verification: ldns_verify_rrsig_time() does the cryptography, once per
 *   (RRset content, RRSIG, DNSKEY), at the RRSIG's inception; the validity
 *   window is then checked at t with RFC 4034 serial arithmetic, as ldns
 *   does.
 */
#ifndef TESTS_SUPPORT_ROLLCHECK_H
#define TESTS_SUPPORT_ROLLCHECK_H

#include <stddef.h>
#include <stdint.h>

/* Status codes: ROLLCHECK_OK or a negative value (-errno for system
 * failures such as -ENOMEM). */
typedef enum {
	ROLLCHECK_OK = 0,
	ROLLCHECK_E_PARSE = -1900, /* unparsable text; err says the line */
	ROLLCHECK_E_ORDER = -1901, /* version older than the previous one */
	ROLLCHECK_E_OWNER = -1902, /* DS text holds an RR not DS of the zone */
	ROLLCHECK_E_RANGE = -1903, /* from > to */
} rollcheck_status_t;

typedef struct rollcheck rollcheck_t;

/* Static text for a status code. Thread-safe. */
const char *rollcheck_strerror(int status);

/* A checker for zone (absolute or relative name, e.g. "example."); delays
 * are relative, in seconds. Returns NULL on a bad name or out of memory.
 * The caller owns the result (rollcheck_free). Thread-safe. */
rollcheck_t *rollcheck_new(const char *zone, uint32_t zone_propagation_delay,
                           uint32_t parent_propagation_delay);

/* Frees rc and all it recorded; NULL is a no-op. Not concurrently with any
 * other use of rc. */
void rollcheck_free(rollcheck_t *rc);

/* Records the zone version the signer published at t (absolute, seconds):
 * the whole signed zone in master-file text (one RR per line, comments,
 * $TTL/$ORIGIN allowed; relative names are taken relative to the zone).
 * Returns ROLLCHECK_OK, ROLLCHECK_E_PARSE (err gets "line N: reason"),
 * ROLLCHECK_E_ORDER or -ENOMEM; on failure nothing is recorded. err (may be
 * NULL) gets a message on failure. zone_text is borrowed. Not thread-safe
 * on one rc. */
int rollcheck_add_zone(rollcheck_t *rc, int64_t t, const char *zone_text, char *err, size_t errlen);

/* Records the parent's DS RRset for the zone as published at the parent at
 * t (absolute, seconds): DS RRs in text ("" or only comments: no DS, an
 * insecure delegation); RRSIG lines are ignored; the TTL is the smallest of
 * the DS RRs. Returns as rollcheck_add_zone, plus ROLLCHECK_E_OWNER for an
 * RR that is not a DS of the zone. ds_text is borrowed. Not thread-safe on
 * one rc. */
int rollcheck_add_ds(rollcheck_t *rc, int64_t t, const char *ds_text, char *err, size_t errlen);

/* Checks every mix a resolver could hold at instant t (absolute, seconds);
 * returns the number of failing mixes (0 = all good) or -ENOMEM; adds the
 * number of mixes checked to *mixes (may be NULL). *report (report may be
 * NULL) gets NULL when nothing failed, else up to a few lines describing
 * failures (malloc'ed, the caller frees). Not thread-safe on one rc: it
 * fills rc's verification cache. */
int rollcheck_check(rollcheck_t *rc, int64_t t, uint64_t *mixes, char **report);

/* Every instant worth checking in [from, to] (absolute, seconds): each
 * publication time T_i, each end of fetchability end_i and each TTL expiry
 * end_i + TTL of a replaced version (zone RRsets and DS sets), each also
 * minus and plus one second; sorted, without duplicates. *out (malloc'ed,
 * the caller frees; NULL when *n is 0) and *n are written on success.
 * Returns ROLLCHECK_OK, ROLLCHECK_E_RANGE or -ENOMEM. RRSIG inception and
 * expiration times are not included. Reads rc only: safe concurrently with
 * other rollcheck_instants calls, not with calls that change rc. */
int rollcheck_instants(const rollcheck_t *rc, int64_t from, int64_t to, int64_t **out, size_t *n);

#endif
