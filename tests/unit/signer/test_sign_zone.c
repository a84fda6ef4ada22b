/*
 * Tests of sign_zone: a whole pass signs and verifies, reuses what did not
 * change, fails on bad timing and a missing key; an algorithm rollover
 * (RFC 6781 4.1.4, RSASHA256 to ECDSAP256SHA256: signatures before the
 * DNSKEY, signatures after it) passes our verifier, ldns-verify-zone and
 * BIND's dnssec-verify at every step, and the incremental pass hands over
 * to a whole one whenever the key set signs otherwise.
 */
#include "signer/sign/sign_zone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/wait.h>

#include "hsm/hsm_ctx.h"
#include "hsm/hsm_key.h"
#include "signer/sign/sign_error.h"
#include "signer/sign/sign_verify.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_load.h"
#include "signer/zone/zone_write.h"
#include "tests/support/testutil.h"
#include "tests/support/testutil_hsm.h"

static hsm_ctx_t *ctx;
static sign_keyset_t keys; /* KSK + ZSK, ECDSA P-256 */
static uint8_t apex[DNAME_MAXLEN];
static char messages[4096];

static const char zone_text[] = "$ORIGIN example.\n$TTL 3600\n"
                                "@ SOA ns1 hostmaster 100 7200 3600 1209600 300\n"
                                "@ NS ns1\n"
                                "ns1 A 192.0.2.1\n"
                                "www A 192.0.2.2\n"
                                "sub NS ns.sub\n"
                                "ns.sub A 192.0.2.3\n"
                                "*.w TXT \"x\"\n";

static void report(void *arg, sign_zone_level_t level, const char *msg)
{
	(void)arg;
	(void)level;
	strncat(messages, msg, sizeof(messages) - strlen(messages) - 2);
	strcat(messages, "\n");
}

static zone_t *load(const char *text)
{
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(
	        zone_load_text(text, strlen(text), "test", apex, 3600, NULL, NULL, &z), 0);
	return z;
}

static sign_zone_params_t params(int64_t now)
{
	sign_zone_params_t p;
	memset(&p, 0, sizeof(p));
	p.timing = (sign_plan_timing_t){.now = now,
	                                .inception_offset = 3600,
	                                .validity = 14 * 86400,
	                                .refresh = 5 * 86400,
	                                .jitter = 3600};
	p.serial = ZONE_SERIAL_INCREMENT;
	p.threads = 2;
	p.verify_crypto = true;
	p.report = report;
	return p;
}

/* Our verifier accepts signed zone s at now: coverage, every RRSIG, the
 * chain. */
static void assert_verifies(const zone_t *s, int64_t now)
{
	sign_verify_config_t cfg = {.now = now, .refresh = 5 * 86400};
	sign_verify_counts_t counts = {0};
	CU_ASSERT_EQUAL(sign_verify_zone(s, &cfg,
	                                 SIGN_VERIFY_CHECK_COVERAGE | SIGN_VERIFY_CHECK_ALL |
	                                         SIGN_VERIFY_CHECK_CHAIN,
	                                 NULL, 0, &counts),
	                SIGN_OK);
	CU_ASSERT_EQUAL(counts.failures, 0);
	CU_ASSERT(counts.rrsigs > 0 && counts.verified == counts.rrsigs);
}

static void test_sign_zone_signs_and_verifies(void)
{
	zone_t *z = load(zone_text), *s = NULL;
	sign_zone_params_t p = params(1800000000);
	sign_zone_stats_t st;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, NULL, &keys, &p, &s, &st), SIGN_OK);
	/* SOA NS DNSKEY NSEC at the apex; A NSEC at ns1, www; DS-less cut: NSEC
	 * only; the wildcard TXT NSEC: 11 RRsets, all created, all verified. */
	CU_ASSERT_EQUAL(st.rrsets, 11);
	CU_ASSERT_EQUAL(st.created, 11); /* one each: DNSKEY by the KSK, the rest by the ZSK */
	CU_ASSERT_EQUAL(st.reused, 0);
	CU_ASSERT_EQUAL(st.verified, st.created);
	CU_ASSERT_EQUAL(st.serial, 101);
	assert_verifies(s, 1800000000);
	zone_free(s);
	zone_free(z);
}

/* CDS and CDNSKEY carry an RRSIG by the KSK (RFC 7344: a key in the DS and
 * DNSKEY RRsets) and one by the ZSK: a resolver whose cached DNSKEY RRset
 * predates a double-DS swap of the KSK validates them by the ZSK (found by
 * test_daemon_rollover's double-DS variant). The DNSKEY RRset has the KSK's
 * alone, the data the ZSK's alone. */
static void test_sign_zone_cds_signed_by_ksk_and_zsk(void)
{
	/* CDS and CDNSKEY come from the key manager, not the zone's input:
	 * put in as dzone does. */
	zone_t *in = load(zone_text), *z = NULL;
	uint8_t cds[36] = {0x30, 0x39, 13, 2}, cdnskey[68] = {0x01, 0x01, 3, 13};
	/* Any digest and key: only the RRSIGs count here. */
	for (size_t i = 4; i < sizeof(cds); i++) {
		cds[i] = (uint8_t)i;
	}
	for (size_t i = 4; i < sizeof(cdnskey); i++) {
		cdnskey[i] = (uint8_t)i;
	}
	zone_delta_t d;
	zone_delta_init(&d);
	CU_ASSERT_EQUAL_FATAL(zone_delta_add(&d, true, apex, ZONE_TYPE_CDS, 3600, cds, sizeof(cds)),
	                      ZONE_OK);
	CU_ASSERT_EQUAL_FATAL(
	        zone_delta_add(&d, true, apex, ZONE_TYPE_CDNSKEY, 3600, cdnskey, sizeof(cdnskey)),
	        ZONE_OK);
	CU_ASSERT_EQUAL_FATAL(
	        zone_delta_apply(in, &d, ZONE_APPLY_UNSIGNED | ZONE_APPLY_CDS, NULL, NULL, &z),
	        ZONE_OK);
	zone_delta_deinit(&d);
	zone_t *s = NULL;
	sign_zone_params_t p = params(1800000000);
	sign_zone_stats_t st;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, NULL, &keys, &p, &s, &st), SIGN_OK);
	const uint16_t ksk = keys.keys[0].tag, zsk = keys.keys[1].tag;
	const struct {
		const char *owner;
		uint16_t type;
		bool by_ksk, by_zsk;
	} want[] = {
	        {"@", 59, true, true},
	        {"@", 60, true, true},
	        {"@", ZONE_TYPE_DNSKEY, true, false},
	        {"@", ZONE_TYPE_SOA, false, true},
	        {"ns1", 1, false, true},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint8_t name[DNAME_MAXLEN];
		size_t len = 0, at = 0, pos = 0;
		CU_ASSERT_EQUAL_FATAL(dname_from_str(want[i].owner, apex, name, sizeof(name), &len),
		                      0);
		CU_ASSERT_FATAL(zone_find(s, name, &at));
		const zone_slot_t *slot = zone_node_find(zone_entry(s, at)->node, want[i].type);
		CU_ASSERT_FATAL(slot != NULL && slot->sigs != NULL);
		bool by_ksk = false, by_zsk = false;
		zone_rdata_t rd;
		while (zone_rrset_next(slot->sigs, &pos, &rd)) {
			uint16_t tag = (uint16_t)(rd.data[16] << 8 | rd.data[17]);
			by_ksk = by_ksk || tag == ksk;
			by_zsk = by_zsk || tag == zsk;
		}
		CU_ASSERT_EQUAL(by_ksk, want[i].by_ksk);
		CU_ASSERT_EQUAL(by_zsk, want[i].by_zsk);
	}
	assert_verifies(s, 1800000000);
	zone_free(s);
	zone_free(z);
	zone_free(in);
}

static void test_sign_zone_reuses_what_did_not_change(void)
{
	zone_t *z = load(zone_text), *s1 = NULL, *s2 = NULL, *s3 = NULL;
	sign_zone_params_t p = params(1800000000);
	sign_zone_stats_t st;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, NULL, &keys, &p, &s1, &st), SIGN_OK);
	/* A day later, nothing changed but the serial: only the SOA is signed. */
	p.timing.now += 86400;
	p.have_previous_serial = true;
	p.previous_serial = st.serial;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, s1, &keys, &p, &s2, &st), SIGN_OK);
	CU_ASSERT_EQUAL(st.created, 1);
	CU_ASSERT_EQUAL(st.reused, 10);
	CU_ASSERT_EQUAL(st.serial, 102);
	/* www changes: its A, the SOA; the NSEC chain is the same. */
	zone_t *z2 = load("$ORIGIN example.\n$TTL 3600\n"
	                  "@ SOA ns1 hostmaster 100 7200 3600 1209600 300\n"
	                  "@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.99\n"
	                  "sub NS ns.sub\nns.sub A 192.0.2.3\n*.w TXT \"x\"\n");
	p.previous_serial = st.serial;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z2, s2, &keys, &p, &s3, &st), SIGN_OK);
	CU_ASSERT_EQUAL(st.created, 2);
	CU_ASSERT_EQUAL(st.reused, 9);
	CU_ASSERT_EQUAL(st.verified, 2);
	/* Past the refresh point everything is signed again. */
	zone_t *s4 = NULL;
	p.timing.now += 12 * 86400;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z2, s3, &keys, &p, &s4, &st), SIGN_OK);
	CU_ASSERT_EQUAL(st.reused, 0);
	CU_ASSERT_EQUAL(st.created, 11);
	zone_free(s4);
	zone_free(s3);
	zone_free(z2);
	zone_free(s2);
	zone_free(s1);
	zone_free(z);
}

static void test_sign_zone_bad_timing_and_missing_key(void)
{
	zone_t *z = load(zone_text), *s = NULL;
	sign_zone_params_t p = params(1800000000);
	p.timing.validity = 3600; /* not above inception offset + refresh */
	sign_zone_stats_t st;
	messages[0] = '\0';
	CU_ASSERT_EQUAL(sign_zone(z, NULL, &keys, &p, &s, &st), SIGN_ERR_TIMING);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(messages, "validity"));
	/* A key deleted from the token: every signature it should make fails,
	 * each reported with its RRset and key, and nothing comes out. */
	hsm_key_t gone;
	CU_ASSERT_EQUAL_FATAL(hsm_key_generate(hsm_ctx_token(ctx, "main"), hsm_alg_by_number(13), 0,
	                                       "gone", &gone, NULL),
	                      HSM_OK);
	sign_keyset_t ks;
	sign_keyset_init(&ks);
	CU_ASSERT_EQUAL(sign_keyset_add(&ks, &keys.keys[0].key, NULL, SIGN_ROLE_KSK, true, true,
	                                false, false, NULL),
	                HSM_OK);
	CU_ASSERT_EQUAL(
	        sign_keyset_add(&ks, &gone, NULL, SIGN_ROLE_ZSK, true, true, false, false, NULL),
	        HSM_OK);
	CU_ASSERT_EQUAL(hsm_key_delete(&gone, NULL), HSM_OK);
	p = params(1800000000);
	messages[0] = '\0';
	CU_ASSERT_EQUAL(sign_zone(z, NULL, &ks, &p, &s, &st), HSM_ERR_NO_KEY);
	CU_ASSERT_PTR_NULL(s);
	/* The first failure names its RRset and key; the rest are cancelled. */
	CU_ASSERT_PTR_NOT_NULL(strstr(messages, "example. "));
	CU_ASSERT_PTR_NOT_NULL(strstr(messages, ": key "));
	CU_ASSERT_PTR_NOT_NULL(strstr(messages, "no key"));
	sign_keyset_deinit(&ks);
	zone_free(z);
}

/* --- an algorithm rollover (RFC 6781 4.1.4) --- */

static hsm_key_t rsa_ksk, rsa_zsk; /* the old algorithm: RSASHA256 */
static hsm_key_t standby;          /* another ECDSA ZSK */
static char tmpdir[64];

typedef struct {
	const hsm_key_t *key;
	sign_role_t role;
	bool published, active, retained;
} roll_key_t;

/* A key set of n keys as given; a KSK's active_keyset follows active. */
static void roll_keyset(sign_keyset_t *ks, const roll_key_t *k, size_t n)
{
	sign_keyset_init(ks);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_EQUAL_FATAL(sign_keyset_add(ks, k[i].key, NULL, k[i].role, k[i].published,
		                                      k[i].active, k[i].retained, false, NULL),
		                      HSM_OK);
	}
}

/* The algorithms of the RRSIGs over type at owner, as a bit set (1 << alg),
 * and their number in *n. */
static unsigned sig_algs(const zone_t *z, const char *owner, uint16_t type, size_t *n)
{
	uint8_t name[DNAME_MAXLEN];
	size_t len = 0, at = 0;
	dname_from_str(owner, apex, name, sizeof(name), &len);
	CU_ASSERT_FATAL(zone_find(z, name, &at));
	const zone_slot_t *slot = zone_node_find(zone_entry(z, at)->node, type);
	CU_ASSERT_PTR_NOT_NULL_FATAL(slot);
	unsigned algs = 0;
	*n = 0;
	size_t pos = 0;
	zone_rdata_t rd;
	while (slot->sigs != NULL && zone_rrset_next(slot->sigs, &pos, &rd)) {
		algs |= 1u << rd.data[2];
		(*n)++;
	}
	return algs;
}

/* The algorithms of the apex DNSKEY RRset (bit set) and its size in *n. */
static unsigned dnskey_algs(const zone_t *z, size_t *n)
{
	const zone_rrset_t *dk = zone_apex_rrset(z, ZONE_TYPE_DNSKEY);
	unsigned algs = 0;
	*n = 0;
	size_t pos = 0;
	zone_rdata_t rd;
	while (dk != NULL && zone_rrset_next(dk, &pos, &rd)) {
		algs |= 1u << rd.data[3];
		(*n)++;
	}
	return algs;
}

/* Runs cmd (its output into out), prints what it said, returns its exit
 * status. */
static int run_tool(const char *step, const char *cmd, const char *out)
{
	char line[1024];
	snprintf(line, sizeof(line), "%s >%s 2>&1", cmd, out);
	int st = system(line);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	printf("\n    [%s] %s: exit %d\n", step, cmd, code);
	FILE *f = fopen(out, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		printf("    | %s", line);
	}
	if (f != NULL) {
		fclose(f);
	}
	return code;
}

/* The checks of every step: our verifier with the key set accepts s (and,
 * if unpublished keys sign, refuses it without); ldns-verify-zone and BIND's
 * dnssec-verify accept the zone file. */
static void check_step(const char *step, const zone_t *s, const sign_keyset_t *ks, int64_t now,
                       bool foreign)
{
	sign_verify_config_t cfg = {.now = now, .refresh = 5 * 86400, .keyset = ks};
	sign_verify_counts_t counts = {0};
	unsigned all = SIGN_VERIFY_CHECK_COVERAGE | SIGN_VERIFY_CHECK_ALL | SIGN_VERIFY_CHECK_CHAIN;
	CU_ASSERT_EQUAL(sign_verify_zone(s, &cfg, all, NULL, 0, &counts), SIGN_OK);
	CU_ASSERT_EQUAL(counts.verified, counts.rrsigs);
	cfg.keyset = NULL;
	memset(&counts, 0, sizeof(counts));
	CU_ASSERT_EQUAL(sign_verify_zone(s, &cfg, all, NULL, 0, &counts),
	                foreign ? SIGN_ERR_VERIFY : SIGN_OK);
	char path[128], out[128], cmd[512];
	snprintf(path, sizeof(path), "%s/%s.zone", tmpdir, step);
	snprintf(out, sizeof(out), "%s/%s.out", tmpdir, step);
	CU_ASSERT_EQUAL_FATAL(zone_write_file(s, path), ZONE_OK);
	snprintf(cmd, sizeof(cmd), "ldns-verify-zone %s", path);
	CU_ASSERT_EQUAL(run_tool(step, cmd, out), 0);
	snprintf(cmd, sizeof(cmd), "dnssec-verify -o example. %s", path);
	CU_ASSERT_EQUAL(run_tool(step, cmd, out), 0);
}

static void test_sign_zone_algorithm_rollover(void)
{
	const hsm_key_t *ecdsa_ksk = &keys.keys[0].key, *ecdsa_zsk = &keys.keys[1].key;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/signzone-roll.XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpdir));
	/* Validators outside read the clock: the steps run from a day ago
	 * (a few hours apart), every signature valid now. */
	int64_t now = (int64_t)time(NULL) - 86400;
	zone_t *z = load(zone_text);
	sign_zone_params_t p = params(now);
	sign_zone_stats_t st;
	size_t n = 0;
	const unsigned rsa = 1u << 8, ec = 1u << 13;

	/* 0: RSASHA256 alone. */
	const roll_key_t k0[] = {{&rsa_ksk, SIGN_ROLE_KSK, true, true, false},
	                         {&rsa_zsk, SIGN_ROLE_ZSK, true, true, false}};
	sign_keyset_t ks0, ks1, ks2, ks3, ks3r, ks4;
	roll_keyset(&ks0, k0, 2);
	zone_t *s0 = NULL, *s1 = NULL, *s2 = NULL, *s3 = NULL, *s3r = NULL, *s4 = NULL, *out = NULL;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, NULL, &ks0, &p, &s0, &st), SIGN_OK);
	uint64_t d0 = st.keyset_digest;

	/* 1, new RRSIGs: the ECDSA keys sign everything (the KSK the DNSKEY
	 * RRset), their DNSKEYs not yet published. */
	const roll_key_t k1[] = {{&rsa_ksk, SIGN_ROLE_KSK, true, true, false},
	                         {&rsa_zsk, SIGN_ROLE_ZSK, true, true, false},
	                         {ecdsa_ksk, SIGN_ROLE_KSK, false, true, false},
	                         {ecdsa_zsk, SIGN_ROLE_ZSK, false, true, false}};
	roll_keyset(&ks1, k1, 4);
	p.timing.now += 3600;
	p.have_previous_serial = true;
	p.previous_serial = st.serial;
	/* The DNSKEY RRset is the same: only the key set says the pass must be
	 * whole, and the digest agrees. */
	CU_ASSERT_EQUAL(sign_zone_update(z, s0, &ks1, &p, &out, &st), SIGN_ERR_WHOLE);
	p.prev_keyset_digest = d0;
	CU_ASSERT_EQUAL(sign_zone_update(z, s0, &ks1, &p, &out, &st), SIGN_ERR_WHOLE);
	p.prev_keyset_digest = 0;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, s0, &ks1, &p, &s1, &st), SIGN_OK);
	CU_ASSERT_EQUAL(st.created, 11 + 1); /* ECDSA over all 11, RSA over the new SOA */
	CU_ASSERT_EQUAL(dnskey_algs(s1, &n), rsa);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(sig_algs(s1, "www", ZONE_TYPE_A, &n), rsa | ec);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(sig_algs(s1, "@", ZONE_TYPE_DNSKEY, &n), rsa | ec);
	CU_ASSERT_EQUAL(sig_algs(s1, "@", ZONE_TYPE_SOA, &n), rsa | ec);
	check_step("step1", s1, &ks1, p.timing.now, true);
	/* The same key set again: with the digest, an incremental pass may
	 * go on (and keeps the unpublished keys' RRSIGs); without, it may not. */
	uint64_t d1 = st.keyset_digest;
	p.timing.now += 60;
	p.previous_serial = st.serial;
	CU_ASSERT_EQUAL(sign_zone_update(z, s1, &ks1, &p, &out, &st), SIGN_ERR_WHOLE);
	p.prev_keyset_digest = d1;
	CU_ASSERT_EQUAL_FATAL(sign_zone_update(z, s1, &ks1, &p, &out, &st), SIGN_OK);
	CU_ASSERT(st.incremental);
	CU_ASSERT_EQUAL(st.created, 2); /* the SOA, in both algorithms */
	CU_ASSERT_EQUAL(sig_algs(out, "www", ZONE_TYPE_A, &n), rsa | ec);
	check_step("step1-incremental", out, &ks1, p.timing.now, true);
	zone_free(out);
	out = NULL;
	p.prev_keyset_digest = 0;

	/* 2, new DNSKEY: every key published and active; the ECDSA RRSIGs made
	 * unpublished are reused. */
	const roll_key_t k2[] = {{&rsa_ksk, SIGN_ROLE_KSK, true, true, false},
	                         {&rsa_zsk, SIGN_ROLE_ZSK, true, true, false},
	                         {ecdsa_ksk, SIGN_ROLE_KSK, true, true, false},
	                         {ecdsa_zsk, SIGN_ROLE_ZSK, true, true, false}};
	roll_keyset(&ks2, k2, 4);
	p.timing.now += 3600;
	p.previous_serial = st.serial;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, s1, &ks2, &p, &s2, &st), SIGN_OK);
	CU_ASSERT_EQUAL(st.created, 4); /* SOA and DNSKEY, each in both algorithms */
	CU_ASSERT_EQUAL(st.reused, 2 * 11 - 4);
	CU_ASSERT_EQUAL(dnskey_algs(s2, &n), rsa | ec);
	CU_ASSERT_EQUAL(n, 4);
	check_step("step2", s2, &ks2, p.timing.now, false);

	/* 3, DNSKEY removal: only the ECDSA DNSKEYs; the RSA keys, unpublished,
	 * still sign (RFC 6781: RRSIG1 over the new SOA, RRSIGKSK1 over the
	 * DNSKEY RRset). */
	const roll_key_t k3[] = {{&rsa_ksk, SIGN_ROLE_KSK, false, true, false},
	                         {&rsa_zsk, SIGN_ROLE_ZSK, false, true, false},
	                         {ecdsa_ksk, SIGN_ROLE_KSK, true, true, false},
	                         {ecdsa_zsk, SIGN_ROLE_ZSK, true, true, false}};
	roll_keyset(&ks3, k3, 4);
	p.timing.now += 3600;
	p.previous_serial = st.serial;
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, s2, &ks3, &p, &s3, &st), SIGN_OK);
	CU_ASSERT_EQUAL(st.created, 4);
	CU_ASSERT_EQUAL(dnskey_algs(s3, &n), ec);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(sig_algs(s3, "www", ZONE_TYPE_A, &n), rsa | ec);
	CU_ASSERT_EQUAL(sig_algs(s3, "@", ZONE_TYPE_SOA, &n), rsa | ec);
	CU_ASSERT_EQUAL(sig_algs(s3, "@", ZONE_TYPE_DNSKEY, &n), rsa | ec);
	check_step("step3", s3, &ks3, p.timing.now, true);

	/* 3, later: the RSA keys only retained; their RRSIGs stay where the
	 * RRset did not change (not over the new SOA). */
	const roll_key_t k3r[] = {{&rsa_ksk, SIGN_ROLE_KSK, false, false, true},
	                          {&rsa_zsk, SIGN_ROLE_ZSK, false, false, true},
	                          {ecdsa_ksk, SIGN_ROLE_KSK, true, true, false},
	                          {ecdsa_zsk, SIGN_ROLE_ZSK, true, true, false}};
	roll_keyset(&ks3r, k3r, 4);
	p.timing.now += 3600;
	p.previous_serial = st.serial;
	CU_ASSERT_EQUAL(sign_zone_update(z, s3, &ks3r, &p, &out, &st), SIGN_ERR_WHOLE);
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, s3, &ks3r, &p, &s3r, &st), SIGN_OK);
	CU_ASSERT_EQUAL(st.created, 1);
	CU_ASSERT_EQUAL(sig_algs(s3r, "www", ZONE_TYPE_A, &n), rsa | ec);
	CU_ASSERT_EQUAL(sig_algs(s3r, "@", ZONE_TYPE_DNSKEY, &n), rsa | ec);
	CU_ASSERT_EQUAL(sig_algs(s3r, "@", ZONE_TYPE_SOA, &n), ec);
	check_step("step3-retained", s3r, &ks3r, p.timing.now, true);

	/* 4, RRSIGs removal: the RSA keys leave the key set, their RRSIGs go.
	 * The DNSKEY RRset is the same: the RSA RRSIG left at the apex tells
	 * the incremental pass to hand over. */
	const roll_key_t k4[] = {{ecdsa_ksk, SIGN_ROLE_KSK, true, true, false},
	                         {ecdsa_zsk, SIGN_ROLE_ZSK, true, true, false}};
	roll_keyset(&ks4, k4, 2);
	p.timing.now += 3600;
	p.previous_serial = st.serial;
	CU_ASSERT_EQUAL(sign_zone_update(z, s3r, &ks4, &p, &out, &st), SIGN_ERR_WHOLE);
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, s3r, &ks4, &p, &s4, &st), SIGN_OK);
	CU_ASSERT_EQUAL(st.created, 1);
	CU_ASSERT_EQUAL(st.dropped, 10 + 1); /* the RSA RRSIGs left, the old SOA's */
	CU_ASSERT_EQUAL(sig_algs(s4, "www", ZONE_TYPE_A, &n), ec);
	CU_ASSERT_EQUAL(sig_algs(s4, "@", ZONE_TYPE_DNSKEY, &n), ec);
	check_step("step4", s4, &ks4, p.timing.now, false);
	/* Steady again: incremental. */
	p.timing.now += 60;
	p.previous_serial = st.serial;
	CU_ASSERT_EQUAL(sign_zone_update(z, s4, &ks4, &p, &out, &st), SIGN_OK);
	zone_free(out);

	sign_keyset_deinit(&ks0);
	sign_keyset_deinit(&ks1);
	sign_keyset_deinit(&ks2);
	sign_keyset_deinit(&ks3);
	sign_keyset_deinit(&ks3r);
	sign_keyset_deinit(&ks4);
	zone_free(s0);
	zone_free(s1);
	zone_free(s2);
	zone_free(s3);
	zone_free(s3r);
	zone_free(s4);
	zone_free(z);
	char rm[128];
	snprintf(rm, sizeof(rm), "rm -rf %s", tmpdir);
	CU_ASSERT_EQUAL(system(rm), 0);
}

/* The incremental pass with a published key's flags changed (its DNSKEY,
 * hence the DNSKEY RRset, the same): a whole pass, inferred from the apex. */
static void test_sign_zone_update_hands_over_when_signing_keys_change(void)
{
	const hsm_key_t *ksk = &keys.keys[0].key, *zsk = &keys.keys[1].key;
	zone_t *z = load(zone_text), *s1 = NULL, *s2 = NULL, *s3 = NULL, *out = NULL;
	sign_zone_params_t p = params(1800000000);
	p.have_previous_serial = true;
	sign_zone_stats_t st;
	/* A stand-by ZSK: published, signs nothing. */
	const roll_key_t ka[] = {{ksk, SIGN_ROLE_KSK, true, true, false},
	                         {zsk, SIGN_ROLE_ZSK, true, true, false},
	                         {&standby, SIGN_ROLE_ZSK, true, false, false}};
	/* It becomes active. */
	const roll_key_t kb[] = {{ksk, SIGN_ROLE_KSK, true, true, false},
	                         {zsk, SIGN_ROLE_ZSK, true, true, false},
	                         {&standby, SIGN_ROLE_ZSK, true, true, false}};
	/* The old ZSK only retained. */
	const roll_key_t kc[] = {{ksk, SIGN_ROLE_KSK, true, true, false},
	                         {zsk, SIGN_ROLE_ZSK, true, false, true},
	                         {&standby, SIGN_ROLE_ZSK, true, true, false}};
	sign_keyset_t a, b, c;
	roll_keyset(&a, ka, 3);
	roll_keyset(&b, kb, 3);
	roll_keyset(&c, kc, 3);
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, NULL, &a, &p, &s1, &st), SIGN_OK);
	p.previous_serial = st.serial;
	p.timing.now += 60;
	CU_ASSERT_EQUAL(sign_zone_update(z, s1, &a, &p, &out, &st), SIGN_OK);
	zone_free(out);
	out = NULL;
	CU_ASSERT_EQUAL(sign_zone_update(z, s1, &b, &p, &out, &st), SIGN_ERR_WHOLE);
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, s1, &b, &p, &s2, &st), SIGN_OK);
	CU_ASSERT_EQUAL(st.created,
	                1 + 10); /* the SOA by the old ZSK, all but the DNSKEY RRset by the new */
	p.previous_serial = st.serial;
	p.timing.now += 60;
	CU_ASSERT_EQUAL(sign_zone_update(z, s2, &c, &p, &out, &st), SIGN_ERR_WHOLE);
	CU_ASSERT_EQUAL_FATAL(sign_zone(z, s2, &c, &p, &s3, &st), SIGN_OK);
	p.previous_serial = st.serial;
	p.timing.now += 60;
	/* The same flags again: incremental, the retained RRSIGs kept. */
	CU_ASSERT_EQUAL(sign_zone_update(z, s3, &c, &p, &out, &st), SIGN_OK);
	CU_ASSERT_EQUAL(st.created, 1);
	/* Back to the stand-by key set: whole (the ZSK's RRSIGs at the apex). */
	zone_free(out);
	out = NULL;
	CU_ASSERT_EQUAL(sign_zone_update(z, s3, &a, &p, &out, &st), SIGN_ERR_WHOLE);
	sign_keyset_deinit(&a);
	sign_keyset_deinit(&b);
	sign_keyset_deinit(&c);
	zone_free(s1);
	zone_free(s2);
	zone_free(s3);
	zone_free(z);
}

int main(void)
{
	static const char *const labels[] = {"signzone"};
	testutil_token_create(labels, 1);
	ctx = testutil_hsm_ctx("signzone", NULL, 0);
	size_t len = 0;
	dname_from_str("example.", NULL, apex, sizeof(apex), &len);
	hsm_token_t *t = hsm_ctx_token(ctx, "main");
	hsm_key_t ksk, zsk;
	sign_keyset_init(&keys);
	if (hsm_key_generate(t, hsm_alg_by_number(13), 0, "ksk", &ksk, NULL) != HSM_OK ||
	    hsm_key_generate(t, hsm_alg_by_number(13), 0, "zsk", &zsk, NULL) != HSM_OK ||
	    sign_keyset_add(&keys, &ksk, NULL, SIGN_ROLE_KSK, true, true, false, false, NULL) !=
	            HSM_OK ||
	    sign_keyset_add(&keys, &zsk, NULL, SIGN_ROLE_ZSK, true, true, false, false, NULL) !=
	            HSM_OK ||
	    hsm_key_generate(t, hsm_alg_by_number(8), 2048, "rsa-ksk", &rsa_ksk, NULL) != HSM_OK ||
	    hsm_key_generate(t, hsm_alg_by_number(8), 2048, "rsa-zsk", &rsa_zsk, NULL) != HSM_OK ||
	    hsm_key_generate(t, hsm_alg_by_number(13), 0, "standby", &standby, NULL) != HSM_OK) {
		return 1;
	}
	static const testutil_case_t cases[] = {
	        {"test_sign_zone_signs_and_verifies", test_sign_zone_signs_and_verifies},
	        {"test_sign_zone_cds_signed_by_ksk_and_zsk",
	         test_sign_zone_cds_signed_by_ksk_and_zsk},
	        {"test_sign_zone_reuses_what_did_not_change",
	         test_sign_zone_reuses_what_did_not_change},
	        {"test_sign_zone_bad_timing_and_missing_key",
	         test_sign_zone_bad_timing_and_missing_key},
	        {"test_sign_zone_algorithm_rollover", test_sign_zone_algorithm_rollover},
	        {"test_sign_zone_update_hands_over_when_signing_keys_change",
	         test_sign_zone_update_hands_over_when_signing_keys_change},
	        {NULL, NULL},
	};
	int failed = testutil_run("sign_zone", cases);
	sign_keyset_deinit(&keys);
	hsm_ctx_free(ctx);
	testutil_token_cleanup();
	return failed;
}
