/*
 * nsec_error: status codes of the NSEC/NSEC3 library (signer/nsec/).
 *
 * Every function of the library that can fail returns an nsec_status_t
 * (NSEC_OK = 0, failures negative in -1300..-1399), a zone_status_t
 * (-1200..-1299) passed through from the zone library when making the new
 * version fails there, or -errno for system failures. The library never logs:
 * the caller decides what to print.
 *
 * Thread-safety: nsec_strerror() reads static text only; safe anywhere.
 */
#ifndef SIGNER_NSEC_NSEC_ERROR_H
#define SIGNER_NSEC_NSEC_ERROR_H

typedef enum {
	NSEC_OK = 0,
	NSEC_ERR_NOMEM = -1300,         /* out of memory */
	NSEC_ERR_INVAL = -1301,         /* invalid argument (e.g. types not in ascending order) */
	NSEC_ERR_NO_SOA = -1302,        /* the apex has no SOA, or its RDATA is too short */
	NSEC_ERR_ITERATIONS = -1303,    /* NSEC3 iterations above NSEC3_MAX_ITERATIONS */
	NSEC_ERR_COLLISION = -1304,     /* two names of the zone have the same NSEC3 hash */
	NSEC_ERR_NAME_TOO_LONG = -1305, /* hashed owner longer than 255 octets (apex too long) */
	NSEC_ERR_BITMAP = -1306,        /* malformed type bitmap */
	NSEC_ERR_BUFFER = -1307,        /* output buffer too small */
	NSEC_ERR_CRYPTO = -1308,        /* OpenSSL failure (SHA-1 unavailable) */
	NSEC_ERR_TOO_BIG = -1309,       /* a record would not fit its RDATA or an RRset */
} nsec_status_t;

/* Static text for a status: nsec statuses, zone statuses (zone_strerror's
 * text) and -errno values (strerror's text). */
const char *nsec_strerror(int status);

#endif
