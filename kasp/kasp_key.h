/*
 * kasp_key: what the enforcer knows of one key of a zone: its role, its
 * algorithm and tag, its goal, and the state of each of its four records in
 * the sense of "Flexible and Robust Key Rollover" (Mekking; the model of the
 * OpenDNSSEC 2 and BIND enforcers):
 *
 *   DS      the DS at the parent pointing at the key (KSK, CSK)
 *   DNSKEY  the key in the zone's DNSKEY RRset
 *   KRRSIG  the key's RRSIG over the DNSKEY RRset (KSK, CSK)
 *   ZRRSIG  the key's RRSIGs over the zone's other data (ZSK, CSK)
 *
 * each hidden (no resolver has it), rumoured (published, some caches may
 * still lack it), omnipresent (every cache that has the RRset has it),
 * unretentive (withdrawn, some caches may still hold it), or NA (not a
 * record of the key's role). A state and the time it was entered are
 * recorded when the zone version (or the parent's DS set) carrying it is
 * published, not when planned.
 *
 * Plain values: copy, compare, store as they are. No functions but the
 * names below (static strings, thread-safe).
 */
#ifndef KASP_KASP_KEY_H
#define KASP_KASP_KEY_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
	KASP_NA = 0,
	KASP_HIDDEN,
	KASP_RUMOURED,
	KASP_OMNIPRESENT,
	KASP_UNRETENTIVE,
} kasp_state_t;

typedef enum {
	KASP_DS = 0,
	KASP_DNSKEY,
	KASP_KRRSIG,
	KASP_ZRRSIG,
	KASP_RECORDS, /* how many */
} kasp_record_t;

/* Roles, as bits: a CSK is both. */
enum {
	KASP_ROLE_KSK = 0x1,
	KASP_ROLE_ZSK = 0x2,
	KASP_ROLE_CSK = KASP_ROLE_KSK | KASP_ROLE_ZSK,
};

typedef struct {
	uint32_t id; /* the key store's id; the planner's actions name keys by it */
	uint8_t algorithm;
	uint16_t tag;
	unsigned role; /* KASP_ROLE_* */
	bool goal;     /* true: to be introduced; false: to be retired */
	kasp_state_t state[KASP_RECORDS];
	int64_t changed[KASP_RECORDS]; /* UNIX seconds each state was entered */
	int64_t published;             /* its DNSKEY first published (0: not yet): lifetime
	                                  * counts from here */
	int64_t ds_seen;               /* parent evidence: the DS seen at every parental
	                                  * agent (0: not yet) */
	int64_t ds_gone;               /* the DS seen gone everywhere (0: not yet) */
	int64_t revoked;               /* RFC 5011: its DNSKEY first published with the REVOKE
	                                  * bit (0: not); its tag then differs
	                                  * (kasp_export_revoke) */
} kasp_key_t;

/* What a key does in the zone version to publish, from its states: the
 * flags of the signer's key set (signer/sign/sign_keyset.h). Data
 * signatures do not follow the DNSKEY: in an algorithm rollover a key signs
 * before its DNSKEY is published and its signatures stay after the DNSKEY
 * is withdrawn (the signer's planner allows both: an active key signs and
 * a retained one keeps its RRSIGs whether its DNSKEY is published or not,
 * signer/sign/sign_plan.h). */
typedef struct {
	bool published;    /* DNSKEY rumoured or omnipresent */
	bool signs_keyset; /* KRRSIG rumoured or omnipresent: signs DNSKEY, CDS, CDNSKEY */
	bool signs_data;   /* ZRRSIG rumoured or omnipresent: signs the other RRsets */
	bool retained;     /* ZRRSIG unretentive: its valid data RRSIGs may stay (a lazy
	                    * swap) while its successor's replace them */
	bool revoked;      /* published with the REVOKE bit (flags | 0x0080, RFC 5011):
	                    * then signs_keyset is true, the key signing the DNSKEY RRset
	                    * itself, and nothing else counts on it */
} kasp_key_use_t;

kasp_key_use_t kasp_key_use(const kasp_key_t *k);

/* "hidden", "rumoured", "omnipresent", "unretentive", "NA". */
const char *kasp_state_name(kasp_state_t s);

/* "DS", "DNSKEY", "KRRSIG", "ZRRSIG". */
const char *kasp_record_name(kasp_record_t r);

/* "KSK", "ZSK", "CSK" (or "?"). */
const char *kasp_role_name(unsigned role);

#endif
