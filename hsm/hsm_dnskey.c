#include "hsm/hsm_dnskey.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

#include "hsm/hsm_error.h"

#define DNSKEY_PROTOCOL 3
#define WIRE_NAME_MAX   255
#define LABEL_MAX       63

/* Strips leading zero bytes from a big-endian integer. */
static const uint8_t *strip_zeros(const uint8_t *p, size_t *len)
{
	while (*len > 0 && p[0] == 0) {
		p++;
		(*len)--;
	}
	return p;
}

/* If p[0..len) is exactly one DER OCTET STRING, points *inner at its content
 * and returns true. Accepts the short and the one- or two-byte long length
 * forms (some tokens use the long form where DER wants the short one). */
static bool der_octet_string(const uint8_t *p, size_t len, const uint8_t **inner, size_t *inner_len)
{
	size_t hdr, n;

	if (len < 2 || p[0] != 0x04) {
		return false;
	}
	if (p[1] < 0x80) {
		hdr = 2;
		n = p[1];
	} else if (p[1] == 0x81 && len >= 3) {
		hdr = 3;
		n = p[2];
	} else if (p[1] == 0x82 && len >= 4) {
		hdr = 4;
		n = ((size_t)p[2] << 8) | p[3];
	} else {
		return false;
	}
	if (n != len - hdr) {
		return false;
	}
	*inner = p + hdr;
	*inner_len = n;
	return true;
}

static int rsa_pubkey(const hsm_pubkey_t *pub, uint8_t *out, size_t cap, size_t *len)
{
	size_t mod_len = pub->modulus_len, exp_len = pub->exponent_len;
	const uint8_t *mod, *exp;
	size_t hdr, total;

	if ((pub->modulus == NULL && mod_len > 0) || (pub->exponent == NULL && exp_len > 0)) {
		return HSM_ERR_INVAL;
	}
	mod = strip_zeros(pub->modulus, &mod_len);
	exp = strip_zeros(pub->exponent, &exp_len);
	if (mod_len == 0 || exp_len == 0 || exp_len > 0xFFFF) {
		return HSM_ERR_DNSKEY;
	}
	hdr = exp_len <= 0xFF ? 1 : 3;
	total = hdr + exp_len + mod_len;
	if (total > cap) {
		return HSM_ERR_BUFFER;
	}
	if (hdr == 1) {
		out[0] = (uint8_t)exp_len;
	} else {
		out[0] = 0;
		out[1] = (uint8_t)(exp_len >> 8);
		out[2] = (uint8_t)exp_len;
	}
	memcpy(out + hdr, exp, exp_len);
	memcpy(out + hdr + exp_len, mod, mod_len);
	*len = total;
	return HSM_OK;
}

/* ECDSA: raw 0x04||x||y or that wrapped in an OCTET STRING; writes x||y.
 * EdDSA: the raw point or that wrapped in an OCTET STRING; writes the point. */
static int point_pubkey(const hsm_pubkey_t *pub, uint8_t *out, size_t cap, size_t *len)
{
	const uint8_t *p = pub->ec_point;
	size_t n = pub->ec_point_len;
	size_t want = pub->alg->point_len;
	bool ecdsa = pub->alg->keytype == HSM_KEYTYPE_EC;
	size_t raw_len = ecdsa ? want + 1 : want;

	if (p == NULL || want == 0) {
		return p == NULL ? HSM_ERR_DNSKEY : HSM_ERR_ALGORITHM;
	}
	/* The raw form first: its length never equals a wrapped one's. */
	if (n != raw_len && !der_octet_string(p, n, &p, &n)) {
		return HSM_ERR_DNSKEY;
	}
	if (n != raw_len) {
		return HSM_ERR_DNSKEY;
	}
	if (ecdsa) {
		if (p[0] != 0x04) {
			return HSM_ERR_DNSKEY; /* compressed or hybrid point */
		}
		p++;
		n--;
	}
	if (n > cap) {
		return HSM_ERR_BUFFER;
	}
	memcpy(out, p, n);
	*len = n;
	return HSM_OK;
}

int hsm_dnskey_pubkey(const hsm_pubkey_t *pub, uint8_t *out, size_t cap, size_t *len)
{
	if (pub == NULL || pub->alg == NULL || out == NULL || len == NULL) {
		return HSM_ERR_INVAL;
	}
	switch (pub->alg->keytype) {
	case HSM_KEYTYPE_RSA:
		return rsa_pubkey(pub, out, cap, len);
	case HSM_KEYTYPE_EC:
	case HSM_KEYTYPE_EDDSA:
		return point_pubkey(pub, out, cap, len);
	}
	return HSM_ERR_ALGORITHM;
}

int hsm_dnskey_rdata(uint16_t flags, uint8_t alg, const uint8_t *pubkey, size_t pubkey_len,
                     uint8_t *out, size_t cap, size_t *len)
{
	if ((pubkey == NULL && pubkey_len > 0) || out == NULL || len == NULL) {
		return HSM_ERR_INVAL;
	}
	if (pubkey_len > cap || cap - pubkey_len < 4) {
		return HSM_ERR_BUFFER;
	}
	out[0] = (uint8_t)(flags >> 8);
	out[1] = (uint8_t)flags;
	out[2] = DNSKEY_PROTOCOL;
	out[3] = alg;
	if (pubkey_len > 0) {
		memcpy(out + 4, pubkey, pubkey_len);
	}
	*len = 4 + pubkey_len;
	return HSM_OK;
}

uint16_t hsm_dnskey_keytag(const uint8_t *rdata, size_t len)
{
	uint32_t acc = 0;

	if (rdata == NULL) {
		return 0;
	}
	/* Algorithm 1 (RSA/MD5, RFC 4034 B.1): the modulus's low bits. */
	if (len >= 4 && rdata[3] == 1) {
		return len >= 7 ? (uint16_t)((rdata[len - 3] << 8) | rdata[len - 2]) : 0;
	}
	for (size_t i = 0; i < len; i++) {
		acc += (i & 1) ? rdata[i] : (uint32_t)rdata[i] << 8;
	}
	acc += acc >> 16;
	return (uint16_t)acc;
}

/* Copies a wire-form name into dst lowercased (ASCII letters only) after
 * checking that it is one well-formed, absolute, uncompressed name. */
static int lower_name(const uint8_t *name, size_t len, uint8_t *dst)
{
	size_t i = 0;

	if (len > WIRE_NAME_MAX) {
		return HSM_ERR_INVAL;
	}
	while (i < len) {
		size_t label = name[i];

		if (label > LABEL_MAX || label > len - i - 1) {
			return HSM_ERR_INVAL;
		}
		dst[i++] = (uint8_t)label;
		if (label == 0) {
			return i == len ? HSM_OK : HSM_ERR_INVAL;
		}
		for (size_t end = i + label; i < end; i++) {
			uint8_t c = name[i];
			dst[i] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
		}
	}
	return HSM_ERR_INVAL; /* no root label */
}

int hsm_dnskey_ds(const uint8_t *owner, size_t owner_len, const uint8_t *rdata, size_t rdata_len,
                  uint8_t digest_type, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t name[WIRE_NAME_MAX];
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned digest_len = 0;
	const EVP_MD *md;
	EVP_MD_CTX *ctx = NULL;
	uint16_t tag;
	int ret;

	if (owner == NULL || rdata == NULL || out == NULL || len == NULL) {
		return HSM_ERR_INVAL;
	}
	if (rdata_len < 4) {
		return HSM_ERR_DNSKEY;
	}
	switch (digest_type) {
	case HSM_DS_SHA256:
		md = EVP_sha256();
		break;
	case HSM_DS_SHA384:
		md = EVP_sha384();
		break;
	default:
		return HSM_ERR_ALGORITHM;
	}
	ret = lower_name(owner, owner_len, name);
	if (ret != HSM_OK) {
		return ret;
	}
	if (cap < 4 || cap - 4 < (size_t)EVP_MD_get_size(md)) {
		return HSM_ERR_BUFFER;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		return HSM_ERR_NOMEM;
	}
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, name, owner_len) != 1 ||
	    EVP_DigestUpdate(ctx, rdata, rdata_len) != 1 ||
	    EVP_DigestFinal_ex(ctx, digest, &digest_len) != 1) {
		ret = HSM_ERR_CRYPTO;
		goto fail;
	}
	tag = hsm_dnskey_keytag(rdata, rdata_len);
	out[0] = (uint8_t)(tag >> 8);
	out[1] = (uint8_t)tag;
	out[2] = rdata[3];
	out[3] = digest_type;
	memcpy(out + 4, digest, digest_len);
	*len = 4 + (size_t)digest_len;
	ret = HSM_OK;
fail:
	EVP_MD_CTX_free(ctx);
	return ret;
}
