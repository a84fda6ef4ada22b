/*
 * test_kasp_parent: kasp_parent against real parental agents. Two NSD
 * instances on loopback serve a parent zone "example.": agent A with the DS
 * of child.example. and a DS RRset too large for 512 octets at
 * big.example.; agent B the same zone without the child's DS. Also a closed
 * port (refused) and a silent UDP socket (timeout). The evidence tracker is
 * tested as the pure function it is. Exits 77 (skipped) when nsd is absent.
 */
#include "kasp/kasp_parent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kasp/kasp_error.h"
#include "tests/support/testutil.h"

#define CHILD_TAG 12345
#define CHILD_ALG 13
#define BIG_COUNT 20 /* 20 SHA-256 DS: about 1 kB, above 512 octets */

static char dir[64];
static char nsd_path[256];
static char checkconf_path[256];

typedef struct {
	pid_t pid;
	uint16_t port;
	char agent[32];
} server_t;

static server_t srv_a; /* with the child's DS */
static server_t srv_b; /* without it */
static char closed_agent[32];
static char silent_agent[32];
static int silent_fd = -1;

/* The digest of the i-th test DS: 32 octets. */
static void digest_of(unsigned i, uint8_t out[32])
{
	for (unsigned k = 0; k < 32; k++) {
		out[k] = (uint8_t)(i * 31 + k * 7 + 1);
	}
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t k = 0; k < n; k++) {
		sprintf(out + 2 * k, "%02X", p[k]);
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool find_program(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s:/usr/sbin:/usr/local/sbin", path ? path : "/usr/bin");
	for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", d, name);
		if (access(out, X_OK) == 0) {
			return true;
		}
	}
	return false;
}

/* A port nobody listens on (UDP and TCP) just now. */
static uint16_t free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in sin = {.sin_family = AF_INET};
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t l = sizeof(sin);
		if (u < 0 || bind(u, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
		    getsockname(u, (struct sockaddr *)&sin, &l) != 0) {
			if (u >= 0) {
				close(u);
			}
			continue;
		}
		int t = socket(AF_INET, SOCK_STREAM, 0);
		bool ok = t >= 0 && bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		if (t >= 0) {
			close(t);
		}
		close(u);
		if (ok) {
			return ntohs(sin.sin_port);
		}
	}
	return 0;
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		return false;
	}
	bool ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

/* Writes the zone file of one agent: with_child says whether child.example.
 * has its DS. */
static bool write_zone(const char *path, bool with_child)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		return false;
	}
	fprintf(f, "$ORIGIN example.\n$TTL 3600\n"
	           "@ SOA ns.example. hostmaster.example. 1 3600 600 86400 300\n"
	           "@ NS ns.example.\nns A 127.0.0.1\n"
	           "child NS ns.child.example.\nns.child A 127.0.0.1\n"
	           "nods NS ns.nods.example.\nns.nods A 127.0.0.1\n"
	           "big NS ns.big.example.\nns.big A 127.0.0.1\n");
	uint8_t d[32];
	char h[65];
	if (with_child) {
		digest_of(0, d);
		hex(d, 32, h);
		fprintf(f, "child DS %u %u 2 %s\n", CHILD_TAG, CHILD_ALG, h);
	}
	for (unsigned i = 1; i <= BIG_COUNT; i++) {
		digest_of(i, d);
		hex(d, 32, h);
		fprintf(f, "big DS %u 13 2 %s\n", 20000 + i, h);
	}
	return fclose(f) == 0;
}

/* Starts NSD in the foreground serving name.zone on 127.0.0.1@port; waits
 * until it answers. */
static bool start_nsd(server_t *s, const char *name, bool with_child)
{
	char sub[128], conf[256], zone[256], text[2048];
	snprintf(sub, sizeof(sub), "%s/%s", dir, name);
	if (mkdir(sub, 0700) != 0) {
		return false;
	}
	snprintf(zone, sizeof(zone), "%s/example.zone", sub);
	if (!write_zone(zone, with_child)) {
		return false;
	}
	for (int attempt = 0; attempt < 5; attempt++) {
		s->port = free_port();
		if (s->port == 0) {
			return false;
		}
		snprintf(conf, sizeof(conf), "%s/nsd.conf", sub);
		snprintf(text, sizeof(text),
		         "server:\n"
		         "  ip-address: 127.0.0.1@%u\n"
		         "  port: %u\n"
		         "  do-ip6: no\n"
		         "  username: \"\"\n"
		         "  chroot: \"\"\n"
		         "  server-count: 1\n"
		         "  zonesdir: \"%s\"\n"
		         "  pidfile: \"%s/nsd.pid\"\n"
		         "  xfrdfile: \"%s/xfrd.state\"\n"
		         "  xfrdir: \"%s\"\n"
		         "  zonelistfile: \"%s/zone.list\"\n"
		         "  database: \"\"\n"
		         "  logfile: \"%s/nsd.log\"\n"
		         "  cookie-secret-file: \"%s/cookies\"\n"
		         "remote-control:\n"
		         "  control-enable: no\n"
		         "zone:\n"
		         "  name: example.\n"
		         "  zonefile: example.zone\n",
		         s->port, s->port, sub, sub, sub, sub, sub, sub, sub);
		if (!write_file(conf, text)) {
			return false;
		}
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "'%s' '%s' >'%s/checkconf.log' 2>&1", checkconf_path,
		         conf, sub);
		if (system(cmd) != 0) {
			fprintf(stderr, "nsd-checkconf refused %s (see %s/checkconf.log)\n", conf,
			        sub);
			return false;
		}
		pid_t pid = fork();
		if (pid < 0) {
			return false;
		}
		if (pid == 0) {
			char log[256];
			snprintf(log, sizeof(log), "%s/stderr.log", sub);
			if (freopen(log, "w", stderr) == NULL ||
			    freopen("/dev/null", "w", stdout) == NULL) {
				_exit(127);
			}
			execl(nsd_path, "nsd", "-d", "-c", conf, (char *)NULL);
			_exit(127);
		}
		s->pid = pid;
		snprintf(s->agent, sizeof(s->agent), "127.0.0.1@%u", s->port);
		/* Up when it answers, at most 5 s. */
		const char *agents[] = {s->agent};
		kasp_parent_opts_t o = {200, 1232};
		for (int i = 0; i < 50; i++) {
			kasp_parent_result_t r;
			if (kasp_parent_poll(agents, 1, "child.example.", &o, &r) == KASP_OK) {
				bool up = r.answers[0].reachable;
				kasp_parent_result_deinit(&r);
				if (up) {
					return true;
				}
			}
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				break; /* exited: port taken? try another */
			}
			usleep(100 * 1000);
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		s->pid = 0;
	}
	return false;
}

static void stop_nsd(server_t *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

static kasp_parent_result_t poll1(const char *agent, const char *zone, uint16_t udp_size)
{
	const char *agents[] = {agent};
	kasp_parent_opts_t o = {1000, udp_size};
	kasp_parent_result_t r = {0};
	CU_ASSERT_EQUAL_FATAL(kasp_parent_poll(agents, 1, zone, &o, &r), KASP_OK);
	CU_ASSERT_EQUAL_FATAL(r.nanswers, 1);
	return r;
}

static void test_kasp_parent_finds_the_ds_with_its_fields(void)
{
	kasp_parent_result_t r = poll1(srv_a.agent, "child.example.", 1232);
	const kasp_parent_answer_t *a = &r.answers[0];
	CU_ASSERT_EQUAL(a->status, KASP_OK);
	CU_ASSERT_STRING_EQUAL(a->detail, "");
	CU_ASSERT(a->reachable);
	CU_ASSERT(a->authoritative);
	CU_ASSERT(!a->via_tcp);
	CU_ASSERT_EQUAL(a->rcode, 0);
	CU_ASSERT_STRING_EQUAL(a->agent, srv_a.agent);
	CU_ASSERT_EQUAL_FATAL(a->nds, 1);
	CU_ASSERT_EQUAL(a->ds[0].key_tag, CHILD_TAG);
	CU_ASSERT_EQUAL(a->ds[0].algorithm, CHILD_ALG);
	CU_ASSERT_EQUAL(a->ds[0].digest_type, 2);
	CU_ASSERT_EQUAL_FATAL(a->ds[0].digest_len, 32);
	uint8_t d[32];
	digest_of(0, d);
	CU_ASSERT_EQUAL(memcmp(a->ds[0].digest, d, 32), 0);
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, CHILD_TAG, CHILD_ALG, 2, d, 32),
	                KASP_PARENT_DS_PRESENT);
	kasp_parent_result_deinit(&r);
	kasp_parent_result_deinit(&r); /* twice is harmless */
	CU_ASSERT_PTR_NULL(r.answers);

	/* Without the final dot, in another case: the same answer. */
	r = poll1(srv_a.agent, "CHILD.Example", 0);
	CU_ASSERT_EQUAL(r.answers[0].nds, 1);
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, CHILD_TAG, CHILD_ALG, 2, d, 32),
	                KASP_PARENT_DS_PRESENT);
	kasp_parent_result_deinit(&r);
}

static void test_kasp_parent_ds_not_there_is_absent(void)
{
	uint8_t d[32];
	digest_of(0, d);
	kasp_parent_result_t r = poll1(srv_a.agent, "child.example.", 1232);
	/* Another digest, digest type, tag or algorithm: not this DS. */
	uint8_t other[32];
	memcpy(other, d, 32);
	other[31] ^= 1;
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, CHILD_TAG, CHILD_ALG, 2, other, 32),
	                KASP_PARENT_DS_ABSENT);
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, CHILD_TAG, CHILD_ALG, 4, d, 32),
	                KASP_PARENT_DS_ABSENT);
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, CHILD_TAG + 1, CHILD_ALG, 2, d, 32),
	                KASP_PARENT_DS_ABSENT);
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, CHILD_TAG, 8, 2, d, 32), KASP_PARENT_DS_ABSENT);
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, CHILD_TAG, CHILD_ALG, 2, d, 31),
	                KASP_PARENT_DS_ABSENT);
	kasp_parent_result_deinit(&r);

	/* A delegation without DS (NODATA) and a name that does not exist. */
	r = poll1(srv_a.agent, "nods.example.", 1232);
	CU_ASSERT(r.answers[0].reachable);
	CU_ASSERT(r.answers[0].authoritative);
	CU_ASSERT_EQUAL(r.answers[0].rcode, 0);
	CU_ASSERT_EQUAL(r.answers[0].nds, 0);
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, CHILD_TAG, CHILD_ALG, 2, d, 32),
	                KASP_PARENT_DS_ABSENT);
	kasp_parent_result_deinit(&r);
	r = poll1(srv_a.agent, "nowhere.example.", 1232);
	CU_ASSERT_EQUAL(r.answers[0].rcode, 3);
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, CHILD_TAG, CHILD_ALG, 2, d, 32),
	                KASP_PARENT_DS_ABSENT);
	kasp_parent_result_deinit(&r);

	/* A zone the agent does not serve: REFUSED, which says nothing. */
	r = poll1(srv_a.agent, "child.example.org.", 1232);
	CU_ASSERT(r.answers[0].reachable);
	CU_ASSERT_EQUAL(r.answers[0].rcode, 5);
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, CHILD_TAG, CHILD_ALG, 2, d, 32),
	                KASP_PARENT_DS_UNKNOWN);
	kasp_parent_result_deinit(&r);
}

static void test_kasp_parent_closed_port_is_unreachable(void)
{
	uint8_t d[32];
	digest_of(0, d);
	const char *agents[] = {srv_a.agent, closed_agent};
	kasp_parent_opts_t o = {1500, 1232};
	kasp_parent_result_t r;
	int64_t t0 = mono_ms();
	CU_ASSERT_EQUAL_FATAL(kasp_parent_poll(agents, 2, "child.example.", &o, &r), KASP_OK);
	CU_ASSERT(mono_ms() - t0 < 1500);
	CU_ASSERT(r.answers[0].reachable);
	const kasp_parent_answer_t *a = &r.answers[1];
	CU_ASSERT(!a->reachable);
	CU_ASSERT_EQUAL(a->status, -ECONNREFUSED);
	CU_ASSERT_EQUAL(a->nds, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(a->detail, closed_agent));
	CU_ASSERT_PTR_NOT_NULL(strstr(a->detail, strerror(ECONNREFUSED)));
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, CHILD_TAG, CHILD_ALG, 2, d, 32),
	                KASP_PARENT_DS_UNKNOWN);
	kasp_parent_result_deinit(&r);
}

static void test_kasp_parent_silent_agent_times_out(void)
{
	const char *agents[] = {silent_agent};
	kasp_parent_opts_t o = {400, 1232};
	kasp_parent_result_t r;
	int64_t t0 = mono_ms();
	CU_ASSERT_EQUAL_FATAL(kasp_parent_poll(agents, 1, "child.example.", &o, &r), KASP_OK);
	int64_t took = mono_ms() - t0;
	CU_ASSERT(took >= 390 && took < 1400);
	CU_ASSERT(!r.answers[0].reachable);
	CU_ASSERT_EQUAL(r.answers[0].status, KASP_ERR_PARENT_TIMEOUT);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.answers[0].detail, "udp"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.answers[0].detail, "timeout"));
	kasp_parent_result_deinit(&r);
}

static void test_kasp_parent_one_agent_without_is_mixed(void)
{
	uint8_t d[32];
	digest_of(0, d);
	const char *agents[] = {srv_a.agent, srv_b.agent};
	kasp_parent_result_t r;
	CU_ASSERT_EQUAL_FATAL(kasp_parent_poll(agents, 2, "child.example.", NULL, &r), KASP_OK);
	CU_ASSERT_EQUAL_FATAL(r.nanswers, 2);
	CU_ASSERT_EQUAL(r.answers[0].nds, 1);
	CU_ASSERT_EQUAL(r.answers[1].nds, 0);
	CU_ASSERT(r.answers[1].reachable && r.answers[1].authoritative);
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, CHILD_TAG, CHILD_ALG, 2, d, 32),
	                KASP_PARENT_DS_MIXED);
	kasp_parent_result_deinit(&r);

	/* The DS RRset of big.example. is at both: present. */
	CU_ASSERT_EQUAL_FATAL(kasp_parent_poll(agents, 2, "big.example.", NULL, &r), KASP_OK);
	digest_of(7, d);
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, 20007, 13, 2, d, 32), KASP_PARENT_DS_PRESENT);
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&r, CHILD_TAG, CHILD_ALG, 2, d, 32),
	                KASP_PARENT_DS_ABSENT);
	kasp_parent_result_deinit(&r);
}

static void test_kasp_parent_truncated_udp_falls_back_to_tcp(void)
{
	/* No EDNS: 512 octets, the answer is truncated and comes over TCP. */
	kasp_parent_result_t r = poll1(srv_a.agent, "big.example.", 0);
	const kasp_parent_answer_t *a = &r.answers[0];
	CU_ASSERT_EQUAL(a->status, KASP_OK);
	CU_ASSERT(a->via_tcp);
	CU_ASSERT(a->authoritative);
	CU_ASSERT_EQUAL_FATAL(a->nds, BIG_COUNT);
	bool seen[BIG_COUNT + 1] = {false};
	for (size_t i = 0; i < a->nds; i++) {
		unsigned n = a->ds[i].key_tag - 20000;
		CU_ASSERT_FATAL(n >= 1 && n <= BIG_COUNT);
		uint8_t d[32];
		digest_of(n, d);
		CU_ASSERT_EQUAL(a->ds[i].digest_len, 32);
		CU_ASSERT_EQUAL(memcmp(a->ds[i].digest, d, 32), 0);
		seen[n] = true;
	}
	for (unsigned n = 1; n <= BIG_COUNT; n++) {
		CU_ASSERT(seen[n]);
	}
	kasp_parent_result_deinit(&r);

	/* With EDNS 1232 the same RRset fits in UDP. */
	r = poll1(srv_a.agent, "big.example.", 1232);
	CU_ASSERT(!r.answers[0].via_tcp);
	CU_ASSERT_EQUAL(r.answers[0].nds, BIG_COUNT);
	kasp_parent_result_deinit(&r);
}

static void test_kasp_parent_refuses_bad_input(void)
{
	const char *agents[] = {srv_a.agent};
	kasp_parent_result_t r = {0};
	CU_ASSERT_EQUAL(kasp_parent_poll(NULL, 1, "example.", NULL, &r), KASP_ERR_INVAL);
	CU_ASSERT_EQUAL(kasp_parent_poll(agents, 0, "example.", NULL, &r), KASP_ERR_INVAL);
	CU_ASSERT_EQUAL(kasp_parent_poll(agents, 1, NULL, NULL, &r), KASP_ERR_INVAL);
	CU_ASSERT_EQUAL(kasp_parent_poll(agents, 1, "example.", NULL, NULL), KASP_ERR_INVAL);
	const char *null_agent[] = {NULL};
	CU_ASSERT_EQUAL(kasp_parent_poll(null_agent, 1, "example.", NULL, &r), KASP_ERR_INVAL);
	CU_ASSERT_EQUAL(kasp_parent_poll(agents, 1, "", NULL, &r), KASP_ERR_PARENT_NAME);
	CU_ASSERT_EQUAL(kasp_parent_poll(agents, 1, "a..b", NULL, &r), KASP_ERR_PARENT_NAME);
	CU_ASSERT_PTR_NULL(r.answers); /* nothing written on failure */

	/* An agent that is not an address: its answer says so. */
	const char *bad[] = {"ns1.example.", "127.0.0.1@0", "127.0.0.1@65536"};
	CU_ASSERT_EQUAL_FATAL(kasp_parent_poll(bad, 3, "child.example.", NULL, &r), KASP_OK);
	for (size_t i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(r.answers[i].status, KASP_ERR_PARENT_AGENT);
		CU_ASSERT(!r.answers[i].reachable);
		CU_ASSERT_PTR_NOT_NULL(strstr(r.answers[i].detail, bad[i]));
	}
	kasp_parent_result_deinit(&r);
	kasp_parent_result_deinit(NULL);

	CU_ASSERT_EQUAL(kasp_parent_ds_state(NULL, 1, 13, 2, NULL, 0), KASP_PARENT_DS_UNKNOWN);
	kasp_parent_result_t empty = {0};
	CU_ASSERT_EQUAL(kasp_parent_ds_state(&empty, 1, 13, 2, NULL, 0), KASP_PARENT_DS_UNKNOWN);

	int codes[] = {KASP_ERR_PARENT_NAME, KASP_ERR_PARENT_AGENT, KASP_ERR_PARENT_TIMEOUT,
	               KASP_ERR_PARENT_MALFORMED, KASP_ERR_PARENT_TRUNCATED};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		CU_ASSERT(codes[i] <= -1140 && codes[i] >= -1149);
		CU_ASSERT_STRING_NOT_EQUAL(kasp_strerror(codes[i]), "unknown kasp status");
	}
	CU_ASSERT_STRING_EQUAL(kasp_parent_ds_state_str(KASP_PARENT_DS_MIXED), "mixed");
	CU_ASSERT_STRING_EQUAL(kasp_parent_ds_state_str(KASP_PARENT_DS_PRESENT), "present");
}

static void test_kasp_parent_evidence_needs_two_polls_an_interval_apart(void)
{
	kasp_parent_evidence_t ev;
	int64_t since = -1;
	kasp_parent_evidence_init(&ev, 3600);
	CU_ASSERT_EQUAL(kasp_parent_evidence_state(&ev, &since), KASP_PARENT_DS_UNKNOWN);
	CU_ASSERT_EQUAL(since, -1);
	/* One poll is not enough; nor a second one too early. */
	CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, KASP_PARENT_DS_PRESENT, 1000),
	                KASP_PARENT_DS_UNKNOWN);
	CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, KASP_PARENT_DS_PRESENT, 4599),
	                KASP_PARENT_DS_UNKNOWN);
	/* A poll interval after the first: seen. */
	CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, KASP_PARENT_DS_PRESENT, 4600),
	                KASP_PARENT_DS_PRESENT);
	CU_ASSERT_EQUAL(kasp_parent_evidence_state(&ev, &since), KASP_PARENT_DS_PRESENT);
	CU_ASSERT_EQUAL(since, 4600);
	/* More consistent polls keep it, and its time. */
	CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, KASP_PARENT_DS_PRESENT, 9000),
	                KASP_PARENT_DS_PRESENT);
	CU_ASSERT_EQUAL(kasp_parent_evidence_state(&ev, &since), KASP_PARENT_DS_PRESENT);
	CU_ASSERT_EQUAL(since, 4600);
	CU_ASSERT_EQUAL(ev.polls, 4);
}

static void test_kasp_parent_evidence_is_reset_by_an_inconsistent_poll(void)
{
	kasp_parent_ds_state_t breakers[] = {KASP_PARENT_DS_MIXED, KASP_PARENT_DS_UNKNOWN,
	                                     KASP_PARENT_DS_ABSENT};
	for (size_t i = 0; i < 3; i++) {
		kasp_parent_evidence_t ev;
		kasp_parent_evidence_init(&ev, 60);
		kasp_parent_evidence_add(&ev, KASP_PARENT_DS_PRESENT, 0);
		CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, KASP_PARENT_DS_PRESENT, 60),
		                KASP_PARENT_DS_PRESENT);
		/* An inconsistent poll: the evidence is gone ... */
		CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, breakers[i], 120),
		                KASP_PARENT_DS_UNKNOWN);
		CU_ASSERT_EQUAL(kasp_parent_evidence_state(&ev, NULL), KASP_PARENT_DS_UNKNOWN);
		/* ... and the run starts again at the next consistent poll. */
		CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, KASP_PARENT_DS_PRESENT, 130),
		                KASP_PARENT_DS_UNKNOWN);
		CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, KASP_PARENT_DS_PRESENT, 189),
		                KASP_PARENT_DS_UNKNOWN);
		CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, KASP_PARENT_DS_PRESENT, 190),
		                KASP_PARENT_DS_PRESENT);
	}
	/* Absence is established the same way (ds-gone). */
	kasp_parent_evidence_t ev;
	kasp_parent_evidence_init(&ev, 60);
	kasp_parent_evidence_add(&ev, KASP_PARENT_DS_ABSENT, 100);
	CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, KASP_PARENT_DS_ABSENT, 200),
	                KASP_PARENT_DS_ABSENT);
	/* A clock that goes back starts over. */
	CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, KASP_PARENT_DS_ABSENT, 50),
	                KASP_PARENT_DS_UNKNOWN);
	CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, KASP_PARENT_DS_ABSENT, 110),
	                KASP_PARENT_DS_ABSENT);
	/* MIXED and UNKNOWN never establish anything. */
	kasp_parent_evidence_init(&ev, 0);
	kasp_parent_evidence_add(&ev, KASP_PARENT_DS_MIXED, 0);
	CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, KASP_PARENT_DS_MIXED, 10),
	                KASP_PARENT_DS_UNKNOWN);
}

static void test_kasp_parent_polls_evidence_against_nsd(void)
{
	/* The tracker fed by real polls, one second apart. */
	uint8_t d[32];
	digest_of(0, d);
	const char *agents[] = {srv_a.agent};
	kasp_parent_evidence_t ev;
	kasp_parent_evidence_init(&ev, 1);
	for (int i = 0; i < 2; i++) {
		kasp_parent_result_t r;
		CU_ASSERT_EQUAL_FATAL(kasp_parent_poll(agents, 1, "child.example.", NULL, &r),
		                      KASP_OK);
		kasp_parent_ds_state_t s = kasp_parent_ds_state(&r, CHILD_TAG, CHILD_ALG, 2, d, 32);
		kasp_parent_result_deinit(&r);
		CU_ASSERT_EQUAL(kasp_parent_evidence_add(&ev, s, (int64_t)time(NULL)),
		                i == 0 ? KASP_PARENT_DS_UNKNOWN : KASP_PARENT_DS_PRESENT);
		if (i == 0) {
			sleep(1);
			while (time(NULL) <= ev.run_start) {
				usleep(50 * 1000);
			}
		}
	}
}

static void cleanup(void)
{
	stop_nsd(&srv_a);
	stop_nsd(&srv_b);
	if (silent_fd >= 0) {
		close(silent_fd);
	}
	if (dir[0] != '\0' && getenv("KASP_PARENT_KEEP") == NULL) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0) {
			fprintf(stderr, "could not remove %s\n", dir);
		}
	}
}

int main(void)
{
	if (!find_program("nsd", nsd_path, sizeof(nsd_path)) ||
	    !find_program("nsd-checkconf", checkconf_path, sizeof(checkconf_path))) {
		printf("SKIP: nsd not installed\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/test-kasp-parent.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return 1;
	}
	if (!start_nsd(&srv_a, "a", true) || !start_nsd(&srv_b, "b", false)) {
		fprintf(stderr, "cannot start nsd (logs in %s)\n", dir);
		setenv("KASP_PARENT_KEEP", "1", 1);
		cleanup();
		return 1;
	}
	snprintf(closed_agent, sizeof(closed_agent), "127.0.0.1@%u", free_port());
	/* A UDP socket that never answers. */
	silent_fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t l = sizeof(sin);
	if (silent_fd < 0 || bind(silent_fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(silent_fd, (struct sockaddr *)&sin, &l) != 0) {
		cleanup();
		return 1;
	}
	snprintf(silent_agent, sizeof(silent_agent), "127.0.0.1@%u", ntohs(sin.sin_port));

	static const testutil_case_t cases[] = {
	        {"test_kasp_parent_finds_the_ds_with_its_fields",
	         test_kasp_parent_finds_the_ds_with_its_fields},
	        {"test_kasp_parent_ds_not_there_is_absent",
	         test_kasp_parent_ds_not_there_is_absent},
	        {"test_kasp_parent_closed_port_is_unreachable",
	         test_kasp_parent_closed_port_is_unreachable},
	        {"test_kasp_parent_silent_agent_times_out",
	         test_kasp_parent_silent_agent_times_out},
	        {"test_kasp_parent_one_agent_without_is_mixed",
	         test_kasp_parent_one_agent_without_is_mixed},
	        {"test_kasp_parent_truncated_udp_falls_back_to_tcp",
	         test_kasp_parent_truncated_udp_falls_back_to_tcp},
	        {"test_kasp_parent_refuses_bad_input", test_kasp_parent_refuses_bad_input},
	        {"test_kasp_parent_evidence_needs_two_polls_an_interval_apart",
	         test_kasp_parent_evidence_needs_two_polls_an_interval_apart},
	        {"test_kasp_parent_evidence_is_reset_by_an_inconsistent_poll",
	         test_kasp_parent_evidence_is_reset_by_an_inconsistent_poll},
	        {"test_kasp_parent_polls_evidence_against_nsd",
	         test_kasp_parent_polls_evidence_against_nsd},
	        {NULL, NULL},
	};
	int failures = testutil_run("kasp_parent", cases);
	cleanup();
	return failures;
}
