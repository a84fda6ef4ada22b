/*
 * rpc_listen: the server side of the RPC: a Unix socket and/or a TLS port,
 * and accept().
 *
 * Life cycle: rpc_listen_open() binds every configured socket;
 * rpc_listen_accept() hands over one connection at a time (rpc_conn.h);
 * rpc_listen_stop() makes a blocked or later accept return RPC_ERR_CLOSED;
 * rpc_listen_free() closes the sockets and removes the Unix socket file
 * (only if it is still the one this listener made).
 *
 * Unix socket: a regular file (or anything but a socket) at the path is
 * refused; a socket file nobody answers on (connect fails with
 * ECONNREFUSED) is stale and replaced; one another process answers on is
 * refused. The socket is created with the umask 0177 (never accessible to
 * anyone but the owner, even for a moment), then given its owner and group,
 * then its mode (default 0660; a mode with any bit for "other", or outside
 * 0777, is refused). The directory holding it must not be writable by
 * others (the path is looked at again after bind). rpc_listen_open()
 * changes the process umask for the duration of bind(): call it before
 * starting threads that create files.
 *
 * TLS: TLS 1.3 only; the server presents tls_cert/tls_key; every client
 * must present a certificate that verifies against tls_ca (a PEM file or a
 * hashed directory). The TLS handshake runs inside rpc_listen_accept(),
 * bounded by RPC_LISTEN_HANDSHAKE_MS: a slow client delays the next accept
 * by that much at most.
 *
 * Threading: one thread calls rpc_listen_accept() at a time;
 * rpc_listen_stop() is safe from any thread and async-signal-safe;
 * rpc_listen_tls_port() from any thread; rpc_listen_free() once no thread
 * uses the listener.
 */
#ifndef SIGNER_RPC_RPC_LISTEN_H
#define SIGNER_RPC_RPC_LISTEN_H

#include <stddef.h>

#include "signer/rpc/rpc_conn.h"

/* Time limit of the TLS handshake of one accepted connection, in ms. */
#define RPC_LISTEN_HANDSHAKE_MS 10000

typedef struct rpc_listen rpc_listen_t;

/* What to listen on; strings are borrowed for rpc_listen_open(). */
typedef struct {
	const char *socket_path;  /* Unix socket path; NULL: none */
	unsigned socket_mode;     /* 0: 0660 */
	const char *socket_owner; /* user name or number; NULL: unchanged */
	const char *socket_group; /* group name or number; NULL: unchanged */
	const char *tls_listen;   /* "host:port", "[v6]:port", "*:port"; NULL: none */
	const char *tls_cert;     /* PEM certificate (chain) of the server */
	const char *tls_key;      /* PEM private key of tls_cert */
	const char *tls_ca;       /* CA certificates that client certificates must verify to */
} rpc_listen_config_t;

/* Opens the sockets cfg asks for into a new listener in *out. Returns
 * RPC_ERR_ADDRESS (bad address, path or mode; path taken by another socket
 * or file; neither socket configured), RPC_ERR_TLS (certificate, key or CA
 * unusable), RPC_ERR_IO, RPC_ERR_NOMEM; err says what and where. */
int rpc_listen_open(const rpc_listen_config_t *cfg, rpc_listen_t **out, char *err, size_t errlen);

/* Waits for the next connection on any socket and hands it over in *out
 * (TLS: after a handshake of at most RPC_LISTEN_HANDSHAKE_MS and a verified
 * client certificate). Returns RPC_ERR_CLOSED after rpc_listen_stop();
 * RPC_ERR_TLS, RPC_ERR_TIMEOUT or RPC_ERR_PEER for a client refused during
 * the handshake (err has the reason and the address: log it and accept
 * again); RPC_ERR_IO (EMFILE...: back off, then accept again),
 * RPC_ERR_NOMEM. */
int rpc_listen_accept(rpc_listen_t *l, rpc_conn_t **out, char *err, size_t errlen);

/* Makes the running and every later rpc_listen_accept() return
 * RPC_ERR_CLOSED. Thread-safe and async-signal-safe. */
void rpc_listen_stop(rpc_listen_t *l);

/* The TCP port the TLS socket is bound to (useful after port 0), or -1 when
 * there is none. */
int rpc_listen_tls_port(const rpc_listen_t *l);

/* Closes the sockets, removes the Unix socket file if it is still ours and
 * frees l (NULL: no-op). */
void rpc_listen_free(rpc_listen_t *l);

#endif
