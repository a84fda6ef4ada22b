#include "signer/sign/sign_zone.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "signer/nsec/nsec.h"
#include "signer/nsec/nsec_error.h"
#include "signer/sign/sign_error.h"
#include "signer/sign/sign_rrsig.h"
#include "signer/sign/sign_verify.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_write.h"

#define BATCH_JOBS 128

/* One RRset to sign: where it is, what the plan keeps, which jobs it made. */
typedef struct {
	uint32_t entry;  /* index in the version's entries, or in its NSEC3 nodes */
	uint16_t slot;   /* index of the slot in the node */
	bool nsec3;      /* entry indexes the NSEC3 nodes */
	uint32_t reused; /* first index in the reused RDATA list */
	uint16_t nreused;
	uint32_t created; /* first index in the created list */
	uint16_t ncreated;
} work_t;

/* A signature being made: its RRSIG fields and its job; once the pass is
 * done, the signature itself in the compact buffer (the batches are freed). */
typedef struct {
	sign_rrsig_t fields;
	sign_batch_t *batch;
	uint32_t job;
	uint32_t sig_off; /* in ctx_t.sigs, after compact() */
	uint16_t sig_len;
} created_t;

typedef struct {
	const sign_zone_params_t *params;
	const sign_keyset_t *ks;
	const zone_t *prev;
	const uint8_t *apex;
	sign_pipeline_t *pipeline;
	sign_plan_t plan;
	uint64_t rng;

	work_t *work;
	size_t nwork, work_cap;
	zone_rdata_t *reused;
	size_t nreused, reused_cap;
	created_t *created;
	size_t ncreated, created_cap;
	sign_batch_t **batches;
	size_t nbatches, batches_cap;
	sign_batch_t *current;
	uint8_t *sigs; /* every new signature, back to back (compact()) */
	sign_zone_stats_t *stats;
	int status;
	char held[256]; /* a warning of with_apex(), reported once the pass goes on */
} ctx_t;

static void report(const ctx_t *c, sign_zone_level_t level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void report(const ctx_t *c, sign_zone_level_t level, const char *fmt, ...)
{
	if (c->params->report == NULL) {
		return;
	}
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->params->report(c->params->ctx, level, msg);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap) {
		return true;
	}
	size_t c = *cap ? *cap * 2 : 1024;
	void *p = realloc(*v, c * size);
	if (p == NULL) {
		return false;
	}
	*v = p;
	*cap = c;
	return true;
}

/* The type's mnemonic or TYPEnnn, in buf (16 bytes). */
static const char *type_name(uint16_t type, char *buf, size_t len)
{
	zone_write_type_str(type, buf, len);
	return buf;
}

/* --- apex: DNSKEY RRset and SOA serial --- */

static int soa_serial_offset(const zone_rrset_t *soa, size_t *off)
{
	size_t pos = 0;
	zone_rdata_t rd;
	if (soa == NULL || !zone_rrset_next(soa, &pos, &rd)) {
		return NSEC_ERR_NO_SOA;
	}
	size_t p = 0;
	for (int n = 0; n < 2; n++) {
		while (p < rd.len && rd.data[p] != 0) {
			p += 1u + rd.data[p];
		}
		p++;
	}
	if (p + 20 > rd.len) {
		return NSEC_ERR_NO_SOA;
	}
	*off = p;
	return SIGN_OK;
}

static int with_apex(ctx_t *c, const zone_t *in, zone_t **out, zone_names_t *dirty)
{
	const zone_node_t *apex = zone_entry(in, 0)->node;
	const zone_rrset_t *soa = zone_apex_rrset(in, ZONE_TYPE_SOA);
	size_t off = 0;
	int ret = soa_serial_offset(soa, &off);
	if (ret != SIGN_OK) {
		report(c, SIGN_ZONE_ERROR, "the zone has no usable SOA at its apex");
		return ret;
	}
	/* SOA with the new serial. */
	size_t pos = 0;
	zone_rdata_t rd;
	zone_rrset_next(soa, &pos, &rd);
	uint8_t soa_rd[DNAME_MAXLEN * 2 + 20];
	memcpy(soa_rd, rd.data, rd.len);
	uint32_t current = (uint32_t)soa_rd[off] << 24 | (uint32_t)soa_rd[off + 1] << 16 |
	                   (uint32_t)soa_rd[off + 2] << 8 | soa_rd[off + 3];
	bool overridden = false;
	const sign_zone_params_t *p = c->params;
	uint32_t serial = zone_serial_next(p->serial, current, p->have_previous_serial,
	                                   p->previous_serial, (time_t)p->timing.now, &overridden);
	if (overridden) {
		/* Reported by the caller once the pass goes on (sign_zone_update
		 * may hand over to a whole pass, which would report it again). */
		snprintf(c->held, sizeof(c->held),
		         "serial policy %s gives %u, not above the last published %u: using %u",
		         zone_serial_policy_str(p->serial), current, p->previous_serial, serial);
	}
	c->stats->serial = serial;
	soa_rd[off] = (uint8_t)(serial >> 24);
	soa_rd[off + 1] = (uint8_t)(serial >> 16);
	soa_rd[off + 2] = (uint8_t)(serial >> 8);
	soa_rd[off + 3] = (uint8_t)serial;
	zone_rdata_t soa_new = {soa_rd, rd.len};
	zone_slot_t soa_slot = {NULL, NULL}, key_slot = {NULL, NULL};
	ret = zone_rrset_new(ZONE_TYPE_SOA, soa->ttl, &soa_new, 1, &soa_slot.data);
	/* DNSKEY RRset: every published key. */
	zone_rdata_t *keys = calloc(c->ks->count + 1, sizeof(*keys));
	size_t nkeys = 0;
	for (size_t i = 0; keys != NULL && i < c->ks->count; i++) {
		if (c->ks->keys[i].published) {
			keys[nkeys++] = (zone_rdata_t){c->ks->keys[i].dnskey,
			                               (uint16_t)c->ks->keys[i].dnskey_len};
		}
	}
	uint32_t ttl = p->dnskey_ttl ? p->dnskey_ttl : soa->ttl;
	if (ret == ZONE_OK) {
		ret = keys == NULL
		              ? ZONE_ERR_NOMEM
		              : zone_rrset_new(ZONE_TYPE_DNSKEY, ttl, keys, nkeys, &key_slot.data);
	}
	free(keys);
	zone_node_t *a1 = NULL, *a2 = NULL;
	if (ret == ZONE_OK) {
		ret = zone_node_with(apex, soa_slot, &a1);
	}
	if (ret == ZONE_OK) {
		ret = zone_node_with(a1, key_slot, &a2);
	}
	zone_node_unref(a1);
	zone_rrset_unref(soa_slot.data);
	zone_rrset_unref(key_slot.data);
	if (ret == ZONE_OK) {
		ret = zone_update(in, &a2, 1, NULL, 0, out, NULL, dirty);
	}
	return ret;
}

/* --- planning and job creation --- */

static int index_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

static sign_batch_t *batch(ctx_t *c)
{
	if (c->current != NULL && c->current->count < c->current->cap) {
		return c->current;
	}
	if (c->current != NULL) {
		sign_pipeline_submit(c->pipeline, c->current);
	}
	c->current = NULL;
	if (!grow((void **)&c->batches, &c->batches_cap, c->nbatches, sizeof(*c->batches))) {
		return NULL;
	}
	c->current = sign_batch_new(BATCH_JOBS);
	if (c->current != NULL) {
		c->current->release_data = true;
		c->batches[c->nbatches++] = c->current;
	}
	return c->current;
}

/* The old data and RRSIGs of owner/type in the previous version. */
static void old_of(const ctx_t *c, const uint8_t *owner, uint16_t type, bool nsec3,
                   const zone_rrset_t **data, const zone_rrset_t **sigs)
{
	*data = NULL;
	*sigs = NULL;
	const zone_t *prev = c->prev;
	if (prev == NULL) {
		return;
	}
	const zone_node_t *node = NULL;
	if (nsec3) {
		size_t lo = 0, hi = prev->nsec3_count;
		while (lo < hi && node == NULL) {
			size_t mid = lo + (hi - lo) / 2;
			int cmp = dname_canonical_cmp(zone_nsec3_node(prev, mid)->owner, owner);
			if (cmp == 0) {
				node = zone_nsec3_node(prev, mid);
			} else if (cmp < 0) {
				lo = mid + 1;
			} else {
				hi = mid;
			}
		}
	} else {
		size_t i = 0;
		if (zone_find(prev, owner, &i)) {
			node = zone_entry(prev, i)->node;
		}
	}
	const zone_slot_t *s = node != NULL ? zone_node_find(node, type) : NULL;
	if (s != NULL) {
		*data = s->data;
		*sigs = s->sigs;
	}
}

static int plan_rrset(ctx_t *c, const zone_node_t *node, size_t entry, size_t slot, bool nsec3)
{
	const zone_rrset_t *data = node->slots[slot].data;
	sign_plan_input_t in = {.owner = node->owner, .signer = c->apex, .data = data};
	old_of(c, node->owner, data->type, nsec3, &in.old_data, &in.old_sigs);
	if (in.old_sigs == NULL && node->slots[slot].sigs != NULL) {
		/* RRSIGs carried by the input itself (a version signed before). */
		in.old_data = data;
		in.old_sigs = node->slots[slot].sigs;
	}
	uint8_t gap = 0;
	int ret = sign_plan_rrset(&c->plan, &c->params->timing, c->ks, &in, &gap);
	char owner[DNAME_STR_MAXLEN], tbuf[16];
	if (ret == SIGN_ERR_ALGORITHM_GAP) {
		dname_to_str(node->owner, owner, sizeof(owner));
		report(c, SIGN_ZONE_ERROR,
		       "%s %s: algorithm %u has published keys but no active key to sign it", owner,
		       type_name(data->type, tbuf, sizeof(tbuf)), gap);
		return ret;
	}
	if (ret != SIGN_OK) {
		return ret;
	}
	if (!grow((void **)&c->work, &c->work_cap, c->nwork, sizeof(*c->work))) {
		return SIGN_ERR_NOMEM;
	}
	work_t *w = &c->work[c->nwork++];
	*w = (work_t){.entry = (uint32_t)entry,
	              .slot = (uint16_t)slot,
	              .nsec3 = nsec3,
	              .reused = (uint32_t)c->nreused,
	              .created = (uint32_t)c->ncreated};
	c->stats->rrsets++;
	c->stats->dropped += c->plan.drop;
	for (size_t i = 0; i < c->plan.count; i++) {
		const sign_plan_item_t *it = &c->plan.items[i];
		if (it->action == SIGN_PLAN_REUSE) {
			if (!grow((void **)&c->reused, &c->reused_cap, c->nreused,
			          sizeof(*c->reused))) {
				return SIGN_ERR_NOMEM;
			}
			c->reused[c->nreused++] = it->old;
			w->nreused++;
			c->stats->reused++;
			continue;
		}
		if (it->action != SIGN_PLAN_CREATE) {
			continue;
		}
		if (!grow((void **)&c->created, &c->created_cap, c->ncreated,
		          sizeof(*c->created))) {
			return SIGN_ERR_NOMEM;
		}
		created_t *cr = &c->created[c->ncreated];
		int64_t inception = 0, expiration = 0;
		sign_plan_window(&c->params->timing, next_random(&c->rng), &inception, &expiration);
		sign_rrsig_fields(&cr->fields, node->owner, data, it->key->alg->number,
		                  it->key->tag, c->apex, inception, expiration);
		size_t len = 0;
		ret = sign_rrsig_signed_len(&cr->fields, node->owner, data, &len);
		if (ret != SIGN_OK) {
			return ret;
		}
		sign_batch_t *b = batch(c);
		uint8_t *buf = NULL;
		sign_job_t *job = b != NULL ? sign_batch_add(b, it->key, len, &buf) : NULL;
		if (job == NULL) {
			return SIGN_ERR_NOMEM;
		}
		sign_rrsig_signed_write(&cr->fields, node->owner, data, buf);
		job->tag = c->ncreated;
		cr->batch = b;
		cr->job = (uint32_t)(b->count - 1);
		c->ncreated++;
		w->ncreated++;
	}
	return SIGN_OK;
}

static int plan_all(ctx_t *c, const zone_t *z)
{
	for (size_t i = 0; i < z->count; i++) {
		const zone_entry_t *e = zone_entry(z, i);
		for (size_t s = 0; s < e->node->nslots; s++) {
			if (!zone_is_signed(e, e->node->slots[s].data->type)) {
				continue;
			}
			int ret = plan_rrset(c, e->node, i, s, false);
			if (ret != SIGN_OK) {
				return ret;
			}
		}
	}
	for (size_t i = 0; i < z->nsec3_count; i++) {
		for (size_t s = 0; s < zone_nsec3_node(z, i)->nslots; s++) {
			int ret = plan_rrset(c, zone_nsec3_node(z, i), i, s, true);
			if (ret != SIGN_OK) {
				return ret;
			}
		}
	}
	if (c->current != NULL && c->current->count > 0) {
		sign_pipeline_submit(c->pipeline, c->current); /* the partial batch, at once */
	}
	c->current = NULL;
	return SIGN_OK;
}

/* Reports every failed job with its RRset and key; returns the first status. */
static int check_jobs(ctx_t *c, const zone_t *z)
{
	int first = SIGN_OK;
	size_t reported = 0, cancelled = 0;
	for (size_t w = 0; w < c->nwork; w++) {
		const work_t *wk = &c->work[w];
		for (size_t k = 0; k < wk->ncreated; k++) {
			const created_t *cr = &c->created[wk->created + k];
			const sign_job_t *job = &cr->batch->jobs[cr->job];
			if (job->status == HSM_OK) {
				continue;
			}
			if (job->status == SIGN_JOB_CANCELLED) {
				cancelled++;
				continue;
			}
			if (first == SIGN_OK) {
				first = job->status;
			}
			if (reported++ < 20) {
				const zone_node_t *n = wk->nsec3 ? zone_nsec3_node(z, wk->entry)
				                                 : zone_entry(z, wk->entry)->node;
				char owner[DNAME_STR_MAXLEN], tbuf[16], detail[256];
				dname_to_str(n->owner, owner, sizeof(owner));
				hsm_detail_format(job->status, &cr->batch->detail, detail,
				                  sizeof(detail));
				report(c, SIGN_ZONE_ERROR, "%s %s: key %u/%s: %s (%s)", owner,
				       type_name(n->slots[wk->slot].data->type, tbuf, sizeof(tbuf)),
				       job->key->tag, job->key->alg->name,
				       hsm_strerror(job->status), detail);
			}
		}
	}
	if (reported > 20) {
		report(c, SIGN_ZONE_ERROR, "%zu signatures failed in all", reported);
	}
	if (cancelled > 0) {
		report(c, SIGN_ZONE_ERROR, "%zu more signatures not tried after the failure",
		       cancelled);
	}
	return first;
}

/* Moves the new signatures out of the batches into one buffer and frees the
 * batches: their signed data is the pass's largest transient memory. */
static int compact(ctx_t *c)
{
	size_t total = 0;
	for (size_t i = 0; i < c->ncreated; i++) {
		const created_t *cr = &c->created[i];
		total += cr->batch->jobs[cr->job].sig_len;
	}
	c->sigs = malloc(total + 1);
	if (c->sigs == NULL) {
		return SIGN_ERR_NOMEM;
	}
	size_t off = 0;
	for (size_t i = 0; i < c->ncreated; i++) {
		created_t *cr = &c->created[i];
		const sign_job_t *job = &cr->batch->jobs[cr->job];
		memcpy(c->sigs + off, sign_batch_sig(cr->batch, job), job->sig_len);
		cr->sig_off = (uint32_t)off;
		cr->sig_len = job->sig_len;
		cr->batch = NULL;
		off += job->sig_len;
	}
	for (size_t i = 0; i < c->nbatches; i++) {
		sign_batch_free(c->batches[i]);
		c->batches[i] = NULL;
	}
	return SIGN_OK;
}

/* --- merging the signatures into a new version --- */

/* The RRSIG RRset of one work item. */
static int rrsig_rrset(ctx_t *c, const work_t *w, const zone_rrset_t *data, zone_rrset_t **out)
{
	size_t n = (size_t)w->nreused + w->ncreated;
	zone_rdata_t *rd = malloc((n + 1) * sizeof(*rd));
	uint8_t *space = malloc((size_t)w->ncreated * (DNAME_MAXLEN + 18 + HSM_SIG_MAX) + 1);
	int ret = SIGN_ERR_NOMEM;
	if (rd == NULL || space == NULL) {
		goto done;
	}
	size_t k = 0, used = 0;
	for (size_t i = 0; i < w->nreused; i++) {
		rd[k++] = c->reused[w->reused + i];
	}
	for (size_t i = 0; i < w->ncreated; i++) {
		const created_t *cr = &c->created[w->created + i];
		size_t len = 0;
		ret = sign_rrsig_write(&cr->fields, c->sigs + cr->sig_off, cr->sig_len,
		                       space + used, DNAME_MAXLEN + 18 + HSM_SIG_MAX, &len);
		if (ret != SIGN_OK) {
			goto done;
		}
		rd[k++] = (zone_rdata_t){space + used, (uint16_t)len};
		used += len;
	}
	ret = zone_rrset_new(ZONE_TYPE_RRSIG, data->ttl, rd, k, out);
done:
	free(rd);
	free(space);
	return ret;
}

/* A copy of node with the RRSIGs of the work items [w, w + n) in place,
 * and no RRSIGs on the slots that are not signed. */
static int signed_node(ctx_t *c, const zone_node_t *node, const work_t *w, size_t n,
                       zone_node_t **out)
{
	zone_slot_t stack[16];
	zone_slot_t *slots = node->nslots <= 16 ? stack : malloc(node->nslots * sizeof(*slots));
	if (slots == NULL) {
		return SIGN_ERR_NOMEM;
	}
	int ret = SIGN_OK;
	for (size_t s = 0; s < node->nslots; s++) {
		slots[s] = (zone_slot_t){node->slots[s].data, NULL};
	}
	for (size_t i = 0; i < n && ret == SIGN_OK; i++) {
		ret = rrsig_rrset(c, &w[i], node->slots[w[i].slot].data, &slots[w[i].slot].sigs);
	}
	if (ret == SIGN_OK) {
		ret = zone_node_new(node->owner, slots, node->nslots, out);
	}
	for (size_t i = 0; i < n; i++) {
		zone_rrset_unref(slots[w[i].slot].sigs);
	}
	if (slots != stack) {
		free(slots);
	}
	return ret;
}

/* Makes the signed version from z, which it consumes: each node of z is
 * released as soon as its successor exists, so that the two versions never
 * hold all their nodes at once (the pass's memory peak). On return z holds
 * no nodes; the caller still frees it. */
static int merge(ctx_t *c, zone_t *z, zone_t **out)
{
	zone_node_t **all = calloc(z->count + 1, sizeof(*all));
	zone_node_t **nsec3 = calloc(z->nsec3_count + 1, sizeof(*nsec3));
	size_t nall = 0, nnsec3 = 0;
	int ret = all != NULL && nsec3 != NULL ? SIGN_OK : SIGN_ERR_NOMEM;
	size_t w = 0;
	/* Every node: signed ones rebuilt with their RRSIGs, others kept, or
	 * stripped of stale RRSIGs (glue, delegation NS). Empty non-terminals
	 * are made again by zone_new(). */
	for (size_t i = 0; i < z->count && ret == SIGN_OK; i++) {
		size_t first = w;
		while (w < c->nwork && !c->work[w].nsec3 && c->work[w].entry == i) {
			w++;
		}
		zone_node_t *node = zone_entry(z, i)->node;
		bool stale = false;
		for (size_t s = 0; s < node->nslots; s++) {
			stale = stale || node->slots[s].sigs != NULL;
		}
		if (w == first && !stale) {
			if (!(zone_entry(z, i)->flags & ZONE_NAME_ENT)) {
				all[nall++] = zone_node_ref(node);
			}
		} else {
			ret = signed_node(c, node, &c->work[first], w - first, &all[nall]);
			nall += ret == SIGN_OK;
		}
		zone_consume(z, false, i);
	}
	for (size_t i = 0; i < z->nsec3_count && ret == SIGN_OK; i++) {
		size_t first = w;
		while (w < c->nwork && c->work[w].nsec3 && c->work[w].entry == i) {
			w++;
		}
		ret = signed_node(c, zone_nsec3_node(z, i), &c->work[first], w - first,
		                  &nsec3[nnsec3]);
		nnsec3 += ret == SIGN_OK;
		zone_consume(z, true, i);
	}
	zone_t *r = NULL;
	if (ret == SIGN_OK) {
		ret = zone_new(z->apex, all, nall, &r, NULL);
		nall = 0; /* taken over */
	}
	if (ret == SIGN_OK) {
		ret = zone_set_nsec3(r, nsec3, nnsec3);
		nnsec3 = 0;
	}
	for (size_t i = 0; i < nall; i++) {
		zone_node_unref(all[i]);
	}
	for (size_t i = 0; i < nnsec3; i++) {
		zone_node_unref(nsec3[i]);
	}
	free(all);
	free(nsec3);
	if (ret != SIGN_OK) {
		zone_free(r);
		return ret;
	}
	*out = r;
	return SIGN_OK;
}

/* --- verification --- */

static void verify_report(void *arg, const sign_verify_failure_t *f)
{
	const ctx_t *c = arg;
	char tbuf[16];
	if (f->has_key) {
		report(c, SIGN_ZONE_ERROR, "verify: %s %s: key %u/%u: %s%s%s", f->owner_text,
		       f->type ? type_name(f->type, tbuf, sizeof(tbuf)) : "(name)", f->key_tag,
		       f->algorithm, sign_verify_reason_str(f->reason), f->detail[0] ? ": " : "",
		       f->detail);
	} else {
		report(c, SIGN_ZONE_ERROR, "verify: %s %s: %s%s%s", f->owner_text,
		       f->type ? type_name(f->type, tbuf, sizeof(tbuf)) : "(name)",
		       sign_verify_reason_str(f->reason), f->detail[0] ? ": " : "", f->detail);
	}
}

/* One thread's share of the crypto check. */
typedef struct {
	const sign_verify_t *v;
	const sign_verify_item_t *items;
	size_t n;
	sign_verify_counts_t counts;
	int ret;
} verify_share_t;

static void *verify_thread(void *arg)
{
	verify_share_t *sh = arg;
	sh->ret = sign_verify_rrsigs(sh->v, sh->items, sh->n, &sh->counts);
	return NULL;
}

/* Checks the new signatures with OpenSSL, split among the pipeline's
 * worker count of threads. */
static int verify_crypto(ctx_t *c, const sign_verify_t *v, const sign_verify_item_t *items,
                         size_t n)
{
	unsigned nthreads = c->stats->workers > 0 ? c->stats->workers : 1;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu > 0 && nthreads > (unsigned)ncpu) {
		nthreads = (unsigned)ncpu;
	}
	if (n < 1000) {
		nthreads = 1;
	}
	verify_share_t shares[64];
	pthread_t tids[64];
	nthreads = nthreads > 64 ? 64 : nthreads;
	size_t per = (n + nthreads - 1) / nthreads, started = 0;
	for (unsigned t = 0; t < nthreads; t++) {
		size_t from = t * per, to = from + per < n ? from + per : n;
		shares[t] = (verify_share_t){
		        .v = v, .items = items + from, .n = to > from ? to - from : 0};
		if (t > 0 && pthread_create(&tids[t], NULL, verify_thread, &shares[t]) == 0) {
			started |= 1u << (t % 32);
		} else if (t > 0) {
			verify_thread(&shares[t]);
		}
	}
	verify_thread(&shares[0]);
	int ret = SIGN_OK;
	for (unsigned t = 0; t < nthreads; t++) {
		if (t > 0 && (started & (1u << (t % 32)))) {
			pthread_join(tids[t], NULL);
		}
		c->stats->verified += shares[t].counts.verified;
		if (shares[t].ret != SIGN_OK && ret == SIGN_OK) {
			ret = shares[t].ret;
		}
	}
	return ret;
}

/* Checks with crypto every RRSIG of each RRset that got new ones, read from
 * the new version z itself (what will be published), so that the pass's
 * batches are freed already. */
static int verify_created(ctx_t *c, const sign_verify_t *v, const zone_t *z)
{
	if (!c->params->verify_crypto || c->ncreated == 0) {
		return SIGN_OK;
	}
	size_t total = 0, n = 0;
	for (size_t w = 0; w < c->nwork; w++) {
		const work_t *wk = &c->work[w];
		total += wk->ncreated > 0 ? (size_t)wk->ncreated + wk->nreused : 0;
	}
	sign_verify_item_t *items = malloc((total + 1) * sizeof(*items));
	int ret = items != NULL ? SIGN_OK : SIGN_ERR_NOMEM;
	for (size_t w = 0; w < c->nwork && ret == SIGN_OK; w++) {
		const work_t *wk = &c->work[w];
		if (wk->ncreated == 0) {
			continue;
		}
		const zone_node_t *node =
		        wk->nsec3 ? zone_nsec3_node(z, wk->entry) : zone_entry(z, wk->entry)->node;
		const zone_slot_t *slot = &node->slots[wk->slot];
		size_t pos = 0;
		zone_rdata_t rd;
		while (slot->sigs != NULL && n < total && zone_rrset_next(slot->sigs, &pos, &rd)) {
			items[n++] = (sign_verify_item_t){node, slot->data->type, rd.data, rd.len};
		}
	}
	if (ret == SIGN_OK) {
		ret = verify_crypto(c, v, items, n);
	}
	free(items);
	return ret;
}

/* The pass's verdict from its three checks: the first error that is not a
 * verification failure, else SIGN_ERR_VERIFY if any check failed. */
static int verdict(int coverage, int chain, int crypto)
{
	const int all[] = {coverage, chain, crypto};
	for (size_t i = 0; i < 3; i++) {
		if (all[i] != SIGN_OK && all[i] != SIGN_ERR_VERIFY) {
			return all[i];
		}
	}
	return coverage != SIGN_OK || chain != SIGN_OK || crypto != SIGN_OK ? SIGN_ERR_VERIFY
	                                                                    : SIGN_OK;
}

/* Verifies z: the whole zone (names NULL), or only around names and the
 * NSEC3 owners nsec3 (an incremental pass). */
static int verify(ctx_t *c, const zone_t *z, const zone_names_t *names, const zone_names_t *nsec3)
{
	sign_verify_config_t cfg = {
	        .now = c->params->timing.now,
	        .refresh = c->params->timing.refresh,
	        .max_failures = 50,
	        .report = verify_report,
	        .report_ctx = c,
	        .keyset = c->ks,
	};
	sign_verify_t *v = NULL;
	int ret = sign_verify_new(z, &cfg, &v);
	if (ret != SIGN_OK) {
		return ret;
	}
	sign_verify_counts_t counts = {0};
	int coverage, chain;
	if (names == NULL) {
		coverage = sign_verify_coverage(v, &counts);
		chain = sign_verify_chain(v, &counts);
	} else {
		coverage = sign_verify_coverage_names(v, names, nsec3, &counts);
		chain = sign_verify_chain_names(v, names, &counts);
	}
	int crypto = verify_created(c, v, z);
	sign_verify_free(v);
	return verdict(coverage, chain, crypto);
}

/* --- the pass --- */

static void ctx_deinit(ctx_t *c)
{
	for (size_t i = 0; i < c->nbatches; i++) {
		sign_batch_free(c->batches[i]);
	}
	free(c->batches);
	free(c->work);
	free(c->reused);
	free(c->created);
	free(c->sigs);
	sign_plan_deinit(&c->plan);
	sign_pipeline_free(c->pipeline);
}

static unsigned pick_workers(const ctx_t *c, sign_zone_stats_t *stats)
{
	if (c->params->threads > 0) {
		return c->params->threads;
	}
	for (size_t i = 0; i < c->ks->count; i++) {
		const sign_key_t *k = &c->ks->keys[i];
		if ((k->active || k->active_keyset) && k->key.token != NULL) {
			return sign_pipeline_default_workers(&c->ks->keys[i], &stats->latency_us);
		}
	}
	return 1;
}

/* Starts a pass: c set up, the timing checked (reported). */
static int ctx_init(ctx_t *c, const zone_t *in, const zone_t *prev, const sign_keyset_t *ks,
                    const sign_zone_params_t *params, sign_zone_stats_t *stats)
{
	memset(stats, 0, sizeof(*stats));
	stats->keyset_digest = sign_keyset_digest(ks);
	*c = (ctx_t){.params = params, .ks = ks, .prev = prev, .apex = in->apex, .stats = stats};
	sign_plan_init(&c->plan);
	RAND_bytes((unsigned char *)&c->rng, sizeof(c->rng));
	int ret = sign_plan_timing_check(&params->timing);
	if (ret != SIGN_OK) {
		report(c, SIGN_ZONE_ERROR,
		       "validity %us is not above inception offset %us + refresh %us",
		       params->timing.validity, params->timing.inception_offset,
		       params->timing.refresh);
		sign_plan_deinit(&c->plan);
	}
	return ret;
}

/* Whether ks publishes no key: the zone goes out unsigned (a zone under a
 * policy that went insecure). */
static bool publishes_nothing(const sign_keyset_t *ks)
{
	for (size_t i = 0; i < ks->count; i++) {
		if (ks->keys[i].published) {
			return false;
		}
	}
	return true;
}

/* z without DNSSEC: no RRSIG, NSEC, NSEC3 (nodes too), NSEC3PARAM, DNSKEY,
 * CDS or CDNSKEY. */
static int strip_dnssec(const zone_t *z, zone_t **out)
{
	zone_node_t **changed = calloc(z->count + 1, sizeof(*changed));
	size_t n = 0;
	int ret = changed != NULL ? ZONE_OK : ZONE_ERR_NOMEM;
	for (size_t i = 0; ret == ZONE_OK && i < z->count; i++) {
		const zone_node_t *node = zone_entry(z, i)->node;
		zone_slot_t *keep = calloc(node->nslots + 1u, sizeof(*keep));
		size_t k = 0;
		bool touched = false;
		for (size_t s = 0; keep != NULL && s < node->nslots; s++) {
			const zone_slot_t *slot = &node->slots[s];
			if (slot->data == NULL || zone_type_signer_made(slot->data->type)) {
				touched = touched || slot->data != NULL || slot->sigs != NULL;
				continue;
			}
			touched = touched || slot->sigs != NULL;
			keep[k++] = (zone_slot_t){slot->data, NULL};
		}
		if (keep == NULL) {
			ret = ZONE_ERR_NOMEM;
		} else if (touched) {
			ret = zone_node_new(node->owner, keep, k, &changed[n]);
			n += ret == ZONE_OK;
		}
		free(keep);
	}
	if (ret == ZONE_OK) {
		ret = zone_replace(z, changed, n, out, NULL);
	} else {
		for (size_t i = 0; i < n; i++) {
			zone_node_unref(changed[i]);
		}
	}
	free(changed);
	return ret == ZONE_ERR_NOMEM ? SIGN_ERR_NOMEM : ret;
}

int sign_zone(const zone_t *in, const zone_t *prev, const sign_keyset_t *ks,
              const sign_zone_params_t *params, zone_t **out, sign_zone_stats_t *stats)
{
	ctx_t c;
	int ret = ctx_init(&c, in, prev, ks, params, stats);
	if (ret != SIGN_OK) {
		return ret;
	}
	zone_t *z1 = NULL, *z2 = NULL, *z3 = NULL;
	double t0 = now_s();
	ret = with_apex(&c, in, &z1, NULL);
	if (c.held[0] != '\0') {
		report(&c, SIGN_ZONE_WARNING, "%s", c.held);
	}
	if (ret == SIGN_OK && publishes_nothing(ks)) {
		/* No DNSKEY: nothing a validator could check; served unsigned. */
		ret = strip_dnssec(z1, &z3);
		zone_free(z1);
		ctx_deinit(&c);
		if (ret == SIGN_OK) {
			*out = z3;
		}
		return ret;
	}
	if (ret == SIGN_OK) {
		nsec3_collision_t coll;
		ret = params->nsec3 ? nsec3_build(z1, &params->nsec3_params, &z2, &coll)
		                    : nsec_build(z1, &z2);
		if (ret == NSEC_ERR_COLLISION) {
			char a[DNAME_STR_MAXLEN], b[DNAME_STR_MAXLEN];
			dname_to_str(coll.name1, a, sizeof(a));
			dname_to_str(coll.name2, b, sizeof(b));
			report(&c, SIGN_ZONE_ERROR,
			       "NSEC3 hash collision between %s and %s: choose another salt", a, b);
		} else if (ret != NSEC_OK) {
			report(&c, SIGN_ZONE_ERROR, "building the %s chain: %s",
			       params->nsec3 ? "NSEC3" : "NSEC",
			       ret <= -1300 && ret > -1400 ? nsec_strerror(ret)
			                                   : zone_strerror(ret));
		}
	}
	zone_free(z1); /* z2 shares what it needs */
	z1 = NULL;
	double t1 = now_s();
	stats->t_chain = t1 - t0;
	if (ret == SIGN_OK) {
		stats->workers = pick_workers(&c, stats);
		ret = sign_pipeline_new(stats->workers, &c.pipeline);
	}
	if (ret == SIGN_OK) {
		ret = plan_all(&c, z2);
		/* Even after a planning error, wait for what was queued. */
		sign_pipeline_wait(c.pipeline, params->progress, params->ctx);
		stats->created = c.ncreated;
	}
	if (ret == SIGN_OK) {
		ret = check_jobs(&c, z2);
	}
	if (ret == SIGN_OK) {
		ret = compact(&c);
	}
	if (ret == SIGN_OK) {
		ret = merge(&c, z2, &z3);
	}
	double t2 = now_s();
	stats->t_sign = t2 - t1;
	/* The signatures are in z3 now: give back the batches and the
	 * intermediate version before verifying (the memory peak). */
	for (size_t i = 0; i < c.nbatches; i++) {
		sign_batch_free(c.batches[i]);
		c.batches[i] = NULL;
	}
	zone_free(z2);
	z2 = NULL;
	if (ret == SIGN_OK) {
		ret = verify(&c, z3, NULL, NULL);
	}
	stats->t_verify = now_s() - t2;
	ctx_deinit(&c);
	zone_free(z1);
	zone_free(z2);
	if (ret != SIGN_OK) {
		zone_free(z3);
		return ret;
	}
	*out = z3;
	return SIGN_OK;
}

/* --- the incremental pass --- */

/* Whether prev can be the base of an incremental pass to z1 (in with its
 * apex set): the same DNSKEY RRset and NSEC/NSEC3 TTL, and a chain of the
 * kind and parameters params ask for. */
static bool same_setup(const ctx_t *c, const zone_t *z1, const zone_t *prev)
{
	const zone_rrset_t *ka = zone_apex_rrset(z1, ZONE_TYPE_DNSKEY);
	const zone_rrset_t *kb = zone_apex_rrset(prev, ZONE_TYPE_DNSKEY);
	uint32_t ta = 0, tb = 0;
	if (ka == NULL || kb == NULL || !zone_rrset_equal(ka, kb) || nsec_ttl(z1, &ta) != NSEC_OK ||
	    nsec_ttl(prev, &tb) != NSEC_OK || ta != tb) {
		return false;
	}
	const zone_rrset_t *param = zone_apex_rrset(prev, ZONE_TYPE_NSEC3PARAM);
	const nsec3_params_t *p = &c->params->nsec3_params;
	if (!c->params->nsec3) {
		return param == NULL && prev->nsec3_count == 0;
	}
	zone_rdata_t rd;
	size_t pos = 0;
	if (param == NULL || prev->nsec3_count == 0 || param->count != 1 ||
	    !zone_rrset_next(param, &pos, &rd) || rd.len != 5u + p->salt_len ||
	    rd.data[0] != NSEC3_ALG_SHA1 || rd.data[1] != 0 ||
	    rd.data[2] != (uint8_t)(p->iterations >> 8) || rd.data[3] != (uint8_t)p->iterations ||
	    rd.data[4] != p->salt_len || memcmp(rd.data + 5, p->salt, p->salt_len) != 0) {
		return false;
	}
	/* The opt-out flag is not in the NSEC3PARAM: read it in the chain. */
	const zone_slot_t *n3 = zone_node_find(zone_nsec3_node(prev, 0), ZONE_TYPE_NSEC3);
	pos = 0;
	return n3 != NULL && zone_rrset_next(n3->data, &pos, &rd) && rd.len > 1 &&
	       (rd.data[1] & NSEC3_FLAG_OPT_OUT) == (p->opt_out ? NSEC3_FLAG_OPT_OUT : 0);
}

/* Whether key k makes RRSIGs over the SOA RRset (an active ZSK or CSK, not
 * revoked). */
static bool signs_soa(const sign_key_t *k)
{
	return k->active && !k->revoked && sign_keyset_signs_type(k, ZONE_TYPE_SOA);
}

/* Whether ks has a key with alg and tag that may have made an RRSIG over
 * type at prev's apex under the inferred rule (sign_zone.h): a published
 * key that makes SOA RRSIGs (type SOA), or makes or keeps RRSIGs (other
 * types). */
static bool apex_signer(const sign_keyset_t *ks, uint8_t alg, uint16_t tag, uint16_t type)
{
	for (size_t i = 0; i < ks->count; i++) {
		const sign_key_t *k = &ks->keys[i];
		if (k->alg->number == alg && k->tag == tag && k->published &&
		    (type == ZONE_TYPE_SOA ? signs_soa(k) : sign_keyset_signs(k))) {
			return true;
		}
	}
	return false;
}

/* Whether prev was signed with a key set that signs as c->ks does, so that
 * the RRsets an incremental pass leaves alone keep the right RRSIGs
 * (sign_zone.h, sign_zone_update): the digest when the caller knows prev's,
 * else inferred from prev's apex. */
static bool same_keys(const ctx_t *c, const zone_t *prev)
{
	const sign_keyset_t *ks = c->ks;
	if (c->params->prev_keyset_digest != 0) {
		return c->params->prev_keyset_digest == c->stats->keyset_digest;
	}
	size_t nsoa = 0;
	for (size_t i = 0; i < ks->count; i++) {
		const sign_key_t *k = &ks->keys[i];
		if (!k->published && sign_keyset_signs(k)) {
			return false; /* an algorithm rollover's first or last steps */
		}
		nsoa += signs_soa(k);
	}
	size_t at = 0;
	if (!zone_find(prev, prev->apex, &at)) {
		return false;
	}
	const zone_node_t *apex = zone_entry(prev, at)->node;
	size_t soa_signers = 0;
	for (size_t s = 0; s < apex->nslots; s++) {
		const zone_slot_t *slot = &apex->slots[s];
		size_t pos = 0;
		zone_rdata_t rd;
		while (slot->sigs != NULL && zone_rrset_next(slot->sigs, &pos, &rd)) {
			sign_rrsig_t f;
			if (sign_rrsig_parse(rd.data, rd.len, c->params->timing.now, &f, NULL,
			                     NULL) != SIGN_OK ||
			    !apex_signer(ks, f.algorithm, f.key_tag, slot->data->type)) {
				return false;
			}
			soa_signers += slot->data->type == ZONE_TYPE_SOA;
		}
	}
	/* Each SOA RRSIG is by a key that makes one now (above), one each (the
	 * planner keeps one per key): as many as those keys, every one. */
	return soa_signers == nsoa;
}

/* Adds to out the owners of the nodes of s holding an RRSIG that expires
 * at or before `before` (absolute; the bound the daemon's re-signing time
 * and sign_plan's refresh use too, else a pass at that time re-signs
 * nothing and the zone stays due): their RRsets are refreshed by an
 * incremental pass. Chunks whose earliest expiration is later are skipped unread. At
 * most max names in out, else *over. */
static int due_names(const zone_seq_t *s, int64_t now, int64_t before, size_t max,
                     zone_names_t *out, bool *over)
{
	for (size_t k = 0; k < s->nchunks; k++) {
		zone_seq_stats_t st;
		zone_seq_chunk_stats(s, k, now, &st);
		if (st.min_expiration > before) {
			continue;
		}
		const zone_seq_chunk_t *c = s->chunks[k];
		for (uint32_t i = 0; i < c->count; i++) {
			const zone_node_t *n = c->e[i].node;
			bool due = false;
			for (size_t j = 0; j < n->nslots && !due; j++) {
				size_t pos = 0;
				zone_rdata_t rd;
				while (!due && n->slots[j].sigs != NULL &&
				       zone_rrset_next(n->slots[j].sigs, &pos, &rd)) {
					sign_rrsig_t f;
					due = sign_rrsig_parse(rd.data, rd.len, now, &f, NULL,
					                       NULL) != SIGN_OK ||
					      f.expiration <= before;
				}
			}
			if (!due) {
				continue;
			}
			if (out->n >= max) {
				*over = true;
				return SIGN_OK;
			}
			if (zone_names_add(out, n->owner) != ZONE_OK) {
				return SIGN_ERR_NOMEM;
			}
		}
	}
	return SIGN_OK;
}

/* Indexes (sorted, distinct) of the names of l present in the names of z
 * (nsec3 false) or among its NSEC3 nodes. */
static size_t *indexes_of(const zone_t *z, const zone_names_t *l, bool nsec3, size_t *n)
{
	size_t *v = malloc((l->n + 1) * sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; v != NULL && i < l->n; i++) {
		size_t at = 0;
		if (nsec3 ? zone_find_nsec3(z, l->names[i], &at) : zone_find(z, l->names[i], &at)) {
			v[k++] = at;
		}
	}
	if (v != NULL && k > 1) {
		qsort(v, k, sizeof(*v), index_cmp);
		size_t w = 1;
		for (size_t i = 1; i < k; i++) {
			if (v[i] != v[w - 1]) {
				v[w++] = v[i];
			}
		}
		k = w;
	}
	*n = k;
	return v;
}

/* Plans the RRsets at the names idx[0..n) (NSEC3 nodes: nsec3). */
static int plan_some(ctx_t *c, const zone_t *z, const size_t *idx, size_t n, bool nsec3)
{
	for (size_t k = 0; k < n; k++) {
		const zone_entry_t *e = nsec3 ? NULL : zone_entry(z, idx[k]);
		const zone_node_t *node = nsec3 ? zone_nsec3_node(z, idx[k]) : e->node;
		for (size_t s = 0; s < node->nslots; s++) {
			if (e != NULL && !zone_is_signed(e, node->slots[s].data->type)) {
				continue;
			}
			int ret = plan_rrset(c, node, idx[k], s, nsec3);
			if (ret != SIGN_OK) {
				return ret;
			}
		}
	}
	return SIGN_OK;
}

/* The new nodes of the names idx[0..n) (work items from *w on, in the
 * same order), into nodes (*count of them so far). */
static int merge_some(ctx_t *c, const zone_t *z, const size_t *idx, size_t n, bool nsec3, size_t *w,
                      zone_node_t **nodes, size_t *count)
{
	for (size_t k = 0; k < n; k++) {
		size_t first = *w;
		while (*w < c->nwork && c->work[*w].nsec3 == nsec3 && c->work[*w].entry == idx[k]) {
			(*w)++;
		}
		const zone_node_t *node =
		        nsec3 ? zone_nsec3_node(z, idx[k]) : zone_entry(z, idx[k])->node;
		bool stale = false;
		for (size_t s = 0; s < node->nslots; s++) {
			stale = stale || node->slots[s].sigs != NULL;
		}
		if (*w == first && !stale) {
			continue;
		}
		int ret = signed_node(c, node, &c->work[first], *w - first, &nodes[*count]);
		if (ret != SIGN_OK) {
			return ret;
		}
		(*count)++;
	}
	return SIGN_OK;
}

int sign_zone_update(const zone_t *in, const zone_t *prev, const sign_keyset_t *ks,
                     const sign_zone_params_t *params, zone_t **out, sign_zone_stats_t *stats)
{
	if (publishes_nothing(ks)) {
		return SIGN_ERR_WHOLE; /* an unsigned zone: sign_zone strips it */
	}
	ctx_t c;
	int ret = ctx_init(&c, in, prev, ks, params, stats);
	if (ret != SIGN_OK) {
		return ret;
	}
	zone_names_t dirty = {0}, nsec3 = {0}, due3 = {0}, chain = {0};
	zone_t *z1 = NULL, *z2 = NULL, *z3 = NULL;
	size_t *idx = NULL, *idx3 = NULL, nidx = 0, nidx3 = 0;
	zone_node_t **nodes = NULL;
	size_t nnodes = 0, nnodes3 = 0;
	double t0 = now_s();
	bool over = false;
	/* A change to a large part of the zone is as quick in one whole pass. */
	size_t max = in->count / 16 + 64;
	ret = zone_changed_names(prev, in, max, &dirty, &over);
	/* Signatures due for refresh: their names are re-signed too. */
	int64_t before = params->timing.now + params->timing.refresh;
	if (ret == ZONE_OK && !over) {
		ret = due_names(&in->names, params->timing.now, before, max, &dirty, &over);
	}
	if (ret == SIGN_OK && !over) {
		ret = due_names(&in->nsec3, params->timing.now, before, max, &due3, &over);
	}
	if (ret == SIGN_OK && over) {
		ret = SIGN_ERR_WHOLE;
	}
	if (ret == SIGN_OK) {
		ret = with_apex(&c, in, &z1, &dirty);
	}
	if (ret == SIGN_OK && (!same_setup(&c, z1, prev) || !same_keys(&c, prev))) {
		ret = SIGN_ERR_WHOLE;
	}
	/* An input without the NSEC3PARAM (a whole zone pushed again): the
	 * whole pass puts it back; the incremental chain update does not. */
	if (ret == SIGN_OK && params->nsec3 && zone_apex_rrset(in, ZONE_TYPE_NSEC3PARAM) == NULL) {
		ret = SIGN_ERR_WHOLE;
	}
	if (ret == SIGN_OK && c.held[0] != '\0') {
		report(&c, SIGN_ZONE_WARNING, "%s", c.held);
	}
	if (ret == SIGN_OK) {
		/* dirty grows with the names whose NSEC changed: what is planned
		 * and verified. */
		ret = params->nsec3
		              ? nsec3_update(z1, &params->nsec3_params, &dirty, &z2, &nsec3, NULL)
		              : nsec_update(z1, &dirty, &z2, &chain);
		for (size_t i = 0; i < chain.n && ret == SIGN_OK; i++) {
			ret = zone_names_add(&dirty, chain.names[i]);
		}
		for (size_t i = 0; i < due3.n && ret == SIGN_OK; i++) {
			ret = zone_names_add(&nsec3, due3.names[i]);
		}
		if (ret == NSEC_ERR_COLLISION) {
			ret = SIGN_ERR_WHOLE; /* the whole pass names both names */
		} else if (ret != NSEC_OK) {
			report(&c, SIGN_ZONE_ERROR, "updating the %s chain: %s",
			       params->nsec3 ? "NSEC3" : "NSEC",
			       ret <= -1300 && ret > -1400 ? nsec_strerror(ret)
			                                   : zone_strerror(ret));
		}
	}
	if (ret == SIGN_OK) {
		idx = indexes_of(z2, &dirty, false, &nidx);
		idx3 = indexes_of(z2, &nsec3, true, &nidx3);
		nodes = malloc((nidx + nidx3 + 1) * sizeof(*nodes));
		ret = idx != NULL && idx3 != NULL && nodes != NULL ? SIGN_OK : SIGN_ERR_NOMEM;
	}
	double t1 = now_s();
	stats->t_chain = t1 - t0;
	if (ret == SIGN_OK) {
		/* A few signatures: one worker, no latency probe. */
		stats->workers = 1;
		ret = sign_pipeline_new(stats->workers, &c.pipeline);
	}
	if (ret == SIGN_OK) {
		ret = plan_some(&c, z2, idx, nidx, false);
		if (ret == SIGN_OK) {
			ret = plan_some(&c, z2, idx3, nidx3, true);
		}
		if (c.current != NULL && c.current->count > 0) {
			sign_pipeline_submit(c.pipeline, c.current);
		}
		c.current = NULL;
		sign_pipeline_wait(c.pipeline, params->progress, params->ctx);
		stats->created = c.ncreated;
	}
	if (ret == SIGN_OK) {
		ret = check_jobs(&c, z2);
	}
	if (ret == SIGN_OK) {
		ret = compact(&c);
	}
	size_t w = 0;
	if (ret == SIGN_OK) {
		ret = merge_some(&c, z2, idx, nidx, false, &w, nodes, &nnodes);
	}
	if (ret == SIGN_OK) {
		ret = merge_some(&c, z2, idx3, nidx3, true, &w, nodes + nnodes, &nnodes3);
	}
	if (ret == SIGN_OK) {
		ret = zone_update(z2, nodes, nnodes, nodes + nnodes, nnodes3, &z3, NULL, NULL);
		nnodes = nnodes3 = 0;
	}
	double t2 = now_s();
	stats->t_sign = t2 - t1;
	if (ret == SIGN_OK) {
		ret = verify(&c, z3, &dirty, &nsec3);
	}
	stats->t_verify = now_s() - t2;
	for (size_t i = 0; i < nnodes + nnodes3; i++) {
		zone_node_unref(nodes[i]);
	}
	free(nodes);
	free(idx);
	free(idx3);
	zone_names_deinit(&dirty);
	zone_names_deinit(&nsec3);
	zone_names_deinit(&due3);
	zone_names_deinit(&chain);
	ctx_deinit(&c);
	zone_free(z1);
	zone_free(z2);
	if (ret != SIGN_OK) {
		zone_free(z3);
		return ret;
	}
	stats->incremental = true;
	*out = z3;
	return SIGN_OK;
}
