/*
 * hsm_alg: the DNSSEC algorithms this signer supports and how each maps onto
 * PKCS#11 key types, mechanisms and host-side digests.
 *
 * A static, read-only table; every function is thread-safe.
 */
#ifndef HSM_HSM_ALG_H
#define HSM_HSM_ALG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

/* DNSSEC algorithm numbers (IANA). */
enum {
	HSM_ALG_RSASHA256 = 8,
	HSM_ALG_RSASHA512 = 10,
	HSM_ALG_ECDSAP256SHA256 = 13,
	HSM_ALG_ECDSAP384SHA384 = 14,
	HSM_ALG_ED25519 = 15,
	HSM_ALG_ED448 = 16,
};

typedef enum {
	HSM_KEYTYPE_RSA,
	HSM_KEYTYPE_EC,    /* ECDSA over a named prime curve */
	HSM_KEYTYPE_EDDSA, /* Edwards curve */
} hsm_keytype_t;

typedef struct {
	uint8_t number;   /* DNSSEC algorithm number */
	const char *name; /* "ECDSAP256SHA256" */
	hsm_keytype_t keytype;
	unsigned default_bits;    /* RSA modulus or curve size */
	const uint8_t *ec_params; /* DER CKA_EC_PARAMS (curve OID), NULL for RSA */
	size_t ec_params_len;
	const char *digest;         /* OpenSSL digest name, NULL for EdDSA */
	size_t digest_len;          /* 0 for EdDSA */
	const uint8_t *digest_info; /* RSA DigestInfo prefix, NULL otherwise */
	size_t digest_info_len;
	CK_MECHANISM_TYPE gen_mech;      /* key pair generation */
	CK_MECHANISM_TYPE sign_mech;     /* raw mechanism: host digest, device signs */
	CK_MECHANISM_TYPE combined_mech; /* hash-and-sign mechanism (fallback flag) */
	size_t point_len;                /* EC/EdDSA public key size in DNSKEY, 0 for RSA */
} hsm_alg_t;

/* Table entry for a DNSSEC algorithm number, NULL if unsupported. */
const hsm_alg_t *hsm_alg_by_number(unsigned number);

/* Table entry by name ("ED25519", case-insensitive) or decimal number, NULL
 * if unknown. */
const hsm_alg_t *hsm_alg_by_name(const char *name);

/* The supported algorithms, for listings: *count entries. */
const hsm_alg_t *hsm_alg_all(size_t *count);

/* True if an RSA modulus of bits is allowed for generation (2048, 3072,
 * 4096). Imports accept any size from 512 to 4096 (RFC test vectors). */
bool hsm_alg_rsa_bits_ok(unsigned bits);

#endif
