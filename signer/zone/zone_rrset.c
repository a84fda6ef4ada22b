#include "signer/zone/zone_rrset.h"

#include <stdlib.h>
#include <string.h>

#include "signer/zone/zone_error.h"

int zone_rdata_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n > 0 ? memcmp(a, b, n) : 0;
	if (c != 0) {
		return c;
	}
	return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

static int rdata_qsort_cmp(const void *pa, const void *pb)
{
	const zone_rdata_t *a = pa, *b = pb;
	return zone_rdata_cmp(a->data, a->len, b->data, b->len);
}

int zone_rrset_new(uint16_t type, uint32_t ttl, const zone_rdata_t *rdatas, size_t count,
                   zone_rrset_t **out)
{
	if (count > 65535) {
		return ZONE_ERR_RRSET_TOO_BIG;
	}
	zone_rdata_t stack[8];
	zone_rdata_t *sorted = count <= 8 ? stack : malloc(count * sizeof(*sorted));
	if (sorted == NULL) {
		return ZONE_ERR_NOMEM;
	}
	if (count > 0) {
		memcpy(sorted, rdatas, count * sizeof(*sorted));
	}
	if (count > 1) {
		qsort(sorted, count, sizeof(*sorted), rdata_qsort_cmp);
	}
	size_t len = 0, n = 0;
	for (size_t i = 0; i < count; i++) {
		if (i > 0 && rdata_qsort_cmp(&sorted[i - 1], &sorted[i]) == 0) {
			continue;
		}
		len += 2u + sorted[i].len;
		n++;
	}
	int ret = ZONE_ERR_RRSET_TOO_BIG;
	zone_rrset_t *r = NULL;
	if (len <= 0xffffffu) {
		ret = ZONE_ERR_NOMEM;
		r = malloc(sizeof(*r) + len);
	}
	if (r != NULL) {
		atomic_init(&r->refs, 1);
		r->type = type;
		r->ttl = ttl;
		r->count = (uint16_t)n;
		r->len = (uint32_t)len;
		uint8_t *p = r->data;
		for (size_t i = 0; i < count; i++) {
			if (i > 0 && rdata_qsort_cmp(&sorted[i - 1], &sorted[i]) == 0) {
				continue;
			}
			*p++ = (uint8_t)(sorted[i].len >> 8);
			*p++ = (uint8_t)sorted[i].len;
			if (sorted[i].len > 0) {
				memcpy(p, sorted[i].data, sorted[i].len);
			}
			p += sorted[i].len;
		}
		*out = r;
		ret = ZONE_OK;
	}
	if (sorted != stack) {
		free(sorted);
	}
	return ret;
}

zone_rrset_t *zone_rrset_ref(zone_rrset_t *rrset)
{
	if (rrset != NULL) {
		atomic_fetch_add_explicit(&rrset->refs, 1, memory_order_relaxed);
	}
	return rrset;
}

void zone_rrset_unref(zone_rrset_t *rrset)
{
	if (rrset != NULL &&
	    atomic_fetch_sub_explicit(&rrset->refs, 1, memory_order_acq_rel) == 1) {
		free(rrset);
	}
}

bool zone_rrset_next(const zone_rrset_t *rrset, size_t *pos, zone_rdata_t *out)
{
	if (*pos + 2 > rrset->len) {
		return false;
	}
	const uint8_t *p = rrset->data + *pos;
	out->len = (uint16_t)((p[0] << 8) | p[1]);
	out->data = p + 2;
	*pos += 2u + out->len;
	return true;
}

bool zone_rrset_equal(const zone_rrset_t *a, const zone_rrset_t *b)
{
	return a->type == b->type && a->ttl == b->ttl && a->len == b->len &&
	       memcmp(a->data, b->data, a->len) == 0;
}

/* Lowercases the name at rdata[*off]; advances *off past it. */
static bool lower_name(uint8_t *rdata, size_t len, size_t *off)
{
	size_t p = *off;
	while (p < len) {
		uint8_t l = rdata[p];
		if (l == 0) {
			*off = p + 1;
			return true;
		}
		if (l > 63 || p + 1 + l > len) {
			return false;
		}
		for (size_t i = p + 1; i <= p + l; i++) {
			if (rdata[i] >= 'A' && rdata[i] <= 'Z') {
				rdata[i] = (uint8_t)(rdata[i] + 32);
			}
		}
		p += 1u + l;
	}
	return false;
}

bool zone_rdata_canonicalize(uint16_t type, uint8_t *rdata, size_t len)
{
	size_t off = 0;
	switch (type) {
	case ZONE_TYPE_NS:
	case 3: /* MD */
	case 4: /* MF */
	case ZONE_TYPE_CNAME:
	case 7:  /* MB */
	case 8:  /* MG */
	case 9:  /* MR */
	case 12: /* PTR */
	case ZONE_TYPE_DNAME:
		return lower_name(rdata, len, &off) && off == len;
	case ZONE_TYPE_SOA:
		return lower_name(rdata, len, &off) && lower_name(rdata, len, &off) &&
		       off + 20 == len;
	case 14: /* MINFO */
	case 17: /* RP */
		return lower_name(rdata, len, &off) && lower_name(rdata, len, &off) && off == len;
	case ZONE_TYPE_MX:
	case 18: /* AFSDB */
	case 21: /* RT */
	case 36: /* KX */
		off = 2;
		return len >= 2 && lower_name(rdata, len, &off) && off == len;
	case 26: /* PX */
		off = 2;
		return len >= 2 && lower_name(rdata, len, &off) && lower_name(rdata, len, &off) &&
		       off == len;
	case 33: /* SRV */
		off = 6;
		return len >= 6 && lower_name(rdata, len, &off) && off == len;
	case 35: { /* NAPTR: order, preference, flags, services, regexp, replacement */
		off = 4;
		for (int i = 0; i < 3; i++) {
			if (off >= len || off + 1 + rdata[off] > len) {
				return false;
			}
			off += 1u + rdata[off];
		}
		return lower_name(rdata, len, &off) && off == len;
	}
	case 24:              /* SIG */
	case ZONE_TYPE_RRSIG: /* signer name after 18 fixed bytes */
		off = 18;
		return len >= 18 && lower_name(rdata, len, &off);
	case 30: /* NXT */
		return lower_name(rdata, len, &off);
	case 38: { /* A6: prefix length, address suffix, prefix name */
		if (len < 1 || rdata[0] > 128) {
			return false;
		}
		off = 1u + (128u - rdata[0]) / 8u;
		if (rdata[0] == 0) {
			return off == len;
		}
		return lower_name(rdata, len, &off) && off == len;
	}
	default:
		return true;
	}
}

bool zone_type_signer_made(uint16_t type)
{
	switch (type) {
	case ZONE_TYPE_DNSKEY:
	case ZONE_TYPE_NSEC:
	case ZONE_TYPE_NSEC3:
	case ZONE_TYPE_NSEC3PARAM:
	case ZONE_TYPE_CDS:
	case ZONE_TYPE_CDNSKEY:
		return true;
	default:
		return false;
	}
}
