/*
 * sign_error: status codes of the signing library (signer/sign/).
 *
 * Every function of the library that can fail returns a sign_status_t
 * (SIGN_OK = 0, failures negative in -1400..-1499), a status of a lower layer
 * passed through where that layer failed (hsm -1000..-1099, zone
 * -1200..-1299, nsec -1300..-1399), or -errno for system failures. The
 * library never logs: the caller decides what to print.
 *
 * Thread-safety: sign_strerror() reads static text only; safe anywhere.
 */
#ifndef SIGNER_SIGN_SIGN_ERROR_H
#define SIGNER_SIGN_SIGN_ERROR_H

typedef enum {
	SIGN_OK = 0,
	SIGN_ERR_NOMEM = -1400,         /* out of memory */
	SIGN_ERR_INVAL = -1401,         /* invalid argument */
	SIGN_ERR_BUFFER = -1402,        /* output buffer too small */
	SIGN_ERR_RRSIG = -1403,         /* malformed RRSIG RDATA, or fields that cannot apply */
	SIGN_ERR_TIMING = -1404,        /* validity not longer than refresh + inception offset */
	SIGN_ERR_ALGORITHM_GAP = -1405, /* an algorithm of the DNSKEY RRset cannot sign an RRset */
	SIGN_ERR_VERIFY = -1406,        /* the verifier found failures (reported one by one) */
	SIGN_ERR_CRYPTO = -1407,        /* OpenSSL failure (not a bad signature) */
	SIGN_ERR_WHOLE = -1408,         /* the change needs a whole pass (sign_zone_update) */
} sign_status_t;

/* Static text for a status: sign statuses, and those of the layers below
 * (hsm, zone, nsec) and -errno values with those layers' text. */
const char *sign_strerror(int status);

#endif
