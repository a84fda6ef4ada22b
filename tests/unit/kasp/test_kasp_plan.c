/*
 * The rollover planner driven by a simulated clock and a simulated parent:
 * each rollover step by step (order and waits asserted), and, at every
 * step, an oracle independent of the planner's rules: every mix of old and
 * new RRsets a resolver may hold (DS set, DNSKEY RRset with its RRSIGs, zone
 * data with its RRSIGs, each from the version before or after the last
 * change) must validate or be insecure. A revoked key (RFC 5011) validates
 * nothing in the oracle, whichever version a resolver holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "kasp/kasp_error.h"
#include "kasp/kasp_plan.h"

#define DAY     86400
#define MAXKEYS 32

typedef struct {
	int64_t at;
	uint32_t key;
	kasp_action_kind_t kind;
	kasp_record_t record;
	kasp_state_t state;
} event_t;

typedef struct {
	kasp_plan_policy_t p;
	kasp_key_t k[MAXKEYS];
	int64_t removed[MAXKEYS];
	int64_t backup[MAXKEYS]; /* when the operator confirmed its backup (0: not yet) */
	bool purged[MAXKEYS];
	int64_t submitted[MAXKEYS], withdrawn[MAXKEYS];
	size_t n;
	uint32_t next_id;
	int64_t now, last;
	int64_t parent_delay; /* the parent applies a DS change this long after it */
	bool parent_dead;     /* the parent never applies anything */
	bool manual_backup;   /* generated keys wait for confirm(); else confirmed at once */
	unsigned roll;        /* roll on the next plan */
	event_t ev[4096];
	size_t nev;
	unsigned oracle_failures, checks, generated, revoked;
	char blocked[512];
} sim_t;

static kasp_plan_policy_t fast_policy(void)
{
	return (kasp_plan_policy_t){.algorithm = 13,
	                            .ksk_lifetime = 180 * DAY,
	                            .zsk_lifetime = 30 * DAY,
	                            .dnskey_ttl = 3600,
	                            .max_zone_ttl = 86400,
	                            .zone_propagation_delay = 300,
	                            .ds_ttl = 86400,
	                            .parent_propagation_delay = 3600,
	                            .poll_interval = 3600,
	                            .sign_delay = 9 * DAY,
	                            .purge_after = 14 * DAY};
}

static void sim_init(sim_t *s, kasp_plan_policy_t p)
{
	memset(s, 0, sizeof(*s));
	s->p = p;
	s->next_id = 1;
	s->now = 1700000000;
	s->parent_delay = 6 * 3600;
}

static size_t find(const sim_t *s, uint32_t id)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->k[i].id == id) {
			return i;
		}
	}
	return SIZE_MAX;
}

/* Present in a resolver's view: omnipresent always, rumoured in the new
 * version only, unretentive in the old one only. */
static bool seen(kasp_state_t st, bool newer)
{
	return st == KASP_OMNIPRESENT || (st == KASP_RUMOURED && newer) ||
	       (st == KASP_UNRETENTIVE && !newer);
}

/* Every mix of old and new DS set, DNSKEY RRset (with KRRSIGs) and data
 * (with ZRRSIGs), checked the strict way (a validator that hardens against
 * algorithm downgrades): for each algorithm of the DS set held, a DS of it
 * must lead to a DNSKEY of it in the DNSKEY RRset that signs the RRset, and
 * a DNSKEY of it there must sign the data. An empty DS set is insecure. */
static unsigned oracle(const sim_t *s)
{
	unsigned bad = 0;
	for (int mix = 0; mix < 8; mix++) {
		bool nds = mix & 1, nkey = mix & 2, nsig = mix & 4;
		bool ok = true;
		for (size_t i = 0; i < s->n; i++) {
			const kasp_key_t *a = &s->k[i];
			if (s->removed[i] > 0 || !seen(a->state[KASP_DS], nds)) {
				continue;
			}
			bool chain = false, data = false;
			for (size_t j = 0; j < s->n; j++) {
				const kasp_key_t *k = &s->k[j];
				/* A revoked DNSKEY leads nowhere (RFC 5011 2.1), in
				 * either version: stricter than a resolver holding
				 * the RRset from before the revocation. */
				if (s->removed[j] > 0 || k->revoked > 0 ||
				    k->algorithm != a->algorithm ||
				    !seen(k->state[KASP_DNSKEY], nkey)) {
					continue;
				}
				chain = chain || (seen(k->state[KASP_DS], nds) &&
				                  seen(k->state[KASP_KRRSIG], nkey));
				data = data || seen(k->state[KASP_ZRRSIG], nsig);
			}
			ok = ok && chain && data;
		}
		bad += !ok;
	}
	return bad;
}

static void record(sim_t *s, uint32_t key, kasp_action_kind_t kind, kasp_record_t r,
                   kasp_state_t st)
{
	if (s->nev < sizeof(s->ev) / sizeof(s->ev[0])) {
		s->ev[s->nev++] = (event_t){s->now, key, kind, r, st};
	}
}

static void execute(sim_t *s, const kasp_action_t *a)
{
	size_t i = a->kind == KASP_ACT_GENERATE ? SIZE_MAX : find(s, a->key);
	kasp_key_t *k = i != SIZE_MAX ? &s->k[i] : NULL;
	switch (a->kind) {
	case KASP_ACT_GENERATE:
		CU_ASSERT_FATAL(s->n < MAXKEYS);
		k = &s->k[s->n++];
		memset(k, 0, sizeof(*k));
		k->id = s->next_id++;
		k->tag = (uint16_t)(1000 + k->id);
		k->algorithm = a->algorithm;
		k->role = a->role;
		k->goal = true;
		for (int r = 0; r < KASP_RECORDS; r++) {
			k->state[r] = KASP_HIDDEN;
		}
		if (!(a->role & KASP_ROLE_KSK)) {
			k->state[KASP_DS] = k->state[KASP_KRRSIG] = KASP_NA;
		}
		if (!(a->role & KASP_ROLE_ZSK)) {
			k->state[KASP_ZRRSIG] = KASP_NA;
		}
		s->backup[s->n - 1] = s->manual_backup ? 0 : s->now;
		s->generated++;
		record(s, k->id, a->kind, 0, 0);
		return;
	case KASP_ACT_RETIRE:
		k->goal = false;
		break;
	case KASP_ACT_SET:
		CU_ASSERT_FATAL(k->state[a->record] != KASP_NA);
		k->state[a->record] = a->state;
		k->changed[a->record] = s->now;
		if (a->record == KASP_DNSKEY && a->state == KASP_RUMOURED && k->published == 0) {
			k->published = s->now;
		}
		if (a->record == KASP_DS && a->state == KASP_RUMOURED) {
			s->submitted[i] = s->now;
			s->withdrawn[i] = 0;
			k->ds_seen = 0;
		}
		if (a->record == KASP_DS && a->state == KASP_UNRETENTIVE) {
			s->withdrawn[i] = s->now;
			s->submitted[i] = 0;
			k->ds_gone = 0;
		}
		break;
	case KASP_ACT_REMOVE:
		s->removed[i] = s->now;
		break;
	case KASP_ACT_PURGE:
		s->purged[i] = true;
		break;
	case KASP_ACT_REVOKE:
		/* Revoked once, after its DS left, while it signs the DNSKEY
		 * RRset (to stay self-signed). */
		CU_ASSERT(k->revoked == 0);
		CU_ASSERT(k->state[KASP_DS] == KASP_HIDDEN);
		CU_ASSERT(kasp_key_use(k).signs_keyset);
		k->revoked = s->now;
		s->revoked++;
		break;
	}
	record(s, a->key, a->kind, a->record, a->state);
}

/* The parent applies a DS change parent_delay after it; the signer's polls
 * (each poll_interval) see it. */
static void parent(sim_t *s)
{
	for (size_t i = 0; i < s->n && !s->parent_dead; i++) {
		kasp_key_t *k = &s->k[i];
		if (s->submitted[i] > 0 && k->ds_seen == 0 &&
		    s->now >= s->submitted[i] + s->parent_delay) {
			k->ds_seen = s->now;
		}
		if (s->withdrawn[i] > 0 && k->ds_gone == 0 &&
		    s->now >= s->withdrawn[i] + s->parent_delay) {
			k->ds_gone = s->now;
		}
	}
}

/* Runs the planner until `until`, acting at each event and each poll. */
static void run(sim_t *s, int64_t until)
{
	int same = 0; /* plans at one instant: the planner must settle */
	while (s->now <= until) {
		CU_ASSERT_FATAL(same++ < 20);
		parent(s);
		kasp_plan_t plan = {0};
		kasp_plan_input_t in = {.now = s->now,
		                        .last_acted = s->last,
		                        .clock_ack = true,
		                        .roll = s->roll,
		                        .removed = s->removed,
		                        .backup_confirmed = s->backup};
		CU_ASSERT_EQUAL_FATAL(kasp_plan(&s->p, s->k, s->n, &in, &plan), KASP_OK);
		s->roll = 0;
		for (size_t a = 0; a < plan.n; a++) {
			if (getenv("PLAN_TRACE") != NULL) {
				const kasp_action_t *x = &plan.actions[a];
				fprintf(stderr, "%lld: key %u kind %d %s %s\n", (long long)s->now,
				        x->key, x->kind, kasp_record_name(x->record),
				        kasp_state_name(x->state));
			}
			execute(s, &plan.actions[a]);
		}
		/* Purged keys leave the store. */
		size_t w = 0;
		for (size_t i = 0; i < s->n; i++) {
			if (s->purged[i]) {
				continue;
			}
			s->k[w] = s->k[i];
			s->removed[w] = s->removed[i];
			s->backup[w] = s->backup[i];
			s->submitted[w] = s->submitted[i];
			s->withdrawn[w] = s->withdrawn[i];
			s->purged[w++] = false;
		}
		s->n = w;
		snprintf(s->blocked, sizeof(s->blocked), "%s", plan.blocked);
		/* A key published revoked still signs the DNSKEY RRset, and
		 * no DS of it is left. */
		for (size_t i = 0; i < s->n; i++) {
			kasp_key_use_t u = kasp_key_use(&s->k[i]);
			if (u.revoked) {
				CU_ASSERT(u.signs_keyset && u.published);
				CU_ASSERT(s->k[i].state[KASP_DS] == KASP_HIDDEN);
			}
		}
		unsigned bad = oracle(s);
		s->checks++;
		if (bad > 0) {
			s->oracle_failures += bad;
			fprintf(stderr, "oracle: %u failing mixes at %lld\n", bad,
			        (long long)s->now);
		}
		int64_t next = plan.next;
		size_t acted = plan.n;
		kasp_plan_deinit(&plan);
		if (acted > 0) {
			s->last = s->now;
			continue; /* plan again at once: a step may open another */
		}
		/* The next event, or the next poll while the parent is awaited. */
		int64_t poll = s->now + s->p.poll_interval;
		s->now = next < poll ? next : poll;
		same = 0;
		if (s->now < s->last) {
			s->now = s->last;
		}
	}
}

/* When key `id` first had record r set to st (0: never). */
static int64_t when(const sim_t *s, uint32_t id, kasp_record_t r, kasp_state_t st)
{
	for (size_t i = 0; i < s->nev; i++) {
		const event_t *e = &s->ev[i];
		if (e->key == id && e->kind == KASP_ACT_SET && e->record == r && e->state == st) {
			return e->at;
		}
	}
	return 0;
}

static int64_t when_kind(const sim_t *s, uint32_t id, kasp_action_kind_t kind)
{
	for (size_t i = 0; i < s->nev; i++) {
		if (s->ev[i].key == id && s->ev[i].kind == kind) {
			return s->ev[i].at;
		}
	}
	return 0;
}

static void test_initial(void)
{
	sim_t *s = calloc(1, sizeof(*s));
	sim_init(s, fast_policy());
	int64_t t0 = s->now;
	run(s, t0 + 3 * DAY);
	CU_ASSERT_EQUAL(s->n, 2);
	uint32_t ksk = s->k[0].role == KASP_ROLE_KSK ? s->k[0].id : s->k[1].id;
	uint32_t zsk = ksk == 1 ? 2 : 1;
	/* DNSKEYs and the ZSK's signatures at once (an unsigned zone). */
	CU_ASSERT_EQUAL(when(s, ksk, KASP_DNSKEY, KASP_RUMOURED), t0);
	CU_ASSERT_EQUAL(when(s, zsk, KASP_DNSKEY, KASP_RUMOURED), t0);
	CU_ASSERT_EQUAL(when(s, zsk, KASP_ZRRSIG, KASP_RUMOURED), t0);
	/* DS only once the DNSKEY is everywhere. */
	int64_t ds = when(s, ksk, KASP_DS, KASP_RUMOURED);
	int64_t key_omni = when(s, ksk, KASP_DNSKEY, KASP_OMNIPRESENT);
	CU_ASSERT(key_omni >= t0 + 3600 + 300);
	CU_ASSERT(ds >= key_omni && ds > 0);
	/* DS omnipresent only on evidence plus the DS TTL and propagation. */
	int64_t ds_omni = when(s, ksk, KASP_DS, KASP_OMNIPRESENT);
	CU_ASSERT(ds_omni >= ds + s->parent_delay + 86400 + 3600);
	CU_ASSERT_EQUAL(s->oracle_failures, 0);
	CU_ASSERT_STRING_EQUAL(s->blocked, "");
	free(s);
}

static void test_zsk_rollover(void)
{
	sim_t *s = calloc(1, sizeof(*s));
	sim_init(s, fast_policy());
	int64_t t0 = s->now;
	run(s, t0 + 60 * DAY);
	CU_ASSERT_EQUAL(s->oracle_failures, 0);
	/* Keys 1 (KSK), 2 (ZSK), 3 (its successor). */
	CU_ASSERT_FATAL(s->n >= 3);
	CU_ASSERT_EQUAL(s->k[2].role, KASP_ROLE_ZSK);
	int64_t gen = when_kind(s, 3, KASP_ACT_GENERATE);
	CU_ASSERT(gen >= t0 + 30 * DAY - 3900 && gen <= t0 + 30 * DAY);
	int64_t pub = when(s, 3, KASP_DNSKEY, KASP_RUMOURED);
	int64_t pub_omni = when(s, 3, KASP_DNSKEY, KASP_OMNIPRESENT);
	int64_t sign = when(s, 3, KASP_ZRRSIG, KASP_RUMOURED);
	int64_t old_sig_out = when(s, 2, KASP_ZRRSIG, KASP_UNRETENTIVE);
	int64_t old_sig_gone = when(s, 2, KASP_ZRRSIG, KASP_HIDDEN);
	int64_t old_key_out = when(s, 2, KASP_DNSKEY, KASP_UNRETENTIVE);
	CU_ASSERT(pub == gen);
	CU_ASSERT(pub_omni >= pub + 3900);
	/* Pre-publication: signs only once published everywhere; the old
	 * signatures go as the new ones come. */
	CU_ASSERT(sign >= pub_omni);
	CU_ASSERT_EQUAL(old_sig_out, sign);
	/* Lazy re-signing: the old signatures last sign_delay more. */
	CU_ASSERT(old_sig_gone >= old_sig_out + 86400 + 300 + 9 * DAY);
	CU_ASSERT(old_key_out >= old_sig_gone);
	CU_ASSERT(when_kind(s, 2, KASP_ACT_REMOVE) >= old_key_out + 3900);
	CU_ASSERT(when_kind(s, 2, KASP_ACT_PURGE) >= when_kind(s, 2, KASP_ACT_REMOVE) + 14 * DAY);
	free(s);
}

/* Rolls the KSK (or CSK) by command once the zone is settled. */
static sim_t *roll_ksk(kasp_plan_policy_t p, unsigned role)
{
	sim_t *s = calloc(1, sizeof(*s));
	sim_init(s, p);
	run(s, s->now + 5 * DAY);
	s->roll = role;
	run(s, s->now + 20 * DAY);
	CU_ASSERT_EQUAL(s->oracle_failures, 0);
	return s;
}

static void test_double_ksk(void)
{
	kasp_plan_policy_t p = fast_policy();
	p.zsk_lifetime = 0;
	sim_t *s = roll_ksk(p, KASP_ROLE_KSK);
	/* 1 KSK, 2 ZSK, 3 new KSK */
	int64_t pub_omni = when(s, 3, KASP_DNSKEY, KASP_OMNIPRESENT);
	int64_t ds = when(s, 3, KASP_DS, KASP_RUMOURED);
	int64_t old_ds_out = when(s, 1, KASP_DS, KASP_UNRETENTIVE);
	int64_t old_ds_gone = when(s, 1, KASP_DS, KASP_HIDDEN);
	int64_t old_key_out = when(s, 1, KASP_DNSKEY, KASP_UNRETENTIVE);
	CU_ASSERT(pub_omni > 0 && ds >= pub_omni);
	CU_ASSERT_EQUAL(old_ds_out, ds); /* the DS set swapped at once */
	CU_ASSERT(old_ds_gone >= old_ds_out + s->parent_delay + 86400 + 3600);
	CU_ASSERT(old_key_out >= old_ds_gone);
	free(s);
}

static void test_double_ds(void)
{
	kasp_plan_policy_t p = fast_policy();
	p.zsk_lifetime = 0;
	p.double_ds = true;
	sim_t *s = roll_ksk(p, KASP_ROLE_KSK);
	int64_t ds = when(s, 3, KASP_DS, KASP_RUMOURED);
	int64_t ds_omni = when(s, 3, KASP_DS, KASP_OMNIPRESENT);
	int64_t pub = when(s, 3, KASP_DNSKEY, KASP_RUMOURED);
	int64_t old_key_out = when(s, 1, KASP_DNSKEY, KASP_UNRETENTIVE);
	int64_t old_key_gone = when(s, 1, KASP_DNSKEY, KASP_HIDDEN);
	int64_t old_ds_out = when(s, 1, KASP_DS, KASP_UNRETENTIVE);
	/* DS first, the DNSKEY swap under both DS, the old DS last. */
	CU_ASSERT(ds > 0 && pub >= ds_omni && ds_omni > ds);
	CU_ASSERT_EQUAL(old_key_out, pub);
	CU_ASSERT(old_ds_out >= old_key_gone && old_key_gone > 0);
	free(s);
}

static void test_csk_rollover(void)
{
	kasp_plan_policy_t p = fast_policy();
	p.csk = true;
	p.ksk_lifetime = 0;
	sim_t *s = roll_ksk(p, KASP_ROLE_CSK);
	CU_ASSERT_EQUAL(s->k[0].role, KASP_ROLE_CSK);
	int64_t pub_omni = when(s, 2, KASP_DNSKEY, KASP_OMNIPRESENT);
	CU_ASSERT(when(s, 2, KASP_ZRRSIG, KASP_RUMOURED) >= pub_omni);
	CU_ASSERT(when(s, 2, KASP_DS, KASP_RUMOURED) >= pub_omni);
	CU_ASSERT(when(s, 1, KASP_DNSKEY, KASP_UNRETENTIVE) >= when(s, 1, KASP_DS, KASP_HIDDEN));
	CU_ASSERT(when(s, 1, KASP_DNSKEY, KASP_UNRETENTIVE) >=
	          when(s, 1, KASP_ZRRSIG, KASP_HIDDEN));
	CU_ASSERT(when_kind(s, 1, KASP_ACT_REMOVE) > 0);
	free(s);
}

static void algorithm_rollover(bool double_ds)
{
	kasp_plan_policy_t p = fast_policy();
	p.double_ds = double_ds;
	p.algorithm = 8;
	p.ksk_lifetime = p.zsk_lifetime = 0;
	p.purge_after = 365 * DAY; /* the old keys stay in view */
	sim_t *s = calloc(1, sizeof(*s));
	sim_init(s, p);
	run(s, s->now + 5 * DAY);
	s->p.algorithm = 13;
	int64_t t1 = s->now;
	run(s, s->now + 30 * DAY);
	CU_ASSERT_EQUAL(s->oracle_failures, 0);
	/* 1, 2: RSA KSK and ZSK; 3, 4: the new ones. */
	CU_ASSERT_FATAL(s->n == 4);
	uint32_t nk = s->k[2].role == KASP_ROLE_KSK ? 3 : 4, nz = nk == 3 ? 4 : 3;
	int64_t sigs = when(s, nz, KASP_ZRRSIG, KASP_RUMOURED);
	int64_t sigs_omni = when(s, nz, KASP_ZRRSIG, KASP_OMNIPRESENT);
	int64_t keys = when(s, nk, KASP_DNSKEY, KASP_RUMOURED);
	/* RFC 6781 4.1.4: signatures first, the DNSKEYs once they are
	 * everywhere (every RRset signed at once: no sign_delay). */
	CU_ASSERT_EQUAL(sigs, t1);
	CU_ASSERT(sigs_omni >= sigs + 86400 + 300 && sigs_omni < sigs + 86400 + 300 + DAY);
	CU_ASSERT(keys >= sigs_omni);
	CU_ASSERT(when(s, nz, KASP_DNSKEY, KASP_RUMOURED) >= sigs_omni);
	/* Both DS until the new one is everywhere. */
	CU_ASSERT(when(s, 1, KASP_DS, KASP_UNRETENTIVE) >= when(s, nk, KASP_DS, KASP_OMNIPRESENT));
	/* Old DNSKEYs out before the old signatures, which stay until that
	 * removal has propagated. */
	int64_t old_key_gone = when(s, 2, KASP_DNSKEY, KASP_HIDDEN);
	CU_ASSERT(old_key_gone > 0);
	CU_ASSERT(when(s, 2, KASP_ZRRSIG, KASP_UNRETENTIVE) >= old_key_gone);
	CU_ASSERT(when(s, 1, KASP_DNSKEY, KASP_HIDDEN) <=
	          when(s, 2, KASP_ZRRSIG, KASP_UNRETENTIVE));
	/* The old algorithm's DS went before its DNSKEYs (under double-DS
	 * too, whose own order is the reverse), and nothing of it is left. */
	CU_ASSERT(when(s, 1, KASP_DS, KASP_HIDDEN) > 0);
	CU_ASSERT(when(s, 1, KASP_DNSKEY, KASP_UNRETENTIVE) >= when(s, 1, KASP_DS, KASP_HIDDEN));
	CU_ASSERT(when(s, 2, KASP_ZRRSIG, KASP_HIDDEN) > 0);
	free(s);
}

static void test_algorithm_rollover(void)
{
	algorithm_rollover(false);
}

/* Found by test_daemon_rollover's double-DS variant: the old algorithm's
 * DS waited for its DNSKEY (the double-DS order), which waited for the DS
 * (the algorithm order), and the rollover stopped half way. */
static void test_algorithm_rollover_double_ds(void)
{
	algorithm_rollover(true);
}

static void test_go_insecure(void)
{
	sim_t *s = calloc(1, sizeof(*s));
	sim_init(s, fast_policy());
	run(s, s->now + 5 * DAY);
	s->p.insecure = true;
	run(s, s->now + 10 * DAY);
	CU_ASSERT_EQUAL(s->oracle_failures, 0);
	int64_t ds_gone = when(s, 1, KASP_DS, KASP_HIDDEN);
	CU_ASSERT(ds_gone >= when(s, 1, KASP_DS, KASP_UNRETENTIVE) + s->parent_delay + 86400);
	CU_ASSERT(when(s, 1, KASP_DNSKEY, KASP_UNRETENTIVE) >= ds_gone);
	CU_ASSERT(when(s, 2, KASP_ZRRSIG, KASP_UNRETENTIVE) >= ds_gone);
	CU_ASSERT(when_kind(s, 1, KASP_ACT_REMOVE) > 0 && when_kind(s, 2, KASP_ACT_REMOVE) > 0);
	CU_ASSERT_EQUAL(s->generated, 2);
	free(s);
}

static void test_parent_never_answers(void)
{
	kasp_plan_policy_t p = fast_policy();
	p.zsk_lifetime = 0;
	sim_t *s = calloc(1, sizeof(*s));
	sim_init(s, p);
	run(s, s->now + 5 * DAY);
	s->parent_dead = true;
	s->roll = KASP_ROLE_KSK;
	run(s, s->now + 30 * DAY);
	CU_ASSERT_EQUAL(s->oracle_failures, 0);
	/* The new DS is submitted, never seen: the old KSK stays. */
	CU_ASSERT(when(s, 3, KASP_DS, KASP_RUMOURED) > 0);
	CU_ASSERT_EQUAL(when(s, 3, KASP_DS, KASP_OMNIPRESENT), 0);
	CU_ASSERT_EQUAL(s->k[0].state[KASP_DNSKEY], KASP_OMNIPRESENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(s->blocked, "waiting for its DS"));
	free(s);
}

static kasp_plan_policy_t rfc5011_policy(void)
{
	kasp_plan_policy_t p = fast_policy();
	p.ksk_lifetime = p.zsk_lifetime = 0;
	p.rfc5011 = true;
	p.add_hold_down = 30 * DAY;
	p.remove_hold_down = 30 * DAY;
	return p;
}

static const kasp_key_t *key_of(const sim_t *s, uint32_t id)
{
	size_t i = find(s, id);
	CU_ASSERT_FATAL(i != SIZE_MAX);
	return &s->k[i];
}

/* RFC 5011 double-KSK rollover: the new KSK published for the add
 * hold-down before its DS goes out, the old one revoked (self-signed) once
 * its DS is gone, for the remove hold-down, then withdrawn. */
static void test_rfc5011_ksk_rollover(void)
{
	sim_t *s = calloc(1, sizeof(*s));
	sim_init(s, rfc5011_policy());
	run(s, s->now + 5 * DAY);
	/* The initial signing has no hold-down: no validator anchors yet. */
	CU_ASSERT(when(s, 1, KASP_DS, KASP_OMNIPRESENT) > 0);
	CU_ASSERT(when(s, 1, KASP_DS, KASP_RUMOURED) < s->now - 3 * DAY);
	int64_t t1 = s->now;
	s->roll = KASP_ROLE_KSK;
	/* 1 KSK, 2 ZSK, 3 new KSK. Ten days in: published, no DS. */
	run(s, t1 + 10 * DAY);
	int64_t pub = when(s, 3, KASP_DNSKEY, KASP_RUMOURED);
	int64_t pub_omni = when(s, 3, KASP_DNSKEY, KASP_OMNIPRESENT);
	CU_ASSERT_EQUAL(pub, t1);
	CU_ASSERT(pub_omni >= pub + 3600 + 300 && pub_omni < pub + DAY);
	/* Its KRRSIG goes with its DNSKEY (harmless before it is trusted). */
	CU_ASSERT_EQUAL(when(s, 3, KASP_KRRSIG, KASP_RUMOURED), pub);
	CU_ASSERT_EQUAL(when(s, 3, KASP_DS, KASP_RUMOURED), 0);
	CU_ASSERT_EQUAL(key_of(s, 1)->state[KASP_DS], KASP_OMNIPRESENT);
	CU_ASSERT_EQUAL(key_of(s, 1)->state[KASP_DNSKEY], KASP_OMNIPRESENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(s->blocked, "key 1003 DS rumoured: RFC 5011 add hold-down"));
	CU_ASSERT_EQUAL(s->revoked, 0);
	/* The DS swap once the hold-down has passed, not before. */
	run(s, t1 + 40 * DAY);
	int64_t ds = when(s, 3, KASP_DS, KASP_RUMOURED);
	CU_ASSERT(ds >= pub_omni + 30 * DAY && ds <= pub_omni + 30 * DAY + 3600);
	CU_ASSERT_EQUAL(when(s, 1, KASP_DS, KASP_UNRETENTIVE), ds);
	/* Revoked once its DS is gone, no sooner; still published. */
	int64_t old_ds_gone = when(s, 1, KASP_DS, KASP_HIDDEN);
	int64_t revoked = when_kind(s, 1, KASP_ACT_REVOKE);
	CU_ASSERT(old_ds_gone >= ds + s->parent_delay + 86400 + 3600);
	CU_ASSERT_EQUAL(revoked, old_ds_gone);
	CU_ASSERT_EQUAL(key_of(s, 1)->revoked, revoked);
	kasp_key_use_t u = kasp_key_use(key_of(s, 1));
	CU_ASSERT_TRUE(u.published && u.revoked && u.signs_keyset);
	CU_ASSERT_PTR_NOT_NULL(strstr(s->blocked, "key 1001 DNSKEY unretentive: RFC 5011 remove "
	                                          "hold-down: it is revoked (until "));
	/* Withdrawn after the remove hold-down, then removed. */
	run(s, t1 + 90 * DAY);
	int64_t old_key_out = when(s, 1, KASP_DNSKEY, KASP_UNRETENTIVE);
	CU_ASSERT(old_key_out >= revoked + 30 * DAY && old_key_out <= revoked + 30 * DAY + 3600);
	CU_ASSERT_EQUAL(when(s, 1, KASP_KRRSIG, KASP_UNRETENTIVE), old_key_out);
	CU_ASSERT(when_kind(s, 1, KASP_ACT_REMOVE) >= old_key_out + 3900);
	CU_ASSERT_EQUAL(s->revoked, 1);
	CU_ASSERT_EQUAL(s->oracle_failures, 0);
	printf("\n  RFC 5011 KSK: DS %lld s after publication, DNSKEY withdrawn %lld s after "
	       "revocation, %u plans checked, %u oracle failures",
	       (long long)(ds - pub), (long long)(old_key_out - revoked), s->checks,
	       s->oracle_failures);
	free(s);
}

/* RFC 5011 with a CSK: the same, and the old CSK revoked only once its
 * data signatures are gone too (a revoked key validates nothing else). */
static void test_rfc5011_csk_rollover(void)
{
	kasp_plan_policy_t p = rfc5011_policy();
	p.csk = true;
	sim_t *s = calloc(1, sizeof(*s));
	sim_init(s, p);
	run(s, s->now + 5 * DAY);
	int64_t t1 = s->now;
	s->roll = KASP_ROLE_CSK;
	run(s, t1 + 90 * DAY);
	CU_ASSERT_EQUAL(s->oracle_failures, 0);
	int64_t pub_omni = when(s, 2, KASP_DNSKEY, KASP_OMNIPRESENT);
	CU_ASSERT(when(s, 2, KASP_DS, KASP_RUMOURED) >= pub_omni + 30 * DAY);
	int64_t revoked = when_kind(s, 1, KASP_ACT_REVOKE);
	CU_ASSERT(revoked > 0);
	CU_ASSERT(revoked >= when(s, 1, KASP_DS, KASP_HIDDEN));
	CU_ASSERT(revoked >= when(s, 1, KASP_ZRRSIG, KASP_HIDDEN));
	CU_ASSERT(when(s, 1, KASP_DNSKEY, KASP_UNRETENTIVE) >= revoked + 30 * DAY);
	CU_ASSERT(when_kind(s, 1, KASP_ACT_REMOVE) > 0);
	free(s);
}

/* require_backup: a new key waits, every record hidden, for the operator's
 * confirmation; its predecessor keeps signing meanwhile. */
static void test_require_backup(void)
{
	kasp_plan_policy_t p = fast_policy();
	p.ksk_lifetime = 0;
	p.require_backup = true;
	sim_t *s = calloc(1, sizeof(*s));
	sim_init(s, p);
	s->manual_backup = true;
	int64_t t0 = s->now;
	run(s, t0 + DAY);
	CU_ASSERT_EQUAL(s->n, 2);
	for (size_t i = 0; i < s->n; i++) {
		for (int r = 0; r < KASP_RECORDS; r++) {
			CU_ASSERT(s->k[i].state[r] == KASP_HIDDEN || s->k[i].state[r] == KASP_NA);
		}
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(s->blocked, "key 1001: waiting for the operator to confirm "
	                                          "its backup (signer key backup-done)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s->blocked, "key 1002: waiting"));
	/* Confirmed: the initial signing goes on. */
	s->backup[0] = s->backup[1] = s->now;
	int64_t t1 = s->now;
	run(s, t0 + 35 * DAY);
	CU_ASSERT_EQUAL(when(s, 1, KASP_DNSKEY, KASP_RUMOURED), t1);
	CU_ASSERT_EQUAL(when(s, 2, KASP_ZRRSIG, KASP_RUMOURED), t1);
	/* The ZSK's successor (30 days after publication) waits hidden. */
	CU_ASSERT_EQUAL_FATAL(s->n, 3);
	int64_t gen = when_kind(s, 3, KASP_ACT_GENERATE);
	CU_ASSERT(gen > t1 + 29 * DAY && gen <= t1 + 30 * DAY);
	CU_ASSERT_EQUAL(key_of(s, 3)->state[KASP_DNSKEY], KASP_HIDDEN);
	CU_ASSERT_EQUAL(key_of(s, 3)->state[KASP_ZRRSIG], KASP_HIDDEN);
	CU_ASSERT_EQUAL(key_of(s, 2)->state[KASP_DNSKEY], KASP_OMNIPRESENT);
	CU_ASSERT_EQUAL(key_of(s, 2)->state[KASP_ZRRSIG], KASP_OMNIPRESENT);
	CU_ASSERT_FALSE(key_of(s, 2)->goal);
	/* The rules keep the old ZSK signing while its successor is hidden. */
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(s->blocked, "key 1002 ZRRSIG unretentive: would break rule 3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s->blocked, "key 1003: waiting for the operator to confirm "
	                                          "its backup (signer key backup-done)"));
	CU_ASSERT_EQUAL(s->generated, 3);
	/* Confirmed: the pre-publication rollover goes on. */
	s->backup[find(s, 3)] = s->now;
	int64_t t2 = s->now;
	run(s, t0 + 60 * DAY);
	CU_ASSERT_EQUAL(when(s, 3, KASP_DNSKEY, KASP_RUMOURED), t2);
	CU_ASSERT(when(s, 3, KASP_ZRRSIG, KASP_RUMOURED) >= t2 + 3900);
	CU_ASSERT_EQUAL(when(s, 2, KASP_ZRRSIG, KASP_UNRETENTIVE),
	                when(s, 3, KASP_ZRRSIG, KASP_RUMOURED));
	CU_ASSERT(when_kind(s, 2, KASP_ACT_REMOVE) > 0);
	CU_ASSERT_EQUAL(s->generated, 3);
	CU_ASSERT_EQUAL(s->oracle_failures, 0);
	/* No array: every key counts as confirmed (a new ZSK is published). */
	kasp_key_t fresh = {.id = 9,
	                    .tag = 9,
	                    .algorithm = 13,
	                    .role = KASP_ROLE_ZSK,
	                    .goal = true,
	                    .state = {KASP_NA, KASP_HIDDEN, KASP_NA, KASP_HIDDEN}};
	kasp_plan_t plan = {0};
	kasp_plan_input_t in = {.now = t0};
	CU_ASSERT_EQUAL(kasp_plan(&p, &fresh, 1, &in, &plan), KASP_OK);
	bool set = false;
	for (size_t a = 0; a < plan.n; a++) {
		set = set || (plan.actions[a].kind == KASP_ACT_SET && plan.actions[a].key == 9);
	}
	CU_ASSERT_TRUE(set);
	CU_ASSERT(strstr(plan.blocked, "backup") == NULL);
	/* With the array and no confirmation: nothing for it. */
	int64_t none = 0;
	in.backup_confirmed = &none;
	CU_ASSERT_EQUAL(kasp_plan(&p, &fresh, 1, &in, &plan), KASP_OK);
	for (size_t a = 0; a < plan.n; a++) {
		CU_ASSERT(plan.actions[a].key != 9);
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(plan.blocked, "key 9: waiting for the operator"));
	kasp_plan_deinit(&plan);
	free(s);
}

/* The signer's flags follow the states, through a CSK rollover. */
static void test_key_use(void)
{
	kasp_plan_policy_t p = fast_policy();
	p.csk = true;
	p.ksk_lifetime = 0;
	sim_t *s = roll_ksk(p, KASP_ROLE_CSK);
	kasp_key_t k = {.role = KASP_ROLE_CSK};
	for (int r = 0; r < KASP_RECORDS; r++) {
		k.state[r] = KASP_HIDDEN;
	}
	kasp_key_use_t u = kasp_key_use(&k);
	CU_ASSERT_FALSE(u.published || u.signs_keyset || u.signs_data || u.retained);
	/* Published: the DNSKEY RRset signed at once, the data not yet. */
	k.state[KASP_DNSKEY] = k.state[KASP_KRRSIG] = KASP_RUMOURED;
	u = kasp_key_use(&k);
	CU_ASSERT_TRUE(u.published && u.signs_keyset);
	CU_ASSERT_FALSE(u.signs_data || u.retained);
	k.state[KASP_DNSKEY] = k.state[KASP_KRRSIG] = KASP_OMNIPRESENT;
	k.state[KASP_ZRRSIG] = KASP_RUMOURED;
	u = kasp_key_use(&k);
	CU_ASSERT_TRUE(u.published && u.signs_keyset && u.signs_data);
	/* Retiring: its data signatures retained, then the DNSKEY gone. */
	k.state[KASP_ZRRSIG] = KASP_UNRETENTIVE;
	u = kasp_key_use(&k);
	CU_ASSERT_TRUE(u.published && u.signs_keyset && u.retained);
	CU_ASSERT_FALSE(u.signs_data);
	/* RFC 5011: published revoked, signing the DNSKEY RRset itself. */
	k.state[KASP_ZRRSIG] = KASP_HIDDEN;
	k.revoked = 1700000000;
	u = kasp_key_use(&k);
	CU_ASSERT_TRUE(u.published && u.revoked && u.signs_keyset);
	CU_ASSERT_FALSE(u.signs_data || u.retained);
	k.state[KASP_DNSKEY] = k.state[KASP_KRRSIG] = KASP_UNRETENTIVE;
	u = kasp_key_use(&k);
	CU_ASSERT_FALSE(u.published || u.signs_keyset || u.signs_data || u.retained || u.revoked);
	/* In the simulated CSK rollover, the new CSK signed the DNSKEY RRset
	 * (KRRSIG with its DNSKEY) before the data. */
	CU_ASSERT(when(s, 2, KASP_KRRSIG, KASP_RUMOURED) < when(s, 2, KASP_ZRRSIG, KASP_RUMOURED));
	free(s);
}

/* The planner's view of the default policy. */
static void test_from_policy(void)
{
	kasp_policy_t pol;
	kasp_policy_defaults(&pol);
	kasp_plan_policy_t p;
	kasp_plan_policy_from(&pol, &p);
	CU_ASSERT_EQUAL(p.algorithm, 13);
	CU_ASSERT_EQUAL(p.csk, pol.csk);
	CU_ASSERT_EQUAL(p.dnskey_ttl, pol.dnskey_ttl);
	CU_ASSERT_EQUAL(p.ds_ttl, pol.parent_ds_ttl);
	CU_ASSERT_EQUAL(p.sign_delay, pol.validity - pol.refresh + pol.jitter);
	CU_ASSERT_EQUAL(p.zsk_lifetime, pol.key[KASP_POLICY_ZSK].lifetime);
	CU_ASSERT_FALSE(p.double_ds);
	CU_ASSERT_FALSE(p.rfc5011);
	CU_ASSERT_FALSE(p.require_backup);
	pol.rfc5011 = pol.require_backup = true;
	pol.add_hold_down = 31 * DAY;
	pol.remove_hold_down = 32 * DAY;
	kasp_plan_policy_from(&pol, &p);
	CU_ASSERT_TRUE(p.rfc5011 && p.require_backup);
	CU_ASSERT_EQUAL(p.add_hold_down, 31 * DAY);
	CU_ASSERT_EQUAL(p.remove_hold_down, 32 * DAY);
	kasp_policy_deinit(&pol);
}

static void test_clock_jump(void)
{
	kasp_plan_policy_t p = fast_policy();
	kasp_plan_t plan = {0};
	kasp_plan_input_t in = {.now = 1700000000, .last_acted = 1700000000 - 7200};
	CU_ASSERT_EQUAL(kasp_plan(&p, NULL, 0, &in, &plan), KASP_OK);
	CU_ASSERT_TRUE(plan.clock_jump);
	CU_ASSERT_EQUAL(plan.n, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(plan.blocked, "clock jumped 7200 s"));
	in.clock_ack = true;
	CU_ASSERT_EQUAL(kasp_plan(&p, NULL, 0, &in, &plan), KASP_OK);
	CU_ASSERT_FALSE(plan.clock_jump);
	CU_ASSERT_EQUAL(plan.n, 2); /* a KSK and a ZSK generated */
	in.clock_ack = false;
	in.last_acted = in.now - 600; /* within the hour: acts */
	CU_ASSERT_EQUAL(kasp_plan(&p, NULL, 0, &in, &plan), KASP_OK);
	CU_ASSERT_EQUAL(plan.n, 2);
	kasp_plan_deinit(&plan);
}

/* The oracle and the rules fail where they must: a chain broken by hand. */
static void test_oracle_catches(void)
{
	sim_t *s = calloc(1, sizeof(*s));
	sim_init(s, fast_policy());
	run(s, s->now + 5 * DAY);
	CU_ASSERT_EQUAL(oracle(s), 0);
	kasp_key_t *ksk = s->k[0].role == KASP_ROLE_KSK ? &s->k[0] : &s->k[1];
	CU_ASSERT_TRUE(kasp_plan_rule(2, s->k, s->n, false));
	/* A revoked KSK, its DS still out, leads nowhere. */
	ksk->revoked = s->now;
	CU_ASSERT(oracle(s) > 0);
	CU_ASSERT_FALSE(kasp_plan_rule(2, s->k, s->n, false));
	ksk->revoked = 0;
	CU_ASSERT_EQUAL(oracle(s), 0);
	/* Rule 3 holds within each algorithm of a DS: another algorithm's
	 * signatures do not stand in for a ZSK swap broken halfway. */
	kasp_key_t mix[4] = {
	        {.algorithm = 8,
	         .role = KASP_ROLE_KSK,
	         .state = {KASP_OMNIPRESENT, KASP_OMNIPRESENT, KASP_OMNIPRESENT, KASP_NA}},
	        {.algorithm = 8,
	         .role = KASP_ROLE_ZSK,
	         .state = {KASP_NA, KASP_OMNIPRESENT, KASP_NA, KASP_UNRETENTIVE}},
	        {.algorithm = 8,
	         .role = KASP_ROLE_ZSK,
	         .state = {KASP_NA, KASP_OMNIPRESENT, KASP_NA, KASP_RUMOURED}},
	        {.algorithm = 13,
	         .role = KASP_ROLE_ZSK,
	         .state = {KASP_NA, KASP_OMNIPRESENT, KASP_NA, KASP_OMNIPRESENT}},
	};
	CU_ASSERT_TRUE(kasp_plan_rule(3, mix, 4, false));
	mix[1].state[KASP_ZRRSIG] = KASP_HIDDEN;
	CU_ASSERT_FALSE(kasp_plan_rule(3, mix, 4, false));
	ksk->state[KASP_DNSKEY] = ksk->state[KASP_KRRSIG] = KASP_UNRETENTIVE;
	CU_ASSERT(oracle(s) > 0);
	CU_ASSERT_FALSE(kasp_plan_rule(2, s->k, s->n, false));
	CU_ASSERT_TRUE(kasp_plan_rule(1, s->k, s->n, false));
	ksk->state[KASP_DS] = KASP_HIDDEN;
	CU_ASSERT_FALSE(kasp_plan_rule(1, s->k, s->n, false));
	free(s);
}

/* Two years under the fast policy (double-KSK and double-DS with the
 * algorithm rollover, CSK; then RFC 5011 with the algorithm rollover, and
 * RFC 5011 with a CSK): every rollover through the planner, the oracle at
 * every step; at the end only keys of the new algorithm are in use. */
static void test_two_years(void)
{
	kasp_plan_policy_t variants[5] = {fast_policy(), fast_policy(), fast_policy(),
	                                  fast_policy(), fast_policy()};
	variants[1].double_ds = true;
	variants[2].csk = true;
	variants[4].csk = true;
	for (int v = 3; v < 5; v++) {
		variants[v].rfc5011 = true;
		variants[v].add_hold_down = variants[v].remove_hold_down = 30 * DAY;
	}
	for (int v = 0; v < 5; v++) {
		sim_t *s = calloc(1, sizeof(*s));
		sim_init(s, variants[v]);
		if (v == 0 || v == 1 || v == 3) {
			s->p.algorithm = 8; /* RSASHA256 first, ECDSA after a year */
		}
		int64_t t0 = s->now;
		run(s, t0 + 365 * DAY);
		s->p.algorithm = 13;
		run(s, t0 + 730 * DAY);
		printf("\n  variant %d: %u keys generated, %u revoked, %u plans checked, %u oracle "
		       "failures, %zu keys in the set at the end",
		       v, s->generated, s->revoked, s->checks, s->oracle_failures, s->n);
		CU_ASSERT_EQUAL(s->oracle_failures, 0);
		/* The algorithm rollover finished: no record of an RSA key is
		 * in view. */
		for (size_t i = 0; i < s->n; i++) {
			for (int r = 0; s->k[i].algorithm != 13 && r < 4; r++) {
				CU_ASSERT(s->k[i].state[r] == KASP_HIDDEN ||
				          s->k[i].state[r] == KASP_NA);
			}
		}
		/* ZSKs every 30 days and KSKs every 180 (CSK: 180) over 2 years. */
		CU_ASSERT(s->generated >= (variants[v].csk ? 4u : 24u));
		/* Under RFC 5011 every KSK (CSK) but the last is revoked. */
		CU_ASSERT(!variants[v].rfc5011 || s->revoked >= 3);
		free(s);
	}
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	CU_pSuite suite = CU_add_suite("kasp_plan", NULL, NULL);
	CU_add_test(suite, "initial signing", test_initial);
	CU_add_test(suite, "ZSK pre-publication rollover", test_zsk_rollover);
	CU_add_test(suite, "KSK double-KSK rollover", test_double_ksk);
	CU_add_test(suite, "KSK double-DS rollover", test_double_ds);
	CU_add_test(suite, "algorithm rollover under double-DS", test_algorithm_rollover_double_ds);
	CU_add_test(suite, "CSK rollover", test_csk_rollover);
	CU_add_test(suite, "algorithm rollover (RFC 6781 4.1.4)", test_algorithm_rollover);
	CU_add_test(suite, "going insecure", test_go_insecure);
	CU_add_test(suite, "a parent that never shows the DS", test_parent_never_answers);
	CU_add_test(suite, "RFC 5011 KSK rollover", test_rfc5011_ksk_rollover);
	CU_add_test(suite, "RFC 5011 CSK rollover", test_rfc5011_csk_rollover);
	CU_add_test(suite, "require_backup holds a new key", test_require_backup);
	CU_add_test(suite, "clock jump", test_clock_jump);
	CU_add_test(suite, "planner view of a policy", test_from_policy);
	CU_add_test(suite, "the signer's flags from the states", test_key_use);
	CU_add_test(suite, "the oracle and the rules catch a broken chain", test_oracle_catches);
	CU_add_test(suite, "two years of rollovers", test_two_years);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed == 0 ? 0 : 1;
}
