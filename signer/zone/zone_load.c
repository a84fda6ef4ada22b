#include "signer/zone/zone_load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libzscanner/scanner.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_builder.h"
#include "signer/zone/zone_diff.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_generate.h"
#include "signer/zone/zone_write.h"

/* Bytes of $GENERATE output fed to the scanner at once. */
#define GEN_CHUNK (64 * 1024)
/* Characters of the offending line quoted in an error. */
#define EXCERPT_MAX 80
/* Tokens of a line looked at to explain an error. */
#define TOKENS_MAX 8

/* A record written over several lines, or with parentheses. */
typedef struct {
	unsigned long start, end;
} span_t;

/* One load: the builder and what this kind of load allows. With delta set
 * (zone_load_records), records go there instead, and the builder only
 * counts and reports problems. */
typedef struct {
	zone_builder_t *b;
	bool allow_include;
	zone_delta_t *delta;
	bool added;
	const uint8_t *apex;
} load_t;

/* One input being read (the main file or text, or an $INCLUDEd file). */
typedef struct {
	const char *name; /* for reports */
	int depth;        /* of $INCLUDE */
	zs_scanner_t *s;
	span_t *spans; /* multi-line records, in line order */
	size_t nspans, spans_cap, span_cur;
	unsigned long open_line; /* first line of a record left open at the end */
	/* The text the scanner reads now, for quoting lines in errors. */
	const char *seg;
	size_t seg_len;
	unsigned long seg_line; /* line number of its first line */
	size_t cur_off;         /* a line start in seg, and its number */
	unsigned long cur_line;
	unsigned long gen_line; /* while reading $GENERATE output: the directive's line */
	bool dead;              /* the scanner stopped on a fatal error */
} input_t;

static int load_input(load_t *L, const char *name, const char *text, size_t len, const char *origin,
                      uint32_t ttl, const char *dir, int depth);

/* ---- text helpers ---- */

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Whether text (n bytes, at a line start) is a $GENERATE directive. */
static bool is_generate(const char *t, size_t n)
{
	return n > 9 && strncasecmp(t, "$GENERATE", 9) == 0 && blank(t[9]);
}

/* Copies text with CR before LF made a blank and 8-bit octets written as
 * \DDD escapes (libzscanner 3.2 refuses both; BIND, NSD and ldns read them).
 * Line breaks stay where they are. NULL when out of memory. */
static char *fix_text(const char *t, size_t n, size_t *out_len)
{
	size_t extra = 0;
	for (size_t i = 0; i < n; i++) {
		extra += (unsigned char)t[i] >= 0x80 ? 3 : 0;
	}
	char *o = malloc(n + extra + 1);
	if (o == NULL) {
		return NULL;
	}
	size_t k = 0;
	bool esc = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c >= 0x80) {
			/* After an escaping backslash the digits alone make
			 * the \DDD escape. */
			if (!esc) {
				o[k++] = '\\';
			}
			o[k++] = (char)('0' + c / 100);
			o[k++] = (char)('0' + c / 10 % 10);
			o[k++] = (char)('0' + c % 10);
			esc = false;
			continue;
		}
		if (c == '\r' && i + 1 < n && t[i + 1] == '\n') {
			c = ' ';
		}
		o[k++] = (char)c;
		esc = c == '\\' && !esc;
	}
	o[k] = '\0';
	*out_len = k;
	return o;
}

/* The text of line number line in the current segment (empty past it). */
static const char *seg_line_text(input_t *in, unsigned long line, size_t *len)
{
	if (line < in->cur_line) {
		in->cur_off = 0;
		in->cur_line = in->seg_line;
	}
	while (in->cur_line < line && in->cur_off < in->seg_len) {
		const char *nl = memchr(in->seg + in->cur_off, '\n', in->seg_len - in->cur_off);
		in->cur_off = nl != NULL ? (size_t)(nl - in->seg) + 1 : in->seg_len;
		in->cur_line++;
	}
	if (in->cur_line != line || in->cur_off >= in->seg_len) {
		*len = 0;
		return "";
	}
	const char *p = in->seg + in->cur_off;
	const char *nl = memchr(p, '\n', in->seg_len - in->cur_off);
	*len = nl != NULL ? (size_t)(nl - p) : in->seg_len - in->cur_off;
	return p;
}

/* The line, trimmed, shortened and made printable, for an error message. */
static void excerpt(const char *p, size_t n, char *out, size_t cap)
{
	while (n > 0 && blank(p[0])) {
		p++;
		n--;
	}
	while (n > 0 && (blank(p[n - 1]) || p[n - 1] == '\n')) {
		n--;
	}
	bool cut = n > EXCERPT_MAX;
	if (cut) {
		n = EXCERPT_MAX;
	}
	size_t k = 0;
	for (size_t i = 0; i < n && k + 4 < cap; i++) {
		unsigned char c = (unsigned char)p[i];
		out[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (cut && k + 4 < cap) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

typedef struct {
	const char *p;
	size_t n;
} tok_t;

/* Splits a line (or a record's text) into blank-separated tokens, quoted
 * strings whole, parentheses and newlines as blanks, up to a comment
 * (comments inside a multi-line record end at their line). */
static size_t tokenize(const char *p, size_t n, tok_t *toks, size_t max)
{
	size_t count = 0, i = 0;
	while (i < n && count < max) {
		char c = p[i];
		if (blank(c) || c == '\n' || c == '(' || c == ')') {
			i++;
			continue;
		}
		if (c == ';') {
			while (i < n && p[i] != '\n') {
				i++;
			}
			continue;
		}
		size_t start = i;
		bool quote = false;
		while (i < n) {
			c = p[i];
			if (c == '\\' && i + 1 < n) {
				i += 2;
				continue;
			}
			if (c == '"') {
				quote = !quote;
			} else if (!quote &&
			           (blank(c) || c == '\n' || c == ';' || c == '(' || c == ')')) {
				break;
			}
			i++;
		}
		toks[count++] = (tok_t){p + start, i - start};
	}
	return count;
}

static bool tok_is(tok_t t, const char *s)
{
	return t.n == strlen(s) && strncasecmp(t.p, s, t.n) == 0;
}

/* ---- scanner errors ---- */

/* Whether a libzscanner error is about a field of RDATA (when the TTL and
 * class fields of the line are fine). */
static bool rdata_error(int code)
{
	switch (code) {
	case ZS_BAD_NUMBER:
	case ZS_NUMBER64_OVERFLOW:
	case ZS_NUMBER32_OVERFLOW:
	case ZS_NUMBER16_OVERFLOW:
	case ZS_NUMBER8_OVERFLOW:
	case ZS_FLOAT_OVERFLOW:
	case ZS_RDATA_OVERFLOW:
	case ZS_ITEM_OVERFLOW:
	case ZS_BAD_ADDRESS_CHAR:
	case ZS_BAD_IPV4:
	case ZS_BAD_IPV6:
	case ZS_BAD_GATEWAY:
	case ZS_BAD_GATEWAY_KEY:
	case ZS_BAD_APL:
	case ZS_BAD_RDATA:
	case ZS_BAD_HEX_RDATA:
	case ZS_BAD_HEX_CHAR:
	case ZS_BAD_BASE64_CHAR:
	case ZS_BAD_BASE32HEX_CHAR:
	case ZS_BAD_TIMESTAMP_CHAR:
	case ZS_BAD_TIMESTAMP_LENGTH:
	case ZS_BAD_TIMESTAMP:
	case ZS_BAD_DATE:
	case ZS_BAD_TIME:
	case ZS_BAD_TIME_UNIT:
	case ZS_BAD_BITMAP:
	case ZS_TEXT_OVERFLOW:
	case ZS_BAD_TEXT_CHAR:
	case ZS_BAD_TEXT:
	case ZS_BAD_RDATA_LENGTH:
	case ZS_CANNOT_TEXT_DATA:
	case ZS_BAD_LOC_DATA:
	case ZS_BAD_ALGORITHM:
	case ZS_BAD_CERT_TYPE:
	case ZS_BAD_EUI_LENGTH:
	case ZS_BAD_L64_LENGTH:
	case ZS_BAD_CHAR_COLON:
	case ZS_BAD_CHAR_DASH:
	case ZS_DUPLICATE_SVCB_KEY:
	case ZS_BAD_SVCB_PARAM:
	case ZS_BAD_SVCB_MANDATORY:
	case ZS_DUPLICATE_SVCB_MANDATORY:
	case ZS_MISSING_SVCB_MANDATORY:
	case ZS_EMPTY_LIST_ITEM:
		return true;
	default:
		return false;
	}
}

/* Turns a libzscanner error on a line into a status and a reason naming the
 * field at fault. */
static int explain(int code, const char *line, size_t n, char *msg, size_t cap)
{
	tok_t toks[TOKENS_MAX];
	size_t ntok = tokenize(line, n, toks, TOKENS_MAX);
	const char *why = zs_strerror(code);
	bool has_owner = n > 0 && !blank(line[0]) && line[0] != '\n';
	bool directive = has_owner && line[0] == '$';
	tok_t type = {NULL, 0};
	size_t fields = 0; /* RDATA tokens after the type */
	for (size_t k = has_owner ? 1 : 0; !directive && k < ntok; k++) {
		tok_t t = toks[k];
		if (t.p[0] >= '0' && t.p[0] <= '9') {
			if (!zone_generate_is_ttl(t.p, t.n)) {
				snprintf(msg, cap, "bad TTL '%.*s': %s", (int)t.n, t.p, why);
				return ZONE_ERR_TTL;
			}
			continue;
		}
		if (zone_generate_is_class(t.p, t.n)) {
			if (!tok_is(t, "IN")) {
				snprintf(msg, cap,
				         "class %.*s is not supported: the zone is class IN",
				         (int)t.n, t.p);
				return ZONE_ERR_CLASS;
			}
			continue;
		}
		type = t;
		fields = ntok - k - 1;
		break;
	}
	switch (code) {
	case ZS_ENOMEM:
		snprintf(msg, cap, "out of memory");
		return ZONE_ERR_NOMEM;
	case ZS_UNSUPPORTED_TYPE:
		if (type.p != NULL) {
			snprintf(msg, cap, "unknown RR type '%.*s'", (int)type.n, type.p);
		} else {
			snprintf(msg, cap, "%s", why);
		}
		return ZONE_ERR_UNKNOWN_TYPE;
	case ZS_LABEL_OVERFLOW:
		snprintf(msg, cap, "label longer than 63 octets");
		return ZONE_ERR_LABEL_TOO_LONG;
	case ZS_DNAME_OVERFLOW:
		snprintf(msg, cap, "domain name longer than 255 octets");
		return ZONE_ERR_NAME_TOO_LONG;
	case ZS_BAD_DNAME_CHAR:
	case ZS_BAD_OWNER:
	case ZS_BAD_PREVIOUS_OWNER:
	case ZS_BAD_ORIGIN:
		snprintf(msg, cap, "bad domain name: %s", why);
		return ZONE_ERR_NAME_SYNTAX;
	case ZS_BAD_TTL:
		snprintf(msg, cap, "bad TTL: %s", why);
		return ZONE_ERR_TTL;
	case ZS_BAD_INCLUDE_FILENAME:
	case ZS_BAD_INCLUDE_ORIGIN:
	case ZS_UNPROCESSED_INCLUDE:
	case ZS_UNOPENED_INCLUDE:
		snprintf(msg, cap, "bad $INCLUDE: %s", why);
		return ZONE_ERR_INCLUDE;
	case ZS_UNCLOSED_MULTILINE:
		snprintf(msg, cap,
		         "unbalanced '(': the record is not closed at the end of the file");
		return ZONE_ERR_SYNTAX;
	default:
		break;
	}
	if (rdata_error(code) && type.p != NULL) {
		/* A record that ends early is the commonest cause: say so. */
		static const struct {
			const char *type;
			size_t fields;
			const char *names;
		} need[] = {
		        {"MX", 2, "preference, exchange"},
		        {"SRV", 4, "priority, weight, port, target"},
		        {"SOA", 7, "mname, rname, serial, refresh, retry, expire, minimum"},
		        {"DS", 4, "key tag, algorithm, digest type, digest"},
		        {"NAPTR", 6, "order, preference, flags, services, regexp, replacement"},
		        {"CAA", 3, "flags, tag, value"},
		        {"TLSA", 4, "usage, selector, matching type, data"},
		        {"SSHFP", 3, "algorithm, type, fingerprint"},
		        {"DNSKEY", 4, "flags, protocol, algorithm, public key"},
		};
		for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
			if (tok_is(type, need[i].type) && fields < need[i].fields) {
				snprintf(msg, cap,
				         "bad %s RDATA: missing field(s): %s needs %zu (%s), "
				         "the record has %zu",
				         need[i].type, need[i].type, need[i].fields, need[i].names,
				         fields);
				return ZONE_ERR_RDATA;
			}
		}
		snprintf(msg, cap, "bad %.*s RDATA: %s", (int)type.n, type.p, why);
		return ZONE_ERR_RDATA;
	}
	snprintf(msg, cap, "syntax error: %s", why);
	return ZONE_ERR_SYNTAX;
}

/* ---- records ---- */

/* Types that never belong in a zone (as zone_builder). */
static bool is_meta_type(uint16_t type)
{
	return type == 0 || type == 41 || (type >= 128 && type <= 255);
}

/* A record for zone_load_records: checked (class, TTL, zone, meta type,
 * RDATA), made canonical, added to the delta. */
static void delta_record(load_t *L, const uint8_t *owner, uint16_t type, uint16_t rclass,
                         uint32_t ttl, const uint8_t *rdata, size_t rdlen, const char *file,
                         unsigned long line)
{
	char nbuf[DNAME_STR_MAXLEN], tbuf[16];
	if (dname_to_str(owner, nbuf, sizeof(nbuf)) != ZONE_OK) {
		strcpy(nbuf, "?");
	}
	zone_write_type_str(type, tbuf, sizeof(tbuf));
	if (rclass != 1) {
		zone_builder_error(L->b, ZONE_ERR_CLASS, file, line,
		                   "class %u is not supported: the zone is class IN",
		                   (unsigned)rclass);
		return;
	}
	if (ttl > 0x7fffffffu) {
		zone_builder_error(L->b, ZONE_ERR_TTL, file, line,
		                   "TTL %lu is above 2147483647 (RFC 2181 section 8)",
		                   (unsigned long)ttl);
		return;
	}
	if (!dname_is_subdomain(owner, L->apex)) {
		zone_builder_error(L->b, ZONE_ERR_OUT_OF_ZONE, file, line, "%s is outside the zone",
		                   nbuf);
		return;
	}
	if (is_meta_type(type)) {
		zone_builder_error(L->b, ZONE_ERR_UNKNOWN_TYPE, file, line,
		                   "type %s cannot be in a zone", tbuf);
		return;
	}
	uint8_t name[DNAME_MAXLEN], stack[512];
	uint8_t *rd = rdlen <= sizeof(stack) ? stack : malloc(rdlen);
	if (rd == NULL) {
		zone_builder_error(L->b, ZONE_ERR_NOMEM, file, line, "out of memory");
		return;
	}
	memcpy(name, owner, dname_length(owner));
	dname_to_lower(name);
	memcpy(rd, rdata, rdlen);
	if (rdlen > 65535 || !zone_rdata_canonicalize(type, rd, rdlen)) {
		zone_builder_error(L->b, ZONE_ERR_RDATA, file, line, "malformed %s RDATA", tbuf);
	} else if (zone_delta_add(L->delta, L->added, name, type, ttl, rd, (uint16_t)rdlen) !=
	           ZONE_OK) {
		zone_builder_error(L->b, ZONE_ERR_NOMEM, file, line, "out of memory");
	}
	if (rd != stack) {
		free(rd);
	}
}

/* One record read: to the builder, or to the delta. */
static void add_record(load_t *L, const uint8_t *owner, uint16_t type, uint16_t rclass,
                       uint32_t ttl, const uint8_t *rdata, size_t rdlen, const char *file,
                       unsigned long line)
{
	if (L->delta != NULL) {
		delta_record(L, owner, type, rclass, ttl, rdata, rdlen, file, line);
	} else {
		zone_builder_add(L->b, owner, type, rclass, ttl, rdata, rdlen, file, line);
	}
}

/* The line to report a record at: the first line of a record spanning
 * several. Records come in line order. */
static unsigned long record_line(input_t *in, unsigned long line)
{
	while (in->span_cur < in->nspans && in->spans[in->span_cur].end < line) {
		in->span_cur++;
	}
	if (in->span_cur < in->nspans && in->spans[in->span_cur].start <= line) {
		return in->spans[in->span_cur].start;
	}
	return line;
}

/* The span holding line, if any. */
static const span_t *span_of(const input_t *in, unsigned long line)
{
	size_t lo = 0, hi = in->nspans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (in->spans[mid].end < line) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo < in->nspans && in->spans[lo].start <= line ? &in->spans[lo] : NULL;
}

static void on_record(load_t *L, input_t *in)
{
	zs_scanner_t *s = in->s;
	unsigned long line = in->gen_line != 0 ? in->gen_line : record_line(in, s->line_counter);
	add_record(L, s->r_owner, s->r_type, s->r_class, s->r_ttl, s->r_data, s->r_data_length,
	           in->name, line);
}

/* The origin of a scanner in presentation form (DNAME_STR_MAXLEN). */
static bool origin_text(const zs_scanner_t *s, char *out)
{
	return s->zone_origin_length > 0 &&
	       dname_to_str(s->zone_origin, out, DNAME_STR_MAXLEN) == ZONE_OK;
}

/* Appends n bytes to a growing string. */
typedef struct {
	char *p;
	size_t len, cap;
	bool nomem;
} str_t;

static void str_add(str_t *st, const char *p, size_t n)
{
	if (st->nomem) {
		return;
	}
	if (st->cap - st->len <= n) {
		size_t cap = st->cap ? st->cap : 256;
		while (cap - st->len <= n) {
			cap *= 2;
		}
		char *q = realloc(st->p, cap);
		if (q == NULL) {
			st->nomem = true;
			return;
		}
		st->p = q;
		st->cap = cap;
	}
	memcpy(st->p + st->len, p, n);
	st->len += n;
	st->p[st->len] = '\0';
}

static void str_puts(str_t *st, const char *s)
{
	str_add(st, s, strlen(s));
}

/* The key an SVCB parameter name stands for where libzscanner 3.2 does not
 * know the name (or needs a value): dohpath (RFC 9461), ohttp (RFC 9540),
 * echconfig (the drafts' name of ech). NULL: keep the name. */
static const char *svcb_key(const char *k, size_t n, bool has_value)
{
	if (n == 7 && memcmp(k, "dohpath", 7) == 0) {
		return "key7";
	}
	if (n == 5 && memcmp(k, "ohttp", 5) == 0) {
		return "key8";
	}
	if ((n == 9 && memcmp(k, "echconfig", 9) == 0) || (n == 3 && memcmp(k, "ech", 3) == 0)) {
		return has_value ? "ech" : "key5";
	}
	return NULL;
}

static void svcb_param(str_t *st, tok_t t)
{
	const char *eq = memchr(t.p, '=', t.n);
	size_t klen = eq != NULL ? (size_t)(eq - t.p) : t.n;
	const char *key = svcb_key(t.p, klen, eq != NULL && eq + 1 < t.p + t.n);
	str_puts(st, " ");
	if (klen == 9 && memcmp(t.p, "mandatory", 9) == 0 && eq != NULL) {
		/* The names in the list too. */
		str_add(st, t.p, klen + 1);
		const char *p = eq + 1, *end = t.p + t.n;
		bool quoted = p < end && *p == '"';
		if (quoted) {
			str_add(st, p++, 1);
			end -= end > p && end[-1] == '"';
		}
		while (p < end) {
			const char *comma = memchr(p, ',', (size_t)(end - p));
			const char *e = comma != NULL ? comma : end;
			const char *m = svcb_key(p, (size_t)(e - p), true);
			if (m != NULL) {
				str_puts(st, m);
			} else {
				str_add(st, p, (size_t)(e - p));
			}
			if (comma != NULL) {
				str_add(st, ",", 1);
			}
			p = comma != NULL ? comma + 1 : end;
		}
		if (quoted) {
			str_add(st, "\"", 1);
		}
		return;
	}
	if (key != NULL) {
		str_puts(st, key);
		str_add(st, t.p + klen, t.n - klen);
	} else {
		str_add(st, t.p, t.n);
	}
}

/* An SVCB or HTTPS record libzscanner refused for a parameter name it does
 * not know: parsed again with the names it knows. Returns true if that
 * worked (the record is added). */
static bool retry_svcb(load_t *L, input_t *in, unsigned long line)
{
	zs_scanner_t *s = in->s;
	const span_t *sp = span_of(in, line);
	unsigned long first = sp != NULL ? sp->start : line, last = sp != NULL ? sp->end : line;
	size_t n0;
	const char *p0 = seg_line_text(in, first, &n0);
	size_t nl;
	const char *pl = seg_line_text(in, last, &nl);
	if (n0 == 0 || pl < p0) {
		return false;
	}
	size_t n = (size_t)(pl + nl - p0);
	tok_t toks[256];
	size_t ntok = tokenize(p0, n, toks, 256);
	size_t k = !blank(p0[0]) ? 1 : 0;
	while (k < ntok && ((toks[k].p[0] >= '0' && toks[k].p[0] <= '9') ||
	                    zone_generate_is_class(toks[k].p, toks[k].n))) {
		k++;
	}
	if (k + 2 >= ntok || ntok == 256 ||
	    !(tok_is(toks[k], "SVCB") || tok_is(toks[k], "HTTPS") || tok_is(toks[k], "TYPE64") ||
	      tok_is(toks[k], "TYPE65"))) {
		return false;
	}
	char owner[DNAME_STR_MAXLEN], origin[DNAME_STR_MAXLEN];
	if (dname_to_str(s->r_owner, owner, sizeof(owner)) != ZONE_OK || !origin_text(s, origin)) {
		return false;
	}
	str_t st = {0};
	str_puts(&st, owner);
	size_t from = !blank(p0[0]) ? 1 : 0;
	for (size_t i = from; i <= k + 2; i++) { /* TTL, class, type, priority, target */
		str_puts(&st, " ");
		str_add(&st, toks[i].p, toks[i].n);
	}
	for (size_t i = k + 3; i < ntok; i++) {
		svcb_param(&st, toks[i]);
	}
	str_puts(&st, "\n");
	bool ok = false;
	zs_scanner_t *aux = st.nomem ? NULL : malloc(sizeof(*aux));
	if (aux != NULL) {
		if (zs_init(aux, origin, 1, s->default_ttl) == 0 &&
		    zs_set_input_string(aux, st.p, st.len) == 0 && zs_parse_record(aux) == 0 &&
		    aux->state == ZS_STATE_DATA) {
			add_record(L, aux->r_owner, aux->r_type, aux->r_class, aux->r_ttl,
			           aux->r_data, aux->r_data_length, in->name, first);
			ok = true;
		}
		zs_deinit(aux);
		free(aux);
	}
	free(st.p);
	return ok;
}

static void on_error(load_t *L, input_t *in)
{
	zs_scanner_t *s = in->s;
	int code = s->error.code;
	unsigned long line = s->line_counter;
	if (code == ZS_UNCLOSED_MULTILINE && in->gen_line == 0 && in->open_line != 0) {
		line = in->open_line;
	}
	/* libzscanner skips the rest of the line after an error without
	 * looking at parentheses: if the record's ")" was on that line, it
	 * would take the lines after it as the rest of the record. */
	const span_t *closes = in->gen_line == 0 ? span_of(in, line) : NULL;
	if (closes != NULL && closes->end == line) {
		s->multiline = false;
	}
	if ((code == ZS_BAD_SVCB_PARAM || code == ZS_BAD_SVCB_MANDATORY) && in->gen_line == 0 &&
	    retry_svcb(L, in, line)) {
		return;
	}
	/* The fields are told apart from the record's first line on. */
	size_t n, n0;
	const span_t *sp = in->gen_line == 0 ? span_of(in, line) : NULL;
	const char *rec = sp != NULL ? seg_line_text(in, sp->start, &n0) : NULL;
	const char *text = seg_line_text(in, line, &n);
	char msg[512], ex[EXCERPT_MAX + 8];
	int status = rec != NULL && rec <= text
	                     ? explain(code, rec, (size_t)(text + n - rec), msg, sizeof(msg))
	                     : explain(code, text, n, msg, sizeof(msg));
	excerpt(text, n, ex, sizeof(ex));
	if (in->gen_line != 0) {
		zone_builder_error(L->b, status, in->name, in->gen_line,
		                   "%s in the $GENERATE record \"%s\"", msg, ex);
	} else if (ex[0] != '\0') {
		zone_builder_error(L->b, status, in->name, line, "%s in \"%s\"", msg, ex);
	} else {
		zone_builder_error(L->b, status, in->name, line, "%s", msg);
	}
}

/* ---- files ---- */

/* Reads a whole file: *text (free()) of *len bytes. Returns 0 or -errno. */
static int read_file(const char *path, char **text, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	struct stat st;
	int ret = 0;
	size_t cap = 65536, n = 0;
	if (fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			close(fd);
			return -EISDIR;
		}
		if (S_ISREG(st.st_mode) && st.st_size > 0) {
			cap = (size_t)st.st_size + 1;
		}
	}
	char *buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			char *p = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
			if (p == NULL) {
				ret = -ENOMEM;
				break;
			}
			buf = p;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			ret = -errno;
			break;
		}
		if (r == 0) {
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	if (ret != 0) {
		free(buf);
		return ret;
	}
	*text = buf;
	*len = n;
	return 0;
}

/* The text of an errno value (strerror() is not thread-safe). */
static const char *errno_text(int e, char *buf, size_t cap)
{
	/* The GNU strerror_r (the build defines _GNU_SOURCE). */
	return strerror_r(e, buf, cap);
}

/* The directory of path, for its relative $INCLUDEs (free()). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL) {
		return strdup(".");
	}
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

static void on_include(load_t *L, input_t *in)
{
	zs_scanner_t *s = in->s;
	unsigned long line = in->gen_line != 0 ? in->gen_line : s->line_counter;
	const char *path = s->include_filename;
	if (in->gen_line != 0 || !L->allow_include) {
		zone_builder_error(L->b, ZONE_ERR_INCLUDE, in->name, line,
		                   "$INCLUDE is not allowed in zone text");
		return;
	}
	if (in->depth + 1 > ZONE_LOAD_MAX_INCLUDE_DEPTH) {
		zone_builder_error(L->b, ZONE_ERR_INCLUDE, in->name, line,
		                   "$INCLUDE of '%s' nested more than %d deep", path,
		                   ZONE_LOAD_MAX_INCLUDE_DEPTH);
		return;
	}
	char *text = NULL, *dir = NULL, *name = strdup(path);
	size_t len = 0;
	int ret = name != NULL ? read_file(name, &text, &len) : -ENOMEM;
	if (ret == -ENOMEM) {
		zone_builder_error(L->b, ZONE_ERR_NOMEM, in->name, line, "out of memory");
	} else if (ret != 0) {
		char ebuf[128];
		zone_builder_error(L->b, ZONE_ERR_INCLUDE, in->name, line,
		                   "cannot read the $INCLUDE file '%s': %s", name,
		                   errno_text(-ret, ebuf, sizeof(ebuf)));
	} else if ((dir = dir_of(name)) == NULL) {
		zone_builder_error(L->b, ZONE_ERR_NOMEM, in->name, line, "out of memory");
	} else {
		/* The scanner wrote the origin for the file (as given or the
		 * current one) in presentation form into its buffer. */
		char origin[DNAME_STR_MAXLEN];
		size_t olen = strnlen((const char *)s->buffer, sizeof(origin) - 1);
		memcpy(origin, s->buffer, olen);
		origin[olen] = '\0';
		load_input(L, name, text, len, origin, s->default_ttl, dir, in->depth + 1);
	}
	free(dir);
	free(text);
	free(name);
}

/* Feeds text (complete lines; line number first_line first) to the scanner
 * and hands its records, errors and $INCLUDEs on. */
static void feed(load_t *L, input_t *in, const char *text, size_t len, unsigned long first_line)
{
	zs_scanner_t *s = in->s;
	in->seg = text;
	in->seg_len = len;
	in->seg_line = first_line;
	in->cur_off = 0;
	in->cur_line = first_line;
	if (len == 0) {
		return;
	}
	if (zs_set_input_string(s, text, len) != 0) {
		zone_builder_error(L->b, ZONE_ERR_NOMEM, in->name, first_line, "scanner: %s",
		                   zs_strerror(s->error.code));
		in->dead = true;
		return;
	}
	s->line_counter = first_line;
	while (!in->dead && !zone_builder_stopped(L->b)) {
		if (zs_parse_record(s) != 0) {
			in->dead = true;
			break;
		}
		switch (s->state) {
		case ZS_STATE_DATA:
			on_record(L, in);
			break;
		case ZS_STATE_ERROR:
			on_error(L, in);
			in->dead = s->error.fatal;
			break;
		case ZS_STATE_INCLUDE:
			on_include(L, in);
			break;
		default: /* ZS_STATE_EOF, ZS_STATE_STOP */
			return;
		}
	}
}

/* Feeds text, fixed first if it needs it (see fix_text). */
static void feed_fixed(load_t *L, input_t *in, const char *text, size_t len,
                       unsigned long first_line, bool fix)
{
	if (!fix) {
		feed(L, in, text, len, first_line);
		return;
	}
	size_t flen;
	char *fixed = fix_text(text, len, &flen);
	if (fixed == NULL) {
		zone_builder_error(L->b, ZONE_ERR_NOMEM, in->name, first_line, "out of memory");
		in->dead = true;
		return;
	}
	feed(L, in, fixed, flen, first_line);
	free(fixed);
}

static bool push_span(input_t *in, unsigned long start, unsigned long end)
{
	if (in->nspans == in->spans_cap) {
		size_t cap = in->spans_cap ? in->spans_cap * 2 : 16;
		span_t *v = realloc(in->spans, cap * sizeof(*v));
		if (v == NULL) {
			return false;
		}
		in->spans = v;
		in->spans_cap = cap;
	}
	in->spans[in->nspans++] = (span_t){start, end};
	return true;
}

/* Looks through text[pos..len) from line *line for the next $GENERATE at
 * the start of a line outside any record; notes the records that span lines
 * and whether the text needs fixing. Returns the offset of the directive (or
 * len) and sets *line to its line number. */
static size_t scan_segment(input_t *in, const char *text, size_t len, size_t pos,
                           unsigned long *line, bool *fix, bool *nomem)
{
	int depth = 0;
	bool quote = false, bol = true, paren = false;
	unsigned long rec = 0, l = *line;
	size_t i = pos;
	*fix = false;
	for (; i < len; i++) {
		char c = text[i];
		if (bol && depth == 0 && c == '$' && is_generate(text + i, len - i)) {
			break;
		}
		bol = false;
		if ((unsigned char)c >= 0x80) {
			*fix = true;
			if (rec == 0) {
				rec = l;
			}
			continue;
		}
		switch (c) {
		case '\n':
			if (depth == 0) {
				if (rec != 0 && (rec != l || paren) && !push_span(in, rec, l)) {
					*nomem = true;
				}
				rec = 0;
				paren = false;
			}
			quote = false;
			bol = true;
			l++;
			break;
		case '\r':
			*fix = *fix || (i + 1 < len && text[i + 1] == '\n');
			break;
		case ' ':
		case '\t':
			break;
		case ';':
			if (!quote) {
				while (i + 1 < len && text[i + 1] != '\n') {
					*fix = *fix || (unsigned char)text[i + 1] >= 0x80 ||
					       (text[i + 1] == '\r' && i + 2 < len &&
					        text[i + 2] == '\n');
					i++;
				}
			}
			break;
		case '"':
			quote = !quote;
			rec = rec != 0 ? rec : l;
			break;
		case '\\':
			rec = rec != 0 ? rec : l;
			if (i + 1 < len && text[i + 1] != '\n') {
				i++;
				*fix = *fix || (unsigned char)text[i] >= 0x80;
			}
			break;
		case '(':
			depth += !quote;
			paren = paren || !quote;
			rec = rec != 0 ? rec : l;
			break;
		case ')':
			depth -= !quote && depth > 0;
			break;
		default:
			rec = rec != 0 ? rec : l;
			break;
		}
	}
	if (i >= len && depth > 0) {
		in->open_line = rec;
	}
	*line = l;
	return i;
}

/* Expands the $GENERATE directive whose arguments are args (n bytes) at
 * line and feeds its records to the scanner. */
static void generate(load_t *L, input_t *in, const char *args, size_t n, unsigned long line)
{
	char why[256];
	zone_generate_t *g = NULL;
	char *chunk = NULL;
	size_t flen;
	char *fixed = fix_text(args, n, &flen);
	int ret = fixed != NULL ? zone_generate_parse(fixed, flen, &g, why, sizeof(why))
	                        : ZONE_ERR_NOMEM;
	free(fixed);
	if (ret == ZONE_ERR_NOMEM) {
		zone_builder_error(L->b, ret, in->name, line, "out of memory");
		return;
	}
	if (ret != ZONE_OK) {
		zone_builder_error(L->b, ret, in->name, line, "bad $GENERATE: %s", why);
		return;
	}
	size_t max = zone_generate_line_max(g);
	size_t cap = max * 2 > GEN_CHUNK ? max * 2 : GEN_CHUNK;
	chunk = malloc(cap);
	if (chunk == NULL) {
		zone_builder_error(L->b, ZONE_ERR_NOMEM, in->name, line, "out of memory");
		zone_generate_free(g);
		return;
	}
	in->gen_line = line;
	size_t used = 0, count = zone_generate_count(g);
	for (size_t i = 0; i < count && !in->dead && !zone_builder_stopped(L->b); i++) {
		if (cap - used < max) {
			feed(L, in, chunk, used, 1);
			used = 0;
		}
		size_t len = 0;
		zone_generate_line(g, i, chunk + used, cap - used, &len);
		used += len;
	}
	if (!in->dead && !zone_builder_stopped(L->b)) {
		feed(L, in, chunk, used, 1);
	}
	in->gen_line = 0;
	free(chunk);
	zone_generate_free(g);
}

/* Reads one input with its own scanner: origin and ttl (presentation form,
 * seconds) to start with; dir for its relative $INCLUDEs. */
static int load_input(load_t *L, const char *name, const char *text, size_t len, const char *origin,
                      uint32_t ttl, const char *dir, int depth)
{
	input_t in = {.name = name, .depth = depth};
	in.s = malloc(sizeof(*in.s));
	if (in.s == NULL) {
		zone_builder_error(L->b, ZONE_ERR_NOMEM, name, 0, "out of memory");
		return ZONE_ERR_NOMEM;
	}
	if (zs_init(in.s, origin, 1, ttl) != 0) {
		int code = in.s->error.code;
		zone_builder_error(L->b, code == ZS_ENOMEM ? ZONE_ERR_NOMEM : ZONE_ERR_NAME_SYNTAX,
		                   name, 0, "bad origin '%s': %s", origin, zs_strerror(code));
		zs_deinit(in.s);
		free(in.s);
		return ZONE_ERR_NAME_SYNTAX;
	}
	if (dir != NULL) {
		char *d = strdup(dir);
		if (d != NULL) {
			free(in.s->path);
			in.s->path = d;
		}
	}
	size_t pos = 0;
	unsigned long line = 1;
	while (!in.dead && !zone_builder_stopped(L->b)) {
		bool fix = false, nomem = false;
		unsigned long gen_line = line;
		size_t end = scan_segment(&in, text, len, pos, &gen_line, &fix, &nomem);
		if (nomem) {
			zone_builder_error(L->b, ZONE_ERR_NOMEM, name, line, "out of memory");
			break;
		}
		feed_fixed(L, &in, text + pos, end - pos, line, fix);
		if (end >= len || in.dead || zone_builder_stopped(L->b)) {
			break;
		}
		/* A $GENERATE line at end. */
		const char *nl = memchr(text + end, '\n', len - end);
		size_t eol = nl != NULL ? (size_t)(nl - text) : len;
		generate(L, &in, text + end + 9, eol - end - 9, gen_line);
		pos = eol < len ? eol + 1 : len;
		line = gen_line + 1;
		if (pos >= len) {
			break;
		}
	}
	zs_deinit(in.s);
	free(in.s);
	free(in.spans);
	return ZONE_OK;
}

/* ---- entry points ---- */

static void report_read_error(zone_builder_t *b, const char *path, int err)
{
	char ebuf[128];
	zone_builder_error(b, err, path, 0, "cannot read the zone file: %s",
	                   errno_text(-err, ebuf, sizeof(ebuf)));
}

typedef enum { SRC_FILE, SRC_TEXT } src_t;

static int load(src_t src, const char *path_or_text, size_t len, const char *name,
                const uint8_t *origin, uint32_t ttl, zone_builder_mode_t mode, zone_diag_fn report,
                void *ctx, zone_delta_t *delta, bool added, zone_builder_t **out)
{
	char origin_str[DNAME_STR_MAXLEN];
	zone_builder_t *b = NULL;
	int ret = dname_to_str(origin, origin_str, sizeof(origin_str));
	if (ret != ZONE_OK) {
		return ZONE_ERR_INVAL;
	}
	if ((ret = zone_builder_new(origin, mode, name, report, ctx, &b)) != ZONE_OK) {
		return ret;
	}
	load_t L = {.b = b,
	            .allow_include = src == SRC_FILE,
	            .delta = delta,
	            .added = added,
	            .apex = origin};
	if (src == SRC_TEXT) {
		load_input(&L, name, path_or_text, len, origin_str, ttl, NULL, 0);
	} else {
		char *text = NULL, *dir = NULL;
		size_t tlen = 0;
		int err = read_file(path_or_text, &text, &tlen);
		if (err == 0 && (dir = dir_of(path_or_text)) == NULL) {
			err = -ENOMEM;
		}
		if (err == -ENOMEM) {
			zone_builder_error(b, ZONE_ERR_NOMEM, name, 0, "out of memory");
		} else if (err != 0) {
			report_read_error(b, path_or_text, err);
		} else {
			load_input(&L, name, text, tlen, origin_str, ttl, dir, 0);
		}
		free(dir);
		free(text);
	}
	*out = b;
	return ZONE_OK;
}

int zone_load(const char *path, const uint8_t *origin, uint32_t default_ttl, zone_diag_fn report,
              void *ctx, zone_t **out)
{
	zone_builder_t *b = NULL;
	int ret = load(SRC_FILE, path, 0, path, origin, default_ttl, ZONE_BUILDER_ZONE, report, ctx,
	               NULL, false, &b);
	if (ret == ZONE_OK) {
		ret = zone_builder_finish(b, out);
	}
	zone_builder_free(b);
	return ret;
}

int zone_load_text(const char *text, size_t len, const char *name, const uint8_t *origin,
                   uint32_t default_ttl, zone_diag_fn report, void *ctx, zone_t **out)
{
	zone_builder_t *b = NULL;
	int ret = load(SRC_TEXT, text, len, name != NULL ? name : "(text)", origin, default_ttl,
	               ZONE_BUILDER_ZONE, report, ctx, NULL, false, &b);
	if (ret == ZONE_OK) {
		ret = zone_builder_finish(b, out);
	}
	zone_builder_free(b);
	return ret;
}

int zone_load_dnskeys(const char *path, const uint8_t *apex, uint32_t default_ttl,
                      zone_diag_fn report, void *ctx, zone_rrset_t **out)
{
	zone_builder_t *b = NULL;
	int ret = load(SRC_FILE, path, 0, path, apex, default_ttl, ZONE_BUILDER_DNSKEYS, report,
	               ctx, NULL, false, &b);
	if (ret == ZONE_OK) {
		ret = zone_builder_finish_dnskeys(b, out);
	}
	zone_builder_free(b);
	return ret;
}

int zone_load_records(const char *text, size_t len, const char *name, const uint8_t *origin,
                      uint32_t default_ttl, bool added, zone_diag_fn report, void *ctx,
                      zone_delta_t *out)
{
	zone_builder_t *b = NULL;
	zone_delta_t d;
	zone_delta_init(&d);
	int ret = load(SRC_TEXT, text, len, name != NULL ? name : "(text)", origin, default_ttl,
	               ZONE_BUILDER_ZONE, report, ctx, &d, added, &b);
	if (ret == ZONE_OK) {
		ret = zone_builder_status(b);
	}
	if (ret == ZONE_OK) {
		ret = zone_delta_move(out, &d);
	}
	zone_delta_deinit(&d);
	zone_builder_free(b);
	return ret;
}
