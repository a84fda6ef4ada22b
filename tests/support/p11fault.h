/*
 * p11fault: a PKCS#11 module (libp11fault.so) that forwards every Cryptoki call
 * to a real module and injects faults, so that tests and benchmarks can
 * simulate a slow network HSM or a failing one.
 *
 * Life cycle: load libp11fault.so wherever a PKCS#11 module path is expected.
 * On the first C_GetFunctionList (or the first control call below) it reads
 * the environment once, dlopens the real module (never closed) and takes its
 * function list; our own CK_FUNCTION_LIST (version 2.40, all 68 entries)
 * forwards to it. Only C_GetFunctionList and the p11fault_* functions are
 * exported: the C_* functions are reached through the list.
 *
 * Control: a test dlopens the same path (RTLD_NOW) and resolves the p11fault_*
 * functions with dlsym (p11fault_bind() below does it); the dynamic linker
 * loads the module once per process, so the test and the library under test
 * share its state. Knobs set from the environment can be changed at runtime
 * with p11fault_set(); p11fault_reset() turns them all off.
 *
 * Knobs (environment variable / p11fault_set() name; 0 = off everywhere):
 *   P11FAULT_MODULE                  path of the real module
 *                                    (default /usr/lib/softhsm/libsofthsm2.so).
 *   P11FAULT_SIGN_LATENCY_US   "sign_latency_us"        every C_Sign (length
 *        queries included) first sleeps this many microseconds, holding no
 *        lock, so parallel sessions see parallel latency.
 *   P11FAULT_SIGN_FAIL_EVERY   "sign_fail_every"        every Nth C_Sign returns
 *        CKR_DEVICE_ERROR without calling the real C_Sign; the real sign
 *        operation stays active, so the session is only good for closing.
 *   P11FAULT_SESSION_INVALID_EVERY "session_invalid_every" every Nth C_Sign
 *        closes the real session and returns CKR_SESSION_HANDLE_INVALID; the
 *        real module refuses the handle from then on. Closing a token's last
 *        session logs the token out (SoftHSM does).
 *   P11FAULT_KEY_INVALID_EVERY "key_invalid_every"      every Nth C_SignInit
 *        invalidates every object handle issued so far (as
 *        p11fault_invalidate_keys()) and returns CKR_KEY_HANDLE_INVALID.
 *   P11FAULT_LOGOUT_EVERY      "logout_every"           every Nth C_Sign calls
 *        the real C_Logout on its session (login is per token: every session
 *        loses it) and returns CKR_USER_NOT_LOGGED_IN.
 *   P11FAULT_VANISH_AFTER      "vanish_after"           once, after the Nth
 *        C_Sign has been forwarded, the token vanishes for vanish_ms (as
 *        p11fault_vanish()). Setting the knob again re-arms it.
 *   P11FAULT_VANISH_MS         "vanish_ms"              length of that vanish in
 *        milliseconds (0 = the sessions are closed and the token is back at once).
 *   P11FAULT_GENERATE_FAIL     "generate_fail"          the first N calls of
 *        C_GenerateKeyPair that succeed in the real token (the key pair exists)
 *        return CKR_DEVICE_ERROR instead (a generation whose reply was lost).
 *   P11FAULT_LOGIN_FAIL        "login_fail"             C_Login returns this CK_RV
 *        without calling the real module. The variable takes CKR_PIN_INCORRECT,
 *        CKR_PIN_LOCKED, CKR_PIN_EXPIRED, CKR_DEVICE_ERROR or a number
 *        (e.g. 0xA4); p11fault_set() takes the CK_RV.
 * The "every Nth" and "first N" counts restart at 0 when a knob is set. When
 * several knobs fire on the same C_Sign, the first in the order
 * session_invalid_every, logout_every, sign_fail_every wins.
 *   P11FAULT_DOWN_FILE         (environment only)       a path: while a file
 *        exists there, the token is vanished as below (no session closing at
 *        the start): lets a test switch the HSM of another process off and on.
 *   P11FAULT_SIGN_MAX_LEN      "sign_max_len"           C_Sign of more than this
 *        many bytes returns CKR_DATA_LEN_RANGE (a module refusing long EdDSA
 *        messages); the call counts as a fault.
 *
 * While vanished (at its start every real session of every slot is closed with
 * C_CloseAllSessions, which logs the tokens out): every call that names a
 * session returns CKR_DEVICE_REMOVED; C_OpenSession, C_CloseAllSessions,
 * C_GetTokenInfo, C_GetMechanismList, C_GetMechanismInfo and C_InitToken
 * return CKR_TOKEN_NOT_PRESENT; C_GetSlotList(CK_TRUE) lists no slot;
 * C_GetSlotInfo clears CKF_TOKEN_PRESENT. Afterwards sessions opened before
 * the vanish stay invalid (the real module says CKR_SESSION_HANDLE_INVALID).
 *
 * Object handles: the caller sees real_handle + generation * 0x01000000
 * (generation starts at 1). A handle of an older generation is refused with
 * CKR_KEY_HANDLE_INVALID where a key is expected (C_*Init, C_DigestKey,
 * C_DeriveKey, C_SetOperationState, the key of C_WrapKey),
 * CKR_WRAPPING_KEY_HANDLE_INVALID / CKR_UNWRAPPING_KEY_HANDLE_INVALID for the
 * (un)wrapping key, and CKR_OBJECT_HANDLE_INVALID elsewhere. Handles inside
 * mechanism parameters are not translated. A real handle >= 0x01000000 cannot
 * be mapped and yields CKR_GENERAL_ERROR.
 *
 * Counters: calls per Cryptoki function name ("C_Sign"; every one of the 68
 * is counted, refused calls included) and "faults": calls answered with an
 * error the real module did not give (a knob fired, or the token was vanished).
 * Refusals of stale object handles are not counted as faults.
 *
 * Threading: every function here and every C_* entry is thread-safe. Knobs,
 * counters, the handle generation and the vanish deadline are atomics; there
 * is no lock, so nothing is held across a call into the real module.
 */
#ifndef TESTS_SUPPORT_P11FAULT_H
#define TESTS_SUPPORT_P11FAULT_H

#include <dlfcn.h>
#include <string.h>

/* Sets a knob (names above); value 0 turns it off. For "login_fail" the value
 * is a CK_RV. An unknown name is reported on stderr and ignored. */
void p11fault_set(const char *knob, long value);

/* Makes the token vanish now for ms milliseconds (see above). */
void p11fault_vanish(long ms);

/* Calls the real C_Logout now on every token that has one (through a session
 * opened for the purpose), logging every session out. */
void p11fault_logout(void);

/* Closes every real session of every slot now (real C_CloseAllSessions). */
void p11fault_invalidate_sessions(void);

/* Bumps the handle generation: every object handle issued so far is refused. */
void p11fault_invalidate_keys(void);

/* Returns the counter of a Cryptoki function ("C_Sign") or "faults"; -1 for an
 * unknown name. */
long p11fault_count(const char *name);

/* Sets every counter to 0, turns every knob off and ends a vanish. Handles
 * already issued keep their generation. */
void p11fault_reset(void);

/* Function types, for callers that resolve the functions with dlsym. */
typedef void p11fault_set_fn(const char *knob, long value);
typedef void p11fault_vanish_fn(long ms);
typedef void p11fault_action_fn(void);
typedef long p11fault_count_fn(const char *name);

/* The control functions of a loaded libp11fault.so. */
typedef struct {
	void *dl; /* dlopen handle; the caller may dlclose it when done */
	p11fault_set_fn *set;
	p11fault_vanish_fn *vanish;
	p11fault_action_fn *logout;
	p11fault_action_fn *invalidate_sessions;
	p11fault_action_fn *invalidate_keys;
	p11fault_count_fn *count;
	p11fault_action_fn *reset;
} p11fault_api_t;

/* Resolves one symbol into a function pointer (ISO C has no cast from void *
 * to a function pointer; POSIX guarantees the representations match). */
static inline int p11fault_sym(void *dl, const char *name, void *fnptr, size_t size)
{
	void *sym = dlsym(dl, name);
	if (sym == NULL || size != sizeof(sym)) {
		return -1;
	}
	memcpy(fnptr, &sym, size);
	return 0;
}

/* dlopens the module at path (RTLD_NOW | RTLD_LOCAL) and fills api. Returns 0,
 * or -1 (see dlerror(); api unchanged). Not thread-safe with respect to api. */
static inline int p11fault_bind(const char *path, p11fault_api_t *api)
{
	p11fault_api_t a = {.dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)};
	if (a.dl == NULL) {
		return -1;
	}
	if (p11fault_sym(a.dl, "p11fault_set", &a.set, sizeof(a.set)) != 0 ||
	    p11fault_sym(a.dl, "p11fault_vanish", &a.vanish, sizeof(a.vanish)) != 0 ||
	    p11fault_sym(a.dl, "p11fault_logout", &a.logout, sizeof(a.logout)) != 0 ||
	    p11fault_sym(a.dl, "p11fault_invalidate_sessions", &a.invalidate_sessions,
	                 sizeof(a.invalidate_sessions)) != 0 ||
	    p11fault_sym(a.dl, "p11fault_invalidate_keys", &a.invalidate_keys,
	                 sizeof(a.invalidate_keys)) != 0 ||
	    p11fault_sym(a.dl, "p11fault_count", &a.count, sizeof(a.count)) != 0 ||
	    p11fault_sym(a.dl, "p11fault_reset", &a.reset, sizeof(a.reset)) != 0) {
		dlclose(a.dl);
		return -1;
	}
	*api = a;
	return 0;
}

#endif
