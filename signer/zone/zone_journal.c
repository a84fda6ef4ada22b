#include "signer/zone/zone_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "signer/zone/zone_crash.h"
#include "signer/zone/zone_error.h"
#include "signer/zone/zone_file.h"

static const uint8_t magic[8] = {'S', 'G', 'N', 'R', 'J', 'R', 'N', 'L'};
#define HEADER_LEN 16
#define FRAME_LEN  8  /* length, crc32 */
#define FIXED_LEN  28 /* from, to, aux, time, nremoved, nadded */
/* A record larger than this is taken for damage (a delta of a whole big
 * zone is far smaller). */
#define RECORD_MAX (1u << 31)

typedef struct {
	uint32_t from, to;
	int64_t time;
	uint64_t off; /* of the frame */
	uint32_t len; /* of the payload */
} entry_t;

struct zone_journal {
	char *path;
	int fd;
	zone_journal_limits_t limits;
	entry_t *v;
	size_t n, cap;
	uint64_t end; /* file size: where the next record goes */
};

/* A system status as the library returns it (-ENOMEM as ZONE_ERR_NOMEM). */
static int sys(int ret)
{
	return ret == -ENOMEM ? ZONE_ERR_NOMEM : ret;
}

/* The crc32 of a record: its length field and its payload. */
static uint32_t frame_crc(const uint8_t *lenbytes, const uint8_t *payload, size_t n)
{
	uLong c = crc32(0L, Z_NULL, 0);
	c = crc32(c, lenbytes, 4);
	return (uint32_t)crc32(c, payload, (uInt)n);
}

/* Appends an entry to the index; false when out of memory. */
static bool push(zone_journal_t *j, entry_t e)
{
	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 64;
		entry_t *v = realloc(j->v, cap * sizeof(*v));
		if (v == NULL) {
			return false;
		}
		j->v = v;
		j->cap = cap;
	}
	j->v[j->n++] = e;
	return true;
}

/* The file header (HEADER_LEN bytes) into h. */
static void header(uint8_t *h)
{
	memcpy(h, magic, 8);
	zone_file_put32(h + 8, ZONE_JOURNAL_VERSION);
	zone_file_put32(h + 12, 0);
}

/* ---- payloads ---- */

/* Checks the structure of a payload; into d (may be NULL) when it holds. */
static bool parse_payload(const uint8_t *p, size_t n, zone_delta_t *d, int *nomem)
{
	if (n < FIXED_LEN) {
		return false;
	}
	uint64_t counts[2] = {zone_file_get32(p + 20), zone_file_get32(p + 24)};
	size_t off = FIXED_LEN;
	for (int list = 0; list < 2; list++) {
		for (uint64_t i = 0; i < counts[list]; i++) {
			if (off >= n || p[off] == 0) {
				return false;
			}
			size_t olen = zone_file_name_len(p + off + 1, n - off - 1);
			if (olen == 0 || olen != p[off]) {
				return false;
			}
			const uint8_t *owner = p + off + 1;
			off += 1 + olen;
			if (n - off < 8) {
				return false;
			}
			uint16_t type = zone_file_get16(p + off);
			uint32_t ttl = zone_file_get32(p + off + 2);
			uint16_t rdlen = zone_file_get16(p + off + 6);
			off += 8;
			if (n - off < rdlen) {
				return false;
			}
			if (d != NULL && zone_delta_add(d, list == 1, owner, type, ttl, p + off,
			                                rdlen) != ZONE_OK) {
				*nomem = 1;
				return false;
			}
			off += rdlen;
		}
	}
	return off == n;
}

/* The frame and payload of d: *buf (free()) of *len bytes. */
static int serialize(const zone_delta_t *d, uint32_t aux, int64_t time, uint8_t **buf, size_t *len)
{
	if (d->nremoved > UINT32_MAX || d->nadded > UINT32_MAX) {
		return ZONE_ERR_INVAL;
	}
	size_t n = FRAME_LEN + FIXED_LEN;
	const zone_rr_t *lists[2] = {d->removed, d->added};
	size_t counts[2] = {d->nremoved, d->nadded};
	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < counts[l]; i++) {
			n += 1 + zone_file_name_len(lists[l][i].owner, 255) + 8 + lists[l][i].rdlen;
		}
	}
	if (n - FRAME_LEN > RECORD_MAX) {
		return ZONE_ERR_INVAL;
	}
	uint8_t *b = malloc(n), *p = b + FRAME_LEN;
	if (b == NULL) {
		return ZONE_ERR_NOMEM;
	}
	p = zone_file_put32(p, d->from_serial);
	p = zone_file_put32(p, d->to_serial);
	p = zone_file_put32(p, aux);
	p = zone_file_put64(p, (uint64_t)time);
	p = zone_file_put32(p, (uint32_t)d->nremoved);
	p = zone_file_put32(p, (uint32_t)d->nadded);
	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < counts[l]; i++) {
			const zone_rr_t *rr = &lists[l][i];
			size_t olen = zone_file_name_len(rr->owner, 255);
			*p++ = (uint8_t)olen;
			memcpy(p, rr->owner, olen);
			p += olen;
			p = zone_file_put16(p, rr->type);
			p = zone_file_put32(p, rr->ttl);
			p = zone_file_put16(p, rr->rdlen);
			if (rr->rdlen > 0) {
				memcpy(p, rr->rdata, rr->rdlen);
			}
			p += rr->rdlen;
		}
	}
	zone_file_put32(b, (uint32_t)(n - FRAME_LEN));
	zone_file_put32(b + 4, frame_crc(b, b + FRAME_LEN, n - FRAME_LEN));
	*buf = b;
	*len = n;
	return ZONE_OK;
}

/* ---- open ---- */

/* Makes a new, empty journal file at path crash-safely. */
static int create(const char *path)
{
	char *tmp = NULL;
	int fd = -1;
	int ret = zone_file_temp(path, &tmp, &fd);
	if (ret != 0) {
		return sys(ret);
	}
	uint8_t h[HEADER_LEN];
	header(h);
	ret = zone_file_write_all(fd, h, sizeof(h));
	if (ret == 0 && fsync(fd) != 0) {
		ret = -errno;
	}
	close(fd);
	/* A journal made meanwhile by someone else is not overwritten. */
	if (ret == 0 && link(tmp, path) != 0 && errno != EEXIST) {
		ret = -errno;
	}
	unlink(tmp);
	free(tmp);
	return ret == 0 ? sys(zone_file_sync_dir(path)) : ret;
}

/* Reads and verifies the records from HEADER_LEN on; the index grows; *good
 * = where the valid records end. */
static int scan(zone_journal_t *j, uint64_t size, uint64_t *good)
{
	uint64_t off = HEADER_LEN;
	uint8_t *buf = NULL;
	size_t cap = 0;
	int ret = ZONE_OK;
	while (off + FRAME_LEN <= size) {
		uint8_t fr[FRAME_LEN];
		if ((ret = zone_file_pread_all(j->fd, fr, FRAME_LEN, (off_t)off)) != 0) {
			break;
		}
		uint32_t len = zone_file_get32(fr);
		if (len > RECORD_MAX || len < FIXED_LEN || size - off - FRAME_LEN < len) {
			break; /* torn or damaged */
		}
		if (len > cap) {
			uint8_t *p = realloc(buf, len);
			if (p == NULL) {
				ret = ZONE_ERR_NOMEM;
				break;
			}
			buf = p;
			cap = len;
		}
		if ((ret = zone_file_pread_all(j->fd, buf, len, (off_t)(off + FRAME_LEN))) != 0) {
			break;
		}
		int nomem = 0;
		if (frame_crc(fr, buf, len) != zone_file_get32(fr + 4) ||
		    !parse_payload(buf, len, NULL, &nomem)) {
			break;
		}
		entry_t e = {.from = zone_file_get32(buf),
		             .to = zone_file_get32(buf + 4),
		             .time = (int64_t)zone_file_get64(buf + 12),
		             .off = off,
		             .len = len};
		if (j->n > 0 && j->v[j->n - 1].to != e.from) {
			break; /* the chain breaks: what follows cannot be applied */
		}
		if (!push(j, e)) {
			ret = ZONE_ERR_NOMEM;
			break;
		}
		off += FRAME_LEN + len;
	}
	free(buf);
	*good = off;
	return ret;
}

int zone_journal_open(const char *path, const zone_journal_limits_t *limits, zone_journal_t **out,
                      size_t *dropped_bytes)
{
	zone_journal_t *j = calloc(1, sizeof(*j));
	if (j == NULL || (j->path = strdup(path)) == NULL) {
		free(j);
		return ZONE_ERR_NOMEM;
	}
	j->fd = -1;
	if (limits != NULL) {
		j->limits = *limits;
	}
	int ret = ZONE_OK;
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT || (ret = create(path)) != ZONE_OK) {
			ret = ret != ZONE_OK ? ret : -errno;
			goto fail;
		}
	}
	j->fd = open(path, O_RDWR | O_CLOEXEC);
	if (j->fd < 0 || fstat(j->fd, &st) != 0) {
		ret = -errno;
		goto fail;
	}
	uint64_t size = (uint64_t)st.st_size;
	uint8_t h[HEADER_LEN], want[HEADER_LEN];
	header(want);
	if (size == 0) {
		/* Made empty by hand or by a crash of another writer: start. */
		if ((ret = zone_file_pwrite_all(j->fd, want, HEADER_LEN, 0)) != 0 ||
		    (fsync(j->fd) != 0 && (ret = -errno) != 0)) {
			goto fail;
		}
		size = HEADER_LEN;
	} else if (size < HEADER_LEN || (ret = zone_file_pread_all(j->fd, h, HEADER_LEN, 0)) != 0 ||
	           memcmp(h, want, HEADER_LEN) != 0) {
		ret = ret != 0 ? ret : ZONE_ERR_CORRUPT;
		goto fail;
	}
	uint64_t good = HEADER_LEN;
	if ((ret = scan(j, size, &good)) != ZONE_OK) {
		goto fail;
	}
	if (good < size) {
		if (ftruncate(j->fd, (off_t)good) != 0 || fsync(j->fd) != 0) {
			ret = -errno;
			goto fail;
		}
	}
	j->end = good;
	if (dropped_bytes != NULL) {
		*dropped_bytes = (size_t)(size - good);
	}
	*out = j;
	return ZONE_OK;
fail:
	zone_journal_close(j);
	return sys(ret);
}

void zone_journal_close(zone_journal_t *j)
{
	if (j == NULL) {
		return;
	}
	if (j->fd >= 0) {
		close(j->fd);
	}
	free(j->v);
	free(j->path);
	free(j);
}

/* ---- append, read ---- */

int zone_journal_append(zone_journal_t *j, const zone_delta_t *d, uint32_t aux, int64_t time)
{
	if (j->n > 0 && j->v[j->n - 1].to != d->from_serial) {
		return ZONE_ERR_JOURNAL_SERIAL;
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = serialize(d, aux, time, &buf, &len);
	if (ret != ZONE_OK) {
		return ret;
	}
	if (j->n == j->cap) {
		/* Room in the index first: nothing can fail after the sync. */
		entry_t e = {0};
		if (!push(j, e)) {
			free(buf);
			return ZONE_ERR_NOMEM;
		}
		j->n--;
	}
	ret = zone_file_pwrite_all(j->fd, buf, len, (off_t)j->end);
	if (ret == 0) {
		zone_crash_point("journal-written");
		if (fdatasync(j->fd) != 0) {
			ret = -errno;
		}
	}
	free(buf);
	if (ret != 0) {
		/* Not acknowledged: cut it off again (a reopen would drop it too). */
		if (ftruncate(j->fd, (off_t)j->end) == 0) {
			(void)fdatasync(j->fd);
		}
		return sys(ret);
	}
	zone_crash_point("journal-synced");
	push(j, (entry_t){.from = d->from_serial,
	                  .to = d->to_serial,
	                  .time = time,
	                  .off = j->end,
	                  .len = (uint32_t)(len - FRAME_LEN)});
	j->end += len;
	return ZONE_OK;
}

int zone_journal_read(zone_journal_t *j, size_t index, zone_delta_t *out, uint32_t *aux,
                      int64_t *time)
{
	if (index >= j->n) {
		return ZONE_ERR_INVAL;
	}
	const entry_t *e = &j->v[index];
	uint8_t *buf = malloc((size_t)e->len + FRAME_LEN);
	if (buf == NULL) {
		return ZONE_ERR_NOMEM;
	}
	int ret = zone_file_pread_all(j->fd, buf, (size_t)e->len + FRAME_LEN, (off_t)e->off);
	if (ret != 0) {
		free(buf);
		return ret == -EIO ? ZONE_ERR_CORRUPT : sys(ret);
	}
	const uint8_t *p = buf + FRAME_LEN;
	zone_delta_t d;
	zone_delta_init(&d);
	int nomem = 0;
	if (zone_file_get32(buf) != e->len ||
	    frame_crc(buf, p, e->len) != zone_file_get32(buf + 4) ||
	    !parse_payload(p, e->len, &d, &nomem)) {
		ret = nomem ? ZONE_ERR_NOMEM : ZONE_ERR_CORRUPT;
		zone_delta_deinit(&d);
		free(buf);
		return ret;
	}
	d.from_serial = zone_file_get32(p);
	d.to_serial = zone_file_get32(p + 4);
	if (aux != NULL) {
		*aux = zone_file_get32(p + 8);
	}
	if (time != NULL) {
		*time = (int64_t)zone_file_get64(p + 12);
	}
	free(buf);
	*out = d;
	return ZONE_OK;
}

bool zone_journal_find(const zone_journal_t *j, uint32_t from_serial, size_t *index)
{
	for (size_t i = j->n; i-- > 0;) {
		if (j->v[i].from == from_serial) {
			*index = i;
			return true;
		}
	}
	return false;
}

size_t zone_journal_count(const zone_journal_t *j)
{
	return j->n;
}

uint64_t zone_journal_bytes(const zone_journal_t *j)
{
	return j->end;
}

bool zone_journal_last_serial(const zone_journal_t *j, uint32_t *serial)
{
	if (j->n == 0) {
		return false;
	}
	*serial = j->v[j->n - 1].to;
	return true;
}

bool zone_journal_first_serial(const zone_journal_t *j, uint32_t *serial)
{
	if (j->n == 0) {
		return false;
	}
	*serial = j->v[0].from;
	return true;
}

bool zone_journal_entry(const zone_journal_t *j, size_t index, uint32_t *from, uint32_t *to,
                        int64_t *time)
{
	if (index >= j->n) {
		return false;
	}
	if (from != NULL) {
		*from = j->v[index].from;
	}
	if (to != NULL) {
		*to = j->v[index].to;
	}
	if (time != NULL) {
		*time = j->v[index].time;
	}
	return true;
}

/* ---- trim, reset ---- */

/* Rewrites the journal with entries [drop, n) only, crash-safely. */
static int rewrite(zone_journal_t *j, size_t drop)
{
	char *tmp = NULL;
	int fd = -1;
	int ret = zone_file_temp(j->path, &tmp, &fd);
	if (ret != 0) {
		return sys(ret);
	}
	uint64_t from = drop < j->n ? j->v[drop].off : j->end;
	uint64_t len = j->end - from;
	uint8_t h[HEADER_LEN];
	header(h);
	ret = zone_file_write_all(fd, h, HEADER_LEN);
	/* The kept records as they are, in pieces. */
	uint8_t *buf = len > 0 ? malloc(len < (1u << 20) ? len : (1u << 20)) : NULL;
	if (ret == 0 && len > 0 && buf == NULL) {
		ret = -ENOMEM;
	}
	for (uint64_t off = 0; ret == 0 && off < len;) {
		size_t n = len - off < (1u << 20) ? (size_t)(len - off) : (1u << 20);
		ret = zone_file_pread_all(j->fd, buf, n, (off_t)(from + off));
		if (ret == 0) {
			ret = zone_file_write_all(fd, buf, n);
		}
		off += n;
	}
	free(buf);
	if (ret == 0 && fsync(fd) != 0) {
		ret = -errno;
	}
	if (ret != 0) {
		close(fd);
		unlink(tmp);
		free(tmp);
		return sys(ret);
	}
	zone_crash_point("trim-written");
	if (rename(tmp, j->path) != 0) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		return ret;
	}
	free(tmp);
	zone_crash_point("trim-renamed");
	ret = zone_file_sync_dir(j->path);
	/* The new file is the journal now, whatever the directory sync said. */
	close(j->fd);
	j->fd = fd;
	memmove(j->v, j->v + drop, (j->n - drop) * sizeof(*j->v));
	j->n -= drop;
	for (size_t i = 0; i < j->n; i++) {
		j->v[i].off = j->v[i].off - from + HEADER_LEN;
	}
	j->end = HEADER_LEN + len;
	return sys(ret);
}

int zone_journal_trim(zone_journal_t *j, int64_t now, uint32_t keep_from_serial)
{
	/* Entries [keep, n) are kept whatever the limits. */
	size_t keep = j->n;
	if (j->n > 0 && j->v[j->n - 1].to != keep_from_serial &&
	    !zone_journal_find(j, keep_from_serial, &keep)) {
		keep = 0;
	}
	const zone_journal_limits_t *L = &j->limits;
	size_t drop = 0;
	while (drop < keep) {
		size_t left = j->n - drop;
		uint64_t bytes = j->end - j->v[drop].off + HEADER_LEN;
		bool over = (L->max_entries > 0 && left > L->max_entries) ||
		            (L->max_bytes > 0 && bytes > L->max_bytes) ||
		            (L->max_age > 0 && j->v[drop].time < now - L->max_age);
		if (!over) {
			break;
		}
		drop++;
	}
	return drop > 0 ? rewrite(j, drop) : ZONE_OK;
}

int zone_journal_reset(zone_journal_t *j)
{
	return j->n > 0 ? rewrite(j, j->n) : ZONE_OK;
}
