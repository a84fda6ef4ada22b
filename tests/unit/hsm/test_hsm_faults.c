/*
 * test_hsm_faults: the hsm library's recovery meeting a failing token, through
 * the fault-injecting module (libp11fault.so) over SoftHSM.
 *
 * main creates one SoftHSM token, points P11FAULT_MODULE at SoftHSM and binds
 * the module's control functions (the library under test dlopens the same
 * path, so both share the module's knobs and counters). Every test resets the
 * module first, makes its own context through the fault module, generates its
 * own ECDSAP256SHA256 token key (SoftHSM destroys session keys at logout) and
 * frees the context at the end, so no test depends on another's order.
 *
 * Threading: signing workers are pthreads with one leased session each; they
 * only record results, and the main thread makes every CUnit assertion.
 */
#include "tests/support/p11fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsm/hsm_ctx.h"
#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_key.h"
#include "hsm/hsm_session.h"
#include "hsm/hsm_sign.h"
#include "hsm/hsm_token.h"
#include "hsm/hsm_verify.h"
#include "tests/support/testutil.h"
#include "tests/support/testutil_hsm.h"

#define TOKEN_LABEL "faults"
#define MAX_WORKERS 8
#define WAIT_MAX_MS 30000 /* longest the main thread waits for workers' progress */

static p11fault_api_t pf;        /* control functions of the loaded fault module */
static const char *fault_module; /* its path, for the contexts */

/* One test's context (one token "main" through the fault module), its key and
 * the key's public half for host-side verification. */
typedef struct {
	hsm_ctx_t *ctx;
	hsm_token_t *token;
	hsm_key_t key;
	hsm_verify_key_t *vk;
} fixture_t;

/* Steering of workers that sign until stopped (all fields atomic: written by
 * the main thread, read by the workers, and the other way for parked). */
typedef struct {
	atomic_bool stop;          /* workers return */
	atomic_bool hold;          /* workers park between two calls */
	atomic_size_t parked;      /* workers parked now */
	_Atomic uint64_t after;    /* count calls begun at or after it (ms); 0: none yet */
	_Atomic uint64_t vanished; /* when the token vanished (ms); 0: not yet */
	_Atomic uint64_t resumed;  /* end of the first good call begun after that (ms) */
} control_t;

/* A signing thread: signs distinct messages in its own session and verifies
 * each signature on the host. Inputs are set before the thread starts; the
 * results are read after it is joined (ok and after also while it runs). */
typedef struct {
	fixture_t *fx;
	unsigned id;
	size_t target;            /* signatures to try; 0: until ctl->stop */
	control_t *ctl;           /* NULL when target > 0 */
	pthread_barrier_t *start; /* all workers start signing together */

	int acquire;         /* status of hsm_session_acquire */
	atomic_size_t ok;    /* hsm_sign returned HSM_OK */
	atomic_size_t after; /* of those, begun at or after ctl->after */
	size_t failed;       /* hsm_sign returned anything else */
	size_t verified;     /* signatures that verify */
	int first_error;     /* first failing status, HSM_OK if none */
	hsm_detail_t detail; /* its detail */
	uint64_t longest_ms; /* longest single hsm_sign call (relative, ms) */
	pthread_t thread;
} worker_t;

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
	                      .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* Message i of worker id: distinct for every (id, i). */
static size_t message(unsigned id, size_t i, uint8_t *buf, size_t cap)
{
	int n = snprintf((char *)buf, cap,
	                 "worker %u message %zu: www.example.com. 3600 IN A 192.0.2.%zu", id, i,
	                 i % 256);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Prints a token's counters (for the log of a failing run). */
static void print_stats(const char *test, hsm_token_t *token)
{
	hsm_token_stats_t st;
	hsm_token_stats(token, &st);
	char buf[256];
	fprintf(stderr,
	        "\n  %s: retries=%llu reopens=%llu relogins=%llu reconnects=%llu failures=%llu "
	        "faults=%ld C_Login=%ld C_Sign=%ld last=%s\n",
	        test, (unsigned long long)st.retries, (unsigned long long)st.reopens,
	        (unsigned long long)st.relogins, (unsigned long long)st.reconnects,
	        (unsigned long long)st.failures, pf.count("faults"), pf.count("C_Login"),
	        pf.count("C_Sign"),
	        hsm_detail_format(st.last_status, &st.last_detail, buf, sizeof(buf)));
}

static void fixture_free(fixture_t *fx)
{
	hsm_verify_key_free(fx->vk);
	hsm_ctx_free(fx->ctx);
	memset(fx, 0, sizeof(*fx));
}

/* Resets the fault module, then makes a context through it (budget_ms 0: the
 * default), an ECDSAP256SHA256 token key labelled label and its verification
 * key. Returns false (with the failure asserted) if any step fails. */
static bool fixture_init(fixture_t *fx, const char *label, unsigned budget_ms)
{
	memset(fx, 0, sizeof(*fx));
	pf.reset();
	fx->ctx = testutil_hsm_ctx(TOKEN_LABEL, fault_module, budget_ms);
	fx->token = hsm_ctx_token(fx->ctx, "main");
	CU_ASSERT_PTR_NOT_NULL(fx->token);
	if (fx->token == NULL) {
		return false;
	}
	const hsm_alg_t *alg = hsm_alg_by_number(HSM_ALG_ECDSAP256SHA256);
	hsm_detail_t d = {0};
	int ret = hsm_key_generate(fx->token, alg, 0, label, &fx->key, &d);
	CU_ASSERT_EQUAL(ret, HSM_OK);
	if (ret != HSM_OK) {
		return false;
	}
	uint8_t pub[HSM_DNSKEY_PUBKEY_MAX];
	size_t pub_len = 0;
	ret = hsm_key_dnskey_pubkey(&fx->key, alg, pub, sizeof(pub), &pub_len, &d);
	CU_ASSERT_EQUAL(ret, HSM_OK);
	if (ret == HSM_OK) {
		ret = hsm_verify_key_new(alg->number, pub, pub_len, &fx->vk);
		CU_ASSERT_EQUAL(ret, HSM_OK);
	}
	return ret == HSM_OK;
}

/* Signs one message in s and verifies it; true if both succeeded. */
static bool sign_and_verify(fixture_t *fx, hsm_session_t *s, unsigned id, size_t i, int *status,
                            hsm_detail_t *detail)
{
	uint8_t data[128], sig[HSM_SIG_MAX];
	size_t len = message(id, i, data, sizeof(data));
	size_t sig_len = 0;
	*status = hsm_sign(s, &fx->key, NULL, data, len, sig, sizeof(sig), &sig_len, detail);
	return *status == HSM_OK && hsm_verify_sig(fx->vk, data, len, sig, sig_len) == HSM_OK;
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	char name[16];
	snprintf(name, sizeof(name), "fault/%u", w->id);
	pthread_setname_np(pthread_self(), name);

	hsm_session_t *s = NULL;
	hsm_detail_t d = {0};
	w->acquire = hsm_session_acquire(w->fx->token, &s, &d);
	if (w->start != NULL) {
		pthread_barrier_wait(w->start);
	}
	if (w->acquire != HSM_OK) {
		return NULL;
	}
	for (size_t i = 0; w->target > 0 ? i < w->target : !atomic_load(&w->ctl->stop); i++) {
		if (w->ctl != NULL && atomic_load(&w->ctl->hold)) {
			atomic_fetch_add(&w->ctl->parked, 1);
			while (atomic_load(&w->ctl->hold)) {
				sleep_ms(1);
			}
			atomic_fetch_sub(&w->ctl->parked, 1);
		}
		uint64_t t0 = hsm_token_now_ms();
		int ret = HSM_OK;
		memset(&d, 0, sizeof(d));
		bool good = sign_and_verify(w->fx, s, w->id, i, &ret, &d);
		uint64_t took = hsm_token_now_ms() - t0;
		w->longest_ms = took > w->longest_ms ? took : w->longest_ms;
		if (ret != HSM_OK) {
			if (w->failed++ == 0) {
				w->first_error = ret;
				w->detail = d;
			}
			continue;
		}
		if (good) {
			w->verified++;
		}
		if (w->ctl != NULL) {
			uint64_t after = atomic_load(&w->ctl->after);
			if (after != 0 && t0 >= after) {
				atomic_fetch_add(&w->after, 1);
			}
			uint64_t vanished = atomic_load(&w->ctl->vanished);
			uint64_t none = 0;
			if (vanished != 0 && t0 >= vanished) {
				atomic_compare_exchange_strong(&w->ctl->resumed, &none, t0 + took);
			}
		}
		atomic_fetch_add(&w->ok, 1);
	}
	hsm_session_release(s);
	return NULL;
}

/* Starts n workers on fx, each trying target signatures (0: until ctl->stop),
 * released together by barrier (initialised here for n). */
static void workers_start(worker_t *w, size_t n, fixture_t *fx, size_t target, control_t *ctl,
                          pthread_barrier_t *barrier)
{
	pthread_barrier_init(barrier, NULL, (unsigned)n);
	for (size_t i = 0; i < n; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].fx = fx;
		w[i].id = (unsigned)i;
		w[i].target = target;
		w[i].ctl = ctl;
		w[i].start = barrier;
		w[i].acquire = HSM_ERR_INVAL;
		atomic_init(&w[i].ok, 0);
		atomic_init(&w[i].after, 0);
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
			/* The barrier would never open: a broken machine, not a
			 * finding. */
			fprintf(stderr, "pthread_create failed\n");
			abort();
		}
	}
}

static void workers_join(worker_t *w, size_t n, pthread_barrier_t *barrier)
{
	for (size_t i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
	}
	pthread_barrier_destroy(barrier);
}

/* Totals over the workers, and the per-worker acquire and error checks. */
typedef struct {
	size_t ok, failed, verified, after;
} totals_t;

static totals_t workers_check(const worker_t *w, size_t n)
{
	totals_t t = {0};
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(w[i].acquire, HSM_OK);
		CU_ASSERT_EQUAL(w[i].failed, 0);
		if (w[i].failed != 0) {
			char buf[256];
			fprintf(stderr, "\n  worker %zu: %zu failed, first: %s (%s)\n", i,
			        w[i].failed, hsm_strerror(w[i].first_error),
			        hsm_detail_format(w[i].first_error, &w[i].detail, buf,
			                          sizeof(buf)));
		}
		t.ok += atomic_load(&w[i].ok);
		t.failed += w[i].failed;
		t.verified += w[i].verified;
		t.after += atomic_load(&w[i].after);
	}
	return t;
}

/* Runs n workers of target signatures each to the end; returns the totals. */
static totals_t workers_run(fixture_t *fx, size_t n, size_t target)
{
	worker_t w[MAX_WORKERS];
	pthread_barrier_t barrier;
	workers_start(w, n, fx, target, NULL, &barrier);
	workers_join(w, n, &barrier);
	return workers_check(w, n);
}

static size_t workers_ok(worker_t *w, size_t n)
{
	size_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		sum += atomic_load(&w[i].ok);
	}
	return sum;
}

static size_t workers_after(worker_t *w, size_t n)
{
	size_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		sum += atomic_load(&w[i].after);
	}
	return sum;
}

/* 2 threads, 10,000 signatures, every 100th C_Sign fails with
 * CKR_DEVICE_ERROR: each failure reopens the session and signs again. */
static void test_hsm_faults_one_in_100_signatures_fail(void)
{
	enum { THREADS = 2, TOTAL = 10000, EVERY = 100 };
	fixture_t fx;
	if (!fixture_init(&fx, "faults-one-in-100", 0)) {
		fixture_free(&fx);
		return;
	}
	long sign_before = pf.count("C_Sign");
	pf.set("sign_fail_every", EVERY);
	totals_t t = workers_run(&fx, THREADS, TOTAL / THREADS);
	long faults = pf.count("faults");
	long signs = pf.count("C_Sign") - sign_before;
	print_stats("one_in_100", fx.token);

	CU_ASSERT_EQUAL(t.failed, 0);
	CU_ASSERT_EQUAL(t.ok, TOTAL);
	CU_ASSERT_EQUAL(t.verified, TOTAL);
	/* Every 100th C_Sign failed and each failure cost exactly one more
	 * C_Sign: 10,101 calls, 101 faults. */
	CU_ASSERT(faults >= TOTAL / EVERY && faults <= TOTAL / EVERY + 1);
	CU_ASSERT_EQUAL(signs, TOTAL + faults);
	CU_ASSERT_EQUAL(faults, signs / EVERY);
	hsm_token_stats_t st;
	hsm_token_stats(fx.token, &st);
	CU_ASSERT(st.reopens >= TOTAL / EVERY);
	CU_ASSERT(st.retries >= TOTAL / EVERY);
	CU_ASSERT_EQUAL(st.failures, 0);
	CU_ASSERT_EQUAL(st.relogins, 0);
	CU_ASSERT_EQUAL(st.reconnects, 0);
	fixture_free(&fx);
}

/* Waits (up to WAIT_MAX_MS more) until count(w, n) reaches at least goal;
 * returns the last count. */
static size_t wait_for(size_t (*count)(worker_t *, size_t), worker_t *w, size_t n, size_t goal)
{
	uint64_t deadline = hsm_token_now_ms() + WAIT_MAX_MS;
	size_t c;
	while ((c = count(w, n)) < goal && hsm_token_now_ms() < deadline) {
		sleep_ms(2);
	}
	return c;
}

static size_t workers_parked(worker_t *w, size_t n)
{
	(void)n;
	return atomic_load(&w[0].ctl->parked);
}

/* 2 workers sign continuously; the token vanishes for 2 s. Every call ends
 * in HSM_OK: the workers pause while one thread finds the token again. */
static void test_hsm_faults_token_vanishes_for_2s_and_is_found_again(void)
{
	enum { THREADS = 2, BEFORE = 200, AFTER = 200, VANISH_MS = 2000 };
	fixture_t fx;
	if (!fixture_init(&fx, "faults-vanish", 0)) {
		fixture_free(&fx);
		return;
	}
	worker_t w[THREADS];
	pthread_barrier_t barrier;
	control_t ctl;
	atomic_init(&ctl.stop, false);
	atomic_init(&ctl.hold, false);
	atomic_init(&ctl.parked, 0);
	atomic_init(&ctl.after, 0);
	atomic_init(&ctl.vanished, 0);
	atomic_init(&ctl.resumed, 0);
	workers_start(w, THREADS, &fx, 0, &ctl, &barrier);
	size_t ok_before = wait_for(workers_ok, w, THREADS, BEFORE);

	/* The vanish begins while the workers are between two calls, and their
	 * next calls all meet the vanished token. (p11fault closes the real
	 * sessions when the vanish begins; SoftHSM frees a session under a
	 * thread still inside a call on it, which crashed in C_Sign.) */
	atomic_store(&ctl.hold, true);
	size_t parked = wait_for(workers_parked, w, THREADS, THREADS);
	long logins_before = pf.count("C_Login");
	uint64_t t0 = hsm_token_now_ms();
	atomic_store(&ctl.vanished, t0);
	pf.vanish(VANISH_MS);
	/* It ends VANISH_MS after it began: calls begun after this find the
	 * token back. */
	atomic_store(&ctl.after, hsm_token_now_ms() + VANISH_MS);
	atomic_store(&ctl.hold, false);
	sleep_ms(VANISH_MS);
	size_t after = wait_for(workers_after, w, THREADS, AFTER);
	atomic_store(&ctl.stop, true);
	workers_join(w, THREADS, &barrier);
	uint64_t resumed = atomic_load(&ctl.resumed);
	totals_t t = workers_check(w, THREADS);
	print_stats("vanish", fx.token);

	CU_ASSERT(ok_before >= BEFORE);
	CU_ASSERT_EQUAL(parked, THREADS);
	CU_ASSERT(after >= AFTER);
	CU_ASSERT_EQUAL(t.failed, 0);
	CU_ASSERT_EQUAL(t.verified, t.ok);
	CU_ASSERT(pf.count("faults") >= THREADS);
	for (size_t i = 0; i < THREADS; i++) {
		/* Each worker had a call that waited for the token to return. */
		CU_ASSERT(w[i].longest_ms >= VANISH_MS * 3 / 4);
	}
	/* No call begun after the vanish began ended well before the token
	 * was back. */
	CU_ASSERT(resumed >= t0 + VANISH_MS);
	hsm_token_stats_t st;
	hsm_token_stats(fx.token, &st);
	CU_ASSERT_EQUAL(st.reconnects, 1);
	CU_ASSERT_EQUAL(st.relogins, 0);
	CU_ASSERT_EQUAL(st.failures, 0);
	CU_ASSERT_EQUAL(st.state, HSM_TOKEN_UP);
	/* One thread logged in again, for both. */
	CU_ASSERT_EQUAL(pf.count("C_Login") - logins_before, 1);
	fixture_free(&fx);
}

/* Every 50th C_Sign logs the token out: one C_Login per loss, whichever of
 * the 2 threads notices. */
static void test_hsm_faults_lost_login_recovers(void)
{
	enum { THREADS = 2, TOTAL = 400, EVERY = 50 };
	fixture_t fx;
	if (!fixture_init(&fx, "faults-lost-login", 0)) {
		fixture_free(&fx);
		return;
	}
	long logins_before = pf.count("C_Login");
	pf.set("logout_every", EVERY);
	totals_t t = workers_run(&fx, THREADS, TOTAL / THREADS);
	long losses = pf.count("faults");
	long logins = pf.count("C_Login") - logins_before;
	print_stats("lost_login", fx.token);

	CU_ASSERT_EQUAL(logins_before, 1); /* the first connect */
	CU_ASSERT_EQUAL(t.failed, 0);
	CU_ASSERT_EQUAL(t.ok, TOTAL);
	CU_ASSERT_EQUAL(t.verified, TOTAL);
	CU_ASSERT(losses >= TOTAL / EVERY);
	hsm_token_stats_t st;
	hsm_token_stats(fx.token, &st);
	CU_ASSERT(st.relogins >= 1);
	CU_ASSERT_EQUAL(logins, (long)st.relogins);
	CU_ASSERT_EQUAL((long)st.relogins, losses);
	CU_ASSERT_EQUAL(st.reconnects, 0);
	CU_ASSERT_EQUAL(st.failures, 0);
	fixture_free(&fx);
}

/* Every 20th C_SignInit invalidates all object handles: the key is found
 * again by CKA_ID. */
static void test_hsm_faults_invalid_key_handles_recover(void)
{
	enum { THREADS = 2, TOTAL = 600, EVERY = 20 };
	fixture_t fx;
	if (!fixture_init(&fx, "faults-key-handles", 0)) {
		fixture_free(&fx);
		return;
	}
	long finds_before = pf.count("C_FindObjectsInit");
	pf.set("key_invalid_every", EVERY);
	totals_t t = workers_run(&fx, THREADS, TOTAL / THREADS);
	long faults = pf.count("faults");
	long finds = pf.count("C_FindObjectsInit") - finds_before;
	print_stats("key_handles", fx.token);

	CU_ASSERT_EQUAL(t.failed, 0);
	CU_ASSERT_EQUAL(t.ok, TOTAL);
	CU_ASSERT_EQUAL(t.verified, TOTAL);
	CU_ASSERT(faults >= TOTAL / EVERY);
	/* Handles are cached: looked up once per session, then once per
	 * invalidation seen (at most by each thread). */
	CU_ASSERT(finds >= faults);
	CU_ASSERT(finds <= THREADS * (faults + 1));
	hsm_token_stats_t st;
	hsm_token_stats(fx.token, &st);
	CU_ASSERT(st.retries >= (uint64_t)faults);
	CU_ASSERT_EQUAL(st.failures, 0);
	fixture_free(&fx);
}

/* Every 30th C_Sign closes its session: the session is reopened; the anchor
 * session keeps the token logged in. */
static void test_hsm_faults_session_invalidated_recovers(void)
{
	enum { THREADS = 2, TOTAL = 600, EVERY = 30 };
	fixture_t fx;
	if (!fixture_init(&fx, "faults-sessions", 0)) {
		fixture_free(&fx);
		return;
	}
	long sign_before = pf.count("C_Sign");
	long logins_before = pf.count("C_Login");
	pf.set("session_invalid_every", EVERY);
	totals_t t = workers_run(&fx, THREADS, TOTAL / THREADS);
	long faults = pf.count("faults");
	long signs = pf.count("C_Sign") - sign_before;
	print_stats("sessions", fx.token);

	CU_ASSERT_EQUAL(t.failed, 0);
	CU_ASSERT_EQUAL(t.ok, TOTAL);
	CU_ASSERT_EQUAL(t.verified, TOTAL);
	CU_ASSERT(faults >= TOTAL / EVERY);
	CU_ASSERT_EQUAL(signs, TOTAL + faults);
	hsm_token_stats_t st;
	hsm_token_stats(fx.token, &st);
	CU_ASSERT(st.reopens >= (uint64_t)faults);
	CU_ASSERT_EQUAL(st.relogins, 0);
	CU_ASSERT_EQUAL(pf.count("C_Login"), logins_before);
	CU_ASSERT_EQUAL(st.failures, 0);
	fixture_free(&fx);
}

/* A context on the fault module whose PIN file holds pin. */
static hsm_ctx_t *ctx_with_pin(const char *pin)
{
	char uri[64];
	snprintf(uri, sizeof(uri), "pkcs11:token=%s", TOKEN_LABEL);
	hsm_token_config_t c = {
	        .name = "main",
	        .module = fault_module,
	        .uri = uri,
	        .pin_file = testutil_pin_file("pin-faults", pin),
	};
	hsm_ctx_t *ctx = NULL;
	hsm_detail_t d = {0};
	CU_ASSERT_EQUAL(hsm_ctx_new(&c, 1, &ctx, &d), HSM_OK);
	return ctx;
}

/* A fresh context with the right PIN connects and lists keys. */
static void assert_right_pin_works(void)
{
	hsm_ctx_t *ctx = ctx_with_pin("1234");
	if (ctx == NULL) {
		return;
	}
	hsm_token_t *token = hsm_ctx_token(ctx, "main");
	hsm_detail_t d = {0};
	CU_ASSERT_EQUAL(hsm_token_connect(token, &d), HSM_OK);
	hsm_key_t *keys = NULL;
	size_t n = 0;
	CU_ASSERT_EQUAL(hsm_key_list(token, &keys, &n, &d), HSM_OK);
	free(keys);
	hsm_ctx_free(ctx);
}

/* A wrong PIN is tried once: later calls report it without a C_Login (one
 * wrong attempt only, so SoftHSM's real PIN is never at risk). */
static void test_hsm_faults_wrong_pin_tried_once(void)
{
	pf.reset();
	hsm_ctx_t *ctx = ctx_with_pin("0000");
	if (ctx == NULL) {
		return;
	}
	hsm_token_t *token = hsm_ctx_token(ctx, "main");
	hsm_detail_t d = {0};
	CU_ASSERT_EQUAL(hsm_token_connect(token, &d), HSM_ERR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(d.rv, CKR_PIN_INCORRECT);
	CU_ASSERT_PTR_NOT_NULL(d.func);
	if (d.func != NULL) {
		CU_ASSERT_STRING_EQUAL(d.func, "C_Login");
	}
	memset(&d, 0, sizeof(d));
	CU_ASSERT_EQUAL(hsm_token_connect(token, &d), HSM_ERR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(d.rv, CKR_PIN_INCORRECT);
	hsm_key_t *keys = NULL;
	size_t n = 0;
	CU_ASSERT_EQUAL(hsm_key_list(token, &keys, &n, &d), HSM_ERR_PIN_INCORRECT);
	CU_ASSERT_PTR_NULL(keys);
	hsm_session_t *s = NULL;
	CU_ASSERT_EQUAL(hsm_session_acquire(token, &s, &d), HSM_ERR_PIN_INCORRECT);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(pf.count("C_Login"), 1);
	hsm_token_stats_t st;
	hsm_token_stats(token, &st);
	CU_ASSERT_NOT_EQUAL(st.state, HSM_TOKEN_UP);
	hsm_ctx_free(ctx);

	assert_right_pin_works();
	CU_ASSERT_EQUAL(pf.count("C_Login"), 2);
}

/* CKR_PIN_LOCKED at the first login, and at a re-login after a lost login,
 * is reported and never retried. */
static void test_hsm_faults_locked_pin_never_retried(void)
{
	pf.reset();
	pf.set("login_fail", (long)CKR_PIN_LOCKED);
	hsm_ctx_t *ctx = ctx_with_pin("1234");
	if (ctx == NULL) {
		return;
	}
	hsm_token_t *token = hsm_ctx_token(ctx, "main");
	hsm_detail_t d = {0};
	CU_ASSERT_EQUAL(hsm_token_connect(token, &d), HSM_ERR_PIN_LOCKED);
	CU_ASSERT_EQUAL(d.rv, CKR_PIN_LOCKED);
	CU_ASSERT_EQUAL(hsm_token_connect(token, &d), HSM_ERR_PIN_LOCKED);
	hsm_key_t *keys = NULL;
	size_t n = 0;
	CU_ASSERT_EQUAL(hsm_key_list(token, &keys, &n, &d), HSM_ERR_PIN_LOCKED);
	CU_ASSERT_EQUAL(pf.count("C_Login"), 1);
	hsm_ctx_free(ctx);

	/* Locked during a re-login: the signing call fails with the PIN
	 * error, and so does the next one, with one C_Login in all. */
	fixture_t fx;
	if (!fixture_init(&fx, "faults-pin-locked", 0)) {
		fixture_free(&fx);
		return;
	}
	hsm_session_t *s = NULL;
	int ret = hsm_session_acquire(fx.token, &s, &d);
	CU_ASSERT_EQUAL(ret, HSM_OK);
	if (ret != HSM_OK) {
		fixture_free(&fx);
		return;
	}
	CU_ASSERT(sign_and_verify(&fx, s, 0, 0, &ret, &d));
	long logins_before = pf.count("C_Login");
	pf.set("login_fail", (long)CKR_PIN_LOCKED);
	pf.set("logout_every", 1);
	sign_and_verify(&fx, s, 0, 1, &ret, &d);
	CU_ASSERT_EQUAL(ret, HSM_ERR_PIN_LOCKED);
	sign_and_verify(&fx, s, 0, 2, &ret, &d);
	CU_ASSERT_EQUAL(ret, HSM_ERR_PIN_LOCKED);
	CU_ASSERT_EQUAL(pf.count("C_Login") - logins_before, 1);
	hsm_token_stats_t st;
	hsm_token_stats(fx.token, &st);
	CU_ASSERT(st.failures >= 2);
	CU_ASSERT_EQUAL(st.last_status, HSM_ERR_PIN_LOCKED);
	hsm_session_release(s);
	fixture_free(&fx);

	pf.reset();
	assert_right_pin_works();
	CU_ASSERT_EQUAL(pf.count("C_Login"), 1);
}

/* C_GenerateKeyPair creates the pair but its reply is lost: the retry finds
 * the pair by CKA_ID instead of making a second one. */
static void test_hsm_faults_lost_keygen_reply_leaves_no_orphan(void)
{
	static const char label[] = "faults-lost-keygen";
	pf.reset();
	hsm_ctx_t *ctx = testutil_hsm_ctx(TOKEN_LABEL, fault_module, 0);
	hsm_token_t *token = hsm_ctx_token(ctx, "main");
	pf.set("generate_fail", 1);
	hsm_key_t key;
	hsm_detail_t d = {0};
	const hsm_alg_t *alg = hsm_alg_by_number(HSM_ALG_ECDSAP256SHA256);
	int ret = hsm_key_generate(token, alg, 0, label, &key, &d);
	CU_ASSERT_EQUAL(ret, HSM_OK);
	CU_ASSERT_EQUAL(pf.count("C_GenerateKeyPair"), 1);
	CU_ASSERT_EQUAL(pf.count("faults"), 1);

	hsm_key_t *keys = NULL;
	size_t n = 0, found = 0;
	CU_ASSERT_EQUAL(hsm_key_list(token, &keys, &n, &d), HSM_OK);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(keys[i].label, label) != 0) {
			continue;
		}
		found++;
		CU_ASSERT(keys[i].has_public);
		CU_ASSERT(keys[i].local);
		if (ret == HSM_OK) {
			CU_ASSERT_EQUAL(keys[i].id_len, key.id_len);
			CU_ASSERT(memcmp(keys[i].id, key.id, key.id_len) == 0);
		}
	}
	CU_ASSERT_EQUAL(found, 1);
	free(keys);

	/* The key found again is usable. */
	hsm_session_t *s = NULL;
	if (ret == HSM_OK) {
		CU_ASSERT_EQUAL(hsm_session_acquire(token, &s, &d), HSM_OK);
	}
	if (s != NULL) {
		static const uint8_t data[] = "lost keygen reply";
		uint8_t sig[HSM_SIG_MAX];
		size_t sig_len = 0;
		CU_ASSERT_EQUAL(
		        hsm_sign(s, &key, NULL, data, sizeof(data), sig, sizeof(sig), &sig_len, &d),
		        HSM_OK);
		CU_ASSERT_EQUAL(testutil_hsm_verify(&key, NULL, data, sizeof(data), sig, sig_len),
		                HSM_OK);
		hsm_session_release(s);
	}
	hsm_ctx_free(ctx);
}

/* With a 500 ms budget and the token gone for 5 s, signing fails soon with
 * HSM_ERR_BUDGET and the cause, then works again once the token is back. */
static void test_hsm_faults_budget_exhausted_reports_cause(void)
{
	enum { BUDGET_MS = 500, VANISH_MS = 5000 };
	fixture_t fx;
	if (!fixture_init(&fx, "faults-budget", BUDGET_MS)) {
		fixture_free(&fx);
		return;
	}
	hsm_session_t *s = NULL;
	hsm_detail_t d = {0};
	int ret = hsm_session_acquire(fx.token, &s, &d);
	CU_ASSERT_EQUAL(ret, HSM_OK);
	if (ret != HSM_OK) {
		fixture_free(&fx);
		return;
	}
	CU_ASSERT(sign_and_verify(&fx, s, 0, 0, &ret, &d));

	uint64_t t0 = hsm_token_now_ms();
	pf.vanish(VANISH_MS);
	memset(&d, 0, sizeof(d));
	sign_and_verify(&fx, s, 0, 1, &ret, &d);
	uint64_t took = hsm_token_now_ms() - t0;
	char buf[256];
	fprintf(stderr, "\n  budget: %s after %llu ms\n",
	        hsm_detail_format(ret, &d, buf, sizeof(buf)), (unsigned long long)took);
	CU_ASSERT_EQUAL(ret, HSM_ERR_BUDGET);
	CU_ASSERT(took >= BUDGET_MS / 2); /* it did retry */
	CU_ASSERT(took < 2000);
	CU_ASSERT(d.rv == CKR_DEVICE_REMOVED || d.rv == CKR_TOKEN_NOT_PRESENT ||
	          strstr(d.text, "no token") != NULL);
	hsm_token_stats_t st;
	hsm_token_stats(fx.token, &st);
	CU_ASSERT(st.failures >= 1);
	CU_ASSERT_EQUAL(st.last_status, HSM_ERR_BUDGET);
	CU_ASSERT_NOT_EQUAL(st.state, HSM_TOKEN_UP);

	/* Still gone: the next call tries again and fails the same way. */
	sign_and_verify(&fx, s, 0, 2, &ret, &d);
	CU_ASSERT_EQUAL(ret, HSM_ERR_BUDGET);

	uint64_t back = t0 + VANISH_MS + 100;
	uint64_t now = hsm_token_now_ms();
	if (now < back) {
		sleep_ms(back - now);
	}
	CU_ASSERT(sign_and_verify(&fx, s, 0, 3, &ret, &d));
	CU_ASSERT_EQUAL(ret, HSM_OK);
	hsm_token_stats(fx.token, &st);
	CU_ASSERT_EQUAL(st.state, HSM_TOKEN_UP);
	CU_ASSERT_EQUAL(st.reconnects, 1);
	print_stats("budget", fx.token);
	hsm_session_release(s);
	fixture_free(&fx);
}

/* Each C_Sign takes 2 ms more: 8 sessions in parallel take well under the
 * serial time. */
static void test_hsm_faults_latency_sessions_scale(void)
{
	enum { THREADS = 8, EACH = 100, LATENCY_US = 2000 };
	fixture_t fx;
	if (!fixture_init(&fx, "faults-latency", 0)) {
		fixture_free(&fx);
		return;
	}
	pf.set("sign_latency_us", LATENCY_US);
	/* One session first: what a signature costs end to end on this machine
	 * (the latency plus the CPU, which sanitizers make large). */
	uint64_t t0 = hsm_token_now_ms();
	totals_t one = workers_run(&fx, 1, EACH);
	uint64_t one_ms = hsm_token_now_ms() - t0;
	t0 = hsm_token_now_ms();
	totals_t t = workers_run(&fx, THREADS, EACH);
	uint64_t took = hsm_token_now_ms() - t0;
	uint64_t serial_ms = (uint64_t)THREADS * one_ms; /* the same work in one session */
	fprintf(stderr, "\n  latency: %llu ms for %d signatures (one session: %llu ms)\n",
	        (unsigned long long)took, THREADS * EACH, (unsigned long long)serial_ms);
	CU_ASSERT_EQUAL(one.failed + t.failed, 0);
	CU_ASSERT_EQUAL(t.ok, THREADS * EACH);
	CU_ASSERT_EQUAL(t.verified, THREADS * EACH);
	CU_ASSERT(one_ms >= (uint64_t)EACH * LATENCY_US / 1000); /* the latency applied */
	/* Sessions overlap their waits: 8 of them take well under 8 times one. */
	CU_ASSERT(took < serial_ms * 6 / 10);
	fixture_free(&fx);
}

int main(void)
{
	static const char *const labels[] = {TOKEN_LABEL};
	testutil_token_create(labels, 1);
	setenv("P11FAULT_MODULE", testutil_softhsm_path(), 1);
	fault_module = testutil_p11fault_path();
	if (p11fault_bind(fault_module, &pf) != 0) {
		fprintf(stderr, "test_hsm_faults: %s: %s\n", fault_module, dlerror());
		testutil_token_cleanup();
		return 1;
	}
	static const testutil_case_t cases[] = {
	        {"test_hsm_faults_one_in_100_signatures_fail",
	         test_hsm_faults_one_in_100_signatures_fail},
	        {"test_hsm_faults_token_vanishes_for_2s_and_is_found_again",
	         test_hsm_faults_token_vanishes_for_2s_and_is_found_again},
	        {"test_hsm_faults_lost_login_recovers", test_hsm_faults_lost_login_recovers},
	        {"test_hsm_faults_invalid_key_handles_recover",
	         test_hsm_faults_invalid_key_handles_recover},
	        {"test_hsm_faults_session_invalidated_recovers",
	         test_hsm_faults_session_invalidated_recovers},
	        {"test_hsm_faults_wrong_pin_tried_once", test_hsm_faults_wrong_pin_tried_once},
	        {"test_hsm_faults_locked_pin_never_retried",
	         test_hsm_faults_locked_pin_never_retried},
	        {"test_hsm_faults_lost_keygen_reply_leaves_no_orphan",
	         test_hsm_faults_lost_keygen_reply_leaves_no_orphan},
	        {"test_hsm_faults_budget_exhausted_reports_cause",
	         test_hsm_faults_budget_exhausted_reports_cause},
	        {"test_hsm_faults_latency_sessions_scale", test_hsm_faults_latency_sessions_scale},
	        {NULL, NULL},
	};
	int failed = testutil_run("hsm_faults", cases);
	testutil_token_cleanup();
	return failed;
}
