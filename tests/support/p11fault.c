/*
 * p11fault: fault-injecting PKCS#11 module forwarding to a real one. The
 * behaviour, knobs and counters are described in p11fault.h.
 *
 * State: all process-wide and atomic (knobs, counters, the handle generation,
 * the vanish deadline and epoch). There is no lock, so no lock is ever held
 * across a call into the real module; the real module's own locking (we pass
 * the caller's C_Initialize arguments through) orders what needs ordering.
 */
#include "tests/support/p11fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sys/stat.h>

#include <p11-kit/pkcs11.h>

#define DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

/* Object handles seen by the caller: real handle in the low 24 bits, the
 * generation above. */
#define GEN_SHIFT 24
#define REAL_MASK ((CK_OBJECT_HANDLE)0xFFFFFF)

/* The 68 functions of CK_FUNCTION_LIST 2.40, in the order of the struct. */
#define FUNCTIONS(X)                                                                               \
	X(C_Initialize)                                                                            \
	X(C_Finalize)                                                                              \
	X(C_GetInfo)                                                                               \
	X(C_GetFunctionList)                                                                       \
	X(C_GetSlotList)                                                                           \
	X(C_GetSlotInfo)                                                                           \
	X(C_GetTokenInfo)                                                                          \
	X(C_GetMechanismList)                                                                      \
	X(C_GetMechanismInfo)                                                                      \
	X(C_InitToken)                                                                             \
	X(C_InitPIN)                                                                               \
	X(C_SetPIN)                                                                                \
	X(C_OpenSession)                                                                           \
	X(C_CloseSession)                                                                          \
	X(C_CloseAllSessions)                                                                      \
	X(C_GetSessionInfo)                                                                        \
	X(C_GetOperationState)                                                                     \
	X(C_SetOperationState)                                                                     \
	X(C_Login)                                                                                 \
	X(C_Logout)                                                                                \
	X(C_CreateObject)                                                                          \
	X(C_CopyObject)                                                                            \
	X(C_DestroyObject)                                                                         \
	X(C_GetObjectSize)                                                                         \
	X(C_GetAttributeValue)                                                                     \
	X(C_SetAttributeValue)                                                                     \
	X(C_FindObjectsInit)                                                                       \
	X(C_FindObjects)                                                                           \
	X(C_FindObjectsFinal)                                                                      \
	X(C_EncryptInit)                                                                           \
	X(C_Encrypt)                                                                               \
	X(C_EncryptUpdate)                                                                         \
	X(C_EncryptFinal)                                                                          \
	X(C_DecryptInit)                                                                           \
	X(C_Decrypt)                                                                               \
	X(C_DecryptUpdate)                                                                         \
	X(C_DecryptFinal)                                                                          \
	X(C_DigestInit)                                                                            \
	X(C_Digest)                                                                                \
	X(C_DigestUpdate)                                                                          \
	X(C_DigestKey)                                                                             \
	X(C_DigestFinal)                                                                           \
	X(C_SignInit)                                                                              \
	X(C_Sign)                                                                                  \
	X(C_SignUpdate)                                                                            \
	X(C_SignFinal)                                                                             \
	X(C_SignRecoverInit)                                                                       \
	X(C_SignRecover)                                                                           \
	X(C_VerifyInit)                                                                            \
	X(C_Verify)                                                                                \
	X(C_VerifyUpdate)                                                                          \
	X(C_VerifyFinal)                                                                           \
	X(C_VerifyRecoverInit)                                                                     \
	X(C_VerifyRecover)                                                                         \
	X(C_DigestEncryptUpdate)                                                                   \
	X(C_DecryptDigestUpdate)                                                                   \
	X(C_SignEncryptUpdate)                                                                     \
	X(C_DecryptVerifyUpdate)                                                                   \
	X(C_GenerateKey)                                                                           \
	X(C_GenerateKeyPair)                                                                       \
	X(C_WrapKey)                                                                               \
	X(C_UnwrapKey)                                                                             \
	X(C_DeriveKey)                                                                             \
	X(C_SeedRandom)                                                                            \
	X(C_GenerateRandom)                                                                        \
	X(C_GetFunctionStatus)                                                                     \
	X(C_CancelFunction)                                                                        \
	X(C_WaitForSlotEvent)

enum fn {
#define X(name) FN_##name,
	FUNCTIONS(X)
#undef X
	        FN_COUNT
};

_Static_assert(FN_COUNT == 68, "CK_FUNCTION_LIST 2.40 has 68 functions");
_Static_assert(offsetof(CK_FUNCTION_LIST, C_WaitForSlotEvent) + sizeof(CK_C_WaitForSlotEvent) ==
                       sizeof(CK_FUNCTION_LIST),
               "C_WaitForSlotEvent is the last entry of CK_FUNCTION_LIST");

static const char *const fn_names[FN_COUNT] = {
#define X(name) #name,
        FUNCTIONS(X)
#undef X
};

enum knob {
	K_SIGN_LATENCY_US,
	K_SIGN_FAIL_EVERY,
	K_SESSION_INVALID_EVERY,
	K_KEY_INVALID_EVERY,
	K_LOGOUT_EVERY,
	K_VANISH_AFTER,
	K_VANISH_MS,
	K_GENERATE_FAIL,
	K_LOGIN_FAIL,
	K_SIGN_MAX_LEN,
	K_COUNT
};

static const struct {
	const char *name; /* for p11fault_set() */
	const char *env;  /* environment variable read at load */
} knobs[K_COUNT] = {
        [K_SIGN_LATENCY_US] = {"sign_latency_us", "P11FAULT_SIGN_LATENCY_US"},
        [K_SIGN_FAIL_EVERY] = {"sign_fail_every", "P11FAULT_SIGN_FAIL_EVERY"},
        [K_SESSION_INVALID_EVERY] = {"session_invalid_every", "P11FAULT_SESSION_INVALID_EVERY"},
        [K_KEY_INVALID_EVERY] = {"key_invalid_every", "P11FAULT_KEY_INVALID_EVERY"},
        [K_LOGOUT_EVERY] = {"logout_every", "P11FAULT_LOGOUT_EVERY"},
        [K_VANISH_AFTER] = {"vanish_after", "P11FAULT_VANISH_AFTER"},
        [K_VANISH_MS] = {"vanish_ms", "P11FAULT_VANISH_MS"},
        [K_GENERATE_FAIL] = {"generate_fail", "P11FAULT_GENERATE_FAIL"},
        [K_LOGIN_FAIL] = {"login_fail", "P11FAULT_LOGIN_FAIL"},
        [K_SIGN_MAX_LEN] = {"sign_max_len", "P11FAULT_SIGN_MAX_LEN"},
};

/* CK_RV names P11FAULT_LOGIN_FAIL accepts. */
static const struct {
	const char *name;
	CK_RV rv;
} rv_names[] = {
        {"CKR_PIN_INCORRECT", CKR_PIN_INCORRECT},
        {"CKR_PIN_LOCKED", CKR_PIN_LOCKED},
        {"CKR_PIN_EXPIRED", CKR_PIN_EXPIRED},
        {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
};

/* Process-wide state: atomics only, shared by every thread and by every user
 * of the module in the process. */
static atomic_long calls[FN_COUNT];     /* calls per function, refused ones included */
static atomic_long faults;              /* calls answered with an injected error */
static atomic_long knob_value[K_COUNT]; /* 0 = off */
static atomic_long knob_hits[K_COUNT];  /* C_Sign/C_SignInit/... seen since the knob was set */
static atomic_ulong generation = 1;     /* of object handles; only grows */
static atomic_llong vanish_until;       /* CLOCK_MONOTONIC ns; 0 = present */
static atomic_ulong vanish_epoch;       /* bumped at the start of every vanish */

/* The real module's function list: written once by load() under `once`, read
 * only after pthread_once() (see real_list()). NULL if loading failed. */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static CK_FUNCTION_LIST_PTR real;

static CK_RV shim_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList);

/* Parses one knob's environment variable into knob_value; a malformed value is
 * reported on stderr and ignored. */
static void read_env_knob(enum knob k)
{
	const char *s = getenv(knobs[k].env);
	if (s == NULL || *s == '\0') {
		return;
	}
	if (k == K_LOGIN_FAIL) {
		for (size_t i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++) {
			if (strcmp(s, rv_names[i].name) == 0) {
				atomic_store(&knob_value[k], (long)rv_names[i].rv);
				return;
			}
		}
	}
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v < 0) {
		fprintf(stderr, "p11fault: ignoring %s=%s\n", knobs[k].env, s);
		return;
	}
	atomic_store(&knob_value[k], v);
}

/* P11FAULT_DOWN_FILE, read once by load(): the token is away while this
 * file exists (tests of a daemon, another process, switch it by touch/rm). */
static char down_file[4096];

/* Runs once per process (pthread_once): reads the knobs from the environment,
 * dlopens the real module (never closed: its list outlives every caller) and
 * takes its function list. Failures are reported on stderr and leave real
 * NULL. */
static void load(void)
{
	for (int k = 0; k < K_COUNT; k++) {
		read_env_knob((enum knob)k);
	}
	const char *down = getenv("P11FAULT_DOWN_FILE");
	if (down != NULL) {
		snprintf(down_file, sizeof(down_file), "%s", down);
	}
	const char *path = getenv("P11FAULT_MODULE");
	if (path == NULL || *path == '\0') {
		path = DEFAULT_MODULE;
	}
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		fprintf(stderr, "p11fault: %s\n", dlerror());
		return;
	}
	CK_C_GetFunctionList gfl = NULL;
	CK_FUNCTION_LIST_PTR list = NULL;
	if (p11fault_sym(dl, "C_GetFunctionList", &gfl, sizeof(gfl)) != 0 ||
	    gfl == C_GetFunctionList || gfl(&list) != CKR_OK || list == NULL) {
		fprintf(stderr, "p11fault: %s is not a usable PKCS#11 module\n", path);
		dlclose(dl);
		return;
	}
	real = list;
}

/* Returns the real function list (NULL if the module could not be loaded),
 * loading it on first use. Thread-safe. */
static CK_FUNCTION_LIST_PTR real_list(void)
{
	pthread_once(&once, load);
	return real;
}

/* Counts a call of function id and returns the real list. Entries are reached
 * only through our list, which is handed out only once loading succeeded, so
 * the result is never NULL there. */
static CK_FUNCTION_LIST_PTR enter(enum fn id)
{
	atomic_fetch_add(&calls[id], 1);
	return real_list();
}

/* Counts an injected error and returns it. */
static CK_RV fault(CK_RV rv)
{
	atomic_fetch_add(&faults, 1);
	return rv;
}

/* Absolute CLOCK_MONOTONIC time in nanoseconds. */
static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool vanished(void)
{
	long long until = atomic_load(&vanish_until);
	if (until != 0 && now_ns() < until) {
		return true;
	}
	struct stat st;
	return down_file[0] != '\0' && stat(down_file, &st) == 0;
}

/* True (and one fault counted) if the token is vanished: the caller returns
 * CKR_DEVICE_REMOVED (session functions) or CKR_TOKEN_NOT_PRESENT (slot ones). */
static bool refused(void)
{
	if (!vanished()) {
		return false;
	}
	atomic_fetch_add(&faults, 1);
	return true;
}

/* Advances knob k's hit count; true on every Nth hit (N = the knob, 0 = off). */
static bool every_nth(enum knob k)
{
	long n = atomic_load(&knob_value[k]);
	if (n <= 0) {
		return false;
	}
	long hit = atomic_fetch_add(&knob_hits[k], 1) + 1;
	return hit % n == 0;
}

/* Advances knob k's hit count; true on the first N hits. */
static bool first_n(enum knob k)
{
	long n = atomic_load(&knob_value[k]);
	return n > 0 && atomic_fetch_add(&knob_hits[k], 1) < n;
}

/* Advances knob k's hit count; true on the Nth hit only. */
static bool at_nth(enum knob k)
{
	long n = atomic_load(&knob_value[k]);
	return n > 0 && atomic_fetch_add(&knob_hits[k], 1) + 1 == n;
}

/* Sleeps us microseconds (relative), resuming after signals. */
static void sleep_us(long us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* Allocates the real module's slot list (tokens only if present is CK_TRUE)
 * into *slots (caller frees) and *n. Returns false if there is none or on any
 * failure (e.g. the module is not initialised). */
static bool real_slots(CK_FUNCTION_LIST_PTR f, CK_BBOOL present, CK_SLOT_ID **slots, CK_ULONG *n)
{
	for (int attempt = 0; attempt < 4; attempt++) {
		CK_ULONG count = 0;
		if (f->C_GetSlotList(present, NULL, &count) != CKR_OK || count == 0) {
			return false;
		}
		CK_SLOT_ID *list = calloc(count, sizeof(*list));
		if (list == NULL) {
			return false;
		}
		CK_RV rv = f->C_GetSlotList(present, list, &count);
		if (rv == CKR_OK && count > 0) {
			*slots = list;
			*n = count;
			return true;
		}
		free(list);
		if (rv != CKR_BUFFER_TOO_SMALL) {
			return false;
		}
	}
	return false;
}

/* Closes every real session of every slot (real C_CloseAllSessions). */
static void close_all_sessions(void)
{
	CK_FUNCTION_LIST_PTR f = real_list();
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	if (f == NULL || !real_slots(f, CK_FALSE, &slots, &n)) {
		return;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		f->C_CloseAllSessions(slots[i]);
	}
	free(slots);
}

/* Starts a vanish of ms milliseconds: the deadline and epoch first, so that a
 * C_OpenSession racing with the close below notices and undoes itself. */
static void start_vanish(long ms)
{
	if (ms < 0) {
		ms = 0;
	}
	atomic_store(&vanish_until, now_ns() + (long long)ms * 1000000LL);
	atomic_fetch_add(&vanish_epoch, 1);
	close_all_sessions();
}

/* Maps an inbound handle to the real one; stale (an older generation) is
 * returned for a handle of another generation. CK_INVALID_HANDLE passes. */
static CK_RV in_handle(CK_OBJECT_HANDLE h, CK_OBJECT_HANDLE *out, CK_RV stale)
{
	if (h == CK_INVALID_HANDLE) {
		*out = h;
		return CKR_OK;
	}
	if ((h >> GEN_SHIFT) != atomic_load(&generation)) {
		return stale;
	}
	*out = h & REAL_MASK;
	return CKR_OK;
}

/* Writes the caller's form of real handle h to *out (if out is not NULL).
 * Returns CKR_GENERAL_ERROR if h does not fit in the low 24 bits. */
static CK_RV out_handle(CK_OBJECT_HANDLE h, CK_OBJECT_HANDLE_PTR out)
{
	if (out == NULL) {
		return CKR_OK;
	}
	if (h > REAL_MASK) {
		return CKR_GENERAL_ERROR;
	}
	*out = h == CK_INVALID_HANDLE ? h
	                              : h | (CK_OBJECT_HANDLE)atomic_load(&generation) << GEN_SHIFT;
	return CKR_OK;
}

/* ---- General purpose and slot functions ---- */

static CK_RV shim_C_Initialize(CK_VOID_PTR pInitArgs)
{
	return enter(FN_C_Initialize)->C_Initialize(pInitArgs);
}

static CK_RV shim_C_Finalize(CK_VOID_PTR pReserved)
{
	return enter(FN_C_Finalize)->C_Finalize(pReserved);
}

static CK_RV shim_C_GetInfo(CK_INFO_PTR pInfo)
{
	return enter(FN_C_GetInfo)->C_GetInfo(pInfo);
}

static CK_RV shim_C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList,
                                CK_ULONG_PTR pulCount)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_GetSlotList);
	if (tokenPresent && vanished()) {
		if (pulCount == NULL) {
			return CKR_ARGUMENTS_BAD;
		}
		*pulCount = 0;
		return CKR_OK;
	}
	return f->C_GetSlotList(tokenPresent, pSlotList, pulCount);
}

static CK_RV shim_C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	CK_RV rv = enter(FN_C_GetSlotInfo)->C_GetSlotInfo(slotID, pInfo);
	if (rv == CKR_OK && vanished()) {
		pInfo->flags &= ~(CK_FLAGS)CKF_TOKEN_PRESENT;
	}
	return rv;
}

static CK_RV shim_C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_GetTokenInfo);
	if (refused()) {
		return CKR_TOKEN_NOT_PRESENT;
	}
	return f->C_GetTokenInfo(slotID, pInfo);
}

static CK_RV shim_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
	return enter(FN_C_WaitForSlotEvent)->C_WaitForSlotEvent(flags, pSlot, pReserved);
}

static CK_RV shim_C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                                     CK_ULONG_PTR pulCount)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_GetMechanismList);
	if (refused()) {
		return CKR_TOKEN_NOT_PRESENT;
	}
	return f->C_GetMechanismList(slotID, pMechanismList, pulCount);
}

static CK_RV shim_C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
                                     CK_MECHANISM_INFO_PTR pInfo)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_GetMechanismInfo);
	if (refused()) {
		return CKR_TOKEN_NOT_PRESENT;
	}
	return f->C_GetMechanismInfo(slotID, type, pInfo);
}

static CK_RV shim_C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                              CK_UTF8CHAR_PTR pLabel)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_InitToken);
	if (refused()) {
		return CKR_TOKEN_NOT_PRESENT;
	}
	return f->C_InitToken(slotID, pPin, ulPinLen, pLabel);
}

static CK_RV shim_C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_InitPIN);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_InitPIN(hSession, pPin, ulPinLen);
}

static CK_RV shim_C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
                           CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_SetPIN);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_SetPIN(hSession, pOldPin, ulOldLen, pNewPin, ulNewLen);
}

/* ---- Session management ---- */

/* A session opened while a vanish starts (epoch changed) is closed again, as
 * the removal would have closed it. */
static CK_RV shim_C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
                                CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_OpenSession);
	unsigned long epoch = atomic_load(&vanish_epoch);
	if (refused()) {
		return CKR_TOKEN_NOT_PRESENT;
	}
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	CK_RV rv = f->C_OpenSession(slotID, flags, pApplication, Notify,
	                            phSession != NULL ? &h : NULL);
	if (rv != CKR_OK || phSession == NULL) {
		return rv;
	}
	if (atomic_load(&vanish_epoch) != epoch || vanished()) {
		f->C_CloseSession(h);
		return fault(CKR_TOKEN_NOT_PRESENT);
	}
	*phSession = h;
	return CKR_OK;
}

static CK_RV shim_C_CloseSession(CK_SESSION_HANDLE hSession)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_CloseSession);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_CloseSession(hSession);
}

static CK_RV shim_C_CloseAllSessions(CK_SLOT_ID slotID)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_CloseAllSessions);
	if (refused()) {
		return CKR_TOKEN_NOT_PRESENT;
	}
	return f->C_CloseAllSessions(slotID);
}

static CK_RV shim_C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_GetSessionInfo);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_GetSessionInfo(hSession, pInfo);
}

static CK_RV shim_C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                      CK_ULONG_PTR pulOperationStateLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_GetOperationState);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_GetOperationState(hSession, pOperationState, pulOperationStateLen);
}

static CK_RV shim_C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                      CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
                                      CK_OBJECT_HANDLE hAuthenticationKey)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_SetOperationState);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE enc, auth;
	CK_RV rv = in_handle(hEncryptionKey, &enc, CKR_KEY_HANDLE_INVALID);
	if (rv == CKR_OK) {
		rv = in_handle(hAuthenticationKey, &auth, CKR_KEY_HANDLE_INVALID);
	}
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_SetOperationState(hSession, pOperationState, ulOperationStateLen, enc, auth);
}

static CK_RV shim_C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                          CK_ULONG ulPinLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_Login);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_RV injected = (CK_RV)atomic_load(&knob_value[K_LOGIN_FAIL]);
	if (injected != CKR_OK) {
		return fault(injected);
	}
	return f->C_Login(hSession, userType, pPin, ulPinLen);
}

static CK_RV shim_C_Logout(CK_SESSION_HANDLE hSession)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_Logout);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_Logout(hSession);
}

/* ---- Object management ---- */

static CK_RV shim_C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                                 CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_CreateObject);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_RV rv = f->C_CreateObject(hSession, pTemplate, ulCount, phObject != NULL ? &h : NULL);
	if (rv != CKR_OK) {
		return rv;
	}
	return out_handle(h, phObject);
}

static CK_RV shim_C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                               CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                               CK_OBJECT_HANDLE_PTR phNewObject)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_CopyObject);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE obj, h = CK_INVALID_HANDLE;
	CK_RV rv = in_handle(hObject, &obj, CKR_OBJECT_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	rv = f->C_CopyObject(hSession, obj, pTemplate, ulCount, phNewObject != NULL ? &h : NULL);
	if (rv != CKR_OK) {
		return rv;
	}
	return out_handle(h, phNewObject);
}

static CK_RV shim_C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_DestroyObject);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE obj;
	CK_RV rv = in_handle(hObject, &obj, CKR_OBJECT_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_DestroyObject(hSession, obj);
}

static CK_RV shim_C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                  CK_ULONG_PTR pulSize)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_GetObjectSize);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE obj;
	CK_RV rv = in_handle(hObject, &obj, CKR_OBJECT_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_GetObjectSize(hSession, obj, pulSize);
}

static CK_RV shim_C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                      CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_GetAttributeValue);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE obj;
	CK_RV rv = in_handle(hObject, &obj, CKR_OBJECT_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_GetAttributeValue(hSession, obj, pTemplate, ulCount);
}

static CK_RV shim_C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                      CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_SetAttributeValue);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE obj;
	CK_RV rv = in_handle(hObject, &obj, CKR_OBJECT_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_SetAttributeValue(hSession, obj, pTemplate, ulCount);
}

static CK_RV shim_C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                                    CK_ULONG ulCount)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_FindObjectsInit);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_FindObjectsInit(hSession, pTemplate, ulCount);
}

static CK_RV shim_C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                                CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_FindObjects);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_RV rv = f->C_FindObjects(hSession, phObject, ulMaxObjectCount, pulObjectCount);
	for (CK_ULONG i = 0; rv == CKR_OK && i < *pulObjectCount; i++) {
		rv = out_handle(phObject[i], &phObject[i]);
	}
	return rv;
}

static CK_RV shim_C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_FindObjectsFinal);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_FindObjectsFinal(hSession);
}

/* ---- Encryption and decryption ---- */

static CK_RV shim_C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                CK_OBJECT_HANDLE hKey)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_EncryptInit);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE key;
	CK_RV rv = in_handle(hKey, &key, CKR_KEY_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_EncryptInit(hSession, pMechanism, key);
}

static CK_RV shim_C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                            CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_Encrypt);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_Encrypt(hSession, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen);
}

static CK_RV shim_C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                                  CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_EncryptUpdate);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_EncryptUpdate(hSession, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen);
}

static CK_RV shim_C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
                                 CK_ULONG_PTR pulLastEncryptedPartLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_EncryptFinal);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_EncryptFinal(hSession, pLastEncryptedPart, pulLastEncryptedPartLen);
}

static CK_RV shim_C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                CK_OBJECT_HANDLE hKey)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_DecryptInit);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE key;
	CK_RV rv = in_handle(hKey, &key, CKR_KEY_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_DecryptInit(hSession, pMechanism, key);
}

static CK_RV shim_C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData,
                            CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_Decrypt);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_Decrypt(hSession, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen);
}

static CK_RV shim_C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                  CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                  CK_ULONG_PTR pulPartLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_DecryptUpdate);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_DecryptUpdate(hSession, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen);
}

static CK_RV shim_C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart,
                                 CK_ULONG_PTR pulLastPartLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_DecryptFinal);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_DecryptFinal(hSession, pLastPart, pulLastPartLen);
}

/* ---- Message digesting ---- */

static CK_RV shim_C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_DigestInit);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_DigestInit(hSession, pMechanism);
}

static CK_RV shim_C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                           CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_Digest);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_Digest(hSession, pData, ulDataLen, pDigest, pulDigestLen);
}

static CK_RV shim_C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_DigestUpdate);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_DigestUpdate(hSession, pPart, ulPartLen);
}

static CK_RV shim_C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_DigestKey);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE key;
	CK_RV rv = in_handle(hKey, &key, CKR_KEY_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_DigestKey(hSession, key);
}

static CK_RV shim_C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest,
                                CK_ULONG_PTR pulDigestLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_DigestFinal);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_DigestFinal(hSession, pDigest, pulDigestLen);
}

/* ---- Signing and MACing ---- */

/* key_invalid_every fires here: all handles go stale, nothing reaches the
 * real module. */
static CK_RV shim_C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                             CK_OBJECT_HANDLE hKey)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_SignInit);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	if (every_nth(K_KEY_INVALID_EVERY)) {
		atomic_fetch_add(&generation, 1);
		return fault(CKR_KEY_HANDLE_INVALID);
	}
	CK_OBJECT_HANDLE key;
	CK_RV rv = in_handle(hKey, &key, CKR_KEY_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_SignInit(hSession, pMechanism, key);
}

/* The latency, sign_fail_every, session_invalid_every, logout_every and
 * vanish_after knobs act here. Every armed knob counts this call, even when
 * another one fires. */
static CK_RV shim_C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                         CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_Sign);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	long latency = atomic_load(&knob_value[K_SIGN_LATENCY_US]);
	if (latency > 0) {
		sleep_us(latency);
	}
	bool invalidate = every_nth(K_SESSION_INVALID_EVERY);
	bool logout = every_nth(K_LOGOUT_EVERY);
	bool fail = every_nth(K_SIGN_FAIL_EVERY);
	bool vanish = at_nth(K_VANISH_AFTER);
	long max_len = atomic_load(&knob_value[K_SIGN_MAX_LEN]);
	CK_RV rv;
	if (max_len > 0 && ulDataLen > (CK_ULONG)max_len) {
		/* A module that refuses long messages (seen with EdDSA). */
		rv = fault(CKR_DATA_LEN_RANGE);
	} else if (invalidate) {
		f->C_CloseSession(hSession);
		rv = fault(CKR_SESSION_HANDLE_INVALID);
	} else if (logout) {
		f->C_Logout(hSession);
		rv = fault(CKR_USER_NOT_LOGGED_IN);
	} else if (fail) {
		rv = fault(CKR_DEVICE_ERROR);
	} else {
		rv = f->C_Sign(hSession, pData, ulDataLen, pSignature, pulSignatureLen);
	}
	if (vanish) {
		start_vanish(atomic_load(&knob_value[K_VANISH_MS]));
	}
	return rv;
}

static CK_RV shim_C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_SignUpdate);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_SignUpdate(hSession, pPart, ulPartLen);
}

static CK_RV shim_C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                              CK_ULONG_PTR pulSignatureLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_SignFinal);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_SignFinal(hSession, pSignature, pulSignatureLen);
}

static CK_RV shim_C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                    CK_OBJECT_HANDLE hKey)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_SignRecoverInit);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE key;
	CK_RV rv = in_handle(hKey, &key, CKR_KEY_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_SignRecoverInit(hSession, pMechanism, key);
}

static CK_RV shim_C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                                CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_SignRecover);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_SignRecover(hSession, pData, ulDataLen, pSignature, pulSignatureLen);
}

/* ---- Verifying signatures and MACs ---- */

static CK_RV shim_C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                               CK_OBJECT_HANDLE hKey)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_VerifyInit);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE key;
	CK_RV rv = in_handle(hKey, &key, CKR_KEY_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_VerifyInit(hSession, pMechanism, key);
}

static CK_RV shim_C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                           CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_Verify);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_Verify(hSession, pData, ulDataLen, pSignature, ulSignatureLen);
}

static CK_RV shim_C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_VerifyUpdate);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_VerifyUpdate(hSession, pPart, ulPartLen);
}

static CK_RV shim_C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                                CK_ULONG ulSignatureLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_VerifyFinal);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_VerifyFinal(hSession, pSignature, ulSignatureLen);
}

static CK_RV shim_C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                      CK_OBJECT_HANDLE hKey)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_VerifyRecoverInit);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE key;
	CK_RV rv = in_handle(hKey, &key, CKR_KEY_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_VerifyRecoverInit(hSession, pMechanism, key);
}

static CK_RV shim_C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                                  CK_ULONG ulSignatureLen, CK_BYTE_PTR pData,
                                  CK_ULONG_PTR pulDataLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_VerifyRecover);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_VerifyRecover(hSession, pSignature, ulSignatureLen, pData, pulDataLen);
}

/* ---- Dual-function cryptographic operations ---- */

static CK_RV shim_C_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
                                        CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
                                        CK_ULONG_PTR pulEncryptedPartLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_DigestEncryptUpdate);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_DigestEncryptUpdate(hSession, pPart, ulPartLen, pEncryptedPart,
	                                pulEncryptedPartLen);
}

static CK_RV shim_C_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                        CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                        CK_ULONG_PTR pulPartLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_DecryptDigestUpdate);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_DecryptDigestUpdate(hSession, pEncryptedPart, ulEncryptedPartLen, pPart,
	                                pulPartLen);
}

static CK_RV shim_C_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
                                      CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
                                      CK_ULONG_PTR pulEncryptedPartLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_SignEncryptUpdate);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_SignEncryptUpdate(hSession, pPart, ulPartLen, pEncryptedPart,
	                              pulEncryptedPartLen);
}

static CK_RV shim_C_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                        CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                        CK_ULONG_PTR pulPartLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_DecryptVerifyUpdate);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_DecryptVerifyUpdate(hSession, pEncryptedPart, ulEncryptedPartLen, pPart,
	                                pulPartLen);
}

/* ---- Key management ---- */

static CK_RV shim_C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                                CK_OBJECT_HANDLE_PTR phKey)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_GenerateKey);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_RV rv = f->C_GenerateKey(hSession, pMechanism, pTemplate, ulCount,
	                            phKey != NULL ? &h : NULL);
	if (rv != CKR_OK) {
		return rv;
	}
	return out_handle(h, phKey);
}

/* generate_fail fires here, after the real generation succeeded: the key pair
 * stays in the token and the caller gets no handle. */
static CK_RV
shim_C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                       CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
                       CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
                       CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_GenerateKeyPair);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
	CK_RV rv = f->C_GenerateKeyPair(
	        hSession, pMechanism, pPublicKeyTemplate, ulPublicKeyAttributeCount,
	        pPrivateKeyTemplate, ulPrivateKeyAttributeCount, phPublicKey != NULL ? &pub : NULL,
	        phPrivateKey != NULL ? &priv : NULL);
	if (rv != CKR_OK) {
		return rv;
	}
	if (first_n(K_GENERATE_FAIL)) {
		return fault(CKR_DEVICE_ERROR);
	}
	CK_OBJECT_HANDLE pub_out = CK_INVALID_HANDLE, priv_out = CK_INVALID_HANDLE;
	rv = out_handle(pub, &pub_out);
	if (rv == CKR_OK) {
		rv = out_handle(priv, &priv_out);
	}
	if (rv != CKR_OK) {
		return rv;
	}
	if (phPublicKey != NULL) {
		*phPublicKey = pub_out;
	}
	if (phPrivateKey != NULL) {
		*phPrivateKey = priv_out;
	}
	return CKR_OK;
}

static CK_RV shim_C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                            CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey,
                            CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_WrapKey);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE wrapping, key;
	CK_RV rv = in_handle(hWrappingKey, &wrapping, CKR_WRAPPING_KEY_HANDLE_INVALID);
	if (rv == CKR_OK) {
		rv = in_handle(hKey, &key, CKR_KEY_HANDLE_INVALID);
	}
	if (rv != CKR_OK) {
		return rv;
	}
	return f->C_WrapKey(hSession, pMechanism, wrapping, key, pWrappedKey, pulWrappedKeyLen);
}

static CK_RV shim_C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                              CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
                              CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
                              CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_UnwrapKey);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE unwrapping, h = CK_INVALID_HANDLE;
	CK_RV rv = in_handle(hUnwrappingKey, &unwrapping, CKR_UNWRAPPING_KEY_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	rv = f->C_UnwrapKey(hSession, pMechanism, unwrapping, pWrappedKey, ulWrappedKeyLen,
	                    pTemplate, ulAttributeCount, phKey != NULL ? &h : NULL);
	if (rv != CKR_OK) {
		return rv;
	}
	return out_handle(h, phKey);
}

static CK_RV shim_C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                              CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
                              CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_DeriveKey);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	CK_OBJECT_HANDLE base, h = CK_INVALID_HANDLE;
	CK_RV rv = in_handle(hBaseKey, &base, CKR_KEY_HANDLE_INVALID);
	if (rv != CKR_OK) {
		return rv;
	}
	rv = f->C_DeriveKey(hSession, pMechanism, base, pTemplate, ulAttributeCount,
	                    phKey != NULL ? &h : NULL);
	if (rv != CKR_OK) {
		return rv;
	}
	return out_handle(h, phKey);
}

/* ---- Random number generation and parallel function management ---- */

static CK_RV shim_C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_SeedRandom);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_SeedRandom(hSession, pSeed, ulSeedLen);
}

static CK_RV shim_C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData,
                                   CK_ULONG ulRandomLen)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_GenerateRandom);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_GenerateRandom(hSession, RandomData, ulRandomLen);
}

static CK_RV shim_C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_GetFunctionStatus);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_GetFunctionStatus(hSession);
}

static CK_RV shim_C_CancelFunction(CK_SESSION_HANDLE hSession)
{
	CK_FUNCTION_LIST_PTR f = enter(FN_C_CancelFunction);
	if (refused()) {
		return CKR_DEVICE_REMOVED;
	}
	return f->C_CancelFunction(hSession);
}

/* Our function list: every entry is shim_<name>, generated from FUNCTIONS so
 * that none can be missing. Handed out by C_GetFunctionList; never changes. */
static CK_FUNCTION_LIST function_list = {.version = {2, 40},
#define X(name) .name = shim_##name,
                                         FUNCTIONS(X)
#undef X
};

static CK_RV shim_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	atomic_fetch_add(&calls[FN_C_GetFunctionList], 1);
	if (ppFunctionList == NULL) {
		return CKR_ARGUMENTS_BAD;
	}
	if (real_list() == NULL) {
		return CKR_GENERAL_ERROR;
	}
	*ppFunctionList = &function_list;
	return CKR_OK;
}

/* The module's entry point: loads the real module on first use; returns
 * CKR_GENERAL_ERROR if it cannot be loaded (the reason is on stderr). */
CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	return shim_C_GetFunctionList(ppFunctionList);
}

/* ---- Control API (p11fault.h) ---- */

void p11fault_set(const char *knob, long value)
{
	real_list(); /* the environment is read first, so that it never overrides */
	for (int k = 0; knob != NULL && k < K_COUNT; k++) {
		if (strcmp(knob, knobs[k].name) == 0) {
			atomic_store(&knob_hits[k], 0);
			atomic_store(&knob_value[k], value);
			return;
		}
	}
	fprintf(stderr, "p11fault: unknown knob \"%s\" ignored\n", knob != NULL ? knob : "(null)");
}

void p11fault_vanish(long ms)
{
	start_vanish(ms);
}

void p11fault_logout(void)
{
	CK_FUNCTION_LIST_PTR f = real_list();
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	if (f == NULL || !real_slots(f, CK_TRUE, &slots, &n)) {
		return;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		CK_SESSION_HANDLE s;
		if (f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &s) == CKR_OK) {
			f->C_Logout(s);
			f->C_CloseSession(s);
		}
	}
	free(slots);
}

void p11fault_invalidate_sessions(void)
{
	close_all_sessions();
}

void p11fault_invalidate_keys(void)
{
	atomic_fetch_add(&generation, 1);
}

long p11fault_count(const char *name)
{
	if (name == NULL) {
		return -1;
	}
	if (strcmp(name, "faults") == 0) {
		return atomic_load(&faults);
	}
	for (int i = 0; i < FN_COUNT; i++) {
		if (strcmp(name, fn_names[i]) == 0) {
			return atomic_load(&calls[i]);
		}
	}
	return -1;
}

void p11fault_reset(void)
{
	real_list();
	for (int k = 0; k < K_COUNT; k++) {
		atomic_store(&knob_value[k], 0);
		atomic_store(&knob_hits[k], 0);
	}
	for (int i = 0; i < FN_COUNT; i++) {
		atomic_store(&calls[i], 0);
	}
	atomic_store(&faults, 0);
	atomic_store(&vanish_until, 0);
}
