#include "signer/sign/sign_keyset.h"

#include <stdlib.h>
#include <string.h>

void sign_keyset_init(sign_keyset_t *ks)
{
	ks->keys = NULL;
	ks->count = 0;
}

static sign_key_t *grow(sign_keyset_t *ks)
{
	sign_key_t *keys = realloc(ks->keys, (ks->count + 1) * sizeof(*keys));
	if (keys == NULL) {
		return NULL;
	}
	ks->keys = keys;
	sign_key_t *k = &keys[ks->count];
	memset(k, 0, sizeof(*k));
	return k;
}

/* Finishes k from its DNSKEY RDATA: tag and verification key. */
static int finish(sign_keyset_t *ks, sign_key_t *k, hsm_detail_t *detail)
{
	k->tag = hsm_dnskey_keytag(k->dnskey, k->dnskey_len);
	int ret = hsm_verify_key_new(k->alg->number, k->dnskey + 4, k->dnskey_len - 4, &k->verify);
	if (ret != HSM_OK) {
		hsm_detail_text(detail, "DNSKEY %u/%s: %s", k->tag, k->alg->name,
		                hsm_strerror(ret));
		return ret;
	}
	ks->count++;
	return HSM_OK;
}

int sign_keyset_add(sign_keyset_t *ks, const hsm_key_t *key, const hsm_alg_t *alg, sign_role_t role,
                    bool published, bool active, bool retained, bool revoked, hsm_detail_t *detail)
{
	alg = alg != NULL ? alg : key->alg;
	if (alg == NULL) {
		return HSM_ERR_ALGORITHM;
	}
	sign_key_t *k = grow(ks);
	if (k == NULL) {
		return HSM_ERR_NOMEM;
	}
	k->key = *key;
	k->alg = alg;
	k->role = role;
	k->published = published;
	k->active = active;
	k->active_keyset = active;
	k->retained = retained;
	k->revoked = revoked;
	k->flags = (uint16_t)(HSM_DNSKEY_FLAG_ZONE |
	                      (role == SIGN_ROLE_ZSK ? 0 : HSM_DNSKEY_FLAG_SEP) |
	                      (revoked ? HSM_DNSKEY_FLAG_REVOKE : 0));
	uint8_t pub[HSM_DNSKEY_PUBKEY_MAX];
	size_t pub_len = 0;
	int ret = hsm_key_dnskey_pubkey(key, alg, pub, sizeof(pub), &pub_len, detail);
	if (ret == HSM_OK) {
		ret = hsm_dnskey_rdata(k->flags, alg->number, pub, pub_len, k->dnskey,
		                       sizeof(k->dnskey), &k->dnskey_len);
	}
	return ret == HSM_OK ? finish(ks, k, detail) : ret;
}

int sign_keyset_add_dnskey(sign_keyset_t *ks, const uint8_t *rdata, size_t len,
                           hsm_detail_t *detail)
{
	if (len < 5 || len > sizeof(ks->keys[0].dnskey)) {
		hsm_detail_text(detail, "DNSKEY RDATA of %zu bytes", len);
		return HSM_ERR_DNSKEY;
	}
	const hsm_alg_t *alg = hsm_alg_by_number(rdata[3]);
	if (alg == NULL) {
		hsm_detail_text(detail, "DNSKEY algorithm %u is not supported", rdata[3]);
		return HSM_ERR_ALGORITHM;
	}
	sign_key_t *k = grow(ks);
	if (k == NULL) {
		return HSM_ERR_NOMEM;
	}
	k->alg = alg;
	k->flags = (uint16_t)((rdata[0] << 8) | rdata[1]);
	k->role = (k->flags & HSM_DNSKEY_FLAG_SEP) ? SIGN_ROLE_KSK : SIGN_ROLE_ZSK;
	k->published = true;
	k->revoked = (k->flags & HSM_DNSKEY_FLAG_REVOKE) != 0;
	memcpy(k->dnskey, rdata, len);
	k->dnskey_len = len;
	return finish(ks, k, detail);
}

const sign_key_t *sign_keyset_find(const sign_keyset_t *ks, uint8_t alg, uint16_t tag, size_t *pos)
{
	for (; *pos < ks->count; (*pos)++) {
		const sign_key_t *k = &ks->keys[*pos];
		if (k->alg->number == alg && k->tag == tag) {
			(*pos)++;
			return k;
		}
	}
	return NULL;
}

bool sign_keyset_keyset_sig(const sign_key_t *key, uint16_t type)
{
	return key->role != SIGN_ROLE_ZSK &&
	       (type == 48 /* DNSKEY */ || type == 59 /* CDS */ || type == 60 /* CDNSKEY */);
}

bool sign_keyset_signs_type(const sign_key_t *key, uint16_t type)
{
	switch (key->role) {
	case SIGN_ROLE_CSK:
		return true;
	case SIGN_ROLE_KSK:
		return sign_keyset_keyset_sig(key, type);
	case SIGN_ROLE_ZSK:
		return type != 48 /* DNSKEY */;
	}
	return false;
}

bool sign_keyset_signs(const sign_key_t *key)
{
	return key->active || key->active_keyset || key->retained;
}

/* FNV-1a, 64 bits. */
static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h = (h ^ p[i]) * 0x100000001b3ull;
	}
	return h;
}

uint64_t sign_keyset_digest(const sign_keyset_t *ks)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < ks->count; i++) {
		const sign_key_t *k = &ks->keys[i];
		uint8_t f[8] = {k->alg->number,
		                (uint8_t)(k->tag >> 8),
		                (uint8_t)k->tag,
		                (uint8_t)k->role,
		                (uint8_t)(k->published | k->active << 1 | k->active_keyset << 2 |
		                          k->retained << 3 | k->revoked << 4),
		                (uint8_t)(k->dnskey_len >> 8),
		                (uint8_t)k->dnskey_len,
		                0xff};
		h = fnv(h, f, sizeof(f));
		h = fnv(h, k->dnskey, k->dnskey_len);
	}
	return h != 0 ? h : 1;
}

void sign_keyset_deinit(sign_keyset_t *ks)
{
	for (size_t i = 0; i < ks->count; i++) {
		hsm_verify_key_free(ks->keys[i].verify);
	}
	free(ks->keys);
	ks->keys = NULL;
	ks->count = 0;
}
