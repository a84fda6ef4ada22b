#include "hsm/hsm_token.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/hsm_ctx.h"
#include "hsm/hsm_key.h"
#include "hsm/hsm_module.h"
#include "tests/support/testutil.h"
#include "tests/support/testutil_hsm.h"

static char serial_a[17];

static hsm_token_config_t config(const char *name, const char *uri)
{
	return (hsm_token_config_t){
	        .name = name,
	        .module = testutil_softhsm_path(),
	        .uri = uri,
	        .pin_file = testutil_pin_file("pin", "1234"),
	};
}

/* Opens a one-token context and connects; returns the connect status. */
static int connect_uri(const char *uri, hsm_detail_t *d)
{
	hsm_token_config_t c = config("t", uri);
	hsm_ctx_t *ctx = NULL;
	int ret = hsm_ctx_new(&c, 1, &ctx, d);
	if (ret == HSM_OK) {
		ret = hsm_token_connect(hsm_ctx_token(ctx, "t"), d);
	}
	hsm_ctx_free(ctx);
	return ret;
}

static void test_hsm_token_found_by_label_serial_manufacturer_model(void)
{
	hsm_token_config_t c = config("a", "pkcs11:token=alpha");
	hsm_ctx_t *ctx = NULL;
	CU_ASSERT_EQUAL_FATAL(hsm_ctx_new(&c, 1, &ctx, NULL), HSM_OK);
	hsm_token_t *t = hsm_ctx_token(ctx, "a");
	CK_TOKEN_INFO ti;
	CU_ASSERT_EQUAL(hsm_token_info(t, &ti), HSM_ERR_INVAL); /* not connected yet */
	CU_ASSERT_EQUAL_FATAL(hsm_token_connect(t, NULL), HSM_OK);
	CU_ASSERT_EQUAL(hsm_token_info(t, &ti), HSM_OK);
	CU_ASSERT(memcmp(ti.label, "alpha ", 6) == 0);
	memcpy(serial_a, ti.serialNumber, 16);
	hsm_token_stats_t st;
	hsm_token_stats(t, &st);
	CU_ASSERT_EQUAL(st.state, HSM_TOKEN_UP);
	CU_ASSERT_EQUAL(st.relogins + st.reconnects + st.failures, 0);
	hsm_ctx_free(ctx);

	char uri[128];
	char serial[17];
	memcpy(serial, serial_a, 16);
	serial[16] = '\0';
	for (int i = 15; i >= 0 && serial[i] == ' '; i--) {
		serial[i] = '\0';
	}
	snprintf(uri, sizeof(uri), "pkcs11:serial=%s", serial);
	CU_ASSERT_EQUAL(connect_uri(uri, NULL), HSM_OK);
	snprintf(uri, sizeof(uri),
	         "pkcs11:model=SoftHSM%%20v2;manufacturer=SoftHSM%%20project;"
	         "serial=%s;token=alpha",
	         serial);
	CU_ASSERT_EQUAL(connect_uri(uri, NULL), HSM_OK);
}

static void test_hsm_token_bad_uris(void)
{
	hsm_detail_t d = {0};
	CU_ASSERT_EQUAL(connect_uri("pkcs11:token=nosuch", &d), HSM_ERR_NO_TOKEN);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "no token matches pkcs11:token=nosuch"));
	/* Both tokens are SoftHSM v2: a model alone matches two. */
	CU_ASSERT_EQUAL(connect_uri("pkcs11:model=SoftHSM%20v2", &d), HSM_ERR_MANY_TOKENS);
	CU_ASSERT_EQUAL(connect_uri("notauri", &d), HSM_ERR_URI);
	CU_ASSERT_EQUAL(connect_uri("pkcs11:token=%zz", &d), HSM_ERR_URI);
	CU_ASSERT_EQUAL(connect_uri("pkcs11:token=alpha?pin-value=1234", &d), HSM_ERR_URI_PIN);
	CU_ASSERT_EQUAL(connect_uri("pkcs11:token=alpha?pin-source=file:/tmp/x", &d),
	                HSM_ERR_URI_PIN);
}

static void test_hsm_token_bad_configuration(void)
{
	hsm_detail_t d = {0};
	hsm_ctx_t *ctx = NULL;
	hsm_token_config_t c[2] = {config("same", "pkcs11:token=alpha"),
	                           config("same", "pkcs11:token=beta")};
	CU_ASSERT_EQUAL(hsm_ctx_new(c, 2, &ctx, &d), HSM_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "configured twice"));
	CU_ASSERT_PTR_NULL(ctx);
	c[0].module = "/nonexistent/libpkcs11.so";
	CU_ASSERT_EQUAL(hsm_ctx_new(c, 1, &ctx, &d), HSM_ERR_MODULE);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "/nonexistent/libpkcs11.so does not exist"));
	c[0].module = "/etc/hostname"; /* exists, not a library */
	CU_ASSERT_EQUAL(hsm_ctx_new(c, 1, &ctx, &d), HSM_ERR_MODULE);
	c[0] = config(NULL, "pkcs11:token=alpha");
	CU_ASSERT_EQUAL(hsm_ctx_new(c, 1, &ctx, &d), HSM_ERR_CONFIG);
	c[0] = config("x", "pkcs11:token=alpha");
	c[0].pin_file = NULL;
	c[0].pin_env = "TEST_NO_SUCH_PIN_VAR";
	CU_ASSERT_EQUAL(hsm_ctx_new(c, 1, &ctx, &d), HSM_ERR_PIN_MISSING);
	CU_ASSERT_PTR_NULL(ctx);
}

static void test_hsm_token_two_tokens_one_module_env_pin_shared(void)
{
	hsm_token_config_t c[2] = {config("a", "pkcs11:token=alpha"),
	                           config("b", "pkcs11:token=beta")};
	c[0].pin_file = c[1].pin_file = NULL; /* both from SIGNER_PIN */
	setenv("SIGNER_PIN", "1234", 1);
	hsm_ctx_t *ctx = NULL;
	CU_ASSERT_EQUAL_FATAL(hsm_ctx_new(c, 2, &ctx, NULL), HSM_OK);
	CU_ASSERT_PTR_NULL(getenv("SIGNER_PIN")); /* read once, then unset */
	CU_ASSERT_EQUAL(hsm_ctx_module_count(ctx), 1);
	CU_ASSERT_EQUAL(hsm_ctx_count(ctx), 2);
	hsm_token_t *a = hsm_ctx_token(ctx, "a"), *b = hsm_ctx_token(ctx, "b");
	CU_ASSERT_PTR_NULL(hsm_ctx_token(ctx, "c"));
	hsm_key_t ka, kb;
	CU_ASSERT_EQUAL_FATAL(hsm_key_generate(a, hsm_alg_by_number(13), 0, "in-a", &ka, NULL),
	                      HSM_OK);
	CU_ASSERT_EQUAL_FATAL(hsm_key_generate(b, hsm_alg_by_number(13), 0, "in-b", &kb, NULL),
	                      HSM_OK);
	hsm_key_t found;
	CU_ASSERT_EQUAL(hsm_key_find(ctx, "in-b", &found, NULL), HSM_OK);
	CU_ASSERT_PTR_EQUAL(found.token, b);
	CU_ASSERT_EQUAL(hsm_key_find(ctx, "pkcs11:token=alpha;object=in-b", &found, NULL),
	                HSM_ERR_NO_KEY);
	CU_ASSERT_EQUAL(hsm_key_find(ctx, "pkcs11:token=beta;object=in-b", &found, NULL), HSM_OK);
	hsm_key_delete(&ka, NULL);
	hsm_key_delete(&kb, NULL);
	hsm_ctx_free(ctx);
}

static void test_hsm_token_module_initialised_by_others_is_accepted(void)
{
	/* Someone else in the process initialised the module first. */
	void *h = dlopen(testutil_softhsm_path(), RTLD_NOW | RTLD_LOCAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	void *sym = dlsym(h, "C_GetFunctionList");
	CK_C_GetFunctionList gfl = NULL;
	memcpy(&gfl, &sym, sizeof(gfl));
	CK_FUNCTION_LIST_PTR fn = NULL;
	CU_ASSERT_EQUAL_FATAL(gfl(&fn), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(fn->C_Initialize(NULL), CKR_OK);

	hsm_module_t *m = NULL;
	CU_ASSERT_EQUAL_FATAL(hsm_module_load(testutil_softhsm_path(), &m, NULL), HSM_OK);
	CU_ASSERT(!hsm_module_owned(m));
	hsm_module_free(m);
	/* We did not finalise it: the other user can go on. */
	CK_INFO info;
	CU_ASSERT_EQUAL(fn->C_GetInfo(&info), CKR_OK);
	CU_ASSERT_EQUAL(connect_uri("pkcs11:token=alpha", NULL), HSM_OK);
	CU_ASSERT_EQUAL(fn->C_GetInfo(&info), CKR_OK);
	fn->C_Finalize(NULL);
	dlclose(h);

	/* With nobody else, we own it and finalise it at free. */
	CU_ASSERT_EQUAL_FATAL(hsm_module_load(testutil_softhsm_path(), &m, NULL), HSM_OK);
	CU_ASSERT(hsm_module_owned(m));
	hsm_module_free(m);
}

static void test_hsm_token_classify(void)
{
	CU_ASSERT_EQUAL(hsm_token_classify(CKR_PIN_INCORRECT), HSM_RV_PIN);
	CU_ASSERT_EQUAL(hsm_token_classify(CKR_PIN_LOCKED), HSM_RV_PIN);
	CU_ASSERT_EQUAL(hsm_token_classify(CKR_PIN_EXPIRED), HSM_RV_PIN);
	CU_ASSERT_EQUAL(hsm_token_classify(CKR_DEVICE_ERROR), HSM_RV_SESSION);
	CU_ASSERT_EQUAL(hsm_token_classify(CKR_SESSION_CLOSED), HSM_RV_SESSION);
	CU_ASSERT_EQUAL(hsm_token_classify(CKR_SESSION_HANDLE_INVALID), HSM_RV_SESSION);
	CU_ASSERT_EQUAL(hsm_token_classify(CKR_USER_NOT_LOGGED_IN), HSM_RV_LOGIN);
	CU_ASSERT_EQUAL(hsm_token_classify(CKR_DEVICE_REMOVED), HSM_RV_DEVICE);
	CU_ASSERT_EQUAL(hsm_token_classify(CKR_TOKEN_NOT_PRESENT), HSM_RV_DEVICE);
	CU_ASSERT_EQUAL(hsm_token_classify(CKR_KEY_HANDLE_INVALID), HSM_RV_KEY);
	CU_ASSERT_EQUAL(hsm_token_classify(CKR_OBJECT_HANDLE_INVALID), HSM_RV_KEY);
	CU_ASSERT_EQUAL(hsm_token_classify(CKR_DATA_LEN_RANGE), HSM_RV_FATAL);
	CU_ASSERT_EQUAL(hsm_token_classify(CKR_MECHANISM_INVALID), HSM_RV_FATAL);
	CU_ASSERT_EQUAL(hsm_token_pin_status(CKR_PIN_LOCKED), HSM_ERR_PIN_LOCKED);
}

int main(void)
{
	static const char *const labels[] = {"alpha", "beta"};
	testutil_token_create(labels, 2);
	static const testutil_case_t cases[] = {
	        {"test_hsm_token_module_initialised_by_others_is_accepted",
	         test_hsm_token_module_initialised_by_others_is_accepted},
	        {"test_hsm_token_found_by_label_serial_manufacturer_model",
	         test_hsm_token_found_by_label_serial_manufacturer_model},
	        {"test_hsm_token_bad_uris", test_hsm_token_bad_uris},
	        {"test_hsm_token_bad_configuration", test_hsm_token_bad_configuration},
	        {"test_hsm_token_two_tokens_one_module_env_pin_shared",
	         test_hsm_token_two_tokens_one_module_env_pin_shared},
	        {"test_hsm_token_classify", test_hsm_token_classify},
	        {NULL, NULL},
	};
	int failed = testutil_run("hsm_token", cases);
	testutil_token_cleanup();
	return failed;
}
