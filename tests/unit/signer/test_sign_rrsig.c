/*
 * Tests of sign_rrsig: the signed data of the RFC 5702, 6605 and 8080 vectors
 * built by sign_rrsig from input.zone and the RRSIG's fields, checked with
 * hsm_verify against the RFC signatures (and re-signed byte for byte where
 * the algorithm is deterministic); the wildcard labels rule; RDATA
 * build/parse round trips, serial arithmetic and malformed input; the
 * buffer's reuse.
 */
#include "signer/sign/sign_rrsig.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hsm/hsm_error.h"
#include "hsm/hsm_verify.h"
#include "signer/sign/sign_error.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "tests/support/testutil.h"

/* One RFC vector: the RRset of input.zone, the RRSIG of expected-rrsig.txt,
 * the DNSKEY of the .key file. */
typedef struct {
	uint8_t owner[DNAME_MAXLEN];
	zone_rrset_t *rrset;
	sign_rrsig_t f;
	uint8_t signer[DNAME_MAXLEN];
	uint8_t sig[512];
	size_t sig_len;
	uint8_t dnskey[1024];
	size_t dnskey_len;
	int64_t now; /* inside the validity window */
} vector_t;

static char *slurp(const char *dir, const char *file)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/vectors/%s/%s", testutil_testdata(), dir, file);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return NULL;
	}
	char *buf = calloc(1, 65536);
	size_t n = buf != NULL ? fread(buf, 1, 65535, f) : 0;
	(void)n;
	fclose(f);
	return buf;
}

static size_t unb64(const char *s, uint8_t *out)
{
	size_t n = strlen(s);
	int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (len <= 0) {
		return 0;
	}
	return (size_t)len - (n > 0 && s[n - 1] == '=') - (n > 1 && s[n - 2] == '=');
}

/* YYYYMMDDHHmmSS (UTC) to UNIX seconds. */
static int64_t rrsig_time(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	           &tm.tm_min, &tm.tm_sec) != 6) {
		return 0;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

static uint16_t type_num(const char *t)
{
	return strcmp(t, "A") == 0 ? ZONE_TYPE_A : strcmp(t, "MX") == 0 ? ZONE_TYPE_MX : 0;
}

/* Loads a vector; input.zone holds one A or MX record. */
static void load(const char *dir, const char *keyfile, vector_t *v)
{
	char owner[256], type[16], rdtext[256], tname[16], exp[16], inc[16], signer[256];
	char b64[1024];
	unsigned ttl, alg, labels, ottl, tag, kflags, kalg;
	memset(v, 0, sizeof(*v));

	char *text = slurp(dir, "input.zone");
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	int n = sscanf(text, "%255s %u IN %15s %255[^\n]", owner, &ttl, type, rdtext);
	free(text);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_EQUAL_FATAL(dname_from_str(owner, NULL, v->owner, DNAME_MAXLEN, NULL), ZONE_OK);
	uint8_t rd[300];
	size_t rdlen = 0;
	if (type_num(type) == ZONE_TYPE_A) {
		CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET, rdtext, rd), 1);
		rdlen = 4;
	} else {
		unsigned pref;
		char exch[256];
		CU_ASSERT_EQUAL_FATAL(sscanf(rdtext, "%u %255s", &pref, exch), 2);
		rd[0] = (uint8_t)(pref >> 8);
		rd[1] = (uint8_t)pref;
		CU_ASSERT_EQUAL_FATAL(dname_from_str(exch, NULL, rd + 2, DNAME_MAXLEN, &rdlen),
		                      ZONE_OK);
		rdlen += 2;
	}
	CU_ASSERT_FATAL(zone_rdata_canonicalize(type_num(type), rd, rdlen));
	zone_rdata_t r = {rd, (uint16_t)rdlen};
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(type_num(type), ttl, &r, 1, &v->rrset), ZONE_OK);

	text = slurp(dir, "expected-rrsig.txt");
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	n = sscanf(text, "%*s %*u IN RRSIG %15s %u %u %u %15s %15s %u %255s %1023s", tname, &alg,
	           &labels, &ottl, exp, inc, &tag, signer, b64);
	free(text);
	CU_ASSERT_EQUAL_FATAL(n, 9);
	CU_ASSERT_EQUAL_FATAL(dname_from_str(signer, NULL, v->signer, DNAME_MAXLEN, NULL), ZONE_OK);
	v->f = (sign_rrsig_t){.type_covered = type_num(tname),
	                      .algorithm = (uint8_t)alg,
	                      .labels = (uint8_t)labels,
	                      .original_ttl = ottl,
	                      .expiration = rrsig_time(exp),
	                      .inception = rrsig_time(inc),
	                      .key_tag = (uint16_t)tag,
	                      .signer = v->signer};
	v->sig_len = unb64(b64, v->sig);
	v->now = v->f.inception + 1;

	text = slurp(dir, keyfile);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	n = sscanf(text, "%*s %*u IN DNSKEY %u 3 %u %1023s", &kflags, &kalg, b64);
	free(text);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	v->dnskey[0] = (uint8_t)(kflags >> 8);
	v->dnskey[1] = (uint8_t)kflags;
	v->dnskey[2] = 3;
	v->dnskey[3] = (uint8_t)kalg;
	v->dnskey_len = 4 + unb64(b64, v->dnskey + 4);
	CU_ASSERT_FATAL(v->sig_len > 0 && v->dnskey_len > 4);
}

/* name with its ASCII letters uppercased into out. */
static void upcase(const uint8_t *name, uint8_t *out)
{
	size_t n = dname_length(name);
	for (size_t i = 0; i < n; i++) {
		out[i] = (uint8_t)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
	}
}

static bool same_fields(const sign_rrsig_t *a, const sign_rrsig_t *b)
{
	return a->type_covered == b->type_covered && a->algorithm == b->algorithm &&
	       a->labels == b->labels && a->original_ttl == b->original_ttl &&
	       a->expiration == b->expiration && a->inception == b->inception &&
	       a->key_tag == b->key_tag && dname_equal(a->signer, b->signer);
}

/* The RFC signature verifies over the data sign_rrsig builds, and not once
 * the data changes. Leaves the signed data in buf. */
static void check_vector(vector_t *v, sign_rrsig_buf_t *buf)
{
	hsm_verify_key_t *key = NULL;
	CU_ASSERT_EQUAL_FATAL(
	        hsm_verify_key_new(v->f.algorithm, v->dnskey + 4, v->dnskey_len - 4, &key), HSM_OK);
	CU_ASSERT_EQUAL_FATAL(sign_rrsig_signed_data(buf, &v->f, v->owner, v->rrset), SIGN_OK);
	CU_ASSERT_EQUAL(hsm_verify_sig(key, buf->data, buf->len, v->sig, v->sig_len), HSM_OK);

	/* The fields sign_rrsig_fields() derives are those of the RFC. */
	sign_rrsig_t g;
	sign_rrsig_fields(&g, v->owner, v->rrset, v->f.algorithm, v->f.key_tag, v->signer,
	                  v->f.inception, v->f.expiration);
	CU_ASSERT(same_fields(&g, &v->f));

	/* Upper case in owner and signer: the same canonical data. */
	uint8_t upper[DNAME_MAXLEN], usigner[DNAME_MAXLEN];
	upcase(v->owner, upper);
	upcase(v->signer, usigner);
	sign_rrsig_t u = v->f;
	u.signer = usigner;
	sign_rrsig_buf_t b2;
	sign_rrsig_buf_init(&b2);
	CU_ASSERT_EQUAL(sign_rrsig_signed_data(&b2, &u, upper, v->rrset), SIGN_OK);
	CU_ASSERT_EQUAL(b2.len, buf->len);
	CU_ASSERT(b2.len == buf->len && memcmp(b2.data, buf->data, buf->len) == 0);

	/* Another original TTL or a changed RDATA: the signature fails. */
	u = v->f;
	u.original_ttl++;
	CU_ASSERT_EQUAL(sign_rrsig_signed_data(&b2, &u, v->owner, v->rrset), SIGN_OK);
	CU_ASSERT_EQUAL(hsm_verify_sig(key, b2.data, b2.len, v->sig, v->sig_len), HSM_ERR_VERIFY);
	memcpy(b2.data, buf->data, buf->len);
	b2.data[buf->len - 1] ^= 1;
	CU_ASSERT_EQUAL(hsm_verify_sig(key, b2.data, buf->len, v->sig, v->sig_len), HSM_ERR_VERIFY);
	sign_rrsig_buf_deinit(&b2);
	hsm_verify_key_free(key);
}

/* Signs data with the vector's private.pem (deterministic algorithms). */
static size_t pem_sign(const char *dir, const char *md, const uint8_t *data, size_t len,
                       uint8_t *sig, size_t cap)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/vectors/%s/private.pem", testutil_testdata(), dir);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return 0;
	}
	EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sig_len = cap;
	if (pkey == NULL || ctx == NULL ||
	    EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, pkey, NULL) != 1 ||
	    EVP_DigestSign(ctx, sig, &sig_len, data, len) != 1) {
		sig_len = 0;
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return sig_len;
}

/* The RRSIG RDATA written from the fields and the RFC signature parses back
 * to the same fields. */
static void check_round_trip(const vector_t *v)
{
	uint8_t rdata[1024];
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(
	        sign_rrsig_write(&v->f, v->sig, v->sig_len, rdata, sizeof(rdata), &len), SIGN_OK);
	CU_ASSERT_EQUAL(len, sign_rrsig_prefix_len(&v->f) + v->sig_len);
	sign_rrsig_t g;
	const uint8_t *sig = NULL;
	size_t sig_len = 0;
	CU_ASSERT_EQUAL_FATAL(sign_rrsig_parse(rdata, len, v->now, &g, &sig, &sig_len), SIGN_OK);
	CU_ASSERT_EQUAL(g.type_covered, v->f.type_covered);
	CU_ASSERT_EQUAL(g.algorithm, v->f.algorithm);
	CU_ASSERT_EQUAL(g.labels, v->f.labels);
	CU_ASSERT_EQUAL(g.original_ttl, v->f.original_ttl);
	CU_ASSERT_EQUAL(g.inception, v->f.inception);
	CU_ASSERT_EQUAL(g.expiration, v->f.expiration);
	CU_ASSERT_EQUAL(g.key_tag, v->f.key_tag);
	CU_ASSERT(dname_equal(g.signer, v->signer));
	CU_ASSERT_PTR_EQUAL(g.signer, rdata + SIGN_RRSIG_FIXED_LEN);
	CU_ASSERT_EQUAL(sig_len, v->sig_len);
	CU_ASSERT_PTR_EQUAL(sig, rdata + len - v->sig_len);
}

static void test_sign_rrsig_rfc5702_rsasha256_signed_data(void)
{
	vector_t v;
	sign_rrsig_buf_t buf;
	sign_rrsig_buf_init(&buf);
	load("rfc5702-rsasha256-key9033", "Kexample.net.+008+09033.key", &v);
	CU_ASSERT_EQUAL(v.f.labels, 3);
	check_vector(&v, &buf);
	uint8_t sig[512];
	size_t n = pem_sign("rfc5702-rsasha256-key9033", "SHA256", buf.data, buf.len, sig,
	                    sizeof(sig));
	CU_ASSERT(n == v.sig_len && memcmp(sig, v.sig, n) == 0); /* byte for byte */
	check_round_trip(&v);
	sign_rrsig_buf_deinit(&buf);
	zone_rrset_unref(v.rrset);
}

static void test_sign_rrsig_rfc6605_ecdsap256_signed_data(void)
{
	vector_t v;
	sign_rrsig_buf_t buf;
	sign_rrsig_buf_init(&buf);
	load("rfc6605-ecdsap256sha256-key55648", "Kexample.net.+013+55648.key", &v);
	check_vector(&v, &buf);
	check_round_trip(&v);
	sign_rrsig_buf_deinit(&buf);
	zone_rrset_unref(v.rrset);
}

static void test_sign_rrsig_rfc8080_ed25519_signed_data(void)
{
	vector_t v;
	sign_rrsig_buf_t buf;
	sign_rrsig_buf_init(&buf);
	load("rfc8080-ed25519-key3613", "Kexample.com.+015+03613.key", &v);
	CU_ASSERT_EQUAL(v.f.labels, 2);
	check_vector(&v, &buf);
	uint8_t sig[512];
	size_t n = pem_sign("rfc8080-ed25519-key3613", NULL, buf.data, buf.len, sig, sizeof(sig));
	CU_ASSERT(n == v.sig_len && memcmp(sig, v.sig, n) == 0);
	check_round_trip(&v);
	sign_rrsig_buf_deinit(&buf);
	zone_rrset_unref(v.rrset);
}

static zone_rrset_t *a_rrset(uint32_t ttl, size_t n)
{
	uint8_t rd[4][4] = {{192, 0, 2, 9}, {192, 0, 2, 1}, {10, 0, 0, 1}, {192, 0, 2, 1}};
	zone_rdata_t r[4];
	for (size_t i = 0; i < n; i++) {
		r[i] = (zone_rdata_t){rd[i], 4};
	}
	zone_rrset_t *rrset = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_A, ttl, r, n, &rrset), ZONE_OK);
	return rrset;
}

static const uint8_t *wire(const char *text, uint8_t *buf)
{
	CU_ASSERT_EQUAL_FATAL(dname_from_str(text, NULL, buf, DNAME_MAXLEN, NULL), ZONE_OK);
	return buf;
}

static void test_sign_rrsig_wildcard_signs_own_name_with_fewer_labels(void)
{
	uint8_t owner[DNAME_MAXLEN], signer[DNAME_MAXLEN], exp[DNAME_MAXLEN];
	zone_rrset_t *rrset = a_rrset(300, 1);
	sign_rrsig_t f;
	sign_rrsig_fields(&f, wire("*.a.Example.", owner), rrset, 13, 4242,
	                  wire("example.", signer), 1000, 2000);
	CU_ASSERT_EQUAL(f.labels, 2); /* RFC 4034 3.1.3: "*" not counted */
	sign_rrsig_buf_t w, x;
	sign_rrsig_buf_init(&w);
	sign_rrsig_buf_init(&x);
	CU_ASSERT_EQUAL_FATAL(sign_rrsig_signed_data(&w, &f, owner, rrset), SIGN_OK);
	/* The RR's owner is the wildcard itself, lowercased. */
	size_t at = sign_rrsig_prefix_len(&f);
	wire("*.a.example.", exp);
	CU_ASSERT_EQUAL(memcmp(w.data + at, exp, dname_length(exp)), 0);
	/* A validator checking an expansion (x.y.a.example.) with the same
	 * RRSIG rebuilds byte-identical data. */
	CU_ASSERT_EQUAL_FATAL(sign_rrsig_signed_data(&x, &f, wire("x.Y.a.example.", owner), rrset),
	                      SIGN_OK);
	CU_ASSERT(x.len == w.len && memcmp(x.data, w.data, w.len) == 0);
	/* Labels above the owner's: refused, buffer untouched. */
	uint8_t *before = x.data;
	size_t len = x.len;
	f.labels = 5;
	CU_ASSERT_EQUAL(sign_rrsig_signed_data(&x, &f, wire("a.example.", owner), rrset),
	                SIGN_ERR_RRSIG);
	CU_ASSERT_PTR_EQUAL(x.data, before);
	CU_ASSERT_EQUAL(x.len, len);
	size_t n = 0;
	CU_ASSERT_EQUAL(sign_rrsig_signed_len(&f, owner, rrset, &n), SIGN_ERR_RRSIG);
	/* A plain name counts all its labels; the root none. */
	CU_ASSERT_EQUAL(dname_rrsig_labels(wire("a.example.", owner)), 2);
	CU_ASSERT_EQUAL(dname_rrsig_labels(wire("*.", owner)), 0);
	sign_rrsig_buf_deinit(&w);
	sign_rrsig_buf_deinit(&x);
	zone_rrset_unref(rrset);
}

static void test_sign_rrsig_rrset_in_canonical_layout(void)
{
	uint8_t owner[DNAME_MAXLEN], signer[DNAME_MAXLEN];
	/* Four RDATAs given out of order with one duplicate: three RRs. */
	zone_rrset_t *rrset = a_rrset(60, 4);
	CU_ASSERT_EQUAL_FATAL(rrset->count, 3);
	sign_rrsig_t f;
	sign_rrsig_fields(&f, wire("WWW.example.", owner), rrset, 8, 0x1234,
	                  wire("EXAMPLE.", signer), 0x10000000, 0x20000000);
	f.original_ttl = 3600; /* the original TTL, not the RRset's, goes in each RR */
	/* clang-format off */
	static const uint8_t expected[] = {
		0, 1, 8, 2,				/* type A, algorithm 8, labels 2 */
		0, 0, 0x0e, 0x10,			/* original TTL 3600 */
		0x20, 0, 0, 0, 0x10, 0, 0, 0,		/* expiration, inception */
		0x12, 0x34,				/* key tag */
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, /* signer, lowercased */
		/* the RRs in canonical order: owner lowercased, A IN 3600, RDATA */
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
		0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 10, 0, 0, 1,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
		0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 1,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
		0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 9,
	};
	/* clang-format on */
	sign_rrsig_buf_t buf;
	sign_rrsig_buf_init(&buf);
	CU_ASSERT_EQUAL_FATAL(sign_rrsig_signed_data(&buf, &f, owner, rrset), SIGN_OK);
	CU_ASSERT_EQUAL(buf.len, sizeof(expected));
	CU_ASSERT(buf.len == sizeof(expected) && memcmp(buf.data, expected, buf.len) == 0);
	/* The two-step form writes the same bytes. */
	size_t n = 0;
	CU_ASSERT_EQUAL(sign_rrsig_signed_len(&f, owner, rrset, &n), SIGN_OK);
	CU_ASSERT_EQUAL_FATAL(n, sizeof(expected));
	uint8_t out[sizeof(expected)];
	sign_rrsig_signed_write(&f, owner, rrset, out);
	CU_ASSERT_EQUAL(memcmp(out, expected, n), 0);
	sign_rrsig_buf_deinit(&buf);
	zone_rrset_unref(rrset);
}

static void test_sign_rrsig_buffer_grows_once_then_allocates_nothing(void)
{
	uint8_t owner[DNAME_MAXLEN], signer[DNAME_MAXLEN];
	zone_rrset_t *big = a_rrset(60, 3), *small = a_rrset(60, 1);
	sign_rrsig_t f;
	sign_rrsig_fields(&f, wire("www.example.", owner), big, 13, 1, wire("example.", signer), 0,
	                  1);
	sign_rrsig_buf_t buf;
	sign_rrsig_buf_init(&buf);
	CU_ASSERT_EQUAL_FATAL(sign_rrsig_signed_data(&buf, &f, owner, big), SIGN_OK);
	uint8_t *storage = buf.data;
	size_t cap = buf.cap;
	for (int i = 0; i < 1000; i++) {
		CU_ASSERT_EQUAL(sign_rrsig_signed_data(&buf, &f, owner, i % 2 ? big : small),
		                SIGN_OK);
	}
	CU_ASSERT_PTR_EQUAL(buf.data, storage);
	CU_ASSERT_EQUAL(buf.cap, cap);
	sign_rrsig_buf_deinit(&buf);
	CU_ASSERT_PTR_NULL(buf.data);
	sign_rrsig_buf_deinit(&buf); /* twice is harmless */
	zone_rrset_unref(big);
	zone_rrset_unref(small);
}

static void test_sign_rrsig_times_use_serial_arithmetic(void)
{
	uint8_t signer[DNAME_MAXLEN];
	/* Around 2106, when the 32-bit field wraps. */
	int64_t now = 0x100000000LL - 100;
	sign_rrsig_t f = {ZONE_TYPE_A,      13,         2, 300,
	                  now + 30 * 86400, now - 3600, 7, wire("Example.", signer)};
	uint8_t rdata[128], sig[64];
	memset(sig, 0xab, sizeof(sig));
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(sign_rrsig_write(&f, sig, sizeof(sig), rdata, sizeof(rdata), &len),
	                      SIGN_OK);
	/* Expiration is past 2^32: the wire holds it modulo 2^32. */
	uint32_t wire_exp = (uint32_t)rdata[8] << 24 | (uint32_t)rdata[9] << 16 |
	                    (uint32_t)rdata[10] << 8 | rdata[11];
	CU_ASSERT_EQUAL(wire_exp, 30 * 86400 - 100);
	CU_ASSERT_EQUAL(rdata[SIGN_RRSIG_FIXED_LEN + 1], 'e'); /* signer lowercased */
	sign_rrsig_t g;
	CU_ASSERT_EQUAL_FATAL(sign_rrsig_parse(rdata, len, now, &g, NULL, NULL), SIGN_OK);
	CU_ASSERT_EQUAL(g.expiration, f.expiration);
	CU_ASSERT_EQUAL(g.inception, f.inception);
	CU_ASSERT_EQUAL(sign_rrsig_time(0, now), 0x100000000LL);
	CU_ASSERT_EQUAL(sign_rrsig_time(5, 10), 5);
	CU_ASSERT_EQUAL(sign_rrsig_time(0xffffffffu, 10), -1);
	/* Too small a buffer: SIGN_ERR_BUFFER, nothing written. */
	size_t keep = 99;
	CU_ASSERT_EQUAL(sign_rrsig_write(&f, sig, sizeof(sig), rdata, len - 1, &keep),
	                SIGN_ERR_BUFFER);
	CU_ASSERT_EQUAL(keep, 99);
	CU_ASSERT_EQUAL(sign_rrsig_write(&f, sig, 65535, rdata, sizeof(rdata), &keep),
	                SIGN_ERR_INVAL);
}

static void test_sign_rrsig_parse_rejects_malformed(void)
{
	/* clang-format off */
	uint8_t good[64] = {
		0, 1, 13, 2, 0, 0, 1, 0,		/* A, 13, labels 2, TTL 256 */
		0x60, 0, 0, 0, 0x50, 0, 0, 0, 0, 7,	/* expiration, inception, tag */
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, /* signer */
		1, 2, 3,				/* signature */
	};
	/* clang-format on */
	size_t good_len = 30;
	sign_rrsig_t f, untouched;
	memset(&untouched, 0x5a, sizeof(untouched));
	memcpy(&f, &untouched, sizeof(f));
	const uint8_t *sig = NULL;
	CU_ASSERT_EQUAL(sign_rrsig_parse(good, good_len, 0x50000000, &f, &sig, NULL), SIGN_OK);
	CU_ASSERT_PTR_EQUAL(sig, good + 27);

	uint8_t bad[400];
	struct {
		const char *what;
		size_t len;
		size_t at;
		uint8_t val;
	} cases[] = {
	        {"too short for the fixed fields", 17, 0, 0},
	        {"no signer name", 18, 0, 0},
	        {"no signature", 27, 0, 0},
	        {"compressed signer name", 30, 18, 0xc0},
	        {"label running past the end", 30, 18, 40},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, good, sizeof(good));
		if (cases[i].at != 0) {
			bad[cases[i].at] = cases[i].val;
		}
		memcpy(&f, &untouched, sizeof(f));
		CU_ASSERT_EQUAL(sign_rrsig_parse(bad, cases[i].len, 0, &f, NULL, NULL),
		                SIGN_ERR_RRSIG);
		CU_ASSERT_EQUAL(memcmp(&f, &untouched, sizeof(f)), 0);
	}
	/* A signer name of 5 labels of 63 octets: longer than 255. */
	memcpy(bad, good, SIGN_RRSIG_FIXED_LEN);
	size_t off = SIGN_RRSIG_FIXED_LEN;
	for (int l = 0; l < 5; l++) {
		bad[off++] = 63;
		memset(bad + off, 'a', 63);
		off += 63;
	}
	bad[off++] = 0;
	CU_ASSERT_FATAL(off < sizeof(bad) - 4);
	bad[off++] = 1;
	CU_ASSERT_EQUAL(sign_rrsig_parse(bad, off, 0, &f, NULL, NULL), SIGN_ERR_RRSIG);
}

static void test_sign_rrsig_strerror_covers_all_layers(void)
{
	CU_ASSERT_STRING_EQUAL(sign_strerror(SIGN_OK), "success");
	CU_ASSERT_STRING_EQUAL(sign_strerror(SIGN_ERR_RRSIG), "malformed RRSIG");
	for (int s = SIGN_ERR_NOMEM; s >= SIGN_ERR_WHOLE; s--) {
		CU_ASSERT_STRING_NOT_EQUAL(sign_strerror(s), "unknown sign status");
	}
	CU_ASSERT_STRING_EQUAL(sign_strerror(SIGN_ERR_WHOLE - 1), "unknown sign status");
	CU_ASSERT_STRING_EQUAL(sign_strerror(HSM_ERR_VERIFY), hsm_strerror(HSM_ERR_VERIFY));
	CU_ASSERT_STRING_EQUAL(sign_strerror(ZONE_ERR_NOMEM), zone_strerror(ZONE_ERR_NOMEM));
	CU_ASSERT_STRING_EQUAL(sign_strerror(-2), hsm_strerror(-2)); /* ENOENT */
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"rfc5702_rsasha256_signed_data", test_sign_rrsig_rfc5702_rsasha256_signed_data},
	        {"rfc6605_ecdsap256_signed_data", test_sign_rrsig_rfc6605_ecdsap256_signed_data},
	        {"rfc8080_ed25519_signed_data", test_sign_rrsig_rfc8080_ed25519_signed_data},
	        {"wildcard_signs_own_name_with_fewer_labels",
	         test_sign_rrsig_wildcard_signs_own_name_with_fewer_labels},
	        {"rrset_in_canonical_layout", test_sign_rrsig_rrset_in_canonical_layout},
	        {"buffer_grows_once_then_allocates_nothing",
	         test_sign_rrsig_buffer_grows_once_then_allocates_nothing},
	        {"times_use_serial_arithmetic", test_sign_rrsig_times_use_serial_arithmetic},
	        {"parse_rejects_malformed", test_sign_rrsig_parse_rejects_malformed},
	        {"strerror_covers_all_layers", test_sign_rrsig_strerror_covers_all_layers},
	        {NULL, NULL},
	};
	return testutil_run("sign_rrsig", cases);
}
