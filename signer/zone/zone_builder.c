#include "signer/zone/zone_builder.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_node.h"
#include "signer/zone/zone_write.h"

#define TTL_MAX 0x7fffffffu /* RFC 2181 section 8 */
/* Kinds of records dropped from the input, and how many of each are named in
 * a warning of their own. */
#define DROPPED_KINDS 8
#define DROPPED_NAMED 5

/* One record as kept until finishing: indexes into the builder's arrays. */
typedef struct {
	uint32_t owner; /* index into owners */
	uint32_t rdata; /* offset into data */
	uint16_t rdlen;
	uint16_t type;
	uint32_t ttl;
	uint32_t line;
	uint32_t file; /* index into files */
} rec_t;

/* One run of records with one owner (names may repeat across runs). */
typedef struct {
	uint32_t off; /* offset into names */
	uint8_t len;
} owner_t;

/* A growing array of bytes or of elements. */
typedef struct {
	void *v;
	size_t n, cap; /* in elements */
} vec_t;

struct zone_builder {
	uint8_t apex[DNAME_MAXLEN];
	zone_builder_mode_t mode;
	char *name;
	zone_diag_fn report;
	void *ctx;

	vec_t recs;   /* rec_t */
	vec_t owners; /* owner_t */
	vec_t names;  /* uint8_t: owners, lowercased wire form */
	vec_t data;   /* uint8_t: RDATA, canonical */
	vec_t files;  /* char *: file names, owned */
	size_t last_file;

	bool have_soa;
	uint32_t soa_file, soa_line;
	unsigned long dropped[DROPPED_KINDS]; /* records dropped, by kind */
	int status;                           /* first error */
	unsigned long errors, warnings;
	bool stopped;
};

/* Makes room for extra more elements of size each. */
static bool vec_reserve(vec_t *v, size_t size, size_t extra)
{
	if (v->cap - v->n >= extra) {
		return true;
	}
	size_t cap = v->cap ? v->cap : 64;
	while (cap - v->n < extra) {
		if (cap > SIZE_MAX / 2 / size) {
			return false;
		}
		cap *= 2;
	}
	void *p = realloc(v->v, cap * size);
	if (p == NULL) {
		return false;
	}
	v->v = p;
	v->cap = cap;
	return true;
}

static void vreport(zone_builder_t *b, zone_diag_level_t level, const char *file,
                    unsigned long line, const char *fmt, va_list ap)
        __attribute__((format(printf, 5, 0)));

static void vreport(zone_builder_t *b, zone_diag_level_t level, const char *file,
                    unsigned long line, const char *fmt, va_list ap)
{
	if (b->report == NULL) {
		return;
	}
	char msg[2048];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	b->report(b->ctx, level, file, line, msg);
}

void zone_builder_error(zone_builder_t *b, int status, const char *file, unsigned long line,
                        const char *fmt, ...)
{
	if (b->status == ZONE_OK) {
		b->status = status < 0 ? status : ZONE_ERR_INVAL;
	}
	if (b->stopped) {
		return;
	}
	b->errors++;
	va_list ap;
	va_start(ap, fmt);
	vreport(b, ZONE_DIAG_ERROR, file, line, fmt, ap);
	va_end(ap);
	if (status == ZONE_ERR_NOMEM || b->errors >= ZONE_BUILDER_MAX_ERRORS) {
		b->stopped = true;
		if (status != ZONE_ERR_NOMEM && b->report != NULL) {
			char msg[128];
			snprintf(msg, sizeof(msg), "too many errors (%d); giving up",
			         ZONE_BUILDER_MAX_ERRORS);
			b->report(b->ctx, ZONE_DIAG_ERROR, file, line, msg);
		}
	}
}

void zone_builder_warning(zone_builder_t *b, const char *file, unsigned long line, const char *fmt,
                          ...)
{
	if (b->stopped || b->warnings++ >= ZONE_BUILDER_MAX_WARNINGS) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vreport(b, ZONE_DIAG_WARNING, file, line, fmt, ap);
	va_end(ap);
}

int zone_builder_new(const uint8_t *apex, zone_builder_mode_t mode, const char *name,
                     zone_diag_fn report, void *ctx, zone_builder_t **out)
{
	zone_builder_t *b = calloc(1, sizeof(*b));
	if (b == NULL) {
		return ZONE_ERR_NOMEM;
	}
	b->name = strdup(name != NULL ? name : "(zone)");
	if (b->name == NULL) {
		free(b);
		return ZONE_ERR_NOMEM;
	}
	memcpy(b->apex, apex, dname_length(apex));
	dname_to_lower(b->apex);
	b->mode = mode;
	b->report = report;
	b->ctx = ctx;
	b->last_file = SIZE_MAX;
	*out = b;
	return ZONE_OK;
}

void zone_builder_free(zone_builder_t *b)
{
	if (b == NULL) {
		return;
	}
	char **files = b->files.v;
	for (size_t i = 0; i < b->files.n; i++) {
		free(files[i]);
	}
	free(b->files.v);
	free(b->recs.v);
	free(b->owners.v);
	free(b->names.v);
	free(b->data.v);
	free(b->name);
	free(b);
}

bool zone_builder_stopped(const zone_builder_t *b)
{
	return b->stopped;
}

int zone_builder_status(const zone_builder_t *b)
{
	return b->status;
}

size_t zone_builder_count(const zone_builder_t *b)
{
	return b->recs.n;
}

static const char *file_name(const zone_builder_t *b, uint32_t file)
{
	return ((char *const *)b->files.v)[file];
}

/* Index of file in the file table, added if new; SIZE_MAX when out of memory. */
static size_t intern_file(zone_builder_t *b, const char *file)
{
	char **files = b->files.v;
	if (b->last_file != SIZE_MAX && strcmp(files[b->last_file], file) == 0) {
		return b->last_file;
	}
	for (size_t i = 0; i < b->files.n; i++) {
		if (strcmp(files[i], file) == 0) {
			return b->last_file = i;
		}
	}
	char *copy = strdup(file);
	if (copy == NULL || !vec_reserve(&b->files, sizeof(char *), 1)) {
		free(copy);
		return SIZE_MAX;
	}
	files = b->files.v;
	files[b->files.n] = copy;
	return b->last_file = b->files.n++;
}

/* Name in presentation form into buf (DNAME_STR_MAXLEN). */
static const char *name_str(const uint8_t *name, char *buf)
{
	if (dname_to_str(name, buf, DNAME_STR_MAXLEN) != ZONE_OK) {
		strcpy(buf, "?");
	}
	return buf;
}

static const char *type_str(uint16_t type, char *buf)
{
	zone_write_type_str(type, buf, 16);
	return buf;
}

/* Records the signer makes itself, dropped from its input: DNSKEY, RRSIG,
 * NSEC, NSEC3, NSEC3PARAM, CDS, CDNSKEY and a DS at the apex. The index of
 * the kind, or -1 for a record that stays. */
static const uint16_t dropped_types[DROPPED_KINDS] = {
        ZONE_TYPE_DNSKEY,     ZONE_TYPE_RRSIG, ZONE_TYPE_NSEC,    ZONE_TYPE_NSEC3,
        ZONE_TYPE_NSEC3PARAM, ZONE_TYPE_CDS,   ZONE_TYPE_CDNSKEY, ZONE_TYPE_DS,
};

static int dropped_kind(uint16_t type, bool at_apex)
{
	for (int i = 0; i < DROPPED_KINDS; i++) {
		if (dropped_types[i] == type && (type != ZONE_TYPE_DS || at_apex)) {
			return i;
		}
	}
	return -1;
}

/* Types that never belong in a zone: 0, OPT and the meta and query types
 * (RFC 6895 section 3.1: 128-255). */
static bool is_meta_type(uint16_t type)
{
	return type == 0 || type == 41 || (type >= 128 && type <= 255);
}

/* Checks a record against the zone before it is kept. Returns ZONE_OK to keep
 * it, 1 to drop it (warned), or the status of the error reported. */
static int check_record(zone_builder_t *b, const uint8_t *owner, uint16_t type, uint16_t rclass,
                        uint32_t ttl, const char *file, unsigned long line)
{
	char nbuf[DNAME_STR_MAXLEN], abuf[DNAME_STR_MAXLEN], tbuf[16];
	if (rclass != 1) {
		zone_builder_error(b, ZONE_ERR_CLASS, file, line,
		                   "class %u is not supported: the zone is class IN",
		                   (unsigned)rclass);
		return ZONE_ERR_CLASS;
	}
	if (ttl > TTL_MAX) {
		zone_builder_error(b, ZONE_ERR_TTL, file, line,
		                   "TTL %lu is above 2147483647 (RFC 2181 section 8)",
		                   (unsigned long)ttl);
		return ZONE_ERR_TTL;
	}
	if (!dname_is_subdomain(owner, b->apex)) {
		zone_builder_error(b, ZONE_ERR_OUT_OF_ZONE, file, line, "%s is outside the zone %s",
		                   name_str(owner, nbuf), name_str(b->apex, abuf));
		return ZONE_ERR_OUT_OF_ZONE;
	}
	if (is_meta_type(type)) {
		zone_builder_error(b, ZONE_ERR_UNKNOWN_TYPE, file, line,
		                   "type %s cannot be in a zone", type_str(type, tbuf));
		return ZONE_ERR_UNKNOWN_TYPE;
	}
	bool at_apex = dname_equal(owner, b->apex);
	if (b->mode == ZONE_BUILDER_DNSKEYS) {
		if (type != ZONE_TYPE_DNSKEY || !at_apex) {
			zone_builder_error(b, ZONE_ERR_NOT_DNSKEY, file, line,
			                   "%s %s: a DNSKEY file holds only DNSKEY records at %s",
			                   name_str(owner, nbuf), type_str(type, tbuf),
			                   name_str(b->apex, abuf));
			return ZONE_ERR_NOT_DNSKEY;
		}
		return ZONE_OK;
	}
	int kind = dropped_kind(type, at_apex);
	if (kind >= 0) {
		/* A signed zone as input has many: the first few of each type
		 * are named, the rest counted (see summarize_warnings). */
		if (b->dropped[kind]++ < DROPPED_NAMED) {
			zone_builder_warning(b, file, line,
			                     "%s %s record dropped: the signer makes its own",
			                     name_str(owner, nbuf), type_str(type, tbuf));
		}
		return 1;
	}
	if (type == ZONE_TYPE_SOA) {
		if (!at_apex) {
			zone_builder_error(b, ZONE_ERR_SOA_NOT_APEX, file, line,
			                   "SOA record at %s, not at the apex %s",
			                   name_str(owner, nbuf), name_str(b->apex, abuf));
			return ZONE_ERR_SOA_NOT_APEX;
		}
		if (b->have_soa) {
			zone_builder_error(b, ZONE_ERR_DUPLICATE_SOA, file, line,
			                   "second SOA record (the first is at %s:%lu)",
			                   file_name(b, b->soa_file), (unsigned long)b->soa_line);
			return ZONE_ERR_DUPLICATE_SOA;
		}
	}
	return ZONE_OK;
}

int zone_builder_add(zone_builder_t *b, const uint8_t *owner, uint16_t type, uint16_t rclass,
                     uint32_t ttl, const uint8_t *rdata, size_t rdlen, const char *file,
                     unsigned long line)
{
	if (file == NULL) {
		file = b->name;
	}
	int ret = check_record(b, owner, type, rclass, ttl, file, line);
	if (ret != ZONE_OK) {
		return ret > 0 ? ZONE_OK : ret;
	}
	size_t fi = intern_file(b, file);
	size_t olen = dname_length(owner);
	if (fi == SIZE_MAX || rdlen > 65535 || b->data.n + rdlen > UINT32_MAX ||
	    b->names.n + olen > UINT32_MAX || b->recs.n >= UINT32_MAX ||
	    !vec_reserve(&b->recs, sizeof(rec_t), 1) || !vec_reserve(&b->data, 1, rdlen) ||
	    !vec_reserve(&b->names, 1, olen) || !vec_reserve(&b->owners, sizeof(owner_t), 1)) {
		zone_builder_error(b, ZONE_ERR_NOMEM, file, line, "out of memory");
		return ZONE_ERR_NOMEM;
	}
	/* The owner, lowercased, shared with the previous record if the same. */
	uint8_t *name = (uint8_t *)b->names.v + b->names.n;
	memcpy(name, owner, olen);
	dname_to_lower(name);
	owner_t *owners = b->owners.v;
	if (b->owners.n == 0 || owners[b->owners.n - 1].len != olen ||
	    memcmp((uint8_t *)b->names.v + owners[b->owners.n - 1].off, name, olen) != 0) {
		owners[b->owners.n++] = (owner_t){(uint32_t)b->names.n, (uint8_t)olen};
		b->names.n += olen;
	}
	uint8_t *rd = (uint8_t *)b->data.v + b->data.n;
	if (rdlen > 0) {
		memcpy(rd, rdata, rdlen);
	}
	if (!zone_rdata_canonicalize(type, rd, rdlen)) {
		char tbuf[16];
		zone_builder_error(b, ZONE_ERR_RDATA, file, line, "malformed %s RDATA",
		                   type_str(type, tbuf));
		return ZONE_ERR_RDATA;
	}
	if (type == ZONE_TYPE_SOA) {
		b->have_soa = true;
		b->soa_file = (uint32_t)fi;
		b->soa_line = (uint32_t)line;
	}
	rec_t *r = (rec_t *)b->recs.v + b->recs.n++;
	*r = (rec_t){
	        .owner = (uint32_t)(b->owners.n - 1),
	        .rdata = (uint32_t)b->data.n,
	        .rdlen = (uint16_t)rdlen,
	        .type = type,
	        .ttl = ttl,
	        .line = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line,
	        .file = (uint32_t)fi,
	};
	b->data.n += rdlen;
	return ZONE_OK;
}

/* ---- finishing ---- */

/* State of one finish() run: the records in (owner, type, input) order. */
typedef struct {
	zone_builder_t *b;
	uint32_t *order;    /* record indexes, grouped by owner then type */
	uint32_t *owner_of; /* record index -> unique owner id */
	size_t nunique;
	uint32_t *first_owner; /* unique id -> one owner_t index with that name */
	zone_rdata_t *rdatas;  /* scratch for one RRset */
	size_t rdatas_cap;
	zone_slot_t *slots; /* scratch for one node */
	size_t slots_cap;
	uint64_t *keys; /* scratch for sorting one node's records by type */
	size_t keys_cap;
} fin_t;

/* Sort key of a name: labels from the root, each octet written as itself
 * (0x00 and 0x01 as 0x01 0x01 and 0x01 0x02) and ended with 0x00, so that
 * memcmp on keys gives the canonical order of RFC 4034 section 6.1 for
 * lowercased names. */
static size_t sort_key(const uint8_t *name, uint8_t *key)
{
	const uint8_t *labels[DNAME_MAXLABELS + 1];
	int n = 0;
	for (const uint8_t *p = name; *p != 0; p += 1u + *p) {
		labels[n++] = p;
	}
	size_t k = 0;
	while (n-- > 0) {
		const uint8_t *l = labels[n];
		for (size_t i = 1; i <= l[0]; i++) {
			if (l[i] <= 1) {
				key[k++] = 1;
				key[k++] = (uint8_t)(l[i] + 1);
			} else {
				key[k++] = l[i];
			}
		}
		key[k++] = 0;
	}
	return k;
}

typedef struct {
	const uint8_t *key;
	uint32_t len;
	uint32_t owner; /* owner_t index */
} okey_t;

static int key_cmp(const void *pa, const void *pb)
{
	const okey_t *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->key, b->key, n);
	if (c != 0) {
		return c;
	}
	if (a->len != b->len) {
		return a->len < b->len ? -1 : 1;
	}
	return a->owner < b->owner ? -1 : (a->owner > b->owner);
}

/* Gives each distinct owner name an id in canonical order. */
static int number_owners(fin_t *f)
{
	zone_builder_t *b = f->b;
	size_t n = b->owners.n;
	const owner_t *owners = b->owners.v;
	okey_t *keys = malloc((n + 1) * sizeof(*keys));
	uint8_t *arena = malloc(2 * b->names.n + 1);
	uint32_t *id_of = malloc((n + 1) * sizeof(*id_of));
	int ret = ZONE_ERR_NOMEM;
	if (keys == NULL || arena == NULL || id_of == NULL) {
		goto out;
	}
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = sort_key((const uint8_t *)b->names.v + owners[i].off, arena + off);
		keys[i] = (okey_t){arena + off, (uint32_t)len, (uint32_t)i};
		off += len;
	}
	qsort(keys, n, sizeof(*keys), key_cmp);
	f->first_owner = malloc((n + 1) * sizeof(*f->first_owner));
	if (f->first_owner == NULL) {
		goto out;
	}
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && (keys[i].len != keys[i - 1].len ||
		              memcmp(keys[i].key, keys[i - 1].key, keys[i].len) != 0)) {
			u++;
		}
		if (i == 0 || u != id_of[keys[i - 1].owner]) {
			f->first_owner[u] = keys[i].owner;
		}
		id_of[keys[i].owner] = (uint32_t)u;
	}
	f->nunique = n > 0 ? u + 1 : 0;
	/* Records grouped by owner id, input order kept (a counting sort). */
	size_t nrec = b->recs.n;
	const rec_t *recs = b->recs.v;
	size_t *start = calloc(f->nunique + 1, sizeof(*start));
	f->order = malloc((nrec + 1) * sizeof(*f->order));
	f->owner_of = malloc((nrec + 1) * sizeof(*f->owner_of));
	if (start == NULL || f->order == NULL || f->owner_of == NULL) {
		free(start);
		goto out;
	}
	for (size_t i = 0; i < nrec; i++) {
		f->owner_of[i] = id_of[recs[i].owner];
		start[f->owner_of[i] + 1]++;
	}
	for (size_t i = 0; i < f->nunique; i++) {
		start[i + 1] += start[i];
	}
	for (size_t i = 0; i < nrec; i++) {
		f->order[start[f->owner_of[i]]++] = (uint32_t)i;
	}
	free(start);
	ret = ZONE_OK;
out:
	free(keys);
	free(arena);
	free(id_of);
	return ret;
}

static const rec_t *recs_of(const fin_t *f)
{
	return f->b->recs.v;
}

static const uint8_t *owner_name(const fin_t *f, uint32_t unique)
{
	const owner_t *o = (const owner_t *)f->b->owners.v + f->first_owner[unique];
	return (const uint8_t *)f->b->names.v + o->off;
}

static int u64_cmp(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
	return a < b ? -1 : (a > b);
}

/* Sorts the record indexes v[0..n) by type, keeping input order within a
 * type. */
static int sort_by_type(fin_t *f, uint32_t *v, size_t n)
{
	const rec_t *recs = recs_of(f);
	if (n <= 16) {
		for (size_t i = 1; i < n; i++) {
			uint32_t x = v[i];
			size_t j = i;
			while (j > 0 && (recs[v[j - 1]].type > recs[x].type ||
			                 (recs[v[j - 1]].type == recs[x].type && v[j - 1] > x))) {
				v[j] = v[j - 1];
				j--;
			}
			v[j] = x;
		}
		return ZONE_OK;
	}
	if (n > f->keys_cap) {
		uint64_t *p = realloc(f->keys, n * sizeof(*p));
		if (p == NULL) {
			return ZONE_ERR_NOMEM;
		}
		f->keys = p;
		f->keys_cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		f->keys[i] = (uint64_t)recs[v[i]].type << 32 | v[i];
	}
	qsort(f->keys, n, sizeof(*f->keys), u64_cmp);
	for (size_t i = 0; i < n; i++) {
		v[i] = (uint32_t)f->keys[i];
	}
	return ZONE_OK;
}

/* Makes the RRset of recs order[0..n) (one owner, one type). */
static int make_rrset(fin_t *f, const uint8_t *owner, const uint32_t *v, size_t n,
                      zone_rrset_t **out)
{
	zone_builder_t *b = f->b;
	const rec_t *recs = recs_of(f);
	if (n > f->rdatas_cap) {
		zone_rdata_t *p = realloc(f->rdatas, n * sizeof(*p));
		if (p == NULL) {
			return ZONE_ERR_NOMEM;
		}
		f->rdatas = p;
		f->rdatas_cap = n;
	}
	const rec_t *first = &recs[v[0]];
	uint32_t ttl = first->ttl;
	const rec_t *differs = NULL;
	for (size_t i = 0; i < n; i++) {
		const rec_t *r = &recs[v[i]];
		f->rdatas[i] = (zone_rdata_t){(const uint8_t *)b->data.v + r->rdata, r->rdlen};
		if (r->ttl < ttl) {
			ttl = r->ttl;
		}
		if (differs == NULL && r->ttl != first->ttl) {
			differs = r;
		}
	}
	char nbuf[DNAME_STR_MAXLEN], tbuf[16];
	if (differs != NULL) {
		zone_builder_warning(b, file_name(b, differs->file), differs->line,
		                     "%s %s: TTL %lu differs from TTL %lu at %s:%lu; the RRset "
		                     "gets the lowest TTL, %lu",
		                     name_str(owner, nbuf), type_str(first->type, tbuf),
		                     (unsigned long)differs->ttl, (unsigned long)first->ttl,
		                     file_name(b, first->file), (unsigned long)first->line,
		                     (unsigned long)ttl);
	}
	int ret = zone_rrset_new(first->type, ttl, f->rdatas, n, out);
	if (ret == ZONE_ERR_RRSET_TOO_BIG) {
		zone_builder_error(b, ret, file_name(b, first->file), first->line,
		                   "%s %s: RRset too big (%zu records)", name_str(owner, nbuf),
		                   type_str(first->type, tbuf), n);
	}
	return ret;
}

/* The first record of type in v[0..n) (sorted by type), or NULL. */
static const rec_t *find_type(const rec_t *recs, const uint32_t *v, size_t n, uint16_t type)
{
	for (size_t i = 0; i < n; i++) {
		if (recs[v[i]].type == type) {
			return &recs[v[i]];
		}
	}
	return NULL;
}

/* Node checks that need all of a name's records. */
static void check_node(fin_t *f, const uint8_t *owner, const uint32_t *v, size_t n,
                       zone_slot_t *slots, size_t nslots)
{
	zone_builder_t *b = f->b;
	const rec_t *recs = recs_of(f);
	char nbuf[DNAME_STR_MAXLEN], tbuf[16];
	const rec_t *cname = find_type(recs, v, n, ZONE_TYPE_CNAME);
	if (cname != NULL && nslots > 1) {
		/* The first other record in input order; the error goes to the
		 * later of it and the CNAME, where the conflict appeared. */
		uint32_t ci = (uint32_t)(cname - recs), oi = UINT32_MAX;
		for (size_t i = 0; i < n; i++) {
			if (recs[v[i]].type != ZONE_TYPE_CNAME && v[i] < oi) {
				oi = v[i];
			}
		}
		const rec_t *at = &recs[oi > ci ? oi : ci], *then = &recs[oi > ci ? ci : oi];
		char tbuf2[16];
		zone_builder_error(b, ZONE_ERR_CNAME, file_name(b, at->file), at->line,
		                   "%s has a CNAME and other data (%s here, %s at %s:%lu)",
		                   name_str(owner, nbuf), type_str(at->type, tbuf),
		                   type_str(then->type, tbuf2), file_name(b, then->file),
		                   (unsigned long)then->line);
	}
	for (size_t i = 0; i < nslots; i++) {
		uint16_t t = slots[i].data->type;
		if ((t == ZONE_TYPE_CNAME || t == ZONE_TYPE_DNAME) && slots[i].data->count > 1) {
			const rec_t *r = find_type(recs, v, n, t);
			/* The second record of the type: the one that is too many. */
			for (size_t k = 0; k < n; k++) {
				if (recs[v[k]].type == t && &recs[v[k]] != r) {
					r = &recs[v[k]];
					break;
				}
			}
			zone_builder_error(b, ZONE_ERR_SINGLETON, file_name(b, r->file), r->line,
			                   "%s has more than one %s record", name_str(owner, nbuf),
			                   type_str(t, tbuf));
		}
	}
	bool at_apex = dname_equal(owner, b->apex);
	const rec_t *ds = find_type(recs, v, n, ZONE_TYPE_DS);
	if (!at_apex && ds != NULL && find_type(recs, v, n, ZONE_TYPE_NS) == NULL) {
		zone_builder_warning(b, file_name(b, ds->file), ds->line,
		                     "DS at %s without NS: a DS belongs at a delegation point",
		                     name_str(owner, nbuf));
	}
	if (at_apex && b->have_soa && find_type(recs, v, n, ZONE_TYPE_NS) == NULL) {
		/* A warning, not an error: such zones exist in test suites (NSD's
		 * svcb zone) and sign and validate; no resolver can reach them
		 * through a delegation, though. */
		zone_builder_warning(b, file_name(b, b->soa_file), b->soa_line,
		                     "the apex %s has no NS records", name_str(owner, nbuf));
	}
}

/* Makes the node of one owner from its records v[0..n). *out stays NULL if
 * the records were refused (errors reported). */
static int make_node(fin_t *f, uint32_t unique, uint32_t *v, size_t n, zone_node_t **out)
{
	const rec_t *recs = recs_of(f);
	const uint8_t *owner = owner_name(f, unique);
	if (sort_by_type(f, v, n) != ZONE_OK) {
		return ZONE_ERR_NOMEM;
	}
	size_t ntypes = 0;
	for (size_t i = 0; i < n; i++) {
		ntypes += i == 0 || recs[v[i]].type != recs[v[i - 1]].type;
	}
	if (ntypes > f->slots_cap) {
		zone_slot_t *p = realloc(f->slots, ntypes * sizeof(*p));
		if (p == NULL) {
			return ZONE_ERR_NOMEM;
		}
		f->slots = p;
		f->slots_cap = ntypes;
	}
	size_t nslots = 0;
	int ret = ZONE_OK;
	for (size_t i = 0; i < n && ret == ZONE_OK;) {
		size_t j = i + 1;
		while (j < n && recs[v[j]].type == recs[v[i]].type) {
			j++;
		}
		zone_rrset_t *rrset = NULL;
		ret = make_rrset(f, owner, v + i, j - i, &rrset);
		if (ret == ZONE_OK) {
			f->slots[nslots++] = (zone_slot_t){rrset, NULL};
		}
		i = j;
	}
	if (ret == ZONE_OK) {
		check_node(f, owner, v, n, f->slots, nslots);
		if (f->b->status == ZONE_OK) {
			ret = zone_node_new(owner, f->slots, nslots, out);
		}
	}
	for (size_t i = 0; i < nslots; i++) {
		zone_rrset_unref(f->slots[i].data);
	}
	return ret == ZONE_ERR_RRSET_TOO_BIG ? ZONE_OK : ret;
}

static void fin_free(fin_t *f)
{
	free(f->order);
	free(f->owner_of);
	free(f->first_owner);
	free(f->rdatas);
	free(f->slots);
	free(f->keys);
}

/* Groups the records into nodes: *nodes (free(), each unref'd) of *n. */
static int make_nodes(zone_builder_t *b, zone_node_t ***nodes, size_t *count)
{
	fin_t f = {.b = b};
	zone_node_t **v = NULL;
	size_t nv = 0;
	int ret = number_owners(&f);
	if (ret != ZONE_OK) {
		goto out;
	}
	v = malloc((f.nunique + 1) * sizeof(*v));
	if (v == NULL) {
		ret = ZONE_ERR_NOMEM;
		goto out;
	}
	size_t nrec = b->recs.n;
	for (size_t i = 0; i < nrec && ret == ZONE_OK;) {
		size_t j = i + 1;
		uint32_t u = f.owner_of[f.order[i]];
		while (j < nrec && f.owner_of[f.order[j]] == u) {
			j++;
		}
		zone_node_t *node = NULL;
		ret = make_node(&f, u, f.order + i, j - i, &node);
		if (node != NULL) {
			v[nv++] = node;
		}
		i = j;
	}
out:
	fin_free(&f);
	if (ret == ZONE_OK) {
		*nodes = v;
		*count = nv;
	} else {
		for (size_t i = 0; i < nv; i++) {
			zone_node_unref(v[i]);
		}
		free(v);
	}
	return ret;
}

static void summarize_warnings(zone_builder_t *b)
{
	char tbuf[16];
	for (int i = 0; i < DROPPED_KINDS; i++) {
		if (b->dropped[i] > DROPPED_NAMED) {
			zone_builder_warning(b, b->name, 0,
			                     "%lu %s records dropped in all (the first %d named "
			                     "above): the signer makes its own",
			                     b->dropped[i], type_str(dropped_types[i], tbuf),
			                     DROPPED_NAMED);
		}
	}
	if (b->warnings > ZONE_BUILDER_MAX_WARNINGS && b->report != NULL && !b->stopped) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%lu more warnings not shown",
		         b->warnings - ZONE_BUILDER_MAX_WARNINGS);
		b->report(b->ctx, ZONE_DIAG_WARNING, b->name, 0, msg);
	}
}

int zone_builder_finish(zone_builder_t *b, zone_t **out)
{
	if (b->mode != ZONE_BUILDER_ZONE) {
		return ZONE_ERR_INVAL;
	}
	char abuf[DNAME_STR_MAXLEN];
	if (!b->have_soa && !b->stopped) {
		const rec_t *recs = b->recs.v;
		zone_builder_error(b, ZONE_ERR_NO_SOA,
		                   b->recs.n > 0 ? file_name(b, recs[0].file) : b->name,
		                   b->recs.n > 0 ? recs[0].line : 0,
		                   "the zone %s has no SOA record (first record here)",
		                   name_str(b->apex, abuf));
	}
	zone_node_t **nodes = NULL;
	size_t n = 0;
	int ret = b->status;
	if (ret == ZONE_OK || !b->stopped) {
		/* Even after an error, the node checks still report what they
		 * find (unless the builder gave up). */
		int r = make_nodes(b, &nodes, &n);
		if (r != ZONE_OK && b->status == ZONE_OK) {
			if (r == ZONE_ERR_NOMEM) {
				zone_builder_error(b, r, b->name, 0, "out of memory");
			}
			b->status = r;
		}
		ret = b->status;
	}
	summarize_warnings(b);
	if (ret != ZONE_OK) {
		for (size_t i = 0; i < n; i++) {
			zone_node_unref(nodes[i]);
		}
		free(nodes);
		return ret;
	}
	uint8_t bad[DNAME_MAXLEN];
	ret = zone_new(b->apex, nodes, n, out, bad);
	free(nodes);
	return ret;
}

int zone_builder_finish_dnskeys(zone_builder_t *b, zone_rrset_t **out)
{
	if (b->mode != ZONE_BUILDER_DNSKEYS) {
		return ZONE_ERR_INVAL;
	}
	char abuf[DNAME_STR_MAXLEN];
	if (b->recs.n == 0 && b->status == ZONE_OK) {
		zone_builder_error(b, ZONE_ERR_NOT_DNSKEY, b->name, 0, "no DNSKEY record for %s",
		                   name_str(b->apex, abuf));
	}
	summarize_warnings(b);
	if (b->status != ZONE_OK) {
		return b->status;
	}
	size_t n = b->recs.n;
	uint32_t *v = malloc(n * sizeof(*v));
	fin_t f = {.b = b};
	if (v == NULL) {
		return ZONE_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		v[i] = (uint32_t)i;
	}
	int ret = make_rrset(&f, b->apex, v, n, out);
	free(v);
	fin_free(&f);
	return ret;
}
