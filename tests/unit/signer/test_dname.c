#include "signer/zone/dname.h"

#include <stdlib.h>
#include <string.h>

#include "signer/zone/zone_error.h"
#include "tests/support/testutil.h"

/* Wire form of an absolute or origin-less name; the test fails if it does not
 * parse. Returns out. */
static uint8_t *wire(const char *text, uint8_t out[DNAME_MAXLEN])
{
	size_t len = 0;
	int rc = dname_from_str(text, NULL, out, DNAME_MAXLEN, &len);
	CU_ASSERT_EQUAL_FATAL(rc, ZONE_OK);
	CU_ASSERT_EQUAL(len, dname_length(out));
	return out;
}

/* Presentation form of name (static buffer, overwritten by the next call). */
static const char *text(const uint8_t *name)
{
	static char buf[DNAME_STR_MAXLEN];
	int rc = dname_to_str(name, buf, sizeof(buf));
	CU_ASSERT_EQUAL_FATAL(rc, ZONE_OK);
	return buf;
}

static void test_dname_from_str_absolute_name(void)
{
	uint8_t out[DNAME_MAXLEN];
	size_t len = 0;
	CU_ASSERT_EQUAL(dname_from_str("www.Example.com.", NULL, out, sizeof(out), &len), ZONE_OK);
	CU_ASSERT_EQUAL(len, 17);
	CU_ASSERT_EQUAL(memcmp(out, "\003www\007Example\003com\000", 17), 0);
	CU_ASSERT_EQUAL(dname_length(out), 17);

	CU_ASSERT_EQUAL(dname_from_str(".", NULL, out, sizeof(out), &len), ZONE_OK);
	CU_ASSERT_EQUAL(len, 1);
	CU_ASSERT_EQUAL(out[0], 0);
	CU_ASSERT_EQUAL(dname_length(out), 1);

	/* len is optional. */
	CU_ASSERT_EQUAL(dname_from_str("a.", NULL, out, sizeof(out), NULL), ZONE_OK);
	CU_ASSERT_EQUAL(memcmp(out, "\001a\000", 3), 0);
}

static void test_dname_from_str_relative_names_take_origin(void)
{
	uint8_t origin[DNAME_MAXLEN];
	uint8_t out[DNAME_MAXLEN];
	size_t len = 0;
	wire("example.com.", origin);

	CU_ASSERT_EQUAL(dname_from_str("www", origin, out, sizeof(out), &len), ZONE_OK);
	CU_ASSERT_EQUAL(len, 17);
	CU_ASSERT_EQUAL(memcmp(out, "\003www\007example\003com\000", 17), 0);

	CU_ASSERT_EQUAL(dname_from_str("a.b", origin, out, sizeof(out), &len), ZONE_OK);
	CU_ASSERT_STRING_EQUAL(text(out), "a.b.example.com.");

	CU_ASSERT_EQUAL(dname_from_str("@", origin, out, sizeof(out), &len), ZONE_OK);
	CU_ASSERT_EQUAL(len, 13);
	CU_ASSERT_EQUAL(memcmp(out, origin, 13), 0);

	/* An absolute name ignores origin. */
	CU_ASSERT_EQUAL(dname_from_str("www.", origin, out, sizeof(out), &len), ZONE_OK);
	CU_ASSERT_EQUAL(len, 5);
	CU_ASSERT_STRING_EQUAL(text(out), "www.");

	/* An escaped final dot leaves the name relative. */
	CU_ASSERT_EQUAL(dname_from_str("a\\.", origin, out, sizeof(out), &len), ZONE_OK);
	CU_ASSERT_STRING_EQUAL(text(out), "a\\..example.com.");

	/* Without origin a relative name is taken as absolute. */
	CU_ASSERT_EQUAL(dname_from_str("www.example", NULL, out, sizeof(out), &len), ZONE_OK);
	CU_ASSERT_EQUAL(len, 13);
	CU_ASSERT_STRING_EQUAL(text(out), "www.example.");

	/* "@" is only special alone. */
	CU_ASSERT_EQUAL(dname_from_str("@.x", origin, out, sizeof(out), &len), ZONE_OK);
	CU_ASSERT_EQUAL(memcmp(out, "\001@\001x\007example", 12), 0);
}

static void test_dname_from_str_decodes_escapes(void)
{
	uint8_t out[DNAME_MAXLEN];
	wire("\\065\\066c.", out);
	CU_ASSERT_EQUAL(memcmp(out, "\003ABc\000", 5), 0);
	wire("a\\.b.example.", out);
	CU_ASSERT_EQUAL(memcmp(out, "\003a.b\007example\000", 13), 0);
	wire("\\000.x.", out);
	CU_ASSERT_EQUAL(memcmp(out, "\001\000\001x\000", 5), 0);
	wire("\\255\\\\\\ .", out);
	CU_ASSERT_EQUAL(memcmp(out, "\003\377\\ \000", 5), 0);
	/* A literal space (the tokeniser's business, not ours) is an octet. */
	wire("a b.", out);
	CU_ASSERT_EQUAL(memcmp(out, "\003a b\000", 5), 0);
}

static void test_dname_round_trips_tricky_names(void)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
	        {"a\\.b.example.", "a\\.b.example."},
	        {"\\000.example.", "\\000.example."},
	        {"a\\032b.example.", "a\\032b.example."},
	        {"a\\ b.example.", "a\\032b.example."},
	        {"WwW.ExAmPlE.", "WwW.ExAmPlE."},
	        {"back\\\\slash.", "back\\\\slash."},
	        {"\\\"q\\\"\\;\\(\\)\\@\\$.", "\\\"q\\\"\\;\\(\\)\\@\\$."},
	        {"\\200\\255\\127\\031\\009.", "\\200\\255\\127\\031\\009."},
	        {"*.example.", "*.example."},
	        {"\\065\\z.", "Az."},
	        {"-_~!#%&'*+,/:<=>?[]^`{|}.", "-_~!#%&'*+,/:<=>?[]^`{|}."},
	        {".", "."},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t first[DNAME_MAXLEN];
		uint8_t second[DNAME_MAXLEN];
		wire(cases[i].in, first);
		const char *printed = text(first);
		CU_ASSERT_STRING_EQUAL(printed, cases[i].out);
		/* The printed form reads back to the same octets. */
		wire(printed, second);
		CU_ASSERT_EQUAL(dname_length(first), dname_length(second));
		CU_ASSERT_EQUAL(memcmp(first, second, dname_length(first)), 0);
	}
}

static void test_dname_to_str_refuses_small_buffer(void)
{
	uint8_t name[DNAME_MAXLEN];
	char out[16];
	wire("a.example.", name);
	memset(out, 'X', sizeof(out));
	/* "a.example." needs 11 bytes with the NUL. */
	CU_ASSERT_EQUAL(dname_to_str(name, out, 10), ZONE_ERR_BUFFER);
	for (size_t i = 0; i < sizeof(out); i++) {
		CU_ASSERT_EQUAL(out[i], 'X');
	}
	CU_ASSERT_EQUAL(dname_to_str(name, out, 11), ZONE_OK);
	CU_ASSERT_STRING_EQUAL(out, "a.example.");

	wire(".", name);
	memset(out, 'X', sizeof(out));
	CU_ASSERT_EQUAL(dname_to_str(name, out, 1), ZONE_ERR_BUFFER);
	CU_ASSERT_EQUAL(out[0], 'X');
	CU_ASSERT_EQUAL(dname_to_str(name, out, 0), ZONE_ERR_BUFFER);
	CU_ASSERT_EQUAL(dname_to_str(name, out, 2), ZONE_OK);
	CU_ASSERT_STRING_EQUAL(out, ".");
}

static void test_dname_str_maxlen_holds_longest_text(void)
{
	/* Three 63-octet labels and one of 61, every octet printed as \DDD:
	 * 255 octets in wire form, 1004 characters. */
	uint8_t name[DNAME_MAXLEN];
	size_t pos = 0;
	const uint8_t sizes[] = {63, 63, 63, 61};
	for (size_t i = 0; i < sizeof(sizes); i++) {
		name[pos++] = sizes[i];
		memset(name + pos, 0xff, sizes[i]);
		pos += sizes[i];
	}
	name[pos++] = 0;
	CU_ASSERT_EQUAL_FATAL(pos, DNAME_MAXLEN);
	CU_ASSERT_EQUAL(dname_length(name), DNAME_MAXLEN);

	static char out[DNAME_STR_MAXLEN];
	CU_ASSERT_EQUAL(dname_to_str(name, out, DNAME_STR_MAXLEN - 1), ZONE_ERR_BUFFER);
	CU_ASSERT_EQUAL_FATAL(dname_to_str(name, out, DNAME_STR_MAXLEN), ZONE_OK);
	CU_ASSERT_EQUAL(strlen(out), DNAME_STR_MAXLEN - 1);

	uint8_t back[DNAME_MAXLEN];
	wire(out, back);
	CU_ASSERT_EQUAL(memcmp(back, name, DNAME_MAXLEN), 0);
}

/* Asserts that text fails with status and leaves out and len alone. */
static void assert_rejected(const char *in, const uint8_t *origin, size_t cap, int status)
{
	uint8_t out[DNAME_MAXLEN + 1];
	size_t len = 12345;
	memset(out, 0xaa, sizeof(out));
	int rc = dname_from_str(in, origin, out, cap, &len);
	CU_ASSERT_EQUAL(rc, status);
	CU_ASSERT_EQUAL(len, 12345);
	for (size_t i = 0; i < sizeof(out); i++) {
		if (out[i] != 0xaa) {
			CU_FAIL("dname_from_str wrote its output on failure");
			break;
		}
	}
}

/* Writes count labels of size octets of 'a' ("aaa.aaa.") into buf. */
static char *labels_of(char *buf, size_t count, size_t size)
{
	char *p = buf;
	for (size_t i = 0; i < count; i++) {
		memset(p, 'a', size);
		p += size;
		*p++ = '.';
	}
	*p = '\0';
	return buf;
}

static void test_dname_from_str_rejects_bad_input(void)
{
	char buf[1024];
	uint8_t out[DNAME_MAXLEN];
	size_t len = 0;

	/* 63 octets is the longest label. */
	CU_ASSERT_EQUAL(dname_from_str(labels_of(buf, 1, 63), NULL, out, sizeof(out), &len),
	                ZONE_OK);
	CU_ASSERT_EQUAL(len, 65);
	assert_rejected(labels_of(buf, 1, 64), NULL, DNAME_MAXLEN, ZONE_ERR_LABEL_TOO_LONG);
	/* A long last label of a relative name, and a long label with escapes. */
	strcpy(buf, "a.");
	labels_of(buf + 2, 1, 64);
	buf[strlen(buf) - 1] = '\0';
	assert_rejected(buf, NULL, DNAME_MAXLEN, ZONE_ERR_LABEL_TOO_LONG);
	for (size_t i = 0; i < 64; i++) {
		memcpy(buf + 4 * i, "\\065", 4);
	}
	strcpy(buf + 4 * 64, ".");
	assert_rejected(buf, NULL, DNAME_MAXLEN, ZONE_ERR_LABEL_TOO_LONG);
	buf[4 * 63] = '.';
	buf[4 * 63 + 1] = '\0';
	CU_ASSERT_EQUAL(dname_from_str(buf, NULL, out, sizeof(out), &len), ZONE_OK);
	CU_ASSERT_EQUAL(len, 65);
	CU_ASSERT_EQUAL(out[63], 'A');
	CU_ASSERT_EQUAL(out[64], 0);

	/* 255 octets is the longest name: 3 x (1 + 63) + (1 + 61) + 1; one octet more fails. */
	labels_of(buf, 3, 63);
	labels_of(buf + strlen(buf), 1, 61);
	CU_ASSERT_EQUAL(dname_from_str(buf, NULL, out, sizeof(out), &len), ZONE_OK);
	CU_ASSERT_EQUAL(len, 255);
	labels_of(buf, 3, 63);
	labels_of(buf + strlen(buf), 1, 62);
	assert_rejected(buf, NULL, DNAME_MAXLEN, ZONE_ERR_NAME_TOO_LONG);
	/* Same without the final dot (absolute since there is no origin). */
	buf[strlen(buf) - 1] = '\0';
	assert_rejected(buf, NULL, DNAME_MAXLEN, ZONE_ERR_NAME_TOO_LONG);
	/* 128 one-octet labels: 257 octets. */
	labels_of(buf, 128, 1);
	assert_rejected(buf, NULL, DNAME_MAXLEN, ZONE_ERR_NAME_TOO_LONG);

	/* A relative name that fits alone but not with the origin. */
	uint8_t origin[DNAME_MAXLEN];
	wire("example.", origin); /* 9 octets */
	labels_of(buf, 3, 63);
	labels_of(buf + strlen(buf), 1, 53);
	buf[strlen(buf) - 1] = '\0'; /* 246 octets, relative */
	CU_ASSERT_EQUAL(dname_from_str(buf, origin, out, sizeof(out), &len), ZONE_OK);
	CU_ASSERT_EQUAL(len, 255);
	labels_of(buf, 3, 63);
	labels_of(buf + strlen(buf), 1, 54);
	buf[strlen(buf) - 1] = '\0'; /* 247 octets, relative */
	assert_rejected(buf, origin, DNAME_MAXLEN, ZONE_ERR_NAME_TOO_LONG);

	assert_rejected("\\256.", NULL, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);
	assert_rejected("\\999", NULL, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);
	assert_rejected("\\1", NULL, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);
	assert_rejected("\\1.", NULL, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);
	assert_rejected("\\12.", NULL, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);
	assert_rejected("a\\1b.", NULL, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);
	assert_rejected("a..b", NULL, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);
	assert_rejected("a..b", origin, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);
	assert_rejected(".a.", NULL, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);
	assert_rejected("..", NULL, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);
	assert_rejected("a\\", NULL, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);
	assert_rejected("a.\\", origin, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);
	assert_rejected("", origin, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);
	assert_rejected("@", NULL, DNAME_MAXLEN, ZONE_ERR_NAME_SYNTAX);

	/* The output buffer: "example." is 9 octets. */
	assert_rejected("example.", NULL, 8, ZONE_ERR_BUFFER);
	assert_rejected("@", origin, 8, ZONE_ERR_BUFFER);
	assert_rejected(".", NULL, 0, ZONE_ERR_BUFFER);
	CU_ASSERT_EQUAL(dname_from_str("example.", NULL, out, 9, &len), ZONE_OK);
	CU_ASSERT_EQUAL(len, 9);
}

static void test_dname_labels_wildcard_and_rrsig_labels(void)
{
	uint8_t n[DNAME_MAXLEN];
	CU_ASSERT_EQUAL(dname_labels(wire("*.a.example.", n)), 3);
	CU_ASSERT_TRUE(dname_is_wildcard(n));
	CU_ASSERT_EQUAL(dname_rrsig_labels(n), 2);

	CU_ASSERT_EQUAL(dname_labels(wire(".", n)), 0);
	CU_ASSERT_FALSE(dname_is_wildcard(n));
	CU_ASSERT_EQUAL(dname_rrsig_labels(n), 0);

	CU_ASSERT_EQUAL(dname_labels(wire("*.", n)), 1);
	CU_ASSERT_TRUE(dname_is_wildcard(n));
	CU_ASSERT_EQUAL(dname_rrsig_labels(n), 0);

	CU_ASSERT_EQUAL(dname_rrsig_labels(wire("www.a.example.", n)), 3);
	CU_ASSERT_FALSE(dname_is_wildcard(n));

	/* Only a whole first label "*" makes a wildcard. */
	CU_ASSERT_FALSE(dname_is_wildcard(wire("a.*.example.", n)));
	CU_ASSERT_EQUAL(dname_rrsig_labels(n), 3);
	CU_ASSERT_FALSE(dname_is_wildcard(wire("a*.example.", n)));
	CU_ASSERT_EQUAL(dname_rrsig_labels(n), 2);
	CU_ASSERT_FALSE(dname_is_wildcard(wire("**.example.", n)));
	CU_ASSERT_EQUAL(dname_rrsig_labels(n), 2);

	char buf[300];
	CU_ASSERT_EQUAL(dname_labels(wire(labels_of(buf, 127, 1), n)), 127);
	CU_ASSERT_EQUAL(dname_length(n), 255);
}

static int cmp_names(const void *x, const void *y)
{
	return dname_canonical_cmp(*(const uint8_t *const *)x, *(const uint8_t *const *)y);
}

static void test_dname_canonical_order_of_rfc4034_example(void)
{
	/* RFC 4034 section 6.1, in canonical order. */
	static const char *const order[] = {
	        "example.",         "a.example.",      "yljkjljk.a.example.",
	        "Z.a.example.",     "zABC.a.EXAMPLE.", "z.example.",
	        "\\001.z.example.", "*.z.example.",    "\\200.z.example.",
	};
	enum { N = sizeof(order) / sizeof(order[0]) };
	uint8_t storage[N][DNAME_MAXLEN];
	for (size_t i = 0; i < N; i++) {
		wire(order[i], storage[i]);
	}
	for (size_t i = 0; i < N; i++) {
		for (size_t j = 0; j < N; j++) {
			int c = dname_canonical_cmp(storage[i], storage[j]);
			CU_ASSERT(i < j ? c < 0 : i > j ? c > 0 : c == 0);
		}
	}

	/* Sort several permutations with qsort: reversed, then shuffled. */
	unsigned seed = 12345;
	for (int round = 0; round < 20; round++) {
		const uint8_t *names[N];
		for (size_t i = 0; i < N; i++) {
			names[i] = storage[N - 1 - i];
		}
		for (size_t i = N - 1; round > 0 && i > 0; i--) {
			seed = seed * 1103515245u + 12345u;
			size_t j = (seed >> 16) % (i + 1);
			const uint8_t *t = names[i];
			names[i] = names[j];
			names[j] = t;
		}
		qsort(names, N, sizeof(names[0]), cmp_names);
		for (size_t i = 0; i < N; i++) {
			CU_ASSERT_STRING_EQUAL(text(names[i]), order[i]);
		}
	}
}

static void test_dname_canonical_cmp_folds_case_and_compares_octets(void)
{
	uint8_t a[DNAME_MAXLEN];
	uint8_t b[DNAME_MAXLEN];
	CU_ASSERT_EQUAL(dname_canonical_cmp(wire("WWW.Example.", a), wire("www.example.", b)), 0);
	CU_ASSERT(dname_canonical_cmp(wire("a.example.", a), wire("aa.example.", b)) < 0);
	CU_ASSERT(dname_canonical_cmp(wire("a.example.", a), wire("example.", b)) > 0);
	CU_ASSERT(dname_canonical_cmp(wire(".", a), wire("example.", b)) < 0);
	CU_ASSERT(dname_canonical_cmp(wire("example.", a), wire(".", b)) > 0);
	CU_ASSERT_EQUAL(dname_canonical_cmp(wire(".", a), wire(".", b)), 0);
	/* From the right: "z.a." sorts before "a.b." */
	CU_ASSERT(dname_canonical_cmp(wire("z.a.", a), wire("a.b.", b)) < 0);
	/* Octets are unsigned. */
	CU_ASSERT(dname_canonical_cmp(wire("\\200.", a), wire("z.", b)) > 0);
	/* Compared lowercased: 'A' (0x41) becomes 0x61, above '_' (0x5f). */
	CU_ASSERT(dname_canonical_cmp(wire("_.", a), wire("A.", b)) < 0);
	CU_ASSERT(dname_canonical_cmp(wire("A.", a), wire("_.", b)) > 0);
	/* Only ASCII is folded: 0xC4 and 0xE4 differ. */
	CU_ASSERT(dname_canonical_cmp(wire("\\196.", a), wire("\\228.", b)) < 0);
	/* 127 labels: the deepest names there are, differing in the first label. */
	char buf[300];
	wire(labels_of(buf, 127, 1), a);
	wire(labels_of(buf, 127, 1), b);
	b[1] = 'b';
	CU_ASSERT(dname_canonical_cmp(a, b) < 0);
	CU_ASSERT(dname_canonical_cmp(b, a) > 0);
	CU_ASSERT_EQUAL(dname_canonical_cmp(a, a), 0);
}

static void test_dname_equal_and_to_lower(void)
{
	uint8_t a[DNAME_MAXLEN];
	uint8_t b[DNAME_MAXLEN];
	CU_ASSERT_TRUE(dname_equal(wire("WwW.ExAmPlE.", a), wire("www.EXAMPLE.", b)));
	CU_ASSERT_TRUE(dname_equal(wire(".", a), wire(".", b)));
	CU_ASSERT_FALSE(dname_equal(wire("example.", a), wire("example.com.", b)));
	CU_ASSERT_FALSE(dname_equal(wire("example.com.", a), wire("example.", b)));
	CU_ASSERT_FALSE(dname_equal(wire("ab.", a), wire("a.b.", b)));
	CU_ASSERT_FALSE(dname_equal(wire("a.", a), wire("b.", b)));
	CU_ASSERT_FALSE(dname_equal(wire("\\196.", a), wire("\\228.", b)));
	CU_ASSERT_FALSE(dname_equal(wire("@.", a), wire("`.", b))); /* 0x40/0x60 */

	wire("WwW.\\196Z\\.@[.", a);
	dname_to_lower(a);
	CU_ASSERT_STRING_EQUAL(text(a), "www.\\196z\\.\\@[.");
	CU_ASSERT_EQUAL(a[0], 3);
	CU_ASSERT_EQUAL(a[4], 5);
	wire(".", a);
	dname_to_lower(a);
	CU_ASSERT_EQUAL(a[0], 0);
}

static void test_dname_is_subdomain_on_label_boundaries(void)
{
	uint8_t n[DNAME_MAXLEN];
	uint8_t p[DNAME_MAXLEN];
	CU_ASSERT_TRUE(dname_is_subdomain(wire("www.example.", n), wire("example.", p)));
	CU_ASSERT_TRUE(dname_is_subdomain(wire("a.b.WWW.Example.", n), wire("www.EXAMPLE.", p)));
	CU_ASSERT_TRUE(dname_is_subdomain(wire("example.", n), wire("EXAMPLE.", p)));
	CU_ASSERT_TRUE(dname_is_subdomain(wire("example.", n), wire(".", p)));
	CU_ASSERT_TRUE(dname_is_subdomain(wire(".", n), wire(".", p)));
	CU_ASSERT_FALSE(dname_is_subdomain(wire("bexample.", n), wire("example.", p)));
	CU_ASSERT_FALSE(dname_is_subdomain(wire("www.bexample.", n), wire("example.", p)));
	CU_ASSERT_FALSE(dname_is_subdomain(wire("example.", n), wire("www.example.", p)));
	CU_ASSERT_FALSE(dname_is_subdomain(wire(".", n), wire("example.", p)));
	CU_ASSERT_FALSE(dname_is_subdomain(wire("example.com.", n), wire("example.", p)));
	/* An escaped dot is inside a label, not a boundary. */
	CU_ASSERT_FALSE(dname_is_subdomain(wire("www\\.example.", n), wire("example.", p)));
	/* Its wire form ends in the octets of "example.": still not under it. */
	CU_ASSERT_FALSE(dname_is_subdomain(wire("x\\007example.", n), wire("example.", p)));
	CU_ASSERT_FALSE(dname_is_subdomain(wire("a.x\\007example.", n), wire("example.", p)));
}

static void test_dname_parent_walks_to_root(void)
{
	uint8_t n[DNAME_MAXLEN];
	wire("a.bb.C.", n);
	const uint8_t *p = dname_parent(n);
	CU_ASSERT_PTR_EQUAL(p, n + 2);
	CU_ASSERT_STRING_EQUAL(text(p), "bb.C.");
	p = dname_parent(p);
	CU_ASSERT_PTR_EQUAL(p, n + 5);
	CU_ASSERT_STRING_EQUAL(text(p), "C.");
	p = dname_parent(p);
	CU_ASSERT_PTR_EQUAL(p, n + 7);
	CU_ASSERT_STRING_EQUAL(text(p), ".");
	CU_ASSERT_PTR_NULL(dname_parent(p));
}

static void test_dname_hash_ignores_case(void)
{
	uint8_t a[DNAME_MAXLEN];
	uint8_t b[DNAME_MAXLEN];
	/* FNV-1a 32 over the lowercased wire form. */
	CU_ASSERT_EQUAL(dname_hash(wire(".", a)), 0x050c5d1fu);
	CU_ASSERT_EQUAL(dname_hash(wire("WWW.Example.", a)), 0x20b329d0u);
	CU_ASSERT_EQUAL(dname_hash(a), dname_hash(wire("www.example.", b)));
	CU_ASSERT_NOT_EQUAL(dname_hash(wire("a.", a)), dname_hash(wire("b.", b)));
	CU_ASSERT_NOT_EQUAL(dname_hash(wire("ab.", a)), dname_hash(wire("a.b.", b)));
	CU_ASSERT_NOT_EQUAL(dname_hash(wire("\\196.", a)), dname_hash(wire("\\228.", b)));
}

static void test_zone_strerror_texts(void)
{
	CU_ASSERT_STRING_EQUAL(zone_strerror(ZONE_OK), "success");
	CU_ASSERT_STRING_EQUAL(zone_strerror(ZONE_ERR_LABEL_TOO_LONG),
	                       "label longer than 63 octets");
	CU_ASSERT_STRING_EQUAL(zone_strerror(ZONE_ERR_BUFFER), "buffer too small");
	CU_ASSERT_STRING_EQUAL(zone_strerror(-2), "No such file or directory");
	CU_ASSERT_STRING_EQUAL(zone_strerror(-1299), "unknown zone status");
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"test_dname_from_str_absolute_name", test_dname_from_str_absolute_name},
	        {"test_dname_from_str_relative_names_take_origin",
	         test_dname_from_str_relative_names_take_origin},
	        {"test_dname_from_str_decodes_escapes", test_dname_from_str_decodes_escapes},
	        {"test_dname_round_trips_tricky_names", test_dname_round_trips_tricky_names},
	        {"test_dname_to_str_refuses_small_buffer", test_dname_to_str_refuses_small_buffer},
	        {"test_dname_str_maxlen_holds_longest_text",
	         test_dname_str_maxlen_holds_longest_text},
	        {"test_dname_from_str_rejects_bad_input", test_dname_from_str_rejects_bad_input},
	        {"test_dname_labels_wildcard_and_rrsig_labels",
	         test_dname_labels_wildcard_and_rrsig_labels},
	        {"test_dname_canonical_order_of_rfc4034_example",
	         test_dname_canonical_order_of_rfc4034_example},
	        {"test_dname_canonical_cmp_folds_case_and_compares_octets",
	         test_dname_canonical_cmp_folds_case_and_compares_octets},
	        {"test_dname_equal_and_to_lower", test_dname_equal_and_to_lower},
	        {"test_dname_is_subdomain_on_label_boundaries",
	         test_dname_is_subdomain_on_label_boundaries},
	        {"test_dname_parent_walks_to_root", test_dname_parent_walks_to_root},
	        {"test_dname_hash_ignores_case", test_dname_hash_ignores_case},
	        {"test_zone_strerror_texts", test_zone_strerror_texts},
	        {NULL, NULL},
	};
	return testutil_run("dname", cases);
}
