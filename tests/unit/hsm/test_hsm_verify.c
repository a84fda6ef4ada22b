/*
 * Tests of hsm_verify: the RRSIGs of RFC 5702, 6605 and 8080 over their
 * input.zone (signed data built here by hand), signatures made with OpenSSL
 * for generated P-384, Ed448 and RSA/SHA-512 keys, malformed keys, and a key
 * shared by threads.
 */
#include "hsm/hsm_verify.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "hsm/hsm_alg.h"
#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_error.h"
#include "tests/support/testutil.h"

#define V_RSA     "vectors/rfc5702-rsasha256-key9033"
#define V_P256    "vectors/rfc6605-ecdsap256sha256-key55648"
#define V_ED25519 "vectors/rfc8080-ed25519-key3613"

#define TYPE_A  1
#define TYPE_MX 15

/* One RFC vector made ready for hsm_verify_sig(). */
typedef struct {
	uint8_t alg;
	uint8_t key[1024];
	size_t key_len;
	uint8_t data[1024];
	size_t len;
	uint8_t sig[1024];
	size_t sig_len;
} vector_t;

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

/* Base64 to bytes; returns the length or 0. */
static size_t unb64(const char *s, uint8_t *out)
{
	size_t n = strlen(s);
	int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);

	if (len <= 0) {
		return 0;
	}
	return (size_t)len - (n > 0 && s[n - 1] == '=') - (n > 1 && s[n - 2] == '=');
}

/* "www.Example.net." -> wire form, lowercased (RFC 4034 canonical form). */
static size_t name_wire(const char *name, uint8_t *out)
{
	size_t o = 0;

	while (*name != '\0' && strcmp(name, ".") != 0) {
		const char *dot = strchr(name, '.');
		size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);

		out[o++] = (uint8_t)n;
		for (size_t i = 0; i < n; i++) {
			char c = name[i];
			out[o++] = (uint8_t)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		name += n + (dot != NULL);
	}
	out[o++] = 0;
	return o;
}

/* YYYYMMDDHHmmSS (UTC) to seconds since 1970, as RRSIG times are. */
static uint32_t rrsig_time(const char *s)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, mo, d, h, mi, se;
	uint64_t days = 0;

	if (sscanf(s, "%4u%2u%2u%2u%2u%2u", &y, &mo, &d, &h, &mi, &se) != 6) {
		return 0;
	}
	for (unsigned i = 1970; i < y; i++) {
		days += (i % 4 == 0 && (i % 100 != 0 || i % 400 == 0)) ? 366 : 365;
	}
	for (unsigned i = 1; i < mo; i++) {
		days += mdays[i - 1];
		if (i == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) {
			days++;
		}
	}
	days += d - 1;
	return (uint32_t)(days * 86400 + h * 3600 + mi * 60 + se);
}

static uint8_t *put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/*
 * Loads a vector: the DNSKEY field from the .key file, the signature from
 * expected-rrsig.txt, and the signed data (RFC 4034 3.1.8.1): the RRSIG RDATA
 * without the signature, then the one RR of input.zone in canonical wire
 * form, whose RDATA (rr_rdata) the caller encodes by hand.
 */
static int load_vector(const char *dir, const char *keyfile, unsigned type, const uint8_t *rr_rdata,
                       size_t rr_rdata_len, vector_t *v)
{
	char path[256], owner[256], tname[16], exp[16], inc[16], signer[256], sig[1024];
	char kowner[256], kb64[1024];
	unsigned ttl, alg, labels, orig_ttl, tag, kflags, kalg;
	char *text;
	uint8_t *p = v->data;
	int n;

	snprintf(path, sizeof(path), "%s/expected-rrsig.txt", dir);
	text = slurp(path);
	if (text == NULL) {
		return -1;
	}
	n = sscanf(text, "%255s %u IN RRSIG %15s %u %u %u %15s %15s %u %255s %1023s", owner, &ttl,
	           tname, &alg, &labels, &orig_ttl, exp, inc, &tag, signer, sig);
	free(text);
	if (n != 11) {
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, keyfile);
	text = slurp(path);
	if (text == NULL) {
		return -1;
	}
	n = sscanf(text, "%255s %*u IN DNSKEY %u 3 %u %1023s", kowner, &kflags, &kalg, kb64);
	free(text);
	if (n != 4 || kalg != alg) {
		return -1;
	}
	v->alg = (uint8_t)alg;
	v->key_len = unb64(kb64, v->key);
	v->sig_len = unb64(sig, v->sig);

	/* RRSIG RDATA up to the signer's name. */
	p = put16(p, type);
	*p++ = (uint8_t)alg;
	*p++ = (uint8_t)labels;
	p = put32(p, orig_ttl);
	p = put32(p, rrsig_time(exp));
	p = put32(p, rrsig_time(inc));
	p = put16(p, tag);
	p += name_wire(signer, p);
	/* The RR: owner, type, class IN, original TTL, RDLENGTH, RDATA. */
	p += name_wire(owner, p);
	p = put16(p, type);
	p = put16(p, 1);
	p = put32(p, orig_ttl);
	p = put16(p, (unsigned)rr_rdata_len);
	memcpy(p, rr_rdata, rr_rdata_len);
	p += rr_rdata_len;
	v->len = (size_t)(p - v->data);
	return v->key_len > 0 && v->sig_len > 0 ? 0 : -1;
}

/* input.zone: www.example.net. 3600 IN A 192.0.2.91 */
static int load_rsa(vector_t *v)
{
	static const uint8_t a[] = {192, 0, 2, 91};

	return load_vector(V_RSA, "Kexample.net.+008+09033.key", TYPE_A, a, sizeof(a), v);
}

/* input.zone: www.example.net. 3600 IN A 192.0.2.1 */
static int load_p256(vector_t *v)
{
	static const uint8_t a[] = {192, 0, 2, 1};

	return load_vector(V_P256, "Kexample.net.+013+55648.key", TYPE_A, a, sizeof(a), v);
}

/* input.zone: example.com. 3600 IN MX 10 mail.example.com. */
static int load_ed25519(vector_t *v)
{
	uint8_t mx[64];
	size_t len = 2;

	put16(mx, 10);
	len += name_wire("mail.example.com.", mx + 2);
	return load_vector(V_ED25519, "Kexample.com.+015+03613.key", TYPE_MX, mx, len, v);
}

/* Good signature accepted; a flipped bit in the signature or the data, or a
 * shortened signature, rejected with HSM_ERR_VERIFY. */
static void check_vector(const vector_t *v)
{
	hsm_verify_key_t *key = NULL;
	uint8_t sig[1024], data[1024];

	CU_ASSERT_EQUAL_FATAL(hsm_verify_key_new(v->alg, v->key, v->key_len, &key), HSM_OK);
	CU_ASSERT_EQUAL(hsm_verify_sig(key, v->data, v->len, v->sig, v->sig_len), HSM_OK);

	memcpy(sig, v->sig, v->sig_len);
	sig[v->sig_len / 2] ^= 0x01;
	ERR_clear_error();
	CU_ASSERT_EQUAL(hsm_verify_sig(key, v->data, v->len, sig, v->sig_len), HSM_ERR_VERIFY);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0); /* no OpenSSL errors left behind */
	sig[v->sig_len / 2] ^= 0x01;
	sig[v->sig_len - 1] ^= 0x80;
	CU_ASSERT_EQUAL(hsm_verify_sig(key, v->data, v->len, sig, v->sig_len), HSM_ERR_VERIFY);

	memcpy(data, v->data, v->len);
	data[v->len - 1] ^= 0x01;
	CU_ASSERT_EQUAL(hsm_verify_sig(key, data, v->len, v->sig, v->sig_len), HSM_ERR_VERIFY);
	CU_ASSERT_EQUAL(hsm_verify_sig(key, v->data, v->len - 1, v->sig, v->sig_len),
	                HSM_ERR_VERIFY);
	CU_ASSERT_EQUAL(hsm_verify_sig(key, v->data, v->len, v->sig, v->sig_len - 1),
	                HSM_ERR_VERIFY);
	CU_ASSERT_EQUAL(hsm_verify_sig(key, v->data, v->len, v->sig, 0), HSM_ERR_VERIFY);
	hsm_verify_key_free(key);
}

static void test_hsm_verify_rfc5702_rsasha256_rrsig(void)
{
	vector_t v;

	CU_ASSERT_FATAL(load_rsa(&v) == 0);
	CU_ASSERT_EQUAL(v.alg, HSM_ALG_RSASHA256);
	CU_ASSERT_EQUAL(v.sig_len, 64);
	check_vector(&v);
}

static void test_hsm_verify_rfc6605_ecdsap256sha256_rrsig(void)
{
	vector_t v;

	CU_ASSERT_FATAL(load_p256(&v) == 0);
	CU_ASSERT_EQUAL(v.alg, HSM_ALG_ECDSAP256SHA256);
	CU_ASSERT_EQUAL(v.sig_len, 64);
	check_vector(&v);
}

static void test_hsm_verify_rfc8080_ed25519_rrsig(void)
{
	vector_t v;

	CU_ASSERT_FATAL(load_ed25519(&v) == 0);
	CU_ASSERT_EQUAL(v.alg, HSM_ALG_ED25519);
	CU_ASSERT_EQUAL(v.sig_len, 64);
	check_vector(&v);
}

static void test_hsm_verify_signature_of_another_algorithm_is_rejected(void)
{
	hsm_verify_key_t *key = NULL;
	vector_t ed, p256;

	CU_ASSERT_FATAL(load_ed25519(&ed) == 0);
	CU_ASSERT_FATAL(load_p256(&p256) == 0);
	/* Both signatures are 64 bytes: the P-256 key must refuse Ed25519's. */
	CU_ASSERT_EQUAL_FATAL(hsm_verify_key_new(p256.alg, p256.key, p256.key_len, &key), HSM_OK);
	CU_ASSERT_EQUAL(hsm_verify_sig(key, ed.data, ed.len, ed.sig, ed.sig_len), HSM_ERR_VERIFY);
	CU_ASSERT_EQUAL(hsm_verify_sig(key, p256.data, p256.len, ed.sig, ed.sig_len),
	                HSM_ERR_VERIFY);
	hsm_verify_key_free(key);
}

static void test_hsm_verify_ecdsa_zero_or_overlong_halves_are_rejected(void)
{
	hsm_verify_key_t *key = NULL;
	uint8_t sig[64];
	vector_t v;

	CU_ASSERT_FATAL(load_p256(&v) == 0);
	CU_ASSERT_EQUAL_FATAL(hsm_verify_key_new(v.alg, v.key, v.key_len, &key), HSM_OK);
	memcpy(sig, v.sig, sizeof(sig));
	memset(sig, 0, 32); /* r = 0 */
	CU_ASSERT_EQUAL(hsm_verify_sig(key, v.data, v.len, sig, sizeof(sig)), HSM_ERR_VERIFY);
	memset(sig, 0xFF, sizeof(sig)); /* r, s above the group order */
	CU_ASSERT_EQUAL(hsm_verify_sig(key, v.data, v.len, sig, sizeof(sig)), HSM_ERR_VERIFY);
	hsm_verify_key_free(key);
}

/* Signs msg with pkey through OpenSSL (md NULL for EdDSA). */
static size_t openssl_sign(EVP_PKEY *pkey, const char *md, const uint8_t *msg, size_t len,
                           uint8_t *sig, size_t cap)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sig_len = cap;

	if (ctx == NULL || EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, pkey, NULL) != 1 ||
	    EVP_DigestSign(ctx, sig, &sig_len, msg, len) != 1) {
		sig_len = 0;
	}
	EVP_MD_CTX_free(ctx);
	return sig_len;
}

/* DER ECDSA-Sig-Value to DNSSEC r||s with halves of half bytes. */
static size_t der_to_rs(const uint8_t *der, size_t len, size_t half, uint8_t *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	size_t ret = 0;

	if (es == NULL) {
		return 0;
	}
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, out, (int)half) == (int)half &&
	    BN_bn2binpad(s, out + half, (int)half) == (int)half) {
		ret = 2 * half;
	}
	ECDSA_SIG_free(es);
	return ret;
}

/* The DNSKEY field of a generated key, through hsm_dnskey. */
static size_t dnskey_field(EVP_PKEY *pkey, unsigned alg, uint8_t *out)
{
	uint8_t point[200], n[600], e[16];
	hsm_pubkey_t pub = {.alg = hsm_alg_by_number(alg)};
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	size_t len = 0, plen = sizeof(point);

	if (pub.alg == NULL) {
		return 0;
	}
	switch (pub.alg->keytype) {
	case HSM_KEYTYPE_RSA:
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &bn_n) != 1 ||
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &bn_e) != 1) {
			break;
		}
		pub.modulus = n;
		pub.modulus_len = (size_t)BN_bn2bin(bn_n, n);
		pub.exponent = e;
		pub.exponent_len = (size_t)BN_bn2bin(bn_e, e);
		break;
	case HSM_KEYTYPE_EC:
		if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point,
		                                    sizeof(point), &plen) != 1) {
			plen = 0;
		}
		pub.ec_point = point;
		pub.ec_point_len = plen;
		break;
	case HSM_KEYTYPE_EDDSA:
		if (EVP_PKEY_get_raw_public_key(pkey, point, &plen) != 1) {
			plen = 0;
		}
		pub.ec_point = point;
		pub.ec_point_len = plen;
		break;
	}
	if (hsm_dnskey_pubkey(&pub, out, HSM_DNSKEY_PUBKEY_MAX, &len) != HSM_OK) {
		len = 0;
	}
	BN_free(bn_n);
	BN_free(bn_e);
	return len;
}

/* Generates a key, signs with OpenSSL, verifies through the DNSKEY field. */
static void generated(EVP_PKEY *pkey, unsigned alg, const char *md, size_t half,
                      size_t want_sig_len)
{
	static const uint8_t msg[] = "RRSIG RDATA and a canonical RRset would go here";
	uint8_t field[HSM_DNSKEY_PUBKEY_MAX], raw[1024], sig[1024];
	hsm_verify_key_t *key = NULL;
	size_t flen, raw_len, sig_len;

	CU_ASSERT_FATAL(pkey != NULL);
	flen = dnskey_field(pkey, alg, field);
	CU_ASSERT_FATAL(flen > 0);
	raw_len = openssl_sign(pkey, md, msg, sizeof(msg), raw, sizeof(raw));
	CU_ASSERT_FATAL(raw_len > 0);
	if (half > 0) {
		sig_len = der_to_rs(raw, raw_len, half, sig);
	} else {
		memcpy(sig, raw, raw_len);
		sig_len = raw_len;
	}
	CU_ASSERT_EQUAL_FATAL(sig_len, want_sig_len);

	CU_ASSERT_EQUAL_FATAL(hsm_verify_key_new((uint8_t)alg, field, flen, &key), HSM_OK);
	CU_ASSERT_EQUAL(hsm_verify_sig(key, msg, sizeof(msg), sig, sig_len), HSM_OK);
	sig[3] ^= 0x10;
	CU_ASSERT_EQUAL(hsm_verify_sig(key, msg, sizeof(msg), sig, sig_len), HSM_ERR_VERIFY);
	sig[3] ^= 0x10;
	CU_ASSERT_EQUAL(hsm_verify_sig(key, msg, sizeof(msg) - 1, sig, sig_len), HSM_ERR_VERIFY);
	hsm_verify_key_free(key);
	EVP_PKEY_free(pkey);
}

static void test_hsm_verify_generated_p384(void)
{
	generated(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"), HSM_ALG_ECDSAP384SHA384, "SHA384",
	          48, 96);
}

static void test_hsm_verify_generated_ed448(void)
{
	generated(EVP_PKEY_Q_keygen(NULL, NULL, "ED448"), HSM_ALG_ED448, NULL, 0, 114);
}

static void test_hsm_verify_generated_rsasha512_and_digest_mismatch(void)
{
	static const uint8_t msg[] = "signed with SHA-512";
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	uint8_t field[HSM_DNSKEY_PUBKEY_MAX], sig[512];
	hsm_verify_key_t *k256 = NULL;
	size_t flen, sig_len;

	CU_ASSERT_FATAL(pkey != NULL);
	flen = dnskey_field(pkey, HSM_ALG_RSASHA512, field);
	CU_ASSERT_FATAL(flen == 1 + 3 + 256); /* e = 65537 */
	sig_len = openssl_sign(pkey, "SHA512", msg, sizeof(msg), sig, sizeof(sig));
	CU_ASSERT_EQUAL_FATAL(sig_len, 256);
	/* The same key as algorithm 8 hashes with SHA-256: no match. */
	CU_ASSERT_EQUAL_FATAL(hsm_verify_key_new(HSM_ALG_RSASHA256, field, flen, &k256), HSM_OK);
	CU_ASSERT_EQUAL(hsm_verify_sig(k256, msg, sizeof(msg), sig, sig_len), HSM_ERR_VERIFY);
	hsm_verify_key_free(k256);
	generated(pkey, HSM_ALG_RSASHA512, "SHA512", 0, 256);
}

static void test_hsm_verify_key_new_rejects_bad_keys(void)
{
	static char dummy;
	hsm_verify_key_t *const sentinel = (hsm_verify_key_t *)&dummy;
	hsm_verify_key_t *key = sentinel;
	uint8_t buf[1024];
	vector_t rsa, p256, ed;

	CU_ASSERT_FATAL(load_rsa(&rsa) == 0);
	CU_ASSERT_FATAL(load_p256(&p256) == 0);
	CU_ASSERT_FATAL(load_ed25519(&ed) == 0);

	/* Unsupported algorithms: RSASHA1, DSA, unassigned. */
	CU_ASSERT_EQUAL(hsm_verify_key_new(5, rsa.key, rsa.key_len, &key), HSM_ERR_ALGORITHM);
	CU_ASSERT_EQUAL(hsm_verify_key_new(3, rsa.key, rsa.key_len, &key), HSM_ERR_ALGORITHM);
	CU_ASSERT_EQUAL(hsm_verify_key_new(99, rsa.key, rsa.key_len, &key), HSM_ERR_ALGORITHM);

	/* EC: wrong lengths, a point not on the curve, a P-256 key as P-384. */
	CU_ASSERT_EQUAL(hsm_verify_key_new(13, p256.key, 63, &key), HSM_ERR_DNSKEY);
	memcpy(buf, p256.key, 64);
	buf[64] = 0;
	CU_ASSERT_EQUAL(hsm_verify_key_new(13, buf, 65, &key), HSM_ERR_DNSKEY);
	buf[63] ^= 0x01;
	CU_ASSERT_EQUAL(hsm_verify_key_new(13, buf, 64, &key), HSM_ERR_DNSKEY);
	CU_ASSERT_EQUAL(hsm_verify_key_new(14, p256.key, p256.key_len, &key), HSM_ERR_DNSKEY);
	CU_ASSERT_EQUAL(hsm_verify_key_new(13, NULL, 0, &key), HSM_ERR_DNSKEY);

	/* EdDSA: wrong lengths. */
	CU_ASSERT_EQUAL(hsm_verify_key_new(15, ed.key, 31, &key), HSM_ERR_DNSKEY);
	CU_ASSERT_EQUAL(hsm_verify_key_new(16, ed.key, ed.key_len, &key), HSM_ERR_DNSKEY);

	/* RSA: empty, exponent running past the end, no modulus, leading
	 * zero in the modulus, three-byte header cut short. */
	CU_ASSERT_EQUAL(hsm_verify_key_new(8, rsa.key, 0, &key), HSM_ERR_DNSKEY);
	buf[0] = 200;
	memset(buf + 1, 0x55, 100);
	CU_ASSERT_EQUAL(hsm_verify_key_new(8, buf, 101, &key), HSM_ERR_DNSKEY);
	CU_ASSERT_EQUAL(hsm_verify_key_new(8, rsa.key, 4, &key), HSM_ERR_DNSKEY);
	memcpy(buf, rsa.key, 4);
	buf[4] = 0;
	memcpy(buf + 5, rsa.key + 4, rsa.key_len - 4);
	CU_ASSERT_EQUAL(hsm_verify_key_new(8, buf, rsa.key_len + 1, &key), HSM_ERR_DNSKEY);
	buf[0] = 0;
	buf[1] = 0;
	CU_ASSERT_EQUAL(hsm_verify_key_new(8, buf, 2, &key), HSM_ERR_DNSKEY);
	/* A modulus of 256 bits is too small to be a DNSKEY. */
	CU_ASSERT_EQUAL(hsm_verify_key_new(8, rsa.key, 4 + 32, &key), HSM_ERR_DNSKEY);

	CU_ASSERT_PTR_EQUAL(key, sentinel);
	hsm_verify_key_free(NULL);
}

/* Threads verify with the same keys at once. */
typedef struct {
	const hsm_verify_key_t *key;
	const vector_t *v;
	int failures;
} worker_t;

static void *worker(void *arg)
{
	worker_t *w = arg;
	uint8_t sig[1024];

	memcpy(sig, w->v->sig, w->v->sig_len);
	sig[0] ^= 0x40;
	for (int i = 0; i < 200; i++) {
		if (hsm_verify_sig(w->key, w->v->data, w->v->len, w->v->sig, w->v->sig_len) !=
		    HSM_OK) {
			w->failures++;
		}
		if (hsm_verify_sig(w->key, w->v->data, w->v->len, sig, w->v->sig_len) !=
		    HSM_ERR_VERIFY) {
			w->failures++;
		}
	}
	return NULL;
}

static void test_hsm_verify_shared_key_across_threads(void)
{
	enum { THREADS = 6 };
	hsm_verify_key_t *keys[3] = {NULL, NULL, NULL};
	static vector_t v[3];
	worker_t w[THREADS];
	pthread_t t[THREADS];

	CU_ASSERT_FATAL(load_rsa(&v[0]) == 0);
	CU_ASSERT_FATAL(load_p256(&v[1]) == 0);
	CU_ASSERT_FATAL(load_ed25519(&v[2]) == 0);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL_FATAL(
		        hsm_verify_key_new(v[i].alg, v[i].key, v[i].key_len, &keys[i]), HSM_OK);
	}
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker_t){.key = keys[i % 3], .v = &v[i % 3]};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(w[i].failures, 0);
	}
	for (int i = 0; i < 3; i++) {
		hsm_verify_key_free(keys[i]);
	}
}

static const testutil_case_t cases[] = {
        {"test_hsm_verify_rfc5702_rsasha256_rrsig", test_hsm_verify_rfc5702_rsasha256_rrsig},
        {"test_hsm_verify_rfc6605_ecdsap256sha256_rrsig",
         test_hsm_verify_rfc6605_ecdsap256sha256_rrsig},
        {"test_hsm_verify_rfc8080_ed25519_rrsig", test_hsm_verify_rfc8080_ed25519_rrsig},
        {"test_hsm_verify_signature_of_another_algorithm_is_rejected",
         test_hsm_verify_signature_of_another_algorithm_is_rejected},
        {"test_hsm_verify_ecdsa_zero_or_overlong_halves_are_rejected",
         test_hsm_verify_ecdsa_zero_or_overlong_halves_are_rejected},
        {"test_hsm_verify_generated_p384", test_hsm_verify_generated_p384},
        {"test_hsm_verify_generated_ed448", test_hsm_verify_generated_ed448},
        {"test_hsm_verify_generated_rsasha512_and_digest_mismatch",
         test_hsm_verify_generated_rsasha512_and_digest_mismatch},
        {"test_hsm_verify_key_new_rejects_bad_keys", test_hsm_verify_key_new_rejects_bad_keys},
        {"test_hsm_verify_shared_key_across_threads", test_hsm_verify_shared_key_across_threads},
        {NULL, NULL},
};

int main(void)
{
	return testutil_run("hsm_verify", cases);
}
