#include "hsm/hsm_key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/hsm_ctx.h"
#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_sign.h"
#include "tests/support/testutil.h"
#include "tests/support/testutil_hsm.h"

static hsm_ctx_t *ctx;

static hsm_token_t *token(void)
{
	return hsm_ctx_token(ctx, "main");
}

static size_t key_count(void)
{
	hsm_key_t *keys = NULL;
	size_t n = 0;
	CU_ASSERT_EQUAL_FATAL(hsm_key_list(token(), &keys, &n, NULL), HSM_OK);
	free(keys);
	return n;
}

/* Generates a key, signs two messages, verifies them with OpenSSL. */
static void keygen_sign_verify(const char *alg_name, unsigned bits)
{
	const hsm_alg_t *alg = hsm_alg_by_name(alg_name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(alg);
	char label[64];
	snprintf(label, sizeof(label), "kv-%s-%u", alg_name, bits);
	hsm_key_t key;
	hsm_detail_t d = {0};
	int ret = hsm_key_generate(token(), alg, bits, label, &key, &d);
	CU_ASSERT_EQUAL_FATAL(ret, HSM_OK);
	CU_ASSERT_EQUAL(key.id_len, HSM_KEY_ID_LEN);
	CU_ASSERT_STRING_EQUAL(key.label, label);
	CU_ASSERT(key.local);
	CU_ASSERT_PTR_EQUAL(key.alg, alg);
	if (bits != 0) {
		CU_ASSERT_EQUAL(key.bits, bits);
	}

	hsm_session_t *s = NULL;
	CU_ASSERT_EQUAL_FATAL(hsm_session_acquire(token(), &s, NULL), HSM_OK);
	uint8_t data[300], sig[HSM_SIG_MAX];
	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)(i * 7);
	}
	for (int round = 0; round < 2; round++) {
		size_t sig_len = 0;
		data[0] = (uint8_t)round;
		CU_ASSERT_EQUAL(hsm_sign(s, &key, alg, data, sizeof(data), sig, sizeof(sig),
		                         &sig_len, NULL),
		                HSM_OK);
		CU_ASSERT_EQUAL(testutil_hsm_verify(&key, alg, data, sizeof(data), sig, sig_len),
		                HSM_OK);
		if (alg->keytype == HSM_KEYTYPE_EC) {
			CU_ASSERT_EQUAL(sig_len, alg->point_len); /* r||s */
		} else if (alg->keytype == HSM_KEYTYPE_EDDSA) {
			CU_ASSERT_EQUAL(sig_len, 2 * alg->point_len); /* R||S */
		} else {
			CU_ASSERT_EQUAL(sig_len, key.bits / 8);
		}
		/* A different message must not verify. */
		data[1] ^= 1;
		CU_ASSERT_EQUAL(testutil_hsm_verify(&key, alg, data, sizeof(data), sig, sig_len),
		                HSM_ERR_VERIFY);
		data[1] ^= 1;
	}
	hsm_session_release(s);
}

static void test_hsm_key_ecdsap256(void)
{
	keygen_sign_verify("ECDSAP256SHA256", 0);
}

static void test_hsm_key_ecdsap384(void)
{
	keygen_sign_verify("ECDSAP384SHA384", 0);
}

static void test_hsm_key_ed25519(void)
{
	keygen_sign_verify("ED25519", 0);
}

static void test_hsm_key_ed448(void)
{
	keygen_sign_verify("ED448", 0);
}

static void test_hsm_key_rsasha256_sizes(void)
{
	keygen_sign_verify("RSASHA256", 2048);
	keygen_sign_verify("RSASHA256", 3072);
	keygen_sign_verify("RSASHA256", 4096);
}

static void test_hsm_key_rsasha512(void)
{
	keygen_sign_verify("RSASHA512", 2048);
}

/* Reads attributes of the private key through the raw function list. */
typedef struct {
	CK_ATTRIBUTE_TYPE secret; /* CKA_VALUE or CKA_PRIVATE_EXPONENT */
	CK_RV secret_rv;
	CK_BBOOL flags[9];
} attr_arg_t;

static const CK_ATTRIBUTE_TYPE flag_types[9] = {
        CKA_TOKEN,   CKA_PRIVATE, CKA_SENSITIVE,        CKA_EXTRACTABLE,       CKA_SIGN,
        CKA_DECRYPT, CKA_LOCAL,   CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE,
};

static const hsm_key_t *attr_key;

static CK_RV attr_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                     const char **func)
{
	(void)attempt;
	attr_arg_t *a = arg;
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(s));
	CK_OBJECT_HANDLE obj;
	bool found = false;
	*func = "find";
	CK_RV rv = hsm_session_find(s, h, CKO_PRIVATE_KEY, attr_key->id, attr_key->id_len, &obj,
	                            &found);
	if (rv != CKR_OK || !found) {
		return rv != CKR_OK ? rv : HSM_SESSION_RV_NO_KEY;
	}
	uint8_t buf[1024];
	CK_ATTRIBUTE secret = {a->secret, buf, sizeof(buf)};
	a->secret_rv = fn->C_GetAttributeValue(h, obj, &secret, 1);
	CK_ATTRIBUTE t[9];
	for (int i = 0; i < 9; i++) {
		t[i] = (CK_ATTRIBUTE){flag_types[i], &a->flags[i], sizeof(CK_BBOOL)};
	}
	*func = "C_GetAttributeValue";
	return fn->C_GetAttributeValue(h, obj, t, 9);
}

static void assert_private_attributes(const char *alg_name, CK_ATTRIBUTE_TYPE secret)
{
	hsm_key_t key;
	CU_ASSERT_EQUAL_FATAL(
	        hsm_key_generate(token(), hsm_alg_by_name(alg_name), 0, "attrs", &key, NULL),
	        HSM_OK);
	attr_key = &key;
	attr_arg_t a = {.secret = secret};
	hsm_session_t *s = NULL;
	CU_ASSERT_EQUAL_FATAL(hsm_session_acquire(token(), &s, NULL), HSM_OK);
	CU_ASSERT_EQUAL(hsm_session_run(s, attr_op, &a, NULL), HSM_OK);
	hsm_session_release(s);
	CU_ASSERT_EQUAL(a.secret_rv, CKR_ATTRIBUTE_SENSITIVE);
	const CK_BBOOL expect[9] = {CK_TRUE,  CK_TRUE, CK_TRUE, CK_FALSE, CK_TRUE,
	                            CK_FALSE, CK_TRUE, CK_TRUE, CK_TRUE};
	for (int i = 0; i < 9; i++) {
		if (a.flags[i] != expect[i]) {
			fprintf(stderr, "attribute 0x%lx is %d\n", (unsigned long)flag_types[i],
			        a.flags[i]);
		}
		CU_ASSERT_EQUAL(a.flags[i], expect[i]);
	}
	CU_ASSERT_EQUAL(hsm_key_delete(&key, NULL), HSM_OK);
}

static void test_hsm_key_private_keys_are_sensitive_and_not_extractable(void)
{
	assert_private_attributes("ECDSAP256SHA256", CKA_VALUE);
	assert_private_attributes("ED25519", CKA_VALUE);
	assert_private_attributes("RSASHA256", CKA_PRIVATE_EXPONENT);
}

static void test_hsm_key_find_by_id_label_and_uri(void)
{
	hsm_key_t key, found;
	CU_ASSERT_EQUAL_FATAL(
	        hsm_key_generate(token(), hsm_alg_by_number(13), 0, "find-me", &key, NULL), HSM_OK);
	char hex[2 * HSM_KEY_ID_MAX + 1];
	hsm_key_id_hex(&key, hex, sizeof(hex));
	CU_ASSERT_EQUAL(strlen(hex), 32);

	memset(&found, 0, sizeof(found));
	CU_ASSERT_EQUAL(hsm_key_find(ctx, hex, &found, NULL), HSM_OK);
	CU_ASSERT(memcmp(found.id, key.id, key.id_len) == 0);
	CU_ASSERT_STRING_EQUAL(found.label, "find-me");
	CU_ASSERT(found.has_public);
	CU_ASSERT(found.local);
	CU_ASSERT_EQUAL(found.bits, 256);

	memset(&found, 0, sizeof(found));
	CU_ASSERT_EQUAL(hsm_key_find(ctx, "find-me", &found, NULL), HSM_OK);
	CU_ASSERT(memcmp(found.id, key.id, key.id_len) == 0);

	char uri[256];
	snprintf(uri, sizeof(uri), "pkcs11:token=keys;object=find-me;type=private");
	memset(&found, 0, sizeof(found));
	CU_ASSERT_EQUAL(hsm_key_find(ctx, uri, &found, NULL), HSM_OK);
	CU_ASSERT(memcmp(found.id, key.id, key.id_len) == 0);

	char id_uri[256] = "pkcs11:id=";
	for (size_t i = 0; i < key.id_len; i++) {
		snprintf(id_uri + strlen(id_uri), sizeof(id_uri) - strlen(id_uri), "%%%02x",
		         key.id[i]);
	}
	memset(&found, 0, sizeof(found));
	CU_ASSERT_EQUAL(hsm_key_find(ctx, id_uri, &found, NULL), HSM_OK);
	CU_ASSERT_STRING_EQUAL(found.label, "find-me");

	/* A URI for another token finds nothing. */
	hsm_detail_t d = {0};
	CU_ASSERT_EQUAL(hsm_key_find(ctx, "pkcs11:token=other;object=find-me", &found, &d),
	                HSM_ERR_NO_KEY);
	CU_ASSERT_EQUAL(hsm_key_find(ctx, "no-such-key", &found, &d), HSM_ERR_NO_KEY);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "no key matches no-such-key"));
	CU_ASSERT_EQUAL(hsm_key_find(ctx, "pkcs11:token=keys", &found, &d), HSM_ERR_URI);
	CU_ASSERT_EQUAL(hsm_key_find(ctx, "pkcs11:object=%zz", &found, &d), HSM_ERR_URI);
	CU_ASSERT_EQUAL(hsm_key_delete(&key, NULL), HSM_OK);
}

static void test_hsm_key_label_matching_several_is_refused(void)
{
	hsm_key_t a, b, found;
	CU_ASSERT_EQUAL_FATAL(hsm_key_generate(token(), hsm_alg_by_number(13), 0, "twin", &a, NULL),
	                      HSM_OK);
	CU_ASSERT_EQUAL_FATAL(hsm_key_generate(token(), hsm_alg_by_number(13), 0, "twin", &b, NULL),
	                      HSM_OK);
	hsm_detail_t d = {0};
	CU_ASSERT_EQUAL(hsm_key_find(ctx, "twin", &found, &d), HSM_ERR_MANY_KEYS);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "several keys match twin (2)"));
	CU_ASSERT_EQUAL(hsm_key_delete(&a, NULL), HSM_OK);
	CU_ASSERT_EQUAL(hsm_key_find(ctx, "twin", &found, NULL), HSM_OK);
	CU_ASSERT(memcmp(found.id, b.id, b.id_len) == 0);
	CU_ASSERT_EQUAL(hsm_key_delete(&b, NULL), HSM_OK);
}

static void test_hsm_key_delete_removes_both_objects(void)
{
	size_t before = key_count();
	hsm_key_t key;
	CU_ASSERT_EQUAL_FATAL(
	        hsm_key_generate(token(), hsm_alg_by_number(15), 0, "doomed", &key, NULL), HSM_OK);
	CU_ASSERT_EQUAL(key_count(), before + 1);
	CU_ASSERT_EQUAL(hsm_key_delete(&key, NULL), HSM_OK);
	CU_ASSERT_EQUAL(key_count(), before);
	/* The public key is gone too. */
	uint8_t pub[HSM_DNSKEY_PUBKEY_MAX];
	size_t len = 0;
	CU_ASSERT_EQUAL(hsm_key_dnskey_pubkey(&key, NULL, pub, sizeof(pub), &len, NULL),
	                HSM_ERR_NO_KEY);
	CU_ASSERT_EQUAL(hsm_key_delete(&key, NULL), HSM_ERR_NO_KEY);
	/* Signing with a deleted key is a clear error, not a retry loop. */
	hsm_session_t *s = NULL;
	CU_ASSERT_EQUAL_FATAL(hsm_session_acquire(token(), &s, NULL), HSM_OK);
	uint8_t sig[HSM_SIG_MAX];
	size_t sig_len = 0;
	CU_ASSERT_EQUAL(hsm_sign(s, &key, NULL, pub, 10, sig, sizeof(sig), &sig_len, NULL),
	                HSM_ERR_NO_KEY);
	hsm_session_release(s);
}

static void test_hsm_key_bad_generation_requests(void)
{
	size_t before = key_count();
	hsm_key_t key;
	hsm_detail_t d = {0};
	CU_ASSERT_EQUAL(hsm_key_generate(token(), hsm_alg_by_number(8), 1024, "small", &key, &d),
	                HSM_ERR_KEY_TYPE);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "2048, 3072 or 4096"));
	CU_ASSERT_EQUAL(hsm_key_generate(token(), NULL, 0, "none", &key, &d), HSM_ERR_ALGORITHM);
	char label[200];
	memset(label, 'x', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	CU_ASSERT_EQUAL(hsm_key_generate(token(), hsm_alg_by_number(13), 0, label, &key, &d),
	                HSM_ERR_INVAL);
	CU_ASSERT_EQUAL(key_count(), before);
}

static void test_hsm_key_rsa_key_serves_both_rsa_algorithms(void)
{
	hsm_key_t key;
	CU_ASSERT_EQUAL_FATAL(
	        hsm_key_generate(token(), hsm_alg_by_number(10), 2048, "rsa-both", &key, NULL),
	        HSM_OK);
	uint8_t pub[HSM_DNSKEY_PUBKEY_MAX];
	size_t len = 0;
	CU_ASSERT_EQUAL(
	        hsm_key_dnskey_pubkey(&key, hsm_alg_by_number(8), pub, sizeof(pub), &len, NULL),
	        HSM_OK);
	/* RFC 3110: exponent length 3, exponent 65537, then the modulus. */
	CU_ASSERT_EQUAL(len, 1 + 3 + 256);
	CU_ASSERT(pub[0] == 3 && pub[1] == 1 && pub[2] == 0 && pub[3] == 1);
	/* An RSA key cannot serve an EC algorithm. */
	CU_ASSERT_EQUAL(
	        hsm_key_dnskey_pubkey(&key, hsm_alg_by_number(13), pub, sizeof(pub), &len, NULL),
	        HSM_ERR_ALGORITHM);
	CU_ASSERT_EQUAL(hsm_key_delete(&key, NULL), HSM_OK);
}

static void test_hsm_key_ed25519_signs_long_messages(void)
{
	hsm_key_t key;
	CU_ASSERT_EQUAL_FATAL(
	        hsm_key_generate(token(), hsm_alg_by_number(15), 0, "long", &key, NULL), HSM_OK);
	size_t len = 65535 + 300; /* a maximal RRset */
	uint8_t *data = calloc(1, len), sig[HSM_SIG_MAX];
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	hsm_session_t *s = NULL;
	CU_ASSERT_EQUAL_FATAL(hsm_session_acquire(token(), &s, NULL), HSM_OK);
	size_t sig_len = 0;
	CU_ASSERT_EQUAL(hsm_sign(s, &key, NULL, data, len, sig, sizeof(sig), &sig_len, NULL),
	                HSM_OK);
	CU_ASSERT_EQUAL(testutil_hsm_verify(&key, NULL, data, len, sig, sig_len), HSM_OK);
	hsm_session_release(s);
	free(data);
	CU_ASSERT_EQUAL(hsm_key_delete(&key, NULL), HSM_OK);
}

/* A token configured for combined (hash-and-sign) mechanisms. */
static void test_hsm_key_combined_mechanisms(void)
{
	hsm_token_config_t c = {
	        .name = "combined",
	        .module = testutil_softhsm_path(),
	        .uri = "pkcs11:token=keys",
	        .pin_file = testutil_pin_file("pin", "1234"),
	        .combined_mech = true,
	};
	hsm_ctx_t *cctx = NULL;
	CU_ASSERT_EQUAL_FATAL(hsm_ctx_new(&c, 1, &cctx, NULL), HSM_OK);
	hsm_token_t *t = hsm_ctx_token(cctx, "combined");
	/* SoftHSM 2.6 has no CKM_ECDSA_SHA256/384: a token without a mechanism
	 * is reported by name before anything is generated. */
	size_t before = key_count();
	hsm_key_t none;
	hsm_detail_t md = {0};
	CU_ASSERT_EQUAL(hsm_key_generate(t, hsm_alg_by_number(13), 0, "comb", &none, &md),
	                HSM_ERR_MECHANISM);
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(md.text, "lacks CKM_ECDSA_SHA256, needed for ECDSAP256SHA256"));
	CU_ASSERT_EQUAL(key_count(), before);
	const unsigned algs[] = {8, 10};
	for (size_t i = 0; i < 2; i++) {
		const hsm_alg_t *alg = hsm_alg_by_number(algs[i]);
		hsm_key_t key;
		hsm_detail_t d = {0};
		int ret = hsm_key_generate(t, alg, 0, "comb", &key, &d);
		if (ret != HSM_OK) {
			char buf[256];
			fprintf(stderr, "%s\n", hsm_detail_format(ret, &d, buf, sizeof(buf)));
		}
		CU_ASSERT_EQUAL_FATAL(ret, HSM_OK);
		hsm_session_t *s = NULL;
		CU_ASSERT_EQUAL_FATAL(hsm_session_acquire(t, &s, NULL), HSM_OK);
		uint8_t data[100] = {1, 2, 3}, sig[HSM_SIG_MAX];
		size_t sig_len = 0;
		CU_ASSERT_EQUAL(hsm_sign(s, &key, alg, data, sizeof(data), sig, sizeof(sig),
		                         &sig_len, NULL),
		                HSM_OK);
		CU_ASSERT_EQUAL(testutil_hsm_verify(&key, alg, data, sizeof(data), sig, sig_len),
		                HSM_OK);
		hsm_session_release(s);
		CU_ASSERT_EQUAL(hsm_key_delete(&key, NULL), HSM_OK);
	}
	hsm_ctx_free(cctx);
}

int main(void)
{
	static const char *const labels[] = {"keys"};
	testutil_token_create(labels, 1);
	ctx = testutil_hsm_ctx("keys", NULL, 0);
	static const testutil_case_t cases[] = {
	        {"test_hsm_key_ecdsap256", test_hsm_key_ecdsap256},
	        {"test_hsm_key_ecdsap384", test_hsm_key_ecdsap384},
	        {"test_hsm_key_ed25519", test_hsm_key_ed25519},
	        {"test_hsm_key_ed448", test_hsm_key_ed448},
	        {"test_hsm_key_rsasha256_sizes", test_hsm_key_rsasha256_sizes},
	        {"test_hsm_key_rsasha512", test_hsm_key_rsasha512},
	        {"test_hsm_key_private_keys_are_sensitive_and_not_extractable",
	         test_hsm_key_private_keys_are_sensitive_and_not_extractable},
	        {"test_hsm_key_find_by_id_label_and_uri", test_hsm_key_find_by_id_label_and_uri},
	        {"test_hsm_key_label_matching_several_is_refused",
	         test_hsm_key_label_matching_several_is_refused},
	        {"test_hsm_key_delete_removes_both_objects",
	         test_hsm_key_delete_removes_both_objects},
	        {"test_hsm_key_bad_generation_requests", test_hsm_key_bad_generation_requests},
	        {"test_hsm_key_rsa_key_serves_both_rsa_algorithms",
	         test_hsm_key_rsa_key_serves_both_rsa_algorithms},
	        {"test_hsm_key_ed25519_signs_long_messages",
	         test_hsm_key_ed25519_signs_long_messages},
	        {"test_hsm_key_combined_mechanisms", test_hsm_key_combined_mechanisms},
	        {NULL, NULL},
	};
	int failed = testutil_run("hsm_key", cases);
	hsm_ctx_free(ctx);
	testutil_token_cleanup();
	return failed;
}
