#include "signer/nsec/nsec_bitmap.h"

#include <string.h>

#include "signer/nsec/nsec_error.h"

int nsec_bitmap_encode(const uint16_t *types, size_t n, uint8_t *out, size_t cap, size_t *len)
{
	size_t pos = 0;
	size_t i = 0;
	while (i < n) {
		unsigned window = types[i] >> 8;
		uint8_t bits[32];
		memset(bits, 0, sizeof(bits));
		size_t used = 0;
		for (; i < n && (unsigned)(types[i] >> 8) == window; i++) {
			if (i > 0 && types[i] < types[i - 1]) {
				return NSEC_ERR_INVAL;
			}
			unsigned low = types[i] & 0xffu;
			bits[low / 8] |= (uint8_t)(0x80u >> (low % 8));
			used = low / 8 + 1;
		}
		if (cap - pos < 2 + used) {
			return NSEC_ERR_BUFFER;
		}
		out[pos] = (uint8_t)window;
		out[pos + 1] = (uint8_t)used;
		memcpy(out + pos + 2, bits, used);
		pos += 2 + used;
	}
	*len = pos;
	return NSEC_OK;
}

int nsec_bitmap_decode(const uint8_t *data, size_t len, uint16_t *types, size_t cap, size_t *n)
{
	size_t count = 0;
	size_t pos = 0;
	int last_window = -1;
	while (pos < len) {
		if (len - pos < 2) {
			return NSEC_ERR_BITMAP;
		}
		int window = data[pos];
		size_t blen = data[pos + 1];
		if (window <= last_window || blen == 0 || blen > 32 || len - pos - 2 < blen ||
		    data[pos + 1 + blen] == 0) {
			return NSEC_ERR_BITMAP;
		}
		const uint8_t *bits = data + pos + 2;
		for (size_t octet = 0; octet < blen; octet++) {
			for (unsigned bit = 0; bit < 8; bit++) {
				if ((bits[octet] & (0x80u >> bit)) == 0) {
					continue;
				}
				if (count == cap) {
					return NSEC_ERR_BUFFER;
				}
				types[count++] =
				        (uint16_t)((unsigned)window << 8 | octet * 8 | bit);
			}
		}
		last_window = window;
		pos += 2 + blen;
	}
	*n = count;
	return NSEC_OK;
}

bool nsec_bitmap_has(const uint8_t *data, size_t len, uint16_t type)
{
	unsigned window = type >> 8;
	unsigned octet = (type & 0xffu) / 8;
	size_t pos = 0;
	while (len - pos >= 2) {
		size_t blen = data[pos + 1];
		if (len - pos - 2 < blen) {
			return false;
		}
		if (data[pos] == window) {
			return octet < blen && (data[pos + 2 + octet] & (0x80u >> (type % 8))) != 0;
		}
		pos += 2 + blen;
	}
	return false;
}
