#include "signer/zone/zone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "tests/support/testutil.h"

static uint8_t apex[DNAME_MAXLEN];

/* Fixed seeds: the same sequence on every libc. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	return testutil_rand(&rng_state);
}

static size_t below(size_t n)
{
	return (size_t)(rnd() % n);
}

enum { T_A = 1, T_NS = 2, T_DS = 4, T_DNAME = 8, T_SOA = 16 };
static const uint16_t type_of[] = {ZONE_TYPE_A, ZONE_TYPE_NS, ZONE_TYPE_DS, ZONE_TYPE_DNAME,
                                   ZONE_TYPE_SOA};

static zone_rrset_t *rrset(uint16_t type)
{
	zone_rrset_t *r = NULL;
	zone_rdata_t rd = {(const uint8_t *)"\1\2\3\4", 4};
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(type, 3600, &rd, 1, &r), ZONE_OK);
	return r;
}

/* A node at owner with one RRset of each type in the mask; one reference. */
static zone_node_t *mk(const uint8_t *owner, unsigned types)
{
	zone_slot_t slots[5];
	size_t n = 0;
	for (size_t t = 0; t < 5; t++) {
		if (types & (1u << t)) {
			slots[n++] = (zone_slot_t){rrset(type_of[t]), NULL};
		}
	}
	zone_node_t *node = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_node_new(owner, slots, n, &node), ZONE_OK);
	for (size_t i = 0; i < n; i++) {
		zone_rrset_unref(slots[i].data);
	}
	return node;
}

static const uint8_t *name(const char *text)
{
	static uint8_t buf[4][DNAME_MAXLEN];
	static int next;
	uint8_t *out = buf[next++ % 4];
	CU_ASSERT_EQUAL_FATAL(dname_from_str(text, apex, out, DNAME_MAXLEN, NULL), ZONE_OK);
	return out;
}

/* The test zones' names: up to four labels from a small alphabet under the
 * apex, so that ancestors collide and empty non-terminals come and go. */
static const char *const alphabet[] = {"*", "a", "b", "c", "d", "e", "f", "g"};

/* The data nodes a version should hold (in no order), one reference each. */
typedef struct {
	zone_node_t **v;
	size_t n, cap, alpha;
} model_t;

static zone_node_t **model_find(model_t *m, const uint8_t *owner)
{
	for (size_t i = 0; i < m->n; i++) {
		if (dname_equal(m->v[i]->owner, owner)) {
			return &m->v[i];
		}
	}
	return NULL;
}

/* Puts node (a new reference) in place of the node of its name, or drops the
 * name when node has no slots. */
static void model_set(model_t *m, zone_node_t *node, bool find)
{
	zone_node_t **old = find ? model_find(m, node->owner) : NULL;
	if (old != NULL) {
		zone_node_unref(*old);
		*old = m->v[--m->n];
	}
	if (node->nslots > 0) {
		if (m->n == m->cap) {
			m->cap = m->cap ? 2 * m->cap : 256;
			m->v = realloc(m->v, m->cap * sizeof(*m->v));
			CU_ASSERT_PTR_NOT_NULL_FATAL(m->v);
		}
		m->v[m->n++] = zone_node_ref(node);
	}
}

static const uint8_t *random_name(const model_t *m)
{
	char text[64];
	size_t len = 0;
	for (size_t depth = 1 + below(4); depth > 0; depth--) {
		len += (size_t)sprintf(text + len, "%s%s", len > 0 ? "." : "",
		                       alphabet[below(m->alpha)]);
	}
	return name(text);
}

static unsigned new_types(void)
{
	static const unsigned pick[] = {T_A,     T_A,        T_A,          T_A,
	                                T_NS,    T_NS,       T_NS | T_DS,  T_DNAME,
	                                T_DNAME, T_A | T_NS, T_A | T_DNAME};
	return pick[below(sizeof(pick) / sizeof(pick[0]))];
}

/* A random zone: SOA and NS at the apex, about fill names of random types. */
static void model_init(model_t *m, size_t alpha, size_t fill)
{
	*m = (model_t){.alpha = alpha};
	zone_node_t *node = mk(apex, T_SOA | T_NS);
	model_set(m, node, false);
	zone_node_unref(node);
	for (size_t k = 0; k < fill; k++) {
		const uint8_t *owner = random_name(m);
		if (model_find(m, owner) == NULL) {
			node = mk(owner, new_types());
			model_set(m, node, false);
			zone_node_unref(node);
		}
	}
}

static void model_free(model_t *m)
{
	for (size_t i = 0; i < m->n; i++) {
		CU_ASSERT_EQUAL(atomic_load(&m->v[i]->refs), 1);
		zone_node_unref(m->v[i]);
	}
	free(m->v);
}

/* The version zone_new() makes from the model's nodes. */
static zone_t *reference(const model_t *m)
{
	zone_node_t **nodes = malloc((m->n + 1) * sizeof(*nodes));
	for (size_t i = 0; i < m->n; i++) {
		nodes[i] = zone_node_ref(m->v[i]);
	}
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_new(apex, nodes, m->n, &z, NULL), ZONE_OK);
	free(nodes);
	return z;
}

static zone_node_t *toggle(const zone_node_t *node, uint16_t type)
{
	zone_node_t *out = NULL;
	if (zone_node_find(node, type) != NULL) {
		CU_ASSERT_EQUAL_FATAL(zone_node_without(node, type, &out), ZONE_OK);
	} else {
		zone_slot_t s = {rrset(type), NULL};
		CU_ASSERT_EQUAL_FATAL(zone_node_with(node, s, &out), ZONE_OK);
		zone_rrset_unref(s.data);
	}
	return out;
}

/* The new node a random edit puts at owner. */
static zone_node_t *random_edit(model_t *m, const uint8_t *owner)
{
	zone_node_t **cur = model_find(m, owner);
	size_t r = below(100);
	if (dname_equal(owner, apex)) {
		return mk(owner, r < 50   ? T_SOA | T_NS
		                 : r < 75 ? T_SOA | T_NS | T_A
		                 : r < 90 ? 0
		                          : T_SOA | T_NS | T_DNAME);
	}
	if (cur == NULL) { /* no slots: an empty non-terminal or no name stays so */
		return mk(owner, r < 95 ? new_types() : 0);
	}
	if (r < 25) {
		return mk(owner, 0);
	}
	if (r < 75) {
		return toggle(*cur, r < 50   ? ZONE_TYPE_NS
		                    : r < 65 ? ZONE_TYPE_DNAME
		                             : ZONE_TYPE_DS);
	}
	return mk(owner, r < 90 ? T_A : T_A | T_NS);
}

/* A name for a change: the apex, a name of z (often one with descendants: a
 * delegation or DNAME there moves a subtree), or any. */
static const uint8_t *pick_name(const model_t *m, const zone_t *z)
{
	size_t r = below(100);
	if (r < 8) {
		return apex;
	}
	for (int tries = 0; r < 60 && z->count > 1 && tries < 8; tries++) {
		size_t i = 1 + below(z->count - 1);
		const uint8_t *o = zone_entry(z, i)->node->owner;
		if (r < 30 || (i + 1 < z->count &&
		               dname_is_subdomain(zone_entry(z, i + 1)->node->owner, o))) {
			return o;
		}
	}
	return random_name(m);
}

/* Up to n changes at distinct names, applied to the model too; returns how many. */
static size_t random_changes(model_t *m, const zone_t *z, zone_node_t **changed, size_t n)
{
	size_t k = 0;
	for (size_t tries = 0; k < n && tries < 4 * n; tries++) {
		const uint8_t *owner = pick_name(m, z);
		bool dup = false;
		for (size_t j = 0; j < k; j++) {
			dup = dup || dname_equal(changed[j]->owner, owner);
		}
		if (!dup) {
			changed[k] = random_edit(m, owner);
			model_set(m, changed[k++], true);
		}
	}
	return k;
}

static void dump(const char *what, const zone_t *z)
{
	char text[DNAME_STR_MAXLEN];
	for (size_t i = 0; i < z->count; i++) {
		dname_to_str(zone_entry(z, i)->node->owner, text, sizeof(text));
		fprintf(stderr, "%s: %-24s %#04x %p\n", what, text, zone_entry(z, i)->flags,
		        (void *)zone_entry(z, i)->node);
	}
}

/* got is what zone_new() makes (want): names, flags, data nodes; its row is sound. */
static void check_same(const zone_t *got, const zone_t *want)
{
	bool ok = got->count == want->count && got->names.count == got->count;
	for (size_t i = 0; ok && i < got->count; i++) {
		const zone_entry_t *g = zone_entry(got, i), *w = zone_entry(want, i);
		ok = dname_equal(g->node->owner, w->node->owner) && g->flags == w->flags &&
		     ((w->flags & ZONE_NAME_ENT) ? g->node->nslots == 0 : g->node == w->node);
	}
	size_t total = 0;
	for (size_t k = 0; ok && k < got->names.nchunks; k++) {
		ok = got->names.starts[k] == total && got->names.chunks[k]->count > 0;
		total += got->names.chunks[k]->count;
	}
	if (!ok || total != got->count) {
		dump("zone_update", got);
		dump("zone_new", want);
		CU_FAIL_FATAL("version differs from zone_new()");
	}
}

/* Whether owner's entry differs between a and b (or is in one only). */
static bool differs(const zone_t *a, const zone_t *b, const uint8_t *owner)
{
	size_t i = 0, j = 0;
	bool fa = zone_find(a, owner, &i), fb = zone_find(b, owner, &j);
	if (!fa || !fb) {
		return fa != fb;
	}
	const zone_entry_t *x = zone_entry(a, i), *y = zone_entry(b, j);
	return x->node != y->node || x->flags != y->flags;
}

/* Every name that differs between old and new is in dirty; every name in
 * dirty (from first on) is a changed name or differs. */
static void check_dirty(const zone_t *old, const zone_t *new, const zone_names_t *d, size_t first,
                        zone_node_t *const *changed, size_t n)
{
	char text[DNAME_STR_MAXLEN];
	for (size_t i = 0; i < old->count + new->count; i++) {
		const zone_t *v = i < old->count ? old : new;
		const uint8_t *o = zone_entry(v, i < old->count ? i : i - old->count)->node->owner;
		bool listed = false;
		for (size_t k = first; k < d->n; k++) {
			listed = listed || dname_equal(d->names[k], o);
		}
		if (!listed && differs(old, new, o)) {
			dname_to_str(o, text, sizeof(text));
			fprintf(stderr, "not in dirty: %s\n", text);
			CU_FAIL("a changed name is not in dirty");
		}
	}
	for (size_t k = first; k < d->n; k++) {
		bool asked = false;
		for (size_t j = 0; j < n; j++) {
			asked = asked || dname_equal(changed[j]->owner, d->names[k]);
		}
		CU_ASSERT(asked || differs(old, new, d->names[k]));
	}
}

/* What a version holds: its names, then its NSEC3 nodes (flags 0). */
typedef struct {
	size_t n, n3;
	zone_entry_t *v;
} snap_t;

static snap_t snap(const zone_t *z)
{
	snap_t s = {z->count, z->nsec3_count,
	            malloc((z->count + z->nsec3_count + 1) * sizeof(zone_entry_t))};
	for (size_t i = 0; i < s.n + s.n3; i++) {
		s.v[i] = i < s.n ? *zone_entry(z, i)
		                 : (zone_entry_t){zone_nsec3_node(z, i - s.n), 0};
	}
	return s;
}

/* z still holds what it held when s was taken; frees s. */
static void check_unchanged(const zone_t *z, snap_t s)
{
	snap_t now = snap(z);
	CU_ASSERT_FATAL(now.n == s.n && now.n3 == s.n3);
	for (size_t i = 0; i < s.n + s.n3; i++) {
		CU_ASSERT_FATAL(now.v[i].node == s.v[i].node && now.v[i].flags == s.v[i].flags);
	}
	free(now.v);
	free(s.v);
}

/* An NSEC3 node: owner <32 base32hex characters>.example., one NSEC3 RRset. */
static zone_node_t *nsec3_node(size_t h, bool empty)
{
	char text[40];
	uint64_t save = rng_state;
	rng_state = h * 7919;
	for (int k = 0; k < 32; k++) {
		text[k] = "0123456789abcdefghijklmnopqrstuv"[below(32)];
	}
	text[32] = 0;
	rng_state = save;
	zone_slot_t s = {rrset(ZONE_TYPE_NSEC3), NULL};
	zone_node_t *node = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_node_new(name(text), &s, empty ? 0 : 1, &node), ZONE_OK);
	zone_rrset_unref(s.data);
	return node;
}

static int owner_cmp(const void *a, const void *b)
{
	return dname_canonical_cmp((*(zone_node_t *const *)a)->owner,
	                           (*(zone_node_t *const *)b)->owner);
}

enum { H = 1500 }; /* NSEC3 owners the tests draw from */

/* Up to 40 NSEC3 edits at distinct owners (a stride prime to H), applied to
 * n3 (the node of each owner, or NULL) too; returns how many. */
static size_t nsec3_edits(zone_node_t **n3, zone_node_t **edits)
{
	size_t k = 0, h = below(H), stride = (size_t[]){7, 11, 13, 17, 19}[below(5)];
	for (size_t want = 1 + below(40); k < want; h = (h + stride) % H, k++) {
		bool drop = n3[h] != NULL ? below(100) < 40 : below(100) < 15;
		edits[k] = nsec3_node(h, drop);
		zone_node_unref(n3[h]);
		n3[h] = drop ? NULL : zone_node_ref(edits[k]);
	}
	return k;
}

/* z's NSEC3 nodes are those of n3, in canonical order. */
static void check_nsec3(const zone_t *z, zone_node_t *const *n3)
{
	static zone_node_t *sorted[H];
	size_t n = 0, at = 0;
	for (size_t h = 0; h < H; h++) {
		if (n3[h] != NULL) {
			sorted[n++] = n3[h];
		}
	}
	qsort(sorted, n, sizeof(*sorted), owner_cmp);
	CU_ASSERT_FATAL(z->nsec3_count == n && z->nsec3.count == n);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_PTR_EQUAL_FATAL(zone_nsec3_node(z, i), sorted[i]);
		CU_ASSERT_FATAL(zone_find_nsec3(z, sorted[i]->owner, &at) && at == i);
	}
}

enum { NAMES, WITH_NSEC3, REPLACE };

/* Rounds of random changes to a random zone, each version compared with
 * zone_new()'s: through zone_update (NAMES; WITH_NSEC3 with an NSEC3 chain
 * edited too), or zone_replace (REPLACE: every other change set more than
 * count/8 nodes, for the whole-zone path). */
static void update_rounds(size_t alpha, uint64_t seed, size_t fill, int rounds, int mode)
{
	static zone_node_t *changed[H], *asked[512], *n3[H], *edits[40];
	model_t m;
	rng_state = seed;
	model_init(&m, alpha, fill);
	zone_t *z = reference(&m);
	for (size_t h = 0; mode == WITH_NSEC3 && h < H; h += 2) { /* n3 is all NULL here */
		n3[h] = nsec3_node(h, false);
		changed[h / 2] = zone_node_ref(n3[h]);
	}
	if (mode == WITH_NSEC3) {
		CU_ASSERT_EQUAL_FATAL(zone_set_nsec3(z, changed, H / 2), ZONE_OK);
	}
	for (int r = 0; r < rounds; r++) {
		size_t big = z->count / 8 + 1 + below(100);
		size_t n = random_changes(&m, z, changed,
		                          mode == REPLACE && r % 2 ? (big < 512 ? big : 511)
		                                                   : 1 + below(10));
		size_t n3e = mode == WITH_NSEC3 ? nsec3_edits(n3, edits) : 0;
		for (size_t k = 0; k < n; k++) {
			asked[k] = zone_node_ref(changed[k]);
		}
		zone_names_t dirty = {0};
		if (r % 3 == 0) { /* names already there are left alone */
			CU_ASSERT_EQUAL_FATAL(zone_names_add(&dirty, name("zz.zz")), ZONE_OK);
		}
		size_t first = dirty.n;
		snap_t s = snap(z);
		zone_t *next = NULL, *want = NULL;
		int ret = mode == REPLACE
		                  ? zone_replace(z, changed, n, &next, NULL)
		                  : zone_update(z, changed, n, edits, n3e, &next, NULL, &dirty);
		CU_ASSERT_EQUAL_FATAL(ret, ZONE_OK);
		check_unchanged(z, s);
		want = reference(&m);
		check_same(next, want);
		if (mode == WITH_NSEC3) {
			check_nsec3(next, n3);
		}
		CU_ASSERT(mode == WITH_NSEC3 || next->nsec3_count == 0);
		if (mode != REPLACE) {
			check_dirty(z, next, &dirty, first, asked, n);
			CU_ASSERT(first == 0 || dname_equal(dirty.names[0], name("zz.zz")));
		}
		for (size_t k = 0; k < n; k++) {
			zone_node_unref(asked[k]);
		}
		zone_names_deinit(&dirty);
		zone_free(want);
		zone_free(z);
		z = next;
	}
	if (mode == WITH_NSEC3) { /* zone_replace() leaves the chain to be rebuilt */
		zone_t *next = NULL;
		CU_ASSERT_EQUAL_FATAL(zone_replace(z, NULL, 0, &next, NULL), ZONE_OK);
		CU_ASSERT(next->nsec3_count == 0 && z->nsec3_count > 0);
		zone_free(next);
	}
	zone_free(z);
	for (size_t h = 0; mode == WITH_NSEC3 && h < H; h++) {
		CU_ASSERT(n3[h] == NULL || atomic_load(&n3[h]->refs) == 1);
		zone_node_unref(n3[h]);
		n3[h] = NULL;
	}
	model_free(&m);
}

static void test_zone_update_matches_zone_new(void)
{
	/* Small zones (a few dozen names, one chunk), then zones of several
	 * chunks (1500-3000 names), split and emptied as they go. */
	for (uint64_t seed = 1; seed <= 6; seed++) {
		update_rounds(3 + seed % 2, seed, 10 + 15 * seed, 120, NAMES);
	}
	update_rounds(8, 41, 2500, 60, NAMES);
	update_rounds(7, 42, 1500, 60, NAMES);
}

static void test_zone_update_nsec3_edits(void)
{
	update_rounds(4, 5, 60, 80, WITH_NSEC3);
	update_rounds(8, 6, 2000, 20, WITH_NSEC3);
}

static void test_zone_replace_matches_zone_new(void)
{
	update_rounds(6, 99, 1200, 16, REPLACE);
}

/* Adds an A node at every name of depth up to depth under suffix. */
static void add_tree(model_t *m, const char *suffix, int depth)
{
	for (size_t l = 0; depth > 0 && l < m->alpha; l++) {
		char text[300];
		int len = snprintf(text, sizeof(text), "%s%s%s", alphabet[l], suffix[0] ? "." : "",
		                   suffix);
		CU_ASSERT_FATAL(len > 0 && (size_t)len < sizeof(text));
		zone_node_t *node = mk(name(text), T_A);
		model_set(m, node, false);
		zone_node_unref(node);
		add_tree(m, text, depth - 1);
	}
}

static size_t unshared(const zone_t *a, const zone_t *b)
{
	size_t d = 0;
	for (size_t k = 0; k < a->names.nchunks && k < b->names.nchunks; k++) {
		d += !zone_seq_same_chunk(&a->names, k, &b->names, k);
	}
	return d;
}

static void test_zone_update_shares_untouched_chunks(void)
{
	model_t m;
	rng_state = 7;
	model_init(&m, 8, 0);
	add_tree(&m, "", 4);
	zone_t *z = reference(&m), *z2 = NULL, *z3 = NULL;
	CU_ASSERT_FATAL(z->names.nchunks > 8);
	/* One name replaced: one chunk copied. */
	zone_node_t *c1 = mk(name("a.b.c.d"), T_A | T_DS);
	CU_ASSERT_EQUAL_FATAL(zone_update(z, &c1, 1, NULL, 0, &z2, NULL, NULL), ZONE_OK);
	CU_ASSERT_EQUAL(unshared(z, z2), 1);
	/* A delegation at a name with 72 descendants: it and each of them dirty. */
	zone_node_t *c2 = mk(name("e.f"), T_NS);
	zone_names_t dirty = {0};
	CU_ASSERT_EQUAL_FATAL(zone_update(z2, &c2, 1, NULL, 0, &z3, NULL, &dirty), ZONE_OK);
	CU_ASSERT_EQUAL(dirty.n, 1 + 8 + 64);
	CU_ASSERT(unshared(z2, z3) >= 1 && unshared(z2, z3) <= 2);
	CU_ASSERT_EQUAL(z3->names.nchunks, z2->names.nchunks);
	size_t i = 0;
	CU_ASSERT_FATAL(zone_find(z3, name("g.a.e.f"), &i));
	CU_ASSERT_EQUAL(zone_entry(z3, i)->flags, ZONE_NAME_OCCLUDED);
	zone_names_deinit(&dirty);
	zone_free(z);
	zone_free(z2);
	zone_free(z3);
	model_free(&m);
}

/* zone_update (how 0, with an NSEC3 node) or zone_replace (how 1; how 2 with
 * enough nodes for its whole-zone path) refuses nodes[0..n): the status, the
 * offending name in bad, every reference dropped, z, out and dirty untouched. */
static void check_refused(const zone_t *z, int how, zone_node_t **nodes, size_t n, int status)
{
	uint8_t want[DNAME_MAXLEN], bad[DNAME_MAXLEN] = {0};
	zone_node_t *keep[600], *n3 = nsec3_node(1, false);
	memcpy(want, nodes[0]->owner, nodes[0]->owner_len);
	for (size_t k = 0; k < n; k++) {
		keep[k] = zone_node_ref(nodes[k]);
	}
	keep[n] = zone_node_ref(n3);
	static zone_t sentinel;
	zone_t *out = &sentinel;
	zone_names_t dirty = {0};
	snap_t s = snap(z);
	int ret = how == 0 ? zone_update(z, nodes, n, &n3, 1, &out, bad, &dirty)
	                   : zone_replace(z, nodes, n, &out, bad);
	CU_ASSERT_EQUAL(ret, status);
	CU_ASSERT(dname_equal(bad, want));
	CU_ASSERT(out == &sentinel && dirty.n == 0);
	check_unchanged(z, s);
	if (how != 0) {
		zone_node_unref(n3);
	}
	for (size_t k = 0; k <= n; k++) {
		CU_ASSERT_EQUAL(atomic_load(&keep[k]->refs), 1);
		zone_node_unref(keep[k]);
	}
}

static void test_zone_update_refuses_bad_names(void)
{
	static const char *const bad[] = {"example.org.",   "org.", ".", "xexample.",
	                                  "a.example.com.", "a.c",  "@"};
	static zone_node_t *nodes[600];
	model_t m;
	rng_state = 3;
	model_init(&m, 4, 40);
	zone_t *z = reference(&m);
	for (int how = 0; how < 3; how++) {
		size_t n = how == 2 ? z->count / 8 + 3 : 3;
		CU_ASSERT_FATAL(how == 2 || n <= z->count / 8);
		for (size_t o = 0; o < 7; o++) {
			/* An out-of-zone name, or a name twice (the second time with
			 * no slots or with data, by turns), and new names. */
			bool full = o % 2;
			nodes[0] = mk(name(bad[o]), o < 5 && !full ? 0 : T_NS | T_SOA);
			nodes[1] = mk(name(o < 5 ? "b" : bad[o]), o < 5 || full ? T_A : 0);
			for (size_t k = 2; k < n; k++) {
				char text[32];
				snprintf(text, sizeof(text), "p%zu.q", k);
				nodes[k] = mk(name(text), k % 3 ? T_A : 0);
			}
			check_refused(z, how, nodes, n,
			              o < 5 ? ZONE_ERR_OUT_OF_ZONE : ZONE_ERR_DUPLICATE_NAME);
		}
	}
	zone_free(z);
	model_free(&m);
}

int main(void)
{
	if (dname_from_str("example.", NULL, apex, sizeof(apex), NULL) != ZONE_OK) {
		return 1;
	}
	static const testutil_case_t cases[] = {
	        {"test_zone_update_matches_zone_new", test_zone_update_matches_zone_new},
	        {"test_zone_update_shares_untouched_chunks",
	         test_zone_update_shares_untouched_chunks},
	        {"test_zone_replace_matches_zone_new", test_zone_replace_matches_zone_new},
	        {"test_zone_update_nsec3_edits", test_zone_update_nsec3_edits},
	        {"test_zone_update_refuses_bad_names", test_zone_update_refuses_bad_names},
	        {NULL, NULL},
	};
	return testutil_run("zone_update", cases);
}
