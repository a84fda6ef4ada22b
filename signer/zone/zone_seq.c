#include "signer/zone/zone_seq.h"

#include <stdlib.h>
#include <string.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_node.h"

/* Chunks built from an array are filled to 3/4: room for inserts. */
#define FILL (ZONE_SEQ_CHUNK * 3 / 4)

static zone_seq_chunk_t *chunk_new(void)
{
	zone_seq_chunk_t *c = malloc(sizeof(*c));
	if (c == NULL) {
		return NULL;
	}
	atomic_init(&c->refs, 1);
	atomic_init(&c->stats_state, 0);
	c->count = 0;
	return c;
}

static void chunk_unref(zone_seq_chunk_t *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1) {
		return;
	}
	for (uint32_t i = 0; i < c->count; i++) {
		zone_node_unref(c->e[i].node);
	}
	free(c);
}

void zone_seq_init(zone_seq_t *s)
{
	memset(s, 0, sizeof(*s));
}

static bool reserve(zone_seq_t *s, size_t n)
{
	if (n <= s->cap) {
		return true;
	}
	size_t cap = s->cap ? s->cap : 8;
	while (cap < n) {
		cap *= 2;
	}
	zone_seq_chunk_t **c = realloc(s->chunks, cap * sizeof(*c));
	if (c == NULL) {
		return false;
	}
	s->chunks = c;
	size_t *st = realloc(s->starts, cap * sizeof(*st));
	if (st == NULL) {
		return false;
	}
	s->starts = st;
	s->cap = cap;
	return true;
}

int zone_seq_from_array(zone_seq_t *s, const zone_entry_t *e, size_t n)
{
	zone_seq_init(s);
	size_t need = (n + FILL - 1) / FILL;
	if (!reserve(s, need)) {
		goto fail;
	}
	for (size_t i = 0; i < n; i += FILL) {
		zone_seq_chunk_t *c = chunk_new();
		if (c == NULL) {
			goto fail;
		}
		size_t k = n - i < FILL ? n - i : FILL;
		memcpy(c->e, e + i, k * sizeof(*e));
		c->count = (uint32_t)k;
		s->starts[s->nchunks] = i;
		s->chunks[s->nchunks++] = c;
		s->count += k;
	}
	return ZONE_OK;
fail:
	for (size_t i = s->count; i < n; i++) {
		zone_node_unref(e[i].node);
	}
	zone_seq_free(s);
	return ZONE_ERR_NOMEM;
}

int zone_seq_copy(zone_seq_t *dst, const zone_seq_t *src)
{
	zone_seq_init(dst);
	if (!reserve(dst, src->nchunks)) {
		zone_seq_free(dst);
		return ZONE_ERR_NOMEM;
	}
	for (size_t k = 0; k < src->nchunks; k++) {
		atomic_fetch_add(&src->chunks[k]->refs, 1);
		dst->chunks[k] = src->chunks[k];
	}
	if (src->nchunks > 0) {
		memcpy(dst->starts, src->starts, src->nchunks * sizeof(*dst->starts));
	}
	dst->nchunks = src->nchunks;
	dst->count = src->count;
	return ZONE_OK;
}

/* Makes chunk k the list's own (copying it when shared) before a write. */
static int own(zone_seq_t *s, size_t k)
{
	zone_seq_chunk_t *c = s->chunks[k];
	if (atomic_load(&c->refs) == 1) {
		atomic_store(&c->stats_state, 0);
		return ZONE_OK;
	}
	zone_seq_chunk_t *copy = chunk_new();
	if (copy == NULL) {
		return ZONE_ERR_NOMEM;
	}
	memcpy(copy->e, c->e, c->count * sizeof(c->e[0]));
	copy->count = c->count;
	for (uint32_t i = 0; i < c->count; i++) {
		zone_node_ref(copy->e[i].node);
	}
	s->chunks[k] = copy;
	chunk_unref(c);
	return ZONE_OK;
}

int zone_seq_set(zone_seq_t *s, size_t i, zone_entry_t e)
{
	size_t at = 0, k = zone_seq_chunk_of(s, i, &at);
	if (own(s, k) != ZONE_OK) {
		zone_node_unref(e.node);
		return ZONE_ERR_NOMEM;
	}
	zone_node_t *old = s->chunks[k]->e[at].node;
	s->chunks[k]->e[at] = e;
	zone_node_unref(old);
	return ZONE_OK;
}

/* Inserts chunk c at k in the row. */
static void row_insert(zone_seq_t *s, size_t k, zone_seq_chunk_t *c, size_t start)
{
	memmove(s->chunks + k + 1, s->chunks + k, (s->nchunks - k) * sizeof(*s->chunks));
	memmove(s->starts + k + 1, s->starts + k, (s->nchunks - k) * sizeof(*s->starts));
	s->chunks[k] = c;
	s->starts[k] = start;
	s->nchunks++;
}

static void row_remove(zone_seq_t *s, size_t k)
{
	memmove(s->chunks + k, s->chunks + k + 1, (s->nchunks - k - 1) * sizeof(*s->chunks));
	memmove(s->starts + k, s->starts + k + 1, (s->nchunks - k - 1) * sizeof(*s->starts));
	s->nchunks--;
}

int zone_seq_insert(zone_seq_t *s, size_t i, zone_entry_t e)
{
	if (!reserve(s, s->nchunks + 1)) {
		zone_node_unref(e.node);
		return ZONE_ERR_NOMEM;
	}
	if (s->nchunks == 0) {
		zone_seq_chunk_t *c = chunk_new();
		if (c == NULL) {
			zone_node_unref(e.node);
			return ZONE_ERR_NOMEM;
		}
		row_insert(s, 0, c, 0);
	}
	size_t k, at;
	if (i == s->count) {
		k = s->nchunks - 1;
		at = s->chunks[k]->count;
	} else {
		k = zone_seq_chunk_of(s, i, &at);
	}
	if (own(s, k) != ZONE_OK) {
		zone_node_unref(e.node);
		return ZONE_ERR_NOMEM;
	}
	zone_seq_chunk_t *c = s->chunks[k];
	if (c->count == ZONE_SEQ_CHUNK) {
		/* Full: the upper half goes to a new chunk after it. */
		zone_seq_chunk_t *hi = chunk_new();
		if (hi == NULL) {
			zone_node_unref(e.node);
			return ZONE_ERR_NOMEM;
		}
		uint32_t half = ZONE_SEQ_CHUNK / 2;
		memcpy(hi->e, c->e + half, (c->count - half) * sizeof(c->e[0]));
		hi->count = c->count - half;
		c->count = half;
		row_insert(s, k + 1, hi, s->starts[k] + half);
		if (at > half) {
			k++;
			at -= half;
			c = hi;
		}
	}
	memmove(c->e + at + 1, c->e + at, (c->count - at) * sizeof(c->e[0]));
	c->e[at] = e;
	c->count++;
	for (size_t j = k + 1; j < s->nchunks; j++) {
		s->starts[j]++;
	}
	s->count++;
	return ZONE_OK;
}

int zone_seq_remove(zone_seq_t *s, size_t i)
{
	size_t at = 0, k = zone_seq_chunk_of(s, i, &at);
	if (own(s, k) != ZONE_OK) {
		return ZONE_ERR_NOMEM;
	}
	zone_seq_chunk_t *c = s->chunks[k];
	zone_node_unref(c->e[at].node);
	memmove(c->e + at, c->e + at + 1, (c->count - at - 1) * sizeof(c->e[0]));
	c->count--;
	for (size_t j = k + 1; j < s->nchunks; j++) {
		s->starts[j]--;
	}
	s->count--;
	if (c->count == 0) {
		row_remove(s, k);
		chunk_unref(c);
	}
	return ZONE_OK;
}

void zone_seq_release(zone_seq_t *s, size_t i)
{
	size_t at = 0, k = zone_seq_chunk_of(s, i, &at);
	zone_seq_chunk_t *c = s->chunks[k];
	if (atomic_load(&c->refs) == 1) {
		zone_node_unref(c->e[at].node);
		c->e[at].node = NULL;
	}
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void count_rrset(const uint8_t *owner, const zone_rrset_t *r, int64_t now,
                        zone_seq_stats_t *st)
{
	if (r == NULL) {
		return;
	}
	st->records += r->count;
	/* owner, type, class, TTL, RDLENGTH per RR, then the RDATA (each RDATA
	 * is stored after its 2-octet length). */
	st->wire_size += (uint64_t)r->count * (dname_length(owner) + 10) + r->len - 2u * r->count;
	if (r->type != ZONE_TYPE_RRSIG) {
		return;
	}
	size_t pos = 0;
	zone_rdata_t rd;
	while (zone_rrset_next(r, &pos, &rd)) {
		int64_t e = now;
		if (rd.len >= 12) {
			e = now + (int32_t)(rd32(rd.data + 8) - (uint32_t)now);
		}
		if (e < st->min_expiration) {
			st->min_expiration = e;
		}
	}
}

static void add_stats(zone_seq_stats_t *to, const zone_seq_stats_t *from)
{
	to->records += from->records;
	to->wire_size += from->wire_size;
	if (from->min_expiration < to->min_expiration) {
		to->min_expiration = from->min_expiration;
	}
}

void zone_seq_chunk_stats(const zone_seq_t *s, size_t k, int64_t now, zone_seq_stats_t *st)
{
	zone_seq_chunk_t *c = s->chunks[k];
	if (atomic_load_explicit(&c->stats_state, memory_order_acquire) == 2) {
		*st = c->stats;
		return;
	}
	zone_seq_stats_t cs = {.min_expiration = INT64_MAX};
	for (uint32_t i = 0; i < c->count; i++) {
		const zone_node_t *n = c->e[i].node;
		for (size_t j = 0; j < n->nslots; j++) {
			count_rrset(n->owner, n->slots[j].data, now, &cs);
			count_rrset(n->owner, n->slots[j].sigs, now, &cs);
		}
	}
	int expected = 0;
	if (atomic_compare_exchange_strong(&c->stats_state, &expected, 1)) {
		c->stats = cs;
		atomic_store_explicit(&c->stats_state, 2, memory_order_release);
	}
	*st = cs;
}

void zone_seq_stats(const zone_seq_t *s, int64_t now, zone_seq_stats_t *st)
{
	for (size_t k = 0; k < s->nchunks; k++) {
		zone_seq_stats_t cs;
		zone_seq_chunk_stats(s, k, now, &cs);
		add_stats(st, &cs);
	}
}

void zone_seq_free(zone_seq_t *s)
{
	if (s == NULL) {
		return;
	}
	for (size_t k = 0; k < s->nchunks; k++) {
		chunk_unref(s->chunks[k]);
	}
	free(s->chunks);
	free(s->starts);
	zone_seq_init(s);
}
