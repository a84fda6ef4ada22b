#include "signer/zone/zone_load.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_builder.h"
#include "signer/zone/zone_diff.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_generate.h"
#include "signer/zone/zone_write.h"
#include "tests/support/testutil.h"

/* ---- helpers ---- */

typedef struct {
	zone_diag_level_t level;
	char file[512];
	unsigned long line;
	char msg[1024];
} diag_t;

typedef struct {
	diag_t v[256];
	size_t n, errors, warnings;
} diags_t;

static void collect(void *ctx, zone_diag_level_t level, const char *file, unsigned long line,
                    const char *msg)
{
	diags_t *d = ctx;
	if (level == ZONE_DIAG_ERROR) {
		d->errors++;
	} else {
		d->warnings++;
	}
	if (d->n < sizeof(d->v) / sizeof(d->v[0])) {
		diag_t *x = &d->v[d->n++];
		x->level = level;
		snprintf(x->file, sizeof(x->file), "%s", file != NULL ? file : "(null)");
		x->line = line;
		snprintf(x->msg, sizeof(x->msg), "%s", msg);
	}
}

static void print_diags(const diags_t *d)
{
	for (size_t i = 0; i < d->n; i++) {
		fprintf(stderr, "  %s:%lu: %s: %s\n", d->v[i].file, d->v[i].line,
		        d->v[i].level == ZONE_DIAG_ERROR ? "error" : "warning", d->v[i].msg);
	}
}

/* Whether a report of level at line holds text. */
static bool has_diag(const diags_t *d, zone_diag_level_t level, unsigned long line,
                     const char *text)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].level == level && d->v[i].line == line &&
		    strstr(d->v[i].msg, text) != NULL) {
			return true;
		}
	}
	print_diags(d);
	fprintf(stderr, "  (no %s at line %lu with \"%s\")\n",
	        level == ZONE_DIAG_ERROR ? "error" : "warning", line, text);
	return false;
}

/* Wire form of an absolute name (static storage, 4 rotating buffers). */
static const uint8_t *wire(const char *text)
{
	static uint8_t buf[4][DNAME_MAXLEN];
	static int k;
	uint8_t *out = buf[k++ % 4];
	CU_ASSERT_EQUAL_FATAL(dname_from_str(text, NULL, out, DNAME_MAXLEN, NULL), ZONE_OK);
	return out;
}

static const char *testdata(const char *rel)
{
	static char buf[4][1024];
	static int k;
	char *out = buf[k++ % 4];
	snprintf(out, 1024, "%s/%s", testutil_testdata(), rel);
	return out;
}

static int load_text(const char *text, diags_t *d, zone_t **z)
{
	memset(d, 0, sizeof(*d));
	return zone_load_text(text, strlen(text), "text", wire("example."), 3600, collect, d, z);
}

static const zone_rrset_t *rrset(const zone_t *z, const char *name, uint16_t type)
{
	size_t i;
	if (!zone_find(z, wire(name), &i)) {
		return NULL;
	}
	const zone_slot_t *s = zone_node_find(zone_entry(z, i)->node, type);
	return s != NULL ? s->data : NULL;
}

/* The first record of an RRset as the writer writes it, or "" if absent. */
static const char *rr_line(const zone_t *z, const char *name, uint16_t type)
{
	static char buf[4096];
	const zone_rrset_t *r = rrset(z, name, type);
	size_t pos = 0;
	zone_rdata_t rd;
	buf[0] = '\0';
	if (r != NULL && zone_rrset_next(r, &pos, &rd)) {
		CU_ASSERT_EQUAL(zone_write_rr_str(wire(name), type, r->ttl, rd.data, rd.len, buf,
		                                  sizeof(buf), NULL),
		                ZONE_OK);
	}
	return buf;
}

static size_t count_rrsets(const zone_t *z)
{
	size_t n = 0;
	for (size_t i = 0; i < z->count; i++) {
		n += zone_entry(z, i)->node->nslots;
	}
	return n;
}

static const char *const SOA_NS = "$ORIGIN example.\n"
                                  "@ 3600 SOA ns hostmaster 1 3600 600 86400 300\n"
                                  "@ 3600 NS ns\n"
                                  "ns 3600 A 192.0.2.1\n";

/* Loads SOA_NS followed by more, which starts at line 5. */
static int load_more(const char *more, diags_t *d, zone_t **z)
{
	static char buf[65536];
	snprintf(buf, sizeof(buf), "%s%s", SOA_NS, more);
	return load_text(buf, d, z);
}

/* ---- good zones ---- */

static const struct {
	const char *file, *origin;
} good_zones[] = {
        {"zones/nsd_bug052_ent.zone", "miek.nl."},
        {"zones/nsd_dname.zone", "example."},
        {"zones/nsd_svcb.success-cases.zone", "success-cases."},
        {"zones/own-delegations.zone", "example."},
        {"zones/own-directives.zone", "example."},
        {"zones/own-rrtypes.zone", "example."},
        {"zones/own-ttl-mismatch.zone", "example."},
};

static void test_zone_load_accepts_every_testdata_zone(void)
{
	size_t found = 0;
	DIR *dir = opendir(testdata("zones"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	for (struct dirent *e; (e = readdir(dir)) != NULL;) {
		size_t n = strlen(e->d_name);
		found += n > 5 && strcmp(e->d_name + n - 5, ".zone") == 0;
	}
	closedir(dir);
	/* Every zone in the directory is in the table. */
	CU_ASSERT_EQUAL(found, sizeof(good_zones) / sizeof(good_zones[0]));
	for (size_t i = 0; i < sizeof(good_zones) / sizeof(good_zones[0]); i++) {
		diags_t d = {0};
		zone_t *z = NULL;
		int ret = zone_load(testdata(good_zones[i].file), wire(good_zones[i].origin), 3600,
		                    collect, &d, &z);
		CU_ASSERT_EQUAL(ret, ZONE_OK);
		CU_ASSERT_EQUAL(d.errors, 0);
		if (ret != ZONE_OK || d.errors != 0) {
			fprintf(stderr, "%s: %s\n", good_zones[i].file, zone_strerror(ret));
			print_diags(&d);
		}
		CU_ASSERT_PTR_NOT_NULL(z);
		if (z != NULL) {
			CU_ASSERT_PTR_NOT_NULL(zone_apex_rrset(z, ZONE_TYPE_SOA));
		}
		zone_free(z);
	}
}

static void test_zone_load_delegations_zone_has_expected_names(void)
{
	diags_t d = {0};
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_load(testdata("zones/own-delegations.zone"), wire("example."),
	                                3600, collect, &d, &z),
	                      ZONE_OK);
	/* 15 names with data and 3 empty non-terminals (ent, b.secure,
	 * a.b.secure); 19 RRsets. */
	CU_ASSERT_EQUAL(z->count, 18);
	CU_ASSERT_EQUAL(count_rrsets(z), 19);
	CU_ASSERT_EQUAL(d.n, 0);
	size_t i;
	CU_ASSERT_TRUE(zone_find(z, wire("secure.example."), &i));
	CU_ASSERT_TRUE(zone_entry(z, i)->flags & ZONE_NAME_CUT);
	CU_ASSERT_TRUE(zone_find(z, wire("ns1.secure.example."), &i));
	CU_ASSERT_TRUE(zone_entry(z, i)->flags & ZONE_NAME_OCCLUDED);
	CU_ASSERT_TRUE(zone_find(z, wire("ent.example."), &i));
	CU_ASSERT_TRUE(zone_entry(z, i)->flags & ZONE_NAME_ENT);
	CU_ASSERT_STRING_EQUAL(
	        rr_line(z, "secure.example.", ZONE_TYPE_DS),
	        "secure.example.\t3600\tIN\tDS\t12345 13 2 "
	        "8B5F9A1C2D3E4F5061728394A5B6C7D8E9F00112233445566778899AABBCCDDE\n");
	CU_ASSERT_EQUAL(rrset(z, "secure.example.", ZONE_TYPE_NS)->count, 2);
	zone_free(z);

	CU_ASSERT_EQUAL_FATAL(zone_load(testdata("zones/nsd_bug052_ent.zone"), wire("miek.nl."),
	                                3600, collect, &d, &z),
	                      ZONE_OK);
	CU_ASSERT_EQUAL(z->count, 3); /* miek.nl, b (empty non-terminal), a.b */
	CU_ASSERT_TRUE(zone_find(z, wire("b.miek.nl."), &i));
	CU_ASSERT_TRUE(zone_entry(z, i)->flags & ZONE_NAME_ENT);
	/* $TTL 4D */
	CU_ASSERT_EQUAL(rrset(z, "a.b.miek.nl.", 16)->ttl, 345600);
	zone_free(z);
}

static void test_zone_load_directives_make_the_records_the_readme_names(void)
{
	diags_t d = {0};
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_load(testdata("zones/own-directives.zone"), wire("example."), 60,
	                                collect, &d, &z),
	                      ZONE_OK);
	CU_ASSERT_EQUAL(d.n, 0);
	/* $TTL 1h, multi-line SOA with units. */
	CU_ASSERT_STRING_EQUAL(
	        rr_line(z, "example.", ZONE_TYPE_SOA),
	        "example.\t3600\tIN\tSOA\tns.example. hostmaster.example. 2024010101 "
	        "7200 1800 1209600 300\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "example.", ZONE_TYPE_NS),
	                       "example.\t3600\tIN\tNS\tns.example.\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "ns.example.", ZONE_TYPE_A),
	                       "ns.example.\t3600\tIN\tA\t192.0.2.1\n");
	/* Owner inherited from the line before. */
	CU_ASSERT_STRING_EQUAL(rr_line(z, "ns.example.", ZONE_TYPE_AAAA),
	                       "ns.example.\t3600\tIN\tAAAA\t2001:db8::1\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "host.example.", ZONE_TYPE_A),
	                       "host.example.\t600\tIN\tA\t192.0.2.2\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "host2.example.", ZONE_TYPE_A),
	                       "host2.example.\t86400\tIN\tA\t192.0.2.3\n");
	/* $INCLUDE with the current origin and with its own. */
	CU_ASSERT_STRING_EQUAL(rr_line(z, "inc1.example.", ZONE_TYPE_A),
	                       "inc1.example.\t600\tIN\tA\t192.0.2.41\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "inc2.example.", 16),
	                       "inc2.example.\t600\tIN\tTXT\t\"from the included file\"\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "sub.example.", ZONE_TYPE_A),
	                       "sub.example.\t600\tIN\tA\t192.0.2.51\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "www.sub.example.", ZONE_TYPE_A),
	                       "www.sub.example.\t600\tIN\tA\t192.0.2.52\n");
	/* $ORIGIN after the include is the file's own again. */
	CU_ASSERT_STRING_EQUAL(rr_line(z, "a.rel.example.", ZONE_TYPE_A),
	                       "a.rel.example.\t600\tIN\tA\t192.0.2.4\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "b.example.", ZONE_TYPE_A),
	                       "b.example.\t600\tIN\tA\t192.0.2.5\n");
	/* $GENERATE 1-20 host-$ A 198.51.100.$ */
	for (int i = 1; i <= 20; i++) {
		char name[64], want[128];
		snprintf(name, sizeof(name), "host-%d.example.", i);
		snprintf(want, sizeof(want), "%s\t600\tIN\tA\t198.51.100.%d\n", name, i);
		CU_ASSERT_STRING_EQUAL(rr_line(z, name, ZONE_TYPE_A), want);
	}
	CU_ASSERT_PTR_NULL(rrset(z, "host-0.example.", ZONE_TYPE_A));
	CU_ASSERT_PTR_NULL(rrset(z, "host-21.example.", ZONE_TYPE_A));
	/* $GENERATE 1-4/2 gen${0,3,d} AAAA 2001:db8::${0,0,x} */
	CU_ASSERT_STRING_EQUAL(rr_line(z, "gen001.example.", ZONE_TYPE_AAAA),
	                       "gen001.example.\t600\tIN\tAAAA\t2001:db8::1\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "gen003.example.", ZONE_TYPE_AAAA),
	                       "gen003.example.\t600\tIN\tAAAA\t2001:db8::3\n");
	CU_ASSERT_PTR_NULL(rrset(z, "gen002.example.", ZONE_TYPE_AAAA));
	CU_ASSERT_PTR_NULL(rrset(z, "gen004.example.", ZONE_TYPE_AAAA));
	/* 9 names of plain records, 2 included, 2 of the sub file, 20 + 2
	 * generated, and 2 empty non-terminals (rel, none else: sub has data). */
	CU_ASSERT_EQUAL(count_rrsets(z), 2 + 2 + 1 + 1 + 2 + 2 + 2 + 20 + 2);
	zone_free(z);
}

static void test_zone_load_rrtypes_zone_drops_cds_and_cdnskey(void)
{
	diags_t d = {0};
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_load(testdata("zones/own-rrtypes.zone"), wire("example."), 3600,
	                                collect, &d, &z),
	                      ZONE_OK);
	CU_ASSERT_EQUAL(d.errors, 0);
	CU_ASSERT_EQUAL(d.warnings, 2);
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 15, "CDS record dropped"));
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 16, "CDNSKEY record dropped"));
	CU_ASSERT_PTR_NULL(zone_apex_rrset(z, ZONE_TYPE_CDS));
	CU_ASSERT_PTR_NULL(zone_apex_rrset(z, ZONE_TYPE_CDNSKEY));
	CU_ASSERT_EQUAL(zone_apex_rrset(z, ZONE_TYPE_MX)->count, 2);
	/* TYPE1 in generic syntax is an A record. */
	CU_ASSERT_STRING_EQUAL(rr_line(z, "known-as-generic.example.", ZONE_TYPE_A),
	                       "known-as-generic.example.\t3600\tIN\tA\t192.0.2.1\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "unknown.example.", 65280),
	                       "unknown.example.\t3600\tIN\tTYPE65280\t\\# 4 0A000001\n");
	/* Three strings, the first two 255 octets. */
	const zone_rrset_t *txt = rrset(z, "long.example.", 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(txt);
	CU_ASSERT_EQUAL(txt->len, 2 + 256 + 256 + 101);
	zone_free(z);
}

static void test_zone_load_svcb_keys_libzscanner_lacks(void)
{
	diags_t d = {0};
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_load(testdata("zones/nsd_svcb.success-cases.zone"),
	                                wire("success-cases."), 3600, collect, &d, &z),
	                      ZONE_OK);
	/* s09 HTTPS 0 . alpn=h2 dohpath=/dns-query{é?dns}: key 7, UTF-8 kept. */
	CU_ASSERT_STRING_EQUAL(
	        rr_line(z, "s09.success-cases.", 65),
	        "s09.success-cases.\t3600\tIN\tHTTPS\t\\# 32 "
	        "00000000010003026832000700122F646E732D71756572797BC3A93F646E737D\n");
	/* s02 SVCB 0 . echconfig: key 5 without a value. */
	CU_ASSERT_STRING_EQUAL(rr_line(z, "s02.success-cases.", 64),
	                       "s02.success-cases.\t3600\tIN\tSVCB\t\\# 7 00000000050000\n");
	/* The apex has no NS: a warning only. */
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 4, "no NS records"));
	zone_free(z);

	/* Written over several lines, with mandatory naming the new keys, and
	 * the owner inherited: reported and kept at its first line. */
	CU_ASSERT_EQUAL_FATAL(
	        load_more("svc HTTPS 1 . alpn=h2\n"
	                  "\tHTTPS ( 2 . ; comment\n"
	                  "  mandatory=dohpath,alpn alpn=h3 dohpath=\"/q{?dns}\" ohttp )\n",
	                  &d, &z),
	        ZONE_OK);
	CU_ASSERT_EQUAL(d.n, 0);
	const zone_rrset_t *r = rrset(z, "svc.example.", 65);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->count, 2);
	size_t pos = 0;
	zone_rdata_t rd;
	CU_ASSERT_TRUE(zone_rrset_next(r, &pos, &rd));
	CU_ASSERT_TRUE(zone_rrset_next(r, &pos, &rd));
	/* priority 2, root, mandatory(0) = alpn(1) dohpath(7), alpn h3,
	 * dohpath, ohttp(8) empty. */
	static const uint8_t want[] = {0,   2,   0,   0,   0,   0,   4, 0, 1, 0, 7,   0,
	                               1,   0,   3,   2,   'h', '3', 0, 7, 0, 8, '/', 'q',
	                               '{', '?', 'd', 'n', 's', '}', 0, 8, 0, 0};
	CU_ASSERT_EQUAL(rd.len, sizeof(want));
	CU_ASSERT_TRUE(rd.len == sizeof(want) && memcmp(rd.data, want, sizeof(want)) == 0);
	zone_free(z);

	/* A parameter no name fixes is still an error, at its line. */
	z = (zone_t *)&d;
	CU_ASSERT_EQUAL(load_more("svc HTTPS 1 . nonsense=1\n", &d, &z), ZONE_ERR_RDATA);
	CU_ASSERT_PTR_EQUAL(z, &d);
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_ERROR, 5, "bad HTTPS RDATA"));
}

/* ---- bad zones ---- */

static void test_zone_load_bad_zones_fail_with_their_readme_error(void)
{
	static const struct {
		const char *file, *origin;
		int status;
		unsigned long line;
		const char *text;
	} cases[] = {
	        {"bad-class.zone", "example.", ZONE_ERR_CLASS, 7, "class CH is not supported"},
	        {"bad-cname-and-other.zone", "example.", ZONE_ERR_CNAME, 8,
	         "www.example. has a CNAME and other data"},
	        {"bad-include-missing.zone", "example.", ZONE_ERR_INCLUDE, 7,
	         "does-not-exist.zone': No such file"},
	        {"bad-label-64.zone", "example.", ZONE_ERR_LABEL_TOO_LONG, 7,
	         "label longer than 63 octets"},
	        {"bad-missing-soa.zone", "example.", ZONE_ERR_NO_SOA, 4, "has no SOA record"},
	        {"bad-out-of-zone.zone", "example.", ZONE_ERR_OUT_OF_ZONE, 7,
	         "www.example.net. is outside the zone example."},
	        {"bad-rdata-a.zone", "example.", ZONE_ERR_RDATA, 7,
	         "bad A RDATA: invalid IPv4 address"},
	        {"bad-rdata-aaaa.zone", "example.", ZONE_ERR_RDATA, 7,
	         "bad AAAA RDATA: invalid IPv6 address"},
	        {"bad-rdata-mx.zone", "example.", ZONE_ERR_RDATA, 7, "bad MX RDATA"},
	        {"bad-syntax-paren.zone", "example.", ZONE_ERR_SYNTAX, 7, "unbalanced '('"},
	        {"bad-syntax-type.zone", "example.", ZONE_ERR_UNKNOWN_TYPE, 7,
	         "unknown RR type 'AXYZ'"},
	        {"bad-ttl.zone", "example.", ZONE_ERR_TTL, 7, "bad TTL '4294967296'"},
	        {"nsd_bug107_bad_hex_3597.zone", "interop3597.rfc.se.", ZONE_ERR_RDATA, 10,
	         "bad TYPE731 RDATA: invalid hexadecimal character"},
	};
	size_t found = 0;
	DIR *dir = opendir(testdata("bad-zones"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	for (struct dirent *e; (e = readdir(dir)) != NULL;) {
		size_t n = strlen(e->d_name);
		found += n > 5 && strcmp(e->d_name + n - 5, ".zone") == 0;
	}
	closedir(dir);
	CU_ASSERT_EQUAL(found, sizeof(cases) / sizeof(cases[0]));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char rel[256];
		snprintf(rel, sizeof(rel), "bad-zones/%s", cases[i].file);
		diags_t d = {0};
		zone_t *z = (zone_t *)&d; /* must stay as it is */
		const char *path = testdata(rel);
		int ret = zone_load(path, wire(cases[i].origin), 3600, collect, &d, &z);
		CU_ASSERT_EQUAL(ret, cases[i].status);
		CU_ASSERT_PTR_EQUAL(z, &d);
		CU_ASSERT_TRUE(d.errors >= 1);
		if (ret != cases[i].status) {
			fprintf(stderr, "%s: %s\n", cases[i].file, zone_strerror(ret));
		}
		CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_ERROR, cases[i].line, cases[i].text));
		/* The first error names the file. */
		CU_ASSERT_STRING_EQUAL(d.v[0].file, path);
		if (strcmp(cases[i].file, "bad-ttl.zone") == 0) {
			CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_ERROR, 8, "bad TTL '1x'"));
			CU_ASSERT_EQUAL(d.errors, 2);
		}
	}
}

static void test_zone_load_zone_checks_report_file_line_and_reason(void)
{
	static const struct {
		const char *more; /* after SOA_NS: line 5 on */
		int status;
		unsigned long line;
		const char *text;
	} cases[] = {
	        {"@ SOA ns hostmaster 2 3600 600 86400 300\n", ZONE_ERR_DUPLICATE_SOA, 5,
	         "second SOA record (the first is at text:2)"},
	        {"www SOA ns hostmaster 2 3600 600 86400 300\n", ZONE_ERR_SOA_NOT_APEX, 5,
	         "SOA record at www.example., not at the apex"},
	        {"www CNAME a\nwww CNAME b\n", ZONE_ERR_SINGLETON, 6, "more than one CNAME record"},
	        {"www DNAME a\nwww DNAME b\n", ZONE_ERR_SINGLETON, 6, "more than one DNAME record"},
	        {"@ CNAME www\n", ZONE_ERR_CNAME, 5, "example. has a CNAME and other data"},
	        {"www 2147483648 A 192.0.2.1\n", ZONE_ERR_TTL, 5,
	         "TTL 2147483648 is above 2147483647"},
	        {"$TTL 3000000000\nwww A 192.0.2.1\n", ZONE_ERR_TTL, 6, "above 2147483647"},
	        {"www TYPE255 \\# 0\n", ZONE_ERR_UNKNOWN_TYPE, 5, "cannot be in a zone"},
	        {"www TYPE41 \\# 0\n", ZONE_ERR_UNKNOWN_TYPE, 5, "cannot be in a zone"},
	        {"www HS A 192.0.2.1\n", ZONE_ERR_CLASS, 5, "class HS is not supported"},
	        {"www.example.org. A 192.0.2.1\n", ZONE_ERR_OUT_OF_ZONE, 5, "outside the zone"},
	        {"$FOO bar\n", ZONE_ERR_SYNTAX, 5, "syntax error"},
	        {"$INCLUDE /etc/passwd\n", ZONE_ERR_INCLUDE, 5, "not allowed"},
	        {"www A 192.0.2.1 )\n", ZONE_ERR_SYNTAX, 5, "syntax error"},
	        {"www.b. A 192.0.2.1\n", ZONE_ERR_OUT_OF_ZONE, 5, "outside"},
	        {"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o"
	         ".p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c."
	         "d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q."
	         "r.s.t.u.v.w.x.y.z A 192.0.2.1\n",
	         ZONE_ERR_NAME_TOO_LONG, 5, "longer than 255"},
	        /* A multi-line record is reported at its first line. */
	        {"www A 192.0.2.1\nwww CNAME (\n  target )\n", ZONE_ERR_CNAME, 6, "CNAME"},
	        /* An error on a later line of a record: that line, the type from
		 * the first. */
	        {"www A (\n 1.2.3 )\n", ZONE_ERR_RDATA, 6, "bad A RDATA"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		diags_t d;
		zone_t *z = (zone_t *)&d;
		int ret = load_more(cases[i].more, &d, &z);
		CU_ASSERT_EQUAL(ret, cases[i].status);
		CU_ASSERT_PTR_EQUAL(z, &d);
		if (ret != cases[i].status) {
			fprintf(stderr, "case %zu: %s (%d)\n", i, zone_strerror(ret), ret);
			print_diags(&d);
		}
		if (cases[i].text[0] != '\0') {
			CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_ERROR, cases[i].line, cases[i].text));
		}
		CU_ASSERT_STRING_EQUAL(d.v[0].file, "text");
	}
}

static void test_zone_load_empty_zone_has_no_soa(void)
{
	diags_t d;
	zone_t *z = NULL;
	CU_ASSERT_EQUAL(load_text("", &d, &z), ZONE_ERR_NO_SOA);
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_ERROR, 0, "has no SOA record"));
	CU_ASSERT_EQUAL(load_text("; only a comment\n\n", &d, &z), ZONE_ERR_NO_SOA);
	CU_ASSERT_PTR_NULL(z);
}

static void test_zone_load_ttl_mismatch_takes_the_lowest_ttl_with_a_warning(void)
{
	diags_t d = {0};
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_load(testdata("zones/own-ttl-mismatch.zone"), wire("example."),
	                                3600, collect, &d, &z),
	                      ZONE_OK);
	CU_ASSERT_EQUAL(d.errors, 0);
	CU_ASSERT_EQUAL(d.warnings, 2);
	/* The first record whose TTL differs from the first one's. */
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 11, "lowest TTL, 300"));
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 14, "lowest TTL, 60"));
	const zone_rrset_t *multi = rrset(z, "multi.example.", ZONE_TYPE_A);
	CU_ASSERT_EQUAL(multi->ttl, 300);
	CU_ASSERT_EQUAL(multi->count, 3);
	CU_ASSERT_EQUAL(rrset(z, "txt.example.", 16)->ttl, 60);
	CU_ASSERT_EQUAL(rrset(z, "ns.example.", ZONE_TYPE_A)->ttl, 3600);
	zone_free(z);
}

static void test_zone_load_drops_dnssec_records_with_warnings(void)
{
	diags_t d;
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(
	        load_more("@ DNSKEY 257 3 13 AQID\n"
	                  "@ RRSIG SOA 13 1 3600 20300101000000 20200101000000 1 example. AQID\n"
	                  "@ NSEC ns.example. SOA NS RRSIG NSEC DNSKEY\n"
	                  "@ NSEC3PARAM 1 0 0 -\n"
	                  "abc NSEC3 1 0 0 - 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A\n"
	                  "@ CDS 0 0 0 00\n"
	                  "@ CDNSKEY 0 3 0 AA==\n"
	                  "@ DS 1 13 2 0123456789ABCDEF\n"
	                  "sub NS ns.sub\n"
	                  "sub DS 1 13 2 0123456789ABCDEF\n"
	                  "ns.sub A 192.0.2.9\n",
	                  &d, &z),
	        ZONE_OK);
	CU_ASSERT_EQUAL(d.errors, 0);
	CU_ASSERT_EQUAL(d.warnings, 8);
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 5, "example. DNSKEY record dropped"));
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 6, "RRSIG record dropped"));
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 7, "NSEC record dropped"));
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 8, "NSEC3PARAM record dropped"));
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 9, "abc.example. NSEC3 record dropped"));
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 10, "CDS record dropped"));
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 11, "CDNSKEY record dropped"));
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 12, "example. DS record dropped"));
	for (uint16_t t = 43; t <= 60; t++) {
		if (t != ZONE_TYPE_DS) {
			CU_ASSERT_PTR_NULL(zone_apex_rrset(z, t));
		}
	}
	CU_ASSERT_PTR_NULL(zone_apex_rrset(z, ZONE_TYPE_DS));
	CU_ASSERT_PTR_NULL(rrset(z, "abc.example.", ZONE_TYPE_NSEC3));
	/* A DS at a delegation stays. */
	CU_ASSERT_PTR_NOT_NULL(rrset(z, "sub.example.", ZONE_TYPE_DS));
	zone_free(z);

	/* A signed zone as input: the first few of a type named, then a count. */
	char more[4096];
	size_t k = 0;
	for (int i = 0; i < 12; i++) {
		k += (size_t)snprintf(more + k, sizeof(more) - k,
		                      "h%d RRSIG A 13 2 3600 20300101000000 20200101000000 1 "
		                      "example. AQID\n",
		                      i);
	}
	CU_ASSERT_EQUAL_FATAL(load_more(more, &d, &z), ZONE_OK);
	CU_ASSERT_EQUAL(d.warnings, 6);
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 9, "h4.example. RRSIG record dropped"));
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 0, "12 RRSIG records dropped in all"));
	zone_free(z);

	/* A DS without NS is kept, with a warning. */
	CU_ASSERT_EQUAL_FATAL(load_more("www DS 1 13 2 0123456789ABCDEF\n", &d, &z), ZONE_OK);
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 5, "DS at www.example. without NS"));
	zone_free(z);
}

static void test_zone_load_owner_names_and_rdata_are_lowercased(void)
{
	diags_t d;
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(load_more("WWW.Example. CNAME Target.EXAMPLE.\n"
	                                "Mail MX 10 MX1.Example.\n"
	                                "mail TXT \"Keep CASE\"\n",
	                                &d, &z),
	                      ZONE_OK);
	CU_ASSERT_STRING_EQUAL(rr_line(z, "www.example.", ZONE_TYPE_CNAME),
	                       "www.example.\t3600\tIN\tCNAME\ttarget.example.\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "mail.example.", ZONE_TYPE_MX),
	                       "mail.example.\t3600\tIN\tMX\t10 mx1.example.\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "mail.example.", 16),
	                       "mail.example.\t3600\tIN\tTXT\t\"Keep CASE\"\n");
	size_t i;
	CU_ASSERT_TRUE(zone_find(z, wire("www.example."), &i));
	CU_ASSERT_EQUAL(memcmp(zone_entry(z, i)->node->owner, "\003www\007example", 12), 0);
	zone_free(z);
}

static void test_zone_load_reads_crlf_and_8bit_text(void)
{
	diags_t d;
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(load_more("caf\xc3\xa9 TXT \"caf\xc3\xa9\" ; comment \xff\r\n"
	                                "esc TXT \"\\\xc3\" x\xc3\r\n",
	                                &d, &z),
	                      ZONE_OK);
	CU_ASSERT_EQUAL(d.n, 0);
	print_diags(&d);
	CU_ASSERT_STRING_EQUAL(rr_line(z, "caf\\195\\169.example.", 16),
	                       "caf\\195\\169.example.\t3600\tIN\tTXT\t\"caf\\195\\169\"\n");
	/* An escaped 8-bit octet is that octet. */
	CU_ASSERT_STRING_EQUAL(rr_line(z, "esc.example.", 16),
	                       "esc.example.\t3600\tIN\tTXT\t\"\\195\" \"x\\195\"\n");
	zone_free(z);
}

/* ---- $GENERATE ---- */

static void test_zone_load_generate_modifiers_and_escapes(void)
{
	diags_t d;
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(
	        load_more("$GENERATE 10-12 r${0,4,x} PTR host-${-10,2,d}.example.\n"
	                  "$GENERATE 26-27 ${0,3,n} TXT \"v$\"\n"
	                  "$GENERATE 255-255 o${0,0,o}x${0,0,X}n${0,5,N} A 192.0.2.1\n"
	                  "$GENERATE 1-2 esc\\$$ TXT \"a$$b\" ; a comment\n"
	                  "$GENERATE 1-3/2 s$ 120 IN A 192.0.2.$\n"
	                  "$GENERATE 4-4 s$ IN 1h A 192.0.2.$\n"
	                  "$generate 1-1 mx$ MX 10 mail$.example.\n"
	                  "after A 192.0.2.99\n",
	                  &d, &z),
	        ZONE_OK);
	CU_ASSERT_EQUAL(d.n, 0);
	print_diags(&d);
	CU_ASSERT_STRING_EQUAL(rr_line(z, "r000a.example.", 12),
	                       "r000a.example.\t3600\tIN\tPTR\thost-00.example.\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "r000c.example.", 12),
	                       "r000c.example.\t3600\tIN\tPTR\thost-02.example.\n");
	/* Nibbles: 26 = 0x1a. */
	CU_ASSERT_STRING_EQUAL(rr_line(z, "a.1.example.", 16),
	                       "a.1.example.\t3600\tIN\tTXT\t\"v26\"\n");
	CU_ASSERT_PTR_NOT_NULL(rrset(z, "b.1.example.", 16));
	/* 255: octal 377, hex FF, nibbles f.f padded to 5 characters: "F.F.0". */
	CU_ASSERT_PTR_NOT_NULL(rrset(z, "o377xffnf.f.0.example.", ZONE_TYPE_A));
	CU_ASSERT_STRING_EQUAL(rr_line(z, "esc\\$1.example.", 16),
	                       "esc\\$1.example.\t3600\tIN\tTXT\t\"a$b\"\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "s1.example.", ZONE_TYPE_A),
	                       "s1.example.\t120\tIN\tA\t192.0.2.1\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "s3.example.", ZONE_TYPE_A),
	                       "s3.example.\t120\tIN\tA\t192.0.2.3\n");
	CU_ASSERT_PTR_NULL(rrset(z, "s2.example.", ZONE_TYPE_A));
	CU_ASSERT_STRING_EQUAL(rr_line(z, "s4.example.", ZONE_TYPE_A),
	                       "s4.example.\t3600\tIN\tA\t192.0.2.4\n");
	CU_ASSERT_STRING_EQUAL(rr_line(z, "mx1.example.", ZONE_TYPE_MX),
	                       "mx1.example.\t3600\tIN\tMX\t10 mail1.example.\n");
	CU_ASSERT_PTR_NOT_NULL(rrset(z, "after.example.", ZONE_TYPE_A));
	zone_free(z);
}

static void test_zone_load_generate_errors_name_the_directive_line(void)
{
	static const struct {
		const char *more;
		int status;
		unsigned long line;
		const char *text;
	} cases[] = {
	        {"$GENERATE 5-1 h$ A 192.0.2.$\n", ZONE_ERR_GENERATE, 5, "above its stop"},
	        {"$GENERATE 1-x h$ A 192.0.2.$\n", ZONE_ERR_GENERATE, 5, "bad range '1-x'"},
	        {"$GENERATE 1-2/0 h$ A 192.0.2.$\n", ZONE_ERR_GENERATE, 5, "step is 0"},
	        {"$GENERATE 0-2000000 h$ A 192.0.2.1\n", ZONE_ERR_GENERATE, 5, "more than 1000000"},
	        {"$GENERATE 1-2 h$ CH A 192.0.2.$\n", ZONE_ERR_CLASS, 5, "class CH"},
	        {"$GENERATE 1-2 h$ 1x A 192.0.2.$\n", ZONE_ERR_GENERATE, 5, "bad TTL '1x'"},
	        {"$GENERATE 1-2 h${1,2 A 192.0.2.$\n", ZONE_ERR_GENERATE, 5, "unterminated"},
	        {"$GENERATE 1-2 h${-5} A 192.0.2.$\n", ZONE_ERR_GENERATE, 5, "offset -5"},
	        {"$GENERATE 1-2 h${0,3,q} A 192.0.2.$\n", ZONE_ERR_GENERATE, 5, "bad base"},
	        {"$GENERATE 1-2 h$ A\n", ZONE_ERR_GENERATE, 5, "missing RDATA"},
	        {"\n\n$GENERATE 1-2 h$ A 192.0.2.${299}\n", ZONE_ERR_RDATA, 7,
	         "bad A RDATA: invalid IPv4 address in the $GENERATE record \"h1 A 192.0.2.300\""},
	        {"$GENERATE 1-2 h$ AXYZ 1\nok A 192.0.2.1\nbad A 1.2.3\n", ZONE_ERR_UNKNOWN_TYPE, 5,
	         "unknown RR type"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		diags_t d;
		zone_t *z = NULL;
		int ret = load_more(cases[i].more, &d, &z);
		CU_ASSERT_EQUAL(ret, cases[i].status);
		if (ret != cases[i].status) {
			fprintf(stderr, "case %zu: %s\n", i, zone_strerror(ret));
		}
		CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_ERROR, cases[i].line, cases[i].text));
		CU_ASSERT_PTR_NULL(z);
	}
	/* Lines after a $GENERATE keep their numbers. */
	diags_t d;
	zone_t *z = NULL;
	CU_ASSERT_EQUAL(
	        load_more("$GENERATE 1-2 h$ A 192.0.2.$\nok A 192.0.2.1\nbad A 1.2.3\n", &d, &z),
	        ZONE_ERR_RDATA);
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_ERROR, 7, "bad A RDATA"));
	CU_ASSERT_EQUAL(d.errors, 1);
}

static void test_zone_generate_lines(void)
{
	zone_generate_t *g = NULL;
	char why[128], buf[256];
	size_t len = 0;
	const char *args = " 0-30/15 ${0,8,n} 60 IN PTR h$.example. ; c";
	CU_ASSERT_EQUAL_FATAL(zone_generate_parse(args, strlen(args), &g, why, sizeof(why)),
	                      ZONE_OK);
	CU_ASSERT_EQUAL(zone_generate_count(g), 3);
	CU_ASSERT_EQUAL(zone_generate_value(g, 2), 30);
	CU_ASSERT_TRUE(zone_generate_line_max(g) <= sizeof(buf));
	CU_ASSERT_EQUAL(zone_generate_line(g, 1, buf, sizeof(buf), &len), ZONE_OK);
	/* 15 = 0xf: "f", then ".0" pairs up to 8 characters. */
	CU_ASSERT_STRING_EQUAL(buf, "f.0.0.0. 60 IN PTR h15.example.\n");
	CU_ASSERT_EQUAL(len, strlen(buf));
	CU_ASSERT_EQUAL(zone_generate_line(g, 0, buf, 4, &len), ZONE_ERR_BUFFER);
	zone_generate_free(g);
	zone_generate_free(NULL);

	CU_ASSERT_TRUE(zone_generate_is_ttl("1h30m", 5));
	CU_ASSERT_TRUE(zone_generate_is_ttl("4294967295", 10));
	CU_ASSERT_FALSE(zone_generate_is_ttl("4294967296", 10));
	CU_ASSERT_FALSE(zone_generate_is_ttl("1x", 2));
	CU_ASSERT_FALSE(zone_generate_is_ttl("h", 1));
	CU_ASSERT_TRUE(zone_generate_is_class("in", 2));
	CU_ASSERT_TRUE(zone_generate_is_class("CLASS3", 6));
	CU_ASSERT_FALSE(zone_generate_is_class("A", 1));
}

/* ---- limits, files, DNSKEY files ---- */

static void test_zone_load_stops_after_the_error_limit(void)
{
	size_t n = 150;
	char *text = malloc(n * 32 + 256);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	size_t k = (size_t)sprintf(text, "%s", SOA_NS);
	for (size_t i = 0; i < n; i++) {
		k += (size_t)sprintf(text + k, "h%zu A 192.0.2.300\n", i);
	}
	diags_t d = {0};
	zone_t *z = NULL;
	CU_ASSERT_EQUAL(zone_load_text(text, k, "text", wire("example."), 3600, collect, &d, &z),
	                ZONE_ERR_RDATA);
	CU_ASSERT_EQUAL(d.errors, ZONE_BUILDER_MAX_ERRORS + 1);
	CU_ASSERT_TRUE(
	        has_diag(&d, ZONE_DIAG_ERROR, 5 + ZONE_BUILDER_MAX_ERRORS - 1, "too many errors"));
	free(text);
}

static char tmpdir[64];

static const char *tmpfile_with(const char *name, const char *text)
{
	static char path[4][256];
	static int k;
	char *p = path[k++ % 4];
	snprintf(p, 256, "%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static void test_zone_load_includes_nest_relative_to_the_including_file(void)
{
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	mkdir(sub, 0755);
	tmpfile_with("sub/b.zone", "b TXT \"in b\"\n$INCLUDE c.zone deeper.example.\n");
	tmpfile_with("sub/c.zone", "c TXT \"in c\"\n");
	tmpfile_with("a.zone", "$ORIGIN sub.example.\na TXT \"in a\"\n$INCLUDE sub/b.zone\n");
	const char *main_zone = tmpfile_with("main.zone", "$ORIGIN example.\n"
	                                                  "@ SOA ns hostmaster 1 2 3 4 5\n"
	                                                  "@ NS ns\n"
	                                                  "$INCLUDE a.zone\n"
	                                                  "after TXT \"origin restored\"\n");
	diags_t d = {0};
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_load(main_zone, wire("example."), 3600, collect, &d, &z),
	                      ZONE_OK);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_PTR_NOT_NULL(rrset(z, "a.sub.example.", 16));
	CU_ASSERT_PTR_NOT_NULL(rrset(z, "b.sub.example.", 16));
	CU_ASSERT_PTR_NOT_NULL(rrset(z, "c.deeper.example.", 16));
	CU_ASSERT_PTR_NOT_NULL(rrset(z, "after.example.", 16));
	zone_free(z);

	/* An error in an included file names that file and line. */
	tmpfile_with("sub/c.zone", "c TXT \"in c\"\nbad A 1.2.3\n");
	CU_ASSERT_EQUAL(zone_load(main_zone, wire("example."), 3600, collect, &d, &z),
	                ZONE_ERR_RDATA);
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_ERROR, 2, "bad A RDATA"));
	CU_ASSERT_PTR_NOT_NULL(strstr(d.v[0].file, "sub/c.zone"));

	/* A file that includes itself stops at the depth limit. */
	const char *loop = tmpfile_with("loop.zone", "$ORIGIN example.\n"
	                                             "@ SOA ns hostmaster 1 2 3 4 5\n"
	                                             "$INCLUDE loop.zone\n");
	memset(&d, 0, sizeof(d));
	CU_ASSERT_EQUAL(zone_load(loop, wire("example."), 3600, collect, &d, &z),
	                ZONE_ERR_DUPLICATE_SOA);
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_ERROR, 3, "nested more than 16 deep"));
}

static void test_zone_load_missing_file_fails_with_errno(void)
{
	diags_t d = {0};
	zone_t *z = NULL;
	char path[128];
	snprintf(path, sizeof(path), "%s/no-such.zone", tmpdir);
	CU_ASSERT_EQUAL(zone_load(path, wire("example."), 3600, collect, &d, &z), -ENOENT);
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_ERROR, 0, "cannot read the zone file"));
	CU_ASSERT_EQUAL(zone_load(tmpdir, wire("example."), 3600, collect, &d, &z), -EISDIR);
	CU_ASSERT_PTR_NULL(z);
}

static void test_zone_load_dnskeys_file(void)
{
	diags_t d = {0};
	zone_rrset_t *keys = NULL;
	const char *path = tmpfile_with("keys", "example. 3600 IN DNSKEY 257 3 13 AQID\n"
	                                        "example. 300 DNSKEY 256 3 13 BAUG\n"
	                                        "Example. 300 DNSKEY 256 3 13 BAUG\n");
	CU_ASSERT_EQUAL_FATAL(zone_load_dnskeys(path, wire("example."), 3600, collect, &d, &keys),
	                      ZONE_OK);
	CU_ASSERT_EQUAL(keys->type, ZONE_TYPE_DNSKEY);
	CU_ASSERT_EQUAL(keys->count, 2);
	CU_ASSERT_EQUAL(keys->ttl, 300);
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 2, "lowest TTL, 300"));
	zone_rrset_unref(keys);

	static const struct {
		const char *text;
		unsigned long line;
		const char *why;
	} bad[] = {
	        {"example. DNSKEY 257 3 13 AQID\nexample. A 192.0.2.1\n", 2, "only DNSKEY records"},
	        {"www.example. DNSKEY 257 3 13 AQID\n", 1, "only DNSKEY records"},
	        {"; nothing\n", 0, "no DNSKEY record"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&d, 0, sizeof(d));
		keys = (zone_rrset_t *)&d;
		path = tmpfile_with("keys", bad[i].text);
		CU_ASSERT_EQUAL(zone_load_dnskeys(path, wire("example."), 3600, collect, &d, &keys),
		                ZONE_ERR_NOT_DNSKEY);
		CU_ASSERT_PTR_EQUAL(keys, &d);
		CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_ERROR, bad[i].line, bad[i].why));
	}
}

static void test_zone_builder_direct_use(void)
{
	diags_t d = {0};
	zone_builder_t *b = NULL;
	zone_t *z = NULL;
	static const uint8_t soa[] = {2, 'n', 's', 0, 1, 'h', 0, 0, 0, 0, 1, 0, 0, 0,
	                              2, 0,   0,   0, 3, 0,   0, 0, 4, 0, 0, 0, 5};
	static const uint8_t ns[] = {2, 'N', 'S', 0};
	CU_ASSERT_EQUAL_FATAL(
	        zone_builder_new(wire("example."), ZONE_BUILDER_ZONE, "api", collect, &d, &b),
	        ZONE_OK);
	CU_ASSERT_EQUAL(zone_builder_add(b, wire("example."), ZONE_TYPE_SOA, 1, 60, soa,
	                                 sizeof(soa), NULL, 1),
	                ZONE_OK);
	CU_ASSERT_EQUAL(
	        zone_builder_add(b, wire("EXAMPLE."), ZONE_TYPE_NS, 1, 60, ns, sizeof(ns), "f", 2),
	        ZONE_OK);
	/* A malformed SOA (a name running past the end) is refused. */
	CU_ASSERT_EQUAL(zone_builder_add(b, wire("x.example."), ZONE_TYPE_NS, 1, 60, ns, 2, "f", 3),
	                ZONE_ERR_RDATA);
	CU_ASSERT_EQUAL(zone_builder_add(b, wire("x.example."), ZONE_TYPE_A, 3, 60, ns, 4, "f", 4),
	                ZONE_ERR_CLASS);
	CU_ASSERT_EQUAL(zone_builder_count(b), 2);
	CU_ASSERT_EQUAL(zone_builder_status(b), ZONE_ERR_RDATA);
	CU_ASSERT_FALSE(zone_builder_stopped(b));
	CU_ASSERT_EQUAL(zone_builder_finish(b, &z), ZONE_ERR_RDATA);
	CU_ASSERT_PTR_NULL(z);
	zone_builder_free(b);
	zone_builder_free(NULL);

	/* The caller's own errors count like the builder's. */
	CU_ASSERT_EQUAL_FATAL(
	        zone_builder_new(wire("example."), ZONE_BUILDER_ZONE, "api", collect, &d, &b),
	        ZONE_OK);
	zone_builder_add(b, wire("example."), ZONE_TYPE_SOA, 1, 60, soa, sizeof(soa), "f", 1);
	zone_builder_add(b, wire("example."), ZONE_TYPE_NS, 1, 60, ns, sizeof(ns), "f", 2);
	zone_builder_error(b, ZONE_ERR_SYNTAX, "f", 9, "caller's error %d", 42);
	zone_builder_warning(b, "f", 10, "caller's warning");
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_ERROR, 9, "caller's error 42"));
	CU_ASSERT_TRUE(has_diag(&d, ZONE_DIAG_WARNING, 10, "caller's warning"));
	CU_ASSERT_EQUAL(zone_builder_finish(b, &z), ZONE_ERR_SYNTAX);
	zone_builder_free(b);

	/* The wrong finisher for the mode. */
	zone_rrset_t *r = NULL;
	CU_ASSERT_EQUAL_FATAL(
	        zone_builder_new(wire("example."), ZONE_BUILDER_ZONE, NULL, NULL, NULL, &b),
	        ZONE_OK);
	CU_ASSERT_EQUAL(zone_builder_finish_dnskeys(b, &r), ZONE_ERR_INVAL);
	zone_builder_free(b);
}

static void test_zone_load_many_records_of_one_name(void)
{
	/* RRsets big enough for the builder's sort by type to use qsort. */
	size_t n = 300;
	char *text = malloc(n * 64 + 256);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	size_t k = (size_t)sprintf(text, "%s", SOA_NS);
	for (size_t i = 0; i < n; i++) {
		k += (size_t)sprintf(text + k, "big %s 192.0.2.%zu\n", i % 2 ? "A" : "TXT",
		                     i % 256);
	}
	diags_t d = {0};
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(
	        zone_load_text(text, k, "text", wire("example."), 3600, collect, &d, &z), ZONE_OK);
	CU_ASSERT_EQUAL(rrset(z, "big.example.", ZONE_TYPE_A)->count, 128);
	CU_ASSERT_EQUAL(rrset(z, "big.example.", 16)->count, 128);
	zone_free(z);
	free(text);
}

static void test_zone_load_records_into_a_delta(void)
{
	zone_delta_t d;
	zone_delta_init(&d);
	diags_t g = {0};
	static const char rem[] = "www 300 A 192.0.2.1\n";
	static const char add[] = "$TTL 600\n"
	                          "WWW.Example. A 192.0.2.2\n"
	                          "$GENERATE 1-3 host$ A 198.51.100.$\n"
	                          "mx MX 10 MAIL.Example.\n"
	                          "www RRSIG A 13 2 600 20300101000000 20200101000000 1 "
	                          "Example. AAAA\n";
	CU_ASSERT_EQUAL_FATAL(zone_load_records(rem, strlen(rem), "chunk", wire("example."), 3600,
	                                        false, collect, &g, &d),
	                      ZONE_OK);
	CU_ASSERT_EQUAL_FATAL(zone_load_records(add, strlen(add), "chunk", wire("example."), 3600,
	                                        true, collect, &g, &d),
	                      ZONE_OK);
	CU_ASSERT_EQUAL(g.errors + g.warnings, 0);
	CU_ASSERT_EQUAL_FATAL(d.nremoved, 1);
	CU_ASSERT_EQUAL_FATAL(d.nadded, 6);
	CU_ASSERT_EQUAL(d.removed[0].ttl, 300);
	/* Lowercased owners and RDATA names; $TTL; $GENERATE; DNSSEC kept. */
	CU_ASSERT(memcmp(d.added[0].owner, "\003www\007example", 13) == 0);
	CU_ASSERT_EQUAL(d.added[0].ttl, 600);
	CU_ASSERT(dname_equal(d.added[3].owner, wire("host3.example.")));
	CU_ASSERT_EQUAL(d.added[3].rdata[3], 3);
	CU_ASSERT(memcmp(d.added[4].rdata + 2, "\004mail\007example", 14) == 0);
	CU_ASSERT_EQUAL(d.added[5].type, ZONE_TYPE_RRSIG);
	CU_ASSERT(memcmp(d.added[5].rdata + 18, "\007example", 9) == 0);
	/* Errors: file and line, the first status, the delta unchanged. */
	static const char bad[] = "ok A 192.0.2.9\n"
	                          "out.example.org. A 192.0.2.1\n"
	                          "ch CH A 192.0.2.1\n"
	                          "big 4294967295 A 192.0.2.1\n"
	                          "syn A 192.0.2\n";
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(zone_load_records(bad, strlen(bad), "chunk", wire("example."), 3600, true,
	                                  collect, &g, &d),
	                ZONE_ERR_OUT_OF_ZONE);
	CU_ASSERT(has_diag(&g, ZONE_DIAG_ERROR, 2, "outside the zone"));
	CU_ASSERT_STRING_EQUAL(g.v[0].file, "chunk");
	CU_ASSERT(has_diag(&g, ZONE_DIAG_ERROR, 3, "class"));
	CU_ASSERT(has_diag(&g, ZONE_DIAG_ERROR, 4, "TTL"));
	CU_ASSERT(has_diag(&g, ZONE_DIAG_ERROR, 5, "A RDATA"));
	CU_ASSERT_EQUAL(d.nadded, 6);
	CU_ASSERT_EQUAL(d.nremoved, 1);
	static const char inc[] = "$INCLUDE /etc/passwd\n";
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(zone_load_records(inc, strlen(inc), "chunk", wire("example."), 3600, true,
	                                  collect, &g, &d),
	                ZONE_ERR_INCLUDE);
	CU_ASSERT_EQUAL(d.nadded, 6);
	zone_delta_deinit(&d);
}

static void cleanup_tmp(void)
{
	static const char *const files[] = {"sub/b.zone", "sub/c.zone", "sub", "a.zone",
	                                    "main.zone",  "loop.zone",  "keys"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s/%s", tmpdir, files[i]);
		remove(p);
	}
	rmdir(tmpdir);
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"zone_load_accepts_every_testdata_zone",
	         test_zone_load_accepts_every_testdata_zone},
	        {"zone_load_delegations_zone_has_expected_names",
	         test_zone_load_delegations_zone_has_expected_names},
	        {"zone_load_directives_make_the_records_the_readme_names",
	         test_zone_load_directives_make_the_records_the_readme_names},
	        {"zone_load_rrtypes_zone_drops_cds_and_cdnskey",
	         test_zone_load_rrtypes_zone_drops_cds_and_cdnskey},
	        {"zone_load_svcb_keys_libzscanner_lacks",
	         test_zone_load_svcb_keys_libzscanner_lacks},
	        {"zone_load_bad_zones_fail_with_their_readme_error",
	         test_zone_load_bad_zones_fail_with_their_readme_error},
	        {"zone_load_zone_checks_report_file_line_and_reason",
	         test_zone_load_zone_checks_report_file_line_and_reason},
	        {"zone_load_empty_zone_has_no_soa", test_zone_load_empty_zone_has_no_soa},
	        {"zone_load_ttl_mismatch_takes_the_lowest_ttl_with_a_warning",
	         test_zone_load_ttl_mismatch_takes_the_lowest_ttl_with_a_warning},
	        {"zone_load_drops_dnssec_records_with_warnings",
	         test_zone_load_drops_dnssec_records_with_warnings},
	        {"zone_load_owner_names_and_rdata_are_lowercased",
	         test_zone_load_owner_names_and_rdata_are_lowercased},
	        {"zone_load_reads_crlf_and_8bit_text", test_zone_load_reads_crlf_and_8bit_text},
	        {"zone_load_generate_modifiers_and_escapes",
	         test_zone_load_generate_modifiers_and_escapes},
	        {"zone_load_generate_errors_name_the_directive_line",
	         test_zone_load_generate_errors_name_the_directive_line},
	        {"zone_generate_lines", test_zone_generate_lines},
	        {"zone_load_stops_after_the_error_limit",
	         test_zone_load_stops_after_the_error_limit},
	        {"zone_load_includes_nest_relative_to_the_including_file",
	         test_zone_load_includes_nest_relative_to_the_including_file},
	        {"zone_load_missing_file_fails_with_errno",
	         test_zone_load_missing_file_fails_with_errno},
	        {"zone_load_dnskeys_file", test_zone_load_dnskeys_file},
	        {"zone_builder_direct_use", test_zone_builder_direct_use},
	        {"zone_load_many_records_of_one_name", test_zone_load_many_records_of_one_name},
	        {"zone_load_records_into_a_delta", test_zone_load_records_into_a_delta},
	        {NULL, NULL},
	};
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_zone_load.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	int failed = testutil_run("zone_load", cases);
	cleanup_tmp();
	return failed;
}
