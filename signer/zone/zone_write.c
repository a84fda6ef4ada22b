#include "signer/zone/zone_write.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"

/* Types with a mnemonic that BIND 9.18, NSD 4.6, Knot 3.2 and ldns 1.8 all
 * read (sorted by number). Types not listed are written as TYPEnnn. */
static const struct {
	uint16_t type;
	const char *name;
} type_names[] = {
        {1, "A"},           {2, "NS"},     {5, "CNAME"},   {6, "SOA"},    {12, "PTR"},
        {13, "HINFO"},      {14, "MINFO"}, {15, "MX"},     {16, "TXT"},   {17, "RP"},
        {18, "AFSDB"},      {21, "RT"},    {24, "SIG"},    {25, "KEY"},   {28, "AAAA"},
        {29, "LOC"},        {33, "SRV"},   {35, "NAPTR"},  {36, "KX"},    {37, "CERT"},
        {39, "DNAME"},      {42, "APL"},   {43, "DS"},     {44, "SSHFP"}, {45, "IPSECKEY"},
        {46, "RRSIG"},      {47, "NSEC"},  {48, "DNSKEY"}, {49, "DHCID"}, {50, "NSEC3"},
        {51, "NSEC3PARAM"}, {52, "TLSA"},  {53, "SMIMEA"}, {59, "CDS"},   {60, "CDNSKEY"},
        {61, "OPENPGPKEY"}, {62, "CSYNC"}, {63, "ZONEMD"}, {64, "SVCB"},  {65, "HTTPS"},
        {99, "SPF"},        {256, "URI"},  {257, "CAA"},
};

const char *zone_write_type_name(uint16_t type)
{
	size_t lo = 0, hi = sizeof(type_names) / sizeof(type_names[0]);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (type_names[mid].type == type) {
			return type_names[mid].name;
		}
		if (type_names[mid].type < type) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NULL;
}

int zone_write_type_str(uint16_t type, char *buf, size_t cap)
{
	const char *name = zone_write_type_name(type);
	int n = name != NULL ? snprintf(buf, cap, "%s", name)
	                     : snprintf(buf, cap, "TYPE%u", (unsigned)type);
	return n >= 0 && (size_t)n < cap ? ZONE_OK : ZONE_ERR_BUFFER;
}

/* ---- a growing text buffer ---- */

typedef struct {
	char *p;
	size_t len, cap;
	bool nomem;
} sb_t;

static bool sb_reserve(sb_t *sb, size_t extra)
{
	if (sb->cap - sb->len > extra) {
		return true;
	}
	size_t cap = sb->cap ? sb->cap : 4096;
	while (cap - sb->len <= extra) {
		cap *= 2;
	}
	char *p = realloc(sb->p, cap);
	if (p == NULL) {
		sb->nomem = true;
		return false;
	}
	sb->p = p;
	sb->cap = cap;
	return true;
}

static void sb_putc(sb_t *sb, char c)
{
	if (sb_reserve(sb, 1)) {
		sb->p[sb->len++] = c;
	}
}

static void sb_puts(sb_t *sb, const char *s)
{
	size_t n = strlen(s);
	if (sb_reserve(sb, n)) {
		memcpy(sb->p + sb->len, s, n);
		sb->len += n;
	}
}

static void sb_u32(sb_t *sb, uint32_t v)
{
	char tmp[11];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (sb_reserve(sb, n)) {
		while (n > 0) {
			sb->p[sb->len++] = tmp[--n];
		}
	}
}

static void sb_hex(sb_t *sb, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";
	if (sb_reserve(sb, 2 * n)) {
		for (size_t i = 0; i < n; i++) {
			sb->p[sb->len++] = digits[p[i] >> 4];
			sb->p[sb->len++] = digits[p[i] & 15];
		}
	}
}

static void sb_base64(sb_t *sb, const uint8_t *p, size_t n)
{
	static const char digits[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (!sb_reserve(sb, (n + 2) / 3 * 4)) {
		return;
	}
	char *o = sb->p + sb->len;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = digits[v >> 18];
		*o++ = digits[(v >> 12) & 63];
		*o++ = digits[(v >> 6) & 63];
		*o++ = digits[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*o++ = digits[v >> 18];
		*o++ = digits[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = digits[v >> 18];
		*o++ = digits[(v >> 12) & 63];
		*o++ = digits[(v >> 6) & 63];
		*o++ = '=';
	}
	sb->len = (size_t)(o - sb->p);
}

/* Base 32 with the extended hex alphabet (RFC 4648 section 7), no padding,
 * lowercase (NSEC3 next hashed owner, RFC 5155 section 3.3). */
static void sb_base32hex(sb_t *sb, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuv";
	if (!sb_reserve(sb, (n * 8 + 4) / 5)) {
		return;
	}
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			sb->p[sb->len++] = digits[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0) {
		sb->p[sb->len++] = digits[(acc << (5 - bits)) & 31];
	}
}

/* A character-string's octets, quoted: " and \ escaped, octets outside
 * 0x20..0x7e as \DDD. */
static void sb_quoted(sb_t *sb, const uint8_t *p, size_t n)
{
	if (!sb_reserve(sb, 4 * n + 2)) {
		return;
	}
	char *o = sb->p + sb->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20 || c > 0x7e) {
			*o++ = '\\';
			*o++ = (char)('0' + c / 100);
			*o++ = (char)('0' + c / 10 % 10);
			*o++ = (char)('0' + c % 10);
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	sb->len = (size_t)(o - sb->p);
}

static void sb_type(sb_t *sb, uint16_t type)
{
	char buf[16];
	zone_write_type_str(type, buf, sizeof(buf));
	sb_puts(sb, buf);
}

/* ---- RDATA fields: each reader checks bounds and returns false on
 * malformed RDATA, so that the record falls back to the generic form ---- */

typedef struct {
	const uint8_t *p, *end;
} rd_t;

static bool rd_u8(rd_t *r, uint8_t *v)
{
	if (r->end - r->p < 1) {
		return false;
	}
	*v = *r->p++;
	return true;
}

static bool rd_u16(rd_t *r, uint16_t *v)
{
	if (r->end - r->p < 2) {
		return false;
	}
	*v = (uint16_t)(r->p[0] << 8 | r->p[1]);
	r->p += 2;
	return true;
}

static bool rd_u32(rd_t *r, uint32_t *v)
{
	if (r->end - r->p < 4) {
		return false;
	}
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	return true;
}

static bool put_u8(sb_t *sb, rd_t *r)
{
	uint8_t v;
	if (!rd_u8(r, &v)) {
		return false;
	}
	sb_u32(sb, v);
	return true;
}

static bool put_u16(sb_t *sb, rd_t *r)
{
	uint16_t v;
	if (!rd_u16(r, &v)) {
		return false;
	}
	sb_u32(sb, v);
	return true;
}

static bool put_u32(sb_t *sb, rd_t *r)
{
	uint32_t v;
	if (!rd_u32(r, &v)) {
		return false;
	}
	sb_u32(sb, v);
	return true;
}

/* Writes a wire name (valid, at most DNAME_MAXLEN octets) in presentation
 * form into out (DNAME_STR_MAXLEN): octets other than letters, digits, '-',
 * '_', '/' and '*' escaped, as "\X" when printable, else "\DDD", since
 * libzscanner takes no other character unescaped. Returns the length. */
static size_t name_text(const uint8_t *name, char *out)
{
	size_t k = 0;
	if (*name == 0) {
		out[k++] = '.';
	}
	while (*name != 0) {
		uint8_t len = *name++;
		for (uint8_t i = 0; i < len; i++) {
			uint8_t c = *name++;
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '/' ||
			    c == '*') {
				out[k++] = (char)c;
			} else if (c > 0x20 && c < 0x7f) {
				out[k++] = '\\';
				out[k++] = (char)c;
			} else {
				out[k++] = '\\';
				out[k++] = (char)('0' + c / 100);
				out[k++] = (char)('0' + c / 10 % 10);
				out[k++] = (char)('0' + c % 10);
			}
		}
		out[k++] = '.';
	}
	out[k] = '\0';
	return k;
}

/* An uncompressed domain name. */
static bool put_name(sb_t *sb, rd_t *r)
{
	const uint8_t *start = r->p;
	size_t len = 0;
	for (;;) {
		if (r->p >= r->end || *r->p > DNAME_LABEL_MAXLEN) {
			return false;
		}
		uint8_t l = *r->p;
		len += 1u + l;
		if (len > DNAME_MAXLEN || (size_t)(r->end - r->p) < 1u + l) {
			return false;
		}
		r->p += 1u + l;
		if (l == 0) {
			break;
		}
	}
	if (!sb_reserve(sb, DNAME_STR_MAXLEN)) {
		return false;
	}
	sb->len += name_text(start, sb->p + sb->len);
	return true;
}

/* A <character-string>: length octet and octets. */
static bool put_string(sb_t *sb, rd_t *r)
{
	uint8_t n;
	if (!rd_u8(r, &n) || r->end - r->p < n) {
		return false;
	}
	sb_quoted(sb, r->p, n);
	r->p += n;
	return true;
}

static bool put_ipv4(sb_t *sb, rd_t *r)
{
	char buf[INET_ADDRSTRLEN];
	if (r->end - r->p < 4 || inet_ntop(AF_INET, r->p, buf, sizeof(buf)) == NULL) {
		return false;
	}
	r->p += 4;
	sb_puts(sb, buf);
	return true;
}

static bool put_ipv6(sb_t *sb, rd_t *r)
{
	char buf[INET6_ADDRSTRLEN];
	if (r->end - r->p < 16 || inet_ntop(AF_INET6, r->p, buf, sizeof(buf)) == NULL) {
		return false;
	}
	r->p += 16;
	sb_puts(sb, buf);
	return true;
}

/* The rest as hex; at least one octet (an empty field has no text form). */
static bool put_hex_rest(sb_t *sb, rd_t *r)
{
	if (r->p >= r->end) {
		return false;
	}
	sb_hex(sb, r->p, (size_t)(r->end - r->p));
	r->p = r->end;
	return true;
}

static bool put_base64_rest(sb_t *sb, rd_t *r)
{
	if (r->p >= r->end) {
		return false;
	}
	sb_base64(sb, r->p, (size_t)(r->end - r->p));
	r->p = r->end;
	return true;
}

/* YYYYMMDDHHmmSS (RFC 4034 section 3.2) of a 32-bit time. */
static bool put_time(sb_t *sb, rd_t *r)
{
	uint32_t v;
	struct tm tm;
	time_t t;
	char buf[32];
	if (!rd_u32(r, &v)) {
		return false;
	}
	t = (time_t)v;
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof(buf), "%Y%m%d%H%M%S", &tm) != 14) {
		return false;
	}
	sb_puts(sb, buf);
	return true;
}

/* An NSEC-style type bitmap (RFC 4034 section 4.1.2), the rest of r. */
static bool put_bitmap(sb_t *sb, rd_t *r)
{
	int last = -1;
	while (r->p < r->end) {
		uint8_t win, len;
		if (!rd_u8(r, &win) || !rd_u8(r, &len) || len == 0 || len > 32 ||
		    r->end - r->p < len || (int)win <= last) {
			return false;
		}
		last = win;
		for (unsigned i = 0; i < len; i++) {
			for (unsigned bit = 0; bit < 8; bit++) {
				if (r->p[i] & (0x80 >> bit)) {
					sb_putc(sb, ' ');
					sb_type(sb, (uint16_t)(win * 256 + i * 8 + bit));
				}
			}
		}
		r->p += len;
	}
	return true;
}

static bool sp(sb_t *sb)
{
	sb_putc(sb, ' ');
	return true;
}

/* RDATA of type in its own text form; false if malformed or a type without
 * one here. */
static bool put_rdata(sb_t *sb, uint16_t type, rd_t *r)
{
	uint8_t n;
	switch (type) {
	case 1: /* A */
		return put_ipv4(sb, r);
	case 28: /* AAAA */
		return put_ipv6(sb, r);
	case 2:  /* NS */
	case 5:  /* CNAME */
	case 12: /* PTR */
	case 39: /* DNAME */
		return put_name(sb, r);
	case 6: /* SOA */
		return put_name(sb, r) && sp(sb) && put_name(sb, r) && sp(sb) && put_u32(sb, r) &&
		       sp(sb) && put_u32(sb, r) && sp(sb) && put_u32(sb, r) && sp(sb) &&
		       put_u32(sb, r) && sp(sb) && put_u32(sb, r);
	case 14: /* MINFO */
	case 17: /* RP */
		return put_name(sb, r) && sp(sb) && put_name(sb, r);
	case 15: /* MX */
	case 18: /* AFSDB */
	case 21: /* RT */
	case 36: /* KX */
		return put_u16(sb, r) && sp(sb) && put_name(sb, r);
	case 13: /* HINFO */
		return put_string(sb, r) && sp(sb) && put_string(sb, r);
	case 16: /* TXT */
	case 99: /* SPF */
		if (r->p >= r->end) {
			return false;
		}
		for (bool first = true; r->p < r->end; first = false) {
			if ((!first && !sp(sb)) || !put_string(sb, r)) {
				return false;
			}
		}
		return true;
	case 33: /* SRV */
		return put_u16(sb, r) && sp(sb) && put_u16(sb, r) && sp(sb) && put_u16(sb, r) &&
		       sp(sb) && put_name(sb, r);
	case 35: /* NAPTR */
		return put_u16(sb, r) && sp(sb) && put_u16(sb, r) && sp(sb) && put_string(sb, r) &&
		       sp(sb) && put_string(sb, r) && sp(sb) && put_string(sb, r) && sp(sb) &&
		       put_name(sb, r);
	case 43: /* DS */
	case 59: /* CDS */
		return put_u16(sb, r) && sp(sb) && put_u8(sb, r) && sp(sb) && put_u8(sb, r) &&
		       sp(sb) && put_hex_rest(sb, r);
	case 44: /* SSHFP */
		return put_u8(sb, r) && sp(sb) && put_u8(sb, r) && sp(sb) && put_hex_rest(sb, r);
	case 52: /* TLSA */
	case 53: /* SMIMEA */
		return put_u8(sb, r) && sp(sb) && put_u8(sb, r) && sp(sb) && put_u8(sb, r) &&
		       sp(sb) && put_hex_rest(sb, r);
	case 48: /* DNSKEY */
	case 60: /* CDNSKEY */
		return put_u16(sb, r) && sp(sb) && put_u8(sb, r) && sp(sb) && put_u8(sb, r) &&
		       sp(sb) && put_base64_rest(sb, r);
	case 46: { /* RRSIG */
		uint16_t covered;
		if (!rd_u16(r, &covered)) {
			return false;
		}
		sb_type(sb, covered);
		return sp(sb) && put_u8(sb, r) && sp(sb) && put_u8(sb, r) && sp(sb) &&
		       put_u32(sb, r) && sp(sb) && put_time(sb, r) && sp(sb) && put_time(sb, r) &&
		       sp(sb) && put_u16(sb, r) && sp(sb) && put_name(sb, r) && sp(sb) &&
		       put_base64_rest(sb, r);
	}
	case 47: /* NSEC */
		return put_name(sb, r) && put_bitmap(sb, r);
	case 50:   /* NSEC3 */
	case 51: { /* NSEC3PARAM */
		if (!put_u8(sb, r) || !sp(sb) || !put_u8(sb, r) || !sp(sb) || !put_u16(sb, r) ||
		    !sp(sb) || !rd_u8(r, &n) || r->end - r->p < n) {
			return false;
		}
		if (n == 0) {
			sb_putc(sb, '-');
		} else {
			sb_hex(sb, r->p, n);
		}
		r->p += n;
		if (type == 51) {
			return true;
		}
		if (!sp(sb) || !rd_u8(r, &n) || n == 0 || r->end - r->p < n) {
			return false;
		}
		sb_base32hex(sb, r->p, n);
		r->p += n;
		return put_bitmap(sb, r);
	}
	case 61: /* OPENPGPKEY */
		return put_base64_rest(sb, r);
	case 62: /* CSYNC */
		return put_u32(sb, r) && sp(sb) && put_u16(sb, r) && put_bitmap(sb, r);
	case 63: /* ZONEMD */
		return put_u32(sb, r) && sp(sb) && put_u8(sb, r) && sp(sb) && put_u8(sb, r) &&
		       sp(sb) && put_hex_rest(sb, r);
	case 256: /* URI: priority, weight, target (the rest, one string) */
		if (!put_u16(sb, r) || !sp(sb) || !put_u16(sb, r) || !sp(sb) || r->p >= r->end) {
			return false;
		}
		sb_quoted(sb, r->p, (size_t)(r->end - r->p));
		r->p = r->end;
		return true;
	case 257: { /* CAA: flags, tag (1..15 alphanumerics), value (the rest) */
		if (!put_u8(sb, r) || !sp(sb) || !rd_u8(r, &n) || n == 0 || n > 15 ||
		    r->end - r->p < n) {
			return false;
		}
		for (unsigned i = 0; i < n; i++) {
			uint8_t c = r->p[i];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z'))) {
				return false;
			}
			sb_putc(sb, (char)c);
		}
		r->p += n;
		sp(sb);
		sb_quoted(sb, r->p, (size_t)(r->end - r->p));
		r->p = r->end;
		return true;
	}
	default:
		return false;
	}
}

/* One record, newline included, appended to sb. owner_text is the owner in
 * presentation form. */
static void put_rr(sb_t *sb, const char *owner_text, uint16_t type, uint32_t ttl,
                   const uint8_t *rdata, size_t rdlen)
{
	sb_puts(sb, owner_text);
	sb_putc(sb, '\t');
	sb_u32(sb, ttl);
	sb_puts(sb, "\tIN\t");
	sb_type(sb, type);
	sb_putc(sb, '\t');
	size_t mark = sb->len;
	rd_t r = {rdata, rdata + rdlen};
	if (!put_rdata(sb, type, &r) || r.p != r.end) {
		/* RFC 3597 section 5: the generic form. */
		sb->len = mark < sb->len ? mark : sb->len;
		sb_puts(sb, "\\# ");
		sb_u32(sb, (uint32_t)rdlen);
		if (rdlen > 0) {
			sb_putc(sb, ' ');
			sb_hex(sb, rdata, rdlen);
		}
	}
	sb_putc(sb, '\n');
}

int zone_write_rr_str(const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                      size_t rdlen, char *buf, size_t cap, size_t *len)
{
	char name[DNAME_STR_MAXLEN];
	sb_t sb = {0};
	int ret = ZONE_OK;
	name_text(owner, name);
	put_rr(&sb, name, type, ttl, rdata, rdlen);
	if (sb.nomem) {
		ret = ZONE_ERR_NOMEM;
	} else if (sb.len >= cap) {
		ret = ZONE_ERR_BUFFER;
	} else {
		memcpy(buf, sb.p, sb.len);
		buf[sb.len] = '\0';
		if (len != NULL) {
			*len = sb.len;
		}
	}
	free(sb.p);
	return ret;
}

/* ---- whole zones ---- */

#define FLUSH_AT (256 * 1024)

static int flush(sb_t *sb, FILE *f)
{
	if (sb->nomem) {
		return ZONE_ERR_NOMEM;
	}
	if (sb->len > 0 && fwrite(sb->p, 1, sb->len, f) != sb->len) {
		return errno != 0 ? -errno : -EIO;
	}
	sb->len = 0;
	return ZONE_OK;
}

static void put_rrset(sb_t *sb, const char *owner, const zone_rrset_t *rrset)
{
	size_t pos = 0;
	zone_rdata_t rd;
	while (zone_rrset_next(rrset, &pos, &rd)) {
		put_rr(sb, owner, rrset->type, rrset->ttl, rd.data, rd.len);
	}
}

static void put_slot(sb_t *sb, const char *owner, const zone_slot_t *slot)
{
	if (slot->data != NULL) {
		put_rrset(sb, owner, slot->data);
	}
	if (slot->sigs != NULL) {
		put_rrset(sb, owner, slot->sigs);
	}
}

static int put_node(sb_t *sb, const zone_node_t *node, bool soa_first, FILE *f)
{
	if (node == NULL || node->nslots == 0) {
		return ZONE_OK;
	}
	char owner[DNAME_STR_MAXLEN];
	int ret = ZONE_OK;
	name_text(node->owner, owner);
	const zone_slot_t *soa = soa_first ? zone_node_find(node, ZONE_TYPE_SOA) : NULL;
	if (soa != NULL) {
		put_slot(sb, owner, soa);
	}
	for (size_t i = 0; i < node->nslots; i++) {
		if (&node->slots[i] != soa) {
			put_slot(sb, owner, &node->slots[i]);
		}
		if (sb->len >= FLUSH_AT && (ret = flush(sb, f)) != ZONE_OK) {
			return ret;
		}
	}
	return ZONE_OK;
}

int zone_write(const zone_t *z, FILE *f)
{
	sb_t sb = {0};
	int ret = ZONE_OK;
	errno = 0;
	for (size_t i = 0; i < z->count && ret == ZONE_OK; i++) {
		ret = put_node(&sb, zone_entry(z, i)->node, i == 0, f);
	}
	for (size_t i = 0; i < z->nsec3_count && ret == ZONE_OK; i++) {
		ret = put_node(&sb, zone_nsec3_node(z, i), false, f);
	}
	if (ret == ZONE_OK) {
		ret = flush(&sb, f);
	}
	free(sb.p);
	return ret;
}

/* Opens the directory of path (for fsync). */
static int open_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL) {
		return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	char *dir = strndup(path, n);
	if (dir == NULL) {
		errno = ENOMEM;
		return -1;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int e = errno;
	free(dir);
	errno = e;
	return fd;
}

int zone_write_file(const zone_t *z, const char *path)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + sizeof(".tmp.XXXXXX"));
	if (tmp == NULL) {
		return ZONE_ERR_NOMEM;
	}
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	int ret = ZONE_OK;
	FILE *f = NULL;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		free(tmp);
		return ret;
	}
	struct stat st;
	mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
	if (fchmod(fd, mode) != 0 || (f = fdopen(fd, "w")) == NULL) {
		ret = -errno;
		close(fd);
		goto fail;
	}
	ret = zone_write(z, f);
	if (ret == ZONE_OK && (fflush(f) != 0 || fsync(fd) != 0)) {
		ret = errno != 0 ? -errno : -EIO;
	}
	if (fclose(f) != 0 && ret == ZONE_OK) {
		ret = errno != 0 ? -errno : -EIO;
	}
	if (ret != ZONE_OK) {
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		ret = -errno;
		goto fail;
	}
	free(tmp);
	int dfd = open_dir_of(path);
	if (dfd < 0) {
		return -errno;
	}
	if (fsync(dfd) != 0) {
		ret = -errno;
	}
	close(dfd);
	return ret;
fail:
	unlink(tmp);
	free(tmp);
	return ret;
}
