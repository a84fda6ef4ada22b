/*
 * hsm_session: a PKCS#11 session leased from a token, with its cache of key
 * handles, and the retry loop that keeps it alive.
 *
 * A signing worker leases one session for its life; key management leases a
 * control session for one operation. hsm_session_run() runs an operation and,
 * on a recoverable failure, repairs what broke before trying again: a stale
 * key handle is dropped from the cache (found again by CKA_ID), a dead session
 * is reopened, a lost login or a removed device is recovered by the token (one
 * thread for all, the others wait). Retries back off (10 ms doubling to 1 s)
 * within the token's budget, then fail with HSM_ERR_BUDGET and the last cause.
 * Every retry and reopen is counted in the token's stats.
 *
 * Threading: a session is used by one thread at a time (the lease is the
 * exclusion); different sessions of one token may run in parallel.
 */
#ifndef HSM_HSM_SESSION_H
#define HSM_HSM_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "hsm/hsm_error.h"
#include "hsm/hsm_token.h"

#define HSM_KEY_ID_MAX 64

typedef struct hsm_session hsm_session_t;

/* An operation returns this when the key it needs does not exist (a final
 * answer: HSM_ERR_NO_KEY, not retried). */
#define HSM_SESSION_RV_NO_KEY (CKR_VENDOR_DEFINED | 0x5349474eUL)

/* An operation for hsm_session_run: uses the open session handle h, returns
 * CKR_OK or the CK_RV of the call that failed and sets *func to its name.
 * attempt counts from 0; an operation that must not be repeated blindly (key
 * generation) looks for its earlier result when attempt > 0. */
typedef CK_RV (*hsm_session_op_t)(hsm_session_t *session, CK_SESSION_HANDLE h, void *arg,
                                  unsigned attempt, const char **func);

/* Leases a logged-in session on token (connecting it if needed; waits while
 * the token's max_sessions are leased). Returns HSM_OK or the cause. */
int hsm_session_acquire(hsm_token_t *token, hsm_session_t **out, hsm_detail_t *detail);

/* Closes the session and gives the lease back; NULL is a no-op. */
void hsm_session_release(hsm_session_t *session);

/* The session's token (borrowed). */
hsm_token_t *hsm_session_token(const hsm_session_t *session);

/* Runs op with recovery and retries (see above). Returns HSM_OK, the PIN
 * error, HSM_ERR_CKR with detail for a failure that retrying cannot fix (for
 * example CKR_DATA_LEN_RANGE), or HSM_ERR_BUDGET with the last cause. */
int hsm_session_run(hsm_session_t *session, hsm_session_op_t op, void *arg, hsm_detail_t *detail);

/* Finds the object of class cls with CKA_ID id, from the session's cache or
 * the token (then cached). Returns CKR_OK with *found false when no object has
 * that id, CKR_USER_NOT_LOGGED_IN when nothing was found because the login
 * was lost (private objects are invisible then), or the failing call's CK_RV.
 * For use inside an operation. */
CK_RV hsm_session_find(hsm_session_t *session, CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls,
                       const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *out, bool *found);

/* After a search in session h found nothing: CKR_OK if that answer holds,
 * CKR_USER_NOT_LOGGED_IN if the login was lost (private objects are
 * invisible then) or lost and redone since epoch (hsm_token_epoch() read
 * before the search), or the failing call's CK_RV. For use inside an
 * operation. */
CK_RV hsm_session_trust_empty(hsm_session_t *session, CK_SESSION_HANDLE h, uint64_t epoch);

/* Drops every cached key handle (after CKR_KEY_HANDLE_INVALID). */
void hsm_session_forget_keys(hsm_session_t *session);

#endif
