/*
 * test_sign_zone_update: the incremental signing pass against the whole one.
 *
 * For NSEC, NSEC3 (no salt, 0 iterations), NSEC3 with a salt and NSEC3 with
 * opt-out: a random zone of a few hundred names is signed whole, then taken
 * through rounds of random changes (records, names, delegations over names
 * that become or stop being occluded, DS, empty non-terminals, DNAME, TTLs),
 * each applied as an unsigned delta to the last signed version and signed
 * with sign_zone_update(). Every result must pass the whole verifier
 * (coverage and chain over the zone; crypto over every RRSIG the previous,
 * verified, version does not share, and over all of them now and then) and
 * equal, RRSIG RDATA aside, what sign_zone() makes of the same input; the
 * changes the incremental pass cannot take must come back SIGN_ERR_WHOLE
 * with nothing written. A model of the unsigned records (model_t) is the
 * source of each delta and is checked against every result.
 */
#include "signer/sign/sign_zone.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/hsm_ctx.h"
#include "hsm/hsm_key.h"
#include "signer/sign/sign_error.h"
#include "signer/sign/sign_verify.h"
#include "signer/zone/dname.h"
#include "signer/zone/zone_builder.h"
#include "signer/zone/zone_diff.h"
#include "signer/zone/zone_error.h"
#include "tests/support/testutil.h"
#include "tests/support/testutil_hsm.h"

#define ROUNDS 40
#define NOW    1800000000
#define HOSTS  80

static hsm_ctx_t *ctx;
static hsm_key_t ksk, zsk, extra;
static sign_keyset_t keys;  /* KSK + ZSK, ECDSA P-256 */
static sign_keyset_t keys3; /* the same and one more published ZSK */
static uint8_t apex[DNAME_MAXLEN];
static int apex_labels;

/* Up to 20 mismatches printed per run. */
static size_t mismatches;

/* What the signer reported during the last call, and how often. */
static char messages[8192];
static size_t nreports;

/* Fixed seeds: the same sequence on every libc. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	return testutil_rand(&rng_state);
}

static size_t below(size_t n)
{
	return (size_t)(rnd() % n);
}

static void report(void *arg, sign_zone_level_t level, const char *msg)
{
	(void)arg;
	(void)level;
	nreports++;
	size_t used = strlen(messages);
	if (used + 2 < sizeof(messages)) {
		snprintf(messages + used, sizeof(messages) - used, "%s\n", msg);
	}
}

static void diag(void *arg, zone_diag_level_t level, const char *file, unsigned long line,
                 const char *msg)
{
	(void)arg;
	printf("\n  zone %s: %s:%lu: %s", level == ZONE_DIAG_ERROR ? "error" : "warning", file,
	       line, msg);
}

static void vreport(void *arg, const sign_verify_failure_t *f)
{
	(void)arg;
	printf("\n  verify: %s type %u key %u/%u: %s %s", f->owner_text, f->type, f->algorithm,
	       f->key_tag, sign_verify_reason_str(f->reason), f->detail);
}

/* Wire form of a name in presentation form, relative to the apex. */
static void mkname(uint8_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mkname(uint8_t *out, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	CU_ASSERT_EQUAL_FATAL(dname_from_str(text, apex, out, DNAME_MAXLEN, NULL), ZONE_OK);
}

static void name_str(const uint8_t *name, char *out)
{
	dname_to_str(name, out, DNAME_STR_MAXLEN);
}

/* --- the model: the unsigned records of the zone --- */

#define MAXRD 96

typedef struct {
	uint8_t owner[DNAME_MAXLEN];
	uint16_t type;
	uint16_t rdlen;
	uint32_t ttl;
	uint8_t rdata[MAXRD];
} rec_t;

typedef struct {
	rec_t *r;
	size_t n, cap;
} model_t;

static int rec_cmp(const void *a, const void *b)
{
	const rec_t *x = a, *y = b;
	int c = dname_canonical_cmp(x->owner, y->owner);
	if (c != 0) {
		return c;
	}
	if (x->type != y->type) {
		return x->type < y->type ? -1 : 1;
	}
	return zone_rdata_cmp(x->rdata, x->rdlen, y->rdata, y->rdlen);
}

static void model_copy(model_t *dst, const model_t *src)
{
	dst->n = src->n;
	dst->cap = src->n + 64;
	dst->r = malloc(dst->cap * sizeof(*dst->r));
	CU_ASSERT_PTR_NOT_NULL_FATAL(dst->r);
	memcpy(dst->r, src->r, src->n * sizeof(*src->r));
}

static void model_free(model_t *m)
{
	free(m->r);
	*m = (model_t){0};
}

static bool is_apex(const uint8_t *name)
{
	return dname_equal(name, apex);
}

/* The index of the record, or m->n. */
static size_t model_find(const model_t *m, const uint8_t *owner, uint16_t type, const uint8_t *rd,
                         size_t len)
{
	for (size_t i = 0; i < m->n; i++) {
		const rec_t *r = &m->r[i];
		if (r->type == type && r->rdlen == len && memcmp(r->rdata, rd, len) == 0 &&
		    dname_equal(r->owner, owner)) {
			return i;
		}
	}
	return m->n;
}

static bool has_type(const model_t *m, const uint8_t *owner, uint16_t type)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->r[i].type == type && dname_equal(m->r[i].owner, owner)) {
			return true;
		}
	}
	return false;
}

static bool has_data(const model_t *m, const uint8_t *owner)
{
	for (size_t i = 0; i < m->n; i++) {
		if (dname_equal(m->r[i].owner, owner)) {
			return true;
		}
	}
	return false;
}

/* Records strictly below name. */
static size_t descendants(const model_t *m, const uint8_t *name)
{
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++) {
		k += !dname_equal(m->r[i].owner, name) && dname_is_subdomain(m->r[i].owner, name);
	}
	return k;
}

/* Adds a record (a no-op if present); it takes the TTL of its RRset if the
 * RRset exists, as an RRset has one TTL. Returns 1 if added. */
static size_t model_add(model_t *m, const uint8_t *owner, uint16_t type, uint32_t ttl,
                        const uint8_t *rd, size_t len)
{
	CU_ASSERT_FATAL(len <= MAXRD);
	if (model_find(m, owner, type, rd, len) < m->n) {
		return 0;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (m->r[i].type == type && dname_equal(m->r[i].owner, owner)) {
			ttl = m->r[i].ttl;
			break;
		}
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 256;
		m->r = realloc(m->r, m->cap * sizeof(*m->r));
		CU_ASSERT_PTR_NOT_NULL_FATAL(m->r);
	}
	rec_t *r = &m->r[m->n++];
	memset(r, 0, sizeof(*r));
	memcpy(r->owner, owner, dname_length(owner));
	r->type = type;
	r->ttl = ttl;
	r->rdlen = (uint16_t)len;
	memcpy(r->rdata, rd, len);
	return 1;
}

static void model_del_at(model_t *m, size_t i)
{
	m->r[i] = m->r[--m->n];
}

/* Removes the records at owner of type (every type: 0); returns how many. */
static size_t model_del(model_t *m, const uint8_t *owner, uint16_t type)
{
	size_t k = 0;
	for (size_t i = m->n; i-- > 0;) {
		if ((type == 0 || m->r[i].type == type) && dname_equal(m->r[i].owner, owner)) {
			model_del_at(m, i);
			k++;
		}
	}
	return k;
}

/* Removes every record at or below name; returns how many. */
static size_t model_del_tree(model_t *m, const uint8_t *name)
{
	size_t k = 0;
	for (size_t i = m->n; i-- > 0;) {
		if (dname_is_subdomain(m->r[i].owner, name)) {
			model_del_at(m, i);
			k++;
		}
	}
	return k;
}

/* The delta from a to b (the models of z and of the next version): records
 * of a missing from b removed, records of b new or with another TTL added.
 * The model's SOA has serial 100; the delta's SOAs get z's serial. Sorts
 * both models. */
static void model_delta(const zone_t *z, model_t *a, model_t *b, zone_delta_t *d)
{
	qsort(a->r, a->n, sizeof(*a->r), rec_cmp);
	qsort(b->r, b->n, sizeof(*b->r), rec_cmp);
	const zone_rrset_t *soa = zone_apex_rrset(z, ZONE_TYPE_SOA);
	zone_rdata_t cur;
	size_t pos = 0;
	CU_ASSERT_FATAL(soa != NULL && zone_rrset_next(soa, &pos, &cur) && cur.len >= 20);
	size_t i = 0, j = 0;
	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : rec_cmp(&a->r[i], &b->r[j]);
		rec_t r = c < 0 ? a->r[i] : b->r[j];
		if (c != 0 || r.ttl != a->r[i].ttl) {
			if (r.type == ZONE_TYPE_SOA) {
				memcpy(r.rdata + r.rdlen - 20, cur.data + cur.len - 20, 4);
			}
			CU_ASSERT_EQUAL_FATAL(
			        zone_delta_add(d, c >= 0, r.owner, r.type, r.ttl, r.rdata, r.rdlen),
			        ZONE_OK);
		}
		i += c <= 0;
		j += c >= 0;
	}
}

static zone_t *model_zone(const model_t *m)
{
	zone_builder_t *b = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_builder_new(apex, ZONE_BUILDER_ZONE, "model", diag, NULL, &b),
	                      ZONE_OK);
	for (size_t i = 0; i < m->n; i++) {
		const rec_t *r = &m->r[i];
		CU_ASSERT_EQUAL_FATAL(zone_builder_add(b, r->owner, r->type, 1, r->ttl, r->rdata,
		                                       r->rdlen, "model", i + 1),
		                      ZONE_OK);
	}
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_builder_finish(b, &z), ZONE_OK);
	zone_builder_free(b);
	return z;
}

/* --- RDATA --- */

static size_t rd_name(const uint8_t *name, uint8_t *rd)
{
	size_t len = dname_length(name);
	memcpy(rd, name, len);
	return len;
}

static size_t rd_soa(uint32_t serial, uint32_t minimum, uint8_t *rd)
{
	uint8_t mname[DNAME_MAXLEN], rname[DNAME_MAXLEN];
	mkname(mname, "ns1");
	mkname(rname, "hostmaster");
	size_t n = rd_name(mname, rd);
	n += rd_name(rname, rd + n);
	const uint32_t v[5] = {serial, 7200, 3600, 1209600, minimum};
	for (size_t i = 0; i < 5; i++) {
		rd[n++] = (uint8_t)(v[i] >> 24);
		rd[n++] = (uint8_t)(v[i] >> 16);
		rd[n++] = (uint8_t)(v[i] >> 8);
		rd[n++] = (uint8_t)v[i];
	}
	return n;
}

/* Random RDATA of A, AAAA, TXT or DS. */
static size_t rd_random(uint16_t type, uint8_t *rd)
{
	uint64_t x = rnd();
	switch (type) {
	case ZONE_TYPE_A:
		rd[0] = 192;
		rd[1] = 0;
		rd[2] = 2;
		rd[3] = (uint8_t)x;
		return 4;
	case ZONE_TYPE_AAAA:
		memcpy(rd, "\x20\x01\x0d\xb8\0\0\0\0", 8);
		for (size_t i = 0; i < 8; i++) {
			rd[8 + i] = (uint8_t)(x >> (8 * i));
		}
		return 16;
	case ZONE_TYPE_DS:
		rd[0] = (uint8_t)(x >> 8);
		rd[1] = (uint8_t)x;
		rd[2] = 13;
		rd[3] = 2;
		for (size_t i = 0; i < 32; i++) {
			rd[4 + i] = (uint8_t)rnd();
		}
		return 36;
	default: /* TXT */
		rd[0] = (uint8_t)snprintf((char *)rd + 1, MAXRD - 1, "t%08x", (unsigned)x);
		return 1u + rd[0];
	}
}

static const uint16_t host_types[] = {ZONE_TYPE_A, ZONE_TYPE_AAAA, 16 /* TXT */};

static size_t add_random(model_t *m, const uint8_t *owner, uint16_t type)
{
	uint8_t rd[MAXRD];
	size_t len = rd_random(type, rd);
	return model_add(m, owner, type, 3600, rd, len);
}

static size_t add_ns(model_t *m, const uint8_t *owner, const uint8_t *target)
{
	uint8_t rd[MAXRD];
	return model_add(m, owner, ZONE_TYPE_NS, 3600, rd, rd_name(target, rd));
}

/* --- the random zone --- */

static const char *const pool[] = {"a", "b", "c", "d", "e", "f", "g", "x", "y", "z"};

static void model_build(model_t *m)
{
	uint8_t o[DNAME_MAXLEN], t[DNAME_MAXLEN], rd[MAXRD];
	model_add(m, apex, ZONE_TYPE_SOA, 3600, rd, rd_soa(100, 300, rd));
	mkname(t, "ns1");
	add_ns(m, apex, t);
	add_random(m, t, ZONE_TYPE_A);
	mkname(t, "ns2");
	add_ns(m, apex, t);
	add_random(m, t, ZONE_TYPE_A);
	add_random(m, t, ZONE_TYPE_AAAA);
	for (unsigned i = 0; i < HOSTS; i++) {
		mkname(o, "h%u", i);
		unsigned mask = 1 + (unsigned)below(7);
		for (size_t k = 0; k < 3; k++) {
			if (mask & (1u << k)) {
				add_random(m, o, host_types[k]);
			}
		}
		if (below(4) == 0) {
			add_random(m, o, ZONE_TYPE_A);
		}
	}
	for (unsigned i = 0; i < 20; i++) {
		mkname(o, "d%u", i);
		if (below(3) > 0) {
			mkname(t, "ns.d%u", i);
			add_ns(m, o, t);
			add_random(m, t, ZONE_TYPE_A);
		} else {
			CU_ASSERT_EQUAL_FATAL(
			        dname_from_str("ns1.ext.net.", NULL, t, sizeof(t), NULL), ZONE_OK);
			add_ns(m, o, t);
		}
		if (below(2) == 0) {
			add_random(m, o, ZONE_TYPE_DS);
		}
		if (below(5) == 0) {
			mkname(t, "x.y.d%u", i);
			add_random(m, t, 16);
		}
	}
	/* Deep names: their missing ancestors are empty non-terminals. */
	for (unsigned i = 0; i < 30; i++) {
		if (i % 2 == 0) {
			mkname(o, "%s.%s.h%u", pool[below(10)], pool[below(10)],
			       (unsigned)below(HOSTS));
		} else {
			mkname(o, "%s.%s.%s.e%u", pool[below(10)], pool[below(10)], pool[below(10)],
			       i);
		}
		add_random(m, o, host_types[below(3)]);
	}
	mkname(o, "*.w");
	add_random(m, o, 16);
	mkname(o, "*.h3");
	add_random(m, o, ZONE_TYPE_A);
	mkname(o, "dn");
	CU_ASSERT_EQUAL_FATAL(dname_from_str("target.example.net.", NULL, t, sizeof(t), NULL),
	                      ZONE_OK);
	model_add(m, o, ZONE_TYPE_DNAME, 3600, rd, rd_name(t, rd));
	mkname(o, "a.dn");
	add_random(m, o, ZONE_TYPE_A);
	mkname(o, "b.c.dn");
	add_random(m, o, 16);
	/* Fixed names for the occlusion test. */
	mkname(o, "deep");
	add_random(m, o, ZONE_TYPE_A);
	mkname(o, "a.deep");
	add_random(m, o, ZONE_TYPE_A);
	mkname(o, "b.c.deep");
	add_random(m, o, 16);
	mkname(o, "x.y.z.deep");
	add_random(m, o, ZONE_TYPE_AAAA);
}

/* --- random changes --- */

/* A random owner of the model, not the apex; NULL after some tries. */
static const uint8_t *random_owner(const model_t *m)
{
	for (int tries = 0; tries < 50; tries++) {
		const uint8_t *o = m->r[below(m->n)].owner;
		if (!is_apex(o)) {
			return o;
		}
	}
	return NULL;
}

static bool prepend(uint8_t *name, const char *label)
{
	size_t ll = strlen(label), len = dname_length(name);
	if (len + ll + 1 > DNAME_MAXLEN) {
		return false;
	}
	memmove(name + ll + 1, name, len);
	name[0] = (uint8_t)ll;
	memcpy(name + 1, label, ll);
	return true;
}

static const char *random_label(char *buf)
{
	if (below(3) == 0) {
		snprintf(buf, 16, "n%u", (unsigned)below(1000));
		return buf;
	}
	return pool[below(10)];
}

/* Kinds of random change. */
enum {
	OP_ADD_RR,
	OP_DEL_RR,
	OP_ADD_NAME,
	OP_DEL_NAME,
	OP_ADD_CUT,
	OP_DEL_CUT,
	OP_DS,
	OP_ADD_ENT,
	OP_DEL_ENT,
	OP_TTL,
	OP_DNAME,
	OP_COUNT
};

static const unsigned op_weight[OP_COUNT] = {3, 3, 3, 2, 3, 3, 2, 2, 2, 2, 1};

/* A name to put a cut or a DNAME at: an ancestor of a random owner, so that
 * the names below become occluded (with leaf_ok, now and then the owner
 * itself); below the apex, no wildcard, neither NS nor DNAME there. */
static bool cut_candidate(const model_t *m, uint8_t *out, bool leaf_ok)
{
	for (int tries = 0; tries < 20; tries++) {
		const uint8_t *o = random_owner(m);
		if (o == NULL) {
			return false;
		}
		if (!(leaf_ok && below(4) == 0)) {
			if (dname_labels(o) < apex_labels + 2) {
				continue;
			}
			o = dname_parent(o);
			while (dname_labels(o) > apex_labels + 1 && below(3) == 0) {
				o = dname_parent(o);
			}
		}
		if (dname_is_wildcard(o) || has_type(m, o, ZONE_TYPE_NS) ||
		    has_type(m, o, ZONE_TYPE_DNAME)) {
			continue;
		}
		memcpy(out, o, dname_length(o));
		return true;
	}
	return false;
}

/* An owner (not the apex) with a record of type; false if none. */
static bool owner_with(const model_t *m, uint16_t type, uint8_t *out)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n; i++) {
		n += m->r[i].type == type && !is_apex(m->r[i].owner);
	}
	if (n == 0) {
		return false;
	}
	size_t k = below(n);
	for (size_t i = 0; i < m->n; i++) {
		if (m->r[i].type == type && !is_apex(m->r[i].owner) && k-- == 0) {
			memcpy(out, m->r[i].owner, dname_length(m->r[i].owner));
			break;
		}
	}
	return true;
}

/* One random change to m; returns the records it touched (0: none). */
static size_t random_op(model_t *m)
{
	unsigned total = 0;
	for (size_t i = 0; i < OP_COUNT; i++) {
		total += op_weight[i];
	}
	unsigned pick = (unsigned)below(total), op = 0;
	while (pick >= op_weight[op]) {
		pick -= op_weight[op++];
	}
	uint8_t n[DNAME_MAXLEN], t[DNAME_MAXLEN], rd[MAXRD];
	char buf[16];
	const uint8_t *o = NULL;
	size_t k = 0;
	switch (op) {
	case OP_ADD_RR:
		o = below(12) == 0 ? apex : random_owner(m);
		return o != NULL ? add_random(m, o, host_types[below(3)]) : 0;
	case OP_DEL_RR: {
		size_t i = below(m->n);
		if (is_apex(m->r[i].owner) &&
		    (m->r[i].type == ZONE_TYPE_SOA || m->r[i].type == ZONE_TYPE_NS)) {
			return 0;
		}
		memcpy(n, m->r[i].owner, dname_length(m->r[i].owner));
		uint16_t type = m->r[i].type;
		model_del_at(m, i);
		k = 1;
		if (type == ZONE_TYPE_NS && !has_type(m, n, ZONE_TYPE_NS)) {
			k += model_del(m, n, ZONE_TYPE_DS); /* no DS without a cut */
		}
		return k;
	}
	case OP_ADD_NAME:
		o = below(10) < 3 ? apex : random_owner(m);
		if (o == NULL || dname_is_wildcard(o) || dname_labels(o) > apex_labels + 4) {
			o = apex;
		}
		memcpy(n, o, dname_length(o));
		if (below(4) == 0 && !is_apex(o)) {
			/* Data at the parent: an empty non-terminal no more, if it
			 * was one. */
			memmove(n, dname_parent(o), dname_length(dname_parent(o)));
		} else {
			for (size_t i = 0, depth = 1 + below(2); i < depth; i++) {
				prepend(n,
				        i + 1 == depth && below(12) == 0 ? "*" : random_label(buf));
			}
		}
		if (is_apex(n) || has_data(m, n)) {
			return 0;
		}
		for (size_t i = 0, count = 1 + below(2); i < count; i++) {
			k += add_random(m, n, host_types[below(3)]);
		}
		return k;
	case OP_DEL_NAME:
		o = random_owner(m);
		if (o == NULL) {
			return 0;
		}
		memcpy(n, o, dname_length(o));
		return model_del(m, n, 0);
	case OP_ADD_CUT:
		if (!cut_candidate(m, n, true)) {
			return 0;
		}
		if (below(2) == 0) {
			memcpy(t, n, dname_length(n));
			prepend(t, "ns");
			k += add_random(m, t, ZONE_TYPE_A); /* glue */
		} else {
			mkname(t, "ns1.d%u", (unsigned)below(30));
		}
		k += add_ns(m, n, t);
		if (below(3) == 0) {
			k += add_random(m, n, ZONE_TYPE_DS);
		}
		return k;
	case OP_DEL_CUT:
		if (!owner_with(m, ZONE_TYPE_NS, n)) {
			return 0;
		}
		return model_del(m, n, ZONE_TYPE_NS) + model_del(m, n, ZONE_TYPE_DS);
	case OP_DS:
		if (!owner_with(m, ZONE_TYPE_NS, n)) {
			return 0;
		}
		return has_type(m, n, ZONE_TYPE_DS) ? model_del(m, n, ZONE_TYPE_DS)
		                                    : add_random(m, n, ZONE_TYPE_DS);
	case OP_ADD_ENT:
		/* Two labels below a name, where the first one down holds
		 * nothing: that one becomes a new empty non-terminal. */
		o = below(4) == 0 ? apex : random_owner(m);
		if (o == NULL || dname_is_wildcard(o) || dname_labels(o) > apex_labels + 4) {
			return 0;
		}
		memcpy(n, o, dname_length(o));
		prepend(n, random_label(buf));
		if (has_data(m, n) || descendants(m, n) > 0) {
			return 0;
		}
		prepend(n, random_label(buf));
		return add_random(m, n, host_types[below(3)]);
	case OP_DEL_ENT:
		/* The records below an empty non-terminal, all of them. */
		for (int tries = 0; tries < 20; tries++) {
			o = random_owner(m);
			if (o == NULL) {
				return 0;
			}
			const uint8_t *p = dname_parent(o);
			while (dname_labels(p) > apex_labels && has_data(m, p)) {
				p = dname_parent(p);
			}
			if (dname_labels(p) == apex_labels || descendants(m, p) > 6) {
				continue;
			}
			memcpy(n, p, dname_length(p));
			return model_del_tree(m, n);
		}
		return 0;
	case OP_TTL: {
		static const uint32_t ttls[] = {60, 300, 600, 1800, 3600, 7200, 86400};
		size_t i = below(m->n);
		if (m->r[i].type == ZONE_TYPE_SOA) {
			return 0;
		}
		uint32_t ttl = ttls[below(7)];
		memcpy(n, m->r[i].owner, dname_length(m->r[i].owner));
		uint16_t type = m->r[i].type;
		for (size_t j = 0; j < m->n; j++) {
			if (m->r[j].type == type && dname_equal(m->r[j].owner, n) &&
			    m->r[j].ttl != ttl) {
				m->r[j].ttl = ttl;
				k++;
			}
		}
		return k;
	}
	default: /* OP_DNAME */
		if (below(2) == 0 && owner_with(m, ZONE_TYPE_DNAME, n)) {
			return model_del(m, n, ZONE_TYPE_DNAME);
		}
		if (!cut_candidate(m, n, false)) {
			return 0;
		}
		CU_ASSERT_EQUAL_FATAL(
		        dname_from_str("elsewhere.example.org.", NULL, t, sizeof(t), NULL),
		        ZONE_OK);
		return model_add(m, n, ZONE_TYPE_DNAME, 3600, rd, rd_name(t, rd));
	}
}

/* --- one signing run: the last signed version and its model --- */

typedef struct {
	const char *name;
	bool nsec3;
	nsec3_params_t n3;
} chain_mode_t;

static const chain_mode_t modes[] = {
        {"NSEC", false, {0}},
        {"NSEC3", true, {0}},
        {"NSEC3 salted", true, {.iterations = 5, .salt_len = 4, .salt = {0xab, 0xcd, 0x01, 0x23}}},
        {"NSEC3 opt-out", true, {.opt_out = true}},
};

typedef struct {
	const chain_mode_t *mode;
	sign_zone_params_t p;
	model_t m;          /* the unsigned records of cur */
	zone_t *cur;        /* the last signed version */
	int round;          /* for messages */
	size_t steps;       /* incremental passes checked */
	size_t max_created; /* most signatures an incremental pass made */
	size_t rrsets;      /* RRsets the last whole pass signed */
} run_t;

static sign_zone_params_t params_of(const chain_mode_t *mode)
{
	sign_zone_params_t p;
	memset(&p, 0, sizeof(p));
	p.timing = (sign_plan_timing_t){.now = NOW,
	                                .inception_offset = 3600,
	                                .validity = 14 * 86400,
	                                .refresh = 5 * 86400,
	                                .jitter = 3600};
	p.dnskey_ttl = 3600; /* not the SOA TTL's: that one changes below */
	p.serial = ZONE_SERIAL_INCREMENT;
	p.threads = 2;
	p.verify_crypto = true;
	p.report = report;
	p.nsec3 = mode->nsec3;
	p.nsec3_params = mode->n3;
	return p;
}

typedef struct {
	sign_verify_item_t *v;
	size_t n, cap;
} items_t;

/* Adds every RRSIG of node (owner of z) that old (the node of that owner in
 * the version verified before, may be NULL) does not hold as it is: the
 * RRSIGs of each slot whose data or RRSIG RRset is not the very one old has
 * (RRsets are immutable, and old is alive: the same pointer is the same
 * RRset). */
static void new_items(const zone_node_t *node, const zone_node_t *old, items_t *it)
{
	for (size_t s = 0; s < node->nslots; s++) {
		const zone_slot_t *slot = &node->slots[s];
		const zone_slot_t *o = old != NULL ? zone_node_find(old, slot->data->type) : NULL;
		if (slot->sigs == NULL ||
		    (o != NULL && o->data == slot->data && o->sigs == slot->sigs)) {
			continue;
		}
		size_t pos = 0;
		zone_rdata_t rd;
		while (zone_rrset_next(slot->sigs, &pos, &rd)) {
			if (it->n == it->cap) {
				it->cap = it->cap ? it->cap * 2 : 256;
				it->v = realloc(it->v, it->cap * sizeof(*it->v));
				CU_ASSERT_PTR_NOT_NULL_FATAL(it->v);
			}
			it->v[it->n++] =
			        (sign_verify_item_t){node, slot->data->type, rd.data, rd.len};
		}
	}
}

/* The whole verifier over z: coverage and chain of the whole zone, and
 * crypto over every RRSIG (all), or over those prev, verified before with
 * the same DNSKEY RRset, does not share with z: the same verdict, without
 * checking again the signatures the round did not touch (under ASan each
 * one costs a lot). */
static void verify_whole(const run_t *r, const zone_t *z, const zone_t *prev, bool all)
{
	sign_verify_config_t cfg = {.now = r->p.timing.now,
	                            .refresh = r->p.timing.refresh,
	                            .max_failures = 20,
	                            .report = vreport};
	items_t it = {0};
	const zone_rrset_t *ka = zone_apex_rrset(z, ZONE_TYPE_DNSKEY);
	const zone_rrset_t *kb = prev != NULL ? zone_apex_rrset(prev, ZONE_TYPE_DNSKEY) : NULL;
	all = all || ka == NULL || kb == NULL || !zone_rrset_equal(ka, kb);
	for (size_t i = 0; !all && i < z->count; i++) {
		const zone_node_t *node = zone_entry(z, i)->node;
		size_t at = 0;
		new_items(node,
		          zone_find(prev, node->owner, &at) ? zone_entry(prev, at)->node : NULL,
		          &it);
	}
	for (size_t i = 0; !all && i < z->nsec3_count; i++) {
		const zone_node_t *node = zone_nsec3_node(z, i);
		size_t at = 0;
		new_items(node,
		          zone_find_nsec3(prev, node->owner, &at) ? zone_nsec3_node(prev, at)
		                                                  : NULL,
		          &it);
	}
	sign_verify_counts_t counts = {0};
	int ret = sign_verify_zone(z, &cfg,
	                           SIGN_VERIFY_CHECK_COVERAGE | SIGN_VERIFY_CHECK_CHAIN |
	                                   (all ? SIGN_VERIFY_CHECK_ALL : SIGN_VERIFY_CHECK_ITEMS),
	                           it.v, it.n, &counts);
	CU_ASSERT_EQUAL(ret, SIGN_OK);
	CU_ASSERT_EQUAL(counts.failures, 0);
	CU_ASSERT(counts.verified > 0);
	CU_ASSERT(all || counts.verified == it.n);
	if (ret != SIGN_OK) {
		printf("\n  ^ %s round %d: the incremental result fails the whole verifier",
		       r->mode->name, r->round);
	}
	free(it.v);
}

/* The random zone of each mode signed whole, made once (at first use) for
 * every test that starts from it: signing is what costs under ASan. */
static struct {
	model_t m;
	zone_t *z;
	uint32_t serial;
} bases[sizeof(modes) / sizeof(modes[0])];

static void bases_free(void)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		zone_free(bases[i].z);
		model_free(&bases[i].m);
	}
}

/* r starts from the base zone of mode (its own version, sharing every node
 * with the base); the random changes come from seed. */
static void run_init(run_t *r, const chain_mode_t *mode, uint64_t seed)
{
	memset(r, 0, sizeof(*r));
	r->mode = mode;
	r->p = params_of(mode);
	size_t i = (size_t)(mode - modes);
	if (bases[i].z == NULL) {
		rng_state = 0xba5e0000 + i;
		model_build(&bases[i].m);
		zone_t *z = model_zone(&bases[i].m);
		sign_zone_stats_t st;
		messages[0] = '\0';
		int ret = sign_zone(z, NULL, &keys, &r->p, &bases[i].z, &st);
		if (ret != SIGN_OK) {
			printf("\n  %s: %s", sign_strerror(ret), messages);
		}
		zone_free(z);
		CU_ASSERT_EQUAL_FATAL(ret, SIGN_OK);
		bases[i].serial = st.serial;
	}
	zone_delta_t none;
	zone_delta_init(&none);
	CU_ASSERT_EQUAL_FATAL(
	        zone_delta_apply(bases[i].z, &none, ZONE_APPLY_UNSIGNED, diag, NULL, &r->cur),
	        ZONE_OK);
	model_copy(&r->m, &bases[i].m);
	rng_state = seed;
	r->p.have_previous_serial = true;
	r->p.previous_serial = bases[i].serial;
	r->round = -1;
	mismatches = 0;
}

static void run_deinit(run_t *r)
{
	zone_free(r->cur);
	model_free(&r->m);
}

static void mismatch(const run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mismatch(const run_t *r, const char *fmt, ...)
{
	if (mismatches++ < 20) {
		char msg[1024];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		printf("\n  %s round %d: %s", r->mode->name, r->round, msg);
	}
	CU_FAIL("incremental and whole results differ");
}

static void sig_algs(const zone_rrset_t *sigs, unsigned counts[256])
{
	memset(counts, 0, 256 * sizeof(*counts));
	size_t pos = 0;
	zone_rdata_t rd;
	while (sigs != NULL && zone_rrset_next(sigs, &pos, &rd)) {
		if (rd.len > 2) {
			counts[rd.data[2]]++;
		}
	}
}

/* Same owner, same RRsets (RRSIG RDATA aside), each signed alike. */
static void compare_nodes(const run_t *r, const zone_node_t *a, const zone_node_t *b)
{
	char owner[DNAME_STR_MAXLEN];
	name_str(a->owner, owner);
	if (!dname_equal(a->owner, b->owner)) {
		char other[DNAME_STR_MAXLEN];
		name_str(b->owner, other);
		mismatch(r, "name %s (incremental) vs %s (whole)", owner, other);
		return;
	}
	if (a->nslots != b->nslots) {
		mismatch(r, "%s: %u RRsets (incremental) vs %u (whole)", owner, a->nslots,
		         b->nslots);
		return;
	}
	for (size_t s = 0; s < a->nslots; s++) {
		const zone_slot_t *x = &a->slots[s], *y = &b->slots[s];
		if (!zone_rrset_equal(x->data, y->data)) {
			mismatch(r, "%s: RRset of type %u (incremental) vs type %u (whole) differ",
			         owner, x->data->type, y->data->type);
			continue;
		}
		unsigned ca[256], cb[256];
		sig_algs(x->sigs, ca);
		sig_algs(y->sigs, cb);
		if ((x->sigs == NULL) != (y->sigs == NULL) || memcmp(ca, cb, sizeof(ca)) != 0) {
			mismatch(r, "%s type %u: %u RRSIGs (incremental) vs %u (whole)", owner,
			         x->data->type, x->sigs ? x->sigs->count : 0,
			         y->sigs ? y->sigs->count : 0);
		}
	}
}

static void compare(const run_t *r, const zone_t *inc, const zone_t *whole)
{
	if (inc->count != whole->count) {
		mismatch(r, "%zu names (incremental) vs %zu (whole)", inc->count, whole->count);
	}
	for (size_t i = 0; i < inc->count && i < whole->count; i++) {
		const zone_entry_t *a = zone_entry(inc, i), *b = zone_entry(whole, i);
		compare_nodes(r, a->node, b->node);
		if (a->flags != b->flags) {
			char owner[DNAME_STR_MAXLEN];
			name_str(a->node->owner, owner);
			mismatch(r, "%s: flags 0x%x (incremental) vs 0x%x (whole)", owner, a->flags,
			         b->flags);
		}
		if (!dname_equal(a->node->owner, b->node->owner)) {
			return; /* the rest is shifted */
		}
	}
	if (inc->nsec3_count != whole->nsec3_count) {
		mismatch(r, "%zu NSEC3 nodes (incremental) vs %zu (whole)", inc->nsec3_count,
		         whole->nsec3_count);
	}
	for (size_t i = 0; i < inc->nsec3_count && i < whole->nsec3_count; i++) {
		compare_nodes(r, zone_nsec3_node(inc, i), zone_nsec3_node(whole, i));
		if (!dname_equal(zone_nsec3_node(inc, i)->owner,
		                 zone_nsec3_node(whole, i)->owner)) {
			return;
		}
	}
}

static bool signer_type(uint16_t type)
{
	return type == ZONE_TYPE_NSEC || type == ZONE_TYPE_NSEC3 || type == ZONE_TYPE_NSEC3PARAM ||
	       type == ZONE_TYPE_DNSKEY;
}

/* z holds the model's records (the SOA's serial aside), and no others but
 * those the signer makes. */
static void check_model(const run_t *r, const zone_t *z, const model_t *m)
{
	size_t records = 0;
	for (size_t i = 0; i < z->count; i++) {
		const zone_node_t *node = zone_entry(z, i)->node;
		for (size_t s = 0; s < node->nslots; s++) {
			records += signer_type(node->slots[s].data->type)
			                   ? 0
			                   : node->slots[s].data->count;
		}
	}
	if (records != m->n) {
		mismatch(r, "the zone has %zu records, the model %zu", records, m->n);
	}
	for (size_t i = 0; i < m->n; i++) {
		const rec_t *rec = &m->r[i];
		size_t at = 0;
		const zone_slot_t *slot =
		        zone_find(z, rec->owner, &at)
		                ? zone_node_find(zone_entry(z, at)->node, rec->type)
		                : NULL;
		bool found = false;
		size_t pos = 0;
		zone_rdata_t rd;
		while (slot != NULL && !found && zone_rrset_next(slot->data, &pos, &rd)) {
			found = rec->type == ZONE_TYPE_SOA ||
			        (rd.len == rec->rdlen && memcmp(rd.data, rec->rdata, rd.len) == 0);
		}
		if (!found || slot->data->ttl != rec->ttl) {
			char owner[DNAME_STR_MAXLEN];
			name_str(rec->owner, owner);
			mismatch(r, "%s type %u: the model's record is not in the zone%s", owner,
			         rec->type, found ? " with its TTL" : "");
		}
	}
}

/* Names of prev that were occluded and are no longer in z. */
static size_t unoccluded(const zone_t *prev, const zone_t *z)
{
	size_t k = 0;
	for (size_t i = 0; i < z->count; i++) {
		const zone_entry_t *e = zone_entry(z, i);
		size_t at = 0;
		if (!(e->flags & ZONE_NAME_OCCLUDED) && zone_find(prev, e->node->owner, &at) &&
		    (zone_entry(prev, at)->flags & ZONE_NAME_OCCLUDED)) {
			k++;
		}
	}
	return k;
}

/* Moves r to next: the delta from r's model applied to the last signed
 * version, signed incrementally, checked against the whole pass, and by the
 * whole verifier (crypto over every RRSIG if all, else over those the last
 * version does not share). */
static void step(run_t *r, model_t *next, bool all)
{
	zone_delta_t d;
	zone_delta_init(&d);
	model_delta(r->cur, &r->m, next, &d);
	size_t nrec = d.nremoved + d.nadded;
	zone_t *in = NULL, *inc = NULL, *whole = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_delta_apply(r->cur, &d, ZONE_APPLY_UNSIGNED, diag, NULL, &in),
	                      ZONE_OK);
	zone_delta_deinit(&d);
	r->p.timing.now += 60;
	sign_zone_stats_t si, sw;
	messages[0] = '\0';
	int ret = sign_zone_update(in, r->cur, &keys, &r->p, &inc, &si);
	CU_ASSERT_EQUAL(ret, SIGN_OK);
	if (ret != SIGN_OK) {
		printf("\n  %s round %d (%zu records): sign_zone_update: %s\n%s", r->mode->name,
		       r->round, nrec, sign_strerror(ret), messages);
	}
	messages[0] = '\0';
	int wret = sign_zone(in, r->cur, &keys, &r->p, &whole, &sw);
	if (wret != SIGN_OK) {
		printf("\n  %s round %d: sign_zone: %s\n%s", r->mode->name, r->round,
		       sign_strerror(wret), messages);
	}
	CU_ASSERT_EQUAL_FATAL(wret, SIGN_OK);
	CU_ASSERT_FALSE(sw.incremental);
	if (ret == SIGN_OK) {
		CU_ASSERT_TRUE(si.incremental);
		CU_ASSERT_EQUAL(si.serial, sw.serial);
		verify_whole(r, inc, r->cur, all);
		compare(r, inc, whole);
		check_model(r, inc, next);
		/* A few signatures per record changed, and per name that came
		 * out of occlusion: not the zone signed again. */
		size_t bound = 8 * nrec + 5 * unoccluded(r->cur, inc) + 4;
		CU_ASSERT(si.created <= bound);
		if (si.created > bound) {
			printf("\n  %s round %d: %zu signatures made for %zu records",
			       r->mode->name, r->round, si.created, nrec);
		}
		/* Never more than the whole pass makes (it reuses the rest). */
		CU_ASSERT(si.created <= sw.created);
		if (si.created > sw.created) {
			printf("\n  %s round %d: %zu signatures made incrementally, %zu whole",
			       r->mode->name, r->round, si.created, sw.created);
		}
		r->max_created = si.created > r->max_created ? si.created : r->max_created;
		r->rrsets = sw.rrsets;
		r->steps++;
	}
	/* Go on from the incremental result, or the whole one if it failed. */
	zone_free(r->cur);
	r->cur = ret == SIGN_OK ? inc : whole;
	zone_free(ret == SIGN_OK ? whole : inc);
	zone_free(in);
	r->p.previous_serial = ret == SIGN_OK ? si.serial : sw.serial;
	model_free(&r->m);
	r->m = *next;
	*next = (model_t){0};
}

static void random_rounds(const chain_mode_t *mode, uint64_t seed)
{
	run_t r;
	run_init(&r, mode, seed);
	for (r.round = 0; r.round < ROUNDS; r.round++) {
		model_t next;
		model_copy(&next, &r.m);
		size_t want = 1 + below(8), touched = 0;
		for (int tries = 0; touched < want && tries < 100; tries++) {
			touched += random_op(&next);
		}
		step(&r, &next, r.round % 20 == 19);
	}
	CU_ASSERT_EQUAL(r.steps, ROUNDS);
	/* Never the zone signed again. */
	CU_ASSERT(r.max_created < r.rrsets / 4);
	printf("\n  %s: %zu RRsets signed, at most %zu signatures made per round ", mode->name,
	       r.rrsets, r.max_created);
	run_deinit(&r);
}

static void test_sign_zone_update_nsec_random_rounds(void)
{
	random_rounds(&modes[0], 0x5eed0001);
}

static void test_sign_zone_update_nsec3_random_rounds(void)
{
	random_rounds(&modes[1], 0x5eed0002);
}

static void test_sign_zone_update_nsec3_salted_random_rounds(void)
{
	random_rounds(&modes[2], 0x5eed0003);
}

static void test_sign_zone_update_nsec3_opt_out_random_rounds(void)
{
	random_rounds(&modes[3], 0x5eed0004);
}

/* --- what needs a whole pass --- */

/* in made from r's version with next's records; the incremental pass with
 * params p and key set ks must refuse it, unreported, writing nothing. */
static void expect_whole(run_t *r, const model_t *next, const sign_zone_params_t *p,
                         const sign_keyset_t *ks, const char *what)
{
	model_t a, b;
	model_copy(&a, &r->m);
	model_copy(&b, next);
	zone_delta_t d;
	zone_delta_init(&d);
	model_delta(r->cur, &a, &b, &d);
	zone_t *in = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_delta_apply(r->cur, &d, ZONE_APPLY_UNSIGNED, diag, NULL, &in),
	                      ZONE_OK);
	zone_t sentinel;
	zone_t *out = &sentinel;
	sign_zone_stats_t st;
	messages[0] = '\0';
	nreports = 0;
	int ret = sign_zone_update(in, r->cur, ks, p, &out, &st);
	CU_ASSERT_EQUAL(ret, SIGN_ERR_WHOLE);
	CU_ASSERT_PTR_EQUAL(out, &sentinel);
	CU_ASSERT_EQUAL(nreports, 0);
	CU_ASSERT_FALSE(st.incremental);
	if (ret != SIGN_ERR_WHOLE) {
		printf("\n  %s, %s: %s\n%s", r->mode->name, what, sign_strerror(ret), messages);
		if (ret == SIGN_OK && out != &sentinel) {
			zone_free(out);
		}
	}
	zone_free(in);
	zone_delta_deinit(&d);
	model_free(&a);
	model_free(&b);
}

/* next: r's model with a TXT record at n more names (existing ones). */
static void change_names(const run_t *r, model_t *next, size_t n)
{
	model_copy(next, &r->m);
	size_t done = 0;
	for (size_t i = 0; i < r->cur->count && done < n; i++) {
		const zone_entry_t *e = zone_entry(r->cur, i);
		if (e->flags & (ZONE_NAME_APEX | ZONE_NAME_ENT)) {
			continue;
		}
		uint8_t rd[] = "\x05whole";
		done += model_add(next, e->node->owner, 16, 3600, rd, 6);
	}
	CU_ASSERT_EQUAL_FATAL(done, n);
}

static void set_soa(model_t *m, uint32_t ttl, uint32_t minimum)
{
	uint8_t rd[MAXRD];
	size_t len = rd_soa(100, minimum, rd);
	model_del(m, apex, ZONE_TYPE_SOA);
	model_add(m, apex, ZONE_TYPE_SOA, ttl, rd, len);
}

static void whole_cases(const chain_mode_t *mode, uint64_t seed)
{
	run_t r;
	run_init(&r, mode, seed);
	r.round = 0;
	model_t next;
	uint8_t o[DNAME_MAXLEN];
	mkname(o, "h1");

	/* The NSEC/NSEC3 TTL, min(SOA TTL, MINIMUM) = 300, changes: MINIMUM
	 * 600, or the SOA TTL down to 200. */
	model_copy(&next, &r.m);
	set_soa(&next, 3600, 600);
	expect_whole(&r, &next, &r.p, &keys, "SOA MINIMUM 300 -> 600");
	model_free(&next);
	model_copy(&next, &r.m);
	set_soa(&next, 200, 300);
	expect_whole(&r, &next, &r.p, &keys, "SOA TTL 3600 -> 200");
	model_free(&next);

	/* The same change with other chain parameters or another kind of
	 * chain. */
	model_copy(&next, &r.m);
	add_random(&next, o, ZONE_TYPE_AAAA);
	sign_zone_params_t p = r.p;
	if (mode->nsec3) {
		p.nsec3_params.salt[0] ^= 0xff;
		p.nsec3_params.salt_len = p.nsec3_params.salt_len ? p.nsec3_params.salt_len : 1;
		expect_whole(&r, &next, &p, &keys, "another salt");
		p = r.p;
		p.nsec3_params.iterations++;
		expect_whole(&r, &next, &p, &keys, "another iteration count");
		p = r.p;
		p.nsec3_params.opt_out = !p.nsec3_params.opt_out;
		expect_whole(&r, &next, &p, &keys, "opt-out flipped");
		p = r.p;
		p.nsec3 = false;
		expect_whole(&r, &next, &p, &keys, "NSEC3 -> NSEC");
	} else {
		p.nsec3 = true;
		expect_whole(&r, &next, &p, &keys, "NSEC -> NSEC3");
		p.nsec3_params.opt_out = true;
		expect_whole(&r, &next, &p, &keys, "NSEC -> NSEC3 opt-out");
	}

	/* Another DNSKEY RRset: one more published key, or another TTL. */
	expect_whole(&r, &next, &r.p, &keys3, "one more DNSKEY");
	/* The serial warning of a keep policy is left to the whole pass. */
	p = r.p;
	p.serial = ZONE_SERIAL_KEEP;
	expect_whole(&r, &next, &p, &keys3, "one more DNSKEY, serial policy keep");
	p = r.p;
	p.dnskey_ttl = 7200;
	expect_whole(&r, &next, &p, &keys, "DNSKEY TTL 3600 -> 7200");
	model_free(&next);
	model_copy(&next, &r.m);
	set_soa(&next, 7200, 300);
	p = r.p;
	p.dnskey_ttl = 0; /* the SOA TTL's */
	expect_whole(&r, &next, &p, &keys, "SOA TTL 3600 -> 7200, DNSKEY TTL following");
	model_free(&next);

	/* More than count/16 + 64 names changed; exactly that many is still
	 * incremental. The SOA TTL going up leaves the NSEC TTL as it is. */
	size_t limit = r.cur->count / 16 + 64;
	change_names(&r, &next, limit + 1);
	expect_whole(&r, &next, &r.p, &keys, "count/16 + 65 names");
	model_free(&next);
	change_names(&r, &next, limit);
	step(&r, &next, false);
	CU_ASSERT_EQUAL(r.steps, 1);
	model_copy(&next, &r.m);
	set_soa(&next, 7200, 300);
	step(&r, &next, true);
	CU_ASSERT_EQUAL(r.steps, 2);
	run_deinit(&r);
}

static void test_sign_zone_update_needs_whole_nsec(void)
{
	whole_cases(&modes[0], 0x3a01);
}

static void test_sign_zone_update_needs_whole_nsec3(void)
{
	whole_cases(&modes[2], 0x3a02);
}

static void test_sign_zone_update_needs_whole_nsec3_opt_out(void)
{
	whole_cases(&modes[3], 0x3a03);
}

/* --- refresh --- */

/* RRsets of z with an RRSIG expiring at or before `before` (what the
 * incremental pass refreshes). */
static size_t due_rrsets(const zone_t *z, int64_t now, int64_t before)
{
	size_t n = 0;
	for (size_t i = 0; i < z->count + z->nsec3_count; i++) {
		const zone_node_t *node =
		        i < z->count ? zone_entry(z, i)->node : zone_nsec3_node(z, i - z->count);
		for (size_t s = 0; s < node->nslots; s++) {
			size_t pos = 0;
			zone_rdata_t rd;
			bool due = false;
			while (!due && node->slots[s].sigs != NULL &&
			       zone_rrset_next(node->slots[s].sigs, &pos, &rd)) {
				sign_rrsig_t f;
				due = sign_rrsig_parse(rd.data, rd.len, now, &f, NULL, NULL) ==
				              SIGN_OK &&
				      f.expiration <= before;
			}
			n += due;
		}
	}
	return n;
}

/* An incremental pass of r's zone over itself at r.p.timing.now (only
 * signatures due change); asserts it is incremental. */
static zone_t *refresh_pass(run_t *r, sign_zone_stats_t *st)
{
	zone_t *out = NULL;
	messages[0] = '\0';
	CU_ASSERT_EQUAL_FATAL(sign_zone_update(r->cur, r->cur, &keys, &r->p, &out, st), SIGN_OK);
	CU_ASSERT_TRUE(st->incremental);
	return out;
}

/* The clock moves on until a few signatures fall within refresh (those
 * whose jitter was smallest): an incremental pass re-signs those RRsets and
 * little else, and the whole verifier accepts the result at the new time.
 * When nearly all are due, a whole pass is asked for. */
static void test_sign_zone_update_refreshes_due_signatures(void)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		run_t r;
		run_init(&r, &modes[i], 0x7e70 + i);
		/* Expirations are NOW - 1h + 14d + jitter (0..1h): at NOW + 9d - 3300 s
		 * those with a jitter under 300 s are within the 5d refresh. */
		r.p.timing.now = NOW + 9 * 86400 - 3300;
		size_t due = due_rrsets(r.cur, r.p.timing.now, r.p.timing.now + r.p.timing.refresh);
		CU_ASSERT(due > 0);
		sign_zone_stats_t st;
		zone_t *out = refresh_pass(&r, &st);
		/* The due RRsets, the SOA, and at most the NSEC/NSEC3 records
		 * those names' own records do not cover. */
		CU_ASSERT(st.created >= due && st.created <= due + 2);
		if (st.created < due || st.created > due + 2) {
			printf("\n  %s: %zu RRsets due, %zu signatures made", modes[i].name, due,
			       st.created);
		}
		verify_whole(&r, out, r.cur, true);
		CU_ASSERT_EQUAL(
		        due_rrsets(out, r.p.timing.now, r.p.timing.now + r.p.timing.refresh), 0);
		zone_free(out);
		/* Everything due: a whole pass. */
		r.p.timing.now = NOW + 9 * 86400 + 3600;
		out = NULL;
		CU_ASSERT_EQUAL(sign_zone_update(r.cur, r.cur, &keys, &r.p, &out, &st),
		                SIGN_ERR_WHOLE);
		CU_ASSERT_PTR_NULL(out);
		run_deinit(&r);
	}
}

/* The earliest RRSIG expiration of z (INT64_MAX: none). */
static int64_t earliest(const zone_t *z, int64_t now)
{
	zone_seq_stats_t st = {.min_expiration = INT64_MAX};
	zone_seq_stats(&z->names, now, &st);
	zone_seq_stats(&z->nsec3, now, &st);
	return st.min_expiration;
}

/* signerd passes at the earliest expiration minus refresh: a pass at that
 * very second refreshes the signatures expiring then (it once re-signed
 * only the SOA, and the zone stayed due: a burst of serials until the
 * clock ticked). */
static void test_sign_zone_update_refreshes_at_the_boundary(void)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		run_t r;
		run_init(&r, &modes[i], 0xb0d0 + i);
		int64_t first = earliest(r.cur, NOW);
		CU_ASSERT_FATAL(first != INT64_MAX);
		r.p.timing.now = first - r.p.timing.refresh;
		sign_zone_stats_t st;
		zone_t *out = refresh_pass(&r, &st);
		CU_ASSERT(st.created >= 2); /* the RRset due, and the SOA */
		CU_ASSERT(earliest(out, r.p.timing.now) > first);
		verify_whole(&r, out, r.cur, true);
		zone_free(out);
		run_deinit(&r);
	}
}

/* --- no change --- */

static void test_sign_zone_update_no_change_signs_the_soa_only(void)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		run_t r;
		run_init(&r, &modes[i], 0x50a0 + i);
		/* An empty delta ... */
		r.round = 0;
		model_t next;
		model_copy(&next, &r.m);
		step(&r, &next, false);
		CU_ASSERT_EQUAL(r.max_created, 1);
		/* ... and the previous version itself as the input. */
		uint32_t serial = r.p.previous_serial;
		zone_t *out = NULL, *whole = NULL;
		sign_zone_stats_t st;
		r.p.timing.now += 60;
		CU_ASSERT_EQUAL_FATAL(sign_zone_update(r.cur, r.cur, &keys, &r.p, &out, &st),
		                      SIGN_OK);
		CU_ASSERT_TRUE(st.incremental);
		CU_ASSERT_EQUAL(st.created, 1);
		CU_ASSERT_EQUAL(st.serial, serial + 1);
		verify_whole(&r, out, r.cur, false);
		CU_ASSERT_EQUAL_FATAL(sign_zone(r.cur, r.cur, &keys, &r.p, &whole, &st), SIGN_OK);
		compare(&r, out, whole);
		zone_free(whole);
		zone_free(out);
		run_deinit(&r);
	}
}

/* --- names occluded and back --- */

static unsigned flags_at(const zone_t *z, const char *text)
{
	uint8_t n[DNAME_MAXLEN];
	mkname(n, "%s", text);
	size_t at = 0;
	return zone_find(z, n, &at) ? zone_entry(z, at)->flags : 0xffff;
}

static void occlusion_round_trip(const chain_mode_t *mode, uint64_t seed)
{
	run_t r;
	run_init(&r, mode, seed);
	uint8_t deep[DNAME_MAXLEN], ent[DNAME_MAXLEN], t[DNAME_MAXLEN], rd[MAXRD];
	mkname(deep, "deep");
	mkname(ent, "c.deep");
	CU_ASSERT_EQUAL_FATAL(dname_from_str("ns1.ext.net.", NULL, t, sizeof(t), NULL), ZONE_OK);
	CU_ASSERT_EQUAL(flags_at(r.cur, "c.deep"), ZONE_NAME_ENT);
	model_t next;
	for (r.round = 0; r.round < 3; r.round++) {
		/* deep becomes a delegation (with a DS the second time, a DNAME
		 * the third): the names below it are occluded ... */
		model_copy(&next, &r.m);
		if (r.round < 2) {
			add_ns(&next, deep, t);
		} else {
			model_add(&next, deep, ZONE_TYPE_DNAME, 3600, rd, rd_name(t, rd));
		}
		if (r.round == 1) {
			add_random(&next, deep, ZONE_TYPE_DS);
		}
		step(&r, &next, false);
		CU_ASSERT(flags_at(r.cur, "a.deep") & ZONE_NAME_OCCLUDED);
		CU_ASSERT(flags_at(r.cur, "x.y.z.deep") & ZONE_NAME_OCCLUDED);
		CU_ASSERT(flags_at(r.cur, "c.deep") & ZONE_NAME_OCCLUDED);
		/* ... and back. */
		model_copy(&next, &r.m);
		model_del(&next, deep, ZONE_TYPE_NS);
		model_del(&next, deep, ZONE_TYPE_DS);
		model_del(&next, deep, ZONE_TYPE_DNAME);
		step(&r, &next, false);
		CU_ASSERT_EQUAL(flags_at(r.cur, "a.deep"), 0);
		CU_ASSERT_EQUAL(flags_at(r.cur, "x.y.z.deep"), 0);
		CU_ASSERT_EQUAL(flags_at(r.cur, "c.deep"), ZONE_NAME_ENT);
	}
	/* A delegation at the empty non-terminal c.deep, and back. */
	model_copy(&next, &r.m);
	add_ns(&next, ent, t);
	step(&r, &next, false);
	CU_ASSERT_EQUAL(flags_at(r.cur, "c.deep"), ZONE_NAME_CUT);
	CU_ASSERT(flags_at(r.cur, "b.c.deep") & ZONE_NAME_OCCLUDED);
	model_copy(&next, &r.m);
	model_del(&next, ent, ZONE_TYPE_NS);
	step(&r, &next, true);
	CU_ASSERT_EQUAL(flags_at(r.cur, "c.deep"), ZONE_NAME_ENT);
	CU_ASSERT_EQUAL(flags_at(r.cur, "b.c.deep"), 0);
	CU_ASSERT_EQUAL(r.steps, 8);
	run_deinit(&r);
}

static void test_sign_zone_update_occluded_and_back(void)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		occlusion_round_trip(&modes[i], 0x0cc1 + i);
	}
}

int main(void)
{
	static const char *const labels[] = {"signzoneupd"};
	testutil_token_create(labels, 1);
	ctx = testutil_hsm_ctx("signzoneupd", NULL, 0);
	size_t len = 0;
	dname_from_str("example.", NULL, apex, sizeof(apex), &len);
	apex_labels = dname_labels(apex);
	hsm_token_t *t = hsm_ctx_token(ctx, "main");
	sign_keyset_init(&keys);
	sign_keyset_init(&keys3);
	if (hsm_key_generate(t, hsm_alg_by_number(13), 0, "ksk", &ksk, NULL) != HSM_OK ||
	    hsm_key_generate(t, hsm_alg_by_number(13), 0, "zsk", &zsk, NULL) != HSM_OK ||
	    hsm_key_generate(t, hsm_alg_by_number(13), 0, "extra", &extra, NULL) != HSM_OK ||
	    sign_keyset_add(&keys, &ksk, NULL, SIGN_ROLE_KSK, true, true, false, false, NULL) !=
	            HSM_OK ||
	    sign_keyset_add(&keys, &zsk, NULL, SIGN_ROLE_ZSK, true, true, false, false, NULL) !=
	            HSM_OK ||
	    sign_keyset_add(&keys3, &ksk, NULL, SIGN_ROLE_KSK, true, true, false, false, NULL) !=
	            HSM_OK ||
	    sign_keyset_add(&keys3, &zsk, NULL, SIGN_ROLE_ZSK, true, true, false, false, NULL) !=
	            HSM_OK ||
	    sign_keyset_add(&keys3, &extra, NULL, SIGN_ROLE_ZSK, true, false, false, false, NULL) !=
	            HSM_OK) {
		return 1;
	}
	static const testutil_case_t cases[] = {
	        {"test_sign_zone_update_nsec_random_rounds",
	         test_sign_zone_update_nsec_random_rounds},
	        {"test_sign_zone_update_nsec3_random_rounds",
	         test_sign_zone_update_nsec3_random_rounds},
	        {"test_sign_zone_update_nsec3_salted_random_rounds",
	         test_sign_zone_update_nsec3_salted_random_rounds},
	        {"test_sign_zone_update_nsec3_opt_out_random_rounds",
	         test_sign_zone_update_nsec3_opt_out_random_rounds},
	        {"test_sign_zone_update_needs_whole_nsec", test_sign_zone_update_needs_whole_nsec},
	        {"test_sign_zone_update_needs_whole_nsec3",
	         test_sign_zone_update_needs_whole_nsec3},
	        {"test_sign_zone_update_needs_whole_nsec3_opt_out",
	         test_sign_zone_update_needs_whole_nsec3_opt_out},
	        {"test_sign_zone_update_refreshes_due_signatures",
	         test_sign_zone_update_refreshes_due_signatures},
	        {"test_sign_zone_update_refreshes_at_the_boundary",
	         test_sign_zone_update_refreshes_at_the_boundary},
	        {"test_sign_zone_update_no_change_signs_the_soa_only",
	         test_sign_zone_update_no_change_signs_the_soa_only},
	        {"test_sign_zone_update_occluded_and_back",
	         test_sign_zone_update_occluded_and_back},
	        {NULL, NULL},
	};
	int failed = testutil_run("sign_zone_update", cases);
	bases_free();
	sign_keyset_deinit(&keys3);
	sign_keyset_deinit(&keys);
	hsm_ctx_free(ctx);
	testutil_token_cleanup();
	return failed;
}
