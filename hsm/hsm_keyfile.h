/*
 * hsm_keyfile: reads a private key from a file, for import into a token:
 * PKCS#8 PEM ("BEGIN PRIVATE KEY", also traditional RSA/EC PEM) or a BIND
 * private-key file ("Private-key-format: v1.2" or v1.3).
 *
 * The caller owns the returned EVP_PKEY (EVP_PKEY_free). Key material read
 * from the file is wiped from our buffers before they are freed. Thread-safe.
 */
#ifndef HSM_HSM_KEYFILE_H
#define HSM_HSM_KEYFILE_H

#include <openssl/evp.h>

#include "hsm/hsm_alg.h"
#include "hsm/hsm_error.h"

/* Reads the private key in path. alg may be NULL; when given it must agree
 * with the key (a BIND file's Algorithm line, or the key type and curve of a
 * PEM key); for an RSA PEM key it chooses RSASHA256 or RSASHA512. On success
 * *out gets the key and *alg_out the algorithm (from alg, the BIND file, or
 * the key type; RSA PEM without alg means RSASHA256). Returns HSM_OK,
 * HSM_ERR_KEYFILE (detail names the reason, and the line for BIND files),
 * HSM_ERR_ALGORITHM (unsupported or disagreeing algorithm), HSM_ERR_KEY_TYPE
 * (RSA modulus outside 512..4096 bits or too small for the algorithm), -errno. */
int hsm_keyfile_read(const char *path, const hsm_alg_t *alg, EVP_PKEY **out,
                     const hsm_alg_t **alg_out, hsm_detail_t *detail);

#endif
