#include "signer/zone/zone_generate.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signer/zone/zone_error.h"

/* Widest field a substitution may ask for. */
#define WIDTH_MAX 255

/* A piece of a template: literal text, or the value substituted. */
typedef struct {
	bool subst;
	char base; /* d o x X n N */
	uint16_t width;
	int64_t offset;
	size_t off, len; /* literal: text in pool */
} piece_t;

typedef struct {
	piece_t *v;
	size_t n, cap;
} pieces_t;

struct zone_generate {
	uint32_t start, stop, step;
	size_t count;
	char *pool; /* literal text of both templates, and the middle fields */
	size_t pool_len, pool_cap;
	pieces_t lhs, rhs;
	size_t mid_off, mid_len; /* " [ttl] [class] type " */
	size_t line_max;
};

static int fail(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t cap, const char *fmt, ...)
{
	if (why != NULL && cap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return ZONE_ERR_GENERATE;
}

static bool pool_add(zone_generate_t *g, const char *s, size_t n, size_t *off)
{
	if (g->pool_cap - g->pool_len < n + 1) {
		size_t cap = g->pool_cap ? g->pool_cap : 64;
		while (cap - g->pool_len < n + 1) {
			cap *= 2;
		}
		char *p = realloc(g->pool, cap);
		if (p == NULL) {
			return false;
		}
		g->pool = p;
		g->pool_cap = cap;
	}
	*off = g->pool_len;
	memcpy(g->pool + g->pool_len, s, n);
	g->pool_len += n;
	g->pool[g->pool_len] = '\0';
	return true;
}

static bool pieces_push(pieces_t *p, piece_t piece)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		piece_t *v = realloc(p->v, cap * sizeof(*v));
		if (v == NULL) {
			return false;
		}
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = piece;
	return true;
}

/* Appends literal text to the template (merged with a literal before it). */
static bool add_literal(zone_generate_t *g, pieces_t *p, const char *s, size_t n)
{
	size_t off;
	if (n == 0) {
		return true;
	}
	if (!pool_add(g, s, n, &off)) {
		return false;
	}
	if (p->n > 0 && !p->v[p->n - 1].subst && p->v[p->n - 1].off + p->v[p->n - 1].len == off) {
		p->v[p->n - 1].len += n;
		return true;
	}
	return pieces_push(p, (piece_t){.subst = false, .off = off, .len = n});
}

/* Parses a signed decimal number of at most 10 digits at *s (< end). */
static bool parse_int(const char **s, const char *end, int64_t *v)
{
	const char *p = *s;
	bool neg = false;
	if (p < end && (*p == '-' || *p == '+')) {
		neg = *p == '-';
		p++;
	}
	const char *digits = p;
	int64_t x = 0;
	while (p < end && *p >= '0' && *p <= '9' && p - digits < 10) {
		x = x * 10 + (*p - '0');
		p++;
	}
	if (p == digits || (p < end && *p >= '0' && *p <= '9')) {
		return false;
	}
	*v = neg ? -x : x;
	*s = p;
	return true;
}

/* Compiles a template (lhs or rhs) of n bytes. */
static int compile(zone_generate_t *g, pieces_t *p, const char *s, size_t n, char *why,
                   size_t why_cap)
{
	const char *end = s + n, *lit = s;
	while (s < end) {
		if (*s == '\\') {
			/* An escape passes through as it is (the scanner reads
			 * "\$" as a literal "$"). */
			s += s + 1 < end ? 2 : 1;
			continue;
		}
		if (*s != '$') {
			s++;
			continue;
		}
		if (!add_literal(g, p, lit, (size_t)(s - lit))) {
			return ZONE_ERR_NOMEM;
		}
		s++;
		if (s < end && *s == '$') { /* "$$": a literal "$" */
			if (!add_literal(g, p, "\\$", 2)) {
				return ZONE_ERR_NOMEM;
			}
			lit = ++s;
			continue;
		}
		piece_t sub = {.subst = true, .base = 'd'};
		if (s < end && *s == '{') {
			s++;
			int64_t v;
			if (!parse_int(&s, end, &sub.offset)) {
				return fail(why, why_cap, "bad offset in ${...}");
			}
			if (s < end && *s == ',') {
				s++;
				if (!parse_int(&s, end, &v) || v < 0 || v > WIDTH_MAX) {
					return fail(why, why_cap, "bad width in ${...} (0..%d)",
					            WIDTH_MAX);
				}
				sub.width = (uint16_t)v;
				if (s < end && *s == ',') {
					s++;
					if (s >= end || strchr("doxXnN", *s) == NULL) {
						return fail(
						        why, why_cap,
						        "bad base in ${...} (d, o, x, X, n or N)");
					}
					sub.base = *s++;
				}
			}
			if (s >= end || *s != '}') {
				return fail(why, why_cap, "unterminated ${...}");
			}
			s++;
		}
		int64_t lo = (int64_t)g->start + sub.offset, hi = (int64_t)g->stop + sub.offset;
		if (lo < 0 || hi > (int64_t)UINT32_MAX) {
			return fail(why, why_cap, "offset %lld puts values outside 0..4294967295",
			            (long long)sub.offset);
		}
		if (!pieces_push(p, sub)) {
			return ZONE_ERR_NOMEM;
		}
		lit = s;
	}
	return add_literal(g, p, lit, (size_t)(s - lit)) ? ZONE_OK : ZONE_ERR_NOMEM;
}

/* Longest expansion of a template. */
static size_t template_max(const zone_generate_t *g, const pieces_t *p)
{
	size_t n = 0;
	(void)g;
	for (size_t i = 0; i < p->n; i++) {
		if (p->v[i].subst) {
			/* 32-bit value: 11 octal digits, or 8 nibbles and dots. */
			n += p->v[i].width > 16 ? p->v[i].width : 16;
		} else {
			n += p->v[i].len;
		}
	}
	return n;
}

/* Splits off the next blank-separated token (a quoted one whole); returns
 * false at the end of the line or at a comment. */
static bool next_token(const char **s, const char *end, const char **tok, size_t *len)
{
	const char *p = *s;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) {
		p++;
	}
	if (p >= end || *p == ';' || *p == '\n') {
		*s = p;
		return false;
	}
	const char *t = p;
	bool quoted = false;
	while (p < end) {
		if (*p == '\\' && p + 1 < end) {
			p += 2;
			continue;
		}
		if (*p == '"') {
			quoted = !quoted;
		} else if (!quoted &&
		           (*p == ' ' || *p == '\t' || *p == ';' || *p == '\r' || *p == '\n')) {
			break;
		}
		p++;
	}
	*tok = t;
	*len = (size_t)(p - t);
	*s = p;
	return true;
}

/* A TTL: a number, or numbers with units s m h d w (BIND: "1h30m"). */
bool zone_generate_is_ttl(const char *t, size_t n)
{
	if (n == 0 || t[0] < '0' || t[0] > '9') {
		return false;
	}
	uint64_t total = 0, cur = 0;
	bool digits = false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (c >= '0' && c <= '9') {
			cur = cur * 10 + (uint64_t)(c - '0');
			digits = true;
			if (cur > UINT32_MAX) {
				return false;
			}
			continue;
		}
		uint64_t unit;
		switch (c) {
		case 's':
		case 'S':
			unit = 1;
			break;
		case 'm':
		case 'M':
			unit = 60;
			break;
		case 'h':
		case 'H':
			unit = 3600;
			break;
		case 'd':
		case 'D':
			unit = 86400;
			break;
		case 'w':
		case 'W':
			unit = 604800;
			break;
		default:
			return false;
		}
		if (!digits) {
			return false;
		}
		total += cur * unit;
		cur = 0;
		digits = false;
		if (total > UINT32_MAX) {
			return false;
		}
	}
	return total + cur <= UINT32_MAX;
}

bool zone_generate_is_class(const char *t, size_t n)
{
	static const char *const classes[] = {"IN", "CH", "CS", "HS", "NONE", "ANY"};
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (strlen(classes[i]) == n && strncasecmp(t, classes[i], n) == 0) {
			return true;
		}
	}
	return n > 5 && strncasecmp(t, "CLASS", 5) == 0 && t[5] >= '0' && t[5] <= '9';
}

static bool parse_u31(const char **s, const char *end, uint32_t *v)
{
	const char *p = *s;
	uint64_t x = 0;
	while (p < end && *p >= '0' && *p <= '9') {
		x = x * 10 + (uint64_t)(*p - '0');
		if (x > 0x7fffffffu) {
			return false;
		}
		p++;
	}
	if (p == *s) {
		return false;
	}
	*v = (uint32_t)x;
	*s = p;
	return true;
}

static int parse_range(zone_generate_t *g, const char *t, size_t n, char *why, size_t why_cap)
{
	const char *s = t, *end = t + n;
	g->step = 1;
	if (!parse_u31(&s, end, &g->start) || s >= end || *s++ != '-' ||
	    !parse_u31(&s, end, &g->stop) ||
	    (s < end && (*s++ != '/' || !parse_u31(&s, end, &g->step))) || s != end) {
		return fail(why, why_cap,
		            "bad range '%.*s' (start-stop[/step], numbers 0..2147483647)", (int)n,
		            t);
	}
	if (g->start > g->stop) {
		return fail(why, why_cap, "range start %lu is above its stop %lu",
		            (unsigned long)g->start, (unsigned long)g->stop);
	}
	if (g->step == 0) {
		return fail(why, why_cap, "range step is 0");
	}
	g->count = (size_t)(g->stop - g->start) / g->step + 1;
	if (g->count > ZONE_GENERATE_MAX_RECORDS) {
		return fail(why, why_cap, "range makes %zu records, more than %u", g->count,
		            ZONE_GENERATE_MAX_RECORDS);
	}
	return ZONE_OK;
}

static int parse(zone_generate_t *g, const char *text, size_t len, char *why, size_t why_cap)
{
	const char *s = text, *end = text + len, *tok;
	size_t tlen;
	int ret;
	if (!next_token(&s, end, &tok, &tlen)) {
		return fail(why, why_cap, "missing range");
	}
	if ((ret = parse_range(g, tok, tlen, why, why_cap)) != ZONE_OK) {
		return ret;
	}
	const char *lhs;
	size_t lhs_len;
	if (!next_token(&s, end, &lhs, &lhs_len)) {
		return fail(why, why_cap, "missing owner (lhs)");
	}
	/* [ttl] [class] type, in any order of ttl and class. */
	const char *mid = s;
	bool have_ttl = false, have_class = false;
	for (;;) {
		if (!next_token(&s, end, &tok, &tlen)) {
			return fail(why, why_cap, "missing type");
		}
		if (!have_ttl && tok[0] >= '0' && tok[0] <= '9') {
			if (!zone_generate_is_ttl(tok, tlen)) {
				return fail(why, why_cap, "bad TTL '%.*s'", (int)tlen, tok);
			}
			have_ttl = true;
			continue;
		}
		if (!have_class && zone_generate_is_class(tok, tlen)) {
			if (tlen != 2 || strncasecmp(tok, "IN", 2) != 0) {
				if (why != NULL && why_cap > 0) {
					snprintf(
					        why, why_cap,
					        "class %.*s is not supported: the zone is class IN",
					        (int)tlen, tok);
				}
				return ZONE_ERR_CLASS;
			}
			have_class = true;
			continue;
		}
		break; /* the type */
	}
	/* The middle fields as written, blanks before them included. */
	size_t off;
	if (!pool_add(g, mid, (size_t)(s - mid), &g->mid_off) || !pool_add(g, " ", 1, &off)) {
		return ZONE_ERR_NOMEM;
	}
	g->mid_len = g->pool_len - g->mid_off;
	/* rhs: the rest up to a comment, trailing blanks dropped. */
	while (s < end && (*s == ' ' || *s == '\t')) {
		s++;
	}
	const char *rhs = s;
	const char *rend = s;
	while (next_token(&s, end, &tok, &tlen)) {
		rend = tok + tlen;
	}
	if (rend == rhs) {
		return fail(why, why_cap, "missing RDATA (rhs)");
	}
	if ((ret = compile(g, &g->lhs, lhs, lhs_len, why, why_cap)) != ZONE_OK ||
	    (ret = compile(g, &g->rhs, rhs, (size_t)(rend - rhs), why, why_cap)) != ZONE_OK) {
		return ret;
	}
	g->line_max = template_max(g, &g->lhs) + g->mid_len + template_max(g, &g->rhs) + 2;
	return ZONE_OK;
}

int zone_generate_parse(const char *text, size_t len, zone_generate_t **out, char *why,
                        size_t why_cap)
{
	zone_generate_t *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		return ZONE_ERR_NOMEM;
	}
	int ret = parse(g, text, len, why, why_cap);
	if (ret != ZONE_OK) {
		zone_generate_free(g);
		return ret;
	}
	*out = g;
	return ZONE_OK;
}

size_t zone_generate_count(const zone_generate_t *g)
{
	return g->count;
}

uint32_t zone_generate_value(const zone_generate_t *g, size_t i)
{
	return g->start + (uint32_t)i * g->step;
}

size_t zone_generate_line_max(const zone_generate_t *g)
{
	return g->line_max;
}

/* Writes value per the substitution at o; returns the length. o has room for
 * template_max's share. */
static size_t format(const piece_t *sub, uint32_t value, char *o)
{
	static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
	uint64_t v = (uint64_t)((int64_t)value + sub->offset);
	size_t n = 0;
	if (sub->base == 'n' || sub->base == 'N') {
		const char *digits = sub->base == 'n' ? lower : upper;
		size_t width = sub->width;
		do {
			o[n++] = digits[v & 15];
			v >>= 4;
			if (width > 0) {
				width--;
			}
			if (width > 0 || v != 0) {
				o[n++] = '.';
				if (width > 0) {
					width--;
				}
			}
		} while (v != 0 || width > 0);
		return n;
	}
	char tmp[24];
	size_t k = 0;
	unsigned radix = sub->base == 'd' ? 10 : sub->base == 'o' ? 8 : 16;
	const char *digits = sub->base == 'X' ? upper : lower;
	do {
		tmp[k++] = digits[v % radix];
		v /= radix;
	} while (v != 0);
	while (n + k < sub->width) {
		o[n++] = '0';
	}
	while (k > 0) {
		o[n++] = tmp[--k];
	}
	return n;
}

static size_t expand(const zone_generate_t *g, const pieces_t *p, uint32_t value, char *o)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (p->v[i].subst) {
			n += format(&p->v[i], value, o + n);
		} else {
			memcpy(o + n, g->pool + p->v[i].off, p->v[i].len);
			n += p->v[i].len;
		}
	}
	return n;
}

int zone_generate_line(const zone_generate_t *g, size_t i, char *buf, size_t cap, size_t *len)
{
	if (cap < g->line_max) {
		return ZONE_ERR_BUFFER;
	}
	uint32_t value = zone_generate_value(g, i);
	size_t n = expand(g, &g->lhs, value, buf);
	memcpy(buf + n, g->pool + g->mid_off, g->mid_len);
	n += g->mid_len;
	n += expand(g, &g->rhs, value, buf + n);
	buf[n++] = '\n';
	buf[n] = '\0';
	if (len != NULL) {
		*len = n;
	}
	return ZONE_OK;
}

void zone_generate_free(zone_generate_t *g)
{
	if (g == NULL) {
		return;
	}
	free(g->lhs.v);
	free(g->rhs.v);
	free(g->pool);
	free(g);
}
