#include "hsm/hsm_pin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/testutil.h"

static char dir[64];

static const char *write_file(const char *name, const char *content, size_t len, mode_t mode)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, content, len) == (ssize_t)len);
	close(fd);
	chmod(path, mode);
	return path;
}

static void assert_pin(const hsm_pin_t *pin, const char *expected)
{
	size_t len = 0;
	const uint8_t *data = hsm_pin_data(pin, &len);
	CU_ASSERT_EQUAL(len, strlen(expected));
	CU_ASSERT(memcmp(data, expected, len) == 0);
}

static void test_hsm_pin_file_strips_one_newline(void)
{
	hsm_pin_t *pin = NULL;
	CU_ASSERT_EQUAL(hsm_pin_from_file(write_file("p1", "1234\n", 5, 0600), &pin, NULL), HSM_OK);
	assert_pin(pin, "1234");
	hsm_pin_free(pin);
	pin = NULL;
	CU_ASSERT_EQUAL(hsm_pin_from_file(write_file("p2", "12 34\n\n", 7, 0400), &pin, NULL),
	                HSM_OK);
	assert_pin(pin, "12 34\n");
	hsm_pin_free(pin);
}

static void test_hsm_pin_file_refused_when_readable_by_others(void)
{
	hsm_pin_t *pin = NULL;
	hsm_detail_t d = {0};
	CU_ASSERT_EQUAL(hsm_pin_from_file(write_file("p3", "1234", 4, 0644), &pin, &d),
	                HSM_ERR_PIN_FILE);
	CU_ASSERT_PTR_NULL(pin);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "accessible by group or others"));
	CU_ASSERT_EQUAL(hsm_pin_from_file(write_file("p4", "1234", 4, 0640), &pin, &d),
	                HSM_ERR_PIN_FILE);
	CU_ASSERT_EQUAL(hsm_pin_from_file(write_file("p5", "1234", 4, 0602), &pin, &d),
	                HSM_ERR_PIN_FILE);
	CU_ASSERT_PTR_NULL(pin);
}

static void test_hsm_pin_file_bad_inputs(void)
{
	hsm_pin_t *pin = NULL;
	hsm_detail_t d = {0};
	char path[128];
	snprintf(path, sizeof(path), "%s/missing", dir);
	CU_ASSERT_EQUAL(hsm_pin_from_file(path, &pin, &d), -ENOENT);
	CU_ASSERT_EQUAL(hsm_pin_from_file(write_file("p6", "\n", 1, 0600), &pin, &d),
	                HSM_ERR_PIN_FILE);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "empty"));
	char big[400];
	memset(big, 'x', sizeof(big));
	CU_ASSERT_EQUAL(hsm_pin_from_file(write_file("p7", big, sizeof(big), 0600), &pin, &d),
	                HSM_ERR_PIN_FILE);
	CU_ASSERT_EQUAL(hsm_pin_from_file(dir, &pin, &d), HSM_ERR_PIN_FILE);
	CU_ASSERT_PTR_NULL(pin);
}

static void test_hsm_pin_env_is_unset_after_reading(void)
{
	hsm_pin_t *pin = NULL;
	setenv("TEST_SIGNER_PIN", "s3cret", 1);
	CU_ASSERT_EQUAL(hsm_pin_from_env("TEST_SIGNER_PIN", &pin, NULL), HSM_OK);
	CU_ASSERT_PTR_NULL(getenv("TEST_SIGNER_PIN"));
	assert_pin(pin, "s3cret");
	hsm_pin_t *copy = NULL;
	CU_ASSERT_EQUAL(hsm_pin_copy(pin, &copy), HSM_OK);
	assert_pin(copy, "s3cret");
	hsm_pin_free(pin);
	hsm_pin_free(copy);
	hsm_pin_free(NULL);
	pin = NULL;
	CU_ASSERT_EQUAL(hsm_pin_from_env("TEST_SIGNER_PIN", &pin, NULL), HSM_ERR_PIN_MISSING);
	CU_ASSERT_PTR_NULL(pin);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-pin.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return 1;
	}
	static const testutil_case_t cases[] = {
	        {"test_hsm_pin_file_strips_one_newline", test_hsm_pin_file_strips_one_newline},
	        {"test_hsm_pin_file_refused_when_readable_by_others",
	         test_hsm_pin_file_refused_when_readable_by_others},
	        {"test_hsm_pin_file_bad_inputs", test_hsm_pin_file_bad_inputs},
	        {"test_hsm_pin_env_is_unset_after_reading",
	         test_hsm_pin_env_is_unset_after_reading},
	        {NULL, NULL},
	};
	int failed = testutil_run("hsm_pin", cases);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0) {
		failed++;
	}
	return failed;
}
