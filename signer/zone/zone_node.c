#include "signer/zone/zone_node.h"

#include <stdlib.h>
#include <string.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"

static int slot_cmp(const void *a, const void *b)
{
	const zone_slot_t *x = a, *y = b;
	return (int)x->data->type - (int)y->data->type;
}

int zone_node_new(const uint8_t *owner, const zone_slot_t *slots, size_t n, zone_node_t **out)
{
	size_t owner_len = dname_length(owner);
	if (n > 65535 || owner_len == 0 || owner_len > DNAME_MAXLEN) {
		return ZONE_ERR_INVAL;
	}
	zone_node_t *node = malloc(sizeof(*node) + n * sizeof(zone_slot_t) + owner_len);
	if (node == NULL) {
		return ZONE_ERR_NOMEM;
	}
	if (n > 0) {
		memcpy(node->slots, slots, n * sizeof(zone_slot_t));
		qsort(node->slots, n, sizeof(zone_slot_t), slot_cmp);
	}
	for (size_t i = 1; i < n; i++) {
		if (node->slots[i].data->type == node->slots[i - 1].data->type) {
			free(node);
			return ZONE_ERR_DUPLICATE_TYPE;
		}
	}
	for (size_t i = 0; i < n; i++) {
		zone_rrset_ref(node->slots[i].data);
		zone_rrset_ref(node->slots[i].sigs);
	}
	uint8_t *name = (uint8_t *)(node->slots + n);
	memcpy(name, owner, owner_len);
	node->owner = name;
	node->owner_len = (uint8_t)owner_len;
	node->nslots = (uint16_t)n;
	atomic_init(&node->refs, 1);
	*out = node;
	return ZONE_OK;
}

int zone_node_with(const zone_node_t *node, zone_slot_t slot, zone_node_t **out)
{
	zone_slot_t stack[16];
	size_t n = node->nslots;
	zone_slot_t *slots = n + 1 <= 16 ? stack : malloc((n + 1) * sizeof(*slots));
	if (slots == NULL) {
		return ZONE_ERR_NOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (node->slots[i].data->type != slot.data->type) {
			slots[k++] = node->slots[i];
		}
	}
	slots[k++] = slot;
	int ret = zone_node_new(node->owner, slots, k, out);
	if (slots != stack) {
		free(slots);
	}
	return ret;
}

int zone_node_without(const zone_node_t *node, uint16_t type, zone_node_t **out)
{
	zone_slot_t stack[16];
	size_t n = node->nslots;
	zone_slot_t *slots = n <= 16 ? stack : malloc(n * sizeof(*slots));
	if (slots == NULL) {
		return ZONE_ERR_NOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (node->slots[i].data->type != type) {
			slots[k++] = node->slots[i];
		}
	}
	int ret = zone_node_new(node->owner, k > 0 ? slots : NULL, k, out);
	if (slots != stack) {
		free(slots);
	}
	return ret;
}

const zone_slot_t *zone_node_find(const zone_node_t *node, uint16_t type)
{
	size_t lo = 0, hi = node->nslots;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint16_t t = node->slots[mid].data->type;
		if (t == type) {
			return &node->slots[mid];
		}
		if (t < type) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NULL;
}

zone_node_t *zone_node_ref(zone_node_t *node)
{
	if (node != NULL) {
		atomic_fetch_add_explicit(&node->refs, 1, memory_order_relaxed);
	}
	return node;
}

void zone_node_unref(zone_node_t *node)
{
	if (node == NULL || atomic_fetch_sub_explicit(&node->refs, 1, memory_order_acq_rel) != 1) {
		return;
	}
	for (size_t i = 0; i < node->nslots; i++) {
		zone_rrset_unref(node->slots[i].data);
		zone_rrset_unref(node->slots[i].sigs);
	}
	free(node);
}
