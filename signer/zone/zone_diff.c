#include "signer/zone/zone_diff.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_node.h"
#include "signer/zone/zone_write.h"

#define TTL_MAX 0x7fffffffu /* RFC 2181 section 8 */
/* Smallest storage chunk of a delta. */
#define CHUNK_MIN (64 * 1024)
/* Errors reported by one apply before it stops looking; skipped DNSSEC
 * records named one by one before the rest are only counted. */
#define APPLY_MAX_ERRORS  100
#define APPLY_SKIPS_NAMED 5

/* ---- deltas ---- */

struct zone_delta_chunk {
	struct zone_delta_chunk *next;
	size_t used, cap;
	uint8_t data[];
};

void zone_delta_init(zone_delta_t *d)
{
	memset(d, 0, sizeof(*d));
}

void zone_delta_deinit(zone_delta_t *d)
{
	struct zone_delta_chunk *c = d->chunks;
	while (c != NULL) {
		struct zone_delta_chunk *next = c->next;
		free(c);
		c = next;
	}
	free(d->removed);
	free(d->added);
	zone_delta_init(d);
}

/* n bytes of storage that never move; NULL when out of memory. */
static uint8_t *store(zone_delta_t *d, size_t n)
{
	struct zone_delta_chunk *c = d->chunks;
	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
		c = malloc(sizeof(*c) + cap);
		if (c == NULL) {
			return NULL;
		}
		c->used = 0;
		c->cap = cap;
		c->next = d->chunks;
		d->chunks = c;
	}
	uint8_t *p = c->data + c->used;
	c->used += n;
	return p;
}

/* Room for one more RR in a list. */
static bool reserve_rr(zone_rr_t **v, size_t n, size_t *cap, size_t extra)
{
	if (*cap - n >= extra) {
		return true;
	}
	size_t c = *cap ? *cap : 64;
	while (c - n < extra) {
		c *= 2;
	}
	zone_rr_t *p = realloc(*v, c * sizeof(*p));
	if (p == NULL) {
		return false;
	}
	*v = p;
	*cap = c;
	return true;
}

int zone_delta_add(zone_delta_t *d, bool added, const uint8_t *owner, uint16_t type, uint32_t ttl,
                   const uint8_t *rdata, uint16_t rdlen)
{
	if (owner == NULL || (rdata == NULL && rdlen > 0)) {
		return ZONE_ERR_INVAL;
	}
	zone_rr_t **v = added ? &d->added : &d->removed;
	size_t *n = added ? &d->nadded : &d->nremoved;
	size_t *cap = added ? &d->added_cap : &d->removed_cap;
	if (!reserve_rr(v, *n, cap, 1)) {
		return ZONE_ERR_NOMEM;
	}
	size_t olen = dname_length(owner);
	const uint8_t *o = d->last_owner;
	bool reuse = o != NULL && dname_length(o) == olen && memcmp(o, owner, olen) == 0;
	uint8_t *p = store(d, (reuse ? 0 : olen) + rdlen);
	if (p == NULL) {
		return ZONE_ERR_NOMEM;
	}
	if (!reuse) {
		memcpy(p, owner, olen);
		o = p;
		d->last_owner = o;
		p += olen;
	}
	if (rdlen > 0) {
		memcpy(p, rdata, rdlen);
	}
	(*v)[(*n)++] = (zone_rr_t){o, type, ttl, p, rdlen};
	return ZONE_OK;
}

int zone_delta_move(zone_delta_t *d, zone_delta_t *src)
{
	if (!reserve_rr(&d->removed, d->nremoved, &d->removed_cap, src->nremoved) ||
	    !reserve_rr(&d->added, d->nadded, &d->added_cap, src->nadded)) {
		return ZONE_ERR_NOMEM;
	}
	if (src->nremoved > 0) {
		memcpy(d->removed + d->nremoved, src->removed, src->nremoved * sizeof(zone_rr_t));
		d->nremoved += src->nremoved;
	}
	if (src->nadded > 0) {
		memcpy(d->added + d->nadded, src->added, src->nadded * sizeof(zone_rr_t));
		d->nadded += src->nadded;
	}
	/* src's chunks go after d's newest, which keeps taking new data. */
	struct zone_delta_chunk **tail = &src->chunks;
	while (*tail != NULL) {
		tail = &(*tail)->next;
	}
	if (src->chunks != NULL) {
		if (d->chunks != NULL) {
			*tail = d->chunks->next;
			d->chunks->next = src->chunks;
		} else {
			d->chunks = src->chunks;
			d->last_owner = src->last_owner;
		}
	}
	src->chunks = NULL;
	zone_delta_deinit(src);
	return ZONE_OK;
}

size_t zone_delta_wire_size(const zone_delta_t *d)
{
	size_t n = 0;
	for (size_t i = 0; i < d->nremoved; i++) {
		n += dname_length(d->removed[i].owner) + 10u + d->removed[i].rdlen;
	}
	for (size_t i = 0; i < d->nadded; i++) {
		n += dname_length(d->added[i].owner) + 10u + d->added[i].rdlen;
	}
	return n;
}

uint32_t zone_diff_soa_serial(const zone_rrset_t *soa)
{
	zone_rdata_t rd;
	size_t pos = 0;
	if (soa == NULL || !zone_rrset_next(soa, &pos, &rd)) {
		return 0;
	}
	size_t off = 0;
	for (int k = 0; k < 2; k++) {
		while (off < rd.len && rd.data[off] != 0) {
			off += 1u + rd.data[off];
		}
		off++;
	}
	if (off + 4 > rd.len) {
		return 0;
	}
	const uint8_t *p = rd.data + off;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- diff ---- */

/* Every RR of r (NULL: none) into one list, as type (r's own or RRSIG). */
static int emit_all(zone_delta_t *d, bool added, const uint8_t *owner, const zone_rrset_t *r,
                    uint16_t type)
{
	if (r == NULL) {
		return ZONE_OK;
	}
	size_t pos = 0;
	zone_rdata_t rd;
	while (zone_rrset_next(r, &pos, &rd)) {
		int ret = zone_delta_add(d, added, owner, type, r->ttl, rd.data, rd.len);
		if (ret != ZONE_OK) {
			return ret;
		}
	}
	return ZONE_OK;
}

/* The RRs of a (old) not in b (new) removed, those of b not in a added. A
 * TTL change replaces the whole RRset (how IXFR says it). */
static int diff_rrset(zone_delta_t *d, const uint8_t *owner, const zone_rrset_t *a,
                      const zone_rrset_t *b, uint16_t type)
{
	if (a == b) {
		return ZONE_OK;
	}
	if (a == NULL || b == NULL || a->ttl != b->ttl) {
		int ret = emit_all(d, false, owner, a, type);
		return ret == ZONE_OK ? emit_all(d, true, owner, b, type) : ret;
	}
	if (a->len == b->len && memcmp(a->data, b->data, a->len) == 0) {
		return ZONE_OK;
	}
	size_t pa = 0, pb = 0;
	zone_rdata_t ra, rb;
	bool ha = zone_rrset_next(a, &pa, &ra), hb = zone_rrset_next(b, &pb, &rb);
	int ret = ZONE_OK;
	while ((ha || hb) && ret == ZONE_OK) {
		int c = !ha ? 1 : !hb ? -1 : zone_rdata_cmp(ra.data, ra.len, rb.data, rb.len);
		if (c < 0) {
			ret = zone_delta_add(d, false, owner, type, a->ttl, ra.data, ra.len);
			ha = zone_rrset_next(a, &pa, &ra);
		} else if (c > 0) {
			ret = zone_delta_add(d, true, owner, type, b->ttl, rb.data, rb.len);
			hb = zone_rrset_next(b, &pb, &rb);
		} else {
			ha = zone_rrset_next(a, &pa, &ra);
			hb = zone_rrset_next(b, &pb, &rb);
		}
	}
	return ret;
}

/* The differences between two nodes of one name (either may be NULL). The
 * SOA's data is left out where skip_soa (it was put first). */
static int diff_node(zone_delta_t *d, const zone_node_t *a, const zone_node_t *b, bool skip_soa)
{
	if (a == b) {
		return ZONE_OK;
	}
	const uint8_t *owner = a != NULL ? a->owner : b->owner;
	size_t na = a != NULL ? a->nslots : 0, nb = b != NULL ? b->nslots : 0;
	size_t i = 0, j = 0;
	int ret = ZONE_OK;
	while ((i < na || j < nb) && ret == ZONE_OK) {
		const zone_slot_t *sa = i < na ? &a->slots[i] : NULL;
		const zone_slot_t *sb = j < nb ? &b->slots[j] : NULL;
		if (sa != NULL && sb != NULL && sa->data->type != sb->data->type) {
			if (sa->data->type < sb->data->type) {
				sb = NULL;
			} else {
				sa = NULL;
			}
		}
		i += sa != NULL;
		j += sb != NULL;
		if (sa != NULL && sb != NULL && sa->data == sb->data && sa->sigs == sb->sigs) {
			continue;
		}
		const zone_rrset_t *da = sa != NULL ? sa->data : NULL;
		const zone_rrset_t *db = sb != NULL ? sb->data : NULL;
		uint16_t type = da != NULL ? da->type : db->type;
		if (!(skip_soa && type == ZONE_TYPE_SOA)) {
			ret = diff_rrset(d, owner, da, db, type);
		}
		if (ret == ZONE_OK) {
			ret = diff_rrset(d, owner, sa != NULL ? sa->sigs : NULL,
			                 sb != NULL ? sb->sigs : NULL, ZONE_TYPE_RRSIG);
		}
	}
	return ret;
}

/* Walks two lists of nodes in canonical order in step, skipping the chunks
 * they share unread. */
static int diff_nodes(zone_delta_t *d, const zone_seq_t *a, const zone_seq_t *b, bool apex_first)
{
	size_t ka = 0, ia = 0, kb = 0, ib = 0;
	int ret = ZONE_OK;
	while (ret == ZONE_OK) {
		while (ka < a->nchunks && ia == a->chunks[ka]->count) {
			ka++;
			ia = 0;
		}
		while (kb < b->nchunks && ib == b->chunks[kb]->count) {
			kb++;
			ib = 0;
		}
		bool more_a = ka < a->nchunks, more_b = kb < b->nchunks;
		if (!more_a && !more_b) {
			break;
		}
		if (more_a && more_b && ia == 0 && ib == 0 && zone_seq_same_chunk(a, ka, b, kb)) {
			ka++;
			kb++;
			continue;
		}
		bool at_apex = apex_first && ka == 0 && ia == 0 && kb == 0 && ib == 0;
		const zone_node_t *x = more_a ? a->chunks[ka]->e[ia].node : NULL;
		const zone_node_t *y = more_b ? b->chunks[kb]->e[ib].node : NULL;
		if (x == y) {
			ia++;
			ib++;
			continue;
		}
		int c = x == NULL ? 1 : y == NULL ? -1 : dname_canonical_cmp(x->owner, y->owner);
		if (c < 0) {
			y = NULL;
		} else if (c > 0) {
			x = NULL;
		}
		ret = diff_node(d, x, y, at_apex);
		ia += x != NULL;
		ib += y != NULL;
	}
	return ret;
}

int zone_diff(const zone_t *old, const zone_t *new, zone_delta_t *out)
{
	if (!dname_equal(old->apex, new->apex)) {
		return ZONE_ERR_INVAL;
	}
	zone_delta_t d;
	zone_delta_init(&d);
	const zone_rrset_t *sa = zone_apex_rrset(old, ZONE_TYPE_SOA);
	const zone_rrset_t *sb = zone_apex_rrset(new, ZONE_TYPE_SOA);
	d.from_serial = zone_diff_soa_serial(sa);
	d.to_serial = zone_diff_soa_serial(sb);
	int ret = ZONE_OK;
	bool soa_changed = sa != sb && (sa == NULL || sb == NULL || !zone_rrset_equal(sa, sb));
	if (soa_changed) {
		/* RFC 1995: the old SOA opens the removed records, the new one the
		 * added. */
		ret = emit_all(&d, false, old->apex, sa, ZONE_TYPE_SOA);
		if (ret == ZONE_OK) {
			ret = emit_all(&d, true, new->apex, sb, ZONE_TYPE_SOA);
		}
	}
	if (ret == ZONE_OK && old != new) {
		ret = diff_nodes(&d, &old->names, &new->names, true);
	}
	if (ret == ZONE_OK && old != new) {
		ret = diff_nodes(&d, &old->nsec3, &new->nsec3, false);
	}
	if (ret != ZONE_OK) {
		zone_delta_deinit(&d);
		return ret;
	}
	*out = d;
	return ZONE_OK;
}

/* ---- apply ---- */

/* One RR of the delta, made canonical, and where it goes. */
typedef struct {
	const uint8_t *owner; /* lowercased copy */
	const uint8_t *rdata; /* canonical copy */
	uint32_t ttl;
	uint32_t seq;  /* removed first, then added: the order of application */
	uint16_t type; /* the slot's type (the covered type for an RRSIG) */
	uint16_t rdlen;
	uint8_t sigs;  /* goes to the slot's RRSIGs */
	uint8_t nsec3; /* goes to the NSEC3 nodes */
	uint8_t add;
} op_t;

typedef struct {
	const zone_t *z;
	const zone_delta_t *d;
	unsigned flags;
	zone_diag_fn report;
	void *ctx;
	int status; /* first error */
	unsigned long errors, skipped;
	op_t *ops;
	size_t nops;
	uint8_t *arena;
	zone_node_t **changed; /* new nodes for zone_replace */
	size_t nchanged, changed_cap;
	zone_node_t **nsec3; /* the NSEC3 nodes of the result */
	size_t nnsec3, nsec3_cap;
} apply_t;

/* The RR of sequence number seq (removed first, then added), with the
 * list's name and its 1-based index there. */
static const zone_rr_t *rr_of(const apply_t *A, uint32_t seq, const char **file,
                              unsigned long *line)
{
	bool add = seq >= A->d->nremoved;
	size_t i = add ? seq - A->d->nremoved : seq;
	*file = add ? "added" : "removed";
	*line = i + 1;
	return add ? &A->d->added[i] : &A->d->removed[i];
}

static void areport(apply_t *A, zone_diag_level_t level, int status, uint32_t seq, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));

/* Reports a problem of the RR seq; an error's status is kept if first. */
static void areport(apply_t *A, zone_diag_level_t level, int status, uint32_t seq, const char *fmt,
                    ...)
{
	if (level == ZONE_DIAG_ERROR) {
		if (A->status == ZONE_OK) {
			A->status = status;
		}
		if (A->errors++ >= APPLY_MAX_ERRORS) {
			return;
		}
	}
	if (A->report == NULL) {
		return;
	}
	const char *file;
	unsigned long line;
	const zone_rr_t *rr = rr_of(A, seq, &file, &line);
	char nbuf[DNAME_STR_MAXLEN], tbuf[16], msg[1024], why[768];
	if (dname_to_str(rr->owner, nbuf, sizeof(nbuf)) != ZONE_OK) {
		strcpy(nbuf, "?");
	}
	zone_write_type_str(rr->type, tbuf, sizeof(tbuf));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s %s: %s", nbuf, tbuf, why);
	A->report(A->ctx, level, file, line, msg);
}

/* Types that never belong in a zone (as zone_builder). */
static bool is_meta_type(uint16_t type)
{
	return type == 0 || type == 41 || (type >= 128 && type <= 255);
}

/* Records the signer makes, skipped from an unsigned delta (as the
 * builder drops them from its input). */
static bool is_dnssec_type(uint16_t type, bool at_apex)
{
	return type == ZONE_TYPE_RRSIG || zone_type_signer_made(type) ||
	       (type == ZONE_TYPE_DS && at_apex);
}

/* Checks one RR and makes its op (canonical copies in the arena at *pos).
 * Returns false if it is dropped (error or warning reported). */
static bool make_op(apply_t *A, uint32_t seq, size_t *pos, op_t *op)
{
	const char *file;
	unsigned long line;
	const zone_rr_t *rr = rr_of(A, seq, &file, &line);
	const uint8_t *apex = A->z->apex;
	if (!dname_is_subdomain(rr->owner, apex)) {
		areport(A, ZONE_DIAG_ERROR, ZONE_ERR_OUT_OF_ZONE, seq, "outside the zone");
		return false;
	}
	if (is_meta_type(rr->type)) {
		areport(A, ZONE_DIAG_ERROR, ZONE_ERR_UNKNOWN_TYPE, seq,
		        "this type cannot be in a zone");
		return false;
	}
	if (rr->ttl > TTL_MAX) {
		areport(A, ZONE_DIAG_ERROR, ZONE_ERR_TTL, seq,
		        "TTL %lu is above 2147483647 (RFC 2181 section 8)", (unsigned long)rr->ttl);
		return false;
	}
	bool at_apex = dname_equal(rr->owner, apex);
	if (rr->type == ZONE_TYPE_SOA && !at_apex) {
		areport(A, ZONE_DIAG_ERROR, ZONE_ERR_SOA_NOT_APEX, seq,
		        "SOA record below the apex");
		return false;
	}
	bool cds = at_apex && (rr->type == ZONE_TYPE_CDS || rr->type == ZONE_TYPE_CDNSKEY);
	if ((A->flags & ZONE_APPLY_UNSIGNED) && is_dnssec_type(rr->type, at_apex) &&
	    !(cds && (A->flags & ZONE_APPLY_CDS))) {
		if (A->skipped++ < APPLY_SKIPS_NAMED) {
			areport(A, ZONE_DIAG_WARNING, ZONE_OK, seq,
			        "record skipped: the signer makes its own");
		}
		return false;
	}
	size_t olen = dname_length(rr->owner);
	uint8_t *owner = A->arena + *pos;
	memcpy(owner, rr->owner, olen);
	dname_to_lower(owner);
	uint8_t *rdata = owner + olen;
	if (rr->rdlen > 0) {
		memcpy(rdata, rr->rdata, rr->rdlen);
	}
	if (!zone_rdata_canonicalize(rr->type, rdata, rr->rdlen) ||
	    (rr->type == ZONE_TYPE_RRSIG && rr->rdlen < 18)) {
		areport(A, ZONE_DIAG_ERROR, ZONE_ERR_RDATA, seq, "malformed RDATA");
		return false;
	}
	*pos += olen + rr->rdlen;
	*op = (op_t){.owner = owner,
	             .rdata = rdata,
	             .ttl = rr->ttl,
	             .seq = seq,
	             .type = rr->type,
	             .rdlen = rr->rdlen,
	             .add = seq >= A->d->nremoved};
	if (rr->type == ZONE_TYPE_RRSIG) {
		op->sigs = 1;
		op->type = (uint16_t)(rdata[0] << 8 | rdata[1]);
		if (op->type == ZONE_TYPE_RRSIG || is_meta_type(op->type)) {
			areport(A, ZONE_DIAG_ERROR, ZONE_ERR_RDATA, seq,
			        "malformed RDATA: an RRSIG cannot cover type %u",
			        (unsigned)op->type);
			return false;
		}
	}
	op->nsec3 = op->type == ZONE_TYPE_NSEC3;
	return true;
}

/* Orders ops by list (entries, NSEC3), owner, slot type, data before
 * RRSIGs, then sequence (the order of application). */
static int op_cmp(const void *pa, const void *pb)
{
	const op_t *a = pa, *b = pb;
	if (a->nsec3 != b->nsec3) {
		return a->nsec3 < b->nsec3 ? -1 : 1;
	}
	int c = a->owner == b->owner ? 0 : dname_canonical_cmp(a->owner, b->owner);
	if (c != 0) {
		return c;
	}
	if (a->type != b->type) {
		return a->type < b->type ? -1 : 1;
	}
	if (a->sigs != b->sigs) {
		return a->sigs < b->sigs ? -1 : 1;
	}
	return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

/* Binary search of rd among the RDATAs of v[0..n) (canonical order). */
static bool find_rdata(const zone_rdata_t *v, size_t n, const uint8_t *rd, size_t len, size_t *at)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = zone_rdata_cmp(v[mid].data, v[mid].len, rd, len);
		if (c == 0) {
			*at = mid;
			return true;
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return false;
}

/* The RRset orig (may be NULL) with ops[0..n) applied: *out (a new reference,
 * orig's when nothing changes, NULL when empty), *changed. Errors are reported
 * (status left in A). */
static int apply_rrset(apply_t *A, const zone_rrset_t *orig, uint16_t type, const op_t *ops,
                       size_t n, zone_rrset_t **out, bool *changed)
{
	size_t count = orig != NULL ? orig->count : 0;
	zone_rdata_t *v = malloc((count + n + 1) * sizeof(*v));
	uint8_t *gone = calloc(count + 1, 1);
	int ret = ZONE_ERR_NOMEM;
	if (v == NULL || gone == NULL) {
		goto out;
	}
	size_t pos = 0, k = 0;
	while (orig != NULL && zone_rrset_next(orig, &pos, &v[k])) {
		k++;
	}
	size_t extra = count;
	uint32_t ttl = orig != NULL ? orig->ttl : 0;
	bool ttl_set = false;
	for (size_t i = 0; i < n; i++) {
		const op_t *op = &ops[i];
		size_t at;
		bool found = find_rdata(v, count, op->rdata, op->rdlen, &at);
		if (!op->add) {
			if (!found || gone[at]) {
				areport(A, ZONE_DIAG_ERROR, ZONE_ERR_NO_SUCH_RR, op->seq,
				        "no such record to remove");
			} else {
				gone[at] = 1;
			}
			continue;
		}
		ttl = op->ttl;
		ttl_set = true;
		if (found) {
			gone[at] = 0;
		} else {
			v[extra++] = (zone_rdata_t){op->rdata, op->rdlen};
		}
	}
	size_t kept = 0;
	for (size_t i = 0; i < count; i++) {
		if (!gone[i]) {
			v[kept++] = v[i];
		}
	}
	for (size_t i = count; i < extra; i++) {
		v[kept++] = v[i];
	}
	bool same =
	        kept == count && extra == count && (!ttl_set || orig == NULL || ttl == orig->ttl);
	*changed = !same;
	ret = ZONE_OK;
	if (same) {
		*out = zone_rrset_ref((zone_rrset_t *)orig);
	} else if (kept == 0) {
		*out = NULL;
	} else {
		ret = zone_rrset_new(type, ttl, v, kept, out);
		if (ret == ZONE_ERR_RRSET_TOO_BIG) {
			areport(A, ZONE_DIAG_ERROR, ret, ops[n - 1].seq, "RRset too big");
		}
	}
out:
	free(v);
	free(gone);
	return ret;
}

/* Index of the NSEC3 node named owner in z, or SIZE_MAX. */
/* Room for one more node in *v. */
static bool grow_nodes(zone_node_t ***v, size_t n, size_t *cap)
{
	if (n < *cap) {
		return true;
	}
	size_t c = *cap ? *cap * 2 : 16;
	zone_node_t **p = realloc(*v, c * sizeof(*p));
	if (p == NULL) {
		return false;
	}
	*v = p;
	*cap = c;
	return true;
}

/* Structural checks of a touched node's new slots; last = the seq of the
 * last op on the name, where problems are reported. */
static void check_node(apply_t *A, const zone_node_t *orig, const zone_slot_t *slots, size_t n,
                       uint32_t last, bool at_apex)
{
	bool cname = false;
	size_t others = 0;
	for (size_t i = 0; i < n; i++) {
		uint16_t t = slots[i].data->type;
		if (t == ZONE_TYPE_CNAME) {
			cname = true;
		} else if (t != ZONE_TYPE_NSEC) {
			others++; /* RRSIG and NSEC may stand beside a CNAME */
		}
		if ((t == ZONE_TYPE_CNAME || t == ZONE_TYPE_DNAME) && slots[i].data->count > 1) {
			areport(A, ZONE_DIAG_ERROR, ZONE_ERR_SINGLETON, last,
			        "the name would have more than one %s record",
			        t == ZONE_TYPE_CNAME ? "CNAME" : "DNAME");
		}
	}
	if (cname && others > 0) {
		areport(A, ZONE_DIAG_ERROR, ZONE_ERR_CNAME, last,
		        "the name would have a CNAME and other data");
	}
	if (!at_apex) {
		return;
	}
	const zone_slot_t *soa = NULL, *ns = NULL;
	for (size_t i = 0; i < n; i++) {
		soa = slots[i].data->type == ZONE_TYPE_SOA ? &slots[i] : soa;
		ns = slots[i].data->type == ZONE_TYPE_NS ? &slots[i] : ns;
	}
	if (soa == NULL) {
		areport(A, ZONE_DIAG_ERROR, ZONE_ERR_NO_SOA, last,
		        "the apex would have no SOA record");
	} else if (soa->data->count > 1) {
		areport(A, ZONE_DIAG_ERROR, ZONE_ERR_DUPLICATE_SOA, last,
		        "the apex would have more than one SOA record (remove the old one)");
	}
	if (ns == NULL && orig != NULL && zone_node_find(orig, ZONE_TYPE_NS) != NULL) {
		areport(A, ZONE_DIAG_ERROR, ZONE_ERR_NO_APEX_NS, last,
		        "the apex would have no NS records");
	}
}

/* Applies the ops of one owner (ops[0..n), sorted by type then seq) to its
 * node: a new node into A->changed (or the NSEC3 list), or nothing if it
 * comes out the same. */
static int apply_owner(apply_t *A, const op_t *ops, size_t n)
{
	const zone_t *z = A->z;
	const uint8_t *owner = ops[0].owner;
	bool nsec3 = ops[0].nsec3;
	const zone_node_t *orig = NULL;
	size_t at = SIZE_MAX;
	if (nsec3) {
		orig = zone_find_nsec3(z, owner, &at) ? zone_nsec3_node(z, at) : NULL;
	} else if (zone_find(z, owner, &at)) {
		orig = zone_entry(z, at)->node;
	}
	size_t norig = orig != NULL ? orig->nslots : 0;
	/* Slots: the original's and the touched types, merged by type. */
	size_t ntypes = 0;
	for (size_t i = 0; i < n; i++) {
		ntypes += i == 0 || ops[i].type != ops[i - 1].type;
	}
	zone_slot_t *slots = malloc((norig + ntypes + 1) * sizeof(*slots));
	if (slots == NULL) {
		return ZONE_ERR_NOMEM;
	}
	size_t ns = 0, si = 0, oi = 0;
	bool any = false;
	int ret = ZONE_OK;
	while ((si < norig || oi < n) && ret == ZONE_OK) {
		const zone_slot_t *s = si < norig ? &orig->slots[si] : NULL;
		uint16_t type = oi < n ? ops[oi].type : 0;
		if (s != NULL && (oi >= n || s->data->type < type)) {
			/* untouched */
			slots[ns].data = zone_rrset_ref(s->data);
			slots[ns].sigs = zone_rrset_ref(s->sigs);
			ns++;
			si++;
			continue;
		}
		if (s != NULL && s->data->type != type) {
			s = NULL;
		}
		si += s != NULL;
		size_t d0 = oi, d1 = oi;
		while (d1 < n && ops[d1].type == type && !ops[d1].sigs) {
			d1++;
		}
		size_t g1 = d1;
		while (g1 < n && ops[g1].type == type) {
			g1++;
		}
		oi = g1;
		zone_rrset_t *data = NULL, *sigs = NULL;
		bool dch = false, gch = false;
		ret = apply_rrset(A, s != NULL ? s->data : NULL, type, ops + d0, d1 - d0, &data,
		                  &dch);
		if (ret == ZONE_OK) {
			ret = apply_rrset(A, s != NULL ? s->sigs : NULL, ZONE_TYPE_RRSIG, ops + d1,
			                  g1 - d1, &sigs, &gch);
		}
		if (ret != ZONE_OK) {
			zone_rrset_unref(data);
			zone_rrset_unref(sigs);
			break;
		}
		if (dch && (A->flags & ZONE_APPLY_UNSIGNED)) {
			zone_rrset_unref(sigs);
			sigs = NULL;
			gch = s != NULL && s->sigs != NULL;
		}
		any = any || dch || gch;
		if (data == NULL) {
			if (sigs != NULL) {
				areport(A, ZONE_DIAG_ERROR, ZONE_ERR_ORPHAN_RRSIG, ops[g1 - 1].seq,
				        "RRSIGs would be left over a type the name does not have");
				zone_rrset_unref(sigs);
			}
			continue;
		}
		slots[ns].data = data;
		slots[ns].sigs = sigs;
		ns++;
	}
	uint32_t last = 0;
	for (size_t i = 0; i < n; i++) {
		last = ops[i].seq > last ? ops[i].seq : last;
	}
	if (ret == ZONE_OK && any && !nsec3) {
		check_node(A, orig, slots, ns, last, dname_equal(owner, z->apex));
	}
	zone_node_t *node = NULL;
	if (ret == ZONE_OK && any && A->status == ZONE_OK) {
		ret = zone_node_new(owner, ns > 0 ? slots : NULL, ns, &node);
	}
	for (size_t i = 0; i < ns; i++) {
		zone_rrset_unref(slots[i].data);
		zone_rrset_unref(slots[i].sigs);
	}
	free(slots);
	if (node == NULL) {
		return ret;
	}
	if (nsec3) {
		/* In place of the old node (an empty one removes it). */
		if (!grow_nodes(&A->nsec3, A->nnsec3, &A->nsec3_cap)) {
			zone_node_unref(node);
			return ZONE_ERR_NOMEM;
		}
		A->nsec3[A->nnsec3++] = node;
		return ZONE_OK;
	}
	if (!grow_nodes(&A->changed, A->nchanged, &A->changed_cap)) {
		zone_node_unref(node);
		return ZONE_ERR_NOMEM;
	}
	A->changed[A->nchanged++] = node;
	return ZONE_OK;
}

/* Drops what an apply still holds. */
static void apply_free(apply_t *A)
{
	for (size_t i = 0; i < A->nchanged; i++) {
		zone_node_unref(A->changed[i]);
	}
	for (size_t i = 0; i < A->nnsec3; i++) {
		zone_node_unref(A->nsec3[i]);
	}
	free(A->changed);
	free(A->nsec3);
	free(A->ops);
	free(A->arena);
}

/* Makes the result: z with the changed nodes and NSEC3 nodes. */
static int finish(apply_t *A, zone_t **out)
{
	uint8_t bad[DNAME_MAXLEN];
	int ret = zone_update(A->z, A->changed, A->nchanged, A->nsec3, A->nnsec3, out, bad, NULL);
	A->nchanged = 0; /* taken over */
	A->nnsec3 = 0;
	return ret;
}

int zone_delta_apply(const zone_t *z, const zone_delta_t *d, unsigned flags, zone_diag_fn report,
                     void *ctx, zone_t **out)
{
	if ((flags & (ZONE_APPLY_UNSIGNED | ZONE_APPLY_SIGNED)) == 0 ||
	    (flags & (ZONE_APPLY_UNSIGNED | ZONE_APPLY_SIGNED)) ==
	            (ZONE_APPLY_UNSIGNED | ZONE_APPLY_SIGNED) ||
	    z->count == 0) {
		return ZONE_ERR_INVAL;
	}
	apply_t A = {.z = z, .d = d, .flags = flags, .report = report, .ctx = ctx};
	size_t total = d->nremoved + d->nadded, bytes = 0;
	if (total > UINT32_MAX) {
		return ZONE_ERR_INVAL;
	}
	for (uint32_t s = 0; s < total; s++) {
		const char *file;
		unsigned long line;
		const zone_rr_t *rr = rr_of(&A, s, &file, &line);
		bytes += dname_length(rr->owner) + rr->rdlen;
	}
	int ret = ZONE_ERR_NOMEM;
	A.ops = malloc((total + 1) * sizeof(*A.ops));
	A.arena = malloc(bytes + 1);
	if (A.ops == NULL || A.arena == NULL) {
		goto out;
	}
	size_t pos = 0;
	for (uint32_t s = 0; s < total; s++) {
		if (make_op(&A, s, &pos, &A.ops[A.nops])) {
			A.nops++;
		}
	}
	if (A.skipped > APPLY_SKIPS_NAMED && report != NULL) {
		char msg[128];
		snprintf(msg, sizeof(msg),
		         "%lu DNSSEC records skipped in all (the first %d named above): the "
		         "signer makes its own",
		         A.skipped, APPLY_SKIPS_NAMED);
		report(ctx, ZONE_DIAG_WARNING, d->nadded > 0 ? "added" : "removed", 0, msg);
	}
	ret = A.status;
	if (ret != ZONE_OK) {
		goto out;
	}
	qsort(A.ops, A.nops, sizeof(*A.ops), op_cmp);
	for (size_t i = 0; i < A.nops && ret == ZONE_OK;) {
		size_t j = i + 1;
		while (j < A.nops && A.ops[j].nsec3 == A.ops[i].nsec3 &&
		       dname_equal(A.ops[j].owner, A.ops[i].owner)) {
			j++;
		}
		ret = apply_owner(&A, A.ops + i, j - i);
		i = j;
	}
	if (ret == ZONE_OK) {
		ret = A.status;
	}
	if (ret == ZONE_OK) {
		ret = finish(&A, out);
	}
out:
	apply_free(&A);
	return ret;
}
