#include "signer/zone/zone.h"

#include <stdlib.h>
#include <string.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "tests/support/testutil.h"

static uint8_t apex[DNAME_MAXLEN];

static const uint8_t *name(const char *text)
{
	static uint8_t buf[8][DNAME_MAXLEN];
	static int next;
	uint8_t *out = buf[next++ % 8];
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(dname_from_str(text, apex, out, DNAME_MAXLEN, &len), ZONE_OK);
	return out;
}

/* A node at text with one RRset of each given type (a one-byte RDATA). */
static zone_node_t *node(const char *text, const uint16_t *types, size_t n)
{
	zone_slot_t slots[8];
	uint8_t rd[4] = {1, 2, 3, 4};
	for (size_t i = 0; i < n; i++) {
		zone_rdata_t r = {rd, 4};
		slots[i].sigs = NULL;
		CU_ASSERT_EQUAL_FATAL(zone_rrset_new(types[i], 3600, &r, 1, &slots[i].data),
		                      ZONE_OK);
	}
	zone_node_t *nd = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_node_new(name(text), slots, n, &nd), ZONE_OK);
	for (size_t i = 0; i < n; i++) {
		zone_rrset_unref(slots[i].data);
	}
	return nd;
}

static const uint16_t t_soa_ns[] = {ZONE_TYPE_SOA, ZONE_TYPE_NS};
static const uint16_t t_a[] = {ZONE_TYPE_A};
static const uint16_t t_ns[] = {ZONE_TYPE_NS};
static const uint16_t t_ns_ds[] = {ZONE_TYPE_NS, ZONE_TYPE_DS};
static const uint16_t t_dname[] = {ZONE_TYPE_DNAME};

static zone_t *sample(void)
{
	zone_node_t *nodes[] = {
	        node("x.y.z", t_a, 1),     node("@", t_soa_ns, 2),   node("*.w", t_a, 1),
	        node("deleg", t_ns_ds, 2), node("ns.deleg", t_a, 1), node("a.b.deep.deleg", t_a, 1),
	        node("insecure", t_ns, 1), node("dn", t_dname, 1),   node("under.dn", t_a, 1),
	        node("Upper", t_a, 1),
	};
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_new(apex, nodes, sizeof(nodes) / sizeof(nodes[0]), &z, NULL),
	                      ZONE_OK);
	return z;
}

static uint16_t flags_of(const zone_t *z, const char *text)
{
	size_t i = 0;
	if (!zone_find(z, name(text), &i)) {
		return 0xffff;
	}
	return zone_entry(z, i)->flags;
}

static void test_zone_order_ents_and_flags(void)
{
	zone_t *z = sample();
	static const char *order[] = {
	        "@",        "deleg", "deep.deleg", "b.deep.deleg", "a.b.deep.deleg",
	        "ns.deleg", "dn",    "under.dn",   "insecure",     "upper",
	        "w",        "*.w",   "z",          "y.z",          "x.y.z"};
	CU_ASSERT_EQUAL_FATAL(z->count, sizeof(order) / sizeof(order[0]));
	for (size_t i = 0; i < z->count; i++) {
		CU_ASSERT(dname_equal(zone_entry(z, i)->node->owner, name(order[i])));
	}
	CU_ASSERT_EQUAL(flags_of(z, "@"), ZONE_NAME_APEX);
	CU_ASSERT_EQUAL(flags_of(z, "deleg"), ZONE_NAME_CUT);
	CU_ASSERT_EQUAL(flags_of(z, "ns.deleg"), ZONE_NAME_OCCLUDED);
	CU_ASSERT_EQUAL(flags_of(z, "deep.deleg"), ZONE_NAME_OCCLUDED | ZONE_NAME_ENT);
	CU_ASSERT_EQUAL(flags_of(z, "insecure"), ZONE_NAME_CUT);
	CU_ASSERT_EQUAL(flags_of(z, "dn"), ZONE_NAME_DNAME);
	CU_ASSERT_EQUAL(flags_of(z, "under.dn"), ZONE_NAME_OCCLUDED);
	CU_ASSERT_EQUAL(flags_of(z, "w"), ZONE_NAME_ENT);
	CU_ASSERT_EQUAL(flags_of(z, "*.w"), ZONE_NAME_WILDCARD);
	CU_ASSERT_EQUAL(flags_of(z, "y.z"), ZONE_NAME_ENT);
	CU_ASSERT_EQUAL(flags_of(z, "x.y.z"), 0);
	CU_ASSERT_EQUAL(flags_of(z, "nothere"), 0xffff);

	size_t i = 0;
	CU_ASSERT(zone_find(z, name("deleg"), &i));
	CU_ASSERT(zone_is_signed(zone_entry(z, i), ZONE_TYPE_DS));
	CU_ASSERT(!zone_is_signed(zone_entry(z, i), ZONE_TYPE_NS));
	CU_ASSERT(zone_find(z, name("ns.deleg"), &i));
	CU_ASSERT(!zone_is_signed(zone_entry(z, i), ZONE_TYPE_A));
	CU_ASSERT(zone_find(z, name("@"), &i));
	CU_ASSERT(zone_is_signed(zone_entry(z, i), ZONE_TYPE_NS));
	CU_ASSERT_PTR_NOT_NULL(zone_apex_rrset(z, ZONE_TYPE_SOA));
	CU_ASSERT_PTR_NULL(zone_apex_rrset(z, ZONE_TYPE_DNSKEY));
	zone_free(z);
}

static void test_zone_bad_inputs(void)
{
	uint8_t bad[DNAME_MAXLEN];
	zone_t *z = NULL;
	zone_node_t *dup[] = {node("@", t_soa_ns, 2), node("a", t_a, 1), node("A", t_ns, 1)};
	CU_ASSERT_EQUAL(zone_new(apex, dup, 3, &z, bad), ZONE_ERR_DUPLICATE_NAME);
	CU_ASSERT(dname_equal(bad, name("a")));
	CU_ASSERT_PTR_NULL(z);
	zone_node_t *out[] = {node("@", t_soa_ns, 2), node("example.org.", t_a, 1)};
	CU_ASSERT_EQUAL(zone_new(apex, out, 2, &z, bad), ZONE_ERR_OUT_OF_ZONE);
	CU_ASSERT(dname_equal(bad, name("example.org.")));
	/* Two RRsets of one type in one node. */
	zone_rdata_t r = {(const uint8_t *)"\1\2\3\4", 4};
	zone_slot_t slots[2] = {{NULL, NULL}, {NULL, NULL}};
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_A, 1, &r, 1, &slots[0].data), ZONE_OK);
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_A, 2, &r, 1, &slots[1].data), ZONE_OK);
	zone_node_t *nd = NULL;
	CU_ASSERT_EQUAL(zone_node_new(name("a"), slots, 2, &nd), ZONE_ERR_DUPLICATE_TYPE);
	CU_ASSERT_EQUAL(atomic_load(&slots[0].data->refs), 1);
	zone_rrset_unref(slots[0].data);
	zone_rrset_unref(slots[1].data);
}

static void test_zone_replace_shares_unchanged_nodes(void)
{
	zone_t *z = sample();
	size_t i = 0;
	CU_ASSERT_FATAL(zone_find(z, name("insecure"), &i));
	zone_node_t *kept = zone_entry(z, i)->node;
	CU_ASSERT_FATAL(zone_find(z, name("x.y.z"), &i));
	zone_node_t *changed[] = {node("x.y.z", t_ns, 1), node("new.name", t_a, 1),
	                          node("*.w", NULL, 0)};
	zone_t *z2 = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_replace(z, changed, 3, &z2, NULL), ZONE_OK);
	/* The unchanged node is shared, not copied. */
	CU_ASSERT_FATAL(zone_find(z2, name("insecure"), &i));
	CU_ASSERT_PTR_EQUAL(zone_entry(z2, i)->node, kept);
	CU_ASSERT_EQUAL(atomic_load(&kept->refs), 2);
	CU_ASSERT_EQUAL(flags_of(z2, "x.y.z"), ZONE_NAME_CUT);
	CU_ASSERT_EQUAL(flags_of(z2, "name"), ZONE_NAME_ENT);
	CU_ASSERT_EQUAL(flags_of(z2, "*.w"), 0xffff);            /* removed */
	CU_ASSERT_EQUAL(flags_of(z2, "w"), 0xffff);              /* no longer an ENT */
	CU_ASSERT_EQUAL(flags_of(z, "*.w"), ZONE_NAME_WILDCARD); /* old version intact */
	zone_free(z);
	CU_ASSERT_EQUAL(atomic_load(&kept->refs), 1);
	zone_free(z2);
}

static void test_zone_node_with_and_without(void)
{
	zone_node_t *a = node("a", t_soa_ns, 2);
	zone_rdata_t r = {(const uint8_t *)"\1\2\3\4", 4};
	zone_slot_t s = {NULL, NULL};
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_A, 7, &r, 1, &s.data), ZONE_OK);
	zone_node_t *b = NULL, *c = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_node_with(a, s, &b), ZONE_OK);
	CU_ASSERT_EQUAL(b->nslots, 3);
	CU_ASSERT_EQUAL(b->slots[0].data->type, ZONE_TYPE_A);
	CU_ASSERT_PTR_EQUAL(zone_node_find(b, ZONE_TYPE_NS)->data,
	                    zone_node_find(a, ZONE_TYPE_NS)->data);
	CU_ASSERT_EQUAL_FATAL(zone_node_without(b, ZONE_TYPE_SOA, &c), ZONE_OK);
	CU_ASSERT_EQUAL(c->nslots, 2);
	CU_ASSERT_PTR_NULL(zone_node_find(c, ZONE_TYPE_SOA));
	CU_ASSERT_EQUAL(atomic_load(&s.data->refs), 3);
	zone_node_unref(a);
	zone_node_unref(b);
	zone_node_unref(c);
	CU_ASSERT_EQUAL(atomic_load(&s.data->refs), 1);
	zone_rrset_unref(s.data);
}

static void test_zone_rrset_canonical_order_and_dedup(void)
{
	zone_rdata_t r[] = {{(const uint8_t *)"\2\1", 2},
	                    {(const uint8_t *)"\1\2\3", 3},
	                    {(const uint8_t *)"\1\2", 2},
	                    {(const uint8_t *)"\2\1", 2}};
	zone_rrset_t *rs = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_A, 60, r, 4, &rs), ZONE_OK);
	CU_ASSERT_EQUAL(rs->count, 3);
	zone_rdata_t x;
	size_t pos = 0;
	CU_ASSERT(zone_rrset_next(rs, &pos, &x) && x.len == 2 && memcmp(x.data, "\1\2", 2) == 0);
	CU_ASSERT(zone_rrset_next(rs, &pos, &x) && x.len == 3);
	CU_ASSERT(zone_rrset_next(rs, &pos, &x) && x.len == 2 && memcmp(x.data, "\2\1", 2) == 0);
	CU_ASSERT(!zone_rrset_next(rs, &pos, &x));
	zone_rrset_unref(rs);

	uint8_t mx[] = {0, 10, 4, 'M', 'a', 'I', 'l', 3, 'C', 'o', 'M', 0};
	CU_ASSERT(zone_rdata_canonicalize(ZONE_TYPE_MX, mx, sizeof(mx)));
	CU_ASSERT(memcmp(mx + 2, "\4mail\3com", 9) == 0);
	CU_ASSERT(!zone_rdata_canonicalize(ZONE_TYPE_MX, mx, 5));
	uint8_t txt[] = {3, 'A', 'B', 'C'};
	CU_ASSERT(zone_rdata_canonicalize(16, txt, sizeof(txt)));
	CU_ASSERT(memcmp(txt, "\3ABC", 4) == 0);
}

int main(void)
{
	size_t len = 0;
	if (dname_from_str("example.", NULL, apex, sizeof(apex), &len) != ZONE_OK) {
		return 1;
	}
	static const testutil_case_t cases[] = {
	        {"test_zone_order_ents_and_flags", test_zone_order_ents_and_flags},
	        {"test_zone_bad_inputs", test_zone_bad_inputs},
	        {"test_zone_replace_shares_unchanged_nodes",
	         test_zone_replace_shares_unchanged_nodes},
	        {"test_zone_node_with_and_without", test_zone_node_with_and_without},
	        {"test_zone_rrset_canonical_order_and_dedup",
	         test_zone_rrset_canonical_order_and_dedup},
	        {NULL, NULL},
	};
	return testutil_run("zone", cases);
}
