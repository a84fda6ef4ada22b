#include "kasp/kasp_export.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hsm/hsm_dnskey.h"
#include "hsm/hsm_error.h"
#include "kasp/kasp_error.h"

#define WIRE_NAME_MAX 255
#define LABEL_MAX     63
#define TEXT_NAME_MAX 1024 /* every wire byte as \DDD, plus dots */

/* A zone name in both forms: wire (for digests) and presentation, as given
 * with a final dot (for text). */
typedef struct {
	uint8_t wire[WIRE_NAME_MAX];
	size_t wire_len;
	char text[TEXT_NAME_MAX + 2];
} zname_t;

/* A growing NUL-terminated text; fail records an allocation failure. */
typedef struct {
	char *p;
	size_t len, cap;
	bool fail;
} text_t;

bool kasp_export_selects(kasp_export_select_t which, const kasp_key_t *k)
{
	kasp_state_t s;

	if (k == NULL) {
		return false;
	}
	switch (which) {
	case KASP_EXPORT_PARENT:
		s = k->state[KASP_DS];
		break;
	case KASP_EXPORT_ANCHOR:
		s = k->state[KASP_DNSKEY];
		break;
	case KASP_EXPORT_GIVEN:
		return true;
	default:
		return false;
	}
	return (k->role & KASP_ROLE_KSK) != 0 && (s == KASP_RUMOURED || s == KASP_OMNIPRESENT);
}

void kasp_export_rrset_init(kasp_export_rrset_t *set)
{
	if (set != NULL) {
		set->rr = NULL;
		set->n = 0;
	}
}

void kasp_export_rrset_deinit(kasp_export_rrset_t *set)
{
	if (set == NULL) {
		return;
	}
	for (size_t i = 0; i < set->n; i++) {
		free(set->rr[i].data);
	}
	free(set->rr);
	set->rr = NULL;
	set->n = 0;
}

static int rrset_add(kasp_export_rrset_t *set, const uint8_t *data, size_t len)
{
	kasp_export_rdata_t *rr = realloc(set->rr, (set->n + 1) * sizeof(*rr));
	uint8_t *copy;

	if (rr == NULL) {
		return KASP_ERR_NOMEM;
	}
	set->rr = rr;
	copy = malloc(len > 0 ? len : 1);
	if (copy == NULL) {
		return KASP_ERR_NOMEM;
	}
	memcpy(copy, data, len);
	set->rr[set->n].data = copy;
	set->rr[set->n].len = len;
	set->n++;
	return KASP_OK;
}

/* Parses a presentation-form name ("a.example.", "a.example", ".", with
 * \X and \DDD escapes) into z. */
static int parse_name(const char *s, zname_t *z)
{
	size_t slen, label_at = 0, w = 1;
	bool final_dot = false;

	if (s == NULL) {
		return KASP_ERR_INVAL;
	}
	slen = strlen(s);
	if (slen == 0 || slen > TEXT_NAME_MAX) {
		return KASP_ERR_EXPORT_NAME;
	}
	if (strcmp(s, ".") == 0) {
		z->wire[0] = 0;
		z->wire_len = 1;
		strcpy(z->text, ".");
		return KASP_OK;
	}
	for (size_t i = 0; i < slen; i++) {
		unsigned c = (unsigned char)s[i];

		if (c == '.') {
			if (w - label_at - 1 == 0) {
				return KASP_ERR_EXPORT_NAME; /* empty label */
			}
			z->wire[label_at] = (uint8_t)(w - label_at - 1);
			label_at = w++;
			if (w > WIRE_NAME_MAX) {
				return KASP_ERR_EXPORT_NAME;
			}
			final_dot = i + 1 == slen;
			continue;
		}
		if (c == '\\') {
			if (i + 1 >= slen) {
				return KASP_ERR_EXPORT_NAME;
			}
			if (s[i + 1] >= '0' && s[i + 1] <= '9') {
				if (i + 3 >= slen) {
					return KASP_ERR_EXPORT_NAME;
				}
				if (s[i + 2] < '0' || s[i + 2] > '9' || s[i + 3] < '0' ||
				    s[i + 3] > '9') {
					return KASP_ERR_EXPORT_NAME;
				}
				c = (unsigned)(s[i + 1] - '0') * 100 +
				    (unsigned)(s[i + 2] - '0') * 10 + (unsigned)(s[i + 3] - '0');
				if (c > 255) {
					return KASP_ERR_EXPORT_NAME;
				}
				i += 3;
			} else {
				c = (unsigned char)s[++i];
			}
		}
		if (w - label_at - 1 >= LABEL_MAX || w + 1 >= WIRE_NAME_MAX) {
			return KASP_ERR_EXPORT_NAME;
		}
		z->wire[w++] = (uint8_t)c;
	}
	if (!final_dot) {
		z->wire[label_at] = (uint8_t)(w - label_at - 1);
		label_at = w++;
	}
	z->wire[label_at] = 0;
	z->wire_len = w;
	snprintf(z->text, sizeof(z->text), "%s%s", s, final_dot ? "" : ".");
	return KASP_OK;
}

static int check_digests(const uint8_t *digests, size_t n)
{
	if (digests == NULL || n == 0) {
		return KASP_ERR_EXPORT_DIGEST;
	}
	for (size_t i = 0; i < n; i++) {
		if (digests[i] != HSM_DS_SHA256 && digests[i] != HSM_DS_SHA384) {
			return KASP_ERR_EXPORT_DIGEST;
		}
		for (size_t j = 0; j < i; j++) {
			if (digests[j] == digests[i]) {
				return KASP_ERR_EXPORT_DIGEST;
			}
		}
	}
	return KASP_OK;
}

/* The DNSKEY RDATA must be the key's: a zone key of protocol 3, not
 * revoked, with at least one byte of key, of the key's algorithm and tag. */
static int check_key(const kasp_export_key_t *e)
{
	unsigned flags;

	if (e->rdata_len < 5 || e->rdata[2] != 3) {
		return KASP_ERR_EXPORT_DNSKEY;
	}
	flags = ((unsigned)e->rdata[0] << 8) | e->rdata[1];
	if (!(flags & HSM_DNSKEY_FLAG_ZONE) || (flags & HSM_DNSKEY_FLAG_REVOKE)) {
		return KASP_ERR_EXPORT_DNSKEY;
	}
	if (e->rdata[3] != e->key->algorithm ||
	    hsm_dnskey_keytag(e->rdata, e->rdata_len) != e->key->tag) {
		return KASP_ERR_EXPORT_DNSKEY;
	}
	return KASP_OK;
}

/* Checks the arguments common to every export; digests only if need_digests. */
static int check_args(const char *zone, const kasp_export_key_t *keys, size_t n,
                      kasp_export_select_t which, const uint8_t *digests, size_t ndigests,
                      bool need_digests, zname_t *z)
{
	int ret;

	if (zone == NULL || (keys == NULL && n > 0)) {
		return KASP_ERR_INVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (keys[i].key == NULL || (keys[i].rdata == NULL && keys[i].rdata_len > 0)) {
			return KASP_ERR_INVAL;
		}
	}
	if (which != KASP_EXPORT_PARENT && which != KASP_EXPORT_ANCHOR &&
	    which != KASP_EXPORT_GIVEN) {
		return KASP_ERR_INVAL;
	}
	ret = parse_name(zone, z);
	if (ret != KASP_OK) {
		return ret;
	}
	if (need_digests) {
		ret = check_digests(digests, ndigests);
		if (ret != KASP_OK) {
			return ret;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (kasp_export_selects(which, keys[i].key)) {
			ret = check_key(&keys[i]);
			if (ret != KASP_OK) {
				return ret;
			}
		}
	}
	return KASP_OK;
}

int kasp_export_cds(const char *zone, const kasp_export_key_t *keys, size_t n,
                    const uint8_t *digests, size_t ndigests, kasp_export_rrset_t *cds,
                    kasp_export_rrset_t *cdnskey)
{
	kasp_export_rrset_t c, k;
	zname_t z;
	uint8_t ds[HSM_DS_RDATA_MAX];
	size_t ds_len;
	int ret;

	if (cds == NULL || cdnskey == NULL) {
		return KASP_ERR_INVAL;
	}
	ret = check_args(zone, keys, n, KASP_EXPORT_PARENT, digests, ndigests, true, &z);
	if (ret != KASP_OK) {
		return ret;
	}
	kasp_export_rrset_init(&c);
	kasp_export_rrset_init(&k);
	for (size_t i = 0; i < n; i++) {
		if (!kasp_export_selects(KASP_EXPORT_PARENT, keys[i].key)) {
			continue;
		}
		for (size_t d = 0; d < ndigests; d++) {
			ret = hsm_dnskey_ds(z.wire, z.wire_len, keys[i].rdata, keys[i].rdata_len,
			                    digests[d], ds, sizeof(ds), &ds_len);
			if (ret != HSM_OK) {
				goto fail;
			}
			ret = rrset_add(&c, ds, ds_len);
			if (ret != KASP_OK) {
				goto fail;
			}
		}
		ret = rrset_add(&k, keys[i].rdata, keys[i].rdata_len);
		if (ret != KASP_OK) {
			goto fail;
		}
	}
	*cds = c;
	*cdnskey = k;
	return KASP_OK;
fail:
	kasp_export_rrset_deinit(&k);
	kasp_export_rrset_deinit(&c);
	return ret;
}

int kasp_export_cds_delete(kasp_export_rrset_t *cds, kasp_export_rrset_t *cdnskey)
{
	/* RFC 8078 section 4: CDS 0 0 0 00, CDNSKEY 0 3 0 AA== (one zero byte). */
	static const uint8_t cds_delete[] = {0, 0, 0, 0, 0};
	static const uint8_t cdnskey_delete[] = {0, 0, 3, 0, 0};
	kasp_export_rrset_t c, k;
	int ret;

	if (cds == NULL || cdnskey == NULL) {
		return KASP_ERR_INVAL;
	}
	kasp_export_rrset_init(&c);
	kasp_export_rrset_init(&k);
	ret = rrset_add(&c, cds_delete, sizeof(cds_delete));
	if (ret != KASP_OK) {
		goto fail;
	}
	ret = rrset_add(&k, cdnskey_delete, sizeof(cdnskey_delete));
	if (ret != KASP_OK) {
		goto fail;
	}
	*cds = c;
	*cdnskey = k;
	return KASP_OK;
fail:
	kasp_export_rrset_deinit(&k);
	kasp_export_rrset_deinit(&c);
	return ret;
}

__attribute__((format(printf, 2, 3))) static void text_add(text_t *t, const char *fmt, ...)
{
	va_list ap;
	int need;

	if (t->fail) {
		return;
	}
	va_start(ap, fmt);
	need = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (need < 0) {
		t->fail = true;
		return;
	}
	if (t->len + (size_t)need + 1 > t->cap) {
		size_t cap = (t->len + (size_t)need + 1) * 2;
		char *p = realloc(t->p, cap);

		if (p == NULL) {
			t->fail = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)need;
}

/* Uppercase hex of a DS digest (at most 48 bytes). */
static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xF];
	}
	out[2 * n] = '\0';
}

/* Appends one DS line (or BIND static-ds entry) per digest type for key e. */
static int add_ds(text_t *t, const zname_t *z, kasp_export_format_t format, uint32_t ttl,
                  const kasp_export_key_t *e, const uint8_t *digests, size_t ndigests)
{
	uint8_t ds[HSM_DS_RDATA_MAX];
	char digest[2 * HSM_DS_RDATA_MAX + 1];
	size_t ds_len;
	int ret;

	for (size_t d = 0; d < ndigests; d++) {
		unsigned tag, alg, type;

		ret = hsm_dnskey_ds(z->wire, z->wire_len, e->rdata, e->rdata_len, digests[d], ds,
		                    sizeof(ds), &ds_len);
		if (ret != HSM_OK) {
			return ret;
		}
		tag = ((unsigned)ds[0] << 8) | ds[1];
		alg = ds[2];
		type = ds[3];
		hex(ds + 4, ds_len - 4, digest);
		switch (format) {
		case KASP_EXPORT_UNBOUND:
			text_add(t, "%s IN DS %u %u %u %s\n", z->text, tag, alg, type, digest);
			break;
		case KASP_EXPORT_BIND:
			text_add(t, "\t\"%s\" static-ds %u %u %u \"%s\";\n", z->text, tag, alg,
			         type, digest);
			break;
		default:
			text_add(t, "%s %" PRIu32 " IN DS %u %u %u %s\n", z->text, ttl, tag, alg,
			         type, digest);
			break;
		}
	}
	return KASP_OK;
}

static int add_dnskey(text_t *t, const zname_t *z, uint32_t ttl, const kasp_export_key_t *e)
{
	size_t klen = e->rdata_len - 4;
	unsigned char *b64 = malloc(4 * ((klen + 2) / 3) + 1);

	if (b64 == NULL) {
		return KASP_ERR_NOMEM;
	}
	EVP_EncodeBlock(b64, e->rdata + 4, (int)klen);
	text_add(t, "%s %" PRIu32 " IN DNSKEY %u %u %u %s\n", z->text, ttl,
	         ((unsigned)e->rdata[0] << 8) | e->rdata[1], e->rdata[2], e->rdata[3],
	         (const char *)b64);
	free(b64);
	return KASP_OK;
}

/* The text of every export: the selected keys in format. */
static int export_text(const char *zone, kasp_export_format_t format, uint32_t ttl,
                       const kasp_export_key_t *keys, size_t n, kasp_export_select_t which,
                       const uint8_t *digests, size_t ndigests, char **out, size_t *count)
{
	bool need_digests = format != KASP_EXPORT_DNSKEY;
	text_t t = {0};
	size_t records = 0;
	zname_t z;
	int ret;

	if (out == NULL) {
		return KASP_ERR_INVAL;
	}
	ret = check_args(zone, keys, n, which, digests, ndigests, need_digests, &z);
	if (ret != KASP_OK) {
		return ret;
	}
	text_add(&t, "%s", "");
	for (size_t i = 0; i < n; i++) {
		if (!kasp_export_selects(which, keys[i].key)) {
			continue;
		}
		if (format == KASP_EXPORT_BIND && records == 0) {
			text_add(&t, "trust-anchors {\n");
		}
		if (format == KASP_EXPORT_DNSKEY) {
			ret = add_dnskey(&t, &z, ttl, &keys[i]);
			records++;
		} else {
			ret = add_ds(&t, &z, format, ttl, &keys[i], digests, ndigests);
			records += ndigests;
		}
		if (ret != KASP_OK) {
			goto fail;
		}
	}
	if (format == KASP_EXPORT_BIND && records > 0) {
		text_add(&t, "};\n");
	}
	if (t.fail) {
		ret = KASP_ERR_NOMEM;
		goto fail;
	}
	*out = t.p;
	if (count != NULL) {
		*count = records;
	}
	return KASP_OK;
fail:
	free(t.p);
	return ret;
}

int kasp_export_ds_text(const char *zone, uint32_t ttl, const kasp_export_key_t *keys, size_t n,
                        kasp_export_select_t which, const uint8_t *digests, size_t ndigests,
                        char **out, size_t *count)
{
	return export_text(zone, KASP_EXPORT_DS, ttl, keys, n, which, digests, ndigests, out,
	                   count);
}

int kasp_export_trust_anchor(const char *zone, kasp_export_format_t format, uint32_t ttl,
                             const kasp_export_key_t *keys, size_t n, const uint8_t *digests,
                             size_t ndigests, char **out, size_t *count)
{
	switch (format) {
	case KASP_EXPORT_UNBOUND:
	case KASP_EXPORT_BIND:
	case KASP_EXPORT_DS:
	case KASP_EXPORT_DNSKEY:
		break;
	default:
		return KASP_ERR_INVAL;
	}
	return export_text(zone, format, ttl, keys, n, KASP_EXPORT_ANCHOR, digests, ndigests, out,
	                   count);
}

int kasp_export_revoke(const uint8_t *rdata, size_t len, uint8_t *out, size_t cap, size_t *out_len,
                       uint16_t *tag)
{
	unsigned flags;

	if (rdata == NULL || out == NULL || out_len == NULL) {
		return KASP_ERR_INVAL;
	}
	if (len < 5 || rdata[2] != 3) {
		return KASP_ERR_EXPORT_DNSKEY;
	}
	flags = ((unsigned)rdata[0] << 8) | rdata[1];
	if (!(flags & HSM_DNSKEY_FLAG_ZONE) || (flags & HSM_DNSKEY_FLAG_REVOKE)) {
		return KASP_ERR_EXPORT_DNSKEY;
	}
	if (cap < len) {
		return HSM_ERR_BUFFER;
	}
	memmove(out, rdata, len);
	out[1] = (uint8_t)(out[1] | HSM_DNSKEY_FLAG_REVOKE);
	*out_len = len;
	if (tag != NULL) {
		*tag = hsm_dnskey_keytag(out, len);
	}
	return KASP_OK;
}
