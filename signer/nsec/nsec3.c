#include "signer/nsec/nsec3.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "signer/nsec/nsec.h"
#include "signer/nsec/nsec_bitmap.h"
#include "signer/nsec/nsec_error.h"
#include "signer/zone/zone_error.h"

struct nsec3_hasher {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
	uint16_t iterations;
	uint8_t salt_len;
	uint8_t salt[255];
};

int nsec3_hasher_new(const nsec3_params_t *p, nsec3_hasher_t **out)
{
	nsec3_hasher_t *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		return NSEC_ERR_NOMEM;
	}
	h->md = EVP_MD_fetch(NULL, "SHA1", NULL);
	h->ctx = EVP_MD_CTX_new();
	if (h->md == NULL || h->ctx == NULL) {
		nsec3_hasher_free(h);
		return NSEC_ERR_CRYPTO;
	}
	h->iterations = p->iterations;
	h->salt_len = p->salt_len;
	memcpy(h->salt, p->salt, p->salt_len);
	*out = h;
	return NSEC_OK;
}

void nsec3_hasher_free(nsec3_hasher_t *h)
{
	if (h == NULL) {
		return;
	}
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h);
}

/* out = SHA-1(data || salt). */
static bool digest(nsec3_hasher_t *h, const uint8_t *data, size_t len, uint8_t *out)
{
	unsigned int olen = 0;
	return EVP_DigestInit_ex2(h->ctx, h->md, NULL) == 1 &&
	       EVP_DigestUpdate(h->ctx, data, len) == 1 &&
	       (h->salt_len == 0 || EVP_DigestUpdate(h->ctx, h->salt, h->salt_len) == 1) &&
	       EVP_DigestFinal_ex(h->ctx, out, &olen) == 1 && olen == NSEC3_HASH_LEN;
}

int nsec3_hasher_hash(nsec3_hasher_t *h, const uint8_t *name, uint8_t out[NSEC3_HASH_LEN])
{
	uint8_t lower[DNAME_MAXLEN];
	uint8_t md[NSEC3_HASH_LEN];
	size_t len = dname_length(name);
	memcpy(lower, name, len);
	dname_to_lower(lower);
	if (!digest(h, lower, len, md)) {
		return NSEC_ERR_CRYPTO;
	}
	for (unsigned i = 0; i < h->iterations; i++) {
		if (!digest(h, md, sizeof(md), md)) {
			return NSEC_ERR_CRYPTO;
		}
	}
	memcpy(out, md, NSEC3_HASH_LEN);
	return NSEC_OK;
}

int nsec3_hash(const nsec3_params_t *p, const uint8_t *name, uint8_t out[NSEC3_HASH_LEN])
{
	nsec3_hasher_t *h = NULL;
	int ret = nsec3_hasher_new(p, &h);
	if (ret == NSEC_OK) {
		ret = nsec3_hasher_hash(h, name, out);
		nsec3_hasher_free(h);
	}
	return ret;
}

static const char b32hex[] = "0123456789abcdefghijklmnopqrstuv";

void nsec3_base32hex(const uint8_t hash[NSEC3_HASH_LEN], char out[NSEC3_LABEL_LEN + 1])
{
	size_t o = 0;
	for (size_t i = 0; i < NSEC3_HASH_LEN; i += 5) {
		uint64_t v = 0;
		for (size_t k = 0; k < 5; k++) {
			v = v << 8 | hash[i + k];
		}
		for (int k = 7; k >= 0; k--) {
			out[o++] = b32hex[(v >> (5 * k)) & 0x1f];
		}
	}
	out[o] = '\0';
}

bool nsec3_owner_hash(const uint8_t *owner, uint8_t out[NSEC3_HASH_LEN])
{
	if (owner[0] != NSEC3_LABEL_LEN) {
		return false;
	}
	uint8_t hash[NSEC3_HASH_LEN];
	for (size_t g = 0; g < NSEC3_LABEL_LEN / 8; g++) {
		uint64_t v = 0;
		for (size_t k = 0; k < 8; k++) {
			uint8_t c = owner[1 + g * 8 + k];
			unsigned d;
			if (c >= '0' && c <= '9') {
				d = c - '0';
			} else if (c >= 'a' && c <= 'v') {
				d = c - 'a' + 10u;
			} else if (c >= 'A' && c <= 'V') {
				d = c - 'A' + 10u;
			} else {
				return false;
			}
			v = v << 5 | d;
		}
		for (size_t k = 0; k < 5; k++) {
			hash[g * 5 + k] = (uint8_t)(v >> (8 * (4 - k)));
		}
	}
	memcpy(out, hash, sizeof(hash));
	return true;
}

int nsec3_owner(const uint8_t hash[NSEC3_HASH_LEN], const uint8_t *apex, uint8_t *out, size_t *len)
{
	size_t apex_len = dname_length(apex);
	if (1 + NSEC3_LABEL_LEN + apex_len > DNAME_MAXLEN) {
		return NSEC_ERR_NAME_TOO_LONG;
	}
	char label[NSEC3_LABEL_LEN + 1];
	nsec3_base32hex(hash, label);
	out[0] = NSEC3_LABEL_LEN;
	memcpy(out + 1, label, NSEC3_LABEL_LEN);
	memcpy(out + 1 + NSEC3_LABEL_LEN, apex, apex_len);
	*len = 1 + NSEC3_LABEL_LEN + apex_len;
	return NSEC_OK;
}

void nsec3_select(const zone_t *z, bool opt_out, bool *in, size_t *n)
{
	/* Empty non-terminals waiting for a name in the chain below them; each
	 * is below the one before it, so at most DNAME_MAXLABELS deep. */
	size_t pending[DNAME_MAXLABELS + 1];
	size_t top = 0, count = 0;
	for (size_t i = 0; i < z->count; i++) {
		const zone_entry_t *e = zone_entry(z, i);
		const uint8_t *owner = e->node->owner;
		in[i] = false;
		while (top > 0 &&
		       !dname_is_subdomain(owner, zone_entry(z, pending[top - 1])->node->owner)) {
			top--;
		}
		if (e->flags & ZONE_NAME_OCCLUDED) {
			continue;
		}
		if (!nsec_has_data(e->node)) {
			if (top < sizeof(pending) / sizeof(pending[0])) {
				pending[top++] = i;
			}
			continue;
		}
		if (opt_out && (e->flags & ZONE_NAME_CUT) &&
		    zone_node_find(e->node, ZONE_TYPE_DS) == NULL) {
			continue;
		}
		in[i] = true;
		count++;
		for (size_t k = 0; k < top; k++) {
			in[pending[k]] = true;
		}
		count += top;
		top = 0;
	}
	*n = count;
}

static int item_cmp(const void *a, const void *b)
{
	const nsec3_item_t *x = a, *y = b;
	int c = memcmp(x->hash, y->hash, NSEC3_HASH_LEN);
	if (c != 0) {
		return c;
	}
	return x->entry < y->entry ? -1 : (x->entry > y->entry ? 1 : 0);
}

/* The node of one NSEC3 record: owner from hash, next hashed owner next. */
static int nsec3_node(const zone_t *z, const nsec3_params_t *p, uint32_t ttl,
                      const nsec3_item_t *item, const uint8_t *next, uint16_t *types, size_t cap,
                      zone_node_t **out)
{
	uint8_t owner[DNAME_MAXLEN];
	uint8_t rdata[5 + 255 + 1 + NSEC3_HASH_LEN + NSEC_BITMAP_MAXLEN];
	size_t owner_len = 0, ntypes = 0, blen = 0, pos = 0;
	int ret = nsec3_owner(item->hash, z->apex, owner, &owner_len);
	if (ret != NSEC_OK) {
		return ret;
	}
	if ((ret = nsec_types(zone_entry(z, item->entry), NSEC_KIND_NSEC3, types, cap, &ntypes)) !=
	    NSEC_OK) {
		return ret;
	}
	rdata[pos++] = NSEC3_ALG_SHA1;
	rdata[pos++] = p->opt_out ? NSEC3_FLAG_OPT_OUT : 0;
	rdata[pos++] = (uint8_t)(p->iterations >> 8);
	rdata[pos++] = (uint8_t)p->iterations;
	rdata[pos++] = p->salt_len;
	memcpy(rdata + pos, p->salt, p->salt_len);
	pos += p->salt_len;
	rdata[pos++] = NSEC3_HASH_LEN;
	memcpy(rdata + pos, next, NSEC3_HASH_LEN);
	pos += NSEC3_HASH_LEN;
	if ((ret = nsec_bitmap_encode(types, ntypes, rdata + pos, sizeof(rdata) - pos, &blen)) !=
	    NSEC_OK) {
		return ret;
	}
	zone_rdata_t rd = {rdata, (uint16_t)(pos + blen)};
	zone_rrset_t *rrset = NULL;
	if ((ret = zone_rrset_new(ZONE_TYPE_NSEC3, ttl, &rd, 1, &rrset)) != ZONE_OK) {
		return ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : NSEC_ERR_TOO_BIG;
	}
	zone_slot_t slot = {rrset, NULL};
	ret = zone_node_new(owner, &slot, 1, out);
	zone_rrset_unref(rrset);
	return ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : ret;
}

int nsec3_chain(const zone_t *z, const nsec3_params_t *p, uint32_t ttl, nsec3_item_t *items,
                size_t n, zone_node_t ***nodes, nsec3_collision_t *collision)
{
	if (n > 1) {
		qsort(items, n, sizeof(*items), item_cmp);
	}
	size_t maxslots = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && memcmp(items[i - 1].hash, items[i].hash, NSEC3_HASH_LEN) == 0) {
			if (collision != NULL) {
				const uint8_t *a = zone_entry(z, items[i - 1].entry)->node->owner;
				const uint8_t *b = zone_entry(z, items[i].entry)->node->owner;
				memcpy(collision->name1, a, dname_length(a));
				memcpy(collision->name2, b, dname_length(b));
			}
			return NSEC_ERR_COLLISION;
		}
		const zone_node_t *node = zone_entry(z, items[i].entry)->node;
		if (node->nslots > maxslots) {
			maxslots = node->nslots;
		}
	}
	zone_node_t **made = malloc((n + 1) * sizeof(*made));
	uint16_t *types = malloc((maxslots + 2) * sizeof(*types));
	size_t k = 0;
	int ret = NSEC_ERR_NOMEM;
	if (made == NULL || types == NULL) {
		goto fail;
	}
	for (k = 0; k < n; k++) {
		const uint8_t *next = items[k + 1 < n ? k + 1 : 0].hash;
		ret = nsec3_node(z, p, ttl, &items[k], next, types, maxslots + 2, &made[k]);
		if (ret != NSEC_OK) {
			goto fail;
		}
	}
	free(types);
	*nodes = made;
	return NSEC_OK;
fail:
	for (size_t i = 0; i < k; i++) {
		zone_node_unref(made[i]);
	}
	free(made);
	free(types);
	return ret;
}

/* The apex of z with the NSEC3PARAM RRset rdata (TTL NSEC3_PARAM_TTL) and
 * without NSEC and NSEC3, in *out; NULL in *out if it is so already. */
static int apex_node(const zone_node_t *apex, const uint8_t *rdata, size_t len, zone_node_t **out)
{
	*out = NULL;
	const zone_slot_t *s = zone_node_find(apex, ZONE_TYPE_NSEC3PARAM);
	zone_rdata_t rd = {rdata, (uint16_t)len};
	zone_rrset_t *rrset = NULL;
	int ret = zone_rrset_new(ZONE_TYPE_NSEC3PARAM, NSEC3_PARAM_TTL, &rd, 1, &rrset);
	if (ret != ZONE_OK) {
		return NSEC_ERR_NOMEM;
	}
	bool same = s != NULL && zone_rrset_equal(s->data, rrset);
	if (same && zone_node_find(apex, ZONE_TYPE_NSEC) == NULL &&
	    zone_node_find(apex, ZONE_TYPE_NSEC3) == NULL) {
		zone_rrset_unref(rrset);
		return NSEC_OK;
	}
	zone_node_t *a = NULL, *b = NULL;
	if ((ret = zone_node_without(apex, ZONE_TYPE_NSEC, &a)) == ZONE_OK &&
	    (ret = zone_node_without(a, ZONE_TYPE_NSEC3, &b)) == ZONE_OK) {
		if (same) {
			*out = zone_node_ref(b);
		} else {
			ret = zone_node_with(b, (zone_slot_t){rrset, NULL}, out);
		}
	}
	zone_node_unref(b);
	zone_node_unref(a);
	zone_rrset_unref(rrset);
	return ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : ret;
}

/* The version z with the apex NSEC3PARAM and without NSEC/NSEC3 RRsets. */
static int base_version(const zone_t *z, const nsec3_params_t *p, zone_t **out)
{
	uint8_t rdata[5 + 255];
	rdata[0] = NSEC3_ALG_SHA1;
	rdata[1] = 0; /* NSEC3PARAM flags stay 0, with opt-out too */
	rdata[2] = (uint8_t)(p->iterations >> 8);
	rdata[3] = (uint8_t)p->iterations;
	rdata[4] = p->salt_len;
	memcpy(rdata + 5, p->salt, p->salt_len);
	zone_node_t **changed = malloc(z->count * sizeof(*changed));
	size_t nchanged = 0;
	int ret = NSEC_ERR_NOMEM;
	if (changed == NULL) {
		goto fail;
	}
	zone_node_t *apex = NULL;
	if ((ret = apex_node(zone_entry(z, 0)->node, rdata, 5u + p->salt_len, &apex)) != NSEC_OK) {
		goto fail;
	}
	if (apex != NULL) {
		changed[nchanged++] = apex;
	}
	for (size_t i = 1; i < z->count; i++) {
		zone_node_t *cur = zone_entry(z, i)->node;
		static const uint16_t gone[] = {ZONE_TYPE_NSEC, ZONE_TYPE_NSEC3};
		zone_node_t *node = zone_node_ref(cur);
		for (size_t g = 0; g < 2; g++) {
			if (zone_node_find(node, gone[g]) == NULL) {
				continue;
			}
			zone_node_t *next = NULL;
			ret = zone_node_without(node, gone[g], &next);
			zone_node_unref(node);
			if (ret != ZONE_OK) {
				ret = ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : ret;
				goto fail;
			}
			node = next;
		}
		if (node != cur) {
			changed[nchanged++] = node;
		} else {
			zone_node_unref(node);
		}
	}
	ret = zone_replace(z, changed, nchanged, out, NULL);
	free(changed);
	return ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : ret;
fail:
	for (size_t i = 0; i < nchanged; i++) {
		zone_node_unref(changed[i]);
	}
	free(changed);
	return ret;
}

/* Puts in nodes (sorted by owner) the NSEC3 nodes of old that are equal to
 * the new ones, so that their RRSIGs carry over. */
static void reuse_nodes(zone_node_t **nodes, size_t n, const zone_t *z)
{
	size_t i = 0, j = 0, nold = z->nsec3_count;
	while (i < n && j < nold) {
		zone_node_t *o = zone_nsec3_node(z, j);
		int c = dname_canonical_cmp(nodes[i]->owner, o->owner);
		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			const zone_slot_t *a = zone_node_find(nodes[i], ZONE_TYPE_NSEC3);
			const zone_slot_t *b = zone_node_find(o, ZONE_TYPE_NSEC3);
			if (o->nslots == 1 && b != NULL && zone_rrset_equal(a->data, b->data)) {
				zone_node_unref(nodes[i]);
				nodes[i] = zone_node_ref(o);
			}
			i++;
			j++;
		}
	}
}

int nsec3_build(const zone_t *z, const nsec3_params_t *p, zone_t **out,
                nsec3_collision_t *collision)
{
	if (p->iterations > NSEC3_MAX_ITERATIONS) {
		return NSEC_ERR_ITERATIONS;
	}
	uint32_t ttl = 0;
	int ret = nsec_ttl(z, &ttl);
	if (ret != NSEC_OK) {
		return ret;
	}
	if (1 + NSEC3_LABEL_LEN + z->apex_len > DNAME_MAXLEN) {
		return NSEC_ERR_NAME_TOO_LONG;
	}
	nsec3_hasher_t *h = NULL;
	zone_t *nz = NULL;
	bool *in = NULL;
	nsec3_item_t *items = NULL;
	zone_node_t **nodes = NULL;
	size_t n = 0;
	if ((ret = nsec3_hasher_new(p, &h)) != NSEC_OK ||
	    (ret = base_version(z, p, &nz)) != NSEC_OK) {
		goto fail;
	}
	ret = NSEC_ERR_NOMEM;
	if ((in = malloc(nz->count * sizeof(*in))) == NULL) {
		goto fail;
	}
	nsec3_select(nz, p->opt_out, in, &n);
	if ((items = malloc((n + 1) * sizeof(*items))) == NULL) {
		goto fail;
	}
	for (size_t i = 0, k = 0; i < nz->count; i++) {
		if (!in[i]) {
			continue;
		}
		items[k].entry = (uint32_t)i;
		if ((ret = nsec3_hasher_hash(h, zone_entry(nz, i)->node->owner, items[k].hash)) !=
		    NSEC_OK) {
			goto fail;
		}
		k++;
	}
	if ((ret = nsec3_chain(nz, p, ttl, items, n, &nodes, collision)) != NSEC_OK) {
		goto fail;
	}
	reuse_nodes(nodes, n, z);
	if ((ret = zone_set_nsec3(nz, nodes, n)) != ZONE_OK) {
		ret = ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : ret;
		goto fail;
	}
	*out = nz;
	nz = NULL;
	ret = NSEC_OK;
fail:
	free(nodes);
	free(items);
	free(in);
	zone_free(nz);
	nsec3_hasher_free(h);
	return ret;
}

/* Whether name i belongs in the chain (nsec3_select() for one name): with
 * opt-out, empty non-terminals count only if a name in the chain is below. */
static bool in_chain(const zone_t *z, size_t i, bool opt_out)
{
	const zone_entry_t *e = zone_entry(z, i);
	if (e->flags & ZONE_NAME_OCCLUDED) {
		return false;
	}
	if (nsec_has_data(e->node)) {
		return !opt_out || !(e->flags & ZONE_NAME_CUT) ||
		       zone_node_find(e->node, ZONE_TYPE_DS) != NULL;
	}
	if (!opt_out) {
		return true;
	}
	for (size_t j = i + 1; j < z->count; j++) {
		const zone_entry_t *d = zone_entry(z, j);
		if (!dname_is_subdomain(d->node->owner, e->node->owner)) {
			break;
		}
		if (!(d->flags & ZONE_NAME_OCCLUDED) && nsec_has_data(d->node) &&
		    (!(d->flags & ZONE_NAME_CUT) ||
		     zone_node_find(d->node, ZONE_TYPE_DS) != NULL)) {
			return true;
		}
	}
	return false;
}

/* Where the next hashed owner sits in an NSEC3 RDATA, or 0 if malformed. */
static size_t next_offset(const zone_rdata_t *rd)
{
	if (rd->len < 5) {
		return 0;
	}
	size_t pos = 5u + rd->data[4];
	if (pos + 1 + NSEC3_HASH_LEN > rd->len || rd->data[pos] != NSEC3_HASH_LEN) {
		return 0;
	}
	return pos + 1;
}

/* The NSEC3 node at index k of z with its next hashed owner set to that of
 * the node after it, in *out (NULL when it has it already). orig (may be
 * NULL) is the version the chain was whole in: a node equal to its node of
 * that owner is that node, RRSIGs included. */
static int link_node(const zone_t *z, size_t k, const zone_t *orig, zone_node_t **out)
{
	*out = NULL;
	const zone_node_t *node = zone_nsec3_node(z, k);
	const zone_node_t *after = zone_nsec3_node(z, k + 1 < z->nsec3_count ? k + 1 : 0);
	uint8_t next[NSEC3_HASH_LEN];
	const zone_slot_t *s = zone_node_find(node, ZONE_TYPE_NSEC3);
	zone_rdata_t rd;
	size_t pos = 0, off = 0;
	if (s == NULL || !nsec3_owner_hash(after->owner, next) ||
	    !zone_rrset_next(s->data, &pos, &rd) || (off = next_offset(&rd)) == 0) {
		return NSEC_ERR_TOO_BIG; /* not one of ours */
	}
	uint8_t buf[65535];
	memcpy(buf, rd.data, rd.len);
	memcpy(buf + off, next, NSEC3_HASH_LEN);
	zone_rdata_t nrd = {buf, rd.len};
	size_t i = 0;
	if (orig != NULL && zone_find_nsec3(orig, node->owner, &i)) {
		zone_node_t *o = zone_nsec3_node(orig, i);
		const zone_slot_t *os = zone_node_find(o, ZONE_TYPE_NSEC3);
		zone_rdata_t ord;
		size_t opos = 0;
		if (o->nslots == 1 && os != NULL && os->data->count == 1 &&
		    os->data->ttl == s->data->ttl && zone_rrset_next(os->data, &opos, &ord) &&
		    ord.len == nrd.len && memcmp(ord.data, nrd.data, nrd.len) == 0) {
			*out = o != node ? zone_node_ref(o) : NULL;
			return NSEC_OK;
		}
	}
	if (memcmp(rd.data + off, next, NSEC3_HASH_LEN) == 0 && s->sigs == NULL) {
		return NSEC_OK;
	}
	zone_rrset_t *rrset = NULL;
	int ret = zone_rrset_new(ZONE_TYPE_NSEC3, s->data->ttl, &nrd, 1, &rrset);
	if (ret == ZONE_OK) {
		zone_slot_t slot = {rrset, NULL};
		ret = zone_node_new(node->owner, &slot, 1, out);
		zone_rrset_unref(rrset);
	}
	return ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : ret;
}

typedef struct {
	zone_node_t **v;
	size_t n, cap;
} nodes_t;

static int owner_cmp(const void *a, const void *b)
{
	return dname_canonical_cmp((*(zone_node_t *const *)a)->owner,
	                           (*(zone_node_t *const *)b)->owner);
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

static int nodes_push(nodes_t *l, zone_node_t *node)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		zone_node_t **v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL) {
			zone_node_unref(node);
			return NSEC_ERR_NOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = node;
	return NSEC_OK;
}

static void nodes_free(nodes_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		zone_node_unref(l->v[i]);
	}
	free(l->v);
}

/* Step one of nsec3_update: the node each name should have (its next
 * hashed owner still unset: its own hash), or an empty node removing it. */
static int put_names(const zone_t *z, const nsec3_params_t *p, uint32_t ttl,
                     const zone_names_t *names, nsec3_hasher_t *h, nodes_t *put,
                     nsec3_collision_t *collision)
{
	int ret = NSEC_OK;
	for (size_t k = 0; k < names->n && ret == NSEC_OK; k++) {
		/* The name, and with opt-out its ancestors (whether an empty
		 * non-terminal leads to a secure name may have changed). */
		for (const uint8_t *name = names->names[k]; name != NULL && ret == NSEC_OK;
		     name = p->opt_out && !dname_equal(name, z->apex) ? dname_parent(name) : NULL) {
			nsec3_item_t item;
			uint8_t owner[DNAME_MAXLEN];
			size_t owner_len = 0, i = 0, at = 0;
			if ((ret = nsec3_hasher_hash(h, name, item.hash)) != NSEC_OK ||
			    (ret = nsec3_owner(item.hash, z->apex, owner, &owner_len)) != NSEC_OK) {
				break;
			}
			bool want = zone_find(z, name, &i) && in_chain(z, i, p->opt_out);
			bool have = zone_find_nsec3(z, owner, &at);
			zone_node_t *node = NULL;
			if (want) {
				item.entry = (uint32_t)i;
				size_t cap = zone_entry(z, i)->node->nslots + 2u;
				uint16_t *types = malloc(cap * sizeof(*types));
				ret = types == NULL ? NSEC_ERR_NOMEM
				                    : nsec3_node(z, p, ttl, &item, item.hash, types,
				                                 cap, &node);
				free(types);
			} else if (have) {
				ret = zone_node_new(owner, NULL, 0, &node);
				ret = ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : ret;
			}
			if (ret == NSEC_OK && node != NULL) {
				ret = nodes_push(put, node);
			}
		}
	}
	if (ret != NSEC_OK) {
		return ret;
	}
	/* One node per owner: the same name twice gives the same node; two
	 * names with one hash are a collision. */
	qsort(put->v, put->n, sizeof(*put->v), owner_cmp);
	size_t w = 0, n = put->n;
	for (size_t k = 0; k < n; k++) {
		if (w == 0 || !dname_equal(put->v[w - 1]->owner, put->v[k]->owner)) {
			put->v[w++] = put->v[k];
			continue;
		}
		const zone_slot_t *a = zone_node_find(put->v[w - 1], ZONE_TYPE_NSEC3);
		const zone_slot_t *b = zone_node_find(put->v[k], ZONE_TYPE_NSEC3);
		bool same = (a == NULL) == (b == NULL) &&
		            (a == NULL || zone_rrset_equal(a->data, b->data));
		if (!same && ret == NSEC_OK) {
			ret = NSEC_ERR_COLLISION;
			if (collision != NULL) {
				const uint8_t *o = put->v[k]->owner;
				memcpy(collision->name1, o, dname_length(o));
				memcpy(collision->name2, o, dname_length(o));
			}
		}
		zone_node_unref(put->v[k]);
	}
	put->n = w;
	return ret;
}

int nsec3_update(const zone_t *z, const nsec3_params_t *p, const zone_names_t *names, zone_t **out,
                 zone_names_t *changed, nsec3_collision_t *collision)
{
	uint32_t ttl = 0;
	int ret = nsec_ttl(z, &ttl);
	if (ret != NSEC_OK) {
		return ret;
	}
	nsec3_hasher_t *h = NULL;
	nodes_t put = {0}, link = {0};
	zone_t *za = NULL;
	if ((ret = nsec3_hasher_new(p, &h)) != NSEC_OK ||
	    (ret = put_names(z, p, ttl, names, h, &put, collision)) != NSEC_OK) {
		goto done;
	}
	/* The owners touched: their nodes and their predecessors relink. */
	zone_names_t owners = {0};
	for (size_t k = 0; k < put.n && ret == NSEC_OK; k++) {
		ret = zone_names_add(&owners, put.v[k]->owner);
		if (ret == NSEC_OK && changed != NULL) {
			ret = zone_names_add(changed, put.v[k]->owner);
		}
	}
	if (ret != NSEC_OK ||
	    (ret = zone_update(z, NULL, 0, put.v, put.n, &za, NULL, NULL)) != ZONE_OK) {
		put.n = ret == NSEC_OK ? put.n : 0;
		zone_names_deinit(&owners);
		ret = ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : ret;
		goto done;
	}
	put.n = 0; /* taken over */
	/* Step two: every node made, and the one before each change, gets the
	 * right next hashed owner. */
	size_t *at = malloc((2 * owners.n + 1) * sizeof(*at));
	size_t nat = 0;
	ret = at != NULL ? NSEC_OK : NSEC_ERR_NOMEM;
	for (size_t k = 0; k < owners.n && ret == NSEC_OK && za->nsec3_count > 0; k++) {
		size_t i = 0;
		if (zone_find_nsec3(za, owners.names[k], &i)) {
			at[nat++] = i;
		}
		at[nat++] = i == 0 ? za->nsec3_count - 1 : i - 1;
	}
	zone_names_deinit(&owners);
	if (at != NULL) {
		qsort(at, nat, sizeof(*at), size_cmp);
	}
	for (size_t k = 0; k < nat && ret == NSEC_OK; k++) {
		if (k > 0 && at[k] == at[k - 1]) {
			continue;
		}
		zone_node_t *node = NULL;
		ret = link_node(za, at[k], z, &node);
		if (node == NULL) {
			continue;
		}
		if (ret == NSEC_OK && changed != NULL) {
			ret = zone_names_add(changed, node->owner);
		}
		if (ret == NSEC_OK) {
			ret = nodes_push(&link, node); /* drops node on failure */
		} else {
			zone_node_unref(node);
		}
	}
	free(at);
	if (ret == NSEC_OK) {
		ret = zone_update(za, NULL, 0, link.v, link.n, out, NULL, NULL);
		link.n = 0;
		ret = ret == ZONE_ERR_NOMEM ? NSEC_ERR_NOMEM : ret;
	}
done:
	zone_free(za);
	nodes_free(&put);
	nodes_free(&link);
	nsec3_hasher_free(h);
	return ret;
}
