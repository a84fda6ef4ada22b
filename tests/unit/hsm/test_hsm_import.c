/*
 * Tests of hsm_import on a SoftHSM token: the RFC 8080 (Ed25519), RFC 5702
 * (RSASHA256, 512 bits) and RFC 6605 (ECDSAP256SHA256) keys, read from their
 * PEM and BIND files and imported, give the RFCs' DNSKEY, key tag, DS and
 * signatures (the RRSIG signed data is built here by hand, RFC 4034 3.1.8.1);
 * imported keys are sensitive, not extractable and not CKA_LOCAL; the
 * C_UnwrapKey path (AES key wrap with padding) works; refused inputs return
 * their exact status and leave the token as it was.
 */
#include "hsm/hsm_import.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "hsm/hsm_ctx.h"
#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_key.h"
#include "hsm/hsm_keyfile.h"
#include "hsm/hsm_session.h"
#include "hsm/hsm_sign.h"
#include "tests/support/testutil.h"
#include "tests/support/testutil_hsm.h"

#define TOKEN_LABEL "import"

#define TYPE_A  1
#define TYPE_MX 15

/* The context of the suite (made in main) and its one token. */
static hsm_ctx_t *ctx;
static hsm_token_t *token;
static const char *token_dir;

/* One RFC vector: its files, and the RRset of input.zone encoded by hand. */
typedef struct {
	const char *dir;
	const char *bind;   /* BIND private-key file */
	const char *dnskey; /* DNSKEY RR file */
	uint8_t alg;
	uint16_t keytag;
	bool deterministic;   /* RSA PKCS#1 v1.5 and Ed25519: same signature */
	bool has_ds;          /* expected-ds.txt exists */
	const char *input;    /* input.zone, which the fields below encode */
	const uint8_t *owner; /* owner of the RRset, canonical wire form */
	size_t owner_len;
	uint16_t type;
	const uint8_t *rdata; /* RDATA of its one RR, canonical form */
	size_t rdata_len;
} vector_t;

static const uint8_t example_com[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};
static const uint8_t www_example_net[] = {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm',
                                          'p', 'l', 'e', 3,   'n', 'e', 't', 0};
/* MX 10 mail.example.com. */
static const uint8_t mx_rdata[] = {0,   10,  4,   'm', 'a', 'i', 'l', 7,   'e', 'x',
                                   'a', 'm', 'p', 'l', 'e', 3,   'c', 'o', 'm', 0};
static const uint8_t a_rdata_91[] = {192, 0, 2, 91};
static const uint8_t a_rdata_1[] = {192, 0, 2, 1};

static const vector_t v_ed25519 = {
        .dir = "vectors/rfc8080-ed25519-key3613",
        .bind = "Kexample.com.+015+03613.private",
        .dnskey = "Kexample.com.+015+03613.key",
        .alg = HSM_ALG_ED25519,
        .keytag = 3613,
        .deterministic = true,
        .has_ds = true,
        .input = "example.com. 3600 IN MX 10 mail.example.com.",
        .owner = example_com,
        .owner_len = sizeof(example_com),
        .type = TYPE_MX,
        .rdata = mx_rdata,
        .rdata_len = sizeof(mx_rdata),
};

static const vector_t v_rsa = {
        .dir = "vectors/rfc5702-rsasha256-key9033",
        .bind = "Kexample.net.+008+09033.private",
        .dnskey = "Kexample.net.+008+09033.key",
        .alg = HSM_ALG_RSASHA256,
        .keytag = 9033,
        .deterministic = true,
        .has_ds = false,
        .input = "www.example.net. 3600 IN A 192.0.2.91",
        .owner = www_example_net,
        .owner_len = sizeof(www_example_net),
        .type = TYPE_A,
        .rdata = a_rdata_91,
        .rdata_len = sizeof(a_rdata_91),
};

static const vector_t v_p256 = {
        .dir = "vectors/rfc6605-ecdsap256sha256-key55648",
        .bind = "Kexample.net.+013+55648.private",
        .dnskey = "Kexample.net.+013+55648.key",
        .alg = HSM_ALG_ECDSAP256SHA256,
        .keytag = 55648,
        .deterministic = false,
        .has_ds = true,
        .input = "www.example.net. 3600 IN A 192.0.2.1",
        .owner = www_example_net,
        .owner_len = sizeof(www_example_net),
        .type = TYPE_A,
        .rdata = a_rdata_1,
        .rdata_len = sizeof(a_rdata_1),
};

/* What the vector's files say, decoded. */
typedef struct {
	uint8_t owner[256]; /* DNSKEY owner, wire form */
	size_t owner_len;
	uint16_t flags;
	uint8_t rdata[HSM_DNSKEY_PUBKEY_MAX + 4]; /* DNSKEY RDATA */
	size_t rdata_len;
	uint8_t ds[4][HSM_DS_RDATA_MAX]; /* DS RDATA, from expected-ds.txt */
	size_t ds_len[4];
	size_t nds;
	uint8_t data[1024]; /* RRSIG signed data */
	size_t data_len;
	uint8_t sig[HSM_SIG_MAX]; /* the RFC's signature */
	size_t sig_len;
} golden_t;

/* --- helpers --- */

static void print_failure(const char *what, int ret, const hsm_detail_t *d)
{
	char buf[256];

	if (ret != HSM_OK) {
		fprintf(stderr, "\n  %s: %s\n", what, hsm_detail_format(ret, d, buf, sizeof(buf)));
	}
}

/* A path in the shared test data (static storage, overwritten by the next
 * call). */
static const char *data_path(const char *dir, const char *file)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/%s/%s", testutil_testdata(), dir, file);
	return path;
}

/* Reads a whole file, NUL-terminated; NULL if it cannot be read. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL) {
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0) {
		rewind(f);
		buf = calloc(1, (size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* Base64 (no white space) to bytes; returns the length, 0 on error. */
static size_t unb64(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);
	int len;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap) {
		return 0;
	}
	len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (len <= 0) {
		return 0;
	}
	return (size_t)len - (s[n - 1] == '=') - (s[n - 2] == '=');
}

/* Hex to bytes; returns the length, 0 on error. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);

	if (n == 0 || n % 2 != 0 || n / 2 > cap) {
		return 0;
	}
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1) {
			return 0;
		}
		out[i] = (uint8_t)v;
	}
	return n / 2;
}

/* "www.Example.net." -> canonical wire form (lowercased). */
static size_t name_wire(const char *name, uint8_t *out)
{
	size_t o = 0;

	while (*name != '\0' && strcmp(name, ".") != 0) {
		const char *dot = strchr(name, '.');
		size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);

		out[o++] = (uint8_t)n;
		for (size_t i = 0; i < n; i++) {
			char c = name[i];

			out[o++] = (uint8_t)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		name += n + (dot != NULL);
	}
	out[o++] = 0;
	return o;
}

/* YYYYMMDDHHmmSS (UTC) to seconds since 1970, as RRSIG times are. */
static uint32_t rrsig_time(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	           &tm.tm_min, &tm.tm_sec) != 6) {
		return 0;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (uint32_t)timegm(&tm);
}

static uint8_t *put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/*
 * Loads the vector's expectations: the DNSKEY RDATA of the .key file, the DS
 * RDATA of expected-ds.txt, the RFC's signature, and the signed data of RFC
 * 4034 3.1.8.1: the RRSIG RDATA of expected-rrsig.txt without the signature,
 * then the one RR of input.zone (hand-encoded in v) with the original TTL.
 * Returns false (after a failed assertion) if a file does not parse.
 */
static bool load_golden(const vector_t *v, golden_t *g)
{
	char owner[256], tname[16], expire[16], incept[16], signer[256], b64[1024];
	unsigned ttl, flags, proto, alg, labels, orig_ttl, tag, dtype;
	uint8_t wire[256];
	uint8_t *p;
	char *text, *line, *save = NULL;
	int n;

	memset(g, 0, sizeof(*g));

	/* input.zone must still be what v encodes. */
	text = slurp(data_path(v->dir, "input.zone"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	text[strcspn(text, "\r\n")] = '\0';
	CU_ASSERT_STRING_EQUAL(text, v->input);
	free(text);

	/* The DNSKEY. */
	text = slurp(data_path(v->dir, v->dnskey));
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	n = sscanf(text, "%255s %u IN DNSKEY %u %u %u %1023s", owner, &ttl, &flags, &proto, &alg,
	           b64);
	free(text);
	CU_ASSERT_EQUAL_FATAL(n, 6);
	CU_ASSERT_EQUAL(proto, 3);
	CU_ASSERT_EQUAL_FATAL(alg, v->alg);
	g->owner_len = name_wire(owner, g->owner);
	g->flags = (uint16_t)flags;
	p = put16(g->rdata, flags);
	*p++ = 3;
	*p++ = (uint8_t)alg;
	g->rdata_len = 4 + unb64(b64, p, sizeof(g->rdata) - 4);
	CU_ASSERT_FATAL(g->rdata_len > 4);

	/* The DS records, if the RFC gives any. */
	text = slurp(data_path(v->dir, "expected-ds.txt"));
	CU_ASSERT_EQUAL_FATAL(text != NULL, v->has_ds);
	for (line = text != NULL ? strtok_r(text, "\n", &save) : NULL; line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char hex[256];
		size_t len;

		n = sscanf(line, "%255s %u IN DS %u %u %u %255s", owner, &ttl, &tag, &alg, &dtype,
		           hex);
		CU_ASSERT_EQUAL_FATAL(n, 6);
		CU_ASSERT_FATAL(g->nds < 4);
		CU_ASSERT_EQUAL(tag, v->keytag);
		CU_ASSERT_EQUAL(alg, v->alg);
		CU_ASSERT_EQUAL(name_wire(owner, wire), g->owner_len);
		CU_ASSERT_EQUAL(memcmp(wire, g->owner, g->owner_len), 0);
		p = put16(g->ds[g->nds], tag);
		*p++ = (uint8_t)alg;
		*p++ = (uint8_t)dtype;
		len = unhex(hex, p, sizeof(g->ds[0]) - 4);
		CU_ASSERT_FATAL(len > 0);
		g->ds_len[g->nds++] = 4 + len;
	}
	free(text);
	CU_ASSERT_EQUAL_FATAL(g->nds > 0, v->has_ds);

	/* The RRSIG. */
	text = slurp(data_path(v->dir, "expected-rrsig.txt"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	n = sscanf(text, "%255s %u IN RRSIG %15s %u %u %u %15s %15s %u %255s %1023s", owner, &ttl,
	           tname, &alg, &labels, &orig_ttl, expire, incept, &tag, signer, b64);
	free(text);
	CU_ASSERT_EQUAL_FATAL(n, 11);
	CU_ASSERT_EQUAL_FATAL(alg, v->alg);
	CU_ASSERT_EQUAL_FATAL(tag, v->keytag);
	CU_ASSERT_EQUAL_FATAL(strcmp(tname, v->type == TYPE_MX ? "MX" : "A"), 0);
	/* The hand-encoded owner is the RRSIG's owner. */
	CU_ASSERT_EQUAL_FATAL(name_wire(owner, wire), v->owner_len);
	CU_ASSERT_EQUAL_FATAL(memcmp(wire, v->owner, v->owner_len), 0);
	g->sig_len = unb64(b64, g->sig, sizeof(g->sig));
	CU_ASSERT_FATAL(g->sig_len > 0);

	p = g->data;
	p = put16(p, v->type);
	*p++ = (uint8_t)alg;
	*p++ = (uint8_t)labels;
	p = put32(p, orig_ttl);
	p = put32(p, rrsig_time(expire));
	p = put32(p, rrsig_time(incept));
	p = put16(p, tag);
	p += name_wire(signer, p);
	memcpy(p, v->owner, v->owner_len);
	p += v->owner_len;
	p = put16(p, v->type);
	p = put16(p, 1); /* IN */
	p = put32(p, orig_ttl);
	p = put16(p, (unsigned)v->rdata_len);
	memcpy(p, v->rdata, v->rdata_len);
	p += v->rdata_len;
	g->data_len = (size_t)(p - g->data);
	return true;
}

/* Private keys in the token, by hsm_key_list. */
static size_t count_keys(void)
{
	hsm_key_t *keys = NULL;
	size_t count = 0;
	hsm_detail_t d = {0};
	int ret = hsm_key_list(token, &keys, &count, &d);

	print_failure("hsm_key_list", ret, &d);
	CU_ASSERT_EQUAL(ret, HSM_OK);
	free(keys);
	return count;
}

/* The key's entry in hsm_key_list (false if it is not listed once). */
static bool listed(const hsm_key_t *key, hsm_key_t *out)
{
	hsm_key_t *keys = NULL;
	size_t count = 0, found = 0;

	CU_ASSERT_EQUAL_FATAL(hsm_key_list(token, &keys, &count, NULL), HSM_OK);
	for (size_t i = 0; i < count; i++) {
		if (keys[i].id_len == key->id_len &&
		    memcmp(keys[i].id, key->id, key->id_len) == 0) {
			*out = keys[i];
			found++;
		}
	}
	free(keys);
	return found == 1;
}

/* Counts every object a user session sees (both halves of every key). */
static CK_RV count_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                      const char **func)
{
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(s));
	size_t *count = arg;
	CK_OBJECT_HANDLE objs[16];
	CK_ULONG n = 0;
	CK_RV rv;

	(void)attempt;
	*count = 0;
	*func = "C_FindObjectsInit";
	rv = fn->C_FindObjectsInit(h, NULL, 0);
	if (rv != CKR_OK) {
		return rv;
	}
	*func = "C_FindObjects";
	while ((rv = fn->C_FindObjects(h, objs, 16, &n)) == CKR_OK && n > 0) {
		*count += n;
	}
	fn->C_FindObjectsFinal(h);
	return rv;
}

static size_t count_objects(void)
{
	hsm_session_t *s = NULL;
	size_t count = 0;

	CU_ASSERT_EQUAL_FATAL(hsm_session_acquire(token, &s, NULL), HSM_OK);
	CU_ASSERT_EQUAL(hsm_session_run(s, count_op, &count, NULL), HSM_OK);
	hsm_session_release(s);
	return count;
}

/* What the raw Cryptoki interface says about a key's two objects. */
typedef struct {
	const hsm_key_t *key;
	CK_ATTRIBUTE_TYPE secret[4]; /* private components to try to read */
	size_t nsecret;
	CK_RV secret_rv[4]; /* C_GetAttributeValue asking for the length */
	CK_ULONG secret_len[4];
	CK_RV secret_read_rv[4]; /* the same with a buffer */
	CK_ULONG npriv, npub;
	CK_BBOOL sensitive, extractable, local, always_sensitive, never_extractable, sign, decrypt,
	        unwrap, private_, on_token;
	CK_RV set_extractable_rv; /* trying to make it extractable */
	CK_BBOOL extractable_after;
	CK_BBOOL pub_local, pub_private;
} attrs_t;

static CK_RV find_by_id(CK_FUNCTION_LIST_PTR fn, CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls,
                        const hsm_key_t *key, CK_OBJECT_HANDLE *obj, CK_ULONG *n, const char **func)
{
	CK_ATTRIBUTE q[] = {
	        {CKA_CLASS, &cls, sizeof(cls)},
	        {CKA_ID, (void *)key->id, key->id_len},
	};
	CK_OBJECT_HANDLE objs[2];
	CK_RV rv;

	*func = "C_FindObjectsInit";
	rv = fn->C_FindObjectsInit(h, q, 2);
	if (rv != CKR_OK) {
		return rv;
	}
	*func = "C_FindObjects";
	rv = fn->C_FindObjects(h, objs, 2, n);
	fn->C_FindObjectsFinal(h);
	if (rv == CKR_OK && *n > 0) {
		*obj = objs[0];
	}
	return rv;
}

static CK_RV attrs_op(hsm_session_t *s, CK_SESSION_HANDLE h, void *arg, unsigned attempt,
                      const char **func)
{
	CK_FUNCTION_LIST_PTR fn = hsm_token_functions(hsm_session_token(s));
	attrs_t *a = arg;
	CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE, pub = CK_INVALID_HANDLE;
	CK_BBOOL yes = CK_TRUE;
	CK_RV rv;

	(void)attempt;
	rv = find_by_id(fn, h, CKO_PRIVATE_KEY, a->key, &priv, &a->npriv, func);
	if (rv != CKR_OK || a->npriv != 1) {
		return rv;
	}
	for (size_t i = 0; i < a->nsecret; i++) {
		uint8_t buf[1024];
		CK_ATTRIBUTE t = {a->secret[i], NULL, 0};
		CK_ATTRIBUTE r = {a->secret[i], buf, sizeof(buf)};

		a->secret_rv[i] = fn->C_GetAttributeValue(h, priv, &t, 1);
		a->secret_len[i] = t.ulValueLen;
		a->secret_read_rv[i] = fn->C_GetAttributeValue(h, priv, &r, 1);
	}
	CK_ATTRIBUTE flags[] = {
	        {CKA_SENSITIVE, &a->sensitive, sizeof(CK_BBOOL)},
	        {CKA_EXTRACTABLE, &a->extractable, sizeof(CK_BBOOL)},
	        {CKA_LOCAL, &a->local, sizeof(CK_BBOOL)},
	        {CKA_ALWAYS_SENSITIVE, &a->always_sensitive, sizeof(CK_BBOOL)},
	        {CKA_NEVER_EXTRACTABLE, &a->never_extractable, sizeof(CK_BBOOL)},
	        {CKA_SIGN, &a->sign, sizeof(CK_BBOOL)},
	        {CKA_DECRYPT, &a->decrypt, sizeof(CK_BBOOL)},
	        {CKA_UNWRAP, &a->unwrap, sizeof(CK_BBOOL)},
	        {CKA_PRIVATE, &a->private_, sizeof(CK_BBOOL)},
	        {CKA_TOKEN, &a->on_token, sizeof(CK_BBOOL)},
	};
	*func = "C_GetAttributeValue";
	rv = fn->C_GetAttributeValue(h, priv, flags, sizeof(flags) / sizeof(flags[0]));
	if (rv != CKR_OK) {
		return rv;
	}
	CK_ATTRIBUTE set = {CKA_EXTRACTABLE, &yes, sizeof(yes)};
	CK_ATTRIBUTE get = {CKA_EXTRACTABLE, &a->extractable_after, sizeof(CK_BBOOL)};
	a->set_extractable_rv = fn->C_SetAttributeValue(h, priv, &set, 1);
	rv = fn->C_GetAttributeValue(h, priv, &get, 1);
	if (rv != CKR_OK) {
		return rv;
	}
	rv = find_by_id(fn, h, CKO_PUBLIC_KEY, a->key, &pub, &a->npub, func);
	if (rv != CKR_OK || a->npub != 1) {
		return rv;
	}
	CK_ATTRIBUTE pflags[] = {
	        {CKA_LOCAL, &a->pub_local, sizeof(CK_BBOOL)},
	        {CKA_PRIVATE, &a->pub_private, sizeof(CK_BBOOL)},
	};
	*func = "C_GetAttributeValue";
	return fn->C_GetAttributeValue(h, pub, pflags, 2);
}

/*
 * The imported key as the token holds it: one private and one public object
 * under its CKA_ID, neither CKA_LOCAL; the private one sensitive, never
 * extractable (and not made so afterwards), sign-only, and its secret
 * components unreadable (CKR_ATTRIBUTE_SENSITIVE). hsm_key_list agrees.
 */
static void check_imported_flags(const hsm_key_t *key)
{
	hsm_session_t *s = NULL;
	hsm_detail_t d = {0};
	hsm_key_t entry;
	attrs_t a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.key = key;
	if (key->keytype == HSM_KEYTYPE_RSA) {
		a.secret[a.nsecret++] = CKA_PRIVATE_EXPONENT;
		a.secret[a.nsecret++] = CKA_PRIME_1;
		a.secret[a.nsecret++] = CKA_PRIME_2;
		a.secret[a.nsecret++] = CKA_COEFFICIENT;
	} else {
		a.secret[a.nsecret++] = CKA_VALUE;
	}
	CU_ASSERT_EQUAL_FATAL(hsm_session_acquire(token, &s, &d), HSM_OK);
	ret = hsm_session_run(s, attrs_op, &a, &d);
	hsm_session_release(s);
	print_failure("reading attributes", ret, &d);
	CU_ASSERT_EQUAL_FATAL(ret, HSM_OK);
	CU_ASSERT_EQUAL_FATAL(a.npriv, 1);
	for (size_t i = 0; i < a.nsecret; i++) {
		CU_ASSERT_EQUAL(a.secret_rv[i], CKR_ATTRIBUTE_SENSITIVE);
		CU_ASSERT_EQUAL(a.secret_len[i], CK_UNAVAILABLE_INFORMATION);
		CU_ASSERT_EQUAL(a.secret_read_rv[i], CKR_ATTRIBUTE_SENSITIVE);
	}
	CU_ASSERT_EQUAL(a.sensitive, CK_TRUE);
	CU_ASSERT_EQUAL(a.extractable, CK_FALSE);
	CU_ASSERT_EQUAL(a.local, CK_FALSE);
	/* The token knows the key was once outside it. */
	CU_ASSERT_EQUAL(a.always_sensitive, CK_FALSE);
	CU_ASSERT_EQUAL(a.never_extractable, CK_FALSE);
	CU_ASSERT_EQUAL(a.sign, CK_TRUE);
	CU_ASSERT_EQUAL(a.decrypt, CK_FALSE);
	CU_ASSERT_EQUAL(a.unwrap, CK_FALSE);
	CU_ASSERT_EQUAL(a.private_, CK_TRUE);
	CU_ASSERT_EQUAL(a.on_token, CK_TRUE);
	CU_ASSERT_NOT_EQUAL(a.set_extractable_rv, CKR_OK);
	CU_ASSERT_EQUAL(a.extractable_after, CK_FALSE);
	CU_ASSERT_EQUAL_FATAL(a.npub, 1);
	CU_ASSERT_EQUAL(a.pub_local, CK_FALSE);
	CU_ASSERT_EQUAL(a.pub_private, CK_FALSE);

	CU_ASSERT_FATAL(listed(key, &entry));
	CU_ASSERT_FALSE(entry.local);
	CU_ASSERT_TRUE(entry.has_public);
	CU_ASSERT_EQUAL(entry.keytype, key->keytype);
	CU_ASSERT_EQUAL(entry.bits, key->bits);
	CU_ASSERT_STRING_EQUAL(entry.label, key->label);
	CU_ASSERT_PTR_NOT_NULL(entry.alg);
	if (entry.alg != NULL && key->keytype != HSM_KEYTYPE_RSA) {
		CU_ASSERT_EQUAL(entry.alg->number, key->alg->number);
	}
}

/* The key's DNSKEY (with the .key file's flags), key tag and DS records are
 * the RFC's. DS digests the RFC does not give (SHA-384, and any for RSA) are
 * checked against OpenSSL's digest of owner || RDATA. */
static void check_dnskey(const vector_t *v, const golden_t *g, const hsm_key_t *key)
{
	uint8_t pub[HSM_DNSKEY_PUBKEY_MAX], rdata[HSM_DNSKEY_PUBKEY_MAX + 4];
	uint8_t ds[HSM_DS_RDATA_MAX], buf[512 + sizeof(rdata)];
	size_t pub_len = 0, rdata_len = 0, ds_len = 0;
	hsm_detail_t d = {0};
	int ret;

	ret = hsm_key_dnskey_pubkey(key, NULL, pub, sizeof(pub), &pub_len, &d);
	print_failure("hsm_key_dnskey_pubkey", ret, &d);
	CU_ASSERT_EQUAL_FATAL(ret, HSM_OK);
	CU_ASSERT_EQUAL_FATAL(
	        hsm_dnskey_rdata(g->flags, v->alg, pub, pub_len, rdata, sizeof(rdata), &rdata_len),
	        HSM_OK);
	CU_ASSERT_EQUAL_FATAL(rdata_len, g->rdata_len);
	CU_ASSERT_EQUAL(memcmp(rdata, g->rdata, rdata_len), 0);
	CU_ASSERT_EQUAL(hsm_dnskey_keytag(rdata, rdata_len), v->keytag);

	for (size_t i = 0; i < g->nds; i++) {
		uint8_t dtype = g->ds[i][3];

		CU_ASSERT_EQUAL(hsm_dnskey_ds(g->owner, g->owner_len, rdata, rdata_len, dtype, ds,
		                              sizeof(ds), &ds_len),
		                HSM_OK);
		CU_ASSERT_EQUAL(ds_len, g->ds_len[i]);
		CU_ASSERT_EQUAL(memcmp(ds, g->ds[i], g->ds_len[i]), 0);
	}

	static const struct {
		uint8_t type;
		const char *md;
	} digests[] = {{HSM_DS_SHA256, "SHA256"}, {HSM_DS_SHA384, "SHA384"}};
	for (size_t i = 0; i < sizeof(digests) / sizeof(digests[0]); i++) {
		uint8_t want[HSM_DS_RDATA_MAX];
		unsigned md_len = 0;

		memcpy(buf, g->owner, g->owner_len);
		memcpy(buf + g->owner_len, rdata, rdata_len);
		put16(want, v->keytag);
		want[2] = v->alg;
		want[3] = digests[i].type;
		CU_ASSERT_FATAL(EVP_Digest(buf, g->owner_len + rdata_len, want + 4, &md_len,
		                           EVP_get_digestbyname(digests[i].md), NULL) == 1);
		CU_ASSERT_EQUAL(hsm_dnskey_ds(g->owner, g->owner_len, rdata, rdata_len,
		                              digests[i].type, ds, sizeof(ds), &ds_len),
		                HSM_OK);
		CU_ASSERT_EQUAL(ds_len, 4 + md_len);
		CU_ASSERT_EQUAL(memcmp(ds, want, 4 + md_len), 0);
	}
}

/* Signs the vector's RRset with the key: Ed25519 and RSA give the RFC's
 * signature byte for byte; ECDSA gives another that verifies. The RFC's
 * signature verifies with the key's public key, and nothing verifies over
 * other data. */
static void check_signature(const vector_t *v, const golden_t *g, const hsm_key_t *key)
{
	uint8_t sig[HSM_SIG_MAX], sig2[HSM_SIG_MAX], data[sizeof(g->data)];
	size_t sig_len = 0, sig2_len = 0;
	hsm_session_t *s = NULL;
	hsm_detail_t d = {0};
	int ret;

	ret = hsm_session_acquire(key->token, &s, &d);
	print_failure("hsm_session_acquire", ret, &d);
	CU_ASSERT_EQUAL_FATAL(ret, HSM_OK);
	ret = hsm_sign(s, key, NULL, g->data, g->data_len, sig, sizeof(sig), &sig_len, &d);
	print_failure("hsm_sign", ret, &d);
	if (ret == HSM_OK) {
		ret = hsm_sign(s, key, NULL, g->data, g->data_len, sig2, sizeof(sig2), &sig2_len,
		               &d);
		print_failure("hsm_sign (again)", ret, &d);
	}
	hsm_session_release(s);
	CU_ASSERT_EQUAL_FATAL(ret, HSM_OK);

	CU_ASSERT_EQUAL_FATAL(sig_len, g->sig_len);
	CU_ASSERT_EQUAL_FATAL(sig2_len, g->sig_len);
	if (v->deterministic) {
		CU_ASSERT_EQUAL(memcmp(sig, g->sig, sig_len), 0);
		CU_ASSERT_EQUAL(memcmp(sig2, g->sig, sig_len), 0);
	} else {
		/* Random nonces: the RFC's, and each of ours, differ. */
		CU_ASSERT_NOT_EQUAL(memcmp(sig, g->sig, sig_len), 0);
		CU_ASSERT_NOT_EQUAL(memcmp(sig, sig2, sig_len), 0);
	}
	CU_ASSERT_EQUAL(testutil_hsm_verify(key, NULL, g->data, g->data_len, sig, sig_len), HSM_OK);
	CU_ASSERT_EQUAL(testutil_hsm_verify(key, NULL, g->data, g->data_len, sig2, sig2_len),
	                HSM_OK);
	CU_ASSERT_EQUAL(testutil_hsm_verify(key, NULL, g->data, g->data_len, g->sig, g->sig_len),
	                HSM_OK);
	memcpy(data, g->data, g->data_len);
	data[g->data_len - 1] ^= 0x01; /* last byte of the RDATA */
	CU_ASSERT_EQUAL(testutil_hsm_verify(key, NULL, data, g->data_len, sig, sig_len),
	                HSM_ERR_VERIFY);
	CU_ASSERT_EQUAL(testutil_hsm_verify(key, NULL, data, g->data_len, g->sig, g->sig_len),
	                HSM_ERR_VERIFY);
}

/*
 * Reads file of vector v (hsm_keyfile_read, the algorithm from the file),
 * imports it with label and mode, and checks everything above; then deletes
 * the key. The token gains exactly one key (two objects) meanwhile.
 */
static void import_vector(const vector_t *v, const char *file, const char *label,
                          hsm_import_mode_t mode)
{
	const hsm_alg_t *alg = NULL;
	EVP_PKEY *pkey = NULL;
	hsm_detail_t d = {0};
	hsm_key_t key;
	golden_t g;
	size_t keys_before, objs_before;
	int ret;

	if (!load_golden(v, &g)) {
		return;
	}
	ret = hsm_keyfile_read(data_path(v->dir, file), NULL, &pkey, &alg, &d);
	print_failure("hsm_keyfile_read", ret, &d);
	CU_ASSERT_EQUAL_FATAL(ret, HSM_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(alg);
	CU_ASSERT_EQUAL_FATAL(alg->number, v->alg);

	keys_before = count_keys();
	objs_before = count_objects();
	memset(&key, 0, sizeof(key));
	ret = hsm_import(token, alg, pkey, label, mode, &key, &d);
	EVP_PKEY_free(pkey);
	print_failure("hsm_import", ret, &d);
	CU_ASSERT_EQUAL_FATAL(ret, HSM_OK);
	CU_ASSERT_EQUAL(count_keys(), keys_before + 1);
	CU_ASSERT_EQUAL(count_objects(), objs_before + 2);

	CU_ASSERT_PTR_EQUAL(key.token, token);
	CU_ASSERT_EQUAL(key.id_len, HSM_KEY_ID_LEN);
	CU_ASSERT_STRING_EQUAL(key.label, label);
	CU_ASSERT_EQUAL(key.keytype, alg->keytype);
	CU_ASSERT_PTR_EQUAL(key.alg, alg);
	CU_ASSERT_EQUAL(key.bits, v->alg == HSM_ALG_RSASHA256 ? 512 : alg->default_bits);
	CU_ASSERT_FALSE(key.local);
	CU_ASSERT_TRUE(key.has_public);

	check_imported_flags(&key);
	check_dnskey(v, &g, &key);
	check_signature(v, &g, &key);

	CU_ASSERT_EQUAL(hsm_key_delete(&key, NULL), HSM_OK);
	CU_ASSERT_EQUAL(count_keys(), keys_before);
	CU_ASSERT_EQUAL(count_objects(), objs_before);
}

/* Fills a key with a pattern, to see that a failed call leaves it alone. */
static void poison(hsm_key_t *key)
{
	memset(key, 0xA5, sizeof(*key));
}

static bool poisoned(const hsm_key_t *key)
{
	hsm_key_t p;

	poison(&p);
	return memcmp(key, &p, sizeof(p)) == 0;
}

/* --- golden vectors --- */

static void test_hsm_import_rfc8080_ed25519_pem(void)
{
	import_vector(&v_ed25519, "private.pem", "rfc8080-pem", HSM_IMPORT_AUTO);
}

static void test_hsm_import_rfc8080_ed25519_bind(void)
{
	import_vector(&v_ed25519, v_ed25519.bind, "rfc8080-bind", HSM_IMPORT_AUTO);
}

static void test_hsm_import_rfc5702_rsasha256_pem(void)
{
	import_vector(&v_rsa, "private.pem", "rfc5702-pem", HSM_IMPORT_AUTO);
}

static void test_hsm_import_rfc5702_rsasha256_bind(void)
{
	import_vector(&v_rsa, v_rsa.bind, "rfc5702-bind", HSM_IMPORT_AUTO);
}

static void test_hsm_import_rfc6605_ecdsap256sha256_pem(void)
{
	import_vector(&v_p256, "private.pem", "rfc6605-pem", HSM_IMPORT_AUTO);
}

static void test_hsm_import_rfc6605_ecdsap256sha256_bind(void)
{
	import_vector(&v_p256, v_p256.bind, "rfc6605-bind", HSM_IMPORT_AUTO);
}

static void test_hsm_import_create_mode_gives_the_same_key(void)
{
	import_vector(&v_ed25519, "private.pem", "create-ed25519", HSM_IMPORT_CREATE);
	import_vector(&v_p256, v_p256.bind, "create-p256", HSM_IMPORT_CREATE);
}

/* --- the unwrap path --- */

static void test_hsm_import_unwrap_rfc6605_ecdsap256sha256(void)
{
	import_vector(&v_p256, "private.pem", "unwrap-p256", HSM_IMPORT_UNWRAP);
}

static void test_hsm_import_unwrap_rfc5702_rsasha256(void)
{
	import_vector(&v_rsa, v_rsa.bind, "unwrap-rsa", HSM_IMPORT_UNWRAP);
}

/* SoftHSM before 2.7 (PR #594) cannot unwrap Edwards keys: C_UnwrapKey
 * fails there, and then nothing may be left behind (neither half of the key
 * nor the one-time wrapping key). Where it can, the key is the RFC's. */
static void test_hsm_import_unwrap_rfc8080_ed25519(void)
{
	const hsm_alg_t *alg = NULL;
	EVP_PKEY *pkey = NULL;
	hsm_detail_t d = {0};
	hsm_key_t key;
	size_t keys_before = count_keys(), objs_before = count_objects();
	int ret;

	CU_ASSERT_EQUAL_FATAL(
	        hsm_keyfile_read(data_path(v_ed25519.dir, v_ed25519.bind), NULL, &pkey, &alg, NULL),
	        HSM_OK);
	poison(&key);
	ret = hsm_import(token, alg, pkey, "unwrap-ed25519-probe", HSM_IMPORT_UNWRAP, &key, &d);
	EVP_PKEY_free(pkey);
	if (ret == HSM_OK) {
		CU_ASSERT_EQUAL(hsm_key_delete(&key, NULL), HSM_OK);
		import_vector(&v_ed25519, v_ed25519.bind, "unwrap-ed25519", HSM_IMPORT_UNWRAP);
	} else {
		fprintf(stderr, "(this SoftHSM cannot unwrap Ed25519: C_UnwrapKey %s) ",
		        hsm_rv_name(d.rv));
		CU_ASSERT_EQUAL(ret, HSM_ERR_CKR);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d.func);
		CU_ASSERT_STRING_EQUAL(d.func, "C_UnwrapKey");
		CU_ASSERT_TRUE(poisoned(&key));
	}
	CU_ASSERT_EQUAL(count_keys(), keys_before);
	CU_ASSERT_EQUAL(count_objects(), objs_before);
}

/* --- imported versus generated --- */

/* Three imported keys and one generated key side by side: the listing tells
 * them apart by CKA_LOCAL. */
static void test_hsm_import_keys_listed_as_not_local(void)
{
	static const vector_t *const vs[] = {&v_ed25519, &v_rsa, &v_p256};
	hsm_key_t keys[3], gen, entry;
	size_t before = count_keys();

	for (size_t i = 0; i < 3; i++) {
		const hsm_alg_t *alg = NULL;
		EVP_PKEY *pkey = NULL;
		char label[32];

		snprintf(label, sizeof(label), "listed-%u", (unsigned)vs[i]->alg);
		CU_ASSERT_EQUAL_FATAL(hsm_keyfile_read(data_path(vs[i]->dir, vs[i]->bind), NULL,
		                                       &pkey, &alg, NULL),
		                      HSM_OK);
		CU_ASSERT_EQUAL_FATAL(
		        hsm_import(token, alg, pkey, label, HSM_IMPORT_AUTO, &keys[i], NULL),
		        HSM_OK);
		EVP_PKEY_free(pkey);
	}
	CU_ASSERT_EQUAL_FATAL(hsm_key_generate(token, hsm_alg_by_number(HSM_ALG_ECDSAP256SHA256), 0,
	                                       "listed-generated", &gen, NULL),
	                      HSM_OK);
	CU_ASSERT_EQUAL(count_keys(), before + 4);

	for (size_t i = 0; i < 3; i++) {
		CU_ASSERT_FALSE(keys[i].local);
		CU_ASSERT_FATAL(listed(&keys[i], &entry));
		CU_ASSERT_FALSE(entry.local);
		CU_ASSERT_STRING_EQUAL(entry.label, keys[i].label);
		check_imported_flags(&keys[i]);
	}
	CU_ASSERT_FATAL(listed(&gen, &entry));
	CU_ASSERT_TRUE(entry.local);

	for (size_t i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(hsm_key_delete(&keys[i], NULL), HSM_OK);
	}
	CU_ASSERT_EQUAL(hsm_key_delete(&gen, NULL), HSM_OK);
	CU_ASSERT_EQUAL(count_keys(), before);
}

/* --- refused inputs --- */

static const hsm_import_mode_t modes[] = {HSM_IMPORT_AUTO, HSM_IMPORT_CREATE, HSM_IMPORT_UNWRAP};

/* hsm_import with every mode returns want, leaves out alone, and creates
 * nothing. */
static void import_refused(const hsm_alg_t *alg, EVP_PKEY *pkey, const char *label, int want)
{
	size_t keys_before = count_keys(), objs_before = count_objects();

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		hsm_detail_t d = {0};
		hsm_key_t key;

		poison(&key);
		CU_ASSERT_EQUAL(hsm_import(token, alg, pkey, label, modes[i], &key, &d), want);
		CU_ASSERT_TRUE(poisoned(&key));
		CU_ASSERT_NOT_EQUAL(d.text[0], '\0'); /* the reason is given */
	}
	CU_ASSERT_EQUAL(count_keys(), keys_before);
	CU_ASSERT_EQUAL(count_objects(), objs_before);
}

/* hsm_keyfile_read returns want and leaves its out-params alone. */
static void keyfile_refused(const char *path, const hsm_alg_t *alg, int want)
{
	static const hsm_alg_t sentinel;
	const hsm_alg_t *alg_out = &sentinel;
	EVP_PKEY *pkey = NULL;
	hsm_detail_t d = {0};

	CU_ASSERT_EQUAL(hsm_keyfile_read(path, alg, &pkey, &alg_out, &d), want);
	CU_ASSERT_PTR_NULL(pkey);
	CU_ASSERT_PTR_EQUAL(alg_out, &sentinel);
	CU_ASSERT_NOT_EQUAL(d.text[0], '\0');
	EVP_PKEY_free(pkey);
}

/* The Ed25519 key asked for as ECDSAP256SHA256: both hsm_keyfile_read (the
 * algorithm given must agree with the key) and hsm_import (pkey does not fit
 * alg) say HSM_ERR_ALGORITHM. */
static void test_hsm_import_ed25519_key_as_ecdsap256sha256_is_refused(void)
{
	const hsm_alg_t *p256 = hsm_alg_by_number(HSM_ALG_ECDSAP256SHA256);
	const hsm_alg_t *alg = NULL;
	EVP_PKEY *pkey = NULL;
	size_t keys_before = count_keys();

	keyfile_refused(data_path(v_ed25519.dir, v_ed25519.bind), p256, HSM_ERR_ALGORITHM);
	keyfile_refused(data_path(v_ed25519.dir, "private.pem"), p256, HSM_ERR_ALGORITHM);

	CU_ASSERT_EQUAL_FATAL(
	        hsm_keyfile_read(data_path(v_ed25519.dir, "private.pem"), NULL, &pkey, &alg, NULL),
	        HSM_OK);
	CU_ASSERT_EQUAL(alg->number, HSM_ALG_ED25519);
	import_refused(p256, pkey, "ed25519-as-p256", HSM_ERR_ALGORITHM);
	EVP_PKEY_free(pkey);
	CU_ASSERT_EQUAL(count_keys(), keys_before);
}

/* Every other key/algorithm mismatch among the vectors' keys. */
static void test_hsm_import_key_of_another_algorithm_is_refused(void)
{
	static const vector_t *const vs[] = {&v_ed25519, &v_rsa, &v_p256};
	static const uint8_t algs[] = {HSM_ALG_RSASHA256,       HSM_ALG_RSASHA512,
	                               HSM_ALG_ECDSAP256SHA256, HSM_ALG_ECDSAP384SHA384,
	                               HSM_ALG_ED25519,         HSM_ALG_ED448};

	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
		const hsm_alg_t *alg = NULL;
		EVP_PKEY *pkey = NULL;

		CU_ASSERT_EQUAL_FATAL(hsm_keyfile_read(data_path(vs[i]->dir, "private.pem"), NULL,
		                                       &pkey, &alg, NULL),
		                      HSM_OK);
		for (size_t j = 0; j < sizeof(algs) / sizeof(algs[0]); j++) {
			const hsm_alg_t *other = hsm_alg_by_number(algs[j]);
			bool fits = other != NULL && other->keytype == alg->keytype &&
			            (other->keytype == HSM_KEYTYPE_RSA || other == alg);

			if (other == NULL || fits) {
				continue; /* the same key type and curve: a fit */
			}
			import_refused(other, pkey, "mismatch", HSM_ERR_ALGORITHM);
		}
		EVP_PKEY_free(pkey);
	}
}

/* An RSA key from components in hex (e, d and the CRT values may be NULL:
 * a public modulus with a made-up exponent is enough for size checks). */
static EVP_PKEY *rsa_from_hex(const char *const hex[8])
{
	static const char *const names[8] = {
	        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
	        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
	        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
	        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	OSSL_PARAM *params = NULL;
	BIGNUM *bn[8] = {NULL};
	EVP_PKEY *pkey = NULL;
	bool ok = bld != NULL && pctx != NULL;

	for (size_t i = 0; i < 8 && ok; i++) {
		if (hex[i] != NULL) {
			ok = BN_hex2bn(&bn[i], hex[i]) > 0 &&
			     OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]) == 1;
		}
	}
	if (ok) {
		params = OSSL_PARAM_BLD_to_param(bld);
		ok = params != NULL && EVP_PKEY_fromdata_init(pctx) == 1 &&
		     EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_KEYPAIR, params) == 1;
	}
	OSSL_PARAM_free(params);
	for (size_t i = 0; i < 8; i++) {
		BN_clear_free(bn[i]);
	}
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_BLD_free(bld);
	return ok ? pkey : NULL;
}

/* A real 256-bit RSA key (p and q of 128 bits; OpenSSL 3 no longer
 * generates keys below 512 bits). */
static const char *const rsa256[8] = {
        "be403a3af8b54d4754c24118bfeeb9316205af4a88051dfee84e2fc89bc591f1",
        "010001",
        "6cafc4946c012764d8c720e942bcde8e9af683377e72877a81df814fda28d001",
        "ce4e0300c53fceb36db26337a6df88e9",
        "ec143d424f648ee0a390d64eb0ae9bc9",
        "c3df5f8c88ba9736d66ceb34b8743d99",
        "8ecca74966f0b2a41b0c4f358615f851",
        "076ae44fbade77a2a744b281b537723b",
};

/* Writes text into the token directory; returns the path (static). */
static const char *write_tmp(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", token_dir, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT(fputs(text, f) >= 0);
	CU_ASSERT_EQUAL(fclose(f), 0);
	return path;
}

/* The 256-bit key as a BIND private-key file. */
static void rsa256_bind(char *out, size_t cap)
{
	static const char *const fields[8] = {
	        "Modulus", "PublicExponent", "PrivateExponent", "Prime1",
	        "Prime2",  "Exponent1",      "Exponent2",       "Coefficient",
	};
	size_t off = (size_t)snprintf(out, cap,
	                              "Private-key-format: v1.3\n"
	                              "Algorithm: 8 (RSASHA256)\n");

	for (size_t i = 0; i < 8; i++) {
		uint8_t bin[64];
		char b64[128];
		BIGNUM *bn = NULL;
		int len;

		CU_ASSERT_FATAL(BN_hex2bn(&bn, rsa256[i]) > 0);
		len = BN_bn2bin(bn, bin);
		BN_free(bn);
		EVP_EncodeBlock((unsigned char *)b64, bin, len);
		off += (size_t)snprintf(out + off, cap - off, "%s: %s\n", fields[i], b64);
		CU_ASSERT_FATAL(off < cap);
	}
}

/* RSA below 512 or above 4096 bits: HSM_ERR_KEY_TYPE from hsm_import, and
 * hsm_keyfile_read refuses such files too (with HSM_ERR_KEY_TYPE). */
static void test_hsm_import_rsa_outside_512_to_4096_bits_is_refused(void)
{
	const hsm_alg_t *rsasha256 = hsm_alg_by_number(HSM_ALG_RSASHA256);
	char modulus[8192 / 4 + 1], bind[2048];
	EVP_PKEY *pkey = rsa_from_hex(rsa256);
	size_t keys_before = count_keys();

	CU_ASSERT_PTR_NOT_NULL_FATAL(pkey);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(pkey), 256);
	import_refused(rsasha256, pkey, "rsa-256", HSM_ERR_KEY_TYPE);

	/* The same key in files: PKCS#8 PEM and BIND. */
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long pem_len;
	CU_ASSERT_PTR_NOT_NULL_FATAL(bio);
	CU_ASSERT_EQUAL(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
	pem_len = BIO_get_mem_data(bio, &pem);
	CU_ASSERT_FATAL(pem_len > 0 && (size_t)pem_len < sizeof(bind));
	memcpy(bind, pem, (size_t)pem_len);
	bind[pem_len] = '\0';
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	keyfile_refused(write_tmp("rsa256.pem", bind), NULL, HSM_ERR_KEY_TYPE);
	keyfile_refused(write_tmp("rsa256.pem", bind), rsasha256, HSM_ERR_KEY_TYPE);
	rsa256_bind(bind, sizeof(bind));
	keyfile_refused(write_tmp("rsa256.private", bind), NULL, HSM_ERR_KEY_TYPE);

	/* Just outside the bounds: 511 and 4097 bits (modulus only, n = 2^(b-1)
	 * + 1 with a made-up private exponent: the size is checked first). */
	static const unsigned sizes[] = {511, 4097, 8192};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned bits = sizes[i];
		const char *hex[8] = {modulus, "010001", "03"};
		size_t digits = (bits + 3) / 4;

		CU_ASSERT_FATAL(digits < sizeof(modulus));
		memset(modulus, '0', digits);
		modulus[0] = "1248"[(bits - 1) % 4];
		modulus[digits - 1] = '1';
		modulus[digits] = '\0';
		pkey = rsa_from_hex(hex);
		CU_ASSERT_PTR_NOT_NULL_FATAL(pkey);
		CU_ASSERT_EQUAL(EVP_PKEY_get_bits(pkey), (int)bits);
		import_refused(rsasha256, pkey, "rsa-size", HSM_ERR_KEY_TYPE);
		EVP_PKEY_free(pkey);
	}
	CU_ASSERT_EQUAL(count_keys(), keys_before);
}

/* Labels: 200 bytes, 128 bytes (no room for the NUL) and NULL are
 * HSM_ERR_INVAL; 127 bytes is the longest accepted, and kept whole. */
static void test_hsm_import_label_of_200_bytes_is_refused(void)
{
	char label[201];
	const hsm_alg_t *alg = NULL;
	EVP_PKEY *pkey = NULL;
	hsm_key_t key, entry;
	size_t keys_before = count_keys();

	CU_ASSERT_EQUAL_FATAL(
	        hsm_keyfile_read(data_path(v_p256.dir, v_p256.bind), NULL, &pkey, &alg, NULL),
	        HSM_OK);
	memset(label, 'l', 200);
	label[200] = '\0';
	import_refused(alg, pkey, label, HSM_ERR_INVAL);
	label[HSM_KEY_LABEL_MAX] = '\0';
	import_refused(alg, pkey, label, HSM_ERR_INVAL);
	import_refused(alg, pkey, NULL, HSM_ERR_INVAL);
	CU_ASSERT_EQUAL(count_keys(), keys_before);

	label[HSM_KEY_LABEL_MAX - 1] = '\0';
	CU_ASSERT_EQUAL_FATAL(hsm_import(token, alg, pkey, label, HSM_IMPORT_AUTO, &key, NULL),
	                      HSM_OK);
	CU_ASSERT_STRING_EQUAL(key.label, label);
	CU_ASSERT_FATAL(listed(&key, &entry));
	CU_ASSERT_STRING_EQUAL(entry.label, label);
	CU_ASSERT_EQUAL(hsm_key_delete(&key, NULL), HSM_OK);
	CU_ASSERT_EQUAL(count_keys(), keys_before);
	EVP_PKEY_free(pkey);
}

static const testutil_case_t cases[] = {
        {"rfc8080_ed25519_pem", test_hsm_import_rfc8080_ed25519_pem},
        {"rfc8080_ed25519_bind", test_hsm_import_rfc8080_ed25519_bind},
        {"rfc5702_rsasha256_pem", test_hsm_import_rfc5702_rsasha256_pem},
        {"rfc5702_rsasha256_bind", test_hsm_import_rfc5702_rsasha256_bind},
        {"rfc6605_ecdsap256sha256_pem", test_hsm_import_rfc6605_ecdsap256sha256_pem},
        {"rfc6605_ecdsap256sha256_bind", test_hsm_import_rfc6605_ecdsap256sha256_bind},
        {"create_mode_gives_the_same_key", test_hsm_import_create_mode_gives_the_same_key},
        {"unwrap_rfc6605_ecdsap256sha256", test_hsm_import_unwrap_rfc6605_ecdsap256sha256},
        {"unwrap_rfc5702_rsasha256", test_hsm_import_unwrap_rfc5702_rsasha256},
        {"unwrap_rfc8080_ed25519", test_hsm_import_unwrap_rfc8080_ed25519},
        {"keys_listed_as_not_local", test_hsm_import_keys_listed_as_not_local},
        {"ed25519_key_as_ecdsap256sha256_is_refused",
         test_hsm_import_ed25519_key_as_ecdsap256sha256_is_refused},
        {"key_of_another_algorithm_is_refused",
         test_hsm_import_key_of_another_algorithm_is_refused},
        {"rsa_outside_512_to_4096_bits_is_refused",
         test_hsm_import_rsa_outside_512_to_4096_bits_is_refused},
        {"label_of_200_bytes_is_refused", test_hsm_import_label_of_200_bytes_is_refused},
        {NULL, NULL},
};

int main(void)
{
	static const char *const labels[] = {TOKEN_LABEL};
	int failed;

	token_dir = testutil_token_create(labels, 1);
	ctx = testutil_hsm_ctx(TOKEN_LABEL, NULL, 0);
	token = hsm_ctx_token(ctx, "main");
	if (token == NULL) {
		fprintf(stderr, "no token \"main\"\n");
		return 1;
	}
	failed = testutil_run("hsm_import", cases);
	hsm_ctx_free(ctx);
	testutil_token_cleanup();
	return failed;
}
