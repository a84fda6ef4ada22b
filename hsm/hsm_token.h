/*
 * hsm_token: one configured PKCS#11 token: its module, the slot found by
 * RFC 7512 URI, the PIN, the login (which belongs to the token, not to a
 * session), recovery after lost logins and removed devices, and the counters
 * the daemon shows for a flapping HSM.
 *
 * A token is made by hsm_ctx (which loads each module once) and connects
 * lazily: hsm_token_connect() finds the slot, opens an anchor session that
 * holds the login for the token's life, and logs in. When a login is lost or
 * the device is removed, exactly one thread recovers for all (others wait on
 * the token: all workers pause while the token is found again). PIN errors
 * (CKR_PIN_INCORRECT, CKR_PIN_LOCKED, CKR_PIN_EXPIRED) are final: the PIN is
 * never tried again, so the HSM's bad-PIN counter moves at most once.
 *
 * Threading: every function here is thread-safe. The token's mutex guards its
 * connection state only and is never held across a Cryptoki call.
 */
#ifndef HSM_HSM_TOKEN_H
#define HSM_HSM_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "hsm/hsm_error.h"

/* Configuration of one token (a value; strings borrowed for the call). */
typedef struct {
	const char *name;         /* how keys and the configuration refer to it */
	const char *module;       /* path of the PKCS#11 module */
	const char *uri;          /* RFC 7512 token URI: pkcs11:token=...;serial=... */
	const char *pin_file;     /* PIN file, mode 0600; or NULL to use pin_env */
	const char *pin_env;      /* environment variable; NULL means SIGNER_PIN */
	unsigned max_sessions;    /* 0: no limit (SoftHSM); else acquire waits */
	bool combined_mech;       /* sign with hash-and-sign mechanisms (CKM_SHA256_RSA_PKCS...) */
	unsigned retry_budget_ms; /* 0: default 60000 */
} hsm_token_config_t;

typedef enum {
	HSM_TOKEN_DISCONNECTED, /* not connected yet */
	HSM_TOKEN_UP,
	HSM_TOKEN_RECOVERING, /* one thread is logging in again or finding the token */
	HSM_TOKEN_DOWN,       /* the last recovery failed; the next call tries again */
} hsm_token_state_t;

/* Counters since the token was made, and the last cause of trouble. */
typedef struct {
	hsm_token_state_t state;
	uint64_t retries;    /* operations tried again after a recoverable failure */
	uint64_t reopens;    /* sessions reopened after dying */
	uint64_t relogins;   /* logins redone after being lost */
	uint64_t reconnects; /* times the token was found again after removal */
	uint64_t failures;   /* operations that failed after their retries */
	uint64_t sessions;   /* leased sessions open now (the anchor not counted) */
	int last_status;     /* status of the last failure, HSM_OK if none */
	hsm_detail_t last_detail;
} hsm_token_stats_t;

/* What a failed call means for recovery (see hsm_token_classify). */
typedef enum {
	HSM_RV_FATAL,   /* not recoverable by retrying: report it */
	HSM_RV_KEY,     /* key or object handle stale: find the key again by CKA_ID */
	HSM_RV_SESSION, /* session dead: reopen it */
	HSM_RV_LOGIN,   /* login lost: log in again (one thread for all) */
	HSM_RV_DEVICE,  /* device removed or token absent: pause and find it again */
	HSM_RV_PIN,     /* PIN refused: never retried */
} hsm_rv_class_t;

typedef struct hsm_token hsm_token_t;

/* Classifies a CK_RV for recovery. Pure. */
hsm_rv_class_t hsm_token_classify(CK_RV rv);

/* Status for a PIN error CK_RV (HSM_ERR_PIN_*), HSM_ERR_CKR otherwise. Pure. */
int hsm_token_pin_status(CK_RV rv);

/* Connects if not connected: finds the slot by URI, opens the anchor
 * session, logs in. Returns HSM_OK, HSM_ERR_NO_TOKEN, HSM_ERR_MANY_TOKENS,
 * HSM_ERR_PIN_*, HSM_ERR_CKR, HSM_ERR_BUDGET. */
int hsm_token_connect(hsm_token_t *token, hsm_detail_t *detail);

/* Recovers after a failure of class cls (HSM_RV_LOGIN or HSM_RV_DEVICE)
 * observed while the token's epoch was seen_epoch (from hsm_token_epoch()).
 * If another thread already recovered since, returns at once. Retries with
 * backoff until deadline_ms (CLOCK_MONOTONIC milliseconds). Returns HSM_OK or
 * the cause. */
int hsm_token_recover(hsm_token_t *token, hsm_rv_class_t cls, uint64_t seen_epoch,
                      uint64_t deadline_ms, hsm_detail_t *detail);

/* The token's epoch: incremented by every successful login or reconnect.
 * Sessions opened before a reconnect are stale. */
uint64_t hsm_token_epoch(const hsm_token_t *token);

/* The connection epoch: incremented by every reconnect only. */
uint64_t hsm_token_conn_epoch(const hsm_token_t *token);

/* Opens a new read-write session on the connected token's slot. Returns
 * HSM_OK or HSM_ERR_CKR with the CK_RV in *rv. Does not retry. */
int hsm_token_open_session(hsm_token_t *token, CK_SESSION_HANDLE *out, CK_RV *rv);

/* Closes a session opened by hsm_token_open_session (errors ignored). */
void hsm_token_close_session(hsm_token_t *token, CK_SESSION_HANDLE handle);

/* Counts a session as gone without closing it (its handle died with a
 * reconnect and its number may have been reused). */
void hsm_token_forget_session(hsm_token_t *token);

/* Session limit: waits while max_sessions are leased, then counts one more.
 * hsm_token_lease_end() gives the place back. */
void hsm_token_lease_begin(hsm_token_t *token);
void hsm_token_lease_end(hsm_token_t *token);

/* Accessors for the immutable configuration (borrowed for the token's life). */
const char *hsm_token_name(const hsm_token_t *token);
const char *hsm_token_uri(const hsm_token_t *token);
CK_FUNCTION_LIST_PTR hsm_token_functions(const hsm_token_t *token);
bool hsm_token_combined(const hsm_token_t *token);
unsigned hsm_token_budget_ms(const hsm_token_t *token);

/* Token information read at the last connect (label, serial...); returns
 * HSM_OK or HSM_ERR_INVAL if never connected. */
int hsm_token_info(hsm_token_t *token, CK_TOKEN_INFO *out);

/* True if the connected token offers mechanism mech with all of flags
 * (CKF_SIGN, CKF_GENERATE_KEY_PAIR...). */
bool hsm_token_has_mechanism(hsm_token_t *token, CK_MECHANISM_TYPE mech, CK_FLAGS flags);

/* Counting, for the stats (relaxed atomics). */
void hsm_token_count_retry(hsm_token_t *token);
void hsm_token_count_reopen(hsm_token_t *token);
void hsm_token_count_failure(hsm_token_t *token, int status, const hsm_detail_t *detail);

/* Snapshot of the counters and state. */
void hsm_token_stats(hsm_token_t *token, hsm_token_stats_t *out);

/* Made and freed by hsm_ctx only: takes ownership of pin; module borrowed. */
struct hsm_module;
struct hsm_pin;
int hsm_token_new(const hsm_token_config_t *config, struct hsm_module *module, struct hsm_pin *pin,
                  hsm_token_t **out, hsm_detail_t *detail);
void hsm_token_free(hsm_token_t *token);

/* Monotonic clock in milliseconds (CLOCK_MONOTONIC). */
uint64_t hsm_token_now_ms(void);

#endif
