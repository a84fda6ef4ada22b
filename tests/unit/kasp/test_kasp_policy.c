#include "kasp/kasp_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hsm/hsm_error.h"
#include "kasp/kasp_error.h"
#include "tests/support/testutil.h"

#define DAY 86400u

static char dir[64];
static char path[128];

static const char *write_file(const char *text)
{
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static bool contains(const char *err, const char *want)
{
	if (strstr(err, want) != NULL) {
		return true;
	}
	fprintf(stderr, "\n  expected '%s'\n  in       '%s'\n", want, err);
	return false;
}

/* Loads text as a policy file; the result must be freed by the caller. */
static int load(const char *text, kasp_policy_t **out, size_t *n, char *err, size_t errlen)
{
	return kasp_policies_load_file(write_file(text), out, n, err, errlen);
}

/* The file is refused with status and every one of want (NULL-terminated)
 * in the message; the out-params keep their values. */
static void refused(const char *text, int status, const char *want, const char *want2)
{
	kasp_policy_t *sentinel = (kasp_policy_t *)&sentinel;
	kasp_policy_t *out = sentinel;
	size_t n = 77;
	char err[512] = "";
	int ret = load(text, &out, &n, err, sizeof(err));
	if (ret != status) {
		fprintf(stderr, "\n  status %d (%s), expected %d; err '%s'\n", ret,
		        kasp_strerror(ret), status, err);
	}
	CU_ASSERT_EQUAL(ret, status);
	CU_ASSERT_PTR_EQUAL(out, sentinel);
	CU_ASSERT_EQUAL(n, 77);
	CU_ASSERT(contains(err, want));
	if (want2 != NULL) {
		CU_ASSERT(contains(err, want2));
	}
	if (ret == KASP_OK) {
		kasp_policies_free(out, n);
	}
}

/* One policy "p" starting on line 2; body lines start on line 3. */
#define HEAD "policies:\n  - name: p\n"

static void test_kasp_policy_defaults_are_valid(void)
{
	kasp_policy_t p;
	char err[512] = "";
	kasp_policy_defaults(&p);
	CU_ASSERT_EQUAL(kasp_policy_check(&p, err, sizeof(err)), KASP_OK);
	CU_ASSERT_PTR_NULL(p.name);
	CU_ASSERT_EQUAL(p.algorithm, 13);
	CU_ASSERT(!p.csk);
	CU_ASSERT_PTR_NOT_NULL(kasp_policy_key(&p, KASP_POLICY_KSK));
	CU_ASSERT_PTR_NOT_NULL(kasp_policy_key(&p, KASP_POLICY_ZSK));
	CU_ASSERT_PTR_NULL(kasp_policy_key(&p, KASP_POLICY_CSK));
	CU_ASSERT_EQUAL(p.key[KASP_POLICY_KSK].lifetime, 0);
	CU_ASSERT_EQUAL(p.key[KASP_POLICY_ZSK].lifetime, 90 * DAY);
	CU_ASSERT_EQUAL(p.key[KASP_POLICY_ZSK].bits, 0);
	CU_ASSERT_PTR_NULL(p.key[KASP_POLICY_ZSK].token);
	CU_ASSERT(!p.shared_keys);
	CU_ASSERT_EQUAL(p.validity, 30 * DAY);
	CU_ASSERT_EQUAL(p.dnskey_validity, 0);
	CU_ASSERT_EQUAL(p.refresh, 15 * DAY);
	CU_ASSERT_EQUAL(p.jitter, 12 * 3600);
	CU_ASSERT_EQUAL(p.inception_offset, 3600);
	CU_ASSERT(p.nsec3);
	CU_ASSERT_EQUAL(p.nsec3_iterations, 0);
	CU_ASSERT_PTR_NULL(p.nsec3_salt);
	CU_ASSERT(!p.nsec3_opt_out);
	CU_ASSERT_EQUAL(p.dnskey_ttl, 3600);
	CU_ASSERT_EQUAL(p.cds_ttl, 3600);
	CU_ASSERT_EQUAL(p.max_zone_ttl, DAY);
	CU_ASSERT_EQUAL(p.ttl_policy, KASP_POLICY_TTL_REFUSE);
	CU_ASSERT_EQUAL(p.zone_propagation_delay, 300);
	CU_ASSERT_EQUAL(p.parent_ds_ttl, DAY);
	CU_ASSERT_EQUAL(p.parent_propagation_delay, 3600);
	CU_ASSERT_EQUAL(p.nparental_agents, 0);
	CU_ASSERT_EQUAL(p.poll_interval, 3600);
	CU_ASSERT(p.cds_publish);
	CU_ASSERT_EQUAL(p.ncds_digests, 1);
	CU_ASSERT_EQUAL(p.cds_digests[0], 2);
	CU_ASSERT_EQUAL(p.ksk_roll, KASP_POLICY_DOUBLE_KSK);
	CU_ASSERT(!p.rfc5011);
	CU_ASSERT_EQUAL(p.add_hold_down, 30 * DAY);
	CU_ASSERT_EQUAL(p.remove_hold_down, 30 * DAY);
	CU_ASSERT(!p.require_backup);
	/* A zone with SOA EXPIRE up to 14 days and the 1d TTL fits. */
	CU_ASSERT_EQUAL(kasp_policy_check_zone(&p, 7 * DAY, 3600, err, sizeof(err)), KASP_OK);
	CU_ASSERT_EQUAL(kasp_policy_check_zone(&p, 14 * DAY, DAY, err, sizeof(err)), KASP_OK);
	kasp_policy_deinit(&p);
	kasp_policy_deinit(NULL);
	kasp_policies_free(NULL, 3);

	/* A file of one policy with nothing but its name gets the defaults. */
	kasp_policy_t *ps = NULL;
	size_t n = 0;
	CU_ASSERT_EQUAL_FATAL(load(HEAD, &ps, &n, err, sizeof(err)), KASP_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(ps[0].name, "p");
	kasp_policy_t d;
	kasp_policy_defaults(&d);
	CU_ASSERT_EQUAL(ps[0].validity, d.validity);
	CU_ASSERT_EQUAL(ps[0].key[KASP_POLICY_ZSK].lifetime, d.key[KASP_POLICY_ZSK].lifetime);
	CU_ASSERT_EQUAL(ps[0].nsec3, d.nsec3);
	kasp_policies_free(ps, n);
}

static const char full[] = "policies:\n"
                           "  - name: hoster-rsa\n"
                           "    algorithm: RSASHA512\n"
                           "    keys:\n"
                           "      ksk: {bits: 4096, lifetime: 52w, token: ksk-hsm}\n"
                           "      zsk:\n"
                           "        bits: 3072\n"
                           "        lifetime: 60d\n"
                           "        token: main\n"
                           "      shared: yes\n"
                           "      ksk_roll: double_ksk\n"
                           "      rfc5011: true\n"
                           "      add_hold_down: 35d\n"
                           "      remove_hold_down: 40d\n"
                           "      require_backup: true\n"
                           "    signatures:\n"
                           "      validity: 3w\n"
                           "      dnskey_validity: 4w\n"
                           "      refresh: 10d\n"
                           "      jitter: 6h\n"
                           "      inception_offset: 30m\n"
                           "    denial:\n"
                           "      type: nsec3\n"
                           "      iterations: 5\n"
                           "      salt: \"ABCD01\"\n"
                           "      opt_out: true\n"
                           "    zone:\n"
                           "      dnskey_ttl: 2h\n"
                           "      cds_ttl: 900\n"
                           "      max_ttl: 12h\n"
                           "      ttl_policy: cap\n"
                           "      propagation_delay: 10m\n"
                           "    parent:\n"
                           "      ds_ttl: 2d\n"
                           "      propagation_delay: 3h\n"
                           "      agents: [\"192.0.2.53\", \"2001:db8::53@5353\"]\n"
                           "      poll_interval: 30m\n"
                           "      cds: false\n"
                           "      cds_digests: [SHA-384, 2]\n"
                           "  - name: small.zones_2\n"
                           "    algorithm: 15\n"
                           "    keys: {csk: {lifetime: 180d}}\n"
                           "    denial: {type: nsec}\n";

static void test_kasp_policy_full_yaml_is_read(void)
{
	kasp_policy_t *ps = NULL;
	size_t n = 0;
	char err[512] = "";
	int ret = load(full, &ps, &n, err, sizeof(err));
	if (ret != KASP_OK) {
		fprintf(stderr, "\n  %s\n", err);
	}
	CU_ASSERT_EQUAL_FATAL(ret, KASP_OK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	const kasp_policy_t *p = &ps[0];
	CU_ASSERT_STRING_EQUAL(p->name, "hoster-rsa");
	CU_ASSERT_EQUAL(p->algorithm, 10);
	CU_ASSERT(!p->csk);
	CU_ASSERT_EQUAL(p->key[KASP_POLICY_KSK].bits, 4096);
	CU_ASSERT_EQUAL(p->key[KASP_POLICY_KSK].lifetime, 52 * 7 * DAY);
	CU_ASSERT_STRING_EQUAL(p->key[KASP_POLICY_KSK].token, "ksk-hsm");
	CU_ASSERT_EQUAL(p->key[KASP_POLICY_ZSK].bits, 3072);
	CU_ASSERT_EQUAL(p->key[KASP_POLICY_ZSK].lifetime, 60 * DAY);
	CU_ASSERT_STRING_EQUAL(p->key[KASP_POLICY_ZSK].token, "main");
	CU_ASSERT(p->shared_keys);
	CU_ASSERT_EQUAL(p->ksk_roll, KASP_POLICY_DOUBLE_KSK);
	CU_ASSERT(p->rfc5011);
	CU_ASSERT_EQUAL(p->add_hold_down, 35 * DAY);
	CU_ASSERT_EQUAL(p->remove_hold_down, 40 * DAY);
	CU_ASSERT(p->require_backup);
	CU_ASSERT_EQUAL(p->validity, 21 * DAY);
	CU_ASSERT_EQUAL(p->dnskey_validity, 28 * DAY);
	CU_ASSERT_EQUAL(p->refresh, 10 * DAY);
	CU_ASSERT_EQUAL(p->jitter, 6 * 3600);
	CU_ASSERT_EQUAL(p->inception_offset, 1800);
	CU_ASSERT(p->nsec3);
	CU_ASSERT_EQUAL(p->nsec3_iterations, 5);
	CU_ASSERT_STRING_EQUAL(p->nsec3_salt, "abcd01");
	CU_ASSERT(p->nsec3_opt_out);
	CU_ASSERT_EQUAL(p->dnskey_ttl, 7200);
	CU_ASSERT_EQUAL(p->cds_ttl, 900);
	CU_ASSERT_EQUAL(p->max_zone_ttl, 12 * 3600);
	CU_ASSERT_EQUAL(p->ttl_policy, KASP_POLICY_TTL_CAP);
	CU_ASSERT_EQUAL(p->zone_propagation_delay, 600);
	CU_ASSERT_EQUAL(p->parent_ds_ttl, 2 * DAY);
	CU_ASSERT_EQUAL(p->parent_propagation_delay, 3 * 3600);
	CU_ASSERT_EQUAL_FATAL(p->nparental_agents, 2);
	CU_ASSERT_STRING_EQUAL(p->parental_agents[0], "192.0.2.53");
	CU_ASSERT_STRING_EQUAL(p->parental_agents[1], "2001:db8::53@5353");
	CU_ASSERT_EQUAL(p->poll_interval, 1800);
	CU_ASSERT(!p->cds_publish);
	CU_ASSERT_EQUAL_FATAL(p->ncds_digests, 2);
	CU_ASSERT_EQUAL(p->cds_digests[0], 4);
	CU_ASSERT_EQUAL(p->cds_digests[1], 2);

	const kasp_policy_t *q = &ps[1];
	CU_ASSERT_STRING_EQUAL(q->name, "small.zones_2");
	CU_ASSERT_EQUAL(q->algorithm, 15);
	CU_ASSERT(q->csk);
	CU_ASSERT_PTR_NULL(kasp_policy_key(q, KASP_POLICY_KSK));
	CU_ASSERT_PTR_NULL(kasp_policy_key(q, KASP_POLICY_ZSK));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kasp_policy_key(q, KASP_POLICY_CSK));
	CU_ASSERT_EQUAL(kasp_policy_key(q, KASP_POLICY_CSK)->lifetime, 180 * DAY);
	CU_ASSERT_EQUAL(kasp_policy_key(q, KASP_POLICY_CSK)->bits, 0);
	CU_ASSERT_PTR_NULL(kasp_policy_key(q, KASP_POLICY_CSK)->token);
	CU_ASSERT(!q->nsec3);
	CU_ASSERT_EQUAL(q->validity, 30 * DAY); /* the rest are defaults */
	kasp_policies_free(ps, n);

	/* RSA without bits takes 2048; only the given role changes. */
	CU_ASSERT_EQUAL_FATAL(load(HEAD "    algorithm: 8\n"
	                                "    keys: {zsk: {token: z}}\n",
	                           &ps, &n, err, sizeof(err)),
	                      KASP_OK);
	CU_ASSERT_EQUAL(ps[0].key[KASP_POLICY_KSK].bits, 2048);
	CU_ASSERT_EQUAL(ps[0].key[KASP_POLICY_ZSK].bits, 2048);
	CU_ASSERT_EQUAL(ps[0].key[KASP_POLICY_ZSK].lifetime, 90 * DAY);
	CU_ASSERT_STRING_EQUAL(ps[0].key[KASP_POLICY_ZSK].token, "z");
	CU_ASSERT_PTR_NULL(ps[0].key[KASP_POLICY_KSK].token);
	kasp_policies_free(ps, n);

	/* "-" and "" mean no salt; names of algorithms and digests ignore case. */
	CU_ASSERT_EQUAL_FATAL(load(HEAD "    algorithm: ed448\n"
	                                "    denial: {salt: \"-\"}\n"
	                                "    parent: {cds_digests: [sha256]}\n"
	                                "  - name: q\n"
	                                "    denial: {salt: \"\"}\n"
	                                "    parent: {cds: false, cds_digests: []}\n",
	                           &ps, &n, err, sizeof(err)),
	                      KASP_OK);
	CU_ASSERT_EQUAL(ps[0].algorithm, 16);
	CU_ASSERT_PTR_NULL(ps[0].nsec3_salt);
	CU_ASSERT_PTR_NULL(ps[1].nsec3_salt);
	CU_ASSERT_EQUAL(ps[0].cds_digests[0], 2);
	CU_ASSERT_EQUAL(ps[1].ncds_digests, 0);
	kasp_policies_free(ps, n);

	/* An empty list is no policy at all. */
	ps = (kasp_policy_t *)&ps;
	CU_ASSERT_EQUAL(load("policies: []\n", &ps, &n, err, sizeof(err)), KASP_OK);
	CU_ASSERT_PTR_NULL(ps);
	CU_ASSERT_EQUAL(n, 0);
}

/* kasp_policy_from_yaml on a mapping of a document the caller parsed. */
static void test_kasp_policy_from_yaml_reads_one_mapping(void)
{
	static const char text[] = "# signer.yaml\n"
	                           "policy:\n"
	                           "  name: inline\n"
	                           "  signatures: {validity: 20d, refresh: 9d}\n"
	                           "bad:\n"
	                           "  name: bad\n"
	                           "  signatures: {validity: 9d, refresh: 9d}\n";
	yaml_parser_t parser;
	yaml_document_t doc;
	CU_ASSERT_FATAL(yaml_parser_initialize(&parser) != 0);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	CU_ASSERT_FATAL(yaml_parser_load(&parser, &doc) != 0);
	yaml_parser_delete(&parser);
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	yaml_node_t *good = yaml_document_get_node(&doc, root->data.mapping.pairs.start[0].value);
	yaml_node_t *bad = yaml_document_get_node(&doc, root->data.mapping.pairs.start[1].value);

	kasp_policy_t p;
	char err[512] = "";
	CU_ASSERT_EQUAL_FATAL(kasp_policy_from_yaml(&doc, good, &p, err, sizeof(err)), KASP_OK);
	CU_ASSERT_STRING_EQUAL(p.name, "inline");
	CU_ASSERT_EQUAL(p.validity, 20 * DAY);
	CU_ASSERT_EQUAL(p.refresh, 9 * DAY);
	CU_ASSERT_EQUAL(kasp_policy_check(&p, err, sizeof(err)), KASP_OK);

	/* Refused: *out untouched, the line without a file name. */
	kasp_policy_t before;
	memcpy(&before, &p, sizeof(p));
	CU_ASSERT_EQUAL(kasp_policy_from_yaml(&doc, bad, &p, err, sizeof(err)), KASP_ERR_TIMING);
	CU_ASSERT(memcmp(&before, &p, sizeof(p)) == 0);
	CU_ASSERT(contains(err, "line 7: policy 'bad': signatures.validity: "));
	CU_ASSERT_EQUAL(kasp_policy_from_yaml(&doc, root, &p, err, sizeof(err)), KASP_ERR_VALUE);
	CU_ASSERT(contains(err, "line 2: policy (unnamed): unknown key 'policy'"));
	CU_ASSERT(memcmp(&before, &p, sizeof(p)) == 0);
	yaml_node_t *scalar = yaml_document_get_node(&doc, root->data.mapping.pairs.start[0].key);
	CU_ASSERT_EQUAL(kasp_policy_from_yaml(&doc, scalar, &p, err, sizeof(err)), KASP_ERR_SYNTAX);
	CU_ASSERT(contains(err, "line 2: policy (unnamed): a policy must be a mapping"));
	kasp_policy_deinit(&p);
	yaml_document_delete(&doc);
}

/* Effective validity (validity - inception_offset - jitter) must be above refresh. */
static void test_kasp_policy_refuses_effective_validity_not_above_refresh(void)
{
	/* 10d - 1h - 12h = 9d11h <= 9d11h */
	refused(HEAD "    signatures:\n"
	             "      validity: 10d\n"
	             "      refresh: 817200\n",
	        KASP_ERR_TIMING, "policies.yaml:4: policy 'p': signatures.validity: ",
	        "(10d - inception_offset 1h - jitter 12h = 9d11h) must be above "
	        "signatures.refresh 9d11h");
	kasp_policy_t *ps = NULL;
	size_t n = 0;
	char err[512] = "";
	CU_ASSERT_EQUAL(load(HEAD "    signatures:\n"
	                          "      validity: 10d\n"
	                          "      refresh: 817199\n",
	                     &ps, &n, err, sizeof(err)),
	                KASP_OK);
	kasp_policies_free(ps, n);
	/* The DNSKEY RRset's own validity too. */
	refused(HEAD "    signatures: {refresh: 9d,\n"
	             "      dnskey_validity: 9d}\n",
	        KASP_ERR_TIMING, "policies.yaml:4: policy 'p': signatures.dnskey_validity: ", NULL);
	/* Without YAML: the policy and the field. */
	kasp_policy_t p;
	kasp_policy_defaults(&p);
	p.jitter = 20 * DAY;
	CU_ASSERT_EQUAL(kasp_policy_check(&p, err, sizeof(err)), KASP_ERR_TIMING);
	CU_ASSERT(contains(err, "policy (unnamed): signatures.validity: the effective validity"));
}

static void test_kasp_policy_refuses_validity_beyond_serial_arithmetic(void)
{
	refused(HEAD "    signatures: {validity: 2147483000, refresh: 20d}\n"
	             "    keys: {zsk: {lifetime: 0}}\n",
	        KASP_ERR_TIMING,
	        "policies.yaml:3: policy 'p': signatures.validity: ", "below 2^31 seconds");
}

static void test_kasp_policy_refuses_refresh_below_ttl_and_propagation(void)
{
	refused(HEAD "    signatures:\n"
	             "      validity: 3d\n"
	             "      refresh: 1d\n"
	             "    zone: {max_ttl: 1d}\n",
	        KASP_ERR_TIMING, "policies.yaml:5: policy 'p': signatures.refresh: 1d is below",
	        "the largest TTL 1d (zone.max_ttl) + zone.propagation_delay 5m");
	/* The DNSKEY TTL counts when it is the largest. */
	refused(HEAD "    signatures: {validity: 3d, refresh: 1d}\n"
	             "    zone: {max_ttl: 1h, dnskey_ttl: 2d}\n",
	        KASP_ERR_TIMING,
	        "signatures.refresh: 1d is below the largest TTL 2d (zone.dnskey_ttl)", NULL);
}

static void test_kasp_policy_refuses_lifetime_shorter_than_rollover(void)
{
	/* ZSK rollover under the defaults: 1h5m + 0 + (15d12h + 5m + 1d) = 16d13h10m. */
	refused(HEAD "    keys:\n"
	             "      zsk: {lifetime: 16d}\n",
	        KASP_ERR_TIMING, "policies.yaml:4: policy 'p': keys.zsk.lifetime: 16d is shorter",
	        "than a ZSK rollover, 16d13h10m (publish 1h5m, switch 0s, retire 16d12h5m)");
	kasp_policy_t *ps = NULL;
	size_t n = 0;
	char err[512] = "";
	CU_ASSERT_EQUAL(
	        load(HEAD "    keys: {zsk: {lifetime: 1429800}}\n", &ps, &n, err, sizeof(err)),
	        KASP_OK);
	kasp_policies_free(ps, n);
	/* A KSK under RFC 5011 waits both hold-downs. */
	refused(HEAD "    keys:\n"
	             "      rfc5011: true\n"
	             "      ksk:\n"
	             "        lifetime: 60d\n",
	        KASP_ERR_TIMING, "policies.yaml:6: policy 'p': keys.ksk.lifetime: 60d is shorter",
	        "than a KSK rollover, 61d4h10m");
	/* A CSK rollover. */
	refused(HEAD "    keys: {csk: {lifetime: 2w}}\n", KASP_ERR_TIMING,
	        "policies.yaml:3: policy 'p': keys.csk.lifetime: 14d is shorter than a CSK "
	        "rollover, 16d14h15m",
	        NULL);
	/* 0 is unlimited. */
	CU_ASSERT_EQUAL(load(HEAD "    keys: {zsk: {lifetime: 0}}\n", &ps, &n, err, sizeof(err)),
	                KASP_OK);
	kasp_policies_free(ps, n);
}

static void test_kasp_policy_refuses_unsupported_algorithms(void)
{
	refused(HEAD "    algorithm: 5\n", KASP_ERR_VALUE,
	        "policies.yaml:3: policy 'p': algorithm: 5 is not supported", NULL);
	refused(HEAD "    algorithm: 256\n", KASP_ERR_VALUE,
	        "policies.yaml:3: policy 'p': algorithm: must be an algorithm number", NULL);
	refused(HEAD "    algorithm: RSASHA1\n", KASP_ERR_VALUE,
	        "policies.yaml:3: policy 'p': algorithm: unknown algorithm 'RSASHA1'", NULL);
	kasp_policy_t p;
	char err[512] = "";
	kasp_policy_defaults(&p);
	p.algorithm = 7;
	CU_ASSERT_EQUAL(kasp_policy_check(&p, err, sizeof(err)), KASP_ERR_VALUE);
	CU_ASSERT(contains(err, "algorithm: 7 is not supported"));
}

static void test_kasp_policy_refuses_key_sizes(void)
{
	refused(HEAD "    algorithm: RSASHA256\n"
	             "    keys:\n"
	             "      ksk: {bits: 1024}\n",
	        KASP_ERR_VALUE, "policies.yaml:5: policy 'p': keys.ksk.bits: 1024: RSASHA256",
	        "2048, 3072 or 4096");
	refused(HEAD "    algorithm: 8\n"
	             "    keys:\n"
	             "      zsk:\n"
	             "        bits: 8192\n",
	        KASP_ERR_VALUE, "policies.yaml:6: policy 'p': keys.zsk.bits: 8192", NULL);
	refused(HEAD "    keys:\n"
	             "      zsk: {bits: 2048}\n",
	        KASP_ERR_VALUE,
	        "policies.yaml:4: policy 'p': keys.zsk.bits: 2048: bits apply to RSA", NULL);
	kasp_policy_t p;
	char err[512] = "";
	kasp_policy_defaults(&p);
	p.algorithm = 8; /* no bits: the C API does not guess */
	CU_ASSERT_EQUAL(kasp_policy_check(&p, err, sizeof(err)), KASP_ERR_VALUE);
	CU_ASSERT(contains(err, "keys.ksk.bits: 0: RSASHA256 keys are 2048, 3072 or 4096 bits"));
}

static void test_kasp_policy_refuses_nsec3_parameters(void)
{
	refused(HEAD "    denial:\n"
	             "      iterations: 101\n",
	        KASP_ERR_VALUE, "policies.yaml:4: policy 'p': denial.iterations: 101 is above 100",
	        NULL);
	refused(HEAD "    denial: {salt: abc}\n", KASP_ERR_VALUE,
	        "policies.yaml:3: policy 'p': denial.salt: must be an even number of hex digits",
	        NULL);
	refused(HEAD "    denial: {salt: zz}\n", KASP_ERR_VALUE, "denial.salt: must be an even",
	        NULL);
	char text[1024];
	char salt[520];
	memset(salt, 'a', 512);
	salt[512] = '\0';
	snprintf(text, sizeof(text), HEAD "    denial:\n      salt: %s\n", salt);
	refused(text, KASP_ERR_VALUE,
	        "policies.yaml:4: policy 'p': denial.salt: 256 octets is longer than 255", NULL);
	/* 100 iterations and 255 octets are the limits. */
	salt[510] = '\0';
	snprintf(text, sizeof(text), HEAD "    denial: {iterations: 100, salt: %s}\n", salt);
	kasp_policy_t *ps = NULL;
	size_t n = 0;
	char err[512] = "";
	CU_ASSERT_EQUAL(load(text, &ps, &n, err, sizeof(err)), KASP_OK);
	kasp_policies_free(ps, n);
	/* NSEC3 parameters with NSEC. */
	refused(HEAD "    denial:\n"
	             "      type: nsec\n"
	             "      iterations: 0\n",
	        KASP_ERR_VALUE,
	        "policies.yaml:5: policy 'p': denial: 'iterations' applies to NSEC3", NULL);
	refused(HEAD "    denial: {type: nsec4}\n", KASP_ERR_VALUE,
	        "policies.yaml:3: policy 'p': denial.type: must be nsec or nsec3", NULL);
}

static void test_kasp_policy_refuses_parent_settings(void)
{
	refused(HEAD "    parent:\n"
	             "      agents:\n"
	             "        - 192.0.2.1\n"
	             "        - ns1.example.\n",
	        KASP_ERR_VALUE,
	        "policies.yaml:6: policy 'p': parent.agents: 'ns1.example.' is not \"ip\"", NULL);
	refused(HEAD "    parent: {agents: [\"192.0.2.1@0\"]}\n", KASP_ERR_VALUE,
	        "parent.agents: '192.0.2.1@0'", NULL);
	refused(HEAD "    parent: {agents: [\"2001:db8::1@65536\"]}\n", KASP_ERR_VALUE,
	        "parent.agents: '2001:db8::1@65536'", NULL);
	refused(HEAD "    parent: {agents: [\"192.0.2.1\", \"192.0.2.1\"]}\n", KASP_ERR_VALUE,
	        "parent.agents: '192.0.2.1' listed twice", NULL);
	refused(HEAD "    parent: {agents: 192.0.2.1}\n", KASP_ERR_SYNTAX,
	        "policies.yaml:3: policy 'p': parent.agents: must be a list", NULL);
	refused(HEAD "    parent:\n"
	             "      poll_interval: 59s\n",
	        KASP_ERR_VALUE,
	        "policies.yaml:4: policy 'p': parent.poll_interval: 59s is below 1m", NULL);
	refused(HEAD "    parent:\n"
	             "      cds_digests: [2,\n"
	             "        1]\n",
	        KASP_ERR_VALUE,
	        "policies.yaml:5: policy 'p': parent.cds_digests: '1': digest types", NULL);
	refused(HEAD "    parent: {cds_digests: [2, SHA-256]}\n", KASP_ERR_VALUE,
	        "parent.cds_digests: 2 listed twice", NULL);
	refused(HEAD "    parent:\n"
	             "      cds_digests: []\n",
	        KASP_ERR_VALUE, "policies.yaml:4: policy 'p': parent.cds_digests: CDS is published",
	        NULL);

	kasp_policy_t p;
	char err[512] = "";
	char *agents[] = {"192.0.2.1@53", "::1@x"};
	kasp_policy_defaults(&p);
	p.parental_agents = agents;
	p.nparental_agents = 2;
	CU_ASSERT_EQUAL(kasp_policy_check(&p, err, sizeof(err)), KASP_ERR_VALUE);
	CU_ASSERT(contains(err, "parent.agents: '::1@x'"));
	p.nparental_agents = 1;
	CU_ASSERT_EQUAL(kasp_policy_check(&p, err, sizeof(err)), KASP_OK);
	p.cds_digests[1] = 1;
	p.ncds_digests = 2;
	CU_ASSERT_EQUAL(kasp_policy_check(&p, err, sizeof(err)), KASP_ERR_VALUE);
	CU_ASSERT(contains(err, "parent.cds_digests: 1: digest types are 2"));
}

static void test_kasp_policy_refuses_rfc5011_settings(void)
{
	refused(HEAD "    keys:\n"
	             "      ksk_roll: double_ds\n"
	             "      rfc5011: true\n",
	        KASP_ERR_VALUE, "policies.yaml:5: policy 'p': keys.rfc5011: RFC 5011 needs", NULL);
	refused(HEAD "    keys:\n"
	             "      rfc5011: true\n"
	             "      add_hold_down: 29d\n",
	        KASP_ERR_VALUE, "policies.yaml:5: policy 'p': keys.add_hold_down: 29d is below 30d",
	        NULL);
	refused(HEAD "    keys: {ksk_roll: double_dnskey}\n", KASP_ERR_VALUE,
	        "policies.yaml:3: policy 'p': keys.ksk_roll: must be double_ksk or double_ds",
	        NULL);
	/* Without RFC 5011 the hold-downs do not matter. */
	kasp_policy_t *ps = NULL;
	size_t n = 0;
	char err[512] = "";
	CU_ASSERT_EQUAL(load(HEAD "    keys: {add_hold_down: 1d, ksk_roll: double_ds}\n", &ps, &n,
	                     err, sizeof(err)),
	                KASP_OK);
	kasp_policies_free(ps, n);
}

static void test_kasp_policy_refuses_bad_shapes_and_names(void)
{
	refused("policies:\n  - algorithm: 13\n", KASP_ERR_VALUE,
	        "policies.yaml:2: policy (unnamed): name: a policy needs a name", NULL);
	refused("policies:\n  - name: \"a b\"\n", KASP_ERR_VALUE,
	        "policies.yaml:2: policy (unnamed): name: 'a b': a policy name is", NULL);
	refused(HEAD "    keys:\n"
	             "      ksk: {}\n"
	             "      csk: {}\n",
	        KASP_ERR_VALUE, "policies.yaml:5: policy 'p': keys.csk: give csk or ksk + zsk",
	        NULL);
	refused(HEAD "    keys: {zsk: 30d}\n", KASP_ERR_SYNTAX,
	        "policies.yaml:3: policy 'p': keys.zsk: must be a mapping", NULL);
	refused(HEAD "    signatures: [1]\n", KASP_ERR_SYNTAX,
	        "policies.yaml:3: policy 'p': signatures: must be a mapping", NULL);
	refused(HEAD "    zone: {ttl_policy: clamp}\n", KASP_ERR_VALUE,
	        "policies.yaml:3: policy 'p': zone.ttl_policy: must be refuse or cap", NULL);
	refused(HEAD "    keys: {shared: maybe}\n", KASP_ERR_VALUE,
	        "policies.yaml:3: policy 'p': keys.shared: must be true or false", NULL);
	refused(HEAD "    keys: {zsk: {token: \"\"}}\n", KASP_ERR_VALUE,
	        "policies.yaml:3: policy 'p': keys.zsk.token: must be a non-empty string", NULL);
	refused("policies:\n  - 3\n", KASP_ERR_SYNTAX,
	        "policies.yaml:2: policy (unnamed): a policy must be a mapping", NULL);
	refused("policies: {name: p}\n", KASP_ERR_SYNTAX,
	        "policies.yaml:1: policies must be a list", NULL);
	refused("- name: p\n", KASP_ERR_SYNTAX, "policies.yaml:1: a policy file is a mapping",
	        NULL);
	refused("", KASP_ERR_SYNTAX, "policies.yaml:1: a policy file is a mapping", NULL);
	refused("other: 1\n", KASP_ERR_VALUE, "policies.yaml:1: unknown key 'other'", NULL);
	refused("policies: [\n", KASP_ERR_SYNTAX, "policies.yaml:2: ", NULL);

	kasp_policy_t *out = NULL;
	size_t n = 0;
	char err[512] = "";
	snprintf(path, sizeof(path), "%s/missing.yaml", dir);
	CU_ASSERT_EQUAL(kasp_policies_load_file(path, &out, &n, err, sizeof(err)), KASP_ERR_IO);
	CU_ASSERT(contains(err, "missing.yaml: No such file or directory"));
	CU_ASSERT_PTR_NULL(out);
	snprintf(path, sizeof(path), "%s/policies.yaml", dir);
}

static void test_kasp_policy_refuses_unknown_and_repeated_keys(void)
{
	refused(HEAD "    algorithm: 13\n"
	             "    algoritm: 13\n",
	        KASP_ERR_VALUE, "policies.yaml:4: policy 'p': unknown key 'algoritm'", NULL);
	refused(HEAD "    signatures:\n"
	             "      validity: 30d\n"
	             "      refesh: 10d\n",
	        KASP_ERR_VALUE, "policies.yaml:5: policy 'p': signatures: unknown key 'refesh'",
	        NULL);
	refused(HEAD "    keys:\n"
	             "      zsk:\n"
	             "        lifetime: 30d\n"
	             "        size: 2048\n",
	        KASP_ERR_VALUE, "policies.yaml:6: policy 'p': keys.zsk: unknown key 'size'", NULL);
	refused(HEAD "    zone: {max_ttl: 1d, ttl: 1h}\n", KASP_ERR_VALUE,
	        "policies.yaml:3: policy 'p': zone: unknown key 'ttl'", NULL);
	refused(HEAD "    parent:\n      cds: true\n      cdnskey: true\n", KASP_ERR_VALUE,
	        "policies.yaml:5: policy 'p': parent: unknown key 'cdnskey'", NULL);
	/* The name is known even when the unknown key comes first. */
	refused("policies:\n  - colour: blue\n    name: late\n", KASP_ERR_VALUE,
	        "policies.yaml:2: policy 'late': unknown key 'colour'", NULL);
	refused(HEAD "    signatures:\n"
	             "      refresh: 10d\n"
	             "      refresh: 11d\n",
	        KASP_ERR_DUPLICATE,
	        "policies.yaml:5: policy 'p': signatures: 'refresh' given twice (first on line 4)",
	        NULL);
	refused("policies: []\npolicies: []\n", KASP_ERR_DUPLICATE,
	        "policies.yaml:2: 'policies' given twice", NULL);
}

static void test_kasp_policy_refuses_bad_durations(void)
{
	static const char *const bad[] = {"1y",         "-1",     "10 d",
	                                  "1.5d",       "d",      "",
	                                  "2147483648", "24856d", "99999999999999999999999",
	                                  "1dd",        "[1]",    NULL};
	char text[256];
	for (size_t i = 0; bad[i] != NULL; i++) {
		snprintf(text, sizeof(text), HEAD "    zone:\n      max_ttl: %s\n",
		         bad[i][0] == '\0' ? "\"\"" : bad[i]);
		refused(text, KASP_ERR_VALUE,
		        "policies.yaml:4: policy 'p': zone.max_ttl: ", "is not a duration");
	}
	/* Every unit, and the largest value. */
	static const struct {
		const char *text;
		uint32_t seconds;
	} good[] = {{"0", 0},      {"45", 45},     {"45s", 45},     {"2m", 120},
	            {"3h", 10800}, {"2d", 172800}, {"2w", 1209600}, {"2147483647", 2147483647u}};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		kasp_policy_t *ps = NULL;
		size_t n = 0;
		char err[512] = "";
		snprintf(text, sizeof(text), HEAD "    keys: {remove_hold_down: %s}\n",
		         good[i].text);
		CU_ASSERT_EQUAL_FATAL(load(text, &ps, &n, err, sizeof(err)), KASP_OK);
		CU_ASSERT_EQUAL(ps[0].remove_hold_down, good[i].seconds);
		kasp_policies_free(ps, n);
	}
	/* A value the C API can hold but a policy cannot. */
	kasp_policy_t p;
	char err[512] = "";
	kasp_policy_defaults(&p);
	p.cds_ttl = 2147483648u;
	CU_ASSERT_EQUAL(kasp_policy_check(&p, err, sizeof(err)), KASP_ERR_VALUE);
	CU_ASSERT(contains(err, "zone.cds_ttl: 2147483648 seconds is above 2^31 - 1"));
}

static void test_kasp_policy_refuses_duplicate_names(void)
{
	refused("policies:\n"
	        "  - name: a\n"
	        "  - name: b\n"
	        "  - name: a\n"
	        "    algorithm: 15\n",
	        KASP_ERR_DUPLICATE, "policies.yaml:4: policy 'a': name: ", "already on line 2");
}

static void test_kasp_policy_check_zone_refusals(void)
{
	kasp_policy_t p;
	char err[512] = "";
	kasp_policy_defaults(&p);
	p.name = "z";
	/* Zone data above the maximum TTL: refused, or capped. */
	CU_ASSERT_EQUAL(kasp_policy_check_zone(&p, 7 * DAY, 2 * DAY, err, sizeof(err)),
	                KASP_ERR_ZONE);
	CU_ASSERT(contains(err, "policy 'z': zone.max_ttl: the zone has a TTL of 2d, above 1d"));
	CU_ASSERT_EQUAL(kasp_policy_check_zone(&p, 7 * DAY, DAY, err, sizeof(err)), KASP_OK);
	p.ttl_policy = KASP_POLICY_TTL_CAP;
	CU_ASSERT_EQUAL(kasp_policy_check_zone(&p, 7 * DAY, 2 * DAY, err, sizeof(err)), KASP_OK);
	p.ttl_policy = KASP_POLICY_TTL_REFUSE;
	/* refresh (15d) against SOA EXPIRE + the largest TTL the policy allows (1d). */
	CU_ASSERT_EQUAL(kasp_policy_check_zone(&p, 14 * DAY, 60, err, sizeof(err)), KASP_OK);
	CU_ASSERT_EQUAL(kasp_policy_check_zone(&p, 14 * DAY + 1, 60, err, sizeof(err)),
	                KASP_ERR_ZONE);
	CU_ASSERT(contains(err, "policy 'z': signatures.refresh: 15d is below the zone's SOA "
	                        "EXPIRE 14d1s + the largest TTL 1d (zone.max_ttl) = 15d1s"));
	/* A DNSKEY TTL above the data's counts. */
	p.dnskey_ttl = 2 * DAY;
	CU_ASSERT_EQUAL(kasp_policy_check_zone(&p, 14 * DAY, 60, err, sizeof(err)), KASP_ERR_ZONE);
	CU_ASSERT(contains(err, "the largest TTL 2d (zone.dnskey_ttl)"));
	CU_ASSERT_EQUAL(kasp_policy_check_zone(NULL, 0, 0, err, sizeof(err)), KASP_ERR_INVAL);
}

/* Rollover phases against hand-computed values (RFC 7583 formulas of the
 * header), with inputs chosen so that no two terms are equal. */
static void test_kasp_policy_rollover_arithmetic(void)
{
	kasp_policy_t p;
	kasp_policy_rollover_t r;
	kasp_policy_defaults(&p);
	p.validity = 1000000;
	p.refresh = 400000;
	p.jitter = 5000;
	p.zone_propagation_delay = 70;
	p.dnskey_ttl = 900;
	p.max_zone_ttl = 20000;
	p.poll_interval = 600;
	p.parent_propagation_delay = 1300;
	p.parent_ds_ttl = 7000;
	p.add_hold_down = 3000000;
	p.remove_hold_down = 2600000;
	/* Dsgn = 1000000 - 400000 + 5000 = 605000; Ikey = 70 + 900 = 970;
	 * Isig = 605000 + 70 + 20000 = 625070; Ids = 600 + 1300 + 7000 = 8900. */
	CU_ASSERT_EQUAL_FATAL(kasp_policy_rollover(&p, KASP_POLICY_ZSK, &r), KASP_OK);
	CU_ASSERT_EQUAL(r.dsgn, 605000);
	CU_ASSERT_EQUAL(r.ipub, 970);
	CU_ASSERT_EQUAL(r.iswap, 0);
	CU_ASSERT_EQUAL(r.iret, 625070);
	CU_ASSERT_EQUAL(r.total, 626040);
	CU_ASSERT_EQUAL(kasp_policy_rollover_time(&p, KASP_POLICY_ZSK), 626040);

	CU_ASSERT_EQUAL_FATAL(kasp_policy_rollover(&p, KASP_POLICY_KSK, &r), KASP_OK);
	CU_ASSERT_EQUAL(r.ipub, 970);
	CU_ASSERT_EQUAL(r.iswap, 8900);
	CU_ASSERT_EQUAL(r.iret, 970);
	CU_ASSERT_EQUAL(r.total, 10840);
	p.rfc5011 = true;
	CU_ASSERT_EQUAL_FATAL(kasp_policy_rollover(&p, KASP_POLICY_KSK, &r), KASP_OK);
	CU_ASSERT_EQUAL(r.ipub, 3000970);
	CU_ASSERT_EQUAL(r.iswap, 8900);
	CU_ASSERT_EQUAL(r.iret, 2600970);
	CU_ASSERT_EQUAL(r.total, 5610840);
	p.rfc5011 = false;
	p.ksk_roll = KASP_POLICY_DOUBLE_DS;
	CU_ASSERT_EQUAL_FATAL(kasp_policy_rollover(&p, KASP_POLICY_KSK, &r), KASP_OK);
	CU_ASSERT_EQUAL(r.ipub, 8900);
	CU_ASSERT_EQUAL(r.iswap, 970);
	CU_ASSERT_EQUAL(r.iret, 8900);
	CU_ASSERT_EQUAL(r.total, 18770);
	/* The ZSK does not depend on the KSK method. */
	CU_ASSERT_EQUAL(kasp_policy_rollover_time(&p, KASP_POLICY_ZSK), 626040);
	/* Not a CSK policy. */
	CU_ASSERT_EQUAL(kasp_policy_rollover(&p, KASP_POLICY_CSK, &r), KASP_ERR_INVAL);
	CU_ASSERT_EQUAL(kasp_policy_rollover_time(&p, KASP_POLICY_CSK), -1);

	p.csk = true;
	CU_ASSERT_EQUAL(kasp_policy_rollover_time(&p, KASP_POLICY_ZSK), -1);
	CU_ASSERT_EQUAL(kasp_policy_rollover_time(&p, KASP_POLICY_KSK), -1);
	/* CSK double-DS: max(Ids, Ikey) + Isig + max(Ids, Ikey). */
	CU_ASSERT_EQUAL_FATAL(kasp_policy_rollover(&p, KASP_POLICY_CSK, &r), KASP_OK);
	CU_ASSERT_EQUAL(r.ipub, 8900);
	CU_ASSERT_EQUAL(r.iswap, 625070);
	CU_ASSERT_EQUAL(r.iret, 8900);
	CU_ASSERT_EQUAL(r.total, 642870);
	/* CSK double-KSK: Ikey + max(Ids, Isig) + Ikey, with either term the larger. */
	p.ksk_roll = KASP_POLICY_DOUBLE_KSK;
	CU_ASSERT_EQUAL(kasp_policy_rollover_time(&p, KASP_POLICY_CSK), 970 + 625070 + 970);
	p.parent_ds_ttl = 700000; /* Ids = 701900 */
	CU_ASSERT_EQUAL_FATAL(kasp_policy_rollover(&p, KASP_POLICY_CSK, &r), KASP_OK);
	CU_ASSERT_EQUAL(r.iswap, 701900);
	CU_ASSERT_EQUAL(r.total, 703840);
	p.rfc5011 = true;
	CU_ASSERT_EQUAL(kasp_policy_rollover_time(&p, KASP_POLICY_CSK), 3000970 + 701900 + 2600970);

	/* Validity below refresh (a refused policy): Dsgn is 0, not negative. */
	p.csk = false;
	p.refresh = 2000000;
	CU_ASSERT_EQUAL_FATAL(kasp_policy_rollover(&p, KASP_POLICY_ZSK, &r), KASP_OK);
	CU_ASSERT_EQUAL(r.dsgn, 0);
	CU_ASSERT_EQUAL(r.total, 970 + 70 + 20000);

	/* The defaults: ZSK 1429800 s (16d13h10m), KSK 101400 s. */
	kasp_policy_defaults(&p);
	CU_ASSERT_EQUAL(kasp_policy_rollover_time(&p, KASP_POLICY_ZSK), 1429800);
	CU_ASSERT_EQUAL(kasp_policy_rollover_time(&p, KASP_POLICY_KSK), 101400);
	CU_ASSERT_EQUAL(kasp_policy_rollover_time(NULL, KASP_POLICY_KSK), -1);
}

static void test_kasp_policy_parses_agents(void)
{
	int family = 0;
	uint8_t addr[16];
	uint16_t port = 0;
	CU_ASSERT(kasp_policy_parse_agent("192.0.2.1", &family, addr, &port));
	CU_ASSERT_EQUAL(family, AF_INET);
	CU_ASSERT_EQUAL(port, 53);
	CU_ASSERT(memcmp(addr, "\xc0\x00\x02\x01", 4) == 0);
	CU_ASSERT(kasp_policy_parse_agent("2001:db8::1@5353", &family, addr, &port));
	CU_ASSERT_EQUAL(family, AF_INET6);
	CU_ASSERT_EQUAL(port, 5353);
	CU_ASSERT_EQUAL(addr[0], 0x20);
	CU_ASSERT_EQUAL(addr[15], 1);
	CU_ASSERT(kasp_policy_parse_agent("::1@65535", &family, addr, &port));
	CU_ASSERT_EQUAL(port, 65535);
	family = -1;
	port = 7;
	static const char *const bad[] = {"",
	                                  "@53",
	                                  "192.0.2.1@",
	                                  "192.0.2.1@0",
	                                  "192.0.2.1@65536",
	                                  "192.0.2.1@+53",
	                                  "192.0.2",
	                                  "example.com",
	                                  "[::1]@53",
	                                  "::1@53@53",
	                                  "192.0.2.1 ",
	                                  NULL};
	for (size_t i = 0; bad[i] != NULL; i++) {
		if (kasp_policy_parse_agent(bad[i], &family, addr, &port)) {
			fprintf(stderr, "\n  accepted '%s'\n", bad[i]);
		}
		CU_ASSERT(!kasp_policy_parse_agent(bad[i], &family, addr, &port));
	}
	CU_ASSERT(!kasp_policy_parse_agent(NULL, &family, addr, &port));
	CU_ASSERT_EQUAL(family, -1);
	CU_ASSERT_EQUAL(port, 7);
}

static void test_kasp_policy_strings_and_statuses(void)
{
	static const int codes[] = {
	        KASP_OK,        KASP_ERR_NOMEM,     KASP_ERR_INVAL,  KASP_ERR_IO,  KASP_ERR_SYNTAX,
	        KASP_ERR_VALUE, KASP_ERR_DUPLICATE, KASP_ERR_TIMING, KASP_ERR_ZONE};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		CU_ASSERT_STRING_NOT_EQUAL(kasp_strerror(codes[i]), "unknown kasp status");
		CU_ASSERT(codes[i] == 0 || (codes[i] <= -1100 && codes[i] > -1200));
	}
	CU_ASSERT_STRING_EQUAL(kasp_strerror(-ENOENT), strerror(ENOENT));
	CU_ASSERT_STRING_EQUAL(kasp_strerror(HSM_ERR_NOMEM), hsm_strerror(HSM_ERR_NOMEM));
	CU_ASSERT_STRING_EQUAL(kasp_strerror(-1199), "unknown kasp status");
	CU_ASSERT_STRING_EQUAL(kasp_policy_role_str(KASP_POLICY_CSK), "CSK");
	CU_ASSERT_STRING_EQUAL(kasp_policy_ksk_roll_str(KASP_POLICY_DOUBLE_DS), "double_ds");
	CU_ASSERT_STRING_EQUAL(kasp_policy_ttl_str(KASP_POLICY_TTL_CAP), "cap");
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-kasp-policy.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return 1;
	}
	snprintf(path, sizeof(path), "%s/policies.yaml", dir);
	static const testutil_case_t cases[] = {
	        {"test_kasp_policy_defaults_are_valid", test_kasp_policy_defaults_are_valid},
	        {"test_kasp_policy_full_yaml_is_read", test_kasp_policy_full_yaml_is_read},
	        {"test_kasp_policy_from_yaml_reads_one_mapping",
	         test_kasp_policy_from_yaml_reads_one_mapping},
	        {"test_kasp_policy_refuses_effective_validity_not_above_refresh",
	         test_kasp_policy_refuses_effective_validity_not_above_refresh},
	        {"test_kasp_policy_refuses_validity_beyond_serial_arithmetic",
	         test_kasp_policy_refuses_validity_beyond_serial_arithmetic},
	        {"test_kasp_policy_refuses_refresh_below_ttl_and_propagation",
	         test_kasp_policy_refuses_refresh_below_ttl_and_propagation},
	        {"test_kasp_policy_refuses_lifetime_shorter_than_rollover",
	         test_kasp_policy_refuses_lifetime_shorter_than_rollover},
	        {"test_kasp_policy_refuses_unsupported_algorithms",
	         test_kasp_policy_refuses_unsupported_algorithms},
	        {"test_kasp_policy_refuses_key_sizes", test_kasp_policy_refuses_key_sizes},
	        {"test_kasp_policy_refuses_nsec3_parameters",
	         test_kasp_policy_refuses_nsec3_parameters},
	        {"test_kasp_policy_refuses_parent_settings",
	         test_kasp_policy_refuses_parent_settings},
	        {"test_kasp_policy_refuses_rfc5011_settings",
	         test_kasp_policy_refuses_rfc5011_settings},
	        {"test_kasp_policy_refuses_bad_shapes_and_names",
	         test_kasp_policy_refuses_bad_shapes_and_names},
	        {"test_kasp_policy_refuses_unknown_and_repeated_keys",
	         test_kasp_policy_refuses_unknown_and_repeated_keys},
	        {"test_kasp_policy_refuses_bad_durations", test_kasp_policy_refuses_bad_durations},
	        {"test_kasp_policy_refuses_duplicate_names",
	         test_kasp_policy_refuses_duplicate_names},
	        {"test_kasp_policy_check_zone_refusals", test_kasp_policy_check_zone_refusals},
	        {"test_kasp_policy_rollover_arithmetic", test_kasp_policy_rollover_arithmetic},
	        {"test_kasp_policy_parses_agents", test_kasp_policy_parses_agents},
	        {"test_kasp_policy_strings_and_statuses", test_kasp_policy_strings_and_statuses},
	        {NULL, NULL},
	};
	int failed = testutil_run("kasp_policy", cases);
	unlink(path);
	rmdir(dir);
	return failed;
}
