#include "signer/zone/zone_diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_load.h"
#include "tests/support/testutil.h"

/* ---- helpers ---- */

typedef struct {
	zone_diag_level_t level;
	char file[64];
	unsigned long line;
	char msg[512];
} diag_t;

typedef struct {
	diag_t v[64];
	size_t n, errors, warnings;
} diags_t;

static void collect(void *ctx, zone_diag_level_t level, const char *file, unsigned long line,
                    const char *msg)
{
	diags_t *d = ctx;
	d->errors += level == ZONE_DIAG_ERROR;
	d->warnings += level == ZONE_DIAG_WARNING;
	if (d->n < sizeof(d->v) / sizeof(d->v[0])) {
		diag_t *x = &d->v[d->n++];
		x->level = level;
		snprintf(x->file, sizeof(x->file), "%s", file);
		x->line = line;
		snprintf(x->msg, sizeof(x->msg), "%s", msg);
	}
}

static void print_diags(const diags_t *d)
{
	for (size_t i = 0; i < d->n; i++) {
		fprintf(stderr, "  %s:%lu: %s: %s\n", d->v[i].file, d->v[i].line,
		        d->v[i].level == ZONE_DIAG_ERROR ? "error" : "warning", d->v[i].msg);
	}
}

static const uint8_t *wire(const char *text)
{
	static uint8_t buf[8][DNAME_MAXLEN];
	static int k;
	uint8_t *out = buf[k++ % 8];
	CU_ASSERT_EQUAL_FATAL(dname_from_str(text, NULL, out, DNAME_MAXLEN, NULL), ZONE_OK);
	return out;
}

static zone_t *load(const char *text)
{
	diags_t d = {0};
	zone_t *z = NULL;
	int ret =
	        zone_load_text(text, strlen(text), "text", wire("example."), 3600, collect, &d, &z);
	if (ret != ZONE_OK) {
		print_diags(&d);
	}
	CU_ASSERT_EQUAL_FATAL(ret, ZONE_OK);
	return z;
}

/* Records of text (relative to example.) into d's added or removed list. */
static void records(zone_delta_t *d, bool added, const char *text)
{
	diags_t g = {0};
	int ret = zone_load_records(text, strlen(text), "rec", wire("example."), 3600, added,
	                            collect, &g, d);
	if (ret != ZONE_OK) {
		print_diags(&g);
	}
	CU_ASSERT_EQUAL_FATAL(ret, ZONE_OK);
}

/* Whether two versions hold the same records (their diff is empty). */
static bool same(const zone_t *a, const zone_t *b)
{
	zone_delta_t d;
	CU_ASSERT_EQUAL_FATAL(zone_diff(a, b, &d), ZONE_OK);
	bool ok = d.nremoved == 0 && d.nadded == 0;
	if (!ok) {
		fprintf(stderr, "  versions differ: %zu removed, %zu added\n", d.nremoved,
		        d.nadded);
	}
	zone_delta_deinit(&d);
	return ok;
}

static const char *const BASE = "$ORIGIN example.\n"
                                "@ 3600 SOA ns1 hostmaster 1 3600 600 86400 300\n"
                                "@ 3600 NS ns1\n"
                                "@ 3600 NS ns2\n"
                                "ns1 3600 A 192.0.2.1\n"
                                "ns2 3600 A 192.0.2.2\n"
                                "www 3600 A 192.0.2.10\n"
                                "www 3600 AAAA 2001:db8::10\n"
                                "mail 3600 MX 10 www\n";

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- diff ---- */

static void test_zone_diff_of_identical_versions_is_empty(void)
{
	zone_t *a = load(BASE), *b = load(BASE);
	zone_delta_t d;
	CU_ASSERT_EQUAL(zone_diff(a, a, &d), ZONE_OK);
	CU_ASSERT_EQUAL(d.nremoved + d.nadded, 0);
	CU_ASSERT_EQUAL(d.from_serial, 1);
	CU_ASSERT_EQUAL(d.to_serial, 1);
	zone_delta_deinit(&d);
	CU_ASSERT(same(a, b)); /* no shared nodes: compared record by record */
	zone_free(a);
	zone_free(b);
}

static void test_zone_diff_one_change_gives_it_and_the_soa_pair(void)
{
	zone_t *a = load(BASE);
	zone_delta_t in;
	zone_delta_init(&in);
	records(&in, false, "@ SOA ns1 hostmaster 1 3600 600 86400 300\nwww A 192.0.2.10\n");
	records(&in, true, "@ SOA ns1 hostmaster 2 3600 600 86400 300\nwww A 192.0.2.11\n");
	zone_t *b = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_delta_apply(a, &in, ZONE_APPLY_UNSIGNED, NULL, NULL, &b),
	                      ZONE_OK);
	zone_delta_t d;
	CU_ASSERT_EQUAL_FATAL(zone_diff(a, b, &d), ZONE_OK);
	CU_ASSERT_EQUAL(d.from_serial, 1);
	CU_ASSERT_EQUAL(d.to_serial, 2);
	CU_ASSERT_EQUAL_FATAL(d.nremoved, 2);
	CU_ASSERT_EQUAL_FATAL(d.nadded, 2);
	CU_ASSERT_EQUAL(d.removed[0].type, ZONE_TYPE_SOA);
	CU_ASSERT_EQUAL(d.added[0].type, ZONE_TYPE_SOA);
	CU_ASSERT(dname_equal(d.removed[1].owner, wire("www.example.")));
	CU_ASSERT_EQUAL(d.removed[1].type, ZONE_TYPE_A);
	CU_ASSERT_EQUAL(d.removed[1].rdlen, 4);
	CU_ASSERT_EQUAL(d.removed[1].rdata[3], 10);
	CU_ASSERT_EQUAL(d.added[1].rdata[3], 11);
	/* Untouched nodes are shared, not copied. */
	size_t i, k;
	CU_ASSERT_FATAL(zone_find(a, wire("ns1.example."), &i));
	CU_ASSERT_FATAL(zone_find(b, wire("ns1.example."), &k));
	CU_ASSERT_PTR_EQUAL(zone_entry(a, i)->node, zone_entry(b, k)->node);
	zone_delta_deinit(&d);
	zone_delta_deinit(&in);
	zone_free(a);
	zone_free(b);
}

static void test_zone_delta_pointers_stay_valid_as_it_grows(void)
{
	zone_delta_t d;
	zone_delta_init(&d);
	uint8_t rd[300];
	memset(rd, 7, sizeof(rd));
	CU_ASSERT_EQUAL(zone_delta_add(&d, true, wire("a.example."), 16, 60, rd, 300), ZONE_OK);
	const uint8_t *owner = d.added[0].owner, *rdata = d.added[0].rdata;
	for (int i = 0; i < 5000; i++) {
		CU_ASSERT_EQUAL_FATAL(zone_delta_add(&d, i % 2,
		                                     wire(i % 3 ? "a.example." : "b.example."), 16,
		                                     60, rd, 300),
		                      ZONE_OK);
	}
	CU_ASSERT_PTR_EQUAL(d.added[0].owner, owner);
	CU_ASSERT_PTR_EQUAL(d.added[0].rdata, rdata);
	CU_ASSERT(dname_equal(owner, wire("a.example.")));
	CU_ASSERT_EQUAL(rdata[299], 7);
	CU_ASSERT_EQUAL(d.nadded + d.nremoved, 5001);
	CU_ASSERT_EQUAL(zone_delta_wire_size(&d), 5001 * (10 + 300 + 11));
	zone_delta_t e;
	zone_delta_init(&e);
	CU_ASSERT_EQUAL(zone_delta_add(&e, false, wire("c.example."), 1, 60, rd, 4), ZONE_OK);
	CU_ASSERT_EQUAL(zone_delta_move(&e, &d), ZONE_OK);
	CU_ASSERT_EQUAL(d.nadded + d.nremoved, 0);
	CU_ASSERT_EQUAL(e.nadded + e.nremoved, 5002);
	CU_ASSERT_PTR_EQUAL(e.added[0].owner, owner);
	CU_ASSERT(dname_equal(e.removed[0].owner, wire("c.example.")));
	CU_ASSERT(dname_equal(e.removed[e.nremoved - 1].owner, wire("a.example.")) ||
	          dname_equal(e.removed[e.nremoved - 1].owner, wire("b.example.")));
	zone_delta_deinit(&e);
	zone_delta_deinit(&d);
}

/* ---- random round trips ---- */

typedef struct {
	char owner[48];
	char type[8];
	unsigned ttl;
	char rdata[64];
} mrr_t;

typedef struct {
	mrr_t v[2048];
	size_t n;
	unsigned serial;
} model_t;

static bool model_has(const model_t *m, const mrr_t *r)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->v[i].owner, r->owner) == 0 && strcmp(m->v[i].type, r->type) == 0 &&
		    strcmp(m->v[i].rdata, r->rdata) == 0) {
			return true;
		}
	}
	return false;
}

/* Adds r, with the TTL of its RRset if it has one. */
static void model_add(model_t *m, mrr_t r)
{
	if (m->n == sizeof(m->v) / sizeof(m->v[0]) || model_has(m, &r)) {
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->v[i].owner, r.owner) == 0 && strcmp(m->v[i].type, r.type) == 0) {
			r.ttl = m->v[i].ttl;
		}
	}
	m->v[m->n++] = r;
}

static void model_del(model_t *m, size_t i)
{
	m->v[i] = m->v[--m->n];
}

/* Removes every record at owner or below it. */
static void model_del_tree(model_t *m, const char *owner)
{
	size_t ol = strlen(owner);
	for (size_t i = 0; i < m->n;) {
		size_t l = strlen(m->v[i].owner);
		if (strcmp(m->v[i].owner, owner) == 0 ||
		    (l > ol && m->v[i].owner[l - ol - 1] == '.' &&
		     strcmp(m->v[i].owner + l - ol, owner) == 0)) {
			model_del(m, i);
		} else {
			i++;
		}
	}
}

static char *model_text(const model_t *m)
{
	size_t cap = 256 + m->n * 160;
	char *t = malloc(cap);
	size_t k = (size_t)snprintf(t, cap,
	                            "$ORIGIN example.\n@ 3600 SOA ns1 hostmaster %u 3600 600 "
	                            "86400 300\n",
	                            m->serial);
	for (size_t i = 0; i < m->n; i++) {
		k += (size_t)snprintf(t + k, cap - k, "%s %u %s %s\n", m->v[i].owner, m->v[i].ttl,
		                      m->v[i].type, m->v[i].rdata);
	}
	return t;
}

static void mutate(model_t *m, unsigned *seed)
{
	mrr_t r = {.ttl = 300};
	int what = rand_r(seed) % 7;
	unsigned k = (unsigned)rand_r(seed) % 24;
	switch (what) {
	case 0: /* an address */
		snprintf(r.owner, sizeof(r.owner), "n%u", k);
		snprintf(r.type, sizeof(r.type), "A");
		snprintf(r.rdata, sizeof(r.rdata), "192.0.2.%d", rand_r(seed) % 250);
		model_add(m, r);
		break;
	case 1: /* a deletion (not of the apex NS) */
		if (m->n > 3) {
			size_t i = 2 + (size_t)rand_r(seed) % (m->n - 2);
			model_del(m, i);
		}
		break;
	case 2: { /* a TTL change of an RRset */
		if (m->n == 0) {
			break;
		}
		mrr_t *x = &m->v[(size_t)rand_r(seed) % m->n];
		unsigned ttl = 60 + (unsigned)rand_r(seed) % 4000;
		char owner[48], type[8];
		snprintf(owner, sizeof(owner), "%s", x->owner);
		snprintf(type, sizeof(type), "%s", x->type);
		for (size_t i = 0; i < m->n; i++) {
			if (strcmp(m->v[i].owner, owner) == 0 && strcmp(m->v[i].type, type) == 0) {
				m->v[i].ttl = ttl;
			}
		}
		break;
	}
	case 3: /* a new delegation with glue */
		snprintf(r.owner, sizeof(r.owner), "d%u", k % 6);
		snprintf(r.type, sizeof(r.type), "NS");
		snprintf(r.rdata, sizeof(r.rdata), "ns.d%u", k % 6);
		model_add(m, r);
		snprintf(r.owner, sizeof(r.owner), "ns.d%u", k % 6);
		snprintf(r.type, sizeof(r.type), "A");
		snprintf(r.rdata, sizeof(r.rdata), "198.51.100.%u", k);
		model_add(m, r);
		break;
	case 4: /* a delegation goes, glue and all */
		snprintf(r.owner, sizeof(r.owner), "d%u", k % 6);
		model_del_tree(m, r.owner);
		break;
	case 5: /* a deep name: empty non-terminals appear */
		snprintf(r.owner, sizeof(r.owner), "a.b.c%u.e%u", k % 3, k % 5);
		snprintf(r.type, sizeof(r.type), "TXT");
		snprintf(r.rdata, sizeof(r.rdata), "\"t%d\"", rand_r(seed) % 4);
		model_add(m, r);
		break;
	default: /* a deep name goes: empty non-terminals disappear */
		snprintf(r.owner, sizeof(r.owner), "e%u", k % 5);
		model_del_tree(m, r.owner);
		break;
	}
}

static void test_zone_delta_apply_of_diff_gives_the_new_version(void)
{
	model_t *m = calloc(1, sizeof(*m));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	m->serial = 1;
	mrr_t ns1 = {"@", "NS", 3600, "ns1"}, ns2 = {"ns1", "A", 3600, "192.0.2.1"};
	model_add(m, ns1);
	model_add(m, ns2);
	unsigned seed = 12345;
	char *text = model_text(m);
	zone_t *old = load(text);
	free(text);
	int rounds = 300;
	for (int round = 0; round < rounds; round++) {
		int changes = 1 + rand_r(&seed) % 4;
		for (int c = 0; c < changes; c++) {
			mutate(m, &seed);
		}
		m->serial++;
		text = model_text(m);
		zone_t *new = load(text);
		free(text);
		zone_delta_t d;
		CU_ASSERT_EQUAL_FATAL(zone_diff(old, new, &d), ZONE_OK);
		CU_ASSERT_EQUAL(d.from_serial, m->serial - 1);
		CU_ASSERT_EQUAL(d.to_serial, m->serial);
		CU_ASSERT_FATAL(d.nremoved >= 1 && d.nadded >= 1);
		CU_ASSERT_EQUAL(d.removed[0].type, ZONE_TYPE_SOA);
		CU_ASSERT_EQUAL(d.added[0].type, ZONE_TYPE_SOA);
		diags_t g = {0};
		zone_t *r = NULL, *u = NULL;
		int ret = zone_delta_apply(old, &d, ZONE_APPLY_SIGNED, collect, &g, &r);
		if (ret != ZONE_OK) {
			print_diags(&g);
		}
		CU_ASSERT_EQUAL_FATAL(ret, ZONE_OK);
		CU_ASSERT_FATAL(same(r, new));
		CU_ASSERT_EQUAL_FATAL(
		        zone_delta_apply(old, &d, ZONE_APPLY_UNSIGNED, NULL, NULL, &u), ZONE_OK);
		CU_ASSERT_FATAL(same(u, new));
		CU_ASSERT_EQUAL(r->count, new->count); /* the same empty non-terminals */
		/* The diff against the shared-structure version is the same. */
		zone_delta_t d2;
		CU_ASSERT_EQUAL_FATAL(zone_diff(old, r, &d2), ZONE_OK);
		CU_ASSERT_EQUAL(d2.nremoved, d.nremoved);
		CU_ASSERT_EQUAL(d2.nadded, d.nadded);
		CU_ASSERT_EQUAL(zone_delta_wire_size(&d2), zone_delta_wire_size(&d));
		zone_delta_deinit(&d2);
		zone_delta_deinit(&d);
		zone_free(u);
		zone_free(old);
		old = r;
		zone_free(new);
	}
	printf("\n  %d random rounds, final zone %zu names\n", rounds, old->count);
	zone_free(old);
	free(m);
}

/* ---- signed data ---- */

/* A fake RRSIG over type by the apex (key tag k). */
static size_t fake_rrsig(uint16_t type, uint8_t k, uint8_t *rd)
{
	uint8_t fixed[18] = {(uint8_t)(type >> 8),
	                     (uint8_t)type,
	                     13,
	                     2,
	                     0,
	                     0,
	                     14,
	                     16,
	                     0x70,
	                     0,
	                     0,
	                     0,
	                     0x60,
	                     0,
	                     0,
	                     0,
	                     0,
	                     k};
	memcpy(rd, fixed, 18);
	static const uint8_t signer[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
	memcpy(rd + 18, signer, sizeof(signer));
	memset(rd + 18 + sizeof(signer), k, 64);
	return 18 + sizeof(signer) + 64;
}

/* z with every RRset signed (key tag k) and two NSEC3 nodes. */
static zone_t *sign(const zone_t *z, uint8_t k)
{
	zone_node_t **changed = calloc(z->count + 1, sizeof(*changed));
	size_t n = 0;
	for (size_t i = 0; i < z->count; i++) {
		const zone_node_t *node = zone_entry(z, i)->node;
		if (node->nslots == 0) {
			continue;
		}
		zone_slot_t slots[16];
		for (size_t s = 0; s < node->nslots; s++) {
			uint8_t rd[128];
			zone_rdata_t r = {rd,
			                  (uint16_t)fake_rrsig(node->slots[s].data->type, k, rd)};
			slots[s].data = node->slots[s].data;
			CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_RRSIG,
			                                     node->slots[s].data->ttl, &r, 1,
			                                     &slots[s].sigs),
			                      ZONE_OK);
		}
		CU_ASSERT_EQUAL_FATAL(
		        zone_node_new(node->owner, slots, node->nslots, &changed[n++]), ZONE_OK);
		for (size_t s = 0; s < node->nslots; s++) {
			zone_rrset_unref(slots[s].sigs);
		}
	}
	zone_t *out = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_replace(z, changed, n, &out, NULL), ZONE_OK);
	free(changed);
	zone_node_t *n3[2];
	const char *owners[2] = {"aaaa.example.", "bbbb.example."};
	for (int i = 0; i < 2; i++) {
		uint8_t rd[128], sd[128];
		uint8_t nsec3[] = {1, 0, 0, 0, 1, (uint8_t)(i + k), 0, 1, 0x40};
		memcpy(rd, nsec3, sizeof(nsec3));
		zone_rdata_t r = {rd, sizeof(nsec3)}, s = {sd, (uint16_t)fake_rrsig(50, k, sd)};
		zone_slot_t slot;
		CU_ASSERT_EQUAL_FATAL(zone_rrset_new(50, 300, &r, 1, &slot.data), ZONE_OK);
		CU_ASSERT_EQUAL_FATAL(zone_rrset_new(46, 300, &s, 1, &slot.sigs), ZONE_OK);
		CU_ASSERT_EQUAL_FATAL(zone_node_new(wire(owners[i]), &slot, 1, &n3[i]), ZONE_OK);
		zone_rrset_unref(slot.data);
		zone_rrset_unref(slot.sigs);
	}
	CU_ASSERT_EQUAL_FATAL(zone_set_nsec3(out, n3, 2), ZONE_OK);
	return out;
}

static void test_zone_diff_and_apply_of_signed_versions(void)
{
	zone_t *u = load(BASE);
	zone_t *s1 = sign(u, 1), *s2 = sign(u, 2);
	zone_delta_t d;
	/* Signing adds one RRSIG per RRset and the NSEC3 records. */
	CU_ASSERT_EQUAL_FATAL(zone_diff(u, s1, &d), ZONE_OK);
	CU_ASSERT_EQUAL(d.nremoved, 0);
	size_t rrsets = 0;
	for (size_t i = 0; i < u->count; i++) {
		rrsets += zone_entry(u, i)->node->nslots;
	}
	CU_ASSERT_EQUAL(d.nadded, rrsets + 4);
	zone_t *r = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_delta_apply(u, &d, ZONE_APPLY_SIGNED, NULL, NULL, &r), ZONE_OK);
	CU_ASSERT(same(r, s1));
	CU_ASSERT_EQUAL(r->nsec3_count, 2);
	zone_free(r);
	/* An unsigned apply skips them all, with warnings. */
	diags_t g = {0};
	CU_ASSERT_EQUAL_FATAL(zone_delta_apply(u, &d, ZONE_APPLY_UNSIGNED, collect, &g, &r),
	                      ZONE_OK);
	CU_ASSERT(g.warnings > 0);
	CU_ASSERT_EQUAL(g.errors, 0);
	CU_ASSERT_STRING_EQUAL(g.v[0].file, "added");
	CU_ASSERT_EQUAL(g.v[0].line, 1);
	CU_ASSERT_EQUAL(r->nsec3_count, 0);
	CU_ASSERT(same(r, u));
	zone_free(r);
	zone_delta_deinit(&d);
	/* A re-signing replaces every RRSIG. */
	CU_ASSERT_EQUAL_FATAL(zone_diff(s1, s2, &d), ZONE_OK);
	CU_ASSERT_EQUAL(d.nremoved, rrsets + 4);
	CU_ASSERT_EQUAL(d.nadded, rrsets + 4);
	CU_ASSERT_EQUAL_FATAL(zone_delta_apply(s1, &d, ZONE_APPLY_SIGNED, NULL, NULL, &r), ZONE_OK);
	CU_ASSERT(same(r, s2));
	zone_free(r);
	zone_delta_deinit(&d);
	/* An unsigned change on a signed version: the changed RRset loses its
	 * RRSIGs, the others keep theirs. */
	zone_delta_init(&d);
	records(&d, true, "www A 192.0.2.99\n");
	CU_ASSERT_EQUAL_FATAL(zone_delta_apply(s1, &d, ZONE_APPLY_UNSIGNED, NULL, NULL, &r),
	                      ZONE_OK);
	size_t i;
	CU_ASSERT_FATAL(zone_find(r, wire("www.example."), &i));
	CU_ASSERT_PTR_NULL(zone_node_find(zone_entry(r, i)->node, ZONE_TYPE_A)->sigs);
	CU_ASSERT_PTR_NOT_NULL(zone_node_find(zone_entry(r, i)->node, ZONE_TYPE_AAAA)->sigs);
	CU_ASSERT_EQUAL(zone_node_find(zone_entry(r, i)->node, ZONE_TYPE_A)->data->count, 2);
	CU_ASSERT_EQUAL(r->nsec3_count, 2);
	zone_free(r);
	/* Adding what is there changes nothing, RRSIGs kept. */
	zone_delta_deinit(&d);
	zone_delta_init(&d);
	records(&d, true, "www A 192.0.2.10\n");
	CU_ASSERT_EQUAL_FATAL(zone_delta_apply(s1, &d, ZONE_APPLY_UNSIGNED, NULL, NULL, &r),
	                      ZONE_OK);
	CU_ASSERT(same(r, s1));
	zone_free(r);
	/* A TTL change by adding a present record with another TTL. */
	zone_delta_deinit(&d);
	zone_delta_init(&d);
	records(&d, true, "www 120 A 192.0.2.10\n");
	CU_ASSERT_EQUAL_FATAL(zone_delta_apply(u, &d, ZONE_APPLY_UNSIGNED, NULL, NULL, &r),
	                      ZONE_OK);
	CU_ASSERT_FATAL(zone_find(r, wire("www.example."), &i));
	CU_ASSERT_EQUAL(zone_node_find(zone_entry(r, i)->node, ZONE_TYPE_A)->data->ttl, 120);
	zone_free(r);
	zone_delta_deinit(&d);
	zone_free(s1);
	zone_free(s2);
	zone_free(u);
}

/* ---- errors ---- */

typedef struct {
	const char *name;
	const char *removed, *added; /* record text, or NULL */
	/* or one raw record added: owner, type, ttl, rdata */
	const char *raw_owner;
	uint16_t raw_type;
	uint32_t raw_ttl;
	const uint8_t *raw_rd;
	uint16_t raw_len;
	unsigned flags;
	int status;
	const char *file;
	unsigned long line;
} bad_t;

static const uint8_t rd_a[] = {192, 0, 2, 7};
static const uint8_t rd_bad_ns[] = {3, 'a', 'b'};

static const bad_t bad_cases[] = {
        {"out of zone", NULL, NULL, "www.example.org.", 1, 300, rd_a, 4, ZONE_APPLY_UNSIGNED,
         ZONE_ERR_OUT_OF_ZONE, "added", 1},
        {"meta type", NULL, NULL, "www.example.", 255, 300, rd_a, 4, ZONE_APPLY_UNSIGNED,
         ZONE_ERR_UNKNOWN_TYPE, "added", 1},
        {"ttl", NULL, NULL, "www.example.", 1, 0x80000000u, rd_a, 4, ZONE_APPLY_UNSIGNED,
         ZONE_ERR_TTL, "added", 1},
        {"rdata", NULL, NULL, "www.example.", ZONE_TYPE_NS, 300, rd_bad_ns, 3, ZONE_APPLY_UNSIGNED,
         ZONE_ERR_RDATA, "added", 1},
        {"no such rr", "www A 192.0.2.10\nwww A 192.0.2.77\n", NULL, NULL, 0, 0, NULL, 0,
         ZONE_APPLY_UNSIGNED, ZONE_ERR_NO_SUCH_RR, "removed", 2},
        {"removed twice", "www A 192.0.2.10\nwww A 192.0.2.10\n", NULL, NULL, 0, 0, NULL, 0,
         ZONE_APPLY_SIGNED, ZONE_ERR_NO_SUCH_RR, "removed", 2},
        {"cname beside data", NULL, "ftp A 192.0.2.5\nwww CNAME ftp\n", NULL, 0, 0, NULL, 0,
         ZONE_APPLY_UNSIGNED, ZONE_ERR_CNAME, "added", 2},
        {"two cnames", NULL, "alias CNAME www\nalias CNAME mail\n", NULL, 0, 0, NULL, 0,
         ZONE_APPLY_UNSIGNED, ZONE_ERR_SINGLETON, "added", 2},
        {"soa removed", "@ SOA ns1 hostmaster 1 3600 600 86400 300\n", NULL, NULL, 0, 0, NULL, 0,
         ZONE_APPLY_UNSIGNED, ZONE_ERR_NO_SOA, "removed", 1},
        {"second soa", NULL, "@ SOA ns1 hostmaster 2 3600 600 86400 300\n", NULL, 0, 0, NULL, 0,
         ZONE_APPLY_UNSIGNED, ZONE_ERR_DUPLICATE_SOA, "added", 1},
        {"soa below apex", NULL, "www SOA ns1 hostmaster 2 3600 600 86400 300\n", NULL, 0, 0, NULL,
         0, ZONE_APPLY_UNSIGNED, ZONE_ERR_SOA_NOT_APEX, "added", 1},
        {"apex ns removed", "@ NS ns1\n@ NS ns2\n", NULL, NULL, 0, 0, NULL, 0, ZONE_APPLY_UNSIGNED,
         ZONE_ERR_NO_APEX_NS, "removed", 2},
        {"orphan rrsig", NULL,
         "www RRSIG TXT 13 2 3600 20300101000000 20200101000000 1 example. AAAA\n", NULL, 0, 0,
         NULL, 0, ZONE_APPLY_SIGNED, ZONE_ERR_ORPHAN_RRSIG, "added", 1},
};

static void test_zone_delta_apply_errors_report_and_change_nothing(void)
{
	zone_t *z = load(BASE), *copy = load(BASE);
	for (size_t c = 0; c < sizeof(bad_cases) / sizeof(bad_cases[0]); c++) {
		const bad_t *b = &bad_cases[c];
		zone_delta_t d;
		zone_delta_init(&d);
		if (b->removed != NULL) {
			records(&d, false, b->removed);
		}
		if (b->added != NULL) {
			records(&d, true, b->added);
		}
		if (b->raw_owner != NULL) {
			CU_ASSERT_EQUAL_FATAL(zone_delta_add(&d, true, wire(b->raw_owner),
			                                     b->raw_type, b->raw_ttl, b->raw_rd,
			                                     b->raw_len),
			                      ZONE_OK);
		}
		diags_t g = {0};
		zone_t *out = (zone_t *)&g; /* must stay as it is */
		int ret = zone_delta_apply(z, &d, b->flags, collect, &g, &out);
		if (ret != b->status || g.errors == 0 || strcmp(g.v[0].file, b->file) != 0 ||
		    g.v[0].line != b->line) {
			fprintf(stderr, "\n  case '%s': status %d (%s), want %d\n", b->name, ret,
			        zone_strerror(ret), b->status);
			print_diags(&g);
		}
		CU_ASSERT_EQUAL(ret, b->status);
		CU_ASSERT(g.errors > 0);
		CU_ASSERT_STRING_EQUAL(g.v[0].file, b->file);
		CU_ASSERT_EQUAL(g.v[0].line, b->line);
		CU_ASSERT_PTR_EQUAL(out, (zone_t *)&g);
		zone_delta_deinit(&d);
	}
	CU_ASSERT(same(z, copy));
	zone_free(z);
	zone_free(copy);
}

/* ---- a big zone ---- */

/* Names in the big zone (1M: built in memory in about a second). */
#define BIG_NAMES 1000000

static zone_t *big_zone(void)
{
	zone_node_t **nodes = malloc((BIG_NAMES + 1) * sizeof(*nodes));
	CU_ASSERT_PTR_NOT_NULL_FATAL(nodes);
	zone_t *base = load(BASE);
	nodes[0] = zone_node_ref(zone_entry(base, 0)->node); /* SOA and NS */
	for (size_t i = 1; i < BIG_NAMES; i++) {
		uint8_t name[64], rd[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
		int l = snprintf((char *)name + 1, 60, "h%zu", i);
		name[0] = (uint8_t)l;
		memcpy(name + 1 + l, "\007example", 9);
		zone_rdata_t r = {rd, 4};
		zone_slot_t slot = {NULL, NULL};
		CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_A, 300, &r, 1, &slot.data), ZONE_OK);
		CU_ASSERT_EQUAL_FATAL(zone_node_new(name, &slot, 1, &nodes[i]), ZONE_OK);
		zone_rrset_unref(slot.data);
	}
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_new(wire("example."), nodes, BIG_NAMES, &z, NULL), ZONE_OK);
	free(nodes);
	zone_free(base);
	return z;
}

static void test_zone_diff_of_a_one_record_change_in_a_big_zone_is_fast(void)
{
	double t0 = now_ms();
	zone_t *a = big_zone();
	double t1 = now_ms();
	zone_delta_t in;
	zone_delta_init(&in);
	records(&in, false, "@ SOA ns1 hostmaster 1 3600 600 86400 300\n");
	records(&in, true, "@ SOA ns1 hostmaster 2 3600 600 86400 300\nh4242 300 A 192.0.2.42\n");
	zone_t *b = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_delta_apply(a, &in, ZONE_APPLY_UNSIGNED, NULL, NULL, &b),
	                      ZONE_OK);
	double t2 = now_ms();
	zone_delta_t d;
	CU_ASSERT_EQUAL_FATAL(zone_diff(a, b, &d), ZONE_OK);
	double t3 = now_ms();
	printf("\n  %d names: build %.0f ms, apply of a one-record delta %.1f ms, diff %.2f ms\n",
	       BIG_NAMES, t1 - t0, t2 - t1, t3 - t2);
	CU_ASSERT_EQUAL(d.nremoved, 1);
	CU_ASSERT_EQUAL(d.nadded, 2);
	CU_ASSERT(t3 - t2 < 200.0);
	zone_delta_deinit(&d);
	zone_delta_deinit(&in);
	zone_free(a);
	zone_free(b);
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"zone_diff_of_identical_versions_is_empty",
	         test_zone_diff_of_identical_versions_is_empty},
	        {"zone_diff_one_change_gives_it_and_the_soa_pair",
	         test_zone_diff_one_change_gives_it_and_the_soa_pair},
	        {"zone_delta_pointers_stay_valid_as_it_grows",
	         test_zone_delta_pointers_stay_valid_as_it_grows},
	        {"zone_delta_apply_of_diff_gives_the_new_version",
	         test_zone_delta_apply_of_diff_gives_the_new_version},
	        {"zone_diff_and_apply_of_signed_versions",
	         test_zone_diff_and_apply_of_signed_versions},
	        {"zone_delta_apply_errors_report_and_change_nothing",
	         test_zone_delta_apply_errors_report_and_change_nothing},
	        {"zone_diff_of_a_one_record_change_in_a_big_zone_is_fast",
	         test_zone_diff_of_a_one_record_change_in_a_big_zone_is_fast},
	        {NULL, NULL},
	};
	return testutil_run("zone_diff", cases);
}
