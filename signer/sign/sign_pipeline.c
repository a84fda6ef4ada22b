#include "signer/sign/sign_pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hsm/hsm_session.h"

#define MAX_TOKENS 8

struct sign_pipeline {
	pthread_t *threads;
	unsigned nworkers;

	pthread_mutex_t lock;
	pthread_cond_t can_take; /* a batch is queued, or stopping */
	pthread_cond_t can_put;  /* the queue has room */
	pthread_cond_t done_cv;  /* a batch finished */
	/* Guarded by lock. */
	sign_batch_t *head, *tail;
	size_t queued, queue_cap;
	bool stopping;
	uint64_t jobs_submitted;

	atomic_uint_fast64_t jobs_done;
	atomic_bool failed; /* a job of this pass failed: cancel the rest */
};

sign_batch_t *sign_batch_new(size_t cap)
{
	sign_batch_t *b = calloc(1, sizeof(*b));
	if (b == NULL || (b->jobs = malloc(cap * sizeof(*b->jobs))) == NULL) {
		free(b);
		return NULL;
	}
	b->cap = cap;
	return b;
}

static size_t sig_room(const sign_key_t *key)
{
	if (key->alg->keytype == HSM_KEYTYPE_RSA) {
		return key->key.bits > 0 ? (key->key.bits + 7) / 8 : HSM_SIG_MAX;
	}
	return key->alg->keytype == HSM_KEYTYPE_EC ? key->alg->point_len : 2 * key->alg->point_len;
}

sign_job_t *sign_batch_add(sign_batch_t *b, const sign_key_t *key, size_t len, uint8_t **data)
{
	if (b->count == b->cap) {
		return NULL;
	}
	size_t room = sig_room(key);
	size_t need = b->data_len + len + room;
	if (need > b->data_cap) {
		size_t cap = b->data_cap ? b->data_cap : 16384;
		while (cap < need) {
			cap *= 2;
		}
		uint8_t *d = realloc(b->data, cap);
		if (d == NULL) {
			return NULL;
		}
		b->data = d;
		b->data_cap = cap;
	}
	sign_job_t *j = &b->jobs[b->count++];
	memset(j, 0, sizeof(*j));
	j->key = key;
	j->data_off = b->data_len;
	j->data_len = (uint32_t)len;
	j->sig_off = b->data_len + len;
	j->sig_cap = (uint16_t)room;
	b->data_len = need;
	*data = b->data + j->data_off;
	return j;
}

const uint8_t *sign_batch_data(const sign_batch_t *batch, const sign_job_t *job)
{
	return batch->data + job->data_off;
}

const uint8_t *sign_batch_sig(const sign_batch_t *batch, const sign_job_t *job)
{
	return batch->data + job->sig_off;
}

void sign_batch_free(sign_batch_t *batch)
{
	if (batch != NULL) {
		free(batch->jobs);
		free(batch->data);
		free(batch);
	}
}

/* A worker's sessions, one per token, leased on first use. */
typedef struct {
	hsm_token_t *token[MAX_TOKENS];
	hsm_session_t *session[MAX_TOKENS];
	size_t n;
} sessions_t;

static hsm_session_t *session_for(sessions_t *s, hsm_token_t *token, int *status,
                                  hsm_detail_t *detail)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->token[i] == token) {
			return s->session[i];
		}
	}
	if (s->n == MAX_TOKENS) {
		*status = HSM_ERR_INVAL;
		return NULL;
	}
	hsm_session_t *session = NULL;
	*status = hsm_session_acquire(token, &session, detail);
	if (*status != HSM_OK) {
		return NULL;
	}
	s->token[s->n] = token;
	s->session[s->n++] = session;
	return session;
}

static void run_batch(sign_pipeline_t *p, sessions_t *sessions, sign_batch_t *b)
{
	for (size_t i = 0; i < b->count; i++) {
		sign_job_t *j = &b->jobs[i];
		if (atomic_load_explicit(&p->failed, memory_order_relaxed)) {
			j->status = SIGN_JOB_CANCELLED;
			continue;
		}
		hsm_detail_t detail = {0};
		hsm_session_t *s = session_for(sessions, j->key->key.token, &j->status, &detail);
		if (s != NULL) {
			size_t len = 0;
			j->status = hsm_sign(s, &j->key->key, j->key->alg, b->data + j->data_off,
			                     j->data_len, b->data + j->sig_off, j->sig_cap, &len,
			                     &detail);
			j->sig_len = (uint16_t)len;
		}
		if (j->status != HSM_OK) {
			atomic_store(&p->failed, true);
			if (b->detail.func == NULL && b->detail.text[0] == '\0') {
				b->detail = detail;
			}
		}
	}
	if (b->release_data) {
		/* Keep the signatures only: the signed data is most of a pass's
		 * transient memory. */
		size_t off = 0;
		for (size_t i = 0; i < b->count; i++) {
			sign_job_t *j = &b->jobs[i];
			memmove(b->data + off, b->data + j->sig_off, j->sig_len);
			j->sig_off = off;
			j->data_off = 0;
			j->data_len = 0;
			off += j->sig_len;
		}
		uint8_t *d = realloc(b->data, off > 0 ? off : 1);
		if (d != NULL) {
			b->data = d;
			b->data_cap = off > 0 ? off : 1;
		}
		b->data_len = off;
	}
	atomic_fetch_add(&p->jobs_done, b->count);
}

static void *worker(void *arg)
{
	sign_pipeline_t *p = arg;
	sessions_t sessions = {0};
	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (p->head == NULL && !p->stopping) {
			pthread_cond_wait(&p->can_take, &p->lock);
		}
		sign_batch_t *b = p->head;
		if (b == NULL) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		p->head = b->next;
		if (p->head == NULL) {
			p->tail = NULL;
		}
		p->queued--;
		pthread_cond_signal(&p->can_put);
		pthread_mutex_unlock(&p->lock);

		run_batch(p, &sessions, b);

		pthread_mutex_lock(&p->lock);
		pthread_cond_broadcast(&p->done_cv);
		pthread_mutex_unlock(&p->lock);
	}
	for (size_t i = 0; i < sessions.n; i++) {
		hsm_session_release(sessions.session[i]);
	}
	return NULL;
}

int sign_pipeline_new(unsigned workers, sign_pipeline_t **out)
{
	if (workers == 0) {
		workers = 1;
	}
	sign_pipeline_t *p = calloc(1, sizeof(*p));
	if (p == NULL || (p->threads = calloc(workers, sizeof(*p->threads))) == NULL) {
		free(p);
		return HSM_ERR_NOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->can_take, NULL);
	pthread_cond_init(&p->can_put, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	p->queue_cap = 2u * workers + 2u;
	atomic_init(&p->jobs_done, 0);
	atomic_init(&p->failed, false);
	for (unsigned i = 0; i < workers; i++) {
		int e = pthread_create(&p->threads[i], NULL, worker, p);
		if (e != 0) {
			p->nworkers = i;
			sign_pipeline_free(p);
			return -e;
		}
		char name[16];
		snprintf(name, sizeof(name), "sign/%u", i);
		pthread_setname_np(p->threads[i], name);
	}
	p->nworkers = workers;
	*out = p;
	return HSM_OK;
}

bool sign_pipeline_failed(const sign_pipeline_t *p)
{
	return atomic_load(&((sign_pipeline_t *)p)->failed);
}

void sign_pipeline_reset(sign_pipeline_t *p)
{
	atomic_store(&p->failed, false);
}

unsigned sign_pipeline_workers(const sign_pipeline_t *p)
{
	return p->nworkers;
}

void sign_pipeline_submit(sign_pipeline_t *p, sign_batch_t *batch)
{
	batch->next = NULL;
	pthread_mutex_lock(&p->lock);
	while (p->queued >= p->queue_cap) {
		pthread_cond_wait(&p->can_put, &p->lock);
	}
	if (p->tail != NULL) {
		p->tail->next = batch;
	} else {
		p->head = batch;
	}
	p->tail = batch;
	p->queued++;
	p->jobs_submitted += batch->count;
	pthread_cond_signal(&p->can_take);
	pthread_mutex_unlock(&p->lock);
}

void sign_pipeline_wait(sign_pipeline_t *p,
                        void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx)
{
	pthread_mutex_lock(&p->lock);
	while (atomic_load(&p->jobs_done) < p->jobs_submitted) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->done_cv, &p->lock, &ts);
		if (progress != NULL) {
			uint64_t total = p->jobs_submitted;
			pthread_mutex_unlock(&p->lock);
			progress(ctx, atomic_load(&p->jobs_done), total);
			pthread_mutex_lock(&p->lock);
		}
	}
	pthread_mutex_unlock(&p->lock);
}

void sign_pipeline_free(sign_pipeline_t *p)
{
	if (p == NULL) {
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->can_take);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nworkers; i++) {
		pthread_join(p->threads[i], NULL);
	}
	pthread_cond_destroy(&p->done_cv);
	pthread_cond_destroy(&p->can_put);
	pthread_cond_destroy(&p->can_take);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

unsigned sign_pipeline_default_workers(const sign_key_t *key, double *latency_us)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned cpus = ncpu > 0 ? (unsigned)ncpu : 1;
	hsm_session_t *s = NULL;
	*latency_us = 0;
	if (hsm_session_acquire(key->key.token, &s, NULL) != HSM_OK) {
		return cpus;
	}
	uint8_t data[128] = {0}, sig[HSM_SIG_MAX];
	size_t len = 0;
	/* One to find the key handle, then measure. */
	int ret =
	        hsm_sign(s, &key->key, key->alg, data, sizeof(data), sig, sizeof(sig), &len, NULL);
	const int n = 16;
	double w0 = wall_s(), c0 = thread_cpu_s();
	for (int i = 0; i < n && ret == HSM_OK; i++) {
		data[0] = (uint8_t)i;
		ret = hsm_sign(s, &key->key, key->alg, data, sizeof(data), sig, sizeof(sig), &len,
		               NULL);
	}
	double wall = wall_s() - w0, cpu = thread_cpu_s() - c0;
	hsm_session_release(s);
	if (ret != HSM_OK || wall <= 0) {
		return cpus;
	}
	*latency_us = wall / n * 1e6;
	/* The share of each signature spent waiting on the device says how many
	 * sessions keep it busy: all CPU (a local token) -> one per CPU. */
	double ratio = cpu > 0 ? wall / cpu : 64.0;
	if (ratio < 3.0) {
		/* Within what a busy machine's scheduling explains: local. */
		return cpus;
	}
	double want = (double)cpus * ratio;
	return want > 64.0 ? 64u : (unsigned)(want + 0.5);
}
