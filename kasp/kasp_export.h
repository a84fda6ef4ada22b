/*
 * kasp_export: what a zone's keys show the outside world: the DS set the
 * parent should hold (for `signer key ds` and the zone's CDS/CDNSKEY
 * RRsets, RFC 7344 and RFC 8078), trust anchors for validators (`signer key
 * trust-anchor`), and the RFC 5011 REVOKE variant of a DNSKEY with its key
 * tag (for the key-tag collision check).
 *
 * Each key comes as its state (kasp_key_t) and its DNSKEY RDATA as
 * published, without the REVOKE bit (kasp_export_key_t). Selections:
 *   parent  a KSK or CSK whose DS is rumoured or omnipresent: the DS set the
 *           parent should have now, which is what CDS/CDNSKEY say;
 *   anchor  a KSK or CSK whose DNSKEY is rumoured or omnipresent: the keys a
 *           validator may be given as trust anchors.
 * Digests are DS digest types from a caller's list (2 SHA-256, 4 SHA-384),
 * in the list's order, each key in the order given; DS digests and key tags
 * come from hsm_dnskey.
 *
 * Life cycle and ownership: pure functions, no state. Arguments are
 * borrowed for the call. Results are written only on success: an RRset
 * (kasp_export_rrset_t, caller storage, released with
 * kasp_export_rrset_deinit) or a NUL-terminated text the caller releases
 * with free(). An empty selection is an answer (an empty RRset, an empty
 * text, *count 0), not an error.
 *
 * Thread-safety: every function is thread-safe; an RRset must not be used
 * by two threads while one of them deinitialises it.
 */
#ifndef KASP_KASP_EXPORT_H
#define KASP_KASP_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kasp/kasp_key.h"

/* One key: its state and its DNSKEY RDATA (flags, protocol 3, algorithm,
 * public key; ZONE set, REVOKE clear), both borrowed. */
typedef struct {
	const kasp_key_t *key;
	const uint8_t *rdata;
	size_t rdata_len;
} kasp_export_key_t;

typedef enum {
	KASP_EXPORT_PARENT, /* KSK/CSK with DS rumoured or omnipresent */
	KASP_EXPORT_ANCHOR, /* KSK/CSK with DNSKEY rumoured or omnipresent */
	KASP_EXPORT_GIVEN,  /* every key given */
} kasp_export_select_t;

typedef enum {
	KASP_EXPORT_UNBOUND, /* unbound trust-anchor-file: "zone. IN DS tag alg type HEX" lines */
	KASP_EXPORT_BIND, /* named.conf: trust-anchors { "zone." static-ds tag alg type "HEX"; }; */
	KASP_EXPORT_DS,   /* "zone. TTL IN DS tag alg type HEX" lines */
	KASP_EXPORT_DNSKEY, /* "zone. TTL IN DNSKEY flags 3 alg BASE64" lines */
} kasp_export_format_t;

/* One RDATA, owned by its RRset. */
typedef struct {
	uint8_t *data;
	size_t len;
} kasp_export_rdata_t;

/* RDATA of one RRset (CDS, CDNSKEY) in order, without owner, class or TTL. */
typedef struct {
	kasp_export_rdata_t *rr; /* n entries, owned */
	size_t n;
} kasp_export_rrset_t;

/* True if key k falls under selection which (GIVEN: always). Thread-safe. */
bool kasp_export_selects(kasp_export_select_t which, const kasp_key_t *k);

/* An empty RRset in caller storage. */
void kasp_export_rrset_init(kasp_export_rrset_t *set);

/* Frees the RDATA of set and leaves it empty; NULL is a no-op. */
void kasp_export_rrset_deinit(kasp_export_rrset_t *set);

/* The CDS RRset (one DS RDATA per digest type per key) and the CDNSKEY
 * RRset (each key's DNSKEY RDATA) for the keys at the parent (selection
 * parent). zone is the presentation-form name ("example.com." or without
 * the final dot). On success *cds and *cdnskey (initialised or not) are
 * overwritten with sets the caller deinitialises; both are empty when no key
 * is at the parent. Returns KASP_OK, KASP_ERR_INVAL (NULL), KASP_ERR_EXPORT_NAME,
 * KASP_ERR_EXPORT_DIGEST, KASP_ERR_EXPORT_DNSKEY, KASP_ERR_NOMEM, or an hsm
 * status (HSM_ERR_CRYPTO). */
int kasp_export_cds(const char *zone, const kasp_export_key_t *keys, size_t n,
                    const uint8_t *digests, size_t ndigests, kasp_export_rrset_t *cds,
                    kasp_export_rrset_t *cdnskey);

/* The RFC 8078 delete RRsets for going insecure: CDS "0 0 0 00" and
 * CDNSKEY "0 3 0 AA==", one RDATA each, overwriting *cds and *cdnskey.
 * Returns KASP_OK, KASP_ERR_INVAL (NULL) or KASP_ERR_NOMEM. */
int kasp_export_cds_delete(kasp_export_rrset_t *cds, kasp_export_rrset_t *cdnskey);

/* DS records in presentation form, one line per selected key and digest
 * type: "zone. TTL IN DS tag alg type HEX\n" (uppercase hex, the zone as
 * given plus a final dot). *out gets a malloc'd text the caller frees,
 * *count (may be NULL) the number of lines. Returns as kasp_export_cds. */
int kasp_export_ds_text(const char *zone, uint32_t ttl, const kasp_export_key_t *keys, size_t n,
                        kasp_export_select_t which, const uint8_t *digests, size_t ndigests,
                        char **out, size_t *count);

/* A trust anchor for the anchor keys (selection anchor) in format:
 *   UNBOUND  one "zone. IN DS tag alg type HEX" line per key and digest
 *            type: the zone-file form unbound reads with trust-anchor-file
 *            (and as the seed of an auto-trust-anchor-file);
 *   BIND     "trust-anchors {\n\t\"zone.\" static-ds tag alg type \"HEX\";\n};\n"
 *            with one static-ds line per key and digest type (BIND 9.15+);
 *   DS       as kasp_export_ds_text with ttl;
 *   DNSKEY   one "zone. TTL IN DNSKEY flags 3 alg BASE64" line per key
 *            (digests unused, may be NULL with ndigests 0).
 * *out gets a malloc'd text the caller frees, *count (may be NULL) the
 * number of records (DS or DNSKEY). With no anchor key the text is empty
 * (no empty BIND clause). Returns KASP_OK, KASP_ERR_INVAL (NULL, unknown
 * format), or as kasp_export_cds. */
int kasp_export_trust_anchor(const char *zone, kasp_export_format_t format, uint32_t ttl,
                             const kasp_export_key_t *keys, size_t n, const uint8_t *digests,
                             size_t ndigests, char **out, size_t *count);

/* The RFC 5011 revoked form of DNSKEY RDATA rdata: a copy into out (cap
 * bytes) with the REVOKE flag (0x0080) set, its length in *out_len, and its
 * key tag (which differs from the unrevoked key's) in *tag (may be NULL).
 * Returns KASP_OK, KASP_ERR_INVAL (NULL), KASP_ERR_EXPORT_DNSKEY (not a
 * zone key of protocol 3, or already revoked), HSM_ERR_BUFFER (cap). */
int kasp_export_revoke(const uint8_t *rdata, size_t len, uint8_t *out, size_t cap, size_t *out_len,
                       uint16_t *tag);

#endif
