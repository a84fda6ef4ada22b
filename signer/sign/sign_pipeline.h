/*
 * sign_pipeline: the workers that make signatures on the HSM. Each worker
 * owns, for its life, one PKCS#11 session per token it signs with; the
 * producer (one thread) fills batches of jobs and queues them (a bounded
 * queue: the producer waits when the workers are behind); a worker digests
 * on the host and signs on the device (hsm_sign), writes each signature into
 * its job slot, and counts the batch done. Nothing is shared between workers
 * but the queue.
 *
 * Life cycle: sign_pipeline_new() (starts the workers) -> per pass:
 * sign_batch_new() / sign_batch_add() / sign_pipeline_submit() ... then
 * sign_pipeline_wait() -> read the jobs' results -> sign_batch_free() ->
 * sign_pipeline_free() (stops the workers). One producer thread per pipeline;
 * workers are internal. A failed job never stops the others: the caller sees
 * each job's status and publishes nothing if any failed.
 */
#ifndef SIGNER_SIGN_SIGN_PIPELINE_H
#define SIGNER_SIGN_SIGN_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm_error.h"
#include "hsm/hsm_sign.h"
#include "signer/sign/sign_keyset.h"

/* One signature to make. The producer fills key, data and tag; the worker
 * writes the signature into the batch's buffer at sig_off, and sets sig_len
 * and status. */
typedef struct {
	const sign_key_t *key;
	size_t data_off; /* the data to sign, in the batch's buffer */
	size_t sig_off;  /* room for the signature, in the batch's buffer */
	uint32_t data_len;
	uint16_t sig_cap;
	uint16_t sig_len;
	int status;   /* HSM_OK or the failure */
	uint64_t tag; /* the producer's own reference (e.g. RRset index) */
} sign_job_t;

/* A job not tried because another job of the pass had failed already: a pass
 * with any failure publishes nothing, so the rest is not worth the HSM's
 * time (nor the retry budget of each job). */
#define SIGN_JOB_CANCELLED 1

typedef struct sign_batch {
	sign_job_t *jobs;
	size_t count, cap;
	uint8_t *data; /* signed data and signatures of all jobs */
	size_t data_len, data_cap;
	hsm_detail_t detail;     /* the first failure's detail */
	bool release_data;       /* set by the producer: once done, the worker keeps only
	                          * the signatures (sign_batch_data() is invalid then) */
	struct sign_batch *next; /* queue link, internal */
} sign_batch_t;

typedef struct sign_pipeline sign_pipeline_t;

/* Starts workers threads (named sign/N). Returns HSM_OK or -errno. */
int sign_pipeline_new(unsigned workers, sign_pipeline_t **out);

/* Number of workers. */
unsigned sign_pipeline_workers(const sign_pipeline_t *p);

/* A batch with room for cap jobs; NULL on out of memory. */
sign_batch_t *sign_batch_new(size_t cap);

/* Reserves a job in batch with room for len bytes of data; returns the job
 * and a pointer to write the data to (valid until the next add), or NULL on
 * out of memory or a full batch. */
sign_job_t *sign_batch_add(sign_batch_t *batch, const sign_key_t *key, size_t len, uint8_t **data);

/* The data of a job, and its signature once made. */
const uint8_t *sign_batch_data(const sign_batch_t *batch, const sign_job_t *job);
const uint8_t *sign_batch_sig(const sign_batch_t *batch, const sign_job_t *job);

/* Queues a batch for the workers (waits while the queue is full: back-
 * pressure). The batch belongs to the pipeline until sign_pipeline_wait. */
void sign_pipeline_submit(sign_pipeline_t *p, sign_batch_t *batch);

/* Waits until every submitted batch is done, calling progress (if not NULL)
 * about every 200 ms with the number of jobs done and submitted so far. */
void sign_pipeline_wait(sign_pipeline_t *p,
                        void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx);

/* True once a job of the current pass has failed (later jobs are cancelled).
 * sign_pipeline_reset() starts a new pass. Thread-safe. */
bool sign_pipeline_failed(const sign_pipeline_t *p);
void sign_pipeline_reset(sign_pipeline_t *p);

/* Frees a batch; NULL is a no-op. */
void sign_batch_free(sign_batch_t *batch);

/* Stops the workers (after finishing what is queued) and frees. */
void sign_pipeline_free(sign_pipeline_t *p);

/* A worker count for the token keys are on: measures n signatures with key in
 * one session; a local token (the signing time is all CPU) gets the number
 * of CPUs, a remote one (most of the time is waiting) more sessions, in
 * proportion, up to 64. Returns the count (at least 1); *latency_us gets the
 * mean latency. */
unsigned sign_pipeline_default_workers(const sign_key_t *key, double *latency_us);

#endif
