/*
 * test_daemon_changes: signerd's incremental changes against a model.
 *
 * One signerd with a KSK+ZSK (ECDSAP256SHA256) zone. A starting zone (200
 * names with A/AAAA/TXT/MX, delegations with glue, a DNAME, a wildcard) is
 * pushed, fetched and checked with ldns-verify-zone and dnssec-verify. Then
 * 1,000 random changes in batches of at most 10, one update per batch
 * (from = the last input serial, to = +1): adds, deletes, modifications
 * (other RDATA, or the RRset's TTL), delegations added and removed (NS +
 * glue), records that create empty non-terminals and their removal. The
 * driver keeps a model of the unsigned zone; after every batch:
 *   - the full fetch minus DNSSEC records (SOA without its serial) equals
 *     the model exactly;
 *   - the delta fetched from the previous signed serial, applied to the
 *     previous signed set, gives exactly the new full signed set;
 *   - every 25th batch and the last: ldns-verify-zone (dnssec-verify too on
 *     the last).
 * (1,000 changes give about 180 batches; a full fetch of ~3,000 records each
 * time is cheap, so every batch gets both checks.)
 * Then each bad change, checking the exact status and that neither serial
 * nor content changed: a from_serial mismatch, deleting a record that does
 * not exist, a record outside the zone, invalid RDATA, a CNAME beside other
 * data (the message names the record), an unknown zone (and the next answer
 * on that connection is the next request's), a push cut by disconnecting in
 * the middle (the daemon still serves others and takes the next change).
 *
 *   test_daemon_changes SIGNERD SIGNER        (SIGNER_TEST_SEED: the seed)
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/daemon_env.h"
#include "tests/integration/dclient.h"

#define ZONE         "dtest.example."
#define CHANGES      1000
#define VERIFY_EVERY 25

enum { S_OK = 0, S_NOT_FOUND = 3, S_SERIAL_MISMATCH = 6, S_INVALID_ZONE = 7 };

static daemon_env_t env;
static dclient_t *cl;
static atomic_int failures;

#define CHECK(...) DAEMON_ENV_CHECK(&failures, __VA_ARGS__)

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	daemon_env_log_tail(&env, 30);
	dclient_free(cl);
	daemon_env_cleanup(&env, false);
	exit(1);
}

/* --- the model of the unsigned zone --- */

enum { K_FIXED, K_HOST, K_DELEG, K_ENT };

typedef struct {
	char owner[256]; /* absolute, lower case */
	char type[8];
	uint32_t ttl;
	char rdata[128];
	char *line; /* canonical */
	int kind;
	unsigned group; /* delegation number (K_DELEG) */
} mrec_t;

static mrec_t *model;
static size_t nmodel, capmodel;
static uint32_t in_serial = 1;
static unsigned counter;

static char *canon_of(const char *owner, uint32_t ttl, const char *type, const char *rdata)
{
	char text[512];
	snprintf(text, sizeof(text), "%s %u IN %s %s\n", owner, ttl, type, rdata);
	char *c = dclient_canon(ZONE, text);
	if (c == NULL) {
		die("the test's own record does not parse: %s", text);
	}
	return c;
}

static mrec_t *model_add(const char *owner, uint32_t ttl, const char *type, const char *rdata,
                         int kind, unsigned group)
{
	if (nmodel == capmodel) {
		capmodel = capmodel ? capmodel * 2 : 1024;
		model = realloc(model, capmodel * sizeof(*model));
		if (model == NULL) {
			die("out of memory");
		}
	}
	mrec_t *r = &model[nmodel++];
	memset(r, 0, sizeof(*r));
	snprintf(r->owner, sizeof(r->owner), "%.250s", owner);
	snprintf(r->type, sizeof(r->type), "%s", type);
	snprintf(r->rdata, sizeof(r->rdata), "%s", rdata);
	r->ttl = ttl;
	r->kind = kind;
	r->group = group;
	r->line = canon_of(owner, ttl, type, rdata);
	return r;
}

static void model_del(size_t i)
{
	free(model[i].line);
	model[i] = model[--nmodel];
}

/* The TTL of owner/type's RRset in the model, or 0. */
static uint32_t rrset_ttl(const char *owner, const char *type)
{
	for (size_t i = 0; i < nmodel; i++) {
		if (strcmp(model[i].owner, owner) == 0 && strcmp(model[i].type, type) == 0) {
			return model[i].ttl;
		}
	}
	return 0;
}

/* The line with the SOA serial (7th field) replaced by "S" (malloc'ed). */
static char *norm_line(const char *line)
{
	char t[16];
	dclient_line_type(line, t, sizeof(t));
	char *out = strdup(line);
	if (out == NULL || strcmp(t, "SOA") != 0) {
		return out;
	}
	/* Fields: owner ttl IN SOA mname rname serial ... */
	char *p = out;
	for (int f = 0; f < 6 && *p; f++) {
		while (*p && *p != ' ' && *p != '\t') {
			p++;
		}
		while (*p == ' ' || *p == '\t') {
			p++;
		}
	}
	char *e = p;
	while (*e && *e != ' ' && *e != '\t') {
		e++;
	}
	if (p < e) {
		*p = 'S';
		memmove(p + 1, e, strlen(e) + 1);
	}
	return out;
}

static void model_view(dclient_lines_t *out)
{
	dclient_lines_init(out);
	for (size_t i = 0; i < nmodel; i++) {
		char *n = norm_line(model[i].line);
		dclient_lines_add(out, n);
		free(n);
	}
	dclient_lines_sort(out);
}

static bool dnssec_type(const char *t)
{
	return strcmp(t, "RRSIG") == 0 || strcmp(t, "NSEC") == 0 || strcmp(t, "NSEC3") == 0 ||
	       strcmp(t, "NSEC3PARAM") == 0 || strcmp(t, "DNSKEY") == 0;
}

/* The unsigned part of a signed set, SOA serial replaced. */
static void unsigned_view(const dclient_lines_t *signed_set, dclient_lines_t *out)
{
	dclient_lines_init(out);
	for (size_t i = 0; i < signed_set->n; i++) {
		char t[16];
		if (dnssec_type(dclient_line_type(signed_set->v[i], t, sizeof(t)))) {
			continue;
		}
		char *n = norm_line(signed_set->v[i]);
		dclient_lines_add(out, n);
		free(n);
	}
	dclient_lines_sort(out);
}

static size_t check_model(const dclient_lines_t *signed_set, const char *when)
{
	dclient_lines_t m, u;
	model_view(&m);
	unsigned_view(signed_set, &u);
	size_t d = dclient_lines_diff(&m, &u, "model(-) vs fetched(+)", 10);
	CHECK(d == 0,
	      "%s: the fetched zone's unsigned records differ from the model in %zu records", when,
	      d);
	dclient_lines_free(&m);
	dclient_lines_free(&u);
	return d;
}

static unsigned rnd(unsigned n)
{
	return (unsigned)(random() % n);
}

static void starting_zone(daemon_env_buf_t *text)
{
	daemon_env_buf_add(text, "$ORIGIN %s\n$TTL 3600\n", ZONE);
	model_add(ZONE, 3600, "SOA", "ns1." ZONE " hostmaster." ZONE " 1 3600 900 604800 300",
	          K_FIXED, 0);
	model_add(ZONE, 3600, "NS", "ns1." ZONE, K_FIXED, 0);
	model_add(ZONE, 3600, "NS", "ns2." ZONE, K_FIXED, 0);
	model_add("ns1." ZONE, 3600, "A", "192.0.2.1", K_FIXED, 0);
	model_add("ns2." ZONE, 3600, "A", "192.0.2.2", K_FIXED, 0);
	model_add("ns2." ZONE, 3600, "AAAA", "2001:db8::2", K_FIXED, 0);
	model_add("dn." ZONE, 3600, "DNAME", "target.example.net.", K_FIXED, 0);
	model_add("*.wild." ZONE, 600, "A", "192.0.2.80", K_FIXED, 0);
	model_add("*.wild." ZONE, 600, "TXT", "\"wildcard\"", K_FIXED, 0);
	char owner[256], rd[128];
	for (unsigned i = 0; i < 200; i++) {
		snprintf(owner, sizeof(owner), "host%u.%s", i, ZONE);
		snprintf(rd, sizeof(rd), "10.0.%u.%u", i / 200, i % 200 + 1);
		model_add(owner, 3600, "A", rd, K_HOST, 0);
		if (i % 2 == 0) {
			snprintf(rd, sizeof(rd), "2001:db8:1::%x", i + 1);
			model_add(owner, 3600, "AAAA", rd, K_HOST, 0);
		}
		if (i % 3 == 0) {
			snprintf(rd, sizeof(rd), "\"host %u text\"", i);
			model_add(owner, 300, "TXT", rd, K_HOST, 0);
		}
		if (i % 4 == 1) {
			snprintf(rd, sizeof(rd), "10 mail%u.%s", i, ZONE);
			model_add(owner, 3600, "MX", rd, K_HOST, 0);
		}
	}
	for (unsigned g = 1; g <= 3; g++) {
		snprintf(owner, sizeof(owner), "sub%u.%s", g, ZONE);
		snprintf(rd, sizeof(rd), "ns.sub%u.%s", g, ZONE);
		model_add(owner, 3600, "NS", rd, K_DELEG, g);
		snprintf(rd, sizeof(rd), "ns.example.net.");
		model_add(owner, 3600, "NS", rd, K_DELEG, g);
		snprintf(owner, sizeof(owner), "ns.sub%u.%s", g, ZONE);
		snprintf(rd, sizeof(rd), "192.0.2.%u", 100 + g);
		model_add(owner, 3600, "A", rd, K_DELEG, g);
	}
	for (size_t i = 0; i < nmodel; i++) {
		daemon_env_buf_add(text, "%s\n", model[i].line);
	}
}

/* --- one batch of random changes --- */

typedef struct {
	char owners[64][256];
	size_t n;
} touched_t;

static bool touched(const touched_t *t, const char *owner)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->owners[i], owner) == 0) {
			return true;
		}
	}
	return false;
}

static void touch(touched_t *t, const char *owner)
{
	if (t->n < 64) {
		snprintf(t->owners[t->n++], sizeof(t->owners[0]), "%.250s", owner);
	}
}

static void new_rdata(const char *type, char *rd, size_t cap)
{
	unsigned c = ++counter;
	if (strcmp(type, "A") == 0) {
		snprintf(rd, cap, "10.%u.%u.%u", 1 + c / 65536, (c / 256) % 256, c % 256);
	} else if (strcmp(type, "AAAA") == 0) {
		snprintf(rd, cap, "2001:db8:2::%x:%x", c / 65536 + 1, c % 65536);
	} else if (strcmp(type, "TXT") == 0) {
		snprintf(rd, cap, "\"change %u\"", c);
	} else {
		snprintf(rd, cap, "%u mx%u.%s", 1 + c % 50, c, ZONE);
	}
}

/* Picks a random model record of kind whose owner is untouched; -1 if none
 * after some tries. */
static long pick(int kind, const touched_t *t)
{
	for (int tries = 0; tries < 200 && nmodel > 0; tries++) {
		size_t i = rnd((unsigned)nmodel);
		if (model[i].kind == kind && !touched(t, model[i].owner)) {
			return (long)i;
		}
	}
	return -1;
}

static void rm_rec(size_t i, daemon_env_buf_t *rem)
{
	daemon_env_buf_add(rem, "%s\n", model[i].line);
	model_del(i);
}

static void add_rec(const char *owner, uint32_t ttl, const char *type, const char *rd, int kind,
                    unsigned group, daemon_env_buf_t *add)
{
	mrec_t *r = model_add(owner, ttl, type, rd, kind, group);
	daemon_env_buf_add(add, "%s\n", r->line);
}

static unsigned deleg_count;

/* One random change into rem/add (and the model). Returns true if made. */
static bool one_change(touched_t *t, daemon_env_buf_t *rem, daemon_env_buf_t *add, unsigned *kinds)
{
	static const char *types[] = {"A", "AAAA", "TXT", "MX"};
	static const uint32_t ttls[] = {300, 600, 3600, 86400};
	char owner[256], rd[128];
	unsigned what = rnd(100);
	if (what < 30) { /* add */
		const char *type = types[rnd(4)];
		long i = rnd(3) == 0 ? -1 : pick(K_HOST, t);
		if (i >= 0) {
			snprintf(owner, sizeof(owner), "%s", model[i].owner);
		} else {
			snprintf(owner, sizeof(owner), "n%u.%s", ++counter, ZONE);
		}
		if (touched(t, owner)) {
			return false;
		}
		uint32_t ttl = rrset_ttl(owner, type);
		new_rdata(type, rd, sizeof(rd));
		add_rec(owner, ttl ? ttl : ttls[rnd(4)], type, rd, K_HOST, 0, add);
		touch(t, owner);
		kinds[0]++;
		return true;
	}
	if (what < 55) { /* delete */
		long i = pick(K_HOST, t);
		if (i < 0) {
			return false;
		}
		touch(t, model[i].owner);
		rm_rec((size_t)i, rem);
		kinds[1]++;
		return true;
	}
	if (what < 80) { /* modify: other RDATA, or the RRset's TTL */
		long i = pick(K_HOST, t);
		if (i < 0) {
			return false;
		}
		mrec_t r = model[i];
		r.line = NULL;
		touch(t, r.owner);
		if (rnd(2) == 0) {
			rm_rec((size_t)i, rem);
			new_rdata(r.type, rd, sizeof(rd));
			add_rec(r.owner, r.ttl, r.type, rd, K_HOST, 0, add);
			kinds[2]++;
		} else {
			uint32_t ttl = ttls[rnd(4)];
			if (ttl == r.ttl) {
				ttl = r.ttl == 300 ? 7200 : 300;
			}
			/* Every member of the RRset moves to the new TTL. */
			char rds[64][128];
			size_t n = 0;
			for (size_t j = 0; j < nmodel;) {
				if (strcmp(model[j].owner, r.owner) == 0 &&
				    strcmp(model[j].type, r.type) == 0 && n < 64) {
					snprintf(rds[n++], sizeof(rds[0]), "%s", model[j].rdata);
					rm_rec(j, rem);
				} else {
					j++;
				}
			}
			for (size_t j = 0; j < n; j++) {
				add_rec(r.owner, ttl, r.type, rds[j], K_HOST, 0, add);
			}
			kinds[3]++;
		}
		return true;
	}
	if (what < 88) { /* a new delegation with glue */
		unsigned g = 100 + ++deleg_count;
		snprintf(owner, sizeof(owner), "del%u.%s", g, ZONE);
		snprintf(rd, sizeof(rd), "ns1.del%u.%s", g, ZONE);
		add_rec(owner, 3600, "NS", rd, K_DELEG, g, add);
		snprintf(rd, sizeof(rd), "ns.example.net.");
		add_rec(owner, 3600, "NS", rd, K_DELEG, g, add);
		touch(t, owner);
		snprintf(owner, sizeof(owner), "ns1.del%u.%s", g, ZONE);
		new_rdata("A", rd, sizeof(rd));
		add_rec(owner, 3600, "A", rd, K_DELEG, g, add);
		touch(t, owner);
		kinds[4]++;
		return true;
	}
	if (what < 93) { /* a delegation removed, glue included */
		long i = pick(K_DELEG, t);
		if (i < 0) {
			return false;
		}
		unsigned g = model[i].group;
		for (size_t j = 0; j < nmodel; j++) {
			if (model[j].kind == K_DELEG && model[j].group == g &&
			    touched(t, model[j].owner)) {
				return false;
			}
		}
		for (size_t j = 0; j < nmodel;) {
			if (model[j].kind == K_DELEG && model[j].group == g) {
				touch(t, model[j].owner);
				rm_rec(j, rem);
			} else {
				j++;
			}
		}
		kinds[5]++;
		return true;
	}
	if (what < 97) { /* empty non-terminals: a.b.c.<host> */
		long i = pick(K_HOST, t);
		if (i < 0) {
			return false;
		}
		snprintf(owner, sizeof(owner), "a.b.c.%.200s", model[i].owner);
		if (touched(t, owner) || rrset_ttl(owner, "TXT") != 0) {
			return false;
		}
		new_rdata("TXT", rd, sizeof(rd));
		add_rec(owner, 3600, "TXT", rd, K_ENT, 0, add);
		touch(t, owner);
		kinds[6]++;
		return true;
	}
	long i = pick(K_ENT, t); /* and their removal */
	if (i < 0) {
		return false;
	}
	touch(t, model[i].owner);
	rm_rec((size_t)i, rem);
	kinds[7]++;
	return true;
}

/* --- signed-set bookkeeping --- */

static dclient_lines_t signed_set; /* the last full signed set */
static uint32_t signed_serial;

static void fetch_full(dclient_lines_t *out, uint32_t *serial, const char *when)
{
	dclient_fetch_t f;
	if (dclient_fetch(cl, ZONE, false, 0, &f) != 0) {
		die("%s: fetch: %s", when, dclient_error(cl));
	}
	if (f.res.status != S_OK) {
		die("%s: fetch answered %s: %s", when, dclient_status_name(f.res.status),
		    f.res.message);
	}
	*out = f.all;
	f.all.v = NULL;
	f.all.n = f.all.cap = 0;
	*serial = f.serial;
	dclient_fetch_free(&f);
}

/* Checks the delta chain from signed_serial to the new full set, then makes
 * it the current one. */
static void check_delta_chain(dclient_lines_t *full, uint32_t serial, const char *when)
{
	dclient_fetch_t f;
	if (dclient_fetch(cl, ZONE, true, signed_serial, &f) != 0) {
		die("%s: delta fetch from %u: %s", when, signed_serial, dclient_error(cl));
	}
	CHECK(f.res.status == S_OK, "%s: delta fetch from %u answered %s: %s", when, signed_serial,
	      dclient_status_name(f.res.status), f.res.message);
	if (f.res.status == S_OK) {
		CHECK(f.delta, "%s: delta fetch header says delta = false", when);
		CHECK(f.serial == serial, "%s: delta fetch ends at %u, full fetch at %u", when,
		      f.serial, serial);
		CHECK(f.ndeltas > 0, "%s: delta %u -> %u has no delta", when, signed_serial,
		      serial);
		dclient_lines_t s;
		dclient_lines_copy(&s, &signed_set);
		uint32_t at = signed_serial;
		for (size_t i = 0; i < f.ndeltas; i++) {
			CHECK(f.deltas[i].from == at, "%s: delta %zu starts at %u, expected %u",
			      when, i, f.deltas[i].from, at);
			size_t bad = dclient_lines_apply(&s, &f.deltas[i]);
			CHECK(bad == 0, "%s: delta %u -> %u does not apply (%zu records)", when,
			      f.deltas[i].from, f.deltas[i].to, bad);
			at = f.deltas[i].to;
		}
		CHECK(at == serial, "%s: the deltas end at %u, not %u", when, at, serial);
		size_t d = dclient_lines_diff(&s, full, "prev+delta(-) vs full(+)", 10);
		CHECK(d == 0,
		      "%s: previous signed set (serial %u) + delta differs from the full fetch "
		      "(serial %u) in %zu records",
		      when, signed_serial, serial, d);
		dclient_lines_free(&s);
	}
	dclient_fetch_free(&f);
	dclient_lines_free(&signed_set);
	signed_set = *full;
	signed_serial = serial;
}

/* --- bad changes --- */

typedef struct {
	uint32_t serial, input_serial;
	dclient_lines_t set;
} state_t;

static void take_state(state_t *s, const char *when)
{
	dclient_status_t st;
	if (dclient_status(cl, ZONE, &st) != 0) {
		die("%s: status: %s", when, dclient_error(cl));
	}
	s->serial = st.serial;
	s->input_serial = st.input_serial;
	uint32_t fs;
	fetch_full(&s->set, &fs, when);
}

static void check_unchanged(const state_t *before, const char *what)
{
	state_t after;
	take_state(&after, what);
	CHECK(after.serial == before->serial && after.input_serial == before->input_serial,
	      "%s: serial %u/input %u became %u/%u", what, before->serial, before->input_serial,
	      after.serial, after.input_serial);
	size_t d = dclient_lines_diff(&before->set, &after.set, what, 10);
	CHECK(d == 0, "%s: the zone changed in %zu records", what, d);
	dclient_lines_free(&after.set);
}

static void bad_update(const char *what, uint32_t from, const char *zone, const char *rem,
                       const char *add, int expect, const char *must_name)
{
	state_t before;
	take_state(&before, what);
	dclient_result_t r;
	if (dclient_update_text(cl, zone, from, from + 1, rem, add, &r) != 0) {
		die("%s: %s", what, dclient_error(cl));
	}
	CHECK(r.status == expect, "%s: answered %s (\"%s\"), expected %s", what,
	      dclient_status_name(r.status), r.message, dclient_status_name(expect));
	CHECK(r.message[0] != '\0', "%s: error without a message", what);
	if (must_name != NULL) {
		CHECK(strcasestr(r.message, must_name) != NULL,
		      "%s: the message does not name %s: \"%s\"", what, must_name, r.message);
	}
	printf("  %-34s -> %s: %.160s\n", what, dclient_status_name(r.status), r.message);
	/* The connection must still be in step: the next answer is the next
	 * request's (a stream refused at its begin must have its chunks and
	 * end ignored, as the protocol says). */
	dclient_result_t d;
	if (dclient_daemon_ok(cl, &d) != 0) {
		failures++;
		fprintf(stderr, "FAIL: after \"%s\": the connection is out of step: %s\n", what,
		        dclient_error(cl));
		dclient_free(cl);
		cl = NULL;
		if (dclient_connect(env.sock, 120000, &cl) != 0) {
			die("cannot reconnect");
		}
	}
	check_unchanged(&before, what);
	dclient_lines_free(&before.set);
}

static void bad_changes(void)
{
	printf("== bad changes\n");
	char rm[512], add[512];
	bad_update("from_serial mismatch", in_serial + 5, ZONE, NULL,
	           "mismatch." ZONE " 3600 IN A 10.200.0.1\n", S_SERIAL_MISMATCH, NULL);
	bad_update("delete of a missing record", in_serial, ZONE,
	           "nonexistent." ZONE " 3600 IN A 10.200.0.2\n", NULL, S_INVALID_ZONE, NULL);
	/* An existing name, a record it does not have. */
	snprintf(rm, sizeof(rm), "host1.%s 3600 IN A 10.200.0.3\n", ZONE);
	bad_update("delete of a missing RR at a name", in_serial, ZONE, rm, NULL, S_INVALID_ZONE,
	           NULL);
	bad_update("record outside the zone", in_serial, ZONE, NULL,
	           "www.other.example. 3600 IN A 10.200.0.4\n", S_INVALID_ZONE, NULL);
	bad_update("invalid RDATA", in_serial, ZONE, NULL,
	           "badrdata." ZONE " 3600 IN A 300.1.2.3\n", S_INVALID_ZONE, NULL);
	/* CNAME beside the A of an existing name. */
	const char *cname_owner = NULL;
	for (size_t i = 0; i < nmodel; i++) {
		if (model[i].kind == K_HOST && strcmp(model[i].type, "A") == 0) {
			cname_owner = model[i].owner;
			break;
		}
	}
	if (cname_owner == NULL) {
		die("no host name left for the CNAME case");
	}
	snprintf(add, sizeof(add), "%.250s 3600 IN CNAME target.example.net.\n", cname_owner);
	char name[128];
	snprintf(name, sizeof(name), "%.*s", (int)strlen(cname_owner) - 1, cname_owner);
	bad_update("CNAME beside other data", in_serial, ZONE, NULL, add, S_INVALID_ZONE, name);
	/* A valid part beside a bad one: all of it refused. */
	snprintf(add, sizeof(add), "ok-part.%s 3600 IN A 10.200.0.5\nbad-part.%s 3600 IN A 1.2.3\n",
	         ZONE, ZONE);
	bad_update("valid and invalid in one change", in_serial, ZONE, NULL, add, S_INVALID_ZONE,
	           NULL);
	bad_update("unknown zone", 1, "nosuch.example.", NULL,
	           "www.nosuch.example. 3600 IN A 10.0.0.1\n", S_NOT_FOUND, NULL);

	/* A push cut by disconnecting in the middle. */
	const char *what = "push cut by a disconnect";
	state_t before;
	take_state(&before, what);
	dclient_t *c2 = NULL;
	if (dclient_connect(env.sock, 60000, &c2) != 0) {
		die("%s: connect", what);
	}
	daemon_env_buf_t text = {0};
	daemon_env_buf_add(&text, "$ORIGIN %s\n", ZONE);
	daemon_env_buf_add(&text, "@ 3600 IN SOA ns1 hostmaster %u 3600 900 604800 300\n@ NS ns1\n",
	                   in_serial + 100);
	for (unsigned i = 0; i < 3000; i++) {
		daemon_env_buf_add(&text, "cut%u 3600 IN A 10.201.%u.%u\n", i, i / 256, i % 256);
	}
	if (dclient_push_partial(c2, ZONE, daemon_env_buf_str(&text)) != 0) {
		die("%s: %s", what, dclient_error(c2));
	}
	dclient_free(c2);
	daemon_env_buf_free(&text);
	/* Another client is served while (and after) the daemon drops it. */
	dclient_t *c3 = NULL;
	CHECK(dclient_connect(env.sock, 60000, &c3) == 0, "%s: a new client cannot connect", what);
	if (c3 != NULL) {
		dclient_status_t st;
		CHECK(dclient_status(c3, ZONE, &st) == 0 && st.res.status == S_OK,
		      "%s: a new client gets no status", what);
		dclient_free(c3);
	}
	usleep(300000);
	check_unchanged(&before, what);
	dclient_lines_free(&before.set);
	printf("  %-34s -> zone unchanged\n", what);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s SIGNERD SIGNER [nsec3]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	unsigned seed = getenv("SIGNER_TEST_SEED") ? (unsigned)atoi(getenv("SIGNER_TEST_SEED"))
	                                           : (unsigned)time(NULL) ^ (unsigned)getpid();
	srandom(seed);
	printf("test_daemon_changes: seed %u (SIGNER_TEST_SEED)\n", seed);
	double t0 = daemon_env_now_ms();
	if (daemon_env_init(&env, "dchanges", argv[1], argv[2], NULL) != 0 ||
	    daemon_env_keygen(&env, "ECDSAP256SHA256", "ksk") != 0 ||
	    daemon_env_keygen(&env, "ECDSAP256SHA256", "zsk") != 0 ||
	    daemon_env_start(&env, NULL, 60) != 0) {
		daemon_env_cleanup(&env, false);
		return 1;
	}
	if (dclient_connect(env.sock, 120000, &cl) != 0) {
		die("connect");
	}
	dclient_result_t r;
	bool nsec3 = argc > 3 && strcmp(argv[3], "nsec3") == 0;
	printf("test_daemon_changes: %s chain\n", nsec3 ? "NSEC3" : "NSEC");
	if (dclient_zone_add(cl, ZONE, "ksk", "zsk", nsec3, &r) != 0) {
		die("zone add: %s", dclient_error(cl));
	}
	if (r.status != S_OK) {
		die("zone add answered %s: %s", dclient_status_name(r.status), r.message);
	}
	daemon_env_buf_t text = {0};
	starting_zone(&text);
	if (dclient_push_text(cl, ZONE, daemon_env_buf_str(&text), 0, &r) != 0) {
		die("push: %s", dclient_error(cl));
	}
	daemon_env_buf_free(&text);
	if (r.status != S_OK) {
		die("push answered %s: %s", dclient_status_name(r.status), r.message);
	}
	CHECK(r.input_serial == in_serial, "push: input serial %u, expected %u", r.input_serial,
	      in_serial);
	uint32_t fs;
	fetch_full(&signed_set, &fs, "initial fetch");
	signed_serial = fs;
	CHECK(fs == r.serial, "push published %u, fetch gives %u", r.serial, fs);
	printf("== starting zone: %zu records, %zu signed, serial %u (%.0f ms)\n", nmodel,
	       signed_set.n, fs, daemon_env_now_ms() - t0);
	check_model(&signed_set, "starting zone");
	if (daemon_env_verify(&env, ZONE, &signed_set, true, "start") != 0) {
		failures++;
	}

	double tc = daemon_env_now_ms();
	unsigned kinds[8] = {0};
	unsigned made = 0, batch = 0;
	daemon_env_buf_t rem = {0}, add = {0};
	unsigned groups = 0, coalesced = 0;
	while (made < CHANGES) {
		/* 1 to 6 batches sent before their answers are read: the daemon
		 * applies what is queued in one pass (one serial), as their net
		 * effect; the model follows them one by one. */
		unsigned group = 1 + rnd(6), sent = 0;
		uint64_t ids[6];
		char when[96];
		groups++;
		for (unsigned g = 0; g < group && made < CHANGES; g++) {
			batch++;
			snprintf(when, sizeof(when), "batch %u (input serial %u)", batch,
			         in_serial + 1);
			touched_t t = {.n = 0};
			daemon_env_buf_reset(&rem);
			daemon_env_buf_reset(&add);
			unsigned want = 1 + rnd(10), got = 0;
			if (want > CHANGES - made) {
				want = CHANGES - made;
			}
			for (int tries = 0; got < want && tries < 100; tries++) {
				got += one_change(&t, &rem, &add, kinds);
			}
			if (got == 0) {
				continue;
			}
			made += got;
			/* SOA fields do not change: the daemon sets the input serial. */
			for (size_t i = 0; i < nmodel; i++) {
				if (strcmp(model[i].type, "SOA") == 0) {
					char rd[160];
					snprintf(rd, sizeof(rd),
					         "ns1.%s hostmaster.%s %u 3600 900 604800 300",
					         ZONE, ZONE, in_serial + 1);
					free(model[i].line);
					model[i].line = canon_of(ZONE, 3600, "SOA", rd);
				}
			}
			if (dclient_update_send(cl, ZONE, in_serial, in_serial + 1,
			                        daemon_env_buf_str(&rem), daemon_env_buf_str(&add),
			                        &ids[sent]) != 0) {
				die("%s: update: %s", when, dclient_error(cl));
			}
			sent++;
			in_serial++;
		}
		if (sent == 0) {
			continue;
		}
		snprintf(when, sizeof(when), "batches up to %u (%u pipelined, input serial %u)",
		         batch, sent, in_serial);
		for (unsigned i = 0; i < sent; i++) {
			if (dclient_recv_result(cl, ids[i], &r) != 0) {
				die("%s: answer %u: %s", when, i + 1, dclient_error(cl));
			}
			if (r.status != S_OK) {
				die("%s: update %u of %u answered %s: %s", when, i + 1, sent,
				    dclient_status_name(r.status), r.message);
			}
			coalesced += r.coalesced;
		}
		CHECK(r.input_serial == in_serial, "%s: input serial %u in the last answer", when,
		      r.input_serial);
		dclient_lines_t full;
		uint32_t serial;
		fetch_full(&full, &serial, when);
		CHECK(serial == r.serial, "%s: update published %u, fetch gives %u", when, r.serial,
		      serial);
		CHECK(serial != signed_serial, "%s: the serial did not move (%u)", when, serial);
		if (check_model(&full, when) != 0) {
			fprintf(stderr, "last removed:\n%s\nlast added:\n%s\n",
			        daemon_env_buf_str(&rem), daemon_env_buf_str(&add));
		}
		check_delta_chain(&full, serial, when);
		if (groups % VERIFY_EVERY == 0 || made >= CHANGES) {
			bool last = made >= CHANGES;
			if (daemon_env_verify(&env, ZONE, &signed_set, last, "batch") != 0) {
				failures++;
				fprintf(stderr, "  (%s)\n", when);
			}
		}
		if (failures > 20) {
			die("too many failures");
		}
	}
	printf("== %u answers said coalesced (published with other changes)\n", coalesced);
	double tchanges = daemon_env_now_ms() - tc;
	printf("== %u changes in %u batches: %u adds, %u deletes, %u RDATA and %u TTL changes, "
	       "%u delegations added, %u removed, %u ENT records added, %u removed; %.1f s "
	       "(%.1f ms a batch)\n",
	       made, batch, kinds[0], kinds[1], kinds[2], kinds[3], kinds[4], kinds[5], kinds[6],
	       kinds[7], tchanges / 1000, tchanges / batch);
	/* Batches that refresh nothing are signed by the incremental pass. */
	unsigned inc = daemon_env_log_count(&env, ", incremental,");
	unsigned whole = daemon_env_log_count(&env, ", whole pass,");
	printf("== passes: %u incremental, %u whole\n", inc, whole);
	/* Whole passes: the first push, and merged runs touching more than a
	 * sixteenth of the names. */
	CHECK(inc > 0 && inc >= 4 * whole, "only %u of %u passes were incremental", inc,
	      inc + whole);
	daemon_env_buf_free(&rem);
	daemon_env_buf_free(&add);

	bad_changes();

	/* The zone still takes a change at the input serial it had. */
	if (dclient_update_text(cl, ZONE, in_serial, in_serial + 1, NULL,
	                        "after-bad." ZONE " 3600 IN A 10.202.0.1\n", &r) != 0) {
		die("final update: %s", dclient_error(cl));
	}
	CHECK(r.status == S_OK, "the update after the bad changes answered %s: %s",
	      dclient_status_name(r.status), r.message);
	if (r.status == S_OK) {
		in_serial++;
		model_add("after-bad." ZONE, 3600, "A", "10.202.0.1", K_HOST, 0);
		for (size_t i = 0; i < nmodel; i++) {
			if (strcmp(model[i].type, "SOA") == 0) {
				free(model[i].line);
				char rd[160];
				snprintf(rd, sizeof(rd),
				         "ns1.%s hostmaster.%s %u 3600 900 604800 300", ZONE, ZONE,
				         in_serial);
				model[i].line = canon_of(ZONE, 3600, "SOA", rd);
			}
		}
		dclient_lines_t full;
		uint32_t serial;
		fetch_full(&full, &serial, "final");
		check_model(&full, "final");
		check_delta_chain(&full, serial, "final");
		if (daemon_env_verify(&env, ZONE, &signed_set, true, "final") != 0) {
			failures++;
		}
	}
	dclient_free(cl);
	cl = NULL;
	int st = daemon_env_stop(&env);
	CHECK(st == 0, "signerd exited %d on SIGTERM", st);
	printf("test_daemon_changes: %.1f s in all, %d failures\n",
	       (daemon_env_now_ms() - t0) / 1000, failures);
	if (failures > 0) {
		daemon_env_log_tail(&env, 20);
	}
	daemon_env_cleanup(&env, false);
	dclient_lines_free(&signed_set);
	for (size_t i = 0; i < nmodel; i++) {
		free(model[i].line);
	}
	free(model);
	return failures > 0;
}
