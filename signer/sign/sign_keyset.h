/*
 * sign_keyset: the keys a zone is signed with, as the KASP (or `signer sign`)
 * hands them to the engine: each key's role (KSK, ZSK, CSK) and flags
 * (published: its DNSKEY is in the zone; active: it makes new RRSIGs;
 * retained: its valid RRSIGs may stay but it makes none; revoked: RFC 5011),
 * with its DNSKEY RDATA, key tag and a host-side verification key read from
 * the token once. Signing does not follow publication (RFC 6781 4.1.4, an
 * algorithm rollover): an unpublished key that is active signs, and one
 * that is retained keeps its RRSIGs, like a published one; only the DNSKEY
 * RRset and the one-RRSIG-per-algorithm rule look at published.
 *
 * Life cycle: sign_keyset_init() -> sign_keyset_add() per key (reads the
 * public key from the token) -> use from any thread (immutable) ->
 * sign_keyset_deinit(). The hsm_key_t tokens are borrowed from the hsm_ctx,
 * which must outlive the key set.
 */
#ifndef SIGNER_SIGN_SIGN_KEYSET_H
#define SIGNER_SIGN_SIGN_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm_alg.h"
#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_key.h"
#include "hsm/hsm_verify.h"

typedef enum {
	SIGN_ROLE_KSK,
	SIGN_ROLE_ZSK,
	SIGN_ROLE_CSK,
} sign_role_t;

typedef struct {
	hsm_key_t key;        /* token and CKA_ID */
	const hsm_alg_t *alg; /* the DNSSEC algorithm it signs with */
	sign_role_t role;
	bool published, active, retained, revoked;
	/* Makes new RRSIGs over the DNSKEY, CDS and CDNSKEY RRsets (a KSK's or
	 * CSK's): sign_keyset_add sets it as active; a KASP sets it apart for
	 * a CSK whose DNSKEY RRset signature comes before its data signatures
	 * (active then says what it does for the other RRsets). */
	bool active_keyset;
	uint16_t flags; /* DNSKEY flags: 256, or 257 for KSK/CSK; +128 when revoked */
	uint16_t tag;   /* key tag of the DNSKEY as published (flags included) */
	uint8_t dnskey[HSM_DNSKEY_PUBKEY_MAX + 4]; /* DNSKEY RDATA */
	size_t dnskey_len;
	hsm_verify_key_t *verify; /* owned */
} sign_key_t;

typedef struct {
	sign_key_t *keys;
	size_t count;
} sign_keyset_t;

void sign_keyset_init(sign_keyset_t *ks);

/* Adds key with role, algorithm alg (NULL: the key's own) and flags; reads
 * the public key from the token to make the DNSKEY RDATA, tag and
 * verification key. Returns HSM_OK or the hsm status (detail filled). */
int sign_keyset_add(sign_keyset_t *ks, const hsm_key_t *key, const hsm_alg_t *alg, sign_role_t role,
                    bool published, bool active, bool retained, bool revoked, hsm_detail_t *detail);

/* Adds a key known only by its DNSKEY RDATA (a foreign key published for a
 * multi-signer setup, or a test key): never active. Returns HSM_OK,
 * HSM_ERR_DNSKEY, HSM_ERR_ALGORITHM. */
int sign_keyset_add_dnskey(sign_keyset_t *ks, const uint8_t *rdata, size_t len,
                           hsm_detail_t *detail);

/* A key of the set (published or not) with this algorithm and tag, for
 * checking a signature: looked up by algorithm AND tag, and when several
 * share both, the caller tries each (index from *pos, start at 0). NULL when
 * none is left. */
const sign_key_t *sign_keyset_find(const sign_keyset_t *ks, uint8_t alg, uint16_t tag, size_t *pos);

/* True if key signs RRsets of type: a KSK signs DNSKEY, CDS and CDNSKEY; a
 * ZSK every type but DNSKEY; a CSK all. CDS and CDNSKEY carry both: the
 * KSK's signature is the one RFC 7344 asks for (a key in the DS and DNSKEY
 * RRsets), the ZSK's keeps them valid for a resolver whose cached DNSKEY
 * RRset predates a double-DS swap of the KSK. */
bool sign_keyset_signs_type(const sign_key_t *key, uint16_t type);

/* True if key's RRSIGs over type are key-set signatures, made while
 * active_keyset rather than active: a KSK's or CSK's over DNSKEY, CDS and
 * CDNSKEY. */
bool sign_keyset_keyset_sig(const sign_key_t *key, uint16_t type);

/* Whether key makes or keeps any RRSIG (active, active_keyset or
 * retained). */
bool sign_keyset_signs(const sign_key_t *key);

/* A digest of what the engine does with each key, in key set order: its
 * algorithm, tag, role, flags (published, active, active_keyset, retained,
 * revoked) and DNSKEY RDATA. Never 0. Two key sets with one digest sign
 * alike (barring a 64-bit collision). */
uint64_t sign_keyset_digest(const sign_keyset_t *ks);

/* Frees the verification keys and the array. */
void sign_keyset_deinit(sign_keyset_t *ks);

#endif
