#include "signer/daemon/dzone_merge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_rrset.h"

/* A record (owner, type, RDATA) or an RRset (owner, type) the run touched:
 * hashed by its key bytes. */
typedef struct entry {
	struct entry *next; /* hash chain */
	struct entry *set;  /* a record's RRset entry */
	struct entry *rrs;  /* an RRset's records, linked by sibling */
	struct entry *sibling;
	struct entry *order; /* RRset entries in the order first touched */
	bool present;        /* record: there after the run */
	bool ttl_set;        /* RRset: a record was added: its TTL rules */
	uint32_t ttl;
	const zone_rrset_t *base; /* RRset: the version's (NULL: none) */
	uint32_t hash;
	uint16_t type;
	uint16_t keylen;
	uint8_t key[]; /* owner (wire), then for a record its RDATA */
} entry_t;

typedef struct {
	entry_t **buckets;
	size_t nbuckets;
	entry_t *sets, **sets_tail;
	const zone_t *z;
} merge_t;

static uint32_t hash_of(const uint8_t *key, size_t len, uint16_t type)
{
	uint32_t h = 2166136261u ^ type;
	for (size_t i = 0; i < len; i++) {
		h = (h ^ key[i]) * 16777619u;
	}
	return h;
}

/* The entry of key/type, made (zeroed) if create and missing; NULL if
 * missing or out of memory. */
static entry_t *lookup(merge_t *m, const uint8_t *key, size_t len, uint16_t type, bool create)
{
	uint32_t h = hash_of(key, len, type);
	entry_t **b = &m->buckets[h % m->nbuckets];
	for (entry_t *e = *b; e != NULL; e = e->next) {
		if (e->hash == h && e->type == type && e->keylen == len &&
		    memcmp(e->key, key, len) == 0) {
			return e;
		}
	}
	if (!create) {
		return NULL;
	}
	entry_t *e = calloc(1, sizeof(*e) + len);
	if (e == NULL) {
		return NULL;
	}
	e->hash = h;
	e->type = type;
	e->keylen = (uint16_t)len;
	memcpy(e->key, key, len);
	e->next = *b;
	*b = e;
	return e;
}

static const zone_rrset_t *base_rrset(const zone_t *z, const uint8_t *owner, uint16_t type)
{
	size_t i = 0;
	if (!zone_find(z, owner, &i)) {
		return NULL;
	}
	const zone_slot_t *s = zone_node_find(zone_entry(z, i)->node, type);
	return s != NULL ? s->data : NULL;
}

static bool in_rrset(const zone_rrset_t *r, const uint8_t *rd, size_t len)
{
	size_t pos = 0;
	zone_rdata_t x;
	while (r != NULL && zone_rrset_next(r, &pos, &x)) {
		if (x.len == len && memcmp(x.data, rd, len) == 0) {
			return true;
		}
	}
	return false;
}

/* The RRset entry of owner/type (made when first touched). */
static entry_t *set_of(merge_t *m, const uint8_t *owner, size_t olen, uint16_t type)
{
	entry_t *s = lookup(m, owner, olen, type, false);
	if (s != NULL) {
		return s;
	}
	s = lookup(m, owner, olen, type, true);
	if (s != NULL) {
		s->base = base_rrset(m->z, owner, type);
		*m->sets_tail = s;
		m->sets_tail = &s->order;
	}
	return s;
}

/* A record's entry: key = owner || 0xff || RDATA, with the RRset's type;
 * the RRset's entry has the owner alone as key: always shorter, so the two
 * never collide. */
static entry_t *rr_of(merge_t *m, entry_t *set, const uint8_t *owner, size_t olen,
                      const uint8_t *rd, size_t len, bool *known)
{
	uint8_t key[DNAME_MAXLEN + 1 + 65535];
	memcpy(key, owner, olen);
	key[olen] = 0xff;
	memcpy(key + olen + 1, rd, len);
	entry_t *e = lookup(m, key, olen + 1 + len, set->type, false);
	*known = e != NULL;
	if (e == NULL && (e = lookup(m, key, olen + 1 + len, set->type, true)) != NULL) {
		e->set = set;
		e->present = in_rrset(set->base, rd, len);
		e->sibling = set->rrs;
		set->rrs = e;
	}
	return e;
}

static bool is_dnssec(uint16_t type)
{
	return type == ZONE_TYPE_RRSIG || type == ZONE_TYPE_NSEC || type == ZONE_TYPE_NSEC3 ||
	       type == ZONE_TYPE_NSEC3PARAM || type == ZONE_TYPE_DNSKEY || type == ZONE_TYPE_CDS ||
	       type == ZONE_TYPE_CDNSKEY;
}

/* Checks one record of a change and canonicalizes a copy: false if the run
 * must stop before this change. */
static bool take_rr(const zone_t *z, const zone_rr_t *rr, uint8_t *owner, uint8_t *rd)
{
	size_t olen = dname_length(rr->owner);
	if (olen == 0 || olen > DNAME_MAXLEN || is_dnssec(rr->type) ||
	    (rr->type == ZONE_TYPE_DS && dname_equal(rr->owner, z->apex))) {
		return false;
	}
	memcpy(owner, rr->owner, olen);
	dname_to_lower(owner);
	if (!dname_is_subdomain(owner, z->apex)) {
		return false;
	}
	memcpy(rd, rr->rdata, rr->rdlen);
	return zone_rdata_canonicalize(rr->type, rd, rr->rdlen);
}

/* One record of a change: its effect on the run, or false (the change is
 * not taken; effects of its earlier records are undone by the caller). */
typedef struct {
	entry_t *rr;
	bool was_present, was_known;
	entry_t *set;
	bool set_ttl_set;
	uint32_t set_ttl;
} undo_t;

static int change_ops(merge_t *m, const dzone_change_t *c, undo_t *undo, size_t *nundo, bool *ok)
{
	uint8_t owner[DNAME_MAXLEN], rd[65535];
	*ok = false;
	*nundo = 0;
	for (int pass = 0; pass < 2; pass++) {
		const zone_rr_t *v = pass == 0 ? c->delta.removed : c->delta.added;
		size_t n = pass == 0 ? c->delta.nremoved : c->delta.nadded;
		for (size_t i = 0; i < n; i++) {
			if (v[i].type == ZONE_TYPE_SOA) {
				continue; /* the run's SOA is settled at the end */
			}
			if (!take_rr(m->z, &v[i], owner, rd)) {
				return ZONE_OK;
			}
			size_t olen = dname_length(owner);
			entry_t *set = set_of(m, owner, olen, v[i].type);
			bool known = false;
			entry_t *e = set != NULL
			                     ? rr_of(m, set, owner, olen, rd, v[i].rdlen, &known)
			                     : NULL;
			if (e == NULL) {
				return ZONE_ERR_NOMEM;
			}
			undo_t *u = &undo[(*nundo)++];
			*u = (undo_t){e, e->present, known, set, set->ttl_set, set->ttl};
			if (pass == 0) {
				if (!e->present) {
					return ZONE_OK; /* nothing to remove: the change goes alone */
				}
				e->present = false;
			} else {
				e->present = true;
				set->ttl_set = true;
				set->ttl = v[i].ttl;
			}
		}
	}
	*ok = true;
	return ZONE_OK;
}

static void undo_ops(const undo_t *undo, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		undo[i].rr->present = undo[i].was_present;
		undo[i].set->ttl_set = undo[i].set_ttl_set;
		undo[i].set->ttl = undo[i].set_ttl;
	}
}

/* The SOA RDATA of the zone, or of the change's added SOA. */
static bool soa_of(const zone_rrset_t *soa, uint8_t *out, uint16_t *len, uint32_t *ttl)
{
	size_t pos = 0;
	zone_rdata_t rd;
	if (soa == NULL || !zone_rrset_next(soa, &pos, &rd) || rd.len < 20 || rd.len > 1024) {
		return false;
	}
	memcpy(out, rd.data, rd.len);
	*len = rd.len;
	*ttl = soa->ttl;
	return true;
}

static int emit(merge_t *m, zone_delta_t *out)
{
	int ret = ZONE_OK;
	for (entry_t *s = m->sets; s != NULL && ret == ZONE_OK; s = s->order) {
		const uint8_t *owner = s->key;
		uint32_t base_ttl = s->base != NULL ? s->base->ttl : 0;
		uint32_t ttl = s->ttl_set ? s->ttl : base_ttl;
		bool added = false;
		const entry_t *kept = NULL; /* a base record that stays */
		for (const entry_t *e = s->rrs; e != NULL && ret == ZONE_OK; e = e->sibling) {
			const uint8_t *rd = e->key + s->keylen + 1;
			size_t len = (size_t)e->keylen - s->keylen - 1;
			bool in_base = in_rrset(s->base, rd, len);
			if (in_base && !e->present) {
				ret = zone_delta_add(out, false, owner, s->type, base_ttl, rd,
				                     (uint16_t)len);
			} else if (!in_base && e->present) {
				ret = zone_delta_add(out, true, owner, s->type, ttl, rd,
				                     (uint16_t)len);
				added = true;
			} else if (in_base && e->present) {
				kept = e;
			}
		}
		/* Records of the base the run never named stay too. */
		size_t pos = 0;
		zone_rdata_t x;
		bool base_stays = false;
		while (kept == NULL && s->base != NULL && zone_rrset_next(s->base, &pos, &x)) {
			bool named = false;
			for (const entry_t *e = s->rrs; e != NULL && !named; e = e->sibling) {
				named = (size_t)e->keylen - s->keylen - 1 == x.len &&
				        memcmp(e->key + s->keylen + 1, x.data, x.len) == 0;
			}
			if (!named) {
				base_stays = true;
				break;
			}
		}
		/* A new TTL without a new record: one kept record is added again
		 * (IXFR's way of changing a TTL). */
		if (ret == ZONE_OK && s->base != NULL && ttl != base_ttl && !added) {
			if (kept != NULL) {
				const uint8_t *rd = kept->key + s->keylen + 1;
				ret = zone_delta_add(out, true, owner, s->type, ttl, rd,
				                     (uint16_t)(kept->keylen - s->keylen - 1));
			} else if (base_stays) {
				ret = zone_delta_add(out, true, owner, s->type, ttl, x.data, x.len);
			}
		}
	}
	return ret;
}

int dzone_merge(const zone_t *z, const dzone_change_t *list, uint32_t input_serial, size_t *taken,
                uint32_t *last_serial, zone_delta_t *out)
{
	*taken = 0;
	*last_serial = input_serial;
	uint8_t soa[1024];
	uint16_t soa_len = 0;
	uint32_t soa_ttl = 0;
	const zone_rrset_t *zsoa = zone_apex_rrset(z, ZONE_TYPE_SOA);
	if (!soa_of(zsoa, soa, &soa_len, &soa_ttl)) {
		return ZONE_OK;
	}
	/* Buckets for the records of the run (bounded: chains grow beyond), and
	 * room to undo the largest change. */
	size_t total = 0, largest = 0;
	for (const dzone_change_t *c = list; c != NULL && c->kind == DZONE_CHANGE_DELTA;
	     c = c->next) {
		size_t n = c->delta.nremoved + c->delta.nadded;
		total += n;
		largest = n > largest ? n : largest;
	}
	merge_t m = {.z = z};
	m.nbuckets = total < (1u << 20) ? total * 2 + 64 : (2u << 20);
	m.buckets = calloc(m.nbuckets, sizeof(*m.buckets));
	undo_t *undo = calloc(largest + 1, sizeof(*undo));
	m.sets_tail = &m.sets;
	int ret = m.buckets == NULL || undo == NULL ? ZONE_ERR_NOMEM : ZONE_OK;
	uint32_t serial = input_serial;
	for (const dzone_change_t *c = list; c != NULL && ret == ZONE_OK; c = c->next) {
		if (c->kind != DZONE_CHANGE_DELTA || c->from_serial != serial) {
			break;
		}
		/* Its SOA, if it gives one: at the apex, one only. */
		const zone_rr_t *given = NULL;
		bool bad_soa = false;
		for (size_t i = 0; i < c->delta.nadded; i++) {
			if (c->delta.added[i].type == ZONE_TYPE_SOA) {
				bad_soa = bad_soa || given != NULL ||
				          !dname_equal(c->delta.added[i].owner, z->apex) ||
				          c->delta.added[i].rdlen < 20 ||
				          c->delta.added[i].rdlen > 1024;
				given = &c->delta.added[i];
			}
		}
		if (bad_soa) {
			break;
		}
		size_t nundo = 0;
		bool ok = false;
		ret = change_ops(&m, c, undo, &nundo, &ok);
		if (ret != ZONE_OK) {
			break;
		}
		if (!ok) {
			undo_ops(undo, nundo);
			break;
		}
		if (given != NULL) {
			memcpy(soa, given->rdata, given->rdlen);
			soa_len = given->rdlen;
			soa_ttl = given->ttl;
			zone_rdata_canonicalize(ZONE_TYPE_SOA, soa, soa_len);
		} else {
			size_t off = soa_len - 20u;
			soa[off] = (uint8_t)(c->to_serial >> 24);
			soa[off + 1] = (uint8_t)(c->to_serial >> 16);
			soa[off + 2] = (uint8_t)(c->to_serial >> 8);
			soa[off + 3] = (uint8_t)c->to_serial;
		}
		serial = c->to_serial;
		(*taken)++;
	}
	if (ret == ZONE_OK && *taken > 0) {
		ret = emit(&m, out);
		size_t pos = 0;
		zone_rdata_t old;
		if (ret == ZONE_OK && zone_rrset_next(zsoa, &pos, &old)) {
			ret = zone_delta_add(out, false, z->apex, ZONE_TYPE_SOA, zsoa->ttl,
			                     old.data, old.len);
		}
		if (ret == ZONE_OK) {
			ret = zone_delta_add(out, true, z->apex, ZONE_TYPE_SOA, soa_ttl, soa,
			                     soa_len);
		}
		*last_serial = serial;
	}
	for (size_t i = 0; m.buckets != NULL && i < m.nbuckets; i++) {
		for (entry_t *e = m.buckets[i], *next; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m.buckets);
	free(undo);
	return ret;
}
