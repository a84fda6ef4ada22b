/*
 * kasp_export: DS digests against the RFC examples (RFC 4509 section 2.3
 * for the RFC 4034 section 5.4 key, RFC 6605 section 6 for ECDSA), the
 * CDS/CDNSKEY sets following the DS states, the RFC 8078 delete records,
 * every trust-anchor format compared exactly (and, where unbound-checkconf
 * and named-checkconf are installed, accepted by them), and the RFC 5011
 * REVOKE key tag against the RFC 4034 appendix B algorithm written out here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/evp.h>

#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_error.h"
#include "kasp/kasp_error.h"
#include "kasp/kasp_export.h"

/* RFC 4034 section 5.4: dskey.example.com. DNSKEY 256 3 5, key id 60485. */
static const char RFC4034_KEY[] =
        "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZ"
        "DRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9Xzc"
        "nOf+EPbtG9DMBmADjFDc2w/rljwvFw==";
/* RFC 4509 section 2.3: its SHA-256 DS. */
static const char RFC4509_DS[] = "D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A";

/* RFC 6605 section 6.1: example.net. DNSKEY 257 3 13, DS 55648 13 2. */
static const char P256_KEY[] = "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb"
                               "krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==";
static const char P256_DS2[] = "B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17";
/* RFC 6605 section 6.2: example.net. DNSKEY 257 3 14, DS 10771 14 4. */
static const char P384_KEY[] = "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1"
                               "w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8"
                               "/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40";
static const char P384_DS4[] = "72D7B62976CE06438E9C0BF319013CF801F09ECC84B8D7E9495F27E305C6A9B0"
                               "563A9B5F4D288405C3008A946DF983D6";

static const uint8_t SHA256[] = {HSM_DS_SHA256};
static const uint8_t SHA384[] = {HSM_DS_SHA384};

typedef struct {
	kasp_key_t k;
	uint8_t rdata[4 + HSM_DNSKEY_PUBKEY_MAX];
	size_t len;
} tkey_t;

/* RFC 4034 appendix B, as the RFC writes it. */
static unsigned rfc_keytag(const unsigned char key[], unsigned keysize)
{
	unsigned long ac;
	unsigned i;

	for (ac = 0, i = 0; i < keysize; ++i) {
		ac += (i & 1) ? key[i] : (unsigned long)key[i] << 8;
	}
	ac += (ac >> 16) & 0xFFFF;
	return ac & 0xFFFF;
}

static void unhex(const char *h, uint8_t *out, size_t *len)
{
	size_t n = strlen(h) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned b;
		sscanf(h + 2 * i, "%2x", &b);
		out[i] = (uint8_t)b;
	}
	*len = n;
}

/* A key of role and algorithm with DNSKEY RDATA flags/alg/base64 and the
 * given DS and DNSKEY states; the tag is computed here (RFC 4034 B). */
static void mkkey(tkey_t *t, unsigned role, unsigned flags, uint8_t alg, const char *b64,
                  kasp_state_t ds, kasp_state_t dnskey)
{
	size_t blen = strlen(b64);
	int n;

	memset(t, 0, sizeof(*t));
	t->rdata[0] = (uint8_t)(flags >> 8);
	t->rdata[1] = (uint8_t)flags;
	t->rdata[2] = 3;
	t->rdata[3] = alg;
	n = EVP_DecodeBlock(t->rdata + 4, (const unsigned char *)b64, (int)blen);
	CU_ASSERT_FATAL(n > 0);
	while (blen > 0 && b64[blen - 1] == '=') {
		blen--;
		n--;
	}
	t->len = 4 + (size_t)n;
	t->k.algorithm = alg;
	t->k.role = role;
	t->k.goal = true;
	t->k.tag = (uint16_t)rfc_keytag(t->rdata, (unsigned)t->len);
	t->k.state[KASP_DS] = ds;
	t->k.state[KASP_DNSKEY] = dnskey;
	t->k.state[KASP_KRRSIG] = dnskey;
	t->k.state[KASP_ZRRSIG] = (role & KASP_ROLE_ZSK) ? KASP_OMNIPRESENT : KASP_NA;
}

/* A synthetic ECDSA P-256 KSK whose key bytes all equal fill. */
static void mksynth(tkey_t *t, unsigned role, uint8_t fill, kasp_state_t ds, kasp_state_t dnskey)
{
	mkkey(t, role, role & KASP_ROLE_KSK ? 257 : 256, 13, P256_KEY, ds, dnskey);
	memset(t->rdata + 4, fill, t->len - 4);
	t->k.tag = (uint16_t)rfc_keytag(t->rdata, (unsigned)t->len);
}

static kasp_export_key_t ek(const tkey_t *t)
{
	return (kasp_export_key_t){.key = &t->k, .rdata = t->rdata, .rdata_len = t->len};
}

static void test_kasp_export_ds_matches_rfc4509(void)
{
	tkey_t t;
	kasp_export_key_t e;
	kasp_export_rrset_t cds, cdnskey;
	uint8_t want[64];
	size_t want_len;
	char *text = NULL;
	size_t count = 0;

	mkkey(&t, KASP_ROLE_KSK, 256, 5, RFC4034_KEY, KASP_OMNIPRESENT, KASP_OMNIPRESENT);
	CU_ASSERT_EQUAL(t.k.tag, 60485);
	e = ek(&t);
	CU_ASSERT_EQUAL_FATAL(
	        kasp_export_cds("dskey.example.com.", &e, 1, SHA256, 1, &cds, &cdnskey), KASP_OK);
	CU_ASSERT_EQUAL_FATAL(cds.n, 1);
	want[0] = 60485 >> 8;
	want[1] = 60485 & 0xFF;
	want[2] = 5;
	want[3] = 2;
	unhex(RFC4509_DS, want + 4, &want_len);
	CU_ASSERT_EQUAL(cds.rr[0].len, 4 + want_len);
	CU_ASSERT_EQUAL(memcmp(cds.rr[0].data, want, 4 + want_len), 0);
	CU_ASSERT_EQUAL_FATAL(cdnskey.n, 1);
	CU_ASSERT_EQUAL(cdnskey.rr[0].len, t.len);
	CU_ASSERT_EQUAL(memcmp(cdnskey.rr[0].data, t.rdata, t.len), 0);
	kasp_export_rrset_deinit(&cds);
	kasp_export_rrset_deinit(&cdnskey);
	kasp_export_rrset_deinit(&cds); /* twice: a no-op */
	kasp_export_rrset_deinit(NULL);

	/* Presentation form; the owner's case does not change the digest. */
	CU_ASSERT_EQUAL_FATAL(kasp_export_ds_text("DSKEY.Example.COM", 86400, &e, 1,
	                                          KASP_EXPORT_PARENT, SHA256, 1, &text, &count),
	                      KASP_OK);
	CU_ASSERT_EQUAL(count, 1);
	CU_ASSERT_STRING_EQUAL(
	        text, "DSKEY.Example.COM. 86400 IN DS 60485 5 2 "
	              "D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A\n");
	free(text);
}

static void test_kasp_export_ds_matches_rfc6605(void)
{
	tkey_t p256, p384;
	kasp_export_key_t e[2];
	kasp_export_rrset_t cds, cdnskey;
	uint8_t want[64];
	size_t want_len;
	char *text = NULL;
	static const uint8_t both[] = {HSM_DS_SHA256, HSM_DS_SHA384};

	mkkey(&p256, KASP_ROLE_KSK, 257, 13, P256_KEY, KASP_RUMOURED, KASP_OMNIPRESENT);
	mkkey(&p384, KASP_ROLE_CSK, 257, 14, P384_KEY, KASP_OMNIPRESENT, KASP_OMNIPRESENT);
	CU_ASSERT_EQUAL(p256.k.tag, 55648);
	CU_ASSERT_EQUAL(p384.k.tag, 10771);
	e[0] = ek(&p256);
	e[1] = ek(&p384);

	CU_ASSERT_EQUAL_FATAL(kasp_export_cds("example.net.", &e[0], 1, SHA256, 1, &cds, &cdnskey),
	                      KASP_OK);
	CU_ASSERT_EQUAL_FATAL(cds.n, 1);
	unhex(P256_DS2, want, &want_len);
	CU_ASSERT_EQUAL(cds.rr[0].len, 4 + want_len);
	CU_ASSERT(cds.rr[0].data[0] == (55648 >> 8) && cds.rr[0].data[1] == (55648 & 0xFF));
	CU_ASSERT(cds.rr[0].data[2] == 13 && cds.rr[0].data[3] == 2);
	CU_ASSERT_EQUAL(memcmp(cds.rr[0].data + 4, want, want_len), 0);
	kasp_export_rrset_deinit(&cds);
	kasp_export_rrset_deinit(&cdnskey);

	CU_ASSERT_EQUAL_FATAL(kasp_export_cds("example.net", &e[1], 1, SHA384, 1, &cds, &cdnskey),
	                      KASP_OK);
	CU_ASSERT_EQUAL_FATAL(cds.n, 1);
	unhex(P384_DS4, want, &want_len);
	CU_ASSERT_EQUAL(want_len, 48);
	CU_ASSERT_EQUAL(cds.rr[0].len, 4 + want_len);
	CU_ASSERT(cds.rr[0].data[0] == (10771 >> 8) && cds.rr[0].data[1] == (10771 & 0xFF));
	CU_ASSERT(cds.rr[0].data[2] == 14 && cds.rr[0].data[3] == 4);
	CU_ASSERT_EQUAL(memcmp(cds.rr[0].data + 4, want, want_len), 0);
	kasp_export_rrset_deinit(&cds);
	kasp_export_rrset_deinit(&cdnskey);

	/* Both keys, both digest types: keys in order, digests in list order. */
	CU_ASSERT_EQUAL_FATAL(kasp_export_ds_text("example.net.", 3600, e, 2, KASP_EXPORT_PARENT,
	                                          both, 2, &text, NULL),
	                      KASP_OK);
	CU_ASSERT_STRING_EQUAL(text,
	                       "example.net. 3600 IN DS 55648 13 2 "
	                       "B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17\n"
	                       "example.net. 3600 IN DS 55648 13 4 "
	                       "3BE4B980B34443E569255F4A347D4C8E8E18DE755FB8072D7B355C44C56B50A6"
	                       "1E8050AE636041B9664A04F05AEF2680\n"
	                       "example.net. 3600 IN DS 10771 14 2 "
	                       "FDE87F87D3A32AD8781EB0D79AC02F80D1381CECDA3567C2352B4986645C2DD0\n"
	                       "example.net. 3600 IN DS 10771 14 4 "
	                       "72D7B62976CE06438E9C0BF319013CF801F09ECC84B8D7E9495F27E305C6A9B0"
	                       "563A9B5F4D288405C3008A946DF983D6\n");
	free(text);
}

static void test_kasp_export_cds_follows_ds_states(void)
{
	tkey_t t[7];
	kasp_export_key_t e[7];
	kasp_export_rrset_t cds, cdnskey;
	char *text = NULL;
	size_t count = 99;

	mksynth(&t[0], KASP_ROLE_KSK, 0x11, KASP_HIDDEN, KASP_OMNIPRESENT);
	mksynth(&t[1], KASP_ROLE_KSK, 0x22, KASP_RUMOURED, KASP_OMNIPRESENT);
	mksynth(&t[2], KASP_ROLE_KSK, 0x33, KASP_OMNIPRESENT, KASP_OMNIPRESENT);
	mksynth(&t[3], KASP_ROLE_KSK, 0x44, KASP_UNRETENTIVE, KASP_OMNIPRESENT);
	mksynth(&t[4], KASP_ROLE_ZSK, 0x55, KASP_OMNIPRESENT, KASP_OMNIPRESENT); /* not a KSK */
	mksynth(&t[5], KASP_ROLE_CSK, 0x66, KASP_RUMOURED, KASP_HIDDEN);
	mksynth(&t[6], KASP_ROLE_KSK, 0x77, KASP_NA, KASP_OMNIPRESENT);
	for (size_t i = 0; i < 7; i++) {
		e[i] = ek(&t[i]);
	}
	CU_ASSERT_EQUAL_FATAL(kasp_export_cds("example.", e, 7, SHA256, 1, &cds, &cdnskey),
	                      KASP_OK);
	CU_ASSERT_EQUAL_FATAL(cds.n, 3);
	CU_ASSERT_EQUAL_FATAL(cdnskey.n, 3);
	static const size_t in[] = {1, 2, 5};
	for (size_t i = 0; i < 3; i++) {
		const tkey_t *k = &t[in[i]];
		uint8_t ds[HSM_DS_RDATA_MAX];
		size_t ds_len;
		static const uint8_t owner[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};

		CU_ASSERT_EQUAL(cdnskey.rr[i].len, k->len);
		CU_ASSERT_EQUAL(memcmp(cdnskey.rr[i].data, k->rdata, k->len), 0);
		CU_ASSERT_EQUAL(hsm_dnskey_ds(owner, sizeof(owner), k->rdata, k->len, 2, ds,
		                              sizeof(ds), &ds_len),
		                HSM_OK);
		CU_ASSERT_EQUAL(cds.rr[i].len, ds_len);
		CU_ASSERT_EQUAL(memcmp(cds.rr[i].data, ds, ds_len), 0);
		CU_ASSERT_EQUAL(((unsigned)cds.rr[i].data[0] << 8) | cds.rr[i].data[1], k->k.tag);
	}
	kasp_export_rrset_deinit(&cds);
	kasp_export_rrset_deinit(&cdnskey);

	/* Two digest types: two CDS per key, one CDNSKEY. */
	static const uint8_t both[] = {HSM_DS_SHA384, HSM_DS_SHA256};
	CU_ASSERT_EQUAL_FATAL(kasp_export_cds("example.", e, 7, both, 2, &cds, &cdnskey), KASP_OK);
	CU_ASSERT_EQUAL(cds.n, 6);
	CU_ASSERT_EQUAL(cdnskey.n, 3);
	CU_ASSERT(cds.rr[0].data[3] == 4 && cds.rr[1].data[3] == 2);
	kasp_export_rrset_deinit(&cds);
	kasp_export_rrset_deinit(&cdnskey);

	/* Nothing at the parent: empty sets, not an error. */
	CU_ASSERT_EQUAL_FATAL(kasp_export_cds("example.", e, 1, SHA256, 1, &cds, &cdnskey),
	                      KASP_OK);
	CU_ASSERT(cds.n == 0 && cds.rr == NULL && cdnskey.n == 0);
	CU_ASSERT_EQUAL(kasp_export_ds_text("example.", 60, e, 1, KASP_EXPORT_PARENT, SHA256, 1,
	                                    &text, &count),
	                KASP_OK);
	CU_ASSERT_EQUAL(count, 0);
	CU_ASSERT_STRING_EQUAL(text, "");
	free(text);

	/* GIVEN: every key, whatever its state. */
	CU_ASSERT_EQUAL(kasp_export_ds_text("example.", 60, e, 7, KASP_EXPORT_GIVEN, SHA256, 1,
	                                    &text, &count),
	                KASP_OK);
	CU_ASSERT_EQUAL(count, 7);
	free(text);

	CU_ASSERT_FALSE(kasp_export_selects(KASP_EXPORT_PARENT, NULL));
	CU_ASSERT_TRUE(kasp_export_selects(KASP_EXPORT_ANCHOR, &t[0].k));
	CU_ASSERT_FALSE(kasp_export_selects(KASP_EXPORT_ANCHOR, &t[4].k));
	CU_ASSERT_FALSE(kasp_export_selects(KASP_EXPORT_ANCHOR, &t[5].k));
}

static void test_kasp_export_delete_records_exact(void)
{
	kasp_export_rrset_t cds, cdnskey;
	static const uint8_t want_cds[] = {0x00, 0x00, 0x00, 0x00, 0x00};
	static const uint8_t want_cdnskey[] = {0x00, 0x00, 0x03, 0x00, 0x00};

	CU_ASSERT_EQUAL_FATAL(kasp_export_cds_delete(&cds, &cdnskey), KASP_OK);
	CU_ASSERT_EQUAL_FATAL(cds.n, 1);
	CU_ASSERT_EQUAL_FATAL(cdnskey.n, 1);
	CU_ASSERT_EQUAL(cds.rr[0].len, sizeof(want_cds));
	CU_ASSERT_EQUAL(memcmp(cds.rr[0].data, want_cds, sizeof(want_cds)), 0);
	CU_ASSERT_EQUAL(cdnskey.rr[0].len, sizeof(want_cdnskey));
	CU_ASSERT_EQUAL(memcmp(cdnskey.rr[0].data, want_cdnskey, sizeof(want_cdnskey)), 0);
	kasp_export_rrset_deinit(&cds);
	kasp_export_rrset_deinit(&cdnskey);
	CU_ASSERT_EQUAL(kasp_export_cds_delete(NULL, &cdnskey), KASP_ERR_INVAL);
}

/* The RFC 6605 keys as trust anchors of example.net., with keys that are no
 * anchor around them. */
static void anchor_keys(tkey_t *t, kasp_export_key_t *e)
{
	mkkey(&t[0], KASP_ROLE_KSK, 257, 13, P256_KEY, KASP_HIDDEN, KASP_OMNIPRESENT);
	mksynth(&t[1], KASP_ROLE_ZSK, 0x01, KASP_NA, KASP_OMNIPRESENT);
	mksynth(&t[2], KASP_ROLE_KSK, 0x02, KASP_HIDDEN, KASP_HIDDEN);
	mksynth(&t[3], KASP_ROLE_KSK, 0x03, KASP_HIDDEN, KASP_UNRETENTIVE);
	mkkey(&t[4], KASP_ROLE_CSK, 257, 14, P384_KEY, KASP_HIDDEN, KASP_RUMOURED);
	for (size_t i = 0; i < 5; i++) {
		e[i] = ek(&t[i]);
	}
}

#define DS_P256_2                                                                                  \
	"55648 13 2 "                                                                              \
	"B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17"
/* Not in the RFC: the P-384 key's SHA-256 DS as ldns-key2ds -2 prints it. */
#define DS_P384_2                                                                                  \
	"10771 14 2 "                                                                              \
	"FDE87F87D3A32AD8781EB0D79AC02F80D1381CECDA3567C2352B4986645C2DD0"

static const char WANT_UNBOUND[] = "example.net. IN DS " DS_P256_2 "\n"
                                   "example.net. IN DS " DS_P384_2 "\n";
static const char WANT_BIND[] =
        "trust-anchors {\n"
        "\t\"example.net.\" static-ds 55648 13 2 "
        "\"B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17\";\n"
        "\t\"example.net.\" static-ds 10771 14 2 "
        "\"FDE87F87D3A32AD8781EB0D79AC02F80D1381CECDA3567C2352B4986645C2DD0\";\n"
        "};\n";
static const char WANT_DS[] = "example.net. 3600 IN DS " DS_P256_2 "\n"
                              "example.net. 3600 IN DS " DS_P384_2 "\n";
static const char WANT_DNSKEY[] =
        "example.net. 3600 IN DNSKEY 257 3 13 "
        "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==\n"
        "example.net. 3600 IN DNSKEY 257 3 14 "
        "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8"
        "/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40\n";

static void test_kasp_export_trust_anchor_formats_exact(void)
{
	tkey_t t[5];
	kasp_export_key_t e[5];
	char *text = NULL;
	size_t count = 0;
	static const struct {
		kasp_export_format_t f;
		const char *want;
	} cases[] = {
	        {KASP_EXPORT_UNBOUND, WANT_UNBOUND},
	        {KASP_EXPORT_BIND, WANT_BIND},
	        {KASP_EXPORT_DS, WANT_DS},
	        {KASP_EXPORT_DNSKEY, WANT_DNSKEY},
	};

	anchor_keys(t, e);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text = NULL;
		CU_ASSERT_EQUAL_FATAL(kasp_export_trust_anchor("example.net.", cases[i].f, 3600, e,
		                                               5, SHA256, 1, &text, &count),
		                      KASP_OK);
		CU_ASSERT_STRING_EQUAL(text, cases[i].want);
		CU_ASSERT_EQUAL(count, 2);
		if (strcmp(text, cases[i].want) != 0) {
			fprintf(stderr, "format %d got:\n%s", (int)cases[i].f, text);
		}
		free(text);
	}
	/* DNSKEY needs no digest list. */
	CU_ASSERT_EQUAL_FATAL(kasp_export_trust_anchor("example.net", KASP_EXPORT_DNSKEY, 3600, e,
	                                               5, NULL, 0, &text, NULL),
	                      KASP_OK);
	CU_ASSERT_STRING_EQUAL(text, WANT_DNSKEY);
	free(text);
	/* No anchor key: an empty text, not an empty BIND clause. */
	CU_ASSERT_EQUAL_FATAL(kasp_export_trust_anchor("example.net.", KASP_EXPORT_BIND, 3600,
	                                               e + 1, 3, SHA256, 1, &text, &count),
	                      KASP_OK);
	CU_ASSERT_STRING_EQUAL(text, "");
	CU_ASSERT_EQUAL(count, 0);
	free(text);
}

static bool have(const char *tool)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

/* unbound-checkconf loads a trust-anchor-file and refuses a bad one;
 * named-checkconf parses a trust-anchors clause and refuses bad hex. */
static void test_kasp_export_trust_anchors_accepted_by_validators(void)
{
	tkey_t t[5];
	kasp_export_key_t e[5];
	char dir[] = "/tmp/kasp_export_XXXXXX";
	char anchor[512], conf[512], cmd[1200];
	static const kasp_export_format_t unbound_files[] = {KASP_EXPORT_UNBOUND, KASP_EXPORT_DS,
	                                                     KASP_EXPORT_DNSKEY};

	anchor_keys(t, e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(anchor, sizeof(anchor), "%s/anchor", dir);
	snprintf(conf, sizeof(conf), "%s/conf", dir);
	if (have("unbound-checkconf")) {
		char unbound_conf[1024];

		snprintf(unbound_conf, sizeof(unbound_conf),
		         "server:\n\tusername: \"\"\n\tchroot: \"\"\n\tdirectory: \"%s\"\n"
		         "\ttrust-anchor-file: \"%s\"\n",
		         dir, anchor);
		write_file(conf, unbound_conf);
		snprintf(cmd, sizeof(cmd), "unbound-checkconf %s >/dev/null 2>&1", conf);
		for (size_t i = 0; i < 3; i++) {
			char *text = NULL;

			CU_ASSERT_EQUAL_FATAL(kasp_export_trust_anchor("example.net.",
			                                               unbound_files[i], 3600, e, 5,
			                                               SHA256, 1, &text, NULL),
			                      KASP_OK);
			write_file(anchor, text);
			CU_ASSERT_EQUAL(system(cmd), 0);
			free(text);
		}
		write_file(anchor, "example.net. IN DS 55648 13 2 B4C8ZZ\n"); /* the check bites */
		CU_ASSERT_NOT_EQUAL(system(cmd), 0);
	} else {
		fprintf(stderr, "unbound-checkconf not installed: unbound check skipped\n");
	}
	if (have("named-checkconf")) {
		char *text = NULL;

		CU_ASSERT_EQUAL_FATAL(kasp_export_trust_anchor("example.net.", KASP_EXPORT_BIND, 0,
		                                               e, 5, SHA256, 1, &text, NULL),
		                      KASP_OK);
		write_file(conf, text);
		free(text);
		snprintf(cmd, sizeof(cmd), "named-checkconf %s >/dev/null 2>&1", conf);
		CU_ASSERT_EQUAL(system(cmd), 0);
		write_file(conf,
		           "trust-anchors {\n\t\"example.net.\" static-ds 1 13 2 \"ZZ\";\n};\n");
		CU_ASSERT_NOT_EQUAL(system(cmd), 0);
	} else {
		fprintf(stderr, "named-checkconf not installed: BIND check skipped\n");
	}
	unlink(anchor);
	unlink(conf);
	rmdir(dir);
}

static void test_kasp_export_revoke_changes_tag(void)
{
	tkey_t t, p;
	uint8_t out[4 + HSM_DNSKEY_PUBKEY_MAX], want[4 + HSM_DNSKEY_PUBKEY_MAX];
	size_t out_len = 0;
	uint16_t tag = 0;

	/* RFC 4034 key: flags 256 -> 384. */
	mkkey(&t, KASP_ROLE_KSK, 256, 5, RFC4034_KEY, KASP_NA, KASP_OMNIPRESENT);
	memcpy(want, t.rdata, t.len);
	want[0] = 0x01;
	want[1] = 0x80;
	CU_ASSERT_EQUAL_FATAL(kasp_export_revoke(t.rdata, t.len, out, sizeof(out), &out_len, &tag),
	                      KASP_OK);
	CU_ASSERT_EQUAL(out_len, t.len);
	CU_ASSERT_EQUAL(memcmp(out, want, t.len), 0);
	CU_ASSERT_EQUAL(tag, rfc_keytag(want, (unsigned)t.len));
	CU_ASSERT_NOT_EQUAL(tag, 60485);
	CU_ASSERT_EQUAL(tag, (60485 + 128) & 0xFFFF); /* the flag's low byte adds 0x80 */

	/* RFC 6605 P-256 KSK: 257 -> 385; tag optional. */
	mkkey(&p, KASP_ROLE_KSK, 257, 13, P256_KEY, KASP_NA, KASP_OMNIPRESENT);
	CU_ASSERT_EQUAL_FATAL(kasp_export_revoke(p.rdata, p.len, out, sizeof(out), &out_len, NULL),
	                      KASP_OK);
	CU_ASSERT(out[0] == 0x01 && out[1] == 0x81);
	CU_ASSERT_EQUAL(rfc_keytag(out, (unsigned)out_len), 55648 + 128);
	CU_ASSERT_EQUAL(hsm_dnskey_keytag(out, out_len), 55648 + 128);

	/* Refusals leave the output alone. */
	memset(out, 0xAA, sizeof(out));
	out_len = 7;
	tag = 7;
	CU_ASSERT_EQUAL(kasp_export_revoke(p.rdata, p.len, out, p.len - 1, &out_len, &tag),
	                HSM_ERR_BUFFER);
	CU_ASSERT_EQUAL(kasp_export_revoke(want, t.len, out, sizeof(out), &out_len, &tag),
	                KASP_ERR_EXPORT_DNSKEY); /* already revoked */
	p.rdata[2] = 2;
	CU_ASSERT_EQUAL(kasp_export_revoke(p.rdata, p.len, out, sizeof(out), &out_len, &tag),
	                KASP_ERR_EXPORT_DNSKEY);
	CU_ASSERT_EQUAL(kasp_export_revoke(p.rdata, 4, out, sizeof(out), &out_len, &tag),
	                KASP_ERR_EXPORT_DNSKEY);
	CU_ASSERT_EQUAL(kasp_export_revoke(NULL, 10, out, sizeof(out), &out_len, &tag),
	                KASP_ERR_INVAL);
	CU_ASSERT(out[0] == 0xAA && out_len == 7 && tag == 7);
}

static void test_kasp_export_refuses_bad_input(void)
{
	tkey_t t, revoked, wrongtag, wrongalg, notzone;
	kasp_export_key_t e, bad;
	kasp_export_rrset_t cds = {(kasp_export_rdata_t *)0x1, 42}, cdnskey = cds;
	char *text = (char *)0x1;
	size_t count = 42;
	static const uint8_t sha1[] = {1}, dup[] = {2, 2};

	mkkey(&t, KASP_ROLE_KSK, 257, 13, P256_KEY, KASP_OMNIPRESENT, KASP_OMNIPRESENT);
	e = ek(&t);
	/* NULLs and unknown selections/formats. */
	CU_ASSERT_EQUAL(kasp_export_cds(NULL, &e, 1, SHA256, 1, &cds, &cdnskey), KASP_ERR_INVAL);
	CU_ASSERT_EQUAL(kasp_export_cds("example.net.", NULL, 1, SHA256, 1, &cds, &cdnskey),
	                KASP_ERR_INVAL);
	CU_ASSERT_EQUAL(kasp_export_cds("example.net.", &e, 1, SHA256, 1, NULL, &cdnskey),
	                KASP_ERR_INVAL);
	CU_ASSERT_EQUAL(kasp_export_ds_text("example.net.", 1, &e, 1, KASP_EXPORT_PARENT, SHA256, 1,
	                                    NULL, &count),
	                KASP_ERR_INVAL);
	CU_ASSERT_EQUAL(kasp_export_ds_text("example.net.", 1, &e, 1, (kasp_export_select_t)9,
	                                    SHA256, 1, &text, &count),
	                KASP_ERR_INVAL);
	CU_ASSERT_EQUAL(kasp_export_trust_anchor("example.net.", (kasp_export_format_t)9, 1, &e, 1,
	                                         SHA256, 1, &text, &count),
	                KASP_ERR_INVAL);
	bad = e;
	bad.key = NULL;
	CU_ASSERT_EQUAL(kasp_export_cds("example.net.", &bad, 1, SHA256, 1, &cds, &cdnskey),
	                KASP_ERR_INVAL);

	/* Digest lists. */
	CU_ASSERT_EQUAL(kasp_export_cds("example.net.", &e, 1, SHA256, 0, &cds, &cdnskey),
	                KASP_ERR_EXPORT_DIGEST);
	CU_ASSERT_EQUAL(kasp_export_cds("example.net.", &e, 1, sha1, 1, &cds, &cdnskey),
	                KASP_ERR_EXPORT_DIGEST);
	CU_ASSERT_EQUAL(kasp_export_cds("example.net.", &e, 1, dup, 2, &cds, &cdnskey),
	                KASP_ERR_EXPORT_DIGEST);
	CU_ASSERT_EQUAL(kasp_export_trust_anchor("example.net.", KASP_EXPORT_UNBOUND, 1, &e, 1,
	                                         NULL, 0, &text, &count),
	                KASP_ERR_EXPORT_DIGEST);

	/* Names. */
	static const char *bad_names[] = {"",    "a..b.", ".example.", "example..",
	                                  "a\\", "a\\25", "a\\256.",   "x\\"};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		CU_ASSERT_EQUAL(kasp_export_cds(bad_names[i], &e, 1, SHA256, 1, &cds, &cdnskey),
		                KASP_ERR_EXPORT_NAME);
	}
	char name[300];
	memset(name, 'a', 63);
	name[63] = '\0';
	CU_ASSERT_EQUAL(kasp_export_cds(name, &e, 1, SHA256, 1, &cds, &cdnskey), KASP_OK);
	kasp_export_rrset_deinit(&cds);
	kasp_export_rrset_deinit(&cdnskey);
	cds = (kasp_export_rrset_t){(kasp_export_rdata_t *)0x1, 42};
	cdnskey = cds;
	memset(name, 'a', 64);
	name[64] = '\0';
	CU_ASSERT_EQUAL(kasp_export_cds(name, &e, 1, SHA256, 1, &cds, &cdnskey),
	                KASP_ERR_EXPORT_NAME);
	/* 253 characters (wire 255) fit; 254 do not. */
	for (size_t i = 0; i < 253; i++) {
		name[i] = (i % 2) ? '.' : 'a';
	}
	name[253] = '\0';
	CU_ASSERT_EQUAL(
	        kasp_export_ds_text(name, 1, &e, 1, KASP_EXPORT_PARENT, SHA256, 1, &text, &count),
	        KASP_OK);
	free(text);
	text = (char *)0x1;
	count = 42;
	strcpy(name + 253, ".");
	CU_ASSERT_EQUAL(
	        kasp_export_ds_text(name, 1, &e, 1, KASP_EXPORT_PARENT, SHA256, 1, &text, &count),
	        KASP_OK); /* the final dot adds nothing */
	free(text);
	text = (char *)0x1;
	count = 42;
	strcpy(name + 253, "a");
	CU_ASSERT_EQUAL(
	        kasp_export_ds_text(name, 1, &e, 1, KASP_EXPORT_PARENT, SHA256, 1, &text, &count),
	        KASP_ERR_EXPORT_NAME);
	/* Escapes: "\097" and "\a" are "a". */
	char *plain = NULL, *escaped = NULL;
	CU_ASSERT_EQUAL(kasp_export_ds_text("a.example.net.", 1, &e, 1, KASP_EXPORT_PARENT, SHA256,
	                                    1, &plain, NULL),
	                KASP_OK);
	CU_ASSERT_EQUAL(kasp_export_ds_text("\\097.ex\\ample.net.", 1, &e, 1, KASP_EXPORT_PARENT,
	                                    SHA256, 1, &escaped, NULL),
	                KASP_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
	CU_ASSERT_PTR_NOT_NULL_FATAL(escaped);
	CU_ASSERT_STRING_EQUAL(strstr(plain, " IN DS"), strstr(escaped, " IN DS"));
	free(plain);
	free(escaped);

	/* DNSKEY RDATA that is not the key's, or not usable. */
	mkkey(&revoked, KASP_ROLE_KSK, 257 | 0x80, 13, P256_KEY, KASP_OMNIPRESENT,
	      KASP_OMNIPRESENT);
	wrongtag = t;
	wrongtag.k.tag++;
	wrongalg = t;
	wrongalg.k.algorithm = 14;
	mkkey(&notzone, KASP_ROLE_KSK, 1, 13, P256_KEY, KASP_OMNIPRESENT, KASP_OMNIPRESENT);
	const tkey_t *bads[] = {&revoked, &wrongtag, &wrongalg, &notzone};
	for (size_t i = 0; i < 4; i++) {
		bad = ek(bads[i]);
		CU_ASSERT_EQUAL(kasp_export_cds("example.net.", &bad, 1, SHA256, 1, &cds, &cdnskey),
		                KASP_ERR_EXPORT_DNSKEY);
		CU_ASSERT_EQUAL(kasp_export_trust_anchor("example.net.", KASP_EXPORT_DNSKEY, 1,
		                                         &bad, 1, NULL, 0, &text, &count),
		                KASP_ERR_EXPORT_DNSKEY);
	}
	/* ...but a key outside the selection is not looked at. */
	wrongtag.k.state[KASP_DS] = KASP_HIDDEN;
	bad = ek(&wrongtag);
	CU_ASSERT_EQUAL(kasp_export_ds_text("example.net.", 1, &bad, 1, KASP_EXPORT_PARENT, SHA256,
	                                    1, &text, &count),
	                KASP_OK);
	CU_ASSERT_EQUAL(count, 0);
	free(text);
	text = (char *)0x1;
	count = 42;

	/* Nothing changed on any refusal. */
	CU_ASSERT(cds.rr == (kasp_export_rdata_t *)0x1 && cds.n == 42);
	CU_ASSERT(cdnskey.rr == (kasp_export_rdata_t *)0x1 && cdnskey.n == 42);
	CU_ASSERT(text == (char *)0x1 && count == 42);
	CU_ASSERT_STRING_EQUAL(kasp_strerror(KASP_ERR_EXPORT_DNSKEY),
	                       "DNSKEY RDATA malformed or not the key's");
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	CU_pSuite suite = CU_add_suite("kasp_export", NULL, NULL);
	CU_add_test(suite, "DS of the RFC 4034 key matches RFC 4509",
	            test_kasp_export_ds_matches_rfc4509);
	CU_add_test(suite, "DS of the ECDSA keys matches RFC 6605",
	            test_kasp_export_ds_matches_rfc6605);
	CU_add_test(suite, "CDS/CDNSKEY follow the DS states",
	            test_kasp_export_cds_follows_ds_states);
	CU_add_test(suite, "RFC 8078 delete records", test_kasp_export_delete_records_exact);
	CU_add_test(suite, "trust anchor formats", test_kasp_export_trust_anchor_formats_exact);
	CU_add_test(suite, "trust anchors accepted by unbound and BIND",
	            test_kasp_export_trust_anchors_accepted_by_validators);
	CU_add_test(suite, "REVOKE changes the key tag", test_kasp_export_revoke_changes_tag);
	CU_add_test(suite, "bad input refused, nothing changed",
	            test_kasp_export_refuses_bad_input);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return (int)failed;
}
