/*
 * rollcheck: see rollcheck.h. Everything recorded lives in three interning
 * tables: RRset keys (owner, type), RRset contents (RRs + RRSIGs, deduped by
 * wire bytes) and DNSKEYs; versions are arrays of (content, TTL) entries.
 * Verification results are cached on the content, per (RRSIG, DNSKEY).
 */
#include "tests/support/rollcheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#define NONE         ((size_t)-1)
#define REPORT_LINES 8
#define DEFAULT_TTL  3600

/* An RRset key: owner and type (for RRSIGs, the type covered). */
typedef struct {
	ldns_rdf *owner; /* owned */
	ldns_rr_type type;
} rrkey_t;

/* A cached crypto verdict of ldns on (RRSIG index, DNSKEY id). */
typedef struct {
	size_t sig;
	size_t key;
	ldns_status st;
} vres_t;

/* The fields of one RRSIG the checks need. */
typedef struct {
	uint8_t alg;
	uint16_t tag;
	uint32_t inception; /* absolute, serial arithmetic */
	uint32_t expiration;
} siginfo_t;

/* One distinct RRset content with its RRSIGs. */
typedef struct {
	size_t rrkey;
	ldns_rr_list *rrs;  /* sorted; owned (deep) */
	ldns_rr_list *sigs; /* sorted; owned (deep) */
	siginfo_t *si;      /* per RRSIG of sigs */
	size_t *keys;       /* DNSKEY contents: the key id of each RR of rrs */
	uint8_t *wire;      /* rrs then sigs in wire form: the identity */
	size_t wlen;
	size_t nrrs;
	uint64_t hash;
	int64_t first_t; /* absolute publication time of the first holder */
	vres_t *vres;
	size_t nvres, capvres;
} content_t;

/* One distinct DNSKEY. */
typedef struct {
	ldns_rr *rr; /* owned */
	uint16_t tag;
	uint16_t flags;
	uint8_t alg;
} dnskey_t;

/* One RRset of a version. */
typedef struct {
	size_t content;
	uint32_t ttl; /* relative, seconds */
} entry_t;

/* One published version: of the zone, or of the DS set (one entry). */
typedef struct {
	int64_t t; /* absolute publication time */
	entry_t *e;
	size_t n;
} version_t;

struct rollcheck {
	ldns_rdf *zone;
	uint32_t zone_delay;   /* relative, seconds */
	uint32_t parent_delay; /* relative, seconds */
	size_t dnskey_rrkey;   /* (apex, DNSKEY) */
	size_t ds_rrkey;       /* (apex, DS): the parent's DS sets */
	rrkey_t *rrkeys;
	size_t nrrkeys, caprrkeys;
	content_t *contents;
	size_t ncontents, capcontents;
	dnskey_t *keys;
	size_t nkeys, capkeys;
	version_t *zv;
	size_t nzv, capzv;
	version_t *dv;
	size_t ndv, capdv;
};

const char *rollcheck_strerror(int status)
{
	switch (status) {
	case ROLLCHECK_OK:
		return "ok";
	case ROLLCHECK_E_PARSE:
		return "unparsable text";
	case ROLLCHECK_E_ORDER:
		return "version older than the previous one";
	case ROLLCHECK_E_OWNER:
		return "not a DS RR of the zone";
	case ROLLCHECK_E_RANGE:
		return "empty time range";
	case -ENOMEM:
		return "out of memory";
	default:
		return "unknown status";
	}
}

/* Makes room for need elements of size sz in *p (capacity *cap). */
static int grow(void *p, size_t *cap, size_t need, size_t sz)
{
	void **pp = p;
	if (need <= *cap) {
		return 0;
	}
	size_t c = *cap ? *cap * 2 : 8;
	while (c < need) {
		c *= 2;
	}
	void *n = realloc(*pp, c * sz);
	if (n == NULL) {
		return -ENOMEM;
	}
	*pp = n;
	*cap = c;
	return 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* qsort, which must not be given a NULL base even for n == 0. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1) {
		qsort(base, n, size, cmp);
	}
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ p[i]) * 1099511628211ULL;
	}
	return h;
}

/* The RRset key id of (owner, type), interned; owner is borrowed. */
static int intern_rrkey(rollcheck_t *rc, const ldns_rdf *owner, ldns_rr_type type, size_t *out)
{
	for (size_t i = 0; i < rc->nrrkeys; i++) {
		if (rc->rrkeys[i].type == type &&
		    ldns_dname_compare(rc->rrkeys[i].owner, owner) == 0) {
			*out = i;
			return 0;
		}
	}
	if (grow(&rc->rrkeys, &rc->caprrkeys, rc->nrrkeys + 1, sizeof(rrkey_t)) != 0) {
		return -ENOMEM;
	}
	ldns_rdf *o = ldns_rdf_clone(owner);
	if (o == NULL) {
		return -ENOMEM;
	}
	rc->rrkeys[rc->nrrkeys] = (rrkey_t){.owner = o, .type = type};
	*out = rc->nrrkeys++;
	return 0;
}

/* The DNSKEY id of rr, interned (rr is borrowed: a clone is kept). */
static int intern_key(rollcheck_t *rc, const ldns_rr *rr, size_t *out)
{
	for (size_t i = 0; i < rc->nkeys; i++) {
		if (ldns_rr_compare(rc->keys[i].rr, rr) == 0) {
			*out = i;
			return 0;
		}
	}
	if (grow(&rc->keys, &rc->capkeys, rc->nkeys + 1, sizeof(dnskey_t)) != 0) {
		return -ENOMEM;
	}
	ldns_rr *c = ldns_rr_clone(rr);
	if (c == NULL) {
		return -ENOMEM;
	}
	rc->keys[rc->nkeys] = (dnskey_t){
	        .rr = c,
	        .tag = ldns_calc_keytag(rr),
	        .flags = ldns_rdf2native_int16(ldns_rr_dnskey_flags(rr)),
	        .alg = ldns_rdf2native_int8(ldns_rr_dnskey_algorithm(rr)),
	};
	*out = rc->nkeys++;
	return 0;
}

static void content_deinit(content_t *c)
{
	ldns_rr_list_deep_free(c->rrs);
	ldns_rr_list_deep_free(c->sigs);
	free(c->si);
	free(c->keys);
	free(c->wire);
	free(c->vres);
}

/* Interns the content (rrs, sigs) of RRset key rrkey published at t. Takes
 * rrs and sigs over (freed at once when the content is known, and on
 * failure). */
static int intern_content(rollcheck_t *rc, size_t rrkey, ldns_rr_list *rrs, ldns_rr_list *sigs,
                          int64_t t, size_t *out)
{
	int ret = -ENOMEM;
	content_t c = {.rrkey = rrkey, .rrs = rrs, .sigs = sigs, .first_t = t};
	ldns_buffer *b = ldns_buffer_new(512);
	if (b == NULL) {
		goto fail;
	}
	ldns_rr_list_sort(rrs);
	ldns_rr_list_sort(sigs);
	if (ldns_rr_list2buffer_wire(b, rrs) != LDNS_STATUS_OK ||
	    ldns_rr_list2buffer_wire(b, sigs) != LDNS_STATUS_OK) {
		goto fail;
	}
	c.nrrs = ldns_rr_list_rr_count(rrs);
	c.wlen = ldns_buffer_position(b);
	c.hash = fnv1a(ldns_buffer_begin(b), c.wlen) ^ c.nrrs;
	for (size_t i = 0; i < rc->ncontents; i++) {
		const content_t *o = &rc->contents[i];
		if (o->hash == c.hash && o->rrkey == rrkey && o->nrrs == c.nrrs &&
		    o->wlen == c.wlen && memcmp(o->wire, ldns_buffer_begin(b), c.wlen) == 0) {
			ldns_buffer_free(b);
			ldns_rr_list_deep_free(rrs);
			ldns_rr_list_deep_free(sigs);
			*out = i;
			return 0;
		}
	}
	c.wire = malloc(c.wlen ? c.wlen : 1);
	if (c.wire == NULL) {
		goto fail;
	}
	memcpy(c.wire, ldns_buffer_begin(b), c.wlen);
	size_t ns = ldns_rr_list_rr_count(sigs);
	c.si = calloc(ns ? ns : 1, sizeof(siginfo_t));
	if (c.si == NULL) {
		goto fail;
	}
	for (size_t i = 0; i < ns; i++) {
		const ldns_rr *s = ldns_rr_list_rr(sigs, i);
		c.si[i] = (siginfo_t){
		        .alg = ldns_rdf2native_int8(ldns_rr_rrsig_algorithm(s)),
		        .tag = ldns_rdf2native_int16(ldns_rr_rrsig_keytag(s)),
		        .inception = ldns_rdf2native_int32(ldns_rr_rrsig_inception(s)),
		        .expiration = ldns_rdf2native_int32(ldns_rr_rrsig_expiration(s)),
		};
	}
	if (rc->rrkeys[rrkey].type == LDNS_RR_TYPE_DNSKEY) {
		c.keys = calloc(c.nrrs ? c.nrrs : 1, sizeof(size_t));
		if (c.keys == NULL) {
			goto fail;
		}
		for (size_t i = 0; i < c.nrrs; i++) {
			ret = intern_key(rc, ldns_rr_list_rr(rrs, i), &c.keys[i]);
			if (ret != 0) {
				goto fail;
			}
		}
		ret = -ENOMEM;
	}
	if (grow(&rc->contents, &rc->capcontents, rc->ncontents + 1, sizeof(content_t)) != 0) {
		goto fail;
	}
	ldns_buffer_free(b);
	rc->contents[rc->ncontents] = c;
	*out = rc->ncontents++;
	return 0;
fail:
	ldns_buffer_free(b);
	content_deinit(&c);
	return ret;
}

/* Parses text (borrowed) into *out (the caller owns it), with the line of
 * each RR in *lines (malloc'ed). Relative names are relative to the zone. */
static int parse_text(const rollcheck_t *rc, const char *text, ldns_rr_list **out, int **lines,
                      char *err, size_t errlen)
{
	int ret = -ENOMEM;
	ldns_rr_list *list = ldns_rr_list_new();
	int *ln = NULL;
	size_t capln = 0;
	ldns_rdf *origin = ldns_rdf_clone(rc->zone);
	ldns_rdf *prev = ldns_rdf_clone(rc->zone);
	FILE *fp = NULL;
	size_t len = strlen(text);
	if (list == NULL || origin == NULL || prev == NULL) {
		goto fail;
	}
	if (len > 0) {
		fp = fmemopen((void *)text, len, "r");
		if (fp == NULL) {
			ret = -errno;
			goto fail;
		}
	}
	uint32_t ttl = DEFAULT_TTL;
	int line = 0;
	while (fp != NULL && !feof(fp)) {
		ldns_rr *rr = NULL;
		ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
		if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
		    s == LDNS_STATUS_SYNTAX_ORIGIN) {
			continue;
		}
		if (s != LDNS_STATUS_OK) {
			set_err(err, errlen, "line %d: %s", line, ldns_get_errorstr_by_id(s));
			ret = s == LDNS_STATUS_MEM_ERR ? -ENOMEM : ROLLCHECK_E_PARSE;
			goto fail;
		}
		if (grow(&ln, &capln, ldns_rr_list_rr_count(list) + 1, sizeof(int)) != 0 ||
		    !ldns_rr_list_push_rr(list, rr)) {
			ldns_rr_free(rr);
			goto fail;
		}
		ln[ldns_rr_list_rr_count(list) - 1] = line;
	}
	if (fp != NULL) {
		fclose(fp);
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	*out = list;
	*lines = ln;
	return 0;
fail:
	if (fp != NULL) {
		fclose(fp);
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	ldns_rr_list_deep_free(list);
	free(ln);
	if (ret == -ENOMEM) {
		set_err(err, errlen, "out of memory");
	}
	return ret;
}

rollcheck_t *rollcheck_new(const char *zone, uint32_t zone_propagation_delay,
                           uint32_t parent_propagation_delay)
{
	rollcheck_t *rc = calloc(1, sizeof(*rc));
	if (rc == NULL) {
		return NULL;
	}
	rc->zone_delay = zone_propagation_delay;
	rc->parent_delay = parent_propagation_delay;
	if (ldns_str2rdf_dname(&rc->zone, zone) != LDNS_STATUS_OK) {
		goto fail;
	}
	ldns_dname2canonical(rc->zone);
	if (intern_rrkey(rc, rc->zone, LDNS_RR_TYPE_DNSKEY, &rc->dnskey_rrkey) != 0 ||
	    intern_rrkey(rc, rc->zone, LDNS_RR_TYPE_DS, &rc->ds_rrkey) != 0) {
		goto fail;
	}
	return rc;
fail:
	rollcheck_free(rc);
	return NULL;
}

void rollcheck_free(rollcheck_t *rc)
{
	if (rc == NULL) {
		return;
	}
	for (size_t i = 0; i < rc->nzv; i++) {
		free(rc->zv[i].e);
	}
	for (size_t i = 0; i < rc->ndv; i++) {
		free(rc->dv[i].e);
	}
	free(rc->zv);
	free(rc->dv);
	for (size_t i = 0; i < rc->ncontents; i++) {
		content_deinit(&rc->contents[i]);
	}
	free(rc->contents);
	for (size_t i = 0; i < rc->nkeys; i++) {
		ldns_rr_free(rc->keys[i].rr);
	}
	free(rc->keys);
	for (size_t i = 0; i < rc->nrrkeys; i++) {
		ldns_rdf_deep_free(rc->rrkeys[i].owner);
	}
	free(rc->rrkeys);
	ldns_rdf_deep_free(rc->zone);
	free(rc);
}

/* The type an RR is cached under: the type covered for an RRSIG. */
static ldns_rr_type cache_type(const ldns_rr *rr)
{
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG) {
		return ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
	}
	return ldns_rr_get_type(rr);
}

static int cmp_rr_key(const void *a, const void *b)
{
	const ldns_rr *x = *(ldns_rr *const *)a;
	const ldns_rr *y = *(ldns_rr *const *)b;
	int c = ldns_dname_compare(ldns_rr_owner(x), ldns_rr_owner(y));
	if (c != 0) {
		return c;
	}
	ldns_rr_type tx = cache_type(x), ty = cache_type(y);
	return tx < ty ? -1 : tx > ty;
}

/* Whether a version's RR is signed data the checker follows: in the zone,
 * IN, not below a delegation, and at a delegation only DS and NSEC. */
static bool followed(const rollcheck_t *rc, const ldns_rr *rr, const ldns_rr_list *cuts)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		return false;
	}
	if (ldns_dname_compare(owner, rc->zone) != 0 && !ldns_dname_is_subdomain(owner, rc->zone)) {
		return false;
	}
	ldns_rr_type type = cache_type(rr);
	for (size_t i = 0; i < ldns_rr_list_rr_count(cuts); i++) {
		const ldns_rdf *cut = ldns_rr_owner(ldns_rr_list_rr(cuts, i));
		if (ldns_dname_is_subdomain(owner, cut)) {
			return false;
		}
		if (ldns_dname_compare(owner, cut) == 0 && type != LDNS_RR_TYPE_DS &&
		    type != LDNS_RR_TYPE_NSEC) {
			return false;
		}
	}
	return true;
}

static int push_version(version_t **vv, size_t *n, size_t *cap, int64_t t, entry_t *e, size_t ne)
{
	if (grow(vv, cap, *n + 1, sizeof(version_t)) != 0) {
		return -ENOMEM;
	}
	(*vv)[(*n)++] = (version_t){.t = t, .e = e, .n = ne};
	return 0;
}

int rollcheck_add_zone(rollcheck_t *rc, int64_t t, const char *zone_text, char *err, size_t errlen)
{
	ldns_rr_list *all = NULL, *cuts = NULL, *rrs = NULL, *sigs = NULL;
	int *lines = NULL;
	entry_t *e = NULL;
	size_t ne = 0, cape = 0;
	if (rc->nzv > 0 && t < rc->zv[rc->nzv - 1].t) {
		set_err(err, errlen, "zone version at %lld before the previous one", (long long)t);
		return ROLLCHECK_E_ORDER;
	}
	int ret = parse_text(rc, zone_text, &all, &lines, err, errlen);
	if (ret != 0) {
		return ret;
	}
	ret = -ENOMEM;
	size_t n = ldns_rr_list_rr_count(all);
	/* Zone cuts: NS RRsets below the apex. */
	cuts = ldns_rr_list_new();
	if (cuts == NULL) {
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(all, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS &&
		    ldns_dname_compare(ldns_rr_owner(rr), rc->zone) != 0 &&
		    ldns_dname_is_subdomain(ldns_rr_owner(rr), rc->zone) &&
		    !ldns_rr_list_push_rr(cuts, rr)) {
			goto fail;
		}
	}
	/* Group by (owner, type covered); free what is not followed. */
	ldns_rr **arr = malloc((n ? n : 1) * sizeof(*arr));
	if (arr == NULL) {
		goto fail;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(all, i);
		if (followed(rc, rr, cuts)) {
			arr[m++] = rr;
		}
	}
	sort(arr, m, sizeof(*arr), cmp_rr_key);
	for (size_t i = 0; i < m;) {
		size_t j = i;
		while (j < m && cmp_rr_key(&arr[i], &arr[j]) == 0) {
			j++;
		}
		rrs = ldns_rr_list_new();
		sigs = ldns_rr_list_new();
		if (rrs == NULL || sigs == NULL) {
			free(arr);
			goto fail;
		}
		uint32_t ttl = UINT32_MAX;
		for (size_t k = i; k < j; k++) {
			bool sig = ldns_rr_get_type(arr[k]) == LDNS_RR_TYPE_RRSIG;
			ldns_rr *c = ldns_rr_clone(arr[k]);
			if (c == NULL || !ldns_rr_list_push_rr(sig ? sigs : rrs, c)) {
				ldns_rr_free(c);
				free(arr);
				goto fail;
			}
			if (!sig && ldns_rr_ttl(arr[k]) < ttl) {
				ttl = ldns_rr_ttl(arr[k]);
			}
		}
		if (ldns_rr_list_rr_count(rrs) > 0) {
			size_t key, content;
			if (intern_rrkey(rc, ldns_rr_owner(arr[i]), cache_type(arr[i]), &key) !=
			            0 ||
			    grow(&e, &cape, ne + 1, sizeof(entry_t)) != 0) {
				free(arr);
				goto fail;
			}
			ret = intern_content(rc, key, rrs, sigs, t, &content);
			rrs = sigs = NULL;
			if (ret != 0) {
				free(arr);
				goto fail;
			}
			ret = -ENOMEM;
			e[ne++] = (entry_t){.content = content, .ttl = ttl};
		} else {
			ldns_rr_list_deep_free(rrs);
			ldns_rr_list_deep_free(sigs);
			rrs = sigs = NULL;
		}
		i = j;
	}
	free(arr);
	if (push_version(&rc->zv, &rc->nzv, &rc->capzv, t, e, ne) != 0) {
		goto fail;
	}
	ldns_rr_list_free(cuts);
	ldns_rr_list_deep_free(all);
	free(lines);
	return 0;
fail:
	ldns_rr_list_deep_free(rrs);
	ldns_rr_list_deep_free(sigs);
	free(e);
	ldns_rr_list_free(cuts);
	ldns_rr_list_deep_free(all);
	free(lines);
	set_err(err, errlen, "out of memory");
	return ret;
}

int rollcheck_add_ds(rollcheck_t *rc, int64_t t, const char *ds_text, char *err, size_t errlen)
{
	ldns_rr_list *all = NULL, *rrs = NULL, *sigs = NULL;
	int *lines = NULL;
	entry_t *e = NULL;
	if (rc->ndv > 0 && t < rc->dv[rc->ndv - 1].t) {
		set_err(err, errlen, "DS set at %lld before the previous one", (long long)t);
		return ROLLCHECK_E_ORDER;
	}
	int ret = parse_text(rc, ds_text, &all, &lines, err, errlen);
	if (ret != 0) {
		return ret;
	}
	ret = -ENOMEM;
	rrs = ldns_rr_list_new();
	sigs = ldns_rr_list_new();
	e = malloc(sizeof(*e));
	if (rrs == NULL || sigs == NULL || e == NULL) {
		goto fail;
	}
	uint32_t ttl = UINT32_MAX;
	for (size_t i = 0; i < ldns_rr_list_rr_count(all); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(all, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG) {
			continue;
		}
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DS ||
		    ldns_dname_compare(ldns_rr_owner(rr), rc->zone) != 0) {
			set_err(err, errlen, "line %d: %s", lines[i],
			        rollcheck_strerror(ROLLCHECK_E_OWNER));
			ret = ROLLCHECK_E_OWNER;
			goto fail;
		}
		ldns_rr *c = ldns_rr_clone(rr);
		if (c == NULL || !ldns_rr_list_push_rr(rrs, c)) {
			ldns_rr_free(c);
			goto fail;
		}
		if (ldns_rr_ttl(rr) < ttl) {
			ttl = ldns_rr_ttl(rr);
		}
	}
	if (ldns_rr_list_rr_count(rrs) == 0) {
		ttl = 0;
	}
	size_t content;
	ret = intern_content(rc, rc->ds_rrkey, rrs, sigs, t, &content);
	rrs = sigs = NULL;
	if (ret != 0) {
		goto fail;
	}
	ret = -ENOMEM;
	e[0] = (entry_t){.content = content, .ttl = ttl};
	if (push_version(&rc->dv, &rc->ndv, &rc->capdv, t, e, 1) != 0) {
		goto fail;
	}
	ldns_rr_list_deep_free(all);
	free(lines);
	return 0;
fail:
	ldns_rr_list_deep_free(rrs);
	ldns_rr_list_deep_free(sigs);
	free(e);
	ldns_rr_list_deep_free(all);
	free(lines);
	if (ret == -ENOMEM) {
		set_err(err, errlen, "out of memory");
	}
	return ret;
}

/* Whether version i of vv (n versions, propagation delay d) can be in a
 * cache at t with TTL ttl: fetched at some f in [T_i, end_i), t - ttl < f
 * <= t. */
static bool held(const version_t *vv, size_t n, size_t i, uint32_t d, uint32_t ttl, int64_t t)
{
	if (vv[i].t > t) {
		return false;
	}
	if (i + 1 == n) {
		return true;
	}
	int64_t end = vv[i + 1].t + (int64_t)d;
	return end > vv[i].t && end > t - (int64_t)ttl;
}

/* RFC 4034 3.1.5 serial arithmetic on the validity window, as ldns does. */
static ldns_status check_window(const siginfo_t *s, int64_t t)
{
	uint32_t now = (uint32_t)t;
	if ((int32_t)(s->expiration - s->inception) < 0) {
		return LDNS_STATUS_CRYPTO_EXPIRATION_BEFORE_INCEPTION;
	}
	if ((int32_t)(now - s->inception) < 0) {
		return LDNS_STATUS_CRYPTO_SIG_NOT_INCEPTED;
	}
	if ((int32_t)(s->expiration - now) < 0) {
		return LDNS_STATUS_CRYPTO_SIG_EXPIRED;
	}
	return LDNS_STATUS_OK;
}

/* Whether RRSIG si of content c made by DNSKEY key verifies at t. The
 * crypto verdict of ldns is cached on c. */
static ldns_status verify(rollcheck_t *rc, content_t *c, size_t si, size_t key, int64_t t)
{
	ldns_status st = LDNS_STATUS_ERR;
	bool found = false;
	for (size_t i = 0; i < c->nvres; i++) {
		if (c->vres[i].sig == si && c->vres[i].key == key) {
			st = c->vres[i].st;
			found = true;
			break;
		}
	}
	if (!found) {
		st = ldns_verify_rrsig_time(c->rrs, ldns_rr_list_rr(c->sigs, si), rc->keys[key].rr,
		                            (time_t)c->si[si].inception);
		if (grow(&c->vres, &c->capvres, c->nvres + 1, sizeof(vres_t)) == 0) {
			c->vres[c->nvres++] = (vres_t){.sig = si, .key = key, .st = st};
		}
	}
	if (st != LDNS_STATUS_OK) {
		return st;
	}
	return check_window(&c->si[si], t);
}

static bool key_usable(const dnskey_t *k, uint8_t alg)
{
	return k->alg == alg && (k->flags & LDNS_KEY_ZONE_KEY) && !(k->flags & LDNS_KEY_REVOKE_KEY);
}

/* Rule 1 for algorithm alg: DS set d trusts DNSKEY content k (NULL: no
 * DNSKEY RRset). On failure, why gets the reason. */
static bool trusted(rollcheck_t *rc, const content_t *d, content_t *k, uint8_t alg, int64_t t,
                    char *why, size_t whylen)
{
	bool matched = false;
	snprintf(why, whylen, "algorithm %u: no DS matches a zone, unrevoked DNSKEY", alg);
	if (k == NULL) {
		snprintf(why, whylen, "algorithm %u: no DNSKEY RRset", alg);
		return false;
	}
	for (size_t i = 0; i < d->nrrs; i++) {
		const ldns_rr *ds = ldns_rr_list_rr(d->rrs, i);
		if (ldns_rdf2native_int8(ldns_rr_rdf(ds, 1)) != alg) {
			continue;
		}
		for (size_t j = 0; j < k->nrrs; j++) {
			const dnskey_t *key = &rc->keys[k->keys[j]];
			if (!key_usable(key, alg) || !ldns_rr_compare_ds(ds, key->rr)) {
				continue;
			}
			if (!matched) {
				snprintf(why, whylen,
				         "algorithm %u: no RRSIG over the DNSKEY RRset by key %u",
				         alg, key->tag);
			}
			matched = true;
			for (size_t s = 0; s < ldns_rr_list_rr_count(k->sigs); s++) {
				if (k->si[s].alg != alg || k->si[s].tag != key->tag) {
					continue;
				}
				ldns_status st = verify(rc, k, s, k->keys[j], t);
				if (st == LDNS_STATUS_OK) {
					return true;
				}
				snprintf(why, whylen, "algorithm %u: DNSKEY RRSIG by key %u: %s",
				         alg, key->tag, ldns_get_errorstr_by_id(st));
			}
		}
	}
	return false;
}

/* Rule 2 for algorithm alg: content c is signed by a key of k. */
static bool signed_by(rollcheck_t *rc, content_t *c, const content_t *k, uint8_t alg, int64_t t,
                      char *why, size_t whylen)
{
	snprintf(why, whylen, "algorithm %u: no RRSIG", alg);
	for (size_t s = 0; s < ldns_rr_list_rr_count(c->sigs); s++) {
		if (c->si[s].alg != alg) {
			continue;
		}
		bool have_key = false;
		for (size_t j = 0; k != NULL && j < k->nrrs; j++) {
			const dnskey_t *key = &rc->keys[k->keys[j]];
			if (!key_usable(key, alg) || key->tag != c->si[s].tag) {
				continue;
			}
			have_key = true;
			ldns_status st = verify(rc, c, s, k->keys[j], t);
			if (st == LDNS_STATUS_OK) {
				return true;
			}
			snprintf(why, whylen, "algorithm %u: RRSIG by key %u: %s", alg,
			         c->si[s].tag, ldns_get_errorstr_by_id(st));
		}
		if (!have_key) {
			snprintf(why, whylen, "algorithm %u: RRSIG by key %u: no such DNSKEY", alg,
			         c->si[s].tag);
		}
	}
	return false;
}

/* The failure report: the first REPORT_LINES failures, then a count. */
typedef struct {
	FILE *fp;
	char *buf;
	size_t len;
	uint64_t lines;
} report_t;

static void report_failure(rollcheck_t *rc, report_t *r, int64_t t, const content_t *d,
                           const content_t *k, const content_t *c, const char *why)
{
	if (r->fp == NULL || r->lines++ >= REPORT_LINES) {
		return;
	}
	char *owner = NULL, *type = NULL;
	if (c != NULL) {
		owner = ldns_rdf2str(rc->rrkeys[c->rrkey].owner);
		type = ldns_rr_type2str(rc->rrkeys[c->rrkey].type);
	}
	fprintf(r->fp, "t=%lld: DS set@%lld x DNSKEY", (long long)t, (long long)d->first_t);
	if (k != NULL) {
		fprintf(r->fp, "@%lld", (long long)k->first_t);
	} else {
		fprintf(r->fp, " (none)");
	}
	if (c != NULL) {
		fprintf(r->fp, " x %s %s@%lld", owner ? owner : "?", type ? type : "?",
		        (long long)c->first_t);
	}
	fprintf(r->fp, ": %s\n", why);
	free(owner);
	free(type);
}

/* (RRset key, content) pairs held at t. */
typedef struct {
	size_t rrkey;
	size_t content;
} held_t;

static int cmp_held(const void *a, const void *b)
{
	const held_t *x = a, *y = b;
	if (x->rrkey != y->rrkey) {
		return x->rrkey < y->rrkey ? -1 : 1;
	}
	return x->content < y->content ? -1 : x->content > y->content;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

int rollcheck_check(rollcheck_t *rc, int64_t t, uint64_t *mixes, char **report)
{
	int ret = -ENOMEM;
	held_t *h = NULL;
	size_t nh = 0, caph = 0;
	size_t *ds = NULL, nds = 0, capds = 0;
	size_t *dk = NULL, ndk = 0, capdk = 0;
	uint64_t count = 0;
	int failures = 0;
	report_t r = {0};
	if (report != NULL) {
		r.fp = open_memstream(&r.buf, &r.len);
		if (r.fp == NULL) {
			goto fail;
		}
	}
	for (size_t i = 0; i < rc->ndv; i++) {
		if (held(rc->dv, rc->ndv, i, rc->parent_delay, rc->dv[i].e[0].ttl, t)) {
			if (grow(&ds, &capds, nds + 1, sizeof(size_t)) != 0) {
				goto fail;
			}
			ds[nds++] = rc->dv[i].e[0].content;
		}
	}
	for (size_t i = 0; i < rc->nzv; i++) {
		const version_t *v = &rc->zv[i];
		for (size_t j = 0; j < v->n; j++) {
			if (!held(rc->zv, rc->nzv, i, rc->zone_delay, v->e[j].ttl, t)) {
				continue;
			}
			if (grow(&h, &caph, nh + 1, sizeof(held_t)) != 0) {
				goto fail;
			}
			h[nh++] = (held_t){.rrkey = rc->contents[v->e[j].content].rrkey,
			                   .content = v->e[j].content};
		}
	}
	sort(ds, nds, sizeof(size_t), cmp_size);
	sort(h, nh, sizeof(held_t), cmp_held);
	size_t u = 0;
	for (size_t i = 0; i < nds; i++) {
		if (u == 0 || ds[u - 1] != ds[i]) {
			ds[u++] = ds[i];
		}
	}
	nds = u;
	u = 0;
	for (size_t i = 0; i < nh; i++) {
		if (i > 0 && h[i - 1].content == h[i].content) {
			continue;
		}
		if (h[i].rrkey == rc->dnskey_rrkey) {
			if (grow(&dk, &capdk, ndk + 1, sizeof(size_t)) != 0) {
				goto fail;
			}
			dk[ndk++] = h[i].content;
			continue;
		}
		h[u++] = h[i];
	}
	nh = u;
	if (ndk == 0) {
		if (grow(&dk, &capdk, 1, sizeof(size_t)) != 0) {
			goto fail;
		}
		dk[ndk++] = NONE;
	}
	char why[256];
	for (size_t a = 0; a < nds; a++) {
		const content_t *d = &rc->contents[ds[a]];
		bool algs[256] = {false};
		for (size_t i = 0; i < d->nrrs; i++) {
			algs[ldns_rdf2native_int8(ldns_rr_rdf(ldns_rr_list_rr(d->rrs, i), 1))] =
			        true;
		}
		for (size_t b = 0; b < ndk; b++) {
			content_t *k = dk[b] == NONE ? NULL : &rc->contents[dk[b]];
			count += 1 + nh;
			if (d->nrrs == 0) {
				continue; /* insecure: everything validates */
			}
			bool ok = true;
			for (unsigned alg = 0; alg < 256 && ok; alg++) {
				if (algs[alg]) {
					ok = trusted(rc, d, k, (uint8_t)alg, t, why, sizeof(why));
				}
			}
			if (!ok) {
				/* The pair fails, and every data mix on top of it. */
				failures += 1 + (int)nh;
				report_failure(rc, &r, t, d, k, NULL, why);
				continue;
			}
			for (size_t c = 0; c < nh; c++) {
				content_t *data = &rc->contents[h[c].content];
				bool good = true;
				for (unsigned alg = 0; alg < 256 && good; alg++) {
					if (algs[alg]) {
						good = signed_by(rc, data, k, (uint8_t)alg, t, why,
						                 sizeof(why));
					}
				}
				if (!good) {
					failures++;
					report_failure(rc, &r, t, d, k, data, why);
				}
			}
		}
	}
	if (r.fp != NULL) {
		if (r.lines > REPORT_LINES) {
			fprintf(r.fp, "... and %llu more failures at t=%lld\n",
			        (unsigned long long)(r.lines - REPORT_LINES), (long long)t);
		}
		if (fclose(r.fp) != 0) {
			r.fp = NULL;
			goto fail;
		}
		r.fp = NULL;
		if (failures == 0) {
			free(r.buf);
			r.buf = NULL;
		}
		*report = r.buf;
		r.buf = NULL;
	}
	if (mixes != NULL) {
		*mixes += count;
	}
	ret = failures;
fail:
	if (r.fp != NULL) {
		fclose(r.fp);
	}
	free(r.buf);
	free(h);
	free(ds);
	free(dk);
	return ret;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Adds v-1, v, v+1 that fall in [from, to] to *out. */
static int add_instant(int64_t **out, size_t *n, size_t *cap, int64_t v, int64_t from, int64_t to)
{
	for (int64_t d = -1; d <= 1; d++) {
		if (v + d < from || v + d > to) {
			continue;
		}
		if (grow(out, cap, *n + 1, sizeof(int64_t)) != 0) {
			return -ENOMEM;
		}
		(*out)[(*n)++] = v + d;
	}
	return 0;
}

/* The instants of versions vv (n, delay d). */
static int version_instants(const version_t *vv, size_t n, uint32_t d, int64_t from, int64_t to,
                            int64_t **out, size_t *no, size_t *cap)
{
	for (size_t i = 0; i < n; i++) {
		if (add_instant(out, no, cap, vv[i].t, from, to) != 0) {
			return -ENOMEM;
		}
		if (i + 1 == n) {
			continue;
		}
		int64_t end = vv[i + 1].t + (int64_t)d;
		if (add_instant(out, no, cap, end, from, to) != 0) {
			return -ENOMEM;
		}
		for (size_t j = 0; j < vv[i].n; j++) {
			if (add_instant(out, no, cap, end + vv[i].e[j].ttl, from, to) != 0) {
				return -ENOMEM;
			}
		}
	}
	return 0;
}

int rollcheck_instants(const rollcheck_t *rc, int64_t from, int64_t to, int64_t **out, size_t *n)
{
	if (from > to) {
		return ROLLCHECK_E_RANGE;
	}
	int64_t *v = NULL;
	size_t nv = 0, cap = 0;
	if (version_instants(rc->zv, rc->nzv, rc->zone_delay, from, to, &v, &nv, &cap) != 0 ||
	    version_instants(rc->dv, rc->ndv, rc->parent_delay, from, to, &v, &nv, &cap) != 0) {
		free(v);
		return -ENOMEM;
	}
	sort(v, nv, sizeof(int64_t), cmp_i64);
	size_t u = 0;
	for (size_t i = 0; i < nv; i++) {
		if (u == 0 || v[u - 1] != v[i]) {
			v[u++] = v[i];
		}
	}
	if (u == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = u;
	return 0;
}
