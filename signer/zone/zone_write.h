/*
 * zone_write: a zone in presentation format (RFC 1035 section 5) that BIND,
 * NSD, Knot and ldns read: one record per line, absolute owner names (no
 * $ORIGIN, no $TTL), TTL, class IN, type mnemonic, RDATA. The apex SOA comes
 * first; each RRset is followed by its RRSIGs; NSEC3 records (z->nsec3) come
 * after the other names. RDATA of the common types is written in their own
 * text form; any other type (or RDATA malformed for its type) in the RFC 3597
 * form "\# length hex", with the type's mnemonic when the four readers know
 * it, else as TYPEnnn.
 *
 * Writing reads a zone version and changes nothing: several threads may
 * write one version at once (to different files). zone_write_file() replaces
 * a file atomically: a temporary file in the same directory, fsync, rename,
 * fsync of the directory; on any failure the target is left as it was and
 * the temporary file removed.
 */
#ifndef SIGNER_ZONE_ZONE_WRITE_H
#define SIGNER_ZONE_ZONE_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "signer/zone/zone.h"

/* The mnemonic of type ("A", "RRSIG"...) if the writer uses one for it, else
 * NULL. Static text. */
const char *zone_write_type_name(uint16_t type);

/* Writes the mnemonic of type, or "TYPEnnn" (RFC 3597), NUL-terminated, into
 * buf (cap bytes; 16 always suffice). Returns ZONE_OK or ZONE_ERR_BUFFER. */
int zone_write_type_str(uint16_t type, char *buf, size_t cap);

/* Writes one record as a line (newline included) into buf (cap bytes),
 * NUL-terminated, and sets *len (if non-NULL) to its length without the NUL.
 * Returns ZONE_OK, ZONE_ERR_BUFFER (buf too small: left unchanged) or
 * ZONE_ERR_NOMEM. owner and rdata are borrowed. Thread-safe. */
int zone_write_rr_str(const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                      size_t rdlen, char *buf, size_t cap, size_t *len);

/* Writes the zone to f (borrowed; not closed, not flushed beyond what fwrite
 * does). Returns ZONE_OK, ZONE_ERR_NOMEM, or -errno (-EIO if the stream does
 * not say) if writing fails. */
int zone_write(const zone_t *z, FILE *f);

/* Writes the zone to path atomically (see above). A new file gets mode 0644;
 * a replaced file keeps its mode (not its owner); a symbolic link at path is
 * replaced, not followed. Returns ZONE_OK, ZONE_ERR_NOMEM or -errno;
 * path is untouched on failure, except when only the final fsync of the
 * directory fails (the new file is then in place, perhaps not durably). */
int zone_write_file(const zone_t *z, const char *path);

#endif
