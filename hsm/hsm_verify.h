/*
 * hsm_verify: DNSSEC signature verification on the host with OpenSSL, for
 * checking what the token signed (tests, the signer's verifier).
 *
 * hsm_verify_key_t is an immutable OpenSSL public key made from a DNSKEY
 * public key field; once made it may be shared by threads for
 * hsm_verify_sig(). Callers own what hsm_verify_key_new() returns.
 */
#ifndef HSM_HSM_VERIFY_H
#define HSM_HSM_VERIFY_H

#include <stddef.h>
#include <stdint.h>

typedef struct hsm_verify_key hsm_verify_key_t;

/* Makes a verification key from a DNSSEC algorithm number and a DNSKEY
 * public key field (RFC 3110/6605/8080 encodings). Returns HSM_OK,
 * HSM_ERR_ALGORITHM, HSM_ERR_DNSKEY (malformed key), HSM_ERR_NOMEM. */
int hsm_verify_key_new(uint8_t alg, const uint8_t *pubkey, size_t len, hsm_verify_key_t **out);

/* Frees a key; NULL is a no-op. */
void hsm_verify_key_free(hsm_verify_key_t *key);

/* Verifies a DNSSEC signature over data (the RRSIG RDATA without the
 * signature followed by the canonical RRset): RSA PKCS#1 v1.5 with SHA-256
 * or SHA-512, ECDSA r||s (fixed length) with SHA-256/384, pure EdDSA. Returns
 * HSM_OK or HSM_ERR_VERIFY (HSM_ERR_CRYPTO on an OpenSSL failure).
 * Thread-safe for a shared key. */
int hsm_verify_sig(const hsm_verify_key_t *key, const uint8_t *data, size_t len, const uint8_t *sig,
                   size_t sig_len);

#endif
