#include "hsm/hsm_pin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* One page, mapped privately so it can be locked and kept out of core dumps. */
struct hsm_pin {
	size_t len;
	size_t map_len;
	uint8_t data[];
};

static int pin_alloc(const uint8_t *src, size_t len, hsm_pin_t **out)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t map_len = page > 0 ? (size_t)page : 4096;
	void *p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		return HSM_ERR_NOMEM;
	}
	/* Both are best effort: RLIMIT_MEMLOCK may be 0 for unprivileged users. */
	(void)mlock(p, map_len);
	(void)madvise(p, map_len, MADV_DONTDUMP);
	hsm_pin_t *pin = p;
	pin->len = len;
	pin->map_len = map_len;
	memcpy(pin->data, src, len);
	*out = pin;
	return HSM_OK;
}

int hsm_pin_from_file(const char *path, hsm_pin_t **out, hsm_detail_t *detail)
{
	uint8_t buf[HSM_PIN_MAX + 2];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		hsm_detail_text(detail, "PIN file %s: %s", path, strerror(e));
		return -e;
	}
	int ret = HSM_ERR_PIN_FILE;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		ret = -errno;
		hsm_detail_text(detail, "PIN file %s: %s", path, strerror(-ret));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		hsm_detail_text(detail, "PIN file %s is not a regular file", path);
		goto fail;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		hsm_detail_text(detail,
		                "PIN file %s is accessible by group or others (mode %04o); "
		                "chmod 600 it",
		                path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			ret = -errno;
			hsm_detail_text(detail, "PIN file %s: %s", path, strerror(-ret));
			goto fail;
		}
		if (n == 0 || (len += (size_t)n) == sizeof(buf)) {
			break;
		}
	}
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
	}
	if (len > HSM_PIN_MAX) {
		hsm_detail_text(detail, "PIN file %s is longer than %d bytes", path, HSM_PIN_MAX);
		goto fail;
	}
	if (len == 0) {
		hsm_detail_text(detail, "PIN file %s is empty", path);
		goto fail;
	}
	ret = pin_alloc(buf, len, out);
fail:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return ret;
}

int hsm_pin_from_env(const char *var, hsm_pin_t **out, hsm_detail_t *detail)
{
	char *value = getenv(var);
	if (value == NULL || *value == '\0') {
		hsm_detail_text(detail, "environment variable %s is not set", var);
		return HSM_ERR_PIN_MISSING;
	}
	size_t len = strlen(value);
	int ret = HSM_ERR_PIN_FILE;
	if (len > HSM_PIN_MAX) {
		hsm_detail_text(detail, "%s is longer than %d bytes", var, HSM_PIN_MAX);
	} else {
		ret = pin_alloc((const uint8_t *)value, len, out);
	}
	/* Wipe the environment's copy, then drop the variable. */
	OPENSSL_cleanse(value, len);
	unsetenv(var);
	return ret;
}

int hsm_pin_copy(const hsm_pin_t *pin, hsm_pin_t **out)
{
	return pin_alloc(pin->data, pin->len, out);
}

const uint8_t *hsm_pin_data(const hsm_pin_t *pin, size_t *len)
{
	*len = pin->len;
	return pin->data;
}

void hsm_pin_free(hsm_pin_t *pin)
{
	if (pin == NULL) {
		return;
	}
	size_t map_len = pin->map_len;
	OPENSSL_cleanse(pin, map_len);
	munlock(pin, map_len);
	munmap(pin, map_len);
}
