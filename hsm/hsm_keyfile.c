#include "hsm/hsm_keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#define KEYFILE_MAX  (64 * 1024) /* bytes; a 4096-bit BIND RSA file is about 3 KiB */
#define RSA_MIN_BITS 512
#define RSA_MAX_BITS 4096

#define BIND_FORMAT "Private-key-format:"

/* The BIND fields we read; others (Created:, Publish:, ...) are skipped. */
enum {
	F_ALGORITHM,
	F_MODULUS,
	F_PUBLIC_EXPONENT,
	F_PRIVATE_EXPONENT,
	F_PRIME1,
	F_PRIME2,
	F_EXPONENT1,
	F_EXPONENT2,
	F_COEFFICIENT,
	F_PRIVATE_KEY,
	F_COUNT,
};

static const char *const field_names[F_COUNT] = {
        "Algorithm", "Modulus",   "PublicExponent", "PrivateExponent", "Prime1",
        "Prime2",    "Exponent1", "Exponent2",      "Coefficient",     "PrivateKey",
};

typedef struct {
	unsigned line;    /* 0 if the field is absent */
	const char *text; /* Algorithm: the value, inside the file buffer */
	uint8_t *data;    /* other fields: the decoded value (OPENSSL_malloc) */
	size_t len;
} field_t;

/* One BIND file being parsed; the file buffer and fields die with it. */
typedef struct {
	const char *path;
	hsm_detail_t *detail;
	field_t f[F_COUNT];
} bind_t;

/* Sets detail to "path:line: reason" (line 0: "path: reason"). */
static void __attribute__((format(printf, 4, 5)))
fail_text(hsm_detail_t *detail, const char *path, unsigned line, const char *fmt, ...)
{
	char reason[sizeof(detail->text)];
	va_list ap;

	if (detail == NULL) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (line > 0) {
		hsm_detail_text(detail, "%s:%u: %s", path, line, reason);
	} else {
		hsm_detail_text(detail, "%s: %s", path, reason);
	}
}

/* Reads a whole (small, regular) file into a NUL-terminated OPENSSL_malloc
 * buffer, with no stdio buffer holding a copy of the key. */
static int read_file(const char *path, char **out, size_t *out_len, hsm_detail_t *detail)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		hsm_detail_text(detail, "cannot open %s", path);
		return ret;
	}
	if (fstat(fd, &st) != 0) {
		ret = -errno;
		hsm_detail_text(detail, "cannot stat %s", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = HSM_ERR_KEYFILE;
		fail_text(detail, path, 0, "not a regular file");
		goto fail;
	}
	buf = OPENSSL_malloc(KEYFILE_MAX + 1);
	if (buf == NULL) {
		ret = HSM_ERR_NOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, KEYFILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			ret = -errno;
			hsm_detail_text(detail, "cannot read %s", path);
			goto fail;
		}
		if (n == 0) {
			break;
		}
		len += (size_t)n;
		if (len > KEYFILE_MAX) {
			ret = HSM_ERR_KEYFILE;
			fail_text(detail, path, 0, "larger than %d bytes: not a key file",
			          KEYFILE_MAX);
			goto fail;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL;
	ret = HSM_OK;
fail:
	if (buf != NULL) {
		OPENSSL_clear_free(buf, len);
	}
	close(fd);
	return ret;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	if (c == '+') {
		return 62;
	}
	if (c == '/') {
		return 63;
	}
	return -1;
}

/* Strict base64 (RFC 4648: padded, no whitespace, not empty) into a new
 * OPENSSL_malloc buffer. Returns false if s is not that. */
static bool b64_decode(const char *s, uint8_t **out, size_t *out_len)
{
	size_t n = strlen(s), pad = 0, len, o = 0;
	uint8_t *buf;

	if (n == 0 || n % 4 != 0) {
		return false;
	}
	if (s[n - 1] == '=') {
		pad = s[n - 2] == '=' ? 2 : 1;
	}
	len = n / 4 * 3 - pad;
	if (len == 0) {
		return false;
	}
	buf = OPENSSL_malloc(len);
	if (buf == NULL) {
		return false;
	}
	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		uint32_t acc = 0;

		for (size_t j = 0; j < 4; j++) {
			int v = (last && j >= 4 - pad) ? 0 : b64_value(s[i + j]);

			if (v < 0) {
				OPENSSL_clear_free(buf, len);
				return false;
			}
			acc = (acc << 6) | (uint32_t)v;
		}
		for (size_t j = 0; j < 3 && o < len; j++) {
			buf[o++] = (uint8_t)(acc >> (16 - 8 * j));
		}
		OPENSSL_cleanse(&acc, sizeof(acc));
	}
	*out = buf;
	*out_len = len;
	return true;
}

/* Trims blanks (and a CR) at both ends in place. */
static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t') {
		s++;
	}
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
		s[--n] = '\0';
	}
	return s;
}

/* Parses "Field: value" lines into b->f. buf is modified in place. */
static int bind_parse(bind_t *b, char *buf)
{
	bool seen_format = false;
	unsigned line = 0;

	for (char *p = buf, *next; p != NULL; p = next) {
		char *name, *value, *colon;
		int idx = -1;

		line++;
		next = strchr(p, '\n');
		if (next != NULL) {
			*next++ = '\0';
		}
		name = trim(p);
		if (*name == '\0') {
			continue;
		}
		colon = strchr(name, ':');
		if (colon == NULL) {
			fail_text(b->detail, b->path, line, "expected 'Field: value'");
			return HSM_ERR_KEYFILE;
		}
		*colon = '\0';
		name = trim(name);
		value = trim(colon + 1);
		if (!seen_format) {
			/* bind_detect() saw this line first. */
			if (strcmp(value, "v1.2") != 0 && strcmp(value, "v1.3") != 0) {
				fail_text(b->detail, b->path, line,
				          "unsupported Private-key-format %.16s (not v1.2 or v1.3)",
				          value);
				return HSM_ERR_KEYFILE;
			}
			seen_format = true;
			continue;
		}
		for (int i = 0; i < F_COUNT; i++) {
			if (strcasecmp(name, field_names[i]) == 0) {
				idx = i;
				break;
			}
		}
		if (idx < 0) {
			continue;
		}
		if (b->f[idx].line != 0) {
			fail_text(b->detail, b->path, line, "%s repeated (first on line %u)",
			          field_names[idx], b->f[idx].line);
			return HSM_ERR_KEYFILE;
		}
		if (idx == F_ALGORITHM) {
			b->f[idx].text = value;
		} else if (!b64_decode(value, &b->f[idx].data, &b->f[idx].len)) {
			fail_text(b->detail, b->path, line, "%s is not valid base64",
			          field_names[idx]);
			return HSM_ERR_KEYFILE;
		}
		b->f[idx].line = line;
	}
	return HSM_OK;
}

/* True if the first non-blank text of buf is the BIND format line. */
static bool bind_detect(const char *buf)
{
	while (*buf == ' ' || *buf == '\t' || *buf == '\r' || *buf == '\n') {
		buf++;
	}
	return strncmp(buf, BIND_FORMAT, strlen(BIND_FORMAT)) == 0;
}

static const field_t *bind_need(bind_t *b, int idx)
{
	if (b->f[idx].line == 0) {
		fail_text(b->detail, b->path, 0, "missing field %s", field_names[idx]);
		return NULL;
	}
	return &b->f[idx];
}

/* Parses "13 (ECDSAP256SHA256)" and checks it against want (may be NULL). */
static int bind_alg(bind_t *b, const hsm_alg_t *want, const hsm_alg_t **out)
{
	const field_t *f = bind_need(b, F_ALGORITHM);
	const hsm_alg_t *a;
	unsigned long number;
	char *end;

	if (f == NULL) {
		return HSM_ERR_KEYFILE;
	}
	errno = 0;
	number = strtoul(f->text, &end, 10);
	if (f->text[0] < '0' || f->text[0] > '9' || errno != 0 ||
	    (*end != '\0' && *end != ' ' && *end != '\t')) {
		fail_text(b->detail, b->path, f->line, "malformed Algorithm '%.16s'", f->text);
		return HSM_ERR_KEYFILE;
	}
	a = number <= 255 ? hsm_alg_by_number((unsigned)number) : NULL;
	if (a == NULL) {
		fail_text(b->detail, b->path, f->line, "unsupported algorithm %lu", number);
		return HSM_ERR_ALGORITHM;
	}
	if (want != NULL && want->number != a->number) {
		fail_text(b->detail, b->path, f->line,
		          "algorithm %u (%s), but %u (%s) was asked for", a->number, a->name,
		          want->number, want->name);
		return HSM_ERR_ALGORITHM;
	}
	*out = a;
	return HSM_OK;
}

/* RSA sizes we import: 512 to 4096 bits, and large enough that PKCS#1 v1.5
 * padding (11 bytes) around the algorithm's DigestInfo fits. */
static int rsa_size_ok(const char *path, unsigned line, int bits, const hsm_alg_t *alg,
                       hsm_detail_t *detail)
{
	size_t need = 11 + alg->digest_info_len + alg->digest_len;

	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
		fail_text(detail, path, line, "RSA modulus of %d bits (%d to %d accepted)", bits,
		          RSA_MIN_BITS, RSA_MAX_BITS);
		return HSM_ERR_KEY_TYPE;
	}
	if ((size_t)(bits + 7) / 8 < need) {
		fail_text(detail, path, line, "RSA modulus of %d bits is too small for %s", bits,
		          alg->name);
		return HSM_ERR_KEY_TYPE;
	}
	return HSM_OK;
}

static int fromdata(const char *type, int selection, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int ret = HSM_ERR_NOMEM;

	if (params == NULL) {
		goto fail;
	}
	ret = HSM_ERR_CRYPTO;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1) {
		goto fail;
	}
	*out = pkey;
	ret = HSM_OK;
fail:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params); /* clears the secure part holding private values */
	return ret;
}

static int bind_rsa(bind_t *b, const hsm_alg_t *alg, EVP_PKEY **out)
{
	static const struct {
		int field;
		const char *param;
	} map[] = {
	        {F_MODULUS, OSSL_PKEY_PARAM_RSA_N},
	        {F_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E},
	        {F_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D},
	        {F_PRIME1, OSSL_PKEY_PARAM_RSA_FACTOR1},
	        {F_PRIME2, OSSL_PKEY_PARAM_RSA_FACTOR2},
	        {F_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT1},
	        {F_EXPONENT2, OSSL_PKEY_PARAM_RSA_EXPONENT2},
	        {F_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
	};
	enum { N = sizeof(map) / sizeof(map[0]) };
	BIGNUM *bn[N] = {NULL};
	OSSL_PARAM_BLD *bld = NULL;
	int ret;

	for (size_t i = 0; i < N; i++) {
		if (bind_need(b, map[i].field) == NULL) {
			return HSM_ERR_KEYFILE;
		}
	}
	ret = HSM_ERR_NOMEM;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL) {
		goto fail;
	}
	for (size_t i = 0; i < N; i++) {
		const field_t *f = &b->f[map[i].field];

		/* Modulus and public exponent are public; the rest is secret. */
		bn[i] = i < 2 ? BN_new() : BN_secure_new();
		if (bn[i] == NULL || BN_bin2bn(f->data, (int)f->len, bn[i]) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, map[i].param, bn[i]) != 1) {
			goto fail;
		}
	}
	ret = rsa_size_ok(b->path, b->f[F_MODULUS].line, BN_num_bits(bn[0]), alg, b->detail);
	if (ret != HSM_OK) {
		goto fail;
	}
	ret = fromdata("RSA", EVP_PKEY_KEYPAIR, bld, out);
	if (ret == HSM_ERR_CRYPTO) {
		fail_text(b->detail, b->path, 0, "OpenSSL refuses the RSA key");
		ret = HSM_ERR_KEYFILE;
	}
fail:
	OSSL_PARAM_BLD_free(bld);
	for (size_t i = 0; i < N; i++) {
		BN_clear_free(bn[i]);
	}
	return ret;
}

/* ECDSA: PrivateKey is the scalar; the public point is derived from it so
 * that the key is complete. */
static int bind_ec(bind_t *b, const hsm_alg_t *alg, EVP_PKEY **out)
{
	const field_t *f = bind_need(b, F_PRIVATE_KEY);
	int nid = alg->number == HSM_ALG_ECDSAP256SHA256   ? NID_X9_62_prime256v1
	          : alg->number == HSM_ALG_ECDSAP384SHA384 ? NID_secp384r1
	                                                   : NID_undef;
	const char *curve = OBJ_nid2sn(nid);
	size_t coord = alg->point_len / 2, pub_len;
	uint8_t pub[1 + 2 * 66];
	EC_GROUP *group = NULL;
	EC_POINT *point = NULL;
	BN_CTX *bnctx = NULL;
	BIGNUM *priv = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int ret;

	if (nid == NID_undef || 1 + 2 * coord > sizeof(pub)) {
		return HSM_ERR_ALGORITHM;
	}
	if (f == NULL) {
		return HSM_ERR_KEYFILE;
	}
	if (f->len > coord) {
		fail_text(b->detail, b->path, f->line, "PrivateKey has %zu bytes, %s needs %zu",
		          f->len, alg->name, coord);
		return HSM_ERR_KEYFILE;
	}
	ret = HSM_ERR_NOMEM;
	group = EC_GROUP_new_by_curve_name(nid);
	point = group != NULL ? EC_POINT_new(group) : NULL;
	bnctx = BN_CTX_secure_new();
	priv = BN_secure_new();
	bld = OSSL_PARAM_BLD_new();
	if (point == NULL || bnctx == NULL || priv == NULL || bld == NULL ||
	    BN_bin2bn(f->data, (int)f->len, priv) == NULL) {
		goto fail;
	}
	if (BN_is_zero(priv) || BN_cmp(priv, EC_GROUP_get0_order(group)) >= 0) {
		fail_text(b->detail, b->path, f->line, "PrivateKey is out of range for %s",
		          alg->name);
		ret = HSM_ERR_KEYFILE;
		goto fail;
	}
	ret = HSM_ERR_CRYPTO;
	if (EC_POINT_mul(group, point, priv, NULL, NULL, bnctx) != 1) {
		goto fail;
	}
	pub_len = EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub),
	                             bnctx);
	if (pub_len != 1 + 2 * coord) {
		goto fail;
	}
	ret = HSM_ERR_NOMEM;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len) != 1) {
		goto fail;
	}
	ret = fromdata("EC", EVP_PKEY_KEYPAIR, bld, out);
fail:
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(priv);
	BN_CTX_free(bnctx);
	EC_POINT_free(point);
	EC_GROUP_free(group);
	return ret;
}

/* EdDSA: PrivateKey is the seed; OpenSSL derives the public key. */
static int bind_eddsa(bind_t *b, const hsm_alg_t *alg, EVP_PKEY **out)
{
	const field_t *f = bind_need(b, F_PRIVATE_KEY);
	const char *type = alg->number == HSM_ALG_ED25519 ? "ED25519"
	                   : alg->number == HSM_ALG_ED448 ? "ED448"
	                                                  : NULL;
	EVP_PKEY *pkey;

	if (type == NULL) {
		return HSM_ERR_ALGORITHM;
	}
	if (f == NULL) {
		return HSM_ERR_KEYFILE;
	}
	if (f->len != alg->point_len) {
		fail_text(b->detail, b->path, f->line, "PrivateKey has %zu bytes, %s needs %zu",
		          f->len, alg->name, alg->point_len);
		return HSM_ERR_KEYFILE;
	}
	pkey = EVP_PKEY_new_raw_private_key_ex(NULL, type, NULL, f->data, f->len);
	if (pkey == NULL) {
		return HSM_ERR_CRYPTO;
	}
	*out = pkey;
	return HSM_OK;
}

static int read_bind(const char *path, char *buf, const hsm_alg_t *want, EVP_PKEY **out,
                     const hsm_alg_t **alg_out, hsm_detail_t *detail)
{
	bind_t b = {.path = path, .detail = detail};
	const hsm_alg_t *alg = NULL;
	int ret;

	ret = bind_parse(&b, buf);
	if (ret == HSM_OK) {
		ret = bind_alg(&b, want, &alg);
	}
	if (ret == HSM_OK) {
		switch (alg->keytype) {
		case HSM_KEYTYPE_RSA:
			ret = bind_rsa(&b, alg, out);
			break;
		case HSM_KEYTYPE_EC:
			ret = bind_ec(&b, alg, out);
			break;
		case HSM_KEYTYPE_EDDSA:
			ret = bind_eddsa(&b, alg, out);
			break;
		default:
			ret = HSM_ERR_ALGORITHM;
			break;
		}
	}
	if (ret == HSM_OK) {
		*alg_out = alg;
	}
	for (int i = 0; i < F_COUNT; i++) {
		if (b.f[i].data != NULL) {
			OPENSSL_clear_free(b.f[i].data, b.f[i].len);
		}
	}
	return ret;
}

/* Refuses to prompt for a passphrase: encrypted PEM keys are not read. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/* The algorithm of a PEM key, checked against want (may be NULL). */
static int pem_alg(const char *path, EVP_PKEY *pkey, const hsm_alg_t *want, const hsm_alg_t **out,
                   hsm_detail_t *detail)
{
	const hsm_alg_t *a;
	unsigned number;

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		number = want != NULL && want->keytype == HSM_KEYTYPE_RSA ? want->number
		                                                          : HSM_ALG_RSASHA256;
	} else if (EVP_PKEY_is_a(pkey, "EC")) {
		char group[64];
		int nid;

		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                                   sizeof(group), NULL) != 1) {
			fail_text(detail, path, 0, "EC key without a named curve");
			return HSM_ERR_ALGORITHM;
		}
		nid = OBJ_sn2nid(group);
		if (nid == NID_undef) {
			nid = EC_curve_nist2nid(group);
		}
		if (nid == NID_X9_62_prime256v1) {
			number = HSM_ALG_ECDSAP256SHA256;
		} else if (nid == NID_secp384r1) {
			number = HSM_ALG_ECDSAP384SHA384;
		} else {
			fail_text(detail, path, 0, "unsupported curve %s", group);
			return HSM_ERR_ALGORITHM;
		}
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		number = HSM_ALG_ED25519;
	} else if (EVP_PKEY_is_a(pkey, "ED448")) {
		number = HSM_ALG_ED448;
	} else {
		const char *type = EVP_PKEY_get0_type_name(pkey);

		fail_text(detail, path, 0, "unsupported key type %s", type ? type : "?");
		return HSM_ERR_ALGORITHM;
	}
	a = hsm_alg_by_number(number);
	if (a == NULL) {
		fail_text(detail, path, 0, "unsupported algorithm %u", number);
		return HSM_ERR_ALGORITHM;
	}
	if (want != NULL && want->number != a->number) {
		fail_text(detail, path, 0,
		          "key is for algorithm %u (%s), but %u (%s) was asked for", a->number,
		          a->name, want->number, want->name);
		return HSM_ERR_ALGORITHM;
	}
	if (a->keytype == HSM_KEYTYPE_RSA) {
		int ret = rsa_size_ok(path, 0, EVP_PKEY_get_bits(pkey), a, detail);

		if (ret != HSM_OK) {
			return ret;
		}
	}
	*out = a;
	return HSM_OK;
}

static int read_pem(const char *path, const char *buf, size_t len, const hsm_alg_t *want,
                    EVP_PKEY **out, const hsm_alg_t **alg_out, hsm_detail_t *detail)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	EVP_PKEY *pkey = NULL;
	int ret;

	if (bio == NULL) {
		return HSM_ERR_NOMEM;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		fail_text(detail, path, 0,
		          "no private key in the PEM data (malformed, encrypted or public only)");
		return HSM_ERR_KEYFILE;
	}
	ret = pem_alg(path, pkey, want, alg_out, detail);
	if (ret != HSM_OK) {
		EVP_PKEY_free(pkey);
		return ret;
	}
	*out = pkey;
	return HSM_OK;
}

/* Checks that the public and private halves belong together (a corrupt
 * file must not become a token key that makes bad signatures). */
static int check_pair(const char *path, EVP_PKEY *pkey, hsm_detail_t *detail)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int rc;

	if (ctx == NULL) {
		return HSM_ERR_NOMEM;
	}
	rc = EVP_PKEY_pairwise_check(ctx);
	EVP_PKEY_CTX_free(ctx);
	if (rc == 1 || rc == -2) { /* -2: the key type has no such check */
		return HSM_OK;
	}
	fail_text(detail, path, 0, "inconsistent key: private and public parts do not match");
	return HSM_ERR_KEYFILE;
}

int hsm_keyfile_read(const char *path, const hsm_alg_t *alg, EVP_PKEY **out,
                     const hsm_alg_t **alg_out, hsm_detail_t *detail)
{
	const hsm_alg_t *found = NULL;
	EVP_PKEY *pkey = NULL;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if (path == NULL || out == NULL || alg_out == NULL) {
		return HSM_ERR_INVAL;
	}
	ret = read_file(path, &buf, &len, detail);
	if (ret != HSM_OK) {
		return ret;
	}
	/* Failures are reported by status and detail: leave no OpenSSL errors. */
	ERR_set_mark();
	if (memchr(buf, '\0', len) != NULL) {
		fail_text(detail, path, 0,
		          "binary data: neither a PEM nor a BIND private key file");
		ret = HSM_ERR_KEYFILE;
	} else if (bind_detect(buf)) {
		ret = read_bind(path, buf, alg, &pkey, &found, detail);
	} else if (strstr(buf, "-----BEGIN ") != NULL) {
		ret = read_pem(path, buf, len, alg, &pkey, &found, detail);
	} else {
		fail_text(detail, path, 0, "neither a PEM nor a BIND private key file");
		ret = HSM_ERR_KEYFILE;
	}
	if (ret == HSM_OK) {
		ret = check_pair(path, pkey, detail);
	}
	ERR_pop_to_mark();
	OPENSSL_clear_free(buf, len + 1);
	if (ret != HSM_OK) {
		EVP_PKEY_free(pkey);
		return ret;
	}
	*out = pkey;
	*alg_out = found;
	return HSM_OK;
}
