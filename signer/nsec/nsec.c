#include "signer/nsec/nsec.h"

#include <stdlib.h>
#include <string.h>

#include "signer/nsec/nsec_bitmap.h"
#include "signer/nsec/nsec_error.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"

int nsec_ttl(const zone_t *z, uint32_t *ttl)
{
	const zone_rrset_t *soa = zone_apex_rrset(z, ZONE_TYPE_SOA);
	zone_rdata_t rd;
	size_t pos = 0;
	/* Two names of at least one octet, then five 32-bit fields. */
	if (soa == NULL || !zone_rrset_next(soa, &pos, &rd) || rd.len < 22) {
		return NSEC_ERR_NO_SOA;
	}
	const uint8_t *m = rd.data + rd.len - 4;
	uint32_t minimum = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
	*ttl = soa->ttl < minimum ? soa->ttl : minimum;
	return NSEC_OK;
}

bool nsec_has_data(const zone_node_t *node)
{
	for (size_t i = 0; i < node->nslots; i++) {
		uint16_t t = node->slots[i].data->type;
		if (t != ZONE_TYPE_NSEC && t != ZONE_TYPE_NSEC3) {
			return true;
		}
	}
	return false;
}

bool nsec_in_chain(const zone_entry_t *e)
{
	return !(e->flags & ZONE_NAME_OCCLUDED) && nsec_has_data(e->node);
}

/* Puts type into the ascending array types[0..*n) unless it is there. */
static int insert_type(uint16_t *types, size_t cap, size_t *n, uint16_t type)
{
	size_t i = *n;
	while (i > 0 && types[i - 1] > type) {
		i--;
	}
	if (i > 0 && types[i - 1] == type) {
		return NSEC_OK;
	}
	if (*n == cap) {
		return NSEC_ERR_BUFFER;
	}
	memmove(types + i + 1, types + i, (*n - i) * sizeof(*types));
	types[i] = type;
	(*n)++;
	return NSEC_OK;
}

int nsec_types(const zone_entry_t *e, nsec_kind_t kind, uint16_t *types, size_t cap, size_t *n)
{
	bool cut = (e->flags & ZONE_NAME_CUT) != 0;
	bool signed_data = false;
	size_t k = 0;
	const zone_node_t *node = e->node;
	for (size_t i = 0; i < node->nslots; i++) {
		uint16_t t = node->slots[i].data->type;
		if (t == ZONE_TYPE_NSEC || t == ZONE_TYPE_NSEC3 || t == ZONE_TYPE_RRSIG ||
		    (t == ZONE_TYPE_NSEC3PARAM && kind == NSEC_KIND_NSEC) ||
		    (cut && t != ZONE_TYPE_NS && t != ZONE_TYPE_DS)) {
			continue;
		}
		if (k == cap) {
			return NSEC_ERR_BUFFER;
		}
		types[k++] = t; /* slots are sorted by type */
		signed_data = signed_data || !cut || t == ZONE_TYPE_DS;
	}
	int ret = NSEC_OK;
	if (kind == NSEC_KIND_NSEC) {
		if ((ret = insert_type(types, cap, &k, ZONE_TYPE_RRSIG)) == NSEC_OK) {
			ret = insert_type(types, cap, &k, ZONE_TYPE_NSEC);
		}
	} else if (signed_data) {
		ret = insert_type(types, cap, &k, ZONE_TYPE_RRSIG);
	}
	if (ret == NSEC_OK) {
		*n = k;
	}
	return ret;
}

/* Whether node's NSEC slot holds exactly one record, rdata, with ttl. */
static bool same_nsec(const zone_node_t *node, uint32_t ttl, const uint8_t *rdata, size_t len)
{
	const zone_slot_t *s = zone_node_find(node, ZONE_TYPE_NSEC);
	zone_rdata_t rd;
	size_t pos = 0;
	return s != NULL && s->data->ttl == ttl && s->data->count == 1 &&
	       zone_rrset_next(s->data, &pos, &rd) && rd.len == len &&
	       memcmp(rd.data, rdata, len) == 0;
}

/* node without the slots of NSEC3 and (at the apex) NSEC3PARAM, in *out (a
 * new reference: node itself when it has neither). */
static int strip_nsec3(const zone_node_t *node, bool apex, zone_node_t **out)
{
	static const uint16_t gone[] = {ZONE_TYPE_NSEC3, ZONE_TYPE_NSEC3PARAM};
	zone_node_t *cur = zone_node_ref((zone_node_t *)node);
	for (size_t i = 0; i < (apex ? 2u : 1u); i++) {
		if (zone_node_find(cur, gone[i]) == NULL) {
			continue;
		}
		zone_node_t *next = NULL;
		int ret = zone_node_without(cur, gone[i], &next);
		zone_node_unref(cur);
		if (ret != ZONE_OK) {
			return ret;
		}
		cur = next;
	}
	*out = cur;
	return NSEC_OK;
}

/* The node of chain entry e with its NSEC RRset (next name next, TTL ttl) in
 * *out, or NULL in *out if e's node already has exactly that NSEC and nothing
 * to remove. types has room for the node's slots + 2. */
static int nsec_node(const zone_entry_t *e, const uint8_t *next, uint32_t ttl, uint16_t *types,
                     size_t cap, zone_node_t **out)
{
	uint8_t rdata[DNAME_MAXLEN + NSEC_BITMAP_MAXLEN];
	size_t next_len = dname_length(next);
	size_t ntypes = 0, blen = 0;
	int ret = nsec_types(e, NSEC_KIND_NSEC, types, cap, &ntypes);
	if (ret != NSEC_OK) {
		return ret;
	}
	memcpy(rdata, next, next_len);
	ret = nsec_bitmap_encode(types, ntypes, rdata + next_len, sizeof(rdata) - next_len, &blen);
	if (ret != NSEC_OK) {
		return ret;
	}
	const zone_node_t *node = e->node;
	bool apex = (e->flags & ZONE_NAME_APEX) != 0;
	bool stale = zone_node_find(node, ZONE_TYPE_NSEC3) != NULL ||
	             (apex && zone_node_find(node, ZONE_TYPE_NSEC3PARAM) != NULL);
	if (!stale && same_nsec(node, ttl, rdata, next_len + blen)) {
		*out = NULL;
		return NSEC_OK;
	}
	zone_rdata_t rd = {rdata, (uint16_t)(next_len + blen)};
	zone_rrset_t *rrset = NULL;
	zone_node_t *base = NULL;
	if ((ret = zone_rrset_new(ZONE_TYPE_NSEC, ttl, &rd, 1, &rrset)) != ZONE_OK) {
		return ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : NSEC_ERR_TOO_BIG;
	}
	if ((ret = strip_nsec3(node, apex, &base)) == NSEC_OK) {
		ret = zone_node_with(base, (zone_slot_t){rrset, NULL}, out);
		zone_node_unref(base);
	}
	zone_rrset_unref(rrset);
	return ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : ret;
}

/* The node of an entry outside the chain without its NSEC and NSEC3 slots in
 * *out, or NULL if it has neither. */
static int stale_node(const zone_node_t *node, zone_node_t **out)
{
	*out = NULL;
	zone_node_t *cur = zone_node_ref((zone_node_t *)node);
	static const uint16_t gone[] = {ZONE_TYPE_NSEC, ZONE_TYPE_NSEC3};
	for (size_t i = 0; i < 2; i++) {
		if (zone_node_find(cur, gone[i]) == NULL) {
			continue;
		}
		zone_node_t *next = NULL;
		int ret = zone_node_without(cur, gone[i], &next);
		zone_node_unref(cur);
		if (ret != ZONE_OK) {
			return ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : ret;
		}
		cur = next;
	}
	if (cur == node) {
		zone_node_unref(cur);
	} else {
		*out = cur;
	}
	return NSEC_OK;
}

int nsec_build(const zone_t *z, zone_t **out)
{
	uint32_t ttl = 0;
	int ret = nsec_ttl(z, &ttl);
	if (ret != NSEC_OK) {
		return ret;
	}
	size_t maxslots = 0, nchain = 0;
	for (size_t i = 0; i < z->count; i++) {
		if (zone_entry(z, i)->node->nslots > maxslots) {
			maxslots = zone_entry(z, i)->node->nslots;
		}
	}
	size_t *chain = malloc(z->count * sizeof(*chain));
	zone_node_t **changed = malloc(z->count * sizeof(*changed));
	uint16_t *types = malloc((maxslots + 2) * sizeof(*types));
	size_t nchanged = 0;
	ret = NSEC_ERR_NOMEM;
	if (chain == NULL || changed == NULL || types == NULL) {
		goto fail;
	}
	for (size_t i = 0; i < z->count; i++) {
		const zone_entry_t *e = zone_entry(z, i);
		if (nsec_in_chain(e)) {
			chain[nchain++] = i;
			continue;
		}
		zone_node_t *node = NULL;
		if ((ret = stale_node(e->node, &node)) != NSEC_OK) {
			goto fail;
		}
		if (node != NULL) {
			changed[nchanged++] = node;
		}
	}
	/* The apex holds the SOA, so it is in the chain, first. */
	for (size_t k = 0; k < nchain; k++) {
		const zone_entry_t *e = zone_entry(z, chain[k]);
		const zone_entry_t *next = zone_entry(z, chain[k + 1 < nchain ? k + 1 : 0]);
		zone_node_t *node = NULL;
		ret = nsec_node(e, next->node->owner, ttl, types, maxslots + 2, &node);
		if (ret != NSEC_OK) {
			goto fail;
		}
		if (node != NULL) {
			changed[nchanged++] = node;
		}
	}
	free(chain);
	free(types);
	ret = zone_replace(z, changed, nchanged, out, NULL);
	free(changed);
	return ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : ret;
fail:
	for (size_t i = 0; i < nchanged; i++) {
		zone_node_unref(changed[i]);
	}
	free(types);
	free(changed);
	free(chain);
	return ret;
}

/* The chain entry before index i (0 .. count; wrapping to the last one), or
 * SIZE_MAX. */
static size_t chain_before(const zone_t *z, size_t i)
{
	for (size_t k = 0; k < z->count; k++) {
		i = i == 0 ? z->count - 1 : i - 1;
		if (nsec_in_chain(zone_entry(z, i))) {
			return i;
		}
	}
	return SIZE_MAX;
}

/* The chain entry after index i (wrapping to the apex). */
static size_t chain_after(const zone_t *z, size_t i)
{
	for (size_t k = 0; k < z->count; k++) {
		i = i + 1 == z->count ? 0 : i + 1;
		if (nsec_in_chain(zone_entry(z, i))) {
			return i;
		}
	}
	return i;
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

int nsec_update(const zone_t *z, const zone_names_t *names, zone_t **out, zone_names_t *changed)
{
	uint32_t ttl = 0;
	int ret = nsec_ttl(z, &ttl);
	if (ret != NSEC_OK) {
		return ret;
	}
	/* Each name's own index (when present) and its chain predecessor. */
	size_t *at = malloc((2 * names->n + 1) * sizeof(*at));
	zone_node_t **nodes = malloc((2 * names->n + 1) * sizeof(*nodes));
	size_t nat = 0, nnodes = 0;
	ret = NSEC_ERR_NOMEM;
	if (at == NULL || nodes == NULL) {
		goto done;
	}
	for (size_t k = 0; k < names->n; k++) {
		size_t i = 0; /* where the name is or would be: 0 .. count */
		if (zone_find(z, names->names[k], &i)) {
			at[nat++] = i;
		}
		size_t before = chain_before(z, i);
		if (before != SIZE_MAX) {
			at[nat++] = before;
		}
	}
	qsort(at, nat, sizeof(*at), size_cmp);
	ret = NSEC_OK;
	for (size_t k = 0; k < nat && ret == NSEC_OK; k++) {
		if (k > 0 && at[k] == at[k - 1]) {
			continue;
		}
		const zone_entry_t *e = zone_entry(z, at[k]);
		zone_node_t *node = NULL;
		if (!nsec_in_chain(e)) {
			ret = stale_node(e->node, &node);
		} else {
			size_t cap = e->node->nslots + 2u;
			uint16_t *types = malloc(cap * sizeof(*types));
			const uint8_t *next = zone_entry(z, chain_after(z, at[k]))->node->owner;
			ret = types == NULL ? NSEC_ERR_NOMEM
			                    : nsec_node(e, next, ttl, types, cap, &node);
			free(types);
		}
		if (ret == NSEC_OK && node != NULL) {
			nodes[nnodes++] = node;
			if (changed != NULL) {
				ret = zone_names_add(changed, node->owner);
			}
		}
	}
	if (ret == NSEC_OK) {
		ret = zone_update(z, nodes, nnodes, NULL, 0, out, NULL, NULL);
		nnodes = 0;
		ret = ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : ret;
	}
done:
	for (size_t k = 0; k < nnodes; k++) {
		zone_node_unref(nodes[k]);
	}
	free(nodes);
	free(at);
	return ret;
}
