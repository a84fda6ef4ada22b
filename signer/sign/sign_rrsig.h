/*
 * sign_rrsig: RRSIG RDATA (RFC 4034 section 3.1): its fields, the data a
 * signature is made over (RFC 4034 section 3.1.8.1), the final RDATA, and
 * parsing it back.
 *
 * Times in sign_rrsig_t are absolute UNIX seconds; on the wire they are 32-bit
 * serial numbers (RFC 4034 3.1.5), written modulo 2^32 and read back as the
 * time nearest to a reference "now" (within 68 years).
 *
 * sign_rrsig_buf_t is a growable buffer owned by one thread (a signing
 * worker, a verifier): once it has grown to the largest RRset, building the
 * signed data allocates nothing. Every other function is pure, borrows its
 * arguments for the call and keeps no pointer, except where said; all are
 * thread-safe on distinct buffers.
 */
#ifndef SIGNER_SIGN_SIGN_RRSIG_H
#define SIGNER_SIGN_SIGN_RRSIG_H

#include <stddef.h>
#include <stdint.h>

#include "signer/zone/zone_rrset.h"

/* Octets of the RRSIG RDATA before the signer's name (type covered through
 * key tag). */
#define SIGN_RRSIG_FIXED_LEN 18

/* The fields of an RRSIG RDATA except the signature. */
typedef struct {
	uint16_t type_covered;
	uint8_t algorithm;
	uint8_t labels; /* RFC 4034 3.1.3: owner labels, root and a leading "*" not counted */
	uint32_t original_ttl;
	int64_t expiration; /* absolute, UNIX seconds */
	int64_t inception;  /* absolute, UNIX seconds */
	uint16_t key_tag;
	const uint8_t *signer; /* wire form, borrowed (parsed: points into the RDATA) */
} sign_rrsig_t;

/* A growable byte buffer: data[0..len) is the content. */
typedef struct {
	uint8_t *data;
	size_t len;
	size_t cap;
} sign_rrsig_buf_t;

/* Makes an empty buffer (allocates nothing yet). */
void sign_rrsig_buf_init(sign_rrsig_buf_t *buf);

/* Frees the buffer's storage; the buffer may be initialised again. */
void sign_rrsig_buf_deinit(sign_rrsig_buf_t *buf);

/* Fills f for a new signature over rrset at owner by key (alg, tag) of the
 * zone signer (the apex; the pointer is kept in f->signer): type covered and
 * original TTL from rrset, labels from owner (RFC 4034 3.1.3). */
void sign_rrsig_fields(sign_rrsig_t *f, const uint8_t *owner, const zone_rrset_t *rrset,
                       uint8_t alg, uint16_t tag, const uint8_t *signer, int64_t inception,
                       int64_t expiration);

/* Builds into buf (replacing its content) the data a signature is made over:
 * the RRSIG RDATA of f without the signature (signer's name lowercased), then
 * every RR of rrset in canonical form (RFC 4034 3.1.8.1): owner lowercased,
 * type, class IN, f's original TTL, RDLENGTH, RDATA. The owner is rebuilt
 * from f->labels: owner itself if labels counts all its labels, else "*."
 * and its rightmost labels (a wildcard expansion). rrset must already be
 * canonical and sorted (zone_rrset_t is). The first
 * sign_rrsig_prefix_len(f) octets of buf are the RRSIG RDATA prefix. Returns
 * SIGN_OK, SIGN_ERR_RRSIG (f->labels above owner's label count),
 * SIGN_ERR_NOMEM (buf unchanged). Allocates only to grow buf. */
int sign_rrsig_signed_data(sign_rrsig_buf_t *buf, const sign_rrsig_t *f, const uint8_t *owner,
                           const zone_rrset_t *rrset);

/* The same in two steps, for writing straight into storage of one's own (a
 * pipeline batch): sign_rrsig_signed_len() sets *len to the length of the
 * signed data (SIGN_OK, or SIGN_ERR_RRSIG as above); sign_rrsig_signed_write()
 * writes it to out, which must have room for that length. */
int sign_rrsig_signed_len(const sign_rrsig_t *f, const uint8_t *owner, const zone_rrset_t *rrset,
                          size_t *len);
void sign_rrsig_signed_write(const sign_rrsig_t *f, const uint8_t *owner, const zone_rrset_t *rrset,
                             uint8_t *out);

/* Length of the RRSIG RDATA of f without the signature. */
size_t sign_rrsig_prefix_len(const sign_rrsig_t *f);

/* Writes the RRSIG RDATA of f with signature sig (sig_len octets) into out
 * (cap octets; sign_rrsig_prefix_len(f) + sig_len suffice) and sets *len.
 * The signer's name is written lowercased. Returns SIGN_OK, SIGN_ERR_BUFFER
 * or SIGN_ERR_INVAL (RDATA above 65535 octets); out and *len are written
 * only on success. */
int sign_rrsig_write(const sign_rrsig_t *f, const uint8_t *sig, size_t sig_len, uint8_t *out,
                     size_t cap, size_t *len);

/* Parses RRSIG RDATA of len octets into *f (f->signer points into rdata)
 * and the signature into *sig and *sig_len (pointing into rdata; either may be
 * NULL when not wanted); times are read relative to now (absolute UNIX
 * seconds). Returns SIGN_OK or SIGN_ERR_RRSIG (too short, a signer's name
 * that is compressed, runs past the end or is longer than 255 octets, an
 * empty signature); nothing is written on failure. */
int sign_rrsig_parse(const uint8_t *rdata, size_t len, int64_t now, sign_rrsig_t *f,
                     const uint8_t **sig, size_t *sig_len);

/* The absolute time (UNIX seconds) of a 32-bit RRSIG time field: the one
 * nearest to now (RFC 1982 serial arithmetic). */
int64_t sign_rrsig_time(uint32_t wire, int64_t now);

#endif
