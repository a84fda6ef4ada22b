/*
 * zone_diag: how the zone loader and builder report problems in zone data.
 *
 * The library never logs: each problem (a malformed record, a record outside
 * the zone, RRset members with different TTLs...) goes to a callback of the
 * caller's with its level, the file and line it comes from, and a one-line
 * reason. Errors make the load fail (with the status of the first error);
 * warnings do not. The callback is called from the thread that called the
 * loader, during that call only; file and msg are borrowed for the call.
 */
#ifndef SIGNER_ZONE_ZONE_DIAG_H
#define SIGNER_ZONE_ZONE_DIAG_H

typedef enum {
	ZONE_DIAG_ERROR,   /* the zone is refused */
	ZONE_DIAG_WARNING, /* something was changed or dropped; the zone loads */
} zone_diag_level_t;

/* A report: file is the name given for the input (a path as given, with
 * $INCLUDEd files as resolved, or the name given for a text buffer); line
 * counts from 1, 0 when the problem belongs to no line (e.g. a missing SOA in
 * an empty zone). msg has no trailing newline. */
typedef void (*zone_diag_fn)(void *ctx, zone_diag_level_t level, const char *file,
                             unsigned long line, const char *msg);

#endif
