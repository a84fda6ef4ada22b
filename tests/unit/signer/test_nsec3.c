#include "signer/nsec/nsec3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/nsec/nsec.h"
#include "signer/nsec/nsec_bitmap.h"
#include "signer/nsec/nsec_error.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "tests/support/testutil.h"
#include "tests/unit/signer/nsec_testzone.h"

static const char *testdata(const char *file)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/vectors/%s", testutil_testdata(), file);
	return path;
}

static nsec3_params_t params(uint16_t iterations, const char *salt_hex, bool opt_out)
{
	nsec3_params_t p = {.iterations = iterations, .opt_out = opt_out};
	for (size_t i = 0; salt_hex[2 * i] != '\0'; i++) {
		unsigned v = 0;
		CU_ASSERT_EQUAL_FATAL(sscanf(salt_hex + 2 * i, "%2x", &v), 1);
		p.salt[p.salt_len++] = (uint8_t)v;
	}
	return p;
}

static zone_t *build(const zone_t *z, const nsec3_params_t *p)
{
	zone_t *out = NULL;
	nsec3_collision_t coll;
	int rc = nsec3_build(z, p, &out, &coll);
	if (rc != NSEC_OK) {
		fprintf(stderr, "\n  nsec3_build: %s\n", nsec_strerror(rc));
	}
	CU_ASSERT_EQUAL_FATAL(rc, NSEC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	return out;
}

/* One NSEC3 RDATA, taken apart. */
typedef struct {
	uint8_t alg, flags, salt_len;
	uint16_t iterations;
	const uint8_t *salt;
	uint8_t next[NSEC3_HASH_LEN];
	const uint8_t *bitmap;
	size_t blen;
} nsec3_rd_t;

static nsec3_rd_t parse(const zone_node_t *node)
{
	nsec3_rd_t r = {0};
	CU_ASSERT_EQUAL_FATAL(node->nslots, 1);
	const zone_rrset_t *set = node->slots[0].data;
	CU_ASSERT_EQUAL_FATAL(set->type, ZONE_TYPE_NSEC3);
	CU_ASSERT_EQUAL_FATAL(set->count, 1);
	zone_rdata_t rd;
	size_t pos = 0;
	CU_ASSERT_TRUE_FATAL(zone_rrset_next(set, &pos, &rd));
	CU_ASSERT_FATAL(rd.len >= 6);
	r.alg = rd.data[0];
	r.flags = rd.data[1];
	r.iterations = (uint16_t)(rd.data[2] << 8 | rd.data[3]);
	r.salt_len = rd.data[4];
	r.salt = rd.data + 5;
	CU_ASSERT_FATAL(rd.len >= 5u + r.salt_len + 1u + NSEC3_HASH_LEN);
	CU_ASSERT_EQUAL_FATAL(rd.data[5 + r.salt_len], NSEC3_HASH_LEN);
	memcpy(r.next, rd.data + 6 + r.salt_len, NSEC3_HASH_LEN);
	r.bitmap = rd.data + 6 + r.salt_len + NSEC3_HASH_LEN;
	r.blen = rd.len - (6u + r.salt_len + NSEC3_HASH_LEN);
	return r;
}

/* The NSEC3 node of z whose owner is name, or NULL. */
static const zone_node_t *nsec3_node(const zone_t *z, const uint8_t *name)
{
	for (size_t i = 0; i < z->nsec3_count; i++) {
		if (dname_equal(zone_nsec3_node(z, i)->owner, name)) {
			return zone_nsec3_node(z, i);
		}
	}
	return NULL;
}

/* The chain of z is closed: sorted owners, each next = the following owner's
 * hash, the last back to the first; parameters and flags as p. */
static void check_closed(const zone_t *z, const nsec3_params_t *p)
{
	CU_ASSERT_FATAL(z->nsec3_count > 0);
	for (size_t i = 0; i < z->nsec3_count; i++) {
		const zone_node_t *node = zone_nsec3_node(z, i);
		const zone_node_t *next = zone_nsec3_node(z, (i + 1) % z->nsec3_count);
		nsec3_rd_t r = parse(node);
		uint8_t hash[NSEC3_HASH_LEN];
		CU_ASSERT_TRUE(nsec3_owner_hash(next->owner, hash));
		CU_ASSERT_EQUAL(memcmp(r.next, hash, NSEC3_HASH_LEN), 0);
		CU_ASSERT_TRUE(dname_equal(dname_parent(node->owner), z->apex));
		CU_ASSERT(i == 0 ||
		          dname_canonical_cmp(zone_nsec3_node(z, i - 1)->owner, node->owner) < 0);
		CU_ASSERT_EQUAL(r.alg, NSEC3_ALG_SHA1);
		CU_ASSERT_EQUAL(r.flags, p->opt_out ? NSEC3_FLAG_OPT_OUT : 0);
		CU_ASSERT_EQUAL(r.iterations, p->iterations);
		CU_ASSERT_EQUAL(r.salt_len, p->salt_len);
		CU_ASSERT_EQUAL(memcmp(r.salt, p->salt, p->salt_len), 0);
	}
}

/* The apex NSEC3PARAM is "1 0 iterations salt", TTL 0, flags 0. */
static void check_nsec3param(const zone_t *z, const nsec3_params_t *p)
{
	const zone_rrset_t *r = zone_apex_rrset(z, ZONE_TYPE_NSEC3PARAM);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->ttl, 0);
	CU_ASSERT_EQUAL(r->count, 1);
	zone_rdata_t rd;
	size_t pos = 0;
	CU_ASSERT_TRUE_FATAL(zone_rrset_next(r, &pos, &rd));
	CU_ASSERT_EQUAL_FATAL(rd.len, 5u + p->salt_len);
	CU_ASSERT_EQUAL(rd.data[0], 1);
	CU_ASSERT_EQUAL(rd.data[1], 0);
	CU_ASSERT_EQUAL(rd.data[2] << 8 | rd.data[3], p->iterations);
	CU_ASSERT_EQUAL(rd.data[4], p->salt_len);
	CU_ASSERT_EQUAL(memcmp(rd.data + 5, p->salt, p->salt_len), 0);
}

/* A name of len octets in wire form (200 <= len <= 255), in presentation
 * form: three 63-octet labels and one more (static buffer). */
static const char *long_apex(size_t len)
{
	static char text[300];
	text[0] = '\0';
	for (int i = 0; i < 3; i++) {
		strcat(text, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	}
	size_t last = len - 3 * 64 - 2; /* its length octet and the root */
	size_t end = strlen(text);
	memset(text + end, 'b', last);
	strcpy(text + end + last, ".");
	return text;
}

/* --- hashing ------------------------------------------------------------- */

static void test_nsec3_hash_matches_rfc5155_vectors(void)
{
	FILE *f = fopen(testdata("nsec3-hash-rfc5155/hashes.txt"), "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	nsec3_params_t p = params(12, "aabbccdd", false);
	nsec3_hasher_t *h = NULL;
	CU_ASSERT_EQUAL_FATAL(nsec3_hasher_new(&p, &h), NSEC_OK);
	char line[512], name[300], want[64];
	size_t checked = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || sscanf(line, "%299s %63s", name, want) != 2) {
			continue;
		}
		uint8_t hash[NSEC3_HASH_LEN], again[NSEC3_HASH_LEN];
		char label[NSEC3_LABEL_LEN + 1];
		CU_ASSERT_EQUAL(nsec3_hasher_hash(h, nsec_testzone_wire(name), hash), NSEC_OK);
		nsec3_base32hex(hash, label);
		if (strcmp(label, want) != 0) {
			fprintf(stderr, "\n  %s: %s, want %s\n", name, label, want);
			CU_FAIL("RFC 5155 hash");
		}
		CU_ASSERT_EQUAL(nsec3_hash(&p, nsec_testzone_wire(name), again), NSEC_OK);
		CU_ASSERT_EQUAL(memcmp(hash, again, NSEC3_HASH_LEN), 0);
		checked++;
	}
	fclose(f);
	nsec3_hasher_free(h);
	CU_ASSERT_EQUAL(checked, 11);
}

static void test_nsec3_hash_ignores_case(void)
{
	nsec3_params_t p = params(12, "aabbccdd", false);
	uint8_t a[NSEC3_HASH_LEN], b[NSEC3_HASH_LEN];
	char label[NSEC3_LABEL_LEN + 1];
	CU_ASSERT_EQUAL(nsec3_hash(&p, nsec_testzone_wire("X.W.Example."), a), NSEC_OK);
	CU_ASSERT_EQUAL(nsec3_hash(&p, nsec_testzone_wire("x.w.example."), b), NSEC_OK);
	CU_ASSERT_EQUAL(memcmp(a, b, NSEC3_HASH_LEN), 0);
	nsec3_base32hex(a, label);
	CU_ASSERT_STRING_EQUAL(label, "b4um86eghhds6nea196smvmlo4ors995");
	/* No salt, no extra iteration (RFC 9276 defaults); checked with
	 * ldns-nsec3-hash -t 0. */
	nsec3_params_t none = params(0, "", false);
	CU_ASSERT_EQUAL(nsec3_hash(&none, nsec_testzone_wire("t.test."), a), NSEC_OK);
	nsec3_base32hex(a, label);
	CU_ASSERT_STRING_EQUAL(label, "i1n1oa323bv8vrfqoig21lgdnrsn06vv");
}

static void test_nsec3_owner_names_round_trip(void)
{
	uint8_t hash[NSEC3_HASH_LEN], back[NSEC3_HASH_LEN];
	for (size_t i = 0; i < NSEC3_HASH_LEN; i++) {
		hash[i] = (uint8_t)(0x9d * i + 7);
	}
	uint8_t owner[DNAME_MAXLEN];
	size_t len = 0;
	CU_ASSERT_EQUAL(nsec3_owner(hash, nsec_testzone_wire("example."), owner, &len), NSEC_OK);
	CU_ASSERT_EQUAL(len, 1 + 32 + 9);
	CU_ASSERT_EQUAL(owner[0], 32);
	CU_ASSERT_TRUE(nsec3_owner_hash(owner, back));
	CU_ASSERT_EQUAL(memcmp(hash, back, NSEC3_HASH_LEN), 0);
	/* Upper case reads back too (BIND writes it so). */
	CU_ASSERT_TRUE(nsec3_owner_hash(
	        nsec_testzone_wire("0P9MHAVEQVM6T7VBL5LOP2U3T2RP3TOM.example."), back));
	char label[NSEC3_LABEL_LEN + 1];
	nsec3_base32hex(back, label);
	CU_ASSERT_STRING_EQUAL(label, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom");
	/* Not a hash label. */
	CU_ASSERT_FALSE(nsec3_owner_hash(
	        nsec_testzone_wire("0p9mhaveqvm6t7vbl5lop2u3t2rp3to.example."), back));
	CU_ASSERT_FALSE(nsec3_owner_hash(
	        nsec_testzone_wire("0p9mhaveqvm6t7vbl5lop2u3t2rp3tow.example."), back));
	CU_ASSERT_FALSE(nsec3_owner_hash(
	        nsec_testzone_wire("0p9mhaveqvm6t7vbl5lop2u3t2rp3to-.example."), back));
	CU_ASSERT_FALSE(nsec3_owner_hash(nsec_testzone_wire("example."), back));
	CU_ASSERT_STRING_EQUAL(label, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom");

	/* The longest apex that still fits: 222 octets (1 + 32 + 222 = 255). */
	CU_ASSERT_EQUAL_FATAL(dname_length(nsec_testzone_wire(long_apex(222))), 222);
	CU_ASSERT_EQUAL(nsec3_owner(hash, nsec_testzone_wire(long_apex(222)), owner, &len),
	                NSEC_OK);
	CU_ASSERT_EQUAL(len, 255);
	len = 7;
	CU_ASSERT_EQUAL(nsec3_owner(hash, nsec_testzone_wire(long_apex(223)), owner, &len),
	                NSEC_ERR_NAME_TOO_LONG);
	CU_ASSERT_EQUAL(len, 7);
}

/* --- chains -------------------------------------------------------------- */

/* out's NSEC3 records are exactly the BIND-signed file's. */
static void check_equals_bind(const zone_t *out, const nsec_testzone_rrs_t *bind)
{
	CU_ASSERT_EQUAL(out->nsec3_count, bind->n);
	for (size_t i = 0; i < bind->n; i++) {
		const nsec_testzone_rr_t *want = bind->v[i];
		const zone_node_t *node = nsec3_node(out, want->owner);
		if (node == NULL) {
			fprintf(stderr, "\n  missing %s\n", nsec_testzone_name(want->owner));
			CU_FAIL("NSEC3 owner");
			continue;
		}
		const zone_rrset_t *r = node->slots[0].data;
		zone_rdata_t rd;
		size_t pos = 0;
		CU_ASSERT_TRUE_FATAL(zone_rrset_next(r, &pos, &rd));
		CU_ASSERT_EQUAL(r->ttl, want->ttl);
		CU_ASSERT_EQUAL(rd.len, want->len);
		if (rd.len != want->len || memcmp(rd.data, want->data, rd.len) != 0) {
			fprintf(stderr, "\n  %s differs\n", nsec_testzone_name(want->owner));
			CU_FAIL("NSEC3 RDATA");
		}
	}
}

static void test_nsec3_chain_equals_bind_on_rfc4035_example(void)
{
	/* BIND 9.11's NSEC3 file (1 0 10 DEADBEEF) less its RRSIG, NSEC3 and
	 * NSEC3PARAM records: every NSEC3 RDATA (flags, parameters, next hash,
	 * bitmap) byte for byte, the TTLs, the owners. */
	zone_t *z = NULL;
	nsec_testzone_rrs_t bind = {0};
	CU_ASSERT_EQUAL_FATAL(
	        nsec_testzone_load(testdata("rfc4035-appendix-a/example.bind-signed-nsec3.zone"),
	                           NULL, "example.", &z, &bind),
	        0);
	CU_ASSERT_EQUAL(bind.n, 22);
	nsec3_params_t p = params(10, "deadbeef", false);
	zone_t *out = build(z, &p);
	check_equals_bind(out, &bind);
	check_closed(out, &p);
	check_nsec3param(out, &p);
	zone_free(out);
	zone_free(z);
	nsec_testzone_rrs_free(&bind);
}

static void test_nsec3_chain_of_rfc4035_unsigned_zone_matches_bind_for_shared_names(void)
{
	/* The RFC part alone has fewer names than BIND's file: each of our
	 * NSEC3 records has an owner in BIND's chain, with the same types
	 * (BIND's apex has DNSKEY besides) and parameters. */
	zone_t *z = NULL;
	nsec_testzone_rrs_t bind = {0};
	CU_ASSERT_EQUAL_FATAL(
	        nsec_testzone_load(testdata("rfc4035-appendix-a/example.bind-signed-nsec3.zone"),
	                           NULL, "example.", NULL, &bind),
	        0);
	CU_ASSERT_EQUAL_FATAL(
	        nsec_testzone_load(testdata("rfc4035-appendix-a/example.unsigned.zone"), NULL,
	                           "example.", &z, NULL),
	        0);
	nsec3_params_t p = params(10, "deadbeef", false);
	zone_t *out = build(z, &p);
	check_closed(out, &p);
	/* example, a (NS DS), ai, b (NS), ns1, ns2, w (ENT), *.w, x.w, y.w
	 * (ENT), x.y.w, xx. */
	CU_ASSERT_EQUAL(out->nsec3_count, 12);
	for (size_t i = 0; i < out->nsec3_count; i++) {
		const nsec_testzone_rr_t *want = NULL;
		for (size_t k = 0; k < bind.n; k++) {
			if (dname_equal(bind.v[k]->owner, zone_nsec3_node(out, i)->owner)) {
				want = bind.v[k];
			}
		}
		CU_ASSERT_PTR_NOT_NULL_FATAL(want);
		nsec3_rd_t r = parse(zone_nsec3_node(out, i));
		size_t head = 6u + r.salt_len + NSEC3_HASH_LEN;
		char ours[256], theirs[256];
		snprintf(ours, sizeof(ours), "%s", nsec_testzone_types(r.bitmap, r.blen));
		snprintf(theirs, sizeof(theirs), "%s",
		         nsec_testzone_types(want->data + head, want->len - head));
		if (dname_equal(zone_nsec3_node(out, i)->owner,
		                nsec_testzone_wire("q0tt0cnbos6ecvmbdbacq2jbfi6u53g5.example."))) {
			CU_ASSERT_STRING_EQUAL(ours, "NS SOA MX RRSIG NSEC3PARAM");
			CU_ASSERT_STRING_EQUAL(theirs, "NS SOA MX RRSIG DNSKEY NSEC3PARAM");
		} else {
			CU_ASSERT_STRING_EQUAL(ours, theirs);
		}
		CU_ASSERT_EQUAL(memcmp(want->data, "\x01\x00\x00\x0a\x04\xde\xad\xbe\xef", 9), 0);
	}
	zone_free(out);
	zone_free(z);
	nsec_testzone_rrs_free(&bind);
}

typedef struct {
	const char *hash; /* of the name in the comment */
	const char *next;
	const char *types;
} expect3_t;

static void check_table(const zone_t *out, const expect3_t *want, size_t n)
{
	CU_ASSERT_EQUAL(out->nsec3_count, n);
	for (size_t k = 0; k < n && k < out->nsec3_count; k++) {
		char owner[NSEC3_LABEL_LEN + 1];
		uint8_t hash[NSEC3_HASH_LEN];
		CU_ASSERT_TRUE_FATAL(nsec3_owner_hash(zone_nsec3_node(out, k)->owner, hash));
		nsec3_base32hex(hash, owner);
		nsec3_rd_t r = parse(zone_nsec3_node(out, k));
		char next[NSEC3_LABEL_LEN + 1];
		nsec3_base32hex(r.next, next);
		const char *types = nsec_testzone_types(r.bitmap, r.blen);
		if (strcmp(owner, want[k].hash) != 0 || strcmp(next, want[k].next) != 0 ||
		    strcmp(types, want[k].types) != 0) {
			fprintf(stderr, "\n  #%zu: %s %s [%s], want %s %s [%s]\n", k, owner, next,
			        types, want[k].hash, want[k].next, want[k].types);
			CU_FAIL("NSEC3 record");
		}
		CU_ASSERT_EQUAL(zone_nsec3_node(out, k)->slots[0].data->ttl, 300);
	}
}

static void test_nsec3_chain_equals_dnssec_signzone_at_cuts_ents_wildcards_dname(void)
{
	/* dnssec-signzone 9.18.49 -3 - on nsec_testzone_sample: 16 records.
	 * Empty non-terminals get empty bitmaps, the ENT x.ins made only by
	 * occluded names gets nothing, nor do glue and data below the DNAME;
	 * the insecure cuts have "NS" alone (no RRSIG: nothing signed there),
	 * the secure ones "NS DS RRSIG" (no TXT), the apex NSEC3PARAM. */
	static const expect3_t want[] = {
	        {"28amjflqmqs9l01sjhvghpdl5ndjado4", "3psnp5ab1bgl4h445vfr1s8dafkg1qlg",
	         ""}, /* ent3 */
	        {"3psnp5ab1bgl4h445vfr1s8dafkg1qlg", "5d40pp9nuip4rr32hp6e34k0rtslpnr9",
	         "TXT RRSIG"}, /* *.w */
	        {"5d40pp9nuip4rr32hp6e34k0rtslpnr9", "5nnv4o1dapordikn8gt4a4lt7nrlf3gk",
	         "NS DS RRSIG"}, /* s.ent3 */
	        {"5nnv4o1dapordikn8gt4a4lt7nrlf3gk", "6b04i3b02tkt2etrmf4d2n7g3nkbr820",
	         ""}, /* e1 */
	        {"6b04i3b02tkt2etrmf4d2n7g3nkbr820", "8niiu0bjgile24kejo10i7ugclnaubi0",
	         "NS DS RRSIG"}, /* sec */
	        {"8niiu0bjgile24kejo10i7ugclnaubi0", "daffijtsqi0el5f62op0q0plsh992dfa",
	         "A RRSIG"}, /* ns1 */
	        {"daffijtsqi0el5f62op0q0plsh992dfa", "dcoq79dc1luukv9fvv1c3p23ibsjag7o",
	         ""}, /* ent2 */
	        {"dcoq79dc1luukv9fvv1c3p23ibsjag7o", "dkh5l9mhq6ojj5sec11umj02maodjao3",
	         "A RRSIG"}, /* x.e2.e1 */
	        {"dkh5l9mhq6ojj5sec11umj02maodjao3", "i1n1oa323bv8vrfqoig21lgdnrsn06vv",
	         "RRSIG HTTPS CAA TYPE65534"}, /* h */
	        {"i1n1oa323bv8vrfqoig21lgdnrsn06vv", "iej8rmcf9ae94ebfjmufekh202urv1uq",
	         "NS SOA RRSIG DNSKEY NSEC3PARAM"}, /* apex */
	        {"iej8rmcf9ae94ebfjmufekh202urv1uq", "nnnu41iigaemdrckhgn97l0s96d5cjj2",
	         "NS"}, /* d.ent2 */
	        {"nnnu41iigaemdrckhgn97l0s96d5cjj2", "o1qq8svg70lmlfcvvesq31ou297fr0v8",
	         ""}, /* w */
	        {"o1qq8svg70lmlfcvvesq31ou297fr0v8", "rjpkvlo5sbu6as459bbc2rc23saaibav",
	         "NS"}, /* ins */
	        {"rjpkvlo5sbu6as459bbc2rc23saaibav", "s1q9786d03euds9mn0melte82mp46d1h",
	         ""}, /* e2.e1 */
	        {"s1q9786d03euds9mn0melte82mp46d1h", "s798a8h6ufastsv4nur8amq9585h064l",
	         "DNAME RRSIG"}, /* dn */
	        {"s798a8h6ufastsv4nur8amq9585h064l", "28amjflqmqs9l01sjhvghpdl5ndjado4",
	         "AAAA RRSIG"}, /* MiXeD */
	};
	zone_t *z = nsec_testzone_text(nsec_testzone_sample, "t.test.");
	nsec3_params_t p = params(0, "", false);
	zone_t *out = build(z, &p);
	check_table(out, want, sizeof(want) / sizeof(want[0]));
	check_closed(out, &p);
	check_nsec3param(out, &p);
	zone_free(out);
	zone_free(z);
}

static void test_nsec3_opt_out_equals_dnssec_signzone(void)
{
	/* dnssec-signzone 9.18.49 -3 - -A: the insecure delegations ins and
	 * d.ent2 are left out, and so is ent2, the empty non-terminal above
	 * d.ent2 alone (RFC 5155 7.1); ent3 stays (its s.ent3 has a DS). The
	 * opt-out flag is on every record, NSEC3PARAM flags stay 0. */
	static const expect3_t want[] = {
	        {"28amjflqmqs9l01sjhvghpdl5ndjado4", "3psnp5ab1bgl4h445vfr1s8dafkg1qlg", ""},
	        {"3psnp5ab1bgl4h445vfr1s8dafkg1qlg", "5d40pp9nuip4rr32hp6e34k0rtslpnr9",
	         "TXT RRSIG"},
	        {"5d40pp9nuip4rr32hp6e34k0rtslpnr9", "5nnv4o1dapordikn8gt4a4lt7nrlf3gk",
	         "NS DS RRSIG"},
	        {"5nnv4o1dapordikn8gt4a4lt7nrlf3gk", "6b04i3b02tkt2etrmf4d2n7g3nkbr820", ""},
	        {"6b04i3b02tkt2etrmf4d2n7g3nkbr820", "8niiu0bjgile24kejo10i7ugclnaubi0",
	         "NS DS RRSIG"},
	        {"8niiu0bjgile24kejo10i7ugclnaubi0", "dcoq79dc1luukv9fvv1c3p23ibsjag7o", "A RRSIG"},
	        {"dcoq79dc1luukv9fvv1c3p23ibsjag7o", "dkh5l9mhq6ojj5sec11umj02maodjao3", "A RRSIG"},
	        {"dkh5l9mhq6ojj5sec11umj02maodjao3", "i1n1oa323bv8vrfqoig21lgdnrsn06vv",
	         "RRSIG HTTPS CAA TYPE65534"},
	        {"i1n1oa323bv8vrfqoig21lgdnrsn06vv", "nnnu41iigaemdrckhgn97l0s96d5cjj2",
	         "NS SOA RRSIG DNSKEY NSEC3PARAM"},
	        {"nnnu41iigaemdrckhgn97l0s96d5cjj2", "rjpkvlo5sbu6as459bbc2rc23saaibav", ""},
	        {"rjpkvlo5sbu6as459bbc2rc23saaibav", "s1q9786d03euds9mn0melte82mp46d1h", ""},
	        {"s1q9786d03euds9mn0melte82mp46d1h", "s798a8h6ufastsv4nur8amq9585h064l",
	         "DNAME RRSIG"},
	        {"s798a8h6ufastsv4nur8amq9585h064l", "28amjflqmqs9l01sjhvghpdl5ndjado4",
	         "AAAA RRSIG"},
	};
	zone_t *z = nsec_testzone_text(nsec_testzone_sample, "t.test.");
	nsec3_params_t p = params(0, "", true);
	zone_t *out = build(z, &p);
	check_table(out, want, sizeof(want) / sizeof(want[0]));
	check_closed(out, &p);
	check_nsec3param(out, &p);
	zone_free(out);
	zone_free(z);
}

static void test_nsec3_select_takes_ents_only_above_chain_names(void)
{
	zone_t *z = nsec_testzone_text(nsec_testzone_sample, "t.test.");
	bool *in = malloc(z->count * sizeof(*in));
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	size_t n = 0, i = 0;
	nsec3_select(z, false, in, &n);
	CU_ASSERT_EQUAL(n, 16);
	CU_ASSERT_TRUE(zone_find(z, nsec_testzone_wire("ent2.t.test."), &i));
	CU_ASSERT_TRUE(in[i]);
	CU_ASSERT_TRUE(zone_find(z, nsec_testzone_wire("x.ins.t.test."), &i));
	CU_ASSERT_FALSE(in[i]);
	nsec3_select(z, true, in, &n);
	CU_ASSERT_EQUAL(n, 13);
	CU_ASSERT_TRUE(zone_find(z, nsec_testzone_wire("ent2.t.test."), &i));
	CU_ASSERT_FALSE(in[i]);
	CU_ASSERT_TRUE(zone_find(z, nsec_testzone_wire("d.ent2.t.test."), &i));
	CU_ASSERT_FALSE(in[i]);
	CU_ASSERT_TRUE(zone_find(z, nsec_testzone_wire("ent3.t.test."), &i));
	CU_ASSERT_TRUE(in[i]);
	free(in);
	zone_free(z);

	/* Nested empty non-terminals, one with a signed name far below, one
	 * with only an opted-out delegation. */
	z = nsec_testzone_text("@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"
	                       "a.b.c.d A 192.0.2.2\nx.b.c.d NS ns\nz.y.c.d NS ns\n",
	                       "n.test.");
	in = malloc(z->count * sizeof(*in));
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	nsec3_select(z, true, in, &n);
	static const struct {
		const char *name;
		bool in;
	} want[] = {
	        {"d.n.test.", true},        {"c.d.n.test.", true},      {"b.c.d.n.test.", true},
	        {"a.b.c.d.n.test.", true},  {"x.b.c.d.n.test.", false}, {"y.c.d.n.test.", false},
	        {"z.y.c.d.n.test.", false},
	};
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		CU_ASSERT_TRUE_FATAL(zone_find(z, nsec_testzone_wire(want[k].name), &i));
		CU_ASSERT_EQUAL(in[i], want[k].in);
	}
	CU_ASSERT_EQUAL(n, 6); /* apex, ns, d, c.d, b.c.d, a.b.c.d */
	free(in);
	zone_free(z);
}

static void test_nsec3_refuses_more_than_50_iterations(void)
{
	zone_t *z = nsec_testzone_text(nsec_testzone_sample, "t.test.");
	nsec3_params_t p = params(51, "", false);
	zone_t *out = (zone_t *)&out;
	CU_ASSERT_EQUAL(nsec3_build(z, &p, &out, NULL), NSEC_ERR_ITERATIONS);
	CU_ASSERT_PTR_EQUAL(out, (zone_t *)&out);
	p.iterations = NSEC3_MAX_ITERATIONS;
	out = build(z, &p);
	check_closed(out, &p);
	check_nsec3param(out, &p);
	zone_free(out);
	CU_ASSERT_PTR_NULL(zone_apex_rrset(z, ZONE_TYPE_NSEC3PARAM));
	CU_ASSERT_EQUAL(z->nsec3_count, 0);
	zone_free(z);
}

static void test_nsec3_build_without_soa_or_with_too_long_apex_fails(void)
{
	nsec3_params_t p = params(0, "", false);
	zone_t *out = (zone_t *)&out;
	zone_t *z = nsec_testzone_text("@ NS ns\nns A 192.0.2.1\n", "nosoa.test.");
	CU_ASSERT_EQUAL(nsec3_build(z, &p, &out, NULL), NSEC_ERR_NO_SOA);
	zone_free(z);
	z = nsec_testzone_text("@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n", long_apex(223));
	CU_ASSERT_EQUAL(nsec3_build(z, &p, &out, NULL), NSEC_ERR_NAME_TOO_LONG);
	CU_ASSERT_PTR_EQUAL(out, (zone_t *)&out);
	zone_free(z);
}

static void test_nsec3_chain_reports_a_hash_collision_with_both_names(void)
{
	/* SHA-1 collisions of names cannot be made: forge the hashes. */
	zone_t *z = nsec_testzone_text(nsec_testzone_sample, "t.test.");
	nsec3_params_t p = params(0, "", false);
	size_t a = 0, b = 0, c = 0;
	CU_ASSERT_TRUE_FATAL(zone_find(z, nsec_testzone_wire("ns1.t.test."), &a));
	CU_ASSERT_TRUE_FATAL(zone_find(z, nsec_testzone_wire("h.t.test."), &b));
	CU_ASSERT_TRUE_FATAL(zone_find(z, nsec_testzone_wire("t.test."), &c));
	nsec3_item_t items[3] = {{{0}, (uint32_t)a}, {{0}, (uint32_t)c}, {{0}, (uint32_t)b}};
	memset(items[0].hash, 0x42, NSEC3_HASH_LEN);
	memset(items[1].hash, 0x01, NSEC3_HASH_LEN);
	memset(items[2].hash, 0x42, NSEC3_HASH_LEN);
	zone_node_t **nodes = (zone_node_t **)&nodes;
	nsec3_collision_t coll;
	memset(&coll, 0, sizeof(coll));
	CU_ASSERT_EQUAL(nsec3_chain(z, &p, 300, items, 3, &nodes, &coll), NSEC_ERR_COLLISION);
	CU_ASSERT_PTR_EQUAL(nodes, (zone_node_t **)&nodes);
	/* Both names, in zone order (h before ns1). */
	CU_ASSERT_TRUE(dname_equal(coll.name1, nsec_testzone_wire("h.t.test.")));
	CU_ASSERT_TRUE(dname_equal(coll.name2, nsec_testzone_wire("ns1.t.test.")));
	CU_ASSERT_STRING_EQUAL(nsec_strerror(NSEC_ERR_COLLISION), "NSEC3 hash collision");
	/* Without the collision: three nodes, closed. */
	items[0] = (nsec3_item_t){{0}, (uint32_t)a};
	items[1] = (nsec3_item_t){{0}, (uint32_t)c};
	items[2] = (nsec3_item_t){{0}, (uint32_t)b};
	memset(items[0].hash, 0x42, NSEC3_HASH_LEN);
	memset(items[1].hash, 0x01, NSEC3_HASH_LEN);
	memset(items[2].hash, 0x43, NSEC3_HASH_LEN);
	CU_ASSERT_EQUAL_FATAL(nsec3_chain(z, &p, 300, items, 3, &nodes, NULL), NSEC_OK);
	nsec3_rd_t r = parse(nodes[2]);
	CU_ASSERT_EQUAL(memcmp(r.next, items[0].hash, NSEC3_HASH_LEN), 0);
	CU_ASSERT_STRING_EQUAL(nsec_testzone_types(r.bitmap, r.blen), "RRSIG HTTPS CAA TYPE65534");
	for (size_t i = 0; i < 3; i++) {
		zone_node_unref(nodes[i]);
	}
	free(nodes);
	zone_free(z);
}

static void test_nsec3_rebuild_shares_unchanged_records_and_drops_nsec(void)
{
	zone_t *z = nsec_testzone_text(nsec_testzone_sample, "t.test.");
	zone_t *with_nsec = NULL;
	CU_ASSERT_EQUAL_FATAL(nsec_build(z, &with_nsec), NSEC_OK);
	nsec3_params_t p = params(0, "", false);
	zone_t *first = build(with_nsec, &p);
	for (size_t i = 0; i < first->count; i++) {
		CU_ASSERT_PTR_NULL(zone_node_find(zone_entry(first, i)->node, ZONE_TYPE_NSEC));
	}
	/* Same parameters again: the apex and every NSEC3 node are shared. */
	zone_t *second = build(first, &p);
	CU_ASSERT_PTR_EQUAL(zone_entry(second, 0)->node, zone_entry(first, 0)->node);
	CU_ASSERT_EQUAL_FATAL(second->nsec3_count, first->nsec3_count);
	for (size_t i = 0; i < second->nsec3_count; i++) {
		CU_ASSERT_PTR_EQUAL(zone_nsec3_node(second, i), zone_nsec3_node(first, i));
	}
	/* A salt changes every record and the NSEC3PARAM. */
	nsec3_params_t salted = params(0, "ab", false);
	zone_t *third = build(second, &salted);
	CU_ASSERT_PTR_NOT_EQUAL(zone_entry(third, 0)->node, zone_entry(second, 0)->node);
	check_nsec3param(third, &salted);
	check_closed(third, &salted);
	for (size_t i = 0; i < third->nsec3_count; i++) {
		CU_ASSERT_PTR_NULL(nsec3_node(second, zone_nsec3_node(third, i)->owner));
	}
	/* And back to NSEC: no NSEC3PARAM, no NSEC3 nodes. */
	zone_t *back = NULL;
	CU_ASSERT_EQUAL_FATAL(nsec_build(third, &back), NSEC_OK);
	CU_ASSERT_EQUAL(back->nsec3_count, 0);
	CU_ASSERT_PTR_NULL(zone_apex_rrset(back, ZONE_TYPE_NSEC3PARAM));
	zone_free(back);
	zone_free(third);
	zone_free(second);
	zone_free(first);
	zone_free(with_nsec);
	zone_free(z);
}

static void test_nsec3_chain_of_100k_delegations(void)
{
	/* A TLD-like zone: 100k delegations, a third with DS; with opt-out
	 * only those and the apex names are in the chain. */
	const size_t n = 100000;
	zone_node_t **nodes = malloc((n + 2) * sizeof(*nodes));
	CU_ASSERT_PTR_NOT_NULL_FATAL(nodes);
	zone_t *seed = nsec_testzone_text("@ SOA ns hm 1 2 3 4 5\n@ NS ns.example.\n", "tld.");
	uint8_t ns_rd[] = "\002ns\007example\000";
	uint8_t ds_rd[36] = {0x30, 0x39, 13, 2};
	zone_rdata_t ns = {ns_rd, sizeof(ns_rd) - 1}, ds = {ds_rd, sizeof(ds_rd)};
	zone_rrset_t *ns_set = NULL, *ds_set = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_NS, 86400, &ns, 1, &ns_set), ZONE_OK);
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_DS, 86400, &ds, 1, &ds_set), ZONE_OK);
	for (size_t i = 0; i < n; i++) {
		char text[64];
		uint8_t owner[DNAME_MAXLEN];
		snprintf(text, sizeof(text), "d%zu.tld.", i);
		CU_ASSERT_EQUAL_FATAL(dname_from_str(text, NULL, owner, sizeof(owner), NULL),
		                      ZONE_OK);
		zone_slot_t slots[2] = {{ns_set, NULL}, {ds_set, NULL}};
		CU_ASSERT_EQUAL_FATAL(zone_node_new(owner, slots, i % 3 == 0 ? 2 : 1, &nodes[i]),
		                      ZONE_OK);
	}
	nodes[n] = zone_node_ref(zone_entry(seed, 0)->node);
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_new(seed->apex, nodes, n + 1, &z, NULL), ZONE_OK);
	nsec3_params_t p = params(0, "", false);
	zone_t *out = build(z, &p);
	CU_ASSERT_EQUAL(out->nsec3_count, n + 1);
	check_closed(out, &p);
	zone_free(out);
	p.opt_out = true;
	out = build(z, &p);
	CU_ASSERT_EQUAL(out->nsec3_count, (n + 2) / 3 + 1);
	check_closed(out, &p);
	zone_free(out);
	zone_free(z);
	zone_rrset_unref(ns_set);
	zone_rrset_unref(ds_set);
	zone_free(seed);
	free(nodes);
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"test_nsec3_hash_matches_rfc5155_vectors",
	         test_nsec3_hash_matches_rfc5155_vectors},
	        {"test_nsec3_hash_ignores_case", test_nsec3_hash_ignores_case},
	        {"test_nsec3_owner_names_round_trip", test_nsec3_owner_names_round_trip},
	        {"test_nsec3_chain_equals_bind_on_rfc4035_example",
	         test_nsec3_chain_equals_bind_on_rfc4035_example},
	        {"test_nsec3_chain_of_rfc4035_unsigned_zone_matches_bind_for_shared_names",
	         test_nsec3_chain_of_rfc4035_unsigned_zone_matches_bind_for_shared_names},
	        {"test_nsec3_chain_equals_dnssec_signzone_at_cuts_ents_wildcards_dname",
	         test_nsec3_chain_equals_dnssec_signzone_at_cuts_ents_wildcards_dname},
	        {"test_nsec3_opt_out_equals_dnssec_signzone",
	         test_nsec3_opt_out_equals_dnssec_signzone},
	        {"test_nsec3_select_takes_ents_only_above_chain_names",
	         test_nsec3_select_takes_ents_only_above_chain_names},
	        {"test_nsec3_refuses_more_than_50_iterations",
	         test_nsec3_refuses_more_than_50_iterations},
	        {"test_nsec3_build_without_soa_or_with_too_long_apex_fails",
	         test_nsec3_build_without_soa_or_with_too_long_apex_fails},
	        {"test_nsec3_chain_reports_a_hash_collision_with_both_names",
	         test_nsec3_chain_reports_a_hash_collision_with_both_names},
	        {"test_nsec3_rebuild_shares_unchanged_records_and_drops_nsec",
	         test_nsec3_rebuild_shares_unchanged_records_and_drops_nsec},
	        {"test_nsec3_chain_of_100k_delegations", test_nsec3_chain_of_100k_delegations},
	        {NULL, NULL},
	};
	return testutil_run("nsec3", cases);
}
