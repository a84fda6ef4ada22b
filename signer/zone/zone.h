/*
 * zone: one version of a zone: its nodes in canonical order (RFC 4034 section
 * 6.1), with what each name is (apex, delegation point, occluded, empty
 * non-terminal, wildcard), and the NSEC3 nodes when the zone has them.
 *
 * A version holds references to its nodes; versions made from one another
 * share the nodes neither changed (see zone_node). A version is immutable once
 * made: any number of threads may read it. Life cycle: zone_new() (or
 * zone_replace() from an earlier version) -> read -> zone_free().
 */
#ifndef SIGNER_ZONE_ZONE_H
#define SIGNER_ZONE_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_node.h"
#include "signer/zone/zone_rrset.h"
#include "signer/zone/zone_seq.h"

/* What a name is in the zone (zone_entry_t.flags). */
enum {
	ZONE_NAME_APEX = 0x01,
	ZONE_NAME_CUT = 0x02,      /* NS below the apex: a delegation point */
	ZONE_NAME_OCCLUDED = 0x04, /* below a cut or a DNAME: glue or occluded data, never
				    * signed, never in the NSEC/NSEC3 chain, still published */
	ZONE_NAME_ENT = 0x08,      /* empty non-terminal: no RRsets, a descendant has some */
	ZONE_NAME_WILDCARD = 0x10, /* first label is "*" */
	ZONE_NAME_DNAME = 0x20,    /* has a DNAME: its descendants are occluded */
};

typedef struct zone {
	uint8_t *apex; /* wire form, owned */
	size_t apex_len;
	size_t count;       /* names (names.count) */
	size_t nsec3_count; /* NSEC3 nodes (nsec3.count) */
	zone_seq_t names;   /* canonical order, empty non-terminals included */
	zone_seq_t nsec3;   /* NSEC3 nodes (owner = hash.apex), canonical order, flags 0 */
} zone_t;

/* Name i (< z->count), borrowed from the version. */
static inline const zone_entry_t *zone_entry(const zone_t *z, size_t i)
{
	return zone_seq_at(&z->names, i);
}

/* NSEC3 node i (< z->nsec3_count), borrowed from the version. */
static inline zone_node_t *zone_nsec3_node(const zone_t *z, size_t i)
{
	return zone_seq_at(&z->nsec3, i)->node;
}

/* For a pass consuming its own version z before freeing it: drops z's
 * reference to the node of name i (or of NSEC3 node i) when no other version
 * shares it, so that memory is given back early. Nothing may read that entry
 * afterwards but zone_free(). */
void zone_consume(zone_t *z, bool nsec3, size_t i);

/* Names collected by zone_update(): copies, in no particular order, maybe
 * repeated. The caller owns it: start it zeroed, zone_names_deinit(). */
typedef struct {
	uint8_t (*names)[DNAME_MAXLEN];
	size_t n, cap;
} zone_names_t;

/* Appends a copy of name. Returns ZONE_OK or ZONE_ERR_NOMEM. */
int zone_names_add(zone_names_t *l, const uint8_t *name);

/* Frees and leaves l empty. */
void zone_names_deinit(zone_names_t *l);

/* Makes a version of the zone at apex from n nodes: takes over the caller's
 * reference to each node (on success and on failure), sorts them, adds the
 * empty non-terminals, sets the flags. Returns ZONE_OK, ZONE_ERR_NOMEM,
 * ZONE_ERR_DUPLICATE_NAME (two nodes for one name), ZONE_ERR_OUT_OF_ZONE (a
 * name not at or below apex); on those two, bad (DNAME_MAXLEN bytes, may be
 * NULL) gets the offending name. */
int zone_new(const uint8_t *apex, zone_node_t **nodes, size_t n, zone_t **out, uint8_t *bad);

/* A new version: z with the nodes in changed put in place of the nodes of
 * the same names (or added; a node with no slots removes its name), taking
 * over the references in changed; the rest shared with z. NSEC3 nodes are
 * not carried over (the chain is rebuilt). Errors as zone_new. */
int zone_replace(const zone_t *z, zone_node_t **changed, size_t n, zone_t **out, uint8_t *bad);

/* A new version: z with the nodes in changed put in place, as
 * zone_replace(), and the NSEC3 nodes in nsec3 (n3 of them) put in place of
 * those of the same owners (or added; a node with no slots removes its
 * owner); z's other NSEC3 nodes are carried over. Takes over every reference
 * passed. Costs about the size of the changes (and of the subtrees under
 * names that become or stop being delegations or DNAMEs), not of the zone:
 * the new version shares every chunk of names it did not touch. dirty (may
 * be NULL) gets every name whose entry changed or went away: the names of
 * changed, the empty non-terminals made or removed, and the names whose
 * flags changed. Errors as zone_new; z is never changed. */
int zone_update(const zone_t *z, zone_node_t **changed, size_t n, zone_node_t **nsec3, size_t n3,
                zone_t **out, uint8_t *bad, zone_names_t *dirty);

/* Adds to out every name whose entry (node or flags) differs between a and
 * b, or that only one of them has; NSEC3 nodes are not compared. Chunks the
 * two share are skipped unread: for versions made from one another this
 * costs about the size of their difference. Stops after limit names, with
 * *over set (false otherwise). Returns ZONE_OK, ZONE_ERR_NOMEM. */
int zone_changed_names(const zone_t *a, const zone_t *b, size_t limit, zone_names_t *out,
                       bool *over);

/* Finds name among the NSEC3 nodes: as zone_find. */
bool zone_find_nsec3(const zone_t *z, const uint8_t *name, size_t *index);

/* Sets the version's NSEC3 nodes (taking over the references; sorted here)
 * while the version is still being built by its one owner. */
int zone_set_nsec3(zone_t *z, zone_node_t **nodes, size_t n);

/* Finds name: returns true and its index, or false and the index where it
 * would go (the first entry greater than name). */
bool zone_find(const zone_t *z, const uint8_t *name, size_t *index);

/* The RRset of type at the apex (SOA, DNSKEY...), or NULL. */
const zone_rrset_t *zone_apex_rrset(const zone_t *z, uint16_t type);

/* True if the RRset of type at entry e is authoritative data the signer
 * signs: not at an occluded name, and at a cut only DS (NSEC too). */
bool zone_is_signed(const zone_entry_t *e, uint16_t type);

/* Drops the references and frees; NULL is a no-op. */
void zone_free(zone_t *z);

#endif
