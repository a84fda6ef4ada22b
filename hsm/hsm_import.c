#include "hsm/hsm_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#define MAX_PARTS 8

static const CK_BBOOL yes = CK_TRUE;
static const CK_BBOOL no = CK_FALSE;

/* Key components in PKCS#11 form; private ones are wiped at the end. */
typedef struct {
	CK_KEY_TYPE ck_type;
	struct part {
		CK_ATTRIBUTE_TYPE type;
		uint8_t *val;
		size_t len;
		bool secret;
	} priv[MAX_PARTS], pub[MAX_PARTS];
	size_t npriv, npub;
	uint8_t *pkcs8; /* DER PKCS#8, for C_UnwrapKey */
	size_t pkcs8_len;
} parts_t;

static void parts_clear(parts_t *p)
{
	for (size_t i = 0; i < p->npriv; i++) {
		OPENSSL_clear_free(p->priv[i].val, p->priv[i].len);
	}
	for (size_t i = 0; i < p->npub; i++) {
		free(p->pub[i].val);
	}
	OPENSSL_clear_free(p->pkcs8, p->pkcs8_len);
	memset(p, 0, sizeof(*p));
}

static int add(struct part *list, size_t *n, CK_ATTRIBUTE_TYPE type, const uint8_t *val, size_t len,
               bool secret)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (copy == NULL) {
		return HSM_ERR_NOMEM;
	}
	memcpy(copy, val, len);
	list[*n] = (struct part){type, copy, len, secret};
	(*n)++;
	return HSM_OK;
}

static int add_bn(parts_t *p, bool priv, const EVP_PKEY *pkey, const char *param,
                  CK_ATTRIBUTE_TYPE type)
{
	BIGNUM *bn = NULL;
	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) {
		return HSM_ERR_CRYPTO;
	}
	size_t len = (size_t)BN_num_bytes(bn);
	uint8_t *buf = OPENSSL_malloc(len ? len : 1);
	int ret = HSM_ERR_NOMEM;
	if (buf != NULL) {
		BN_bn2bin(bn, buf);
		ret = priv ? add(p->priv, &p->npriv, type, buf, len, true)
		           : add(p->pub, &p->npub, type, buf, len, false);
		OPENSSL_clear_free(buf, len);
	}
	BN_clear_free(bn);
	return ret;
}

/* DER OCTET STRING around a point (CKA_EC_POINT). */
static int add_point(parts_t *p, const uint8_t *point, size_t len)
{
	uint8_t buf[2 + 2 + 160];
	if (len > 160) {
		return HSM_ERR_CRYPTO;
	}
	size_t off = 0;
	buf[off++] = 0x04;
	if (len >= 128) {
		buf[off++] = 0x81;
	}
	buf[off++] = (uint8_t)len;
	memcpy(buf + off, point, len);
	return add(p->pub, &p->npub, CKA_EC_POINT, buf, off + len, false);
}

static int parts_from_pkey(const hsm_alg_t *alg, EVP_PKEY *pkey, parts_t *p, hsm_detail_t *d)
{
	int id = EVP_PKEY_get_base_id(pkey);
	int ret = HSM_OK;
	switch (alg->keytype) {
	case HSM_KEYTYPE_RSA: {
		if (id != EVP_PKEY_RSA) {
			goto mismatch;
		}
		int bits = EVP_PKEY_get_bits(pkey);
		if (bits < 512 || bits > 4096) {
			hsm_detail_text(d, "RSA keys of %d bits are not imported (512..4096)",
			                bits);
			return HSM_ERR_KEY_TYPE;
		}
		/* PKCS#1 v1.5 needs 11 bytes of padding around the DigestInfo. */
		if ((size_t)(bits + 7) / 8 < 11 + alg->digest_info_len + alg->digest_len) {
			hsm_detail_text(d, "an RSA key of %d bits is too small for %s", bits,
			                alg->name);
			return HSM_ERR_KEY_TYPE;
		}
		p->ck_type = CKK_RSA;
		static const struct {
			const char *param;
			CK_ATTRIBUTE_TYPE type;
			bool priv;
		} rsa[] = {
		        {OSSL_PKEY_PARAM_RSA_N, CKA_MODULUS, true},
		        {OSSL_PKEY_PARAM_RSA_E, CKA_PUBLIC_EXPONENT, true},
		        {OSSL_PKEY_PARAM_RSA_D, CKA_PRIVATE_EXPONENT, true},
		        {OSSL_PKEY_PARAM_RSA_FACTOR1, CKA_PRIME_1, true},
		        {OSSL_PKEY_PARAM_RSA_FACTOR2, CKA_PRIME_2, true},
		        {OSSL_PKEY_PARAM_RSA_EXPONENT1, CKA_EXPONENT_1, true},
		        {OSSL_PKEY_PARAM_RSA_EXPONENT2, CKA_EXPONENT_2, true},
		        {OSSL_PKEY_PARAM_RSA_COEFFICIENT1, CKA_COEFFICIENT, true},
		        {OSSL_PKEY_PARAM_RSA_N, CKA_MODULUS, false},
		        {OSSL_PKEY_PARAM_RSA_E, CKA_PUBLIC_EXPONENT, false},
		};
		for (size_t i = 0; i < sizeof(rsa) / sizeof(rsa[0]) && ret == HSM_OK; i++) {
			ret = add_bn(p, rsa[i].priv, pkey, rsa[i].param, rsa[i].type);
		}
		break;
	}
	case HSM_KEYTYPE_EC: {
		if (id != EVP_PKEY_EC || EVP_PKEY_get_bits(pkey) != (int)alg->default_bits) {
			goto mismatch;
		}
		p->ck_type = CKK_EC;
		BIGNUM *bn = NULL;
		uint8_t scalar[48], point[1 + 96];
		size_t plen = 0, slen = alg->point_len / 2;
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) != 1 ||
		    BN_bn2binpad(bn, scalar, (int)slen) != (int)slen ||
		    EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point,
		                                    sizeof(point), &plen) != 1 ||
		    plen != 1 + alg->point_len || point[0] != 0x04) {
			BN_clear_free(bn);
			OPENSSL_cleanse(scalar, sizeof(scalar));
			return HSM_ERR_CRYPTO;
		}
		BN_clear_free(bn);
		ret = add(p->priv, &p->npriv, CKA_EC_PARAMS, alg->ec_params, alg->ec_params_len,
		          false);
		if (ret == HSM_OK) {
			ret = add(p->priv, &p->npriv, CKA_VALUE, scalar, slen, true);
		}
		OPENSSL_cleanse(scalar, sizeof(scalar));
		if (ret == HSM_OK) {
			ret = add(p->pub, &p->npub, CKA_EC_PARAMS, alg->ec_params,
			          alg->ec_params_len, false);
		}
		if (ret == HSM_OK) {
			ret = add_point(p, point, plen);
		}
		break;
	}
	case HSM_KEYTYPE_EDDSA: {
		int want = alg->number == HSM_ALG_ED25519 ? EVP_PKEY_ED25519 : EVP_PKEY_ED448;
		if (id != want) {
			goto mismatch;
		}
		p->ck_type = CKK_EC_EDWARDS;
		uint8_t seed[57], pub[57];
		size_t slen = sizeof(seed), plen = sizeof(pub);
		if (EVP_PKEY_get_raw_private_key(pkey, seed, &slen) != 1 ||
		    EVP_PKEY_get_raw_public_key(pkey, pub, &plen) != 1) {
			OPENSSL_cleanse(seed, sizeof(seed));
			return HSM_ERR_CRYPTO;
		}
		ret = add(p->priv, &p->npriv, CKA_EC_PARAMS, alg->ec_params, alg->ec_params_len,
		          false);
		if (ret == HSM_OK) {
			ret = add(p->priv, &p->npriv, CKA_VALUE, seed, slen, true);
		}
		OPENSSL_cleanse(seed, sizeof(seed));
		if (ret == HSM_OK) {
			ret = add(p->pub, &p->npub, CKA_EC_PARAMS, alg->ec_params,
			          alg->ec_params_len, false);
		}
		if (ret == HSM_OK) {
			ret = add_point(p, pub, plen);
		}
		break;
	}
	}
	if (ret == HSM_OK) {
		/* PKCS#8 DER for the unwrap path. */
		PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
		unsigned char *der = NULL;
		int len = p8 != NULL ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
		PKCS8_PRIV_KEY_INFO_free(p8);
		if (len <= 0) {
			return HSM_ERR_CRYPTO;
		}
		p->pkcs8 = der;
		p->pkcs8_len = (size_t)len;
	}
	return ret;
mismatch:
	hsm_detail_text(d, "the key in the file is not a %s key", alg->name);
	return HSM_ERR_ALGORITHM;
}

typedef struct {
	parts_t *parts;
	hsm_import_mode_t mode;
	uint8_t id[HSM_KEY_ID_LEN];
	const char *label;
	bool unwrapped; /* the private key went in through C_UnwrapKey */
} import_arg_t;

/* Common attributes of both objects: class, key type, token, id, label. */
static CK_ULONG common(CK_ATTRIBUTE *t, CK_OBJECT_CLASS *cls, CK_KEY_TYPE *kt, import_arg_t *a)
{
	CK_ULONG n = 0;
	t[n++] = (CK_ATTRIBUTE){CKA_CLASS, cls, sizeof(*cls)};
	t[n++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, kt, sizeof(*kt)};
	t[n++] = (CK_ATTRIBUTE){CKA_TOKEN, (void *)&yes, sizeof(yes)};
	t[n++] = (CK_ATTRIBUTE){CKA_ID, a->id, sizeof(a->id)};
	t[n++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)a->label, strlen(a->label)};
	return n;
}

static CK_ULONG private_flags(CK_ATTRIBUTE *t, CK_ULONG n)
{
	t[n++] = (CK_ATTRIBUTE){CKA_PRIVATE, (void *)&yes, sizeof(yes)};
	t[n++] = (CK_ATTRIBUTE){CKA_SENSITIVE, (void *)&yes, sizeof(yes)};
	t[n++] = (CK_ATTRIBUTE){CKA_EXTRACTABLE, (void *)&no, sizeof(no)};
	t[n++] = (CK_ATTRIBUTE){CKA_SIGN, (void *)&yes, sizeof(yes)};
	t[n++] = (CK_ATTRIBUTE){CKA_DECRYPT, (void *)&no, sizeof(no)};
	t[n++] = (CK_ATTRIBUTE){CKA_UNWRAP, (void *)&no, sizeof(no)};
	return n;
}

/* Wraps the PKCS#8 key under a one-time AES key and unwraps it in the token. */
static CK_RV unwrap_private(CK_FUNCTION_LIST_PTR fn, CK_SESSION_HANDLE h, import_arg_t *a,
                            CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out,
                            const char **func)
{
	uint8_t kek[32];
	uint8_t *wrapped = malloc(a->parts->pkcs8_len + 16);
	if (wrapped == NULL || RAND_bytes(kek, sizeof(kek)) != 1) {
		free(wrapped);
		return CKR_HOST_MEMORY;
	}
	int wlen = 0, flen = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	bool ok = c != NULL;
	if (ok) {
		EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
		ok = EVP_EncryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, kek, NULL) == 1 &&
		     EVP_EncryptUpdate(c, wrapped, &wlen, a->parts->pkcs8,
		                       (int)a->parts->pkcs8_len) == 1 &&
		     EVP_EncryptFinal_ex(c, wrapped + wlen, &flen) == 1;
	}
	EVP_CIPHER_CTX_free(c);
	CK_RV rv = CKR_FUNCTION_FAILED;
	*func = "EVP_EncryptUpdate";
	if (ok) {
		CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
		CK_KEY_TYPE kt = CKK_AES;
		CK_ATTRIBUTE kt_tmpl[] = {
		        {CKA_CLASS, &cls, sizeof(cls)},
		        {CKA_KEY_TYPE, &kt, sizeof(kt)},
		        {CKA_TOKEN, (void *)&no, sizeof(no)},
		        {CKA_UNWRAP, (void *)&yes, sizeof(yes)},
		        {CKA_VALUE, kek, sizeof(kek)},
		};
		CK_OBJECT_HANDLE hk;
		*func = "C_CreateObject";
		rv = fn->C_CreateObject(h, kt_tmpl, 5, &hk);
		if (rv == CKR_OK) {
			CK_MECHANISM mech = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
			*func = "C_UnwrapKey";
			rv = fn->C_UnwrapKey(h, &mech, hk, wrapped, (CK_ULONG)(wlen + flen), tmpl,
			                     n, out);
			fn->C_DestroyObject(h, hk);
		}
	}
	OPENSSL_cleanse(kek, sizeof(kek));
	free(wrapped);
	return rv;
}

static bool refused(CK_RV rv)
{
	return rv == CKR_TEMPLATE_INCONSISTENT || rv == CKR_ATTRIBUTE_VALUE_INVALID ||
	       rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_FUNCTION_NOT_SUPPORTED ||
	       rv == CKR_ACTION_PROHIBITED || rv == CKR_ATTRIBUTE_READ_ONLY;
}

static CK_RV import_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                       const char **func)
{
	import_arg_t *a = arg;
	parts_t *p = a->parts;
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(s));
	if (attempt > 0) {
		/* Never leave half an import behind: remove what an earlier
		 * attempt may have created, then start again. */
		CK_ATTRIBUTE q = {CKA_ID, a->id, sizeof(a->id)};
		CK_OBJECT_HANDLE objs[4];
		CK_ULONG n = 0;
		*func = "C_FindObjects";
		CK_RV rv = fn->C_FindObjectsInit(h, &q, 1);
		if (rv != CKR_OK) {
			return rv;
		}
		rv = fn->C_FindObjects(h, objs, 4, &n);
		fn->C_FindObjectsFinal(h);
		if (rv != CKR_OK) {
			return rv;
		}
		for (CK_ULONG i = 0; i < n; i++) {
			fn->C_DestroyObject(h, objs[i]);
		}
	}
	CK_OBJECT_CLASS priv_cls = CKO_PRIVATE_KEY, pub_cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE t[32];
	CK_ULONG n = common(t, &priv_cls, &p->ck_type, a);
	n = private_flags(t, n);
	CK_ULONG n_flags = n;
	for (size_t i = 0; i < p->npriv; i++) {
		t[n++] = (CK_ATTRIBUTE){p->priv[i].type, p->priv[i].val, p->priv[i].len};
	}
	CK_OBJECT_HANDLE hpriv;
	CK_RV rv = CKR_FUNCTION_NOT_SUPPORTED;
	if (a->mode != HSM_IMPORT_UNWRAP) {
		*func = "C_CreateObject";
		rv = fn->C_CreateObject(h, t, n, &hpriv);
	}
	if (a->mode == HSM_IMPORT_UNWRAP || (a->mode == HSM_IMPORT_AUTO && refused(rv))) {
		/* The wrapped PKCS#8 carries the components; the template keeps
		 * the identity and flags only. */
		rv = unwrap_private(fn, h, a, t, n_flags, &hpriv, func);
		a->unwrapped = rv == CKR_OK;
	}
	if (rv != CKR_OK) {
		return rv;
	}
	n = common(t, &pub_cls, &p->ck_type, a);
	t[n++] = (CK_ATTRIBUTE){CKA_PRIVATE, (void *)&no, sizeof(no)};
	t[n++] = (CK_ATTRIBUTE){CKA_VERIFY, (void *)&yes, sizeof(yes)};
	for (size_t i = 0; i < p->npub; i++) {
		t[n++] = (CK_ATTRIBUTE){p->pub[i].type, p->pub[i].val, p->pub[i].len};
	}
	CK_OBJECT_HANDLE hpub;
	*func = "C_CreateObject";
	rv = fn->C_CreateObject(h, t, n, &hpub);
	if (rv != CKR_OK) {
		fn->C_DestroyObject(h, hpriv);
	}
	return rv;
}

int hsm_import(hsm_token_t *token, const hsm_alg_t *alg, EVP_PKEY *pkey, const char *label,
               hsm_import_mode_t mode, hsm_key_t *out, hsm_detail_t *detail)
{
	if (alg == NULL || pkey == NULL) {
		return HSM_ERR_ALGORITHM;
	}
	if (label == NULL || strlen(label) >= HSM_KEY_LABEL_MAX) {
		hsm_detail_text(detail, "a label of at most %d bytes is required",
		                HSM_KEY_LABEL_MAX - 1);
		return HSM_ERR_INVAL;
	}
	parts_t parts;
	memset(&parts, 0, sizeof(parts));
	int ret = parts_from_pkey(alg, pkey, &parts, detail);
	if (ret != HSM_OK) {
		parts_clear(&parts);
		return ret;
	}
	import_arg_t a = {.parts = &parts, .mode = mode, .label = label};
	hsm_session_t *s = NULL;
	if (RAND_bytes(a.id, sizeof(a.id)) != 1) {
		ret = HSM_ERR_CRYPTO;
	} else {
		ret = hsm_session_acquire(token, &s, detail);
	}
	if (ret == HSM_OK) {
		ret = hsm_session_run(s, import_op, &a, detail);
	}
	hsm_session_release(s);
	if (ret == HSM_OK) {
		hsm_key_t key;
		memset(&key, 0, sizeof(key));
		key.token = token;
		memcpy(key.id, a.id, sizeof(a.id));
		key.id_len = sizeof(a.id);
		snprintf(key.label, sizeof(key.label), "%s", label);
		key.keytype = alg->keytype;
		key.bits = alg->keytype == HSM_KEYTYPE_RSA ? (unsigned)EVP_PKEY_get_bits(pkey)
		                                           : alg->default_bits;
		key.alg = alg;
		key.local = false;
		key.has_public = true;
		*out = key;
	}
	parts_clear(&parts);
	return ret;
}
