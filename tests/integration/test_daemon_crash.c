/*
 * test_daemon_crash: nothing acknowledged is lost when signerd dies.
 *
 * One zone, journal: {max_entries: 20, max_bytes: 64K} (so that a whole
 * push's delta, over half of max_bytes, makes a snapshot and resets the
 * journal, and trims happen). Rounds, the state directory kept throughout:
 *   - 20 rounds: start signerd; a client sends updates (and now and then a
 *     whole push) as fast as it can, recording each acknowledged change
 *     (input serial, the unsigned content after it) and the signed content
 *     of each published serial (by delta fetch); at a random moment 50-1500
 *     ms in, kill -9;
 *   - one round per crash point (snap-written, snap-synced, snap-renamed,
 *     journal-written, journal-synced, trim-written, trim-renamed): signerd
 *     started with SIGNER_CRASH_AT=<point>:N must exit 86 during the
 *     updates (a whole push comes early, so every point is reached).
 * After each round, signerd restarts without the variable, and:
 *   - the zone's input serial is the last acknowledged one, or the one of
 *     the change in flight (which may or may not have been applied), and
 *     its unsigned content is the model's at that serial exactly;
 *   - no signed serial ever comes back with other content than it had
 *     (serial -> hash of the full signed set, from every fetch and delta);
 *   - the delta chain fetched from earlier serials (those the journal still
 *     reaches) rebuilds the content seen for every serial on the way and
 *     ends at the full fetch;
 *   - the zone verifies (ldns-verify-zone).
 *
 *   test_daemon_crash SIGNERD SIGNER        (SIGNER_TEST_SEED: the seed)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/daemon_env.h"
#include "tests/integration/dclient.h"

#define ZONE   "crash.example."
#define ROUNDS 20
#define NAMES  300
#define RING   48

static daemon_env_t env;
static atomic_int failures;

#define CHECK(...) DAEMON_ENV_CHECK(&failures, __VA_ARGS__)

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	daemon_env_log_tail(&env, 40);
	daemon_env_cleanup(&env, false);
	exit(1);
}

static unsigned rnd(unsigned n)
{
	return (unsigned)(random() % n);
}

/* --- the model: unsigned records without the SOA --- */

static dclient_lines_t acked;    /* content at acked_in */
static uint32_t acked_in;        /* last acknowledged input serial */
static dclient_lines_t inflight; /* content if the change in flight applied */
static uint32_t inflight_in;
static bool have_inflight;
static unsigned counter;

static char *canon(const char *text)
{
	char *c = dclient_canon(ZONE, text);
	if (c == NULL) {
		die("the test's own record does not parse: %s", text);
	}
	return c;
}

static bool deletable(const char *line)
{
	return (line[0] == 'h' || line[0] == 'r') && strchr(line, '.') != NULL;
}

static void txt_rdata(char *rd, size_t cap)
{
	unsigned c = ++counter;
	/* Long TXT records: a journal grows fast, so snapshots and trims come. */
	snprintf(rd, cap, "\"change %u %0180u\"", c, c);
}

/* --- serials seen: serial -> hash of the full signed set, and the last
 * RING contents --- */

typedef struct {
	uint32_t serial;
	uint64_t hash;
} seen_t;

static seen_t *seen;
static size_t nseen, capseen;

static struct {
	uint32_t serial;
	dclient_lines_t set;
	bool used;
} ring[RING];
static size_t ring_next;

static void record_serial(uint32_t serial, const dclient_lines_t *set, const char *where)
{
	uint64_t h = dclient_lines_hash(set);
	for (size_t i = 0; i < nseen; i++) {
		if (seen[i].serial == serial) {
			CHECK(seen[i].hash == h,
			      "%s: serial %u was seen before with other content (hash %016llx, now "
			      "%016llx): a serial published twice",
			      where, serial, (unsigned long long)seen[i].hash,
			      (unsigned long long)h);
			return;
		}
	}
	if (nseen == capseen) {
		capseen = capseen ? capseen * 2 : 256;
		seen = realloc(seen, capseen * sizeof(*seen));
		if (seen == NULL) {
			die("out of memory");
		}
	}
	seen[nseen++] = (seen_t){serial, h};
	if (ring[ring_next].used) {
		dclient_lines_free(&ring[ring_next].set);
	}
	ring[ring_next].serial = serial;
	dclient_lines_copy(&ring[ring_next].set, set);
	ring[ring_next].used = true;
	ring_next = (ring_next + 1) % RING;
}

static bool soa_or_dnssec(const char *line)
{
	char t[16];
	dclient_line_type(line, t, sizeof(t));
	return strcmp(t, "RRSIG") == 0 || strcmp(t, "NSEC") == 0 || strcmp(t, "NSEC3") == 0 ||
	       strcmp(t, "NSEC3PARAM") == 0 || strcmp(t, "DNSKEY") == 0 || strcmp(t, "SOA") == 0;
}

static void unsigned_view(const dclient_lines_t *s, dclient_lines_t *out)
{
	dclient_lines_init(out);
	for (size_t i = 0; i < s->n; i++) {
		if (!soa_or_dnssec(s->v[i])) {
			dclient_lines_add(out, s->v[i]);
		}
	}
	dclient_lines_sort(out);
}

/* --- the signed zone as the client knows it --- */

static dclient_lines_t cur_set;
static uint32_t cur_serial;

static int fetch_full(dclient_t *c, dclient_lines_t *out, uint32_t *serial)
{
	dclient_fetch_t f;
	if (dclient_fetch(c, ZONE, false, 0, &f) != 0) {
		return -1;
	}
	if (f.res.status != 0) {
		fprintf(stderr, "fetch answered %s: %s\n", dclient_status_name(f.res.status),
		        f.res.message);
		dclient_fetch_free(&f);
		return -2;
	}
	*out = f.all;
	f.all.v = NULL;
	f.all.n = f.all.cap = 0;
	*serial = f.serial;
	dclient_fetch_free(&f);
	return 0;
}

/* Follows the zone to serial by a delta fetch from cur_serial (a full fetch
 * if the journal does not reach back), recording every serial on the way.
 * Returns -1 on a transport failure. */
static int follow(dclient_t *c, uint32_t serial, const char *where)
{
	dclient_fetch_t f;
	if (dclient_fetch(c, ZONE, true, cur_serial, &f) != 0) {
		return -1;
	}
	if (f.res.status == 0 && f.ndeltas > 0) {
		for (size_t i = 0; i < f.ndeltas; i++) {
			CHECK(f.deltas[i].from == cur_serial, "%s: delta %zu starts at %u, not %u",
			      where, i, f.deltas[i].from, cur_serial);
			size_t bad = dclient_lines_apply(&cur_set, &f.deltas[i]);
			CHECK(bad == 0, "%s: delta %u -> %u does not apply to what was seen", where,
			      f.deltas[i].from, f.deltas[i].to);
			cur_serial = f.deltas[i].to;
			record_serial(cur_serial, &cur_set, where);
		}
		CHECK(f.serial == serial, "%s: the delta ends at %u, the answer said %u", where,
		      f.serial, serial);
		dclient_fetch_free(&f);
		return 0;
	}
	dclient_fetch_free(&f);
	dclient_lines_t full;
	uint32_t s;
	int st = fetch_full(c, &full, &s);
	if (st == -1) {
		return -1;
	}
	if (st != 0) {
		die("%s: no full fetch", where);
	}
	dclient_lines_free(&cur_set);
	cur_set = full;
	cur_serial = s;
	record_serial(s, &cur_set, where);
	return 0;
}

/* --- changes --- */

static void push_text(const dclient_lines_t *content, uint32_t in, char **out)
{
	size_t cap = 4096;
	for (size_t i = 0; i < content->n; i++) {
		cap += strlen(content->v[i]) + 1;
	}
	char *t = malloc(cap);
	if (t == NULL) {
		die("out of memory");
	}
	size_t len = (size_t)snprintf(
	        t, cap, "%s 3600 IN SOA ns1.%s hostmaster.%s %u 3600 900 604800 300\n", ZONE, ZONE,
	        ZONE, in);
	for (size_t i = 0; i < content->n; i++) {
		len += (size_t)snprintf(t + len, cap - len, "%s\n", content->v[i]);
	}
	*out = t;
}

/* A new whole zone: the fixed records and NAMES hosts with fresh data. */
static void new_zone(dclient_lines_t *out)
{
	dclient_lines_init(out);
	char line[512], rd[256];
	char *c;
	snprintf(line, sizeof(line), "%s 3600 IN NS ns1.%s", ZONE, ZONE);
	dclient_lines_add(out, c = canon(line));
	free(c);
	snprintf(line, sizeof(line), "ns1.%s 3600 IN A 192.0.2.1", ZONE);
	dclient_lines_add(out, c = canon(line));
	free(c);
	unsigned g = ++counter;
	for (unsigned i = 0; i < NAMES; i++) {
		snprintf(line, sizeof(line), "h%u.%s 300 IN A 10.%u.%u.%u", i, ZONE, g % 250,
		         i / 250, i % 250 + 1);
		dclient_lines_add(out, c = canon(line));
		free(c);
		if (i % 3 == 0) {
			txt_rdata(rd, sizeof(rd));
			snprintf(line, sizeof(line), "h%u.%s 300 IN TXT %s", i, ZONE, rd);
			dclient_lines_add(out, c = canon(line));
			free(c);
		}
	}
	dclient_lines_sort(out);
}

/* A random update on acked into inflight; removed and added text. */
static void new_update(char **rem, char **add)
{
	dclient_lines_free(&inflight);
	dclient_lines_copy(&inflight, &acked);
	size_t rcap = 8192, acap = 8192, rlen = 0, alen = 0;
	*rem = calloc(1, rcap);
	*add = calloc(1, acap);
	unsigned n = 1 + rnd(6);
	for (unsigned k = 0; k < n; k++) {
		char line[800], rd[256];
		unsigned what = rnd(3);
		if (what > 0 && inflight.n > 10) { /* delete, or modify: delete + add */
			long i = -1;
			for (int tries = 0; tries < 50 && i < 0; tries++) {
				size_t j = rnd((unsigned)inflight.n);
				/* Not a line this update added. */
				if (deletable(inflight.v[j]) &&
				    dclient_lines_find(&acked, inflight.v[j]) >= 0) {
					i = (long)j;
				}
			}
			if (i < 0) {
				continue;
			}
			rlen += (size_t)snprintf(*rem + rlen, rcap - rlen, "%s\n", inflight.v[i]);
			char owner[256];
			sscanf(inflight.v[i], "%255s", owner);
			free(inflight.v[i]);
			memmove(&inflight.v[i], &inflight.v[i + 1],
			        (inflight.n - (size_t)i - 1) * sizeof(char *));
			inflight.n--;
			if (what == 2) {
				txt_rdata(rd, sizeof(rd));
				snprintf(line, sizeof(line), "%s 300 IN TXT %s", owner, rd);
			} else {
				continue;
			}
		} else {
			txt_rdata(rd, sizeof(rd));
			snprintf(line, sizeof(line), "r%u.%s 300 IN TXT %s", counter, ZONE, rd);
		}
		char *c = canon(line);
		alen += (size_t)snprintf(*add + alen, acap - alen, "%s\n", c);
		dclient_lines_add(&inflight, c);
		free(c);
		dclient_lines_sort(&inflight);
	}
}

/* --- a round --- */

typedef struct {
	unsigned delay_ms;
	atomic_bool stop;
} killer_t;

static void *killer_main(void *arg)
{
	killer_t *k = arg;
	for (unsigned t = 0; t < k->delay_ms && !atomic_load(&k->stop); t++) {
		usleep(1000);
	}
	if (!atomic_load(&k->stop)) {
		daemon_env_kill_nowait(&env);
	}
	return NULL;
}

typedef struct {
	unsigned acked, pushes;
	bool died;
} round_stats_t;

/* Sends changes until the connection fails (the daemon died) or max_ms. */
static void workload(dclient_t *c, unsigned max_ms, int push_at, round_stats_t *rs,
                     const char *where)
{
	double t0 = daemon_env_now_ms();
	for (int op = 0; daemon_env_now_ms() - t0 < max_ms; op++) {
		bool push = op == push_at || rnd(60) == 0;
		dclient_result_t r;
		int st;
		if (push) {
			dclient_lines_free(&inflight);
			new_zone(&inflight);
			inflight_in = acked_in + 1;
			have_inflight = true;
			char *text;
			push_text(&inflight, inflight_in, &text);
			st = dclient_push_text(c, ZONE, text, 0, &r);
			free(text);
		} else {
			char *rem, *add;
			new_update(&rem, &add);
			inflight_in = acked_in + 1;
			have_inflight = true;
			st = dclient_update_text(c, ZONE, acked_in, inflight_in, rem, add, &r);
			free(rem);
			free(add);
		}
		if (st != 0) {
			rs->died = true;
			return;
		}
		if (r.status != 0) {
			die("%s: a valid %s answered %s: %s", where, push ? "push" : "update",
			    dclient_status_name(r.status), r.message);
		}
		/* Acknowledged. */
		dclient_lines_free(&acked);
		acked = inflight;
		dclient_lines_init(&inflight);
		acked_in = inflight_in;
		have_inflight = false;
		rs->acked++;
		rs->pushes += push;
		CHECK(r.input_serial == acked_in, "%s: answer's input serial %u, sent %u", where,
		      r.input_serial, acked_in);
		if (follow(c, r.serial, where) != 0) {
			rs->died = true;
			return;
		}
		CHECK(cur_serial == r.serial, "%s: after the answer (serial %u) the zone is at %u",
		      where, r.serial, cur_serial);
	}
}

/* The checks after a restart. */
static void after_restart(const char *where)
{
	dclient_t *c = NULL;
	if (dclient_connect(env.sock, 120000, &c) != 0) {
		die("%s: cannot connect after the restart", where);
	}
	dclient_status_t st;
	if (dclient_status(c, ZONE, &st) != 0 || st.res.status != 0) {
		die("%s: no zone status after the restart: %s %s", where, dclient_error(c),
		    st.res.message);
	}
	const dclient_lines_t *expect = NULL;
	if (st.input_serial == acked_in) {
		expect = &acked;
	} else if (have_inflight && st.input_serial == inflight_in) {
		expect = &inflight;
	} else {
		CHECK(false,
		      "%s: after the restart the input serial is %u; the last acknowledged change "
		      "was %u%s (an acknowledged change lost, or an unknown one)",
		      where, st.input_serial, acked_in, have_inflight ? ", in flight +1" : "");
	}
	dclient_lines_t full;
	uint32_t serial;
	if (fetch_full(c, &full, &serial) != 0) {
		die("%s: fetch after the restart failed", where);
	}
	CHECK(serial == st.serial, "%s: status serial %u, fetch %u", where, st.serial, serial);
	if (expect != NULL) {
		dclient_lines_t u;
		unsigned_view(&full, &u);
		size_t d = dclient_lines_diff(expect, &u, "model(-) vs restarted(+)", 10);
		CHECK(d == 0,
		      "%s: the restarted zone (input serial %u) differs from the model in "
		      "%zu records",
		      where, st.input_serial, d);
		dclient_lines_free(&u);
		if (expect == &inflight) {
			dclient_lines_free(&acked);
			acked = inflight;
			dclient_lines_init(&inflight);
			acked_in = inflight_in;
		}
	}
	have_inflight = false;
	record_serial(serial, &full, where);
	/* The delta chain from each earlier serial the journal still reaches. */
	unsigned chains = 0, steps = 0;
	for (size_t k = 0; k < RING; k++) {
		size_t idx = (ring_next + k) % RING;
		if (!ring[idx].used || ring[idx].serial == serial) {
			continue;
		}
		dclient_fetch_t f;
		if (dclient_fetch(c, ZONE, true, ring[idx].serial, &f) != 0) {
			die("%s: delta fetch: %s", where, dclient_error(c));
		}
		if (f.res.status != 0) {
			CHECK(f.res.status == 3, "%s: delta fetch from %u answered %s: %s", where,
			      ring[idx].serial, dclient_status_name(f.res.status), f.res.message);
			dclient_fetch_free(&f);
			continue;
		}
		chains++;
		dclient_lines_t s;
		dclient_lines_copy(&s, &ring[idx].set);
		uint32_t at = ring[idx].serial;
		for (size_t i = 0; i < f.ndeltas; i++) {
			CHECK(f.deltas[i].from == at,
			      "%s: chain from %u: delta starts at %u, not %u", where,
			      ring[idx].serial, f.deltas[i].from, at);
			size_t bad = dclient_lines_apply(&s, &f.deltas[i]);
			CHECK(bad == 0, "%s: chain from %u: delta %u -> %u does not apply", where,
			      ring[idx].serial, f.deltas[i].from, f.deltas[i].to);
			at = f.deltas[i].to;
			record_serial(at, &s, where);
			steps++;
		}
		size_t d = dclient_lines_diff(&s, &full, "chain(-) vs full(+)", 5);
		CHECK(at == serial && d == 0,
		      "%s: the chain from %u ends at %u with %zu records other than the full "
		      "fetch (serial %u)",
		      where, ring[idx].serial, at, d, serial);
		dclient_lines_free(&s);
		dclient_fetch_free(&f);
	}
	if (daemon_env_verify(&env, ZONE, &full, false, "restart") != 0) {
		failures++;
		fprintf(stderr, "  (%s)\n", where);
	}
	/* Retention: the journal keeps at most max_entries (20) entries, one
	 * more if the kill came between a publication and its trim. */
	CHECK(st.journal_entries <= 21, "%s: the journal holds %u entries, above its limit of 20",
	      where, st.journal_entries);
	printf("    restart: serial %u, input %u (%s), journal %u entries from %u, %u delta chains "
	       "(%u steps) checked\n",
	       serial, st.input_serial, expect == &acked ? "last acked" : "in-flight applied",
	       st.journal_entries, st.journal_first_serial, chains, steps);
	dclient_lines_free(&cur_set);
	cur_set = full;
	cur_serial = serial;
	dclient_free(c);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s SIGNERD SIGNER\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	unsigned seed = getenv("SIGNER_TEST_SEED") ? (unsigned)atoi(getenv("SIGNER_TEST_SEED"))
	                                           : (unsigned)time(NULL) ^ (unsigned)getpid();
	srandom(seed);
	printf("test_daemon_crash: seed %u (SIGNER_TEST_SEED)\n", seed);
	double t0 = daemon_env_now_ms();
	if (daemon_env_init(&env, "dcrash", argv[1], argv[2],
	                    "journal:\n  max_entries: 20\n  max_bytes: 64K\n") != 0 ||
	    daemon_env_keygen(&env, "ECDSAP256SHA256", "ksk") != 0 ||
	    daemon_env_keygen(&env, "ECDSAP256SHA256", "zsk") != 0 ||
	    daemon_env_start(&env, NULL, 60) != 0) {
		daemon_env_cleanup(&env, false);
		return 1;
	}
	dclient_t *c = NULL;
	if (dclient_connect(env.sock, 120000, &c) != 0) {
		die("connect");
	}
	dclient_result_t r;
	if (dclient_zone_add(c, ZONE, "ksk", "zsk", false, &r) != 0 || r.status != 0) {
		die("zone add: %s", r.message);
	}
	new_zone(&acked);
	acked_in = 1;
	char *text;
	push_text(&acked, acked_in, &text);
	if (dclient_push_text(c, ZONE, text, 0, &r) != 0 || r.status != 0) {
		die("first push: %s %s", dclient_error(c), r.message);
	}
	free(text);
	if (fetch_full(c, &cur_set, &cur_serial) != 0) {
		die("first fetch");
	}
	record_serial(cur_serial, &cur_set, "first push");
	dclient_free(c);
	if (daemon_env_stop(&env) != 0) {
		die("signerd did not stop cleanly on SIGTERM");
	}

	static const char *points[] = {"snap-written",    "snap-synced",    "snap-renamed",
	                               "journal-written", "journal-synced", "trim-written",
	                               "trim-renamed"};
	size_t npoints = sizeof(points) / sizeof(points[0]);
	unsigned total_acked = 0, total_pushes = 0, kept_inflight = 0;
	for (size_t round = 0; round < ROUNDS + npoints; round++) {
		bool fault = round >= ROUNDS;
		char crash_at[64] = "", where[96];
		if (fault) {
			unsigned n = 1 + rnd(2);
			if (strncmp(points[round - ROUNDS], "journal", 7) == 0) {
				n = 2 + rnd(4);
			}
			snprintf(crash_at, sizeof(crash_at), "%s:%u", points[round - ROUNDS], n);
			snprintf(where, sizeof(where), "round %zu (SIGNER_CRASH_AT=%s)", round + 1,
			         crash_at);
		} else {
			snprintf(where, sizeof(where), "round %zu (kill -9)", round + 1);
		}
		/* The daemon restarted by the last round's checks goes on serving,
		 * unless this round needs another environment. */
		if (env.pid != 0 && fault) {
			int rc = daemon_env_stop(&env);
			CHECK(rc == 0, "%s: signerd exited %d on SIGTERM", where, rc);
		}
		if (env.pid == 0 && daemon_env_start(&env, fault ? crash_at : NULL, 60) != 0) {
			die("%s: signerd does not start", where);
		}
		if (dclient_connect(env.sock, 30000, &c) != 0) {
			die("%s: connect", where);
		}
		killer_t k = {.delay_ms = 50 + rnd(1451)};
		atomic_init(&k.stop, false);
		pthread_t kt;
		if (!fault) {
			pthread_create(&kt, NULL, killer_main, &k);
		}
		round_stats_t rs = {0};
		uint32_t in_before = acked_in;
		workload(c, fault ? 30000 : 5000, fault ? 5 : -1, &rs, where);
		atomic_store(&k.stop, true);
		if (!fault) {
			pthread_join(kt, NULL);
		}
		dclient_free(c);
		int status = daemon_env_wait(&env, 15000);
		if (fault) {
			CHECK(status == 86,
			      "%s: signerd exited %d, not 86 at the crash point (reached: %s)",
			      where, status, rs.died ? "the connection broke" : "no");
		} else {
			CHECK(status == 128 + 9, "%s: signerd exit status %d, not killed (137)",
			      where, status);
		}
		if (status < 0) {
			daemon_env_kill(&env);
		}
		printf("  %s: %u changes acknowledged (%u pushes), input serial %u -> %u, in "
		       "flight: %s\n",
		       where, rs.acked, rs.pushes, in_before, acked_in,
		       have_inflight ? "yes" : "no");
		total_acked += rs.acked;
		total_pushes += rs.pushes;
		if (daemon_env_start(&env, NULL, 60) != 0) {
			die("%s: signerd does not restart", where);
		}
		uint32_t before = acked_in;
		after_restart(where);
		kept_inflight += acked_in != before;
		if (failures > 20) {
			die("too many failures");
		}
	}
	int st = daemon_env_stop(&env);
	CHECK(st == 0, "signerd exited %d on SIGTERM", st);
	printf("test_daemon_crash: %zu rounds, %u changes acknowledged (%u pushes), the change in "
	       "flight applied after %u restarts, %zu serials seen; snapshots renewed: see log; "
	       "%.1f s, %d failures\n",
	       ROUNDS + npoints, total_acked, total_pushes, kept_inflight, nseen,
	       (daemon_env_now_ms() - t0) / 1000, failures);
	printf("  log: %u \"dropped\" (torn journal writes), %u \"emptied\" (journal of an older "
	       "snapshot)\n",
	       daemon_env_log_count(&env, "dropped"), daemon_env_log_count(&env, "emptied"));
	if (failures > 0) {
		daemon_env_log_tail(&env, 30);
	}
	daemon_env_cleanup(&env, false);
	return failures > 0;
}
