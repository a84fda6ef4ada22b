#include "signer/zone/dname.h"

#include <string.h>

#include "signer/zone/zone_error.h"

static inline uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decodes one character or escape at *p into *octet and advances *p. */
static int decode_octet(const char **p, uint8_t *octet)
{
	const char *s = *p;
	if (s[0] != '\\') {
		*octet = (uint8_t)s[0];
		*p = s + 1;
		return ZONE_OK;
	}
	if (s[1] == '\0') {
		return ZONE_ERR_NAME_SYNTAX;
	}
	if (!is_digit(s[1])) {
		*octet = (uint8_t)s[1];
		*p = s + 2;
		return ZONE_OK;
	}
	if (!is_digit(s[2]) || !is_digit(s[3])) {
		return ZONE_ERR_NAME_SYNTAX;
	}
	int v = (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	if (v > 255) {
		return ZONE_ERR_NAME_SYNTAX;
	}
	*octet = (uint8_t)v;
	*p = s + 4;
	return ZONE_OK;
}

/* Parses text (not "@" nor ".") into buf. *absolute tells whether text ended
 * with an unescaped dot; *len is the length without a root label if relative. */
static int parse_labels(const char *text, uint8_t buf[DNAME_MAXLEN], size_t *len, bool *absolute)
{
	size_t lab = 0;  /* offset of the current label's length octet */
	size_t llen = 0; /* octets in the current label so far */
	const char *p = text;
	if (*p == '\0') {
		return ZONE_ERR_NAME_SYNTAX;
	}
	while (*p != '\0') {
		if (*p == '.') {
			if (llen == 0) {
				return ZONE_ERR_NAME_SYNTAX;
			}
			buf[lab] = (uint8_t)llen;
			lab += llen + 1;
			llen = 0;
			p++;
			continue;
		}
		uint8_t octet;
		int rc = decode_octet(&p, &octet);
		if (rc != ZONE_OK) {
			return rc;
		}
		if (llen == DNAME_LABEL_MAXLEN) {
			return ZONE_ERR_LABEL_TOO_LONG;
		}
		/* This octet goes at lab + 1 + llen; the root label must still fit. */
		if (lab + 1 + llen + 1 >= DNAME_MAXLEN) {
			return ZONE_ERR_NAME_TOO_LONG;
		}
		buf[lab + 1 + llen] = octet;
		llen++;
	}
	*absolute = (llen == 0);
	if (llen > 0) {
		buf[lab] = (uint8_t)llen;
		lab += llen + 1;
	}
	*len = lab;
	return ZONE_OK;
}

int dname_from_str(const char *text, const uint8_t *origin, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t buf[DNAME_MAXLEN];
	size_t n = 0;
	if (strcmp(text, "@") == 0) {
		if (origin == NULL) {
			return ZONE_ERR_NAME_SYNTAX;
		}
		n = dname_length(origin);
		memcpy(buf, origin, n);
	} else if (strcmp(text, ".") == 0) {
		buf[0] = 0;
		n = 1;
	} else {
		bool absolute = false;
		int rc = parse_labels(text, buf, &n, &absolute);
		if (rc != ZONE_OK) {
			return rc;
		}
		if (absolute || origin == NULL) {
			buf[n++] = 0;
		} else {
			size_t olen = dname_length(origin);
			if (n + olen > DNAME_MAXLEN) {
				return ZONE_ERR_NAME_TOO_LONG;
			}
			memcpy(buf + n, origin, olen);
			n += olen;
		}
	}
	if (n > cap) {
		return ZONE_ERR_BUFFER;
	}
	memcpy(out, buf, n);
	if (len != NULL) {
		*len = n;
	}
	return ZONE_OK;
}

/* Octets written as "\X" so that the text reads back as one zone file token
 * meaning the same name. */
static bool needs_backslash(uint8_t c)
{
	switch (c) {
	case '.':
	case '\\':
	case '"':
	case ';':
	case '(':
	case ')':
	case '@':
	case '$':
		return true;
	default:
		return false;
	}
}

int dname_to_str(const uint8_t *name, char *out, size_t cap)
{
	char buf[DNAME_STR_MAXLEN];
	size_t n = 0;
	if (*name == 0) {
		buf[n++] = '.';
	}
	while (*name != 0) {
		uint8_t llen = *name++;
		for (uint8_t i = 0; i < llen; i++) {
			uint8_t c = name[i];
			if (c <= 0x20 || c >= 0x7f) {
				buf[n++] = '\\';
				buf[n++] = (char)('0' + c / 100);
				buf[n++] = (char)('0' + c / 10 % 10);
				buf[n++] = (char)('0' + c % 10);
			} else {
				if (needs_backslash(c)) {
					buf[n++] = '\\';
				}
				buf[n++] = (char)c;
			}
		}
		buf[n++] = '.';
		name += llen;
	}
	buf[n++] = '\0';
	if (out == NULL || n > cap) {
		return ZONE_ERR_BUFFER;
	}
	memcpy(out, buf, n);
	return ZONE_OK;
}

size_t dname_length(const uint8_t *name)
{
	const uint8_t *p = name;
	while (*p != 0) {
		p += *p + 1;
	}
	return (size_t)(p - name) + 1;
}

int dname_labels(const uint8_t *name)
{
	int count = 0;
	while (*name != 0) {
		name += *name + 1;
		count++;
	}
	return count;
}

bool dname_is_wildcard(const uint8_t *name)
{
	return name[0] == 1 && name[1] == '*';
}

int dname_rrsig_labels(const uint8_t *name)
{
	return dname_labels(name) - (dname_is_wildcard(name) ? 1 : 0);
}

void dname_to_lower(uint8_t *name)
{
	while (*name != 0) {
		uint8_t llen = *name++;
		for (uint8_t i = 0; i < llen; i++) {
			name[i] = lower(name[i]);
		}
		name += llen;
	}
}

bool dname_equal(const uint8_t *a, const uint8_t *b)
{
	/* Length octets are at most 63, below 'A': folding them is harmless, and as
	 * long as all octets so far matched both names have their labels at the
	 * same offsets, so b is never read past its root label. */
	while (*a == *b) {
		uint8_t llen = *a;
		if (llen == 0) {
			return true;
		}
		for (uint8_t i = 1; i <= llen; i++) {
			if (a[i] != b[i] && lower(a[i]) != lower(b[i])) {
				return false;
			}
		}
		a += llen + 1;
		b += llen + 1;
	}
	return false;
}

/* Writes the offset of each label of name into off (root excluded); returns
 * the count. A valid name has at most DNAME_MAXLABELS labels, all at offsets
 * below DNAME_MAXLEN. */
static int label_offsets(const uint8_t *name, uint8_t off[DNAME_MAXLABELS])
{
	int count = 0;
	size_t pos = 0;
	while (name[pos] != 0 && count < DNAME_MAXLABELS) {
		off[count++] = (uint8_t)pos;
		pos += name[pos] + 1u;
	}
	return count;
}

/* Compares two labels (length octet first) as lowercased octet strings. */
static int label_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t alen = a[0];
	uint8_t blen = b[0];
	uint8_t n = alen < blen ? alen : blen;
	for (uint8_t i = 1; i <= n; i++) {
		uint8_t ca = a[i];
		uint8_t cb = b[i];
		if (ca != cb) {
			ca = lower(ca);
			cb = lower(cb);
			if (ca != cb) {
				return (int)ca - (int)cb;
			}
		}
	}
	return (int)alen - (int)blen;
}

int dname_canonical_cmp(const uint8_t *a, const uint8_t *b)
{
	if (a == b) {
		return 0;
	}
	uint8_t aoff[DNAME_MAXLABELS];
	uint8_t boff[DNAME_MAXLABELS];
	int ai = label_offsets(a, aoff);
	int bi = label_offsets(b, boff);
	while (ai > 0 && bi > 0) {
		ai--;
		bi--;
		int rc = label_cmp(a + aoff[ai], b + boff[bi]);
		if (rc != 0) {
			return rc;
		}
	}
	return (ai > 0) - (bi > 0);
}

bool dname_is_subdomain(const uint8_t *name, const uint8_t *parent)
{
	int extra = dname_labels(name) - dname_labels(parent);
	if (extra < 0) {
		return false;
	}
	for (int i = 0; i < extra; i++) {
		name += *name + 1;
	}
	return dname_equal(name, parent);
}

const uint8_t *dname_parent(const uint8_t *name)
{
	if (*name == 0) {
		return NULL;
	}
	return name + *name + 1;
}

uint32_t dname_hash(const uint8_t *name)
{
	uint32_t h = 2166136261u;
	size_t n = dname_length(name);
	for (size_t i = 0; i < n; i++) {
		h ^= lower(name[i]);
		h *= 16777619u;
	}
	return h;
}
