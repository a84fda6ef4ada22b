/*
 * test_p11fault: the fault-injecting PKCS#11 module over SoftHSM.
 *
 * main creates one SoftHSM token, points P11FAULT_MODULE at SoftHSM, loads
 * libp11fault.so by path (dlopen, as the library under test would) and
 * initialises it once. Every test resets the module first, opens its own
 * logged-in session with a fresh ECDSA P-256 key pair (session objects) and
 * closes it at the end, so no test depends on another's order. The
 * environment test re-executes this binary (--env-child) because the module
 * reads its environment only once per process.
 */
#include "tests/support/p11fault.h"
#include "tests/support/testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <p11-kit/pkcs11.h>

#define TOKEN_LABEL "p11fault"
#define USER_PIN    "1234"
#define PARALLEL    4

static p11fault_api_t pf;        /* control functions of the loaded module */
static CK_FUNCTION_LIST_PTR p11; /* its function list, initialised by main */

/* One test's session and key pair. */
typedef struct {
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE pub;
	CK_OBJECT_HANDLE priv;
	CK_BYTE id[8];
} fixture_t;

/* Absolute CLOCK_MONOTONIC time in milliseconds. */
static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* Finds the slot of our token among the slots with a token present. */
static CK_RV find_slot(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID *slot)
{
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	CK_RV rv = f->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK) {
		return rv;
	}
	CK_UTF8CHAR label[32];
	memset(label, ' ', sizeof(label));
	memcpy(label, TOKEN_LABEL, strlen(TOKEN_LABEL));
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, label, sizeof(label)) == 0) {
			*slot = slots[i];
			return CKR_OK;
		}
	}
	return CKR_TOKEN_NOT_PRESENT;
}

/* Opens a R/W session on our token and logs the user in (already logged in
 * counts as success). */
static CK_RV open_login(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE *s)
{
	CK_SLOT_ID slot;
	CK_RV rv = find_slot(f, &slot);
	if (rv != CKR_OK) {
		return rv;
	}
	rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s);
	if (rv != CKR_OK) {
		return rv;
	}
	rv = f->C_Login(*s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		f->C_CloseSession(*s);
		return rv;
	}
	return CKR_OK;
}

/* A CKA_ID unique in this process. */
static void new_id(CK_BYTE id[8])
{
	static unsigned counter;
	unsigned long v = (unsigned long)getpid() << 16 ^ ++counter;
	for (int i = 0; i < 8; i++) {
		id[i] = (CK_BYTE)(v >> (8 * i));
	}
}

/* Generates an ECDSA P-256 key pair (session objects) with CKA_ID id. */
static CK_RV gen_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_BYTE id[8],
                     CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	static CK_BYTE p256[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE pub_t[] = {
	        {CKA_EC_PARAMS, p256, sizeof(p256)},
	        {CKA_TOKEN, &no, sizeof(no)},
	        {CKA_VERIFY, &yes, sizeof(yes)},
	        {CKA_ID, id, 8},
	};
	CK_ATTRIBUTE priv_t[] = {
	        {CKA_TOKEN, &no, sizeof(no)},
	        {CKA_PRIVATE, &yes, sizeof(yes)},
	        {CKA_SENSITIVE, &yes, sizeof(yes)},
	        {CKA_SIGN, &yes, sizeof(yes)},
	        {CKA_ID, id, 8},
	};
	return f->C_GenerateKeyPair(s, &mech, pub_t, 4, priv_t, 5, pub, priv);
}

/* C_SignInit (CKM_ECDSA) then C_Sign of a 32-byte digest; the first failure. */
static CK_RV sign(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	CK_BYTE digest[32] = {1, 2, 3};
	CK_BYTE sig[64];
	CK_ULONG len = sizeof(sig);
	CK_RV rv = f->C_SignInit(s, &mech, key);
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_Sign(s, digest, sizeof(digest), sig, &len);
}

/* Finds the one object of class cls with CKA_ID id; CKR_OK with *h, or
 * CKR_GENERAL_ERROR if there is not exactly one. */
static CK_RV find_key(CK_SESSION_HANDLE s, const CK_BYTE id[8], CK_OBJECT_CLASS cls,
                      CK_OBJECT_HANDLE *h)
{
	CK_ATTRIBUTE t[] = {
	        {CKA_CLASS, &cls, sizeof(cls)},
	        {CKA_ID, (void *)id, 8},
	};
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;
	CK_RV rv = p11->C_FindObjectsInit(s, t, 2);
	if (rv != CKR_OK) {
		return rv;
	}
	rv = p11->C_FindObjects(s, found, 2, &n);
	p11->C_FindObjectsFinal(s);
	if (rv != CKR_OK) {
		return rv;
	}
	if (n != 1) {
		return CKR_GENERAL_ERROR;
	}
	*h = found[0];
	return CKR_OK;
}

/* Resets the module, opens a logged-in session and makes a key pair. */
static void setup(fixture_t *fx)
{
	pf.reset();
	memset(fx, 0, sizeof(*fx));
	CU_ASSERT_FATAL(open_login(p11, &fx->s) == CKR_OK);
	new_id(fx->id);
	CU_ASSERT_FATAL(gen_key(p11, fx->s, fx->id, &fx->pub, &fx->priv) == CKR_OK);
}

/* Closes the fixture's session (it may already be gone) and resets. */
static void teardown(fixture_t *fx)
{
	p11->C_CloseSession(fx->s);
	pf.reset();
}

static void test_p11fault_forwards_and_counts(void)
{
	pf.reset();
	CU_ASSERT_EQUAL(pf.count("C_Sign"), 0);
	CU_ASSERT_EQUAL(pf.count("faults"), 0);
	CU_ASSERT_EQUAL(pf.count("C_NoSuchFunction"), -1);
	CU_ASSERT_EQUAL(pf.count("sign"), -1);

	fixture_t fx;
	setup(&fx);
	CU_ASSERT_EQUAL(pf.count("C_OpenSession"), 1);
	CU_ASSERT_EQUAL(pf.count("C_Login"), 1);
	CU_ASSERT_EQUAL(pf.count("C_GenerateKeyPair"), 1);
	/* Handles carry a generation above the low 24 bits. */
	CU_ASSERT(fx.priv >> 24 != 0);
	CU_ASSERT(fx.pub >> 24 == fx.priv >> 24);

	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_OK);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_OK);
	CU_ASSERT_EQUAL(pf.count("C_SignInit"), 2);
	CU_ASSERT_EQUAL(pf.count("C_Sign"), 2);

	CK_OBJECT_HANDLE h = 0;
	CU_ASSERT_EQUAL(find_key(fx.s, fx.id, CKO_PRIVATE_KEY, &h), CKR_OK);
	CU_ASSERT_EQUAL(h, fx.priv);
	CU_ASSERT_EQUAL(pf.count("C_FindObjectsInit"), 1);

	/* A verify through the translated public handle checks the round trip. */
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	CK_BYTE digest[32] = {7}, sig[64];
	CK_ULONG len = sizeof(sig);
	CU_ASSERT_EQUAL(p11->C_SignInit(fx.s, &mech, fx.priv), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Sign(fx.s, digest, sizeof(digest), sig, &len), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_VerifyInit(fx.s, &mech, fx.pub), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Verify(fx.s, digest, sizeof(digest), sig, len), CKR_OK);
	CU_ASSERT_EQUAL(pf.count("faults"), 0);

	teardown(&fx);
	CU_ASSERT_EQUAL(pf.count("C_Sign"), 0);
	CU_ASSERT_EQUAL(pf.count("C_CloseSession"), 0);
}

static void test_p11fault_sign_fail_every_third(void)
{
	fixture_t fx;
	setup(&fx);
	pf.set("sign_fail_every", 3);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_OK);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_OK);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_DEVICE_ERROR);
	CU_ASSERT_EQUAL(pf.count("faults"), 1);
	CU_ASSERT_EQUAL(pf.count("C_Sign"), 3);
	teardown(&fx);
}

static void test_p11fault_key_invalid_every_refuses_old_handles(void)
{
	fixture_t fx;
	setup(&fx);
	pf.set("key_invalid_every", 2);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_OK);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_KEY_HANDLE_INVALID);
	CU_ASSERT_EQUAL(pf.count("faults"), 1);
	pf.set("key_invalid_every", 0);

	/* The old handles are refused everywhere... */
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_KEY_HANDLE_INVALID);
	CK_BYTE id[8];
	CK_ATTRIBUTE a = {CKA_ID, id, sizeof(id)};
	CU_ASSERT_EQUAL(p11->C_GetAttributeValue(fx.s, fx.pub, &a, 1), CKR_OBJECT_HANDLE_INVALID);

	/* ...and the key found again by CKA_ID works. */
	CK_OBJECT_HANDLE priv = 0;
	CU_ASSERT_EQUAL_FATAL(find_key(fx.s, fx.id, CKO_PRIVATE_KEY, &priv), CKR_OK);
	CU_ASSERT_NOT_EQUAL(priv, fx.priv);
	CU_ASSERT_EQUAL(priv & 0xFFFFFF, fx.priv & 0xFFFFFF);
	CU_ASSERT_EQUAL(sign(p11, fx.s, priv), CKR_OK);
	CU_ASSERT_EQUAL(pf.count("faults"), 1);
	teardown(&fx);
}

static void test_p11fault_invalidate_keys_refuses_every_object_function(void)
{
	fixture_t fx;
	setup(&fx);
	pf.invalidate_keys();
	CK_ULONG size = 0;
	CK_BYTE id[8];
	CK_ATTRIBUTE a = {CKA_ID, id, sizeof(id)};
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	CU_ASSERT_EQUAL(p11->C_GetAttributeValue(fx.s, fx.priv, &a, 1), CKR_OBJECT_HANDLE_INVALID);
	CU_ASSERT_EQUAL(p11->C_SetAttributeValue(fx.s, fx.priv, &a, 1), CKR_OBJECT_HANDLE_INVALID);
	CU_ASSERT_EQUAL(p11->C_GetObjectSize(fx.s, fx.pub, &size), CKR_OBJECT_HANDLE_INVALID);
	CU_ASSERT_EQUAL(p11->C_DestroyObject(fx.s, fx.pub), CKR_OBJECT_HANDLE_INVALID);
	CU_ASSERT_EQUAL(p11->C_VerifyInit(fx.s, &mech, fx.pub), CKR_KEY_HANDLE_INVALID);
	/* A handle without a generation is never valid. */
	CU_ASSERT_EQUAL(p11->C_GetAttributeValue(fx.s, fx.pub & 0xFFFFFF, &a, 1),
	                CKR_OBJECT_HANDLE_INVALID);
	/* Refusing stale handles is not an injected fault. */
	CU_ASSERT_EQUAL(pf.count("faults"), 0);

	/* The objects themselves are untouched. */
	CK_OBJECT_HANDLE pub = 0;
	CU_ASSERT_EQUAL_FATAL(find_key(fx.s, fx.id, CKO_PUBLIC_KEY, &pub), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_GetAttributeValue(fx.s, pub, &a, 1), CKR_OK);
	CU_ASSERT_EQUAL(memcmp(id, fx.id, sizeof(id)), 0);
	teardown(&fx);
}

static void test_p11fault_logout_every_logs_the_token_out(void)
{
	fixture_t fx;
	setup(&fx);
	pf.set("logout_every", 1);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_USER_NOT_LOGGED_IN);
	CU_ASSERT_EQUAL(pf.count("faults"), 1);
	pf.set("logout_every", 0);

	CK_SESSION_INFO si;
	CU_ASSERT_EQUAL(p11->C_GetSessionInfo(fx.s, &si), CKR_OK);
	CU_ASSERT_EQUAL(si.state, CKS_RW_PUBLIC_SESSION);
	/* CKR_OK rather than CKR_USER_ALREADY_LOGGED_IN: the logout was real. */
	CU_ASSERT_EQUAL(p11->C_Login(fx.s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, 4), CKR_OK);

	/* A new session signs again (the old one still has its sign operation
	 * active, and SoftHSM dropped the private session key at logout). */
	CK_SESSION_HANDLE s2;
	CK_OBJECT_HANDLE pub, priv;
	CK_BYTE id[8];
	new_id(id);
	CU_ASSERT_EQUAL_FATAL(open_login(p11, &s2), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(gen_key(p11, s2, id, &pub, &priv), CKR_OK);
	CU_ASSERT_EQUAL(sign(p11, s2, priv), CKR_OK);
	p11->C_CloseSession(s2);
	teardown(&fx);
}

static void test_p11fault_session_invalid_every_closes_the_session(void)
{
	fixture_t fx;
	setup(&fx);
	pf.set("session_invalid_every", 2);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_OK);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_SESSION_HANDLE_INVALID);
	CU_ASSERT_EQUAL(pf.count("faults"), 1);
	CK_SESSION_INFO si;
	CU_ASSERT_EQUAL(p11->C_GetSessionInfo(fx.s, &si), CKR_SESSION_HANDLE_INVALID);
	CU_ASSERT_EQUAL(pf.count("faults"), 1);

	CK_SESSION_HANDLE s2;
	CU_ASSERT_EQUAL_FATAL(open_login(p11, &s2), CKR_OK);
	p11->C_CloseSession(s2);
	teardown(&fx);
}

static void test_p11fault_vanish_hides_the_token_then_returns(void)
{
	fixture_t fx;
	setup(&fx);
	CK_SLOT_ID slot;
	CU_ASSERT_EQUAL_FATAL(find_slot(p11, &slot), CKR_OK);

	pf.vanish(300);
	double start = now_ms();
	CK_ULONG n = 99;
	CU_ASSERT_EQUAL(p11->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	CU_ASSERT_EQUAL(n, 0);
	n = 0;
	CU_ASSERT_EQUAL(p11->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	CU_ASSERT(n > 0);
	CK_SLOT_INFO si;
	CU_ASSERT_EQUAL(p11->C_GetSlotInfo(slot, &si), CKR_OK);
	CU_ASSERT_EQUAL(si.flags & CKF_TOKEN_PRESENT, 0);
	CK_TOKEN_INFO ti;
	CU_ASSERT_EQUAL(p11->C_GetTokenInfo(slot, &ti), CKR_TOKEN_NOT_PRESENT);
	CK_SESSION_HANDLE s2;
	CU_ASSERT_EQUAL(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s2),
	                CKR_TOKEN_NOT_PRESENT);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_DEVICE_REMOVED);
	CU_ASSERT_EQUAL(pf.count("faults"), 3);
	CU_ASSERT(now_ms() - start < 300); /* else the asserts above prove nothing */

	sleep_ms(350);
	CU_ASSERT_EQUAL(find_slot(p11, &slot), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_GetSlotInfo(slot, &si), CKR_OK);
	CU_ASSERT_NOT_EQUAL(si.flags & CKF_TOKEN_PRESENT, 0);
	/* The old session died with the removal... */
	CK_SESSION_INFO info;
	CU_ASSERT_EQUAL(p11->C_GetSessionInfo(fx.s, &info), CKR_SESSION_HANDLE_INVALID);
	/* ...which logged the token out: a new session logs in and signs. */
	CU_ASSERT_EQUAL_FATAL(
	        p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s2),
	        CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Login(s2, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, 4), CKR_OK);
	CK_OBJECT_HANDLE pub, priv;
	CK_BYTE id[8];
	new_id(id);
	CU_ASSERT_EQUAL_FATAL(gen_key(p11, s2, id, &pub, &priv), CKR_OK);
	CU_ASSERT_EQUAL(sign(p11, s2, priv), CKR_OK);
	p11->C_CloseSession(s2);
	teardown(&fx);
}

static void test_p11fault_vanish_after_fires_once(void)
{
	fixture_t fx;
	setup(&fx);
	pf.set("vanish_ms", 200);
	pf.set("vanish_after", 2);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_OK);
	/* The second C_Sign is forwarded; the token vanishes after it. */
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_OK);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_DEVICE_REMOVED);
	CK_ULONG n = 99;
	CU_ASSERT_EQUAL(p11->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	CU_ASSERT_EQUAL(n, 0);

	sleep_ms(250);
	CK_SESSION_HANDLE s2;
	CK_OBJECT_HANDLE pub, priv;
	CK_BYTE id[8];
	new_id(id);
	CU_ASSERT_EQUAL_FATAL(open_login(p11, &s2), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(gen_key(p11, s2, id, &pub, &priv), CKR_OK);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(sign(p11, s2, priv), CKR_OK);
	}
	p11->C_CloseSession(s2);
	teardown(&fx);
}

static void test_p11fault_sign_latency_delays_each_sign(void)
{
	fixture_t fx;
	setup(&fx);
	pf.set("sign_latency_us", 20000);
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	CK_BYTE digest[32] = {0}, sig[64];
	CK_ULONG len = sizeof(sig);
	CU_ASSERT_EQUAL(p11->C_SignInit(fx.s, &mech, fx.priv), CKR_OK);
	double start = now_ms();
	CU_ASSERT_EQUAL(p11->C_Sign(fx.s, digest, sizeof(digest), sig, &len), CKR_OK);
	CU_ASSERT(now_ms() - start >= 20.0);
	CU_ASSERT_EQUAL(pf.count("faults"), 0);
	teardown(&fx);
}

typedef struct {
	CK_OBJECT_HANDLE key;
	CK_RV rv;
} signer_arg_t;

static void *sign_thread(void *p)
{
	signer_arg_t *a = p;
	CK_SESSION_HANDLE s;
	a->rv = open_login(p11, &s);
	if (a->rv == CKR_OK) {
		a->rv = sign(p11, s, a->key);
		p11->C_CloseSession(s);
	}
	return NULL;
}

static void test_p11fault_sign_latency_overlaps_across_sessions(void)
{
	fixture_t fx;
	setup(&fx);
	pf.set("sign_latency_us", 100000);
	pthread_t t[PARALLEL];
	signer_arg_t args[PARALLEL];
	double start = now_ms();
	for (int i = 0; i < PARALLEL; i++) {
		args[i] = (signer_arg_t){.key = fx.priv, .rv = CKR_GENERAL_ERROR};
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, sign_thread, &args[i]) == 0);
	}
	for (int i = 0; i < PARALLEL; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(args[i].rv, CKR_OK);
	}
	double elapsed = now_ms() - start;
	/* In series the sleeps alone would take PARALLEL * 100 ms. */
	CU_ASSERT(elapsed >= 100.0);
	CU_ASSERT(elapsed < (PARALLEL - 1) * 100.0);
	CU_ASSERT_EQUAL(pf.count("C_Sign"), PARALLEL);
	teardown(&fx);
}

static void test_p11fault_generate_fail_creates_the_key_anyway(void)
{
	fixture_t fx;
	setup(&fx);
	pf.set("generate_fail", 1);
	CK_BYTE id[8];
	new_id(id);
	CK_OBJECT_HANDLE pub = 0, priv = 0;
	CU_ASSERT_EQUAL(gen_key(p11, fx.s, id, &pub, &priv), CKR_DEVICE_ERROR);
	CU_ASSERT_EQUAL(pub, 0);
	CU_ASSERT_EQUAL(priv, 0);
	CU_ASSERT_EQUAL(pf.count("faults"), 1);

	CU_ASSERT_EQUAL_FATAL(find_key(fx.s, id, CKO_PRIVATE_KEY, &priv), CKR_OK);
	CU_ASSERT_EQUAL(find_key(fx.s, id, CKO_PUBLIC_KEY, &pub), CKR_OK);
	CU_ASSERT_EQUAL(sign(p11, fx.s, priv), CKR_OK);

	/* Only the first generation loses its reply. */
	new_id(id);
	CU_ASSERT_EQUAL(gen_key(p11, fx.s, id, &pub, &priv), CKR_OK);
	CU_ASSERT_EQUAL(pf.count("C_GenerateKeyPair"), 3); /* with setup's */
	CU_ASSERT_EQUAL(pf.count("faults"), 1);
	teardown(&fx);
}

static void test_p11fault_login_fail_returns_the_configured_error(void)
{
	fixture_t fx;
	setup(&fx);
	pf.set("login_fail", (long)CKR_PIN_LOCKED);
	CU_ASSERT_EQUAL(p11->C_Login(fx.s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, 4), CKR_PIN_LOCKED);
	CU_ASSERT_EQUAL(pf.count("C_Login"), 2);
	CU_ASSERT_EQUAL(pf.count("faults"), 1);
	pf.set("login_fail", 0);
	/* The real module is reached again (and the session is still logged in). */
	CU_ASSERT_EQUAL(p11->C_Login(fx.s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, 4),
	                CKR_USER_ALREADY_LOGGED_IN);
	teardown(&fx);
}

static void test_p11fault_logout_control_logs_every_session_out(void)
{
	fixture_t fx;
	setup(&fx);
	pf.logout();
	CK_SESSION_INFO si;
	CU_ASSERT_EQUAL(p11->C_GetSessionInfo(fx.s, &si), CKR_OK);
	CU_ASSERT_EQUAL(si.state, CKS_RW_PUBLIC_SESSION);
	CU_ASSERT_EQUAL(p11->C_Login(fx.s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, 4), CKR_OK);
	teardown(&fx);
}

static void test_p11fault_invalidate_sessions_closes_every_session(void)
{
	fixture_t fx;
	setup(&fx);
	pf.invalidate_sessions();
	CK_SESSION_INFO si;
	CU_ASSERT_EQUAL(p11->C_GetSessionInfo(fx.s, &si), CKR_SESSION_HANDLE_INVALID);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_SESSION_HANDLE_INVALID);
	CK_SESSION_HANDLE s2;
	CU_ASSERT_EQUAL_FATAL(open_login(p11, &s2), CKR_OK);
	p11->C_CloseSession(s2);
	teardown(&fx);
}

static void test_p11fault_reset_turns_every_knob_off(void)
{
	fixture_t fx;
	setup(&fx);
	pf.set("sign_fail_every", 1);
	pf.set("logout_every", 1);
	pf.set("session_invalid_every", 1);
	pf.set("key_invalid_every", 1);
	pf.set("sign_latency_us", 500000);
	pf.set("login_fail", (long)CKR_PIN_INCORRECT);
	pf.set("vanish_after", 1);
	pf.set("generate_fail", 5);
	pf.reset();
	double start = now_ms();
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_OK);
	CU_ASSERT_EQUAL(sign(p11, fx.s, fx.priv), CKR_OK);
	CU_ASSERT(now_ms() - start < 500.0);
	CU_ASSERT_EQUAL(p11->C_Login(fx.s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, 4),
	                CKR_USER_ALREADY_LOGGED_IN);
	CK_BYTE id[8];
	CK_OBJECT_HANDLE pub, priv;
	new_id(id);
	CU_ASSERT_EQUAL(gen_key(p11, fx.s, id, &pub, &priv), CKR_OK);
	CU_ASSERT_EQUAL(pf.count("faults"), 0);
	teardown(&fx);
}

/* Run in a fresh process by test_p11fault_environment_sets_the_knobs with
 * P11FAULT_LOGIN_FAIL=CKR_PIN_EXPIRED, P11FAULT_SIGN_FAIL_EVERY=1 and
 * P11FAULT_SIGN_LATENCY_US=30000. Returns the number of failed checks. */
static int env_child(void)
{
	int bad = 0;
	p11fault_api_t api;
	CK_C_GetFunctionList gfl = NULL;
	CK_FUNCTION_LIST_PTR f = NULL;
	CK_C_INITIALIZE_ARGS init = {.flags = CKF_OS_LOCKING_OK};
	if (p11fault_bind(testutil_p11fault_path(), &api) != 0 ||
	    p11fault_sym(api.dl, "C_GetFunctionList", &gfl, sizeof(gfl)) != 0 ||
	    gfl(&f) != CKR_OK || f->C_Initialize(&init) != CKR_OK) {
		fprintf(stderr, "env child: cannot load the module\n");
		return 100;
	}
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	if (find_slot(f, &slot) != CKR_OK ||
	    f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) != CKR_OK) {
		fprintf(stderr, "env child: no session\n");
		return 100;
	}
	CK_RV rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, 4);
	if (rv != CKR_PIN_EXPIRED) {
		fprintf(stderr, "env child: C_Login gave 0x%lx\n", (unsigned long)rv);
		bad++;
	}
	api.set("login_fail", 0);
	CK_OBJECT_HANDLE pub, priv;
	CK_BYTE id[8];
	new_id(id);
	if (f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, 4) != CKR_OK ||
	    gen_key(f, s, id, &pub, &priv) != CKR_OK) {
		fprintf(stderr, "env child: cannot log in and generate\n");
		return bad + 100;
	}
	double start = now_ms();
	rv = sign(f, s, priv);
	double elapsed = now_ms() - start;
	if (rv != CKR_DEVICE_ERROR) {
		fprintf(stderr, "env child: C_Sign gave 0x%lx\n", (unsigned long)rv);
		bad++;
	}
	if (elapsed < 30.0) {
		fprintf(stderr, "env child: C_Sign took %.1f ms\n", elapsed);
		bad++;
	}
	if (api.count("faults") != 2) {
		fprintf(stderr, "env child: %ld faults\n", api.count("faults"));
		bad++;
	}
	f->C_CloseSession(s);
	f->C_Finalize(NULL);
	return bad;
}

static void test_p11fault_environment_sets_the_knobs(void)
{
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		setenv("P11FAULT_LOGIN_FAIL", "CKR_PIN_EXPIRED", 1);
		setenv("P11FAULT_SIGN_FAIL_EVERY", "1", 1);
		setenv("P11FAULT_SIGN_LATENCY_US", "30000", 1);
		execl("/proc/self/exe", "test_p11fault", "--env-child", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--env-child") == 0) {
		return env_child();
	}
	static const char *const labels[] = {TOKEN_LABEL};
	testutil_token_create(labels, 1);
	setenv("P11FAULT_MODULE", testutil_softhsm_path(), 1);

	CK_C_GetFunctionList gfl = NULL;
	CK_C_INITIALIZE_ARGS init = {.flags = CKF_OS_LOCKING_OK};
	if (p11fault_bind(testutil_p11fault_path(), &pf) != 0 ||
	    p11fault_sym(pf.dl, "C_GetFunctionList", &gfl, sizeof(gfl)) != 0 ||
	    gfl(&p11) != CKR_OK || p11->C_Initialize(&init) != CKR_OK) {
		fprintf(stderr, "test_p11fault: cannot load %s: %s\n", testutil_p11fault_path(),
		        dlerror());
		testutil_token_cleanup();
		return 1;
	}

	static const testutil_case_t cases[] = {
	        {"forwards_and_counts", test_p11fault_forwards_and_counts},
	        {"sign_fail_every_third", test_p11fault_sign_fail_every_third},
	        {"key_invalid_every_refuses_old_handles",
	         test_p11fault_key_invalid_every_refuses_old_handles},
	        {"invalidate_keys_refuses_every_object_function",
	         test_p11fault_invalidate_keys_refuses_every_object_function},
	        {"logout_every_logs_the_token_out", test_p11fault_logout_every_logs_the_token_out},
	        {"session_invalid_every_closes_the_session",
	         test_p11fault_session_invalid_every_closes_the_session},
	        {"vanish_hides_the_token_then_returns",
	         test_p11fault_vanish_hides_the_token_then_returns},
	        {"vanish_after_fires_once", test_p11fault_vanish_after_fires_once},
	        {"sign_latency_delays_each_sign", test_p11fault_sign_latency_delays_each_sign},
	        {"sign_latency_overlaps_across_sessions",
	         test_p11fault_sign_latency_overlaps_across_sessions},
	        {"generate_fail_creates_the_key_anyway",
	         test_p11fault_generate_fail_creates_the_key_anyway},
	        {"login_fail_returns_the_configured_error",
	         test_p11fault_login_fail_returns_the_configured_error},
	        {"logout_control_logs_every_session_out",
	         test_p11fault_logout_control_logs_every_session_out},
	        {"invalidate_sessions_closes_every_session",
	         test_p11fault_invalidate_sessions_closes_every_session},
	        {"reset_turns_every_knob_off", test_p11fault_reset_turns_every_knob_off},
	        {"environment_sets_the_knobs", test_p11fault_environment_sets_the_knobs},
	        {NULL, NULL},
	};
	int failed = testutil_run("p11fault", cases);
	p11->C_Finalize(NULL);
	testutil_token_cleanup();
	return failed;
}
