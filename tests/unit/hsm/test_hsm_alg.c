#include "hsm/hsm_alg.h"

#include "hsm/hsm_error.h"
#include "tests/support/testutil.h"

static void test_hsm_alg_by_name_and_number(void)
{
	CU_ASSERT_PTR_EQUAL(hsm_alg_by_name("ED25519"), hsm_alg_by_number(15));
	CU_ASSERT_PTR_EQUAL(hsm_alg_by_name("ecdsap256sha256"), hsm_alg_by_number(13));
	CU_ASSERT_PTR_EQUAL(hsm_alg_by_name("8"), hsm_alg_by_number(8));
	CU_ASSERT_PTR_NULL(hsm_alg_by_name("RSAMD5"));
	CU_ASSERT_PTR_NULL(hsm_alg_by_name("1"));
	CU_ASSERT_PTR_NULL(hsm_alg_by_name("300"));
	CU_ASSERT_PTR_NULL(hsm_alg_by_name(""));
	CU_ASSERT_PTR_NULL(hsm_alg_by_number(5));
}

static void test_hsm_alg_table_is_consistent(void)
{
	size_t n = 0;
	const hsm_alg_t *all = hsm_alg_all(&n);
	CU_ASSERT_EQUAL(n, 6);
	for (size_t i = 0; i < n; i++) {
		if (all[i].keytype == HSM_KEYTYPE_RSA) {
			CU_ASSERT_PTR_NOT_NULL(all[i].digest_info);
			CU_ASSERT_EQUAL(all[i].digest_info[all[i].digest_info_len - 1],
			                all[i].digest_len);
			CU_ASSERT_EQUAL(all[i].sign_mech, CKM_RSA_PKCS);
		} else {
			CU_ASSERT_PTR_NOT_NULL(all[i].ec_params);
			CU_ASSERT_EQUAL(all[i].ec_params[0], 0x06); /* an OID */
			CU_ASSERT(all[i].point_len > 0);
		}
		if (all[i].keytype == HSM_KEYTYPE_EC) {
			CU_ASSERT_EQUAL(all[i].point_len, 2 * all[i].digest_len);
		}
	}
	CU_ASSERT(hsm_alg_rsa_bits_ok(2048));
	CU_ASSERT(hsm_alg_rsa_bits_ok(4096));
	CU_ASSERT(!hsm_alg_rsa_bits_ok(1024));
	CU_ASSERT(!hsm_alg_rsa_bits_ok(2047));
}

static void test_hsm_strerror_and_rv_names(void)
{
	CU_ASSERT_STRING_EQUAL(hsm_rv_name(CKR_DEVICE_ERROR), "CKR_DEVICE_ERROR");
	CU_ASSERT_STRING_EQUAL(hsm_rv_name(CKR_VENDOR_DEFINED + 5), "CKR_VENDOR_DEFINED");
	hsm_detail_t d = {0};
	hsm_detail_ckr(&d, "C_Sign", CKR_DEVICE_ERROR);
	char buf[128];
	CU_ASSERT_STRING_EQUAL(hsm_detail_format(HSM_ERR_CKR, &d, buf, sizeof(buf)),
	                       "C_Sign failed: CKR_DEVICE_ERROR (0x30)");
	CU_ASSERT_STRING_EQUAL(hsm_strerror(HSM_ERR_NO_KEY), "no key matches");
	CU_ASSERT_STRING_EQUAL(hsm_strerror(-2), "No such file or directory");
	CU_ASSERT_STRING_EQUAL(hsm_strerror(-1099), "unknown hsm status");
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"test_hsm_alg_by_name_and_number", test_hsm_alg_by_name_and_number},
	        {"test_hsm_alg_table_is_consistent", test_hsm_alg_table_is_consistent},
	        {"test_hsm_strerror_and_rv_names", test_hsm_strerror_and_rv_names},
	        {NULL, NULL},
	};
	return testutil_run("hsm_alg", cases);
}
