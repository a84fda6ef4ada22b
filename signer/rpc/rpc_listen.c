#include "signer/rpc/rpc_listen.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "signer/rpc/rpc_error.h"

#define BACKLOG 64

struct rpc_listen {
	int unix_fd;     /* -1: no Unix socket */
	char *unix_path; /* the socket file we made, NULL: none */
	dev_t unix_dev;  /* identity of that file, to remove only ours */
	ino_t unix_ino;
	int tls_fd;   /* -1: no TLS socket */
	int tls_port; /* bound port, -1: none */
	SSL_CTX *ctx; /* server context of tls_fd */
	int wake[2];  /* self-pipe: rpc_listen_stop() writes a byte */
	atomic_bool stopped;
	bool tls_first; /* accept thread only: which socket to serve first */
};

/* A user or group id from a name or a number; false if unknown. */
static bool lookup_id(const char *s, bool group, unsigned *id)
{
	char *end = NULL;
	errno = 0;
	unsigned long n = strtoul(s, &end, 10);
	if (s[0] != '\0' && *end == '\0' && errno == 0 && n < 0xffffffffUL) {
		*id = (unsigned)n;
		return true;
	}
	char buf[16384];
	if (group) {
		struct group g, *res = NULL;
		if (getgrnam_r(s, &g, buf, sizeof(buf), &res) != 0 || res == NULL) {
			return false;
		}
		*id = (unsigned)g.gr_gid;
	} else {
		struct passwd p, *res = NULL;
		if (getpwnam_r(s, &p, buf, sizeof(buf), &res) != 0 || res == NULL) {
			return false;
		}
		*id = (unsigned)p.pw_uid;
	}
	return true;
}

/* Removes a stale socket file at path (nobody answers on it); refuses a
 * live socket or anything else. */
static int clear_path(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT) {
			return RPC_OK;
		}
		snprintf(err, errlen, "socket path %s: %s", path, strerror(errno));
		return RPC_ERR_ADDRESS;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "socket path %s exists and is not a socket", path);
		return RPC_ERR_ADDRESS;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return RPC_ERR_IO;
	}
	int r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	int e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN || e == EINPROGRESS) {
		snprintf(err, errlen, "socket %s: another process is listening on it", path);
		return RPC_ERR_ADDRESS;
	}
	if (e != ECONNREFUSED) {
		snprintf(err, errlen, "socket %s: cannot tell whether it is in use: %s", path,
		         strerror(e));
		return RPC_ERR_ADDRESS;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "stale socket %s: cannot remove: %s", path, strerror(errno));
		return RPC_ERR_IO;
	}
	return RPC_OK;
}

static int open_unix(rpc_listen_t *l, const rpc_listen_config_t *cfg, char *err, size_t errlen)
{
	const char *path = cfg->socket_path;
	unsigned mode = cfg->socket_mode != 0 ? cfg->socket_mode : 0660;
	unsigned uid = (unsigned)-1, gid = (unsigned)-1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path \"%.80s\" empty or longer than %zu bytes", path,
		         sizeof(sa.sun_path) - 1);
		return RPC_ERR_ADDRESS;
	}
	if ((mode & ~0777u) != 0 || (mode & 0007u) != 0) {
		snprintf(err, errlen,
		         "socket mode 0%o refused: no bits for others, nothing above 0777", mode);
		return RPC_ERR_ADDRESS;
	}
	if (cfg->socket_owner != NULL && !lookup_id(cfg->socket_owner, false, &uid)) {
		snprintf(err, errlen, "socket owner %s: no such user", cfg->socket_owner);
		return RPC_ERR_ADDRESS;
	}
	if (cfg->socket_group != NULL && !lookup_id(cfg->socket_group, true, &gid)) {
		snprintf(err, errlen, "socket group %s: no such group", cfg->socket_group);
		return RPC_ERR_ADDRESS;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int ret = clear_path(path, &sa, err, errlen);
	if (ret != RPC_OK) {
		return ret;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return RPC_ERR_IO;
	}
	bool bound = false;
	mode_t old = umask(0177);
	int r = bind(fd, (const struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (r != 0) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(e));
		ret = e == EADDRINUSE || e == ENOENT || e == ENOTDIR || e == EACCES
		              ? RPC_ERR_ADDRESS
		              : RPC_ERR_IO;
		goto fail;
	}
	bound = true;
	struct stat st;
	if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "socket %s replaced after bind", path);
		ret = RPC_ERR_ADDRESS;
		goto fail;
	}
	if ((uid != (unsigned)-1 || gid != (unsigned)-1) &&
	    lchown(path, (uid_t)uid, (gid_t)gid) != 0) {
		snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
		ret = RPC_ERR_IO;
		goto fail;
	}
	if (chmod(path, (mode_t)mode) != 0) {
		snprintf(err, errlen, "chmod %s: %s", path, strerror(errno));
		ret = RPC_ERR_IO;
		goto fail;
	}
	if (listen(fd, BACKLOG) != 0) {
		snprintf(err, errlen, "listen %s: %s", path, strerror(errno));
		ret = RPC_ERR_IO;
		goto fail;
	}
	l->unix_path = strdup(path);
	if (l->unix_path == NULL) {
		ret = RPC_ERR_NOMEM;
		goto fail;
	}
	l->unix_fd = fd;
	l->unix_dev = st.st_dev;
	l->unix_ino = st.st_ino;
	return RPC_OK;
fail:
	if (bound) {
		unlink(path);
	}
	close(fd);
	return ret;
}

static int open_tls(rpc_listen_t *l, const rpc_listen_config_t *cfg, char *err, size_t errlen)
{
	char host[256], port[32];
	if (rpc_conn_split_hostport(cfg->tls_listen, host, sizeof(host), port, sizeof(port)) !=
	    RPC_OK) {
		snprintf(err, errlen, "tls_listen \"%.80s\": not host:port", cfg->tls_listen);
		return RPC_ERR_ADDRESS;
	}
	int ret =
	        rpc_conn_tls_ctx(1, cfg->tls_cert, cfg->tls_key, cfg->tls_ca, &l->ctx, err, errlen);
	if (ret != RPC_OK) {
		return ret;
	}
	struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	bool any = host[0] == '\0' || strcmp(host, "*") == 0;
	int gai = getaddrinfo(any ? NULL : host, port, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "tls_listen %s: %s", cfg->tls_listen, gai_strerror(gai));
		return RPC_ERR_ADDRESS;
	}
	ret = RPC_ERR_ADDRESS;
	snprintf(err, errlen, "tls_listen %s: no address", cfg->tls_listen);
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		                ai->ai_protocol);
		if (fd < 0) {
			snprintf(err, errlen, "tls_listen %s: socket: %s", cfg->tls_listen,
			         strerror(errno));
			ret = RPC_ERR_IO;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, BACKLOG) != 0) {
			snprintf(err, errlen, "tls_listen %s: %s", cfg->tls_listen,
			         strerror(errno));
			ret = errno == EADDRINUSE || errno == EADDRNOTAVAIL || errno == EACCES
			              ? RPC_ERR_ADDRESS
			              : RPC_ERR_IO;
			close(fd);
			continue;
		}
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char serv[NI_MAXSERV];
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
		    getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, serv, sizeof(serv),
		                NI_NUMERICSERV) == 0) {
			l->tls_port = atoi(serv);
		}
		l->tls_fd = fd;
		ret = RPC_OK;
		err[0] = '\0';
		break;
	}
	freeaddrinfo(res);
	return ret;
}

int rpc_listen_open(const rpc_listen_config_t *cfg, rpc_listen_t **out, char *err, size_t errlen)
{
	char dummy[1];
	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (cfg->socket_path == NULL && cfg->tls_listen == NULL) {
		snprintf(err, errlen, "neither a socket path nor a TLS address to listen on");
		return RPC_ERR_ADDRESS;
	}
	rpc_listen_t *l = calloc(1, sizeof(*l));
	if (l == NULL) {
		return RPC_ERR_NOMEM;
	}
	l->unix_fd = l->tls_fd = l->tls_port = -1;
	l->wake[0] = l->wake[1] = -1;
	atomic_init(&l->stopped, false);
	int ret = RPC_ERR_IO;
	if (pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (cfg->socket_path != NULL) {
		ret = open_unix(l, cfg, err, errlen);
		if (ret != RPC_OK) {
			goto fail;
		}
	}
	if (cfg->tls_listen != NULL) {
		ret = open_tls(l, cfg, err, errlen);
		if (ret != RPC_OK) {
			goto fail;
		}
	}
	*out = l;
	return RPC_OK;
fail:
	rpc_listen_free(l);
	return ret;
}

/* Accepts one pending connection on fd into *cfd; RPC_ERR_TIMEOUT if there
 * was none after all (the client left). */
static int accept_one(int fd, int *cfd, char *err, size_t errlen)
{
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c >= 0) {
		*cfd = c;
		return RPC_OK;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED ||
	    errno == EPROTO) {
		return RPC_ERR_TIMEOUT;
	}
	int e = errno;
	snprintf(err, errlen, "accept: %s", strerror(e));
	errno = e;
	return RPC_ERR_IO;
}

static int accept_tls(rpc_listen_t *l, int cfd, rpc_conn_t **out, char *err, size_t errlen)
{
	char addr[80] = "?", reason[200] = "";
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	if (getpeername(cfd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
	                NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
		snprintf(addr, sizeof(addr), ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
		         serv);
	}
	SSL *ssl = SSL_new(l->ctx);
	if (ssl == NULL) {
		ERR_clear_error();
		close(cfd);
		snprintf(err, errlen, "TLS client %s: out of memory", addr);
		return RPC_ERR_NOMEM;
	}
	SSL_set_accept_state(ssl);
	int ret = rpc_conn_from_tls(cfd, ssl, RPC_LISTEN_HANDSHAKE_MS, l->wake[0], out, reason,
	                            sizeof(reason));
	if (ret == RPC_ERR_CLOSED) {
		return ret; /* rpc_listen_stop() */
	}
	if (ret != RPC_OK) {
		snprintf(err, errlen, "TLS client %s refused: %s", addr, reason);
	}
	return ret;
}

int rpc_listen_accept(rpc_listen_t *l, rpc_conn_t **out, char *err, size_t errlen)
{
	char dummy[1];
	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	for (;;) {
		if (atomic_load(&l->stopped)) {
			return RPC_ERR_CLOSED;
		}
		struct pollfd p[3] = {
		        {l->wake[0], POLLIN, 0}, {l->unix_fd, POLLIN, 0}, {l->tls_fd, POLLIN, 0}};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			int e = errno;
			snprintf(err, errlen, "poll: %s", strerror(e));
			errno = e;
			return RPC_ERR_IO;
		}
		if (p[0].revents != 0) {
			return RPC_ERR_CLOSED;
		}
		bool unix_ready = l->unix_fd >= 0 && p[1].revents != 0;
		bool tls_ready = l->tls_fd >= 0 && p[2].revents != 0;
		bool take_tls = tls_ready && (!unix_ready || l->tls_first);
		if (!unix_ready && !tls_ready) {
			continue;
		}
		l->tls_first = !take_tls; /* the other socket goes first next time */
		int cfd = -1;
		int ret = accept_one(take_tls ? l->tls_fd : l->unix_fd, &cfd, err, errlen);
		if (ret == RPC_ERR_TIMEOUT) {
			continue;
		}
		if (ret != RPC_OK) {
			return ret;
		}
		if (take_tls) {
			return accept_tls(l, cfd, out, err, errlen);
		}
		ret = rpc_conn_from_fd(cfd, out);
		if (ret != RPC_OK) {
			snprintf(err, errlen, "unix client: %s", rpc_strerror(ret));
		}
		return ret;
	}
}

void rpc_listen_stop(rpc_listen_t *l)
{
	atomic_store(&l->stopped, true);
	ssize_t r = write(l->wake[1], "x", 1);
	(void)r; /* a full pipe already wakes accept */
}

int rpc_listen_tls_port(const rpc_listen_t *l)
{
	return l->tls_port;
}

void rpc_listen_free(rpc_listen_t *l)
{
	if (l == NULL) {
		return;
	}
	if (l->unix_fd >= 0) {
		close(l->unix_fd);
	}
	if (l->unix_path != NULL) {
		struct stat st;
		if (lstat(l->unix_path, &st) == 0 && st.st_dev == l->unix_dev &&
		    st.st_ino == l->unix_ino) {
			unlink(l->unix_path);
		}
		free(l->unix_path);
	}
	if (l->tls_fd >= 0) {
		close(l->tls_fd);
	}
	SSL_CTX_free(l->ctx);
	for (int i = 0; i < 2; i++) {
		if (l->wake[i] >= 0) {
			close(l->wake[i]);
		}
	}
	free(l);
}
