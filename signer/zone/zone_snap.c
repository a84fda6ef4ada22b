#include "signer/zone/zone_snap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "signer/zone/dname.h"
#include "signer/zone/zone_crash.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_file.h"

static const uint8_t magic[8] = {'S', 'G', 'N', 'R', 'S', 'N', 'A', 'P'};
/* Fixed part of the header before extra: magic, version, flags, serial,
 * input_serial, published_at, extra_len. */
#define HEAD_LEN  (8 + 4 + 4 + 4 + 4 + 8 + 4)
#define WRITE_BUF (1024 * 1024)

/* ---- save ---- */

/* One RRset: its fixed fields, then its data as stored. */
static void put_rrset(zone_file_writer_t *w, const zone_rrset_t *r)
{
	uint8_t h[12], *p = h;
	p = zone_file_put16(p, r->type);
	p = zone_file_put16(p, r->count);
	p = zone_file_put32(p, r->ttl);
	zone_file_put32(p, r->len);
	zone_file_writer_put(w, h, sizeof(h));
	zone_file_writer_put(w, r->data, r->len);
}

/* One node: owner, slot count, then each slot's RRset and RRSIGs. */
static void put_node(zone_file_writer_t *w, const zone_node_t *node)
{
	uint8_t h[2];
	zone_file_writer_put(w, &node->owner_len, 1);
	zone_file_writer_put(w, node->owner, node->owner_len);
	zone_file_put16(h, node->nslots);
	zone_file_writer_put(w, h, 2);
	for (size_t i = 0; i < node->nslots; i++) {
		const zone_slot_t *s = &node->slots[i];
		uint8_t has = s->sigs != NULL;
		put_rrset(w, s->data);
		zone_file_writer_put(w, &has, 1);
		if (has) {
			put_rrset(w, s->sigs);
		}
	}
}

/* Writes the whole snapshot to fd (header, nodes, crc32). 0 or -errno. */
static int write_snapshot(int fd, const zone_t *z, const zone_snap_meta_t *meta)
{
	zone_file_writer_t w;
	if (zone_file_writer_init(&w, fd, WRITE_BUF) != 0) {
		return ZONE_ERR_NOMEM;
	}
	uint8_t h[HEAD_LEN + 1 + DNAME_MAXLEN + 16], *p = h;
	memcpy(p, magic, 8);
	p = zone_file_put32(p + 8, ZONE_SNAP_VERSION);
	p = zone_file_put32(p, 0);
	p = zone_file_put32(p, meta->serial);
	p = zone_file_put32(p, meta->input_serial);
	p = zone_file_put64(p, (uint64_t)meta->published_at);
	p = zone_file_put32(p, (uint32_t)meta->extra_len);
	zone_file_writer_put(&w, h, (size_t)(p - h));
	if (meta->extra_len > 0) {
		zone_file_writer_put(&w, meta->extra, meta->extra_len);
	}
	uint64_t nodes = 0;
	for (size_t i = 0; i < z->count; i++) {
		nodes += zone_entry(z, i)->node->nslots > 0;
	}
	p = h;
	*p++ = (uint8_t)z->apex_len;
	memcpy(p, z->apex, z->apex_len);
	p += z->apex_len;
	p = zone_file_put64(p, nodes);
	p = zone_file_put64(p, z->nsec3_count);
	zone_file_writer_put(&w, h, (size_t)(p - h));
	for (size_t i = 0; i < z->count; i++) {
		if (zone_entry(z, i)->node->nslots > 0) {
			put_node(&w, zone_entry(z, i)->node);
		}
	}
	for (size_t i = 0; i < z->nsec3_count; i++) {
		put_node(&w, zone_nsec3_node(z, i));
	}
	int ret = zone_file_writer_flush(&w);
	if (ret == 0) {
		zone_file_put32(h, w.crc);
		ret = zone_file_write_all(fd, h, 4);
	}
	zone_file_writer_deinit(&w);
	return ret;
}

int zone_snap_save(const char *path, const zone_t *z, const zone_snap_meta_t *meta)
{
	zone_snap_meta_t none = {0};
	if (meta == NULL) {
		meta = &none;
	}
	if (meta->extra_len > UINT32_MAX || (meta->extra_len > 0 && meta->extra == NULL)) {
		return ZONE_ERR_INVAL;
	}
	char *tmp = NULL;
	int fd = -1;
	int ret = zone_file_temp(path, &tmp, &fd);
	if (ret != 0) {
		return ret == -ENOMEM ? ZONE_ERR_NOMEM : ret;
	}
	ret = write_snapshot(fd, z, meta);
	if (ret == ZONE_OK) {
		zone_crash_point("snap-written");
		if (fsync(fd) != 0) {
			ret = -errno;
		}
	}
	if (close(fd) != 0 && ret == ZONE_OK) {
		ret = -errno;
	}
	if (ret != ZONE_OK) {
		goto fail;
	}
	zone_crash_point("snap-synced");
	if (rename(tmp, path) != 0) {
		ret = -errno;
		goto fail;
	}
	free(tmp);
	zone_crash_point("snap-renamed");
	ret = zone_file_sync_dir(path);
	return ret == -ENOMEM ? ZONE_ERR_NOMEM : ret;
fail:
	unlink(tmp);
	free(tmp);
	return ret;
}

/* ---- load ---- */

/* A reading position in the mapped file, and where reasons go. */
typedef struct {
	const uint8_t *p, *end;
	char *why;
	size_t cap;
} rd_t;

/* Writes the reason and returns ZONE_ERR_CORRUPT. */
static int corrupt(rd_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int corrupt(rd_t *r, const char *fmt, ...)
{
	if (r->why != NULL && r->cap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->why, r->cap, fmt, ap);
		va_end(ap);
	}
	return ZONE_ERR_CORRUPT;
}

/* Whether n more bytes are there to read. */
static bool has(const rd_t *r, size_t n)
{
	return (size_t)(r->end - r->p) >= n;
}

/* Reads one RRset: *out, one reference. */
static int get_rrset(rd_t *r, const uint8_t *base, zone_rrset_t **out)
{
	if (!has(r, 12)) {
		return corrupt(r, "truncated RRset at offset %zu", (size_t)(r->p - base));
	}
	uint16_t type = zone_file_get16(r->p), count = zone_file_get16(r->p + 2);
	uint32_t ttl = zone_file_get32(r->p + 4), len = zone_file_get32(r->p + 8);
	r->p += 12;
	if (!has(r, len) || len > 0xffffffu) {
		return corrupt(r, "RRset of type %u overruns the file at offset %zu",
		               (unsigned)type, (size_t)(r->p - base));
	}
	/* The RDATA framing must add up. */
	size_t off = 0, n = 0;
	while (off + 2 <= len) {
		off += 2u + ((size_t)r->p[off] << 8 | r->p[off + 1]);
		n++;
	}
	if (off != len || n != count || count == 0) {
		return corrupt(r, "inconsistent RRset of type %u at offset %zu", (unsigned)type,
		               (size_t)(r->p - base));
	}
	zone_rrset_t *s = malloc(sizeof(*s) + len);
	if (s == NULL) {
		return ZONE_ERR_NOMEM;
	}
	atomic_init(&s->refs, 1);
	s->type = type;
	s->count = count;
	s->ttl = ttl;
	s->len = len;
	memcpy(s->data, r->p, len);
	r->p += len;
	*out = s;
	return ZONE_OK;
}

#define SLOTS_STACK 32

/* Reads one node: *out, one reference. */
static int get_node(rd_t *r, const uint8_t *base, zone_node_t **out)
{
	size_t olen = has(r, 1) ? zone_file_name_len(r->p + 1, (size_t)(r->end - r->p - 1)) : 0;
	if (olen == 0 || olen != r->p[0]) {
		return corrupt(r, "bad owner name at offset %zu", (size_t)(r->p - base));
	}
	const uint8_t *owner = r->p + 1;
	r->p += 1 + olen;
	if (!has(r, 2)) {
		return corrupt(r, "truncated node at offset %zu", (size_t)(r->p - base));
	}
	size_t n = zone_file_get16(r->p);
	r->p += 2;
	zone_slot_t stack[SLOTS_STACK];
	zone_slot_t *slots = n <= SLOTS_STACK ? stack : calloc(n, sizeof(*slots));
	if (slots == NULL) {
		return ZONE_ERR_NOMEM;
	}
	size_t k = 0;
	int ret = ZONE_OK;
	for (; k < n; k++) {
		slots[k].sigs = NULL;
		ret = get_rrset(r, base, &slots[k].data);
		if (ret != ZONE_OK) {
			break;
		}
		if (!has(r, 1) || r->p[0] > 1) {
			k++;
			ret = corrupt(r, "bad RRSIG flag at offset %zu", (size_t)(r->p - base));
			break;
		}
		bool sigs = *r->p++ == 1;
		if (sigs && (ret = get_rrset(r, base, &slots[k].sigs)) != ZONE_OK) {
			k++;
			break;
		}
		if (k > 0 && slots[k].data->type <= slots[k - 1].data->type) {
			k++;
			ret = corrupt(r, "RRsets out of order at offset %zu",
			              (size_t)(r->p - base));
			break;
		}
	}
	if (ret == ZONE_OK) {
		ret = zone_node_new(owner, slots, n, out);
	}
	for (size_t i = 0; i < k; i++) {
		zone_rrset_unref(slots[i].data);
		zone_rrset_unref(slots[i].sigs);
	}
	if (slots != stack) {
		free(slots);
	}
	return ret;
}

/* Drops a reference to each of v[0..n). */
static void unref_nodes(zone_node_t **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		zone_node_unref(v[i]);
	}
}

/* Pages of the mapping already read are given back as the reads move on
 * (MADV_DONTNEED: a private, never written file mapping reads them again
 * from the file if touched), so that loading a snapshot does not hold the
 * whole file in memory beside the zone it makes. */
#define DROP_STEP (8u << 20)

static void drop_behind(const uint8_t *buf, const uint8_t *upto, size_t *dropped)
{
	size_t pos = (size_t)(upto - buf);
	if (pos < *dropped + DROP_STEP) {
		return;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t end = pos / page * page;
	if (end > *dropped) {
		madvise((void *)(uintptr_t)(buf + *dropped), end - *dropped, MADV_DONTNEED);
		*dropped = end;
	}
}

/* Checks and reads a whole snapshot (len bytes at buf). */
static int parse(const uint8_t *buf, size_t len, zone_t **out, zone_snap_meta_t *meta, char *why,
                 size_t cap)
{
	rd_t r = {buf, buf + len, why, cap};
	if (len < 8 || memcmp(buf, magic, 8) != 0) {
		return corrupt(&r, "not a zone snapshot (bad magic)");
	}
	if (len < HEAD_LEN + 4) {
		return corrupt(&r, "truncated: %zu bytes", len);
	}
	uint32_t version = zone_file_get32(buf + 8);
	if (version != ZONE_SNAP_VERSION) {
		return corrupt(&r, "format version %lu, this build reads %d",
		               (unsigned long)version, ZONE_SNAP_VERSION);
	}
	uint32_t want = zone_file_get32(buf + len - 4);
	uint32_t got = (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)0);
	/* In pieces (crc32 takes at most 4 GiB at once), dropping each. */
	size_t dropped = 0;
	for (size_t off = 0; off < len - 4;) {
		size_t n = len - 4 - off > DROP_STEP ? DROP_STEP : len - 4 - off;
		got = (uint32_t)crc32(got, buf + off, (uInt)n);
		off += n;
		drop_behind(buf, buf + off, &dropped);
	}
	dropped = 0;
	if (got != want) {
		return corrupt(&r,
		               "checksum mismatch (stored %08lx, computed %08lx): the file is "
		               "damaged or truncated",
		               (unsigned long)want, (unsigned long)got);
	}
	r.end = buf + len - 4;
	zone_snap_meta_t m = {0};
	m.serial = zone_file_get32(buf + 16);
	m.input_serial = zone_file_get32(buf + 20);
	m.published_at = (int64_t)zone_file_get64(buf + 24);
	m.extra_len = zone_file_get32(buf + 32);
	r.p = buf + HEAD_LEN;
	if (!has(&r, m.extra_len)) {
		return corrupt(&r, "extra data overruns the file");
	}
	uint8_t *extra = NULL;
	if (m.extra_len > 0) {
		if ((extra = malloc(m.extra_len)) == NULL) {
			return ZONE_ERR_NOMEM;
		}
		memcpy(extra, r.p, m.extra_len);
		r.p += m.extra_len;
	}
	m.extra = extra;
	int ret = ZONE_OK;
	zone_node_t **nodes = NULL, **nsec3 = NULL;
	size_t nn = 0, n3 = 0;
	const uint8_t *apex = r.p + 1;
	size_t alen = has(&r, 1) ? zone_file_name_len(apex, (size_t)(r.end - apex)) : 0;
	if (alen == 0 || alen != r.p[0]) {
		ret = corrupt(&r, "bad apex name");
		goto fail;
	}
	r.p += 1 + alen;
	if (!has(&r, 16)) {
		ret = corrupt(&r, "truncated header");
		goto fail;
	}
	uint64_t count = zone_file_get64(r.p), count3 = zone_file_get64(r.p + 8);
	r.p += 16;
	/* Each node takes at least 4 bytes: the counts cannot be more. */
	if (count > (size_t)(r.end - r.p) / 4 || count3 > (size_t)(r.end - r.p) / 4) {
		ret = corrupt(&r, "node counts larger than the file");
		goto fail;
	}
	nodes = malloc((count + 1) * sizeof(*nodes));
	nsec3 = malloc((count3 + 1) * sizeof(*nsec3));
	if (nodes == NULL || nsec3 == NULL) {
		ret = ZONE_ERR_NOMEM;
		goto fail;
	}
	while (nn < count) {
		if ((ret = get_node(&r, buf, &nodes[nn])) != ZONE_OK) {
			goto fail;
		}
		nn++;
		drop_behind(buf, r.p, &dropped);
	}
	while (n3 < count3) {
		if ((ret = get_node(&r, buf, &nsec3[n3])) != ZONE_OK) {
			goto fail;
		}
		n3++;
	}
	if (r.p != r.end) {
		ret = corrupt(&r, "%zu bytes after the last node", (size_t)(r.end - r.p));
		goto fail;
	}
	zone_t *z = NULL;
	uint8_t bad[DNAME_MAXLEN];
	/* In order already (zone_new checks, and sorts only if not). */
	ret = zone_new(apex, nodes, nn, &z, bad); /* takes the nodes over */
	nn = 0;
	if (ret == ZONE_OK) {
		ret = zone_set_nsec3(z, nsec3, n3);
		n3 = 0;
		if (ret != ZONE_OK) {
			zone_free(z);
		}
	} else if (ret != ZONE_ERR_NOMEM) {
		ret = corrupt(&r, "%s", zone_strerror(ret));
	}
	if (ret != ZONE_OK) {
		goto fail;
	}
	free(nodes);
	free(nsec3);
	*out = z;
	*meta = m;
	return ZONE_OK;
fail:
	unref_nodes(nodes, nn);
	unref_nodes(nsec3, n3);
	free(nodes);
	free(nsec3);
	free(extra);
	return ret;
}

int zone_snap_load_why(const char *path, zone_t **out, zone_snap_meta_t *meta, char *why,
                       size_t cap)
{
	if (why != NULL && cap > 0) {
		why[0] = '\0';
	}
	int ret = ZONE_OK;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		ret = -errno;
		if (fd >= 0) {
			close(fd);
		}
		if (why != NULL && cap > 0) {
			snprintf(why, cap, "%s: %s", path, zone_strerror(ret));
		}
		return ret;
	}
	size_t len = (size_t)st.st_size;
	if (len == 0) {
		close(fd);
		rd_t r = {NULL, NULL, why, cap};
		return corrupt(&r, "empty file");
	}
	/* Mapped, not copied: read once by the checksum, once by the parse,
	 * each giving back what it has read (drop_behind). */
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		ret = -errno;
		if (why != NULL && cap > 0) {
			snprintf(why, cap, "%s: %s", path, zone_strerror(ret));
		}
		return ret;
	}
	madvise(map, len, MADV_SEQUENTIAL);
	ret = parse(map, len, out, meta, why, cap);
	munmap(map, len);
	return ret;
}

int zone_snap_load(const char *path, zone_t **out, zone_snap_meta_t *meta)
{
	return zone_snap_load_why(path, out, meta, NULL, 0);
}
