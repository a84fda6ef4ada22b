/*
 * testutil: shared support for the CUnit test binaries.
 *
 * testutil_run() runs one suite and returns the number of failures, so that
 * each binary's main can return it (CUnit never sets the exit status).
 * testutil_token_create() makes a fresh SoftHSM token in a temporary
 * directory (SOFTHSM2_CONF points at it) so that no test depends on the
 * machine's state. Not thread-safe: call from main before the tests start.
 */
#ifndef TESTS_SUPPORT_TESTUTIL_H
#define TESTS_SUPPORT_TESTUTIL_H

#include <stddef.h>

#include <stdint.h>

#include <CUnit/CUnit.h>

typedef struct {
	const char *name;
	CU_TestFunc func;
} testutil_case_t;

/* Runs the cases (terminated by {NULL, NULL}) as one suite; prints CUnit's
 * summary; returns the number of failed assertions and tests (0 = pass). */
int testutil_run(const char *suite, const testutil_case_t *cases);

/* The next number of a splitmix64 sequence from *state: fixed seeds give
 * the same sequence on every libc. */
uint64_t testutil_rand(uint64_t *state);

/* Path of the SoftHSM module: $SIGNER_TEST_SOFTHSM or Debian's path. */
const char *testutil_softhsm_path(void);

/* Path of the fault-injecting module built beside the tests. */
const char *testutil_p11fault_path(void);

/* Directory of the shared test data (../shared/testdata). */
const char *testutil_testdata(void);

/* Creates a temporary directory holding a SoftHSM configuration and one
 * initialised token per label (user PIN "1234", SO PIN "5678"), sets
 * SOFTHSM2_CONF, and returns the directory (static storage). Call once per
 * process, before any module is loaded. Aborts the process on failure. */
const char *testutil_token_create(const char *const *labels, size_t count);

/* Writes a PIN file (mode 0600) holding pin in the token directory and returns
 * its path (static storage, overwritten by the next call). */
const char *testutil_pin_file(const char *name, const char *pin);

/* Removes the temporary directory made by testutil_token_create(). */
void testutil_token_cleanup(void);

#endif
