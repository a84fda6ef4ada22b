/*
 * hsm_dnskey: public keys as DNSSEC sees them. Turns a token's public key
 * attributes into the DNSKEY public key field (RFC 3110 for RSA, RFC 6605 for
 * ECDSA, RFC 8080 for EdDSA), builds DNSKEY RDATA, computes key tags (RFC 4034
 * appendix B) and DS RDATA (SHA-256, SHA-384).
 *
 * Pure functions over caller buffers; no Cryptoki calls; thread-safe.
 */
#ifndef HSM_HSM_DNSKEY_H
#define HSM_HSM_DNSKEY_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm_alg.h"

#define HSM_DNSKEY_FLAG_ZONE   0x0100 /* 256: zone key */
#define HSM_DNSKEY_FLAG_SEP    0x0001 /* 257 with ZONE: key signing key */
#define HSM_DNSKEY_FLAG_REVOKE 0x0080 /* RFC 5011 */

#define HSM_DS_SHA256 2
#define HSM_DS_SHA384 4

/* Largest DNSKEY public key field we produce (RSA 4096 + exponent). */
#define HSM_DNSKEY_PUBKEY_MAX 1024
#define HSM_DS_RDATA_MAX      (4 + 48)

/* Public key components as a token returns them (borrowed pointers). */
typedef struct {
	const hsm_alg_t *alg;
	const uint8_t *modulus; /* RSA: CKA_MODULUS, big-endian */
	size_t modulus_len;
	const uint8_t *exponent; /* RSA: CKA_PUBLIC_EXPONENT, big-endian */
	size_t exponent_len;
	const uint8_t *ec_point; /* EC/EdDSA: CKA_EC_POINT, DER OCTET STRING or raw */
	size_t ec_point_len;
} hsm_pubkey_t;

/* Writes the DNSKEY public key field for pub into out (cap bytes) and its
 * length into *len. RSA: RFC 3110 exponent length, exponent, modulus (leading
 * zero bytes stripped). ECDSA: x||y, the DER OCTET STRING wrapping and the
 * 0x04 uncompressed prefix removed (raw points accepted). EdDSA: the raw
 * point (DER wrapping removed if present). Returns HSM_OK, HSM_ERR_DNSKEY for
 * a malformed or wrong-size point, HSM_ERR_BUFFER if cap is too small. */
int hsm_dnskey_pubkey(const hsm_pubkey_t *pub, uint8_t *out, size_t cap, size_t *len);

/* Builds DNSKEY RDATA: flags, protocol 3, algorithm, public key. Returns
 * HSM_OK or HSM_ERR_BUFFER. */
int hsm_dnskey_rdata(uint16_t flags, uint8_t alg, const uint8_t *pubkey, size_t pubkey_len,
                     uint8_t *out, size_t cap, size_t *len);

/* Key tag of DNSKEY RDATA (RFC 4034 appendix B; the flags, including REVOKE,
 * are part of the RDATA and so of the tag). */
uint16_t hsm_dnskey_keytag(const uint8_t *rdata, size_t len);

/* DS RDATA (key tag, algorithm, digest type, digest) for a DNSKEY. owner is
 * the owner name in wire form (lowercased here for the digest). digest_type
 * is HSM_DS_SHA256 or HSM_DS_SHA384. Returns HSM_OK, HSM_ERR_ALGORITHM for
 * another digest type, HSM_ERR_BUFFER, HSM_ERR_CRYPTO. */
int hsm_dnskey_ds(const uint8_t *owner, size_t owner_len, const uint8_t *rdata, size_t rdata_len,
                  uint8_t digest_type, uint8_t *out, size_t cap, size_t *len);

#endif
