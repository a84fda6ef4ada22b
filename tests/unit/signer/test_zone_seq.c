#include "signer/zone/zone_seq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_node.h"
#include "tests/support/testutil.h"

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

/* A node "n<i>.test." holding rrsets (NULL: none), one reference (the caller's). */
static zone_node_t *mknode(size_t i, const zone_slot_t *slots, size_t n)
{
	char text[32];
	uint8_t owner[DNAME_MAXLEN];
	snprintf(text, sizeof(text), "n%zu.test.", i);
	CU_ASSERT_EQUAL_FATAL(dname_from_str(text, NULL, owner, sizeof(owner), NULL), ZONE_OK);
	zone_node_t *node = NULL;
	CU_ASSERT_EQUAL_FATAL(zone_node_new(owner, slots, n, &node), ZONE_OK);
	return node;
}

/* The reference: a plain array of what the list should hold. */
typedef struct {
	zone_entry_t *v;
	size_t n;
} model_t;

static void model_insert(model_t *m, size_t i, zone_entry_t e)
{
	memmove(m->v + i + 1, m->v + i, (m->n - i) * sizeof(*m->v));
	m->v[i] = e;
	m->n++;
}

static void model_remove(model_t *m, size_t i)
{
	memmove(m->v + i, m->v + i + 1, (m->n - i - 1) * sizeof(*m->v));
	m->n--;
}

/* Checks the row (starts, counts) and that s holds exactly the entries of m. */
static void check_seq(const zone_seq_t *s, const model_t *m)
{
	CU_ASSERT_EQUAL_FATAL(s->count, m->n);
	CU_ASSERT_FATAL(s->nchunks <= s->cap || s->nchunks == 0);
	size_t total = 0;
	for (size_t k = 0; k < s->nchunks; k++) {
		CU_ASSERT_EQUAL_FATAL(s->starts[k], total);
		CU_ASSERT_FATAL(s->chunks[k]->count >= 1 && s->chunks[k]->count <= ZONE_SEQ_CHUNK);
		total += s->chunks[k]->count;
	}
	CU_ASSERT_EQUAL_FATAL(total, s->count);
	for (size_t i = 0; i < m->n; i++) {
		const zone_entry_t *e = zone_seq_at(s, i);
		size_t at = 0, k = zone_seq_chunk_of(s, i, &at);
		CU_ASSERT_FATAL(at < s->chunks[k]->count && s->starts[k] + at == i);
		CU_ASSERT_PTR_EQUAL_FATAL(e->node, m->v[i].node);
		CU_ASSERT_EQUAL_FATAL(e->flags, m->v[i].flags);
	}
}

#define POOL 257

/* With no chunk shared, each node has one reference per entry of m, plus the pool's. */
static void check_refs(zone_node_t **pool, const model_t *m)
{
	unsigned want[POOL];
	for (size_t p = 0; p < POOL; p++) {
		want[p] = 1;
	}
	for (size_t i = 0; i < m->n; i++) {
		want[(size_t)m->v[i].flags % POOL]++;
	}
	for (size_t p = 0; p < POOL; p++) {
		CU_ASSERT_EQUAL_FATAL(atomic_load(&pool[p]->refs), want[p]);
	}
}

/* Entry e names pool node flags % POOL, so that the flags say which node it holds. */
static zone_entry_t pool_entry(zone_node_t **pool)
{
	uint16_t f = (uint16_t)below(POOL * 200);
	return (zone_entry_t){zone_node_ref(pool[f % POOL]), f};
}

static void test_zone_seq_random_edits_match_array(void)
{
	zone_node_t *pool[POOL];
	for (size_t p = 0; p < POOL; p++) {
		pool[p] = mknode(p, NULL, 0);
	}
	for (uint64_t seed = 1; seed <= 3; seed++) {
		rng_state = seed;
		size_t cap = 20000;
		model_t m = {calloc(cap, sizeof(zone_entry_t)), 0};
		CU_ASSERT_PTR_NOT_NULL_FATAL(m.v);
		size_t n0 = seed == 1 ? 0 : below(3000);
		zone_entry_t *init = calloc(n0 + 1, sizeof(*init));
		for (size_t i = 0; i < n0; i++) {
			init[i] = pool_entry(pool);
			m.v[m.n++] = init[i];
		}
		zone_seq_t s;
		CU_ASSERT_EQUAL_FATAL(zone_seq_from_array(&s, init, n0), ZONE_OK);
		free(init);
		check_seq(&s, &m);
		check_refs(pool, &m);
		/* Grow well past several chunks, drain to nothing, grow again. */
		static const unsigned insert_pct[] = {90, 10, 70, 40};
		size_t max_chunks = 0, dropped = 0;
		for (int phase = 0; phase < 4; phase++) {
			for (int op = 0; op < 4000 || (phase == 1 && m.n > 0); op++) {
				size_t nchunks = s.nchunks;
				unsigned r = (unsigned)below(100);
				if (m.n == 0 || (r < insert_pct[phase] && m.n + 1 < cap)) {
					/* Often at a chunk's edges: the end, the front, a start. */
					size_t i = below(m.n + 1);
					if (r % 7 == 0) {
						i = m.n;
					} else if (r % 7 == 1) {
						i = 0;
					} else if (r % 7 == 2 && s.nchunks > 0) {
						i = s.starts[below(s.nchunks)];
					}
					zone_entry_t e = pool_entry(pool);
					CU_ASSERT_EQUAL_FATAL(zone_seq_insert(&s, i, e), ZONE_OK);
					model_insert(&m, i, e);
				} else if (r < 95) {
					size_t i = below(m.n);
					CU_ASSERT_EQUAL_FATAL(zone_seq_remove(&s, i), ZONE_OK);
					model_remove(&m, i);
				} else {
					size_t i = below(m.n);
					zone_entry_t e = pool_entry(pool);
					CU_ASSERT_EQUAL_FATAL(zone_seq_set(&s, i, e), ZONE_OK);
					m.v[i] = e;
				}
				if (s.nchunks > max_chunks) {
					max_chunks = s.nchunks;
				}
				dropped += s.nchunks < nchunks; /* a chunk emptied */
				if (op % 64 == 0) {
					check_seq(&s, &m);
				}
			}
			check_seq(&s, &m);
			check_refs(pool, &m);
		}
		CU_ASSERT(max_chunks >= 6 && dropped >= max_chunks);
		zone_seq_free(&s);
		CU_ASSERT_EQUAL(s.count, 0);
		m.n = 0;
		check_refs(pool, &m);
		free(m.v);
	}
	for (size_t p = 0; p < POOL; p++) {
		zone_node_unref(pool[p]);
	}
}

/* n distinct nodes in a list (test keeps a reference to each: refs 2). */
static void make_list(zone_seq_t *s, zone_node_t **nodes, model_t *m, size_t n)
{
	zone_entry_t *e = calloc(n, sizeof(*e));
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	for (size_t i = 0; i < n; i++) {
		nodes[i] = mknode(i, NULL, 0);
		e[i] = (zone_entry_t){zone_node_ref(nodes[i]), (uint16_t)i};
		m->v[i] = e[i];
	}
	m->n = n;
	CU_ASSERT_EQUAL_FATAL(zone_seq_from_array(s, e, n), ZONE_OK);
	free(e);
}

static size_t unshared(const zone_seq_t *a, const zone_seq_t *b)
{
	CU_ASSERT_EQUAL_FATAL(a->nchunks, b->nchunks);
	size_t d = 0;
	for (size_t k = 0; k < a->nchunks; k++) {
		d += !zone_seq_same_chunk(a, k, b, k);
	}
	return d;
}

static void test_zone_seq_copy_shares_chunks_and_writes_copy_one(void)
{
	enum { N = 5000 };
	static zone_node_t *nodes[N];
	static zone_entry_t mv[N + 8], cv[N + 8];
	model_t m = {mv, 0}, cm = {cv, 0};
	zone_seq_t s, c;
	make_list(&s, nodes, &m, N);
	CU_ASSERT_FATAL(s.nchunks >= 10);
	CU_ASSERT_EQUAL_FATAL(zone_seq_copy(&c, &s), ZONE_OK);
	memcpy(cv, mv, sizeof(mv));
	cm.n = m.n;
	CU_ASSERT_EQUAL(unshared(&s, &c), 0);
	check_seq(&c, &m);
	/* The copy takes chunk references, not node references. */
	CU_ASSERT_EQUAL(atomic_load(&nodes[0]->refs), 2);
	CU_ASSERT_EQUAL(atomic_load(&s.chunks[0]->refs), 2);

	/* A set on the copy copies its one chunk; the original keeps its node. */
	size_t i = 2 * ZONE_SEQ_CHUNK + 17, at = 0, k = zone_seq_chunk_of(&c, i, &at);
	zone_node_t *fresh = mknode(N, NULL, 0);
	CU_ASSERT_EQUAL_FATAL(zone_seq_set(&c, i, (zone_entry_t){zone_node_ref(fresh), 7}),
	                      ZONE_OK);
	cv[i] = (zone_entry_t){fresh, 7};
	CU_ASSERT_EQUAL(unshared(&s, &c), 1);
	CU_ASSERT(!zone_seq_same_chunk(&s, k, &c, k));
	check_seq(&s, &m);
	check_seq(&c, &cm);
	CU_ASSERT_EQUAL(atomic_load(&nodes[i]->refs), 2); /* in s only now */
	CU_ASSERT_EQUAL(atomic_load(&nodes[i + 1]->refs), 3);
	CU_ASSERT_EQUAL(atomic_load(&fresh->refs), 2);
	CU_ASSERT_EQUAL(atomic_load(&s.chunks[k]->refs), 1);
	CU_ASSERT_EQUAL(atomic_load(&c.chunks[k]->refs), 1);

	/* A second write to the same chunk copies nothing more. */
	CU_ASSERT_EQUAL_FATAL(zone_seq_remove(&c, i + 1), ZONE_OK);
	model_remove(&cm, i + 1);
	CU_ASSERT_EQUAL(atomic_load(&nodes[i + 1]->refs), 2);
	CU_ASSERT_EQUAL(atomic_load(&nodes[i + 2]->refs), 3);

	/* Insert and remove in other chunks of the copy: one more chunk each. */
	size_t nchunks = s.nchunks;
	CU_ASSERT_EQUAL_FATAL(zone_seq_insert(&c, 0, (zone_entry_t){zone_node_ref(fresh), 9}),
	                      ZONE_OK);
	model_insert(&cm, 0, (zone_entry_t){fresh, 9});
	CU_ASSERT_EQUAL_FATAL(zone_seq_remove(&c, c.count - 1), ZONE_OK);
	model_remove(&cm, cm.n - 1);
	CU_ASSERT_EQUAL(unshared(&s, &c), 3);
	CU_ASSERT_EQUAL(c.nchunks, nchunks);
	check_seq(&s, &m);
	check_seq(&c, &cm);

	/* Release: a no-op on a shared chunk, drops the node on an owned one. */
	size_t sh = s.starts[k + 2] + 1; /* a chunk both still share */
	CU_ASSERT_FATAL(zone_seq_same_chunk(&s, k + 2, &c, k + 2));
	zone_seq_release(&s, sh);
	CU_ASSERT_PTR_EQUAL(zone_seq_at(&s, sh)->node, nodes[sh]);
	CU_ASSERT_EQUAL(atomic_load(&nodes[sh]->refs), 2);
	zone_seq_release(&s, i);
	CU_ASSERT_PTR_NULL(zone_seq_at(&s, i)->node);
	CU_ASSERT_EQUAL(atomic_load(&nodes[i]->refs), 1);

	zone_seq_free(&c);
	CU_ASSERT_EQUAL(atomic_load(&fresh->refs), 1);
	CU_ASSERT_EQUAL(atomic_load(&nodes[i + 1]->refs), 2);
	CU_ASSERT_EQUAL(atomic_load(&s.chunks[0]->refs), 1);
	zone_seq_free(&s);
	zone_seq_free(&s); /* empty: no-op */
	zone_seq_free(NULL);
	for (size_t j = 0; j < N; j++) {
		CU_ASSERT_EQUAL_FATAL(atomic_load(&nodes[j]->refs), 1);
		zone_node_unref(nodes[j]);
	}
	zone_node_unref(fresh);
}

static void test_zone_seq_empty_and_single(void)
{
	zone_seq_t s, c;
	CU_ASSERT_EQUAL_FATAL(zone_seq_from_array(&s, NULL, 0), ZONE_OK);
	CU_ASSERT_EQUAL(s.count, 0);
	CU_ASSERT_EQUAL(s.nchunks, 0);
	CU_ASSERT_EQUAL_FATAL(zone_seq_copy(&c, &s), ZONE_OK);
	CU_ASSERT_EQUAL(c.count, 0);
	zone_node_t *a = mknode(1, NULL, 0);
	CU_ASSERT_EQUAL_FATAL(zone_seq_insert(&c, 0, (zone_entry_t){zone_node_ref(a), 1}), ZONE_OK);
	CU_ASSERT_EQUAL(c.count, 1);
	CU_ASSERT_EQUAL(s.count, 0);
	CU_ASSERT_PTR_EQUAL(zone_seq_at(&c, 0)->node, a);
	CU_ASSERT_EQUAL_FATAL(zone_seq_remove(&c, 0), ZONE_OK);
	CU_ASSERT_EQUAL(c.count, 0);
	CU_ASSERT_EQUAL(c.nchunks, 0);
	CU_ASSERT_EQUAL(atomic_load(&a->refs), 1);
	zone_seq_stats_t st = {.min_expiration = INT64_MAX};
	zone_seq_stats(&c, 0, &st);
	CU_ASSERT_EQUAL(st.records, 0);
	CU_ASSERT_EQUAL(st.min_expiration, INT64_MAX);
	zone_seq_free(&c);
	zone_seq_free(&s);
	zone_node_unref(a);
}

/* A node i with an A RRset of 1-3 RRs, half of them signed with expirations around now. */
static zone_node_t *stats_node(size_t i, int64_t now)
{
	uint8_t a[3][4], sig[3][40];
	zone_rdata_t rd[3], sd[3];
	size_t n = 1 + below(3), ns = 1 + below(2);
	for (size_t k = 0; k < n; k++) {
		memcpy(a[k], (uint8_t[]){10, (uint8_t)k, (uint8_t)(i >> 8), (uint8_t)i}, 4);
		rd[k] = (zone_rdata_t){a[k], 4};
	}
	for (size_t k = 0; k < ns; k++) {
		/* RRSIG: covered, alg, labels, TTL, expiration, inception, tag, signer. */
		uint32_t exp = (uint32_t)(now + 86400 + (int64_t)below(100000000) - 50000000);
		memset(sig[k], 0, sizeof(sig[k]));
		sig[k][1] = 1;
		sig[k][2] = 13;
		sig[k][8] = (uint8_t)(exp >> 24);
		sig[k][9] = (uint8_t)(exp >> 16);
		sig[k][10] = (uint8_t)(exp >> 8);
		sig[k][11] = (uint8_t)exp;
		sig[k][16] = (uint8_t)k;
		memcpy(sig[k] + 18, "\4test\0", 6);
		sd[k] = (zone_rdata_t){sig[k], (uint16_t)(24 + below(16))};
	}
	zone_slot_t slot = {NULL, NULL};
	CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_A, 300, rd, n, &slot.data), ZONE_OK);
	if (below(2)) {
		CU_ASSERT_EQUAL_FATAL(zone_rrset_new(ZONE_TYPE_RRSIG, 300, sd, ns, &slot.sigs),
		                      ZONE_OK);
	}
	zone_node_t *node = mknode(i, &slot, 1);
	zone_rrset_unref(slot.data);
	zone_rrset_unref(slot.sigs);
	return node;
}

/* The figures counted directly, RR by RR. */
static void direct_stats(const zone_seq_t *s, int64_t now, zone_seq_stats_t *st)
{
	*st = (zone_seq_stats_t){.min_expiration = INT64_MAX};
	for (size_t i = 0; i < s->count; i++) {
		const zone_node_t *node = zone_seq_at(s, i)->node;
		for (size_t j = 0; j < node->nslots; j++) {
			const zone_rrset_t *sets[2] = {node->slots[j].data, node->slots[j].sigs};
			for (int h = 0; h < 2 && sets[h] != NULL; h++) {
				size_t pos = 0;
				zone_rdata_t rd;
				while (zone_rrset_next(sets[h], &pos, &rd)) {
					st->records++;
					st->wire_size += dname_length(node->owner) + 10 + rd.len;
					if (h == 0) {
						continue;
					}
					uint32_t e = (uint32_t)rd.data[8] << 24 |
					             (uint32_t)rd.data[9] << 16 |
					             (uint32_t)rd.data[10] << 8 | rd.data[11];
					int64_t abs = now + (int32_t)(e - (uint32_t)now);
					if (abs < st->min_expiration) {
						st->min_expiration = abs;
					}
				}
			}
		}
	}
}

static void check_stats(const zone_seq_t *s, int64_t now)
{
	zone_seq_stats_t want, got = {.min_expiration = INT64_MAX};
	direct_stats(s, now, &want);
	zone_seq_stats(s, now, &got);
	CU_ASSERT_EQUAL(got.records, want.records);
	CU_ASSERT_EQUAL(got.wire_size, want.wire_size);
	CU_ASSERT_EQUAL(got.min_expiration, want.min_expiration);
}

static void test_zone_seq_stats_match_direct_count(void)
{
	enum { N = 3000 };
	/* Today, and past 2^32 seconds (RRSIG times are serial numbers). */
	static const int64_t nows[] = {1700000000, 4294967296LL + 1000};
	for (size_t t = 0; t < 2; t++) {
		int64_t now = nows[t];
		rng_state = 100 + t;
		zone_entry_t *e = calloc(N, sizeof(*e));
		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		for (size_t i = 0; i < N; i++) {
			e[i] = (zone_entry_t){stats_node(i, now), 0};
		}
		zone_seq_t s, c;
		CU_ASSERT_EQUAL_FATAL(zone_seq_from_array(&s, e, N), ZONE_OK);
		free(e);
		check_stats(&s, now);
		check_stats(&s, now); /* from the kept figures */
		CU_ASSERT_EQUAL_FATAL(zone_seq_copy(&c, &s), ZONE_OK);
		check_stats(&c, now);
		/* Change the copy in a few chunks, then the original in place. */
		for (int k = 0; k < 5; k++) {
			size_t i = below(c.count);
			zone_entry_t x = {stats_node(N + (size_t)k, now), 0};
			CU_ASSERT_EQUAL_FATAL(k % 2 ? zone_seq_set(&c, i, x)
			                            : zone_seq_insert(&c, i, x),
			                      ZONE_OK);
		}
		CU_ASSERT_EQUAL_FATAL(zone_seq_remove(&c, below(c.count)), ZONE_OK);
		check_stats(&c, now);
		check_stats(&s, now);
		zone_seq_free(&c);
		/* s owns every chunk again: a write in place must drop the kept figures. */
		CU_ASSERT_EQUAL_FATAL(
		        zone_seq_set(&s, 5, (zone_entry_t){stats_node(N + 9, now), 0}), ZONE_OK);
		CU_ASSERT_EQUAL_FATAL(zone_seq_remove(&s, s.count - 1), ZONE_OK);
		CU_ASSERT_EQUAL_FATAL(
		        zone_seq_insert(&s, 700, (zone_entry_t){stats_node(N + 10, now), 0}),
		        ZONE_OK);
		check_stats(&s, now);
		/* Adding to a running total. */
		zone_seq_stats_t want, got = {.min_expiration = now, .records = 5, .wire_size = 7};
		direct_stats(&s, now, &want);
		zone_seq_stats(&s, now, &got);
		CU_ASSERT_EQUAL(got.records, want.records + 5);
		CU_ASSERT_EQUAL(got.wire_size, want.wire_size + 7);
		CU_ASSERT_EQUAL(got.min_expiration,
		                now < want.min_expiration ? now : want.min_expiration);
		zone_seq_free(&s);
	}
}

int main(void)
{
	static const testutil_case_t cases[] = {
	        {"test_zone_seq_random_edits_match_array", test_zone_seq_random_edits_match_array},
	        {"test_zone_seq_copy_shares_chunks_and_writes_copy_one",
	         test_zone_seq_copy_shares_chunks_and_writes_copy_one},
	        {"test_zone_seq_empty_and_single", test_zone_seq_empty_and_single},
	        {"test_zone_seq_stats_match_direct_count", test_zone_seq_stats_match_direct_count},
	        {NULL, NULL},
	};
	return testutil_run("zone_seq", cases);
}
