/*
 * test_daemon_concurrency: small zones are not stuck behind a large one.
 *
 * signerd with signing: passes: 2. A large zone (200,000 names, pushed as
 * text in chunks) is being signed for the first time when 8 clients, each
 * in its own thread, push their own small zone (10 records): each small
 * zone must be published within 2 s of its push (latencies printed), and
 * the large zone must publish correctly (its unsigned content equals what
 * was pushed). Then one client streams pipelined updates to the large zone
 * while the 8 others update their small zones: every change is answered OK,
 * every zone equals its model, and every zone verifies (ldns-verify-zone on
 * the fetched text).
 *
 *   test_daemon_concurrency SIGNERD SIGNER
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/daemon_env.h"
#include "tests/integration/dclient.h"

#define BIG "big.example."
/* Under a sanitizer every allocation is instrumented: a smaller big zone
 * still takes seconds to sign there, long enough for the small ones to
 * overlap it. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BIG_NAMES 20000
/* The 2 s bound of issue 4 is checked by the plain build; instrumented code
 * beside other tests is several times slower: this run looks for memory
 * errors in the same flow, with a looser bound. */
#define SMALL_LIMIT_MS 10000.0
#else
#define BIG_NAMES      200000
#define SMALL_LIMIT_MS 2000.0
#endif
#define SMALL         8
#define BIG_UPDATES   40
#define SMALL_UPDATES 25

static daemon_env_t env;
static atomic_int failures;

#define CHECK(...) DAEMON_ENV_CHECK(&failures, __VA_ARGS__)

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	static atomic_flag once = ATOMIC_FLAG_INIT;
	if (atomic_flag_test_and_set(&once)) {
		for (;;) {
			pause(); /* another thread is failing the test */
		}
	}
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	daemon_env_log_tail(&env, 30);
	daemon_env_cleanup(&env, false);
	exit(1);
}

static dclient_t *connect_or_die(void)
{
	dclient_t *c = NULL;
	if (dclient_connect(env.sock, 900000, &c) != 0) {
		die("cannot connect to %s", env.sock);
	}
	return c;
}

static bool dnssec_type(const char *t)
{
	return strcmp(t, "RRSIG") == 0 || strcmp(t, "NSEC") == 0 || strcmp(t, "NSEC3") == 0 ||
	       strcmp(t, "NSEC3PARAM") == 0 || strcmp(t, "DNSKEY") == 0 || strcmp(t, "SOA") == 0;
}

/* Compares the unsigned records (SOA left out: its serial is the signer's)
 * of a fetched zone with the model (sorted, without SOA). */
static void check_content(const dclient_lines_t *fetched, const dclient_lines_t *model,
                          const char *zone)
{
	dclient_lines_t u;
	dclient_lines_init(&u);
	for (size_t i = 0; i < fetched->n; i++) {
		char t[16];
		if (!dnssec_type(dclient_line_type(fetched->v[i], t, sizeof(t)))) {
			dclient_lines_add(&u, fetched->v[i]);
		}
	}
	dclient_lines_sort(&u);
	size_t d = dclient_lines_diff(model, &u, zone, 10);
	CHECK(d == 0, "zone %s: the fetched unsigned records differ from the model in %zu", zone,
	      d);
	dclient_lines_free(&u);
}

static void model_of(const char *zone, const char *text, dclient_lines_t *m)
{
	dclient_lines_init(m);
	dclient_lines_t all;
	dclient_lines_init(&all);
	if (dclient_canon_all(zone, text, &all) != 0) {
		die("the test's own zone text of %s does not parse", zone);
	}
	for (size_t i = 0; i < all.n; i++) {
		char t[16];
		if (!dnssec_type(dclient_line_type(all.v[i], t, sizeof(t)))) {
			dclient_lines_add(m, all.v[i]);
		}
	}
	dclient_lines_free(&all);
	dclient_lines_sort(m);
}

static void fetch_check_verify(dclient_t *c, const char *zone, const dclient_lines_t *model,
                               const char *name)
{
	dclient_fetch_t f;
	double t0 = daemon_env_now_ms();
	if (dclient_fetch(c, zone, false, 0, &f) != 0) {
		die("fetch %s: %s", zone, dclient_error(c));
	}
	CHECK(f.res.status == 0, "fetch %s answered %s: %s", zone,
	      dclient_status_name(f.res.status), f.res.message);
	double t1 = daemon_env_now_ms();
	check_content(&f.all, model, zone);
	if (daemon_env_verify(&env, zone, &f.all, false, name) != 0) {
		atomic_fetch_add(&failures, 1);
	}
	if (model->n > 1000) {
		printf("  %s: %zu records fetched in %.1f s, verified in %.1f s\n", zone, f.all.n,
		       (t1 - t0) / 1000, (daemon_env_now_ms() - t1) / 1000);
	}
	dclient_fetch_free(&f);
}

/* --- the small zones --- */

typedef struct {
	int k;
	char zone[64];
	double latency_ms;
	uint32_t in_serial;
	dclient_lines_t model;
	daemon_env_buf_t text;
	atomic_bool *go;
} small_t;

static void small_text(small_t *s)
{
	s->text.len = 0;
	daemon_env_buf_add(&s->text, "%s 3600 IN SOA ns1.%s hostmaster.%s 1 3600 900 604800 300\n",
	                   s->zone, s->zone, s->zone);
	daemon_env_buf_add(&s->text, "%s 3600 IN NS ns1.%s\n", s->zone, s->zone);
	daemon_env_buf_add(&s->text, "ns1.%s 3600 IN A 192.0.2.1\n", s->zone);
	for (int i = 0; i < 7; i++) {
		daemon_env_buf_add(&s->text, "w%d.%s 3600 IN A 10.%d.0.%d\n", i, s->zone, s->k,
		                   i + 1);
	}
	model_of(s->zone, s->text.s, &s->model);
	s->in_serial = 1;
}

static void *small_push(void *arg)
{
	small_t *s = arg;
	dclient_t *c = connect_or_die();
	while (!atomic_load(s->go)) {
		usleep(1000);
	}
	dclient_result_t r;
	double t0 = daemon_env_now_ms();
	if (dclient_push_text(c, s->zone, s->text.s, 0, &r) != 0) {
		die("push %s: %s", s->zone, dclient_error(c));
	}
	s->latency_ms = daemon_env_now_ms() - t0;
	CHECK(r.status == 0, "push %s answered %s: %s", s->zone, dclient_status_name(r.status),
	      r.message);
	dclient_free(c);
	return NULL;
}

static void *small_updates(void *arg)
{
	small_t *s = arg;
	dclient_t *c = connect_or_die();
	char add[256], rem[256];
	for (int i = 0; i < SMALL_UPDATES; i++) {
		dclient_result_t r;
		snprintf(add, sizeof(add), "u%d.%s 300 IN TXT \"update %d\"\n", i, s->zone, i);
		rem[0] = '\0';
		if (i > 0 && i % 3 == 0) {
			snprintf(rem, sizeof(rem), "u%d.%s 300 IN TXT \"update %d\"\n", i - 1,
			         s->zone, i - 1);
		}
		if (dclient_update_text(c, s->zone, s->in_serial, s->in_serial + 1, rem, add, &r) !=
		    0) {
			die("update %s: %s", s->zone, dclient_error(c));
		}
		CHECK(r.status == 0, "update %d of %s answered %s: %s", i, s->zone,
		      dclient_status_name(r.status), r.message);
		if (r.status != 0) {
			break;
		}
		s->in_serial++;
		daemon_env_buf_add(&s->text, "%s", add);
		if (rem[0] != '\0') {
			/* Drop the removed line from the text model. */
			char *p = strstr(s->text.s, rem);
			if (p != NULL) {
				size_t l = strlen(rem);
				memmove(p, p + l, strlen(p + l) + 1);
				s->text.len -= l;
			}
		}
	}
	dclient_lines_free(&s->model);
	model_of(s->zone, s->text.s, &s->model);
	dclient_free(c);
	return NULL;
}

/* --- the large zone --- */

typedef struct {
	const char *text;
	dclient_result_t r;
	double ms;
} big_push_t;

static void *big_push(void *arg)
{
	big_push_t *b = arg;
	dclient_t *c = connect_or_die();
	double t0 = daemon_env_now_ms();
	if (dclient_push_text(c, BIG, b->text, 128 * 1024, &b->r) != 0) {
		die("push %s: %s", BIG, dclient_error(c));
	}
	b->ms = daemon_env_now_ms() - t0;
	dclient_free(c);
	return NULL;
}

typedef struct {
	uint32_t in_serial;
	daemon_env_buf_t added; /* lines added by the updates */
	int ok;
} big_upd_t;

static void *big_updates(void *arg)
{
	big_upd_t *b = arg;
	dclient_t *c = connect_or_die();
	uint64_t ids[BIG_UPDATES];
	char add[512];
	/* Pipelined: every update sent before any answer is read. */
	for (int i = 0; i < BIG_UPDATES; i++) {
		snprintf(add, sizeof(add),
		         "new%d.%s 3600 IN A 10.250.0.%d\nnew%d.%s 3600 IN TXT \"%d\"\n", i, BIG,
		         i + 1, i, BIG, i);
		if (dclient_update_send(c, BIG, b->in_serial + (uint32_t)i,
		                        b->in_serial + (uint32_t)i + 1, NULL, add, &ids[i]) != 0) {
			die("update %d of %s: %s", i, BIG, dclient_error(c));
		}
		daemon_env_buf_add(&b->added, "%s", add);
	}
	for (int i = 0; i < BIG_UPDATES; i++) {
		dclient_result_t r;
		if (dclient_recv_result(c, ids[i], &r) != 0) {
			die("answer %d of %s: %s", i, BIG, dclient_error(c));
		}
		CHECK(r.status == 0, "pipelined update %d of %s answered %s: %s", i, BIG,
		      dclient_status_name(r.status), r.message);
		b->ok += r.status == 0;
	}
	b->in_serial += BIG_UPDATES;
	dclient_free(c);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s SIGNERD SIGNER\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	double t0 = daemon_env_now_ms();
	if (daemon_env_init(&env, "dconc", argv[1], argv[2], "signing:\n  passes: 2\n") != 0 ||
	    daemon_env_keygen(&env, "ECDSAP256SHA256", "ksk") != 0 ||
	    daemon_env_keygen(&env, "ECDSAP256SHA256", "zsk") != 0 ||
	    daemon_env_start(&env, NULL, 60) != 0) {
		daemon_env_cleanup(&env, false);
		return 1;
	}
	dclient_t *cl = connect_or_die();
	dclient_result_t r;
	small_t small[SMALL];
	atomic_bool go = false;
	memset(small, 0, sizeof(small));
	for (int k = 0; k < SMALL; k++) {
		small[k].k = k;
		small[k].go = &go;
		snprintf(small[k].zone, sizeof(small[k].zone), "small%d.example.", k);
		small_text(&small[k]);
	}
	const char *zones[SMALL + 1];
	zones[0] = BIG;
	for (int k = 0; k < SMALL; k++) {
		zones[k + 1] = small[k].zone;
	}
	for (int k = 0; k <= SMALL; k++) {
		if (dclient_zone_add(cl, zones[k], "ksk", "zsk", false, &r) != 0 || r.status != 0) {
			die("zone add %s: %s %s", zones[k], dclient_status_name(r.status),
			    r.message);
		}
	}

	daemon_env_buf_t big = {0};
	daemon_env_buf_add(&big, "%s 3600 IN SOA ns1.%s hostmaster.%s 1 3600 900 604800 300\n", BIG,
	                   BIG, BIG);
	daemon_env_buf_add(&big, "%s 3600 IN NS ns1.%s\nns1.%s 3600 IN A 192.0.2.1\n", BIG, BIG,
	                   BIG);
	for (unsigned i = 0; i < BIG_NAMES; i++) {
		daemon_env_buf_add(&big, "h%u.%s 3600 IN A 10.%u.%u.%u\n", i, BIG, i >> 16,
		                   (i >> 8) & 255, i & 255);
	}
	dclient_lines_t big_model;
	model_of(BIG, big.s, &big_model);
	printf("== large zone: %zu records of text (%.1f MB)\n", big_model.n, big.len / 1e6);

	/* The large push; the small ones once its signing has begun. */
	big_push_t bp = {.text = big.s};
	pthread_t bt;
	pthread_create(&bt, NULL, big_push, &bp);
	pthread_t st[SMALL];
	for (int k = 0; k < SMALL; k++) {
		pthread_create(&st[k], NULL, small_push, &small[k]);
	}
	double tw = daemon_env_now_ms();
	dclient_status_t zs;
	for (;;) {
		if (dclient_status(cl, BIG, &zs) != 0) {
			die("status: %s", dclient_error(cl));
		}
		if (zs.signing || zs.published || daemon_env_now_ms() - tw > 300000) {
			break;
		}
		usleep(20000);
	}
	CHECK(zs.signing && !zs.published,
	      "the large zone is not being signed (signing %d, published %d) when the small "
	      "zones are pushed",
	      zs.signing, zs.published);
	printf("== large zone signing after %.1f s; 8 small pushes start\n",
	       (daemon_env_now_ms() - tw) / 1000);
	atomic_store(&go, true);
	for (int k = 0; k < SMALL; k++) {
		pthread_join(st[k], NULL);
	}
	if (dclient_status(cl, BIG, &zs) != 0) {
		die("status: %s", dclient_error(cl));
	}
	CHECK(!zs.published, "the large zone was published before the small zones: the overlap "
	                     "this test is about did not happen");
	printf("== small zones published; latencies (ms):");
	for (int k = 0; k < SMALL; k++) {
		printf(" %.0f", small[k].latency_ms);
	}
	printf("; large zone still signing: %s\n", zs.signing ? "yes" : "no");
	for (int k = 0; k < SMALL; k++) {
		CHECK(small[k].latency_ms <= SMALL_LIMIT_MS,
		      "small zone %s published %.0f ms after its push (limit %.0f ms)",
		      small[k].zone, small[k].latency_ms, SMALL_LIMIT_MS);
	}
	pthread_join(bt, NULL);
	CHECK(bp.r.status == 0, "the large push answered %s: %s", dclient_status_name(bp.r.status),
	      bp.r.message);
	if (bp.r.status != 0) {
		die("no large zone");
	}
	printf("== large zone published serial %u, %.1f s after its push began\n", bp.r.serial,
	       bp.ms / 1000);
	fetch_check_verify(cl, BIG, &big_model, "big1");
	for (int k = 0; k < SMALL; k++) {
		fetch_check_verify(cl, small[k].zone, &small[k].model, small[k].zone);
	}

	/* Updates: one client streams into the large zone, 8 into theirs. */
	double tu = daemon_env_now_ms();
	big_upd_t bu = {.in_serial = 1};
	pthread_create(&bt, NULL, big_updates, &bu);
	for (int k = 0; k < SMALL; k++) {
		pthread_create(&st[k], NULL, small_updates, &small[k]);
	}
	pthread_join(bt, NULL);
	for (int k = 0; k < SMALL; k++) {
		pthread_join(st[k], NULL);
	}
	printf("== %d pipelined updates of the large zone (%d OK) and %d x %d small updates in "
	       "%.1f s\n",
	       BIG_UPDATES, bu.ok, SMALL, SMALL_UPDATES, (daemon_env_now_ms() - tu) / 1000);
	dclient_lines_t more;
	dclient_lines_init(&more);
	if (dclient_canon_all(BIG, bu.added.s, &more) != 0) {
		die("the test's own update text does not parse");
	}
	for (size_t i = 0; i < more.n; i++) {
		dclient_lines_add(&big_model, more.v[i]);
	}
	dclient_lines_sort(&big_model);
	dclient_lines_free(&more);
	fetch_check_verify(cl, BIG, &big_model, "big2");
	for (int k = 0; k < SMALL; k++) {
		fetch_check_verify(cl, small[k].zone, &small[k].model, small[k].zone);
	}
	dclient_free(cl);
	int rc = daemon_env_stop(&env);
	CHECK(rc == 0, "signerd exited %d on SIGTERM", rc);
	int nf = atomic_load(&failures);
	printf("test_daemon_concurrency: %.1f s in all, %d failures\n",
	       (daemon_env_now_ms() - t0) / 1000, nf);
	if (nf > 0) {
		daemon_env_log_tail(&env, 30);
	}
	daemon_env_cleanup(&env, false);
	for (int k = 0; k < SMALL; k++) {
		dclient_lines_free(&small[k].model);
		daemon_env_buf_free(&small[k].text);
	}
	dclient_lines_free(&big_model);
	daemon_env_buf_free(&big);
	daemon_env_buf_free(&bu.added);
	return nf > 0;
}
