/*
 * Tests of rpc_conn, rpc_listen and rpc_client: frames over socketpairs
 * (round trip, maximum, truncation, end of stream, timeout, shutdown from
 * another thread, concurrent senders), the Unix socket listener (mode,
 * stale and live sockets, a file in the way, peer credentials) and TLS
 * (client certificates checked both ways, TLS 1.2 and plaintext refused).
 * Certificates are made at start in a temporary directory by the openssl
 * command (EC P-256); the directory is removed at the end.
 */
#include "signer/rpc/rpc_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "signer/rpc/rpc_client.h"
#include "signer/rpc/rpc_error.h"
#include "signer/rpc/rpc_frame.h"
#include "signer/rpc/rpc_listen.h"
#include "tests/support/testutil.h"

static char tmpdir[256];     /* made by main with mkdtemp, removed at the end */
static char client_spki[65]; /* SHA-256 of client.pem's public key, by openssl */
static int certs_ok;

static const char *path_in(const char *name)
{
	static char buf[8][512];
	static int next;
	char *p = buf[next++ % 8];
	snprintf(p, 512, "%s/%s", tmpdir, name);
	return p;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pair(rpc_conn_t **a, rpc_conn_t **b)
{
	int sv[2];
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CU_ASSERT_FATAL(rpc_conn_from_fd(sv[0], a) == RPC_OK);
	CU_ASSERT_FATAL(rpc_conn_from_fd(sv[1], b) == RPC_OK);
}

/* A ZoneStatus request for "example." with id. */
static void status_request(Signer__V1__Request *r, Signer__V1__ZoneStatusRequest *zs, uint64_t id)
{
	signer__v1__request__init(r);
	signer__v1__zone_status_request__init(zs);
	zs->name = "example.";
	r->id = id;
	r->op_case = SIGNER__V1__REQUEST__OP_ZONE_STATUS;
	r->zone_status = zs;
}

static void test_rpc_conn_socketpair_round_trip(void)
{
	rpc_conn_t *a = NULL, *b = NULL;
	pair(&a, &b);
	Signer__V1__Request req;
	Signer__V1__ZoneStatusRequest zs;
	status_request(&req, &zs, 11);
	CU_ASSERT_EQUAL(rpc_conn_send_request(a, &req), RPC_OK);
	Signer__V1__Request *got = NULL;
	CU_ASSERT_EQUAL_FATAL(rpc_conn_recv_request(b, RPC_FRAME_DEFAULT_MAX, &got), RPC_OK);
	CU_ASSERT_EQUAL(got->id, 11);
	CU_ASSERT_EQUAL(got->op_case, SIGNER__V1__REQUEST__OP_ZONE_STATUS);
	CU_ASSERT_STRING_EQUAL(got->zone_status->name, "example.");
	signer__v1__request__free_unpacked(got, NULL);

	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = 11;
	resp.status = SIGNER__V1__STATUS__NOT_FOUND;
	resp.message = "no zone example.";
	CU_ASSERT_EQUAL(rpc_conn_send_response(b, &resp), RPC_OK);
	Signer__V1__Response *r = NULL;
	CU_ASSERT_EQUAL_FATAL(rpc_conn_recv_response(a, RPC_FRAME_DEFAULT_MAX, &r), RPC_OK);
	CU_ASSERT_EQUAL(r->id, 11);
	CU_ASSERT_EQUAL(r->status, SIGNER__V1__STATUS__NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(r->message, "no zone example.");
	signer__v1__response__free_unpacked(r, NULL);
	rpc_conn_free(a);
	rpc_conn_free(b);
}

typedef struct {
	rpc_conn_t *c;
	const Signer__V1__Response *resp;
	int count;
	int ret;
} sender_t;

static void *send_many(void *arg)
{
	sender_t *s = arg;
	s->ret = RPC_OK;
	for (int i = 0; i < s->count && s->ret == RPC_OK; i++) {
		s->ret = rpc_conn_send_response(s->c, s->resp);
	}
	return NULL;
}

static void test_rpc_conn_large_frame_round_trip(void)
{
	rpc_conn_t *a = NULL, *b = NULL;
	pair(&a, &b);
	size_t n = 3u << 20; /* far above the socket buffer: the reader must run alongside */
	char *text = malloc(n + 1);
	CU_ASSERT_FATAL(text != NULL);
	for (size_t i = 0; i < n; i++) {
		text[i] = (char)('a' + i % 26);
	}
	text[n] = '\0';
	Signer__V1__RecordChunk chunk = SIGNER__V1__RECORD_CHUNK__INIT;
	chunk.text = text;
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	resp.id = 5;
	resp.body_case = SIGNER__V1__RESPONSE__BODY_CHUNK;
	resp.chunk = &chunk;
	sender_t s = {b, &resp, 1, -1};
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, send_many, &s) == 0);
	Signer__V1__Response *r = NULL;
	CU_ASSERT_EQUAL(rpc_conn_recv_response(a, 1u << 20, &r), RPC_ERR_TOO_LARGE);
	rpc_conn_shutdown(a); /* the sender stops with an error */
	pthread_join(t, NULL);
	CU_ASSERT_NOT_EQUAL(s.ret, RPC_OK);
	rpc_conn_free(a);
	rpc_conn_free(b);

	pair(&a, &b);
	s.c = b;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, send_many, &s) == 0);
	CU_ASSERT_EQUAL(rpc_conn_recv_response(a, RPC_FRAME_DEFAULT_MAX, &r), RPC_OK);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(s.ret, RPC_OK);
	if (r != NULL) {
		CU_ASSERT_EQUAL(r->body_case, SIGNER__V1__RESPONSE__BODY_CHUNK);
		CU_ASSERT(strcmp(r->chunk->text, text) == 0);
		signer__v1__response__free_unpacked(r, NULL);
	}
	free(text);
	rpc_conn_free(a);
	rpc_conn_free(b);
}

static void test_rpc_conn_frame_above_max_reads_only_the_header(void)
{
	int sv[2];
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	int spy = dup(sv[1]);
	rpc_conn_t *c = NULL;
	CU_ASSERT_FATAL(rpc_conn_from_fd(sv[1], &c) == RPC_OK);
	uint8_t frame[7];
	rpc_frame_put_header(frame, 1u << 30);
	memcpy(frame + 4, "abc", 3);
	CU_ASSERT_EQUAL(write(sv[0], frame, sizeof(frame)), 7);
	uint8_t *buf = (uint8_t *)frame;
	size_t len = 99;
	CU_ASSERT_EQUAL(rpc_conn_read_frame(c, 1u << 20, &buf, &len), RPC_ERR_TOO_LARGE);
	CU_ASSERT(buf == frame && len == 99);
	int pending = -1;
	CU_ASSERT_EQUAL(ioctl(spy, FIONREAD, &pending), 0);
	CU_ASSERT_EQUAL(pending, 3); /* the body was not read */
	close(spy);
	close(sv[0]);
	rpc_conn_free(c);
}

/* Writes bytes into a connection's peer end, closes it, and returns what
 * two reads of frames give. */
static void after_close(const uint8_t *bytes, size_t n, int *first, int *second)
{
	int sv[2];
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	rpc_conn_t *c = NULL;
	CU_ASSERT_FATAL(rpc_conn_from_fd(sv[1], &c) == RPC_OK);
	if (n > 0) {
		CU_ASSERT_EQUAL(write(sv[0], bytes, n), (ssize_t)n);
	}
	close(sv[0]);
	uint8_t *buf = NULL;
	size_t len = 0;
	*first = rpc_conn_read_frame(c, 1024, &buf, &len);
	if (*first == RPC_OK) {
		free(buf);
	}
	*second = rpc_conn_read_frame(c, 1024, &buf, &len);
	if (*second == RPC_OK) {
		free(buf);
	}
	rpc_conn_free(c);
}

static void test_rpc_conn_close_inside_frame_is_truncated(void)
{
	static const uint8_t half_header[] = {0, 0};
	static const uint8_t half_body[] = {0, 0, 0, 10, 1, 2, 3, 4, 5};
	static const uint8_t header_only[] = {0, 0, 0, 10};
	int first, second;
	after_close(half_header, sizeof(half_header), &first, &second);
	CU_ASSERT_EQUAL(first, RPC_ERR_TRUNCATED);
	after_close(half_body, sizeof(half_body), &first, &second);
	CU_ASSERT_EQUAL(first, RPC_ERR_TRUNCATED);
	after_close(header_only, sizeof(header_only), &first, &second);
	CU_ASSERT_EQUAL(first, RPC_ERR_TRUNCATED);
}

static void test_rpc_conn_close_at_frame_boundary_is_closed(void)
{
	static const uint8_t two[] = {0, 0, 0, 2, 0x08, 0x01, 0, 0, 0, 0};
	int first, second;
	after_close(NULL, 0, &first, &second);
	CU_ASSERT_EQUAL(first, RPC_ERR_CLOSED);
	after_close(two, 6, &first, &second);
	CU_ASSERT_EQUAL(first, RPC_OK);
	CU_ASSERT_EQUAL(second, RPC_ERR_CLOSED);
	after_close(two, sizeof(two), &first, &second); /* then an empty frame */
	CU_ASSERT_EQUAL(first, RPC_OK);
	CU_ASSERT_EQUAL(second, RPC_OK);
}

static void test_rpc_conn_read_times_out_and_stays_usable(void)
{
	rpc_conn_t *a = NULL, *b = NULL;
	pair(&a, &b);
	rpc_conn_set_timeout(b, 150);
	uint8_t *buf = NULL;
	size_t len = 0;
	long long t0 = now_ms();
	CU_ASSERT_EQUAL(rpc_conn_read_frame(b, 1024, &buf, &len), RPC_ERR_TIMEOUT);
	long long spent = now_ms() - t0;
	CU_ASSERT(spent >= 140 && spent < 2000);
	Signer__V1__Request req;
	Signer__V1__ZoneStatusRequest zs;
	status_request(&req, &zs, 3);
	CU_ASSERT_EQUAL(rpc_conn_send_request(a, &req), RPC_OK);
	Signer__V1__Request *got = NULL;
	CU_ASSERT_EQUAL_FATAL(rpc_conn_recv_request(b, 1024, &got), RPC_OK);
	CU_ASSERT_EQUAL(got->id, 3);
	signer__v1__request__free_unpacked(got, NULL);

	/* a frame that stops half-way continues at the next read */
	uint8_t *frame = NULL;
	size_t flen = 0;
	CU_ASSERT_EQUAL_FATAL(rpc_frame_encode_request(&req, &frame, &flen), RPC_OK);
	rpc_conn_set_timeout(a, 1000);
	CU_ASSERT_EQUAL(rpc_conn_send_frame(a, frame, 2), RPC_OK);
	CU_ASSERT_EQUAL(rpc_conn_read_frame(b, 1024, &buf, &len), RPC_ERR_TIMEOUT);
	CU_ASSERT_EQUAL(rpc_conn_send_frame(a, frame + 2, 5), RPC_OK);
	CU_ASSERT_EQUAL(rpc_conn_read_frame(b, 1024, &buf, &len), RPC_ERR_TIMEOUT);
	CU_ASSERT_EQUAL(rpc_conn_send_frame(a, frame + 7, flen - 7), RPC_OK);
	CU_ASSERT_EQUAL_FATAL(rpc_conn_read_frame(b, 1024, &buf, &len), RPC_OK);
	CU_ASSERT(len == flen - 4 && memcmp(buf, frame + 4, len) == 0);
	free(buf);
	free(frame);
	rpc_conn_free(a);
	rpc_conn_free(b);
}

typedef struct {
	rpc_conn_t *c;
	int ret;
} reader_t;

static void *read_one(void *arg)
{
	reader_t *r = arg;
	Signer__V1__Request *got = NULL;
	r->ret = rpc_conn_recv_request(r->c, 1024, &got);
	if (r->ret == RPC_OK) {
		signer__v1__request__free_unpacked(got, NULL);
	}
	return NULL;
}

static void test_rpc_conn_shutdown_unblocks_reader(void)
{
	rpc_conn_t *a = NULL, *b = NULL;
	pair(&a, &b);
	reader_t r = {b, 1};
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, read_one, &r) == 0);
	usleep(100 * 1000);
	rpc_conn_shutdown(b);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(r.ret, RPC_ERR_CLOSED);
	Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
	CU_ASSERT_EQUAL(rpc_conn_send_response(b, &resp), RPC_ERR_IO);
	rpc_conn_free(a);
	rpc_conn_free(b);
}

static void test_rpc_conn_concurrent_sends_arrive_whole(void)
{
	rpc_conn_t *a = NULL, *b = NULL;
	pair(&a, &b);
	char msg[3000];
	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	Signer__V1__Response r1 = SIGNER__V1__RESPONSE__INIT, r2 = SIGNER__V1__RESPONSE__INIT;
	r1.id = 1;
	r1.message = msg;
	r2.id = 2;
	r2.more = 1;
	sender_t s1 = {b, &r1, 300, -1}, s2 = {b, &r2, 300, -1};
	pthread_t t1, t2;
	CU_ASSERT_FATAL(pthread_create(&t1, NULL, send_many, &s1) == 0);
	CU_ASSERT_FATAL(pthread_create(&t2, NULL, send_many, &s2) == 0);
	int seen[3] = {0, 0, 0};
	for (int i = 0; i < 600; i++) {
		Signer__V1__Response *r = NULL;
		int ret = rpc_conn_recv_response(a, 1u << 20, &r);
		CU_ASSERT_EQUAL_FATAL(ret, RPC_OK);
		if (r->id == 1 && strcmp(r->message, msg) == 0) {
			seen[1]++;
		} else if (r->id == 2 && r->more && r->message[0] == '\0') {
			seen[2]++;
		} else {
			seen[0]++;
		}
		signer__v1__response__free_unpacked(r, NULL);
	}
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CU_ASSERT_EQUAL(s1.ret, RPC_OK);
	CU_ASSERT_EQUAL(s2.ret, RPC_OK);
	CU_ASSERT(seen[0] == 0 && seen[1] == 300 && seen[2] == 300);
	rpc_conn_free(a);
	rpc_conn_free(b);
}

static void test_rpc_conn_peer_of_socketpair_is_own_process(void)
{
	rpc_conn_t *a = NULL, *b = NULL;
	pair(&a, &b);
	rpc_peer_t p;
	CU_ASSERT_EQUAL_FATAL(rpc_conn_peer(b, &p), RPC_OK);
	CU_ASSERT_EQUAL(p.kind, RPC_PEER_UNIX);
	CU_ASSERT_EQUAL(p.uid, getuid());
	CU_ASSERT_EQUAL(p.gid, getgid());
	CU_ASSERT_EQUAL(p.pid, getpid());
	CU_ASSERT_STRING_EQUAL(p.cert_sha256, "");
	rpc_conn_free(a);
	rpc_conn_free(b);
}

/* --- Unix socket listener --- */

static rpc_listen_config_t unix_cfg(const char *path, unsigned mode)
{
	rpc_listen_config_t cfg = {0};
	cfg.socket_path = path;
	cfg.socket_mode = mode;
	return cfg;
}

static void test_rpc_listen_unix_socket_mode_peer_and_removal(void)
{
	const char *path = path_in("signer.sock");
	char gid[32], uid[32], err[300] = "";
	snprintf(gid, sizeof(gid), "%u", (unsigned)getgid());
	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	rpc_listen_config_t cfg = unix_cfg(path, 0);
	cfg.socket_owner = uid;
	cfg.socket_group = gid;
	rpc_listen_t *l = NULL;
	CU_ASSERT_EQUAL_FATAL(rpc_listen_open(&cfg, &l, err, sizeof(err)), RPC_OK);
	struct stat st;
	CU_ASSERT_FATAL(lstat(path, &st) == 0);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0660);
	CU_ASSERT_EQUAL(rpc_listen_tls_port(l), -1);

	char server[600];
	snprintf(server, sizeof(server), "unix:%s", path);
	rpc_client_config_t ccfg = {.server = server, .timeout_ms = 5000};
	rpc_conn_t *client = NULL, *conn = NULL;
	CU_ASSERT_EQUAL_FATAL(rpc_client_connect(&ccfg, &client, err, sizeof(err)), RPC_OK);
	CU_ASSERT_EQUAL_FATAL(rpc_listen_accept(l, &conn, err, sizeof(err)), RPC_OK);
	rpc_peer_t p;
	CU_ASSERT_EQUAL(rpc_conn_peer(conn, &p), RPC_OK);
	CU_ASSERT_EQUAL(p.kind, RPC_PEER_UNIX);
	CU_ASSERT_EQUAL(p.uid, getuid());
	CU_ASSERT_EQUAL(p.pid, getpid());
	CU_ASSERT_STRING_EQUAL(p.addr, "unix");

	Signer__V1__Request req;
	Signer__V1__ZoneStatusRequest zs;
	status_request(&req, &zs, 77);
	CU_ASSERT_EQUAL(rpc_conn_send_request(client, &req), RPC_OK);
	Signer__V1__Request *got = NULL;
	CU_ASSERT_EQUAL_FATAL(rpc_conn_recv_request(conn, 1024, &got), RPC_OK);
	CU_ASSERT_EQUAL(got->id, 77);
	signer__v1__request__free_unpacked(got, NULL);
	rpc_conn_free(conn);
	rpc_conn_free(client);

	/* a plain path works as well */
	ccfg.server = path;
	CU_ASSERT_EQUAL(rpc_client_connect(&ccfg, &client, err, sizeof(err)), RPC_OK);
	rpc_conn_free(client);
	rpc_listen_free(l);
	CU_ASSERT(lstat(path, &st) != 0 && errno == ENOENT);
	CU_ASSERT_EQUAL(rpc_client_connect(&ccfg, &client, err, sizeof(err)), RPC_ERR_IO);
}

static void test_rpc_listen_refuses_mode_for_others(void)
{
	const char *path = path_in("mode.sock");
	static const unsigned modes[] = {0666, 0661, 0602, 04660, 01660};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		rpc_listen_config_t cfg = unix_cfg(path, modes[i]);
		rpc_listen_t *l = NULL;
		char err[300] = "";
		CU_ASSERT_EQUAL(rpc_listen_open(&cfg, &l, err, sizeof(err)), RPC_ERR_ADDRESS);
		CU_ASSERT(l == NULL);
		CU_ASSERT(strstr(err, "mode") != NULL);
		CU_ASSERT(access(path, F_OK) != 0);
	}
	rpc_listen_config_t cfg = unix_cfg(path, 0600);
	rpc_listen_t *l = NULL;
	char err[300] = "";
	CU_ASSERT_EQUAL_FATAL(rpc_listen_open(&cfg, &l, err, sizeof(err)), RPC_OK);
	struct stat st;
	CU_ASSERT(lstat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	rpc_listen_free(l);
}

static void test_rpc_listen_replaces_stale_socket(void)
{
	const char *path = path_in("stale.sock");
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd); /* the file stays, nobody listens */
	rpc_listen_config_t cfg = unix_cfg(path, 0);
	rpc_listen_t *l = NULL;
	char err[300] = "";
	CU_ASSERT_EQUAL(rpc_listen_open(&cfg, &l, err, sizeof(err)), RPC_OK);
	struct stat st;
	CU_ASSERT(lstat(path, &st) == 0 && (st.st_mode & 07777) == 0660);
	rpc_listen_free(l);
}

static void test_rpc_listen_refuses_live_socket(void)
{
	const char *path = path_in("live.sock");
	rpc_listen_config_t cfg = unix_cfg(path, 0);
	rpc_listen_t *l = NULL, *l2 = NULL;
	char err[300] = "";
	CU_ASSERT_EQUAL_FATAL(rpc_listen_open(&cfg, &l, err, sizeof(err)), RPC_OK);
	CU_ASSERT_EQUAL(rpc_listen_open(&cfg, &l2, err, sizeof(err)), RPC_ERR_ADDRESS);
	CU_ASSERT(l2 == NULL);
	CU_ASSERT(strstr(err, "another process is listening") != NULL);
	/* the first listener still works */
	rpc_client_config_t ccfg = {.server = path, .timeout_ms = 5000};
	rpc_conn_t *client = NULL, *conn = NULL;
	CU_ASSERT_EQUAL(rpc_client_connect(&ccfg, &client, err, sizeof(err)), RPC_OK);
	CU_ASSERT_EQUAL(rpc_listen_accept(l, &conn, err, sizeof(err)), RPC_OK);
	rpc_conn_free(conn);
	rpc_conn_free(client);
	rpc_listen_free(l);
}

static void test_rpc_listen_refuses_regular_file(void)
{
	const char *path = path_in("file.sock");
	FILE *f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("keep me\n", f);
	fclose(f);
	rpc_listen_config_t cfg = unix_cfg(path, 0);
	rpc_listen_t *l = NULL;
	char err[300] = "";
	CU_ASSERT_EQUAL(rpc_listen_open(&cfg, &l, err, sizeof(err)), RPC_ERR_ADDRESS);
	CU_ASSERT(strstr(err, "not a socket") != NULL);
	struct stat st;
	CU_ASSERT(lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 8);
	unlink(path);
}

static void test_rpc_listen_refuses_bad_configuration(void)
{
	rpc_listen_t *l = NULL;
	char err[300] = "";
	rpc_listen_config_t none = {0};
	CU_ASSERT_EQUAL(rpc_listen_open(&none, &l, err, sizeof(err)), RPC_ERR_ADDRESS);
	rpc_listen_config_t cfg = unix_cfg(path_in("owner.sock"), 0);
	cfg.socket_owner = "no-such-user-signer-test";
	CU_ASSERT_EQUAL(rpc_listen_open(&cfg, &l, err, sizeof(err)), RPC_ERR_ADDRESS);
	CU_ASSERT(strstr(err, "no such user") != NULL);
	cfg.socket_owner = NULL;
	cfg.socket_group = "no-such-group-signer-test";
	CU_ASSERT_EQUAL(rpc_listen_open(&cfg, &l, err, sizeof(err)), RPC_ERR_ADDRESS);
	char longpath[200];
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	cfg = unix_cfg(longpath, 0);
	CU_ASSERT_EQUAL(rpc_listen_open(&cfg, &l, err, sizeof(err)), RPC_ERR_ADDRESS);
	cfg = unix_cfg(path_in("no-dir/x.sock"), 0);
	CU_ASSERT_EQUAL(rpc_listen_open(&cfg, &l, err, sizeof(err)), RPC_ERR_ADDRESS);
	rpc_listen_config_t tls = {.tls_listen = "127.0.0.1",
	                           .tls_cert = path_in("server.pem"),
	                           .tls_key = path_in("server.key"),
	                           .tls_ca = path_in("ca.pem")};
	CU_ASSERT_EQUAL(rpc_listen_open(&tls, &l, err, sizeof(err)), RPC_ERR_ADDRESS);
	tls.tls_listen = "127.0.0.1:0";
	tls.tls_key = path_in("missing.key");
	CU_ASSERT_EQUAL(rpc_listen_open(&tls, &l, err, sizeof(err)), RPC_ERR_TLS);
	CU_ASSERT(strstr(err, "missing.key") != NULL);
	CU_ASSERT(l == NULL);
}

typedef struct {
	rpc_listen_t *l;
	int echo; /* answer one request, note the peer */
	int ret;
	char err[300];
	rpc_peer_t peer;
	uint64_t id;
} server_t;

static void *serve_one(void *arg)
{
	server_t *s = arg;
	rpc_conn_t *c = NULL;
	s->ret = rpc_listen_accept(s->l, &c, s->err, sizeof(s->err));
	if (s->ret != RPC_OK) {
		return NULL;
	}
	rpc_conn_set_timeout(c, 5000);
	rpc_conn_peer(c, &s->peer);
	if (s->echo) {
		Signer__V1__Request *req = NULL;
		s->ret = rpc_conn_recv_request(c, 1024, &req);
		if (s->ret == RPC_OK) {
			Signer__V1__Response resp = SIGNER__V1__RESPONSE__INIT;
			s->id = req->id;
			resp.id = req->id;
			resp.message = "pong";
			s->ret = rpc_conn_send_response(c, &resp);
			signer__v1__request__free_unpacked(req, NULL);
		}
	}
	rpc_conn_free(c);
	return NULL;
}

static void test_rpc_listen_stop_wakes_accept(void)
{
	rpc_listen_config_t cfg = unix_cfg(path_in("stop.sock"), 0);
	server_t s = {0};
	char err[300];
	CU_ASSERT_EQUAL_FATAL(rpc_listen_open(&cfg, &s.l, err, sizeof(err)), RPC_OK);
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, serve_one, &s) == 0);
	usleep(100 * 1000);
	rpc_listen_stop(s.l);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(s.ret, RPC_ERR_CLOSED);
	rpc_conn_t *c = NULL;
	CU_ASSERT_EQUAL(rpc_listen_accept(s.l, &c, err, sizeof(err)), RPC_ERR_CLOSED);
	rpc_listen_free(s.l);
}

/* --- TLS --- */

static rpc_listen_t *tls_listener(int *port)
{
	rpc_listen_config_t cfg = {.tls_listen = "127.0.0.1:0",
	                           .tls_cert = path_in("server.pem"),
	                           .tls_key = path_in("server.key"),
	                           .tls_ca = path_in("ca.pem")};
	rpc_listen_t *l = NULL;
	char err[300] = "";
	int ret = rpc_listen_open(&cfg, &l, err, sizeof(err));
	if (ret != RPC_OK) {
		fprintf(stderr, "\n  TLS listener: %s: %s\n", rpc_strerror(ret), err);
		return NULL;
	}
	*port = rpc_listen_tls_port(l);
	return l;
}

static void test_rpc_tls_good_client_exchanges_and_is_identified(void)
{
	CU_ASSERT_FATAL(certs_ok);
	int port = 0;
	server_t s = {.echo = 1};
	s.l = tls_listener(&port);
	CU_ASSERT_FATAL(s.l != NULL);
	CU_ASSERT(port > 0);
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, serve_one, &s) == 0);
	char server[64], err[300] = "";
	snprintf(server, sizeof(server), "tls:127.0.0.1:%d", port);
	rpc_client_config_t cfg = {server, path_in("client.pem"), path_in("client.key"),
	                           path_in("ca.pem"), 5000};
	rpc_conn_t *c = NULL;
	int ret = rpc_client_connect(&cfg, &c, err, sizeof(err));
	CU_ASSERT_EQUAL(ret, RPC_OK);
	if (ret != RPC_OK) {
		fprintf(stderr, "\n  connect: %s\n", err);
		rpc_listen_stop(s.l);
	} else {
		Signer__V1__Request req;
		Signer__V1__ZoneStatusRequest zs;
		status_request(&req, &zs, 4242);
		CU_ASSERT_EQUAL(rpc_conn_send_request(c, &req), RPC_OK);
		Signer__V1__Response *r = NULL;
		CU_ASSERT_EQUAL(rpc_conn_recv_response(c, 1024, &r), RPC_OK);
		if (r != NULL) {
			CU_ASSERT_EQUAL(r->id, 4242);
			CU_ASSERT_STRING_EQUAL(r->message, "pong");
			signer__v1__response__free_unpacked(r, NULL);
		}
		rpc_peer_t p;
		CU_ASSERT_EQUAL(rpc_conn_peer(c, &p), RPC_OK);
		CU_ASSERT_EQUAL(p.kind, RPC_PEER_TLS);
		CU_ASSERT_STRING_EQUAL(p.addr, server + 4);
	}
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(s.ret, RPC_OK);
	CU_ASSERT_EQUAL(s.id, 4242);
	CU_ASSERT_EQUAL(s.peer.kind, RPC_PEER_TLS);
	CU_ASSERT_STRING_EQUAL(s.peer.cert_sha256, client_spki);
	CU_ASSERT_EQUAL(s.peer.uid, UINT32_MAX);
	CU_ASSERT(strncmp(s.peer.addr, "127.0.0.1:", 10) == 0);
	rpc_conn_free(c);
	rpc_listen_free(s.l);
}

/* Connects with cert/key/ca (cert may be NULL) to a fresh listener, tries a
 * request, and returns what the server's accept and the client saw. */
static void tls_attempt(const char *host, const char *cert, const char *key, const char *ca,
                        server_t *s, int *client_ret)
{
	int port = 0;
	memset(s, 0, sizeof(*s));
	s->echo = 1;
	s->l = tls_listener(&port);
	CU_ASSERT_FATAL(s->l != NULL);
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, serve_one, s) == 0);
	char server[64], err[300] = "";
	snprintf(server, sizeof(server), "tls:%s:%d", host, port);
	rpc_client_config_t cfg = {server, cert ? path_in(cert) : NULL, key ? path_in(key) : NULL,
	                           path_in(ca), 5000};
	rpc_conn_t *c = NULL;
	*client_ret = rpc_client_connect(&cfg, &c, err, sizeof(err));
	if (*client_ret == RPC_OK) {
		/* TLS 1.3: the server judges the client certificate after the
		 * client's handshake; the refusal arrives with the first read */
		Signer__V1__Request req;
		Signer__V1__ZoneStatusRequest zs;
		status_request(&req, &zs, 1);
		rpc_conn_send_request(c, &req);
		Signer__V1__Response *r = NULL;
		*client_ret = rpc_conn_recv_response(c, 1024, &r);
		if (r != NULL) {
			signer__v1__response__free_unpacked(r, NULL);
		}
		rpc_conn_free(c);
	}
	pthread_join(t, NULL);
	rpc_listen_free(s->l);
}

static void test_rpc_tls_client_without_certificate_refused(void)
{
	CU_ASSERT_FATAL(certs_ok);
	server_t s;
	int client_ret = 0;
	tls_attempt("127.0.0.1", NULL, NULL, "ca.pem", &s, &client_ret);
	CU_ASSERT_EQUAL(s.ret, RPC_ERR_TLS);
	CU_ASSERT(strstr(s.err, "certificate") != NULL);
	CU_ASSERT_NOT_EQUAL(client_ret, RPC_OK);
}

static void test_rpc_tls_client_of_other_ca_refused(void)
{
	CU_ASSERT_FATAL(certs_ok);
	server_t s;
	int client_ret = 0;
	tls_attempt("127.0.0.1", "client2.pem", "client2.key", "ca.pem", &s, &client_ret);
	CU_ASSERT_EQUAL(s.ret, RPC_ERR_TLS);
	CU_ASSERT(strstr(s.err, "certificate verify failed") != NULL);
	CU_ASSERT_NOT_EQUAL(client_ret, RPC_OK);
}

static void test_rpc_tls_server_of_other_ca_or_name_refused_by_client(void)
{
	CU_ASSERT_FATAL(certs_ok);
	server_t s;
	int client_ret = 0;
	tls_attempt("127.0.0.1", "client.pem", "client.key", "ca2.pem", &s, &client_ret);
	CU_ASSERT_EQUAL(client_ret, RPC_ERR_TLS);
	CU_ASSERT_NOT_EQUAL(s.ret, RPC_OK);
	/* the certificate names IP 127.0.0.1, not "localhost" */
	tls_attempt("localhost", "client.pem", "client.key", "ca.pem", &s, &client_ret);
	CU_ASSERT_EQUAL(client_ret, RPC_ERR_TLS);
	CU_ASSERT_NOT_EQUAL(s.ret, RPC_OK);
}

static int tcp_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_rpc_tls_tls12_client_refused(void)
{
	CU_ASSERT_FATAL(certs_ok);
	int port = 0;
	server_t s = {0};
	s.l = tls_listener(&port);
	CU_ASSERT_FATAL(s.l != NULL);
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, serve_one, &s) == 0);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	CU_ASSERT_FATAL(ctx != NULL);
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_use_certificate_chain_file(ctx, path_in("client.pem"));
	SSL_CTX_use_PrivateKey_file(ctx, path_in("client.key"), SSL_FILETYPE_PEM);
	int fd = tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	CU_ASSERT_NOT_EQUAL(SSL_connect(ssl), 1);
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(s.ret, RPC_ERR_TLS);
	CU_ASSERT(strstr(s.err, "protocol") != NULL);
	rpc_listen_free(s.l);
}

static void test_rpc_tls_plaintext_refused(void)
{
	CU_ASSERT_FATAL(certs_ok);
	int port = 0;
	server_t s = {0};
	s.l = tls_listener(&port);
	CU_ASSERT_FATAL(s.l != NULL);
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, serve_one, &s) == 0);
	int fd = tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	static const uint8_t frame[] = {0, 0, 0, 2, 0x08, 0x01};
	CU_ASSERT_EQUAL(write(fd, frame, sizeof(frame)), (ssize_t)sizeof(frame));
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(s.ret, RPC_ERR_TLS);
	close(fd);
	rpc_listen_free(s.l);
}

/* The daemon's pattern on TLS: a thread blocked reading requests while
 * another sends events on the same connection. */
typedef struct {
	rpc_conn_t *c;
	int ret;
	uint64_t id;
} tls_reader_t;

static void *tls_read_request(void *arg)
{
	tls_reader_t *r = arg;
	Signer__V1__Request *req = NULL;
	r->ret = rpc_conn_recv_request(r->c, 1024, &req);
	if (r->ret == RPC_OK) {
		r->id = req->id;
		signer__v1__request__free_unpacked(req, NULL);
	}
	return NULL;
}

static void *accept_only(void *arg)
{
	server_t *s = arg;
	rpc_conn_t *c = NULL;
	s->ret = rpc_listen_accept(s->l, &c, s->err, sizeof(s->err));
	s->echo = 0;
	if (s->ret == RPC_OK) {
		/* hand the connection back through err's storage */
		memcpy(s->err, &c, sizeof(c));
	}
	return NULL;
}

static void test_rpc_tls_send_while_another_thread_reads(void)
{
	CU_ASSERT_FATAL(certs_ok);
	int port = 0;
	server_t s = {0};
	s.l = tls_listener(&port);
	CU_ASSERT_FATAL(s.l != NULL);
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, accept_only, &s) == 0);
	char server[64], err[300] = "";
	snprintf(server, sizeof(server), "tls:127.0.0.1:%d", port);
	rpc_client_config_t cfg = {server, path_in("client.pem"), path_in("client.key"),
	                           path_in("ca.pem"), 5000};
	rpc_conn_t *c = NULL;
	int ret = rpc_client_connect(&cfg, &c, err, sizeof(err));
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL_FATAL(ret, RPC_OK);
	CU_ASSERT_EQUAL_FATAL(s.ret, RPC_OK);
	rpc_conn_t *sc = NULL;
	memcpy(&sc, s.err, sizeof(sc));

	tls_reader_t reader = {sc, 1, 0};
	CU_ASSERT_FATAL(pthread_create(&t, NULL, tls_read_request, &reader) == 0);
	usleep(50 * 1000); /* the reader is waiting inside SSL_read */
	Signer__V1__Published pub = SIGNER__V1__PUBLISHED__INIT;
	pub.zone = "example.";
	Signer__V1__Response ev = SIGNER__V1__RESPONSE__INIT;
	ev.id = 9;
	ev.more = 1;
	ev.body_case = SIGNER__V1__RESPONSE__BODY_PUBLISHED;
	ev.published = &pub;
	for (uint32_t i = 1; i <= 50; i++) {
		pub.serial = i;
		CU_ASSERT_EQUAL(rpc_conn_send_response(sc, &ev), RPC_OK);
	}
	for (uint32_t i = 1; i <= 50; i++) {
		Signer__V1__Response *r = NULL;
		CU_ASSERT_EQUAL_FATAL(rpc_conn_recv_response(c, 1024, &r), RPC_OK);
		CU_ASSERT(r->body_case == SIGNER__V1__RESPONSE__BODY_PUBLISHED &&
		          r->published->serial == i);
		signer__v1__response__free_unpacked(r, NULL);
	}
	Signer__V1__Request req;
	Signer__V1__ZoneStatusRequest zs;
	status_request(&req, &zs, 31);
	CU_ASSERT_EQUAL(rpc_conn_send_request(c, &req), RPC_OK);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(reader.ret, RPC_OK);
	CU_ASSERT_EQUAL(reader.id, 31);

	/* the client closes: the server's next read sees a clean end */
	rpc_conn_free(c);
	rpc_conn_set_timeout(sc, 5000);
	uint8_t *buf = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL(rpc_conn_read_frame(sc, 1024, &buf, &len), RPC_ERR_CLOSED);
	rpc_conn_free(sc);
	rpc_listen_free(s.l);
}

/* Makes the CA, a second CA, the server certificate (IP 127.0.0.1), a
 * client certificate of each CA, and the client key's SHA-256. */
static int make_certs(void)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
	         "set -e; cd '%s'; "
	         "k='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'; "
	         "openssl req -x509 $k -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca; "
	         "openssl req -x509 $k -keyout ca2.key -out ca2.pem -days 2 -subj /CN=other-ca; "
	         "printf 'subjectAltName=IP:127.0.0.1\\n' > server.ext; "
	         "printf 'extendedKeyUsage=clientAuth\\n' > client.ext; "
	         "openssl req -new $k -keyout server.key -out server.csr -subj /CN=127.0.0.1; "
	         "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	         "  -days 2 -extfile server.ext -out server.pem; "
	         "openssl req -new $k -keyout client.key -out client.csr -subj /CN=client; "
	         "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	         "  -days 2 -extfile client.ext -out client.pem; "
	         "openssl req -new $k -keyout client2.key -out client2.csr -subj /CN=client2; "
	         "openssl x509 -req -in client2.csr -CA ca2.pem -CAkey ca2.key -CAcreateserial "
	         "  -days 2 -extfile client.ext -out client2.pem; "
	         "openssl x509 -in client.pem -pubkey -noout | openssl pkey -pubin -outform DER "
	         "  | sha256sum | cut -c1-64 > client.spki",
	         tmpdir);
	char quiet[4200];
	snprintf(quiet, sizeof(quiet), "( %s ) >/dev/null 2>&1", cmd);
	if (system(quiet) != 0) {
		fprintf(stderr, "making test certificates failed: %s\n", cmd);
		return 0;
	}
	FILE *f = fopen(path_in("client.spki"), "r");
	if (f == NULL || fgets(client_spki, sizeof(client_spki), f) == NULL ||
	    strlen(client_spki) != 64) {
		if (f != NULL) {
			fclose(f);
		}
		return 0;
	}
	fclose(f);
	return 1;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as signerd and the CLI do: OpenSSL writes with write(2) */
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/rpc-test-XXXXXX",
	         base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	certs_ok = make_certs();
	static const testutil_case_t cases[] = {
	        {"test_rpc_conn_socketpair_round_trip", test_rpc_conn_socketpair_round_trip},
	        {"test_rpc_conn_large_frame_round_trip", test_rpc_conn_large_frame_round_trip},
	        {"test_rpc_conn_frame_above_max_reads_only_the_header",
	         test_rpc_conn_frame_above_max_reads_only_the_header},
	        {"test_rpc_conn_close_inside_frame_is_truncated",
	         test_rpc_conn_close_inside_frame_is_truncated},
	        {"test_rpc_conn_close_at_frame_boundary_is_closed",
	         test_rpc_conn_close_at_frame_boundary_is_closed},
	        {"test_rpc_conn_read_times_out_and_stays_usable",
	         test_rpc_conn_read_times_out_and_stays_usable},
	        {"test_rpc_conn_shutdown_unblocks_reader", test_rpc_conn_shutdown_unblocks_reader},
	        {"test_rpc_conn_concurrent_sends_arrive_whole",
	         test_rpc_conn_concurrent_sends_arrive_whole},
	        {"test_rpc_conn_peer_of_socketpair_is_own_process",
	         test_rpc_conn_peer_of_socketpair_is_own_process},
	        {"test_rpc_listen_unix_socket_mode_peer_and_removal",
	         test_rpc_listen_unix_socket_mode_peer_and_removal},
	        {"test_rpc_listen_refuses_mode_for_others",
	         test_rpc_listen_refuses_mode_for_others},
	        {"test_rpc_listen_replaces_stale_socket", test_rpc_listen_replaces_stale_socket},
	        {"test_rpc_listen_refuses_live_socket", test_rpc_listen_refuses_live_socket},
	        {"test_rpc_listen_refuses_regular_file", test_rpc_listen_refuses_regular_file},
	        {"test_rpc_listen_refuses_bad_configuration",
	         test_rpc_listen_refuses_bad_configuration},
	        {"test_rpc_listen_stop_wakes_accept", test_rpc_listen_stop_wakes_accept},
	        {"test_rpc_tls_good_client_exchanges_and_is_identified",
	         test_rpc_tls_good_client_exchanges_and_is_identified},
	        {"test_rpc_tls_client_without_certificate_refused",
	         test_rpc_tls_client_without_certificate_refused},
	        {"test_rpc_tls_client_of_other_ca_refused",
	         test_rpc_tls_client_of_other_ca_refused},
	        {"test_rpc_tls_server_of_other_ca_or_name_refused_by_client",
	         test_rpc_tls_server_of_other_ca_or_name_refused_by_client},
	        {"test_rpc_tls_tls12_client_refused", test_rpc_tls_tls12_client_refused},
	        {"test_rpc_tls_plaintext_refused", test_rpc_tls_plaintext_refused},
	        {"test_rpc_tls_send_while_another_thread_reads",
	         test_rpc_tls_send_while_another_thread_reads},
	        {NULL, NULL},
	};
	int failures = testutil_run("rpc_conn", cases);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir); /* made by mkdtemp above */
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
	return failures;
}
