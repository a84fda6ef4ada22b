/*
 * zone_snap: a binary snapshot of one zone version (signed or not) and a few
 * values of the caller's, for a fast restart of the daemon.
 *
 * zone_snap_save() writes the file crash-safely: a temporary file in the
 * same directory, fsync, rename over path, fsync of the directory; a crash at
 * any point leaves path either as it was or complete with the new snapshot
 * (and perhaps a stale path.tmp.XXXXXX beside it, which the caller may
 * remove at start).
 * zone_snap_load() reads it back in one read, checks it, and makes a version
 * without sorting anything (the nodes are stored in canonical order).
 *
 * Format (all integers little-endian), format version 1:
 *   magic        8  "SGNRSNAP"
 *   version      u32 (1)
 *   flags        u32 (0)
 *   serial       u32   meta->serial
 *   input_serial u32   meta->input_serial
 *   published_at i64   meta->published_at
 *   extra_len    u32, then extra_len bytes (meta->extra)
 *   apex         u8 length, the wire name
 *   node_count   u64   nodes with RRsets (empty non-terminals are not stored)
 *   nsec3_count  u64   NSEC3 nodes
 *   node_count nodes in canonical order, then nsec3_count NSEC3 nodes, each:
 *     owner      u8 length, the wire name (lowercase)
 *     nslots     u16
 *     nslots times, by type: the data RRset, u8 has_sigs, the RRSIG RRset
 *     if has_sigs; an RRset is: type u16, count u16, ttl u32, len u32, then
 *     len bytes: count times (RDATA length u16 big-endian, RDATA), canonical
 *     order, as zone_rrset_t.data holds them
 *   crc32        u32   zlib crc32 of every byte before it
 *
 * Ownership: save borrows z and meta for the call. load hands over *out
 * (zone_free) and meta->extra (malloc'ed, free(); NULL when extra_len is 0).
 * Threading: no state; save and load of different paths may run at once,
 * and a version may be saved while other threads read it.
 */
#ifndef SIGNER_ZONE_ZONE_SNAP_H
#define SIGNER_ZONE_ZONE_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "signer/zone/zone.h"

#define ZONE_SNAP_VERSION 1

/* What the caller keeps with a snapshot. */
typedef struct {
	uint32_t serial;       /* the published serial of the version */
	uint32_t input_serial; /* the serial of the input it was made from */
	int64_t published_at;  /* absolute, UNIX seconds */
	const uint8_t *extra;  /* opaque bytes of the caller (its zone configuration...) */
	size_t extra_len;      /* at most UINT32_MAX */
} zone_snap_meta_t;

/* Writes z and meta (NULL: all zero) to path crash-safely (see above).
 * Returns ZONE_OK, ZONE_ERR_INVAL (extra too long), ZONE_ERR_NOMEM or
 * -errno; path is untouched on failure, except when only the final fsync of
 * the directory fails (the new file is then in place, perhaps not durably). */
int zone_snap_save(const char *path, const zone_t *z, const zone_snap_meta_t *meta);

/* Reads the snapshot at path: *out (zone_free) and *meta (meta->extra to
 * free()) on ZONE_OK only. Returns ZONE_ERR_CORRUPT (bad magic, unknown
 * format version, checksum mismatch, truncated or inconsistent content:
 * zone_snap_load_why says which), -errno (-ENOENT when there is none), or
 * ZONE_ERR_NOMEM. */
int zone_snap_load(const char *path, zone_t **out, zone_snap_meta_t *meta);

/* Like zone_snap_load, and writes the reason of a ZONE_ERR_CORRUPT (or the
 * system error) into why (cap bytes, NUL-terminated; may be NULL). */
int zone_snap_load_why(const char *path, zone_t **out, zone_snap_meta_t *meta, char *why,
                       size_t cap);

#endif
