#include "signer/sign/sign_pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsm/hsm_ctx.h"
#include "hsm/hsm_key.h"
#include "signer/sign/sign_keyset.h"
#include "tests/support/p11fault.h"
#include "tests/support/testutil.h"
#include "tests/support/testutil_hsm.h"

static hsm_ctx_t *ctx;     /* SoftHSM through the fault module */
static sign_keyset_t keys; /* an ECDSA P-256 ZSK and an Ed25519 KSK */
static p11fault_api_t fault;

static void progress(void *arg, uint64_t done, uint64_t total)
{
	uint64_t *calls = arg;
	(*calls)++;
	CU_ASSERT(done <= total);
}

/* Signs batches x per jobs alternating the two keys; returns failures. */
static size_t run(unsigned workers, size_t batches, size_t per, size_t *verified)
{
	sign_pipeline_t *p = NULL;
	CU_ASSERT_EQUAL_FATAL(sign_pipeline_new(workers, &p), HSM_OK);
	CU_ASSERT_EQUAL(sign_pipeline_workers(p), workers);
	sign_batch_t **b = calloc(batches, sizeof(*b));
	for (size_t i = 0; i < batches; i++) {
		b[i] = sign_batch_new(per);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b[i]);
		for (size_t j = 0; j < per; j++) {
			uint8_t *data = NULL;
			const sign_key_t *k = &keys.keys[(i + j) % 2];
			sign_job_t *job = sign_batch_add(b[i], k, 100, &data);
			CU_ASSERT_PTR_NOT_NULL_FATAL(job);
			memset(data, (int)j, 100);
			memcpy(data, &i, sizeof(i));
			job->tag = i * per + j;
		}
		uint8_t *dummy = NULL;
		CU_ASSERT_PTR_NULL(sign_batch_add(b[i], &keys.keys[0], 10, &dummy)); /* full */
		sign_pipeline_submit(p, b[i]);
	}
	uint64_t calls = 0;
	sign_pipeline_wait(p, progress, &calls);
	size_t failed = 0;
	*verified = 0;
	for (size_t i = 0; i < batches; i++) {
		for (size_t j = 0; j < b[i]->count; j++) {
			const sign_job_t *job = &b[i]->jobs[j];
			CU_ASSERT_EQUAL(job->tag, i * per + j);
			if (job->status != HSM_OK) {
				failed++;
				continue;
			}
			if (hsm_verify_sig(job->key->verify, sign_batch_data(b[i], job),
			                   job->data_len, sign_batch_sig(b[i], job),
			                   job->sig_len) == HSM_OK) {
				(*verified)++;
			}
		}
		sign_batch_free(b[i]);
	}
	free(b);
	sign_pipeline_free(p);
	return failed;
}

static void test_sign_pipeline_signs_every_job(void)
{
	fault.reset();
	size_t verified = 0;
	CU_ASSERT_EQUAL(run(2, 40, 64, &verified), 0);
	CU_ASSERT_EQUAL(verified, 40 * 64);
}

static void test_sign_pipeline_survives_device_errors(void)
{
	fault.reset();
	fault.set("sign_fail_every", 100);
	size_t verified = 0;
	CU_ASSERT_EQUAL(run(4, 50, 100, &verified), 0);
	CU_ASSERT_EQUAL(verified, 5000);
	CU_ASSERT(fault.count("faults") >= 49);
	fault.reset();
}

static void test_sign_pipeline_reports_a_failed_job(void)
{
	fault.reset();
	/* A key that is gone: its jobs fail with their cause, the others sign. */
	hsm_key_t gone;
	CU_ASSERT_EQUAL_FATAL(hsm_key_generate(hsm_ctx_token(ctx, "main"), hsm_alg_by_number(13), 0,
	                                       "gone", &gone, NULL),
	                      HSM_OK);
	sign_keyset_t ks;
	sign_keyset_init(&ks);
	CU_ASSERT_EQUAL_FATAL(
	        sign_keyset_add(&ks, &gone, NULL, SIGN_ROLE_ZSK, true, true, false, false, NULL),
	        HSM_OK);
	CU_ASSERT_EQUAL(hsm_key_delete(&gone, NULL), HSM_OK);
	sign_pipeline_t *p = NULL;
	CU_ASSERT_EQUAL_FATAL(sign_pipeline_new(2, &p), HSM_OK);
	sign_batch_t *b = sign_batch_new(4);
	uint8_t *data = NULL;
	sign_batch_add(b, &keys.keys[0], 10, &data);
	memset(data, 1, 10);
	sign_batch_add(b, &ks.keys[0], 10, &data);
	memset(data, 2, 10);
	sign_pipeline_submit(p, b);
	sign_pipeline_wait(p, NULL, NULL);
	CU_ASSERT_EQUAL(b->jobs[0].status, HSM_OK);
	CU_ASSERT_EQUAL(b->jobs[1].status, HSM_ERR_NO_KEY);
	CU_ASSERT_PTR_NOT_NULL(strstr(b->detail.text, "no key"));
	sign_batch_free(b);
	sign_pipeline_free(p);
	sign_keyset_deinit(&ks);
}

static void test_sign_pipeline_refused_message_fails_once(void)
{
	/* A module refusing long messages: the job fails with the cause at
	 * once (never retried in a loop). */
	fault.reset();
	fault.set("sign_max_len", 200);
	sign_pipeline_t *p = NULL;
	CU_ASSERT_EQUAL_FATAL(sign_pipeline_new(1, &p), HSM_OK);
	sign_batch_t *b = sign_batch_new(2);
	uint8_t *data = NULL;
	sign_batch_add(b, &keys.keys[1], 5000, &data); /* Ed25519 signs the whole message */
	memset(data, 7, 5000);
	sign_batch_add(b, &keys.keys[1], 100, &data);
	memset(data, 8, 100);
	sign_pipeline_submit(p, b);
	sign_pipeline_wait(p, NULL, NULL);
	CU_ASSERT_EQUAL(b->jobs[0].status, HSM_ERR_SIGN_DATA);
	CU_ASSERT_EQUAL(b->detail.rv, CKR_DATA_LEN_RANGE);
	/* The pass has failed: the rest is cancelled, not tried. */
	CU_ASSERT(sign_pipeline_failed(p));
	CU_ASSERT_EQUAL(b->jobs[1].status, SIGN_JOB_CANCELLED);
	CU_ASSERT_EQUAL(fault.count("faults"), 1);
	sign_batch_free(b);
	/* A new pass signs again. */
	sign_pipeline_reset(p);
	b = sign_batch_new(1);
	sign_batch_add(b, &keys.keys[1], 100, &data);
	memset(data, 9, 100);
	sign_pipeline_submit(p, b);
	sign_pipeline_wait(p, NULL, NULL);
	CU_ASSERT_EQUAL(b->jobs[0].status, HSM_OK);
	CU_ASSERT(!sign_pipeline_failed(p));
	sign_batch_free(b);
	sign_pipeline_free(p);
	fault.reset();
}

static void test_sign_pipeline_default_workers_follow_latency(void)
{
	fault.reset();
	double lat = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned local = sign_pipeline_default_workers(&keys.keys[0], &lat);
	CU_ASSERT(local >= 1 && local <= (unsigned)ncpu + 1);
	fault.set("sign_latency_us", 20000);
	unsigned remote = sign_pipeline_default_workers(&keys.keys[0], &lat);
	fault.reset();
	CU_ASSERT(lat >= 20000);
	/* A device that makes us wait gets more sessions than a local one
	 * (how many depends on the CPU each signature costs here). */
	CU_ASSERT(remote > local);
	CU_ASSERT(remote >= 2 * (unsigned)ncpu);
	CU_ASSERT(remote <= 64);
}

int main(void)
{
	static const char *const labels[] = {"pipeline"};
	testutil_token_create(labels, 1);
	setenv("P11FAULT_MODULE", testutil_softhsm_path(), 1);
	if (p11fault_bind(testutil_p11fault_path(), &fault) != 0) {
		fprintf(stderr, "cannot load the fault module\n");
		return 1;
	}
	ctx = testutil_hsm_ctx("pipeline", testutil_p11fault_path(), 0);
	hsm_token_t *t = hsm_ctx_token(ctx, "main");
	hsm_key_t zsk, ksk;
	if (hsm_key_generate(t, hsm_alg_by_number(13), 0, "zsk", &zsk, NULL) != HSM_OK ||
	    hsm_key_generate(t, hsm_alg_by_number(15), 0, "ksk", &ksk, NULL) != HSM_OK) {
		return 1;
	}
	sign_keyset_init(&keys);
	if (sign_keyset_add(&keys, &zsk, NULL, SIGN_ROLE_ZSK, true, true, false, false, NULL) !=
	            HSM_OK ||
	    sign_keyset_add(&keys, &ksk, NULL, SIGN_ROLE_KSK, true, true, false, false, NULL) !=
	            HSM_OK) {
		return 1;
	}
	static const testutil_case_t cases[] = {
	        {"test_sign_pipeline_signs_every_job", test_sign_pipeline_signs_every_job},
	        {"test_sign_pipeline_survives_device_errors",
	         test_sign_pipeline_survives_device_errors},
	        {"test_sign_pipeline_reports_a_failed_job",
	         test_sign_pipeline_reports_a_failed_job},
	        {"test_sign_pipeline_refused_message_fails_once",
	         test_sign_pipeline_refused_message_fails_once},
	        {"test_sign_pipeline_default_workers_follow_latency",
	         test_sign_pipeline_default_workers_follow_latency},
	        {NULL, NULL},
	};
	int failed = testutil_run("sign_pipeline", cases);
	sign_keyset_deinit(&keys);
	hsm_ctx_free(ctx);
	testutil_token_cleanup();
	return failed;
}
