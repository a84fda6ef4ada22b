/*
 * zone_load: reads an RFC 1035 master file with libzscanner into a zone
 * version, through zone_builder (which checks the zone: see zone_builder.h).
 *
 * libzscanner knows every RR type it parses (RFC 3597 "\#" syntax for any
 * type), $ORIGIN, $TTL and $INCLUDE; this module adds:
 *  - $GENERATE (zone_generate.h), expanded where it stands, its records
 *    reported at the directive's file and line;
 *  - $INCLUDE as a new scanner per file (relative names from the including
 *    file's directory, origin as given or the current one), nested at most
 *    ZONE_LOAD_MAX_INCLUDE_DEPTH deep;
 *  - what libzscanner 3.2 refuses but other servers read: CRLF line ends,
 *    8-bit octets in text and names (read as \DDD escapes), and the SVCB/HTTPS
 *    keys dohpath, ohttp and echconfig (RFC 9461, 9540; the old ech name);
 *  - errors with the file and line of the record (its first line when it
 *    spans several) and a reason naming the field: "bad TTL", "class CH is
 *    not supported", "unknown RR type", "bad A RDATA: ...".
 * Owners are lowercased and RDATA made canonical (RFC 4034 section 6.2) as
 * records come in: output is lowercase.
 *
 * Every problem goes to report (zone_diag.h); a load that reported an error
 * fails with the status of the first one and returns nothing. The functions
 * keep no state between calls: several threads may load different zones at
 * once. Paths, text and origin are borrowed for the call.
 */
#ifndef SIGNER_ZONE_ZONE_LOAD_H
#define SIGNER_ZONE_ZONE_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signer/zone/zone.h"
#include "signer/zone/zone_diag.h"
#include "signer/zone/zone_diff.h"
#include "signer/zone/zone_rrset.h"

/* How deep $INCLUDE may nest (the main file is depth 0). */
#define ZONE_LOAD_MAX_INCLUDE_DEPTH 16

/* Loads the zone at origin (wire form: the apex and the initial $ORIGIN)
 * from the file at path; records without a TTL before any $TTL get
 * default_ttl (seconds). Returns ZONE_OK with *out (zone_free), or the status
 * of the first error reported (zone_error.h: ZONE_ERR_SYNTAX, ZONE_ERR_RDATA,
 * ZONE_ERR_TTL, ZONE_ERR_INCLUDE, ZONE_ERR_NO_SOA, ...; -errno if path cannot
 * be read, reported too), or ZONE_ERR_NOMEM. */
int zone_load(const char *path, const uint8_t *origin, uint32_t default_ttl, zone_diag_fn report,
              void *ctx, zone_t **out);

/* Like zone_load, from len bytes of text (need not be NUL-terminated) named
 * name in reports. $INCLUDE is refused (ZONE_ERR_INCLUDE): text from a
 * client must not read the server's files. */
int zone_load_text(const char *text, size_t len, const char *name, const uint8_t *origin,
                   uint32_t default_ttl, zone_diag_fn report, void *ctx, zone_t **out);

/* Reads records (whole lines of a master file, len bytes, named name in
 * reports) into out's added list (added true) or removed list, without
 * building a zone: for the text chunks of an incremental update. origin is
 * the zone's apex and the initial $ORIGIN; $GENERATE as zone_load_text;
 * $INCLUDE refused. Each record is checked (class IN, TTL, inside the zone,
 * no meta type, RDATA well-formed) and made canonical (owner lowercased,
 * RDATA per zone_rdata_canonicalize); no zone checks (SOA, CNAME...: those
 * are zone_delta_apply's) and no DNSSEC types dropped. Returns ZONE_OK with
 * the records appended to out (which keeps what it had), or the status of
 * the first error reported (out then unchanged), or ZONE_ERR_NOMEM. */
int zone_load_records(const char *text, size_t len, const char *name, const uint8_t *origin,
                      uint32_t default_ttl, bool added, zone_diag_fn report, void *ctx,
                      zone_delta_t *out);

/* Loads a file of DNSKEY records at apex to publish as they are (foreign
 * keys of a multi-signer setup or a migration: --publish-dnskey): *out is one
 * DNSKEY RRset (one reference, the caller's; lowest TTL, with a warning, if
 * they differ) that the signer merges into its own. Any other record, or none
 * at all, is an error (ZONE_ERR_NOT_DNSKEY); other errors as zone_load. */
int zone_load_dnskeys(const char *path, const uint8_t *apex, uint32_t default_ttl,
                      zone_diag_fn report, void *ctx, zone_rrset_t **out);

#endif
