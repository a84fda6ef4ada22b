/*
 * hsm_error: status codes of the hsm library and the detail of a failed
 * Cryptoki call.
 *
 * Every function of the library returns an hsm_status_t (HSM_OK = 0, failures
 * negative in -1000..-1099, or -errno for system failures). Where the operator
 * needs the raw cause, functions also fill an optional hsm_detail_t: the
 * Cryptoki function name and its CK_RV, or a short text. The library never
 * logs: the caller decides what to print.
 *
 * Thread-safety: all functions are pure or read static tables; safe anywhere.
 */
#ifndef HSM_HSM_ERROR_H
#define HSM_HSM_ERROR_H

#include <stddef.h>

#include <p11-kit/pkcs11.h>

typedef enum {
	HSM_OK = 0,
	HSM_ERR_NOMEM = -1000,         /* out of memory */
	HSM_ERR_INVAL = -1001,         /* invalid argument or configuration */
	HSM_ERR_MODULE = -1002,        /* module cannot be loaded (dlopen, C_GetFunctionList) */
	HSM_ERR_CKR = -1003,           /* a Cryptoki call failed; detail has the CK_RV */
	HSM_ERR_URI = -1004,           /* malformed PKCS#11 URI */
	HSM_ERR_URI_PIN = -1005,       /* PKCS#11 URI carries a PIN (refused) */
	HSM_ERR_NO_TOKEN = -1006,      /* no token matches the URI */
	HSM_ERR_MANY_TOKENS = -1007,   /* several tokens match the URI */
	HSM_ERR_PIN_FILE = -1008,      /* PIN file unreadable, empty or too open */
	HSM_ERR_PIN_MISSING = -1009,   /* no PIN source configured or SIGNER_PIN unset */
	HSM_ERR_PIN_INCORRECT = -1010, /* token said CKR_PIN_INCORRECT (never retried) */
	HSM_ERR_PIN_LOCKED = -1011,    /* token said CKR_PIN_LOCKED (never retried) */
	HSM_ERR_PIN_EXPIRED = -1012,   /* token said CKR_PIN_EXPIRED (never retried) */
	HSM_ERR_ALGORITHM = -1013,     /* unknown or unsupported DNSSEC algorithm */
	HSM_ERR_MECHANISM = -1014,     /* the token lacks a mechanism the algorithm needs */
	HSM_ERR_NO_KEY = -1015,        /* no key matches */
	HSM_ERR_MANY_KEYS = -1016,     /* a label or URI matches several keys */
	HSM_ERR_KEY_TYPE = -1017,      /* key type or size not usable for DNSSEC */
	HSM_ERR_BUDGET = -1018,        /* retries exhausted the time budget; detail has the cause */
	HSM_ERR_KEYFILE = -1019,       /* private key file unreadable or malformed */
	HSM_ERR_DNSKEY = -1020,        /* malformed DNSKEY public key */
	HSM_ERR_VERIFY = -1021,        /* signature does not verify */
	HSM_ERR_CRYPTO = -1022,        /* OpenSSL failure */
	HSM_ERR_CONFIG = -1023,        /* token configuration refused */
	HSM_ERR_SIGN_DATA = -1024,    /* the token refuses this message (e.g. CKR_DATA_LEN_RANGE) */
	HSM_ERR_BUFFER = -1025,       /* output buffer too small */
	HSM_ERR_DATA_TOO_BIG = -1026, /* a data object value above HSM_DATA_VALUE_MAX */
} hsm_status_t;

/* Raw cause of a failure, for the operator. Filled by functions that take one
 * (may be NULL). func is static text; rv is 0 when no Cryptoki call failed. */
typedef struct {
	const char *func;
	CK_RV rv;
	char text[160];
} hsm_detail_t;

/* Static text for a status (also for -errno values). */
const char *hsm_strerror(int status);

/* Static name of a CK_RV, "CKR_DEVICE_ERROR"; "CKR_VENDOR_DEFINED" or
 * "CKR_UNKNOWN" for values outside the standard table. */
const char *hsm_rv_name(CK_RV rv);

/* Writes one line for status and detail into buf (always NUL-terminated):
 * "C_Sign failed: CKR_DEVICE_ERROR (0x30)", or the detail text (which says
 * what failed), or the status text. Returns buf. detail may be NULL. */
char *hsm_detail_format(int status, const hsm_detail_t *detail, char *buf, size_t len);

/* Sets detail (if non-NULL) to a failed Cryptoki call. */
void hsm_detail_ckr(hsm_detail_t *detail, const char *func, CK_RV rv);

/* Sets detail (if non-NULL) to a printf-formatted text, clearing func/rv. */
void hsm_detail_text(hsm_detail_t *detail, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

#endif
