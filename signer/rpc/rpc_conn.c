#include "signer/rpc/rpc_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "signer/rpc/rpc_error.h"
#include "signer/rpc/rpc_frame.h"

/* First allocation for a frame body; it grows as the bytes arrive, so that
 * a header announcing a large frame costs memory only once it is sent. */
#define FIRST_CHUNK 65536

struct rpc_conn {
	int fd;
	SSL *ssl;                  /* NULL for a plain socket */
	pthread_mutex_t send_lock; /* held for a whole frame: one sender at a time */
	pthread_mutex_t io_lock;   /* guards: every call on ssl, ssl_failed, last_error */
	bool ssl_failed;           /* a fatal TLS error: no close_notify at free */
	char last_error[200];      /* reason of the last RPC_ERR_TLS */
	atomic_uint timeout_ms;    /* 0: no limit */
	atomic_bool shut;          /* rpc_conn_shutdown() was called */
	bool have_peer;            /* peer: set at creation, read-only after */
	rpc_peer_t peer;
	/* The frame being read, touched by the reading thread only: what has
	 * arrived survives RPC_ERR_TIMEOUT and the next read continues it. */
	uint8_t hdr[RPC_FRAME_HEADER_LEN];
	size_t hdr_done;
	bool in_body; /* the header was accepted: body_len bytes follow */
	uint8_t *body;
	size_t body_len, body_cap, body_done;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events, for at most timeout_ms milliseconds
 * from now (0: no limit), or until cancel_fd (-1: none) is readable.
 * Returns RPC_ERR_TIMEOUT, RPC_ERR_CLOSED (cancelled), RPC_ERR_IO. */
static int wait_fd(int fd, short events, unsigned timeout_ms, int cancel_fd)
{
	long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	for (;;) {
		struct pollfd p[2] = {{fd, events, 0}, {cancel_fd, POLLIN, 0}};
		int wait = -1;
		if (deadline > 0) {
			long long left = deadline - now_ms();
			if (left <= 0) {
				return RPC_ERR_TIMEOUT;
			}
			wait = left > 1000000 ? 1000000 : (int)left;
		}
		int n = poll(p, cancel_fd >= 0 ? 2 : 1, wait);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return RPC_ERR_IO;
		}
		if (n > 0 && cancel_fd >= 0 && p[1].revents != 0) {
			return RPC_ERR_CLOSED;
		}
		if (n > 0 && p[0].revents != 0) {
			return RPC_OK; /* also on POLLHUP/POLLERR: the next call says what */
		}
	}
}

/* Writes the OpenSSL reason of a failure into buf: the first queued error's
 * reason, the certificate verification result when that failed, or errno. */
static void tls_reason(SSL *ssl, int ssl_error, int saved_errno, char *buf, size_t len)
{
	if (buf == NULL || len == 0) {
		return;
	}
	unsigned long e = ERR_get_error();
	buf[0] = '\0';
	if (e != 0) {
		const char *reason = ERR_reason_error_string(e);
		if (reason != NULL) {
			snprintf(buf, len, "%s", reason);
		} else {
			ERR_error_string_n(e, buf, len);
		}
		long v = SSL_get_verify_result(ssl);
		if (v != X509_V_OK) {
			size_t n = strlen(buf);
			snprintf(buf + n, len - n, ": %s", X509_verify_cert_error_string(v));
		}
	} else if (ssl_error == SSL_ERROR_SYSCALL && saved_errno != 0) {
		snprintf(buf, len, "%s", strerror(saved_errno));
	} else if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN) {
		snprintf(buf, len, "peer closed the connection");
	} else {
		snprintf(buf, len, "TLS error %d", ssl_error);
	}
	ERR_clear_error();
}

static void set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0) {
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}
}

static int conn_new(int fd, SSL *ssl, rpc_conn_t **out)
{
	rpc_conn_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return RPC_ERR_NOMEM;
	}
	if (pthread_mutex_init(&c->send_lock, NULL) != 0) {
		free(c);
		return RPC_ERR_NOMEM;
	}
	if (pthread_mutex_init(&c->io_lock, NULL) != 0) {
		pthread_mutex_destroy(&c->send_lock);
		free(c);
		return RPC_ERR_NOMEM;
	}
	c->fd = fd;
	c->ssl = ssl;
	atomic_init(&c->timeout_ms, 0);
	atomic_init(&c->shut, false);
	*out = c;
	return RPC_OK;
}

/* "address:port" of the socket's peer, or "unix". */
static void peer_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	snprintf(buf, len, "unix");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0 || ss.ss_family == AF_UNIX) {
		return;
	}
	if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

int rpc_conn_from_fd(int fd, rpc_conn_t **out)
{
	rpc_conn_t *c = NULL;
	int ret = conn_new(fd, NULL, &c);
	if (ret != RPC_OK) {
		close(fd);
		return ret;
	}
	set_nonblocking(fd);
	struct ucred cred;
	socklen_t sl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) == 0 && sl == sizeof(cred)) {
		c->have_peer = true;
		c->peer.kind = RPC_PEER_UNIX;
		c->peer.uid = cred.uid;
		c->peer.gid = cred.gid;
		c->peer.pid = cred.pid;
		peer_addr(fd, c->peer.addr, sizeof(c->peer.addr));
	}
	*out = c;
	return RPC_OK;
}

/* Hex SHA-256 of the DER SubjectPublicKeyInfo of cert into out[65]. */
static int spki_sha256(X509 *cert, char out[65])
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (n <= 0) {
		return RPC_ERR_PEER;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ok = EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (!ok || mdlen != 32) {
		return RPC_ERR_PEER;
	}
	for (unsigned i = 0; i < 32; i++) {
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	}
	return RPC_OK;
}

int rpc_conn_from_tls(int fd, struct ssl_st *ssl, unsigned timeout_ms, int cancel_fd,
                      rpc_conn_t **out, char *err, size_t errlen)
{
	rpc_conn_t *c = NULL;
	int ret = RPC_ERR_TLS;
	long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	set_nonblocking(fd);
	ERR_clear_error();
	if (SSL_set_fd(ssl, fd) != 1) {
		tls_reason(ssl, SSL_ERROR_SSL, 0, err, errlen);
		goto fail;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int r = SSL_do_handshake(ssl);
		if (r == 1) {
			break;
		}
		int e = SSL_get_error(ssl, r);
		int saved = errno;
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			tls_reason(ssl, e, saved, err, errlen);
			ret = RPC_ERR_TLS;
			goto fail;
		}
		unsigned left = 0;
		if (deadline > 0) {
			long long l = deadline - now_ms();
			if (l <= 0) {
				ret = RPC_ERR_TIMEOUT;
				snprintf(err, errlen, "TLS handshake timed out");
				goto fail;
			}
			left = (unsigned)l;
		}
		ret = wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, left, cancel_fd);
		if (ret != RPC_OK) {
			snprintf(err, errlen, "TLS handshake: %s",
			         ret == RPC_ERR_IO ? strerror(errno) : rpc_strerror(ret));
			goto fail;
		}
	}
	X509 *cert = SSL_get0_peer_certificate(ssl);
	if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK) {
		ret = RPC_ERR_PEER;
		snprintf(err, errlen, "no verified peer certificate");
		goto fail;
	}
	ret = conn_new(fd, ssl, &c);
	if (ret != RPC_OK) {
		goto fail;
	}
	c->have_peer = true;
	c->peer.kind = RPC_PEER_TLS;
	c->peer.uid = UINT32_MAX;
	c->peer.gid = UINT32_MAX;
	c->peer.pid = -1;
	peer_addr(fd, c->peer.addr, sizeof(c->peer.addr));
	if (spki_sha256(cert, c->peer.cert_sha256) != RPC_OK) {
		c->have_peer = false;
	}
	*out = c;
	return RPC_OK;
fail:
	SSL_free(ssl);
	close(fd);
	return ret;
}

void rpc_conn_set_timeout(rpc_conn_t *c, unsigned ms)
{
	atomic_store(&c->timeout_ms, ms);
}

/* Result of a failed SSL_read_ex/SSL_write_ex, with io_lock held: 0 with
 * *want set when waiting will help, else a status (RPC_ERR_CLOSED for a
 * close_notify or end of file). */
static int tls_failure(rpc_conn_t *c, short *want)
{
	int saved = errno;
	int e = SSL_get_error(c->ssl, 0);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		*want = POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*want = POLLOUT;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		return RPC_ERR_CLOSED;
	case SSL_ERROR_SYSCALL:
		c->ssl_failed = true;
		if (ERR_peek_error() == 0) {
			errno = saved;
			return saved == 0 ? RPC_ERR_CLOSED : RPC_ERR_IO;
		}
		break;
	default:
		c->ssl_failed = true;
		break;
	}
	tls_reason(c->ssl, e, saved, c->last_error, sizeof(c->last_error));
	return RPC_ERR_TLS;
}

/* One attempt to read up to n bytes: the count (> 0), 0 with *want set to
 * the events to wait for, or a status (RPC_ERR_CLOSED at end of file). */
static long try_read(rpc_conn_t *c, uint8_t *p, size_t n, short *want)
{
	if (c->ssl == NULL) {
		ssize_t r = recv(c->fd, p, n, 0);
		if (r > 0) {
			return (long)r;
		}
		if (r == 0) {
			return RPC_ERR_CLOSED;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			*want = POLLIN;
			return 0;
		}
		return RPC_ERR_IO;
	}
	pthread_mutex_lock(&c->io_lock);
	ERR_clear_error();
	errno = 0;
	size_t got = 0;
	long ret = SSL_read_ex(c->ssl, p, n, &got) == 1 ? (long)got : tls_failure(c, want);
	int saved = errno;
	pthread_mutex_unlock(&c->io_lock);
	errno = saved;
	return ret;
}

/* As try_read(), writing. */
static long try_write(rpc_conn_t *c, const uint8_t *p, size_t n, short *want)
{
	if (c->ssl == NULL) {
		ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
		if (r >= 0) {
			if (r == 0) {
				*want = POLLOUT;
			}
			return (long)r;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			*want = POLLOUT;
			return 0;
		}
		return RPC_ERR_IO;
	}
	pthread_mutex_lock(&c->io_lock);
	ERR_clear_error();
	errno = 0;
	size_t put = 0;
	long ret = SSL_write_ex(c->ssl, p, n, &put) == 1 ? (long)put : tls_failure(c, want);
	if (ret == RPC_ERR_CLOSED) {
		ret = RPC_ERR_IO; /* the peer closed: writing to it is a broken pipe */
		errno = EPIPE;
	}
	int saved = errno;
	pthread_mutex_unlock(&c->io_lock);
	errno = saved;
	return ret;
}

/* Reads n bytes into p, counting them in *done as they arrive. Returns
 * RPC_ERR_CLOSED at end of file (or after rpc_conn_shutdown()),
 * RPC_ERR_TIMEOUT, RPC_ERR_IO, RPC_ERR_TLS. */
static int read_full(rpc_conn_t *c, uint8_t *p, size_t n, size_t *done)
{
	while (*done < n) {
		if (atomic_load(&c->shut)) {
			return RPC_ERR_CLOSED;
		}
		short want = 0;
		long r = try_read(c, p + *done, n - *done, &want);
		if (r < 0) {
			return (int)r;
		}
		if (r > 0) {
			*done += (size_t)r;
			continue;
		}
		int ret = wait_fd(c->fd, want, atomic_load(&c->timeout_ms), -1);
		if (ret != RPC_OK) {
			return ret;
		}
	}
	return RPC_OK;
}

/* Forgets the frame being read. */
static void reset_reader(rpc_conn_t *c)
{
	free(c->body);
	c->body = NULL;
	c->hdr_done = 0;
	c->in_body = false;
	c->body_len = c->body_cap = c->body_done = 0;
}

int rpc_conn_read_frame(rpc_conn_t *c, size_t max, uint8_t **buf, size_t *len)
{
	int ret = RPC_OK;
	if (!c->in_body) {
		ret = read_full(c, c->hdr, sizeof(c->hdr), &c->hdr_done);
		if (ret == RPC_ERR_CLOSED && c->hdr_done > 0) {
			ret = RPC_ERR_TRUNCATED;
		}
		if (ret != RPC_OK) {
			goto fail;
		}
		size_t n = 0;
		ret = rpc_frame_header(c->hdr, max, &n);
		if (ret != RPC_OK) {
			goto fail;
		}
		c->body_cap = n < FIRST_CHUNK ? (n > 0 ? n : 1) : FIRST_CHUNK;
		c->body = malloc(c->body_cap);
		if (c->body == NULL) {
			ret = RPC_ERR_NOMEM;
			goto fail;
		}
		c->body_len = n;
		c->body_done = 0;
		c->in_body = true;
	}
	while (c->body_done < c->body_len) {
		if (c->body_done == c->body_cap) {
			size_t cap = c->body_cap > c->body_len / 2 ? c->body_len : c->body_cap * 2;
			uint8_t *nb = realloc(c->body, cap);
			if (nb == NULL) {
				ret = RPC_ERR_NOMEM;
				goto fail;
			}
			c->body = nb;
			c->body_cap = cap;
		}
		ret = read_full(c, c->body, c->body_cap, &c->body_done);
		if (ret == RPC_ERR_CLOSED) {
			ret = RPC_ERR_TRUNCATED;
		}
		if (ret != RPC_OK) {
			goto fail;
		}
	}
	*buf = c->body;
	*len = c->body_len;
	c->body = NULL;
	reset_reader(c);
	return RPC_OK;
fail:
	if (ret != RPC_ERR_TIMEOUT) {
		reset_reader(c);
	}
	return ret;
}

int rpc_conn_recv_request(rpc_conn_t *c, size_t max, Signer__V1__Request **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = rpc_conn_read_frame(c, max, &buf, &len);
	if (ret == RPC_OK) {
		ret = rpc_frame_decode_request(buf, len, out);
		free(buf);
	}
	return ret;
}

int rpc_conn_recv_response(rpc_conn_t *c, size_t max, Signer__V1__Response **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = rpc_conn_read_frame(c, max, &buf, &len);
	if (ret == RPC_OK) {
		ret = rpc_frame_decode_response(buf, len, out);
		free(buf);
	}
	return ret;
}

int rpc_conn_send_frame(rpc_conn_t *c, const uint8_t *buf, size_t len)
{
	int ret = RPC_OK;
	size_t done = 0;
	pthread_mutex_lock(&c->send_lock);
	while (done < len) {
		if (atomic_load(&c->shut)) {
			errno = EPIPE;
			ret = RPC_ERR_IO;
			break;
		}
		short want = 0;
		long r = try_write(c, buf + done, len - done, &want);
		if (r < 0) {
			ret = (int)r;
			break;
		}
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		ret = wait_fd(c->fd, want, atomic_load(&c->timeout_ms), -1);
		if (ret != RPC_OK) {
			break;
		}
	}
	int saved = errno;
	pthread_mutex_unlock(&c->send_lock);
	errno = saved;
	return ret;
}

int rpc_conn_send_response(rpc_conn_t *c, const Signer__V1__Response *r)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = rpc_frame_encode_response(r, &buf, &len);
	if (ret == RPC_OK) {
		ret = rpc_conn_send_frame(c, buf, len);
		int saved = errno;
		free(buf);
		errno = saved;
	}
	return ret;
}

int rpc_conn_send_request(rpc_conn_t *c, const Signer__V1__Request *r)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = rpc_frame_encode_request(r, &buf, &len);
	if (ret == RPC_OK) {
		ret = rpc_conn_send_frame(c, buf, len);
		int saved = errno;
		free(buf);
		errno = saved;
	}
	return ret;
}

int rpc_conn_peer(const rpc_conn_t *c, rpc_peer_t *out)
{
	if (!c->have_peer) {
		return RPC_ERR_PEER;
	}
	*out = c->peer;
	return RPC_OK;
}

void rpc_conn_last_error(rpc_conn_t *c, char *buf, size_t len)
{
	if (len == 0) {
		return;
	}
	pthread_mutex_lock(&c->io_lock);
	snprintf(buf, len, "%s", c->last_error);
	pthread_mutex_unlock(&c->io_lock);
}

void rpc_conn_shutdown(rpc_conn_t *c)
{
	atomic_store(&c->shut, true);
	shutdown(c->fd, SHUT_RDWR);
}

void rpc_conn_free(rpc_conn_t *c)
{
	if (c == NULL) {
		return;
	}
	if (c->ssl != NULL) {
		if (!c->ssl_failed && !atomic_load(&c->shut)) {
			ERR_clear_error();
			SSL_shutdown(c->ssl); /* one close_notify, best effort, no wait */
		}
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	close(c->fd);
	free(c->body);
	pthread_mutex_destroy(&c->io_lock);
	pthread_mutex_destroy(&c->send_lock);
	free(c);
}

int rpc_conn_split_hostport(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *h = s, *colon = NULL;
	size_t hl = 0;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':') {
			return RPC_ERR_ADDRESS;
		}
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			return RPC_ERR_ADDRESS;
		}
		hl = (size_t)(colon - s);
	}
	size_t pl = strlen(colon + 1);
	if (pl == 0 || hl >= hostlen || pl >= portlen) {
		return RPC_ERR_ADDRESS;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, colon + 1, pl + 1);
	return RPC_OK;
}

/* Writes "what path: reason" for the newest OpenSSL error into err. */
static int ctx_failure(const char *what, const char *path, char *err, size_t errlen)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;
	snprintf(err, errlen, "%s %s: %s", what, path != NULL ? path : "(none)",
	         reason != NULL ? reason : "unusable");
	ERR_clear_error();
	return RPC_ERR_TLS;
}

int rpc_conn_tls_ctx(int server, const char *cert, const char *key, const char *ca,
                     struct ssl_ctx_st **out, char *err, size_t errlen)
{
	int ret = RPC_ERR_TLS;
	ERR_clear_error();
	if (ca == NULL || (server && (cert == NULL || key == NULL)) ||
	    (cert == NULL) != (key == NULL)) {
		snprintf(err, errlen, "%s",
		         server ? "tls_cert, tls_key and tls_ca are required"
		                : "tls_ca is required, tls_cert needs tls_key");
		return RPC_ERR_TLS;
	}
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "cannot make a TLS context");
		ERR_clear_error();
		return RPC_ERR_NOMEM;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		ret = ctx_failure("TLS 1.3", "", err, errlen);
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET |
	                                 SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (server) {
		SSL_CTX_set_num_tickets(ctx, 0);
	}
	if (cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
			ret = ctx_failure("certificate", cert, err, errlen);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
			ret = ctx_failure("private key", key, err, errlen);
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			ret = ctx_failure("private key", key, err, errlen);
			goto fail;
		}
	}
	struct stat st;
	bool dir = stat(ca, &st) == 0 && S_ISDIR(st.st_mode);
	if (SSL_CTX_load_verify_locations(ctx, dir ? NULL : ca, dir ? ca : NULL) != 1) {
		ret = ctx_failure("CA certificates", ca, err, errlen);
		goto fail;
	}
	if (server) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		STACK_OF(X509_NAME) *names = dir ? NULL : SSL_load_client_CA_file(ca);
		if (names != NULL) {
			SSL_CTX_set_client_CA_list(ctx, names);
		}
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	ERR_clear_error();
	*out = ctx;
	return RPC_OK;
fail:
	SSL_CTX_free(ctx);
	return ret;
}
