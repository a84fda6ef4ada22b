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

/* Flags of a node at index i, given the name that occludes it (NULL: none). */
static uint16_t node_flags(const zone_node_t *node, bool apex, bool occluded)
{
	uint16_t f = 0;
	if (apex) {
		f |= ZONE_NAME_APEX;
	}
	if (occluded) {
		f |= ZONE_NAME_OCCLUDED;
	}
	if (node->nslots == 0) {
		f |= ZONE_NAME_ENT;
	}
	if (dname_is_wildcard(node->owner)) {
		f |= ZONE_NAME_WILDCARD;
	}
	if (!occluded) {
		if (!apex && zone_node_find(node, ZONE_TYPE_NS) != NULL) {
			f |= ZONE_NAME_CUT;
		}
		if (zone_node_find(node, ZONE_TYPE_DNAME) != NULL) {
			f |= ZONE_NAME_DNAME;
		}
	}
	return f;
}

static void set_flags(zone_entry_t *v, size_t n)
{
	const uint8_t *occ = NULL; /* the cut or DNAME whose descendants are occluded */
	for (size_t i = 0; i < n; i++) {
		const zone_node_t *node = v[i].node;
		bool occluded = occ != NULL && dname_is_subdomain(node->owner, occ);
		if (!occluded) {
			occ = NULL;
		}
		v[i].flags = node_flags(node, i == 0, occluded);
		if (v[i].flags & (ZONE_NAME_CUT | ZONE_NAME_DNAME)) {
			occ = node->owner;
		}
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
	set_flags(e.v, e.n);
	ret = zone_seq_from_array(&z->names, e.v, e.n);
	free(e.v);
	e.v = NULL;
	e.n = 0;
	if (ret != ZONE_OK) {
		goto fail;
	}
	z->count = z->names.count;
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

/* The whole-zone way: a merge of z's nodes and the changes, then build(). */
static int replace_all(const zone_t *z, zone_node_t **changed, size_t n, zone_t **out, uint8_t *bad)
{
	zone_node_t **merged = malloc((z->count + n + 1) * sizeof(*merged));
	if (merged == NULL) {
		unref_all(changed, 0, n);
		return ZONE_ERR_NOMEM;
	}
	size_t m = 0, i = 0, j = 0;
	while (i < z->count || j < n) {
		const zone_entry_t *e = i < z->count ? zone_entry(z, i) : NULL;
		int c;
		if (i == z->count) {
			c = 1;
		} else if (j == n) {
			c = -1;
		} else {
			c = dname_canonical_cmp(e->node->owner, changed[j]->owner);
		}
		if (c < 0) {
			/* Empty non-terminals are made again by build(). */
			if (e->node->nslots > 0) {
				merged[m++] = zone_node_ref(e->node);
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

static bool seq_find(const zone_seq_t *s, const uint8_t *name, size_t *index)
{
	/* The chunk first (by its first name), then within it. */
	size_t lo = 0, hi = s->nchunks;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (dname_canonical_cmp(s->chunks[mid]->e[0].node->owner, name) <= 0) {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	if (s->nchunks == 0) {
		*index = 0;
		return false;
	}
	const zone_seq_chunk_t *c = s->chunks[lo];
	size_t a = 0, b = c->count;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		int cmp = dname_canonical_cmp(c->e[mid].node->owner, name);
		if (cmp == 0) {
			*index = s->starts[lo] + mid;
			return true;
		}
		if (cmp < 0) {
			a = mid + 1;
		} else {
			b = mid;
		}
	}
	*index = s->starts[lo] + a;
	return false;
}

int zone_names_add(zone_names_t *l, const uint8_t *name)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		uint8_t(*v)[DNAME_MAXLEN] = realloc(l->names, cap * sizeof(*v));
		if (v == NULL) {
			return ZONE_ERR_NOMEM;
		}
		l->names = v;
		l->cap = cap;
	}
	memcpy(l->names[l->n++], name, dname_length(name));
	return ZONE_OK;
}

void zone_names_deinit(zone_names_t *l)
{
	free(l->names);
	memset(l, 0, sizeof(*l));
}

static int names_cmp(const void *a, const void *b)
{
	return dname_canonical_cmp(a, b);
}

/* Whether entry i + 1 of s is below name (i is name's place or where it
 * would be). */
static bool has_descendant(const zone_seq_t *s, size_t next, const uint8_t *name)
{
	return next < s->count && dname_is_subdomain(zone_seq_at(s, next)->node->owner, name);
}

/* Puts node in s (a name of the zone at apex), making the missing
 * ancestors as empty non-terminals, or takes its name out when it has no
 * slots (removing ancestors left empty). */
static int edit_name(zone_seq_t *s, const uint8_t *apex, zone_node_t *node, zone_names_t *dirty)
{
	size_t i = 0;
	bool found = seq_find(s, node->owner, &i);
	int ret = zone_names_add(dirty, node->owner);
	if (ret != ZONE_OK) {
		zone_node_unref(node);
		return ret;
	}
	bool is_apex = dname_equal(node->owner, apex);
	if (node->nslots > 0 || is_apex) {
		if (found) {
			/* The old flags stay until the flags pass compares. */
			return zone_seq_set(s, i, (zone_entry_t){node, zone_seq_at(s, i)->flags});
		}
		ret = zone_seq_insert(s, i, (zone_entry_t){node, 0});
		/* Ancestors, up to the first one present (its own are). */
		for (const uint8_t *a = dname_parent(node->owner);
		     ret == ZONE_OK && a != NULL && !dname_equal(a, apex); a = dname_parent(a)) {
			if (seq_find(s, a, &i)) {
				break;
			}
			zone_node_t *ent = NULL;
			if ((ret = zone_node_new(a, NULL, 0, &ent)) == ZONE_OK &&
			    (ret = zone_names_add(dirty, a)) == ZONE_OK) {
				ret = zone_seq_insert(s, i, (zone_entry_t){ent, 0});
			} else {
				zone_node_unref(ent);
			}
		}
		return ret;
	}
	if (!found) {
		zone_node_unref(node);
		return ZONE_OK;
	}
	if (has_descendant(s, i + 1, node->owner)) {
		/* Still the ancestor of other names: an empty non-terminal. */
		if (zone_seq_at(s, i)->node->nslots == 0) {
			zone_node_unref(node);
			return ZONE_OK;
		}
		return zone_seq_set(s, i, (zone_entry_t){node, zone_seq_at(s, i)->flags});
	}
	uint8_t name[DNAME_MAXLEN];
	memcpy(name, node->owner, node->owner_len);
	zone_node_unref(node);
	if ((ret = zone_seq_remove(s, i)) != ZONE_OK) {
		return ret;
	}
	/* Empty non-terminals above it that have nothing below any more. */
	for (const uint8_t *a = dname_parent(name); a != NULL && !dname_equal(a, apex);
	     a = dname_parent(a)) {
		if (!seq_find(s, a, &i) || zone_seq_at(s, i)->node->nslots > 0 ||
		    has_descendant(s, i + 1, a)) {
			break;
		}
		if ((ret = zone_names_add(dirty, a)) != ZONE_OK ||
		    (ret = zone_seq_remove(s, i)) != ZONE_OK) {
			return ret;
		}
	}
	return ZONE_OK;
}

/* Whether a proper ancestor of name (the apex included) is a delegation
 * point or has a DNAME, by the flags now in s. */
static bool occluded_in(const zone_seq_t *s, const uint8_t *name, const uint8_t *apex)
{
	if (dname_equal(name, apex)) {
		return false;
	}
	for (const uint8_t *a = dname_parent(name); a != NULL; a = dname_parent(a)) {
		size_t i = 0;
		if (seq_find(s, a, &i) &&
		    (zone_seq_at(s, i)->flags & (ZONE_NAME_CUT | ZONE_NAME_DNAME))) {
			return true;
		}
		if (dname_equal(a, apex)) {
			break;
		}
	}
	return false;
}

#define SUBTREE_FLAGS (ZONE_NAME_CUT | ZONE_NAME_DNAME | ZONE_NAME_OCCLUDED)

/* Sets the flags of name (if present) from its node and its ancestors, and
 * those of its descendants when what it hides changed. */
static int fix_flags(zone_seq_t *s, const uint8_t *apex, const uint8_t *name, zone_names_t *dirty)
{
	size_t i = 0;
	if (!seq_find(s, name, &i)) {
		return ZONE_OK;
	}
	zone_entry_t e = *zone_seq_at(s, i);
	uint16_t f = node_flags(e.node, i == 0, occluded_in(s, name, apex));
	if (f == e.flags) {
		return ZONE_OK;
	}
	int ret = zone_seq_set(s, i, (zone_entry_t){zone_node_ref(e.node), f});
	if (ret != ZONE_OK || (f & SUBTREE_FLAGS) == (e.flags & SUBTREE_FLAGS)) {
		return ret;
	}
	/* The subtree follows the name in canonical order. */
	const uint8_t *top = zone_seq_at(s, i)->node->owner;
	const uint8_t *occ = (f & SUBTREE_FLAGS) ? top : NULL;
	for (size_t j = i + 1; j < s->count && ret == ZONE_OK; j++) {
		zone_entry_t d = *zone_seq_at(s, j);
		if (!dname_is_subdomain(d.node->owner, top)) {
			break;
		}
		bool occluded = occ != NULL && dname_is_subdomain(d.node->owner, occ);
		if (!occluded) {
			occ = NULL;
		}
		uint16_t df = node_flags(d.node, false, occluded);
		if (df & (ZONE_NAME_CUT | ZONE_NAME_DNAME)) {
			occ = d.node->owner;
		}
		if (df != d.flags) {
			ret = zone_names_add(dirty, d.node->owner);
			if (ret == ZONE_OK) {
				ret = zone_seq_set(s, j, (zone_entry_t){zone_node_ref(d.node), df});
			}
		}
	}
	return ret;
}

static int nsec3_edit(zone_seq_t *s, zone_node_t *node)
{
	size_t i = 0;
	bool found = seq_find(s, node->owner, &i);
	if (node->nslots == 0) {
		zone_node_unref(node);
		return found ? zone_seq_remove(s, i) : ZONE_OK;
	}
	return found ? zone_seq_set(s, i, (zone_entry_t){node, 0})
	             : zone_seq_insert(s, i, (zone_entry_t){node, 0});
}

/* Checks that the sorted nodes are distinct names at or below apex. */
static int check_names(const uint8_t *apex, zone_node_t **nodes, size_t n, uint8_t *bad)
{
	for (size_t i = 0; i < n; i++) {
		int ret = ZONE_OK;
		if (!dname_is_subdomain(nodes[i]->owner, apex)) {
			ret = ZONE_ERR_OUT_OF_ZONE;
		} else if (i > 0 && dname_equal(nodes[i - 1]->owner, nodes[i]->owner)) {
			ret = ZONE_ERR_DUPLICATE_NAME;
		}
		if (ret != ZONE_OK) {
			if (bad != NULL) {
				memcpy(bad, nodes[i]->owner, dname_length(nodes[i]->owner));
			}
			return ret;
		}
	}
	return ZONE_OK;
}

static zone_t *shell(const zone_t *z)
{
	zone_t *r = calloc(1, sizeof(*r));
	if (r == NULL || (r->apex = malloc(z->apex_len)) == NULL) {
		free(r);
		return NULL;
	}
	memcpy(r->apex, z->apex, z->apex_len);
	r->apex_len = z->apex_len;
	return r;
}

int zone_update(const zone_t *z, zone_node_t **changed, size_t n, zone_node_t **nsec3, size_t n3,
                zone_t **out, uint8_t *bad, zone_names_t *dirty)
{
	sort_nodes(changed, n);
	sort_nodes(nsec3, n3);
	zone_names_t own = {0};
	zone_names_t *d = dirty != NULL ? dirty : &own;
	size_t first_dirty = d->n;
	int ret = check_names(z->apex, changed, n, bad);
	size_t i = 0, j = 0;
	zone_t *r = ret == ZONE_OK ? shell(z) : NULL;
	if (ret == ZONE_OK && r == NULL) {
		ret = ZONE_ERR_NOMEM;
	}
	if (ret == ZONE_OK && (ret = zone_seq_copy(&r->names, &z->names)) == ZONE_OK) {
		ret = zone_seq_copy(&r->nsec3, &z->nsec3);
	}
	for (; i < n && ret == ZONE_OK; i++) {
		ret = edit_name(&r->names, z->apex, changed[i], d);
	}
	for (; j < n3 && ret == ZONE_OK; j++) {
		ret = nsec3_edit(&r->nsec3, nsec3[j]);
	}
	if (ret == ZONE_OK && d->n > first_dirty) {
		/* Flags in canonical order: ancestors are final first. */
		qsort(d->names + first_dirty, d->n - first_dirty, sizeof(d->names[0]), names_cmp);
		size_t end = d->n;
		for (size_t k = first_dirty; k < end && ret == ZONE_OK; k++) {
			if (k > first_dirty && dname_equal(d->names[k], d->names[k - 1])) {
				continue;
			}
			uint8_t name[DNAME_MAXLEN];
			memcpy(name, d->names[k], dname_length(d->names[k]));
			ret = fix_flags(&r->names, z->apex, name, d);
		}
	}
	unref_all(changed, i, n);
	unref_all(nsec3, j, n3);
	zone_names_deinit(&own);
	if (ret != ZONE_OK) {
		zone_free(r);
		return ret;
	}
	r->count = r->names.count;
	r->nsec3_count = r->nsec3.count;
	*out = r;
	return ZONE_OK;
}

int zone_replace(const zone_t *z, zone_node_t **changed, size_t n, zone_t **out, uint8_t *bad)
{
	sort_nodes(changed, n);
	if (n > z->count / 8) {
		/* replace_all drops empty nodes before build() checks names. */
		int ret = check_names(z->apex, changed, n, bad);
		if (ret != ZONE_OK) {
			unref_all(changed, 0, n);
			return ret;
		}
		return replace_all(z, changed, n, out, bad);
	}
	int ret = zone_update(z, changed, n, NULL, 0, out, bad, NULL);
	if (ret == ZONE_OK) {
		zone_seq_free(&(*out)->nsec3); /* the chain is rebuilt */
		(*out)->nsec3_count = 0;
	}
	return ret;
}

int zone_changed_names(const zone_t *a, const zone_t *b, size_t limit, zone_names_t *out,
                       bool *over)
{
	*over = false;
	const zone_seq_t *x = &a->names, *y = &b->names;
	size_t kx = 0, ix = 0, ky = 0, iy = 0, added = 0;
	for (;;) {
		while (kx < x->nchunks && ix == x->chunks[kx]->count) {
			kx++;
			ix = 0;
		}
		while (ky < y->nchunks && iy == y->chunks[ky]->count) {
			ky++;
			iy = 0;
		}
		bool mx = kx < x->nchunks, my = ky < y->nchunks;
		if (!mx && !my) {
			return ZONE_OK;
		}
		if (mx && my && ix == 0 && iy == 0 && zone_seq_same_chunk(x, kx, y, ky)) {
			kx++;
			ky++;
			continue;
		}
		const zone_entry_t *ex = mx ? &x->chunks[kx]->e[ix] : NULL;
		const zone_entry_t *ey = my ? &y->chunks[ky]->e[iy] : NULL;
		int c = ex == NULL   ? 1
		        : ey == NULL ? -1
		                     : dname_canonical_cmp(ex->node->owner, ey->node->owner);
		bool same = c == 0 && ex->node == ey->node && ex->flags == ey->flags;
		if (!same) {
			if (added++ == limit) {
				*over = true;
				return ZONE_OK;
			}
			int ret = zone_names_add(out, c <= 0 ? ex->node->owner : ey->node->owner);
			if (ret != ZONE_OK) {
				return ret;
			}
		}
		ix += c <= 0;
		iy += c >= 0;
	}
}

int zone_set_nsec3(zone_t *z, zone_node_t **nodes, size_t n)
{
	zone_entry_t *e = malloc((n + 1) * sizeof(*e));
	if (e == NULL) {
		unref_all(nodes, 0, n);
		return ZONE_ERR_NOMEM;
	}
	sort_nodes(nodes, n);
	for (size_t i = 0; i < n; i++) {
		e[i] = (zone_entry_t){nodes[i], 0};
	}
	zone_seq_free(&z->nsec3);
	z->nsec3_count = 0;
	int ret = zone_seq_from_array(&z->nsec3, e, n);
	free(e);
	z->nsec3_count = z->nsec3.count;
	return ret;
}

bool zone_find(const zone_t *z, const uint8_t *name, size_t *index)
{
	return seq_find(&z->names, name, index);
}

bool zone_find_nsec3(const zone_t *z, const uint8_t *name, size_t *index)
{
	return seq_find(&z->nsec3, name, index);
}

const zone_rrset_t *zone_apex_rrset(const zone_t *z, uint16_t type)
{
	if (z->count == 0) {
		return NULL;
	}
	const zone_slot_t *s = zone_node_find(zone_entry(z, 0)->node, type);
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

void zone_consume(zone_t *z, bool nsec3, size_t i)
{
	zone_seq_release(nsec3 ? &z->nsec3 : &z->names, i);
}

void zone_free(zone_t *z)
{
	if (z == NULL) {
		return;
	}
	zone_seq_free(&z->names);
	zone_seq_free(&z->nsec3);
	free(z->apex);
	free(z);
}
