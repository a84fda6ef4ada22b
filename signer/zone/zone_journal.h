/*
 * zone_journal: an append-only journal of one zone's deltas (as Knot's and
 * BIND's journals): each entry is one delta from_serial -> to_serial with
 * the caller's aux value (the input serial) and the time it was made. The
 * daemon appends each published delta, replays entries after its last
 * snapshot on restart, and serves IXFR from it.
 *
 * File format (integers little-endian):
 *   header   magic "SGNRJRNL" (8), format version u32 (1), reserved u32 (0)
 *   records  each: length u32 (of the payload), crc32 u32 (zlib crc32 of the
 *            length's 4 bytes and the payload), payload:
 *              from_serial u32, to_serial u32, aux u32, time i64,
 *              nremoved u32, nadded u32, then the removed RRs and the added
 *              RRs, each: owner (u8 length, wire name), type u16, ttl u32,
 *              rdlen u16, RDATA
 * Entries chain: each from_serial is the previous entry's to_serial.
 *
 * Durability: zone_journal_append() returns OK only once the record is
 * written and fdatasync'ed. zone_journal_open() verifies every record; the
 * first that is torn (the file ends inside it), fails its crc32 or its
 * structure, or breaks the serial chain ends the journal there: the file is
 * truncated at that record and *dropped_bytes says how much went. So a
 * damaged record in the middle costs every later one too: those cannot be
 * applied without it (their from_serial would not follow), and a crash can
 * only tear the last record, which was never acknowledged. Trimming and
 * resetting rewrite the kept entries crash-safely (temporary file, fsync,
 * rename, fsync of the directory): a crash leaves the state before or after
 * (and perhaps a stale path.tmp.XXXXXX, which the caller may remove).
 *
 * Memory: an index of the entries (serials, time, offset, length), not the
 * deltas; zone_journal_read() reads one entry from the file.
 *
 * Life cycle: zone_journal_open() -> append/read/find/trim/reset... ->
 * zone_journal_close(). Not thread-safe: one zone's journal is used by one
 * thread at a time (the caller serialises), and by one process.
 */
#ifndef SIGNER_ZONE_ZONE_JOURNAL_H
#define SIGNER_ZONE_ZONE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signer/zone/zone_diff.h"

#define ZONE_JOURNAL_VERSION 1

typedef struct zone_journal zone_journal_t;

/* Limits applied by zone_journal_trim(); 0 = no limit. */
typedef struct {
	size_t max_entries;
	uint64_t max_bytes; /* of the whole file */
	int64_t max_age;    /* relative, seconds: entries older than now - max_age go */
} zone_journal_limits_t;

/* Opens the journal at path, creating it (crash-safely) if missing; limits
 * (copied; NULL: none) are kept for zone_journal_trim(). Verifies every
 * record and truncates the file at the first bad one (see above), setting
 * *dropped_bytes (may be NULL) to the bytes dropped. Returns ZONE_OK with
 * *out (zone_journal_close), ZONE_ERR_CORRUPT (not a journal: bad magic or
 * header; the file is left alone), ZONE_ERR_NOMEM or -errno. */
int zone_journal_open(const char *path, const zone_journal_limits_t *limits, zone_journal_t **out,
                      size_t *dropped_bytes);

/* Closes the file and frees the index; NULL is a no-op. */
void zone_journal_close(zone_journal_t *j);

/* Appends d (borrowed) with aux and time (absolute, UNIX seconds) and
 * fdatasyncs: durable on ZONE_OK. ZONE_ERR_JOURNAL_SERIAL if d->from_serial
 * is not the last entry's to_serial (any is taken by an empty journal);
 * ZONE_ERR_INVAL (more than 2^32-1 RRs), ZONE_ERR_NOMEM, -errno (the file
 * is cut back to where it was). */
int zone_journal_append(zone_journal_t *j, const zone_delta_t *d, uint32_t aux, int64_t time);

/* Reads entry index (0 = oldest) into *out (overwritten, not deinit'ed:
 * pass an empty or uninitialised delta; zone_delta_deinit after), *aux and
 * *time (may be NULL), on ZONE_OK only. ZONE_ERR_INVAL (no such index),
 * ZONE_ERR_CORRUPT (the record changed on disk since it was verified),
 * ZONE_ERR_NOMEM, -errno. */
int zone_journal_read(zone_journal_t *j, size_t index, zone_delta_t *out, uint32_t *aux,
                      int64_t *time);

/* The newest entry whose from_serial is serial: true and *index, or false.
 * Compares serials for equality only (they wrap; the order is the file's). */
bool zone_journal_find(const zone_journal_t *j, uint32_t from_serial, size_t *index);

/* Entries in the journal. */
size_t zone_journal_count(const zone_journal_t *j);

/* Size of the file in bytes (header included). */
uint64_t zone_journal_bytes(const zone_journal_t *j);

/* The newest entry's to_serial: true and *serial, or false when empty. */
bool zone_journal_last_serial(const zone_journal_t *j, uint32_t *serial);

/* The oldest entry's from_serial: true and *serial, or false when empty. */
bool zone_journal_first_serial(const zone_journal_t *j, uint32_t *serial);

/* What the index holds of entry index (0 = oldest): true and *from, *to,
 * *time (each may be NULL), or false past the end. Reads no file. */
bool zone_journal_entry(const zone_journal_t *j, size_t index, uint32_t *from, uint32_t *to,
                        int64_t *time);

/* Applies the limits at now (absolute, UNIX seconds): drops the oldest
 * entries while the journal is over any limit, but never the entry whose
 * from_serial is keep_from_serial nor any after it (restart replays from
 * there; if no entry starts at keep_from_serial and it is not the last
 * to_serial, nothing is dropped). Rewrites crash-safely; nothing to drop
 * is a no-op. Returns ZONE_OK, ZONE_ERR_NOMEM or -errno (the journal is
 * then as before). */
int zone_journal_trim(zone_journal_t *j, int64_t now, uint32_t keep_from_serial);

/* Empties the journal crash-safely (any serial may follow). ZONE_OK,
 * ZONE_ERR_NOMEM or -errno. */
int zone_journal_reset(zone_journal_t *j);

#endif
