/*
 * zone_file: file helpers shared by zone_snap and zone_journal (internal to
 * the zone library): whole writes and reads that retry on EINTR, a
 * temporary file beside a target, fsync of a file's directory, and a
 * buffered writer that keeps a running crc32 of what it writes.
 *
 * No state of its own; every function borrows its arguments for the call.
 * Thread-safe as far as the file descriptors given are not shared.
 */
#ifndef SIGNER_ZONE_ZONE_FILE_H
#define SIGNER_ZONE_ZONE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A buffered writer: out through fd, crc32 of every byte written. */
typedef struct {
	int fd;
	uint8_t *buf;
	size_t used, cap;
	uint32_t crc;
	int status; /* first failure (-errno), sticky */
} zone_file_writer_t;

/* Writes all n bytes at the current offset. Returns 0 or -errno. */
int zone_file_write_all(int fd, const void *p, size_t n);

/* Writes all n bytes at offset off. Returns 0 or -errno. */
int zone_file_pwrite_all(int fd, const void *p, size_t n, off_t off);

/* Reads exactly n bytes at off; returns 0, -errno, or -EIO if the file ends
 * first. */
int zone_file_pread_all(int fd, void *p, size_t n, off_t off);

/* Reads the whole file at path: *buf (free()) of *len bytes. 0 or -errno. */
int zone_file_read_all(const char *path, uint8_t **buf, size_t *len);

/* Makes a temporary file path.tmp.XXXXXX beside path (mode 0644, or path's
 * mode if it exists): *fd open for writing, *tmp its name (free()). Returns
 * 0, -errno, or -ENOMEM. */
int zone_file_temp(const char *path, char **tmp, int *fd);

/* fsyncs the directory holding path. Returns 0 or -errno. */
int zone_file_sync_dir(const char *path);

/* Starts a writer on fd with a buffer of cap bytes. 0 or -ENOMEM. */
int zone_file_writer_init(zone_file_writer_t *w, int fd, size_t cap);

/* Appends n bytes (buffered). Failures are kept in w->status. */
void zone_file_writer_put(zone_file_writer_t *w, const void *p, size_t n);

/* Writes out the buffer; returns w->status (0 or -errno). */
int zone_file_writer_flush(zone_file_writer_t *w);

/* Frees the buffer (does not close fd). */
void zone_file_writer_deinit(zone_file_writer_t *w);

/* Little-endian encoding into p; returns p advanced. */
uint8_t *zone_file_put16(uint8_t *p, uint16_t v);
uint8_t *zone_file_put32(uint8_t *p, uint32_t v);
uint8_t *zone_file_put64(uint8_t *p, uint64_t v);
uint16_t zone_file_get16(const uint8_t *p);
uint32_t zone_file_get32(const uint8_t *p);
uint64_t zone_file_get64(const uint8_t *p);

/* Length of the wire name at p if it is valid and fits in n bytes (at most
 * 255, labels at most 63), else 0. */
size_t zone_file_name_len(const uint8_t *p, size_t n);

#endif
