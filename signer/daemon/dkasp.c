#include "signer/daemon/dkasp.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "hsm/hsm_alg.h"
#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_key.h"
#include "kasp/kasp_db.h"
#include "kasp/kasp_error.h"
#include "kasp/kasp_parent.h"
#include "kasp/kasp_plan.h"
#include "signer/daemon/log.h"
#include "signer/zone/dname.h"

#define BUCKETS       4096
#define MAX_TAG_TRIES 8
#define KEYGEN_RETRY  300 /* seconds before a failed key generation is tried again */
#define PLAN_ROUNDS   4   /* planner runs per pass: decisions open the way for more */

/* What the enforcer keeps of a DS it waits to see (or see gone). */
typedef struct {
	uint32_t key;
	bool want_present;
	kasp_parent_evidence_t ev;
} evidence_t;

typedef struct kzone {
	char *name;
	const kasp_policy_t *policy;
	unsigned roll; /* roles an operator asked to roll */
	bool clock_ack;
	bool insecure; /* going (or gone) insecure */
	bool have_last;
	int64_t last_skew; /* wall minus steady clock at the last run */
	int64_t last_poll;
	int64_t next;
	int64_t keygen_failed_at;
	char blocked[512];
	char poll[512];
	evidence_t *ev;
	size_t nev;
	sign_keyset_t ks; /* the pass thread's */
	uint64_t ks_print;
	bool ks_ready;
	struct kzone *hnext;
} kzone_t;

/* A key of a shared-key policy, with the zones referring to it. */
typedef struct {
	char *policy, *token, *locator;
	uint8_t *pubkey;
	size_t pubkey_len;
	unsigned role;
	uint8_t algorithm;
	int64_t created;
	unsigned refs; /* unpurged rows */
} shared_t;

struct dkasp {
	pthread_mutex_t mu;
	dkasp_params_t p;
	kasp_db_t *db;
	kasp_policy_t builtin;
	kzone_t *buckets[BUCKETS];
	unsigned collisions_left;
	shared_t *shared;
	size_t nshared;
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static unsigned hash_name(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * 16777619u;
	}
	return h % BUCKETS;
}

static kzone_t *find_zone(dkasp_t *k, const char *name)
{
	for (kzone_t *z = k->buckets[hash_name(name)]; z != NULL; z = z->hnext) {
		if (strcasecmp(z->name, name) == 0) {
			return z;
		}
	}
	return NULL;
}

static void kzone_free(kzone_t *z)
{
	if (z != NULL) {
		sign_keyset_deinit(&z->ks);
		free(z->ev);
		free(z->name);
		free(z);
	}
}

const kasp_policy_t *dkasp_policy(const dkasp_t *k, const char *name)
{
	if (name == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < k->p.config->npolicies; i++) {
		if (strcmp(k->p.config->policies[i].name, name) == 0) {
			return &k->p.config->policies[i];
		}
	}
	return strcmp(name, "default") == 0 ? &k->builtin : NULL;
}

/* --- shared keys --- */

static shared_t *shared_find(dkasp_t *k, const char *token, const char *locator)
{
	for (size_t i = 0; i < k->nshared; i++) {
		if (strcmp(k->shared[i].token, token) == 0 &&
		    strcmp(k->shared[i].locator, locator) == 0) {
			return &k->shared[i];
		}
	}
	return NULL;
}

/* Counts a row of a shared-policy key (adds the key on its first row). */
static int shared_ref(dkasp_t *k, const char *policy, const kasp_key_t *key,
                      const kasp_db_key_info_t *info)
{
	shared_t *s = shared_find(k, info->token, info->locator);
	if (s != NULL) {
		s->refs++;
		return 0;
	}
	shared_t *v = realloc(k->shared, (k->nshared + 1) * sizeof(*v));
	if (v == NULL) {
		return -1;
	}
	k->shared = v;
	s = &v[k->nshared];
	*s = (shared_t){.policy = strdup(policy),
	                .token = strdup(info->token),
	                .locator = strdup(info->locator),
	                .pubkey = malloc(info->pubkey_len),
	                .pubkey_len = info->pubkey_len,
	                .role = key->role,
	                .algorithm = key->algorithm,
	                .created = info->created,
	                .refs = 1};
	if (s->policy == NULL || s->token == NULL || s->locator == NULL || s->pubkey == NULL) {
		free(s->policy);
		free(s->token);
		free(s->locator);
		free(s->pubkey);
		return -1;
	}
	memcpy(s->pubkey, info->pubkey, info->pubkey_len);
	k->nshared++;
	return 0;
}

/* Drops a row's reference; true if no row refers to the key any more (or
 * it was never shared). */
static bool shared_unref(dkasp_t *k, const kasp_db_key_info_t *info)
{
	shared_t *s = shared_find(k, info->token, info->locator);
	if (s == NULL) {
		return true;
	}
	return --s->refs == 0;
}

/* --- open and close --- */

int dkasp_open(const dkasp_params_t *p, dkasp_t **out, char *err, size_t errlen)
{
	dkasp_t *k = calloc(1, sizeof(*k));
	if (k == NULL) {
		return fail(err, errlen, "out of memory");
	}
	pthread_mutex_init(&k->mu, NULL);
	k->p = *p;
	k->collisions_left = p->test_tag_collisions;
	kasp_policy_defaults(&k->builtin);
	k->builtin.name = "default";
	size_t len = strlen(p->config->state_dir) + 16;
	char *path = malloc(len);
	if (path == NULL) {
		dkasp_close(k);
		return fail(err, errlen, "out of memory");
	}
	mkdir(p->config->state_dir, 0700); /* EEXIST is fine; else open says why */
	snprintf(path, len, "%s/kasp.db", p->config->state_dir);
	char detail[256];
	if (kasp_db_open(path, &k->db, detail, sizeof(detail)) != KASP_OK) {
		fail(err, errlen, "%s: %s", path, detail);
		free(path);
		dkasp_close(k);
		return -1;
	}
	free(path);
	/* Shared keys: every row of a shared policy's key. */
	kasp_db_zone_t *zones = NULL;
	size_t nzones = 0;
	int ret = kasp_db_zones(k->db, &zones, &nzones);
	for (size_t i = 0; i < nzones && ret == KASP_OK; i++) {
		const kasp_policy_t *pol = dkasp_policy(k, zones[i].policy);
		if (pol == NULL || !pol->shared_keys) {
			continue;
		}
		kasp_key_t *keys = NULL;
		kasp_db_key_info_t *info = NULL;
		size_t n = 0;
		ret = kasp_db_keys(k->db, zones[i].name, &keys, &info, &n);
		for (size_t j = 0; j < n && ret == KASP_OK; j++) {
			if (info[j].purged == 0 &&
			    shared_ref(k, pol->name, &keys[j], &info[j]) != 0) {
				ret = KASP_ERR_NOMEM;
			}
		}
		kasp_db_keys_free(keys, info, n);
	}
	kasp_db_zones_free(zones, nzones);
	if (ret != KASP_OK) {
		fail(err, errlen, "key store: %s", kasp_db_error(k->db));
		dkasp_close(k);
		return -1;
	}
	*out = k;
	return 0;
}

void dkasp_close(dkasp_t *k)
{
	if (k == NULL) {
		return;
	}
	for (size_t i = 0; i < BUCKETS; i++) {
		for (kzone_t *z = k->buckets[i], *next; z != NULL; z = next) {
			next = z->hnext;
			kzone_free(z);
		}
	}
	for (size_t i = 0; i < k->nshared; i++) {
		free(k->shared[i].policy);
		free(k->shared[i].token);
		free(k->shared[i].locator);
		free(k->shared[i].pubkey);
	}
	free(k->shared);
	kasp_db_close(k->db);
	pthread_mutex_destroy(&k->mu);
	free(k);
}

/* --- zones --- */

int dkasp_zone_add(dkasp_t *k, const char *zone, const char *policy, char *err, size_t errlen)
{
	const kasp_policy_t *pol = dkasp_policy(k, policy);
	if (pol == NULL) {
		return fail(err, errlen, "no policy named '%s'", policy);
	}
	pthread_mutex_lock(&k->mu);
	int ret = 0;
	kzone_t *z = find_zone(k, zone);
	if (z == NULL) {
		z = calloc(1, sizeof(*z));
		if (z == NULL || (z->name = strdup(zone)) == NULL) {
			free(z);
			pthread_mutex_unlock(&k->mu);
			return fail(err, errlen, "out of memory");
		}
		sign_keyset_init(&z->ks);
		z->next = INT64_MAX;
		/* The clock as it is when the zone is loaded is the reference. */
		z->have_last = true;
		z->last_skew = dclock_skew(k->p.clock);
		unsigned h = hash_name(zone);
		z->hnext = k->buckets[h];
		k->buckets[h] = z;
	}
	z->policy = pol;
	kasp_db_zone_t row;
	bool found = false;
	int st = kasp_db_zone_get(k->db, zone, &row, &found);
	if (st == KASP_OK && found) {
		if (strcmp(row.policy, pol->name) != 0) {
			log_zone(LOG_WARNING, zone,
			         "policy '%s' in the key store, '%s' configured: the keys keep "
			         "following '%s'",
			         row.policy, pol->name, pol->name);
		}
		z->clock_ack = row.clock_ack;
		z->insecure = row.insecure;
		kasp_db_zone_deinit(&row);
	} else if (st == KASP_OK) {
		st = kasp_db_begin(k->db);
		if (st == KASP_OK) {
			st = kasp_db_zone_add(k->db, zone, pol->name);
		}
		st = st == KASP_OK ? kasp_db_commit(k->db) : (kasp_db_rollback(k->db), st);
	}
	if (st != KASP_OK) {
		ret = fail(err, errlen, "key store: %s", kasp_db_error(k->db));
	}
	pthread_mutex_unlock(&k->mu);
	return ret;
}

static void unlink_zone(dkasp_t *k, const char *zone)
{
	for (kzone_t **pz = &k->buckets[hash_name(zone)]; *pz != NULL; pz = &(*pz)->hnext) {
		if (strcasecmp((*pz)->name, zone) == 0) {
			kzone_t *z = *pz;
			*pz = z->hnext;
			kzone_free(z);
			return;
		}
	}
}

/* Destroys key i in its token unless another zone uses it; logs it. */
static int purge_key(dkasp_t *k, const char *zone, const kasp_key_t *key,
                     const kasp_db_key_info_t *info, int64_t now, char *err, size_t errlen)
{
	if (!shared_unref(k, info)) {
		log_zone(LOG_NOTICE, zone, "key %u (%s) left the zone; other zones still use it",
		         key->tag, info->locator);
		return kasp_db_key_set_purged(k->db, key->id, now) == KASP_OK
		               ? 0
		               : fail(err, errlen, "key store: %s", kasp_db_error(k->db));
	}
	hsm_key_t *found = NULL;
	size_t n = 0;
	hsm_detail_t d;
	memset(&d, 0, sizeof(d));
	int st = hsm_key_find_all(k->p.hsm, info->locator, &found, &n, &d);
	int deleted = 0;
	for (size_t i = 0; st == HSM_OK && i < n; i++) {
		if (strcmp(hsm_token_name(found[i].token), info->token) == 0) {
			st = hsm_key_delete(&found[i], &d);
			deleted += st == HSM_OK;
		}
	}
	free(found);
	if (st != HSM_OK) {
		char buf[256];
		return fail(err, errlen, "key %u: cannot purge it from token %s: %s", key->tag,
		            info->token, hsm_detail_format(st, &d, buf, sizeof(buf)));
	}
	log_zone(LOG_NOTICE, zone, "key %u (%s %s, id %s) purged from token %s%s", key->tag,
	         kasp_role_name(key->role),
	         hsm_alg_by_number(key->algorithm) ? hsm_alg_by_number(key->algorithm)->name : "?",
	         info->locator, info->token, deleted ? "" : " (it was not there any more)");
	return kasp_db_key_set_purged(k->db, key->id, now) == KASP_OK
	               ? 0
	               : fail(err, errlen, "key store: %s", kasp_db_error(k->db));
}

int dkasp_zone_remove(dkasp_t *k, const char *zone, char *err, size_t errlen)
{
	pthread_mutex_lock(&k->mu);
	kasp_key_t *keys = NULL;
	kasp_db_key_info_t *info = NULL;
	size_t n = 0;
	int ret = 0;
	int64_t now = dclock_now(k->p.clock);
	if (kasp_db_keys(k->db, zone, &keys, &info, &n) != KASP_OK ||
	    kasp_db_begin(k->db) != KASP_OK) {
		ret = fail(err, errlen, "key store: %s", kasp_db_error(k->db));
	}
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (info[i].purged == 0) {
			ret = purge_key(k, zone, &keys[i], &info[i], now, err, errlen);
		}
	}
	bool found = false;
	kasp_db_zone_t row;
	if (ret == 0 && kasp_db_zone_get(k->db, zone, &row, &found) == KASP_OK && found) {
		kasp_db_zone_deinit(&row);
		if (kasp_db_zone_remove(k->db, zone) != KASP_OK) {
			ret = fail(err, errlen, "key store: %s", kasp_db_error(k->db));
		}
	}
	if (ret == 0 && kasp_db_commit(k->db) != KASP_OK) {
		ret = fail(err, errlen, "key store: %s", kasp_db_error(k->db));
	}
	kasp_db_rollback(k->db);
	kasp_db_keys_free(keys, info, n);
	if (ret == 0) {
		unlink_zone(k, zone);
	}
	pthread_mutex_unlock(&k->mu);
	return ret;
}

/* --- key generation --- */

/* The policy's keys of a KASP_ROLE_* role (NULL if it has none). */
static const kasp_policy_key_t *role_key(const kasp_policy_t *pol, unsigned role)
{
	return kasp_policy_key(pol, role == KASP_ROLE_CSK   ? KASP_POLICY_CSK
	                            : role == KASP_ROLE_KSK ? KASP_POLICY_KSK
	                                                    : KASP_POLICY_ZSK);
}

/* An operator's role: "ksk", "zsk", "csk" (and "all", a CSK's bits, if
 * all), any case; 0 if none. */
static unsigned role_from_str(const char *s, bool all)
{
	return strcasecmp(s, "ksk") == 0          ? KASP_ROLE_KSK
	       : strcasecmp(s, "zsk") == 0        ? KASP_ROLE_ZSK
	       : strcasecmp(s, "csk") == 0        ? KASP_ROLE_CSK
	       : all && strcasecmp(s, "all") == 0 ? KASP_ROLE_CSK
	                                          : 0;
}

static hsm_token_t *policy_token(dkasp_t *k, const kasp_policy_t *pol, unsigned role)
{
	const kasp_policy_key_t *pk = role_key(pol, role);
	if (pk != NULL && pk->token != NULL) {
		return hsm_ctx_token(k->p.hsm, pk->token);
	}
	return hsm_ctx_count(k->p.hsm) > 0 ? hsm_ctx_token_at(k->p.hsm, 0) : NULL;
}

static unsigned policy_bits(const kasp_policy_t *pol, unsigned role)
{
	const kasp_policy_key_t *pk = role_key(pol, role);
	return pk != NULL ? pk->bits : 0;
}

/* The tag of rdata, and for a KSK/CSK the tag with the REVOKE bit (else
 * *rtag = tag). */
static void tags_of(const uint8_t *rdata, size_t len, unsigned role, uint16_t *tag, uint16_t *rtag)
{
	*tag = hsm_dnskey_keytag(rdata, len);
	*rtag = *tag;
	if (role & KASP_ROLE_KSK) {
		uint8_t rev[HSM_DNSKEY_PUBKEY_MAX + 4];
		size_t rlen = 0;
		if (kasp_export_revoke(rdata, len, rev, sizeof(rev), &rlen, rtag) != KASP_OK) {
			*rtag = *tag;
		}
	}
}

/* Whether a key of this tag pair would collide with a key of the zone
 * (either one's tag or REVOKE tag equal to either of the other's). */
static bool tag_collides(const kasp_key_t *keys, const kasp_db_key_info_t *info, size_t n,
                         uint16_t tag, uint16_t rtag)
{
	for (size_t i = 0; i < n; i++) {
		if (info[i].purged != 0) {
			continue;
		}
		uint16_t t, rt;
		tags_of(info[i].pubkey, info[i].pubkey_len, keys[i].role, &t, &rt);
		if (t == tag || t == rtag || rt == tag || rt == rtag) {
			return true;
		}
	}
	return false;
}

/* Adds a key row for zone with states hidden (NA where the role has none). */
static int add_row(dkasp_t *k, const char *zone, unsigned role, uint8_t alg, uint16_t tag,
                   const char *token, const char *locator, const uint8_t *rdata, size_t len,
                   int64_t created, char *err, size_t errlen)
{
	kasp_key_t key = {.algorithm = alg, .tag = tag, .role = role, .goal = true};
	key.state[KASP_DS] = role & KASP_ROLE_KSK ? KASP_HIDDEN : KASP_NA;
	key.state[KASP_DNSKEY] = KASP_HIDDEN;
	key.state[KASP_KRRSIG] = role & KASP_ROLE_KSK ? KASP_HIDDEN : KASP_NA;
	key.state[KASP_ZRRSIG] = role & KASP_ROLE_ZSK ? KASP_HIDDEN : KASP_NA;
	kasp_db_key_info_t info = {.locator = (char *)locator,
	                           .token = (char *)token,
	                           .pubkey = (uint8_t *)rdata,
	                           .pubkey_len = len,
	                           .created = created};
	uint32_t id = 0;
	if (kasp_db_key_add(k->db, zone, &key, &info, &id) != KASP_OK) {
		return fail(err, errlen, "key store: %s", kasp_db_error(k->db));
	}
	return 0;
}

/* A shared-key policy's newest key of role and algorithm the zone can
 * take (not its own yet, no tag collision), or NULL. */
static shared_t *shared_pick(dkasp_t *k, const kasp_policy_t *pol, unsigned role, uint8_t alg,
                             const kasp_key_t *keys, const kasp_db_key_info_t *info, size_t n,
                             int64_t now)
{
	shared_t *best = NULL;
	for (size_t i = 0; i < k->nshared; i++) {
		shared_t *s = &k->shared[i];
		if (strcmp(s->policy, pol->name) != 0 || s->role != role || s->algorithm != alg ||
		    s->refs == 0 || (best != NULL && best->created >= s->created)) {
			continue;
		}
		bool mine = false;
		for (size_t j = 0; j < n && !mine; j++) {
			mine = strcmp(info[j].locator, s->locator) == 0 &&
			       strcmp(info[j].token, s->token) == 0;
		}
		uint16_t tag, rtag;
		tags_of(s->pubkey, s->pubkey_len, role, &tag, &rtag);
		if (!mine && !tag_collides(keys, info, n, tag, rtag)) {
			best = s;
		}
	}
	/* A key made for a rollover long ago is no successor: make a new one. */
	uint32_t life = role == KASP_ROLE_ZSK   ? pol->key[KASP_POLICY_ZSK].lifetime
	                : role == KASP_ROLE_CSK ? pol->key[KASP_POLICY_CSK].lifetime
	                                        : pol->key[KASP_POLICY_KSK].lifetime;
	if (best != NULL && life > 0 && best->created + (int64_t)life / 2 < now) {
		return NULL;
	}
	return best;
}

/* Generates a key of role and algorithm for zone in the policy's token,
 * or takes the shared one. Inside a transaction. */
static int generate(dkasp_t *k, kzone_t *z, unsigned role, uint8_t algnum, const kasp_key_t *keys,
                    const kasp_db_key_info_t *info, size_t n, int64_t now, char *err, size_t errlen)
{
	const kasp_policy_t *pol = z->policy;
	if (pol->shared_keys) {
		shared_t *s = shared_pick(k, pol, role, algnum, keys, info, n, now);
		if (s != NULL) {
			uint16_t tag = hsm_dnskey_keytag(s->pubkey, s->pubkey_len);
			int ret = add_row(k, z->name, role, algnum, tag, s->token, s->locator,
			                  s->pubkey, s->pubkey_len, s->created, err, errlen);
			if (ret == 0) {
				s->refs++;
				log_zone(LOG_INFO, z->name,
				         "%s %u: the policy's shared key (id %s)",
				         kasp_role_name(role), tag, s->locator);
			}
			return ret;
		}
	}
	const hsm_alg_t *alg = hsm_alg_by_number(algnum);
	hsm_token_t *token = policy_token(k, pol, role);
	if (alg == NULL || token == NULL) {
		return fail(err, errlen, "%s: no token or algorithm %u for policy '%s'",
		            kasp_role_name(role), algnum, pol->name);
	}
	if (k->p.test_keygen_fails) {
		return fail(err, errlen, "%s generation in token %s refused (test hook)",
		            kasp_role_name(role), hsm_token_name(token));
	}
	uint16_t flags = role & KASP_ROLE_KSK ? 257 : 256;
	for (int tries = 0; tries < MAX_TAG_TRIES; tries++) {
		char label[64];
		snprintf(label, sizeof(label), "%.40s%s-%" PRId64, z->name, kasp_role_name(role),
		         now);
		hsm_key_t key;
		hsm_detail_t d;
		memset(&d, 0, sizeof(d));
		uint8_t pub[HSM_DNSKEY_PUBKEY_MAX], rdata[HSM_DNSKEY_PUBKEY_MAX + 4];
		size_t plen = 0, rlen = 0;
		int st = hsm_key_generate(token, alg, policy_bits(pol, role), label, &key, &d);
		if (st == HSM_OK) {
			st = hsm_key_dnskey_pubkey(&key, alg, pub, sizeof(pub), &plen, &d);
			if (st == HSM_OK) {
				st = hsm_dnskey_rdata(flags, algnum, pub, plen, rdata,
				                      sizeof(rdata), &rlen);
			}
			if (st != HSM_OK) {
				hsm_key_delete(&key, NULL);
			}
		}
		if (st != HSM_OK) {
			char buf[256];
			return fail(err, errlen, "%s generation in token %s failed: %s",
			            kasp_role_name(role), hsm_token_name(token),
			            hsm_detail_format(st, &d, buf, sizeof(buf)));
		}
		uint16_t tag, rtag;
		tags_of(rdata, rlen, role, &tag, &rtag);
		char locator[2 * HSM_KEY_ID_MAX + 1];
		hsm_key_id_hex(&key, locator, sizeof(locator));
		bool forced = k->collisions_left > 0;
		if (forced || tag_collides(keys, info, n, tag, rtag)) {
			if (forced) {
				k->collisions_left--;
			}
			log_zone(LOG_NOTICE, z->name,
			         "%s %u (REVOKE tag %u) collides with a key tag of the zone%s: "
			         "discarded, generating another",
			         kasp_role_name(role), tag, rtag, forced ? " (test hook)" : "");
			hsm_key_delete(&key, NULL);
			continue;
		}
		int ret = add_row(k, z->name, role, algnum, tag, hsm_token_name(token), locator,
		                  rdata, rlen, now, err, errlen);
		if (ret != 0) {
			hsm_key_delete(&key, NULL);
			return ret;
		}
		log_zone(LOG_NOTICE, z->name, "%s %u (%s, id %s) generated in token %s",
		         kasp_role_name(role), tag, alg->name, locator, hsm_token_name(token));
		if (pol->shared_keys) {
			kasp_key_t kk = {.role = role, .algorithm = algnum};
			kasp_db_key_info_t ki = {.token = (char *)hsm_token_name(token),
			                         .locator = locator,
			                         .pubkey = rdata,
			                         .pubkey_len = rlen,
			                         .created = now};
			if (shared_ref(k, pol->name, &kk, &ki) != 0) {
				return fail(err, errlen, "out of memory");
			}
		}
		return 0;
	}
	return fail(err, errlen, "%s: %d generated keys in a row collided with the zone's tags",
	            kasp_role_name(role), MAX_TAG_TRIES);
}

/* --- evidence from the parent --- */

static evidence_t *evidence_for(kzone_t *z, uint32_t key, bool want_present, int64_t interval)
{
	for (size_t i = 0; i < z->nev; i++) {
		if (z->ev[i].key == key) {
			if (z->ev[i].want_present != want_present) {
				z->ev[i].want_present = want_present;
				kasp_parent_evidence_init(&z->ev[i].ev, interval);
			}
			return &z->ev[i];
		}
	}
	evidence_t *v = realloc(z->ev, (z->nev + 1) * sizeof(*v));
	if (v == NULL) {
		return NULL;
	}
	z->ev = v;
	v[z->nev] = (evidence_t){.key = key, .want_present = want_present};
	kasp_parent_evidence_init(&v[z->nev].ev, interval);
	return &v[z->nev++];
}

/* Whether key i waits for evidence: 1 to see its DS, -1 to see it gone. */
static int waits_for(const kasp_key_t *key)
{
	if (key->state[KASP_DS] == KASP_RUMOURED && key->ds_seen < key->changed[KASP_DS]) {
		return 1;
	}
	if (key->state[KASP_DS] == KASP_UNRETENTIVE && key->ds_gone < key->changed[KASP_DS]) {
		return -1;
	}
	return 0;
}

/* Polls the parental agents for the keys waiting on the parent; records
 * established evidence. Called with the lock held; drops it during the
 * queries. */
static void poll_parent(dkasp_t *k, kzone_t *z, const uint8_t *apex, kasp_key_t *keys,
                        const kasp_db_key_info_t *info, size_t n, int64_t now)
{
	const kasp_policy_t *pol = z->policy;
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		any = any || (info[i].removed == 0 && waits_for(&keys[i]) != 0);
	}
	if (!any || pol->nparental_agents == 0 ||
	    (z->last_poll > 0 && now < z->last_poll + (int64_t)pol->poll_interval)) {
		return;
	}
	z->last_poll = now;
	kasp_parent_result_t res;
	char *name = strdup(z->name);
	if (name == NULL) {
		return;
	}
	pthread_mutex_unlock(&k->mu);
	int st = kasp_parent_poll((const char *const *)pol->parental_agents, pol->nparental_agents,
	                          name, NULL, &res);
	pthread_mutex_lock(&k->mu);
	free(name);
	if (st != KASP_OK) {
		snprintf(z->poll, sizeof(z->poll), "%" PRId64 ": poll failed: %s", now,
		         kasp_strerror(st));
		return;
	}
	size_t off = (size_t)snprintf(z->poll, sizeof(z->poll), "%" PRId64 ":", now);
	for (size_t i = 0; i < n; i++) {
		int want = info[i].removed == 0 ? waits_for(&keys[i]) : 0;
		if (want == 0) {
			continue;
		}
		/* The digest the CDS asks for (the policy's first), SHA-256 else. */
		uint8_t digest = pol->ncds_digests > 0 ? pol->cds_digests[0] : HSM_DS_SHA256;
		uint8_t ds[HSM_DS_RDATA_MAX];
		size_t len = 0;
		evidence_t *ev = evidence_for(z, keys[i].id, want > 0, pol->poll_interval);
		if (ev == NULL ||
		    hsm_dnskey_ds(apex, dname_length(apex), info[i].pubkey, info[i].pubkey_len,
		                  digest, ds, sizeof(ds), &len) != HSM_OK) {
			continue;
		}
		kasp_parent_ds_state_t s = kasp_parent_ds_state(
		        &res, keys[i].tag, keys[i].algorithm, digest, ds + 4, len - 4);
		kasp_parent_ds_state_t est = kasp_parent_evidence_add(&ev->ev, s, now);
		int64_t since = 0;
		kasp_parent_evidence_state(&ev->ev, &since);
		if (off < sizeof(z->poll)) {
			off += (size_t)snprintf(
			        z->poll + off, sizeof(z->poll) - off, " key %u DS %s%s;",
			        keys[i].tag, kasp_parent_ds_state_str(s),
			        est != KASP_PARENT_DS_UNKNOWN ? " (established)" : "");
		}
		bool done = (want > 0 && est == KASP_PARENT_DS_PRESENT) ||
		            (want < 0 && est == KASP_PARENT_DS_ABSENT);
		if (!done) {
			continue;
		}
		if (want > 0) {
			keys[i].ds_seen = since;
		} else {
			keys[i].ds_gone = since;
		}
		log_zone(LOG_NOTICE, z->name, "key %u: DS seen %s at every parental agent",
		         keys[i].tag, want > 0 ? "published" : "withdrawn");
		if (kasp_db_begin(k->db) == KASP_OK &&
		    kasp_db_key_save(k->db, &keys[i]) == KASP_OK) {
			kasp_db_commit(k->db);
		}
		kasp_db_rollback(k->db);
	}
	for (size_t i = 0; i < res.nanswers && off < sizeof(z->poll); i++) {
		if (!res.answers[i].reachable) {
			off += (size_t)snprintf(z->poll + off, sizeof(z->poll) - off, " %s: %s;",
			                        res.answers[i].agent, res.answers[i].detail);
		}
	}
	kasp_parent_result_deinit(&res);
}

/* --- the pass --- */

/* Leaves out the keys destroyed in their token: history, not the planner's
 * business. */
static void drop_purged(kasp_key_t *keys, kasp_db_key_info_t *info, size_t *n)
{
	size_t m = 0;
	for (size_t i = 0; i < *n; i++) {
		if (info[i].purged != 0) {
			free(info[i].locator);
			free(info[i].token);
			free(info[i].pubkey);
			continue;
		}
		keys[m] = keys[i];
		info[m] = info[i];
		m++;
	}
	*n = m;
}

static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++) {
		h = (h ^ b[i]) * 1099511628211ull;
	}
	return h;
}

static sign_role_t sign_role(unsigned role)
{
	return role == KASP_ROLE_CSK   ? SIGN_ROLE_CSK
	       : role == KASP_ROLE_KSK ? SIGN_ROLE_KSK
	                               : SIGN_ROLE_ZSK;
}

/* Looks the key up in its token. */
static int token_key(dkasp_t *k, const kasp_db_key_info_t *info, hsm_key_t *out, hsm_detail_t *d)
{
	hsm_key_t *found = NULL;
	size_t n = 0;
	int st = hsm_key_find_all(k->p.hsm, info->locator, &found, &n, d);
	bool got = false;
	for (size_t i = 0; st == HSM_OK && i < n && !got; i++) {
		if (strcmp(hsm_token_name(found[i].token), info->token) == 0) {
			*out = found[i];
			got = true;
		}
	}
	free(found);
	if (st == HSM_OK && !got) {
		hsm_detail_text(d, "no key with id %s in token %s", info->locator, info->token);
		st = HSM_ERR_NO_KEY;
	}
	return st;
}

/* The key set of the proposed states, kept in z while they stay. */
static int build_keyset(dkasp_t *k, kzone_t *z, const kasp_key_t *keys,
                        const kasp_db_key_info_t *info, size_t n, char *err, size_t errlen)
{
	uint64_t print = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		kasp_key_use_t use = kasp_key_use(&keys[i]);
		if (info[i].removed != 0) {
			continue;
		}
		print = fnv(print, &keys[i].id, sizeof(keys[i].id));
		print = fnv(print, &use, sizeof(use));
	}
	if (z->ks_ready && z->ks_print == print) {
		return 0;
	}
	sign_keyset_deinit(&z->ks);
	sign_keyset_init(&z->ks);
	z->ks_ready = false;
	for (size_t i = 0; i < n; i++) {
		kasp_key_use_t use = kasp_key_use(&keys[i]);
		if (info[i].removed != 0 ||
		    !(use.published || use.signs_keyset || use.signs_data || use.retained)) {
			continue;
		}
		hsm_key_t hk;
		hsm_detail_t d;
		memset(&d, 0, sizeof(d));
		const hsm_alg_t *alg = hsm_alg_by_number(keys[i].algorithm);
		int st = alg != NULL ? token_key(k, &info[i], &hk, &d) : HSM_ERR_ALGORITHM;
		bool active = keys[i].role == KASP_ROLE_KSK ? use.signs_keyset : use.signs_data;
		if (st == HSM_OK) {
			st = sign_keyset_add(&z->ks, &hk, alg, sign_role(keys[i].role),
			                     use.published, active || use.revoked, use.retained,
			                     use.revoked, &d);
		}
		if (st != HSM_OK) {
			char buf[256];
			sign_keyset_deinit(&z->ks);
			sign_keyset_init(&z->ks);
			return fail(err, errlen, "key %u: %s", keys[i].tag,
			            hsm_detail_format(st, &d, buf, sizeof(buf)));
		}
		sign_key_t *sk = &z->ks.keys[z->ks.count - 1];
		sk->active_keyset = use.signs_keyset || use.revoked;
		uint8_t want[HSM_DNSKEY_PUBKEY_MAX + 4];
		size_t wlen = info[i].pubkey_len <= sizeof(want) ? info[i].pubkey_len : 0;
		memcpy(want, info[i].pubkey, wlen);
		if (use.revoked && kasp_export_revoke(info[i].pubkey, info[i].pubkey_len, want,
		                                      sizeof(want), &wlen, NULL) != KASP_OK) {
			wlen = 0;
		}
		if (sk->dnskey_len != wlen || memcmp(sk->dnskey, want, wlen) != 0) {
			sign_keyset_deinit(&z->ks);
			sign_keyset_init(&z->ks);
			return fail(
			        err, errlen,
			        "key %u: the token's key (id %s in %s) is not the one in the key "
			        "store",
			        keys[i].tag, info[i].locator, info[i].token);
		}
	}
	z->ks_print = print;
	z->ks_ready = true;
	return 0;
}

/* Carries out the planner's decisions (every action but SET); *acted when
 * one was. Inside a transaction. */
static int decide(dkasp_t *k, kzone_t *z, const kasp_plan_t *plan, kasp_key_t *keys,
                  kasp_db_key_info_t *info, size_t n, int64_t now, bool *acted, char *err,
                  size_t errlen)
{
	*acted = false;
	for (size_t a = 0; a < plan->n; a++) {
		const kasp_action_t *act = &plan->actions[a];
		size_t i = 0;
		while (i < n && keys[i].id != act->key) {
			i++;
		}
		int ret = 0;
		switch (act->kind) {
		case KASP_ACT_GENERATE:
			ret = generate(k, z, act->role, act->algorithm, keys, info, n, now, err,
			               errlen);
			if (ret != 0) {
				z->keygen_failed_at = now;
			}
			break;
		case KASP_ACT_RETIRE:
			if (i < n) {
				keys[i].goal = false;
				ret = kasp_db_key_save(k->db, &keys[i]) == KASP_OK ? 0 : -1;
				log_zone(LOG_NOTICE, z->name, "%s %u retired",
				         kasp_role_name(keys[i].role), keys[i].tag);
			}
			break;
		case KASP_ACT_REMOVE:
			/* Only once the hidden states are recorded (published): the
			 * planner proposes it with the last step in the same run. */
			for (int r = 0; i < n && r < KASP_RECORDS; r++) {
				if (keys[i].state[r] != KASP_HIDDEN &&
				    keys[i].state[r] != KASP_NA) {
					i = n;
				}
			}
			if (i < n) {
				ret = kasp_db_key_set_removed(k->db, keys[i].id, now) == KASP_OK
				              ? 0
				              : -1;
				log_zone(LOG_NOTICE, z->name, "%s %u left the key set",
				         kasp_role_name(keys[i].role), keys[i].tag);
			}
			break;
		case KASP_ACT_PURGE:
			if (i < n) {
				ret = purge_key(k, z->name, &keys[i], &info[i], now, err, errlen);
			}
			break;
		case KASP_ACT_SET:
		case KASP_ACT_REVOKE:
			continue; /* recorded when published */
		}
		if (ret != 0 && act->kind != KASP_ACT_GENERATE && act->kind != KASP_ACT_PURGE) {
			fail(err, errlen, "key store: %s", kasp_db_error(k->db));
		}
		if (ret != 0) {
			return ret;
		}
		*acted = true;
	}
	return 0;
}

/* The planner's clock input: a wall clock ahead of the steady one by more
 * than the planner allows is a jump. */
static void clock_input(dkasp_t *k, kzone_t *z, int64_t now, kasp_plan_input_t *in)
{
	int64_t jumped = z->have_last ? dclock_skew(k->p.clock) - z->last_skew : 0;
	in->now = now;
	in->clock_ack = z->clock_ack;
	/* The planner sees the jump as time since its last action. */
	in->last_acted = jumped > KASP_PLAN_MAX_JUMP ? now - jumped : now;
}

static void note_run(dkasp_t *k, kzone_t *z, bool jumped)
{
	if (!jumped) {
		z->have_last = true;
		z->last_skew = dclock_skew(k->p.clock);
		z->clock_ack = false; /* an acknowledgement covers one jump */
	}
}

int dkasp_prepare(dkasp_t *k, const char *zone, const uint8_t *apex, int64_t now, dkasp_pass_t *out,
                  char *err, size_t errlen)
{
	out->next = INT64_MAX;
	pthread_mutex_lock(&k->mu);
	kzone_t *z = find_zone(k, zone);
	if (z == NULL) {
		pthread_mutex_unlock(&k->mu);
		return fail(err, errlen, "zone not in the key manager");
	}
	kasp_plan_policy_t pp;
	kasp_plan_policy_from(z->policy, &pp);
	pp.insecure = z->insecure;
	kasp_plan_t plan;
	memset(&plan, 0, sizeof(plan));
	kasp_key_t *keys = NULL;
	kasp_db_key_info_t *info = NULL;
	size_t n = 0;
	int ret = 0;
	int64_t *removed = NULL;
	kasp_plan_input_t in;
	memset(&in, 0, sizeof(in));
	clock_input(k, z, now, &in);
	char gen_err[256] = "";
	for (int round = 0; round < PLAN_ROUNDS && ret == 0; round++) {
		kasp_db_keys_free(keys, info, n);
		keys = NULL;
		info = NULL;
		n = 0;
		free(removed);
		removed = NULL;
		if (kasp_db_keys(k->db, zone, &keys, &info, &n) != KASP_OK) {
			ret = fail(err, errlen, "key store: %s", kasp_db_error(k->db));
			break;
		}
		drop_purged(keys, info, &n);
		if (round == 0) {
			poll_parent(k, z, apex, keys, info, n, now);
		}
		removed = calloc(2 * n + 2, sizeof(*removed)); /* removed, backup_confirmed */
		if (removed == NULL) {
			ret = fail(err, errlen, "out of memory");
			break;
		}
		for (size_t i = 0; i < n; i++) {
			removed[i] = info[i].removed;
			removed[n + 1 + i] = info[i].backup_confirmed;
		}
		in.removed = removed;
		in.backup_confirmed = removed + n + 1;
		in.roll = z->roll;
		if (kasp_plan(&pp, keys, n, &in, &plan) != KASP_OK) {
			ret = fail(err, errlen, "out of memory");
			break;
		}
		if (plan.clock_jump) {
			break;
		}
		/* A failed generation is retried after a while, not at every pass. */
		bool generate =
		        z->keygen_failed_at == 0 || now >= z->keygen_failed_at + KEYGEN_RETRY;
		kasp_plan_t decisions = plan;
		size_t m = 0;
		kasp_action_t *kept = malloc((plan.n + 1) * sizeof(*kept));
		if (kept == NULL) {
			ret = fail(err, errlen, "out of memory");
			break;
		}
		for (size_t a = 0; a < plan.n; a++) {
			if (plan.actions[a].kind != KASP_ACT_GENERATE || generate) {
				kept[m++] = plan.actions[a];
			}
		}
		decisions.actions = kept;
		decisions.n = m;
		bool acted = false;
		if (kasp_db_begin(k->db) != KASP_OK) {
			free(kept);
			ret = fail(err, errlen, "key store: %s", kasp_db_error(k->db));
			break;
		}
		char derr[256] = "";
		int st = decide(k, z, &decisions, keys, info, n, now, &acted, derr, sizeof(derr));
		free(kept);
		if (st == 0 || z->keygen_failed_at == now) {
			/* A key that could not be made is no reason to drop the rest. */
			if (kasp_db_commit(k->db) != KASP_OK) {
				ret = fail(err, errlen, "key store: %s", kasp_db_error(k->db));
			}
		} else {
			kasp_db_rollback(k->db);
			ret = fail(err, errlen, "%s", derr);
		}
		if (st != 0 && z->keygen_failed_at == now) {
			snprintf(gen_err, sizeof(gen_err), "%s", derr);
			log_zone(LOG_ERR, z->name, "%s; signing goes on with the current keys",
			         derr);
		}
		if (st == 0 && z->keygen_failed_at != 0 && z->keygen_failed_at < now && acted) {
			z->keygen_failed_at = 0;
		}
		if (!acted || ret != 0) {
			break;
		}
		z->roll = 0; /* the rollover asked for has started */
	}
	if (ret == 0) {
		snprintf(z->blocked, sizeof(z->blocked), "%.200s%s%.300s", gen_err,
		         gen_err[0] && plan.blocked[0] ? "; " : "", plan.blocked);
		z->next = plan.next;
		if (z->keygen_failed_at > 0 && z->keygen_failed_at + KEYGEN_RETRY < z->next) {
			z->next = z->keygen_failed_at + KEYGEN_RETRY;
		}
		note_run(k, z, plan.clock_jump);
		if (plan.clock_jump) {
			log_zone(LOG_WARNING, z->name, "%s", plan.blocked);
		}
	}
	/* The proposed states. */
	size_t nset = 0;
	for (size_t a = 0; ret == 0 && !plan.clock_jump && a < plan.n; a++) {
		const kasp_action_t *act = &plan.actions[a];
		for (size_t i = 0; i < n; i++) {
			if (keys[i].id != act->key) {
				continue;
			}
			if (act->kind == KASP_ACT_SET) {
				keys[i].state[act->record] = act->state;
				keys[i].changed[act->record] = now;
				nset++;
			} else if (act->kind == KASP_ACT_REVOKE) {
				keys[i].revoked = now;
				nset++;
			}
		}
	}
	if (ret == 0) {
		ret = build_keyset(k, z, keys, info, n, err, errlen);
	}
	if (ret == 0 && z->policy->cds_publish) {
		kasp_export_key_t *ek = calloc(n + 1, sizeof(*ek));
		size_t m = 0;
		for (size_t i = 0; ek != NULL && i < n; i++) {
			if (info[i].removed == 0) {
				ek[m++] = (kasp_export_key_t){&keys[i], info[i].pubkey,
				                              info[i].pubkey_len};
			}
		}
		out->cds = true;
		out->cds_ttl = z->policy->cds_ttl;
		/* Going insecure: the RFC 8078 delete records while a DS may be
		 * out, nothing once none is. */
		bool ds_out = false;
		for (size_t i = 0; ek != NULL && i < m; i++) {
			kasp_state_t s = ek[i].key->state[KASP_DS];
			ds_out = ds_out || (s != KASP_HIDDEN && s != KASP_NA);
		}
		int est = KASP_OK;
		if (ek == NULL) {
			est = KASP_ERR_NOMEM;
		} else if (z->insecure && ds_out) {
			est = kasp_export_cds_delete(&out->cds_rr, &out->cdnskey_rr);
		} else if (!z->insecure) {
			est = kasp_export_cds(zone, ek, m, z->policy->cds_digests,
			                      z->policy->ncds_digests, &out->cds_rr,
			                      &out->cdnskey_rr);
		}
		if (est != KASP_OK) {
			ret = fail(err, errlen, "CDS/CDNSKEY: cannot make them");
		}
		free(ek);
	}
	if (ret == 0) {
		out->ks = &z->ks;
		out->record = nset > 0;
		out->keys = keys;
		out->nkeys = n;
		keys = NULL;
	}
	out->next = z->next;
	kasp_db_keys_free(keys, info, n);
	free(removed);
	kasp_plan_deinit(&plan);
	pthread_mutex_unlock(&k->mu);
	return ret;
}

int dkasp_published(dkasp_t *k, const char *zone, const dkasp_pass_t *pass, int64_t when, char *err,
                    size_t errlen)
{
	if (!pass->record) {
		return 0;
	}
	pthread_mutex_lock(&k->mu);
	kasp_key_t *keys = NULL;
	kasp_db_key_info_t *info = NULL;
	size_t n = 0;
	int ret = 0;
	if (kasp_db_keys(k->db, zone, &keys, &info, &n) != KASP_OK ||
	    kasp_db_begin(k->db) != KASP_OK) {
		ret = fail(err, errlen, "key store: %s", kasp_db_error(k->db));
	}
	/* The stored key keeps what changed since (evidence, goal); the
	 * proposed states go in with the publication time. */
	for (size_t i = 0; ret == 0 && i < n; i++) {
		const kasp_key_t *p = NULL;
		for (size_t j = 0; j < pass->nkeys && p == NULL; j++) {
			p = pass->keys[j].id == keys[i].id ? &pass->keys[j] : NULL;
		}
		bool changed = false;
		for (int r = 0; p != NULL && r < KASP_RECORDS; r++) {
			if (p->state[r] != keys[i].state[r]) {
				keys[i].state[r] = p->state[r];
				keys[i].changed[r] = when;
				changed = true;
				log_zone(LOG_INFO, zone, "key %u %s %s", keys[i].tag,
				         kasp_record_name((kasp_record_t)r),
				         kasp_state_name(p->state[r]));
			}
		}
		if (p != NULL && p->revoked != 0 && keys[i].revoked == 0) {
			keys[i].revoked = when;
			changed = true;
			log_zone(LOG_NOTICE, zone, "key %u published with the REVOKE bit",
			         keys[i].tag);
		}
		if (changed && keys[i].published == 0 &&
		    (keys[i].state[KASP_DNSKEY] == KASP_RUMOURED ||
		     keys[i].state[KASP_DNSKEY] == KASP_OMNIPRESENT)) {
			keys[i].published = when;
		}
		if (changed && kasp_db_key_save(k->db, &keys[i]) != KASP_OK) {
			ret = fail(err, errlen, "key store: %s", kasp_db_error(k->db));
		}
		/* A retired key whose last record is gone leaves the key set. */
		bool gone = changed && !keys[i].goal && info[i].removed == 0;
		for (int r = 0; gone && r < KASP_RECORDS; r++) {
			gone = keys[i].state[r] == KASP_HIDDEN || keys[i].state[r] == KASP_NA;
		}
		if (ret == 0 && gone) {
			if (kasp_db_key_set_removed(k->db, keys[i].id, when) != KASP_OK) {
				ret = fail(err, errlen, "key store: %s", kasp_db_error(k->db));
			}
			log_zone(LOG_NOTICE, zone, "%s %u left the key set",
			         kasp_role_name(keys[i].role), keys[i].tag);
		}
	}
	if (ret == 0 && (kasp_db_zone_set_last_acted(k->db, zone, when) != KASP_OK ||
	                 kasp_db_commit(k->db) != KASP_OK)) {
		ret = fail(err, errlen, "key store: %s", kasp_db_error(k->db));
	}
	kasp_db_rollback(k->db);
	kasp_db_keys_free(keys, info, n);
	pthread_mutex_unlock(&k->mu);
	return ret;
}

void dkasp_pass_deinit(dkasp_pass_t *pass)
{
	if (pass == NULL) {
		return;
	}
	kasp_export_rrset_deinit(&pass->cds_rr);
	kasp_export_rrset_deinit(&pass->cdnskey_rr);
	free(pass->keys);
	memset(pass, 0, sizeof(*pass));
}

void dkasp_forget_keys(dkasp_t *k, const char *zone)
{
	pthread_mutex_lock(&k->mu);
	kzone_t *z = find_zone(k, zone);
	if (z != NULL) {
		z->ks_ready = false;
	}
	pthread_mutex_unlock(&k->mu);
}

int64_t dkasp_next_event(dkasp_t *k, const char *zone)
{
	pthread_mutex_lock(&k->mu);
	kzone_t *z = find_zone(k, zone);
	int64_t next = z != NULL ? z->next : INT64_MAX;
	pthread_mutex_unlock(&k->mu);
	return next;
}

/* --- operators --- */

/* The key of zone named by spec (a key tag or a CKA_ID), not purged. */
static kasp_key_t *key_by_spec(kasp_key_t *keys, const kasp_db_key_info_t *info, size_t n,
                               const char *spec, size_t *count)
{
	kasp_key_t *found = NULL;
	*count = 0;
	char *end = NULL;
	unsigned long tag = strtoul(spec, &end, 10);
	bool is_tag = end != spec && *end == '\0' && tag <= 65535;
	for (size_t i = 0; i < n; i++) {
		if (info[i].purged != 0) {
			continue;
		}
		if ((is_tag && keys[i].tag == tag) || strcasecmp(info[i].locator, spec) == 0) {
			found = &keys[i];
			(*count)++;
		}
	}
	return found;
}

/* Takes the token key spec into zone with role, as a key in use: its
 * DNSKEY and signatures everywhere (omnipresent), its DS at the parent if
 * ds_at_parent (else hidden: submitted as for a new key). A zone migrating
 * from another signer keeps its DNSKEY RRset; the planner sees keys that
 * fit the policy and starts no rollover. Lock held. */
static Signer__V1__Status import_key(dkasp_t *k, kzone_t *z, const char *spec, unsigned role,
                                     bool ds_at_parent, int64_t now, char *err, size_t errlen)
{
	hsm_key_t hk;
	hsm_detail_t d;
	memset(&d, 0, sizeof(d));
	char buf[256];
	int st = hsm_key_find(k->p.hsm, spec, &hk, &d);
	if (st != HSM_OK) {
		fail(err, errlen, "key %s: %s", spec, hsm_detail_format(st, &d, buf, sizeof(buf)));
		return st == HSM_ERR_NO_KEY || st == HSM_ERR_MANY_KEYS || st == HSM_ERR_URI
		               ? SIGNER__V1__STATUS__NOT_FOUND
		               : SIGNER__V1__STATUS__UNAVAILABLE;
	}
	/* The policy's algorithm when the key fits it (RSA keys serve several). */
	const hsm_alg_t *alg = hsm_alg_by_number(z->policy->algorithm);
	if (alg == NULL || alg->keytype != hk.keytype ||
	    (alg->keytype != HSM_KEYTYPE_RSA && alg->default_bits != hk.bits)) {
		alg = hk.alg;
	}
	uint8_t pub[HSM_DNSKEY_PUBKEY_MAX], rdata[HSM_DNSKEY_PUBKEY_MAX + 4];
	size_t plen = 0, rlen = 0;
	st = alg != NULL ? hsm_key_dnskey_pubkey(&hk, alg, pub, sizeof(pub), &plen, &d)
	                 : HSM_ERR_ALGORITHM;
	if (st == HSM_OK) {
		st = hsm_dnskey_rdata(role & KASP_ROLE_KSK ? 257 : 256, alg->number, pub, plen,
		                      rdata, sizeof(rdata), &rlen);
	}
	if (st != HSM_OK) {
		fail(err, errlen, "key %s: %s", spec, hsm_detail_format(st, &d, buf, sizeof(buf)));
		return SIGNER__V1__STATUS__BAD_REQUEST;
	}
	kasp_key_t *keys = NULL;
	kasp_db_key_info_t *info = NULL;
	size_t n = 0;
	if (kasp_db_keys(k->db, z->name, &keys, &info, &n) != KASP_OK) {
		fail(err, errlen, "key store: %s", kasp_db_error(k->db));
		return SIGNER__V1__STATUS__INTERNAL;
	}
	drop_purged(keys, info, &n);
	uint16_t tag, rtag;
	tags_of(rdata, rlen, role, &tag, &rtag);
	Signer__V1__Status ret = SIGNER__V1__STATUS__OK;
	char locator[2 * HSM_KEY_ID_MAX + 1];
	hsm_key_id_hex(&hk, locator, sizeof(locator));
	if (tag_collides(keys, info, n, tag, rtag)) {
		fail(err, errlen, "key %s: its tag %u (REVOKE tag %u) collides with a key of %s",
		     spec, tag, rtag, z->name);
		ret = SIGNER__V1__STATUS__ALREADY_EXISTS;
	} else if (kasp_db_begin(k->db) != KASP_OK ||
	           add_row(k, z->name, role, alg->number, tag, hsm_token_name(hk.token), locator,
	                   rdata, rlen, now, err, errlen) != 0) {
		ret = SIGNER__V1__STATUS__INTERNAL;
	}
	kasp_db_keys_free(keys, info, n);
	keys = NULL;
	info = NULL;
	n = 0;
	/* The new row, in use. */
	if (ret == SIGNER__V1__STATUS__OK &&
	    kasp_db_keys(k->db, z->name, &keys, &info, &n) == KASP_OK) {
		for (size_t i = 0; i < n; i++) {
			if (strcmp(info[i].locator, locator) != 0 ||
			    keys[i].algorithm != alg->number) {
				continue;
			}
			for (int r = 0; r < KASP_RECORDS; r++) {
				if (keys[i].state[r] == KASP_HIDDEN &&
				    (r != KASP_DS || ds_at_parent)) {
					keys[i].state[r] = KASP_OMNIPRESENT;
					keys[i].changed[r] = now;
				}
			}
			keys[i].published = now;
			if (kasp_db_key_save(k->db, &keys[i]) != KASP_OK) {
				ret = SIGNER__V1__STATUS__INTERNAL;
			}
		}
	}
	if (ret == SIGNER__V1__STATUS__OK && kasp_db_commit(k->db) != KASP_OK) {
		ret = SIGNER__V1__STATUS__INTERNAL;
	}
	if (ret == SIGNER__V1__STATUS__INTERNAL && err[0] == '\0') {
		fail(err, errlen, "key store: %s", kasp_db_error(k->db));
	}
	kasp_db_rollback(k->db);
	kasp_db_keys_free(keys, info, n);
	if (ret == SIGNER__V1__STATUS__OK) {
		z->ks_ready = false;
		log_zone(LOG_NOTICE, z->name, "%s %u (%s, id %s in token %s) imported in use%s",
		         kasp_role_name(role), tag, alg->name, locator, hsm_token_name(hk.token),
		         ds_at_parent ? ", its DS at the parent" : "");
		fail(err, errlen, "%s %u imported", kasp_role_name(role), tag);
	}
	return ret;
}

Signer__V1__Status dkasp_command(dkasp_t *k, const char *zone, Signer__V1__KeyCommand__Op op,
                                 const char *key, const char *role, bool ds_at_parent, int64_t now,
                                 char *err, size_t errlen)
{
	pthread_mutex_lock(&k->mu);
	kzone_t *z = find_zone(k, zone);
	Signer__V1__Status st = SIGNER__V1__STATUS__OK;
	kasp_key_t *keys = NULL;
	kasp_db_key_info_t *info = NULL;
	size_t n = 0;
	if (z == NULL) {
		fail(err, errlen, "%s has no policy: its keys are the ones it was added with",
		     zone);
		st = SIGNER__V1__STATUS__BAD_REQUEST;
		goto done;
	}
	if (op == SIGNER__V1__KEY_COMMAND__OP__ROLL) {
		unsigned r = role_from_str(role, true);
		if (r == 0) {
			fail(err, errlen, "role must be ksk, zsk, csk or all, not '%s'", role);
			st = SIGNER__V1__STATUS__BAD_REQUEST;
			goto done;
		}
		z->roll |= r;
		z->next = now;
		log_zone(LOG_NOTICE, zone, "operator: roll %s", role);
		goto done;
	}
	if (op == SIGNER__V1__KEY_COMMAND__OP__IMPORT) {
		unsigned r = role_from_str(role, false);
		if (r == 0) {
			fail(err, errlen, "import: role must be ksk, zsk or csk, not '%s'", role);
			st = SIGNER__V1__STATUS__BAD_REQUEST;
		} else {
			st = import_key(k, z, key != NULL ? key : "", r, ds_at_parent, now, err,
			                errlen);
		}
		z->next = now;
		goto done;
	}
	if (op == SIGNER__V1__KEY_COMMAND__OP__GO_INSECURE ||
	    op == SIGNER__V1__KEY_COMMAND__OP__GO_SECURE) {
		bool insecure = op == SIGNER__V1__KEY_COMMAND__OP__GO_INSECURE;
		int dbst = kasp_db_begin(k->db);
		if (dbst == KASP_OK) {
			dbst = kasp_db_zone_set_insecure(k->db, zone, insecure);
		}
		if (dbst == KASP_OK) {
			dbst = kasp_db_commit(k->db);
		}
		kasp_db_rollback(k->db);
		if (dbst != KASP_OK) {
			fail(err, errlen, "key store: %s", kasp_db_error(k->db));
			st = SIGNER__V1__STATUS__INTERNAL;
			goto done;
		}
		z->insecure = insecure;
		z->next = now;
		log_zone(LOG_NOTICE, zone, "operator: %s",
		         insecure ? "go insecure (DS first, then the keys)" : "go secure again");
		goto done;
	}
	if (op == SIGNER__V1__KEY_COMMAND__OP__CLOCK_ACK) {
		z->clock_ack = true;
		z->have_last = false; /* the clock as it is now is the reference */
		z->next = now;
		log_zone(LOG_NOTICE, zone, "operator: clock jump acknowledged");
		goto done;
	}
	if (kasp_db_keys(k->db, zone, &keys, &info, &n) != KASP_OK) {
		fail(err, errlen, "key store: %s", kasp_db_error(k->db));
		st = SIGNER__V1__STATUS__INTERNAL;
		goto done;
	}
	size_t count = 0;
	kasp_key_t *kk = key_by_spec(keys, info, n, key != NULL ? key : "", &count);
	if (count != 1) {
		fail(err, errlen, count == 0 ? "%s: no key %s" : "%s: key %s is ambiguous", zone,
		     key);
		st = SIGNER__V1__STATUS__NOT_FOUND;
		goto done;
	}
	int dbst = kasp_db_begin(k->db);
	if (op == SIGNER__V1__KEY_COMMAND__OP__BACKUP_DONE) {
		size_t i = (size_t)(kk - keys);
		if (dbst == KASP_OK) {
			dbst = kasp_db_key_set_backup_confirmed(k->db, keys[i].id, now);
		}
	} else {
		if (!(kk->role & KASP_ROLE_KSK)) {
			kasp_db_rollback(k->db);
			fail(err, errlen, "key %u is a ZSK: it has no DS", kk->tag);
			st = SIGNER__V1__STATUS__BAD_REQUEST;
			goto done;
		}
		if (op == SIGNER__V1__KEY_COMMAND__OP__DS_SEEN) {
			kk->ds_seen = now;
		} else {
			kk->ds_gone = now;
		}
		if (dbst == KASP_OK) {
			dbst = kasp_db_key_save(k->db, kk);
		}
	}
	if (dbst == KASP_OK) {
		dbst = kasp_db_commit(k->db);
	}
	kasp_db_rollback(k->db);
	if (dbst != KASP_OK) {
		fail(err, errlen, "key store: %s", kasp_db_error(k->db));
		st = SIGNER__V1__STATUS__INTERNAL;
		goto done;
	}
	log_zone(LOG_NOTICE, zone, "operator: key %u %s", kk->tag,
	         op == SIGNER__V1__KEY_COMMAND__OP__DS_SEEN   ? "DS seen at the parent"
	         : op == SIGNER__V1__KEY_COMMAND__OP__DS_GONE ? "DS seen gone from the parent"
	                                                      : "backup confirmed");
	z->next = now;
done:
	kasp_db_keys_free(keys, info, n);
	pthread_mutex_unlock(&k->mu);
	return st;
}

static char *dup_str(const char *s)
{
	char *d = strdup(s != NULL ? s : "");
	return d;
}

void dkasp_status(dkasp_t *k, const char *zone, Signer__V1__ZoneStatus *st)
{
	pthread_mutex_lock(&k->mu);
	kzone_t *z = find_zone(k, zone);
	kasp_key_t *keys = NULL;
	kasp_db_key_info_t *info = NULL;
	size_t n = 0;
	if (z == NULL || kasp_db_keys(k->db, zone, &keys, &info, &n) != KASP_OK) {
		pthread_mutex_unlock(&k->mu);
		return;
	}
	st->kasp_blocked = dup_str(z->blocked);
	st->parent_poll = dup_str(z->poll);
	st->kasp_next = z->next == INT64_MAX ? 0 : z->next;
	st->keys = calloc(n + 1, sizeof(*st->keys));
	for (size_t i = 0; st->keys != NULL && i < n; i++) {
		Signer__V1__KeyState *ks = calloc(1, sizeof(*ks));
		if (ks == NULL) {
			break;
		}
		signer__v1__key_state__init(ks);
		ks->key_tag = keys[i].tag;
		ks->algorithm = keys[i].algorithm;
		ks->role = dup_str(kasp_role_name(keys[i].role));
		ks->token = dup_str(info[i].token);
		ks->id = dup_str(info[i].locator);
		ks->goal = keys[i].goal;
		ks->ds = dup_str(kasp_state_name(keys[i].state[KASP_DS]));
		ks->dnskey = dup_str(kasp_state_name(keys[i].state[KASP_DNSKEY]));
		ks->krrsig = dup_str(kasp_state_name(keys[i].state[KASP_KRRSIG]));
		ks->zrrsig = dup_str(kasp_state_name(keys[i].state[KASP_ZRRSIG]));
		ks->created = info[i].created;
		ks->published = keys[i].published;
		ks->ds_seen = keys[i].ds_seen;
		ks->ds_gone = keys[i].ds_gone;
		ks->removed = info[i].removed;
		ks->purged = info[i].purged;
		st->keys[st->n_keys++] = ks;
	}
	kasp_db_keys_free(keys, info, n);
	pthread_mutex_unlock(&k->mu);
}

Signer__V1__Status dkasp_export(dkasp_t *k, const char *zone, kasp_export_format_t format,
                                bool anchor, bool sha384, char **out, char *err, size_t errlen)
{
	pthread_mutex_lock(&k->mu);
	kzone_t *z = find_zone(k, zone);
	kasp_key_t *keys = NULL;
	kasp_db_key_info_t *info = NULL;
	size_t n = 0;
	Signer__V1__Status st = SIGNER__V1__STATUS__OK;
	if (z == NULL) {
		fail(err, errlen, "%s has no policy", zone);
		st = SIGNER__V1__STATUS__BAD_REQUEST;
	} else if (kasp_db_keys(k->db, zone, &keys, &info, &n) != KASP_OK) {
		fail(err, errlen, "key store: %s", kasp_db_error(k->db));
		st = SIGNER__V1__STATUS__INTERNAL;
	}
	kasp_export_key_t *ek = calloc(n + 1, sizeof(*ek));
	size_t m = 0;
	for (size_t i = 0; ek != NULL && i < n; i++) {
		if (info[i].removed == 0) {
			ek[m++] = (kasp_export_key_t){&keys[i], info[i].pubkey, info[i].pubkey_len};
		}
	}
	uint8_t digests[2] = {2, 4};
	int ret = KASP_OK;
	if (st == SIGNER__V1__STATUS__OK && ek == NULL) {
		ret = KASP_ERR_NOMEM;
	} else if (st == SIGNER__V1__STATUS__OK && anchor) {
		ret = kasp_export_trust_anchor(zone, format, z->policy->dnskey_ttl, ek, m, digests,
		                               sha384 ? 2 : 1, out, NULL);
	} else if (st == SIGNER__V1__STATUS__OK) {
		ret = kasp_export_ds_text(zone, z->policy->parent_ds_ttl, ek, m, KASP_EXPORT_PARENT,
		                          digests, sha384 ? 2 : 1, out, NULL);
	}
	if (ret != KASP_OK) {
		fail(err, errlen, "%s", kasp_strerror(ret));
		st = SIGNER__V1__STATUS__INTERNAL;
	}
	free(ek);
	kasp_db_keys_free(keys, info, n);
	pthread_mutex_unlock(&k->mu);
	return st;
}

int dkasp_backup(dkasp_t *k, const char *path, char *err, size_t errlen)
{
	pthread_mutex_lock(&k->mu);
	int ret = kasp_db_backup(k->db, path) == KASP_OK
	                  ? 0
	                  : fail(err, errlen, "key store backup: %s", kasp_db_error(k->db));
	pthread_mutex_unlock(&k->mu);
	return ret;
}

int dkasp_after_restore(dkasp_t *k, char *err, size_t errlen)
{
	pthread_mutex_lock(&k->mu);
	kasp_db_zone_t *zones = NULL;
	size_t nzones = 0;
	int ret =
	        kasp_db_zones(k->db, &zones, &nzones) == KASP_OK && kasp_db_begin(k->db) == KASP_OK
	                ? 0
	                : -1;
	size_t forgotten = 0;
	for (size_t i = 0; i < nzones && ret == 0; i++) {
		kasp_key_t *keys = NULL;
		kasp_db_key_info_t *info = NULL;
		size_t n = 0;
		ret = kasp_db_keys(k->db, zones[i].name, &keys, &info, &n) == KASP_OK ? 0 : -1;
		for (size_t j = 0; j < n && ret == 0; j++) {
			kasp_state_t ds = keys[j].state[KASP_DS];
			if (info[j].purged == 0 &&
			    (ds == KASP_RUMOURED || ds == KASP_UNRETENTIVE) &&
			    (keys[j].ds_seen != 0 || keys[j].ds_gone != 0)) {
				keys[j].ds_seen = 0;
				keys[j].ds_gone = 0;
				ret = kasp_db_key_save(k->db, &keys[j]) == KASP_OK ? 0 : -1;
				forgotten++;
			}
		}
		kasp_db_keys_free(keys, info, n);
	}
	if (ret == 0 && kasp_db_commit(k->db) != KASP_OK) {
		ret = -1;
	}
	if (ret != 0) {
		fail(err, errlen, "key store: %s", kasp_db_error(k->db));
	}
	kasp_db_rollback(k->db);
	kasp_db_zones_free(zones, nzones);
	pthread_mutex_unlock(&k->mu);
	if (ret == 0 && forgotten > 0) {
		log_msg(LOG_NOTICE, "restore: the DS evidence of %zu keys is gathered again",
		        forgotten);
	}
	return ret;
}
