/*
 * hsm_import: puts an existing private key (from another signer, or an RFC
 * test vector) into a token as a non-extractable, sensitive, sign-only key,
 * with its public key object beside it under one random 16-byte CKA_ID.
 * Imported keys keep CKA_LOCAL false, which is how listings tell them from
 * keys generated in the token.
 *
 * The key goes in with C_CreateObject; a module that refuses plaintext
 * private key objects gets it wrapped (AES key wrap with padding, RFC 5649,
 * under a one-time session key) through C_UnwrapKey instead.
 *
 * Thread-safe: leases a control session for the call. The EVP_PKEY is
 * borrowed; our copies of its private components are wiped.
 */
#ifndef HSM_HSM_IMPORT_H
#define HSM_HSM_IMPORT_H

#include <stdbool.h>

#include <openssl/evp.h>

#include "hsm/hsm_alg.h"
#include "hsm/hsm_error.h"
#include "hsm/hsm_key.h"
#include "hsm/hsm_token.h"

typedef enum {
	HSM_IMPORT_AUTO,   /* C_CreateObject, C_UnwrapKey if that is refused */
	HSM_IMPORT_CREATE, /* C_CreateObject only */
	HSM_IMPORT_UNWRAP, /* C_UnwrapKey only */
} hsm_import_mode_t;

/* Imports pkey for alg into token with label. Returns HSM_OK and the key in
 * *out, HSM_ERR_ALGORITHM (pkey does not fit alg), HSM_ERR_KEY_TYPE (RSA size
 * outside 512..4096, or too small for alg's padding), HSM_ERR_INVAL (label
 * missing or longer than 127 bytes), HSM_ERR_CRYPTO, or the token's refusal
 * in detail. */
int hsm_import(hsm_token_t *token, const hsm_alg_t *alg, EVP_PKEY *pkey, const char *label,
               hsm_import_mode_t mode, hsm_key_t *out, hsm_detail_t *detail);

#endif
