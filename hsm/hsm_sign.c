#include "hsm/hsm_sign.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

/* DigestInfo (at most 19 bytes) plus a SHA-512 digest. */
#define INPUT_MAX (32 + SHA512_DIGEST_LENGTH)

typedef struct {
	const hsm_key_t *key;
	CK_MECHANISM_TYPE mech;
	const uint8_t *input; /* what the token signs */
	size_t input_len;
	uint8_t *sig;
	size_t cap;
	size_t sig_len;
} sign_arg_t;

static CK_RV sign_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                     const char **func)
{
	(void)attempt;
	sign_arg_t *a = arg;
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(s));
	CK_OBJECT_HANDLE obj;
	bool found = false;
	*func = "C_FindObjects";
	CK_RV rv =
	        hsm_session_find(s, h, CKO_PRIVATE_KEY, a->key->id, a->key->id_len, &obj, &found);
	if (rv != CKR_OK) {
		return rv;
	}
	if (!found) {
		return HSM_SESSION_RV_NO_KEY;
	}
	CK_MECHANISM mech = {a->mech, NULL, 0};
	*func = "C_SignInit";
	rv = fn->C_SignInit(h, &mech, obj);
	if (rv != CKR_OK) {
		return rv;
	}
	CK_ULONG len = (CK_ULONG)a->cap;
	*func = "C_Sign";
	rv = fn->C_Sign(h, (CK_BYTE_PTR)a->input, (CK_ULONG)a->input_len, a->sig, &len);
	if (rv == CKR_OK) {
		a->sig_len = len;
	}
	return rv;
}

/* Host-side digest; returns its length or 0. */
static size_t digest(const hsm_alg_t *alg, const uint8_t *data, size_t len, uint8_t *out)
{
	switch (alg->digest_len) {
	case SHA256_DIGEST_LENGTH:
		SHA256(data, len, out);
		return SHA256_DIGEST_LENGTH;
	case SHA384_DIGEST_LENGTH:
		SHA384(data, len, out);
		return SHA384_DIGEST_LENGTH;
	case SHA512_DIGEST_LENGTH:
		SHA512(data, len, out);
		return SHA512_DIGEST_LENGTH;
	default:
		return 0;
	}
}

int hsm_sign(hsm_session_t *session, const hsm_key_t *key, const hsm_alg_t *alg,
             const uint8_t *data, size_t len, uint8_t *sig, size_t cap, size_t *sig_len,
             hsm_detail_t *detail)
{
	alg = alg != NULL ? alg : key->alg;
	if (alg == NULL || alg->keytype != key->keytype) {
		hsm_detail_text(detail, "the key's type does not fit the algorithm");
		return HSM_ERR_ALGORITHM;
	}
	uint8_t input[INPUT_MAX];
	sign_arg_t a = {.key = key, .sig = sig, .cap = cap};
	if (hsm_token_combined(hsm_session_token(session))) {
		a.mech = alg->combined_mech;
		a.input = data;
		a.input_len = len;
	} else if (alg->keytype == HSM_KEYTYPE_EDDSA) {
		a.mech = alg->sign_mech;
		a.input = data;
		a.input_len = len;
	} else {
		a.mech = alg->sign_mech;
		size_t off = alg->digest_info_len;
		if (off > 0) {
			memcpy(input, alg->digest_info, off);
		}
		a.input = input;
		a.input_len = off + digest(alg, data, len, input + off);
	}
	int ret = hsm_session_run(session, sign_op, &a, detail);
	if (ret == HSM_OK) {
		*sig_len = a.sig_len;
	} else if (ret == HSM_ERR_CKR && detail != NULL && detail->rv == CKR_BUFFER_TOO_SMALL) {
		ret = HSM_ERR_BUFFER;
	}
	OPENSSL_cleanse(input, sizeof(input));
	return ret;
}
