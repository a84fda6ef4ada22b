#include "signer/zone/zone_snap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_crash.h"
#include "signer/zone/zone_diff.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_load.h"
#include "signer/zone/zone_write.h"
#include "tests/support/testutil.h"

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
	static char buf[4][256];
	static int k;
	char *out = buf[k++ % 4];
	snprintf(out, 256, "%s/%s", tmpdir, name);
	return out;
}

static const uint8_t *wire(const char *text)
{
	static uint8_t buf[8][DNAME_MAXLEN];
	static int k;
	uint8_t *out = buf[k++ % 8];
	CU_ASSERT_EQUAL_FATAL(dname_from_str(text, NULL, out, DNAME_MAXLEN, NULL), ZONE_OK);
	return out;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool same(const zone_t *a, const zone_t *b)
{
	zone_delta_t d;
	CU_ASSERT_EQUAL_FATAL(zone_diff(a, b, &d), ZONE_OK);
	bool ok = d.nremoved == 0 && d.nadded == 0 && a->count == b->count &&
	          a->nsec3_count == b->nsec3_count;
	zone_delta_deinit(&d);
	return ok;
}

/* A fake RRSIG over type (key tag k). */
static size_t fake_rrsig(uint16_t type, uint8_t k, uint8_t *rd)
{
	uint8_t fixed[18] = {(uint8_t)(type >> 8),
	                     (uint8_t)type,
	                     13,
	                     2,
	                     0,
	                     0,
	                     14,
	                     16,
	                     0x70,
	                     0,
	                     0,
	                     0,
	                     0x60,
	                     0,
	                     0,
	                     0,
	                     0,
	                     k};
	memcpy(rd, fixed, 18);
	static const uint8_t signer[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
	memcpy(rd + 18, signer, sizeof(signer));
	memset(rd + 18 + sizeof(signer), k, 64);
	return 18 + sizeof(signer) + 64;
}

/* A signed-like zone: n names with an A RRset each, an RRSIG over each
 * RRset, empty non-terminals, nsec3 NSEC3 nodes. */
static zone_t *signed_zone(size_t n, size_t nsec3)
{
	zone_node_t **nodes = malloc((n + 1) * sizeof(*nodes));
	CU_ASSERT_PTR_NOT_NULL_FATAL(nodes);
	static const char soa_ns[] = "$ORIGIN example.\n"
	                             "@ 3600 SOA ns1 hostmaster 7 3600 600 86400 300\n"
	                             "@ 3600 NS ns1\n";
	zone_t *base = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_load_text(soa_ns, strlen(soa_ns), "t", wire("example."), 3600,
	                                     NULL, NULL, &base),
	                      ZONE_OK);
	const zone_node_t *apex = zone_entry(base, 0)->node;
	zone_slot_t aslots[2];
	for (int s = 0; s < 2; s++) {
		uint8_t rd[128];
		zone_rdata_t r = {rd, (uint16_t)fake_rrsig(apex->slots[s].data->type, 1, rd)};
		aslots[s].data = apex->slots[s].data;
		CU_ASSERT_EQUAL_FATAL(zone_rrset_new(46, 3600, &r, 1, &aslots[s].sigs), ZONE_OK);
	}
	CU_ASSERT_EQUAL_FATAL(zone_node_new(apex->owner, aslots, 2, &nodes[0]), ZONE_OK);
	zone_rrset_unref(aslots[0].sigs);
	zone_rrset_unref(aslots[1].sigs);
	uint8_t sig[128];
	zone_rdata_t sr = {sig, (uint16_t)fake_rrsig(ZONE_TYPE_A, 1, sig)};
	for (size_t i = 1; i < n; i++) {
		uint8_t name[64], rd[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
		/* Every tenth name one level down: the parents are empty
		 * non-terminals. */
		int l = snprintf((char *)name + 1, 60, "h%zu", i);
		name[0] = (uint8_t)l;
		size_t off = 1u + (size_t)l;
		if (i % 10 == 0) {
			memcpy(name + off, "\003ent", 4);
			off += 4;
		}
		memcpy(name + off, "\007example", 9);
		zone_rdata_t r = {rd, 4};
		zone_slot_t slot;
		sig[17] = (uint8_t)i;
		CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_A, 300, &r, 1, &slot.data), ZONE_OK);
		CU_ASSERT_EQUAL_FATAL(zone_rrset_new(46, 300, &sr, 1, &slot.sigs), ZONE_OK);
		CU_ASSERT_EQUAL_FATAL(zone_node_new(name, &slot, 1, &nodes[i]), ZONE_OK);
		zone_rrset_unref(slot.data);
		zone_rrset_unref(slot.sigs);
	}
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_new(wire("example."), nodes, n, &z, NULL), ZONE_OK);
	zone_node_t **n3 = malloc((nsec3 + 1) * sizeof(*n3));
	for (size_t i = 0; i < nsec3; i++) {
		uint8_t name[64], rd[64];
		int l = snprintf((char *)name + 1, 60, "hash%zu", i);
		name[0] = (uint8_t)l;
		memcpy(name + 1 + l, "\007example", 9);
		uint8_t nsec3rd[] = {1, 0, 0, 0, 4, 1, 2, 3, (uint8_t)i, 0, 1, 0x40};
		memcpy(rd, nsec3rd, sizeof(nsec3rd));
		zone_rdata_t r = {rd, sizeof(nsec3rd)};
		zone_slot_t slot;
		CU_ASSERT_EQUAL_FATAL(zone_rrset_new(50, 300, &r, 1, &slot.data), ZONE_OK);
		CU_ASSERT_EQUAL_FATAL(zone_rrset_new(46, 300, &sr, 1, &slot.sigs), ZONE_OK);
		CU_ASSERT_EQUAL_FATAL(zone_node_new(name, &slot, 1, &n3[i]), ZONE_OK);
		zone_rrset_unref(slot.data);
		zone_rrset_unref(slot.sigs);
	}
	CU_ASSERT_EQUAL_FATAL(zone_set_nsec3(z, n3, nsec3), ZONE_OK);
	free(n3);
	free(nodes);
	zone_free(base);
	return z;
}

static const uint8_t extra[] = "zone example { policy default; }";

static zone_snap_meta_t meta_of(uint32_t serial)
{
	return (zone_snap_meta_t){.serial = serial,
	                          .input_serial = serial - 1,
	                          .published_at = 1700000000 + serial,
	                          .extra = extra,
	                          .extra_len = sizeof(extra)};
}

static void test_zone_snap_round_trip_is_equal(void)
{
	zone_t *z = signed_zone(200, 5);
	zone_snap_meta_t m = meta_of(7);
	const char *path = tmp_path("rt.snap");
	CU_ASSERT_EQUAL_FATAL(zone_snap_save(path, z, &m), ZONE_OK);
	zone_t *back = NULL;
	zone_snap_meta_t mb;
	CU_ASSERT_EQUAL_FATAL(zone_snap_load(path, &back, &mb), ZONE_OK);
	CU_ASSERT(same(z, back));
	CU_ASSERT_EQUAL(mb.serial, 7);
	CU_ASSERT_EQUAL(mb.input_serial, 6);
	CU_ASSERT_EQUAL(mb.published_at, 1700000007);
	CU_ASSERT_EQUAL_FATAL(mb.extra_len, sizeof(extra));
	CU_ASSERT(memcmp(mb.extra, extra, sizeof(extra)) == 0);
	free((void *)mb.extra);
	for (size_t i = 0; i < z->count; i++) {
		CU_ASSERT_EQUAL(zone_entry(z, i)->flags, zone_entry(back, i)->flags);
	}
	zone_free(back);
	/* No extra, an unsigned version. */
	static const char text[] = "$ORIGIN example.\n@ SOA ns1 h 1 1 1 1 1\n@ NS ns1\n"
	                           "a.b.c TXT \"x\"\n";
	zone_t *u = NULL;
	CU_ASSERT_EQUAL_FATAL(
	        zone_load_text(text, strlen(text), "t", wire("example."), 60, NULL, NULL, &u),
	        ZONE_OK);
	CU_ASSERT_EQUAL_FATAL(zone_snap_save(path, u, NULL), ZONE_OK);
	CU_ASSERT_EQUAL_FATAL(zone_snap_load(path, &back, &mb), ZONE_OK);
	CU_ASSERT(same(u, back));
	CU_ASSERT_PTR_NULL(mb.extra);
	CU_ASSERT_EQUAL(mb.extra_len, 0);
	zone_free(back);
	zone_free(u);
	zone_free(z);
	unlink(path);
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	uint8_t *b = malloc(*len + 1);
	CU_ASSERT_EQUAL_FATAL(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

static void write_all(const char *path, const uint8_t *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL_FATAL(fwrite(b, 1, len, f), len);
	fclose(f);
}

static void test_zone_snap_any_flipped_byte_or_truncation_is_corrupt(void)
{
	zone_t *z = signed_zone(20, 2);
	zone_snap_meta_t m = meta_of(3);
	const char *path = tmp_path("flip.snap"), *bad = tmp_path("bad.snap");
	CU_ASSERT_EQUAL_FATAL(zone_snap_save(path, z, &m), ZONE_OK);
	size_t len;
	uint8_t *b = read_all(path, &len);
	size_t failures = 0;
	char why[256];
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			b[i] ^= (uint8_t)(1u << bit);
			write_all(bad, b, len);
			b[i] ^= (uint8_t)(1u << bit);
			zone_t *out = NULL;
			zone_snap_meta_t mo;
			int ret = zone_snap_load_why(bad, &out, &mo, why, sizeof(why));
			if (ret != ZONE_ERR_CORRUPT || why[0] == '\0') {
				failures++;
				if (ret == ZONE_OK) {
					zone_free(out);
					free((void *)mo.extra);
				}
			}
		}
	}
	CU_ASSERT_EQUAL(failures, 0);
	/* What the reasons say. */
	b[len - 1] ^= 1;
	write_all(bad, b, len);
	b[len - 1] ^= 1;
	zone_t *out = NULL;
	zone_snap_meta_t mo;
	CU_ASSERT_EQUAL(zone_snap_load_why(bad, &out, &mo, why, sizeof(why)), ZONE_ERR_CORRUPT);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "checksum"));
	b[0] = 'X';
	write_all(bad, b, len);
	CU_ASSERT_EQUAL(zone_snap_load_why(bad, &out, &mo, why, sizeof(why)), ZONE_ERR_CORRUPT);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "magic"));
	b[0] = 'S';
	b[8] = 9; /* format version */
	write_all(bad, b, len);
	CU_ASSERT_EQUAL(zone_snap_load_why(bad, &out, &mo, why, sizeof(why)), ZONE_ERR_CORRUPT);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "version"));
	b[8] = 1;
	failures = 0;
	for (size_t n = 0; n < len; n++) {
		write_all(bad, b, n);
		if (zone_snap_load(bad, &out, &mo) != ZONE_ERR_CORRUPT) {
			failures++;
		}
	}
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_EQUAL(zone_snap_load(tmp_path("none.snap"), &out, &mo), -ENOENT);
	free(b);
	zone_free(z);
	unlink(path);
	unlink(bad);
}

/* Runs a save of serial 2 over a snapshot of serial 1 in a child that crashes
 * at point; returns the serial found after. */
static uint32_t crash_save(const char *point, zone_t *z1, zone_t *z2)
{
	const char *path = tmp_path("crash.snap");
	zone_snap_meta_t m1 = meta_of(1), m2 = meta_of(2);
	CU_ASSERT_EQUAL_FATAL(zone_snap_save(path, z1, &m1), ZONE_OK);
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		setenv("SIGNER_CRASH_AT", point, 1);
		zone_snap_save(path, z2, &m2);
		_exit(0);
	}
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == ZONE_CRASH_STATUS);
	zone_t *out = NULL;
	zone_snap_meta_t mo;
	CU_ASSERT_EQUAL_FATAL(zone_snap_load(path, &out, &mo), ZONE_OK);
	CU_ASSERT(same(out, mo.serial == 1 ? z1 : z2));
	zone_free(out);
	free((void *)mo.extra);
	return mo.serial;
}

static void test_zone_snap_crash_leaves_old_or_new_file(void)
{
	zone_t *z1 = signed_zone(50, 2), *z2 = signed_zone(60, 3);
	CU_ASSERT_EQUAL(crash_save("snap-written", z1, z2), 1);
	CU_ASSERT_EQUAL(crash_save("snap-synced", z1, z2), 1);
	CU_ASSERT_EQUAL(crash_save("snap-renamed", z1, z2), 2);
	zone_free(z1);
	zone_free(z2);
	/* Temporary files of the crashed saves stay behind; remove them. */
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -f %s/crash.snap*", tmpdir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/* Names of the big zone; fewer under a sanitizer, where the timing says
 * nothing (every allocation is instrumented) and is not asserted. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BIG_NAMES 100000
#define BIG_TIMED 0
#else
#define BIG_NAMES 1000000
#define BIG_TIMED 1
#endif

static void test_zone_snap_big_zone_loads_faster_than_text(void)
{
	double t0 = now_ms();
	zone_t *z = signed_zone(BIG_NAMES, 1000);
	double t1 = now_ms();
	zone_snap_meta_t m = meta_of(9);
	const char *path = tmp_path("big.snap"), *text = tmp_path("big.zone");
	CU_ASSERT_EQUAL_FATAL(zone_snap_save(path, z, &m), ZONE_OK);
	double t2 = now_ms();
	zone_t *back = NULL;
	zone_snap_meta_t mb;
	CU_ASSERT_EQUAL_FATAL(zone_snap_load(path, &back, &mb), ZONE_OK);
	double t3 = now_ms();
	struct stat st;
	stat(path, &st);
	CU_ASSERT(same(z, back));
	CU_ASSERT_EQUAL(mb.serial, 9);
	free((void *)mb.extra);
	zone_free(back);
	/* The same signed zone as text, through the loader (which parses the
	 * RRSIGs and then drops them). */
	CU_ASSERT_EQUAL_FATAL(zone_write_file(z, text), ZONE_OK);
	struct stat tst;
	stat(text, &tst);
	double t4 = now_ms();
	CU_ASSERT_EQUAL_FATAL(zone_load(text, wire("example."), 3600, NULL, NULL, &back), ZONE_OK);
	double t5 = now_ms();
	printf("\n  %d names + 1000 NSEC3, signed-like (%zu entries): build %.0f ms\n"
	       "  snapshot %.1f MB: save %.0f ms, load %.0f ms; as text %.1f MB: load %.0f ms "
	       "(%.1fx the snapshot)\n",
	       BIG_NAMES, z->count, t1 - t0, st.st_size / 1e6, t2 - t1, t3 - t2, tst.st_size / 1e6,
	       t5 - t4, (t5 - t4) / (t3 - t2));
	if (BIG_TIMED) {
		CU_ASSERT(t3 - t2 < t5 - t4);
	}
	zone_free(back);
	zone_free(z);
	if (getenv("KEEP_SNAP") == NULL) {
		unlink(path);
	}
	unlink(text);
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"zone_snap_round_trip_is_equal", test_zone_snap_round_trip_is_equal},
	        {"zone_snap_any_flipped_byte_or_truncation_is_corrupt",
	         test_zone_snap_any_flipped_byte_or_truncation_is_corrupt},
	        {"zone_snap_crash_leaves_old_or_new_file",
	         test_zone_snap_crash_leaves_old_or_new_file},
	        {"zone_snap_big_zone_loads_faster_than_text",
	         test_zone_snap_big_zone_loads_faster_than_text},
	        {NULL, NULL},
	};
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_zone_snap.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	int failed = testutil_run("zone_snap", cases);
	rmdir(tmpdir);
	return failed;
}
