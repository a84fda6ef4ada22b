#include "signer/daemon/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/testutil.h"

static char dir[64];

static const char *write_config(const char *text)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/signer.yaml", dir);
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void test_config_tokens_are_read(void)
{
	const char *path = write_config("tokens:\n"
	                                "  - name: main\n"
	                                "    module: /usr/lib/softhsm/libsofthsm2.so\n"
	                                "    uri: \"pkcs11:token=signer\"\n"
	                                "    pin_file: /etc/signer/pin\n"
	                                "    max_sessions: 8\n"
	                                "    combined_mechanisms: true\n"
	                                "    retry_budget: 30\n"
	                                "  - name: ksk\n"
	                                "    module: /opt/hsm/libcs_pkcs11.so\n"
	                                "    uri: \"pkcs11:token=ksk;serial=1234\"\n"
	                                "    pin_env: KSK_PIN\n");
	config_t *c = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(config_load(path, &c, err, sizeof(err)), CONFIG_OK);
	CU_ASSERT_EQUAL(c->ntokens, 2);
	CU_ASSERT_STRING_EQUAL(c->tokens[0].name, "main");
	CU_ASSERT_STRING_EQUAL(c->tokens[0].uri, "pkcs11:token=signer");
	CU_ASSERT_STRING_EQUAL(c->tokens[0].pin_file, "/etc/signer/pin");
	CU_ASSERT_EQUAL(c->tokens[0].max_sessions, 8);
	CU_ASSERT(c->tokens[0].combined_mech);
	CU_ASSERT_EQUAL(c->tokens[0].retry_budget_ms, 30000);
	CU_ASSERT_STRING_EQUAL(c->tokens[1].module, "/opt/hsm/libcs_pkcs11.so");
	CU_ASSERT_STRING_EQUAL(c->tokens[1].pin_env, "KSK_PIN");
	CU_ASSERT_PTR_NULL(c->tokens[1].pin_file);
	CU_ASSERT(!c->tokens[1].combined_mech);
	config_free(c);
	config_free(NULL);
}

/* Each bad file gets its status and "FILE:LINE: reason". */
static void assert_refused(const char *text, int status, const char *where)
{
	const char *path = write_config(text);
	config_t *c = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), status);
	CU_ASSERT_PTR_NULL(c);
	if (strstr(err, where) == NULL) {
		fprintf(stderr, "expected '%s' in '%s'\n", where, err);
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(err, where));
}

static void test_config_bad_files(void)
{
	static const char head[] = "tokens:\n  - name: main\n    module: /m.so\n";
	char buf[512];
	assert_refused("tokens: [\n", CONFIG_ERR_SYNTAX, "signer.yaml:2:");
	assert_refused("- a\n- b\n", CONFIG_ERR_SYNTAX, "must be a mapping");
	assert_refused("tokenz: []\n", CONFIG_ERR_VALUE, "signer.yaml:1: unknown key 'tokenz'");
	assert_refused("tokens: {}\n", CONFIG_ERR_SYNTAX, "tokens must be a list");
	assert_refused("tokens: []\n", CONFIG_ERR_VALUE, "no tokens configured");
	snprintf(buf, sizeof(buf), "%s    uri: pkcs11:token=a\n    pin: 1234\n", head);
	assert_refused(buf, CONFIG_ERR_VALUE, "signer.yaml:5: a PIN is never written");
	snprintf(buf, sizeof(buf), "%s    uri: pkcs11:token=a\n    colour: red\n", head);
	assert_refused(buf, CONFIG_ERR_VALUE, "signer.yaml:5: unknown token key 'colour'");
	assert_refused(head, CONFIG_ERR_VALUE, "a token needs name, module and uri");
	snprintf(buf, sizeof(buf), "%s    uri: pkcs11:token=a\n    max_sessions: -1\n", head);
	assert_refused(buf, CONFIG_ERR_VALUE, "max_sessions must be a non-negative integer");
	snprintf(buf, sizeof(buf), "%s    uri: pkcs11:token=a\n    combined_mechanisms: maybe\n",
	         head);
	assert_refused(buf, CONFIG_ERR_VALUE, "combined_mechanisms must be true or false");
	snprintf(buf, sizeof(buf), "%s    uri: pkcs11:token=a\n    pin_file: /p\n    pin_env: P\n",
	         head);
	assert_refused(buf, CONFIG_ERR_VALUE, "give pin_file or pin_env, not both");
	config_t *c = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL(config_load("/nonexistent/signer.yaml", &c, err, sizeof(err)),
	                CONFIG_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file or directory"));
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-config.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return 1;
	}
	static const testutil_case_t cases[] = {
	        {"test_config_tokens_are_read", test_config_tokens_are_read},
	        {"test_config_bad_files", test_config_bad_files},
	        {NULL, NULL},
	};
	int failed = testutil_run("config", cases);
	char path[128];
	snprintf(path, sizeof(path), "%s/signer.yaml", dir);
	unlink(path);
	rmdir(dir);
	return failed;
}
