/*
 * hsm_key: keys inside a token: generation (in the token, non-extractable),
 * lookup by CKA_ID, label or PKCS#11 URI, listing, deletion, and reading the
 * public key as a DNSKEY public key field.
 *
 * A key is identified by its token and CKA_ID (generated keys get a random
 * 16-byte CKA_ID; its hex is the key's locator). Private keys we generate or
 * import are CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE, and
 * may only sign. CKA_LOCAL tells generated (true) from imported keys.
 *
 * hsm_key_t is a plain value; its token pointer is borrowed from the hsm_ctx.
 * Every function leases a control session for the call; all are thread-safe.
 */
#ifndef HSM_HSM_KEY_H
#define HSM_HSM_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm_alg.h"
#include "hsm/hsm_ctx.h"
#include "hsm/hsm_error.h"
#include "hsm/hsm_session.h"
#include "hsm/hsm_token.h"

#define HSM_KEY_ID_LEN    16 /* CKA_ID length of keys we generate */
#define HSM_KEY_LABEL_MAX 128

typedef struct {
	hsm_token_t *token; /* borrowed */
	uint8_t id[HSM_KEY_ID_MAX];
	size_t id_len;
	char label[HSM_KEY_LABEL_MAX]; /* CKA_LABEL, NUL-terminated (may be empty) */
	hsm_keytype_t keytype;
	unsigned bits;        /* RSA modulus bits, or the curve size */
	const hsm_alg_t *alg; /* algorithm the key type implies (RSA: RSASHA256) */
	bool local;           /* CKA_LOCAL: generated in the token */
	bool has_public;      /* a public key object with the same CKA_ID exists */
} hsm_key_t;

/* Writes the key's CKA_ID in lowercase hex (2 * id_len + 1 bytes). */
void hsm_key_id_hex(const hsm_key_t *key, char *out, size_t len);

/* Generates a key pair for alg in token (bits: RSA modulus size, 0 for the
 * default; ignored for EC and EdDSA). The key gets a random 16-byte CKA_ID and
 * label. A failed generation whose reply was lost is looked for by its
 * CKA_ID before it is tried again, so no orphan key is left. Returns HSM_OK,
 * HSM_ERR_MECHANISM (detail names the missing mechanism), HSM_ERR_KEY_TYPE
 * (bad RSA size), or the cause. */
int hsm_key_generate(hsm_token_t *token, const hsm_alg_t *alg, unsigned bits, const char *label,
                     hsm_key_t *out, hsm_detail_t *detail);

/* Lists the private keys of a token; *keys is malloc'ed (caller frees), or
 * NULL with *count 0. Returns HSM_OK or the cause. */
int hsm_key_list(hsm_token_t *token, hsm_key_t **keys, size_t *count, hsm_detail_t *detail);

/* Finds keys matching spec in every token of ctx (or, for a URI naming a
 * token, that token only): spec is a CKA_ID in hex, a label, or a PKCS#11
 * URI (id=, object=, token=...). *keys is malloc'ed, caller frees. Returns
 * HSM_OK (possibly with *count 0), HSM_ERR_URI, or the cause. */
int hsm_key_find_all(hsm_ctx_t *ctx, const char *spec, hsm_key_t **keys, size_t *count,
                     hsm_detail_t *detail);

/* Like hsm_key_find_all but exactly one key must match: HSM_ERR_NO_KEY,
 * HSM_ERR_MANY_KEYS (detail says how many). */
int hsm_key_find(hsm_ctx_t *ctx, const char *spec, hsm_key_t *out, hsm_detail_t *detail);

/* Deletes the private and public key objects. Returns HSM_OK, HSM_ERR_NO_KEY
 * or the cause. */
int hsm_key_delete(const hsm_key_t *key, hsm_detail_t *detail);

/* Reads the public key from the token and writes the DNSKEY public key field
 * for alg (NULL: key->alg) into out. Returns HSM_OK, HSM_ERR_ALGORITHM (alg
 * does not fit the key), HSM_ERR_BUFFER, HSM_ERR_DNSKEY, or the cause. */
int hsm_key_dnskey_pubkey(const hsm_key_t *key, const hsm_alg_t *alg, uint8_t *out, size_t cap,
                          size_t *len, hsm_detail_t *detail);

/* Fills key->keytype, bits, alg, label, local and has_public from the private
 * key object obj, read in session h (for operations that found a handle).
 * Returns CKR_OK or the failing CK_RV. */
CK_RV hsm_key_describe(hsm_session_t *session, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                       hsm_key_t *key);

#endif
