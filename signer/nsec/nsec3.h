/*
 * nsec3: NSEC3 hashing (RFC 5155 section 5) and the NSEC3 chain of a zone
 * version (RFC 5155 section 7.1), with opt-out.
 *
 * nsec3_build() reads one version and makes a new one: the apex gets the
 * NSEC3PARAM RRset, NSEC RRsets go, and the NSEC3 nodes (owner = the
 * base32hex hash as one lowercase label under the apex, one NSEC3 RRset each)
 * are set with zone_set_nsec3(). The input version is borrowed for the call
 * and not changed. nsec3_chain() is the step below it: NSEC3 nodes from names
 * already hashed.
 *
 * A hasher (nsec3_hasher_new) holds an OpenSSL digest context: one per
 * thread. Every other function keeps no state and may be called from any
 * number of threads at once (versions are immutable).
 */
#ifndef SIGNER_NSEC_NSEC3_H
#define SIGNER_NSEC_NSEC3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone.h"

#define NSEC3_HASH_LEN       20 /* SHA-1 */
#define NSEC3_LABEL_LEN      32 /* base32hex of a hash */
#define NSEC3_ALG_SHA1       1
#define NSEC3_FLAG_OPT_OUT   0x01
#define NSEC3_MAX_ITERATIONS 50 /* nsec3_build refuses more */
#define NSEC3_PARAM_TTL      0  /* what dnssec-signzone (BIND 9.11-9.18) writes */

/* NSEC3 parameters. RFC 9276 advises iterations 0 and no salt (the caller
 * warns otherwise). Opt-out leaves unsigned delegations out of the chain and
 * sets the flag on every NSEC3 record; NSEC3PARAM flags stay 0. */
typedef struct {
	uint16_t iterations; /* additional iterations: SHA-1 runs iterations + 1 times */
	uint8_t salt_len;
	uint8_t salt[255];
	bool opt_out;
} nsec3_params_t;

/* The two names that nsec3_build() or nsec3_chain() found with one hash. */
typedef struct {
	uint8_t name1[DNAME_MAXLEN];
	uint8_t name2[DNAME_MAXLEN];
} nsec3_collision_t;

/* A name of the chain with its hash: input of nsec3_chain(). */
typedef struct {
	uint8_t hash[NSEC3_HASH_LEN];
	uint32_t entry; /* index in the version's entries */
} nsec3_item_t;

typedef struct nsec3_hasher nsec3_hasher_t;

/* Makes a hasher for the hash algorithm, salt and iterations of p (copied;
 * opt_out ignored; any iteration count). Returns NSEC_OK, NSEC_ERR_NOMEM or
 * NSEC_ERR_CRYPTO (SHA-1 unavailable). Not thread-safe: one per thread. */
int nsec3_hasher_new(const nsec3_params_t *p, nsec3_hasher_t **out);

/* Hashes name (wire form, any case: it is lowercased first) into out.
 * Returns NSEC_OK or NSEC_ERR_CRYPTO. */
int nsec3_hasher_hash(nsec3_hasher_t *h, const uint8_t *name, uint8_t out[NSEC3_HASH_LEN]);

/* Frees; NULL is a no-op. */
void nsec3_hasher_free(nsec3_hasher_t *h);

/* One-shot hash of name with p (a hasher made and freed for the call).
 * Returns NSEC_OK, NSEC_ERR_NOMEM or NSEC_ERR_CRYPTO. Thread-safe. */
int nsec3_hash(const nsec3_params_t *p, const uint8_t *name, uint8_t out[NSEC3_HASH_LEN]);

/* Writes hash in base32hex (RFC 4648 section 7), lowercase, no padding: 32
 * characters and a NUL. */
void nsec3_base32hex(const uint8_t hash[NSEC3_HASH_LEN], char out[NSEC3_LABEL_LEN + 1]);

/* Reads the hash back from the first label of owner (a hashed owner name,
 * either case) into out; false if that label is not 32 base32hex
 * characters. */
bool nsec3_owner_hash(const uint8_t *owner, uint8_t out[NSEC3_HASH_LEN]);

/* Writes the hashed owner name (the base32hex label, then apex) into out
 * (DNAME_MAXLEN octets) and sets *len. Returns NSEC_OK or
 * NSEC_ERR_NAME_TOO_LONG (apex longer than 222 octets). */
int nsec3_owner(const uint8_t hash[NSEC3_HASH_LEN], const uint8_t *apex, uint8_t *out, size_t *len);

/* Whether entry i of z gets an NSEC3 record (RFC 5155 7.1): an authoritative
 * name with data (nsec_in_chain), except, with opt-out, a delegation point
 * without DS; or an empty non-terminal (not occluded) with such a name below
 * it (so not one that only leads to opted-out delegations, as BIND does).
 * Fills in[z->count] (true/false per entry) and sets *n to the count of
 * names in. Linear in z->count. */
void nsec3_select(const zone_t *z, bool opt_out, bool *in, size_t *n);

/* Makes the NSEC3 nodes for the n names of z in items (sorted here by hash):
 * owner from the hash under z's apex, next hashed owner = the following hash
 * (the last wraps to the first), flags and parameters from p, bitmap =
 * nsec_types(NSEC_KIND_NSEC3) of the entry, TTL ttl. *nodes gets a new array
 * (free()) of n node references (zone_node_unref each, or hand them to
 * zone_set_nsec3). Returns NSEC_OK, NSEC_ERR_COLLISION (two items with one
 * hash: their owner names in *collision, if non-NULL), NSEC_ERR_NAME_TOO_LONG,
 * NSEC_ERR_NOMEM. Borrows z and p for the call; reorders items. */
int nsec3_chain(const zone_t *z, const nsec3_params_t *p, uint32_t ttl, nsec3_item_t *items,
                size_t n, zone_node_t ***nodes, nsec3_collision_t *collision);

/* Makes a new version of z with the NSEC3 chain of p: the apex NSEC3PARAM
 * (hash 1, flags 0, p's iterations and salt, TTL NSEC3_PARAM_TTL; kept as it
 * is, RRSIGs included, if already so), every NSEC and NSEC3 RRset at the
 * names removed, the NSEC3 nodes of nsec3_select()'s names set (TTL
 * nsec_ttl()); NSEC3 nodes of z that come out the same are shared, RRSIGs
 * included. Call after the apex DNSKEY/CDS/CDNSKEY RRsets are in place.
 * Returns NSEC_OK, NSEC_ERR_ITERATIONS (above NSEC3_MAX_ITERATIONS),
 * NSEC_ERR_NO_SOA, NSEC_ERR_COLLISION (both names in *collision, if
 * non-NULL), NSEC_ERR_NAME_TOO_LONG, NSEC_ERR_NOMEM, NSEC_ERR_CRYPTO, or a
 * zone status from zone_replace(); *out (zone_free) is written only on
 * success. */
int nsec3_build(const zone_t *z, const nsec3_params_t *p, zone_t **out,
                nsec3_collision_t *collision);

/* The NSEC3 chain of z brought up to date around names, without reading the
 * rest of the zone: z is a version made by zone_update() from one whose
 * chain of p was whole (nsec3_build or nsec3_update), with the same SOA TTL
 * and MINIMUM, and names its dirty list. Each name (and with opt-out each
 * of its ancestors) gets the NSEC3 node it should have, or loses it; the
 * next hashed owner of every node before a change is set. NSEC3 nodes that
 * come out the same keep their RRSIGs. changed (may be NULL) gets the owners
 * of the NSEC3 nodes made or removed. Returns as nsec3_build;
 * NSEC_ERR_COLLISION also when a name's hash is held by a node that was not
 * that name's (both names are then not known: collision->name2 is the NSEC3
 * owner). */
int nsec3_update(const zone_t *z, const nsec3_params_t *p, const zone_names_t *names, zone_t **out,
                 zone_names_t *changed, nsec3_collision_t *collision);

#endif
