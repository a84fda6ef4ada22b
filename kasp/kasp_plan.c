#include "kasp/kasp_plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kasp/kasp_error.h"

void kasp_plan_policy_from(const kasp_policy_t *p, kasp_plan_policy_t *out)
{
	int64_t dsgn = (int64_t)p->validity - p->refresh + p->jitter;
	*out = (kasp_plan_policy_t){
	        .algorithm = p->algorithm,
	        .csk = p->csk,
	        .ksk_lifetime = p->csk ? p->key[KASP_POLICY_CSK].lifetime
	                               : p->key[KASP_POLICY_KSK].lifetime,
	        .zsk_lifetime = p->csk ? 0 : p->key[KASP_POLICY_ZSK].lifetime,
	        .double_ds = p->ksk_roll == KASP_POLICY_DOUBLE_DS,
	        .dnskey_ttl = p->dnskey_ttl,
	        .max_zone_ttl = p->max_zone_ttl,
	        .zone_propagation_delay = p->zone_propagation_delay,
	        .ds_ttl = p->parent_ds_ttl,
	        .parent_propagation_delay = p->parent_propagation_delay,
	        .poll_interval = p->poll_interval,
	        .sign_delay = dsgn > 0 ? (uint32_t)dsgn : 0,
	        .purge_after = 14 * 86400,
	        .rfc5011 = p->rfc5011,
	        .add_hold_down = p->add_hold_down,
	        .remove_hold_down = p->remove_hold_down,
	        .require_backup = p->require_backup,
	};
}

/* --- the three rules --- */

#define OMNI  KASP_OMNIPRESENT
#define RUM   KASP_RUMOURED
#define UNRET KASP_UNRETENTIVE

/* Whether a resolver may hold key k's DS. */
static bool ds_out(const kasp_key_t *k)
{
	return k->state[KASP_DS] == RUM || k->state[KASP_DS] == OMNI || k->state[KASP_DS] == UNRET;
}

static bool any_ds(const kasp_key_t *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ds_out(&keys[i])) {
			return true;
		}
	}
	return false;
}

/* Record r of key k as the rules see it: a revoked key's DNSKEY and
 * signatures lead nowhere (RFC 5011 2.1: a validator uses a revoked key for
 * nothing but checking its revocation), as if hidden. */
static kasp_state_t chain_state(const kasp_key_t *k, kasp_record_t r)
{
	if (k->revoked > 0 && r != KASP_DS && k->state[r] != KASP_NA) {
		return KASP_HIDDEN;
	}
	return k->state[r];
}

/* Whether key k's records r1, r2 (r2 may be KASP_RECORDS: none) and r3 are
 * in states s1, s2, s3, as the rules see them. */
static bool in_states(const kasp_key_t *k, kasp_record_t r1, kasp_state_t s1, kasp_record_t r2,
                      kasp_state_t s2, kasp_record_t r3, kasp_state_t s3)
{
	return chain_state(k, r1) == s1 && (r2 == KASP_RECORDS || chain_state(k, r2) == s2) &&
	       (r3 == KASP_RECORDS || chain_state(k, r3) == s3);
}

/* A pair of keys of one algorithm (alg, or any if alg < 0), one in the "in"
 * states, the other in the "out" states: a swap every cache sees one side
 * of. */
static bool swap(const kasp_key_t *keys, size_t n, int alg, kasp_record_t r1, kasp_state_t in1,
                 kasp_state_t out1, kasp_record_t r2, kasp_state_t in2, kasp_state_t out2,
                 kasp_record_t r3, kasp_state_t in3, kasp_state_t out3)
{
	for (size_t i = 0; i < n; i++) {
		if ((alg >= 0 && keys[i].algorithm != alg) ||
		    !in_states(&keys[i], r1, in1, r2, in2, r3, in3)) {
			continue;
		}
		for (size_t j = 0; j < n; j++) {
			if (j != i && keys[j].algorithm == keys[i].algorithm &&
			    in_states(&keys[j], r1, out1, r2, out2, r3, out3)) {
				return true;
			}
		}
	}
	return false;
}

static bool rule1(const kasp_key_t *keys, size_t n, bool insecure)
{
	if (insecure) {
		return true; /* the DS is meant to go */
	}
	for (size_t i = 0; i < n; i++) {
		if (keys[i].state[KASP_DS] == OMNI) {
			return true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			if (i != j && keys[i].state[KASP_DS] == RUM &&
			    keys[j].state[KASP_DS] == UNRET) {
				return true;
			}
		}
	}
	return false;
}

static bool rule2(const kasp_key_t *keys, size_t n, bool insecure)
{
	if (insecure) {
		/* Going insecure: every DS a cache may hold still leads to its
		 * DNSKEY, until no cache holds any. */
		for (size_t i = 0; i < n; i++) {
			if (ds_out(&keys[i]) && !in_states(&keys[i], KASP_DNSKEY, OMNI, KASP_KRRSIG,
			                                   OMNI, KASP_RECORDS, 0)) {
				return false;
			}
		}
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		if (in_states(&keys[i], KASP_DNSKEY, OMNI, KASP_KRRSIG, OMNI, KASP_DS, OMNI)) {
			return true; /* a whole chain */
		}
	}
	/* double-DS at the parent, the DNSKEYs in place (double-KSK's DS swap) */
	return swap(keys, n, -1, KASP_DNSKEY, OMNI, OMNI, KASP_KRRSIG, OMNI, OMNI, KASP_DS, RUM,
	            UNRET) ||
	       /* a DNSKEY swap under two DS (double-DS) */
	       swap(keys, n, -1, KASP_DNSKEY, RUM, UNRET, KASP_KRRSIG, RUM, UNRET, KASP_DS, OMNI,
	            OMNI);
}

/* Rule 3 among the keys of algorithm alg (any if alg < 0). */
static bool rule3_of(const kasp_key_t *keys, size_t n, int alg)
{
	for (size_t i = 0; i < n; i++) {
		if ((alg < 0 || keys[i].algorithm == alg) &&
		    in_states(&keys[i], KASP_DNSKEY, OMNI, KASP_ZRRSIG, OMNI, KASP_RECORDS, 0)) {
			return true;
		}
	}
	/* signatures swapped under published keys (ZSK pre-publication) */
	return swap(keys, n, alg, KASP_DNSKEY, OMNI, OMNI, KASP_ZRRSIG, RUM, UNRET, KASP_RECORDS, 0,
	            0) ||
	       /* keys swapped under both signatures (double signature) */
	       swap(keys, n, alg, KASP_DNSKEY, RUM, UNRET, KASP_ZRRSIG, OMNI, OMNI, KASP_RECORDS, 0,
	            0);
}

static bool rule3(const kasp_key_t *keys, size_t n, bool insecure)
{
	if (insecure && !any_ds(keys, n)) {
		return true;
	}
	if (!rule3_of(keys, n, -1)) {
		return false;
	}
	/* And within each algorithm a resolver may hold a DS of: a validator
	 * hardened against downgrades wants that algorithm's signatures (an
	 * old ZSK's cannot leave on the strength of the new algorithm's while
	 * its algorithm's DS lingers). */
	for (size_t i = 0; i < n; i++) {
		if (ds_out(&keys[i]) && !rule3_of(keys, n, keys[i].algorithm)) {
			return false;
		}
	}
	return true;
}

bool kasp_plan_rule(int rule, const kasp_key_t *keys, size_t n, bool insecure)
{
	switch (rule) {
	case 1:
		return rule1(keys, n, insecure);
	case 2:
		return rule2(keys, n, insecure);
	case 3:
		return rule3(keys, n, insecure);
	default:
		return false;
	}
}

/* --- one step of one record --- */

typedef struct {
	const kasp_plan_policy_t *p;
	const kasp_plan_input_t *in;
	kasp_key_t *keys; /* the planner's working copy */
	size_t n;
	kasp_plan_t *out;
	size_t nblocked;
	bool unconfirmed; /* the key being stepped waits for its backup */
} plan_t;

static void block(plan_t *P, int64_t when, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Notes what a step waits for, and when to look again (0: no time). */
static void block(plan_t *P, int64_t when, const char *fmt, ...)
{
	if (when > 0 && when < P->out->next) {
		P->out->next = when;
	}
	if (fmt == NULL || P->nblocked++ >= 4) {
		return;
	}
	size_t len = strlen(P->out->blocked);
	if (len + 3 >= sizeof(P->out->blocked)) {
		return;
	}
	if (len > 0) {
		memcpy(P->out->blocked + len, "; ", 3);
		len += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(P->out->blocked + len, sizeof(P->out->blocked) - len, fmt, ap);
	va_end(ap);
}

static kasp_state_t next_state(const kasp_key_t *k, kasp_record_t r)
{
	kasp_state_t s = k->state[r];
	if (k->goal) {
		return s == KASP_HIDDEN || s == UNRET ? RUM : s == RUM ? OMNI : s;
	}
	return s == OMNI || s == RUM ? UNRET : s == UNRET ? KASP_HIDDEN : s;
}

/* Whether a DNSKEY of k's algorithm other than k's is omnipresent: the
 * algorithm is established in the zone. */
static bool alg_established(const plan_t *P, const kasp_key_t *k)
{
	for (size_t i = 0; i < P->n; i++) {
		const kasp_key_t *o = &P->keys[i];
		if (o != k && o->algorithm == k->algorithm && o->revoked == 0 &&
		    o->state[KASP_DNSKEY] == OMNI) {
			return true;
		}
	}
	return false;
}

/* Whether another key of k's algorithm stays (its goal is to be in). */
static bool alg_stays(const plan_t *P, const kasp_key_t *k)
{
	for (size_t i = 0; i < P->n; i++) {
		const kasp_key_t *o = &P->keys[i];
		if (o != k && o->algorithm == k->algorithm && o->goal) {
			return true;
		}
	}
	return false;
}

/* Whether a key of k's algorithm other than k has a KSK chain at the
 * parent (DS omnipresent): a rollover, not an introduction. */
static bool alg_chained(const plan_t *P, const kasp_key_t *k)
{
	for (size_t i = 0; i < P->n; i++) {
		const kasp_key_t *o = &P->keys[i];
		if (o != k && o->algorithm == k->algorithm && o->state[KASP_DS] == OMNI) {
			return true;
		}
	}
	return false;
}

/* Whether the zone's data is signed everywhere by a published key of
 * algorithm alg. */
static bool alg_signed(const plan_t *P, uint8_t alg)
{
	for (size_t i = 0; i < P->n; i++) {
		const kasp_key_t *o = &P->keys[i];
		if (o->algorithm == alg && o->revoked == 0 && o->state[KASP_DNSKEY] == OMNI &&
		    o->state[KASP_ZRRSIG] == OMNI) {
			return true;
		}
	}
	return false;
}

static bool is_gone(kasp_state_t s)
{
	return s == KASP_HIDDEN || s == KASP_NA;
}

/* The KSK rollover method: double-DS unless RFC 5011 (which needs the new
 * KSK published first; the policy refuses the pair). */
static bool double_ds_method(const kasp_plan_policy_t *p)
{
	return p->double_ds && !p->rfc5011 && !p->insecure;
}

/* Whether a KSK other than k has a DS a resolver may hold: validators may
 * anchor on the zone's keys, so a new KSK is a rollover's (RFC 5011's add
 * hold-down applies), not the initial signing's. */
static bool anchored(const plan_t *P, const kasp_key_t *k)
{
	for (size_t i = 0; i < P->n; i++) {
		const kasp_key_t *o = &P->keys[i];
		if (o != k && (o->role & KASP_ROLE_KSK) && ds_out(o)) {
			return true;
		}
	}
	return false;
}

/* RFC 5011: whether retiring key k is revoked before its DNSKEY leaves:
 * every KSK or CSK whose DNSKEY is published (a validator may hold it as a
 * trust anchor, configured or added after the hold-down). */
static bool to_revoke(const plan_t *P, const kasp_key_t *k)
{
	return P->p->rfc5011 && (k->role & KASP_ROLE_KSK) && !k->goal &&
	       (k->state[KASP_DNSKEY] == RUM || k->state[KASP_DNSKEY] == OMNI);
}

/* The key's own order (see the header). Returns NULL, or why not; *wake
 * gets when time alone lifts the reason (left alone otherwise). */
static const char *order(const plan_t *P, const kasp_key_t *k, kasp_record_t r, kasp_state_t to,
                         int64_t *wake)
{
	bool secure_zone = any_ds(P->keys, P->n);
	bool method_dds = double_ds_method(P->p);
	bool double_ds = method_dds && alg_chained(P, k);
	switch (r) {
	case KASP_DS:
		if (to == RUM && !double_ds &&
		    (k->state[KASP_DNSKEY] != OMNI || k->state[KASP_KRRSIG] != OMNI)) {
			return "its DNSKEY is not yet everywhere";
		}
		if (to == RUM && !alg_signed(P, k->algorithm)) {
			return "the zone is not yet signed everywhere by its algorithm";
		}
		if (to == RUM && P->p->rfc5011 && !P->p->insecure && anchored(P, k) &&
		    P->in->now < k->changed[KASP_DNSKEY] + (int64_t)P->p->add_hold_down) {
			/* Its DNSKEY is omnipresent (above) since changed[DNSKEY]. */
			*wake = k->changed[KASP_DNSKEY] + (int64_t)P->p->add_hold_down;
			return "RFC 5011 add hold-down: validators do not yet trust its DNSKEY";
		}
		/* Double-DS withdraws the old DNSKEY first, within an algorithm;
		 * an algorithm that leaves loses its DS first (RFC 6781 4.1.4). */
		if (to == UNRET && method_dds && alg_stays(P, k) &&
		    !is_gone(k->state[KASP_DNSKEY])) {
			return "double-DS: its DNSKEY goes first";
		}
		return NULL;
	case KASP_DNSKEY:
		if (to == RUM && secure_zone && !alg_established(P, k)) {
			/* A new algorithm: its signatures everywhere first. */
			for (size_t i = 0; i < P->n; i++) {
				if (P->keys[i].algorithm == k->algorithm &&
				    P->keys[i].state[KASP_ZRRSIG] == OMNI) {
					return NULL;
				}
			}
			return "new algorithm: its signatures are not yet everywhere";
		}
		if (to == RUM && double_ds && (k->role & KASP_ROLE_KSK) &&
		    k->state[KASP_DS] != OMNI) {
			return "double-DS: its DS is not yet at the parent everywhere";
		}
		if (to == UNRET && !method_dds && !is_gone(k->state[KASP_DS])) {
			return "its DS is still at the parent";
		}
		if (to == UNRET && alg_stays(P, k) && !is_gone(k->state[KASP_ZRRSIG])) {
			return "its signatures are still in caches";
		}
		if (to == UNRET && !alg_stays(P, k)) {
			/* The algorithm leaves: after every DS of it. */
			for (size_t i = 0; i < P->n; i++) {
				if (P->keys[i].algorithm == k->algorithm &&
				    !is_gone(P->keys[i].state[KASP_DS])) {
					return "algorithm leaving: its DS goes first";
				}
			}
		}
		if (to == UNRET && to_revoke(P, k) && k->revoked == 0) {
			return "RFC 5011: it is not yet revoked";
		}
		if (to == UNRET && to_revoke(P, k) &&
		    P->in->now < k->revoked + (int64_t)P->p->remove_hold_down) {
			*wake = k->revoked + (int64_t)P->p->remove_hold_down;
			return "RFC 5011 remove hold-down: it is revoked";
		}
		return NULL;
	case KASP_ZRRSIG:
		if (to == RUM && alg_established(P, k) && k->state[KASP_DNSKEY] != OMNI) {
			return "its DNSKEY is not yet everywhere";
		}
		if (to == UNRET && secure_zone && !alg_stays(P, k)) {
			/* The algorithm leaves: its DNSKEYs go first. */
			for (size_t i = 0; i < P->n; i++) {
				if (P->keys[i].algorithm == k->algorithm &&
				    !is_gone(P->keys[i].state[KASP_DNSKEY])) {
					return "algorithm leaving: its DNSKEYs go first";
				}
			}
		}
		return NULL;
	default:
		return NULL;
	}
}

/* When a rumoured or unretentive record of k may settle (0: on evidence
 * not there yet; the caller reports). */
static int64_t settles(const plan_t *P, const kasp_key_t *k, kasp_record_t r)
{
	const kasp_plan_policy_t *p = P->p;
	int64_t t = k->changed[r];
	switch (r) {
	case KASP_DNSKEY:
	case KASP_KRRSIG:
		return t + p->dnskey_ttl + p->zone_propagation_delay;
	case KASP_ZRRSIG: {
		/* Lazily re-signed when another key of the algorithm signed the
		 * zone: every signature is replaced within sign_delay. */
		bool lazy = false;
		for (size_t i = 0; i < P->n; i++) {
			const kasp_key_t *o = &P->keys[i];
			lazy = lazy || (o != k && o->algorithm == k->algorithm &&
			                !is_gone(o->state[KASP_ZRRSIG]));
		}
		return t + p->max_zone_ttl + p->zone_propagation_delay + (lazy ? p->sign_delay : 0);
	}
	case KASP_DS: {
		int64_t evidence = k->state[r] == RUM ? k->ds_seen : k->ds_gone;
		if (evidence == 0 || evidence < t) {
			return 0;
		}
		return evidence + p->ds_ttl + p->parent_propagation_delay;
	}
	default:
		return t;
	}
}

static int add_action(kasp_plan_t *out, kasp_action_t a)
{
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 16;
		kasp_action_t *v = realloc(out->actions, cap * sizeof(*v));
		if (v == NULL) {
			return KASP_ERR_NOMEM;
		}
		out->actions = v;
		out->cap = cap;
	}
	out->actions[out->n++] = a;
	return KASP_OK;
}

/* t (UNIX seconds) as "YYYY-MM-DD HH:MM:SS UTC" in buf. */
static const char *utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
		snprintf(buf, len, "%lld", (long long)t);
	}
	return buf;
}

/* Whether the three rules hold for the working keys, or, where one does
 * not, it did not hold with k as `before` either (the initial signing).
 * Otherwise *broken gets the rule that would break. */
static bool rules_allow(plan_t *P, kasp_key_t *k, const kasp_key_t *before, int *broken)
{
	for (int rule = 1; rule <= 3; rule++) {
		if (kasp_plan_rule(rule, P->keys, P->n, P->p->insecure)) {
			continue;
		}
		kasp_key_t tried = *k;
		*k = *before;
		bool held = kasp_plan_rule(rule, P->keys, P->n, P->p->insecure);
		*k = tried;
		if (held) {
			*broken = rule;
			return false;
		}
	}
	return true;
}

/* RFC 5011: revokes retiring key k once its DS is gone, and its data
 * signatures unless its algorithm leaves (a revoked key validates nothing
 * but itself); its DNSKEY then stays remove_hold_down. *moved when done. */
static int revoke(plan_t *P, kasp_key_t *k, bool *moved)
{
	*moved = false;
	if (!to_revoke(P, k) || k->revoked > 0 || !is_gone(k->state[KASP_DS]) ||
	    (alg_stays(P, k) && !is_gone(k->state[KASP_ZRRSIG]))) {
		return KASP_OK; /* the DNSKEY's step says what it waits for */
	}
	if (k->state[KASP_KRRSIG] != RUM && k->state[KASP_KRRSIG] != OMNI) {
		block(P, 0,
		      "key %u: RFC 5011: cannot revoke a key that does not sign the DNSKEY RRset",
		      k->tag);
		return KASP_OK;
	}
	kasp_key_t before = *k;
	k->revoked = P->in->now;
	int broken = 0;
	if (!rules_allow(P, k, &before, &broken)) {
		*k = before;
		block(P, 0, "key %u: RFC 5011 revocation would break rule %d", k->tag, broken);
		return KASP_OK;
	}
	*moved = true;
	return add_action(P->out, (kasp_action_t){.kind = KASP_ACT_REVOKE,
	                                          .key = k->id,
	                                          .role = k->role,
	                                          .algorithm = k->algorithm});
}

/* Tries record r of key k one step on; *moved when it did. */
static int step(plan_t *P, kasp_key_t *k, kasp_record_t r, bool *moved)
{
	*moved = false;
	kasp_state_t from = k->state[r], to = next_state(k, r);
	if (from == KASP_NA || to == from) {
		return KASP_OK;
	}
	if (from == RUM || from == UNRET) {
		int64_t when = settles(P, k, r);
		if (when == 0) {
			block(P, P->in->now + P->p->poll_interval,
			      "key %u: waiting for its DS to be seen %s at the parent", k->tag,
			      from == RUM ? "published" : "withdrawn");
			return KASP_OK;
		}
		if (P->in->now < when) {
			block(P, when, NULL);
			return KASP_OK;
		}
	}
	if (from == KASP_HIDDEN && to == RUM && k->goal && P->p->require_backup &&
	    P->in->backup_confirmed != NULL && P->in->backup_confirmed[k - P->keys] == 0) {
		P->unconfirmed = true; /* reported once for the key */
		return KASP_OK;
	}
	int64_t wake = 0;
	const char *why = order(P, k, r, to, &wake);
	if (why != NULL && wake > 0) {
		char at[32];
		block(P, wake, "key %u %s %s: %s (until %s)", k->tag, kasp_record_name(r),
		      kasp_state_name(to), why, utc(wake, at, sizeof(at)));
		return KASP_OK;
	}
	if (why != NULL) {
		block(P, 0, "key %u %s %s: %s", k->tag, kasp_record_name(r), kasp_state_name(to),
		      why);
		return KASP_OK;
	}
	/* KRRSIG goes with the DNSKEY. */
	kasp_key_t before = *k;
	k->state[r] = to;
	if (r == KASP_DNSKEY && k->state[KASP_KRRSIG] != KASP_NA) {
		k->state[KASP_KRRSIG] = to;
	}
	int broken = 0;
	if (!rules_allow(P, k, &before, &broken)) {
		*k = before;
		block(P, 0, "key %u %s %s: would break rule %d", k->tag, kasp_record_name(r),
		      kasp_state_name(to), broken);
		return KASP_OK;
	}
	k->changed[r] = P->in->now;
	int ret = add_action(P->out, (kasp_action_t){.kind = KASP_ACT_SET,
	                                             .key = k->id,
	                                             .role = k->role,
	                                             .algorithm = k->algorithm,
	                                             .record = r,
	                                             .state = to});
	if (ret == KASP_OK && r == KASP_DNSKEY && k->state[KASP_KRRSIG] != KASP_NA) {
		k->changed[KASP_KRRSIG] = P->in->now;
		ret = add_action(P->out, (kasp_action_t){.kind = KASP_ACT_SET,
		                                         .key = k->id,
		                                         .role = k->role,
		                                         .algorithm = k->algorithm,
		                                         .record = KASP_KRRSIG,
		                                         .state = to});
	}
	*moved = true;
	return ret;
}

/* --- rollovers --- */

static uint32_t lifetime(const kasp_plan_policy_t *p, unsigned role)
{
	return role == KASP_ROLE_ZSK ? p->zsk_lifetime : p->ksk_lifetime;
}

/* Keys wanted in this role and algorithm: retires misfits and surplus,
 * generates what is missing, starts rollovers that are due. */
static int roles(plan_t *P)
{
	const kasp_plan_policy_t *p = P->p;
	int ret = KASP_OK;
	unsigned wanted[2] = {p->csk ? (unsigned)KASP_ROLE_CSK : (unsigned)KASP_ROLE_KSK,
	                      p->csk ? 0u : (unsigned)KASP_ROLE_ZSK};
	/* The newest key of each wanted role; the rest retire. */
	kasp_key_t *newest[2] = {NULL, NULL};
	for (size_t i = 0; i < P->n; i++) {
		kasp_key_t *k = &P->keys[i];
		if (!k->goal) {
			continue;
		}
		int slot = -1;
		for (int w = 0; w < 2; w++) {
			if (!p->insecure && wanted[w] != 0 && k->role == wanted[w] &&
			    k->algorithm == p->algorithm) {
				slot = w;
			}
		}
		if (slot >= 0 && (newest[slot] == NULL || k->id > newest[slot]->id)) {
			kasp_key_t *older = newest[slot];
			newest[slot] = k;
			k = older;
		}
		if (k == NULL) {
			continue;
		}
		k->goal = false;
		ret = add_action(P->out, (kasp_action_t){.kind = KASP_ACT_RETIRE,
		                                         .key = k->id,
		                                         .role = k->role,
		                                         .algorithm = k->algorithm});
		if (ret != KASP_OK) {
			return ret;
		}
	}
	for (int w = 0; w < 2 && !p->insecure; w++) {
		if (wanted[w] == 0) {
			continue;
		}
		kasp_key_t *k = newest[w];
		bool generate = k == NULL;
		if (k != NULL) {
			uint32_t life = lifetime(p, wanted[w]);
			int64_t lead = (int64_t)p->dnskey_ttl + p->zone_propagation_delay;
			int64_t due = k->published > 0 && life > 0 ? k->published + life - lead : 0;
			if ((P->in->roll & wanted[w]) == wanted[w] ||
			    (due > 0 && P->in->now >= due)) {
				generate = true;
				k->goal = false;
				ret = add_action(P->out,
				                 (kasp_action_t){.kind = KASP_ACT_RETIRE,
				                                 .key = k->id,
				                                 .role = k->role,
				                                 .algorithm = k->algorithm});
			} else if (due > 0) {
				block(P, due, NULL);
			}
		}
		if (ret == KASP_OK && generate) {
			ret = add_action(P->out, (kasp_action_t){.kind = KASP_ACT_GENERATE,
			                                         .role = wanted[w],
			                                         .algorithm = p->algorithm});
		}
		if (ret != KASP_OK) {
			return ret;
		}
	}
	return KASP_OK;
}

int kasp_plan(const kasp_plan_policy_t *p, const kasp_key_t *keys, size_t n,
              const kasp_plan_input_t *in, kasp_plan_t *out)
{
	out->n = 0;
	out->next = INT64_MAX;
	out->blocked[0] = '\0';
	out->clock_jump = false;
	if (in->last_acted > 0 && in->now > in->last_acted + KASP_PLAN_MAX_JUMP && !in->clock_ack) {
		out->clock_jump = true;
		snprintf(out->blocked, sizeof(out->blocked),
		         "the clock jumped %lld s ahead of the last action: nothing done until an "
		         "operator acknowledges it",
		         (long long)(in->now - in->last_acted));
		return KASP_OK;
	}
	plan_t P = {.p = p, .in = in, .n = n, .out = out};
	P.keys = malloc((n + 1) * sizeof(*P.keys));
	if (P.keys == NULL) {
		return KASP_ERR_NOMEM;
	}
	if (n > 0) {
		memcpy(P.keys, keys, n * sizeof(*keys));
	}
	int ret = roles(&P);
	/* Steps until none moves: one may open the way for another. */
	bool any = true;
	for (int round = 0; any && ret == KASP_OK && round < 16; round++) {
		any = false;
		out->blocked[0] = '\0';
		P.nblocked = 0;
		for (size_t i = 0; i < n && ret == KASP_OK; i++) {
			kasp_key_t *k = &P.keys[i];
			if (in->removed != NULL && in->removed[i] > 0) {
				continue;
			}
			static const kasp_record_t order_of[] = {KASP_DS, KASP_DNSKEY, KASP_ZRRSIG};
			P.unconfirmed = false;
			for (size_t r = 0; r < 3 && ret == KASP_OK; r++) {
				bool moved = false;
				if (order_of[r] == KASP_DNSKEY) {
					ret = revoke(&P, k, &moved); /* after its DS left */
					any = any || moved;
				}
				if (ret == KASP_OK) {
					ret = step(&P, k, order_of[r], &moved);
				}
				any = any || moved;
			}
			if (P.unconfirmed) {
				block(&P, 0,
				      "key %u: waiting for the operator to confirm its backup "
				      "(signer key backup-done)",
				      k->tag);
			}
		}
	}
	/* Keys whose every record is hidden leave the key set, then the token. */
	for (size_t i = 0; i < n && ret == KASP_OK; i++) {
		const kasp_key_t *k = &P.keys[i];
		bool gone = !k->goal;
		for (int r = 0; r < KASP_RECORDS; r++) {
			gone = gone && is_gone(k->state[r]);
		}
		int64_t removed = in->removed != NULL ? in->removed[i] : 0;
		if (gone && removed == 0) {
			ret = add_action(out, (kasp_action_t){.kind = KASP_ACT_REMOVE,
			                                      .key = k->id,
			                                      .role = k->role,
			                                      .algorithm = k->algorithm});
		} else if (removed > 0 && in->now >= removed + p->purge_after) {
			ret = add_action(out, (kasp_action_t){.kind = KASP_ACT_PURGE,
			                                      .key = k->id,
			                                      .role = k->role,
			                                      .algorithm = k->algorithm});
		} else if (removed > 0) {
			block(&P, removed + p->purge_after, NULL);
		}
	}
	free(P.keys);
	return ret;
}

void kasp_plan_deinit(kasp_plan_t *out)
{
	free(out->actions);
	memset(out, 0, sizeof(*out));
}
