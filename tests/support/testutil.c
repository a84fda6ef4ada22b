#include "tests/support/testutil.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <p11-kit/pkcs11.h>

#ifndef TESTUTIL_TESTDATA
#define TESTUTIL_TESTDATA "../shared/testdata"
#endif
#ifndef TESTUTIL_P11FAULT
#define TESTUTIL_P11FAULT "libp11fault.so"
#endif

static char token_dir[256];
static char pin_path[512];

int testutil_run(const char *suite, const testutil_case_t *cases)
{
	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	CU_pSuite s = CU_add_suite(suite, NULL, NULL);
	for (const testutil_case_t *c = cases; s != NULL && c->name != NULL; c++) {
		CU_add_test(s, c->name, c->func);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	int failed = (int)(CU_get_number_of_failures() + CU_get_number_of_tests_failed());
	if (CU_get_error() != CUE_SUCCESS) {
		failed++;
	}
	CU_cleanup_registry();
	return failed;
}

const char *testutil_softhsm_path(void)
{
	const char *p = getenv("SIGNER_TEST_SOFTHSM");
	return p != NULL ? p : "/usr/lib/softhsm/libsofthsm2.so";
}

const char *testutil_p11fault_path(void)
{
	const char *p = getenv("SIGNER_TEST_P11FAULT");
	return p != NULL ? p : TESTUTIL_P11FAULT;
}

const char *testutil_testdata(void)
{
	const char *p = getenv("SIGNER_TESTDATA");
	return p != NULL ? p : TESTUTIL_TESTDATA;
}

static void die(const char *what, CK_RV rv)
{
	fprintf(stderr, "testutil: %s failed (0x%lx)\n", what, (unsigned long)rv);
	abort();
}

static void padded(CK_UTF8CHAR *dst, size_t len, const char *src)
{
	memset(dst, ' ', len);
	memcpy(dst, src, strlen(src) < len ? strlen(src) : len);
}

/* Initialises a free SoftHSM slot as a token: C_InitToken, then the user PIN
 * through an SO session. In-process, so no PIN is on a command line. */
static void init_token(CK_FUNCTION_LIST_PTR f, const char *label)
{
	CK_ULONG n = 0;
	CK_RV rv = f->C_GetSlotList(CK_FALSE, NULL, &n);
	if (rv != CKR_OK || n == 0) {
		die("C_GetSlotList", rv);
	}
	CK_SLOT_ID *slots = calloc(n, sizeof(*slots));
	if (slots == NULL || (rv = f->C_GetSlotList(CK_FALSE, slots, &n)) != CKR_OK) {
		die("C_GetSlotList", rv);
	}
	CK_SLOT_ID slot = 0;
	int found = 0;
	for (CK_ULONG i = 0; i < n && !found; i++) {
		CK_TOKEN_INFO ti;
		if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    !(ti.flags & CKF_TOKEN_INITIALIZED)) {
			slot = slots[i];
			found = 1;
		}
	}
	free(slots);
	if (!found) {
		die("finding a free slot", 0);
	}
	CK_UTF8CHAR lab[32];
	padded(lab, sizeof(lab), label);
	rv = f->C_InitToken(slot, (CK_UTF8CHAR_PTR) "5678", 4, lab);
	if (rv != CKR_OK) {
		die("C_InitToken", rv);
	}
	/* The slot id changes after initialisation in SoftHSM: find by label. */
	n = 0;
	f->C_GetSlotList(CK_TRUE, NULL, &n);
	slots = calloc(n + 1, sizeof(*slots));
	if (slots == NULL || f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) {
		die("C_GetSlotList", 0);
	}
	found = 0;
	for (CK_ULONG i = 0; i < n && !found; i++) {
		CK_TOKEN_INFO ti;
		if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, lab, sizeof(lab)) == 0) {
			slot = slots[i];
			found = 1;
		}
	}
	free(slots);
	CK_SESSION_HANDLE s;
	rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK) {
		die("C_OpenSession", rv);
	}
	if ((rv = f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR) "5678", 4)) != CKR_OK) {
		die("C_Login(SO)", rv);
	}
	if ((rv = f->C_InitPIN(s, (CK_UTF8CHAR_PTR) "1234", 4)) != CKR_OK) {
		die("C_InitPIN", rv);
	}
	f->C_Logout(s);
	f->C_CloseSession(s);
}

const char *testutil_token_create(const char *const *labels, size_t count)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(token_dir, sizeof(token_dir), "%s/signer-test.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(token_dir) == NULL) {
		die("mkdtemp", 0);
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/tokens", token_dir);
	if (mkdir(path, 0700) != 0) {
		die("mkdir", 0);
	}
	char conf[512];
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", token_dir);
	FILE *fp = fopen(conf, "w");
	if (fp == NULL) {
		die("writing softhsm2.conf", 0);
	}
	fprintf(fp,
	        "directories.tokendir = %s\nobjectstore.backend = file\n"
	        "log.level = ERROR\nslots.removable = false\n",
	        path);
	fclose(fp);
	setenv("SOFTHSM2_CONF", conf, 1);

	void *h = dlopen(testutil_softhsm_path(), RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		fprintf(stderr, "testutil: %s\n", dlerror());
		abort();
	}
	void *sym = dlsym(h, "C_GetFunctionList");
	CK_C_GetFunctionList gfl = NULL;
	memcpy(&gfl, &sym, sizeof(gfl));
	CK_FUNCTION_LIST_PTR f = NULL;
	if (gfl == NULL || gfl(&f) != CKR_OK) {
		die("C_GetFunctionList", 0);
	}
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	CK_RV rv = f->C_Initialize(&args);
	if (rv != CKR_OK) {
		die("C_Initialize", rv);
	}
	for (size_t i = 0; i < count; i++) {
		init_token(f, labels[i]);
	}
	/* Finalise so that the library under test initialises the module itself. */
	f->C_Finalize(NULL);
	return token_dir;
}

const char *testutil_pin_file(const char *name, const char *pin)
{
	snprintf(pin_path, sizeof(pin_path), "%s/%s", token_dir, name);
	int fd = open(pin_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, pin, strlen(pin)) != (ssize_t)strlen(pin)) {
		die("writing the PIN file", 0);
	}
	close(fd);
	return pin_path;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void testutil_token_cleanup(void)
{
	if (token_dir[0] != '\0' && getenv("SIGNER_TEST_KEEP") == NULL) {
		nftw(token_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

uint64_t testutil_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}
