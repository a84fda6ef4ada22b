/*
 * Tests of hsm_dnskey against the RFC 5702, 6605 and 8080 vectors in the
 * shared test data, plus generated P-384 and Ed448 keys.
 */
#include "hsm/hsm_dnskey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hsm/hsm_error.h"
#include "tests/support/testutil.h"

#define V_RSA     "vectors/rfc5702-rsasha256-key9033"
#define V_P256    "vectors/rfc6605-ecdsap256sha256-key55648"
#define V_ED25519 "vectors/rfc8080-ed25519-key3613"

#define K_RSA     V_RSA "/Kexample.net.+008+09033.key"
#define K_P256    V_P256 "/Kexample.net.+013+55648.key"
#define K_ED25519 V_ED25519 "/Kexample.com.+015+03613.key"

/* A DNSKEY record as the .key file has it. */
typedef struct {
	char owner[256];
	unsigned flags;
	unsigned alg;
	char b64[2048];
} keyrec_t;

static char *slurp(const char *rel)
{
	char path[1024];
	char *buf;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", testutil_testdata(), rel);
	f = fopen(path, "rb");
	if (f == NULL) {
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int read_keyrec(const char *rel, keyrec_t *k)
{
	char *text = slurp(rel);
	int n;

	if (text == NULL) {
		return -1;
	}
	n = sscanf(text, "%255s %*u IN DNSKEY %u 3 %u %2047s", k->owner, &k->flags, &k->alg,
	           k->b64);
	free(text);
	return n == 4 ? 0 : -1;
}

static EVP_PKEY *load_public(const char *dir)
{
	char path[1024];
	EVP_PKEY *pkey;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/public.pem", testutil_testdata(), dir);
	f = fopen(path, "r");
	if (f == NULL) {
		return NULL;
	}
	pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	return pkey;
}

static void b64(const uint8_t *p, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)len);
}

static void hex(const uint8_t *p, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		sprintf(out + 2 * i, "%02x", p[i]);
	}
	out[2 * len] = '\0';
}

/* "Example.COM." -> wire form, case kept. */
static size_t name_wire(const char *name, uint8_t *out)
{
	size_t o = 0;

	while (*name != '\0' && strcmp(name, ".") != 0) {
		const char *dot = strchr(name, '.');
		size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);

		out[o++] = (uint8_t)n;
		memcpy(out + o, name, n);
		o += n;
		name += n + (dot != NULL);
	}
	out[o++] = 0;
	return o;
}

/* The uncompressed EC point 0x04||x||y of an EC key. */
static size_t ec_point(EVP_PKEY *pkey, uint8_t *out, size_t cap)
{
	size_t len = 0;

	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, out, cap, &len) != 1) {
		return 0;
	}
	return len;
}

/* A DER OCTET STRING wrapping (short length form) of p. */
static size_t der_wrap(const uint8_t *p, size_t len, uint8_t *out)
{
	out[0] = 0x04;
	out[1] = (uint8_t)len;
	memcpy(out + 2, p, len);
	return len + 2;
}

/* DNSKEY RDATA for pub with the flags of k; returns its length or 0. */
static size_t rdata_for(const hsm_pubkey_t *pub, const keyrec_t *k, uint8_t *rdata)
{
	uint8_t field[HSM_DNSKEY_PUBKEY_MAX];
	size_t len = 0, rlen = 0;

	if (hsm_dnskey_pubkey(pub, field, sizeof(field), &len) != HSM_OK ||
	    hsm_dnskey_rdata((uint16_t)k->flags, (uint8_t)k->alg, field, len, rdata,
	                     4 + HSM_DNSKEY_PUBKEY_MAX, &rlen) != HSM_OK) {
		return 0;
	}
	return rlen;
}

static void assert_field(const hsm_pubkey_t *pub, const char *want_b64)
{
	uint8_t field[HSM_DNSKEY_PUBKEY_MAX];
	char text[2048];
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(hsm_dnskey_pubkey(pub, field, sizeof(field), &len), HSM_OK);
	b64(field, len, text);
	CU_ASSERT_STRING_EQUAL(text, want_b64);
}

static void test_hsm_dnskey_rsa_matches_rfc5702(void)
{
	uint8_t n[512 + 1], e[8 + 1], rdata[4 + HSM_DNSKEY_PUBKEY_MAX];
	EVP_PKEY *pkey = load_public(V_RSA);
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	keyrec_t k;
	int n_len, e_len;

	CU_ASSERT_FATAL(pkey != NULL);
	CU_ASSERT_FATAL(read_keyrec(K_RSA, &k) == 0);
	CU_ASSERT_FATAL(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &bn_n) == 1);
	CU_ASSERT_FATAL(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &bn_e) == 1);
	/* With a leading zero byte, as some tokens return CKA_MODULUS. */
	n[0] = 0;
	e[0] = 0;
	n_len = BN_bn2bin(bn_n, n + 1);
	e_len = BN_bn2bin(bn_e, e + 1);

	hsm_pubkey_t pub = {.alg = hsm_alg_by_number(HSM_ALG_RSASHA256),
	                    .modulus = n + 1,
	                    .modulus_len = (size_t)n_len,
	                    .exponent = e + 1,
	                    .exponent_len = (size_t)e_len};
	CU_ASSERT_FATAL(pub.alg != NULL);
	assert_field(&pub, k.b64);
	CU_ASSERT_EQUAL(hsm_dnskey_keytag(rdata, rdata_for(&pub, &k, rdata)), 9033);

	pub.modulus = n;
	pub.modulus_len++;
	pub.exponent = e;
	pub.exponent_len++;
	assert_field(&pub, k.b64);
	CU_ASSERT_EQUAL(hsm_dnskey_keytag(rdata, rdata_for(&pub, &k, rdata)), 9033);

	BN_free(bn_n);
	BN_free(bn_e);
	EVP_PKEY_free(pkey);
}

static void test_hsm_dnskey_ecdsa_raw_and_der_points_match_rfc6605(void)
{
	uint8_t point[65], der[67], rdata[4 + HSM_DNSKEY_PUBKEY_MAX];
	EVP_PKEY *pkey = load_public(V_P256);
	keyrec_t k;

	CU_ASSERT_FATAL(pkey != NULL);
	CU_ASSERT_FATAL(read_keyrec(K_P256, &k) == 0);
	CU_ASSERT_EQUAL_FATAL(ec_point(pkey, point, sizeof(point)), 65);
	CU_ASSERT_EQUAL_FATAL(point[0], 0x04);

	hsm_pubkey_t pub = {.alg = hsm_alg_by_number(HSM_ALG_ECDSAP256SHA256),
	                    .ec_point = point,
	                    .ec_point_len = sizeof(point)};
	CU_ASSERT_FATAL(pub.alg != NULL);
	assert_field(&pub, k.b64);
	CU_ASSERT_EQUAL(hsm_dnskey_keytag(rdata, rdata_for(&pub, &k, rdata)), 55648);

	pub.ec_point = der;
	pub.ec_point_len = der_wrap(point, sizeof(point), der);
	CU_ASSERT_EQUAL(pub.ec_point_len, 67);
	assert_field(&pub, k.b64);
	CU_ASSERT_EQUAL(hsm_dnskey_keytag(rdata, rdata_for(&pub, &k, rdata)), 55648);
	EVP_PKEY_free(pkey);
}

static void test_hsm_dnskey_ed25519_raw_and_der_points_match_rfc8080(void)
{
	uint8_t raw[32], der[34], rdata[4 + HSM_DNSKEY_PUBKEY_MAX];
	EVP_PKEY *pkey = load_public(V_ED25519);
	size_t raw_len = sizeof(raw);
	keyrec_t k;

	CU_ASSERT_FATAL(pkey != NULL);
	CU_ASSERT_FATAL(read_keyrec(K_ED25519, &k) == 0);
	CU_ASSERT_FATAL(EVP_PKEY_get_raw_public_key(pkey, raw, &raw_len) == 1);
	CU_ASSERT_EQUAL_FATAL(raw_len, 32);

	hsm_pubkey_t pub = {.alg = hsm_alg_by_number(HSM_ALG_ED25519),
	                    .ec_point = raw,
	                    .ec_point_len = raw_len};
	CU_ASSERT_FATAL(pub.alg != NULL);
	assert_field(&pub, k.b64);
	CU_ASSERT_EQUAL(hsm_dnskey_keytag(rdata, rdata_for(&pub, &k, rdata)), 3613);

	pub.ec_point = der;
	pub.ec_point_len = der_wrap(raw, raw_len, der);
	assert_field(&pub, k.b64);
	CU_ASSERT_EQUAL(hsm_dnskey_keytag(rdata, rdata_for(&pub, &k, rdata)), 3613);
	EVP_PKEY_free(pkey);
}

/* DNSKEY RDATA straight from a .key file's base64 field. */
static size_t rdata_from_keyrec(const keyrec_t *k, uint8_t *rdata)
{
	size_t n = strlen(k->b64);
	int len = EVP_DecodeBlock(rdata + 4, (const unsigned char *)k->b64, (int)n);

	if (len < 0) {
		return 0;
	}
	len -= (n > 0 && k->b64[n - 1] == '=') + (n > 1 && k->b64[n - 2] == '=');
	rdata[0] = (uint8_t)(k->flags >> 8);
	rdata[1] = (uint8_t)k->flags;
	rdata[2] = 3;
	rdata[3] = (uint8_t)k->alg;
	return 4 + (size_t)len;
}

static void check_ds_file(const char *key_rel, const char *ds_rel)
{
	uint8_t rdata[4 + HSM_DNSKEY_PUBKEY_MAX], owner[256], ds[HSM_DS_RDATA_MAX];
	char owner_text[256], want[2 * 64 + 1], got[2 * 64 + 1];
	unsigned tag, alg, type;
	size_t rlen, olen, dlen = 0;
	char *text = slurp(ds_rel);
	keyrec_t k;

	CU_ASSERT_FATAL(text != NULL);
	CU_ASSERT_FATAL(sscanf(text, "%255s %*u IN DS %u %u %u %128s", owner_text, &tag, &alg,
	                       &type, want) == 5);
	free(text);
	CU_ASSERT_FATAL(read_keyrec(key_rel, &k) == 0);
	CU_ASSERT_STRING_EQUAL(owner_text, k.owner);
	rlen = rdata_from_keyrec(&k, rdata);
	CU_ASSERT_FATAL(rlen > 4);
	olen = name_wire(k.owner, owner);

	CU_ASSERT_EQUAL_FATAL(
	        hsm_dnskey_ds(owner, olen, rdata, rlen, (uint8_t)type, ds, sizeof(ds), &dlen),
	        HSM_OK);
	CU_ASSERT_EQUAL_FATAL(dlen, 4 + strlen(want) / 2);
	CU_ASSERT_EQUAL(((unsigned)ds[0] << 8) | ds[1], tag);
	CU_ASSERT_EQUAL(ds[2], alg);
	CU_ASSERT_EQUAL(ds[3], type);
	hex(ds + 4, dlen - 4, got);
	CU_ASSERT_STRING_EQUAL(got, want);

	/* The owner is lowercased for the digest. */
	for (size_t i = 0; i < olen; i++) {
		if (owner[i] >= 'a' && owner[i] <= 'z') {
			owner[i] = (uint8_t)(owner[i] - 'a' + 'A');
		}
	}
	dlen = 0;
	CU_ASSERT_EQUAL(
	        hsm_dnskey_ds(owner, olen, rdata, rlen, (uint8_t)type, ds, sizeof(ds), &dlen),
	        HSM_OK);
	hex(ds + 4, dlen - 4, got);
	CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_hsm_dnskey_ds_sha256_matches_rfc(void)
{
	check_ds_file(K_ED25519, V_ED25519 "/expected-ds.txt");
	check_ds_file(K_P256, V_P256 "/expected-ds.txt");
}

static void test_hsm_dnskey_ds_sha384_digests_lowercased_owner_and_rdata(void)
{
	uint8_t rdata[4 + HSM_DNSKEY_PUBKEY_MAX], owner[256], lower[256], ds[HSM_DS_RDATA_MAX];
	uint8_t want[48];
	unsigned want_len = 0;
	size_t rlen, olen, dlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	keyrec_t k;

	CU_ASSERT_FATAL(ctx != NULL);
	CU_ASSERT_FATAL(read_keyrec(K_P256, &k) == 0);
	rlen = rdata_from_keyrec(&k, rdata);
	olen = name_wire("ExAmple.NET.", owner);
	name_wire("example.net.", lower);
	CU_ASSERT_FATAL(EVP_DigestInit_ex(ctx, EVP_sha384(), NULL) == 1);
	CU_ASSERT_FATAL(EVP_DigestUpdate(ctx, lower, olen) == 1);
	CU_ASSERT_FATAL(EVP_DigestUpdate(ctx, rdata, rlen) == 1);
	CU_ASSERT_FATAL(EVP_DigestFinal_ex(ctx, want, &want_len) == 1);
	EVP_MD_CTX_free(ctx);

	CU_ASSERT_EQUAL_FATAL(
	        hsm_dnskey_ds(owner, olen, rdata, rlen, HSM_DS_SHA384, ds, sizeof(ds), &dlen),
	        HSM_OK);
	CU_ASSERT_EQUAL_FATAL(dlen, HSM_DS_RDATA_MAX);
	CU_ASSERT_EQUAL(((unsigned)ds[0] << 8) | ds[1], 55648);
	CU_ASSERT_EQUAL(ds[2], HSM_ALG_ECDSAP256SHA256);
	CU_ASSERT_EQUAL(ds[3], HSM_DS_SHA384);
	CU_ASSERT_EQUAL(memcmp(ds + 4, want, sizeof(want)), 0);
}

static void test_hsm_dnskey_ds_rejects_unknown_digest_type_and_bad_owner(void)
{
	uint8_t rdata[4 + HSM_DNSKEY_PUBKEY_MAX], owner[256], ds[HSM_DS_RDATA_MAX];
	uint8_t before[HSM_DS_RDATA_MAX];
	size_t rlen, olen, dlen = 7;
	keyrec_t k;

	CU_ASSERT_FATAL(read_keyrec(K_ED25519, &k) == 0);
	rlen = rdata_from_keyrec(&k, rdata);
	olen = name_wire(k.owner, owner);
	memset(ds, 0xAA, sizeof(ds));
	memcpy(before, ds, sizeof(ds));

	CU_ASSERT_EQUAL(hsm_dnskey_ds(owner, olen, rdata, rlen, 1, ds, sizeof(ds), &dlen),
	                HSM_ERR_ALGORITHM); /* SHA-1 */
	CU_ASSERT_EQUAL(hsm_dnskey_ds(owner, olen, rdata, rlen, 3, ds, sizeof(ds), &dlen),
	                HSM_ERR_ALGORITHM); /* GOST */
	/* No root label; a label running past the end; bytes after the root. */
	CU_ASSERT_EQUAL(
	        hsm_dnskey_ds(owner, olen - 1, rdata, rlen, HSM_DS_SHA256, ds, sizeof(ds), &dlen),
	        HSM_ERR_INVAL);
	CU_ASSERT_EQUAL(hsm_dnskey_ds(owner, 5, rdata, rlen, HSM_DS_SHA256, ds, sizeof(ds), &dlen),
	                HSM_ERR_INVAL);
	owner[olen] = 0;
	CU_ASSERT_EQUAL(
	        hsm_dnskey_ds(owner, olen + 1, rdata, rlen, HSM_DS_SHA256, ds, sizeof(ds), &dlen),
	        HSM_ERR_INVAL);
	/* RDATA shorter than flags, protocol and algorithm. */
	CU_ASSERT_EQUAL(hsm_dnskey_ds(owner, olen, rdata, 3, HSM_DS_SHA256, ds, sizeof(ds), &dlen),
	                HSM_ERR_DNSKEY);
	CU_ASSERT_EQUAL(memcmp(ds, before, sizeof(ds)), 0);
	CU_ASSERT_EQUAL(dlen, 7);
}

static void test_hsm_dnskey_wrong_points_are_dnskey_errors(void)
{
	uint8_t point[200], out[HSM_DNSKEY_PUBKEY_MAX], before[HSM_DNSKEY_PUBKEY_MAX];
	size_t len = 7;
	hsm_pubkey_t pub = {.alg = hsm_alg_by_number(HSM_ALG_ECDSAP256SHA256), .ec_point = point};

	CU_ASSERT_FATAL(pub.alg != NULL);
	memset(point, 0x11, sizeof(point));
	point[0] = 0x04;
	memset(out, 0xAA, sizeof(out));
	memcpy(before, out, sizeof(out));

	/* P-256: x||y without the prefix, one byte too many, a P-384 size. */
	static const size_t bad_lens[] = {0, 1, 33, 64, 66, 97};
	for (size_t i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++) {
		pub.ec_point_len = bad_lens[i];
		CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_ERR_DNSKEY);
	}
	/* A compressed point, raw and wrapped. */
	point[0] = 0x02;
	pub.ec_point_len = 65;
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_ERR_DNSKEY);
	point[0] = 0x04;
	point[1] = 33;
	point[2] = 0x02;
	pub.ec_point_len = 35;
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_ERR_DNSKEY);
	/* A wrapping whose length disagrees with its content. */
	point[1] = 65;
	point[2] = 0x04;
	pub.ec_point_len = 66;
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_ERR_DNSKEY);
	pub.ec_point_len = 68;
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_ERR_DNSKEY);
	/* A P-256 point given as P-384. */
	pub.alg = hsm_alg_by_number(HSM_ALG_ECDSAP384SHA384);
	pub.ec_point_len = 65;
	point[1] = 0x11;
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_ERR_DNSKEY);
	/* EdDSA points of the wrong size. */
	pub.alg = hsm_alg_by_number(HSM_ALG_ED25519);
	pub.ec_point_len = 31;
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_ERR_DNSKEY);
	pub.ec_point_len = 33;
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_ERR_DNSKEY);
	pub.alg = hsm_alg_by_number(HSM_ALG_ED448);
	pub.ec_point_len = 32;
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_ERR_DNSKEY);
	/* No point at all. */
	pub.ec_point = NULL;
	pub.ec_point_len = 0;
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_ERR_DNSKEY);

	CU_ASSERT_EQUAL(memcmp(out, before, sizeof(out)), 0);
	CU_ASSERT_EQUAL(len, 7);
}

static void test_hsm_dnskey_malformed_rsa_is_dnskey_error(void)
{
	static const uint8_t zeros[4] = {0};
	static const uint8_t one[1] = {1};
	uint8_t out[64];
	size_t len = 7;
	hsm_pubkey_t pub = {.alg = hsm_alg_by_number(HSM_ALG_RSASHA256),
	                    .modulus = one,
	                    .modulus_len = 1,
	                    .exponent = zeros,
	                    .exponent_len = sizeof(zeros)};

	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_ERR_DNSKEY);
	pub.exponent = one;
	pub.exponent_len = 1;
	pub.modulus = zeros;
	pub.modulus_len = sizeof(zeros);
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_ERR_DNSKEY);
	pub.modulus_len = 0;
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_ERR_DNSKEY);
	CU_ASSERT_EQUAL(len, 7);
}

static void test_hsm_dnskey_long_rsa_exponent_gets_three_byte_length(void)
{
	uint8_t exp[300], mod[64], out[HSM_DNSKEY_PUBKEY_MAX];
	size_t len = 0;
	hsm_pubkey_t pub = {.alg = hsm_alg_by_number(HSM_ALG_RSASHA256),
	                    .modulus = mod,
	                    .modulus_len = sizeof(mod),
	                    .exponent = exp,
	                    .exponent_len = sizeof(exp)};

	memset(exp, 0x01, sizeof(exp));
	memset(mod, 0xC3, sizeof(mod));
	CU_ASSERT_EQUAL_FATAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_OK);
	CU_ASSERT_EQUAL(len, 3 + sizeof(exp) + sizeof(mod));
	CU_ASSERT_EQUAL(out[0], 0);
	CU_ASSERT_EQUAL(((unsigned)out[1] << 8) | out[2], sizeof(exp));
	CU_ASSERT_EQUAL(memcmp(out + 3, exp, sizeof(exp)), 0);
	CU_ASSERT_EQUAL(memcmp(out + 3 + sizeof(exp), mod, sizeof(mod)), 0);

	/* 255 bytes still fit the one-byte form. */
	pub.exponent_len = 255;
	CU_ASSERT_EQUAL_FATAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_OK);
	CU_ASSERT_EQUAL(out[0], 255);
	CU_ASSERT_EQUAL(len, 1 + 255 + sizeof(mod));
}

static void test_hsm_dnskey_small_cap_is_buffer_error(void)
{
	uint8_t out[HSM_DNSKEY_PUBKEY_MAX], before[HSM_DNSKEY_PUBKEY_MAX], point[65];
	uint8_t owner[32], rdata[40];
	static const uint8_t e[] = {1, 0, 1};
	uint8_t n[64];
	size_t len = 7, olen;
	hsm_pubkey_t rsa = {.alg = hsm_alg_by_number(HSM_ALG_RSASHA256),
	                    .modulus = n,
	                    .modulus_len = sizeof(n),
	                    .exponent = e,
	                    .exponent_len = sizeof(e)};
	hsm_pubkey_t ec = {.alg = hsm_alg_by_number(HSM_ALG_ECDSAP256SHA256),
	                   .ec_point = point,
	                   .ec_point_len = sizeof(point)};

	memset(n, 0xC3, sizeof(n));
	memset(point, 0x22, sizeof(point));
	point[0] = 0x04;
	memset(out, 0xAA, sizeof(out));
	memcpy(before, out, sizeof(out));

	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&rsa, out, 1 + 3 + 64 - 1, &len), HSM_ERR_BUFFER);
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&ec, out, 63, &len), HSM_ERR_BUFFER);
	CU_ASSERT_EQUAL(hsm_dnskey_rdata(257, 13, point + 1, 64, out, 67, &len), HSM_ERR_BUFFER);
	CU_ASSERT_EQUAL(hsm_dnskey_rdata(257, 13, point + 1, 64, out, 3, &len), HSM_ERR_BUFFER);
	CU_ASSERT_EQUAL(memcmp(out, before, sizeof(out)), 0);
	CU_ASSERT_EQUAL(len, 7);

	/* Exactly enough is enough. */
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&rsa, out, 1 + 3 + 64, &len), HSM_OK);
	CU_ASSERT_EQUAL(len, 68);
	CU_ASSERT_EQUAL(hsm_dnskey_pubkey(&ec, out, 64, &len), HSM_OK);
	CU_ASSERT_EQUAL(len, 64);
	CU_ASSERT_EQUAL(hsm_dnskey_rdata(257, 13, point + 1, 32, rdata, 36, &len), HSM_OK);
	CU_ASSERT_EQUAL(len, 36);

	olen = name_wire("example.net.", owner);
	memset(out, 0xAA, sizeof(out));
	len = 7;
	CU_ASSERT_EQUAL(hsm_dnskey_ds(owner, olen, rdata, 36, HSM_DS_SHA256, out, 35, &len),
	                HSM_ERR_BUFFER);
	CU_ASSERT_EQUAL(hsm_dnskey_ds(owner, olen, rdata, 36, HSM_DS_SHA384, out, 51, &len),
	                HSM_ERR_BUFFER);
	CU_ASSERT_EQUAL(memcmp(out, before, sizeof(out)), 0);
	CU_ASSERT_EQUAL(len, 7);
	CU_ASSERT_EQUAL(hsm_dnskey_ds(owner, olen, rdata, 36, HSM_DS_SHA256, out, 36, &len),
	                HSM_OK);
	CU_ASSERT_EQUAL(len, 36);
}

static void test_hsm_dnskey_rdata_layout_and_revoke_changes_key_tag(void)
{
	uint8_t rdata[4 + HSM_DNSKEY_PUBKEY_MAX];
	size_t rlen;
	keyrec_t k;

	CU_ASSERT_FATAL(read_keyrec(K_ED25519, &k) == 0);
	rlen = rdata_from_keyrec(&k, rdata);
	CU_ASSERT_EQUAL(hsm_dnskey_keytag(rdata, rlen), 3613);

	uint8_t built[4 + HSM_DNSKEY_PUBKEY_MAX];
	size_t blen = 0;
	CU_ASSERT_EQUAL_FATAL(hsm_dnskey_rdata(HSM_DNSKEY_FLAG_ZONE | HSM_DNSKEY_FLAG_SEP,
	                                       HSM_ALG_ED25519, rdata + 4, rlen - 4, built,
	                                       sizeof(built), &blen),
	                      HSM_OK);
	CU_ASSERT_EQUAL(blen, rlen);
	CU_ASSERT_EQUAL(memcmp(built, rdata, rlen), 0);
	CU_ASSERT_EQUAL(built[0], 0x01);
	CU_ASSERT_EQUAL(built[1], 0x01);
	CU_ASSERT_EQUAL(built[2], 3);
	CU_ASSERT_EQUAL(built[3], 15);

	/* RFC 5011: REVOKE is in the flags, so in the tag (0x80 on an odd byte). */
	CU_ASSERT_EQUAL_FATAL(hsm_dnskey_rdata(HSM_DNSKEY_FLAG_ZONE | HSM_DNSKEY_FLAG_SEP |
	                                               HSM_DNSKEY_FLAG_REVOKE,
	                                       HSM_ALG_ED25519, rdata + 4, rlen - 4, built,
	                                       sizeof(built), &blen),
	                      HSM_OK);
	CU_ASSERT_EQUAL(hsm_dnskey_keytag(built, blen), 3613 + 128);
}

static void test_hsm_dnskey_keytag_algorithm_1_uses_modulus_bits(void)
{
	/* RFC 4034 B.1: the third and second last bytes of the key field. */
	static const uint8_t rdata[] = {0x01, 0x00, 3, 1, 1, 3, 0x12, 0xAB, 0xCD, 0xEF};

	CU_ASSERT_EQUAL(hsm_dnskey_keytag(rdata, sizeof(rdata)), 0xABCD);
}

static void generated_point(const char *type, const char *curve, unsigned alg, size_t want_len)
{
	uint8_t point[200], der[202], out[HSM_DNSKEY_PUBKEY_MAX];
	size_t plen = sizeof(point), len = 0;
	EVP_PKEY *pkey = curve != NULL ? EVP_PKEY_Q_keygen(NULL, NULL, type, curve)
	                               : EVP_PKEY_Q_keygen(NULL, NULL, type);
	hsm_pubkey_t pub = {.alg = hsm_alg_by_number(alg)};

	CU_ASSERT_FATAL(pkey != NULL);
	CU_ASSERT_FATAL(pub.alg != NULL);
	if (curve != NULL) {
		plen = ec_point(pkey, point, sizeof(point));
	} else {
		CU_ASSERT_FATAL(EVP_PKEY_get_raw_public_key(pkey, point, &plen) == 1);
	}
	pub.ec_point = point;
	pub.ec_point_len = plen;
	CU_ASSERT_EQUAL_FATAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_OK);
	CU_ASSERT_EQUAL(len, want_len);
	CU_ASSERT_EQUAL(memcmp(out, point + plen - want_len, want_len), 0);

	pub.ec_point = der;
	pub.ec_point_len = der_wrap(point, plen, der);
	len = 0;
	CU_ASSERT_EQUAL_FATAL(hsm_dnskey_pubkey(&pub, out, sizeof(out), &len), HSM_OK);
	CU_ASSERT_EQUAL(len, want_len);
	CU_ASSERT_EQUAL(memcmp(out, point + plen - want_len, want_len), 0);
	EVP_PKEY_free(pkey);
}

static void test_hsm_dnskey_p384_and_ed448_points(void)
{
	generated_point("EC", "P-384", HSM_ALG_ECDSAP384SHA384, 96);
	generated_point("ED448", NULL, HSM_ALG_ED448, 57);
}

static const testutil_case_t cases[] = {
        {"test_hsm_dnskey_rsa_matches_rfc5702", test_hsm_dnskey_rsa_matches_rfc5702},
        {"test_hsm_dnskey_ecdsa_raw_and_der_points_match_rfc6605",
         test_hsm_dnskey_ecdsa_raw_and_der_points_match_rfc6605},
        {"test_hsm_dnskey_ed25519_raw_and_der_points_match_rfc8080",
         test_hsm_dnskey_ed25519_raw_and_der_points_match_rfc8080},
        {"test_hsm_dnskey_ds_sha256_matches_rfc", test_hsm_dnskey_ds_sha256_matches_rfc},
        {"test_hsm_dnskey_ds_sha384_digests_lowercased_owner_and_rdata",
         test_hsm_dnskey_ds_sha384_digests_lowercased_owner_and_rdata},
        {"test_hsm_dnskey_ds_rejects_unknown_digest_type_and_bad_owner",
         test_hsm_dnskey_ds_rejects_unknown_digest_type_and_bad_owner},
        {"test_hsm_dnskey_wrong_points_are_dnskey_errors",
         test_hsm_dnskey_wrong_points_are_dnskey_errors},
        {"test_hsm_dnskey_malformed_rsa_is_dnskey_error",
         test_hsm_dnskey_malformed_rsa_is_dnskey_error},
        {"test_hsm_dnskey_long_rsa_exponent_gets_three_byte_length",
         test_hsm_dnskey_long_rsa_exponent_gets_three_byte_length},
        {"test_hsm_dnskey_small_cap_is_buffer_error", test_hsm_dnskey_small_cap_is_buffer_error},
        {"test_hsm_dnskey_rdata_layout_and_revoke_changes_key_tag",
         test_hsm_dnskey_rdata_layout_and_revoke_changes_key_tag},
        {"test_hsm_dnskey_keytag_algorithm_1_uses_modulus_bits",
         test_hsm_dnskey_keytag_algorithm_1_uses_modulus_bits},
        {"test_hsm_dnskey_p384_and_ed448_points", test_hsm_dnskey_p384_and_ed448_points},
        {NULL, NULL},
};

int main(void)
{
	return testutil_run("hsm_dnskey", cases);
}
