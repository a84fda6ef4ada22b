/*
 * hsm_ctx: the configured tokens of a process and the modules they use.
 * Each module path is loaded once and shared by the tokens that name it;
 * each token's PIN is read when the context is made (an environment variable
 * is read once and unset, even when several tokens share it).
 *
 * Life cycle: hsm_ctx_new() (before threads start: it touches the
 * environment) -> tokens used from any thread -> hsm_ctx_free() after every
 * session is released. Lookups are thread-safe.
 */
#ifndef HSM_HSM_CTX_H
#define HSM_HSM_CTX_H

#include <stddef.h>

#include "hsm/hsm_error.h"
#include "hsm/hsm_token.h"

typedef struct hsm_ctx hsm_ctx_t;

/* Makes a context for count tokens: loads modules, parses URIs, reads PINs.
 * Does not connect. Returns HSM_OK, HSM_ERR_CONFIG (duplicate or empty name),
 * HSM_ERR_MODULE, HSM_ERR_URI, HSM_ERR_URI_PIN, HSM_ERR_PIN_FILE,
 * HSM_ERR_PIN_MISSING, -errno; detail names the token. */
int hsm_ctx_new(const hsm_token_config_t *configs, size_t count, hsm_ctx_t **out,
                hsm_detail_t *detail);

/* Number of tokens, and the i-th (borrowed for the context's life). */
size_t hsm_ctx_count(const hsm_ctx_t *ctx);
hsm_token_t *hsm_ctx_token_at(const hsm_ctx_t *ctx, size_t i);

/* Number of distinct modules loaded (each path once). */
size_t hsm_ctx_module_count(const hsm_ctx_t *ctx);

/* Token by name, NULL if none. */
hsm_token_t *hsm_ctx_token(const hsm_ctx_t *ctx, const char *name);

/* Frees tokens (logging out) and modules; NULL is a no-op. */
void hsm_ctx_free(hsm_ctx_t *ctx);

#endif
