#include "signer/daemon/dfence.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsm/hsm_data.h"

/* How long a read of the record is trusted (monotonic milliseconds): a
 * node re-reads before acting at most this long after the last read. */
#define REREAD_MS 1000

struct dfence {
	pthread_mutex_t mu;
	hsm_token_t *token;
	char node[64];
	dfence_value_t value;
	uint64_t read_at_ms; /* monotonic; 0: never */
	bool stepped_down;
};

bool dfence_parse(const uint8_t *v, size_t len, dfence_value_t *out)
{
	char buf[256];
	if (len == 0 || len >= sizeof(buf)) {
		return false;
	}
	memcpy(buf, v, len);
	buf[len] = '\0';
	dfence_value_t r;
	memset(&r, 0, sizeof(r));
	unsigned long long epoch = 0, state = 0;
	int n = 0;
	if (sscanf(buf, "epoch=%llu node=%63s state=%llu%n", &epoch, r.node, &state, &n) != 3 ||
	    (size_t)n != len || epoch == 0) {
		return false;
	}
	r.epoch = epoch;
	r.state = state;
	*out = r;
	return true;
}

size_t dfence_format(const dfence_value_t *v, char *out, size_t cap)
{
	/* Fixed-width numbers, the epoch first: a later epoch compares greater
	 * (hsm_data keeps the greater of two simultaneous writes). */
	int n = snprintf(out, cap, "epoch=%020" PRIu64 " node=%s state=%020" PRIu64, v->epoch,
	                 v->node, v->state);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

hsm_token_t *dfence_token(hsm_ctx_t *hsm, const config_t *config)
{
	if (config->cluster_fence_token != NULL) {
		return hsm_ctx_token(hsm, config->cluster_fence_token);
	}
	return hsm_ctx_count(hsm) > 0 ? hsm_ctx_token_at(hsm, 0) : NULL;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads the record into f->value; lock held. */
static int reread(dfence_t *f, char *err, size_t errlen)
{
	uint8_t buf[HSM_DATA_VALUE_MAX];
	size_t len = 0;
	bool found = false;
	hsm_detail_t d;
	memset(&d, 0, sizeof(d));
	int st = hsm_data_read(f->token, DFENCE_LABEL, buf, sizeof(buf), &len, &found, &d);
	if (st != HSM_OK) {
		char b[256];
		snprintf(err, errlen, "fencing record: %s",
		         hsm_detail_format(st, &d, b, sizeof(b)));
		return -1;
	}
	if (!found) {
		memset(&f->value, 0, sizeof(f->value));
	} else if (!dfence_parse(buf, len, &f->value)) {
		snprintf(err, errlen, "fencing record '%s' is not one of ours", DFENCE_LABEL);
		return -1;
	}
	f->read_at_ms = mono_ms();
	return 0;
}

int dfence_open(hsm_ctx_t *hsm, const config_t *config, dfence_t **out, char *err, size_t errlen)
{
	*out = NULL;
	if (config->cluster_node == NULL) {
		return 0;
	}
	dfence_t *f = calloc(1, sizeof(*f));
	if (f == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&f->mu, NULL);
	snprintf(f->node, sizeof(f->node), "%s", config->cluster_node);
	f->token = dfence_token(hsm, config);
	if (f->token == NULL) {
		snprintf(err, errlen, "cluster: no fence token %s",
		         config->cluster_fence_token ? config->cluster_fence_token : "(none)");
		dfence_close(f);
		return -1;
	}
	if (reread(f, err, errlen) != 0) {
		dfence_close(f);
		return -1;
	}
	if (f->value.epoch == 0) {
		/* The first node of the pair: epoch 1 is ours, unless another
		 * node claims it at the same moment. */
		dfence_value_t v = {.epoch = 1};
		snprintf(v.node, sizeof(v.node), "%s", f->node);
		char text[256];
		size_t len = dfence_format(&v, text, sizeof(text));
		bool swapped = false;
		hsm_detail_t d;
		memset(&d, 0, sizeof(d));
		int st = hsm_data_cas(f->token, DFENCE_LABEL, NULL, 0, true, (const uint8_t *)text,
		                      len, &swapped, &d);
		if (st != HSM_OK || reread(f, err, errlen) != 0) {
			char b[256];
			snprintf(err, errlen, "claiming the fencing record: %s",
			         hsm_detail_format(st, &d, b, sizeof(b)));
			dfence_close(f);
			return -1;
		}
	}
	*out = f;
	return 0;
}

void dfence_close(dfence_t *f)
{
	if (f != NULL) {
		pthread_mutex_destroy(&f->mu);
		free(f);
	}
}

bool dfence_may_sign(dfence_t *f, char *why, size_t len)
{
	if (f == NULL) {
		return true;
	}
	pthread_mutex_lock(&f->mu);
	bool ok = true;
	if (f->stepped_down) {
		snprintf(why, len, "this node (%s) stepped down: it hands over to another",
		         f->node);
		ok = false;
	} else if (mono_ms() >= f->read_at_ms + REREAD_MS && reread(f, why, len) != 0) {
		ok = false; /* unknown: no signing on a guess */
	} else if (strcmp(f->value.node, f->node) != 0) {
		snprintf(why, len, "fenced: node %s holds epoch %" PRIu64 ", not this node (%s)",
		         f->value.node[0] ? f->value.node : "(none)", f->value.epoch, f->node);
		ok = false;
	}
	pthread_mutex_unlock(&f->mu);
	return ok;
}

void dfence_step_down(dfence_t *f)
{
	if (f != NULL) {
		pthread_mutex_lock(&f->mu);
		f->stepped_down = true;
		pthread_mutex_unlock(&f->mu);
	}
}

dfence_value_t dfence_value(dfence_t *f)
{
	dfence_value_t v;
	memset(&v, 0, sizeof(v));
	if (f != NULL) {
		pthread_mutex_lock(&f->mu);
		v = f->value;
		pthread_mutex_unlock(&f->mu);
	}
	return v;
}

int dfence_note_shipped(dfence_t *f, uint64_t seq, char *err, size_t errlen)
{
	pthread_mutex_lock(&f->mu);
	int ret = reread(f, err, errlen);
	if (ret == 0 && strcmp(f->value.node, f->node) != 0) {
		snprintf(err, errlen, "fenced: node %s holds epoch %" PRIu64, f->value.node,
		         f->value.epoch);
		ret = -1;
	}
	if (ret == 0) {
		char old[256], text[256];
		size_t olen = dfence_format(&f->value, old, sizeof(old));
		dfence_value_t v = f->value;
		v.state = seq;
		size_t len = dfence_format(&v, text, sizeof(text));
		bool swapped = false;
		hsm_detail_t d;
		memset(&d, 0, sizeof(d));
		int st = hsm_data_cas(f->token, DFENCE_LABEL, (const uint8_t *)old, olen, false,
		                      (const uint8_t *)text, len, &swapped, &d);
		if (st != HSM_OK || !swapped) {
			char b[256];
			snprintf(err, errlen, "fencing record not updated: %s",
			         st != HSM_OK ? hsm_detail_format(st, &d, b, sizeof(b))
			                      : "another node changed it");
			ret = -1;
		} else {
			f->value = v;
		}
	}
	pthread_mutex_unlock(&f->mu);
	return ret;
}
