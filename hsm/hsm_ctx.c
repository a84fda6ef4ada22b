#include "hsm/hsm_ctx.h"

#include <stdlib.h>
#include <string.h>

#include "hsm/hsm_module.h"
#include "hsm/hsm_pin.h"

#define DEFAULT_PIN_ENV "SIGNER_PIN"

struct hsm_ctx {
	hsm_module_t **modules;
	size_t nmodules;
	hsm_token_t **tokens;
	size_t ntokens;
	/* PINs read from environment variables, by name (unset once read). */
	struct env_pin {
		const char *var;
		hsm_pin_t *pin;
	} * env_pins;
	size_t nenv;
};

static int get_module(hsm_ctx_t *ctx, const char *path, hsm_module_t **out, hsm_detail_t *d)
{
	for (size_t i = 0; i < ctx->nmodules; i++) {
		if (strcmp(hsm_module_path(ctx->modules[i]), path) == 0) {
			*out = ctx->modules[i];
			return HSM_OK;
		}
	}
	hsm_module_t *m = NULL;
	int ret = hsm_module_load(path, &m, d);
	if (ret != HSM_OK) {
		return ret;
	}
	ctx->modules[ctx->nmodules++] = m;
	*out = m;
	return HSM_OK;
}

static int get_pin(hsm_ctx_t *ctx, const hsm_token_config_t *c, hsm_pin_t **out, hsm_detail_t *d)
{
	if (c->pin_file != NULL) {
		return hsm_pin_from_file(c->pin_file, out, d);
	}
	const char *var = c->pin_env != NULL ? c->pin_env : DEFAULT_PIN_ENV;
	for (size_t i = 0; i < ctx->nenv; i++) {
		if (strcmp(ctx->env_pins[i].var, var) == 0) {
			return hsm_pin_copy(ctx->env_pins[i].pin, out);
		}
	}
	hsm_pin_t *pin = NULL;
	int ret = hsm_pin_from_env(var, &pin, d);
	if (ret != HSM_OK) {
		return ret;
	}
	ctx->env_pins[ctx->nenv].var = var;
	ctx->env_pins[ctx->nenv].pin = pin;
	ctx->nenv++;
	return hsm_pin_copy(pin, out);
}

int hsm_ctx_new(const hsm_token_config_t *configs, size_t count, hsm_ctx_t **out,
                hsm_detail_t *detail)
{
	hsm_ctx_t *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		return HSM_ERR_NOMEM;
	}
	int ret = HSM_ERR_NOMEM;
	ctx->modules = calloc(count + 1, sizeof(*ctx->modules));
	ctx->tokens = calloc(count + 1, sizeof(*ctx->tokens));
	ctx->env_pins = calloc(count + 1, sizeof(*ctx->env_pins));
	if (ctx->modules == NULL || ctx->tokens == NULL || ctx->env_pins == NULL) {
		goto fail;
	}
	for (size_t i = 0; i < count; i++) {
		const hsm_token_config_t *c = &configs[i];
		ret = HSM_ERR_CONFIG;
		if (c->name == NULL || *c->name == '\0' || c->module == NULL || c->uri == NULL) {
			hsm_detail_text(detail, "token %zu: name, module and uri are required",
			                i + 1);
			goto fail;
		}
		if (hsm_ctx_token(ctx, c->name) != NULL) {
			hsm_detail_text(detail, "token %s is configured twice", c->name);
			goto fail;
		}
		hsm_module_t *m = NULL;
		ret = get_module(ctx, c->module, &m, detail);
		if (ret != HSM_OK) {
			goto fail;
		}
		hsm_pin_t *pin = NULL;
		ret = get_pin(ctx, c, &pin, detail);
		if (ret != HSM_OK) {
			goto fail;
		}
		ret = hsm_token_new(c, m, pin, &ctx->tokens[ctx->ntokens], detail);
		if (ret != HSM_OK) {
			hsm_pin_free(pin);
			goto fail;
		}
		ctx->ntokens++;
	}
	*out = ctx;
	return HSM_OK;
fail:
	hsm_ctx_free(ctx);
	return ret;
}

size_t hsm_ctx_count(const hsm_ctx_t *ctx)
{
	return ctx->ntokens;
}

hsm_token_t *hsm_ctx_token_at(const hsm_ctx_t *ctx, size_t i)
{
	return i < ctx->ntokens ? ctx->tokens[i] : NULL;
}

size_t hsm_ctx_module_count(const hsm_ctx_t *ctx)
{
	return ctx->nmodules;
}

hsm_token_t *hsm_ctx_token(const hsm_ctx_t *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->ntokens; i++) {
		if (strcmp(hsm_token_name(ctx->tokens[i]), name) == 0) {
			return ctx->tokens[i];
		}
	}
	return NULL;
}

void hsm_ctx_free(hsm_ctx_t *ctx)
{
	if (ctx == NULL) {
		return;
	}
	for (size_t i = 0; i < ctx->ntokens; i++) {
		hsm_token_free(ctx->tokens[i]);
	}
	for (size_t i = 0; i < ctx->nenv; i++) {
		hsm_pin_free(ctx->env_pins[i].pin);
	}
	for (size_t i = 0; i < ctx->nmodules; i++) {
		hsm_module_free(ctx->modules[i]);
	}
	free(ctx->env_pins);
	free(ctx->tokens);
	free(ctx->modules);
	free(ctx);
}
