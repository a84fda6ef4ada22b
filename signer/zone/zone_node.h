/*
 * zone_node: all the RRsets of one owner name, each with its RRSIGs.
 *
 * Nodes are immutable once made and reference-counted, like RRsets, so that
 * zone versions share the nodes they did not change; changing a node means
 * making a new one (zone_node_with, zone_node_without) that shares the other
 * RRsets. ref/unref are thread-safe (atomic counter); reading is thread-safe.
 */
#ifndef SIGNER_ZONE_ZONE_NODE_H
#define SIGNER_ZONE_ZONE_NODE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "signer/zone/zone_rrset.h"

/* One RRset of a node and the RRSIG RRset covering it (NULL: unsigned). */
typedef struct {
	zone_rrset_t *data;
	zone_rrset_t *sigs;
} zone_slot_t;

typedef struct zone_node {
	atomic_uint refs;
	uint16_t nslots;
	uint8_t owner_len;
	const uint8_t *owner; /* wire form, canonical case; inside this allocation */
	zone_slot_t slots[];  /* sorted by type; no RRSIG slot (RRSIGs ride along) */
} zone_node_t;

/* Makes a node for owner with n slots (sorted here by type). Takes a new
 * reference to every RRset in slots (the caller keeps its own). Returns
 * ZONE_OK, ZONE_ERR_NOMEM, ZONE_ERR_DUPLICATE_TYPE (two slots of one type). */
int zone_node_new(const uint8_t *owner, const zone_slot_t *slots, size_t n, zone_node_t **out);

/* A new node like node with slot put in (replacing the slot of its type, or
 * added). References as in zone_node_new. */
int zone_node_with(const zone_node_t *node, zone_slot_t slot, zone_node_t **out);

/* A new node like node without the slot of type (no error if absent). */
int zone_node_without(const zone_node_t *node, uint16_t type, zone_node_t **out);

/* The slot of type, or NULL. */
const zone_slot_t *zone_node_find(const zone_node_t *node, uint16_t type);

/* Takes a reference; returns node (NULL passed through). */
zone_node_t *zone_node_ref(zone_node_t *node);

/* Drops a reference; at zero drops the node's RRset references and frees. */
void zone_node_unref(zone_node_t *node);

#endif
