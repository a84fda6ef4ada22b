#include "signer/rpc/rpc_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "signer/rpc/rpc_error.h"

static int connect_unix(const char *path, rpc_conn_t **out, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path \"%.80s\" empty or too long", path);
		return RPC_ERR_ADDRESS;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return RPC_ERR_IO;
	}
	int r;
	do {
		r = connect(fd, (const struct sockaddr *)&sa, sizeof(sa));
	} while (r != 0 && errno == EINTR);
	if (r != 0) {
		int e = errno;
		snprintf(err, errlen, "connect %s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return RPC_ERR_IO;
	}
	int ret = rpc_conn_from_fd(fd, out);
	if (ret != RPC_OK) {
		snprintf(err, errlen, "%s", rpc_strerror(ret));
	}
	return ret;
}

/* Connects a TCP socket to ai within timeout_ms. Returns the socket or -1
 * with errno set (ETIMEDOUT). */
static int connect_addr(const struct addrinfo *ai, unsigned timeout_ms)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
	                ai->ai_protocol);
	if (fd < 0) {
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		return fd;
	}
	if (errno != EINPROGRESS) {
		goto fail;
	}
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long long spent = (long long)(t.tv_sec - t0.tv_sec) * 1000 +
		                  (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (spent >= timeout_ms) {
			errno = ETIMEDOUT;
			goto fail;
		}
		struct pollfd p = {fd, POLLOUT, 0};
		int n = poll(&p, 1, (int)(timeout_ms - spent));
		if (n < 0 && errno != EINTR) {
			goto fail;
		}
		if (n > 0) {
			break;
		}
	}
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
		goto fail;
	}
	if (soerr != 0) {
		errno = soerr;
		goto fail;
	}
	return fd;
fail:;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

static int connect_tls(const rpc_client_config_t *cfg, const char *hostport, unsigned timeout_ms,
                       rpc_conn_t **out, char *err, size_t errlen)
{
	char host[256], port[32];
	if (rpc_conn_split_hostport(hostport, host, sizeof(host), port, sizeof(port)) != RPC_OK ||
	    host[0] == '\0') {
		snprintf(err, errlen, "server \"tls:%.80s\": not host:port", hostport);
		return RPC_ERR_ADDRESS;
	}
	SSL_CTX *ctx = NULL;
	int ret = rpc_conn_tls_ctx(0, cfg->tls_cert, cfg->tls_key, cfg->tls_ca, &ctx, err, errlen);
	if (ret != RPC_OK) {
		return ret;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "server %s: %s", hostport, gai_strerror(gai));
		SSL_CTX_free(ctx);
		return RPC_ERR_ADDRESS;
	}
	int fd = -1, e = 0;
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = connect_addr(ai, timeout_ms);
		e = errno;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "connect %s: %s", hostport, strerror(e));
		SSL_CTX_free(ctx);
		errno = e;
		return e == ETIMEDOUT ? RPC_ERR_TIMEOUT : RPC_ERR_IO;
	}
	SSL *ssl = SSL_new(ctx);
	SSL_CTX_free(ctx); /* ssl holds a reference */
	if (ssl == NULL) {
		ERR_clear_error();
		close(fd);
		snprintf(err, errlen, "TLS: out of memory");
		return RPC_ERR_NOMEM;
	}
	SSL_set_connect_state(ssl);
	unsigned char ip[16];
	bool literal = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	int ok =
	        literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
	                : SSL_set1_host(ssl, host) == 1 && SSL_set_tlsext_host_name(ssl, host) == 1;
	if (ok != 1) {
		ERR_clear_error();
		SSL_free(ssl);
		close(fd);
		snprintf(err, errlen, "server %s: cannot set the name to verify", hostport);
		return RPC_ERR_TLS;
	}
	char reason[200] = "";
	ret = rpc_conn_from_tls(fd, ssl, timeout_ms, -1, out, reason, sizeof(reason));
	if (ret != RPC_OK) {
		snprintf(err, errlen, "TLS with %s: %s", hostport, reason);
	}
	return ret;
}

int rpc_client_connect(const rpc_client_config_t *cfg, rpc_conn_t **out, char *err, size_t errlen)
{
	char dummy[1];
	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	const char *s = cfg->server;
	unsigned limit = cfg->timeout_ms != 0 ? cfg->timeout_ms : RPC_CLIENT_CONNECT_MS;
	rpc_conn_t *c = NULL;
	int ret;
	if (s == NULL || s[0] == '\0') {
		snprintf(err, errlen, "no server address");
		return RPC_ERR_ADDRESS;
	}
	if (strncmp(s, "tls:", 4) == 0) {
		ret = connect_tls(cfg, s + 4, limit, &c, err, errlen);
	} else {
		ret = connect_unix(strncmp(s, "unix:", 5) == 0 ? s + 5 : s, &c, err, errlen);
	}
	if (ret != RPC_OK) {
		return ret;
	}
	rpc_conn_set_timeout(c, cfg->timeout_ms);
	*out = c;
	return RPC_OK;
}
