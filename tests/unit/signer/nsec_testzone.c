#include "tests/unit/signer/nsec_testzone.h"

#include <CUnit/CUnit.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libzscanner/scanner.h>

#include "signer/nsec/nsec_bitmap.h"
#include "signer/nsec/nsec_error.h"
#include "signer/zone/zone_error.h"

const char nsec_testzone_sample[] =
        "$ORIGIN t.test.\n"
        "$TTL 7200\n"
        "@ 7200 IN SOA ns1 hostmaster 1 3600 900 604800 300\n"
        "@ NS ns1\n"
        "@ DNSKEY 256 3 13 xkuCjSSX6fU+cSz4W65NcAzB7dk8uTZw4b6442sBOxJ+4utSO1GP+C6H "
        "56piZq3/RJJQwfmrGSwOEtXPnDLnIg==\n"
        "@ DNSKEY 257 3 13 rRC9JT8NQbGBmfj42nvgqIgAW9mIhMmjSemVN+gUPMaJu9G1p8VoXCq7 "
        "H80ZGfmJbBnjBK6C/Arx41/T0NOw8A==\n"
        "ns1 A 192.0.2.1\n"
        "ins NS ns.ins\n"
        "ins A 192.0.2.9\n"
        "ns.ins A 192.0.2.2\n"
        "deep.x.ins A 192.0.2.6\n"
        "sec NS ns.sec\n"
        "sec DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\n"
        "sec TXT \"at the cut\"\n"
        "ns.sec A 192.0.2.3\n"
        "x.e2.e1 A 192.0.2.4\n"
        "*.w TXT \"wild\"\n"
        "dn DNAME example.net.\n"
        "occ.dn A 192.0.2.5\n"
        "d.ent2 NS ns1\n"
        "s.ent3 NS ns1\n"
        "s.ent3 DS 54321 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\n"
        "h TYPE65 \\# 3 000100\n"
        "h CAA 0 issue \"ca.example\"\n"
        "h TYPE65534 \\# 1 00\n"
        "MiXeD AAAA 2001:db8::1\n";

typedef struct {
	nsec_testzone_rrs_t all;
	size_t cap;
	bool failed;
} reader_t;

static void on_record(zs_scanner_t *s)
{
	reader_t *r = s->process.data;
	if (r->all.n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		nsec_testzone_rr_t **v = realloc(r->all.v, cap * sizeof(*v));
		if (v == NULL) {
			r->failed = true;
			s->state = ZS_STATE_STOP;
			return;
		}
		r->all.v = v;
		r->cap = cap;
	}
	nsec_testzone_rr_t *rr = malloc(sizeof(*rr) + s->r_data_length);
	if (rr == NULL) {
		r->failed = true;
		s->state = ZS_STATE_STOP;
		return;
	}
	memcpy(rr->owner, s->r_owner, s->r_owner_length);
	dname_to_lower(rr->owner);
	rr->type = s->r_type;
	rr->ttl = s->r_ttl;
	rr->len = (uint16_t)s->r_data_length;
	memcpy(rr->data, s->r_data, s->r_data_length);
	zone_rdata_canonicalize(rr->type, rr->data, rr->len);
	r->all.v[r->all.n++] = rr;
}

static void on_error(zs_scanner_t *s)
{
	reader_t *r = s->process.data;
	fprintf(stderr, "nsec_testzone: line %llu: %s\n", (unsigned long long)s->line_counter,
	        zs_strerror(s->error.code));
	r->failed = true;
}

static bool is_chain_type(uint16_t type)
{
	return type == ZONE_TYPE_RRSIG || type == ZONE_TYPE_NSEC || type == ZONE_TYPE_NSEC3 ||
	       type == ZONE_TYPE_NSEC3PARAM;
}

static int rr_cmp(const void *a, const void *b)
{
	const nsec_testzone_rr_t *x = *(nsec_testzone_rr_t *const *)a;
	const nsec_testzone_rr_t *y = *(nsec_testzone_rr_t *const *)b;
	int c = dname_canonical_cmp(x->owner, y->owner);
	return c != 0 ? c : (int)x->type - (int)y->type;
}

/* Makes the version from the data records (sorted here). */
static int build(const uint8_t *apex, nsec_testzone_rr_t **v, size_t n, zone_t **out)
{
	qsort(v, n, sizeof(*v), rr_cmp);
	zone_node_t **nodes = calloc(n + 1, sizeof(*nodes));
	zone_slot_t *slots = calloc(n + 1, sizeof(*slots));
	zone_rdata_t *rd = calloc(n + 1, sizeof(*rd));
	size_t nnodes = 0, nslots = 0;
	int ret = -1;
	if (nodes == NULL || slots == NULL || rd == NULL) {
		goto done;
	}
	for (size_t i = 0; i < n;) {
		/* One RRset: same owner and type; TTL the lowest. */
		size_t j = i;
		uint32_t ttl = v[i]->ttl;
		for (; j < n && rr_cmp(&v[i], &v[j]) == 0; j++) {
			rd[j - i] = (zone_rdata_t){v[j]->data, v[j]->len};
			ttl = v[j]->ttl < ttl ? v[j]->ttl : ttl;
		}
		if (zone_rrset_new(v[i]->type, ttl, rd, j - i, &slots[nslots].data) != ZONE_OK) {
			goto done;
		}
		slots[nslots++].sigs = NULL;
		if (j == n || !dname_equal(v[i]->owner, v[j]->owner)) {
			int rc = zone_node_new(v[i]->owner, slots, nslots, &nodes[nnodes]);
			for (size_t k = 0; k < nslots; k++) {
				zone_rrset_unref(slots[k].data);
			}
			nslots = 0;
			if (rc != ZONE_OK) {
				goto done;
			}
			nnodes++;
		}
		i = j;
	}
	uint8_t bad[DNAME_MAXLEN];
	ret = zone_new(apex, nodes, nnodes, out, bad) == ZONE_OK ? 0 : -1;
	nnodes = 0; /* zone_new took them */
done:
	for (size_t k = 0; k < nslots; k++) {
		zone_rrset_unref(slots[k].data);
	}
	for (size_t k = 0; k < nnodes; k++) {
		zone_node_unref(nodes[k]);
	}
	free(rd);
	free(slots);
	free(nodes);
	return ret;
}

int nsec_testzone_load(const char *path, const char *text, const char *origin, zone_t **zone,
                       nsec_testzone_rrs_t *chain)
{
	reader_t r = {0};
	zs_scanner_t *s = malloc(sizeof(*s));
	uint8_t apex[DNAME_MAXLEN];
	int ret = -1;
	if (s == NULL || dname_from_str(origin, NULL, apex, sizeof(apex), NULL) != ZONE_OK) {
		free(s);
		return -1;
	}
	dname_to_lower(apex);
	if (zs_init(s, origin, 1, 3600) != 0) {
		free(s);
		return -1;
	}
	if ((path != NULL ? zs_set_input_file(s, path)
	                  : zs_set_input_string(s, text, strlen(text))) != 0 ||
	    zs_set_processing(s, on_record, on_error, &r) != 0 || zs_parse_all(s) != 0 ||
	    r.failed) {
		fprintf(stderr, "nsec_testzone: %s: %s\n", path != NULL ? path : "(text)",
		        zs_strerror(s->error.code));
		goto done;
	}
	/* Split: data records to the version, NSEC/NSEC3 to chain. */
	nsec_testzone_rrs_t data = {calloc(r.all.n + 1, sizeof(*data.v)), 0};
	nsec_testzone_rrs_t found = {calloc(r.all.n + 1, sizeof(*found.v)), 0};
	if (data.v == NULL || found.v == NULL) {
		free(data.v);
		free(found.v);
		goto done;
	}
	for (size_t i = 0; i < r.all.n; i++) {
		uint16_t t = r.all.v[i]->type;
		if (!is_chain_type(t)) {
			data.v[data.n++] = r.all.v[i];
		} else if (t == ZONE_TYPE_NSEC || t == ZONE_TYPE_NSEC3) {
			found.v[found.n++] = r.all.v[i];
		}
	}
	ret = zone != NULL ? build(apex, data.v, data.n, zone) : 0;
	free(data.v);
	if (ret == 0 && chain != NULL) {
		/* The records move to chain; the rest are freed below. */
		for (size_t i = 0; i < r.all.n; i++) {
			uint16_t t = r.all.v[i]->type;
			if (t == ZONE_TYPE_NSEC || t == ZONE_TYPE_NSEC3) {
				r.all.v[i] = NULL;
			}
		}
		*chain = found;
	} else {
		free(found.v);
	}
done:
	nsec_testzone_rrs_free(&r.all);
	zs_deinit(s);
	free(s);
	return ret;
}

void nsec_testzone_rrs_free(nsec_testzone_rrs_t *rrs)
{
	if (rrs == NULL) {
		return;
	}
	for (size_t i = 0; i < rrs->n; i++) {
		free(rrs->v[i]);
	}
	free(rrs->v);
	rrs->v = NULL;
	rrs->n = 0;
}

const char *nsec_testzone_name(const uint8_t *name)
{
	static char buf[DNAME_STR_MAXLEN];
	if (dname_to_str(name, buf, sizeof(buf)) != ZONE_OK) {
		return "(bad name)";
	}
	return buf;
}

const char *nsec_testzone_types(const uint8_t *bitmap, size_t len)
{
	static const struct {
		uint16_t type;
		const char *name;
	} known[] = {
	        {1, "A"},      {2, "NS"},    {5, "CNAME"},   {6, "SOA"},    {13, "HINFO"},
	        {15, "MX"},    {16, "TXT"},  {28, "AAAA"},   {39, "DNAME"}, {43, "DS"},
	        {46, "RRSIG"}, {47, "NSEC"}, {48, "DNSKEY"}, {50, "NSEC3"}, {51, "NSEC3PARAM"},
	        {65, "HTTPS"}, {257, "CAA"},
	};
	static char buf[65536 * 11];
	static uint16_t types[65536];
	size_t n = 0, pos = 0;
	if (nsec_bitmap_decode(bitmap, len, types, 65536, &n) != NSEC_OK) {
		return "(bad bitmap)";
	}
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *name = NULL;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
			if (known[k].type == types[i]) {
				name = known[k].name;
			}
		}
		pos += (size_t)(name != NULL ? snprintf(buf + pos, sizeof(buf) - pos, "%s%s",
		                                        i ? " " : "", name)
		                             : snprintf(buf + pos, sizeof(buf) - pos, "%sTYPE%u",
		                                        i ? " " : "", (unsigned)types[i]));
	}
	return buf;
}

const uint8_t *nsec_testzone_wire(const char *text)
{
	static uint8_t buf[4][DNAME_MAXLEN];
	static int next;
	uint8_t *out = buf[next++ % 4];
	CU_ASSERT_EQUAL_FATAL(dname_from_str(text, NULL, out, DNAME_MAXLEN, NULL), ZONE_OK);
	return out;
}

zone_t *nsec_testzone_text(const char *text, const char *origin)
{
	zone_t *z = NULL;
	CU_ASSERT_EQUAL_FATAL(nsec_testzone_load(NULL, text, origin, &z, NULL), 0);
	return z;
}
