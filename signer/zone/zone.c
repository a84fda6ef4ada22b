#include "signer/zone/zone.h"

#include <stdlib.h>
#include <string.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"

static int node_cmp(const void *a, const void *b)
{
	const zone_node_t *x = *(zone_node_t *const *)a, *y = *(zone_node_t *const *)b;
	return dname_canonical_cmp(x->owner, y->owner);
}

/* Sorts nodes canonically unless they already are (loaders and the signer
 * hand them over in order: a linear check saves the sort). */
static void sort_nodes(zone_node_t **nodes, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		if (dname_canonical_cmp(nodes[i - 1]->owner, nodes[i]->owner) > 0) {
			qsort(nodes, n, sizeof(*nodes), node_cmp);
			return;
		}
	}
}

/* Offsets of a name's labels, from the left; returns the count (no root). */
static int label_offsets(const uint8_t *name, uint8_t *offs)
{
	int n = 0;
	for (size_t p = 0; name[p] != 0; p += 1u + name[p]) {
		offs[n++] = (uint8_t)p;
	}
	return n;
}

static bool label_eq(const uint8_t *a, const uint8_t *b)
{
	if (a[0] != b[0]) {
		return false;
	}
	for (size_t i = 1; i <= a[0]; i++) {
		uint8_t x = a[i], y = b[i];
		x = (x >= 'A' && x <= 'Z') ? (uint8_t)(x + 32) : x;
		y = (y >= 'A' && y <= 'Z') ? (uint8_t)(y + 32) : y;
		if (x != y) {
			return false;
		}
	}
	return true;
}

/* Number of labels two names share from the right. */
static int common_labels(const uint8_t *a, const uint8_t *b)
{
	uint8_t oa[DNAME_MAXLABELS + 1], ob[DNAME_MAXLABELS + 1];
	int na = label_offsets(a, oa), nb = label_offsets(b, ob);
	int k = 0;
	while (k < na && k < nb && label_eq(a + oa[na - 1 - k], b + ob[nb - 1 - k])) {
		k++;
	}
	return k;
}

typedef struct {
	zone_entry_t *v;
	size_t n, cap;
} entries_t;

static int push(entries_t *e, zone_node_t *node)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		zone_entry_t *v = realloc(e->v, cap * sizeof(*v));
		if (v == NULL) {
			return ZONE_ERR_NOMEM;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = (zone_entry_t){node, 0};
	return ZONE_OK;
}

/* Adds the empty non-terminals between prev and cur (ancestors of cur
 * that are not ancestors of prev), shortest first. In canonical order the
 * missing ancestors of cur are exactly those. */
static int add_ents(entries_t *e, const uint8_t *prev, const uint8_t *cur, int apex_labels)
{
	uint8_t offs[DNAME_MAXLABELS + 1];
	int n = label_offsets(cur, offs);
	int common = prev != NULL ? common_labels(prev, cur) : apex_labels - 1;
	if (common < apex_labels - 1) {
		common = apex_labels - 1;
	}
	/* Ancestors with common+1 .. n-1 labels. */
	for (int labels = common + 1; labels < n; labels++) {
		zone_node_t *ent = NULL;
		int ret = zone_node_new(cur + offs[n - labels], NULL, 0, &ent);
		if (ret == ZONE_OK) {
			ret = push(e, ent);
		}
		if (ret != ZONE_OK) {
			zone_node_unref(ent);
			return ret;
		}
	}
	return ZONE_OK;
}

static void set_flags(zone_t *z)
{
	const uint8_t *occ = NULL; /* the cut or DNAME whose descendants are occluded */
	for (size_t i = 0; i < z->count; i++) {
		zone_entry_t *e = &z->entries[i];
		const zone_node_t *node = e->node;
		uint16_t f = 0;
		if (i == 0) {
			f |= ZONE_NAME_APEX;
		}
		if (occ != NULL && dname_is_subdomain(node->owner, occ)) {
			f |= ZONE_NAME_OCCLUDED;
		} else {
			occ = NULL;
		}
		if (node->nslots == 0) {
			f |= ZONE_NAME_ENT;
		}
		if (dname_is_wildcard(node->owner)) {
			f |= ZONE_NAME_WILDCARD;
		}
		if (!(f & ZONE_NAME_OCCLUDED)) {
			if (!(f & ZONE_NAME_APEX) && zone_node_find(node, ZONE_TYPE_NS) != NULL) {
				f |= ZONE_NAME_CUT;
				occ = node->owner;
			}
			if (zone_node_find(node, ZONE_TYPE_DNAME) != NULL) {
				f |= ZONE_NAME_DNAME;
				occ = node->owner;
			}
		}
		e->flags = f;
	}
}

static void unref_all(zone_node_t **nodes, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++) {
		zone_node_unref(nodes[i]);
	}
}

/* Builds a version from nodes in canonical order (sorted by the caller). */
static int build(const uint8_t *apex, zone_node_t **nodes, size_t n, zone_t **out, uint8_t *bad)
{
	size_t apex_len = dname_length(apex);
	int apex_labels = dname_labels(apex) + 1; /* counting the root */
	zone_t *z = calloc(1, sizeof(*z));
	entries_t e = {0};
	int ret = ZONE_ERR_NOMEM;
	size_t i = 0;
	if (z == NULL || (z->apex = malloc(apex_len)) == NULL) {
		goto fail;
	}
	memcpy(z->apex, apex, apex_len);
	z->apex_len = apex_len;
	if (n == 0 || !dname_equal(nodes[0]->owner, apex)) {
		/* No node at the apex: the apex is an empty non-terminal. */
		zone_node_t *a = NULL;
		if ((ret = zone_node_new(apex, NULL, 0, &a)) != ZONE_OK ||
		    (ret = push(&e, a)) != ZONE_OK) {
			zone_node_unref(a);
			goto fail;
		}
	}
	const uint8_t *prev = NULL;
	for (i = 0; i < n; i++) {
		const uint8_t *cur = nodes[i]->owner;
		if (!dname_is_subdomain(cur, apex)) {
			ret = ZONE_ERR_OUT_OF_ZONE;
			goto bad_name;
		}
		if (prev != NULL && dname_equal(prev, cur)) {
			ret = ZONE_ERR_DUPLICATE_NAME;
			goto bad_name;
		}
		if (!dname_equal(cur, apex) &&
		    (ret = add_ents(&e, prev, cur, apex_labels)) != ZONE_OK) {
			goto fail;
		}
		if ((ret = push(&e, nodes[i])) != ZONE_OK) {
			goto fail;
		}
		prev = cur;
	}
	z->entries = e.v;
	z->count = e.n;
	set_flags(z);
	*out = z;
	return ZONE_OK;
bad_name:
	if (bad != NULL) {
		memcpy(bad, nodes[i]->owner, dname_length(nodes[i]->owner));
	}
fail:
	for (size_t k = 0; k < e.n; k++) {
		zone_node_unref(e.v[k].node);
	}
	free(e.v);
	unref_all(nodes, i, n);
	if (z != NULL) {
		free(z->apex);
		free(z);
	}
	return ret;
}

int zone_new(const uint8_t *apex, zone_node_t **nodes, size_t n, zone_t **out, uint8_t *bad)
{
	sort_nodes(nodes, n);
	return build(apex, nodes, n, out, bad);
}

int zone_replace(const zone_t *z, zone_node_t **changed, size_t n, zone_t **out, uint8_t *bad)
{
	sort_nodes(changed, n);
	zone_node_t **merged = malloc((z->count + n + 1) * sizeof(*merged));
	if (merged == NULL) {
		unref_all(changed, 0, n);
		return ZONE_ERR_NOMEM;
	}
	size_t m = 0, i = 0, j = 0;
	while (i < z->count || j < n) {
		int c;
		if (i == z->count) {
			c = 1;
		} else if (j == n) {
			c = -1;
		} else {
			c = dname_canonical_cmp(z->entries[i].node->owner, changed[j]->owner);
		}
		if (c < 0) {
			/* Empty non-terminals are made again by build(). */
			if (!(z->entries[i].flags & ZONE_NAME_ENT) ||
			    (z->entries[i].flags & ZONE_NAME_APEX)) {
				if (z->entries[i].node->nslots > 0) {
					merged[m++] = zone_node_ref(z->entries[i].node);
				}
			}
			i++;
			continue;
		}
		if (c == 0) {
			i++; /* replaced */
		}
		if (changed[j]->nslots > 0) {
			merged[m++] = changed[j];
		} else {
			zone_node_unref(changed[j]); /* the name goes away */
		}
		j++;
	}
	int ret = build(z->apex, merged, m, out, bad);
	free(merged);
	return ret;
}

int zone_set_nsec3(zone_t *z, zone_node_t **nodes, size_t n)
{
	zone_node_t **copy = malloc((n + 1) * sizeof(*copy));
	if (copy == NULL) {
		unref_all(nodes, 0, n);
		return ZONE_ERR_NOMEM;
	}
	if (n > 0) {
		memcpy(copy, nodes, n * sizeof(*copy));
	}
	sort_nodes(copy, n);
	unref_all(z->nsec3, 0, z->nsec3_count);
	free(z->nsec3);
	z->nsec3 = copy;
	z->nsec3_count = n;
	return ZONE_OK;
}

bool zone_find(const zone_t *z, const uint8_t *name, size_t *index)
{
	size_t lo = 0, hi = z->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = dname_canonical_cmp(z->entries[mid].node->owner, name);
		if (c == 0) {
			*index = mid;
			return true;
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	*index = lo;
	return false;
}

const zone_rrset_t *zone_apex_rrset(const zone_t *z, uint16_t type)
{
	if (z->count == 0) {
		return NULL;
	}
	const zone_slot_t *s = zone_node_find(z->entries[0].node, type);
	return s != NULL ? s->data : NULL;
}

bool zone_is_signed(const zone_entry_t *e, uint16_t type)
{
	if (e->flags & (ZONE_NAME_OCCLUDED | ZONE_NAME_ENT)) {
		return false;
	}
	if (e->flags & ZONE_NAME_CUT) {
		return type == ZONE_TYPE_DS || type == ZONE_TYPE_NSEC;
	}
	return type != ZONE_TYPE_RRSIG;
}

void zone_free(zone_t *z)
{
	if (z == NULL) {
		return;
	}
	for (size_t i = 0; i < z->count; i++) {
		zone_node_unref(z->entries[i].node);
	}
	unref_all(z->nsec3, 0, z->nsec3_count);
	free(z->nsec3);
	free(z->entries);
	free(z->apex);
	free(z);
}
