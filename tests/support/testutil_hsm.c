#include "tests/support/testutil_hsm.h"

#include <stdio.h>
#include <stdlib.h>

#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_verify.h"
#include "tests/support/testutil.h"

hsm_ctx_t *testutil_hsm_ctx(const char *label, const char *module, unsigned budget_ms)
{
	char uri[128];
	snprintf(uri, sizeof(uri), "pkcs11:token=%s", label);
	hsm_token_config_t c = {
	        .name = "main",
	        .module = module != NULL ? module : testutil_softhsm_path(),
	        .uri = uri,
	        .pin_file = testutil_pin_file("pin", "1234"),
	        .retry_budget_ms = budget_ms,
	};
	hsm_ctx_t *ctx = NULL;
	hsm_detail_t d = {0};
	int ret = hsm_ctx_new(&c, 1, &ctx, &d);
	if (ret != HSM_OK) {
		char buf[256];
		fprintf(stderr, "testutil_hsm_ctx: %s\n",
		        hsm_detail_format(ret, &d, buf, sizeof(buf)));
		abort();
	}
	return ctx;
}

int testutil_hsm_verify(const hsm_key_t *key, const hsm_alg_t *alg, const uint8_t *data, size_t len,
                        const uint8_t *sig, size_t sig_len)
{
	uint8_t pub[HSM_DNSKEY_PUBKEY_MAX];
	size_t pub_len = 0;
	alg = alg != NULL ? alg : key->alg;
	int ret = hsm_key_dnskey_pubkey(key, alg, pub, sizeof(pub), &pub_len, NULL);
	if (ret != HSM_OK) {
		return ret;
	}
	hsm_verify_key_t *vk = NULL;
	ret = hsm_verify_key_new(alg->number, pub, pub_len, &vk);
	if (ret != HSM_OK) {
		return ret;
	}
	ret = hsm_verify_sig(vk, data, len, sig, sig_len);
	hsm_verify_key_free(vk);
	return ret;
}
