/*
 * rpc_error: status codes of the RPC library (signer/rpc/).
 *
 * Every function of the library that can fail returns an rpc_status_t
 * (RPC_OK = 0, failures negative in -1500..-1599). Where a caller needs the
 * raw cause (an address, an OpenSSL reason, a failed system call), functions
 * also take an err buffer; RPC_ERR_IO leaves errno as the system call set it.
 * The library never logs: the caller decides what to print.
 *
 * Thread-safety: rpc_strerror() reads static text only; safe anywhere (for
 * -errno values it returns strerror()'s text, as hsm_strerror() does).
 */
#ifndef SIGNER_RPC_RPC_ERROR_H
#define SIGNER_RPC_RPC_ERROR_H

typedef enum {
	RPC_OK = 0,
	RPC_ERR_NOMEM = -1500,     /* out of memory */
	RPC_ERR_CLOSED = -1501,    /* peer closed at a frame boundary, or listener stopped */
	RPC_ERR_TRUNCATED = -1502, /* peer closed inside a frame */
	RPC_ERR_TOO_LARGE = -1503, /* frame length above the maximum (seen in the header) */
	RPC_ERR_DECODE = -1504,    /* bytes are not a valid message */
	RPC_ERR_INVALID = -1505,   /* decoded, but refused by rpc_frame_check_request() */
	RPC_ERR_IO = -1506,        /* system call failed; errno kept */
	RPC_ERR_TLS = -1507,       /* TLS handshake or record error */
	RPC_ERR_TIMEOUT = -1508,   /* the peer made no progress within the time limit */
	RPC_ERR_ADDRESS = -1509,   /* bad listen/connect address, socket path or mode */
	RPC_ERR_PEER = -1510,      /* peer identity unavailable (no credentials, no certificate) */
} rpc_status_t;

/* Static text for a status (also for -errno values). */
const char *rpc_strerror(int status);

#endif
