/*
 * test_rollcheck: the rollover safety checker on zones signed by ldns.
 *
 * main generates six keys with ldns (ECDSAP256SHA256 and RSASHA256 KSKs and
 * ZSKs) once; each test builds its own checker, writes zone versions and DS
 * sets signed with chosen keys and validity windows, and asserts the exact
 * number of failing mixes at chosen instants (or at every instant of
 * rollcheck_instants). No HSM. The test zone has 15 followed RRsets besides
 * the DNSKEY RRset (glue and the delegation NS are skipped), so one DS set x
 * one DNSKEY RRset makes 16 mixes.
 */
#include "tests/support/rollcheck.h"
#include "tests/support/testutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <ldns/ldns.h>

#define T0         ((int64_t)1700000000) /* absolute, seconds */
#define DAY        86400
#define ZDELAY     600   /* zone propagation delay, seconds */
#define PDELAY     3600  /* parent propagation delay, seconds */
#define DNSKEY_TTL 3600  /* seconds */
#define DATA_TTL   7200  /* seconds: the zone's max TTL */
#define DS_TTL     86400 /* seconds */
#define PER_PAIR   16    /* mixes per DS x DNSKEY pair: the pair + 15 RRsets */

enum { KE1, KE2, ZE1, ZE2, KR, ZR, NKEYS }; /* E: ECDSA P-256, R: RSASHA256 */
#define BIT(k) (1u << (k))

static ldns_key *keys[NKEYS];
static uint64_t total_mixes;    /* over the whole run, for the summary */
static uint64_t total_instants; /* idem */

/* One RRset per string; a leading '!' marks unsigned data (delegation NS,
 * glue), which the checker must skip. */
static const char *const DATA[] = {
        "example. IN SOA ns1.example. hostmaster.example. 1 7200 3600 1209600 3600",
        "example. IN NS ns1.example.\nexample. IN NS ns2.example.",
        "example. IN MX 10 mail.example.",
        "mail.example. IN A 192.0.2.25",
        "ns1.example. IN A 192.0.2.1",
        "ns2.example. IN A 192.0.2.2",
        ("sub.example. IN DS 12345 13 2 "
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        "!sub.example. IN NS ns.sub.example.",
        "!ns.sub.example. IN A 192.0.2.53",
        "www.example. IN A 192.0.2.80\nwww.example. IN A 192.0.2.81",
        "www.example. IN AAAA 2001:db8::80",
        "example. IN NSEC mail.example. NS SOA MX RRSIG NSEC DNSKEY",
        "mail.example. IN NSEC ns1.example. A RRSIG NSEC",
        "ns1.example. IN NSEC ns2.example. A RRSIG NSEC",
        "ns2.example. IN NSEC sub.example. A RRSIG NSEC",
        "sub.example. IN NSEC www.example. NS DS RRSIG NSEC",
        "www.example. IN NSEC example. A AAAA RRSIG NSEC",
};

/* A zone version: keys by bit mask; validity windows absolute, seconds. */
typedef struct {
	unsigned publish; /* keys in the DNSKEY RRset */
	unsigned ksign;   /* keys signing the DNSKEY RRset */
	unsigned zsign;   /* keys signing the other RRsets */
	int64_t inception;
	int64_t kexpiration; /* of the DNSKEY RRSIGs */
	int64_t zexpiration; /* of the other RRSIGs */
} zspec_t;

static zspec_t spec(unsigned publish, unsigned ksign, unsigned zsign)
{
	return (zspec_t){publish, ksign, zsign, T0 - DAY, T0 + 60 * DAY, T0 + 60 * DAY};
}

static ldns_key *make_key(ldns_signing_algorithm alg, uint16_t bits, uint16_t flags)
{
	ldns_key *k = ldns_key_new_frm_algorithm(alg, bits);
	ldns_rdf *owner = ldns_dname_new_frm_str("example.");
	if (k == NULL || owner == NULL) {
		fprintf(stderr, "test_rollcheck: ldns key generation failed\n");
		exit(1);
	}
	ldns_key_set_pubkey_owner(k, owner);
	ldns_key_set_flags(k, flags);
	ldns_rr *rr = ldns_key2rr(k);
	ldns_key_set_keytag(k, ldns_calc_keytag(rr));
	ldns_rr_free(rr);
	return k;
}

/* Signed RRsets already made: a signer keeps the RRSIGs of an RRset it
 * does not change, and ECDSA signatures are randomised, so the same RRset
 * signed by the same keys over the same window gets the same text. */
typedef struct {
	long rrset; /* index in DATA, or -1 - publish mask for the DNSKEY RRset */
	unsigned mask;
	int64_t inc, exp;
	char *text;
} signed_t;

static signed_t made[256];
static size_t nmade;

/* Prints rrs (borrowed) and, when mask is not 0, their RRSIGs by the keys
 * of mask valid from inc to exp (absolute, seconds); the text of an RRset
 * (index id) already signed so is reused. */
static void emit_rrset(FILE *out, long id, ldns_rr_list *rrs, unsigned mask, int64_t inc,
                       int64_t exp)
{
	for (size_t i = 0; i < nmade; i++) {
		if (made[i].rrset == id && made[i].mask == mask && made[i].inc == inc &&
		    made[i].exp == exp) {
			fputs(made[i].text, out);
			return;
		}
	}
	CU_ASSERT_FATAL(nmade < sizeof(made) / sizeof(made[0]));
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	ldns_rr_list_print(fp, rrs);
	if (mask != 0) {
		ldns_key_list *kl = ldns_key_list_new();
		for (int i = 0; i < NKEYS; i++) {
			if (mask & BIT(i)) {
				ldns_key_set_inception(keys[i], (uint32_t)inc);
				ldns_key_set_expiration(keys[i], (uint32_t)exp);
				ldns_key_list_push_key(kl, keys[i]);
			}
		}
		ldns_rr_list *sigs = ldns_sign_public(rrs, kl);
		CU_ASSERT_PTR_NOT_NULL_FATAL(sigs);
		ldns_rr_list_print(fp, sigs);
		ldns_rr_list_deep_free(sigs);
		ldns_key_list_set_key_count(kl, 0); /* the keys are not the list's */
		ldns_key_list_free(kl);
	}
	fclose(fp);
	made[nmade++] = (signed_t){id, mask, inc, exp, buf};
	fputs(buf, out);
}

/* The whole signed zone of z in master-file text (malloc'ed). */
static char *make_zone(const zspec_t *z)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fprintf(fp, "; test zone\n$TTL 3600\n");
	ldns_rr_list *dnskeys = ldns_rr_list_new();
	for (int i = 0; i < NKEYS; i++) {
		if (z->publish & BIT(i)) {
			ldns_rr *rr = ldns_key2rr(keys[i]);
			ldns_rr_set_ttl(rr, DNSKEY_TTL);
			ldns_rr_list_push_rr(dnskeys, rr);
		}
	}
	if (ldns_rr_list_rr_count(dnskeys) > 0) {
		emit_rrset(fp, -1 - (long)z->publish, dnskeys, z->ksign, z->inception,
		           z->kexpiration);
	}
	ldns_rr_list_deep_free(dnskeys);
	for (size_t i = 0; i < sizeof(DATA) / sizeof(DATA[0]); i++) {
		const char *text = DATA[i];
		bool sign = text[0] != '!';
		char *copy = strdup(sign ? text : text + 1);
		ldns_rr_list *rrs = ldns_rr_list_new();
		char *save = NULL;
		for (char *line = strtok_r(copy, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			ldns_rr *rr = NULL;
			CU_ASSERT_EQUAL_FATAL(ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL),
			                      LDNS_STATUS_OK);
			ldns_rr_set_ttl(rr, DATA_TTL);
			ldns_rr_list_push_rr(rrs, rr);
		}
		emit_rrset(fp, (long)i, rrs, sign ? z->zsign : 0, z->inception, z->zexpiration);
		ldns_rr_list_deep_free(rrs);
		free(copy);
	}
	fclose(fp);
	return buf;
}

/* The DS RRset (SHA-256) of the keys of mask in text (malloc'ed); with
 * broken, the last digest digit of each DS is changed. */
static char *make_ds(unsigned mask, bool broken)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	for (int i = 0; i < NKEYS; i++) {
		if (!(mask & BIT(i))) {
			continue;
		}
		ldns_rr *key = ldns_key2rr(keys[i]);
		ldns_rr *ds = ldns_key_rr2ds(key, LDNS_SHA256);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ds);
		ldns_rr_set_ttl(ds, DS_TTL);
		char *s = ldns_rr2str(ds);
		size_t n = strlen(s);
		while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ')) {
			n--;
		}
		if (broken && n > 0) {
			s[n - 1] = s[n - 1] == '0' ? '1' : '0';
		}
		fprintf(fp, "%.*s\n", (int)n, s);
		free(s);
		ldns_rr_free(ds);
		ldns_rr_free(key);
	}
	fclose(fp);
	return buf;
}

static void add_zone(rollcheck_t *rc, int64_t t, zspec_t z)
{
	char err[256] = "";
	char *text = make_zone(&z);
	int ret = rollcheck_add_zone(rc, t, text, err, sizeof(err));
	if (ret != ROLLCHECK_OK) {
		fprintf(stderr, "add_zone: %s\n", err);
	}
	CU_ASSERT_EQUAL(ret, ROLLCHECK_OK);
	free(text);
}

static void add_ds(rollcheck_t *rc, int64_t t, unsigned mask, bool broken)
{
	char err[256] = "";
	char *text = make_ds(mask, broken);
	int ret = rollcheck_add_ds(rc, t, text, err, sizeof(err));
	if (ret != ROLLCHECK_OK) {
		fprintf(stderr, "add_ds: %s\n", err);
	}
	CU_ASSERT_EQUAL(ret, ROLLCHECK_OK);
	free(text);
}

/* Failing mixes at t; *mixes (may be NULL) gets the mixes checked. */
static int check(rollcheck_t *rc, int64_t t, uint64_t *mixes)
{
	uint64_t m = 0;
	char *report = NULL;
	int f = rollcheck_check(rc, t, &m, &report);
	CU_ASSERT(f >= 0);
	CU_ASSERT_EQUAL(f > 0, report != NULL);
	if (getenv("ROLLCHECK_VERBOSE") != NULL && report != NULL) {
		fprintf(stderr, "%s", report);
	}
	free(report);
	total_mixes += m;
	total_instants++;
	if (mixes != NULL) {
		*mixes = m;
	}
	return f;
}

/* Failing mixes summed over every instant of [from, to]; *first_bad gets
 * the first instant with failures (or to + 1), *last_bad the last one (or
 * from - 1), *n the number of instants. */
static long check_all(rollcheck_t *rc, int64_t from, int64_t to, int64_t *first_bad,
                      int64_t *last_bad, size_t *n)
{
	int64_t *v = NULL;
	size_t nv = 0;
	CU_ASSERT_EQUAL_FATAL(rollcheck_instants(rc, from, to, &v, &nv), ROLLCHECK_OK);
	long sum = 0;
	*first_bad = to + 1;
	*last_bad = from - 1;
	for (size_t i = 0; i < nv; i++) {
		CU_ASSERT(i == 0 || v[i - 1] < v[i]);
		int f = check(rc, v[i], NULL);
		if (f > 0) {
			if (v[i] < *first_bad) {
				*first_bad = v[i];
			}
			*last_bad = v[i];
		}
		sum += f;
	}
	free(v);
	*n = nv;
	return sum;
}

static rollcheck_t *new_checker(void)
{
	rollcheck_t *rc = rollcheck_new("example.", ZDELAY, PDELAY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rc);
	return rc;
}

static void test_rollcheck_good_zone_validates(void)
{
	rollcheck_t *rc = new_checker();
	add_zone(rc, T0, spec(BIT(KE1) | BIT(ZE1), BIT(KE1), BIT(ZE1)));
	add_ds(rc, T0, BIT(KE1), false);
	uint64_t m = 0;
	CU_ASSERT_EQUAL(check(rc, T0 - 1, &m), 0);
	CU_ASSERT_EQUAL(m, 0); /* nothing published yet */
	const int64_t at[] = {T0, T0 + 1, T0 + 3600, T0 + 10 * DAY, T0 + 60 * DAY};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		CU_ASSERT_EQUAL(check(rc, at[i], &m), 0);
		CU_ASSERT_EQUAL(m, PER_PAIR);
	}
	/* Republishing the same zone adds no content: still one mix per RRset. */
	add_zone(rc, T0 + DAY, spec(BIT(KE1) | BIT(ZE1), BIT(KE1), BIT(ZE1)));
	CU_ASSERT_EQUAL(check(rc, T0 + DAY + 1, &m), 0);
	CU_ASSERT_EQUAL(m, PER_PAIR);
	rollcheck_free(rc);
}

/* ZSK ZE1 -> ZE2 by pre-publication; with fast = true the old DNSKEY goes
 * 60 s after the signature switch. Returns the switch time. */
static int64_t zsk_roll(rollcheck_t *rc, bool fast, int64_t *removal)
{
	int64_t t1 = T0 + DAY;
	int64_t t2 = t1 + DNSKEY_TTL + ZDELAY; /* new DNSKEY everywhere */
	int64_t t3 = fast ? t2 + 60 : t2 + DATA_TTL + ZDELAY;
	add_zone(rc, T0, spec(BIT(KE1) | BIT(ZE1), BIT(KE1), BIT(ZE1)));
	add_ds(rc, T0, BIT(KE1), false);
	add_zone(rc, t1, spec(BIT(KE1) | BIT(ZE1) | BIT(ZE2), BIT(KE1), BIT(ZE1)));
	add_zone(rc, t2, spec(BIT(KE1) | BIT(ZE1) | BIT(ZE2), BIT(KE1), BIT(ZE2)));
	add_zone(rc, t3, spec(BIT(KE1) | BIT(ZE2), BIT(KE1), BIT(ZE2)));
	*removal = t3;
	return t2;
}

static void test_rollcheck_zsk_rollover_done_right_validates(void)
{
	rollcheck_t *rc = new_checker();
	int64_t removal, first, last;
	zsk_roll(rc, false, &removal);
	size_t n = 0;
	CU_ASSERT_EQUAL(check_all(rc, T0 - 10, removal + 3 * DAY, &first, &last, &n), 0);
	CU_ASSERT(n >= 20);
	rollcheck_free(rc);
}

static void test_rollcheck_zsk_removed_too_early_fails_until_ttl_expiry(void)
{
	rollcheck_t *rc = new_checker();
	int64_t removal, first, last;
	int64_t t2 = zsk_roll(rc, true, &removal);
	/* Data signed by ZE1 only (version 1) stays fetchable until
	 * t2 + ZDELAY and cached DATA_TTL more. */
	int64_t expiry = t2 + ZDELAY + DATA_TTL;
	CU_ASSERT(check(rc, removal - 1, NULL) == 0);
	CU_ASSERT(check(rc, removal, NULL) > 0);
	CU_ASSERT(check(rc, removal + 1, NULL) > 0);
	CU_ASSERT(check(rc, expiry - 1, NULL) > 0);
	CU_ASSERT_EQUAL(check(rc, expiry, NULL), 0);
	CU_ASSERT_EQUAL(check(rc, expiry + 1, NULL), 0);
	size_t n = 0;
	CU_ASSERT(check_all(rc, T0 - 10, removal + 3 * DAY, &first, &last, &n) > 0);
	CU_ASSERT_EQUAL(first, removal);
	CU_ASSERT_EQUAL(last, expiry - 1);
	rollcheck_free(rc);
}

/* KSK KE1 -> KE2 by double signature; the DS changes at t2; the old KSK
 * goes at t3. */
static void ksk_roll(rollcheck_t *rc, int64_t t3_after_ds, int64_t *t2, int64_t *t3)
{
	int64_t t1 = T0 + DAY;
	*t2 = t1 + DNSKEY_TTL + ZDELAY;
	*t3 = *t2 + t3_after_ds;
	add_zone(rc, T0, spec(BIT(KE1) | BIT(ZE1), BIT(KE1), BIT(ZE1)));
	add_ds(rc, T0, BIT(KE1), false);
	add_zone(rc, t1, spec(BIT(KE1) | BIT(KE2) | BIT(ZE1), BIT(KE1) | BIT(KE2), BIT(ZE1)));
	add_ds(rc, *t2, BIT(KE2), false);
	add_zone(rc, *t3, spec(BIT(KE2) | BIT(ZE1), BIT(KE2), BIT(ZE1)));
}

/* The .nz outage of 2023: the old KSK left the DNSKEY RRset while resolvers
 * still held the old DS. */
static void test_rollcheck_ksk_removed_while_old_ds_cached_fails(void)
{
	rollcheck_t *rc = new_checker();
	int64_t t2, t3, first, last;
	ksk_roll(rc, 3600, &t2, &t3);
	int64_t expiry = t2 + PDELAY + DS_TTL; /* old DS gone from caches */
	uint64_t m = 0;
	/* Two DS sets x two DNSKEY RRsets: only (old DS, new DNSKEY) fails. */
	CU_ASSERT_EQUAL(check(rc, t3 + 1, &m), PER_PAIR);
	CU_ASSERT_EQUAL(m, 4 * PER_PAIR);
	CU_ASSERT(check(rc, expiry - 1, NULL) > 0);
	CU_ASSERT_EQUAL(check(rc, expiry, NULL), 0);
	size_t n = 0;
	CU_ASSERT(check_all(rc, T0, t3 + 3 * DAY, &first, &last, &n) > 0);
	CU_ASSERT_EQUAL(first, t3);
	CU_ASSERT_EQUAL(last, expiry - 1);
	rollcheck_free(rc);

	/* Done right: the old KSK goes once the old DS has expired. */
	rc = new_checker();
	ksk_roll(rc, PDELAY + DS_TTL, &t2, &t3);
	CU_ASSERT_EQUAL(check_all(rc, T0 - 10, t3 + 3 * DAY, &first, &last, &n), 0);
	rollcheck_free(rc);
}

static void test_rollcheck_expired_rrsig_fails(void)
{
	rollcheck_t *rc = new_checker();
	zspec_t z = spec(BIT(KE1) | BIT(ZE1), BIT(KE1), BIT(ZE1));
	z.zexpiration = T0 + 1000;
	z.kexpiration = T0 + 2000;
	add_zone(rc, T0, z);
	add_ds(rc, T0, BIT(KE1), false);
	CU_ASSERT_EQUAL(check(rc, T0 + 1000, NULL), 0); /* expiration is inclusive */
	/* Data RRSIGs expired: each of the 15 RRsets fails. */
	CU_ASSERT_EQUAL(check(rc, T0 + 1001, NULL), PER_PAIR - 1);
	/* DNSKEY RRSIG expired too: the pair and everything on it fails. */
	CU_ASSERT_EQUAL(check(rc, T0 + 2001, NULL), PER_PAIR);
	rollcheck_free(rc);

	/* Not yet valid: published before the inception. */
	rc = new_checker();
	z = spec(BIT(KE1) | BIT(ZE1), BIT(KE1), BIT(ZE1));
	z.inception = T0 + 100;
	add_zone(rc, T0, z);
	add_ds(rc, T0, BIT(KE1), false);
	CU_ASSERT_EQUAL(check(rc, T0 + 99, NULL), PER_PAIR);
	CU_ASSERT_EQUAL(check(rc, T0 + 100, NULL), 0);
	rollcheck_free(rc);
}

static void test_rollcheck_wrong_ds_digest_fails(void)
{
	rollcheck_t *rc = new_checker();
	add_zone(rc, T0, spec(BIT(KE1) | BIT(ZE1), BIT(KE1), BIT(ZE1)));
	add_ds(rc, T0, BIT(KE1), true);
	CU_ASSERT_EQUAL(check(rc, T0 + 1, NULL), PER_PAIR);
	rollcheck_free(rc);

	/* A DS of a key that is not in the DNSKEY RRset fails the same way. */
	rc = new_checker();
	add_zone(rc, T0, spec(BIT(KE1) | BIT(ZE1), BIT(KE1), BIT(ZE1)));
	add_ds(rc, T0, BIT(KE2), false);
	CU_ASSERT_EQUAL(check(rc, T0 + 1, NULL), PER_PAIR);
	rollcheck_free(rc);
}

/* One flipped bit of signature: ldns's crypto must refuse it. */
static void test_rollcheck_corrupted_rrsig_fails(void)
{
	rollcheck_t *rc = new_checker();
	char err[256] = "";
	zspec_t z = spec(BIT(KE1) | BIT(ZE1), BIT(KE1), BIT(ZE1));
	char *text = make_zone(&z);
	char *sig = strstr(text, "RRSIG\tMX ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
	char *eol = strchr(sig, '\n');
	CU_ASSERT_PTR_NOT_NULL_FATAL(eol);
	char *c = eol - 1;
	while (c > sig && !isalpha((unsigned char)*c)) {
		c--; /* past the base64 padding */
	}
	c -= 4; /* well inside the signature */
	while (!isalpha((unsigned char)*c)) {
		c--;
	}
	*c = (char)(islower((unsigned char)*c) ? toupper((unsigned char)*c)
	                                       : tolower((unsigned char)*c));
	CU_ASSERT_EQUAL(rollcheck_add_zone(rc, T0, text, err, sizeof(err)), ROLLCHECK_OK);
	CU_ASSERT_STRING_EQUAL(err, "");
	free(text);
	add_ds(rc, T0, BIT(KE1), false);
	CU_ASSERT_EQUAL(check(rc, T0 + 1, NULL), 1);
	rollcheck_free(rc);
}

static void test_rollcheck_insecure_validates_broken_signatures(void)
{
	rollcheck_t *rc = new_checker();
	char err[128];
	zspec_t z = spec(BIT(KE1) | BIT(ZE1), BIT(KE1), 0); /* data unsigned */
	z.kexpiration = T0 - 10;                            /* DNSKEY RRSIG expired */
	add_zone(rc, T0, z);
	CU_ASSERT_EQUAL(rollcheck_add_ds(rc, T0, "; no DS\n", err, sizeof(err)), ROLLCHECK_OK);
	uint64_t m = 0;
	CU_ASSERT_EQUAL(check(rc, T0 + 1, &m), 0);
	CU_ASSERT_EQUAL(m, PER_PAIR);
	CU_ASSERT_EQUAL(rollcheck_add_ds(rc, T0 + 10, "", err, sizeof(err)), ROLLCHECK_OK);
	CU_ASSERT_EQUAL(check(rc, T0 + 11, &m), 0);
	CU_ASSERT_EQUAL(m, PER_PAIR); /* the same empty content */
	/* The same zone with a DS: every mix fails. */
	add_ds(rc, T0 + 20, BIT(KE1), false);
	CU_ASSERT_EQUAL(check(rc, T0 + 21, &m), PER_PAIR);
	CU_ASSERT_EQUAL(m, 2 * PER_PAIR); /* the empty DS set may still be held */
	rollcheck_free(rc);
}

/* Algorithm rollover RSASHA256 (KR, ZR) -> ECDSAP256SHA256 (KE1, ZE1) in
 * the order of RFC 6781 4.1.4: new RRSIGs, wait max TTL; new DNSKEYs, wait
 * DNSKEY TTL; new DS, wait DS TTL; remove old DNSKEYs, wait DNSKEY TTL;
 * remove old RRSIGs. */
static void test_rollcheck_algorithm_rollover_rfc6781_order_validates(void)
{
	rollcheck_t *rc = new_checker();
	unsigned oldk = BIT(KR) | BIT(ZR), newk = BIT(KE1) | BIT(ZE1);
	int64_t t1 = T0 + DAY;
	int64_t t2 = t1 + DATA_TTL + ZDELAY;
	int64_t t3 = t2 + DNSKEY_TTL + ZDELAY;
	int64_t t4 = t3 + DS_TTL + PDELAY;
	int64_t t5 = t4 + DNSKEY_TTL + ZDELAY;
	add_zone(rc, T0, spec(oldk, BIT(KR), BIT(ZR)));
	add_ds(rc, T0, BIT(KR), false);
	add_zone(rc, t1, spec(oldk, BIT(KR) | BIT(KE1), BIT(ZR) | BIT(ZE1)));
	add_zone(rc, t2, spec(oldk | newk, BIT(KR) | BIT(KE1), BIT(ZR) | BIT(ZE1)));
	add_ds(rc, t3, BIT(KE1), false);
	add_zone(rc, t4, spec(newk, BIT(KE1), BIT(ZR) | BIT(ZE1)));
	add_zone(rc, t5, spec(newk, BIT(KE1), BIT(ZE1)));
	int64_t first, last;
	size_t n = 0;
	uint64_t before = total_mixes;
	CU_ASSERT_EQUAL(check_all(rc, T0 - 10, t5 + 3 * DAY, &first, &last, &n), 0);
	CU_ASSERT(n >= 30);
	CU_ASSERT(total_mixes - before > 1000);
	rollcheck_free(rc);
}

/* The same rollover with the new DNSKEYs published together with the new
 * RRSIGs and the DS changed one DNSKEY TTL later, as for a KSK rollover.
 * Data fetched before t1 carries RSASHA256 RRSIGs only and stays cached
 * DATA_TTL (> DNSKEY_TTL). A lenient validator accepts it (the RSASHA256
 * RRSIG is by ZR, in a DNSKEY RRset trusted through KE1's DS); a
 * downgrade-hardened one requires an ECDSAP256SHA256 RRSIG on each RRset,
 * since that is the DS set's algorithm, and fails. */
static void test_rollcheck_algorithm_rollover_early_dnskey_fails_strict(void)
{
	rollcheck_t *rc = new_checker();
	unsigned oldk = BIT(KR) | BIT(ZR), newk = BIT(KE1) | BIT(ZE1);
	int64_t t1 = T0 + DAY;
	int64_t t2 = t1 + DNSKEY_TTL + ZDELAY;
	add_zone(rc, T0, spec(oldk, BIT(KR), BIT(ZR)));
	add_ds(rc, T0, BIT(KR), false);
	add_zone(rc, t1, spec(oldk | newk, BIT(KR) | BIT(KE1), BIT(ZR) | BIT(ZE1)));
	add_ds(rc, t2, BIT(KE1), false);
	int64_t expiry = t1 + ZDELAY + DATA_TTL; /* RSASHA256-only data gone */
	CU_ASSERT_EQUAL(check(rc, t2 - 1, NULL), 0);
	/* New DS x the new DNSKEY RRset x the 15 RRsets of version 0; the old
	 * DNSKEY RRset expired at t2. */
	uint64_t m = 0;
	CU_ASSERT_EQUAL(check(rc, t2 + 1, &m), PER_PAIR - 1);
	CU_ASSERT_EQUAL(m, 2 * (1 + 2 * (PER_PAIR - 1)));
	CU_ASSERT(check(rc, expiry - 1, NULL) > 0);
	CU_ASSERT_EQUAL(check(rc, expiry, NULL), 0);
	int64_t first, last;
	size_t n = 0;
	CU_ASSERT(check_all(rc, T0, t2 + 3 * DAY, &first, &last, &n) > 0);
	CU_ASSERT_EQUAL(first, t2);
	CU_ASSERT_EQUAL(last, expiry - 1);
	rollcheck_free(rc);
}

static void test_rollcheck_rejects_bad_input(void)
{
	rollcheck_t *rc = new_checker();
	char err[256] = "";
	uint64_t m = 0;
	const char *bad_zone = "example. 3600 IN SOA ns1.example. h.example. 1 2 3 4 5\n"
	                       "www.example. 3600 IN A 999.0.2.1\n";
	CU_ASSERT_EQUAL(rollcheck_add_zone(rc, T0, bad_zone, err, sizeof(err)), ROLLCHECK_E_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2"));
	CU_ASSERT_EQUAL(
	        rollcheck_add_ds(rc, T0, "example. 3600 IN DS 1 13 2 zz\n", err, sizeof(err)),
	        ROLLCHECK_E_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 1"));
	CU_ASSERT_EQUAL(rollcheck_add_ds(rc, T0, "; parent\nexample. 3600 IN A 192.0.2.1\n", err,
	                                 sizeof(err)),
	                ROLLCHECK_E_OWNER);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2"));
	/* Nothing was recorded. */
	CU_ASSERT_EQUAL(check(rc, T0 + 1, &m), 0);
	CU_ASSERT_EQUAL(m, 0);
	int64_t *v = NULL;
	size_t n = 7;
	CU_ASSERT_EQUAL(rollcheck_instants(rc, T0, T0 + DAY, &v, &n), ROLLCHECK_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_EQUAL(rollcheck_instants(rc, T0 + 1, T0, &v, &n), ROLLCHECK_E_RANGE);
	/* Versions must come in time order. */
	add_zone(rc, T0, spec(BIT(KE1) | BIT(ZE1), BIT(KE1), BIT(ZE1)));
	CU_ASSERT_EQUAL(rollcheck_add_zone(rc, T0 - 1, "", err, sizeof(err)), ROLLCHECK_E_ORDER);
	CU_ASSERT_PTR_NULL(rollcheck_new("bad..name", 0, 0));
	CU_ASSERT_STRING_EQUAL(rollcheck_strerror(ROLLCHECK_E_PARSE), "unparsable text");
	CU_ASSERT_STRING_EQUAL(rollcheck_strerror(-ENOMEM), "out of memory");
	rollcheck_free(rc);
	rollcheck_free(NULL);
}

int main(void)
{
	keys[KE1] = make_key(LDNS_SIGN_ECDSAP256SHA256, 256, 257);
	keys[KE2] = make_key(LDNS_SIGN_ECDSAP256SHA256, 256, 257);
	keys[ZE1] = make_key(LDNS_SIGN_ECDSAP256SHA256, 256, 256);
	keys[ZE2] = make_key(LDNS_SIGN_ECDSAP256SHA256, 256, 256);
	keys[KR] = make_key(LDNS_SIGN_RSASHA256, 1024, 257);
	keys[ZR] = make_key(LDNS_SIGN_RSASHA256, 1024, 256);
	static const testutil_case_t cases[] = {
	        {"test_rollcheck_good_zone_validates", test_rollcheck_good_zone_validates},
	        {"test_rollcheck_zsk_rollover_done_right_validates",
	         test_rollcheck_zsk_rollover_done_right_validates},
	        {"test_rollcheck_zsk_removed_too_early_fails_until_ttl_expiry",
	         test_rollcheck_zsk_removed_too_early_fails_until_ttl_expiry},
	        {"test_rollcheck_ksk_removed_while_old_ds_cached_fails",
	         test_rollcheck_ksk_removed_while_old_ds_cached_fails},
	        {"test_rollcheck_expired_rrsig_fails", test_rollcheck_expired_rrsig_fails},
	        {"test_rollcheck_wrong_ds_digest_fails", test_rollcheck_wrong_ds_digest_fails},
	        {"test_rollcheck_corrupted_rrsig_fails", test_rollcheck_corrupted_rrsig_fails},
	        {"test_rollcheck_insecure_validates_broken_signatures",
	         test_rollcheck_insecure_validates_broken_signatures},
	        {"test_rollcheck_algorithm_rollover_rfc6781_order_validates",
	         test_rollcheck_algorithm_rollover_rfc6781_order_validates},
	        {"test_rollcheck_algorithm_rollover_early_dnskey_fails_strict",
	         test_rollcheck_algorithm_rollover_early_dnskey_fails_strict},
	        {"test_rollcheck_rejects_bad_input", test_rollcheck_rejects_bad_input},
	        {NULL, NULL},
	};
	int failed = testutil_run("rollcheck", cases);
	printf("rollcheck: %llu mixes checked at %llu instants\n", (unsigned long long)total_mixes,
	       (unsigned long long)total_instants);
	for (int i = 0; i < NKEYS; i++) {
		ldns_key_deep_free(keys[i]);
	}
	for (size_t i = 0; i < nmade; i++) {
		free(made[i].text);
	}
	return failed;
}
