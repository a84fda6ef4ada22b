#include "hsm/hsm_verify.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "hsm/hsm_alg.h"
#include "hsm/hsm_error.h"

/* RFC 3110 allows moduli up to 4096 bits; below 512 nothing is a DNSKEY. */
#define RSA_MIN_BITS 512
#define RSA_MAX_BITS 4096

/* Immutable after hsm_verify_key_new(): shared by threads without a lock. */
struct hsm_verify_key {
	EVP_PKEY *pkey;
	const hsm_alg_t *alg;
};

/* OpenSSL's name of an algorithm's curve; NULL for RSA. */
static const char *curve_name(const hsm_alg_t *alg)
{
	switch (alg->number) {
	case HSM_ALG_ECDSAP256SHA256:
		return "prime256v1";
	case HSM_ALG_ECDSAP384SHA384:
		return "secp384r1";
	case HSM_ALG_ED25519:
		return "ED25519";
	case HSM_ALG_ED448:
		return "ED448";
	}
	return NULL;
}

/* Builds a public key of type name ("RSA", "EC") from an OSSL_PARAM_BLD. */
static int pkey_fromdata(const char *name, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int ret = HSM_ERR_NOMEM;

	if (params == NULL) {
		goto fail;
	}
	ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
	if (ctx == NULL) {
		ret = HSM_ERR_CRYPTO;
		goto fail;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		ret = HSM_ERR_DNSKEY;
		goto fail;
	}
	*out = pkey;
	ret = HSM_OK;
fail:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return ret;
}

/* RFC 3110: exponent length (1 byte, or 0 and 2 bytes), exponent, modulus;
 * neither with leading zero bytes. */
static int rsa_key(const uint8_t *p, size_t len, EVP_PKEY **out)
{
	size_t hdr, exp_len, mod_len, bits;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	int ret = HSM_ERR_DNSKEY;

	if (len < 1) {
		return HSM_ERR_DNSKEY;
	}
	if (p[0] != 0) {
		hdr = 1;
		exp_len = p[0];
	} else if (len >= 3) {
		hdr = 3;
		exp_len = ((size_t)p[1] << 8) | p[2];
	} else {
		return HSM_ERR_DNSKEY;
	}
	if (exp_len == 0 || exp_len >= len - hdr) {
		return HSM_ERR_DNSKEY;
	}
	mod_len = len - hdr - exp_len;
	if (p[hdr] == 0 || p[hdr + exp_len] == 0) {
		return HSM_ERR_DNSKEY;
	}
	bits = 8 * mod_len;
	for (uint8_t top = p[hdr + exp_len]; !(top & 0x80); top <<= 1) {
		bits--;
	}
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
		return HSM_ERR_DNSKEY;
	}
	ret = HSM_ERR_NOMEM;
	e = BN_bin2bn(p + hdr, (int)exp_len, NULL);
	n = BN_bin2bn(p + hdr + exp_len, (int)mod_len, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (e == NULL || n == NULL || bld == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
		goto fail;
	}
	ret = pkey_fromdata("RSA", bld, out);
fail:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return ret;
}

/* RFC 6605: x||y; checked to be a point on the curve. */
static int ec_key(const hsm_alg_t *alg, const uint8_t *p, size_t len, EVP_PKEY **out)
{
	uint8_t point[1 + 2 * 66];
	const char *group = curve_name(alg);
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int ret;

	if (group == NULL) {
		return HSM_ERR_ALGORITHM;
	}
	if (len != alg->point_len || len + 1 > sizeof(point)) {
		return HSM_ERR_DNSKEY;
	}
	point[0] = 0x04; /* uncompressed */
	memcpy(point + 1, p, len);
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, len + 1) != 1) {
		ret = HSM_ERR_NOMEM;
		goto fail;
	}
	ret = pkey_fromdata("EC", bld, &pkey);
	if (ret != HSM_OK) {
		goto fail;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (ctx == NULL) {
		ret = HSM_ERR_NOMEM;
		goto fail;
	}
	if (EVP_PKEY_public_check(ctx) != 1) {
		ret = HSM_ERR_DNSKEY;
		goto fail;
	}
	*out = pkey;
	pkey = NULL;
fail:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	OSSL_PARAM_BLD_free(bld);
	return ret;
}

/* RFC 8080: the raw public key. */
static int eddsa_key(const hsm_alg_t *alg, const uint8_t *p, size_t len, EVP_PKEY **out)
{
	const char *name = curve_name(alg);
	EVP_PKEY *pkey;

	if (name == NULL) {
		return HSM_ERR_ALGORITHM;
	}
	if (len != alg->point_len) {
		return HSM_ERR_DNSKEY;
	}
	pkey = EVP_PKEY_new_raw_public_key_ex(NULL, name, NULL, p, len);
	if (pkey == NULL) {
		return HSM_ERR_DNSKEY;
	}
	*out = pkey;
	return HSM_OK;
}

int hsm_verify_key_new(uint8_t alg, const uint8_t *pubkey, size_t len, hsm_verify_key_t **out)
{
	const hsm_alg_t *a = hsm_alg_by_number(alg);
	hsm_verify_key_t *key = NULL;
	EVP_PKEY *pkey = NULL;
	int ret;

	if ((pubkey == NULL && len > 0) || out == NULL) {
		return HSM_ERR_INVAL;
	}
	if (a == NULL) {
		return HSM_ERR_ALGORITHM;
	}
	/* Failures are reported by status: leave no OpenSSL errors behind. */
	ERR_set_mark();
	switch (a->keytype) {
	case HSM_KEYTYPE_RSA:
		ret = rsa_key(pubkey, len, &pkey);
		break;
	case HSM_KEYTYPE_EC:
		ret = ec_key(a, pubkey, len, &pkey);
		break;
	case HSM_KEYTYPE_EDDSA:
		ret = eddsa_key(a, pubkey, len, &pkey);
		break;
	default:
		ret = HSM_ERR_ALGORITHM;
		break;
	}
	ERR_pop_to_mark();
	if (ret != HSM_OK) {
		return ret;
	}
	key = malloc(sizeof(*key));
	if (key == NULL) {
		EVP_PKEY_free(pkey);
		return HSM_ERR_NOMEM;
	}
	key->pkey = pkey;
	key->alg = a;
	*out = key;
	return HSM_OK;
}

void hsm_verify_key_free(hsm_verify_key_t *key)
{
	if (key == NULL) {
		return;
	}
	EVP_PKEY_free(key->pkey);
	free(key);
}

/* Re-encodes a DNSSEC ECDSA signature r||s (each half fixed length) as the
 * DER ECDSA-Sig-Value OpenSSL verifies. *der is OPENSSL_malloc'ed. */
static int ecdsa_der(const uint8_t *sig, size_t half, unsigned char **der, size_t *der_len)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
	BIGNUM *s = BN_bin2bn(sig + half, (int)half, NULL);
	unsigned char *buf = NULL;
	int ret = HSM_ERR_NOMEM;
	int n;

	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		goto fail;
	}
	/* es owns r and s now. */
	n = i2d_ECDSA_SIG(es, &buf);
	if (n <= 0) {
		goto fail;
	}
	*der = buf;
	*der_len = (size_t)n;
	ret = HSM_OK;
fail:
	ECDSA_SIG_free(es);
	return ret;
}

int hsm_verify_sig(const hsm_verify_key_t *key, const uint8_t *data, size_t len, const uint8_t *sig,
                   size_t sig_len)
{
	const char *md = NULL;
	unsigned char *der = NULL;
	EVP_MD_CTX *ctx = NULL;
	int ret;

	if (key == NULL || (data == NULL && len > 0) || (sig == NULL && sig_len > 0)) {
		return HSM_ERR_INVAL;
	}
	switch (key->alg->keytype) {
	case HSM_KEYTYPE_RSA:
		md = key->alg->digest;
		if (sig_len != (size_t)EVP_PKEY_get_size(key->pkey)) {
			return HSM_ERR_VERIFY;
		}
		break;
	case HSM_KEYTYPE_EC:
		md = key->alg->digest;
		if (sig_len != key->alg->point_len) {
			return HSM_ERR_VERIFY;
		}
		break;
	case HSM_KEYTYPE_EDDSA:
		if (sig_len != 2 * key->alg->point_len) {
			return HSM_ERR_VERIFY;
		}
		break;
	default:
		return HSM_ERR_ALGORITHM;
	}

	ERR_set_mark();
	if (key->alg->keytype == HSM_KEYTYPE_EC) {
		size_t der_len;

		ret = ecdsa_der(sig, sig_len / 2, &der, &der_len);
		if (ret != HSM_OK) {
			goto fail;
		}
		sig = der;
		sig_len = der_len;
	}
	/* One context per call: the shared EVP_PKEY is only read. */
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		ret = HSM_ERR_NOMEM;
		goto fail;
	}
	if (EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, key->pkey, NULL) != 1) {
		ret = HSM_ERR_CRYPTO;
		goto fail;
	}
	/* 1 is a good signature; 0 a bad one, and so is any error from here
	 * on (OpenSSL reports some malformed signatures as errors). */
	ret = EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1 ? HSM_OK : HSM_ERR_VERIFY;
fail:
	ERR_pop_to_mark();
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return ret;
}
