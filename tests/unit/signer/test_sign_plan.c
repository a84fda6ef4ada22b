/*
 * Tests of sign_plan: the planner's decisions as a table (one row per
 * situation: fresh zone, reuse, refresh boundary, retained and removed keys,
 * changed RRsets, new keys, algorithm gaps, future inceptions, wrong fields,
 * roles, revoked keys, duplicates, unpublished keys that sign or keep their
 * RRSIGs in an algorithm rollover), key tag collisions resolved by the
 * signature, the validity window with and without jitter, timing checks,
 * and the workspace's reuse.
 */
#include "signer/sign/sign_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hsm/hsm_alg.h"
#include "hsm/hsm_error.h"
#include "signer/sign/sign_error.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "tests/support/testutil.h"

#define NOW  1700000000LL
#define DAY  86400
#define TTL  300
#define MAXK 4
#define MAXS 4
#define NONE -1 /* no key: an RRSIG with a tag no key has */

static const sign_plan_timing_t timing = {NOW, 3600, 14 * DAY, 5 * DAY, 12 * 3600};

typedef struct {
	sign_role_t role;
	uint8_t alg;
	uint16_t tag;
	bool published, active, retained, revoked;
	bool keyset_only; /* active_keyset without active (a CSK being introduced) */
} key_spec_t;

/* How an old RRSIG departs from a good one. */
enum { OK = 0, BAD_LABELS, BAD_OTTL, BAD_TYPE, BAD_SIGNER, BAD_RDATA };

typedef struct {
	int key;            /* index in keys, or NONE */
	int64_t inception;  /* relative to NOW, seconds */
	int64_t expiration; /* relative to NOW, seconds */
	int tweak;
} sig_spec_t;

/* What the RRset was when the old RRSIGs were made. */
enum { SAME = 0, TTL_CHANGED, RDATA_CHANGED, NO_OLD_DATA };

typedef struct {
	sign_plan_action_t action;
	sign_plan_why_t why;
} expect_t;

typedef struct {
	const char *name;
	key_spec_t keys[MAXK];
	size_t nkeys;
	uint16_t type;
	int then;
	sig_spec_t sigs[MAXS];
	size_t nsigs;
	/* expected */
	int status;
	expect_t old[MAXS]; /* per old RRSIG */
	int create[MAXK];   /* keys that get a CREATE, in key order */
	size_t ncreate;
	uint8_t gap_alg;
} plan_case_t;

/* clang-format off */
#define KSK(alg, tag)         {SIGN_ROLE_KSK, alg, tag, true, true, false, false, false}
#define ZSK(alg, tag)         {SIGN_ROLE_ZSK, alg, tag, true, true, false, false, false}
#define CSK(alg, tag)         {SIGN_ROLE_CSK, alg, tag, true, true, false, false, false}
#define RETAINED(alg, tag)    {SIGN_ROLE_ZSK, alg, tag, true, false, true, false, false}
#define INACTIVE(alg, tag)    {SIGN_ROLE_ZSK, alg, tag, true, false, false, false, false}
#define UNPUBLISHED(alg, tag) {SIGN_ROLE_ZSK, alg, tag, false, true, false, false, false}
#define UNPUB_RETAINED(alg, tag) {SIGN_ROLE_ZSK, alg, tag, false, false, true, false, false}
#define UNPUB_INACTIVE(alg, tag) {SIGN_ROLE_ZSK, alg, tag, false, false, false, false, false}
#define UNPUB_KSK(alg, tag)   {SIGN_ROLE_KSK, alg, tag, false, true, false, false, false}
#define REVOKED_KSK(alg, tag) {SIGN_ROLE_KSK, alg, tag, true, true, false, true, false}
#define REVOKED_CSK(alg, tag) {SIGN_ROLE_CSK, alg, tag, true, true, false, true, false}
#define CSK_KEYSET(alg, tag)  {SIGN_ROLE_CSK, alg, tag, true, false, false, false, true}
#define GOOD(k)               {k, -DAY, 10 * DAY, OK}
#define REUSE                 {SIGN_PLAN_REUSE, SIGN_PLAN_WHY_VALID}
#define DROP(why)             {SIGN_PLAN_DROP, SIGN_PLAN_WHY_##why}
#define A                     .type = ZONE_TYPE_A
#define DNSKEY                .type = ZONE_TYPE_DNSKEY
#define CREATES(...)          .create = {__VA_ARGS__}

/* Unset fields are 0: no old RRSIGs, the RRset unchanged (SAME), status
 * SIGN_OK, no CREATE, no gap. */
static const plan_case_t cases[] = {
	{"fresh zone: the ZSK signs data",
	 {KSK(13, 1), ZSK(13, 2)}, 2, A, CREATES(1), .ncreate = 1},
	{"fresh zone: the KSK signs the DNSKEY RRset",
	 {KSK(13, 1), ZSK(13, 2)}, 2, DNSKEY, CREATES(0), .ncreate = 1},
	{"fresh zone: a CSK signs the DNSKEY RRset",
	 {CSK(13, 3)}, 1, DNSKEY, CREATES(0), .ncreate = 1},
	{"fresh zone: a CSK signs data",
	 {CSK(13, 3)}, 1, A, CREATES(0), .ncreate = 1},
	{"new CSK active for the DNSKEY RRset only: signs it beside the old CSK",
	 {CSK(13, 3), CSK_KEYSET(13, 5)}, 2, DNSKEY, CREATES(0, 1), .ncreate = 2},
	{"new CSK active for the DNSKEY RRset only: data from the old CSK alone",
	 {CSK(13, 3), CSK_KEYSET(13, 5)}, 2, A, CREATES(0), .ncreate = 1},
	{"a CSK active for the DNSKEY RRset only: its data RRSIG dropped",
	 {CSK_KEYSET(13, 5), CSK(13, 3)}, 2, A, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {DROP(INACTIVE)}, CREATES(1), .ncreate = 1},
	{"all reused",
	 {KSK(13, 1), ZSK(13, 2)}, 2, A, .sigs = {GOOD(1)}, .nsigs = 1,
	 .old = {REUSE}},
	{"expiration - refresh == now: replaced",
	 {ZSK(13, 2)}, 1, A, .sigs = {{0, -DAY, 5 * DAY, OK}}, .nsigs = 1,
	 .old = {DROP(EXPIRING)}, CREATES(0), .ncreate = 1},
	{"expiration - refresh == now + 1: reused",
	 {ZSK(13, 2)}, 1, A, .sigs = {{0, -DAY, 5 * DAY + 1, OK}}, .nsigs = 1,
	 .old = {REUSE}},
	{"already expired: replaced",
	 {ZSK(13, 2)}, 1, A, .sigs = {{0, -20 * DAY, -DAY, OK}}, .nsigs = 1,
	 .old = {DROP(EXPIRING)}, CREATES(0), .ncreate = 1},
	{"retired key, retained: its RRSIG stays, the new key signs too",
	 {RETAINED(13, 2), ZSK(13, 4)}, 2, A, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {REUSE}, CREATES(1), .ncreate = 1},
	{"retained key alone covers its algorithm while its RRSIG lasts",
	 {RETAINED(13, 2)}, 1, A, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {REUSE}},
	{"retained key's RRSIG expiring, no active key: gap",
	 {RETAINED(13, 2)}, 1, A, .sigs = {{0, -DAY, DAY, OK}}, .nsigs = 1,
	 .status = SIGN_ERR_ALGORITHM_GAP, .gap_alg = 13},
	{"key removed from the key set: dropped",
	 {ZSK(13, 4)}, 1, A, .sigs = {GOOD(NONE)}, .nsigs = 1,
	 .old = {DROP(NO_KEY)}, CREATES(0), .ncreate = 1},
	{"key no longer published but active: its RRSIG reused",
	 {UNPUBLISHED(13, 2), ZSK(13, 4)}, 2, A, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {REUSE}, CREATES(1), .ncreate = 1},
	{"key neither active nor retained: dropped",
	 {INACTIVE(13, 2), ZSK(13, 4)}, 2, A, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {DROP(INACTIVE)}, CREATES(1), .ncreate = 1},
	{"TTL changed: re-signed",
	 {ZSK(13, 2)}, 1, A, .then = TTL_CHANGED, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {DROP(CHANGED)}, CREATES(0), .ncreate = 1},
	{"RDATA changed: re-signed",
	 {ZSK(13, 2)}, 1, A, .then = RDATA_CHANGED, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {DROP(CHANGED)}, CREATES(0), .ncreate = 1},
	{"old data unknown: re-signed",
	 {ZSK(13, 2)}, 1, A, .then = NO_OLD_DATA, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {DROP(CHANGED)}, CREATES(0), .ncreate = 1},
	{"new key added: old RRSIG reused, new key signs",
	 {ZSK(13, 2), ZSK(13, 4)}, 2, A, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {REUSE}, CREATES(1), .ncreate = 1},
	{"new algorithm added: signed in it too",
	 {ZSK(13, 2), ZSK(8, 5)}, 2, A, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {REUSE}, CREATES(1), .ncreate = 1},
	{"published algorithm without an active key: gap",
	 {ZSK(13, 2), INACTIVE(8, 5)}, 2, A,
	 .status = SIGN_ERR_ALGORITHM_GAP, .gap_alg = 8},
	{"published algorithm without an active KSK: gap on DNSKEY",
	 {KSK(13, 1), ZSK(13, 2), ZSK(8, 5)}, 3, DNSKEY,
	 .status = SIGN_ERR_ALGORITHM_GAP, .gap_alg = 8},
	{"inception in the future: replaced",
	 {ZSK(13, 2)}, 1, A, .sigs = {{0, 60, 10 * DAY, OK}}, .nsigs = 1,
	 .old = {DROP(NOT_YET)}, CREATES(0), .ncreate = 1},
	{"inception == now: reused",
	 {ZSK(13, 2)}, 1, A, .sigs = {{0, 0, 10 * DAY, OK}}, .nsigs = 1,
	 .old = {REUSE}},
	{"wrong labels: replaced",
	 {ZSK(13, 2)}, 1, A, .sigs = {{0, -DAY, 10 * DAY, BAD_LABELS}}, .nsigs = 1,
	 .old = {DROP(FIELDS)}, CREATES(0), .ncreate = 1},
	{"wrong original TTL: replaced",
	 {ZSK(13, 2)}, 1, A, .sigs = {{0, -DAY, 10 * DAY, BAD_OTTL}}, .nsigs = 1,
	 .old = {DROP(FIELDS)}, CREATES(0), .ncreate = 1},
	{"wrong type covered: replaced",
	 {ZSK(13, 2)}, 1, A, .sigs = {{0, -DAY, 10 * DAY, BAD_TYPE}}, .nsigs = 1,
	 .old = {DROP(FIELDS)}, CREATES(0), .ncreate = 1},
	{"wrong signer: replaced",
	 {ZSK(13, 2)}, 1, A, .sigs = {{0, -DAY, 10 * DAY, BAD_SIGNER}}, .nsigs = 1,
	 .old = {DROP(FIELDS)}, CREATES(0), .ncreate = 1},
	{"malformed RRSIG: dropped",
	 {ZSK(13, 2)}, 1, A, .sigs = {{0, -DAY, 10 * DAY, BAD_RDATA}}, .nsigs = 1,
	 .old = {DROP(MALFORMED)}, CREATES(0), .ncreate = 1},
	{"ZSK RRSIG over DNSKEY: dropped, the KSK signs",
	 {KSK(13, 1), ZSK(13, 2)}, 2, DNSKEY, .sigs = {GOOD(1)}, .nsigs = 1,
	 .old = {DROP(ROLE)}, CREATES(0), .ncreate = 1},
	{"revoked KSK signs the DNSKEY RRset",
	 {REVOKED_KSK(13, 9), KSK(13, 1), ZSK(13, 2)}, 3, DNSKEY,
	 CREATES(0, 1), .ncreate = 2},
	{"revoked CSK signs nothing else; its RRSIG dropped",
	 {REVOKED_CSK(13, 9), ZSK(13, 2)}, 2, A, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {DROP(ROLE)}, CREATES(1), .ncreate = 1},
	{"a revoked key's algorithm needs no RRSIG",
	 {REVOKED_KSK(8, 9), ZSK(13, 2)}, 2, A, CREATES(1), .ncreate = 1},
	{"active but unpublished key signs data (a new algorithm, RFC 6781 4.1.4)",
	 {UNPUBLISHED(8, 5), ZSK(13, 2)}, 2, A, CREATES(0, 1), .ncreate = 2},
	{"active unpublished key's RRSIG reused, the published key signs",
	 {UNPUBLISHED(8, 5), ZSK(13, 2)}, 2, A, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {REUSE}, CREATES(1), .ncreate = 1},
	{"active unpublished KSK signs the DNSKEY RRset",
	 {KSK(13, 1), ZSK(13, 2), UNPUB_KSK(8, 7)}, 3, DNSKEY, CREATES(0, 2), .ncreate = 2},
	{"retained unpublished key (DNSKEY withdrawn): its RRSIG reused",
	 {UNPUB_RETAINED(8, 5), ZSK(13, 2)}, 2, A, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {REUSE}, CREATES(1), .ncreate = 1},
	{"retained unpublished key makes no RRSIG",
	 {UNPUB_RETAINED(8, 5), ZSK(13, 2)}, 2, A, CREATES(1), .ncreate = 1},
	{"retained unpublished key's RRSIG expiring: dropped, no gap",
	 {UNPUB_RETAINED(8, 5), ZSK(13, 2)}, 2, A, .sigs = {{0, -DAY, DAY, OK}}, .nsigs = 1,
	 .old = {DROP(EXPIRING)}, CREATES(1), .ncreate = 1},
	{"unpublished key neither active nor retained: dropped",
	 {UNPUB_INACTIVE(8, 5), ZSK(13, 2)}, 2, A, .sigs = {GOOD(0)}, .nsigs = 1,
	 .old = {DROP(INACTIVE)}, CREATES(1), .ncreate = 1},
	{"unknown key's RRSIG dropped beside an unpublished key's",
	 {UNPUBLISHED(8, 5), ZSK(13, 2)}, 2, A, .sigs = {GOOD(0), GOOD(NONE)}, .nsigs = 2,
	 .old = {REUSE, DROP(NO_KEY)}, CREATES(1), .ncreate = 1},
	{"published algorithm without an active key: gap, though an unpublished key signs it",
	 {ZSK(13, 2), INACTIVE(8, 5), UNPUBLISHED(8, 6)}, 3, A,
	 .status = SIGN_ERR_ALGORITHM_GAP, .gap_alg = 8},
	{"published algorithm covered only by an unpublished key's RRSIG: gap",
	 {ZSK(13, 2), RETAINED(8, 5), UNPUB_RETAINED(8, 6)}, 3, A, .sigs = {GOOD(2)}, .nsigs = 1,
	 .status = SIGN_ERR_ALGORITHM_GAP, .gap_alg = 8},
	{"two RRSIGs of one key: the longest-lasting kept",
	 {ZSK(13, 2)}, 1, A,
	 .sigs = {{0, -DAY, 8 * DAY, OK}, {0, -DAY, 9 * DAY, OK}, {0, -DAY, 7 * DAY, OK}},
	 .nsigs = 3, .old = {DROP(DUPLICATE), REUSE, DROP(DUPLICATE)}},
	{"mixed: one reused, one expiring, one unknown",
	 {ZSK(13, 2), ZSK(8, 5)}, 2, A,
	 .sigs = {GOOD(0), {1, -DAY, DAY, OK}, GOOD(NONE)}, .nsigs = 3,
	 .old = {REUSE, DROP(EXPIRING), DROP(NO_KEY)}, CREATES(1), .ncreate = 1},
};
/* clang-format on */

static uint8_t owner[DNAME_MAXLEN], apex[DNAME_MAXLEN], other[DNAME_MAXLEN];

static zone_rrset_t *rrset(uint16_t type, uint32_t ttl, uint8_t last)
{
	uint8_t rd[4] = {192, 0, 2, last};
	zone_rdata_t r = {rd, 4};
	zone_rrset_t *out = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(type, ttl, &r, 1, &out), ZONE_OK);
	return out;
}

static void make_keys(const plan_case_t *c, sign_key_t *keys, sign_keyset_t *ks)
{
	memset(keys, 0, MAXK * sizeof(*keys));
	for (size_t i = 0; i < c->nkeys; i++) {
		const key_spec_t *s = &c->keys[i];
		keys[i].alg = hsm_alg_by_number(s->alg);
		CU_ASSERT_PTR_NOT_NULL_FATAL(keys[i].alg);
		keys[i].role = s->role;
		keys[i].tag = s->tag;
		keys[i].published = s->published;
		keys[i].active = s->active;
		keys[i].active_keyset = s->active || s->keyset_only;
		keys[i].retained = s->retained;
		keys[i].revoked = s->revoked;
	}
	ks->keys = keys;
	ks->count = c->nkeys;
}

/* An old RRSIG RDATA as the spec says (a dummy signature). */
static zone_rdata_t old_rrsig(const plan_case_t *c, const sig_spec_t *s, uint8_t *buf)
{
	const key_spec_t *k = s->key == NONE ? NULL : &c->keys[s->key];
	sign_rrsig_t f = {c->type,
	                  k != NULL ? k->alg : 13,
	                  2,
	                  TTL,
	                  NOW + s->expiration,
	                  NOW + s->inception,
	                  k != NULL ? k->tag : 9999,
	                  apex};
	switch (s->tweak) {
	case BAD_LABELS:
		f.labels = 1;
		break;
	case BAD_OTTL:
		f.original_ttl = TTL + 1;
		break;
	case BAD_TYPE:
		f.type_covered = ZONE_TYPE_AAAA;
		break;
	case BAD_SIGNER:
		f.signer = other;
		break;
	}
	uint8_t sig[64];
	memset(sig, 0xaa, sizeof(sig));
	size_t len = 0;
	CU_ASSERT_EQUAL(sign_rrsig_write(&f, sig, sizeof(sig), buf, 512, &len), SIGN_OK);
	if (s->tweak == BAD_RDATA) {
		len = 10;
	}
	return (zone_rdata_t){buf, (uint16_t)len};
}

static void run_case(const plan_case_t *c, sign_plan_t *plan)
{
	sign_key_t keys[MAXK];
	sign_keyset_t ks;
	make_keys(c, keys, &ks);
	zone_rrset_t *now = rrset(c->type, TTL, 1), *then = NULL, *sigs = NULL;
	if (c->then == SAME) {
		then = rrset(c->type, TTL, 1);
	} else if (c->then == TTL_CHANGED) {
		then = rrset(c->type, TTL * 2, 1);
	} else if (c->then == RDATA_CHANGED) {
		then = rrset(c->type, TTL, 2);
	}
	uint8_t bufs[MAXS][512];
	zone_rdata_t rds[MAXS];
	for (size_t i = 0; i < c->nsigs; i++) {
		rds[i] = old_rrsig(c, &c->sigs[i], bufs[i]);
	}
	if (c->nsigs > 0) {
		CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_RRSIG, TTL, rds, c->nsigs, &sigs),
		                      ZONE_OK);
		CU_ASSERT_EQUAL_FATAL(sigs->count, c->nsigs);
	}
	sign_plan_input_t in = {owner, apex, now, then, sigs};
	uint8_t gap = 0;
	int ret = sign_plan_rrset(plan, &timing, &ks, &in, &gap);
	bool ok = ret == c->status && gap == c->gap_alg;
	if (ret == SIGN_OK) {
		/* Old RRSIGs come in the RRSIG RRset's (canonical) order: match
		 * each expectation to its RDATA. */
		ok = ok && plan->count == c->nsigs + c->ncreate;
		for (size_t i = 0; ok && i < c->nsigs; i++) {
			const sign_plan_item_t *it = NULL;
			for (size_t j = 0; j < c->nsigs; j++) {
				if (plan->items[j].old.data != NULL &&
				    plan->items[j].old.len == rds[i].len &&
				    memcmp(plan->items[j].old.data, rds[i].data, rds[i].len) == 0) {
					it = &plan->items[j];
				}
			}
			ok = it != NULL && it->action == c->old[i].action &&
			     it->why == c->old[i].why;
			if (ok && it->action == SIGN_PLAN_REUSE) {
				ok = it->key == &keys[c->sigs[i].key];
			}
			if (it != NULL && !ok) {
				fprintf(stderr, "\n  %s: RRSIG %zu: %s (%s)\n", c->name, i,
				        sign_plan_action_str(it->action),
				        sign_plan_why_str(it->why));
			}
		}
		for (size_t i = 0; ok && i < c->ncreate; i++) {
			const sign_plan_item_t *it = &plan->items[c->nsigs + i];
			ok = it->action == SIGN_PLAN_CREATE && it->why == SIGN_PLAN_WHY_NEEDED &&
			     it->key == &keys[c->create[i]] && it->old.data == NULL;
		}
		ok = ok && plan->create == c->ncreate &&
		     plan->reuse + plan->drop + plan->create == plan->count;
	} else {
		ok = ok && plan->count == 0;
	}
	if (!ok) {
		fprintf(stderr, "\n  case failed: %s (status %d, gap %u, %zu items)\n", c->name,
		        ret, gap, plan->count);
	}
	CU_ASSERT(ok);
	zone_rrset_unref(now);
	zone_rrset_unref(then);
	zone_rrset_unref(sigs);
}

static void test_sign_plan_table(void)
{
	sign_plan_t plan;
	sign_plan_init(&plan);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_case(&cases[i], &plan);
	}
	sign_plan_deinit(&plan);
}

static void test_sign_plan_workspace_allocates_once(void)
{
	sign_plan_t plan;
	sign_plan_init(&plan);
	const plan_case_t *big = NULL;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (big == NULL || cases[i].nsigs + cases[i].nkeys > big->nsigs + big->nkeys) {
			big = &cases[i];
		}
	}
	run_case(big, &plan);
	sign_plan_item_t *items = plan.items;
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			run_case(&cases[i], &plan);
		}
	}
	CU_ASSERT_PTR_EQUAL(plan.items, items);
	sign_plan_deinit(&plan);
	CU_ASSERT_PTR_NULL(plan.items);
}

/* An Ed25519 key pair and its DNSKEY-based verification key. */
static EVP_PKEY *ed25519_key(sign_key_t *k, uint16_t tag, bool active)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CU_ASSERT_PTR_NOT_NULL_FATAL(pkey);
	uint8_t pub[32];
	size_t len = sizeof(pub);
	CU_ASSERT_FATAL(EVP_PKEY_get_raw_public_key(pkey, pub, &len) == 1);
	memset(k, 0, sizeof(*k));
	k->alg = hsm_alg_by_number(HSM_ALG_ED25519);
	k->role = SIGN_ROLE_ZSK;
	k->tag = tag; /* forced: both keys share it */
	k->published = true;
	k->active = active;
	CU_ASSERT_EQUAL_FATAL(hsm_verify_key_new(HSM_ALG_ED25519, pub, len, &k->verify), HSM_OK);
	return pkey;
}

/* An RRSIG by pkey over rrset at owner, written into buf. */
static zone_rdata_t real_rrsig(EVP_PKEY *pkey, const zone_rrset_t *data, uint16_t tag, uint8_t *buf)
{
	sign_rrsig_t f;
	sign_rrsig_fields(&f, owner, data, HSM_ALG_ED25519, tag, apex, NOW - DAY, NOW + 10 * DAY);
	sign_rrsig_buf_t sd;
	sign_rrsig_buf_init(&sd);
	CU_ASSERT_EQUAL_FATAL(sign_rrsig_signed_data(&sd, &f, owner, data), SIGN_OK);
	uint8_t sig[64];
	size_t sig_len = sizeof(sig), len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	CU_ASSERT_FATAL(EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, pkey, NULL) == 1 &&
	                EVP_DigestSign(ctx, sig, &sig_len, sd.data, sd.len) == 1);
	EVP_MD_CTX_free(ctx);
	sign_rrsig_buf_deinit(&sd);
	CU_ASSERT_EQUAL(sign_rrsig_write(&f, sig, sig_len, buf, 512, &len), SIGN_OK);
	return (zone_rdata_t){buf, (uint16_t)len};
}

static void test_sign_plan_tag_collision_resolved_by_signature(void)
{
	sign_key_t keys[2];
	EVP_PKEY *active = ed25519_key(&keys[0], 777, true);
	EVP_PKEY *inactive = ed25519_key(&keys[1], 777, false);
	sign_keyset_t ks = {keys, 2};
	zone_rrset_t *data = rrset(ZONE_TYPE_A, TTL, 1), *sigs = NULL;
	uint8_t b1[512], b2[512];
	zone_rdata_t rds[2] = {real_rrsig(inactive, data, 777, b1),
	                       real_rrsig(active, data, 777, b2)};
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_RRSIG, TTL, rds, 2, &sigs), ZONE_OK);
	sign_plan_t plan;
	sign_plan_init(&plan);
	sign_plan_input_t in = {owner, apex, data, data, sigs};
	CU_ASSERT_EQUAL_FATAL(sign_plan_rrset(&plan, &timing, &ks, &in, NULL), SIGN_OK);
	CU_ASSERT_EQUAL_FATAL(plan.count, 2);
	for (size_t i = 0; i < 2; i++) {
		const sign_plan_item_t *it = &plan.items[i];
		if (memcmp(it->old.data, b2, it->old.len) == 0) {
			CU_ASSERT_EQUAL(it->action, SIGN_PLAN_REUSE);
			CU_ASSERT_PTR_EQUAL(it->key, &keys[0]);
		} else {
			CU_ASSERT_EQUAL(it->action, SIGN_PLAN_DROP);
			CU_ASSERT_EQUAL(it->why, SIGN_PLAN_WHY_INACTIVE);
			CU_ASSERT_PTR_EQUAL(it->key, &keys[1]);
		}
	}
	/* A forged signature under the shared tag belongs to neither. */
	zone_rrset_unref(sigs);
	b2[rds[1].len - 1] ^= 1;
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_RRSIG, TTL, &rds[1], 1, &sigs), ZONE_OK);
	in.old_sigs = sigs;
	CU_ASSERT_EQUAL_FATAL(sign_plan_rrset(&plan, &timing, &ks, &in, NULL), SIGN_OK);
	CU_ASSERT_EQUAL_FATAL(plan.count, 2);
	CU_ASSERT_EQUAL(plan.items[0].action, SIGN_PLAN_DROP);
	CU_ASSERT_EQUAL(plan.items[0].why, SIGN_PLAN_WHY_NO_KEY);
	CU_ASSERT_PTR_NULL(plan.items[0].key);
	CU_ASSERT_EQUAL(plan.items[1].action, SIGN_PLAN_CREATE);
	CU_ASSERT_PTR_EQUAL(plan.items[1].key, &keys[0]);
	sign_plan_deinit(&plan);
	zone_rrset_unref(sigs);
	zone_rrset_unref(data);
	hsm_verify_key_free(keys[0].verify);
	hsm_verify_key_free(keys[1].verify);
	EVP_PKEY_free(active);
	EVP_PKEY_free(inactive);
}

static void test_sign_plan_window_exact_without_jitter(void)
{
	sign_plan_timing_t t = {NOW, 0, 7 * DAY, DAY, 0};
	int64_t inc = 0, exp = 0;
	sign_plan_window(&t, 123456789, &inc, &exp);
	CU_ASSERT_EQUAL(inc, NOW);
	CU_ASSERT_EQUAL(exp, NOW + 7 * DAY);
	t.inception_offset = 3600;
	sign_plan_window(&t, 0, &inc, &exp);
	CU_ASSERT_EQUAL(inc, NOW - 3600);
	CU_ASSERT_EQUAL(exp, NOW - 3600 + 7 * DAY);
}

static void test_sign_plan_window_jitter_in_range(void)
{
	sign_plan_timing_t t = timing;
	int64_t inc = 0, exp = 0, base = NOW - 3600 + 14 * DAY;
	sign_plan_window(&t, 0, &inc, &exp);
	CU_ASSERT_EQUAL(exp, base);
	sign_plan_window(&t, t.jitter, &inc, &exp);
	CU_ASSERT_EQUAL(exp, base + t.jitter);
	sign_plan_window(&t, (uint64_t)t.jitter + 1, &inc, &exp);
	CU_ASSERT_EQUAL(exp, base);
	sign_plan_window(&t, UINT64_MAX, &inc, &exp);
	CU_ASSERT(exp >= base && exp <= base + t.jitter);
	/* Distinct random values spread the expirations. */
	int64_t first = 0;
	bool spread = false;
	for (uint64_t r = 1; r < 100; r++) {
		sign_plan_window(&t, r * 0x9e3779b97f4a7c15ull, &inc, &exp);
		CU_ASSERT(exp >= base && exp <= base + t.jitter);
		CU_ASSERT_EQUAL(inc, NOW - 3600);
		spread = spread || (first != 0 && exp != first);
		first = exp;
	}
	CU_ASSERT(spread);
}

static void test_sign_plan_timing_check(void)
{
	sign_plan_timing_t t = timing;
	CU_ASSERT_EQUAL(sign_plan_timing_check(&t), SIGN_OK);
	t.validity = t.refresh + t.inception_offset; /* every new RRSIG due at once */
	CU_ASSERT_EQUAL(sign_plan_timing_check(&t), SIGN_ERR_TIMING);
	t.validity++;
	CU_ASSERT_EQUAL(sign_plan_timing_check(&t), SIGN_OK);
	t.validity = 0x7fffffff; /* past serial arithmetic's reach */
	CU_ASSERT_EQUAL(sign_plan_timing_check(&t), SIGN_ERR_TIMING);
	/* A new signature is reusable on the next pass, right after making it. */
	t = timing;
	int64_t inc = 0, exp = 0;
	sign_plan_window(&t, 0, &inc, &exp);
	CU_ASSERT(inc <= t.now && exp - (int64_t)t.refresh > t.now);
}

static void test_sign_plan_strings(void)
{
	CU_ASSERT_STRING_EQUAL(sign_plan_action_str(SIGN_PLAN_REUSE), "reuse");
	CU_ASSERT_STRING_EQUAL(sign_plan_action_str(SIGN_PLAN_CREATE), "create");
	CU_ASSERT_STRING_EQUAL(sign_plan_action_str(SIGN_PLAN_DROP), "drop");
	for (int w = SIGN_PLAN_WHY_VALID; w <= SIGN_PLAN_WHY_DUPLICATE; w++) {
		CU_ASSERT_STRING_NOT_EQUAL(sign_plan_why_str((sign_plan_why_t)w), "?");
	}
}

int main(void)
{
	if (dname_from_str("www.example.", NULL, owner, DNAME_MAXLEN, NULL) != 0 ||
	    dname_from_str("example.", NULL, apex, DNAME_MAXLEN, NULL) != 0 ||
	    dname_from_str("example.org.", NULL, other, DNAME_MAXLEN, NULL) != 0) {
		return 1;
	}
	static const testutil_case_t tests[] = {
	        {"table", test_sign_plan_table},
	        {"workspace_allocates_once", test_sign_plan_workspace_allocates_once},
	        {"tag_collision_resolved_by_signature",
	         test_sign_plan_tag_collision_resolved_by_signature},
	        {"window_exact_without_jitter", test_sign_plan_window_exact_without_jitter},
	        {"window_jitter_in_range", test_sign_plan_window_jitter_in_range},
	        {"timing_check", test_sign_plan_timing_check},
	        {"strings", test_sign_plan_strings},
	        {NULL, NULL},
	};
	return testutil_run("sign_plan", tests);
}
