#include "signer/sign/sign_zone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/hsm_ctx.h"
#include "hsm/hsm_key.h"
#include "signer/sign/sign_error.h"
#include "signer/sign/sign_verify.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_load.h"
#include "tests/support/testutil.h"
#include "tests/support/testutil_hsm.h"

static hsm_ctx_t *ctx;
static sign_keyset_t keys; /* KSK + ZSK, ECDSA P-256 */
static uint8_t apex[DNAME_MAXLEN];
static char messages[4096];

static const char zone_text[] = "$ORIGIN example.\n$TTL 3600\n"
                                "@ SOA ns1 hostmaster 100 7200 3600 1209600 300\n"
                                "@ NS ns1\n"
                                "ns1 A 192.0.2.1\n"
                                "www A 192.0.2.2\n"
                                "sub NS ns.sub\n"
                                "ns.sub A 192.0.2.3\n"
                                "*.w TXT \"x\"\n";

static void report(void *arg, sign_zone_level_t level, const char *msg)
{
	(void)arg;
	(void)level;
	strncat(messages, msg, sizeof(messages) - strlen(messages) - 2);
	strcat(messages, "\n");
}

static zone_t *load(const char *text)
{
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(
	        zone_load_text(text, strlen(text), "test", apex, 3600, NULL, NULL, &z), 0);
	return z;
}

static sign_zone_params_t params(int64_t now)
{
	sign_zone_params_t p;
	memset(&p, 0, sizeof(p));
	p.timing = (sign_plan_timing_t){.now = now,
	                                .inception_offset = 3600,
	                                .validity = 14 * 86400,
	                                .refresh = 5 * 86400,
	                                .jitter = 3600};
	p.serial = ZONE_SERIAL_INCREMENT;
	p.threads = 2;
	p.verify_crypto = true;
	p.report = report;
	return p;
}

static void test_sign_zone_signs_and_verifies(void)
{
	zone_t *z = load(zone_text), *s = NULL;
	sign_zone_params_t p = params(1800000000);
	sign_zone_stats_t st;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, NULL, &keys, &p, &s, &st), SIGN_OK);
	/* SOA NS DNSKEY NSEC at the apex; A NSEC at ns1, www; DS-less cut: NSEC
	 * only; the wildcard TXT NSEC: 11 RRsets, all created, all verified. */
	CU_ASSERT_EQUAL(st.rrsets, 11);
	CU_ASSERT_EQUAL(st.created, 11); /* one each: DNSKEY by the KSK, the rest by the ZSK */
	CU_ASSERT_EQUAL(st.reused, 0);
	CU_ASSERT_EQUAL(st.verified, st.created);
	CU_ASSERT_EQUAL(st.serial, 101);
	sign_verify_config_t cfg = {.now = 1800000000, .refresh = 5 * 86400};
	sign_verify_counts_t counts = {0};
	CU_ASSERT_EQUAL(sign_verify_zone(s, &cfg,
	                                 SIGN_VERIFY_CHECK_COVERAGE | SIGN_VERIFY_CHECK_ALL |
	                                         SIGN_VERIFY_CHECK_CHAIN,
	                                 NULL, 0, &counts),
	                SIGN_OK);
	CU_ASSERT_EQUAL(counts.failures, 0);
	zone_free(s);
	zone_free(z);
}

static void test_sign_zone_reuses_what_did_not_change(void)
{
	zone_t *z = load(zone_text), *s1 = NULL, *s2 = NULL, *s3 = NULL;
	sign_zone_params_t p = params(1800000000);
	sign_zone_stats_t st;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, NULL, &keys, &p, &s1, &st), SIGN_OK);
	/* A day later, nothing changed but the serial: only the SOA is signed. */
	p.timing.now += 86400;
	p.have_previous_serial = true;
	p.previous_serial = st.serial;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, s1, &keys, &p, &s2, &st), SIGN_OK);
	CU_ASSERT_EQUAL(st.created, 1);
	CU_ASSERT_EQUAL(st.reused, 10);
	CU_ASSERT_EQUAL(st.serial, 102);
	/* www changes: its A, the SOA; the NSEC chain is the same. */
	zone_t *z2 = load("$ORIGIN example.\n$TTL 3600\n"
	                  "@ SOA ns1 hostmaster 100 7200 3600 1209600 300\n"
	                  "@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.99\n"
	                  "sub NS ns.sub\nns.sub A 192.0.2.3\n*.w TXT \"x\"\n");
	p.previous_serial = st.serial;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z2, s2, &keys, &p, &s3, &st), SIGN_OK);
	CU_ASSERT_EQUAL(st.created, 2);
	CU_ASSERT_EQUAL(st.reused, 9);
	CU_ASSERT_EQUAL(st.verified, 2);
	/* Past the refresh point everything is signed again. */
	zone_t *s4 = NULL;
	p.timing.now += 12 * 86400;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z2, s3, &keys, &p, &s4, &st), SIGN_OK);
	CU_ASSERT_EQUAL(st.reused, 0);
	CU_ASSERT_EQUAL(st.created, 11);
	zone_free(s4);
	zone_free(s3);
	zone_free(z2);
	zone_free(s2);
	zone_free(s1);
	zone_free(z);
}

static void test_sign_zone_bad_timing_and_missing_key(void)
{
	zone_t *z = load(zone_text), *s = NULL;
	sign_zone_params_t p = params(1800000000);
	p.timing.validity = 3600; /* not above inception offset + refresh */
	sign_zone_stats_t st;
	messages[0] = '\0';
	CU_ASSERT_EQUAL(sign_zone(z, NULL, &keys, &p, &s, &st), SIGN_ERR_TIMING);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(messages, "validity"));
	/* A key deleted from the token: every signature it should make fails,
	 * each reported with its RRset and key, and nothing comes out. */
	hsm_key_t gone;
	CU_ASSERT_EQUAL_FATAL(hsm_key_generate(hsm_ctx_token(ctx, "main"), hsm_alg_by_number(13), 0,
	                                       "gone", &gone, NULL),
	                      HSM_OK);
	sign_keyset_t ks;
	sign_keyset_init(&ks);
	CU_ASSERT_EQUAL(sign_keyset_add(&ks, &keys.keys[0].key, NULL, SIGN_ROLE_KSK, true, true,
	                                false, false, NULL),
	                HSM_OK);
	CU_ASSERT_EQUAL(
	        sign_keyset_add(&ks, &gone, NULL, SIGN_ROLE_ZSK, true, true, false, false, NULL),
	        HSM_OK);
	CU_ASSERT_EQUAL(hsm_key_delete(&gone, NULL), HSM_OK);
	p = params(1800000000);
	messages[0] = '\0';
	CU_ASSERT_EQUAL(sign_zone(z, NULL, &ks, &p, &s, &st), HSM_ERR_NO_KEY);
	CU_ASSERT_PTR_NULL(s);
	/* The first failure names its RRset and key; the rest are cancelled. */
	CU_ASSERT_PTR_NOT_NULL(strstr(messages, "example. "));
	CU_ASSERT_PTR_NOT_NULL(strstr(messages, ": key "));
	CU_ASSERT_PTR_NOT_NULL(strstr(messages, "no key"));
	sign_keyset_deinit(&ks);
	zone_free(z);
}

int main(void)
{
	static const char *const labels[] = {"signzone"};
	testutil_token_create(labels, 1);
	ctx = testutil_hsm_ctx("signzone", NULL, 0);
	size_t len = 0;
	dname_from_str("example.", NULL, apex, sizeof(apex), &len);
	hsm_token_t *t = hsm_ctx_token(ctx, "main");
	hsm_key_t ksk, zsk;
	sign_keyset_init(&keys);
	if (hsm_key_generate(t, hsm_alg_by_number(13), 0, "ksk", &ksk, NULL) != HSM_OK ||
	    hsm_key_generate(t, hsm_alg_by_number(13), 0, "zsk", &zsk, NULL) != HSM_OK ||
	    sign_keyset_add(&keys, &ksk, NULL, SIGN_ROLE_KSK, true, true, false, false, NULL) !=
	            HSM_OK ||
	    sign_keyset_add(&keys, &zsk, NULL, SIGN_ROLE_ZSK, true, true, false, false, NULL) !=
	            HSM_OK) {
		return 1;
	}
	static const testutil_case_t cases[] = {
	        {"test_sign_zone_signs_and_verifies", test_sign_zone_signs_and_verifies},
	        {"test_sign_zone_reuses_what_did_not_change",
	         test_sign_zone_reuses_what_did_not_change},
	        {"test_sign_zone_bad_timing_and_missing_key",
	         test_sign_zone_bad_timing_and_missing_key},
	        {NULL, NULL},
	};
	int failed = testutil_run("sign_zone", cases);
	sign_keyset_deinit(&keys);
	hsm_ctx_free(ctx);
	testutil_token_cleanup();
	return failed;
}
