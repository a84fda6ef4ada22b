/*
 * hsm_sign: one DNSSEC signature made by a token: the digest is computed on
 * the host with OpenSSL, the token signs it with the raw mechanism (RSA:
 * CKM_RSA_PKCS over DigestInfo||digest; ECDSA: CKM_ECDSA over the digest,
 * giving fixed-length r||s; EdDSA: CKM_EDDSA over the whole message). Tokens
 * configured with combined_mech sign the whole message with CKM_SHA256_RSA_PKCS,
 * CKM_ECDSA_SHA256 and the like instead.
 *
 * Threading: one session per thread (the lease is the exclusion); the key
 * handle is cached in the session. Failures are retried by hsm_session_run.
 */
#ifndef HSM_HSM_SIGN_H
#define HSM_HSM_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm_alg.h"
#include "hsm/hsm_error.h"
#include "hsm/hsm_key.h"
#include "hsm/hsm_session.h"

/* Largest signature: RSA 4096. */
#define HSM_SIG_MAX 512

/* Signs data (the RRSIG RDATA without signature, then the canonical RRset)
 * with key in session, for alg (NULL: key->alg; RSA keys serve RSASHA256 or
 * RSASHA512). Writes the DNSSEC signature into sig (cap bytes) and its length
 * into *sig_len. Returns HSM_OK, HSM_ERR_ALGORITHM, HSM_ERR_NO_KEY,
 * HSM_ERR_SIGN_DATA (the token refuses the message, e.g. CKR_DATA_LEN_RANGE:
 * not retried), HSM_ERR_BUDGET, HSM_ERR_BUFFER, or the cause in detail. */
int hsm_sign(hsm_session_t *session, const hsm_key_t *key, const hsm_alg_t *alg,
             const uint8_t *data, size_t len, uint8_t *sig, size_t cap, size_t *sig_len,
             hsm_detail_t *detail);

#endif
