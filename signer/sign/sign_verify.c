#include "signer/sign/sign_verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_error.h"
#include "hsm/hsm_verify.h"
#include "signer/nsec/nsec3.h"
#include "signer/nsec/nsec_error.h"
#include "signer/sign/sign_error.h"
#include "signer/sign/sign_rrsig.h"
#include "signer/zone/dname.h"

/* A DNSKEY of the apex RRset. */
typedef struct {
	uint16_t flags;
	uint8_t alg;
	uint16_t tag;
	hsm_verify_key_t *key; /* NULL: unusable (status says why) */
	int status;
	bool published; /* in the apex DNSKEY RRset; else an unpublished key of the key set */
} vkey_t;

struct sign_verify {
	const zone_t *z; /* borrowed */
	sign_verify_config_t cfg;
	vkey_t *keys; /* zone keys only (flags with the ZONE bit), the published first */
	size_t nkeys;
	size_t npublished; /* keys[0..npublished) are those of the apex DNSKEY RRset */
	uint8_t need[256]; /* the algorithms every signed RRset needs, each once */
	size_t nneed;
	bool any_dnskey;
};

/* The state of one check in one thread. */
typedef struct {
	const sign_verify_t *v;
	sign_verify_counts_t *counts;
	size_t failures;
	bool stop; /* max_failures reached */
} run_t;

static bool bit_get(const uint8_t *set, uint8_t i)
{
	return (set[i >> 3] >> (i & 7)) & 1;
}

static void bit_set(uint8_t *set, uint8_t i)
{
	set[i >> 3] = (uint8_t)(set[i >> 3] | (1u << (i & 7)));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A few type mnemonics for failure texts; others as TYPEnnn (RFC 3597). */
static const char *type_str(uint16_t type, char *buf, size_t len)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
	        {1, "A"},           {2, "NS"},     {5, "CNAME"}, {6, "SOA"},      {12, "PTR"},
	        {15, "MX"},         {16, "TXT"},   {28, "AAAA"}, {33, "SRV"},     {39, "DNAME"},
	        {43, "DS"},         {46, "RRSIG"}, {47, "NSEC"}, {48, "DNSKEY"},  {50, "NSEC3"},
	        {51, "NSEC3PARAM"}, {52, "TLSA"},  {59, "CDS"},  {60, "CDNSKEY"}, {64, "SVCB"},
	        {65, "HTTPS"},      {257, "CAA"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].type == type) {
			return names[i].name;
		}
	}
	snprintf(buf, len, "TYPE%u", type);
	return buf;
}

/* Hands one failure to the report callback. */
static void report(run_t *r, sign_verify_reason_t reason, const uint8_t *owner, uint16_t type,
                   bool has_key, uint8_t alg, uint16_t tag, const char *fmt, ...)
        __attribute__((format(printf, 8, 9)));

static void report(run_t *r, sign_verify_reason_t reason, const uint8_t *owner, uint16_t type,
                   bool has_key, uint8_t alg, uint16_t tag, const char *fmt, ...)
{
	char text[DNAME_STR_MAXLEN], detail[3 * DNAME_STR_MAXLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (dname_to_str(owner, text, sizeof(text)) != 0) {
		text[0] = '\0';
	}
	sign_verify_failure_t f = {reason, owner, text, type, has_key, alg, tag, detail};
	r->counts->failures++;
	r->failures++;
	if (r->v->cfg.report != NULL) {
		r->v->cfg.report(r->v->cfg.report_ctx, &f);
	}
	if (r->v->cfg.max_failures > 0 && r->failures >= r->v->cfg.max_failures) {
		r->stop = true;
	}
}

static int run_status(const run_t *r)
{
	return r->failures > 0 ? SIGN_ERR_VERIFY : SIGN_OK;
}

/* ---- construction ---- */

static void add_need(sign_verify_t *v, uint8_t alg)
{
	for (size_t i = 0; i < v->nneed; i++) {
		if (v->need[i] == alg) {
			return;
		}
	}
	v->need[v->nneed++] = alg;
}

/* Adds the zone key of DNSKEY RDATA rd (anything else is skipped). Returns
 * SIGN_OK or SIGN_ERR_NOMEM. */
static int add_key(sign_verify_t *v, zone_rdata_t rd, bool published)
{
	if (rd.len < 4 || !(get16(rd.data) & HSM_DNSKEY_FLAG_ZONE)) {
		return SIGN_OK; /* not a zone key: never verifies an RRSIG */
	}
	vkey_t *k = &v->keys[v->nkeys++];
	k->flags = get16(rd.data);
	k->alg = rd.data[3];
	k->tag = hsm_dnskey_keytag(rd.data, rd.len);
	k->published = published;
	k->status = rd.data[2] != 3 ? HSM_ERR_DNSKEY
	                            : hsm_verify_key_new(k->alg, rd.data + 4, rd.len - 4u, &k->key);
	if (k->status == HSM_ERR_NOMEM) {
		return SIGN_ERR_NOMEM;
	}
	if (published && !(k->flags & HSM_DNSKEY_FLAG_REVOKE)) {
		add_need(v, k->alg);
	}
	return SIGN_OK;
}

/* Whether the DNSKEY RRset holds exactly this RDATA. */
static bool in_rrset(const zone_rrset_t *set, const uint8_t *rdata, size_t len)
{
	size_t pos = 0;
	zone_rdata_t rd;
	while (set != NULL && zone_rrset_next(set, &pos, &rd)) {
		if (rd.len == len && memcmp(rd.data, rdata, len) == 0) {
			return true;
		}
	}
	return false;
}

int sign_verify_new(const zone_t *z, const sign_verify_config_t *cfg, sign_verify_t **out)
{
	sign_verify_t *v = calloc(1, sizeof(*v));
	if (v == NULL) {
		return SIGN_ERR_NOMEM;
	}
	v->z = z;
	v->cfg = *cfg;
	const zone_rrset_t *dnskey = zone_apex_rrset(z, ZONE_TYPE_DNSKEY);
	const sign_keyset_t *ks = cfg->keyset;
	size_t room = (dnskey != NULL ? dnskey->count : 0) + (ks != NULL ? ks->count : 0);
	v->keys = calloc(room + 1, sizeof(*v->keys));
	if (v->keys == NULL) {
		free(v);
		return SIGN_ERR_NOMEM;
	}
	v->any_dnskey = dnskey != NULL && dnskey->count > 0;
	size_t pos = 0;
	zone_rdata_t rd;
	int ret = SIGN_OK;
	while (ret == SIGN_OK && dnskey != NULL && zone_rrset_next(dnskey, &pos, &rd)) {
		ret = add_key(v, rd, true);
	}
	v->npublished = v->nkeys;
	for (size_t i = 0; ret == SIGN_OK && ks != NULL && i < ks->count; i++) {
		const sign_key_t *k = &ks->keys[i];
		if (!k->published && !in_rrset(dnskey, k->dnskey, k->dnskey_len)) {
			ret = add_key(v, (zone_rdata_t){k->dnskey, (uint16_t)k->dnskey_len}, false);
		}
	}
	if (ret != SIGN_OK) {
		sign_verify_free(v);
		return ret;
	}
	*out = v;
	return SIGN_OK;
}

void sign_verify_free(sign_verify_t *v)
{
	if (v == NULL) {
		return;
	}
	for (size_t i = 0; i < v->nkeys; i++) {
		hsm_verify_key_free(v->keys[i].key);
	}
	free(v->keys);
	free(v);
}

/* ---- coverage ---- */

/* Whether a DNSKEY (or unpublished key of the key set) matches alg and tag;
 * *counts set if a published one may sign type (a revoked key signs only
 * the DNSKEY RRset, RFC 5011): an unpublished key's RRSIG covers nothing. */
static bool key_known(const sign_verify_t *v, uint8_t alg, uint16_t tag, uint16_t type,
                      bool *counts)
{
	bool found = false;
	*counts = false;
	for (size_t i = 0; i < v->nkeys; i++) {
		const vkey_t *k = &v->keys[i];
		if (k->alg == alg && k->tag == tag) {
			found = true;
			*counts =
			        *counts || (k->published && (!(k->flags & HSM_DNSKEY_FLAG_REVOKE) ||
			                                     type == ZONE_TYPE_DNSKEY));
		}
	}
	return found;
}

/* Checks one RRSIG of a signed RRset; sets its algorithm in covered if it
 * is good. */
static void check_rrsig(run_t *r, const uint8_t *owner, const zone_rrset_t *data, zone_rdata_t rd,
                        uint8_t *covered)
{
	const sign_verify_t *v = r->v;
	char tb[16];
	sign_rrsig_t f;
	r->counts->rrsigs++;
	if (sign_rrsig_parse(rd.data, rd.len, v->cfg.now, &f, NULL, NULL) != SIGN_OK) {
		report(r, SIGN_VERIFY_MALFORMED, owner, data->type, false, 0, 0, "%u octets",
		       rd.len);
		return;
	}
	bool counts = false;
	int64_t until = v->cfg.now + (int64_t)v->cfg.refresh;
	if (f.type_covered != data->type) {
		report(r, SIGN_VERIFY_FIELDS, owner, data->type, true, f.algorithm, f.key_tag,
		       "type covered %s", type_str(f.type_covered, tb, sizeof(tb)));
	} else if (f.labels != dname_rrsig_labels(owner)) {
		report(r, SIGN_VERIFY_FIELDS, owner, data->type, true, f.algorithm, f.key_tag,
		       "labels %u, expected %d", f.labels, dname_rrsig_labels(owner));
	} else if (f.original_ttl != data->ttl) {
		report(r, SIGN_VERIFY_FIELDS, owner, data->type, true, f.algorithm, f.key_tag,
		       "original TTL %u, RRset TTL %u", f.original_ttl, data->ttl);
	} else if (!dname_equal(f.signer, v->z->apex)) {
		report(r, SIGN_VERIFY_FIELDS, owner, data->type, true, f.algorithm, f.key_tag,
		       "signer is not the zone apex");
	} else if (!key_known(v, f.algorithm, f.key_tag, data->type, &counts)) {
		report(r, SIGN_VERIFY_UNKNOWN_KEY, owner, data->type, true, f.algorithm, f.key_tag,
		       "no DNSKEY %u/%u in the apex DNSKEY RRset%s", f.key_tag, f.algorithm,
		       v->cfg.keyset != NULL ? " nor in the key set" : "");
	} else if (f.inception > v->cfg.now) {
		report(r, SIGN_VERIFY_NOT_YET_VALID, owner, data->type, true, f.algorithm,
		       f.key_tag, "inception %lld is %lld s after now", (long long)f.inception,
		       (long long)(f.inception - v->cfg.now));
	} else if (f.expiration < until) {
		report(r, SIGN_VERIFY_EXPIRES, owner, data->type, true, f.algorithm, f.key_tag,
		       "expiration %lld is before now + refresh (%lld)", (long long)f.expiration,
		       (long long)until);
	} else if (counts) {
		bit_set(covered, f.algorithm);
	}
}

/* Checks one RRset and its RRSIGs. */
static void check_slot(run_t *r, const uint8_t *owner, const zone_slot_t *slot, bool is_signed)
{
	const zone_rrset_t *data = slot->data, *sigs = slot->sigs;
	size_t pos = 0;
	zone_rdata_t rd;
	sign_rrsig_t f;
	r->counts->rrsets++;
	if (!is_signed) {
		while (sigs != NULL && zone_rrset_next(sigs, &pos, &rd) && !r->stop) {
			bool ok = sign_rrsig_parse(rd.data, rd.len, r->v->cfg.now, &f, NULL,
			                           NULL) == SIGN_OK;
			report(r, SIGN_VERIFY_UNEXPECTED, owner, data->type, ok,
			       ok ? f.algorithm : 0, ok ? f.key_tag : 0,
			       "RRSIG over data that is not signed (delegation NS, glue or "
			       "occluded)");
		}
		return;
	}
	uint8_t covered[32] = {0};
	if (sigs != NULL && sigs->count > 0 && sigs->ttl != data->ttl) {
		report(r, SIGN_VERIFY_FIELDS, owner, data->type, false, 0, 0,
		       "RRSIG TTL %u, RRset TTL %u", sigs->ttl, data->ttl);
	}
	while (sigs != NULL && zone_rrset_next(sigs, &pos, &rd) && !r->stop) {
		check_rrsig(r, owner, data, rd, covered);
	}
	for (size_t i = 0; i < r->v->nneed && !r->stop; i++) {
		uint8_t a = r->v->need[i];
		if (!bit_get(covered, a)) {
			report(r, SIGN_VERIFY_MISSING, owner, data->type, false, a, 0,
			       "no valid RRSIG of algorithm %u", a);
		}
	}
}

/* Reports the DNSKEY RRset's own problems; false if nothing can be checked. */
static bool check_dnskeys(run_t *r)
{
	const sign_verify_t *v = r->v;
	if (v->npublished == 0) {
		report(r, SIGN_VERIFY_NO_DNSKEY, v->z->apex, ZONE_TYPE_DNSKEY, false, 0, 0,
		       v->any_dnskey ? "no zone key in the DNSKEY RRset" : "no DNSKEY RRset");
		return false;
	}
	for (size_t i = 0; i < v->nkeys && !r->stop; i++) {
		const vkey_t *k = &v->keys[i];
		if (k->key == NULL) {
			report(r, SIGN_VERIFY_BAD_DNSKEY, v->z->apex, ZONE_TYPE_DNSKEY, true,
			       k->alg, k->tag, "%s%s", hsm_strerror(k->status),
			       k->published ? "" : " (unpublished key of the key set)");
		}
	}
	return true;
}

/* Checks every RRset of node: a name's (e its entry) or, e NULL, an NSEC3
 * node's (all signed). */
static void check_node(run_t *r, const zone_node_t *node, const zone_entry_t *e)
{
	for (size_t s = 0; s < node->nslots && !r->stop; s++) {
		const zone_slot_t *slot = &node->slots[s];
		check_slot(r, node->owner, slot, e == NULL || zone_is_signed(e, slot->data->type));
	}
}

int sign_verify_coverage(const sign_verify_t *v, sign_verify_counts_t *counts)
{
	run_t r = {v, counts, 0, false};
	if (!check_dnskeys(&r)) {
		return run_status(&r);
	}
	const zone_t *z = v->z;
	for (size_t i = 0; i < z->count && !r.stop; i++) {
		check_node(&r, zone_entry(z, i)->node, zone_entry(z, i));
	}
	for (size_t i = 0; i < z->nsec3_count && !r.stop; i++) {
		check_node(&r, zone_nsec3_node(z, i), NULL);
	}
	return run_status(&r);
}

int sign_verify_coverage_names(const sign_verify_t *v, const zone_names_t *names,
                               const zone_names_t *nsec3_owners, sign_verify_counts_t *counts)
{
	run_t r = {v, counts, 0, false};
	if (!check_dnskeys(&r)) {
		return run_status(&r);
	}
	const zone_t *z = v->z;
	size_t i = 0;
	for (size_t k = 0; names != NULL && k < names->n && !r.stop; k++) {
		if (zone_find(z, names->names[k], &i)) {
			check_node(&r, zone_entry(z, i)->node, zone_entry(z, i));
		}
	}
	for (size_t k = 0; nsec3_owners != NULL && k < nsec3_owners->n && !r.stop; k++) {
		if (zone_find_nsec3(z, nsec3_owners->names[k], &i)) {
			check_node(&r, zone_nsec3_node(z, i), NULL);
		}
	}
	return run_status(&r);
}

/* ---- crypto ---- */

/* Verifies one RRSIG RDATA over data at owner. */
static int verify_one(run_t *r, sign_rrsig_buf_t *buf, const uint8_t *owner,
                      const zone_rrset_t *data, const uint8_t *rdata, size_t len)
{
	const sign_verify_t *v = r->v;
	sign_rrsig_t f;
	const uint8_t *sig = NULL;
	size_t sig_len = 0;
	r->counts->verified++;
	if (sign_rrsig_parse(rdata, len, v->cfg.now, &f, &sig, &sig_len) != SIGN_OK) {
		report(r, SIGN_VERIFY_BAD_SIGNATURE, owner, data->type, false, 0, 0,
		       "malformed RRSIG");
		return SIGN_OK;
	}
	int ret = sign_rrsig_signed_data(buf, &f, owner, data);
	if (ret == SIGN_ERR_NOMEM) {
		return ret;
	}
	bool candidate = false;
	for (size_t i = 0; ret == SIGN_OK && i < v->nkeys; i++) {
		const vkey_t *k = &v->keys[i];
		if (k->alg != f.algorithm || k->tag != f.key_tag || k->key == NULL) {
			continue;
		}
		candidate = true;
		if (hsm_verify_sig(k->key, buf->data, buf->len, sig, sig_len) == HSM_OK) {
			return SIGN_OK;
		}
	}
	report(r, SIGN_VERIFY_BAD_SIGNATURE, owner, data->type, true, f.algorithm, f.key_tag, "%s",
	       ret != SIGN_OK ? "labels exceed the owner's"
	       : candidate    ? "signature does not verify"
	                      : "no usable DNSKEY with this algorithm and tag");
	return SIGN_OK;
}

int sign_verify_rrsigs(const sign_verify_t *v, const sign_verify_item_t *items, size_t n,
                       sign_verify_counts_t *counts)
{
	run_t r = {v, counts, 0, false};
	sign_rrsig_buf_t buf;
	sign_rrsig_buf_init(&buf);
	int ret = SIGN_OK;
	for (size_t i = 0; i < n && !r.stop && ret == SIGN_OK; i++) {
		const sign_verify_item_t *it = &items[i];
		const zone_slot_t *slot = zone_node_find(it->node, it->type);
		if (slot == NULL) {
			char tb[16];
			report(&r, SIGN_VERIFY_BAD_SIGNATURE, it->node->owner, it->type, false, 0,
			       0, "no %s RRset at this name", type_str(it->type, tb, sizeof(tb)));
			continue;
		}
		ret = verify_one(&r, &buf, it->node->owner, slot->data, it->rrsig, it->rrsig_len);
	}
	sign_rrsig_buf_deinit(&buf);
	return ret != SIGN_OK ? ret : run_status(&r);
}

/* Verifies every RRSIG of the signed slots of node. */
static int verify_node(run_t *r, sign_rrsig_buf_t *buf, const zone_node_t *node,
                       const zone_entry_t *e)
{
	for (size_t s = 0; s < node->nslots && !r->stop; s++) {
		const zone_slot_t *slot = &node->slots[s];
		if (slot->sigs == NULL || (e != NULL && !zone_is_signed(e, slot->data->type))) {
			continue;
		}
		size_t pos = 0;
		zone_rdata_t rd;
		while (zone_rrset_next(slot->sigs, &pos, &rd) && !r->stop) {
			int ret = verify_one(r, buf, node->owner, slot->data, rd.data, rd.len);
			if (ret != SIGN_OK) {
				return ret;
			}
		}
	}
	return SIGN_OK;
}

int sign_verify_all(const sign_verify_t *v, sign_verify_counts_t *counts)
{
	run_t r = {v, counts, 0, false};
	sign_rrsig_buf_t buf;
	sign_rrsig_buf_init(&buf);
	int ret = SIGN_OK;
	for (size_t i = 0; i < v->z->count && !r.stop && ret == SIGN_OK; i++) {
		ret = verify_node(&r, &buf, zone_entry(v->z, i)->node, zone_entry(v->z, i));
	}
	for (size_t i = 0; i < v->z->nsec3_count && !r.stop && ret == SIGN_OK; i++) {
		ret = verify_node(&r, &buf, zone_nsec3_node(v->z, i), NULL);
	}
	sign_rrsig_buf_deinit(&buf);
	return ret != SIGN_OK ? ret : run_status(&r);
}

/* ---- chain ---- */

/* Whether node holds data other than NSEC/NSEC3 (a name of the chain unless
 * occluded). */
static bool has_data(const zone_node_t *node)
{
	for (size_t i = 0; i < node->nslots; i++) {
		uint16_t t = node->slots[i].data->type;
		if (t != ZONE_TYPE_NSEC && t != ZONE_TYPE_NSEC3) {
			return true;
		}
	}
	return false;
}

/* Whether entry e is a name of the NSEC chain: not occluded, with data. */
static bool nsec_in_chain(const zone_entry_t *e)
{
	return !(e->flags & ZONE_NAME_OCCLUDED) && has_data(e->node);
}

/* Room for the types expected_types() may list for a node; grown as
 * needed, free(t) when done. */
typedef struct {
	uint16_t *t;
	size_t cap;
} types_t;

static uint16_t *types_for(types_t *b, const zone_node_t *node)
{
	size_t need = node->nslots + 2;
	if (need > b->cap) {
		uint16_t *t = realloc(b->t, need * sizeof(*t));
		if (t == NULL) {
			return NULL;
		}
		b->t = t;
		b->cap = need;
	}
	return b->t;
}

/* Appends type to the ascending list types[0..*n) (room is the caller's). */
static void add_type(uint16_t *types, size_t *n, uint16_t type)
{
	size_t i = *n;
	while (i > 0 && types[i - 1] > type) {
		i--;
	}
	if (i > 0 && types[i - 1] == type) {
		return;
	}
	memmove(types + i + 1, types + i, (*n - i) * sizeof(*types));
	types[i] = type;
	(*n)++;
}

/* The types an NSEC (nsec3 false) or NSEC3 bitmap must list for entry e
 * (RFC 4034 4.1.2, RFC 5155 3.2.1): at a delegation only NS and DS; RRSIG
 * when something at the name is signed (always, with NSEC); NSEC with NSEC.
 * types has room for e's slots + 2. */
static size_t expected_types(const zone_entry_t *e, bool nsec3, uint16_t *types)
{
	bool cut = (e->flags & ZONE_NAME_CUT) != 0, sig = false;
	size_t n = 0;
	for (size_t i = 0; i < e->node->nslots; i++) {
		uint16_t t = e->node->slots[i].data->type;
		if (t == ZONE_TYPE_NSEC || t == ZONE_TYPE_NSEC3 ||
		    (cut && t != ZONE_TYPE_NS && t != ZONE_TYPE_DS)) {
			continue;
		}
		add_type(types, &n, t);
		sig = sig || !cut || t == ZONE_TYPE_DS;
	}
	if (!nsec3) {
		add_type(types, &n, ZONE_TYPE_NSEC);
		sig = true;
	}
	if (sig) {
		add_type(types, &n, ZONE_TYPE_RRSIG);
	}
	return n;
}

/* Compares a type bitmap (len octets) with the ascending types[0..n).
 * Returns 0 if they list the same types, 1 if not (*diff: the first type in
 * one but not the other; *extra: it is in the bitmap), -1 if the bitmap is
 * malformed (RFC 4034 4.1.2: windows ascending, 1..32 octets, no trailing
 * zero octet). */
static int bitmap_cmp(const uint8_t *p, size_t len, const uint16_t *types, size_t n, uint16_t *diff,
                      bool *extra)
{
	size_t k = 0, off = 0;
	int last = -1;
	while (off < len) {
		if (len - off < 2) {
			return -1;
		}
		unsigned win = p[off], blen = p[off + 1];
		if ((int)win <= last || blen == 0 || blen > 32 || len - off - 2 < blen ||
		    p[off + 1 + blen] == 0) {
			return -1;
		}
		for (unsigned i = 0; i < blen * 8; i++) {
			if (!((p[off + 2 + i / 8] >> (7 - i % 8)) & 1)) {
				continue;
			}
			uint16_t t = (uint16_t)(win * 256 + i);
			if (k < n && types[k] == t) {
				k++;
				continue;
			}
			*extra = !(k < n && types[k] < t);
			*diff = *extra ? t : types[k];
			return 1;
		}
		last = (int)win;
		off += 2u + blen;
	}
	if (k < n) {
		*extra = false;
		*diff = types[k];
		return 1;
	}
	return 0;
}

/* Reports a bitmap that differs from types. */
static void check_bitmap(run_t *r, sign_verify_reason_t bad, sign_verify_reason_t malformed,
                         const uint8_t *owner, uint16_t type, const uint8_t *p, size_t len,
                         const uint16_t *types, size_t n, const char *what)
{
	uint16_t diff = 0;
	bool extra = false;
	char tb[16];
	int c = bitmap_cmp(p, len, types, n, &diff, &extra);
	if (c < 0) {
		report(r, malformed, owner, type, false, 0, 0, "malformed type bitmap%s", what);
	} else if (c > 0) {
		report(r, bad, owner, type, false, 0, 0, "%s %s the bitmap%s",
		       type_str(diff, tb, sizeof(tb)), extra ? "wrongly in" : "missing from", what);
	}
}

/* The NSEC/NSEC3 TTL (RFC 9077): min(SOA TTL, SOA MINIMUM). */
static bool chain_ttl(const zone_t *z, uint32_t *ttl)
{
	const zone_rrset_t *soa = zone_apex_rrset(z, ZONE_TYPE_SOA);
	zone_rdata_t rd;
	size_t pos = 0;
	if (soa == NULL || !zone_rrset_next(soa, &pos, &rd) || rd.len < 22) {
		return false;
	}
	uint32_t minimum = get32(rd.data + rd.len - 4);
	*ttl = soa->ttl < minimum ? soa->ttl : minimum;
	return true;
}

/* Length of the wire name at p (at most len octets), or 0 if malformed. */
static size_t name_len(const uint8_t *p, size_t len)
{
	size_t off = 0;
	while (off < len && off < DNAME_MAXLEN) {
		uint8_t l = p[off];
		if (l & 0xc0) {
			return 0;
		}
		off += 1u + l;
		if (l == 0) {
			return off <= DNAME_MAXLEN ? off : 0;
		}
	}
	return 0;
}

static size_t max_slots(const zone_t *z)
{
	size_t m = 0;
	for (size_t i = 0; i < z->count; i++) {
		m = zone_entry(z, i)->node->nslots > m ? zone_entry(z, i)->node->nslots : m;
	}
	return m;
}

/* Checks the NSEC RRset of chain entry e whose next name must be next. */
static void check_nsec(run_t *r, const zone_entry_t *e, const uint8_t *next, bool have_ttl,
                       uint32_t ttl, uint16_t *types)
{
	const uint8_t *owner = e->node->owner;
	const zone_slot_t *slot = zone_node_find(e->node, ZONE_TYPE_NSEC);
	zone_rdata_t rd;
	size_t pos = 0;
	r->counts->names++;
	if (slot == NULL) {
		report(r, SIGN_VERIFY_NSEC_MISSING, owner, ZONE_TYPE_NSEC, false, 0, 0, "%s", "");
		return;
	}
	if (slot->data->count != 1 || !zone_rrset_next(slot->data, &pos, &rd)) {
		report(r, SIGN_VERIFY_NSEC_MALFORMED, owner, ZONE_TYPE_NSEC, false, 0, 0,
		       "%u NSEC records", slot->data->count);
		return;
	}
	size_t nl = name_len(rd.data, rd.len);
	if (nl == 0) {
		report(r, SIGN_VERIFY_NSEC_MALFORMED, owner, ZONE_TYPE_NSEC, false, 0, 0,
		       "malformed next owner name");
		return;
	}
	if (!dname_equal(rd.data, next)) {
		char a[DNAME_STR_MAXLEN], b[DNAME_STR_MAXLEN];
		if (dname_to_str(rd.data, a, sizeof(a)) != 0 ||
		    dname_to_str(next, b, sizeof(b)) != 0) {
			a[0] = b[0] = '\0';
		}
		report(r, SIGN_VERIFY_NSEC_NEXT, owner, ZONE_TYPE_NSEC, false, 0, 0,
		       "next is %s, expected %s", a, b);
	}
	size_t n = expected_types(e, false, types);
	check_bitmap(r, SIGN_VERIFY_NSEC_BITMAP, SIGN_VERIFY_NSEC_MALFORMED, owner, ZONE_TYPE_NSEC,
	             rd.data + nl, rd.len - nl, types, n, "");
	if (have_ttl && slot->data->ttl != ttl) {
		report(r, SIGN_VERIFY_NSEC_TTL, owner, ZONE_TYPE_NSEC, false, 0, 0,
		       "TTL %u, expected %u", slot->data->ttl, ttl);
	}
}

/* Reports an NSEC at entry e, a name outside the NSEC chain. */
static void check_outside(run_t *r, const zone_entry_t *e)
{
	if (zone_node_find(e->node, ZONE_TYPE_NSEC) != NULL) {
		report(r, SIGN_VERIFY_NSEC_EXTRA, e->node->owner, ZONE_TYPE_NSEC, false, 0, 0,
		       "NSEC at a name outside the chain");
	}
}

static int check_nsec_chain(run_t *r, bool have_ttl, uint32_t ttl)
{
	const zone_t *z = r->v->z;
	uint16_t *types = malloc((max_slots(z) + 2) * sizeof(*types));
	if (types == NULL) {
		return SIGN_ERR_NOMEM;
	}
	size_t first = SIZE_MAX, prev = SIZE_MAX;
	for (size_t i = 0; i < z->count && !r->stop; i++) {
		const zone_entry_t *e = zone_entry(z, i);
		if (!nsec_in_chain(e)) {
			check_outside(r, e);
			continue;
		}
		if (prev != SIZE_MAX) {
			check_nsec(r, zone_entry(z, prev), e->node->owner, have_ttl, ttl, types);
		} else {
			first = i;
		}
		prev = i;
	}
	if (prev != SIZE_MAX && !r->stop) {
		check_nsec(r, zone_entry(z, prev), zone_entry(z, first)->node->owner, have_ttl, ttl,
		           types);
	}
	for (size_t i = 0; i < z->nsec3_count && !r->stop; i++) {
		report(r, SIGN_VERIFY_NSEC3_EXTRA, zone_nsec3_node(z, i)->owner, ZONE_TYPE_NSEC3,
		       false, 0, 0, "NSEC3 in a zone without NSEC3PARAM");
	}
	free(types);
	return SIGN_OK;
}

/* The NSEC chain name before position p (an entry's index, or z->count),
 * wrapping to the last one; SIZE_MAX if the chain is empty. Walks back over
 * the names outside the chain. */
static size_t chain_before(const zone_t *z, size_t p)
{
	for (size_t k = 1; k <= z->count; k++) {
		size_t j = (p + z->count - k) % z->count;
		if (nsec_in_chain(zone_entry(z, j))) {
			return j;
		}
	}
	return SIZE_MAX;
}

/* The NSEC chain name after entry i, wrapping to the first one (the apex);
 * i itself if it is the only one. */
static size_t chain_after(const zone_t *z, size_t i)
{
	for (size_t k = 1; k < z->count; k++) {
		size_t j = (i + k) % z->count;
		if (nsec_in_chain(zone_entry(z, j))) {
			return j;
		}
	}
	return i;
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* The NSEC chain around names: each name present (its NSEC, or an NSEC
 * where none belongs) and the chain name before each name's position, each
 * entry once, in canonical order. */
static int check_nsec_names(run_t *r, const zone_names_t *names, bool have_ttl, uint32_t ttl)
{
	const zone_t *z = r->v->z;
	size_t n = names != NULL ? names->n : 0;
	if (z->count == 0 || n == 0) {
		return SIGN_OK;
	}
	size_t *idx = malloc(2 * n * sizeof(*idx)), m = 0;
	if (idx == NULL) {
		return SIGN_ERR_NOMEM;
	}
	for (size_t k = 0; k < n; k++) {
		size_t i = 0;
		if (zone_find(z, names->names[k], &i)) {
			idx[m++] = i;
		}
		size_t prev = chain_before(z, i);
		if (prev != SIZE_MAX) {
			idx[m++] = prev;
		}
	}
	qsort(idx, m, sizeof(*idx), size_cmp);
	types_t types = {NULL, 0};
	int ret = SIGN_OK;
	for (size_t k = 0; k < m && !r->stop; k++) {
		if (k > 0 && idx[k] == idx[k - 1]) {
			continue;
		}
		const zone_entry_t *e = zone_entry(z, idx[k]);
		if (!nsec_in_chain(e)) {
			check_outside(r, e);
			continue;
		}
		uint16_t *t = types_for(&types, e->node);
		if (t == NULL) {
			ret = SIGN_ERR_NOMEM;
			break;
		}
		check_nsec(r, e, zone_entry(z, chain_after(z, idx[k]))->node->owner, have_ttl, ttl,
		           t);
	}
	free(types.t);
	free(idx);
	return ret;
}

/* NSEC3 parameters (RFC 5155 section 4), pointing into RDATA. */
typedef struct {
	uint8_t alg, flags;
	uint16_t iterations;
	uint8_t salt_len;
	const uint8_t *salt;
} nsec3_par_t;

/* One NSEC3 node of the zone. */
typedef struct {
	uint8_t hash[NSEC3_HASH_LEN];
	const zone_node_t *node;
	const uint8_t *next; /* next hashed owner (NSEC3_HASH_LEN octets), NULL if unreadable */
	const uint8_t *bitmap;
	size_t bitmap_len;
	size_t entry; /* the name that matched it, SIZE_MAX if none */
} n3_t;

static int n3_cmp(const void *a, const void *b)
{
	return memcmp(((const n3_t *)a)->hash, ((const n3_t *)b)->hash, NSEC3_HASH_LEN);
}

/* Parses NSEC3 or NSEC3PARAM RDATA up to the salt's end; returns the offset
 * after the salt, or 0 if too short. */
static size_t parse_par(const uint8_t *p, size_t len, nsec3_par_t *out)
{
	if (len < 5 || len < 5u + p[4]) {
		return 0;
	}
	*out = (nsec3_par_t){p[0], p[1], get16(p + 2), p[4], p + 5};
	return 5u + p[4];
}

/* Reads the NSEC3 RRset of t->node into t and checks it against par and
 * the chain's TTL; *opt_out gets its flag. */
static void read_nsec3(run_t *r, n3_t *t, const nsec3_par_t *par, bool have_ttl, uint32_t ttl,
                       int *opt_out)
{
	const uint8_t *owner = t->node->owner;
	const zone_slot_t *slot = zone_node_find(t->node, ZONE_TYPE_NSEC3);
	zone_rdata_t rd;
	size_t pos = 0, off;
	nsec3_par_t p;
	if (slot == NULL || slot->data->count != 1 || !zone_rrset_next(slot->data, &pos, &rd)) {
		report(r, SIGN_VERIFY_NSEC3_MALFORMED, owner, ZONE_TYPE_NSEC3, false, 0, 0,
		       "%u NSEC3 records", slot != NULL ? slot->data->count : 0);
		return;
	}
	if ((off = parse_par(rd.data, rd.len, &p)) == 0 || off >= rd.len ||
	    rd.data[off] != NSEC3_HASH_LEN || rd.len - off - 1 < NSEC3_HASH_LEN) {
		report(r, SIGN_VERIFY_NSEC3_MALFORMED, owner, ZONE_TYPE_NSEC3, false, 0, 0,
		       "malformed NSEC3 RDATA");
		return;
	}
	t->next = rd.data + off + 1;
	t->bitmap = t->next + NSEC3_HASH_LEN;
	t->bitmap_len = rd.len - off - 1 - NSEC3_HASH_LEN;
	if (p.alg != par->alg || p.iterations != par->iterations || p.salt_len != par->salt_len ||
	    memcmp(p.salt, par->salt, p.salt_len) != 0) {
		report(r, SIGN_VERIFY_NSEC3_PARAMS, owner, ZONE_TYPE_NSEC3, false, 0, 0,
		       "hash %u, iterations %u, salt of %u octets differ from NSEC3PARAM", p.alg,
		       p.iterations, p.salt_len);
	}
	if (p.flags & ~NSEC3_FLAG_OPT_OUT) {
		report(r, SIGN_VERIFY_NSEC3_FLAGS, owner, ZONE_TYPE_NSEC3, false, 0, 0,
		       "unknown flags 0x%02x", p.flags);
	} else if (*opt_out >= 0 && (p.flags & NSEC3_FLAG_OPT_OUT) != *opt_out) {
		report(r, SIGN_VERIFY_NSEC3_FLAGS, owner, ZONE_TYPE_NSEC3, false, 0, 0,
		       "opt-out flag %s, unlike the chain's first NSEC3",
		       p.flags & NSEC3_FLAG_OPT_OUT ? "set" : "clear");
	} else {
		*opt_out = p.flags & NSEC3_FLAG_OPT_OUT;
	}
	if (have_ttl && slot->data->ttl != ttl) {
		report(r, SIGN_VERIFY_NSEC3_TTL, owner, ZONE_TYPE_NSEC3, false, 0, 0,
		       "TTL %u, expected %u", slot->data->ttl, ttl);
	}
}

/* Whether entry i (an empty non-terminal) leads to a name that must be in an
 * opt-out chain: authoritative data other than a delegation without DS. */
static bool leads_to_secure(const zone_t *z, size_t i)
{
	const uint8_t *ent = zone_entry(z, i)->node->owner;
	for (size_t j = i + 1; j < z->count; j++) {
		const zone_entry_t *e = zone_entry(z, j);
		if (!dname_is_subdomain(e->node->owner, ent)) {
			break;
		}
		if (!(e->flags & ZONE_NAME_OCCLUDED) && has_data(e->node) &&
		    (!(e->flags & ZONE_NAME_CUT) ||
		     zone_node_find(e->node, ZONE_TYPE_DS) != NULL)) {
			return true;
		}
	}
	return false;
}

/* Reads NSEC3 node into t: the hash of its owner (reported, and all 0xff,
 * if the owner is not a hash under the apex) and its record (read_nsec3). */
static void read_node(run_t *r, n3_t *t, const zone_node_t *node, const nsec3_par_t *par,
                      bool have_ttl, uint32_t ttl, int *opt_out)
{
	*t = (n3_t){{0}, node, NULL, NULL, 0, SIZE_MAX};
	const uint8_t *parent = dname_parent(node->owner);
	if (!nsec3_owner_hash(node->owner, t->hash) || parent == NULL ||
	    !dname_equal(parent, r->v->z->apex)) {
		report(r, SIGN_VERIFY_NSEC3_MALFORMED, node->owner, ZONE_TYPE_NSEC3, false, 0, 0,
		       "owner is not a base32hex hash under the apex");
		memset(t->hash, 0xff, NSEC3_HASH_LEN);
		return;
	}
	read_nsec3(r, t, par, have_ttl, ttl, opt_out);
}

/* Reports t's next hashed owner (if readable) unless it is hash, the hash of
 * the chain's next node. */
static void check_next(run_t *r, const n3_t *t, const uint8_t *hash)
{
	if (t->next != NULL && memcmp(t->next, hash, NSEC3_HASH_LEN) != 0) {
		char a[NSEC3_LABEL_LEN + 1], b[NSEC3_LABEL_LEN + 1];
		nsec3_base32hex(t->next, a);
		nsec3_base32hex(hash, b);
		report(r, SIGN_VERIFY_NSEC3_NEXT, t->node->owner, ZONE_TYPE_NSEC3, false, 0, 0,
		       "next hashed owner %s, expected %s", a, b);
	}
}

/* Reports t's type bitmap (if readable) if it differs from the types at
 * entry e, the name with t's hash; types has room for them (types_for). */
static void check_nsec3_bitmap(run_t *r, const n3_t *t, const zone_entry_t *e, uint16_t *types)
{
	if (t->bitmap == NULL) {
		return;
	}
	char h[NSEC3_LABEL_LEN + 1], what[NSEC3_LABEL_LEN + 16];
	nsec3_base32hex(t->hash, h);
	snprintf(what, sizeof(what), " of NSEC3 %s", h);
	size_t nt = expected_types(e, true, types);
	check_bitmap(r, SIGN_VERIFY_NSEC3_BITMAP, SIGN_VERIFY_NSEC3_MALFORMED, e->node->owner,
	             ZONE_TYPE_NSEC3, t->bitmap, t->bitmap_len, types, nt, what);
}

/* Reports t (if readable) as the NSEC3 of no name of the chain. */
static void report_extra(run_t *r, const n3_t *t)
{
	if (t->next != NULL) {
		report(r, SIGN_VERIFY_NSEC3_EXTRA, t->node->owner, ZONE_TYPE_NSEC3, false, 0, 0,
		       "hash of no name of the chain");
	}
}

/* Reads the NSEC3 nodes into tab (sorted by hash) and checks each record and
 * the next-hashed-owner cycle. Returns the opt-out flag of the chain. */
static bool read_chain(run_t *r, n3_t *tab, size_t n, const nsec3_par_t *par, bool have_ttl,
                       uint32_t ttl)
{
	const zone_t *z = r->v->z;
	int opt_out = -1;
	for (size_t i = 0; i < n; i++) {
		read_node(r, &tab[i], zone_nsec3_node(z, i), par, have_ttl, ttl, &opt_out);
	}
	qsort(tab, n, sizeof(*tab), n3_cmp);
	for (size_t i = 0; i < n && !r->stop; i++) {
		const n3_t *t = &tab[i], *next = &tab[i + 1 < n ? i + 1 : 0];
		if (i + 1 < n && memcmp(t->hash, next->hash, NSEC3_HASH_LEN) == 0) {
			report(r, SIGN_VERIFY_NSEC3_MALFORMED, t->node->owner, ZONE_TYPE_NSEC3,
			       false, 0, 0, "two NSEC3 nodes with one hash");
		}
		check_next(r, t, next->hash);
	}
	return opt_out > 0;
}

/* Whether entry i (not occluded) must be in the chain (RFC 5155 7.1): with
 * opt-out, delegations without DS, and empty non-terminals leading only to
 * them, may be left out. */
static bool required_in_chain(const zone_t *z, size_t i, bool opt_out)
{
	const zone_entry_t *e = zone_entry(z, i);
	if (has_data(e->node)) {
		return !opt_out || !(e->flags & ZONE_NAME_CUT) ||
		       zone_node_find(e->node, ZONE_TYPE_DS) != NULL;
	}
	return (e->flags & ZONE_NAME_ENT) && (!opt_out || leads_to_secure(z, i));
}

/* A hasher for the salt and iterations of par. */
static int make_hasher(const nsec3_par_t *par, nsec3_hasher_t **out)
{
	nsec3_params_t p;
	memset(&p, 0, sizeof(p));
	p.iterations = par->iterations;
	p.salt_len = par->salt_len;
	memcpy(p.salt, par->salt, par->salt_len);
	int ret = nsec3_hasher_new(&p, out);
	return ret == NSEC_OK ? SIGN_OK : ret == NSEC_ERR_NOMEM ? SIGN_ERR_NOMEM : SIGN_ERR_CRYPTO;
}

/* Hashes every name that belongs in the chain and matches it to tab. */
static int match_names(run_t *r, n3_t *tab, size_t n, const nsec3_par_t *par, bool opt_out)
{
	const zone_t *z = r->v->z;
	nsec3_hasher_t *hasher = NULL;
	int ret = make_hasher(par, &hasher);
	uint16_t *types = malloc((max_slots(z) + 2) * sizeof(*types));
	if (ret == SIGN_OK && types == NULL) {
		ret = SIGN_ERR_NOMEM;
	}
	for (size_t i = 0; i < z->count && ret == SIGN_OK && !r->stop; i++) {
		const zone_entry_t *e = zone_entry(z, i);
		const uint8_t *owner = e->node->owner;
		if (e->flags & ZONE_NAME_OCCLUDED) {
			continue;
		}
		bool required = required_in_chain(z, i, opt_out);
		n3_t key;
		if (nsec3_hasher_hash(hasher, owner, key.hash) != NSEC_OK) {
			ret = SIGN_ERR_CRYPTO;
			break;
		}
		r->counts->names++;
		char h[NSEC3_LABEL_LEN + 1];
		nsec3_base32hex(key.hash, h);
		n3_t *t = bsearch(&key, tab, n, sizeof(*tab), n3_cmp);
		if (t == NULL) {
			if (required) {
				report(r, SIGN_VERIFY_NSEC3_MISSING, owner, ZONE_TYPE_NSEC3, false,
				       0, 0, "no NSEC3 at hash %s", h);
			}
			continue;
		}
		if (t->entry != SIZE_MAX) {
			char a[DNAME_STR_MAXLEN];
			if (dname_to_str(zone_entry(z, t->entry)->node->owner, a, sizeof(a)) != 0) {
				a[0] = '\0';
			}
			report(r, SIGN_VERIFY_NSEC3_COLLISION, owner, ZONE_TYPE_NSEC3, false, 0, 0,
			       "hash %s is also that of %s", h, a);
			continue;
		}
		t->entry = i;
		check_nsec3_bitmap(r, t, e, types);
	}
	nsec3_hasher_free(hasher);
	free(types);
	return ret;
}

/* Reads the apex NSEC3PARAM slot param into *par and reports its problems;
 * false if it cannot be used (nothing else can be checked then). */
static bool read_param(run_t *r, const zone_slot_t *param, nsec3_par_t *par)
{
	const zone_t *z = r->v->z;
	zone_rdata_t rd;
	size_t pos = 0;
	if (param == NULL || param->data->count != 1 || !zone_rrset_next(param->data, &pos, &rd) ||
	    parse_par(rd.data, rd.len, par) != rd.len || par->alg != NSEC3_ALG_SHA1) {
		report(r, SIGN_VERIFY_NSEC3PARAM, z->apex, ZONE_TYPE_NSEC3PARAM, false, 0, 0, "%s",
		       param == NULL ? "no NSEC3PARAM at the apex"
		                     : "not one NSEC3PARAM of hash algorithm 1 (SHA-1)");
		return false;
	}
	if (par->flags != 0) {
		report(r, SIGN_VERIFY_NSEC3PARAM, z->apex, ZONE_TYPE_NSEC3PARAM, false, 0, 0,
		       "flags 0x%02x, must be 0", par->flags);
	}
	return true;
}

/* Reports an NSEC at entry e of an NSEC3 zone. */
static void check_no_nsec(run_t *r, const zone_entry_t *e)
{
	if (zone_node_find(e->node, ZONE_TYPE_NSEC) != NULL) {
		report(r, SIGN_VERIFY_NSEC_EXTRA, e->node->owner, ZONE_TYPE_NSEC, false, 0, 0,
		       "NSEC in an NSEC3 zone");
	}
}

static int check_nsec3_chain(run_t *r, const zone_slot_t *param, bool have_ttl, uint32_t ttl)
{
	const zone_t *z = r->v->z;
	nsec3_par_t par;
	if (!read_param(r, param, &par)) {
		return SIGN_OK;
	}
	for (size_t i = 0; i < z->count && !r->stop; i++) {
		check_no_nsec(r, zone_entry(z, i));
	}
	size_t n = z->nsec3_count;
	n3_t *tab = malloc((n > 0 ? n : 1) * sizeof(*tab));
	if (tab == NULL) {
		return SIGN_ERR_NOMEM;
	}
	bool opt_out = read_chain(r, tab, n, &par, have_ttl, ttl);
	int ret = match_names(r, tab, n, &par, opt_out);
	for (size_t i = 0; i < n && ret == SIGN_OK && !r->stop; i++) {
		if (tab[i].entry == SIZE_MAX) {
			report_extra(r, &tab[i]);
		}
	}
	free(tab);
	return ret;
}

/* The opt-out flag of the first NSEC3 record of the chain (0 or 1), -1 if
 * that record is unusable (the first one read then sets it). */
static int first_opt_out(const zone_t *z)
{
	if (z->nsec3_count == 0) {
		return -1;
	}
	const zone_slot_t *slot = zone_node_find(zone_nsec3_node(z, 0), ZONE_TYPE_NSEC3);
	zone_rdata_t rd;
	size_t pos = 0;
	nsec3_par_t p;
	if (slot == NULL || slot->data->count != 1 || !zone_rrset_next(slot->data, &pos, &rd) ||
	    parse_par(rd.data, rd.len, &p) == 0 || (p.flags & ~NSEC3_FLAG_OPT_OUT)) {
		return -1;
	}
	return p.flags & NSEC3_FLAG_OPT_OUT;
}

/* What check_nsec3_names() looks at in one NSEC3 node. */
enum {
	LOOK_MATCH, /* the NSEC3 of entry: its bitmap */
	LOOK_EXTRA, /* the hash of a name absent or occluded */
	LOOK_LINK,  /* its next hashed owner: the following node's hash */
};

typedef struct {
	size_t node;  /* index among the version's NSEC3 nodes */
	size_t entry; /* LOOK_MATCH: the name's index; else SIZE_MAX */
	int what;     /* LOOK_* */
} look_t;

static int look_cmp(const void *a, const void *b)
{
	const look_t *x = a, *y = b;
	if (x->node != y->node) {
		return x->node < y->node ? -1 : 1;
	}
	if (x->what != y->what) {
		return x->what < y->what ? -1 : 1;
	}
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* Hashes each name and notes the NSEC3 nodes to look at around its hash in
 * looks (room for 3 a name), setting *m; reports the missing NSEC3s and
 * NSECs. */
static int place_names(run_t *r, const zone_names_t *names, nsec3_hasher_t *hasher, bool opt_out,
                       look_t *looks, size_t *m)
{
	const zone_t *z = r->v->z;
	size_t n3 = z->nsec3_count;
	for (size_t k = 0; k < names->n && !r->stop; k++) {
		const uint8_t *name = names->names[k];
		size_t i = 0, j = 0, len = 0;
		bool found = zone_find(z, name, &i);
		if (found) {
			check_no_nsec(r, zone_entry(z, i));
		}
		bool in = found && !(zone_entry(z, i)->flags & ZONE_NAME_OCCLUDED);
		uint8_t hash[NSEC3_HASH_LEN], owner[DNAME_MAXLEN];
		if (nsec3_hasher_hash(hasher, name, hash) != NSEC_OK) {
			return SIGN_ERR_CRYPTO;
		}
		r->counts->names++;
		bool placed = nsec3_owner(hash, z->apex, owner, &len) == NSEC_OK;
		bool at = placed && zone_find_nsec3(z, owner, &j);
		if (!at && in && required_in_chain(z, i, opt_out)) {
			char h[NSEC3_LABEL_LEN + 1];
			nsec3_base32hex(hash, h);
			report(r, SIGN_VERIFY_NSEC3_MISSING, name, ZONE_TYPE_NSEC3, false, 0, 0,
			       "no NSEC3 at hash %s", h);
		}
		if (!placed || n3 == 0) {
			continue;
		}
		/* The node before the hash's position: its next hashed owner
		 * must be that of the node at or after the position. */
		looks[(*m)++] = (look_t){(j + n3 - 1) % n3, SIZE_MAX, LOOK_LINK};
		if (at) {
			looks[(*m)++] =
			        (look_t){j, in ? i : SIZE_MAX, in ? LOOK_MATCH : LOOK_EXTRA};
			looks[(*m)++] = (look_t){j, SIZE_MAX, LOOK_LINK};
		}
	}
	return SIGN_OK;
}

/* The NSEC3 chain around names: for each, the NSEC3 at its hash (there if
 * the name is required in the chain; gone if the name is absent or
 * occluded), that record and its bitmap, and the next hashed owners of the
 * nodes before and at the hash's position. Each node is read once. */
static int check_nsec3_names(run_t *r, const zone_slot_t *param, const zone_names_t *names,
                             bool have_ttl, uint32_t ttl)
{
	const zone_t *z = r->v->z;
	nsec3_par_t par;
	size_t n = names != NULL ? names->n : 0;
	if (!read_param(r, param, &par) || n == 0) {
		return SIGN_OK;
	}
	int opt_out = first_opt_out(z);
	nsec3_hasher_t *hasher = NULL;
	look_t *looks = malloc(3 * n * sizeof(*looks));
	types_t types = {NULL, 0};
	size_t m = 0;
	int ret = looks == NULL ? SIGN_ERR_NOMEM : make_hasher(&par, &hasher);
	if (ret == SIGN_OK) {
		ret = place_names(r, names, hasher, opt_out > 0, looks, &m);
	}
	if (ret == SIGN_OK) {
		qsort(looks, m, sizeof(*looks), look_cmp);
	}
	n3_t t = {{0}, NULL, NULL, NULL, 0, SIZE_MAX};
	for (size_t k = 0; k < m && ret == SIGN_OK && !r->stop; k++) {
		const look_t *l = &looks[k];
		if (k > 0 && look_cmp(l, &looks[k - 1]) == 0) {
			continue;
		}
		if (k == 0 || l->node != looks[k - 1].node) {
			read_node(r, &t, zone_nsec3_node(z, l->node), &par, have_ttl, ttl,
			          &opt_out);
		}
		if (l->what == LOOK_MATCH) {
			const zone_entry_t *e = zone_entry(z, l->entry);
			uint16_t *tb = types_for(&types, e->node);
			if (tb == NULL) {
				ret = SIGN_ERR_NOMEM;
				break;
			}
			check_nsec3_bitmap(r, &t, e, tb);
		} else if (l->what == LOOK_EXTRA) {
			report_extra(r, &t);
		} else {
			uint8_t next[NSEC3_HASH_LEN];
			const zone_node_t *after =
			        zone_nsec3_node(z, (l->node + 1) % z->nsec3_count);
			if (nsec3_owner_hash(after->owner, next)) {
				check_next(r, &t, next);
			}
		}
	}
	free(types.t);
	free(looks);
	nsec3_hasher_free(hasher);
	return ret;
}

/* What both chain checks start with: the chain's TTL in *ttl (NO_SOA
 * reported if none; *have_ttl false then) and the apex NSEC3PARAM slot.
 * Returns whether the zone is an NSEC3 zone. */
static bool chain_setup(run_t *r, bool *have_ttl, uint32_t *ttl, const zone_slot_t **param)
{
	const zone_t *z = r->v->z;
	*have_ttl = chain_ttl(z, ttl);
	if (!*have_ttl) {
		report(r, SIGN_VERIFY_NO_SOA, z->apex, ZONE_TYPE_SOA, false, 0, 0,
		       "NSEC/NSEC3 TTLs not checked");
	}
	size_t apex = 0;
	*param = NULL;
	if (zone_find(z, z->apex, &apex)) {
		*param = zone_node_find(zone_entry(z, apex)->node, ZONE_TYPE_NSEC3PARAM);
	}
	return *param != NULL || z->nsec3_count > 0;
}

int sign_verify_chain(const sign_verify_t *v, sign_verify_counts_t *counts)
{
	run_t r = {v, counts, 0, false};
	uint32_t ttl = 0;
	bool have_ttl = false;
	const zone_slot_t *param = NULL;
	int ret = chain_setup(&r, &have_ttl, &ttl, &param)
	                  ? check_nsec3_chain(&r, param, have_ttl, ttl)
	                  : check_nsec_chain(&r, have_ttl, ttl);
	return ret != SIGN_OK ? ret : run_status(&r);
}

int sign_verify_chain_names(const sign_verify_t *v, const zone_names_t *names,
                            sign_verify_counts_t *counts)
{
	run_t r = {v, counts, 0, false};
	uint32_t ttl = 0;
	bool have_ttl = false;
	const zone_slot_t *param = NULL;
	int ret = chain_setup(&r, &have_ttl, &ttl, &param)
	                  ? check_nsec3_names(&r, param, names, have_ttl, ttl)
	                  : check_nsec_names(&r, names, have_ttl, ttl);
	return ret != SIGN_OK ? ret : run_status(&r);
}

/* ---- all at once ---- */

int sign_verify_zone(const zone_t *z, const sign_verify_config_t *cfg, unsigned what,
                     const sign_verify_item_t *items, size_t n, sign_verify_counts_t *counts)
{
	sign_verify_t *v = NULL;
	int ret = sign_verify_new(z, cfg, &v);
	if (ret != SIGN_OK) {
		return ret;
	}
	int result = SIGN_OK;
	for (unsigned bit = 1; bit <= SIGN_VERIFY_CHECK_CHAIN; bit <<= 1) {
		if (!(what & bit)) {
			continue;
		}
		switch (bit) {
		case SIGN_VERIFY_CHECK_COVERAGE:
			ret = sign_verify_coverage(v, counts);
			break;
		case SIGN_VERIFY_CHECK_ITEMS:
			ret = sign_verify_rrsigs(v, items, n, counts);
			break;
		case SIGN_VERIFY_CHECK_ALL:
			ret = sign_verify_all(v, counts);
			break;
		default:
			ret = sign_verify_chain(v, counts);
			break;
		}
		if (ret != SIGN_OK && ret != SIGN_ERR_VERIFY) {
			result = ret;
			break;
		}
		if (ret == SIGN_ERR_VERIFY) {
			result = ret;
		}
	}
	sign_verify_free(v);
	return result;
}

const char *sign_verify_reason_str(sign_verify_reason_t reason)
{
	switch (reason) {
	case SIGN_VERIFY_NO_DNSKEY:
		return "no usable DNSKEY RRset at the apex";
	case SIGN_VERIFY_BAD_DNSKEY:
		return "unusable DNSKEY";
	case SIGN_VERIFY_MISSING:
		return "no valid RRSIG for an algorithm of the DNSKEY RRset";
	case SIGN_VERIFY_MALFORMED:
		return "malformed RRSIG";
	case SIGN_VERIFY_UNKNOWN_KEY:
		return "RRSIG by a key not in the DNSKEY RRset";
	case SIGN_VERIFY_FIELDS:
		return "RRSIG fields do not match the RRset";
	case SIGN_VERIFY_NOT_YET_VALID:
		return "RRSIG not yet valid";
	case SIGN_VERIFY_EXPIRES:
		return "RRSIG expires before now + refresh";
	case SIGN_VERIFY_UNEXPECTED:
		return "RRSIG over unsigned data";
	case SIGN_VERIFY_BAD_SIGNATURE:
		return "signature does not verify";
	case SIGN_VERIFY_NO_SOA:
		return "no usable SOA at the apex";
	case SIGN_VERIFY_NSEC_MISSING:
		return "NSEC missing";
	case SIGN_VERIFY_NSEC_EXTRA:
		return "NSEC where none belongs";
	case SIGN_VERIFY_NSEC_MALFORMED:
		return "malformed NSEC";
	case SIGN_VERIFY_NSEC_NEXT:
		return "NSEC next name breaks the chain";
	case SIGN_VERIFY_NSEC_BITMAP:
		return "NSEC type bitmap wrong";
	case SIGN_VERIFY_NSEC_TTL:
		return "NSEC TTL wrong";
	case SIGN_VERIFY_NSEC3PARAM:
		return "NSEC3PARAM missing or wrong";
	case SIGN_VERIFY_NSEC3_MISSING:
		return "NSEC3 missing";
	case SIGN_VERIFY_NSEC3_EXTRA:
		return "NSEC3 where none belongs";
	case SIGN_VERIFY_NSEC3_MALFORMED:
		return "malformed NSEC3";
	case SIGN_VERIFY_NSEC3_PARAMS:
		return "NSEC3 parameters differ from NSEC3PARAM";
	case SIGN_VERIFY_NSEC3_FLAGS:
		return "NSEC3 flags wrong";
	case SIGN_VERIFY_NSEC3_NEXT:
		return "NSEC3 next hashed owner breaks the chain";
	case SIGN_VERIFY_NSEC3_BITMAP:
		return "NSEC3 type bitmap wrong";
	case SIGN_VERIFY_NSEC3_TTL:
		return "NSEC3 TTL wrong";
	case SIGN_VERIFY_NSEC3_COLLISION:
		return "NSEC3 hash collision";
	}
	return "?";
}
