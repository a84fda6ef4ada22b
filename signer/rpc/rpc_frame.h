/*
 * rpc_frame: the wire form of RPC messages (proto/signer.proto), without I/O.
 *
 * A frame is a 4-byte big-endian length, then that many bytes of one packed
 * protobuf message: a Signer__V1__Request from client to server, a
 * Signer__V1__Response back. A receiver reads the header, refuses a length
 * above its maximum before allocating anything (rpc_frame_header()), then
 * reads and decodes the body. Decoding checks only the protobuf encoding;
 * rpc_frame_check_request() applies the bounds a server enforces before it
 * acts on a request (names, record counts and sizes, RR types, key strings).
 *
 * Ownership: encoders return a malloc'ed frame the caller frees with free().
 * Decoders return a message the caller frees with the generated
 * signer__v1__request__free_unpacked(m, NULL) (or ..._response_...), which
 * uses malloc/free like the decoder. Inputs are borrowed for the call.
 *
 * Thread-safety: no state; every function is safe to call concurrently.
 */
#ifndef SIGNER_RPC_RPC_FRAME_H
#define SIGNER_RPC_RPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "signer.pb-c.h"

/* Largest frame body a server accepts unless configured otherwise, in bytes. */
#define RPC_FRAME_DEFAULT_MAX (16u << 20)
/* Bytes of the length header before each body. */
#define RPC_FRAME_HEADER_LEN 4
/* Most records in one RecordChunk (records, removed and added together). */
#define RPC_FRAME_MAX_CHUNK_RECORDS 8192
/* Longest key reference, token name or policy name, in bytes. */
#define RPC_FRAME_MAX_KEY 1024
/* Most keys in one ZoneConfig. */
#define RPC_FRAME_MAX_ZONE_KEYS 256
/* Most zone names in one Subscribe. */
#define RPC_FRAME_MAX_SUBSCRIBE_ZONES 65536
/* Longest text field (RecordChunk text, removed_text, added_text), in bytes. */
#define RPC_FRAME_MAX_TEXT RPC_FRAME_DEFAULT_MAX
/* Largest ClockSet offset either way, in seconds (about 136 years). */
#define RPC_FRAME_MAX_CLOCK_OFFSET (INT64_C(1) << 32)

/* Reads the body length from a frame header into *len. Returns
 * RPC_ERR_TOO_LARGE (*len unchanged) if it is above max. A length of 0 is a
 * valid frame: an empty message (every field at its default). */
int rpc_frame_header(const uint8_t hdr[RPC_FRAME_HEADER_LEN], size_t max, size_t *len);

/* Writes the header of a body of len bytes into hdr. */
void rpc_frame_put_header(uint8_t hdr[RPC_FRAME_HEADER_LEN], uint32_t len);

/* Packs r into a new frame (header and body) in *out, *len bytes in all; the
 * caller frees *out. Returns RPC_ERR_TOO_LARGE if the body would not fit the
 * 32-bit length, RPC_ERR_NOMEM. r is borrowed. */
int rpc_frame_encode_request(const Signer__V1__Request *r, uint8_t **out, size_t *len);

/* As rpc_frame_encode_request(), for a response. */
int rpc_frame_encode_response(const Signer__V1__Response *r, uint8_t **out, size_t *len);

/* Decodes a frame body (no header) of len bytes into *out; free it with
 * signer__v1__request__free_unpacked(*out, NULL). Unknown fields are kept
 * and ignored; an unknown operation decodes with op_case
 * SIGNER__V1__REQUEST__OP__NOT_SET. Returns RPC_ERR_DECODE, RPC_ERR_NOMEM. */
int rpc_frame_decode_request(const uint8_t *buf, size_t len, Signer__V1__Request **out);

/* As rpc_frame_decode_request(), for a response; free it with
 * signer__v1__response__free_unpacked(*out, NULL). */
int rpc_frame_decode_response(const uint8_t *buf, size_t len, Signer__V1__Response **out);

/* Applies the bounds a server enforces before acting on r: a known operation
 * with its body; zone names that parse as DNS names; at most
 * RPC_FRAME_MAX_CHUNK_RECORDS records per chunk, each with a valid
 * uncompressed wire owner, a type that is not 0 or a meta type (OPT, TKEY,
 * TSIG, IXFR, AXFR, MAILB, MAILA, ANY), a TTL below 2^31 and RDATA of at
 * most 65535 bytes; a chunk carries push fields (records, text) or update
 * fields (removed, added and their text), not both; known enum values; the
 * RPC_FRAME_MAX_* string and count limits. Returns RPC_ERR_INVALID with the
 * reason in err ("unknown operation", "chunk record 3: bad owner name"). */
int rpc_frame_check_request(const Signer__V1__Request *r, char *err, size_t errlen);

#endif
