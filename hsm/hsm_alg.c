#include "hsm/hsm_alg.h"

#include <stdlib.h>
#include <strings.h>

static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const uint8_t oid_ed448[] = {0x06, 0x03, 0x2b, 0x65, 0x71};

/* DigestInfo prefixes (RFC 8017 section 9.2, note 1). */
static const uint8_t di_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const uint8_t di_sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

static const hsm_alg_t algs[] = {
        {HSM_ALG_RSASHA256, "RSASHA256", HSM_KEYTYPE_RSA, 2048, NULL, 0, "SHA256", 32, di_sha256,
         sizeof(di_sha256), CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS, CKM_SHA256_RSA_PKCS, 0},
        {HSM_ALG_RSASHA512, "RSASHA512", HSM_KEYTYPE_RSA, 2048, NULL, 0, "SHA512", 64, di_sha512,
         sizeof(di_sha512), CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS, CKM_SHA512_RSA_PKCS, 0},
        {HSM_ALG_ECDSAP256SHA256, "ECDSAP256SHA256", HSM_KEYTYPE_EC, 256, oid_p256,
         sizeof(oid_p256), "SHA256", 32, NULL, 0, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_ECDSA_SHA256,
         64},
        {HSM_ALG_ECDSAP384SHA384, "ECDSAP384SHA384", HSM_KEYTYPE_EC, 384, oid_p384,
         sizeof(oid_p384), "SHA384", 48, NULL, 0, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_ECDSA_SHA384,
         96},
        {HSM_ALG_ED25519, "ED25519", HSM_KEYTYPE_EDDSA, 256, oid_ed25519, sizeof(oid_ed25519), NULL,
         0, NULL, 0, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA, CKM_EDDSA, 32},
        {HSM_ALG_ED448, "ED448", HSM_KEYTYPE_EDDSA, 456, oid_ed448, sizeof(oid_ed448), NULL, 0,
         NULL, 0, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA, CKM_EDDSA, 57},
};

#define ALG_COUNT (sizeof(algs) / sizeof(algs[0]))

const hsm_alg_t *hsm_alg_by_number(unsigned number)
{
	for (size_t i = 0; i < ALG_COUNT; i++) {
		if (algs[i].number == number) {
			return &algs[i];
		}
	}
	return NULL;
}

const hsm_alg_t *hsm_alg_by_name(const char *name)
{
	if (name == NULL || *name == '\0') {
		return NULL;
	}
	char *end = NULL;
	unsigned long n = strtoul(name, &end, 10);
	if (*end == '\0') {
		return n <= 255 ? hsm_alg_by_number((unsigned)n) : NULL;
	}
	for (size_t i = 0; i < ALG_COUNT; i++) {
		if (strcasecmp(algs[i].name, name) == 0) {
			return &algs[i];
		}
	}
	return NULL;
}

const hsm_alg_t *hsm_alg_all(size_t *count)
{
	*count = ALG_COUNT;
	return algs;
}

bool hsm_alg_rsa_bits_ok(unsigned bits)
{
	return bits == 2048 || bits == 3072 || bits == 4096;
}
