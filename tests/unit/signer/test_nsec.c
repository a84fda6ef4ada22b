#include "signer/nsec/nsec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/nsec/nsec_bitmap.h"
#include "signer/nsec/nsec_error.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "tests/support/testutil.h"
#include "tests/unit/signer/nsec_testzone.h"

/* Path of a file of the RFC 4035 appendix A vectors (static buffer). */
static const char *appendix_a(const char *file)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/vectors/rfc4035-appendix-a/%s", testutil_testdata(), file);
	return path;
}

static zone_t *build(const zone_t *z)
{
	zone_t *out = NULL;
	CU_ASSERT_EQUAL_FATAL(nsec_build(z, &out), NSEC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	return out;
}

/* The NSEC RRset at name in z (NULL if none; the test fails if the name is
 * not in z). */
static const zone_rrset_t *nsec_at(const zone_t *z, const uint8_t *name)
{
	size_t i = 0;
	CU_ASSERT_TRUE_FATAL(zone_find(z, name, &i));
	const zone_slot_t *s = zone_node_find(zone_entry(z, i)->node, ZONE_TYPE_NSEC);
	return s != NULL ? s->data : NULL;
}

/* Splits one NSEC RDATA into next name and bitmap. */
static void nsec_rdata(const zone_rrset_t *rrset, const uint8_t **next, const uint8_t **bitmap,
                       size_t *blen)
{
	zone_rdata_t rd;
	size_t pos = 0;
	CU_ASSERT_EQUAL_FATAL(rrset->count, 1);
	CU_ASSERT_TRUE_FATAL(zone_rrset_next(rrset, &pos, &rd));
	size_t nlen = dname_length(rd.data);
	CU_ASSERT_FATAL(nlen <= rd.len);
	*next = rd.data;
	*bitmap = rd.data + nlen;
	*blen = rd.len - nlen;
}

static size_t count_nsec(const zone_t *z)
{
	size_t n = 0;
	for (size_t i = 0; i < z->count; i++) {
		n += zone_node_find(zone_entry(z, i)->node, ZONE_TYPE_NSEC) != NULL;
	}
	return n;
}

typedef struct {
	const char *owner;
	const char *next;
	const char *types;
} expect_t;

/* z has exactly the NSEC records of want (TTL ttl), in canonical order. */
static void check_chain(const zone_t *z, const expect_t *want, size_t n, uint32_t ttl)
{
	CU_ASSERT_EQUAL(count_nsec(z), n);
	size_t prev = 0;
	for (size_t k = 0; k < n; k++) {
		const zone_rrset_t *r = nsec_at(z, nsec_testzone_wire(want[k].owner));
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		const uint8_t *next = NULL, *bitmap = NULL;
		size_t blen = 0, idx = 0;
		nsec_rdata(r, &next, &bitmap, &blen);
		CU_ASSERT_EQUAL(r->ttl, ttl);
		if (!dname_equal(next, nsec_testzone_wire(want[k].next))) {
			fprintf(stderr, "\n  %s: next %s, want %s\n", want[k].owner,
			        nsec_testzone_name(next), want[k].next);
			CU_FAIL("next name");
		}
		const char *types = nsec_testzone_types(bitmap, blen);
		if (strcmp(types, want[k].types) != 0) {
			fprintf(stderr, "\n  %s: types %s, want %s\n", want[k].owner, types,
			        want[k].types);
			CU_FAIL("bitmap");
		}
		CU_ASSERT_TRUE(zone_find(z, nsec_testzone_wire(want[k].owner), &idx));
		CU_ASSERT(k == 0 || idx > prev);
		prev = idx;
	}
}

/* --- type bitmaps ------------------------------------------------------ */

static void test_nsec_bitmap_encodes_rfc4034_example(void)
{
	/* RFC 4034 section 4.3: A MX RRSIG NSEC TYPE1234. */
	static const uint16_t types[] = {1, 15, 46, 47, 1234};
	uint8_t want[2 + 6 + 2 + 27] = {0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b};
	want[sizeof(want) - 1] = 0x20;
	uint8_t out[NSEC_BITMAP_MAXLEN];
	size_t len = 0;
	CU_ASSERT_EQUAL(nsec_bitmap_encode(types, 5, out, sizeof(out), &len), NSEC_OK);
	CU_ASSERT_EQUAL(len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(out, want, sizeof(want)), 0);
	CU_ASSERT_STRING_EQUAL(nsec_testzone_types(out, len), "A MX RRSIG NSEC TYPE1234");
}

static void test_nsec_bitmap_round_trip_with_types_above_255(void)
{
	/* HTTPS (65), CAA (257), TYPE65534: windows 0, 1 and 255. */
	static const uint16_t types[] = {1, 2, 6, 46, 47, 48, 65, 257, 65534};
	/* Window 0: 9 octets; window 1: 1; window 255: 32, only bit 254. */
	uint8_t want[(2 + 9) + (2 + 1) + (2 + 32)] = {0x00, 0x09, 0x62, 0x00, 0x00, 0x00,
	                                              0x00, 0x03, 0x80, 0x00, 0x40, 0x01,
	                                              0x01, 0x40, 0xff, 0x20};
	want[sizeof(want) - 1] = 0x02;
	uint8_t out[NSEC_BITMAP_MAXLEN];
	size_t len = 0, n = 0;
	CU_ASSERT_EQUAL(nsec_bitmap_encode(types, 9, out, sizeof(out), &len), NSEC_OK);
	CU_ASSERT_EQUAL(len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(out, want, sizeof(want)), 0);
	uint16_t back[16];
	CU_ASSERT_EQUAL(nsec_bitmap_decode(out, len, back, 16, &n), NSEC_OK);
	CU_ASSERT_EQUAL(n, 9);
	CU_ASSERT_EQUAL(memcmp(back, types, sizeof(types)), 0);
	for (size_t i = 0; i < 9; i++) {
		CU_ASSERT_TRUE(nsec_bitmap_has(out, len, types[i]));
	}
	CU_ASSERT_FALSE(nsec_bitmap_has(out, len, 28));
	CU_ASSERT_FALSE(nsec_bitmap_has(out, len, 256));
	CU_ASSERT_FALSE(nsec_bitmap_has(out, len, 65535));
	CU_ASSERT_FALSE(nsec_bitmap_has(out, len, 2 * 256 + 1));
	CU_ASSERT_STRING_EQUAL(nsec_testzone_types(out, len),
	                       "A NS SOA RRSIG NSEC DNSKEY HTTPS CAA TYPE65534");
}

static void test_nsec_bitmap_round_trip_every_type(void)
{
	uint16_t *types = malloc(65536 * sizeof(*types));
	uint16_t *back = malloc(65536 * sizeof(*back));
	uint8_t *out = malloc(NSEC_BITMAP_MAXLEN);
	CU_ASSERT_FATAL(types != NULL && back != NULL && out != NULL);
	for (size_t i = 0; i < 65536; i++) {
		types[i] = (uint16_t)i;
	}
	size_t len = 0, n = 0;
	CU_ASSERT_EQUAL(nsec_bitmap_encode(types, 65536, out, NSEC_BITMAP_MAXLEN, &len), NSEC_OK);
	CU_ASSERT_EQUAL(len, NSEC_BITMAP_MAXLEN);
	CU_ASSERT_EQUAL(nsec_bitmap_decode(out, len, back, 65536, &n), NSEC_OK);
	CU_ASSERT_EQUAL(n, 65536);
	CU_ASSERT_EQUAL(memcmp(types, back, 65536 * sizeof(*types)), 0);
	/* One short: the buffer error, *n untouched. */
	n = 7;
	CU_ASSERT_EQUAL(nsec_bitmap_decode(out, len, back, 65535, &n), NSEC_ERR_BUFFER);
	CU_ASSERT_EQUAL(n, 7);
	free(out);
	free(back);
	free(types);
}

static void test_nsec_bitmap_encode_refuses_unsorted_types_and_small_buffers(void)
{
	static const uint16_t unsorted[] = {2, 1};
	static const uint16_t across[] = {300, 1};
	static const uint16_t dup[] = {1, 1, 2, 2};
	uint8_t out[NSEC_BITMAP_MAXLEN];
	size_t len = 99;
	CU_ASSERT_EQUAL(nsec_bitmap_encode(unsorted, 2, out, sizeof(out), &len), NSEC_ERR_INVAL);
	CU_ASSERT_EQUAL(nsec_bitmap_encode(across, 2, out, sizeof(out), &len), NSEC_ERR_INVAL);
	CU_ASSERT_EQUAL(len, 99);
	/* A repeated type counts once. */
	CU_ASSERT_EQUAL(nsec_bitmap_encode(dup, 4, out, sizeof(out), &len), NSEC_OK);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT_EQUAL(memcmp(out, "\x00\x01\x60", 3), 0);
	/* No types: an empty bitmap. */
	CU_ASSERT_EQUAL(nsec_bitmap_encode(NULL, 0, out, 0, &len), NSEC_OK);
	CU_ASSERT_EQUAL(len, 0);
	len = 99;
	CU_ASSERT_EQUAL(nsec_bitmap_encode(dup, 4, out, 2, &len), NSEC_ERR_BUFFER);
	CU_ASSERT_EQUAL(len, 99);
}

static void test_nsec_bitmap_decode_refuses_malformed_bitmaps(void)
{
	static const struct {
		const char *what;
		const char *data;
		size_t len;
	} bad[] = {
	        {"window without length", "\x00", 1},
	        {"zero length", "\x00\x00", 2},
	        {"length above 32",
	         "\x00\x21"
	         "\x01",
	         3},
	        {"truncated bitmap", "\x00\x02\x40", 3},
	        {"trailing zero octet", "\x00\x02\x40\x00", 4},
	        {"windows out of order", "\x01\x01\x40\x00\x01\x40", 6},
	        {"window repeated", "\x00\x01\x40\x00\x01\x20", 6},
	};
	uint16_t types[64];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = 99;
		int rc =
		        nsec_bitmap_decode((const uint8_t *)bad[i].data, bad[i].len, types, 64, &n);
		if (rc != NSEC_ERR_BITMAP) {
			fprintf(stderr, "\n  %s: %d\n", bad[i].what, rc);
		}
		CU_ASSERT_EQUAL(rc, NSEC_ERR_BITMAP);
		CU_ASSERT_EQUAL(n, 99);
		/* has() never reads past the end. */
		(void)nsec_bitmap_has((const uint8_t *)bad[i].data, bad[i].len, 1);
	}
	size_t n = 99;
	CU_ASSERT_EQUAL(nsec_bitmap_decode(NULL, 0, types, 64, &n), NSEC_OK);
	CU_ASSERT_EQUAL(n, 0);
}

/* --- the chain ----------------------------------------------------------- */

static void test_nsec_chain_equals_bind_on_rfc4035_example(void)
{
	/* The BIND-signed file less its RRSIG and NSEC records (its DNSKEYs
	 * stay: our signer adds its own before building the chain). */
	zone_t *z = NULL, *out = NULL;
	nsec_testzone_rrs_t bind = {0};
	CU_ASSERT_EQUAL_FATAL(nsec_testzone_load(appendix_a("example.bind-signed-nsec.zone"), NULL,
	                                         "example.", &z, &bind),
	                      0);
	CU_ASSERT_EQUAL(bind.n, 15);
	out = build(z);
	CU_ASSERT_EQUAL(count_nsec(out), bind.n);
	for (size_t i = 0; i < bind.n; i++) {
		const nsec_testzone_rr_t *want = bind.v[i];
		CU_ASSERT_EQUAL(want->type, ZONE_TYPE_NSEC);
		const zone_rrset_t *r = nsec_at(out, want->owner);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		const uint8_t *next = NULL, *bitmap = NULL;
		size_t blen = 0;
		nsec_rdata(r, &next, &bitmap, &blen);
		size_t wnext = dname_length(want->data);
		CU_ASSERT_EQUAL(r->ttl, want->ttl);
		CU_ASSERT_TRUE(dname_equal(next, want->data));
		CU_ASSERT_EQUAL(blen, want->len - wnext);
		CU_ASSERT_EQUAL(memcmp(bitmap, want->data + wnext, blen), 0);
	}
	zone_free(out);
	zone_free(z);
	nsec_testzone_rrs_free(&bind);
}

static void test_nsec_chain_of_rfc4035_unsigned_zone(void)
{
	/* The RFC part alone: BIND's chain without its extra names (*.to-apex,
	 * *.to-nxdomain, the nsec-deleg names); a.example is a secure
	 * delegation, b.example an insecure one, *.a.example and the ns*.a/b
	 * names are glue or occluded, w.example and y.w.example are empty
	 * non-terminals. No DNSKEY in this file: none in the apex bitmap. */
	static const expect_t want[] = {
	        {"example.", "a.example.", "NS SOA MX RRSIG NSEC"},
	        {"a.example.", "ai.example.", "NS DS RRSIG NSEC"},
	        {"ai.example.", "b.example.", "A HINFO AAAA RRSIG NSEC"},
	        {"b.example.", "ns1.example.", "NS RRSIG NSEC"},
	        {"ns1.example.", "ns2.example.", "A RRSIG NSEC"},
	        {"ns2.example.", "*.w.example.", "A RRSIG NSEC"},
	        {"*.w.example.", "x.w.example.", "MX RRSIG NSEC"},
	        {"x.w.example.", "x.y.w.example.", "MX RRSIG NSEC"},
	        {"x.y.w.example.", "xx.example.", "MX RRSIG NSEC"},
	        {"xx.example.", "example.", "A HINFO AAAA RRSIG NSEC"},
	};
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(
	        nsec_testzone_load(appendix_a("example.unsigned.zone"), NULL, "example.", &z, NULL),
	        0);
	zone_t *out = build(z);
	check_chain(out, want, sizeof(want) / sizeof(want[0]), 3600);
	zone_free(out);
	zone_free(z);
}

static void test_nsec_chain_equals_dnssec_signzone_at_cuts_ents_wildcards_dname(void)
{
	/* dnssec-signzone 9.18.49 on nsec_testzone_sample (BIND writes the
	 * next name "MiXeD.t.test." in its input case; names compare
	 * case-insensitively). Not in the chain: the empty non-terminals e1,
	 * e2.e1, w, ent2, ent3; glue ns.ins, ns.sec; x.ins and deep.x.ins
	 * below the cut; occ.dn below the DNAME. At a cut only NS and DS (not
	 * the A or TXT there), with RRSIG and NSEC (the NSEC is signed). */
	static const expect_t want[] = {
	        {"t.test.", "dn.t.test.", "NS SOA RRSIG NSEC DNSKEY"},
	        {"dn.t.test.", "x.e2.e1.t.test.", "DNAME RRSIG NSEC"},
	        {"x.e2.e1.t.test.", "d.ent2.t.test.", "A RRSIG NSEC"},
	        {"d.ent2.t.test.", "s.ent3.t.test.", "NS RRSIG NSEC"},
	        {"s.ent3.t.test.", "h.t.test.", "NS DS RRSIG NSEC"},
	        {"h.t.test.", "ins.t.test.", "RRSIG NSEC HTTPS CAA TYPE65534"},
	        {"ins.t.test.", "MiXeD.t.test.", "NS RRSIG NSEC"},
	        {"MiXeD.t.test.", "ns1.t.test.", "AAAA RRSIG NSEC"},
	        {"ns1.t.test.", "sec.t.test.", "A RRSIG NSEC"},
	        {"sec.t.test.", "*.w.t.test.", "NS DS RRSIG NSEC"},
	        {"*.w.t.test.", "t.test.", "TXT RRSIG NSEC"},
	};
	zone_t *z = nsec_testzone_text(nsec_testzone_sample, "t.test.");
	zone_t *out = build(z);
	/* SOA TTL 7200, MINIMUM 300. */
	check_chain(out, want, sizeof(want) / sizeof(want[0]), 300);
	static const char *const none[] = {"e1.t.test.",     "e2.e1.t.test.", "w.t.test.",
	                                   "ent2.t.test.",   "ent3.t.test.",  "ns.ins.t.test.",
	                                   "ns.sec.t.test.", "x.ins.t.test.", "deep.x.ins.t.test.",
	                                   "occ.dn.t.test."};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		CU_ASSERT_PTR_NULL(nsec_at(out, nsec_testzone_wire(none[i])));
	}
	zone_free(out);
	zone_free(z);
}

static void test_nsec_ttl_is_the_lower_of_soa_ttl_and_minimum(void)
{
	static const char *const zones[] = {
	        "@ 3600 SOA ns hm 1 3600 900 604800 7200\n@ NS ns\nns A 192.0.2.1\n",
	        "@ 3600 SOA ns hm 1 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\n",
	};
	static const uint32_t want[] = {3600, 60};
	for (size_t i = 0; i < 2; i++) {
		zone_t *z = nsec_testzone_text(zones[i], "ttl.test.");
		uint32_t ttl = 0;
		CU_ASSERT_EQUAL(nsec_ttl(z, &ttl), NSEC_OK);
		CU_ASSERT_EQUAL(ttl, want[i]);
		zone_t *out = build(z);
		CU_ASSERT_EQUAL(nsec_at(out, nsec_testzone_wire("ttl.test."))->ttl, want[i]);
		CU_ASSERT_EQUAL(nsec_at(out, nsec_testzone_wire("ns.ttl.test."))->ttl, want[i]);
		zone_free(out);
		zone_free(z);
	}
}

static void test_nsec_build_without_soa_fails_and_writes_nothing(void)
{
	zone_t *z = nsec_testzone_text("@ NS ns\nns A 192.0.2.1\n", "nosoa.test.");
	zone_t *out = (zone_t *)&out;
	uint32_t ttl = 42;
	CU_ASSERT_EQUAL(nsec_build(z, &out), NSEC_ERR_NO_SOA);
	CU_ASSERT_PTR_EQUAL(out, (zone_t *)&out);
	CU_ASSERT_EQUAL(nsec_ttl(z, &ttl), NSEC_ERR_NO_SOA);
	CU_ASSERT_EQUAL(ttl, 42);
	CU_ASSERT_EQUAL(count_nsec(z), 0);
	zone_free(z);
}

static void test_nsec_build_leaves_its_input_unchanged(void)
{
	zone_t *z = nsec_testzone_text(nsec_testzone_sample, "t.test.");
	size_t count = z->count;
	zone_node_t **before = malloc(count * sizeof(*before));
	CU_ASSERT_PTR_NOT_NULL_FATAL(before);
	for (size_t i = 0; i < count; i++) {
		before[i] = zone_entry(z, i)->node;
	}
	zone_t *out = build(z);
	CU_ASSERT_EQUAL(z->count, count);
	for (size_t i = 0; i < count; i++) {
		CU_ASSERT_PTR_EQUAL(zone_entry(z, i)->node, before[i]);
	}
	CU_ASSERT_EQUAL(count_nsec(z), 0);
	/* Names outside the chain are shared with the input. */
	size_t a = 0, b = 0;
	CU_ASSERT_TRUE(zone_find(z, nsec_testzone_wire("ns.ins.t.test."), &a));
	CU_ASSERT_TRUE(zone_find(out, nsec_testzone_wire("ns.ins.t.test."), &b));
	CU_ASSERT_PTR_EQUAL(zone_entry(z, a)->node, zone_entry(out, b)->node);
	CU_ASSERT_EQUAL(out->count, count);
	free(before);
	zone_free(out);
	zone_free(z);
}

/* A copy of node with the slot of type given sigs (a dummy RRSIG RRset). */
static zone_node_t *with_sigs(const zone_node_t *node, uint16_t type)
{
	static const uint8_t sig[] = {0, 47, 13, 2};
	zone_rdata_t rd = {sig, sizeof(sig)};
	zone_rrset_t *sigs = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_RRSIG, 300, &rd, 1, &sigs), ZONE_OK);
	zone_slot_t slot = *zone_node_find(node, type);
	slot.sigs = sigs;
	zone_node_t *out = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_node_with(node, slot, &out), ZONE_OK);
	zone_rrset_unref(sigs);
	return out;
}

static void test_nsec_rebuild_keeps_unchanged_nsec_and_their_rrsigs(void)
{
	zone_t *z = nsec_testzone_text(nsec_testzone_sample, "t.test.");
	zone_t *first = build(z);
	/* Sign one NSEC (a stand-in RRSIG), then rebuild: nothing changes, so
	 * every node is shared, that RRSIG included. */
	size_t i = 0;
	CU_ASSERT_TRUE_FATAL(zone_find(first, nsec_testzone_wire("h.t.test."), &i));
	zone_node_t *signed_h = with_sigs(zone_entry(first, i)->node, ZONE_TYPE_NSEC);
	zone_t *signed_zone = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_replace(first, &signed_h, 1, &signed_zone, NULL), ZONE_OK);
	zone_t *second = build(signed_zone);
	CU_ASSERT_EQUAL(second->count, signed_zone->count);
	for (size_t k = 0; k < second->count && k < signed_zone->count; k++) {
		/* (empty non-terminals are made anew by every version) */
		if (!(zone_entry(second, k)->flags & ZONE_NAME_ENT)) {
			CU_ASSERT_PTR_EQUAL(zone_entry(second, k)->node,
			                    zone_entry(signed_zone, k)->node);
		}
	}
	CU_ASSERT_TRUE_FATAL(zone_find(second, nsec_testzone_wire("h.t.test."), &i));
	CU_ASSERT_PTR_NOT_NULL(zone_node_find(zone_entry(second, i)->node, ZONE_TYPE_NSEC)->sigs);

	/* A new name changes only its own NSEC and its predecessor's. */
	static const char *added = "$ORIGIN t.test.\nhh A 192.0.2.7\n";
	zone_t *extra = nsec_testzone_text(added, "t.test.");
	size_t at = 0;
	CU_ASSERT_TRUE_FATAL(zone_find(extra, nsec_testzone_wire("hh.t.test."), &at));
	zone_node_t *hh = zone_node_ref(zone_entry(extra, at)->node);
	zone_t *grown = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_replace(second, &hh, 1, &grown, NULL), ZONE_OK);
	zone_t *third = build(grown);
	size_t changed = 0;
	for (size_t k = 0; k < third->count; k++) {
		size_t j = 0;
		if (zone_entry(third, k)->flags & ZONE_NAME_ENT) {
			continue;
		}
		if (!zone_find(second, zone_entry(third, k)->node->owner, &j) ||
		    zone_entry(second, j)->node != zone_entry(third, k)->node) {
			changed++;
		}
	}
	CU_ASSERT_EQUAL(changed, 2);
	const uint8_t *next = NULL, *bitmap = NULL;
	size_t blen = 0;
	nsec_rdata(nsec_at(third, nsec_testzone_wire("h.t.test.")), &next, &bitmap, &blen);
	CU_ASSERT_TRUE(dname_equal(next, nsec_testzone_wire("hh.t.test.")));
	/* h's NSEC changed: its stale RRSIG went with it. */
	CU_ASSERT_TRUE_FATAL(zone_find(third, nsec_testzone_wire("h.t.test."), &i));
	CU_ASSERT_PTR_NULL(zone_node_find(zone_entry(third, i)->node, ZONE_TYPE_NSEC)->sigs);
	nsec_rdata(nsec_at(third, nsec_testzone_wire("hh.t.test.")), &next, &bitmap, &blen);
	CU_ASSERT_TRUE(dname_equal(next, nsec_testzone_wire("ins.t.test.")));
	CU_ASSERT_STRING_EQUAL(nsec_testzone_types(bitmap, blen), "A RRSIG NSEC");
	zone_free(third);
	zone_free(grown);
	zone_free(extra);
	zone_free(second);
	zone_free(signed_zone);
	zone_free(first);
	zone_free(z);
}

/* A node for owner with one RRset (type, rdata). */
static zone_node_t *one_rrset(const char *owner, uint16_t type, const void *rdata, size_t len)
{
	zone_rdata_t rd = {rdata, (uint16_t)len};
	zone_rrset_t *r = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(type, 300, &rd, 1, &r), ZONE_OK);
	zone_slot_t slot = {r, NULL};
	zone_node_t *node = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_node_new(nsec_testzone_wire(owner), &slot, 1, &node), ZONE_OK);
	zone_rrset_unref(r);
	return node;
}

/* node with one more RRset (type, rdata). */
static zone_node_t *plus(zone_node_t *node, uint16_t type, const void *rdata, size_t len)
{
	zone_rdata_t rd = {rdata, (uint16_t)len};
	zone_rrset_t *r = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(type, 300, &rd, 1, &r), ZONE_OK);
	zone_node_t *out = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_node_with(node, (zone_slot_t){r, NULL}, &out), ZONE_OK);
	zone_rrset_unref(r);
	zone_node_unref(node);
	return out;
}

static void test_nsec_rebuild_removes_stale_nsec_nsec3_and_nsec3param(void)
{
	zone_t *z = nsec_testzone_text(nsec_testzone_sample, "t.test.");
	static const uint8_t stale[] = {0, 0, 1, 0x40}; /* next ".", type A */
	static const uint8_t param[] = {1, 0, 0, 0, 0};
	size_t i = 0;
	CU_ASSERT_TRUE_FATAL(zone_find(z, nsec_testzone_wire("t.test."), &i));
	zone_node_t *changed[] = {
	        /* NSEC3PARAM and an NSEC3 at the apex, a wrong NSEC at ns1. */
	        plus(plus(zone_node_ref(zone_entry(z, i)->node), ZONE_TYPE_NSEC3PARAM, param, 5),
	             ZONE_TYPE_NSEC3, param, 5),
	        NULL,
	        /* NSEC at glue, and at a name with nothing else. */
	        NULL,
	        one_rrset("only-nsec.t.test.", ZONE_TYPE_NSEC, stale, sizeof(stale)),
	};
	CU_ASSERT_TRUE_FATAL(zone_find(z, nsec_testzone_wire("ns1.t.test."), &i));
	changed[1] =
	        plus(zone_node_ref(zone_entry(z, i)->node), ZONE_TYPE_NSEC, stale, sizeof(stale));
	CU_ASSERT_TRUE_FATAL(zone_find(z, nsec_testzone_wire("ns.ins.t.test."), &i));
	changed[2] =
	        plus(zone_node_ref(zone_entry(z, i)->node), ZONE_TYPE_NSEC, stale, sizeof(stale));
	zone_t *dirty = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_replace(z, changed, 4, &dirty, NULL), ZONE_OK);
	/* An NSEC3 chain of the old version is not carried over either. */
	zone_node_t *n3 = one_rrset("abc.t.test.", ZONE_TYPE_NSEC3, param, 5);
	CU_ASSERT_EQUAL_FATAL(zone_set_nsec3(dirty, &n3, 1), ZONE_OK);

	zone_t *out = build(dirty);
	CU_ASSERT_EQUAL(out->nsec3_count, 0);
	CU_ASSERT_PTR_NULL(zone_apex_rrset(out, ZONE_TYPE_NSEC3PARAM));
	CU_ASSERT_PTR_NULL(zone_apex_rrset(out, ZONE_TYPE_NSEC3));
	CU_ASSERT_PTR_NULL(nsec_at(out, nsec_testzone_wire("ns.ins.t.test.")));
	CU_ASSERT_FALSE(zone_find(out, nsec_testzone_wire("only-nsec.t.test."), &i));
	const uint8_t *next = NULL, *bitmap = NULL;
	size_t blen = 0;
	nsec_rdata(nsec_at(out, nsec_testzone_wire("ns1.t.test.")), &next, &bitmap, &blen);
	CU_ASSERT_TRUE(dname_equal(next, nsec_testzone_wire("sec.t.test.")));
	CU_ASSERT_STRING_EQUAL(nsec_testzone_types(bitmap, blen), "A RRSIG NSEC");
	nsec_rdata(nsec_at(out, nsec_testzone_wire("t.test.")), &next, &bitmap, &blen);
	CU_ASSERT_STRING_EQUAL(nsec_testzone_types(bitmap, blen), "NS SOA RRSIG NSEC DNSKEY");
	CU_ASSERT_EQUAL(count_nsec(out), 11);
	zone_free(out);
	zone_free(dirty);
	zone_free(z);
}

static void test_nsec_types_follow_the_name_kind(void)
{
	zone_t *z = nsec_testzone_text(nsec_testzone_sample, "t.test.");
	static const struct {
		const char *name;
		bool in_chain;
		const char *nsec;
		const char *nsec3;
	} want[] = {
	        {"t.test.", true, "NS SOA RRSIG NSEC DNSKEY", "NS SOA RRSIG DNSKEY"},
	        {"ins.t.test.", true, "NS RRSIG NSEC", "NS"},
	        {"sec.t.test.", true, "NS DS RRSIG NSEC", "NS DS RRSIG"},
	        {"e1.t.test.", false, "RRSIG NSEC", ""},
	        {"ns.ins.t.test.", false, NULL, NULL},
	        {"occ.dn.t.test.", false, NULL, NULL},
	        {"h.t.test.", true, "RRSIG NSEC HTTPS CAA TYPE65534", "RRSIG HTTPS CAA TYPE65534"},
	};
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		size_t i = 0;
		CU_ASSERT_TRUE_FATAL(zone_find(z, nsec_testzone_wire(want[k].name), &i));
		const zone_entry_t *e = zone_entry(z, i);
		CU_ASSERT_EQUAL(nsec_in_chain(e), want[k].in_chain);
		if (want[k].nsec == NULL) {
			continue;
		}
		uint16_t types[16];
		uint8_t bitmap[NSEC_BITMAP_MAXLEN];
		size_t n = 0, blen = 0;
		CU_ASSERT_EQUAL(nsec_types(e, NSEC_KIND_NSEC, types, 16, &n), NSEC_OK);
		CU_ASSERT_EQUAL(nsec_bitmap_encode(types, n, bitmap, sizeof(bitmap), &blen),
		                NSEC_OK);
		CU_ASSERT_STRING_EQUAL(nsec_testzone_types(bitmap, blen), want[k].nsec);
		CU_ASSERT_EQUAL(nsec_types(e, NSEC_KIND_NSEC3, types, 16, &n), NSEC_OK);
		CU_ASSERT_EQUAL(nsec_bitmap_encode(types, n, bitmap, sizeof(bitmap), &blen),
		                NSEC_OK);
		CU_ASSERT_STRING_EQUAL(nsec_testzone_types(bitmap, blen), want[k].nsec3);
	}
	/* Too small a buffer: *n untouched. */
	size_t i = 0, n = 77;
	uint16_t types[4];
	CU_ASSERT_TRUE_FATAL(zone_find(z, nsec_testzone_wire("t.test."), &i));
	CU_ASSERT_EQUAL(nsec_types(zone_entry(z, i), NSEC_KIND_NSEC, types, 4, &n),
	                NSEC_ERR_BUFFER);
	CU_ASSERT_EQUAL(n, 77);
	zone_free(z);
}

static void test_nsec_strerror_names_every_status(void)
{
	CU_ASSERT_STRING_EQUAL(nsec_strerror(NSEC_OK), "success");
	CU_ASSERT_STRING_EQUAL(nsec_strerror(NSEC_ERR_COLLISION), "NSEC3 hash collision");
	CU_ASSERT_STRING_EQUAL(nsec_strerror(NSEC_ERR_ITERATIONS), "too many NSEC3 iterations");
	for (int s = NSEC_ERR_NOMEM; s >= NSEC_ERR_TOO_BIG; s--) {
		CU_ASSERT_STRING_NOT_EQUAL(nsec_strerror(s), "unknown nsec status");
	}
	CU_ASSERT_STRING_EQUAL(nsec_strerror(ZONE_ERR_DUPLICATE_NAME), "two nodes for one name");
	CU_ASSERT_STRING_EQUAL(nsec_strerror(-1399), "unknown nsec status");
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"test_nsec_bitmap_encodes_rfc4034_example",
	         test_nsec_bitmap_encodes_rfc4034_example},
	        {"test_nsec_bitmap_round_trip_with_types_above_255",
	         test_nsec_bitmap_round_trip_with_types_above_255},
	        {"test_nsec_bitmap_round_trip_every_type", test_nsec_bitmap_round_trip_every_type},
	        {"test_nsec_bitmap_encode_refuses_unsorted_types_and_small_buffers",
	         test_nsec_bitmap_encode_refuses_unsorted_types_and_small_buffers},
	        {"test_nsec_bitmap_decode_refuses_malformed_bitmaps",
	         test_nsec_bitmap_decode_refuses_malformed_bitmaps},
	        {"test_nsec_chain_equals_bind_on_rfc4035_example",
	         test_nsec_chain_equals_bind_on_rfc4035_example},
	        {"test_nsec_chain_of_rfc4035_unsigned_zone",
	         test_nsec_chain_of_rfc4035_unsigned_zone},
	        {"test_nsec_chain_equals_dnssec_signzone_at_cuts_ents_wildcards_dname",
	         test_nsec_chain_equals_dnssec_signzone_at_cuts_ents_wildcards_dname},
	        {"test_nsec_ttl_is_the_lower_of_soa_ttl_and_minimum",
	         test_nsec_ttl_is_the_lower_of_soa_ttl_and_minimum},
	        {"test_nsec_build_without_soa_fails_and_writes_nothing",
	         test_nsec_build_without_soa_fails_and_writes_nothing},
	        {"test_nsec_build_leaves_its_input_unchanged",
	         test_nsec_build_leaves_its_input_unchanged},
	        {"test_nsec_rebuild_keeps_unchanged_nsec_and_their_rrsigs",
	         test_nsec_rebuild_keeps_unchanged_nsec_and_their_rrsigs},
	        {"test_nsec_rebuild_removes_stale_nsec_nsec3_and_nsec3param",
	         test_nsec_rebuild_removes_stale_nsec_nsec3_and_nsec3param},
	        {"test_nsec_types_follow_the_name_kind", test_nsec_types_follow_the_name_kind},
	        {"test_nsec_strerror_names_every_status", test_nsec_strerror_names_every_status},
	        {NULL, NULL},
	};
	return testutil_run("nsec", cases);
}
