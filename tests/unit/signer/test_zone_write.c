#include "signer/zone/zone_write.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libzscanner/scanner.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_load.h"
#include "tests/support/testutil.h"

static char tmpdir[64];

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
	static char buf[1024];
	snprintf(buf, sizeof(buf), "%s/%s", testutil_testdata(), rel);
	return buf;
}

static void fail_report(void *ctx, zone_diag_level_t level, const char *file, unsigned long line,
                        const char *msg)
{
	(void)ctx;
	if (level == ZONE_DIAG_ERROR) {
		fprintf(stderr, "  %s:%lu: error: %s\n", file, line, msg);
	}
}

/* Parses one record with libzscanner (origin example.): its type and RDATA
 * (out, 65535 bytes); returns the RDATA length. Fails the test if the
 * scanner refuses it. */
static size_t scan(const char *text, uint16_t *type, uint8_t *out)
{
	zs_scanner_t *s = malloc(sizeof(*s));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	size_t len = 0;
	bool ok = zs_init(s, "example.", 1, 3600) == 0 &&
	          zs_set_input_string(s, text, strlen(text)) == 0 && zs_parse_record(s) == 0 &&
	          s->state == ZS_STATE_DATA;
	if (ok) {
		*type = s->r_type;
		len = s->r_data_length;
		memcpy(out, s->r_data, len);
	} else {
		fprintf(stderr, "  libzscanner refuses \"%s\": %s\n", text,
		        zs_strerror(s->error.code));
	}
	zs_deinit(s);
	free(s);
	CU_ASSERT_TRUE_FATAL(ok);
	return len;
}

static void test_zone_write_type_names(void)
{
	char buf[16];
	CU_ASSERT_STRING_EQUAL(zone_write_type_name(1), "A");
	CU_ASSERT_STRING_EQUAL(zone_write_type_name(46), "RRSIG");
	CU_ASSERT_STRING_EQUAL(zone_write_type_name(65), "HTTPS");
	CU_ASSERT_STRING_EQUAL(zone_write_type_name(257), "CAA");
	CU_ASSERT_PTR_NULL(zone_write_type_name(0));
	CU_ASSERT_PTR_NULL(zone_write_type_name(65280));
	CU_ASSERT_EQUAL(zone_write_type_str(65280, buf, sizeof(buf)), ZONE_OK);
	CU_ASSERT_STRING_EQUAL(buf, "TYPE65280");
	CU_ASSERT_EQUAL(zone_write_type_str(51, buf, sizeof(buf)), ZONE_OK);
	CU_ASSERT_STRING_EQUAL(buf, "NSEC3PARAM");
	CU_ASSERT_EQUAL(zone_write_type_str(51, buf, 5), ZONE_ERR_BUFFER);
}

/* Each record as libzscanner reads it, written, must give the expected line
 * and read back to the same RDATA. */
static void test_zone_write_rdata_of_each_type(void)
{
	static const struct {
		const char *in, *out; /* out: what follows "x.example.\t3600\tIN\t" */
	} cases[] = {
	        {"x A 192.0.2.1", "A\t192.0.2.1"},
	        {"x AAAA 2001:DB8::1", "AAAA\t2001:db8::1"},
	        {"x NS NS1.Example.", "NS\tNS1.Example."},
	        {"x CNAME a\\.b", "CNAME\ta\\.b.example."},
	        {"x DNAME .", "DNAME\t."},
	        {"x PTR a\\#b\\032c\\255", "PTR\ta\\#b\\032c\\255.example."},
	        {"x SOA ns hostmaster 1 2 3 4 5", "SOA\tns.example. hostmaster.example. 1 2 3 4 5"},
	        {"x MX 10 mail", "MX\t10 mail.example."},
	        {"x TXT \"a\\\"b\" \"c\\\\d\" \"\\010x;y\" \"\"",
	         "TXT\t\"a\\\"b\" \"c\\\\d\" \"\\010x;y\" \"\""},
	        {"x SPF \"v=spf1 -all\"", "SPF\t\"v=spf1 -all\""},
	        {"x HINFO \"PDP-11\" UNIX", "HINFO\t\"PDP-11\" \"UNIX\""},
	        {"x RP mbox txt", "RP\tmbox.example. txt.example."},
	        {"x SRV 1 2 3 target", "SRV\t1 2 3 target.example."},
	        {"x NAPTR 100 10 \"S\" \"SIP+D2U\" \"!^.*$!sip:x@y!\" _sip._udp",
	         "NAPTR\t100 10 \"S\" \"SIP+D2U\" \"!^.*$!sip:x@y!\" _sip._udp.example."},
	        {"x DS 12345 13 2 ABCDEF0123", "DS\t12345 13 2 ABCDEF0123"},
	        {"x CDS 0 0 0 00", "CDS\t0 0 0 00"},
	        {"x SSHFP 4 2 0123ab", "SSHFP\t4 2 0123AB"},
	        {"x TLSA 3 1 1 0c72", "TLSA\t3 1 1 0C72"},
	        {"x SMIMEA 3 1 1 0c72", "SMIMEA\t3 1 1 0C72"},
	        {"x DNSKEY 257 3 13 AQIDBAU=", "DNSKEY\t257 3 13 AQIDBAU="},
	        {"x DNSKEY 256 3 8 AQID", "DNSKEY\t256 3 8 AQID"},
	        {"x CDNSKEY 0 3 0 AA==", "CDNSKEY\t0 3 0 AA=="},
	        {"x RRSIG A 13 2 3600 20300101000000 20200101000000 12345 example. AQIDBA==",
	         "RRSIG\tA 13 2 3600 20300101000000 20200101000000 12345 example. AQIDBA=="},
	        {"x RRSIG TYPE65280 8 3 0 20380119031408 19700101000000 0 . AQ==",
	         "RRSIG\tTYPE65280 8 3 0 20380119031408 19700101000000 0 . AQ=="},
	        {"x NSEC next A NS SOA RRSIG NSEC DNSKEY CAA TYPE65280",
	         "NSEC\tnext.example. A NS SOA RRSIG NSEC DNSKEY CAA TYPE65280"},
	        {"x NSEC next", "NSEC\tnext.example."},
	        {"x NSEC3 1 1 10 AABB 0P9MHAVEQVM6T7VBL5LOP2U3T2RP3TOM A RRSIG",
	         "NSEC3\t1 1 10 AABB 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A RRSIG"},
	        {"x NSEC3 1 0 0 - 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
	         "NSEC3\t1 0 0 - 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"},
	        {"x NSEC3PARAM 1 0 0 -", "NSEC3PARAM\t1 0 0 -"},
	        {"x NSEC3PARAM 1 0 5 cafe", "NSEC3PARAM\t1 0 5 CAFE"},
	        {"x OPENPGPKEY AQIDBA==", "OPENPGPKEY\tAQIDBA=="},
	        {"x CSYNC 66 3 A NS AAAA", "CSYNC\t66 3 A NS AAAA"},
	        {"x ZONEMD 2018031900 1 1 ABCDEF", "ZONEMD\t2018031900 1 1 ABCDEF"},
	        {"x URI 10 1 \"https://www.example/\"", "URI\t10 1 \"https://www.example/\""},
	        {"x CAA 0 issue \"ca.example.net\"", "CAA\t0 issue \"ca.example.net\""},
	        {"x CAA 128 tbs \"\"", "CAA\t128 tbs \"\""},
	        {"x AFSDB 1 db", "AFSDB\t1 db.example."},
	        {"x KX 10 kx", "KX\t10 kx.example."},
	        /* Generic: kept mnemonic, or TYPEnnn. */
	        {"x LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
	         "LOC\t\\# 16 000016138B3CF018810CBCE0009895B8"},
	        {"x SVCB 1 . alpn=dot port=853", "SVCB\t\\# 17 0001000001000403646F74000300020355"},
	        {"x TYPE65280 \\# 4 0A000001", "TYPE65280\t\\# 4 0A000001"},
	        {"x TYPE65281 \\# 0", "TYPE65281\t\\# 0"},
	        {"x TYPE1 \\# 4 C0000201", "A\t192.0.2.1"},
	};
	static uint8_t rd[65535], back[65535];
	char line[4096], expect[4096];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t type = 0, type2 = 0;
		size_t n = scan(cases[i].in, &type, rd);
		size_t len = 0;
		CU_ASSERT_EQUAL_FATAL(zone_write_rr_str(wire("x.example."), type, 3600, rd, n, line,
		                                        sizeof(line), &len),
		                      ZONE_OK);
		snprintf(expect, sizeof(expect), "x.example.\t3600\tIN\t%s\n", cases[i].out);
		CU_ASSERT_STRING_EQUAL(line, expect);
		CU_ASSERT_EQUAL(len, strlen(line));
		if (strcmp(line, expect) != 0) {
			fprintf(stderr, "  got  %s  want %s", line, expect);
		}
		/* What we write reads back the same. */
		size_t n2 = scan(line, &type2, back);
		CU_ASSERT_EQUAL(type2, type);
		CU_ASSERT_TRUE(n2 == n && memcmp(rd, back, n) == 0);
	}
}

static void test_zone_write_malformed_rdata_in_generic_form(void)
{
	static const struct {
		uint16_t type;
		const char *rd;
		size_t len;
		const char *out;
	} cases[] = {
	        {1, "\x01\x02\x03", 3, "A\t\\# 3 010203"},
	        {2,
	         "\x03"
	         "ab",
	         3, "NS\t\\# 3 036162"},                          /* name runs past the end */
	        {2, "\x40xxxx\x00", 6, "NS\t\\# 6 407878787800"}, /* label length 64 */
	        {16, "", 0, "TXT\t\\# 0"},
	        {16,
	         "\x05"
	         "ab",
	         3, "TXT\t\\# 3 056162"},
	        {43, "\x00\x01\x0d\x02", 4, "DS\t\\# 4 00010D02"},     /* no digest */
	        {1, "\x01\x02\x03\x04\x05", 5, "A\t\\# 5 0102030405"}, /* trailing octet */
	        {47, "\x00\x00\x02\x00", 4, "NSEC\t\\# 4 00000200"},   /* empty window */
	        {257, "\x00\x00", 2, "CAA\t\\# 2 0000"},
	};
	char line[512], expect[512];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(zone_write_rr_str(wire("x.example."), cases[i].type, 60,
		                                  (const uint8_t *)cases[i].rd, cases[i].len, line,
		                                  sizeof(line), NULL),
		                ZONE_OK);
		snprintf(expect, sizeof(expect), "x.example.\t60\tIN\t%s\n", cases[i].out);
		CU_ASSERT_STRING_EQUAL(line, expect);
	}
	/* Too small a buffer: an error, the buffer left alone. */
	strcpy(line, "unchanged");
	CU_ASSERT_EQUAL(zone_write_rr_str(wire("x.example."), 1, 60, (const uint8_t *)"\1\2\3\4", 4,
	                                  line, 10, NULL),
	                ZONE_ERR_BUFFER);
	CU_ASSERT_STRING_EQUAL(line, "unchanged");
}

/* ---- whole zones ---- */

static bool zones_equal(const zone_t *a, const zone_t *b)
{
	if (a->count != b->count || a->nsec3_count != b->nsec3_count) {
		return false;
	}
	for (size_t i = 0; i < a->count; i++) {
		const zone_node_t *x = zone_entry(a, i)->node, *y = zone_entry(b, i)->node;
		if (zone_entry(a, i)->flags != zone_entry(b, i)->flags || x->nslots != y->nslots ||
		    !dname_equal(x->owner, y->owner)) {
			return false;
		}
		for (size_t k = 0; k < x->nslots; k++) {
			if (!zone_rrset_equal(x->slots[k].data, y->slots[k].data)) {
				return false;
			}
		}
	}
	return true;
}

static const struct {
	const char *file, *origin;
	bool bind_reads; /* BIND 9.18 cannot read a dohpath with 8-bit octets */
} zones[] = {
        {"zones/nsd_bug052_ent.zone", "miek.nl.", true},
        {"zones/nsd_dname.zone", "example.", true},
        {"zones/nsd_svcb.success-cases.zone", "success-cases.", false},
        {"zones/own-delegations.zone", "example.", true},
        {"zones/own-directives.zone", "example.", true},
        {"zones/own-rrtypes.zone", "example.", true},
        {"zones/own-ttl-mismatch.zone", "example.", true},
};

static bool have_tool(const char *name)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* Runs a command; true if it exits 0. */
static bool run(const char *cmd)
{
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "  failed: %s\n", cmd);
		return false;
	}
	return true;
}

static void test_zone_write_round_trip_and_other_readers(void)
{
	bool named = have_tool("named-checkzone"), ldns = have_tool("ldns-read-zone"),
	     nsd = have_tool("nsd-checkzone");
	if (!named || !ldns || !nsd) {
		fprintf(stderr, "  (skipping readers not installed:%s%s%s)\n",
		        named ? "" : " named-checkzone", ldns ? "" : " ldns-read-zone",
		        nsd ? "" : " nsd-checkzone");
	}
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		zone_t *z = NULL, *again = NULL;
		const uint8_t *origin = wire(zones[i].origin);
		CU_ASSERT_EQUAL_FATAL(
		        zone_load(testdata(zones[i].file), origin, 3600, fail_report, NULL, &z),
		        ZONE_OK);
		char out[256], cmd[2048];
		snprintf(out, sizeof(out), "%s/written-%zu.zone", tmpdir, i);
		CU_ASSERT_EQUAL_FATAL(zone_write_file(z, out), ZONE_OK);
		CU_ASSERT_EQUAL(zone_load(out, origin, 3600, fail_report, NULL, &again), ZONE_OK);
		CU_ASSERT_TRUE(again != NULL && zones_equal(z, again));
		char origin_text[DNAME_STR_MAXLEN];
		dname_to_str(origin, origin_text, sizeof(origin_text));
		if (named && zones[i].bind_reads) {
			snprintf(cmd, sizeof(cmd), "named-checkzone -q '%s' '%s'", origin_text,
			         out);
			CU_ASSERT_TRUE(run(cmd));
		}
		if (ldns) {
			snprintf(cmd, sizeof(cmd), "ldns-read-zone '%s' >/dev/null", out);
			CU_ASSERT_TRUE(run(cmd));
		}
		if (nsd) {
			snprintf(cmd, sizeof(cmd), "nsd-checkzone '%s' '%s' >/dev/null",
			         origin_text, out);
			CU_ASSERT_TRUE(run(cmd));
		}
		zone_free(again);
		zone_free(z);
		remove(out);
	}
}

/* An RRset of one record parsed by libzscanner. */
static zone_rrset_t *rrset_of(const char *text)
{
	static uint8_t rd[65535];
	uint16_t type = 0;
	size_t n = scan(text, &type, rd);
	zone_rdata_t r = {rd, (uint16_t)n};
	zone_rrset_t *out = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(type, 300, &r, 1, &out), ZONE_OK);
	return out;
}

static char *write_to_string(const zone_t *z)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(zone_write(z, f), ZONE_OK);
	fclose(f);
	return text;
}

static void test_zone_write_order_soa_first_sigs_after_rrsets_nsec3_last(void)
{
	const char *text = "$ORIGIN example.\n"
	                   "@ 300 SOA ns hostmaster 1 2 3 4 5\n"
	                   "@ 300 NS ns\n"
	                   "@ 300 A 192.0.2.7\n"
	                   "ns 300 A 192.0.2.1\n"
	                   "a.b.c 300 A 192.0.2.2\n";
	zone_t *z = NULL, *signed_z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_load_text(text, strlen(text), "t", wire("example."), 300,
	                                     fail_report, NULL, &z),
	                      ZONE_OK);
	/* Signatures on the apex SOA and on ns A. */
	size_t i;
	CU_ASSERT_TRUE_FATAL(zone_find(z, wire("example."), &i));
	const zone_node_t *apex = zone_entry(z, i)->node;
	zone_slot_t soa = *zone_node_find(apex, ZONE_TYPE_SOA);
	soa.sigs = rrset_of("@ RRSIG SOA 13 1 300 20300101000000 20200101000000 1 example. AQID");
	zone_node_t *changed[2];
	CU_ASSERT_EQUAL_FATAL(zone_node_with(apex, soa, &changed[0]), ZONE_OK);
	CU_ASSERT_TRUE_FATAL(zone_find(z, wire("ns.example."), &i));
	zone_slot_t a = *zone_node_find(zone_entry(z, i)->node, ZONE_TYPE_A);
	a.sigs = rrset_of("ns RRSIG A 13 2 300 20300101000000 20200101000000 1 example. BAUG");
	CU_ASSERT_EQUAL_FATAL(zone_node_with(zone_entry(z, i)->node, a, &changed[1]), ZONE_OK);
	zone_rrset_unref(soa.sigs);
	zone_rrset_unref(a.sigs);
	CU_ASSERT_EQUAL_FATAL(zone_replace(z, changed, 2, &signed_z, NULL), ZONE_OK);
	/* One NSEC3 node. */
	zone_rrset_t *n3 = rrset_of("x NSEC3 1 0 0 - 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A");
	zone_slot_t n3slot = {n3, NULL};
	zone_node_t *n3node = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_node_new(wire("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example."),
	                                    &n3slot, 1, &n3node),
	                      ZONE_OK);
	zone_rrset_unref(n3);
	CU_ASSERT_EQUAL_FATAL(zone_set_nsec3(signed_z, &n3node, 1), ZONE_OK);

	char *out = write_to_string(signed_z);
	CU_ASSERT_STRING_EQUAL(
	        out, "example.\t300\tIN\tSOA\tns.example. hostmaster.example. 1 2 3 4 5\n"
	             "example.\t300\tIN\tRRSIG\tSOA 13 1 300 20300101000000 20200101000000 1 "
	             "example. AQID\n"
	             "example.\t300\tIN\tA\t192.0.2.7\n"
	             "example.\t300\tIN\tNS\tns.example.\n"
	             "a.b.c.example.\t300\tIN\tA\t192.0.2.2\n"
	             "ns.example.\t300\tIN\tA\t192.0.2.1\n"
	             "ns.example.\t300\tIN\tRRSIG\tA 13 2 300 20300101000000 20200101000000 1 "
	             "example. BAUG\n"
	             "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.\t300\tIN\tNSEC3\t1 0 0 - "
	             "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A\n");
	free(out);
	zone_free(signed_z);
	zone_free(z);
}

/* ---- atomic file replacement ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return NULL;
	}
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Number of entries of dir whose name holds ".tmp.". */
static int temp_files(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	if (d == NULL) {
		return -1;
	}
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		n += strstr(e->d_name, ".tmp.") != NULL;
	}
	closedir(d);
	return n;
}

static zone_t *small_zone(void)
{
	const char *text = "$ORIGIN example.\n@ 300 SOA ns hostmaster 1 2 3 4 5\n@ 300 NS ns\n"
	                   "ns 300 A 192.0.2.1\n";
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_load_text(text, strlen(text), "t", wire("example."), 300,
	                                     fail_report, NULL, &z),
	                      ZONE_OK);
	return z;
}

static void test_zone_write_file_replaces_atomically(void)
{
	zone_t *z = small_zone();
	char path[256];
	struct stat st;
	const char *want = "example.\t300\tIN\tSOA\tns.example. hostmaster.example. 1 2 3 4 5\n"
	                   "example.\t300\tIN\tNS\tns.example.\n"
	                   "ns.example.\t300\tIN\tA\t192.0.2.1\n";

	/* A new file: mode 0644. */
	snprintf(path, sizeof(path), "%s/new.zone", tmpdir);
	CU_ASSERT_EQUAL(zone_write_file(z, path), ZONE_OK);
	CU_ASSERT_STRING_EQUAL(slurp(path), want);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0644);

	/* A replaced file keeps its mode. */
	FILE *f = fopen(path, "w");
	fputs("old\n", f);
	fclose(f);
	chmod(path, 0600);
	CU_ASSERT_EQUAL(zone_write_file(z, path), ZONE_OK);
	CU_ASSERT_STRING_EQUAL(slurp(path), want);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_EQUAL(temp_files(tmpdir), 0);

	/* A relative path (the temporary file goes to the same directory). */
	char cwd[512];
	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
	CU_ASSERT_EQUAL_FATAL(chdir(tmpdir), 0);
	CU_ASSERT_EQUAL(zone_write_file(z, "relative.zone"), ZONE_OK);
	CU_ASSERT_STRING_EQUAL(slurp("relative.zone"), want);
	remove("relative.zone");
	CU_ASSERT_EQUAL(chdir(cwd), 0);
	zone_free(z);
}

static void test_zone_write_file_failure_leaves_target_untouched(void)
{
	zone_t *z = small_zone();
	char path[256], dir[256];

	/* The directory does not exist. */
	snprintf(path, sizeof(path), "%s/no-such-dir/x.zone", tmpdir);
	CU_ASSERT_EQUAL(zone_write_file(z, path), -ENOENT);

	/* The target is a directory: rename fails after the data is written. */
	snprintf(dir, sizeof(dir), "%s/target-dir", tmpdir);
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
	int ret = zone_write_file(z, dir);
	CU_ASSERT_TRUE(ret == -EISDIR || ret == -ENOTEMPTY || ret == -EEXIST);
	struct stat st;
	CU_ASSERT_TRUE(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
	CU_ASSERT_EQUAL(temp_files(tmpdir), 0);
	rmdir(dir);

	/* Writing fails half-way (file size limit): the old file stays. */
	snprintf(path, sizeof(path), "%s/limited.zone", tmpdir);
	FILE *f = fopen(path, "w");
	fputs("old content\n", f);
	fclose(f);
	struct rlimit old, lim;
	CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 40;
	void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ret = zone_write_file(z, path);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, prev);
	CU_ASSERT_EQUAL(ret, -EFBIG);
	CU_ASSERT_STRING_EQUAL(slurp(path), "old content\n");
	CU_ASSERT_EQUAL(temp_files(tmpdir), 0);

	/* A directory we may not write (meaningless for root, who may). */
	if (geteuid() != 0) {
		snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
		CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
		snprintf(path, sizeof(path), "%s/ro/x.zone", tmpdir);
		f = fopen(path, "w");
		fputs("old\n", f);
		fclose(f);
		chmod(dir, 0555);
		CU_ASSERT_EQUAL(zone_write_file(z, path), -EACCES);
		CU_ASSERT_STRING_EQUAL(slurp(path), "old\n");
		CU_ASSERT_EQUAL(temp_files(dir), 0);
		chmod(dir, 0755);
		remove(path);
		rmdir(dir);
	}
	snprintf(path, sizeof(path), "%s/limited.zone", tmpdir);
	remove(path);
	zone_free(z);
}

static void cleanup_tmp(void)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/new.zone", tmpdir);
	remove(p);
	rmdir(tmpdir);
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"zone_write_type_names", test_zone_write_type_names},
	        {"zone_write_rdata_of_each_type", test_zone_write_rdata_of_each_type},
	        {"zone_write_malformed_rdata_in_generic_form",
	         test_zone_write_malformed_rdata_in_generic_form},
	        {"zone_write_round_trip_and_other_readers",
	         test_zone_write_round_trip_and_other_readers},
	        {"zone_write_order_soa_first_sigs_after_rrsets_nsec3_last",
	         test_zone_write_order_soa_first_sigs_after_rrsets_nsec3_last},
	        {"zone_write_file_replaces_atomically", test_zone_write_file_replaces_atomically},
	        {"zone_write_file_failure_leaves_target_untouched",
	         test_zone_write_file_failure_leaves_target_untouched},
	        {NULL, NULL},
	};
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_zone_write.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	int failed = testutil_run("zone_write", cases);
	cleanup_tmp();
	return failed;
}
