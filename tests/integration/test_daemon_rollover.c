/*
 * test_daemon_rollover: two years of automatic rollovers through signerd,
 * every published version checked by rollcheck (issue 5, "Rollover safety
 * over time").
 *
 * One signerd (SoftHSM token, test clock) signs one zone under a fast
 * policy: KSK (180 d) + ZSK (30 d) with NSEC (variant kskzsk; variant dds
 * rolls the KSK by double-DS instead of double-KSK), or one CSK (120 d) with
 * NSEC3 (variant csk). RSASHA256 for the first year; then signerd is
 * restarted with the same policy at ECDSAP256SHA256 (variant merge: with
 * one CSK in place of KSK + ZSK, a policy change; variant split: the
 * reverse; variant denial: NSEC3 in place of NSEC), and the key manager
 * rolls the algorithm. The parent is simulated in this process: a DNS
 * responder on 127.0.0.1 (UDP and TCP, libldns) answering ZONE/DS with the
 * parent's current DS set, which the signer polls as its parental agent.
 * The parent reads the CDS RRset of every published zone version and, when
 * it differs from the DS set it has, applies it after a random delay of up to
 * 48 hours (DS TTL 1 day); the signer learns of it only by polling.
 *
 * Time is compressed, not steps: the driver repeatedly takes the next
 * instant, the earlier of the daemon's next event (zone status next_event:
 * re-signing, the key manager, polls) and the parent's next application,
 * moves the daemon's clock there (ClockSet offset) and waits until the daemon
 * has nothing due; each serial published is pulled (intermediate serials
 * rebuilt from the journal's deltas) and recorded in rollcheck with its
 * publication time, as is every DS set the parent publishes. At the end every
 * instant rollcheck names (publications, ends of fetchability, TTL expiries,
 * each +-1 s) is checked: every mix of DS set, DNSKEY RRset and data RRset a
 * resolver could hold must validate; a DS matching no key, published after
 * the end, must fail (the checker is alive). A table gives rollovers by role
 * (keys generated, less the first and the algorithm rollover's first),
 * instants, mixes and failures; the test asserts zero failures, the number
 * of rollovers, the algorithm rollover, and the keys left at the end (the
 * run goes on past two years until no rollover is in progress).
 *
 * Real software at a few instants (after the initial signing, mid ZSK or CSK
 * rollover, mid KSK rollover, mid algorithm rollover): the parent zone
 * (signed by ldns-signzone with a key of its own) and the child's current
 * version served by NSD on loopback, unbound with the parent's DS as trust
 * anchor and val-override-date at the simulated time; answers for child
 * names must carry AD. Skipped (printed) without nsd, unbound or ldns tools.
 *
 * A publication storm (a zone that stays due while pass after pass
 * publishes a new serial at one instant) fails the test; it is ended by
 * moving the clock on one second, so that the rest of the run stays
 * meaningful and short, and its versions, which differ in the SOA only, are
 * not all recorded.
 *
 *   test_daemon_rollover SIGNERD SIGNER [kskzsk|csk|dds|merge|split|denial]
 *   SIGNER_TEST_SEED: the parent's random delays (printed); SIGNER_TEST_KEEP=1
 *   keeps the directory (signerd.log, signer.yaml).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "tests/integration/daemon_env.h"
#include "tests/integration/dclient.h"
#include "tests/support/rollcheck.h"

#define ZONE            "roll.example."
#define DAY             86400
#define SIM_DAYS        730
#define SWITCH_DAY      365
#define EXTRA_DAYS      45 /* after SIM_DAYS: until no rollover is in progress */
#define DS_TTL          86400
#define MAX_DELAY       (48 * 3600) /* the parent applies a CDS change within this */
#define ZONE_PROP       300
#define PARENT_PROP     3600
#define SETTLE_MS       60000 /* the daemon must be idle this soon after a step */
#define MAX_STEPS       200000
#define REPORT_FAILURES 12

/* A variant of the simulation. */
typedef struct {
	const char *name;
	bool csk;
	bool nsec3;
	const char *keys_yaml;              /* the policy's keys: mapping */
	unsigned min_zsk, min_ksk, min_csk; /* rollovers expected (algorithm one apart) */
	const char *keys_yaml_after;        /* from the restart on (NULL: the same) */
	bool csk_after;
	bool nsec3_flip; /* from the restart on, the other denial */
} variant_t;

static const variant_t variants[] = {
        {"kskzsk", false, false, "{ksk: {lifetime: 180d}, zsk: {lifetime: 30d}}", 20, 3, 0, NULL,
         false, false},
        {"csk", true, true, "{csk: {lifetime: 120d}}", 0, 0, 4, NULL, false, false},
        /* KSK rollovers near d180 and d545 (the algorithm rollover at d365
         * starts the lifetime again); the next one, near d730, falls at
         * the end (double-KSK starts each earlier, by the DNSKEY's
         * pre-publication). */
        {"dds", false, false, "{ksk: {lifetime: 180d}, zsk: {lifetime: 30d}, ksk_roll: double_ds}",
         20, 2, 0, NULL, false, false},
        /* A policy change at the restart: KSK + ZSK (RSASHA256) to one CSK
         * (ECDSAP256SHA256), the roles and the algorithm in one rollover;
         * ZSK rollovers in the first year, CSK ones in the second. */
        {"merge", false, false, "{ksk: {lifetime: 180d}, zsk: {lifetime: 30d}}", 10, 1, 2,
         "{csk: {lifetime: 120d}}", true, false},
        /* The reverse: one CSK (NSEC3) split into KSK + ZSK. */
        {"split", true, true, "{csk: {lifetime: 120d}}", 10, 1, 2,
         "{ksk: {lifetime: 180d}, zsk: {lifetime: 30d}}", false, false},
        /* A denial change at the restart: NSEC to NSEC3. */
        {"denial", false, false, "{ksk: {lifetime: 180d}, zsk: {lifetime: 30d}}", 20, 3, 0, NULL,
         false, true},
};

static const variant_t *var;
static daemon_env_t env;
static dclient_t *cl;
static rollcheck_t *rc;
static atomic_int failures;

#define CHECK(...) DAEMON_ENV_CHECK(&failures, __VA_ARGS__)

static void parent_stop(void);

/* Real milliseconds spent waiting for the daemon, recording versions and
 * running the real software. */
static double ms_settle, ms_record, ms_real;

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	daemon_env_log_tail(&env, 40);
	dclient_free(cl);
	parent_stop();
	daemon_env_cleanup(&env, true);
	exit(1);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* splitmix64 */
static uint64_t rng_state;
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Simulated time relative to the start, "d123 04:05:06". */
static int64_t t_start;
static const char *rel(int64_t t, char *buf, size_t cap)
{
	int64_t r = t - t_start;
	const char *sign = r < 0 ? "-" : "";
	if (r < 0) {
		r = -r;
	}
	snprintf(buf, cap, "%sd%" PRId64 " %02d:%02d:%02d", sign, r / DAY, (int)(r % DAY / 3600),
	         (int)(r % 3600 / 60), (int)(r % 60));
	return buf;
}

/* --- the simulated parent: a DNS responder for ZONE/DS --- */

typedef struct {
	pthread_mutex_t mu;
	ldns_rr_list *ds; /* the DS RRs served (guarded by mu) */
	ldns_rdf *apex;   /* read-only after start */
	int udp, tcp;
	int stop[2];
	uint16_t port;
	pthread_t thread;
	bool running;
	atomic_uint udp_queries, tcp_queries;
	/* The test thread's only: */
	dclient_lines_t cur;     /* the DS set published (canonical DS lines) */
	dclient_lines_t pending; /* the DS set to apply at pending_at */
	int64_t pending_at;      /* 0: nothing pending */
	unsigned applied, cds_changes;
} parent_t;

static parent_t parent;

/* The answer to the query q (qlen octets) in *out (malloc'ed), at most max
 * octets (else truncated, TC set). -1: not a query to answer. */
static int answer(const uint8_t *q, size_t qlen, size_t max, uint8_t **out, size_t *outlen)
{
	ldns_pkt *query = NULL;
	if (ldns_wire2pkt(&query, q, qlen) != LDNS_STATUS_OK) {
		return -1;
	}
	int ret = -1;
	ldns_pkt *a = NULL;
	if (ldns_pkt_qr(query) || ldns_pkt_qdcount(query) != 1) {
		goto done;
	}
	const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(query), 0);
	a = ldns_pkt_new();
	if (a == NULL) {
		goto done;
	}
	ldns_pkt_set_id(a, ldns_pkt_id(query));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_opcode(a, LDNS_PACKET_QUERY);
	ldns_pkt_set_rd(a, ldns_pkt_rd(query));
	ldns_rr *qc = ldns_rr_clone(qr);
	if (qc == NULL || !ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, qc)) {
		ldns_rr_free(qc);
		goto done;
	}
	bool ours = ldns_dname_compare(ldns_rr_owner(qr), parent.apex) == 0;
	if (!ours || ldns_rr_get_class(qr) != LDNS_RR_CLASS_IN) {
		ldns_pkt_set_rcode(a, LDNS_RCODE_REFUSED);
	} else {
		ldns_pkt_set_aa(a, true);
		ldns_pkt_set_rcode(a, LDNS_RCODE_NOERROR);
		if (ldns_rr_get_type(qr) == LDNS_RR_TYPE_DS) {
			pthread_mutex_lock(&parent.mu);
			for (size_t i = 0; i < ldns_rr_list_rr_count(parent.ds); i++) {
				ldns_rr *c = ldns_rr_clone(ldns_rr_list_rr(parent.ds, i));
				if (c == NULL || !ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, c)) {
					ldns_rr_free(c);
				}
			}
			pthread_mutex_unlock(&parent.mu);
		}
	}
	if (ldns_pkt_edns(query)) {
		ldns_pkt_set_edns_udp_size(a, 1232);
		ldns_pkt_set_edns_do(a, ldns_pkt_edns_do(query));
		size_t esz = ldns_pkt_edns_udp_size(query);
		if (max < 65535 && esz > max) {
			max = esz < 1232 ? esz : 1232;
		}
	}
	if (ldns_pkt2wire(out, a, outlen) != LDNS_STATUS_OK) {
		goto done;
	}
	if (*outlen > max) {
		free(*out);
		*out = NULL;
		ldns_rr_list *ans = ldns_pkt_answer(a);
		ldns_rr_list_deep_free(ans);
		ldns_pkt_set_answer(a, ldns_rr_list_new());
		ldns_pkt_set_ancount(a, 0);
		ldns_pkt_set_tc(a, true);
		if (ldns_pkt2wire(out, a, outlen) != LDNS_STATUS_OK) {
			goto done;
		}
	}
	ret = 0;
done:
	ldns_pkt_free(a);
	ldns_pkt_free(query);
	return ret;
}

static void serve_tcp(int fd)
{
	struct timeval tv = {2, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	uint8_t buf[65537];
	for (;;) {
		size_t got = 0, need = 2;
		while (got < need) {
			ssize_t r = recv(fd, buf + got, need - got, 0);
			if (r <= 0) {
				return;
			}
			got += (size_t)r;
			if (got == 2 && need == 2) {
				need = 2 + ((size_t)buf[0] << 8 | buf[1]);
			}
		}
		uint8_t *out = NULL;
		size_t len = 0;
		if (answer(buf + 2, need - 2, 65535, &out, &len) != 0) {
			return;
		}
		uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};
		bool ok = send(fd, hdr, 2, MSG_NOSIGNAL) == 2 &&
		          send(fd, out, len, MSG_NOSIGNAL) == (ssize_t)len;
		free(out);
		atomic_fetch_add(&parent.tcp_queries, 1);
		if (!ok) {
			return;
		}
	}
}

static void *parent_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "parent");
	for (;;) {
		struct pollfd fds[3] = {{parent.udp, POLLIN, 0},
		                        {parent.tcp, POLLIN, 0},
		                        {parent.stop[0], POLLIN, 0}};
		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			break;
		}
		if (fds[2].revents != 0) {
			break;
		}
		if (fds[0].revents & POLLIN) {
			uint8_t buf[4096];
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(parent.udp, buf, sizeof(buf), 0,
			                     (struct sockaddr *)&from, &fl);
			uint8_t *out = NULL;
			size_t len = 0;
			if (n > 0 && answer(buf, (size_t)n, 512, &out, &len) == 0) {
				sendto(parent.udp, out, len, 0, (struct sockaddr *)&from, fl);
				atomic_fetch_add(&parent.udp_queries, 1);
			}
			free(out);
		}
		if (fds[1].revents & POLLIN) {
			int c = accept(parent.tcp, NULL, NULL);
			if (c >= 0) {
				serve_tcp(c);
				close(c);
			}
		}
	}
	return NULL;
}

/* Binds UDP and TCP sockets on one free port of 127.0.0.1 and starts the
 * responder thread. 0 or -1. */
static int parent_start(void)
{
	pthread_mutex_init(&parent.mu, NULL);
	parent.ds = ldns_rr_list_new();
	if (ldns_str2rdf_dname(&parent.apex, ZONE) != LDNS_STATUS_OK || parent.ds == NULL) {
		return -1;
	}
	dclient_lines_init(&parent.cur);
	dclient_lines_init(&parent.pending);
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		socklen_t sl = sizeof(sa);
		if (u < 0 || bind(u, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    getsockname(u, (struct sockaddr *)&sa, &sl) != 0) {
			if (u >= 0) {
				close(u);
			}
			return -1;
		}
		int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (t >= 0 && bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    listen(t, 8) == 0) {
			parent.udp = u;
			parent.tcp = t;
			parent.port = ntohs(sa.sin_port);
			break;
		}
		close(u);
		if (t >= 0) {
			close(t);
		}
	}
	if (parent.port == 0 || pipe(parent.stop) != 0) {
		return -1;
	}
	if (pthread_create(&parent.thread, NULL, parent_main, NULL) != 0) {
		return -1;
	}
	parent.running = true;
	return 0;
}

static void parent_stop(void)
{
	if (!parent.running) {
		return;
	}
	parent.running = false;
	if (write(parent.stop[1], "x", 1) != 1) {
		fprintf(stderr, "parent: cannot signal the responder\n");
	}
	pthread_join(parent.thread, NULL);
	close(parent.udp);
	close(parent.tcp);
	close(parent.stop[0]);
	close(parent.stop[1]);
	ldns_rr_list_deep_free(parent.ds);
	ldns_rdf_deep_free(parent.apex);
	dclient_lines_free(&parent.cur);
	dclient_lines_free(&parent.pending);
	pthread_mutex_destroy(&parent.mu);
}

/* The fields of a canonical line: owner, TTL, class, type, the rest. */
static bool split_line(const char *line, char *owner, size_t ocap, char *type, size_t tcap,
                       const char **rdata)
{
	const char *p = line;
	const char *f[4];
	size_t fl[4];
	for (int i = 0; i < 4; i++) {
		while (*p == ' ' || *p == '\t') {
			p++;
		}
		f[i] = p;
		while (*p && *p != ' ' && *p != '\t') {
			p++;
		}
		fl[i] = (size_t)(p - f[i]);
		if (fl[i] == 0) {
			return false;
		}
	}
	while (*p == ' ' || *p == '\t') {
		p++;
	}
	snprintf(owner, ocap, "%.*s", (int)fl[0], f[0]);
	snprintf(type, tcap, "%.*s", (int)fl[3], f[3]);
	*rdata = p;
	return true;
}

/* The DS set the child asks for: its apex CDS RRset as DS lines (TTL
 * DS_TTL), sorted; empty when the version has no CDS. */
static void wanted_ds(const dclient_lines_t *lines, dclient_lines_t *out)
{
	dclient_lines_init(out);
	for (size_t i = 0; i < lines->n; i++) {
		char owner[300], type[16];
		const char *rdata;
		if (!split_line(lines->v[i], owner, sizeof(owner), type, sizeof(type), &rdata) ||
		    strcmp(type, "CDS") != 0 || strcasecmp(owner, ZONE) != 0) {
			continue;
		}
		char ds[1024];
		snprintf(ds, sizeof(ds), "%s %d IN DS %s", ZONE, DS_TTL, rdata);
		if (dclient_lines_add(out, ds) != 0) {
			die("out of memory");
		}
	}
	dclient_lines_sort(out);
}

static bool lines_equal(const dclient_lines_t *a, const dclient_lines_t *b)
{
	if (a->n != b->n) {
		return false;
	}
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->v[i], b->v[i]) != 0) {
			return false;
		}
	}
	return true;
}

static char *lines_text(const dclient_lines_t *l)
{
	daemon_env_buf_t b = {0};
	daemon_env_buf_add(&b, "%s", "");
	for (size_t i = 0; i < l->n; i++) {
		daemon_env_buf_add(&b, "%s\n", l->v[i]);
	}
	return b.s;
}

/* The parent sees a zone version published at t. */
static void parent_observe(const dclient_lines_t *lines, int64_t t)
{
	dclient_lines_t want;
	wanted_ds(lines, &want);
	if (want.n == 0) {
		/* No CDS: no change asked for (RFC 8078). */
	} else if (lines_equal(&want, &parent.cur)) {
		if (parent.pending_at != 0) {
			dclient_lines_free(&parent.pending);
			parent.pending_at = 0;
		}
	} else if (parent.pending_at == 0 || !lines_equal(&want, &parent.pending)) {
		dclient_lines_free(&parent.pending);
		parent.pending = want;
		dclient_lines_init(&want);
		parent.pending_at = t + (int64_t)(rng_next() % (MAX_DELAY + 1));
		parent.cds_changes++;
		char b1[40], b2[40];
		fprintf(stderr, "  %s: CDS asks for %zu DS; the parent applies it at %s\n",
		        rel(t, b1, sizeof(b1)), parent.pending.n,
		        rel(parent.pending_at, b2, sizeof(b2)));
	}
	dclient_lines_free(&want);
}

/* Publishes the pending DS set at t (the responder serves it from now). */
static void parent_apply(int64_t t)
{
	ldns_rr_list *l = ldns_rr_list_new();
	for (size_t i = 0; l != NULL && i < parent.pending.n; i++) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, parent.pending.v[i], 0, NULL, NULL) !=
		    LDNS_STATUS_OK) {
			die("the parent cannot parse its DS: %s", parent.pending.v[i]);
		}
		ldns_rr_list_push_rr(l, rr);
	}
	if (l == NULL) {
		die("out of memory");
	}
	pthread_mutex_lock(&parent.mu);
	ldns_rr_list *old = parent.ds;
	parent.ds = l;
	pthread_mutex_unlock(&parent.mu);
	ldns_rr_list_deep_free(old);
	dclient_lines_free(&parent.cur);
	parent.cur = parent.pending;
	dclient_lines_init(&parent.pending);
	parent.pending_at = 0;
	parent.applied++;
	char *text = lines_text(&parent.cur);
	char err[256] = "";
	int st = rollcheck_add_ds(rc, t, text, err, sizeof(err));
	if (st != ROLLCHECK_OK) {
		die("rollcheck_add_ds: %s %s\n%s", rollcheck_strerror(st), err, text);
	}
	char b[40];
	fprintf(stderr, "  %s: the parent publishes %zu DS\n", rel(t, b, sizeof(b)), parent.cur.n);
	free(text);
}

/* --- keys seen --- */

typedef struct {
	char id[160];
	char role[8];
	uint32_t tag, algorithm;
	int64_t first_seen, removed;
} seen_key_t;

static seen_key_t *seen;
static size_t nseen, capseen;

/* The key states at a step, kept when they change (to explain failures). */
typedef struct {
	int64_t t;
	char *text;
} snapshot_t;

static snapshot_t *snaps;
static size_t nsnaps, capsnaps;

static void track_keys(const dclient_kasp_status_t *st, int64_t now)
{
	daemon_env_buf_t b = {0};
	for (size_t i = 0; i < st->nkeys; i++) {
		const dclient_key_state_t *k = &st->keys[i];
		size_t j = 0;
		while (j < nseen && strcmp(seen[j].id, k->id) != 0) {
			j++;
		}
		if (j == nseen) {
			if (nseen == capseen) {
				capseen = capseen ? capseen * 2 : 64;
				seen = realloc(seen, capseen * sizeof(*seen));
				if (seen == NULL) {
					die("out of memory");
				}
			}
			seen[nseen] = (seen_key_t){
			        .tag = k->tag, .algorithm = k->algorithm, .first_seen = now};
			snprintf(seen[nseen].id, sizeof(seen[nseen].id), "%s", k->id);
			snprintf(seen[nseen].role, sizeof(seen[nseen].role), "%s", k->role);
			nseen++;
		}
		seen[j].removed = k->removed;
		if (k->removed == 0) {
			daemon_env_buf_add(
			        &b, "      %s %u alg %u %s ds=%s dnskey=%s krrsig=%s zrrsig=%s\n",
			        k->role, k->tag, k->algorithm, k->goal ? "in " : "out", k->ds,
			        k->dnskey, k->krrsig, k->zrrsig);
		}
	}
	const char *text = daemon_env_buf_str(&b);
	if (nsnaps == 0 || strcmp(snaps[nsnaps - 1].text, text) != 0) {
		if (nsnaps == capsnaps) {
			capsnaps = capsnaps ? capsnaps * 2 : 256;
			snaps = realloc(snaps, capsnaps * sizeof(*snaps));
			if (snaps == NULL) {
				die("out of memory");
			}
		}
		snaps[nsnaps].t = now;
		snaps[nsnaps].text = strdup(text);
		nsnaps++;
	}
	daemon_env_buf_free(&b);
}

static const char *states_at(int64_t t)
{
	const char *s = "      (no key states yet)\n";
	for (size_t i = 0; i < nsnaps && snaps[i].t <= t; i++) {
		s = snaps[i].text;
	}
	return s;
}

/* No rollover in progress: every key left in the key set is being
 * introduced and has its records omnipresent (or NA). */
static bool quiescent(const dclient_kasp_status_t *st)
{
	for (size_t i = 0; i < st->nkeys; i++) {
		const dclient_key_state_t *k = &st->keys[i];
		if (k->removed != 0) {
			continue;
		}
		const char *r[4] = {k->ds, k->dnskey, k->krrsig, k->zrrsig};
		if (!k->goal) {
			return false;
		}
		for (int j = 0; j < 4; j++) {
			if (strcmp(r[j], "omnipresent") != 0 && strcmp(r[j], "NA") != 0) {
				return false;
			}
		}
	}
	return st->nkeys > 0;
}

/* --- the daemon --- */

static int64_t daemon_now(void)
{
	int64_t now = 0;
	dclient_result_t res;
	if (dclient_daemon_now(cl, &now, &res) != 0 || res.status != 0) {
		die("daemon status: %s %s", dclient_error(cl), res.message);
	}
	return now;
}

static void kstatus(dclient_kasp_status_t *st)
{
	if (dclient_kasp_status(cl, ZONE, st) != 0 || st->res.status != 0) {
		die("zone status: %s %s", dclient_error(cl), st->res.message);
	}
}

/* Moves the daemon's clock to t (absolute, never backwards). */
static void clock_to(int64_t t)
{
	dclient_result_t res;
	int64_t offset = t - (int64_t)time(NULL);
	if (dclient_clock_set(cl, offset, &res) != 0 || res.status != 0) {
		die("clock set: %s %s", dclient_error(cl), res.message);
	}
}

/* Publication storms: passes that publish again and again at one instant
 * (each re-signing only the SOA) while the zone stays due. */
typedef struct {
	int64_t t;
	uint32_t from, to;
} storm_t;

static storm_t storms[8];
static unsigned nstorms;

/* Waits until the daemon has nothing due (no pass running, its next event
 * after its clock); *st gets the zone status then, *now the daemon's
 * clock. A storm of publications (more than STORM_SERIALS serials while the
 * zone stays due) is recorded and ended by moving the clock on one second,
 * so that the run stays short. */
#define STORM_SERIALS 2
static void settle(dclient_kasp_status_t *st, int64_t *now)
{
	double t0 = daemon_env_now_ms();
	unsigned wait = 1;
	uint32_t first = 0;
	bool have_first = false, stormed = false;
	for (;;) {
		*now = daemon_now();
		dclient_kasp_status_free(st);
		kstatus(st);
		if (!st->signing && (st->next_event == 0 || st->next_event > *now)) {
			return;
		}
		if (!have_first) {
			first = st->serial;
			have_first = true;
		}
		if (!stormed && st->serial - first > STORM_SERIALS) {
			if (nstorms < sizeof(storms) / sizeof(storms[0])) {
				storms[nstorms] = (storm_t){*now, first, st->serial};
			}
			nstorms++;
			stormed = true;
			clock_to(*now + 1);
		}
		if (daemon_env_now_ms() - t0 > SETTLE_MS) {
			char b[40];
			die("signerd still busy %d s after the clock moved to %s (signing %d, next "
			    "event %+" PRId64 " s, kasp_next %+" PRId64 " s, blocked '%s', error "
			    "'%s')",
			    SETTLE_MS / 1000, rel(*now, b, sizeof(b)), st->signing,
			    st->next_event - *now, st->kasp_next - *now, st->kasp_blocked,
			    st->last_error);
		}
		sleep_ms(wait);
		wait = wait < 8 ? wait * 2 : 8;
	}
}

/* --- recording published versions --- */

static dclient_lines_t last_lines;
static uint32_t last_serial;
static int64_t last_published;
static bool have_version;
static unsigned versions, rebuilt, skipped;

static void add_version(const dclient_lines_t *lines, int64_t t)
{
	char *text = lines_text(lines);
	char err[256] = "";
	int st = rollcheck_add_zone(rc, t, text, err, sizeof(err));
	if (st != ROLLCHECK_OK) {
		char b[40];
		die("rollcheck_add_zone at %s: %s %s", rel(t, b, sizeof(b)), rollcheck_strerror(st),
		    err);
	}
	free(text);
	versions++;
	parent_observe(lines, t);
}

/* Pulls the versions published since the last one (serial now st->serial,
 * published at st->published_at) and records them. */
static void record(const dclient_kasp_status_t *st)
{
	if (have_version && st->serial == last_serial) {
		return;
	}
	if (have_version && st->published_at < last_published) {
		char b1[40], b2[40];
		CHECK(false, "serial %u published at %s, before serial %u (%s)", st->serial,
		      rel(st->published_at, b1, sizeof(b1)), last_serial,
		      rel(last_published, b2, sizeof(b2)));
	}
	dclient_fetch_t f;
	if (have_version && st->serial - last_serial > STORM_SERIALS + 1) {
		/* A storm (see settle): versions that differ in the SOA only. */
		skipped += st->serial - last_serial - 1;
	} else if (have_version && st->serial - last_serial > 1) {
		/* Intermediate versions: rebuilt from the journal's deltas, each
		 * taken as published at the last one's time. */
		if (dclient_fetch(cl, ZONE, true, last_serial, &f) != 0) {
			die("fetch deltas: %s", dclient_error(cl));
		}
		if (f.res.status == 0 && f.delta) {
			dclient_lines_t cur;
			if (dclient_lines_copy(&cur, &last_lines) != 0) {
				die("out of memory");
			}
			for (size_t i = 0; i < f.ndeltas; i++) {
				size_t bad = dclient_lines_apply(&cur, &f.deltas[i]);
				CHECK(bad == 0, "delta %u->%u does not apply", f.deltas[i].from,
				      f.deltas[i].to);
				if (f.deltas[i].to != st->serial) {
					add_version(&cur, st->published_at);
					rebuilt++;
				}
			}
			dclient_lines_free(&cur);
		} else {
			CHECK(false, "serials %u..%u: no deltas (%s), intermediate versions missed",
			      last_serial, st->serial, f.res.message);
		}
		dclient_fetch_free(&f);
	}
	if (dclient_fetch(cl, ZONE, false, 0, &f) != 0 || f.res.status != 0) {
		die("fetch: %s %s", dclient_error(cl), f.res.message);
	}
	if (f.serial != st->serial) {
		/* Published again meanwhile: the next step records it. */
		dclient_fetch_free(&f);
		return;
	}
	add_version(&f.all, st->published_at);
	dclient_lines_free(&last_lines);
	last_lines = f.all;
	dclient_lines_init(&f.all);
	dclient_fetch_free(&f);
	last_serial = st->serial;
	last_published = st->published_at;
	have_version = true;
}

/* --- real software at a few instants: NSD and unbound --- */

/* The parent zone example. signed by ldns-signzone with a key of its own
 * (its DS the resolver's trust anchor), the child's current version, both
 * served by NSD on loopback; unbound with val-override-date at the
 * simulated time must answer a child name with AD. */
static struct {
	bool tried, usable;
	char dir[400];
	char keybase[640]; /* K<name>+013+<tag>, in dir */
	char anchor[512];  /* the parent's DS, one line */
	unsigned done, failed;
} real;

static bool have_program(const char *name)
{
	char *argv[] = {"sh", "-c", NULL, NULL};
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s", name);
	argv[2] = cmd;
	return daemon_env_run(argv, NULL) == 0;
}

static bool read_first_line(const char *path, char *out, size_t cap)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		return false;
	}
	bool ok = fgets(out, (int)cap, fp) != NULL;
	fclose(fp);
	out[strcspn(out, "\r\n")] = '\0';
	return ok && out[0] != '\0';
}

static bool write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	if (fp == NULL) {
		return false;
	}
	bool ok = fputs(text, fp) >= 0;
	return fclose(fp) == 0 && ok;
}

/* A port of 127.0.0.1 free for UDP and TCP just now (0: none). */
static uint16_t free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t sl = sizeof(sa);
		int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (u < 0 || bind(u, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    getsockname(u, (struct sockaddr *)&sa, &sl) != 0) {
			if (u >= 0) {
				close(u);
			}
			continue;
		}
		int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool ok = t >= 0 && bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (t >= 0) {
			close(t);
		}
		close(u);
		if (ok && ntohs(sa.sin_port) != parent.port) {
			return ntohs(sa.sin_port);
		}
	}
	return 0;
}

/* Starts argv in the background (stdout and stderr to log); its pid or -1. */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		int wst;
		for (int i = 0; i < 200; i++) {
			if (waitpid(pid, &wst, WNOHANG) == pid) {
				return;
			}
			sleep_ms(10);
		}
		kill(pid, SIGKILL);
		waitpid(pid, &wst, 0);
	}
}

/* dig @127.0.0.1 -p port qname qtype +dnssec into out (a path); the exit
 * status. */
static int dig(uint16_t port, const char *qname, const char *qtype, const char *out)
{
	char p[16];
	snprintf(p, sizeof(p), "%u", (unsigned)port);
	char *argv[] = {"dig", "+dnssec", "+time=3",     "+tries=2",    "@127.0.0.1",
	                "-p",  p,         (char *)qname, (char *)qtype, NULL};
	return daemon_env_run(argv, out);
}

static bool file_has(const char *path, const char *s)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		return false;
	}
	char line[2048];
	bool found = false;
	while (!found && fgets(line, sizeof(line), fp) != NULL) {
		found = strstr(line, s) != NULL;
	}
	fclose(fp);
	return found;
}

static void real_setup(void)
{
	real.tried = true;
	const char *need[] = {"nsd",         "nsd-checkconf", "unbound", "unbound-checkconf",
	                      "ldns-keygen", "ldns-signzone", "dig"};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!have_program(need[i])) {
			printf("real software: skipped (no %s)\n", need[i]);
			return;
		}
	}
	snprintf(real.dir, sizeof(real.dir), "%s/real", env.dir);
	mkdir(real.dir, 0700);
	char cmd[1024], out[512];
	snprintf(cmd, sizeof(cmd), "cd '%s' && ldns-keygen -a ECDSAP256SHA256 -k example.",
	         real.dir);
	snprintf(out, sizeof(out), "%s/keygen.out", real.dir);
	char *argv[] = {"sh", "-c", cmd, NULL};
	char base[200], path[1024];
	if (daemon_env_run(argv, out) != 0 || !read_first_line(out, base, sizeof(base))) {
		CHECK(false, "ldns-keygen failed (see %s)", out);
		return;
	}
	snprintf(real.keybase, sizeof(real.keybase), "%s/%s", real.dir, base);
	snprintf(path, sizeof(path), "%s.ds", real.keybase);
	if (!read_first_line(path, real.anchor, sizeof(real.anchor))) {
		CHECK(false, "no DS from ldns-keygen in %s", path);
		return;
	}
	/* ldns writes "example.\t3600\tIN\tDS\t..." with a comment after ';'. */
	real.anchor[strcspn(real.anchor, ";")] = '\0';
	for (char *c = real.anchor; *c; c++) {
		if (*c == '\t') {
			*c = ' ';
		}
	}
	real.usable = true;
}

/* At instant t (the daemon's clock): the parent zone with its current DS
 * set and the child's current version served by NSD, unbound asked for
 * names of the child; each answer must carry AD. */
static void real_check(const char *what, int64_t t)
{
	if (!real.tried) {
		real_setup();
	}
	if (!real.usable) {
		return;
	}
	char b[40];
	real.done++;
	char sub[512], path[1024], text[8192];
	snprintf(sub, sizeof(sub), "%s/%u", real.dir, real.done);
	mkdir(sub, 0700);
	pid_t nsd = -1, ub = -1;
	bool ok = false;
	/* The parent zone, signed for [t - 1 d, t + 30 d]. */
	daemon_env_buf_t z = {0};
	daemon_env_buf_add(&z, "$ORIGIN example.\n$TTL 3600\n"
	                       "@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A 127.0.0.1\n"
	                       "roll NS ns.roll\nns.roll A 127.0.0.1\n");
	for (size_t i = 0; i < parent.cur.n; i++) {
		daemon_env_buf_add(&z, "%s\n", parent.cur.v[i]);
	}
	snprintf(path, sizeof(path), "%s/example.zone", sub);
	bool wrote = write_text(path, daemon_env_buf_str(&z));
	daemon_env_buf_free(&z);
	char inc[32], exp[32], signed_path[1024], log[1024];
	time_t ti = (time_t)(t - DAY), te = (time_t)(t + 30 * DAY);
	strftime(inc, sizeof(inc), "%Y%m%d%H%M%S", gmtime(&ti));
	strftime(exp, sizeof(exp), "%Y%m%d%H%M%S", gmtime(&te));
	snprintf(signed_path, sizeof(signed_path), "%s/example.signed", sub);
	snprintf(log, sizeof(log), "%s/signzone.log", sub);
	char *sz[] = {"ldns-signzone", "-i", inc,          "-e", exp, "-f",
	              signed_path,     path, real.keybase, NULL};
	if (!wrote || daemon_env_run(sz, log) != 0) {
		CHECK(false, "real software at %s: ldns-signzone failed (see %s)", rel(t, b, 40),
		      log);
		return;
	}
	/* The child's version. */
	char *child = lines_text(&last_lines);
	snprintf(path, sizeof(path), "%s/roll.zone", sub);
	wrote = write_text(path, child);
	free(child);
	uint16_t nport = free_port(), uport = free_port();
	while (uport == nport && nport != 0) {
		uport = free_port();
	}
	snprintf(path, sizeof(path), "%s/nsd.conf", sub);
	snprintf(text, sizeof(text),
	         "server:\n  ip-address: 127.0.0.1@%u\n  port: %u\n  do-ip6: no\n"
	         "  username: \"\"\n  chroot: \"\"\n  server-count: 1\n  zonesdir: \"%s\"\n"
	         "  pidfile: \"%s/nsd.pid\"\n  xfrdfile: \"%s/xfrd.state\"\n  xfrdir: \"%s\"\n"
	         "  zonelistfile: \"%s/zone.list\"\n  database: \"\"\n  logfile: \"%s/nsd.log\"\n"
	         "  cookie-secret-file: \"%s/cookies\"\n"
	         "remote-control:\n  control-enable: no\n"
	         "zone:\n  name: example.\n  zonefile: example.signed\n"
	         "zone:\n  name: " ZONE "\n  zonefile: roll.zone\n",
	         nport, nport, sub, sub, sub, sub, sub, sub, sub);
	if (!wrote || nport == 0 || uport == 0 || !write_text(path, text)) {
		CHECK(false, "real software at %s: cannot write %s", rel(t, b, 40), path);
		return;
	}
	snprintf(log, sizeof(log), "%s/nsd.out", sub);
	char *nsd_argv[] = {"nsd", "-d", "-c", path, NULL};
	nsd = spawn(nsd_argv, log);
	char upath[1024], ulog[1024], dout[1024];
	snprintf(upath, sizeof(upath), "%s/unbound.conf", sub);
	time_t tt = (time_t)t;
	char date[32];
	strftime(date, sizeof(date), "%Y%m%d%H%M%S", gmtime(&tt));
	snprintf(text, sizeof(text),
	         "server:\n  interface: 127.0.0.1\n  port: %u\n  do-ip6: no\n"
	         "  do-daemonize: no\n  use-syslog: no\n  logfile: \"%s/unbound.log\"\n"
	         "  chroot: \"\"\n  username: \"\"\n  directory: \"%s\"\n"
	         "  pidfile: \"%s/unbound.pid\"\n  num-threads: 1\n  verbosity: 1\n"
	         "  val-log-level: 2\n  do-not-query-localhost: no\n"
	         "  module-config: \"validator iterator\"\n  val-override-date: \"%s\"\n"
	         "  trust-anchor: \"%s\"\n"
	         "remote-control:\n  control-enable: no\n"
	         "stub-zone:\n  name: \"example.\"\n  stub-addr: 127.0.0.1@%u\n"
	         "stub-zone:\n  name: \"" ZONE "\"\n  stub-addr: 127.0.0.1@%u\n",
	         uport, sub, sub, sub, date, real.anchor, nport, nport);
	if (!write_text(upath, text)) {
		CHECK(false, "cannot write %s", upath);
		reap(nsd);
		return;
	}
	snprintf(ulog, sizeof(ulog), "%s/unbound.out", sub);
	char *ub_argv[] = {"unbound", "-d", "-c", upath, NULL};
	ub = spawn(ub_argv, ulog);
	/* Wait until NSD serves the child, then until unbound answers. */
	snprintf(dout, sizeof(dout), "%s/dig-nsd.out", sub);
	bool up = false;
	for (int i = 0; i < 100 && !up; i++) {
		up = dig(nport, ZONE, "SOA", dout) == 0 && file_has(dout, "flags: qr aa");
		if (!up) {
			sleep_ms(100);
		}
	}
	const char *names[][2] = {{"www." ZONE, "A"}, {ZONE, "DNSKEY"}, {"txt." ZONE, "TXT"}};
	unsigned good = 0;
	for (size_t i = 0; up && i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(dout, sizeof(dout), "%s/dig-%zu.out", sub, i);
		bool ad = false;
		for (int k = 0; k < 30 && !ad; k++) {
			ad = dig(uport, names[i][0], names[i][1], dout) == 0 &&
			     file_has(dout, "status: NOERROR") &&
			     (file_has(dout, " ad;") || file_has(dout, " ad ")) &&
			     !file_has(dout, "ANSWER: 0,");
			if (!ad && file_has(dout, "status: SERVFAIL")) {
				break; /* bogus: no use asking again */
			}
			if (!ad) {
				sleep_ms(100);
			}
		}
		good += ad;
		CHECK(ad, "real software at %s (%s): unbound's answer to %s %s has no AD (see %s)",
		      rel(t, b, 40), what, names[i][0], names[i][1], dout);
	}
	CHECK(up, "real software at %s: NSD does not serve %s (see %s)", rel(t, b, 40), ZONE, sub);
	ok = up && good == sizeof(names) / sizeof(names[0]);
	reap(ub);
	reap(nsd);
	real.failed += !ok;
	printf("%s: real software (%s): NSD + unbound (val-override-date %s, parent %zu DS): "
	       "%s\n",
	       rel(t, b, 40), what, date, parent.cur.n, ok ? "AD on every answer" : "FAILED");
}

/* Counts the keys left in the key set by role and algorithm. */
static unsigned count_keys(const dclient_kasp_status_t *st, const char *role, int alg)
{
	unsigned n = 0;
	for (size_t i = 0; i < st->nkeys; i++) {
		const dclient_key_state_t *k = &st->keys[i];
		n += k->removed == 0 && (role == NULL || strcmp(k->role, role) == 0) &&
		     (alg < 0 || k->algorithm == (uint32_t)alg);
	}
	return n;
}

/* Runs the real-software check at the first instant of each interesting
 * moment: after the initial signing (the DS at the parent), mid ZSK (or
 * CSK) rollover, mid KSK rollover (the DS swap at the parent under way),
 * mid algorithm rollover (both algorithms' DS at the parent). */
static void real_moments(const dclient_kasp_status_t *st, int64_t now)
{
	static bool seen_initial, seen_zsk, seen_ksk, seen_alg;
	if (!seen_initial && parent.cur.n > 0) {
		seen_initial = true;
		real_check("after the initial signing", now);
	}
	const char *r = var->csk ? "CSK" : "ZSK";
	if (!seen_zsk && parent.cur.n > 0 && (count_keys(st, r, 8) == 2)) {
		seen_zsk = true;
		real_check(var->csk ? "mid CSK rollover" : "mid ZSK rollover", now);
	}
	if (!var->csk && !seen_ksk && count_keys(st, "KSK", 8) == 2) {
		for (size_t i = 0; i < st->nkeys; i++) {
			const dclient_key_state_t *k = &st->keys[i];
			if (k->removed == 0 && !k->goal && strcmp(k->role, "KSK") == 0 &&
			    strcmp(k->ds, "unretentive") == 0 && parent.cur.n > 0) {
				seen_ksk = true;
			}
		}
		if (seen_ksk) {
			real_check("mid KSK rollover", now);
		}
	}
	if (!seen_alg && count_keys(st, NULL, 8) > 0 && count_keys(st, NULL, 13) > 0 &&
	    parent.cur.n == 2) {
		seen_alg = true;
		real_check("mid algorithm rollover", now);
	}
}

/* --- set-up --- */

static char yaml_alg[32] = "RSASHA256";
static bool after_restart; /* the policy of the second year */

static void policy_yaml(char *out, size_t cap)
{
	snprintf(out, cap,
	         "policies:\n"
	         "  - name: sim\n"
	         "    algorithm: %s\n"
	         "    keys: %s\n"
	         "    signatures: {validity: 14d, refresh: 5d, jitter: 12h, inception_offset: "
	         "1h}\n"
	         "    denial: {type: %s}\n"
	         "    zone: {dnskey_ttl: 1h, cds_ttl: 1h, max_ttl: 1h, propagation_delay: %d}\n"
	         "    parent: {ds_ttl: %d, propagation_delay: %d, agents: [\"127.0.0.1@%u\"], "
	         "poll_interval: 1h, cds: true}\n",
	         yaml_alg,
	         after_restart && var->keys_yaml_after ? var->keys_yaml_after : var->keys_yaml,
	         var->nsec3 != (after_restart && var->nsec3_flip) ? "nsec3" : "nsec", ZONE_PROP,
	         DS_TTL, PARENT_PROP, (unsigned)parent.port);
}

/* Rewrites signer.yaml with the policy of the second year: at algorithm
 * alg, with the variant's keys after the restart. */
static void set_policy_alg(const char *alg)
{
	FILE *fp = fopen(env.yaml, "r");
	if (fp == NULL) {
		die("cannot read %s", env.yaml);
	}
	char *text = NULL;
	size_t len = 0;
	daemon_env_buf_t b = {0};
	char line[1024];
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "policies:", 9) == 0) {
			break;
		}
		daemon_env_buf_add(&b, "%s", line);
	}
	fclose(fp);
	snprintf(yaml_alg, sizeof(yaml_alg), "%s", alg);
	after_restart = true;
	char pol[2048];
	policy_yaml(pol, sizeof(pol));
	daemon_env_buf_add(&b, "%s", pol);
	text = b.s;
	len = b.len;
	fp = fopen(env.yaml, "w");
	if (fp == NULL || fwrite(text, 1, len, fp) != len || fclose(fp) != 0) {
		die("cannot write %s", env.yaml);
	}
	daemon_env_buf_free(&b);
}

static const char *zone_text = "$ORIGIN " ZONE "\n"
                               "$TTL 3600\n"
                               "@ IN SOA ns1 hostmaster 1 3600 900 259200 300\n"
                               "@ IN NS ns1\n"
                               "@ IN NS ns2\n"
                               "@ IN MX 10 mail\n"
                               "ns1 IN A 192.0.2.1\n"
                               "ns2 IN A 192.0.2.2\n"
                               "mail IN A 192.0.2.25\n"
                               "www 600 IN A 192.0.2.80\n"
                               "www 600 IN AAAA 2001:db8::80\n"
                               "txt 1800 IN TXT \"rollover simulation\"\n"
                               "*.wild IN TXT \"wildcard\"\n"
                               "a.b.c IN TXT \"empty non-terminals\"\n"
                               "sub IN NS ns.sub\n"
                               "ns.sub IN A 192.0.2.53\n"
                               "sec IN NS ns.sec\n"
                               "sec IN DS 12345 13 2 "
                               "8F1D4B2C3E5A6978695A4B3C2D1E0F1A2B3C4D5E6F708192A3B4C5D6E7F80912\n"
                               "ns.sec IN A 192.0.2.54\n";

static void start_daemon(void)
{
	if (daemon_env_start(&env, NULL, 30) != 0) {
		die("signerd does not start");
	}
	if (dclient_connect(env.sock, 120000, &cl) != 0) {
		die("cannot connect to signerd");
	}
}

/* --- the checks --- */

typedef struct {
	size_t instants;
	uint64_t mixes;
	uint64_t failed_mixes;
	size_t failed_instants;
} check_totals_t;

static void check_all(int64_t from, int64_t to, check_totals_t *tot)
{
	int64_t *inst = NULL;
	size_t n = 0;
	int st = rollcheck_instants(rc, from, to, &inst, &n);
	if (st != ROLLCHECK_OK) {
		die("rollcheck_instants: %s", rollcheck_strerror(st));
	}
	memset(tot, 0, sizeof(*tot));
	tot->instants = n;
	for (size_t i = 0; i < n; i++) {
		char *report = NULL;
		int bad = rollcheck_check(rc, inst[i], &tot->mixes, &report);
		if (bad < 0) {
			die("rollcheck_check: %s", rollcheck_strerror(bad));
		}
		if (bad > 0) {
			tot->failed_mixes += (uint64_t)bad;
			if (tot->failed_instants++ < REPORT_FAILURES) {
				char b[40];
				fprintf(stderr,
				        "FAIL: %d mixes fail at %s (t=%" PRId64
				        "):\n%s    key states "
				        "then:\n%s",
				        bad, rel(inst[i], b, sizeof(b)), inst[i],
				        report ? report : "", states_at(inst[i]));
			}
		}
		free(report);
	}
	free(inst);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s SIGNERD SIGNER [kskzsk|csk|dds|merge|split|denial]\n",
		        argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	var = &variants[0];
	if (argc > 3) {
		var = NULL;
		for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
			if (strcmp(argv[3], variants[i].name) == 0) {
				var = &variants[i];
			}
		}
		if (var == NULL) {
			fprintf(stderr, "unknown variant %s\n", argv[3]);
			return 2;
		}
	}
	const char *seed_env = getenv("SIGNER_TEST_SEED");
	uint64_t seed = seed_env != NULL ? strtoull(seed_env, NULL, 0)
	                                 : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	rng_state = seed;
	printf("test_daemon_rollover %s: seed %" PRIu64 " (SIGNER_TEST_SEED)\n", var->name, seed);
	double t0_ms = daemon_env_now_ms();

	if (parent_start() != 0) {
		fprintf(stderr, "FAIL: cannot start the simulated parent\n");
		return 1;
	}
	char pol[2048];
	policy_yaml(pol, sizeof(pol));
	char name[32];
	snprintf(name, sizeof(name), "roll-%s", var->name);
	if (daemon_env_init(&env, name, argv[1], argv[2], pol) != 0) {
		parent_stop();
		daemon_env_cleanup(&env, false);
		return 1;
	}
	rc = rollcheck_new(ZONE, ZONE_PROP, PARENT_PROP);
	if (rc == NULL) {
		die("rollcheck_new");
	}
	start_daemon();
	dclient_lines_init(&last_lines);

	/* The start: real time; the parent has no DS (an insecure delegation). */
	t_start = daemon_now();
	char err[256];
	if (rollcheck_add_ds(rc, t_start, "", err, sizeof(err)) != ROLLCHECK_OK) {
		die("rollcheck_add_ds: %s", err);
	}
	dclient_result_t res;
	if (dclient_zone_add_policy(cl, ZONE, "sim", &res) != 0 || res.status != 0) {
		die("zone add: %s %s", dclient_error(cl), res.message);
	}
	if (dclient_push_text(cl, ZONE, zone_text, 0, &res) != 0 || res.status != 0) {
		die("push: %s %s", dclient_error(cl), res.message);
	}

	const int64_t t_switch = t_start + (int64_t)SWITCH_DAY * DAY;
	const int64_t t_end = t_start + (int64_t)SIM_DAYS * DAY;
	const int64_t t_limit = t_end + (int64_t)EXTRA_DAYS * DAY;
	bool switched = false;
	unsigned steps = 0, restarts = 0;
	int64_t now = t_start, t_final = t_end;
	dclient_kasp_status_t st;
	memset(&st, 0, sizeof(st));
	for (;;) {
		double m0 = daemon_env_now_ms();
		settle(&st, &now);
		double m1 = daemon_env_now_ms();
		ms_settle += m1 - m0;
		if (!st.published) {
			die("no signed version at %" PRId64 " s: %s", now - t_start, st.last_error);
		}
		track_keys(&st, now);
		record(&st);
		double m2 = daemon_env_now_ms();
		ms_record += m2 - m1;
		real_moments(&st, now);
		ms_real += daemon_env_now_ms() - m2;
		if (now >= t_end && quiescent(&st)) {
			t_final = now;
			break;
		}
		if (now >= t_limit) {
			CHECK(false, "a rollover still in progress %d days after the end:\n%s",
			      EXTRA_DAYS, states_at(now));
			t_final = now;
			break;
		}
		if (++steps > MAX_STEPS) {
			die("more than %d steps", MAX_STEPS);
		}
		int64_t t = st.next_event != 0 ? st.next_event : INT64_MAX;
		if (parent.pending_at != 0 && parent.pending_at <= t) {
			t = parent.pending_at;
		}
		if (!switched && t >= t_switch) {
			/* A year on: signerd restarted with the policy at ECDSAP256SHA256. */
			clock_to(t_switch);
			settle(&st, &now);
			track_keys(&st, now);
			record(&st);
			char b[40];
			printf("%s: restart with the policy at ECDSAP256SHA256%s%s\n",
			       rel(now, b, sizeof(b)),
			       var->keys_yaml_after != NULL ? ", keys " : "",
			       var->keys_yaml_after != NULL ? var->keys_yaml_after : "");
			dclient_free(cl);
			cl = NULL;
			int ds = daemon_env_stop(&env);
			CHECK(ds == 0, "signerd exited %d on SIGTERM", ds);
			set_policy_alg("ECDSAP256SHA256");
			start_daemon();
			clock_to(now);
			restarts++;
			switched = true;
			continue;
		}
		if (t == INT64_MAX) {
			die("nothing scheduled at %" PRId64 " s", now - t_start);
		}
		if (parent.pending_at != 0 && parent.pending_at <= t) {
			parent_apply(parent.pending_at > now ? parent.pending_at : now);
		}
		if (t > now) {
			clock_to(t);
		}
	}
	dclient_kasp_status_free(&st);
	kstatus(&st);
	double sim_ms = daemon_env_now_ms() - t0_ms;

	/* Rollovers: keys generated per role and algorithm. */
	unsigned gen[3][2] = {{0}}; /* KSK ZSK CSK x RSASHA256 ECDSAP256SHA256 */
	const char *roles[3] = {"KSK", "ZSK", "CSK"};
	for (size_t i = 0; i < nseen; i++) {
		for (int r = 0; r < 3; r++) {
			if (strcmp(seen[i].role, roles[r]) == 0) {
				gen[r][seen[i].algorithm == 13]++;
			}
		}
	}
	/* Keys left in the key set at the end. */
	unsigned left[3] = {0}, left_alg8 = 0;
	for (size_t i = 0; i < st.nkeys; i++) {
		const dclient_key_state_t *k = &st.keys[i];
		if (k->removed != 0) {
			continue;
		}
		for (int r = 0; r < 3; r++) {
			left[r] += strcmp(k->role, roles[r]) == 0;
		}
		left_alg8 += k->algorithm != 13;
	}
	unsigned gen_log = daemon_env_log_count(&env, "generated in token");
	unsigned purged_log = daemon_env_log_count(&env, "purged from token");

	double c0 = daemon_env_now_ms();
	check_totals_t tot;
	check_all(t_start, t_final + 2 * DAY, &tot);
	double check_ms = daemon_env_now_ms() - c0;
	/* The checker is alive: a DS matching no key, published after the end,
	 * must fail. */
	int64_t t_bogus = t_final + 3 * DAY;
	uint64_t bogus_mixes = 0;
	char *bogus_report = NULL;
	int bogus = rollcheck_add_ds(rc, t_bogus,
	                             ZONE " 86400 IN DS 1 13 2 "
	                                  "00000000000000000000000000000000000000000000000000000000"
	                                  "00000000",
	                             err, sizeof(err));
	if (bogus == ROLLCHECK_OK) {
		bogus = rollcheck_check(rc, t_bogus + 10, &bogus_mixes, &bogus_report);
	}
	free(bogus_report);
	CHECK(bogus > 0, "a DS matching no key: rollcheck finds %d failing mixes", bogus);

	char b[40];
	printf("\n%s: two years (to %s), %u steps, %u versions recorded (%u rebuilt from deltas, "
	       "%u storm versions not recorded), %u restart\n",
	       var->name, rel(t_final, b, sizeof(b)), steps, versions, rebuilt, skipped, restarts);
	printf("parent: %u CDS changes seen, %u DS sets published, %u UDP + %u TCP queries\n",
	       parent.cds_changes, parent.applied, atomic_load(&parent.udp_queries),
	       atomic_load(&parent.tcp_queries));
	printf("  %-4s %10s %10s %10s\n", "role", "RSASHA256", "ECDSAP256", "rollovers");
	unsigned roll[3];
	for (int r = 0; r < 3; r++) {
		unsigned total = gen[r][0] + gen[r][1];
		/* The first key of the role in each year (the second year's
		 * comes with the algorithm rollover) is no rollover of it. */
		unsigned firsts = (gen[r][0] > 0) + (gen[r][1] > 0);
		roll[r] = total - firsts;
		if (total > 0) {
			printf("  %-4s %10u %10u %10u\n", roles[r], gen[r][0], gen[r][1], roll[r]);
		}
	}
	unsigned alg_roll = (gen[0][1] + gen[1][1] + gen[2][1]) > 0 && left_alg8 == 0 ? 1 : 0;
	printf("  algorithm rollovers: %u; keys generated (log): %u, purged (log): %u\n", alg_roll,
	       gen_log, purged_log);
	printf("checked: %zu instants, %" PRIu64 " mixes, %" PRIu64 " failing mixes at %zu "
	       "instants\n",
	       tot.instants, tot.mixes, tot.failed_mixes, tot.failed_instants);
	printf("control: a DS matching no key after the end fails %d of %" PRIu64 " mixes\n", bogus,
	       bogus_mixes);
	if (real.tried) {
		printf("real software: %u instants, %u failed\n", real.done, real.failed);
	}
	printf("time: simulation %.1f s (daemon passes and waits %.1f s, pulls and recording "
	       "%.1f s, real software %.1f s), checks %.1f s\n",
	       sim_ms / 1000, ms_settle / 1000, ms_record / 1000, ms_real / 1000, check_ms / 1000);
	printf("keys at the end:\n%s", states_at(t_final));

	for (unsigned i = 0; i < nstorms && i < sizeof(storms) / sizeof(storms[0]); i++) {
		fprintf(stderr,
		        "signerd: publication storm at %s: serials %u..%u published while the "
		        "zone stayed due (each pass re-signs only the SOA)\n",
		        rel(storms[i].t, b, sizeof(b)), storms[i].from, storms[i].to);
	}
	CHECK(nstorms == 0,
	      "%u publication storms: at its re-signing time (earliest expiration - refresh) "
	      "the zone is due, but the incremental pass does not take the RRSIG expiring at "
	      "exactly now + refresh, so only the SOA is re-signed, a new serial is published "
	      "and the zone is due again, until the clock ticks",
	      nstorms);
	CHECK(tot.failed_mixes == 0, "%" PRIu64 " mixes fail", tot.failed_mixes);
	CHECK(tot.instants > 0 && tot.mixes > 0, "nothing checked");
	CHECK(roll[2] >= var->min_csk, "%u CSK rollovers, expected at least %u", roll[2],
	      var->min_csk);
	CHECK(roll[1] >= var->min_zsk, "%u ZSK rollovers, expected at least %u", roll[1],
	      var->min_zsk);
	CHECK(roll[0] >= var->min_ksk, "%u KSK rollovers, expected at least %u", roll[0],
	      var->min_ksk);
	if (var->keys_yaml_after != NULL ? var->csk_after : var->csk) {
		CHECK(left[2] == 1 && left[0] == 0 && left[1] == 0,
		      "keys left: %u CSK %u KSK %u ZSK, expected one CSK", left[2], left[0],
		      left[1]);
	} else {
		CHECK(left[0] == 1 && left[1] == 1 && left[2] == 0,
		      "keys left: %u KSK %u ZSK %u CSK, expected one KSK and one ZSK", left[0],
		      left[1], left[2]);
	}
	/* The denial the policy asks for at the end (NSEC3PARAM at the apex
	 * or not). */
	bool nsec3_end = var->nsec3 != var->nsec3_flip, has_param = false;
	for (size_t i = 0; i < last_lines.n; i++) {
		char owner[512], type[32];
		const char *rdata;
		has_param = has_param || (split_line(last_lines.v[i], owner, sizeof(owner), type,
		                                     sizeof(type), &rdata) &&
		                          strcmp(type, "NSEC3PARAM") == 0);
	}
	CHECK(has_param == nsec3_end, "the last version %s NSEC3PARAM, the policy asks for %s",
	      has_param ? "has" : "has no", nsec3_end ? "NSEC3" : "NSEC");
	CHECK(alg_roll == 1,
	      "no algorithm rollover to ECDSAP256SHA256 (%u keys of another "
	      "algorithm left)",
	      left_alg8);
	CHECK(gen_log == nseen, "%u keys generated in the log, %zu seen in the key states", gen_log,
	      nseen);
	unsigned jumps = daemon_env_log_count(&env, "clock jump");
	CHECK(jumps == 0, "%u clock jump messages in the log", jumps);

	dclient_kasp_status_free(&st);
	dclient_free(cl);
	cl = NULL;
	int fails = atomic_load(&failures);
	int ds = daemon_env_stop(&env);
	if (ds != 0) {
		fprintf(stderr, "FAIL: signerd exited %d on SIGTERM\n", ds);
		fails++;
	}
	parent_stop();
	rollcheck_free(rc);
	dclient_lines_free(&last_lines);
	for (size_t i = 0; i < nsnaps; i++) {
		free(snaps[i].text);
	}
	free(snaps);
	free(seen);
	daemon_env_cleanup(&env, fails != 0);
	printf("%s\n", fails == 0 ? "PASS" : "FAIL");
	return fails == 0 ? 0 : 1;
}
