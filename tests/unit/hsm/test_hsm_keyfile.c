/*
 * Tests of hsm_keyfile: the PEM and BIND private keys of the RFC 5702, 6605
 * and 8080 vectors, generated P-384 and Ed448 keys, and bad files written
 * into a temporary directory, each with its exact status.
 */
#include "hsm/hsm_keyfile.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "tests/support/testutil.h"

#define V_RSA     "vectors/rfc5702-rsasha256-key9033"
#define V_P256    "vectors/rfc6605-ecdsap256sha256-key55648"
#define V_ED25519 "vectors/rfc8080-ed25519-key3613"

#define B_RSA     V_RSA "/Kexample.net.+008+09033.private"
#define B_P256    V_P256 "/Kexample.net.+013+55648.private"
#define B_ED25519 V_ED25519 "/Kexample.com.+015+03613.private"

static char tmpdir[] = "/tmp/test_hsm_keyfile.XXXXXX";

/* A path in the shared test data (static storage, overwritten by the next
 * call). */
static const char *data_path(const char *rel)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/%s", testutil_testdata(), rel);
	return path;
}

static char *slurp(const char *rel)
{
	char *buf;
	long n;
	FILE *f = fopen(data_path(rel), "rb");

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

/* Writes len bytes into tmpdir/name; returns the path (static storage). */
static const char *write_tmp(const char *name, const void *data, size_t len)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	if (f == NULL) {
		return NULL;
	}
	if (fwrite(data, 1, len, f) != len) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	return path;
}

static const char *write_text(const char *name, const char *text)
{
	return write_tmp(name, text, strlen(text));
}

/* A shared-data file with the first occurrence of from replaced by to. */
static const char *write_edited(const char *name, const char *rel, const char *from, const char *to)
{
	char *text = slurp(rel), *at, *out;
	const char *path = NULL;

	if (text == NULL) {
		return NULL;
	}
	at = strstr(text, from);
	out = calloc(1, strlen(text) + strlen(to) + 1);
	if (at != NULL && out != NULL) {
		memcpy(out, text, (size_t)(at - text));
		strcat(out, to);
		strcat(out, at + strlen(from));
		path = write_text(name, out);
	}
	free(out);
	free(text);
	return path;
}

static EVP_PKEY *load_public(const char *dir)
{
	char path[1024];
	EVP_PKEY *pkey;
	FILE *f;

	/* Not data_path(): the caller may hold its static result. */
	snprintf(path, sizeof(path), "%s/%s/public.pem", testutil_testdata(), dir);
	f = fopen(path, "r");
	if (f == NULL) {
		return NULL;
	}
	pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	return pkey;
}

/* Signs a message with priv and verifies it with pub, both through OpenSSL:
 * the private half read from the file works and belongs to pub. */
static int sign_roundtrip(EVP_PKEY *priv, EVP_PKEY *pub, const char *md)
{
	static const uint8_t msg[] = "imported key check";
	uint8_t sig[1024];
	size_t sig_len = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = 0;

	if (ctx != NULL && EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, priv, NULL) == 1 &&
	    EVP_DigestSign(ctx, sig, &sig_len, msg, sizeof(msg)) == 1) {
		EVP_MD_CTX_free(ctx);
		ctx = EVP_MD_CTX_new();
		ok = ctx != NULL &&
		     EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, pub, NULL) == 1 &&
		     EVP_DigestVerify(ctx, sig, sig_len, msg, sizeof(msg)) == 1;
	}
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* Reads path (absolute) and checks the key against the vector's public.pem. */
static void check_vector_key(const char *path, const char *dir, const hsm_alg_t *alg,
                             unsigned want_alg, const char *md)
{
	hsm_detail_t detail = {0};
	const hsm_alg_t *got = NULL;
	EVP_PKEY *pkey = NULL, *pub = load_public(dir);
	int status;

	CU_ASSERT_FATAL(pub != NULL);
	status = hsm_keyfile_read(path, alg, &pkey, &got, &detail);
	if (status != HSM_OK) {
		fprintf(stderr, "\n    %s: %d %s\n", path, status, detail.text);
	}
	CU_ASSERT_EQUAL_FATAL(status, HSM_OK);
	CU_ASSERT_FATAL(pkey != NULL && got != NULL);
	CU_ASSERT_EQUAL(got->number, want_alg);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(pkey, pub), 1);
	CU_ASSERT(sign_roundtrip(pkey, pub, md));
	EVP_PKEY_free(pkey);
	EVP_PKEY_free(pub);
}

static void test_hsm_keyfile_reads_pem_vectors(void)
{
	check_vector_key(data_path(V_RSA "/private.pem"), V_RSA, NULL, HSM_ALG_RSASHA256, "SHA256");
	check_vector_key(data_path(V_P256 "/private.pem"), V_P256, NULL, HSM_ALG_ECDSAP256SHA256,
	                 "SHA256");
	check_vector_key(data_path(V_ED25519 "/private.pem"), V_ED25519, NULL, HSM_ALG_ED25519,
	                 NULL);
}

static void test_hsm_keyfile_reads_bind_vectors(void)
{
	check_vector_key(data_path(B_RSA), V_RSA, NULL, HSM_ALG_RSASHA256, "SHA256");
	check_vector_key(data_path(B_P256), V_P256, NULL, HSM_ALG_ECDSAP256SHA256, "SHA256");
	check_vector_key(data_path(B_ED25519), V_ED25519, NULL, HSM_ALG_ED25519, NULL);
	/* With the algorithm given, as the BIND file says. */
	check_vector_key(data_path(B_P256), V_P256, hsm_alg_by_number(HSM_ALG_ECDSAP256SHA256),
	                 HSM_ALG_ECDSAP256SHA256, "SHA256");
}

static void test_hsm_keyfile_bind_v13_crlf_and_extra_fields(void)
{
	const char *path = write_text("Kv13.private",
	                              "Private-key-format: v1.3\r\n"
	                              "Algorithm: 15 (ED25519)\r\n"
	                              "PrivateKey: ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=\r\n"
	                              "Created: 20150729220000\r\n"
	                              "Publish: 20150729220000\r\n"
	                              "Activate: 20150729220000\r\n"
	                              "\r\n");

	CU_ASSERT_FATAL(path != NULL);
	check_vector_key(path, V_ED25519, NULL, HSM_ALG_ED25519, NULL);
}

/* Writes the BIND file of a generated EC or EdDSA key. */
static const char *write_bind(const char *name, unsigned alg, const uint8_t *priv, size_t len)
{
	char text[512], b64[256];
	int n;

	EVP_EncodeBlock((unsigned char *)b64, priv, (int)len);
	n = snprintf(text, sizeof(text),
	             "Private-key-format: v1.2\nAlgorithm: %u\nPrivateKey: %s\n", alg, b64);
	OPENSSL_cleanse(b64, sizeof(b64));
	if (n < 0 || (size_t)n >= sizeof(text)) {
		return NULL;
	}
	return write_text(name, text);
}

static const char *write_pem(const char *name, EVP_PKEY *pkey, int traditional)
{
	static char path[512];
	BIO *bio;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	bio = BIO_new_file(path, "w");
	if (bio == NULL) {
		return NULL;
	}
	ok = traditional
	             ? PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL)
	             : PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
	BIO_free(bio);
	return ok == 1 ? path : NULL;
}

static void read_generated(const char *path, EVP_PKEY *want, unsigned want_alg, const char *md)
{
	hsm_detail_t detail = {0};
	const hsm_alg_t *got = NULL;
	EVP_PKEY *pkey = NULL;

	CU_ASSERT_FATAL(path != NULL);
	CU_ASSERT_EQUAL_FATAL(hsm_keyfile_read(path, NULL, &pkey, &got, &detail), HSM_OK);
	CU_ASSERT_EQUAL(got->number, want_alg);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(pkey, want), 1);
	CU_ASSERT(sign_roundtrip(pkey, want, md));
	EVP_PKEY_free(pkey);
}

static void test_hsm_keyfile_rsa_pem_takes_the_given_rsa_algorithm(void)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	const hsm_alg_t *rsasha512 = hsm_alg_by_number(HSM_ALG_RSASHA512);
	const char *path = write_pem("rsa1024.pem", pkey, 0);
	hsm_detail_t detail = {0};
	const hsm_alg_t *got = NULL;
	EVP_PKEY *k = NULL;

	CU_ASSERT_FATAL(pkey != NULL && path != NULL && rsasha512 != NULL);
	CU_ASSERT_EQUAL_FATAL(hsm_keyfile_read(path, rsasha512, &k, &got, &detail), HSM_OK);
	CU_ASSERT_EQUAL(got->number, HSM_ALG_RSASHA512);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(k, pkey), 1);
	CU_ASSERT(sign_roundtrip(k, pkey, "SHA512"));
	EVP_PKEY_free(k);
	/* Without an algorithm, RSA means RSASHA256. */
	read_generated(path, pkey, HSM_ALG_RSASHA256, "SHA256");
	check_vector_key(data_path(V_RSA "/private.pem"), V_RSA,
	                 hsm_alg_by_number(HSM_ALG_RSASHA256), HSM_ALG_RSASHA256, "SHA256");
	EVP_PKEY_free(pkey);
}

static void test_hsm_keyfile_generated_p384_pem_and_bind(void)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	BIGNUM *d = NULL;
	uint8_t priv[48];

	CU_ASSERT_FATAL(pkey != NULL);
	CU_ASSERT_FATAL(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1);
	CU_ASSERT_FATAL(BN_bn2binpad(d, priv, sizeof(priv)) == sizeof(priv));
	read_generated(write_pem("p384.pem", pkey, 0), pkey, HSM_ALG_ECDSAP384SHA384, "SHA384");
	read_generated(write_pem("p384-ec.pem", pkey, 1), pkey, HSM_ALG_ECDSAP384SHA384, "SHA384");
	read_generated(write_bind("p384.private", HSM_ALG_ECDSAP384SHA384, priv, sizeof(priv)),
	               pkey, HSM_ALG_ECDSAP384SHA384, "SHA384");
	OPENSSL_cleanse(priv, sizeof(priv));
	BN_clear_free(d);
	EVP_PKEY_free(pkey);
}

/* ldns writes the EC scalar without its leading zero bytes: a 1-byte
 * scalar 1 is the key whose public point is the generator. */
static void test_hsm_keyfile_bind_short_ec_scalar(void)
{
	static const uint8_t one[] = {1};
	EVP_PKEY *pkey = NULL, *want = NULL;
	const hsm_alg_t *got = NULL;
	hsm_detail_t detail = {0};
	EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_secp384r1);
	uint8_t gen[97];
	size_t gen_len;
	const char *path = write_bind("p384-one.private", HSM_ALG_ECDSAP384SHA384, one, 1);
	OSSL_PARAM params[3];

	CU_ASSERT_FATAL(group != NULL && path != NULL);
	gen_len = EC_POINT_point2oct(group, EC_GROUP_get0_generator(group),
	                             POINT_CONVERSION_UNCOMPRESSED, gen, sizeof(gen), NULL);
	EC_GROUP_free(group);
	CU_ASSERT_FATAL(gen_len == sizeof(gen));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	                                             (char *)"secp384r1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, gen, gen_len);
	params[2] = OSSL_PARAM_construct_end();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	CU_ASSERT_FATAL(ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
	                EVP_PKEY_fromdata(ctx, &want, EVP_PKEY_PUBLIC_KEY, params) == 1);
	EVP_PKEY_CTX_free(ctx);

	CU_ASSERT_EQUAL_FATAL(hsm_keyfile_read(path, NULL, &pkey, &got, &detail), HSM_OK);
	CU_ASSERT_EQUAL(got->number, HSM_ALG_ECDSAP384SHA384);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(pkey, want), 1);
	EVP_PKEY_free(pkey);
	EVP_PKEY_free(want);
}

static void test_hsm_keyfile_generated_ed448_pem_and_bind(void)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	uint8_t priv[57];
	size_t len = sizeof(priv);

	CU_ASSERT_FATAL(pkey != NULL);
	CU_ASSERT_FATAL(EVP_PKEY_get_raw_private_key(pkey, priv, &len) == 1 && len == 57);
	read_generated(write_pem("ed448.pem", pkey, 0), pkey, HSM_ALG_ED448, NULL);
	read_generated(write_bind("ed448.private", HSM_ALG_ED448, priv, len), pkey, HSM_ALG_ED448,
	               NULL);
	OPENSSL_cleanse(priv, sizeof(priv));
	EVP_PKEY_free(pkey);
}

/* Asserts status for path, that the out-params were left alone, and that
 * the detail names the file and (if given) contains what. */
static void expect_fail(const char *path, const hsm_alg_t *alg, int status, const char *what)
{
	static char dummy;
	EVP_PKEY *const sentinel = (EVP_PKEY *)&dummy;
	const hsm_alg_t *const alg_sentinel = (const hsm_alg_t *)&dummy;
	hsm_detail_t detail = {0};
	const hsm_alg_t *got = alg_sentinel;
	EVP_PKEY *pkey = sentinel;

	CU_ASSERT_FATAL(path != NULL);
	ERR_clear_error();
	CU_ASSERT_EQUAL(hsm_keyfile_read(path, alg, &pkey, &got, &detail), status);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0); /* the status says it all */
	CU_ASSERT_PTR_EQUAL(pkey, sentinel);
	CU_ASSERT_PTR_EQUAL(got, alg_sentinel);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail.text, path));
	if (what != NULL && strstr(detail.text, what) == NULL) {
		fprintf(stderr, "\n    detail '%s' lacks '%s'\n", detail.text, what);
		CU_FAIL("detail text");
	}
	/* Without a detail, the status alone. */
	pkey = sentinel;
	CU_ASSERT_EQUAL(hsm_keyfile_read(path, alg, &pkey, &got, NULL), status);
	CU_ASSERT_PTR_EQUAL(pkey, sentinel);
}

static void test_hsm_keyfile_missing_file_is_enoent(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/no-such-key.private", tmpdir);
	expect_fail(path, NULL, -ENOENT, NULL);
}

static void test_hsm_keyfile_garbage_is_keyfile_error(void)
{
	static const uint8_t binary[] = {0x30, 0x82, 0x00, 0x00, 0x02, 0x01};

	expect_fail(write_text("garbage.private", "hello, world\nthis is no key\n"), NULL,
	            HSM_ERR_KEYFILE, "neither");
	expect_fail(write_text("empty.private", ""), NULL, HSM_ERR_KEYFILE, NULL);
	expect_fail(write_tmp("binary.der", binary, sizeof(binary)), NULL, HSM_ERR_KEYFILE, NULL);
	expect_fail(write_text("bad.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n"
	                                  "-----END PRIVATE KEY-----\n"),
	            NULL, HSM_ERR_KEYFILE, "no private key");
	/* A public key is not a private key. */
	expect_fail(data_path(V_P256 "/public.pem"), NULL, HSM_ERR_KEYFILE, "no private key");
	expect_fail(tmpdir, NULL, HSM_ERR_KEYFILE, "regular file");
}

static void test_hsm_keyfile_encrypted_pem_is_refused_without_prompt(void)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char path[512];
	BIO *bio;

	CU_ASSERT_FATAL(pkey != NULL);
	snprintf(path, sizeof(path), "%s/encrypted.pem", tmpdir);
	bio = BIO_new_file(path, "w");
	CU_ASSERT_FATAL(bio != NULL);
	CU_ASSERT_FATAL(PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_128_cbc(), "secret", 6,
	                                              NULL, NULL) == 1);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	expect_fail(path, NULL, HSM_ERR_KEYFILE, "encrypted");
}

static void test_hsm_keyfile_bind_unknown_algorithm(void)
{
	expect_fail(write_text("rsasha1.private", "Private-key-format: v1.2\n"
	                                          "Algorithm: 5 (RSASHA1)\n"
	                                          "Modulus: AQAB\n"),
	            NULL, HSM_ERR_ALGORITHM, ":2: unsupported algorithm 5");
	expect_fail(write_text("alg253.private", "Private-key-format: v1.3\n\n"
	                                         "Algorithm: 253 (PRIVATEDNS)\n"),
	            NULL, HSM_ERR_ALGORITHM, ":3: unsupported algorithm 253");
	expect_fail(write_text("algtext.private", "Private-key-format: v1.2\n"
	                                          "Algorithm: ED25519\n"),
	            NULL, HSM_ERR_KEYFILE, ":2: malformed Algorithm");
}

static void test_hsm_keyfile_bind_missing_field(void)
{
	expect_fail(write_edited("noprime2.private", B_RSA,
	                         "Prime2: 2zZpBE8ZXVnL74QjG4zINlDfH+EOEtjJJ3RtaYDugvE=\n", ""),
	            NULL, HSM_ERR_KEYFILE, "missing field Prime2");
	expect_fail(write_edited("nocoeff.private", B_RSA, "Coefficient:", "Coefficent:"), NULL,
	            HSM_ERR_KEYFILE, "missing field Coefficient");
	expect_fail(write_edited("nopriv.private", B_P256, "PrivateKey:", "Private:"), NULL,
	            HSM_ERR_KEYFILE, "missing field PrivateKey");
	expect_fail(write_edited("noalg.private", B_ED25519, "Algorithm: 15 (ED25519)\n", ""), NULL,
	            HSM_ERR_KEYFILE, "missing field Algorithm");
}

static void test_hsm_keyfile_algorithm_disagreeing_with_file(void)
{
	const hsm_alg_t *p256 = hsm_alg_by_number(HSM_ALG_ECDSAP256SHA256);
	const hsm_alg_t *ed25519 = hsm_alg_by_number(HSM_ALG_ED25519);
	const hsm_alg_t *ed448 = hsm_alg_by_number(HSM_ALG_ED448);
	const hsm_alg_t *p384 = hsm_alg_by_number(HSM_ALG_ECDSAP384SHA384);

	CU_ASSERT_FATAL(p256 && ed25519 && ed448 && p384);
	expect_fail(data_path(B_ED25519), p256, HSM_ERR_ALGORITHM, ":2: algorithm 15");
	expect_fail(data_path(B_RSA), ed25519, HSM_ERR_ALGORITHM, ":2: algorithm 8");
	expect_fail(data_path(B_RSA), hsm_alg_by_number(HSM_ALG_RSASHA512), HSM_ERR_ALGORITHM,
	            NULL);
	expect_fail(data_path(V_P256 "/private.pem"), ed25519, HSM_ERR_ALGORITHM, NULL);
	expect_fail(data_path(V_P256 "/private.pem"), p384, HSM_ERR_ALGORITHM, NULL);
	expect_fail(data_path(V_RSA "/private.pem"), p256, HSM_ERR_ALGORITHM, NULL);
	expect_fail(data_path(V_ED25519 "/private.pem"), ed448, HSM_ERR_ALGORITHM, NULL);
}

static void test_hsm_keyfile_truncated_base64(void)
{
	/* Cut mid-group, and cut to a shorter whole number of groups. */
	expect_fail(write_edited("trunc1.private", B_ED25519, "NDIyNjI=", "NDIyNj"), NULL,
	            HSM_ERR_KEYFILE, ":3: PrivateKey is not valid base64");
	expect_fail(write_edited("trunc2.private", B_ED25519, "NDIyNjI=", ""), NULL,
	            HSM_ERR_KEYFILE, ":3: PrivateKey has 27 bytes");
	expect_fail(write_edited("trunc3.private", B_RSA,
	                         "ZGPmuJm2TIadubcO8X7V4y07aVhX464tx8Q=", "ZGPmuJm2TIadubcO8X7V4y"),
	            NULL, HSM_ERR_KEYFILE, ":10: Coefficient is not valid base64");
	expect_fail(write_edited("badchar.private", B_P256, "GU6SnQ", "GU6S!Q"), NULL,
	            HSM_ERR_KEYFILE, ":3: PrivateKey is not valid base64");
	expect_fail(write_edited("emptyval.private", B_P256,
	                         "GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=", ""),
	            NULL, HSM_ERR_KEYFILE, ":3: PrivateKey is not valid base64");
}

static void test_hsm_keyfile_bind_format_and_syntax_errors(void)
{
	expect_fail(write_edited("v20.private", B_ED25519, "v1.2", "v2.0"), NULL, HSM_ERR_KEYFILE,
	            ":1: unsupported Private-key-format");
	expect_fail(write_edited("dup.private", B_ED25519, "Algorithm: 15 (ED25519)\n",
	                         "Algorithm: 15 (ED25519)\nAlgorithm: 15\n"),
	            NULL, HSM_ERR_KEYFILE, ":3: Algorithm repeated (first on line 2)");
	expect_fail(write_edited("nocolon.private", B_ED25519, "Algorithm:", "Algorithm"), NULL,
	            HSM_ERR_KEYFILE, ":2: expected 'Field: value'");
}

static void test_hsm_keyfile_bad_ec_and_eddsa_scalars(void)
{
	/* 33 bytes; all ones (above the group order); zero. */
	expect_fail(write_edited("p256long.private", B_P256,
	                         "GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=",
	                         "AGU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ"),
	            NULL, HSM_ERR_KEYFILE, "PrivateKey has 33 bytes");
	expect_fail(write_edited("p256big.private", B_P256,
	                         "GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=",
	                         "//////////////////////////////////////////8="),
	            NULL, HSM_ERR_KEYFILE, "out of range");
	expect_fail(write_edited("p256zero.private", B_P256,
	                         "GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=",
	                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
	            NULL, HSM_ERR_KEYFILE, "out of range");
	expect_fail(write_edited("ed25519long.private", B_ED25519,
	                         "ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=",
	                         "ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjIx"),
	            NULL, HSM_ERR_KEYFILE, "PrivateKey has 33 bytes");
}

static void test_hsm_keyfile_inconsistent_rsa_key_is_refused(void)
{
	/* Another modulus (last base64 group changed), same primes. */
	expect_fail(write_edited("rsamod.private", B_RSA, "SY5t2Q==", "SY5t2w=="), NULL,
	            HSM_ERR_KEYFILE, "inconsistent key");
}

static void test_hsm_keyfile_rsa_size_out_of_range_is_key_type(void)
{
	/* p = 61, q = 53, n = 3233, e = 17, d = 413: a 12-bit toy key. */
	expect_fail(write_text("toy.private", "Private-key-format: v1.2\n"
	                                      "Algorithm: 8 (RSASHA256)\n"
	                                      "Modulus: DKE=\n"
	                                      "PublicExponent: EQ==\n"
	                                      "PrivateExponent: AZ0=\n"
	                                      "Prime1: PQ==\n"
	                                      "Prime2: NQ==\n"
	                                      "Exponent1: NQ==\n"
	                                      "Exponent2: MQ==\n"
	                                      "Coefficient: Jg==\n"),
	            NULL, HSM_ERR_KEY_TYPE, "12 bits");
}

/* 512 bits cannot hold PKCS#1 v1.5 padding around a SHA-512 DigestInfo. */
static void test_hsm_keyfile_rsa_too_small_for_sha512_is_key_type(void)
{
	expect_fail(data_path(V_RSA "/private.pem"), hsm_alg_by_number(HSM_ALG_RSASHA512),
	            HSM_ERR_KEY_TYPE, "too small for RSASHA512");
	expect_fail(write_edited("rsa512-10.private", B_RSA, "Algorithm: 8 (RSASHA256)",
	                         "Algorithm: 10 (RSASHA512)"),
	            NULL, HSM_ERR_KEY_TYPE,
	            ":3: RSA modulus of 512 bits is too small for RSASHA512");
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static const testutil_case_t cases[] = {
        {"test_hsm_keyfile_reads_pem_vectors", test_hsm_keyfile_reads_pem_vectors},
        {"test_hsm_keyfile_reads_bind_vectors", test_hsm_keyfile_reads_bind_vectors},
        {"test_hsm_keyfile_rsa_pem_takes_the_given_rsa_algorithm",
         test_hsm_keyfile_rsa_pem_takes_the_given_rsa_algorithm},
        {"test_hsm_keyfile_bind_v13_crlf_and_extra_fields",
         test_hsm_keyfile_bind_v13_crlf_and_extra_fields},
        {"test_hsm_keyfile_generated_p384_pem_and_bind",
         test_hsm_keyfile_generated_p384_pem_and_bind},
        {"test_hsm_keyfile_bind_short_ec_scalar", test_hsm_keyfile_bind_short_ec_scalar},
        {"test_hsm_keyfile_generated_ed448_pem_and_bind",
         test_hsm_keyfile_generated_ed448_pem_and_bind},
        {"test_hsm_keyfile_missing_file_is_enoent", test_hsm_keyfile_missing_file_is_enoent},
        {"test_hsm_keyfile_garbage_is_keyfile_error", test_hsm_keyfile_garbage_is_keyfile_error},
        {"test_hsm_keyfile_encrypted_pem_is_refused_without_prompt",
         test_hsm_keyfile_encrypted_pem_is_refused_without_prompt},
        {"test_hsm_keyfile_bind_unknown_algorithm", test_hsm_keyfile_bind_unknown_algorithm},
        {"test_hsm_keyfile_bind_missing_field", test_hsm_keyfile_bind_missing_field},
        {"test_hsm_keyfile_algorithm_disagreeing_with_file",
         test_hsm_keyfile_algorithm_disagreeing_with_file},
        {"test_hsm_keyfile_truncated_base64", test_hsm_keyfile_truncated_base64},
        {"test_hsm_keyfile_bind_format_and_syntax_errors",
         test_hsm_keyfile_bind_format_and_syntax_errors},
        {"test_hsm_keyfile_bad_ec_and_eddsa_scalars", test_hsm_keyfile_bad_ec_and_eddsa_scalars},
        {"test_hsm_keyfile_inconsistent_rsa_key_is_refused",
         test_hsm_keyfile_inconsistent_rsa_key_is_refused},
        {"test_hsm_keyfile_rsa_size_out_of_range_is_key_type",
         test_hsm_keyfile_rsa_size_out_of_range_is_key_type},
        {"test_hsm_keyfile_rsa_too_small_for_sha512_is_key_type",
         test_hsm_keyfile_rsa_too_small_for_sha512_is_key_type},
        {NULL, NULL},
};

int main(void)
{
	int failed;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	failed = testutil_run("hsm_keyfile", cases);
	nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	return failed;
}
