/*
 * nsec_bitmap: the Type Bit Maps field of NSEC and NSEC3 RDATA (RFC 4034
 * section 4.1.2, RFC 5155 section 3.2.1): for each 256-type window holding a
 * type, the window number, the length of its bitmap (1..32 octets, trailing
 * zero octets left out) and the bitmap, where bit i (most significant bit of
 * the first octet = 0) is set for type window * 256 + i.
 *
 * Plain functions over caller buffers: no state, nothing kept, nothing
 * allocated. Thread-safe.
 */
#ifndef SIGNER_NSEC_NSEC_BITMAP_H
#define SIGNER_NSEC_NSEC_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest bitmap: every window, each with 32 octets. */
#define NSEC_BITMAP_MAXLEN (256 * (2 + 32))

/* Encodes n types, in ascending order (a repeated type counts once), into out
 * (cap octets; NSEC_BITMAP_MAXLEN always suffices) and sets *len (0 for no
 * types). Returns NSEC_OK, NSEC_ERR_INVAL (types out of order) or
 * NSEC_ERR_BUFFER; out and *len are written only on success (out may be
 * partly written on NSEC_ERR_BUFFER). */
int nsec_bitmap_encode(const uint16_t *types, size_t n, uint8_t *out, size_t cap, size_t *len);

/* Decodes the bitmap of len octets into types (cap entries; 65536 always
 * suffices) in ascending order and sets *n. Returns NSEC_OK, NSEC_ERR_BITMAP
 * (truncated, a window out of order or repeated, a length of 0 or above 32,
 * a trailing zero octet) or NSEC_ERR_BUFFER; *n is written only on success. */
int nsec_bitmap_decode(const uint8_t *data, size_t len, uint16_t *types, size_t cap, size_t *n);

/* Whether the bitmap has type. A malformed bitmap (see nsec_bitmap_decode) is
 * read as far as it goes; never reads past len. */
bool nsec_bitmap_has(const uint8_t *data, size_t len, uint16_t type);

#endif
