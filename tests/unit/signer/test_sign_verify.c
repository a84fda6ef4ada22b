/*
 * Tests of sign_verify: small zones built and signed here (Ed25519 and Ed448
 * keys held by OpenSSL; NSEC and NSEC3 chains made by the test itself) pass
 * every check; then one thing at a time is broken (a missing, expired, not
 * yet valid or forged RRSIG, one by an unknown key, wrong fields, RRSIGs over
 * glue and delegation NS, a missing algorithm, a broken NSEC next name or
 * bitmap, a missing or extra NSEC, a missing NSEC3, wrong NSEC3 parameters)
 * and each must be reported with its reason, owner, type and key; RRSIGs
 * by an unpublished key of the signer's key set are accepted when good and
 * refused when bad. The RFC
 * 5155 appendix A hashes check the NSEC3 hashing against outside vectors;
 * the chains signer/nsec builds must pass too (two independent readings of
 * RFC 4034/5155 that have to agree). The listed crypto check is also run
 * split across threads.
 */
#include "signer/sign/sign_verify.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_error.h"
#include "signer/nsec/nsec.h"
#include "signer/nsec/nsec3.h"
#include "signer/nsec/nsec_error.h"
#include "signer/sign/sign_error.h"
#include "signer/sign/sign_rrsig.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "tests/support/testutil.h"

#define NOW     1700000000LL
#define DAY     86400
#define REFRESH (5 * DAY)
#define TTL     3600
#define SOA_MIN 300 /* NSEC/NSEC3 TTL: min(SOA TTL, SOA MINIMUM) */

/* ---- keys ---- */

typedef struct {
	EVP_PKEY *pkey;
	uint8_t alg;
	uint16_t tag;
	uint8_t dnskey[4 + 57];
	size_t dnskey_len;
} tkey_t;

enum { KSK15, ZSK15, KSK16, ZSK16, ROGUE15, NKEYS };
static tkey_t keys[NKEYS];

static void make_key(tkey_t *k, const char *type, uint8_t alg, uint16_t flags)
{
	k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, type);
	size_t len = sizeof(k->dnskey) - 4;
	if (k->pkey == NULL || EVP_PKEY_get_raw_public_key(k->pkey, k->dnskey + 4, &len) != 1) {
		abort();
	}
	k->alg = alg;
	k->dnskey[0] = (uint8_t)(flags >> 8);
	k->dnskey[1] = (uint8_t)flags;
	k->dnskey[2] = 3;
	k->dnskey[3] = alg;
	k->dnskey_len = 4 + len;
	k->tag = hsm_dnskey_keytag(k->dnskey, k->dnskey_len);
}

/* ---- names and records ---- */

static uint8_t apex[DNAME_MAXLEN];

static const uint8_t *name(const char *text)
{
	static uint8_t buf[16][DNAME_MAXLEN];
	static unsigned next;
	uint8_t *out = buf[next++ % 16];
	if (dname_from_str(text, apex, out, DNAME_MAXLEN, NULL) != ZONE_OK) {
		abort();
	}
	return out;
}

typedef struct {
	const char *owner;
	uint16_t type;
	const char *rdata; /* A: address; NS: name; TXT: text; DS: tag; SOA: serial */
} rec_t;

/* RDATA of r in wire form; returns its length. */
static size_t rdata(const rec_t *r, uint8_t *out)
{
	size_t len = 0;
	switch (r->type) {
	case ZONE_TYPE_A:
		return inet_pton(AF_INET, r->rdata, out) == 1 ? 4 : 0;
	case ZONE_TYPE_NS:
		dname_from_str(r->rdata, apex, out, DNAME_MAXLEN, &len);
		return len;
	case ZONE_TYPE_SOA: {
		dname_from_str("ns1", apex, out, DNAME_MAXLEN, &len);
		size_t l2 = 0;
		dname_from_str("hostmaster", apex, out + len, DNAME_MAXLEN, &l2);
		len += l2;
		uint32_t v[5] = {(uint32_t)atoi(r->rdata), 3600, 900, 604800, SOA_MIN};
		for (int i = 0; i < 5; i++) {
			out[len++] = (uint8_t)(v[i] >> 24);
			out[len++] = (uint8_t)(v[i] >> 16);
			out[len++] = (uint8_t)(v[i] >> 8);
			out[len++] = (uint8_t)v[i];
		}
		return len;
	}
	case 16: /* TXT */
		out[0] = (uint8_t)strlen(r->rdata);
		memcpy(out + 1, r->rdata, out[0]);
		return 1u + out[0];
	case ZONE_TYPE_DS: {
		unsigned tag = (unsigned)atoi(r->rdata);
		out[0] = (uint8_t)(tag >> 8);
		out[1] = (uint8_t)tag;
		out[2] = 15;
		out[3] = 2;
		memset(out + 4, 0x5c, 32);
		return 36;
	}
	}
	abort();
}

/* The test zone: delegations secure and not, glue, a wildcard, empty
 * non-terminals (w, c, b.c, and "x", above an insecure delegation only). */
static const rec_t records[] = {
        {"@", ZONE_TYPE_SOA, "1"},
        {"@", ZONE_TYPE_NS, "ns1"},
        {"ns1", ZONE_TYPE_A, "192.0.2.1"},
        {"www", ZONE_TYPE_A, "192.0.2.80"},
        {"www", ZONE_TYPE_A, "192.0.2.81"},
        {"*.w", 16, "wild"},
        {"deleg", ZONE_TYPE_NS, "ns.deleg"},
        {"deleg", ZONE_TYPE_DS, "12345"},
        {"ns.deleg", ZONE_TYPE_A, "192.0.2.53"},
        {"insecure", ZONE_TYPE_NS, "ns.example.org."},
        {"a.b.c", ZONE_TYPE_A, "192.0.2.7"},
        {"y.x", ZONE_TYPE_NS, "ns.example.org."},
};
#define NRECORDS (sizeof(records) / sizeof(records[0]))

static int rec_cmp(const void *a, const void *b)
{
	const rec_t *x = a, *y = b;
	uint8_t nx[DNAME_MAXLEN];
	memcpy(nx, name(x->owner), DNAME_MAXLEN);
	int c = dname_canonical_cmp(nx, name(y->owner));
	return c != 0 ? c : (int)x->type - (int)y->type;
}

static zone_rrset_t *rrset_of(uint16_t type, uint32_t ttl, const zone_rdata_t *rd, size_t n)
{
	zone_rrset_t *out = NULL;
	if (zone_rrset_new(type, ttl, rd, n, &out) != ZONE_OK) {
		abort();
	}
	return out;
}

static zone_rrset_t *dnskey_rrset(const int *which, size_t n)
{
	zone_rdata_t rd[NKEYS];
	for (size_t i = 0; i < n; i++) {
		rd[i] = (zone_rdata_t){keys[which[i]].dnskey, (uint16_t)keys[which[i]].dnskey_len};
	}
	return rrset_of(ZONE_TYPE_DNSKEY, TTL, rd, n);
}

/* The unsigned zone of records plus the DNSKEY RRset of the keys in which. */
static zone_t *unsigned_zone(const int *which, size_t nwhich)
{
	rec_t sorted[NRECORDS];
	memcpy(sorted, records, sizeof(records));
	qsort(sorted, NRECORDS, sizeof(sorted[0]), rec_cmp);
	zone_node_t *nodes[NRECORDS];
	size_t nnodes = 0;
	for (size_t i = 0; i < NRECORDS;) {
		zone_slot_t slots[8];
		size_t nslots = 0, j = i;
		while (j < NRECORDS && dname_equal(name(sorted[j].owner), name(sorted[i].owner))) {
			uint8_t bufs[4][300];
			zone_rdata_t rd[4];
			size_t k = j, n = 0;
			for (; k < NRECORDS && sorted[k].type == sorted[j].type &&
			       dname_equal(name(sorted[k].owner), name(sorted[j].owner));
			     k++, n++) {
				rd[n] = (zone_rdata_t){bufs[n],
				                       (uint16_t)rdata(&sorted[k], bufs[n])};
			}
			slots[nslots++] = (zone_slot_t){rrset_of(sorted[j].type, TTL, rd, n), NULL};
			j = k;
		}
		if (strcmp(sorted[i].owner, "@") == 0 && nwhich > 0) {
			slots[nslots++] = (zone_slot_t){dnskey_rrset(which, nwhich), NULL};
		}
		if (zone_node_new(name(sorted[i].owner), slots, nslots, &nodes[nnodes++]) !=
		    ZONE_OK) {
			abort();
		}
		for (size_t s = 0; s < nslots; s++) {
			zone_rrset_unref(slots[s].data);
		}
		i = j;
	}
	zone_t *z = NULL;
	if (zone_new(apex, nodes, nnodes, &z, NULL) != ZONE_OK) {
		abort();
	}
	return z;
}

/* ---- chains ---- */

static size_t bitmap(const uint16_t *types, size_t n, uint8_t *out)
{
	size_t len = 0;
	for (size_t i = 0; i < n;) {
		unsigned win = types[i] >> 8;
		uint8_t bits[32] = {0};
		unsigned max = 0;
		for (; i < n && (unsigned)(types[i] >> 8) == win; i++) {
			unsigned b = types[i] & 0xff;
			bits[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			max = b / 8 + 1;
		}
		out[len++] = (uint8_t)win;
		out[len++] = (uint8_t)max;
		memcpy(out + len, bits, max);
		len += max;
	}
	return len;
}

static void add_sorted(uint16_t *types, size_t *n, uint16_t t)
{
	size_t i = *n;
	while (i > 0 && types[i - 1] > t) {
		types[i] = types[i - 1];
		i--;
	}
	types[i] = t;
	(*n)++;
}

/* The bitmap types of entry e: RFC 4034 4.1.2 / RFC 5155 3.2.1. */
static size_t types_of(const zone_entry_t *e, bool nsec3, uint16_t *types)
{
	size_t n = 0;
	bool cut = e->flags & ZONE_NAME_CUT, ds = false;
	for (size_t i = 0; i < e->node->nslots; i++) {
		uint16_t t = e->node->slots[i].data->type;
		if (!cut || t == ZONE_TYPE_NS || t == ZONE_TYPE_DS) {
			add_sorted(types, &n, t);
		}
		ds = ds || t == ZONE_TYPE_DS;
	}
	if (!nsec3) {
		add_sorted(types, &n, ZONE_TYPE_NSEC);
	}
	if (n > 0 && (!nsec3 || !cut || ds)) {
		add_sorted(types, &n, ZONE_TYPE_RRSIG);
	}
	return n;
}

static bool in_chain(const zone_entry_t *e)
{
	return !(e->flags & (ZONE_NAME_OCCLUDED | ZONE_NAME_ENT));
}

/* z with an NSEC RRset at every name of the chain; frees z. */
static zone_t *add_nsec(zone_t *z)
{
	zone_node_t *changed[32];
	size_t n = 0, first = SIZE_MAX;
	for (size_t i = 0; i < z->count; i++) {
		if (!in_chain(zone_entry(z, i))) {
			continue;
		}
		first = first == SIZE_MAX ? i : first;
		size_t next = i + 1;
		while (next < z->count && !in_chain(zone_entry(z, next))) {
			next++;
		}
		const uint8_t *nn = zone_entry(z, next < z->count ? next : first)->node->owner;
		uint8_t rd[600];
		uint16_t types[16];
		size_t len = dname_length(nn), nt = types_of(zone_entry(z, i), false, types);
		memcpy(rd, nn, len);
		len += bitmap(types, nt, rd + len);
		zone_rdata_t r = {rd, (uint16_t)len};
		zone_rrset_t *nsec = rrset_of(ZONE_TYPE_NSEC, SOA_MIN, &r, 1);
		if (zone_node_with(zone_entry(z, i)->node, (zone_slot_t){nsec, NULL},
		                   &changed[n++]) != ZONE_OK) {
			abort();
		}
		zone_rrset_unref(nsec);
	}
	zone_t *out = NULL;
	if (zone_replace(z, changed, n, &out, NULL) != ZONE_OK) {
		abort();
	}
	zone_free(z);
	return out;
}

typedef struct {
	uint16_t iterations;
	uint8_t salt[8];
	uint8_t salt_len;
	bool opt_out;
} n3par_t;

static void sha1_hash(const n3par_t *p, const uint8_t *owner, uint8_t out[20])
{
	uint8_t buf[DNAME_MAXLEN + 20];
	size_t len = dname_length(owner);
	memcpy(buf, owner, len);
	dname_to_lower(buf);
	for (unsigned i = 0; i <= p->iterations; i++) {
		memcpy(buf + len, p->salt, p->salt_len);
		unsigned n = 0;
		if (EVP_Digest(buf, len + p->salt_len, out, &n, EVP_sha1(), NULL) != 1) {
			abort();
		}
		memcpy(buf, out, 20);
		len = 20;
	}
}

static void b32(const uint8_t h[20], char out[33])
{
	static const char d[] = "0123456789abcdefghijklmnopqrstuv";
	for (int i = 0; i < 32; i++) {
		int bit = i * 5;
		unsigned v = (unsigned)h[bit / 8] << 8 | (bit / 8 + 1 < 20 ? h[bit / 8 + 1] : 0);
		out[i] = d[(v >> (11 - bit % 8)) & 31];
	}
	out[32] = '\0';
}

/* Whether entry i belongs in an NSEC3 chain (RFC 5155 7.1). */
static bool nsec3_in(const zone_t *z, size_t i, bool opt_out)
{
	const zone_entry_t *e = zone_entry(z, i);
	if (e->flags & ZONE_NAME_OCCLUDED) {
		return false;
	}
	bool insecure = (e->flags & ZONE_NAME_CUT) && !zone_node_find(e->node, ZONE_TYPE_DS);
	if (!(e->flags & ZONE_NAME_ENT)) {
		return !(opt_out && insecure);
	}
	for (size_t j = i + 1; j < z->count; j++) {
		if (!dname_is_subdomain(zone_entry(z, j)->node->owner, e->node->owner)) {
			break;
		}
		if (!(zone_entry(z, j)->flags & ZONE_NAME_ENT) && nsec3_in(z, j, opt_out)) {
			return true;
		}
	}
	return false;
}

typedef struct {
	uint8_t hash[20];
	size_t entry;
} hashed_t;

static int hashed_cmp(const void *a, const void *b)
{
	return memcmp(((const hashed_t *)a)->hash, ((const hashed_t *)b)->hash, 20);
}

/* The NSEC3 node of h (next: the next hash) for entry e. */
static zone_node_t *nsec3_node(const n3par_t *p, const hashed_t *h, const uint8_t *next,
                               const zone_entry_t *e)
{
	uint8_t rd[600], owner[DNAME_MAXLEN];
	uint16_t types[16];
	size_t len = 0;
	rd[len++] = 1;
	rd[len++] = p->opt_out ? 1 : 0;
	rd[len++] = (uint8_t)(p->iterations >> 8);
	rd[len++] = (uint8_t)p->iterations;
	rd[len++] = p->salt_len;
	memcpy(rd + len, p->salt, p->salt_len);
	len += p->salt_len;
	rd[len++] = 20;
	memcpy(rd + len, next, 20);
	len += 20;
	len += bitmap(types, types_of(e, true, types), rd + len);
	zone_rdata_t r = {rd, (uint16_t)len};
	zone_rrset_t *set = rrset_of(ZONE_TYPE_NSEC3, SOA_MIN, &r, 1);
	char label[33];
	b32(h->hash, label);
	owner[0] = 32;
	memcpy(owner + 1, label, 32);
	memcpy(owner + 33, apex, dname_length(apex));
	zone_node_t *node = NULL;
	zone_slot_t slot = {set, NULL};
	if (zone_node_new(owner, &slot, 1, &node) != ZONE_OK) {
		abort();
	}
	zone_rrset_unref(set);
	return node;
}

/* z with NSEC3PARAM at the apex and the NSEC3 nodes; frees z. skip (may be
 * NULL) names an entry left out of the chain. */
static zone_t *add_nsec3(zone_t *z, const n3par_t *p, const char *skip)
{
	uint8_t rd[16] = {1, 0, (uint8_t)(p->iterations >> 8), (uint8_t)p->iterations, p->salt_len};
	memcpy(rd + 5, p->salt, p->salt_len);
	zone_rdata_t r = {rd, (uint16_t)(5 + p->salt_len)};
	zone_rrset_t *param = rrset_of(ZONE_TYPE_NSEC3PARAM, 0, &r, 1);
	zone_node_t *apex_node = NULL;
	zone_t *out = NULL;
	if (zone_node_with(zone_entry(z, 0)->node, (zone_slot_t){param, NULL}, &apex_node) !=
	            ZONE_OK ||
	    zone_replace(z, &apex_node, 1, &out, NULL) != ZONE_OK) {
		abort();
	}
	zone_rrset_unref(param);
	zone_free(z);
	z = out;
	hashed_t h[32];
	size_t n = 0;
	for (size_t i = 0; i < z->count; i++) {
		if (nsec3_in(z, i, p->opt_out) &&
		    (skip == NULL || !dname_equal(zone_entry(z, i)->node->owner, name(skip)))) {
			sha1_hash(p, zone_entry(z, i)->node->owner, h[n].hash);
			h[n++].entry = i;
		}
	}
	qsort(h, n, sizeof(h[0]), hashed_cmp);
	zone_node_t *nodes[32];
	for (size_t i = 0; i < n; i++) {
		nodes[i] = nsec3_node(p, &h[i], h[(i + 1) % n].hash, zone_entry(z, h[i].entry));
	}
	if (zone_set_nsec3(z, nodes, n) != ZONE_OK) {
		abort();
	}
	return z;
}

/* ---- signing ---- */

/* An RRSIG RDATA by key k over data at owner, valid [NOW+inc, NOW+exp). */
static zone_rdata_t rrsig(int k, const uint8_t *owner, const zone_rrset_t *data, int64_t inc,
                          int64_t exp, uint8_t *out)
{
	sign_rrsig_t f;
	sign_rrsig_fields(&f, owner, data, keys[k].alg, keys[k].tag, apex, NOW + inc, NOW + exp);
	sign_rrsig_buf_t buf;
	sign_rrsig_buf_init(&buf);
	uint8_t sig[200];
	size_t sig_len = sizeof(sig), len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (sign_rrsig_signed_data(&buf, &f, owner, data) != SIGN_OK || ctx == NULL ||
	    EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, keys[k].pkey, NULL) != 1 ||
	    EVP_DigestSign(ctx, sig, &sig_len, buf.data, buf.len) != 1 ||
	    sign_rrsig_write(&f, sig, sig_len, out, 600, &len) != SIGN_OK) {
		abort();
	}
	EVP_MD_CTX_free(ctx);
	sign_rrsig_buf_deinit(&buf);
	return (zone_rdata_t){out, (uint16_t)len};
}

/* The RRSIG RRset over data at owner by the keys in which. */
static zone_rrset_t *sigs_by(const int *which, size_t n, const uint8_t *owner,
                             const zone_rrset_t *data, int64_t inc, int64_t exp)
{
	uint8_t bufs[NKEYS][600];
	zone_rdata_t rd[NKEYS];
	for (size_t i = 0; i < n; i++) {
		rd[i] = rrsig(which[i], owner, data, inc, exp, bufs[i]);
	}
	return rrset_of(ZONE_TYPE_RRSIG, data->ttl, rd, n);
}

static const int ksks[] = {KSK15}, zsks[] = {ZSK15};

/* node with every slot the zone signs signed (DNSKEY by the KSK, the rest
 * by the ZSK), valid from a day ago for 14 days. */
static zone_node_t *signed_node(const zone_node_t *node, const zone_entry_t *e)
{
	zone_node_t *cur = zone_node_ref((zone_node_t *)node);
	for (size_t s = 0; s < node->nslots; s++) {
		zone_rrset_t *data = node->slots[s].data;
		if (e != NULL && !zone_is_signed(e, data->type)) {
			continue;
		}
		bool apex_type = data->type == ZONE_TYPE_DNSKEY;
		zone_rrset_t *sigs =
		        sigs_by(apex_type ? ksks : zsks, 1, node->owner, data, -DAY, 14 * DAY);
		zone_node_t *next = NULL;
		if (zone_node_with(cur, (zone_slot_t){data, sigs}, &next) != ZONE_OK) {
			abort();
		}
		zone_rrset_unref(sigs);
		zone_node_unref(cur);
		cur = next;
	}
	return cur;
}

/* Signs z; frees it. */
static zone_t *sign_zone(zone_t *z)
{
	zone_node_t *changed[32], *n3[32];
	size_t n = 0;
	for (size_t i = 0; i < z->count; i++) {
		if (zone_entry(z, i)->node->nslots > 0) {
			changed[n++] = signed_node(zone_entry(z, i)->node, zone_entry(z, i));
		}
	}
	for (size_t i = 0; i < z->nsec3_count; i++) {
		n3[i] = signed_node(zone_nsec3_node(z, i), NULL);
	}
	zone_t *out = NULL;
	if (zone_replace(z, changed, n, &out, NULL) != ZONE_OK ||
	    zone_set_nsec3(out, n3, z->nsec3_count) != ZONE_OK) {
		abort();
	}
	zone_free(z);
	return out;
}

static const int base_keys[] = {KSK15, ZSK15};

static zone_t *nsec_zone(void)
{
	return sign_zone(add_nsec(unsigned_zone(base_keys, 2)));
}

static const n3par_t n3_plain = {0, {0}, 0, false};
static const n3par_t n3_salted = {5, {0xde, 0xad}, 2, false};
static const n3par_t n3_optout = {0, {0}, 0, true};

static zone_t *nsec3_zone(const n3par_t *p, const char *skip)
{
	return sign_zone(add_nsec3(unsigned_zone(base_keys, 2), p, skip));
}

/* ---- changing one thing ---- */

static const zone_node_t *node_at(const zone_t *z, const char *owner)
{
	size_t i = 0;
	if (!zone_find(z, name(owner), &i)) {
		abort();
	}
	return zone_entry(z, i)->node;
}

/* z with node put in (a new version); z freed; NSEC3 nodes carried over. */
static zone_t *with_node(zone_t *z, zone_node_t *node)
{
	zone_t *out = NULL;
	zone_node_t *n3[32];
	for (size_t i = 0; i < z->nsec3_count; i++) {
		n3[i] = zone_node_ref(zone_nsec3_node(z, i));
	}
	if (zone_replace(z, &node, 1, &out, NULL) != ZONE_OK ||
	    zone_set_nsec3(out, n3, z->nsec3_count) != ZONE_OK) {
		abort();
	}
	zone_free(z);
	return out;
}

/* The node at owner with the slot of type replaced by {data, sigs}
 * (references taken here; data NULL keeps the current data). */
static zone_node_t *node_with_slot(const zone_t *z, const char *owner, uint16_t type,
                                   zone_rrset_t *data, zone_rrset_t *sigs)
{
	const zone_node_t *node = node_at(z, owner);
	const zone_slot_t *old = zone_node_find(node, type);
	zone_node_t *next = NULL;
	if (zone_node_with(node, (zone_slot_t){data != NULL ? data : old->data, sigs}, &next) !=
	    ZONE_OK) {
		abort();
	}
	return next;
}

/* z with the slot of type at owner replaced (node_with_slot). */
static zone_t *with_slot(zone_t *z, const char *owner, uint16_t type, zone_rrset_t *data,
                         zone_rrset_t *sigs)
{
	return with_node(z, node_with_slot(z, owner, type, data, sigs));
}

static zone_t *without_slot(zone_t *z, const char *owner, uint16_t type)
{
	zone_node_t *next = NULL;
	if (zone_node_without(node_at(z, owner), type, &next) != ZONE_OK) {
		abort();
	}
	return with_node(z, next);
}

static const zone_rrset_t *data_at(const zone_t *z, const char *owner, uint16_t type)
{
	return zone_node_find(node_at(z, owner), type)->data;
}

/* ---- running the verifier ---- */

#define MAXF 64

typedef struct {
	sign_verify_reason_t reason;
	char owner[DNAME_STR_MAXLEN];
	uint16_t type;
	bool has_key;
	uint8_t alg;
	uint16_t tag;
	char detail[256];
} seen_t;

typedef struct {
	seen_t f[MAXF];
	size_t n;
} log_t;

static void collect(void *ctx, const sign_verify_failure_t *f)
{
	log_t *log = ctx;
	if (log->n < MAXF) {
		seen_t *s = &log->f[log->n];
		s->reason = f->reason;
		snprintf(s->owner, sizeof(s->owner), "%s", f->owner_text);
		s->type = f->type;
		s->has_key = f->has_key;
		s->alg = f->algorithm;
		s->tag = f->key_tag;
		snprintf(s->detail, sizeof(s->detail), "%s", f->detail);
	}
	log->n++;
}

/* Runs the checks in what over z, with the signer's key set ks (may be
 * NULL). */
static int verify_ks(const zone_t *z, unsigned what, const sign_keyset_t *ks, log_t *log,
                     sign_verify_counts_t *c)
{
	memset(log, 0, sizeof(*log));
	memset(c, 0, sizeof(*c));
	sign_verify_config_t cfg = {NOW, REFRESH, 0, collect, log, ks};
	int ret = sign_verify_zone(z, &cfg, what, NULL, 0, c);
	if (log->n != c->failures) {
		return -9999;
	}
	return ret;
}

static int verify(const zone_t *z, unsigned what, log_t *log, sign_verify_counts_t *c)
{
	memset(log, 0, sizeof(*log));
	memset(c, 0, sizeof(*c));
	sign_verify_config_t cfg = {NOW, REFRESH, 0, collect, log, NULL};
	int ret = sign_verify_zone(z, &cfg, what, NULL, 0, c);
	if (log->n != c->failures) {
		return -9999;
	}
	return ret;
}

static void dump(const log_t *log)
{
	for (size_t i = 0; i < log->n && i < MAXF; i++) {
		fprintf(stderr, "    %s %s/%u key %u/%u: %s (%s)\n",
		        sign_verify_reason_str(log->f[i].reason), log->f[i].owner, log->f[i].type,
		        log->f[i].tag, log->f[i].alg, log->f[i].detail, "");
	}
}

/* Whether log holds a failure with reason, owner and type (tag 0: any
 * key). */
static bool has(const log_t *log, sign_verify_reason_t reason, const char *owner, uint16_t type,
                uint16_t tag)
{
	char want[DNAME_STR_MAXLEN];
	dname_to_str(name(owner), want, sizeof(want));
	for (size_t i = 0; i < log->n && i < MAXF; i++) {
		const seen_t *s = &log->f[i];
		if (s->reason == reason && strcmp(s->owner, want) == 0 && s->type == type &&
		    (tag == 0 || (s->has_key && s->tag == tag))) {
			return true;
		}
	}
	dump(log);
	return false;
}

#define ALL_CHECKS (SIGN_VERIFY_CHECK_COVERAGE | SIGN_VERIFY_CHECK_ALL | SIGN_VERIFY_CHECK_CHAIN)

/* ---- tests ---- */

static void expect_clean(const zone_t *z, bool nsec3)
{
	log_t log;
	sign_verify_counts_t c;
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_OK);
	if (log.n > 0) {
		dump(&log);
	}
	CU_ASSERT_EQUAL(c.failures, 0);
	CU_ASSERT(c.rrsets > 10);
	CU_ASSERT_EQUAL(c.verified, c.rrsigs);
	CU_ASSERT(c.names >= (nsec3 ? 9u : 8u));
}

static void test_sign_verify_signed_zones_pass(void)
{
	zone_t *z = nsec_zone();
	expect_clean(z, false);
	zone_free(z);
	z = nsec3_zone(&n3_plain, NULL);
	expect_clean(z, true);
	zone_free(z);
	z = nsec3_zone(&n3_salted, NULL);
	expect_clean(z, true);
	zone_free(z);
	z = nsec3_zone(&n3_optout, NULL);
	CU_ASSERT_EQUAL(z->nsec3_count, 9); /* 12 names but insecure, x, y.x */
	expect_clean(z, true);
	zone_free(z);
}

static void test_sign_verify_missing_rrsig(void)
{
	zone_t *z = with_slot(nsec_zone(), "www", ZONE_TYPE_A, NULL, NULL);
	log_t log;
	sign_verify_counts_t c;
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_MISSING, "www", ZONE_TYPE_A, 0));
	CU_ASSERT_EQUAL(log.f[0].alg, 15);
	zone_free(z);
}

static void test_sign_verify_expiring_and_future_rrsigs(void)
{
	zone_t *z = nsec_zone();
	const zone_rrset_t *a = data_at(z, "www", ZONE_TYPE_A);
	/* Expires one second before now + refresh. */
	zone_rrset_t *sigs = sigs_by(zsks, 1, name("www"), a, -DAY, REFRESH - 1);
	z = with_slot(z, "www", ZONE_TYPE_A, NULL, sigs);
	zone_rrset_unref(sigs);
	a = data_at(z, "ns1", ZONE_TYPE_A);
	sigs = sigs_by(zsks, 1, name("ns1"), a, 60, 14 * DAY);
	z = with_slot(z, "ns1", ZONE_TYPE_A, NULL, sigs);
	zone_rrset_unref(sigs);
	log_t log;
	sign_verify_counts_t c;
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_COVERAGE, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT(has(&log, SIGN_VERIFY_EXPIRES, "www", ZONE_TYPE_A, keys[ZSK15].tag));
	CU_ASSERT(has(&log, SIGN_VERIFY_MISSING, "www", ZONE_TYPE_A, 0));
	CU_ASSERT(has(&log, SIGN_VERIFY_NOT_YET_VALID, "ns1", ZONE_TYPE_A, keys[ZSK15].tag));
	CU_ASSERT(has(&log, SIGN_VERIFY_MISSING, "ns1", ZONE_TYPE_A, 0));
	CU_ASSERT_EQUAL(log.n, 4);
	CU_ASSERT_EQUAL(c.verified, 0); /* coverage costs no crypto */
	/* Exactly now + refresh is enough. */
	a = data_at(z, "www", ZONE_TYPE_A);
	sigs = sigs_by(zsks, 1, name("www"), a, 0, REFRESH);
	z = with_slot(z, "www", ZONE_TYPE_A, NULL, sigs);
	zone_rrset_unref(sigs);
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_COVERAGE, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 2); /* ns1 only */
	zone_free(z);
}

/* The RRSIG RDATA of www A with its last signature byte flipped. */
static zone_t *forge_www(zone_t *z, uint8_t *buf, zone_rdata_t *rd)
{
	const zone_slot_t *slot = zone_node_find(node_at(z, "www"), ZONE_TYPE_A);
	size_t pos = 0;
	CU_ASSERT_FATAL(zone_rrset_next(slot->sigs, &pos, rd));
	memcpy(buf, rd->data, rd->len);
	buf[rd->len - 1] ^= 0x01;
	rd->data = buf;
	zone_rrset_t *sigs = rrset_of(ZONE_TYPE_RRSIG, slot->data->ttl, rd, 1);
	z = with_slot(z, "www", ZONE_TYPE_A, NULL, sigs);
	zone_rrset_unref(sigs);
	return z;
}

static void test_sign_verify_bad_signature_byte(void)
{
	uint8_t buf[600];
	zone_rdata_t rd;
	zone_t *z = forge_www(nsec_zone(), buf, &rd);
	log_t log;
	sign_verify_counts_t c;
	/* Coverage does not look at signatures. */
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_COVERAGE | SIGN_VERIFY_CHECK_CHAIN, &log, &c),
	                SIGN_OK);
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_ALL, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_BAD_SIGNATURE, "www", ZONE_TYPE_A, keys[ZSK15].tag));
	CU_ASSERT(c.verified > 10);

	/* The listed mode checks only what it is given. */
	sign_verify_t *v = NULL;
	sign_verify_config_t cfg = {NOW, REFRESH, 0, collect, &log, NULL};
	CU_ASSERT_EQUAL_FATAL(sign_verify_new(z, &cfg, &v), SIGN_OK);
	const zone_node_t *ns1 = node_at(z, "ns1");
	const zone_slot_t *good = zone_node_find(ns1, ZONE_TYPE_A);
	zone_rdata_t grd;
	size_t pos = 0;
	CU_ASSERT_FATAL(zone_rrset_next(good->sigs, &pos, &grd));
	sign_verify_item_t items[2] = {{ns1, ZONE_TYPE_A, grd.data, grd.len},
	                               {node_at(z, "www"), ZONE_TYPE_A, buf, rd.len}};
	memset(&log, 0, sizeof(log));
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sign_verify_rrsigs(v, items, 1, &c), SIGN_OK);
	CU_ASSERT_EQUAL(c.verified, 1);
	CU_ASSERT_EQUAL(sign_verify_rrsigs(v, items, 2, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(c.verified, 3);
	CU_ASSERT_EQUAL(c.failures, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_BAD_SIGNATURE, "www", ZONE_TYPE_A, keys[ZSK15].tag));
	/* A good RRSIG listed against the wrong RRset fails too. */
	items[0].type = ZONE_TYPE_AAAA;
	CU_ASSERT_EQUAL(sign_verify_rrsigs(v, items, 1, &c), SIGN_ERR_VERIFY);
	CU_ASSERT(has(&log, SIGN_VERIFY_BAD_SIGNATURE, "ns1", ZONE_TYPE_AAAA, 0));
	sign_verify_free(v);
	zone_free(z);
}

static void test_sign_verify_rrsig_on_glue_and_delegation_ns(void)
{
	zone_t *z = nsec_zone();
	const zone_rrset_t *glue = data_at(z, "ns.deleg", ZONE_TYPE_A);
	zone_rrset_t *sigs = sigs_by(zsks, 1, name("ns.deleg"), glue, -DAY, 14 * DAY);
	z = with_slot(z, "ns.deleg", ZONE_TYPE_A, NULL, sigs);
	zone_rrset_unref(sigs);
	const zone_rrset_t *ns = data_at(z, "insecure", ZONE_TYPE_NS);
	sigs = sigs_by(zsks, 1, name("insecure"), ns, -DAY, 14 * DAY);
	z = with_slot(z, "insecure", ZONE_TYPE_NS, NULL, sigs);
	zone_rrset_unref(sigs);
	log_t log;
	sign_verify_counts_t c;
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 2);
	CU_ASSERT(has(&log, SIGN_VERIFY_UNEXPECTED, "ns.deleg", ZONE_TYPE_A, keys[ZSK15].tag));
	CU_ASSERT(has(&log, SIGN_VERIFY_UNEXPECTED, "insecure", ZONE_TYPE_NS, keys[ZSK15].tag));
	zone_free(z);
}

static void test_sign_verify_unknown_key_and_wrong_fields(void)
{
	static const int rogue[] = {ROGUE15};
	zone_t *z = nsec_zone();
	const zone_rrset_t *a = data_at(z, "www", ZONE_TYPE_A);
	zone_rrset_t *sigs = sigs_by(rogue, 1, name("www"), a, -DAY, 14 * DAY);
	z = with_slot(z, "www", ZONE_TYPE_A, NULL, sigs);
	zone_rrset_unref(sigs);
	/* ns1 A's RRSIG with another original TTL; *.w TXT's with the labels
	 * of its full name (3, not 2). */
	uint8_t b1[600], b2[600];
	const zone_rrset_t *ns1 = data_at(z, "ns1", ZONE_TYPE_A);
	zone_rdata_t rd = rrsig(ZSK15, name("ns1"), ns1, -DAY, 14 * DAY, b1);
	b1[4 + 3] ^= 1; /* original TTL's low byte */
	sigs = rrset_of(ZONE_TYPE_RRSIG, TTL, &rd, 1);
	z = with_slot(z, "ns1", ZONE_TYPE_A, NULL, sigs);
	zone_rrset_unref(sigs);
	const zone_rrset_t *txt = data_at(z, "*.w", 16);
	rd = rrsig(ZSK15, name("*.w"), txt, -DAY, 14 * DAY, b2);
	b2[3] = 3;
	sigs = rrset_of(ZONE_TYPE_RRSIG, TTL, &rd, 1);
	z = with_slot(z, "*.w", 16, NULL, sigs);
	zone_rrset_unref(sigs);
	log_t log;
	sign_verify_counts_t c;
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT(has(&log, SIGN_VERIFY_UNKNOWN_KEY, "www", ZONE_TYPE_A, keys[ROGUE15].tag));
	CU_ASSERT(has(&log, SIGN_VERIFY_MISSING, "www", ZONE_TYPE_A, 0));
	CU_ASSERT(has(&log, SIGN_VERIFY_BAD_SIGNATURE, "www", ZONE_TYPE_A, keys[ROGUE15].tag));
	CU_ASSERT(has(&log, SIGN_VERIFY_FIELDS, "ns1", ZONE_TYPE_A, keys[ZSK15].tag));
	CU_ASSERT(has(&log, SIGN_VERIFY_FIELDS, "*.w", 16, keys[ZSK15].tag));
	/* The tampered fields break the signatures as well. */
	CU_ASSERT(has(&log, SIGN_VERIFY_BAD_SIGNATURE, "ns1", ZONE_TYPE_A, keys[ZSK15].tag));
	zone_free(z);
}

static void test_sign_verify_wildcard_labels_accepted(void)
{
	zone_t *z = nsec_zone();
	const zone_slot_t *slot = zone_node_find(node_at(z, "*.w"), 16);
	size_t pos = 0;
	zone_rdata_t rd;
	CU_ASSERT_FATAL(zone_rrset_next(slot->sigs, &pos, &rd));
	CU_ASSERT_EQUAL(rd.data[3], 2); /* labels: "*" not counted */
	expect_clean(z, false);
	zone_free(z);
}

static void test_sign_verify_every_algorithm_of_the_dnskey_rrset(void)
{
	/* Ed448 keys published, nothing signed with them. */
	static const int four[] = {KSK15, ZSK15, KSK16, ZSK16};
	zone_t *z = sign_zone(add_nsec(unsigned_zone(four, 4)));
	log_t log;
	sign_verify_counts_t c;
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_COVERAGE, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, c.rrsets - 4); /* all but glue and 3 delegation NS */
	for (size_t i = 0; i < log.n && i < MAXF; i++) {
		CU_ASSERT_EQUAL(log.f[i].reason, SIGN_VERIFY_MISSING);
		CU_ASSERT_EQUAL(log.f[i].alg, 16);
	}
	CU_ASSERT(has(&log, SIGN_VERIFY_MISSING, "@", ZONE_TYPE_DNSKEY, 0));
	/* Signing the DNSKEY RRset with the Ed448 KSK covers that one. */
	static const int both[] = {KSK15, KSK16};
	const zone_rrset_t *dk = data_at(z, "@", ZONE_TYPE_DNSKEY);
	zone_rrset_t *sigs = sigs_by(both, 2, z->apex, dk, -DAY, 14 * DAY);
	z = with_slot(z, "@", ZONE_TYPE_DNSKEY, NULL, sigs);
	zone_rrset_unref(sigs);
	size_t before = log.n;
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_COVERAGE, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, before - 1);
	/* A limit stops the check early. */
	sign_verify_config_t cfg = {NOW, REFRESH, 3, collect, &log, NULL};
	memset(&log, 0, sizeof(log));
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sign_verify_zone(z, &cfg, SIGN_VERIFY_CHECK_COVERAGE, NULL, 0, &c),
	                SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 3);
	CU_ASSERT_EQUAL(c.failures, 3);
	zone_free(z);
}

static void test_sign_verify_no_dnskey(void)
{
	zone_t *z = sign_zone(add_nsec(unsigned_zone(NULL, 0)));
	log_t log;
	sign_verify_counts_t c;
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_COVERAGE, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NO_DNSKEY, "@", ZONE_TYPE_DNSKEY, 0));
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_ALL, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT(has(&log, SIGN_VERIFY_BAD_SIGNATURE, "www", ZONE_TYPE_A, keys[ZSK15].tag));
	zone_free(z);
}

/* The node at owner with its NSEC (signed) replaced by one with next name
 * next and the given types. */
static zone_node_t *nsec_node(const zone_t *z, const char *owner, const char *next,
                              const uint16_t *types, size_t n)
{
	uint8_t rd[600];
	size_t len = dname_length(name(next));
	memcpy(rd, name(next), len);
	len += bitmap(types, n, rd + len);
	zone_rdata_t r = {rd, (uint16_t)len};
	zone_rrset_t *nsec = rrset_of(ZONE_TYPE_NSEC, SOA_MIN, &r, 1);
	zone_rrset_t *sigs = sigs_by(zsks, 1, name(owner), nsec, -DAY, 14 * DAY);
	zone_node_t *node = node_with_slot(z, owner, ZONE_TYPE_NSEC, nsec, sigs);
	zone_rrset_unref(nsec);
	zone_rrset_unref(sigs);
	return node;
}

/* z with owner's NSEC replaced (nsec_node). */
static zone_t *with_nsec(zone_t *z, const char *owner, const char *next, const uint16_t *types,
                         size_t n)
{
	return with_node(z, nsec_node(z, owner, next, types, n));
}

static void test_sign_verify_nsec_chain_breaks(void)
{
	static const uint16_t a_types[] = {ZONE_TYPE_A, ZONE_TYPE_RRSIG, ZONE_TYPE_NSEC};
	static const uint16_t no_a[] = {ZONE_TYPE_RRSIG, ZONE_TYPE_NSEC};
	log_t log;
	sign_verify_counts_t c;
	/* www's next name is the apex: y.x, the last name, is skipped. */
	zone_t *z = with_nsec(nsec_zone(), "www", "@", a_types, 3);
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_NEXT, "www", ZONE_TYPE_NSEC, 0));
	zone_free(z);

	/* Bitmap without A. */
	z = nsec_zone();
	const zone_slot_t *s = zone_node_find(node_at(z, "www"), ZONE_TYPE_NSEC);
	zone_rdata_t rd;
	size_t pos = 0;
	CU_ASSERT_FATAL(zone_rrset_next(s->data, &pos, &rd));
	char next[DNAME_STR_MAXLEN];
	dname_to_str(rd.data, next, sizeof(next));
	z = with_nsec(z, "www", next, no_a, 2);
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_BITMAP, "www", ZONE_TYPE_NSEC, 0));
	CU_ASSERT(strstr(log.f[0].detail, "A missing") != NULL);
	zone_free(z);

	/* NSEC removed at ns1; an NSEC put on glue. */
	z = without_slot(nsec_zone(), "ns1", ZONE_TYPE_NSEC);
	z = with_nsec(z, "ns.deleg", "@", a_types, 3);
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_CHAIN, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_MISSING, "ns1", ZONE_TYPE_NSEC, 0));
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_EXTRA, "ns.deleg", ZONE_TYPE_NSEC, 0));
	CU_ASSERT_EQUAL(log.n, 2);
	/* ... and coverage flags the RRSIG over the glue's NSEC. */
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_COVERAGE, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT(has(&log, SIGN_VERIFY_UNEXPECTED, "ns.deleg", ZONE_TYPE_NSEC, 0));
	zone_free(z);

	/* Wrong TTL. */
	z = nsec_zone();
	s = zone_node_find(node_at(z, "ns1"), ZONE_TYPE_NSEC);
	pos = 0;
	CU_ASSERT_FATAL(zone_rrset_next(s->data, &pos, &rd));
	zone_rrset_t *nsec = rrset_of(ZONE_TYPE_NSEC, TTL, &rd, 1);
	zone_rrset_t *sigs = sigs_by(zsks, 1, name("ns1"), nsec, -DAY, 14 * DAY);
	z = with_slot(z, "ns1", ZONE_TYPE_NSEC, nsec, sigs);
	zone_rrset_unref(nsec);
	zone_rrset_unref(sigs);
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_TTL, "ns1", ZONE_TYPE_NSEC, 0));
	zone_free(z);
}

static void test_sign_verify_nsec3_chain_breaks(void)
{
	log_t log;
	sign_verify_counts_t c;
	/* www left out of the chain. */
	zone_t *z = nsec3_zone(&n3_plain, "www");
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3_MISSING, "www", ZONE_TYPE_NSEC3, 0));
	CU_ASSERT_EQUAL(log.n, 1);
	zone_free(z);

	/* One NSEC3 node removed: its name is missing, its predecessor's next
	 * hash now points at nothing. */
	z = nsec3_zone(&n3_plain, NULL);
	zone_node_t *n3[32];
	size_t n = z->nsec3_count;
	for (size_t i = 0; i + 1 < n; i++) {
		n3[i] = zone_node_ref(zone_nsec3_node(z, i + 1));
	}
	CU_ASSERT_EQUAL_FATAL(zone_set_nsec3(z, n3, n - 1), ZONE_OK);
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 2);
	CU_ASSERT(log.f[0].reason == SIGN_VERIFY_NSEC3_NEXT ||
	          log.f[1].reason == SIGN_VERIFY_NSEC3_NEXT);
	CU_ASSERT(log.f[0].reason == SIGN_VERIFY_NSEC3_MISSING ||
	          log.f[1].reason == SIGN_VERIFY_NSEC3_MISSING);
	zone_free(z);

	/* An opt-out chain checked as complete: the insecure delegation and
	 * the empty non-terminal above y.x are optional only with opt-out. */
	n3par_t lying = n3_optout;
	z = unsigned_zone(base_keys, 2);
	z = add_nsec3(z, &lying, NULL); /* built without insecure, x, y.x */
	z = sign_zone(z);
	expect_clean(z, true);
	zone_free(z);
	lying.opt_out = false;
	z = sign_zone(add_nsec3(unsigned_zone(base_keys, 2), &lying, "insecure"));
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_CHAIN, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3_MISSING, "insecure", ZONE_TYPE_NSEC3, 0));
	CU_ASSERT_EQUAL(log.n, 1);
	zone_free(z);
}

static void test_sign_verify_nsec3_parameters(void)
{
	log_t log;
	sign_verify_counts_t c;
	/* NSEC3PARAM flags must be 0. */
	zone_t *z = nsec3_zone(&n3_plain, NULL);
	uint8_t rd[5] = {1, 1, 0, 0, 0};
	zone_rdata_t r = {rd, 5};
	zone_rrset_t *param = rrset_of(ZONE_TYPE_NSEC3PARAM, 0, &r, 1);
	zone_rrset_t *sigs = sigs_by(zsks, 1, z->apex, param, -DAY, 14 * DAY);
	z = with_slot(z, "@", ZONE_TYPE_NSEC3PARAM, param, sigs);
	zone_rrset_unref(param);
	zone_rrset_unref(sigs);
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3PARAM, "@", ZONE_TYPE_NSEC3PARAM, 0));
	zone_free(z);

	/* NSEC3PARAM iterations differ from the records': every record
	 * mismatches, and every hash is wrong. */
	z = nsec3_zone(&n3_plain, NULL);
	rd[1] = 0;
	rd[3] = 1;
	param = rrset_of(ZONE_TYPE_NSEC3PARAM, 0, &r, 1);
	sigs = sigs_by(zsks, 1, z->apex, param, -DAY, 14 * DAY);
	z = with_slot(z, "@", ZONE_TYPE_NSEC3PARAM, param, sigs);
	zone_rrset_unref(param);
	zone_rrset_unref(sigs);
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_CHAIN, &log, &c), SIGN_ERR_VERIFY);
	size_t params = 0, missing = 0, extra = 0;
	for (size_t i = 0; i < log.n && i < MAXF; i++) {
		params += log.f[i].reason == SIGN_VERIFY_NSEC3_PARAMS;
		missing += log.f[i].reason == SIGN_VERIFY_NSEC3_MISSING;
		extra += log.f[i].reason == SIGN_VERIFY_NSEC3_EXTRA;
	}
	CU_ASSERT_EQUAL(params, z->nsec3_count);
	CU_ASSERT_EQUAL(missing, z->nsec3_count);
	CU_ASSERT_EQUAL(extra, z->nsec3_count);
	zone_free(z);

	/* No NSEC3PARAM but NSEC3 records. */
	z = without_slot(nsec3_zone(&n3_plain, NULL), "@", ZONE_TYPE_NSEC3PARAM);
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_CHAIN, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3PARAM, "@", ZONE_TYPE_NSEC3PARAM, 0));
	zone_free(z);

	/* An NSEC left over in an NSEC3 zone. */
	static const uint16_t a_types[] = {ZONE_TYPE_A, ZONE_TYPE_RRSIG, ZONE_TYPE_NSEC};
	z = with_nsec(nsec3_zone(&n3_plain, NULL), "www", "@", a_types, 3);
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_CHAIN, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_EXTRA, "www", ZONE_TYPE_NSEC, 0));
	zone_free(z);
}

static void test_sign_verify_nsec3_rrsets_need_rrsigs(void)
{
	zone_t *z = nsec3_zone(&n3_plain, NULL);
	zone_node_t *n3[32];
	size_t n = z->nsec3_count;
	for (size_t i = 0; i < n; i++) {
		n3[i] = zone_node_ref(zone_nsec3_node(z, i));
	}
	zone_rrset_t *data = zone_rrset_ref(n3[2]->slots[0].data);
	zone_node_t *bare = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_node_new(n3[2]->owner, &(zone_slot_t){data, NULL}, 1, &bare),
	                      ZONE_OK);
	zone_rrset_unref(data);
	zone_node_unref(n3[2]);
	n3[2] = bare;
	CU_ASSERT_EQUAL_FATAL(zone_set_nsec3(z, n3, n), ZONE_OK);
	log_t log;
	sign_verify_counts_t c;
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT_EQUAL(log.f[0].reason, SIGN_VERIFY_MISSING);
	CU_ASSERT_EQUAL(log.f[0].type, ZONE_TYPE_NSEC3);
	zone_free(z);
}

/* RFC 5155 appendix A: the names of hashes.txt (SHA-1, salt aabbccdd, 12
 * iterations) under NSEC3 owners taken from the file, not computed here:
 * the verifier's hashes must find every one. */
static void test_sign_verify_nsec3_hashes_match_rfc5155(void)
{
	char path[1024], line[256];
	snprintf(path, sizeof(path), "%s/vectors/nsec3-hash-rfc5155/hashes.txt",
	         testutil_testdata());
	FILE *f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	uint8_t ex[DNAME_MAXLEN];
	dname_from_str("example.", NULL, ex, sizeof(ex), NULL);
	zone_node_t *nodes[32], *n3[32];
	size_t n = 0;
	char owners[32][128], hashes[32][64];
	while (fgets(line, sizeof(line), f) != NULL && n < 32) {
		if (line[0] == '#' || sscanf(line, "%127s %63s", owners[n], hashes[n]) != 2) {
			continue;
		}
		n++;
	}
	fclose(f);
	CU_ASSERT_FATAL(n >= 10);
	/* Two root names, then the five numbers: MINIMUM last. */
	uint8_t soa[22] = {0};
	soa[20] = SOA_MIN >> 8;
	soa[21] = SOA_MIN & 0xff;
	size_t nn = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t o[DNAME_MAXLEN];
		dname_from_str(owners[i], NULL, o, sizeof(o), NULL);
		bool is_apex = dname_equal(o, ex);
		/* The empty non-terminals (w, y.w) come from their children. */
		if (!is_apex && (strcmp(owners[i], "w.example.") == 0 ||
		                 strcmp(owners[i], "y.w.example.") == 0)) {
			continue;
		}
		uint8_t a[4] = {192, 0, 2, 1};
		zone_rdata_t r = is_apex ? (zone_rdata_t){soa, 22} : (zone_rdata_t){a, 4};
		zone_rrset_t *set = rrset_of(is_apex ? ZONE_TYPE_SOA : ZONE_TYPE_A, TTL, &r, 1);
		CU_ASSERT_EQUAL_FATAL(zone_node_new(o, &(zone_slot_t){set, NULL}, 1, &nodes[nn++]),
		                      ZONE_OK);
		zone_rrset_unref(set);
	}
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_new(ex, nodes, nn, &z, NULL), ZONE_OK);
	CU_ASSERT_EQUAL_FATAL(z->count, n);
	/* NSEC3 nodes named by the file's hashes, in hash order. */
	uint8_t p[9] = {1, 0, 0, 12, 4, 0xaa, 0xbb, 0xcc, 0xdd};
	zone_rdata_t pr = {p, 9};
	zone_rrset_t *param = rrset_of(ZONE_TYPE_NSEC3PARAM, 0, &pr, 1);
	zone_node_t *apex_node = NULL;
	zone_t *z2 = NULL;
	CU_ASSERT_EQUAL_FATAL(
	        zone_node_with(zone_entry(z, 0)->node, (zone_slot_t){param, NULL}, &apex_node),
	        ZONE_OK);
	CU_ASSERT_EQUAL_FATAL(zone_replace(z, &apex_node, 1, &z2, NULL), ZONE_OK);
	zone_rrset_unref(param);
	zone_free(z);
	z = z2;
	for (size_t i = 0; i < n; i++) {
		uint8_t o[DNAME_MAXLEN];
		char text[160];
		snprintf(text, sizeof(text), "%.64s.example.", hashes[i]);
		dname_from_str(text, NULL, o, sizeof(o), NULL);
		uint8_t rd[64] = {1, 0, 0, 12, 4, 0xaa, 0xbb, 0xcc, 0xdd, 20};
		zone_rdata_t r = {rd, 30}; /* next hash left zero: NEXT failures only */
		zone_rrset_t *set = rrset_of(ZONE_TYPE_NSEC3, SOA_MIN, &r, 1);
		CU_ASSERT_EQUAL_FATAL(zone_node_new(o, &(zone_slot_t){set, NULL}, 1, &n3[i]),
		                      ZONE_OK);
		zone_rrset_unref(set);
	}
	CU_ASSERT_EQUAL_FATAL(zone_set_nsec3(z, n3, n), ZONE_OK);
	log_t log;
	sign_verify_counts_t c;
	verify(z, SIGN_VERIFY_CHECK_CHAIN, &log, &c);
	CU_ASSERT_EQUAL(c.names, n);
	for (size_t i = 0; i < log.n && i < MAXF; i++) {
		/* Every name found its record; only the dummy fields are off. */
		CU_ASSERT(log.f[i].reason == SIGN_VERIFY_NSEC3_NEXT ||
		          log.f[i].reason == SIGN_VERIFY_NSEC3_BITMAP);
	}
	zone_free(z);
}

static void test_sign_verify_reason_strings(void)
{
	for (int r = SIGN_VERIFY_NO_DNSKEY; r <= SIGN_VERIFY_NSEC3_COLLISION; r++) {
		CU_ASSERT_STRING_NOT_EQUAL(sign_verify_reason_str((sign_verify_reason_t)r), "?");
	}
	sign_verify_free(NULL);
}

/* ---- the nsec library's chains; threads ---- */

static zone_t *lib_chain(const n3par_t *p)
{
	zone_t *z = unsigned_zone(base_keys, 2), *out = NULL;
	int ret;
	if (p == NULL) {
		ret = nsec_build(z, &out);
	} else {
		nsec3_params_t q;
		memset(&q, 0, sizeof(q));
		q.iterations = p->iterations;
		q.salt_len = p->salt_len;
		memcpy(q.salt, p->salt, p->salt_len);
		q.opt_out = p->opt_out;
		ret = nsec3_build(z, &q, &out, NULL);
	}
	CU_ASSERT_EQUAL_FATAL(ret, NSEC_OK);
	zone_free(z);
	return sign_zone(out);
}

static void test_sign_verify_accepts_nsec_library_chains(void)
{
	zone_t *z = lib_chain(NULL);
	expect_clean(z, false);
	zone_free(z);
	const n3par_t *params[] = {&n3_plain, &n3_salted, &n3_optout};
	for (size_t i = 0; i < 3; i++) {
		z = lib_chain(params[i]);
		CU_ASSERT_EQUAL(z->nsec3_count, params[i]->opt_out ? 9 : 12);
		expect_clean(z, true);
		zone_free(z);
	}
}

typedef struct {
	const sign_verify_t *v;
	const sign_verify_item_t *items;
	size_t n;
	sign_verify_counts_t counts;
	int ret;
} part_t;

static void *verify_part(void *arg)
{
	part_t *p = arg;
	p->ret = sign_verify_rrsigs(p->v, p->items, p->n, &p->counts);
	return NULL;
}

static void count_failure(void *ctx, const sign_verify_failure_t *f)
{
	(void)f;
	atomic_fetch_add((atomic_size_t *)ctx, 1);
}

/* Every RRSIG of node's slots as items. */
static size_t items_of(const zone_node_t *node, sign_verify_item_t *items, size_t n)
{
	for (size_t s = 0; s < node->nslots; s++) {
		size_t pos = 0;
		zone_rdata_t rd;
		while (node->slots[s].sigs != NULL &&
		       zone_rrset_next(node->slots[s].sigs, &pos, &rd)) {
			items[n++] = (sign_verify_item_t){node, node->slots[s].data->type, rd.data,
			                                  rd.len};
		}
	}
	return n;
}

static void test_sign_verify_items_split_across_threads(void)
{
	zone_t *z = nsec3_zone(&n3_plain, NULL);
	sign_verify_item_t items[128];
	size_t n = 0;
	for (size_t i = 0; i < z->count; i++) {
		n = items_of(zone_entry(z, i)->node, items, n);
	}
	for (size_t i = 0; i < z->nsec3_count; i++) {
		n = items_of(zone_nsec3_node(z, i), items, n);
	}
	CU_ASSERT_FATAL(n > 20);
	/* One forged signature among them. */
	uint8_t forged[600];
	memcpy(forged, items[n / 2].rrsig, items[n / 2].rrsig_len);
	forged[items[n / 2].rrsig_len - 1] ^= 0x80;
	items[n / 2].rrsig = forged;
	atomic_size_t failures = 0;
	sign_verify_config_t cfg = {NOW, REFRESH, 0, count_failure, &failures, NULL};
	sign_verify_t *v = NULL;
	CU_ASSERT_EQUAL_FATAL(sign_verify_new(z, &cfg, &v), SIGN_OK);
	enum { THREADS = 4 };
	part_t parts[THREADS];
	pthread_t th[THREADS];
	size_t per = (n + THREADS - 1) / THREADS;
	for (size_t t = 0; t < THREADS; t++) {
		size_t from = t * per < n ? t * per : n, to = from + per < n ? from + per : n;
		parts[t] = (part_t){v, items + from, to - from, {0, 0, 0, 0, 0}, -1};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, verify_part, &parts[t]), 0);
	}
	size_t verified = 0, failed = 0, bad = 0;
	for (size_t t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		verified += parts[t].counts.verified;
		failed += parts[t].counts.failures;
		bad += parts[t].ret == SIGN_ERR_VERIFY;
		CU_ASSERT(parts[t].ret == SIGN_OK || parts[t].ret == SIGN_ERR_VERIFY);
	}
	CU_ASSERT_EQUAL(verified, n);
	CU_ASSERT_EQUAL(failed, 1);
	CU_ASSERT_EQUAL(bad, 1);
	CU_ASSERT_EQUAL(atomic_load(&failures), 1);
	sign_verify_free(v);
	zone_free(z);
}

/* ---- local checks (incremental pass) ---- */

/* z with node put in by zone_update() (z freed); the names it reports go to
 * dirty (may be NULL). */
static zone_t *updated(zone_t *z, zone_node_t *node, zone_names_t *dirty)
{
	zone_t *out = NULL;
	if (zone_update(z, &node, 1, NULL, 0, &out, NULL, dirty) != ZONE_OK) {
		abort();
	}
	zone_free(z);
	return out;
}

/* z with the NSEC3 node put in by zone_update() (z freed). */
static zone_t *updated_nsec3(zone_t *z, zone_node_t *node)
{
	zone_t *out = NULL;
	if (zone_update(z, NULL, 0, &node, 1, &out, NULL, NULL) != ZONE_OK) {
		abort();
	}
	zone_free(z);
	return out;
}

/* A new node at owner with one RR of type, signed if sign. */
static zone_node_t *fresh_node(const char *owner, uint16_t type, const char *text, bool sign)
{
	rec_t rec = {owner, type, text};
	uint8_t buf[300];
	zone_rdata_t rd = {buf, (uint16_t)rdata(&rec, buf)};
	zone_rrset_t *set = rrset_of(type, TTL, &rd, 1);
	zone_node_t *node = NULL;
	if (zone_node_new(name(owner), &(zone_slot_t){set, NULL}, 1, &node) != ZONE_OK) {
		abort();
	}
	zone_rrset_unref(set);
	if (sign) {
		zone_node_t *s = signed_node(node, NULL);
		zone_node_unref(node);
		node = s;
	}
	return node;
}

/* A node with no slots: zone_update() removes the name. */
static zone_node_t *gone_node(const char *owner)
{
	zone_node_t *node = NULL;
	if (zone_node_new(name(owner), NULL, 0, &node) != ZONE_OK) {
		abort();
	}
	return node;
}

/* Adds the names in owners (NULL-terminated) to l. */
static void add_names(zone_names_t *l, const char *const *owners)
{
	for (size_t i = 0; owners[i] != NULL; i++) {
		CU_ASSERT_EQUAL_FATAL(zone_names_add(l, name(owners[i])), ZONE_OK);
	}
}

enum { LOCAL_COVERAGE = 0x1, LOCAL_CHAIN = 0x2, LOCAL_BOTH = 0x3 };

/* Runs the local checks in what (LOCAL_*) over names and the NSEC3 owners
 * n3 (may be NULL); SIGN_ERR_VERIFY if either failed. */
static int verify_local_ks(const zone_t *z, unsigned what, const zone_names_t *names,
                           const zone_names_t *n3, const sign_keyset_t *ks, log_t *log,
                           sign_verify_counts_t *c)
{
	memset(log, 0, sizeof(*log));
	memset(c, 0, sizeof(*c));
	sign_verify_config_t cfg = {NOW, REFRESH, 0, collect, log, ks};
	sign_verify_t *v = NULL;
	if (sign_verify_new(z, &cfg, &v) != SIGN_OK) {
		return -9998;
	}
	int result = SIGN_OK, ret = SIGN_OK;
	if (what & LOCAL_COVERAGE) {
		ret = sign_verify_coverage_names(v, names, n3, c);
		result = ret != SIGN_OK ? ret : result;
	}
	if (what & LOCAL_CHAIN) {
		ret = sign_verify_chain_names(v, names, c);
		result = ret != SIGN_OK && result == SIGN_OK ? ret : result;
	}
	sign_verify_free(v);
	return log->n != c->failures ? -9999 : result;
}

static int verify_local(const zone_t *z, unsigned what, const zone_names_t *names,
                        const zone_names_t *n3, log_t *log, sign_verify_counts_t *c)
{
	return verify_local_ks(z, what, names, n3, NULL, log, c);
}

/* verify_local over the names in owners (NULL-terminated). */
static int verify_at(const zone_t *z, unsigned what, const char *const *owners, log_t *log,
                     sign_verify_counts_t *c)
{
	zone_names_t l = {0};
	add_names(&l, owners);
	int ret = verify_local(z, what, &l, NULL, log, c);
	zone_names_deinit(&l);
	return ret;
}

/* Every NSEC3 owner of z. */
static void nsec3_owners(const zone_t *z, zone_names_t *l)
{
	for (size_t i = 0; i < z->nsec3_count; i++) {
		CU_ASSERT_EQUAL_FATAL(zone_names_add(l, zone_nsec3_node(z, i)->owner), ZONE_OK);
	}
}

/* The index of the NSEC3 node of owner's hash in z, and its label. */
static size_t n3_at(const zone_t *z, const n3par_t *p, const char *owner, char label[33])
{
	uint8_t h[20], o[DNAME_MAXLEN];
	sha1_hash(p, name(owner), h);
	b32(h, label);
	o[0] = 32;
	memcpy(o + 1, label, 32);
	memcpy(o + 33, apex, dname_length(apex));
	size_t j = 0;
	CU_ASSERT_FATAL(zone_find_nsec3(z, o, &j));
	return j;
}

/* Names spread over the test zone: present, empty non-terminals, glue,
 * occluded and absent. */
static const char *const spread[] = {
        "@", "c",   "b.c", "a.b.c", "deleg", "ns.deleg", "a.deleg", "insecure", "ns1",
        "w", "*.w", "www", "x",     "y.x",   "nowhere",  "zz.www",  NULL};

static void expect_local_clean(const zone_t *z)
{
	zone_names_t names = {0}, n3 = {0};
	add_names(&names, spread);
	nsec3_owners(z, &n3);
	log_t log;
	sign_verify_counts_t c;
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_BOTH, &names, &n3, &log, &c), SIGN_OK);
	if (log.n > 0) {
		dump(&log);
	}
	CU_ASSERT(c.rrsets > 10);
	CU_ASSERT(c.names >= 8);
	/* One name: the work is that name's, not the zone's. */
	CU_ASSERT_EQUAL(verify_at(z, LOCAL_BOTH, (const char *[]){"www", NULL}, &log, &c), SIGN_OK);
	CU_ASSERT_EQUAL(c.rrsets, node_at(z, "www")->nslots);
	CU_ASSERT(c.names >= 1 && c.names <= 2);
	/* Repeats and an empty list are fine. */
	CU_ASSERT_EQUAL(
	        verify_at(z, LOCAL_BOTH, (const char *[]){"www", "www", "ns1", NULL}, &log, &c),
	        SIGN_OK);
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_BOTH, NULL, NULL, &log, &c), SIGN_OK);
	zone_names_deinit(&names);
	zone_names_deinit(&n3);
}

static void test_sign_verify_local_checks_pass(void)
{
	zone_t *z = nsec_zone();
	expect_local_clean(z);
	zone_free(z);
	const n3par_t *params[] = {&n3_plain, &n3_salted, &n3_optout};
	for (size_t i = 0; i < 3; i++) {
		z = nsec3_zone(params[i], NULL);
		expect_local_clean(z);
		zone_free(z);
		z = lib_chain(params[i]);
		expect_local_clean(z);
		zone_free(z);
	}
	z = lib_chain(NULL);
	expect_local_clean(z);
	zone_free(z);
}

static const char *const far[] = {"a.b.c", "deleg", NULL};

static void test_sign_verify_local_nsec_breaks(void)
{
	static const uint16_t a_types[] = {ZONE_TYPE_A, ZONE_TYPE_RRSIG, ZONE_TYPE_NSEC};
	log_t log;
	sign_verify_counts_t c;
	zone_names_t dirty = {0};

	/* www's next name wrong (the apex: y.x skipped). */
	zone_t *z = nsec_zone();
	z = updated(z, nsec_node(z, "www", "@", a_types, 3), &dirty);
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_BOTH, &dirty, NULL, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_NEXT, "www", ZONE_TYPE_NSEC, 0));
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_NEXT, "www", ZONE_TYPE_NSEC, 0));
	CU_ASSERT_EQUAL(verify_at(z, LOCAL_BOTH, far, &log, &c), SIGN_OK);
	/* y.x's check reaches back to www, its chain predecessor. */
	CU_ASSERT_EQUAL(verify_at(z, LOCAL_CHAIN, (const char *[]){"y.x", NULL}, &log, &c),
	                SIGN_ERR_VERIFY);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_NEXT, "www", ZONE_TYPE_NSEC, 0));
	zone_free(z);
	zone_names_deinit(&dirty);

	/* A new name with data but no NSEC: its own is missing and insecure,
	 * before it, still points past it. */
	z = updated(nsec_zone(), fresh_node("new", ZONE_TYPE_A, "192.0.2.99", true), &dirty);
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_BOTH, &dirty, NULL, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 2);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_MISSING, "new", ZONE_TYPE_NSEC, 0));
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_NEXT, "insecure", ZONE_TYPE_NSEC, 0));
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 2);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_MISSING, "new", ZONE_TYPE_NSEC, 0));
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_NEXT, "insecure", ZONE_TYPE_NSEC, 0));
	CU_ASSERT_EQUAL(verify_at(z, LOCAL_BOTH, far, &log, &c), SIGN_OK);
	zone_free(z);
	zone_names_deinit(&dirty);

	/* An NSEC (signed) put on glue. */
	z = nsec_zone();
	z = updated(z, nsec_node(z, "ns.deleg", "insecure", a_types, 3), &dirty);
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_CHAIN, &dirty, NULL, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_EXTRA, "ns.deleg", ZONE_TYPE_NSEC, 0));
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_COVERAGE, &dirty, NULL, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_UNEXPECTED, "ns.deleg", ZONE_TYPE_NSEC, 0));
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_CHAIN, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_EXTRA, "ns.deleg", ZONE_TYPE_NSEC, 0));
	CU_ASSERT_EQUAL(verify_at(z, LOCAL_BOTH, (const char *[]){"www", "a.b.c", NULL}, &log, &c),
	                SIGN_OK);
	zone_free(z);
	zone_names_deinit(&dirty);

	/* ns1 removed, the chain left as it was: insecure's NSEC still names
	 * it. */
	z = updated(nsec_zone(), gone_node("ns1"), &dirty);
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_BOTH, &dirty, NULL, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_NEXT, "insecure", ZONE_TYPE_NSEC, 0));
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC_NEXT, "insecure", ZONE_TYPE_NSEC, 0));
	CU_ASSERT_EQUAL(verify_at(z, LOCAL_BOTH, far, &log, &c), SIGN_OK);
	zone_free(z);
	zone_names_deinit(&dirty);

	/* A changed RRset left without its RRSIG. */
	z = nsec_zone();
	z = updated(z, node_with_slot(z, "www", ZONE_TYPE_A, NULL, NULL), &dirty);
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_BOTH, &dirty, NULL, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_MISSING, "www", ZONE_TYPE_A, 0));
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_MISSING, "www", ZONE_TYPE_A, 0));
	CU_ASSERT_EQUAL(verify_at(z, LOCAL_BOTH, (const char *[]){"ns1", "a.b.c", NULL}, &log, &c),
	                SIGN_OK);
	zone_free(z);
	zone_names_deinit(&dirty);
}

/* A name of spread whose NSEC3 node is neither node j nor the one after it
 * (so its local check does not read node j's next hash). */
static const char *far_from(const zone_t *z, const n3par_t *p, size_t j)
{
	static const char *const names[] = {"@", "a.b.c", "deleg", "ns1", "*.w", "www", "y.x"};
	char label[33];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t k = n3_at(z, p, names[i], label);
		if (k != j && k != (j + 1) % z->nsec3_count) {
			return names[i];
		}
	}
	abort();
}

/* A name of the chain whose NSEC3 node is node k. */
static const char *name_of_node(const zone_t *z, const n3par_t *p, size_t k)
{
	static const char *const names[] = {"@",   "c", "b.c", "a.b.c", "deleg", "insecure",
	                                    "ns1", "w", "*.w", "www",   "x",     "y.x"};
	char label[33];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (n3_at(z, p, names[i], label) == k) {
			return names[i];
		}
	}
	abort();
}

/* The label (hash) of NSEC3 node k. */
static void node_label(const zone_t *z, size_t k, char label[33])
{
	memcpy(label, zone_nsec3_node(z, k)->owner + 1, 32);
	label[32] = '\0';
}

static void test_sign_verify_local_nsec3_breaks(void)
{
	log_t log;
	sign_verify_counts_t c;
	zone_names_t dirty = {0};
	char label[33];

	/* A new name without its NSEC3. */
	zone_t *z = nsec3_zone(&n3_plain, NULL);
	z = updated(z, fresh_node("new", ZONE_TYPE_A, "192.0.2.99", true), &dirty);
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_BOTH, &dirty, NULL, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3_MISSING, "new", ZONE_TYPE_NSEC3, 0));
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3_MISSING, "new", ZONE_TYPE_NSEC3, 0));
	CU_ASSERT_EQUAL(verify_at(z, LOCAL_BOTH, far, &log, &c), SIGN_OK);
	zone_free(z);
	zone_names_deinit(&dirty);

	/* A new insecure delegation: required without opt-out, not with it. */
	z = updated(nsec3_zone(&n3_plain, NULL), fresh_node("new", ZONE_TYPE_NS, "ns.x.", false),
	            &dirty);
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_BOTH, &dirty, NULL, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3_MISSING, "new", ZONE_TYPE_NSEC3, 0));
	zone_free(z);
	zone_names_deinit(&dirty);
	z = updated(nsec3_zone(&n3_optout, NULL), fresh_node("new", ZONE_TYPE_NS, "ns.x.", false),
	            &dirty);
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_BOTH, &dirty, NULL, &log, &c), SIGN_OK);
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_OK);
	zone_free(z);
	zone_names_deinit(&dirty);

	/* www's NSEC3 with a wrong next hashed owner (re-signed). */
	z = nsec3_zone(&n3_plain, NULL);
	size_t j = n3_at(z, &n3_plain, "www", label);
	const zone_node_t *old = zone_nsec3_node(z, j);
	zone_rdata_t rd;
	size_t pos = 0;
	CU_ASSERT_FATAL(zone_rrset_next(old->slots[0].data, &pos, &rd));
	uint8_t buf[600];
	memcpy(buf, rd.data, rd.len);
	buf[5 + 1 + 19] ^= 0x01; /* last octet of the next hash (no salt) */
	rd.data = buf;
	zone_rrset_t *set = rrset_of(ZONE_TYPE_NSEC3, SOA_MIN, &rd, 1);
	zone_node_t *bare = NULL, *node = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_node_new(old->owner, &(zone_slot_t){set, NULL}, 1, &bare),
	                      ZONE_OK);
	zone_rrset_unref(set);
	node = signed_node(bare, NULL);
	zone_node_unref(bare);
	z = updated_nsec3(z, node);
	CU_ASSERT_EQUAL(verify_at(z, LOCAL_BOTH, (const char *[]){"www", NULL}, &log, &c),
	                SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3_NEXT, label, ZONE_TYPE_NSEC3, 0));
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3_NEXT, label, ZONE_TYPE_NSEC3, 0));
	const char *away = far_from(z, &n3_plain, j);
	CU_ASSERT_EQUAL(verify_at(z, LOCAL_BOTH, (const char *[]){away, NULL}, &log, &c), SIGN_OK);
	/* The name of the next node finds it as its predecessor. */
	const char *after = name_of_node(z, &n3_plain, (j + 1) % z->nsec3_count);
	CU_ASSERT_EQUAL(verify_at(z, LOCAL_CHAIN, (const char *[]){after, NULL}, &log, &c),
	                SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3_NEXT, label, ZONE_TYPE_NSEC3, 0));
	zone_free(z);

	/* A name removed with its NSEC3, the node before left pointing at it. */
	z = nsec3_zone(&n3_plain, NULL);
	j = n3_at(z, &n3_plain, "ns1", label);
	char before[33];
	node_label(z, (j + z->nsec3_count - 1) % z->nsec3_count, before);
	zone_node_t *gone = gone_node("ns1"), *gone3 = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_node_new(name(label), NULL, 0, &gone3), ZONE_OK);
	zone_t *z2 = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_update(z, &gone, 1, &gone3, 1, &z2, NULL, &dirty), ZONE_OK);
	zone_free(z);
	z = z2;
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_BOTH, &dirty, NULL, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3_NEXT, before, ZONE_TYPE_NSEC3, 0));
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3_NEXT, before, ZONE_TYPE_NSEC3, 0));
	zone_free(z);
	zone_names_deinit(&dirty);

	/* A removed name leaves its NSEC3 behind. */
	z = nsec3_zone(&n3_plain, NULL);
	j = n3_at(z, &n3_plain, "ns1", label);
	z = updated(z, gone_node("ns1"), &dirty);
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_BOTH, &dirty, NULL, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3_EXTRA, label, ZONE_TYPE_NSEC3, 0));
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_NSEC3_EXTRA, label, ZONE_TYPE_NSEC3, 0));
	away = far_from(z, &n3_plain, j);
	CU_ASSERT_EQUAL(verify_at(z, LOCAL_BOTH, (const char *[]){away, NULL}, &log, &c), SIGN_OK);
	zone_free(z);
	zone_names_deinit(&dirty);

	/* An NSEC3 RRset left without its RRSIG: coverage of the NSEC3 owners
	 * given. */
	z = nsec3_zone(&n3_plain, NULL);
	j = n3_at(z, &n3_plain, "www", label);
	old = zone_nsec3_node(z, j);
	set = zone_rrset_ref(old->slots[0].data);
	CU_ASSERT_EQUAL_FATAL(zone_node_new(old->owner, &(zone_slot_t){set, NULL}, 1, &bare),
	                      ZONE_OK);
	zone_rrset_unref(set);
	z = updated_nsec3(z, bare);
	zone_names_t n3 = {0};
	CU_ASSERT_EQUAL_FATAL(zone_names_add(&n3, name(label)), ZONE_OK);
	CU_ASSERT_EQUAL(verify_local(z, LOCAL_COVERAGE, NULL, &n3, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_MISSING, label, ZONE_TYPE_NSEC3, 0));
	CU_ASSERT_EQUAL(verify(z, SIGN_VERIFY_CHECK_COVERAGE, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_MISSING, label, ZONE_TYPE_NSEC3, 0));
	CU_ASSERT_EQUAL(verify_at(z, LOCAL_BOTH, (const char *[]){"www", NULL}, &log, &c), SIGN_OK);
	zone_names_deinit(&n3);
	zone_free(z);
}

/* A key set holding the test key k, unpublished and active (the new
 * algorithm's ZSK of an algorithm rollover, or an old one whose DNSKEY went
 * away), and the published base keys. */
static void unpublished_keyset(sign_keyset_t *ks, int k)
{
	sign_keyset_init(ks);
	const int all[] = {KSK15, ZSK15, k};
	for (size_t i = 0; i < 3; i++) {
		hsm_detail_t detail;
		memset(&detail, 0, sizeof(detail));
		CU_ASSERT_EQUAL_FATAL(sign_keyset_add_dnskey(ks, keys[all[i]].dnskey,
		                                             keys[all[i]].dnskey_len, &detail),
		                      HSM_OK);
	}
	ks->keys[2].published = false;
	ks->keys[2].active = ks->keys[2].active_keyset = true;
}

static void test_sign_verify_unpublished_key_of_the_key_set(void)
{
	static const int both[] = {ZSK15, ZSK16}, new_only[] = {ZSK16};
	sign_keyset_t ks;
	unpublished_keyset(&ks, ZSK16);
	CU_ASSERT_EQUAL(ks.keys[2].tag, keys[ZSK16].tag);
	zone_t *z = nsec_zone();
	const zone_rrset_t *a = data_at(z, "www", ZONE_TYPE_A);
	zone_rrset_t *sigs = sigs_by(both, 2, name("www"), a, -DAY, 14 * DAY);
	z = with_slot(z, "www", ZONE_TYPE_A, NULL, sigs);
	zone_rrset_unref(sigs);
	log_t log;
	sign_verify_counts_t c;
	/* Ed448 is not in the DNSKEY RRset: without the key set, an unknown key. */
	CU_ASSERT_EQUAL(verify(z, ALL_CHECKS, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 2);
	CU_ASSERT(has(&log, SIGN_VERIFY_UNKNOWN_KEY, "www", ZONE_TYPE_A, keys[ZSK16].tag));
	CU_ASSERT(has(&log, SIGN_VERIFY_BAD_SIGNATURE, "www", ZONE_TYPE_A, keys[ZSK16].tag));
	/* With it: accepted, by coverage, crypto and the local checks. */
	CU_ASSERT_EQUAL(verify_ks(z, ALL_CHECKS, &ks, &log, &c), SIGN_OK);
	if (log.n > 0) {
		dump(&log);
	}
	CU_ASSERT_EQUAL(c.verified, c.rrsigs);
	static const char *const www[] = {"www", NULL};
	zone_names_t l = {0};
	add_names(&l, www);
	CU_ASSERT_EQUAL(verify_local_ks(z, LOCAL_BOTH, &l, NULL, &ks, &log, &c), SIGN_OK);
	CU_ASSERT(c.rrsigs >= 2);
	CU_ASSERT_EQUAL(verify_local_ks(z, LOCAL_BOTH, &l, NULL, NULL, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT(has(&log, SIGN_VERIFY_UNKNOWN_KEY, "www", ZONE_TYPE_A, keys[ZSK16].tag));
	/* A published key of the key set changes nothing: its DNSKEY is there. */
	ks.keys[1].published = true;
	CU_ASSERT_EQUAL(verify_ks(z, ALL_CHECKS, &ks, &log, &c), SIGN_OK);

	/* Its RRSIG alone covers no algorithm of the DNSKEY RRset. */
	sigs = sigs_by(new_only, 1, name("www"), a, -DAY, 14 * DAY);
	z = with_slot(z, "www", ZONE_TYPE_A, NULL, sigs);
	zone_rrset_unref(sigs);
	CU_ASSERT_EQUAL(verify_ks(z, ALL_CHECKS, &ks, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_MISSING, "www", ZONE_TYPE_A, 0));
	CU_ASSERT_EQUAL(log.f[0].alg, 15);

	/* A bad signature of it is an error: it is ours. */
	uint8_t buf[600];
	zone_rdata_t rd[2];
	rd[0] = rrsig(ZSK15, name("www"), a, -DAY, 14 * DAY, buf);
	uint8_t bad[600];
	rd[1] = rrsig(ZSK16, name("www"), a, -DAY, 14 * DAY, bad);
	bad[rd[1].len - 1] ^= 0x01;
	sigs = rrset_of(ZONE_TYPE_RRSIG, a->ttl, rd, 2);
	z = with_slot(z, "www", ZONE_TYPE_A, NULL, sigs);
	zone_rrset_unref(sigs);
	CU_ASSERT_EQUAL(verify_ks(z, SIGN_VERIFY_CHECK_COVERAGE, &ks, &log, &c), SIGN_OK);
	CU_ASSERT_EQUAL(verify_ks(z, ALL_CHECKS, &ks, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_BAD_SIGNATURE, "www", ZONE_TYPE_A, keys[ZSK16].tag));
	/* So is one that expires within refresh. */
	rd[1] = rrsig(ZSK16, name("www"), a, -DAY, DAY, bad);
	sigs = rrset_of(ZONE_TYPE_RRSIG, a->ttl, rd, 2);
	z = with_slot(z, "www", ZONE_TYPE_A, NULL, sigs);
	zone_rrset_unref(sigs);
	CU_ASSERT_EQUAL(verify_ks(z, ALL_CHECKS, &ks, &log, &c), SIGN_ERR_VERIFY);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT(has(&log, SIGN_VERIFY_EXPIRES, "www", ZONE_TYPE_A, keys[ZSK16].tag));
	zone_names_deinit(&l);
	sign_keyset_deinit(&ks);
	zone_free(z);
}

int main(void)
{
	if (dname_from_str("example.", NULL, apex, DNAME_MAXLEN, NULL) != ZONE_OK) {
		return 1;
	}
	make_key(&keys[KSK15], "ED25519", 15, 257);
	make_key(&keys[ZSK15], "ED25519", 15, 256);
	make_key(&keys[KSK16], "ED448", 16, 257);
	make_key(&keys[ZSK16], "ED448", 16, 256);
	make_key(&keys[ROGUE15], "ED25519", 15, 256);
	static const testutil_case_t cases[] = {
	        {"signed_zones_pass", test_sign_verify_signed_zones_pass},
	        {"missing_rrsig", test_sign_verify_missing_rrsig},
	        {"expiring_and_future_rrsigs", test_sign_verify_expiring_and_future_rrsigs},
	        {"bad_signature_byte", test_sign_verify_bad_signature_byte},
	        {"rrsig_on_glue_and_delegation_ns",
	         test_sign_verify_rrsig_on_glue_and_delegation_ns},
	        {"unknown_key_and_wrong_fields", test_sign_verify_unknown_key_and_wrong_fields},
	        {"wildcard_labels_accepted", test_sign_verify_wildcard_labels_accepted},
	        {"every_algorithm_of_the_dnskey_rrset",
	         test_sign_verify_every_algorithm_of_the_dnskey_rrset},
	        {"unpublished_key_of_the_key_set", test_sign_verify_unpublished_key_of_the_key_set},
	        {"no_dnskey", test_sign_verify_no_dnskey},
	        {"nsec_chain_breaks", test_sign_verify_nsec_chain_breaks},
	        {"nsec3_chain_breaks", test_sign_verify_nsec3_chain_breaks},
	        {"nsec3_parameters", test_sign_verify_nsec3_parameters},
	        {"nsec3_rrsets_need_rrsigs", test_sign_verify_nsec3_rrsets_need_rrsigs},
	        {"nsec3_hashes_match_rfc5155", test_sign_verify_nsec3_hashes_match_rfc5155},
	        {"accepts_nsec_library_chains", test_sign_verify_accepts_nsec_library_chains},
	        {"items_split_across_threads", test_sign_verify_items_split_across_threads},
	        {"local_checks_pass", test_sign_verify_local_checks_pass},
	        {"local_nsec_breaks", test_sign_verify_local_nsec_breaks},
	        {"local_nsec3_breaks", test_sign_verify_local_nsec3_breaks},
	        {"reason_strings", test_sign_verify_reason_strings},
	        {NULL, NULL},
	};
	int failed = testutil_run("sign_verify", cases);
	for (int i = 0; i < NKEYS; i++) {
		EVP_PKEY_free(keys[i].pkey);
	}
	return failed;
}
