#include "signer/sign/sign_plan.h"

#include <stdlib.h>
#include <string.h>

#include "hsm/hsm_error.h"
#include "signer/sign/sign_error.h"
#include "signer/zone/dname.h"

/* A key's reused RRSIG so far: its item (SIZE_MAX: none) and expiration. */
struct sign_plan_kept {
	size_t item;
	int64_t expiration;
};

void sign_plan_init(sign_plan_t *plan)
{
	memset(plan, 0, sizeof(*plan));
	sign_rrsig_buf_init(&plan->buf);
}

void sign_plan_deinit(sign_plan_t *plan)
{
	free(plan->items);
	free(plan->kept);
	sign_rrsig_buf_deinit(&plan->buf);
	sign_plan_init(plan);
}

int sign_plan_timing_check(const sign_plan_timing_t *t)
{
	uint64_t lead = (uint64_t)t->inception_offset + t->refresh;
	uint64_t span = (uint64_t)t->inception_offset + t->validity + t->jitter;
	if (t->validity <= lead || span >= 0x80000000u) {
		return SIGN_ERR_TIMING;
	}
	return SIGN_OK;
}

void sign_plan_window(const sign_plan_timing_t *t, uint64_t random, int64_t *inception,
                      int64_t *expiration)
{
	uint64_t extra = t->jitter > 0 ? random % ((uint64_t)t->jitter + 1) : 0;
	*inception = t->now - (int64_t)t->inception_offset;
	*expiration = *inception + (int64_t)t->validity + (int64_t)extra;
}

/* Whether key makes RRSIGs over type: its role, and RFC 5011 (a revoked key
 * signs the DNSKEY RRset only). */
static bool key_signs(const sign_key_t *key, uint16_t type)
{
	return sign_keyset_signs_type(key, type) && (!key->revoked || type == ZONE_TYPE_DNSKEY);
}

/* Whether key makes new RRSIGs over type (sign_key_t.active_keyset for its
 * key-set signatures, active for the rest). */
static bool key_active(const sign_key_t *key, uint16_t type)
{
	return sign_keyset_keyset_sig(key, type) ? key->active_keyset : key->active;
}

static int reserve(sign_plan_t *plan, size_t items, size_t keys)
{
	if (items > plan->cap) {
		sign_plan_item_t *p = realloc(plan->items, items * sizeof(*p));
		if (p == NULL) {
			return SIGN_ERR_NOMEM;
		}
		plan->items = p;
		plan->cap = items;
	}
	if (keys > plan->kept_cap) {
		struct sign_plan_kept *p = realloc(plan->kept, keys * sizeof(*p));
		if (p == NULL) {
			return SIGN_ERR_NOMEM;
		}
		plan->kept = p;
		plan->kept_cap = keys;
	}
	return SIGN_OK;
}

/* The key of the key set (published or not) that made the RRSIG f
 * (signature sig) over in->data: found by algorithm and tag; when several
 * keys share both, the one whose verification key accepts the signature.
 * *out = NULL if none. */
static int find_key(sign_plan_t *plan, const sign_keyset_t *ks, const sign_rrsig_t *f,
                    const uint8_t *sig, size_t sig_len, const sign_plan_input_t *in,
                    const sign_key_t **out)
{
	size_t pos = 0;
	const sign_key_t *first = sign_keyset_find(ks, f->algorithm, f->key_tag, &pos);
	const sign_key_t *other =
	        first != NULL ? sign_keyset_find(ks, f->algorithm, f->key_tag, &pos) : NULL;
	*out = other == NULL ? first : NULL;
	if (other == NULL) {
		return SIGN_OK;
	}
	int ret = sign_rrsig_signed_data(&plan->buf, f, in->owner, in->data);
	if (ret != SIGN_OK) {
		return ret == SIGN_ERR_RRSIG ? SIGN_OK : ret;
	}
	pos = 0;
	const sign_key_t *k;
	while ((k = sign_keyset_find(ks, f->algorithm, f->key_tag, &pos)) != NULL) {
		if (k->verify != NULL && hsm_verify_sig(k->verify, plan->buf.data, plan->buf.len,
		                                        sig, sig_len) == HSM_OK) {
			*out = k;
			break;
		}
	}
	return SIGN_OK;
}

/* Decides about one old RRSIG: sets item->why, ->key, and *exp. */
static int judge(sign_plan_t *plan, const sign_plan_timing_t *t, const sign_keyset_t *ks,
                 const sign_plan_input_t *in, bool unchanged, sign_plan_item_t *item, int64_t *exp)
{
	sign_rrsig_t f;
	const uint8_t *sig = NULL;
	size_t sig_len = 0;
	if (sign_rrsig_parse(item->old.data, item->old.len, t->now, &f, &sig, &sig_len) !=
	    SIGN_OK) {
		item->why = SIGN_PLAN_WHY_MALFORMED;
		return SIGN_OK;
	}
	*exp = f.expiration;
	const sign_key_t *key = NULL;
	int ret = SIGN_OK;
	if (f.type_covered != in->data->type || f.labels != dname_rrsig_labels(in->owner) ||
	    f.original_ttl != in->data->ttl || !dname_equal(f.signer, in->signer)) {
		item->why = SIGN_PLAN_WHY_FIELDS;
	} else if (!unchanged) {
		item->why = SIGN_PLAN_WHY_CHANGED;
	} else if ((ret = find_key(plan, ks, &f, sig, sig_len, in, &key)) != SIGN_OK) {
		return ret;
	} else if (key == NULL) {
		item->why = SIGN_PLAN_WHY_NO_KEY;
	} else if (!key_signs(key, in->data->type)) {
		item->why = SIGN_PLAN_WHY_ROLE;
	} else if (!key_active(key, in->data->type) && !key->retained) {
		item->why = SIGN_PLAN_WHY_INACTIVE;
	} else if (f.inception > t->now) {
		item->why = SIGN_PLAN_WHY_NOT_YET;
	} else if (f.expiration - (int64_t)t->refresh <= t->now) {
		item->why = SIGN_PLAN_WHY_EXPIRING;
	} else {
		item->why = SIGN_PLAN_WHY_VALID;
		item->action = SIGN_PLAN_REUSE;
	}
	item->key = key;
	return SIGN_OK;
}

/* The first algorithm of a published, unrevoked key that no REUSE or CREATE
 * item of a published key covers, or 0: an RRSIG by a key whose DNSKEY is
 * not published validates nothing. */
static uint8_t find_gap(const sign_plan_t *plan, const sign_keyset_t *ks)
{
	for (size_t j = 0; j < ks->count; j++) {
		const sign_key_t *k = &ks->keys[j];
		if (!k->published || k->revoked) {
			continue;
		}
		bool covered = false;
		for (size_t i = 0; i < plan->count && !covered; i++) {
			const sign_plan_item_t *it = &plan->items[i];
			covered = it->action != SIGN_PLAN_DROP && it->key->published &&
			          it->key->alg->number == k->alg->number;
		}
		if (!covered) {
			return k->alg->number;
		}
	}
	return 0;
}

int sign_plan_rrset(sign_plan_t *plan, const sign_plan_timing_t *t, const sign_keyset_t *ks,
                    const sign_plan_input_t *in, uint8_t *gap_alg)
{
	size_t nold = in->old_sigs != NULL ? in->old_sigs->count : 0;
	plan->count = plan->reuse = plan->create = plan->drop = 0;
	int ret = reserve(plan, nold + ks->count, ks->count);
	if (ret != SIGN_OK) {
		return ret;
	}
	struct sign_plan_kept *best = plan->kept;
	for (size_t j = 0; j < ks->count; j++) {
		best[j].item = SIZE_MAX;
	}
	bool unchanged = in->old_data != NULL && zone_rrset_equal(in->data, in->old_data);
	size_t pos = 0;
	zone_rdata_t rd;
	while (in->old_sigs != NULL && zone_rrset_next(in->old_sigs, &pos, &rd)) {
		sign_plan_item_t *item = &plan->items[plan->count];
		*item = (sign_plan_item_t){SIGN_PLAN_DROP, SIGN_PLAN_WHY_MALFORMED, NULL, rd};
		int64_t exp = 0;
		if ((ret = judge(plan, t, ks, in, unchanged, item, &exp)) != SIGN_OK) {
			plan->count = 0;
			return ret;
		}
		if (item->action == SIGN_PLAN_REUSE) {
			struct sign_plan_kept *b = &best[item->key - ks->keys];
			if (b->item != SIZE_MAX && b->expiration >= exp) {
				item->action = SIGN_PLAN_DROP;
				item->why = SIGN_PLAN_WHY_DUPLICATE;
			} else {
				if (b->item != SIZE_MAX) {
					plan->items[b->item].action = SIGN_PLAN_DROP;
					plan->items[b->item].why = SIGN_PLAN_WHY_DUPLICATE;
				}
				b->item = plan->count;
				b->expiration = exp;
			}
		}
		plan->count++;
	}
	for (size_t j = 0; j < ks->count; j++) {
		const sign_key_t *k = &ks->keys[j];
		if (key_active(k, in->data->type) && best[j].item == SIZE_MAX &&
		    key_signs(k, in->data->type)) {
			plan->items[plan->count++] = (sign_plan_item_t){
			        SIGN_PLAN_CREATE, SIGN_PLAN_WHY_NEEDED, k, {NULL, 0}};
		}
	}
	uint8_t gap = find_gap(plan, ks);
	if (gap != 0) {
		plan->count = 0;
		if (gap_alg != NULL) {
			*gap_alg = gap;
		}
		return SIGN_ERR_ALGORITHM_GAP;
	}
	for (size_t i = 0; i < plan->count; i++) {
		switch (plan->items[i].action) {
		case SIGN_PLAN_REUSE:
			plan->reuse++;
			break;
		case SIGN_PLAN_CREATE:
			plan->create++;
			break;
		case SIGN_PLAN_DROP:
			plan->drop++;
			break;
		}
	}
	return SIGN_OK;
}

const char *sign_plan_action_str(sign_plan_action_t action)
{
	switch (action) {
	case SIGN_PLAN_REUSE:
		return "reuse";
	case SIGN_PLAN_CREATE:
		return "create";
	case SIGN_PLAN_DROP:
		return "drop";
	}
	return "?";
}

const char *sign_plan_why_str(sign_plan_why_t why)
{
	switch (why) {
	case SIGN_PLAN_WHY_VALID:
		return "valid";
	case SIGN_PLAN_WHY_NEEDED:
		return "needed";
	case SIGN_PLAN_WHY_MALFORMED:
		return "malformed RRSIG";
	case SIGN_PLAN_WHY_FIELDS:
		return "RRSIG fields do not match the RRset";
	case SIGN_PLAN_WHY_CHANGED:
		return "RRset changed";
	case SIGN_PLAN_WHY_NO_KEY:
		return "no key of the key set made it";
	case SIGN_PLAN_WHY_ROLE:
		return "key does not sign this type";
	case SIGN_PLAN_WHY_INACTIVE:
		return "key neither active nor retained";
	case SIGN_PLAN_WHY_NOT_YET:
		return "inception in the future";
	case SIGN_PLAN_WHY_EXPIRING:
		return "expires within the refresh period";
	case SIGN_PLAN_WHY_DUPLICATE:
		return "another RRSIG of the key is kept";
	}
	return "?";
}
