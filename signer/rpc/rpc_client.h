/*
 * rpc_client: the client side of the RPC: connects to signerd over its Unix
 * socket or over TLS, for the signer CLI and front-ends.
 *
 * rpc_client_connect() hands over an established connection (rpc_conn.h),
 * which the caller frees with rpc_conn_free(). TLS: TLS 1.3 only; the
 * server certificate must verify against tls_ca and match the host (a DNS
 * name, or an IP address literal checked against the certificate's IP
 * subjectAltName); the client presents tls_cert/tls_key when given. With
 * TLS 1.3 the server checks the client certificate after the client has
 * finished its handshake: a refused client certificate shows as a failure
 * (RPC_ERR_TLS, RPC_ERR_CLOSED, RPC_ERR_IO) of the first read, not of
 * rpc_client_connect(). A process using TLS must ignore SIGPIPE.
 *
 * Threading: no shared state; rpc_client_connect() may run in several
 * threads at once. The configuration is borrowed for the call.
 */
#ifndef SIGNER_RPC_RPC_CLIENT_H
#define SIGNER_RPC_RPC_CLIENT_H

#include <stddef.h>

#include "signer/rpc/rpc_conn.h"

/* Time limit of connect() and the TLS handshake when timeout_ms is 0, in ms. */
#define RPC_CLIENT_CONNECT_MS 10000

typedef struct {
	const char *server;   /* "unix:/path", "/path" (any plain path), "tls:host:port" */
	const char *tls_cert; /* PEM client certificate; NULL: present none */
	const char *tls_key;  /* PEM private key of tls_cert */
	const char *tls_ca;   /* CA certificates the server certificate must verify to */
	unsigned timeout_ms;  /* connect, handshake and each later wait; 0: see below */
} rpc_client_config_t;

/* Connects to cfg->server and hands the connection over in *out, its
 * timeout set to cfg->timeout_ms (connect and handshake: at most
 * timeout_ms, or RPC_CLIENT_CONNECT_MS when it is 0). Returns
 * RPC_ERR_ADDRESS (malformed address, unknown host), RPC_ERR_IO (connect
 * refused, no such socket: errno kept), RPC_ERR_TLS (handshake failed,
 * certificate refused, files unusable), RPC_ERR_TIMEOUT, RPC_ERR_NOMEM;
 * err says what and where. */
int rpc_client_connect(const rpc_client_config_t *cfg, rpc_conn_t **out, char *err, size_t errlen);

#endif
