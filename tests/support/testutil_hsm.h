/*
 * testutil_hsm: hsm contexts for tests: one configured token on the SoftHSM
 * token that testutil_token_create() made (or through the fault module).
 * Single-threaded setup helpers; abort on failure.
 */
#ifndef TESTS_SUPPORT_TESTUTIL_HSM_H
#define TESTS_SUPPORT_TESTUTIL_HSM_H

#include <stdbool.h>

#include "hsm/hsm_ctx.h"
#include "hsm/hsm_key.h"

/* A context with one token "main" for label, module path (NULL: SoftHSM),
 * PIN "1234" from a PIN file. budget_ms 0 = default. */
hsm_ctx_t *testutil_hsm_ctx(const char *label, const char *module, unsigned budget_ms);

/* Verifies sig over data with the key's public key read from the token (the
 * DNSKEY public key field through hsm_verify). Returns the hsm status. */
int testutil_hsm_verify(const hsm_key_t *key, const hsm_alg_t *alg, const uint8_t *data, size_t len,
                        const uint8_t *sig, size_t sig_len);

#endif
