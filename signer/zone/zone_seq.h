/*
 * zone_seq: the ordered list of a zone version's names (or of its NSEC3
 * nodes), kept as a row of chunks of at most ZONE_SEQ_CHUNK entries so that
 * versions made from one another share every chunk neither changed. Copying
 * a list costs one reference per chunk, not per node, and a change copies
 * only the chunk it lands in: a one-name change to a million-name zone
 * touches a few thousand pointers, not a million nodes.
 *
 * A chunk holds one reference to each of its nodes; a list holds one
 * reference to each of its chunks (atomic counters: lists made from one
 * another may be freed on different threads). A list is changed only by its
 * one owner while the version it belongs to is being built
 * (zone_seq_set/insert/remove copy a shared chunk before writing); reading
 * (zone_seq_at, zone_seq_chunk) is thread-safe on a list nobody changes.
 */
#ifndef SIGNER_ZONE_ZONE_SEQ_H
#define SIGNER_ZONE_ZONE_SEQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zone_node;

/* One name of a version: its node (a reference held by the chunk) and what
 * the name is (ZONE_NAME_* of zone.h; 0 for NSEC3 nodes). */
typedef struct {
	struct zone_node *node;
	uint16_t flags;
} zone_entry_t;

#define ZONE_SEQ_CHUNK 512

typedef struct zone_seq_chunk {
	atomic_uint refs;
	uint32_t count;
	/* What zone_seq_stats found in the chunk, kept: a chunk's nodes never
	 * change once it is shared. stats_state: 0 not computed, 1 being
	 * written, 2 stats valid. */
	atomic_int stats_state;
	struct zone_seq_stats {
		int64_t min_expiration; /* INT64_MAX: no RRSIG */
		uint64_t records;       /* RRs, RRSIGs included */
		uint64_t wire_size;     /* octets of the RRs in uncompressed wire form */
	} stats;
	zone_entry_t e[ZONE_SEQ_CHUNK];
} zone_seq_chunk_t;

typedef struct {
	zone_seq_chunk_t **chunks;
	size_t *starts; /* index of each chunk's first entry */
	size_t nchunks, cap;
	size_t count;
} zone_seq_t;

/* An empty list (allocates nothing). */
void zone_seq_init(zone_seq_t *s);

/* Fills an empty s with the n entries of e in their order, taking over each
 * entry's node reference (also on failure, when they are dropped). Returns
 * ZONE_OK or ZONE_ERR_NOMEM (s then empty). */
int zone_seq_from_array(zone_seq_t *s, const zone_entry_t *e, size_t n);

/* Makes dst (empty or uninitialised) a copy of src sharing all its chunks.
 * Returns ZONE_OK or ZONE_ERR_NOMEM (dst then empty). */
int zone_seq_copy(zone_seq_t *dst, const zone_seq_t *src);

/* The chunk holding entry i (< s->count), and i's place in it. */
static inline size_t zone_seq_chunk_of(const zone_seq_t *s, size_t i, size_t *at)
{
	/* Chunks are about equally full: guess, then step or search. */
	size_t k = (size_t)((double)i / (double)s->count * (double)s->nchunks);
	if (k >= s->nchunks) {
		k = s->nchunks - 1;
	}
	for (int step = 0; step < 4; step++) {
		if (s->starts[k] > i) {
			k--;
		} else if (k + 1 < s->nchunks && s->starts[k + 1] <= i) {
			k++;
		} else {
			*at = i - s->starts[k];
			return k;
		}
	}
	size_t lo = 0, hi = s->nchunks;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->starts[mid] <= i) {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	*at = i - s->starts[lo];
	return lo;
}

/* Entry i (< s->count), borrowed from the list. */
static inline zone_entry_t *zone_seq_at(const zone_seq_t *s, size_t i)
{
	size_t at = 0;
	size_t k = zone_seq_chunk_of(s, i, &at);
	return &s->chunks[k]->e[at];
}

/* Puts e at i (< s->count) in place of what is there, taking over e's node
 * reference and dropping the old one (also when e.node is the same node).
 * Returns ZONE_OK or ZONE_ERR_NOMEM (s unchanged; e's reference dropped). */
int zone_seq_set(zone_seq_t *s, size_t i, zone_entry_t e);

/* Inserts e before entry i (i == s->count: at the end), taking over e's node
 * reference. Returns ZONE_OK or ZONE_ERR_NOMEM (s unchanged; e's reference
 * dropped). */
int zone_seq_insert(zone_seq_t *s, size_t i, zone_entry_t e);

/* Removes entry i (< s->count), dropping its node reference. Returns
 * ZONE_OK or ZONE_ERR_NOMEM (a shared chunk could not be copied). */
int zone_seq_remove(zone_seq_t *s, size_t i);

/* Drops entry i's node reference and leaves NULL there, when no other list
 * shares its chunk (a list being consumed before it is freed: nothing may
 * read entry i afterwards); does nothing otherwise. */
void zone_seq_release(zone_seq_t *s, size_t i);

/* Whether a's chunk ka and b's chunk kb are one chunk (shared). */
static inline bool zone_seq_same_chunk(const zone_seq_t *a, size_t ka, const zone_seq_t *b,
                                       size_t kb)
{
	return a->chunks[ka] == b->chunks[kb];
}

typedef struct zone_seq_stats zone_seq_stats_t;

/* Adds to *st (start it with min_expiration INT64_MAX, the rest 0) the
 * records of every node of s, their wire size, and the earliest RRSIG
 * expiration (absolute seconds, RFC 4034 serial arithmetic around now). A
 * chunk's figures are kept in the chunk: for a list sharing most chunks with
 * one already counted, only the new chunks are read. Thread-safe. */
void zone_seq_stats(const zone_seq_t *s, int64_t now, zone_seq_stats_t *st);

/* The figures of chunk k alone (kept in the chunk as zone_seq_stats does),
 * into *st (overwritten). Thread-safe. */
void zone_seq_chunk_stats(const zone_seq_t *s, size_t k, int64_t now, zone_seq_stats_t *st);

/* Drops the chunk references and leaves s empty; NULL is a no-op. */
void zone_seq_free(zone_seq_t *s);

#endif
