#include "signer/zone/zone_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

int zone_file_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w < 0) {
			return -errno;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int zone_file_pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = pwrite(fd, b, n, off);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w < 0) {
			return -errno;
		}
		b += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

int zone_file_pread_all(int fd, void *p, size_t n, off_t off)
{
	uint8_t *b = p;
	while (n > 0) {
		ssize_t r = pread(fd, b, n, off);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			return -errno;
		}
		if (r == 0) {
			return -EIO;
		}
		b += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

int zone_file_read_all(const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	size_t n = (size_t)st.st_size;
	uint8_t *b = malloc(n + 1);
	if (b == NULL) {
		close(fd);
		return -ENOMEM;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			int e = -errno;
			free(b);
			close(fd);
			return e;
		}
		if (r == 0) {
			break; /* shrank meanwhile: what is there */
		}
		got += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = got;
	return 0;
}

int zone_file_temp(const char *path, char **tmp, int *fd)
{
	size_t n = strlen(path);
	char *t = malloc(n + sizeof(".tmp.XXXXXX"));
	if (t == NULL) {
		return -ENOMEM;
	}
	memcpy(t, path, n);
	memcpy(t + n, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	int f = mkostemp(t, O_CLOEXEC);
	if (f < 0) {
		int e = -errno;
		free(t);
		return e;
	}
	struct stat st;
	mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
	if (fchmod(f, mode) != 0) {
		int e = -errno;
		close(f);
		unlink(t);
		free(t);
		return e;
	}
	*tmp = t;
	*fd = f;
	return 0;
}

int zone_file_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? strdup(".")
	                          : strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (dir == NULL) {
		return -ENOMEM;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = fd < 0 ? -errno : 0;
	free(dir);
	if (fd >= 0) {
		if (fsync(fd) != 0) {
			ret = -errno;
		}
		close(fd);
	}
	return ret;
}

int zone_file_writer_init(zone_file_writer_t *w, int fd, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->buf = malloc(cap);
	w->cap = cap;
	w->crc = (uint32_t)crc32(0L, Z_NULL, 0);
	return w->buf != NULL ? 0 : -ENOMEM;
}

int zone_file_writer_flush(zone_file_writer_t *w)
{
	if (w->status == 0 && w->used > 0) {
		w->crc = (uint32_t)crc32(w->crc, w->buf, (uInt)w->used);
		w->status = zone_file_write_all(w->fd, w->buf, w->used);
	}
	w->used = 0;
	return w->status;
}

void zone_file_writer_put(zone_file_writer_t *w, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0 && w->status == 0) {
		if (w->used == w->cap) {
			zone_file_writer_flush(w);
			continue;
		}
		size_t k = w->cap - w->used < n ? w->cap - w->used : n;
		memcpy(w->buf + w->used, b, k);
		w->used += k;
		b += k;
		n -= k;
	}
}

void zone_file_writer_deinit(zone_file_writer_t *w)
{
	free(w->buf);
	w->buf = NULL;
}

uint8_t *zone_file_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

uint8_t *zone_file_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
	return p + 4;
}

uint8_t *zone_file_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
	return p + 8;
}

uint16_t zone_file_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t zone_file_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t zone_file_get64(const uint8_t *p)
{
	return (uint64_t)zone_file_get32(p) | (uint64_t)zone_file_get32(p + 4) << 32;
}

size_t zone_file_name_len(const uint8_t *p, size_t n)
{
	size_t off = 0;
	while (off < n && off < 255) {
		uint8_t l = p[off];
		if (l == 0) {
			return off + 1;
		}
		if (l > 63) {
			return 0;
		}
		off += 1u + l;
	}
	return 0;
}
