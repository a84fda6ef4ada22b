/*
 * rpc_conn: one established RPC connection, over a Unix socket or TLS.
 *
 * Life cycle: a connection comes from rpc_conn_from_fd() (a Unix socket, as
 * rpc_listen_accept() or rpc_client_connect() make, or a socketpair), or
 * from rpc_listen/rpc_client for TLS (rpc_conn_from_tls()). It owns its
 * socket and TLS state; rpc_conn_free() sends a TLS close_notify if the
 * session is healthy, closes the socket and frees it.
 *
 * Messages travel as frames (rpc_frame.h): a receiver reads the 4-byte
 * header, refuses a length above its maximum before allocating the body,
 * then reads and decodes the body. A read that fails with RPC_ERR_TIMEOUT
 * keeps what has arrived of the frame and the next read continues it, so a
 * reader may poll with a short timeout; after any other failure of a read
 * or a send the byte stream is out of step: close the connection.
 *
 * Timeouts (rpc_conn_set_timeout) bound each wait for the peer: a read or
 * send in which the peer makes no progress for that many milliseconds fails
 * with RPC_ERR_TIMEOUT. A slow peer that keeps trickling bytes is not timed
 * out: callers that need a deadline per request keep one themselves.
 *
 * Signals: plain sockets send with MSG_NOSIGNAL; OpenSSL writes with
 * write(2), so a process using TLS connections must ignore SIGPIPE (signerd
 * and the signer CLI do); a vanished peer is then RPC_ERR_TLS or RPC_ERR_IO.
 *
 * Threading: sends (rpc_conn_send_*) are serialized by an internal mutex and
 * may come from several threads at once (the connection thread answering
 * requests, a subscription thread sending events). Reads come from one
 * thread at a time. A TLS connection's reads and sends take turns on the
 * OpenSSL object under a second mutex, never held while waiting for the
 * peer. rpc_conn_shutdown(), rpc_conn_set_timeout() and rpc_conn_peer() are
 * safe from any thread; rpc_conn_free() only once no other thread uses it.
 */
#ifndef SIGNER_RPC_RPC_CONN_H
#define SIGNER_RPC_RPC_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "signer.pb-c.h"

struct ssl_st;
struct ssl_ctx_st;

typedef struct rpc_conn rpc_conn_t;

/* Who is at the other end. For RPC_PEER_UNIX, uid, gid and pid come from
 * SO_PEERCRED (taken when the connection was made) and cert_sha256 is empty;
 * for RPC_PEER_TLS, uid and gid are UINT32_MAX, pid is -1 and cert_sha256 is
 * the lowercase hex SHA-256 of the peer certificate's SubjectPublicKeyInfo
 * (DER). addr is "unix", or the peer's "address:port" ("[::1]:853"). */
typedef struct {
	enum { RPC_PEER_UNIX, RPC_PEER_TLS } kind;
	uint32_t uid, gid;
	int32_t pid;
	char cert_sha256[65];
	char addr[64];
} rpc_peer_t;

/* Wraps a connected stream socket (Unix socket or socketpair) in a new
 * connection in *out, reading its peer credentials. Takes fd in every case
 * (closed on failure) and makes it non-blocking. Returns RPC_ERR_NOMEM,
 * RPC_ERR_IO. */
int rpc_conn_from_fd(int fd, rpc_conn_t **out);

/* For rpc_listen and rpc_client: runs the TLS handshake of ssl (set up for
 * accepting or connecting, not yet bound to a socket) over the connected
 * socket fd, waiting at most timeout_ms milliseconds (0: no limit) and
 * giving up with RPC_ERR_CLOSED when cancel_fd (-1: none) becomes readable.
 * Takes fd and ssl in every case. Returns RPC_ERR_TLS (the reason, with the
 * certificate verification result, in err), RPC_ERR_TIMEOUT, RPC_ERR_IO,
 * RPC_ERR_PEER (no peer certificate), RPC_ERR_NOMEM. */
int rpc_conn_from_tls(int fd, struct ssl_st *ssl, unsigned timeout_ms, int cancel_fd,
                      rpc_conn_t **out, char *err, size_t errlen);

/* For rpc_listen and rpc_client: a new TLS context in *out, TLS 1.3 only,
 * presenting cert/key (NULL: no certificate; a server needs one) and
 * verifying the peer against ca (a PEM file or hashed directory; required).
 * A server context requires a client certificate. Returns RPC_ERR_TLS with
 * the file and reason in err, RPC_ERR_NOMEM. Free *out with SSL_CTX_free(). */
int rpc_conn_tls_ctx(int server, const char *cert, const char *key, const char *ca,
                     struct ssl_ctx_st **out, char *err, size_t errlen);

/* For rpc_listen and rpc_client: splits "host:port" or "[v6]:port" into
 * host and port (NUL-terminated, hostlen and portlen bytes). Returns
 * RPC_ERR_ADDRESS if there is no port or a part does not fit. */
int rpc_conn_split_hostport(const char *s, char *host, size_t hostlen, char *port, size_t portlen);

/* Sets the time limit of every later wait for the peer, in milliseconds
 * (0: wait for ever). Thread-safe; a wait already started keeps its limit. */
void rpc_conn_set_timeout(rpc_conn_t *c, unsigned ms);

/* Reads one frame: the header, then (if its length is at most max, checked
 * before allocating) the body into a new buffer in *buf (len bytes, never
 * NULL; the caller frees it). The buffer grows as bytes arrive: a header
 * announcing a large frame costs memory only once the bytes come. After
 * RPC_ERR_TIMEOUT, the next call continues the same frame. Returns RPC_ERR_CLOSED (peer closed before the
 * first byte, or rpc_conn_shutdown()), RPC_ERR_TRUNCATED, RPC_ERR_TOO_LARGE
 * (only the header was read), RPC_ERR_IO, RPC_ERR_TLS, RPC_ERR_TIMEOUT,
 * RPC_ERR_NOMEM. One reading thread at a time. */
int rpc_conn_read_frame(rpc_conn_t *c, size_t max, uint8_t **buf, size_t *len);

/* Reads one frame and decodes it as a request into *out; free it with
 * signer__v1__request__free_unpacked(*out, NULL). Returns what
 * rpc_conn_read_frame() returns, or RPC_ERR_DECODE. Does not apply
 * rpc_frame_check_request(): the server does, to answer with the reason. */
int rpc_conn_recv_request(rpc_conn_t *c, size_t max, Signer__V1__Request **out);

/* As rpc_conn_recv_request(), for a response; free it with
 * signer__v1__response__free_unpacked(*out, NULL). */
int rpc_conn_recv_response(rpc_conn_t *c, size_t max, Signer__V1__Response **out);

/* Sends one frame holding r (borrowed). Returns RPC_ERR_IO (EPIPE: the peer
 * is gone), RPC_ERR_TLS, RPC_ERR_TIMEOUT, RPC_ERR_NOMEM, RPC_ERR_TOO_LARGE.
 * Thread-safe: concurrent sends go out whole, one after the other. */
int rpc_conn_send_response(rpc_conn_t *c, const Signer__V1__Response *r);

/* As rpc_conn_send_response(), for a request. */
int rpc_conn_send_request(rpc_conn_t *c, const Signer__V1__Request *r);

/* Sends bytes already framed (len bytes at buf, borrowed), as the senders
 * above do after encoding. Same returns and thread-safety. */
int rpc_conn_send_frame(rpc_conn_t *c, const uint8_t *buf, size_t len);

/* Copies the peer's identity into *out. Returns RPC_ERR_PEER if it is not
 * known (a socket without credentials). Thread-safe. */
int rpc_conn_peer(const rpc_conn_t *c, rpc_peer_t *out);

/* Writes the reason of the last RPC_ERR_TLS of a read or send (the OpenSSL
 * error, or the peer's alert) into buf, always NUL-terminated; empty if
 * none. Thread-safe. */
void rpc_conn_last_error(rpc_conn_t *c, char *buf, size_t len);

/* Shuts the socket down both ways: a reader blocked in another thread
 * returns (RPC_ERR_CLOSED, or RPC_ERR_TRUNCATED inside a frame) and later
 * sends fail. Thread-safe; does not free anything. */
void rpc_conn_shutdown(rpc_conn_t *c);

/* Closes the connection and frees it (NULL: no-op). No other thread may be
 * using c. */
void rpc_conn_free(rpc_conn_t *c);

#endif
