#include "signer/sign/sign_rrsig.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "signer/sign/sign_error.h"
#include "signer/zone/dname.h"

#define CLASS_IN 1

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Lowercases n octets of wire-form name in place. Length octets (at most 63)
 * lie below 'A', so the whole name can be walked as octets. */
static void lower_octets(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 'A' && p[i] <= 'Z') {
			p[i] = (uint8_t)(p[i] + ('a' - 'A'));
		}
	}
}

/* The serial number of an absolute time: the time modulo 2^32. */
static uint32_t wire_time(int64_t t)
{
	return (uint32_t)(uint64_t)t;
}

void sign_rrsig_buf_init(sign_rrsig_buf_t *buf)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

void sign_rrsig_buf_deinit(sign_rrsig_buf_t *buf)
{
	free(buf->data);
	sign_rrsig_buf_init(buf);
}

/* Makes room for need octets; the content is not kept. */
static int reserve(sign_rrsig_buf_t *buf, size_t need)
{
	if (need <= buf->cap) {
		return SIGN_OK;
	}
	size_t cap = buf->cap < 512 ? 512 : buf->cap;
	while (cap < need) {
		cap *= 2;
	}
	uint8_t *p = malloc(cap);
	if (p == NULL) {
		return SIGN_ERR_NOMEM;
	}
	free(buf->data);
	buf->data = p;
	buf->cap = cap;
	buf->len = 0;
	return SIGN_OK;
}

void sign_rrsig_fields(sign_rrsig_t *f, const uint8_t *owner, const zone_rrset_t *rrset,
                       uint8_t alg, uint16_t tag, const uint8_t *signer, int64_t inception,
                       int64_t expiration)
{
	f->type_covered = rrset->type;
	f->algorithm = alg;
	f->labels = (uint8_t)dname_rrsig_labels(owner);
	f->original_ttl = rrset->ttl;
	f->expiration = expiration;
	f->inception = inception;
	f->key_tag = tag;
	f->signer = signer;
}

size_t sign_rrsig_prefix_len(const sign_rrsig_t *f)
{
	return SIGN_RRSIG_FIXED_LEN + dname_length(f->signer);
}

/* Writes the RRSIG RDATA of f up to and including the signer's name
 * (lowercased) at p; returns the end. */
static uint8_t *put_prefix(uint8_t *p, const sign_rrsig_t *f, size_t signer_len)
{
	p = put16(p, f->type_covered);
	*p++ = f->algorithm;
	*p++ = f->labels;
	p = put32(p, f->original_ttl);
	p = put32(p, wire_time(f->expiration));
	p = put32(p, wire_time(f->inception));
	p = put16(p, f->key_tag);
	memcpy(p, f->signer, signer_len);
	lower_octets(p, signer_len);
	return p + signer_len;
}

/* The owner as signed (RFC 4034 3.1.8.1): owner itself if labels counts all
 * its labels, else "*." and its rightmost labels labels. Sets *tail to the
 * part of owner that is copied, *star to 2 for a "*." prefix (else 0), and
 * returns false if labels exceeds owner's labels. */
static bool signed_owner(const uint8_t *owner, uint8_t labels, const uint8_t **tail, size_t *star)
{
	int nlabels = dname_labels(owner);
	if (labels > nlabels) {
		return false;
	}
	*tail = owner;
	*star = 0;
	if (labels < nlabels) {
		for (int i = 0; i < nlabels - labels; i++) {
			*tail += 1u + (*tail)[0];
		}
		*star = 2;
	}
	return true;
}

int sign_rrsig_signed_len(const sign_rrsig_t *f, const uint8_t *owner, const zone_rrset_t *rrset,
                          size_t *len)
{
	const uint8_t *tail = NULL;
	size_t star = 0;
	if (!signed_owner(owner, f->labels, &tail, &star)) {
		return SIGN_ERR_RRSIG;
	}
	size_t name_len = star + dname_length(tail);
	*len = sign_rrsig_prefix_len(f) + (size_t)rrset->count * (name_len + 8) + rrset->len;
	return SIGN_OK;
}

void sign_rrsig_signed_write(const sign_rrsig_t *f, const uint8_t *owner, const zone_rrset_t *rrset,
                             uint8_t *out)
{
	const uint8_t *tail = NULL;
	size_t star = 0;
	if (!signed_owner(owner, f->labels, &tail, &star)) {
		return; /* sign_rrsig_signed_len() said so */
	}
	size_t name_len = star + dname_length(tail);
	uint8_t *p = put_prefix(out, f, dname_length(f->signer));
	/* The first RR's owner, lowercased once, is copied for the others. */
	const uint8_t *name = p;
	uint8_t head[8];
	put32(put16(put16(head, rrset->type), CLASS_IN), f->original_ttl);
	size_t pos = 0;
	for (uint16_t i = 0; i < rrset->count; i++) {
		if (i == 0) {
			if (star != 0) {
				p[0] = 1;
				p[1] = '*';
			}
			memcpy(p + star, tail, name_len - star);
			lower_octets(p, name_len);
		} else {
			memcpy(p, name, name_len);
		}
		p += name_len;
		memcpy(p, head, sizeof(head));
		p += sizeof(head);
		size_t rr = 2u + get16(rrset->data + pos);
		memcpy(p, rrset->data + pos, rr);
		p += rr;
		pos += rr;
	}
}

int sign_rrsig_signed_data(sign_rrsig_buf_t *buf, const sign_rrsig_t *f, const uint8_t *owner,
                           const zone_rrset_t *rrset)
{
	size_t len = 0;
	int ret = sign_rrsig_signed_len(f, owner, rrset, &len);
	if (ret == SIGN_OK) {
		ret = reserve(buf, len);
	}
	if (ret != SIGN_OK) {
		return ret;
	}
	sign_rrsig_signed_write(f, owner, rrset, buf->data);
	buf->len = len;
	return SIGN_OK;
}

int sign_rrsig_write(const sign_rrsig_t *f, const uint8_t *sig, size_t sig_len, uint8_t *out,
                     size_t cap, size_t *len)
{
	size_t signer_len = dname_length(f->signer);
	size_t total = SIGN_RRSIG_FIXED_LEN + signer_len + sig_len;
	if (total > 65535) {
		return SIGN_ERR_INVAL;
	}
	if (total > cap) {
		return SIGN_ERR_BUFFER;
	}
	uint8_t *p = put_prefix(out, f, signer_len);
	if (sig_len > 0) {
		memcpy(p, sig, sig_len);
	}
	*len = total;
	return SIGN_OK;
}

int64_t sign_rrsig_time(uint32_t wire, int64_t now)
{
	uint32_t d = wire - wire_time(now);
	int64_t delta = d < 0x80000000u ? (int64_t)d : (int64_t)d - 0x100000000LL;
	return now + delta;
}

int sign_rrsig_parse(const uint8_t *rdata, size_t len, int64_t now, sign_rrsig_t *f,
                     const uint8_t **sig, size_t *sig_len)
{
	if (len < SIGN_RRSIG_FIXED_LEN + 2) {
		return SIGN_ERR_RRSIG;
	}
	size_t off = SIGN_RRSIG_FIXED_LEN;
	for (;;) {
		if (off >= len || (rdata[off] & 0xc0) != 0) {
			return SIGN_ERR_RRSIG;
		}
		uint8_t l = rdata[off];
		off += 1u + l;
		if (off - SIGN_RRSIG_FIXED_LEN > DNAME_MAXLEN) {
			return SIGN_ERR_RRSIG;
		}
		if (l == 0) {
			break;
		}
	}
	if (off >= len) {
		return SIGN_ERR_RRSIG; /* no signature */
	}
	f->type_covered = get16(rdata);
	f->algorithm = rdata[2];
	f->labels = rdata[3];
	f->original_ttl = get32(rdata + 4);
	f->expiration = sign_rrsig_time(get32(rdata + 8), now);
	f->inception = sign_rrsig_time(get32(rdata + 12), now);
	f->key_tag = get16(rdata + 16);
	f->signer = rdata + SIGN_RRSIG_FIXED_LEN;
	if (sig != NULL) {
		*sig = rdata + off;
	}
	if (sig_len != NULL) {
		*sig_len = len - off;
	}
	return SIGN_OK;
}
